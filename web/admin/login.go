package admin

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/internal/ratelimit"

	"github.com/statusd/statusd/internal/store"
)

// Login attempts: each client address and each user name has a bucket of
// loginBurst attempts, refilled at one per loginEvery. A person who
// mistypes gets five tries at once; a guesser gets one a minute per
// address and per name, whichever runs out first.
const (
	loginBurst = 5
	loginEvery = time.Minute
	// maxLimited bounds the buckets kept: past it, full (idle) buckets
	// are dropped; with none to drop, unknown keys are refused until some
	// refill (a flood of names cannot grow memory).
	maxLimited = 10000
)

// loginGuard rate-limits logins and counts them.
type loginGuard struct {
	clock   clockwork.Clock
	buckets *ratelimit.Keyed
	logins  *prometheus.CounterVec
}

func newLoginGuard(clock clockwork.Clock, reg prometheus.Registerer) *loginGuard {
	g := &loginGuard{clock: clock, buckets: ratelimit.New(loginEvery, loginBurst, maxLimited),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_admin_logins_total",
			Help: "Logins to the admin, by result: success, failure (wrong name or password), limited (too many attempts).",
		}, []string{"result"})}
	for _, r := range []string{"success", "failure", "limited"} {
		g.logins.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(g.logins)
	}
	return g
}

// allow tells whether the client and the name may try now; it returns
// how long to wait when either has no attempt left. Only failures take
// attempts (failed), so a person who logs in is never held up by it.
func (g *loginGuard) allow(client, name string) (bool, time.Duration) {
	return g.buckets.Allow(g.clock.Now(), loginKeys(client, name)...)
}

// failed takes an attempt from the client's and the name's buckets.
func (g *loginGuard) failed(client, name string) {
	g.buckets.Take(g.clock.Now(), loginKeys(client, name)...)
}

func loginKeys(client, name string) []string { return []string{"addr:" + client, "user:" + name} }

type loginView struct {
	Next, Name, Error string
	NoUsers           bool
}

func (a *Admin) loginPage(w http.ResponseWriter, r *http.Request) {
	if a.session(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	a.renderLogin(w, r, http.StatusOK, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// renderLogin shows the login form, or, when there is no user at all, how
// to make one: there is no default user or password.
func (a *Admin) renderLogin(w http.ResponseWriter, r *http.Request, code int, v loginView) {
	users, err := a.opts.Store.Users(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read its users: its database does not answer.")
		return
	}
	if len(users) == 0 {
		v.NoUsers, code = true, http.StatusServiceUnavailable
	}
	a.render(w, r, code, "login", nil, v)
}

// wrongLogin is what a wrong name and a wrong password both say.
const wrongLogin = "Wrong user name or password."

func (a *Admin) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name, password := r.PostFormValue("name"), r.PostFormValue("password")
	v := loginView{Next: safeNext(r.PostFormValue("next")), Name: name}
	if ok, wait := a.logins.allow(ratelimit.ClientAddr(r), name); !ok {
		a.logins.logins.WithLabelValues("limited").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+1)))
		v.Error = "Too many attempts: wait a minute and try again."
		a.renderLogin(w, r, http.StatusTooManyRequests, v)
		return
	}
	u, err := a.opts.Store.UserByName(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNoUser):
		// As slow as a wrong password, so that names cannot be told.
		store.CheckPassword(dummyHash(), password)
	case err != nil:
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot read its users: its database does not answer.")
		return
	case store.CheckPassword(u.Hash, password):
		now := a.opts.Clock.Now()
		id, _, err := a.opts.Store.NewSession(r.Context(), u.Name, a.opts.SessionTTL, now)
		if err != nil {
			a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot start a session: its database does not answer.")
			return
		}
		a.logins.logins.WithLabelValues("success").Inc()
		http.SetCookie(w, &http.Cookie{Name: a.cookieName(r), Value: id, Path: "/", Expires: now.Add(a.opts.SessionTTL),
			HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, v.Next, http.StatusSeeOther)
		return
	}
	a.logins.logins.WithLabelValues("failure").Inc()
	a.logins.failed(ratelimit.ClientAddr(r), name)
	v.Error = wrongLogin
	a.renderLogin(w, r, http.StatusUnauthorized, v)
}

// dummyHash is a hash of a password nobody types, checked against when
// the user does not exist (made once, at the first such login).
var dummyHash = sync.OnceValue(func() string {
	h, _ := store.HashPassword("no user has this password, ever")
	return h
})

func (a *Admin) logout(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := a.opts.Store.EndSession(r.Context(), v.id); err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "statusd cannot end the session: its database does not answer.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookieName(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}
