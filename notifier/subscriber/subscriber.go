// Package subscriber delivers what visitors subscribed to: it builds the
// receiver of a subscriber's outbox rows (subscriber:ID) when they come
// due, from the subscriber as stored then — a mail in their language with
// a one-click unsubscribe link (RFC 8058), or a webhook call — so that
// someone who left is told nothing more. The evaluator decides who is
// told; this package says it.
package subscriber

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/email"
	"github.com/statusd/statusd/notifier/webhook"
)

// Store reads subscribers.
type Store interface {
	Subscriber(ctx context.Context, id int64) (store.Subscriber, error)
}

// Options configure the subscribers' receivers.
type Options struct {
	Store   Store
	Catalog *i18n.Catalog
	// PageURL is the status page's root as visitors reach it, with a
	// trailing slash: the links in messages start with it.
	PageURL string
	// Mail sends e-mail (nil: no e-mail subscriptions); From is the
	// sender.
	Mail *email.Server
	From string
	// Location is the site's time zone, for times in messages.
	Location *time.Location
	// Client posts to webhooks; nil makes one that reaches public
	// addresses only (Guarded).
	Client *http.Client
}

// Subscribers builds subscribers' receivers for the dispatcher.
type Subscribers struct {
	opts Options
}

// New returns the subscribers' receivers.
func New(opts Options) *Subscribers {
	if opts.Client == nil {
		opts.Client = Guarded(false)
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	return &Subscribers{opts: opts}
}

// Receiver is the receiver of subscriber id; false when it is gone.
func (s *Subscribers) Receiver(ctx context.Context, id int64) (notifier.Receiver, bool, error) {
	sub, err := s.opts.Store.Subscriber(ctx, id)
	if errors.Is(err, store.ErrNoSubscriber) {
		return notifier.Receiver{}, false, nil
	}
	if err != nil {
		return notifier.Receiver{}, false, err
	}
	lang, _ := s.opts.Catalog.Get(sub.Language)
	r := notifier.Receiver{Name: sub.Receiver()}
	switch sub.Kind {
	case store.SubscribeEmail:
		if s.opts.Mail == nil {
			return r, true, nil // no integration: the rows fail, said so
		}
		r.Integrations = []notifier.Integration{{Name: "email", Notifier: &mailer{s: s, sub: sub, lang: lang}}}
	case store.SubscribeWebhook:
		n, err := webhook.New(webhook.Config{URL: sub.Address, ContentType: "application/json", Client: s.opts.Client})
		if err != nil {
			return r, false, err
		}
		r.Integrations = []notifier.Integration{{Name: "webhook", Notifier: &hook{s: s, sub: sub, n: n}}}
	}
	return r, true, nil
}

// links fills a message's links for a subscriber: the confirmation link,
// and how to leave.
func (s *Subscribers) links(m *message.Message, sub store.Subscriber) *message.Message {
	c := *m
	c.Receiver = "subscriber"
	if m.Confirmation != nil {
		conf := *m.Confirmation
		conf.URL = s.opts.PageURL + "subscribe/confirm/" + url.PathEscape(conf.Token)
		c.Confirmation = &conf
	} else {
		c.Subscription = &message.Subscription{Language: sub.Language, Unsubscribe: s.opts.PageURL + "unsubscribe/" + url.PathEscape(sub.Token)}
	}
	return &c
}

// mailer mails a subscriber.
type mailer struct {
	s    *Subscribers
	sub  store.Subscriber
	lang *i18n.Lang
}

func (m *mailer) Notify(ctx context.Context, msg *message.Message) (bool, error) {
	full := m.s.links(msg, m.sub)
	text, err := Compose(full, m.lang, m.s.opts.PageURL, m.s.opts.Location)
	if err != nil {
		return false, err
	}
	mail := email.Mail{From: m.s.opts.From, To: []string{m.sub.Address}, Subject: text.Subject, Text: text.Text, HTML: text.HTML}
	if full.Subscription != nil {
		// RFC 8058: mail clients show an unsubscribe button that posts
		// to the link; RFC 2369's header names it.
		mail.Headers = map[string]string{
			"List-Unsubscribe":      "<" + full.Subscription.Unsubscribe + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}
	}
	mm, err := mail.Msg()
	if err != nil {
		return false, err
	}
	return m.s.opts.Mail.Deliver(ctx, mm)
}

// hook posts to a subscriber's webhook: the message as JSON, with its
// links.
type hook struct {
	s   *Subscribers
	sub store.Subscriber
	n   *webhook.Notifier
}

func (h *hook) Notify(ctx context.Context, msg *message.Message) (bool, error) {
	return h.n.Notify(ctx, h.s.links(msg, h.sub))
}

// Guarded is an HTTP client for webhooks visitors gave: it connects to
// public addresses only (unless private is set), checked when it
// connects (a name that resolves to 127.0.0.1 is refused too), follows
// no redirect and gives up after 10 s.
func Guarded(private bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		if private {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
			ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
			return fmt.Errorf("%s is not a public address", host)
		}
		return nil
	}}
	transport := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2,
		IdleConnTimeout: 30 * time.Second, TLSHandshakeTimeout: 5 * time.Second}
	return &http.Client{Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
