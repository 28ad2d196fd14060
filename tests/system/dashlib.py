# dashlib.py: shared by the dashboard system tests (dash_*.py): starts
# tests/system/dash_fixture (the real http.c + live.c over a test double of
# the coordinator) on free 127.0.0.1 ports, prints TAP, cleans up.
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ["COOPMINE_BUILDDIR"]
SRC = os.environ["COOPMINE_SRCDIR"]
_dirs = []	# the fixtures' directories: removed when the test passed


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, detail=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond and detail is not None:
            for line in str(detail).splitlines()[:20]:
                print("#   " + line)
        sys.stdout.flush()
        return cond

    def done(self):
        print("1..%d" % self.n)
        for d in _dirs:
            if self.failed or os.environ.get("KEEP_TMP"):
                print("# kept %s" % d)
            else:
                shutil.rmtree(d, ignore_errors=True)
        sys.exit(1 if self.failed else 0)


class Fixture:
    """The fixture process; args are extra dash_fixture flags."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="coopmine-dash.")
        _dirs.append(self.dir)
        self.log = open(os.path.join(self.dir, "fixture.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "tests/system/dash_fixture"),
             "--static", os.path.join(SRC, "www")] + list(args),
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        # bounded: a fixture that never prints its ports fails here
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        try:
            kv = dict(p.split("=") for p in line.split())
            self.http = int(kv["HTTP_PORT"])
            self.ws = int(kv["WS_PORT"])
        except (ValueError, KeyError):
            self.stop()
            raise RuntimeError("dash_fixture did not start: %r, see %s" %
                               (line, self.dir))
        self.base = "http://127.0.0.1:%d" % self.http

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM, and the exit status (0 = clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def logtext(self):
        with open(os.path.join(self.dir, "fixture.log")) as f:
            return f.read()

    def request(self, path, method="GET", headers=None, data=None):
        """(status, headers, body bytes); never raises on HTTP errors."""
        req = urllib.request.Request(self.base + path, method=method,
                                     headers=headers or {}, data=data)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path, **kw):
        st, hd, body = self.request(path, **kw)
        try:
            return st, json.loads(body)
        except ValueError:
            return st, None


def host_request(port, path, host, method="GET", headers=None):
    """(status, parsed JSON or None) of a request to 127.0.0.1:port with
    the Host header given (None: no Host at all, as HTTP/1.0 tools do)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    if host is None:
        c._http_vsn, c._http_vsn_str = 10, "HTTP/1.0"
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    if host is not None:
        c.putheader("Host", host)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    try:
        return r.status, json.loads(body)
    except ValueError:
        return r.status, None


def socket_inodes(pid):
    """The inodes of the sockets process pid holds."""
    out = set()
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            link = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def listeners(port, pid):
    """The local addresses process pid listens on at TCP port, read from
    /proc/net/tcp and tcp6 (as `ss -ltnp` shows them): e.g. ["127.0.0.1"],
    ["::"].  Other processes (other tests) may use the same port number on
    other addresses: only pid's own sockets count."""
    out = []
    mine = socket_inodes(pid)
    for path, fam in (("/proc/net/tcp", socket.AF_INET),
                      ("/proc/net/tcp6", socket.AF_INET6)):
        if not os.path.exists(path):
            continue
        with open(path) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                addr, p = local.split(":")
                if state != "0A" or int(p, 16) != port or inode not in mine:
                    continue
                raw = bytes.fromhex(addr)
                # the kernel prints 32-bit words in host (little-endian) order
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                out.append(socket.inet_ntop(fam, raw))
    return sorted(out)


def ws_handshake(port, origin=None, addr="127.0.0.1"):
    """A WebSocket upgrade of /ws by hand: the HTTP status of the answer
    (101 = accepted), or None when the server closed without one."""
    s = socket.create_connection((addr, port), timeout=5)
    host = "[%s]" % addr if ":" in addr else addr
    req = ("GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n" % (host, port))
    if origin is not None:
        req += "Origin: %s\r\n" % origin
    head = b""
    try:
        s.sendall((req + "\r\n").encode())
        while b"\r\n" not in head:
            d = s.recv(4096)
            if not d:
                break
            head += d
    except OSError:
        pass
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return int(m.group(1)) if m else None


def free_port(addr="127.0.0.1"):
    """A port nothing listens on at addr just now."""
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def refused(addr, port):
    """True when a TCP connect to addr:port is refused (nothing listens)."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((addr, port))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()
