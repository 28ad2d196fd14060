#!/bin/sh
# cluster.sh: the whole cluster on 127.0.0.1, end to end, for a bounded
# time (until both workers are credited and a block is found, at most
# COOPMINE_CLUSTER_SECONDS): coopmine-testpool, the coordinator (mTLS, light verification,
# ledger, dashboard) and two workers.  What the pool accepted must equal
# what the coordinator forwarded and recorded; no (job, nonce) may be
# hashed by two workers (the ledger's leases and shares prove it through
# coopmine-cli audit); blocks are split exactly; SIGTERM under load exits 0.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
SECS=${COOPMINE_CLUSTER_SECONDS:-180}

sh "$S/contrib/gen_certs.sh" --out "$T/certs" worker-1 worker-2 >/dev/null
pool_port=$(free_port); grpc_port=$(free_port); http_port=$(free_port); ws_port=$(free_port)

# Network difficulty ~400 (nBits 2000a3d7): a block every few dozen
# light-mode shares, so blocks and PPLNS splits get exercised.
start pool "$B/src/testpool/coopmine-testpool" --listen "127.0.0.1:$pool_port" \
    --difficulty 40 --nbits 2000a3d7 --job-interval 10s --block-interval 0 \
    --summary-file "$T/pool.json"
wait_for "$T/pool.log" "listening\|serving\|127.0.0.1:$pool_port" 10

start coord "$B/src/coordinator/coopmine-coordinator" \
    --grpc-listen "127.0.0.1:$grpc_port" --tls-cert "$T/certs/server.crt" \
    --tls-key "$T/certs/server.key" --tls-ca "$T/certs/ca.crt" \
    --heartbeat-interval 1s --pool-address "stratum+tcp://127.0.0.1:$pool_port" \
    --pool-wallet cluster-test --ledger-path "$T/ledger.db" --verify light \
    --share-interval 2s --vardiff-retarget 10s --min-difficulty 10 \
    --pplns-block-reward 1000000 --pplns-fee-bps 100 \
    --dashboard-listen "127.0.0.1:$http_port" --dashboard-ws-listen "127.0.0.1:$ws_port" \
    --dashboard-static-dir "$S/www"
wait_for "$T/coord.log" "coordinator up" 20
ok $? "coordinator starts with mTLS, ledger and dashboard"

for n in 1 2; do
	w=worker-$n
	start "w$n" "$B/src/worker/coopmine-worker" --worker-id "$w" \
	    --worker-name "cluster $w" \
	    --coordinator "127.0.0.1:$grpc_port" --tls-ca "$T/certs/ca.crt" \
	    --tls-cert "$T/certs/$w.crt" --tls-key "$T/certs/$w.key" \
	    --threads 1 --mode light --print-interval 10s
done

# Run until what the checks below need is there (both workers credited,
# a block to split), not for a fixed time: a busy machine only takes longer.
sql() { sqlite3 -batch -noheader "$T/ledger.db" "$1" 2>/dev/null; }
enough() {	# both workers have 5 credited shares, and there is a block
	[ "$(sql "select count(*) from (select worker_id from shares where verdict='accepted'
	    group by worker_id having count(*) >= 5)")" = 2 ] &&
	    [ "$(sql "select count(*) from blocks")" -gt 0 ] 2>/dev/null
}
settled() {
	[ "$(sql "select count(*) from shares where upstream in ('pending','submitted')")" = 0 ]
}
t0=$(date +%s)
poll "$SECS" enough
echo "# mined $(($(date +%s) - t0)) s"
w1=$(sql "select count(*) from shares where worker_id='worker-1' and verdict='accepted'")
w2=$(sql "select count(*) from shares where worker_id='worker-2' and verdict='accepted'")
echo "# accepted shares: worker-1 $w1, worker-2 $w2"
[ "${w1:-0}" -gt 0 ] && [ "${w2:-0}" -gt 0 ]
ok $? "both workers' shares are verified and credited ($w1 + $w2)"

curl -s "http://127.0.0.1:$http_port/api/workers" >"$T/workers.json"
grep -q '"worker-1"' "$T/workers.json" && grep -q '"worker-2"' "$T/workers.json"
ok $? "the dashboard lists both workers"
# The page itself, in headless Chromium, against this running cluster.
drv=$S/tests/browser
if [ -x /usr/bin/chromium ] && command -v node >/dev/null 2>&1 &&
    [ -d "$drv/node_modules/playwright-core" ]; then
	mkdir -p "$B/tests/system/out"
	timeout 120 node "$drv/cluster.mjs" "http://127.0.0.1:$http_port" "$B/tests/system/out" \
	    "cluster worker-1" "cluster worker-2" >"$T/browser.tap" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok 0 "${line#ok - }" ;;
		"not ok - "*) ok 1 "${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done <"$T/browser.tap"
	[ "$rc" -eq 0 ] && grep -q '^ok - ' "$T/browser.tap"
	ok $? "the browser driver ran to its end (exit $rc)"
else
	skip "the page of the running cluster: no chromium, node or playwright-core (contrib/install-deps.sh)"
fi

# Stop the workers, then the coordinator (SIGTERM must flush and exit 0),
# then ask the pool for its summary.
kill -TERM "$PID_w1" "$PID_w2" 2>/dev/null
wait_pid "$PID_w1" 30; r1=$?
wait_pid "$PID_w2" 30; r2=$?
[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ]
ok $? "both workers exit 0 on SIGTERM ($r1, $r2)"
# What was sent upstream gets its answer before the coordinator stops.
poll 30 settled
stop_pid "$PID_coord" 60
ok $? "coordinator exits 0 on SIGTERM after a run under load"
stop_pid "$PID_pool" 20

up_acc=$(sql "select count(*) from shares where upstream='accepted'")
up_rej=$(sql "select count(*) from shares where upstream='rejected'")
pend=$(sql "select count(*) from shares where upstream in ('pending','submitted')")
pool_acc=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$T/pool.json")
pool_dup=$(/usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["shares"]
seen = [(x["job_id"], x["nonce"]) for x in s if x["verdict"] in ("ok", "accepted")]
print(len(seen) - len(set(seen)))' "$T/pool.json")
echo "# pool accepted $pool_acc; ledger: upstream accepted $up_acc, rejected $up_rej, unanswered $pend"
[ "$pool_acc" -gt 0 ] && [ "$pool_acc" -eq "$up_acc" ]
ok $? "the pool accepted exactly the shares the ledger records as accepted upstream ($pool_acc)"
[ "$pool_dup" -eq 0 ]
ok $? "the pool saw no share twice"
[ "$pend" -eq 0 ]
ok $? "no share left unanswered after a clean stop"

"$B/src/cli/coopmine-cli" --db "$T/ledger.db" audit >"$T/audit.log" 2>&1
ok $? "coopmine-cli audit: leases disjoint, every share inside its sender's lease, no duplicate (job, nonce), payouts exact"
overlap=$(sql "select count(*) from leases a join leases b on a.job_id=b.job_id and a.id<b.id
    and a.nonce_start < b.nonce_end and b.nonce_start < a.nonce_end")
[ "$overlap" -eq 0 ]
ok $? "no two leases of a job overlap (checked in SQL too)"

blocks=$(sql "select count(*) from blocks")
[ "$blocks" -gt 0 ]
ok $? "a block was found within $SECS s ($blocks): the PPLNS split below has something to check"
if [ "$blocks" -gt 0 ]; then
	"$B/src/cli/coopmine-cli" --db "$T/ledger.db" payouts --last 1 --format json >"$T/payouts.json"
	ok $? "payouts report of the last block"
	/usr/bin/python3 - "$T/payouts.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
blocks = d if isinstance(d, list) else d.get("blocks", [d])
for b in blocks:
    total = sum(p["amount"] for p in b["payouts"]) + b["fee"]
    assert total == b["reward"], (total, b["reward"])
PY
	ok $? "each block's PPLNS parts and fee sum to its reward exactly"
	inc=$(sql "select count(*) from income i join blocks b on b.id = i.block_id
	    where i.source = 'block' and i.amount = 1000000 and i.ref like 'block:%'")
	[ "$inc" -eq "$blocks" ]
	ok $? "each block's reward ([pplns] block_reward) became income, split ($inc)"
fi
cur=$(sql "select count(*) from pplns_current")
[ "${cur:-0}" -gt 0 ]
ok $? "pplns_current shows the live window (settings pplns_window_n)"
done_testing
