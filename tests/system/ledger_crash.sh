#!/bin/sh
# ledger_crash.sh: kill -9 a process appending shares through the ledger at
# random moments, several times in a row.  After each crash every share it
# saw acknowledged must be in the ledger, `coopmine-cli audit` must pass and
# the share ids (counters) must continue where they stopped.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

DB=$T/ledger.db
CLI=$B/src/cli/coopmine-cli
DRIVER=$B/tests/ledger_crash_driver
prev_max=0
prev_valid=-1

for round in 1 2 3 4 5; do
	start driver$round "$DRIVER" "$DB" 400
	pid=$(eval echo \$PID_driver$round)
	wait_for "$T/driver$round.log" '^ack ' 20
	# a random moment: 0.2 to 1.4 s into the run
	sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", 0.2 + (r % 120) / 100 }')"
	kill -9 "$pid"
	wait_pid "$pid" 10
	grep '^ack ' "$T/driver$round.log" | cut -d" " -f2 | sort >"$T/acked$round"
	n=$(wc -l <"$T/acked$round")
	sqlite3 "$DB" 'SELECT id FROM shares ORDER BY id' >"$T/rows$round"
	missing=$(sort "$T/rows$round" | comm -23 "$T/acked$round" - | wc -l)
	ok $([ "$n" -gt 0 ] && [ "$missing" -eq 0 ]; echo $?) \
		"round $round: all $n acknowledged shares survive kill -9 ($missing missing)"
	check "round $round: coopmine-cli audit passes" -- "$CLI" --db "$DB" audit
	first=$(sort -n "$T/acked$round" | head -n1)
	rec=$(sed -n 's/^recovered next_share_id \([0-9]*\) valid \([0-9]*\).*/\1 \2/p' "$T/driver$round.log")
	next_id=${rec% *}
	valid=${rec#* }
	ok $([ "$first" -gt "$prev_max" ] && [ "$next_id" -gt "$prev_max" ]; echo $?) \
		"round $round: share ids continue (next $next_id after $prev_max)"
	ok $([ "$valid" -ge "$prev_valid" ]; echo $?) \
		"round $round: recovered counters never go back ($valid >= $prev_valid)"
	prev_max=$(sort -n "$T/acked$round" | tail -n1)
	prev_valid=$(sqlite3 "$DB" "SELECT count(*) FROM shares WHERE verdict = 'accepted'")
done
ok $([ "$(sqlite3 "$DB" 'SELECT count(*) FROM blocks WHERE reward IS NOT NULL')" -gt 0 ]; echo $?) \
	"blocks with a known reward were recorded along the way"
# IS NOT, not <>: a block with a reward and no payout row at all has a NULL
# sum, which <> would let through.
bad=$(sqlite3 "$DB" 'SELECT id FROM blocks b WHERE reward IS NOT NULL AND
    reward IS NOT (SELECT sum(amount) FROM payouts p WHERE p.block_id = b.id)' | tr '\n' ' ')
ok $([ -z "$bad" ]; echo $?) "payouts of every block sum to its reward (wrong: ${bad:-none})"
done_testing
