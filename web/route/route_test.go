package route

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestRouter(t *testing.T) {
	var wrapped []string
	wrap := func(name string, h http.Handler) http.Handler {
		wrapped = append(wrapped, name)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", name)
			h.ServeHTTP(w, r)
		})
	}
	notFound := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "none here", http.StatusNotFound) })
	notAllowed := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not this way", http.StatusMethodNotAllowed)
	})
	r := New(wrap, notFound, notAllowed)
	echo := func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Method + " " + r.PathValue("id")))
	}
	r.HandleFunc("/items/{id}", echo, http.MethodGet, http.MethodHead)
	r.HandleFunc("/items/{id}", echo, http.MethodDelete)
	r.HandleFunc("/items/new", echo, http.MethodGet)
	r.HandleFunc("/dir/", echo, http.MethodGet)
	digits := func(req *http.Request) bool { return strings.Trim(req.PathValue("n"), "0123456789") == "" }
	r.Handle("/n/{n}", r.Where(digits, http.HandlerFunc(echo)), http.MethodGet)
	r.HandleFunc("/", echo, http.MethodGet)

	for _, c := range []struct {
		method, path string
		code         int
		body, route  string
		allow        string
	}{
		{"GET", "/items/7", 200, "GET 7", "/items/{id}", ""},
		{"HEAD", "/items/7", 200, "HEAD 7", "/items/{id}", ""},
		{"DELETE", "/items/7", 200, "DELETE 7", "/items/{id}", ""},
		{"GET", "/items/new", 200, "GET", "/items/new", ""}, // a literal wins over a wildcard
		{"POST", "/items/7", 405, "not this way", Other, "GET, HEAD, DELETE"},
		{"GET", "/items/7/more", 404, "none here", Other, ""},
		{"GET", "/dir/", 200, "GET", "/dir/", ""},
		{"GET", "/dir/below", 404, "none here", Other, ""}, // a trailing slash is the path, not a subtree
		{"GET", "/", 200, "GET", "/", ""},
		{"GET", "/n/42", 200, "GET", "/n/{n}", ""},
		{"GET", "/n/4x2", 404, "none here", "/n/{n}", ""}, // Where: as a path without a route, counted by its route
		{"GET", "/elsewhere", 404, "none here", Other, ""},
		{"PUT", "/", 405, "not this way", Other, "GET, HEAD"},
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.code || strings.TrimSpace(w.Body.String()) != c.body ||
			w.Header().Get("X-Route") != c.route || w.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %q route %q Allow %q, want %d %q route %q Allow %q", c.method, c.path,
				w.Code, w.Body.String(), w.Header().Get("X-Route"), w.Header().Get("Allow"), c.code, c.body, c.route, c.allow)
		}
	}
	if want := []string{Other, "/items/{id}", "/items/{id}", "/items/new", "/dir/", "/n/{n}", "/"}; !slices.Equal(wrapped, want) {
		t.Errorf("wrapped %v, want the fallback and each route once: %v", wrapped, want)
	}
	routes := r.Routes()
	if len(routes) != 6 || routes[0].Path != "/items/{id}" || !slices.Equal(routes[0].Methods, []string{"GET", "HEAD"}) {
		t.Errorf("routes %v", routes)
	}
}
