# run_fuzz.sh NAME...: a bounded libFuzzer run of each harness
# tests/fuzz/fuzz_NAME from a copy of its committed corpus (make fuzz-run in
# a --enable-fuzz build; contrib/test.sh runs it in CI).  FUZZ_SECONDS
# (default 20) per harness; a crash, a leak, a UBSan report or a hang
# (-timeout, and a hard limit of FUZZ_SECONDS + 60 s) fails the run and shows
# the input.  New inputs go to a temporary directory, never into the source
# tree: copy a crash's input into tests/fuzz/corpus/NAME/ once it is fixed.
# FUZZ_RUNS, when set, also stops each harness after that many executions
# (the long run: FUZZ_RUNS=10000000 FUZZ_SECONDS=900).
# Prints TAP and each harness's executions and executions per second.
set -u
: "${COOPMINE_BUILDDIR:?run through make fuzz-run}"
: "${COOPMINE_SRCDIR:?run through make fuzz-run}"
secs=${FUZZ_SECONDS:-20}
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-fuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
fail=0
for name in "$@"; do
	n=$((n + 1))
	mkdir -p "$T/$name/corpus" "$T/$name/art"
	cp "$COOPMINE_SRCDIR/tests/fuzz/corpus/$name"/* "$T/$name/corpus/"
	log="$T/$name/fuzz.log"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	timeout -k 5 $((secs + 60)) \
	    "$COOPMINE_BUILDDIR/tests/fuzz/fuzz_$name" -max_total_time="$secs" \
	    ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$T/$name/art/" "$T/$name/corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ $rc -eq 0 ]; then
		echo "ok $n - fuzz_$name: ${execs:-?} executions, ${rate:-?}/s, no crash"
		continue
	fi
	fail=1
	echo "not ok $n - fuzz_$name failed (exit $rc${execs:+ after $execs executions})"
	grep -v '^#\|^INFO\|^stat::' "$log" | tail -40 | sed 's/^/#   /'
	for f in "$T/$name"/art/*; do
		[ -f "$f" ] || continue
		echo "#   input $(basename "$f"):"
		od -c "$f" | head -8 | sed 's/^/#     /'
	done
done
echo "1..$n"
exit $fail
