// Package deploy tests what cmd/nstrace/deploy holds to install nstrace on
// a host or a cluster: the container image's Containerfile (make image), the
// DaemonSet and its ConfigMap, and the systemd unit. It has no code: its
// tests check that the manifests decode strictly into Kubernetes' types,
// that the unit passes systemd-analyze verify, that both grant exactly the
// capabilities nstrace was measured to need (tracer/internal/caps.Deploy),
// and that the image traces the host with them. The tests live here, not
// beside the manifests, because they import tracer/internal packages.
package deploy
