package probe

import (
	"fmt"
	"strings"
	"testing"

	"github.com/statusd/statusd/internal/status"
	"github.com/statusd/statusd/internal/testsvc"
)

func TestDatabases(t *testing.T) {
	pg, my := testsvc.Postgres(t), testsvc.MySQL(t)
	check := func(broken string) string {
		c := fmt.Sprintf(`{name: dbs, kind: databases, timeout: 1s, databases: {default: {dsn: %q}, analytics: {dsn: %q}`, pg, my)
		if broken != "" {
			c += fmt.Sprintf(`, broken: {dsn: %q}`, broken)
		}
		return c + "}}"
	}

	r := run(t, check(""), Env{})
	wantLevel(t, r, status.Fine, true)
	if fmt.Sprint(r.Details) != "map[analytics:true default:true]" || r.Message == "" {
		t.Errorf("all up: %v %q", r.Details, r.Message)
	}

	r = run(t, check("postgres://app:Db-pass-9@"+closedAddr(t)+"/app?sslmode=disable"), Env{})
	wantLevel(t, r, status.Problem, false)
	if fmt.Sprint(r.Details) != "map[analytics:true broken:false default:true]" ||
		!strings.HasPrefix(r.Message, "1 of 3 databases failing: broken: ") || !strings.Contains(r.Message, "refused") {
		t.Errorf("one down: %v %q", r.Details, r.Message)
	}
	wantNoSecret(t, r, "Db-pass-9")

	r = run(t, check("app:Db-pass-9@tcp("+blackHole(t)+")/app"), Env{})
	wantLevel(t, r, status.Problem, false)
	if figures(r)["broken"] != false || !strings.Contains(r.Message, "broken: connect to MySQL: timed out after ") {
		t.Errorf("one hung: %v %q", r.Details, r.Message)
	}
	wantNoSecret(t, r, "Db-pass-9")
}

func TestCaches(t *testing.T) {
	url, mc := testsvc.Redis(t), testsvc.Memcached(t)
	user := testsvc.RedisUser(t, "Rd-pass-1", "~*", "+@all")
	check := fmt.Sprintf(`{name: caches, kind: caches, timeout: 1s, caches: {default: {dsn: %q}, sessions: {dsn: %q}, pages: {dsn: "memcached://%s"}}}`, url, user, mc.Addr)

	r := run(t, check, Env{})
	wantLevel(t, r, status.Fine, true)
	if fmt.Sprint(r.Details) != "map[default:true pages:true sessions:true]" {
		t.Errorf("all up: %v %q", r.Details, r.Message)
	}

	mc.Stop()
	r = run(t, strings.Replace(check, "Rd-pass-1", "Wr0ng-pass", 1), Env{})
	wantLevel(t, r, status.Problem, false)
	if fmt.Sprint(r.Details) != "map[default:true pages:false sessions:false]" ||
		!strings.Contains(r.Message, "2 of 3 caches failing") || !strings.Contains(r.Message, "WRONGPASS") || !strings.Contains(r.Message, "refused") {
		t.Errorf("two down: %v %q", r.Details, r.Message)
	}
	wantNoSecret(t, r, "Wr0ng-pass", "Rd-pass-1")
}
