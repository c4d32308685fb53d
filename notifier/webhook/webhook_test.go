package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/notifytest"
	"github.com/statusd/statusd/notifier/webhook"
)

var change = &message.Message{
	Version: 1, Kind: message.StatusChange, Receiver: "pager", Site: message.Site{Name: "ACME"},
	Time:    time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	Service: &message.ServiceChange{Name: "API", From: status.Operational, To: status.PartialOutage, Cause: "checks"},
}

// The event as JSON, signed with HMAC-SHA256.
func TestJSONAndSignature(t *testing.T) {
	hook := notifytest.NewHook(t)
	n, err := webhook.New(webhook.Config{URL: hook.URL + "/statusd", HMACSecret: "sh4red", ContentType: "application/json",
		Headers: map[string]string{"X-Team": "ops"}, Client: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), change); err != nil {
		t.Fatal(err)
	}
	reqs := hook.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/statusd" || reqs[0].Header.Get("Content-Type") != "application/json" || reqs[0].Header.Get("X-Team") != "ops" {
		t.Fatalf("requests: %+v", reqs)
	}
	mac := hmac.New(sha256.New, []byte("sh4red"))
	mac.Write(reqs[0].Body)
	if got := reqs[0].Header.Get(webhook.SignatureHeader); got != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q does not verify", got)
	}
	var got map[string]any
	if err := json.Unmarshal(reqs[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	svc, _ := got["service"].(map[string]any)
	if got["version"] != 1.0 || got["kind"] != "status_change" || svc["from"] != "operational" || svc["to"] != "partial_outage" || svc["name"] != "API" {
		t.Errorf("body: %s", reqs[0].Body)
	}
}

// A body from the operator's template, for a service with its own shape
// (Microsoft Teams here).
func TestTemplateBody(t *testing.T) {
	hook := notifytest.NewHook(t)
	n, err := webhook.New(webhook.Config{URL: hook.URL, ContentType: "application/json", Client: http.DefaultClient,
		BodyTemplate: `{"type": "message", "text": {{json (subject .)}}}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), change); err != nil {
		t.Fatal(err)
	}
	if body := string(hook.Requests()[0].Body); body != `{"type": "message", "text": "API: operational → partial outage"}` {
		t.Errorf("body: %s", body)
	}
	// The README's Discord body, with a name that needs escaping.
	discord, err := webhook.New(webhook.Config{URL: hook.URL, Client: http.DefaultClient,
		BodyTemplate: `{"username": "statusd", "content": {{ json (printf "**%s** %s" .Site.Name (subject .)) }}}`})
	if err != nil {
		t.Fatal(err)
	}
	m := *change
	m.Site.Name = `ACME "prod"`
	body, err := discord.Body(&m)
	var got struct{ Content string }
	if err != nil || json.Unmarshal(body, &got) != nil || got.Content != `**ACME "prod"** API: operational → partial outage` {
		t.Errorf("discord body %s (%v)", body, err)
	}
}

// 503 with Retry-After may pass after it; 400 will not; the URL, which
// can hold a token, never shows in an error.
func TestFailures(t *testing.T) {
	hook := notifytest.NewHook(t)
	url := hook.URL + "/hooks/T0K3N"
	n, _ := webhook.New(webhook.Config{URL: url, ContentType: "application/json", Client: http.DefaultClient})
	hook.Script(notifytest.Reply{Code: 503, Body: "busy", RetryAfter: 7}, notifytest.Reply{Code: 400, Body: "bad"})
	retry, err := n.Notify(context.Background(), change)
	var ra *notifier.RetryAfter
	if !retry || !errors.As(err, &ra) || ra.After != 7*time.Second {
		t.Errorf("503: retry %v, %v", retry, err)
	}
	retry, err = n.Notify(context.Background(), change)
	if retry || err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("400: retry %v, %v", retry, err)
	}
	hook.Close()
	retry, err = n.Notify(context.Background(), change)
	if !retry || err == nil || strings.Contains(err.Error(), "T0K3N") {
		t.Errorf("closed: retry %v, %v", retry, err)
	}
}

// The JSON body a webhook receives for each sample message, as a golden
// file per message (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, s := range notifytest.Samples() {
		t.Run(s.Name, func(t *testing.T) {
			hook := notifytest.NewHook(t)
			n, err := webhook.New(webhook.Config{URL: hook.URL, ContentType: "application/json", Client: http.DefaultClient})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.Notify(context.Background(), s.Msg); err != nil {
				t.Fatal(err)
			}
			notifytest.Golden(t, s.Name, notifytest.IndentJSON(t, hook.Requests()[0].Body))
		})
	}
}

// Every answer of the receiver: what may pass asks to try again, and no
// error shows the URL's token or the signing secret.
func TestRetries(t *testing.T) {
	hook := notifytest.NewHook(t)
	n, err := webhook.New(webhook.Config{URL: hook.URL + "/hooks/T0K3N", HMACSecret: "sh4red", Client: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	notifytest.AssertRetries(t, n, notifytest.Samples()[0].Msg, notifytest.HTTPOutcomes(hook.Script), "T0K3N", "sh4red")
}
