#!/bin/sh
# ledger_retention.sh: [ledger] retention on a ledger with 200-day-old
# shares, pool income events and a block (written through the real writer
# by tests/money_driver, split by coopmine-cli): old shares outside every
# window end edge are rolled up; the audit is clean and lists the ranges;
# every stored split recomputes identically; per-worker totals and hourly
# figures do not move; income dated into a rolled range is refused; an
# ordinary DELETE is refused; an edited rollup row fails the audit.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

DB=$T/ledger.db
CLI=$B/src/cli/coopmine-cli
DRIVER=$B/tests/money_driver
q() { sqlite3 "$DB" "$1"; }

H=3600000
DAY=86400000
NOW=$(($(date +%s) * 1000))
D=$((NOW - 200 * DAY))
{
	echo "job $D 100000"
	for k in 0 1 2; do echo "many 1000 5 100 $((D + k * H))"; done
	echo "job $((D + DAY)) 100000"
	for k in 0 1 2; do echo "many 1000 5 100 $((D + DAY + k * H))"; done
	echo "block w1 100 $((D + 2 * DAY)) 100000"
	echo "job $((D + 3 * DAY)) 100000"
	for k in 0 1 2; do echo "many 1000 5 100 $((D + 3 * DAY + k * H))"; done
	echo "job $((NOW - H)) 100000"
	echo "many 5000 5 100 $((NOW - H))"
} >"$T/plan"
check "driver writes 14,001 shares (9,001 of them 200 days old)" -- \
	sh -c "'$DRIVER' '$DB' <'$T/plan' 2>'$T/driver.err' | grep -qx 'ok 14001 1'"
check "pool income 1 (day 0)" -- "$CLI" --db "$DB" income add --amount 1000000 \
	--at $((D + 3 * H)) --ref pool-1 --source pool
check "pool income 2 (day 1)" -- "$CLI" --db "$DB" income add --amount 2000000 \
	--at $((D + DAY + 3 * H)) --ref pool-2 --source pool
check "the block's reward" -- "$CLI" --db "$DB" income add --amount 5000000 \
	--source block --block 1 --ref block-1
check "audit clean before retention" -- "$CLI" --db "$DB" audit

snap() {	# snap NAME: what must not change
	q "SELECT * FROM split_recompute ORDER BY 1, 2, 3, 4" >"$T/$1.splits"
	q "SELECT * FROM splits ORDER BY id" >"$T/$1.stored"
	q "SELECT worker_id, shares_valid, shares_invalid, difficulty_valid FROM worker_totals ORDER BY 1" >"$T/$1.totals"
	q "SELECT * FROM shares_per_hour ORDER BY 1, 2" >"$T/$1.hours"
	q "SELECT * FROM pplns_window_workers ORDER BY 1, 2" >"$T/$1.blockwin"
}
snap before
# The dashboard's per-hour history (ledger_worker_history) before and after.
echo "history 0" | "$DRIVER" "$DB" 2>>"$T/driver.err" | grep '^history' >"$T/before.history"
recent=$(q "SELECT count(*) FROM shares WHERE created_at >= $((NOW - 2 * H))")

# 100 days, ranges of at most 700 shares
echo "retain $((100 * DAY)) 700" | "$DRIVER" "$DB" >"$T/retain.out" 2>>"$T/driver.err"
ok $? "retention runs and finishes"
rolled=$(awk '/^rolled/ { print $2 }' "$T/retain.out")
ok $([ "${rolled:-0}" -gt 3000 ]; echo $?) "old shares rolled up ($rolled)"
nranges=$(q "SELECT count(*) FROM share_rollup_ranges WHERE state = 'done'")
ok $([ "$nranges" -ge 2 ]; echo $?) "in $nranges closed ranges"
ok $([ "$(q 'SELECT max(shares_valid + shares_invalid) FROM share_rollup_ranges')" -le 700 ]; echo $?) \
	"no range above the batch of 700 shares"
ok $([ "$(q "SELECT count(*) FROM shares WHERE created_at >= $((NOW - 2 * H))")" -eq "$recent" ]; echo $?) \
	"recent shares all kept"
ok $([ "$(q 'SELECT count(*) FROM shares s JOIN blocks b ON b.share_id = s.id')" -eq 1 ]; echo $?) \
	"the block's share kept"
ok $([ "$(q 'SELECT count(*) FROM income_splits h WHERE NOT EXISTS (SELECT 1 FROM shares s WHERE s.id = h.first_share_id) OR NOT EXISTS (SELECT 1 FROM shares s WHERE s.id = h.last_share_id)')" -eq 0 ]; echo $?) \
	"both end shares of every income window kept"
ok $([ "$(q 'SELECT count(*) FROM share_rollup_ranges r JOIN income_splits h ON h.first_share_id < r.first_share_id AND r.last_share_id < h.last_share_id')" -ge 1 ]; echo $?) \
	"a rolled range lies inside an income window (its split now reads rollups)"

snap after
echo "history 0" | "$DRIVER" "$DB" 2>>"$T/driver.err" | grep '^history' >"$T/after.history"
ok $([ "$(wc -l <"$T/before.history")" -gt 20 ]; echo $?) \
	"the per-hour history has rows ($(wc -l <"$T/before.history"))"
for f in splits stored totals hours blockwin history; do
	ok $(cmp -s "$T/before.$f" "$T/after.$f"; echo $?) "unchanged by retention: $f"
done
"$CLI" --db "$DB" audit >"$T/audit.out" 2>&1
ok $? "audit clean after retention"
ok $([ "$(grep -c '^rolled up: range .*aggregates equal what was deleted' "$T/audit.out")" -eq "$nranges" ]; echo $?) \
	"audit lists every rolled range as proven"

"$CLI" --db "$DB" income add --amount 1000 --at $((D + 2 * H)) --ref late \
	--source pool >"$T/late.out" 2>&1
ok $([ $? -ne 0 ] && grep -q "rolled up" "$T/late.out"; echo $?) \
	"income dated into rolled shares is refused"

first=$(q "SELECT min(id) FROM shares")
sqlite3 "$DB" "DELETE FROM shares WHERE id = $first" >"$T/del.out" 2>&1
ok $([ $? -ne 0 ] && grep -q "append-only" "$T/del.out"; echo $?) \
	"an ordinary DELETE of a share is refused"
sqlite3 "$DB" "DELETE FROM shares" >/dev/null 2>&1
ok $([ "$(q "SELECT count(*) FROM shares WHERE id = $first")" -eq 1 ]; echo $?) \
	"DELETE FROM shares deletes nothing"
sqlite3 "$DB" "UPDATE share_rollups SET shares_valid = shares_valid + 1" >/dev/null 2>&1
ok $([ $? -ne 0 ]; echo $?) "rollups cannot be updated"

# tampering behind the triggers' back
cp "$DB" "$T/tampered.db"
rid=$(q "SELECT max(id) FROM share_rollup_ranges")
sqlite3 "$T/tampered.db" "DROP TRIGGER share_rollups_no_update;
	UPDATE share_rollups SET difficulty_sum = difficulty_sum + 7
	WHERE range_id = $rid AND worker_id = 'w2'"
"$CLI" --db "$T/tampered.db" audit >"$T/tampered.out" 2>&1
ok $([ $? -ne 0 ]; echo $?) "an edited rollup row fails the audit"
ok $(grep -q "VIOLATION rollups differ from what their range held: range $rid " "$T/tampered.out"; echo $?) \
	"the audit names its range ($rid)"
ok $(grep -q "VIOLATION worker counters differ.*worker w2:" "$T/tampered.out"; echo $?) \
	"and its worker (w2)"

"$B/src/coordinator/coopmine-coordinator" --help >"$T/help.out" 2>&1
ok $(grep -q -- "--ledger-retention" "$T/help.out"; echo $?) \
	"coordinator: --ledger-retention (COOPMINE_LEDGER_RETENTION)"
done_testing
