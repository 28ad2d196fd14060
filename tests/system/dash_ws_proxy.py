#!/usr/bin/env python3
# dash_ws_proxy.py: the live feed at /ws on the dashboard's own port (the
# seed's URL), and the whole dashboard behind contrib/nginx/coopmine.conf
# run by Debian's nginx (issue 17).  The real coordinator with a test pool:
#   - a WebSocket client (python3-websockets) on ws://127.0.0.1:DASH/ws gets
#     the feed's frames (stats snapshots, with the cluster's id);
#   - a browser Origin that is not allowed is refused (403), an allowed one
#     gets in; a plain GET /ws is told 426;
#   - /api/config gives the page the configured ws_url;
#   - through nginx (the contrib file with its ports and name replaced, in
#     a temporary prefix): /api/stats answers, and /ws carries frames, with
#     the configured Origin accepted and a foreign one refused.
import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.request

import websockets

from rpc_lib import S, T, diag, done, gen_certs, ok
from itest_lib import (coordinator, dash_port, free_port, http_json, testpool,
                       watchdog)
import rpc_lib

watchdog(120)
certs = gen_certs(os.path.join(T, "certs"), "w1")
pool, pport = testpool("pool", 0, "--difficulty", "10", "--job-interval",
                       "3600s", "--block-interval", "0")
NAME = "coop.example"
NPORT = free_port()
WS_URL = "ws://%s:%d/ws" % (NAME, NPORT)
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport,
    os.path.join(T, "ledger.db"), "--verify", "none",
    "--cluster-id", "proxy-test",
    "--dashboard-listen", "127.0.0.1:0", "--dashboard-ws-listen", "127.0.0.1:0",
    "--dashboard-allowed-hosts", "%s,127.0.0.1" % NAME,
    "--dashboard-allowed-origins",
    "http://%s:%d,http://127.0.0.1" % (NAME, NPORT),
    "--dashboard-ws-url", WS_URL)
dport = dash_port(coord) if port is not None else None
if not ok(pool is not None and dport is not None, "pool and coordinator up"):
    done()


async def frames(url, n, origin=None, host=None, timeout=10):
    """The first n frames of the feed at url (parsed), or the error."""
    kw = {}
    if host:
        # the URL names host (so the Host header does), the socket goes
        # to the address of url
        name, _, p = url.split("/")[2].partition(":")
        kw = {"host": name, "port": int(p)}
        url = "ws://%s/ws" % host
    try:
        async with websockets.connect(url, origin=origin, open_timeout=5,
                                      **kw) as ws:
            out = []
            end = time.time() + timeout
            while len(out) < n and time.time() < end:
                out.append(json.loads(await asyncio.wait_for(
                    ws.recv(), end - time.time())))
            return out
    except Exception as e:
        return e


def status_of(e):
    code = getattr(e, "status_code", None)
    if code is None and getattr(e, "response", None) is not None:
        code = getattr(e.response, "status_code", None)
    return code


def run(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


# --- /ws on the dashboard's own port ------------------------------------------
url = "ws://127.0.0.1:%d/ws" % dport
got = run(frames(url, 2))
ok(isinstance(got, list) and len(got) == 2 and
   all(f.get("type") for f in got),
   "ws://127.0.0.1:DASH/ws: two live frames (%s)" %
   ([f.get("type") for f in got] if isinstance(got, list) else repr(got)))
snap = [f for f in got if isinstance(got, list) and f.get("type") == "stats"]
ok(snap and snap[0].get("data", {}).get("cluster_id") == "proxy-test",
   "the snapshot is this cluster's")
got = run(frames(url, 1, origin="http://127.0.0.1"))
ok(isinstance(got, list) and len(got) == 1, "an allowed Origin gets in")
bad = run(frames(url, 1, origin="http://evil.example"))
ok(isinstance(bad, Exception) and status_of(bad) == 403,
   "a foreign Origin is refused with 403 (%s)" % status_of(bad))
ok(coord.wait_log(r"refusing a live feed client from Origin \"http://evil",
                  5) is not None, "and the refusal is logged")
req = urllib.request.Request("http://127.0.0.1:%d/ws" % dport)
try:
    code = urllib.request.urlopen(req, timeout=5).status
except urllib.error.HTTPError as e:
    code = e.code
ok(code == 426, "a plain GET /ws is told 426 Upgrade Required (%r)" % code)
code, cfg = http_json(dport, "/api/config")
ok(code == 200 and cfg and cfg.get("ws_url") == WS_URL,
   "/api/config gives the page ws_url (%r)" % (cfg and cfg.get("ws_url")))

# --- behind nginx, with the contrib example --------------------------------------
nginx = shutil.which("nginx") or ("/usr/sbin/nginx"
                                  if os.path.exists("/usr/sbin/nginx") else None)
if nginx is None:
    ok(True, "# SKIP nginx is not installed (contrib/install-deps.sh "
          "installs nginx-light)")
    done()
prefix = os.path.join(T, "nginx")
os.makedirs(os.path.join(prefix, "tmp"))
with open(os.path.join(S, "contrib", "nginx", "coopmine.conf")) as f:
    site = f.read()
site = site.replace("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % dport)
site = site.replace("listen 80;", "listen 127.0.0.1:%d;" % NPORT)
site = site.replace("server_name coop.example.org;", "server_name %s;" % NAME)
ok("127.0.0.1:%d" % dport in site and "listen 127.0.0.1:%d" % NPORT in site,
   "the contrib file has the lines the test adapts")
with open(os.path.join(prefix, "coopmine.conf"), "w") as f:
    f.write(site)
tmp = os.path.join(prefix, "tmp")
with open(os.path.join(prefix, "nginx.conf"), "w") as f:
    f.write("""daemon off;
master_process off;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log info;
events { worker_connections 64; }
http {
    access_log %(p)s/access.log;
    client_body_temp_path %(t)s/body;
    proxy_temp_path %(t)s/proxy;
    fastcgi_temp_path %(t)s/fastcgi;
    uwsgi_temp_path %(t)s/uwsgi;
    scgi_temp_path %(t)s/scgi;
    include %(p)s/coopmine.conf;
}
""" % {"p": prefix, "t": tmp})
chk = subprocess.run([nginx, "-t", "-p", prefix, "-e", prefix + "/error.log",
                      "-c", prefix + "/nginx.conf"], capture_output=True, text=True)
ok(chk.returncode == 0, "nginx -t accepts the configuration (%s)"
   % chk.stderr.strip().splitlines()[-1:])
ngx = rpc_lib.Proc("nginx", [nginx, "-p", prefix, "-e", prefix + "/error.log",
                             "-c", prefix + "/nginx.conf"])


def via_nginx(path, host=NAME):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (NPORT, path),
                                 headers={"Host": "%s:%d" % (host, NPORT)})
    try:
        with urllib.request.urlopen(req, timeout=5) as f:
            return f.status, json.loads(f.read())
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError) as e:
        return str(e), None


end = time.time() + 10
code, stats = via_nginx("/api/stats")
while code != 200 and time.time() < end and ngx.p.poll() is None:
    time.sleep(0.1)
    code, stats = via_nginx("/api/stats")
ok(code == 200 and stats and stats.get("cluster_id") == "proxy-test",
   "through nginx: /api/stats answers (%r)" % code)
nurl = "ws://127.0.0.1:%d/ws" % NPORT
got = run(frames(nurl, 2, origin="http://%s:%d" % (NAME, NPORT),
                 host="%s:%d" % (NAME, NPORT)))
ok(isinstance(got, list) and len(got) == 2,
   "through nginx: /ws carries live frames with the configured Origin (%s)" %
   ([f.get("type") for f in got] if isinstance(got, list) else repr(got)))
bad = run(frames(nurl, 1, origin="http://evil.example",
                 host="%s:%d" % (NAME, NPORT)))
ok(isinstance(bad, Exception) and status_of(bad) == 403,
   "through nginx: a foreign Origin is refused (%s)" % status_of(bad))
if ngx.p.poll() is None:
    ngx.p.terminate()
    ngx.p.wait(10)
ok(coord.stop() == 0, "coordinator stops cleanly with relays served")
done()
