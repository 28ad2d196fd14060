#!/bin/sh
# test.sh: from a fresh Debian machine to a passed test suite:
# dependencies, a developer build (warnings are errors), make check, and the
# same suite again under AddressSanitizer/UBSan unless COOPMINE_SKIP_ASAN=1,
# then, when clang can link libFuzzer (clang, libclang-rt-*-dev), a third
# build with --enable-fuzz runs every fuzz harness for FUZZ_SECONDS (20 s)
# each; a crash fails the run (COOPMINE_SKIP_FUZZ=1 skips it).
# Ends with the skipped checks and their reasons, the tests that hit their
# time limit, and one line "suite: N passed, N failed, N skipped" over both
# runs (XFAIL counts as passed, XPASS and ERROR as failed).
set -e
cd "$(dirname "$0")/.."
start=$(date +%s)
contrib/install-deps.sh
[ -x configure ] || ./autogen.sh
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
skipped=0
notes=$(mktemp)
trap 'rm -f "$notes"' EXIT

# count NAME FILE: the last "# NAME: n" of automake's summary in FILE.
count() {
	n=$(sed -n "s/^# $1: *//p" "$2" | tail -1)
	echo "${n:-0}"
}

# run_suite DIR CONFIGURE-FLAGS...: build in DIR and run make check there.
run_suite() {
	dir=$1; shift
	mkdir -p "$dir"
	rc=0
	t0=$(date +%s)
	(cd "$dir" && ../configure "$@" && make -j"$jobs" &&
	    make -j"$jobs" check) 2>&1 | tee "$dir/check.out" || rc=1
	[ "$(count FAIL "$dir/check.out")" = 0 ] && [ "$(count ERROR "$dir/check.out")" = 0 ] &&
	    [ "$(count XPASS "$dir/check.out")" = 0 ] || rc=1
	grep -q '^# TOTAL:' "$dir/check.out" || rc=1
	passed=$((passed + $(count PASS "$dir/check.out") + $(count XFAIL "$dir/check.out")))
	failed=$((failed + $(count FAIL "$dir/check.out") + $(count ERROR "$dir/check.out") +
	    $(count XPASS "$dir/check.out")))
	skipped=$((skipped + $(count SKIP "$dir/check.out")))
	sed -n "s|^SKIP: |$dir: skipped: |p" "$dir/check.out" >>"$notes"
	sed -n "s|^ERROR: \(.*Bail out! .* hung: .*\)|$dir: TIMEOUT: \1|p" "$dir/check.out" >>"$notes"
	echo "$dir: make check took $(($(date +%s) - t0)) s" >>"$notes"
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
# run_fuzz: the third build; its TAP lines count as tests.
run_fuzz() {
	t0=$(date +%s)
	rc=0
	mkdir -p build-fuzz
	(cd build-fuzz && CC=clang ../configure --enable-fuzz &&
	    FUZZ_SECONDS=${FUZZ_SECONDS:-20} make -j"$jobs" fuzz-run) 2>&1 |
	    tee build-fuzz/fuzz.out || rc=1
	ok=$(grep -c '^ok ' build-fuzz/fuzz.out)
	bad=$(grep -c '^not ok ' build-fuzz/fuzz.out)
	grep -q '^1\.\.[1-9]' build-fuzz/fuzz.out || rc=1
	[ "$bad" = 0 ] || rc=1
	passed=$((passed + ok))
	failed=$((failed + bad))
	[ $rc -eq 0 ] || [ "$bad" -gt 0 ] || failed=$((failed + 1))
	sed -n 's|^\(not \)*ok [0-9]* - |build-fuzz: |p' build-fuzz/fuzz.out >>"$notes"
	echo "build-fuzz: make fuzz-run took $(($(date +%s) - t0)) s" >>"$notes"
	return $rc
}

# libFuzzer's runtime is libclang-rt-*-dev: clang alone cannot link it.
fuzz_ok() {
	command -v clang >/dev/null 2>&1 || return 1
	d=$(mktemp -d)
	printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' \
	    >"$d/t.c"
	clang -fsanitize=fuzzer,address "$d/t.c" -o "$d/t" >/dev/null 2>&1
	r=$?
	rm -rf "$d"
	return $r
}

if [ $status -eq 0 ] && [ "${COOPMINE_SKIP_FUZZ:-0}" != 1 ]; then
	if fuzz_ok; then
		run_fuzz || status=1
	else
		echo "build-fuzz: skipped: clang cannot link libFuzzer (apt-get install clang libclang-rt-14-dev)" >>"$notes"
		skipped=$((skipped + 1))
	fi
fi
cat "$notes"
echo "whole run: $(($(date +%s) - start)) s"
echo "suite: $passed passed, $failed failed, $skipped skipped"
exit $status
