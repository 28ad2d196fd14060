#!/usr/bin/python3
# node_chain.py: the payout address is checked against the chain the node
# reports, at every connect (issue 14).  A fake node that says it is on
# "main" while [node] network is regtest: the coordinator does not mine
# (no job in the ledger), /health is 503 and says why, the log says it
# once.  The same node restarted as regtest: mining starts (the chain is
# checked again on reconnect) and /health is 200.  Prints TAP.
import os
import sys
import time

import rpc_lib
from rpc_lib import B, S, T, Proc, diag, ok
from itest_lib import free_port, health, q, wait_for, watchdog

watchdog(150)
FAKENODE = os.path.join(S, "tests", "system", "fakenode.py")
datadir = os.path.join(T, "node")
node_port = free_port()
cookie = os.path.join(datadir, ".cookie")
MISMATCH = "node is on chain 'main' but [node] network is regtest"


def start_node(name, chain):
    p = Proc(name, [sys.executable, FAKENODE, "--port", str(node_port),
                    "--datadir", datadir, "--idle-timeout", "120",
                    "--longpoll-timeout", "5", "--chain", chain])
    if p.wait_log(r"^\d+$", 20) is None:
        diag(p.text()[-2000:])
    return p




certs = rpc_lib.gen_certs(os.path.join(T, "certs"))
node = start_node("fakenode-main", "main")
db = os.path.join(T, "ledger.db")
dash = free_port()
coord = Proc("coord", [
    os.path.join(B, "src/coordinator/coopmine-coordinator"),
    "--grpc-listen", "127.0.0.1:0",
    "--tls-cert", os.path.join(certs, "server.crt"),
    "--tls-key", os.path.join(certs, "server.key"),
    "--tls-ca", os.path.join(certs, "ca.crt"),
    "--node-url", "http://127.0.0.1:%d" % node_port,
    "--node-cookie", cookie, "--node-network", "regtest",
    "--payout-address", "script:51", "--node-poll", "1s",
    "--ledger-path", db, "--dashboard-listen", "127.0.0.1:%d" % dash,
    "--dashboard-ws-listen", "127.0.0.1:0", "--verify", "light"])
if not ok(coord.wait_log(r"gRPC port (\d+)", 30) is not None,
          "the coordinator starts on the node backend"):
    diag(coord.text()[-3000:])
    rpc_lib.done()

h = wait_for(lambda: (lambda r: r if r[1] and MISMATCH in
                  r[1].get("reason", "") else None)(health(dash)), 20)
ok(h is not None and h[0] == 503 and h[1]["status"] == "unhealthy",
   "node on another chain: /health is 503 and says why (%s)" %
   ((h or health(dash))[1].get("reason"),))
ok(coord.wait_log(r"not mining: " + r"node is on chain 'main' but \[node\] "
                  r"network is regtest", 5) is not None,
   "the log says why mining stopped")
time.sleep(3)       # a bounded look: retries must not start mining
ok(q(db, "select count(*) from jobs")[0][0] == 0,
   "no job from a node on another chain")
ok(coord.text().count(MISMATCH) == 1,
   "the reason is logged once, not at every retry (%d)" %
   coord.text().count(MISMATCH))

# The node comes back on the payout address's chain: checked again.
node.stop()
rpc_lib._procs.remove(node.p)
node = start_node("fakenode-regtest", "regtest")
ok(wait_for(lambda: q(db, "select count(*) from jobs")[0][0] > 0, 30)
   is not None, "the node back on regtest: work again")
h = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(health(dash)), 20) or \
    health(dash)
ok(h[0] == 200 and "reason" not in h[1],
   "/health is healthy again (%s)" % (h[1].get("status"),))

ok(coord.stop(60) == 0, "the coordinator stops cleanly")
node.stop()
rpc_lib.done()
