# dash_metrics.sh: a real /metrics scrape from the dashboard (the fixture
# coordinator) passes `promtool check metrics`, keeps the seed's metric
# names, escapes label values, and its counters move as shares arrive.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

if ! command -v promtool >/dev/null 2>&1; then
	echo "1..0 # SKIP promtool not installed (Debian package prometheus)"
	exit 0
fi
start fx "$B/tests/system/dash_fixture" --static "$S/www" --tick-ms 200
wait_for "$T/fx.log" HTTP_PORT= 10
port=$(sed -n 's/^HTTP_PORT=\([0-9]*\) .*/\1/p' "$T/fx.log")
url="http://127.0.0.1:$port/metrics"

curl -sS -D "$T/h1" -o "$T/m1" "$url"
ok $? "GET /metrics answers"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/h1"
ok $? "in the Prometheus text format 0.0.4"
promtool check metrics <"$T/m1" >"$T/promtool.out" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/promtool.out"
ok $rc "promtool check metrics accepts the scrape"

# The seed's names, each with HELP and TYPE.
for m in coopmine_workers_total coopmine_workers_online \
    coopmine_hashrate_total coopmine_shares_total coopmine_blocks_found; do
	grep -q "^# HELP $m " "$T/m1" && grep -q "^# TYPE $m " "$T/m1" &&
	    grep -Eq "^$m(\{| )" "$T/m1"
	ok $? "seed metric $m with HELP and TYPE"
done
grep -q '^coopmine_shares_total{status="valid"} [0-9]' "$T/m1" &&
    grep -q '^coopmine_shares_total{status="invalid"} [0-9]' "$T/m1"
ok $? 'coopmine_shares_total{status="valid|invalid"}'
grep -q '^coopmine_workers_total 4$' "$T/m1"
ok $? "coopmine_workers_total counts the fixture's 4 workers"

# What an operator needs besides.
for m in 'coopmine_worker_hashrate{worker="rig-alpha"}' \
    'coopmine_worker_shares_total{worker="rig-alpha",status="valid"}' \
    'coopmine_share_rejections_total{reason="stale"}' \
    'coopmine_upstream_connected 1' 'coopmine_upstream_switches_total' \
    'coopmine_verify_queue_depth' 'coopmine_verify_latency_seconds 0.031' \
    'coopmine_ledger_commit_latency_seconds 0.00225' \
    'coopmine_dashboard_live_clients'; do
	grep -qF "$m" "$T/m1"
	ok $? "has $m"
done

# The worker id odd"id\x must come out as odd\"id\\x.
grep -qF 'coopmine_worker_hashrate{worker="odd\"id\\x"}' "$T/m1"
ok $? "label values are escaped"
! grep -q 'SECRETPASS\|wallet123' "$T/m1"
ok $? "no pool credentials in the metrics"

v1=$(sed -n 's/^coopmine_shares_total{status="valid"} //p' "$T/m1")
grows() {
	curl -sS -o "$T/m2" "$url" &&
	    v2=$(sed -n 's/^coopmine_shares_total{status="valid"} //p' "$T/m2") &&
	    [ "${v2:-0}" -gt "${v1:-0}" ]
}
poll 20 grows
ok $? "the share counter grows ($v1 -> $v2)"
block() { curl -sS -o "$T/m2" "$url" && grep -q '^coopmine_blocks_found 1$' "$T/m2"; }
poll 20 block
ok $? "coopmine_blocks_found counts the block the fixture finds"

stop_pid "$PID_fx" 20
ok $? "the fixture stops cleanly"
PIDS=""
done_testing
