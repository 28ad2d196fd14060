#!/bin/sh
# sessions.sh: when the current job's nonce space cannot feed the cluster
# (here a pool that reserves the nonce's top byte: 2^24 nonces a session,
# and leases of 2^23), the coordinator opens another pool session instead
# of overlapping; the third worker mines in the second session's space, the
# pool accepts from both, and the ledger's leases stay disjoint.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

sh "$S/contrib/gen_certs.sh" --out "$T/certs" worker-1 worker-2 worker-3 >/dev/null
pool_port=$(free_port); grpc_port=$(free_port)
start pool "$B/src/testpool/coopmine-testpool" --listen "127.0.0.1:$pool_port" \
    --nicehash --difficulty 10 --job-interval 60s --block-interval 0 \
    --summary-file "$T/pool.json"
wait_for "$T/pool.log" "listening on" 10
start coord "$B/src/coordinator/coopmine-coordinator" \
    --grpc-listen "127.0.0.1:$grpc_port" --tls-cert "$T/certs/server.crt" \
    --tls-key "$T/certs/server.key" --tls-ca "$T/certs/ca.crt" \
    --heartbeat-interval 1s --pool-address "stratum+tcp://127.0.0.1:$pool_port" \
    --pool-wallet sessions --ledger-path "$T/ledger.db" --verify light \
    --min-difficulty 10 --max-difficulty 10 --lease-min 8388608 \
    --pool-sessions-max 3 --dashboard-listen ""
wait_for "$T/coord.log" "coordinator up" 20
for n in 1 2 3; do
	start "w$n" "$B/src/worker/coopmine-worker" --worker-id "worker-$n" \
	    --coordinator "127.0.0.1:$grpc_port" --tls-ca "$T/certs/ca.crt" \
	    --tls-cert "$T/certs/worker-$n.crt" --tls-key "$T/certs/worker-$n.key" \
	    --threads 1 --mode light
	# one at a time: the next one joins once this one is registered
	wait_for "$T/coord.log" "worker worker-$n online" 30
done
wait_for "$T/coord.log" "opening session 1" 30
ok $? "the used-up nonce space opens a second pool session"
sql() { sqlite3 -batch -noheader "$T/ledger.db" "$1"; }
i=0
while [ $i -lt 60 ] && [ "$(sql "select count(distinct worker_id) from shares where verdict='accepted'")" -lt 3 ]; do
	sleep 1; i=$((i + 1))
done
ok $([ "$(sql "select count(distinct worker_id) from shares where verdict='accepted'")" -eq 3 ]; echo $?) \
    "all three workers have credited shares"
kill -TERM "$PID_w1" "$PID_w2" "$PID_w3"
wait_pid "$PID_w1" 30; wait_pid "$PID_w2" 30; wait_pid "$PID_w3" 30
# What was sent upstream gets its answer before the coordinator stops
# (a fixed 2 s was not always enough on a busy machine: pool 6, ledger 5).
settled() { [ "$(sql "select count(*) from shares where upstream in ('pending','submitted')")" = 0 ]; }
poll 30 settled
stop_pid "$PID_coord" 60
ok $? "coordinator exits 0"
stop_pid "$PID_pool" 20

bytes=$(sql "select count(distinct nonce_start >> 24) from leases")
echo "# leases fall in $bytes reserved-byte spaces; sessions: $(sql "select count(*) from upstream_sessions")"
[ "$bytes" -ge 2 ]
ok $? "leases come from the spaces of two sessions"
"$B/src/cli/coopmine-cli" --db "$T/ledger.db" audit >"$T/audit.log" 2>&1
ok $? "coopmine-cli audit: leases disjoint, shares inside their leases"
/usr/bin/python3 - "$T/pool.json" "$(sql "select count(*) from shares where upstream='accepted'")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("# pool: %d logins, accepted %d; ledger accepted upstream %s"
      % (d["logins_ok"], d["accepted"], sys.argv[2]))
sys.exit(0 if d["logins_ok"] >= 2 and d["accepted"] == int(sys.argv[2]) else 1)
PY
ok $? "the pool saw two logins and accepted exactly what the ledger records"
done_testing
