package cli

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/render"
)

// textOptions turns the value of -o into the text stream's options: "text"
// (compact) fits the terminal's width when w is a terminal and writes
// whole lines when it is not; "wide" says everything. ok is false for
// "json", which is no text format; any other value is a usage error.
func textOptions(format string, w io.Writer) (opts render.TextOptions, ok bool, err error) {
	switch format {
	case "text":
		return render.TextOptions{Format: render.Compact, Width: terminalWidth(w)}, true, nil
	case "wide":
		return render.TextOptions{Format: render.Wide}, true, nil
	case "json":
		return render.TextOptions{}, false, nil
	}
	return render.TextOptions{}, false, usageError{fmt.Errorf("unknown output format %q (want text, wide or json)", format)}
}

// terminalWidth is w's width in columns when it is a terminal, else 0.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0
	}
	return int(ws.Col)
}
