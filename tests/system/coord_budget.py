# coord_budget.py: vardiff aims at the coordinator's verification budget
# (issue 16).  With `--verify-budget 2` (shares/s) and a share interval of
# 1 s, six simulated workers of 1000 H/s each would send 6 shares/s on the
# interval alone; the budget must raise every worker's difficulty to at
# least hashrate x workers / budget (3000) so that the cluster's share rate
# stays within 2/s.  One worker mines alone first (its difficulty stays at
# the interval's ~1000: one worker is within budget), then five more join:
# within a few ticks all six must have difficulty >= 3000, and over the
# next MEASURE s the accepted shares of all six together must stay within
# the budget (+30 % for Poisson noise; the interval alone would give ~3x).
# verify none: an all-zero result meets any target, so the simulated
# shares cost nothing to make; the budget does not depend on the mode.
import os
import time

from rpc_lib import T, diag, done, gen_certs, ok
from itest_lib import SimWorker, coordinator, testpool, watchdog

watchdog(150)
RATE, BUDGET, MEASURE = 1000.0, 2.0, 24.0
IDS = ["budget-%d" % i for i in range(6)]
FLOOR = RATE * len(IDS) / BUDGET
certs = gen_certs(os.path.join(T, "certs"), *IDS)
pool, pport = testpool("pool", 0, "--difficulty", "1000000000",
                       "--job-interval", "3600s", "--block-interval", "0")
db = os.path.join(T, "ledger.db")
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport, db,
    "--verify", "none", "--verify-budget", "%g" % BUDGET,
    "--min-difficulty", "1", "--max-difficulty", "100000000",
    "--share-interval", "1s", "--vardiff-retarget", "3s",
    "--hashrate-guess", "%d" % RATE, "--heartbeat-interval", "600s",
    "--worker-share-rate", "1000", "--worker-share-burst", "1000",
    "--lease-min", "1000000")
if not ok(pool is not None and port is not None, "a test pool and the coordinator up"):
    done()




sims = [SimWorker(port, certs, w, RATE) for w in IDS]
first = sims[0]
ok(first.register(), "%s registered alone (difficulty %d)"
   % (first.wid, first.job.difficulty if first.job else -1))
first.start()
time.sleep(3)           # a few ticks alone: within budget, no floor
alone = first.latest().difficulty
ok(alone < FLOOR, "alone, %s mines at difficulty %d (below the six-worker "
   "floor %.0f)" % (first.wid, alone, FLOOR))
for s in sims[1:]:
    ok(s.register(), "%s registered (difficulty %d)"
       % (s.wid, s.job.difficulty if s.job else -1))
    s.start()

deadline = time.time() + 15
while time.time() < deadline and any(s.latest().difficulty < FLOOR for s in sims):
    time.sleep(0.2)
raised = [s.latest().difficulty for s in sims]
ok(all(d >= FLOOR for d in raised), "with six workers every difficulty rose to "
   ">= %.0f (hashrate x workers / budget): %s" % (FLOOR, raised))

t0 = time.time()
while time.time() - t0 < MEASURE and coord.p.poll() is None:
    time.sleep(0.2)
t1 = time.time()
for s in sims:
    s.stop.set()
for s in sims:
    s.join(10)
    s.feed.close()

total = sum(1 for s in sims for t, _ in s.sent if t0 <= t <= t1)
rate = total / (t1 - t0)
for s in sims:
    diag("%s: difficulties sent %s; %d accepted, %d refused"
         % (s.wid, [d for _, d in s.diffs], len(s.sent), len(s.rejected)))
ok(total > 0, "shares were still accepted (%d in %.0f s)" % (total, t1 - t0))
ok(rate <= BUDGET * 1.3, "the cluster's share rate %.2f/s stays within the "
   "budget of %.1f/s (the 1 s interval alone would give %.0f/s)"
   % (rate, BUDGET, len(IDS) / 1.0))
ok(all(d >= FLOOR for s in sims for t, d in s.diffs if t >= t0),
   "no difficulty fell below the floor while measuring")
ok(sum(len(s.rejected) for s in sims) <= 3, "shares are accepted, not refused "
   "(%r)" % [r for s in sims for r in s.rejected][:3])
ok(coord.stop(20) == 0, "the coordinator exits 0 on SIGTERM")
pool.stop()
done()
