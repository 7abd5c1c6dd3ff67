package cli

import (
	"strings"
	"testing"
)

// The shell asks `nstrace __complete ARGS... PARTIAL` and reads one value a
// line, then `:DIRECTIVE` (cobra's protocol): flag values complete, with
// what a list flag has already dropped from the offer.
func TestFlagValuesComplete(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", ""}, "cgroup ipc mnt net pid pid_for_children time time_for_children user uts :6"},
		{[]string{"trace", "--type", "net,u"}, "net,user net,uts :6"},
		{[]string{"--type", "net,uts,"}, "net,uts,cgroup net,uts,ipc net,uts,mnt net,uts,pid net,uts,pid_for_children net,uts,time net,uts,time_for_children net,uts,user :6"},
		{[]string{"replay", "--event", "s"}, "setns :6"},
		{[]string{"report", "--event", ""}, "clone unshare setns exec :6"},
		{[]string{"--hooks", ""}, "auto tracepoint fentry :4"},
		{[]string{"-o", ""}, "text wide json :4"},
		{[]string{"replay", "--output", "w"}, "wide :4"},
		{[]string{"ls", "-o", ""}, "text json :4"},
		{[]string{"ls", "--type", "c"}, "cgroup :6"},
		{[]string{"report", "-o", ""}, "html :4"},
		{[]string{"--rules", ""}, "yaml yml :8"},
		{[]string{"rep"}, "replay report :4"},
	} {
		stdout, _, code := nstrace(t, nil, append([]string{"__completeNoDesc"}, tc.args...)...)
		if got := strings.Join(strings.Fields(stdout), " "); code != 0 || got != tc.want {
			t.Errorf("%q: exit %d, %q, want %q", tc.args, code, got, tc.want)
		}
	}
}
