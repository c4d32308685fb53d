package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/statusd/statusd/internal/status"
)

// testEnv has a fixed environment and files.
func testEnv(vars map[string]string, files map[string]string) Env {
	return Env{
		LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
	}
}

func parse(t *testing.T, text string) (*Config, Errors) {
	t.Helper()
	return parseEnv(t, text, testEnv(nil, nil))
}

func parseEnv(t *testing.T, text string, env Env) (*Config, Errors) {
	t.Helper()
	c, err := Parse([]byte(text), "statusd.yml", env)
	if err == nil {
		return c, nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse returned %T, want Errors: %v", err, err)
	}
	if c != nil {
		t.Fatal("Parse returned a config together with errors")
	}
	return nil, errs
}

func TestDefaultConfig(t *testing.T) {
	c := Default()
	var ids []string
	c.Each(func(r string, ch *Check) { ids = append(ids, ch.ID(r).String()+":"+ch.Kind) })
	want := "health/ping:ping health/storage:storage stats/code:build"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("built-in checks = %s, want %s", got, want)
	}
	if c.Defaults.Interval != DefaultInterval || c.Scheduler.MaxConcurrency != DefaultMaxConcurrency {
		t.Errorf("defaults not applied: %+v %+v", c.Defaults, c.Scheduler)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	env := OSEnv()
	// Secrets are set; addresses fall back to the examples' defaults.
	env.LookupEnv = func(k string) (string, bool) { return "example-" + k, strings.HasSuffix(k, "_TOKEN") }
	env.ReadFile = func(name string) ([]byte, error) {
		switch {
		case strings.HasSuffix(name, "ca.pem"):
			return os.ReadFile("testdata/ca.pem")
		case strings.HasSuffix(name, "-key.pem"):
			return os.ReadFile("testdata/client-key.pem")
		case strings.HasSuffix(name, ".pem"):
			return os.ReadFile("testdata/client.pem")
		case strings.HasSuffix(name, "_webhook"):
			return []byte("https://hooks.slack.com/services/T0/B0/secret\n"), nil
		case strings.HasPrefix(name, "/run/secrets/"):
			return []byte("secret\n"), nil
		}
		return os.ReadFile(name)
	}
	files, _ := filepath.Glob("../../examples/*.yml")
	if len(files) < 2 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		if _, err := Load(f, env); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestThreeMistakesAllReported(t *testing.T) {
	_, errs := parse(t, `
defaults:
  interval: 30s
resources:
  health:
    - name: api
      kind: http
      url: https://api.example/healthz
      intervall: 10s
    - name: db
      kind: tcp
      address: db:5432
      timeout: forever
    - name: web
      kind: http
      url: https://example.com/
      interval: 10s
      timeout: 20s
`)
	want := []string{
		`statusd.yml:9: resources.health[0].intervall: unknown field for kind http (did you mean "interval"?)`,
		`statusd.yml:13: resources.health[1].timeout: invalid duration "forever": use a number and a unit: ms, s, m, h, d, w, y`,
		`statusd.yml:18: resources.health[2].timeout: must be less than interval (10s)`,
	}
	if got := errs.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"syntax", "resources:\n  health: [\n", []string{"statusd.yml:2: invalid YAML: did not find expected node content"}},
		{"unknown top-level key", "sit: {name: x}\n", []string{`statusd.yml:1: sit: unknown field (did you mean "site"?)`}},
		{"unknown kind", "resources:\n  health:\n    - {name: a, kind: htp}\n", []string{`statusd.yml:3: resources.health[0].kind: unknown kind "htp" (known kinds: `}},
		{"missing kind", "resources:\n  health:\n    - {name: a}\n", []string{`statusd.yml:3: resources.health[0].kind: required`}},
		{"missing name", "resources:\n  health:\n    - kind: ping\n", []string{`statusd.yml:3: resources.health[0].name: required`}},
		{"duplicate check", "resources:\n  health:\n    - {name: a, kind: ping}\n    - {name: a, kind: ping}\n", []string{`statusd.yml:4: resources.health[1].name: duplicate check "a" in resource health (first at resources.health[0])`}},
		{"duplicate key", "site: {name: a, name: b}\n", []string{`statusd.yml:1: site.name: duplicate key`}},
		{"bad name", "resources:\n  health:\n    - {name: 'a b', kind: ping}\n", []string{`resources.health[0].name: invalid check name "a b"`}},
		{"bad resource name", "resources:\n  'he alth': []\n", []string{`statusd.yml:2: resources.he alth: invalid resource name`}},
		{"wrong type", "scheduler:\n  max_concurrency: lots\n", []string{`statusd.yml:2: scheduler.max_concurrency: expected a whole number, got "lots"`}},
		{"list for scalar", "site:\n  name: [a]\n", []string{`statusd.yml:2: site.name: expected a string, got a list`}},
		{"resources not a map", "resources: [a]\n", []string{`statusd.yml:1: resources: expected a mapping of resource names`}},
		{"threshold syntax", "resources:\n  health:\n    - {name: a, kind: http, url: 'http://x/', problem: 'value >> 2'}\n", []string{`statusd.yml:3: resources.health[0].problem: condition "value >> 2": column 8: expected a number`}},
		{"threshold on valueless kind", "resources:\n  health:\n    - {name: a, kind: ping, warning: 'value > 1'}\n", []string{`resources.health[0].warning: kind ping measures no value to compare`}},
		{"option of another kind", "resources:\n  health:\n    - {name: a, kind: tcp, address: 'x:1', url: 'http://x/'}\n", []string{`resources.health[0].url: unknown field for kind tcp`}},
		{"http without url", "resources:\n  health:\n    - {name: a, kind: http}\n", []string{`statusd.yml:3: resources.health[0].url: required`}},
		{"bad status code", "resources:\n  health:\n    - {name: a, kind: http, url: 'http://x/', expected_status: [200, 7xx]}\n", []string{`resources.health[0].expected_status[1]: invalid status code "7xx"`}},
		{"bad regexp", "resources:\n  health:\n    - {name: a, kind: http, url: 'http://x/', body_regex: '(('}\n", []string{`resources.health[0].body_regex: invalid regular expression`}},
		{"tcp address", "resources:\n  health:\n    - {name: a, kind: tcp, address: nohost}\n", []string{`resources.health[0].address: must be host:port, got "nohost"`}},
		{"dns type", "resources:\n  health:\n    - {name: a, kind: dns, query: x, type: SRVX}\n", []string{`resources.health[0].type: unsupported record type "SRVX"`}},
		{"command empty", "resources:\n  health:\n    - {name: a, kind: command, command: []}\n", []string{`resources.health[0].command: required`}},
		{"heartbeat order", "resources:\n  health:\n    - {name: a, kind: heartbeat, warning_after: 2h, problem_after: 1h}\n", []string{`resources.health[0].warning_after: must not exceed problem_after (1h)`}},
		{"page unknown key", "page:\n  incident_day: 3\n", []string{`statusd.yml:2: page.incident_day: unknown field (did you mean "incident_days"?)`}},
		{"page incident days", "page: {incident_days: -1}\n", []string{`statusd.yml:1: page.incident_days: must be from 0 (none by date) to 3650, got -1`}},
		{"page auto refresh", "page: {auto_refresh: 100ms}\n", []string{`statusd.yml:1: page.auto_refresh: must be 0s (off) or at least 1s, got 100ms`}},
		{"page favicon missing", "page:\n  favicons: {major_outage: red.ico}\n", []string{`statusd.yml:2: page.favicons.major_outage: cannot read red.ico: file does not exist`}},
		{"page favicon type", "page:\n  favicons: {default: icon.bmp}\n", []string{`statusd.yml:2: page.favicons.default: icon.bmp: use an .ico, .png, .svg or .gif file`}},
		{"page templates dir", "page: {templates_dir: /nonexistent/templates}\n", []string{`statusd.yml:1: page.templates_dir: cannot read /nonexistent/templates: no such file or directory`}},
		{"timezone", "site: {timezone: Mars/Olympus}\n", []string{`statusd.yml:1: site.timezone: unknown time zone "Mars/Olympus"`}},
		{"env unset", "site: {name: '${NOPE}'}\n", []string{`statusd.yml:1: site.name: environment variable NOPE is not set`}},
		{"secret file missing", "resources:\n  health:\n    - {name: a, kind: heartbeat, token_file: tok}\n", []string{`statusd.yml:3: resources.health[0].token_file: cannot read tok: file does not exist`}},
		{"secret and file", "resources:\n  health:\n    - {name: a, kind: heartbeat, token: x, token_file: tok}\n", []string{`resources.health[0].token_file: cannot be used together with token`}},
		{"moved http option", "resources:\n  health:\n    - {name: a, kind: http, url: 'https://x/', ca_file: ca.pem}\n", []string{`statusd.yml:3: resources.health[0].ca_file: unknown field for kind http (it is now tls_config.ca_file)`}},
		{"moved tls option", "resources:\n  health:\n    - name: a\n      kind: tls\n      address: 'x:443'\n      server_name: x\n", []string{`statusd.yml:6: resources.health[0].server_name: unknown field for kind tls (it is now tls_config.server_name)`}},
		{"unknown client option", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      tls_config:\n        ca_fiel: x\n", []string{`statusd.yml:7: resources.health[0].tls_config.ca_fiel: unknown field (did you mean "ca_file"?)`}},
		{"two kinds of credentials", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      bearer_token: t\n      basic_auth: {username: u, password: p}\n", []string{`statusd.yml:3: resources.health[0]: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured`}},
		{"client cert without key", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      tls_config: {cert: abc}\n", []string{`statusd.yml:6: resources.health[0].tls_config: exactly one of key or key_file must be configured`}},
		{"client cert file missing", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      tls_config:\n        cert_file: c.pem\n        key_file: k.pem\n", []string{`statusd.yml:7: resources.health[0].tls_config.cert_file: cannot read c.pem: file does not exist`, `statusd.yml:8: resources.health[0].tls_config.key_file: cannot read k.pem: file does not exist`}},
		{"secret reference", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      basic_auth: {username: u, password_ref: vault}\n", []string{`statusd.yml:6: resources.health[0].basic_auth.password_ref: secret references are not supported; use password_file`}},
		{"bad tls version", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      tls_config: {min_version: TLS9}\n", []string{`statusd.yml:6: resources.health[0].tls_config.min_version: unknown TLS version: TLS9`}},
		{"bad proxy", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      no_proxy: example.com\n", []string{`statusd.yml:3: resources.health[0]: if no_proxy is configured, proxy_url must also be configured`}},
		{"reserved header", "resources:\n  health:\n    - name: a\n      kind: http\n      url: 'https://x/'\n      http_headers: {Authorization: {values: [x]}}\n", []string{`statusd.yml:3: resources.health[0]: setting header "Authorization" is not allowed`}},
		{"template impact", "incidents:\n  templates:\n    - {name: slow, title: Slow, impact: severe}\n", []string{`statusd.yml:3: incidents.templates[0].impact: must be none, minor, major or critical, got "severe"`}},
		{"template twice", "incidents:\n  templates:\n    - {name: slow, title: Slow}\n    - {name: slow, message: x}\n", []string{`statusd.yml:4: incidents.templates[1].name: template "slow" is defined twice`}},
		{"template empty", "incidents:\n  templates:\n    - {name: slow, state: resolved}\n", []string{`statusd.yml:3: incidents.templates[0]: gives neither a title nor a message`}},
		{"note interval", "incidents: {note_interval: often}\n", []string{`statusd.yml:1: incidents.note_interval:`}},
		{"body size", "resources:\n  health:\n    - {name: a, kind: http, url: 'https://x/', body_size_limit: lots}\n", []string{`statusd.yml:3: resources.health[0].body_size_limit:`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := parse(t, c.text)
			if len(errs) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(c.want), errs)
			}
			for i, w := range c.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

func TestBadValueReportedOnce(t *testing.T) {
	// A duration that fails to decode must not also be reported by validation.
	_, errs := parse(t, "defaults:\n  timeout: soon\n")
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
}

func TestDefaultsAndOptions(t *testing.T) {
	c, errs := parse(t, `
defaults: {interval: 1m, timeout: 5s}
resources:
  health:
    - {name: api, kind: http, url: "https://api.example/", problem: "value > 2", expected_status: [200, 3xx]}
    - {name: fast, kind: tcp, address: "db:5432", interval: 2s}
    - {name: dns, kind: dns, query: example.com, server: 10.0.0.1}
    - {name: hb, kind: heartbeat, problem_after: 50h}
    - {name: hb2, kind: heartbeat, warning_after: 1h}
    - {name: cert, kind: tls, address: "example.com:443"}
`)
	if errs != nil {
		t.Fatal(errs)
	}
	checks := c.Resources[0].Checks
	api := checks[0]
	if api.Interval != model.Duration(time.Minute) || api.Timeout != model.Duration(5*time.Second) {
		t.Errorf("api interval/timeout = %s/%s", api.Interval, api.Timeout)
	}
	if api.HTTP.Method != "GET" || !api.HTTP.FollowRedirects || !api.HTTP.EnableHTTP2 || api.HTTP.BodySizeLimit != 1<<20 {
		t.Errorf("http defaults: %+v", api.HTTP)
	}
	if !api.HTTP.ExpectedStatus[1].Contains(302) || api.HTTP.ExpectedStatus[0].Contains(201) {
		t.Errorf("expected status ranges: %v", api.HTTP.ExpectedStatus)
	}
	if !api.Problem.Eval(2.5) || api.Problem.Eval(2) {
		t.Error("problem threshold not parsed")
	}
	if fast := checks[1]; fast.Timeout >= fast.Interval {
		t.Errorf("default timeout %s not below interval %s", fast.Timeout, fast.Interval)
	}
	if checks[2].DNS.Server != "10.0.0.1:53" || checks[2].DNS.Type != "A" {
		t.Errorf("dns defaults: %+v", checks[2].DNS)
	}
	if hb := checks[3].Heartbeat; hb.WarningAfter != hb.ProblemAfter {
		t.Errorf("heartbeat with only problem_after: %+v", hb)
	}
	if hb := checks[4].Heartbeat; hb.ProblemAfter != model.Duration(2*time.Hour) {
		t.Errorf("heartbeat with only warning_after: %+v", hb)
	}
	if tls := checks[5].TLS; tls.WarningDays != 14 || tls.ProblemDays != 3 {
		t.Errorf("tls defaults: %+v", tls)
	}
	if *c.Storage.ResultsInterval != model.Duration(time.Minute) {
		t.Errorf("results_interval default = %s", c.Storage.ResultsInterval)
	}
	c, errs = parse(t, "storage: {results_interval: 0s}\n")
	if errs != nil || *c.Storage.ResultsInterval != 0 {
		t.Errorf("explicit results_interval 0s: %v %v", c, errs)
	}
}

func TestEnvAndSecrets(t *testing.T) {
	env := testEnv(
		map[string]string{"TOKEN": "s3cret", "PORT": "6543", "HOST": "db"},
		map[string]string{"secrets/tok": "from-file\n"},
	)
	c, err := Parse([]byte(`
site: {name: "${SITE:-ACME}"}
scheduler:
  max_concurrency: ${PORT}
resources:
  health:
    - {name: a, kind: heartbeat, token: "${TOKEN}"}
    - {name: b, kind: heartbeat, token_file: tok}
    - {name: c, kind: tcp, address: "${HOST}:${PORT}", send: "cost $${NOT_EXPANDED}"}
`), "secrets/statusd.yml", env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Site.Name != "ACME" || c.Scheduler.MaxConcurrency != 6543 {
		t.Errorf("expansion: site %q, concurrency %d", c.Site.Name, c.Scheduler.MaxConcurrency)
	}
	hc := c.Resources[0].Checks
	if hc[0].Heartbeat.Token != "s3cret" || hc[1].Heartbeat.Token != "from-file" {
		t.Errorf("secrets: %q %q", hc[0].Heartbeat.Token, hc[1].Heartbeat.Token)
	}
	if hc[2].TCP.Address != "db:6543" || hc[2].TCP.Send != "cost ${NOT_EXPANDED}" {
		t.Errorf("tcp: %+v", hc[2].TCP)
	}
}

// A blackbox_exporter http module's client settings can be pasted in.
func TestHTTPClientOptions(t *testing.T) {
	ca, err := os.ReadFile("testdata/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(nil, map[string]string{"conf/ca.pem": string(ca), "conf/pw": "hunter2\n", "conf/tok": "t0k\n", "conf/key": "x"})
	c, err := Parse([]byte(`
resources:
  health:
    - name: api
      kind: http
      url: https://api.example/
      body_size_limit: 10MiB
      basic_auth: {username: status, password_file: pw}
      tls_config: {ca_file: ca.pem, server_name: api.internal, min_version: TLS12, insecure_skip_verify: false}
      proxy_url: http://proxy.example:3128
      no_proxy: localhost,.internal
      proxy_connect_header: {X-Tenant: [ops]}
      follow_redirects: false
      enable_http2: false
      http_headers:
        X-Api-Key: {files: [key]}
    - name: token
      kind: http
      url: https://api.example/
      authorization: {type: Token, credentials_file: tok}
    - name: bearer
      kind: http
      url: https://api.example/
      bearer_token: abc
`), "conf/statusd.yml", env)
	if err != nil {
		t.Fatal(err)
	}
	api := c.Resources[0].Checks[0].HTTP
	if api.BasicAuth.Username != "status" || api.BasicAuth.PasswordFile != filepath.Join("conf", "pw") || api.BasicAuth.Password != "" {
		t.Errorf("basic_auth: %+v (files are read when a request is made)", api.BasicAuth)
	}
	if api.TLSConfig.CAFile != filepath.Join("conf", "ca.pem") || api.TLSConfig.ServerName != "api.internal" || api.TLSConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("tls_config: %+v", api.TLSConfig)
	}
	if api.ProxyURL.String() != "http://proxy.example:3128" || api.NoProxy != "localhost,.internal" || api.ProxyConnectHeader["X-Tenant"][0] != "ops" {
		t.Errorf("proxy: %+v", api.ProxyConfig)
	}
	if api.FollowRedirects || api.EnableHTTP2 || api.BodySizeLimit != 10<<20 {
		t.Errorf("follow_redirects %v enable_http2 %v body_size_limit %v", api.FollowRedirects, api.EnableHTTP2, api.BodySizeLimit)
	}
	if h := api.HTTPHeaders.Headers["X-Api-Key"]; len(h.Files) != 1 || h.Files[0] != filepath.Join("conf", "key") {
		t.Errorf("http_headers: %+v", api.HTTPHeaders)
	}
	tok := c.Resources[0].Checks[1].HTTP
	if tok.Authorization.Type != "Token" || tok.Authorization.CredentialsFile != filepath.Join("conf", "tok") {
		t.Errorf("authorization: %+v", tok.Authorization)
	}
	// bearer_token is the older spelling of authorization.
	if b := c.Resources[0].Checks[2].HTTP; b.Authorization == nil || b.Authorization.Type != "Bearer" || b.Authorization.Credentials != "abc" {
		t.Errorf("bearer_token: %+v", b.Authorization)
	}
	if strings.Contains(fmt.Sprintf("%+v", c.Resources[0].Checks[2].HTTP), "abc") {
		t.Error("a printed config shows the bearer token")
	}
}

func TestOrderPreserved(t *testing.T) {
	c, errs := parse(t, "resources:\n  stats: [{name: z, kind: build}]\n  health: [{name: b, kind: ping}, {name: a, kind: ping}]\n  custom: []\n")
	if errs != nil {
		t.Fatal(errs)
	}
	var got []string
	c.Each(func(r string, ch *Check) { got = append(got, ch.ID(r).String()) })
	if strings.Join(got, ",") != "stats/z,health/b,health/a" || c.Resources[2].Name != "custom" {
		t.Errorf("order = %v, resources %v", got, c.Resources)
	}
}

func TestEmptyFileIsValid(t *testing.T) {
	c, errs := parse(t, "# nothing yet\n")
	if errs != nil || c == nil || c.Site.Name != "statusd" {
		t.Fatalf("empty file: %v %v", c, errs)
	}
}

// FuzzParse feeds arbitrary text to the loader: it must never panic, and it
// must return either a config or errors, each naming the file.
func FuzzParse(f *testing.F) {
	seeds := []string{
		string(defaultYAML),
		"resources:\n  health:\n    - {name: a, kind: http, url: 'http://x/', problem: 'value > 2', json: [{path: a.b, equals: 1}]}\n",
		"resources: {h: [{name: x, kind: heartbeat, token_file: t}]}",
		"resources: {h: [{name: x, kind: http, url: 'https://x/', basic_auth: {username: u, password_file: t}, tls_config: {min_version: TLS12, server_name: x}, proxy_url: 'http://p:3128', http_headers: {X-A: {values: [b]}}, body_size_limit: 2MiB}]}",
		"resources: {h: [{name: x, kind: tls, address: 'x:443', tls_config: {insecure_skip_verify: true}}]}",
		"resources: {h: [{name: a, kind: ping, notify: {receivers: [r], mode: instant, repeat: 1h}}]}\ngroups: [{name: G, collapse: always}]\nservices: [{name: S, group: G, checks: [h/a], on_problem: major_outage}]\nreceivers: {r: {webhook: {url: 'https://x/', body_template: '{{.Kind}}'}}}\ndigest: {schedule: '0 9 * * 1-5'}",
		"a: &x [1]\nb: *x\n",
		"site: {name: '${A:-b}'}",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	env := testEnv(map[string]string{"A": "1"}, map[string]string{"t": "tok"})
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse([]byte(text), "f.yml", env)
		if (c == nil) == (err == nil) {
			t.Fatalf("want exactly one of config and error, got %v and %v", c, err)
		}
		var errs Errors
		if err != nil && (!errors.As(err, &errs) || len(errs) == 0) {
			t.Fatalf("error is not a non-empty Errors: %v", err)
		}
		for _, e := range errs {
			if e.File != "f.yml" {
				t.Fatalf("error without file: %v", e)
			}
		}
	})
}

func TestAliasBomb(t *testing.T) {
	// Nested aliases inside a free-form value must not expand exponentially.
	var b strings.Builder
	b.WriteString("resources:\n  h:\n    - name: a\n      kind: http\n      url: http://x/\n      json:\n        - path: p\n          equals:\n            l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "            l%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			fmt.Fprintf(&b, "*l%d, ", i-1)
		}
		b.WriteString("x]\n")
	}
	_, errs := parse(t, b.String())
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "resources.h[0].json[0].equals") {
		t.Fatalf("want one error on equals, got %v", errs)
	}
}

func TestServicesAndReceivers(t *testing.T) {
	env := testEnv(nil, map[string]string{"conf/hook": "https://hooks.slack.com/services/T/B/x\n", "conf/teams.tmpl": `{"text": "{{.Kind}}"}`})
	c, err := Parse([]byte(`
site: {url: "https://status.acme.example", timezone: Europe/Rome}
resources:
  health:
    - {name: api, kind: http, url: "https://api.acme.example/", notify: {receivers: [ops], mode: instant}}
    - {name: db, kind: tcp, address: "db:5432", failure_threshold: 3, notify: {receivers: [ops, mail]}}
groups:
  - {name: Website, priority: 10, collapse: when_operational}
  - {name: Internal}
services:
  - {name: API, group: Website, checks: [health/api, health/db], on_problem: major_outage, auto_incident: true, notify: {receivers: [ops]}}
  - {name: Docs}
receivers:
  ops: {slack: {webhook_url_file: hook}, ignore_degraded: true}
  mail: {email: {to: ["Alice <alice@acme.example>"]}, all_clear: true}
  teams: {webhook: {url: "https://teams.example/hook", body_template_file: teams.tmpl}}
smtp: {host: smtp.acme.example}
digest: {schedule: "0 9 * * 1-5"}
`), "conf/statusd.yml", env)
	if err != nil {
		t.Fatal(err)
	}
	api, db := c.Resources[0].Checks[0], c.Resources[0].Checks[1]
	if api.FailureThreshold != 2 || api.SuccessThreshold != 1 || db.FailureThreshold != 3 {
		t.Errorf("thresholds: %d/%d, %d", api.FailureThreshold, api.SuccessThreshold, db.FailureThreshold)
	}
	if n := api.Notify; n.Mode != NotifyInstant || n.Repeat != DefaultRepeat || !n.Resolved() {
		t.Errorf("api notify: %+v", n)
	}
	if n := db.Notify; n.Mode != NotifyDigest {
		t.Errorf("db notify mode %q, want digest by default", n.Mode)
	}
	if g := c.Groups[1]; g.Collapse != CollapseNever {
		t.Errorf("group default collapse: %+v", g)
	}
	s := c.Services[0]
	if s.ProblemStatus() != status.MajorOutage || len(s.CheckIDs()) != 2 || s.CheckIDs()[1].String() != "health/db" || c.Services[1].ProblemStatus() != status.PartialOutage {
		t.Errorf("services: %+v", c.Services)
	}
	if r := c.Receivers["ops"]; r.Slack.WebhookURL != "https://hooks.slack.com/services/T/B/x" || r.Slack.APIURL != "https://slack.com/api/" || !r.Slack.HTTPConfig.FollowRedirects {
		t.Errorf("slack: %+v", r.Slack)
	}
	if w := c.Receivers["teams"].Webhook; w.BodyTemplate != `{"text": "{{.Kind}}"}` || w.ContentType != "application/json" {
		t.Errorf("webhook: %+v", w)
	}
	if c.SMTP.From != "status@status.acme.example" || c.SMTP.Port != 587 || c.SMTP.TLS != "starttls" {
		t.Errorf("smtp defaults: %+v", c.SMTP)
	}
	next, ok := c.Digest.Next(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) // a Friday, 13:00 in Rome
	if !ok || !next.Equal(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("next digest after Friday noon: %s, want Monday 09:00 in Rome", next)
	}
}

func TestServiceAndReceiverErrors(t *testing.T) {
	_, errs := parse(t, `
resources:
  health:
    - {name: api, kind: ping, notify: {receivers: [nobody], mode: sometimes}}
groups:
  - {name: Website, collapse: maybe}
  - {name: Website}
services:
  - {name: API, group: Web, checks: [health/apii, health, health/api, health/api], on_problem: degraded}
  - {name: API}
  - {name: Docs, notify: {receivers: [ops]}}
receivers:
  ops: {}
  chat: {slack: {token: xoxb-1}}
  mail: {email: {to: ["not an address"]}}
  hook: {webhook: {body_template: "{{.Kind"}}
digest: {schedule: "every monday"}
`)
	want := []string{
		`statusd.yml:4: resources.health[0].notify.receivers[0]: unknown receiver "nobody" (known: chat, hook, mail, ops)`,
		`statusd.yml:4: resources.health[0].notify.mode: must be instant, digest or none, got "sometimes"`,
		`statusd.yml:6: groups[0].collapse: must be never, always or when_operational, got "maybe"`,
		`statusd.yml:7: groups[1].name: duplicate group "Website" (first at groups[0])`,
		`statusd.yml:9: services[0].group: unknown group "Web" (known: Website)`,
		`statusd.yml:9: services[0].on_problem: must be partial_outage or major_outage, got "degraded"`,
		`statusd.yml:9: services[0].checks[0]: unknown check health/apii`,
		`statusd.yml:9: services[0].checks[1]: check "health": want resource/check`,
		`statusd.yml:9: services[0].checks[3]: check health/api listed twice`,
		`statusd.yml:10: services[1].name: duplicate service "API" (first at services[0])`,
		`statusd.yml:13: receivers.ops: needs at least one of slack, email and webhook`,
		`statusd.yml:14: receivers.chat.slack.channel: required with token`,
		`statusd.yml:15: receivers.mail.email.to[0]: invalid address "not an address"`,
		`statusd.yml:16: receivers.hook.webhook.url: required (or url_file)`,
		`statusd.yml:16: receivers.hook.webhook.body_template: body_template:1: unclosed action`,
		`statusd.yml:17: digest.schedule: invalid cron expression "every monday"`,
		`statusd.yml: smtp.host: required: an email receiver is configured`,
		`statusd.yml: smtp.from: required when site.url is not set`,
	}
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Error()] = true
	}
	for _, w := range want {
		found := false
		for g := range got {
			if strings.HasPrefix(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error %q", w)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("%d errors, want %d:\n%v", len(errs), len(want), errs)
	}
}

func TestPageDefaults(t *testing.T) {
	c, err := Parse([]byte("site: {name: ACME}\n"), "statusd.yml", Env{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Page
	if p.Title != "ACME" || *p.IncidentDays != 7 || !*p.OpenIncidentsAlways || p.AutoRefresh != 0 || p.PublicChecks || p.TemplatesDir != "" {
		t.Errorf("defaults: %+v", p)
	}
	c, err = Parse([]byte("page: {incident_days: 0, open_incidents_always: false, title: Status}\n"), "conf/statusd.yml", Env{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if *c.Page.IncidentDays != 0 || *c.Page.OpenIncidentsAlways || c.Page.Title != "Status" {
		t.Errorf("explicit zero values lost: %+v", c.Page)
	}
}

func TestLoadOrBuiltin(t *testing.T) {
	t.Chdir(t.TempDir())
	c, builtin, err := LoadOrBuiltin(DefaultFile, OSEnv())
	if err != nil || !builtin || len(c.Resources) != 2 || c.File != "" {
		t.Fatalf("default file missing: %v %v %v", c, builtin, err)
	}
	if _, builtin, err := LoadOrBuiltin("other.yml", OSEnv()); err == nil || builtin {
		t.Error("a missing explicit config file was accepted")
	}
	if err := os.WriteFile(DefaultFile, []byte("resources: {health: [{name: a, kind: ping}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, builtin, err := LoadOrBuiltin(DefaultFile, OSEnv()); err != nil || builtin || c.File != DefaultFile {
		t.Errorf("default file present: %v %v %v", c, builtin, err)
	}
}

// Every kind's options type sets its defaults, validates itself and says
// whether it measures a value (kindOptions); a kind added without them
// fails here.
func TestKinds(t *testing.T) {
	typ := reflect.TypeFor[Check]()
	options := reflect.TypeFor[kindOptions]()
	kinds := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Tag.Get("kind") == "" {
			continue
		}
		kinds++
		if !f.Type.Implements(options) {
			t.Errorf("kind %s: %s does not implement kindOptions", f.Tag.Get("kind"), f.Type)
		}
	}
	if kinds != len(KindNames()) || kinds < 17 {
		t.Errorf("%d kind fields, %d kind names", kinds, len(KindNames()))
	}
}

// Message templates are rendered with every kind of message when the
// config loads: a template that fails, or a mail text without its SUBJECT:
// line, is an error naming the template's file and line.
func TestMessageTemplates(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noSubject := write("nosubject.txt", "{{range .Checks}}{{.ID}}{{end}}\n")
	badField := write("badfield.html", "<p>\n{{.Service.Nope}}</p>\n")
	good := write("good.txt", "SUBJECT: {{subject .}}\n{{range problems .Checks}}{{.ID}} {{with .Value}}{{num .}}{{end}}{{end}}\n")
	cfg := func(text, html, body string) string {
		return "smtp: {host: mail.example, from: s@acme.example, text_template_file: " + text + ", html_template_file: " + html + "}\n" +
			"receivers:\n  ops: {email: {to: [ops@acme.example]}}\n  hook:\n    webhook:\n      url: https://hooks.example/\n      body_template: '" + body + "'\n"
	}
	_, err := Parse([]byte(cfg(noSubject, badField, `{"text": {{json .Service.Nope}}}`)), "statusd.yml", OSEnv())
	for _, want := range []string{
		"statusd.yml:1: smtp.text_template_file: " + noSubject + ":1: the first line must be \"SUBJECT: …\"",
		"statusd.yml:1: smtp.html_template_file: " + badField + ":2:",
		"statusd.yml:7: receivers.hook.webhook.body_template: body_template:1:",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in\n%v", want, err)
		}
	}
	if _, err := Parse([]byte(cfg(good, write("good.html", "<p>{{subject .}}</p>"), `{"text": {{json (subject .)}}}`)), "statusd.yml", OSEnv()); err != nil {
		t.Errorf("good templates: %v", err)
	}
}

func TestLocations(t *testing.T) {
	c, errs := parse(t, `
resources:
  health:
    - {name: api, kind: http, url: "https://api.example/", locations: [eu-west, us-east], quorum: 1}
`)
	if errs != nil {
		t.Fatal(errs)
	}
	if ch := c.Resources[0].Checks[0]; len(ch.Locations) != 2 || ch.Locations[1] != "us-east" || ch.Quorum != 1 {
		t.Errorf("check as loaded: %+v", ch)
	}
	_, errs = parse(t, `
resources:
  health:
    - {name: a, kind: http, url: "https://api.example/", locations: [eu-west, eu-west]}
    - {name: b, kind: http, url: "https://api.example/", quorum: 1}
    - {name: c, kind: http, url: "https://api.example/", locations: [eu-west], quorum: 2}
    - {name: d, kind: http, url: "https://api.example/", locations: ["eu west"]}
`)
	want := []string{
		`statusd.yml:4: resources.health[0].locations[1]: location "eu-west" listed twice`,
		`statusd.yml:5: resources.health[1].quorum: needs locations: a quorum is of the locations that run the check`,
		`statusd.yml:6: resources.health[2].quorum: is 2, more than the 1 locations listed`,
		`statusd.yml:7: resources.health[3].locations[0]: invalid location "eu west": use letters, digits, '_', '.' and '-'`,
	}
	if errs == nil || errs.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", errs, strings.Join(want, "\n"))
	}
}
