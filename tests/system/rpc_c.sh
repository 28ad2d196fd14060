# rpc_c.sh: the C core client (tests/system/rpc_cclient, the API the worker
# uses) against coopmine-coordinator and against rpc_testcore (source and
# sink plugged in), both on 127.0.0.1 with certificates from gen_certs.sh.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
"$S/contrib/gen_certs.sh" --out "$T/certs" w1 w2 >/dev/null
export ASAN_OPTIONS="detect_leaks=1:exitcode=23"
export LSAN_OPTIONS="suppressions=$S/tests/lsan.supp:print_suppressions=0"

# relay OUTPUT-FILE PREFIX: re-emits the client's TAP lines as ours.
relay() {
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok 0 "$2: ${line#* - }" ;;
		"not ok "*) ok 1 "$2: ${line#* - }" ;;
		esac
	done <"$1"
}

# run NAME COMMAND...: start a server, run the client against it, stop it.
run() {
	name=$1; shift
	start "$name" "$@"
	wait_for "$T/$name.log" "port [0-9]" 30; ok $? "$name starts"
	port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$T/$name.log" | head -1)
	extra=""
	[ "$name" = testcore ] && extra=--core
	"$B/tests/system/rpc_cclient" --target "127.0.0.1:$port" --certs "$T/certs" \
	    $extra >"$T/$name-client.out" 2>&1
	ok $? "$name: the C client ran clean"
	relay "$T/$name-client.out" "$name"
	eval "pid=\$PID_$name"
	stop_pid "$pid" 30; ok $? "$name: clean exit on SIGTERM"
}

# The coordinator mines for a test pool of its own.
pool_port=$(free_port)
start pool "$B/src/testpool/coopmine-testpool" --listen "127.0.0.1:$pool_port" \
    --job-interval 60s
wait_for "$T/pool.log" "listening on" 10
run coordinator "$B/src/coordinator/coopmine-coordinator" --grpc-listen 127.0.0.1:0 \
    --tls-ca "$T/certs/ca.crt" --tls-cert "$T/certs/server.crt" \
    --tls-key "$T/certs/server.key" --pool-address "stratum+tcp://127.0.0.1:$pool_port" \
    --pool-wallet rpc-c --ledger-path "$T/ledger.db" --dashboard-listen ""
run testcore "$B/tests/system/rpc_testcore" --certs "$T/certs"
done_testing
