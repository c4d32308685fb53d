package app

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier/notifytest"
)

// TestSubscribeGuards: the answer to a request never tells whether an
// address is subscribed; an address gets at most per_address links an
// hour and a client per_client requests; bad input is a 400 in the
// visitor's language; a webhook on a private address gets nothing (no
// request reaches it); an unknown unsubscribe link answers like a known
// one; with subscriptions off, the page says so.
func TestSubscribeGuards(t *testing.T) {
	smtp := notifytest.NewSMTP(t, "", "")
	hook := notifytest.NewHook(t)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	cfg := `
site: {name: ACME}
services: [{name: API}]
smtp: {host: 127.0.0.1, port: ` + itoa(smtp.Port) + `, tls: starttls, from: status@acme.example, tls_config: {ca_file: ` + smtp.CAFile + `}}
notifier: {group_wait: 0s, retry_min: 1s, give_up_after: 1s}
subscriptions: {per_client: 6, per_address: 2}
`
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startOptions(t, file, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), nil, func(o *Options) { o.ExternalURL = "https://status.acme.example" })
	waitForServices(t, d)
	post := func(form url.Values, lang string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, d.url+"/subscribe", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", lang)
		return send(t, req)
	}
	// confirms counts the confirmation links written (by key: a row may
	// move from pending to sent between the reads).
	confirms := func() int {
		seen := map[string]bool{}
		for _, state := range []string{store.OutboxPending, store.OutboxSent, store.OutboxFailed} {
			r, err := d.app.store.Outbox(t.Context(), state)
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range r {
				if row.Kind == "confirm" {
					seen[row.DedupKey] = true
				}
			}
		}
		return len(seen)
	}
	email := func(a string) url.Values { return url.Values{"email": {a}} }

	// The page's favicon follows the services' first statuses: wait for
	// them, so that the answers compared below differ only if they say
	// something different.
	eventually(t, "the page to know its services", func() bool {
		_, body := d.get(t, "/")
		return strings.Contains(body, "favicon/operational")
	})
	code, first := post(email("ada@example.com"), "en")
	if code != http.StatusOK || !strings.Contains(first, "Check your inbox") {
		t.Fatalf("subscribe: %d\n%s", code, first)
	}
	// Asked again (pending) and a third time (limited): the same page,
	// one more link then none.
	_, second := post(email("ada@example.com"), "en")
	_, third := post(email("ada@example.com"), "en")
	if second != first || third != first {
		t.Errorf("the answers differ: they tell something about the address\n%s\n%s\n%s", first, second, third)
	}
	if n := confirms(); n != 2 {
		t.Errorf("%d confirmation links for one address, want 2 (per_address)", n)
	}
	// Bad input: a 400 in the visitor's language.
	if code, body := post(email("not an address"), "it"); code != http.StatusBadRequest || !strings.Contains(body, "Inserisci un indirizzo e-mail") {
		t.Errorf("bad address: %d\n%s", code, body)
	}
	// A service not on the page is refused rather than dropped (with none
	// left, the visitor would hear of every service).
	if code, body := post(url.Values{"email": {"carol@example.com"}, "service": {"API", "Nope"}}, "en"); code != http.StatusBadRequest || !strings.Contains(body, "no longer on this page") {
		t.Errorf("unknown service: %d\n%s", code, body)
	}
	// A webhook into statusd's own network gets nothing.
	if code, _ := post(url.Values{"webhook": {hook.URL + "/x"}}, "en"); code != http.StatusOK {
		t.Errorf("webhook: %d", code)
	}
	eventually(t, "the private webhook's link to fail", func() bool {
		rows, _ := d.app.store.Outbox(t.Context(), store.OutboxFailed)
		return len(rows) == 1 && strings.Contains(rows[0].LastError, "not a public address")
	})
	if n := len(hook.Requests()); n != 0 {
		t.Errorf("the private webhook got %d requests", n)
	}
	// The client has had 6 requests: the next is refused.
	if code, body := post(email("bob@example.com"), "en"); code != http.StatusTooManyRequests || !strings.Contains(body, "Too many requests") {
		t.Errorf("past per_client: %d", code)
	}
	// An unknown one-click unsubscribe answers as a known one would.
	resp, err := http.Post(d.url+"/unsubscribe/nope", "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("unknown unsubscribe: %d", resp.StatusCode)
	}
	// A confirmation link that does not exist.
	resp, err = http.Post(d.url+"/subscribe/confirm/nope", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown confirmation: %d", resp.StatusCode)
	}

	// Off: the page says so, and there is no link to it.
	off := strings.Replace(cfg, "subscriptions: {per_client: 6, per_address: 2}", "subscriptions: {enabled: false}", 1)
	if err := os.WriteFile(file, []byte(off), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.app.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, body := d.get(t, "/subscribe"); code != http.StatusNotFound || !strings.Contains(body, "Subscriptions are off") {
		t.Errorf("off: %d", code)
	}
	if _, body := d.get(t, "/"); strings.Contains(body, `href="subscribe"`) {
		t.Error("the page links to subscriptions that are off")
	}
}
