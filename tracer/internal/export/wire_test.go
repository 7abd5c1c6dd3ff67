package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/nstrace/nstrace/tracer/event"
)

// plain turns v into what encoding/json decodes (UseNumber) from the same
// JSON, integers past int64 aside (strings here).
func plain(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_KvlistValue:
		m := map[string]any{}
		for _, kv := range x.KvlistValue.GetValues() {
			m[kv.GetKey()] = plain(kv.GetValue())
		}
		return m
	case *commonpb.AnyValue_ArrayValue:
		out := []any{}
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, plain(e))
		}
		return out
	case *commonpb.AnyValue_IntValue:
		return json.Number(strconv.FormatInt(x.IntValue, 10))
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	}
	return nil
}

// decodeWire transcodes b and decodes the result with the OTLP types.
func decodeWire(b []byte) (*commonpb.AnyValue, error) {
	w := jsonWire{b: b}
	out, ok := w.value(nil, 0)
	w.space()
	if !ok || w.i != len(b) {
		return nil, errBadBody
	}
	var v commonpb.AnyValue
	if err := proto.Unmarshal(out, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func stdDecode(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, false
	}
	return v, true
}

// FuzzJSONWire: what the transcoder writes decodes, with the OTLP
// types, to what encoding/json reads from the same JSON.
func FuzzJSONWire(f *testing.F) {
	ev := &event.Event{Kind: event.Unshare, Pid: 1, Comm: "a\"b\\c\x01\x1b\u2028é\xff", Flags: 1 << 30,
		Changes: []event.Change{{Type: event.Net, Action: event.Create, To: 5, Name: "x\ty"}}}
	for _, seed := range []string{
		string(ev.AppendJSON(nil)), `{}`, `[]`, `{"a":[1,-2,true,false,null,"s"],"b":{"c":{}}}`,
		`"\ud83d\ude00 \u00e9 \/"`, `  {"k" : 1 }  `, `{"a":1,}`, `[1 2]`, `"\ud800"`, `-0`, `1e3`,
	} {
		f.Add([]byte(seed))
	}
	// What the encoder writes (valid JSON, valid UTF-8) must decode as
	// encoding/json decodes it; anything else must only not panic.
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeWire(b)
		want, ok := stdDecode(b)
		if !ok || !utf8.Valid(b) {
			return
		}
		if err != nil {
			t.Fatalf("%q: %v; encoding/json decodes it", b, err)
		}
		if g := plain(got); !sameJSON(g, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", b, g, want)
		}
	})
}

// sameJSON compares decoded values, numbers by value.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !sameJSON(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number, float64:
		n, ok := b.(json.Number)
		if !ok {
			return false
		}
		if s, isStr := a.(json.Number); isStr && s == n {
			return true
		}
		wf, err1 := n.Float64()
		gf, err2 := strconv.ParseFloat(fmt.Sprint(a), 64)
		return err1 == nil && err2 == nil && wf == gf
	case string:
		if y, ok := b.(json.Number); ok { // past int64: kept as digits
			return x == string(y)
		}
	}
	return reflect.DeepEqual(a, b)
}

// TestMemoSameBytes: with the memo, a run of records transcodes to the
// same bytes as each record on its own, as values repeat, change, come
// back and grow.
func TestMemoSameBytes(t *testing.T) {
	recs := []string{
		`{"event":"setns","pid":1,"caps":["CAP_CHOWN","CAP_KILL"],"args":["a","b"],"ancestors":[{"pid":2,"comm":"sh"}]}`,
		`{"event":"setns","pid":2,"caps":["CAP_CHOWN","CAP_KILL"],"args":["a","b"],"ancestors":[{"pid":2,"comm":"sh"}]}`,
		`{"event":"setns","pid":3,"caps":["CAP_CHOWN"],"args":["a","b"],"ancestors":[{"pid":3,"comm":"sh"}]}`,
		`{"event":"setns","pid":4,"caps":["CAP_CHOWN","CAP_KILL"],"args":["a","b","c"],"ancestors":[{"pid":2,"comm":"sh"}]}`,
		`{"event":"setns","pid":5,"caps":["CAP_CHOWN","CAP_KILL","CAP_BPF"],"args":[],"ancestors":[{"pid":2,"comm":"sh"},{"pid":1,"comm":"init"}]}`,
		`{"event":"setns","pid":6,"caps":["CAP_CHOWN","CAP_KILL"],"args":["a","b"],"ancestors":[{"pid":2,"comm":"sh"}]}`,
		`{"event":"setns","pid":7,"caps":["CAP_CHOWN","CAP_KILL"] ,"args":"x","ancestors":null}`,
	}
	var memo valueMemo
	for i, r := range recs {
		w := jsonWire{b: []byte(r), memo: &memo}
		got, ok := w.value(nil, 0)
		if !ok || w.i != len(r) {
			t.Fatalf("record %d: not transcoded with the memo", i)
		}
		alone := jsonWire{b: []byte(r)}
		want, ok := alone.value(nil, 0)
		if !ok {
			t.Fatalf("record %d: not transcoded", i)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d: %x with the memo; want %x", i, got, want)
		}
		if g, a := topFields(&w), topFields(&alone); g != a {
			t.Fatalf("record %d: top fields %s with the memo; want %s", i, g, a)
		}
	}
	if n := len(memo.entries); n != 3 {
		t.Fatalf("memo holds %d fields; want caps, args, ancestors", n)
	}
}

// topFields lists the top-level fields w noted, as key=value.
func topFields(w *jsonWire) string {
	var s []string
	for _, f := range w.top {
		s = append(s, string(w.b[f.start+1:f.keyEnd])+"="+string(w.b[f.val:f.valEnd]))
	}
	return strings.Join(s, " ")
}
