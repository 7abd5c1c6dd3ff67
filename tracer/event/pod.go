package event

import (
	"slices"

	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// Pod is the Kubernetes pod a container belongs to, as its runtime's CRI
// describes the pod's sandbox. Values are shared between events; treat
// them as read-only.
type Pod struct {
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"` // the Kubernetes namespace
	UID       string            `json:"uid,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// label is "pod NAMESPACE/NAME", with "/container" when there is one.
func (p *Pod) label(container string) string {
	s := "pod " + p.Namespace + "/" + p.Name
	if container != "" {
		s += "/" + container
	}
	return s
}

// Equal reports whether p and q describe the same pod, labels included.
func (p *Pod) Equal(q *Pod) bool {
	if p == q {
		return true
	}
	if p == nil || q == nil || p.Name != q.Name || p.Namespace != q.Namespace || p.UID != q.UID || len(p.Labels) != len(q.Labels) {
		return false
	}
	for k, v := range p.Labels {
		if w, ok := q.Labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// appendJSON appends p as one JSON object, leaving out empty fields, with
// its labels in key order so that equal pods read alike. It allocates
// nothing for up to 16 labels.
func (p *Pod) appendJSON(b []byte) []byte {
	b, sep := appendStringFields(append(b, '{'), []stringField{{"name", p.Name}, {"namespace", p.Namespace}, {"uid", p.UID}})
	if len(p.Labels) > 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"labels":{`...)
		var buf [16]string
		keys := buf[:0]
		for k := range p.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = encode.AppendJSONString(b, k)
			b = append(b, ':')
			b = encode.AppendJSONString(b, p.Labels[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
