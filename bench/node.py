#!/usr/bin/python3
# bench/node.py: the node backend's latencies (issue 14), against the fake
# node (tests/system/fakenode.py) and the real coordinator:
#   - from a new tip (the long-poll's return: another miner's block,
#     fake_mine) to every simulated worker holding work on the new
#     template (its StreamJobs message with the new height), p50 / p99 over
#     100 tips, with 2 and with 100 workers;
#   - from a winning hash (SubmitShare of a block-meeting result, verify =
#     none) to the coordinator sending submitblock (its log line, ms), p50 /
#     p99 over 20 blocks.
# The tip's moment is when the coordinator got the new template (the
# long-poll's return), read back from /health's node.template_age_s.
# Simulated workers are gRPC clients (insecure loopback) that only listen.
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("COOPMINE_SRCDIR", "."),
                                "tests", "system"))
import rpc_lib  # noqa: E402
from rpc_lib import B, S, Proc, channel, code_of, pb, stub  # noqa: E402

FAKENODE = os.path.join(S, "tests", "system", "fakenode.py")
if not os.path.exists(FAKENODE):
    print("bench/node: SKIP, tests/system/fakenode.py is not in this tree")
    sys.exit(0)
TIPS = int(os.environ.get("NODE_BENCH_TIPS", "100"))
import json  # noqa: E402
import base64  # noqa: E402
import socket  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
import re  # noqa: E402
import datetime  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


node_port = free_port()
node = Proc("fakenode", [sys.executable, FAKENODE, "--port", str(node_port),
                         "--rpcuser", "bench", "--rpcpassword", "bench",
                         "--longpoll-timeout", "60", "--idle-timeout", "600"])
node.wait_log(r"^\d+$", 20)


def rpc(method, *params):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/" % node_port,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                         "params": list(params)}).encode(),
        headers={"Content-Type": "application/json", "Authorization":
                 "Basic " + base64.b64encode(b"bench:bench").decode()})
    with urllib.request.urlopen(req, timeout=60) as f:
        r = json.loads(f.read())
    if r.get("error"):
        raise RuntimeError(r["error"])
    return r["result"]


coord = Proc("coord", [
    os.path.join(B, "src/coordinator/coopmine-coordinator"),
    "--grpc-listen", "127.0.0.1:0", "--insecure",
    "--node-url", "http://127.0.0.1:%d" % node_port, "--node-user", "bench",
    "--node-password", "bench", "--node-network", "regtest",
    "--payout-address", "script:51", "--node-poll", "60s",
    "--node-follow", "60s", "--ledger-path",
    os.path.join(rpc_lib.T, "ledger.db"), "--dashboard-listen", "127.0.0.1:0",
    "--dashboard-ws-listen", "127.0.0.1:0",
    "--heartbeat-interval", "300s", "--verify", "none",
    "--min-difficulty", "1000000", "--max-difficulty", "1000000",
    "--worker-share-rate", "1000", "--worker-share-burst", "1000",
    "--log-level", "info"])
m = coord.wait_log(r"gRPC port (\d+)", 30)
if m is None:
    print(coord.text()[-2000:])
    sys.exit(1)
port = int(m.group(1))
dash = int(coord.wait_log(r"dashboard on \S+ \(port (\d+)\)", 10).group(1))


def template_at():
    """When the current template came (the long-poll's return), wall
    clock, from /health's node.template_age_s."""
    t = time.time()
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/health" % dash,
                                    timeout=5) as f:
            h = json.loads(f.read())
    except urllib.error.HTTPError as e:
        h = json.loads(e.read())
    return t - h["node"]["template_age_s"], h["node"]["height"]


class Feed:
    """One simulated worker: registered, its job stream read in a thread;
    the arrival time of the first job of each height."""

    def __init__(self, wid):
        self.wid = wid
        self.st = stub(channel(port, insecure=True))
        self.first = {}
        self.last = None
        self.cv = threading.Condition()
        reg, code, det = code_of(self.st.Register, pb.RegisterRequest(
            worker_id=wid, worker_name=wid, threads=1), timeout=10)
        if reg is None:
            raise RuntimeError("register %s: %s %s" % (wid, code, det))
        self.stream = self.st.StreamJobs(pb.StreamJobsRequest(worker_id=wid))
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        try:
            for j in self.stream:
                t = time.time()
                with self.cv:
                    self.first.setdefault(j.height, t)
                    self.last = j
                    self.cv.notify_all()
        except Exception:  # noqa: BLE001 (the stream ends at exit)
            pass


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def tips(feeds, n):
    lat = []
    for _ in range(n):
        h = rpc("getblockcount") + 2   # the template on the new tip
        rpc("fake_mine", 1)
        end = time.time() + 10
        for f in feeds:
            with f.cv:
                while h not in f.first and time.time() < end:
                    f.cv.wait(0.05)
        got = [f.first.get(h) for f in feeds]
        if None in got:
            print("  tip %d: %d of %d workers without work after 10 s" %
                  (h, got.count(None), len(feeds)))
            continue
        t0, th = template_at()
        if th != h:
            print("  tip %d: the template is already %d" % (h, th))
            continue
        lat.append(max(got) - t0)
    return lat


feeds = [Feed("bench-%03d" % i) for i in range(2)]
time.sleep(1)
for nw in (2, 100):
    while len(feeds) < nw:
        feeds.append(Feed("bench-%03d" % len(feeds)))
    time.sleep(1)
    lat = tips(feeds, TIPS)
    if lat:
        print("new tip -> all %d workers have the new template: p50 %.1f ms, "
              "p99 %.1f ms, max %.1f ms (%d tips)" % (
                  nw, pct(lat, 50) * 1e3, pct(lat, 99) * 1e3,
                  max(lat) * 1e3, len(lat)))

# Winning hash -> submitblock at the node.
f = feeds[0]
sub = []
for i in range(20):
    with f.cv:
        j = f.last
    before = len(rpc("fake_submitted"))
    nonce = j.nonce_start + i
    t0 = time.time()
    code_of(f.st.SubmitShare, pb.ShareRequest(
        worker_id=f.wid, job_id=j.job_id, nonce=nonce.to_bytes(4, "little"),
        result=bytes(32)), timeout=10)
    end = time.time() + 10
    got = None
    while time.time() < end and got is None:
        ms = re.findall(r"^(\S+) .*submitblock: block .*nonce %08x\)" % nonce,
                        coord.text(), re.M)
        if ms:
            got = datetime.datetime.strptime(ms[-1], "%Y-%m-%dT%H:%M:%S.%fZ"
                                             ).replace(tzinfo=datetime.
                                                       timezone.utc).timestamp()
        else:
            time.sleep(0.005)
    if got is not None:
        sub.append(got - t0)
if sub:
    print("winning hash (SubmitShare sent) -> submitblock sent: p50 "
          "%.1f ms, p99 %.1f ms (%d blocks; verify none, over loopback)" % (
              pct(sub, 50) * 1e3, pct(sub, 99) * 1e3, len(sub)))
coord.stop()
node.stop()
