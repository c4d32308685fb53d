package probe

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/status"
)

func TestTLS(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	day := 24 * time.Hour
	cases := []struct {
		name    string
		expires time.Duration // from now
		extra   string
		level   status.Level
		success bool
		message string
	}{
		{"fine", 30 * day, "", status.Fine, true, "certificate expires in 30d0h"},
		{"warning", 10 * day, "", status.Warning, true, "certificate expires in 10d0h"},
		{"problem", 2 * day, "", status.Problem, true, "certificate expires in"},
		{"warning boundary is inclusive", 14*day - time.Minute, "", status.Warning, true, ""},
		{"custom days", 10 * day, ", warning_days: 5, problem_days: 1", status.Fine, true, ""},
		{"expired", -3 * day, "", status.Problem, false, "certificate expired 3d0h ago"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := tlsServer(t, ca.leaf(t, now.Add(c.expires)))
			r := run(t, `{name: c, kind: tls, address: "`+addr+`", tls_config: {ca_file: "`+ca.file+`"}`+c.extra+`}`, Env{})
			wantLevel(t, r, c.level, c.success)
			if !strings.Contains(r.Message, c.message) {
				t.Errorf("message %q does not contain %q", r.Message, c.message)
			}
			if got := *r.Value; math.Abs(got-c.expires.Seconds()) > 60 {
				t.Errorf("value = %v seconds, want about %v", got, c.expires.Seconds())
			}
			if figures(r)["issuer"] != "CN=statusd test CA" || figures(r)["not_after"] == "" {
				t.Errorf("details = %v", r.Details)
			}
		})
	}
}

func TestTLSTrust(t *testing.T) {
	ca := newCA(t)
	addr := tlsServer(t, ca.leaf(t, time.Now().Add(60*24*time.Hour)))

	r := run(t, `{name: c, kind: tls, address: "`+addr+`"}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if r.Message != "certificate not trusted: signed by an unknown authority" {
		t.Errorf("message = %q", r.Message)
	}
	r = run(t, `{name: c, kind: tls, address: "`+addr+`", tls_config: {ca_file: "`+ca.file+`", server_name: other.example}}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if r.Message != "certificate not trusted: not valid for other.example" {
		t.Errorf("message = %q", r.Message)
	}
	// Expiry can be watched without trusting the chain.
	wantLevel(t, run(t, `{name: c, kind: tls, address: "`+addr+`", tls_config: {insecure_skip_verify: true}}`, Env{}), status.Fine, true)
	r = run(t, `{name: c, kind: tls, address: "`+closedAddr(t)+`"}`, Env{})
	wantLevel(t, r, status.Problem, false)
	if !strings.Contains(r.Message, "connection refused") {
		t.Errorf("message = %q", r.Message)
	}
}
