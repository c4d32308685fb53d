package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
)

// The repository's rules and dashboards, from this package's folder.
const (
	rulesFile     = "../alerts/statusd.rules.yml"
	dashboardsDir = "../dashboards"
)

// prometheusDaemonConfig watches a target with several kinds of checks,
// services and a receiver, so that every metric the rules and dashboards
// use has series.
func prometheusDaemonConfig(target, hook string) string {
	return `
site: {name: ACME}
defaults: {failure_threshold: 1}
resources:
  health:
    - {name: app, kind: http, url: "` + target + `", interval: 1s, timeout: 500ms, notify: {receivers: [ops], mode: instant}}
    - {name: ping, kind: ping, interval: 1s}
  jobs:
    - {name: backup, kind: heartbeat, warning_after: 1h, problem_after: 2h}
groups:
  - {name: Shop}
services:
  - {name: App, group: Shop, checks: [health/app]}
  - {name: Payments, group: Shop}
receivers:
  ops: {webhook: {url: "` + hook + `"}}
notifier: {group_wait: 0s}
`
}

// queryResult is what Prometheus's query API answers.
type queryResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []json.RawMessage `json:"result"`
	} `json:"data"`
}

func promQuery(t *testing.T, prom, expr string) queryResult {
	t.Helper()
	resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r queryResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// dashboardQueries reads every query of the shipped dashboards, and the
// label_values queries of their variables.
func dashboardQueries(t *testing.T) (exprs, variables []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Templating struct {
				List []struct {
					Type  string `json:"type"`
					Query any    `json:"query"`
				} `json:"list"`
			} `json:"templating"`
			Panels []struct {
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for _, q := range p.Targets {
				exprs = append(exprs, q.Expr)
			}
		}
		for _, v := range d.Templating.List {
			if q, ok := v.Query.(string); ok && v.Type == "query" {
				variables = append(variables, q)
			}
		}
	}
	return exprs, variables
}

// grafanaVars fills in a query's dashboard variables as Grafana would
// with "All" selected.
var grafanaVars = strings.NewReplacer(`"$job"`, `"statusd"`, `"$instance"`, `".*"`, `"$service"`, `".*"`,
	`"$resource"`, `".*"`, `"$check"`, `".*"`, "$__rate_interval", "10s")

// The shipped rules and dashboards work against a real Prometheus
// scraping a real statusd, and three members sharing the checks: every
// metric they name exists in statusd's output, every dashboard query
// evaluates without error and with data, and every variable finds
// values; among the three, each check is exported once and the rules
// give one series per check.
func TestRulesAndDashboardsInPrometheus(t *testing.T) {
	target, _ := testsvc.Target(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(hook.Close)
	config := prometheusDaemonConfig(target.URL, hook.URL)
	t.Run("one statusd", func(t *testing.T) {
		rulesAndDashboards(t, []*daemon{start(t, config, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))})
	})
	t.Run("three members", func(t *testing.T) {
		dsn := testsvc.Postgres(t)
		rulesAndDashboards(t, []*daemon{start(t, config, dsn), start(t, config, dsn), start(t, config, dsn)})
	})
}

func rulesAndDashboards(t *testing.T, ds []*daemon) {
	// The services' statuses follow the checks' levels a moment later;
	// among members, each check is evaluated and exported by one.
	var metrics string
	eventually(t, "the checks and services to be evaluated", func() bool {
		metrics = ""
		for _, d := range ds {
			_, m := d.get(t, "/metrics")
			metrics += m
		}
		return strings.Count(metrics, `statusd_check_evaluated_level{check="app",`) == 1 &&
			strings.Count(metrics, `statusd_check_evaluated_level{check="ping",`) == 1 && strings.Contains(metrics, "\nstatusd_service_status{")
	})

	// Every metric named by a rule or a dashboard is in statusd's output.
	have := map[string]bool{}
	for _, line := range strings.Split(metrics, "\n") {
		if name, _, ok := strings.Cut(line, "{"); ok && !strings.HasPrefix(line, "#") {
			have[name] = true
		} else if f := strings.Fields(line); len(f) == 2 {
			have[f[0]] = true
		}
	}
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	exprs, variables := dashboardQueries(t)
	// (A recorded series, level:statusd_…:operation, is the rules' own.)
	var used []string
	for _, m := range regexp.MustCompile(`(?:^|[^:\w])(statusd_[a-z0-9_]+)\b`).FindAllStringSubmatch(string(rules)+"\n"+strings.Join(exprs, "\n")+"\n"+strings.Join(variables, "\n"), -1) {
		used = append(used, m[1])
	}
	if len(used) < 20 {
		t.Fatalf("only %d metric names found in the rules and dashboards: %v", len(used), used)
	}
	slices.Sort(used)
	for _, name := range slices.Compact(used) {
		if !have[name] {
			t.Errorf("%s is used by a rule or a dashboard and statusd does not export it", name)
		}
	}

	dir := t.TempDir()
	rulesAbs, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, d := range ds {
		targets = append(targets, strings.TrimPrefix(d.url, "http://"))
	}
	list, _ := json.Marshal(targets)
	prom := testsvc.Prometheus(t, dir, fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: statusd
    static_configs: [{targets: %s}]
`, rulesAbs, list))
	// Enough scrapes for rates over $__rate_interval, and rules evaluated.
	eventuallyWithin(t, time.Minute, "Prometheus to have 10s of statusd", func() bool {
		r := promQuery(t, prom, `count_over_time(up{job="statusd"}[30s]) >= 8`)
		return r.Status == "success" && len(r.Data.Result) == len(ds)
	})
	eventuallyWithin(t, time.Minute, "the rules to be evaluated", func() bool {
		r := promQuery(t, prom, `resource_check:statusd_check_success:ratio_rate1h`)
		return len(r.Data.Result) > 0
	})
	// One series per check, however many members: the checks' series
	// (exported by the member that runs each) and the rules' (which
	// aggregate instance away).
	for _, q := range []string{
		`count by (resource, check) (statusd_check_success{job="statusd"}) > 1`,
		`count by (resource, check) (resource_check:statusd_check_success:ratio_rate1h) > 1`,
		`count by (service) (service:statusd_service_up:ratio_avg1h) > 1`,
	} {
		if r := promQuery(t, prom, q); r.Status != "success" || len(r.Data.Result) != 0 {
			t.Errorf("%s: %s %s", q, r.Status, r.Data.Result)
		}
	}
	if r := promQuery(t, prom, `resource_check:statusd_check_success:ratio_rate1h{check="app"}`); len(r.Data.Result) != 1 {
		t.Errorf("health/app's success ratio: %d series, want 1", len(r.Data.Result))
	}
	for _, e := range exprs {
		q := grafanaVars.Replace(e)
		r := promQuery(t, prom, q)
		if r.Status != "success" {
			t.Errorf("%s: %s", q, r.Error)
		} else if len(r.Data.Result) == 0 {
			t.Errorf("%s: no data", q)
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.*), (\w+)\)$`)
	for _, v := range variables {
		m := labelValues.FindStringSubmatch(grafanaVars.Replace(v))
		if m == nil {
			t.Errorf("variable query %q is not label_values(metric, label)", v)
			continue
		}
		resp, err := http.Get(prom + "/api/v1/label/" + m[2] + "/values?match[]=" + url.QueryEscape(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Data []string `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || len(r.Data) == 0 {
			t.Errorf("variable %s finds no values (%v)", v, err)
		}
	}
}

func evaluatedLevelOf(t *testing.T, d *daemon, check string) string {
	t.Helper()
	// Every member evaluates every check; only its owner exports it.
	level, evaluated, _ := d.app.evaluator.Monitor(status.CheckID{Resource: "health", Check: check})
	if !evaluated {
		return ""
	}
	return strconv.Itoa(int(level))
}

// From a broken target to the public page, through the real programs:
// statusd sees the check fail and Prometheus fires the shipped rule; an
// operator's alert about the same app, with a statusd_service label, goes
// through Alertmanager to statusd's intake, and the service shows the
// outage in the summary and on the page; then all of it recovers.
func TestAlertsThroughAlertmanager(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := 0
		if up.Load() {
			v = 1
		}
		if r.URL.Path == "/metrics" {
			fmt.Fprintf(w, "# TYPE app_up gauge\napp_up %d\n", v)
			return
		}
		if v == 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(app.Close)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(hook.Close)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
	d := start(t, prometheusDaemonConfig(app.URL, hook.URL), dsn)
	token := addToken(t, dsn, "alertmanager", store.ScopeWrite)

	dir := t.TempDir()
	am := testsvc.Alertmanager(t, dir, fmt.Sprintf(`
route:
  receiver: statusd
  group_by: [alertname, statusd_service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: statusd
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          authorization: {type: Bearer, credentials: %q}
`, d.url+"/api/v1/alertmanager", token))

	// The shipped rules, with their for: durations cut to a second so
	// that the test does not wait minutes; and an operator's rule.
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	short := regexp.MustCompile(`(?m)^(\s+for:) \S+$`).ReplaceAll(rules, []byte("$1 1s"))
	if err := os.WriteFile(filepath.Join(dir, "statusd.rules.yml"), short, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.rules.yml"), []byte(`
groups:
  - name: app
    rules:
      - alert: PaymentsAppDown
        expr: app_up == 0
        labels: {severity: critical, statusd_service: Payments}
        annotations: {summary: The payments app is down}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := testsvc.Prometheus(t, dir, fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [statusd.rules.yml, app.rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: [%q]}]}]
scrape_configs:
  - job_name: statusd
    static_configs: [{targets: [%q]}]
  - job_name: app
    static_configs: [{targets: [%q]}]
`, strings.TrimPrefix(am, "http://"), strings.TrimPrefix(d.url, "http://"), strings.TrimPrefix(app.URL, "http://")))
	eventually(t, "Prometheus to scrape both", func() bool {
		r := promQuery(t, prom, `up == 1`)
		return len(r.Data.Result) == 2
	})
	// statusd reads its tokens every few seconds.
	eventually(t, "the token to be known", func() bool {
		req, _ := http.NewRequest(http.MethodPost, d.url+"/api/v1/alertmanager", strings.NewReader(`{"version":"4","alerts":[]}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	firing := func() []string {
		resp, err := http.Get(prom + "/api/v1/alerts")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range r.Data.Alerts {
			if a.State == "firing" {
				out = append(out, a.Labels["alertname"]+" "+a.Labels["check"]+a.Labels["service"])
			}
		}
		slices.Sort(out)
		return out
	}
	summary := func() string { _, s := d.get(t, "/api/v1/summary"); return s }

	up.Store(false)
	eventually(t, "Prometheus to fire the shipped rule and the operator's", func() bool {
		f := firing()
		return slices.Contains(f, "StatusdCheckProblem app") && slices.Contains(f, "PaymentsAppDown ")
	})
	eventually(t, "Alertmanager's webhook to put Payments in major outage", func() bool {
		return strings.Contains(summary(), `{"name":"Payments","group":"Shop","description":"","link":"","priority":0,"status":"major_outage"`)
	})
	eventually(t, "the page to show it", func() bool {
		_, p := d.get(t, "/")
		return strings.Contains(p, "Some systems are experiencing major outages") && strings.Contains(p, "Payments: The payments app is down")
	})
	_, hist := d.get(t, "/api/v1/services/Payments/history")
	if !strings.Contains(hist, `"cause":"alert"`) {
		t.Errorf("Payments' history: %s", hist)
	}

	up.Store(true)
	eventually(t, "the resolved alert to put Payments back", func() bool {
		return strings.Contains(summary(), `"name":"Payments","group":"Shop","description":"","link":"","priority":0,"status":"operational"`)
	})
	eventually(t, "the incident to be resolved", func() bool {
		_, s := d.get(t, "/api/v1/incidents?state=closed")
		return strings.Contains(s, "The alerts about Payments resolved (PaymentsAppDown).")
	})
	// (The heartbeat that never reported stays at problem, rightly.)
	eventually(t, "Prometheus to stop firing about the app", func() bool {
		f := firing()
		return !slices.Contains(f, "StatusdCheckProblem app") && !slices.Contains(f, "PaymentsAppDown ")
	})
}
