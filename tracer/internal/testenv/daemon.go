package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemon is a runtime daemon a test started: its process, its log and the
// socket it serves.
type daemon struct {
	name   string
	cmd    *exec.Cmd
	log    string
	socket string
	exited chan struct{} // closed when the process has been reaped
}

// shortDir is a fresh directory with a short path: unix socket paths are
// limited to 107 bytes, and runtimes put sockets deep below their state
// directories. It is removed after the test.
func shortDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("remove %s: %v", dir, err)
		}
	})
	return dir
}

// startDaemon runs argv with its output in dir/NAME.log and stops it after
// the test (SIGTERM, then SIGKILL after a bound).
func startDaemon(t testing.TB, dir, name, socket string, env []string, argv ...string) *daemon {
	t.Helper()
	d := &daemon{name: name, log: filepath.Join(dir, name+".log"), socket: socket, exited: make(chan struct{})}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Env = append(os.Environ(), env...)
	// Its own process group: a test's signals to it reach nothing else.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = d.cmd.Wait() // how it ended is in its log
		logf.Close()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop(t) })
	return d
}

// Pid is the daemon's process id.
func (d *daemon) Pid() int { return d.cmd.Process.Pid }

// Pause stops the daemon with SIGSTOP: it keeps its socket but answers
// nothing, like a hung runtime. Resume undoes it.
func (d *daemon) Pause() error { return d.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused daemon.
func (d *daemon) Resume() error { return d.cmd.Process.Signal(syscall.SIGCONT) }

// Kill ends the daemon and what it started in its process group (dockerd's
// containerd) with SIGKILL, and waits until it is reaped: a runtime that
// crashes mid-run, leaving its socket file behind. Remove its containers
// first: nothing is left to remove them after.
func (d *daemon) Kill() {
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL) // fails only once all have exited
	<-d.exited
	unmountUnder(filepath.Dir(d.log))
}

// unmountUnder detaches the mounts a killed daemon left below dir (dockerd
// bind-mounts its storage root), deepest first, so that dir can be removed.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH) // one below another may be gone with it
	}
}

// Stop ends the daemon now, as a runtime that goes away mid-run.
func (d *daemon) Stop(t testing.TB) { d.stop(t) }

// stop ends the daemon: SIGTERM, then SIGKILL if it has not exited in 20 s.
func (d *daemon) stop(t testing.TB) {
	select {
	case <-d.exited:
		return
	default:
	}
	// Signals fail only once it has exited, which the select sees.
	_ = d.cmd.Process.Signal(syscall.SIGCONT)
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		t.Logf("%s did not stop in 20 s; killing it", d.name)
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// waitReady polls ready until it returns nil, failing the test if the
// daemon exits or 60 s pass; the daemon's log is shown on failure.
func (d *daemon) waitReady(t testing.TB, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
	for {
		if err = ready(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-d.exited:
			t.Fatalf("%s exited before answering: %s", d.name, d.tail())
		case <-tick.C:
		}
	}
	t.Fatalf("%s did not answer in 60 s: %v: %s", d.name, err, d.tail())
}

// tail is the end of the daemon's log.
func (d *daemon) tail() string {
	data, _ := os.ReadFile(d.log)
	s := string(data)
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return strings.TrimSpace(s)
}

// pingHTTP asks a Docker Engine API socket for /_ping.
func pingHTTP(socket string) error {
	client := http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	resp, err := client.Get("http://d/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// run runs a command, failing the test with its output if it fails, and
// returns its standard output without surrounding space.
func run(t testing.TB, stdin []byte, argv ...string) string {
	t.Helper()
	return runEnv(t, nil, stdin, argv...)
}

// runEnv is run with variables added to the environment.
func runEnv(t testing.TB, env []string, stdin []byte, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s%s", strings.Join(argv, " "), err, out, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// command runs a command and returns its standard output without
// surrounding space.
func command(argv ...string) (string, error) {
	return commandEnv(nil, argv...)
}

// commandEnv is command with variables added to the environment.
func commandEnv(env []string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}
