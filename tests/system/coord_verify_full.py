# coord_verify_full.py: the real coordinator with verify = full, once
# (issue 15).  It builds the 2 GiB RandomX dataset of the pool's seed (about
# a minute on two cores) and must say it is ready -- a fall-back to light
# mode fails the test, it is never a silent light-mode run under a full-mode
# name.  Then, verified against that dataset:
#   - real shares (hashed by tests/rx_hash) are accepted;
#   - a forged result for a nonce whose real hash misses the target (an
#     all-zero "hash" that meets any target) is refused as bad_hash, and a
#     real hash sent with the wrong nonce too.
# Without ~3 GiB of available memory the test SKIPs, saying why (TAP
# "1..0 # SKIP", shown as SKIP by make check); COOPMINE_TEST_MEM_MIB
# overrides MemAvailable so the skip itself can be seen.
import os
import struct
import sys
import time

NEED_MIB = 3 * 1024


def mem_available_mib():
    if os.environ.get("COOPMINE_TEST_MEM_MIB"):
        return int(os.environ["COOPMINE_TEST_MEM_MIB"])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return -1


have = mem_available_mib()
if have < NEED_MIB:
    print("1..0 # SKIP verify = full needs about %d MiB of available memory for "
          "the RandomX dataset; this machine has %s" %
          (NEED_MIB, "%d MiB" % have if have >= 0 else "an unknown amount"))
    sys.exit(0)

from rpc_lib import (T, channel, code_of, diag, done, gen_certs, ok, pb,  # noqa: E402
                    stub, wait_until)
from itest_lib import coordinator, q, real_shares, testpool, watchdog  # noqa: E402

watchdog(380)
certs = gen_certs(os.path.join(T, "certs"), "worker-1")
pool, pport = testpool("pool", 0, "--difficulty", "10", "--job-interval", "3600s",
                       "--block-interval", "0")
db = os.path.join(T, "ledger.db")
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport, db,
    "--verify", "full", "--min-difficulty", "10", "--max-difficulty", "10",
    "--hashrate-guess", "1", "--heartbeat-interval", "600s")
if not ok(pool is not None and port is not None,
          "a test pool and the coordinator (verify full) up, %d MiB available" % have):
    done()
t0 = time.time()
m = coord.wait_log(r"verify: full dataset ready in (\d+) ms \(([^)]*)\)|"
                   r"verify: no full dataset", 200)
ready = m is not None and m.group(1) is not None
diag("dataset: %s after %.1f s" % (m.group(0) if m else "nothing logged", time.time() - t0))
if not ok(ready, "the coordinator builds the full dataset (no fall-back to light mode)"):
    diag(coord.text()[-2000:])
    done()
st = stub(channel(port, certs, "worker-1"))
reg, code, det = code_of(st.Register, pb.RegisterRequest(
    worker_id="worker-1", worker_name="worker-1", threads=1), timeout=10)
if not ok(reg is not None and reg.HasField("current_job"), "worker-1 registered with a job"):
    done()
job = reg.current_job
good, hashed = real_shares(job, 2, 120)
ok(len(good) == 2, "two real shares found in %d hashes" % hashed)


def submit(n, result):
    r, code, det = code_of(st.SubmitShare, pb.ShareRequest(
        worker_id="worker-1", job_id=job.job_id, nonce=struct.pack("<I", n),
        result=result, lease_id=job.lease_id), timeout=30)
    return (r.accepted, r.reason) if r is not None else (None, "%s %s" % (code, det))


v = [submit(n, h) for n, h in good]
ok(all(x[0] for x in v), "verified in full mode, the real shares are accepted (%r)" % v)
# A nonce of the lease not sent yet (at a low difficulty every hash may be a
# share, so there need not be a miss below the last good one).
goodn = {n for n, _ in good}
miss = next(n for n in range(job.nonce_start, job.nonce_end) if n not in goodn)
v = submit(miss, bytes(32))
ok(v[0] is False and "does not match" in v[1],
   "a forged result (nonce %d, all-zero hash) is refused: %r" % (miss, v))
n1, h1 = good[0]
other = next(n for n in range(good[-1][0] + 1, job.nonce_end)
             if n not in goodn and n != miss)
v = submit(other, h1)
ok(v[0] is False and "does not match" in v[1],
   "a real hash sent with another nonce (%d) is refused: %r" % (other, v))
def reasons():
    return dict(q(db, "select reason, count(*) from shares group by reason"))


wait_until(lambda: sum(reasons().values()) >= 4, 10, 0.1)
rows = reasons()
ok(rows == {"ok": 2, "bad_hash": 2},
   "the ledger: 2 accepted, 2 bad_hash (%r)" % rows)
ok("verify full" in coord.text(), "the coordinator announces verify full")
ok(coord.stop(30) == 0, "the coordinator exits 0 on SIGTERM")
pool.stop()
done()
