# dash_log.py: a worker id is text from the network, and the dashboard logs
# it.  A POST with %0A (and other control characters) in the id must not
# write a forged line into the log (issue 12): the real http.c and log.c,
# through the dashboard fixture, and every line of its log is checked.
import re
import shutil
import socket

from dashlib import Fixture, Tap

TOKEN = "log-test-token"
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z dash_fixture\[\d+\] "
                  r"(error|warn|info|debug): ")
FORGED = "x%0Awarn:%20FORGED%20pool%20password%20accepted%0D%1B%5B2K%7F"
t = Tap()
fx = Fixture("--token", TOKEN)
try:
    st, _, _ = fx.request("/api/workers/%s/pause" % FORGED, method="POST")
    t.ok(st == 401, "the POST without a token is refused (and logged)", st)
    st, _, _ = fx.request("/api/workers/%s/kick" % FORGED, method="POST",
                          headers={"Authorization": "Bearer wrong"})
    t.ok(st == 401, "so is one with a wrong token", st)
    # a Host header with an escape sequence, sent by hand
    s = socket.create_connection(("127.0.0.1", fx.http), timeout=5)
    s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: evil\x1b[2Kexample\r\n"
              b"Connection: close\r\n\r\n")
    answer = s.recv(4096)
    s.close()
    t.ok(answer.startswith(b"HTTP/1.1 421"), "a Host with ESC in it is "
         "refused", answer[:40])
    fx.request("/health")
finally:
    rc = fx.stop()
t.ok(rc == 0, "the fixture stops cleanly")

log = fx.logtext()
lines = log.splitlines()
bad = [ln for ln in lines if not LINE.match(ln)]
t.ok(lines and not bad, "every line of the log is a real log line "
     "(%d lines)" % len(lines), "\n".join(bad))
t.ok(not any(ln.startswith("warn: FORGED") or "\nwarn: FORGED" in ln
             for ln in lines), "no line starts with the forged text")
want = ("http: refused pause of worker x\\nwarn: FORGED pool password "
        "accepted\\r\\x1b[2K\\x7f: bad or missing token")
t.ok(sum(want in ln for ln in lines) == 1,
     "the id is logged once, escaped, on the refusal's own line", log)
t.ok(any("refused kick of worker x\\nwarn: FORGED" in ln for ln in lines),
     "the second refusal too")
t.ok(any("for Host \"evil\\x1b[2Kexample\"" in ln for ln in lines),
     "the refused Host is logged with its ESC escaped")
if not t.failed:
    shutil.rmtree(fx.dir, ignore_errors=True)
t.done()
