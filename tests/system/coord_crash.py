# coord_crash.py: kill -9 the coordinator at random moments under a steady
# share load, several times in a row.  After each restart every share the
# worker saw acknowledged must be in the ledger, coopmine-cli audit must
# pass, and the cluster counters must continue (never go back).  Shares are
# synthetic (verify = none, an all-zero result meets any target) so the
# load is the ledger's, not RandomX's.
import os
import random
import signal
import sqlite3
import struct
import subprocess
import threading
import time

from rpc_lib import (B, S, T, Proc, channel, code_of, diag, done, gen_certs,
                     ok, pb, start_testpool, stub)
import grpc

ROUNDS = int(os.environ.get("COOPMINE_CRASH_ROUNDS", "4"))
certs = gen_certs(os.path.join(T, "certs"), "worker-1")
pool, pool_url = start_testpool("--difficulty", "1000000000",
                                 "--job-interval", "600s", "--block-interval", "0")
db = os.path.join(T, "ledger.db")
rng = random.Random(int(os.environ.get("COOPMINE_TEST_SEED", "7")))
acked = []          # (job_seq, nonce) the worker saw accepted
last_valid = 0


def start(round_no):
    return Proc("coord%d" % round_no, [
        os.path.join(B, "src/coordinator/coopmine-coordinator"),
        "--grpc-listen", "127.0.0.1:0", "--tls-cert", os.path.join(certs, "server.crt"),
        "--tls-key", os.path.join(certs, "server.key"),
        "--tls-ca", os.path.join(certs, "ca.crt"), "--pool-address", pool_url,
        "--pool-wallet", "crash", "--ledger-path", db, "--verify", "none",
        "--min-difficulty", "1", "--max-difficulty", "1", "--hashrate-guess", "1",
        "--dashboard-listen", "", "--heartbeat-interval", "2s"])


for rnd in range(ROUNDS):
    coord = start(rnd)
    m = coord.wait_log(r"gRPC port (\d+)", 20)
    if not ok(m is not None, "round %d: coordinator starts on the ledger" % rnd):
        diag(coord.text()[-2000:])
        break
    st = stub(channel(int(m.group(1)), certs, "worker-1"))
    if rnd > 0:
        cs, code, _ = code_of(st.GetClusterStats, pb.ClusterStatsRequest(), timeout=10)
        ok(code == grpc.StatusCode.OK and cs.shares_valid >= last_valid and
           cs.shares_valid >= len(acked),
           "round %d: counters continue (%d valid >= %d acknowledged so far)"
           % (rnd, cs.shares_valid if cs else -1, len(acked)))
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        have = set(con.execute("select job_id, nonce from shares where verdict='accepted'"))
        con.close()
        missing = [a for a in acked if a not in have]
        ok(not missing, "round %d: all %d acknowledged shares are in the ledger (%d missing)"
           % (rnd, len(acked), len(missing)))
        r = subprocess.run([os.path.join(B, "src/cli/coopmine-cli"), "--db", db, "audit"],
                           capture_output=True, text=True)
        ok(r.returncode == 0, "round %d: coopmine-cli audit passes %s" % (rnd, r.stdout[-300:]))
    # Wait for the job, then load.
    reg = None
    for _ in range(100):
        reg, code, _ = code_of(st.Register, pb.RegisterRequest(
            worker_id="worker-1", threads=1), timeout=5)
        if reg is not None and reg.HasField("current_job"):
            break
        time.sleep(0.1)
    job = reg.current_job
    seq = int(job.job_id, 16)
    stop = threading.Event()

    def load():
        n = job.nonce_start
        while not stop.is_set() and n < job.nonce_end:
            r, code, _ = code_of(st.SubmitShare, pb.ShareRequest(
                worker_id="worker-1", job_id=job.job_id, nonce=struct.pack("<I", n),
                result=bytes(32)), timeout=5)
            if code != grpc.StatusCode.OK:
                return
            if r.accepted:
                acked.append((seq, n))
            n += 1

    th = threading.Thread(target=load, daemon=True)
    before = len(acked)
    th.start()
    time.sleep(rng.uniform(0.5, 2.0))
    coord.signal(signal.SIGKILL)
    coord.p.wait()
    stop.set()
    th.join(10)
    diag("round %d: %d shares acknowledged before kill -9" % (rnd, len(acked) - before))
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    last_valid = con.execute("select count(*) from shares where verdict='accepted'").fetchone()[0]
    con.close()

ok(len(acked) > 50, "the load was real: %d shares acknowledged over %d crashes"
   % (len(acked), ROUNDS))
# The rounds compare what was acknowledged before the previous kill; the
# last kill gets its own comparison.
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
have = set(con.execute("select job_id, nonce from shares where verdict='accepted'"))
con.close()
missing = [a for a in acked if a not in have]
ok(not missing, "after the last kill -9: all %d acknowledged shares are in the ledger "
   "(%d missing)" % (len(acked), len(missing)))
# One last clean start and stop over the crashed file.
coord = start(ROUNDS)
ok(coord.wait_log(r"gRPC port (\d+)", 20) is not None, "starts again after the last crash")
ok(coord.stop() == 0, "and stops cleanly")
pool.stop()
done()
