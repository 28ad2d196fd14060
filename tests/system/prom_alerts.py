#!/usr/bin/env python3
# prom_alerts.py: contrib/prometheus/coopmine-alerts.yml (issue 17) passes
# `promtool check rules`, its unit tests (tests/prometheus/
# coopmine-alerts.test.yml) pass `promtool test rules`, and every metric it
# names is one a real coordinator exports at /metrics.
import os
import re
import shutil
import subprocess

import yaml

from rpc_lib import S, T, diag, done, gen_certs, ok
from itest_lib import coordinator, dash_port, testpool, watchdog
import urllib.request

watchdog(90)
RULES = os.path.join(S, "contrib", "prometheus", "coopmine-alerts.yml")
TESTS = os.path.join(S, "tests", "prometheus", "coopmine-alerts.test.yml")
promtool = shutil.which("promtool")
if promtool is None:
    ok(True, "# SKIP promtool is not installed (Debian's prometheus package; "
          "contrib/install-deps.sh installs it)")
    done()
r = subprocess.run([promtool, "check", "rules", RULES], capture_output=True,
                   text=True)
diag((r.stdout + r.stderr).strip())
ok(r.returncode == 0, "promtool check rules")
# promtool reads rule_files relative to the test file's directory
r = subprocess.run([promtool, "test", "rules", os.path.basename(TESTS)],
                   capture_output=True, text=True, cwd=os.path.dirname(TESTS))
diag((r.stdout + r.stderr).strip()[-3000:])
ok(r.returncode == 0, "promtool test rules (every alert fires, and only "
   "when it should)")

with open(RULES) as f:
    groups = yaml.safe_load(f)["groups"]
rules = [x for g in groups for x in g["rules"]]
tested = open(TESTS).read()
for x in rules:
    ok("alertname: %s\n" % x["alert"] in tested,
       "%s has a unit test" % x["alert"])
named = set()
for x in rules:
    named |= set(re.findall(r"\bcoopmine_[a-z_]+", x["expr"]))

certs = gen_certs(os.path.join(T, "certs"), "w1")
pool, pport = testpool("pool", 0)
coord, port = coordinator(
    "coord", certs, "stratum+tcp://127.0.0.1:%d" % pport,
    os.path.join(T, "ledger.db"), "--verify", "none",
    "--dashboard-listen", "127.0.0.1:0", "--dashboard-ws-listen", "127.0.0.1:0")
dport = dash_port(coord) if port is not None else None
if not ok(dport is not None, "a coordinator with its dashboard"):
    done()
with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % dport,
                            timeout=5) as f:
    text = f.read().decode()
exported = set(re.findall(r"^# TYPE (\S+)", text, re.M))
missing = sorted(named - exported)
ok(not missing, "every metric the rules name is exported (%d named; "
   "missing: %s)" % (len(named), missing or "none"))
ok(re.search(r"^coopmine_ledger_durable 1$", text, re.M) and
   re.search(r"^coopmine_ledger_disk_free_bytes [1-9]\d*$", text, re.M) and
   re.search(r"^coopmine_upstream_pool_index 0$", text, re.M) and
   re.search(r"^coopmine_workers_quarantined 0$", text, re.M),
   "the new gauges have sane values (durable 1, disk free > 0, pool 0, "
   "none quarantined)")
ok(coord.stop() == 0, "coordinator stops cleanly")
done()
