package export

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"google.golang.org/grpc/credentials"
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

	BatchSize  int           // records per export call; zero: 512
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

// newSDKExporter builds the SDK's OTLP log exporter with its own retries
// off: the sender retries, so it knows when a batch was acknowledged.
func newSDKExporter(ctx context.Context, o *Options) (sdklog.Exporter, error) {
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	gzip := o.Compression == "gzip" || (o.Compression == "" &&
		firstEnv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION") == "")
	if o.Compression != "" && o.Compression != "gzip" && o.Compression != "none" {
		return nil, fmt.Errorf("compression %q (want gzip or none): %w", o.Compression, ErrUsage)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}

	scheme, hostport, path := "", "", ""
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q is not grpc://, http:// or https://HOST:PORT: %w", o.Endpoint, ErrUsage)
		}
		scheme, hostport, path = u.Scheme, u.Host, u.Path
	} else {
		switch p := firstEnv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); p {
		case "grpc":
			scheme = "env-grpc"
		case "", "http/protobuf":
			scheme = "env-http"
		default:
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q (want grpc or http/protobuf): %w", p, ErrUsage)
		}
	}
	if o.Insecure && (scheme == "https" || tlsCfg != nil) {
		return nil, fmt.Errorf("--otlp-insecure with TLS (https or certificate files): %w", ErrUsage)
	}

	switch scheme {
	case "grpc", "env-grpc":
		opts := []otlploggrpc.Option{
			otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: false}),
			otlploggrpc.WithTimeout(timeout),
		}
		if hostport != "" {
			opts = append(opts, otlploggrpc.WithEndpoint(hostport))
		}
		if o.Insecure {
			opts = append(opts, otlploggrpc.WithInsecure())
		}
		if tlsCfg != nil {
			opts = append(opts, otlploggrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
		}
		if gzip {
			opts = append(opts, otlploggrpc.WithCompressor("gzip"))
		}
		if o.Headers != nil {
			opts = append(opts, otlploggrpc.WithHeaders(o.Headers))
		}
		return otlploggrpc.New(ctx, opts...)
	case "http", "https", "env-http":
		opts := []otlploghttp.Option{
			otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}),
			otlploghttp.WithTimeout(timeout),
		}
		if hostport != "" {
			opts = append(opts, otlploghttp.WithEndpoint(hostport))
			if path == "" || path == "/" {
				path = "/v1/logs"
			}
			opts = append(opts, otlploghttp.WithURLPath(path))
		}
		if scheme == "http" {
			opts = append(opts, otlploghttp.WithInsecure())
		}
		if tlsCfg != nil {
			opts = append(opts, otlploghttp.WithTLSClientConfig(tlsCfg))
		}
		if gzip {
			opts = append(opts, otlploghttp.WithCompression(otlploghttp.GzipCompression))
		} else if o.Compression == "none" {
			opts = append(opts, otlploghttp.WithCompression(otlploghttp.NoCompression))
		}
		if o.Headers != nil {
			opts = append(opts, otlploghttp.WithHeaders(o.Headers))
		}
		return otlploghttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("endpoint %q: scheme %q is not grpc, http or https: %w", o.Endpoint, scheme, ErrUsage)
}

// tlsConfig reads the CA and client certificate files; nil when none given.
func (o *Options) tlsConfig() (*tls.Config, error) {
	if o.CAFile == "" && o.CertFile == "" && o.KeyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read OTLP CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTLP CA file %s holds no PEM certificate: %w", o.CAFile, ErrUsage)
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, fmt.Errorf("--otlp-cert and --otlp-key go together: %w", ErrUsage)
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load OTLP client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
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
	sdk, err := newSDKExporter(ctx, o)
	if err != nil {
		return err
	}
	return sdk.Shutdown(ctx)
}
