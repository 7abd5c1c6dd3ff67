package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/internal/export"
)

// otlpFlags are the OTLP export flags of trace. Unset, the standard
// OTEL_EXPORTER_OTLP_* environment variables apply.
type otlpFlags struct {
	endpoint  string
	headers   []string
	insecure  bool
	ca        string
	cert, key string
	spool     string
	spoolSize string
}

// defaultSpoolDir is where records wait for the collector when --otlp-spool
// is not given (the systemd unit's StateDirectory).
const defaultSpoolDir = "/var/lib/nstrace/spool"

func (f *otlpFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.endpoint, "otlp-endpoint", "", "send records as OTLP logs to this collector: grpc://HOST:4317, http://HOST:4318 or https://...")
	fl.StringArrayVar(&f.headers, "otlp-header", nil, "with --otlp-endpoint: add this K=V header to every export (repeatable)")
	fl.BoolVar(&f.insecure, "otlp-insecure", false, "with a grpc:// endpoint: no TLS")
	fl.StringVar(&f.ca, "otlp-ca", "", "verify the collector with the CA certificates in this PEM file")
	fl.StringVar(&f.cert, "otlp-cert", "", "client certificate (PEM) for mutual TLS, with --otlp-key")
	fl.StringVar(&f.key, "otlp-key", "", "client key (PEM) for mutual TLS, with --otlp-cert")
	fl.StringVar(&f.spool, "otlp-spool", defaultSpoolDir, "keep records here until the collector acknowledges them")
	fl.StringVar(&f.spoolSize, "otlp-spool-size", "256M", "bound the spool; past it the oldest unsent records are dropped and counted as lost")
}

// options turns the flags into export options; enabled is false when
// neither the flags nor the environment name a collector.
func (f *otlpFlags) options(version string) (o export.Options, enabled bool, err error) {
	o = export.Options{Endpoint: f.endpoint, Insecure: f.insecure, CAFile: f.ca, CertFile: f.cert,
		KeyFile: f.key, SpoolDir: f.spool, Version: version}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return o, false, usageError{fmt.Errorf("--otlp-header %q: want KEY=VALUE", h)}
		}
		if o.Headers == nil {
			o.Headers = map[string]string{}
		}
		o.Headers[strings.TrimSpace(k)] = v
	}
	if o.SpoolSize, err = parseSize(f.spoolSize); err != nil {
		return o, false, usageError{fmt.Errorf("--otlp-spool-size: %w", err)}
	}
	if o.SpoolSize < export.MinSpoolSize {
		return o, false, usageError{fmt.Errorf("--otlp-spool-size %s is below the 1M minimum", f.spoolSize)}
	}
	return o, o.Enabled(), nil
}
