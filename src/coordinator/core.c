/*
 * core.c: the coordinator's wiring.  Each module owns its own state and
 * threads; this file connects their hooks: upstream jobs go to the job
 * manager, which hands work to the workers' streams and records jobs and
 * leases in the ledger; shares go to the share path; heartbeats feed
 * lease renewal; the ledger's recovery seeds everything at start.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/opensy.h"
#include "common/target.h"
#include "coordinator/core.h"
#include "coordinator/dash_allow.h"
#include "coordinator/dashsrc.h"
#include "coordinator/fanout.h"
#include "coordinator/http.h"
#include "coordinator/live.h"
#include "coordinator/registry.h"
#include "coordinator/vardiff.h"

/* Work leased within this long before the newest job is remembered at a
 * restart (a pool resends its current work, not yesterday's). */
#define CORE_CURSOR_HORIZON_MS (24 * 3600 * 1000LL)
/* How long a clean stop waits for the pool's answers to shares in flight. */
#define CORE_STOP_WAIT_MS 5000
/* The live feed shows shares to people: at most this many a second (a
 * block always), the snapshot's counters tell the rest.  So what the feed
 * costs the share thread and the machine does not grow with the share
 * rate times its clients. */
#define CORE_LIVE_SHARES_PER_S 20
/* Node work this many blocks (or fewer) before a RandomX key change names
 * the next key, so workers prepare it (~16 min at OpenSY's 2 min blocks:
 * ample for a one-thread dataset build, not long with two datasets). */
#define CORE_NEXT_KEY_BLOCKS 8

/* One upstream connection (a pool session) and its ledger bookkeeping. */
struct upslot {
	struct core *c;
	unsigned idx;			/* the jobs' source number */
	struct upstream *up;
	int64_t session_id;		/* ledger id of its pool connection */
	uint64_t last_job_seq;		/* to mark it superseded */
	atomic_int fresh;		/* connected, no job yet */
};

struct core {
	struct core_config cfg;
	/* cfg.upstream.pools points here; SIGHUP replaces it (under
	 * session_lock: the tick opens sessions with it) */
	struct upstream_pool pools[CORE_POOLS_MAX];
	struct registry *reg;
	struct rpc_server *rpc;
	struct jobs *jobs;
	struct fanout *fan;		/* sends a new job's work in parallel */
	struct shares *shares;
	struct ledger *ledger;
	struct dashsrc *dash;
	struct live *live;		/* NULL: no dashboard */
	struct http *http;
	struct alerts *alerts;		/* NULL: no [alerts] exec */
	int ledger_was_writable;	/* the tick's */
	uint64_t ledger_failures;	/* the tick's: commit failures seen */
	struct ledger_reader *access_reader;	/* the tick's */
	int64_t access_seen;		/* newest worker_access row applied */

	pthread_mutex_t session_lock;	/* guards slots[].session_id and
					 * last_job_seq, nups, want_session,
					 * window_n */
	struct upslot slots[JOBS_SOURCES_MAX];
	unsigned nups;			/* upstream connections started */
	int want_session;		/* the tick opens another */
	uint64_t id_mismatch;
	uint64_t window_n;		/* last pplns_window_n written (under
					 * session_lock) */
	struct ledger_follow_block *follow;	/* node blocks to follow again */
	size_t nfollow;

	pthread_t tick;
	pthread_mutex_t tick_lock;	/* guards stopping */
	pthread_cond_t tick_cond;
	int stopping, started;
	_Atomic int64_t live_second;	/* share_event's rate limit: the */
	atomic_uint live_shares;	/* second, and events sent in it */
};

/* Sends an event to the live feed (any thread); takes data's reference. */
static void
publish(struct core *c, enum live_event ev, json_t *data)
{
	if (c->live != NULL && data != NULL)
		live_publish(c->live, ev, data);
	json_decref(data);
}

/* --- the job streams of the workers --- */

static void
work_to_msg(const struct work *w, Coopmine__JobMessage *m, uint8_t target[8])
{
	coopmine__job_message__init(m);
	m->job_id = (char *)w->job_id;
	m->blob.data = (uint8_t *)w->blob;
	m->blob.len = w->blob_len;
	le64_write(target, w->share_target);
	m->target.data = target;
	m->target.len = 8;
	m->seed_hash.data = (uint8_t *)w->seed;
	m->seed_hash.len = w->seed_len;
	m->height = w->height;
	m->timestamp = w->timestamp_ms;
	m->clean_jobs = w->clean;
	m->algo = (char *)w->algo;
	m->nonce_offset = w->nonce_offset;
	m->nonce_start = w->nonce_start;
	m->nonce_end = w->nonce_end;
	if (w->has_block_target) {
		m->block_target.data = (uint8_t *)w->block_target;
		m->block_target.len = 32;
	}
	m->lease_id = w->lease_id;
	m->difficulty = w->difficulty;
	if (w->extranonce_size > 0) {
		/* node work: the lease's coinbase extranonce (its low 32 bits;
		 * the blob already carries it) */
		m->extra_nonce = (uint32_t)w->extranonce;
		m->extra_nonce_size = (uint32_t)w->extranonce_size;
	}
	if (w->has_next_seed) {
		m->next_seed_hash.data = (uint8_t *)w->next_seed;
		m->next_seed_hash.len = 32;
	}
}

/* jobs event (jobs_lock held, or a fan-out's sender): queue work on the
 * worker's stream. */
static void
ev_send_work(void *arg, const char *worker_id, const struct work *w)
{
	struct core *c = arg;
	Coopmine__JobMessage m;
	uint8_t target[8];
	struct rpc_stream *s = registry_stream_get(c->reg, worker_id);
	int rc;

	if (s == NULL)
		return;
	work_to_msg(w, &m, target);
	if ((rc = rpc_stream_send(s, &m, w->order)) != 0 && rc != -EPIPE)
		log_warnx("job %s for worker %s not sent: %s", w->job_id, worker_id,
		    strerror(-rc));
	rpc_stream_unref(s);
}

struct batch_arg {
	struct core *c;
	const struct jobs_outgoing *o;
};

static void
send_one(void *arg, size_t i)
{
	const struct batch_arg *b = arg;

	ev_send_work(b->c, b->o[i].worker_id, &b->o[i].wk);
}

/* jobs event (no lock held): a new job's work to every worker, spread
 * over the fan-out threads. */
static void
ev_send_batch(void *arg, const struct jobs_outgoing *o, size_t n)
{
	struct core *c = arg;
	struct batch_arg b = { c, o };

	fanout_run(c->fan, n, send_one, &b);
}

static void
id_check(struct core *c, const char *what, int64_t got, uint64_t want)
{
	if (got == (int64_t)want)
		return;
	if (c->id_mismatch++ == 0)
		log_error("ledger %s id %" PRId64 " differs from the coordinator's %"
		    PRIu64 ": the audit will show it", what, got, want);
}

/*
 * The PPLNS window N of the current network difficulty: written to the
 * ledger's settings (the pplns_current view reads it) when it changes,
 * with a warning when it is no larger than one share (regtest: the last
 * share would take every payment).
 */
static void
window_note(struct core *c, double netdiff)
{
	uint64_t nd = netdiff >= 1.8e19 ? UINT64_MAX : (uint64_t)netdiff;
	uint64_t n = pplns_window_n(nd, c->cfg.shares.window_factor_milli,
	    c->cfg.shares.window_abs);
	uint64_t old;
	char v[32];

	pthread_mutex_lock(&c->session_lock);
	old = c->window_n;
	c->window_n = n;
	pthread_mutex_unlock(&c->session_lock);
	if (n == old)
		return;
	snprintf(v, sizeof(v), "%" PRIu64, n);
	ledger_setting_put(c->ledger, "pplns_window_n", v);
	if (n <= c->cfg.jobs.vardiff.min_diff)
		log_warnx("PPLNS window N = %" PRIu64 " is no larger than one "
		    "share (minimum share difficulty %" PRIu64 "): the last share "
		    "before a payment takes all of it; raise [pplns] window or "
		    "window_factor", n, c->cfg.jobs.vardiff.min_diff);
	else
		log_info("PPLNS window N = %" PRIu64, n);
}

static void
ev_job_added(void *arg, const struct job_info *j)
{
	struct core *c = arg;
	struct ledger_job lj = { 0 };
	int64_t id;

	struct upslot *sl = &c->slots[j->tpl->source];

	pthread_mutex_lock(&c->session_lock);
	lj.session_id = sl->session_id;
	if (sl->last_job_seq != 0 && j->tpl->clean)
		ledger_job_supersede(c->ledger, (int64_t)sl->last_job_seq,
		    j->received_ms);
	sl->last_job_seq = j->seq;
	pthread_mutex_unlock(&c->session_lock);
	lj.upstream_job_id = j->tpl->upstream_id;
	lj.blob = j->tpl->blob;
	lj.blob_len = j->tpl->blob_len;
	lj.seed = j->tpl->seed;
	lj.seed_len = j->tpl->seed_len;
	lj.height = j->tpl->height > 0 ? (uint64_t)j->tpl->height : 0;
	lj.target64 = j->tpl->target64;
	lj.difficulty = target_to_difficulty(j->tpl->target64);
	lj.nbits = j->tpl->opensy ? le32_read(j->tpl->blob + 72) : 0;
	lj.block_target = j->has_block_target ? j->block_target : NULL;
	lj.received_at = j->received_ms;
	lj.clean = j->tpl->clean;
	id = ledger_job_add(c->ledger, &lj);
	id_check(c, "job", id, j->seq);
	if (j->has_block_target || c->cfg.shares.window_abs > 0)
		window_note(c, j->has_block_target ?
		    target256_difficulty(j->block_target) : 0);
}

static void
ev_lease_issued(void *arg, uint64_t job_seq, const struct lease *l)
{
	struct core *c = arg;
	int64_t id = ledger_lease_add(c->ledger, (int64_t)job_seq, l->owner,
	    l->start, l->end, target_to_difficulty(l->share_target),
	    l->has_extranonce, l->extranonce, l->issued_ms);

	id_check(c, "lease", id, l->id);
}

static void
ev_lease_released(void *arg, uint64_t lease_id, int64_t now_ms)
{
	struct core *c = arg;

	ledger_lease_release(c->ledger, (int64_t)lease_id, now_ms);
}

/* jobs event (jobs_lock held): every current job's nonce space is used
 * up.  Another pool session brings a job with a space of its own; the
 * tick opens it (not here: this runs under the job manager's lock). */
static void
ev_space_exhausted(void *arg, unsigned sources)
{
	struct core *c = arg;

	if (c->cfg.upstream.node != NULL) {
		/* one node: its next template (new time) is a fresh space */
		log_warnx("jobs: the current node template's nonce space is used "
		    "up: workers wait for the next template");
		return;
	}
	pthread_mutex_lock(&c->session_lock);
	if (sources >= c->nups && c->nups < c->cfg.max_sessions)
		c->want_session = 1;
	else if (sources >= c->nups)
		log_warnx("jobs: the nonce spaces of %u pool session(s) are used "
		    "up and [pool] sessions_max is reached: workers wait for the "
		    "next job", c->nups);
	pthread_mutex_unlock(&c->session_lock);
}

/* jobs event (jobs_lock held): the header of one extranonce of a node
 * job; the backend computes it under its own lock, no I/O. */
static int
ev_make_blob(void *arg, unsigned source, const char *upstream_id,
    uint64_t extranonce, uint8_t *blob, size_t *len)
{
	struct core *c = arg;

	if (source >= JOBS_SOURCES_MAX || c->slots[source].up == NULL)
		return -1;
	return upstream_make_blob(c->slots[source].up, upstream_id, extranonce,
	    blob, len);
}

/* jobs event (jobs_lock held): no upstream work, or work is back. */
static void
ev_paused(void *arg, int paused)
{
	struct core *c = arg;

	registry_set_cluster_paused(c->reg, paused);
	if (paused)
		alerts_raise(c->alerts, "all_pools_down", ALERT_CRITICAL, "upstream",
		    "no pool has sent work for %lld ms: workers are paused",
		    (long long)c->cfg.jobs.job_timeout_ms);
}

/* --- gRPC hooks (completion-queue threads) --- */

static void
hook_register(void *arg, const char *worker_id,
    const Coopmine__RegisterRequest *req, Coopmine__RegisterResponse *resp)
{
	struct core *c = arg;
	struct ledger_worker lw = { 0 };
	struct work w;
	Coopmine__JobMessage m;
	uint8_t target[8];
	int64_t now = clock_wall_ms();
	int threads = registry_clamp_threads(req->threads);
	double guess = c->cfg.hashrate_per_thread * threads;

	lw.id = worker_id;
	lw.name = req->worker_name;
	lw.threads = threads;
	lw.version = req->version;
	lw.seen_at = now;
	ledger_worker_seen(c->ledger, &lw);
	publish(c, LIVE_WORKER_JOINED, json_pack("{s:s, s:s, s:i}", "worker_id",
	    worker_id, "worker_name", req->worker_name ? req->worker_name : "",
	    "threads", threads));
	if (jobs_worker_join(c->jobs, worker_id, guess, now, &w) == 0) {
		work_to_msg(&w, &m, target);
		rpc_register_set_job(resp, &m);
		if (resp->config != NULL)
			resp->config->target_difficulty = w.difficulty;
	}
}

static int
hook_stream_open(void *arg, struct rpc_stream *s, const char *worker_id)
{
	struct core *c = arg;

	(void)s;	/* the registry holds it: ev_send_work finds it there */
	jobs_worker_stream(c->jobs, worker_id, 1, clock_wall_ms());
	return 0;
}

static void
hook_stream_close(void *arg, struct rpc_stream *s, const char *worker_id)
{
	struct core *c = arg;
	struct rpc_stream *live = registry_stream_get(c->reg, worker_id);

	(void)s;
	/* A stream replaced by a newer one of the same worker ends too. */
	if (live == NULL)
		jobs_worker_stream(c->jobs, worker_id, 0, clock_wall_ms());
	else
		rpc_stream_unref(live);
}

static void
hook_submit_share(void *arg, struct rpc_share *sh, const char *worker_id,
    const struct rpc_share_req *req)
{
	struct core *c = arg;

	shares_submit(c->shares, sh, worker_id, req);
}

static enum worker_command
hook_heartbeat(void *arg, const char *worker_id,
    const Coopmine__HeartbeatRequest *req)
{
	struct core *c = arg;
	struct ledger_heartbeat h = { 0 };
	int64_t now = clock_wall_ms();

	h.worker_id = worker_id;
	h.at = now;
	h.hashrate = req->hashrate;
	h.shares_valid = req->shares_valid;
	h.shares_invalid = req->shares_invalid;
	h.hashes_total = req->hashes_total;
	h.uptime_ms = req->uptime_ms;
	h.cpu_usage = req->cpu_usage;
	h.memory_usage = req->memory_usage;
	h.temperature = req->temperature;
	ledger_heartbeat(c->ledger, &h);
	jobs_worker_heartbeat(c->jobs, worker_id, req->hashrate, req->lease_id,
	    req->lease_hashes_done, req->want_lease, now);
	return WORKER_CMD_NONE;	/* the registry's command goes through */
}

static void
hook_worker_status(void *arg, const char *worker_id, int online,
    enum registry_reason why)
{
	struct core *c = arg;

	if (!online && (why == REGISTRY_TIMED_OUT || why == REGISTRY_STREAM_CLOSED))
		alerts_raise(c->alerts, "worker_offline", ALERT_WARNING, worker_id,
		    "worker %s is offline (%s)", worker_id,
		    why == REGISTRY_TIMED_OUT ? "no heartbeat" :
		    "its job stream ended");
	/* Gone: its leases go back (never to anyone else for those jobs). */
	if (!online) {
		jobs_worker_leave(c->jobs, worker_id, clock_wall_ms());
		publish(c, why == REGISTRY_UNREGISTERED ? LIVE_WORKER_LEFT :
		    LIVE_WORKER_OFFLINE, json_pack("{s:s}", "worker_id", worker_id));
	}
}

/* --- upstream callbacks (its I/O thread) --- */

static void
up_job(void *arg, const struct upstream_job *uj)
{
	struct upslot *sl = arg;
	struct core *c = sl->c;
	struct job_template t;
	uint64_t seq;

	memset(&t, 0, sizeof(t));
	t.source = sl->idx;
	snprintf(t.upstream_id, sizeof(t.upstream_id), "%s", uj->job_id);
	t.session = uj->session;
	memcpy(t.blob, uj->blob, uj->blob_len);
	t.blob_len = uj->blob_len;
	t.nonce_offset = uj->nonce_offset;
	if (uj->has_seed) {
		memcpy(t.seed, uj->seed_hash, 32);
		t.seed_len = 32;
	}
	t.height = uj->height;
	snprintf(t.algo, sizeof(t.algo), "%.*s", (int)sizeof(t.algo) - 1, uj->algo);
	t.target64 = uj->target;
	t.reserved_byte = uj->nicehash ? uj->nicehash_byte : -1;
	t.clean = uj->clean;
	t.opensy = uj->nonce_offset == UPSTREAM_NONCE_OFFSET_OPENSY &&
	    uj->blob_len == 80;
	t.extranonce_size = uj->extranonce_size;
	t.reward = uj->reward;
	shares_prepare(c->shares, t.seed, t.seed_len);
	/* node work: the next key, known ahead of its boundary, is built
	 * now so the first share after the boundary does not wait for it */
	if (uj->has_next_seed)
		shares_prepare(c->shares, uj->next_seed_hash, 32);
	/* ...and the workers get it a few blocks before the boundary, to
	 * prepare it in the background (no sooner: in full mode it is a
	 * second 2 GiB dataset). */
	if (uj->has_next_seed && uj->height >= 0 &&
	    opensy_blocks_to_key_change(uj->height) <= CORE_NEXT_KEY_BLOCKS) {
		memcpy(t.next_seed, uj->next_seed_hash, 32);
		t.has_next_seed = 1;
	}
	seq = jobs_add(c->jobs, &t, clock_wall_ms());
	/* The session's first job: now the pool knows which of the waiting
	 * shares' jobs are still valid. */
	if (atomic_exchange(&sl->fresh, 0))
		shares_upstream_connected(c->shares, sl->idx);
	if (seq != 0) {
		char id[17];
		snprintf(id, sizeof(id), "%016" PRIx64, seq);
		publish(c, LIVE_JOB, json_pack("{s:s, s:s, s:I, s:f, s:s, s:I, s:b}",
		    "job_id", id, "upstream", t.upstream_id, "height",
		    (json_int_t)t.height, "difficulty", (double)uj->difficulty,
		    "algo", t.algo, "created_at", (json_int_t)clock_wall_ms(),
		    "clean", t.clean));
	}
}

static void
up_result(void *arg, const struct upstream_submit_result *res)
{
	struct upslot *sl = arg;

	shares_upstream_result(sl->c->shares, res);
}

/* A pool URL without any user:password@ part, for alerts. */
static const char *
url_public(const char *url, char *buf, size_t len)
{
	const char *host = url != NULL ? strstr(url, "://") : NULL;
	const char *at;

	if (url == NULL)
		url = "";
	host = host != NULL ? host + 3 : url;
	at = strchr(host, '@');
	if (at != NULL && at < host + strcspn(host, "/"))
		snprintf(buf, len, "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(buf, len, "%s", url);
	return buf;
}

static void
up_state(void *arg, const struct upstream_state_change *ch)
{
	struct upslot *sl = arg;
	struct core *c = sl->c;
	int64_t now = clock_wall_ms();
	char url[256];

	pthread_mutex_lock(&c->session_lock);
	if (ch->event == UPSTREAM_EV_CONNECTED) {
		if (sl->session_id != 0)
			ledger_session_end(c->ledger, sl->session_id, now);
		sl->session_id = ledger_session_begin(c->ledger, ch->url, now);
	} else if (ch->event == UPSTREAM_EV_LOST && sl->session_id != 0) {
		ledger_session_end(c->ledger, sl->session_id, now);
		sl->session_id = 0;
	}
	pthread_mutex_unlock(&c->session_lock);
	switch (ch->event) {
	case UPSTREAM_EV_CONNECTED:
		atomic_store(&sl->fresh, 1);	/* the outbox goes after its job */
		break;
	case UPSTREAM_EV_LOST:
		jobs_upstream_down(c->jobs, sl->idx, now);
		alerts_raise(c->alerts, "pool_lost", ALERT_WARNING,
		    url_public(ch->url, url, sizeof(url)), "lost pool #%u %s: %s",
		    ch->pool_index, url, ch->msg != NULL ? ch->msg : "");
		break;
	case UPSTREAM_EV_SWITCHED:
		log_info("upstream switched to pool %u (%" PRIu64 " switches)",
		    ch->pool_index, ch->switches);
		alerts_raise(c->alerts, ch->pool_index > 0 ? "pool_failover" :
		    "pool_primary_back", ch->pool_index > 0 ? ALERT_WARNING :
		    ALERT_INFO, url_public(ch->url, url, sizeof(url)),
		    "now mining on pool #%u %s (%" PRIu64 " switches)",
		    ch->pool_index, url, ch->switches);
		break;
	}
	publish(c, LIVE_POOL_SWITCH, json_pack("{s:s, s:b, s:s, s:I}", "url",
	    ch->url != NULL ? ch->url : "", "connected",
	    ch->event != UPSTREAM_EV_LOST, "event",
	    ch->event == UPSTREAM_EV_LOST ? "lost" : ch->event ==
	    UPSTREAM_EV_SWITCHED ? "switched" : "connected", "switches",
	    (json_int_t)ch->switches));
}

/* The node backend follows each block it submitted: its fate goes to
 * the ledger (an orphaned or rejected block's income is reversed there)
 * and to the live feed. */
static void
up_block(void *arg, const struct upstream_block_event *ev)
{
	struct upslot *sl = arg;
	struct core *c = sl->c;
	enum ledger_block_status st = LEDGER_BLOCK_ACCEPTED;
	const char *name = "accepted";
	uint8_t h[32];
	int64_t now = clock_wall_ms();

	if (hex_decode_exact(ev->hash, h, 32) != 0)
		return;
	switch (ev->status) {
	case UPSTREAM_BLOCK_ACCEPTED:
		ledger_block_chain(c->ledger, h, st, 0, 0, ev->msg ? ev->msg : "",
		    now);
		break;
	case UPSTREAM_BLOCK_REJECTED:
		st = LEDGER_BLOCK_REJECTED;
		name = "rejected";
		ledger_block_chain(c->ledger, h, st, -1, 0, ev->msg ? ev->msg : "",
		    now);
		break;
	case UPSTREAM_BLOCK_CONFIRMED:
		name = "confirmed";
		ledger_block_chain(c->ledger, h, st, ev->confirmations, 0, NULL, now);
		break;
	case UPSTREAM_BLOCK_MATURE:
		name = "mature";
		ledger_block_chain(c->ledger, h, st, ev->confirmations, 1, NULL, now);
		break;
	case UPSTREAM_BLOCK_ORPHANED:
		st = LEDGER_BLOCK_ORPHANED;
		name = "orphaned";
		ledger_block_chain(c->ledger, h, st, -1, 0, NULL, now);
		break;
	}
	publish(c, LIVE_BLOCK, json_pack("{s:s, s:I, s:I, s:I, s:s}", "hash",
	    ev->hash, "height", (json_int_t)ev->height, "reward",
	    (json_int_t)ev->reward, "confirmations",
	    (json_int_t)ev->confirmations, "status", name));
}

/* A block whose reward is known ([pplns] block_reward: the test pool and
 * the demo) becomes income, split by the money rules, once (its ref). */
static void
block_income(struct core *c, const struct shares_verdict *v)
{
	struct money_income in = { 0 };
	char ref[MONEY_REF_MAX];

	snprintf(ref, sizeof(ref), "block:%s", v->block_hash);
	in.amount = v->reward;
	in.at = v->at;
	in.source = MONEY_SRC_BLOCK;
	in.ref = ref;
	in.block_id = v->block_id;
	ledger_income_add(c->ledger, &in, &c->cfg.money);
}

/* Verdicts to the live feed: a share row, and a block row (as
 * /api/blocks has them) when the share found one. */
static void
share_event(void *arg, const struct shares_verdict *v)
{
	struct core *c = arg;
	int64_t sec, prev;

	if (v->is_block && v->has_reward && v->block_id > 0)
		block_income(c, v);
	registry_credit(c->reg, v->worker_id, (unsigned)v->reason,
	    v->difficulty, v->at);

	if (c->live == NULL)
		return;
	sec = v->at / 1000;
	prev = atomic_load(&c->live_second);
	if (sec != prev && atomic_compare_exchange_strong(&c->live_second, &prev,
	    sec))
		atomic_store(&c->live_shares, 0);
	if (atomic_fetch_add(&c->live_shares, 1) < CORE_LIVE_SHARES_PER_S ||
	    v->is_block)
		publish(c, LIVE_SHARE, dashsrc_share_json(v->worker_id,
		    v->job_id, v->reason, v->difficulty, v->is_block, v->at));
	if (v->is_block)
		publish(c, LIVE_BLOCK, json_pack("{s:I, s:I, s:s, s:o, s:s, s:I, "
		    "s:s}", "block_id", (json_int_t)v->block_id, "height",
		    (json_int_t)v->height, "hash", v->block_hash, "reward",
		    v->has_reward ? json_integer((json_int_t)v->reward) : json_null(),
		    "found_by", v->worker_id, "time", (json_int_t)v->at,
		    "status", "candidate"));
}

/* Creates the upstream connection of slot idx (not started).  0 or -1. */
static int
session_new(struct core *c, unsigned idx, char *err, size_t errlen)
{
	struct upstream_callbacks ucb = { up_job, up_result, up_state, up_block,
		NULL };
	struct upslot *sl = &c->slots[idx];
	struct upstream_pool pools[CORE_POOLS_MAX];
	struct upstream_config uc;

	sl->c = c;
	sl->idx = idx;
	ucb.arg = sl;
	pthread_mutex_lock(&c->session_lock);
	uc = c->cfg.upstream;
	memcpy(pools, c->pools, sizeof(pools));
	pthread_mutex_unlock(&c->session_lock);
	uc.pools = pools;
	if ((sl->up = upstream_new(&uc, &ucb, err, errlen)) == NULL)
		return -1;
	shares_set_upstream(c->shares, idx, sl->up);
	return 0;
}

/* The tick's half of ev_space_exhausted: one more pool session. */
static void
open_wanted_session(struct core *c)
{
	char err[256] = "";
	unsigned idx;

	pthread_mutex_lock(&c->session_lock);
	if (!c->want_session || c->nups >= c->cfg.max_sessions) {
		c->want_session = 0;
		pthread_mutex_unlock(&c->session_lock);
		return;
	}
	c->want_session = 0;
	idx = c->nups;
	pthread_mutex_unlock(&c->session_lock);
	log_info("upstream: the nonce spaces of %u session(s) are used up: "
	    "opening session %u so no two workers hash the same nonce", idx, idx);
	if (session_new(c, idx, err, sizeof(err)) != 0 ||
	    upstream_start(c->slots[idx].up) != 0) {
		log_warnx("upstream: cannot open session %u: %s", idx, err);
		shares_set_upstream(c->shares, idx, NULL);
		upstream_free(c->slots[idx].up);
		c->slots[idx].up = NULL;
		return;
	}
	pthread_mutex_lock(&c->session_lock);
	c->nups = idx + 1;
	pthread_mutex_unlock(&c->session_lock);
}

static void access_poll(struct core *c);

/* Tick: a ledger that stops taking writes (disk full, I/O error) is an
 * alert; so is a commit that failed since the last tick. */
static void
ledger_watch(struct core *c)
{
	struct ledger_stats ls;

	if (c->alerts == NULL)
		return;
	ledger_stats_get(c->ledger, &ls);
	if (c->ledger_was_writable && !ls.writable)
		alerts_raise(c->alerts, "ledger_write_error", ALERT_CRITICAL,
		    c->cfg.ledger.path, "the ledger %s does not accept writes: "
		    "shares are not acknowledged", c->cfg.ledger.path);
	else if (ls.commit_failures > c->ledger_failures)
		alerts_raise(c->alerts, "ledger_write_error", ALERT_CRITICAL,
		    c->cfg.ledger.path, "%llu ledger commit(s) of %s failed",
		    (unsigned long long)(ls.commit_failures - c->ledger_failures),
		    c->cfg.ledger.path);
	c->ledger_was_writable = ls.writable;
	c->ledger_failures = ls.commit_failures;
}

/* --- the tick: once a second --- */

static void *
tick_thread(void *arg)
{
	struct core *c = arg;
	struct shares_stats st;
	int64_t last_sample = 0;
	double budget, logged_budget = 0;

	pthread_mutex_lock(&c->tick_lock);
	while (!c->stopping) {
		struct timespec ts = clock_deadline(CLOCK_MONOTONIC, 1000);
		pthread_cond_timedwait(&c->tick_cond, &c->tick_lock, &ts);
		if (c->stopping)
			break;
		pthread_mutex_unlock(&c->tick_lock);
		open_wanted_session(c);
		access_poll(c);
		ledger_watch(c);
		shares_get_stats(c->shares, &st);
		budget = vardiff_budget(st.verify.capacity, c->cfg.verify_budget);
		jobs_set_verify_budget(c->jobs, budget);
		if (budget > 0 && (budget > logged_budget * 1.1 ||
		    budget < logged_budget * 0.9)) {
			log_info("vardiff: verification budget %.1f shares/s (%s): "
			    "share difficulties rise as workers join to stay "
			    "within it", budget, c->cfg.verify_budget > 0 ?
			    "[verify] budget" : "half the measured capacity");
			logged_budget = budget;
		}
		jobs_tick(c->jobs, clock_wall_ms());
		if (clock_mono_ms() - last_sample >= 5000) {
			last_sample = clock_mono_ms();
			dashsrc_sample(c->dash, clock_wall_ms());
		}
		pthread_mutex_lock(&c->tick_lock);
	}
	pthread_mutex_unlock(&c->tick_lock);
	return NULL;
}

/* --- life cycle --- */

/* The ledger's word on who may mine: rows from start-up, then the
 * operator's (coopmine-cli) as they arrive. */
static void
access_apply(struct core *c, const struct ledger_access_row *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		enum registry_deny d = a[i].state == LEDGER_ACCESS_REVOKE ?
		    REGISTRY_REVOKED : a[i].state == LEDGER_ACCESS_QUARANTINE ?
		    REGISTRY_QUARANTINED : REGISTRY_ALLOWED;
		struct registry_worker rw;

		if (registry_get(c->reg, a[i].worker_id, &rw) == 0 &&
		    rw.denied == d)
			continue;	/* ours, or already known */
		if (registry_set_access(c->reg, a[i].worker_id, d, a[i].reason,
		    a[i].at) != 0)
			log_warnx("ledger: access row %" PRId64 " for '%s' not "
			    "applied", a[i].id, a[i].worker_id);
	}
}

/* Tick: new worker_access rows (coopmine-cli workers revoke ...). */
static void
access_poll(struct core *c)
{
	struct ledger_access_row *rows;
	size_t n;
	char err[256];

	if (c->access_reader == NULL && (c->access_reader = ledger_reader_open(
	    c->cfg.ledger.path, err, sizeof(err))) == NULL) {
		log_warnx("ledger: cannot read access changes: %s", err);
		return;
	}
	if (ledger_read_access(c->access_reader, c->access_seen, &rows, &n) != 0)
		return;
	if (n > 0) {
		access_apply(c, rows, n);
		c->access_seen = rows[n - 1].id;
	}
	free(rows);
}

/* registry event: a worker quarantined by its own shares. */
static void
on_access(void *arg, const char *worker_id, enum registry_deny state,
    const char *reason, int64_t at)
{
	struct core *c = arg;

	if (state == REGISTRY_QUARANTINED)
		alerts_raise(c->alerts, "worker_quarantined", ALERT_WARNING,
		    worker_id, "worker %s is quarantined: %s", worker_id,
		    reason != NULL ? reason : "");
	ledger_worker_access(c->ledger, worker_id, state == REGISTRY_REVOKED ?
	    LEDGER_ACCESS_REVOKE : state == REGISTRY_QUARANTINED ?
	    LEDGER_ACCESS_QUARANTINE : LEDGER_ACCESS_ALLOW, reason, at);
	publish(c, LIVE_WORKER_OFFLINE, json_pack("{s:s, s:s}", "worker_id",
	    worker_id, "reason", reason != NULL ? reason : ""));
}

/* A job live at the last stop goes back to the job manager, so shares
 * sent across the restart are judged as before. */
static void
restore_live_job(struct core *c, const struct ledger_live_job *lj)
{
	struct job_template t;
	struct lease *ls = NULL;

	memset(&t, 0, sizeof(t));
	if (lj->blob_len > JOBS_BLOB_MAX || lj->seed_len > JOBS_SEED_MAX)
		return;
	snprintf(t.upstream_id, sizeof(t.upstream_id), "%.*s",
	    (int)sizeof(t.upstream_id) - 1, lj->upstream_job_id);
	memcpy(t.blob, lj->blob, lj->blob_len);
	t.blob_len = lj->blob_len;
	t.opensy = lj->blob_len == 80;
	t.nonce_offset = t.opensy ? UPSTREAM_NONCE_OFFSET_OPENSY :
	    UPSTREAM_NONCE_OFFSET_MONERO;
	memcpy(t.seed, lj->seed, lj->seed_len);
	t.seed_len = lj->seed_len;
	t.height = (int64_t)lj->height;
	snprintf(t.algo, sizeof(t.algo), "rx/0");
	t.target64 = lj->target64;
	t.reserved_byte = -1;
	t.clean = lj->clean;
	if (lj->nleases > 0 && (ls = calloc(lj->nleases, sizeof(*ls))) == NULL)
		return;
	for (size_t i = 0; i < lj->nleases; i++) {
		const struct ledger_live_lease *le = &lj->leases[i];

		ls[i].id = (uint64_t)le->id;
		ls[i].start = le->nonce_start;
		ls[i].end = le->nonce_end;
		ls[i].issued_ms = le->issued_at;
		ls[i].released = le->released;
		/* node work: its extranonce, but not its header (the
		 * template is gone): shares on it are stale */
		ls[i].has_extranonce = le->has_extranonce;
		ls[i].extranonce = le->extranonce;
		/* A lease whose difficulty was not recorded (older ledgers)
		 * keeps its range from anyone, but credits nobody. */
		if (le->difficulty > 0) {
			snprintf(ls[i].owner, sizeof(ls[i].owner), "%.*s",
			    (int)sizeof(ls[i].owner) - 1, le->worker_id);
			ls[i].share_target = difficulty_to_target(le->difficulty);
		}
	}
	if (t.target64 == 0 || jobs_restore_job(c->jobs, &t, (uint64_t)lj->id,
	    lj->received_at, ls, lj->nleases, lj->credited, lj->ncredited) != 0)
		log_warnx("ledger: job %" PRId64 " (upstream %s) could not be "
		    "restored: shares for it will be stale", lj->id,
		    lj->upstream_job_id);
	free(ls);
}

/* The registry's verdict counters and effective hashrate windows, from
 * the ledger's hourly history (so a restart zeroes neither). */
static void
recover_history(struct core *c)
{
	struct ledger_reader *rd;
	struct ledger_history_row *h;
	size_t n;
	char err[256];
	int64_t now = clock_wall_ms();

	if ((rd = ledger_reader_open(c->cfg.ledger.path, err, sizeof(err))) ==
	    NULL || ledger_worker_history(rd, NULL, 0, &h, &n) != 0) {
		log_warnx("ledger: worker history not restored: %s", rd == NULL ?
		    err : "read failed");
		ledger_reader_close(rd);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t end = h[i].hour + LEDGER_HOUR_MS;

		registry_restore_verdicts(c->reg, h[i].worker_id,
		    (unsigned)h[i].reason, h[i].shares);
		if (h[i].reason == LEDGER_REASON_OK && h[i].difficulty > 0)
			registry_restore_credit(c->reg, h[i].worker_id,
			    h[i].hour, end < now ? end : now,
			    (double)h[i].difficulty, now);
	}
	free(h);
	ledger_reader_close(rd);
}

static int
recover(struct core *c, char *err, size_t errlen)
{
	struct ledger_recovery rec;
	uint64_t window_n = c->cfg.shares.window_abs;

	if (ledger_recover(c->ledger, window_n, CORE_CURSOR_HORIZON_MS, &rec, err,
	    errlen) != 0)
		return -1;
	jobs_set_next_ids(c->jobs, (uint64_t)rec.next_job_id,
	    (uint64_t)rec.next_lease_id);
	jobs_set_next_extranonce(c->jobs, rec.next_extranonce);
	if (rec.nfollow > 0 && (c->follow = malloc(rec.nfollow *
	    sizeof(*c->follow))) != NULL) {
		memcpy(c->follow, rec.follow, rec.nfollow * sizeof(*c->follow));
		c->nfollow = rec.nfollow;
	}
	if (jobs_restore_cursors(c->jobs, rec.cursors, rec.ncursors) != 0) {
		snprintf(err, errlen, "out of memory");
		ledger_recovery_free(&rec);
		return -1;
	}
	for (size_t i = 0; i < rec.nlive; i++)
		restore_live_job(c, &rec.live[i]);
	shares_restore(c->shares, &rec);
	for (size_t i = 0; i < rec.nworkers; i++) {
		const struct ledger_worker_state *w = &rec.workers[i];
		registry_restore(c->reg, w->id, w->name, w->threads, w->version,
		    w->shares_valid, w->shares_invalid, w->first_seen, w->last_seen);
		if (w->last_difficulty > 0)
			jobs_restore_difficulty(c->jobs, w->id, w->last_difficulty);
	}
	recover_history(c);
	registry_restore_totals(c->reg, rec.totals.shares_valid,
	    rec.totals.shares_invalid, rec.totals.blocks_total,
	    rec.totals.last_block_at);
	access_apply(c, rec.access, rec.naccess);
	c->access_seen = rec.access_seen;
	if (rec.naccess > 0)
		log_info("ledger: %zu worker identities are quarantined or revoked",
		    rec.naccess);
	log_info("ledger: %zu workers, %" PRIu64 " valid and %" PRIu64 " invalid "
	    "shares, %" PRIu64 " blocks, %zu shares in the outbox, %zu works "
	    "leased before; next job %" PRId64 ", lease %" PRId64 ", share %"
	    PRId64, rec.nworkers, rec.totals.shares_valid,
	    rec.totals.shares_invalid, rec.totals.blocks_total, rec.noutbox,
	    rec.ncursors, rec.next_job_id, rec.next_lease_id, rec.next_share_id);
	ledger_recovery_free(&rec);
	return 0;
}

/* dashsrc: every pool session, for the pool panel and /1/summary. */
static void
dash_sessions(void *arg, struct dash_session *out, size_t *n)
{
	struct core *c = arg;
	struct upstream_stats us;
	struct jobs_stats js;

	jobs_get_stats(c->jobs, &js);
	*n = 0;
	pthread_mutex_lock(&c->session_lock);
	for (unsigned i = 0; i < c->nups && i < DASH_SESSIONS_MAX; i++) {
		struct dash_session *se = &out[*n];

		if (c->slots[i].up == NULL)
			continue;
		upstream_get_stats(c->slots[i].up, &us);
		memset(se, 0, sizeof(*se));
		dashsrc_session_from(se, i, &us, &js);
		snprintf(se->url, sizeof(se->url), "%s",
		    us.pool_index < c->cfg.upstream.npools ?
		    c->cfg.upstream.pools[us.pool_index].url : "");
		(*n)++;
	}
	pthread_mutex_unlock(&c->session_lock);
}

static int
dash_start(struct core *c, char *err, size_t errlen)
{
	const struct core_config *cfg = &c->cfg;
	struct dashsrc_parts parts = { cfg->rpc.cluster_id, cfg->rpc.cluster_name,
		cfg->pool_url, cfg->ledger.path, c->reg, c->jobs, c->shares,
		c->slots[0].up,
		c->ledger, cfg->money, dash_sessions, c };
	struct live_config lc = { 0 };
	struct http_config hc = { 0 };

	if ((c->dash = dashsrc_new(&parts)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->dash_listen == NULL || *cfg->dash_listen == '\0') {
		log_info("dashboard: off ([dashboard] listen is empty)");
		return 0;
	}
	lc.listen = cfg->dash_ws_listen;
	lc.max_clients = cfg->dash_ws_max_clients;
	lc.allowed_origins = cfg->dash_allowed_origins;
	lc.nallowed_origins = cfg->ndash_allowed_origins;
	if ((c->live = live_new(&lc, dashsrc_source(c->dash))) == NULL) {
		snprintf(err, errlen, "cannot start the live feed on %s (see above)",
		    cfg->dash_ws_listen);
		return -1;
	}
	hc.listen = cfg->dash_listen;
	hc.static_dir = cfg->dash_static_dir;
	hc.token = cfg->dash_token;
	hc.ws_url = cfg->dash_ws_url;
	hc.ws_max_clients = cfg->dash_ws_max_clients;
	hc.allowed_hosts = cfg->dash_allowed_hosts;
	hc.nallowed_hosts = cfg->ndash_allowed_hosts;
	hc.ledger_synchronous = cfg->ledger_sync_name;
	hc.metrics_retention_ms = cfg->metrics_retention_ms;
	if ((c->http = http_new(&hc, dashsrc_source(c->dash), c->live)) == NULL) {
		snprintf(err, errlen, "cannot start the dashboard on %s (see above)",
		    cfg->dash_listen);
		return -1;
	}
	log_info("dashboard: http://%s/ (live feed port %d)", cfg->dash_listen,
	    live_port(c->live));
	return 0;
}

struct core *
core_new(const struct core_config *cfg, char *err, size_t errlen)
{
	static const struct jobs_events jev = { ev_send_work, ev_job_added,
		ev_lease_issued, ev_lease_released, ev_space_exhausted, ev_paused,
		ev_make_blob, ev_send_batch };
	struct rpc_hooks hooks = { hook_register, hook_stream_open,
		hook_stream_close, hook_submit_share, hook_heartbeat,
		hook_worker_status };
	struct rpc_server_config rcfg = cfg->rpc;
	struct core *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	if (cfg->upstream.npools > CORE_POOLS_MAX) {
		snprintf(err, errlen, "more than %d pools", CORE_POOLS_MAX);
		free(c);
		return NULL;
	}
	if (cfg->upstream.npools > 0)	/* the node backend has none */
		memcpy(c->pools, cfg->upstream.pools, cfg->upstream.npools *
		    sizeof(c->pools[0]));
	c->cfg.upstream.pools = c->pools;
	pthread_mutex_init(&c->session_lock, NULL);
	pthread_mutex_init(&c->tick_lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->tick_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((c->ledger = ledger_open(&cfg->ledger, err, errlen)) == NULL)
		goto fail;
	c->ledger_was_writable = 1;
	if (cfg->alerts.exec != NULL && cfg->alerts.exec[0] != '\0' &&
	    (c->alerts = alerts_new(&cfg->alerts)) == NULL) {
		snprintf(err, errlen, "cannot start [alerts] exec");
		goto fail;
	}
	if ((c->reg = registry_new(cfg->rpc.heartbeat_ms,
	    cfg->max_workers)) == NULL ||
	    (c->fan = fanout_new(fanout_threads_for(
	    sysconf(_SC_NPROCESSORS_ONLN)))) == NULL ||
	    (c->jobs = jobs_new(&cfg->jobs, &jev, c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	registry_set_limits(c->reg, &cfg->limits);
	registry_set_access_cb(c->reg, on_access, c);
	if ((c->shares = shares_new(&cfg->shares, c->jobs, c->ledger, c->reg)) == NULL) {
		snprintf(err, errlen, "cannot start share verification (%s mode)",
		    verify_mode_name(cfg->shares.verify));
		goto fail;
	}
	if (recover(c, err, errlen) != 0)
		goto fail;
	if (session_new(c, 0, err, errlen) != 0)
		goto fail;
	c->nups = 1;
	for (size_t i = 0; i < c->nfollow; i++)
		upstream_follow_block(c->slots[0].up, c->follow[i].hash,
		    c->follow[i].height, c->follow[i].reward);
	rcfg.hooks = &hooks;
	rcfg.hooks_arg = c;
	if ((c->rpc = rpc_server_new(&rcfg, c->reg)) == NULL) {
		snprintf(err, errlen, "cannot start the gRPC server on %s (see above)",
		    cfg->rpc.listen);
		goto fail;
	}
	if (dash_start(c, err, errlen) != 0)
		goto fail;
	shares_set_event_cb(c->shares, share_event, c);
	return c;
fail:
	core_free(c);
	return NULL;
}

int
core_start(struct core *c)
{
	int rc;

	if ((rc = rpc_server_start(c->rpc)) != 0)
		return rc;
	if ((rc = upstream_start(c->slots[0].up)) != 0)
		return rc;
	if (pthread_create(&c->tick, NULL, tick_thread, c) != 0)
		return -errno;
	c->started = 1;
	return 0;
}

void
core_stop(struct core *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->tick_lock);
	c->stopping = 1;
	pthread_cond_broadcast(&c->tick_cond);
	pthread_mutex_unlock(&c->tick_lock);
	if (c->started) {
		pthread_join(c->tick, NULL);
		c->started = 0;
	}
	/* Workers first (no new shares); the share path hashes and commits
	 * what is in flight and waits a few seconds for the pool's answers;
	 * then the pool (submits still without an answer come back as lost
	 * and stay in the ledger's outbox for the next start); then the share
	 * path ends; the ledger closes last, in core_free. */
	if (c->rpc != NULL)
		rpc_server_stop(c->rpc);
	/* Wait (bounded) for the pool's answers before leaving it. */
	if (c->shares != NULL)
		shares_drain(c->shares, CORE_STOP_WAIT_MS);
	for (unsigned i = 0; i < JOBS_SOURCES_MAX; i++)
		if (c->slots[i].up != NULL)
			upstream_stop(c->slots[i].up);
	if (c->shares != NULL) {
		shares_free(c->shares);
		c->shares = NULL;
	}
	if (c->reg != NULL)
		registry_streams_drop(c->reg);
	for (unsigned i = 0; i < JOBS_SOURCES_MAX; i++) {
		if (c->ledger != NULL && c->slots[i].session_id != 0)
			ledger_session_end(c->ledger, c->slots[i].session_id,
			    clock_wall_ms());
		c->slots[i].session_id = 0;
	}
}

void
core_free(struct core *c)
{
	if (c == NULL)
		return;
	core_stop(c);
	/* Every event source has stopped: the dashboard can go. */
	http_free(c->http);
	live_free(c->live);
	dashsrc_free(c->dash);
	rpc_server_free(c->rpc);
	for (unsigned i = 0; i < JOBS_SOURCES_MAX; i++)
		upstream_free(c->slots[i].up);
	jobs_free(c->jobs);
	fanout_free(c->fan);
	registry_free(c->reg);
	alerts_free(c->alerts);
	ledger_reader_close(c->access_reader);
	ledger_close(c->ledger);
	free(c->follow);
	pthread_mutex_destroy(&c->session_lock);
	pthread_mutex_destroy(&c->tick_lock);
	pthread_cond_destroy(&c->tick_cond);
	free(c);
}

int
core_grpc_port(const struct core *c)
{
	return rpc_server_port(c->rpc);
}

/*
 * SIGHUP: everything is checked first (a pool list the client refuses, a
 * malformed allow-list entry), so a refused reload changes nothing; then
 * each piece goes to the module that owns it, which applies it on its own
 * thread or under its own short lock.  The share path never waits here.
 */
int
core_reload(struct core *c, const struct core_config *n, unsigned what,
    char *err, size_t errlen)
{
	struct dash_allow *hosts = NULL, *origins = NULL;
	unsigned nups;

	if (n->upstream.npools == 0 || n->upstream.npools > CORE_POOLS_MAX) {
		snprintf(err, errlen, "[pool]: 1 to %d pools", CORE_POOLS_MAX);
		return -1;
	}
	if (what & CORE_RELOAD_POOLS) {
		struct upstream *probe = upstream_new(&n->upstream, NULL, err,
		    errlen);
		if (probe == NULL)
			return -1;
		upstream_free(probe);
	}
	if ((what & CORE_RELOAD_ALLOW) && c->http != NULL) {
		if ((hosts = http_hosts_build(c->http, n->dash_allowed_hosts,
		    n->ndash_allowed_hosts, err, errlen)) == NULL)
			return -1;
		if ((origins = live_origins_build(n->dash_allowed_origins,
		    n->ndash_allowed_origins, hosts, err, errlen)) == NULL) {
			dash_allow_free(hosts);
			return -1;
		}
	}

	if (what & CORE_RELOAD_POOLS) {
		pthread_mutex_lock(&c->session_lock);
		memcpy(c->pools, n->upstream.pools, n->upstream.npools *
		    sizeof(c->pools[0]));
		c->cfg.upstream = n->upstream;
		c->cfg.upstream.pools = c->pools;
		c->cfg.pool_url = n->pool_url;
		nups = c->nups;
		pthread_mutex_unlock(&c->session_lock);
		for (unsigned i = 0; i < nups; i++) {
			char e[256];
			if (c->slots[i].up != NULL && upstream_reconfigure(
			    c->slots[i].up, &n->upstream, e, sizeof(e)) != 0)
				log_warnx("upstream: session %u keeps its pools: %s",
				    i, e);
		}
	}
	if (what & CORE_RELOAD_VARDIFF)	/* the job manager owns it */
		jobs_set_vardiff(c->jobs, &n->jobs.vardiff, clock_wall_ms());
	if (what & CORE_RELOAD_LIMITS) {
		unsigned inflight = c->cfg.limits.inflight_max;	/* [verify] queue */
		c->cfg.limits = n->limits;
		c->cfg.limits.inflight_max = inflight;
		registry_set_limits(c->reg, &c->cfg.limits);
	}
	if ((what & CORE_RELOAD_TOKEN) && c->http != NULL)
		http_set_token(c->http, n->dash_token);
	if (hosts != NULL) {
		http_set_hosts(c->http, hosts);
		live_set_origins(c->live, origins);
	}
	return 0;
}
