package content

import (
	"context"
	"net/mail"
	"net/url"
	"strings"

	"github.com/statusd/statusd/internal/store"
)

// MaxAddress bounds an e-mail address or a webhook URL.
const MaxAddress = 500

// Subscribe is a visitor's request to subscribe.
type Subscribe struct {
	// Kind is email or webhook.
	Kind    string
	Address string
	// Language is the subscriber's language code (the page's when they
	// asked).
	Language string
	// Services are the services chosen; none is all of them.
	Services []string
}

// Validate checks the request and puts the address in its usual form (an
// e-mail address's domain in lower case, a URL as parsed).
func (s *Subscribe) Validate() error {
	f := FieldErrors{}
	s.Address = strings.TrimSpace(s.Address)
	switch {
	case s.Address == "":
		f["address"] = "is required"
	case len(s.Address) > MaxAddress:
		f["address"] = "is too long"
	case s.Kind == store.SubscribeEmail:
		a, err := mail.ParseAddress(s.Address)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") || strings.ContainsAny(a.Address, " \r\n<>") {
			f["address"] = "must be an e-mail address such as name@example.com"
			break
		}
		local, domain, _ := strings.Cut(a.Address, "@")
		s.Address = local + "@" + strings.ToLower(domain)
	case s.Kind == store.SubscribeWebhook:
		u, err := url.Parse(s.Address)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			f["address"] = "must be an http(s) URL without credentials"
			break
		}
		u.Fragment = ""
		s.Address = u.String()
	default:
		f["kind"] = "must be email or webhook"
	}
	checkNames(f, "services", s.Services)
	return f.err()
}

// Subscriptions are visitors' subscriptions: requests, confirmations and
// unsubscriptions from the page, and the operators' view of them (the
// evaluator writes them, with the notifications they need).
type Subscriptions interface {
	// Subscribe records a request and sends its confirmation link (when
	// the address is not subscribed already: the caller cannot tell).
	Subscribe(ctx context.Context, in Subscribe) error
	// Confirm confirms the subscription of a link; ErrNoSubscriber when
	// the link is unknown, used or expired.
	Confirm(ctx context.Context, token string) (store.Subscriber, error)
	// Unsubscribe removes the subscriber of a token.
	Unsubscribe(ctx context.Context, token string) (store.Subscriber, error)
	// Subscribers lists them, for operators.
	Subscribers(ctx context.Context) ([]store.Subscriber, error)
	// RemoveSubscriber removes one, for an operator (audited).
	RemoveSubscriber(ctx context.Context, who store.Actor, id int64) error
}
