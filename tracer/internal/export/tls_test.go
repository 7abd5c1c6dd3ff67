package export_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/export"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate, PEM
}

func newCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+".pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue signs a leaf certificate for 127.0.0.1 and writes it and its key.
func (ca *testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTLS: the collector serves TLS from a test CA and asks for a client
// certificate; with the right CA and client certificate every record
// arrives, with another CA nothing does and the cause is said once.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	srvCert, srvKey := ca.issue(t, dir, "collector", x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := ca.issue(t, dir, "nstrace", x509.ExtKeyUsageClientAuth)
	s := testenv.StartOTLPSink(t)
	c := testenv.StartCollector(t, s.URL, &testenv.TLSFiles{Cert: srvCert, Key: srvKey, ClientCA: ca.file})

	t.Run("mtls", func(t *testing.T) {
		e, logs := newExporter(t, export.Options{Endpoint: c.GRPCURL(), CAFile: ca.file, CertFile: cliCert, KeyFile: cliKey,
			SpoolDir: t.TempDir()})
		writeUnshares(t, e, 0, 100)
		closeExporter(t, e, logs)
		if m := missing(s, e.SessionID(), 100); len(m) != 0 {
			t.Fatalf("missing %v (log %q)", m, logs.get())
		}
	})

	t.Run("wrong-ca", func(t *testing.T) {
		other := newCA(t, dir, "other")
		before, _ := s.Stats()
		e, logs := newExporter(t, export.Options{Endpoint: c.GRPCURL(), CAFile: other.file, CertFile: cliCert, KeyFile: cliKey,
			SpoolDir: t.TempDir()})
		writeUnshares(t, e, 0, 10)
		waitFor(t, 30*time.Second, "three retries", func() bool { return e.Stats().Retries >= 3 })
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := e.Close(ctx); !errors.Is(err, export.ErrPending) {
			t.Fatalf("Close: %v; want the records pending", err)
		}
		lines := logs.get()
		if len(lines) != 1 || !strings.Contains(lines[0], "x509: certificate signed by unknown authority") {
			t.Fatalf("log %q; want one line saying the certificate is signed by an unknown authority", lines)
		}
		t.Logf("the one line: nstrace: %s", lines[0])
		if after, _ := s.Stats(); after != before {
			t.Fatalf("%d records arrived through a collector not trusted", after-before)
		}
	})
}

// TestBadOptions: options that cannot work fail New with ErrUsage and one
// line that names the problem.
func TestBadOptions(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    export.Options
		want string
	}{
		{export.Options{Endpoint: "ftp://host:21"}, `scheme "ftp"`},
		{export.Options{Endpoint: "host:4317"}, "is not grpc://"},
		{export.Options{Endpoint: "https://h:4318", Insecure: true}, "--otlp-insecure with TLS"},
		{export.Options{Endpoint: "grpc://h:4317", CAFile: garbage}, "holds no PEM certificate"},
		{export.Options{Endpoint: "grpc://h:4317", CAFile: ca.file, CertFile: ca.file}, "--otlp-cert and --otlp-key go together"},
		{export.Options{Endpoint: "grpc://h:4317", SpoolSize: 1000}, "spool size 1000 below"},
		{export.Options{Endpoint: "grpc://h:4317", Compression: "zstd"}, `compression "zstd"`},
	} {
		if tc.o.SpoolDir == "" {
			tc.o.SpoolDir = t.TempDir()
		}
		_, err := export.New(context.Background(), tc.o)
		if !errors.Is(err, export.ErrUsage) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v; want one line with %q", tc.o, err, tc.want)
		}
	}
}
