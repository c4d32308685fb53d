// Package admin serves /admin: the pages people run statusd's status page
// from in a browser (incidents with their updates, services' statuses,
// maintenance windows, API tokens, users and the audit log), server-
// rendered, in the page's style, usable on a phone.
//
// A login starts a session: a random id in an HttpOnly, SameSite=Lax
// cookie (Secure, and named __Host-…, over HTTPS), its SHA-256 in the
// store with the user and a CSRF token. Sessions are rows of statusd's
// own store, as the API's tokens are, so that every replica knows them
// and a logout, a new password or a removed user ends them at once;
// gorilla/sessions would wrap the same row in a gob-encoded map, and
// alexedwards/scs is not an approved release here. Every form carries the
// session's CSRF token (the synchronizer token pattern: a second signed
// cookie, as gorilla/csrf sets, adds a key to share among replicas for
// nothing a session row does not give), and every POST also passes Go's
// http.CrossOriginProtection (Origin and Sec-Fetch-Site), which guards the
// login form too. Logins are rate-limited per client and per user name.
package admin

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/board"
	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/page"
	"github.com/statusd/statusd/web/route"
)

// Store is what the admin reads and writes besides the operator's writes.
type Store interface {
	Users(ctx context.Context) ([]store.User, error)
	UserByName(ctx context.Context, name string) (store.User, error)
	NewSession(ctx context.Context, user string, ttl time.Duration, now time.Time) (id, csrf string, err error)
	Session(ctx context.Context, id string, now time.Time) (store.Session, error)
	EndSession(ctx context.Context, id string) error
	Tokens(ctx context.Context) ([]store.Token, error)
	AddToken(ctx context.Context, name, scope string, now time.Time) (string, error)
	RevokeToken(ctx context.Context, name string, now time.Time) error
	RecordAudit(ctx context.Context, who store.Actor, action, target string, before, after any, now time.Time) error
	Incidents(ctx context.Context, q store.IncidentQuery) ([]store.Incident, int, error)
	Incident(ctx context.Context, id int64) (*store.Incident, error)
	Maintenances(ctx context.Context, now time.Time) ([]store.Maintenance, error)
	DowntimePeriods(ctx context.Context, now time.Time) ([]store.DowntimePeriod, error)
}

// Boards gives the status page's snapshot.
type Boards interface {
	Board() *board.Board
}

// Options configure the admin.
type Options struct {
	Logger   *slog.Logger
	Store    Store
	Operator content.Operator
	// Subscriptions are visitors' subscriptions; nil when off.
	Subscriptions content.Subscriptions
	Boards        Boards
	// Checks lists the checks, for the dashboard's checks at problem.
	Checks func() []page.CheckInfo
	Clock  clockwork.Clock
	// ExternalURL, when https, makes the session cookie Secure even
	// behind a proxy that speaks plain HTTP to statusd.
	ExternalURL *url.URL
	// Location is the site's time zone, for the times shown.
	Location *time.Location
	// Registerer receives the login metrics; nil registers none.
	Registerer prometheus.Registerer
	// SessionTTL is how long a session lasts (default 12h).
	SessionTTL time.Duration
	// Refresh rebuilds the status page's snapshot now (after a write the
	// next admin page shows); nil waits for its own refresh.
	Refresh func(context.Context) error
}

// Admin serves /admin.
type Admin struct {
	opts    Options
	pages   templates
	logins  *loginGuard
	origins *http.CrossOriginProtection
	static  http.Handler
}

//go:embed templates static
var assets embed.FS

// New builds the admin.
func New(opts Options) (*Admin, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	pages := lazyTemplates(opts.Location)
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	a := &Admin{opts: opts, pages: pages, logins: newLoginGuard(opts.Clock, opts.Registerer),
		origins: http.NewCrossOriginProtection(), static: http.StripPrefix("/admin/static/", http.FileServerFS(static))}
	a.origins.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, http.StatusForbidden, "This form was sent from another site: refused.")
	}))
	return a, nil
}

// numericID tells whether a request's {id}, if its path has one, is a
// row's number (digits); the routes with an {id} take no other, so their
// handlers read it with rowID.
func numericID(r *http.Request) bool {
	id := r.PathValue("id")
	if id == "" {
		return true
	}
	_, err := strconv.ParseUint(id, 10, 63)
	return err == nil
}

// rowID is the row number in a request's path, which numericID checked.
func rowID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

// Routes adds the admin's routes under /admin.
func (a *Admin) Routes(r *route.Router) {
	get := []string{http.MethodGet, http.MethodHead}
	r.Handle("/admin/static/{file}", a.static, get...)
	r.Handle("/admin/login", a.guard(http.HandlerFunc(a.loginPage)), get...)
	r.Handle("/admin/login", a.guard(http.HandlerFunc(a.login)), http.MethodPost)
	page := func(path string, f func(http.ResponseWriter, *http.Request, *visit)) {
		r.Handle(path, r.Where(numericID, a.guard(a.member(f))), get...)
	}
	form := func(path string, f func(http.ResponseWriter, *http.Request, *visit)) {
		r.Handle(path, r.Where(numericID, a.guard(a.member(a.checked(f)))), http.MethodPost)
	}
	page("/admin", a.dashboard)
	page("/admin/", a.dashboard)
	form("/admin/logout", a.logout)
	page("/admin/incidents", a.incidents)
	page("/admin/incidents/new", a.newIncident)
	form("/admin/incidents", a.createIncident)
	page("/admin/incidents/{id}", a.incident)
	form("/admin/incidents/{id}", a.editIncident)
	form("/admin/incidents/{id}/updates", a.updateIncident)
	form("/admin/incidents/{id}/delete", a.deleteIncident)
	page("/admin/services", a.services)
	form("/admin/services/status", a.setStatus)
	form("/admin/services", a.createService)
	form("/admin/services/edit", a.editService)
	form("/admin/services/delete", a.deleteService)
	form("/admin/groups/edit", a.editGroup)
	form("/admin/groups", a.createGroup)
	form("/admin/groups/delete", a.deleteGroup)
	page("/admin/maintenances", a.maintenances)
	form("/admin/maintenances", a.createMaintenance)
	page("/admin/maintenances/{id}", a.maintenance)
	form("/admin/maintenances/{id}", a.editMaintenance)
	form("/admin/maintenances/{id}/cancel", a.cancelMaintenance)
	page("/admin/downtime", a.downtime)
	form("/admin/downtime", a.startDowntime)
	form("/admin/downtime/end", a.endDowntime)
	form("/admin/downtime/{id}/cancel", a.cancelDowntime)
	page("/admin/tokens", a.tokens)
	form("/admin/tokens", a.createToken)
	form("/admin/tokens/revoke", a.revokeToken)
	page("/admin/users", a.users)
	page("/admin/subscribers", a.subscribers)
	page("/admin/subscribers.csv", a.exportSubscribers)
	form("/admin/subscribers/{id}/delete", a.removeSubscriber)
	page("/admin/audit", a.audit)
}

// guard sets what every admin answer carries: no caching, no framing, a
// policy that allows the admin's own stylesheet and nothing else, and
// Go's cross-origin protection on writes.
func (a *Admin) guard(next http.Handler) http.Handler {
	return a.origins.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	}))
}

// visit is a logged-in request's session.
type visit struct {
	id   string // the cookie's session id
	user string
	csrf string
}

// actor is who writes from the admin.
func (v *visit) actor() store.Actor { return store.Actor{Name: v.user, Via: store.ViaAdmin} }

// cookieName is the session cookie's name: __Host- over HTTPS, so that
// no subdomain or plain-HTTP page can set or shadow it.
func (a *Admin) cookieName(r *http.Request) string {
	if a.secure(r) {
		return "__Host-statusd_session"
	}
	return "statusd_session"
}

func (a *Admin) secure(r *http.Request) bool {
	return r.TLS != nil || (a.opts.ExternalURL != nil && a.opts.ExternalURL.Scheme == "https")
}

// session reads the request's session; nil without a valid one.
func (a *Admin) session(r *http.Request) *visit {
	c, err := r.Cookie(a.cookieName(r))
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil
	}
	s, err := a.opts.Store.Session(r.Context(), c.Value, a.opts.Clock.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNoSession) {
			a.opts.Logger.Warn("Cannot read an admin session", "err", err)
		}
		return nil
	}
	return &visit{id: c.Value, user: s.User, csrf: s.CSRF}
}

// LoggedIn tells whether a request comes from a logged-in user (the
// checks dashboard is open to them).
func (a *Admin) LoggedIn(r *http.Request) bool { return a.session(r) != nil }

// member runs f for a logged-in user, and sends others to the login page.
func (a *Admin) member(f func(http.ResponseWriter, *http.Request, *visit)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := a.session(r)
		if v == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				a.fail(w, r, http.StatusForbidden, "Your session has ended: log in again.")
				return
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		f(w, r, v)
	})
}

// checked runs f for a form that carries the session's CSRF token.
func (a *Admin) checked(f func(http.ResponseWriter, *http.Request, *visit)) func(http.ResponseWriter, *http.Request, *visit) {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
		token := r.PostFormValue("csrf")
		if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(v.csrf)) != 1 {
			a.fail(w, r, http.StatusForbidden, "This form has expired or was not sent from this page (its CSRF token is missing or wrong): reload the page and send it again.")
			return
		}
		f(w, r, v)
	}
}

// safeNext is where a login goes next: a path under /admin, never another
// site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || len(next) < 6 || next[:6] != "/admin" || (len(next) > 6 && next[6] != '/' && next[6] != '?') {
		return "/admin"
	}
	return u.RequestURI()
}
