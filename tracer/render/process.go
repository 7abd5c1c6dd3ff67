package render

import "github.com/nstrace/nstrace/tracer/event"

// appendExe appends " exe=PATH" when the process's executable is not what
// its comm says: a copy in /tmp, a renamed or memfd binary, or a process
// that changed its comm (which any process can).
func appendExe(b []byte, ev *event.Event) []byte {
	if ev.Process == nil || ev.Process.Exe == "" || exeMatchesComm(ev.Process.Exe, ev.Comm) {
		return b
	}
	b = append(b, " exe="...)
	return AppendSanitized(b, ev.Process.Exe)
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
