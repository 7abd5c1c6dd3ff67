package metrics

import "github.com/prometheus/client_golang/prometheus"

// ExportStats are an OTLP exporter's counters and gauges at one moment.
type ExportStats struct {
	Spooled    uint64 // records written to the spool
	Sent       uint64 // acknowledged by the collector
	Rejected   uint64 // refused by the collector (partial success): lost
	Dropped    uint64 // removed unsent to keep the spool in bounds: lost
	Retries    uint64 // export calls that failed and were tried again
	Queue      int64  // records waiting: in the spool unsent, or in flight
	SpoolBytes int64  // bytes the spool takes on disk
}

var (
	exportRecordsDesc = prometheus.NewDesc("nstrace_export_records_total",
		"OTLP records by result: spooled (written to the spool, before sending), sent (acknowledged by the collector), rejected (refused by it: lost, cause export_rejected), dropped (removed unsent from the full spool: lost, cause export).",
		[]string{"result"}, nil)
	exportRetriesDesc = prometheus.NewDesc("nstrace_export_retries_total",
		"OTLP export calls that failed and were tried again.", nil, nil)
	exportQueueDesc = prometheus.NewDesc("nstrace_export_queue_records",
		"OTLP records waiting for the collector's acknowledgement: in the spool unsent, or in flight.", nil, nil)
	exportSpoolDesc = prometheus.NewDesc("nstrace_export_spool_bytes",
		"Bytes the OTLP spool takes on disk.", nil, nil)
)

// ObserveExport publishes the OTLP exporter's health, read from stats at
// each scrape. Call it once, when export is on.
func (m *Metrics) ObserveExport(stats func() ExportStats) {
	m.reg.MustRegister(exportCollector(stats))
}

type exportCollector func() ExportStats

func (c exportCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- exportRecordsDesc
	ch <- exportRetriesDesc
	ch <- exportQueueDesc
	ch <- exportSpoolDesc
}

func (c exportCollector) Collect(ch chan<- prometheus.Metric) {
	s := c()
	for _, r := range []struct {
		result string
		n      uint64
	}{{"spooled", s.Spooled}, {"sent", s.Sent}, {"rejected", s.Rejected}, {"dropped", s.Dropped}} {
		ch <- prometheus.MustNewConstMetric(exportRecordsDesc, prometheus.CounterValue, float64(r.n), r.result)
	}
	ch <- prometheus.MustNewConstMetric(exportRetriesDesc, prometheus.CounterValue, float64(s.Retries))
	ch <- prometheus.MustNewConstMetric(exportQueueDesc, prometheus.GaugeValue, float64(s.Queue))
	ch <- prometheus.MustNewConstMetric(exportSpoolDesc, prometheus.GaugeValue, float64(s.SpoolBytes))
}
