#!/bin/sh
# bench/ledger.sh: runs bench-ledger on the build directory's filesystem
# (a real disk, so synchronous=FULL pays for its fsyncs; /tmp may be tmpfs).
set -eu
D=$(mktemp -d "$COOPMINE_BUILDDIR/bench-ledger.XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM
"$COOPMINE_BUILDDIR/bench/bench-ledger" "$D" "${LEDGER_BENCH_SHARES:-20000}" \
	"${LEDGER_BENCH_BATCH:-256}" "${LEDGER_BENCH_BATCH_MS:-5}" \
	"${LEDGER_BENCH_PACED:-1000}"
"$COOPMINE_BUILDDIR/bench/bench-ledger-growth" "$D" \
	"${LEDGER_GROWTH_SHARES:-100000}" "${LEDGER_GROWTH_WORKERS:-10000}" \
	"${LEDGER_GROWTH_SHARE_S:-15}" "${LEDGER_GROWTH_HEARTBEAT_S:-30}" \
	"${LEDGER_GROWTH_LEASE_S:-90}"
