package nsbench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sealGoal bounds what a sealing key adds to the recorder's CPU per
// record: `-w` with a key against `-w` without one (the sealing issue's).
const sealGoal = 0.05

// sealRow is the recorder run one way under the setns churn, every round.
type sealRow struct {
	Name    string    `json:"name"`
	Title   string    `json:"title"`
	NsPer   []float64 `json:"cpu_ns_per_record"` // one a round
	Records int64     `json:"records"`           // over every round
	Median  float64   `json:"median_cpu_ns_per_record"`
}

// sealRecorders are the three ways to record: no seals, the hash chain
// alone (the default), and the chain with forward-secure MACs.
func sealRecorders(keyFile string) []struct {
	name, title string
	args        []string
} {
	return []struct {
		name, title string
		args        []string
	}{
		{"no-seal", "-w --seal=false (no chain)", []string{"--seal=false"}},
		{"chain", "-w (hash chain, no key)", nil},
		{"keyed", "-w --seal-key-file (chain + MACs)", []string{"--seal-key-file", keyFile}},
	}
}

// measureSealCost runs the setns churn under `nstrace trace -q -w` each way,
// alternating round by round, and divides the recorder's CPU time from
// ready to exit (user + system, every thread, from its rusage) by the
// records its summary counted.
func measureSealCost(o *options) ([]*sealRow, error) {
	w, ok := findWorkload("setns")
	if !ok {
		return nil, errors.New("no setns workload")
	}
	keyFile := filepath.Join(o.dir, "seal.key")
	if out, err := exec.Command(o.nstrace, "verify", "--new-key", keyFile).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nstrace verify --new-key: %w: %s", err, out)
	}
	ways := sealRecorders(keyFile)
	rows := make([]*sealRow, len(ways))
	for i, r := range ways {
		rows[i] = &sealRow{Name: r.name, Title: r.title}
	}
	for round := range o.rounds {
		var progress []string
		for _, i := range order(len(ways), round) {
			t := recorderTracer(o.nstrace, ways[i].name, ways[i].args)
			ns, records, err := recordOnce(o, w, t)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", ways[i].title, round+1, err)
			}
			rows[i].NsPer = append(rows[i].NsPer, ns)
			rows[i].Records += records
			progress = append(progress, fmt.Sprintf("%s %.0f ns/record", ways[i].name, ns))
		}
		fmt.Fprintf(os.Stderr, "nsbench: sealing %d/%d: %s\n", round+1, o.rounds, strings.Join(progress, ", "))
	}
	for _, r := range rows {
		r.Median = median(r.NsPer)
	}
	return rows, nil
}

// recorderTracer is nstrace's -w column with extra flags.
func recorderTracer(bin, name string, extra []string) tracer {
	t := tracer{Name: "seal-" + name, nstrace: true, recorder: true}
	t.start = func(dir string) (*session, error) {
		ready := filepath.Join(dir, t.Name+".ready")
		events := filepath.Join(dir, t.Name+".jsonl")
		for _, p := range []string{ready, events} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return nil, err
			}
		}
		args := append([]string{"trace", "--ready-file", ready, "-q", "-w", events}, extra...)
		return startSession(exec.Command(bin, args...), events, fileExists(ready))
	}
	return t
}

// recordOnce runs the workload once under t and returns the recorder's CPU
// ns per record and the records.
func recordOnce(o *options, w workload, t tracer) (float64, int64, error) {
	s, err := t.start(o.dir)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(s.events)
	ch, err := startChild(o.self, w, o.sealTime, o.cpu)
	if err != nil {
		s.kill()
		return 0, 0, err
	}
	_, werr := ch.wait()
	if err := errors.Join(werr, s.stop()); err != nil {
		return 0, 0, err
	}
	sum, ok := parseSummary(s.stderr.String())
	if !ok || sum.Events == 0 {
		return 0, 0, fmt.Errorf("nstrace printed no summary with events: %q", s.stderr.String())
	}
	return float64(s.cpuSinceReady().Nanoseconds()) / float64(sum.Events), sum.Events, nil
}

func (res *results) writeSeals(w io.Writer) {
	if len(res.Seals) != 3 {
		return
	}
	none, chain, keyed := res.Seals[0].Median, res.Seals[1].Median, res.Seals[2].Median
	fmt.Fprintf(w, "\nThe recorder's CPU per record under setns churn, by sealing (CPU time from ready to exit ÷ the records its summary counted, median of the rounds; goal: a key adds ≤ %.0f %%):\n\n", 100*sealGoal)
	t := [][]string{{"recorder", "records", "CPU ns/record (± half range)", "vs no chain", "vs chain without key"}}
	for i, r := range res.Seals {
		vsNone, vsChain := fmt.Sprintf("%+.1f %%", 100*(r.Median/none-1)), ""
		switch i {
		case 0:
			vsNone = ""
		case 2:
			vsChain = fmt.Sprintf("%+.1f %% %s", 100*(keyed/chain-1), pass(keyed <= chain*(1+sealGoal)))
		}
		t = append(t, []string{r.Title, fmtInt(float64(r.Records)), fmt.Sprintf("%.0f (±%.0f %%)", r.Median, 100*spread(r.NsPer)),
			vsNone, vsChain})
	}
	writeMarkdown(w, t)
}
