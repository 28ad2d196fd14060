# dashlib.py: shared by the dashboard system tests (dash_*.py): starts
# tests/system/dash_fixture (the real http.c + live.c over a test double of
# the coordinator) on free 127.0.0.1 ports, prints TAP, cleans up.
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ["COOPMINE_BUILDDIR"]
SRC = os.environ["COOPMINE_SRCDIR"]
_dirs = []	# the fixtures' directories: removed when the test passed


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, detail=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond and detail is not None:
            for line in str(detail).splitlines()[:20]:
                print("#   " + line)
        sys.stdout.flush()
        return cond

    def done(self):
        print("1..%d" % self.n)
        for d in _dirs:
            if self.failed or os.environ.get("KEEP_TMP"):
                print("# kept %s" % d)
            else:
                shutil.rmtree(d, ignore_errors=True)
        sys.exit(1 if self.failed else 0)


class Fixture:
    """The fixture process; args are extra dash_fixture flags."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="coopmine-dash.")
        _dirs.append(self.dir)
        self.log = open(os.path.join(self.dir, "fixture.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "tests/system/dash_fixture"),
             "--static", os.path.join(SRC, "www")] + list(args),
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        # bounded: a fixture that never prints its ports fails here
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        try:
            kv = dict(p.split("=") for p in line.split())
            self.http = int(kv["HTTP_PORT"])
            self.ws = int(kv["WS_PORT"])
        except (ValueError, KeyError):
            self.stop()
            raise RuntimeError("dash_fixture did not start: %r, see %s" %
                               (line, self.dir))
        self.base = "http://127.0.0.1:%d" % self.http

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM, and the exit status (0 = clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def logtext(self):
        with open(os.path.join(self.dir, "fixture.log")) as f:
            return f.read()

    def request(self, path, method="GET", headers=None, data=None):
        """(status, headers, body bytes); never raises on HTTP errors."""
        req = urllib.request.Request(self.base + path, method=method,
                                     headers=headers or {}, data=data)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path, **kw):
        st, hd, body = self.request(path, **kw)
        try:
            return st, json.loads(body)
        except ValueError:
            return st, None
