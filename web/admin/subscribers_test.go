package admin_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/content"
	"github.com/statusd/statusd/internal/store"
)

// Operators see the subscribers, export them as CSV (a formula a visitor
// typed stays text) and remove one, which is audited.
func TestSubscribersPage(t *testing.T) {
	f := newFixture(t)
	f.addUser(t, "ada", "correct horse battery")
	ctx := context.Background()
	for _, in := range []content.Subscribe{
		{Kind: store.SubscribeEmail, Address: "bob@example.com", Language: "it", Services: []string{"API"}},
		{Kind: store.SubscribeEmail, Address: "=1+1@example.com", Language: "en"},
	} {
		if err := f.eval.Subscribe(ctx, in); err != nil {
			t.Fatalf("subscribe %s: %v", in.Address, err)
		}
	}
	b := f.browser(t)
	if a := b.get("/admin/subscribers"); a.code != http.StatusSeeOther {
		t.Fatalf("anonymous: %d", a.code)
	}
	b.login("ada", "correct horse battery")
	page := b.get("/admin/subscribers")
	if page.code != http.StatusOK || !strings.Contains(page.body, "bob@example.com") || !strings.Contains(page.body, "0 confirmed, 2 waiting") {
		t.Fatalf("page: %d\n%s", page.code, page.body)
	}
	export := b.get("/admin/subscribers.csv")
	rows, err := csv.NewReader(strings.NewReader(export.body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][2] != "bob@example.com" || rows[1][4] != "API" || rows[2][2][0] != '\'' {
		t.Fatalf("export: %v\n%s", err, export.body)
	}
	subs, _ := f.st.Subscribers(ctx)
	token := b.csrf("/admin/subscribers")
	if a := b.post("/admin/subscribers/"+itoa(subs[0].ID)+"/delete", url.Values{"csrf": {token}}); a.code != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", a.code, a.body)
	}
	if after, _ := f.st.Subscribers(ctx); len(after) != 1 {
		t.Errorf("%d subscribers after removing one", len(after))
	}
	entries, _ := f.st.Audit(ctx, store.AuditQuery{})
	if len(entries) == 0 || entries[0].Action != "subscriber.delete" || entries[0].Actor != "ada" {
		t.Errorf("audit: %+v", entries)
	}
}
