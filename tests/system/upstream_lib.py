# upstream_lib.py: shared by the upstream system tests (upstream_*.py):
# TAP output, a private temp dir, free ports, coopmine-testpool instances
# and runs of tests/upstream-driver, all torn down on exit.
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

B = os.environ.get("COOPMINE_BUILDDIR")
if not B:
    print("1..0 # SKIP run through make check")
    sys.exit(0)
TESTPOOL = os.path.join(B, "src/testpool/coopmine-testpool")
DRIVER = os.path.join(B, "tests/upstream-driver")
T = tempfile.mkdtemp(prefix="coopmine-upstream.")
_procs = []
_n = 0
_failed = 0


def ok(cond, desc, diag=None):
    global _n, _failed
    _n += 1
    if cond:
        print("ok %d - %s" % (_n, desc))
    else:
        _failed += 1
        print("not ok %d - %s" % (_n, desc))
        if diag:
            for line in str(diag).splitlines()[-30:]:
                print("#   " + line)
    sys.stdout.flush()
    return cond


def done():
    print("1..%d" % _n)
    sys.exit(1 if _failed else 0)


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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(path, pattern, timeout):
    """Waits until the file matches pattern (a regex); returns the match."""
    end = time.time() + timeout
    rx = re.compile(pattern, re.M)
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                m = rx.search(f.read())
            if m:
                return m
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return None


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Pool:
    """A coopmine-testpool on its own port."""

    def __init__(self, name, *args, port=None):
        self.name = name
        self.port = port or free_port()
        self.log = os.path.join(T, "pool-" + name + ".log")
        self.summary = os.path.join(T, "pool-" + name + ".summary.json")
        self.args = ["--listen", "127.0.0.1:%d" % self.port, "--summary-file",
                     self.summary, "--difficulty", "5", "--job-interval", "1s"] + list(args)
        self.proc = None
        self.start()

    def start(self):
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([TESTPOOL] + self.args, stdout=log,
                                         stderr=subprocess.STDOUT)
        _procs.append(self.proc)
        if not wait_for(self.log, r"listening on 127\.0\.0\.1:%d" % self.port, 10):
            raise RuntimeError("testpool %s did not start: %s" % (self.name, read(self.log)))

    def url(self, scheme="stratum+tcp"):
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        """SIGTERM; returns the exit summary."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return json.loads(read(self.summary))

    def summary_now(self):
        try:
            os.unlink(self.summary)
        except FileNotFoundError:
            pass
        self.proc.send_signal(signal.SIGUSR1)
        end = time.time() + 5
        while time.time() < end:
            if os.path.exists(self.summary):
                try:
                    return json.loads(read(self.summary))
                except ValueError:
                    pass
            time.sleep(0.05)
        return None


class Driver:
    """tests/upstream-driver: events on stdout (self.out), logs (self.log)."""

    def __init__(self, name, *args, wallet="WALLET"):
        self.out = os.path.join(T, "driver-" + name + ".events")
        self.log = os.path.join(T, "driver-" + name + ".log")
        argv = [DRIVER, "--pool-wallet", wallet] + list(args)
        self.proc = subprocess.Popen(argv, stdout=open(self.out, "w"),
                                     stderr=open(self.log, "w"))
        _procs.append(self.proc)

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -1

    def events(self):
        return read(self.out)

    def lines(self, kind):
        out = []
        for line in self.events().splitlines():
            parts = line.split(" ", 2)
            if len(parts) >= 2 and parts[1] == kind:
                out.append(line)
        return out

    def wait_event(self, pattern, timeout):
        m = wait_for(self.out, pattern, timeout)
        return m

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.wait(15)

    def diag(self):
        return self.events() + "\n" + read(self.log)


def t_of(line):
    return int(line.split(" ", 1)[0][2:])


def kv(line, key):
    m = re.search(r'\b%s=("([^"]*)"|\S+)' % key, line)
    if not m:
        return None
    return m.group(2) if m.group(2) is not None else m.group(1)


def make_cert(name="pool"):
    """Self-signed certificate for 127.0.0.1; returns (cert, key, sha256)."""
    cert = os.path.join(T, name + ".crt")
    key = os.path.join(T, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fp = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint",
                         "-sha256"], check=True, capture_output=True, text=True).stdout
    return cert, key, fp.strip().split("=", 1)[1]
