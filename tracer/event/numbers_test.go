package event

import (
	"strconv"
	"testing"
)

// Every value comes out as strconv writes it, whether its slot is empty,
// holds it, or holds another value (slots collide by design).
func TestNumbersMatchStrconv(t *testing.T) {
	var c Numbers
	values := []uint64{0, 7, 999, 1000, 4026531837, 4026532177, 1 << 63, ^uint64(0)}
	for v := uint64(4026531000); v < 4026535000; v += 3 { // more values than slots
		values = append(values, v)
	}
	for pass := range 3 {
		for _, v := range values {
			got := string(c.Append([]byte("x"), v))
			if want := "x" + strconv.FormatUint(v, 10); got != want {
				t.Fatalf("pass %d: Append(%d) = %q, want %q", pass, v, got, want)
			}
		}
	}
	var none *Numbers
	if got := string(none.Append(nil, 4026531837)); got != "4026531837" {
		t.Fatalf("nil Numbers: %q", got)
	}
}
