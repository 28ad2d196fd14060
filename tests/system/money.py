# money.py: a scripted month of money in the ledger (issue 13).  Shares of
# five workers written through the real ledger writer (tests/money_driver),
# three owners, a worker moved between owners mid-window and one split
# 60/40, ten pool payments imported from CSV (a duplicate refused, a
# malformed file refused whole), a block reward, a reversal, payments, a
# refused overpayment and a payment reversal (each refusal of pay reverse:
# twice, unknown id, a reversal's reversal, a taken ref).  The expected splits are computed here, in Python,
# from the shares table and the script's own assignments, and compared with
# coopmine-cli (json), the REST API (dash_fixture --ledger) and the SQL view;
# the audit is clean, then catches a split changed by hand.  Every bad input
# exits non-zero, names its field and writes nothing.
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashlib import Tap  # noqa: E402

BUILD = os.environ["COOPMINE_BUILDDIR"]
SRC = os.environ["COOPMINE_SRCDIR"]
CLI = os.path.join(BUILD, "src/cli/coopmine-cli")
DRIVER = os.path.join(BUILD, "tests/money_driver")
FIXTURE = os.path.join(BUILD, "tests/system/dash_fixture")
WINDOW = 200000          # absolute PPLNS N, in share difficulty
FEE_BPS = 150
TOKEN = "money-test-token"
DAY = 86400000

signal.alarm(300)        # the whole test's time limit
t = Tap()
tmp = tempfile.mkdtemp(prefix="coopmine-money.")
DB = os.path.join(tmp, "ledger.db")
fixture = None


def cli(*args, ok=True):
    """(exit code, stdout, stderr) of coopmine-cli on the test ledger."""
    p = subprocess.run([CLI, "--db", DB, "--pplns-window", str(WINDOW),
                        "--pplns-fee-bps", str(FEE_BPS)] + list(args),
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def q(sql, *a):
    db = sqlite3.connect(DB)
    try:
        return db.execute(sql, a).fetchall()
    finally:
        db.close()


def counts():
    return q("SELECT (SELECT count(*) FROM income), (SELECT count(*) FROM "
             "splits), (SELECT count(*) FROM payments), (SELECT count(*) "
             "FROM worker_owners), (SELECT count(*) FROM owners)")[0]


def rest(path, method="GET", body=None, token=None):
    req = urllib.request.Request(fixture_base + path, method=method,
                                 data=body, headers={"Authorization":
                                                     "Bearer " + token}
                                 if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def iso(ms):
    return str(ms)


def refused(desc, field, *args):
    """A bad input: non-zero exit, the field named, nothing written."""
    before = counts()
    rc, out, err = cli(*args)
    t.ok(rc != 0 and field in err and counts() == before,
         "refused, names %s, writes nothing: %s" % (field, desc),
         "rc=%d err=%s" % (rc, err))


# --- the independent computation ------------------------------------------

def expected_split(income, shares, owner_at, owner_ids):
    """{(worker or None, owner name): amount} for one income row."""
    amount, at, source, block_share = income
    if source == "block":
        last = block_share
    else:
        last = max((s[0] for s in shares if s[3] <= at), default=0)
    left, parts = WINDOW, {}
    for sid, w, d, _ in sorted(shares, reverse=True):
        if sid > last or left == 0:
            continue
        c = min(d, left)
        left -= c
        parts[w] = parts.get(w, 0) + c
    fee = amount * FEE_BPS // 10000
    total = sum(parts.values())
    if total == 0:
        return {(None, "operator"): amount}
    net = amount - fee
    floors = {w: net * d // total for w, d in parts.items()}
    rems = sorted(parts, key=lambda w: (-(net * parts[w] % total), w))
    for w in rems[:net - sum(floors.values())]:
        floors[w] += 1
    out = {(None, "operator"): fee}
    for w, wa in floors.items():
        owners = owner_at(w, at)
        byid = sorted(owners, key=lambda o: owner_ids[o[0]])
        base = {o: wa * b // 10000 for o, b in byid}
        order = sorted(byid, key=lambda o: (-(wa * o[1] % 10000),
                                            owner_ids[o[0]]))
        for o, b in order[:wa - sum(base.values())]:
            base[o] += 1
        for o, b in byid:
            out[(w, o)] = base[o]
    return out


try:
    now = int(subprocess.check_output(["date", "+%s"]).strip()) * 1000
    start = now - 30 * DAY
    rnd = random.Random(13)
    plan = ["job %d 50000" % (start - DAY)]
    tm = start
    block_at = start + 20 * DAY
    blocked = False
    for i in range(1500):
        tm += rnd.randint(20, 40) * 60000
        w = "w%d" % rnd.randrange(5)
        d = rnd.randint(1000, 5000)
        if not blocked and tm >= block_at:
            plan.append("block %s %d %d 50000" % (w, d, tm))
            blocked = True
        else:
            plan.append("share %s %d %d" % (w, d, tm))
    p = subprocess.run([DRIVER, DB], input="\n".join(plan) + "\n",
                       capture_output=True, text=True, timeout=120)
    t.ok(p.returncode == 0 and p.stdout.startswith("ok 1500 1"),
         "1500 shares of 5 workers and a block through the ledger writer",
         p.stdout + p.stderr)

    # owners and assignments, as the script knows them
    for name, addr in (("alice", "addr-alice"), ("bob", "addr-bob"),
                       ("carol", "addr-carol")):
        rc, out, err = cli("owners", "add", name, "--address", addr)
        t.ok(rc == 0, "owners add %s" % name, err)
    assign = [("w0", start - DAY, [("alice", 10000)]),
              ("w1", start - DAY, [("alice", 6000), ("bob", 4000)]),
              ("w2", start - DAY, [("bob", 10000)]),
              ("w3", start - DAY, [("carol", 10000)])]
    for w, frm, owners in assign:
        rc, out, err = cli("workers", "assign", w,
                           ",".join("%s:%d" % o for o in owners),
                           "--from", str(frm))
        t.ok(rc == 0, "workers assign %s" % w, err)

    def owner_at(w, at):
        cur = None
        for aw, frm, owners in assign:
            if aw == w and frm <= at:
                cur = owners
        return cur if cur is not None else [(w, 10000)]

    # ten pool payments: five before the move, five after
    pays = [(start + int(d * DAY), 100000000 + i * 123456789 + 7 * i * i,
             "pool-pay-%02d" % i)
            for i, d in enumerate([3, 6, 9, 12, 14.5, 15.5, 18, 23, 26, 29])]

    def write_csv(name, rows, header="time,amount,ref"):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(header + "\n")
            for r in rows:
                f.write(",".join(str(x) for x in r) + "\n")
        return path

    csv1 = write_csv("first.csv", pays[:5])
    rc, out, err = cli("income", "import", csv1)
    t.ok(rc == 0 and "5 recorded" in out, "income import: five payments",
         out + err)
    rc, out, err = cli("income", "import", csv1)
    t.ok(rc == 0 and "0 recorded" in out and "5 already" in out and
         counts()[0] == 5, "the same file again changes nothing", out + err)
    refused("a duplicate ref with another amount", "ref", "income", "add",
            "--amount", "5", "--at", str(pays[0][0]), "--ref", pays[0][2])
    bad = write_csv("bad.csv", [pays[5], (pays[6][0], "12x", pays[6][2])])
    before = counts()
    rc, out, err = cli("income", "import", bad)
    t.ok(rc != 0 and "bad.csv:3" in err and "amount" in err and
         counts() == before, "a malformed file is refused whole, naming "
         "line 3 and its field", err)

    # the move: w0 goes from alice to carol mid-window (day 15)
    move = start + 15 * DAY
    refused("moving a worker before income already split", "from",
            "workers", "assign", "w0", "carol", "--from", str(start + DAY))
    rc, out, err = cli("workers", "assign", "w0", "carol", "--from",
                       str(move))
    t.ok(rc == 0, "w0 moves to carol from day 15", err)
    assign.append(("w0", move, [("carol", 10000)]))
    csv2 = write_csv("second.csv", [(iso(a), m, r) for a, m, r in pays[5:]])
    rc, out, err = cli("income", "import", csv2)
    t.ok(rc == 0 and "5 recorded" in out, "income import: five more", err)

    block_id = q("SELECT id FROM blocks")[0][0]
    rc, out, err = cli("income", "add", "--source", "block", "--block",
                       str(block_id), "--amount", "31250000000", "--ref",
                       "block:%d" % block_id)
    t.ok(rc == 0, "the block's reward becomes income", err)

    # the bad inputs
    refused("a negative amount", "amount", "income", "add", "--amount", "-5",
            "--at", str(now - DAY), "--ref", "neg")
    refused("a zero amount", "amount", "income", "add", "--amount", "0",
            "--at", str(now - DAY), "--ref", "zero")
    refused("an amount above 2^63-1", "amount", "income", "add", "--amount",
            str(2 ** 63), "--at", str(now - DAY), "--ref", "big")
    refused("a time in the future", "at", "income", "add", "--amount", "5",
            "--at", str(now + DAY), "--ref", "future")
    refused("an unknown block", "block", "income", "add", "--source",
            "block", "--block", "999", "--amount", "5", "--ref", "nob")
    refused("an unknown owner", "owner", "workers", "assign", "w4",
            "nobody", "--from", str(now))
    refused("bps not summing to 10000", "bps", "workers", "assign", "w4",
            "alice:6000,bob:3000", "--from", str(now))
    refused("bps out of range", "bps", "workers", "assign", "w4",
            "alice:0,bob:10000", "--from", str(now))
    refused("payment to an unknown owner", "owner", "pay", "record",
            "--owner", "nobody", "--amount", "5", "--ref", "tx-x")
    rc, out, err = cli("payouts", "--reward", str(2 ** 63), "--block", "1")
    t.ok(rc != 0 and "--reward" in err and "-" not in out,
         "payouts --reward above 2^63-1 is refused, not printed negative",
         out + err)

    # a reversal: the third payment was a mistake
    third = q("SELECT id FROM income WHERE ref = ?", pays[2][2])[0][0]
    rc, out, err = cli("income", "reverse", str(third), "--ref",
                       "reverse-pay-02")
    t.ok(rc == 0, "income reverse", err)
    refused("reversing twice", "reversed", "income", "reverse", str(third),
            "--ref", "reverse-again")

    # --- compare: Python over the shares vs stored, CLI, view, REST
    shares = q("SELECT id, worker_id, difficulty, created_at FROM shares "
               "WHERE verdict = 'accepted' AND difficulty > 0")
    owner_ids = dict(q("SELECT name, id FROM owners"))
    owner_names = {v: k for k, v in owner_ids.items()}
    incomes = q("SELECT i.id, i.amount, i.at, i.source, b.share_id, "
                "i.reverses FROM income i LEFT JOIN blocks b ON "
                "b.id = i.block_id ORDER BY i.id")
    expect = {}
    for iid, amount, at, source, bshare, rev in incomes:
        if rev is None:
            expect[iid] = expected_split((amount, at, source, bshare),
                                         shares, owner_at, owner_ids)
    for iid, amount, at, source, bshare, rev in incomes:
        if rev is not None:
            expect[iid] = {k: -v for k, v in expect[rev].items()}
    t.ok(len(expect) == 12, "12 income rows (10 pool, 1 block, 1 reversal)",
         len(expect))
    t.ok(all(sum(e.values()) == (a if r is None else -a) for (i, a, _, _, _,
             r), e in zip(incomes, (expect[x[0]] for x in incomes))),
         "the independent splits sum to their incomes")

    def rows_of(splits):
        return {(s["worker_id"], s["owner"]): s["amount"] for s in splits}

    stored_ok = cli_ok = view_ok = True
    for iid, e in expect.items():
        st = {(w, owner_names[o]): a for w, o, a in
              q("SELECT worker_id, owner_id, amount FROM splits WHERE "
                "income_id = ?", iid)}
        vw = {(w, owner_names[o]): a for w, o, a in
              q("SELECT worker_id, owner_id, amount FROM split_recompute "
                "WHERE income_id = ?", iid)}
        rc, out, err = cli("payouts", "--explain", str(iid), "--format",
                           "json")
        cj = rows_of(json.loads(out)["splits"]) if rc == 0 else None
        if st != e:
            stored_ok = t.ok(False, "stored split of income %d" % iid,
                             "%s\n%s" % (st, e))
        if cj != e:
            cli_ok = t.ok(False, "CLI split of income %d" % iid, cj)
        if vw != e:
            view_ok = t.ok(False, "view split of income %d" % iid, vw)
    t.ok(stored_ok, "stored splits equal the independent computation")
    t.ok(cli_ok, "payouts --explain (json) equals it")
    t.ok(view_ok, "the split_recompute view equals it")
    t.ok(q("SELECT count(*) FROM split_differences")[0][0] == 0,
         "split_differences is empty")

    after = [i for i, a, at, s, b, r in incomes
             if r is None and s == "pool" and at > move]
    moved = expect[after[0]]
    t.ok(("w0", "carol") in moved and ("w0", "alice") not in moved,
         "after the move w0's part goes to carol", moved)
    t.ok(("w1", "alice") in moved and ("w1", "bob") in moved and
         abs(moved[("w1", "alice")] * 4 - moved[("w1", "bob")] * 6) <= 10,
         "w1 is split 60/40 between alice and bob", moved)
    t.ok(("w4", "w4") in moved, "the unassigned worker is credited to an "
         "owner named after it", moved)

    rc, out, err = cli("payouts", "--explain", str(after[0]))
    t.ok(rc == 0 and "window: shares" in out and "per owner" in out and
         "fee 150 bps" in out and "[pplns] window = 200000" in out,
         "payouts --explain (text) shows the window, N, owners and fee", out)

    # balances and payments
    credited = {}
    for e in expect.values():
        for (w, o), a in e.items():
            credited[o] = credited.get(o, 0) + a
    rc, out, err = cli("pay", "record", "--owner", "alice", "--amount",
                       str(credited["alice"] // 2), "--ref", "tx-alice-1")
    t.ok(rc == 0, "pay record alice", err)
    rc, out, err = cli("pay", "record", "--owner", "bob", "--amount", "1000",
                       "--ref", "tx-bob-1")
    t.ok(rc == 0, "pay record bob", err)
    paid = {"alice": credited["alice"] // 2, "bob": 1000}
    bal = credited["carol"]
    refused("an overpayment", str(bal), "pay", "record", "--owner", "carol",
            "--amount", str(bal + 1), "--ref", "tx-carol-over")
    refused("a duplicate payment ref", "ref", "pay", "record", "--owner",
            "bob", "--amount", "1", "--ref", "tx-bob-1")

    # a payment reversed: bob's 1000 never left the wallet
    bob_pay = q("SELECT id FROM payments WHERE ref = 'tx-bob-1'")[0][0]
    refused("pay reverse without --ref", "ref", "pay", "reverse",
            str(bob_pay))
    refused("pay reverse of a non-number", "ID", "pay", "reverse", "x1",
            "--ref", "rev-x")
    refused("pay reverse of an unknown payment", "id: no payment 999999",
            "pay", "reverse", "999999", "--ref", "rev-unknown")
    refused("pay reverse to a ref already recorded", "ref: tx-alice-1",
            "pay", "reverse", str(bob_pay), "--ref", "tx-alice-1")
    rc, out, err = cli("pay", "reverse", str(bob_pay), "--ref", "rev-bob-1",
                       "--note", "bounced")
    bob_rev = q("SELECT id FROM payments WHERE ref = 'rev-bob-1'")
    t.ok(rc == 0 and bob_rev and "payment %d reversed by payment %d" %
         (bob_pay, bob_rev[0][0]) in out and q(
             "SELECT owner_id, amount, reverses, note FROM payments WHERE "
             "ref = 'rev-bob-1'") == q(
             "SELECT owner_id, amount, id, 'bounced' FROM payments WHERE "
             "id = ?", bob_pay), "pay reverse: same owner and amount, "
         "points at the payment", out + err)
    bob_rev = bob_rev[0][0] if bob_rev else 0
    refused("reversing a payment twice", "id: payment %d is already "
            "reversed" % bob_pay, "pay", "reverse", str(bob_pay), "--ref",
            "rev-bob-2")
    refused("reversing a payment reversal", "id: payment %d is itself a "
            "reversal" % bob_rev, "pay", "reverse", str(bob_rev), "--ref",
            "rev-rev-bob")
    paid["bob"] = 0
    rc, out, err = cli("balances", "--format", "json")
    b = {x["name"]: x for x in json.loads(out)}
    t.ok(all(b[o]["credited"] == c and b[o]["paid"] == paid.get(o, 0) and
             b[o]["balance"] == c - paid.get(o, 0)
             for o, c in credited.items()) and set(b) == set(credited),
         "balances (json): credited, paid, balance per owner", b)
    rc, out, err = cli("balances")
    t.ok(rc == 0 and "alice" in out and "(%d)" % credited["alice"] in out,
         "balances (text): coins with atomic units beside", out)

    rc, out, err = cli("audit")
    t.ok(rc == 0 and "audit: ok" in out, "audit is clean", out + err)

    # REST over the same ledger
    fx = subprocess.Popen([FIXTURE, "--static", os.path.join(SRC, "www"),
                           "--token", TOKEN, "--ledger", DB,
                           "--pplns-window", str(WINDOW), "--pplns-fee-bps",
                           str(FEE_BPS)], stdout=subprocess.PIPE,
                          stderr=open(os.path.join(tmp, "fx.log"), "w"),
                          text=True)
    fixture = fx
    port = int(dict(x.split("=") for x in fx.stdout.readline().split())
               ["HTTP_PORT"])
    fixture_base = "http://127.0.0.1:%d" % port
    rest_ok = True
    for iid, e in expect.items():
        st, j = rest("/api/income/%d/explain" % iid)
        if st != 200 or rows_of(j["splits"]) != e:
            rest_ok = t.ok(False, "REST explain of income %d" % iid, j)
    t.ok(rest_ok, "GET /api/income/{id}/explain equals the computation")
    rc, out, err = cli("payouts", "--explain", str(after[0]), "--format",
                       "json")
    st, j = rest("/api/income/%d/explain" % after[0])
    t.ok(json.loads(out) == j, "CLI and REST give the same explain JSON")
    st, j = rest("/api/balances")
    rc, out, err = cli("balances", "--format", "json")
    t.ok(st == 200 and j["balances"] == json.loads(out),
         "GET /api/balances equals coopmine-cli balances --format json")
    body = json.dumps({"amount": 777, "at": now - 1000,
                       "ref": "rest-pay"}).encode()
    st, j = rest("/api/income", "POST", body)
    t.ok(st == 401, "POST /api/income without the token: 401", j)
    st, j = rest("/api/income", "POST", body, TOKEN)
    t.ok(st == 201 and q("SELECT amount FROM income WHERE id = ?",
                         j["id"]) == [(777,)], "POST /api/income records "
         "and splits", j)
    st, j2 = rest("/api/income", "POST", body, TOKEN)
    t.ok(st == 409 and "ref" in j2["error"], "POST of the same ref: 409", j2)
    st, j2 = rest("/api/income", "POST", json.dumps(
        {"amount": 5, "at": now + DAY, "ref": "r-f"}).encode(), TOKEN)
    t.ok(st == 400 and "at" in j2["error"], "POST in the future: 400", j2)
    st, j2 = rest("/api/income?limit=3")
    t.ok(st == 200 and [x["id"] for x in j2["income"]] ==
         [j["id"], j["id"] - 1, j["id"] - 2], "GET /api/income, newest first")
    rc, out, err = cli("audit")
    t.ok(rc == 0, "audit is clean after the REST income", out)
    fx.send_signal(signal.SIGTERM)
    fxrc = fx.wait(timeout=15)
    fixture = None
    with open(os.path.join(tmp, "fx.log")) as f:
        fxlog = f.read()
    t.ok(fxrc == 0 and "Sanitizer" not in fxlog,
         "the dashboard stops cleanly (exit 0, no sanitizer report)", fxlog)

    # tampering: the trigger dropped, one unit moved between two rows
    db = sqlite3.connect(DB)
    db.execute("DROP TRIGGER splits_no_update")
    r1, r2 = db.execute("SELECT id FROM splits WHERE income_id = ? AND "
                        "kind = 'worker' ORDER BY id LIMIT 2",
                        (after[0],)).fetchall()
    db.execute("UPDATE splits SET amount = amount + 1 WHERE id = ?", r1)
    db.execute("UPDATE splits SET amount = amount - 1 WHERE id = ?", r2)
    db.commit()
    db.close()
    rc, out, err = cli("audit")
    t.ok(rc == 1 and ("income %d" % after[0]) in out and
         "recomputation" in out, "audit fails naming the changed income",
         out + err)
    with sqlite3.connect(DB) as db:
        try:
            db.execute("DELETE FROM income WHERE id = 1")
            deleted = True
        except sqlite3.DatabaseError as e:
            deleted = "append-only" not in str(e)
    t.ok(not deleted, "income rows cannot be deleted (trigger)")
    # a payment reversal written by hand around the CLI: it reverses a
    # reversal, which the CLI refuses and the audit must name
    with sqlite3.connect(DB) as db:
        db.execute("INSERT INTO payments (owner_id, amount, at, ref, "
                   "reverses, recorded_at) SELECT owner_id, amount, at, "
                   "'by-hand', id, recorded_at FROM payments WHERE id = ?",
                   (bob_rev,))
        hand = db.execute("SELECT id FROM payments WHERE ref = 'by-hand'"
                          ).fetchone()[0]
    rc, out, err = cli("audit")
    t.ok(rc == 1 and "payment %d reverses %d" % (hand, bob_rev) in out,
         "audit fails naming a payment that reverses a reversal", out + err)
finally:
    if fixture is not None:
        fixture.send_signal(signal.SIGTERM)
        try:
            fixture.wait(timeout=15)
        except subprocess.TimeoutExpired:
            fixture.kill()
    if t.failed == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# left in %s" % tmp)
t.done()
