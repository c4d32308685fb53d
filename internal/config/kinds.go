package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

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

// HTTPCheck requests a URL and checks the response.
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
	JSON               []JSONCondition `yaml:"json"`
	InsecureSkipVerify bool            `yaml:"insecure_skip_verify"`
	CAFile             string          `yaml:"ca_file"`
	FollowRedirects    *bool           `yaml:"follow_redirects"`
	BasicAuth          *BasicAuth      `yaml:"basic_auth"`
	BearerToken        Secret          `yaml:"bearer_token"`
	BearerTokenFile    string          `yaml:"bearer_token_file"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
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
// expires.
type TLSCheck struct {
	Address            string `yaml:"address"`
	ServerName         string `yaml:"server_name"`
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	WarningDays        int    `yaml:"warning_days"`
	ProblemDays        int    `yaml:"problem_days"`
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
var valueless = map[string]bool{"ping": true, "build": true}
