/*
 * tp_chain.c: the testpool's simulated chain.  Block hashes are derived
 * from a salt, so the seed hash follows OpenSY's key rule (the hash of block
 * max(0, floor(H/32)*32 - 32)); each template is an 80-byte OpenSY header
 * (nonce at 76) or a 76-byte Monero hashing blob (nonce at 39).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/target.h"
#include "testpool/testpool.h"

static void
block_hash(const struct tp_chain *c, int64_t height, uint8_t out[32])
{
	uint8_t in[40];
	unsigned len = 32;

	memcpy(in, c->salt, 32);
	le64_write(in + 32, (uint64_t)height);
	EVP_Digest(in, sizeof(in), out, &len, EVP_sha256(), NULL);
}

void
tp_chain_init(struct tp_chain *c, int monero, int64_t height, uint32_t nbits,
    const char *seed)
{
	unsigned len = 32;

	memset(c, 0, sizeof(*c));
	c->monero = monero;
	c->nonce_offset = monero ? 39 : 76;
	c->height = height;
	c->nbits = nbits;
	nbits_to_target256(nbits, c->block_target);
	EVP_Digest(seed, strlen(seed), c->salt, &len, EVP_sha256(), NULL);
	c->cur = TP_TEMPLATES - 1;
}

void
tp_chain_free(struct tp_chain *c)
{
	for (unsigned i = 0; i < TP_TEMPLATES; i++)
		free(c->tpl[i].nonces);
	memset(c->tpl, 0, sizeof(c->tpl));
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static void
make_blob(struct tp_chain *c, struct tp_template *t)
{
	uint8_t *b = t->blob;
	uint32_t now = (uint32_t)time(NULL);
	size_t n;

	memset(b, 0, sizeof(t->blob));
	if (!c->monero) {
		le32_write(b, 0x20000000);
		block_hash(c, t->height - 1, b + 4);	/* prev hash */
		RAND_bytes(b + 36, 32);			/* merkle root */
		le32_write(b + 68, now);
		le32_write(b + 72, c->nbits);
		t->blob_len = 80;
		return;
	}
	/* major, minor, timestamp (5-byte varint), prev id, nonce, tree root,
	 * tx count: the nonce lands at 39. */
	b[0] = 16;
	b[1] = 16;
	n = 2 + put_varint(b + 2, (uint64_t)now | 0x400000000ULL);
	block_hash(c, t->height - 1, b + n);
	n += 32 + 4;
	RAND_bytes(b + n, 32);
	n += 32;
	b[n++] = 1;
	t->blob_len = n;
}

struct tp_template *
tp_chain_next(struct tp_chain *c, int advance_height)
{
	struct tp_template *t;
	int64_t key;

	if (advance_height && c->count > 0)
		c->height++;
	c->cur = (c->cur + 1) % TP_TEMPLATES;
	t = &c->tpl[c->cur];
	free(t->nonces);
	memset(t, 0, sizeof(*t));
	t->id = ++c->next_id;
	t->height = c->height;
	t->clean = advance_height || c->count == 0;
	key = c->height / 32 * 32 - 32;
	block_hash(c, key < 0 ? 0 : key, t->seed);
	make_blob(c, t);
	if (c->count < TP_TEMPLATES)
		c->count++;
	return t;
}

struct tp_template *
tp_chain_current(struct tp_chain *c)
{
	return c->count > 0 ? &c->tpl[c->cur] : NULL;
}

struct tp_template *
tp_chain_find(struct tp_chain *c, uint64_t id)
{
	for (unsigned i = 0; i < TP_TEMPLATES; i++)
		if (c->tpl[i].id == id && id != 0)
			return &c->tpl[i];
	return NULL;
}

int
tp_template_seen(struct tp_template *t, uint32_t nonce)
{
	for (size_t i = 0; i < t->nnonces; i++)
		if (t->nonces[i] == nonce)
			return 1;
	if (t->nnonces == t->capnonces) {
		size_t cap = t->capnonces ? t->capnonces * 2 : 64;
		uint32_t *p = realloc(t->nonces, cap * sizeof(*p));

		if (p == NULL)
			return 0;
		t->nonces = p;
		t->capnonces = cap;
	}
	t->nonces[t->nnonces++] = nonce;
	return 0;
}
