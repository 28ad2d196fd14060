/*
 * jobs.c: upstream jobs -> per-worker work (leases + vardiff targets), the
 * first checks of every share, and the pause/resume logic that keeps a
 * cluster from "mining air" when every pool is gone.  See jobs.h.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/idindex.h"
#include "common/log.h"
#include "common/target.h"
#include "coordinator/jobs.h"

#define NONCESET_EMPTY 0
#define NONCESET_GONE UINT64_MAX

/* The (job, nonce) pairs already taken: open addressing over nonce+1. */
struct nonceset {
	uint64_t *slots;
	size_t cap, used;	/* used counts tombstones too */
};

struct job {
	uint64_t seq;
	char job_id[24];
	struct job_template tpl;
	uint8_t block_target[32];
	int has_block_target;
	struct lease_space *space;
	struct nonceset taken;
	int stale;
	int restored;		/* from before a restart, until the upstream
				 * sends its work again: judged, not mined */
	int64_t received_ms;
};

struct wstate {
	char id[LEASE_OWNER_MAX];
	int streaming;
	double hashrate;
	struct vardiff vd;
	uint64_t lease_id, lease_job, lease_start, lease_end, hashes_done;
	int guessed;		/* difficulty from a guess, not a report */
	int64_t lease_at;	/* when its last lease was issued */
	/* what its credited shares prove: difficulty since first_credit */
	uint64_t credited;
	int64_t first_credit_ms;
};

struct jobs {
	pthread_mutex_t jobs_lock;	/* guards everything below */
	struct jobs_config cfg;
	struct jobs_events ev;
	void *arg;
	struct job **ring;		/* oldest first */
	size_t njobs;
	uint64_t next_seq, next_lease, pruned_max, leases_issued;
	uint64_t next_extranonce;	/* node work: never goes back */
	struct wstate *workers;
	size_t nworkers, capworkers;
	struct idindex windex;		/* worker id -> row of workers[] */
	double verify_budget;		/* shares/s verification may take */
	unsigned nsources;		/* sources that ever sent a job */
	int64_t down_since[JOBS_SOURCES_MAX];	/* 0: that source is fine */
	int paused;
	struct ledger_work_cursor *cursors;	/* work leased before a restart */
	size_t ncursors;
	struct known_diff *known;		/* difficulties before a restart */
	size_t nknown;
	uint64_t next_order;		/* struct work's order */
	/* A fan-out being built: issue_work queues here instead of sending,
	 * and the sending happens once jobs_lock is released (sendq_send),
	 * so shares, heartbeats and new workers are not held up meanwhile. */
	int batching;
	struct jobs_outgoing *out;
	size_t nout, capout;
	/* what sendq_send measured (jobs_stats) */
	uint64_t fanouts;
	double fanout_sum;
	uint64_t fanout_bucket[JOBS_FANOUT_BUCKETS];
	unsigned fanout_last_workers;
};

const double jobs_fanout_bounds[JOBS_FANOUT_BUCKETS] = {
	0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
	1e300	/* +Inf */
};

/* A worker's difficulty when the last run stopped: its vardiff starts
 * there instead of at a guess from its claimed threads. */
struct known_diff {
	char id[LEASE_OWNER_MAX];
	uint64_t diff;
};

static int
nonceset_add(struct nonceset *s, uint32_t nonce)
{
	uint64_t key = (uint64_t)nonce + 1;
	size_t i;

	if ((s->used + 1) * 2 > s->cap) {
		struct nonceset bigger = { NULL, s->cap ? s->cap * 2 : 256, 0 };
		if ((bigger.slots = calloc(bigger.cap, sizeof(uint64_t))) == NULL)
			return -1;
		for (size_t k = 0; k < s->cap; k++) {
			uint64_t v = s->slots[k];
			if (v == NONCESET_EMPTY || v == NONCESET_GONE)
				continue;
			i = (v * 0x9e3779b97f4a7c15ULL) & (bigger.cap - 1);
			while (bigger.slots[i] != NONCESET_EMPTY)
				i = (i + 1) & (bigger.cap - 1);
			bigger.slots[i] = v;
			bigger.used++;
		}
		free(s->slots);
		*s = bigger;
	}
	i = (key * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
	while (s->slots[i] != NONCESET_EMPTY) {
		if (s->slots[i] == key)
			return 1;	/* already taken */
		i = (i + 1) & (s->cap - 1);
	}
	s->slots[i] = key;
	s->used++;
	return 0;
}

static void
nonceset_del(struct nonceset *s, uint32_t nonce)
{
	uint64_t key = (uint64_t)nonce + 1;
	size_t i;

	if (s->cap == 0)
		return;
	i = (key * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
	while (s->slots[i] != NONCESET_EMPTY) {
		if (s->slots[i] == key) {
			s->slots[i] = NONCESET_GONE;
			return;
		}
		i = (i + 1) & (s->cap - 1);
	}
}

static void
job_free(struct job *jb)
{
	if (jb == NULL)
		return;
	lease_space_free(jb->space);
	free(jb->taken.slots);
	free(jb);
}

static const char *wstate_id(const void *rows, size_t i);

struct jobs *
jobs_new(const struct jobs_config *cfg, const struct jobs_events *ev, void *arg)
{
	struct jobs *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	pthread_mutex_init(&j->jobs_lock, NULL);
	j->windex.id_of = wstate_id;
	j->cfg = *cfg;
	if (j->cfg.keep_jobs < 2)
		j->cfg.keep_jobs = 2;
	j->ev = *ev;
	j->arg = arg;
	j->next_seq = 1;
	j->next_lease = 1;
	j->next_extranonce = 1;
	if ((j->ring = calloc(j->cfg.keep_jobs + 1, sizeof(*j->ring))) == NULL) {
		free(j);
		return NULL;
	}
	return j;
}

void
jobs_free(struct jobs *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->njobs; i++)
		job_free(j->ring[i]);
	free(j->ring);
	free(j->workers);
	idindex_free(&j->windex);
	free(j->cursors);
	free(j->known);
	free(j->out);
	pthread_mutex_destroy(&j->jobs_lock);
	free(j);
}

void
jobs_set_next_ids(struct jobs *j, uint64_t next_job_seq, uint64_t next_lease_id)
{
	pthread_mutex_lock(&j->jobs_lock);
	if (next_job_seq > j->next_seq) {
		j->next_seq = next_job_seq;
		/* Anything older than this run is stale, not unknown. */
		j->pruned_max = next_job_seq - 1;
	}
	if (next_lease_id > j->next_lease)
		j->next_lease = next_lease_id;
	pthread_mutex_unlock(&j->jobs_lock);
}

void
jobs_set_next_extranonce(struct jobs *j, uint64_t next)
{
	pthread_mutex_lock(&j->jobs_lock);
	if (next > j->next_extranonce)
		j->next_extranonce = next;
	pthread_mutex_unlock(&j->jobs_lock);
}

int
jobs_restore_cursors(struct jobs *j, const struct ledger_work_cursor *c,
    size_t n)
{
	struct ledger_work_cursor *copy = NULL;

	if (n > JOBS_CURSORS_MAX) {	/* the newest are last */
		c += n - JOBS_CURSORS_MAX;
		n = JOBS_CURSORS_MAX;
	}
	if (n > 0 && (copy = malloc(n * sizeof(*copy))) == NULL)
		return -1;
	if (n > 0)
		memcpy(copy, c, n * sizeof(*copy));
	pthread_mutex_lock(&j->jobs_lock);
	free(j->cursors);
	j->cursors = copy;
	j->ncursors = n;
	pthread_mutex_unlock(&j->jobs_lock);
	return 0;
}

int
jobs_restore_difficulty(struct jobs *j, const char *worker_id, uint64_t diff)
{
	struct known_diff *n;

	if (diff == 0 || strlen(worker_id) >= LEASE_OWNER_MAX)
		return -1;
	pthread_mutex_lock(&j->jobs_lock);
	if ((n = realloc(j->known, (j->nknown + 1) * sizeof(*n))) == NULL) {
		pthread_mutex_unlock(&j->jobs_lock);
		return -1;
	}
	j->known = n;
	snprintf(n[j->nknown].id, sizeof(n[j->nknown].id), "%s", worker_id);
	n[j->nknown++].diff = diff;
	pthread_mutex_unlock(&j->jobs_lock);
	return 0;
}

/* The difficulty a worker had before the restart (0: none), used once.
 * Locked. */
static uint64_t
known_take(struct jobs *j, const char *id)
{
	for (size_t i = 0; i < j->nknown; i++) {
		if (strcmp(j->known[i].id, id) == 0) {
			uint64_t d = j->known[i].diff;
			j->known[i] = j->known[--j->nknown];
			return d;
		}
	}
	return 0;
}

/* Where a new job's nonce space starts: after every lease a run before
 * the restart gave out on the same work.  Locked. */
static uint64_t
cursor_of(struct jobs *j, const struct job_template *t, uint64_t start)
{
	for (size_t i = 0; i < j->ncursors; i++) {
		const struct ledger_work_cursor *c = &j->cursors[i];
		if (c->blob_len == t->blob_len && c->seed_len == t->seed_len &&
		    memcmp(c->blob, t->blob, t->blob_len) == 0 &&
		    memcmp(c->seed, t->seed, t->seed_len) == 0)
			return c->next_nonce > start ? c->next_nonce : start;
	}
	return start;
}

static int template_check(const struct job_template *t);

int
jobs_restore_job(struct jobs *j, const struct job_template *t, uint64_t seq,
    int64_t received_ms, const struct lease *leases, size_t nleases,
    const uint32_t *credited, size_t ncredited)
{
	struct job *jb;
	uint64_t start = 0, end = (uint64_t)1 << 32;
	int rc = -1;

	if (template_check(t) != 0 || seq == 0)
		return -1;
	if ((jb = calloc(1, sizeof(*jb))) == NULL)
		return -1;
	if (t->reserved_byte >= 0) {
		start = (uint64_t)t->reserved_byte << 24;
		end = start + ((uint64_t)1 << 24);
	}
	if ((jb->space = lease_space_new(start, end)) == NULL)
		goto out;
	for (size_t i = 0; i < nleases; i++)
		if (lease_restore(jb->space, &leases[i]) != 0)
			goto out;
	/* Credited nonces stay taken: a resend is a duplicate, not a
	 * second credit the ledger would refuse. */
	for (size_t i = 0; i < ncredited; i++)
		if (nonceset_add(&jb->taken, credited[i]) < 0)
			goto out;
	jb->tpl = *t;
	jb->seq = seq;
	jb->restored = 1;
	jb->received_ms = received_ms;
	snprintf(jb->job_id, sizeof(jb->job_id), "%016" PRIx64, seq);
	if (t->opensy &&
	    nbits_to_target256(le32_read(t->blob + 72), jb->block_target) == 0)
		jb->has_block_target = 1;
	pthread_mutex_lock(&j->jobs_lock);
	if (j->njobs < j->cfg.keep_jobs) {
		j->ring[j->njobs++] = jb;
		if (seq >= j->next_seq)
			j->next_seq = seq + 1;
		rc = 0;
	}
	pthread_mutex_unlock(&j->jobs_lock);
	if (rc == 0) {
		log_info("jobs: job %s (upstream %s, %zu leases) restored from the "
		    "ledger: shares for it are judged as before", jb->job_id,
		    t->upstream_id, nleases);
		return 0;
	}
out:
	job_free(jb);
	return -1;
}

/* A job leaves the ring: remember how far its work was leased, in case
 * the upstream sends the same work again.  Locked. */
static void
cursor_keep(struct jobs *j, const struct job *jb)
{
	uint64_t next = lease_space_end(jb->space) -
	    lease_space_remaining(jb->space);
	struct ledger_work_cursor *c = NULL, *n;

	for (size_t i = 0; i < j->ncursors && c == NULL; i++)
		if (j->cursors[i].blob_len == jb->tpl.blob_len &&
		    j->cursors[i].seed_len == jb->tpl.seed_len &&
		    memcmp(j->cursors[i].blob, jb->tpl.blob, jb->tpl.blob_len) == 0 &&
		    memcmp(j->cursors[i].seed, jb->tpl.seed, jb->tpl.seed_len) == 0)
			c = &j->cursors[i];
	if (c == NULL && j->ncursors == JOBS_CURSORS_MAX) {
		/* Bounded: pools resend recent work (after a reconnect), not
		 * work thousands of jobs old. */
		memmove(j->cursors, j->cursors + 1,
		    (j->ncursors - 1) * sizeof(*j->cursors));
		j->ncursors--;
	}
	if (c == NULL) {
		if ((n = realloc(j->cursors, (j->ncursors + 1) * sizeof(*n))) ==
		    NULL)
			return;		/* the audit would show a reissue */
		j->cursors = n;
		c = &j->cursors[j->ncursors++];
		memset(c, 0, sizeof(*c));
		memcpy(c->blob, jb->tpl.blob, jb->tpl.blob_len);
		c->blob_len = jb->tpl.blob_len;
		memcpy(c->seed, jb->tpl.seed, jb->tpl.seed_len);
		c->seed_len = jb->tpl.seed_len;
	}
	if (next > c->next_nonce)
		c->next_nonce = next;
}

/* The newest job of an upstream source: the one its workers mine.  A job
 * restored from before a restart is nobody's until the upstream confirms
 * its work. */
static struct job *
current_of(struct jobs *j, unsigned source)
{
	for (size_t i = j->njobs; i > 0; i--)
		if (j->ring[i - 1]->tpl.source == source && !j->ring[i - 1]->restored)
			return j->ring[i - 1];
	return NULL;
}

/* The job of the worker's lease, if it is still its source's current one. */
static struct job *
lease_current(struct jobs *j, const struct wstate *w)
{
	struct job *jb;

	for (size_t i = 0; i < j->njobs; i++) {
		jb = j->ring[i];
		if (jb->seq == w->lease_job)
			return !jb->stale && jb == current_of(j, jb->tpl.source) ?
			    jb : NULL;
	}
	return NULL;
}

static struct job *
job_by_seq(struct jobs *j, uint64_t seq)
{
	for (size_t i = 0; i < j->njobs; i++)
		if (j->ring[i]->seq == seq)
			return j->ring[i];
	return NULL;
}

static const char *
wstate_id(const void *rows, size_t i)
{
	return ((const struct wstate *)rows)[i].id;
}

static struct wstate *
worker_find(struct jobs *j, const char *id)
{
	size_t i = idindex_find(&j->windex, j->workers, id);

	return i != (size_t)-1 ? &j->workers[i] : NULL;
}

static struct vardiff_config
effective_vardiff(struct jobs *j, const struct wstate *w)
{
	struct vardiff_config c = j->cfg.vardiff;
	uint64_t floor = vardiff_floor(w->hashrate, j->verify_budget,
	    (unsigned)(j->nworkers ? j->nworkers : 1));

	if (floor > c.min_diff)
		c.min_diff = floor < c.max_diff ? floor : c.max_diff;
	return c;
}

static void
work_fill(const struct job *jb, const struct lease *l, struct work *w,
    int64_t now_ms)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->job_id, jb->job_id, sizeof(w->job_id));
	w->job_seq = jb->seq;
	if (l->has_extranonce && l->blob_len > 0) {
		/* node work: the lease's own header */
		memcpy(w->blob, l->blob, l->blob_len);
		w->blob_len = l->blob_len;
		w->extranonce = l->extranonce;
		w->extranonce_size = jb->tpl.extranonce_size;
	} else {
		memcpy(w->blob, jb->tpl.blob, jb->tpl.blob_len);
		w->blob_len = jb->tpl.blob_len;
	}
	w->nonce_offset = jb->tpl.nonce_offset;
	memcpy(w->seed, jb->tpl.seed, jb->tpl.seed_len);
	w->seed_len = jb->tpl.seed_len;
	w->height = jb->tpl.height;
	memcpy(w->algo, jb->tpl.algo, sizeof(w->algo));
	w->share_target = l->share_target;
	w->difficulty = target_to_difficulty(l->share_target);
	memcpy(w->block_target, jb->block_target, 32);
	w->has_block_target = jb->has_block_target;
	w->lease_id = l->id;
	w->nonce_start = l->start;
	w->nonce_end = l->end;
	w->clean = jb->tpl.clean;
	w->timestamp_ms = now_ms;
	memcpy(w->next_seed, jb->tpl.next_seed, 32);
	w->has_next_seed = jb->tpl.has_next_seed;
}

/* Sends work to a streaming worker, or queues it when a fan-out is being
 * built (sent directly if the queue cannot grow).  jobs_lock held. */
static void
deliver(struct jobs *j, const struct wstate *w, struct work *wk)
{
	wk->order = ++j->next_order;
	if (j->ev.send_work == NULL)
		return;
	if (j->batching && j->nout == j->capout) {
		size_t cap = j->capout ? j->capout * 2 : 64;
		struct jobs_outgoing *o = realloc(j->out, cap * sizeof(*o));
		if (o != NULL) {
			j->out = o;
			j->capout = cap;
		}
	}
	if (j->batching && j->nout < j->capout) {
		struct jobs_outgoing *o = &j->out[j->nout++];
		memcpy(o->worker_id, w->id, sizeof(o->worker_id));
		o->wk = *wk;
		return;
	}
	j->ev.send_work(j->arg, w->id, wk);
}

/* The queue of a fan-out: begun and taken with jobs_lock held, sent
 * without it. */
struct sendq {
	struct jobs_outgoing *o;
	size_t n, cap;
};

static void
sendq_begin(struct jobs *j)
{
	j->batching = 1;
	j->nout = 0;
}

static struct sendq
sendq_take(struct jobs *j)
{
	struct sendq f = { j->out, j->nout, j->capout };

	j->batching = 0;
	j->out = NULL;
	j->nout = j->capout = 0;
	return f;
}

/* Sends what sendq_take took (jobs_lock not held) and times it from
 * job_ms, when the job arrived; then keeps the queue's memory for the next
 * fan-out unless another one has taken its place. */
static void
sendq_send(struct jobs *j, struct sendq *f, int64_t job_ms)
{
	double secs;

	if (f->n > 0 && j->ev.send_batch != NULL)
		j->ev.send_batch(j->arg, f->o, f->n);
	else
		for (size_t i = 0; i < f->n; i++)
			j->ev.send_work(j->arg, f->o[i].worker_id, &f->o[i].wk);
	secs = (double)(clock_wall_ms() - job_ms) / 1000.0;
	pthread_mutex_lock(&j->jobs_lock);
	if (f->n > 0) {
		secs = secs > 0 ? secs : 0;
		j->fanouts++;
		j->fanout_sum += secs;
		for (int i = 0; i < JOBS_FANOUT_BUCKETS; i++)
			if (secs <= jobs_fanout_bounds[i])
				j->fanout_bucket[i]++;
		j->fanout_last_workers = (unsigned)f->n;
	}
	if (j->out == NULL && !j->batching) {
		j->out = f->o;
		j->capout = f->cap;
		f->o = NULL;
	}
	pthread_mutex_unlock(&j->jobs_lock);
	free(f->o);
}

/* Hands the worker a fresh lease on a current job: source 0's, else the
 * first source whose space has nonces left.  Sends it when the worker
 * streams; fills *out when given.  0, or -1 with no work. */
static int
issue_work(struct jobs *j, struct wstate *w, int64_t now_ms, struct work *out)
{
	struct job *jb = NULL;
	struct lease l;
	struct work wk;
	uint64_t want, ext = 0;
	uint8_t blob[LEASE_BLOB_MAX];
	size_t blob_len = 0;
	int any = 0;

	want = lease_size_for(w->hashrate, j->cfg.lease_seconds, j->cfg.lease_min,
	    j->cfg.lease_max);
	for (unsigned src = 0; src < j->nsources && jb == NULL; src++) {
		struct job *c = current_of(j, src);
		uint64_t take = want, cap;
		if (c == NULL || c->stale)
			continue;
		any = 1;
		/* No one lease takes more than a bounded part of what is left,
		 * whatever the worker claims: the others still get work. */
		cap = lease_space_remaining(c->space) / JOBS_LEASE_FRACTION;
		if (take > cap)
			take = cap;
		if (c->tpl.extranonce_size > 0) {
			/* Node work: a fresh extranonce, so this lease's headers
			 * are its own whatever nonces it covers.  An extranonce
			 * whose lease is not taken is simply never used. */
			ext = j->next_extranonce++;
			if (j->ev.make_blob == NULL || j->ev.make_blob(j->arg,
			    c->tpl.source, c->tpl.upstream_id, ext, blob,
			    &blob_len) != 0 || blob_len != c->tpl.blob_len) {
				log_warnx("jobs: no header for extranonce %" PRIu64
				    " of upstream job %s", ext, c->tpl.upstream_id);
				continue;
			}
		}
		if (lease_take(c->space, j->next_lease, w->id, take, j->cfg.lease_min,
		    difficulty_to_target(w->vd.diff), now_ms, &l) == 0)
			jb = c;
	}
	if (jb != NULL && jb->tpl.extranonce_size > 0) {
		if (lease_set_extranonce(jb->space, l.id, ext, blob, blob_len) != 0)
			return -1;	/* cannot happen: the lease was just taken */
		l = *lease_get(jb->space, l.id);
	}
	if (jb == NULL) {
		if (any) {
			log_warnx("jobs: no nonces left in the current jobs of %u "
			    "upstream session(s) for worker %s", j->nsources, w->id);
			if (j->ev.space_exhausted != NULL)
				j->ev.space_exhausted(j->arg, j->nsources);
		}
		return -1;
	}
	j->next_lease++;
	j->leases_issued++;
	w->lease_at = now_ms;
	w->lease_id = l.id;
	w->lease_job = jb->seq;
	w->lease_start = l.start;
	w->lease_end = l.end;
	w->hashes_done = 0;
	if (j->ev.lease_issued != NULL)
		j->ev.lease_issued(j->arg, jb->seq, &l);
	work_fill(jb, &l, &wk, now_ms);
	if (w->streaming)
		deliver(j, w, &wk);
	if (out != NULL)
		*out = wk;
	return 0;
}

/* Sends the worker's current lease again (a new stream).  0, or -1 when
 * it has none on the current job. */
static int
resend_work(struct jobs *j, struct wstate *w, int64_t now_ms)
{
	struct job *jb = lease_current(j, w);
	const struct lease *l;
	struct work wk;

	if (jb == NULL || (l = lease_get(jb->space, w->lease_id)) == NULL ||
	    l->released)
		return -1;
	work_fill(jb, l, &wk, now_ms);
	deliver(j, w, &wk);
	return 0;
}

static int
template_check(const struct job_template *t)
{
	if (t->blob_len == 0 || t->blob_len > JOBS_BLOB_MAX ||
	    (size_t)t->nonce_offset + 4 > t->blob_len)
		return -1;
	if (t->opensy && (t->blob_len != 80 || t->nonce_offset != 76))
		return -1;
	if (t->seed_len == 0 || t->seed_len > JOBS_SEED_MAX || t->target64 == 0)
		return -1;
	if (t->reserved_byte > 255 || t->source >= JOBS_SOURCES_MAX)
		return -1;
	if (t->extranonce_size > 8 || (t->extranonce_size > 0 &&
	    (!t->opensy || t->blob_len > LEASE_BLOB_MAX)))
		return -1;
	return 0;
}

/* Work is back: paused workers are told to resume. */
static void
resume_all(struct jobs *j, unsigned source)
{
	j->down_since[source] = 0;
	if (source >= j->nsources)
		j->nsources = source + 1;
	if (!j->paused)
		return;
	log_info("jobs: upstream work is back: workers resume");
	j->paused = 0;
	if (j->ev.paused != NULL)
		j->ev.paused(j->arg, 0);
}

/* Leases of the job the workers leave are done (released, not reissued). */
static void
release_current(struct jobs *j, struct job *leaving, int64_t now_ms)
{
	if (leaving == NULL)
		return;
	for (size_t i = 0; i < j->nworkers; i++) {
		struct wstate *w = &j->workers[i];
		if (w->lease_job == leaving->seq &&
		    lease_release(leaving->space, w->lease_id) == 0 &&
		    j->ev.lease_released != NULL)
			j->ev.lease_released(j->arg, w->lease_id, now_ms);
	}
}

/* A job we already have, by what is hashed: the same blob and seed.  A
 * pool resends its job after a reconnect (often under a new id); that is
 * the same nonce space, and a fresh one would hash every nonce twice. */
static struct job *
job_same_work(struct jobs *j, const struct job_template *t)
{
	for (size_t i = 0; i < j->njobs; i++) {
		struct job *jb = j->ring[i];
		if (jb->tpl.blob_len == t->blob_len && jb->tpl.seed_len == t->seed_len &&
		    jb->tpl.reserved_byte == t->reserved_byte &&
		    memcmp(jb->tpl.blob, t->blob, t->blob_len) == 0 &&
		    memcmp(jb->tpl.seed, t->seed, t->seed_len) == 0)
			return jb;
	}
	return NULL;
}

/* The upstream sent known work again: it becomes current under the id the
 * upstream now uses, and the workers' leases on it continue. */
static uint64_t
job_refresh(struct jobs *j, struct job *jb, const struct job_template *t,
    int64_t now_ms)
{
	struct job *prev = current_of(j, t->source);
	size_t at = 0;

	if (t->clean)
		for (size_t i = 0; i < j->njobs; i++)
			if (j->ring[i]->tpl.source == t->source)
				j->ring[i]->stale = j->ring[i] != jb;
	jb->stale = 0;
	jb->restored = 0;
	jb->tpl.source = t->source;
	memcpy(jb->tpl.upstream_id, t->upstream_id, sizeof(jb->tpl.upstream_id));
	jb->tpl.session = t->session;
	jb->tpl.target64 = t->target64;
	if (prev != jb) {
		release_current(j, prev, now_ms);
		while (j->ring[at] != jb)
			at++;
		memmove(j->ring + at, j->ring + at + 1,
		    (j->njobs - at - 1) * sizeof(*j->ring));
		j->ring[j->njobs - 1] = jb;
	}
	resume_all(j, t->source);
	sendq_begin(j);
	for (size_t i = 0; i < j->nworkers; i++) {
		struct wstate *w = &j->workers[i];
		if (!w->streaming || (lease_current(j, w) != NULL &&
		    w->lease_job != jb->seq))
			continue;	/* mining another source's current job */
		if (w->lease_job != jb->seq || resend_work(j, w, now_ms) != 0)
			issue_work(j, w, now_ms, NULL);
	}
	log_info("jobs: upstream job %s is job %s again (same work): leases "
	    "continue", t->upstream_id, jb->job_id);
	return jb->seq;
}

uint64_t
jobs_add(struct jobs *j, const struct job_template *t, int64_t now_ms)
{
	struct job *jb, *prev;
	struct sendq f;
	uint64_t start = 0, end = (uint64_t)1 << 32;

	if (template_check(t) != 0) {
		log_warnx("jobs: upstream job %s refused: blob %zu bytes, nonce at "
		    "%u, seed %zu bytes, target %016" PRIx64, t->upstream_id,
		    t->blob_len, t->nonce_offset, t->seed_len, t->target64);
		return 0;
	}
	pthread_mutex_lock(&j->jobs_lock);
	if ((jb = job_same_work(j, t)) != NULL) {
		uint64_t seq = job_refresh(j, jb, t, now_ms);
		f = sendq_take(j);
		pthread_mutex_unlock(&j->jobs_lock);
		sendq_send(j, &f, now_ms);
		return seq;
	}
	pthread_mutex_unlock(&j->jobs_lock);
	if ((jb = calloc(1, sizeof(*jb))) == NULL)
		return 0;
	if (t->reserved_byte >= 0) {
		start = (uint64_t)t->reserved_byte << 24;
		end = start + ((uint64_t)1 << 24);
	}
	pthread_mutex_lock(&j->jobs_lock);
	if ((start = cursor_of(j, t, start)) > end)
		start = end;	/* all of it was leased before: a new session */
	pthread_mutex_unlock(&j->jobs_lock);
	if (start > (t->reserved_byte >= 0 ? (uint64_t)t->reserved_byte << 24 : 0))
		log_info("jobs: upstream job %s is work leased before: its nonces "
		    "continue at %" PRIu64, t->upstream_id, start);
	if ((jb->space = lease_space_new(start, end)) == NULL) {
		free(jb);
		return 0;
	}
	jb->tpl = *t;
	jb->received_ms = now_ms;
	if (t->opensy &&
	    nbits_to_target256(le32_read(t->blob + 72), jb->block_target) == 0)
		jb->has_block_target = 1;

	pthread_mutex_lock(&j->jobs_lock);
	jb->seq = j->next_seq++;
	snprintf(jb->job_id, sizeof(jb->job_id), "%016" PRIx64, jb->seq);
	prev = current_of(j, t->source);
	if (t->clean)
		for (size_t i = 0; i < j->njobs; i++)
			if (j->ring[i]->tpl.source == t->source)
				j->ring[i]->stale = 1;
	release_current(j, prev, now_ms);
	if (j->njobs == j->cfg.keep_jobs) {
		j->pruned_max = j->ring[0]->seq;
		cursor_keep(j, j->ring[0]);
		job_free(j->ring[0]);
		memmove(j->ring, j->ring + 1, (j->njobs - 1) * sizeof(*j->ring));
		j->njobs--;
	}
	j->ring[j->njobs++] = jb;
	resume_all(j, t->source);
	if (j->ev.job_added != NULL) {
		struct job_info info = { jb->seq, { 0 }, &jb->tpl, { 0 },
		    jb->has_block_target, now_ms };
		memcpy(info.job_id, jb->job_id, sizeof(info.job_id));
		memcpy(info.block_target, jb->block_target, 32);
		j->ev.job_added(j->arg, &info);
	}
	/* Workers whose job this replaces (or who had none) get work now;
	 * those mining another source's current job go on. */
	sendq_begin(j);
	for (size_t i = 0; i < j->nworkers; i++) {
		struct wstate *w = &j->workers[i];
		if (lease_current(j, w) != NULL)
			continue;
		w->lease_job = 0;
		if (w->streaming)
			issue_work(j, w, now_ms, NULL);
	}
	f = sendq_take(j);
	pthread_mutex_unlock(&j->jobs_lock);
	sendq_send(j, &f, now_ms);
	log_info("jobs: job %s (upstream %s, height %" PRId64 ", difficulty %"
	    PRIu64 "%s) sent to the workers", jb->job_id, t->upstream_id, t->height,
	    target_to_difficulty(t->target64), t->clean ? ", clean" : "");
	return jb->seq;
}

void
jobs_upstream_down(struct jobs *j, unsigned source, int64_t now_ms)
{
	if (source >= JOBS_SOURCES_MAX)
		return;
	pthread_mutex_lock(&j->jobs_lock);
	if (j->down_since[source] == 0)
		j->down_since[source] = now_ms;
	pthread_mutex_unlock(&j->jobs_lock);
}

/*
 * What a reported hashrate may size: finite and positive, at most
 * JOBS_HASHRATE_MAX, and once the worker's credited shares have had
 * JOBS_PROOF_MS to prove a rate, at most JOBS_PROOF_FACTOR times that rate
 * (shares are random: the factor leaves room for bad luck).  0: ignore it.
 */
static double
credible(const struct wstate *w, double reported, int64_t now_ms)
{
	double proven;

	if (!isfinite(reported) || !(reported > 0))
		return 0;
	if (reported > JOBS_HASHRATE_MAX)
		reported = JOBS_HASHRATE_MAX;
	if (w->first_credit_ms == 0 || now_ms - w->first_credit_ms < JOBS_PROOF_MS)
		return reported;
	proven = (double)w->credited * 1000.0 /
	    (double)(now_ms - w->first_credit_ms);
	if (reported > proven * JOBS_PROOF_FACTOR) {
		log_debug("jobs: worker %s reports %.1f H/s, its shares prove "
		    "%.1f: sized as %.1f", w->id, reported, proven,
		    proven * JOBS_PROOF_FACTOR);
		reported = proven * JOBS_PROOF_FACTOR;
	}
	return reported;
}

int
jobs_worker_join(struct jobs *j, const char *worker_id, double hashrate,
    int64_t now_ms, struct work *out)
{
	struct wstate *w;
	struct job *live;
	const struct lease *l;
	int rc;

	pthread_mutex_lock(&j->jobs_lock);
	if ((w = worker_find(j, worker_id)) != NULL &&
	    (live = lease_current(j, w)) != NULL &&
	    (l = lease_get(live->space, w->lease_id)) != NULL && !l->released) {
		/* Registering again does not buy a new lease: the live one. */
		work_fill(live, l, out, now_ms);
		pthread_mutex_unlock(&j->jobs_lock);
		return 0;
	}
	if (w == NULL) {
		if (j->nworkers == j->capworkers) {
			size_t cap = j->capworkers ? j->capworkers * 2 : 16;
			struct wstate *nw = realloc(j->workers, cap * sizeof(*nw));
			if (nw != NULL)
				j->workers = nw;
			if (nw == NULL || idindex_rebuild(&j->windex, j->workers,
			    j->nworkers, cap) != 0) {
				pthread_mutex_unlock(&j->jobs_lock);
				return -1;
			}
			j->capworkers = cap;
		}
		w = &j->workers[j->nworkers];
		memset(w, 0, sizeof(*w));
		snprintf(w->id, sizeof(w->id), "%s", worker_id);
		idindex_add(&j->windex, j->workers, j->nworkers++);
	}
	w->hashrate = credible(w, hashrate, now_ms);
	w->guessed = 1;
	{
		struct vardiff_config vc = effective_vardiff(j, w);
		uint64_t known = known_take(j, worker_id);
		vardiff_init(&w->vd, &vc, known ? known :
		    vardiff_initial(&vc, w->hashrate), now_ms);
	}
	rc = issue_work(j, w, now_ms, out);
	pthread_mutex_unlock(&j->jobs_lock);
	return rc;
}

void
jobs_worker_stream(struct jobs *j, const char *worker_id, int open,
    int64_t now_ms)
{
	struct wstate *w;

	pthread_mutex_lock(&j->jobs_lock);
	if ((w = worker_find(j, worker_id)) != NULL) {
		w->streaming = open;
		/* A stream that opens (also one replacing an older stream of
		 * the worker) gets work at once: the lease it holds if that is
		 * still on the current job. */
		if (open && resend_work(j, w, now_ms) != 0)
			issue_work(j, w, now_ms, NULL);
	}
	pthread_mutex_unlock(&j->jobs_lock);
}

void
jobs_worker_leave(struct jobs *j, const char *worker_id, int64_t now_ms)
{
	size_t i;

	pthread_mutex_lock(&j->jobs_lock);
	if ((i = idindex_find(&j->windex, j->workers, worker_id)) == (size_t)-1) {
		pthread_mutex_unlock(&j->jobs_lock);
		return;
	}
	for (size_t k = 0; k < j->njobs; k++) {
		struct lease_space *sp = j->ring[k]->space;
		for (size_t n = 0; n < lease_space_count(sp); n++) {
			const struct lease *l = lease_space_at(sp, n);
			if (!l->released && strcmp(l->owner, worker_id) == 0 &&
			    j->ev.lease_released != NULL)
				j->ev.lease_released(j->arg, l->id, now_ms);
		}
		lease_release_owner(sp, worker_id);
	}
	j->workers[i] = j->workers[--j->nworkers];
	/* The last row moved into i: index the rows again (same size, so no
	 * allocation; a leave is rare beside the lookups the index saves). */
	(void)idindex_rebuild(&j->windex, j->workers, j->nworkers,
	    j->capworkers);
	pthread_mutex_unlock(&j->jobs_lock);
}

/* The first reported hashrate replaces the guess made at Register: a
 * worker far slower or faster than guessed gets its difficulty (and a
 * fresh lease) now instead of after a few vardiff windows. */
static int
retarget_from_report(struct jobs *j, struct wstate *w, int64_t now_ms)
{
	struct vardiff_config vc = effective_vardiff(j, w);
	uint64_t want = vardiff_initial(&vc, w->hashrate);

	w->guessed = 0;
	if (want * 2 > w->vd.diff && want < w->vd.diff * 2)
		return 0;
	log_info("jobs: worker %s reports %.1f H/s: difficulty %" PRIu64 " -> %"
	    PRIu64, w->id, w->hashrate, w->vd.diff, want);
	vardiff_init(&w->vd, &vc, want, now_ms);
	return !j->paused && issue_work(j, w, now_ms, NULL) == 0;
}

void
jobs_worker_heartbeat(struct jobs *j, const char *worker_id, double hashrate,
    uint64_t lease_id, uint64_t hashes_done, int want_lease, int64_t now_ms)
{
	struct wstate *w;

	pthread_mutex_lock(&j->jobs_lock);
	if ((w = worker_find(j, worker_id)) != NULL) {
		struct job *jb = lease_current(j, w);
		int may_renew = now_ms - w->lease_at >= JOBS_RENEW_MIN_MS ||
		    now_ms < w->lease_at;
		hashrate = credible(w, hashrate, now_ms);
		if (hashrate > 0)
			w->hashrate = hashrate;
		if (hashrate > 0 && w->guessed && retarget_from_report(j, w, now_ms))
			lease_id = 0;	/* the new lease is on its way */
		if (lease_id == w->lease_id && lease_id != 0) {
			uint64_t size = w->lease_end - w->lease_start;
			double left;
			w->hashes_done = hashes_done < size ? hashes_done : size;
			left = (double)(size - w->hashes_done);
			/* Renew ahead so the worker never runs dry; a worker
			 * asking again and again gets one lease per
			 * JOBS_RENEW_MIN_MS at most. */
			if (jb != NULL && !j->paused && may_renew &&
			    (want_lease || left < w->hashrate * j->cfg.renew_seconds))
				issue_work(j, w, now_ms, NULL);
		} else if (want_lease && jb == NULL && !j->paused && may_renew) {
			issue_work(j, w, now_ms, NULL);	/* it has nothing current */
		}
	}
	pthread_mutex_unlock(&j->jobs_lock);
}

static int
parse_job_id(const char *s, uint64_t *seq)
{
	char *end;

	if (s == NULL || strlen(s) != 16)
		return -1;
	*seq = strtoull(s, &end, 16);
	return *end == '\0' ? 0 : -1;
}

enum ledger_reason
jobs_check_share(struct jobs *j, const char *worker_id, const char *job_id,
    const uint8_t *nonce_bytes, size_t nonce_len, struct share_ctx *ctx)
{
	struct job *jb;
	const struct lease *l;
	uint64_t seq;
	uint32_t nonce;
	enum ledger_reason r = LEDGER_REASON_OK;

	if (nonce_len != 4)
		return LEDGER_REASON_MALFORMED;
	nonce = le32_read(nonce_bytes);
	pthread_mutex_lock(&j->jobs_lock);
	if (parse_job_id(job_id, &seq) != 0 || seq == 0 || seq >= j->next_seq) {
		r = LEDGER_REASON_UNKNOWN_JOB;
	} else if ((jb = job_by_seq(j, seq)) == NULL || jb->stale) {
		r = LEDGER_REASON_STALE;	/* pruned or superseded by a clean job */
	} else if ((l = lease_find(jb->space, nonce)) == NULL ||
	    strcmp(l->owner, worker_id) != 0) {
		r = LEDGER_REASON_OUTSIDE_LEASE;
	} else if (l->has_extranonce && l->blob_len == 0) {
		r = LEDGER_REASON_STALE;	/* node work from before a restart */
	} else {
		int added = nonceset_add(&jb->taken, nonce);
		if (added != 0) {
			r = LEDGER_REASON_DUPLICATE;	/* (or out of memory: refuse) */
		} else {
			memset(ctx, 0, sizeof(*ctx));
			ctx->job_seq = jb->seq;
			ctx->lease_id = l->id;
			memcpy(ctx->upstream_id, jb->tpl.upstream_id, JOBS_ID_MAX);
			ctx->session = jb->tpl.session;
			ctx->source = jb->tpl.source;
			memcpy(ctx->seed, jb->tpl.seed, jb->tpl.seed_len);
			ctx->seed_len = jb->tpl.seed_len;
			if (l->has_extranonce) {
				memcpy(ctx->input, l->blob, l->blob_len);
				ctx->input_len = l->blob_len;
				ctx->extranonce = l->extranonce;
				ctx->extranonce_size = jb->tpl.extranonce_size;
				ctx->reward = jb->tpl.reward;
			} else {
				memcpy(ctx->input, jb->tpl.blob, jb->tpl.blob_len);
				ctx->input_len = jb->tpl.blob_len;
			}
			memcpy(ctx->input + jb->tpl.nonce_offset, nonce_bytes, 4);
			ctx->nonce = nonce;
			ctx->share_target = l->share_target;
			ctx->upstream_target = jb->tpl.target64;
			memcpy(ctx->block_target, jb->block_target, 32);
			ctx->has_block_target = jb->has_block_target;
			ctx->height = jb->tpl.height;
		}
	}
	pthread_mutex_unlock(&j->jobs_lock);
	return r;
}

void
jobs_unreserve(struct jobs *j, uint64_t job_seq, uint32_t nonce)
{
	struct job *jb;

	pthread_mutex_lock(&j->jobs_lock);
	if ((jb = job_by_seq(j, job_seq)) != NULL)
		nonceset_del(&jb->taken, nonce);
	pthread_mutex_unlock(&j->jobs_lock);
}

void
jobs_share_credited(struct jobs *j, const char *worker_id, uint64_t difficulty,
    int64_t now_ms)
{
	struct wstate *w;

	pthread_mutex_lock(&j->jobs_lock);
	if ((w = worker_find(j, worker_id)) != NULL) {
		if (w->first_credit_ms == 0)
			w->first_credit_ms = now_ms;
		else if (w->credited < UINT64_MAX - difficulty)
			w->credited += difficulty;	/* the first opens the clock */
		struct vardiff_config vc = effective_vardiff(j, w);
		uint64_t before = w->vd.diff;
		if (vardiff_apply_floor(&w->vd, &vc, now_ms) ||
		    vardiff_on_share(&w->vd, &vc, now_ms)) {
			log_info("jobs: worker %s difficulty %" PRIu64 " -> %" PRIu64,
			    w->id, before, w->vd.diff);
			issue_work(j, w, now_ms, NULL);
		}
	}
	pthread_mutex_unlock(&j->jobs_lock);
}

/* How long every source has been down (-1: one is up). */
static int64_t
all_down_for(struct jobs *j, int64_t now_ms)
{
	int64_t shortest = INT64_MAX;

	for (unsigned src = 0; src < j->nsources; src++) {
		if (j->down_since[src] == 0)
			return -1;
		if (now_ms - j->down_since[src] < shortest)
			shortest = now_ms - j->down_since[src];
	}
	return shortest;
}

void
jobs_set_vardiff(struct jobs *j, const struct vardiff_config *vc,
    int64_t now_ms)
{
	pthread_mutex_lock(&j->jobs_lock);
	j->cfg.vardiff = *vc;
	for (size_t i = 0; i < j->nworkers; i++) {
		struct wstate *w = &j->workers[i];
		struct vardiff_config ec = effective_vardiff(j, w);
		uint64_t d = w->vd.diff;

		if (d >= ec.min_diff && d <= ec.max_diff)
			continue;
		w->vd.diff = d < ec.min_diff ? ec.min_diff : ec.max_diff;
		w->vd.window_start_ms = now_ms;
		w->vd.window_shares = 0;
		if (!j->paused)
			issue_work(j, w, now_ms, NULL);
	}
	pthread_mutex_unlock(&j->jobs_lock);
}

void
jobs_tick(struct jobs *j, int64_t now_ms)
{
	pthread_mutex_lock(&j->jobs_lock);
	for (size_t i = 0; i < j->nworkers; i++) {
		struct wstate *w = &j->workers[i];
		struct vardiff_config vc = effective_vardiff(j, w);
		uint64_t before = w->vd.diff;
		if (vardiff_apply_floor(&w->vd, &vc, now_ms)) {
			log_debug("jobs: worker %s difficulty %" PRIu64 " -> %"
			    PRIu64 " (verification budget)", w->id, before,
			    w->vd.diff);
			if (!j->paused)
				issue_work(j, w, now_ms, NULL);
		} else if (vardiff_tick(&w->vd, &vc, now_ms) && !j->paused) {
			issue_work(j, w, now_ms, NULL);
		}
	}
	if (!j->paused && j->nsources > 0 && all_down_for(j, now_ms) >=
	    j->cfg.job_timeout_ms) {
		/* Shares of a job no pool can take are worth nothing: stop. */
		j->paused = 1;
		if (j->ev.paused != NULL)
			j->ev.paused(j->arg, 1);
		log_warnx("jobs: no upstream for %" PRId64 " ms: pausing %zu workers "
		    "until a pool sends work", all_down_for(j, now_ms), j->nworkers);
	}
	pthread_mutex_unlock(&j->jobs_lock);
}

void
jobs_set_verify_budget(struct jobs *j, double shares_per_second)
{
	pthread_mutex_lock(&j->jobs_lock);
	j->verify_budget = shares_per_second;
	pthread_mutex_unlock(&j->jobs_lock);
}

void
jobs_get_stats(struct jobs *j, struct jobs_stats *st)
{
	struct job *jb;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&j->jobs_lock);
	if (j->njobs > 0)
		st->current_seq = j->ring[j->njobs - 1]->seq;
	if ((jb = current_of(j, 0)) != NULL) {
		memcpy(st->current_job_id, jb->job_id, sizeof(st->current_job_id));
		memcpy(st->upstream_id, jb->tpl.upstream_id, sizeof(st->upstream_id));
		st->height = jb->tpl.height;
		st->current_since_ms = jb->received_ms;
	}
	for (unsigned src = 0; src < j->nsources && src < JOBS_SOURCES_MAX;
	    src++) {
		if ((jb = current_of(j, src)) == NULL || jb->stale)
			continue;
		st->nonces_left += lease_space_remaining(jb->space);
		memcpy(st->current[src].job_id, jb->job_id,
		    sizeof(st->current[src].job_id));
		st->current[src].space = lease_space_end(jb->space);
		st->current[src].left = lease_space_remaining(jb->space);
		st->current[src].height = jb->tpl.height;
	}
	st->sources = j->nsources;
	st->workers = (unsigned)j->nworkers;
	for (size_t i = 0; i < j->nworkers; i++)
		st->streaming += j->workers[i].streaming ? 1 : 0;
	st->leases_issued = j->leases_issued;
	st->paused = j->paused;
	st->fanouts = j->fanouts;
	st->fanout_seconds_sum = j->fanout_sum;
	memcpy(st->fanout_bucket, j->fanout_bucket, sizeof(st->fanout_bucket));
	st->fanout_last_workers = j->fanout_last_workers;
	pthread_mutex_unlock(&j->jobs_lock);
}

int
jobs_worker_info(struct jobs *j, const char *worker_id, uint64_t *diff,
    uint64_t *lease_id, uint64_t *lease_start, uint64_t *lease_end,
    uint64_t *hashes_done)
{
	struct wstate *w;
	int rc = -1;

	pthread_mutex_lock(&j->jobs_lock);
	if ((w = worker_find(j, worker_id)) != NULL) {
		*diff = w->vd.diff;
		*lease_id = w->lease_id;
		*lease_start = w->lease_start;
		*lease_end = w->lease_end;
		*hashes_done = w->hashes_done;
		rc = 0;
	}
	pthread_mutex_unlock(&j->jobs_lock);
	return rc;
}
