# privdrop.py: started as root, the coordinator refuses to run as root
# unless told to (and says why), and with --user NAME it opens its ports,
# its ledger and its log, then becomes NAME: its uids and gids are NAME's,
# /health still answers and the ledger still grows (jobs from the pool).
import os
import pwd
import re
import sqlite3
import subprocess
import time

import rpc_lib as L
from dashlib import host_request

if os.geteuid() != 0:
    print("1..0 # SKIP not root: the privilege drop needs a root start")
    raise SystemExit(0)
try:
    NOBODY = pwd.getpwnam("nobody")
except KeyError:
    print("1..0 # SKIP no user 'nobody' to become")
    raise SystemExit(0)

COORD = os.path.join(L.B, "src", "coordinator", "coopmine-coordinator")
pool, POOL = L.start_testpool("--job-interval", "1s")
# The tests' environment allows root for every other test: not here.
ENV = {k: v for k, v in os.environ.items() if k != "COOPMINE_ALLOW_ROOT"}
for k, v in L.SAN_ENV.items():
    ENV[k] = v


def argv(state, *extra):
    return [COORD, "--pool-address", POOL, "--pool-wallet", "priv",
            "--verify", "none", "--insecure", "--grpc-listen", "127.0.0.1:0",
            "--dashboard-listen", "127.0.0.1:0",
            "--dashboard-ws-listen", "127.0.0.1:0",
            "--dashboard-static-dir", os.path.join(L.S, "www"),
            "--ledger-path", os.path.join(state, "ledger.db"),
            "--log-file", os.path.join(state, "coordinator.log")] + list(extra)


# A state directory the user may write in (what StateDirectory= makes), in
# a directory the user can reach (the test's own is 0700).
top = os.path.join(L.T, "pub")
os.mkdir(top)
os.chmod(top, 0o755)
os.chmod(L.T, 0o711)
state = os.path.join(top, "state")
os.mkdir(state)
os.chown(state, NOBODY.pw_uid, NOBODY.pw_gid)

# ---- root without --user: refused, and the message says why and what to do
p = subprocess.run(argv(state), capture_output=True, text=True, timeout=60,
                   env=ENV, cwd=L.T)
out = p.stdout + p.stderr
L.ok(p.returncode == 2, "as root without --user: refused (exit %d)" %
     p.returncode)
L.ok("running as root" in out and "--user NAME" in out and
     "--allow-root" in out and "must not own the machine" in out,
     "the message says why, and names --user and --allow-root")
L.diag(out.strip())
L.ok(not os.path.exists(os.path.join(state, "ledger.db")),
     "nothing was opened before the refusal (no ledger file)")

# ---- --user nobody: drops after opening, keeps serving and writing
LOG = os.path.join(state, "coordinator.log")


def log_text():
    try:
        with open(LOG, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_file_log(pattern, timeout):
    found = []
    L.wait_until(lambda: found.append(re.search(pattern, log_text())) or
                 found[-1] is not None or c.p.poll() is not None, timeout)
    return re.search(pattern, log_text())


c = L.Proc("coord", argv(state, "--user", "nobody"), env=ENV)
m = wait_file_log(r"dashboard on 127\.0\.0\.1:0 \(port (\d+)\)", 30)
up = wait_file_log(r"coordinator up", 30)
L.ok(m is not None and up is not None, "it starts with --user nobody")
if not m or not up:
    L.diag(c.text() + log_text())
L.ok(wait_file_log(r"running as user nobody \(uid %d\)" % NOBODY.pw_uid, 5)
     is not None, "it says which user it became")
with open("/proc/%d/status" % c.p.pid) as f:
    status = f.read()
uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
groups = re.search(r"^Groups:[ \t]*(.*)$", status, re.M).group(1).split()
L.ok(uids == [str(NOBODY.pw_uid)] * 4, "real, effective, saved and fs uid "
     "are nobody's: %s" % uids)
L.ok(gids == [str(NOBODY.pw_gid)] * 4 and groups == [str(NOBODY.pw_gid)],
     "gids are nobody's and no supplementary group is left: %s %s" %
     (gids, groups))
port = int(m.group(1)) if m else 0
# /health is 200 once the pool session is up, which "coordinator up" does
# not wait for
wait_file_log(r"upstream: logged in to ", 30)
st, h = host_request(port, "/health", "127.0.0.1:%d" % port)
L.ok(st == 200 and h and h.get("status") in ("healthy", "degraded"),
     "/health answers after the drop (%s %s)" % (st, h and h.get("status")))
db = os.path.join(state, "ledger.db")
L.ok(os.stat(db).st_uid == NOBODY.pw_uid, "the ledger belongs to nobody now")


def jobs():
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        return con.execute("select count(*) from jobs").fetchone()[0]
    finally:
        con.close()


n0 = jobs()
L.ok(L.wait_until(lambda: jobs() > n0 + 1, 20), "the ledger keeps growing "
     "as nobody: jobs %d -> %d" % (n0, jobs()))
L.ok(c.stop() == 0, "SIGTERM: exits 0 (the ledger flushed as nobody)")
L.ok("stopped; the ledger is flushed" in log_text() and
     os.stat(os.path.join(state, "coordinator.log")).st_uid == NOBODY.pw_uid,
     "its log file, given to nobody, got the last line")

# ---- --user root is refused; --allow-root lets a root start through
p = subprocess.run(argv(state, "--user", "root"), capture_output=True,
                   text=True, timeout=60, env=ENV, cwd=L.T)
L.ok(p.returncode == 2 and "that is root" in p.stderr,
     "--user root is refused: %s" % p.stderr.strip())
pool.stop()
L.done()
