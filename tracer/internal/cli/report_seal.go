package cli

import (
	"fmt"
	"io"

	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/report"
)

// reportSeals is what the report's summary says of the recording's seals,
// checked as it was read: the line nstrace verify would print without a
// key, or that the recording has no seals. A broken seal also warns on
// stderr, as replay does.
func reportSeals(s *sealedLines, stderr io.Writer) report.SealStatus {
	if !s.seen {
		return report.SealStatus{State: report.SealsAbsent,
			Text: "not sealed: recorded with --seal=false, or by an nstrace that did not seal"}
	}
	res := s.Finish()
	st := report.SealStatus{State: report.SealsVerified, Text: res.Status()}
	switch _, broken := s.Broken(); {
	case broken:
		st.State = report.SealsBroken
		fmt.Fprintf(stderr, "nstrace: report: warning: %s\n", render.Sanitize(st.Text))
	case !res.OK():
		st.State = report.SealsUnsealed
	}
	return st
}
