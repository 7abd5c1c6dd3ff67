package nsbench

import (
	"strings"
	"testing"
)

// Lines as nstrace 2026-11 wrote them (-o json; -w adds the session header
// and trailer) for the setns, clone and fork-unshare workloads, and as
// peer.bt printed them.
const nstraceOutput = `{"event":"session","format":1,"host":"bench","pid":24937}
{"time":"2026-11-29T04:48:55.982846627Z","event":"setns","pid":24957,"tid":24957,"ppid":24937,"comm":"nsbench","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"changes":[{"type":"uts","action":"join","from":4026532250,"to":4026531838,"ns_id":1,"host":true,"owner":4026531837}]}
{"time":"2026-11-29T04:48:55.982849361Z","event":"setns","pid":24957,"tid":24957,"ppid":24937,"comm":"nsbench","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"changes":[{"type":"uts","action":"join","from":4026531838,"to":4026532250,"ns_id":149593}]}
{"time":"2026-11-29T04:48:55.982851001Z","event":"setns","pid":249570,"tid":249570,"ppid":1,"comm":"other","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"changes":[{"type":"uts","action":"join","from":4026531838,"to":4026532250,"ns_id":149593}]}
{"time":"2026-11-29T04:48:55.982852001Z","event":"lost","count":24957}
{"time":"2026-11-29T04:48:55.990360461Z","event":"clone","pid":24967,"tid":24967,"ppid":24962,"comm":"nsbench","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"changes":[{"type":"uts","action":"create","from":4026531838,"to":4026532250,"ns_id":149594}]}
{"time":"2026-11-29T04:52:09.621154892Z","event":"clone","pid":24962,"tid":24962,"ppid":24937,"comm":"nsbench","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"error":"E513"}
{"time":"2026-11-29T04:48:55.990778496Z","event":"clone","pid":24968,"tid":24968,"ppid":24962,"comm":"nsbench","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"changes":[{"type":"uts","action":"create","from":4026531838,"to":4026532250,"ns_id":149595}]}
{"time":"2026-11-29T04:48:55.998895441Z","event":"unshare","pid":24986,"tid":24986,"ppid":24975,"comm":"nsbench","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"changes":[{"type":"uts","action":"create","from":4026531838,"to":4026532250,"ns_id":152337}]}
{"time":"2026-11-29T04:48:55.999124961Z","event":"unshare","pid":24975,"tid":24975,"ppid":24937,"comm":"nsbench","uid":0,"cgroup_id":1,"flags":["CLONE_NEWUTS"],"changes":[{"type":"uts","action":"create","from":4026531838,"to":4026532250,"ns_id":152338}]}
{"event":"end","time":"2026-11-29T04:48:56Z","events":8,"lost":24957}
`

const bpftraceOutput = `Attaching 14 probes...
unshare pid=2673 ppid=2383 ret=0 comm=unshare ns=cgroup:0>0,ipc:0>0,mnt:0>0,net:0>0,pid_for_children:0>0,time_for_children:0>0,user:0>0,uts:4026531838>4026532392,time:0>0
unshare pid=2674 ppid=2383 ret=0 comm=unshare ns=cgroup:0>0,ipc:0>0,mnt:0>0,net:0>0,pid_for_children:0>0,time_for_children:0>0,user:0>0,uts:4026531838>4026532392,time:0>0
clone pid=2681 ppid=2680 ret=0 comm=unshare flags=0 ns=cgroup:4026531835>4026531835,ipc:4026531839>4026531839,mnt:4026531832>4026531832,net:4026531833>4026531833,pid:4026531836>4026532392,pid_for_children:4026532392>4026532392,time:4026531834>4026531834,time_for_children:4026531834>4026531834,user:4026531837>4026531837,uts:4026531838>4026531838
Lost 2383 events
setns pid=2383 ppid=1 ret=-9 comm=sh ns=cgroup:0>0,ipc:0>0,mnt:0>0,net:0>0,pid_for_children:0>0,time_for_children:0>0,user:0>0,uts:4026531838>4026531838,time:0>0
Lost 17 events
`

func TestCountEvents(t *testing.T) {
	tests := []struct {
		name   string
		output string
		parse  lineParser
		kind   string
		pid    int
		want   int64
	}{
		{"setns calls count by the caller's pid, not a pid that starts with the same digits", nstraceOutput, parseNstraceLine, "setns", 24957, 2},
		{"a new task's clone counts for its creator (ppid); a restarted attempt (E513) does not", nstraceOutput, parseNstraceLine, "clone", 24962, 2},
		{"a forked child's unshare counts for the workload (ppid); the workload's own too", nstraceOutput, parseNstraceLine, "unshare", 24975, 2},
		{"any kind counts when the workload expects none", nstraceOutput, parseNstraceLine, "", 24937, 3},
		{"a loss marker, header or trailer is no event", nstraceOutput, parseNstraceLine, "", 24957, 2},
		{"an unrelated process counts nothing", nstraceOutput, parseNstraceLine, "", 4242, 0},
		{"peer lines count by pid", bpftraceOutput, parseBpftraceLine, "unshare", 2673, 1},
		{"peer clone lines count for the creator", bpftraceOutput, parseBpftraceLine, "clone", 2680, 1},
		{"peer failed calls and Lost lines are not counted", bpftraceOutput, parseBpftraceLine, "", 2383, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := countEvents(strings.NewReader(tt.output), tt.parse, tt.kind, tt.pid)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("countEvents(kind %q, pid %d) = %d, want %d", tt.kind, tt.pid, got, tt.want)
			}
		})
	}
}

func TestParseSummary(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   summary
		ok     bool
	}{
		{"the plain summary after Ctrl-C",
			"nstrace: tracing started; hooks tracepoint: unshare setns clone exec; tp_btf: fork\nnstrace: 5462425 events, 601062 lost\n",
			summary{Events: 5462425, Lost: 601062}, true},
		{"a filtered run's summary",
			"nstrace: 12 events (30 filtered out), 0 lost\nnstrace: session saved to /tmp/s.jsonl\n",
			summary{Events: 12, Filtered: 30, Lost: 0}, true},
		{"the last summary counts",
			"nstrace: 1 events, 0 lost\nnstrace: 7 events, 2 lost\n",
			summary{Events: 7, Lost: 2}, true},
		{"a flooded run's summary, losses explained",
			"nstrace: 6379 events, 1046 past their share counted in flood records, 3 lost (3 at shutdown)\n",
			summary{Events: 6379, Flooded: 1046, Lost: 3}, true},
		{"no summary when nstrace was killed",
			"nstrace: tracing started; hooks tracepoint: unshare\n",
			summary{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseSummary(tt.stderr)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseSummary = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCountBpftraceLostAddsEveryLostLine(t *testing.T) {
	got, err := countBpftraceLost(strings.NewReader(bpftraceOutput))
	if err != nil {
		t.Fatal(err)
	}
	if got != 2400 {
		t.Errorf("lost = %d, want 2400", got)
	}
}

func TestListsWriteFlag(t *testing.T) {
	before := `Flags:
  -h, --help                help for trace
      --hooks string        hook set: auto or tracepoint (default "auto")
  -o, --output string       output format: text or json (default "text")
      --ready-file string   create this file once every probe is attached
`
	after := before + `  -w, --write string         record the session to this file (.gz, .zst: compressed; -: standard output)
`
	if listsWriteFlag(before) {
		t.Error("help without -w: listsWriteFlag = true")
	}
	if !listsWriteFlag(after) {
		t.Error("help with -w, --write: listsWriteFlag = false")
	}
}

func TestPeerScriptAttachPointsAreCounted(t *testing.T) {
	// 13 tracepoints; END needs no attachment (bpftrace announces 14).
	if got := attachPoints(peerScript); got != 13 {
		t.Errorf("attachPoints(peer.bt) = %d, want 13", got)
	}
}
