package evaluator

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/internal/status"
)

// metrics are the evaluator's own metrics.
type metrics struct {
	results       prometheus.Counter
	dropped       prometheus.Counter
	writeFailures prometheus.Counter
	backlog       prometheus.GaugeFunc
	pending       prometheus.GaugeFunc
	pendingWrites atomic.Int64
	// plan is read by WriteMetrics without the evaluator's lock.
	plan atomic.Pointer[plan]
}

func newMetrics(e *Evaluator) *metrics {
	m := &metrics{
		results: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_evaluator_results_total",
			Help: "Check results the evaluator has evaluated.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_evaluator_dropped_results_total",
			Help: "Check results dropped because the evaluator's backlog was full.",
		}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_evaluator_write_failures_total",
			Help: "Failed attempts to write the evaluator's decisions to the database (they are retried).",
		}),
	}
	m.backlog = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusd_evaluator_backlog",
		Help: "Check results waiting to be evaluated.",
	}, func() float64 { return float64(e.backlog()) })
	m.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "statusd_evaluator_pending_writes",
		Help: "Decisions waiting to be written to the database after a failed write.",
	}, func() float64 { return float64(m.pendingWrites.Load()) })
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.results, m.dropped, m.writeFailures, m.backlog, m.pending}
}

func (m *metrics) setPlan(p *plan) { m.plan.Store(p) }

// WriteMetrics writes statusd_check_evaluated_level, one series per check
// this process runs (Options.Owns) evaluated since statusd started; like the check families it can number
// tens of thousands of series, so it is written directly.
func (e *Evaluator) WriteMetrics(w *exposition.Writer) {
	const name = "statusd_check_evaluated_level"
	w.Family(name, "gauge", "Evaluated (debounced) level of the check, which notifications and services follow: 0 fine, 1 warning, 2 problem.")
	p := e.metrics.plan.Load()
	if p == nil {
		return
	}
	now := e.clock.Now()
	for _, c := range p.order {
		if l := c.level.Load(); l >= 0 && e.opts.Owns(c.id, now) { // evaluated at least once
			w.Sample(name, c.labels, float64(l))
		}
	}
}

// Monitor is what the evaluator holds of a check, for the checks
// dashboard: its evaluated level (evaluated is false before the first
// evaluation) and the receivers told about it.
func (e *Evaluator) Monitor(id status.CheckID) (level status.Level, evaluated bool, receivers []string) {
	p := e.metrics.plan.Load()
	if p == nil {
		return status.Fine, false, nil
	}
	c, ok := p.checks[id]
	if !ok {
		return status.Fine, false, nil
	}
	l := c.level.Load()
	return status.Level(max(l, 0)), l >= 0, c.receivers
}
