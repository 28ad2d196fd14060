#!/bin/sh
# bench/income.sh: runs bench-income (one income event split over a window
# of INCOME_BENCH_SHARES shares, default 1 M) on the build directory's
# filesystem, next to a plain SQL sum over the same rows.
set -eu
D=$(mktemp -d "$COOPMINE_BUILDDIR/bench-income.XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM
"$COOPMINE_BUILDDIR/bench/bench-income" "$D" "${INCOME_BENCH_SHARES:-1000000}" \
	"${INCOME_BENCH_WORKERS:-50}"
