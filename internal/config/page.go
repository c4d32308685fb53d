package config

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/statusd/statusd/internal/i18n"
)

// Page configures the public status page.
type Page struct {
	// Title is the page's title (default: site.name).
	Title string `yaml:"title"`
	// IncidentDays is how many days of incidents the page shows: from UTC
	// midnight of today − (days−1); 1 is today, 0 none by date (default 7).
	IncidentDays *int `yaml:"incident_days"`
	// OpenIncidentsAlways also shows every open incident, however old
	// (default true).
	OpenIncidentsAlways *bool `yaml:"open_incidents_always"`
	// AutoRefresh makes browsers reload the page this often (0s: never,
	// the default).
	AutoRefresh model.Duration `yaml:"auto_refresh"`
	// Favicons replace the built-in icons, per worst status.
	Favicons Favicons `yaml:"favicons"`
	// TemplatesDir holds templates that redefine blocks of the built-in
	// ones (relative to the config file).
	TemplatesDir string `yaml:"templates_dir"`
	// PublicChecks shows the checks dashboard (/checks) to everyone.
	PublicChecks bool `yaml:"public_checks"`
	// FrameAncestors are the origins that may show the pages in a frame
	// (CSP frame-ancestors), such as https://intranet.acme.example; none
	// by default.
	FrameAncestors []string `yaml:"frame_ancestors"`
	// Language forces the page's language (en, it, de, fr, es, or any
	// catalogue added); empty follows each visitor's browser and ?lang=.
	Language string `yaml:"language"`
	// Logo is an image (.svg, .png, .gif, .jpg or .webp, relative to the
	// config file) shown in the header instead of the title.
	Logo string `yaml:"logo"`
	// AccentColor colours links and the header, as #rrggbb.
	AccentColor string `yaml:"accent_color"`
	// HeaderLinks are links in the header, such as the main site or a
	// support page.
	HeaderLinks []Link `yaml:"header_links"`
}

// Link is a named link.
type Link struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
}

// Favicons are icon files (.ico, .png, .svg or .gif, relative to the
// config file) for each worst status; Default is shown when there are no
// services.
type Favicons struct {
	Default       string `yaml:"default"`
	Operational   string `yaml:"operational"`
	Degraded      string `yaml:"degraded"`
	PartialOutage string `yaml:"partial_outage"`
	MajorOutage   string `yaml:"major_outage"`
}

// DefaultIncidentDays is how many days of incidents the page shows.
const DefaultIncidentDays = 7

func (c *Config) applyPageDefaults() {
	p := &c.Page
	setString(&p.Title, c.Site.Name)
	if p.IncidentDays == nil {
		d := DefaultIncidentDays
		p.IncidentDays = &d
	}
	if p.OpenIncidentsAlways == nil {
		t := true
		p.OpenIncidentsAlways = &t
	}
}

// logoTypes are the image formats a logo may be in.
var logoTypes = map[string]bool{".svg": true, ".png": true, ".gif": true, ".jpg": true, ".jpeg": true, ".webp": true}

// accentPattern is a CSS hex colour.
var accentPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// faviconTypes are the icon formats browsers take, by extension.
var faviconTypes = map[string]bool{".ico": true, ".png": true, ".svg": true, ".gif": true}

func (c *Config) validatePage(p *problems) {
	for i, a := range c.Page.FrameAncestors {
		u, err := url.Parse(a)
		if a != "'self'" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "") {
			p.add(indexPath("page.frame_ancestors", i), "must be an origin such as https://intranet.acme.example, or 'self', got %q", a)
		}
	}
	pg := &c.Page
	if d := *pg.IncidentDays; d < 0 || d > 3650 {
		p.add("page.incident_days", "must be from 0 (none by date) to 3650, got %d", d)
	}
	if pg.AutoRefresh < 0 || (pg.AutoRefresh > 0 && pg.AutoRefresh < model.Duration(time.Second)) {
		p.add("page.auto_refresh", "must be 0s (off) or at least 1s, got %s", pg.AutoRefresh)
	}
	dir := c.dir()
	for _, f := range []struct {
		name string
		path *string
	}{
		{"default", &pg.Favicons.Default}, {"operational", &pg.Favicons.Operational}, {"degraded", &pg.Favicons.Degraded},
		{"partial_outage", &pg.Favicons.PartialOutage}, {"major_outage", &pg.Favicons.MajorOutage},
	} {
		if *f.path == "" {
			continue
		}
		field := "page.favicons." + f.name
		*f.path = anchor(dir, *f.path)
		if !faviconTypes[strings.ToLower(filepath.Ext(*f.path))] {
			p.add(field, "%s: use an .ico, .png, .svg or .gif file", *f.path)
			continue
		}
		if _, err := p.readFile(*f.path); err != nil {
			p.add(field, "cannot read %s: %v", *f.path, pathErr(err))
		}
	}
	if pg.Language != "" && !slices.Contains(i18n.MustLoad().Codes(), pg.Language) {
		p.add("page.language", "no catalogue for %q: use one of %s", pg.Language, strings.Join(i18n.MustLoad().Codes(), ", "))
	}
	if pg.Logo != "" {
		pg.Logo = anchor(dir, pg.Logo)
		if !logoTypes[strings.ToLower(filepath.Ext(pg.Logo))] {
			p.add("page.logo", "%s: use an .svg, .png, .gif, .jpg or .webp file", pg.Logo)
		} else if _, err := p.readFile(pg.Logo); err != nil {
			p.add("page.logo", "cannot read %s: %v", pg.Logo, pathErr(err))
		}
	}
	if pg.AccentColor != "" && !accentPattern.MatchString(pg.AccentColor) {
		p.add("page.accent_color", "must be a colour such as #0b5fff, got %q", pg.AccentColor)
	}
	for i, l := range pg.HeaderLinks {
		u, err := url.Parse(l.URL)
		if l.Name == "" {
			p.add(indexPath("page.header_links", i)+".name", "is required")
		}
		if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "mailto") {
			p.add(indexPath("page.header_links", i)+".url", "must be an http(s) or mailto address, got %q", l.URL)
		}
	}
	if pg.TemplatesDir != "" {
		pg.TemplatesDir = anchor(dir, pg.TemplatesDir)
		if fi, err := os.Stat(pg.TemplatesDir); err != nil {
			p.add("page.templates_dir", "cannot read %s: %v", pg.TemplatesDir, pathErr(err))
		} else if !fi.IsDir() {
			p.add("page.templates_dir", "%s is not a folder", pg.TemplatesDir)
		}
	}
}
