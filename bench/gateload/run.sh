#!/bin/sh
# The gate's cost (statusd gate in front of an app) and its down page's
# rate, measured with wrk in one run: the app directly, the app through the
# gate, then the down page. Needs wrk (Debian: apt-get install wrk) and a
# built bin/statusd. Usage: bench/gateload/run.sh [duration] [connections]
set -eu
cd "$(dirname "$0")/../.."
d=${1:-10s}
c=${2:-32}
t=$(( c < 2 ? c : 2 ))
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$dir"' EXIT
cat > "$dir/app.go" <<'GO'
package main

import (
	"io"
	"net/http"
)

func main() {
	_ = http.ListenAndServe("127.0.0.1:18181", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "the shop")
	}))
}
GO
(cd "$dir" && go mod init app >/dev/null 2>&1 && go build -o app app.go)
"$dir/app" >/dev/null 2>&1 &
pids="$pids $!"
printf 'services:\n  - {name: Shop}\n' > "$dir/statusd.yml"
S="bin/statusd --config.file $dir/statusd.yml --storage.dsn sqlite:$dir/statusd.db --log.level warn"
$S migrate >/dev/null
$S gate --upstream http://127.0.0.1:18181 --web.listen-address 127.0.0.1:18182 >/dev/null 2>&1 &
pids="$pids $!"
sleep 2
echo "== the app directly"
wrk -t"$t" -c"$c" -d"$d" --latency http://127.0.0.1:18181/ | grep -E "Latency|50%|99%|Requests/sec"
echo "== the app through the gate"
wrk -t"$t" -c"$c" -d"$d" --latency http://127.0.0.1:18182/ | grep -E "Latency|50%|99%|Requests/sec"
$S downtime start --reason "Deploying" >/dev/null
sleep 2
echo "== the down page"
wrk -t"$t" -c"$c" -d"$d" --latency http://127.0.0.1:18182/ | grep -E "Latency|50%|99%|Requests/sec|Non-2xx"
