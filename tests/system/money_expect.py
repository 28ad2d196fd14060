# money_expect.py: what a person must see on the dashboard's Income and
# Balances panels for a ledger, computed here from the ledger's tables with
# plain SQL (not through the coordinator's explain code, nor the page):
# each income row, each explanation, each owner's balance, as the text the
# page shows.  Used by dash_money_browser.sh; writes JSON to stdout.
#   money_expect.py LEDGER.db TIMEZONE
import datetime
import json
import sqlite3
import sys
import zoneinfo

db = sqlite3.connect(sys.argv[1])
tz = zoneinfo.ZoneInfo(sys.argv[2])
UNIT = 10 ** 8           # the page's coin: 8 decimals


def date(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz).strftime(
        "%Y-%m-%d %H:%M:%S")


def money(v):
    a = abs(v)
    return "%s%d.%08d (%d)" % ("-" if v < 0 else "", a // UNIT, a % UNIT, v)


def pct(part, whole):
    return "%.4f%%" % ((part / whole if whole else 0.0) * 100)


def q(sql, *a):
    return db.execute(sql, a).fetchall()


names = dict(q("SELECT id, name FROM owners"))
incomes = q("SELECT id, amount, at, source, ref, reverses, (SELECT x.id FROM "
            "income x WHERE x.reverses = i.id) FROM income i ORDER BY id DESC")
out = {"income": [], "explain": {}, "balances": {}}
for iid, amount, at, source, ref, rev, rev_by in incomes:
    signed = -amount if rev else amount
    marks = []
    if rev:
        marks.append("reversal of #%d" % rev)
    if rev_by:
        marks.append("reversed by #%d" % rev_by)
    out["income"].append({"id": iid, "cells": [date(at), money(signed), source,
                                               ref, " ".join(marks)]})
    (n, n_source, netdiff, wdiff, count, fee_bps, fee_owner, warning, first,
     last) = q("SELECT window_n, n_source, network_difficulty, "
               "window_difficulty, share_count, fee_bps, fee_owner_id, "
               "warning, first_share_id, last_share_id FROM income_splits "
               "WHERE income_id = ?", rev or iid)[0]
    rows = q("SELECT kind, worker_id, owner_id, bps, difficulty, shares, "
             "worker_amount, amount, worker_extra, owner_extra FROM splits "
             "WHERE income_id = ? ORDER BY id", iid)
    fee = sum(r[7] for r in rows if r[0] == "fee")
    facts = {
        "n": "%s, from %s" % (format(n, ","), n_source),
        "window": "%s share%s, difficulty %s" % (
            format(count, ","), "" if count == 1 else "s", format(wdiff, ",")),
        "fee": "%d bps (%.2f%%) to %s: %s" % (fee_bps, fee_bps / 100,
                                              names[fee_owner], money(fee)),
    }
    if first:
        fat, lat = (q("SELECT created_at FROM shares WHERE id = ?", s)[0][0]
                    for s in (first, last))
        facts["first"] = "#%d at %s" % (first, date(fat))
        facts["last"] = "#%d at %s" % (last, date(lat))
    extra = []
    workers, owners = {}, {}
    for kind, w, o, bps, d, sh, wa, a, wx, ox in rows:
        if kind != "worker":
            continue
        if wx and "%s (worker)" % w not in extra:
            extra.append("%s (worker)" % w)
        if ox:
            extra.append("%s via %s (owner)" % (names[o], w))
        rem = "+".join(x for x, f in (("worker", wx), ("owner", ox)) if f)
        workers["%s/%s" % (w, names[o])] = [
            w, names[o], "%d bps" % bps, format(d, ","), format(sh, ","),
            pct(d, wdiff), money(wa), money(a), rem or "–"]
        od, oa = owners.get(names[o], (0, 0))
        owners[names[o]] = (od + d * bps // 10000, oa + a)
    facts["remainder"] = ("one atomic unit each to " + ", ".join(extra)
                          if extra else "none: every part divided exactly")
    out["explain"][str(iid)] = {
        "head": "Income #%d: %s" % (iid, money(signed)),
        "facts": facts, "warning": warning, "reverses": rev, "reversed_by":
        rev_by, "workers": workers,
        "owners": {o: [o, format(d, ","), pct(d, wdiff), money(a)]
                   for o, (d, a) in owners.items()},
        "fee_owner": [names[fee_owner] + " (fee)", money(fee)],
    }
# balances from the rows themselves (not the owner_balances view)
for oid, name in names.items():
    credited = q("SELECT coalesce(sum(amount), 0) FROM splits WHERE "
                 "owner_id = ?", oid)[0][0]
    paid = sum(-a if r else a for a, r in q(
        "SELECT amount, reverses FROM payments WHERE owner_id = ?", oid))
    immature = q("SELECT coalesce(sum(s.amount), 0) FROM splits s JOIN "
                 "income i ON i.id = s.income_id JOIN blocks b ON b.id = "
                 "i.block_id WHERE s.owner_id = ? AND b.status <> "
                 "'accepted'", oid)[0][0]
    out["balances"][name] = [name, money(credited), money(paid),
                             money(credited - paid), money(immature),
                             money(credited - paid - immature)]
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
