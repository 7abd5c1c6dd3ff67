// Package metrics exposes what nstrace sees as Prometheus metrics: events
// and namespace changes by kind, type and action, failed calls, losses by
// cause, alerts by rule and severity, rule failures by rule, events whose
// rule budget ran out, the namespaces known by type and how full the ring
// buffer is. The collectors live on a registry of their own;
// Serve publishes it over HTTP, on a loopback address unless told otherwise.
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// numKinds and numActions bound the counter caches: event.Kind and
// event.Action values past them are counted uncached.
const (
	numKinds   = int(event.Lost) + 1
	numActions = int(event.ActionDestroy) + 1
)

// Metrics are the collectors. Event and Alert are safe to call from one
// goroutine while the registry is scraped from another.
type Metrics struct {
	reg *prometheus.Registry

	events  *prometheus.CounterVec
	changes *prometheus.CounterVec
	failed  *prometheus.CounterVec
	alerts  *prometheus.CounterVec

	ruleErrors  *prometheus.CounterVec
	rulesBudget prometheus.Counter

	// Counters resolved once per label set, so counting allocates nothing.
	eventC  [numKinds]prometheus.Counter
	changeC [numKinds][event.NumNsTypes][numActions]prometheus.Counter

	mu    sync.Mutex // guards the sources below, set once before serving
	ring  func() float64
	lost  func() map[string]uint64
	known func() *inventory.Inventory
}

// New registers the collectors, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstrace_events_total",
		Help: "Namespace events seen, by event (clone, unshare, setns, exec, destroy); failed attempts included.",
	}, []string{"event"})
	m.changes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstrace_namespace_changes_total",
		Help: "Namespace changes seen, by event, namespace type and action (create, join, destroy).",
	}, []string{"event", "type", "action"})
	m.failed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstrace_failed_events_total",
		Help: "Failed namespace-changing calls, by event and errno name.",
	}, []string{"event", "error"})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstrace_alerts_total",
		Help: "Alerts raised, by rule and severity.",
	}, []string{"rule", "severity"})
	m.ruleErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstrace_rule_errors_total",
		Help: "Evaluations of a rule's expression that failed (index out of range, division by zero, cost limit), by rule; the rule did not match.",
	}, []string{"rule"})
	m.rulesBudget = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nstrace_rule_budget_exceeded_total",
		Help: "Events whose rule budget ran out before every rule they could match had run; those rules were skipped.",
	})
	m.reg.MustRegister(m.events, m.changes, m.failed, m.alerts, m.ruleErrors, m.rulesBudget,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nstrace_ring_buffer_fill_ratio",
			Help: "Fraction of the BPF ring buffer holding records not yet read (0 to 1).",
		}, m.ringFill),
		&sourceCollector{m: m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the collectors are registered, e.g. to add more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Event counts one event. Loss markers are not counted here: losses come
// from ObserveLost, which the kernel's counters feed by cause.
func (m *Metrics) Event(ev *event.Event) {
	k := int(ev.Kind)
	if ev.Kind == event.Lost || k >= numKinds {
		return
	}
	c := m.eventC[k]
	if c == nil {
		c = m.events.WithLabelValues(ev.Kind.String())
		m.eventC[k] = c
	}
	c.Inc()
	if ev.Failed() {
		m.failed.WithLabelValues(ev.Kind.String(), event.ErrnoName(ev.Errno)).Inc()
		return
	}
	for i := range ev.Changes {
		ch := &ev.Changes[i]
		t, a := int(ch.Type), int(ch.Action)
		if t >= event.NumNsTypes || a >= numActions {
			continue
		}
		cc := m.changeC[k][t][a]
		if cc == nil {
			cc = m.changes.WithLabelValues(ev.Kind.String(), ch.Type.String(), ch.Action.String())
			m.changeC[k][t][a] = cc
		}
		cc.Inc()
	}
}

// Alert counts one alert.
func (m *Metrics) Alert(a *detect.Alert) {
	m.alerts.WithLabelValues(a.Rule, a.Severity.String()).Inc()
}

// RuleError counts one failed evaluation of rule's expression.
func (m *Metrics) RuleError(rule string) {
	m.ruleErrors.WithLabelValues(rule).Inc()
}

// RuleBudgetExceeded counts one event whose remaining rules were skipped.
func (m *Metrics) RuleBudgetExceeded() {
	m.rulesBudget.Inc()
}

// ObserveRing makes nstrace_ring_buffer_fill_ratio read fill at each
// scrape: tracer.(*Tracer).RingFill.
func (m *Metrics) ObserveRing(fill func() float64) {
	m.mu.Lock()
	m.ring = fill
	m.mu.Unlock()
}

// ObserveLost makes nstrace_lost_events_total{cause} read the kernel's drop
// counters at each scrape (cause → records dropped so far).
func (m *Metrics) ObserveLost(byCause func() map[string]uint64) {
	m.mu.Lock()
	m.lost = byCause
	m.mu.Unlock()
}

// ObserveNamespaces makes nstrace_namespaces{type} count the namespaces of
// the inventory that inv returns at each scrape: (*resolve.Resolver).Inventory.
func (m *Metrics) ObserveNamespaces(inv func() *inventory.Inventory) {
	m.mu.Lock()
	m.known = inv
	m.mu.Unlock()
}

func (m *Metrics) ringFill() float64 {
	m.mu.Lock()
	fill := m.ring
	m.mu.Unlock()
	if fill == nil {
		return 0
	}
	return fill()
}

var (
	lostDesc = prometheus.NewDesc("nstrace_lost_events_total",
		"Records lost, by cause (ring_full: the ring buffer had no room; pending_full: too many calls in flight; shutdown: left unread when the drain at a stop timed out).",
		[]string{"cause"}, nil)
	nsDesc = prometheus.NewDesc("nstrace_namespaces",
		"Namespaces known to nstrace (on the host now, or met while tracing and not yet gone), by type.",
		[]string{"type"}, nil)
)

// sourceCollector reads the observed sources at scrape time.
type sourceCollector struct{ m *Metrics }

func (s *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lostDesc
	ch <- nsDesc
}

func (s *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	s.m.mu.Lock()
	lost, known := s.m.lost, s.m.known
	s.m.mu.Unlock()
	if lost != nil {
		for cause, n := range lost() {
			ch <- prometheus.MustNewConstMetric(lostDesc, prometheus.CounterValue, float64(n), cause)
		}
	}
	if known != nil {
		counts := make(map[event.NsType]int, len(inventory.Types))
		for _, t := range inventory.Types {
			counts[t] = 0
		}
		if inv := known(); inv != nil {
			for i := range inv.Namespaces {
				counts[inv.Namespaces[i].Type]++
			}
		}
		for t, n := range counts {
			ch <- prometheus.MustNewConstMetric(nsDesc, prometheus.GaugeValue, float64(n), t.String())
		}
	}
}
