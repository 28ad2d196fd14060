# lsan_reports.sh: tests/lsan.supp hides only named one-time library
# allocations, so a leak of ours inside OpenSSL or gRPC is still reported.
# tests/lsan_leak drops an SSL_CTX, then a grpc_call: each run must fail
# with LeakSanitizer's report naming the allocation; the control run, which
# frees both, must exit 0.  Sanitizer build only (tests/Makemodule.am).
set -u
: "${COOPMINE_BUILDDIR:?run through make check}"
: "${COOPMINE_SRCDIR:?run through make check}"
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-lsan.XXXXXX")
trap 'rm -rf "$T"' EXIT
bin=$COOPMINE_BUILDDIR/tests/lsan_leak
# The suite's own options (the Makefile's LSAN_OPTIONS), leaks on.
export LSAN_OPTIONS="suppressions=$COOPMINE_SRCDIR/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1"
n=0
fail=0

# expect MODE WHAT PATTERN: the run fails with a leak report whose direct
# leak is allocated in PATTERN.
expect() {
	n=$((n + 1))
	timeout -k 5 60 "$bin" "$1" >"$T/$1.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$T/$1.out" &&
	    grep -A3 '^Direct leak' "$T/$1.out" | grep -q "$3"; then
		echo "ok $n - a leaked $2 of ours is reported (exit $rc)"
	else
		echo "not ok $n - a leaked $2 is not reported (exit $rc): tests/lsan.supp hides it"
		sed 's/^/#   /' "$T/$1.out" | tail -30
		fail=1
	fi
}

# ASan's fast unwinder stops at the first library frame without a frame
# pointer, so a report names the library, not SSL_CTX_new: which is also
# why a library-wide suppression hid every leak of ours inside it.
expect ssl SSL_CTX libcrypto.so
expect grpc grpc_call 'libgpr.so\|libgrpc.so'
n=$((n + 1))
if timeout -k 5 60 "$bin" none >"$T/none.out" 2>&1; then
	echo "ok $n - the control run frees both and exits 0"
else
	echo "not ok $n - the control run failed (exit $?)"
	sed 's/^/#   /' "$T/none.out" | tail -30
	fail=1
fi
echo "1..$n"
exit $fail
