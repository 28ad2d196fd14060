/*
 * opensy.c: OpenSY block building for solo mining: getblocktemplate
 * parsing, coinbase, merkle root, header, full block, payout addresses.
 * Called by the coordinator's node backend and by the tests; no I/O.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/hex.h"
#include "common/opensy.h"
#include "common/target.h"

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* SHA256() looks the algorithm up (under a global lock) at every call, a
 * cost larger than the hash itself for the 64-byte merkle steps; fetch it
 * once. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
opensy_sha256d(const void *data, size_t len, uint8_t out[32])
{
	uint8_t once[SHA256_DIGEST_LENGTH];

	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md == NULL ||
	    EVP_Digest(data, len, once, NULL, sha256_md, NULL) != 1 ||
	    EVP_Digest(once, sizeof(once), out, NULL, sha256_md, NULL) != 1) {
		SHA256(data, len, once);
		SHA256(once, sizeof(once), out);
	}
}

int64_t
opensy_key_height(int64_t h)
{
	int64_t k;

	if (h < 0)
		return 0;
	k = h / OPENSY_KEY_INTERVAL * OPENSY_KEY_INTERVAL - OPENSY_KEY_INTERVAL;
	return k > 0 ? k : 0;
}

int64_t
opensy_blocks_to_key_change(int64_t h)
{
	int64_t next;

	if (h < 0)
		h = 0;
	next = (h / OPENSY_KEY_INTERVAL + 1) * OPENSY_KEY_INTERVAL;
	if (next < 2 * OPENSY_KEY_INTERVAL)
		next = 2 * OPENSY_KEY_INTERVAL;
	return next - h;
}

int
opensy_bits_to_target(uint32_t bits, uint8_t target[32])
{
	static const uint8_t zero[32];

	if (nbits_to_target256(bits, target) != 0)
		return -1;
	return memcmp(target, zero, 32) == 0 ? -1 : 0;
}

int
opensy_hash_meets(const uint8_t hash[32], const uint8_t target[32])
{
	return hash_meets_target256(hash, target);
}

void
opensy_hash_to_display(const uint8_t hash[32], char out[65])
{
	uint8_t rev[32];

	for (int i = 0; i < 32; i++)
		rev[i] = hash[31 - i];
	hex_encode(rev, 32, out, 65);
}

int
opensy_hash_from_display(const char *hex, uint8_t hash[32])
{
	uint8_t tmp[32];

	if (hex == NULL || strlen(hex) != 64 || hex_decode_exact(hex, tmp, 32))
		return -1;
	for (int i = 0; i < 32; i++)
		hash[i] = tmp[31 - i];
	return 0;
}

void
opensy_txid(const uint8_t *tx, size_t len, uint8_t txid[32])
{
	opensy_sha256d(tx, len, txid);
}

/* --- serialization helpers ------------------------------------------- */

/* A bounded writer: once it overflows, it stops writing and remembers. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static void
w_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = 1;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void
w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void
w_le32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];

	le32_write(b, v);
	w_bytes(w, b, 4);
}

static void
w_le64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];

	le64_write(b, v);
	w_bytes(w, b, 8);
}

static size_t
compact_size_len(uint64_t n)
{
	return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffffu ? 5 : 9;
}

static void
w_compact(struct wbuf *w, uint64_t n)
{
	if (n < 0xfd) {
		w_u8(w, (uint8_t)n);
	} else if (n <= 0xffff) {
		w_u8(w, 0xfd);
		w_u8(w, (uint8_t)n);
		w_u8(w, (uint8_t)(n >> 8));
	} else if (n <= 0xffffffffu) {
		w_u8(w, 0xfe);
		w_le32(w, (uint32_t)n);
	} else {
		w_u8(w, 0xff);
		w_le64(w, n);
	}
}

/* A bounded reader for transaction data from the node. */
struct rbuf {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static const uint8_t *
r_take(struct rbuf *r, size_t n)
{
	const uint8_t *at;

	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

static uint64_t
r_compact(struct rbuf *r)
{
	const uint8_t *b = r_take(r, 1);
	uint64_t v = 0;
	int n;

	if (b == NULL)
		return 0;
	n = b[0] == 0xfd ? 2 : b[0] == 0xfe ? 4 : b[0] == 0xff ? 8 : 0;
	if (n == 0)
		return b[0];
	if ((b = r_take(r, (size_t)n)) == NULL)
		return 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* Skips count items of (compact length + bytes), or fixed-size prefixes
 * before each when fixed > 0 (inputs: 36 + script + 4). */
static void
r_skip_scripts(struct rbuf *r, uint64_t count, size_t before, size_t after)
{
	for (uint64_t i = 0; i < count && !r->bad; i++) {
		r_take(r, before);
		r_take(r, (size_t)r_compact(r));
		r_take(r, after);
	}
}

/* The txid of a serialized transaction (with or without witness): the
 * double SHA-256 of its serialization without the witness.  -1 when the
 * bytes are not exactly one transaction. */
static int
tx_compute_txid(const uint8_t *tx, size_t len, uint8_t txid[32])
{
	struct rbuf r = {tx, len, 0, 0};
	uint64_t nin, nout;
	size_t io_start, io_end;
	int segwit = 0;

	r_take(&r, 4);
	if (len >= 6 && tx[4] == 0x00 && tx[5] == 0x01) {
		segwit = 1;
		r_take(&r, 2);
	}
	io_start = r.off;
	nin = r_compact(&r);
	if (nin > len)
		return -1;
	r_skip_scripts(&r, nin, 36, 4);
	nout = r_compact(&r);
	if (nout > len)
		return -1;
	r_skip_scripts(&r, nout, 8, 0);
	io_end = r.off;
	if (segwit) {
		for (uint64_t i = 0; i < nin && !r.bad; i++) {
			uint64_t items = r_compact(&r);
			if (items > len)
				return -1;
			r_skip_scripts(&r, items, 0, 0);
		}
	}
	r_take(&r, 4);
	if (r.bad || r.off != len)
		return -1;
	if (!segwit) {
		opensy_sha256d(tx, len, txid);
		return 0;
	}
	/* The witness-free form: version | inputs, outputs | lock time. */
	{
		size_t n = 4 + (io_end - io_start) + 4;
		uint8_t *buf = malloc(n);

		if (buf == NULL)
			return -1;
		memcpy(buf, tx, 4);
		memcpy(buf + 4, tx + io_start, io_end - io_start);
		memcpy(buf + n - 4, tx + len - 4, 4);
		opensy_sha256d(buf, n, txid);
		free(buf);
	}
	return 0;
}

/* --- template -------------------------------------------------------- */

void
opensy_template_free(struct opensy_template *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ntx; i++)
		free(t->txs[i].data);
	free(t->txs);
	free(t->branch);
	free(t->longpollid);
	memset(t, 0, sizeof(*t));
}

static int
get_int(const json_t *o, const char *name, int required, int64_t min,
        int64_t max, int64_t *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, name);

	if (v == NULL || json_is_null(v)) {
		if (required)
			seterr(err, errlen, "%s: missing", name);
		return required ? -1 : 1;
	}
	if (!json_is_integer(v)) {
		seterr(err, errlen, "%s: expected an integer", name);
		return -1;
	}
	*out = json_integer_value(v);
	if (*out < min || *out > max) {
		seterr(err, errlen,
		       "%s: %" PRId64 " out of range (%" PRId64 "..%" PRId64
		       ")",
		       name, *out, min, max);
		return -1;
	}
	return 0;
}

static const char *
get_str(const json_t *o, const char *name, int required, char *err,
        size_t errlen)
{
	const json_t *v = json_object_get(o, name);

	if (v == NULL || json_is_null(v)) {
		if (required)
			seterr(err, errlen, "%s: missing", name);
		return NULL;
	}
	if (!json_is_string(v)) {
		seterr(err, errlen, "%s: expected a string", name);
		return NULL;
	}
	return json_string_value(v);
}

/* The coinbase's merkle branch (see opensy.h): level 0 is the coinbase
 * (unknown) followed by the txids; at each level the coinbase's sibling is
 * element 1, and the rest pair up as usual (an odd level repeats its last
 * element). */
static int
build_branch(struct opensy_template *t)
{
	size_t n = t->ntx + 1, nb = 0;
	uint8_t(*level)[32];

	for (size_t m = n; m > 1; m = (m + 1) / 2)
		nb++;
	t->nbranch = nb;
	if (nb == 0)
		return 0;
	if ((t->branch = calloc(nb, 32)) == NULL)
		return -1;
	if ((level = calloc(n + 1, 32)) == NULL)
		return -1;
	for (size_t i = 0; i < t->ntx; i++)
		memcpy(level[i + 1], t->txs[i].txid, 32);
	for (size_t k = 0; n > 1; k++) {
		memcpy(t->branch[k], level[1], 32);
		if (n % 2)
			memcpy(level[n], level[n - 1], 32);
		/* Pairs (2,3), (4,5), ... become 1, 2, ...; 0 stays the
		 * coinbase's own path. */
		for (size_t i = 2; i < n; i += 2) {
			uint8_t pair[64];
			memcpy(pair, level[i], 32);
			memcpy(pair + 32, level[i + 1], 32);
			opensy_sha256d(pair, 64, level[i / 2]);
		}
		n = (n + 1) / 2;
	}
	free(level);
	return 0;
}

static int
parse_tx(const json_t *o, size_t i, struct opensy_tx *tx, char *err,
         size_t errlen)
{
	char field[64], sub[128];
	const char *data, *txid, *hash;
	uint8_t calc[32];
	size_t hexlen, got;
	int64_t fee;
	int r;

	if (!json_is_object(o)) {
		seterr(err, errlen, "transactions[%zu]: expected an object", i);
		return -1;
	}
	snprintf(field, sizeof(field), "transactions[%zu]", i);
	if ((data = get_str(o, "data", 1, sub, sizeof(sub))) == NULL ||
	    (txid = get_str(o, "txid", 1, sub, sizeof(sub))) == NULL ||
	    (hash = get_str(o, "hash", 1, sub, sizeof(sub))) == NULL) {
		seterr(err, errlen, "%s.%s", field, sub);
		return -1;
	}
	hexlen = strlen(data);
	if (hexlen < 2 * 10 || hexlen % 2 || hexlen / 2 > 4000000) {
		seterr(err, errlen, "%s.data: bad length (%zu hex digits)",
		       field, hexlen);
		return -1;
	}
	tx->len = hexlen / 2;
	if ((tx->data = malloc(tx->len)) == NULL) {
		seterr(err, errlen, "%s: out of memory", field);
		return -1;
	}
	if (hex_decode(data, tx->data, tx->len, &got) != 0 || got != tx->len) {
		seterr(err, errlen, "%s.data: not hex", field);
		return -1;
	}
	if (opensy_hash_from_display(txid, tx->txid) != 0) {
		seterr(err, errlen, "%s.txid: expected 64 hex digits", field);
		return -1;
	}
	if (opensy_hash_from_display(hash, tx->wtxid) != 0) {
		seterr(err, errlen, "%s.hash: expected 64 hex digits", field);
		return -1;
	}
	if (tx_compute_txid(tx->data, tx->len, calc) != 0) {
		seterr(err, errlen, "%s.data: not one well-formed transaction",
		       field);
		return -1;
	}
	if (memcmp(calc, tx->txid, 32) != 0) {
		seterr(err, errlen, "%s.txid: does not match its data", field);
		return -1;
	}
	opensy_sha256d(tx->data, tx->len, calc);
	if (memcmp(calc, tx->wtxid, 32) != 0) {
		seterr(err, errlen, "%s.hash: does not match its data", field);
		return -1;
	}
	tx->fee = -1;
	r = get_int(o, "fee", 0, 0, OPENSY_MAX_MONEY, &fee, sub, sizeof(sub));
	if (r < 0) {
		seterr(err, errlen, "%s.%s", field, sub);
		return -1;
	}
	if (r == 0)
		tx->fee = fee;
	return 0;
}

static int
parse_fields(const json_t *o, struct opensy_template *t, char *err,
             size_t errlen)
{
	const char *s;
	const json_t *txs;
	uint8_t b4[4], tgt[32];
	size_t got;
	int64_t v;

	if (!json_is_object(o)) {
		seterr(err, errlen, "template: expected a JSON object");
		return -1;
	}
	if (get_int(o, "version", 1, INT32_MIN, UINT32_MAX, &v, err, errlen) !=
	    0)
		return -1;
	t->version = (uint32_t)v;
	if ((s = get_str(o, "previousblockhash", 1, err, errlen)) == NULL)
		return -1;
	if (opensy_hash_from_display(s, t->prev_hash) != 0) {
		seterr(err, errlen,
		       "previousblockhash: expected 64 hex digits,"
		       " got %zu characters%s",
		       strlen(s),
		       strlen(s) == 64 ? " that are not all hex" : "");
		return -1;
	}
	if ((s = get_str(o, "bits", 1, err, errlen)) == NULL)
		return -1;
	if (strlen(s) != 8 || hex_decode_exact(s, b4, 4) != 0) {
		seterr(err, errlen, "bits: expected 8 hex digits");
		return -1;
	}
	t->bits = (uint32_t)b4[0] << 24 | (uint32_t)b4[1] << 16 |
	          (uint32_t)b4[2] << 8 | b4[3];
	if (opensy_bits_to_target(t->bits, t->target) != 0) {
		seterr(err, errlen, "bits: %08" PRIx32 " is not a valid target",
		       t->bits);
		return -1;
	}
	if ((s = get_str(o, "target", 0, err, errlen)) != NULL) {
		if (opensy_hash_from_display(s, tgt) != 0) {
			seterr(err, errlen, "target: expected 64 hex digits");
			return -1;
		}
		if (memcmp(tgt, t->target, 32) != 0) {
			seterr(err, errlen,
			       "target: does not match bits %08" PRIx32,
			       t->bits);
			return -1;
		}
	} else if (json_object_get(o, "target") != NULL &&
	           !json_is_null(json_object_get(o, "target"))) {
		return -1;
	}
	if (get_int(o, "height", 1, 0, INT32_MAX, &t->height, err, errlen) != 0)
		return -1;
	if (get_int(o, "curtime", 1, 0, UINT32_MAX, &v, err, errlen) != 0)
		return -1;
	t->curtime = (uint32_t)v;
	switch (get_int(o, "mintime", 0, 0, UINT32_MAX, &v, err, errlen)) {
	case 0:
		t->mintime = (uint32_t)v;
		break;
	case 1:
		break;
	default:
		return -1;
	}
	if (get_int(o, "coinbasevalue", 1, 0, OPENSY_MAX_MONEY,
	            &t->coinbasevalue, err, errlen) != 0)
		return -1;
	if ((s = get_str(o, "default_witness_commitment", 0, err, errlen)) !=
	    NULL) {
		if (strlen(s) == 0 ||
		    hex_decode(s, t->witness_commitment,
		               sizeof(t->witness_commitment), &got) != 0) {
			seterr(err, errlen,
			       "default_witness_commitment: expected"
			       " 2..%d hex digits",
			       2 * OPENSY_SCRIPT_MAX);
			return -1;
		}
		t->witness_commitment_len = got;
	} else if (json_object_get(o, "default_witness_commitment") != NULL &&
	           !json_is_null(
	               json_object_get(o, "default_witness_commitment"))) {
		return -1;
	}
	if ((s = get_str(o, "longpollid", 0, err, errlen)) != NULL) {
		if ((t->longpollid = strdup(s)) == NULL) {
			seterr(err, errlen, "longpollid: out of memory");
			return -1;
		}
	} else if (json_object_get(o, "longpollid") != NULL &&
	           !json_is_null(json_object_get(o, "longpollid"))) {
		return -1;
	}
	txs = json_object_get(o, "transactions");
	if (txs == NULL) {
		seterr(err, errlen, "transactions: missing");
		return -1;
	}
	if (!json_is_array(txs)) {
		seterr(err, errlen, "transactions: expected an array");
		return -1;
	}
	if (json_array_size(txs) > 0) {
		t->txs = calloc(json_array_size(txs), sizeof(*t->txs));
		if (t->txs == NULL) {
			seterr(err, errlen, "transactions: out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < json_array_size(txs); i++) {
		t->ntx = i + 1; /* so that _free() frees a partial entry */
		if (parse_tx(json_array_get(txs, i), i, &t->txs[i], err,
		             errlen) != 0)
			return -1;
		if (t->txs[i].fee > 0)
			t->total_fees += t->txs[i].fee;
	}
	if (build_branch(t) != 0) {
		seterr(err, errlen, "merkle branch: out of memory");
		return -1;
	}
	return 0;
}

int
opensy_template_parse(const json_t *result, struct opensy_template *t,
                      char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (parse_fields(result, t, err, errlen) != 0) {
		opensy_template_free(t);
		return -1;
	}
	return 0;
}

int
opensy_template_parse_text(const char *json, struct opensy_template *t,
                           char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o;
	int r;

	memset(t, 0, sizeof(*t));
	if ((o = json_loads(json, 0, &jerr)) == NULL) {
		seterr(err, errlen, "template: not JSON (line %d: %s)",
		       jerr.line, jerr.text);
		return -1;
	}
	r = opensy_template_parse(o, t, err, errlen);
	json_decref(o);
	return r;
}

/* --- coinbase, merkle root, header, block ---------------------------- */

/* Bitcoin's `CScript() << n` for a non-negative height: OP_0, OP_1..OP_16,
 * or a push of the minimal CScriptNum (little-endian, with a 0x00 byte
 * added when the top bit would read as a sign). */
static void
w_height(struct wbuf *w, int64_t h)
{
	uint8_t num[9];
	size_t n = 0;
	uint64_t v = (uint64_t)h;

	if (h == 0) {
		w_u8(w, 0x00);
		return;
	}
	if (h <= 16) {
		w_u8(w, (uint8_t)(0x50 + h));
		return;
	}
	while (v > 0) {
		num[n++] = (uint8_t)v;
		v >>= 8;
	}
	if (num[n - 1] & 0x80)
		num[n++] = 0x00;
	w_u8(w, (uint8_t)n);
	w_bytes(w, num, n);
}

int
opensy_coinbase(const struct opensy_template *t, const uint8_t *payout_script,
                size_t payout_len,
                const uint8_t extranonce[OPENSY_EXTRANONCE_SIZE],
                const char *tag, int with_witness, uint8_t *out, size_t cap)
{
	static const uint8_t null_prevout[36] = {[32] = 0xff, 0xff, 0xff, 0xff};
	static const uint8_t reserved[32];
	uint8_t sig[100];
	struct wbuf ss = {sig, 0, sizeof(sig), 0};
	struct wbuf w = {out, 0, cap, 0};
	size_t taglen = tag != NULL ? strlen(tag) : 0;

	if (taglen > OPENSY_TAG_MAX || payout_script == NULL ||
	    payout_len == 0 || payout_len > OPENSY_SCRIPT_MAX)
		return -1;
	w_height(&ss, t->height);
	w_u8(&ss, OPENSY_EXTRANONCE_SIZE);
	w_bytes(&ss, extranonce, OPENSY_EXTRANONCE_SIZE);
	if (taglen > 0) {
		w_u8(&ss, (uint8_t)taglen);
		w_bytes(&ss, tag, taglen);
	}
	if (ss.overflow)
		return -1;

	w_le32(&w, 2);
	if (with_witness) {
		w_u8(&w, 0x00); /* marker */
		w_u8(&w, 0x01); /* flag */
	}
	w_compact(&w, 1);
	w_bytes(&w, null_prevout, sizeof(null_prevout));
	w_compact(&w, ss.len);
	w_bytes(&w, sig, ss.len);
	w_le32(&w, 0xffffffff);
	w_compact(&w, t->witness_commitment_len > 0 ? 2 : 1);
	w_le64(&w, (uint64_t)t->coinbasevalue);
	w_compact(&w, payout_len);
	w_bytes(&w, payout_script, payout_len);
	if (t->witness_commitment_len > 0) {
		w_le64(&w, 0);
		w_compact(&w, t->witness_commitment_len);
		w_bytes(&w, t->witness_commitment, t->witness_commitment_len);
	}
	if (with_witness) {
		w_compact(&w, 1); /* one stack item: the reserved value */
		w_compact(&w, sizeof(reserved));
		w_bytes(&w, reserved, sizeof(reserved));
	}
	w_le32(&w, 0); /* lock time */
	return w.overflow ? -1 : (int)w.len;
}

void
opensy_merkle_root(const struct opensy_template *t,
                   const uint8_t coinbase_txid[32], uint8_t root[32])
{
	uint8_t pair[64];

	memcpy(root, coinbase_txid, 32);
	for (size_t i = 0; i < t->nbranch; i++) {
		memcpy(pair, root, 32);
		memcpy(pair + 32, t->branch[i], 32);
		opensy_sha256d(pair, 64, root);
	}
}

void
opensy_header(const struct opensy_template *t, const uint8_t root[32],
              uint32_t time, uint32_t nonce, uint8_t out[OPENSY_HEADER_SIZE])
{
	le32_write(out, t->version);
	memcpy(out + 4, t->prev_hash, 32);
	memcpy(out + 36, root, 32);
	le32_write(out + 68, time);
	le32_write(out + 72, t->bits);
	le32_write(out + 76, nonce);
}

void
opensy_header_set_nonce(uint8_t header[OPENSY_HEADER_SIZE], uint32_t nonce)
{
	le32_write(header + 76, nonce);
}

size_t
opensy_block_size(const struct opensy_template *t, size_t cb_len)
{
	size_t n = OPENSY_HEADER_SIZE + compact_size_len(t->ntx + 1) + cb_len;

	for (size_t i = 0; i < t->ntx; i++)
		n += t->txs[i].len;
	return n;
}

int
opensy_block(const struct opensy_template *t,
             const uint8_t header[OPENSY_HEADER_SIZE], const uint8_t *coinbase,
             size_t cb_len, uint8_t *out, size_t cap)
{
	struct wbuf w = {out, 0, cap, 0};

	w_bytes(&w, header, OPENSY_HEADER_SIZE);
	w_compact(&w, t->ntx + 1);
	w_bytes(&w, coinbase, cb_len);
	for (size_t i = 0; i < t->ntx; i++)
		w_bytes(&w, t->txs[i].data, t->txs[i].len);
	if (w.overflow || w.len > INT32_MAX)
		return -1;
	return (int)w.len;
}

char *
opensy_block_hex(const struct opensy_template *t,
                 const uint8_t header[OPENSY_HEADER_SIZE],
                 const uint8_t *coinbase, size_t cb_len)
{
	size_t n = opensy_block_size(t, cb_len);
	uint8_t *raw = malloc(n);
	char *hex = malloc(2 * n + 1);
	int len;

	if (raw == NULL || hex == NULL ||
	    (len = opensy_block(t, header, coinbase, cb_len, raw, n)) < 0) {
		free(raw);
		free(hex);
		return NULL;
	}
	hex_encode(raw, (size_t)len, hex, 2 * n + 1);
	free(raw);
	return hex;
}

/* --- networks and addresses ------------------------------------------ */

/*
 * OpenSY's address parameters, from the chain's own source
 * (github.com/opensyria/OpenSY, src/kernel/chainparams.cpp, checked
 * December 2026; the same repository has -randomxforkheight and the
 * 32-block key interval this project's vectors show):
 *   main:    P2PKH version 35 ('F'), P2SH 36, bech32 hrp "syl"
 *   testnet: P2PKH 95 ('f'), P2SH 96, hrp "tsyl" (testnet4 and signet too)
 *   regtest: P2PKH 95, P2SH 96, hrp "rsyl"
 * Testnet and regtest share their base58 versions (as in Bitcoin), so a
 * base58 address cannot tell those two apart; only bech32 can.
 */
static const struct {
	enum opensy_net net;
	const char *name;
	uint8_t p2pkh, p2sh;
	const char *hrp;
} nets[] = {
    {OPENSY_MAIN, "main", 35, 36, "syl"},
    {OPENSY_TEST, "test", 95, 96, "tsyl"},
    {OPENSY_REGTEST, "regtest", 95, 96, "rsyl"},
};
#define NNETS (sizeof(nets) / sizeof(nets[0]))

int
opensy_net_parse(const char *s, enum opensy_net *net)
{
	if (strcmp(s, "main") == 0 || strcmp(s, "mainnet") == 0)
		*net = OPENSY_MAIN;
	else if (strcmp(s, "test") == 0 || strcmp(s, "testnet") == 0 ||
	         strcmp(s, "testnet3") == 0 || strcmp(s, "testnet4") == 0 ||
	         strcmp(s, "signet") == 0)
		*net = OPENSY_TEST;
	else if (strcmp(s, "regtest") == 0)
		*net = OPENSY_REGTEST;
	else
		return -1;
	return 0;
}

const char *
opensy_net_name(enum opensy_net net)
{
	for (size_t i = 0; i < NNETS; i++)
		if (nets[i].net == net)
			return nets[i].name;
	return "unknown";
}

static const char b58digits[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Base58 -> bytes (big-endian), *outlen the decoded length.  -1 on a
 * character outside the alphabet (err says which) or overflow. */
static int
base58_decode(const char *s, uint8_t *out, size_t cap, size_t *outlen,
              char *err, size_t errlen)
{
	uint8_t buf[64];
	size_t zeros = 0, len = strlen(s), used = 0;

	memset(buf, 0, sizeof(buf));
	while (zeros < len && s[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < len; i++) {
		const char *d = strchr(b58digits, s[i]);
		unsigned carry;

		if (s[i] == '\0' || d == NULL) {
			seterr(err, errlen,
			       "bad character '%c' for a base58"
			       " address",
			       isprint((unsigned char)s[i]) ? s[i] : '?');
			return -1;
		}
		carry = (unsigned)(d - b58digits);
		for (size_t j = sizeof(buf); j-- > 0;) {
			carry += 58u * buf[j];
			buf[j] = (uint8_t)carry;
			carry >>= 8;
		}
		if (carry != 0) {
			seterr(err, errlen, "bad length (too long)");
			return -1;
		}
	}
	for (size_t j = 0; j < sizeof(buf); j++)
		if (buf[j] != 0) {
			used = sizeof(buf) - j;
			break;
		}
	if (zeros + used > cap) {
		seterr(err, errlen, "bad length (too long)");
		return -1;
	}
	memset(out, 0, zeros);
	memcpy(out + zeros, buf + sizeof(buf) - used, used);
	*outlen = zeros + used;
	return 0;
}

static int
base58_script(const char *addr, enum opensy_net net, uint8_t *script,
              size_t *len, char *err, size_t errlen)
{
	uint8_t raw[40], sum[32];
	size_t n;
	const char *other = NULL;

	if (base58_decode(addr, raw, sizeof(raw), &n, err, errlen) != 0)
		return -1;
	if (n != 25) {
		seterr(err, errlen,
		       "bad length: %zu bytes decoded, a base58"
		       " address has 25",
		       n);
		return -1;
	}
	opensy_sha256d(raw, 21, sum);
	if (memcmp(sum, raw + 21, 4) != 0) {
		seterr(err, errlen, "bad checksum (mistyped address?)");
		return -1;
	}
	for (size_t i = 0; i < NNETS; i++) {
		if (nets[i].net != net)
			continue;
		if (raw[0] == nets[i].p2pkh) {
			memcpy(script, "\x76\xa9\x14", 3);
			memcpy(script + 3, raw + 1, 20);
			memcpy(script + 23, "\x88\xac", 2);
			*len = 25;
			return 0;
		}
		if (raw[0] == nets[i].p2sh) {
			memcpy(script, "\xa9\x14", 2);
			memcpy(script + 2, raw + 1, 20);
			script[22] = 0x87;
			*len = 23;
			return 0;
		}
	}
	for (size_t i = 0; i < NNETS && other == NULL; i++)
		if (raw[0] == nets[i].p2pkh || raw[0] == nets[i].p2sh)
			other = nets[i].name;
	if (other != NULL)
		seterr(err, errlen, "wrong network: address is for %s, not %s",
		       other, opensy_net_name(net));
	else
		seterr(err, errlen,
		       "unknown address version byte %u (not an"
		       " OpenSY address?)",
		       raw[0]);
	return -1;
}

static const char b32chars[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t
bech32_polymod(const uint8_t *v, size_t n, uint32_t chk)
{
	static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
	                                0x3d4233dd, 0x2a1462b3};

	for (size_t i = 0; i < n; i++) {
		uint32_t top = chk >> 25;
		chk = (chk & 0x1ffffff) << 5 ^ v[i];
		for (int j = 0; j < 5; j++)
			if (top >> j & 1)
				chk ^= gen[j];
	}
	return chk;
}

static uint32_t
bech32_hrp_chk(const char *hrp, size_t n)
{
	uint32_t chk = 1;
	uint8_t v;

	for (size_t i = 0; i < n; i++) {
		v = (uint8_t)(hrp[i] >> 5);
		chk = bech32_polymod(&v, 1, chk);
	}
	v = 0;
	chk = bech32_polymod(&v, 1, chk);
	for (size_t i = 0; i < n; i++) {
		v = (uint8_t)(hrp[i] & 31);
		chk = bech32_polymod(&v, 1, chk);
	}
	return chk;
}

#define BECH32_CONST 1u
#define BECH32M_CONST 0x2bc830a3u

int
opensy_bech32_decode(const char *s, char *hrp, size_t hrpcap, uint8_t *values,
                     size_t *nvalues, size_t cap, char *err, size_t errlen)
{
	size_t len = strlen(s), sep = 0, ndata;
	int lower = 0, upper = 0;
	uint8_t data[90];
	uint32_t chk;

	if (len > 90) {
		seterr(err, errlen,
		       "bad length: %zu characters, bech32 allows"
		       " 90",
		       len);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126) {
			seterr(err, errlen, "bad character (code %u)", c);
			return -1;
		}
		lower |= islower(c) != 0;
		upper |= isupper(c) != 0;
		if (c == '1')
			sep = i;
	}
	if (lower && upper) {
		seterr(err, errlen, "mixed case");
		return -1;
	}
	if (sep == 0 && (len == 0 || s[0] != '1')) {
		seterr(err, errlen, "no separator '1'");
		return -1;
	}
	if (sep == 0) {
		seterr(err, errlen, "empty human-readable part");
		return -1;
	}
	if (len - sep - 1 < 6) {
		seterr(err, errlen, "bad length: checksum too short");
		return -1;
	}
	if (sep + 1 > hrpcap) {
		seterr(err, errlen, "human-readable part too long");
		return -1;
	}
	for (size_t i = 0; i < sep; i++)
		hrp[i] = (char)tolower((unsigned char)s[i]);
	hrp[sep] = '\0';
	ndata = len - sep - 1;
	for (size_t i = 0; i < ndata; i++) {
		const char *d =
		    strchr(b32chars, tolower((unsigned char)s[sep + 1 + i]));
		if (d == NULL || s[sep + 1 + i] == '\0') {
			seterr(err, errlen,
			       "bad character '%c' in the data part",
			       s[sep + 1 + i]);
			return -1;
		}
		data[i] = (uint8_t)(d - b32chars);
	}
	chk = bech32_polymod(data, ndata, bech32_hrp_chk(hrp, sep));
	if (chk != BECH32_CONST && chk != BECH32M_CONST) {
		seterr(err, errlen, "bad checksum (mistyped address?)");
		return -1;
	}
	if (ndata - 6 > cap) {
		seterr(err, errlen, "data part too long");
		return -1;
	}
	memcpy(values, data, ndata - 6);
	*nvalues = ndata - 6;
	return chk == BECH32_CONST ? OPENSY_BECH32 : OPENSY_BECH32M;
}

/* Regroups bits (5 -> 8 with pad 0, 8 -> 5 with pad 1).  -1 on invalid
 * padding (BIP173: at most 4 bits, all zero). */
static int
convert_bits(const uint8_t *in, size_t n, int from, int to, int pad,
             uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0, maxv = (1u << to) - 1;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << from | in[i];
		bits += from;
		while (bits >= to) {
			bits -= to;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits & maxv);
		}
	}
	if (pad) {
		if (bits > 0) {
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc << (to - bits) & maxv);
		}
	} else if (bits >= from || (acc << (to - bits) & maxv) != 0) {
		return -1;
	}
	*outlen = o;
	return 0;
}

static int
bech32_script(const char *addr, enum opensy_net net, uint8_t *script,
              size_t *len, char *err, size_t errlen)
{
	char hrp[84];
	uint8_t vals[90], prog[64];
	size_t nvals, nprog;
	int enc, ver;

	enc = opensy_bech32_decode(addr, hrp, sizeof(hrp), vals, &nvals,
	                           sizeof(vals), err, errlen);
	if (enc < 0)
		return -1;
	for (size_t i = 0; i < NNETS; i++) {
		if (strcmp(hrp, nets[i].hrp) == 0 && nets[i].net != net) {
			seterr(err, errlen,
			       "wrong network: address is for %s,"
			       " not %s",
			       nets[i].name, opensy_net_name(net));
			return -1;
		}
	}
	if (nvals < 1 || vals[0] > 16) {
		seterr(err, errlen, "bad witness version");
		return -1;
	}
	ver = vals[0];
	if ((ver == 0) != (enc == OPENSY_BECH32)) {
		seterr(err, errlen,
		       "bad checksum variant: witness version %d"
		       " needs %s",
		       ver, ver == 0 ? "bech32" : "bech32m");
		return -1;
	}
	if (convert_bits(vals + 1, nvals - 1, 5, 8, 0, prog, sizeof(prog),
	                 &nprog) != 0) {
		seterr(err, errlen, "bad length: invalid padding");
		return -1;
	}
	if (nprog < 2 || nprog > 40 ||
	    (ver == 0 && nprog != 20 && nprog != 32)) {
		seterr(err, errlen,
		       "bad length: %zu-byte witness program for"
		       " version %d",
		       nprog, ver);
		return -1;
	}
	script[0] = ver == 0 ? 0x00 : (uint8_t)(0x50 + ver);
	script[1] = (uint8_t)nprog;
	memcpy(script + 2, prog, nprog);
	*len = 2 + nprog;
	return 0;
}

int
opensy_address_script(const char *addr, enum opensy_net net,
                      uint8_t script[OPENSY_SCRIPT_MAX], size_t *len, char *err,
                      size_t errlen)
{
	const char *sep;
	char hrp[84];
	uint8_t vals[90];
	size_t n, nv;

	if (addr == NULL || *addr == '\0') {
		seterr(err, errlen, "empty address");
		return -1;
	}
	if (strncmp(addr, "script:", 7) == 0) {
		if (hex_decode(addr + 7, script, OPENSY_SCRIPT_MAX, &n) != 0 ||
		    n == 0) {
			seterr(err, errlen, "script: expected 2..%d hex digits",
			       2 * OPENSY_SCRIPT_MAX);
			return -1;
		}
		*len = n;
		return 0;
	}
	/* bech32 when the part before the last '1' is one of our prefixes,
	 * or when the whole string is some other chain's valid bech32. */
	if ((sep = strrchr(addr, '1')) != NULL && sep != addr &&
	    (size_t)(sep - addr) < sizeof(hrp)) {
		n = (size_t)(sep - addr);
		for (size_t i = 0; i < n; i++)
			hrp[i] = (char)tolower((unsigned char)addr[i]);
		hrp[n] = '\0';
		for (size_t i = 0; i < NNETS; i++)
			if (strcmp(hrp, nets[i].hrp) == 0)
				return bech32_script(addr, net, script, len,
				                     err, errlen);
		if (opensy_bech32_decode(addr, hrp, sizeof(hrp), vals, &nv,
		                         sizeof(vals), NULL, 0) > 0) {
			seterr(err, errlen,
			       "wrong network: bech32 prefix '%s'"
			       " is not OpenSY's (%s expects '%s')",
			       hrp, opensy_net_name(net), nets[net].hrp);
			return -1;
		}
	}
	return base58_script(addr, net, script, len, err, errlen);
}

int
opensy_segwit_address(enum opensy_net net, int version, const uint8_t *program,
                      size_t len, char *out, size_t cap)
{
	uint8_t vals[90];
	size_t nvals, hl;
	const char *hrp = NULL;
	uint32_t chk;

	for (size_t i = 0; i < NNETS; i++)
		if (nets[i].net == net)
			hrp = nets[i].hrp;
	if (hrp == NULL || version < 0 || version > 16 || len < 2 || len > 40 ||
	    (version == 0 && len != 20 && len != 32))
		return -1;
	vals[0] = (uint8_t)version;
	if (convert_bits(program, len, 8, 5, 1, vals + 1, sizeof(vals) - 7,
	                 &nvals) != 0)
		return -1;
	nvals++;
	hl = strlen(hrp);
	if (hl + 1 + nvals + 6 + 1 > cap)
		return -1;
	memset(vals + nvals, 0, 6);
	chk = bech32_polymod(vals, nvals + 6, bech32_hrp_chk(hrp, hl)) ^
	      (version == 0 ? BECH32_CONST : BECH32M_CONST);
	for (int i = 0; i < 6; i++)
		vals[nvals + (size_t)i] = (uint8_t)(chk >> (5 * (5 - i)) & 31);
	memcpy(out, hrp, hl);
	out[hl] = '1';
	for (size_t i = 0; i < nvals + 6; i++)
		out[hl + 1 + i] = b32chars[vals[i]];
	out[hl + 1 + nvals + 6] = '\0';
	return 0;
}
