# worker_longid.py: a worker whose certificate CN is 64 characters, the
# longest a certificate allows and the longest id the wire accepts, is a
# worker like any other (issue 12): it registers, streams jobs, gets a share
# accepted and credited under its full id, and the dashboard and the stats
# call show that id unshortened.  Shares are synthetic (verify = none, an
# all-zero result meets any target); then a real coopmine-worker with
# another 64-character name mines and is credited.
import os
import struct
import subprocess
import threading
import time
import urllib.parse

from rpc_lib import (B, S, T, Proc, channel, code_of, diag, done, ok, pb,
                     start_testpool, stub, wait_until)
from itest_lib import coordinator, free_port, http_json, q, watchdog
import grpc

watchdog(120)
LONG = "w" + "".join("%d" % (i % 10) for i in range(62)) + "z"
MINER = "m" + "".join("%d" % (i % 10) for i in range(62)) + "x"     # a real worker's
assert len(LONG) == 64 and len(MINER) == 64
certs = os.path.join(T, "certs")
r = subprocess.run([os.path.join(S, "contrib", "gen_certs.sh"), "--out", certs, LONG,
                    MINER], capture_output=True, text=True)
ok(r.returncode == 0 and os.path.exists(os.path.join(certs, LONG + ".crt")),
   "contrib/gen_certs.sh issues a certificate for a 64-character CN (%s)"
   % (r.stderr.strip()[-200:] or "exit %d" % r.returncode))
cn = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253",
                     "-in", os.path.join(certs, LONG + ".crt")],
                    capture_output=True, text=True).stdout.strip()
ok(cn == "subject=CN=" + LONG, "its CN is the 64 characters, unshortened (%s)" % cn)

pool, pool_url = start_testpool("--difficulty", "1000000000", "--job-interval", "600s",
                                 "--block-interval", "0")
db = os.path.join(T, "ledger.db")
dport = free_port()
coord, port = coordinator("coord", certs, pool_url, db, "--verify", "none",
                          "--min-difficulty", "1", "--max-difficulty", "1",
                          "--hashrate-guess", "1",
                          "--dashboard-listen", "127.0.0.1:%d" % dport,
                          "--dashboard-ws-listen", "127.0.0.1:%d" % free_port())
if not ok(port is not None, "coordinator up"):
    done()
ch = channel(port, certs, LONG)
st = stub(ch)

reg = None
end = time.time() + 20
while time.time() < end:
    reg, code, det = code_of(st.Register, pb.RegisterRequest(
        worker_id=LONG, worker_name="long id", threads=1), timeout=5)
    if reg is not None and reg.HasField("current_job"):
        break
    time.sleep(0.1)
ok(reg is not None and reg.success and reg.assigned_id == LONG,
   "Register as the 64-character id succeeds and assigns exactly that id (%r)"
   % (reg.assigned_id if reg else det))
job = reg.current_job if reg is not None else None
ok(job is not None and job.nonce_end > job.nonce_start,
   "the answer carries a job with a lease")

streamed = []
stream = st.StreamJobs(pb.StreamJobsRequest(worker_id=LONG))


def reader():
    try:
        for j in stream:
            streamed.append(j)
    except grpc.RpcError:
        pass


threading.Thread(target=reader, daemon=True).start()
ok(wait_until(lambda: streamed, 10), "StreamJobs delivers a job to it")
hb, code, det = code_of(st.Heartbeat, pb.HeartbeatRequest(worker_id=LONG, hashrate=10.0),
                        timeout=5)
ok(code == grpc.StatusCode.OK and hb.success, "its heartbeat is taken (%s)" % (det or "ok"))

verdicts = []
if job is not None:
    for n in range(job.nonce_start, min(job.nonce_end, job.nonce_start + 5)):
        r, code, det = code_of(st.SubmitShare, pb.ShareRequest(
            worker_id=LONG, job_id=job.job_id, nonce=struct.pack("<I", n),
            result=bytes(32), lease_id=job.lease_id), timeout=10)
        verdicts.append((n, r.accepted if r else None, r.reason if r else det))
diag("verdicts: %r" % verdicts)
ok(verdicts and all(v[1] for v in verdicts),
   "its shares inside its own lease are accepted (%s)"
   % ", ".join("%d: %s" % (v[0], v[2] or "ok") for v in verdicts))

ws, code, det = code_of(st.GetWorkerStats, pb.WorkerStatsRequest(worker_id=LONG),
                        timeout=5)
ok(code == grpc.StatusCode.OK and ws.worker_id == LONG and ws.shares_valid == 5,
   "GetWorkerStats knows it by its full id with 5 valid shares (%s)"
   % (det or "%r, %d valid" % (ws.worker_id, ws.shares_valid)))


def get(path):
    return http_json(dport, path)


status, body = get("/api/workers/" + urllib.parse.quote(LONG))
ok(status == 200 and body is not None and body.get("worker_id") == LONG,
   "/api/workers/{64-character id} shows it under its full id (%s %s)"
   % (status, body.get("worker_id") if body else ""))
status, body = get("/api/workers")
ids = [w.get("worker_id") for w in (body or {}).get("workers", [])]
ok(LONG in ids, "/api/workers lists the full id (%r)" % ids)

stream.cancel()
ch.close()

# A real coopmine-worker (light mode, one thread) with the other 64-character
# name mines: every hash is a share at difficulty 1.
miner = Proc("miner", [os.path.join(B, "src/worker/coopmine-worker"), "--worker-id", MINER,
                       "--coordinator", "127.0.0.1:%d" % port,
                       "--tls-ca", os.path.join(certs, "ca.crt"),
                       "--tls-cert", os.path.join(certs, MINER + ".crt"),
                       "--tls-key", os.path.join(certs, MINER + ".key"),
                       "--threads", "1", "--mode", "light", "--huge-pages", "off"])


def miner_shares():
    """The real worker's shares by reason (under any prefix of its name)."""
    return dict(q(db, "select reason, count(*) from shares where worker_id like 'm0123%' "
                  "group by reason"))


# Enough credited, or enough refused to know it never will be.
wait_until(lambda: miner_shares().get("ok", 0) >= 3 or
           sum(miner_shares().values()) >= 30, 60, 0.5)
rows = miner_shares()
mined = q(db, "select count(*) from shares where worker_id = ? and verdict = 'accepted'",
          MINER)[0][0] >= 3
ok(mined, "a real coopmine-worker with a 64-character name gets shares credited under "
   "it (%r)" % rows)
if not mined:
    diag(miner.text()[-1500:])
ok(miner.stop() == 0, "the worker exits 0")
ok(coord.stop() == 0, "coordinator exits 0")
pool.stop()
rows = q(db, "select worker_id, count(*) from shares where verdict = 'accepted' "
         "group by worker_id")
rows = [r for r in rows if r[0] == LONG]
ok(rows == [(LONG, 5)], "the ledger credits the 5 shares to the full 64-character id "
   "(%r)" % rows)
ok(q(db, "select count(*) from leases where worker_id = ?", LONG)[0][0] >= 1,
   "its lease is recorded under the full id")
done()
