#!/usr/bin/env python3
# fakenode_selftest.py: the fake OpenSY node (fakenode.py) and the C block
# builder (common/opensy.c, through tests/opensy-driver) check each other:
# a block the C library builds from the node's template is accepted and
# becomes the tip; blocks spoiled on purpose are refused with the reason a
# real node gives; long-poll, auth, warm-up, IBD, reorganisation, restart
# and the idle timeout behave as the coordinator's node backend will need.
# The fake node's own checker is first held against the block a real
# OpenSY node accepted (tests/data/opensy-regtest.json).
import base64
import socket
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPException as http_errors

B = os.environ.get("COOPMINE_BUILDDIR")
S = os.environ.get("COOPMINE_SRCDIR")
if not B or not S:
    print("1..0 # SKIP run through make check")
    sys.exit(0)
sys.path.insert(0, os.path.join(S, "tests", "system"))
try:
    import fakenode
    fakenode.RandomX()
except OSError as e:
    print("1..0 # SKIP librandomx.so.0 cannot be loaded: %s" % e)
    sys.exit(0)

DRIVER = os.path.join(B, "tests", "opensy-driver")
NODE = os.path.join(S, "tests", "system", "fakenode.py")
T = tempfile.mkdtemp(prefix="coopmine-fakenode.")
procs = []
n_tests = 0
n_failed = 0


def ok(cond, desc, diag=None):
    global n_tests, n_failed
    n_tests += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n_tests, desc))
    if not cond:
        n_failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[-20:]:
                print("#   " + line)
    sys.stdout.flush()
    return cond


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(T, ignore_errors=True)


def start_node(*args):
    p, port = fakenode.start(*args, log=os.path.join(T, "fakenode.log"))
    procs.append(p)
    return p, port


RPC = fakenode.Client


def drive(rpc, *flags, template=None, extranonce="0100000000000000"):
    """Builds a block with the C library from a fresh template (or the one
    given) and returns its hex."""
    tpl = template or rpc("getblocktemplate", {"rules": ["segwit"]})
    kh = fakenode.key_height(tpl["height"])
    key = rpc("getblockhash", kh)
    path = os.path.join(T, "template.json")
    with open(path, "w") as f:
        json.dump(tpl, f)
    p = subprocess.run([DRIVER, "--template", path, "--key", key,
                        "--extranonce", extranonce, "--payout", "script:51",
                        "--tag", "selftest"] + list(flags),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("driver failed: %s" % p.stderr)
    return p.stdout.strip()


def block_id(blockhex):
    return fakenode.disp(fakenode.sha256d(bytes.fromhex(blockhex[:160])))


def check_against_vectors():
    """The fake node's checker agrees with a real node's accepted block."""
    with open(os.path.join(S, "tests", "data", "opensy-regtest.json")) as f:
        vectors = json.load(f)
    v = vectors["assembled_block"]
    ok(all(fakenode.key_height(b["height"]) == b["key_height"]
           for b in vectors["blocks"]),
       "fakenode key rule gives every real block's key height")
    blk = fakenode.Block(bytes.fromhex(v["block"]))
    cb = blk.txs[0]
    ok(fakenode.disp(cb.txid) == v["coinbase_txid"],
       "fakenode parser: coinbase txid of the real accepted block")
    ok(fakenode.merkle([t.txid for t in blk.txs]) ==
       bytes.fromhex(v["merkle_root_internal"]) == blk.merkle_root,
       "fakenode parser: merkle root")
    commit = cb.vout[-1][1]
    root = fakenode.merkle([b"\0" * 32])
    ok(commit.hex() == v["gbt"]["default_witness_commitment"] and
       fakenode.sha256d(root + cb.witness[0][0]) == commit[6:38] and
       cb.witness == [[b"\0" * 32]],
       "fakenode commitment rule holds for the real block")
    ok(cb.vin[0][1].startswith(fakenode.script_num(v["gbt"]["height"])),
       "fakenode BIP34 rule holds for the real block")
    rx = fakenode.RandomX()
    h = rx.hash(bytes.fromhex(v["key_hex_internal"]), blk.header)
    ok(h.hex() == v["pow_hash_raw"] and
       int.from_bytes(h, "little") <= fakenode.bits_target(blk.bits),
       "fakenode RandomX (ctypes, light) gives the real pow hash")
    ok(fakenode.Node.commitment_for(None, []).hex() ==
       v["gbt"]["default_witness_commitment"],
       "fakenode's empty-block commitment is the real node's")


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def check_real_node():
    """With OPENSYD=/path (or opensyd on PATH): the C library's block is
    accepted by a real regtest node too."""
    exe = os.environ.get("OPENSYD") or shutil.which("opensyd")
    if not exe:
        print("ok %d - real opensyd # SKIP no opensyd binary (set "
              "OPENSYD=/path; docs/node.md says how to build it)" %
              (n_tests + 1))
        globals()["n_tests"] += 1
        return
    dd = os.path.join(T, "opensyd")
    os.makedirs(dd)
    rpcport = free_port()
    log = open(os.path.join(T, "opensyd.log"), "w")
    p = subprocess.Popen([exe, "-regtest", "-randomxforkheight=1",
                          "-datadir=" + dd, "-server", "-listen=0",
                          "-connect=0", "-dnsseed=0", "-rpcbind=127.0.0.1",
                          "-rpcallowip=127.0.0.1", "-rpcport=%d" % rpcport,
                          "-port=%d" % free_port(), "-printtoconsole=0"],
                         stdout=log, stderr=log)
    log.close()
    procs.append(p)
    cookie = os.path.join(dd, "regtest", ".cookie")
    deadline = time.time() + 120
    rpc = None
    while time.time() < deadline and p.poll() is None:
        try:
            with open(cookie) as f:
                rpc = RPC(rpcport, f.read())
            if not rpc.call("getblockcount").get("error"):
                break
        except (OSError, ValueError, http_errors):
            pass
        rpc = None
        time.sleep(0.2)
    if not ok(rpc is not None, "opensyd -regtest -randomxforkheight=1 "
              "answers RPC"):
        return
    tpl = rpc("getblocktemplate", {"rules": ["segwit"]})
    blk = drive(rpc, template=tpl)
    r = rpc("submitblock", blk)
    ok(r is None and rpc("getbestblockhash") == block_id(blk),
       "opensyd accepts the block common/opensy.c built (height %d)" %
       tpl["height"], r)
    r = rpc("submitblock", drive(rpc, "--bad-merkle"))
    ok(r == "bad-txnmrklroot", "opensyd: a wrong merkle root refused "
       "as the fake node refuses it", r)
    rpc.call("stop")
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()


def main():
    check_against_vectors()
    check_real_node()

    dd = os.path.join(T, "node")
    node, port = start_node("--datadir", dd, "--idle-timeout", "60",
                            "--longpoll-timeout", "20", "--blocks", "2")
    cookie = os.path.join(dd, ".cookie")
    ok(stat.S_IMODE(os.stat(cookie).st_mode) == 0o600,
       "the cookie is written, mode 0600")
    with open(cookie) as f:
        auth = f.read()
    rpc = RPC(port, auth)
    ok(rpc("getblockcount") == 2, "starts with genesis + 2 blocks")

    # Auth.
    st, _ = rpc.raw({"method": "getblockcount", "id": 1},
                    auth="Basic " + base64.b64encode(b"__cookie__:x").decode())
    ok(st == 401, "wrong password -> 401")
    st, _ = rpc.raw({"method": "getblockcount", "id": 1}, auth="Bearer x")
    ok(st == 401, "no basic auth -> 401")

    # JSON-RPC 1.0 and 2.0 shapes.
    st, r = rpc.raw({"jsonrpc": "2.0", "method": "getblockcount", "id": 7})
    ok(st == 200 and r == {"jsonrpc": "2.0", "id": 7, "result": 2},
       "JSON-RPC 2.0 answer", r)
    st, r = rpc.raw({"method": "nosuch", "id": 8})
    ok(st == 404 and r["error"]["code"] == -32601, "1.0: unknown method 404")
    r = rpc.call("getblocktemplate", {"rules": []})
    ok(r["error"]["code"] == -8 and "segwit" in r["error"]["message"],
       "getblocktemplate without the segwit rule refused")

    # A block built by the C library is accepted and becomes the tip.
    tpl = rpc("getblocktemplate", {"rules": ["segwit"]})
    blk = drive(rpc, template=tpl)
    r = rpc("submitblock", blk)
    ok(r is None, "block built by common/opensy.c accepted", r)
    ours = block_id(blk)
    ok(rpc("getbestblockhash") == ours and rpc("getblockcount") == 3,
       "it is the new tip at height 3")
    hdr = rpc("getblockheader", ours)
    ok(hdr["confirmations"] == 1 and hdr["height"] == 3,
       "getblockheader: 1 confirmation", hdr)
    ok(rpc("submitblock", blk) == "duplicate", "resubmitted: duplicate")
    r = rpc("submitblock", drive(rpc, template=tpl, extranonce="02" * 8))
    ok(r == "inconclusive", "a valid sibling of the tip: inconclusive "
       "(stored on a side branch)", r)
    ok(rpc("getbestblockhash") == ours, "the first block seen stays tip")

    # Spoiled blocks, each refused with the reason a real node gives.
    for flags, reason in [(["--bad-merkle"], "bad-txnmrklroot"),
                          (["--no-commitment"], "unexpected-witness"),
                          (["--bad-pow"], "high-hash"),
                          (["--height", "2"], "bad-cb-height"),
                          (["--bad-prev"], "prev-blk-not-found"),
                          (["--time", "1000"], "time-too-old")]:
        r = rpc("submitblock", drive(rpc, *flags))
        ok(r == reason, "%s refused: %s" % (" ".join(flags), reason), r)
    ok(rpc("getbestblockhash") == ours, "the tip did not move")
    r = rpc.call("submitblock", "00ff")
    ok(r["error"]["code"] == -22, "undecodable block: -22", r)

    # Mempool fees: the template carries them, a block with them is taken.
    before = rpc("getblocktemplate", {"rules": ["segwit"]})
    txids = rpc("fake_addtx", 5000, True, 2) + rpc("fake_addtx", 700)
    tpl = rpc("getblocktemplate", {"rules": ["segwit"]})
    ok(tpl["coinbasevalue"] == before["coinbasevalue"] + 10700 and
       [t["txid"] for t in tpl["transactions"]] == txids,
       "fake_addtx: template has the 3 transactions and their fees")
    spoiled = dict(tpl, default_witness_commitment=before[
        "default_witness_commitment"])
    r = rpc("submitblock", drive(rpc, template=spoiled))
    ok(r == "bad-witness-merkle-match", "wrong witness commitment refused",
       r)
    greedy = dict(tpl, coinbasevalue=tpl["coinbasevalue"] + 1)
    r = rpc("submitblock", drive(rpc, template=greedy))
    ok(r == "bad-cb-amount", "coinbase paying 1 too much refused", r)
    blk = drive(rpc, template=tpl)
    r = rpc("submitblock", blk)
    ok(r is None and rpc("getblockcount") == 4,
       "block with 3 mempool transactions (2 with witness) accepted", r)
    tpl = rpc("getblocktemplate", {"rules": ["segwit"]})
    ok(tpl["transactions"] == [] and
       tpl["coinbasevalue"] == before["coinbasevalue"],
       "mined transactions leave the mempool")
    with_txs = block_id(blk)

    # Long-poll: held until the tip changes, back within 1 s of it.
    lp = {}

    def longpoll():
        c = RPC(port, auth, timeout=30)
        t0 = time.time()
        lp["r"] = c("getblocktemplate", {"rules": ["segwit"],
                                         "longpollid": tpl["longpollid"]})
        lp["t"] = time.time()
        lp["held"] = lp["t"] - t0
    th = threading.Thread(target=longpoll)
    th.start()
    time.sleep(0.5)     # not synchronisation: gives the call time to block
    ok("r" not in lp, "long-poll is held while the tip stays")
    mined = rpc("fake_mine", 1)
    t_mined = time.time()
    th.join(10)
    ok("r" in lp and lp["r"]["previousblockhash"] == mined[0] and
       lp["t"] - t_mined < 1.0,
       "long-poll returns the new tip's template %.3f s after fake_mine" %
       (lp.get("t", 99) - t_mined))

    # A slow node.
    rpc("fake_delay", 1.2)
    t0 = time.time()
    rpc("getblockcount")
    slow = time.time() - t0
    rpc("fake_delay", 0)
    ok(1.2 <= slow < 5, "fake_delay: answers %.2f s late" % slow)

    # Warm-up and IBD.
    rpc("fake_warmup", True)
    r = rpc.call("getblockcount")
    ok(r["error"]["code"] == -28, "warm-up: -28", r)
    rpc("fake_warmup", False)
    rpc("fake_ibd", True)
    r = rpc.call("getblocktemplate", {"rules": ["segwit"]})
    ok(r["error"]["code"] == -10 and "initial sync" in r["error"]["message"],
       "IBD: getblocktemplate -10", r)
    ok(rpc("getblockchaininfo")["initialblockdownload"] is True,
       "IBD: getblockchaininfo says so")
    rpc("fake_ibd", False)
    ok(rpc("getblocktemplate", {"rules": ["segwit"]})["height"] == 6,
       "after IBD: templates again")

    # Reorganisation: our blocks at heights 3 and 4 become orphans.
    height = rpc("getblockcount")
    r = rpc("fake_reorg", height - 2, 1)
    ok(rpc("getblockcount") == height + 1 and
       rpc("getbestblockhash") == r["new_tip"] and
       ours in r["orphaned"] and with_txs in r["orphaned"],
       "fake_reorg: a longer branch from height 2 is the best chain", r)
    ok(rpc("getblockheader", ours)["confirmations"] == -1 and
       rpc("getblockheader", with_txs)["confirmations"] == -1,
       "our blocks: confirmations -1 after the reorganisation")
    ok(rpc("getblockheader", rpc("getblockhash", 2))["confirmations"] ==
       height, "the fork point keeps its confirmations")
    pool = [t["txid"] for t in rpc("fake_mempool")]
    ok(sorted(pool) == sorted(txids) and sorted(
        t["txid"] for t in rpc("getblocktemplate", {"rules": ["segwit"]})[
            "transactions"]) == sorted(txids),
       "the orphaned block's transactions are back in the mempool and "
       "the template")
    ok(rpc("submitblock", blk) == "duplicate-inconclusive",
       "an orphan resubmitted: duplicate-inconclusive")
    log = rpc("fake_submitted")
    ok(len(log) == 13 and log[0]["result"] is None and
       log[0]["hash"] == ours and log[0]["height"] == 3,
       "fake_submitted logs every submission with its verdict", log[:2])

    # Blocks across a key change (height 64 uses block 32's hash).
    rpc("fake_mine", 64 - rpc("getblockcount") - 1)
    tpl = rpc("getblocktemplate", {"rules": ["segwit"]})
    r = rpc("submitblock", drive(rpc, template=tpl))
    ok(tpl["height"] == 64 and r is None,
       "height 64 block with key = block 32's hash accepted", r)

    # Restart: the chain survives, the cookie changes.
    tip = rpc("getbestblockhash")
    rpc("fake_stop")
    try:
        node.wait(10)
    except subprocess.TimeoutExpired:
        pass
    ok(node.poll() == 0 and not os.path.exists(cookie),
       "fake_stop: exits 0 and removes its cookie", node.poll())
    node, port = start_node("--datadir", dd, "--idle-timeout", "1")
    with open(cookie) as f:
        auth2 = f.read()
    rpc = RPC(port, auth2)
    ok(auth2 != auth and rpc("getbestblockhash") == tip,
       "restarted: same tip, new cookie")
    rpc.conn.close()
    t0 = time.time()
    try:
        node.wait(15)
    except subprocess.TimeoutExpired:
        pass
    ok(node.poll() == 0, "idle timeout: stops by itself (%.1f s)" %
       (time.time() - t0))

    print("1..%d" % n_tests)
    return 1 if n_failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        rc = main()
    except Exception as e:     # report, then clean up
        import traceback
        ok(False, "exception: %s" % e, traceback.format_exc())
        print("1..%d" % n_tests)
        rc = 1
    finally:
        cleanup()
    sys.exit(rc)
