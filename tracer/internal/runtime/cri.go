package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criSource is a CRI runtime (containerd, cri-o).
type criSource struct {
	w    *Watcher
	path string
	name string // the runtime's own name: "containerd", "cri-o"
	conn *grpc.ClientConn
	rt   cri.RuntimeServiceClient

	mu   sync.Mutex
	pods map[string]*Pod // by sandbox id
}

// dialCRI asks the socket for the CRI version, which names the runtime.
func dialCRI(ctx context.Context, w *Watcher, path string) (*criSource, error) {
	conn, err := grpc.NewClient("unix://"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, fmt.Errorf("cri: %w", err)
	}
	c := &criSource{w: w, path: path, conn: conn, rt: cri.NewRuntimeServiceClient(conn), pods: make(map[string]*Pod)}
	vctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	v, err := c.rt.Version(vctx, &cri.VersionRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("cri version: %w", err)
	}
	c.name = v.RuntimeName
	return c, nil
}

func (c *criSource) runtime() string { return c.name }

func (c *criSource) close() { c.conn.Close() }

// follow lists pods and containers every Refresh, and at once when the
// runtime's event stream (GetContainerEvents, where implemented) says
// something changed. In a list, a container stays until it is removed, so
// one that exited within a second is still there to be named.
func (c *criSource) follow(ctx context.Context) error {
	kick := make(chan struct{}, 1)
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.events(ectx, kick)
	tick := time.NewTicker(c.w.opts.Refresh)
	defer tick.Stop()
	// An event may come before the CRI lists what it is about (containerd
	// publishes a container's creation before its CRI stores it): a kicked
	// list is made again a moment later.
	var again <-chan time.Time
	for {
		if err := c.refresh(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-again:
			again = nil
		case <-kick:
			again = time.After(relistAfter)
		}
	}
}

// relistAfter is how long after a kicked list it is made again.
const relistAfter = 30 * time.Millisecond

// events follows GetContainerEvents, kicking a refresh per event. A
// runtime without it (containerd 1.6) answers Unimplemented and is listed
// on the timer alone.
func (c *criSource) events(ctx context.Context, kick chan<- struct{}) {
	stream, err := c.rt.GetContainerEvents(ctx, &cri.GetEventsRequest{})
	if err != nil {
		return
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if status.Code(err) == codes.Unimplemented {
				c.containerdEvents(ctx, kick)
			} else if ctx.Err() == nil {
				c.w.logf("runtime %s: container events: %v", c.name, err)
			}
			return
		}
		select {
		case kick <- struct{}{}:
		default:
		}
	}
}

// refresh lists the pod sandboxes and containers into the watcher.
func (c *criSource) refresh(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, c.w.opts.Timeout)
	defer cancel()
	sandboxes, err := c.rt.ListPodSandbox(lctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	ctrs, err := c.rt.ListContainers(lctx, &cri.ListContainersRequest{})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	live := make(map[string]bool, len(sandboxes.Items)+len(ctrs.Containers))
	for _, sb := range sandboxes.Items {
		pod := c.pod(ctx, sb)
		c.w.put(c.path, Identity{ID: sb.Id, Runtime: c.name, Pod: pod, Sandbox: true})
		live[sb.Id] = true
	}
	for _, ct := range ctrs.Containers {
		c.w.put(c.path, c.identity(ctx, ct))
		live[ct.Id] = true
	}
	c.w.goneExcept(c.path, live)
	c.mu.Lock()
	for id := range c.pods {
		if !live[id] {
			delete(c.pods, id)
		}
	}
	c.mu.Unlock()
	return nil
}

// identity is a listed container's Identity, with its pod.
func (c *criSource) identity(ctx context.Context, ct *cri.Container) Identity {
	id := Identity{ID: ct.Id, Runtime: c.name, Image: ct.GetImage().GetImage()}
	if id.Image == "" {
		id.Image = ct.ImageRef
	}
	id.Name = ct.GetMetadata().GetName()
	c.mu.Lock()
	id.Pod = c.pods[ct.PodSandboxId]
	c.mu.Unlock()
	if id.Pod == nil && ct.PodSandboxId != "" {
		sctx, cancel := context.WithTimeout(ctx, c.w.opts.Timeout)
		defer cancel()
		sbs, err := c.rt.ListPodSandbox(sctx, &cri.ListPodSandboxRequest{Filter: &cri.PodSandboxFilter{Id: ct.PodSandboxId}})
		if err == nil && len(sbs.Items) == 1 {
			id.Pod = c.pod(ctx, sbs.Items[0])
		}
	}
	return id
}

// pod is the Pod of a sandbox, asked for once: its status (verbose) gives
// the sandbox's init pid and the network namespace path in its spec.
func (c *criSource) pod(ctx context.Context, sb *cri.PodSandbox) *Pod {
	c.mu.Lock()
	p := c.pods[sb.Id]
	c.mu.Unlock()
	if p != nil {
		return p
	}
	md := sb.GetMetadata()
	p = &Pod{Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid(), Labels: sb.Labels, SandboxID: sb.Id}
	sctx, cancel := context.WithTimeout(ctx, c.w.opts.Timeout)
	defer cancel()
	st, err := c.rt.PodSandboxStatus(sctx, &cri.PodSandboxStatusRequest{PodSandboxId: sb.Id, Verbose: true})
	if err != nil {
		return p // not kept: asked again on the next list
	}
	p.PausePID, p.NetNS = sandboxInfo(st.Info["info"])
	c.mu.Lock()
	defer c.mu.Unlock()
	// The list and a query may both have asked; the first answer stays,
	// so that identities of one pod share one Pod.
	if first := c.pods[sb.Id]; first != nil {
		return first
	}
	c.pods[sb.Id] = p
	return p
}

// sandboxInfo reads the verbose sandbox status that containerd and cri-o
// give: the init pid and the OCI spec the sandbox was started with.
func sandboxInfo(info string) (pid uint32, netns string) {
	var v struct {
		Pid         uint32 `json:"pid"`
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct{ Type, Path string }
			}
		} `json:"runtimeSpec"`
	}
	if info == "" || json.Unmarshal([]byte(info), &v) != nil {
		return 0, ""
	}
	for _, ns := range v.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" {
			netns = ns.Path
		}
	}
	return v.Pid, netns
}

// query asks for one container, or else one sandbox, by id.
func (c *criSource) query(ctx context.Context, id string) (Identity, bool, error) {
	ctrs, err := c.rt.ListContainers(ctx, &cri.ListContainersRequest{Filter: &cri.ContainerFilter{Id: id}})
	if err != nil {
		return Identity{}, false, err
	}
	for _, ct := range ctrs.Containers {
		if ct.Id == id {
			return c.identity(ctx, ct), true, nil
		}
	}
	sbs, err := c.rt.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{Filter: &cri.PodSandboxFilter{Id: id}})
	if err != nil {
		return Identity{}, false, err
	}
	for _, sb := range sbs.Items {
		if sb.Id == id {
			return Identity{ID: id, Runtime: c.name, Pod: c.pod(ctx, sb), Sandbox: true}, true, nil
		}
	}
	return Identity{}, false, nil
}
