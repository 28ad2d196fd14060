# shares_reject.py: every rejection reason of the share path, provoked by a
# crafted client (Python grpcio, mTLS as worker-1) against the real
# coordinator mining for coopmine-testpool: forged result, low difficulty,
# nonce outside the lease, duplicate, stale job, unknown job, malformed
# nonce, another worker's id; and a good share accepted.  Each verdict must
# also be a row in the ledger with its reason.  Hashes come from
# tests/rx_hash (RandomX light mode through src/common/rx.h).
import os
import signal
import sqlite3
import struct
import subprocess
import threading
import time

from rpc_lib import (B, S, T, Proc, channel, code_of, diag, done, gen_certs,
                     ok, pb, start_testpool, stub, wait_until)
import grpc

certs = gen_certs(os.path.join(T, "certs"), "worker-1", "worker-2")
pool, pool_url = start_testpool("--difficulty", "1000000", "--job-interval", "60s",
                                 "--block-interval", "0")
db = os.path.join(T, "ledger.db")
coord = Proc("coord", [os.path.join(B, "src/coordinator/coopmine-coordinator"),
                       "--grpc-listen", "127.0.0.1:0",
                       "--tls-cert", os.path.join(certs, "server.crt"),
                       "--tls-key", os.path.join(certs, "server.key"),
                       "--tls-ca", os.path.join(certs, "ca.crt"),
                       "--pool-address", pool_url,
                       "--pool-wallet", "rejects", "--ledger-path", db,
                       "--hashrate-guess", "1", "--min-difficulty", "2",
                       "--share-interval", "2s", "--dashboard-listen", "",
                       "--heartbeat-interval", "1s", "--pool-keepalive", "300ms",
                       "--pool-response-timeout", "1s",
                       "--pool-connect-timeout", "1s", "--pool-backoff-min", "200ms"])
m = coord.wait_log(r"gRPC port (\d+)", 20)
ok(m is not None, "coordinator up with a pool job")
port = int(m.group(1))

rx = subprocess.Popen([os.path.join(B, "tests/rx_hash")], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)


def rxhash(seed, blob):
    rx.stdin.write("%s %s\n" % (seed.hex(), blob.hex()))
    rx.stdin.flush()
    return bytes.fromhex(rx.stdout.readline().strip())


def meets(h, target8):
    return struct.unpack("<Q", h[24:])[0] <= struct.unpack("<Q", target8)[0]


ch = channel(port, certs, "worker-1")
st = stub(ch)
reg = st.Register(pb.RegisterRequest(worker_id="worker-1", worker_name="crafted",
                                     threads=1), timeout=10)
ok(reg.success and reg.current_job.job_id != "", "registered with a job and a lease")
jobs = []
stream = st.StreamJobs(pb.StreamJobsRequest(worker_id="worker-1"))


def reader():
    try:
        for j in stream:
            jobs.append(j)
    except grpc.RpcError:
        pass


beating = True


def heartbeats():
    # A worker that stops beating is offline after three intervals.
    while beating:
        code_of(st.Heartbeat, pb.HeartbeatRequest(worker_id="worker-1", hashrate=1.0),
                timeout=5)
        time.sleep(0.5)


threading.Thread(target=reader, daemon=True).start()
threading.Thread(target=heartbeats, daemon=True).start()
job = reg.current_job
ok(job.nonce_end > job.nonce_start and job.nonce_offset == 76 and len(job.blob) == 80,
   "the job carries an OpenSY header, nonce offset 76 and a lease")


def blob_with(nonce):
    b = bytearray(job.blob)
    b[76:80] = struct.pack("<I", nonce)
    return bytes(b)


def submit(nonce_bytes, result, job_id=None, worker="worker-1"):
    return code_of(st.SubmitShare, pb.ShareRequest(
        worker_id=worker, job_id=job_id or job.job_id, nonce=nonce_bytes,
        result=result), timeout=30)


# Find one nonce that meets the share target and one that does not.
good = low = None
for n in range(job.nonce_start, min(job.nonce_end, job.nonce_start + 64)):
    h = rxhash(job.seed_hash, blob_with(n))
    if meets(h, job.target):
        good = good or (n, h)
    else:
        low = low or (n, h)
    if good and low:
        break
ok(good is not None and low is not None, "found a share and a non-share in the lease")

r, code, _ = submit(struct.pack("<I", good[0]), good[1])
ok(code == grpc.StatusCode.OK and r.accepted, "a good share is accepted (%s)" % (r and r.reason))
r, code, _ = submit(struct.pack("<I", good[0]), good[1])
ok(r is not None and not r.accepted and "duplicate" in r.reason, "the same share again: duplicate")
r, code, _ = submit(struct.pack("<I", low[0]), low[1])
ok(r is not None and not r.accepted and "low difficulty" in r.reason,
   "a real hash below the target: low difficulty")
forged_nonce = low[0] + 1 if low[0] + 1 != good[0] else low[0] + 2
r, code, _ = submit(struct.pack("<I", forged_nonce), bytes(32))
ok(r is not None and not r.accepted and "does not match" in r.reason,
   "a forged result (all zero: meets any target): rejected as not our hash")
r, code, _ = submit(struct.pack("<I", job.nonce_end + 10), good[1])
ok(r is not None and not r.accepted and "outside your lease" in r.reason,
   "a nonce outside the sender's lease")
r, code, _ = submit(struct.pack("<I", good[0])[:3], good[1])
ok(r is not None and not r.accepted and "malformed" in r.reason, "a 3-byte nonce: malformed")
r, code, _ = submit(struct.pack("<I", good[0]), good[1], job_id="00000000ffffffff")
ok(r is not None and not r.accepted and "unknown job" in r.reason, "an unknown job id")
r, code, det = submit(struct.pack("<I", good[0]), good[1], worker="worker-2")
ok(code == grpc.StatusCode.PERMISSION_DENIED, "another worker's id: PERMISSION_DENIED (%s)" % det)

# A clean job upstream (the pool finds a block: SIGHUP) makes the old one
# stale.
old = job.job_id
pool.signal(signal.SIGHUP)
got = wait_until(lambda: any(j.job_id != old and j.clean_jobs for j in jobs), 30)
ok(got, "a new block upstream brings a clean job")
r, code, _ = submit(struct.pack("<I", good[0] + 1), good[1], job_id=old)
ok(r is not None and not r.accepted and "stale" in r.reason, "a share for the superseded job: stale")

beating = False
stream.cancel()
time.sleep(0.6)
ch.close()
ok(coord.stop() == 0, "coordinator exits 0")
pool.stop()
rx.stdin.close()
rx.wait()

con = sqlite3.connect(db)
reasons = dict(con.execute("select reason, count(*) from shares group by reason"))
diag("ledger reasons: %r" % reasons)
for want in ("ok", "duplicate", "low_difficulty", "bad_hash", "outside_lease",
             "malformed", "unknown_job", "stale"):
    ok(reasons.get(want, 0) >= 1, "the ledger records a '%s' share" % want)
ok(con.execute("select count(*) from shares where verdict='accepted'").fetchone()[0] == 1,
   "exactly one share credited")
done()
