package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

// lsRow is one line of `nstrace ls`: a namespace, and in a tree, the
// branches drawn before it.
type lsRow struct {
	ns     *inventory.Namespace
	branch string
}

// writeLsTable writes rows in the manner of lsns: the COMMAND column is the
// member process's command line as lsns shows it (its comm when it has
// none, as kernel threads), and for a namespace no process is in, what
// holds it: a bind mount, or the process holding it open.
func writeLsTable(w io.Writer, rows []lsRow, proc string) error {
	var fdHolders map[inventory.Key]uint32
	header := []string{"NS", "TYPE", "NPROCS", "PID", "USER", "NSID", "OWNER", "LABEL", "POD/CONTAINER", "COMMAND"}
	cells := [][]string{header}
	users := map[uint32]string{}
	for _, r := range rows {
		n := r.ns
		row := []string{r.branch + render.Num(uint64(n.Inode)), n.Type.String(), strconv.Itoa(n.Processes), "-", "-",
			render.Num(n.NsID), render.Num(uint64(n.Owner)), render.NamespaceLabel(n), render.ContainerText(n.Container), "-"}
		switch {
		case n.PID != 0:
			row[3], row[4] = render.Num(uint64(n.PID)), render.UserName(users, n.UID)
			row[9] = commandLine(proc, n.PID, n.Comm)
		case len(n.Mounts) > 0:
			row[9] = "(mount " + render.Sanitize(n.Mounts[0]) + ")"
		case n.FDs > 0:
			if fdHolders == nil {
				fdHolders = openedBy(proc)
			}
			row[9] = "(open fd)"
			if pid := fdHolders[inventory.KeyOf(n.Type, n.Inode)]; pid != 0 {
				row[9] = "(open fd of " + strconv.FormatUint(uint64(pid), 10) + " " + commandLine(proc, pid, "") + ")"
			}
		}
		cells = append(cells, row)
	}
	// NS is right-aligned as lsns does, but left in a tree.
	return render.WriteColumns(w, cells, map[int]bool{0: !hasBranches(rows), 2: true, 3: true, 5: true, 6: true})
}

func hasBranches(rows []lsRow) bool {
	for _, r := range rows {
		if r.branch != "" {
			return true
		}
	}
	return false
}

// commandLine is /proc/PID/cmdline with its arguments joined by spaces, as
// lsns prints it, sanitized; comm when it is empty.
func commandLine(proc string, pid uint32, comm string) string {
	b, err := os.ReadFile(filepath.Join(proc, strconv.FormatUint(uint64(pid), 10), "cmdline"))
	b = bytes.TrimRight(b, "\x00")
	if err != nil || len(b) == 0 {
		if comm == "" {
			return "-"
		}
		return render.Sanitize(comm)
	}
	return render.Sanitize(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// openedBy finds, for each namespace some process holds open, the lowest
// such pid.
func openedBy(proc string) map[inventory.Key]uint32 {
	holders := map[inventory.Key]uint32{}
	dirs, _ := os.ReadDir(proc)
	for _, d := range dirs {
		pid, err := strconv.ParseUint(d.Name(), 10, 32)
		if err != nil {
			continue
		}
		fdDir := filepath.Join(proc, d.Name(), "fd")
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			if t, ino, ok := procfs.ParseNsLink(target); ok {
				k := inventory.KeyOf(t, ino)
				if h := holders[k]; h == 0 || uint32(pid) < h {
					holders[k] = uint32(pid)
				}
			}
		}
	}
	return holders
}

// pidNamespaces are the namespaces /proc/PID/ns names (lsns -p).
func pidNamespaces(proc string, pid uint32) (map[inventory.Key]bool, error) {
	dir := filepath.Join(proc, strconv.FormatUint(uint64(pid), 10), "ns")
	links, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("ls -p %d: no such process", pid)
		}
		return nil, fmt.Errorf("ls -p %d: %w", pid, err)
	}
	keys := map[inventory.Key]bool{}
	for _, l := range links {
		target, err := os.Readlink(filepath.Join(dir, l.Name()))
		if err != nil {
			continue
		}
		if t, ino, ok := procfs.ParseNsLink(target); ok {
			keys[inventory.KeyOf(t, ino)] = true
		}
	}
	return keys, nil
}
