# outbox_restart.py: shares waiting for a pool that is away survive kill -9
# of the coordinator and reach the pool exactly once (issue 12).
#
# A crafted worker submits real shares (hashed beforehand with tests/rx_hash;
# pool difficulty = share difficulty = 10, so every share goes upstream).
# The pool is frozen (SIGSTOP): four shares are sent into the frozen socket
# ("in flight": the pool will read them when it wakes), then, once the
# coordinator has noticed, eight more wait in the outbox without being sent.
# kill -9 the coordinator; wake the pool (it reads the four in flight on the
# dead connection and accepts them); start the coordinator again on the same
# ledger, against the same pool job.  Then:
#   - the outbox empties, every one of the twelve ends upstream 'accepted' in
#     the ledger (a "duplicate" for a share the pool already had counts as
#     accepted, never 'rejected'; none expires);
#   - the pool's summary counts each of them accepted exactly once; the eight
#     never sent before the kill are never answered "Duplicate share";
#   - the pool accepted exactly what the ledger records as accepted, and
#     rejected nothing but such duplicates; coopmine-cli audit passes.
import json
import os
import re
import signal
import struct
import threading
import time

from rpc_lib import (B, T, channel, code_of, diag, done, gen_certs, ok, pb,
                     start_testpool, stub, wait_until)
from itest_lib import audit, coordinator, q, real_shares, watchdog

watchdog(300)
IN_FLIGHT, WAITING, BEFORE = 4, 8, 4
certs = gen_certs(os.path.join(T, "certs"), "worker-1")
summary = os.path.join(T, "pool.json")
pool, pool_url = start_testpool("--difficulty", "10", "--job-interval", "3600s",
                                 "--block-interval", "0", "--summary-file", summary)
db = os.path.join(T, "ledger.db")
ARGS = ("--verify", "none", "--min-difficulty", "10", "--max-difficulty", "10",
        "--hashrate-guess", "1", "--pool-keepalive", "300ms",
        "--pool-response-timeout", "2s", "--pool-connect-timeout", "1s",
        "--pool-backoff-min", "200ms", "--pool-backoff-max", "1s")
coord, port = coordinator("coord1", certs, pool_url, db, *ARGS)
if not ok(port is not None, "coordinator up"):
    done()
st = stub(channel(port, certs, "worker-1"))
reg = None
end = time.time() + 20
while time.time() < end:
    reg, code, det = code_of(st.Register, pb.RegisterRequest(
        worker_id="worker-1", threads=1), timeout=5)
    if reg is not None and reg.HasField("current_job"):
        break
    time.sleep(0.1)
job = reg.current_job
ok(job.nonce_end > job.nonce_start and job.difficulty == 10,
   "registered with a lease at share difficulty 10 (%d)" % job.difficulty)
beating = threading.Event()
beating.set()


def beats():
    while beating.is_set():
        code_of(st.Heartbeat, pb.HeartbeatRequest(worker_id="worker-1", hashrate=5.0),
                timeout=5)
        time.sleep(0.5)


threading.Thread(target=beats, daemon=True).start()

# Real shares of the lease.
need = BEFORE + IN_FLIGHT + WAITING
t0 = time.time()
good, _ = real_shares(job, need)
if not ok(len(good) == need, "hashed %d shares in %.1f s" % (len(good), time.time() - t0)):
    done()


def submit(nonce, h):
    r, code, det = code_of(st.SubmitShare, pb.ShareRequest(
        worker_id="worker-1", job_id=job.job_id, nonce=struct.pack("<I", nonce),
        result=h, lease_id=job.lease_id), timeout=10)
    return r is not None and r.accepted, (r.reason if r else det)


def fates(nonces):
    rows = q(db, "select nonce, upstream, coalesce(upstream_reason, '') from shares "
             "where worker_id = 'worker-1' and verdict = 'accepted' and nonce in (%s)"
             % ",".join(str(x) for x in nonces))
    return {r[0]: (r[1], r[2]) for r in rows}


before, in_flight, waiting = good[:BEFORE], good[BEFORE:BEFORE + IN_FLIGHT], \
    good[BEFORE + IN_FLIGHT:]
res = [submit(*s) for s in before]
ok(all(r[0] for r in res), "the first %d shares are accepted (%r)" % (BEFORE, res))
bn = [s[0] for s in before]
ok(wait_until(lambda: all(f[0] == "accepted" for f in fates(bn).values())
              and len(fates(bn)) == BEFORE, 20, 0.2),
   "and the pool accepts them (ledger upstream 'accepted')")

# The pool freezes.  Four shares go into its frozen socket at once.
pool.signal(signal.SIGSTOP)
res = [submit(*s) for s in in_flight]
ok(all(r[0] for r in res), "%d shares are accepted while the pool is frozen (%r)"
   % (IN_FLIGHT, res))
fn = [s[0] for s in in_flight]
ok(wait_until(lambda: len(fates(fn)) == IN_FLIGHT and
              all(f[0] == "submitted" for f in fates(fn).values()), 5, 0.1) or
   any(f[1] for f in fates(fn).values()),
   "they are sent to the pool (ledger upstream 'submitted': %r)" % fates(fn))
ok(coord.wait_log(r"lost|stalled", 20) is not None, "the coordinator notices the frozen pool")
res = [submit(*s) for s in waiting]
ok(all(r[0] for r in res), "%d more shares are accepted while the pool is away" % WAITING)
wn = [s[0] for s in waiting]
alln = fn + wn
ok(wait_until(lambda: len(fates(alln)) == IN_FLIGHT + WAITING and
              all(f[0] in ("pending", "submitted") for f in fates(alln).values()), 10, 0.2),
   "all %d wait in the ledger's outbox" % (IN_FLIGHT + WAITING))
at_kill = fates(alln)
diag("outbox at the kill: %r" % sorted(at_kill.items()))

coord.signal(signal.SIGKILL)
coord.p.wait(10)
beating.clear()

# The pool wakes up and reads what was sent to it before the kill.
pool.signal(signal.SIGCONT)
hexes = {x: struct.pack("<I", x).hex() for x in alln}
got_early = wait_until(lambda: all(re.search(r"nonce %s: accepted" % hexes[x], pool.text())
                                   for x in fn), 15, 0.2)
ok(got_early, "the woken pool accepts the %d shares that were in flight at the kill "
   "(the coordinator never heard the answers)" % IN_FLIGHT)
early_w = [x for x in wn if re.search(r"nonce %s: accepted" % hexes[x], pool.text())]
ok(not early_w, "none of the %d waiting shares had reached the pool before the restart "
   "(%r)" % (WAITING, early_w))

coord, port = coordinator("coord2", certs, pool_url, db, *ARGS)
ok(port is not None, "the coordinator restarts on the crashed ledger")
drained = wait_until(lambda: q(db, "select count(*) from shares where upstream in "
                                   "('pending', 'submitted')")[0][0] == 0, 40, 0.3)
ok(drained, "the outbox empties after the restart")
after = fates(alln)
diag("fates after the restart: %r" % sorted(after.items()))
bad = {x: f for x, f in after.items() if f[0] != "accepted"}
ok(len(after) == len(alln) and not bad,
   "each of the %d outbox shares is upstream 'accepted' in the ledger (not: %r)"
   % (len(alln), bad))
bad_f = {x: after.get(x) for x in fn if after.get(x, ("",))[0] != "accepted"}
ok(not bad_f, "a share the pool already had counts as accepted, not rejected (%r)" % bad_f)

# The pool's own count.
if os.path.exists(summary):
    os.unlink(summary)
pool.signal(signal.SIGUSR1)
wait_until(lambda: os.path.exists(summary), 10, 0.1)
try:
    with open(summary) as f:
        d = json.load(f)
except (OSError, ValueError) as e:
    d = {"shares": [], "accepted": -1, "rejected_by_reason": {"unreadable": str(e)}}
jid = q(db, "select upstream_job_id from jobs where id = ?", int(job.job_id, 16))[0][0]
per = {}
for s in d["shares"]:
    per.setdefault((s["job_id"], s["nonce"]), []).append(s["verdict"])
counts = {x: per.get((jid, hexes[x]), []) for x in alln}
diag("pool verdicts per outbox share: %r" % {x: v for x, v in counts.items()})
once = {x: v for x, v in counts.items() if v.count("accepted") != 1}
ok(not once, "the pool counts each outbox share accepted exactly once (not: %r)" % once)
dup_w = {x: counts[x] for x in wn if any(v != "accepted" for v in counts[x])}
ok(not dup_w, "the shares never sent before the kill reach the pool once, no "
   "\"Duplicate share\" (%r)" % dup_w)
other = {k: v for k, v in d.get("rejected_by_reason", {}).items() if k != "Duplicate share"}
ok(not other, "the pool rejected nothing but duplicates of shares it had (%r)" % other)
led_acc = q(db, "select count(*) from shares where upstream = 'accepted'")[0][0]
acc = [k for k, v in per.items() if "accepted" in v]
ok(d["accepted"] == led_acc == len(acc) == need,
   "the pool accepted %d shares (%d distinct), the ledger records %d accepted, %d were "
   "sent" % (d["accepted"], len(acc), led_acc, need))
ok(coord.stop(30) == 0, "the coordinator exits 0")
pool.stop()
rc, out = audit(db)
ok(rc == 0, "coopmine-cli audit passes (%s)" % out[-300:])
done()
