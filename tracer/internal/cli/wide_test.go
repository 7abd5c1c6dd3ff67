package cli

import "testing"

// Piped, -o text keeps its whole lines (TestReplayPrintsWhatLiveTracingPrinted);
// -o wide says everything the recording holds: microseconds, ppid, uid,
// each change's from inode, the thread and the container whole.
func TestReplayWide(t *testing.T) {
	path := makeSession(t, "s.jsonl", replayEventsFixture())
	out, stderr, code := nstrace(t, nil, "replay", "--no-alerts", "-o", "wide", path)
	want := `TIME(UTC)           PID    PPID   UID COMM             EVENT   CHANGES
03:38:19.000000     100       1     0 unshare          unshare net+ 4026532500 from 4026531833 uts+ 4026532501 from 4026531838
03:38:20.000000     200       1     0 ip               setns   tid=201 net→ 4026532500 "blue" from 4026531833
03:38:21.000000  LOST 4 records dropped by the kernel (ring buffer full)
03:38:22.000000     300       1 65534 evil\x1b[2J      unshare ✗ EPERM CLONE_NEWUSER
03:38:23.000000     401     400     0 runc:[1:CHILD]   clone   pid+ 4026532600 from 4026531836 in runc abcdef0123456789 "web"
`
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %s\n%s\nwant\n%s", code, stderr, out, want)
	}
}
