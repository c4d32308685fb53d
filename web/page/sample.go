package page

import (
	"time"

	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
)

// sampleData is a page's data with every part filled, to render templates
// once at load time: an override that breaks at execution (a field that
// does not exist, a wrong type) fails then, with its file and line.
func sampleData(page string, l *i18n.Lang) *Data {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	end := t.Add(time.Hour)
	inc := IncidentView{
		ID: 1, Title: "Sample", State: "investigating", StateLabel: "Investigating", Occurred: t, Impact: "major", ImpactLabel: "Major impact", Duration: "1 hour",
		Services: []string{"API"}, Month: "2026/01", MonthLabel: "January 2026",
		Updates: []UpdateView{{State: "investigating", StateLabel: "Investigating", Message: "see https://example.com", At: t}},
	}
	days := []IncidentDay{{Date: t, Label: "Friday 2 January 2026", Incidents: []IncidentView{inc}}}
	svc := ServiceView{
		Name: "API", Description: "d", Link: "https://example.com", Status: statusView(status.PartialOutage, l), Maintenance: true,
		Manual: true, ManualReason: "r", Since: t,
		Uptime: uptimeBar([]Day{{Date: t, Uptime: 0.5, Worst: status.MajorOutage}, {Date: t, NoData: true}}, l),
		Chart:  &Chart{Points: "0,1 2,3", P50: "1 ms", P95: "2 ms", Peak: "2 ms", MedianY: "3", Label: "l"},
	}
	d := &Data{
		Site: SiteInfo{Name: "ACME", Title: "ACME status", URL: "https://example.com"}, Favicon: "favicon/default",
		Lang: l, Langs: []LangLink{{Code: l.Code, Name: l.Name, Current: true}},
		Brand: Brand{Logo: "static/logo.svg", Accent: "#123456", CSS: "static/brand.css", Links: []HeaderLink{{Name: "Help", URL: "https://example.com"}}},
		Worst: statusView(status.PartialOutage, l), AutoRefresh: 60, Assets: Assets{CSS: "a.css", JS: "a.js"}, Version: "v", Now: t,
	}
	switch page {
	case "index":
		d.Index = &Index{
			Maintenances: []MaintenanceView{{ID: 1, Title: "m", Description: "d", Starts: t, Ends: &end, Active: true, Services: []string{"API"}}},
			Groups:       []GroupView{{Name: "g", Worst: statusView(status.PartialOutage, l), Services: []ServiceView{svc}}},
			Ungrouped:    []ServiceView{svc},
			Days:         days,
			IncidentDays: 7,
		}
	case "incident":
		d.Incident = &inc
	case "archive":
		d.Archive = &Archive{Label: "January 2026", Days: days, Newer: monthLink(t, l), Older: monthLink(t, l)}
	case "checks":
		d.Checks = &ChecksView{Rows: []CheckRow{{Resource: "health", Check: "api", Kind: "http", Ran: true, Level: "problem",
			Evaluated: "warning", Value: "1", Message: "m", CheckedAt: t, Details: "{}", Receivers: []string{"ops"}}}, Problems: 1}
	case "error":
		d.Error = &ErrorView{Title: "t", Message: "m"}
	case "subscribe":
		d.Subscription = &SubscribeView{Step: "form", Email: true, Webhook: true, Services: []string{"API"}, Chosen: []string{"API"},
			Kind: "email", Address: "a@example.com", Error: "subscribe.missing", Hours: 48, Title: "subscribe.title", Text: "subscribe.intro"}
	}
	return d
}
