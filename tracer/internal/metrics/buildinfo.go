package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// SetBuildInfo publishes nstrace_build_info, a gauge of 1 whose labels say
// which nstrace is running: its version, the Go release that built it and
// the architecture. A fleet's dashboards join on it to tell versions apart.
func (m *Metrics) SetBuildInfo(version string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nstrace_build_info",
		Help: "Always 1; the labels say which nstrace this is: version, goversion, goarch.",
	}, []string{"version", "goversion", "goarch"})
	g.WithLabelValues(version, runtime.Version(), runtime.GOARCH).Set(1)
	m.reg.MustRegister(g)
}
