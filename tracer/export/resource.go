package export

import (
	"context"
	"os"
	"runtime"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	"golang.org/x/sys/unix"
)

// Resource attribute keys beyond the semantic conventions' own.
const (
	AttrBootID = "nstrace.host.boot_id"
	// NodeNameEnv names the environment variable a DaemonSet sets (from the
	// downward API) to say which Kubernetes node this is.
	NodeNameEnv = "K8S_NODE_NAME"
)

// newResource says who saw the records: this program, this host, this
// kernel, this node. OTEL_RESOURCE_ATTRIBUTES adds to it.
func newResource(ctx context.Context, version string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{
		attribute.String("service.name", "nstrace"),
		attribute.String("os.type", "linux"),
		attribute.String("host.arch", runtime.GOARCH), // the convention's names are Go's
	}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	if h, err := os.Hostname(); err == nil {
		attrs = append(attrs, attribute.String("host.name", h))
	}
	boot := readID("/proc/sys/kernel/random/boot_id")
	if boot != "" {
		attrs = append(attrs, attribute.String(AttrBootID, boot))
	}
	if id := firstID("/etc/machine-id", "/var/lib/dbus/machine-id"); id != "" {
		attrs = append(attrs, attribute.String("host.id", id))
	} else if boot != "" {
		attrs = append(attrs, attribute.String("host.id", boot))
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		attrs = append(attrs, attribute.String("os.version", unix.ByteSliceToString(u.Release[:])))
	}
	if n := os.Getenv(NodeNameEnv); n != "" {
		attrs = append(attrs, attribute.String("k8s.node.name", n))
	}
	// Attributes given later win: the environment's override ours.
	return resource.New(ctx, resource.WithAttributes(attrs...), resource.WithFromEnv())
}

func readID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func firstID(paths ...string) string {
	for _, p := range paths {
		if id := readID(p); id != "" {
			return id
		}
	}
	return ""
}
