#!/bin/sh
# bench/dashboard.sh: what watching costs the share path (run by `make
# bench`).  One coordinator (verify = none, so the share path is checks,
# ledger commit and reply: the part the dashboard could slow), its
# dashboard on; bench_rpc measures shares answered per second, alternately
# with nobody watching and with the dashboard open (a page polling its
# REST calls, /metrics scraped) and 50 live-feed clients reading /ws.
# Prints each round, the medians and their ratio (goal: >= 0.97).
set -eu
B=${COOPMINE_BUILDDIR:?run through make bench}
S=${COOPMINE_SRCDIR:?run through make bench}
[ -x "$B/bench/bench_rpc" ] || {
	echo "dashboard.sh: $B/bench/bench_rpc is not built: run it through make bench" >&2
	exit 1
}
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-bench-dash.XXXXXX")
ROUNDS=${COOPMINE_BENCH_ROUNDS:-5}
SECONDS_RUN=${COOPMINE_BENCH_SECONDS:-5}
PY=${COOPMINE_PYTHON:-python3}
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

port_of() {	# port_of LOG SED-REGEX
	i=0
	until p=$(sed -n "s/.*$2.*/\1/p" "$1" 2>/dev/null | head -1) && [ -n "$p" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { cat "$1"; exit 1; }; sleep 0.1
	done
	echo "$p"
}

"$B/src/testpool/coopmine-testpool" --listen 127.0.0.1:0 --difficulty 1000000000 \
    --job-interval 1s --block-interval 0 >"$T/pool.log" 2>&1 &
pids="$pids $!"
pool_port=$(port_of "$T/pool.log" 'listening on 127.0.0.1:\([0-9]*\).*')
"$B/src/coordinator/coopmine-coordinator" --insecure --grpc-listen 127.0.0.1:0 \
    --pool-address "stratum+tcp://127.0.0.1:$pool_port" --pool-wallet bench \
    --ledger-path "$T/ledger.db" --verify none --min-difficulty 1 \
    --max-difficulty 1 --hashrate-guess 1 --heartbeat-interval 60s \
    --dashboard-listen 127.0.0.1:0 --dashboard-ws-listen 127.0.0.1:0 \
    --dashboard-static-dir "$S/www" \
    --log-level info >"$T/coord.log" 2>&1 &
cpid=$!
pids="$pids $cpid"
port=$(port_of "$T/coord.log" 'gRPC port \([0-9]*\).*')
http=$(port_of "$T/coord.log" 'http: dashboard on [^ ]* (port \([0-9]*\)).*')
ws=$(port_of "$T/coord.log" 'live: feed on [^ ]* (port \([0-9]*\),.*')

cpu_s() {	# utime + stime of PID in seconds
	awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

shares() {	# shares RUN: "answered/s coordinator-CPU-us-per-share" of one run
	c0=$(cpu_s "$cpid")
	# the same 100 workers every run: the snapshot keeps its size
	"$B/bench/bench_rpc" --insecure --target "127.0.0.1:$port" --worker bench \
	    --seconds "$SECONDS_RUN" --jobs 5 shares 100 >"$T/$1.out" 2>&1 ||
	    { cat "$T/$1.out"; exit 1; }
	c1=$(cpu_s "$cpid")
	sed -n 's/.*in flight: *\([0-9.]*\) answered\/s.*/\1/p' "$T/$1.out" |
	    awk -v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}')" \
	    -v s="$SECONDS_RUN" '{printf "%s %.1f\n", $1, c * 1e6 / ($1 * s)}'
}

echo "coordinator: verify none, ledger WAL synchronous=FULL, dashboard on;"
echo "bench_rpc: 100 workers, ${SECONDS_RUN} s per run; $(nproc) CPUs shared"
off="" on="" ratios="" coff="" con=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	set -- $(shares "off$r")
	a=$1 ca=$2
	"$PY" "$S/bench/dashboard_load.py" "$http" "$ws" 50 1 >"$T/load$r.out" 2>&1 &
	lpid=$!
	pids="$pids $lpid"
	i=0
	until [ -f "$T/load$r.out" ] && grep -q '^connected 50' "$T/load$r.out"; do
		i=$((i + 1))
		[ $i -lt 300 ] && kill -0 "$lpid" 2>/dev/null ||
		    { cat "$T/load$r.out"; exit 1; }
		sleep 0.1
	done
	set -- $(shares "on$r")
	b=$1 cb=$2
	kill -TERM "$lpid"; wait "$lpid" || true
	q=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b / a}')
	echo "round $r: $a shares/s unwatched, $b with the dashboard open and 50 live clients: $q;" \
	    "coordinator CPU $ca vs $cb us/share ($(tail -1 "$T/load$r.out"))"
	off="$off $a" on="$on $b" ratios="$ratios $q" coff="$coff $ca" con="$con $cb"
	r=$((r + 1))
done
med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
m_off=$(med $off) m_on=$(med $on)
echo "median: $m_off shares/s unwatched, $m_on watched; ratio of medians $(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a / b}'), median of the rounds' ratios $(med $ratios) (goal >= 0.97)"
m_coff=$(med $coff) m_con=$(med $con)
echo "coordinator CPU per share (median): $m_coff us unwatched, $m_con us watched; ratio $(awk -v a="$m_coff" -v b="$m_con" 'BEGIN {printf "%.3f", a / b}') (watching costs the coordinator this)"
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) (other work on these CPUs moves the figures)"
