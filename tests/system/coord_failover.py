# coord_failover.py: failover of the real coordinator to its backup pool and
# back (issue 15), as a worker sees it.  Two test pools (the primary at
# height 1000, the backup at height 5000, so a job tells which pool it came
# from); the coordinator with --pool-address primary --pool-backup backup;
# a synthetic worker (verify none) on StreamJobs.  Kill -9 the primary:
#   - a job from the backup reaches the worker within 5 s;
#   - real shares (tests/rx_hash) on it are accepted by the coordinator and
#     by the backup pool (its summary);
# restart the primary on its port:
#   - the coordinator returns to it: a primary job reaches the worker within
#     10 s (primary_retry 1 s), and a real share on it is accepted by the
#     primary.  The figures are printed.
import os
import signal
import struct
import threading
import time

from rpc_lib import T, channel, code_of, diag, done, gen_certs, ok, pb, stub
from itest_lib import (JobFeed, coordinator, pool_summary, q,
                       real_shares, testpool, watchdog)

watchdog(240)
PRIMARY_H, BACKUP_H = 1000, 5000
certs = gen_certs(os.path.join(T, "certs"), "worker-1")
POOL = ("--difficulty", "10", "--job-interval", "3600s", "--block-interval", "0")
psum = os.path.join(T, "primary.json")
bsum = os.path.join(T, "backup.json")
# The primary takes any free port; it is restarted on the same one below.
prim, pport = testpool("primary", 0, "--height", str(PRIMARY_H),
                       "--summary-file", psum, *POOL)
back, bport = testpool("backup", 0, "--height", str(BACKUP_H),
                       "--summary-file", bsum, *POOL)
if not ok(prim is not None and back is not None, "two test pools up"):
    done()
db = os.path.join(T, "ledger.db")
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport, db,
    "--pool-backup", "stratum+tcp://127.0.0.1:%d" % bport,
    "--verify", "none", "--min-difficulty", "10", "--max-difficulty", "10",
    "--hashrate-guess", "1", "--pool-backoff-min", "200ms",
    "--pool-backoff-max", "1s", "--pool-connect-timeout", "1s",
    "--pool-primary-retry", "1s", "--pool-keepalive", "500ms",
    "--pool-response-timeout", "2s", "--job-timeout", "5m")
if not ok(port is not None, "coordinator up with a primary and a backup pool"):
    done()
st = stub(channel(port, certs, "worker-1"))
end = time.time() + 20
reg = None
while time.time() < end:
    reg, code, _ = code_of(st.Register, pb.RegisterRequest(
        worker_id="worker-1", worker_name="worker-1", threads=1), timeout=5)
    if reg is not None and reg.HasField("current_job"):
        break
    time.sleep(0.1)
ok(reg is not None and reg.current_job.height == PRIMARY_H,
   "registered: the first job is the primary's (height %r)"
   % (reg.current_job.height if reg is not None else None))
feed = JobFeed(st, "worker-1")
beating = threading.Event()


def beat():
    """Heartbeats as a real worker sends them: a worker that misses three is
    offline and loses its job stream."""
    while not beating.wait(0.5):
        code_of(st.Heartbeat, pb.HeartbeatRequest(worker_id="worker-1",
                                                  hashrate=10.0), timeout=5)


threading.Thread(target=beat, daemon=True).start()
_, first = feed.wait(lambda j: True, 0, 10)
ok(first is not None and first.height == PRIMARY_H,
   "StreamJobs delivers the primary's job")


def submit(job, shares):
    verdicts = []
    for n, h in shares:
        r, code, det = code_of(st.SubmitShare, pb.ShareRequest(
            worker_id="worker-1", job_id=job.job_id, nonce=struct.pack("<I", n),
            result=h, lease_id=job.lease_id), timeout=10)
        verdicts.append(r.accepted if r is not None else (code, det))
    return verdicts


def pool_accepted(pool, path, height, want, timeout=20):
    """Shares the pool accepted on jobs of the given height (the summary's
    per-share list has the pool's job id; the ledger maps ours to it)."""
    end = time.time() + timeout
    n = -1
    while time.time() < end:
        s = pool_summary(pool, path)
        if s is not None:
            ups = {r[0] for r in q(db, "select upstream_job_id from jobs "
                                   "where height = ?", height)}
            n = sum(1 for x in s.get("shares", [])
                    if x.get("verdict") == "accepted" and x.get("job_id") in ups)
            if n >= want:
                return n
        time.sleep(0.2)
    return n


# --- the primary dies ------------------------------------------------------
t_kill = time.time()
prim.signal(signal.SIGKILL)
prim.p.wait(10)
t_job, bjob = feed.wait(lambda j: j.height == BACKUP_H, t_kill, 15)
dt_fail = (t_job - t_kill) if t_job else None
diag("failover: the backup's job reached the worker %s s after kill -9 of the "
     "primary" % ("%.3f" % dt_fail if dt_fail is not None else "never (15)"))
ok(dt_fail is not None and dt_fail < 5,
   "primary killed: a job from the backup reaches the worker within 5 s (%s)"
   % ("%.2f s" % dt_fail if dt_fail is not None else "none"))
if bjob is None:
    diag("job stream: %s" % (feed.ended or "open"))
    diag(coord.text()[-3000:])
    done()
ok(bjob.nonce_end > bjob.nonce_start and bjob.clean_jobs,
   "the backup's job carries a lease and is clean (%d..%d, clean %r)"
   % (bjob.nonce_start, bjob.nonce_end, bjob.clean_jobs))
good, hashed = real_shares(bjob, 2, 120)
v = submit(bjob, good)
ok(len(good) == 2 and v == [True, True],
   "real shares on the backup's job are accepted by the coordinator (%r, %d hashed)"
   % (v, hashed))
n = pool_accepted(back, bsum, BACKUP_H, 2)
ok(n >= 2, "the backup pool accepted them (its summary: %d accepted on its jobs)" % n)

# --- the primary comes back -------------------------------------------------
t_up = time.time()
prim, p2 = testpool("primary2", pport, "--height", str(PRIMARY_H),
                    "--summary-file", psum, *POOL)
ok(prim is not None and p2 == pport, "the primary restarts on its port %d" % pport)
t_job, pjob = feed.wait(lambda j: j.height == PRIMARY_H, t_up, 20)
dt_back = (t_job - t_up) if t_job else None
diag("return: the primary's job reached the worker %s s after it was restarted"
     % ("%.3f" % dt_back if dt_back is not None else "never (20)"))
ok(dt_back is not None and dt_back < 10,
   "primary back: the coordinator returns to it, a primary job reaches the "
   "worker within 10 s (%s)" % ("%.2f s" % dt_back if dt_back is not None else "none"))
if pjob is None:
    diag("job stream: %s" % (feed.ended or "open"))
ok(coord.wait_log(r"upstream switched to pool 0", 5) is not None,
   "the coordinator logs its switch back to pool 0")
if pjob is not None:
    good, hashed = real_shares(pjob, 1, 120)
    v = submit(pjob, good)
    ok(v == [True], "a real share on the primary's job is accepted (%r)" % v)
    n = pool_accepted(prim, psum, PRIMARY_H, 1)
    ok(n >= 1, "the restarted primary accepted it (its summary: %d)" % n)
beating.set()
feed.close()
ok(coord.stop(20) == 0, "the coordinator exits 0 on SIGTERM")
prim.stop()
back.stop()
done()
