package event

import (
	"fmt"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// Every bidirectional control and DEL leaves the encoder as a \u escape, and
// the decoder reads the escape back as the rune it stands for.
func TestJSONEscapesBidiControlsAndDel(t *testing.T) {
	runes := []rune{0x7f, 0x61c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069}
	for _, r := range runes {
		in := "a" + string(r) + "b"
		want := fmt.Sprintf(`"a\u%04xb"`, r)
		if got := string(encode.AppendJSONString(nil, in)); got != want {
			t.Errorf("encode.AppendJSONString(%q) = %s, want %s", in, got, want)
		}
		ev := Event{Time: time.Unix(1, 0).UTC(), Kind: Unshare, Comm: in}
		var back Event
		if err := back.UnmarshalJSON(ev.AppendJSON(nil)); err != nil {
			t.Fatalf("decode %U: %v", r, err)
		}
		if back.Comm != in {
			t.Errorf("comm with %U read back as %q, want %q", r, back.Comm, in)
		}
	}
	// Their neighbours are ordinary text and stay as they are.
	for _, s := range []string{"~", "\u061b", "\u200d", "\u2070", "\u2065", "é"} {
		if got, want := string(encode.AppendJSONString(nil, s)), `"`+s+`"`; got != want {
			t.Errorf("encode.AppendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

// The encoder writes times with encode.AppendTime, which must follow the
// layout documented here.
func TestTimeLayoutIsTheEncoders(t *testing.T) {
	if TimeLayout != encode.TimeLayout {
		t.Errorf("event.TimeLayout %q, the encoder writes %q", TimeLayout, encode.TimeLayout)
	}
}

func TestJSONStringAllocatesNothing(t *testing.T) {
	b := make([]byte, 0, 256)
	s := "x\u202ey\x7fz\u2066"
	if n := testing.AllocsPerRun(100, func() { b = encode.AppendJSONString(b[:0], s) }); n != 0 {
		t.Errorf("AppendJSONString allocates %.0f times a call, want 0", n)
	}
}

// A loss marker carries its cause when it has one, and reads back with it.
func TestLossMarkerCause(t *testing.T) {
	at := time.Date(2026, 11, 29, 1, 2, 3, 4, time.UTC)
	for _, c := range []struct {
		ev   Event
		json string
	}{
		{Event{Time: at, Kind: Lost, Lost: 7}, `{"time":"2026-11-29T01:02:03.000000004Z","event":"lost","count":7}`},
		{Event{Time: at, Kind: Lost, Lost: 9, Cause: LostShutdown}, `{"time":"2026-11-29T01:02:03.000000004Z","event":"lost","count":9,"cause":"shutdown"}`},
	} {
		if got := string(c.ev.AppendJSON(nil)); got != c.json {
			t.Errorf("AppendJSON = %s, want %s", got, c.json)
		}
		var back Event
		if err := back.UnmarshalJSON([]byte(c.json)); err != nil || back.Lost != c.ev.Lost || back.Cause != c.ev.Cause {
			t.Errorf("%s read back as %+v (%v)", c.json, back, err)
		}
	}
}
