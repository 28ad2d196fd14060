#!/bin/sh
# bench/scale.sh: the coordinator at scale (issue 16), run by `make bench`
# (1,000 and 10,000 workers) and `make soak` (COOPMINE_SOAK=1: 10,000
# workers for an hour, the coordinator's RSS every minute and whether it
# stayed within 5 %).  coopmine-testpool sends a new job every second; the
# real coordinator runs with mutual TLS, light verification on one thread
# and its measured verification budget; bench/loadgen is N distinct
# workers, each with its own certificate (made once, cached in
# $COOPMINE_LOADGEN_CERTS, default $builddir/bench/loadgen-certs) and its
# own connection.  Each run ends with a kill -9 of the coordinator and a
# restart on the same port, timed until every worker mines again.  Then
# bench_fanout_ref measures the floor under the fan-out on this machine
# (the same number of plain loopback TCP connections, one small write
# each) and the ratio of the coordinator's fan-out p99 to it is printed.
# The load average is printed beside the figures: the machine may be
# shared.  COOPMINE_LOADGEN_THREADS (2) sets the loadgen's threads;
# COOPMINE_SCALE_LOGLEVEL (warn) the coordinator's log level.  The
# coordinator's dashboard runs too: the loadgen reads its fan-out histogram
# (/metrics) at the start and end of the steady part.
set -eu
B=${COOPMINE_BUILDDIR:?run through make bench}
S=${COOPMINE_SRCDIR:?run through make bench}
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-bench-scale.XXXXXX")
C=${COOPMINE_LOADGEN_CERTS:-$B/bench/loadgen-certs}
pids=""
cleanup() {
	for p in $pids $(cat "$T"/restarted 2>/dev/null); do
		kill "$p" 2>/dev/null || true
	done
	sleep 1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
# One descriptor per worker connection on each side (and gRPC's own):
# root may raise the hard limit itself; others get the hard limit.
[ "$(id -u)" = 0 ] && ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ "${COOPMINE_SOAK:-0}" = 1 ]; then
	sizes=${COOPMINE_SCALE_WORKERS:-10000}
	steady=${COOPMINE_SOAK_SECONDS:-3600}
else
	sizes=${COOPMINE_SCALE_WORKERS:-1000 10000}
	steady=${COOPMINE_SCALE_SECONDS:-30}
fi
for n in $sizes; do
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((n + 1024)) ]; then
		echo "scale: $n workers need about $((n + 1024)) descriptors; ulimit -Hn is $(ulimit -Hn): skipped"
		sizes=$(echo "$sizes" | sed "s/\b$n\b//")
	fi
done

listening() {	# the coordinator's port accepts connections
	/usr/bin/python3 -c 'import socket, sys; s = socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))))' "$port"
}
alive() {	# alive PID...: one of them still runs
	for _p in "$@"; do kill -0 "$_p" 2>/dev/null && return 0; done
	return 1
}

mkdir -p "$C"
"$S/contrib/gen_certs.sh" --out "$C" >"$T/gen.log" 2>&1 || { cat "$T/gen.log"; exit 1; }

"$B/src/testpool/coopmine-testpool" --listen 127.0.0.1:0 --difficulty 1000000000 \
    --job-interval 1s --block-interval 0 >"$T/pool.log" 2>&1 &
pids="$pids $!"
i=0
until pport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$T/pool.log" 2>/dev/null | head -1) &&
    [ -n "$pport" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || { cat "$T/pool.log"; exit 1; }; sleep 0.1
done
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
port=$(free_port)
dport=$(free_port)

lthreads=${COOPMINE_LOADGEN_THREADS:-2}
echo "coordinator: mutual TLS, verify light on 1 thread (measured budget), ledger WAL"
echo "synchronous=FULL, testpool job every 1 s; loadgen: $lthreads threads, 1000 H/s reported"
echo "per worker, 10 % malformed shares; $(nproc) CPUs shared with other work"
for n in $sizes; do
	rm -f "$T/ledger.db"*
	cat >"$T/coord.sh" <<EOS
#!/bin/sh
exec "$B/src/coordinator/coopmine-coordinator" --grpc-listen 127.0.0.1:$port \
    --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt" \
    --pool-address stratum+tcp://127.0.0.1:$pport --pool-wallet bench \
    --ledger-path "$T/ledger.db" --dashboard-listen 127.0.0.1:$dport --verify light \
    --max-invalid 0 --max-workers $((n * 2)) --log-level ${COOPMINE_SCALE_LOGLEVEL:-warn} >>"$T/coord-$n.log" 2>&1
EOS
	chmod +x "$T/coord.sh"
	printf '#!/bin/sh\n"%s/coord.sh" </dev/null >/dev/null 2>&1 &\necho $! | tee -a "%s/restarted"\n' \
	    "$T" "$T" >"$T/restart.sh"
	chmod +x "$T/restart.sh"
	"$T/coord.sh" &
	cpid=$!
	pids="$pids $cpid"
	i=0
	until listening; do
		i=$((i + 1)); [ $i -lt 300 ] || { cat "$T/coord-$n.log"; exit 1; }; sleep 0.1
	done
	jitter=$((n * 2)); [ $jitter -le 20000 ] || jitter=20000
	if [ "${COOPMINE_SOAK:-0}" = 1 ]; then
		extra="--report-every 60"
	else
		extra="--kill-at $((steady - 5)) --restart-cmd $T/restart.sh"
	fi
	echo "== $n workers (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
	# shellcheck disable=SC2086
	{ "$B/bench/loadgen" --target "127.0.0.1:$port" --ca-cert "$C/ca.crt" \
	    --ca-key "$C/ca.key" --cert-dir "$C" --prefix lg --workers "$n" \
	    --threads "$lthreads" --seconds "$steady" --connect-jitter "$jitter" \
	    --coord-pid "$cpid" --metrics-url "http://127.0.0.1:$dport/metrics" $extra &&
	    echo 0 >"$T/rc" || echo $? >"$T/rc"; } |
	    tee "$T/loadgen-$n.out"
	[ "$(cat "$T/rc")" = 0 ] || { echo "loadgen failed (exit $(cat "$T/rc"))"; exit 1; }
	echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	# The floor under the fan-out on this machine, in the same run: the
	# same number of plain loopback connections, one small write each,
	# as many writers as the coordinator has senders (one per CPU) and as
	# many readers as the loadgen has threads.
	if [ "${COOPMINE_SOAK:-0}" != 1 ]; then
		"$B/bench/bench_fanout_ref" --connections "$n" --rounds 20 \
		    --interval-ms 200 --writers "$(nproc)" --readers "$lthreads" |
		    tee "$T/ref-$n.out" || echo "reference fan-out: FAILED"
		awk '/^job fan-out/ { for (i = 1; i < NF; i++) if ($i == "p99") c = $(i + 1) }
		    /^reference fan-out/ { for (i = 1; i < NF; i++) if ($i == "p99") r = $(i + 1) }
		    END { if (c != "" && r > 0) printf "fan-out p99: coordinator %s ms, plain loopback reference %s ms: ratio %.1f\n", c, r, c / r }' \
		    "$T/loadgen-$n.out" "$T/ref-$n.out"
	fi
	coords="$cpid $(cat "$T/restarted" 2>/dev/null)"
	for p in $coords; do kill -TERM "$p" 2>/dev/null || true; done
	i=0
	while [ $i -lt 300 ] && alive $coords; do i=$((i + 1)); sleep 0.1; done
	wait "$cpid" 2>/dev/null || true
	rm -f "$T/restarted"
done
