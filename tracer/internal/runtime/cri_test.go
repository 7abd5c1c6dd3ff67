package runtime

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeCRI is a CRI runtime with an event stream (as cri-o and later
// containerds have): one pod, containers the test adds, and an event sent
// per added container.
type fakeCRI struct {
	cri.UnimplementedRuntimeServiceServer
	mu     sync.Mutex
	ctrs   []*cri.Container
	events chan *cri.ContainerEventResponse
}

const fakeSandbox = "5a0d"

func (f *fakeCRI) Version(context.Context, *cri.VersionRequest) (*cri.VersionResponse, error) {
	return &cri.VersionResponse{RuntimeName: "cri-o", RuntimeVersion: "1.31.0", RuntimeApiVersion: "v1"}, nil
}

func (f *fakeCRI) ListPodSandbox(_ context.Context, r *cri.ListPodSandboxRequest) (*cri.ListPodSandboxResponse, error) {
	if id := r.GetFilter().GetId(); id != "" && id != fakeSandbox {
		return &cri.ListPodSandboxResponse{}, nil
	}
	return &cri.ListPodSandboxResponse{Items: []*cri.PodSandbox{{
		Id:       fakeSandbox,
		Metadata: &cri.PodSandboxMetadata{Name: "coredns-5d78c9869d-x2x4q", Namespace: "kube-system", Uid: "1c7f0e52-8d4b-4c1a-9e3f-6a2b5d8c7e90"},
		Labels:   map[string]string{"k8s-app": "kube-dns"},
	}}}, nil
}

func (f *fakeCRI) PodSandboxStatus(context.Context, *cri.PodSandboxStatusRequest) (*cri.PodSandboxStatusResponse, error) {
	return &cri.PodSandboxStatusResponse{Info: map[string]string{
		"info": `{"pid":4242,"runtimeSpec":{"linux":{"namespaces":[{"type":"network","path":"/var/run/netns/1f2e3d4c-aaaa-bbbb-cccc-0123456789ab"}]}}}`,
	}}, nil
}

func (f *fakeCRI) ListContainers(_ context.Context, r *cri.ListContainersRequest) (*cri.ListContainersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*cri.Container
	for _, c := range f.ctrs {
		if id := r.GetFilter().GetId(); id == "" || id == c.Id {
			out = append(out, c)
		}
	}
	return &cri.ListContainersResponse{Containers: out}, nil
}

func (f *fakeCRI) GetContainerEvents(_ *cri.GetEventsRequest, s grpc.ServerStreamingServer[cri.ContainerEventResponse]) error {
	for {
		select {
		case <-s.Context().Done():
			return nil
		case ev := <-f.events:
			if err := s.Send(ev); err != nil {
				return err
			}
		}
	}
}

func (f *fakeCRI) add(id, name, image string) {
	f.mu.Lock()
	f.ctrs = append(f.ctrs, &cri.Container{Id: id, PodSandboxId: fakeSandbox, Metadata: &cri.ContainerMetadata{Name: name}, Image: &cri.ImageSpec{Image: image}})
	f.mu.Unlock()
}

// A CRI runtime with an event stream: a container is known as soon as its
// event arrives, though the periodic list would come only in an hour; one
// that was added without an event is found by the query a miss makes.
func TestCRIEventsAndQuery(t *testing.T) {
	f := &fakeCRI{events: make(chan *cri.ContainerEventResponse)}
	sock := filepath.Join(t.TempDir(), "crio.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cri.RegisterRuntimeServiceServer(srv, f)
	go func() { _ = srv.Serve(l) }() // ends with Stop
	defer srv.Stop()

	w := Start(Options{Endpoints: []Endpoint{{APICRI, sock}}, Refresh: time.Hour})
	defer w.Close()
	waitFor(t, w, "sandbox listed", func() bool { _, ok := w.Lookup(fakeSandbox); return ok })
	sb, _ := w.Lookup(fakeSandbox)
	if !sb.Sandbox || sb.Runtime != "cri-o" || sb.Pod.Namespace != "kube-system" || sb.Pod.Name != "coredns-5d78c9869d-x2x4q" || sb.Pod.PausePID != 4242 {
		t.Errorf("sandbox: %+v (pod %+v)", sb, sb.Pod)
	}
	if byNet, ok := w.PodByNetNS("/run/netns/1f2e3d4c-aaaa-bbbb-cccc-0123456789ab"); !ok || byNet.ID != fakeSandbox {
		t.Errorf("PodByNetNS: %+v, %v", byNet, ok)
	}

	f.add(hexID('c'), "coredns", "registry.k8s.io/coredns/coredns:v1.11.1")
	f.events <- &cri.ContainerEventResponse{ContainerId: hexID('c'), ContainerEventType: cri.ContainerEventType_CONTAINER_STARTED_EVENT}
	waitFor(t, w, "container from an event", func() bool {
		w.mu.RLock()
		defer w.mu.RUnlock()
		_, ok := w.ids[hexID('c')]
		return ok
	})
	got, _ := w.Lookup(hexID('c'))
	if got.Name != "coredns" || got.Image != "registry.k8s.io/coredns/coredns:v1.11.1" || got.Runtime != "cri-o" || got.Pod != sb.Pod {
		t.Errorf("coredns: %+v (pod %+v)", got, got.Pod)
	}

	f.add(hexID('d'), "sidecar", "busybox:1.36")
	if _, ok := w.Lookup(hexID('d')); ok {
		t.Fatal("a container without an event was known before a list or a query")
	}
	waitFor(t, w, "container asked for", func() bool { _, ok := w.Lookup(hexID('d')); return ok })
	if got, _ := w.Lookup(hexID('d')); got.Name != "sidecar" || got.Pod != sb.Pod {
		t.Errorf("sidecar: %+v", got)
	}
}
