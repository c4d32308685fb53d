package app

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/testsvc"
)

// A flood of silent, slow-header and slow-body connections does not keep
// visitors out, nor make statusd's own checks fail: the idle ones make
// room, and a slow body is cut at the read timeout (short here, so that
// the test does not wait for the default).
func TestServerLimits(t *testing.T) {
	target, _ := testsvc.Target(t)
	srv := target.URL
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(`
api: {fresh: anonymous}
resources:
  health:
    - {name: api, kind: http, url: "`+srv+`", interval: 1s, timeout: 500ms}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startOptions(t, file, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), nil, func(o *Options) {
		o.Server = ServerLimits{ReadTimeout: 300 * time.Millisecond, ReadHeaderTimeout: time.Minute, MaxConnections: 8}
	})
	addr := strings.TrimPrefix(d.url, "http://")
	var held []net.Conn
	flood := func(send string, n int) {
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if send != "" {
				if _, err := io.WriteString(c, send); err != nil {
					t.Fatal(err)
				}
			}
			held = append(held, c)
		}
	}
	flood("", 20)
	flood("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ", 20)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/-/healthy", "/api/v1/checks/health/api?fresh=1", "/"} {
		resp, err := client.Get(d.url + path)
		if err != nil {
			t.Fatalf("a visitor was kept out of %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	// A slow body: the header then a byte of the hundred it announces.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /api/v1/heartbeats/health/api HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nf"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Error("a slow body held its connection past the read timeout")
	}
	// The check kept running fine all along.
	eventually(t, "the check to be fine", func() bool {
		_, body := d.get(t, "/api/v1/checks/health/api")
		return strings.Contains(body, `"level":"fine"`)
	})
	if _, m := d.get(t, "/metrics"); !strings.Contains(m, `statusd_check_failures_total{check="api",resource="health"} 0`) {
		t.Error("the check failed during the flood")
	}
}

// The README's cron examples, run with curl as a cron job would: each
// report is recorded as it says, a failure as a failure.
func TestHeartbeatCurlExamples(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		testsvc.Unavailable(t, "curl", err, "install Debian's curl")
	}
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(`
resources:
  health:
    - {name: nightly-backup, kind: heartbeat, token: s3cret}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startWith(t, file, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"))
	url := d.url + "/api/v1/heartbeats/health/nightly-backup"
	for _, c := range []struct {
		args   []string
		failed bool
	}{
		{[]string{"-X", "POST", "-H", "Authorization: Bearer s3cret", url}, false},
		{[]string{"-X", "POST", "-H", "Authorization: Bearer s3cret", "-d", "status=fail", url}, true},
		{[]string{"-X", "POST", "-H", "Authorization: Bearer s3cret", "-d", "status=ok", url}, false},
		{[]string{"-X", "POST", "-H", "Authorization: Bearer s3cret", "-F", "status=fail", url}, true},
		{[]string{"-X", "POST", "-H", "authorization: bearer s3cret", "-H", "Content-Type: application/json", "-d", `{"status":"fail"}`, url}, true},
		{[]string{"-X", "POST", url + "?token=s3cret&status=fail"}, true},
	} {
		out, err := exec.Command(curl, append([]string{"-fsS"}, c.args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("curl %s: %v\n%s", strings.Join(c.args, " "), err, out)
			continue
		}
		if got := strings.Contains(string(out), "last run failed"); got != c.failed {
			t.Errorf("curl %s: failed=%v, want %v\n%s", strings.Join(c.args, " "), got, c.failed, out)
		}
	}
}
