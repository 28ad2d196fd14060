# coord_pause.py: the real coordinator pauses its workers when no pool has
# sent work for job_timeout, and resumes them when a pool comes back; an
# operator's pause from the dashboard outlives a pool outage (issue 15).
# One test pool on a fixed port, the coordinator with --job-timeout 2s and
# a dashboard with a token, two synthetic workers that send heartbeats and
# read the command in each answer.
#   - pool killed: worker-1's heartbeat answer carries COMMAND_PAUSE, not
#     before job_timeout and within job_timeout + 4 s;
#   - pool back: COMMAND_RESUME;
#   - POST /api/workers/worker-2/pause (token): worker-2 is told PAUSE,
#     worker-1 is not; another outage and the pool's return resume worker-1
#     but never worker-2, whose dashboard status stays "paused"; POST
#     .../resume: worker-2 is told RESUME.
import os
import signal
import time

from rpc_lib import T, channel, code_of, diag, done, gen_certs, ok, pb, stub
from itest_lib import (coordinator, dash_port, http_call, http_json, testpool,
                       watchdog)

watchdog(180)
JOB_TIMEOUT = 2.0
TOKEN = "pause-test-token"
W1, W2 = "worker-1", "worker-2"
certs = gen_certs(os.path.join(T, "certs"), W1, W2)
POOL = ("--difficulty", "10", "--job-interval", "3600s", "--block-interval", "0")
pool, pport = testpool("pool", 0, *POOL)   # restarted on this port below
db = os.path.join(T, "ledger.db")
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport, db,
    "--verify", "none", "--min-difficulty", "10", "--max-difficulty", "10",
    "--job-timeout", "%dms" % (JOB_TIMEOUT * 1000),
    "--pool-backoff-min", "200ms", "--pool-backoff-max", "500ms",
    "--pool-connect-timeout", "1s", "--pool-keepalive", "500ms",
    "--pool-response-timeout", "2s",
    "--dashboard-listen", "127.0.0.1:0", "--dashboard-ws-listen", "127.0.0.1:0",
    "--dashboard-token", TOKEN)
dport = dash_port(coord) if port is not None else None
if not ok(pool is not None and port is not None and dport is not None,
          "a test pool and the coordinator (job_timeout %.0f s) up" % JOB_TIMEOUT):
    done()
stubs = {w: stub(channel(port, certs, w)) for w in (W1, W2)}
for w in (W1, W2):
    end = time.time() + 20
    while time.time() < end:
        reg, code, _ = code_of(stubs[w].Register, pb.RegisterRequest(
            worker_id=w, worker_name=w, threads=1), timeout=5)
        if reg is not None and reg.HasField("current_job"):
            break
        time.sleep(0.1)
    ok(reg is not None and reg.HasField("current_job"), "%s registered with a job" % w)
NAMES = {pb.COMMAND_NONE: "NONE", pb.COMMAND_PAUSE: "PAUSE",
         pb.COMMAND_RESUME: "RESUME", pb.COMMAND_SHUTDOWN: "SHUTDOWN"}


def beat(w):
    r, code, det = code_of(stubs[w].Heartbeat, pb.HeartbeatRequest(
        worker_id=w, hashrate=100.0), timeout=5)
    return r.command if r is not None else "error %s %s" % (code, det)


def beat_until(w, want, timeout, others=()):
    """Heartbeats of w every 100 ms (and of others, whose commands are kept)
    until w is told want: (seconds it took or None, w's commands before it,
    {other: [commands]})."""
    t0 = time.time()
    seen, theirs = [], {o: [] for o in others}
    while time.time() - t0 < timeout:
        c = beat(w)
        for o in others:
            theirs[o].append(beat(o))
        if c == want:
            return time.time() - t0, seen, theirs
        seen.append(c)
        time.sleep(0.1)
    return None, seen, theirs


def names(cs):
    return sorted({NAMES.get(c, str(c)) for c in cs})


for w in (W1, W2):
    ok(beat(w) == pb.COMMAND_NONE, "%s: a heartbeat with the pool up says nothing" % w)

# --- no pool for job_timeout: pause; the pool back: resume ------------------
t_kill = time.time()
pool.signal(signal.SIGKILL)
pool.p.wait(10)
dt, before, _ = beat_until(W1, pb.COMMAND_PAUSE, JOB_TIMEOUT + 8)
diag("pool killed: COMMAND_PAUSE after %s s (job_timeout %.1f s)"
     % ("%.2f" % dt if dt is not None else "never", JOB_TIMEOUT))
ok(dt is not None and JOB_TIMEOUT * 0.9 <= dt <= JOB_TIMEOUT + 4,
   "no pool: the heartbeat answer carries COMMAND_PAUSE after job_timeout "
   "(%s s; before it: %s)" % ("%.2f" % dt if dt is not None else "none", names(before)))
ok(beat(W1) == pb.COMMAND_NONE, "the pause is said once, then NONE")
ok(beat(W2) == pb.COMMAND_PAUSE, "worker-2 is paused too")
t_up = time.time()
pool, p2 = testpool("pool2", pport, *POOL)
ok(pool is not None, "the pool restarts on its port")
dt, before, _ = beat_until(W1, pb.COMMAND_RESUME, 15)
diag("pool back: COMMAND_RESUME after %s s" % ("%.2f" % dt if dt is not None else "never"))
ok(dt is not None, "the pool back: COMMAND_RESUME (%s s; before it: %s)"
   % ("%.2f" % dt if dt is not None else "none", names(before)))
ok(beat(W2) == pb.COMMAND_RESUME, "worker-2 is resumed too")

# --- an operator's pause outlives a pool outage -------------------------------
code, body = http_call(dport, "POST", "/api/workers/%s/pause" % W2, "wrong-token")
ok(code == 401, "pause with a wrong token is refused (%r)" % code)
code, body = http_call(dport, "POST", "/api/workers/%s/pause" % W2, TOKEN)
ok(code == 200 and body and body.get("ok") is True,
   "POST /api/workers/%s/pause with the token: 200 (%r %r)" % (W2, code, body))
ok(beat(W2) == pb.COMMAND_PAUSE, "the operator's pause reaches worker-2")
ok(beat(W1) == pb.COMMAND_NONE, "worker-1 is not paused by it")
pool.signal(signal.SIGKILL)
pool.p.wait(10)
dt, _, theirs = beat_until(W1, pb.COMMAND_PAUSE, JOB_TIMEOUT + 8, (W2,))
ok(dt is not None, "second outage: worker-1 told PAUSE")
pool, p2 = testpool("pool3", pport, *POOL)
dt, _, theirs2 = beat_until(W1, pb.COMMAND_RESUME, 15, (W2,))
ok(dt is not None, "the pool back again: worker-1 told RESUME")
# A few more beats of worker-2 after worker-1's resume: still nothing.
after = [beat(W2) for _ in range(5)]
w2 = theirs[W2] + theirs2[W2] + after
diag("worker-2's commands through the outage and the pool's return: %s" % names(w2))
ok(pb.COMMAND_RESUME not in w2,
   "the operator-paused worker-2 is never told RESUME by the pool's return (%s)"
   % names(w2))
code, wj = http_json(dport, "/api/workers/%s" % W2)
st2 = (wj or {}).get("status") or (wj or {}).get("worker", {}).get("status")
ok(code == 200 and st2 == "paused",
   "the dashboard still shows worker-2 paused (%r %r)" % (code, st2))
code, body = http_call(dport, "POST", "/api/workers/%s/resume" % W2, TOKEN)
ok(code == 200, "POST .../resume with the token: 200 (%r)" % code)
ok(beat(W2) == pb.COMMAND_RESUME, "the operator's resume reaches worker-2")
ok(coord.stop(20) == 0, "the coordinator exits 0 on SIGTERM")
pool.stop()
done()
