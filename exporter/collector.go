package exporter

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The check metrics. Labels are the resource and check names, which the
// config bounds; never URLs, DSNs or error text.
var checkLabels = []string{"resource", "check"}

type checkDescs struct {
	success, level, value, duration, lastRun, runs, failures *prometheus.Desc
}

func newCheckDescs() checkDescs {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("statusd_check_"+name, help, checkLabels, nil)
	}
	return checkDescs{
		success:  d("success", "Whether the last run of the check succeeded (1) or not (0)."),
		level:    d("level", "Level of the last run: 0 fine, 1 warning, 2 problem."),
		value:    d("value", "Value the last run measured, in base units (seconds, bytes, rows…)."),
		duration: d("duration_seconds", "How long the last run took."),
		lastRun:  d("last_run_timestamp_seconds", "When the last run started, as a Unix timestamp."),
		runs:     d("runs_total", "Runs of the check since statusd started."),
		failures: d("failures_total", "Runs of the check that did not succeed since statusd started."),
	}
}

// collector builds the check metrics from the latest results at scrape
// time, so a check removed by a reload disappears from /metrics.
type collector struct {
	e     *Exporter
	descs checkDescs
}

func newCollector(e *Exporter) *collector {
	return &collector{e: e, descs: newCheckDescs()}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	d := c.descs
	for _, desc := range []*prometheus.Desc{d.success, d.level, d.value, d.duration, d.lastRun, d.runs, d.failures} {
		ch <- desc
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	d := c.descs
	for _, r := range c.e.Resources() {
		for _, check := range r.Checks {
			res, ok := check.Latest()
			if !ok {
				continue
			}
			lv := []string{check.ID.Resource, check.ID.Check}
			success := 0.0
			if res.Success {
				success = 1
			}
			ch <- prometheus.MustNewConstMetric(d.success, prometheus.GaugeValue, success, lv...)
			ch <- prometheus.MustNewConstMetric(d.level, prometheus.GaugeValue, float64(res.Level), lv...)
			if res.Value != nil {
				ch <- prometheus.MustNewConstMetric(d.value, prometheus.GaugeValue, *res.Value, lv...)
			}
			ch <- prometheus.MustNewConstMetric(d.duration, prometheus.GaugeValue, res.Duration.Seconds(), lv...)
			ch <- prometheus.MustNewConstMetric(d.lastRun, prometheus.GaugeValue, float64(res.CheckedAt.UnixMilli())/1000, lv...)
			ch <- prometheus.MustNewConstMetric(d.runs, prometheus.CounterValue, float64(check.state.runs.Load()), lv...)
			ch <- prometheus.MustNewConstMetric(d.failures, prometheus.CounterValue, float64(check.state.failures.Load()), lv...)
		}
	}
}
