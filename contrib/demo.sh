#!/bin/sh
# demo.sh: from a fresh Debian machine to a working CoopMine cluster on
# 127.0.0.1: installs the dependencies, builds, generates certificates, and
# runs the test pool (coopmine-testpool), the coordinator with its ledger
# and dashboard, and two workers.  Prints the dashboard's address and a live
# line of hashrate and shares.  Ctrl-C stops everything cleanly.
#
# Environment: COOPMINE_DEMO_MODE=light|full (default: full when memory
# allows), COOPMINE_DEMO_SECONDS=N (stop by itself after N seconds),
# COOPMINE_DEMO_DIR (default: demo/), COOPMINE_DEMO_PORT_BASE (default 8080:
# dashboard 8080, live feed 8081, gRPC 50051, pool 3333 unless taken).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
contrib/install-deps.sh
[ -x configure ] || ./autogen.sh
mkdir -p build
if [ ! -f build/Makefile ]; then
	(cd build && ../configure)
fi
make -C build -j"$(nproc 2>/dev/null || echo 2)"

D=${COOPMINE_DEMO_DIR:-$top/demo}
mkdir -p "$D"
B=$top/build
base=${COOPMINE_DEMO_PORT_BASE:-8080}
http_port=$base
ws_port=$((base + 1))
grpc_port=${COOPMINE_DEMO_GRPC_PORT:-50051}
pool_port=${COOPMINE_DEMO_POOL_PORT:-3333}

# Full mode needs 2 GiB per worker (and is ~10x faster); light mode 256 MiB.
mode=${COOPMINE_DEMO_MODE:-}
if [ -z "$mode" ]; then
	avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
	if [ "${avail:-0}" -gt 6144 ]; then mode=full; else mode=light; fi
fi

contrib/gen_certs.sh --out "$D/certs" worker-1 worker-2 >/dev/null

cat > "$D/coordinator.ini" <<INI
; written by contrib/demo.sh
[cluster]
id = demo
name = CoopMine demo cluster
[grpc]
listen = 127.0.0.1:$grpc_port
tls_cert = $D/certs/server.crt
tls_key = $D/certs/server.key
tls_ca = $D/certs/ca.crt
[coordinator]
heartbeat_interval = 5s
[pool]
address = stratum+tcp://127.0.0.1:$pool_port
wallet = demo-wallet
[ledger]
path = $D/ledger.db
[pplns]
window_factor = 2
block_reward = 5000000000
[vardiff]
share_interval = 10s
min_difficulty = 50
[dashboard]
listen = 127.0.0.1:$http_port
ws_listen = 127.0.0.1:$ws_port
static_dir = $top/www
INI

pids=""
stop() {
	trap - INT TERM EXIT
	echo
	echo "demo: stopping (the coordinator flushes its ledger)"
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	echo "demo: stopped.  Ledger: $D/ledger.db  (try: $B/src/cli/coopmine-cli --db $D/ledger.db payouts --last 3)"
	exit 0
}
trap stop INT TERM EXIT

# The pool: a block about every few minutes at the demo's hashrate.
"$B/src/testpool/coopmine-testpool" --listen "127.0.0.1:$pool_port" \
    --difficulty 2000 --nbits 1f00ffff --job-interval 30s --block-interval 0 \
    --summary-file "$D/pool-summary.json" >"$D/testpool.log" 2>&1 &
pids="$pids $!"
sleep 0.5
# Run as root (a fresh CI machine), the demo says so: the coordinator
# refuses root otherwise (an installed one drops to --user).
[ "$(id -u)" -ne 0 ] || export COOPMINE_ALLOW_ROOT=1
"$B/src/coordinator/coopmine-coordinator" --config "$D/coordinator.ini" \
    >"$D/coordinator.log" 2>&1 &
pids="$pids $!"
sleep 1
for w in worker-1 worker-2; do
	"$B/src/worker/coopmine-worker" --worker-id "$w" --worker-name "demo $w" \
	    --coordinator "127.0.0.1:$grpc_port" --tls-ca "$D/certs/ca.crt" \
	    --tls-cert "$D/certs/$w.crt" --tls-key "$D/certs/$w.key" \
	    --threads 1 --mode "$mode" --print-interval 30s >"$D/$w.log" 2>&1 &
	pids="$pids $!"
done

echo "CoopMine demo: pool, coordinator and two workers ($mode mode) on 127.0.0.1"
echo "  dashboard:  http://127.0.0.1:$http_port/"
echo "  metrics:    http://127.0.0.1:$http_port/metrics"
echo "  logs:       $D/*.log"
[ "$mode" = full ] && echo "  (full mode: each worker first builds its 2 GiB dataset, ~1 min)"
echo "Ctrl-C stops everything."

end=0
[ -n "${COOPMINE_DEMO_SECONDS:-}" ] && end=$(( $(date +%s) + COOPMINE_DEMO_SECONDS ))
while :; do
	sleep 5
	for p in $pids; do
		kill -0 "$p" 2>/dev/null || { echo "demo: a process exited; see $D/*.log"; exit 1; }
	done
	/usr/bin/python3 - "$http_port" <<'PY' || true
import json, sys, urllib.request
try:
    s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/api/stats" % sys.argv[1], timeout=2))
except Exception as e:
    print("demo: dashboard not answering yet (%s)" % e); sys.exit(0)
print("\r%s  workers %d/%d  hashrate %8.1f H/s  shares %d valid %d invalid  blocks %d  pool %s"
      % (__import__("time").strftime("%H:%M:%S"), s["workers_online"], s["workers_total"],
         s["total_hashrate"], s["shares_valid"], s["shares_invalid"], s["blocks_found"],
         "up" if s["pool"]["connected"] else "DOWN"), flush=True)
PY
	if [ "$end" -ne 0 ] && [ "$(date +%s)" -ge "$end" ]; then
		stop
	fi
done
