// Package slack posts notifications to Slack with slack-go: through an
// incoming webhook, or as a bot (chat.postMessage with a token), which can
// reply to the message that announced a problem in its thread. Messages
// are Block Kit blocks in an attachment coloured by level.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/notifier"
)

// Threads remembers which message told a receiver about a topic (a
// check), so that its recovery is posted in that message's thread.
type Threads interface {
	Thread(ctx context.Context, receiver, topic string) (channel, ts string, err error)
	SetThread(ctx context.Context, receiver string, topics []string, channel, ts string, now time.Time) error
}

// Config is a Slack integration.
type Config struct {
	Receiver string
	// WebhookURL is an incoming webhook; otherwise Token and Channel
	// post as a bot.
	WebhookURL string
	Token      string
	Channel    string
	// APIURL is Slack's Web API (https://slack.com/api/).
	APIURL string
	Client *http.Client
	// Threads keeps the threads of bot messages; nil posts no replies.
	Threads Threads
}

// Notifier posts to Slack.
type Notifier struct {
	cfg Config
	api *slack.Client
}

// New returns a Slack notifier.
func New(cfg Config) *Notifier {
	n := &Notifier{cfg: cfg}
	if cfg.Token != "" {
		n.api = slack.New(cfg.Token, slack.OptionHTTPClient(cfg.Client), slack.OptionAPIURL(cfg.APIURL))
	}
	return n
}

// Notify implements notifier.Notifier.
func (n *Notifier) Notify(ctx context.Context, m *message.Message) (bool, error) {
	text, att := Render(m)
	if n.api == nil {
		err := slack.PostWebhookCustomHTTPContext(ctx, n.cfg.WebhookURL, n.cfg.Client, &slack.WebhookMessage{Text: text, Attachments: []slack.Attachment{att}})
		return classify(notifier.Redact(err, n.cfg.WebhookURL))
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionAttachments(att)}
	topics := topicsOf(m)
	if m.Kind == message.Resolved && n.cfg.Threads != nil && len(topics) > 0 && !m.Checks[0].Collapsed {
		// A recovery answers the message that announced the problem.
		if _, ts, err := n.cfg.Threads.Thread(ctx, n.cfg.Receiver, topics[0]); err == nil && ts != "" {
			opts = append(opts, slack.MsgOptionTS(ts))
		}
	}
	channel, ts, err := n.api.PostMessageContext(ctx, n.cfg.Channel, opts...)
	if err != nil {
		return classify(notifier.Redact(err, n.cfg.Token))
	}
	if m.Kind == message.Instant && n.cfg.Threads != nil && len(topics) > 0 {
		// Sent: a thread that cannot be kept only makes the recovery a
		// new message, so its error is not the notification's.
		_ = n.cfg.Threads.SetThread(ctx, n.cfg.Receiver, topics, channel, ts, time.Now())
	}
	return false, nil
}

// topicsOf names the checks a message is about, as the outbox does: for
// a message about problems, those still bad, whose recoveries will answer
// it in its thread.
func topicsOf(m *message.Message) []string {
	topics := make([]string, 0, len(m.Checks))
	for _, c := range m.Checks {
		if m.Kind == message.Resolved || c.Level != status.Fine {
			topics = append(topics, "check:"+c.ID)
		}
	}
	return topics
}

// classify tells whether a failure may pass: rate limits (with their
// Retry-After), 5xx answers and network errors may; other answers, such
// as a 4xx or Slack's ok:false (invalid_auth, channel_not_found), may not.
func classify(err error) (bool, error) {
	if err == nil {
		return false, nil
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var api slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		return true, &notifier.RetryAfter{After: rl.RetryAfter, Err: err}
	case errors.As(err, &sc):
		return sc.Code >= 500 || sc.Code == http.StatusTooManyRequests, err
	case errors.As(err, &api):
		return false, err
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return true, err
	}
	// Anything else (a broken connection, an unreadable answer) may pass.
	return true, err
}

// Colours of the attachment's bar, by level and status.
var (
	levelColors  = map[status.Level]string{status.Fine: "#2eb886", status.Warning: "#daa038", status.Problem: "#a30200"}
	statusColors = map[status.ServiceStatus]string{status.Operational: "#2eb886", status.Degraded: "#3aa3e3", status.PartialOutage: "#daa038", status.MajorOutage: "#a30200"}
	levelEmoji   = map[status.Level]string{status.Fine: ":large_green_circle:", status.Warning: ":large_orange_circle:", status.Problem: ":red_circle:"}
	statusEmoji  = map[status.ServiceStatus]string{status.Operational: ":large_green_circle:", status.Degraded: ":large_blue_circle:", status.PartialOutage: ":large_orange_circle:", status.MajorOutage: ":red_circle:"}
)

// maxChecks is how many checks a message lists; Slack allows 50 blocks.
const maxChecks = 40

// Render turns a message into Slack's fallback text and an attachment of
// blocks coloured by the worst level.
func Render(m *message.Message) (string, slack.Attachment) {
	var blocks []slack.Block
	var text string
	color := levelColors[m.Worst()]
	switch {
	case m.Service != nil:
		s := m.Service
		text = fmt.Sprintf("%s %s: %s → %s", statusEmoji[s.To], s.Name, label(s.From), label(s.To))
		blocks = append(blocks, section(fmt.Sprintf("%s *%s*: %s → *%s*", statusEmoji[s.To], link(s.Name, s.Link), label(s.From), label(s.To))))
		if d := s.During(); d != "" {
			blocks = append(blocks, section(d))
		}
		color = statusColors[s.To]
	case m.Kind == message.Digest:
		text = fmt.Sprintf("%s digest: %d checks not fine, %d open incidents", m.Site.Name, len(m.Checks), len(m.Incidents))
		blocks = append(blocks, section(fmt.Sprintf("*%s digest*", m.Site.Name)))
		for _, lvl := range []status.Level{status.Problem, status.Warning} {
			var lines []string
			for _, c := range m.Checks {
				if c.Level == lvl {
					lines = append(lines, checkLine(c))
				}
			}
			if len(lines) > 0 {
				blocks = append(blocks, section(fmt.Sprintf("%s *%s*\n%s", levelEmoji[lvl], titleCase(lvl.String()), strings.Join(capLines(lines), "\n"))))
			}
		}
		if len(m.Incidents) > 0 {
			var lines []string
			for _, inc := range m.Incidents {
				lines = append(lines, fmt.Sprintf("• %s (%s)", link(inc.Title, inc.Link), inc.State))
			}
			blocks = append(blocks, section("*Open incidents*\n"+strings.Join(capLines(lines), "\n")))
		}
		if len(m.Checks) == 0 && len(m.Incidents) == 0 {
			blocks = append(blocks, section(":large_green_circle: All clear."))
		}
	default:
		text = headline(m)
		blocks = append(blocks, section(text))
		for i, c := range m.Checks {
			if i == maxChecks {
				blocks = append(blocks, section(fmt.Sprintf("…and %d more.", len(m.Checks)-maxChecks)))
				break
			}
			blocks = append(blocks, section(checkLine(c)))
		}
		if m.Kind == message.Resolved {
			color = levelColors[status.Fine]
		}
	}
	footer := m.Site.Name
	if m.Site.URL != "" {
		footer = link(m.Site.Name, m.Site.URL)
	}
	blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, footer+" · "+m.Time.UTC().Format("2006-01-02 15:04 MST"), false, false)))
	return text, slack.Attachment{Color: color, Fallback: text, Blocks: slack.Blocks{BlockSet: blocks}}
}

// headline sums an instant or resolved message up, as the checks are now.
func headline(m *message.Message) string {
	if len(m.Checks) == 1 {
		c := m.Checks[0]
		switch {
		case c.Level == status.Fine:
			return fmt.Sprintf("%s %s is fine again", levelEmoji[status.Fine], c.ID)
		case c.Repeat:
			return fmt.Sprintf("%s %s is still at %s", levelEmoji[c.Level], c.ID, c.Level)
		}
		return fmt.Sprintf("%s %s is at %s", levelEmoji[c.Level], c.ID, c.Level)
	}
	bad := 0
	for _, c := range m.Checks {
		if c.Level != status.Fine {
			bad++
		}
	}
	switch {
	case bad == 0:
		return fmt.Sprintf("%s %d checks are fine again", levelEmoji[status.Fine], len(m.Checks))
	case bad == len(m.Checks):
		return fmt.Sprintf("%s %d checks are not fine", levelEmoji[m.Worst()], bad)
	}
	return fmt.Sprintf("%s %d checks: %s", levelEmoji[m.Worst()], len(m.Checks), m.Tally())
}

// checkLine is a check's line: level, name (linked), message and value.
func checkLine(c message.Check) string {
	line := fmt.Sprintf("%s *%s* %s: %s", levelEmoji[c.Level], link(c.ID, c.Link), c.Level, escape(c.Message))
	if c.Value != nil {
		line += fmt.Sprintf(" (value %g)", *c.Value)
	}
	if !c.Since.IsZero() && c.Level != status.Fine {
		line += " since " + c.Since.UTC().Format("15:04 MST")
	}
	if d := c.Downtime(); d != "" {
		line += " (" + d + ")"
	}
	return line
}

func capLines(lines []string) []string {
	if len(lines) <= maxChecks {
		return lines
	}
	return append(lines[:maxChecks:maxChecks], fmt.Sprintf("…and %d more.", len(lines)-maxChecks))
}

// titleCase capitalises an ASCII word.
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

func label(s status.ServiceStatus) string { return strings.ToLower(s.Label()) }

// link is Slack's <url|text>, or the text alone without a URL.
func link(text, url string) string {
	if url == "" {
		return escape(text)
	}
	return "<" + url + "|" + escape(text) + ">"
}

// escape keeps Slack from reading text as markup: &, < and >.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
