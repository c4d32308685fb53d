package page

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/internal/status"
)

// ChecksView is the checks dashboard: every check, worst first.
type ChecksView struct {
	Rows                              []CheckRow
	Problems, Warnings, Fine, Pending int
}

// CheckRow is one check on the dashboard.
type CheckRow struct {
	Resource, Check, Kind, Description string
	// Ran is false before the first run.
	Ran bool
	// Level and Evaluated are "fine", "warning" or "problem"; Evaluated
	// is "" before the first evaluation.
	Level, Evaluated string
	Value, Message   string
	CheckedAt        time.Time
	// Details are the result's details as indented JSON ("" when none).
	Details string
	// Receivers are told about the check; listed when it is not fine.
	Receivers []string
	// Locations are each location's latest run, by name, for a check
	// run in several.
	Locations []LocationRow
}

// LocationRow is a location's latest run of a check.
type LocationRow struct {
	Name, Level, Message string
	CheckedAt            time.Time
}

// checksView builds the dashboard from the checks.
func checksView(checks []CheckInfo) *ChecksView {
	v := &ChecksView{}
	type ranked struct {
		row  CheckRow
		rank int
	}
	var rows []ranked
	for _, c := range checks {
		row := CheckRow{Resource: c.ID.Resource, Check: c.ID.Check, Kind: c.Kind, Description: c.Description, Level: "fine"}
		rank := -1 // not run: after the fine ones
		if res := c.Result; res != nil {
			row.Ran = true
			row.Level = res.Level.String()
			row.Message = res.Message
			row.CheckedAt = res.CheckedAt
			if res.Value != nil {
				row.Value = strconv.FormatFloat(*res.Value, 'g', 6, 64)
			}
			if !status.NoDetails(res.Details) {
				if b, err := json.MarshalIndent(res.Details, "", "  "); err == nil {
					row.Details = string(b)
				}
			}
			for name, l := range res.Locations {
				row.Locations = append(row.Locations, LocationRow{Name: name, Level: l.Level.String(), Message: l.Message, CheckedAt: l.CheckedAt})
			}
			slices.SortFunc(row.Locations, func(a, b LocationRow) int { return strings.Compare(a.Name, b.Name) })
			rank = int(res.Level)
		}
		worst := rank
		if c.Evaluated != nil {
			row.Evaluated = c.Evaluated.String()
			worst = max(worst, int(*c.Evaluated))
		}
		if worst > int(status.Fine) {
			row.Receivers = c.Receivers
		}
		switch {
		case !row.Ran:
			v.Pending++
		case c.Result.Level == status.Problem:
			v.Problems++
		case c.Result.Level == status.Warning:
			v.Warnings++
		default:
			v.Fine++
		}
		rows = append(rows, ranked{row, worst})
	}
	slices.SortStableFunc(rows, func(a, b ranked) int { return b.rank - a.rank })
	for _, r := range rows {
		v.Rows = append(v.Rows, r.row)
	}
	return v
}

// checks serves the checks dashboard: to everyone with page.public_checks,
// or behind the authentication of --web.config.file.
func (p *Pages) checks(w http.ResponseWriter, r *http.Request) {
	s, ok := p.snap(w)
	if !ok {
		return
	}
	denied := ErrTokensUnknown
	if p.opts.Authorize != nil {
		denied = p.opts.Authorize(r)
	}
	if !s.r.settings.PublicChecks && !p.opts.ChecksGuarded && errors.Is(denied, ErrTokensUnknown) && p.opts.Authorize != nil {
		w.Header().Set("Retry-After", "10")
		p.errorPage(w, r, s, "", http.StatusServiceUnavailable, "error.checks_wait", "error.checks_wait_text")
		return
	}
	if !s.r.settings.PublicChecks && !p.opts.ChecksGuarded && (p.opts.Authorize == nil || denied != nil) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="statusd"`)
		p.errorPage(w, r, s, "", http.StatusUnauthorized, "error.checks_private", "error.checks_private_text")
		return
	}
	var checks []CheckInfo
	if p.opts.Checks != nil {
		checks = p.opts.Checks()
	}
	// The dashboard is the operators': it speaks the page's default
	// language.
	d := p.data(s, "", p.opts.Clock.Now(), s.lang)
	d.Checks = checksView(checks)
	body, err := p.html(s, "checks", d)
	if err != nil {
		p.opts.Logger.Error("Cannot render the checks dashboard", "err", err)
		http.Error(w, "cannot render the checks dashboard", http.StatusInternalServerError)
		return
	}
	plainAsset(body, htmlType).serve(w, r, http.StatusOK, "no-store")
}
