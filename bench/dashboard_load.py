#!/usr/bin/env python3
# bench/dashboard_load.py: the dashboard's readers, for bench/dashboard.sh.
# N live-feed clients read /ws as fast as it comes (the open page's feed);
# each "page" makes the page's REST calls as www/app.js does (all at load,
# the open worker page's 24 h history every 60 s) and a Prometheus scrapes
# /metrics and an xmrig-proxy monitor /1/summary every 5 s.  Prints "connected N" once every client is in, then
# runs until SIGTERM and prints what it received.
#   dashboard_load.py HTTP_PORT WS_PORT CLIENTS PAGES
import asyncio
import signal
import sys
import urllib.request

import websockets

http_port, ws_port, clients, pages = (int(a) for a in sys.argv[1:5])
got = {"ws": 0, "http": 0, "errors": 0}
stop = asyncio.Event()


async def feed(ready):
    async with websockets.connect("ws://127.0.0.1:%d/ws" % ws_port,
                                  max_size=None, open_timeout=10) as ws:
        ready.release()
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 1)
                got["ws"] += 1
            except asyncio.TimeoutError:
                pass


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
            await asyncio.to_thread(get, "/api/workers/off1-s0/history?range=24h")
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
    tasks = [asyncio.create_task(feed(ready)) for _ in range(clients)]
    for _ in range(clients):
        await asyncio.wait_for(ready.acquire(), 30)
    tasks += [asyncio.create_task(page(i)) for i in range(pages)]
    print("connected %d" % clients, flush=True)
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    print("load: %d live messages, %d HTTP answers, %d errors"
          % (got["ws"], got["http"], got["errors"]), flush=True)


asyncio.run(main())
