// Package web serves statusd over HTTP: /metrics, the lifecycle endpoints,
// the JSON API and the status page (package web/page).
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/exposition"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/admin"
	"github.com/statusd/statusd/web/auth"
	"github.com/statusd/statusd/web/page"
	"github.com/statusd/statusd/web/route"
)

// Checks is what the API needs of the checks.
type Checks interface {
	// Report returns the results of every check (resource ""), of a
	// resource's checks (check "") or of one check, in config order: the
	// latest, or new runs when fresh. An unknown name is an error wrapping
	// status.ErrNotFound.
	Report(ctx context.Context, resource, check string, fresh bool) (status.Report, error)
	// IDs lists every configured check, in config order.
	IDs() []status.CheckID
	// AuthorizeHeartbeat tells whether a token may report to a check:
	// nil, or an error wrapping status.ErrNotFound, ErrNotHeartbeat or
	// ErrUnauthorized. A report's body is read only once it is.
	AuthorizeHeartbeat(id status.CheckID, token string) error
	// ReportHeartbeat records a job's report to a heartbeat check and
	// returns its new result; errors wrap status.ErrNotFound,
	// ErrNotHeartbeat or ErrUnauthorized.
	ReportHeartbeat(ctx context.Context, id status.CheckID, token string, hb store.Heartbeat) (status.Result, error)
}

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// Clock tells the time the read API's answers depend on (a window in
	// progress or not); nil is the wall clock.
	Clock  clockwork.Clock
	Checks Checks
	// Board is the status page's state; History reads what it does not
	// hold.
	Board    Boards
	History  History
	Gatherer prometheus.Gatherer
	// Registerer receives the HTTP handlers' metrics; nil registers none.
	Registerer prometheus.Registerer
	// CheckMetrics writes the check metrics after the Gatherer's.
	CheckMetrics func(*exposition.Writer)
	// Fresh tells who may ask for fresh runs (config.FreshToken,
	// FreshAnonymous or FreshOff), from the running config; nil is
	// anonymous.
	Fresh func() string
	// Reload reloads the config; nil disables POST /-/reload.
	Reload func(context.Context) error
	// ExternalURL is how users reach statusd, for absolute URLs; when nil
	// they are built from the request.
	ExternalURL *url.URL
	Version     string
	// Pages is the status page; nil serves a landing page at / instead.
	Pages *page.Pages
	// Auth checks the bearer tokens of the write routes; with Alerts it
	// enables Alertmanager's intake.
	Auth   *auth.Authenticator
	Alerts Alerts
	// Cluster is this member's view of the cluster; with Auth it serves
	// /api/v1/cluster to read tokens.
	Cluster Cluster
	// Operator writes incidents, statuses and maintenance; with Auth it
	// serves the write API to write tokens.
	Operator content.Operator
	// Admin serves /admin; nil serves none.
	Admin *admin.Admin
	// Downtime reads the downtime periods; nil serves no downtime API.
	Downtime DowntimeReader
}

// Handler returns statusd's HTTP handler.
func Handler(opts Options) (http.Handler, error) {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	h := &handler{opts: opts}
	in := newInstrumentation(opts.Registerer)
	r := route.New(func(name string, next http.Handler) http.Handler {
		if name == route.Other { // the HTML 404 page sets its own headers
			return in.handler(name, next)
		}
		return in.handler(name, securityHeaders(next))
	}, http.HandlerFunc(h.notFound), http.HandlerFunc(h.methodNotAllowed))

	r.Handle("/metrics", &metricsHandler{opts: opts}, http.MethodGet, http.MethodHead)
	r.HandleFunc("/-/healthy", h.healthy, http.MethodGet, http.MethodHead)
	r.HandleFunc("/-/ready", h.ready, http.MethodGet, http.MethodHead)
	r.HandleFunc("/-/reload", h.reload, http.MethodPost, http.MethodPut)
	doc, err := openAPIJSON()
	if err != nil {
		return nil, err
	}
	r.HandleFunc("/api/v1/openapi.json", openAPI(doc), http.MethodGet, http.MethodHead)

	h.checkRoutes(r)
	if opts.Board != nil {
		h.boardRoutes(r)
	}
	if opts.Auth != nil && opts.Alerts != nil {
		r.Handle("/api/v1/alertmanager", opts.Auth.Require(store.ScopeWrite, http.HandlerFunc(h.alertmanager)), http.MethodPost)
	}
	if opts.Auth != nil && opts.Operator != nil {
		h.writeRoutes(r)
	}
	if opts.Downtime != nil {
		h.downtimeRoutes(r)
	}
	if opts.Auth != nil && opts.Cluster != nil {
		r.Handle("/api/v1/cluster", opts.Auth.Require(store.ScopeRead, http.HandlerFunc(h.cluster)), http.MethodGet, http.MethodHead)
	}

	if opts.Admin != nil {
		opts.Admin.Routes(r)
	}
	if opts.Pages != nil {
		opts.Pages.Routes(r)
		return r, nil
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "statusd",
		Description: "Checks, monitors, notifications and a status page, Prometheus-native.",
		Version:     opts.Version,
		Links: []web.LandingLinks{
			{Address: "metrics", Text: "Metrics"},
			{Address: "api/v1/checks", Text: "Checks", Description: "latest results as JSON; 503 when one is at problem"},
			{Address: "-/healthy", Text: "Health"},
			{Address: "-/ready", Text: "Readiness"},
		},
	})
	if err != nil {
		return nil, err
	}
	r.Handle("/", landing, http.MethodGet, http.MethodHead)
	return r, nil
}

type handler struct {
	opts     Options
	downtime downtimeCache
	// summaryCache is the latest /api/v1/summary (summaryMu makes one).
	summaryCache atomic.Pointer[cachedSummary]
	summaryMu    sync.Mutex
}

// jsonType is the read API's content type.
const jsonType = "application/json"

func (h *handler) healthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Healthy.\n"))
}

// ready answers that statusd serves its endpoints. The database is not
// asked: when it is away checks, /metrics and the API still serve, and an
// orchestrator must not take statusd out of service for it (its state is
// statusd_store_up and the storage check).
func (h *handler) ready(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Ready.\n"))
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	if h.opts.Reload == nil {
		writeError(w, http.StatusForbidden, "the lifecycle API is disabled; start statusd with --web.enable-lifecycle")
		return
	}
	// A client that goes away does not cut a reload short.
	if err := h.opts.Reload(context.WithoutCancel(r.Context())); err != nil {
		writeError(w, http.StatusBadRequest, "config not reloaded: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if h.opts.Pages != nil && !strings.HasPrefix(r.URL.Path, "/api/") && strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.opts.Pages.NotFound(w, r)
		return
	}
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
}

func (h *handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
}

// writeJSON writes v as JSON with a status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	writeRawJSON(w, code, b)
}

// writeAppended writes the JSON an append function makes, as is: it is
// made by encoding/json and needs no second pass.
func writeAppended(w http.ResponseWriter, code int, appendJSON func([]byte) ([]byte, error)) {
	b, err := appendJSON(make([]byte, 0, 4096))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	writeRawJSON(w, code, b)
}

func writeRawJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes the API's error shape, {"error": message}.
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeRawJSON(w, code, b)
}

// securityHeaders are every response's defence in depth: no sniffing of
// types, no referrer beyond the origin, no framing, a policy that allows
// nothing (the pages set their own, with their assets), and HSTS over
// TLS. The status page's handlers loosen what they need (web/page).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = referrerPolicy
		h["X-Frame-Options"] = frameDeny
		h["Content-Security-Policy"] = noContent
		if r.TLS != nil {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

var (
	nosniff        = []string{"nosniff"}
	referrerPolicy = []string{"strict-origin-when-cross-origin"}
	frameDeny      = []string{"DENY"}
	noContent      = []string{"default-src 'none'; frame-ancestors 'none'"}
	hsts           = []string{"max-age=31536000"}
)
