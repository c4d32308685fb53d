package config

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
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
	if f := c.API.Fresh; f != FreshToken && f != FreshAnonymous && f != FreshOff {
		p.add("api.fresh", "must be token, anonymous or off, got %q", f)
	}
	if c.API.FreshMinInterval < 0 {
		p.add("api.fresh_min_interval", "must not be negative")
	}
	if c.Scheduler.MaxConcurrency < 1 {
		p.add("scheduler.max_concurrency", "must be at least 1")
	}
	if c.Storage.Retention.ResultsPerCheck < 0 {
		p.add("storage.retention.results_per_check", "must not be negative (0 keeps every result within the retention time)")
	}

	c.validateTemplates(p)
	c.validateDowntime(p)
	c.validateServices(p)
	c.validateReceivers(p)
	c.validatePage(p)
	c.validateSubscriptions(p)

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
	ch.validateLocations(p, path)
	if ch.Timeout >= ch.Interval {
		p.add(joinPath(path, "timeout"), "must be less than interval (%s)", ch.Interval)
	}
	opts := ch.options()
	if opts == nil {
		return // an unknown kind, reported when decoding
	}
	if !opts.measures() {
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
	opts.validate(p, path)
}

// DSNScheme names the kind of server a DSN points at: the URL scheme
// (postgresql and pyamqp are spelled postgres and amqp), "mysql" for a
// go-sql-driver DSN such as user:pass@tcp(host)/db, and "sqlite" for
// sqlite:PATH. It never returns the DSN itself, which may hold a password.
func DSNScheme(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, ":")
	switch {
	case !ok:
		return ""
	case scheme == "postgresql":
		return "postgres"
	case scheme == "pyamqp":
		return "amqp"
	case scheme == "sqlite" || scheme == "file":
		return "sqlite"
	case strings.Contains(dsn, "@tcp(") || strings.Contains(dsn, "@unix("):
		return "mysql"
	case scheme == "memcached":
		return "memcached"
	case strings.HasPrefix(rest, "//"):
		return strings.ToLower(scheme)
	}
	return ""
}

func requireDSN(p *problems, path string, dsn Secret, schemes ...string) {
	if dsn == "" {
		p.add(joinPath(path, "dsn"), "required (or dsn_file)")
		return
	}
	if s := DSNScheme(string(dsn)); !slices.Contains(schemes, s) {
		p.add(joinPath(path, "dsn"), "unsupported DSN %s: want %s", describeScheme(s), strings.Join(schemes, ", "))
	}
}

func describeScheme(s string) string {
	if s == "" {
		return "(no scheme)"
	}
	return "scheme " + strconv.Quote(s)
}

func validateEndpoints(p *problems, path string, eps map[string]Endpoint, schemes ...string) {
	if len(eps) == 0 {
		p.add(path, "required: at least one name with its dsn")
	}
	for name, ep := range eps {
		requireDSN(p, joinPath(path, name), ep.DSN, schemes...)
	}
}

// validateTLS checks a tls_config as it will be used: Prometheus's rules,
// then the client certificate must match its key. (The CA file was checked
// when it was anchored.)
func validateTLS(p *problems, path string, c *promconfig.TLSConfig) {
	if err := c.Validate(); err != nil {
		p.add(path, "%v", err)
		return
	}
	if p.hasUnder(path) {
		return // a file is missing, already said
	}
	if c.CA != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CA)) {
		p.add(joinPath(path, "ca"), "holds no PEM certificates")
	}
	cert, key := []byte(c.Cert), []byte(c.Key)
	var err error
	if c.CertFile != "" {
		if cert, err = p.readFile(c.CertFile); err != nil {
			return
		}
	}
	if c.KeyFile != "" {
		if key, err = p.readFile(c.KeyFile); err != nil {
			return
		}
	}
	if len(cert) > 0 {
		if _, err := tls.X509KeyPair(cert, key); err != nil {
			p.add(path, "client certificate and key: %v", err)
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

// validateLocations checks a check's locations and quorum.
func (ch *Check) validateLocations(p *problems, path string) {
	for i, l := range ch.Locations {
		switch {
		case !namePattern.MatchString(l):
			p.add(indexPath(joinPath(path, "locations"), i), "invalid location %q: use letters, digits, '_', '.' and '-'", l)
		case slices.Index(ch.Locations, l) < i:
			p.add(indexPath(joinPath(path, "locations"), i), "location %q listed twice", l)
		}
	}
	switch {
	case ch.Quorum < 0:
		p.add(joinPath(path, "quorum"), "must not be negative")
	case ch.Quorum > 0 && len(ch.Locations) == 0:
		p.add(joinPath(path, "quorum"), "needs locations: a quorum is of the locations that run the check")
	case ch.Quorum > len(ch.Locations):
		p.add(joinPath(path, "quorum"), "is %d, more than the %d locations listed", ch.Quorum, len(ch.Locations))
	}
}

// validateTemplates checks the incident templates: named, once each, with
// a known impact and state, and something to say.
func (c *Config) validateTemplates(p *problems) {
	if c.Incidents.NoteInterval < 0 {
		p.add("incidents.note_interval", "must not be negative")
	}
	seen := map[string]bool{}
	for i, t := range c.Incidents.Templates {
		path := indexPath("incidents.templates", i)
		switch {
		case !namePattern.MatchString(t.Name):
			p.add(path+".name", "invalid template name %q: use letters, digits, '_', '.' and '-'", t.Name)
		case seen[t.Name]:
			p.add(path+".name", "template %q is defined twice", t.Name)
		}
		seen[t.Name] = true
		if t.Impact != "" && !slices.Contains([]string{"none", "minor", "major", "critical"}, t.Impact) {
			p.add(path+".impact", "must be none, minor, major or critical, got %q", t.Impact)
		}
		if t.State != "" && !slices.Contains([]string{"investigating", "identified", "monitoring", "resolved"}, t.State) {
			p.add(path+".state", "must be investigating, identified, monitoring or resolved, got %q", t.State)
		}
		if t.Title == "" && t.Message == "" {
			p.add(path, "gives neither a title nor a message")
		}
	}
}

// validateDowntime checks the down page's settings.
func (c *Config) validateDowntime(p *problems) {
	d := &c.Downtime
	if _, err := Prefixes(d.AllowNetworks); err != nil {
		p.add("downtime.allow_networks", "%v", err)
	}
	if _, err := Prefixes(d.TrustedProxies); err != nil {
		p.add("downtime.trusted_proxies", "%v", err)
	}
	if u := d.RedirectURL; u != "" && !redirectable(u) {
		p.add("downtime.redirect_url", "must be an http(s) URL or a path starting with /, got %q", u)
	}
	for i, e := range append(append([]string{}, d.ExemptExactURLs...), d.ExemptPaths...) {
		if !strings.HasPrefix(e, "/") {
			field := "downtime.exempt_exact_urls"
			if i >= len(d.ExemptExactURLs) {
				field = "downtime.exempt_paths"
			}
			p.add(field, "%q is not a path (start it with /)", e)
		}
	}
	if (d.Bypass.Cookie != "" || d.Bypass.Header != "") != (d.Bypass.Secret != "") {
		p.add("downtime.bypass", "give a cookie or a header name, and the secret (secret or secret_file), or none")
	}
}

// redirectable tells whether a down page may redirect to u: an absolute
// http(s) URL, or a path of the site itself.
func redirectable(u string) bool {
	parsed, err := url.Parse(u)
	switch {
	case err != nil:
		return false
	case parsed.Host != "":
		return parsed.Scheme == "http" || parsed.Scheme == "https"
	}
	return parsed.Scheme == "" && strings.HasPrefix(parsed.Path, "/")
}
