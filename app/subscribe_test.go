package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/internal/testsvc"
	"github.com/statusd/statusd/notifier/notifytest"
)

// TestSubscribeInChromium is the visitor's whole road, in a real headless
// Chromium on a phone, in Italian, against a real SMTP server: subscribe
// from the page, receive the confirmation in Italian, confirm, receive an
// incident's opening, each update and its resolution in Italian (each
// with RFC 8058's one-click unsubscribe header), then unsubscribe in one
// click, after which nothing more is sent.
func TestSubscribeInChromium(t *testing.T) {
	smtp := notifytest.NewSMTP(t, "", "")
	// The links in mails lead to the address visitors use, known before
	// statusd starts: a proxy in front of it, as in production.
	var target atomic.Pointer[url.URL]
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.NewSingleHostReverseProxy(target.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	file := filepath.Join(t.TempDir(), "statusd.yml")
	if err := os.WriteFile(file, []byte(`
site: {name: ACME}
services:
  - {name: API}
  - {name: Web}
smtp: {host: 127.0.0.1, port: `+itoa(smtp.Port)+`, tls: starttls, from: status@acme.example, tls_config: {ca_file: `+smtp.CAFile+`}}
notifier: {group_wait: 0s}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startOptions(t, file, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), nil, func(o *Options) { o.ExternalURL = front.URL })
	u, _ := url.Parse(d.url)
	target.Store(u)
	waitForServices(t, d)

	browser := testsvc.Chromium(t)
	artifacts := testsvc.Artifacts(t)
	b := tab{t, browser}
	step, text := b.do, b.text
	shot := func(name string) { b.shot(artifacts, name) }

	// A phone whose browser speaks English: the visitor picks Italian.
	step("open the page on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(front.URL+"/?lang=it"), chromedp.WaitVisible(chromedp.CSS(".banner")))
	if b := text(".banner"); b != "Tutti i sistemi sono operativi" {
		t.Errorf("banner %q", b)
	}
	step("go to the form", chromedp.Click(chromedp.CSS(`nav a[href$="subscribe"]`)), chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)))
	if h := text("h1"); h != "Ricevi aggiornamenti" {
		t.Errorf("form heading %q", h)
	}
	step("subscribe", chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "ada@example.com"),
		chromedp.Click(chromedp.CSS(`input[name="service"][value="API"]`)),
		chromedp.Click(chromedp.CSS(`form.subscribe button`)), chromedp.WaitVisible(chromedp.CSS(`h1[data-step="sent"]`)))
	if h := text("h1"); h != "Controlla la posta" {
		t.Errorf("after subscribing: %q", h)
	}
	shot("subscribe-sent-it-phone")

	mailsTo := func(n int) []notifytest.Mail {
		t.Helper()
		eventuallyWithin(t, 30*time.Second, "mail", func() bool { return len(smtp.Mails()) >= n })
		return smtp.Mails()
	}
	confirm := mailsTo(1)[0]
	h, body, _ := notifytest.MailParts(t, confirm.Data)
	if confirm.To[0] != "ada@example.com" || h.Get("Subject") != "Conferma l'iscrizione a ACME" || h.Get("List-Unsubscribe") != "" {
		t.Fatalf("confirmation: to %v, subject %q, headers %v", confirm.To, h.Get("Subject"), h)
	}
	link := regexp.MustCompile(`https?://\S+/subscribe/confirm/\S+`).FindString(body)
	if !strings.HasPrefix(link, front.URL) {
		t.Fatalf("no confirmation link in:\n%s", body)
	}
	step("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main form button`)))
	step("confirm", chromedp.Click(chromedp.CSS(`main form button`)), chromedp.WaitVisible(chromedp.CSS(`h1[data-step="confirmed"]`)))
	if h := text("h1"); h != "Iscrizione confermata" {
		t.Fatalf("after confirming: %q", h)
	}
	shot("subscribe-confirmed-it-phone")

	// An incident of API: opened, updated, resolved.
	ctx := context.Background()
	who := store.Actor{Name: "ada", Via: store.ViaAdmin}
	inc, err := d.app.evaluator.OpenIncident(ctx, who, content.NewIncident{Title: "Pagamenti lenti", Impact: "major",
		Message: "Stiamo verificando.", Services: []content.ServiceImpact{{Name: "API"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{store.Monitoring, store.Resolved} {
		mailsTo(len(smtp.Mails()) + 1)
		if _, err := d.app.evaluator.UpdateIncident(ctx, who, inc.ID, content.IncidentUpdate{State: st, Message: "Ora " + st + "."}); err != nil {
			t.Fatal(err)
		}
	}
	mails := mailsTo(4)
	var unsubscribe string
	for i, want := range []string{"[ACME] Incidente: Pagamenti lenti", "[ACME] In osservazione: Pagamenti lenti", "[ACME] Risolto: Pagamenti lenti"} {
		h, body, html := notifytest.MailParts(t, mails[i+1].Data)
		if h.Get("Subject") != want {
			t.Errorf("mail %d: subject %q, want %q", i+1, h.Get("Subject"), want)
		}
		unsubscribe = strings.Trim(h.Get("List-Unsubscribe"), "<>")
		if !strings.HasPrefix(unsubscribe, front.URL+"/unsubscribe/") || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("mail %d: unsubscribe headers %v", i+1, h)
		}
		if !strings.Contains(body, "Disiscriviti: "+unsubscribe) || !strings.Contains(html, `lang="it"`) {
			t.Errorf("mail %d is not Italian or has no unsubscribe link:\n%s", i+1, body)
		}
	}
	// Web is not API: news about it does not reach a subscriber of API.
	if _, err := d.app.evaluator.OpenIncident(ctx, who, content.NewIncident{Title: "Web lento", Services: []content.ServiceImpact{{Name: "Web"}}}); err != nil {
		t.Fatal(err)
	}

	// One click, as a mail client does it (RFC 8058): a POST without a
	// cookie.
	resp, err := http.Post(unsubscribe, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("one-click unsubscribe: %d", resp.StatusCode)
	}
	subs, err := d.app.store.Subscribers(ctx)
	if err != nil || len(subs) != 0 {
		t.Fatalf("after unsubscribing: %+v %v", subs, err)
	}
	// The page's own button answers too, in the visitor's language.
	step("the unsubscribe page", chromedp.Navigate(unsubscribe), chromedp.WaitVisible(chromedp.CSS(`main form button`)),
		chromedp.Click(chromedp.CSS(`main form button`)), chromedp.WaitVisible(chromedp.CSS(`h1[data-step="unsubscribed"]`)))
	if h := text("h1"); h != "Disiscrizione completata" {
		t.Errorf("after the button: %q", h)
	}
	if _, err := d.app.evaluator.UpdateIncident(ctx, who, inc.ID, content.IncidentUpdate{State: store.Resolved, Message: "Di nuovo."}); err != nil {
		t.Fatal(err)
	}
	pending, err := d.app.store.Outbox(ctx, store.OutboxPending)
	if err != nil || len(pending) != 0 {
		t.Errorf("after unsubscribing, the outbox holds %+v (%v)", pending, err)
	}
	if n := len(smtp.Mails()); n != 4 {
		t.Errorf("%d mails, want 4 (a confirmation, three updates)", n)
	}
	// Dark, for the artifacts.
	step("dark", darkMode, chromedp.Navigate(front.URL+"/subscribe?lang=it"), chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)))
	shot("subscribe-form-it-phone-dark")
}

// darkMode and lightMode make the page see prefers-color-scheme.
func darkMode(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
	return colorScheme(ctx, t, "dark")
}

func lightMode(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
	return colorScheme(ctx, t, "light")
}

func colorScheme(ctx context.Context, t *chromedp.Target, scheme string) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
	return chromedp.Void{}, err
}

func itoa(n int) string { return strconv.Itoa(n) }
