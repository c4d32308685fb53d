package subscriber_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier/email"
	"github.com/statusd/statusd/notifier/notifytest"
	"github.com/statusd/statusd/notifier/subscriber"
)

var at = time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC)

func news(kind message.Kind, n message.News) *message.Message {
	return &message.Message{Version: message.Version, Kind: kind, Site: message.Site{Name: "ACME"}, Time: at, News: &n,
		Subscription: &message.Subscription{Language: "it", Unsubscribe: "https://status.acme.example/unsubscribe/TOKEN"}}
}

// TestComposeGolden: what subscribers read, in their language, for each
// kind of message (go test -update rewrites the files).
func TestComposeGolden(t *testing.T) {
	cat := i18n.MustLoad()
	start, end := at.Add(24*time.Hour), at.Add(26*time.Hour)
	for _, tc := range []struct {
		name, lang string
		m          *message.Message
	}{
		{"confirm_it", "it", &message.Message{Kind: message.Confirm, Site: message.Site{Name: "ACME"}, Time: at,
			Confirmation: &message.Confirmation{Token: "T", Expires: at.Add(48 * time.Hour), URL: "https://status.acme.example/subscribe/confirm/T"}}},
		{"incident_updated_it", "it", news(message.IncidentNews, message.News{What: message.Updated, ID: 7, Title: "Pagamenti lenti",
			State: "monitoring", Impact: "major", Message: "Una correzione è **in produzione**.\n<script>x</script>", Services: []string{"API"}, Path: "incidents/7"})},
		{"incident_resolved_en", "en", news(message.IncidentNews, message.News{What: message.Closed, ID: 7, Title: "Checkout is slow",
			State: "resolved", Message: "Fixed.", Path: "incidents/7"})},
		{"maintenance_scheduled_de", "de", news(message.MaintenanceNews, message.News{What: message.Scheduled, ID: 3, Title: "Datenbank-Upgrade",
			Message: "Kurze Unterbrechungen.", Services: []string{"API", "Web"}, Start: &start, End: &end})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := cat.Get(tc.lang)
			out, err := subscriber.Compose(tc.m, l, "https://status.acme.example/", time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.HTML, "<script>") {
				t.Error("raw HTML passed into the mail")
			}
			notifytest.Golden(t, tc.name, []byte("Subject: "+out.Subject+"\n\n"+out.Text+"\n----\n"+out.HTML))
		})
	}
}

type subscribers map[int64]store.Subscriber

func (s subscribers) Subscriber(_ context.Context, id int64) (store.Subscriber, error) {
	sub, ok := s[id]
	if !ok {
		return sub, store.ErrNoSubscriber
	}
	return sub, nil
}

// TestMailAndWebhook: a subscriber's mail goes to their address with a
// one-click unsubscribe header (RFC 8058) in their language; a webhook is
// posted the message with its links; a webhook on a private address is
// refused unless allowed; a subscriber who left has no receiver.
func TestMailAndWebhook(t *testing.T) {
	srv := notifytest.NewSMTP(t, "", "")
	mailServer, err := email.NewServer(email.Config{Host: srv.Host, Port: srv.Port, TLS: "starttls",
		TLSConfig: &tls.Config{RootCAs: srv.CertPool, ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	hook := notifytest.NewHook(t)
	subs := subscribers{
		1: {ID: 1, Kind: store.SubscribeEmail, Address: "ada@example.com", Language: "it", Token: "tok1"},
		2: {ID: 2, Kind: store.SubscribeWebhook, Address: hook.URL + "/h", Language: "en", Token: "tok2"},
	}
	opts := subscriber.Options{Store: subs, Catalog: i18n.MustLoad(), PageURL: "https://status.acme.example/", Mail: mailServer,
		From: "status@acme.example", Client: subscriber.Guarded(true)}
	s := subscriber.New(opts)
	ctx := context.Background()
	m := news(message.IncidentNews, message.News{What: message.Opened, ID: 1, Title: "Down", State: "investigating", Path: "incidents/1"})
	m.Subscription = nil
	for id := range subs {
		r, ok, err := s.Receiver(ctx, id)
		if err != nil || !ok || len(r.Integrations) != 1 {
			t.Fatalf("receiver %d: %+v %v %v", id, r, ok, err)
		}
		if _, err := r.Integrations[0].Notifier.Notify(ctx, m); err != nil {
			t.Fatalf("notify %d: %v", id, err)
		}
	}
	mails := srv.Mails()
	if len(mails) != 1 || mails[0].To[0] != "ada@example.com" {
		t.Fatalf("mails: %+v", mails)
	}
	h, text, _ := notifytest.MailParts(t, mails[0].Data)
	if h.Get("List-Unsubscribe") != "<https://status.acme.example/unsubscribe/tok1>" || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("unsubscribe headers: %v", h)
	}
	if !strings.Contains(h.Get("Subject"), "Incidente") || !strings.Contains(text, "In analisi") {
		t.Errorf("not Italian: %s\n%s", h.Get("Subject"), text)
	}
	reqs := hook.Requests()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"unsubscribe":"https://status.acme.example/unsubscribe/tok2"`) {
		t.Fatalf("webhook: %+v", reqs)
	}
	// Private addresses are refused by default, whatever the name.
	opts.Client = subscriber.Guarded(false)
	r, _, _ := subscriber.New(opts).Receiver(ctx, 2)
	if _, err := r.Integrations[0].Notifier.Notify(ctx, m); err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Errorf("a loopback webhook: %v", err)
	}
	if got := len(hook.Requests()); got != 1 {
		t.Errorf("the hook got %d requests", got)
	}
	if _, ok, err := s.Receiver(ctx, 3); ok || err != nil {
		t.Errorf("a subscriber who left: %v, %v", ok, err)
	}
}
