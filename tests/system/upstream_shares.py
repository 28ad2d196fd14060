# upstream_shares.py: the pool client against coopmine-testpool: login,
# jobs, real shares (RandomX light) accepted, each wrong kind rejected with
# its reason, the pool's summary agreeing with what the client saw; TLS
# with the right and a wrong pin and with a CA file; coins and nicehash.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_lib import (Driver, Pool, done, kv, make_cert, ok, read)  # noqa: E402

# --- plain TCP: one of every verdict --------------------------------------
pool = Pool("tcp", "--job-interval", "500ms")
d = Driver("tcp", "--pool-address", pool.url(), "--mine", "2", "--low-diff", "1",
           "--duplicate", "--bad-hash", "--old-job-after", "10",
           "--exit-after-results", "6", "--run-for", "60s", wallet="WALLET.rig1")
rc = d.wait(90)
ok(rc == 0, "driver exits cleanly", d.diag())
ok(len(d.lines("connected")) == 1 and "pool=0" in d.lines("connected")[0],
   "logged in to the pool once", d.diag())
jobs = d.lines("job")
ok(len(jobs) >= 10 and kv(jobs[0], "clean") == "1" and kv(jobs[1], "clean") == "0",
   "jobs arrive; the first is clean, a new template of the same height is not",
   d.diag())
ok(all(kv(j, "offset") == "76" and kv(j, "blen") == "80" and kv(j, "diff") == "5"
       and kv(j, "height") == "1000" for j in jobs),
   "opensy jobs: 80-byte blob, nonce at 76, difficulty 5, height", d.diag())
res = {kv(r, "share"): r for r in d.lines("result")}
subs = {kv(s, "share"): kv(s, "kind") for s in d.lines("submit")}
want = {"valid": ("1", "accepted"), "low-diff": ("0", "low-difficulty"),
        "duplicate": ("0", "duplicate"), "bad-hash": ("0", "bad-hash"),
        "old-job": ("0", "invalid-job")}
for share, kind in sorted(subs.items()):
    r = res.get(share, "")
    ok(kv(r, "accepted") == want[kind][0] and kv(r, "reason") == want[kind][1],
       "%s share %s: %s" % (kind, share, want[kind][1]), d.diag())
ok('msg="Low difficulty share"' in d.events() and 'msg="Duplicate share"' in d.events()
   and 'msg="Invalid job id"' in d.events(), "the pool's own words reach the caller")
summ = pool.stop()
client_acc = sum(1 for r in res.values() if kv(r, "accepted") == "1")
client_rej = sum(1 for r in res.values() if kv(r, "accepted") == "0")
ok(summ["accepted"] == client_acc == 2 and summ["rejected"] == client_rej == 4,
   "testpool summary agrees: %d accepted, %d rejected" % (summ["accepted"], summ["rejected"]),
   summ)
ok(summ["logins"]["WALLET.rig1"]["accepted"] == 2 and
   summ["rejected_by_reason"].get("Low difficulty share") == 1 and
   summ["rejected_by_reason"].get("Invalid share") == 1,
   "summary per login and per reason", summ)

# --- TLS: right pin, wrong pin, CA file -----------------------------------
cert, key, fp = make_cert("pool")
other, _, wrongfp = make_cert("other")
tls = Pool("tls", "--tls-cert", cert, "--tls-key", key)
d = Driver("tls-pin", "--pool-address", tls.url("stratum+ssl"),
           "--pool-tls-fingerprint", fp, "--mine", "1", "--exit-after-results", "1",
           "--run-for", "40s")
d.wait(60)
r = d.lines("result")
ok(len(d.lines("connected")) == 1 and r and kv(r[0], "accepted") == "1",
   "TLS with the right pin: logged in, share accepted", d.diag())
d = Driver("tls-wrongpin", "--pool-address", tls.url("stratum+ssl"),
           "--pool-tls-fingerprint", wrongfp, "--run-for", "2s")
d.wait(30)
ok(not d.lines("connected") and "does not match the pinned one" in read(d.log),
   "TLS with a wrong pin: refused, and the log says why", d.diag())
d = Driver("tls-ca", "--pool-address", tls.url("stratum+tls"), "--pool-tls-ca", cert,
           "--run-for", "1500ms")
d.wait(30)
ok(len(d.lines("connected")) == 1 and d.lines("job"),
   "TLS verified against a CA file (stratum+tls://)", d.diag())
d = Driver("tls-noca", "--pool-address", tls.url("stratum+ssl"), "--run-for", "1500ms")
d.wait(30)
ok(not d.lines("connected") and "certificate not trusted" in read(d.log),
   "TLS without a CA that knows the pool: refused", d.diag())
d = Driver("tls-plain", "--pool-address", tls.url(), "--run-for", "1500ms",
           "--pool-connect-timeout", "500ms")
d.wait(30)
ok(not d.lines("connected"), "plain TCP to a TLS pool does not log in", d.diag())
tls.stop()

# --- password: accepted, never logged; wrong one refused ------------------
secret = "s3cret-Pool-PASSWORD-4711"
pw = Pool("pw", "--password", secret, "--log-level", "debug")
d = Driver("pw", "--pool-address", pw.url(), "--pool-password", secret,
           "--log-level", "debug", "--run-for", "1500ms")
d.wait(30)
ok(len(d.lines("connected")) == 1, "login with the right password", d.diag())
d2 = Driver("pw-wrong", "--pool-address", pw.url(), "--pool-password", "nope",
            "--run-for", "1500ms")
d2.wait(30)
ok(not d2.lines("connected") and "login refused: Invalid password" in read(d2.log),
   "wrong password refused with the pool's reason", d2.diag())
pw.stop()
ok(secret not in read(d.log) + d.events() + read(pw.log),
   "the password appears in no log (driver at debug level, testpool at debug)")

# --- login refused: backoff, never connected -------------------------------
ref = Pool("refuse", "--refuse-login")
d = Driver("refuse", "--pool-address", ref.url(), "--pool-backoff-min", "200ms",
           "--pool-backoff-max", "400ms", "--run-for", "2s")
d.wait(30)
s = ref.stop()
ok(not d.lines("connected") and "login refused: Invalid payment address provided"
   in read(d.log) and "next attempt in" in read(d.log),
   "refused login: logged with the reason, retried with backoff", d.diag())
ok(2 <= s["logins_refused"] <= 12, "backoff bounds the retries (%d logins in 2 s)"
   % s["logins_refused"], s)

# --- coins, targets, nicehash ---------------------------------------------
mon = Pool("monero", "--coin", "monero", "--nicehash", "--compact-target")
d = Driver("monero", "--pool-address", mon.url(), "--pool-coin", "monero",
           "--mine", "1", "--exit-after-results", "1", "--run-for", "40s")
d.wait(60)
j = d.lines("job")
r = d.lines("result")
ok(j and kv(j[0], "offset") == "39" and kv(j[0], "blen") == "76" and
   kv(j[0], "nicehash") == "1" and 4 <= int(kv(j[0], "diff")) <= 6,
   "monero blob: nonce at 39, nicehash from the login extensions, 4-byte target",
   d.diag())
ok(r and kv(r[0], "accepted") == "1", "nicehash share keeps the pool's byte: accepted",
   d.diag())
d = Driver("wrongcoin", "--pool-address", mon.url(), "--pool-coin", "opensy",
           "--run-for", "1500ms")
d.wait(30)
ok(not d.lines("job") and "wrong coin for this pool" in read(d.log),
   "a monero blob for an opensy pool is refused, never guessed", d.diag())
mon.stop()

done()
