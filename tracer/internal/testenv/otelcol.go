package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// collectorManifest is the collector builder's manifest for a small
// OpenTelemetry Collector: the OTLP receiver, and the OTLP/HTTP exporter
// that forwards to a receiver the test controls.
const collectorManifest = `dist:
  name: otelcol-nstrace
  description: OpenTelemetry Collector for nstrace's export tests
  output_path: %s
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v0.165.0
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v0.165.0
  - gomod: go.opentelemetry.io/collector/exporter/otlphttpexporter v0.165.0
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider v1.71.0
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider v1.71.0
`

const builderModule = "go.opentelemetry.io/collector/cmd/builder@v0.165.0"

var (
	collectorOnce sync.Once
	collectorBin  string
	collectorErr  error
)

// CollectorBinary builds the collector once per cache key (the manifest,
// the Go version, the platform) into a directory beside the Go build cache,
// so later runs start at once. Only the Go module proxy is needed.
func CollectorBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds an OpenTelemetry Collector (minutes); not in -short")
	}
	collectorOnce.Do(func() { collectorBin, collectorErr = buildCollector() })
	if collectorErr != nil {
		t.Fatalf("build collector: %v", collectorErr)
	}
	return collectorBin
}

func buildCollector() (string, error) {
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOCACHE: %w", err)
	}
	sum := sha256.Sum256([]byte(collectorManifest + builderModule + runtime.Version() + runtime.GOOS + runtime.GOARCH))
	dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(gocache))), "nstrace-otelcol", hex.EncodeToString(sum[:8]))
	bin := filepath.Join(dir, "otelcol-nstrace")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// One build at a time across processes: the loser finds the binary.
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GOBIN="+work, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
		}
		return nil
	}
	if err := run("go", "install", builderModule); err != nil {
		return "", err
	}
	manifest := filepath.Join(work, "manifest.yaml")
	if err := os.WriteFile(manifest, fmt.Appendf(nil, collectorManifest, filepath.Join(work, "out")), 0o644); err != nil {
		return "", err
	}
	if err := run(filepath.Join(work, "builder"), "--config", manifest); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(work, "out", "otelcol-nstrace"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// FreePort returns a loopback port nobody listens on now and no earlier
// call returned. It is below the kernel's ephemeral range: a port in it
// can be taken, while a collector is down or not yet started, by any
// outgoing connection, even one to that very port (a TCP self-connect of
// nstrace retrying its collector), and the collector cannot bind it then.
func FreePort(t testing.TB) int {
	t.Helper()
	lo := ephemeralLow()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 1024 + rand.IntN(lo-1024)
		if portsGiven[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return p
	}
	t.Fatalf("no free loopback port below %d", lo)
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralLow is the first port of the kernel's range for outgoing
// connections (32768 unless configured otherwise).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo <= 2048 {
		return 32768
	}
	return lo
}

// Collector is a running OpenTelemetry Collector.
type Collector struct {
	t                  testing.TB
	bin, config        string
	GRPCPort, HTTPPort int
	cmd                *exec.Cmd
	log                *bytes.Buffer
	exited             chan struct{}
}

// TLSFiles makes the gRPC receiver serve TLS with cert/key, requiring
// client certificates signed by clientCA when it is set.
type TLSFiles struct{ Cert, Key, ClientCA string }

// StartCollector runs a collector receiving OTLP on loopback and
// forwarding, synchronously (no queue, no retry), to sinkURL; with no
// sinkURL, it drops what it receives (the debug exporter, quiet).
func StartCollector(t testing.TB, sinkURL string, tf *TLSFiles) *Collector {
	t.Helper()
	c := &Collector{t: t, bin: CollectorBinary(t), GRPCPort: FreePort(t), HTTPPort: FreePort(t)}
	tlsYAML := ""
	if tf != nil {
		tlsYAML = fmt.Sprintf("\n        tls:\n          cert_file: %s\n          key_file: %s", tf.Cert, tf.Key)
		if tf.ClientCA != "" {
			tlsYAML += "\n          client_ca_file: " + tf.ClientCA
		}
	}
	exporterName, exporter := "debug", "  debug:\n    verbosity: basic"
	if sinkURL != "" {
		exporterName = "otlp_http"
		exporter = fmt.Sprintf(`  otlp_http:
    endpoint: %s
    encoding: json
    compression: none
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false`, sinkURL)
	}
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d%s
      http:
        endpoint: 127.0.0.1:%d
exporters:
%s
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [%s]
`, c.GRPCPort, tlsYAML, c.HTTPPort, exporter, exporterName)
	c.config = filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Kill)
	return c
}

// Start (re)starts the collector and returns once it listens.
func (c *Collector) Start() {
	c.t.Helper()
	c.log = new(bytes.Buffer)
	c.cmd = exec.Command(c.bin, "--config", c.config)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start collector: %v", err)
	}
	c.exited = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.exited) }() // killed on purpose: no status to check
	// Ready when both receivers accept connections.
	deadline := time.Now().Add(30 * time.Second)
	for _, port := range []int{c.GRPCPort, c.HTTPPort} {
		for {
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-c.exited:
				c.t.Fatalf("collector exited: %s", c.log)
			default:
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("collector not listening on %d after 30 s: %s", port, c.log)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Kill stops the collector with SIGKILL: nothing it holds is flushed.
func (c *Collector) Kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Kill() // an error means it has exited already
	<-c.exited
	c.cmd = nil
}

// GRPCURL is the collector's OTLP/gRPC endpoint, as --otlp-endpoint takes it.
func (c *Collector) GRPCURL() string { return fmt.Sprintf("grpc://127.0.0.1:%d", c.GRPCPort) }

// HTTPURL is its OTLP/HTTP endpoint.
func (c *Collector) HTTPURL() string { return fmt.Sprintf("http://127.0.0.1:%d", c.HTTPPort) }

// SilentListener accepts connections on loopback and never answers: a
// collector that hangs. It returns HOST:PORT.
func SilentListener(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String()
}
