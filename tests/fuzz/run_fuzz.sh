# run_fuzz.sh: a short libFuzzer run of the Stratum line harness from the
# committed corpus (make check with --enable-fuzz).  Crashes fail the test;
# new inputs go to a temporary directory, never into the source tree.
set -u
: "${COOPMINE_BUILDDIR:?run through make check}"
: "${COOPMINE_SRCDIR:?run through make check}"
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-fuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
cp "$COOPMINE_SRCDIR"/tests/fuzz/corpus/stratum_line/* "$T/"
mkdir "$T/art"
if "$COOPMINE_BUILDDIR/tests/fuzz/fuzz_stratum_line" -max_total_time="${FUZZ_SECONDS:-15}" \
    -max_len=70000 -rss_limit_mb=2048 -artifact_prefix="$T/art/" "$T" \
    >"$T/fuzz.log" 2>&1; then
	echo "ok 1 - fuzz_stratum_line: $(grep -c . "$T/fuzz.log") log lines, no crash"
	echo "1..1"
else
	echo "not ok 1 - fuzz_stratum_line found a crash"
	sed 's/^/#   /' "$T/fuzz.log" | tail -40
	for f in "$T"/art/*; do [ -f "$f" ] && echo "#   input: $(od -c "$f" | head -5)"; done
	echo "1..1"
	exit 1
fi
