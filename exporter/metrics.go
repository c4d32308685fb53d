package exporter

import (
	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/internal/status"
)

// checkFamily is one metric family of the checks. The families, their
// help and types are all here.
type checkFamily struct {
	name, typ, help string
	value           func(c *Check, r *status.Result) (float64, bool)
}

func checkFamilies() []checkFamily {
	return []checkFamily{
		{"statusd_check_success", "gauge", "Whether the last run of the check succeeded (1) or not (0).",
			func(_ *Check, r *status.Result) (float64, bool) { return boolValue(r.Success), true }},
		{"statusd_check_level", "gauge", "Level of the last run: 0 fine, 1 warning, 2 problem.",
			func(_ *Check, r *status.Result) (float64, bool) { return float64(r.Level), true }},
		{"statusd_check_value", "gauge", "Value the last run measured, in base units (seconds, bytes, rows…).",
			func(_ *Check, r *status.Result) (float64, bool) {
				if r.Value == nil {
					return 0, false
				}
				return *r.Value, true
			}},
		{"statusd_check_duration_seconds", "gauge", "How long the last run took.",
			func(_ *Check, r *status.Result) (float64, bool) { return r.Duration.Seconds(), true }},
		{"statusd_check_last_run_timestamp_seconds", "gauge", "When the last run started, as a Unix timestamp.",
			func(_ *Check, r *status.Result) (float64, bool) { return float64(r.CheckedAt.UnixMilli()) / 1000, true }},
		{"statusd_check_runs_total", "counter", "Runs of the check since statusd started.",
			func(c *Check, _ *status.Result) (float64, bool) { return float64(c.state.runs.Load()), true }},
		{"statusd_check_failures_total", "counter", "Runs of the check that did not succeed since statusd started.",
			func(c *Check, _ *status.Result) (float64, bool) { return float64(c.state.failures.Load()), true }},
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// checkLabels renders a check's labels once, when the check is built:
// with the location this process runs it in, if any.
func checkLabels(id status.CheckID, location string) exposition.Labels {
	if location != "" {
		return exposition.NewLabels("check", id.Check, "location", location, "resource", id.Resource)
	}
	return exposition.NewLabels("check", id.Check, "resource", id.Resource)
}

// infoLabels renders a check's labels with its kind, for
// statusd_check_info.
func infoLabels(id status.CheckID, kind, location string) exposition.Labels {
	if location != "" {
		return exposition.NewLabels("check", id.Check, "kind", kind, "location", location, "resource", id.Resource)
	}
	return exposition.NewLabels("check", id.Check, "kind", kind, "resource", id.Resource)
}

// WriteMetrics writes the check metrics in the Prometheus text format
// (version 0.0.4), built from the latest results at the time of the call:
// a check removed by a reload is gone, and a check that has not run yet
// has no series. Only the checks this process runs are written: when
// replicas share the checks out, each check is exported by its owner,
// once per cluster. Labels are the resource and check names, which the
// config bounds; never URLs, DSNs or error text.
//
// With tens of thousands of series this is the bulk of a scrape, so it is
// written directly instead of through client_golang's registry, whose
// per-series validation, sorting and encoding cost four times as much.
func (e *Exporter) WriteMetrics(w *exposition.Writer) {
	type sample struct {
		c *Check
		r *status.Result
	}
	var samples []sample
	var owned []*Check
	now := e.clock.Now()
	for _, res := range e.Resources() {
		for _, c := range res.Checks {
			if !e.owns(c.ID, c.Locations, now) {
				continue
			}
			owned = append(owned, c)
			// One load per check, so that its families agree; a check
			// run in this process's location exports that location's
			// run, labelled with it.
			if c.location != "" {
				if r, ok := c.siteResult(c.location); ok {
					samples = append(samples, sample{c, &r})
				}
			} else if r := c.state.latest.Load(); r != nil {
				samples = append(samples, sample{c, r})
			}
		}
	}
	// Every configured check, run or not, with its kind: alerting rules
	// join it to pick a kind (heartbeat, tls).
	w.Family("statusd_check_info", "gauge", "A configured check, with its kind; always 1.")
	for _, c := range owned {
		w.Sample("statusd_check_info", c.infoLabels, 1)
	}
	for _, f := range checkFamilies() {
		w.Family(f.name, f.typ, f.help)
		for _, s := range samples {
			if v, ok := f.value(s.c, s.r); ok {
				w.Sample(f.name, s.c.labels, v)
			}
		}
	}
}
