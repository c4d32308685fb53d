package config

import (
	"time"

	"github.com/prometheus/common/model"
)

// Subscriptions configure visitors' subscriptions to incidents and
// maintenance (by e-mail, with smtp set, and by webhook).
type Subscriptions struct {
	// Enabled offers subscriptions on the page (default true).
	Enabled *bool `yaml:"enabled"`
	// Webhook lets visitors subscribe a webhook (default true).
	Webhook *bool `yaml:"webhook"`
	// ConfirmWithin is how long a confirmation link works (default 48h).
	ConfirmWithin model.Duration `yaml:"confirm_within"`
	// PerClient and PerAddress bound the requests to subscribe from one
	// client (IP address) and to one address, per hour (defaults 10 and
	// 3): nobody can make statusd mail someone over and over.
	PerClient  int `yaml:"per_client"`
	PerAddress int `yaml:"per_address"`
	// WebhookPrivateNetworks lets webhooks reach loopback, private and
	// link-local addresses (default false: a visitor could otherwise make
	// statusd post into its own network).
	WebhookPrivateNetworks bool `yaml:"webhook_private_networks"`
}

// SubscribeEmail tells whether visitors may subscribe by e-mail: subscriptions are
// on and statusd can send mail.
func (c *Config) SubscribeEmail() bool {
	return isTrue(c.Subscriptions.Enabled) && c.SMTP.Host != ""
}

// SubscribeWebhook tells whether visitors may subscribe a webhook.
func (c *Config) SubscribeWebhook() bool {
	return isTrue(c.Subscriptions.Enabled) && isTrue(c.Subscriptions.Webhook)
}

// isTrue is a switch's value; unset (before defaults) is false.
func isTrue(b *bool) bool { return b != nil && *b }

func (c *Config) applySubscriptionDefaults() {
	s := &c.Subscriptions
	t := true
	if s.Enabled == nil {
		s.Enabled = &t
	}
	if s.Webhook == nil {
		w := true
		s.Webhook = &w
	}
	setDuration(&s.ConfirmWithin, model.Duration(48*time.Hour))
	if s.PerClient == 0 {
		s.PerClient = 10
	}
	if s.PerAddress == 0 {
		s.PerAddress = 3
	}
}

func (c *Config) validateSubscriptions(p *problems) {
	s := &c.Subscriptions
	if d := time.Duration(s.ConfirmWithin); d < time.Minute || d > 30*24*time.Hour {
		p.add("subscriptions.confirm_within", "must be from 1m to 30d, got %s", s.ConfirmWithin)
	}
	if s.PerClient < 1 {
		p.add("subscriptions.per_client", "must be at least 1, got %d", s.PerClient)
	}
	if s.PerAddress < 1 {
		p.add("subscriptions.per_address", "must be at least 1, got %d", s.PerAddress)
	}
}
