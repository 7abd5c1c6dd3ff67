package main

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func TestParseDepends(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		release string
		ok      bool
	}{
		{"the kernel linux-image-amd64 depends on is found", "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", "6.1.0-56-amd64", true},
		{"an alternative dependency is found", "linux-image-amd64\n |Depends: linux-image-6.1.0-50-amd64\n", "6.1.0-50-amd64", true},
		{"other dependencies are skipped", "linux-image-amd64\n  Depends: initramfs-tools\n  Depends: linux-image-6.12.9-amd64\n  Recommends: firmware-linux\n", "6.12.9-amd64", true},
		{"a virtual package is not a kernel", "linux-image-amd64\n  Depends: <linux-image-6.1.0-56-amd64>\n", "", false},
		{"a non-amd64 kernel is skipped", "linux-image-amd64\n  Depends: linux-image-6.1.0-56-cloud-arm64\n", "", false},
		{"a kernel only recommended is not taken", "linux-image-amd64\n  Recommends: linux-image-6.1.0-56-amd64\n", "", false},
		{"empty output names no kernel", "", "", false},
		{"an arm64 kernel is not an amd64 one", "linux-image-arm64\n  Depends: linux-image-6.1.0-57-arm64\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release, ok := parseDepends(tt.out, "amd64")
			if release != tt.release || ok != tt.ok {
				t.Errorf("parseDepends = %q, %v; want %q, %v", release, ok, tt.release, tt.ok)
			}
		})
	}
}

func TestCopyMembersExtractsOnlyWhatIsWanted(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, data string }{
		{"./boot/System.map-6.1.0-56-amd64", "map"},
		{"./boot/config-6.1.0-56-amd64", "CONFIG_KPROBES=y\n"},
		{"./boot/vmlinuz-6.1.0-56-amd64", "bzImage bytes"},
		{"./lib/modules/6.1.0-56-amd64/kernel/x.ko", "module"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()

	dir := t.TempDir()
	want := map[string]string{
		"./boot/vmlinuz-6.1.0-56-amd64": filepath.Join(dir, "vmlinuz"),
		"./boot/config-6.1.0-56-amd64":  filepath.Join(dir, "config"),
	}
	found, err := copyMembers(&buf, want)
	if err != nil || found != 2 {
		t.Fatalf("copyMembers = %d, %v; want 2, nil", found, err)
	}
	for file, data := range map[string]string{"vmlinuz": "bzImage bytes", "config": "CONFIG_KPROBES=y\n"} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || string(got) != data {
			t.Errorf("%s = %q, %v; want %q", file, got, err, data)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("extracted %d files, want 2", len(entries))
	}
}

func TestCopyMembersCountsMissingFiles(t *testing.T) {
	var buf bytes.Buffer
	tar.NewWriter(&buf).Close()
	found, err := copyMembers(&buf, map[string]string{"./boot/vmlinuz-x": filepath.Join(t.TempDir(), "v")})
	if err != nil || found != 0 {
		t.Errorf("copyMembers of an empty archive = %d, %v; want 0, nil", found, err)
	}
}

// note encodes one ELF note as it sits in a PT_NOTE segment.
func note(owner string, typ uint32, desc []byte) []byte {
	pad := func(b []byte) []byte { return append(b, make([]byte, (4-len(b)%4)%4)...) }
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(len(owner)+1))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = append(b, pad(append([]byte(owner), 0))...)
	return append(b, pad(desc)...)
}

func TestFindNote(t *testing.T) {
	entry := []byte{0x00, 0x10, 0x00, 0x01}
	concat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	tests := []struct {
		name  string
		notes []byte
		want  bool
	}{
		{"the PVH entry note is found", note("Xen", 18, entry), true},
		{"it is found after other notes", concat(note("GNU", 3, make([]byte, 20)), note("Linux", 6, []byte("6.1")), note("Xen", 18, entry)), true},
		{"another Xen note is not it", note("Xen", 5, []byte("linux")), false},
		{"type 18 of another owner is not it", note("GNU", 18, entry), false},
		{"a truncated note is not it", note("Xen", 18, entry)[:14], false},
		{"a note claiming a huge name is not it", concat([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 18, 0, 0, 0}, []byte("Xen\x00")), false},
		{"no notes, no entry", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findNote(tt.notes, "Xen", xenElfnotePhys32Entry); got != tt.want {
				t.Errorf("findNote = %v, want %v", got, tt.want)
			}
		})
	}
}
