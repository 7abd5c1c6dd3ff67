package caps

import (
	"os"
	"testing"
)

func TestList(t *testing.T) {
	for _, tc := range []struct {
		cs   []Cap
		want string
	}{
		{nil, ""},
		{[]Cap{BPF}, "CAP_BPF"},
		{[]Cap{BPF, Perfmon}, "CAP_BPF and CAP_PERFMON"},
		{Deploy, "CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE"},
	} {
		if got := List(tc.cs); got != tc.want {
			t.Errorf("List(%v) = %q, want %q", tc.cs, got, tc.want)
		}
	}
}

// Root (the kernel tests' user) holds every capability: nothing is
// missing, and a refusal is blamed on something else.
func TestAdviceWithEveryCapability(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root's full capability set")
	}
	if m := Missing(Deploy); len(m) != 0 {
		t.Fatalf("root misses %v", m)
	}
	want := "refused although the process has CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH " +
		"(tracing needs CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH, or root; a seccomp filter, a security module or a sysctl may deny it)"
	if got := Advice([]Cap{BPF}, "tracing", Trace); got != want {
		t.Errorf("Advice = %q, want %q", got, want)
	}
}
