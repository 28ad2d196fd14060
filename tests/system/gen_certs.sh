# gen_certs.sh: contrib/gen_certs.sh makes a CA, a coordinator certificate
# with the requested SANs and per-worker client certificates (CN = id),
# keys 0600, and reruns reuse the CA to add workers without reissuing.
. "$COOPMINE_SRCDIR/tests/system/lib.sh"
G=$S/contrib/gen_certs.sh
D=$T/certs

check "first run creates CA, server and two workers" -- \
	"$G" --out "$D" --server-name coord.example --server-ip 10.1.2.3 --days 30 w1 w2
for f in ca.crt ca.key server.crt server.key w1.crt w1.key w2.crt w2.key; do
	[ -f "$D/$f" ]; ok $? "$f exists"
done
for k in ca server w1 w2; do
	[ "$(stat -c %a "$D/$k.key")" = 600 ]; ok $? "$k.key is mode 0600"
done
openssl x509 -in "$D/server.crt" -noout -ext subjectAltName >"$T/san" 2>&1
grep -q "DNS:localhost" "$T/san" && grep -q "DNS:coord.example" "$T/san" &&
	grep -q "IP Address:127.0.0.1" "$T/san" && grep -q "IP Address:10.1.2.3" "$T/san"
ok $? "server SANs: localhost, the given name, 127.0.0.1, the given IP"
openssl x509 -in "$D/server.crt" -noout -ext extendedKeyUsage | grep -q "Server Authentication"
ok $? "server certificate is for server authentication"
openssl x509 -in "$D/w1.crt" -noout -subject | grep -q "CN *= *w1"
ok $? "worker certificate CN is the worker id"
openssl x509 -in "$D/w1.crt" -noout -ext extendedKeyUsage | grep -q "Client Authentication"
ok $? "worker certificate is for client authentication"
openssl x509 -in "$D/w1.crt" -noout -text | grep -q "prime256v1\|P-256"
ok $? "keys are EC P-256"
check "worker certificates verify against the CA" -- \
	openssl verify -CAfile "$D/ca.crt" "$D/w1.crt" "$D/w2.crt" "$D/server.crt"
end=$(openssl x509 -in "$D/w1.crt" -noout -enddate | cut -d= -f2)
[ $(( ($(date -d "$end" +%s) - $(date +%s)) / 86400 )) -le 30 ]
ok $? "--days sets the validity"

cp "$D/ca.crt" "$T/ca.before"; cp "$D/w1.crt" "$T/w1.before"; cp "$D/server.crt" "$T/server.before"
check "second run adds w3" -- "$G" --out "$D" --server-name coord.example --server-ip 10.1.2.3 w1 w3
cmp -s "$D/ca.crt" "$T/ca.before"; ok $? "the CA is reused"
cmp -s "$D/w1.crt" "$T/w1.before"; ok $? "an existing worker certificate is kept"
cmp -s "$D/server.crt" "$T/server.before"; ok $? "the server certificate is kept when its names still match"
check "the new worker is signed by the same CA" -- openssl verify -CAfile "$D/ca.crt" "$D/w3.crt"
check "a new server name reissues the server certificate" -- \
	"$G" --out "$D" --server-name other.example
openssl x509 -in "$D/server.crt" -noout -ext subjectAltName | grep -q "DNS:other.example"
ok $? "reissued with the new name"

"$G" --out "$D" ../evil >"$T/evil.out" 2>&1
[ $? -ne 0 ] && grep -q "worker id" "$T/evil.out"; ok $? "a worker id with a path is refused"
"$G" --out "$D" server >"$T/srv.out" 2>&1
[ $? -ne 0 ]; ok $? "the reserved id 'server' is refused"
"$G" w1 >"$T/noout.out" 2>&1
[ $? -eq 2 ] && grep -q usage "$T/noout.out"; ok $? "--out is required"
done_testing
