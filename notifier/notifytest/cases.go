package notifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/notifier"
)

var update = flag.Bool("update", false, "rewrite the golden files of the notifier's integrations")

// T0 is when the sample messages happen.
var T0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Sample is a message every integration's golden files cover.
type Sample struct {
	Name string
	Msg  *message.Message
}

// Samples are the messages every integration sends, as the notifier
// composes them: a problem, a recovery, a grouped message (a check still
// at problem and one that failed and recovered before it was told, as in
// the notifier's TestCompose), a digest and a service's status change.
// Texts carry markup to escape.
func Samples() []Sample {
	site := message.Site{Name: "ACME", URL: "https://status.acme.example"}
	v := 2.5
	down := T0.Add(-6 * time.Second)
	msg := func(kind message.Kind) *message.Message {
		return &message.Message{Version: message.Version, Kind: kind, Receiver: "ops", Site: site, Time: T0}
	}
	problem := msg(message.Instant)
	problem.Checks = []message.Check{{ID: "health/api", Description: "The public API", Level: status.Problem, Previous: status.Fine,
		Since: T0, Message: "HTTP 503 <down> & out", Value: &v, Link: "https://status.acme.example/checks#health/api"}}
	recovery := msg(message.Resolved)
	recovery.Checks = []message.Check{{ID: "health/api", Level: status.Fine, Previous: status.Problem, Since: T0, DownSince: &down,
		Message: "HTTP 200 in 12ms", Link: "https://status.acme.example/checks#health/api"}}
	grouped := msg(message.Instant)
	grouped.Checks = []message.Check{
		{ID: "health/db", Level: status.Problem, Previous: status.Fine, Since: down, Message: "connection refused"},
		{ID: "health/api", Level: status.Fine, Previous: status.Problem, Since: T0, DownSince: &down, Collapsed: true, Message: "HTTP 200 in 12ms"},
	}
	digest := msg(message.Digest)
	digest.Checks = []message.Check{
		{ID: "health/db", Level: status.Problem, Since: down, Message: "connection refused"},
		{ID: "health/disk", Level: status.Warning, Since: down, Message: "81% used", Value: &v},
	}
	digest.Incidents = []message.Incident{{ID: 3, Title: "API: partial outage", State: "investigating", Occurred: down,
		Services: []string{"API"}, Link: "https://status.acme.example/incidents/3"}}
	change := msg(message.StatusChange)
	change.Service = &message.ServiceChange{Name: "API", Group: "Website", From: status.Operational, To: status.MajorOutage,
		At: down, Cause: "checks", Link: "https://api.acme.example/"}
	return []Sample{{"problem", problem}, {"recovery", recovery}, {"grouped", grouped}, {"digest", digest}, {"status_change", change}}
}

// Golden compares what an integration sent with testdata/NAME.golden in
// the test's package; `go test -update` writes the file instead.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was sent (go test -update rewrites it after a wanted change)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// IndentJSON indents a JSON body for a golden file.
func IndentJSON(t testing.TB, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// Outcome is a peer's answer to a notification and whether the
// integration must ask to try again.
type Outcome struct {
	Name string
	// Script makes the peer answer so, once.
	Script func()
	Retry  bool
}

// HTTPOutcomes are an HTTP peer's answers: a rate limit and server
// errors may pass (retry), client errors will not.
func HTTPOutcomes(script func(...Reply)) []Outcome {
	var out []Outcome
	for _, c := range []struct {
		code  int
		retry bool
	}{{429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {400, false}, {401, false}, {403, false}, {404, false}} {
		r := Reply{Code: c.code, Body: http.StatusText(c.code)}
		out = append(out, Outcome{Name: "HTTP " + strconv.Itoa(c.code), Script: func() { script(r) }, Retry: c.retry})
	}
	return out
}

// AssertRetries sends m through n once per outcome, the peer scripted
// to answer it, and checks that each is a failure that asks to try
// again or not as the outcome says, and that no error shows a secret.
func AssertRetries(t *testing.T, n notifier.Notifier, m *message.Message, outcomes []Outcome, secrets ...string) {
	t.Helper()
	for _, o := range outcomes {
		o.Script()
		retry, err := n.Notify(context.Background(), m)
		if err == nil || retry != o.Retry {
			t.Errorf("%s: retry %v, error %v; want a failure with retry %v", o.Name, retry, err, o.Retry)
			continue
		}
		AssertNoSecret(t, o.Name+" error", err.Error(), secrets...)
	}
}

// AssertNoSecret fails when text shows one of the secrets, as it is or
// URL-escaped.
func AssertNoSecret(t testing.TB, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if s != "" && strings.Contains(text, form) {
				t.Errorf("%s shows a secret: %s", what, text)
				return
			}
		}
	}
}
