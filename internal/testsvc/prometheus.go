package testsvc

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Binary finds a program the tests run (Debian's packages), or skips the
// test (fails it under CI).
func Binary(t testing.TB, name, debianPackage string, alternatives ...string) string {
	t.Helper()
	var err error
	for _, n := range append([]string{name}, alternatives...) {
		var path string
		if path, err = exec.LookPath(n); err == nil {
			return path
		}
	}
	Unavailable(t, name, err, "install Debian's "+debianPackage+" package")
	return ""
}

// Prometheus runs a Prometheus server (Debian's prometheus) on a free
// loopback port with a config (its YAML; rule files relative to it are
// read from dir) and returns its URL.
func Prometheus(t testing.TB, dir, config string) string {
	t.Helper()
	bin := Binary(t, "prometheus", "prometheus")
	file := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, "prometheus", func(addr string) []string {
		return []string{bin, "--config.file=" + file, "--storage.tsdb.path=" + filepath.Join(dir, "tsdb"),
			"--web.listen-address=" + addr, "--log.level=warn"}
	})
}

// Alertmanager runs an Alertmanager (Debian's prometheus-alertmanager) on
// a free loopback port with a config and returns its URL.
func Alertmanager(t testing.TB, dir, config string) string {
	t.Helper()
	bin := Binary(t, "alertmanager", "prometheus-alertmanager", "prometheus-alertmanager")
	file := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, "alertmanager", func(addr string) []string {
		return []string{bin, "--config.file=" + file, "--storage.path=" + filepath.Join(dir, "am"),
			"--web.listen-address=" + addr, "--cluster.listen-address=", "--log.level=warn"}
	})
}

// startServer starts a server on a free loopback port and waits until it
// is ready (GET /-/ready). The port was free when chosen and may be taken
// before the server binds it: then it starts again on another.
func startServer(t testing.TB, name string, argv func(addr string) []string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
		args := argv(addr)
		p := Start(t, name, args[0], args[1:]...)
		url := "http://" + addr
		deadline := time.Now().Add(30 * time.Second)
		for !httpOK(url + "/-/ready") {
			if p.Exited() {
				if strings.Contains(p.Output(), "address already in use") && attempt < 5 {
					break
				}
				t.Fatalf("%s exited:\n%s", name, p.Output())
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready after 30s:\n%s", name, p.Output())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !p.Exited() {
			return url
		}
	}
}

func httpOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// PromtoolCheckMetrics runs `promtool check metrics` on a scrape and
// fails the test on any complaint.
func PromtoolCheckMetrics(t testing.TB, metrics string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		Unavailable(t, "promtool", err, "install Debian's prometheus package")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// ParseMetrics reads a scrape as Prometheus does and lints it as
// `promtool check metrics` does, in Go: the test fails on a parse error
// or any lint problem. It returns the families by name.
func ParseMetrics(t testing.TB, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v", err)
	}
	list := make([]*dto.MetricFamily, 0, len(mfs))
	for _, mf := range mfs {
		list = append(list, mf)
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	return mfs
}
