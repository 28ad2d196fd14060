/*
 * node.c: the OpenSY node backend (node.h).  Three threads touch it:
 *   - the I/O thread: getblocktemplate on a poll, templates handed over
 *     by the long-poll thread, shares queued by upstream_submit (answered
 *     from the block it submitted), following found blocks, and every
 *     callback;
 *   - the long-poll thread: getblocktemplate with longpollid on its own
 *     connection, held open until the node has a new tip or new fees;
 *   - callers of block_found (the share path), who submit a block at once
 *     on a third connection.
 * n->lock guards the templates, the found blocks, the queue and the stats;
 * it is never held across an RPC or a callback.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/opensy.h"
#include "common/target.h"
#include "coordinator/node.h"
#include "coordinator/node_rpc.h"

#define NODE_KEEP 8			/* templates kept for late shares */
#define NODE_RPC_TIMEOUT_MS 30000
#define NODE_LONGPOLL_TIMEOUT_MS 600000
#define NODE_RETRY_MS 1000		/* after an error */
#define NODE_TIME_REFRESH_S 60		/* fresh header time at least this often */
#define NODE_KEYS 4			/* RandomX keys cached */
#define NODE_ID_MAX 48

struct ntpl {
	int used;
	char id[NODE_ID_MAX];
	struct opensy_template t;
	uint32_t time;
	uint8_t key[32];
	int64_t received_ms;
};

struct found {
	char job_id[NODE_ID_MAX];
	uint64_t ext;
	uint32_t nonce;
	char hash[65];
	int64_t height, reward;
	int answered, accepted, reported, final;
	int busy;			/* a submitblock for it is under way */
	char msg[128];
	int64_t confirmations, next_check_ms;
};

struct pend {
	uint64_t share_id;
	char job_id[NODE_ID_MAX];
	uint64_t ext;
	uint32_t nonce;
	uint8_t result[32];
};

struct node {
	/* configuration (copied) */
	char *url, *cookie, *user, *password, *tag;
	uint8_t script[OPENSY_SCRIPT_MAX];
	size_t script_len;
	int64_t poll_ms, fee_threshold, follow_ms, maturity;
	enum opensy_net net;		/* the payout address's network */
	struct upstream_callbacks cb;
	struct node_rpc *rpc, *lp, *sub;

	pthread_t io, lpt;
	int started;
	atomic_int running;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* wakes both threads */

	struct ntpl ring[NODE_KEEP];
	size_t next_slot;
	uint64_t seq;
	int64_t run_id;
	int have_cur;
	size_t cur;			/* ring index of the current template */
	int64_t cur_fees;
	char *longpollid;
	uint64_t lp_gen;		/* bumps with every longpollid */
	json_t *lp_result;		/* a template the long-poll brought */
	int connected;
	int poll_now;			/* a block of ours: the tip moved */

	struct found *found;
	size_t nfound, capfound;
	struct pend *pend;
	size_t npend, cappend;
	struct upstream_stats st;

	/* I/O thread only */
	int64_t key_h[NODE_KEYS];
	uint8_t key_v[NODE_KEYS][32];
	size_t key_next;
	char last_wait[UPSTREAM_MSG_MAX];
	int chain_ok;		/* the node's chain is [node] network's, checked
				 * at every (re)connect */
};

static const struct upstream_ops node_ops;

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

static void
node_free(void *impl)
{
	struct node *n = impl;

	if (n == NULL)
		return;
	node_rpc_free(n->rpc);
	node_rpc_free(n->lp);
	node_rpc_free(n->sub);
	for (size_t i = 0; i < NODE_KEEP; i++)
		opensy_template_free(&n->ring[i].t);
	free(n->longpollid);
	json_decref(n->lp_result);
	free(n->found);
	free(n->pend);
	free(n->url);
	free(n->cookie);
	free(n->user);
	if (n->password != NULL) {
		explicit_bzero(n->password, strlen(n->password));
		free(n->password);
	}
	free(n->tag);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
}

void *
node_backend_new(const struct upstream_config *cfg,
    const struct upstream_callbacks *cb, const struct upstream_ops **ops,
    char *err, size_t errlen)
{
	const struct upstream_node *c = cfg->node;
	struct node_rpc_auth auth;
	struct node *n;
	pthread_condattr_t ca;

	if (c->url == NULL || c->payout_script == NULL || c->payout_len == 0 ||
	    c->payout_len > OPENSY_SCRIPT_MAX) {
		snprintf(err, errlen, "[node]: url and payout script are needed");
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &ca);
	pthread_condattr_destroy(&ca);
	n->url = dup_or_null(c->url);
	n->cookie = dup_or_null(c->cookie_file);
	n->user = dup_or_null(c->user);
	n->password = dup_or_null(c->password);
	n->tag = dup_or_null(c->tag);
	memcpy(n->script, c->payout_script, c->payout_len);
	n->script_len = c->payout_len;
	n->poll_ms = c->poll_ms > 0 ? c->poll_ms : 5000;
	n->fee_threshold = c->fee_threshold;
	n->follow_ms = c->follow_ms > 0 ? c->follow_ms : 10000;
	n->maturity = c->maturity > 0 ? c->maturity : 100;
	n->net = (enum opensy_net)c->network;
	n->cb = *cb;
	n->run_id = clock_wall_ms();
	n->st.node = 1;
	n->st.node_connections = -1;
	n->st.last_latency_ms = -1;
	snprintf(n->st.node_wait, sizeof(n->st.node_wait), "not connected yet");
	for (size_t i = 0; i < NODE_KEYS; i++)
		n->key_h[i] = -1;
	auth.url = n->url;
	auth.cookie_file = n->cookie;
	auth.user = n->user;
	auth.password = n->password;
	if ((n->rpc = node_rpc_new(&auth)) == NULL ||
	    (n->lp = node_rpc_new(&auth)) == NULL ||
	    (n->sub = node_rpc_new(&auth)) == NULL) {
		snprintf(err, errlen, "cannot set up the RPC client for %s", n->url);
		node_free(n);
		return NULL;
	}
	*ops = &node_ops;
	return n;
}

/* ---- templates --------------------------------------------------------- */

static struct ntpl *
tpl_find(struct node *n, const char *job_id)
{
	for (size_t i = 0; i < NODE_KEEP; i++)
		if (n->ring[i].used && strcmp(n->ring[i].id, job_id) == 0)
			return &n->ring[i];
	return NULL;
}

static void
ext_bytes(uint64_t ext, uint8_t out[OPENSY_EXTRANONCE_SIZE])
{
	for (int i = 0; i < OPENSY_EXTRANONCE_SIZE; i++)
		out[i] = (uint8_t)(ext >> (8 * i));
}

/* The header of extranonce ext with nonce; the coinbase (with witness)
 * too when cb is given.  0 or -1.  Locked. */
static int
build(struct node *n, const struct ntpl *p, uint64_t ext, uint32_t nonce,
    uint8_t header[80], uint8_t *cb, int *cb_len)
{
	uint8_t tx[OPENSY_COINBASE_MAX], txid[32], root[32], e[8];
	int len;

	ext_bytes(ext, e);
	if ((len = opensy_coinbase(&p->t, n->script, n->script_len, e, n->tag, 0,
	    tx, sizeof(tx))) < 0)
		return -1;
	opensy_txid(tx, (size_t)len, txid);
	opensy_merkle_root(&p->t, txid, root);
	opensy_header(&p->t, root, p->time, nonce, header);
	if (cb != NULL && (*cb_len = opensy_coinbase(&p->t, n->script,
	    n->script_len, e, n->tag, 1, cb, OPENSY_COINBASE_MAX)) < 0)
		return -1;
	return 0;
}

static int
node_make_blob(void *impl, const char *job_id, uint64_t extranonce,
    uint8_t *blob, size_t *len)
{
	struct node *n = impl;
	struct ntpl *p;
	int rc = -1;

	pthread_mutex_lock(&n->lock);
	if ((p = tpl_find(n, job_id)) != NULL &&
	    build(n, p, extranonce, 0, blob, NULL, NULL) == 0) {
		*len = OPENSY_HEADER_SIZE;
		rc = 0;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* The RandomX key of height h (getblockhash of its key height), cached.
 * 0 or -1.  I/O thread. */
static int
key_for(struct node *n, int64_t h, uint8_t key[32], struct node_rpc_error *e)
{
	int64_t kh = opensy_key_height(h);
	json_t *res;
	int rc;

	for (size_t i = 0; i < NODE_KEYS; i++)
		if (n->key_h[i] == kh) {
			memcpy(key, n->key_v[i], 32);
			return 0;
		}
	if (node_rpc_call(n->rpc, "getblockhash", json_pack("[I]",
	    (json_int_t)kh), NODE_RPC_TIMEOUT_MS, &res, e) != 0)
		return -1;
	rc = json_is_string(res) &&
	    opensy_hash_from_display(json_string_value(res), key) == 0 ? 0 : -1;
	json_decref(res);
	if (rc != 0) {
		e->status = NODE_RPC_BAD_REPLY;
		snprintf(e->msg, sizeof(e->msg), "getblockhash %" PRId64 ": not a "
		    "hash", kh);
		return -1;
	}
	n->key_h[n->key_next] = kh;
	memcpy(n->key_v[n->key_next], key, 32);
	n->key_next = (n->key_next + 1) % NODE_KEYS;
	return 0;
}

/* Why the node gives no work, from its answer; "" when it is none of the
 * waits we know.  Sets *ibd. */
static void
wait_reason(const struct node_rpc_error *e, char *out, size_t len, int *ibd)
{
	*ibd = 0;
	switch (e->status) {
	case NODE_RPC_UNAUTHORIZED:
		/* the node's refusal, or a cookie we cannot read */
		snprintf(out, len, "%s: %.150s", strncmp(e->msg, "HTTP", 4) == 0 ?
		    "401 unauthorized" : "no credentials", e->msg);
		break;
	case NODE_RPC_TRANSPORT:
		snprintf(out, len, "node unreachable: %.150s", e->msg);
		break;
	case NODE_RPC_BAD_REPLY:
		snprintf(out, len, "bad answer from the node: %.150s", e->msg);
		break;
	case NODE_RPC_ERROR:
		if (e->code == -28)
			snprintf(out, len, "node warming up: %.150s", e->msg);
		else if (e->code == -10) {
			*ibd = 1;
			snprintf(out, len, "node in initial block download: %.150s",
			    e->msg);
		} else
			snprintf(out, len, "node error %" PRId64 ": %.150s", e->code,
			    e->msg);
		break;
	default:
		snprintf(out, len, "%.150s", e->msg);
	}
}

/* The node gives no work now: say why (once per reason), stop counting it
 * as connected.  I/O thread. */
static void
node_waits(struct node *n, const struct node_rpc_error *e)
{
	char why[UPSTREAM_MSG_MAX];
	struct upstream_state_change ch = { 0 };
	int ibd, was;

	wait_reason(e, why, sizeof(why), &ibd);
	n->chain_ok = 0;	/* whatever comes back is checked again */
	pthread_mutex_lock(&n->lock);
	was = n->connected;
	n->connected = 0;
	n->st.state = UPSTREAM_DISCONNECTED;
	n->st.connected_since_ms = 0;
	n->st.node_ibd = ibd;
	snprintf(n->st.node_wait, sizeof(n->st.node_wait), "%s", why);
	pthread_mutex_unlock(&n->lock);
	if (strcmp(why, n->last_wait) != 0) {
		log_warnx("node %s: not mining: %s (retrying)", n->url, why);
		snprintf(n->last_wait, sizeof(n->last_wait), "%s", why);
	}
	if (was && n->cb.on_state != NULL) {
		ch.event = UPSTREAM_EV_LOST;
		ch.url = n->url;
		ch.msg = why;
		n->cb.on_state(n->cb.arg, &ch);
	}
}

/*
 * At connect: the chain the node reports (getblockchaininfo) must be the
 * network the payout address was checked against, or every block found
 * would pay an address of another network.  0, or -1 with e filled in
 * (the node's own error, or the mismatch as our reason).  I/O thread.
 */
static int
check_chain(struct node *n, struct node_rpc_error *e)
{
	json_t *res;
	const char *chain;
	enum opensy_net net;

	if (node_rpc_call(n->rpc, "getblockchaininfo", NULL, NODE_RPC_TIMEOUT_MS,
	    &res, e) != 0)
		return -1;
	chain = json_string_value(json_object_get(res, "chain"));
	memset(e, 0, sizeof(*e));
	e->status = NODE_RPC_OK;	/* no RPC failure: a reason of ours */
	if (chain == NULL)
		snprintf(e->msg, sizeof(e->msg), "the node's getblockchaininfo "
		    "has no chain: cannot check the payout address's network");
	else if (opensy_net_parse(chain, &net) != 0)
		snprintf(e->msg, sizeof(e->msg), "node is on chain '%.24s', "
		    "unknown here: cannot check the payout address's network",
		    chain);
	else if (net != n->net)
		snprintf(e->msg, sizeof(e->msg), "node is on chain '%.24s' but "
		    "[node] network is %s: not mining to a payout address of "
		    "another network", chain, opensy_net_name(n->net));
	else {
		json_decref(res);
		n->chain_ok = 1;
		return 0;
	}
	json_decref(res);
	return -1;
}

static void
tip_info(struct node *n, const uint8_t prev[32])
{
	struct node_rpc_error e;
	char hex[65];
	json_t *res;
	int64_t t = 0, conns = -1;

	opensy_hash_to_display(prev, hex);
	if (node_rpc_call(n->rpc, "getblockheader", json_pack("[s]", hex),
	    NODE_RPC_TIMEOUT_MS, &res, &e) == 0) {
		t = json_integer_value(json_object_get(res, "time")) * 1000;
		json_decref(res);
	}
	if (node_rpc_call(n->rpc, "getconnectioncount", NULL, NODE_RPC_TIMEOUT_MS,
	    &res, &e) == 0) {
		if (json_is_integer(res))
			conns = json_integer_value(res);
		json_decref(res);
	}
	pthread_mutex_lock(&n->lock);
	n->st.node_tip_time_ms = t;
	n->st.node_connections = conns;
	pthread_mutex_unlock(&n->lock);
}

/* A getblocktemplate result: new work when it is a new tip (clean), has
 * enough new fees, or the header time is due; else only its longpollid is
 * kept.  Takes res.  I/O thread. */
static void
template_in(struct node *n, json_t *res, int force)
{
	struct opensy_template t;
	struct node_rpc_error e;
	struct upstream_job uj;
	struct upstream_state_change ch = { 0 };
	char err[256];
	uint8_t key[32];
	int64_t now = clock_wall_ms();
	int clean, fresh_login = 0;
	struct ntpl *p;
	uint32_t time_now;
	uint8_t prev[32], next[32];
	int has_next = 0;

	if (!n->chain_ok) {
		/* a long-poll answer from before a reconnect: the chain is
		 * checked first */
		json_decref(res);
		return;
	}
	if (opensy_template_parse(res, &t, err, sizeof(err)) != 0) {
		json_decref(res);
		log_warnx("node %s: template refused: %s", n->url, err);
		return;
	}
	json_decref(res);
	if (key_for(n, t.height, key, &e) != 0) {
		opensy_template_free(&t);
		node_waits(n, &e);
		return;
	}
	/* The next key, ahead of the boundary: its block exists once the
	 * chain is past it. */
	if (opensy_key_height(t.height + OPENSY_KEY_INTERVAL) < t.height &&
	    key_for(n, t.height + OPENSY_KEY_INTERVAL, next, &e) == 0)
		has_next = 1;
	time_now = (uint32_t)(now / 1000);
	pthread_mutex_lock(&n->lock);
	if (t.longpollid != NULL && (n->longpollid == NULL ||
	    strcmp(t.longpollid, n->longpollid) != 0)) {
		free(n->longpollid);
		n->longpollid = strdup(t.longpollid);
		n->lp_gen++;
		pthread_cond_broadcast(&n->cond);
	}
	p = n->have_cur ? &n->ring[n->cur] : NULL;
	clean = p == NULL || memcmp(p->t.prev_hash, t.prev_hash, 32) != 0;
	if (!clean && !force && t.total_fees - n->cur_fees < n->fee_threshold &&
	    (int64_t)time_now - (int64_t)p->time < NODE_TIME_REFRESH_S &&
	    n->connected) {
		pthread_mutex_unlock(&n->lock);
		opensy_template_free(&t);
		return;		/* nothing worth new work */
	}
	if (clean && p != NULL && t.height < p->t.height)
		log_info("node %s: reorganisation: tip height %" PRId64 " -> %"
		    PRId64, n->url, p->t.height, t.height - 1);
	p = &n->ring[n->next_slot];
	opensy_template_free(&p->t);
	p->t = t;
	p->used = 1;
	p->received_ms = now;
	p->time = t.curtime > time_now ? t.curtime : time_now;
	if (p->time < t.mintime)
		p->time = t.mintime;
	memcpy(p->key, key, 32);
	memcpy(prev, t.prev_hash, 32);
	snprintf(p->id, sizeof(p->id), "%" PRId64 ".%" PRIx64 ".%" PRIu64,
	    t.height, n->run_id, ++n->seq);
	n->cur = n->next_slot;
	n->next_slot = (n->next_slot + 1) % NODE_KEEP;
	n->have_cur = 1;
	n->cur_fees = t.total_fees;
	if (!n->connected) {
		n->connected = 1;
		fresh_login = 1;
		n->st.session++;
		n->st.reconnects++;
		n->st.connected_since_ms = now;
		n->last_wait[0] = '\0';
	}
	n->st.state = UPSTREAM_CONNECTED;
	n->st.node_wait[0] = '\0';
	n->st.node_ibd = 0;
	n->st.node_height = t.height;
	n->st.node_template_ms = now;
	snprintf(n->st.job_id, sizeof(n->st.job_id), "%s", p->id);
	memset(&uj, 0, sizeof(uj));
	snprintf(uj.job_id, sizeof(uj.job_id), "%s", p->id);
	(void)build(n, p, 0, 0, uj.blob, NULL, NULL);
	uj.blob_len = OPENSY_HEADER_SIZE;
	uj.target = target256_to_target64(t.target);
	if (uj.target == 0)
		uj.target = 1;
	uj.difficulty = target_to_difficulty(uj.target);
	memcpy(uj.seed_hash, key, 32);
	uj.has_seed = 1;
	uj.height = t.height;
	snprintf(uj.algo, sizeof(uj.algo), "rx/0");
	uj.nonce_offset = UPSTREAM_NONCE_OFFSET_OPENSY;
	uj.clean = clean || fresh_login;
	uj.session = n->st.session;
	uj.extranonce_size = OPENSY_EXTRANONCE_SIZE;
	uj.reward = t.coinbasevalue;
	if (has_next && memcmp(next, key, 32) != 0) {
		memcpy(uj.next_seed_hash, next, 32);
		uj.has_next_seed = 1;
	}
	pthread_mutex_unlock(&n->lock);
	if (fresh_login) {
		log_info("node %s: mining at height %" PRId64, n->url, t.height);
		if (n->cb.on_state != NULL) {
			ch.event = UPSTREAM_EV_CONNECTED;
			ch.url = n->url;
			ch.msg = "";
			n->cb.on_state(n->cb.arg, &ch);
		}
	}
	if (n->cb.on_job != NULL)
		n->cb.on_job(n->cb.arg, &uj);
	/* The tip's time and the peers are for people: after the work. */
	if (clean)
		tip_info(n, prev);
}

static json_t *
gbt_params(const char *longpollid)
{
	json_t *o = json_pack("{s:[s]}", "rules", "segwit");

	if (o != NULL && longpollid != NULL)
		json_object_set_new(o, "longpollid", json_string(longpollid));
	return json_pack("[o]", o);
}

/* ---- blocks ------------------------------------------------------------ */

static struct found *
found_find(struct node *n, const char *job_id, uint64_t ext, uint32_t nonce)
{
	for (size_t i = 0; i < n->nfound; i++)
		if (n->found[i].ext == ext && n->found[i].nonce == nonce &&
		    strcmp(n->found[i].job_id, job_id) == 0)
			return &n->found[i];
	return NULL;
}

static struct found *
found_add(struct node *n)
{
	if (n->nfound == n->capfound) {
		size_t cap = n->capfound ? n->capfound * 2 : 16;
		struct found *f = realloc(n->found, cap * sizeof(*f));
		if (f == NULL)
			return NULL;
		n->found = f;
		n->capfound = cap;
	}
	memset(&n->found[n->nfound], 0, sizeof(n->found[0]));
	return &n->found[n->nfound++];
}

/*
 * Submits the block of (job, ext, nonce) unless it is submitted already:
 * the block is assembled under the lock, submitblock is sent on the
 * submit connection.  Returns 0 when the block's answer is known (or on
 * its way from another thread), -1 when the job is unknown or the hash is
 * no block.  Any thread.
 */
static int
submit_block(struct node *n, const char *job_id, uint64_t ext, uint32_t nonce,
    const uint8_t result[32], int *not_block)
{
	uint8_t header[80], cb[OPENSY_COINBASE_MAX], bh[32];
	struct node_rpc_error e;
	struct found *f;
	struct ntpl *p;
	char *hex = NULL, hash[65];
	json_t *res = NULL;
	int cb_len = 0, rc;
	int64_t t0, height;

	*not_block = 0;
	pthread_mutex_lock(&n->lock);
	if ((f = found_find(n, job_id, ext, nonce)) != NULL &&
	    (f->answered || f->busy)) {
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	if ((p = tpl_find(n, job_id)) == NULL) {
		pthread_mutex_unlock(&n->lock);
		return -1;
	}
	if (!opensy_hash_meets(result, p->t.target)) {
		pthread_mutex_unlock(&n->lock);
		*not_block = 1;
		return -1;
	}
	if (build(n, p, ext, nonce, header, cb, &cb_len) != 0 ||
	    (hex = opensy_block_hex(&p->t, header, cb, (size_t)cb_len)) == NULL ||
	    (f == NULL && (f = found_add(n)) == NULL)) {
		pthread_mutex_unlock(&n->lock);
		free(hex);
		log_error("node: block of job %s could not be assembled", job_id);
		return -1;
	}
	snprintf(f->job_id, sizeof(f->job_id), "%s", job_id);
	f->ext = ext;
	f->nonce = nonce;
	f->height = p->t.height;
	f->reward = p->t.coinbasevalue;
	f->busy = 1;
	opensy_sha256d(header, 80, bh);
	opensy_hash_to_display(bh, f->hash);
	memcpy(hash, f->hash, sizeof(hash));
	height = f->height;
	n->st.blocks_submitted++;
	pthread_mutex_unlock(&n->lock);

	log_info("node %s: submitblock: block %s at height %" PRId64 " (job %s, "
	    "extranonce %" PRIu64 ", nonce %08x)", n->url, hash, height,
	    job_id, ext, nonce);
	t0 = clock_mono_ms();
	rc = node_rpc_call(n->sub, "submitblock", json_pack("[s]", hex),
	    NODE_RPC_TIMEOUT_MS, &res, &e);
	free(hex);
	pthread_mutex_lock(&n->lock);
	if ((f = found_find(n, job_id, ext, nonce)) != NULL) {
		f->busy = 0;
		if (rc == 0) {
			const char *why = json_is_string(res) ?
			    json_string_value(res) : NULL;
			f->answered = 1;
			/* "duplicate": the node has it already (ours). */
			f->accepted = why == NULL || strcmp(why, "duplicate") == 0 ||
			    strcmp(why, "inconclusive") == 0;
			snprintf(f->msg, sizeof(f->msg), "%s", why ? why : "");
			f->next_check_ms = clock_mono_ms();
			if (f->accepted) {
				n->st.blocks_accepted++;
				n->poll_now = 1;	/* our block is the tip */
			}
			n->st.last_latency_ms = clock_mono_ms() - t0;
		}
	}
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	if (rc != 0)
		log_warnx("node %s: submitblock for job %s: %s (tried again)",
		    n->url, job_id, e.msg);
	json_decref(res);
	return 0;
}

static void
node_block_found(void *impl, const char *job_id, uint64_t extranonce,
    const uint8_t nonce[4], const uint8_t result[32])
{
	struct node *n = impl;
	int not_block;

	if (submit_block(n, job_id, extranonce, le32_read(nonce), result,
	    &not_block) != 0 && !not_block)
		log_warnx("node: block on job %s (extranonce %" PRIu64 ") not "
		    "submitted: the template is gone", job_id, extranonce);
}

static int
node_submit(void *impl, uint64_t share_id, const char *job_id,
    uint64_t extranonce, const uint8_t nonce[4], const uint8_t result[32])
{
	struct node *n = impl;
	struct pend *q;
	int rc = 0;

	if (strlen(job_id) >= NODE_ID_MAX)
		return UPSTREAM_EINVAL;
	pthread_mutex_lock(&n->lock);
	if (!n->connected || !atomic_load(&n->running))
		rc = UPSTREAM_ENOTCONN;
	else if (tpl_find(n, job_id) == NULL &&
	    found_find(n, job_id, extranonce, le32_read(nonce)) == NULL)
		rc = UPSTREAM_ESTALE;
	else if (n->npend == n->cappend) {
		size_t cap = n->cappend ? n->cappend * 2 : 16;
		if ((q = realloc(n->pend, cap * sizeof(*q))) == NULL)
			rc = UPSTREAM_ENOTCONN;
		else {
			n->pend = q;
			n->cappend = cap;
		}
	}
	if (rc == 0) {
		q = &n->pend[n->npend++];
		q->share_id = share_id;
		snprintf(q->job_id, sizeof(q->job_id), "%s", job_id);
		q->ext = extranonce;
		q->nonce = le32_read(nonce);
		memcpy(q->result, result, 32);
		pthread_cond_broadcast(&n->cond);
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

static void
node_follow_block(void *impl, const char *hash, int64_t height, int64_t reward)
{
	struct node *n = impl;
	struct found *f;

	pthread_mutex_lock(&n->lock);
	if ((f = found_add(n)) != NULL) {
		snprintf(f->job_id, sizeof(f->job_id), "restored");
		snprintf(f->hash, sizeof(f->hash), "%s", hash);
		f->height = height;
		f->reward = reward;
		f->answered = f->accepted = f->reported = 1;
		f->ext = UINT64_MAX;
	}
	pthread_mutex_unlock(&n->lock);
}

/* Answers queued shares whose block has its answer; submits those that
 * were never submitted.  I/O thread. */
static void
pend_run(struct node *n)
{
	for (;;) {
		struct upstream_submit_result r;
		struct pend q;
		struct found *f;
		int not_block, have = 0;

		pthread_mutex_lock(&n->lock);
		for (size_t i = 0; i < n->npend && !have; i++) {
			f = found_find(n, n->pend[i].job_id, n->pend[i].ext,
			    n->pend[i].nonce);
			if (f != NULL && f->busy)
				continue;
			q = n->pend[i];
			have = 1;
			if (f != NULL && f->answered) {
				memset(&r, 0, sizeof(r));
				r.share_id = q.share_id;
				r.accepted = f->accepted;
				r.reason = f->accepted ? UPSTREAM_OK : UPSTREAM_REJ_OTHER;
				snprintf(r.message, sizeof(r.message), "%s",
				    f->accepted ? "" : f->msg);
				r.latency_ms = n->st.last_latency_ms;
				memmove(&n->pend[i], &n->pend[i + 1],
				    (n->npend - i - 1) * sizeof(*n->pend));
				n->npend--;
				have = 2;
			}
		}
		pthread_mutex_unlock(&n->lock);
		if (!have)
			return;
		if (have == 2) {
			if (n->cb.on_result != NULL)
				n->cb.on_result(n->cb.arg, &r);
			continue;
		}
		if (submit_block(n, q.job_id, q.ext, q.nonce, q.result,
		    &not_block) == 0) {
			pthread_mutex_lock(&n->lock);
			f = found_find(n, q.job_id, q.ext, q.nonce);
			have = f != NULL && f->answered;
			pthread_mutex_unlock(&n->lock);
			if (have)
				continue;
			return;		/* no answer (node gone): later */
		}
		memset(&r, 0, sizeof(r));
		r.share_id = q.share_id;
		r.reason = not_block ? UPSTREAM_REJ_LOW_DIFF : UPSTREAM_REJ_STALE;
		snprintf(r.message, sizeof(r.message), "%s", not_block ?
		    "not a block: above the template's target" :
		    "the template is no longer held");
		pthread_mutex_lock(&n->lock);
		for (size_t i = 0; i < n->npend; i++)
			if (n->pend[i].share_id == q.share_id) {
				memmove(&n->pend[i], &n->pend[i + 1],
				    (n->npend - i - 1) * sizeof(*n->pend));
				n->npend--;
				break;
			}
		pthread_mutex_unlock(&n->lock);
		if (n->cb.on_result != NULL)
			n->cb.on_result(n->cb.arg, &r);
	}
}

static void
block_event(struct node *n, const struct found *f, enum upstream_block_status s)
{
	struct upstream_block_event ev;

	if (n->cb.on_block == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.status = s;
	memcpy(ev.hash, f->hash, sizeof(ev.hash));
	ev.height = f->height;
	ev.reward = f->reward;
	ev.confirmations = f->confirmations;
	ev.msg = f->msg;
	n->cb.on_block(n->cb.arg, &ev);
}

/* Found blocks: the submit answers, then their place in the best chain.
 * I/O thread. */
static void
follow_run(struct node *n)
{
	int64_t now = clock_mono_ms();

	for (size_t i = 0;; i++) {
		struct found f;
		struct node_rpc_error e;
		json_t *res;
		enum upstream_block_status s;
		int report = -1;
		int64_t conf;

		pthread_mutex_lock(&n->lock);
		if (i >= n->nfound) {
			pthread_mutex_unlock(&n->lock);
			return;
		}
		f = n->found[i];
		if (f.answered && !f.reported) {
			n->found[i].reported = 1;
			n->found[i].final = !f.accepted;
		}
		pthread_mutex_unlock(&n->lock);
		if (f.answered && !f.reported) {
			block_event(n, &f, f.accepted ? UPSTREAM_BLOCK_ACCEPTED :
			    UPSTREAM_BLOCK_REJECTED);
			log_info("node %s: block %s at height %" PRId64 " %s%s%s", n->url,
			    f.hash, f.height, f.accepted ? "accepted" : "REJECTED",
			    f.msg[0] ? ": " : "", f.msg);
			if (!f.accepted)
				continue;
		}
		if (!f.answered || f.final || now < f.next_check_ms)
			continue;
		if (node_rpc_call(n->rpc, "getblockheader", json_pack("[s]", f.hash),
		    NODE_RPC_TIMEOUT_MS, &res, &e) == 0) {
			conf = json_integer_value(json_object_get(res, "confirmations"));
			json_decref(res);
		} else if (e.status == NODE_RPC_ERROR && e.code == -5) {
			conf = -1;	/* the node does not know it any more */
		} else {
			continue;
		}
		pthread_mutex_lock(&n->lock);
		if (i < n->nfound && strcmp(n->found[i].hash, f.hash) == 0) {
			struct found *g = &n->found[i];
			g->next_check_ms = now + n->follow_ms;
			if (conf < 0) {
				g->final = 1;
				report = UPSTREAM_BLOCK_ORPHANED;
			} else if (conf >= n->maturity) {
				g->final = 1;
				report = UPSTREAM_BLOCK_MATURE;
			} else if (conf != g->confirmations) {
				report = UPSTREAM_BLOCK_CONFIRMED;
			}
			g->confirmations = conf;
			f = *g;
		}
		pthread_mutex_unlock(&n->lock);
		if (report >= 0) {
			s = (enum upstream_block_status)report;
			if (s != UPSTREAM_BLOCK_CONFIRMED)
				log_info("node %s: block %s at height %" PRId64 " is %s",
				    n->url, f.hash, f.height,
				    s == UPSTREAM_BLOCK_ORPHANED ? "ORPHANED (gone from "
				    "the best chain)" : "mature");
			block_event(n, &f, s);
		}
	}
}

/* ---- threads ----------------------------------------------------------- */

static void *
io_thread(void *arg)
{
	struct node *n = arg;
	int64_t next_poll = 0, next_follow = 0;

	while (atomic_load(&n->running)) {
		int64_t now = clock_mono_ms(), wake;
		json_t *lp;

		pthread_mutex_lock(&n->lock);
		lp = n->lp_result;
		n->lp_result = NULL;
		if (n->poll_now) {
			n->poll_now = 0;
			next_poll = now;
		}
		pthread_mutex_unlock(&n->lock);
		if (lp != NULL) {
			template_in(n, lp, 0);
		} else if (now >= next_poll) {
			struct node_rpc_error e;
			json_t *res;
			if (!n->chain_ok && check_chain(n, &e) != 0) {
				if (!atomic_load(&n->running))
					break;
				node_waits(n, &e);
				next_poll = clock_mono_ms() + NODE_RETRY_MS;
			} else if (node_rpc_call(n->rpc, "getblocktemplate",
			    gbt_params(NULL), NODE_RPC_TIMEOUT_MS, &res, &e) == 0) {
				template_in(n, res, 0);
				next_poll = clock_mono_ms() + n->poll_ms;
			} else {
				if (!atomic_load(&n->running))
					break;
				node_waits(n, &e);
				next_poll = clock_mono_ms() + NODE_RETRY_MS;
			}
		}
		pend_run(n);
		if (now >= next_follow) {
			follow_run(n);
			next_follow = clock_mono_ms() + 200;
		}
		pthread_mutex_lock(&n->lock);
		wake = next_poll < next_follow ? next_poll : next_follow;
		if (n->lp_result == NULL && !n->poll_now &&
		    atomic_load(&n->running) && wake > clock_mono_ms()) {
			struct timespec ts = clock_deadline(CLOCK_MONOTONIC,
			    wake - clock_mono_ms());
			pthread_cond_timedwait(&n->cond, &n->lock, &ts);
		}
		pthread_mutex_unlock(&n->lock);
	}
	return NULL;
}

static void *
lp_thread(void *arg)
{
	struct node *n = arg;
	uint64_t done_gen = 0;

	while (atomic_load(&n->running)) {
		struct node_rpc_error e;
		json_t *res;
		char *id = NULL;
		uint64_t gen;

		pthread_mutex_lock(&n->lock);
		while (atomic_load(&n->running) && (n->longpollid == NULL ||
		    n->lp_gen == done_gen)) {
			struct timespec ts = clock_deadline(CLOCK_MONOTONIC, 1000);
			pthread_cond_timedwait(&n->cond, &n->lock, &ts);
		}
		gen = n->lp_gen;
		if (n->longpollid != NULL)
			id = strdup(n->longpollid);
		pthread_mutex_unlock(&n->lock);
		if (id == NULL)
			continue;
		if (node_rpc_call(n->lp, "getblocktemplate", gbt_params(id),
		    NODE_LONGPOLL_TIMEOUT_MS, &res, &e) == 0) {
			pthread_mutex_lock(&n->lock);
			json_decref(n->lp_result);
			n->lp_result = res;
			done_gen = gen;	/* wait for the next longpollid */
			pthread_cond_broadcast(&n->cond);
			pthread_mutex_unlock(&n->lock);
		} else if (atomic_load(&n->running)) {
			/* The I/O thread's poll says why; wait a little. */
			pthread_mutex_lock(&n->lock);
			struct timespec ts = clock_deadline(CLOCK_MONOTONIC,
			    NODE_RETRY_MS);
			pthread_cond_timedwait(&n->cond, &n->lock, &ts);
			pthread_mutex_unlock(&n->lock);
		}
		free(id);
	}
	return NULL;
}

static int
node_start(void *impl)
{
	struct node *n = impl;

	atomic_store(&n->running, 1);
	if (pthread_create(&n->io, NULL, io_thread, n) != 0) {
		atomic_store(&n->running, 0);
		return -1;
	}
	if (pthread_create(&n->lpt, NULL, lp_thread, n) != 0) {
		atomic_store(&n->running, 0);
		pthread_mutex_lock(&n->lock);
		pthread_cond_broadcast(&n->cond);
		pthread_mutex_unlock(&n->lock);
		pthread_join(n->io, NULL);
		return -1;
	}
	n->started = 1;
	log_info("node %s: solo mining, long-poll on, template refresh every %"
	    PRId64 " ms", n->url, n->poll_ms);
	return 0;
}

static void
node_stop(void *impl)
{
	struct node *n = impl;

	if (!n->started)
		return;
	atomic_store(&n->running, 0);
	node_rpc_abort(n->lp);
	node_rpc_abort(n->rpc);
	pthread_mutex_lock(&n->lock);
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->io, NULL);
	pthread_join(n->lpt, NULL);
	n->started = 0;
	/* Shares still queued: their verdict is unknown. */
	for (size_t i = 0; i < n->npend; i++) {
		struct upstream_submit_result r = { 0 };
		r.share_id = n->pend[i].share_id;
		r.reason = UPSTREAM_REJ_LOST;
		snprintf(r.message, sizeof(r.message), "coordinator stopping");
		if (n->cb.on_result != NULL)
			n->cb.on_result(n->cb.arg, &r);
	}
	n->npend = 0;
}

static void
node_get_stats(void *impl, struct upstream_stats *st)
{
	struct node *n = impl;

	pthread_mutex_lock(&n->lock);
	*st = n->st;
	pthread_mutex_unlock(&n->lock);
}

static const struct upstream_ops node_ops = {
	.name = "node", .start = node_start, .stop = node_stop,
	.submit = node_submit, .make_blob = node_make_blob,
	.block_found = node_block_found, .follow_block = node_follow_block,
	.get_stats = node_get_stats, .free = node_free
};
