#!/bin/sh
# worker_cli.sh: coopmine-worker as a user meets it: --bench in light mode
# prints H/s and a verified checksum; an unknown N is refused; every bad
# configuration value (flag, environment, INI file) is refused at start
# with a message that names the key; --help lists the flags.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
W="$B/src/worker/coopmine-worker"

# refused EXPECTED-TEXT DESCRIPTION ARGS...: exit 2, message names the key.
refused() {
	want=$1 desc=$2; shift 2
	"$@" >"$T/out" 2>&1; rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$want" "$T/out"; then ok 0 "$desc"
	else ok 1 "$desc (rc $rc: $(head -c 300 "$T/out"))"; fi
}

"$W" --bench 100 --threads 2 --light >"$T/bench" 2>&1
rc=$?
ok $rc "--bench 100 --light exits 0"
grep -q '^bench: 100 hashes, 2 threads, .* H/s$' "$T/bench"; ok $? "bench prints H/s"
grep -q '^bench: checksum [0-9a-f]\{64\} OK$' "$T/bench"; ok $? "bench checksum matches the known value"
grep -q 'huge pages: .*([0-9]*/128)' "$T/bench"; ok $? "bench reports the huge pages of the cache"

refused "--bench: no known checksum for N=7" "--bench with an unknown N" "$W" --bench 7 --light
refused "[mining] threads (--threads): 'many' is not a whole number" \
    "--threads many" "$W" --bench 100 --threads many
refused "[mining] threads (--threads): 5000 is outside" "--threads 5000" \
    "$W" --bench 100 --threads 5000
refused "environment COOPMINE_THREADS: [mining] threads" "COOPMINE_THREADS=x" \
    env COOPMINE_THREADS=x "$W" --bench 100
refused "[mining] huge_pages (--huge-pages): 'maybe'" "--huge-pages maybe" \
    "$W" --bench 100 --huge-pages maybe
refused "[mining] mode (--mode): 'fast'" "--mode fast" "$W" --bench 100 --mode fast
printf '[mining]\nthreads = 2\nhugepages = yes\n' >"$T/bad.ini"
refused "line 3: unknown key 'hugepages' in section [mining]" \
    "unknown key in the INI file" "$W" --config "$T/bad.ini" --bench 100
printf '[mining]\nhuge_pages = sometimes\n' >"$T/bad2.ini"
refused "[mining] huge_pages (--huge-pages): 'sometimes'" \
    "bad huge_pages in the INI file" "$W" --config "$T/bad2.ini" --bench 100
refused "[coordinator] address (--coordinator" "mining needs a coordinator" "$W"
refused "[worker] id (--worker-id" "mining needs a worker id" \
    "$W" --coordinator 127.0.0.1:1
refused "[coordinator] tls_ca (--tls-ca)" "TLS needs the CA unless --insecure" \
    "$W" --coordinator 127.0.0.1:1 --worker-id w1
"$W" --help >"$T/help" 2>&1
grep -q -- '--bench' "$T/help" && grep -q -- '--coordinator' "$T/help" &&
    grep -q 'COOPMINE_THREADS' "$T/help"
ok $? "--help lists the flags and variables"
done_testing
