package config

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/robfig/cron/v3"

	"github.com/statusd/statusd/internal/message"
	"github.com/statusd/statusd/internal/status"
)

// Group is a group of services on the status page.
type Group struct {
	Name     string `yaml:"name"`
	Priority int    `yaml:"priority"`
	// Collapse is never, always or when_operational.
	Collapse string `yaml:"collapse"`
}

// Collapse modes of a group, as django-statusboard's.
const (
	CollapseNever           = "never"
	CollapseAlways          = "always"
	CollapseWhenOperational = "when_operational"
)

// Service is something visitors of the status page care about, whose
// status comes from checks (or an operator).
type Service struct {
	Name        string `yaml:"name"`
	Group       string `yaml:"group"`
	Description string `yaml:"description"`
	Link        string `yaml:"link"`
	Priority    int    `yaml:"priority"`
	// Checks are the resource/check addresses the service depends on.
	Checks []string `yaml:"checks"`
	// OnProblem is the status a check at problem gives: partial_outage
	// (default) or major_outage.
	OnProblem string `yaml:"on_problem"`
	// AutoIncident opens an incident when the checks put the service in
	// partial or major outage, and resolves it when they recover.
	AutoIncident bool `yaml:"auto_incident"`
	// Notify names the receivers told about the service's status changes.
	Notify *ServiceNotify `yaml:"notify"`

	checkIDs []status.CheckID
}

// CheckIDs are the service's checks, parsed.
func (s *Service) CheckIDs() []status.CheckID { return s.checkIDs }

// ProblemStatus is the status a check at problem gives the service.
func (s *Service) ProblemStatus() status.ServiceStatus {
	if s.OnProblem == "major_outage" {
		return status.MajorOutage
	}
	return status.PartialOutage
}

// ServiceNotify says who is told of a service's status changes.
type ServiceNotify struct {
	Receivers []string `yaml:"receivers"`
}

// Notify modes of a check, as django_status's.
const (
	NotifyInstant = "instant" // at once (and in digests)
	NotifyDigest  = "digest"  // in digests only
	NotifyNone    = "none"
)

// Notify says who is told about a check, and how.
type Notify struct {
	Receivers []string `yaml:"receivers"`
	// Mode is instant, digest (default) or none.
	Mode string `yaml:"mode"`
	// Repeat is how long after an instant notification a check still not
	// fine is notified again (default 6h).
	Repeat model.Duration `yaml:"repeat"`
	// SendResolved notifies recovery (default true).
	SendResolved *bool `yaml:"send_resolved"`
}

// Resolved tells whether recovery is notified.
func (n *Notify) Resolved() bool { return n.SendResolved == nil || *n.SendResolved }

// Receiver is a named destination of notifications, with one or more
// integrations.
type Receiver struct {
	Slack   *SlackConfig   `yaml:"slack"`
	Email   *EmailConfig   `yaml:"email"`
	Webhook *WebhookConfig `yaml:"webhook"`
	// IgnoreDegraded drops service changes between operational and
	// degraded (django-statusboard-notify's rule).
	IgnoreDegraded bool `yaml:"ignore_degraded"`
	// AllClear sends a digest even when there is nothing to report.
	AllClear bool `yaml:"all_clear"`
}

// SlackConfig posts to Slack: an incoming webhook, or a bot token and a
// channel (chat.postMessage, which can thread recoveries).
type SlackConfig struct {
	WebhookURL     Secret `yaml:"webhook_url"`
	WebhookURLFile string `yaml:"webhook_url_file"`
	Token          Secret `yaml:"token"`
	TokenFile      string `yaml:"token_file"`
	Channel        string `yaml:"channel"`
	// APIURL is Slack's Web API (default https://slack.com/api/).
	APIURL string `yaml:"api_url"`
	// HTTPConfig is the client's proxy and TLS options.
	HTTPConfig promconfig.HTTPClientConfig `yaml:"http_config"`
}

func (s *SlackConfig) setDefaults() { s.HTTPConfig = promconfig.DefaultHTTPClientConfig }

// EmailConfig mails notifications through the smtp server.
type EmailConfig struct {
	To []string `yaml:"to"`
}

// WebhookConfig posts each notification to a URL: the event as JSON, or a
// body from a Go template.
type WebhookConfig struct {
	URL     Secret `yaml:"url"`
	URLFile string `yaml:"url_file"`
	// HMACSecret signs the body (X-Statusd-Signature: sha256=…).
	HMACSecret     Secret `yaml:"hmac_secret"`
	HMACSecretFile string `yaml:"hmac_secret_file"`
	// BodyTemplate is a Go text/template of the body, for services that
	// want their own shape (Discord, Teams, Mattermost, ntfy…).
	BodyTemplate     string            `yaml:"body_template"`
	BodyTemplateFile string            `yaml:"body_template_file"`
	ContentType      string            `yaml:"content_type"`
	Headers          map[string]Secret `yaml:"headers"`
	// HTTPConfig is the client's options (auth, proxy, TLS).
	HTTPConfig promconfig.HTTPClientConfig `yaml:"http_config"`
}

func (w *WebhookConfig) setDefaults() { w.HTTPConfig = promconfig.DefaultHTTPClientConfig }

// SMTP is the mail server e-mail receivers are sent through.
type SMTP struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls (default), tls or none.
	TLS          string `yaml:"tls"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// From defaults to status@ the domain of site.url.
	From string `yaml:"from"`
	// TLSConfig is the server's TLS: ca_file for a private CA,
	// server_name, insecure_skip_verify, min_version.
	TLSConfig promconfig.TLSConfig `yaml:"tls_config"`
	// TextTemplateFile and HTMLTemplateFile replace the built-in mail
	// templates; the text one starts with a "SUBJECT:" line.
	TextTemplateFile string `yaml:"text_template_file"`
	HTMLTemplateFile string `yaml:"html_template_file"`
}

// Notifier tunes the delivery of notifications.
type Notifier struct {
	// GroupWait is how long a receiver's first notification waits for
	// others to join it, so that one outage failing many checks is one
	// message (default 10s; 0s sends at once).
	GroupWait *model.Duration `yaml:"group_wait"`
	// RetryMin and RetryMax bound the exponential backoff between
	// attempts (defaults 1s and 5m); a rate-limited answer's Retry-After
	// wins.
	RetryMin model.Duration `yaml:"retry_min"`
	RetryMax model.Duration `yaml:"retry_max"`
	// GiveUpAfter is how long a notification is retried before it is
	// marked failed (default 24h).
	GiveUpAfter model.Duration `yaml:"give_up_after"`
}

// Digest schedules digests.
type Digest struct {
	// Schedule is a cron expression (minute hour day month weekday);
	// empty sends digests only from `statusd notify digest`.
	Schedule string `yaml:"schedule"`
	// Timezone is the schedule's (default: site.timezone).
	Timezone string `yaml:"timezone"`

	schedule cron.Schedule
}

// Next returns the first slot of the schedule after t, false without one.
func (d Digest) Next(t time.Time) (time.Time, bool) {
	if d.schedule == nil {
		return time.Time{}, false
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return d.schedule.Next(t.In(loc)), true
}

// Notify defaults, as django_status's.
const (
	DefaultRepeat           = model.Duration(6 * time.Hour)
	DefaultFailureThreshold = 2
	DefaultSuccessThreshold = 1
	DefaultSMTPPort         = 587
	DefaultGroupWait        = model.Duration(10 * time.Second)
)

func (c *Config) applyNotifyDefaults() {
	for i := range c.Groups {
		setString(&c.Groups[i].Collapse, CollapseNever)
	}
	for i := range c.Services {
		setString(&c.Services[i].OnProblem, "partial_outage")
	}
	if c.SMTP.Port == 0 {
		c.SMTP.Port = DefaultSMTPPort
	}
	setString(&c.SMTP.TLS, "starttls")
	if c.SMTP.From == "" {
		if u, err := url.Parse(c.Site.URL); err == nil && u.Hostname() != "" {
			// django_status's rule: status@ the site's domain.
			c.SMTP.From = "status@" + u.Hostname()
		}
	}
	setString(&c.Digest.Timezone, c.Site.Timezone)
	if c.Notifier.GroupWait == nil {
		d := DefaultGroupWait
		c.Notifier.GroupWait = &d
	}
	setDuration(&c.Notifier.RetryMin, model.Duration(time.Second))
	setDuration(&c.Notifier.RetryMax, model.Duration(5*time.Minute))
	setDuration(&c.Notifier.GiveUpAfter, model.Duration(24*time.Hour))
	for _, r := range c.Receivers {
		if r.Slack != nil {
			setString(&r.Slack.APIURL, "https://slack.com/api/")
		}
		if r.Webhook != nil {
			setString(&r.Webhook.ContentType, "application/json")
		}
	}
}

func (ch *Check) applyNotifyDefaults(d Defaults) {
	if ch.FailureThreshold == 0 {
		ch.FailureThreshold = d.FailureThreshold
	}
	if ch.SuccessThreshold == 0 {
		ch.SuccessThreshold = d.SuccessThreshold
	}
	if ch.Notify != nil {
		setString(&ch.Notify.Mode, NotifyDigest)
		setDuration(&ch.Notify.Repeat, DefaultRepeat)
	}
}

// validateServices checks groups and services and every name they refer
// to: checks, groups and receivers.
func (c *Config) validateServices(p *problems) {
	groups := map[string]int{}
	for i, g := range c.Groups {
		path := indexPath("groups", i)
		switch {
		case strings.TrimSpace(g.Name) == "":
			p.add(joinPath(path, "name"), "required")
		case hasKey(groups, g.Name):
			p.add(joinPath(path, "name"), "duplicate group %q (first at %s)", g.Name, indexPath("groups", groups[g.Name]))
		default:
			groups[g.Name] = i
		}
		if !slices.Contains([]string{CollapseNever, CollapseAlways, CollapseWhenOperational}, g.Collapse) {
			p.add(joinPath(path, "collapse"), "must be never, always or when_operational, got %q", g.Collapse)
		}
	}
	checks := map[status.CheckID]bool{}
	c.Each(func(r string, ch *Check) { checks[ch.ID(r)] = true })
	services := map[string]int{}
	for i := range c.Services {
		s := &c.Services[i]
		path := indexPath("services", i)
		switch {
		case strings.TrimSpace(s.Name) == "":
			p.add(joinPath(path, "name"), "required")
		case strings.ContainsAny(s.Name, "/\n"):
			p.add(joinPath(path, "name"), "must not contain '/' or a line break")
		case hasKey(services, s.Name):
			p.add(joinPath(path, "name"), "duplicate service %q (first at %s)", s.Name, indexPath("services", services[s.Name]))
		default:
			services[s.Name] = i
		}
		if s.Group != "" && !hasKey(groups, s.Group) {
			p.add(joinPath(path, "group"), "unknown group %q%s", s.Group, among(keys(groups)))
		}
		if s.OnProblem != "partial_outage" && s.OnProblem != "major_outage" {
			p.add(joinPath(path, "on_problem"), "must be partial_outage or major_outage, got %q", s.OnProblem)
		}
		if s.Link != "" {
			if u, err := url.Parse(s.Link); err != nil || u.Scheme == "" {
				p.add(joinPath(path, "link"), "must be an absolute URL")
			}
		}
		s.checkIDs = nil
		seen := map[status.CheckID]bool{}
		for j, ref := range s.Checks {
			cpath := indexPath(joinPath(path, "checks"), j)
			id, err := status.ParseCheckID(ref)
			switch {
			case err != nil:
				p.add(cpath, "%v", err)
			case !checks[id]:
				p.add(cpath, "unknown check %s", id)
			case seen[id]:
				p.add(cpath, "check %s listed twice", id)
			default:
				seen[id] = true
				s.checkIDs = append(s.checkIDs, id)
			}
		}
		if s.Notify != nil {
			c.validateReceiverRefs(p, joinPath(joinPath(path, "notify"), "receivers"), s.Notify.Receivers)
		}
	}
	for _, r := range c.Resources {
		for i := range r.Checks {
			ch := &r.Checks[i]
			path := indexPath(joinPath("resources", r.Name), i)
			if ch.FailureThreshold < 1 {
				p.add(joinPath(path, "failure_threshold"), "must be at least 1")
			}
			if ch.SuccessThreshold < 1 {
				p.add(joinPath(path, "success_threshold"), "must be at least 1")
			}
			if n := ch.Notify; n != nil {
				npath := joinPath(path, "notify")
				c.validateReceiverRefs(p, joinPath(npath, "receivers"), n.Receivers)
				if !slices.Contains([]string{NotifyInstant, NotifyDigest, NotifyNone}, n.Mode) {
					p.add(joinPath(npath, "mode"), "must be instant, digest or none, got %q", n.Mode)
				}
				if n.Repeat < 0 {
					p.add(joinPath(npath, "repeat"), "must not be negative")
				}
			}
		}
	}
	if c.Defaults.FailureThreshold < 1 {
		p.add("defaults.failure_threshold", "must be at least 1")
	}
	if c.Defaults.SuccessThreshold < 1 {
		p.add("defaults.success_threshold", "must be at least 1")
	}
}

func (c *Config) validateReceiverRefs(p *problems, path string, names []string) {
	for i, name := range names {
		if _, ok := c.Receivers[name]; !ok {
			p.add(indexPath(path, i), "unknown receiver %q%s", name, among(keys(c.Receivers)))
		}
	}
}

// validateReceivers checks receivers, the mail server and the digest.
func (c *Config) validateReceivers(p *problems) {
	mailers := false
	for _, name := range sortedKeys(c.Receivers) {
		r := c.Receivers[name]
		path := joinPath("receivers", name)
		if !namePattern.MatchString(name) {
			p.add(path, "invalid receiver name %q: use letters, digits, '_', '.' and '-'", name)
		}
		if r.Slack == nil && r.Email == nil && r.Webhook == nil {
			p.add(path, "needs at least one of slack, email and webhook")
		}
		if s := r.Slack; s != nil {
			spath := joinPath(path, "slack")
			switch {
			case s.WebhookURL == "" && s.Token == "" && s.WebhookURLFile == "" && s.TokenFile == "":
				// (A file that cannot be read is reported where it is named.)
				p.add(spath, "needs webhook_url (an incoming webhook) or token and channel (a bot)")
			case s.WebhookURL != "" && s.Token != "":
				p.add(joinPath(spath, "token"), "cannot be used together with webhook_url")
			case s.Token != "" && s.Channel == "":
				p.add(joinPath(spath, "channel"), "required with token")
			}
			if s.WebhookURL != "" {
				requireHTTPURL(p, joinPath(spath, "webhook_url"), string(s.WebhookURL), true)
			}
			requireHTTPURL(p, joinPath(spath, "api_url"), s.APIURL, false)
			validateHTTPConfig(p, joinPath(spath, "http_config"), &s.HTTPConfig)
		}
		if e := r.Email; e != nil {
			mailers = true
			epath := joinPath(path, "email")
			if len(e.To) == 0 {
				p.add(joinPath(epath, "to"), "required: at least one address")
			}
			for i, to := range e.To {
				if _, err := mail.ParseAddress(to); err != nil {
					p.add(indexPath(joinPath(epath, "to"), i), "invalid address %q: %v", to, err)
				}
			}
		}
		if w := r.Webhook; w != nil {
			wpath := joinPath(path, "webhook")
			switch {
			case w.URL == "" && w.URLFile == "":
				p.add(joinPath(wpath, "url"), "required (or url_file)")
			case w.URL != "":
				requireHTTPURL(p, joinPath(wpath, "url"), string(w.URL), true)
			}
			if w.BodyTemplate != "" && w.BodyTemplateFile != "" {
				p.add(joinPath(wpath, "body_template_file"), "cannot be used together with body_template")
			}
			if w.BodyTemplateFile != "" {
				b, err := p.readFile(w.BodyTemplateFile)
				if err != nil {
					p.add(joinPath(wpath, "body_template_file"), "cannot read %s: %v", w.BodyTemplateFile, pathErr(err))
				} else {
					w.BodyTemplate = string(b)
				}
			}
			if w.BodyTemplate != "" {
				if err := checkTextTemplate("body_template", w.BodyTemplate, false); err != nil {
					p.add(joinPath(wpath, "body_template"), "%v", err)
				}
			}
			validateHTTPConfig(p, joinPath(wpath, "http_config"), &w.HTTPConfig)
		}
	}
	s := c.SMTP
	if mailers && s.Host == "" {
		p.add("smtp.host", "required: an email receiver is configured")
	}
	if !slices.Contains([]string{"starttls", "tls", "none"}, s.TLS) {
		p.add("smtp.tls", "must be starttls, tls or none, got %q", s.TLS)
	}
	if s.Port < 1 || s.Port > 65535 {
		p.add("smtp.port", "must be a port number, got %d", s.Port)
	}
	if s.From != "" {
		if _, err := mail.ParseAddress(s.From); err != nil {
			p.add("smtp.from", "invalid address %q: %v", s.From, err)
		}
	} else if mailers {
		p.add("smtp.from", "required when site.url is not set (the default is status@ its domain)")
	}
	validateTLS(p, "smtp.tls_config", &c.SMTP.TLSConfig)
	for _, f := range []struct {
		field, file string
		check       func(name, text string) error
	}{
		{"smtp.text_template_file", s.TextTemplateFile, func(name, text string) error { return checkTextTemplate(name, text, true) }},
		{"smtp.html_template_file", s.HTMLTemplateFile, checkHTMLTemplate},
	} {
		if f.file == "" {
			continue
		}
		b, err := p.readFile(f.file)
		if err != nil {
			p.add(f.field, "cannot read %s: %v", f.file, pathErr(err))
			continue
		}
		if err := f.check(f.file, string(b)); err != nil {
			p.add(f.field, "%v", err)
		}
	}
	if c.Notifier.RetryMin > c.Notifier.RetryMax {
		p.add("notifier.retry_min", "must not exceed retry_max (%s)", c.Notifier.RetryMax)
	}
	if *c.Notifier.GroupWait < 0 {
		p.add("notifier.group_wait", "must not be negative")
	}
	if c.Digest.Schedule != "" {
		sched, err := cron.ParseStandard(c.Digest.Schedule)
		if err != nil {
			p.add("digest.schedule", "invalid cron expression %q: %v", c.Digest.Schedule, err)
		}
		c.Digest.schedule = sched
	}
	if _, err := time.LoadLocation(c.Digest.Timezone); err != nil && c.Digest.Timezone != c.Site.Timezone {
		p.add("digest.timezone", "unknown time zone %q (use an IANA name such as Europe/Rome)", c.Digest.Timezone)
	}
}

// validateHTTPConfig applies Prometheus's rules to a client's options.
func validateHTTPConfig(p *problems, path string, c *promconfig.HTTPClientConfig) {
	if err := c.Validate(); err != nil {
		p.add(path, "%v", err)
	}
	validateTLS(p, joinPath(path, "tls_config"), &c.TLSConfig)
}

// requireHTTPURL checks an absolute http(s) URL; a secret URL is not
// repeated in the message.
func requireHTTPURL(p *problems, path, raw string, secret bool) {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return
	}
	if secret {
		p.add(path, "must be an absolute http(s) URL")
		return
	}
	p.add(path, "must be an absolute http(s) URL, got %q", raw)
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func keys[V any](m map[string]V) []string { return sortedKeys(m) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// among lists the known names for an error about an unknown one.
func among(known []string) string {
	if len(known) == 0 {
		return " (none is defined)"
	}
	return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
}

// checkTextTemplate parses a message template and renders every sample
// message with it (message.Samples), as statusd will, so that a template
// that fails, or a mail text without its SUBJECT: line, is an error when
// the config is loaded, not at the first notification. Errors name the
// template (its file) and line.
func checkTextTemplate(name, text string, mail bool) error {
	t, err := texttemplate.New(name).Funcs(message.TemplateFuncs()).Parse(text)
	if err != nil {
		return cleanTemplateError(err)
	}
	for _, s := range message.Samples() {
		var b strings.Builder
		if err := t.Execute(&b, s.Msg); err != nil {
			return fmt.Errorf("%w (rendering a %s message)", cleanTemplateError(err), s.Name)
		}
		if mail {
			if _, _, err := message.SplitSubject(b.String()); err != nil {
				return fmt.Errorf("%s:1: %w (rendering a %s message)", name, err, s.Name)
			}
		}
	}
	return nil
}

// checkHTMLTemplate is checkTextTemplate for a mail's HTML part.
func checkHTMLTemplate(name, text string) error {
	t, err := htmltemplate.New(name).Funcs(message.TemplateFuncs()).Parse(text)
	if err != nil {
		return cleanTemplateError(err)
	}
	for _, s := range message.Samples() {
		if err := t.Execute(io.Discard, s.Msg); err != nil {
			return fmt.Errorf("%w (rendering a %s message)", cleanTemplateError(err), s.Name)
		}
	}
	return nil
}

// cleanTemplateError drops the "template: " Go's template errors start
// with: they read NAME:LINE:COL: message.
func cleanTemplateError(err error) error {
	return errors.New(strings.TrimPrefix(strings.TrimPrefix(err.Error(), "html/template:"), "template: "))
}
