# dash_money_browser.sh: the dashboard's Income and Balances panels in a
# real browser (headless Chromium through playwright-core, as
# dash_browser.sh): a ledger filled through the real ledger writer
# (tests/money_driver) and coopmine-cli (owners, a co-owned worker, income,
# a reversal, payments and a payment reversal), served by the fixture
# coordinator; tests/browser/money.mjs compares what the page shows with
# tests/system/money_expect.py's reading of the ledger.  Screenshots land
# in $B/tests/system/out/.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"

browser_driver money.mjs
out=$B/tests/system/out
mkdir -p "$out"

DB=$T/ledger.db
WINDOW=20000
FEE=150
# India: an offset that is not whole hours, so that a UTC time shown as if
# local cannot pass by accident
TZONE=Asia/Kolkata
# A step of the setup that fails ends the test (kept: $T).
setup() {	# setup DESCRIPTION -- COMMAND...
	desc=$1; shift 2
	if ! "$@" >>"$T/setup.log" 2>&1; then
		sed 's/^/#   /' "$T/setup.log" | tail -20
		echo "not ok 1 - setup: $desc"
		echo "1..1"
		tap_fail=1
		exit 1
	fi
}
cli() {
	"$B/src/cli/coopmine-cli" --db "$DB" --pplns-window "$WINDOW" \
	    --pplns-fee-bps "$FEE" "$@"
}

# Three days of hourly shares of three workers, income on the third day.
now=$(($(date +%s) * 1000))
t0=$((now - 3 * 86400000))
{
	echo "job $((t0 - 60000)) 50000"
	i=0
	while [ $i -lt 60 ]; do
		echo "share w-$((i % 3 + 1)) $((1000 + (i * 337) % 2500)) $((t0 + i * 3600000))"
		i=$((i + 1))
	done
} >"$T/plan"
"$B/tests/money_driver" "$DB" <"$T/plan" >"$T/driver.out" 2>&1
setup "60 shares of three workers through the ledger writer" -- \
    grep -q '^ok 60 0' "$T/driver.out"
setup "owners" -- cli owners add alice --address addr-alice-0001
setup "owners" -- cli owners add bob --address addr-bob-0002
setup "workers assign" -- cli workers assign w-1 alice --from "$t0"
setup "a co-owned worker" -- cli workers assign w-2 alice:6000,bob:4000 --from "$t0"
setup "income 1" -- cli income add --amount 123456789 \
    --at $((t0 + 20 * 3600000 + 1234)) --ref pool-pay-1
setup "income 2" -- cli income add --amount 5000000001 \
    --at $((t0 + 40 * 3600000 + 5678)) --ref pool-pay-2 --note "second payout"
setup "income 3" -- cli income add --amount 987654321 \
    --at $((t0 + 59 * 3600000 + 600000)) --ref tx-deadbeef-3
# N below one share's difficulty: the split warns (as on regtest)
setup "income with a warning" -- "$B/src/cli/coopmine-cli" --db "$DB" \
    --pplns-window 500 --pplns-fee-bps "$FEE" income add --amount 4242 \
    --at $((t0 + 50 * 3600000)) --ref manual-small-window --source manual
setup "income reverse" -- cli income reverse 1 --ref reverse-pay-1
setup "pay record" -- cli pay record --owner alice --amount 1000000000 --ref tx-alice-1
setup "pay record" -- cli pay record --owner bob --amount 50000 --ref tx-bob-1
setup "pay reverse" -- cli pay reverse 2 --ref tx-bob-1-bounced
setup "the expectations, read from the ledger" -- \
    sh -c 'python3 "$1" "$2" "$3" >"$4"' sh "$S/tests/system/money_expect.py" \
    "$DB" "$TZONE" "$T/expect.json"

# The driver starts and stops the fixture coordinator itself and prints
# the TAP.  COOPMINE_WWW serves another page (to see the test fail).
node "$drv/money.mjs" "$out" "$T/expect.json" "$TZONE" \
    "$B/tests/system/dash_fixture" --static "${COOPMINE_WWW:-$S/www}" \
    --tick-ms 400 --ledger "$DB" --pplns-window "$WINDOW" \
    --pplns-fee-bps "$FEE"
rc=$?
[ $rc -eq 0 ] || tap_fail=1
exit $rc
