// Package notifier delivers the notifications the evaluator wrote into the
// outbox, in the manner of Alertmanager's notify package: every
// integration (notifier/slack, notifier/email, notifier/webhook) is a
// Notifier, and a dispatcher claims rows, groups them, sends them through
// each integration of their receiver, retries with backoff and records
// the outcome. It never imports web or evaluator.
package notifier

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/message"
)

// Notifier delivers a message through one integration.
type Notifier interface {
	// Notify sends m. On failure, retry tells whether trying again may
	// succeed (a network error, a 5xx, a rate limit) or not (a 4xx, a
	// rejected request); wrap the error in a RetryAfter to ask for a
	// delay.
	Notify(ctx context.Context, m *message.Message) (retry bool, err error)
}

// Integration is one way of reaching a receiver.
type Integration struct {
	// Name is slack, email or webhook.
	Name     string
	Notifier Notifier
}

// Receiver is a named destination with its integrations.
type Receiver struct {
	Name         string
	Integrations []Integration
	// IgnoreDegraded drops a service's changes between operational and
	// degraded.
	IgnoreDegraded bool
}

// RetryAfter is a failure that says when to try again, such as Slack's
// rate limit or a 429 with a Retry-After header.
type RetryAfter struct {
	After time.Duration
	Err   error
}

func (e *RetryAfter) Error() string { return e.Err.Error() }
func (e *RetryAfter) Unwrap() error { return e.Err }

// Redact removes secrets from an error's text: every occurrence of each
// secret (and of its URL-escaped form), and the URL of a *url.Error,
// which repeats a webhook's address with its token.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = "<redacted>"
	}
	text := err.Error()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			text = strings.ReplaceAll(text, form, "<redacted>")
		}
	}
	if text == err.Error() {
		return err
	}
	return &redacted{text: text, err: err}
}

// redacted is an error whose text had secrets removed; it unwraps to the
// original, for errors.As on its type.
type redacted struct {
	text string
	err  error
}

func (r *redacted) Error() string { return r.text }
func (r *redacted) Unwrap() error { return r.err }
