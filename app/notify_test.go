package app

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/testsvc"
	"github.com/statusd/statusd/notifier/notifytest"
)

// The notifier's whole path in a running statusd: twenty checks fail
// together while Slack answers 500; once Slack recovers, every
// notification arrives once, in order, grouped into one message per
// receiver and kind; a digest is one Slack message and one e-mail per
// receiver; nothing is counted failed.
func TestNotificationsEndToEnd(t *testing.T) {
	srv, up := testsvc.Target(t)
	slack := notifytest.NewSlack(t)
	smtp := notifytest.NewSMTP(t, "status", "hunter2")
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, `site: {name: ACME, url: "https://status.acme.example"}
defaults: {failure_threshold: 1}
resources:
  health:
`)
	var checks []string
	for i := range 20 {
		fmt.Fprintf(&b, "    - {name: c%02d, kind: http, url: %q, interval: 1s, timeout: 500ms, notify: {receivers: [ops, mail], mode: instant}}\n", i, srv.URL+fmt.Sprintf("/c%02d", i))
		checks = append(checks, fmt.Sprintf("health/c%02d", i))
	}
	fmt.Fprintf(&b, `services:
  - {name: API, checks: [%s], auto_incident: true, notify: {receivers: [ops]}}
receivers:
  ops: {slack: {webhook_url: %q}}
  mail: {email: {to: [oncall@acme.example]}}
smtp:
  host: 127.0.0.1
  port: %d
  username: status
  password: hunter2
  tls_config: {ca_file: %q}
notifier: {group_wait: 3s, retry_min: 100ms, retry_max: 500ms}
`, strings.Join(checks, ", "), slack.WebhookURL("s3cretPath"), smtp.Port, smtp.CAFile)
	file := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testsvc.Buffer{}
	d := startLogged(t, file, "sqlite:"+filepath.Join(dir, "statusd.db"), logs)
	eventually(t, "the checks to run", func() bool {
		_, m := d.get(t, "/metrics")
		return strings.Count(m, "statusd_check_evaluated_level{") == 20
	})

	slack.Script(notifytest.Reply{Code: 500, Body: "oops"}, notifytest.Reply{Code: 500, Body: "oops"})
	up.Store(false)
	eventually(t, "the outage to reach Slack and the mailbox", func() bool {
		return len(slack.Delivered()) == 2 && len(smtp.Mails()) == 1
	})
	posts := slack.Delivered()
	if !strings.Contains(posts[0].Text, "20 checks are not fine") || !strings.Contains(posts[1].Text, "API: operational → partial outage") {
		t.Errorf("Slack got %q then %q", posts[0].Text, posts[1].Text)
	}
	if n := len(slack.Posts()); n != 4 {
		t.Errorf("%d posts to Slack, want 2 refused and 2 delivered", n)
	}
	mail0 := smtp.Mails()[0]
	if !strings.Contains(mail0.Data, "20 checks: 20 at problem") || !mail0.TLS || mail0.Auth != "status" {
		t.Errorf("mail: TLS %v, auth %q\n%s", mail0.TLS, mail0.Auth, mail0.Data)
	}

	// A digest now: one message per receiver and integration.
	if _, _, err := d.app.evaluator.Digest(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the digests", func() bool { return len(slack.Delivered()) == 3 && len(smtp.Mails()) == 2 })
	if p := slack.Delivered()[2]; !strings.Contains(p.Text, "ACME digest: 20 checks not fine, 1 open incidents") {
		t.Errorf("Slack digest: %q", p.Text)
	}
	if m, err := mail.ReadMessage(strings.NewReader(smtp.Mails()[1].Data)); err != nil || !strings.Contains(m.Header.Get("Subject"), "digest: 20 at problem, 0 at warning, 1 open incidents") {
		t.Errorf("mail digest: %v %v", err, m)
	}

	up.Store(true)
	eventually(t, "the recovery", func() bool { return len(slack.Delivered()) == 5 && len(smtp.Mails()) == 3 })
	posts = slack.Delivered()
	if !strings.Contains(posts[3].Text, "20 checks are fine again") || !strings.Contains(posts[4].Text, "API: partial outage → operational") {
		t.Errorf("Slack got %q then %q", posts[3].Text, posts[4].Text)
	}
	// A delivery is recorded (and counted) just after Slack answered it.
	var metrics string
	want := []string{
		`statusd_notifications_failed_total{kind="instant",receiver="ops"} 0`,
		`statusd_notifications_sent_total{kind="instant",receiver="ops"} 20`,
		`statusd_notifications_sent_total{kind="resolved",receiver="mail"} 20`,
		`statusd_notifications_sent_total{kind="digest",receiver="ops"} 1`,
		`statusd_notifications_sent_total{kind="status_change",receiver="ops"} 2`,
		"statusd_notifications_pending 0",
		"statusd_notifications_oldest_pending_age_seconds 0",
	}
	var missing []string
	defer func() {
		if len(missing) > 0 {
			t.Errorf("/metrics lacks %q", missing)
		}
	}()
	eventually(t, "the deliveries to be counted", func() bool {
		_, metrics = d.get(t, "/metrics")
		missing = slices.DeleteFunc(slices.Clone(want), func(w string) bool { return strings.Contains(metrics, w) })
		return len(missing) == 0
	})
	if strings.Contains(metrics, "failed_total{kind=\"instant\",receiver=\"ops\"} 1") {
		t.Error("a failure counted")
	}
	if strings.Contains(logs.String(), "s3cretPath") || strings.Contains(logs.String(), "hunter2") {
		t.Errorf("a secret in the log:\n%s", logs)
	}
	testsvc.PromtoolCheckMetrics(t, metrics)
}

// A Slack that answers 500 while a check fails and recovers: the problem
// waits for its retries, the recovery joins it, and Slack is told once
// that the check is fine again (green, with when it was down), never a
// red "not fine" for a check that is fine.
func TestRecoveryWhileSlackFails(t *testing.T) {
	srv, up := testsvc.Target(t)
	slack := notifytest.NewSlack(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "statusd.yml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`
defaults: {failure_threshold: 1}
resources:
  health:
    - {name: api, kind: http, url: %q, interval: 1s, timeout: 500ms, notify: {receivers: [ops], mode: instant}}
receivers:
  ops: {slack: {webhook_url: %q}}
notifier: {group_wait: 0s, retry_min: 1s, retry_max: 2s}
`, srv.URL, slack.WebhookURL("s3cretPath"))), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startWith(t, file, "sqlite:"+filepath.Join(dir, "statusd.db"))
	eventually(t, "the check to run", func() bool { return evaluatedLevel(t, d) == "0" })

	fail := notifytest.Reply{Code: 500, Body: "oops"}
	slack.Answer(fail)
	up.Store(false)
	eventually(t, "Slack to refuse the problem three times", func() bool { return len(slack.Posts()) >= 3 })
	up.Store(true)
	eventually(t, "the recovery to be decided", func() bool {
		rows, err := d.app.store.Outbox(context.Background(), "pending")
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) == 2 && rows[1].Kind == "resolved"
	})
	slack.Answer(notifytest.OK)
	eventually(t, "Slack to be told", func() bool { return len(slack.Delivered()) == 1 })
	post := slack.Delivered()[0]
	atts := fmt.Sprint(post.Attachments)
	if post.Text != ":large_green_circle: health/api is fine again" || strings.Contains(atts, ":red_circle:") ||
		strings.Contains(atts, "#a30200") || !strings.Contains(atts, "down from ") {
		t.Errorf("Slack was told %q %s", post.Text, atts)
	}
}
