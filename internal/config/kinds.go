package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/alecthomas/units"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Secret is a string that prints as <secret>. Every secret option has a
// *_file variant that reads the value from a file.
type Secret = promconfig.Secret

// PingCheck answers {"pong": true}: statusd itself is up.
type PingCheck struct{}

// BuildCheck reports how statusd was built (the django-status code stats).
type BuildCheck struct{}

// StorageCheck checks statusd's own database.
type StorageCheck struct{}

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
}

func (h *HTTPCheck) setDefaults() {
	h.HTTPClientConfig = promconfig.DefaultHTTPClientConfig
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
	Address string  `yaml:"address"`
	Send    string  `yaml:"send"`
	Expect  *Regexp `yaml:"expect"`
}

// TLSCheck reads the certificate of a TLS server and warns before it
// expires. Its tls_config is Prometheus's (ca_file, cert_file, key_file,
// server_name, insecure_skip_verify, min_version…).
type TLSCheck struct {
	Address     string               `yaml:"address"`
	TLSConfig   promconfig.TLSConfig `yaml:"tls_config"`
	WarningDays int                  `yaml:"warning_days"`
	ProblemDays int                  `yaml:"problem_days"`
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
	Expect []string `yaml:"expect"`
}

// CommandCheck runs a program following the Nagios plugin convention.
type CommandCheck struct {
	Command []string          `yaml:"command"`
	Dir     string            `yaml:"dir"`
	Env     map[string]Secret `yaml:"env"`
}

// HeartbeatCheck is reported to by jobs (POST /api/v1/heartbeats/…); its
// level comes from the age of the last report.
type HeartbeatCheck struct {
	WarningAfter model.Duration `yaml:"warning_after"`
	ProblemAfter model.Duration `yaml:"problem_after"`
	Token        Secret         `yaml:"token"`
	TokenFile    string         `yaml:"token_file"`
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

// valueless lists the kinds that measure no value, so thresholds on them
// make no sense.
var valueless = map[string]bool{"ping": true, "build": true, "celery": true, "databases": true, "caches": true}

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

// serverStats returns the stats options of a check whose kind has them.
func (ch *Check) serverStats() *ServerStats {
	switch {
	case ch.Postgres != nil:
		return &ch.Postgres.ServerStats
	case ch.MySQL != nil:
		return &ch.MySQL.ServerStats
	case ch.Redis != nil:
		return &ch.Redis.ServerStats
	case ch.Memcached != nil:
		return &ch.Memcached.ServerStats
	}
	return nil
}

// PostgresCheck connects to PostgreSQL and runs SELECT 1; with stats it
// also reports version, connections, size, uptime and replication. Value:
// latency, connections, connection_ratio, database_size, uptime or
// replication_lag.
type PostgresCheck struct {
	Endpoint    `yaml:",inline"`
	ServerStats `yaml:",inline"`
}

// MySQLCheck is PostgresCheck for MySQL and MariaDB.
type MySQLCheck struct {
	Endpoint    `yaml:",inline"`
	ServerStats `yaml:",inline"`
}

// RedisCheck pings Redis and writes, reads and deletes a key; with stats
// it also reports INFO figures. The DSN is redis://[user:password@]host:port/db
// (rediss:// for TLS). Value: latency, used_memory, connected_clients,
// hit_ratio, evicted_keys or uptime.
type RedisCheck struct {
	Endpoint    `yaml:",inline"`
	ServerStats `yaml:",inline"`
}

// MemcachedCheck writes, reads and deletes a key in memcached; with stats
// it also reports its stats. Value: latency, curr_connections, hit_ratio,
// evictions, bytes or uptime.
type MemcachedCheck struct {
	// Address is host:port.
	Address     string `yaml:"address"`
	ServerStats `yaml:",inline"`
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
	Stats bool `yaml:"stats"`
}

// SQLCheck runs a read-only query that returns one number, the check's
// value: the length of a queue, the age of the newest row… The DSN is
// postgres://…, mysql://… (or a go-sql-driver DSN) or sqlite:PATH.
type SQLCheck struct {
	Endpoint `yaml:",inline"`
	Query    string `yaml:"query"`
}

// DatabasesCheck connects to several databases and reports {name: true|false}.
type DatabasesCheck struct {
	Databases map[string]Endpoint `yaml:"databases"`
}

// CachesCheck writes, reads and deletes a key in several caches and reports
// {name: true|false}.
type CachesCheck struct {
	Caches map[string]Endpoint `yaml:"caches"`
}

// Endpoint is one database or cache of a databases or caches check.
type Endpoint struct {
	// DSN: postgres://…, mysql://…, sqlite:PATH, redis://… or memcached://host:port.
	DSN     Secret `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
}

// statValues lists the values each stats-capable kind can measure.
var statValues = map[string][]string{
	"postgres":  {"latency", "connections", "connection_ratio", "database_size", "uptime", "replication_lag"},
	"mysql":     {"latency", "connections", "connection_ratio", "database_size", "uptime", "replication_lag"},
	"redis":     {"latency", "used_memory", "connected_clients", "hit_ratio", "evicted_keys", "uptime"},
	"memcached": {"latency", "curr_connections", "hit_ratio", "evictions", "bytes", "uptime"},
}
