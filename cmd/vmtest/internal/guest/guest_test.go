package guest

import "testing"

func TestParseExitLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		status int
		ok     bool
	}{
		{"a zero status is read", "VMTEST-EXIT-STATUS=0", 0, true},
		{"a failing status is read", "VMTEST-EXIT-STATUS=1", 1, true},
		{"a signal status is read", "VMTEST-EXIT-STATUS=137", 137, true},
		{"a serial console's carriage return is ignored", "VMTEST-EXIT-STATUS=2\r", 2, true},
		{"output sharing the line is ignored", "PASS no newlineVMTEST-EXIT-STATUS=3", 3, true},
		{"the last marker on a line wins", "VMTEST-EXIT-STATUS=9 VMTEST-EXIT-STATUS=4", 4, true},
		{"an ordinary line has no status", "--- PASS: TestUname (0.00s)", 0, false},
		{"a marker without a number has no status", "VMTEST-EXIT-STATUS=", 0, false},
		{"a marker with junk after it has no status", "VMTEST-EXIT-STATUS=1x", 0, false},
		{"a negative status is rejected", "VMTEST-EXIT-STATUS=-1", 0, false},
		{"a status past 255 is rejected", "VMTEST-EXIT-STATUS=256", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ok := ParseExitLine(tt.line)
			if status != tt.status || ok != tt.ok {
				t.Errorf("ParseExitLine(%q) = %d, %v; want %d, %v", tt.line, status, ok, tt.status, tt.ok)
			}
		})
	}
}

func TestExitLineRoundTrips(t *testing.T) {
	for _, want := range []int{0, 1, 2, 125, 255} {
		if got, ok := ParseExitLine(ExitLine(want)); !ok || got != want {
			t.Errorf("ParseExitLine(ExitLine(%d)) = %d, %v", want, got, ok)
		}
	}
}
