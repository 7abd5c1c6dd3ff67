package seal

import (
	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
	"github.com/nstrace/nstrace/tracer/session"
)

// Sealed returns o set to have its Writer seal what it writes with s.
func Sealed(o session.Options, s *Sealer) session.Options {
	sessionhook.SetSealer(&o, s)
	return o
}

// OpenWatched is session.Open with w shown every line read, from the
// first header on, and the end of every file: a Verifier checks the seals
// of what a replay reads.
func OpenWatched(w sessionhook.LineWatcher, paths ...string) (*session.Reader, error) {
	r, err := sessionhook.OpenWatched(w, paths...)
	if err != nil {
		return nil, err
	}
	return r.(*session.Reader), nil
}
