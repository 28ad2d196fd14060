#!/bin/sh
# bench/verify.sh: shares/s through the coordinator's verification pool vs
# a bare librandomx loop, threads = CPUs, in light mode and, when memory
# allows (a dataset for the pool and one for the bare loop: 2 x 2080 MiB
# plus room), in full mode (COOPMINE_BENCH_FULL=0 skips it).
set -eu
B=${COOPMINE_BUILDDIR:?run through make bench}
n=$(nproc)
"$B/bench/bench-verify" light "$n" "${VERIFY_BENCH_LIGHT:-200}" 2
avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
if [ "${COOPMINE_BENCH_FULL:-1}" != 1 ]; then
	echo "verify full: skipped (COOPMINE_BENCH_FULL=0)"
elif [ "$avail" -lt 5120 ]; then
	echo "verify full: skipped: ${avail} MiB available, two datasets need ~4.2 GiB plus room"
else
	"$B/bench/bench-verify" full "$n" "${VERIFY_BENCH_FULL:-4000}" 2
fi
