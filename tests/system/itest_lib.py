# itest_lib.py: shared by the issue-12 system tests (integrity_restart.py,
# hostile_worker.py, outbox_restart.py, worker_longid.py): a watchdog that
# bounds a whole test, the coordinator started the way these tests need it,
# read-only ledger queries and `coopmine-cli audit`.  Builds on rpc_lib.py
# (TAP, Proc, certificates, stubs, cleanup of every process on exit).
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import rpc_lib
from rpc_lib import B, Proc, diag


def watchdog(seconds):
    """Ends the test as failed after seconds, whatever it is waiting for;
    rpc_lib's exit handler then kills every process it started."""
    def fire(signum, frame):
        print("not ok - watchdog: the test did not finish within %d s" % seconds)
        print("Bail out! timed out")
        sys.stdout.flush()
        rpc_lib._failed += 1
        rpc_lib._cleanup()
        sys.stdout.flush()
        os._exit(1)
    signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def coordinator(name, certs, pool_url, db, *extra):
    """coopmine-coordinator on a free gRPC port with the given ledger; extra
    flags are appended (later flags win).  Returns (Proc, port or None)."""
    argv = [os.path.join(B, "src/coordinator/coopmine-coordinator"),
            "--grpc-listen", "127.0.0.1:0",
            "--tls-cert", os.path.join(certs, "server.crt"),
            "--tls-key", os.path.join(certs, "server.key"),
            "--tls-ca", os.path.join(certs, "ca.crt"),
            "--pool-address", pool_url, "--pool-wallet", "itest",
            "--ledger-path", db, "--dashboard-listen", "",
            "--heartbeat-interval", "2s"] + list(extra)
    p = Proc(name, argv)
    m = p.wait_log(r"gRPC port (\d+)", 30)
    if m is None:
        diag("%s did not start:\n%s" % (name, p.text()[-3000:]))
        return p, None
    return p, int(m.group(1))


def ro(db):
    """A read-only connection to the ledger (the coordinator may run)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    con.execute("pragma query_only = 1")
    return con


def q(db, sql, *args):
    con = ro(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def cli(db, *args, timeout=30):
    """coopmine-cli --db db args...; returns the CompletedProcess."""
    return subprocess.run([os.path.join(B, "src/cli/coopmine-cli"), "--db", db]
                          + list(args), capture_output=True, text=True,
                          timeout=timeout)


def audit(db):
    r = cli(db, "audit")
    return r.returncode, (r.stdout + r.stderr).strip()


def real_shares(job, need, seconds=120):
    """Hashes the nonces of job's lease in order with tests/rx_hash (real
    RandomX, light mode) until need of them meet the job's target, or
    seconds pass.  Returns ([(nonce, hash)], nonces hashed)."""
    rx = subprocess.Popen([os.path.join(B, "tests/rx_hash")],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    target = struct.unpack("<Q", job.target)[0]
    good = []
    t0 = time.time()
    n = job.nonce_start
    while len(good) < need and n < job.nonce_end and time.time() - t0 < seconds:
        b = bytearray(job.blob)
        b[job.nonce_offset:job.nonce_offset + 4] = struct.pack("<I", n)
        rx.stdin.write("%s %s\n" % (job.seed_hash.hex(), bytes(b).hex()))
        rx.stdin.flush()
        h = bytes.fromhex(rx.stdout.readline().strip())
        if struct.unpack("<Q", h[24:])[0] <= target:
            good.append((n, h))
        n += 1
    rx.stdin.close()
    rx.wait()
    return good, n - job.nonce_start


def http_json(port, path):
    """GET http://127.0.0.1:port/path: (status, parsed JSON or None), or
    (error text, None) when nothing answered."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=5) as f:
            return f.status, json.loads(f.read())
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError) as e:
        return str(e), None


def health(port):
    """GET /health: (status, JSON body), the body of a 503 too."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/health" % port,
                                    timeout=5) as f:
            return f.status, json.loads(f.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_for(pred, timeout, step=0.2):
    """pred() until it is true or timeout seconds pass: its value, or None.
    A pred that raises (a node or port not up yet) counts as not yet."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = pred()
        except (OSError, RuntimeError, ValueError):
            v = None
        if v:
            return v
        time.sleep(step)
    return None


def testpool(name, port, *args):
    """coopmine-testpool named name (log T/name.log) on 127.0.0.1:port (0:
    any free port), for tests that run several pools or restart one on the
    same port.  Returns (Proc or None, port)."""
    p = Proc(name, [os.path.join(B, "src", "testpool", "coopmine-testpool"),
                    "--listen", "127.0.0.1:%d" % port] + list(args))
    m = p.wait_log(r"listening on 127\.0\.0\.1:(\d+)", 20)
    if not m:
        diag("%s did not start:\n%s" % (name, p.text()[-2000:]))
        return None, port
    return p, int(m.group(1))


def pool_summary(pool, path, timeout=10):
    """The pool's JSON summary (SIGUSR1 writes it to path), or None."""
    if os.path.exists(path):
        os.unlink(path)
    pool.signal(signal.SIGUSR1)
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            time.sleep(0.05)
    return None


def http_call(port, method, path, token=None, body=None):
    """An HTTP request to the dashboard: (status, parsed JSON or None)."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 method=method, data=body)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as f:
            raw = f.read()
            return f.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError) as e:
        return str(e), None


class JobFeed:
    """StreamJobs of one worker read on a thread: every JobMessage with the
    time it arrived, so a test can wait for one that matches."""

    def __init__(self, st, worker):
        import threading
        self.jobs = []
        self.lock = threading.Lock()
        self.stream = st.StreamJobs(rpc_lib.pb.StreamJobsRequest(worker_id=worker))
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        self.ended = None
        try:
            for j in self.stream:
                with self.lock:
                    self.jobs.append((time.time(), j))
            self.ended = "the coordinator ended the stream"
        except Exception as e:
            self.ended = "stream failed: %s" % e

    def wait(self, pred, since, timeout):
        """The first (time, job) received at or after since with pred(job)."""
        end = time.time() + timeout
        while True:
            with self.lock:
                for t, j in self.jobs:
                    if t >= since and pred(j):
                        return t, j
            if time.time() >= end:
                return None, None
            time.sleep(0.02)

    def close(self):
        self.stream.cancel()


def dash_port(proc, timeout=10):
    """The dashboard port a coordinator started with --dashboard-listen
    127.0.0.1:0 reports, or None."""
    m = proc.wait_log(r"http: dashboard on \S+ \(port (\d+)\)", timeout)
    return int(m.group(1)) if m else None


class SimWorker(threading.Thread):
    """A simulated worker of `rate` H/s: submits a share (zero result: for a
    coordinator with verify = none) whenever it has done difficulty hashes
    since the last one, on the latest work it was sent."""

    def __init__(self, port, certs, wid, rate, threads=1):
        super().__init__(daemon=True)
        self.wid, self.rate, self.threads = wid, rate, threads
        self.st = rpc_lib.stub(rpc_lib.channel(port, certs, wid))
        self.stop = threading.Event()
        self.sent = []          # (time, difficulty) of each accepted share
        self.rejected = []
        self.diffs = []         # (time, difficulty) of each work received
        self.job = None
        self.feed = None

    def register(self):
        end = time.time() + 20
        while time.time() < end:
            reg, code, _ = rpc_lib.code_of(self.st.Register, rpc_lib.pb.RegisterRequest(
                worker_id=self.wid, worker_name=self.wid, threads=self.threads),
                timeout=5)
            if reg is not None and reg.HasField("current_job"):
                self.job = reg.current_job
                self.diffs.append((time.time(), self.job.difficulty))
                self.feed = JobFeed(self.st, self.wid)
                return True
            time.sleep(0.1)
        return False

    def latest(self):
        with self.feed.lock:
            if self.feed.jobs:
                j = self.feed.jobs[-1][1]
                if j.job_id != self.job.job_id or j.lease_id != self.job.lease_id \
                        or j.difficulty != self.job.difficulty:
                    self.job = j
                    self.diffs.append((time.time(), j.difficulty))
        return self.job

    def run(self):
        last = time.time()
        nonce = {}
        while not self.stop.is_set():
            j = self.latest()
            due = last + j.difficulty / self.rate
            if time.time() < due:
                time.sleep(min(0.02, max(0.0, due - time.time())))
                continue
            key = (j.job_id, j.lease_id)
            n = nonce.get(key, j.nonce_start)
            nonce[key] = n + 1
            r, code, det = rpc_lib.code_of(self.st.SubmitShare, rpc_lib.pb.ShareRequest(
                worker_id=self.wid, job_id=j.job_id, nonce=struct.pack("<I", n),
                result=bytes(32), lease_id=j.lease_id), timeout=5)
            last = due
            if r is not None and r.accepted:
                self.sent.append((time.time(), j.difficulty))
            else:
                self.rejected.append((code, r.reason if r is not None else det))
