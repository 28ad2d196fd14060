/*
 * opensy.h: building OpenSY blocks from a node's getblocktemplate answer,
 * for solo mining on the cooperative's own node (issue 14).  Pure
 * functions, no I/O: the coordinator's node backend parses a template once,
 * builds one coinbase per worker extranonce, and serializes the block that
 * submitblock takes.  Checked byte for byte against a real node's vectors
 * (tests/data/opensy-regtest.json, tests/unit/test_opensy.c).
 *
 * Byte orders: every 32-byte hash here (previousblockhash, txid, wtxid,
 * merkle root, RandomX key) is in INTERNAL order, i.e. the display hex the
 * node prints, reversed.  Targets are 256-bit little-endian numbers.
 */
#ifndef COOPMINE_OPENSY_H
#define COOPMINE_OPENSY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define OPENSY_HASH_SIZE 32
#define OPENSY_HEADER_SIZE 80
#define OPENSY_EXTRANONCE_SIZE 8
#define OPENSY_TAG_MAX 20      /* bytes of coinbase tag in the scriptSig */
#define OPENSY_SCRIPT_MAX 128  /* payout scriptPubKey / commitment */
#define OPENSY_KEY_INTERVAL 32 /* RandomX key changes every 32 blocks */
/* Largest coinbase opensy_coinbase() writes (with witness): a generous
 * bound callers can size buffers with. */
#define OPENSY_COINBASE_MAX 512
/* Largest money amount in satoshis (21e6 * 1e8, Bitcoin's MAX_MONEY). */
#define OPENSY_MAX_MONEY 2100000000000000LL

/* Double SHA-256 of len bytes. */
void opensy_sha256d(const void *data, size_t len, uint8_t out[32]);

/* Height of the block whose hash keys RandomX for a block at height h:
 * max(0, floor(h/32)*32 - 32).  Heights 0..63 -> 0, 64..95 -> 32, ... */
int64_t opensy_key_height(int64_t h);
/* Blocks from height h to the next height whose key differs from h's
 * (heights 0..63 share one key, then every 32): 63 -> 1, 64 -> 32. */
int64_t opensy_blocks_to_key_change(int64_t h);

/* Compact nBits -> 256-bit little-endian target.  -1 on a negative,
 * zero or overflowing encoding, 0 otherwise. */
int opensy_bits_to_target(uint32_t bits, uint8_t target[32]);
/* 1 when hash, read as a 256-bit little-endian number, is <= target. */
int opensy_hash_meets(const uint8_t hash[32], const uint8_t target[32]);

/* One transaction of a template, other than the coinbase. */
struct opensy_tx {
	uint8_t *data; /* serialized transaction (owned) */
	size_t len;
	uint8_t txid[32];  /* internal order */
	uint8_t wtxid[32]; /* "hash" in the template; internal */
	int64_t fee;       /* satoshis; -1 when the node gave none */
};

/* A parsed getblocktemplate result.  Every field is filled by
 * opensy_template_parse() and freed by opensy_template_free(). */
struct opensy_template {
	uint32_t version;
	uint8_t prev_hash[32]; /* previousblockhash, internal order */
	uint32_t bits;
	uint8_t target[32]; /* 256-bit LE, from bits (checked
	                     * against "target" when present) */
	int64_t height;
	uint32_t curtime;
	uint32_t mintime;      /* 0 when absent */
	int64_t coinbasevalue; /* satoshis, 0..OPENSY_MAX_MONEY */
	uint8_t witness_commitment[OPENSY_SCRIPT_MAX];
	size_t witness_commitment_len; /* 0: no default_witness_commitment */
	char *longpollid;              /* owned; NULL when absent */
	struct opensy_tx *txs;         /* owned array of ntx */
	size_t ntx;
	int64_t total_fees; /* sum of the known fees */
	/* The coinbase's merkle branch: the siblings met on the way from
	 * leaf 0 to the root, so a coinbase txid gives the root in
	 * nbranch hashes (nbranch = ceil(log2(ntx + 1))). */
	uint8_t (*branch)[32]; /* owned array of nbranch */
	size_t nbranch;
};

/* Parses the "result" object of getblocktemplate into *t (zeroed first).
 * Returns 0, or -1 with a message in err ("previousblockhash: expected 64
 * hex digits", "coinbasevalue: out of range", "transactions[3].txid:
 * missing", ...) and *t left empty (safe to free). */
int opensy_template_parse(const json_t *result, struct opensy_template *t,
                          char *err, size_t errlen);
/* The same from JSON text (the result object itself, not the RPC reply). */
int opensy_template_parse_text(const char *json, struct opensy_template *t,
                               char *err, size_t errlen);
void opensy_template_free(struct opensy_template *t);

/* Serializes the coinbase transaction into out[cap]:
 *   version 2; one input (null prevout, index 0xffffffff) whose scriptSig
 *   is: BIP34 height push (minimal CScriptNum, as Bitcoin's
 *   `CScript() << nHeight`) | push of the 8 extranonce bytes | push of the
 *   tag (omitted when tag is NULL or empty; at most OPENSY_TAG_MAX bytes);
 *   sequence 0xffffffff;
 *   output 0: t->coinbasevalue to payout_script;
 *   output 1: 0 satoshis to the default_witness_commitment (when any);
 *   lock time 0.
 * with_witness: segwit serialization (marker, flag, and one witness item of
 * 32 zero bytes, the reserved value); without it: the form whose double
 * SHA-256 is the txid.
 * Returns the length written, or -1 when out is too small, the tag too
 * long or the payout script empty / longer than OPENSY_SCRIPT_MAX. */
int opensy_coinbase(const struct opensy_template *t,
                    const uint8_t *payout_script, size_t payout_len,
                    const uint8_t extranonce[OPENSY_EXTRANONCE_SIZE],
                    const char *tag, int with_witness, uint8_t *out,
                    size_t cap);

/* txid (internal order) of a coinbase serialized WITHOUT witness. */
void opensy_txid(const uint8_t *tx, size_t len, uint8_t txid[32]);

/* Merkle root (internal order) of coinbase + template transactions, from
 * the precomputed branch: t->nbranch hashes. */
void opensy_merkle_root(const struct opensy_template *t,
                        const uint8_t coinbase_txid[32], uint8_t root[32]);

/* The 80-byte header: version | prev_hash | root | time | bits | nonce,
 * integers little-endian (nonce at offset 76). */
void opensy_header(const struct opensy_template *t, const uint8_t root[32],
                   uint32_t time, uint32_t nonce,
                   uint8_t out[OPENSY_HEADER_SIZE]);
/* Rewrites the nonce of a header (offset 76, little-endian). */
void opensy_header_set_nonce(uint8_t header[OPENSY_HEADER_SIZE],
                             uint32_t nonce);

/* Bytes opensy_block() needs for this template and a coinbase of cb_len. */
size_t opensy_block_size(const struct opensy_template *t, size_t cb_len);
/* The full block for submitblock: header | compact-size tx count |
 * coinbase (pass the WITH-witness serialization) | template transactions.
 * Returns the length written or -1 when cap is too small. */
int opensy_block(const struct opensy_template *t,
                 const uint8_t header[OPENSY_HEADER_SIZE],
                 const uint8_t *coinbase, size_t cb_len, uint8_t *out,
                 size_t cap);
/* The same, as a malloc'd lowercase hex string (NULL on allocation
 * failure); the caller frees it. */
char *opensy_block_hex(const struct opensy_template *t,
                       const uint8_t header[OPENSY_HEADER_SIZE],
                       const uint8_t *coinbase, size_t cb_len);

/* Display-order hex of an internal-order hash (reversed), 65 bytes out. */
void opensy_hash_to_display(const uint8_t hash[32], char out[65]);
/* Internal-order hash from display hex (64 digits).  0 or -1. */
int opensy_hash_from_display(const char *hex, uint8_t hash[32]);

/* Networks for payout addresses. */
enum opensy_net { OPENSY_MAIN = 0, OPENSY_TEST, OPENSY_REGTEST };

/* "main"/"mainnet", "test"/"testnet"/"testnet3"/"testnet4"/"signet"
 * (one address format), "regtest" -> net; -1 when unknown.  Takes the
 * "chain" of getblockchaininfo as it is. */
int opensy_net_parse(const char *s, enum opensy_net *net);
const char *opensy_net_name(enum opensy_net net);

/* Payout address -> scriptPubKey in script[OPENSY_SCRIPT_MAX], *len its
 * length.  Accepts base58check P2PKH and P2SH, bech32 (witness v0, 20 or
 * 32-byte program) and bech32m (v1..16, 2..40 bytes) for net, and for
 * tests a raw "script:HEX" (e.g. "script:51", OP_TRUE).  Returns 0, or -1
 * with a message saying which check failed ("bad checksum", "address is
 * for testnet, not main", "bad length", ...). */
int opensy_address_script(const char *addr, enum opensy_net net,
                          uint8_t script[OPENSY_SCRIPT_MAX], size_t *len,
                          char *err, size_t errlen);

/* Bech32 (BIP173) and bech32m (BIP350), for the address code above and its
 * tests.  Decodes s into its lowercase human-readable part (hrp[hrpcap])
 * and its 5-bit values without the checksum (values[cap], *nvalues).
 * Returns OPENSY_BECH32 or OPENSY_BECH32M, or -1 with a message (mixed
 * case, bad character, bad checksum, too long, ...). */
enum { OPENSY_BECH32 = 1, OPENSY_BECH32M = 2 };
int opensy_bech32_decode(const char *s, char *hrp, size_t hrpcap,
                         uint8_t *values, size_t *nvalues, size_t cap,
                         char *err, size_t errlen);
/* The segwit address of a witness program on net (bech32 for version 0,
 * bech32m above), lowercase, in out[cap].  0, or -1 on a bad version or
 * length or when out is too small (91 bytes always suffice). */
int opensy_segwit_address(enum opensy_net net, int version,
                          const uint8_t *program, size_t len, char *out,
                          size_t cap);

#endif
