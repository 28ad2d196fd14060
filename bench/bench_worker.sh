#!/bin/sh
# bench_worker.sh: coopmine-worker --bench against the minimal reference
# loop over librandomx (bench_worker_ref), same nonces, threads, mode and
# pages, one after the other in one run; prints both H/s and the ratio.
# Knobs: COOPMINE_BENCH_N (10000), COOPMINE_BENCH_THREADS (2),
# COOPMINE_BENCH_MODE (full|light), COOPMINE_BENCH_PAGES (auto|thp|off).
set -eu
B=${COOPMINE_BUILDDIR:-.}
N=${COOPMINE_BENCH_N:-10000}
T=${COOPMINE_BENCH_THREADS:-2}
MODE=${COOPMINE_BENCH_MODE:-full}
PAGES=${COOPMINE_BENCH_PAGES:-auto}
out=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT

light=""
[ "$MODE" = light ] && light="--light"
echo "worker bench: N=$N threads=$T mode=$MODE pages=$PAGES" \
    "(nr_hugepages=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo ?)," \
    "THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo ?))"
"$B/src/worker/coopmine-worker" --bench "$N" --threads "$T" $light \
    --huge-pages "$PAGES" --log-level warn >"$out/worker" 2>&1 || {
	cat "$out/worker"; echo "worker bench FAILED"; exit 1; }
"$B/bench/bench_worker_ref" "$N" "$T" "$MODE" "$PAGES" >"$out/ref" 2>&1 || {
	cat "$out/ref"; echo "reference FAILED"; exit 1; }
sed 's/^/  /' "$out/worker" "$out/ref"
w=$(sed -n 's/^bench: .*: \([0-9.]*\) H\/s$/\1/p' "$out/worker")
r=$(sed -n 's/^ref: .* threads: \([0-9.]*\) H\/s$/\1/p' "$out/ref")
wsum=$(sed -n 's/^bench: checksum \([0-9a-f]*\) OK$/\1/p' "$out/worker")
rsum=$(sed -n "s/^ref: checksum N=$N \([0-9a-f]*\)\$/\1/p" "$out/ref")
if [ -z "$w" ] || [ -z "$r" ] || [ "$wsum" != "$rsum" ]; then
	echo "worker bench: could not read both figures, or checksums differ"
	exit 1
fi
awk -v w="$w" -v r="$r" 'BEGIN { printf "worker %.1f H/s, reference %.1f H/s, ratio %.3f\n", w, r, w / r }'
