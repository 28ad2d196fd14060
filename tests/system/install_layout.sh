# install_layout.sh: `make install` into a DESTDIR puts every file where
# README.md says (binaries and coopmine-certs in bindir, generated sample
# configs in sysconfdir/coopmine, www/ and sql/ in pkgdatadir, man pages,
# units and the sysusers.d snippet); the sample configs hold every key with
# its default (loaded uncommented they give exactly the defaults); the
# installed coordinator serves its page from the installed www/; and
# `make uninstall` leaves no file behind.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
MAKE=${MAKE:-make}
eval "$($MAKE -s -C "$B" --no-print-directory print-install-dirs)"
R=$T/root
$MAKE -C "$B" --no-print-directory install DESTDIR="$R" >"$T/install.log" 2>&1
ok $? "make install DESTDIR=$R"
(cd "$R" && find . -type f -o -type l | sed 's|^\.||' | sort) >"$T/files"
echo "# installed $(wc -l <"$T/files") files:"; sed 's/^/#   /' "$T/files"

for p in coopmine-coordinator coopmine-worker coopmine-cli coopmine-testpool coopmine-certs; do
	[ -x "$R$bindir/$p" ]; ok $? "$bindir/$p is installed and executable"
	grep -q "^$bindir/$p\$" "$T/files" || true
done
for f in "$sysconfdir/coopmine/coordinator.conf" "$sysconfdir/coopmine/worker.conf" \
	"$pkgdatadir/www/index.html" "$pkgdatadir/www/app.js" "$pkgdatadir/sql/0001_tables.sql" \
	"$mandir/man1/coopmine-coordinator.1" "$mandir/man1/coopmine-worker.1" \
	"$mandir/man1/coopmine-cli.1" "$mandir/man1/coopmine-testpool.1" \
	"$mandir/man1/coopmine-certs.1" "$mandir/man5/coopmine.conf.5"; do
	[ -s "$R$f" ]; ok $? "$f is installed"
done
if [ -n "$systemdsystemunitdir" ]; then
	for u in coopmine-coordinator.service coopmine-worker@.service; do
		[ -s "$R$systemdsystemunitdir/$u" ]; ok $? "$systemdsystemunitdir/$u is installed"
	done
	grep -q "^ExecStart=$bindir/coopmine-coordinator --config $sysconfdir/coopmine/coordinator.conf\$" \
		"$R$systemdsystemunitdir/coopmine-coordinator.service"
	ok $? "the installed unit starts $bindir/coopmine-coordinator with $sysconfdir/coopmine/coordinator.conf"
else
	echo "# no systemdsystemunitdir configured: units not installed (not checked)"
fi
if [ -n "$sysusersdir" ]; then
	grep -q '^u coopmine ' "$R$sysusersdir/coopmine.conf"
	ok $? "$sysusersdir/coopmine.conf declares the coopmine user"
fi

# ---- the sample configs: every flag of --help that has a key is in them,
# and uncommented they load to exactly the defaults.
C=$R$bindir/coopmine-coordinator
W=$R$bindir/coopmine-worker
for pair in "coordinator:$C" "worker:$W"; do
	name=${pair%%:*}; bin=${pair#*:}
	conf=$R$sysconfdir/coopmine/$name.conf
	missing=""
	for flag in $("$bin" --help | sed -n 's/^  --\([a-z0-9-]*\).*/\1/p'); do
		case "$flag" in config|help|version|print-config-sample|print-man|bench|light) continue ;; esac
		grep -Eq "^; flag --$flag(,|\$)" "$conf" || missing="$missing --$flag"
	done
	[ -z "$missing" ]; ok $? "$name.conf names every flag of --help${missing:+ (missing:$missing)}"
	n=$(grep -c '^;[a-z_]* = ' "$conf")
	ok $([ "$n" -ge 10 ]; echo $?) "$name.conf lists $n keys, each commented out with its default"
	sed 's/^;\([a-z_]* = \)/\1/' "$conf" >"$T/$name-all.conf"
done
# The coordinator stops at the ledger check (":memory:" is refused) just
# after it logged its effective configuration: the same with and without
# the uncommented file.
effective() {	# effective [--config FILE]: the "config" lines it logs
	"$C" "$@" --pool-address stratum+tcp://127.0.0.1:1 --pool-wallet w --ledger-path :memory: \
	    --dashboard-listen "" 2>&1 | sed -n 's/^.* info: \(config .*\)/\1/p' | sort
}
effective >"$T/eff-default"
effective --config "$T/coordinator-all.conf" >"$T/eff-file"
[ "$(wc -l <"$T/eff-default")" -ge 60 ] && cmp -s "$T/eff-default" "$T/eff-file"
ok $? "coordinator.conf uncommented gives exactly the defaults ($(wc -l <"$T/eff-file") settings compared)"
diff "$T/eff-default" "$T/eff-file" | sed 's/^/# /' | head -20
out=$("$W" --config "$T/worker-all.conf" 2>&1)
case "$out" in *"[coordinator] address"*required*) ok 0 "worker.conf uncommented loads (next complaint: no coordinator)" ;;
	*) ok 1 "worker.conf uncommented loads: $out" ;; esac

# ---- the defaults point into configure's directories
"$C" --help | grep -q "(default: $statedir/ledger.db)"
ok $? "the ledger's default path is $statedir/ledger.db"

# ---- the installed coordinator serves the installed page
pool_log=$T/pool.log
start pool "$B/src/testpool/coopmine-testpool" --listen 127.0.0.1:0 --job-interval 60s
wait_for "$T/pool.log" "listening on 127.0.0.1:" 20
pport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/pool.log" | head -1)
start inst env COOPMINE_DATADIR="$R$pkgdatadir" "$C" --config "$R$sysconfdir/coopmine/coordinator.conf" \
	--pool-address "stratum+tcp://127.0.0.1:$pport" --pool-wallet w --insecure \
	--grpc-listen 127.0.0.1:0 --dashboard-listen 127.0.0.1:0 --dashboard-ws-listen 127.0.0.1:0 \
	--ledger-path "$T/ledger.db"
wait_for "$T/inst.log" "coordinator up" 30
ok $? "the installed coordinator starts with the installed sample config"
grep -q "page from $R$pkgdatadir/www," "$T/inst.log"
ok $? "it takes its page from the installed www/ (COOPMINE_DATADIR=$R$pkgdatadir)"
hport=$(sed -n 's/.*dashboard on 127\.0\.0\.1:0 (port \([0-9]*\)).*/\1/p' "$T/inst.log" | head -1)
curl -sf "http://127.0.0.1:$hport/" >"$T/index.html" && cmp -s "$T/index.html" "$S/www/index.html"
ok $? "GET / answers the installed index.html"
# 200 once the pool session is up ("coordinator up" does not wait for it)
wait_for "$T/inst.log" "upstream: logged in to " 30
curl -sf "http://127.0.0.1:$hport/health" >/dev/null
ok $? "/health answers"
kill -TERM "$PID_inst"; wait_pid "$PID_inst" 30
ok $? "it stops cleanly"
start inst2 "$C" --pool-address stratum+tcp://127.0.0.1:1 --pool-wallet w --insecure --grpc-listen 127.0.0.1:0 \
	--dashboard-listen 127.0.0.1:0 --dashboard-ws-listen 127.0.0.1:0 --ledger-path "$T/ledger2.db"
wait_for "$T/inst2.log" "page from " 30
grep -q "page from $pkgdatadir/www," "$T/inst2.log"
ok $? "without COOPMINE_DATADIR the page comes from configure's $pkgdatadir/www"
kill -TERM "$PID_inst2"; wait_pid "$PID_inst2" 30 >/dev/null

# ---- coopmine-certs on the PATH works like contrib/gen_certs.sh
PATH="$R$bindir:$PATH" coopmine-certs --out "$T/certs" w1 >"$T/certs.log" 2>&1 &&
	[ -s "$T/certs/ca.crt" ] && [ -s "$T/certs/server.key" ] && [ -s "$T/certs/w1.crt" ]
ok $? "coopmine-certs --out DIR w1 makes the CA, the server's and w1's certificates"
grep -q "^coopmine-certs: created CA" "$T/certs.log"
ok $? "and speaks as coopmine-certs"

# ---- uninstall leaves nothing but empty directories
$MAKE -C "$B" --no-print-directory uninstall DESTDIR="$R" >"$T/uninstall.log" 2>&1
ok $? "make uninstall DESTDIR=$R"
left=$(cd "$R" && find . ! -type d | sed 's|^\.||')
[ -z "$left" ]; ok $? "uninstall leaves no file behind${left:+: $left}"
done_testing
