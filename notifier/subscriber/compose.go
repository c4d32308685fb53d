package subscriber

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/markdown"
	"github.com/statusd/statusd/internal/message"
)

// Text is a subscriber's mail: its subject, text and HTML.
type Text struct {
	Subject, Text, HTML string
}

// view is what a subscriber's mail says, in their language.
type view struct {
	Lang     string
	Heading  string
	Status   string // the incident's state or the window's times
	Body     htmltemplate.HTML
	Plain    string
	Affects  string
	Link     string
	LinkText string
	Ignore   string
	Footer   string
	Leave    string // the text's "Unsubscribe:"
	LeaveAs  string // the link's text
	LeaveURL string
}

// Compose writes a subscriber's message in a language: the confirmation
// link, or an incident's or a maintenance window's news.
func Compose(m *message.Message, l *i18n.Lang, pageURL string, loc *time.Location) (Text, error) {
	site := m.Site.Name
	v := view{Lang: l.Code}
	var subject string
	switch {
	case m.Confirmation != nil:
		hours := max(int(m.Confirmation.Expires.Sub(m.Time).Round(time.Hour)/time.Hour), 1)
		subject = l.T("mail.confirm_subject", "Site", site)
		v.Heading = subject
		v.Plain = l.T("mail.confirm_body", "Site", site, "Hours", hours)
		v.Link, v.LinkText = m.Confirmation.URL, l.T("subscribe.confirm")
		v.Ignore = l.T("mail.confirm_ignore")
	case m.News != nil:
		n := m.News
		v.Heading = n.Title
		v.Plain = n.Message
		v.Body = markdown.HTML(n.Message)
		v.Link, v.LinkText = pageURL+n.Path, strings.TrimRight(l.T("mail.view"), " :")
		if len(n.Services) > 0 {
			v.Affects = l.T("mail.affects", "Services", strings.Join(n.Services, ", "))
		}
		switch m.Kind {
		case message.MaintenanceNews:
			subject = l.T("mail.maintenance_"+n.What, "Site", site, "Title", n.Title)
			if n.Start != nil {
				start := l.DateTime(n.Start.In(loc))
				v.Status = l.T("mail.when_open", "Start", start)
				if n.End != nil {
					v.Status = l.T("mail.when", "Start", start, "End", l.DateTime(n.End.In(loc)))
				}
			}
		default:
			state := l.T("state." + n.State)
			key := map[string]string{message.Opened: "mail.incident_opened", message.Closed: "mail.incident_resolved"}[n.What]
			if key == "" {
				key = "mail.incident_updated"
			}
			subject = l.T(key, "Site", site, "Title", n.Title, "State", state)
			v.Status = state
			if n.Impact != "" && n.Impact != "none" {
				v.Status += " · " + l.T("impact."+n.Impact)
			}
		}
	}
	if s := m.Subscription; s != nil {
		v.Footer = l.T("mail.footer", "Site", site)
		v.Leave, v.LeaveAs, v.LeaveURL = l.T("mail.unsubscribe"), l.T("subscribe.unsubscribe"), s.Unsubscribe
	}
	var text strings.Builder
	text.WriteString(v.Heading + "\n")
	if v.Status != "" {
		text.WriteString(v.Status + "\n")
	}
	if v.Plain != "" {
		text.WriteString("\n" + v.Plain + "\n")
	}
	if v.Affects != "" {
		text.WriteString("\n" + v.Affects + "\n")
	}
	if v.Link != "" {
		text.WriteString("\n" + v.LinkText + " " + v.Link + "\n")
	}
	if v.Ignore != "" {
		text.WriteString("\n" + v.Ignore + "\n")
	}
	if v.Footer != "" {
		text.WriteString("\n-- \n" + v.Footer + "\n" + v.Leave + " " + v.LeaveURL + "\n")
	}
	var html bytes.Buffer
	if err := mailHTML.Execute(&html, v); err != nil {
		return Text{}, err
	}
	return Text{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// mailHTML is a subscriber's mail as HTML: one column, inline styles
// (mail clients drop style sheets), escaped by html/template.
var mailHTML = htmltemplate.Must(htmltemplate.New("mail").Parse(`<!doctype html>
<html lang="{{.Lang}}"><body style="margin:0;padding:16px;font:15px/1.5 system-ui,sans-serif;color:#1f2328;background:#fff">
<div style="max-width:36rem;margin:0 auto">
<h1 style="font-size:1.2rem;margin:0 0 .3rem">{{.Heading}}</h1>
{{- with .Status}}
<p style="margin:0 0 .8rem;color:#57606a;font-weight:600">{{.}}</p>
{{- end}}
{{- if .Body}}
<div>{{.Body}}</div>
{{- else if .Plain}}
<p>{{.Plain}}</p>
{{- end}}
{{- with .Affects}}
<p style="color:#57606a">{{.}}</p>
{{- end}}
{{- with .Link}}
<p><a href="{{.}}" style="display:inline-block;padding:.5rem 1rem;background:#0969da;color:#fff;border-radius:6px;text-decoration:none">{{$.LinkText}}</a></p>
<p style="font-size:.8rem;color:#57606a;overflow-wrap:anywhere">{{.}}</p>
{{- end}}
{{- with .Ignore}}
<p style="color:#57606a">{{.}}</p>
{{- end}}
{{- with .Footer}}
<hr style="border:0;border-top:1px solid #d0d7de;margin:1.5rem 0 .8rem">
<p style="font-size:.8rem;color:#57606a">{{.}} <a href="{{$.LeaveURL}}">{{$.LeaveAs}}</a></p>
{{- end}}
</div></body></html>
`))
