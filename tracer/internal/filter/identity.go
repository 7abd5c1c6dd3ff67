package filter

import (
	"fmt"
	"path"
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
)

// The runtime's identity of a container (tracer/internal/runtime): its pod, the
// pod's Kubernetes namespace and its image. Like --container, they match
// the process's container or the container of a namespace it touched.

// checkIdentity checks the identity patterns.
func checkIdentity(o *Options) error {
	for _, p := range o.Pods {
		ns, name, ok := strings.Cut(p, "/")
		if !ok {
			ns, name = "*", p
		}
		if ns == "" || name == "" {
			return fmt.Errorf("pod %q: want NAMESPACE/NAME or NAME, globs allowed", p)
		}
		if err := checkGlob(ns); err != nil {
			return fmt.Errorf("pod %q: %w", p, err)
		}
		if err := checkGlob(name); err != nil {
			return fmt.Errorf("pod %q: %w", p, err)
		}
	}
	for _, p := range o.K8sNamespaces {
		if err := checkGlob(p); err != nil {
			return fmt.Errorf("kubernetes namespace %q: %w", p, err)
		}
	}
	for _, p := range o.Images {
		if err := checkGlob(p); err != nil {
			return fmt.Errorf("image %q: %w", p, err)
		}
	}
	return nil
}

// checkGlob checks a glob in path.Match syntax.
func checkGlob(p string) error {
	_, err := path.Match(p, "")
	return err
}

// glob matches s against p, '*' matching any text, slashes too: an image
// reference or a label is not a path.
func glob(p, s string) bool {
	const sep = "\x1f"
	ok, _ := path.Match(strings.ReplaceAll(p, "/", sep), strings.ReplaceAll(s, "/", sep))
	return ok
}

// inIdentity reports whether the process's container or one of the
// changes' matches every identity option given.
func (f *Filter) inIdentity(ev *event.Event) bool {
	if f.identityMatches(ev.Container) {
		return true
	}
	for i := range ev.Changes {
		if f.identityMatches(ev.Changes[i].Container) {
			return true
		}
	}
	return false
}

func (f *Filter) identityMatches(c *event.Container) bool {
	if c == nil {
		return false
	}
	o := &f.opts
	if len(o.Pods) > 0 && !anyMatch(o.Pods, func(p string) bool { return podMatches(p, c.Pod) }) {
		return false
	}
	if len(o.K8sNamespaces) > 0 && (c.Pod == nil || !anyMatch(o.K8sNamespaces, func(p string) bool { return glob(p, c.Pod.Namespace) })) {
		return false
	}
	if len(o.Images) > 0 && !anyMatch(o.Images, func(p string) bool { return imageMatches(p, c.Image) }) {
		return false
	}
	return true
}

func podMatches(p string, pod *event.Pod) bool {
	if pod == nil {
		return false
	}
	ns, name, ok := strings.Cut(p, "/")
	if !ok {
		ns, name = "*", p
	}
	return glob(ns, pod.Namespace) && glob(name, pod.Name)
}

// imageMatches matches an image as written in full or as docker shortens
// it: "nginx:1.27" matches docker.io/library/nginx:1.27.
func imageMatches(p, image string) bool {
	if image == "" {
		return false
	}
	if glob(p, image) {
		return true
	}
	for _, prefix := range []string{"docker.io/library/", "docker.io/"} {
		if short, ok := strings.CutPrefix(image, prefix); ok && glob(p, short) {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, match func(string) bool) bool {
	for _, p := range patterns {
		if match(p) {
			return true
		}
	}
	return false
}
