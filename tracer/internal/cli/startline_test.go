package cli

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
)

// The start line names what is hooked and how, then in one calm note what
// the kernel does not allow.
func TestStartLine(t *testing.T) {
	attached := []tracer.Hook{
		{Name: "unshare", Via: "tracepoint", Attached: true}, {Name: "setns", Via: "tracepoint", Attached: true},
		{Name: "fork", Via: "tp_btf", Attached: true}, {Name: "clone", Via: "tracepoint", Attached: true},
		{Name: "exec", Via: "tracepoint", Attached: true},
	}
	for _, tc := range []struct {
		destroy tracer.Hook
		want    string
	}{
		{tracer.Hook{Name: "destroy", Err: fmt.Errorf("kernel refuses fentry (%w)", unix.EPERM)},
			"tracing started; unshare setns clone exec (tracepoint), fork (tp_btf); note: no destroy events, as this kernel does not allow fentry"},
		{tracer.Hook{Name: "destroy", Err: errors.New("not requested (--hooks tracepoint)")},
			"tracing started; unshare setns clone exec (tracepoint), fork (tp_btf); note: no destroy events, as --hooks tracepoint leaves out fentry"},
		{tracer.Hook{Name: "destroy", Via: "fentry", Attached: true},
			"tracing started; unshare setns clone exec (tracepoint), fork (tp_btf), destroy (fentry)"},
		{tracer.Hook{Name: "destroy", Err: errors.New("kernel BTF: no \x1b[31mfile")},
			`tracing started; unshare setns clone exec (tracepoint), fork (tp_btf); note: no destroy events, as kernel BTF: no \x1b[31mfile`},
	} {
		if got := startLine(append(attached[:5:5], tc.destroy)); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
