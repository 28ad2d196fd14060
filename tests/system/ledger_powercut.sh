#!/bin/sh
# ledger_powercut.sh: "acknowledged means durable", with the power cut
# simulated below SQLite: the ledger writes through tests/powercut_vfs.c,
# which undoes everything written since each file's last fsync when the
# power goes (kill -9 cannot show a missing fsync: the page cache
# survives it).  20 cuts at random moments under load: every share
# acknowledged before a cut is in the ledger afterwards and
# `coopmine-cli audit` passes.  The same with synchronous=NORMAL must lose
# acknowledged shares, or this test could not see a missing fsync.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

CLI=$B/src/cli/coopmine-cli
DRIVER=$B/tests/ledger_crash_driver
RATE=1500
ROUNDS=${COOPMINE_POWERCUT_ROUNDS:-20}

# power_cut DB ROUND SYNC: one run of the driver, cut at a random moment:
# in odd rounds 0.2 to 1.5 s after its start (mostly between commits), in
# even ones during its 100th to 3000th write (mid-transaction); leaves $T/acked.ROUND and $T/rows.ROUND;
# prints the number of acknowledged shares missing from the ledger.
power_cut() {
	r=$(od -An -N2 -tu2 /dev/urandom)
	case $2 in
	*[13579]) how="-c $((200 + r % 1300))" ;;
	*) how="-w $((100 + r % 2900))" ;;
	esac
	timeout 60 "$DRIVER" -s "$3" $how "$1" "$RATE" >"$T/run.$2" 2>"$T/err.$2"
	rc=$?
	if [ $rc -ne 0 ] || ! grep -q '^powercut after' "$T/run.$2"; then
		echo "# round $2: the driver did not run to its power cut (exit $rc)" >&2
		sed 's/^/#   /' "$T/err.$2" | tail -5 >&2
		echo 999999
		return
	fi
	grep '^ack ' "$T/run.$2" | cut -d" " -f2 | sort >"$T/acked.$2"
	sqlite3 "$1" 'SELECT id FROM shares' 2>>"$T/err.$2" | sort >"$T/rows.$2"
	comm -23 "$T/acked.$2" "$T/rows.$2" | wc -l
}

DB=$T/full.db
total=0
undone=0
for round in $(seq 1 "$ROUNDS"); do
	missing=$(power_cut "$DB" "$round" 2)
	n=$(wc -l <"$T/acked.$round" 2>/dev/null || echo 0)
	total=$((total + n))
	u=$(sed -n 's/^powercut after \(.*\): \([0-9-]*\) .*/\2 writes undone, after \1/p' "$T/run.$round")
	undone=$((undone + ${u%% *}))
	ok $([ "$missing" -eq 0 ] && [ "$n" -gt 0 ]; echo $?) \
		"FULL, cut $round ($u): all $n acknowledged shares are in the ledger ($missing missing)"
	check "FULL, cut $round: coopmine-cli audit passes" -- "$CLI" --db "$DB" audit
done
echo "# FULL: $total shares acknowledged over $ROUNDS cuts; $undone unsynced writes undone"
ok $([ "$undone" -gt 0 ]; echo $?) "the cuts did undo unsynced writes ($undone): they hit the ledger mid-flight"

# synchronous=NORMAL: WAL commits are acknowledged before their fsync.
DB=$T/normal.db
lost=0
for round in n1 n2 n3; do
	missing=$(power_cut "$DB" "$round" 1)
	[ "$missing" -ne 999999 ]
	ok $? "NORMAL, cut $round: the driver ran to its power cut"
	[ "$missing" -ne 999999 ] && lost=$((lost + missing))
	check "NORMAL, cut $round: the database is intact (integrity_check)" -- \
	    sh -c "[ \"\$(sqlite3 '$DB' 'PRAGMA integrity_check')\" = ok ]"
done
ok $([ "$lost" -gt 0 ]; echo $?) \
	"with synchronous=NORMAL the same cuts lose acknowledged shares ($lost): the test sees a missing fsync"
done_testing
