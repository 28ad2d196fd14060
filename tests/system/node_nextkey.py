#!/usr/bin/python3
# node_nextkey.py: the next RandomX key reaches the workers ahead of the
# key change (issue 14).  The fake node starts at height 50 (the key of
# heights 0..63 is block 0's, of 64..95 block 32's); the real coordinator
# and one real worker (light mode) mine on it.  Work for heights 56..63
# names block 32's hash as the next key (JobMessage.next_seed_hash), work
# below 56 names none; the worker prepares that key in the background and
# at height 64 switches to it without re-initialising RandomX, and its
# shares of height >= 64 are accepted.  Prints TAP.
import os
import re
import sys

import rpc_lib
from rpc_lib import B, S, T, Proc, diag, ok
from itest_lib import free_port, q, watchdog

watchdog(240)
FAKENODE = os.path.join(S, "tests", "system", "fakenode.py")
datadir = os.path.join(T, "node")
node_port = free_port()
cookie = os.path.join(datadir, ".cookie")

certs = rpc_lib.gen_certs(os.path.join(T, "certs"), "worker-1")
node = Proc("fakenode", [sys.executable, FAKENODE, "--port", str(node_port),
                         "--datadir", datadir, "--idle-timeout", "200",
                         "--longpoll-timeout", "20", "--blocks", "50"])
if node.wait_log(r"^\d+$", 60) is None:
    diag(node.text()[-2000:])
db = os.path.join(T, "ledger.db")
coord = Proc("coord", [
    os.path.join(B, "src/coordinator/coopmine-coordinator"),
    "--grpc-listen", "127.0.0.1:0",
    "--tls-cert", os.path.join(certs, "server.crt"),
    "--tls-key", os.path.join(certs, "server.key"),
    "--tls-ca", os.path.join(certs, "ca.crt"),
    "--node-url", "http://127.0.0.1:%d" % node_port,
    "--node-cookie", cookie, "--node-network", "regtest",
    "--payout-address", "script:51", "--node-poll", "1s",
    "--ledger-path", db, "--dashboard-listen", "",
    "--heartbeat-interval", "1s", "--verify", "light",
    "--min-difficulty", "16", "--max-difficulty", "16",
    "--worker-share-rate", "1000", "--worker-share-burst", "1000"])
m = coord.wait_log(r"gRPC port (\d+)", 30)
if not ok(m is not None, "the coordinator starts on the node backend"):
    diag(coord.text()[-3000:])
    rpc_lib.done()
worker = Proc("w1", [
    os.path.join(B, "src/worker/coopmine-worker"), "--worker-id", "worker-1",
    "--coordinator", "127.0.0.1:%s" % m.group(1),
    "--tls-ca", os.path.join(certs, "ca.crt"),
    "--tls-cert", os.path.join(certs, "worker-1.crt"),
    "--tls-key", os.path.join(certs, "worker-1.key"),
    "--threads", "1", "--mode", "light"])

switched = worker.wait_log(r"was prepared ahead, switched without "
                           r"re-initialising", 150)
ok(switched is not None, "the worker switched to the new key without "
   "re-initialising")
ok(rpc_lib.wait_until(lambda: q(
    db, "select count(*) from shares s join jobs j on j.id = s.job_id "
    "where j.height >= 64 and s.verdict = 'accepted'")[0][0] > 0, 30, 0.2),
   "shares of height >= 64 are accepted")
worker.stop()
log = worker.text()
jobs = [(int(h), i) for i, h in
        ((mm.start(), mm.group(1)) for mm in
         re.finditer(r"miner: new job \S+ height (\d+)", log))]
prep = log.find("preparing RandomX (light) for the next seed")
first_hint = min((i for h, i in jobs if 56 <= h <= 63), default=-1)
last_plain = max((i for h, i in jobs if h < 56), default=-1)
ok(prep >= 0 and first_hint >= 0 and prep > first_hint and
   prep > last_plain,
   "the next key is prepared once work of heights 56..63 names it, not "
   "before (jobs at heights %s)" % sorted({h for h, i in jobs})[:12])
inits = len(re.findall(r"initialising RandomX for seed", log))
ok(inits == 1, "RandomX was initialised once, at the start (%d)" % inits)
ok(log.count("preparing RandomX (light) for the next seed") == 1,
   "one key prepared ahead")
ok(coord.stop(60) == 0, "the coordinator stops cleanly")
node.stop()
rpc_lib.done()
