package render

import (
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
)

// appendExe appends " exe=PATH" unless the process's comm names its
// executable and that executable is installed (under /usr, /bin or /sbin):
// a copy in /tmp, a renamed or memfd binary, or a process that changed its
// comm (which any process can) are shown.
func appendExe(b []byte, ev *event.Event) []byte { return appendExeCut(b, ev, 0) }

// appendExeCut is appendExe with the path cut to limit columns (0: whole),
// as a compact line cuts its labels.
func appendExeCut(b []byte, ev *event.Event, limit int) []byte {
	if ev.Process == nil || ev.Process.Exe == "" || exeMatchesComm(ev.Process.Exe, ev.Comm) && installed(ev.Process.Exe) {
		return b
	}
	b = append(b, " exe="...)
	return appendCut(b, ev.Process.Exe, limit)
}

// exeMatchesComm: comm is the executable's file name, cut to 15 bytes,
// for a process that did not rename itself.
func exeMatchesComm(exe, comm string) bool {
	base := exe
	for i := len(exe) - 1; i >= 0; i-- {
		if exe[i] == '/' {
			base = exe[i+1:]
			break
		}
	}
	if len(base) > 15 {
		base = base[:15]
	}
	return base == comm
}

// installed: under the directories packages install programs into.
func installed(exe string) bool {
	return strings.HasPrefix(exe, "/usr/") || strings.HasPrefix(exe, "/bin/") || strings.HasPrefix(exe, "/sbin/")
}
