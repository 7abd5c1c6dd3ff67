package cli

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/render"
)

func TestTextOptionsFollowTheFormatAndTheTerminal(t *testing.T) {
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 97}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, format string
		w            any
		want         render.TextOptions
		ok           bool
	}{
		{"text on a terminal fits it", "text", tty, render.TextOptions{Format: render.Compact, Width: 97}, true},
		{"text into a pipe is whole", "text", pipeW, render.TextOptions{Format: render.Compact}, true},
		{"text into a buffer is whole", "text", &bytes.Buffer{}, render.TextOptions{Format: render.Compact}, true},
		{"wide is wide anywhere", "wide", tty, render.TextOptions{Format: render.Wide}, true},
		{"json is no text", "json", tty, render.TextOptions{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := tc.w.(interface{ Write([]byte) (int, error) })
			got, ok, err := textOptions(tc.format, w)
			if err != nil || ok != tc.ok || got != tc.want {
				t.Errorf("textOptions(%q) = %+v, %v, %v; want %+v, %v, nil", tc.format, got, ok, err, tc.want, tc.ok)
			}
		})
	}
	var ue usageError
	if _, _, err := textOptions("yaml", pipeW); !errors.As(err, &ue) {
		t.Errorf("an unknown format gives %v, want a usage error", err)
	}
}
