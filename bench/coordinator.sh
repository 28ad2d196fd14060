#!/bin/sh
# bench/coordinator.sh: the whole coordinator under load (run by `make
# bench`): coopmine-testpool feeding a new job every second, the real
# coordinator (--insecure so that the load generator can be a thousand
# distinct workers on its own), and bench_rpc measuring
#   - job fan-out: pool job -> work on N worker streams, p50/p99 (N = 100, 1000)
#   - shares answered per second through checks, verification, ledger commit,
#     with verify = none / light / full
# and, per run, the coordinator's CPU seconds and peak RSS.  Full mode
# builds a 2 GiB dataset first (COOPMINE_BENCH_FULL=0 skips it).
set -eu
B=${COOPMINE_BUILDDIR:?run through make bench}
S=${COOPMINE_SRCDIR:?run through make bench}
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-bench-coord.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

port_of() {	# port_of LOG REGEX
	i=0
	until p=$(sed -n "s/.*$2.*/\1/p" "$1" 2>/dev/null | head -1) && [ -n "$p" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { cat "$1"; exit 1; }; sleep 0.1
	done
	echo "$p"
}
cpu_s() {	# utime + stime of PID in seconds
	awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

"$B/src/testpool/coopmine-testpool" --listen 127.0.0.1:0 --difficulty 1000000000 \
    --job-interval 1s --block-interval 0 >"$T/pool.log" 2>&1 &
pids="$pids $!"
pool_port=$(port_of "$T/pool.log" 'listening on 127.0.0.1:\([0-9]*\).*')

# The benchmark's coordinator is a test instance: root is fine here.
[ "$(id -u)" -ne 0 ] || export COOPMINE_ALLOW_ROOT=1

run() {	# run MODE SCENARIO...
	mode=$1; shift
	"$B/src/coordinator/coopmine-coordinator" --insecure --grpc-listen 127.0.0.1:0 \
	    --pool-address "stratum+tcp://127.0.0.1:$pool_port" --pool-wallet bench \
	    --ledger-path "$T/ledger-$mode.db" --verify "$mode" --verify-threads 1 \
	    --min-difficulty 1 --max-difficulty 1 --hashrate-guess 1 \
	    --heartbeat-interval 60s --dashboard-listen "" --log-level warn \
	    >"$T/coord-$mode.log" 2>&1 &
	cpid=$!
	pids="$pids $cpid"
	port=$(port_of "$T/coord-$mode.log" '(port \([0-9]*\)).*')
	[ "$mode" = full ] && sleep 60	# the dataset (a light cache serves meanwhile)
	c0=$(cpu_s "$cpid")
	"$B/bench/bench_rpc" --insecure --target "127.0.0.1:$port" --worker "b-$mode" \
	    --seconds 5 --jobs 5 "$@"
	c1=$(cpu_s "$cpid")
	rss=$(awk '/VmHWM/ {print $2 / 1024}' "/proc/$cpid/status")
	kill -TERM "$cpid"; wait "$cpid" || true
	echo "  coordinator ($mode): $(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}') CPU s during the run, peak RSS ${rss} MiB"
}

echo "coordinator: 2 gRPC threads, 1 verification thread, ledger WAL synchronous=FULL,"
echo "testpool job every 1 s, plaintext gRPC (1000 workers from one load generator), $(nproc) CPUs shared"
run none fanout 100 fanout 1000 shares 100
run light shares 100
if [ "${COOPMINE_BENCH_FULL:-1}" = 1 ]; then
	run full shares 100
fi
