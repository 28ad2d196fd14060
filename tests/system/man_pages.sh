# man_pages.sh: every man page lints clean (`mandoc -T lint`, warnings
# included), every option a program's --help lists is in its page, and
# coopmine.conf(5) has every key of the generated sample configs.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
if ! command -v mandoc >/dev/null 2>&1; then
	echo "1..0 # SKIP mandoc not installed (contrib/install-deps.sh installs it)"
	exit 0
fi
M=$B/man
render() { mandoc -T ascii -O width=250 "$1" | sed 's/.\x08//g'; }
for page in coopmine-coordinator.1 coopmine-worker.1 coopmine-cli.1 coopmine-testpool.1 \
	coopmine-certs.1 coopmine.conf.5; do
	mandoc -T lint -W warning "$M/$page" >"$T/lint" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && [ ! -s "$T/lint" ]
	ok $? "mandoc -T lint: $page has no warning"
	sed 's/^/#   /' "$T/lint"
done

help_flags() { sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p'; }
for pair in coordinator:src/coordinator/coopmine-coordinator worker:src/worker/coopmine-worker \
	cli:src/cli/coopmine-cli testpool:src/testpool/coopmine-testpool certs:contrib/coopmine-certs; do
	name=coopmine-${pair%%:*}; bin=$B/${pair#*:}
	render "$M/$name.1" >"$T/$name.txt"
	"$bin" --help >"$T/$name.help" 2>&1
	n=0; missing=""
	for f in $(help_flags <"$T/$name.help"); do
		n=$((n + 1))
		grep -q -- "$f\\b" "$T/$name.txt" || missing="$missing $f"
	done
	[ "$n" -ge 4 ] && [ -z "$missing" ]
	ok $? "$name.1 has all $n options of --help${missing:+ (missing:$missing)}"
done

render "$M/coopmine.conf.5" >"$T/conf.txt"
for c in coordinator worker; do
	n=0; missing=""
	for k in $(sed -n 's/^;\([a-z_]*\) = .*/\1/p' "$B/etc/$c.conf"); do
		n=$((n + 1))
		grep -Eq "^ *$k( |$)" "$T/conf.txt" || missing="$missing $k"
	done
	[ "$n" -ge 10 ] && [ -z "$missing" ]
	ok $? "coopmine.conf(5) has all $n keys of $c.conf${missing:+ (missing:$missing)}"
done
done_testing
