# coord_guards.py: the start-up guards of coopmine-coordinator (issue 12):
#  - [ledger] synchronous below FULL is said at start and in /health
#    (shares_durable, status "degraded"); a ledger whose journal_mode does
#    not read back as wal (":memory:") is refused;
#  - --insecure on a non-loopback gRPC address is refused unless
#    --insecure-public (or COOPMINE_INSECURE_PUBLIC) says so again;
#  - the real binary's live feed is bound to 127.0.0.1 alone, and its
#    dashboard keys (allowed_hosts / allowed_origins, flags and env) work.
import os
import re
import subprocess

import rpc_lib as L
from dashlib import host_request, listeners, refused, ws_handshake

COORD = os.path.join(L.B, "src", "coordinator", "coopmine-coordinator")
pool, POOL = L.start_testpool("--job-interval", "60s")
PUBLIC_MSG = "also set [grpc] insecure_public = true"


def args(name, grpc="127.0.0.1:0", ledger=None):
    return [COORD, "--pool-address", POOL, "--pool-wallet", "guards",
            "--verify", "none", "--insecure", "--grpc-listen", grpc,
            "--dashboard-listen", "127.0.0.1:0",
            "--dashboard-ws-listen", "127.0.0.1:0",
            "--ledger-path", ledger or os.path.join(L.T, name + ".db")]


def ports(p):
    """(dashboard port, live feed port) from the start-up log."""
    m = p.wait_log(r"dashboard on 127\.0\.0\.1:0 \(port (\d+)\)", 30)
    w = p.wait_log(r"live feed port (\d+)", 30)
    if not m or not w:
        L.diag(p.text())
        raise RuntimeError("%s did not report its dashboard ports" % p.name)
    return int(m.group(1)), int(w.group(1))


def health(port, host):
    return host_request(port, "/health", host)


def run_refused(argv, env=None):
    """A start that must fail: (exit status, output)."""
    e = dict(os.environ)
    e.update(L.SAN_ENV)
    e.update(env or {})
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       env=e, cwd=L.T)
    return p.returncode, p.stdout + p.stderr


# ---- synchronous = full (the default): durable, and bound exactly
full = L.Proc("full", args("full"))
hp, wp = ports(full)
L.ok(L.wait_until(lambda: health(hp, "127.0.0.1:%d" % hp)[1].get(
    "pool_connected"), 30), "the coordinator connects to its pool")
st, h = health(hp, "127.0.0.1:%d" % hp)
L.ok(st == 200 and h.get("status") == "healthy" and
     h.get("shares_durable") is True and h.get("ledger_synchronous") == "full",
     "synchronous full: /health is healthy and says shares are durable")
L.ok("NOT durable" not in full.text(), "and nothing is said at start")
L.ok(listeners(wp, full.p.pid) == ["127.0.0.1"] and refused("127.0.0.2", wp),
     "the coordinator's live feed is bound to 127.0.0.1 only (127.0.0.2 "
     "refused)")
L.ok(health(hp, "evil.example:%d" % hp)[0] == 421,
     "its dashboard refuses a foreign Host by default")
L.ok(ws_handshake(wp, "http://127.0.0.1:%d" % hp) == 101 and
     ws_handshake(wp, "http://evil.example") == 403,
     "its live feed takes the dashboard's origin, refuses another")
L.ok(full.stop() == 0, "clean exit")

# ---- synchronous = normal: warned, and /health says so; keys by env/flag
env = {"COOPMINE_DASHBOARD_ALLOWED_HOSTS": "dash.example.com"}
normal = L.Proc("normal", args("normal", grpc="[::1]:0") +
                ["--ledger-synchronous", "normal",
                 "--dashboard-allowed-origins", "https://dash.example.com"],
                env=env)
hp, wp = ports(normal)
L.ok(re.search(r"warn: ledger \S+: synchronous = normal: shares acknowledged "
               r"to workers are NOT durable", normal.text()),
     "synchronous normal: a warning at start")
L.ok(L.wait_until(lambda: health(hp, "dash.example.com")[1].get(
    "pool_connected"), 30), "the coordinator connects to its pool")
st, h = health(hp, "dash.example.com")
L.ok(st == 200 and h.get("shares_durable") is False and
     h.get("ledger_synchronous") == "normal" and
     h.get("status") == "degraded" and "can be lost" in h.get("warning", ""),
     "/health: shares_durable false, status degraded, a warning (%s)" % h)
L.ok(health(hp, "127.0.0.1:%d" % hp)[0] == 421,
     "COOPMINE_DASHBOARD_ALLOWED_HOSTS replaces the default names")
L.ok(ws_handshake(wp, "https://dash.example.com") == 101 and
     ws_handshake(wp, "http://127.0.0.1:%d" % hp) == 403,
     "--dashboard-allowed-origins decides who opens the live feed")
L.ok("grpc: INSECURE" in normal.text(),
     "--insecure on [::1] starts (loopback), with its warning")
L.ok(normal.stop() == 0, "clean exit")

# ---- a ledger that does not get WAL is refused
rc, out = run_refused(args("mem", ledger=":memory:"))
L.ok(rc not in (0, None) and 'journal_mode is "memory"' in out and
     "refusing to start" in out,
     "ledger :memory: (journal_mode memory) is refused with its reason")
if rc == 0 or "refusing" not in out:
    L.diag(out)

# ---- --insecure on a public address needs --insecure-public too
for listen in (":0", "0.0.0.0:0", "192.0.2.1:0"):
    rc, out = run_refused(args("pub", grpc=listen))
    L.ok(rc == 2 and PUBLIC_MSG in out and "not a loopback address" in out,
         "--insecure --grpc-listen %s is refused, naming insecure_public"
         % listen)
# 192.0.2.1 (TEST-NET-1) is not ours: past the guard, the bind itself fails,
# so nothing ever listens beyond loopback in this test.
rc, out = run_refused(args("pub2", grpc="192.0.2.1:0") + ["--insecure-public"])
L.ok(rc not in (0, 2) and PUBLIC_MSG not in out and
     "cannot start the gRPC server on 192.0.2.1:0" in out,
     "with --insecure-public the guard lets it through (the bind then fails)")
rc, out = run_refused(args("pub3", grpc="192.0.2.1:0"),
                      env={"COOPMINE_INSECURE_PUBLIC": "true"})
L.ok(rc not in (0, 2) and PUBLIC_MSG not in out,
     "COOPMINE_INSECURE_PUBLIC=true does the same")
help_text = subprocess.run([COORD, "--help"], capture_output=True, text=True,
                           timeout=10).stdout
L.ok(all(k in help_text for k in ("--insecure-public",
                                  "--dashboard-allowed-hosts",
                                  "--dashboard-allowed-origins")),
     "--help lists the new keys")

pool.stop()
L.done()
