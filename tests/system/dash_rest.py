# dash_rest.py: the REST contract of the dashboard over real HTTP: every
# endpoint's JSON, paging bounds, 400/404/405, the bearer token of the
# commands, no secret in any answer, /health going 503 with the pool.
import http.client
import json
import signal
import time

from dashlib import Fixture, Tap

TOKEN = "s3cret-dashboard-token"
t = Tap()
fx = Fixture("--token", TOKEN, "--tick-ms", "250")


def wait_for(cond, secs=10.0):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


FIXTURE_FEE_BPS = 100	# dash_fixture.c FX_FEE_BPS


def expected_split(reward, fee_bps, diffs):
    """The PPLNS rule of docs/DESIGN (pplns.h), written again here: fee
    first, floor(net * d / W) each, the leftover units one each to the
    largest remainders, ties to the smaller worker id."""
    fee = reward * fee_bps // 10000
    net = reward - fee
    total = sum(diffs.values())
    parts = {w: net * d // total for w, d in diffs.items()}
    left = net - sum(parts.values())
    order = sorted(diffs, key=lambda w: (-(net * diffs[w] % total), w))
    for w in order[:left]:
        parts[w] += 1
    return fee, parts


def raw(path, method="GET"):
    """A request with the path exactly as given (no client clean-up)."""
    c = http.client.HTTPConnection("127.0.0.1", fx.http, timeout=10)
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


try:
    # -- the seed's /health
    st, h = fx.json("/health")
    t.ok(st == 200 and h.get("status") == "healthy" and
         h.get("pool_connected") is True and isinstance(h.get("workers"), int)
         and h["workers"] >= 4, "/health is the seed's JSON, healthy", h)

    # -- stats
    st, s = fx.json("/api/stats")
    want = ["cluster_id", "cluster_name", "workers_online", "workers_total",
            "total_hashrate", "shares_valid", "shares_invalid",
            "blocks_found", "uptime_ms", "pool", "rejections",
            "verification", "ledger"]
    t.ok(st == 200 and all(k in s for k in want),
         "/api/stats has the cluster fields", s)
    t.ok(s["cluster_id"] == "test-cluster" and s["total_hashrate"] > 1000,
         "/api/stats shows the fixture's cluster and hashrate")
    t.ok(s["pool"]["url"] == "stratum+tcp://127.0.0.1:3333",
         "the pool URL is shown without its user and password",
         s["pool"]["url"])
    t.ok(set(s["rejections"]) == {"stale", "duplicate", "low_difficulty"},
         "rejections by reason", s["rejections"])

    # -- workers
    st, w = fx.json("/api/workers")
    ids = [x["worker_id"] for x in w["workers"]]
    t.ok(st == 200 and w["total"] == len(ids) and "rig-alpha" in ids,
         "/api/workers lists the workers", w)
    x = w["workers"][0]
    t.ok(all(k in x for k in ("status", "hashrate", "shares_valid",
                              "shares_invalid", "rejected_pct", "last_seen",
                              "lease", "threads")),
         "a worker has status, hashrate, shares, rejected %, last seen, lease",
         x)
    st, w2 = fx.json("/api/workers?limit=1&offset=1")
    t.ok(st == 200 and len(w2["workers"]) == 1 and
         w2["workers"][0]["worker_id"] == ids[1],
         "/api/workers honours limit and offset")
    t.ok(wait_for(lambda: fx.json("/api/workers")[1]["workers"][0]
                  ["worker_id"] == "late-delta"),
         "a worker that joins later appears, newest first")

    st, one = fx.json("/api/workers/rig-alpha")
    t.ok(st == 200 and one["worker_id"] == "rig-alpha" and
         len(one["history"]) > 100 and len(one["history"][0]) == 2,
         "/api/workers/{id} has the worker and its hashrate history")
    st, one = fx.json("/api/workers/odd%22id%5Cx")
    t.ok(st == 200 and one.get("worker_id") == 'odd"id\\x',
         "a worker id with quotes and backslashes round-trips", one)
    st, e = fx.json("/api/workers/no-such-worker")
    t.ok(st == 404 and "error" in e, "unknown worker: 404 with a JSON error",
         (st, e))

    # -- lists: newest first, paging, changing data
    st, sh = fx.json("/api/shares?limit=5")
    sids = [x["share_id"] for x in sh["shares"]]
    t.ok(st == 200 and len(sids) == 5 and sids == sorted(sids, reverse=True),
         "/api/shares: newest first, limit honoured", sids)
    st, sh2 = fx.json("/api/shares?limit=1&offset=2")
    t.ok(sh2["shares"][0]["share_id"] <= sids[2], "/api/shares honours offset")
    t.ok(wait_for(lambda: fx.json("/api/shares?limit=1")[1]["shares"][0]
                  ["share_id"] > sids[0]), "new shares arrive")
    st, jb = fx.json("/api/jobs")
    t.ok(st == 200 and jb["total"] >= 1 and "job_id" in jb["jobs"][0],
         "/api/jobs lists jobs", jb)

    t.ok(wait_for(lambda: fx.json("/api/blocks")[1]["total"] >= 1),
         "a block is found and listed by /api/blocks")
    st, b = fx.json("/api/blocks")
    bid = b["blocks"][0]["block_id"]
    st, p = fx.json("/api/payouts?block=%d" % bid)
    t.ok(st == 200 and sum(x["amount"] for x in p["parts"]) + p["fee"] ==
         p["reward"], "/api/payouts gives the PPLNS split summing to the "
         "reward", p)
    want = expected_split(p["reward"], FIXTURE_FEE_BPS,
                          {x["worker_id"]: int(x["difficulty"])
                           for x in p["parts"]})
    got = (p["fee"], {x["worker_id"]: x["amount"] for x in p["parts"]})
    t.ok(len(p["parts"]) >= 4 and got == want,
         "/api/payouts: fee and every part equal a split computed here "
         "(floor, largest remainders, ties to the smaller id)", (got, want))
    st, e = fx.json("/api/payouts?block=9999")
    t.ok(st == 404 and "error" in e, "unknown block: 404")

    # -- 400 for bad parameters
    for q in ["/api/shares?limit=0", "/api/shares?limit=501",
              "/api/shares?limit=abc", "/api/jobs?offset=-1",
              "/api/blocks?offset=1000001", "/api/workers?limit=1e3",
              "/api/shares?limit=", "/api/payouts", "/api/payouts?block=x",
              "/api/payouts?block=-1"]:
        st, e = fx.json(q)
        t.ok(st == 400 and isinstance(e, dict) and e.get("status") == 400
             and e.get("error"), "400 with a JSON error: " + q, (st, e))

    # -- 405 for wrong methods
    for path, method in [("/api/stats", "POST"), ("/api/workers", "DELETE"),
                         ("/api/workers/rig-alpha", "PUT"),
                         ("/health", "POST"), ("/metrics", "POST"),
                         ("/", "POST"),
                         ("/api/workers/rig-alpha/pause", "GET")]:
        st, hd, body = fx.request(path, method=method)
        t.ok(st == 405 and hd.get("Allow") and
             json.loads(body).get("error"),
             "405 with Allow for %s %s" % (method, path), (st, body))

    # -- 404 for unknown paths, no way out of the page directory
    for path in ["/api/nothing", "/api", "/nothing.html",
                 "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/.hidden", "/api/workers/rig-alpha/explode"]:
        st, body = raw(path)
        t.ok(st == 404 and b"root:" not in body, "404 for " + path, st)

    # -- the page
    st, hd, body = fx.request("/")
    t.ok(st == 200 and hd["Content-Type"].startswith("text/html") and
         b"<canvas" in body and b"app.js" in body and b"://" not in body,
         "/ serves the page, loading nothing from elsewhere")
    st, hd, body = fx.request("/app.js")
    t.ok(st == 200 and "javascript" in hd["Content-Type"] and
         "default-src 'self'" in hd.get("Content-Security-Policy", ""),
         "/app.js is served as JavaScript under a same-origin policy")

    # -- /api/config tells the page where the feed is
    st, c = fx.json("/api/config")
    t.ok(st == 200 and c["ws_port"] == fx.ws and c["ws_path"] == "/ws" and
         c["commands_enabled"] is True, "/api/config names the live feed", c)

    # -- commands and the token
    path = "/api/workers/laptop-beta/pause"
    st, hd, body = fx.request(path, method="POST")
    t.ok(st == 401 and "Bearer" in hd.get("WWW-Authenticate", ""),
         "a command without a token: 401", (st, body))
    for bad in ["Bearer wrong", "Bearer " + TOKEN + "x",
                "Bearer " + TOKEN[:-1], "Basic " + TOKEN, TOKEN, "Bearer "]:
        st, hd, body = fx.request(path, method="POST",
                                  headers={"Authorization": bad})
        t.ok(st == 401, "a command with a wrong token is refused: %r" % bad,
             st)
    t.ok(fx.json("/api/workers/laptop-beta")[1]["status"] == "online",
         "refused commands changed nothing")
    auth = {"Authorization": "Bearer " + TOKEN}
    st, r = fx.json(path, method="POST", headers=auth)
    t.ok(st == 200 and r.get("ok") is True, "pause with the token: 200", r)
    t.ok(fx.json("/api/workers/laptop-beta")[1]["status"] == "paused",
         "the worker shows as paused")
    st, r = fx.json(path, method="POST", headers=auth)
    t.ok(st == 409, "pausing a paused worker: 409", (st, r))
    st, r = fx.json("/api/workers/laptop-beta/resume", method="POST",
                    headers=auth, data=b"ignored body")
    t.ok(st == 200 and fx.json("/api/workers/laptop-beta")[1]["status"] ==
         "online", "resume with the token (a body is ignored)", (st, r))
    st, r = fx.json("/api/workers/ghost/kick", method="POST", headers=auth)
    t.ok(st == 404, "kick of an unknown worker: 404", (st, r))

    # -- nothing reveals a secret
    leaked = []
    for p_ in ["/api/stats", "/api/config", "/api/workers", "/health",
               "/metrics", "/api/shares", "/api/jobs", "/api/blocks",
               "/api/workers/rig-alpha", "/api/hashrate"]:
        body = fx.request(p_)[2]
        if TOKEN.encode() in body or b"SECRETPASS" in body or \
                b"wallet123" in body:
            leaked.append(p_)
    t.ok(not leaked, "no endpoint shows the token or the pool credentials",
         leaked)
    log = fx.logtext()
    t.ok(TOKEN not in log and "SECRETPASS" not in log,
         "the token never reaches the log")

    # -- /health follows the pool
    fx.signal(signal.SIGUSR2)
    t.ok(wait_for(lambda: fx.json("/health")[0] == 503),
         "/health answers 503 when the pool is down")
    st, h = fx.json("/health")
    t.ok(h.get("status") != "healthy" and h.get("pool_connected") is False,
         "... and says so in its JSON", h)
    fx.signal(signal.SIGUSR2)
    t.ok(wait_for(lambda: fx.json("/health")[0] == 200),
         "/health is 200 again when the pool is back")
finally:
    rc = fx.stop()
t.ok(rc == 0, "the fixture stops cleanly on SIGTERM", rc)

# Without a token the commands are off altogether.
fx = Fixture()
try:
    st, c = fx.json("/api/config")
    t.ok(c["commands_enabled"] is False, "no token: /api/config says "
         "commands are disabled")
    st, r = fx.json("/api/workers/rig-alpha/kick", method="POST",
                    headers={"Authorization": "Bearer anything"})
    t.ok(st == 403 and "error" in r, "no token: commands answer 403",
         (st, r))
    t.ok(fx.json("/api/workers/rig-alpha")[1]["status"] == "online",
         "... and change nothing")
finally:
    rc = fx.stop()
t.ok(rc == 0, "the second fixture stops cleanly", rc)
t.done()
