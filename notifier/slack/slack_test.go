package slack_test

import (
	"context"
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
	"github.com/statusd/statusd/notifier/slack"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func site() message.Site { return message.Site{Name: "ACME", URL: "https://status.acme.example"} }

// blocksText flattens an attachment's blocks to their texts, in order.
func blocksText(t *testing.T, att map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(att["blocks"])
	var blocks []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(b, &blocks); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, bl := range blocks {
		out = append(out, bl.Type+": "+bl.Text.Text)
		for _, e := range bl.Elements {
			out = append(out, "  "+e.Text)
		}
	}
	return strings.Join(out, "\n")
}

// The wire format of every kind of message, as an incoming webhook gets it.
func TestMessages(t *testing.T) {
	v := 2.5
	cases := []struct {
		name   string
		msg    message.Message
		text   string
		color  string
		blocks []string
	}{
		{"instant", message.Message{Kind: message.Instant, Site: site(), Time: t0, Checks: []message.Check{
			{ID: "health/api", Level: status.Problem, Message: "HTTP 503 <down>", Value: &v, Since: t0, Link: "https://status.acme.example/checks#health/api"}}},
			":red_circle: health/api is at problem", "#a30200",
			[]string{"section: :red_circle: health/api is at problem",
				"section: :red_circle: *<https://status.acme.example/checks#health/api|health/api>* problem: HTTP 503 &lt;down&gt; (value 2.5) since 10:00 UTC",
				"context: ", "  <https://status.acme.example|ACME> · 2026-11-23 10:00 UTC"}},
		{"repeat", message.Message{Kind: message.Instant, Site: site(), Time: t0, Checks: []message.Check{{ID: "health/api", Level: status.Warning, Repeat: true}}},
			":large_orange_circle: health/api is still at warning", "#daa038", nil},
		{"resolved", message.Message{Kind: message.Resolved, Site: site(), Time: t0, Checks: []message.Check{{ID: "health/api", Level: status.Fine, Message: "HTTP 200"}}},
			":large_green_circle: health/api is fine again", "#2eb886", nil},
		{"status change", message.Message{Kind: message.StatusChange, Site: site(), Time: t0,
			Service: &message.ServiceChange{Name: "API", From: status.Operational, To: status.MajorOutage, Link: "https://api.acme.example/"}},
			":red_circle: API: operational → major outage", "#a30200",
			[]string{"section: :red_circle: *<https://api.acme.example/|API>*: operational → *major outage*"}},
		{"digest", message.Message{Kind: message.Digest, Site: site(), Time: t0,
			Checks:    []message.Check{{ID: "health/db", Level: status.Problem, Message: "refused"}, {ID: "health/disk", Level: status.Warning, Message: "81%"}},
			Incidents: []message.Incident{{ID: 3, Title: "API: partial outage", State: "investigating", Link: "https://status.acme.example/incidents/3"}}},
			"ACME digest: 2 checks not fine, 1 open incidents", "#a30200",
			[]string{"section: *ACME digest*", "section: :red_circle: *Problem*\n:red_circle: *health/db* problem: refused",
				"section: :large_orange_circle: *Warning*\n:large_orange_circle: *health/disk* warning: 81%",
				"section: *Open incidents*\n• <https://status.acme.example/incidents/3|API: partial outage> (investigating)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := notifytest.NewSlack(t)
			n := slack.New(slack.Config{Receiver: "ops", WebhookURL: fake.WebhookURL("secret"), Client: http.DefaultClient})
			if _, err := n.Notify(context.Background(), &c.msg); err != nil {
				t.Fatal(err)
			}
			p := fake.Posts()[0]
			if p.Text != c.text || len(p.Attachments) != 1 || p.Attachments[0]["color"] != c.color || p.Attachments[0]["fallback"] != c.text {
				t.Errorf("text %q, attachments %v", p.Text, p.Attachments)
			}
			got := blocksText(t, p.Attachments[0])
			for _, want := range c.blocks {
				if !strings.Contains(got, want) {
					t.Errorf("blocks lack %q:\n%s", want, got)
				}
			}
		})
	}
}

// Slack's answers: ok, rate limited (with its delay), a server error, a
// refusal.
func TestClassifiesAnswers(t *testing.T) {
	fake := notifytest.NewSlack(t)
	n := slack.New(slack.Config{Receiver: "ops", WebhookURL: fake.WebhookURL("T0K3N"), Client: http.DefaultClient})
	m := &message.Message{Kind: message.Instant, Site: site(), Time: t0, Checks: []message.Check{{ID: "a/b", Level: status.Problem}}}
	fake.Script(notifytest.Reply{Code: 429, Body: "rate_limited", RetryAfter: 12}, notifytest.Reply{Code: 500}, notifytest.Reply{Code: 403, Body: "invalid_token"})
	retry, err := n.Notify(context.Background(), m)
	var ra *notifier.RetryAfter
	if !retry || !errors.As(err, &ra) || ra.After != 12*time.Second {
		t.Errorf("429: retry %v, %v", retry, err)
	}
	if retry, err := n.Notify(context.Background(), m); !retry || err == nil {
		t.Errorf("500: retry %v, %v", retry, err)
	}
	if retry, err := n.Notify(context.Background(), m); retry || err == nil {
		t.Errorf("403: retry %v, %v", retry, err)
	}
	fake.Close()
	retry, err = n.Notify(context.Background(), m)
	if !retry || err == nil || strings.Contains(err.Error(), "T0K3N") {
		t.Errorf("Slack away: retry %v, %v", retry, err)
	}
}

// What Slack receives for each sample message, as a golden file per
// message (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, s := range notifytest.Samples() {
		t.Run(s.Name, func(t *testing.T) {
			fake := notifytest.NewSlack(t)
			n := slack.New(slack.Config{Receiver: "ops", WebhookURL: fake.WebhookURL("secret"), Client: http.DefaultClient})
			if _, err := n.Notify(context.Background(), s.Msg); err != nil {
				t.Fatal(err)
			}
			notifytest.Golden(t, s.Name, notifytest.IndentJSON(t, fake.Posts()[0].Body))
		})
	}
}

// Every answer of Slack, as a webhook and as a bot: what may pass asks
// to try again, and no error shows the webhook's path or the token.
func TestRetries(t *testing.T) {
	m := notifytest.Samples()[0].Msg
	fake := notifytest.NewSlack(t)
	hook := slack.New(slack.Config{Receiver: "ops", WebhookURL: fake.WebhookURL("T0K3NPATH"), Client: http.DefaultClient})
	notifytest.AssertRetries(t, hook, m, notifytest.HTTPOutcomes(fake.Script), "T0K3NPATH")
	bot := slack.New(slack.Config{Receiver: "ops", Token: "xoxb-s3cr3t", Channel: "#ops", APIURL: fake.APIURL(), Client: http.DefaultClient})
	outcomes := append(notifytest.HTTPOutcomes(fake.Script), notifytest.Outcome{Name: "invalid_auth", Retry: false,
		Script: func() {
			fake.Script(notifytest.Reply{Code: http.StatusOK, Body: `{"ok":false,"error":"invalid_auth"}`})
		}})
	notifytest.AssertRetries(t, bot, m, outcomes, "xoxb-s3cr3t")
}
