package deploy

import (
	"archive/tar"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// makeImage runs `make image` at the top of the repository with vars.
func makeImage(t *testing.T, vars ...string) {
	t.Helper()
	testenv.RequireKernel(t) // docker and buildah need root
	out, err := exec.Command("make", append([]string{"--no-print-directory", "-C", "../../../..", "image"}, vars...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// With a docker daemon, make image builds into it: an image of the static
// binary alone, which runs.
func TestMakeImageIntoDocker(t *testing.T) {
	d := testenv.StartDocker(t)
	makeImage(t, "DOCKER=/usr/bin/docker", "DOCKER_HOST=unix://"+d.Socket, "IMAGE=nstrace:docker-test")
	if got := d.CLI(t, "image", "inspect", "-f", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}", "nstrace:docker-test"); got != `["/nstrace"] ["trace"]` {
		t.Errorf("entrypoint and cmd %s", got)
	}
	// No shell, no libc: only a static binary runs in it.
	if got := d.CLI(t, "run", "--rm", "--network", "none", "nstrace:docker-test", "--version"); !strings.HasPrefix(got, "nstrace ") || !strings.Contains(got, " (go") {
		t.Errorf("nstrace --version in the image: %q", got)
	}
}

// ociImage is what these tests read of an OCI image layout.
type ociImage struct {
	entrypoint, cmd []string
	files           map[string][]byte // the layers' regular files, by path
}

// readOCIArchive reads the one image of an OCI archive.
func readOCIArchive(t *testing.T, path string) ociImage {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", path, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("untar %s: %v: %s", path, err, out)
	}
	blob := func(digest string, v any) []byte {
		data, err := os.ReadFile(filepath.Join(dir, "blobs", strings.Replace(digest, ":", "/", 1)))
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			if err := json.Unmarshal(data, v); err != nil {
				t.Fatalf("%s: %v", digest, err)
			}
		}
		return data
	}
	type desc struct {
		MediaType, Digest string
	}
	var index struct{ Manifests []desc }
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v, %d manifests", err, len(index.Manifests))
	}
	var manifest struct {
		Config desc
		Layers []desc
	}
	blob(index.Manifests[0].Digest, &manifest)
	var config struct {
		Config struct{ Entrypoint, Cmd []string }
	}
	blob(manifest.Config.Digest, &config)
	img := ociImage{entrypoint: config.Config.Entrypoint, cmd: config.Config.Cmd, files: map[string][]byte{}}
	for _, l := range manifest.Layers {
		var r io.Reader = strings.NewReader(string(blob(l.Digest, nil)))
		if strings.HasSuffix(l.MediaType, "+gzip") {
			if r, err = gzip.NewReader(r); err != nil {
				t.Fatal(err)
			}
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", l.Digest, err)
			}
			if h.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				img.files[strings.TrimPrefix(h.Name, "./")] = b
			}
		}
	}
	return img
}

// buildArchive runs make image without a docker daemon: buildah writes an
// OCI archive, returned by path.
func buildArchive(t *testing.T, image string) string {
	t.Helper()
	testenv.RequireTool(t, "buildah")
	archive := filepath.Join(t.TempDir(), "nstrace-image.tar")
	makeImage(t, "DOCKER=false", "IMAGE="+image, "IMAGE_ARCHIVE="+archive)
	return archive
}

// Without docker, make image writes an OCI archive holding exactly the
// static binary and the CA certificates.
func TestMakeImageWithoutDockerWritesAnOCIArchive(t *testing.T) {
	img := readOCIArchive(t, buildArchive(t, "nstrace:archive-test"))
	if !slices.Equal(img.entrypoint, []string{"/nstrace"}) || !slices.Equal(img.cmd, []string{"trace"}) {
		t.Errorf("entrypoint %q, cmd %q", img.entrypoint, img.cmd)
	}
	var paths []string
	for p := range img.files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	if want := []string{"etc/ssl/certs/ca-certificates.crt", "nstrace"}; !slices.Equal(paths, want) {
		t.Fatalf("files %q, want %q", paths, want)
	}
	f, err := elf.NewFile(strings.NewReader(string(img.files["nstrace"])))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("nstrace is not static: it has a %v header", p.Type)
		}
	}
}
