#!/bin/sh
# bench/rpc.sh: the gRPC wire under load (run by `make bench`).  Starts
# tests/system/rpc_testcore (the real server with a stand-in job source)
# on 127.0.0.1 with fresh mTLS certificates, then bench_rpc measures
# heartbeat RPCs/s (sequential and 64 in flight, one connection) and the
# StreamJobs fan-out latency to 100 and 1000 streams (one connection each).
set -eu
B=${COOPMINE_BUILDDIR:?run through make bench}
S=${COOPMINE_SRCDIR:?run through make bench}
T=$(mktemp -d "${TMPDIR:-/tmp}/coopmine-bench-rpc.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

"$S/contrib/gen_certs.sh" --out "$T/certs" bench >/dev/null
# 1000 streams hold 1000 connections on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$B/tests/system/rpc_testcore" --certs "$T/certs" --job-interval-ms 500 \
    --heartbeat-ms 30000 >"$T/core.log" 2>&1 &
pid=$!
i=0
until port=$(sed -n 's/.*(port \([0-9]*\),.*/\1/p' "$T/core.log") && [ -n "$port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$T/core.log"; exit 1; }; sleep 0.1
done
echo "server: rpc_server.c, 2 completion-queue threads, mTLS (EC P-256), loopback, $(nproc) CPUs shared with the client"
"$B/bench/bench_rpc" --target "127.0.0.1:$port" --certs "$T/certs" --seconds 3 \
    --jobs 10 heartbeat fanout 100 fanout 1000
