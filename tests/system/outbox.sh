#!/bin/sh
# outbox.sh: the pool goes away while the cluster mines.  Shares found
# meanwhile wait in the coordinator's persisted outbox and are delivered
# when the pool is back; the pool must see each share exactly once, and
# what it accepted must equal what the ledger says it accepted.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

sh "$S/contrib/gen_certs.sh" --out "$T/certs" worker-1 worker-2 >/dev/null
pool_port=$(free_port); grpc_port=$(free_port)

# Pool difficulty 10 = the coordinator's floor: every share goes upstream.
# The response timeout leaves room for the pool's first RandomX cache (over
# 4 s on a busy machine: the pool was then taken for stalled before it
# went away, and answered the resent shares "Duplicate share").
start pool "$B/src/testpool/coopmine-testpool" --listen "127.0.0.1:$pool_port" \
    --difficulty 10 --job-interval 60s --block-interval 0 \
    --summary-file "$T/pool.json"
wait_for "$T/pool.log" "listening on" 10
start coord "$B/src/coordinator/coopmine-coordinator" \
    --grpc-listen "127.0.0.1:$grpc_port" --tls-cert "$T/certs/server.crt" \
    --tls-key "$T/certs/server.key" --tls-ca "$T/certs/ca.crt" \
    --heartbeat-interval 1s --pool-address "stratum+tcp://127.0.0.1:$pool_port" \
    --pool-wallet outbox-test --ledger-path "$T/ledger.db" --verify light \
    --share-interval 1s --vardiff-retarget 5s --min-difficulty 10 --max-difficulty 10 \
    --pool-keepalive 300ms --pool-response-timeout 10s --pool-connect-timeout 2s \
    --pool-backoff-min 200ms --pool-backoff-max 1s --dashboard-listen ""
wait_for "$T/coord.log" "coordinator up" 20
for n in 1 2; do
	start "w$n" "$B/src/worker/coopmine-worker" --worker-id "worker-$n" \
	    --coordinator "127.0.0.1:$grpc_port" --tls-ca "$T/certs/ca.crt" \
	    --tls-cert "$T/certs/worker-$n.crt" --tls-key "$T/certs/worker-$n.key" \
	    --threads 1 --mode light
done
sql() { sqlite3 -batch -noheader "$T/ledger.db" "$1" 2>/dev/null; }
# Mine until the pool has answered a few shares (not for a fixed 12 s).
answered() { [ "$(sql "select count(*) from shares where upstream='accepted'")" -ge 3 ] 2>/dev/null; }
poll 90 answered
ok $? "the pool accepts the cluster's shares before it goes away"
kill -STOP "$PID_pool"
wait_for "$T/coord.log" "lost\|stalled" 30
ok $? "the coordinator notices the frozen pool"
i=0
while [ $i -lt 40 ] && [ "$(sql "select count(*) from shares where upstream='pending'")" -lt 2 ]; do
	sleep 0.5; i=$((i + 1))
done
waiting=$(sql "select count(*) from shares where upstream='pending'")
echo "# shares waiting in the outbox: $waiting"
[ "$waiting" -ge 2 ]
ok $? "shares found while the pool is away wait in the ledger's outbox ($waiting)"
kill -CONT "$PID_pool"
wait_for "$T/coord.log" "outbox: [1-9][0-9]* of [0-9]* waiting shares sent after reconnect" 20
ok $? "after the reconnect the outbox is sent"
# Every share found before the pool came back gets its answer.
settled() { [ "$(sql "select count(*) from shares where upstream in ('pending','submitted')")" = 0 ]; }
poll 30 settled
kill -TERM "$PID_w1" "$PID_w2"; wait_pid "$PID_w1" 30; wait_pid "$PID_w2" 30
# ... and so does any share the workers sent while stopping.
poll 30 settled
stop_pid "$PID_coord" 60
ok $? "coordinator exits 0"
stop_pid "$PID_pool" 20

acc=$(sql "select count(*) from shares where upstream='accepted'")
left=$(sql "select count(*) from shares where upstream in ('pending','submitted')")
/usr/bin/python3 - "$T/pool.json" "$acc" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
acc = [(s["job_id"], s["nonce"]) for s in d["shares"] if s["verdict"] in ("ok", "accepted")]
print("# pool accepted %d (%d distinct), ledger accepted %s" % (d["accepted"], len(set(acc)), sys.argv[2]))
sys.exit(0 if d["accepted"] == int(sys.argv[2]) and len(acc) == len(set(acc)) else 1)
PY
ok $? "the pool accepted each share once, exactly the ones the ledger records as accepted"
[ "$left" -eq 0 ]
ok $? "nothing is left unanswered in the outbox"
"$B/src/cli/coopmine-cli" --db "$T/ledger.db" audit >"$T/audit.log" 2>&1
ok $? "coopmine-cli audit passes"
done_testing
