#!/usr/bin/env python3
# bench/dashboard_load.py: the dashboard's readers, for bench/dashboard.sh.
# N live-feed clients read /ws as fast as it comes (the open page's feed;
# raw sockets read in one select loop, so that the load generator itself
# costs the shared CPUs little: the frames are counted in bytes, not
# parsed);
# each "page" makes the page's REST calls as www/app.js does (all at load,
# the open worker page's 24 h history every 60 s) and a Prometheus scrapes
# /metrics and an xmrig-proxy monitor /1/summary every 5 s.  Prints "connected N" once every client is in, then
# runs until SIGTERM and prints what it received.
#   dashboard_load.py HTTP_PORT WS_PORT CLIENTS PAGES
import asyncio
import base64
import os
import signal
import socket
import sys
import urllib.request

http_port, ws_port, clients, pages = (int(a) for a in sys.argv[1:5])
got = {"ws": 0, "http": 0, "errors": 0}
stop = asyncio.Event()


def ws_open():
    """A WebSocket upgrade of /ws by hand; the socket once it answers 101."""
    s = socket.create_connection(("127.0.0.1", ws_port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (ws_port, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise OSError("not upgraded: %r" % head[:40])
    s.setblocking(False)
    return s


async def feeds(ready):
    loop = asyncio.get_running_loop()
    socks = [await asyncio.to_thread(ws_open) for _ in range(clients)]
    for _ in socks:
        ready.release()

    def readable(s):
        try:
            n = len(s.recv(1 << 16))
            got["ws"] += n
        except BlockingIOError:
            pass
        except OSError:
            got["errors"] += 1
            loop.remove_reader(s)

    for s in socks:
        loop.add_reader(s, readable, s)
    await stop.wait()
    for s in socks:
        loop.remove_reader(s)
        s.close()


def get(path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (http_port, path),
                                    timeout=10) as f:
            f.read()
        got["http"] += 1
    except OSError:
        got["errors"] += 1


async def page(n):
    load = ["/", "/app.js", "/detail.js", "/api/config", "/api/stats",
            "/api/workers?limit=500", "/api/hashrate", "/api/shares?limit=30",
            "/api/jobs?limit=15", "/api/blocks?limit=10"]
    for p in load:
        await asyncio.to_thread(get, p)
    k = 0
    while not stop.is_set():
        if k % 60 == 0:
            await asyncio.to_thread(get, "/api/workers/bench-s0/history?range=24h")
        if k % 5 == 0:
            await asyncio.to_thread(get, "/metrics")
            await asyncio.to_thread(get, "/1/summary")
        k += 1
        try:
            await asyncio.wait_for(stop.wait(), 1)
        except asyncio.TimeoutError:
            pass


async def main():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(feeds(ready))]
    for _ in range(clients):
        await asyncio.wait_for(ready.acquire(), 30)
    tasks += [asyncio.create_task(page(i)) for i in range(pages)]
    print("connected %d" % clients, flush=True)
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    print("load: %d bytes of live feed, %d HTTP answers, %d errors"
          % (got["ws"], got["http"], got["errors"]), flush=True)


asyncio.run(main())
