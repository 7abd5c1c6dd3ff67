package testenv

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

// Received is one log record as the collector forwarded it.
type Received struct {
	Resource       map[string]any
	Scope          string
	Time, Observed string
	Severity       int
	SeverityText   string
	EventName      string
	Body           any
	Attrs          map[string]any
}

// OTLPSink is the OTLP/HTTP (JSON) receiver the collector forwards to, counting records
// by id.
type OTLPSink struct {
	srv   *http.Server
	URL   string        // where the collector forwards to
	Delay time.Duration // per request, to keep a long send going

	mu      sync.Mutex
	records map[string]Received
	counts  map[string]int
	total   int
	held    bool // refuse every request (503): nothing is acknowledged
}

// Hold makes the sink refuse what the collector forwards, so the sender
// never gets an acknowledgement; Release ends that.
func (s *OTLPSink) Hold() { s.mu.Lock(); s.held = true; s.mu.Unlock() }

// Release lets requests through again.
func (s *OTLPSink) Release() { s.mu.Lock(); s.held = false; s.mu.Unlock() }

// Counts is how many times each nstrace.record.id arrived.
func (s *OTLPSink) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for id, n := range s.counts {
		out[id] = n
	}
	return out
}

// StartOTLPSink starts an OTLPSink on loopback, stopped at the test's end.
func StartOTLPSink(t testing.TB) *OTLPSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &OTLPSink{URL: "http://" + l.Addr().String(), records: map[string]Received{}, counts: map[string]int{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(l) }() // ends with Close
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *OTLPSink) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if held {
		http.Error(w, "held by the test", http.StatusServiceUnavailable)
		return
	}
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
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	s.mu.Lock()
	for _, rl := range req.ResourceLogs {
		res := kvPlain(rl.Resource.Attributes)
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				rec := Received{Resource: res, Scope: sl.Scope.Name, Time: lr.TimeUnixNano,
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

// Stats returns how many records arrived, and how many distinct ids.
func (s *OTLPSink) Stats() (total, distinct int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, len(s.counts)
}

// Count is how many times the record with this nstrace.record.id arrived.
func (s *OTLPSink) Count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[id]
}

// Record is the record with this id, as it arrived last.
func (s *OTLPSink) Record(id string) (Received, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	return r, ok
}
