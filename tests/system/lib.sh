# lib.sh: sourced by the system tests.  Each test gets its own temporary
# directory and free ports on 127.0.0.1, prints TAP, and cleans up (kills
# what it started) on any exit.
set -u
: "${COOPMINE_BUILDDIR:?run through make check}"
: "${COOPMINE_SRCDIR:?run through make check}"
B=$COOPMINE_BUILDDIR
S=$COOPMINE_SRCDIR
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-test.XXXXXX")
PIDS=""
tap_n=0
tap_fail=0

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ "$tap_fail" -eq 0 ] && [ -z "${KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "# kept $T"; fi
}
trap cleanup EXIT INT TERM

ok() {	# ok COND-EXIT-STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; tap_fail=$((tap_fail + 1)); fi
}
check() {	# check DESCRIPTION -- COMMAND...
	desc=$1; shift; [ "$1" = "--" ] && shift
	if "$@" >>"$T/check.log" 2>&1; then ok 0 "$desc"; else ok 1 "$desc"; fi
}
done_testing() { echo "1..$tap_n"; [ "$tap_fail" -eq 0 ]; }

# A free TCP port on 127.0.0.1 (bind to 0, read it back).
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# Wait until FILE contains PATTERN, at most SECONDS.
wait_for() {	# wait_for FILE PATTERN SECONDS
	i=0; while [ $i -lt $(($3 * 10)) ]; do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; i=$((i + 1)); done; return 1
}
start() {	# start NAME COMMAND... : runs in background, logs to $T/NAME.log
	name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$name=$!"
}
