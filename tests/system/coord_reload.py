#!/usr/bin/env python3
# coord_reload.py: SIGHUP reloads the real coordinator's configuration
# (issue 17).  The coordinator reads a config file (only --config on its
# command line, so the file decides); the test rewrites it and sends SIGHUP:
#   - the one log line names what changed and what needs a restart;
#   - [dashboard] token: the new one is accepted for POST pause, the old
#     one refused; allowed_hosts: a new Host name is answered;
#   - [vardiff]: a streaming worker gets work at the new difficulty;
#   - [log] level = debug: debug lines appear;
#   - [pool] backup: with the primary killed, the new backup pool is used;
#   - [ledger] batch_ms (restart-only) is reported and keeps its value;
#   - a file that does not parse, and one whose values do not hold
#     together, are refused with the reason; the old configuration still
#     serves (old token still accepted, coordinator alive).
import asyncio
import os
import signal
import struct
import time

import websockets

from rpc_lib import T, code_of, channel, diag, done, gen_certs, ok, pb, stub
from itest_lib import (JobFeed, dash_port, http_call, testpool, watchdog)
import rpc_lib

watchdog(150)
W = "worker-1"
certs = gen_certs(os.path.join(T, "certs"), W)
POOL = ("--difficulty", "10", "--job-interval", "1s", "--block-interval", "0")
poolA, portA = testpool("poolA", 0, *POOL)
poolB, portB = testpool("poolB", 0, *POOL)
if not ok(poolA is not None and poolB is not None, "two test pools up"):
    done()
CONF = os.path.join(T, "coord.conf")
db = os.path.join(T, "ledger.db")


def write_conf(token, backup=None, diff=10, level="info", hosts=None,
               batch_ms=5, extra="", origins=None, rate=None):
    lines = [
        "[grpc]", "listen = 127.0.0.1:0",
        "tls_cert = %s/server.crt" % certs, "tls_key = %s/server.key" % certs,
        "tls_ca = %s/ca.crt" % certs,
        "[coordinator]", "heartbeat_interval = 2s",
        "[pool]", "address = stratum+tcp://127.0.0.1:%d" % portA,
        "wallet = reload-test", "backoff_min = 100ms", "backoff_max = 300ms",
        "connect_timeout = 1s", "keepalive = 500ms", "response_timeout = 2s",
        "primary_retry = 60s",
    ]
    if backup:
        lines.append("backup = %s" % backup)
    lines += ["[verify]", "mode = light",
              "[vardiff]", "min_difficulty = %d" % diff,
              "max_difficulty = %d" % diff,
              "[ledger]", "path = %s" % db, "batch_ms = %d" % batch_ms,
              "[dashboard]", "listen = 127.0.0.1:0", "ws_listen = 127.0.0.1:0",
              "token = %s" % token]
    if hosts:
        lines.append("allowed_hosts = %s" % hosts)
    if origins:
        lines.append("allowed_origins = %s" % origins)
    if rate:
        lines += ["[workers]", "share_rate = %s" % rate, "share_burst = 1"]
    lines += ["[log]", "level = %s" % level]
    with open(CONF, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)


def host_get(port, host):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/api/stats", headers={"Host": host})
        return c.getresponse().status
    except OSError as e:
        return str(e)
    finally:
        c.close()


def shares(job, first, n):
    """n shares of job from nonce first on, one after the other (each a bad
    hash the verifier finds): how many were told to come back later (the
    [workers] rate limit admits shares to verification)."""
    later = 0
    for i in range(n):
        r, code, _ = code_of(st.SubmitShare, pb.ShareRequest(
            worker_id=W, job_id=job.job_id,
            nonce=struct.pack("<I", job.nonce_start + first + i),
            result=b"\xff" * 32, lease_id=job.lease_id), timeout=10)
        later += r is not None and r.retry_after_ms > 0
    return later


def ws_status(port, origin):
    """The live feed's answer to a browser of origin: 101 or the error."""
    async def go():
        try:
            async with websockets.connect("ws://127.0.0.1:%d/ws" % port,
                                          origin=origin, open_timeout=5):
                return 101
        except Exception as e:
            return getattr(e, "status_code", repr(e))
    return asyncio.new_event_loop().run_until_complete(go())


def reloads(proc):
    return proc.text().count("SIGHUP: configuration ")


def hup(proc, what, timeout=10):
    """SIGHUP, then the reload's own line (reloaded or refused), or None."""
    n = reloads(proc)
    proc.signal(signal.SIGHUP)
    end = time.time() + timeout
    while time.time() < end:
        lines = [l for l in proc.text().splitlines()
                 if "SIGHUP: configuration " in l]
        if len(lines) > n:
            diag("%s: %s" % (what, lines[n]))
            return lines[n]
        time.sleep(0.05)
    return None


OLD, NEW = "old-token-1234", "new-token-5678"
write_conf(OLD)
coord = rpc_lib.Proc("coord", [os.path.join(rpc_lib.B,
                     "src/coordinator/coopmine-coordinator"), "--config", CONF])
m = coord.wait_log(r"gRPC port (\d+)", 30)
dport = dash_port(coord) if m else None
if not ok(m is not None and dport is not None, "coordinator up from its file"):
    diag(coord.text()[-3000:])
    done()
port = int(m.group(1))
lm = coord.wait_log(r"live: feed on \S+ \(port (\d+)", 5)
lport = int(lm.group(1)) if lm else None
ok(coord.wait_log(r"logged in to stratum\+tcp://127\.0\.0\.1:%d" % portA, 15)
   is not None, "on pool A")

st = stub(channel(port, certs, W))
reg = None
end = time.time() + 20
while time.time() < end:
    reg, code, _ = code_of(st.Register, pb.RegisterRequest(
        worker_id=W, worker_name=W, threads=1), timeout=5)
    if reg is not None and reg.HasField("current_job"):
        break
    time.sleep(0.1)
ok(reg is not None and reg.current_job.difficulty == 10,
   "worker registered, difficulty 10 (%r)" % (reg and reg.current_job.difficulty))
feed = JobFeed(st, W)

ok(http_call(dport, "POST", "/api/workers/%s/pause" % W, OLD)[0] == 200,
   "before: the old token pauses")
ok(host_get(dport, "coop.example") == 421, "before: Host coop.example refused")
ok(" debug: " not in coord.text(), "before: no debug lines at level info")
ORIGIN = "https://pool.example"
before = ws_status(lport, ORIGIN) if lport else None
ok(lport is not None and before != 101,
   "before: the live feed refuses Origin %s (%r)"
   % (ORIGIN, before))
job = reg.current_job
ok(shares(job, 0, 3) == 0, "before: three shares at once are all verified "
   "(none told to retry)")

# --- a reload of every live key, and one restart-only key ---------------------
write_conf(NEW, backup="stratum+tcp://127.0.0.1:%d" % portB, diff=40,
           level="debug", hosts="coop.example, 127.0.0.1", batch_ms=9,
           origins=ORIGIN, rate="0.01")
t_hup = time.time()
line = hup(coord, "reload")
ok(line is not None and "configuration reloaded" in line, "SIGHUP: reloaded")
line = line or ""
changed, _, restart = line.partition("needs a restart:")
for key in ("[dashboard] token", "[pool] backup", "[vardiff] min_difficulty",
            "[vardiff] max_difficulty", "[log] level",
            "[dashboard] allowed_hosts", "[dashboard] allowed_origins",
            "[workers] share_rate", "[workers] share_burst"):
    ok(key in changed, "the line names %s as changed" % key)
ok("[ledger] batch_ms" in restart and "[ledger] batch_ms" not in changed,
   "the line names [ledger] batch_ms as needing a restart")
ok(OLD not in coord.text() and NEW not in coord.text(),
   "no token in the log")

c_old = http_call(dport, "POST", "/api/workers/%s/resume" % W, OLD)[0]
c_new = http_call(dport, "POST", "/api/workers/%s/resume" % W, NEW)[0]
ok(c_old == 401 and c_new == 200,
   "after: old token refused (%r), new token accepted (%r)" % (c_old, c_new))
ok(host_get(dport, "coop.example") == 200, "after: Host coop.example answered")
ok(ws_status(lport, ORIGIN) == 101, "after: the live feed takes Origin %s"
   % ORIGIN)
later = shares(job, 3, 3)
ok(later >= 1, "after: share_rate 0.01/s, burst 1: of three shares at once "
   "%d are told to retry later" % later)
t, j = feed.wait(lambda j: j.difficulty == 40, t_hup, 10)
ok(j is not None, "after: the worker gets work at the new difficulty 40 "
   "(%.2f s)" % ((t - t_hup) if t else -1))
ok(coord.wait_log(r"\] debug: upstream: job", 10) is not None,
   "after: debug lines appear")

# --- the new backup pool is used when the primary goes ------------------------
poolA.signal(signal.SIGKILL)
poolA.p.wait(10)
ok(coord.wait_log(r"logged in to stratum\+tcp://127\.0\.0\.1:%d" % portB, 20)
   is not None, "primary killed: the coordinator mines on the new backup B")

# --- refused: a file that does not parse, and values that do not fit ----------
with open(CONF, "a") as f:
    f.write("[vardiff\nmin_difficulty = 1\n")
line = hup(coord, "broken file") or ""
ok("refused" in line and "syntax error" in line and "line" in line,
   "a file that does not parse is refused with its line")
write_conf("third-token", diff=40, extra="[vardiff]\nmin_difficulty = 99\n"
           "max_difficulty = 50\n")
line = hup(coord, "bad values") or ""
ok("refused" in line and "min_difficulty" in line,
   "min_difficulty above max_difficulty is refused with the reason")
write_conf("fourth-token", extra="[nosuch]\nkey = 1\n")
line = hup(coord, "unknown key") or ""
ok("refused" in line and "unknown key" in line, "an unknown key is refused")
c_new = http_call(dport, "POST", "/api/workers/%s/pause" % W, NEW)[0]
c_3 = http_call(dport, "POST", "/api/workers/%s/pause" % W, "third-token")[0]
ok(c_new == 200 and c_3 == 401,
   "the running configuration still serves (its token %r, the refused "
   "one's %r)" % (c_new, c_3))
ok(coord.p.poll() is None, "the coordinator is still running")

# --- a good file again after the refusals ---------------------------------------
write_conf(OLD, backup="stratum+tcp://127.0.0.1:%d" % portB, diff=40,
           level="info", hosts="coop.example, 127.0.0.1", batch_ms=9)
line = hup(coord, "good again") or ""
ok("reloaded" in line and "[dashboard] token" in line and
   "[log] level" in line, "a good file is taken again")
ok(http_call(dport, "POST", "/api/workers/%s/resume" % W, OLD)[0] == 200,
   "and its token works")
# --- a daily logrotate's SIGHUP changes nothing: never a limit on reloads ------
lines = [hup(coord, "unchanged %d" % i) or "" for i in range(70)]
ok(all("reloaded: changed: nothing" in l for l in lines),
   "70 SIGHUPs with nothing changed: each reloaded, nothing changed")
write_conf("fifth-token", backup="stratum+tcp://127.0.0.1:%d" % portB, diff=40,
           level="info", hosts="coop.example, 127.0.0.1", batch_ms=9)
line = hup(coord, "after 70") or ""
ok("reloaded" in line and "[dashboard] token" in line and
   http_call(dport, "POST", "/api/workers/%s/pause" % W, "fifth-token")[0] == 200,
   "and a change after them is still applied (%s)" % line.strip()[-60:])
feed.close()
ok(coord.stop() == 0, "coordinator stops cleanly")
done()
