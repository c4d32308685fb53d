package admin

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/statusd/statusd/internal/store"
)

// subscribersView is the subscribers page.
type subscribersView struct {
	Subscribers        []store.Subscriber
	Confirmed, Pending int
	Off                bool
}

func (a *Admin) subscribers(w http.ResponseWriter, r *http.Request, v *visit) {
	if a.opts.Subscriptions == nil {
		a.render(w, r, http.StatusOK, "subscribers", v, subscribersView{Off: true})
		return
	}
	subs, err := a.opts.Subscriptions.Subscribers(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read its subscribers: its database does not answer.")
		return
	}
	d := subscribersView{Subscribers: subs}
	for _, s := range subs {
		if s.Confirmed() {
			d.Confirmed++
		} else {
			d.Pending++
		}
	}
	a.render(w, r, http.StatusOK, "subscribers", v, d)
}

// exportSubscribers sends the subscribers as CSV.
func (a *Admin) exportSubscribers(w http.ResponseWriter, r *http.Request, _ *visit) {
	if a.opts.Subscriptions == nil {
		a.fail(w, r, http.StatusNotFound, "Subscriptions are off.")
		return
	}
	subs, err := a.opts.Subscriptions.Subscribers(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read its subscribers: its database does not answer.")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="subscribers.csv"`)
	_ = WriteSubscribersCSV(w, subs)
}

// WriteSubscribersCSV writes subscribers as CSV, one per line, with a
// header: id, kind, address, language, services ("" for all),
// confirmed, created. Cells a spreadsheet would run as a formula are
// quoted with a leading apostrophe.
func WriteSubscribersCSV(w interface{ Write([]byte) (int, error) }, subs []store.Subscriber) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "kind", "address", "language", "services", "confirmed", "created"})
	for _, s := range subs {
		confirmed := ""
		if s.Confirmed() {
			confirmed = s.ConfirmedAt.Time.UTC().Format("2006-01-02T15:04:05Z")
		}
		_ = cw.Write([]string{strconv.FormatInt(s.ID, 10), s.Kind, cell(s.Address), s.Language, cell(strings.Join(s.Services, ";")),
			confirmed, s.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")})
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading a visitor's text as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (a *Admin) removeSubscriber(w http.ResponseWriter, r *http.Request, v *visit) {
	id := rowID(r)
	if a.opts.Subscriptions == nil {
		a.fail(w, r, http.StatusNotFound, "Subscriptions are off.")
		return
	}
	if err := a.opts.Subscriptions.RemoveSubscriber(r.Context(), v.actor(), id); err != nil {
		if errors.Is(err, store.ErrNoSubscriber) {
			a.fail(w, r, http.StatusNotFound, "No subscriber "+strconv.FormatInt(id, 10)+".")
			return
		}
		a.failWrite(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/admin/subscribers", http.StatusSeeOther)
}
