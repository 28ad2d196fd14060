#!/bin/sh
# gen_certs.sh: the cluster's certificates for mutual TLS between the
# coordinator and its workers (EC P-256, openssl CLI).  Used by operators,
# the demo and the tests.  Idempotent: an existing CA is reused, existing
# worker certificates are kept, new worker ids are added.
#
#   contrib/gen_certs.sh --out DIR [--server-name NAME]... [--server-ip IP]...
#                        [--days N] WORKER_ID...
#
# Writes DIR/ca.crt ca.key, DIR/server.crt server.key (SANs: DNS localhost
# and each NAME, IP 127.0.0.1 and each IP) and DIR/<worker_id>.crt .key
# (CN = worker id, extendedKeyUsage clientAuth).  Keys are mode 0600.
set -eu

# Installed as coopmine-certs; run from the tree as contrib/gen_certs.sh.
prog=${0##*/}
usage() {
	echo "usage: $prog --out DIR [--server-name NAME]... [--server-ip IP]... [--days N] WORKER_ID..."
	echo "  --out DIR           where the certificates and keys go"
	echo "  --server-name NAME  a DNS name of the coordinator (repeatable; localhost always)"
	echo "  --server-ip IP      an IP address of the coordinator (repeatable; 127.0.0.1 always)"
	echo "  --days N            validity in days (default 825)"
	echo "  --help              print this and exit"
}
die() { echo "$prog: $*" >&2; exit 1; }
bad() { usage >&2; exit 2; }

out=""
days=825
names="localhost"
ips="127.0.0.1"
workers=""
while [ $# -gt 0 ]; do
	case "$1" in
	--out) [ $# -ge 2 ] || bad; out=$2; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--server-name) [ $# -ge 2 ] || bad; names="$names $2"; shift 2 ;;
	--server-name=*) names="$names ${1#--server-name=}"; shift ;;
	--server-ip) [ $# -ge 2 ] || bad; ips="$ips $2"; shift 2 ;;
	--server-ip=*) ips="$ips ${1#--server-ip=}"; shift ;;
	--days) [ $# -ge 2 ] || bad; days=$2; shift 2 ;;
	--days=*) days=${1#--days=}; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; workers="$workers $*"; break ;;
	-*) echo "$prog: unknown option $1" >&2; bad ;;
	*) workers="$workers $1"; shift ;;
	esac
done
[ -n "$out" ] || bad
case "$days" in ''|*[!0-9]*) die "--days wants a whole number of days, not '$days'" ;; esac
[ "$days" -ge 1 ] || die "--days must be at least 1"
command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"

# Names end up in file names and certificate subjects: keep them plain.
for w in $workers; do
	case "$w" in
	server|ca) die "worker id '$w' is reserved (it would overwrite the $w files)" ;;
	*[!A-Za-z0-9._-]*|.*) die "worker id '$w': use letters, digits, '.', '_' and '-' (not leading '.')" ;;
	esac
	[ ${#w} -le 64 ] || die "worker id '$w' is longer than 64 characters"
done
for n in $names; do
	case "$n" in *[!A-Za-z0-9.*-]*) die "server name '$n' is not a DNS name" ;; esac
done
for i in $ips; do
	case "$i" in *[!0-9A-Fa-f.:]*) die "server ip '$i' is not an IP address" ;; esac
done

mkdir -p "$out"
umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gen_certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

newkey() {	# newkey FILE: a fresh P-256 key, mode 0600
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$tmp/key.pem" 2>/dev/null || die "cannot generate a key"
	chmod 600 "$tmp/key.pem"
	mv "$tmp/key.pem" "$1"
}
serial() { echo "0x$(openssl rand -hex 16)"; }

# sign CN KEY CERT EXTFILE: a certificate for KEY signed by the CA.
sign() {
	openssl req -new -key "$2" -subj "/CN=$1" -out "$tmp/req.csr" 2>/dev/null ||
		die "cannot make a request for $1"
	openssl x509 -req -in "$tmp/req.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
	    -set_serial "$(serial)" -days "$days" -sha256 -extfile "$4" \
	    -out "$tmp/cert.pem" 2>/dev/null || die "cannot sign the certificate of $1"
	chmod 644 "$tmp/cert.pem"
	mv "$tmp/cert.pem" "$3"
}

# The CA: reused when both halves exist, so new workers join the same cluster.
if [ -f "$out/ca.crt" ] && [ -f "$out/ca.key" ]; then
	echo "$prog: reusing CA $out/ca.crt"
elif [ -f "$out/ca.crt" ] || [ -f "$out/ca.key" ]; then
	die "$out has only half of the CA (ca.crt/ca.key); remove it or restore the other half"
else
	newkey "$out/ca.key"
	openssl req -x509 -new -key "$out/ca.key" -subj "/CN=CoopMine cluster CA" \
	    -days "$days" -sha256 -set_serial "$(serial)" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -out "$tmp/ca.pem" 2>/dev/null || die "cannot create the CA"
	chmod 644 "$tmp/ca.pem"
	mv "$tmp/ca.pem" "$out/ca.crt"
	echo "$prog: created CA $out/ca.crt"
fi
chmod 600 "$out/ca.key"

# The coordinator's certificate: reissued when missing, not from this CA, or
# lacking one of the requested names.
san=""
for n in $names; do san="${san:+$san,}DNS:$n"; done
for i in $ips; do san="${san:+$san,}IP:$i"; done
need_server=0
if [ ! -f "$out/server.crt" ] || [ ! -f "$out/server.key" ]; then
	need_server=1
elif ! openssl verify -CAfile "$out/ca.crt" "$out/server.crt" >/dev/null 2>&1; then
	need_server=1
else
	have=$(openssl x509 -in "$out/server.crt" -noout -ext subjectAltName 2>/dev/null | tr -d ' ' | tr ',' '\n')
	for n in $names; do echo "$have" | grep -qx "DNS:$n" || need_server=1; done
	for i in $ips; do echo "$have" | grep -qix "IPAddress:$i" || need_server=1; done
fi
if [ $need_server -eq 1 ]; then
	cat >"$tmp/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
	[ -f "$out/server.key" ] || newkey "$out/server.key"
	sign "coopmine-coordinator" "$out/server.key" "$out/server.crt" "$tmp/server.ext"
	echo "$prog: issued $out/server.crt ($san)"
fi
chmod 600 "$out/server.key"

cat >"$tmp/client.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EOF
for w in $workers; do
	if [ -f "$out/$w.crt" ] && [ -f "$out/$w.key" ] &&
	    openssl verify -CAfile "$out/ca.crt" "$out/$w.crt" >/dev/null 2>&1; then
		echo "$prog: keeping $out/$w.crt"
	else
		[ -f "$out/$w.key" ] || newkey "$out/$w.key"
		sign "$w" "$out/$w.key" "$out/$w.crt" "$tmp/client.ext"
		echo "$prog: issued $out/$w.crt (CN=$w)"
	fi
	chmod 600 "$out/$w.key"
done
