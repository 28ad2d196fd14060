#!/bin/sh
# bench_worker.sh: coopmine-worker --bench against the minimal reference
# loop over librandomx (bench_worker_ref), same nonces, threads, mode and
# pages, one after the other in one run; prints both H/s and the ratio.
# With pages thp the reference, like xmrig, puts the VMs' scratchpads on
# transparent huge pages too (bench_worker_ref thp; thp-lib leaves them
# where librandomx puts them by itself).  XMRIG=/path/to/xmrig adds xmrig's
# own offline benchmark (same threads and mode; its first 60 s average)
# to every round and prints the ratio to it as well.
# Knobs: COOPMINE_BENCH_N (10000), COOPMINE_BENCH_THREADS (2),
# COOPMINE_BENCH_MODE (full|light), COOPMINE_BENCH_PAGES (auto|thp|off),
# COOPMINE_BENCH_ROUNDS (1), XMRIG.
set -eu
B=${COOPMINE_BUILDDIR:-.}
N=${COOPMINE_BENCH_N:-10000}
T=${COOPMINE_BENCH_THREADS:-2}
MODE=${COOPMINE_BENCH_MODE:-full}
PAGES=${COOPMINE_BENCH_PAGES:-auto}
ROUNDS=${COOPMINE_BENCH_ROUNDS:-1}
out=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT

light=""
[ "$MODE" = light ] && light="--light"
echo "worker bench: N=$N threads=$T mode=$MODE pages=$PAGES rounds=$ROUNDS" \
    "(nr_hugepages=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo ?)," \
    "THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo ?))"
# Rounds alternate the two so that load from elsewhere hits both; the
# best of each is compared (other load only ever slows a run down).  The
# rate per CPU second of the hashing threads is printed too: on a shared
# machine it shows the loop's own cost, whatever the others take.
bw=0 br=0 bwc=0 brc=0 bx=0 i=1
XMRIG=${XMRIG:-}
xmode=fast
[ "$MODE" = light ] && xmode=light
xhuge=""
[ "$PAGES" = off ] && xhuge="--no-huge-pages"
[ "$PAGES" = thp ] && [ "$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)" != 0 ] &&
	echo "note: reserved huge pages exist; xmrig will use them (pages=thp applies to coopmine only)"
# xmrig run as root reserves huge pages itself (it writes nr_hugepages):
# with pages thp or off it runs as nobody, so that it cannot.
xrun=""
if [ -n "$XMRIG" ] && [ "$PAGES" != auto ] && [ "$(id -u)" = 0 ]; then
	xrun="setpriv --reuid=65534 --regid=65534 --clear-groups"
	echo "note: xmrig runs as nobody, so that it cannot reserve huge pages"
fi
while [ $i -le "$ROUNDS" ]; do
	"$B/src/worker/coopmine-worker" --bench "$N" --threads "$T" $light \
	    --huge-pages "$PAGES" --log-level warn >"$out/worker" 2>&1 || {
		cat "$out/worker"; echo "worker bench FAILED"; exit 1; }
	"$B/bench/bench_worker_ref" "$N" "$T" "$MODE" "$PAGES" >"$out/ref" 2>&1 || {
		cat "$out/ref"; echo "reference FAILED"; exit 1; }
	if [ -n "$XMRIG" ]; then
		# xmrig's offline benchmark keeps running after it finishes and
		# writes nothing to a redirected stdout: its log file is read
		# instead, for the first 60 s average of its hashrate (printed
		# every 10 s), and then it is stopped.
		rm -f "$out/xmrig"
		touch "$out/xmrig"
		chmod 666 "$out/xmrig"
		chmod 711 "$out"
		$xrun "$XMRIG" --bench=10M -t "$T" --randomx-mode="$xmode" $xhuge \
		    --no-color --print-time=10 --log-file="$out/xmrig" \
		    >/dev/null 2>&1 &
		xpid=$!
		x="" j=0
		while [ $j -lt 600 ] && kill -0 $xpid 2>/dev/null; do
			x=$(sed -n 's/.*speed 10s\/60s\/15m [0-9.na\/]* \([0-9.][0-9.]*\) .*/\1/p' \
			    "$out/xmrig" 2>/dev/null | head -1)
			[ -n "$x" ] && break
			j=$((j + 1)); sleep 1
		done
		kill $xpid 2>/dev/null; wait $xpid 2>/dev/null || true
		[ -n "$x" ] || { tail -20 "$out/xmrig"; echo "xmrig: no figure"; exit 1; }
		echo "  xmrig: $x H/s, 60 s average ($(grep -o 'huge pages [0-9%]* [0-9/]*' "$out/xmrig" | head -2 | tr '\n' ' '))"
		bx=$(awk -v a="$bx" -v b="$x" 'BEGIN { print (b > a ? b : a) }')
	fi
	echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	sed 's/^/  /' "$out/worker" "$out/ref"
	w=$(sed -n 's/^bench: .*: \([0-9.]*\) H\/s$/\1/p' "$out/worker")
	r=$(sed -n 's/^ref: .* threads: \([0-9.]*\) H\/s$/\1/p' "$out/ref")
	wsum=$(sed -n 's/^bench: checksum \([0-9a-f]*\) OK$/\1/p' "$out/worker")
	rsum=$(sed -n "s/^ref: checksum N=$N \([0-9a-f]*\)\$/\1/p" "$out/ref")
	if [ -z "$w" ] || [ -z "$r" ] || [ "$wsum" != "$rsum" ]; then
		echo "worker bench: could not read both figures, or checksums differ"
		exit 1
	fi
	wc=$(sed -n 's/^bench: cpu .*: \([0-9.]*\) H\/s at full CPU$/\1/p' "$out/worker")
	rc=$(sed -n 's/^ref: cpu .*: \([0-9.]*\) H\/s at full CPU$/\1/p' "$out/ref")
	awk -v w="$w" -v r="$r" -v i="$i" -v wc="$wc" -v rc="$rc" 'BEGIN {
	    printf "round %d: worker %.1f H/s, reference %.1f H/s, ratio %.3f; per CPU second: %.1f vs %.1f, ratio %.3f\n",
	    i, w, r, w / r, wc, rc, wc / rc }'
	bw=$(awk -v a="$bw" -v b="$w" 'BEGIN { print (b > a ? b : a) }')
	br=$(awk -v a="$br" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
	bwc=$(awk -v a="$bwc" -v b="$wc" 'BEGIN { print (b > a ? b : a) }')
	brc=$(awk -v a="$brc" -v b="$rc" 'BEGIN { print (b > a ? b : a) }')
	i=$((i + 1))
done
awk -v w="$bw" -v r="$br" -v wc="$bwc" -v rc="$brc" 'BEGIN {
    printf "best: worker %.1f H/s, reference %.1f H/s, ratio %.3f; per CPU second (H/s at full CPU): %.1f vs %.1f, ratio %.3f\n",
    w, r, w / r, wc, rc, wc / rc }'
if [ -n "$XMRIG" ]; then
	awk -v w="$bw" -v x="$bx" 'BEGIN {
	    printf "best: worker %.1f H/s, xmrig %.1f H/s, ratio %.3f\n", w, x, w / x }'
fi
