package integrations_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/integrations"
)

// recorder records the requests a server got.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) add(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
}

func (r *recorder) got() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

func build(t *testing.T, yml string) map[string]notifier.Receiver {
	t.Helper()
	cfg, err := config.Parse([]byte(yml), "statusd.yml", config.Env{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := integrations.Build(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]notifier.Receiver{}
	for _, r := range rs {
		out[r.Name] = r
	}
	return out
}

var msg = &message.Message{Version: 1, Kind: message.Instant, Receiver: "hook", Time: time.Now(),
	Checks: []message.Check{{ID: "health/api", Level: status.Problem, Message: "HTTP 503"}}}

// A webhook follows a redirect within its host, with its headers and
// credentials; a redirect to another host is a refusal, and that host
// gets nothing: not the body, not the headers, not the credentials.
func TestWebhookRedirects(t *testing.T) {
	var elsewhere, home recorder
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.add(r) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		home.add(r)
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/hook", http.StatusPermanentRedirect)
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		case "/hook":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	rs := build(t, fmt.Sprintf(`
receivers:
  moved:
    webhook: {url: %[1]q, headers: {X-Api-Key: k3y}, http_config: {basic_auth: {username: u, password: pw}}}
  away:
    webhook: {url: %[2]q, headers: {X-Api-Key: k3y}, http_config: {basic_auth: {username: u, password: pw}}}
`, srv.URL+"/moved", srv.URL+"/away"))

	if _, err := rs["moved"].Integrations[0].Notifier.Notify(context.Background(), msg); err != nil {
		t.Fatalf("a redirect within the host: %v", err)
	}
	last := home.got()[len(home.got())-1]
	if user, pass, _ := last.BasicAuth(); last.URL.Path != "/hook" || last.Header.Get("X-Api-Key") != "k3y" || user != "u" || pass != "pw" {
		t.Errorf("the redirected request: %s, key %q, auth %q/%q", last.URL.Path, last.Header.Get("X-Api-Key"), user, pass)
	}

	retry, err := rs["away"].Integrations[0].Notifier.Notify(context.Background(), msg)
	if err == nil || retry || !strings.Contains(err.Error(), "307") {
		t.Errorf("a redirect to another host: retry %v, %v", retry, err)
	}
	if n := len(elsewhere.got()); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}
