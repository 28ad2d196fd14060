# dash_bind.py: the live feed listens exactly where [dashboard] ws_listen
# says (issue 12): 127.0.0.1 is 127.0.0.1 alone (not *: as libwebsockets
# made it), so another local address such as 127.0.0.2 is refused; [::1]
# is ::1 alone; a name is resolved to one address; an address that is not
# ours fails the start instead of falling back.  (Wildcards are left out:
# tests listen on loopback only.)
import os
import shutil
import subprocess

from dashlib import (BUILD, SRC, Fixture, Tap, free_port, listeners, refused,
                     ws_handshake)

t = Tap()
FIXTURE = os.path.join(BUILD, "tests/system/dash_fixture")


def start(ws_listen):
    fx = Fixture("--ws-listen", ws_listen)
    return fx


def finish(fx):
    rc = fx.stop()
    if rc == 0:
        shutil.rmtree(fx.dir, ignore_errors=True)
    return rc


def has_ipv6_loopback():
    try:
        with open("/proc/net/if_inet6") as f:
            return any(line.split()[0] == "0" * 31 + "1" for line in f)
    except OSError:
        return False


# -- IPv4 loopback: that address only
fx = start("127.0.0.1:0")
try:
    got = listeners(fx.ws, fx.proc.pid)
    t.ok(got == ["127.0.0.1"], "ws_listen 127.0.0.1: the socket is bound to "
         "127.0.0.1 only (no *: or [::])", got)
    t.ok(ws_handshake(fx.ws) == 101, "the feed answers on 127.0.0.1")
    t.ok(refused("127.0.0.2", fx.ws),
         "another local address (127.0.0.2) is refused")
    got = listeners(fx.http, fx.proc.pid)
    t.ok(got == ["127.0.0.1"],
         "the dashboard's own port is bound to 127.0.0.1 only", got)
finally:
    t.ok(finish(fx) == 0, "the fixture stops cleanly")

# -- another loopback address is exact too (bound 127.0.0.2, 127.0.0.1
# refused): a port free on 127.0.0.1, so that no other test answers there
fx = start("127.0.0.2:%d" % free_port("127.0.0.1"))
try:
    got = listeners(fx.ws, fx.proc.pid)
    t.ok(got == ["127.0.0.2"] and refused("127.0.0.1", fx.ws),
         "ws_listen 127.0.0.2: bound there, 127.0.0.1 is refused", got)
    t.ok(ws_handshake(fx.ws, addr="127.0.0.2") == 101,
         "the feed answers on 127.0.0.2")
finally:
    finish(fx)

# -- IPv6 loopback
if has_ipv6_loopback():
    fx = start("[::1]:0")
    try:
        got = listeners(fx.ws, fx.proc.pid)
        t.ok(got == ["::1"], "ws_listen [::1]: bound to ::1 only", got)
        t.ok(ws_handshake(fx.ws, addr="::1") == 101, "the feed answers on ::1")
    finally:
        finish(fx)
else:
    print("ok %d - # SKIP no IPv6 loopback (::1) on this host" % (t.n + 1))
    t.n += 1

# -- a name: resolved once, bound to that one loopback address
fx = start("localhost:0")
try:
    got = listeners(fx.ws, fx.proc.pid)
    t.ok(len(got) == 1 and got[0] in ("127.0.0.1", "::1"),
         "ws_listen localhost: one loopback address, no wildcard", got)
    t.ok("localhost resolved to" in fx.logtext(),
         "the start-up log names the address the name resolved to")
finally:
    finish(fx)

# -- an address this host does not have (TEST-NET-1): refused, no fallback
try:
    p = subprocess.run([FIXTURE, "--static", os.path.join(SRC, "www"),
                        "--ws-listen", "192.0.2.1:0"], capture_output=True,
                       text=True, timeout=20)
    rc, out, err = p.returncode, p.stdout, p.stderr
except subprocess.TimeoutExpired as e:   # it ran on without its listener
    rc, out, err = None, str(e.stdout), str(e.stderr)
t.ok(rc not in (0, None) and "HTTP_PORT" not in out,
     "ws_listen on an address that is not ours fails the start", out + err)
t.ok("live: cannot listen on 192.0.2.1:0" in err,
     "and says which address it could not take", err)

t.done()
