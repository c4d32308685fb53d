package page

import (
	"fmt"
	"time"

	"github.com/statusd/statusd/internal/config"
)

// SettingsOf reads a config's status page settings.
func SettingsOf(cfg *config.Config) Settings {
	p := cfg.Page
	return Settings{
		Title:               p.Title,
		SiteName:            cfg.Site.Name,
		SiteURL:             cfg.Site.URL,
		Location:            cfg.Site.Location(),
		IncidentDays:        *p.IncidentDays,
		OpenIncidentsAlways: *p.OpenIncidentsAlways,
		AutoRefresh:         time.Duration(p.AutoRefresh),
		Favicons: map[string]string{
			"default": p.Favicons.Default, "operational": p.Favicons.Operational, "degraded": p.Favicons.Degraded,
			"partial_outage": p.Favicons.PartialOutage, "major_outage": p.Favicons.MajorOutage,
		},
		TemplatesDir:   p.TemplatesDir,
		PublicChecks:   p.PublicChecks,
		FrameAncestors: p.FrameAncestors,
		Language:       p.Language,
		Logo:           p.Logo,
		Accent:         p.AccentColor,
		HeaderLinks:    headerLinks(p.HeaderLinks),
		Subscribe: SubscribeSettings{Email: cfg.SubscribeEmail(), Webhook: cfg.SubscribeWebhook(),
			ConfirmWithin: time.Duration(cfg.Subscriptions.ConfirmWithin),
			PerClient:     cfg.Subscriptions.PerClient, PerAddress: cfg.Subscriptions.PerAddress},
	}
}

func headerLinks(ls []config.Link) []HeaderLink {
	var out []HeaderLink
	for _, l := range ls {
		out = append(out, HeaderLink{Name: l.Name, URL: l.URL})
	}
	return out
}

// ThemeOf loads a config's page theme; a broken template override is an
// error naming its file and line. now is as Load's.
func ThemeOf(cfg *config.Config, now func() time.Time) (*Theme, error) {
	t, err := Load(SettingsOf(cfg), now)
	if err != nil {
		return nil, fmt.Errorf("page templates:\n%w", err)
	}
	return t, nil
}
