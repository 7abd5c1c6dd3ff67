package runtime

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// API is the protocol a runtime serves on its socket.
type API int

const (
	// APIAuto finds out by asking (Docker's /_ping first, then the CRI).
	APIAuto API = iota
	// APICRI is the Kubernetes Container Runtime Interface over gRPC.
	APICRI
	// APIDocker is the Docker Engine API over HTTP (docker, podman).
	APIDocker
)

// String names the API as ParseEndpoint reads it: "cri", "docker", "auto".
func (a API) String() string {
	switch a {
	case APICRI:
		return "cri"
	case APIDocker:
		return "docker"
	}
	return "auto"
}

// Endpoint is a runtime's API socket.
type Endpoint struct {
	API  API
	Path string // absolute path of the unix socket
}

// String is the endpoint as ParseEndpoint reads it, e.g. "cri:unix:///run/crio/crio.sock".
func (e Endpoint) String() string { return e.API.String() + ":unix://" + e.Path }

// DefaultEndpoints are the sockets runtimes listen on by default.
func DefaultEndpoints() []Endpoint {
	return []Endpoint{
		{APICRI, "/run/containerd/containerd.sock"},
		{APICRI, "/run/crio/crio.sock"},
		{APIDocker, "/var/run/docker.sock"},
		{APIDocker, "/run/podman/podman.sock"},
	}
}

// ErrEndpoint is returned by ParseEndpoint for text that names no socket.
var ErrEndpoint = errors.New("runtime endpoint must be [cri:|docker:][unix://]/absolute/path")

// ParseEndpoint reads an endpoint as a user writes it: a socket path or a
// unix:// URL, optionally preceded by "cri:" or "docker:" to say which API
// it serves (otherwise it is found out): "unix:///run/k3s/containerd/containerd.sock",
// "docker:/run/user/1000/podman/podman.sock".
func ParseEndpoint(s string) (Endpoint, error) {
	var e Endpoint
	rest := s
	if r, ok := strings.CutPrefix(rest, "cri:"); ok {
		e.API, rest = APICRI, r
	} else if r, ok := strings.CutPrefix(rest, "docker:"); ok {
		e.API, rest = APIDocker, r
	}
	rest = strings.TrimPrefix(rest, "unix://")
	if !filepath.IsAbs(rest) {
		return Endpoint{}, fmt.Errorf("%q: %w", s, ErrEndpoint)
	}
	e.Path = filepath.Clean(rest)
	return e, nil
}
