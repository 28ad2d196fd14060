#!/usr/bin/env python3
# coord_logs.py: the coordinator's log as an operator handles it (issue 17).
#   - [log] format = json: every line of the log file is one JSON object
#     with time, level, component and message; a worker name full of
#     quotes, backslashes, a newline, a tab and control characters comes
#     back exactly from the parsed message;
#   - contrib/logrotate/coopmine run by `logrotate -f` (its path and its
#     postrotate signal pointed at this coordinator, a state file in the
#     temporary directory): the old file is renamed, SIGHUP makes the
#     coordinator reopen the path, and what it logs next lands in the new
#     file, none of it in the rotated one.
import json
import os
import shutil
import subprocess
import time

from rpc_lib import B, S, T, Proc, channel, code_of, diag, done, ok, pb, stub
from itest_lib import testpool, watchdog

watchdog(90)
LOGDIR = os.path.join(T, "log")
os.makedirs(LOGDIR)
LOG = os.path.join(LOGDIR, "coordinator.log")
pool, pport = testpool("pool", 0)
coord = Proc("coord", [os.path.join(B, "src/coordinator/coopmine-coordinator"),
                       "--grpc-listen", "127.0.0.1:0", "--insecure",
                       "--pool-address", "stratum+tcp://127.0.0.1:%d" % pport,
                       "--pool-wallet", "logs", "--verify", "none",
                       "--ledger-path", os.path.join(T, "ledger.db"),
                       "--dashboard-listen", "", "--log-format", "json",
                       "--log-file", LOG])


def read(path):
    try:
        with open(path, errors="strict") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_in(path, text, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if text in read(path):
            return True
        if coord.p.poll() is not None:
            return False
        time.sleep(0.05)
    return False


ok(wait_in(LOG, "gRPC port"), "the coordinator logs to its file")
port = None
for line in read(LOG).splitlines():
    try:
        m = json.loads(line)["message"]
    except (ValueError, KeyError):
        continue
    if "gRPC port" in m:
        port = int(m.split("gRPC port ")[1].split(",")[0])
if not ok(port is not None, "its gRPC port is in a JSON line"):
    diag(read(LOG)[-2000:])
    done()

# --- JSON lines, escaping ------------------------------------------------------
NAME = 'q"uote\\back\nnew\ttab\x01ctl\x7fdel é'
st = stub(channel(port, insecure=True))
r, code, det = code_of(st.Register, pb.RegisterRequest(
    worker_id="w-json", worker_name=NAME, threads=1), timeout=10)
ok(r is not None and r.success, "a worker with an awkward name registers (%s)"
   % (code,))
ok(wait_in(LOG, "w-json registered"), "its registration is logged")
lines = read(LOG).splitlines()
objs, bad = [], []
for line in lines:
    try:
        objs.append(json.loads(line))
    except ValueError:
        bad.append(line)
ok(lines and not bad, "every one of %d lines is JSON (%d are not: %r)"
   % (len(lines), len(bad), bad[:2]))
ok(all(set(o) >= {"time", "level", "component", "message"} and
       o["time"].endswith("Z") and
       o["level"] in ("error", "warn", "info", "debug") for o in objs),
   "each has time (UTC), level, component, message")
comps = sorted({o["component"] for o in objs})
diag("components: %s" % comps)
ok("upstream" in comps and "ledger" in comps,
   "components name the module (upstream, ledger, ...)")
reg = [o for o in objs if "w-json registered" in o["message"]]
# The registry already turns control characters and non-ASCII in names
# into '?' (tests/unit/test_log.c checks the JSON escaping of those);
# quotes and backslashes reach the log and must survive it.
ok(reg and 'q"uote\\back?new?tab?ctl?del' in reg[0]["message"],
   "quotes and backslashes come back exactly from the parsed message (%r)"
   % (reg[0]["message"] if reg else None))

# --- logrotate with the contrib snippet ------------------------------------------
lr = shutil.which("logrotate") or ("/usr/sbin/logrotate"
                                   if os.path.exists("/usr/sbin/logrotate") else None)
if lr is None:
    ok(True, "# SKIP logrotate is not installed (contrib/install-deps.sh "
          "installs it)")
    done()
with open(os.path.join(S, "contrib", "logrotate", "coopmine")) as f:
    snippet = f.read()
ok("/var/log/coopmine/coordinator.log {" in snippet and
   "systemctl kill --signal=HUP" in snippet,
   "the snippet has the lines the test points at this coordinator")
snippet = snippet.replace("/var/log/coopmine/coordinator.log", LOG)
snippet = "\n".join(
    ("\t\tkill -HUP %d" % coord.p.pid) if "systemctl kill" in l else l
    for l in snippet.splitlines()) + "\n"
conf = os.path.join(T, "logrotate.conf")
with open(conf, "w") as f:
    f.write(snippet)
os.chmod(conf, 0o644)
before = read(LOG)
r = subprocess.run([lr, "-f", "-s", os.path.join(T, "logrotate.state"), conf],
                   capture_output=True, text=True, timeout=30)
ok(r.returncode == 0, "logrotate -f succeeds (%s)" % (r.stderr.strip()[-300:],))
ok(read(LOG + ".1").startswith(before[:200]) and len(read(LOG + ".1")) >=
   len(before), "the old log is now coordinator.log.1")
ok(wait_in(LOG, "log reopened"),
   "the coordinator reopened coordinator.log on SIGHUP")
r2, code, _ = code_of(st.Register, pb.RegisterRequest(
    worker_id="w-after", worker_name="after", threads=1), timeout=10)
ok(wait_in(LOG, "w-after registered"),
   "a worker registered after the rotation is logged in the new file")
ok("w-after" not in read(LOG + ".1"), "and not in the rotated one")
ok(all(json.loads(l) for l in read(LOG).splitlines()),
   "the new file is JSON lines too")
ok(coord.stop() == 0, "coordinator stops cleanly")
done()
