package config

import (
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// namePattern is what resource and check names may contain: they appear in
// URLs, metric labels and the CLI.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (c *Config) validate(p *problems) {
	if c.Site.URL != "" {
		if u, err := url.Parse(c.Site.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add("site.url", "must be an absolute http(s) URL, got %q", c.Site.URL)
		}
	}
	if _, err := time.LoadLocation(c.Site.Timezone); err != nil {
		p.add("site.timezone", "unknown time zone %q (use an IANA name such as Europe/Rome)", c.Site.Timezone)
	}
	if c.Defaults.Timeout >= c.Defaults.Interval {
		p.add("defaults.timeout", "must be less than defaults.interval (%s)", c.Defaults.Interval)
	}
	if c.Scheduler.MaxConcurrency < 1 {
		p.add("scheduler.max_concurrency", "must be at least 1")
	}
	if c.Storage.Retention.ResultsPerCheck < 0 {
		p.add("storage.retention.results_per_check", "must not be negative (0 keeps every result within the retention time)")
	}

	for _, r := range c.Resources {
		rpath := joinPath("resources", r.Name)
		if !namePattern.MatchString(r.Name) {
			p.add(rpath, "invalid resource name %q: use letters, digits, '_', '.' and '-'", r.Name)
		}
		seen := map[string]int{}
		for i := range r.Checks {
			ch := &r.Checks[i]
			path := indexPath(rpath, i)
			switch {
			case ch.Name == "":
				p.add(joinPath(path, "name"), "required")
			case !namePattern.MatchString(ch.Name):
				p.add(joinPath(path, "name"), "invalid check name %q: use letters, digits, '_', '.' and '-'", ch.Name)
			default:
				if first, dup := seen[ch.Name]; dup {
					p.add(joinPath(path, "name"), "duplicate check %q in resource %s (first at %s)", ch.Name, r.Name, indexPath(rpath, first))
				} else {
					seen[ch.Name] = i
				}
			}
			ch.validate(p, path)
		}
	}
}

func (ch *Check) validate(p *problems, path string) {
	if ch.Kind == "" {
		p.add(joinPath(path, "kind"), "required (one of: %s)", strings.Join(KindNames(), ", "))
		return
	}
	if ch.Timeout >= ch.Interval {
		p.add(joinPath(path, "timeout"), "must be less than interval (%s)", ch.Interval)
	}
	if valueless[ch.Kind] {
		if ch.Warning != nil {
			p.add(joinPath(path, "warning"), "kind %s measures no value to compare", ch.Kind)
		}
		if ch.Problem != nil {
			p.add(joinPath(path, "problem"), "kind %s measures no value to compare", ch.Kind)
		}
	}
	if ch.Link != "" {
		if u, err := url.Parse(ch.Link); err != nil || u.Scheme == "" {
			p.add(joinPath(path, "link"), "must be an absolute URL")
		}
	}
	switch {
	case ch.HTTP != nil:
		ch.HTTP.validate(p, path)
	case ch.TCP != nil:
		requireHostPort(p, joinPath(path, "address"), ch.TCP.Address)
	case ch.TLS != nil:
		t := ch.TLS
		requireHostPort(p, joinPath(path, "address"), t.Address)
		if t.WarningDays < 0 || t.ProblemDays < 0 {
			p.add(joinPath(path, "warning_days"), "days must not be negative")
		} else if t.ProblemDays > t.WarningDays {
			p.add(joinPath(path, "problem_days"), "must not exceed warning_days (%d)", t.WarningDays)
		}
	case ch.DNS != nil:
		ch.DNS.validate(p, path)
	case ch.Command != nil:
		if len(ch.Command.Command) == 0 || ch.Command.Command[0] == "" {
			p.add(joinPath(path, "command"), "required: the program and its arguments, as a list")
		}
	case ch.Heartbeat != nil:
		if ch.Heartbeat.WarningAfter > ch.Heartbeat.ProblemAfter {
			p.add(joinPath(path, "warning_after"), "must not exceed problem_after (%s)", ch.Heartbeat.ProblemAfter)
		}
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
	if h.BasicAuth != nil && h.BasicAuth.Username == "" {
		p.add(joinPath(path, "basic_auth.username"), "required")
	}
	if h.BasicAuth != nil && h.BearerToken != "" {
		p.add(joinPath(path, "bearer_token"), "cannot be used together with basic_auth")
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

func requireHostPort(p *problems, path, addr string) {
	if addr == "" {
		p.add(path, "required: host:port")
		return
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		p.add(path, "must be host:port, got %q", addr)
	}
}

// KindNames lists the check kinds statusd knows, sorted.
func KindNames() []string {
	return kindNames(infoOf(reflect.TypeOf(Check{})))
}
