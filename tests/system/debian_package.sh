# debian_package.sh: debian/ builds with `dpkg-buildpackage -us -uc -b`
# (in a copy of the source tree in a temporary directory, never in the
# repository), lintian finds no error (its warnings are recorded here), and
# the package works unpacked into a temporary root (dpkg-deb -x, nothing
# installed on this host): its files are where Debian wants them, and its
# coordinator, started with the package's own sample config and data
# directory, answers /health and serves the packaged page.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
for tool in dpkg-buildpackage dh fakeroot dpkg-deb; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool not installed (contrib/install-deps.sh installs dpkg-dev debhelper fakeroot)"
		exit 0
	fi
done
if [ ! -f "$S/debian/control" ]; then
	echo "1..0 # SKIP no debian/ in $S"
	exit 0
fi

# ---- a clean copy of the sources: git's files when the sources are a
# checkout (no build directories), else the whole tree (an unpacked
# tarball, as in distcheck, without its _build and _inst)
SRC=$T/src/coopmine
mkdir -p "$SRC"
top=$(git -C "$S" rev-parse --show-toplevel 2>/dev/null)
if [ -n "$top" ] && [ "$top" = "$(cd "$S" && pwd -P)" ]; then
	(cd "$S" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -C "$SRC" -xf -
else
	(cd "$S" && tar --exclude='./_build' --exclude='./_inst' -cf - .) | tar -C "$SRC" -xf -
	chmod -R u+w "$SRC"
fi
[ -x "$SRC/debian/rules" ] && [ -f "$SRC/configure.ac" ]
ok $? "the sources are copied to $SRC"

jobs=$(nproc 2>/dev/null || echo 1); [ "$jobs" -le 2 ] || jobs=2
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" \
	dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
ok $rc "dpkg-buildpackage -us -uc -b (log: $T/build.log)"
[ $rc -eq 0 ] || { tail -30 "$T/build.log" | sed 's/^/# /'; done_testing; exit 1; }
DEB=$(ls "$T"/src/coopmine_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ]; ok $? "it made ${DEB:-no .deb}"
dpkg-deb -I "$DEB" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Installed-Size\):/#   &/p'

# ---- lintian: no error; every warning recorded
if command -v lintian >/dev/null 2>&1; then
	lintian --tag-display-limit 0 -I "$T"/src/coopmine_*.changes >"$T/lintian.log" 2>&1
	rc=$?
	errors=$(grep -c '^E: ' "$T/lintian.log")
	warnings=$(grep -c '^W: ' "$T/lintian.log")
	infos=$(grep -c '^I: ' "$T/lintian.log")
	echo "# lintian (exit $rc): $errors errors, $warnings warnings, $infos informational tags"
	grep -E '^(E|W|I): ' "$T/lintian.log" | sed 's/^/#   /'
	[ "$rc" -le 2 ] && [ "$errors" -eq 0 ]
	ok $? "lintian: no error ($warnings warnings, $infos informational, listed above)"
else
	echo "# lintian not installed: not run"
fi

# ---- the package's contents, unpacked into a temporary root
R=$T/root
mkdir -p "$R"
dpkg-deb -x "$DEB" "$R"; ok $? "dpkg-deb -x into $R (nothing installed on the host)"
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/bin/coopmine-coordinator /usr/bin/coopmine-worker /usr/bin/coopmine-cli \
	/usr/bin/coopmine-testpool /usr/bin/coopmine-certs /etc/coopmine/coordinator.conf \
	/etc/coopmine/worker.conf /usr/share/coopmine/www/index.html \
	/usr/share/coopmine/sql/0001_tables.sql /usr/share/man/man1/coopmine-coordinator.1.gz \
	/usr/share/man/man5/coopmine.conf.5.gz /lib/systemd/system/coopmine-coordinator.service \
	/lib/systemd/system/coopmine-worker@.service /usr/lib/sysusers.d/coopmine.conf; do
	grep -qx "$f" "$T/contents"; ok $? "the package holds $f"
done
mkdir -p "$T/ctrl" && dpkg-deb -e "$DEB" "$T/ctrl"
grep -qx /etc/coopmine/coordinator.conf "$T/ctrl/conffiles"
ok $? "/etc/coopmine/coordinator.conf is a conffile (an operator's edits survive upgrades)"
grep -q 'systemd-sysusers coopmine.conf' "$T/ctrl/postinst" && grep -q 'adduser --system' "$T/ctrl/postinst"
ok $? "postinst creates the coopmine system user"
grep -q '^ExecStart=/usr/bin/coopmine-coordinator --config /etc/coopmine/coordinator.conf$' \
	"$R/lib/systemd/system/coopmine-coordinator.service"
ok $? "the packaged unit starts /usr/bin/coopmine-coordinator with /etc/coopmine/coordinator.conf"
C=$R/usr/bin/coopmine-coordinator
"$C" --help | grep -q '(default: /var/lib/coopmine/ledger.db)'
ok $? "the packaged coordinator's ledger defaults to /var/lib/coopmine/ledger.db (StateDirectory)"

# ---- the packaged coordinator runs from the unpacked root: its sample
# config, its www/ (COOPMINE_DATADIR moves the prefix, nothing else)
start pool "$B/src/testpool/coopmine-testpool" --listen 127.0.0.1:0 --job-interval 60s
wait_for "$T/pool.log" "listening on 127.0.0.1:" 20
pport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/pool.log" | head -1)
start pkg env COOPMINE_DATADIR="$R/usr/share/coopmine" "$C" --config "$R/etc/coopmine/coordinator.conf" \
	--pool-address "stratum+tcp://127.0.0.1:$pport" --pool-wallet pkg --insecure \
	--grpc-listen 127.0.0.1:0 --dashboard-listen 127.0.0.1:0 --dashboard-ws-listen 127.0.0.1:0 \
	--ledger-path "$T/ledger.db"
wait_for "$T/pkg.log" "coordinator up" 30
ok $? "the packaged coordinator starts with /etc/coopmine/coordinator.conf from the package"
hport=$(sed -n 's/.*dashboard on 127\.0\.0\.1:0 (port \([0-9]*\)).*/\1/p' "$T/pkg.log" | head -1)
# 200 once the pool session is up ("coordinator up" does not wait for it)
wait_for "$T/pkg.log" "upstream: logged in to " 30
curl -sf "http://127.0.0.1:$hport/health" >"$T/health.json"
ok $? "its /health answers: $(cat "$T/health.json" 2>/dev/null | head -c 120)"
curl -sf "http://127.0.0.1:$hport/" >"$T/index.html" &&
	cmp -s "$T/index.html" "$R/usr/share/coopmine/www/index.html"
ok $? "GET / serves the packaged /usr/share/coopmine/www/index.html"
kill -TERM "$PID_pkg"; wait_pid "$PID_pkg" 30
ok $? "it stops cleanly"
PATH="$R/usr/bin:$PATH" coopmine-certs --out "$T/certs" w1 >/dev/null 2>&1 && [ -s "$T/certs/w1.crt" ]
ok $? "the packaged coopmine-certs makes certificates"
done_testing
