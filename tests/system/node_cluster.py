#!/usr/bin/python3
# node_cluster.py: solo mining on the cooperative's own node (issue 14).
# The fake node (tests/system/fakenode.py: real JSON-RPC over HTTP, checks
# every submitted block fully, RandomX included) + the real coordinator
# with [node] url + two real workers (light mode):
#   - a node in initial block download is waited out: no work until it
#     ends, the reason on /health and /metrics;
#   - blocks found by both workers are submitted and accepted;
#   - every lease has its own extranonce (ledger: leases.extranonce);
#   - a reorganisation (fake_reorg) orphans one of our blocks: its income is
#     reversed by a reversal row whose splits negate the originals;
#   - blocks reach maturity ([node] maturity) and balances show it;
#   - a 401 period (wrong cookie) and a node restart (new cookie, same
#     chain) are survived;
#   - coopmine-cli audit is clean at the end.
# Then the same against a real regtest opensyd when OPENSYD or opensyd on
# PATH exists (else the skip says why).  Prints TAP.
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import base64

import rpc_lib
from rpc_lib import B, S, T, Proc, diag, ok
from itest_lib import (audit, cli, free_port, health, http_json, q, wait_for,
                       watchdog)

watchdog(420)
FAKENODE = os.path.join(S, "tests", "system", "fakenode.py")
if not os.path.exists(FAKENODE):
    print("1..0 # SKIP tests/system/fakenode.py is not in this tree")
    sys.exit(0)

certs = rpc_lib.gen_certs(os.path.join(T, "certs"), "worker-1", "worker-2")
datadir = os.path.join(T, "node")
node_port = free_port()
cookie = os.path.join(datadir, ".cookie")


def start_node(name, *extra):
    p = Proc(name, [sys.executable, FAKENODE, "--port", str(node_port),
                    "--datadir", datadir, "--idle-timeout", "300",
                    "--longpoll-timeout", "20"] + list(extra))
    if p.wait_log(r"^\d+$", 20) is None:
        diag(p.text()[-2000:])
    return p


def rpc(method, *params, auth=None):
    """A call to the fake node as the test (reads the cookie each time)."""
    if auth is None:
        with open(cookie) as f:
            auth = f.read().strip()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/" % node_port,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                         "params": list(params)}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " +
                 base64.b64encode(auth.encode()).decode()})
    with urllib.request.urlopen(req, timeout=30) as f:
        r = json.loads(f.read())
    if r.get("error"):
        raise RuntimeError("%s: %s" % (method, r["error"]))
    return r["result"]




node = start_node("fakenode")
rpc("fake_ibd", True)

db = os.path.join(T, "ledger.db")
dash = free_port()
coord_argv = [os.path.join(B, "src/coordinator/coopmine-coordinator"),
              "--grpc-listen", "127.0.0.1:0",
              "--tls-cert", os.path.join(certs, "server.crt"),
              "--tls-key", os.path.join(certs, "server.key"),
              "--tls-ca", os.path.join(certs, "ca.crt"),
              "--node-url", "http://127.0.0.1:%d" % node_port,
              "--node-cookie", cookie, "--node-network", "regtest",
              "--payout-address", "script:51", "--node-poll", "1s",
              "--node-follow", "300ms", "--node-maturity", "5",
              "--ledger-path", db, "--dashboard-listen", "127.0.0.1:%d" % dash,
              "--dashboard-ws-listen", "127.0.0.1:0",
              "--heartbeat-interval", "1s", "--verify", "light",
              "--min-difficulty", "16", "--max-difficulty", "16",
              "--worker-share-rate", "1000", "--worker-share-burst", "1000",
              "--pplns-window", "20"]
# Refused at start, with a message naming what to fix.
for name, extra, want in (
        ("both", ["--pool-address", "stratum+tcp://127.0.0.1:1"],
         "[node] url and [pool] address"),
        ("badaddr", ["--payout-address", "notanaddress0000"],
         "[node] payout_address")):
    r = subprocess.run(coord_argv + extra, capture_output=True, text=True,
                       timeout=30, cwd=T)
    ok(r.returncode != 0 and want in r.stdout + r.stderr,
       "refused at start (%s): %s" % (name, (r.stdout + r.stderr).strip()
                                       .splitlines()[-1:]))

coord = Proc("coord", coord_argv)
m = coord.wait_log(r"gRPC port (\d+)", 30)
if not ok(m is not None, "the coordinator starts on the node backend"):
    diag(coord.text()[-3000:])
    rpc_lib.done()
grpc_port = int(m.group(1))

# --- IBD: no work, the reason shown ---------------------------------------
h = wait_for(lambda: (lambda r: r if r[1] and "initial block download" in
                  r[1].get("reason", "") else None)(health(dash)), 15)
ok(h is not None and h[0] == 503 and h[1]["node"]["ibd"],
   "node in IBD: /health is 503 and says why (%s)" %
   (h[1].get("reason") if h else str(health(dash)),))
st, metrics = None, ""
try:
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % dash,
                                timeout=5) as f:
        metrics = f.read().decode()
except OSError as e:
    diag(e)
ok("coopmine_node_ibd 1" in metrics, "/metrics shows coopmine_node_ibd 1")
ok(q(db, "select count(*) from jobs")[0][0] == 0, "no job while the node "
   "is in initial block download")

workers = []
for n in (1, 2):
    workers.append(Proc("w%d" % n, [
        os.path.join(B, "src/worker/coopmine-worker"), "--worker-id",
        "worker-%d" % n, "--coordinator", "127.0.0.1:%d" % grpc_port,
        "--tls-ca", os.path.join(certs, "ca.crt"),
        "--tls-cert", os.path.join(certs, "worker-%d.crt" % n),
        "--tls-key", os.path.join(certs, "worker-%d.key" % n),
        "--threads", "1", "--mode", "light"]))
ok(coord.wait_log(r"worker worker-2 online", 30) is not None and
   coord.wait_log(r"worker worker-1 online", 5) is not None,
   "both workers register")
time.sleep(2)       # a bounded look: nothing may be mined meanwhile
ok(q(db, "select count(*) from shares")[0][0] == 0, "workers wait: no share "
   "while the node is in IBD")
t_ibd_end = time.time()
rpc("fake_ibd", False)
ok(wait_for(lambda: q(db, "select count(*) from jobs")[0][0] > 0, 15) is not None,
   "IBD over: work within %.1f s" % (time.time() - t_ibd_end))

# --- blocks from both workers ---------------------------------------------
def ours_by(worker):
    """Blocks of worker's in the node's best chain (confirmed)."""
    return q(db, "select count(*) from blocks b join shares s on s.id = "
             "b.share_id where s.worker_id = ? and b.status = 'accepted' "
             "and b.confirmations >= 1", worker)[0][0]


ok(wait_for(lambda: ours_by("worker-1") > 0 and ours_by("worker-2") > 0, 120, 1)
   is not None, "blocks found by both workers are accepted (%d, %d)" %
   (ours_by("worker-1"), ours_by("worker-2")))
subs = rpc("fake_submitted")
diag("fake node: %d submissions, first %s" % (len(subs), subs[:1]))
acc = q(db, "select lower(hex(hash)) from blocks where status = 'accepted'")
best = set()
for (hx,) in acc:
    try:
        if rpc("getblockheader", hx)["confirmations"] >= 0:
            best.add(hx)
    except RuntimeError:
        pass
ok(len(best) > 0, "the node has our accepted blocks (%d of %d in its best "
   "chain)" % (len(best), len(acc)))
n_lease, n_ext, n_null = q(db, "select count(*), count(distinct extranonce), "
                           "sum(extranonce is null) from leases")[0]
ok(n_lease > 2 and n_ext == n_lease and n_null == 0,
   "every lease has its own extranonce (%d leases, %d distinct)" %
   (n_lease, n_ext))
inc = q(db, "select count(*) from income where source = 'block' and "
        "reverses is null")[0][0]
ok(inc > 0, "block rewards are income (%d rows)" % inc)

# --- a reorganisation orphans one of ours ---------------------------------
# Our newest confirmed block, orphaned by a branch from below it (another
# block may arrive meanwhile: then once more).
target_hash, r = None, {"orphaned": []}
for attempt in range(3):
    ours = q(db, "select lower(hex(hash)), height from blocks where status = "
             "'accepted' and confirmations >= 1 order by height desc limit 1")
    height = rpc("getblockcount")
    target_hash, target_h = ours[0]
    r = rpc("fake_reorg", height - target_h + 1, 2)
    if target_hash in r["orphaned"]:
        break
ok(target_hash in r["orphaned"], "fake_reorg orphans our block at height "
   "%d (tip was %d)" % (target_h, height))


def reversed_rows():
    rows = q(db, "select o.id, r.id from income o join income r on "
             "r.reverses = o.id where o.ref = ?", "block:" + target_hash)
    return rows[0] if rows else None


ok(wait_for(lambda: q(db, "select status from blocks where lower(hex(hash)) = ?",
                  target_hash)[0][0] == "orphaned", 20) is not None,
   "the ledger's block row is orphaned")
pair = wait_for(reversed_rows, 20)
ok(pair is not None, "its income has a reversal row (income %s)" % (pair,))
if pair:
    orig, rev = pair
    s = q(db, "select (select sum(amount) from splits where income_id = ?), "
          "(select sum(amount) from splits where income_id = ?), (select "
          "count(*) from splits where income_id = ?), (select count(*) from "
          "splits where income_id = ?)", orig, rev, orig, rev)[0]
    ok(s[0] > 0 and s[1] == -s[0] and s[2] == s[3],
       "the reversal's splits negate the original's (%s)" % (s,))
ok(q(db, "select count(*) from income where ref = ?", "block:" +
     target_hash)[0][0] == 1, "nothing deleted: the original row stays")

# --- maturity -------------------------------------------------------------
ok(wait_for(lambda: q(db, "select count(*) from blocks where matured_at is not "
                  "null")[0][0] > 0, 90, 1) is not None,
   "blocks with 5 confirmations are mature")
bal = cli(db, "balances")
diag(bal.stdout.strip()[:400])

# --- a 401 period, then a node restart with a new cookie -------------------
def accepted_count():
    return q(db, "select count(*) from blocks where status = 'accepted'")[0][0]


with open(cookie) as f:
    secret = f.read().strip().split(":", 1)[1]
node.stop()
rpc_lib._procs.remove(node.p)
node = start_node("fakenode-401", "--rpcuser", "someone", "--rpcpassword",
                  "else")
with open(cookie, "w") as f:
    f.write("__cookie__:wrong")
h = wait_for(lambda: (lambda r: r if r[1] and "HTTP 401" in r[1].get("reason", "")
                  else None)(health(dash)), 20)
ok(h is not None and h[0] == 503, "a wrong cookie: /health says the node "
   "answered 401 (%s)" %
   (h[1].get("reason") if h else None,))
ok(secret not in coord.text() and "__cookie__:wrong" not in coord.text(),
   "the node's credentials are not logged")
node.stop()
rpc_lib._procs.remove(node.p)
before = accepted_count()
node = start_node("fakenode-2")
ok(wait_for(lambda: accepted_count() > before + 1, 120, 1) is not None,
   "after the node's restart (new cookie, same chain) blocks are accepted "
   "again (%d -> %d)" % (before, accepted_count()))
h = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(health(dash)), 30) or \
    health(dash)
ok(h[0] == 200 and h[1]["node"]["height"] > 0, "/health is healthy again "
   "with the node's height (%s)" % (h[1].get("node") if h[1] else str(h),))

# --- the end --------------------------------------------------------------
for w in workers:
    w.stop()
wait_for(lambda: q(db, "select count(*) from shares where upstream in "
               "('pending', 'submitted')")[0][0] == 0, 30)
ok(coord.stop(60) == 0, "the coordinator stops cleanly")
rc, out = audit(db)
ok(rc == 0, "coopmine-cli audit is clean")
if rc != 0:
    diag(out[-3000:])
node.stop()
diag("ledger: %s blocks (%s), %s leases, %s income rows" % (
    q(db, "select count(*) from blocks")[0][0],
    ", ".join("%s %s" % r for r in q(db, "select status, count(*) from "
                                         "blocks group by status")),
    n_lease, q(db, "select count(*) from income")[0][0]))

# --- a real regtest node ---------------------------------------------------
opensyd = os.environ.get("OPENSYD") or shutil.which("opensyd")
if not opensyd:
    print("ok %d # SKIP real regtest node: no opensyd (set OPENSYD=/path or "
          "put opensyd on PATH; docs/node.md says how to build it)" %
          (rpc_lib._n + 1))
    rpc_lib._n += 1
else:
    rdir = os.path.join(T, "opensyd")
    os.mkdir(rdir)
    rport = free_port()
    real = Proc("opensyd", [opensyd, "-regtest", "-randomxforkheight=1",
                            "-datadir=" + rdir, "-rpcport=%d" % rport,
                            "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
                            "-listen=0", "-server=1"])
    rcookie = os.path.join(rdir, "regtest", ".cookie")
    ok(wait_for(lambda: os.path.exists(rcookie), 60, 0.5) is not None,
       "opensyd writes its cookie")
    db2 = os.path.join(T, "ledger2.db")
    argv = [a for a in coord_argv]
    argv[argv.index("--node-url") + 1] = "http://127.0.0.1:%d" % rport
    argv[argv.index("--node-cookie") + 1] = rcookie
    argv[argv.index("--ledger-path") + 1] = db2
    argv[argv.index("--dashboard-listen") + 1] = ""
    c2 = Proc("coord-real", argv)
    m = c2.wait_log(r"gRPC port (\d+)", 30)
    ws = []
    for n in (1, 2):
        ws.append(Proc("rw%d" % n, [
            os.path.join(B, "src/worker/coopmine-worker"), "--worker-id",
            "worker-%d" % n, "--coordinator", "127.0.0.1:%s" %
            (m.group(1) if m else 0),
            "--tls-ca", os.path.join(certs, "ca.crt"),
            "--tls-cert", os.path.join(certs, "worker-%d.crt" % n),
            "--tls-key", os.path.join(certs, "worker-%d.key" % n),
            "--threads", "1", "--mode", "light"]))
    ok(wait_for(lambda: q(db2, "select count(*) from blocks where status = "
                      "'accepted'")[0][0] >= 2, 180, 1) is not None,
       "the real regtest node accepts our blocks")
    for w in ws:
        w.stop()
    ok(c2.stop(60) == 0, "the coordinator stops cleanly (real node)")
    rc, out = audit(db2)
    ok(rc == 0, "audit is clean (real node)")
    real.stop(60)
rpc_lib.done()
