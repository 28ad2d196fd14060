#!/usr/bin/env python3
# observe.py: what an operator watches (issue 18), from a real coordinator
# with a test pool and two synthetic workers over mTLS:
#   - the worker's reported 10 s / 60 s / 15 min hashrate, RandomX mode and
#     huge pages reach /api/workers/{id}; a hostile worker's numbers are
#     bounded (not finite -> 0, huge -> capped) and its text made printable;
#   - effective hashrate (credited difficulty per second) over 10 m and 24 h
#     equals the credited shares, and survives a restart of the coordinator;
#   - verdicts by rejection reason, address, difficulty, last share time;
#   - /api/pool: the session (difficulty, jobs, the pool's verdicts, nonce
#     use), outbox, verification, the ledger's commit histogram;
#   - 24 h / 7 d history hour by hour from the ledger;
#   - /1/summary and /1/workers have xmrig-proxy's shapes (keys, JSON types,
#     array lengths) as tests/data/xmrig-proxy-api.json documents them;
#   - /metrics passes `promtool check metrics`, carries the new series, and
#     a worker offline longer than [dashboard] metrics_retention leaves it.
import json
import math
import os
import shutil
import struct
import subprocess
import time
import urllib.request

from rpc_lib import S, T, channel, code_of, diag, done, gen_certs, ok, pb, stub, wait_until
from itest_lib import coordinator, dash_port, http_json, real_shares, testpool, watchdog

watchdog(240)
W = ("worker-1", "worker-2")
DIFF = 10
certs = gen_certs(os.path.join(T, "certs"), *W)
pool, pport = testpool("pool", 0, "--difficulty", str(DIFF), "--job-interval",
                       "3600s", "--block-interval", "0")
db = os.path.join(T, "ledger.db")
COORD_ARGS = ["--verify", "none", "--min-difficulty", str(DIFF),
              "--max-difficulty", str(DIFF), "--hashrate-guess", "1",
              "--heartbeat-interval", "600s", "--dashboard-listen", "127.0.0.1:0",
              "--dashboard-ws-listen", "127.0.0.1:0"]
url = "stratum+tcp://127.0.0.1:%d" % pport
coord, port = coordinator("coord", certs, url, db, *COORD_ARGS)
dport = dash_port(coord) if port is not None else None
if not ok(pool is not None and port is not None and dport is not None,
          "a test pool and the coordinator with its dashboard up"):
    done()


def register(port, w, version="1.2.3", os_name="Linux"):
    st = stub(channel(port, certs, w))
    end = time.time() + 20
    while time.time() < end:
        reg, code, _ = code_of(st.Register, pb.RegisterRequest(
            worker_id=w, worker_name=w, threads=2, version=version, os=os_name,
            arch="x86_64"), timeout=5)
        if reg is not None and reg.HasField("current_job"):
            return st, reg.current_job
        time.sleep(0.1)
    return st, None


st1, job1 = register(port, "worker-1")
# worker-2 is hostile: control characters in its version and RandomX mode.
st2, job2 = register(port, "worker-2", version="9\x01<b>x</b>", os_name="Linux\n")
if not ok(job1 is not None and job2 is not None, "both workers registered with a lease"):
    done()
hb1, _, _ = code_of(st1.Heartbeat, pb.HeartbeatRequest(
    worker_id="worker-1", hashrate=100.0, hashrate_60s=90.0, hashrate_15m=80.0,
    randomx_mode="full", huge_pages="transparent huge pages", huge_pages_used=1168,
    threads=2, cpu_usage=50.0), timeout=5)
hb2, _, _ = code_of(st2.Heartbeat, pb.HeartbeatRequest(
    worker_id="worker-2", hashrate=-5.0, hashrate_60s=float("inf"),
    hashrate_15m=1e300, randomx_mode="li\x07ght\x1b[31m", huge_pages="x" * 200,
    huge_pages_used=4000000000, threads=100000, cpu_usage=float("nan"),
    temperature=-40.0), timeout=5)
ok(hb1 is not None and hb1.success and hb2 is not None and hb2.success,
   "both heartbeats (with the new fields) are answered")

good, hashed = real_shares(job1, 3)
accepted = 0
for n, h in good:
    r, code, det = code_of(st1.SubmitShare, pb.ShareRequest(
        worker_id="worker-1", job_id=job1.job_id, nonce=struct.pack("<I", n),
        result=h, lease_id=job1.lease_id), timeout=30)
    accepted += 1 if r is not None and r.accepted else 0
ok(accepted == 3, "worker-1: three real shares accepted (%d hashed)" % hashed)
for n, res in ((job2.nonce_end - 1, b"\xff" * 32), (job2.nonce_end + 5, bytes(32))):
    code_of(st2.SubmitShare, pb.ShareRequest(
        worker_id="worker-2", job_id=job2.job_id, nonce=struct.pack("<I", n),
        result=res, lease_id=job2.lease_id), timeout=30)


def worker(port, w):
    code, j = http_json(port, "/api/workers/%s" % w)
    return j if code == 200 else {}


def near(a, b, eps=1e-9):
    return isinstance(a, (int, float)) and abs(a - b) <= eps * max(1.0, abs(b))


w1 = worker(dport, "worker-1")
ok(w1.get("hashrate_reported") == {"10s": 100.0, "60s": 90.0, "15m": 80.0},
   "worker-1: reported 10 s / 60 s / 15 min hashrate shown (%r)"
   % w1.get("hashrate_reported"))
ok((w1.get("version"), w1.get("os"), w1.get("threads"), w1.get("randomx_mode"),
    w1.get("huge_pages"), w1.get("huge_pages_used")) ==
   ("1.2.3", "Linux", 2, "full", "transparent huge pages", 1168),
   "worker-1: version, OS, threads, RandomX mode and huge pages shown")
ok(str(w1.get("address", "")).startswith("ipv4:127.0.0.1:"),
   "worker-1: its address is shown (%r)" % w1.get("address"))
eff = w1.get("effective_hashrate", {})
ok(near(eff.get("10m"), 3 * DIFF / 600.0) and near(eff.get("24h"), 3 * DIFF / 86400.0)
   and near(eff.get("1h"), 3 * DIFF / 3600.0),
   "worker-1: effective hashrate = credited difficulty / window (10 m %r, 1 h %r,"
   " 24 h %r)" % (eff.get("10m"), eff.get("1h"), eff.get("24h")))
ok(w1.get("difficulty") == DIFF and w1.get("last_share_at", 0) > 0 and
   w1.get("verdicts", {}).get("accepted") == 3,
   "worker-1: difficulty %r, last share time, 3 accepted" % w1.get("difficulty"))
w2 = worker(dport, "worker-2")
rep2 = w2.get("hashrate_reported", {})
ok(rep2 == {"10s": 0.0, "60s": 0.0, "15m": 1e12},
   "worker-2: negative and infinite hashrates shown as 0, 1e300 capped (%r)" % rep2)
ok(w2.get("threads_running") == 1024 and w2.get("huge_pages_used") == 1048576
   and w2.get("cpu_usage") == 0,
   "worker-2: thread count, pages and a NaN cpu use bounded (%r, %r, %r)"
   % (w2.get("threads_running"), w2.get("huge_pages_used"), w2.get("cpu_usage")))
texts = [w2.get(k, "") for k in ("version", "os", "randomx_mode", "huge_pages")]
ok(all(isinstance(t, str) and all(0x20 <= ord(c) < 0x7f for c in t) for t in texts)
   and len(w2.get("huge_pages", "")) < 32,
   "worker-2: its text fields are printable and length-limited (%r)" % texts)
ok(w2.get("rejections") == {"low_difficulty": 1, "outside_lease": 1}
   and w2.get("verdicts", {}).get("accepted") == 0,
   "worker-2: rejections by reason %r" % w2.get("rejections"))

# History from the ledger: one hour (or two, across an hour boundary).
for rng in ("24h", "7d"):
    code, hist = http_json(dport, "/api/workers/worker-1/history?range=%s" % rng)
    hours = (hist or {}).get("hours", [])
    ok(code == 200 and sum(h[2] for h in hours) == 3 and
       near(sum(h[1] for h in hours), 3 * DIFF / 3600.0) and
       all(h[0] % 3600000 == 0 for h in hours),
       "history %s: hours of worker-1 hold its 3 accepted shares (%r)" % (rng, hours))
code, hist = http_json(dport, "/api/workers/worker-1/history?range=1h")
ok(code == 200 and isinstance((hist or {}).get("points"), list),
   "history 1h: the in-memory samples answer")
code, _ = http_json(dport, "/api/workers/worker-1/history?range=2y")
ok(code == 400, "history with a bad range: 400 (%r)" % code)
code, _ = http_json(dport, "/api/workers/nobody/history?range=24h")
ok(code == 404, "history of an unknown worker: 404 (%r)" % code)

# The pool panel: the pool's answers to the three shares arrive.
def pool_view():
    code, p = http_json(dport, "/api/pool")
    return p if code == 200 else {}


ok(wait_until(lambda: (pool_view().get("sessions") or [{}])[0].get("accepted") == 3,
              20, 0.1), "/api/pool: the session shows the pool's 3 accepted shares")
pv = pool_view()
se = (pv.get("sessions") or [{}])[0]
diag("session: %r" % se)
ok(len(pv.get("sessions", [])) == 1 and se.get("connected") is True and
   se.get("difficulty") == DIFF and se.get("jobs", 0) >= 1 and se.get("since", 0) > 0
   and se.get("url") == url and se.get("nonce_space", 0) > 0 and
   0 < se.get("nonce_used_pct", 0) <= 100 and se.get("rejected") == 0,
   "/api/pool: one session with address, since, difficulty, jobs, results, nonce use")
hist = pv.get("ledger", {}).get("commit_histogram", {})
ok(pv.get("outbox", {}).get("depth") == 0 and "queue_depth" in pv.get("verification", {})
   and hist.get("count", 0) > 0 and len(hist.get("counts", [])) == len(hist.get("le_seconds", []))
   and hist["counts"] == sorted(hist["counts"]),
   "/api/pool: outbox, verification and a cumulative commit histogram")

code, health = http_json(dport, "/health")
ok(code == 200 and (health or {}).get("pool_sessions") == {"connected": 1, "total": 1},
   "/health counts the pool sessions (%r)" % (health or {}).get("pool_sessions"))

# xmrig-proxy's API: the same shapes as its documentation.
with open(os.path.join(S, "tests", "data", "xmrig-proxy-api.json")) as f:
    fixture = json.load(f)


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def shape_diff(want, got, path="$"):
    """Differences of keys, JSON types and array lengths."""
    out = []
    if kind(want) != kind(got):
        return ["%s: %s, not %s" % (path, kind(got), kind(want))]
    if isinstance(want, dict):
        for k in want:
            if k.startswith("_"):
                continue
            if k not in got:
                out.append("%s.%s missing" % (path, k))
            else:
                out += shape_diff(want[k], got[k], "%s.%s" % (path, k))
    elif isinstance(want, list):
        if path != "$.workers" and len(want) != len(got):
            out.append("%s: %d entries, not %d" % (path, len(got), len(want)))
        for i, (a, b) in enumerate(zip(want, got)):
            out += shape_diff(a, b, "%s[%d]" % (path, i))
        if path == "$.workers":
            for i, b in enumerate(got):
                out += shape_diff(want[0], b, "%s[%d]" % (path, i))
    return out


for name, path in (("summary", "/1/summary"), ("workers", "/1/workers")):
    code, got = http_json(dport, path)
    diffs = shape_diff(fixture[name], got) if code == 200 else ["status %r" % code]
    ok(not diffs, "%s has xmrig-proxy's shape%s" % (path, "" if not diffs else
                                                   ": %r" % diffs))
code, xw = http_json(dport, "/1/workers")
rows = {r[0]: r for r in (xw or {}).get("workers", [])}
r1 = rows.get("worker-1", [])
ok(len(r1) == 13 and r1[1] == "127.0.0.1" and r1[3] == 3 and r1[6] == 3 * DIFF
   and r1[9] == math.floor(3 * DIFF / 600.0 * 100) / 100,
   "/1/workers: worker-1's ip, accepted, hashes and 10 m hashrate (%r)" % r1)
r2 = rows.get("worker-2", [])
ok(len(r2) == 13 and r2[4] == 1 and r2[5] == 1,
   "/1/workers: worker-2's rejected (outside lease) and invalid (low difficulty)")
code, xs = http_json(dport, "/1/summary")
xs = xs or {}
ok(xs.get("upstreams", {}).get("active") == 1 and xs.get("miners", {}).get("now") == 2
   and xs.get("results", {}).get("accepted") == 3 and xs.get("workers") == 2,
   "/1/summary: upstreams, miners, results and workers count (%r)"
   % {k: xs.get(k) for k in ("upstreams", "miners", "results", "workers")})


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as f:
        return f.read().decode()


text = metrics(dport)
promtool = shutil.which("promtool")
if promtool is None:
    diag("promtool not found: the lint is skipped (apt-get install prometheus)")
else:
    r = subprocess.run([promtool, "check", "metrics"], input=text,
                       capture_output=True, text=True)
    ok(r.returncode == 0, "promtool check metrics passes%s" % (
        "" if r.returncode == 0 else ": " + (r.stdout + r.stderr)[-2000:]))
want = ['coopmine_worker_hashrate_effective{worker="worker-1",window="10m"} %.3f'
        % (3 * DIFF / 600.0),
        'coopmine_worker_hashrate_reported{worker="worker-1",window="60s"} 90.000',
        'coopmine_worker_rejections_total{worker="worker-2",reason="low_difficulty"} 1',
        'coopmine_worker_difficulty{worker="worker-1"} %d' % DIFF,
        'coopmine_upstream_session_results_total{session="0",result="accepted"} 3',
        'coopmine_ledger_commit_seconds_bucket{le="+Inf"}',
        'coopmine_worker_info{worker="worker-1",version="1.2.3",os="Linux",'
        'arch="x86_64",randomx_mode="full",huge_pages="transparent huge pages"} 1']
missing = [m for m in want if m not in text]
ok(not missing, "/metrics carries the per-worker and pool series%s"
   % ("" if not missing else ": missing %r" % missing))

# A restart: effective hashrate and verdicts come back from the ledger;
# worker-2 stays away longer than the retention and leaves /metrics.
ok(coord.stop(20) == 0, "the coordinator exits 0 on SIGTERM")
coord, port = coordinator("coord2", certs, url, db, *COORD_ARGS,
                          "--dashboard-metrics-retention", "1s")
dport = dash_port(coord) if port is not None else None
if not ok(port is not None and dport is not None, "the coordinator starts again"):
    done()
st1, job1 = register(port, "worker-1")
w1 = worker(dport, "worker-1")
eff = w1.get("effective_hashrate", {})
ok(near(eff.get("24h"), 3 * DIFF / 86400.0, 1e-6) and eff.get("10m", 0) > 0 and
   w1.get("verdicts", {}).get("accepted") == 3,
   "after the restart worker-1's effective hashrate (24 h %r, 10 m %r) and verdicts"
   " are back" % (eff.get("24h"), eff.get("10m")))
w2 = worker(dport, "worker-2")
ok(w2.get("rejections") == {"low_difficulty": 1, "outside_lease": 1},
   "after the restart worker-2's rejections by reason are back (%r)"
   % w2.get("rejections"))
ok(wait_until(lambda: 'worker="worker-2"' not in metrics(dport) and
              'worker="worker-1"' in metrics(dport), 10, 0.2),
   "/metrics: offline worker-2 left after the retention, online worker-1 stays")
ok(coord.stop(20) == 0, "the coordinator exits 0 on SIGTERM")
done()
