#!/bin/sh
# ledger_cli.sh: coopmine-cli on a ledger filled through the ledger API:
# reports in text/CSV/JSON, payouts recomputed with another reward, export,
# an online backup taken while shares are being written, and an audit that
# catches tampering.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

DB=$T/ledger.db
CLI=$B/src/cli/coopmine-cli
DRIVER=$B/tests/ledger_crash_driver
q() { sqlite3 "$DB" "$1"; }

check "driver fills a ledger and exits 0 on SIGTERM" -- "$DRIVER" "$DB" 2000 900
check "audit passes on a clean ledger" -- "$CLI" --db "$DB" audit
nblocks=$(q 'SELECT count(*) FROM blocks')
ok $([ "$nblocks" -ge 2 ]; echo $?) "the ledger has blocks ($nblocks)"

"$CLI" --db "$DB" workers >"$T/workers.txt" 2>&1
ok $(grep -q '^w0 ' "$T/workers.txt"; echo $?) "workers: text table"
"$CLI" --db "$DB" workers --format json >"$T/workers.json"
check "workers: JSON lists three workers with their totals" -- /usr/bin/python3 -c "
import json,sys; w=json.load(open('$T/workers.json'))
assert len(w)==3 and sum(x['shares_valid'] for x in w)==$(q "SELECT count(*) FROM shares WHERE verdict='accepted'")"
"$CLI" --db "$DB" shares --since 1h --limit 0 --format csv >"$T/shares.csv"
ok $([ "$(($(wc -l <"$T/shares.csv") - 1))" -eq "$(q 'SELECT count(*) FROM shares')" ]; echo $?) \
	"shares --since 1h: every share of the last hour"
"$CLI" --db "$DB" shares --since "$(($(date +%s) * 1000 + 3600000))" --format csv >"$T/none.csv"
ok $([ "$(wc -l <"$T/none.csv")" -le 1 ]; echo $?) "shares --since in the future: none"

"$CLI" --db "$DB" payouts --last 2 --format json >"$T/payouts.json"
check "payouts --last 2 (JSON) equal the stored payouts" -- /usr/bin/python3 -c "
import json,sqlite3
p=json.load(open('$T/payouts.json')); db=sqlite3.connect('$DB')
assert len(p)==2
for b in p:
    stored=dict(((r[0] or 'fee'),r[1]) for r in db.execute('SELECT worker_id, amount FROM payouts WHERE block_id=?',(b['block_id'],)))
    assert stored['fee']==b['fee'], (stored, b)
    for x in b['payouts']: assert stored[x['worker_id']]==x['amount']
    assert b['fee']+sum(x['amount'] for x in b['payouts'])==b['reward']"
"$CLI" --db "$DB" payouts --block 1 --reward 1000000007 --format csv >"$T/p1.csv"
check "payouts --reward: another reward split exactly" -- sh -c \
	"[ \"\$(awk -F, 'NR > 1 { s += \$9 } END { print s }' '$T/p1.csv')\" = 1000000007 ]"
"$CLI" --db "$DB" payouts --block 1 >"$T/p1.txt"
ok $(grep -q '^block 1 ' "$T/p1.txt" && grep -q 'amount' "$T/p1.txt"; echo $?) "payouts: text report"
check "the pplns_window view gives the weights the report used" -- /usr/bin/python3 -c "
import sqlite3,json,subprocess
db=sqlite3.connect('$DB')
v=dict(db.execute('SELECT worker_id, difficulty FROM pplns_window_workers WHERE block_id=1'))
p=json.loads(subprocess.check_output(['$CLI','--db','$DB','payouts','--block','1','--format','json']))[0]
assert v=={x['worker_id']:x['difficulty'] for x in p['payouts']}, (v,p)"

"$CLI" --db "$DB" export >"$T/export.csv"
ok $([ "$(($(wc -l <"$T/export.csv") - 1))" -eq "$(q 'SELECT count(*) FROM shares')" ]; echo $?) \
	"export: CSV of every share"
"$CLI" --db "$DB" export --what payouts >"$T/export-p.csv"
ok $([ "$(($(wc -l <"$T/export-p.csv") - 1))" -eq "$(q 'SELECT count(*) FROM payouts')" ]; echo $?) \
	"export --what payouts: CSV of every payout"

# backup while shares are being written
start writer "$DRIVER" "$DB" 400
wait_for "$T/writer.log" '^ack ' 20
check "backup while the ledger is written" -- "$CLI" --db "$DB" backup "$T/backup.db"
check "the backup passes the audit" -- "$CLI" --db "$T/backup.db" audit
check "backup refuses to overwrite" -- sh -c "! '$CLI' --db '$DB' backup '$T/backup.db'"
stop_pid "$PID_writer" 30
ok $? "the writer exits 0 on SIGTERM"
ok $(grep -q '^closed after' "$T/writer.log"; echo $?) "and closes the ledger"
check "audit still passes" -- "$CLI" --db "$DB" audit

# tampering
cp "$DB" "$T/tampered.db"
sqlite3 "$T/tampered.db" "
INSERT INTO leases (job_id, worker_id, nonce_start, nonce_end, issued_at)
  SELECT job_id, 'w1', nonce_start + 5, nonce_start + 10, issued_at FROM leases WHERE worker_id = 'w0' LIMIT 1;
UPDATE workers SET shares_valid = shares_valid + 1 WHERE id = 'w2';
INSERT INTO shares (job_id, lease_id, worker_id, nonce, difficulty, verdict, reason, upstream, created_at)
  SELECT job_id, id, 'w0', nonce_end + 1000000, 5, 'accepted', 'ok', 'not_needed', issued_at FROM leases WHERE worker_id = 'w0' LIMIT 1;"
"$CLI" --db "$T/tampered.db" audit >"$T/audit.txt"
rc=$?
ok $([ $rc -eq 1 ]; echo $?) "audit exits 1 on a tampered ledger"
ok $(grep -q 'overlapping leases' "$T/audit.txt"; echo $?) "it names the overlapping lease"
ok $(grep -q 'outside a lease' "$T/audit.txt"; echo $?) "the share outside its lease"
ok $(grep -q 'counters differ' "$T/audit.txt"; echo $?) "the counter that differs from the rows"
cat "$T/audit.txt" | sed 's/^/# /'

check "a foreign file is refused with a clear message" -- sh -c \
	"echo 'not a database at all, just text' >'$T/foreign.db'; '$CLI' --db '$T/foreign.db' workers 2>&1 | grep -q 'not a SQLite database'"
check "a missing ledger is refused" -- sh -c "! '$CLI' --db '$T/nope.db' workers"
check "bad --format is a usage error" -- sh -c "'$CLI' --db '$DB' workers --format xml; [ \$? -eq 2 ]"
done_testing
