# upstream_failover.py: the pool client's failover as a user sees it:
# primary killed -> on the backup within 5 s; primary back -> returns to it;
# a stalled primary (answers nothing) detected and left, and not returned
# to while it stays stalled; a pool that sends no job is dead; garbage
# lines ignored; an over-long line drops the connection; no crash anywhere.
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_lib import Driver, Pool, done, kv, ok, read, t_of  # noqa: E402

FAST = ["--pool-backoff-min", "200ms", "--pool-backoff-max", "1s",
        "--pool-connect-timeout", "1s", "--pool-primary-retry", "1s"]


def connected(d, pool):
    return [ln for ln in d.lines("connected") if kv(ln, "pool") == str(pool)]


# --- primary killed, backup, primary back ---------------------------------
prim = Pool("primary")
back = Pool("backup")
d = Driver("failover", "--pool-address", prim.url(), "--pool-backup", back.url(),
           "--submit-on-lost", "--run-for", "60s", *FAST)
ok(d.wait_event(r"connected pool=0", 10) is not None, "starts on the primary", d.diag())
t_kill = time.time()
prim.kill()
m = d.wait_event(r"connected pool=1", 10)
dt = time.time() - t_kill
ok(m is not None and dt < 5, "primary killed: on the backup after %.2f s" % dt, d.diag())
lost = d.lines("lost")
ok(lost and kv(lost[0], "pool") == "0", "the loss is reported", d.diag())
sub = [s for s in d.lines("submit") if kv(s, "kind") == "after-lost"]
ok(sub and "(not connected)" in sub[0],
   "a submit while disconnected fails fast with ENOTCONN", d.diag())
sw = d.lines("switched")
ok(sw and kv(sw[0], "pool") == "1" and kv(sw[0], "switches") == "1",
   "the switch is counted", d.diag())
j = [x for x in d.lines("job") if kv(x, "pool") == "1"]
ok(j and kv(j[0], "clean") == "1", "the backup's first job is clean", d.diag())
prim.start()
t_back = time.time()
m = d.wait_event(r"switched pool=0", 10)
ok(m is not None, "primary back: returned to it after %.2f s" % (time.time() - t_back),
   d.diag())
time.sleep(0.5)
d.stop()
st = d.lines("stats")
ok(st and kv(st[0], "switches") == "2" and kv(st[0], "pool") == "0",
   "stats: 2 switches, on the primary", d.diag())
ok("primary stratum+tcp://127.0.0.1:%d is back" % prim.port in read(d.log) and
   "lost pool" in read(d.log), "every switch is logged", d.diag())
prim.stop()
back.stop()

# --- stalled primary ------------------------------------------------------
prim = Pool("stall-primary")
back = Pool("stall-backup")
d = Driver("stall", "--pool-address", prim.url(), "--pool-backup", back.url(),
           "--pool-keepalive", "300ms", "--pool-response-timeout", "1s",
           "--run-for", "60s", *FAST)
ok(d.wait_event(r"connected pool=0", 10) is not None, "stall: starts on the primary",
   d.diag())
t_stall = time.time()
prim.signal(signal.SIGUSR2)		# stop answering
m = d.wait_event(r"connected pool=1", 10)
dt = time.time() - t_stall
ok(m is not None and dt < 5, "stalled primary detected and left after %.2f s" % dt,
   d.diag())
ok("pool stalled" in read(d.log), "the log says the pool stalled", d.diag())
time.sleep(3)
ok(len(connected(d, 0)) == 1, "while it stays stalled, probes do not return to it",
   d.diag())
prim.signal(signal.SIGUSR2)		# answer again
ok(d.wait_event(r"switched pool=0", 10) is not None, "answering again: returned",
   d.diag())
d.stop()
prim.kill()
back.stop()

# --- no job for too long: dead pool ---------------------------------------
slow = Pool("nojob", "--job-interval", "1h")
d = Driver("nojob", "--pool-address", slow.url(), "--pool-job-timeout", "1s",
           "--pool-keepalive", "200ms", "--run-for", "2500ms", *FAST)
d.wait(30)
ok(any("dead pool" in ln for ln in d.lines("lost")),
   "a pool that sends no new job is treated as dead (keepalives answered)", d.diag())
slow.stop()

# --- garbage lines and an over-long line ----------------------------------
g = Pool("garbage", "--garbage", "--job-interval", "100ms")
d = Driver("garbage", "--pool-address", g.url(), "--run-for", "2500ms", *FAST)
rc = d.wait(30)
ok(rc == 0 and len(d.lines("job")) >= 10 and not d.lines("lost") and
   "invalid line ignored" in read(d.log),
   "garbage lines are logged and ignored; jobs keep coming (%d)" % len(d.lines("job")),
   d.diag())
g.stop()
big = Pool("oversize", "--oversize-line")
d = Driver("oversize", "--pool-address", big.url(), "--run-for", "1500ms", *FAST)
rc = d.wait(30)
ok(rc == 0 and "line longer than 65536 bytes" in read(d.log) and d.lines("lost"),
   "a line over 64 KiB drops the connection with a log line", d.diag())
big.stop()

# --- nothing listening at all: backoff grows, bounded ----------------------
from upstream_lib import free_port  # noqa: E402
d = Driver("nopool", "--pool-address", "stratum+tcp://127.0.0.1:%d" % free_port(),
           "--pool-backoff-min", "100ms", "--pool-backoff-max", "400ms",
           "--run-for", "2s")
rc = d.wait(30)
waits = [int(x.split("next attempt in ")[1].split()[0])
         for x in read(d.log).splitlines() if "next attempt in" in x]
ok(rc == 0 and len(waits) >= 3 and waits[0] <= 125 and 300 <= max(waits) <= 500,
   "no pool: retries back off exponentially up to the maximum (%s ms)" % waits,
   d.diag())
done()
