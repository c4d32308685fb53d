package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/cluster"
	"github.com/statusd/statusd/web/route"
)

type viewCluster struct{}

func (viewCluster) View() cluster.View { return cluster.View{} }

// documentedRoute tells whether a route is part of the API the document
// describes: the JSON API, the lifecycle endpoints and /metrics (the
// status page's HTML routes are pages, not API).
func documentedRoute(path string) bool {
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/-/") || path == "/metrics"
}

// TestOpenAPIMatchesTheRouter: every API route and method statusd serves
// (with every optional part switched on) is in /api/v1/openapi.json, and
// every documented one is served. HEAD goes with GET; a path with a
// trailing slash is the same route.
func TestOpenAPIMatchesTheRouter(t *testing.T) {
	f := newWriteFixture(t)
	h, err := Handler(Options{Logger: slog.New(slog.DiscardHandler), Board: f.cache, History: f.st, Auth: f.auth,
		Operator: f.operator, Alerts: &recordAlerts{}, Cluster: viewCluster{}, Downtime: f.st})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, rt := range h.(*route.Router).Routes() {
		if !documentedRoute(rt.Path) {
			continue
		}
		path := strings.TrimSuffix(rt.Path, "/")
		for _, m := range rt.Methods {
			if m == http.MethodHead && slices.Contains(rt.Methods, http.MethodGet) {
				continue
			}
			served[strings.ToLower(m)+" "+path] = true
		}
	}

	code, hdr, body := f.call(t, "GET", "/api/v1/openapi.json", "", "")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", code, hdr.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m, op := range ops {
			if m == "parameters" {
				continue
			}
			documented[m+" "+path] = true
			var o struct {
				Responses map[string]any `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || len(o.Responses) == 0 {
				t.Errorf("%s %s documents no responses", m, path)
			}
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("served but not in openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("in openapi.yaml but not served: %v", extra)
	}
	if len(served) < 30 {
		t.Errorf("only %d routes found: the walk is broken", len(served))
	}
	// Every $ref points at something the document defines.
	var all map[string]any
	_ = json.Unmarshal([]byte(body), &all)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				node := any(all)
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := node.(map[string]any)
					node = m[part]
				}
				if node == nil {
					t.Errorf("$ref %s points at nothing", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)
}
