package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
	"github.com/nstrace/nstrace/tracer/internal/runtime"
)

// runtimeFlags say which container runtimes to ask who a container is.
type runtimeFlags struct {
	endpoints []string
	off       bool
}

func (f *runtimeFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.endpoints, "runtime-endpoint", nil,
		"also ask this container runtime socket for names, images and pods: [cri:|docker:][unix://]/path (repeatable)")
	fl.BoolVar(&f.off, "no-runtimes", false, "ask no container runtime (containers are named by their cgroup's id)")
}

// config checks the endpoints: the standard sockets, then those given.
func (f *runtimeFlags) config() ([]runtime.Endpoint, error) {
	if f.off {
		if len(f.endpoints) > 0 {
			return nil, usageError{fmt.Errorf("--no-runtimes and --runtime-endpoint contradict each other")}
		}
		return nil, nil
	}
	eps := runtime.DefaultEndpoints()
	for _, s := range f.endpoints {
		ep, err := runtime.ParseEndpoint(s)
		if err != nil {
			return nil, usageError{fmt.Errorf("--runtime-endpoint %w", err)}
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// startRuntimes watches the runtimes at eps; nil for none. What it says
// about them (connected, lost) goes to stderr.
func startRuntimes(eps []runtime.Endpoint, stderr io.Writer) *runtime.Watcher {
	if len(eps) == 0 {
		return nil
	}
	return runtime.Start(runtime.Options{Endpoints: eps, Logf: func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		// A runtime answering is the normal case, and may come before
		// "tracing started", which scripts read as the first line.
		if !strings.HasSuffix(msg, " connected") {
			fmt.Fprintf(stderr, "nstrace: %s\n", render.Sanitize(msg))
		}
	}})
}

// runtimeListWait bounds how long `ls`, and `trace` before it starts,
// wait for the runtimes' first list; an absent runtime is not waited for.
const runtimeListWait = 2 * time.Second

// labelLs labels ls's namespaces by what the runtimes say, waiting a
// bounded time for those whose socket exists to list their containers.
func labelLs(eps []runtime.Endpoint, inv *inventory.Inventory) {
	if len(eps) == 0 {
		return
	}
	w := runtime.Start(runtime.Options{Endpoints: eps})
	defer w.Close()
	w.WaitListed(time.Now().Add(runtimeListWait))
	w.LabelInventory(inv)
}

// identityFilterFlags select events by the runtime's identity of their
// containers.
type identityFilterFlags struct {
	pods, k8sNamespaces, images []string
}

func (f *identityFilterFlags) register(fl *pflag.FlagSet) {
	fl.StringSliceVar(&f.pods, "pod", nil, "only events in this Kubernetes pod: NAMESPACE/NAME or NAME, globs allowed, e.g. 'shop/web-*'")
	fl.StringSliceVar(&f.k8sNamespaces, "k8s-namespace", nil, "only events in pods of this Kubernetes namespace (globs allowed)")
	fl.StringSliceVar(&f.images, "image", nil, "only events in containers of this image, e.g. 'nginx:*' (globs allowed)")
}

func (f *identityFilterFlags) apply(o *filter.Options) {
	o.Pods, o.K8sNamespaces, o.Images = f.pods, f.k8sNamespaces, f.images
}

// labelledInventory snapshots what res knows, labelled by the runtimes as
// the events are, for a session file: a replay elsewhere names pods and
// containers as this host did.
func labelledInventory(res *resolve.Resolver, w *runtime.Watcher) func() *inventory.Inventory {
	return func() *inventory.Inventory {
		inv := res.Inventory()
		if w != nil {
			w.LabelInventory(inv)
		}
		return inv
	}
}

// labelledNamespaces are the resolver's namespaces as the rules look them
// up, their containers labelled as the events' are, so that an alert's
// "inside X's namespaces" names the pod. It is used from the pipeline's
// goroutine only, as its Enricher must be.
type labelledNamespaces struct {
	res *resolve.Resolver
	en  *runtime.Enricher
}

func (l labelledNamespaces) Lookup(t event.NsType, inode uint32) (inventory.Namespace, bool) {
	n, ok := l.res.Lookup(t, inode)
	if ok {
		n.Container = l.en.Container(n.Container)
	}
	return n, ok
}

// ContainerOf is Lookup's container alone (detect.ContainerFinder).
func (l labelledNamespaces) ContainerOf(t event.NsType, inode uint32) (*event.Container, bool) {
	c, ok := l.res.ContainerOf(t, inode)
	if ok {
		c = l.en.Container(c)
	}
	return c, ok
}

// runtimeSummary says, at the end of a trace, how many containers the
// runtimes were asked about and how many a full queue left unasked (their
// events kept their ids); "" when none were dropped.
func runtimeSummary(w *runtime.Watcher) string {
	if w == nil {
		return ""
	}
	s := w.Stats()
	if s.Dropped == 0 {
		return ""
	}
	return fmt.Sprintf("runtimes: %d containers asked about, %d not asked (queue full; their events keep ids)", s.Queried, s.Dropped)
}
