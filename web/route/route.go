// Package route routes statusd's HTTP requests with net/http's ServeMux
// (method and wildcard patterns, r.PathValue) and adds what statusd's
// handlers need around it: a route is a path with its methods, named by
// that path for the request metrics; a path that exists with other
// methods gets the caller's 405 with Allow, and a path that does not
// exist the caller's 404 (ServeMux's own are plain text), and the routes
// can be listed (the OpenAPI document's test walks them).
//
// Paths are ServeMux's patterns without the method, with one difference:
// a path that ends in a slash is that path exactly ("/admin/" is
// "/admin/{$}"), never the subtree under it. A wildcard matches one whole
// segment; a route that wants digits or a suffix checks them itself.
package route

import (
	"net/http"
	"slices"
	"strings"
)

// Router is a ServeMux with its routes listed. Routes are added before it
// serves, as with ServeMux.
type Router struct {
	mux    *http.ServeMux
	routes []Route
	wrap   func(name string, h http.Handler) http.Handler
	// notFound and methodNotAllowed answer what no route takes.
	notFound, methodNotAllowed http.Handler
}

// Route is a path and the methods it takes.
type Route struct {
	Path    string
	Methods []string
}

// Other is the name under which wrap gets the router's own answers to
// requests no route takes (404 and 405).
const Other = "other"

// New returns a router whose routes' handlers go through wrap, called
// once per route with the route's path as its name (nil: as they are).
// notFound answers a path no route has; methodNotAllowed a path whose
// routes take other methods, with Allow already set.
func New(wrap func(name string, h http.Handler) http.Handler, notFound, methodNotAllowed http.Handler) *Router {
	if wrap == nil {
		wrap = func(_ string, h http.Handler) http.Handler { return h }
	}
	rt := &Router{mux: http.NewServeMux(), wrap: wrap, notFound: notFound, methodNotAllowed: methodNotAllowed}
	// Every method of every path no pattern takes comes here.
	rt.mux.Handle("/", wrap(Other, http.HandlerFunc(rt.fallback)))
	return rt
}

// Where serves h for the requests ok takes and answers the others as a
// path no route has: for a wildcard that must be digits or end in a
// suffix, which a ServeMux pattern cannot say.
func (rt *Router) Where(ok func(*http.Request) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok(r) {
			rt.notFound.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Handle adds a route: the path for each of the methods. GET takes HEAD
// too, as ServeMux's patterns do.
func (rt *Router) Handle(path string, h http.Handler, methods ...string) {
	if len(methods) == 0 {
		panic("route: " + path + " has no method")
	}
	h = rt.wrap(path, h)
	pattern := path
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}"
	}
	for _, m := range methods {
		if m == http.MethodHead && slices.Contains(methods, http.MethodGet) {
			continue
		}
		rt.mux.Handle(m+" "+pattern, h)
	}
	rt.routes = append(rt.routes, Route{Path: path, Methods: methods})
}

// HandleFunc adds a route served by a function.
func (rt *Router) HandleFunc(path string, f http.HandlerFunc, methods ...string) {
	rt.Handle(path, f, methods...)
}

// Routes lists the routes in the order they were added.
func (rt *Router) Routes() []Route { return slices.Clone(rt.routes) }

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

// methods are those Allowed tries.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Allowed lists the methods a request's path takes.
func (rt *Router) Allowed(r *http.Request) []string {
	var out []string
	try := *r
	for _, m := range methods {
		try.Method = m
		if _, pattern := rt.mux.Handler(&try); pattern != "" && pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

func (rt *Router) fallback(w http.ResponseWriter, r *http.Request) {
	if allow := rt.Allowed(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		rt.methodNotAllowed.ServeHTTP(w, r)
		return
	}
	rt.notFound.ServeHTTP(w, r)
}
