package deploy

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/nstrace/nstrace/tracer/internal/caps"
)

// deployNames is caps.Deploy as capabilities(7) spells it.
func deployNames() []string {
	var names []string
	for _, c := range caps.Deploy {
		names = append(names, c.Name)
	}
	return names
}

// decodeStrict decodes a manifest as the API server's strict field
// validation does: a duplicated key, an unknown field or a field in the
// wrong case is an error. (sigs.k8s.io/yaml's UnmarshalStrict alone is not
// enough: encoding/json matches "hostPid" to hostPID.)
func decodeStrict(data []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// readDaemonSet decodes daemonset.yaml strictly.
func readDaemonSet(t *testing.T) *appsv1.DaemonSet {
	t.Helper()
	data, err := os.ReadFile("../../../../cmd/nstrace/deploy/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds appsv1.DaemonSet
	if err := decodeStrict(data, &ds); err != nil {
		t.Fatalf("daemonset.yaml: %v", err)
	}
	return &ds
}

// The strict decoder refuses what a typo makes: otherwise decoding the
// manifests would prove little.
func TestStrictDecodingRefusesTypos(t *testing.T) {
	for doc, want := range map[string]string{
		"spec:\n  template:\n    spec:\n      hostPid: true\n":                       `unknown field "spec.template.spec.hostPid"`,
		"spec:\n  template:\n    spec:\n      hostPIDs: true\n":                      `unknown field "spec.template.spec.hostPIDs"`,
		"spec:\n  template:\n    spec:\n      hostPID: true\n      hostPID: false\n": `"hostPID" already set in map`,
	} {
		var ds appsv1.DaemonSet
		if err := decodeStrict([]byte(doc), &ds); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %s", doc, err, want)
		}
	}
}

func TestDaemonSetGrantsExactlyTheMeasuredCapabilities(t *testing.T) {
	ds := readDaemonSet(t)
	if ds.APIVersion != "apps/v1" || ds.Kind != "DaemonSet" {
		t.Fatalf("%s %s, want apps/v1 DaemonSet", ds.APIVersion, ds.Kind)
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostPID {
		t.Error("hostPID is off: /proc would show the pod's processes only")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("no securityContext.capabilities")
	}
	if sc.Privileged == nil || *sc.Privileged {
		t.Error("privileged is not explicitly false")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Error("runAsUser is not 0: added capabilities reach only uid 0's effective set")
	}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("drop %v, want [ALL]", sc.Capabilities.Drop)
	}
	var added []string
	for _, a := range sc.Capabilities.Add {
		added = append(added, "CAP_"+string(a))
	}
	if !slices.Equal(added, deployNames()) {
		t.Errorf("adds %v, want caps.Deploy %v", added, deployNames())
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s: request %v, limit %v: want both, request <= limit", r, &req, &lim)
		}
	}
}

// The liveness probe reaches the metrics on loopback: kubelet probes from
// the node's network namespace, so the pod must share it, and the port
// must be the one trace serves.
func TestDaemonSetProbesTheMetricsOnTheNodesLoopback(t *testing.T) {
	pod := readDaemonSet(t).Spec.Template.Spec
	c := pod.Containers[0]
	p := c.LivenessProbe
	if p == nil || p.HTTPGet == nil {
		t.Fatal("no httpGet liveness probe")
	}
	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, dnsPolicy %q: want true, ClusterFirstWithHostNet", pod.HostNetwork, pod.DNSPolicy)
	}
	want := p.HTTPGet.Host + ":" + p.HTTPGet.Port.String()
	if p.HTTPGet.Host != "127.0.0.1" || p.HTTPGet.Path != "/metrics" || !slices.Contains(c.Args, want) {
		t.Errorf("probe %s%s, args %q: want 127.0.0.1, /metrics, and --metrics at that address", want, p.HTTPGet.Path, c.Args)
	}
}

// Every host path the tracer reads is mounted at the same path, read-only
// except the spool and the runtime socket; /run/netns follows the host's
// mounts made after the start.
func TestDaemonSetMountsWhatTheTracerReads(t *testing.T) {
	pod := readDaemonSet(t).Spec.Template.Spec
	host := map[string]string{}
	for _, v := range pod.Volumes {
		if v.HostPath == nil {
			t.Errorf("volume %s is not a hostPath", v.Name)
			continue
		}
		host[v.Name] = v.HostPath.Path
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range pod.Containers[0].VolumeMounts {
		if host[m.Name] != m.MountPath {
			t.Errorf("volume %s: host %q mounted at %q", m.Name, host[m.Name], m.MountPath)
		}
		mounts[m.MountPath] = m
	}
	for _, p := range []string{"/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/run/netns",
		"/run/containerd/containerd.sock", "/var/lib/nstrace/spool"} {
		m, ok := mounts[p]
		writable := p == "/var/lib/nstrace/spool" || strings.HasSuffix(p, ".sock")
		switch {
		case !ok:
			t.Errorf("%s is not mounted", p)
		case m.ReadOnly == writable:
			t.Errorf("%s: readOnly %v", p, m.ReadOnly)
		}
	}
	if m := mounts["/run/netns"]; m.MountPropagation == nil || *m.MountPropagation != corev1.MountPropagationHostToContainer {
		t.Error("/run/netns: mountPropagation is not HostToContainer: netns added later would stay unnamed")
	}
}

// The OTLP endpoint comes from the ConfigMap, by the standard variable.
func TestConfigMapNamesTheCollector(t *testing.T) {
	data, err := os.ReadFile("../../../../cmd/nstrace/deploy/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := decodeStrict(data, &cm); err != nil {
		t.Fatalf("configmap.yaml: %v", err)
	}
	ds := readDaemonSet(t)
	if cm.Kind != "ConfigMap" || cm.Namespace != ds.Namespace {
		t.Errorf("%s in %q, want a ConfigMap in the DaemonSet's namespace %q", cm.Kind, cm.Namespace, ds.Namespace)
	}
	if !strings.HasPrefix(cm.Data["OTEL_EXPORTER_OTLP_ENDPOINT"], "http") {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %q", cm.Data["OTEL_EXPORTER_OTLP_ENDPOINT"])
	}
	from := ds.Spec.Template.Spec.Containers[0].EnvFrom
	if len(from) != 1 || from[0].ConfigMapRef == nil || from[0].ConfigMapRef.Name != cm.Name {
		t.Errorf("envFrom %+v, want the ConfigMap %q", from, cm.Name)
	}
}

// unitSettings returns the values of key in the unit file, in order.
func unitSettings(t *testing.T, key string) []string {
	t.Helper()
	f, err := os.Open("../../../../cmd/nstrace/deploy/nstrace.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vals []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

func TestUnitGrantsExactlyTheMeasuredCapabilities(t *testing.T) {
	want := strings.Join(deployNames(), " ")
	for _, key := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		if got := unitSettings(t, key); len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q (caps.Deploy)", key, got, want)
		}
	}
	for key, want := range map[string]string{"ProtectSystem": "strict", "StateDirectory": "nstrace",
		"NoNewPrivileges": "yes", "DynamicUser": "yes"} {
		if got := unitSettings(t, key); len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
}

// systemd-analyze verify accepts the unit without a word. It checks that
// ExecStart's program exists, so the unit verified is the file with its
// /usr/local/bin/nstrace replaced by a freshly built nstrace.
func TestUnitPassesSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("NSTRACE_KERNEL_TESTS") == "1" {
			t.Fatalf("systemd-analyze not installed (make test installs systemd): %v", err)
		}
		t.Skip("systemd-analyze not installed (make test installs systemd)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nstrace")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nstrace/nstrace/cmd/nstrace").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	unit, err := os.ReadFile("../../../../cmd/nstrace/deploy/nstrace.service")
	if err != nil {
		t.Fatal(err)
	}
	const installed = "ExecStart=/usr/local/bin/nstrace "
	if !strings.Contains(string(unit), installed) {
		t.Fatalf("the unit has no %q", installed)
	}
	path := filepath.Join(dir, "nstrace.service")
	text := strings.Replace(string(unit), installed, "ExecStart="+bin+" ", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
