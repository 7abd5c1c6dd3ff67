package export

import (
	"context"
	"math"
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

// scopeName is the instrumentation scope of every record.
const scopeName = "github.com/nstrace/nstrace/tracer/internal/export"

// encodeScope is ScopeLogs.scope, the same in every request.
func encodeScope() []byte {
	out, m := openField(nil, fSLScope)
	out = appendBytesField(out, fScopeName, scopeName)
	return closeField(out, m)
}

// encodeResource is ResourceLogs.resource, the same in every request.
func encodeResource(res *resource.Resource) []byte {
	out, m := openField(nil, fRLResource)
	for _, kv := range res.Attributes() {
		var a, v int
		out, a = openField(out, fResAttrs)
		out = appendBytesField(out, fKVKey, string(kv.Key))
		out, v = openField(out, fKVValue)
		out = appendAttrValue(out, kv.Value)
		out = closeField(closeField(out, v), a)
	}
	return closeField(out, m)
}

// appendAttrValue writes an attribute's value as AnyValue fields.
func appendAttrValue(out []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return appendVarintField(out, fAVBool, map[bool]uint64{false: 0, true: 1}[v.AsBool()])
	case attribute.INT64:
		return appendVarintField(out, fAVInt, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return appendFixed64Field(out, fAVDouble, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		return appendBytesField(out, fAVString, v.AsString())
	}
	// Slices: written as their string form, which OTEL_RESOURCE_ATTRIBUTES
	// (strings only) never makes.
	return appendBytesField(out, fAVString, v.String())
}
