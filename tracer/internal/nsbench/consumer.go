package nsbench

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// consumerGoal bounds nstrace's CPU time per event it handles.
const consumerGoal = 400

// consumerRuns are an nstrace column's CPU time from ready to exit, run by
// run, with the workload and idle. Between ready and exit nstrace also does
// work no event causes (unmapping the ring, closing its programs, -w's
// fsync, the summary); the idle runs, the same length without a workload,
// measure it, so that what is left is what the events cost.
type consumerRuns struct {
	LoadedCPUNs  []int64 `json:"loaded_cpu_ns"`
	LoadedEvents []int64 `json:"loaded_events"` // its summary's count
	IdleCPUNs    []int64 `json:"idle_cpu_ns"`
	IdleEvents   []int64 `json:"idle_events"` // the rest of the machine's
	// MarginalNs is (median loaded CPU − median idle CPU) ÷ median loaded
	// events; 0 until settled, or without idle runs.
	MarginalNs float64 `json:"marginal_cpu_ns_per_event,omitempty"`
	// The bytes each loaded run wrote, and the CPU writeFloor took to
	// write as many: the part of the marginal CPU no encoding can save.
	LoadedBytes  []int64 `json:"loaded_bytes"`
	WriteFloorNs []int64 `json:"write_floor_cpu_ns"`

	lengths []time.Duration // ready to stop of the loaded runs
}

func (c *cell) consumerRuns() *consumerRuns {
	if c.Consumer == nil {
		c.Consumer = &consumerRuns{}
	}
	return c.Consumer
}

func (r *consumerRuns) addLoaded(cpu time.Duration, events int64, length time.Duration) {
	r.LoadedCPUNs = append(r.LoadedCPUNs, cpu.Nanoseconds())
	r.LoadedEvents = append(r.LoadedEvents, events)
	r.lengths = append(r.lengths, length)
}

func (r *consumerRuns) addWriteFloor(bytes int64, cpu time.Duration) {
	r.LoadedBytes = append(r.LoadedBytes, bytes)
	r.WriteFloorNs = append(r.WriteFloorNs, cpu.Nanoseconds())
}

// writeFloor is writeFloor's CPU per event: median CPU ÷ median loaded
// events, and the bytes an event wrote.
func (r *consumerRuns) writeFloor() (ns, bytes float64, ok bool) {
	events := medianInt(r.LoadedEvents)
	if events <= 0 || len(r.WriteFloorNs) == 0 {
		return 0, 0, false
	}
	return medianInt(r.WriteFloorNs) / events, medianInt(r.LoadedBytes) / events, true
}

func (r *consumerRuns) addIdle(cpu time.Duration, events int64) {
	r.IdleCPUNs = append(r.IdleCPUNs, cpu.Nanoseconds())
	r.IdleEvents = append(r.IdleEvents, events)
}

// idleLength is how long an idle run waits between ready and stop: as long
// as the loaded runs so far did (median), which is the workload's duration
// plus its child's start and exit; the duration alone before any.
func (r *consumerRuns) idleLength(duration time.Duration) time.Duration {
	if len(r.lengths) == 0 {
		return duration
	}
	return medianDuration(r.lengths)
}

func medianInt(xs []int64) float64 {
	fs := make([]float64, len(xs))
	for i, x := range xs {
		fs[i] = float64(x)
	}
	return median(fs)
}

// raw is the loaded runs' CPU per event, fixed work included:
// median CPU ÷ median events.
func (r *consumerRuns) raw() (float64, bool) {
	events := medianInt(r.LoadedEvents)
	if events <= 0 {
		return 0, false
	}
	return medianInt(r.LoadedCPUNs) / events, true
}

// marginal is the CPU an event adds: (median loaded CPU − median idle
// CPU) ÷ median loaded events. Noise can make it negative; it is shown as
// it comes out.
func (r *consumerRuns) marginal() (float64, bool) {
	events := medianInt(r.LoadedEvents)
	if events <= 0 || len(r.IdleCPUNs) == 0 {
		return 0, false
	}
	return (medianInt(r.LoadedCPUNs) - medianInt(r.IdleCPUNs)) / events, true
}

// settle stores the marginal figure for the JSON output.
func (r *consumerRuns) settle() {
	if r != nil {
		r.MarginalNs, _ = r.marginal()
	}
}

// idleColumns are the indexes of the tracers that run idle too: nstrace's.
func idleColumns(tracers []tracer) []int {
	var idx []int
	for i, t := range tracers {
		if t.nstrace {
			idx = append(idx, i)
		}
	}
	return idx
}

// runIdle starts the tracer, waits until it is ready, lets it run as long
// as a run with the workload but with none, stops it and keeps its CPU
// time and the events it counted (others', on this machine).
func runIdle(o *options, t tracer, c *cell) error {
	runs := c.consumerRuns()
	s, err := t.start(o.dir)
	if err != nil {
		return err
	}
	defer os.Remove(s.events)
	timer := time.NewTimer(runs.idleLength(o.duration))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-s.exited: // stop reports how it ended
	}
	if err := s.stop(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	sum, err := t.lost(s)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	runs.addIdle(s.cpuSinceReady(), sum.Events)
	return nil
}

// idleProgress is the last idle run, for the progress line.
func (r *consumerRuns) idleProgress(title string) string {
	n := len(r.IdleCPUNs) - 1
	return fmt.Sprintf("%s idle %.1f ms CPU, %d events", title, float64(r.IdleCPUNs[n])/1e6, r.IdleEvents[n])
}

// writeConsumer lists nstrace's CPU per event: raw, and with its idle
// runs' CPU taken out.
func (res *results) writeConsumer(w io.Writer) {
	t := [][]string{{"workload", "tracer", "events a run", "idle runs' events", "CPU ms a run: loaded ; idle",
		"raw CPU ns/event", fmt.Sprintf("marginal CPU ns/event (goal ≤ %d)", consumerGoal),
		"bytes/event", "write(2) floor ns/event", "marginal − floor"}}
	for _, r := range res.Rows {
		for _, name := range res.Tracers {
			c := r.Traced[name]
			if c == nil || c.Consumer == nil {
				continue
			}
			runs := c.Consumer
			raw, ok := runs.raw()
			if !ok {
				continue
			}
			idleEvents, idleCPU, marginal := "—", "—", "—"
			if m, ok := runs.marginal(); ok {
				var each []string
				for _, n := range runs.IdleEvents {
					each = append(each, strconv.FormatInt(n, 10))
				}
				idleEvents = strings.Join(each, ", ")
				idleCPU = fmt.Sprintf("%.1f", medianInt(runs.IdleCPUNs)/1e6)
				marginal = fmt.Sprintf("%.0f %s", m, pass(m <= consumerGoal))
			}
			bytes, floor, beyond := "—", "—", "—"
			if ns, b, ok := runs.writeFloor(); ok {
				bytes, floor = fmt.Sprintf("%.0f", b), fmt.Sprintf("%.0f", ns)
				if m, ok := runs.marginal(); ok {
					beyond = fmt.Sprintf("%.0f", m-ns)
				}
			}
			t = append(t, []string{r.Workload, res.Titles[name], fmtInt(medianInt(runs.LoadedEvents)), idleEvents,
				fmt.Sprintf("%.1f ; %s", medianInt(runs.LoadedCPUNs)/1e6, idleCPU), fmt.Sprintf("%.0f", raw), marginal,
				bytes, floor, beyond})
		}
	}
	if len(t) == 1 {
		return
	}
	fmt.Fprintf(w, "\nnstrace's CPU per event it handled (CPU time from ready to exit, every thread; medians of the rounds):\n\n")
	writeMarkdown(w, t)
	fmt.Fprintf(w, "\n- raw: CPU of a run with the workload ÷ the events its summary counted. It includes work no event causes (unmapping the ring, closing the programs, -w's fsync, the summary), which weighs more the shorter the run.\n")
	fmt.Fprintf(w, "- marginal: (CPU of a run with the workload − CPU of an idle run) ÷ those events: what each event adds. Idle runs start, get ready, wait as long as the runs with the workload, and stop, with no workload, in the same rounds; their events are the rest of the machine's.\n")
	fmt.Fprintf(w, "- write(2) floor: after each run, the CPU this harness takes to write as many bytes as the run's output file holds to a new file beside it, in 256 KiB writes, ÷ that run's events: what no encoding can save while every line keeps its fields. marginal − floor is the rest: ring, decoding, resolving, detection, encoding.\n")
}
