# integrity_restart.py: no work is issued twice, ever, and no acknowledged
# share is lost (issue 12).  Two synthetic workers (verify = none, an
# all-zero result meets any target) load the coordinator; it is killed with
# kill -9 ten times in a row, then stopped with SIGTERM three times, while
# the test pool keeps handing out the same job (long job interval, no
# blocks), so every restart sees the same (blob, seed) again.  A worker
# given back the lease it had goes on where it stopped, as a real one
# would.  Then, over the whole ledger:
#   (a) no two leases overlap on jobs with the same blob and seed (any ids);
#   (b) no (blob, seed, nonce) is credited twice, across jobs;
#   (c) every share a worker saw acknowledged, the last round's included,
#       is an accepted row of the ledger;
#   (d) coopmine-cli audit passes.
import os
import random
import signal
import struct
import threading
import time

from rpc_lib import (T, channel, code_of, diag, done, gen_certs, ok, pb,
                     start_testpool, stub)
from itest_lib import audit, coordinator, q, watchdog
import grpc

KILLS = int(os.environ.get("COOPMINE_CRASH_ROUNDS", "10"))
TERMS = 3
watchdog(60 + 25 * (KILLS + TERMS))
WORKERS = ("worker-1", "worker-2")
certs = gen_certs(os.path.join(T, "certs"), *WORKERS)
pool, pool_url = start_testpool("--difficulty", "1000000000",
                                 "--job-interval", "3600s", "--block-interval", "0")
db = os.path.join(T, "ledger.db")
rng = random.Random(int(os.environ.get("COOPMINE_TEST_SEED", "12")))
acked = []          # (worker, ledger job id, nonce) seen accepted, every round
acked_lock = threading.Lock()
# The round plan: ten kill -9 in a row, then three SIGTERM restarts.
plan = ["kill"] * KILLS + ["term"] * TERMS


def start(rnd):
    return coordinator("coord%d" % rnd, certs, pool_url, db, "--verify", "none",
                       "--min-difficulty", "1", "--max-difficulty", "1",
                       "--hashrate-guess", "1", "--lease-min", "16384")


def register(st, worker):
    """Register until the answer carries a job (the pool session may still be
    logging in); None after 20 s."""
    end = time.time() + 20
    while time.time() < end:
        reg, code, _ = code_of(st.Register, pb.RegisterRequest(
            worker_id=worker, worker_name=worker, threads=1), timeout=5)
        if reg is not None and reg.success and reg.HasField("current_job") \
                and reg.current_job.nonce_end > reg.current_job.nonce_start:
            return reg.current_job
        time.sleep(0.1)
    return None


progress = {}       # (worker, job id, lease id, start, end) -> next nonce


def load(st, worker, job, stop, mine):
    """Submits every nonce of the lease in order, as a worker that found a
    share at each; keeps what was acknowledged."""
    seq = int(job.job_id, 16)
    key = (worker, job.job_id, job.lease_id, job.nonce_start, job.nonce_end)
    n = progress.get(key, job.nonce_start)
    while not stop.is_set() and n < job.nonce_end:
        progress[key] = n
        r, code, _ = code_of(st.SubmitShare, pb.ShareRequest(
            worker_id=worker, job_id=job.job_id, nonce=struct.pack("<I", n),
            result=bytes(32), lease_id=job.lease_id), timeout=5)
        if code != grpc.StatusCode.OK:
            return
        if r.accepted:
            with acked_lock:
                acked.append((worker, seq, n))
            mine.append(n)
        elif r.retry_after_ms > 0:
            time.sleep(r.retry_after_ms / 1000.0)
            continue
        n += 1
    progress[key] = n


def missing_acks():
    have = set(q(db, "select worker_id, job_id, nonce from shares "
                 "where verdict = 'accepted'"))
    with acked_lock:
        return [a for a in acked if a not in have]


leases_seen = []    # (round, worker, job id, start, end) as told to the client
prev_jobs = {}      # the jobs the workers mined when the last round stopped
for rnd, how in enumerate(plan):
    coord, port = start(rnd)
    if not ok(port is not None, "round %d: the coordinator starts on the ledger" % rnd):
        break
    chans = {w: channel(port, certs, w) for w in WORKERS}
    stubs = {w: stub(chans[w]) for w in WORKERS}
    if rnd > 0:
        miss = missing_acks()
        ok(not miss, "round %d: all %d shares acknowledged so far are in the ledger "
           "(%d missing%s)" % (rnd, len(acked), len(miss),
                               ": %r" % miss[:5] if miss else ""))
    if rnd > 0 and prev_jobs:
        # A share the worker found on the job it was mining when the
        # coordinator stopped, sent after the restart: that job was
        # restored from the ledger, so it is judged as before, not stale.
        # (n + 1: n itself may have been credited with its answer lost.)
        verdicts = []
        for w, j in prev_jobs.items():
            key = (w, j.job_id, j.lease_id, j.nonce_start, j.nonce_end)
            n = progress.get(key, j.nonce_start) + 1
            if n >= j.nonce_end:
                continue
            r, code, _ = code_of(stubs[w].SubmitShare, pb.ShareRequest(
                worker_id=w, job_id=j.job_id, nonce=struct.pack("<I", n),
                result=bytes(32), lease_id=j.lease_id), timeout=5)
            verdicts.append((w, code, r.accepted if r is not None else None,
                             r.reason if r is not None else ""))
            if r is not None and r.accepted:
                with acked_lock:
                    acked.append((w, int(j.job_id, 16), n))
                progress[key] = n + 1
        ok(verdicts and all(v[2] for v in verdicts),
           "round %d: shares for the job live at the stop are accepted after "
           "the restart (%r)" % (rnd, verdicts))
    jobs = {}
    for w in WORKERS:
        jobs[w] = register(stubs[w], w)
    if not ok(all(jobs.values()), "round %d: both workers get a job and a lease" % rnd):
        diag(coord.text()[-2000:])
        break
    for w in WORKERS:
        j = jobs[w]
        leases_seen.append((rnd, w, int(j.job_id, 16), j.nonce_start, j.nonce_end))
        diag("round %d: %s leased job %s [%d, %d)" % (rnd, w, j.job_id, j.nonce_start,
                                                     j.nonce_end))
    prev_jobs = dict(jobs)
    stop = threading.Event()
    mine = {w: [] for w in WORKERS}
    ths = [threading.Thread(target=load, args=(stubs[w], w, jobs[w], stop, mine[w]),
                            daemon=True) for w in WORKERS]
    for th in ths:
        th.start()
    time.sleep(rng.uniform(0.7, 2.0))
    if how == "kill":
        coord.signal(signal.SIGKILL)
        coord.p.wait(10)
        status = None
    else:
        status = coord.stop(20)
    stop.set()
    for th in ths:
        th.join(10)
    for ch in chans.values():
        ch.close()
    diag("round %d (%s): acknowledged %s" % (
        rnd, "kill -9" if how == "kill" else "SIGTERM",
        ", ".join("%s %d" % (w, len(mine[w])) for w in WORKERS)))
    if how == "term":
        ok(status == 0, "round %d: SIGTERM under load: the coordinator exits 0 (%r)"
           % (rnd, status))

ok(len(acked) > 100, "the load was real: %d shares acknowledged over %d rounds"
   % (len(acked), len(plan)))
# Recovery once more over the last crash, then the ledger at rest.
coord, port = start(len(plan))
ok(port is not None, "starts again after the last round")
ok(coord.stop(20) == 0, "and stops cleanly")
pool.stop()

miss = missing_acks()
ok(not miss, "(c) every acknowledged share (%d, the last round's included) is in the "
   "ledger (%d missing%s)" % (len(acked), len(miss), ": %r" % miss[:5] if miss else ""))

# (a) Leases of the same work never overlap, whatever job row they hang on.
overlap = q(db, """
    select a.id, a.worker_id, a.job_id, a.nonce_start, a.nonce_end,
           b.id, b.worker_id, b.job_id, b.nonce_start, b.nonce_end
    from leases a join jobs ja on ja.id = a.job_id,
         leases b join jobs jb on jb.id = b.job_id
    where a.id < b.id and ja.blob = jb.blob and ja.seed = jb.seed
      and a.nonce_start < b.nonce_end and b.nonce_start < a.nonce_end
    order by a.id, b.id""")
nleases = q(db, "select count(*) from leases")[0][0]
njobs = q(db, "select count(*), count(distinct hex(blob) || hex(seed)) from jobs")[0]
diag("ledger: %d leases on %d job rows (%d distinct (blob, seed))"
     % (nleases, njobs[0], njobs[1]))
for o in overlap[:8]:
    diag("lease %d (%s, job %d, [%d, %d)) overlaps lease %d (%s, job %d, [%d, %d))" % o)
ok(not overlap, "(a) no (blob, seed, nonce) range was leased twice (%d overlapping "
   "pairs of %d leases)" % (len(overlap), nleases))
# The leases the workers were told must be in the ledger too, or (a) proves
# nothing about them.
ledger_leases = set(q(db, "select worker_id, job_id, nonce_start, nonce_end from leases"))
unrecorded = [l for l in leases_seen if l[1:] not in ledger_leases]
ok(not unrecorded, "every lease handed to a worker is a ledger row (%d of %d not%s)"
   % (len(unrecorded), len(leases_seen), ": %r" % unrecorded[:3] if unrecorded else ""))

# (b) One credit per piece of work.
twice = q(db, """
    select hex(j.seed), s.nonce, count(*), group_concat(s.id), group_concat(s.job_id),
           group_concat(s.worker_id)
    from shares s join jobs j on j.id = s.job_id
    where s.verdict = 'accepted'
    group by j.blob, j.seed, s.nonce having count(*) > 1
    order by count(*) desc, s.nonce""")
for t in twice[:8]:
    diag("seed %s.. nonce %d credited %d times: shares %s, jobs %s, workers %s"
         % ((t[0][:16],) + t[1:]))
ok(not twice, "(b) no (blob, seed, nonce) credited twice across jobs (%d credited more "
   "than once)" % len(twice))

# (d) The audit, which must see what (a) and (b) see.
rc, out = audit(db)
diag("audit: " + out[-600:])
ok(rc == 0, "(d) coopmine-cli audit exits 0")
ok((rc != 0) == bool(overlap or twice), "the audit sees what (a) and (b) see (audit "
   "exit %d; %d overlapping leases, %d double credits)" % (rc, len(overlap), len(twice)))
done()
