/*
 * shares.c: a share's way from SubmitShare to its verdict, the ledger and
 * the pool (see shares.h).  The rule that matters: a worker hears
 * "accepted" only after the ledger transaction holding the share has
 * committed, and a share goes to the pool only after that too, so nothing
 * acknowledged or submitted can be missing after a crash.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/target.h"
#include "coordinator/shares.h"

enum sh_msg { SH_COMMITTED = 1, SH_UP_RESULT, SH_UP_CONNECTED };

struct up_connected {
	struct mpscq_node node;		/* SH_UP_CONNECTED */
	unsigned source;
};

struct pending {
	struct mpscq_node node;		/* SH_COMMITTED */
	struct verify_job vj;
	struct shares *s;
	struct rpc_share *sh;
	char worker_id[LEDGER_ID_MAX];
	char job_id[24];
	struct share_ctx ctx;
	uint8_t claimed[32], hash[32];
	uint64_t credited, hashdiff;
	int block, to_pool;
	int admitted;			/* holds a verification slot */
	int64_t block_id;		/* a block: its row, with the share's */
	char block_hex[65];
	int64_t share_id;
	int status;
};

struct up_result {
	struct mpscq_node node;		/* SH_UP_RESULT */
	struct upstream_submit_result res;
};

struct outbox_item {
	int64_t share_id, block_id;
	char upstream_id[JOBS_ID_MAX];
	uint64_t extranonce;	/* node work: the lease's; 0 for pools */
	uint8_t nonce[4], result[32];
	unsigned source;	/* the upstream connection of its job */
	int inflight;
	int resent;		/* sent again after a verdict was lost */
	int64_t queued_at;	/* epoch ms it entered the outbox */
};

struct shares {
	struct shares_config cfg;
	struct jobs *jobs;
	struct registry *reg;		/* verification admission */
	struct ledger *ledger;
	struct upstream *ups[JOBS_SOURCES_MAX];	/* set before their start */
	struct verifier *verifier;
	struct mpscq queue;		/* to the share thread */
	pthread_t thread;
	shares_event_fn event_fn;
	void *event_arg;

	atomic_int stopping;		/* shares_drain: take no more shares */

	/* owned by the share thread */
	struct outbox_item *outbox;
	size_t noutbox, capoutbox;

	pthread_mutex_t stats_lock;	/* guards stats */
	struct shares_stats stats;
};

static const char *
reason_message(enum ledger_reason r)
{
	switch (r) {
	case LEDGER_REASON_OK: return "accepted";
	case LEDGER_REASON_UNKNOWN_JOB: return "unknown job";
	case LEDGER_REASON_STALE: return "stale job";
	case LEDGER_REASON_OUTSIDE_LEASE: return "nonce outside your lease";
	case LEDGER_REASON_DUPLICATE: return "duplicate share";
	case LEDGER_REASON_BAD_HASH: return "result does not match the RandomX hash";
	case LEDGER_REASON_LOW_DIFFICULTY: return "low difficulty share";
	case LEDGER_REASON_UNAUTHORIZED: return "not authorized for this worker id";
	case LEDGER_REASON_MALFORMED: return "malformed share: nonce must be 4 bytes, result 32";
	case LEDGER_REASON_COUNT: break;
	}
	return "rejected";
}

static void
count(struct shares *s, enum ledger_reason r, int block, int retry)
{
	pthread_mutex_lock(&s->stats_lock);
	if (retry) {
		s->stats.retries++;
	} else {
		s->stats.by_reason[r]++;
		if (r == LEDGER_REASON_OK)
			s->stats.valid++;
		else
			s->stats.invalid++;
		if (block) {
			s->stats.blocks++;
			s->stats.last_block_at = clock_wall_ms();
		}
	}
	pthread_mutex_unlock(&s->stats_lock);
}

/* Rejections that cost a RandomX hash: they count against the sender. */
static int
costly(enum ledger_reason r)
{
	return r == LEDGER_REASON_BAD_HASH || r == LEDGER_REASON_LOW_DIFFICULTY;
}

static void
reply(struct shares *s, struct rpc_share *sh, const char *worker_id,
    const char *job_id, enum ledger_reason r, double difficulty, int is_block,
    const char *block_hash, int64_t block_id, int64_t height, int64_t reward)
{
	struct rpc_share_verdict rv = { 0 };

	rv.accepted = r == LEDGER_REASON_OK;
	rv.reason = reason_message(r);
	rv.difficulty = difficulty;
	rv.is_block = is_block;
	rv.block_hash = block_hash;
	rv.costly = costly(r) && s->verifier != NULL;
	rpc_share_reply(sh, &rv);
	count(s, r, is_block, 0);
	if (r != LEDGER_REASON_OK)
		log_info("share from %s on job %s rejected: %s", worker_id, job_id,
		    ledger_reason_name(r));
	if (s->event_fn != NULL) {
		struct shares_verdict v = { worker_id, job_id, r,
			(uint64_t)difficulty, is_block, block_id, height,
			block_hash != NULL ? block_hash : "",
			reward > 0 || s->cfg.block_reward > 0,
			reward > 0 ? (uint64_t)reward : s->cfg.block_reward,
			clock_wall_ms() };
		s->event_fn(s->event_arg, &v);
	}
}

static void
reply_retry(struct shares *s, struct rpc_share *sh, const char *why)
{
	struct rpc_share_verdict v = { 0 };

	v.reason = why;
	v.retry_after_ms = (int32_t)(s->cfg.retry_ms > 0 ? s->cfg.retry_ms : 1000);
	rpc_share_reply(sh, &v);
	count(s, LEDGER_REASON_OK, 0, 1);
}

/* The job id the worker named, as a ledger id (0: not one of ours). */
static int64_t
job_ref(const char *job_id, enum ledger_reason r)
{
	char *end;
	unsigned long long v;

	if (r == LEDGER_REASON_UNKNOWN_JOB || job_id == NULL || strlen(job_id) != 16)
		return 0;
	v = strtoull(job_id, &end, 16);
	return *end == '\0' ? (int64_t)v : 0;
}

/* A share refused before any credit: its row is written (every share is a
 * row), the worker is answered at once (nothing to make durable first). */
static void
reject(struct shares *s, struct rpc_share *sh, const char *worker_id,
    const char *job_id, uint32_t nonce, const uint8_t *result, int64_t lease_id,
    uint64_t hashdiff, enum ledger_reason r)
{
	struct ledger_share row = { 0 };

	row.job_id = job_ref(job_id, r);
	row.lease_id = r == LEDGER_REASON_OUTSIDE_LEASE ? 0 : lease_id;
	row.worker_id = worker_id;
	row.nonce = nonce;
	row.result = result;
	row.hash_difficulty = hashdiff;
	row.reason = r;
	row.upstream = LEDGER_FATE_NOT_NEEDED;
	row.created_at = clock_wall_ms();
	ledger_append_share(s->ledger, &row, NULL, NULL);
	reply(s, sh, worker_id, job_id, r, 0, 0, NULL, 0, 0, 0);
}

static void
on_commit(void *arg, int64_t share_id, int status)
{
	struct pending *p = arg;

	/* Writer thread: hand over, nothing else. */
	p->share_id = share_id;
	p->status = status;
	p->node.type = SH_COMMITTED;
	mpscq_push(&p->s->queue, &p->node);
}

/* After the hash: the last two checks, then the ledger. */
static void
judge(struct pending *p, const uint8_t hash[32])
{
	struct shares *s = p->s;
	struct ledger_share row = { 0 };
	enum ledger_reason r = LEDGER_REASON_OK;

	memcpy(p->hash, hash, 32);
	p->hashdiff = hash_difficulty(hash);
	if (memcmp(hash, p->claimed, 32) != 0)
		r = LEDGER_REASON_BAD_HASH;
	else if (!hash_meets_target64(hash, p->ctx.share_target))
		r = LEDGER_REASON_LOW_DIFFICULTY;
	if (r != LEDGER_REASON_OK) {
		/* The (job, nonce) stays taken: a broken worker cannot make us
		 * hash the same nonce again and again. */
		reject(s, p->sh, p->worker_id, p->job_id, p->ctx.nonce, p->claimed,
		    (int64_t)p->ctx.lease_id, p->hashdiff, r);
		free(p);
		return;
	}
	p->credited = target_to_difficulty(p->ctx.share_target);
	p->block = p->ctx.has_block_target &&
	    hash_meets_target256(hash, p->ctx.block_target);
	p->to_pool = p->block || hash_meets_target64(hash, p->ctx.upstream_target);
	if (p->block && p->ctx.extranonce_size > 0 &&
	    p->ctx.source < JOBS_SOURCES_MAX && s->ups[p->ctx.source] != NULL) {
		/* A block on node work goes to the node now, before the
		 * ledger: the outbox's submit later only fetches the answer. */
		uint8_t nb[4];
		le32_write(nb, p->ctx.nonce);
		upstream_block_found(s->ups[p->ctx.source], p->ctx.upstream_id,
		    p->ctx.extranonce, nb, hash);
	}
	row.job_id = (int64_t)p->ctx.job_seq;
	row.lease_id = (int64_t)p->ctx.lease_id;
	row.worker_id = p->worker_id;
	row.nonce = p->ctx.nonce;
	row.result = p->claimed;
	row.difficulty = p->credited;
	row.hash_difficulty = p->hashdiff;
	row.reason = LEDGER_REASON_OK;
	row.block_candidate = p->block;
	row.upstream = p->to_pool ? LEDGER_FATE_PENDING : LEDGER_FATE_NOT_NEEDED;
	row.created_at = clock_wall_ms();
	if (p->block) {
		/* One transaction for the share and its block: a crash keeps
		 * both or neither, and the worker hears "block" after both. */
		struct ledger_block b = { 0 };
		uint8_t bh[32];
		double netdiff = target256_difficulty(p->ctx.block_target);

		block_id_hash(p->ctx.input, p->ctx.input_len, p->hash, bh);
		hex_encode(bh, 32, p->block_hex, sizeof(p->block_hex));
		b.height = p->ctx.height > 0 ? (uint64_t)p->ctx.height : 0;
		b.hash = bh;
		b.hash_len = 32;
		b.network_difficulty = netdiff >= 1.8e19 ? UINT64_MAX :
		    (uint64_t)netdiff;
		b.window_n = pplns_window_n(b.network_difficulty,
		    s->cfg.window_factor_milli, s->cfg.window_abs);
		b.fee_bps = s->cfg.fee_bps;
		b.status = LEDGER_BLOCK_CANDIDATE;
		b.has_reward = s->cfg.block_reward > 0 || p->ctx.reward > 0;
		b.reward = p->ctx.reward > 0 ? (uint64_t)p->ctx.reward :
		    s->cfg.block_reward;
		/* node work: immature until the node confirms it enough */
		b.maturity = p->ctx.extranonce_size > 0 ? s->cfg.node_maturity : 0;
		b.found_at = row.created_at;
		ledger_append_block_share(s->ledger, &row, &b, on_commit, p,
		    &p->block_id);
		return;
	}
	ledger_append_share(s->ledger, &row, on_commit, p);
}

static void
on_verified(struct verify_job *vj, void *arg)
{
	struct pending *p = arg;

	if (p->admitted) {
		registry_verify_done(p->s->reg, p->worker_id);
		p->admitted = 0;
	}
	if (vj->status != 0) {
		jobs_unreserve(p->s->jobs, p->ctx.job_seq, p->ctx.nonce);
		reply_retry(p->s, p->sh, "verification unavailable: retry");
		free(p);
		return;
	}
	judge(p, vj->hash);
}

void
shares_submit(struct shares *s, struct rpc_share *sh, const char *worker_id,
    const struct rpc_share_req *req)
{
	struct pending *p;
	enum ledger_reason r;
	uint32_t nonce = req->nonce_len == 4 ? le32_read(req->nonce) : 0;
	const uint8_t *result = req->result_len == 32 ? req->result : NULL;
	int rc;

	if (atomic_load(&s->stopping)) {
		rpc_share_fail(sh, RPC_FAIL_UNAVAILABLE, "coordinator stopping");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rpc_share_fail(sh, RPC_FAIL_EXHAUSTED, "out of memory");
		return;
	}
	p->s = s;
	p->sh = sh;
	snprintf(p->worker_id, sizeof(p->worker_id), "%s", worker_id);
	snprintf(p->job_id, sizeof(p->job_id), "%s", req->job_id);
	if (result == NULL || req->nonce_len != 4)
		r = LEDGER_REASON_MALFORMED;
	else
		r = jobs_check_share(s->jobs, worker_id, p->job_id, req->nonce,
		    req->nonce_len, &p->ctx);
	if (r != LEDGER_REASON_OK) {
		reject(s, sh, p->worker_id, p->job_id, nonce, result, 0, 0, r);
		free(p);
		return;
	}
	memcpy(p->claimed, result, 32);
	if (s->verifier == NULL) {	/* verify = none: trust the worker */
		judge(p, p->claimed);
		return;
	}
	/* Its rate and its fair part of the queue: a flood from one worker
	 * waits at its own door, not in front of everyone's shares. */
	if (s->reg != NULL) {
		if (registry_verify_admit(s->reg, p->worker_id, clock_wall_ms()) != 0) {
			jobs_unreserve(s->jobs, p->ctx.job_seq, p->ctx.nonce);
			reply_retry(s, sh, "share rate above this worker's part of "
			    "verification: retry");
			free(p);
			return;
		}
		p->admitted = 1;
	}
	memcpy(p->vj.seed, p->ctx.seed, p->ctx.seed_len);
	p->vj.seed_len = p->ctx.seed_len;
	memcpy(p->vj.input, p->ctx.input, p->ctx.input_len);
	p->vj.input_len = p->ctx.input_len;
	p->vj.done = on_verified;
	p->vj.arg = p;
	if ((rc = verifier_submit(s->verifier, &p->vj)) != 0) {
		/* Back-pressure: the worker keeps the share and resends it. */
		if (p->admitted)
			registry_verify_done(s->reg, p->worker_id);
		jobs_unreserve(s->jobs, p->ctx.job_seq, p->ctx.nonce);
		reply_retry(s, sh, rc == -2 ? "verification queue full: retry" :
		    "coordinator stopping: retry");
		free(p);
	}
}

/* --- the share thread: after the commit --- */

/* The outbox's figures for stats and shares_drain.  Share thread. */
static void
outbox_count(struct shares *s)
{
	size_t inflight = 0;
	int64_t oldest = 0;

	for (size_t i = 0; i < s->noutbox; i++) {
		inflight += s->outbox[i].inflight != 0;
		if (oldest == 0 || s->outbox[i].queued_at < oldest)
			oldest = s->outbox[i].queued_at;
	}
	pthread_mutex_lock(&s->stats_lock);
	s->stats.outbox = s->noutbox;
	s->stats.outbox_inflight = inflight;
	s->stats.outbox_oldest_at = oldest;
	pthread_mutex_unlock(&s->stats_lock);
}

static struct outbox_item *
outbox_find(struct shares *s, int64_t share_id)
{
	for (size_t i = 0; i < s->noutbox; i++)
		if (s->outbox[i].share_id == share_id)
			return &s->outbox[i];
	return NULL;
}

static void
outbox_remove(struct shares *s, struct outbox_item *it)
{
	size_t i = (size_t)(it - s->outbox);

	memmove(it, it + 1, (s->noutbox - i - 1) * sizeof(*it));
	s->noutbox--;
	outbox_count(s);
}

static void
outbox_expire(struct shares *s, struct outbox_item *it, const char *why)
{
	int64_t now = clock_wall_ms();

	log_warnx("share %" PRId64 " for upstream job %s not sent: %s", it->share_id,
	    it->upstream_id, why);
	ledger_share_fate(s->ledger, it->share_id, LEDGER_FATE_EXPIRED, why, now);
	/* A block that never reached the pool keeps its status (candidate):
	 * the pool did not reject it, we did not deliver it. */
	if (it->block_id != 0)
		log_warnx("BLOCK %" PRId64 " (share %" PRId64 ") not delivered: %s",
		    it->block_id, it->share_id, why);
	outbox_remove(s, it);
}

/* Sends one waiting share if the pool is there; 1 when it is gone from
 * the outbox or in flight, 0 when it must keep waiting. */
static int
outbox_send(struct shares *s, struct outbox_item *it)
{
	int64_t now = clock_wall_ms();
	int rc;

	if (it->source >= JOBS_SOURCES_MAX || s->ups[it->source] == NULL)
		return 0;
	rc = upstream_submit(s->ups[it->source], (uint64_t)it->share_id,
	    it->upstream_id, it->extranonce, it->nonce, it->result);
	if (rc == 0) {
		it->inflight = 1;
		outbox_count(s);
		ledger_share_fate(s->ledger, it->share_id, LEDGER_FATE_SUBMITTED, NULL,
		    now);
		if (it->block_id != 0)
			ledger_block_update(s->ledger, it->block_id,
			    LEDGER_BLOCK_SUBMITTED, 0, 0, now);
		pthread_mutex_lock(&s->stats_lock);
		s->stats.upstream_submitted++;
		pthread_mutex_unlock(&s->stats_lock);
		return 1;
	}
	if (rc == UPSTREAM_ENOTCONN)
		return 0;
	/* Never the pool's verdict: the share is lost here, not rejected. */
	outbox_expire(s, it, rc == UPSTREAM_ESTALE ? "job no longer valid upstream" :
	    "lost: the upstream client could not queue it");
	return 1;
}

static void
outbox_add(struct shares *s, const struct outbox_item *src)
{
	if (s->noutbox == s->capoutbox) {
		size_t cap = s->capoutbox ? s->capoutbox * 2 : 64;
		struct outbox_item *n = realloc(s->outbox, cap * sizeof(*n));
		if (n == NULL) {
			log_warnx("share %" PRId64 ": no memory for the outbox",
			    src->share_id);
			return;
		}
		s->outbox = n;
		s->capoutbox = cap;
	}
	if (s->noutbox >= s->cfg.outbox_max && s->noutbox > 0) {
		/* Bounded: the oldest waiting share is the least likely to
		 * still be wanted. */
		for (size_t i = 0; i < s->noutbox; i++) {
			if (!s->outbox[i].inflight) {
				outbox_expire(s, &s->outbox[i], "outbox full");
				break;
			}
		}
	}
	s->outbox[s->noutbox++] = *src;
	if (s->outbox[s->noutbox - 1].queued_at == 0)
		s->outbox[s->noutbox - 1].queued_at = clock_wall_ms();
	outbox_count(s);
	outbox_send(s, &s->outbox[s->noutbox - 1]);
}


static void
committed(struct shares *s, struct pending *p)
{
	struct outbox_item it;
	int64_t block_id = p->block ? p->block_id : 0;

	if (p->status != LEDGER_COMMITTED) {
		jobs_unreserve(s->jobs, p->ctx.job_seq, p->ctx.nonce);
		log_warnx("share from %s not recorded (%s): asking it to retry",
		    p->worker_id, ledger_status_name(p->status));
		reply_retry(s, p->sh, "ledger cannot write now: retry");
		return;
	}
	if (p->block)
		log_info("BLOCK candidate %s at height %" PRId64 " by %s (share %"
		    PRId64 ", block %" PRId64 ")", p->block_hex, p->ctx.height,
		    p->worker_id, p->share_id, block_id);
	reply(s, p->sh, p->worker_id, p->job_id, LEDGER_REASON_OK,
	    (double)p->credited, p->block, p->block ? p->block_hex : "", block_id,
	    p->ctx.height, p->ctx.reward);
	jobs_share_credited(s->jobs, p->worker_id, p->credited, clock_wall_ms());
	if (p->to_pool) {
		memset(&it, 0, sizeof(it));
		it.share_id = p->share_id;
		it.block_id = block_id;
		memcpy(it.upstream_id, p->ctx.upstream_id, sizeof(it.upstream_id));
		it.extranonce = p->ctx.extranonce;
		it.source = p->ctx.source;
		le32_write(it.nonce, p->ctx.nonce);
		memcpy(it.result, p->hash, 32);
		outbox_add(s, &it);
	}
}

static void
upstream_accepted_late(struct shares *s, struct outbox_item *it, int64_t now)
{
	ledger_share_fate(s->ledger, it->share_id, LEDGER_FATE_ACCEPTED,
	    "duplicate of its own earlier send", now);
	if (it->block_id != 0)
		ledger_block_update(s->ledger, it->block_id, LEDGER_BLOCK_ACCEPTED, 0, 0,
		    now);
	pthread_mutex_lock(&s->stats_lock);
	s->stats.upstream_accepted++;
	pthread_mutex_unlock(&s->stats_lock);
	outbox_remove(s, it);
}

static void
upstream_answered(struct shares *s, const struct upstream_submit_result *res)
{
	struct outbox_item *it = outbox_find(s, (int64_t)res->share_id);
	int64_t now = clock_wall_ms();

	if (it == NULL)
		return;
	it->inflight = 0;
	outbox_count(s);
	if (!res->accepted && (res->reason == UPSTREAM_REJ_LOST ||
	    res->reason == UPSTREAM_REJ_TIMEOUT)) {
		/* Verdict unknown: wait and send it again on reconnect. */
		struct upstream_stats us;
		it->resent = 1;
		ledger_share_fate(s->ledger, it->share_id, LEDGER_FATE_PENDING,
		    upstream_reject_name(res->reason), now);
		/* Already reconnected (the loss was a session change): send it
		 * now rather than at the next reconnect. */
		if (s->ups[it->source] != NULL) {
			upstream_get_stats(s->ups[it->source], &us);
			if (us.state == UPSTREAM_CONNECTED)
				outbox_send(s, it);
		}
		return;
	}
	if (!res->accepted && it->resent && res->reason == UPSTREAM_REJ_DUPLICATE) {
		/* Our first send arrived after all; its answer was lost. */
		log_info("share %" PRId64 ": the pool already had it (its first "
		    "answer was lost): counted as accepted", it->share_id);
		upstream_accepted_late(s, it, now);
		return;
	}
	ledger_share_fate(s->ledger, it->share_id, res->accepted ?
	    LEDGER_FATE_ACCEPTED : LEDGER_FATE_REJECTED,
	    res->accepted ? NULL : res->message, now);
	if (it->block_id != 0)
		ledger_block_update(s->ledger, it->block_id, res->accepted ?
		    LEDGER_BLOCK_ACCEPTED : LEDGER_BLOCK_REJECTED, 0, 0, now);
	pthread_mutex_lock(&s->stats_lock);
	if (res->accepted)
		s->stats.upstream_accepted++;
	else
		s->stats.upstream_rejected++;
	pthread_mutex_unlock(&s->stats_lock);
	if (!res->accepted)
		log_warnx("pool rejected share %" PRId64 ": %s (%s)", it->share_id,
		    upstream_reject_name(res->reason), res->message);
	outbox_remove(s, it);
}

/* A source connected: send its waiting shares. */
static void
outbox_flush(struct shares *s, unsigned source)
{
	size_t i = 0, sent = 0, waiting = 0;

	for (size_t k = 0; k < s->noutbox; k++)
		waiting += s->outbox[k].source == source && !s->outbox[k].inflight;
	while (i < s->noutbox) {
		struct outbox_item *it = &s->outbox[i];
		size_t before = s->noutbox;
		if (it->inflight || it->source != source) {
			i++;
			continue;
		}
		if (!outbox_send(s, it))
			break;		/* not connected after all */
		if (s->noutbox == before) {
			i++;		/* now in flight; else it was removed */
			sent++;
		}
	}
	if (waiting > 0)
		log_info("outbox: %zu of %zu waiting shares sent after reconnect",
		    sent, waiting);
}

static void *
share_thread(void *arg)
{
	struct shares *s = arg;
	struct mpscq_node *n;

	while ((n = mpscq_pop(&s->queue, -1)) != NULL) {
		switch ((enum sh_msg)n->type) {
		case SH_COMMITTED:
			committed(s, (struct pending *)n);
			free(n);
			break;
		case SH_UP_RESULT:
			upstream_answered(s, &((struct up_result *)n)->res);
			free(n);
			break;
		case SH_UP_CONNECTED:
			outbox_flush(s, ((struct up_connected *)n)->source);
			free(n);
			break;
		default:
			fatalx("shares: unexpected message %d", n->type);
		}
	}
	return NULL;
}

struct shares *
shares_new(const struct shares_config *cfg, struct jobs *jobs,
    struct ledger *ledger, struct registry *reg)
{
	struct shares *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	s->reg = reg;
	if (s->cfg.outbox_max == 0)
		s->cfg.outbox_max = 100000;
	s->jobs = jobs;
	s->ledger = ledger;
	pthread_mutex_init(&s->stats_lock, NULL);
	mpscq_init(&s->queue, 0);
	if (cfg->verify != VERIFY_NONE) {
		s->verifier = verifier_new(cfg->verify, cfg->verify_threads,
		    cfg->verify_queue);
		if (s->verifier == NULL) {
			mpscq_destroy(&s->queue);
			free(s);
			return NULL;
		}
	} else {
		log_warnx("verify = none: shares are credited WITHOUT recomputing "
		    "their RandomX hash; any worker can claim any result");
	}
	if (pthread_create(&s->thread, NULL, share_thread, s) != 0) {
		verifier_free(s->verifier);
		mpscq_destroy(&s->queue);
		free(s);
		return NULL;
	}
	return s;
}

void
shares_set_upstream(struct shares *s, unsigned source, struct upstream *up)
{
	if (source < JOBS_SOURCES_MAX)
		s->ups[source] = up;
}

void
shares_set_event_cb(struct shares *s, shares_event_fn fn, void *arg)
{
	s->event_fn = fn;
	s->event_arg = arg;
}

void
shares_restore(struct shares *s, const struct ledger_recovery *rec)
{
	pthread_mutex_lock(&s->stats_lock);
	s->stats.valid = rec->totals.shares_valid;
	s->stats.invalid = rec->totals.shares_invalid;
	memcpy(s->stats.by_reason, rec->totals.by_reason,
	    sizeof(s->stats.by_reason));
	s->stats.blocks = rec->totals.blocks_total;
	s->stats.last_block_at = rec->totals.last_block_at;
	pthread_mutex_unlock(&s->stats_lock);
	/* Before the share thread sees anything else: it is idle now. */
	for (size_t i = 0; i < rec->noutbox; i++) {
		const struct ledger_outbox_share *o = &rec->outbox[i];
		struct outbox_item it = { 0 };
		it.share_id = o->share_id;
		for (size_t b = 0; b < rec->nblocks; b++)
			if (rec->blocks[b].share_id == o->share_id)
				it.block_id = rec->blocks[b].id;
		snprintf(it.upstream_id, sizeof(it.upstream_id), "%.*s",
		    (int)sizeof(it.upstream_id) - 1, o->upstream_job_id);
		it.extranonce = o->extranonce;
		le32_write(it.nonce, o->nonce);
		memcpy(it.result, o->result, 32);
		/* It may have reached the pool before the stop (its "submitted"
		 * mark is written after the send): a "duplicate" answer to it
		 * means the pool has it, which counts as accepted. */
		it.resent = 1;
		if (s->noutbox == s->capoutbox) {
			size_t cap = s->capoutbox ? s->capoutbox * 2 : 64;
			struct outbox_item *nb = realloc(s->outbox, cap * sizeof(*nb));
			if (nb == NULL)
				break;
			s->outbox = nb;
			s->capoutbox = cap;
		}
		s->outbox[s->noutbox++] = it;
	}
	if (s->noutbox > 0)
		log_info("outbox: %zu shares from before the restart wait for the "
		    "pool's first job", s->noutbox);
	outbox_count(s);
}

void
shares_upstream_result(struct shares *s, const struct upstream_submit_result *res)
{
	struct up_result *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	m->res = *res;
	m->node.type = SH_UP_RESULT;
	mpscq_push(&s->queue, &m->node);
}

void
shares_upstream_connected(struct shares *s, unsigned source)
{
	struct up_connected *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return;
	m->source = source;
	m->node.type = SH_UP_CONNECTED;
	mpscq_push(&s->queue, &m->node);
}

void
shares_prepare(struct shares *s, const uint8_t *seed, size_t len)
{
	if (s->verifier != NULL)
		verifier_prepare(s->verifier, seed, len);
}

void
shares_get_stats(struct shares *s, struct shares_stats *st)
{
	pthread_mutex_lock(&s->stats_lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->stats_lock);
	if (s->verifier != NULL)
		verifier_get_stats(s->verifier, &st->verify);
	else
		memset(&st->verify, 0, sizeof(st->verify));
}

void
shares_drain(struct shares *s, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct shares_stats st;

	atomic_store(&s->stopping, 1);
	/* Hash what is queued; its rows go to the ledger. */
	verifier_free(s->verifier);
	s->verifier = NULL;
	ledger_flush(s->ledger, timeout_ms);
	for (;;) {
		shares_get_stats(s, &st);
		if ((mpscq_len(&s->queue) == 0 && st.outbox_inflight == 0) ||
		    clock_mono_ms() >= deadline)
			break;
		usleep(20000);
	}
	if (st.outbox_inflight > 0)
		log_warnx("stop: %zu shares sent to the pool without an answer "
		    "after %d ms: they wait in the outbox for the next start",
		    st.outbox_inflight, timeout_ms);
}

void
shares_free(struct shares *s)
{
	if (s == NULL)
		return;
	/* Hash what is queued (their rows go to the ledger), wait for the
	 * commits to come back, then drain the share thread. */
	verifier_free(s->verifier);
	ledger_flush(s->ledger, 10000);
	mpscq_close(&s->queue);
	pthread_join(s->thread, NULL);
	mpscq_destroy(&s->queue);
	pthread_mutex_destroy(&s->stats_lock);
	free(s->outbox);
	free(s);
}
