#!/bin/sh
# install-deps.sh: installs exactly the Debian packages CoopMine's build,
# tests and demo need.  Idempotent; run as root (or through sudo).
#   contrib/install-deps.sh          build + tests + demo
#   contrib/install-deps.sh --build  only what ./configure && make need
set -e
BUILD="build-essential autoconf automake libtool pkg-config
 libgrpc-dev libprotobuf-c-dev protobuf-c-compiler librandomx-dev
 libsqlite3-dev libssl-dev libmicrohttpd-dev libwebsockets-dev
 libjansson-dev libinih-dev libsystemd-dev libcurl4-openssl-dev"
# Tests: the independent gRPC and WebSocket clients, sqlite3 for audits,
# openssl for generated certificates, promtool, a browser for the page test,
# clang for the fuzz harnesses, curl for the REST checks, mandoc for the man
# pages, systemd-analyze for the units, what builds and checks the Debian
# package (dpkg-dev debhelper lintian fakeroot); nginx-light for the
# reverse-proxy example, logrotate for the rotation snippet, python3-yaml to
# parse the compose file.
TEST="openssl sqlite3 curl python3 python3-grpcio python3-grpc-tools
 python3-websockets prometheus chromium clang libclang-rt-14-dev
 mandoc systemd dpkg-dev debhelper lintian fakeroot
 nginx-light logrotate python3-yaml"
PKGS="$BUILD"
[ "${1:-}" = "--build" ] || PKGS="$BUILD $TEST"
# The machine image brings Node.js and npm (for playwright-core); use Debian's
# only where there is none.
[ "${1:-}" = "--build" ] || command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
else
	echo "install-deps: installing:$missing"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# The dashboard's browser test drives Debian's chromium with playwright-core,
# pinned by tests/browser/package-lock.json (it downloads no browser).
browser="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [ "${1:-}" != "--build" ] && [ ! -d "$browser/node_modules/playwright-core" ]; then
	echo "install-deps: npm ci in tests/browser"
	npm ci --prefix "$browser" --no-audit --no-fund
fi
