package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/internal/export"
)

func parseOTLPFlags(t *testing.T, args ...string) (export.Options, bool, error) {
	t.Helper()
	var f otlpFlags
	fl := pflag.NewFlagSet("trace", pflag.ContinueOnError)
	f.register(fl)
	if err := fl.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return f.options("1.0")
}

func TestOTLPFlags(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "")
	o, enabled, err := parseOTLPFlags(t, "--otlp-endpoint", "https://otel.example:4318", "--otlp-header", "x-tenant=blue",
		"--otlp-header", "authorization=Bearer a=b", "--otlp-ca", "/ca.pem", "--otlp-cert", "/c.pem", "--otlp-key", "/k.pem",
		"--otlp-spool", "/var/spool/x", "--otlp-spool-size", "64M")
	want := export.Options{Endpoint: "https://otel.example:4318", Headers: map[string]string{"x-tenant": "blue", "authorization": "Bearer a=b"},
		CAFile: "/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem", SpoolDir: "/var/spool/x", SpoolSize: 64 << 20, Version: "1.0"}
	if err != nil || !enabled || !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v, %v, %v; want %+v, enabled", o, enabled, err, want)
	}

	o, enabled, err = parseOTLPFlags(t)
	if err != nil || enabled || o.SpoolDir != defaultSpoolDir || o.SpoolSize != export.DefaultSpoolSize {
		t.Fatalf("defaults: %+v, enabled %v, %v; want disabled, %s, 256 MiB", o, enabled, err, defaultSpoolDir)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	if _, enabled, _ = parseOTLPFlags(t); !enabled {
		t.Fatal("OTEL_EXPORTER_OTLP_ENDPOINT set: want export enabled")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--otlp-header", "novalue"}, `--otlp-header "novalue": want KEY=VALUE`},
		{[]string{"--otlp-spool-size", "100K"}, "--otlp-spool-size 100K is below the 1M minimum"},
		{[]string{"--otlp-spool-size", "lots"}, "--otlp-spool-size"},
	} {
		_, _, err := parseOTLPFlags(t, tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want a usage error with %q", tc.args, err, tc.want)
		}
	}
}
