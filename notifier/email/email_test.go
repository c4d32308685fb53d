package email_test

import (
	"context"
	"crypto/tls"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/notifier/email"
	"github.com/statusd/statusd/notifier/notifytest"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func problem() *message.Message {
	v := 2.5
	return &message.Message{
		Version: 1, Kind: message.Instant, Receiver: "alice", Site: message.Site{Name: "ACME", URL: "https://status.acme.example"}, Time: t0,
		Checks: []message.Check{{ID: "health/api", Level: status.Problem, Message: "HTTP 503 <b>down</b>", Value: &v, Since: t0, Link: "https://status.acme.example/checks#health/api"}},
	}
}

func newNotifier(t *testing.T, srv *notifytest.SMTP, cfg email.Config) *email.Notifier {
	t.Helper()
	cfg.To = []string{"alice@acme.example"}
	cfg.From = "status@status.acme.example"
	cfg.Host, cfg.Port = srv.Host, srv.Port
	cfg.Username, cfg.Password = "status", "hunter2"
	cfg.TLSConfig = &tls.Config{RootCAs: srv.CertPool, ServerName: "127.0.0.1"}
	n, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A mail over STARTTLS with AUTH PLAIN: headers, subject from the
// template's first line, a text and an HTML part (escaped).
func TestSendsMail(t *testing.T) {
	srv := notifytest.NewSMTP(t, "status", "hunter2")
	n := newNotifier(t, srv, email.Config{TLS: "starttls"})
	if retry, err := n.Notify(context.Background(), problem()); err != nil {
		t.Fatalf("notify: %v (retry %v)", err, retry)
	}
	mails := srv.Mails()
	if len(mails) != 1 || mails[0].From != "status@status.acme.example" || mails[0].To[0] != "alice@acme.example" || !mails[0].TLS || mails[0].Auth != "status" {
		t.Fatalf("mails: %+v", mails)
	}
	h, text, html := notifytest.MailParts(t, mails[0].Data)
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(h.Get("Subject"))
	if subject != "[ACME] health/api is at problem" || h.Get("From") != "<status@status.acme.example>" || h.Get("Message-Id") == "" {
		t.Errorf("headers: subject %q, from %q", subject, h.Get("From"))
	}
	if strings.HasPrefix(text, "SUBJECT") || !strings.Contains(text, "health/api: problem — HTTP 503 <b>down</b> (value 2.5)") ||
		!strings.Contains(text, "https://status.acme.example/checks#health/api") {
		t.Errorf("text part:\n%s", text)
	}
	if !strings.Contains(html, "HTTP 503 &lt;b&gt;down&lt;/b&gt;") || !strings.Contains(html, `<a href="https://status.acme.example/checks#health/api">health/api</a>`) {
		t.Errorf("html part:\n%s", html)
	}
}

// The operator's templates replace the built-in ones.
func TestTemplateOverride(t *testing.T) {
	srv := notifytest.NewSMTP(t, "status", "hunter2")
	n := newNotifier(t, srv, email.Config{TLS: "starttls",
		TextTemplate: "SUBJECT: {{.Site.Name}} alert: {{(index .Checks 0).ID}}\nCustom body for {{.Receiver}}.\n",
		HTMLTemplate: "<p>Custom {{(index .Checks 0).Message}}</p>"})
	if _, err := n.Notify(context.Background(), problem()); err != nil {
		t.Fatal(err)
	}
	h, text, html := notifytest.MailParts(t, srv.Mails()[0].Data)
	if h.Get("Subject") != "ACME alert: health/api" || strings.TrimSpace(text) != "Custom body for alice." || html != "<p>Custom HTTP 503 &lt;b&gt;down&lt;/b&gt;</p>" {
		t.Errorf("subject %q, text %q, html %q", h.Get("Subject"), text, html)
	}
	if _, err := email.New(email.Config{Host: "mail.example", TextTemplate: "{{.Nope"}); err == nil {
		t.Error("a broken template was accepted")
	}
	bad, err := email.New(email.Config{Host: "mail.example", TextTemplate: "no subject line"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := bad.Render(problem()); err == nil || !strings.Contains(err.Error(), "SUBJECT:") {
		t.Errorf("a template without a subject: %v", err)
	}
}

// A 4xx refusal may pass (retry); a 5xx will not; a wrong password is a
// 5xx, and its error does not show the password.
func TestRefusals(t *testing.T) {
	srv := notifytest.NewSMTP(t, "status", "hunter2")
	n := newNotifier(t, srv, email.Config{TLS: "starttls"})
	srv.Refuse(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"},
		&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"})
	retry, err := n.Notify(context.Background(), problem())
	if err == nil || !retry {
		t.Errorf("451: retry %v, %v", retry, err)
	}
	retry, err = n.Notify(context.Background(), problem())
	if err == nil || retry {
		t.Errorf("550: retry %v, %v", retry, err)
	}
	if _, err := n.Notify(context.Background(), problem()); err != nil || len(srv.Mails()) != 1 {
		t.Errorf("after the refusals: %v, %d mails", err, len(srv.Mails()))
	}
	wrong, err := email.New(email.Config{To: []string{"a@b.example"}, From: "s@b.example", Host: srv.Host, Port: srv.Port, TLS: "starttls",
		Username: "status", Password: "Wr0ngPass", TLSConfig: &tls.Config{RootCAs: srv.CertPool, ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	retry, err = wrong.Notify(context.Background(), problem())
	if err == nil || retry || strings.Contains(err.Error(), "Wr0ngPass") {
		t.Errorf("wrong password: retry %v, %v", retry, err)
	}
	// Nothing listens: a network failure may pass.
	gone, _ := email.New(email.Config{To: []string{"a@b.example"}, From: "s@b.example", Host: "127.0.0.1", Port: 1, TLS: "none"})
	if retry, err := gone.Notify(context.Background(), problem()); err == nil || !retry {
		t.Errorf("connection refused: retry %v, %v", retry, err)
	}
}

// Messages share one connection; one the server has hung up meanwhile is
// replaced, and nothing is lost or sent twice.
func TestConnectionReuse(t *testing.T) {
	srv := notifytest.NewSMTP(t, "status", "hunter2")
	n := newNotifier(t, srv, email.Config{TLS: "starttls"})
	send := func() {
		t.Helper()
		if _, err := n.Notify(context.Background(), problem()); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		send()
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("3 mails took %d connections, want 1", got)
	}
	srv.Hangup()
	send()
	if mails, conns := len(srv.Mails()), srv.Connections(); mails != 4 || conns != 2 {
		t.Errorf("after a hang-up: %d mails over %d connections, want 4 over 2", mails, conns)
	}
}

// Every kind renders a subject.
func TestSubjects(t *testing.T) {
	cases := map[string]*message.Message{
		"[ACME] health/api is at problem": problem(),
		"[ACME] health/api is fine again": {Kind: message.Resolved, Site: message.Site{Name: "ACME"}, Checks: []message.Check{{ID: "health/api", Level: status.Fine}}},
		"[ACME] API: operational → partial outage": {Kind: message.StatusChange, Site: message.Site{Name: "ACME"},
			Service: &message.ServiceChange{Name: "API", From: status.Operational, To: status.PartialOutage, At: t0}},
		"[ACME] digest: 1 at problem, 0 at warning, 2 open incidents": {Kind: message.Digest, Site: message.Site{Name: "ACME"},
			Checks: []message.Check{{ID: "a/b", Level: status.Problem}}, Incidents: []message.Incident{{ID: 1}, {ID: 2}}},
	}
	n, err := email.New(email.Config{Host: "mail.example"})
	if err != nil {
		t.Fatal(err)
	}
	for want, m := range cases {
		subject, text, html, err := n.Render(m)
		if err != nil || subject != want || text == "" || !strings.Contains(html, "<html") {
			t.Errorf("%s: subject %q (%v)", want, subject, err)
		}
	}
}

// The subject, text and HTML parts of the mail for each sample message,
// as a golden file per message (go test -update rewrites them).
func TestGolden(t *testing.T) {
	n, err := email.New(email.Config{Host: "mail.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range notifytest.Samples() {
		t.Run(s.Name, func(t *testing.T) {
			subject, text, html, err := n.Render(s.Msg)
			if err != nil {
				t.Fatal(err)
			}
			notifytest.Golden(t, s.Name, []byte("Subject: "+subject+"\n\n--- text/plain\n"+text+"\n--- text/html\n"+html+"\n"))
		})
	}
}

// Every answer of the mail server: a 4xx refusal may pass, a 5xx will
// not; no error shows the password.
func TestRetries(t *testing.T) {
	srv := notifytest.NewSMTP(t, "status", "hunter2")
	n := newNotifier(t, srv, email.Config{TLS: "starttls"})
	refuse := func(code int, enhanced smtp.EnhancedCode) func() {
		return func() { srv.Refuse(&smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: "refused"}) }
	}
	notifytest.AssertRetries(t, n, notifytest.Samples()[0].Msg, []notifytest.Outcome{
		{Name: "421", Script: refuse(421, smtp.EnhancedCode{4, 4, 2}), Retry: true},
		{Name: "451", Script: refuse(451, smtp.EnhancedCode{4, 3, 0}), Retry: true},
		{Name: "452", Script: refuse(452, smtp.EnhancedCode{4, 2, 2}), Retry: true},
		{Name: "550", Script: refuse(550, smtp.EnhancedCode{5, 1, 1}), Retry: false},
		{Name: "554", Script: refuse(554, smtp.EnhancedCode{5, 7, 1}), Retry: false},
	}, "hunter2")
}
