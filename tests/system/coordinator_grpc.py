# coordinator_grpc.py: coopmine-coordinator driven by an independent client
# (Python grpcio): register, heartbeat, stream, stats, identity binding,
# refused handshakes, bad input, offline detection, config precedence,
# --insecure, key permissions, SIGHUP and a clean SIGTERM.
import os
import re
import signal
import time

import rpc_lib as L
from rpc_lib import pb, grpc

COORD = os.path.join(L.B, "src", "coordinator", "coopmine-coordinator")
# The coordinator mines for a pool: a testpool of the test's own.  Each
# coordinator gets its own ledger, and no dashboard (its ports would clash).
pool, os.environ["COOPMINE_POOL_ADDRESS"] = L.start_testpool("--job-interval", "60s")
os.environ["COOPMINE_POOL_WALLET"] = "grpc-test"
os.environ["COOPMINE_DASHBOARD_LISTEN"] = ""


def coord_proc(name, argv, **kw):
    return L.Proc(name, argv + ["--ledger-path", os.path.join(L.T, name + ".db")], **kw)


certs = L.gen_certs(os.path.join(L.T, "certs"), "w1", "w2", "w3")
other = L.gen_certs(os.path.join(L.T, "other"), "w1")
HB_MS = 400


def tls_args(d=certs):
    return ["--tls-ca", os.path.join(d, "ca.crt"), "--tls-cert",
            os.path.join(d, "server.crt"), "--tls-key", os.path.join(d, "server.key")]


coord = coord_proc("coord", [COORD, "--grpc-listen", "127.0.0.1:0", "--cluster-id",
                         "test-cluster", "--heartbeat-interval", "%dms" % HB_MS,
                         "--log-file", os.path.join(L.T, "coord-file.log")]
               + tls_args(), valgrind=os.environ.get("COOPMINE_VALGRIND") == "1")
flog = os.path.join(L.T, "coord-file.log")


def file_text():
    with open(flog, errors="replace") as f:
        return f.read()


# With --log-file every line (sanitizer reports too) goes to the file.
m = L.wait_until(lambda: os.path.exists(flog) and
                 re.search(r"gRPC port (\d+)", file_text()), 30)
port = int(m.group(1)) if m else 0
L.ok(port > 0, "coordinator starts with mutual TLS and reports its port")
if not port:
    L.diag(coord.text())
    L.diag(file_text() if os.path.exists(flog) else "")
    L.done()

L.ok(L.wait_until(lambda: "jobs: job 0000000000000001" in file_text(), 20),
     "the pool's first job reaches the job manager")
ch1 = L.channel(port, certs, "w1")
s1 = L.stub(ch1)
r, code, _ = L.code_of(s1.Register, pb.RegisterRequest(
    worker_id="w1", worker_name="box one", threads=4, version="0.1.0", os="linux",
    arch="x86_64"), timeout=5)
L.ok(code == grpc.StatusCode.OK and r.success and r.assigned_id == "w1",
     "Register with a matching certificate succeeds")
L.ok(r is not None and r.config.cluster_id == "test-cluster" and
     r.config.heartbeat_interval_ms == HB_MS,
     "RegisterResponse carries the cluster id and heartbeat interval")
L.ok(r is not None and r.HasField("current_job") and
     r.current_job.nonce_end > r.current_job.nonce_start and
     len(r.current_job.blob) == 80,
     "RegisterResponse carries the current job with a nonce lease")

r, code, _ = L.code_of(s1.Register, pb.RegisterRequest(threads=2), timeout=5)
L.ok(code == grpc.StatusCode.OK and r.assigned_id == "w1",
     "Register without a worker id is bound to the certificate CN")

hb, code, _ = L.code_of(s1.Heartbeat, pb.HeartbeatRequest(
    worker_id="w1", hashrate=123.5, hashes_total=1000, uptime_ms=5000), timeout=5)
L.ok(code == grpc.StatusCode.OK and hb.success and
     hb.command == pb.COMMAND_NONE, "Heartbeat succeeds, no command")

cs = s1.GetClusterStats(pb.ClusterStatsRequest(), timeout=5)
L.ok(cs.cluster_id == "test-cluster" and cs.workers_online == 1 and
     cs.workers_total == 1 and abs(cs.total_hashrate - 123.5) < 1e-6,
     "GetClusterStats: one worker online, its hashrate")
L.ok(len(cs.workers) == 1 and cs.workers[0].worker_id == "w1" and
     cs.workers[0].status == "online" and cs.workers[0].worker_name == "box one",
     "GetClusterStats lists the worker")
ws = s1.GetWorkerStats(pb.WorkerStatsRequest(worker_id="w1"), timeout=5)
L.ok(ws.status == "online" and ws.threads == 2 and ws.hashes_total == 1000 and
     ws.uptime_ms == 5000 and ws.connected_at > 0, "GetWorkerStats reports w1")
_, code, _ = L.code_of(s1.GetWorkerStats, pb.WorkerStatsRequest(worker_id="nobody"),
                       timeout=5)
L.ok(code == grpc.StatusCode.NOT_FOUND, "GetWorkerStats of an unknown id: NOT_FOUND")

# Identity: w1's certificate cannot act as w2.
for name, call, req in [
        ("Register", s1.Register, pb.RegisterRequest(worker_id="w2")),
        ("Heartbeat", s1.Heartbeat, pb.HeartbeatRequest(worker_id="w2")),
        ("SubmitShare", s1.SubmitShare, pb.ShareRequest(worker_id="w2", job_id="j")),
        ("Unregister", s1.Unregister, pb.UnregisterRequest(worker_id="w2"))]:
    _, code, _ = L.code_of(call, req, timeout=5)
    L.ok(code == grpc.StatusCode.PERMISSION_DENIED,
         "%s naming another worker: PERMISSION_DENIED" % name)
it = s1.StreamJobs(pb.StreamJobsRequest(worker_id="w2"), timeout=5)
_, code, _ = L.code_of(lambda: next(it))
L.ok(code == grpc.StatusCode.PERMISSION_DENIED,
     "StreamJobs naming another worker: PERMISSION_DENIED")
L.ok(L.wait_until(lambda: "asked to act as worker 'w2': refused" in file_text()),
     "the refused impersonation is logged")

r, code, det = L.code_of(s1.SubmitShare, pb.ShareRequest(
    worker_id="w1", job_id="j1", nonce=b"\0\0\0\1", result=b"\0" * 32), timeout=5)
L.ok(code == grpc.StatusCode.OK and r is not None and not r.accepted and
     r.reason == "unknown job",
     "SubmitShare for a job never issued: a real verdict (unknown job)")

# Bad input.
_, code, _ = L.raw_call(ch1, "/coopmine.CoopMine/Heartbeat", b"\xff\xff\xff\xff\x0f\x01")
L.ok(code == grpc.StatusCode.INVALID_ARGUMENT, "garbage bytes as a message: INVALID_ARGUMENT")
L.ok(L.wait_until(lambda: "Heartbeat from" in file_text() and "malformed" in file_text()),
     "the malformed message is logged")
_, code, _ = L.raw_call(ch1, "/coopmine.CoopMine/Mine", b"")
L.ok(code == grpc.StatusCode.UNIMPLEMENTED, "unknown method: UNIMPLEMENTED")
_, code, _ = L.raw_call(ch1, "/other.Service/Register", b"")
L.ok(code == grpc.StatusCode.UNIMPLEMENTED, "method of another service: UNIMPLEMENTED")
_, code, _ = L.code_of(s1.Register, pb.RegisterRequest(worker_id="w1",
                       worker_name="x" * (70 * 1024)), timeout=5)
L.ok(code == grpc.StatusCode.RESOURCE_EXHAUSTED, "oversized message: RESOURCE_EXHAUSTED")
r, code, _ = L.code_of(s1.Heartbeat, pb.HeartbeatRequest(worker_id="w1", hashrate=123.5),
                       timeout=5)
L.ok(code == grpc.StatusCode.OK and r.success, "the server still serves after bad input")

# Refused handshakes.
for desc, ch in [("no client certificate", L.channel(port, certs, None)),
                 ("a certificate from another CA",
                  L.channel(port, other, "w1", ca=os.path.join(certs, "ca.crt")))]:
    _, code, _ = L.code_of(L.stub(ch).GetClusterStats, pb.ClusterStatsRequest(), timeout=5)
    L.ok(code == grpc.StatusCode.UNAVAILABLE, "%s: handshake refused" % desc)
    ch.close()
L.ok(L.wait_until(lambda: "did not return a certificate" in file_text()),
     "the handshake without a certificate is logged")
L.ok(L.wait_until(lambda: "certificate verify failed" in file_text()),
     "the handshake with a foreign certificate is logged")

# A stream that drops marks the worker offline at once.
it = s1.StreamJobs(pb.StreamJobsRequest(worker_id="w1"))
first = L.next_within(it)
L.ok(first.job_id != "" and first.nonce_end > first.nonce_start,
     "StreamJobs sends the worker its job and lease at once")
t0 = time.time()
it.cancel()
# The logged reason below proves the cause (the stream's end, not a missed
# heartbeat); the bound leaves room for a busy machine.
st = L.wait_until(lambda: L.worker_status(s1, "w1") == "offline", 5.0, 0.02)
L.ok(st and time.time() - t0 < 3.0,
     "a dropped job stream shows the worker offline at once (%.0f ms)" %
     ((time.time() - t0) * 1000))
L.ok(L.wait_until(lambda: "worker w1 offline (job stream closed)" in file_text()),
     "the lost stream is logged")

# A worker that stops heartbeating goes offline after 3 intervals.
s2 = L.stub(L.channel(port, certs, "w2"))
s2.Register(pb.RegisterRequest(worker_id="w2", threads=1), timeout=5)
s2.Heartbeat(pb.HeartbeatRequest(worker_id="w2", hashrate=50), timeout=5)
t0 = time.time()
time.sleep(HB_MS * 1.5 / 1000.0)
L.ok(L.worker_status(s2, "w2") == "online",
     "silent for 1.5 intervals: still online (checked after %.0f ms)" % ((time.time() - t0) * 1000))
st = L.wait_until(lambda: L.worker_status(s2, "w2") == "offline", 6.0, 0.02)
el = time.time() - t0
L.ok(st and el < (3 * HB_MS + 2000) / 1000.0,
     "silent for 3 intervals: offline (after %.0f ms)" % (el * 1000))
cs = s2.GetClusterStats(pb.ClusterStatsRequest(), timeout=5)
L.ok(cs.workers_online == 0 and cs.total_hashrate == 0,
     "offline workers count neither as online nor in the hashrate")
s2.Heartbeat(pb.HeartbeatRequest(worker_id="w2", hashrate=50), timeout=5)
L.ok(L.worker_status(s2, "w2") == "online", "a heartbeat after a timeout brings it back")

r = s2.Unregister(pb.UnregisterRequest(worker_id="w2"), timeout=5)
L.ok(r.success and L.worker_status(s2, "w2") == "offline", "Unregister: offline")
r = s2.Heartbeat(pb.HeartbeatRequest(worker_id="w2"), timeout=5)
L.ok(not r.success, "heartbeat after Unregister: told to register again")
r = L.stub(L.channel(port, certs, "w3")).Heartbeat(
    pb.HeartbeatRequest(worker_id="w3"), timeout=5)
L.ok(not r.success and "register" in r.message,
     "heartbeat from a worker that never registered: told to register")

# SIGHUP reopens the log file (rotation).
os.rename(flog, flog + ".1")
coord.signal(signal.SIGHUP)
L.ok(L.wait_until(lambda: os.path.exists(flog) and "reopen" in open(flog + ".1").read()),
     "SIGHUP is logged")
s1.GetClusterStats(pb.ClusterStatsRequest(), timeout=5)
s1.Heartbeat(pb.HeartbeatRequest(worker_id="w1", hashrate=1), timeout=5)
time.sleep(0.2)
coord.signal(signal.SIGHUP)
L.ok(L.wait_until(lambda: os.path.exists(flog) and "SIGHUP" in file_text()),
     "after SIGHUP the log goes to a new file")

rc = coord.stop()
L.ok(rc == 0, "SIGTERM: clean exit (status %s; leak check in sanitizer builds)" % rc)
L.ok("stopped" in file_text(), "shutdown is logged")
if rc != 0:
    L.diag(file_text()[-3000:])

# Config precedence: file < environment < flag.
ini = os.path.join(L.T, "c.ini")
with open(ini, "w") as f:
    f.write("[cluster]\nid = from-file\nname = File Cluster\n[grpc]\nlisten = 127.0.0.1:0\n"
            "tls_ca = %s\ntls_cert = %s\ntls_key = %s\n[coordinator]\n"
            "heartbeat_interval = 2s\n" % (os.path.join(certs, "ca.crt"),
                                          os.path.join(certs, "server.crt"),
                                          os.path.join(certs, "server.key")))
for desc, env, flags, want in [
        ("config file", {}, [], ("from-file", 2000)),
        ("environment over file", {"COOPMINE_CLUSTER_ID": "from-env"}, [],
         ("from-env", 2000)),
        ("flag over environment", {"COOPMINE_CLUSTER_ID": "from-env",
                                   "COOPMINE_HEARTBEAT_INTERVAL": "3s"},
         ["--cluster-id", "from-flag"], ("from-flag", 3000))]:
    p = coord_proc("prec", [COORD, "--config", ini] + flags, env=env)
    try:
        pp = p.port()
        r = L.stub(L.channel(pp, certs, "w1")).Register(
            pb.RegisterRequest(worker_id="w1"), timeout=5)
        got = (r.config.cluster_id, r.config.heartbeat_interval_ms)
    except Exception as e:  # noqa: BLE001
        got = str(e)
    L.ok(got == want, "%s: %s" % (desc, got))
    p.stop()

# The shipped example config parses (only paths overridden).
p = coord_proc("example", [COORD, "--config", os.path.join(L.S, "etc", "coordinator.ini"),
                       "--grpc-listen", "127.0.0.1:0"] + tls_args())
L.ok(p.wait_log(r"gRPC port \d+", 20) is not None, "etc/coordinator.ini is a valid config")
p.stop()

# A key readable by others is refused at start, with the fix in the message.
os.chmod(os.path.join(certs, "server.key"), 0o644)
p = coord_proc("badkey", [COORD, "--grpc-listen", "127.0.0.1:0"] + tls_args())
rc = p.p.wait(20)
L.ok(rc != 0 and "chmod 600" in p.text(), "server key with mode 0644 is refused at start")
os.chmod(os.path.join(certs, "server.key"), 0o600)
p = coord_proc("nocert", [COORD, "--grpc-listen", "127.0.0.1:0", "--tls-ca",
                      os.path.join(L.T, "missing.crt"), "--tls-cert",
                      os.path.join(certs, "server.crt"), "--tls-key",
                      os.path.join(certs, "server.key")])
rc = p.p.wait(20)
L.ok(rc != 0 and "missing.crt" in p.text(), "a missing CA file is named at start")

# --insecure: plaintext works, and says so loudly.
p = coord_proc("insecure", [COORD, "--grpc-listen", "127.0.0.1:0", "--insecure"])
pp = p.port()
L.ok("INSECURE" in p.text() and "warn" in p.text(), "--insecure logs a warning at start")
si = L.stub(L.channel(pp, insecure=True))
r = si.Register(pb.RegisterRequest(worker_id="plain-1", threads=1), timeout=5)
L.ok(r.success and r.assigned_id == "plain-1", "--insecure: Register over plaintext")
_, code, _ = L.code_of(si.Heartbeat, pb.HeartbeatRequest(), timeout=5)
L.ok(code == grpc.StatusCode.INVALID_ARGUMENT, "--insecure: a request without a worker id is refused")
_, code, _ = L.code_of(L.stub(L.channel(pp, certs, "w1")).GetClusterStats,
                       pb.ClusterStatsRequest(), timeout=5)
L.ok(code == grpc.StatusCode.UNAVAILABLE, "--insecure: a TLS client cannot connect")
L.ok(p.stop() == 0, "--insecure: clean exit")

L.done()
