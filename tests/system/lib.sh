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
# The exit status of background PID, waiting at most SECONDS; one still
# running then is named, killed with SIGKILL, and the status is 124.
wait_pid() {	# wait_pid PID SECONDS
	_i=0
	while [ -d "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; do
		if [ $_i -ge $(($2 * 10)) ]; then
			echo "# pid $1 ($(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-100)) still running after $2 s: killed"
			kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null
			return 124
		fi
		sleep 0.1; _i=$((_i + 1))
	done
	wait "$1"
}
# SIGTERM, then wait_pid.
stop_pid() {	# stop_pid PID SECONDS
	kill -TERM "$1" 2>/dev/null; wait_pid "$1" "$2"
}
# Runs COMMAND every 0.2 s until it succeeds, for at most SECONDS of wall
# clock: the replacement of a fixed sleep.  0 when it succeeded.
poll() {	# poll SECONDS COMMAND...
	_end=$(($(date +%s) + $1)); shift
	until "$@"; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.2
	done
}
# A check that cannot run here, counted as a TAP SKIP with its reason.
skip() {	# skip REASON
	tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $1"
}
# 0 once no process PID exists (a zombie counts as gone), within 5 s.
wait_gone() {	# wait_gone PID
	_i=0
	while [ -d "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; do
		[ $_i -ge 50 ] && return 1
		sleep 0.1; _i=$((_i + 1))
	done
}

# The browser tests' driver (tests/browser/SCRIPT.mjs through playwright-core
# and Debian's headless Chromium): sets drv to its directory.  Without
# Chromium or node the test is skipped (exit 0).  playwright-core comes
# from tests/browser (contrib/install-deps.sh runs npm ci there); a tree
# without it (make distcheck) installs it from the lockfile into $T.
browser_driver() {	# browser_driver SCRIPT.mjs
	CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
	if [ ! -x "$CHROMIUM" ] || ! command -v node >/dev/null 2>&1; then
		echo "1..0 # SKIP needs $CHROMIUM and node (contrib/install-deps.sh)"
		exit 0
	fi
	drv=$S/tests/browser
	[ -d "$drv/node_modules/playwright-core" ] && return 0
	mkdir -p "$T/browser"
	cp "$drv/package.json" "$drv/package-lock.json" "$drv/$1" \
	    "$drv/lib.mjs" "$T/browser/"
	if ! npm ci --prefer-offline --no-audit --no-fund --prefix "$T/browser" >"$T/npm.log" 2>&1; then
		sed 's/^/#   /' "$T/npm.log" | tail -20
		echo "not ok 1 - playwright-core is missing: run contrib/install-deps.sh"
		echo "1..1"
		exit 1
	fi
	drv=$T/browser
}
