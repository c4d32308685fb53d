// Package integrations builds the notifier's receivers from the config:
// each receiver's Slack, e-mail and webhook integrations.
package integrations

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/email"
	"github.com/statusd/statusd/notifier/slack"
	"github.com/statusd/statusd/notifier/subscriber"
	"github.com/statusd/statusd/notifier/webhook"
)

// Build returns every receiver of a config with its integrations, by
// name; threads keeps Slack bots' threads (nil: no thread replies).
func Build(cfg *config.Config, threads slack.Threads) ([]notifier.Receiver, error) {
	var text, html string
	for _, f := range []struct {
		file string
		into *string
	}{{cfg.SMTP.TextTemplateFile, &text}, {cfg.SMTP.HTMLTemplateFile, &html}} {
		if f.file == "" {
			continue
		}
		b, err := os.ReadFile(f.file)
		if err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
		*f.into = string(b)
	}
	smtpTLS, err := smtpTLSConfig(cfg)
	if err != nil {
		return nil, err
	}
	// One mail server, its connections shared by every e-mail receiver.
	var mailServer *email.Server
	names := make([]string, 0, len(cfg.Receivers))
	for name := range cfg.Receivers {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []notifier.Receiver
	for _, name := range names {
		rc := cfg.Receivers[name]
		r := notifier.Receiver{Name: name, IgnoreDegraded: rc.IgnoreDegraded}
		if s := rc.Slack; s != nil {
			client, err := httpClient(s.HTTPConfig, "slack")
			if err != nil {
				return nil, fmt.Errorf("receiver %s: slack: %w", name, err)
			}
			r.Integrations = append(r.Integrations, notifier.Integration{Name: "slack", Notifier: slack.New(slack.Config{
				Receiver: name, WebhookURL: string(s.WebhookURL), Token: string(s.Token), Channel: s.Channel,
				APIURL: s.APIURL, Client: client, Threads: threads,
			})})
		}
		if e := rc.Email; e != nil {
			ec := email.Config{
				To: e.To, From: cfg.SMTP.From, Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
				Username: cfg.SMTP.Username, Password: string(cfg.SMTP.Password), TextTemplate: text, HTMLTemplate: html, TLSConfig: smtpTLS,
			}
			if mailServer == nil {
				if mailServer, err = email.NewServer(ec); err != nil {
					return nil, fmt.Errorf("smtp: %w", err)
				}
			}
			ec.Server = mailServer
			n, err := email.New(ec)
			if err != nil {
				return nil, fmt.Errorf("receiver %s: email: %w", name, err)
			}
			r.Integrations = append(r.Integrations, notifier.Integration{Name: "email", Notifier: n})
		}
		if w := rc.Webhook; w != nil {
			client, err := httpClient(w.HTTPConfig, "webhook")
			if err != nil {
				return nil, fmt.Errorf("receiver %s: webhook: %w", name, err)
			}
			headers := map[string]string{}
			for k, v := range w.Headers {
				headers[k] = string(v)
			}
			n, err := webhook.New(webhook.Config{URL: string(w.URL), HMACSecret: string(w.HMACSecret), BodyTemplate: w.BodyTemplate,
				ContentType: w.ContentType, Headers: headers, Client: client})
			if err != nil {
				return nil, fmt.Errorf("receiver %s: webhook: %w", name, err)
			}
			r.Integrations = append(r.Integrations, notifier.Integration{Name: "webhook", Notifier: n})
		}
		out = append(out, r)
	}
	return out, nil
}

// smtpTLSConfig is the mail server's TLS settings.
func smtpTLSConfig(cfg *config.Config) (*tls.Config, error) {
	smtpTLS, err := promconfig.NewTLSConfig(&cfg.SMTP.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("smtp: tls_config: %w", err)
	}
	if smtpTLS.ServerName == "" {
		smtpTLS.ServerName = cfg.SMTP.Host
	}
	return smtpTLS, nil
}

// Subscribers builds the receivers of visitors' subscriptions: mail
// through the config's smtp (none without), webhooks to public addresses
// (or any, with subscriptions.webhook_private_networks); pageURL starts
// the links in messages.
func Subscribers(cfg *config.Config, st subscriber.Store, cat *i18n.Catalog, pageURL string) (*subscriber.Subscribers, error) {
	opts := subscriber.Options{Store: st, Catalog: cat, PageURL: pageURL, From: cfg.SMTP.From, Location: cfg.Site.Location(),
		Client: subscriber.Guarded(cfg.Subscriptions.WebhookPrivateNetworks)}
	if cfg.SMTP.Host != "" {
		smtpTLS, err := smtpTLSConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts.Mail, err = email.NewServer(email.Config{From: cfg.SMTP.From, Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
			Username: cfg.SMTP.Username, Password: string(cfg.SMTP.Password), TLSConfig: smtpTLS})
		if err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
	}
	return subscriber.New(opts), nil
}

// httpClient is an HTTP integration's client from its http_config. It
// follows a redirect only within the receiver's scheme and host: a
// notification carries the receiver's credentials (authorization, custom
// headers, a secret in the URL's path) and its content, which another
// host must not get. A redirect elsewhere is answered as it came, a 3xx
// the integration reports as a refusal.
func httpClient(cfg promconfig.HTTPClientConfig, name string) (*http.Client, error) {
	client, err := promconfig.NewClientFromConfig(cfg, name)
	if err != nil {
		return nil, err
	}
	client.Timeout = 30 * time.Second
	follow := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if first := via[0].URL; req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
			return http.ErrUseLastResponse
		}
		if follow != nil {
			return follow(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return client, nil
}

// Policy is the config's pacing of deliveries.
func Policy(cfg *config.Config) notifier.Policy {
	n := cfg.Notifier
	return notifier.Policy{
		GroupWait:   time.Duration(*n.GroupWait),
		RetryMin:    time.Duration(n.RetryMin),
		RetryMax:    time.Duration(n.RetryMax),
		GiveUpAfter: time.Duration(n.GiveUpAfter),
	}
}
