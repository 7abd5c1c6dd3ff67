package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/cmd/vmtest/internal/guest"
)

func testInitramfs() initramfs {
	return initramfs{
		init:    "/host/init",
		busybox: "/bin/busybox",
		test:    "/tmp/x/tracer.test",
		args:    []string{"-test.v"},
		env:     []string{"NSTRACE_VM=1"},
		files:   []guestFile{{"/host/nstrace", "/usr/local/bin/nstrace"}, {"/host/ip", "/bin/ip"}},
		libs:    []guestFile{{"/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"}, {"/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2"}},
	}
}

func TestLayout(t *testing.T) {
	items, err := testInitramfs().layout([]string{"sh", "ip", "unshare"})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]item{
		"/init":                           {host: "/host/init", mode: 0o755},
		"/vmtest/tracer.test":             {host: "/tmp/x/tracer.test", mode: 0o755},
		"/bin/busybox":                    {host: "/bin/busybox", mode: 0o755},
		"/bin/sh":                         {link: "busybox"},
		"/bin/unshare":                    {link: "busybox"},
		"/bin/ip":                         {host: "/host/ip"}, // the caller's file wins over the applet
		"/usr/local/bin/nstrace":          {host: "/host/nstrace"},
		"/lib64/ld-linux-x86-64.so.2":     {host: "/lib64/ld-linux-x86-64.so.2"},
		"/lib/x86_64-linux-gnu/libc.so.6": {host: "/lib/x86_64-linux-gnu/libc.so.6"},
		"/lib/x86_64-linux-gnu":           {dir: true, mode: 0o755},
		"/usr/local":                      {dir: true, mode: 0o755},
		"/dev":                            {dir: true, mode: 0o755},
		"/dev/console":                    {console: true, mode: 0o600},
		"/proc":                           {dir: true, mode: 0o755},
		"/sys":                            {dir: true, mode: 0o755},
		"/tmp":                            {dir: true, mode: 0o755},
	} {
		if got, ok := items[p]; !ok || got != want {
			t.Errorf("%s = %+v (present %v), want %+v", p, got, ok, want)
		}
	}

	var cfg guest.Config
	if err := json.Unmarshal([]byte(items[guest.ConfigPath].data), &cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	if !slices.Equal(cfg.Args, []string{"/vmtest/tracer.test", "-test.v"}) || !slices.Equal(cfg.Env, []string{"NSTRACE_VM=1"}) || cfg.Dir != "/tmp" {
		t.Errorf("config = %+v", cfg)
	}
}

func TestLayoutRefusesClashes(t *testing.T) {
	tests := []struct {
		name  string
		files []guestFile
		want  string
	}{
		{"a file over the init is refused", []guestFile{{"/h/x", "/init"}}, "already in the guest"},
		{"a file under a file is refused", []guestFile{{"/h/x", "/init/x"}}, "is a file but"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testInitramfs()
			r.files = tt.files
			_, err := r.layout(nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("layout = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteArchivePutsDirectoriesFirst(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := writeArchive(&buf, map[string]item{
		"/usr/local/bin/script": {host: script},
		"/usr/local/bin":        {dir: true, mode: 0o755},
		"/usr/local":            {dir: true, mode: 0o755},
		"/usr":                  {dir: true, mode: 0o755},
		"/usr-share":            {data: "x", mode: 0o644},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := buf.String()
	last := -1
	for _, name := range []string{"usr\x00", "usr-share\x00", "usr/local\x00", "usr/local/bin\x00", "usr/local/bin/script\x00", "TRAILER!!!\x00"} {
		i := strings.Index(b, name)
		if i <= last {
			t.Fatalf("%q at %d, not after the previous name at %d", name, i, last)
		}
		last = i
	}
	if !strings.Contains(b, "echo hi") {
		t.Error("the script's contents are missing")
	}
}

// A -dir tree keeps its symbolic links: a fake /proc is made of them.
func TestAddTreeKeepsLinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "proc/1/ns"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nsfacts"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("net:[4026531833]", filepath.Join(dir, "proc/1/ns/net")); err != nil {
		t.Fatal(err)
	}
	items := map[string]item{}
	if err := addTree(items, guestFile{host: dir, guest: "/src/testdata"}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]item{
		"/src/testdata":               {dir: true, mode: 0o755},
		"/src/testdata/nsfacts":       {host: filepath.Join(dir, "nsfacts")},
		"/src/testdata/proc/1/ns":     {dir: true, mode: 0o755},
		"/src/testdata/proc/1/ns/net": {link: "net:[4026531833]"},
	} {
		if got := items[p]; got != want {
			t.Errorf("%s = %+v, want %+v", p, got, want)
		}
	}
	if len(items) != 6 {
		t.Errorf("%d items, want 6: %v", len(items), items)
	}
}
