# loadgen_short.sh: the scale load generator (bench/loadgen.c) stays
# working (issue 16): 100 distinct mTLS workers, each with a certificate it
# made itself (EC P-256, signed by the test CA, cached) and its own
# connection, against the real coordinator fed a new job every second by
# coopmine-testpool; after a few seconds the coordinator is killed with
# SIGKILL and restarted on the same port.  The generator's figures must be
# there and sane: all 100 got work, fan-out and share round-trip samples,
# shares answered without errors, all 100 mining again after the restart,
# and the coordinator's descriptors back near where they started once the
# workers have gone.  A second run finds its 100 certificates cached.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

LG=$B/bench/loadgen
"$S/contrib/gen_certs.sh" --out "$T/certs" >"$T/gen.log" 2>&1
ok $? "test CA and server certificate"
start pool "$B/src/testpool/coopmine-testpool" --listen 127.0.0.1:0 \
    --difficulty 1000000000 --job-interval 1s --block-interval 0
wait_for "$T/pool.log" "listening on" 20
pport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$T/pool.log" | head -1)
port=$(free_port)
dport=$(free_port)
cat >"$T/coord.sh" <<EOS
#!/bin/sh
exec "$B/src/coordinator/coopmine-coordinator" --grpc-listen 127.0.0.1:$port \
    --tls-cert "$T/certs/server.crt" --tls-key "$T/certs/server.key" \
    --tls-ca "$T/certs/ca.crt" --pool-address stratum+tcp://127.0.0.1:$pport \
    --pool-wallet loadgen --ledger-path "$T/ledger.db" --dashboard-listen 127.0.0.1:$dport \
    --verify none --max-invalid 0 --heartbeat-interval 5s >>"$T/coord.log" 2>&1
EOS
chmod +x "$T/coord.sh"
printf '#!/bin/sh\n"%s/coord.sh" </dev/null >/dev/null 2>&1 &\necho $!\n' "$T" >"$T/restart.sh"
chmod +x "$T/restart.sh"
start coord "$T/coord.sh"
wait_for "$T/coord.log" "gRPC port $port" 30
ok $? "coordinator up on port $port"
grep -q "file descriptor limit" "$T/coord.log"
ok $? "the coordinator logs its file descriptor limit"

timeout 150 "$LG" --target "127.0.0.1:$port" --ca-cert "$T/certs/ca.crt" \
    --ca-key "$T/certs/ca.key" --cert-dir "$T/lgcerts" --workers 100 \
    --threads 2 --seconds 8 --kill-at 6 --connect-jitter 1000 \
    --coord-pid "$PID_coord" --restart-cmd "$T/restart.sh" >"$T/lg.out" 2>&1
ok $? "loadgen ran to the end"
sed 's/^/# /' "$T/lg.out"
# The restarted coordinator is not a child of this shell: stop it by pid.
newpid=$(sed -n 's/.*new pid \([0-9]*\).*/\1/p' "$T/lg.out")
[ -n "$newpid" ] && PIDS="$PIDS $newpid"

grep -q "^identities: 100 certificates" "$T/lg.out" &&
	[ "$(ls "$T/lgcerts"/*.crt | wc -l)" -eq 100 ] &&
	openssl verify -CAfile "$T/certs/ca.crt" "$T/lgcerts/lg-00042.crt" >/dev/null &&
	openssl x509 -in "$T/lgcerts/lg-00042.crt" -noout -subject | grep -q "CN *= *lg-00042"
ok $? "100 distinct identities: certificates signed by the test CA, CN = worker id"
grep -q "^connect: all 100 workers registered and got work" "$T/lg.out"
ok $? "all 100 workers registered and got work"
fan=$(sed -n 's/^job fan-out.*p99 \([0-9.]*\) ms.*(\([0-9]*\) samples).*/\1 \2/p' "$T/lg.out")
set -- $fan
[ -n "$fan" ] && [ "$2" -ge 100 ] && awk -v p="$1" 'BEGIN {exit !(p >= 0 && p < 5000)}'
ok $? "fan-out p99 measured over >= 100 arrivals and sane (${1:-?} ms, ${2:-0} samples)"
sh=$(sed -n 's/^share round trip.*p99 \([0-9.]*\) ms.*(\([0-9]*\) samples).*/\1 \2/p' "$T/lg.out")
set -- $sh
[ -n "$sh" ] && [ "$2" -ge 10 ] && awk -v p="$1" 'BEGIN {exit !(p > 0 && p < 10000)}'
ok $? "share round trip measured and sane (p99 ${1:-?} ms, ${2:-0} answered)"
grep -q "^shares: .* 0 errors; heartbeats [1-9][0-9]* ok" "$T/lg.out"
ok $? "shares answered without errors; heartbeats answered"
grep -q "^coordinator: CPU [0-9.]* s .* RSS [0-9.]* MiB, fds [0-9]*" "$T/lg.out"
ok $? "the coordinator's CPU, RSS and fds are reported"
grep -q "^restart: all 100 workers mining again [0-9]* ms after kill -9" "$T/lg.out"
ok $? "after kill -9 and a restart all 100 workers mine again"
fd=$(sed -n 's/^coordinator after the workers left: fds \([0-9]*\) (\([0-9]*\) before).*/\1 \2/p' "$T/lg.out")
set -- $fd
[ -n "$fd" ] && [ "$1" -le $(($2 + 16)) ]
ok $? "the coordinator closed the connections after the workers left (${1:-?} fds, ${2:-?} before)"

# Cached identities: a second, small run makes no certificate.
touch "$T/stamp"
sleep 1
timeout 60 "$LG" --target "127.0.0.1:$port" --ca-cert "$T/certs/ca.crt" \
    --ca-key "$T/certs/ca.key" --cert-dir "$T/lgcerts" --workers 10 \
    --seconds 3 --connect-jitter 100 >"$T/lg2.out" 2>&1
[ $? -eq 0 ] && [ -z "$(find "$T/lgcerts" -newer "$T/stamp" -name '*.crt')" ]
ok $? "a second run reuses the cached certificates"

# The coordinator's own fan-out figure: the pool's jobs (one a second)
# reached the second run's 10 streaming workers, each fan-out timed into
# a histogram whose buckets add up.
curl -sS "http://127.0.0.1:$dport/metrics" >"$T/metrics" 2>"$T/curl.err"
awk '/^coopmine_fanout_seconds_bucket/ { n++; split($1, a, "\""); v = $2
	if (v < last) bad = 1; last = v; if (a[2] == "+Inf") inf = v }
    /^coopmine_fanout_seconds_count / { count = $2 }
    /^coopmine_fanout_seconds_sum / { sum = $2 }
    /^coopmine_fanout_workers / { workers = $2 }
    END { printf "%d %s %s %s %s\n", n, count, inf, sum, workers
	exit !(n >= 2 && !bad && count >= 1 && inf == count && sum > 0 && workers == 10) }' \
    "$T/metrics" >"$T/fanout"
ok $? "/metrics: fan-outs timed in coopmine_fanout_seconds, the last reaching the 10 workers (buckets, count, +Inf, sum, workers: $(cat "$T/fanout"))"
# Not this shell's child: its exit status cannot be waited for; its log
# says whether it stopped cleanly.
[ -n "$newpid" ] && kill -TERM "$newpid" && poll 20 sh -c "! kill -0 $newpid 2>/dev/null" &&
	grep -q "stopped; the ledger is flushed" "$T/coord.log"
ok $? "the restarted coordinator stops cleanly on SIGTERM"
done_testing
