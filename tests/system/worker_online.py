#!/usr/bin/python3
# worker_online.py: coopmine-worker (light mode) against a scripted
# coordinator written with Debian's python3-grpcio: it mines the leases it
# is given (every nonce once, results checked against a real OpenSY block
# hash), refuses a bad job, reports hashes and asks for leases in its
# heartbeats, obeys PAUSE / RESUME / SHUTDOWN, and stops cleanly on
# SIGTERM.  Prints TAP.
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

B = os.environ["COOPMINE_BUILDDIR"]
S = os.environ["COOPMINE_SRCDIR"]
WORKER = os.path.join(B, "src", "worker", "coopmine-worker")
T = tempfile.mkdtemp(prefix="coopmine-worker-online.")
# OpenSY regtest block 1 (tests/data/opensy-regtest.json): its header with
# nonce 0 hashes to POW0 under KEY.
HEADER = bytes.fromhex(
    "0000002050cd54253affdd9f84bc3662369a4afc279014842d9b4263da69a2595215fb67"
    "56c5c7d58978aeee466de72435d6c289c93093653e5da992a8f9f35c2ec3dbf18f0406"
    "6bffff7f2000000000")
KEY = bytes.fromhex(
    "50cd54253affdd9f84bc3662369a4afc279014842d9b4263da69a2595215fb67")
POW0 = "39ef085d757ca79179597d23878efd088c04833928028fa61394d4942b34254e"

tap_n = 0
tap_failed = 0


def ok(cond, desc, diag=None):
    global tap_n, tap_failed
    tap_n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", tap_n, desc))
    if not cond:
        tap_failed += 1
        for line in str(diag or "").splitlines()[-30:]:
            print("#   " + line)
    sys.stdout.flush()


def gen_stubs():
    from grpc_tools import protoc
    rc = protoc.main(["protoc", "-I" + os.path.join(S, "proto"),
                      "--python_out=" + T, "--grpc_python_out=" + T,
                      os.path.join(S, "proto", "coopmine_messages.proto"),
                      os.path.join(S, "proto", "coopmine.proto")])
    if rc != 0:
        raise RuntimeError("protoc failed")
    sys.path.insert(0, T)


class Coord:
    def __init__(self, jobs):
        self.jobs = list(jobs)
        self.lock = threading.Lock()
        self.events = []
        self.streams = []
        self.command = 0

    def rec(self, kind, req):
        with self.lock:
            self.events.append((kind, req))

    def get(self, kind):
        with self.lock:
            return [r for k, r in self.events if k == kind]

    def push(self, j):
        for q in list(self.streams):
            q.put(j)

    def start(self):
        coord = self

        class Servicer(PBG.CoopMineServicer):
            def Register(self, request, context):
                coord.rec("register", request)
                r = M.RegisterResponse(success=True, message="welcome",
                                       assigned_id=request.worker_id)
                r.config.heartbeat_interval_ms = 200
                return r

            def Unregister(self, request, context):
                coord.rec("unregister", request)
                return M.UnregisterResponse(success=True)

            def Heartbeat(self, request, context):
                coord.rec("heartbeat", request)
                with coord.lock:
                    cmd, coord.command = coord.command, 0
                return M.HeartbeatResponse(success=True, command=cmd)

            def StreamJobs(self, request, context):
                coord.rec("stream", request)
                q = queue.Queue()
                coord.streams.append(q)
                for j in coord.jobs:
                    yield j
                while context.is_active():
                    try:
                        yield q.get(timeout=0.05)
                    except queue.Empty:
                        pass

            def SubmitShare(self, request, context):
                coord.rec("share", request)
                return M.ShareResponse(accepted=True, difficulty=1.0)

        self.server = GRPC.server(futures.ThreadPoolExecutor(max_workers=8))
        PBG.add_CoopMineServicer_to_server(Servicer(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return self

    def addr(self):
        return "127.0.0.1:%d" % self.port

    def shares(self, jid):
        return [s for s in self.get("share") if s.job_id == jid]


def job(jid, start, end, lease, blob=HEADER):
    return M.JobMessage(job_id=jid, blob=blob, nonce_offset=76, seed_hash=KEY,
                        target=b"\xff" * 8, nonce_start=start, nonce_end=end,
                        lease_id=lease, clean_jobs=True, height=1, algo="rx/0")


def wait(pred, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def start_worker(name, coord):
    log = open(os.path.join(T, name + ".log"), "w")
    p = subprocess.Popen([WORKER, "--coordinator", coord.addr(), "--insecure",
                          "--worker-id", "w1", "--light", "--threads", "2",
                          "--print-interval", "1s"],
                         stdout=log, stderr=subprocess.STDOUT)
    return p, os.path.join(T, name + ".log")


def text(path):
    with open(path) as f:
        return f.read()


def nonces(shares):
    return sorted(int.from_bytes(s.nonce, "little") for s in shares)


def test_mining():
    c = Coord([job("bad", 0, 4, 9, blob=bytes(40)), job("J1", 0, 6, 1)]).start()
    p, log = start_worker("mining", c)
    try:
        ok(wait(lambda: len(c.shares("J1")) >= 6),
           "lease [0, 6) mined: 6 shares of J1", text(log))
        sh = c.shares("J1")
        ok(nonces(sh) == list(range(6)), "each nonce of the lease once",
           nonces(sh))
        s0 = [s for s in sh if s.nonce == bytes(4)]
        ok(len(s0) == 1 and s0[0].result.hex() == POW0 and
           s0[0].worker_id == "w1",
           "nonce 0's result is OpenSY block 1's RandomX hash")
        ok(not c.shares("bad") and
           re.search(r"bad.* blob of 40 bytes too short for the nonce",
                     text(log)), "the bad job is refused with a log line")
        ok(wait(lambda: any(h.hashes_total == 6 and h.lease_id == 1
                            for h in c.get("heartbeat"))),
           "heartbeats carry the hashes and the lease")
        ok(any(h.want_lease for h in c.get("heartbeat")),
           "the used-up lease is followed by a lease request")
        hb = c.get("heartbeat")[-1]
        ok(hb.randomx_mode == "light" and hb.threads == 2 and hb.huge_pages != ""
           and hb.hashrate_60s >= 0 and hb.hashrate_15m >= 0,
           "heartbeats carry the RandomX mode, huge pages and threads (%r, %r, %d)"
           % (hb.randomx_mode, hb.huge_pages, hb.threads))
        c.push(job("J2", 100, 103, 2))
        ok(wait(lambda: nonces(c.shares("J2")) == [100, 101, 102]),
           "the next job's lease is mined", text(log))
        with c.lock:
            c.command = 1
        ok(wait(lambda: "miner: paused" in text(log), 10), "PAUSE obeyed")
        with c.lock:
            c.command = 2
        ok(wait(lambda: "miner: resumed" in text(log), 10), "RESUME obeyed")
        ok(wait(lambda: re.search(r"speed 10s/60s/15m \S+ \S+ \S+ H/s",
                                  text(log)), 10), "periodic speed line")
        with c.lock:
            c.command = 4
        try:
            rc = p.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0 and len(c.get("unregister")) == 1,
           "SHUTDOWN: unregisters and exits 0", text(log))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        c.server.stop(None)


def test_sigterm():
    c = Coord([job("J1", 0, 1000000, 1)]).start()
    p, log = start_worker("sigterm", c)
    try:
        ok(wait(lambda: len(c.shares("J1")) >= 2), "mining a long lease",
           text(log))
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0 and "worker: stopped" in text(log) and
           "LeakSanitizer" not in text(log),
           "SIGTERM while hashing: clean exit 0", text(log))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        c.server.stop(None)


def main():
    global GRPC, M, PBG
    gen_stubs()
    import grpc
    import coopmine_messages_pb2
    import coopmine_pb2_grpc
    GRPC, M, PBG = grpc, coopmine_messages_pb2, coopmine_pb2_grpc
    for t in (test_mining, test_sigterm):
        try:
            t()
        except Exception as e:
            import traceback
            ok(False, "test raised %r" % e, traceback.format_exc())
    print("1..%d" % tap_n)


if __name__ == "__main__":
    try:
        main()
    finally:
        if tap_failed == 0 and not os.environ.get("KEEP_TMP"):
            shutil.rmtree(T, ignore_errors=True)
        else:
            print("# kept " + T)
    sys.exit(1 if tap_failed else 0)
