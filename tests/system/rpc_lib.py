# rpc_lib.py: shared by the Python gRPC system tests.  An independent client
# for the coordinator: Debian's grpcio with stubs generated from proto/ at
# test time, certificates from contrib/gen_certs.sh, processes on 127.0.0.1
# in a private temporary directory, TAP output, cleanup on every exit.
#
# Sanitizer builds: the servers run with leak detection on and must exit 0
# (tests/lsan.supp names only third-party exit-time allocations).  Valgrind: run a
# test with the servers under memcheck (timing checks may then be slow):
#   cd build && COOPMINE_VALGRIND=1 make check TESTS=tests/system/rpc_core.py
# A definite leak or a memory error makes the server exit 24 and the
# "clean exit" check fail.
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

B = os.environ.get("COOPMINE_BUILDDIR")
S = os.environ.get("COOPMINE_SRCDIR")
if not B or not S:
    print("1..0 # SKIP run through make check")
    sys.exit(0)

try:
    import grpc
    from grpc_tools import protoc
except ImportError:
    print("1..0 # SKIP python3-grpcio / python3-grpc-tools missing")
    sys.exit(0)

T = tempfile.mkdtemp(prefix="coopmine-rpc.", dir=os.environ.get("TMPDIR", "/tmp"))
_procs = []
_n = 0
_failed = 0


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if _failed == 0 and not os.environ.get("KEEP_TMP"):
        shutil.rmtree(T, ignore_errors=True)
    else:
        print("# kept %s" % T)


atexit.register(_cleanup)

# Stubs from the project's own .proto files.
_gen = os.path.join(T, "gen")
os.mkdir(_gen)
if protoc.main(["protoc", "-I" + os.path.join(S, "proto"), "--python_out=" + _gen,
                "--grpc_python_out=" + _gen, "coopmine.proto",
                "coopmine_messages.proto"]) != 0:
    print("Bail out! protoc failed on proto/")
    sys.exit(1)
sys.path.insert(0, _gen)
import coopmine_messages_pb2 as pb  # noqa: E402
import coopmine_pb2_grpc as pbg  # noqa: E402

# Leaks inside libgrpc's own background threads at exit are not ours.
LSAN_SUPP = os.path.join(S, "tests", "lsan.supp")
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
    "LSAN_OPTIONS": "suppressions=%s:print_suppressions=0" % LSAN_SUPP,
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def ok(cond, desc):
    global _n, _failed
    _n += 1
    if cond:
        print("ok %d - %s" % (_n, desc))
    else:
        _failed += 1
        print("not ok %d - %s" % (_n, desc))
    sys.stdout.flush()
    return cond


def diag(msg):
    for line in str(msg).splitlines():
        print("# " + line)


def done():
    print("1..%d" % _n)
    sys.stdout.flush()
    sys.exit(0 if _failed == 0 else 1)


def gen_certs(outdir, *workers):
    subprocess.run([os.path.join(S, "contrib", "gen_certs.sh"), "--out", outdir]
                   + list(workers), check=True, stdout=subprocess.DEVNULL)
    return outdir


class Proc:
    """A background process whose combined output goes to T/<name>.log."""

    def __init__(self, name, argv, env=None, valgrind=False):
        self.name = name
        self.log = os.path.join(T, name + ".log")
        e = dict(os.environ)
        e.update(SAN_ENV)
        if env:
            e.update(env)
        if valgrind:
            argv = ["valgrind", "--error-exitcode=24", "--leak-check=full",
                    "--errors-for-leak-kinds=definite",
                    "--suppressions=" + os.path.join(S, "tests", "system", "valgrind.supp")
                    ] + argv
        self.fh = open(self.log, "w")
        self.p = subprocess.Popen(argv, stdout=self.fh, stderr=subprocess.STDOUT,
                                  env=e, cwd=T)
        _procs.append(self.p)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.p.poll() is not None:
                return re.search(pattern, self.text())
            time.sleep(0.05)
        return None

    def port(self, timeout=20.0):
        m = self.wait_log(r"port (\d+)", timeout)
        if not m:
            diag(self.text())
            raise RuntimeError("%s did not report its port" % self.name)
        return int(m.group(1))

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def stop(self, timeout=20.0):
        """SIGTERM, then the exit status (None if it had to be killed)."""
        self.signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None


def start_testpool(*args):
    """coopmine-testpool on a free port (extra flags in args); returns the
    Proc and its stratum+tcp:// URL."""
    pool = Proc("pool", [os.path.join(B, "src", "testpool", "coopmine-testpool"),
                         "--listen", "127.0.0.1:0"] + list(args))
    m = pool.wait_log(r"listening on 127\.0\.0\.1:(\d+)", 20)
    if not m:
        diag(pool.text())
        raise RuntimeError("coopmine-testpool did not start")
    return pool, "stratum+tcp://127.0.0.1:%s" % m.group(1)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(port, certs=None, worker=None, insecure=False, ca=None):
    """A fresh channel (own connection) to 127.0.0.1:port."""
    opts = [("grpc.use_local_subchannel_pool", 1)]
    target = "127.0.0.1:%d" % port
    if insecure:
        return grpc.insecure_channel(target, options=opts)
    key = cert = None
    if worker is not None:
        key = read(os.path.join(certs, worker + ".key"))
        cert = read(os.path.join(certs, worker + ".crt"))
    creds = grpc.ssl_channel_credentials(read(ca or os.path.join(certs, "ca.crt")),
                                         key, cert)
    return grpc.secure_channel(target, creds, options=opts)


def stub(ch):
    return pbg.CoopMineStub(ch)


def code_of(fn, *a, **kw):
    """Runs an RPC; returns (response or None, grpc.StatusCode, details)."""
    try:
        return fn(*a, **kw), grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return None, e.code(), e.details()


def raw_call(ch, method, payload, timeout=5):
    """Sends payload bytes as-is (identity serializers) to method."""
    f = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
    return code_of(f, payload, timeout=timeout)


def next_within(stream, timeout=10.0):
    """next(stream), bounded: grpc's stream iterators have no timeout of
    their own, so a stream that sends nothing within timeout is cancelled
    and TimeoutError raised here, where the test waited."""
    box = {}

    def get():
        try:
            box["v"] = next(stream)
        except BaseException as e:  # handed to the caller below
            box["e"] = e
    th = threading.Thread(target=get, daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        stream.cancel()
        th.join(5)
        raise TimeoutError("no message on the stream within %.0f s" % timeout)
    if "e" in box:
        raise box["e"]
    return box["v"]


def readline_within(f, timeout=10.0):
    """f.readline() of a subprocess pipe, or b"" after timeout seconds."""
    import select
    r, _, _ = select.select([f], [], [], timeout)
    return f.readline() if r else b""


def wait_until(fn, timeout=5.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def worker_status(st, worker_id, timeout=5):
    ws = st.GetWorkerStats(pb.WorkerStatsRequest(worker_id=worker_id), timeout=timeout)
    return ws.status
