#!/usr/bin/env python3
# fakenode.py: a small stand-in for an OpenSY regtest node, for the system
# tests of solo mining (issue 14).  It speaks the node's JSON-RPC over HTTP
# (1.0 and 2.0, keep-alive, basic auth by user/password or a .cookie it
# writes) and checks submitted blocks fully and independently of the C
# library: header, coinbase BIP34 height, witness commitment, merkle root,
# RandomX proof of work with the OpenSY key rule (light mode, through
# ctypes on librandomx.so.0).  Control methods prefixed fake_ let a test
# play another miner, reorganise, fill the mempool, or play warm-up / IBD.
#
#   fakenode.py [--port 0] [--datadir DIR | --rpcuser U --rpcpassword P]
#               [--idle-timeout 120] [--longpoll-timeout 30]
#
# Prints the port on stdout once listening on 127.0.0.1.  With --datadir
# the chain is kept in DIR/fakenode-chain.json across restarts and the
# cookie is DIR/.cookie (a fresh password each start, removed at exit).
import argparse
import base64
import ctypes
import hashlib
import hmac
import json
import os
import secrets
import signal
import struct
import sys
import threading
import time
import http.client
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COIN = 100000000
SUBSIDY = 10000 * COIN          # OpenSY regtest, halving every 150 blocks
HALVING = 150
BITS = 0x207FFFFF
KEY_INTERVAL = 32
GENESIS_TIME = 1733616003
MAX_FUTURE = 2 * 60 * 60
COMMIT_PREFIX = bytes.fromhex("6a24aa21a9ed")


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def disp(h):
    """Internal-order hash -> display hex."""
    return h[::-1].hex()


def undisp(s):
    b = bytes.fromhex(s)
    if len(b) != 32:
        raise ValueError("not a 32-byte hash")
    return b[::-1]


def key_height(h):
    return max(0, h // KEY_INTERVAL * KEY_INTERVAL - KEY_INTERVAL)


def bits_target(bits):
    exp, mant = bits >> 24, bits & 0x7FFFFF
    return mant << (8 * (exp - 3)) if exp > 3 else mant >> (8 * (3 - exp))


def compact(n):
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def script_num(n):
    """Bitcoin's CScript() << n for n >= 0."""
    if n == 0:
        return b"\x00"
    if n <= 16:
        return bytes([0x50 + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "little")
    if b[-1] & 0x80:
        b += b"\x00"
    return bytes([len(b)]) + b


def merkle(hashes):
    if not hashes:
        return b"\0" * 32
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1])
                 for i in range(0, len(level), 2)]
    return level[0]


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        if n < 0 or self.o + n > len(self.b):
            raise ValueError("truncated")
        r = self.b[self.o:self.o + n]
        self.o += n
        return r

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def compact(self):
        c = self.take(1)[0]
        if c < 0xFD:
            return c
        n = {0xFD: 2, 0xFE: 4, 0xFF: 8}[c]
        return int.from_bytes(self.take(n), "little")


class Tx:
    """A parsed transaction: inputs (prevout, scriptSig), outputs (value,
    script), witness stacks, txid and wtxid (internal order)."""

    def __init__(self, r):
        start = r.o
        version = r.take(4)
        segwit = False
        if r.b[r.o:r.o + 2] == b"\x00\x01":
            segwit = True
            r.take(2)
        io_start = r.o
        self.vin = []
        for _ in range(r.compact()):
            prev = r.take(36)
            script = r.take(r.compact())
            r.take(4)
            self.vin.append((prev, script))
        self.vout = []
        for _ in range(r.compact()):
            value = struct.unpack("<q", r.take(8))[0]
            self.vout.append((value, r.take(r.compact())))
        io_end = r.o
        self.witness = []
        if segwit:
            for _ in self.vin:
                self.witness.append([r.take(r.compact())
                                     for _ in range(r.compact())])
            if not any(self.witness):
                raise ValueError("superfluous witness marker")
        lock = r.take(4)
        self.raw = r.b[start:r.o]
        self.txid = sha256d(version + r.b[io_start:io_end] + lock)
        self.wtxid = sha256d(self.raw)
        if not self.vin or not self.vout:
            raise ValueError("empty vin or vout")

    def is_coinbase(self):
        return len(self.vin) == 1 and self.vin[0][0] == b"\0" * 32 + b"\xff" * 4


class Block:
    def __init__(self, raw):
        r = Reader(raw)
        self.header = r.take(80)
        n = r.compact()
        if n < 1 or n > 100000:
            raise ValueError("bad tx count")
        self.txs = [Tx(r) for _ in range(n)]
        if r.o != len(raw):
            raise ValueError("trailing bytes")
        self.raw = raw
        (self.version,) = struct.unpack("<I", self.header[:4])
        self.prev = self.header[4:36]
        self.merkle_root = self.header[36:68]
        self.time, self.bits, self.nonce = struct.unpack("<III",
                                                         self.header[68:80])
        self.hash = sha256d(self.header)


class RandomX:
    """Light-mode RandomX through ctypes; a few caches kept by key."""

    def __init__(self):
        self.lib = ctypes.CDLL("librandomx.so.0")
        L = self.lib
        L.randomx_get_flags.restype = ctypes.c_int
        L.randomx_alloc_cache.restype = ctypes.c_void_p
        L.randomx_alloc_cache.argtypes = [ctypes.c_int]
        L.randomx_init_cache.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                         ctypes.c_size_t]
        L.randomx_release_cache.argtypes = [ctypes.c_void_p]
        L.randomx_create_vm.restype = ctypes.c_void_p
        L.randomx_create_vm.argtypes = [ctypes.c_int, ctypes.c_void_p,
                                        ctypes.c_void_p]
        L.randomx_destroy_vm.argtypes = [ctypes.c_void_p]
        L.randomx_calculate_hash.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                             ctypes.c_size_t, ctypes.c_char_p]
        # Light mode: no FULL_MEM; no large pages (not reserved in CI).
        self.flags = L.randomx_get_flags() & ~(1 | 4)
        self.vms = []           # [(key, cache, vm)], most recent last
        self.lock = threading.Lock()

    def hash(self, key, data):
        with self.lock:
            ent = next((e for e in self.vms if e[0] == key), None)
            if ent is None:
                cache = self.lib.randomx_alloc_cache(self.flags)
                if not cache:
                    raise MemoryError("randomx_alloc_cache failed")
                self.lib.randomx_init_cache(cache, key, len(key))
                vm = self.lib.randomx_create_vm(self.flags, cache, None)
                if not vm:
                    raise MemoryError("randomx_create_vm failed")
                ent = (key, cache, vm)
                self.vms.append(ent)
                while len(self.vms) > 2:
                    _, c, v = self.vms.pop(0)
                    self.lib.randomx_destroy_vm(v)
                    self.lib.randomx_release_cache(c)
            else:
                self.vms.remove(ent)
                self.vms.append(ent)
            out = ctypes.create_string_buffer(32)
            self.lib.randomx_calculate_hash(ent[2], data, len(data), out)
            return out.raw


class RPCError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class Node:
    def __init__(self, args):
        self.args = args
        self.rx = RandomX()
        self.cv = threading.Condition()
        self.blocks = {}        # hash -> dict(block, height, invalid)
        self.chain = []         # best chain, hashes by height
        self.mempool = []       # Tx objects with .fee
        self.fees = {}          # txid -> fee of every fake_addtx
        self.delay = 0.0        # seconds added to every answer
        self.mempool_rev = 0
        self.submitted = []
        self.warmup = False
        self.ibd = False
        self.other_n = 0        # makes "other miner" coinbases unique
        self.state_file = (os.path.join(args.datadir, "fakenode-chain.json")
                           if args.datadir else None)
        if not self.load():
            self.add_genesis()

    # --- chain ---------------------------------------------------------
    def add_genesis(self):
        cb = self.coinbase(0, b"fakenode genesis", SUBSIDY, b"\x51",
                           None, version=1)
        tx = Tx(Reader(cb))
        hdr = struct.pack("<I", 1) + b"\0" * 32 + tx.txid + struct.pack(
            "<III", GENESIS_TIME, BITS, 0)
        raw = hdr + compact(1) + cb
        self.store(Block(raw), 0)
        self.chain = [sha256d(hdr)]

    def store(self, blk, height):
        self.blocks[blk.hash] = {"block": blk, "height": height}

    def load(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return False
        with open(self.state_file) as f:
            st = json.load(f)
        for hx in st["blocks"]:
            blk = Block(bytes.fromhex(hx))
            h = 0 if blk.prev == b"\0" * 32 else \
                self.blocks[blk.prev]["height"] + 1
            self.store(blk, h)
        self.chain = [undisp(h) for h in st["chain"]]
        self.other_n = st.get("other_n", 0)
        return True

    def save(self):
        if not self.state_file:
            return
        order = sorted(self.blocks.values(), key=lambda e: e["height"])
        st = {"blocks": [e["block"].raw.hex() for e in order],
              "chain": [disp(h) for h in self.chain], "other_n": self.other_n}
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f)
        os.replace(tmp, self.state_file)

    def tip(self):
        return self.chain[-1]

    def height(self):
        return len(self.chain) - 1

    def ancestor(self, h, height):
        """The block at height on the branch ending at block h."""
        while self.blocks[h]["height"] > height:
            h = self.blocks[h]["block"].prev
        return h

    def mtp(self, h):
        times = []
        while h is not None and len(times) < 11:
            e = self.blocks[h]
            times.append(e["block"].time)
            h = e["block"].prev if e["height"] > 0 else None
        return sorted(times)[len(times) // 2]

    def in_best(self, h):
        e = self.blocks.get(h)
        return e is not None and e["height"] < len(self.chain) and \
            self.chain[e["height"]] == h

    def set_best(self, h):
        """Make the branch ending at h the best chain."""
        height = self.blocks[h]["height"]
        chain = [None] * (height + 1)
        while True:
            chain[self.blocks[h]["height"]] = h
            if self.blocks[h]["height"] == 0:
                break
            h = self.blocks[h]["block"].prev
        old, self.chain = self.chain, chain
        fork = 0
        while fork < min(len(old), len(chain)) and old[fork] == chain[fork]:
            fork += 1
        included = set()
        for bh in chain[fork:]:
            included.update(t.txid for t in self.blocks[bh]["block"].txs)
        # As a real node does, transactions of disconnected blocks go
        # back to the mempool (those whose fee we know: ours).
        back = []
        for bh in old[fork:]:
            for t in self.blocks[bh]["block"].txs[1:]:
                if t.txid in self.fees and t.txid not in included:
                    t.fee = self.fees[t.txid]
                    back.append(t)
        pool = back + self.mempool
        self.mempool = [t for t in pool if t.txid not in included]
        if back or len(self.mempool) != len(pool):
            self.mempool_rev += 1
        self.save()
        self.cv.notify_all()

    # --- building ------------------------------------------------------
    def coinbase(self, height, extra, value, script, commitment, version=2):
        sig = script_num(height) + bytes([len(extra)]) + extra
        out = struct.pack("<I", version)
        if commitment is not None:
            out += b"\x00\x01"
        out += compact(1) + b"\0" * 32 + b"\xff" * 4 + compact(len(sig)) + \
            sig + b"\xff" * 4
        outs = [(value, script)]
        if commitment is not None:
            outs.append((0, commitment))
        out += compact(len(outs))
        for v, s in outs:
            out += struct.pack("<q", v) + compact(len(s)) + s
        if commitment is not None:
            out += b"\x01\x20" + b"\0" * 32
        return out + b"\0" * 4

    def commitment_for(self, txs):
        root = merkle([b"\0" * 32] + [t.wtxid for t in txs])
        return COMMIT_PREFIX + sha256d(root + b"\0" * 32)

    def pow_hash(self, header, prev, height):
        key = self.ancestor(prev, key_height(height)) if height > 0 else None
        return self.rx.hash(key, header)

    def mine_on(self, prev, script=b"\x51", txs=()):
        """Builds and grinds a block on prev, as another miner would."""
        height = self.blocks[prev]["height"] + 1
        self.other_n += 1
        txs = list(txs)
        fees = sum(getattr(t, "fee", 0) for t in txs)
        cb = self.coinbase(height, b"other" + struct.pack("<I", self.other_n),
                           self.subsidy(height) + fees, script,
                           self.commitment_for(txs))
        cbtx = Tx(Reader(cb))
        root = merkle([cbtx.txid] + [t.txid for t in txs])
        t = max(int(time.time()), self.mtp(prev) + 1)
        target = bits_target(BITS)
        for nonce in range(1 << 32):
            hdr = struct.pack("<I", 0x20000000) + prev + root + \
                struct.pack("<III", t, BITS, nonce)
            if int.from_bytes(self.pow_hash(hdr, prev, height), "little") \
                    <= target:
                break
        blk = Block(hdr + compact(1 + len(txs)) + cb +
                    b"".join(t.raw for t in txs))
        self.store(blk, height)
        return blk.hash

    def subsidy(self, height):
        halvings = height // HALVING
        return 0 if halvings >= 64 else SUBSIDY >> halvings

    def template(self):
        tip = self.tip()
        height = self.height() + 1
        txs = list(self.mempool)
        fees = sum(t.fee for t in txs)
        mintime = self.mtp(tip) + 1
        return {
            "capabilities": ["proposal"],
            "version": 0x20000000,
            "rules": ["csv", "!segwit", "taproot"],
            "vbavailable": {},
            "vbrequired": 0,
            "previousblockhash": disp(tip),
            "transactions": [{
                "data": t.raw.hex(), "txid": disp(t.txid),
                "hash": disp(t.wtxid), "depends": [], "fee": t.fee,
                "sigops": 0, "weight": 4 * len(t.raw)} for t in txs],
            "coinbaseaux": {},
            "coinbasevalue": self.subsidy(height) + fees,
            "longpollid": disp(tip) + str(self.mempool_rev),
            "target": "%064x" % bits_target(BITS),
            "mintime": mintime,
            "mutable": ["time", "transactions", "prevblock"],
            "noncerange": "00000000ffffffff",
            "sigoplimit": 80000,
            "sizelimit": 4000000,
            "weightlimit": 4000000,
            "curtime": max(int(time.time()), mintime),
            "bits": "%08x" % BITS,
            "height": height,
            "default_witness_commitment": self.commitment_for(txs).hex(),
        }

    # --- submitblock: the checks, in Bitcoin Core's order ---------------
    def check_block(self, blk):
        prev = self.blocks.get(blk.prev)
        if prev is None:
            return "prev-blk-not-found"
        height = prev["height"] + 1
        if int.from_bytes(self.pow_hash(blk.header, blk.prev, height),
                          "little") > bits_target(blk.bits):
            return "high-hash"
        if blk.bits != BITS:
            return "bad-diffbits"
        if blk.time <= self.mtp(blk.prev):
            return "time-too-old"
        if blk.time > time.time() + MAX_FUTURE:
            return "time-too-new"
        if blk.version < 4:
            return "bad-version(0x%08x)" % blk.version
        txids = [t.txid for t in blk.txs]
        if merkle(txids) != blk.merkle_root:
            return "bad-txnmrklroot"
        if len(set(txids)) != len(txids):
            return "bad-txns-duplicate"
        cb = blk.txs[0]
        if not cb.is_coinbase():
            return "bad-cb-missing"
        if any(t.is_coinbase() for t in blk.txs[1:]):
            return "bad-cb-multiple"
        if not 2 <= len(cb.vin[0][1]) <= 100:
            return "bad-cb-length"
        expect = script_num(height)
        if cb.vin[0][1][:len(expect)] != expect:
            return "bad-cb-height"
        # Witness commitment: the last output that looks like one.
        commit = None
        for value, script in cb.vout:
            if len(script) >= 38 and script[:6] == COMMIT_PREFIX:
                commit = script
        if commit is not None:
            wit = cb.witness[0] if cb.witness else []
            if len(wit) != 1 or len(wit[0]) != 32:
                return "bad-witness-nonce-size"
            root = merkle([b"\0" * 32] + [t.wtxid for t in blk.txs[1:]])
            if sha256d(root + wit[0]) != commit[6:38]:
                return "bad-witness-merkle-match"
        elif any(t.witness for t in blk.txs):
            return "unexpected-witness"
        # Fees are known for fake_addtx's transactions; others pay none.
        fees = self.fees
        paid = sum(v for v, _ in cb.vout)
        allowed = self.subsidy(height) + sum(fees.get(t.txid, 0)
                                             for t in blk.txs[1:])
        if paid > allowed:
            return "bad-cb-amount"
        return None

    def submit(self, hexdata):
        try:
            blk = Block(bytes.fromhex(hexdata))
        except (ValueError, KeyError, struct.error):
            raise RPCError(-22, "Block decode failed")
        if not blk.txs[0].is_coinbase():
            raise RPCError(-22, "Block does not start with a coinbase")
        with self.cv:
            if blk.hash in self.blocks:
                verdict = "duplicate" if self.in_best(blk.hash) else \
                    "duplicate-inconclusive"
            else:
                verdict = self.check_block(blk)
                if verdict is None:
                    height = self.blocks[blk.prev]["height"] + 1
                    self.store(blk, height)
                    if height > self.height():
                        self.set_best(blk.hash)
                    else:
                        verdict = "inconclusive"   # valid, side branch
                        self.save()
            self.submitted.append({
                "hash": disp(blk.hash),
                "height": (self.blocks[blk.prev]["height"] + 1
                           if blk.prev in self.blocks else None),
                "result": verdict, "time": time.time()})
        return verdict

    # --- RPC methods ---------------------------------------------------
    def header_json(self, h):
        e = self.blocks[h]
        blk, height = e["block"], e["height"]
        best = self.in_best(h)
        r = {
            "hash": disp(h),
            "confirmations": self.height() - height + 1 if best else -1,
            "height": height, "version": blk.version,
            "versionHex": "%08x" % blk.version,
            "merkleroot": disp(blk.merkle_root), "time": blk.time,
            "mediantime": self.mtp(h), "nonce": blk.nonce,
            "bits": "%08x" % blk.bits,
            "difficulty": bits_target(0x207FFFFF) / bits_target(blk.bits),
            "chainwork": "%064x" % (2 * (height + 1)), "nTx": len(blk.txs),
        }
        if height > 0:
            r["previousblockhash"] = disp(blk.prev)
        if best and height < self.height():
            r["nextblockhash"] = disp(self.chain[height + 1])
        return r

    def block_hash_param(self, params, i=0):
        try:
            h = undisp(params[i])
        except (IndexError, ValueError, TypeError):
            raise RPCError(-8, "blockhash must be of length 64")
        if h not in self.blocks:
            raise RPCError(-5, "Block not found")
        return h

    def call(self, method, params):
        if method.startswith("fake_"):
            fn = getattr(self, "rpc_" + method, None)
            if fn is None:
                raise RPCError(-32601, "Method not found")
            return fn(params)
        if self.delay > 0:
            time.sleep(self.delay)
        if self.warmup:
            raise RPCError(-28, "Loading block index…")
        fn = getattr(self, "rpc_" + method, None)
        if fn is None:
            raise RPCError(-32601, "Method not found")
        return fn(params)

    def rpc_getblocktemplate(self, params):
        req = params[0] if params else {}
        if not isinstance(req, dict):
            raise RPCError(-3, "JSON value is not an object as expected")
        if req.get("mode", "template") != "template":
            raise RPCError(-8, "Invalid mode")
        if "segwit" not in (req.get("rules") or []):
            raise RPCError(-8, 'getblocktemplate must be called with the '
                           'segwit rule set (call with {"rules": ["segwit"]})')
        if self.ibd:
            raise RPCError(-10, "OpenSY is in initial sync and waiting for "
                           "blocks...")
        lp = req.get("longpollid")
        with self.cv:
            if isinstance(lp, str):
                deadline = time.time() + self.args.longpoll_timeout
                while lp[:64] == disp(self.tip()) and \
                        time.time() < deadline and not self.ibd:
                    if self.args.longpoll_mempool and \
                            lp[64:] != str(self.mempool_rev):
                        break
                    self.cv.wait(min(1.0, max(0.01, deadline - time.time())))
                if self.ibd:
                    raise RPCError(-10, "OpenSY is in initial sync and "
                                   "waiting for blocks...")
            return self.template()

    def rpc_submitblock(self, params):
        if not params or not isinstance(params[0], str):
            raise RPCError(-1, "submitblock \"hexdata\"")
        return self.submit(params[0])

    def rpc_getblockhash(self, params):
        with self.cv:
            try:
                h = int(params[0])
            except (IndexError, ValueError, TypeError):
                raise RPCError(-3, "height must be a number")
            if not 0 <= h <= self.height():
                raise RPCError(-8, "Block height out of range")
            return disp(self.chain[h])

    def rpc_getblockheader(self, params):
        with self.cv:
            h = self.block_hash_param(params)
            if len(params) > 1 and params[1] is False:
                return self.blocks[h]["block"].header.hex()
            return self.header_json(h)

    def rpc_getblock(self, params):
        with self.cv:
            h = self.block_hash_param(params)
            verbosity = params[1] if len(params) > 1 else 1
            blk = self.blocks[h]["block"]
            if verbosity in (0, False):
                return blk.raw.hex()
            r = self.header_json(h)
            r["tx"] = [disp(t.txid) for t in blk.txs]
            return r

    def rpc_getbestblockhash(self, params):
        with self.cv:
            return disp(self.tip())

    def rpc_getblockcount(self, params):
        with self.cv:
            return self.height()

    def rpc_getblockchaininfo(self, params):
        with self.cv:
            tip = self.blocks[self.tip()]["block"]
            return {
                "chain": self.args.chain, "blocks": self.height(),
                "headers": self.height(), "bestblockhash": disp(self.tip()),
                "difficulty": 1.0, "time": tip.time,
                "mediantime": self.mtp(self.tip()),
                "verificationprogress": 0.5 if self.ibd else 1.0,
                "initialblockdownload": self.ibd or
                tip.time < time.time() - 24 * 3600,
                "chainwork": "%064x" % (2 * len(self.chain)),
                "size_on_disk": 0, "pruned": False, "warnings": "",
            }

    def rpc_getnetworkinfo(self, params):
        return {"version": 290000, "subversion": "/fakenode:0.1/",
                "connections": 1, "connections_in": 0, "connections_out": 1,
                "networkactive": True, "warnings": ""}

    def rpc_getconnectioncount(self, params):
        return 1

    def rpc_getmininginfo(self, params):
        with self.cv:
            return {"blocks": self.height(), "difficulty": 1.0,
                    "pooledtx": len(self.mempool), "chain": "regtest",
                    "warnings": ""}

    # --- control -------------------------------------------------------
    def rpc_fake_mine(self, params):
        """[n=1, script_hex="51"]: another miner finds n blocks on the tip
        (with the mempool's transactions in the first)."""
        n = int(params[0]) if params else 1
        script = bytes.fromhex(params[1]) if len(params) > 1 else b"\x51"
        out = []
        with self.cv:
            for i in range(n):
                h = self.mine_on(self.tip(), script,
                                 self.mempool if i == 0 else ())
                self.set_best(h)
                out.append(disp(h))
        return out

    def rpc_fake_reorg(self, params):
        """[depth, extra=1]: drops the last depth blocks from the best
        chain and makes a branch of depth+extra blocks from the fork point
        the best chain.  Returns the old tip, the new tip, the orphans."""
        depth = int(params[0]) if params else 1
        extra = int(params[1]) if len(params) > 1 else 1
        with self.cv:
            if not 1 <= depth <= self.height() or extra < 1:
                raise RPCError(-8, "bad depth")
            old = self.chain[-depth:]
            h = self.chain[-depth - 1]
            for _ in range(depth + extra):
                h = self.mine_on(h, b"\x52")
            oldtip = self.tip()
            self.set_best(h)
            return {"old_tip": disp(oldtip), "new_tip": disp(h),
                    "orphaned": [disp(x) for x in old],
                    "height": self.height()}

    def rpc_fake_addtx(self, params):
        """[fee, witness=false, count=1]: mempool transactions paying fee
        each; returns their txids."""
        fee = int(params[0]) if params else 1000
        witness = bool(params[1]) if len(params) > 1 else False
        count = int(params[2]) if len(params) > 2 else 1
        out = []
        with self.cv:
            for _ in range(count):
                raw = struct.pack("<I", 2)
                if witness:
                    raw += b"\x00\x01"
                raw += compact(1) + secrets.token_bytes(32) + \
                    struct.pack("<I", 0) + b"\x00" + b"\xfe\xff\xff\xff"
                raw += compact(1) + struct.pack("<q", 1000) + b"\x01\x51"
                if witness:
                    raw += b"\x01\x20" + secrets.token_bytes(32)
                raw += b"\0" * 4
                tx = Tx(Reader(raw))
                tx.fee = fee
                self.fees[tx.txid] = fee
                self.mempool.append(tx)
                out.append(disp(tx.txid))
            self.mempool_rev += 1
            self.cv.notify_all()
        return out

    def rpc_fake_clearmempool(self, params):
        with self.cv:
            self.mempool = []
            self.mempool_rev += 1
            self.cv.notify_all()
        return None

    def rpc_fake_warmup(self, params):
        self.warmup = bool(params[0]) if params else True
        return self.warmup

    def rpc_fake_ibd(self, params):
        with self.cv:
            self.ibd = bool(params[0]) if params else True
            self.cv.notify_all()
        return self.ibd

    def rpc_fake_delay(self, params):
        """[seconds]: every later answer (but fake_*) waits this long."""
        self.delay = float(params[0]) if params else 0.0
        return self.delay

    def rpc_fake_mempool(self, params):
        with self.cv:
            return [{"txid": disp(t.txid), "fee": t.fee}
                    for t in self.mempool]

    def rpc_fake_submitted(self, params):
        with self.cv:
            return list(self.submitted)

    def rpc_stop(self, params):
        threading.Thread(target=self.server.shutdown, daemon=True).start()
        return "OpenSY stopping"

    def rpc_fake_stop(self, params):
        threading.Thread(target=self.server.shutdown, daemon=True).start()
        return "stopping"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive

    def log_message(self, fmt, *args):
        if self.server.node.args.verbose:
            sys.stderr.write("fakenode: " + (fmt % args) + "\n")

    def authorized(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return False
        try:
            got = base64.b64decode(h[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(got.encode(), self.server.auth.encode())

    def reply(self, code, body, extra=()):
        data = json.dumps(body).encode() + b"\n" if body is not None else b""
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(405, None)

    def one(self, req):
        node = self.server.node
        v2 = isinstance(req, dict) and req.get("jsonrpc") == "2.0"
        rid = req.get("id") if isinstance(req, dict) else None
        try:
            if not isinstance(req, dict) or \
                    not isinstance(req.get("method"), str):
                raise RPCError(-32600, "Invalid Request object")
            params = req.get("params") or []
            if isinstance(params, dict):
                params = [params]
            result, err = node.call(req["method"], params), None
        except RPCError as e:
            result, err = None, {"code": e.code, "message": e.message}
        except Exception as e:      # a bug here is an answer, not a crash
            result, err = None, {"code": -1, "message": "fakenode: %r" % e}
        if v2:
            r = {"jsonrpc": "2.0", "id": rid}
            r["error" if err else "result"] = err if err else result
        else:
            r = {"result": result, "error": err, "id": rid}
        return r, err

    def do_POST(self):
        srv = self.server
        srv.touch(+1)
        try:
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            if not self.authorized():
                self.reply(401, None, [("WWW-Authenticate",
                                        'Basic realm="jsonrpc"')])
                return
            try:
                req = json.loads(body)
            except ValueError:
                self.reply(500, {"result": None, "id": None, "error": {
                    "code": -32700, "message": "Parse error"}})
                return
            if isinstance(req, list):
                self.reply(200, [self.one(r)[0] for r in req])
                return
            r, err = self.one(req)
            code = 200
            if err and not (isinstance(req, dict) and
                            req.get("jsonrpc") == "2.0"):
                code = 404 if err["code"] == -32601 else 500
            self.reply(code, r)
        finally:
            srv.touch(-1)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, node, auth):
        super().__init__(addr, Handler)
        self.node, self.auth = node, auth
        self.busy = 0
        self.last = time.time()
        self.lock = threading.Lock()

    def touch(self, d):
        with self.lock:
            self.busy += d
            self.last = time.time()


# --- for the tests that use this node ------------------------------------

def start(*args, log=None):
    """Starts this script as a node with args; returns (Popen, port).  The
    caller kills the process (or calls fake_stop) when done."""
    err = open(log, "a") if log else subprocess.DEVNULL
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__)] +
                         [str(a) for a in args], stdout=subprocess.PIPE,
                         stderr=err, text=True)
    if log:
        err.close()
    line = p.stdout.readline()      # the port, printed once listening
    if not line.strip().isdigit():
        p.kill()
        p.wait()
        raise RuntimeError("fakenode did not start (%r); see %s" %
                           (line, log))
    return p, int(line)


class Client:
    """A keep-alive JSON-RPC client: client("method", *params) returns the
    result or raises RuntimeError with the error; call() returns the whole
    answer; raw() the HTTP status and the parsed body."""

    def __init__(self, port, auth, timeout=60):
        self.conn = http.client.HTTPConnection("127.0.0.1", port,
                                               timeout=timeout)
        self.auth = "Basic " + base64.b64encode(auth.encode()).decode()
        self.id = 0

    def raw(self, body, auth=None):
        self.conn.request("POST", "/", body=json.dumps(body), headers={
            "Authorization": auth or self.auth,
            "Content-Type": "application/json"})
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)

    def call(self, method, *params):
        self.id += 1
        return self.raw({"method": method, "params": list(params),
                         "id": self.id})[1]

    def __call__(self, method, *params):
        r = self.call(method, *params)
        if r.get("error"):
            raise RuntimeError("%s: %s" % (method, r["error"]))
        return r["result"]

    def close(self):
        self.conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--datadir", help="writes .cookie here, keeps the chain")
    ap.add_argument("--rpcuser")
    ap.add_argument("--rpcpassword")
    ap.add_argument("--idle-timeout", type=float, default=120,
                    help="exit after this many seconds without a request")
    ap.add_argument("--longpoll-timeout", type=float, default=30,
                    help="a long-poll returns the same template after this")
    ap.add_argument("--longpoll-mempool", action="store_true",
                    help="a mempool change also ends a long-poll")
    ap.add_argument("--blocks", type=int, default=0,
                    help="blocks another miner finds at start")
    ap.add_argument("--chain", default="regtest",
                    help="the chain getblockchaininfo reports (the blocks "
                    "stay regtest's)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    if args.rpcuser and args.rpcpassword:
        auth = "%s:%s" % (args.rpcuser, args.rpcpassword)
    elif args.datadir:
        auth = "__cookie__:" + secrets.token_hex(32)
    else:
        ap.error("give --datadir (cookie) or --rpcuser and --rpcpassword")
    cookie = None
    if args.datadir:
        os.makedirs(args.datadir, exist_ok=True)
    node = Node(args)
    if args.blocks > node.height():
        node.rpc_fake_mine([args.blocks - node.height()])
    srv = Server(("127.0.0.1", args.port), node, auth)
    node.server = srv
    if args.datadir and not (args.rpcuser and args.rpcpassword):
        cookie = os.path.join(args.datadir, ".cookie")
        tmp = cookie + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(auth)
        os.replace(tmp, cookie)

    def idle_watch():
        while True:
            time.sleep(0.5)
            with srv.lock:
                idle = srv.busy == 0 and \
                    time.time() - srv.last > args.idle_timeout
            if idle:
                sys.stderr.write("fakenode: idle for %gs, stopping\n" %
                                 args.idle_timeout)
                srv.shutdown()
                return

    threading.Thread(target=idle_watch, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(
        target=srv.shutdown, daemon=True).start())
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
        if cookie and os.path.exists(cookie):
            os.unlink(cookie)


if __name__ == "__main__":
    main()
