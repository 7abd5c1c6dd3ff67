package export

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultSpoolSize bounds the spool when Options.SpoolSize is zero.
const DefaultSpoolSize = 256 << 20

// MinSpoolSize is the smallest spool accepted: a few segments' worth.
const MinSpoolSize = 1 << 20

// Options say where records go and how. The CLI fills them from its
// --otlp-* flags; fields left zero fall back to the standard
// OTEL_EXPORTER_OTLP_* environment variables, then to defaults.
type Options struct {
	// Endpoint is grpc://host:port (TLS unless Insecure), http://host:port
	// or https://host:port (OTLP/HTTP, path /v1/logs unless given). Empty:
	// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, with
	// OTEL_EXPORTER_OTLP_(LOGS_)PROTOCOL choosing grpc or http/protobuf.
	Endpoint string
	Headers  map[string]string // replace OTEL_EXPORTER_OTLP_HEADERS when set
	Insecure bool              // gRPC without TLS
	CAFile   string            // PEM roots to verify the collector by
	CertFile string            // client certificate for mTLS (with KeyFile)
	KeyFile  string
	// Compression is "gzip" or "none"; empty: the environment's, else gzip.
	Compression string
	Timeout     time.Duration // per export call; zero: 10 s

	SpoolDir  string // required: where records wait for acknowledgement
	SpoolSize int64  // bytes; zero: DefaultSpoolSize
	// SessionID starts every record id; it must differ between runs (the
	// recording's session id serves). Empty: a random one.
	SessionID string
	Version   string // service.version

	BatchSize  int           // records per export call; zero: 2048
	MaxBackoff time.Duration // longest pause between retries; zero: 5 s
	// Logf reports, once each, conditions that lose records or stop
	// sending (rejections, a refused certificate). Nil: standard error.
	Logf func(format string, args ...any)
}

// ErrUsage marks options that cannot work, whatever the collector does.
var ErrUsage = errors.New("bad OTLP export options")

var envEndpoints = []string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"}

// Enabled says whether the options name a collector, by flag or by the
// environment.
func (o *Options) Enabled() bool {
	if o.Endpoint != "" {
		return true
	}
	for _, k := range envEndpoints {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// env reads OTEL_EXPORTER_OTLP_LOGS_<name>, else OTEL_EXPORTER_OTLP_<name>.
func env(name string) string {
	return firstEnv("OTEL_EXPORTER_OTLP_LOGS_"+name, "OTEL_EXPORTER_OTLP_"+name)
}

// clientConfig is where and how to send, the options and the environment
// resolved.
type clientConfig struct {
	grpc     bool
	hostport string
	path     string // OTLP/HTTP
	insecure bool   // gRPC without TLS, or http://
	tls      *tls.Config
	headers  map[string]string
	gzip     bool
	timeout  time.Duration
}

// resolve applies the options over the standard OTEL_EXPORTER_OTLP_*
// variables, as the OpenTelemetry SDKs read them.
func (o *Options) resolve() (*clientConfig, error) {
	c := &clientConfig{timeout: o.Timeout, headers: map[string]string{}}
	if c.timeout == 0 {
		c.timeout = 10 * time.Second
		if v := env("TIMEOUT"); v != "" {
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT %q (want milliseconds): %w", v, ErrUsage)
			}
			c.timeout = time.Duration(ms) * time.Millisecond
		}
	}
	comp := o.Compression
	if comp == "" {
		comp = env("COMPRESSION")
	}
	switch comp {
	case "", "gzip":
		c.gzip = true
	case "none":
	default:
		return nil, fmt.Errorf("compression %q (want gzip or none): %w", comp, ErrUsage)
	}
	if o.Headers != nil {
		c.headers = o.Headers
	} else if h := env("HEADERS"); h != "" {
		for _, kv := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(kv, "=")
			k, err1 := url.QueryUnescape(strings.TrimSpace(k))
			v, err2 := url.QueryUnescape(strings.TrimSpace(v))
			if !ok || k == "" || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %q is not KEY=VALUE: %w", kv, ErrUsage)
			}
			c.headers[k] = v
		}
	}
	if err := o.resolveEndpoint(c); err != nil {
		return nil, err
	}
	var err error
	if c.tls, err = o.tlsConfig(); err != nil {
		return nil, err
	}
	if c.insecure && c.tls != nil && !c.grpc {
		return nil, fmt.Errorf("TLS files with an http:// endpoint: %w", ErrUsage)
	}
	if o.Insecure && c.tls != nil {
		return nil, fmt.Errorf("--otlp-insecure with TLS (https or certificate files): %w", ErrUsage)
	}
	if c.tls != nil {
		c.insecure = false
	}
	return c, nil
}

func (o *Options) resolveEndpoint(c *clientConfig) error {
	raw, scheme := o.Endpoint, ""
	if raw == "" {
		switch p := env("PROTOCOL"); p {
		case "grpc":
			scheme = "grpc"
		case "", "http/protobuf":
			scheme = "http"
		default:
			return fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q (want grpc or http/protobuf): %w", p, ErrUsage)
		}
		raw = os.Getenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
		if raw == "" {
			// The generic endpoint is the collector's root: OTLP/HTTP
			// appends the signal's path to it.
			raw = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
			if scheme == "http" && raw != "" {
				raw = strings.TrimSuffix(raw, "/") + "/v1/logs"
			}
		}
		if raw == "" {
			return fmt.Errorf("no endpoint: give --otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT: %w", ErrUsage)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("endpoint %q is not grpc://, http:// or https://HOST:PORT: %w", raw, ErrUsage)
	}
	c.hostport, c.path = u.Host, u.Path
	switch {
	case o.Endpoint == "" && scheme == "grpc": // the URL's scheme says whether TLS is used
		c.grpc = true
		ins := strings.ToLower(env("INSECURE"))
		c.insecure = u.Scheme == "http" || ins == "true"
	case u.Scheme == "grpc":
		c.grpc, c.insecure = true, o.Insecure
	case u.Scheme == "http" || u.Scheme == "https":
		if o.Insecure && u.Scheme == "https" {
			return fmt.Errorf("--otlp-insecure with TLS (https or certificate files): %w", ErrUsage)
		}
		c.insecure = u.Scheme == "http"
		if c.path == "" || c.path == "/" {
			c.path = "/v1/logs"
		}
	default:
		return fmt.Errorf("endpoint %q: scheme %q is not grpc, http or https: %w", raw, u.Scheme, ErrUsage)
	}
	return nil
}

// newClient makes the client o describes.
func newClient(o *Options) (client, *clientConfig, error) {
	c, err := o.resolve()
	if err != nil {
		return nil, nil, err
	}
	if c.grpc {
		g, err := newGRPCClient(c)
		return g, c, err
	}
	return newHTTPClient(c), c, nil
}

// tlsConfig reads the CA and client certificate files, the options' or
// else the environment's; nil when none are given.
func (o *Options) tlsConfig() (*tls.Config, error) {
	ca, cert, key := o.CAFile, o.CertFile, o.KeyFile
	if ca == "" && cert == "" && key == "" {
		ca, cert, key = env("CERTIFICATE"), env("CLIENT_CERTIFICATE"), env("CLIENT_KEY")
	}
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("read OTLP CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTLP CA file %s holds no PEM certificate: %w", ca, ErrUsage)
		}
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("--otlp-cert and --otlp-key go together: %w", ErrUsage)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("load OTLP client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Check refuses options that cannot work (a bad endpoint, compression or
// spool size, unreadable certificate files) without touching the network
// or the spool: so that a command can refuse them before it starts.
func (o *Options) Check(ctx context.Context) error {
	if o.SpoolDir == "" {
		return fmt.Errorf("no spool directory: %w", ErrUsage)
	}
	if o.SpoolSize != 0 && o.SpoolSize < MinSpoolSize {
		return fmt.Errorf("spool size %d below %d bytes: %w", o.SpoolSize, MinSpoolSize, ErrUsage)
	}
	cl, _, err := newClient(o)
	if err != nil {
		return err
	}
	return cl.close()
}
