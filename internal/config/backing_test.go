package config

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestBackingKinds(t *testing.T) {
	env := testEnv(
		map[string]string{"PG_PASSWORD": "pg-secret"},
		map[string]string{"secrets/broker": "amqp://app:mq-secret@mq:5672//\n", "secrets/cache": "redis://:c-secret@cache:6379/1\n"},
	)
	c, err := Parse([]byte(`
resources:
  health:
    - {name: pg, kind: postgres, dsn: "postgres://app:${PG_PASSWORD}@db/app"}
    - {name: my, kind: mysql, dsn: "app:pw@tcp(db:3306)/app", stats: true, value: connection_ratio, warning: "value > 0.8"}
    - {name: redis, kind: redis, dsn: "redis://cache:6379/0"}
    - {name: mc, kind: memcached, address: "cache:11211"}
    - {name: workers, kind: celery, broker_file: broker, workers: [celery@web1]}
    - {name: queue, kind: sql, dsn: "sqlite:/var/lib/app.db", query: "SELECT count(*) FROM mail", problem: "value >= 100"}
    - {name: databases, kind: databases, databases: {default: {dsn: "postgres://db/app"}, legacy: {dsn: "mysql://db/legacy"}}}
    - {name: caches, kind: caches, caches: {default: {dsn_file: cache}, pages: {dsn: "memcached://cache:11211"}}}
`), "secrets/statusd.yml", env)
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Resources[0].Checks
	if ch[0].Postgres.DSN != "postgres://app:pg-secret@db/app" || ch[0].Postgres.Value != "latency" || ch[0].Postgres.Stats {
		t.Errorf("postgres: %+v", ch[0].Postgres)
	}
	if ch[1].MySQL.Value != "connection_ratio" || !ch[1].MySQL.Stats || ch[1].Warning == nil {
		t.Errorf("mysql: %+v", ch[1].MySQL)
	}
	if ch[4].Celery.Broker != "amqp://app:mq-secret@mq:5672//" || ch[4].Celery.Namespace != "celery" {
		t.Errorf("celery: %+v", ch[4].Celery)
	}
	if ch[7].Caches.Caches["default"].DSN != "redis://:c-secret@cache:6379/1" {
		t.Errorf("caches: %+v", ch[7].Caches)
	}
	// Secrets print as <secret>, wherever the config is shown.
	out, err := yaml.Marshal(c)
	if s := string(out); err != nil || strings.Contains(s, "secret@") || strings.Contains(s, "pg-secret") || !strings.Contains(s, "<secret>") {
		t.Errorf("the config shows a secret (%v):\n%s", err, s)
	}
}

func TestBackingKindErrors(t *testing.T) {
	_, errs := parse(t, `
resources:
  health:
    - {name: a, kind: postgres}
    - {name: b, kind: postgres, dsn: "mysql://db/x"}
    - {name: c, kind: redis, dsn: "redis://x", value: hits}
    - {name: d, kind: memcached, address: nohost}
    - {name: e, kind: celery, broker: "sqs://queue"}
    - {name: f, kind: sql, dsn: "oracle://db/x"}
    - {name: g, kind: databases}
    - {name: h, kind: caches, caches: {x: {dsn: "postgres://db/x"}}}
    - {name: i, kind: celery, workers: [a]}
    - {name: j, kind: databases, databases: {x: {dsn: "postgres://db/x"}}, warning: "value > 1"}
`)
	want := []string{
		`statusd.yml:4: resources.health[0].dsn: required (or dsn_file)`,
		`statusd.yml:5: resources.health[1].dsn: unsupported DSN scheme "mysql": want postgres`,
		`statusd.yml:6: resources.health[2].value: unknown value "hits" for kind redis (one of: latency, used_memory, connected_clients, hit_ratio, evicted_keys, uptime)`,
		`statusd.yml:7: resources.health[3].address: must be host:port, got "nohost"`,
		`statusd.yml:8: resources.health[4].broker: unsupported broker "sqs": use redis://, rediss://, amqp:// or amqps://`,
		`statusd.yml:9: resources.health[5].dsn: unsupported DSN scheme "oracle": want postgres, mysql, sqlite`,
		`statusd.yml:9: resources.health[5].query: required: a read-only query that returns one number`,
		`statusd.yml:10: resources.health[6].databases: required: at least one name with its dsn`,
		`statusd.yml:11: resources.health[7].caches.x.dsn: unsupported DSN scheme "postgres": want redis, rediss, memcached`,
		`statusd.yml:12: resources.health[8].broker: required (or broker_file): redis://… or amqp://…`,
		`statusd.yml:13: resources.health[9].warning: kind databases measures no value to compare`,
	}
	if got := errs.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// No message repeats a DSN, which may hold a password.
	_, errs = parse(t, "resources:\n  health:\n    - {name: a, kind: postgres, dsn: 'mysql://u:hunter22@db/x'}\n")
	if strings.Contains(errs.Error(), "hunter22") {
		t.Errorf("error shows the password: %s", errs)
	}
}
