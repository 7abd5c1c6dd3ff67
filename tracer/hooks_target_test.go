package tracer

import (
	"testing"

	"github.com/nstrace/nstrace/gen"
)

// The hook table names, for each fentry/fexit program, the kernel function
// that the object built for this architecture attaches it to: a syscall
// wrapper named for another architecture would show in --hooks output
// and errors as a function that nstrace never hooks.
func TestFentryTargetsMatchTheObjectForThisArchitecture(t *testing.T) {
	spec, err := gen.LoadNstrace()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, def := range hookDefs {
		for _, p := range def.fentry {
			prog := spec.Programs[p.prog]
			if prog == nil {
				t.Errorf("%s: program %s not in the object", def.name, p.prog)
				continue
			}
			if prog.AttachTo != p.target {
				t.Errorf("%s: %s attaches to %q in the object, the hook table says %q", def.name, p.prog, prog.AttachTo, p.target)
			}
			checked++
		}
	}
	if want := 9; checked != want { // unshare, setns, clone, exec pairs and destroy
		t.Errorf("checked %d fentry programs, want %d", checked, want)
	}
}
