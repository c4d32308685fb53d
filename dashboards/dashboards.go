// Package dashboards defines statusd's Grafana dashboards in Go, with the
// Grafana Foundation SDK, so that they are typed and reviewed as code.
// `go generate ./dashboards` writes them as JSON beside this file, where
// Grafana's provisioning (provisioning/) and users read them; a test fails
// when the committed JSON differs from what the code says.
package dashboards

//go:generate go run ./gen

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Dashboard is one dashboard and the file it is written to.
type Dashboard struct {
	File    string
	Builder *dashboard.DashboardBuilder
}

// All are statusd's dashboards.
func All() []Dashboard {
	return []Dashboard{
		{"statusd-overview.json", Overview()},
		{"statusd-check.json", Check()},
	}
}

// JSON renders a dashboard as it is committed, its panels numbered in
// order (stable ids, for links to one panel).
func JSON(b *dashboard.DashboardBuilder) ([]byte, error) {
	d, err := b.Build()
	if err != nil {
		return nil, err
	}
	id := uint32(0)
	for _, p := range d.Panels {
		id++
		switch {
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(id)
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// datasource is the panels' data source: the dashboard's variable.
var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// sel is the label selector every query starts from.
const sel = `job=~"$job",instance=~"$instance"`

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Datasource(datasource)
}

// variables are the dashboards' template variables: the data source, then
// label filters, each narrowing the next.
func variables(b *dashboard.DashboardBuilder, labels ...string) *dashboard.DashboardBuilder {
	b = b.WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus"))
	metricOf := map[string]string{
		"job":      "statusd_build_info",
		"instance": "statusd_build_info{job=~\"$job\"}",
		"service":  "statusd_service_status{" + sel + "}",
		"resource": "statusd_check_info{" + sel + "}",
		"check":    "statusd_check_info{" + sel + ",resource=~\"$resource\"}",
	}
	for _, l := range labels {
		q := fmt.Sprintf("label_values(%s, %s)", metricOf[l], l)
		v := dashboard.NewQueryVariableBuilder(l).
			Label(l).
			Datasource(datasource).
			Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
			Definition(q).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).
			IncludeAll(true).
			AllValue(".*")
		b = b.WithVariable(v)
	}
	return b
}

// mapping is one value of a value mapping: its text and colour.
type mapping struct{ text, color string }

// valueMappings names and colours values, in the order given.
func valueMappings(values []string, to []mapping) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, v := range values {
		opts[v] = dashboard.ValueMappingResult{Text: cog.ToPtr(to[i].text), Color: cog.ToPtr(to[i].color), Index: cog.ToPtr(int32(i))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// statusMappings name and colour the service statuses.
func statusMappings() []dashboard.ValueMapping {
	return valueMappings([]string{"-1", "0", "1", "2", "3"}, []mapping{
		{"No services", "text"}, {"Operational", "green"}, {"Degraded", "yellow"}, {"Partial outage", "orange"}, {"Major outage", "red"},
	})
}

// levelMappings name and colour the check levels.
func levelMappings() []dashboard.ValueMapping {
	return valueMappings([]string{"0", "1", "2"}, []mapping{{"fine", "green"}, {"warning", "yellow"}, {"problem", "red"}})
}

// thresholds colours values by absolute steps (a step with a nil value is
// the base colour).
func thresholds(steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

func step(value *float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: value, Color: color}
}

func statPanel(title, desc, expr, unit string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(desc).Datasource(datasource).Unit(unit).
		WithTarget(query(expr, "").Instant()).Height(5)
}

func timeseriesPanel(title, desc, unit string, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Description(desc).Datasource(datasource).Unit(unit).Height(8).Span(12).
		FillOpacity(10).LineWidth(1)
	for _, t := range targets {
		p = p.WithTarget(t)
	}
	return p
}

// Overview is the dashboard of a statusd (or several): what the status
// page shows, how the checks fare, and whether statusd keeps up.
func Overview() *dashboard.DashboardBuilder {
	b := dashboard.NewDashboardBuilder("statusd / Overview").
		Uid("statusd-overview").
		Description("Services, incidents, checks and notifications of statusd.").
		Tags([]string{"statusd"}).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair)
	b = variables(b, "job", "instance", "service")
	return b.
		WithRow(dashboard.NewRowBuilder("Status page")).
		WithPanel(statPanel("Worst status", "The worst status of all services: the status page's banner and favicon.",
			`max(statusd_page_worst_status{`+sel+`})`, "none").
			Mappings(statusMappings()).Span(6).ColorMode(common.BigValueColorModeBackground)).
		WithPanel(statPanel("Open incidents", "Incidents not resolved.", `max(statusd_incidents_open{`+sel+`})`, "none").
			Thresholds(thresholds(step(nil, "green"), step(cog.ToPtr(1.0), "orange"))).Span(6)).
		WithPanel(statPanel("Checks at problem", "Checks whose evaluated (debounced) level is problem.",
			`sum(statusd_check_evaluated_level{`+sel+`} == bool 2)`, "none").
			Thresholds(thresholds(step(nil, "green"), step(cog.ToPtr(1.0), "red"))).Span(6)).
		WithPanel(statPanel("Downtime", "Whether downtime mode is on.", `max(statusd_downtime_active{`+sel+`})`, "none").
			Mappings(valueMappings([]string{"0", "1"}, []mapping{{"Off", "green"}, {"On", "blue"}})).Span(6)).
		WithPanel(statetimeline.NewPanelBuilder().Title("Services").
			Description("Each service's status over time, as the status page showed it.").
			Datasource(datasource).Height(10).Span(24).
			WithTarget(query(`max by (service) (statusd_service_status{`+sel+`,service=~"$service"})`, "{{service}}")).
			Mappings(statusMappings()).ShowValue(common.VisibilityModeNever).MergeValues(true).FillOpacity(80)).
		WithRow(dashboard.NewRowBuilder("Checks")).
		WithPanel(timeseriesPanel("Checks by level", "How many checks are at each evaluated level.", "none",
			query(`sum(statusd_check_evaluated_level{`+sel+`} == bool 0)`, "fine"),
			query(`sum(statusd_check_evaluated_level{`+sel+`} == bool 1)`, "warning"),
			query(`sum(statusd_check_evaluated_level{`+sel+`} == bool 2)`, "problem"),
		).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(timeseriesPanel("Check runs", "Runs per second, and the runs whose probe failed.", "ops",
			query(`sum(rate(statusd_check_runs_total{`+sel+`}[$__rate_interval]))`, "runs"),
			query(`sum(rate(statusd_check_failures_total{`+sel+`}[$__rate_interval]))`, "failures"),
		)).
		WithRow(dashboard.NewRowBuilder("statusd")).
		WithPanel(timeseriesPanel("Notifications", "Notifications delivered and given up on, per receiver and kind.", "ops",
			query(`sum by (receiver, kind) (rate(statusd_notifications_sent_total{`+sel+`}[$__rate_interval]))`, "sent {{receiver}} {{kind}}"),
			query(`sum by (receiver, kind) (rate(statusd_notifications_failed_total{`+sel+`}[$__rate_interval]))`, "failed {{receiver}} {{kind}}"),
		)).
		WithPanel(timeseriesPanel("Notifications waiting", "Notifications not yet sent, and the age of the oldest.", "none",
			query(`max(statusd_notifications_pending{`+sel+`})`, "pending"),
			query(`max(statusd_notifications_oldest_pending_age_seconds{`+sel+`})`, "oldest (s)"),
		)).
		WithPanel(timeseriesPanel("Scheduler delay", "How late check runs start: the 50th and 99th percentiles.", "s",
			query(`histogram_quantile(0.5, sum by (le) (rate(statusd_scheduler_delay_seconds_bucket{`+sel+`}[$__rate_interval])))`, "p50"),
			query(`histogram_quantile(0.99, sum by (le) (rate(statusd_scheduler_delay_seconds_bucket{`+sel+`}[$__rate_interval])))`, "p99"),
		)).
		WithPanel(timeseriesPanel("Evaluator and store", "Results waiting to be evaluated, and history waiting to be written.", "none",
			query(`sum(statusd_evaluator_backlog{`+sel+`})`, "evaluator backlog"),
			query(`sum(statusd_store_pending_results{`+sel+`})`, "results waiting for the database"),
			query(`min(statusd_store_up{`+sel+`})`, "database up"),
		))
}

// Check is the drill-down of checks: value, duration, success ratio and
// level over time.
func Check() *dashboard.DashboardBuilder {
	b := dashboard.NewDashboardBuilder("statusd / Check").
		Uid("statusd-check").
		Description("One check (or several) of statusd over time.").
		Tags([]string{"statusd"}).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair)
	b = variables(b, "job", "instance", "resource", "check")
	c := sel + `,resource=~"$resource",check=~"$check"`
	return b.
		WithPanel(statPanel("Success (1 hour)", "Share of the runs that succeeded in the last hour (recorded by statusd's rules).",
			`avg(resource_check:statusd_check_success:ratio_rate1h{`+c+`})`, "percentunit").
			Thresholds(thresholds(step(nil, "red"), step(cog.ToPtr(0.99), "orange"), step(cog.ToPtr(0.999), "green"))).Span(8)).
		WithPanel(statPanel("Last run", "How long ago the check last ran.",
			`max(time() - statusd_check_last_run_timestamp_seconds{`+c+`})`, "s").Span(8)).
		WithPanel(statPanel("Runs", "Runs counted since statusd started.", `sum(statusd_check_runs_total{`+c+`})`, "none").Span(8)).
		WithPanel(statetimeline.NewPanelBuilder().Title("Level").
			Description("The level of each run, and the evaluated (debounced) level that services and notifications follow.").
			Datasource(datasource).Height(8).Span(24).
			WithTarget(query(`max by (resource, check) (statusd_check_level{`+c+`})`, "{{resource}}/{{check}} run")).
			WithTarget(query(`max by (resource, check) (statusd_check_evaluated_level{`+c+`})`, "{{resource}}/{{check}} evaluated")).
			Mappings(levelMappings()).ShowValue(common.VisibilityModeNever).MergeValues(true).FillOpacity(80)).
		WithPanel(timeseriesPanel("Value", "The value each run measured, in base units (seconds, bytes, days to expiry…).", "short",
			query(`max by (resource, check) (statusd_check_value{`+c+`})`, "{{resource}}/{{check}}"))).
		WithPanel(timeseriesPanel("Duration", "How long each run took.", "s",
			query(`max by (resource, check) (statusd_check_duration_seconds{`+c+`})`, "{{resource}}/{{check}}"))).
		WithPanel(timeseriesPanel("Success ratio", "Share of the runs that succeeded.", "percentunit",
			query(`1 - sum by (resource, check) (rate(statusd_check_failures_total{`+c+`}[$__rate_interval])) / sum by (resource, check) (rate(statusd_check_runs_total{`+c+`}[$__rate_interval]))`, "{{resource}}/{{check}}"),
		).Min(0).Max(1).Span(24))
}
