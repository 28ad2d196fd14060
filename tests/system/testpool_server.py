# testpool_server.py: coopmine-testpool as a miner (or a test) meets it over
# raw sockets: answers like a real pool to requests out of order, serves
# many clients at once, drops connections and rejects shares on request,
# writes its JSON summary on SIGUSR1 and exits 0 on SIGTERM.
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_lib import Driver, Pool, done, kv, ok, read  # noqa: E402


class Miner:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.f = self.s.makefile("rb")
        self.id = 0

    def call(self, method, params):
        self.id += 1
        self.s.sendall((json.dumps({"id": self.id, "jsonrpc": "2.0", "method": method,
                                    "params": params}) + "\n").encode())
        while True:		# skip pushed jobs
            msg = json.loads(self.f.readline())
            if msg.get("id") == self.id:
                return msg

    def close(self):
        self.s.close()


def err(msg):
    return (msg.get("error") or {}).get("message")


pool = Pool("raw", "--job-interval", "300ms")
m = Miner(pool.port)
r = m.call("submit", {"id": "x", "job_id": "1", "nonce": "00000000", "result": "00" * 32})
ok(err(r) == "Unauthenticated", "submit before login: Unauthenticated")
r = m.call("keepalived", {"id": "x"})
ok(err(r) == "Unauthenticated", "keepalived before login: Unauthenticated")
r = m.call("login", {"login": "W1", "pass": "x", "agent": "raw/1", "algo": ["rx/0"]})
res = r.get("result") or {}
job = res.get("job") or {}
ok(res.get("status") == "OK" and res.get("id") and len(job.get("blob", "")) == 160 and
   len(job.get("seed_hash", "")) == 64 and job.get("height") == 1000 and
   job.get("algo") == "rx/0" and len(job.get("target", "")) == 16,
   "login: session id and an OpenSY job (80-byte header, seed, height, 8-byte target)", r)
sess = res.get("id")
blob = bytes.fromhex(job["blob"])
ok(int.from_bytes(blob[72:76], "little") == 0x1e00ffff and blob[76:80] == b"\0\0\0\0",
   "header: nBits at 72, nonce at 76", job)
r = m.call("keepalived", {"id": sess})
ok((r.get("result") or {}).get("status") == "KEEPALIVED", "keepalived answered")
r = m.call("submit", {"id": sess, "job_id": "999", "nonce": "00000000", "result": "00" * 32})
ok(err(r) == "Invalid job id", "unknown job id: Invalid job id")
r = m.call("submit", {"id": sess, "job_id": job["job_id"], "nonce": "0000", "result": "00" * 32})
ok(err(r) == "Invalid nonce", "short nonce: Invalid nonce")
r = m.call("submit", {"id": "other", "job_id": job["job_id"], "nonce": "00000000",
                      "result": "00" * 32})
ok(err(r) == "Unauthenticated", "another session's id: Unauthenticated")
r = m.call("getjob", {})
ok(err(r) == "Unsupported method", "unknown method answered with an error")
m.s.sendall(b"this is not json\n")
r = m.call("keepalived", {"id": sess})
ok((r.get("result") or {}).get("status") == "KEEPALIVED", "garbage from a miner is ignored")
m.close()

# many clients at once
miners = [Miner(pool.port) for _ in range(50)]
good = 0
for i, mm in enumerate(miners):
    r = mm.call("login", {"login": "M%d" % i, "pass": "x"})
    good += (r.get("result") or {}).get("status") == "OK"
ok(good == 50, "50 clients logged in at once (%d)" % good)
for mm in miners:
    mm.close()
s = pool.summary_now()
ok(s is not None and s["logins_ok"] == 51 and s["rejected"] == 4 and
   s["rejected_by_reason"].get("Unauthenticated") == 2,
   "SIGUSR1 writes the summary (logins, rejections by reason)", s)
pool.proc.terminate()
rc = pool.proc.wait(timeout=10)
ok(rc == 0 and json.loads(read(pool.summary))["logins_ok"] == 51, "SIGTERM: exit 0 with the summary")

# clean jobs when the height advances
hp = Pool("height", "--job-interval", "200ms", "--block-interval", "500ms")
d = Driver("height", "--pool-address", hp.url(), "--run-for", "1800ms")
d.wait(30)
jobs = d.lines("job")
heights = [int(kv(j, "height")) for j in jobs]
clean_ok = all((kv(j, "clean") == "1") == (i == 0 or heights[i] != heights[i - 1])
               for i, j in enumerate(jobs))
ok(len(set(heights)) >= 3 and clean_ok,
   "a new height is a clean job, a new template of the same height is not (%s)" % heights,
   d.diag())
hp.stop()

# fault switches: drop after, reject fraction
dp = Pool("drop", "--drop-after", "500ms")
d = Driver("drop", "--pool-address", dp.url(), "--run-for", "1800ms",
           "--pool-backoff-min", "100ms")
d.wait(30)
ok(len(d.lines("lost")) >= 2 and len(d.lines("connected")) >= 3 and
   "dropped (--drop-after)" in read(dp.log),
   "--drop-after drops each connection; the client logs in again", d.diag())
dp.stop()
rj = Pool("reject", "--reject-fraction", "1")
d = Driver("reject", "--pool-address", rj.url(), "--mine", "1", "--exit-after-results", "1",
           "--run-for", "40s")
d.wait(60)
r = d.lines("result")
s = rj.stop()
ok(r and kv(r[0], "accepted") == "0" and kv(r[0], "reason") == "other" and
   "fault injection" in kv(r[0], "msg") and s["rejected"] == 1,
   "--reject-fraction 1 rejects a valid share; the client reports the pool's message",
   d.diag())
done()
