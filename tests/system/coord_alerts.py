#!/usr/bin/env python3
# coord_alerts.py: [alerts] exec = PROGRAM on the real coordinator (issue
# 17).  PROGRAM is a script that appends its stdin to a file (and hangs
# for one kind of event).  With a test pool, heartbeats every second and
# --max-invalid 2:
#   - a worker that stops beating: one worker_offline event (JSON with
#     event, severity, subject, message, time); offline again within the
#     debounce period: no second event; another worker: its own event;
#   - a worker quarantined by its invalid shares: worker_quarantined; the
#     program hangs on it and is killed after [alerts] timeout, and the
#     coordinator is not held up (heartbeats answered meanwhile);
#   - the pool killed: pool_lost, then all_pools_down after job_timeout.
import json
import os
import signal
import struct
import time

from rpc_lib import T, code_of, worker_status, channel, diag, done, gen_certs, ok, pb, stub
from itest_lib import coordinator, testpool, watchdog

watchdog(150)
OUT = os.path.join(T, "alerts.jsonl")
PROG = os.path.join(T, "alert.sh")
with open(PROG, "w") as f:
    f.write("""#!/bin/sh
ev=$(cat)
printf '%%s\\n' "$ev" >> %s
case "$ev" in
*worker_quarantined*) exec sleep 600 ;;
esac
""" % OUT)
os.chmod(PROG, 0o755)

certs = gen_certs(os.path.join(T, "certs"), "w1", "w2", "bad")
pool, pport = testpool("pool", 0, "--difficulty", "1000000", "--job-interval",
                       "3600s", "--block-interval", "0")
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport,
    os.path.join(T, "ledger.db"), "--verify", "light",
    "--heartbeat-interval", "1s", "--job-timeout", "2s",
    "--min-difficulty", "1000000", "--max-difficulty", "1000000",
    "--max-invalid", "2", "--pool-backoff-min", "200ms",
    "--pool-backoff-max", "500ms", "--pool-connect-timeout", "1s",
    "--alerts-exec", PROG, "--alerts-debounce", "60s",
    "--alerts-timeout", "1500ms")
if not ok(pool is not None and port is not None, "pool and coordinator up"):
    done()


def events(name=None):
    try:
        with open(OUT) as f:
            evs = [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        evs = []
    return [e for e in evs if name is None or e["event"] == name]


def wait_events(name, n, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if len(events(name)) >= n:
            return events(name)
        time.sleep(0.05)
    return events(name)


stubs = {w: stub(channel(port, certs, w)) for w in ("w1", "w2", "bad")}


def register(w):
    end = time.time() + 20
    while time.time() < end:
        r, code, _ = code_of(stubs[w].Register, pb.RegisterRequest(
            worker_id=w, worker_name=w, threads=1), timeout=5)
        if r is not None and r.HasField("current_job"):
            return r
        time.sleep(0.1)
    return None


def beat(w):
    r, code, _ = code_of(stubs[w].Heartbeat, pb.HeartbeatRequest(
        worker_id=w, hashrate=10.0), timeout=5)
    return r is not None


# --- worker offline, debounced per worker ---------------------------------------
ok(register("w1") is not None and beat("w1"), "w1 registered and beating")
t0 = time.time()
evs = wait_events("worker_offline", 1, 15)
ok(len(evs) == 1 and evs[0]["subject"] == "w1",
   "w1 silent: one worker_offline event for w1 (%.1f s)" % (time.time() - t0))
if evs:
    e = evs[0]
    diag("event: %s" % json.dumps(e))
    ok(e["severity"] == "warning" and "w1" in e["message"] and
       abs(e["time"] / 1000.0 - time.time()) < 60 and e["time_iso"].endswith("Z"),
       "the event carries severity, message and time")
ok(register("w1") is not None and beat("w1"), "w1 back")
ok(register("w2") is not None and beat("w2"), "w2 registered")
end = time.time() + 15
while time.time() < end and len([e for e in events("worker_offline")
                                 if e["subject"] == "w2"]) < 1:
    time.sleep(0.05)
# w1 went silent before w2: its second offline is behind us by now
ok(worker_status(stubs["w1"], "w1") == "offline",
   "w1 went offline a second time (GetWorkerStats)")
subjects = [e["subject"] for e in events("worker_offline")]
ok(subjects.count("w2") == 1, "w2 silent: its own worker_offline event")
ok(subjects.count("w1") == 1,
   "w1 offline again within the debounce period: no second event (%s)" % subjects)

# --- quarantine (bad hashes, each verified: they cost the sender); the program
# hangs on it and is killed -------------------------------------------------------
reg = register("bad")
ok(reg is not None, "worker 'bad' registered")
job = reg.current_job
for i in range(4):
    code_of(stubs["bad"].SubmitShare, pb.ShareRequest(
        worker_id="bad", job_id=job.job_id,
        nonce=struct.pack("<I", job.nonce_start + i), result=b"\xff" * 32,
        lease_id=job.lease_id), timeout=10)
evs = wait_events("worker_quarantined", 1, 30)
ok(len(evs) == 1 and evs[0]["subject"] == "bad",
   "invalid shares: a worker_quarantined event for 'bad'")
t_q = time.time()
beats = 0
while time.time() - t_q < 1.0:
    beats += beat("w1")
ok(beats >= 5, "the coordinator answers heartbeats while the program hangs "
   "(%d in 1 s)" % beats)
ok(coord.wait_log(r"alerts: .* took longer than 1500 ms for "
                  r"worker_quarantined \(bad\): killed", 10) is not None,
   "the hanging program is killed after [alerts] timeout")

# --- the pool goes: pool_lost, then all_pools_down ------------------------------
pool.signal(signal.SIGKILL)
pool.p.wait(10)
evs = wait_events("pool_lost", 1, 15)
ok(len(evs) == 1 and ("127.0.0.1:%d" % pport) in evs[0]["subject"],
   "pool killed: a pool_lost event naming the pool")
evs = wait_events("all_pools_down", 1, 15)
ok(len(evs) == 1 and evs[0]["severity"] == "critical",
   "no pool for job_timeout: an all_pools_down event (critical)")
ok(coord.stop() == 0, "coordinator stops cleanly")
done()
