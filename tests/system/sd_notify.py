# sd_notify.py: the coordinator and the worker speak systemd's notification
# protocol (Type=notify units): with NOTIFY_SOCKET pointing at a datagram
# socket this test opens, the coordinator sends READY=1 once it serves
# (/health answers by then), WATCHDOG=1 from its main loop when
# WATCHDOG_USEC is set (and never when it is not), and STOPPING=1 on
# SIGTERM before it exits 0; the worker sends READY=1 and STOPPING=1.
import os
import signal
import socket
import time

import rpc_lib as L
from dashlib import host_request

COORD = os.path.join(L.B, "src", "coordinator", "coopmine-coordinator")
WORKER = os.path.join(L.B, "src", "worker", "coopmine-worker")
pool, POOL = L.start_testpool("--job-interval", "60s")


def notify_socket(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = os.path.join(L.T, name)
    s.bind(path)
    return s, path


def messages(sock, until, timeout):
    """Datagrams until one contains `until` or timeout s pass: (list, t)."""
    got, end = [], time.time() + timeout
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append((data, time.time()))
        if until in data.split("\n"):
            break
    return got


def coord(name, env):
    return L.Proc(name, [COORD, "--pool-address", POOL, "--pool-wallet", "n",
                         "--verify", "none", "--insecure",
                         "--grpc-listen", "127.0.0.1:0",
                         "--dashboard-listen", "127.0.0.1:0",
                         "--dashboard-ws-listen", "127.0.0.1:0",
                         "--ledger-path", os.path.join(L.T, name + ".db")],
                  env=env)


# ---- with a watchdog of 1 s: WATCHDOG=1 about every 500 ms
sock, path = notify_socket("notify-wd")
c = coord("wd", {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
got = messages(sock, "READY=1", 30)
L.ok(got and got[-1][0] == "READY=1", "the coordinator says READY=1")
m = c.wait_log(r"dashboard on 127\.0\.0\.1:0 \(port (\d+)\)", 5)
port = int(m.group(1)) if m else None


def health():
    try:
        return host_request(port, "/health", "127.0.0.1:%d" % port)
    except OSError as e:
        return str(e), None


# READY=1 says the coordinator serves, not that its pool session is up
# already (that is asynchronous, and a pool may be down for a while): the
# first answer is 200, or 503 that names the pool as the only reason.
st, body = health() if port else (None, None)
L.ok(st == 200 or (st == 503 and isinstance(body, dict) and
                   body.get("pool_connected") is False and
                   body.get("ledger_writable") is True),
     "/health answers once READY=1 was sent (%s %s)" % (st, body))
end = time.time() + 20
while port and st != 200 and time.time() < end:
    time.sleep(0.1)
    st, body = health()
L.ok(st == 200 and isinstance(body, dict) and body.get("status") == "healthy",
     "and says healthy once the pool session is up (%s %s)" % (st, body))
got = messages(sock, "never", 3)
wd = [t for d, t in got if d == "WATCHDOG=1"]
L.ok(len(wd) >= 4, "WATCHDOG=1 from the main loop: %d in 3 s with "
     "WATCHDOG_USEC=1000000" % len(wd))
gaps = [b - a for a, b in zip(wd, wd[1:])]
L.ok(gaps and max(gaps) < 1.0, "never more than the watchdog interval apart "
     "(largest gap %.0f ms)" % (1000 * max(gaps) if gaps else -1))
c.signal(signal.SIGTERM)
got = messages(sock, "STOPPING=1", 20)
L.ok(got and got[-1][0] == "STOPPING=1", "SIGTERM: STOPPING=1")
L.ok(c.stop() == 0, "and it exits 0")
sock.close()

# ---- without WATCHDOG_USEC: READY=1, no WATCHDOG=1 at all
sock, path = notify_socket("notify-plain")
c = coord("plain", {"NOTIFY_SOCKET": path})
got = messages(sock, "READY=1", 30)
L.ok(got and got[-1][0] == "READY=1", "without a watchdog: READY=1")
got = messages(sock, "never", 1.0)
L.ok(not any(d == "WATCHDOG=1" for d, _ in got),
     "and no WATCHDOG=1 (%d datagrams in 1 s)" % len(got))
c.signal(signal.SIGTERM)
got = messages(sock, "STOPPING=1", 20)
L.ok(got and got[-1][0] == "STOPPING=1", "STOPPING=1 on SIGTERM")
L.ok(c.stop() == 0, "exits 0")
sock.close()

# ---- the worker (coopmine-worker@.service is Type=notify too)
sock, path = notify_socket("notify-worker")
w = L.Proc("worker", [WORKER, "--worker-id", "w1", "--insecure",
                      "--coordinator", "127.0.0.1:1", "--mode", "light",
                      "--threads", "1"],
           env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
got = messages(sock, "READY=1", 30)
L.ok(got and got[-1][0] == "READY=1", "the worker says READY=1")
got = messages(sock, "WATCHDOG=1", 5)
L.ok(got and got[-1][0] == "WATCHDOG=1", "and WATCHDOG=1 with WATCHDOG_USEC")
w.signal(signal.SIGTERM)
got = messages(sock, "STOPPING=1", 20)
L.ok(got and got[-1][0] == "STOPPING=1", "the worker: STOPPING=1 on SIGTERM")
L.ok(w.stop(60) == 0, "the worker exits 0")
sock.close()
pool.stop()
L.done()
