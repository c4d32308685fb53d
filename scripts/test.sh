#!/usr/bin/env bash
# Runs go vet and the race-enabled test suite against real services.
#
# PostgreSQL: STATUSD_TEST_POSTGRES_DSN (default: the local server, database
# "test"); when nothing answers there, a throwaway cluster is started with
# initdb/pg_ctl and stopped afterwards. Redis: STATUSD_TEST_REDIS_URL; a
# throwaway redis-server is started when none answers. MariaDB/MySQL
# (STATUSD_TEST_MYSQL_DSN) and RabbitMQ (STATUSD_TEST_AMQP_URL) must run;
# memcached and Celery workers (Debian: memcached, python3-celery,
# python3-redis) are started by the tests. With CI set, a test whose service
# is missing fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'make test: %s\n' "$*" >&2; exit 1; }

# axe-core and Lighthouse, which the page's Chromium tests run, from the
# npm registry at the versions tools/browser/package-lock.json pins.
if [ ! -f tools/browser/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null 2>&1; then
	say "npm ci --prefix tools/browser (axe-core, Lighthouse)"
	npm ci --prefix tools/browser --no-audit --no-fund >/dev/null || say "npm ci failed: the page's accessibility tests cannot run"
fi

export STATUSD_TEST_POSTGRES_DSN="${STATUSD_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
tmp=$(mktemp -d)
cleanup() {
	if [ -n "${redis_pid:-}" ]; then
		kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
	fi
	if [ -n "${pg_data:-}" ]; then
		as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

pg_answers() {
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -d "$1" -t 3
	else
		local hostport=${1#*@}; hostport=${hostport%%/*}
		timeout 3 bash -c "exec 3<>/dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null
	fi
}

# as_pg runs a PostgreSQL server binary, which refuses to run as root.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
	pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] ||
		die "PostgreSQL does not answer at $STATUSD_TEST_POSTGRES_DSN and initdb is not installed.
Install PostgreSQL (Debian: apt-get install postgresql) or point STATUSD_TEST_POSTGRES_DSN at a server."
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || die "running as root without a postgres user to run a throwaway PostgreSQL; create one or set STATUSD_TEST_POSTGRES_DSN"
		chown postgres "$tmp"
	fi
	local port=55432
	while (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
	pg_data="$tmp/pgdata"
	say "no PostgreSQL at $STATUSD_TEST_POSTGRES_DSN; starting a throwaway cluster on port $port"
	as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust --no-sync >"$tmp/initdb.log" 2>&1 ||
		{ cat "$tmp/initdb.log"; die "initdb failed"; }
	as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$tmp/postgres.log" -w \
		-o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
		{ cat "$tmp/postgres.log"; die "PostgreSQL did not start"; }
	as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
	export STATUSD_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"
}

pg_answers "$STATUSD_TEST_POSTGRES_DSN" || start_postgres
say "PostgreSQL: $STATUSD_TEST_POSTGRES_DSN"

# tcp_answers HOST PORT
tcp_answers() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

export STATUSD_TEST_REDIS_URL="${STATUSD_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
redis_hostport=${STATUSD_TEST_REDIS_URL#*://}; redis_hostport=${redis_hostport##*@}; redis_hostport=${redis_hostport%%/*}
if ! tcp_answers "${redis_hostport%:*}" "${redis_hostport##*:}"; then
	if command -v redis-server >/dev/null 2>&1; then
		port=56379
		while tcp_answers 127.0.0.1 $port; do port=$((port + 1)); done
		say "no Redis at $STATUSD_TEST_REDIS_URL; starting a throwaway redis-server on port $port"
		redis-server --bind 127.0.0.1 --port $port --save '' --appendonly no >"$tmp/redis.log" 2>&1 &
		redis_pid=$!
		export STATUSD_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
		for _ in $(seq 50); do tcp_answers 127.0.0.1 $port && break; sleep 0.1; done
	else
		say "warning: no Redis at $STATUSD_TEST_REDIS_URL and redis-server is not installed (Debian: apt-get install redis-server); its tests will skip, or fail under CI"
	fi
fi
say "Redis: $STATUSD_TEST_REDIS_URL"

# Services the tests cannot start: say so before they skip or fail.
mysql_dsn="${STATUSD_TEST_MYSQL_DSN:-root@tcp(127.0.0.1:3306)/test}"
mysql_hostport=${mysql_dsn#*(}; mysql_hostport=${mysql_hostport%%)*}
tcp_answers "${mysql_hostport%:*}" "${mysql_hostport##*:}" ||
	say "warning: no MariaDB/MySQL at $mysql_dsn (Debian: apt-get install mariadb-server, or set STATUSD_TEST_MYSQL_DSN); its tests will skip, or fail under CI"
amqp_url="${STATUSD_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
amqp_hostport=${amqp_url#*://}; amqp_hostport=${amqp_hostport##*@}; amqp_hostport=${amqp_hostport%%/*}
tcp_answers "${amqp_hostport%:*}" "${amqp_hostport##*:}" ||
	say "warning: no RabbitMQ at ${amqp_hostport} (Debian: apt-get install rabbitmq-server, or set STATUSD_TEST_AMQP_URL); its tests will skip, or fail under CI"

say "go vet"
go vet ./...

status=0
say "store contract suite (SQLite and PostgreSQL)"
if go test -race -count=1 -v ./internal/store/ >"$tmp/store.log" 2>&1; then
	grep -E -- '--- (PASS|SKIP): TestContract/' "$tmp/store.log" | sed 's/^ *//'
	grep -E '^(ok|PASS)' "$tmp/store.log" | tail -n 1
else
	cat "$tmp/store.log"
	status=1
fi

say "go test -race"
go test -race -count=1 -p 2 $(go list ./... | grep -v '/internal/store$') || status=1
exit $status
