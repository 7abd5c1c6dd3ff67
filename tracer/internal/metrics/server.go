package metrics

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultAddr is the address to suggest: this host only.
const DefaultAddr = "127.0.0.1:9464"

// ErrNotLoopback is returned by Serve for an address other hosts could
// reach when public was not asked for: the metrics name processes,
// containers and namespaces of this host.
var ErrNotLoopback = errors.New("address is not a loopback address")

// Server serves /metrics until closed.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Serve listens on addr and serves the registry at /metrics. Unless public,
// addr must be a loopback address (127.0.0.0/8, ::1, localhost).
func (m *Metrics) Serve(addr string, public bool) (*Server, error) {
	if err := CheckAddr(addr, public); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "nstrace metrics: /metrics")
	})
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }() // ends with Close, which reports what matters
	return s, nil
}

// Addr is the address listened on (with the port chosen, for ":0").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving.
func (s *Server) Close() error { return s.srv.Close() }

// CheckAddr is Serve's check of addr, to fail early: unless public, it must
// be a loopback address.
func CheckAddr(addr string, public bool) error {
	if public {
		return nil
	}
	return checkLoopback(addr)
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: %w", addr, ErrNotLoopback)
	}
	return nil
}
