#!/usr/bin/python3
# test_client.py: the worker's coordinator client (src/worker/client.c)
# against an independent peer: scripted CoopMine servers written with
# Debian's python3-grpcio (stubs generated from proto/ at test time), driven
# through tests/system/client_driver.  Prints TAP.
import os
import select
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
DRIVER = os.path.join(B, "tests", "system", "client_driver")
SERVE = len(sys.argv) == 4 and sys.argv[1] == "--serve"
T = sys.argv[2] if SERVE else tempfile.mkdtemp(prefix="coopmine-client.")

tap_n = 0
tap_failed = 0


def ok(cond, desc, diag=None):
    global tap_n, tap_failed
    tap_n += 1
    if cond:
        print("ok %d - %s" % (tap_n, desc))
    else:
        tap_failed += 1
        print("not ok %d - %s" % (tap_n, desc))
        if diag:
            for line in str(diag).splitlines()[-40:]:
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


def sh(*args):
    subprocess.run(args, check=True, cwd=T, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def gen_ca(name):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
       "-out", name + ".crt", "-subj", "/CN=" + name, "-days", "2")


def gen_cert(ca, name, cn, server):
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
       "-out", name + ".csr", "-subj", "/CN=" + cn)
    ext = name + ".ext"
    with open(os.path.join(T, ext), "w") as f:
        if server:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                    "extendedKeyUsage=serverAuth\n")
        else:
            f.write("extendedKeyUsage=clientAuth\n")
    sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
       "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".crt",
       "-days", "2", "-extfile", ext)


def rd(name):
    with open(os.path.join(T, name), "rb") as f:
        return f.read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Coord:
    """A scripted coordinator: records every call, answers as told."""

    def __init__(self, name, hb_ms=200, jobs=(), current_job=None):
        self.name = name
        self.hb_ms = hb_ms
        self.jobs = list(jobs)
        self.current_job = current_job
        self.commands = {}          # heartbeat index -> WorkerCommand
        self.share_fn = None        # (request, attempt) -> ShareResponse
        self.share_ctx_fn = None    # (request, context) -> ShareResponse
        self.lock = threading.Lock()
        self.events = []            # (time, kind, request, cn)
        self.streams = []
        self.server = None
        self.port = None

    def rec(self, kind, req, context):
        cn = ""
        auth = context.auth_context()
        if auth.get("x509_common_name"):
            cn = auth["x509_common_name"][0].decode()
        with self.lock:
            self.events.append((time.monotonic(), kind, req, cn))
            return sum(1 for e in self.events if e[1] == kind) - 1

    def get(self, kind):
        with self.lock:
            return [e for e in self.events if e[1] == kind]

    def push_job(self, j):
        for q in list(self.streams):
            q.put(j)

    def start(self, creds, port=0):
        pbg, m = PBG, M
        coord = self

        class Servicer(pbg.CoopMineServicer):
            def Register(self, request, context):
                coord.rec("register", request, context)
                r = m.RegisterResponse(success=True, message="welcome",
                                       assigned_id=request.worker_id)
                r.config.cluster_name = "test-" + coord.name
                r.config.heartbeat_interval_ms = coord.hb_ms
                if coord.current_job is not None:
                    r.current_job.CopyFrom(coord.current_job)
                return r

            def Unregister(self, request, context):
                coord.rec("unregister", request, context)
                return m.UnregisterResponse(success=True)

            def Heartbeat(self, request, context):
                n = coord.rec("heartbeat", request, context)
                return m.HeartbeatResponse(success=True,
                                           command=coord.commands.get(n, 0))

            def StreamJobs(self, request, context):
                coord.rec("stream", request, context)
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
                n = coord.rec("share", request, context)
                if coord.share_ctx_fn is not None:
                    return coord.share_ctx_fn(request, context)
                if coord.share_fn is not None:
                    return coord.share_fn(request, n)
                return m.ShareResponse(accepted=True, difficulty=1000.0)

        self.streams = []
        self.server = GRPC.server(
            futures.ThreadPoolExecutor(max_workers=16),
            options=[("grpc.keepalive_permit_without_calls", 1),
                     ("grpc.http2.min_ping_interval_without_data_ms", 1000),
                     ("grpc.http2.max_ping_strikes", 0)])
        pbg.add_CoopMineServicer_to_server(Servicer(), self.server)
        addr = "127.0.0.1:%d" % port
        if creds is None:
            self.port = self.server.add_insecure_port(addr)
        else:
            self.port = self.server.add_secure_port(addr, creds)
        self.server.start()
        return self

    def addr(self):
        return "127.0.0.1:%d" % self.port

    def kill(self):
        if self.server is not None:
            self.server.stop(None)
            self.server = None


class Driver:
    def __init__(self, name, args):
        self.errpath = os.path.join(T, name + ".err")
        self.err = open(self.errpath, "w")
        self.lines = []
        self.cv = threading.Condition()
        self.p = subprocess.Popen([DRIVER] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err,
                                  text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def send(self, s):
        self.p.stdin.write(s + "\n")
        self.p.stdin.flush()

    def matching(self, rx):
        with self.cv:
            return [m for m in (re.search(rx, x) for x in self.lines) if m]

    def wait(self, rx, timeout=10.0):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for x in self.lines:
                    m = re.search(rx, x)
                    if m:
                        return m
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def wait_stderr(self, rx, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(rx, self.stderr()):
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=15.0):
        t0 = time.monotonic()
        try:
            self.send("stop")
            self.p.stdin.close()
            rc = self.p.wait(timeout)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self.p.kill()
            rc = self.p.wait()
        self.err.close()
        return rc, time.monotonic() - t0

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def diag(self):
        with self.cv:
            out = "\n".join(self.lines)
        return "stdout:\n" + out + "\nstderr:\n" + self.stderr()


def job(jid, blob=bytes(range(80)), off=76, seed=b"\x11" * 32,
        target=(0x00FFFFFFFFFFFFFF).to_bytes(8, "little"), start=0x01000000,
        end=0x02000000, lease=1, clean=True, height=70, block_target=b""):
    return M.JobMessage(job_id=jid, blob=blob, nonce_offset=off,
                        seed_hash=seed, target=target, nonce_start=start,
                        nonce_end=end, lease_id=lease, clean_jobs=clean,
                        height=height, algo="rx/0", block_target=block_target)


RESULT = bytes(range(32)).hex()
ERR_BAD_JOBS = ("bad-short", "bad-zero-target", "bad-empty-seed",
                "bad-lease", "bad-lease-big")


def tls_args(ca="ca1", cert="worker-1"):
    return ["--ca", os.path.join(T, ca + ".crt"),
            "--cert", os.path.join(T, cert + ".crt"),
            "--key", os.path.join(T, cert + ".key")]


def check_exit(d, what):
    rc, took = d.stop()
    ok(rc == 0 and "LeakSanitizer" not in d.stderr(),
       "%s: client_stop returns, exit 0, no leaks" % what, d.diag())
    return took


def test_main(server_creds):
    """Register over mTLS, jobs with leases, bad jobs, heartbeats at the
    interval, commands, stats, shares and verdicts, unregister."""
    block_target = bytes([0xff] * 28 + [0, 0, 0, 0])
    bad = [job("bad-short", blob=bytes(40)),
           job("bad-zero-target", target=bytes(8)),
           job("bad-empty-seed", seed=b""),
           job("bad-lease", start=5, end=5),
           job("bad-lease-big", start=0, end=(1 << 32) + 1)]
    c = Coord("a", hb_ms=200,
              jobs=bad + [job("J1", block_target=block_target)])
    c.commands = {3: M.COMMAND_PAUSE, 5: M.COMMAND_RESUME}

    def share_fn(req, n):
        if req.nonce == bytes.fromhex("04030201"):
            return M.ShareResponse(accepted=True, difficulty=1234.5)
        return M.ShareResponse(accepted=False, reason="low difficulty")
    c.share_fn = share_fn
    c.start(server_creds)
    d = Driver("main", tls_args() + ["--name", "rig one", "--threads",
                                     "3", c.addr()])
    try:
        ok(d.wait(r"^CONN 1 " + re.escape(c.addr()) + "$"),
           "connects and registers over mutual TLS", d.diag())
        regs = c.get("register")
        r = regs[0][2] if regs else None
        ok(r is not None and regs[0][3] == "worker-1" and
           r.worker_id == "worker-1" and r.worker_name == "rig one" and
           r.threads == 3 and r.version != "" and r.os != "" and
           r.arch != "" and list(r.capabilities) == ["rx/0", "lease"],
           "Register carries id, name, threads, version, os, arch, "
           "capabilities; certificate CN is the worker id", regs)
        m = d.wait(r"^JOB id=J1 ")
        exp = ("JOB id=J1 blob=%s off=76 seed=%s height=70 algo=rx/0 "
               "target=00ffffffffffffff lease=1 start=16777216 end=33554432 "
               "clean=1 block=%s" % (bytes(range(80)).hex(), "11" * 32,
                                     block_target.hex()))
        ok(m is not None and m.string == exp,
           "job from the stream delivered with blob, offset, seed, target, "
           "lease and block target", d.diag())
        ok(not d.matching(r"^JOB id=bad"),
           "bad jobs are never delivered", d.diag())
        ok(all(re.search(r"bad job %s .*dropped" % b, d.stderr())
               for b in ERR_BAD_JOBS),
           "each bad job (short blob, zero target, empty seed, end <= start,"
           " end > 2^32) is logged as dropped", d.diag())
        ok(len(c.get("stream")) == 1 and
           c.get("stream")[0][2].worker_id == "worker-1",
           "StreamJobs opened once with the worker id")

        # Heartbeats: the interval the server gave, counted over 2 s.
        time.sleep(0.3)
        t0 = time.monotonic()
        time.sleep(2.0)
        hbs = [e[0] for e in c.get("heartbeat") if t0 <= e[0] < t0 + 2.0]
        ok(8 <= len(hbs) <= 12,
           "heartbeats every 200 ms as configured (%d in 2 s)" % len(hbs))
        ok(d.wait(r"^CMD 1$", 3) and d.wait(r"^CMD 2$", 3),
           "PAUSE and RESUME from heartbeat responses delivered", d.diag())

        d.send("stats 123.5 4 1 99999 7 500")
        d.wait(r"^STATS$")
        # the next heartbeat carries them: poll for it (at most 10 s)
        end = time.monotonic() + 10
        while time.monotonic() < end and c.get("heartbeat")[-1][2].hashrate != 123.5:
            time.sleep(0.05)
        last = c.get("heartbeat")[-1][2]
        ok(last.hashrate == 123.5 and last.shares_valid == 4 and
           last.shares_invalid == 1 and last.hashes_total == 99999 and
           last.lease_id == 7 and last.lease_hashes_done == 500 and
           last.worker_id == "worker-1",
           "heartbeat carries the figures of client_set_stats", last)

        d.send("share 7 J1 01020304 " + RESULT)
        ok(d.wait(r"^SHARE 7 1 0 1234\.5 $"),
           "accepted share: verdict and difficulty delivered", d.diag())
        sh_ = c.get("share")
        s = sh_[0][2] if sh_ else None
        ok(s is not None and s.worker_id == "worker-1" and
           s.job_id == "J1" and s.nonce == bytes.fromhex("04030201") and
           s.result == bytes(range(32)) and s.lease_id == 1 and
           abs(s.timestamp - time.time() * 1000) < 60000,
           "ShareRequest carries job, nonce bytes as in the blob, result, "
           "lease", s)
        d.send("share 8 J1 01020305 " + RESULT)
        ok(d.wait(r"^SHARE 8 0 0 0\.0 low difficulty$"),
           "rejected share: reason delivered", d.diag())

        # A new lease for the same job; the same lease again is not
        # redelivered (the miner would hash its nonces twice).
        c.push_job(job("J1", lease=2, start=0x02000000, end=0x03000000,
                       clean=False))
        c.push_job(job("J1", lease=2, start=0x02000000, end=0x03000000,
                       clean=False))
        c.push_job(job("J2", lease=3, clean=False))
        ok(d.wait(r"^JOB id=J2 "), "later jobs arrive on the stream")
        ok(len(d.matching(r"^JOB id=J1 .*lease=2 start=33554432 "
                          r"end=50331648 clean=0")) == 1,
           "a new lease is delivered once", d.diag())
    finally:
        took = check_exit(d, "mTLS session")
        c.kill()
    ok(took < 3.0, "client_stop is prompt (%.2f s)" % took)
    un = c.get("unregister")
    ok(len(un) == 1 and un[0][2].worker_id == "worker-1",
       "Unregister sent on client_stop")
    ok(d.matching(r"^CONN 0 ") != [], "disconnection reported on stop")


def test_retry(server_creds):
    """retry_after_ms keeps the share and resends it after that delay;
    client_request_lease sends an early heartbeat with want_lease."""
    c = Coord("r", hb_ms=5000, jobs=[job("J1")])
    attempts = []

    def share_fn(req, n):
        attempts.append(time.monotonic())
        if n == 0:
            return M.ShareResponse(retry_after_ms=700)
        return M.ShareResponse(accepted=True, difficulty=10.0)

    def unavailable_fn(req, context):
        fails.append(time.monotonic())
        if len(fails) <= 2:
            context.abort(GRPC.StatusCode.UNAVAILABLE, "no share sink")
        return M.ShareResponse(accepted=True, difficulty=20.0)
    fails = []
    c.share_fn = share_fn
    c.start(server_creds)
    d = Driver("retry", tls_args() + ["--backoff-min", "200", c.addr()])
    try:
        ok(d.wait(r"^JOB id=J1 "), "connected, job received", d.diag())
        d.send("share 1 J1 01000010 " + RESULT)
        ok(d.wait(r"^SHARE 1 1 0 10\.0 $", 5), "share accepted after retry",
           d.diag())
        gap = attempts[1] - attempts[0] if len(attempts) == 2 else 0
        ok(len(attempts) == 2 and 0.65 <= gap < 3.0,
           "retry_after_ms=700 honoured (resent after %.2f s), once" % gap)
        ok(len(d.matching(r"^SHARE 1 ")) == 1,
           "one verdict for the share, not two")
        t0 = time.monotonic()
        d.send("lease")
        end = time.monotonic() + 3
        want = []
        while time.monotonic() < end and not want:
            want = [e for e in c.get("heartbeat") if e[2].want_lease]
            time.sleep(0.05)
        ok(want and want[0][0] - t0 < 1.5,
           "client_request_lease: early heartbeat with want_lease", want)

        # UNAVAILABLE from a live coordinator: retried with backoff, not
        # in a tight loop.
        c.share_ctx_fn = unavailable_fn
        d.send("share 2 J1 01000020 " + RESULT)
        ok(d.wait(r"^SHARE 2 1 0 20\.0 $", 5), "share accepted after two "
           "UNAVAILABLE answers", d.diag())
        gaps = [b - a for a, b in zip(fails, fails[1:])]
        ok(len(fails) == 3 and 0.18 <= gaps[0] and 0.38 <= gaps[1],
           "retried with backoff (gaps %s)" % ["%.2f" % g for g in gaps])
    finally:
        check_exit(d, "retry session")
        c.kill()


def test_failover(creds_a):
    """Server killed: reconnect with backoff to the next coordinator; shares
    found meanwhile wait (bounded) and are sent if their job is current,
    dropped when a new clean job came."""
    a = Coord("a", hb_ms=1000, jobs=[job("J1")]).start(creds_a)
    port_b = free_port()
    d = Driver("failover", tls_args() + ["--backoff-min", "200",
                                         "--backoff-max", "1500",
                                         "--queue-max", "3", a.addr(),
                                         "127.0.0.1:%d" % port_b])
    b = None
    try:
        ok(d.wait(r"^JOB id=J1 .*lease=1 "), "first coordinator: job J1",
           d.diag())
        a.kill()
        ok(d.wait(r"^CONN 0 " + re.escape(a.addr()) + "$"),
           "loss of the coordinator reported", d.diag())
        for tag in (1, 2, 3):
            d.send("share %d J1 0100000%d %s" % (tag, tag, RESULT))
        d.send("share 4 J1 01000004 " + RESULT)
        ok(d.wait(r"^SUBMIT 3 0$") and d.wait(r"^SUBMIT 4 -1$"),
           "shares queued while away; the 4th exceeds the bound (3)",
           d.diag())
        ok(d.wait_stderr(r"share 4 .*dropped: share queue full"),
           "a full queue drops with a log line", d.diag())
        time.sleep(2.5)     # let the backoff grow against dead addresses
        b = Coord("b", hb_ms=1000, jobs=[job("J1", lease=11)],
                  current_job=job("J1", lease=11))
        b.start(creds_a, port_b)
        ok(d.wait(r"^CONN 1 127\.0\.0\.1:%d$" % port_b, 10),
           "reconnects to the second coordinator", d.diag())
        delays = [int(x) for x in re.findall(r"connecting to \S+ in (\d+) ms",
                                             d.stderr())]
        # Equal jitter (common/backoff.h): each delay in [base/2, base],
        # base doubling from min (200) up to max (1500).
        ok(len(delays) >= 3 and all(100 <= x <= 1500 for x in delays) and
           max(delays) >= 2 * min(delays),
           "reconnect delays back off within [min/2, max] (%s)" % delays)
        ok(d.wait(r"^SHARE 3 1 ", 5) and d.wait(r"^SHARE 1 1 ") and
           d.wait(r"^SHARE 2 1 "),
           "queued shares sent after reconnect (job still current)",
           d.diag())
        nonces = sorted(e[2].nonce.hex() for e in b.get("share"))
        ok(nonces == ["01000001", "02000001", "03000001"],
           "the second coordinator got exactly the queued shares", nonces)
        ok(len(d.matching(r"^JOB id=J1 .*lease=11 ")) == 1,
           "job in RegisterResponse and on the stream delivered once",
           d.diag())

        b.kill()
        ok(d.wait(r"^CONN 0 127\.0\.0\.1:%d$" % port_b),
           "second coordinator lost", d.diag())
        d.send("share 5 J1 01000005 " + RESULT)
        d.wait(r"^SUBMIT 5 0$")
        a2 = Coord("a2", hb_ms=1000, jobs=[job("J9", lease=21)])
        a2.start(creds_a, a.port)
        ok(d.wait(r"^JOB id=J9 ", 10), "back on the first coordinator with "
           "a new clean job", d.diag())
        ok(d.wait_stderr(r"share 5 \(job J1.*dropped: its job is no longer "
                         r"current"), "queued share of a superseded job "
           "dropped with a log line", d.diag())
        time.sleep(0.3)
        ok(a2.get("share") == [] and not d.matching(r"^SHARE 5 "),
           "and not sent")
    finally:
        check_exit(d, "failover session")
        for s in (a, b):
            if s is not None:
                s.kill()
        if "a2" in locals():
            a2.kill()


def test_bad_config():
    d = Driver("badconf", tls_args(cert="nonexistent") + ["127.0.0.1:1"])
    rc = d.p.wait(10)
    ok(rc == 1 and re.search(r"certificate file .*nonexistent\.crt: No such "
                             r"file", d.stderr()),
       "a missing certificate file is refused at start, naming the file",
       d.diag())


def test_insecure():
    c = Coord("i", jobs=[job("J1")]).start(None)
    d = Driver("insecure", ["--insecure", c.addr()])
    try:
        ok(d.wait(r"^JOB id=J1 ") and len(c.get("register")) == 1,
           "insecure mode: registers and streams in plaintext", d.diag())
        ok(re.search(r"warn.*INSECURE", d.stderr()),
           "insecure mode logs a warning", d.diag())
    finally:
        check_exit(d, "insecure session")
        c.kill()


def test_foreign_ca():
    creds = GRPC.ssl_server_credentials(
        [(rd("server2.key"), rd("server2.crt"))],
        root_certificates=rd("ca1.crt"), require_client_auth=True)
    c = Coord("f", jobs=[job("J1")]).start(creds)
    d = Driver("foreign", tls_args() + ["--backoff-min", "200",
                                        "--backoff-max", "400", c.addr()])
    try:
        ok(d.wait_stderr(r"coordinator 127\.0\.0\.1:%d: UNAVAILABLE" %
                         c.port, 10), "handshake failure logged", d.diag())
        time.sleep(1.0)
        ok(not d.matching(r"^CONN 1") and c.get("register") == [],
           "a coordinator whose certificate is from another CA is refused",
           d.diag())
        ok(len(re.findall(r"connecting to ", d.stderr())) >= 3,
           "and retried with backoff", d.diag())
    finally:
        check_exit(d, "foreign-CA session")
        c.kill()


def test_frozen(creds):
    """A coordinator that stops answering (SIGSTOP) is noticed by the
    heartbeat deadline, and the client fails over."""
    srv = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                            "--serve", T, "200"], stdout=subprocess.PIPE,
                           text=True)
    b = Coord("b", hb_ms=200, jobs=[job("J2")]).start(creds)
    d = None
    try:
        ready, _, _ = select.select([srv.stdout], [], [], 30)	# bounded
        line = srv.stdout.readline() if ready else "no port within 30 s"
        port = int(line.split()[1])
        d = Driver("frozen", tls_args() + ["--backoff-min", "100",
                                           "--backoff-max", "500",
                                           "127.0.0.1:%d" % port, b.addr()])
        ok(d.wait(r"^JOB id=J1 "), "connected to the first coordinator",
           d.diag())
        os.kill(srv.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        m = d.wait(r"^CONN 1 " + re.escape(b.addr()) + "$", 10)
        took = time.monotonic() - t0
        ok(m and took < 6.0 and
           re.search(r"lost coordinator 127\.0\.0\.1:%d: heartbeat failed: "
                     r"DEADLINE_EXCEEDED" % port, d.stderr()),
           "frozen coordinator noticed, failed over in %.1f s" % took,
           d.diag())
        ok(d.wait(r"^JOB id=J2 "), "and working on the second one's job")
    finally:
        if d is not None:
            check_exit(d, "frozen-coordinator session")
        srv.kill()
        srv.wait()
        b.kill()


def serve(tdir, hb_ms):
    """--serve: a coordinator in its own process, so that it can be frozen."""
    global GRPC, M, PBG
    sys.path.insert(0, T)
    import grpc
    import coopmine_messages_pb2
    import coopmine_pb2_grpc
    GRPC, M, PBG = grpc, coopmine_messages_pb2, coopmine_pb2_grpc
    creds = grpc.ssl_server_credentials(
        [(rd("server1.key"), rd("server1.crt"))],
        root_certificates=rd("ca1.crt"), require_client_auth=True)
    c = Coord("frozen", hb_ms=hb_ms, jobs=[job("J1")]).start(creds)
    print("PORT %d" % c.port, flush=True)
    while True:
        time.sleep(3600)


def main():
    global GRPC, M, PBG
    gen_stubs()
    import grpc
    import coopmine_messages_pb2
    import coopmine_pb2_grpc
    GRPC, M, PBG = grpc, coopmine_messages_pb2, coopmine_pb2_grpc
    gen_ca("ca1")
    gen_ca("ca2")
    gen_cert("ca1", "server1", "coordinator", True)
    gen_cert("ca2", "server2", "coordinator", True)
    gen_cert("ca1", "worker-1", "worker-1", False)
    creds = grpc.ssl_server_credentials(
        [(rd("server1.key"), rd("server1.crt"))],
        root_certificates=rd("ca1.crt"), require_client_auth=True)
    for t in (lambda: test_main(creds), lambda: test_retry(creds),
              lambda: test_failover(creds), lambda: test_frozen(creds),
              test_bad_config, test_insecure, test_foreign_ca):
        try:
            t()
        except Exception as e:     # a crash in one part must not hide others
            import traceback
            ok(False, "test raised %r" % e, traceback.format_exc())
    print("1..%d" % tap_n)


if __name__ == "__main__":
    if SERVE:
        serve(sys.argv[2], int(sys.argv[3]))
    try:
        main()
    finally:
        if tap_failed == 0 and not os.environ.get("KEEP_TMP"):
            shutil.rmtree(T, ignore_errors=True)
        else:
            print("# kept " + T)
    sys.exit(1 if tap_failed else 0)
