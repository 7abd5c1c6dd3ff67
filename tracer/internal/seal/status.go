package seal

import "fmt"

// What replay and report show: the Verifier watches the lines a
// session.Reader reads (OpenWatched), and they ask it, as they go,
// whether a seal broke, and at the end for a one-line status.

// Broken returns the first problem found so far that is not an unsealed
// tail (those are no sign of tampering): what `replay --verify` stops at.
func (v *Verifier) Broken() (Problem, bool) {
	for _, p := range v.res.Problems {
		if !p.Unsealed {
			return p, true
		}
	}
	return Problem{}, false
}

// Status is one line for a person: the summary when everything checks,
// else the first problem and how many more there are.
func (r *Result) Status() string {
	if r.OK() {
		return r.Summary()
	}
	if len(r.Problems) == 0 {
		return fmt.Sprintf("NOT verified: %d problems", r.Dropped)
	}
	first, unsealed := r.Problems[0], true
	for _, p := range r.Problems {
		if !p.Unsealed {
			first, unsealed = p, false
			break
		}
	}
	s := "NOT verified: " + first.String()
	if unsealed {
		s = "sealed records verify; " + first.String()
	}
	if more := len(r.Problems) + r.Dropped - 1; more > 0 {
		s += fmt.Sprintf(" (and %s more)", plural(more, "problem"))
	}
	return s
}
