package container

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestClassifyCgroup(t *testing.T) {
	id := fakeID("x")
	uid := "1c7f3a52-9a0e-4d7b-8c1a-2b3c4d5e6f70"
	static := "5b3c1e2f9a8d7c6b5a4f3e2d1c0b9a88"
	tests := []struct {
		name, path string
		want       *event.Container
	}{
		{"docker with the systemd driver", "/system.slice/docker-" + id + ".scope", &event.Container{ID: id, Runtime: "docker"}},
		{"docker with cgroupfs", "/docker/" + id, &event.Container{ID: id, Runtime: "docker"}},
		{"systemd inside a docker container is still the container", "/docker/" + id + "/init.scope", &event.Container{ID: id, Runtime: "docker"}},
		{"containerd in a pod, cgroupfs driver", "/kubepods/besteffort/pod" + uid + "/" + id, &event.Container{ID: id, Runtime: "containerd"}},
		{"containerd in a static pod", "/kubepods/burstable/pod" + static + "/" + id, &event.Container{ID: id, Runtime: "containerd"}},
		{"containerd in a pod, systemd driver", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1c7f3a52_9a0e_4d7b_8c1a_2b3c4d5e6f70.slice/cri-containerd-" + id + ".scope", &event.Container{ID: id, Runtime: "containerd"}},
		{"cri-o", "/kubepods.slice/kubepods-pod1c7f3a52_9a0e_4d7b_8c1a_2b3c4d5e6f70.slice/crio-" + id + ".scope", &event.Container{ID: id, Runtime: "cri-o"}},
		{"cri-o's conmon belongs to the pod, not the container", "/kubepods/pod" + uid + "/crio-conmon-" + id, &event.Container{ID: uid, Runtime: "kubernetes"}},
		{"podman", "/machine.slice/libpod-" + id + ".scope/container", &event.Container{ID: id, Runtime: "podman"}},
		{"podman's conmon is no container", "/machine.slice/libpod-conmon-" + id + ".scope", nil},
		{"podman with cgroupfs", "/libpod_parent/libpod-" + id, &event.Container{ID: id, Runtime: "podman"}},
		{"a bare 64-hex leaf is an OCI container", "/" + id, &event.Container{ID: id, Runtime: "oci"}},
		{"runc with the systemd driver keeps any id", "/system.slice/runc-web.scope", &event.Container{ID: "web", Runtime: "runc"}},
		{"crun with the systemd driver", "/machine.slice/crun-db1.scope", &event.Container{ID: "db1", Runtime: "crun"}},
		{"an nspawn machine, unescaped", `/machine.slice/machine-my\x2dbox.scope/payload`, &event.Container{ID: "my-box", Runtime: "nspawn", Name: "my-box"}},
		{"a libvirt machine", `/machine.slice/machine-qemu\x2d1\x2dvm.scope`, &event.Container{ID: "qemu-1-vm", Runtime: "libvirt", Name: "qemu-1-vm"}},
		{"a system service", "/system.slice/nginx.service", &event.Container{Runtime: "systemd", Name: "nginx.service"}},
		{"the innermost service of a user manager", "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", &event.Container{Runtime: "systemd", Name: "foo.service"}},
		{"a login session is nothing", "/user.slice/user-1000.slice/session-3.scope", nil},
		{"a short id is not a container", "/system.slice/docker-abc.scope", nil},
		{"the root is nothing", "/", nil},
		{"an empty path is nothing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Classify(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

func TestContainerLabel(t *testing.T) {
	id := fakeID("x")
	tests := []struct {
		c    *event.Container
		want string
	}{
		{nil, ""},
		{&event.Container{ID: id, Runtime: "docker"}, "ctr " + id[:12] + "…"},
		{&event.Container{ID: "web", Runtime: "runc"}, "ctr web"},
		{&event.Container{ID: "1c7f3a52-9a0e-4d7b", Runtime: "kubernetes"}, "pod 1c7f3a52-9a0…"},
		{&event.Container{Runtime: "systemd", Name: "nginx.service"}, "unit nginx.service"},
		{&event.Container{ID: "my-box", Runtime: "nspawn", Name: "my-box"}, "machine my-box"},
	}
	for _, tt := range tests {
		if got := tt.c.Label(); got != tt.want {
			t.Errorf("Label(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestConsensus(t *testing.T) {
	a := Class{Container: &event.Container{ID: "a", Runtime: "containerd"}, Pod: "p1"}
	b := Class{Container: &event.Container{ID: "b", Runtime: "containerd"}, Pod: "p1"}
	c := Class{Container: &event.Container{ID: "c", Runtime: "docker"}}
	tests := []struct {
		name    string
		members []Class
		want    *event.Container
	}{
		{"no member in a container gives none", []Class{{}, {}}, nil},
		{"one container, and a host shell that entered, gives the container", []Class{a, {}, a}, a.Container},
		{"two containers of one pod give the pod", []Class{a, b}, &event.Container{ID: "p1", Runtime: "kubernetes"}},
		{"containers of no common pod give none", []Class{a, c}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs Consensus
			for _, m := range tt.members {
				cs.Add(m)
			}
			if got := cs.Result(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// fakeID is a container id, 64 hex digits, made from s.
func fakeID(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
