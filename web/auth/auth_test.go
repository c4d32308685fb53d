package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/internal/store"
	"github.com/statusd/statusd/web/auth"
)

func TestRequire(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "statusd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	write, err := st.AddToken(ctx, "alertmanager", store.ScopeWrite, now)
	if err != nil {
		t.Fatal(err)
	}
	read, err := st.AddToken(ctx, "grafana", store.ScopeRead, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(write, "sdt_") || len(write) < 40 || write == read {
		t.Fatalf("tokens %q %q", write, read)
	}
	if _, err := st.AddToken(ctx, "grafana", store.ScopeRead, now); err == nil {
		t.Error("a second token of the same name")
	}
	a := auth.New(auth.Options{Store: st})
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h := a.Require(store.ScopeWrite, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, tc := range []struct {
		name, header string
		code         int
	}{
		{"none", "", 401},
		{"wrong scheme", "Basic " + write, 401},
		{"unknown", "Bearer sdt_nope", 401},
		{"read token", "Bearer " + read, 403},
		{"write token", "Bearer " + write, 204},
		{"lower-case scheme", "bearer " + write, 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/alertmanager", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("%d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if tc.code == 401 && (rec.Header().Get("WWW-Authenticate") != `Bearer realm="statusd"` || !strings.HasPrefix(rec.Body.String(), `{"error":`)) {
				t.Errorf("401 without its header or JSON: %v %s", rec.Header(), rec.Body)
			}
		})
	}
	// A read token reads.
	if _, ok := a.Check(httptest.NewRequest("GET", "/checks", nil), store.ScopeRead); ok {
		t.Error("no token reads")
	}
	req := httptest.NewRequest("GET", "/checks", nil)
	req.Header.Set("Authorization", "Bearer "+read)
	if id, ok := a.Check(req, store.ScopeRead); !ok || id.Token != "grafana" {
		t.Errorf("read token: %+v %v", id, ok)
	}

	// Use is recorded in a batch; a revoked token is refused once read
	// again, and its name can be used again.
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(ctx2); close(done) }()
	cancel()
	<-done
	ts, err := st.Tokens(ctx)
	if err != nil || len(ts) != 2 || !ts[0].LastUsedAt.Valid || !ts[1].LastUsedAt.Valid {
		t.Errorf("last use not recorded: %+v %v", ts, err)
	}
	if err := st.RevokeToken(ctx, "alertmanager", now); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("Authorization", "Bearer "+write)
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("revoked token: %d", rec.Code)
	}
	if _, err := st.AddToken(ctx, "alertmanager", store.ScopeWrite, now); err != nil {
		t.Errorf("the name of a revoked token: %v", err)
	}
	if err := st.RevokeToken(ctx, "nope", now); err == nil {
		t.Error("revoked an unknown token")
	}
}
