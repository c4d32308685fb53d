package web

import (
	"errors"
	"net"
	"net/http"
	"net/url"

	"github.com/statusd/statusd/internal/config"
	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/page"
	"github.com/statusd/statusd/web/route"
)

func (h *handler) checkRoutes(r *route.Router) {
	read := []string{http.MethodGet, http.MethodHead}
	for _, suffix := range []string{"", "/"} {
		r.HandleFunc("/api/v1/checks"+suffix, h.checks, read...)
		r.HandleFunc("/api/v1/checks"+suffix, h.options, http.MethodOptions)
		r.HandleFunc("/api/v1/checks/{resource}"+suffix, h.checks, read...)
		r.HandleFunc("/api/v1/checks/{resource}"+suffix, h.options, http.MethodOptions)
		r.HandleFunc("/api/v1/checks/{resource}/{check}"+suffix, h.checks, read...)
	}
	r.HandleFunc("/api/v1/heartbeats/{resource}/{check}", h.heartbeat, http.MethodPost)
	r.HandleFunc("/api/v1/heartbeats/{check}", h.heartbeat, http.MethodPost)
}

func fresh(r *http.Request) bool {
	f := r.URL.Query().Get("fresh")
	return f != "" && f != "0" && f != "false"
}

// freshGuard answers a request for fresh runs (api.fresh) that may not
// have them and returns nil, or returns the handler that serves it: runs
// are statusd's to start, at a stranger's rate only when the operator
// says so, and otherwise for a read token (auth's answers: 401, or 503
// while tokens were never read).
func (h *handler) freshGuard(w http.ResponseWriter, next http.HandlerFunc) http.Handler {
	mode := config.FreshAnonymous
	if h.opts.Fresh != nil {
		mode = h.opts.Fresh()
	}
	switch {
	case mode == config.FreshAnonymous:
		return next
	case mode == config.FreshOff:
		writeError(w, http.StatusForbidden, "fresh runs are off (api.fresh: off): ask without ?fresh for the latest results")
		return nil
	case h.opts.Auth != nil:
		return h.opts.Auth.Require(store.ScopeRead, next)
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="statusd"`)
	writeError(w, http.StatusUnauthorized, "?fresh=1 needs an API token (api.fresh: token); without ?fresh the latest results are served to anyone")
	return nil
}

// code is 503 when a result is at problem, so that load balancers and
// Kubernetes probes can use the API directly.
func code(worst status.Level) int {
	if worst == status.Problem {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

// report answers the checks a request names, or writes a 404.
func (h *handler) report(w http.ResponseWriter, r *http.Request, fresh bool) (status.Report, bool) {
	report, err := h.opts.Checks.Report(r.Context(), r.PathValue("resource"), r.PathValue("check"), fresh)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return nil, false
	}
	return report, true
}

// checks serves GET /api/v1/checks[/{resource}[/{check}]]: {resource:
// {check: result}}, {check: result} or the result alone.
func (h *handler) checks(w http.ResponseWriter, r *http.Request) {
	if !fresh(r) {
		h.serveChecks(w, r, false)
		return
	}
	if serve := h.freshGuard(w, func(w http.ResponseWriter, r *http.Request) { h.serveChecks(w, r, true) }); serve != nil {
		serve.ServeHTTP(w, r)
	}
}

// serveChecks answers GET /api/v1/checks… once the request may be served.
func (h *handler) serveChecks(w http.ResponseWriter, r *http.Request, wantFresh bool) {
	report, ok := h.report(w, r, wantFresh)
	if !ok {
		return
	}
	switch {
	case r.PathValue("check") != "":
		writeAppended(w, code(report.Worst()), report[0].Checks[0].Result.AppendJSON)
	case r.PathValue("resource") != "":
		writeAppended(w, code(report.Worst()), report[0].AppendJSON)
	default:
		writeAppended(w, code(report.Worst()), report.AppendJSON)
	}
}

// baseURL is where the API lives, for the OPTIONS URL maps.
func (h *handler) baseURL(r *http.Request) string {
	return page.RootURL(h.opts.ExternalURL, r) + "api/v1/checks"
}

func urlMap(base string, res status.ResourceReport) map[string]string {
	m := make(map[string]string, len(res.Checks))
	for _, c := range res.Checks {
		m[c.Name] = base + "/" + url.PathEscape(res.Name) + "/" + url.PathEscape(c.Name)
	}
	return m
}

// options answers OPTIONS with the URL map django-status gave:
// {resource: {check: absolute URL}} on the root, {check: URL} on a resource.
func (h *handler) options(w http.ResponseWriter, r *http.Request) {
	sel, ok := h.report(w, r, false)
	if !ok {
		return
	}
	base := h.baseURL(r)
	w.Header().Set("Allow", "GET, HEAD, OPTIONS")
	if r.PathValue("resource") != "" {
		writeJSON(w, http.StatusOK, urlMap(base, sel[0]))
		return
	}
	m := map[string]map[string]string{}
	for _, res := range sel {
		m[res.Name] = urlMap(base, res)
	}
	writeJSON(w, http.StatusOK, m)
}

// heartbeatError answers a report that cannot be taken.
func (h *handler) heartbeatError(w http.ResponseWriter, id status.CheckID, err error) {
	switch {
	case errors.Is(err, status.ErrNotFound):
		writeError(w, http.StatusNotFound, "check "+id.String()+" not found")
	case errors.Is(err, status.ErrNotHeartbeat):
		writeError(w, http.StatusBadRequest, id.String()+" is not a heartbeat check")
	case errors.Is(err, status.ErrUnauthorized):
		w.Header().Set("WWW-Authenticate", `Bearer realm="statusd heartbeats"`)
		writeError(w, http.StatusUnauthorized, "wrong or missing token for "+id.String())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// heartbeatOf is the report a request makes: failed or not, from where.
func heartbeatOf(r *http.Request, failed bool) store.Heartbeat {
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	return store.Heartbeat{Failed: failed, Source: source}
}

// heartbeatID resolves the check a heartbeat names: resource/check, or a
// check name unique across resources.
func (h *handler) heartbeatID(w http.ResponseWriter, resource, check string) (status.CheckID, bool) {
	if resource != "" {
		return status.CheckID{Resource: resource, Check: check}, true
	}
	var found []status.CheckID
	for _, id := range h.opts.Checks.IDs() {
		if id.Check == check {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		writeError(w, http.StatusNotFound, "check "+check+" not found")
		return status.CheckID{}, false
	case 1:
		return found[0], true
	}
	writeError(w, http.StatusConflict, "several checks are named "+check+"; use /api/v1/heartbeats/RESOURCE/"+check)
	return status.CheckID{}, false
}
