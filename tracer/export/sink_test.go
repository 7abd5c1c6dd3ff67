package export_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// otlpValue is an OTLP/JSON AnyValue.
type otlpValue struct {
	StringValue *string  `json:"stringValue"`
	IntValue    *string  `json:"intValue"`
	BoolValue   *bool    `json:"boolValue"`
	DoubleValue *float64 `json:"doubleValue"`
	ArrayValue  *struct {
		Values []otlpValue `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []otlpKV `json:"values"`
	} `json:"kvlistValue"`
}

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

// plain turns v into what encoding/json decodes (with UseNumber) from the
// same value written as JSON.
func (v otlpValue) plain() any {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.IntValue != nil:
		return json.Number(*v.IntValue)
	case v.BoolValue != nil:
		return *v.BoolValue
	case v.ArrayValue != nil:
		out := []any{}
		for _, e := range v.ArrayValue.Values {
			out = append(out, e.plain())
		}
		return out
	case v.KvlistValue != nil:
		return kvPlain(v.KvlistValue.Values)
	}
	return nil
}

func kvPlain(kvs []otlpKV) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.plain()
	}
	return m
}

// received is one log record as the collector forwarded it.
type received struct {
	Resource       map[string]any
	Scope          string
	Time, Observed string
	Severity       int
	SeverityText   string
	EventName      string
	Body           any
	Attrs          map[string]any
}

// sink is the HTTP receiver the collector forwards to, counting records
// by id.
type sink struct {
	srv   *http.Server
	url   string
	delay time.Duration // per request, to keep a long send going

	mu      sync.Mutex
	records map[string]received
	counts  map[string]int
	total   int
}

func startSink(t *testing.T) *sink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{url: "http://" + l.Addr().String(), records: map[string]received{}, counts: map[string]int{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(l) }() // ends with Close
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.URL.Path != "/v1/logs" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var req struct {
		ResourceLogs []struct {
			Resource struct {
				Attributes []otlpKV `json:"attributes"`
			} `json:"resource"`
			ScopeLogs []struct {
				Scope struct {
					Name string `json:"name"`
				} `json:"scope"`
				LogRecords []struct {
					TimeUnixNano         string    `json:"timeUnixNano"`
					ObservedTimeUnixNano string    `json:"observedTimeUnixNano"`
					SeverityNumber       int       `json:"severityNumber"`
					SeverityText         string    `json:"severityText"`
					EventName            string    `json:"eventName"`
					Body                 otlpValue `json:"body"`
					Attributes           []otlpKV  `json:"attributes"`
				} `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	for _, rl := range req.ResourceLogs {
		res := kvPlain(rl.Resource.Attributes)
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				rec := received{Resource: res, Scope: sl.Scope.Name, Time: lr.TimeUnixNano,
					Observed: lr.ObservedTimeUnixNano, Severity: lr.SeverityNumber, SeverityText: lr.SeverityText,
					EventName: lr.EventName, Body: lr.Body.plain(), Attrs: kvPlain(lr.Attributes)}
				id, _ := rec.Attrs["nstrace.record.id"].(string)
				s.records[id] = rec
				s.counts[id]++
				s.total++
			}
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}")) // the client's failure is what the test sees
}

// stats returns how many records arrived, and how many distinct ids.
func (s *sink) stats() (total, distinct int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, len(s.counts)
}

func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[id]
}

func (s *sink) record(id string) (received, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	return r, ok
}
