package nsbench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

// writeExportTable prints the export row.
func writeExportTable(w io.Writer, r *exportResult) {
	gogc := r.CollectorGOGC
	if gogc == "" {
		gogc = "default"
	}
	fmt.Fprintf(w, "\nExport: setns churn traced by `nstrace trace -q --pid`, with and without --otlp-endpoint to a local OpenTelemetry Collector (OTLP/gRPC, compression %s; collector: otlp receiver -> debug exporter, basic verbosity, GOGC %s)\n", r.Compression, gogc)
	fmt.Fprintf(w, "%-10s %-7s %10s %7s %10s %10s %8s %8s %8s %10s %12s %12s\n",
		"rate/s", "export", "achieved", "secs", "events", "acked", "lost", "drain s", "cpu ns", "export ns", "per core/s", "collector ns")
	for _, run := range r.Runs {
		exportNs, perCore := "-", "-"
		if run.Export {
			if run.ExportNs != 0 {
				exportNs = fmt.Sprintf("%.0f", run.ExportNs)
			}
			if run.CPUNs > 0 {
				perCore = fmt.Sprintf("%.0f", 1e9/run.CPUNs)
			}
		}
		acked, colNs := "-", "-"
		if run.Export {
			acked, colNs = strconv.FormatInt(run.Acked, 10), fmt.Sprintf("%.0f", run.CollectorNs)
		}
		fmt.Fprintf(w, "%-10.0f %-7v %10.0f %7.1f %10d %10s %8d %8.2f %8.0f %10s %12s %12s\n",
			run.Rate, run.Export, run.Achieved, run.Seconds, run.Events, acked, run.Lost, run.Drain, run.CPUNs, exportNs, perCore, colNs)
	}
	fmt.Fprintf(w, "highest rate with 0 lost, every record acknowledged, the acknowledgements at most %v behind at the end: %.0f events/s\n", maxDrain, r.HighestRate)
	fmt.Fprintf(w, "cpu ns: nstrace's CPU (all threads, ready to exit) per event; export ns: that less the run without export at the same rate; per core/s: events per CPU-second of nstrace with export; collector ns: the collector's CPU per event (receive, decode, the debug exporter)\n")
}

// runExportOnly is -export-only: the export row, nothing else.
func runExportOnly(o *options) error {
	if o.export.collector == "" {
		return fmt.Errorf("-export-only: no OpenTelemetry Collector (go test ./tracer/internal/export builds one; or -otelcol PATH)")
	}
	if err := pinHarness(o.cpu); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "nsbench: load average at start: %s\n", loadAverage())
	r, err := measureExport(o)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeExportTable(os.Stdout, r)
	fmt.Printf("load average at the end: %s\n", loadAverage())
	return nil
}
