#!/bin/sh
# test.sh: from a fresh Debian machine to a passed test suite:
# dependencies, a developer build (warnings are errors), make check, and the
# same suite again under AddressSanitizer/UBSan unless COOPMINE_SKIP_ASAN=1.
# Ends with one line "suite: N passed, N failed" over both runs.
set -e
cd "$(dirname "$0")/.."
contrib/install-deps.sh
[ -x configure ] || ./autogen.sh
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

# run_suite DIR CONFIGURE-FLAGS...: build in DIR and run make check there.
run_suite() {
	dir=$1; shift
	mkdir -p "$dir"
	rc=0
	(cd "$dir" && ../configure "$@" && make -j"$jobs" &&
	    make -j"$jobs" check) 2>&1 | tee "$dir/check.out" || rc=1
	grep -q '^# FAIL: *0$' "$dir/check.out" && grep -q '^# ERROR: *0$' "$dir/check.out" || rc=1
	p=$(sed -n 's/^# PASS: *//p' "$dir/check.out" | tail -1)
	f=$(sed -n 's/^# FAIL: *//p' "$dir/check.out" | tail -1)
	e=$(sed -n 's/^# ERROR: *//p' "$dir/check.out" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0}))
	if [ $rc -ne 0 ]; then
		[ -f "$dir/test-suite.log" ] && tail -300 "$dir/test-suite.log"
		[ "$failed" -gt 0 ] || failed=1
	fi
	return $rc
}

status=0
run_suite build --enable-werror || status=1
if [ $status -eq 0 ] && [ "${COOPMINE_SKIP_ASAN:-0}" != 1 ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    run_suite build-asan --enable-werror --enable-sanitizers || status=1
fi
echo "suite: $passed passed, $failed failed"
exit $status
