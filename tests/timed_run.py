#!/usr/bin/env python3
# timed_run.py: every test of `make check` runs under this wrapper (it is the
# LOG_COMPILER in front of each test's own interpreter), so that a hang costs
# one test's time limit, not CI's whole budget, and says where it hung.
#
#   timed_run.py [INTERPRETER...] TEST
#
# The test runs in its own session.  When it outlives its limit the wrapper
# logs the process tree, a gdb backtrace of every process built here (the
# C tests and the coopmine binaries) and a Python traceback of every Python
# process (faulthandler, on SIGABRT), kills the whole session and emits a
# TAP "Bail out!" naming the test, its elapsed time and the command it was
# waiting on, which automake's tap-driver reports as ERROR.
#
# Limits: COOPMINE_TEST_TIMEOUT (seconds, default 300) for every test;
# COOPMINE_TEST_TIMEOUTS="name=seconds ..." per test, where name is the
# test's file name without directory or extension (test_rx_full, cluster);
# both are multiplied by COOPMINE_TEST_TIMEOUT_SCALE (sanitizer builds are
# slower).  A limit of 0 disables the watchdog.
import os
import signal
import subprocess
import sys
import time

DEFAULT_LIMIT = 300.0


def test_limit(name):
    limit = float(os.environ.get("COOPMINE_TEST_TIMEOUT", DEFAULT_LIMIT))
    for item in os.environ.get("COOPMINE_TEST_TIMEOUTS", "").split():
        key, _, val = item.partition("=")
        if key == name and val:
            limit = float(val)
    return limit * float(os.environ.get("COOPMINE_TEST_TIMEOUT_SCALE", "1"))


def proc_table():
    """pid -> (ppid, sid, argv list, exe) for every process we can read."""
    table = {}
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        pid = int(ent)
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            # the command may hold spaces and parentheses: split after the last ')'
            fields = stat[stat.rindex(")") + 2:].split()
            ppid, sid = int(fields[1]), int(fields[3])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                exe = ""
        except (OSError, ValueError):
            continue
        table[pid] = (ppid, sid, argv, exe)
    return table


def session_procs(root):
    """The test's processes: its session, plus descendants that left it."""
    table = proc_table()
    found = {pid for pid, (_, sid, _, _) in table.items() if sid == root}
    found.add(root)
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return [p for p in sorted(found) if p in table], table


def depth(pid, table):
    d = 0
    while pid in table and d < 64:
        pid = table[pid][0]
        d += 1
    return d


def diagnose(root, name, elapsed):
    """Log the process tree and stacks; return a one-line 'where'."""
    err = sys.stderr
    pids, table = session_procs(root)
    err.write(f"\n==== {name}: TIMEOUT after {elapsed:.0f} s; processes:\n")
    for pid in pids:
        ppid, _, argv, exe = table[pid]
        err.write(f"  pid {pid} ppid {ppid}: {' '.join(argv)[:300]}\n")
    builddir = os.environ.get("COOPMINE_BUILDDIR", "")
    traced = 0
    for pid in pids:
        _, _, argv, exe = table[pid]
        base = os.path.basename(exe)
        if builddir and exe.startswith(builddir + "/") and traced < 6:
            traced += 1
            err.write(f"==== gdb backtrace of pid {pid} ({exe}):\n")
            err.flush()
            try:
                out = subprocess.run(
                    ["gdb", "-p", str(pid), "-batch", "-nx",
                     "-ex", "set pagination off",
                     "-ex", "thread apply all bt 25"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, timeout=60).stdout
                err.write(out.decode(errors="replace")[-20000:])
            except (OSError, subprocess.TimeoutExpired) as e:
                err.write(f"  (no backtrace: {e})\n")
        elif base.startswith("python"):
            # PYTHONFAULTHANDLER is set for every test: SIGABRT dumps the
            # traceback of every thread to the test's stderr (this log).
            err.write(f"==== Python traceback of pid {pid} follows (faulthandler):\n")
            err.flush()
            try:
                os.kill(pid, signal.SIGABRT)
            except OSError:
                pass
    err.flush()
    time.sleep(1)  # let faulthandler write
    # Where: the deepest process of the tree, the newest among equals (a
    # shell's foreground command after its background helpers).
    if not pids:
        return "no process left"
    leaf = max(pids, key=lambda p: (depth(p, table), p))
    return " ".join(table[leaf][2])[:160] or f"pid {leaf}"


def kill_all(root):
    try:
        os.killpg(root, signal.SIGKILL)
    except OSError:
        pass
    for pid in session_procs(root)[0]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def main():
    argv = sys.argv[1:]
    if not argv:
        sys.stderr.write("usage: timed_run.py [INTERPRETER...] TEST\n")
        return 2
    test = argv[-1]
    name = os.path.splitext(os.path.basename(test))[0]
    limit = test_limit(name)
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    start = time.monotonic()
    sys.stdout.flush()
    child = subprocess.Popen(argv, start_new_session=True, env=env)

    def forward(signum, _frame):
        kill_all(child.pid)
        sys.exit(128 + signum)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, forward)

    try:
        status = child.wait(timeout=limit if limit > 0 else None)
    except subprocess.TimeoutExpired:
        elapsed = time.monotonic() - start
        where = diagnose(child.pid, name, elapsed)
        kill_all(child.pid)
        child.wait()
        sys.stdout.write(f"\nBail out! {name} hung: killed after {elapsed:.0f} s "
                         f"(limit {limit:.0f} s), waiting on: {where}\n")
        sys.stdout.flush()
        return 124
    # Daemons a test forgot (or could not) stop would keep the driver's pipe
    # open; they die with the test.
    leftovers = [p for p in session_procs(child.pid)[0] if p != child.pid]
    if leftovers:
        sys.stderr.write(f"timed_run: {name} left {len(leftovers)} process(es) "
                         "running; killed\n")
        kill_all(child.pid)
    elapsed = time.monotonic() - start
    sys.stdout.write(f"\n# {name}: {elapsed:.1f} s (limit {limit:.0f} s)\n")
    sys.stdout.flush()
    return 128 - status if status < 0 else status


if __name__ == "__main__":
    sys.exit(main())
