# coord_vardiff.py: the real coordinator's vardiff converges to the share
# interval (issue 15).  Two synthetic workers (verify none: an all-zero
# result meets any target) find shares at a fixed simulated hashrate: one
# share every difficulty / hashrate seconds, the difficulty read from the
# latest JobMessage on their StreamJobs.  They send no heartbeat (the
# heartbeat interval is long), so only the share rate can steer vardiff.
#   - worker-fast (2000 H/s) starts at difficulty 10 (hashrate guess 10 H/s):
#     the coordinator must raise it;
#   - worker-slow (50 H/s, registered with 64 threads) starts at 640, one
#     share in 12.8 s: the coordinator must lower it (the overdue-window
#     path);
# share_interval 1 s, retarget 2 s.  After CONVERGE s, over the next
# MEASURE s, each worker's mean share interval is within +-50 % of 1 s and
# its difficulty within +-50 % of hashrate x 1 s; it got there through
# at least two retargets.  Bounded: CONVERGE + MEASURE + start-up.
import os
import time

from rpc_lib import T, diag, done, gen_certs, ok
from itest_lib import SimWorker, coordinator, testpool, watchdog

watchdog(150)
INTERVAL, RETARGET = 1.0, 2.0
CONVERGE, MEASURE = 26.0, 12.0
WORKERS = {"worker-fast": (2000.0, 1), "worker-slow": (50.0, 64)}
certs = gen_certs(os.path.join(T, "certs"), *WORKERS)
pool, pport = testpool("pool", 0, "--difficulty", "1000000000",
                       "--job-interval", "3600s", "--block-interval", "0")
db = os.path.join(T, "ledger.db")
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport, db,
    "--verify", "none", "--min-difficulty", "1", "--max-difficulty", "1000000",
    "--share-interval", "%dms" % (INTERVAL * 1000),
    "--vardiff-retarget", "%dms" % (RETARGET * 1000),
    "--hashrate-guess", "10", "--heartbeat-interval", "600s",
    "--worker-share-rate", "1000", "--worker-share-burst", "1000",
    "--lease-min", "1000000")
if not ok(pool is not None and port is not None, "a test pool and the coordinator up"):
    done()




sims = [SimWorker(port, certs, w, *WORKERS[w]) for w in WORKERS]
for s in sims:
    ok(s.register(), "%s registered (difficulty %d, %d thread(s))"
       % (s.wid, s.job.difficulty if s.job else -1, s.threads))
for s in sims:
    s.start()
t0 = time.time()
while time.time() - t0 < CONVERGE + MEASURE:   # the workers run meanwhile
    if coord.p.poll() is not None:
        break
    time.sleep(0.2)
for s in sims:
    s.stop.set()
for s in sims:
    s.join(10)
    s.feed.close()

for s in sims:
    want = s.rate * INTERVAL
    traj = [d for _, d in s.diffs]
    diag("%s (%.0f H/s, wanted difficulty %.0f): difficulties sent %s"
         % (s.wid, s.rate, want, traj))
    win = [(t, d) for t, d in s.sent if t >= t0 + CONVERGE]
    mean = (win[-1][0] - win[0][0]) / (len(win) - 1) if len(win) >= 2 else None
    final = s.diffs[-1][1]
    diag("%s: %d shares accepted, %d not; in the last %.0f s: %d shares, mean "
         "interval %s s, difficulty %d"
         % (s.wid, len(s.sent), len(s.rejected), MEASURE, len(win),
            "%.2f" % mean if mean is not None else "-", final))
    changes = sum(1 for a, b in zip(traj, traj[1:]) if a != b)
    ok(changes >= 2, "%s: the difficulty was retargeted (%d changes: %s)"
       % (s.wid, changes, traj))
    ok(mean is not None and 0.5 * INTERVAL <= mean <= 1.5 * INTERVAL,
       "%s: after %.0f s the share interval is within +-50 %% of %.1f s (%s s over "
       "%d shares)" % (s.wid, CONVERGE, INTERVAL,
                       "%.2f" % mean if mean is not None else "-", len(win)))
    ok(0.5 * want <= final <= 1.5 * want,
       "%s: its difficulty %d is within +-50 %% of hashrate x interval (%.0f)"
       % (s.wid, final, want))
    ok(len(s.rejected) <= 2, "%s: its shares are accepted (%d refused: %r)"
       % (s.wid, len(s.rejected), s.rejected[:3]))
ok(coord.stop(20) == 0, "the coordinator exits 0 on SIGTERM")
pool.stop()
done()
