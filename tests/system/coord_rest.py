# coord_rest.py: the dashboard's REST answers of a real coordinator,
# compared field by field with its ledger read by sqlite3 (issue 15).
# A test pool with an easy network target (nbits 2007ffff: about one real
# share in three is a block; the test hashes until it has the kind it wants), the coordinator (verify none) with its
# dashboard, two synthetic workers that submit real shares (tests/rx_hash)
# -- some of them blocks -- and a few bad ones (a result above the target:
# low_difficulty; a nonce outside the lease; a duplicate).  Then, against
# sqlite3 on the ledger file:
#   /api/stats         share / block / worker counts;
#   /api/workers       the worker ids, their valid / invalid counts;
#   /api/workers/{id}  the same for each, and 404 for an unknown id;
#   /api/shares        every share: id, worker, difficulty, verdict, reason;
#   /api/blocks        every block: id, height, hash, status, worker.
import os
import struct
import subprocess
import time

import grpc
from rpc_lib import B, T, channel, code_of, diag, done, gen_certs, ok, pb, stub, wait_until
from itest_lib import coordinator, dash_port, http_json, q, testpool, watchdog

watchdog(240)
W = ("worker-1", "worker-2")
certs = gen_certs(os.path.join(T, "certs"), *W)
pool, pport = testpool("pool", 0, "--difficulty", "10", "--nbits", "2007ffff",
                       "--job-interval", "3600s", "--block-interval", "0")
db = os.path.join(T, "ledger.db")
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport, db,
    "--verify", "none", "--min-difficulty", "10", "--max-difficulty", "10",
    "--hashrate-guess", "1", "--heartbeat-interval", "600s",
    "--dashboard-listen", "127.0.0.1:0", "--dashboard-ws-listen", "127.0.0.1:0")
dport = dash_port(coord) if port is not None else None
if not ok(pool is not None and port is not None and dport is not None,
          "a test pool and the coordinator with its dashboard up"):
    done()
stubs = {w: stub(channel(port, certs, w)) for w in W}
jobs = {}
for w in W:
    end = time.time() + 20
    while time.time() < end:
        reg, code, _ = code_of(stubs[w].Register, pb.RegisterRequest(
            worker_id=w, worker_name=w + "-name", threads=2), timeout=5)
        if reg is not None and reg.HasField("current_job"):
            jobs[w] = reg.current_job
            break
        time.sleep(0.1)
if not ok(len(jobs) == 2, "both workers registered with a lease"):
    done()


def submit(w, job, n, result):
    r, code, det = code_of(stubs[w].SubmitShare, pb.ShareRequest(
        worker_id=w, job_id=job.job_id, nonce=struct.pack("<I", n), result=result,
        lease_id=job.lease_id), timeout=30)
    if r is None and code == grpc.StatusCode.UNAVAILABLE:
        # Seen once with grpcio right after the rx_hash child was forked:
        # the client's connection closed.  A worker reconnects and sends
        # the share again (the coordinator answers a resent share as before).
        diag("%s: SubmitShare: %s %s; sending it again" % (w, code, det))
        r, code, det = code_of(stubs[w].SubmitShare, pb.ShareRequest(
            worker_id=w, job_id=job.job_id, nonce=struct.pack("<I", n),
            result=result, lease_id=job.lease_id), timeout=30)
    if r is None:
        diag("%s: SubmitShare failed: %s %s" % (w, code, det))
    return r


def current_job(w):
    """The job the coordinator gives w now (a found block moves the pool on)."""
    reg, code, det = code_of(stubs[w].Register, pb.RegisterRequest(
        worker_id=w, worker_name=w + "-name", threads=2), timeout=10)
    return reg.current_job if reg is not None else None


# Real shares, each on the job current when it is hashed: three for
# worker-1, two for worker-2, alternating; a duplicate by the other worker;
# then the bad ones.
verdicts = []
real = []
def is_block(job, h):
    return int.from_bytes(h, "little") <= int.from_bytes(job.block_target, "little")


used = set()     # (job, nonce) already sent: the same lease may come back


def pick(job, block, seconds=120):
    """Hashes job's lease in order with tests/rx_hash until a share that
    meets the job's target, was not sent before, and is (or is not) a block
    turns up: ([(nonce, hash)] or [], nonces hashed)."""
    rx = subprocess.Popen([os.path.join(B, "tests/rx_hash")], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    target = struct.unpack("<Q", job.target)[0]
    found, n, t0 = [], job.nonce_start, time.time()
    while not found and n < job.nonce_end and time.time() - t0 < seconds:
        b = bytearray(job.blob)
        b[job.nonce_offset:job.nonce_offset + 4] = struct.pack("<I", n)
        rx.stdin.write("%s %s\n" % (job.seed_hash.hex(), bytes(b).hex()))
        rx.stdin.flush()
        h = bytes.fromhex(rx.stdout.readline().strip())
        if struct.unpack("<Q", h[24:])[0] <= target and \
                (job.job_id, n) not in used and is_block(job, h) == block:
            found = [(n, h)]
            used.add((job.job_id, n))
        n += 1
    rx.stdin.close()
    rx.wait()
    return found, n - job.nonce_start


for w, want_block in (("worker-1", True), ("worker-2", False), ("worker-1", False),
                      ("worker-2", True), ("worker-1", False)):
    job = current_job(w)
    good, hashed = pick(job, want_block)
    if not good:
        verdicts.append((w, "real", None, None))
        continue
    njobs = q(db, "select count(*) from jobs")[0][0]
    r = submit(w, job, *good[0])
    if r is not None and r.is_block:
        # The pool moves on to the next height once it has checked the
        # block: wait for that job, so the next share is not stale.
        ok(wait_until(lambda: q(db, "select count(*) from jobs")[0][0] > njobs, 30,
                      0.1), "%s found a block: the pool's next job arrives" % w)
    # A block found meanwhile moves the pool on: hash again on the new job.
    for _ in range(3):
        if r is None or r.accepted or "stale" not in r.reason:
            break
        job = current_job(w)
        good, hashed = pick(job, want_block)
        r = submit(w, job, *good[0])
    if r is not None and not r.accepted:
        diag("%s: real share refused: %s" % (w, r.reason))
    real.append((w, job, good[0]))
    verdicts.append((w, "real", r.accepted if r else None, r.is_block if r else None))
w, job, (n, h) = real[-1]
other = "worker-2" if w == "worker-1" else "worker-1"
r = submit(other, job, n, h)                                     # not its lease
verdicts.append((other, "foreign", r.accepted if r else None, None))
j2 = current_job("worker-2")
r = submit("worker-2", j2, j2.nonce_end - 1, b"\xff" * 32)       # low difficulty
verdicts.append(("worker-2", "low", r.accepted if r else None, None))
r = submit("worker-2", j2, j2.nonce_end + 5, bytes(32))          # outside lease
verdicts.append(("worker-2", "outside", r.accepted if r else None, None))
diag("submitted: %r" % verdicts)
ok([v[2] for v in verdicts if v[1] == "real"] == [True] * 5
   and not any(v[2] for v in verdicts if v[1] != "real"),
   "the five real shares are accepted, the three bad ones refused")
ok([v[3] for v in verdicts if v[1] == "real"] == [True, False, False, True, False],
   "two of them are blocks, three are not (nbits 2007ffff, chosen by their hash)")
# The ledger writer commits within milliseconds; the block statuses follow
# the pool's answers: wait until none is still a candidate or submitted.
ok(wait_until(lambda: q(db, "select count(*) from shares")[0][0] == len(verdicts)
              and q(db, "select count(*) from blocks where status in "
                    "('candidate', 'submitted')")[0][0] == 0, 20, 0.1),
   "the ledger holds all %d shares and the pool's answer to every block"
   % len(verdicts))

def same(what, api, led):
    """One field of the API against the ledger; lists the differences."""
    bad = {k: (api.get(k), led[k]) for k in led if api.get(k) != led[k]}
    return ok(not bad, "%s equals the ledger%s" % (
        what, "" if not bad else ": differs (api, ledger) %r" % bad))


# /api/stats
code, st = http_json(dport, "/api/stats")
ok(code == 200 and st is not None, "/api/stats answers 200")
st = st or {}
valid, invalid = q(db, "select sum(verdict = 'accepted'), sum(verdict = 'rejected') "
                   "from shares")[0]
same("/api/stats counts", st, {
    "shares_valid": valid, "shares_invalid": invalid,
    "blocks_found": q(db, "select count(*) from blocks")[0][0],
    "workers_total": q(db, "select count(*) from workers")[0][0],
    "rejections": dict(q(db, "select reason, count(*) from shares where verdict = "
                         "'rejected' group by reason"))})
diag("ledger: %d shares valid, %d invalid" % (valid, invalid))

# /api/workers and /api/workers/{id}
led_w = {r[0]: {"worker_name": r[1], "threads": r[2], "shares_valid": r[3],
                "shares_invalid": r[4]}
         for r in q(db, "select id, name, threads, shares_valid, shares_invalid "
                    "from workers")}
counted = {r[0]: (r[1], r[2]) for r in q(db, "select worker_id, sum(verdict = "
           "'accepted'), sum(verdict = 'rejected') from shares group by worker_id")}
ok(all(counted.get(w, (0, 0)) == (v["shares_valid"], v["shares_invalid"])
       for w, v in led_w.items()),
   "(the ledger's own per-worker counters match its share rows: %r)" % counted)
code, ws = http_json(dport, "/api/workers?limit=100")
ws = ws or {}
api_w = {x["worker_id"]: x for x in ws.get("workers", [])}
ok(code == 200 and sorted(api_w) == sorted(led_w) and ws.get("total") == len(led_w),
   "/api/workers lists exactly the ledger's workers %s (total %r)"
   % (sorted(led_w), ws.get("total")))
for w, v in sorted(led_w.items()):
    n = v["shares_valid"] + v["shares_invalid"]
    want = dict(v, rejected_pct=(100.0 * v["shares_invalid"] / n) if n else 0.0)
    same("/api/workers entry %s" % w, api_w.get(w, {}), want)
    code, one = http_json(dport, "/api/workers/%s" % w)
    ok(code == 200, "/api/workers/%s answers 200" % w)
    same("/api/workers/%s" % w, one or {}, want)
code, _ = http_json(dport, "/api/workers/worker-nobody")
ok(code == 404, "/api/workers/worker-nobody: 404 (%r)" % code)

# /api/shares: every share, field by field
code, sh = http_json(dport, "/api/shares?limit=500")
sh = sh or {}
led_s = {r[0]: {"worker_id": r[1], "job_id": "%016x" % r[2] if r[2] else "",
                "difficulty": float(r[3]),
                "status": "valid" if r[4] == "accepted" else "invalid",
                "reason": "" if r[5] == "ok" else r[5], "is_block": bool(r[6]),
                "upstream": r[7], "time": r[8]}
         for r in q(db, "select id, worker_id, job_id, difficulty, verdict, reason, "
                    "block_candidate, upstream, created_at from shares")}
api_s = {x["share_id"]: x for x in sh.get("shares", [])}
ok(code == 200 and sorted(api_s) == sorted(led_s) and sh.get("total") == len(led_s),
   "/api/shares lists exactly the ledger's %d shares (ids %s, total %r)"
   % (len(led_s), sorted(api_s), sh.get("total")))
bad = {i: {k: (api_s.get(i, {}).get(k), v[k]) for k in v
           if api_s.get(i, {}).get(k) != v[k]}
       for i, v in led_s.items()}
bad = {i: d for i, d in bad.items() if d}
ok(not bad, "/api/shares: worker, job, difficulty, status, reason, block, upstream "
   "and time of every share equal the ledger%s"
   % ("" if not bad else ": differs (api, ledger) %r" % bad))

# /api/blocks: every block, field by field
code, bl = http_json(dport, "/api/blocks?limit=100")
bl = bl or {}
led_b = {r[0]: {"height": r[1], "hash": r[2].hex(), "status": r[3], "share_id": r[4],
                "found_by": r[5], "time": r[6], "reward": r[7]}
         for r in q(db, "select b.id, b.height, b.hash, b.status, b.share_id, "
                    "s.worker_id, b.found_at, b.reward from blocks b "
                    "join shares s on s.id = b.share_id")}
api_b = {x["block_id"]: x for x in bl.get("blocks", [])}
ok(code == 200 and len(led_b) > 0 and sorted(api_b) == sorted(led_b)
   and bl.get("total") == len(led_b),
   "/api/blocks lists exactly the ledger's %d blocks (ids %s)"
   % (len(led_b), sorted(api_b)))
bad = {i: {k: (api_b.get(i, {}).get(k), v[k]) for k in v
           if api_b.get(i, {}).get(k) != v[k]}
       for i, v in led_b.items()}
bad = {i: d for i, d in bad.items() if d}
ok(not bad, "/api/blocks: height, hash, status, share, finder, time and reward of "
   "every block equal the ledger%s" % ("" if not bad else ": differs (api, ledger) %r"
                                        % bad))
ok(coord.stop(20) == 0, "the coordinator exits 0 on SIGTERM")
pool.stop()
done()
