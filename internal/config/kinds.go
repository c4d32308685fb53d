package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/units"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Secret is a string that prints as <secret>. Every secret option has a
// *_file variant that reads the value from a file.
type Secret = promconfig.Secret

// kindOptions are a check kind's own options, the type of a Check field
// tagged `kind:"name"`: each kind's type sets its own defaults, validates
// itself and says whether it measures a value, here beside its fields.
// TestKinds fails when a kind's type does not implement it.
type kindOptions interface {
	// fillDefaults sets what the file left out.
	fillDefaults()
	// validate adds the options' problems; path is the check's.
	validate(p *problems, path string)
	// measures tells whether a run measures a value that warning and
	// problem thresholds can compare.
	measures() bool
}

// options returns the options of the check's kind; nil for a kind that
// does not exist (reported when decoding) or none.
func (ch *Check) options() kindOptions {
	v := reflect.ValueOf(ch).Elem()
	i, ok := checkInfo().kinds[ch.Kind]
	if !ok || v.Field(i).IsNil() {
		return nil
	}
	return v.Field(i).Interface().(kindOptions)
}

// checkInfo is how Check maps to YAML, computed once.
var checkInfo = sync.OnceValue(func() structInfo { return infoOf(reflect.TypeFor[Check]()) })

// noDefaults, noValidation and noValue are the kindOptions methods of a
// kind without defaults, rules or a value.
type (
	noDefaults   struct{}
	noValidation struct{}
	noValue      struct{}
	hasValue     struct{}
)

func (noDefaults) fillDefaults()                {}
func (noValidation) validate(*problems, string) {}
func (noValue) measures() bool                  { return false }
func (hasValue) measures() bool                 { return true }

// PingCheck answers {"pong": true}: statusd itself is up.
type PingCheck struct {
	noDefaults   `yaml:"-"`
	noValidation `yaml:"-"`
	noValue      `yaml:"-"`
}

// BuildCheck reports how statusd was built (the django-status code stats).
type BuildCheck struct {
	noDefaults   `yaml:"-"`
	noValidation `yaml:"-"`
	noValue      `yaml:"-"`
}

// StorageCheck checks statusd's own database: that it answers, and that
// statusd's writes to it go through.
type StorageCheck struct {
	// FailingProblem is how long writes may fail (a warning meanwhile)
	// before the check is at problem (default 5m).
	FailingProblem model.Duration `yaml:"failing_problem"`
	// PendingProblem is how many results may wait to be written while
	// writes fail before the check is at problem (default 10,000).
	PendingProblem int `yaml:"pending_problem"`
	hasValue       `yaml:"-"`
}

func (s *StorageCheck) fillDefaults() {
	setDuration(&s.FailingProblem, model.Duration(5*time.Minute))
	if s.PendingProblem == 0 {
		s.PendingProblem = 10_000
	}
}

func (s *StorageCheck) validate(p *problems, path string) {
	if s.FailingProblem < 0 {
		p.add(joinPath(path, "failing_problem"), "must not be negative")
	}
	if s.PendingProblem < 0 {
		p.add(joinPath(path, "pending_problem"), "must not be negative")
	}
}

// HTTPCheck requests a URL and checks the response. The client options
// are Prometheus's (prometheus/common/config.HTTPClientConfig), written flat
// beside the check's own options as blackbox_exporter's http module does:
// basic_auth, authorization, oauth2, bearer_token(_file), tls_config,
// proxy_url, no_proxy, proxy_from_environment, proxy_connect_header,
// follow_redirects, enable_http2 and http_headers.
type HTTPCheck struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Headers map[string]Secret `yaml:"headers"`
	Body    string            `yaml:"body"`
	// ExpectedStatus lists the accepted codes: 200, or classes like 2xx.
	ExpectedStatus []StatusRange `yaml:"expected_status"`
	BodyContains   string        `yaml:"body_contains"`
	BodyRegex      *Regexp       `yaml:"body_regex"`
	// JSON lists conditions on fields of a JSON response body.
	JSON []JSONCondition `yaml:"json"`
	// BodySizeLimit is the most of a body that is read (decompressed); a
	// larger body is a problem.
	BodySizeLimit units.Base2Bytes `yaml:"body_size_limit"`

	promconfig.HTTPClientConfig `yaml:",inline"`
	hasValue                    `yaml:"-"`
}

func (h *HTTPCheck) setDefaults() {
	h.HTTPClientConfig = promconfig.DefaultHTTPClientConfig
}

// responseTimed: a run's duration is the response time.
func (*HTTPCheck) responseTimed() bool { return true }

func (h *HTTPCheck) fillDefaults() {
	if h.Method == "" {
		h.Method = "GET"
	}
	if len(h.ExpectedStatus) == 0 {
		h.ExpectedStatus = []StatusRange{{200, 299}}
	}
	if h.BodySizeLimit == 0 {
		h.BodySizeLimit = DefaultBodySizeLimit
	}
}

func (h *HTTPCheck) validate(p *problems, path string) {
	u, err := url.Parse(h.URL)
	switch {
	case h.URL == "":
		p.add(joinPath(path, "url"), "required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.add(joinPath(path, "url"), "must be an absolute http(s) URL")
	}
	if !regexp.MustCompile(`^[A-Z]+$`).MatchString(h.Method) {
		p.add(joinPath(path, "method"), "invalid HTTP method %q", h.Method)
	}
	for i, j := range h.JSON {
		if j.Path == "" {
			p.add(joinPath(indexPath(joinPath(path, "json"), i), "path"), "required")
		}
	}
	if h.BodySizeLimit <= 0 {
		p.add(joinPath(path, "body_size_limit"), "must be positive, such as 1MiB")
	}
	// Prometheus's own rules for its client options (one kind of
	// credentials, proxy settings that fit together…); they also turn
	// bearer_token into authorization.
	if err := h.Validate(); err != nil {
		p.add(path, "%v", err)
	}
	validateTLS(p, joinPath(path, "tls_config"), &h.TLSConfig)
}

// JSONCondition requires the field at Path of a JSON body to equal Equals.
// Path is dot-separated with numeric list indexes: data.items.0.status.
type JSONCondition struct {
	Path   string `yaml:"path"`
	Equals any    `yaml:"equals"`
}

// StatusRange is an accepted HTTP status code or class ("200", "2xx").
type StatusRange struct{ Min, Max int }

// UnmarshalText parses "200" or "2xx".
func (s *StatusRange) UnmarshalText(b []byte) error {
	t := strings.ToLower(strings.TrimSpace(string(b)))
	if len(t) == 3 && t[1:] == "xx" && t[0] >= '1' && t[0] <= '5' {
		c := int(t[0]-'0') * 100
		*s = StatusRange{c, c + 99}
		return nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 100 || n > 599 {
		return fmt.Errorf("invalid status code %q: want 100–599 or a class such as 2xx", string(b))
	}
	*s = StatusRange{n, n}
	return nil
}

// Contains reports whether code is in the range.
func (s StatusRange) Contains(code int) bool { return code >= s.Min && code <= s.Max }

func (s StatusRange) String() string {
	if s.Min == s.Max {
		return strconv.Itoa(s.Min)
	}
	return fmt.Sprintf("%dxx", s.Min/100)
}

// TCPCheck connects to a TCP address, optionally sends a line and expects
// an answer matching a regular expression.
type TCPCheck struct {
	Address    string  `yaml:"address"`
	Send       string  `yaml:"send"`
	Expect     *Regexp `yaml:"expect"`
	noDefaults `yaml:"-"`
	hasValue   `yaml:"-"`
}

func (t *TCPCheck) validate(p *problems, path string) {
	requireHostPort(p, joinPath(path, "address"), t.Address)
}

// TLSCheck reads the certificate of a TLS server and warns before it
// expires. Its tls_config is Prometheus's (ca_file, cert_file, key_file,
// server_name, insecure_skip_verify, min_version…).
type TLSCheck struct {
	Address     string               `yaml:"address"`
	TLSConfig   promconfig.TLSConfig `yaml:"tls_config"`
	WarningDays int                  `yaml:"warning_days"`
	ProblemDays int                  `yaml:"problem_days"`
	hasValue    `yaml:"-"`
}

func (t *TLSCheck) fillDefaults() {
	if t.WarningDays == 0 {
		t.WarningDays = 14
	}
	if t.ProblemDays == 0 {
		t.ProblemDays = 3
	}
}

func (t *TLSCheck) validate(p *problems, path string) {
	requireHostPort(p, joinPath(path, "address"), t.Address)
	validateTLS(p, joinPath(path, "tls_config"), &t.TLSConfig)
	if t.WarningDays < 0 || t.ProblemDays < 0 {
		p.add(joinPath(path, "warning_days"), "days must not be negative")
	} else if t.ProblemDays > t.WarningDays {
		p.add(joinPath(path, "problem_days"), "must not exceed warning_days (%d)", t.WarningDays)
	}
}

// DNSCheck resolves a name.
type DNSCheck struct {
	Query string `yaml:"query"`
	// Type is A, AAAA, CNAME, MX or TXT.
	Type string `yaml:"type"`
	// Server is host[:port]; the system resolver when empty.
	Server   string `yaml:"server"`
	Protocol string `yaml:"protocol"`
	// Expect lists answers that must all be present.
	Expect   []string `yaml:"expect"`
	hasValue `yaml:"-"`
}

func (d *DNSCheck) fillDefaults() {
	if d.Type == "" {
		d.Type = "A"
	}
	if d.Protocol == "" {
		d.Protocol = "udp"
	}
}

// dnsTypes are the record types a dns check can ask for.
var dnsTypes = map[string]bool{"A": true, "AAAA": true, "CNAME": true, "MX": true, "TXT": true, "NS": true}

func (d *DNSCheck) validate(p *problems, path string) {
	if d.Query == "" {
		p.add(joinPath(path, "query"), "required: the name to resolve")
	}
	d.Type = strings.ToUpper(d.Type)
	if !dnsTypes[d.Type] {
		p.add(joinPath(path, "type"), "unsupported record type %q (want A, AAAA, CNAME, MX, NS or TXT)", d.Type)
	}
	if d.Protocol != "udp" && d.Protocol != "tcp" {
		p.add(joinPath(path, "protocol"), "must be udp or tcp")
	}
	if d.Server != "" {
		if _, _, err := net.SplitHostPort(d.Server); err != nil {
			d.Server = net.JoinHostPort(strings.Trim(d.Server, "[]"), "53")
		}
	}
}

// CommandCheck runs a program following the Nagios plugin convention.
type CommandCheck struct {
	Command    []string          `yaml:"command"`
	Dir        string            `yaml:"dir"`
	Env        map[string]Secret `yaml:"env"`
	noDefaults `yaml:"-"`
	hasValue   `yaml:"-"`
}

func (c *CommandCheck) validate(p *problems, path string) {
	if len(c.Command) == 0 || c.Command[0] == "" {
		p.add(joinPath(path, "command"), "required: the program and its arguments, as a list")
	}
}

// HeartbeatCheck is reported to by jobs (POST /api/v1/heartbeats/…); its
// level comes from the age of the last report.
type HeartbeatCheck struct {
	WarningAfter model.Duration `yaml:"warning_after"`
	ProblemAfter model.Duration `yaml:"problem_after"`
	Token        Secret         `yaml:"token"`
	TokenFile    string         `yaml:"token_file"`
	hasValue     `yaml:"-"`
}

func (h *HeartbeatCheck) fillDefaults() {
	switch {
	case h.WarningAfter == 0 && h.ProblemAfter == 0:
		// django_status's AgeMonitor: warning after a day, problem after two.
		h.WarningAfter, h.ProblemAfter = day, 2*day
	case h.ProblemAfter == 0:
		h.ProblemAfter = 2 * h.WarningAfter
	case h.WarningAfter == 0:
		h.WarningAfter = h.ProblemAfter // no warning stage
	}
}

func (h *HeartbeatCheck) validate(p *problems, path string) {
	if h.WarningAfter > h.ProblemAfter {
		p.add(joinPath(path, "warning_after"), "must not exceed problem_after (%s)", h.ProblemAfter)
	}
}

// Warnings are what config check says of a heartbeat check that is valid
// but open to anyone.
func (h *HeartbeatCheck) Warnings() []string {
	if h.Token == "" {
		return []string{"has no token: anyone who reaches statusd can report to it"}
	}
	return nil
}

// Regexp is a regular expression compiled when the config is loaded.
type Regexp struct {
	*regexp.Regexp
}

// UnmarshalText compiles the expression.
func (r *Regexp) UnmarshalText(b []byte) error {
	re, err := regexp.Compile(string(b))
	if err != nil {
		return fmt.Errorf("invalid regular expression: %w", err)
	}
	r.Regexp = re
	return nil
}

// ServerStats are the options of the kinds that can report a server's
// figures (postgres, mysql, redis, memcached).
type ServerStats struct {
	// Stats adds the server's figures to the details.
	Stats bool `yaml:"stats"`
	// Value is what the thresholds compare: latency (default, seconds) or
	// one of the kind's figures (statValues).
	Value string `yaml:"value"`
}

// ReadsStats tells whether a run reads the server's figures: asked for,
// or needed for the value.
func (s ServerStats) ReadsStats() bool { return s.Stats || s.Value != "latency" }

func (s *ServerStats) fillDefaults() { setString(&s.Value, "latency") }

func (ServerStats) measures() bool { return true }

// validateValue checks that the value is one of the kind's figures.
func (s *ServerStats) validateValue(p *problems, path, kind string, values ...string) {
	if !slices.Contains(values, s.Value) {
		p.add(joinPath(path, "value"), "unknown value %q for kind %s (one of: %s)", s.Value, kind, strings.Join(values, ", "))
	}
}

// The figures a database server's stats give.
var databaseValues = []string{"latency", "connections", "connection_ratio", "database_size", "uptime", "replication_lag"}

// PostgresCheck connects to PostgreSQL and runs SELECT 1; with stats it
// also reports version, connections, size, uptime and replication. Value:
// latency, connections, connection_ratio, database_size, uptime or
// replication_lag.
type PostgresCheck struct {
	Endpoint    `yaml:",inline"`
	ServerStats `yaml:",inline"`
}

func (c *PostgresCheck) validate(p *problems, path string) {
	requireDSN(p, path, c.DSN, "postgres")
	c.validateValue(p, path, "postgres", databaseValues...)
}

// MySQLCheck is PostgresCheck for MySQL and MariaDB.
type MySQLCheck struct {
	Endpoint    `yaml:",inline"`
	ServerStats `yaml:",inline"`
}

func (c *MySQLCheck) validate(p *problems, path string) {
	requireDSN(p, path, c.DSN, "mysql")
	c.validateValue(p, path, "mysql", databaseValues...)
}

// RedisCheck pings Redis and writes, reads and deletes a key; with stats
// it also reports INFO figures. The DSN is redis://[user:password@]host:port/db
// (rediss:// for TLS). Value: latency, used_memory, connected_clients,
// hit_ratio, evicted_keys or uptime.
type RedisCheck struct {
	Endpoint    `yaml:",inline"`
	ServerStats `yaml:",inline"`
}

func (c *RedisCheck) validate(p *problems, path string) {
	requireDSN(p, path, c.DSN, "redis", "rediss")
	c.validateValue(p, path, "redis", "latency", "used_memory", "connected_clients", "hit_ratio", "evicted_keys", "uptime")
}

// MemcachedCheck writes, reads and deletes a key in memcached; with stats
// it also reports its stats. Value: latency, curr_connections, hit_ratio,
// evictions, bytes or uptime.
type MemcachedCheck struct {
	// Address is host:port.
	Address     string `yaml:"address"`
	ServerStats `yaml:",inline"`
}

func (c *MemcachedCheck) validate(p *problems, path string) {
	requireHostPort(p, joinPath(path, "address"), c.Address)
	c.validateValue(p, path, "memcached", "latency", "curr_connections", "hit_ratio", "evictions", "bytes", "uptime")
}

// CeleryCheck pings Celery workers through their broker with Celery's
// remote-control protocol, as `celery inspect ping` does.
type CeleryCheck struct {
	// Broker is redis://… or amqp://… as Celery's broker_url.
	Broker     Secret `yaml:"broker"`
	BrokerFile string `yaml:"broker_file"`
	// Workers are the worker names that must answer (celery@host); when
	// empty, every worker that answers is reported and none is a problem.
	Workers []string `yaml:"workers"`
	// Namespace is the mailbox namespace (Celery's app main name is not
	// used: Celery always uses "celery").
	Namespace string `yaml:"namespace"`
	// Stats adds `celery inspect stats` for the workers.
	Stats   bool `yaml:"stats"`
	noValue `yaml:"-"`
}

func (c *CeleryCheck) fillDefaults() { setString(&c.Namespace, "celery") }

func (c *CeleryCheck) validate(p *problems, path string) {
	if c.Broker == "" {
		p.add(joinPath(path, "broker"), "required (or broker_file): redis://… or amqp://…")
	} else if s := DSNScheme(string(c.Broker)); s != "redis" && s != "rediss" && s != "amqp" && s != "amqps" {
		p.add(joinPath(path, "broker"), "unsupported broker %q: use redis://, rediss://, amqp:// or amqps://", s)
	}
}

// SQLCheck runs a read-only query that returns one number, the check's
// value: the length of a queue, the age of the newest row… The DSN is
// postgres://…, mysql://… (or a go-sql-driver DSN) or sqlite:PATH.
type SQLCheck struct {
	Endpoint   `yaml:",inline"`
	Query      string `yaml:"query"`
	noDefaults `yaml:"-"`
	hasValue   `yaml:"-"`
}

func (c *SQLCheck) validate(p *problems, path string) {
	requireDSN(p, path, c.DSN, "postgres", "mysql", "sqlite")
	if strings.TrimSpace(c.Query) == "" {
		p.add(joinPath(path, "query"), "required: a read-only query that returns one number")
	}
}

// DatabasesCheck connects to several databases and reports {name: true|false}.
type DatabasesCheck struct {
	Databases  map[string]Endpoint `yaml:"databases"`
	noDefaults `yaml:"-"`
	noValue    `yaml:"-"`
}

func (c *DatabasesCheck) validate(p *problems, path string) {
	validateEndpoints(p, joinPath(path, "databases"), c.Databases, "postgres", "mysql", "sqlite")
}

// CachesCheck writes, reads and deletes a key in several caches and reports
// {name: true|false}.
type CachesCheck struct {
	Caches     map[string]Endpoint `yaml:"caches"`
	noDefaults `yaml:"-"`
	noValue    `yaml:"-"`
}

func (c *CachesCheck) validate(p *problems, path string) {
	validateEndpoints(p, joinPath(path, "caches"), c.Caches, "redis", "rediss", "memcached")
}

// Endpoint is one database or cache of a databases or caches check.
type Endpoint struct {
	// DSN: postgres://…, mysql://…, sqlite:PATH, redis://… or memcached://host:port.
	DSN     Secret `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
}

// Warnings are what config check says of a valid check that may not be
// what was meant (a heartbeat anyone can report to), from its kind.
func (ch *Check) Warnings() []string {
	if w, ok := ch.options().(interface{ Warnings() []string }); ok {
		return w.Warnings()
	}
	return nil
}

// ResponseTimed tells whether the check's runs time a response, so that
// their durations are response times worth a chart (an http check's).
func (ch *Check) ResponseTimed() bool {
	r, ok := ch.options().(interface{ responseTimed() bool })
	return ok && r.responseTimed()
}
