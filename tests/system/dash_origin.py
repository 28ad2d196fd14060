# dash_origin.py: the dashboard answers only the Host names it is reached
# by, and the live feed takes browsers only from the dashboard's origins
# (issue 12: DNS rebinding, cross-site WebSocket).  Defaults: the listen
# address, localhost, 127.0.0.1 and [::1] with the port; [dashboard]
# allowed_hosts / allowed_origins replace them.  Non-browser clients (no
# Origin, no Host) still get in.
import os
import shutil
import subprocess

from dashlib import BUILD, SRC, Fixture, Tap, host_request, ws_handshake

TOKEN = "origin-test-token"
t = Tap()


def get(fx, path, host, **kw):
    return host_request(fx.http, path, host, **kw)


def finish(fx):
    rc = fx.stop()
    if rc == 0:
        shutil.rmtree(fx.dir, ignore_errors=True)
    return rc


# ---- the defaults
fx = Fixture("--token", TOKEN)
try:
    hp = fx.http
    good = ["127.0.0.1:%d" % hp, "localhost:%d" % hp, "[::1]:%d" % hp]
    t.ok(all(get(fx, "/api/stats", h)[0] == 200 for h in good),
         "Host 127.0.0.1, localhost and [::1] with the port are answered")
    st, j = get(fx, "/api/stats", "evil.example:%d" % hp)
    t.ok(st == 421 and j and "allowed_hosts" in j.get("error", ""),
         "a foreign Host (DNS rebinding) gets 421 with a JSON error", (st, j))
    t.ok(get(fx, "/", "evil.example:%d" % hp)[0] == 421 and
         get(fx, "/health", "evil.example")[0] == 421 and
         get(fx, "/metrics", "attacker.test:%d" % hp)[0] == 421,
         "the page, /health and /metrics refuse it too")
    t.ok(get(fx, "/api/stats", "127.0.0.1:%d" % (hp + 1))[0] == 421 and
         get(fx, "/api/stats", "127.0.0.1")[0] == 421,
         "the right address with another port is refused")
    st, _ = get(fx, "/api/workers/rig-alpha/pause", "evil.example:%d" % hp,
                method="POST", headers={"Authorization": "Bearer " + TOKEN})
    t.ok(st == 421, "a command with the right token but a foreign Host is "
         "refused", st)
    t.ok(get(fx, "/api/stats", None)[0] == 200,
         "a request without Host (HTTP/1.0 tool) is answered")
    t.ok("refused GET /api/stats for Host \"evil.example:%d\"" % hp
         in fx.logtext(), "the refusal is logged with the Host")

    ws = fx.ws
    t.ok(ws_handshake(ws) == 101, "the live feed takes a client without "
         "Origin (not a browser)")
    t.ok(ws_handshake(ws, "http://127.0.0.1:%d" % hp) == 101 and
         ws_handshake(ws, "http://localhost:%d" % hp) == 101,
         "and a browser on the dashboard's own origin")
    codes = [ws_handshake(ws, o) for o in (
        "http://evil.example", "http://evil.example:%d" % hp,
        "http://127.0.0.1:%d" % (hp + 1), "null", "file://")]
    t.ok(all(c == 403 for c in codes), "foreign origins get 403, no "
         "upgrade", codes)
    t.ok("refusing a client from Origin \"http://evil.example\"" in
         fx.logtext(), "the refused Origin is logged")
finally:
    t.ok(finish(fx) == 0, "the fixture stops cleanly")

# ---- configured lists replace the defaults
fx = Fixture("--allowed-hosts", "dash.example.com,127.0.0.1:1",
             "--allowed-origins", "https://dash.example.com")
try:
    hp = fx.http
    t.ok(get(fx, "/api/stats", "dash.example.com")[0] == 200 and
         get(fx, "/api/stats", "DASH.example.com:8443")[0] == 200,
         "allowed_hosts: a listed name is answered on any port")
    t.ok(get(fx, "/api/stats", "127.0.0.1:%d" % hp)[0] == 421,
         "allowed_hosts replaces the defaults (127.0.0.1 was not listed "
         "with this port)")
    t.ok(ws_handshake(fx.ws, "https://dash.example.com") == 101,
         "allowed_origins: the listed origin opens the feed")
    t.ok(ws_handshake(fx.ws, "http://127.0.0.1:%d" % hp) == 403 and
         ws_handshake(fx.ws, "http://dash.example.com") == 403,
         "and only that origin (scheme and port count)")
finally:
    finish(fx)

# ---- a malformed entry stops the start with the key's name
p = subprocess.run([os.path.join(BUILD, "tests/system/dash_fixture"),
                    "--static", os.path.join(SRC, "www"),
                    "--allowed-hosts", "dash.example.com/x"],
                   capture_output=True, text=True, timeout=20)
t.ok(p.returncode != 0 and "[dashboard] allowed_hosts: \"dash.example.com/x\""
     in p.stderr, "a malformed allowed_hosts entry is refused at start",
     p.stderr)
p = subprocess.run([os.path.join(BUILD, "tests/system/dash_fixture"),
                    "--static", os.path.join(SRC, "www"),
                    "--allowed-origins", "dash.example.com"],
                   capture_output=True, text=True, timeout=20)
t.ok(p.returncode != 0 and "[dashboard] allowed_origins" in p.stderr,
     "so is an origin without its scheme", p.stderr)

t.done()
