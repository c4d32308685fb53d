// Package config loads statusd's YAML configuration: strict decoding (an
// unknown key is an error), ${ENV} expansion, *_file variants for secrets,
// defaults set in one place (defaults.go), and validation that reports every
// problem at once as FILE:LINE: field: message.
package config

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/threshold"
)

// Config is the whole configuration file.
type Config struct {
	Site      Site      `yaml:"site"`
	Defaults  Defaults  `yaml:"defaults"`
	Scheduler Scheduler `yaml:"scheduler"`
	Storage   Storage   `yaml:"storage"`
	Resources Resources `yaml:"resources"`
	// Groups and Services are what the status page shows.
	Groups   []Group   `yaml:"groups"`
	Services []Service `yaml:"services"`
	// Receivers are who notifications go to, by name.
	Receivers Receivers `yaml:"receivers"`
	SMTP      SMTP      `yaml:"smtp"`
	Digest    Digest    `yaml:"digest"`
	Notifier  Notifier  `yaml:"notifier"`
	// Page is the public status page.
	Page Page `yaml:"page"`
	// API is how the JSON API serves strangers.
	API API `yaml:"api"`
	// Incidents say how statusd writes in incidents.
	Incidents Incidents `yaml:"incidents"`
	// Downtime configures the down page.
	Downtime Downtime `yaml:"downtime"`
	// Subscriptions are visitors' subscriptions to incidents and
	// maintenance.
	Subscriptions Subscriptions `yaml:"subscriptions"`

	// File is where the config was read from; "" for the built-in default.
	File string `yaml:"-"`
}

// The fresh settings: who may ask the checks API for new runs.
const (
	FreshToken     = "token"
	FreshAnonymous = "anonymous"
	FreshOff       = "off"
)

// API is how the JSON API serves strangers.
type API struct {
	// Fresh says who may ask for fresh runs (?fresh=1): a request with
	// an API token (token, the default), anyone (anonymous), or nobody
	// (off).
	Fresh string `yaml:"fresh"`
	// FreshMinInterval is how recent a check's last run may be and still
	// answer a request for a fresh one (default 5s): a check runs fresh
	// at most once per it, whoever asks.
	FreshMinInterval model.Duration `yaml:"fresh_min_interval"`
}

// Incidents say how statusd writes in incidents.
type Incidents struct {
	// NoteInterval is how often, at most, statusd adds a note to an
	// operator's incident when the checks of its services fail or
	// recover (default 15m): a flapping check writes one note per
	// interval, not one per flap.
	NoteInterval model.Duration `yaml:"note_interval"`
	// Templates are the texts of common incidents and updates, which
	// operators start from (the admin's links, the API's and the
	// command line's template field).
	Templates []IncidentTemplate `yaml:"templates"`
}

// IncidentTemplate is a common incident or update: the fields it gives
// are the defaults of what is written from it.
type IncidentTemplate struct {
	Name    string `yaml:"name"`
	Title   string `yaml:"title"`
	Impact  string `yaml:"impact"`
	State   string `yaml:"state"`
	Message string `yaml:"message"`
}

// Template returns the incident template of a name.
func (i Incidents) Template(name string) (IncidentTemplate, bool) {
	for _, t := range i.Templates {
		if t.Name == name {
			return t, true
		}
	}
	return IncidentTemplate{}, false
}

// Site describes the monitored site.
type Site struct {
	Name     string `yaml:"name"`
	URL      string `yaml:"url"`
	Timezone string `yaml:"timezone"`
}

// Location returns the site's time zone (UTC when unset).
func (s Site) Location() *time.Location {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Defaults apply to every check that does not set its own value.
type Defaults struct {
	Interval model.Duration `yaml:"interval"`
	Timeout  model.Duration `yaml:"timeout"`
	// FailureThreshold is how many results in a row at a worse level
	// raise a check's evaluated level (default 2).
	FailureThreshold int `yaml:"failure_threshold"`
	// SuccessThreshold is how many results in a row at a better level
	// lower it (default 1).
	SuccessThreshold int `yaml:"success_threshold"`
}

// Receivers are the notification receivers by name.
type Receivers map[string]Receiver

// Scheduler tunes how checks are run.
type Scheduler struct {
	// MaxConcurrency bounds how many checks run at the same time.
	MaxConcurrency int `yaml:"max_concurrency"`
}

// Storage tunes what the store keeps. The database itself is chosen with
// the --storage.dsn flag.
type Storage struct {
	// ResultsInterval is how often an unchanged result of a check is
	// stored; every change of level or success is stored, and rollups
	// count every run. 0s stores every run.
	ResultsInterval *model.Duration `yaml:"results_interval"`
	Retention       Retention       `yaml:"retention"`
}

// Retention says how long each kind of history is kept.
type Retention struct {
	// Results is how long raw check results are kept.
	Results model.Duration `yaml:"results"`
	// ResultsPerCheck caps the raw results kept per check (0: no cap).
	ResultsPerCheck int `yaml:"results_per_check"`
	// Minute, Hour and Day are how long each rollup resolution is kept.
	Minute model.Duration `yaml:"minute"`
	Hour   model.Duration `yaml:"hour"`
	Day    model.Duration `yaml:"day"`
	// Heartbeats is how long heartbeat reports are kept (the latest one per
	// check is always kept).
	Heartbeats model.Duration `yaml:"heartbeats"`
	// Notifications is how long sent and failed notifications are kept
	// (pending ones are kept until they are settled).
	Notifications model.Duration `yaml:"notifications"`
}

// Resources are the named groups of checks, in file order.
type Resources []Resource

// Resource is a named group of checks (health, stats, …).
type Resource struct {
	Name   string
	Checks []Check
	line   int
}

func (rs *Resources) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.p.atLine(n.Line, path, "expected a mapping of resource names to lists of checks, got %s", describe(n))
		return
	}
	d.eachPair(n, path, func(key string, kn, vn *yaml.Node) {
		r := Resource{Name: key, line: kn.Line}
		d.p.lines[joinPath(path, key)] = kn.Line
		d.decode(vn, reflectValue(&r.Checks), joinPath(path, key))
		*rs = append(*rs, r)
	})
}

// Resource returns the resource with the given name.
func (c *Config) Resource(name string) (*Resource, bool) {
	for i := range c.Resources {
		if c.Resources[i].Name == name {
			return &c.Resources[i], true
		}
	}
	return nil, false
}

// Check is one probe in a resource. Kind selects which of the kind-specific
// option fields is set; the file writes those options flat beside the
// common fields.
type Check struct {
	Name     string          `yaml:"name"`
	Kind     string          `yaml:"kind"`
	Interval model.Duration  `yaml:"interval"`
	Timeout  model.Duration  `yaml:"timeout"`
	Warning  *threshold.Expr `yaml:"warning"`
	Problem  *threshold.Expr `yaml:"problem"`
	// Description and Link label the check on pages.
	Description string `yaml:"description"`
	Link        string `yaml:"link"`
	// FailureThreshold and SuccessThreshold debounce the evaluated level
	// (defaults: defaults.failure_threshold and success_threshold).
	FailureThreshold int `yaml:"failure_threshold"`
	SuccessThreshold int `yaml:"success_threshold"`
	// Notify says who is told about the check and how; nobody when unset.
	Notify *Notify `yaml:"notify"`
	// Locations run the check once in each (replicas started with
	// --cluster.location); its level is the one Quorum of them agree on.
	// Empty: one member anywhere runs it.
	Locations []string `yaml:"locations"`
	// Quorum is how many locations must see a level for the check to be
	// at it; 0 is a majority of the locations that reported within two
	// intervals.
	Quorum int `yaml:"quorum"`

	Ping      *PingCheck      `kind:"ping"`
	HTTP      *HTTPCheck      `kind:"http"`
	TCP       *TCPCheck       `kind:"tcp"`
	TLS       *TLSCheck       `kind:"tls"`
	DNS       *DNSCheck       `kind:"dns"`
	Command   *CommandCheck   `kind:"command"`
	Heartbeat *HeartbeatCheck `kind:"heartbeat"`
	Build     *BuildCheck     `kind:"build"`
	Storage   *StorageCheck   `kind:"storage"`
	Postgres  *PostgresCheck  `kind:"postgres"`
	MySQL     *MySQLCheck     `kind:"mysql"`
	Redis     *RedisCheck     `kind:"redis"`
	Memcached *MemcachedCheck `kind:"memcached"`
	Celery    *CeleryCheck    `kind:"celery"`
	SQL       *SQLCheck       `kind:"sql"`
	Databases *DatabasesCheck `kind:"databases"`
	Caches    *CachesCheck    `kind:"caches"`
}

// ID returns the check's resource/check address; resource is the name of
// the resource the check belongs to.
func (c Check) ID(resource string) status.CheckID {
	return status.CheckID{Resource: resource, Check: c.Name}
}

// Check returns the check with an address.
func (c *Config) Check(id status.CheckID) (*Check, bool) {
	r, ok := c.Resource(id.Resource)
	if !ok {
		return nil, false
	}
	for i := range r.Checks {
		if r.Checks[i].Name == id.Check {
			return &r.Checks[i], true
		}
	}
	return nil, false
}

// Each calls fn for every check in file order.
func (c *Config) Each(fn func(resource string, check *Check)) {
	for i := range c.Resources {
		for j := range c.Resources[i].Checks {
			fn(c.Resources[i].Name, &c.Resources[i].Checks[j])
		}
	}
}

// Downtime configures the down page that `statusd gate` (and statusd's
// own downtime) serves while a downtime period is active.
type Downtime struct {
	// ExemptExactURLs are paths served during downtime, exactly (query
	// ignored, children not exempt).
	ExemptExactURLs []string `yaml:"exempt_exact_urls"`
	// ExemptPaths are path prefixes served during downtime (by segment);
	// unset is /admin, set (even to []) replaces it.
	ExemptPaths []string `yaml:"exempt_paths"`
	// AllowNetworks are client networks (CIDR, or an address) served
	// during downtime.
	AllowNetworks []string `yaml:"allow_networks"`
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// RedirectURL sends visitors there (302) instead of the down page.
	RedirectURL string `yaml:"redirect_url"`
	// TemplateFile is an html/template for the down page (data: .Reason,
	// .Until, .RetryAfter).
	TemplateFile string `yaml:"template_file"`
	// Bypass lets a request that carries a secret through.
	Bypass DowntimeBypass `yaml:"bypass"`
	// UpstreamDown makes the gate serve the down page when the app behind
	// it does not answer.
	UpstreamDown bool `yaml:"upstream_down"`
}

// DowntimeBypass names a cookie and/or a header that, set to the secret,
// let a request through during downtime.
type DowntimeBypass struct {
	Cookie     string `yaml:"cookie"`
	Header     string `yaml:"header"`
	Secret     Secret `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
}

// Prefixes parses networks given as CIDRs or single addresses.
func Prefixes(networks []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(networks))
	for _, n := range networks {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(n)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a network (10.0.0.0/8) nor an address", n)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
