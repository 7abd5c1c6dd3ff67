package procfs

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
)

// Mount is one line of /proc/PID/mountinfo, with its paths unescaped.
type Mount struct {
	ID     int
	Parent int
	Root   string // for nsfs: the namespace, e.g. "net:[4026532177]"
	Point  string
	FSType string
	Source string
	// The filesystem's own options, e.g. "rw,memory" for the cgroup v1
	// hierarchy of the memory controller.
	Options string
}

// ParseMountinfo reads /proc/PID/mountinfo. Lines that do not parse are
// skipped: the format only grows optional fields, and one odd line must not
// hide the rest.
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var mounts []Mount
	for sc.Scan() {
		if m, ok := ParseMountLine(sc.Text()); ok {
			mounts = append(mounts, m)
		}
	}
	return mounts, sc.Err()
}

// ReadMountinfo reads a mountinfo file, such as /proc/self/mountinfo.
func ReadMountinfo(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// ParseMountLine parses one line of mountinfo:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
//
// where paths escape space, tab, newline and backslash as \ooo; any other
// byte, control characters included, appears raw.
func ParseMountLine(line string) (Mount, bool) {
	f := strings.Split(line, " ")
	if len(f) < 10 {
		return Mount{}, false
	}
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+2 >= len(f) {
		return Mount{}, false
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return Mount{}, false
	}
	m := Mount{ID: id, Parent: parent, Root: unescapeOctal(f[3]), Point: unescapeOctal(f[4]),
		FSType: unescapeOctal(f[sep+1]), Source: unescapeOctal(f[sep+2])}
	if sep+3 < len(f) {
		m.Options = unescapeOctal(f[sep+3])
	}
	return m, true
}

// unescapeOctal undoes the kernel's mangle(): \ooo becomes the byte ooo.
func unescapeOctal(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// NsfsMount is a namespace kept by a bind mount of its nsfs file.
type NsfsMount struct {
	Type  event.NsType
	Inode uint32
	Point string
}

// NsfsMounts picks the nsfs mounts out of a mount table.
func NsfsMounts(mounts []Mount) []NsfsMount {
	var out []NsfsMount
	for _, m := range mounts {
		if m.FSType != "nsfs" {
			continue
		}
		if t, ino, ok := ParseNsLink(m.Root); ok {
			out = append(out, NsfsMount{Type: t, Inode: ino, Point: m.Point})
		}
	}
	return out
}
