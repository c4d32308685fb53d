package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

var discard = slog.New(slog.DiscardHandler)

type daemon struct {
	url    string
	app    *App
	config string
	stop   func()
}

// start runs a whole statusd in-process on a free port.
func start(t *testing.T, configText, dsn string) *daemon {
	t.Helper()
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	return startWith(t, file, dsn)
}

func startWith(t *testing.T, file, dsn string) *daemon {
	t.Helper()
	return startLogged(t, file, dsn, nil)
}

// startLogged runs a daemon whose log goes to logs (nowhere when nil).
func startLogged(t *testing.T, file, dsn string, logs io.Writer) *daemon {
	t.Helper()
	return startOptions(t, file, dsn, logs, nil)
}

// startOptions runs a daemon with options of the test's (set changes
// them, when not nil).
func startOptions(t *testing.T, file, dsn string, logs io.Writer, set func(*Options)) *daemon {
	t.Helper()
	logger := discard
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	opts := Options{
		ConfigFile:      file,
		StorageDSN:      dsn,
		ListenAddresses: []string{"127.0.0.1:0"},
		EnableLifecycle: true,
		Logger:          logger,
	}
	if set != nil {
		set(&opts)
	}
	a, err := New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	d := &daemon{url: "http://" + a.Addrs()[0].String(), app: a, config: file}
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(d.stop)
	return d
}

func (d *daemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return d.do(t, "GET", path)
}

func (d *daemon) do(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, d.url+path, nil)
	return send(t, req)
}

// send makes a request and returns its status and body.
func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 10*time.Second, what, cond)
}

// eventuallyWithin polls until cond holds, failing after a generous bound
// (a bound, not a measure: the test passes as soon as cond holds).
func eventuallyWithin(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func daemonConfig(url string) string {
	return `
resources:
  health:
    - {name: ping, kind: ping}
    - {name: api, kind: http, url: "` + url + `", interval: 1s, timeout: 500ms}
    - {name: storage, kind: storage}
    - {name: backup, kind: heartbeat, warning_after: 1h, problem_after: 2h, token: s3cret}
  stats:
    - {name: code, kind: build}
`
}

func TestDaemon(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
			if backend == "postgres" {
				dsn = testsvc.Postgres(t)
			}
			srv, up := testsvc.Target(t)
			d := start(t, daemonConfig(srv.URL), dsn)
			if string(d.app.store.Dialect()) != backend {
				t.Fatalf("store is %s", d.app.store.Dialect())
			}

			eventually(t, "first runs", func() bool {
				_, m := d.get(t, "/metrics")
				return strings.Contains(m, `statusd_check_success{check="api",resource="health"} 1`)
			})
			code, metrics := d.get(t, "/metrics")
			for _, want := range []string{"statusd_build_info{", "go_goroutines", "process_resident_memory_bytes",
				"statusd_config_last_reload_successful 1", `statusd_check_level{check="backup",resource="health"} 2`,
				"statusd_scheduler_delay_seconds_bucket", "statusd_store_pending_results"} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if code != 200 {
				t.Errorf("/metrics = %d", code)
			}
			testsvc.PromtoolCheckMetrics(t, metrics)
			testsvc.ParseMetrics(t, metrics)

			// The heartbeat has never reported: 503 until it does.
			if code, body := d.get(t, "/api/v1/checks/health"); code != 503 || !strings.Contains(body, "never reported") {
				t.Errorf("health before the heartbeat: %d %s", code, body)
			}
			if code, body := d.do(t, "POST", "/api/v1/heartbeats/health/backup?token=s3cret"); code != 200 {
				t.Fatalf("heartbeat: %d %s", code, body)
			}
			if code, body := d.get(t, "/api/v1/checks/health"); code != 200 {
				t.Errorf("health after the heartbeat: %d %s", code, body)
			}
			up.Store(false)
			eventually(t, "the api check to see the outage", func() bool {
				code, _ := d.get(t, "/api/v1/checks/health")
				return code == 503
			})
			for path, want := range map[string]string{"/-/healthy": "Healthy.", "/-/ready": "Ready.", "/": "statusd"} {
				if code, body := d.get(t, path); code != 200 || !strings.Contains(body, want) {
					t.Errorf("%s = %d %s", path, code, body)
				}
			}

			// History reaches the store.
			eventually(t, "results in the store", func() bool {
				res, err := d.app.store.Results(context.Background(), status.CheckID{Resource: "health", Check: "api"}, 10)
				return err == nil && len(res) >= 2
			})
		})
	}
}

func TestRestartKeepsHistory(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "statusd.db")
	srv, _ := testsvc.Target(t)
	d := start(t, daemonConfig(srv.URL), dsn)
	if code, _ := d.do(t, "POST", "/api/v1/heartbeats/health/backup?token=s3cret"); code != 200 {
		t.Fatal("heartbeat refused")
	}
	eventually(t, "the api check", func() bool { code, _ := d.get(t, "/api/v1/checks/health/api"); return code == 200 })
	d.stop()

	d2 := startWith(t, d.config, dsn)
	// Before any run of the new process, the restored results answer.
	code, body := d2.get(t, "/api/v1/checks/health/backup")
	var res map[string]any
	_ = json.Unmarshal([]byte(body), &res)
	if code != 200 || res["level"] != "fine" {
		t.Errorf("heartbeat after restart: %d %s", code, body)
	}
	results, err := d2.app.store.Results(context.Background(), status.CheckID{Resource: "health", Check: "api"}, 100)
	if err != nil || len(results) == 0 {
		t.Errorf("api results in the store after restart: %d (%v)", len(results), err)
	}
}

func TestReload(t *testing.T) {
	srv, _ := testsvc.Target(t)
	d := start(t, daemonConfig(srv.URL), "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	eventually(t, "first run", func() bool { _, m := d.get(t, "/metrics"); return strings.Contains(m, `check="code"`) })

	// A valid change is applied: a new check appears, a removed one goes.
	next := strings.Replace(daemonConfig(srv.URL), "    - {name: code, kind: build}\n", "    - {name: version, kind: build}\n", 1)
	if err := os.WriteFile(d.config, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := d.do(t, "POST", "/-/reload"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	eventually(t, "the new check", func() bool {
		_, m := d.get(t, "/metrics")
		return strings.Contains(m, `check="version"`) && !strings.Contains(m, `check="code"`)
	})

	// An invalid config changes nothing and says why.
	if err := os.WriteFile(d.config, []byte("resources:\n  health:\n    - {name: x, kind: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body := d.do(t, "POST", "/-/reload")
	if code != 400 || !strings.Contains(body, `statusd.yml:3: resources.health[0].kind: unknown kind \"nope\"`) {
		t.Errorf("bad reload: %d %s", code, body)
	}
	_, m := d.get(t, "/metrics")
	if !strings.Contains(m, "statusd_config_last_reload_successful 0") || !strings.Contains(m, `check="version"`) {
		t.Errorf("after a failed reload:\n%s", grep(m, "statusd_config|check=\"version\""))
	}
	// SIGHUP takes the same path.
	if err := os.WriteFile(d.config, []byte(daemonConfig(srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.app.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, m = d.get(t, "/metrics")
	if !strings.Contains(m, "statusd_config_last_reload_successful 1") {
		t.Error("a good reload did not set the gauge back to 1")
	}
}

func grep(text, words string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, w := range strings.Split(words, "|") {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("resources:\n  health:\n    - {name: x, kind: ping, interval: 1x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		opts Options
		want string
	}{
		{Options{ConfigFile: bad}, "bad.yml:3: resources.health[0].interval: invalid duration"},
		{Options{ConfigFile: filepath.Join(dir, "missing.yml")}, "missing.yml: no such file or directory"},
		{Options{ConfigFile: minimalConfig(dir), StorageDSN: "sqlite:" + filepath.Join(dir, "no", "s.db")}, "does not exist"},
		{Options{ConfigFile: minimalConfig(dir), StorageDSN: "sqlite:" + filepath.Join(dir, "s.db"), ListenAddresses: []string{"256.0.0.1:1"}}, "listen on 256.0.0.1:1"},
	}
	for _, c := range cases {
		c.opts.Logger = discard
		_, err := New(ctx, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%+v) = %v, want an error containing %q", c.opts, err, c.want)
		}
	}
	// A start that failed let go of what it opened: the database (and
	// its lock) and the listeners.
	listen := []string{"127.0.0.1:0"}
	a, err := New(ctx, Options{ConfigFile: minimalConfig(dir), StorageDSN: "sqlite:" + filepath.Join(dir, "s.db"), ListenAddresses: listen, Logger: discard})
	if err != nil {
		t.Fatalf("after a failed start, the same database: %v", err)
	}
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	a.closeListeners()
}

// A database that does not answer is no start error; the log names it
// without its password.
func TestStartWithoutDatabase(t *testing.T) {
	dir := t.TempDir()
	logs := &testsvc.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, Options{ConfigFile: minimalConfig(dir), StorageDSN: "postgres://statusd:hunter2@127.0.0.1:1/x?sslmode=disable",
		ListenAddresses: []string{"127.0.0.1:0"}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	eventually(t, "the log line", func() bool { return logs.Count("The database does not answer") == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if text := logs.String(); strings.Contains(text, "hunter2") || !strings.Contains(text, "postgres://statusd:xxxxx@127.0.0.1:1/x") {
		t.Errorf("log:\n%s", text)
	}
}

// minimalConfig writes a minimal valid config into dir.
func minimalConfig(dir string) string {
	file := filepath.Join(dir, "statusd.yml")
	_ = os.WriteFile(file, []byte("resources:\n  health:\n    - {name: ping, kind: ping}\n"), 0o600)
	return file
}

func TestWebConfigBasicAuth(t *testing.T) {
	dir := t.TempDir()
	// exporter-toolkit's web config wants bcrypt hashes.
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webCfg, []byte("basic_auth_users:\n  admin: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, Options{ConfigFile: minimalConfig(dir), StorageDSN: "sqlite:" + filepath.Join(dir, "s.db"),
		ListenAddresses: []string{"127.0.0.1:0"}, WebConfigFile: webCfg, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := "http://" + a.Addrs()[0].String()
	get := func(user, pass string, path ...string) int {
		url := base + "/metrics"
		if len(path) > 0 {
			url = base + path[0]
		}
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, "the server", func() bool { return get("admin", "secret") == 200 })
	if code := get("", ""); code != 401 {
		t.Errorf("without credentials: %d", code)
	}
	if code := get("admin", "wrong"); code != 401 {
		t.Errorf("wrong password: %d", code)
	}
	// Basic auth in front of every route opens the checks dashboard.
	if code := get("admin", "secret", "/checks"); code != 200 {
		t.Errorf("checks dashboard behind basic auth: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// A reload that cannot read the configured file keeps the running config
// and says so; the built-in config never replaces an operator's, even
// for the default file name.
func TestReloadOfAMissingFile(t *testing.T) {
	srv, _ := testsvc.Target(t)
	t.Chdir(t.TempDir())
	if err := os.WriteFile(config.DefaultFile, []byte(daemonConfig(srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startWith(t, config.DefaultFile, "sqlite:statusd.db")
	eventually(t, "the checks to run", func() bool { _, m := d.get(t, "/metrics"); return strings.Count(m, "statusd_check_info{") == 5 })
	if err := os.Remove(config.DefaultFile); err != nil {
		t.Fatal(err)
	}
	code, body := d.do(t, "POST", "/-/reload")
	if code != 400 || !strings.Contains(body, "no such file") {
		t.Errorf("reload of a missing file: %d %s", code, body)
	}
	_, m := d.get(t, "/metrics")
	if !strings.Contains(m, "statusd_config_last_reload_successful 0") || strings.Count(m, "statusd_check_info{") != 5 {
		t.Errorf("after the reload of a missing file:\n%s", grep(m, "statusd_config|statusd_check_info"))
	}
}
