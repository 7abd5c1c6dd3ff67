package render

import (
	"bufio"
	"encoding/json"
	"io"
	"os/user"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// WriteNamespaceTable writes namespaces (nstrace ls) as a table in the manner of lsns, with
// nstrace's columns added: the 64-bit id, the owning user namespace, and a
// label saying what the namespace is. Every string a process or a mount
// chose is sanitized.
func WriteNamespaceTable(w io.Writer, ns []inventory.Namespace) error {
	creators := false
	for i := range ns {
		creators = creators || ns[i].Creator != nil
	}
	header := []string{"NS", "TYPE", "NPROCS", "PID", "USER", "NSID", "OWNER", "LABEL", "POD/CONTAINER", "COMMAND"}
	if creators {
		header = append(header, "CREATED BY")
	}
	rows := [][]string{header}
	users := map[uint32]string{}
	for i := range ns {
		n := &ns[i]
		row := []string{Num(uint64(n.Inode)), n.Type.String(), strconv.Itoa(n.Processes), "-", "-",
			Num(n.NsID), Num(uint64(n.Owner)), NamespaceLabel(n), ContainerText(n.Container), holder(n)}
		if n.PID != 0 {
			row[3] = Num(uint64(n.PID))
			row[4] = UserName(users, n.UID)
		}
		if creators {
			row = append(row, creatorText(n.Creator))
		}
		rows = append(rows, row)
	}
	return WriteColumns(w, rows, map[int]bool{0: true, 2: true, 3: true, 5: true, 6: true})
}

// WriteColumns writes rows as space-separated columns padded to their
// widest cell, right-aligned where right says, as lsns lays out its table.
func WriteColumns(w io.Writer, rows [][]string, right map[int]bool) error {
	var width []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	bw := bufio.NewWriter(w)
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			if i > 0 {
				b.WriteByte(' ')
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			if right[i] {
				b.WriteString(pad)
			}
			b.WriteString(cell)
			if !right[i] && i < len(row)-1 {
				b.WriteString(pad)
			}
		}
		// A bufio.Writer keeps its first error and returns it from Flush.
		_, _ = bw.WriteString(b.String())
		_ = bw.WriteByte('\n')
	}
	return bw.Flush()
}

// WriteNamespaceJSON writes one namespace per line (nstrace ls -o json).
func WriteNamespaceJSON(w io.Writer, ns []inventory.Namespace) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range ns {
		if err := enc.Encode(ns[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// NamespaceLabel is the most useful short text about a namespace, sanitized:
// its name in quotes and "(host)", as available. Its container has a
// column of its own (ContainerText).
func NamespaceLabel(n *inventory.Namespace) string {
	var parts []string
	for _, name := range n.Names {
		// Quotes inside are escaped so a name cannot fake a label after it.
		parts = append(parts, string(AppendQuoted(nil, name)))
	}
	if n.Host {
		parts = append(parts, "(host)")
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// ContainerText is the POD/CONTAINER cell: "pod shop/web-7d9f/nginx",
// "ctr webfront", "unit nginx.service", sanitized; "-" for none.
func ContainerText(c *event.Container) string {
	if c == nil {
		return "-"
	}
	return Sanitize(c.Label())
}

// holder says what keeps a namespace alive: its lowest process's comm, or
// for one without processes, its bind mount or an open descriptor.
func holder(n *inventory.Namespace) string {
	switch {
	case n.PID != 0:
		return Sanitize(n.Comm)
	case len(n.Mounts) > 0:
		return "(mount " + Sanitize(n.Mounts[0]) + ")"
	case n.FDs > 0:
		return "(open fd)"
	}
	return "-"
}

func creatorText(c *inventory.Creator) string {
	if c == nil {
		return "-"
	}
	return c.Syscall + " by " + Sanitize(c.Comm) + "[" + strconv.FormatUint(uint64(c.Pid), 10) + "] at " +
		c.Time.UTC().Format("15:04:05.000000")
}

// Num is v in decimal, or "-" for 0 (unknown), as the namespace tables
// show numbers.
func Num(v uint64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatUint(v, 10)
}

// UserName is uid's user name, sanitized, or the number when it has none;
// cache keeps the lookups of one table.
func UserName(cache map[uint32]string, uid uint32) string {
	if name, ok := cache[uid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = Sanitize(u.Username)
	}
	cache[uid] = name
	return name
}
