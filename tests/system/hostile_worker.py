# hostile_worker.py: a faulty or hostile machine is blamed, not the cluster
# (issue 12).  Beside one honest worker (a crafted client submitting, at a
# fixed pace, real shares hashed beforehand with tests/rx_hash; the
# coordinator verifies them with RandomX, --verify light), a crafted client
# holding its own valid certificate:
#   - registers with threads = 2147483647: its lease is at most a quarter of
#     the space left, and a worker registering next still gets work;
#   - reports hashrates +Inf and NaN: the cluster's total hashrate stays a
#     finite number that still counts the honest worker (GetClusterStats,
#     /api/stats);
#   - registers 100 times more: always the same live lease, one lease row;
#   - opens a second job stream: the first one ends, cancelled;
#   - floods invalid shares (an all-zero result: it meets any target, only
#     RandomX can refuse it), 400 in flight: the honest worker's credited
#     share rate during the flood is at least 90 % of its rate alone, and
#     none of its shares is answered "verification queue full: retry";
#   - ends quarantined: PERMISSION_DENIED mentioning "quarantine", and
#     /api/workers shows "quarantined": true.
# Then revocation: `coopmine-cli workers revoke hostile-1` refuses it within
# 3 s ("revoked"), still after a restart, and `workers unrevoke` lifts it.
import math
import os
import struct
import threading
import time

from rpc_lib import (B, T, channel, code_of, diag, done, gen_certs, ok, pb,
                     start_testpool, stub, wait_until)
from itest_lib import (cli, coordinator, free_port, http_json, q, real_shares,
                       watchdog)
import grpc

watchdog(420)
WINDOW = float(os.environ.get("COOPMINE_HOSTILE_WINDOW", "20"))   # seconds
PACE = 0.5                                    # one honest share every PACE s
FLOOD = 400                                   # hostile shares in flight
MAXINT = 2147483647
SPACE = 1 << 32
certs = gen_certs(os.path.join(T, "certs"), "honest-1", "hostile-1", "late-1")
pool, pool_url = start_testpool("--difficulty", "1000000000", "--job-interval", "600s",
                                 "--block-interval", "0")
db = os.path.join(T, "ledger.db")
dport = free_port()
# The honest worker's pace is the configured share interval: a per-identity
# budget sized from it must admit every honest share.
COORD_ARGS = ("--verify", "light", "--verify-threads", "1", "--verify-queue", "64",
              "--min-difficulty", "2", "--max-difficulty", "2", "--hashrate-guess", "1",
              "--share-interval", "%dms" % int(PACE * 1000),
              "--heartbeat-interval", "1s", "--dashboard-listen", "127.0.0.1:%d" % dport,
              "--dashboard-ws-listen", "127.0.0.1:%d" % free_port())
coord, port = coordinator("coord", certs, pool_url, db, *COORD_ARGS)
if not ok(port is not None, "coordinator up (verify light)"):
    done()


def api(path):
    return http_json(dport, path)


def register(st, worker, threads=1, wait=20):
    end = time.time() + wait
    while True:
        r, code, det = code_of(st.Register, pb.RegisterRequest(
            worker_id=worker, worker_name=worker, threads=threads), timeout=5)
        if (r is not None and r.success and r.HasField("current_job")) or \
                time.time() > end:
            return r, code, det
        time.sleep(0.1)


def lease_of(j):
    return (j.job_id, j.lease_id, j.nonce_start, j.nonce_end)


# ---- the honest worker ------------------------------------------------------
hch = channel(port, certs, "honest-1")
hst = stub(hch)
reg, code, det = register(hst, "honest-1")
ok(reg is not None and reg.success and reg.current_job.nonce_end > reg.current_job.nonce_start,
   "the honest worker registers and gets a lease (%s)" % (det or "ok"))
hjob = reg.current_job
honest_beating = threading.Event()
honest_beating.set()
beats_failed = []


def honest_beats():
    while honest_beating.is_set():
        r, code, det = code_of(hst.Heartbeat, pb.HeartbeatRequest(
            worker_id="honest-1", hashrate=4.0), timeout=5)
        if code != grpc.StatusCode.OK:
            beats_failed.append((code, det))
        time.sleep(0.5)


threading.Thread(target=honest_beats, daemon=True).start()
hstream = hst.StreamJobs(pb.StreamJobsRequest(worker_id="honest-1"))


def drain(call):
    try:
        for _ in call:
            pass
    except grpc.RpcError:
        pass


threading.Thread(target=drain, args=(hstream,), daemon=True).start()

# ---- hostile: a huge thread count -------------------------------------------
xch = channel(port, certs, "hostile-1")
xst = stub(xch)
reg, code, det = register(xst, "hostile-1", threads=MAXINT)
ok(reg is not None and reg.success, "the hostile client registers with threads = %d (%s)"
   % (MAXINT, det or "ok"))
xjob = reg.current_job
left = SPACE - (hjob.nonce_end - hjob.nonce_start)
size = xjob.nonce_end - xjob.nonce_start
diag("honest lease [%d, %d) on job %s; hostile lease [%d, %d) on job %s: %d nonces, "
     "%.4f %% of the %d left" % (hjob.nonce_start, hjob.nonce_end, hjob.job_id,
                                 xjob.nonce_start, xjob.nonce_end, xjob.job_id, size,
                                 100.0 * size / left, left))
ok(0 < size <= left // 4, "its lease is at most a quarter of the space left (%d of %d)"
   % (size, left))
lch = channel(port, certs, "late-1")
lst = stub(lch)
reg, code, det = register(lst, "late-1")
ljob = reg.current_job if reg is not None else None
ok(ljob is not None and ljob.nonce_end > ljob.nonce_start,
   "a worker registering after it still gets work (%s)"
   % ("[%d, %d)" % (ljob.nonce_start, ljob.nonce_end) if ljob else det))
ok(ljob is not None and (ljob.job_id != xjob.job_id or ljob.nonce_end <= xjob.nonce_start
                         or xjob.nonce_end <= ljob.nonce_start),
   "and its lease does not overlap the hostile one")
lch.close()

# ---- honest shares, hashed beforehand ---------------------------------------
need = int(2 * WINDOW / PACE) + 12
t0 = time.time()
good, hashed = real_shares(hjob, need)
diag("hashed %d nonces in %.1f s: %d shares for the honest worker (difficulty %d)"
     % (hashed, time.time() - t0, len(good), hjob.difficulty))
if not ok(len(good) >= need, "enough honest shares to measure (%d of %d)" % (len(good), need)):
    done()

# ---- hostile: +Inf and NaN hashrates ----------------------------------------
def total_ok(label):
    cs, code, det = code_of(hst.GetClusterStats, pb.ClusterStatsRequest(), timeout=5)
    tot = cs.total_hashrate if cs is not None else float("nan")
    ok(code == grpc.StatusCode.OK and math.isfinite(tot) and tot > 0,
       "after a %s hashrate: GetClusterStats total_hashrate is finite and still counts "
       "the honest worker (> 0) (%r)" % (label, tot))
    status, st = api("/api/stats")
    tot = st.get("total_hashrate") if st else None
    ok(status == 200 and isinstance(tot, (int, float)) and math.isfinite(tot) and tot > 0,
       "after a %s hashrate: /api/stats total_hashrate is finite and still counts the "
       "honest worker (> 0) (%s %r)" % (label, status, tot))
    ws, code, det = code_of(hst.GetWorkerStats, pb.WorkerStatsRequest(worker_id="hostile-1"),
                            timeout=5)
    ok(ws is not None and math.isfinite(ws.hashrate),
       "after a %s hashrate: the hostile worker's own hashrate is a finite number (%r)"
       % (label, ws.hashrate if ws else det))


for label, value in (("+Inf", float("inf")), ("NaN", float("nan"))):
    r, code, det = code_of(xst.Heartbeat, pb.HeartbeatRequest(
        worker_id="hostile-1", hashrate=value), timeout=5)
    diag("heartbeat with hashrate %s: %s %s" % (label, code, det or (r and r.message)))
    time.sleep(1.2)          # the honest worker beats every 0.5 s meanwhile
    total_ok(label)
ok(coord.p.poll() is None, "the coordinator is still running after them")

# ---- hostile: 100 more Registers --------------------------------------------
# Whatever lease is live now (a heartbeat may have resized it), 100 more
# Registers must all answer with that one lease and add no lease row.
# The hostile client beat only twice: it may have timed out meanwhile, and
# a worker gone offline has its leases released, so its next Register
# rightly gets a fresh one.  That Register comes first; the 100 after it
# must all get its lease back and add no row.
code_of(xst.Register, pb.RegisterRequest(worker_id="hostile-1",
        worker_name="hostile-1", threads=MAXINT), timeout=5)
time.sleep(1.0)              # the ledger writer commits within its batch time
rows_before = q(db, "select count(*) from leases where worker_id = 'hostile-1'")[0][0]
seen = []
for i in range(100):
    r, code, det = code_of(xst.Register, pb.RegisterRequest(
        worker_id="hostile-1", worker_name="hostile-1", threads=MAXINT), timeout=5)
    seen.append(lease_of(r.current_job) if r is not None and r.success and
                r.HasField("current_job") and r.current_job.nonce_end >
                r.current_job.nonce_start else (code, det))
first = seen[0]
same = sum(1 for s in seen if s == first and len(s) == 4)
diag("re-Register answers: %d the same live lease %r; first different: %r"
     % (same, first, next((s for s in seen if s != first), None)))
ok(same == 100, "100 re-Registers return one and the same live lease, with its job "
   "(%d of 100)" % same)
time.sleep(1.0)
rows = q(db, "select count(*) from leases where worker_id = 'hostile-1'")[0][0]
ok(rows == rows_before, "the ledger gained no lease row of the hostile worker from "
   "them (%d before, %d after)" % (rows_before, rows))

# ---- hostile: a second job stream --------------------------------------------
class Stream:
    def __init__(self, st):
        self.jobs, self.code, self.ended = [], None, threading.Event()
        self.call = st.StreamJobs(pb.StreamJobsRequest(worker_id="hostile-1"))
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        try:
            for j in self.call:
                self.jobs.append(j)
            self.code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.code = e.code()
        self.ended.set()


s1 = Stream(xst)
ok(wait_until(lambda: s1.jobs, 10), "the hostile client's first stream gets a job")
s2 = Stream(stub(channel(port, certs, "hostile-1")))
ended = s1.ended.wait(5)
ok(ended, "a second stream of the same identity ends the first one (within 5 s)")
ok(s1.code == grpc.StatusCode.CANCELLED, "the first stream ends CANCELLED (%s)" % s1.code)
ok(wait_until(lambda: s2.jobs or s2.ended.is_set(), 10) and s2.jobs,
   "the second stream is the live one: it gets a job")
for s in (s1, s2):
    s.call.cancel()

# ---- the honest worker alone, then beside the flood --------------------------
results = []         # one dict per honest share
res_lock = threading.Lock()


def honest_window(tag, until, shares):
    nxt = time.time()
    while time.time() < until and shares:
        nonce, h = shares.pop(0)
        rec = {"tag": tag, "nonce": nonce, "sent": time.time(), "done": None,
               "accepted": None, "reason": "", "retry": 0, "code": None}
        with res_lock:
            results.append(rec)

        def answered(f, rec=rec):
            rec["done"] = time.time()
            try:
                r = f.result()
                rec["code"] = grpc.StatusCode.OK
                rec["accepted"], rec["reason"] = r.accepted, r.reason
                rec["retry"] = r.retry_after_ms
            except grpc.RpcError as e:
                rec["code"], rec["reason"] = e.code(), e.details()

        f = hst.SubmitShare.future(pb.ShareRequest(
            worker_id="honest-1", job_id=hjob.job_id, nonce=struct.pack("<I", nonce),
            result=h, lease_id=hjob.lease_id), timeout=60)
        f.add_done_callback(answered)
        nxt += PACE
        time.sleep(max(0.0, nxt - time.time()))


flood_stop = threading.Event()
flood_seen = {}      # (code name, reason) -> count
flood_lock = threading.Lock()
quarantined_at = []


def flood():
    slots = threading.BoundedSemaphore(FLOOD)
    n = xjob.nonce_start
    sent = 0

    def answered(f):
        try:
            r = f.result()
            key = ("OK", r.reason)
        except grpc.RpcError as e:
            key = (e.code().name, e.details())
            if e.code() == grpc.StatusCode.PERMISSION_DENIED and not quarantined_at:
                quarantined_at.append(time.time())
        with flood_lock:
            flood_seen[key] = flood_seen.get(key, 0) + 1
        slots.release()

    while not flood_stop.is_set() and sent < 100000:
        if not slots.acquire(timeout=0.5):
            continue
        f = xst.SubmitShare.future(pb.ShareRequest(
            worker_id="hostile-1", job_id=xjob.job_id, nonce=struct.pack("<I", n),
            result=bytes(32), lease_id=xjob.lease_id), timeout=60)
        f.add_done_callback(answered)
        sent += 1
        n = n + 1 if n + 1 < xjob.nonce_end else xjob.nonce_start
        if sent % 10 == 0:
            time.sleep(0.01)        # at most ~1000 a second: the box is shared
    for _ in range(FLOOD):             # the answers still in flight
        slots.acquire(timeout=0.2)


shares = list(good)
a0 = time.time()
honest_window("alone", a0 + WINDOW, shares)
a1 = time.time()
fth = threading.Thread(target=flood, daemon=True)
f0 = time.time()
fth.start()
honest_window("flood", f0 + WINDOW, shares)
f1 = time.time()
# The flood goes on until the identity is refused (or 30 s more at most).
wait_until(lambda: quarantined_at, 30, 0.2)
flood_stop.set()
fth.join(40)
wait_until(lambda: all(r["done"] for r in results), 60, 0.2)
with flood_lock:
    for k, v in sorted(flood_seen.items(), key=lambda kv: -kv[1])[:8]:
        diag("hostile answers: %6d x %s %s" % (v, k[0], k[1]))
if quarantined_at:
    diag("hostile refused %.1f s after the flood began" % (quarantined_at[0] - f0))


def window_stats(tag, t_from, t_to):
    mine = [r for r in results if r["tag"] == tag]
    nonces = [r["nonce"] for r in mine]
    credited = 0
    if nonces:
        # Credited during the window: an accepted row, written before the
        # window's end (plus 2 s for the last shares' verification).
        rows = q(db, "select nonce from shares where worker_id = 'honest-1' and "
                 "verdict = 'accepted' and job_id = ? and created_at <= ? and nonce in (%s)"
                 % ",".join("?" * len(nonces)), int(hjob.job_id, 16),
                 int((t_to + 2.0) * 1000), *nonces)
        credited = len(rows)
    lat = sorted(r["done"] - r["sent"] for r in mine if r["done"])
    retries = [r for r in mine if r["retry"] > 0]
    refused = [r for r in mine if r["accepted"] is not True]
    rate = credited / (t_to - t_from)
    diag("%s: %d sent in %.1f s, %d credited (%.2f/s), %d retry answers, latency median "
         "%.0f ms max %.0f ms" % (tag, len(mine), t_to - t_from, credited, rate,
                                  len(retries), 1000 * lat[len(lat) // 2] if lat else -1,
                                  1000 * lat[-1] if lat else -1))
    for r in refused[:5]:
        diag("  %s share nonce %d: %s %r retry %d" % (tag, r["nonce"], r["code"],
                                                       r["reason"], r["retry"]))
    return rate, retries, refused, len(mine)


ra, retries_a, refused_a, na = window_stats("alone", a0, a1)
rf, retries_f, refused_f, nf = window_stats("flood", f0, f1)
ok(na >= WINDOW / PACE - 2 and not refused_a,
   "alone: the honest worker's %d shares are all credited (%d refused)" % (na, len(refused_a)))
ok(ra > 0 and rf >= 0.9 * ra, "during the flood the honest worker's credited share rate "
   "is at least 90 %% of its rate alone (%.2f/s vs %.2f/s: %.0f %%)"
   % (rf, ra, 100.0 * rf / ra if ra else 0))
qfull = [r for r in retries_f + retries_a if "queue full" in r["reason"]]
ok(not qfull, "no honest share is answered \"verification queue full: retry\" (%d)"
   % len(qfull))
ok(not refused_f, "every honest share sent during the flood is accepted (%d not: %s)"
   % (len(refused_f), ", ".join(sorted(set(str(r["reason"]) for r in refused_f)))[:200]))
ok(not beats_failed, "the honest worker's heartbeats all succeed (%d failed%s)"
   % (len(beats_failed), ": %r" % (beats_failed[:2],) if beats_failed else ""))

# ---- the hostile identity ends quarantined ------------------------------------
r, code, det = code_of(xst.Heartbeat, pb.HeartbeatRequest(worker_id="hostile-1",
                                                          hashrate=1.0), timeout=5)
ok(code == grpc.StatusCode.PERMISSION_DENIED and "quarantine" in (det or ""),
   "the hostile identity is quarantined: Heartbeat gets PERMISSION_DENIED (%s: %r)"
   % (code, det))
r, code, det = code_of(xst.SubmitShare, pb.ShareRequest(
    worker_id="hostile-1", job_id=xjob.job_id, nonce=struct.pack("<I", xjob.nonce_start),
    result=bytes(32), lease_id=xjob.lease_id), timeout=10)
ok(code == grpc.StatusCode.PERMISSION_DENIED and "quarantine" in (det or ""),
   "and so does SubmitShare (%s: %r)" % (code, det or (r and r.reason)))
status, body = api("/api/workers?limit=500")
byid = {w.get("worker_id"): w for w in (body or {}).get("workers", [])}
ok(byid.get("hostile-1", {}).get("quarantined") is True,
   "/api/workers shows hostile-1 with \"quarantined\": true (%r)"
   % {k: v for k, v in byid.get("hostile-1", {}).items() if k in ("status", "quarantined")})
ok("honest-1" in byid and not byid["honest-1"].get("quarantined"),
   "/api/workers shows honest-1, not quarantined")
invalid = q(db, "select count(*) from shares where worker_id = 'hostile-1' and "
            "reason = 'bad_hash'")[0][0]
diag("the ledger has %d bad_hash shares of hostile-1" % invalid)
ok(q(db, "select count(*) from shares where worker_id = 'hostile-1' and "
       "verdict = 'accepted'")[0][0] == 0, "no hostile share was credited")

# ---- revocation ----------------------------------------------------------------
def refused_as(st, word, call="Heartbeat"):
    if call == "Register":
        r, code, det = code_of(st.Register, pb.RegisterRequest(
            worker_id="hostile-1", threads=1), timeout=5)
    else:
        r, code, det = code_of(st.Heartbeat, pb.HeartbeatRequest(
            worker_id="hostile-1", hashrate=1.0), timeout=5)
    return code == grpc.StatusCode.PERMISSION_DENIED and word in (det or ""), code, det


rv = cli(db, "workers", "revoke", "hostile-1")
t_rev = time.time()
ok(rv.returncode == 0, "coopmine-cli workers revoke hostile-1 succeeds while the "
   "coordinator runs (exit %d: %s)" % (rv.returncode, (rv.stdout + rv.stderr).strip()[-300:]))
got = wait_until(lambda: refused_as(xst, "revoked")[0], 3.0, 0.1)
ok(got and time.time() - t_rev <= 3.5, "within 3 s its calls get PERMISSION_DENIED "
   "\"revoked\" (%r)" % (refused_as(xst, "revoked")[1:],))
fresh = stub(channel(port, certs, "hostile-1"))
ok(refused_as(fresh, "revoked", "Register")[0], "a new connection's Register is refused "
   "as revoked too (%r)" % (refused_as(fresh, "revoked", "Register")[1:],))
r, code, det = code_of(hst.Heartbeat, pb.HeartbeatRequest(worker_id="honest-1",
                                                          hashrate=4.0), timeout=5)
ok(code == grpc.StatusCode.OK, "the honest worker is not affected (%s)" % code)

honest_beating.clear()
hstream.cancel()
for ch in (hch, xch):
    ch.close()
time.sleep(0.6)
ok(coord.stop(30) == 0, "the coordinator exits 0 after all that")
coord, port = coordinator("coord2", certs, pool_url, db, *COORD_ARGS)
if ok(port is not None, "the coordinator restarts on the same ledger"):
    xst = stub(channel(port, certs, "hostile-1"))
    r = wait_until(lambda: refused_as(xst, "revoked", "Register")[0], 5.0, 0.2)
    ok(r, "after the restart the revoked name is still refused (%r)"
       % (refused_as(xst, "revoked", "Register")[1:],))
    hst = stub(channel(port, certs, "honest-1"))
    reg, code, det = register(hst, "honest-1")
    ok(reg is not None and reg.success, "and the honest worker still registers (%s)"
       % (det or "ok"))
    uv = cli(db, "workers", "unrevoke", "hostile-1")
    ok(uv.returncode == 0, "coopmine-cli workers unrevoke hostile-1 succeeds (exit %d: %s)"
       % (uv.returncode, (uv.stdout + uv.stderr).strip()[-300:]))
    lifted = wait_until(lambda: not refused_as(xst, "revoked", "Register")[0] and
                        refused_as(xst, "revoked", "Register")[1] is not None, 3.0, 0.1)
    res = refused_as(xst, "revoked", "Register")
    ok(lifted, "within 3 s the name is no longer refused as revoked (%s %r)" % res[1:])
    ok(coord.stop(30) == 0, "the restarted coordinator exits 0")
pool.stop()
done()
