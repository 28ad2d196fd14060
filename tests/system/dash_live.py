# dash_live.py: the live feed (/ws) seen by a real WebSocket client
# (python3-websockets): a stats snapshot each second, the events as they
# happen, a client that stops reading is dropped while others carry on,
# and the client limit holds.
import asyncio
import json
import re
import signal
import socket
import time

import websockets

from dashlib import Fixture, Tap

t = Tap()


async def collect(url, secs):
    out = []
    async with websockets.connect(url, max_size=None) as ws:
        end = time.time() + secs
        while time.time() < end:
            try:
                m = await asyncio.wait_for(ws.recv(), end - time.time())
            except asyncio.TimeoutError:
                break
            out.append((time.time(), json.loads(m)))
    return out


async def try_open(url):
    try:
        ws = await websockets.connect(url, open_timeout=5)
        return ws
    except Exception:
        return None


def slow_client(port):
    """Handshake by hand on a socket with a tiny receive buffer, then never
    read again."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % port).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    return s, head


def closed_by_server(s, secs):
    """Reads what was buffered; True once the server closed the socket."""
    s.settimeout(0.5)
    end = time.time() + secs
    while time.time() < end:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def metric(fx, name):
    body = fx.request("/metrics")[2].decode()
    m = re.search(r"^%s (\d+)" % re.escape(name), body, re.M)
    return int(m.group(1)) if m else -1


async def main():
    fx = Fixture("--tick-ms", "250", "--max-clients", "4", "--backlog", "64")
    url = "ws://127.0.0.1:%d/ws" % fx.ws
    try:
        msgs = await collect(url, 4.2)
        types = [m["type"] for _, m in msgs]
        stats = [(ts, m) for ts, m in msgs if m["type"] == "stats"]
        t.ok(len(stats) >= 4, "a stats snapshot about every second "
             "(%d in 4.2 s)" % len(stats))
        gaps = [b[0] - a[0] for a, b in zip(stats[1:], stats[2:])]
        t.ok(gaps and all(0.6 < g < 1.5 for g in gaps),
             "snapshots are spaced by about a second", gaps)
        d = stats[-1][1]["data"]
        t.ok(all(k in d for k in ("total_hashrate", "workers_online",
                                  "shares_valid", "pool", "workers")),
             "a snapshot has the cluster stats and the workers")
        t.ok(stats[-1][1]["data"]["shares_valid"] >
             stats[0][1]["data"]["shares_valid"],
             "the numbers change from snapshot to snapshot")
        t.ok("SECRETPASS" not in json.dumps(d), "no pool password in a "
             "snapshot")
        for ev in ("share", "worker_joined", "job", "block"):
            t.ok(ev in types, "event %s arrives" % ev, sorted(set(types)))
        share = next(m for _, m in msgs if m["type"] == "share")
        t.ok(share["data"].get("status") in ("valid", "invalid") and
             "worker_id" in share["data"] and share.get("time", 0) > 0,
             "a share event carries its verdict and worker", share)

        # the client limit: 4 open, the 5th refused, room again after one
        opened = [await try_open(url) for _ in range(4)]
        t.ok(all(opened), "4 clients connect (the limit)")
        fifth = await try_open(url)
        t.ok(fifth is None, "a 5th client is refused")
        if fifth:
            await fifth.close()
        await opened[0].close()
        await asyncio.sleep(0.5)
        again = await try_open(url)
        t.ok(again is not None, "a client fits again once one left")
        for ws in opened[1:] + [again]:
            if ws:
                await ws.close()
        t.ok(metric(fx, "coopmine_dashboard_live_refused_total") >= 1,
             "/metrics counts the refused client")
        bad = await try_open("ws://127.0.0.1:%d/other" % fx.ws)
        t.ok(bad is None, "a WebSocket on another path is refused")

        # a client that stops reading is dropped; a reading one is not
        await asyncio.sleep(0.5)
        slow, head = slow_client(fx.ws)
        t.ok(b" 101 " in head.split(b"\r\n")[0],
             "the slow client is accepted at first")
        reader = await websockets.connect(url, max_size=None)
        fx.signal(signal.SIGUSR1)
        got = 0
        end = time.time() + 20
        while time.time() < end:
            try:
                m = json.loads(await asyncio.wait_for(reader.recv(), 1))
            except asyncio.TimeoutError:
                continue
            if m["type"] == "job" and "pad" in m["data"]:
                got += 1
                if m["data"]["n"] == 3999:
                    break
        t.ok(got > 3000, "a reading client keeps up with a burst "
             "(%d of 4000 events)" % got)
        t.ok(closed_by_server(slow, 10),
             "the client that stopped reading was disconnected")
        slow.close()
        t.ok(metric(fx, "coopmine_dashboard_live_dropped_total") >= 1,
             "/metrics counts the dropped client")
        m = json.loads(await asyncio.wait_for(reader.recv(), 3))
        t.ok(m["type"] in ("stats", "share", "job"),
             "the reading client is still served after the burst")
        await reader.close()
    finally:
        rc = fx.stop()
    t.ok(rc == 0, "the fixture stops cleanly with clients around", rc)


asyncio.run(main())
t.done()
