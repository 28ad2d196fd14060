#!/bin/sh
# timed_run.sh: the test driver's time limit (tests/timed_run.py) on tiny
# tests that hang: a shell test, a Python test and a native process are
# killed at their limit with everything they started, reported as a TAP
# "Bail out!" naming the test, its elapsed time and what it waited on, with
# the process tree, a Python traceback and a gdb backtrace in its log; a
# test that ends in time keeps its exit status.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
RUN="$PYTHON3 $S/tests/timed_run.py"
unset COOPMINE_TEST_TIMEOUTS
export COOPMINE_TEST_TIMEOUT_SCALE=1

# A shell test that hangs, with a child of its own left behind.
cat >"$T/hang.sh" <<SH
echo "ok 1 - started"
sleep 1000 &
echo \$! >"$T/child.pid"
sleep 999
SH
t0=$(date +%s)
COOPMINE_TEST_TIMEOUT=2 $RUN /bin/sh "$T/hang.sh" >"$T/hang.out" 2>"$T/hang.err"
rc=$?
el=$(($(date +%s) - t0))
ok $([ "$rc" -ne 0 ] && [ "$el" -lt 20 ]; echo $?) "a hanging test is stopped at its limit (exit $rc after $el s)"
check "it is reported as a TAP Bail out naming the test, its time and what it waited on" -- \
    grep -q '^Bail out! hang hung: killed after [0-9]* s (limit 2 s), waiting on: sleep 999' "$T/hang.out"
check "its log holds the process tree" -- grep -q 'TIMEOUT after .*processes:' "$T/hang.err"
child=$(cat "$T/child.pid")
check "what it started is gone too" -- wait_gone "$child"

# A per-test limit overrides the default.
t0=$(date +%s)
COOPMINE_TEST_TIMEOUT=600 COOPMINE_TEST_TIMEOUTS="other=900 hang=1" \
    $RUN /bin/sh "$T/hang.sh" >"$T/hang2.out" 2>/dev/null
el=$(($(date +%s) - t0))
ok $(grep -q 'limit 1 s' "$T/hang2.out" && [ "$el" -lt 20 ]; echo $?) \
    "COOPMINE_TEST_TIMEOUTS sets one test's limit ($el s)"

# A Python test: its traceback (faulthandler) says where it waited.
cat >"$T/pyhang.py" <<'PY'
import time
def stuck_here():
    time.sleep(1000)
stuck_here()
PY
COOPMINE_TEST_TIMEOUT=2 $RUN "$PYTHON3" "$T/pyhang.py" >"$T/py.out" 2>"$T/py.err"
check "a hanging Python test's log has its traceback" -- grep -q 'in stuck_here' "$T/py.err"

# A native process gets a gdb backtrace (here: sleep, counted as built here).
if command -v gdb >/dev/null 2>&1; then
	COOPMINE_BUILDDIR=$(dirname "$(command -v sleep)") COOPMINE_TEST_TIMEOUT=2 \
	    $RUN sleep 1000 >"$T/c.out" 2>"$T/c.err"
	check "a hanging native test's log has a gdb backtrace" -- grep -q '^#0 ' "$T/c.err"
else
	skip "gdb backtrace: gdb not installed"
fi

# In time: the exit status and the output pass through.
printf 'echo "ok 1 - fine"; exit 3\n' >"$T/fail.sh"
out=$($RUN /bin/sh "$T/fail.sh" 2>/dev/null)
rc=$?
ok $([ "$rc" -eq 3 ] && echo "$out" | grep -q '^ok 1 - fine'; echo $?) \
    "a test that ends in time keeps its exit status ($rc) and output"
out=$($RUN /bin/sh -c 'kill -TERM $$' 2>/dev/null)
rc=$?
ok $([ "$rc" -eq 143 ]; echo $?) "a test killed by a signal is reported as such ($rc)"
done_testing
