# systemd_units.sh: the units pass `systemd-analyze verify` (copies whose
# ExecStart points at the binaries of this build), have the hardening the
# issue asks for, and their `systemd-analyze security` exposure is recorded
# here (and must stay below 2.0, "OK").
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "1..0 # SKIP systemd-analyze not installed (no systemd here)"
	exit 0
fi
eval "$(${MAKE:-make} -s -C "$B" --no-print-directory print-install-dirs)"
U=$T/units
mkdir -p "$U"
for u in coopmine-coordinator.service coopmine-worker@.service; do
	sed -e "s|^ExecStart=$bindir/coopmine-coordinator |ExecStart=$B/src/coordinator/coopmine-coordinator |" \
	    -e "s|^ExecStart=$bindir/coopmine-worker |ExecStart=$B/src/worker/coopmine-worker |" \
	    "$B/contrib/systemd/$u" >"$U/$u"
	grep -q "^ExecStart=$B/" "$U/$u"
	ok $? "$u: ExecStart=$bindir/... (configure's bindir), pointed at the build for the check"
done
(cd "$U" && systemd-analyze verify --man=no ./coopmine-coordinator.service \
	./coopmine-worker@.service) >"$T/verify.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$T/verify.log" ]
ok $? "systemd-analyze verify: no complaint"
sed 's/^/#   /' "$T/verify.log"

for u in coopmine-coordinator.service coopmine-worker@.service; do
	f=$U/$u
	for want in '^Type=notify$' '^User=coopmine$' '^NoNewPrivileges=yes$' \
		'^CapabilityBoundingSet=$' '^ProtectSystem=strict$' '^LimitMEMLOCK=infinity$' \
		'^LimitNOFILE=65536$' '^WatchdogSec='; do
		grep -q "$want" "$f"; ok $? "$u: $want"
	done
done
grep -q '^StateDirectory=coopmine$' "$U/coopmine-coordinator.service"
ok $? "the coordinator's ledger directory is its StateDirectory"
grep -q "^ExecStart=.*--config $sysconfdir/coopmine/worker-%i.conf\$" "$U/coopmine-worker@.service"
ok $? "a worker instance reads worker-INSTANCE.conf"

for u in coopmine-coordinator.service coopmine-worker@.service; do
	(cd "$U" && systemd-analyze security --offline=true --no-pager "./$u") >"$T/sec.log" 2>&1
	line=$(grep "Overall exposure level" "$T/sec.log")
	echo "# $line"
	grep '✗' "$T/sec.log" | sed 's/  */ /g; s/^/#   /'
	level=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
	[ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l < 2.0) }'
	ok $? "$u: systemd-analyze security exposure ${level:-?} (below 2.0)"
done
done_testing
