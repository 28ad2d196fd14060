/*
 * miner.c: the hashing engine.  N hashing threads, one RandomX VM each, take
 * small batches of the current lease under one lock (so no nonce is handed
 * out twice) and hash them with the pipelined first/next API; a control
 * thread (re)builds the dataset when the seed changes, only after every VM
 * of the old one is gone.  A generation counter, read before every hash,
 * makes threads drop work that a new job, a pause or a stop made stale.
 * A prepare thread builds the key a job names as next (node work, near a
 * key boundary) in the background, one at a time, so that the job with
 * that seed switches contexts at once instead of re-initialising.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/target.h"
#include "worker/miner.h"

#define BATCH_MAX 64

struct lease {
	uint64_t id, start, end;
	uint64_t next;		/* first nonce not yet handed out */
	uint64_t share_target;
	uint64_t batch;		/* nonces handed out per take */
	int asked;		/* on_need_lease called for it */
};

/* What a thread copies of the current job when the generation changes. */
struct work {
	uint64_t gen;
	char job_id[CLIENT_JOB_ID_MAX];
	uint8_t blob[CLIENT_BLOB_MAX];
	size_t blob_len;
	uint32_t nonce_offset;
	uint8_t block_target[32];
	int has_block_target;
};

/* A run of nonces handed to one thread, with its lease's terms. */
struct batch {
	uint64_t next, end;
	uint64_t lease_id;
	uint64_t share_target;
};

struct mthread {
	struct miner *m;
	int index;
	pthread_t tid;
	int started;
	struct rx_vm *vm;
	struct rx_ctx *vm_ctx;		/* the ctx vm was made from (no ref) */
	struct work work;
	_Alignas(64) atomic_uint_least64_t hashes;
};

struct miner {
	struct miner_config cfg;
	struct miner_callbacks cb;
	void *arg;
	int nthreads;
	struct mthread *th;
	pthread_t ctl_tid;
	int ctl_started;

	_Alignas(64) atomic_uint_least64_t gen;
	atomic_uint_least64_t shares_found, blocks_found, jobs_rejected;
	atomic_int cancel;		/* stop a dataset build: shutting down */

	/* lock guards everything below. */
	_Alignas(64) pthread_mutex_t lock;
	pthread_cond_t work_cv;		/* hashing threads wait for work */
	pthread_cond_t ctl_cv;		/* control thread: seed, VMs gone */
	pthread_cond_t idle_cv;		/* miner_wait_idle */
	struct client_job job;
	int have_job;
	struct lease cur, next;
	int have_next;
	struct rx_ctx *ctx;		/* dataset for ctx_key; NULL: none */
	int building;
	uint8_t failed_seed[32];	/* a seed whose build failed */
	size_t failed_seed_len;
	int vms_alive;
	int parked;
	int paused, stopping;
	int64_t ready_ms;
	uint64_t rx_inits, rx_prepared, rx_switched_ahead;

	/* The next key, prepared ahead by prep_thread (also under lock). */
	pthread_t prep_tid;
	int prep_started;
	pthread_cond_t prep_cv;		/* prep_thread: a key is wanted */
	uint8_t want_seed[32];		/* the latest job's next key */
	size_t want_seed_len;		/* 0: none */
	uint8_t prep_seed[32];		/* being built now */
	size_t prep_seed_len;		/* 0: nothing being built */
	uint8_t skip_seed[32];		/* could not be prepared: not again */
	size_t skip_seed_len;
	struct rx_ctx *next_ctx;	/* ready, for a key no job uses yet */
	atomic_int prep_cancel;		/* the key being built is not wanted */
};

enum take_rc { TAKE_OK, TAKE_RELOAD, TAKE_NONE, TAKE_STOP };

/* calloc for the cache-line-aligned structs (calloc gives 16 bytes). */
static void *
calloc_lines(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size > SIZE_MAX / n ||
	    posix_memalign(&p, 64, n * size) != 0)
		return NULL;
	memset(p, 0, n * size);
	return p;
}

int
miner_job_check(const struct client_job *j, char *why, size_t len)
{
	if (j->job_id[0] == '\0' ||
	    memchr(j->job_id, '\0', sizeof(j->job_id)) == NULL)
		snprintf(why, len, "empty or unterminated job id");
	else if (j->blob_len == 0 || j->blob_len > CLIENT_BLOB_MAX)
		snprintf(why, len, "blob length %zu outside 1..%d", j->blob_len,
		    CLIENT_BLOB_MAX);
	else if ((size_t)j->nonce_offset + 4 > j->blob_len)
		snprintf(why, len, "blob of %zu bytes too short for the nonce at "
		    "offset %" PRIu32, j->blob_len, j->nonce_offset);
	else if (j->seed_len == 0 || j->seed_len > sizeof(j->seed))
		snprintf(why, len, "seed length %zu outside 1..%zu", j->seed_len,
		    sizeof(j->seed));
	else if (j->share_target == 0)
		snprintf(why, len, "zero share target");
	else if (j->nonce_end <= j->nonce_start)
		snprintf(why, len, "empty lease [%" PRIu64 ", %" PRIu64 ")",
		    j->nonce_start, j->nonce_end);
	else if (j->nonce_end > ((uint64_t)1 << 32))
		snprintf(why, len, "lease end %" PRIu64 " beyond the 32-bit "
		    "nonce space", j->nonce_end);
	else if (j->algo[0] != '\0' && strcmp(j->algo, "rx/0") != 0)
		snprintf(why, len, "unsupported algorithm '%.15s'", j->algo);
	else
		return 0;
	return -1;
}

static void
lease_from_job(struct lease *l, const struct client_job *j, int nthreads)
{
	uint64_t size = j->nonce_end - j->nonce_start;

	memset(l, 0, sizeof(*l));
	l->id = j->lease_id;
	l->start = l->next = j->nonce_start;
	l->end = j->nonce_end;
	l->share_target = j->share_target;
	/* Small batches keep the split even at the end of a lease; one
	 * lock per batch costs nothing next to a millisecond hash. */
	l->batch = size / ((uint64_t)nthreads * 16);
	if (l->batch < 1)
		l->batch = 1;
	if (l->batch > BATCH_MAX)
		l->batch = BATCH_MAX;
}

static int
same_job(const struct client_job *a, const struct client_job *b)
{
	return strcmp(a->job_id, b->job_id) == 0 && a->seed_len == b->seed_len &&
	    memcmp(a->seed, b->seed, a->seed_len) == 0 &&
	    a->blob_len == b->blob_len && memcmp(a->blob, b->blob, a->blob_len) == 0 &&
	    a->nonce_offset == b->nonce_offset;
}

static void
bump_gen(struct miner *m)
{
	atomic_fetch_add_explicit(&m->gen, 1, memory_order_release);
}

/* The current dataset serves the current job: hashing may go on. */
static int
ctx_usable(const struct miner *m)
{
	return m->have_job && !m->paused && !m->building && m->ctx != NULL &&
	    rx_ctx_has_key(m->ctx, m->job.seed, m->job.seed_len);
}

/* The current job's seed has no dataset yet (and did not fail to get one). */
static int
need_build(const struct miner *m)
{
	return m->have_job && (m->ctx == NULL ||
	    !rx_ctx_has_key(m->ctx, m->job.seed, m->job.seed_len)) &&
	    !(m->failed_seed_len == m->job.seed_len &&
	    memcmp(m->failed_seed, m->job.seed, m->job.seed_len) == 0);
}

static int
seed_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen > 0 && alen == blen && memcmp(a, b, alen) == 0;
}

/* The prepare thread is building the current job's seed: wait for it. */
static int
prep_serves_job(const struct miner *m)
{
	return m->have_job && seed_eq(m->prep_seed, m->prep_seed_len, m->job.seed,
	    m->job.seed_len);
}

/* The control thread has a context to build (or to take prepared). */
static int
ctl_has_work(const struct miner *m)
{
	return need_build(m) && !prep_serves_job(m);
}

/*
 * The current job's seed was prepared ahead: it becomes the context now,
 * without a pause; hashing threads make new VMs when they next take work.
 * Lock held.  Returns the old context for the caller to release outside
 * the lock (VMs still on it keep their own references until they go).
 */
static struct rx_ctx *
switch_prepared(struct miner *m)
{
	struct rx_ctx *old;

	if (!m->have_job || m->building || m->next_ctx == NULL ||
	    !rx_ctx_has_key(m->next_ctx, m->job.seed, m->job.seed_len))
		return NULL;
	old = m->ctx;
	m->ctx = m->next_ctx;
	m->next_ctx = NULL;
	m->failed_seed_len = 0;
	m->ready_ms = clock_mono_ms();
	m->rx_switched_ahead++;
	bump_gen(m);
	log_info("miner: job %s: seed %02x%02x%02x%02x... was prepared ahead, "
	    "switched without re-initialising", m->job.job_id, m->job.seed[0],
	    m->job.seed[1], m->job.seed[2], m->job.seed[3]);
	pthread_cond_broadcast(&m->work_cv);
	pthread_cond_broadcast(&m->idle_cv);
	return old;
}

/*
 * A new job names the key to prepare next, or none.  A prepared context
 * that neither the job nor its next key uses is dropped (returned for the
 * caller to release outside the lock); a build of such a key is cancelled.
 * Lock held.
 */
static struct rx_ctx *
want_next(struct miner *m, const struct client_job *j)
{
	struct rx_ctx *drop = NULL;

	m->want_seed_len = 0;
	if (j->next_seed_len > 0 && j->next_seed_len <= sizeof(m->want_seed) &&
	    !seed_eq(j->next_seed, j->next_seed_len, j->seed, j->seed_len)) {
		memcpy(m->want_seed, j->next_seed, j->next_seed_len);
		m->want_seed_len = j->next_seed_len;
	}
	if (m->next_ctx != NULL &&
	    !rx_ctx_has_key(m->next_ctx, m->want_seed, m->want_seed_len) &&
	    !rx_ctx_has_key(m->next_ctx, j->seed, j->seed_len)) {
		log_info("miner: dropping the RandomX context prepared ahead: "
		    "job %s does not name its key", j->job_id);
		drop = m->next_ctx;
		m->next_ctx = NULL;
	}
	if (m->prep_seed_len > 0 &&
	    !seed_eq(m->prep_seed, m->prep_seed_len, m->want_seed,
	    m->want_seed_len) &&
	    !seed_eq(m->prep_seed, m->prep_seed_len, j->seed, j->seed_len))
		atomic_store(&m->prep_cancel, 1);
	pthread_cond_signal(&m->prep_cv);
	return drop;
}

static int
work_left(const struct miner *m)
{
	return m->have_job && (m->cur.next < m->cur.end || m->have_next);
}

/* Called with the lock held; says whether to call on_need_lease. */
static int
lease_check_low(struct miner *m)
{
	struct lease *l = &m->cur;
	uint64_t left = l->end - l->next;

	if (l->asked || m->have_next)
		return 0;
	if (left > (l->end - l->start) / 4 &&
	    left > l->batch * (uint64_t)m->nthreads)
		return 0;
	l->asked = 1;
	return 1;
}

static void
ask_lease(struct miner *m, const char *job_id, uint64_t lease_id)
{
	log_debug("miner: lease %" PRIu64 " of job %s runs low, asking for "
	    "the next", lease_id, job_id);
	if (m->cb.on_need_lease != NULL)
		m->cb.on_need_lease(m->arg, job_id, lease_id);
}

static void
thread_drop_vm(struct mthread *t)
{
	struct miner *m = t->m;

	if (t->vm == NULL)
		return;
	rx_vm_free(t->vm);
	t->vm = NULL;
	t->vm_ctx = NULL;
	m->vms_alive--;
	pthread_cond_signal(&m->ctl_cv);
}

/*
 * Hands the thread its next batch.  With wait set it parks until there is
 * work; without, it returns TAKE_NONE instead of parking or reloading (the
 * caller first finishes its in-flight hash).  Lock held by the caller.
 */
static enum take_rc
take_locked(struct mthread *t, struct batch *b, int wait, char *ask_job,
    uint64_t *ask_lease_id, int *ask)
{
	struct miner *m = t->m;

	for (;;) {
		uint64_t gen = atomic_load_explicit(&m->gen, memory_order_acquire);

		if (m->stopping)
			return TAKE_STOP;
		if (ctx_usable(m) && t->vm_ctx == m->ctx && t->work.gen == gen) {
			struct lease *l = &m->cur;
			if (l->next >= l->end && m->have_next) {
				m->cur = m->next;
				m->have_next = 0;
			}
			if (l->next < l->end) {
				uint64_t n = l->end - l->next;
				if (n > l->batch)
					n = l->batch;
				b->next = l->next;
				b->end = l->next + n;
				b->lease_id = l->id;
				b->share_target = l->share_target;
				l->next += n;
				if (lease_check_low(m)) {
					*ask = 1;
					*ask_lease_id = l->id;
					snprintf(ask_job, CLIENT_JOB_ID_MAX, "%s",
					    m->job.job_id);
				}
				return TAKE_OK;
			}
			if (!l->asked) {
				l->asked = 1;
				*ask = 1;
				*ask_lease_id = l->id;
				snprintf(ask_job, CLIENT_JOB_ID_MAX, "%s", m->job.job_id);
			}
		}
		if (!wait)
			return TAKE_NONE;
		/* A VM made for a dataset that is gone or going must go. */
		if (t->vm != NULL && (m->building || t->vm_ctx != m->ctx))
			thread_drop_vm(t);
		if (ctx_usable(m) && (t->vm == NULL || t->work.gen != gen))
			return TAKE_RELOAD;
		m->parked++;
		pthread_cond_broadcast(&m->idle_cv);
		pthread_cond_wait(&m->work_cv, &m->lock);
		m->parked--;
	}
}

static enum take_rc
take(struct mthread *t, struct batch *b, int wait)
{
	struct miner *m = t->m;
	char ask_job[CLIENT_JOB_ID_MAX];
	uint64_t ask_id = 0;
	int ask = 0;
	enum take_rc rc;

	pthread_mutex_lock(&m->lock);
	rc = take_locked(t, b, wait, ask_job, &ask_id, &ask);
	pthread_mutex_unlock(&m->lock);
	if (ask)
		ask_lease(m, ask_job, ask_id);
	return rc;
}

/* Copies the job and makes a VM for the current dataset if needed. */
static void
thread_reload(struct mthread *t)
{
	struct miner *m = t->m;
	struct rx_ctx *ctx = NULL;
	struct rx_vm *vm;

	pthread_mutex_lock(&m->lock);
	if (!ctx_usable(m)) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	t->work.gen = atomic_load_explicit(&m->gen, memory_order_acquire);
	snprintf(t->work.job_id, sizeof(t->work.job_id), "%s", m->job.job_id);
	memcpy(t->work.blob, m->job.blob, m->job.blob_len);
	t->work.blob_len = m->job.blob_len;
	t->work.nonce_offset = m->job.nonce_offset;
	memcpy(t->work.block_target, m->job.block_target, 32);
	t->work.has_block_target = m->job.has_block_target;
	if (t->vm == NULL) {
		ctx = rx_ctx_ref(m->ctx);
		m->vms_alive++;		/* counted from the ref on */
	}
	pthread_mutex_unlock(&m->lock);
	if (ctx == NULL)
		return;
	vm = rx_vm_new(ctx);
	pthread_mutex_lock(&m->lock);
	if (vm == NULL) {
		m->vms_alive--;
		pthread_cond_signal(&m->ctl_cv);
		t->work.gen = 0;
		/* Parks until something changes rather than spinning. */
		m->parked++;
		pthread_cond_broadcast(&m->idle_cv);
		pthread_cond_wait(&m->work_cv, &m->lock);
		m->parked--;
	} else {
		t->vm = vm;
		t->vm_ctx = ctx;
	}
	pthread_mutex_unlock(&m->lock);
	rx_ctx_unref(ctx);
}

static void
found(struct mthread *t, const struct batch *b, uint32_t nonce,
    const uint8_t hash[RX_HASH_SIZE])
{
	struct miner *m = t->m;
	struct miner_share s;

	atomic_fetch_add_explicit(&t->hashes, 1, memory_order_relaxed);
	if (m->cb.on_hash != NULL)
		m->cb.on_hash(m->arg, t->index, nonce, hash);
	if (!hash_meets_target64(hash, b->share_target))
		return;
	memset(&s, 0, sizeof(s));
	s.job_id = t->work.job_id;
	s.lease_id = b->lease_id;
	s.nonce = nonce;
	memcpy(s.result, hash, RX_HASH_SIZE);
	s.share_target = b->share_target;
	s.is_block = t->work.has_block_target &&
	    hash_meets_target256(hash, t->work.block_target);
	s.thread = t->index;
	atomic_fetch_add_explicit(&m->shares_found, 1, memory_order_relaxed);
	if (s.is_block) {
		atomic_fetch_add_explicit(&m->blocks_found, 1, memory_order_relaxed);
		log_info("miner: job %s nonce %08" PRIx32 " meets the block target: "
		    "block candidate", s.job_id, nonce);
	}
	if (m->cb.on_share != NULL)
		m->cb.on_share(m->arg, &s);
}

static void
pin_thread(struct mthread *t)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int cpu = t->index % (int)(n > 0 ? n : 1);

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		log_warnx("miner: thread %d: cannot pin to CPU %d", t->index, cpu);
}

/*
 * The pipeline: hash_first starts nonce A; hash_next(B) finishes A while
 * starting B; hash_last finishes the one in flight.  The in-flight hash is
 * always finished (and checked against its own batch's terms) before the
 * thread reloads or parks, so no result is lost and none is misfiled.
 */
static void *
hash_thread(void *arg)
{
	struct mthread *t = arg;
	struct miner *m = t->m;
	uint8_t out[RX_HASH_SIZE];
	struct batch b, fb;	/* current batch; the in-flight nonce's */
	uint32_t fnonce = 0;
	int inflight = 0;

	if (m->cfg.affinity)
		pin_thread(t);
	for (;;) {
		enum take_rc rc = take(t, &b, 1);
		if (rc == TAKE_STOP)
			break;
		if (rc == TAKE_RELOAD) {
			thread_reload(t);
			continue;
		}
		for (;;) {
			uint32_t nonce;
			uint8_t *np = t->work.blob + t->work.nonce_offset;

			if (atomic_load_explicit(&m->gen, memory_order_relaxed) !=
			    t->work.gen)
				break;
			if (b.next >= b.end && take(t, &b, 0) != TAKE_OK)
				break;
			nonce = (uint32_t)b.next++;
			le32_write(np, nonce);
			if (!inflight) {
				rx_hash_first(t->vm, t->work.blob, t->work.blob_len);
				inflight = 1;
			} else {
				rx_hash_next(t->vm, t->work.blob, t->work.blob_len, out);
				found(t, &fb, fnonce, out);
			}
			fb = b;
			fnonce = nonce;
		}
		if (inflight) {
			rx_hash_last(t->vm, out);
			found(t, &fb, fnonce, out);
			inflight = 0;
		}
	}
	pthread_mutex_lock(&m->lock);
	thread_drop_vm(t);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Rebuilds the dataset whenever the current job's seed has none. */
static void *
ctl_thread(void *arg)
{
	struct miner *m = arg;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		struct rx_ctx *old, *ctx;
		uint8_t seed[32];
		size_t seedlen;

		while (!m->stopping && !ctl_has_work(m))
			pthread_cond_wait(&m->ctl_cv, &m->lock);
		if (m->stopping)
			break;
		if (m->next_ctx != NULL &&
		    rx_ctx_has_key(m->next_ctx, m->job.seed, m->job.seed_len)) {
			old = switch_prepared(m);
			pthread_mutex_unlock(&m->lock);
			rx_ctx_unref(old);
			pthread_mutex_lock(&m->lock);
			continue;
		}
		m->rx_inits++;
		/* Every VM of the old dataset stops before it is released. */
		m->building = 1;
		bump_gen(m);
		pthread_cond_broadcast(&m->work_cv);
		while (m->vms_alive > 0 && !m->stopping)
			pthread_cond_wait(&m->ctl_cv, &m->lock);
		if (m->stopping)
			break;
		old = m->ctx;
		m->ctx = NULL;
		seedlen = m->job.seed_len;
		memcpy(seed, m->job.seed, seedlen);
		pthread_mutex_unlock(&m->lock);

		if (old != NULL)
			rx_ctx_unref(old);
		log_info("miner: initialising RandomX for seed %02x%02x%02x%02x... "
		    "with %d threads", seed[0], seed[1], seed[2], seed[3],
		    m->nthreads);
		ctx = rx_ctx_new_cancel(seed, seedlen, m->cfg.mode, m->cfg.pages,
		    m->nthreads, &m->cancel);
		if (ctx != NULL)
			rx_ctx_log(ctx, "miner");
		else if (!atomic_load(&m->cancel))
			log_error("miner: cannot initialise RandomX for the new "
			    "seed; waiting for another job");

		pthread_mutex_lock(&m->lock);
		m->ctx = ctx;
		m->failed_seed_len = 0;
		if (ctx == NULL) {
			memcpy(m->failed_seed, seed, seedlen);
			m->failed_seed_len = seedlen;
		}
		m->building = 0;
		m->ready_ms = clock_mono_ms();
		pthread_cond_broadcast(&m->work_cv);
		pthread_cond_broadcast(&m->idle_cv);
		pthread_cond_signal(&m->prep_cv);	/* a next key may wait */
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Builds the next key's context, in the mode the current one got, with one
 * initialisation thread: the hashing threads keep the other CPUs.  In full
 * mode only when memory leaves room for a second dataset.  NULL when it
 * cannot (logged) or was cancelled. */
static struct rx_ctx *
prep_build(struct miner *m, const uint8_t *seed, size_t len, enum rx_mode mode)
{
	struct rx_ctx *ctx;
	struct rx_ctx_info info;
	char why[160];

	if (mode == RX_FULL && !rx_full_mode_fits(why, sizeof(why))) {
		log_warnx("miner: not preparing the next seed %02x%02x%02x%02x... "
		    "ahead: %s for a second dataset; it is initialised at the "
		    "key boundary", seed[0], seed[1], seed[2], seed[3], why);
		return NULL;
	}
	log_info("miner: preparing RandomX (%s) for the next seed "
	    "%02x%02x%02x%02x... in the background", rx_mode_name(mode),
	    seed[0], seed[1], seed[2], seed[3]);
	ctx = rx_ctx_new_cancel(seed, len, mode, m->cfg.pages, 1,
	    &m->prep_cancel);
	if (ctx == NULL) {
		if (!atomic_load(&m->prep_cancel))
			log_warnx("miner: cannot prepare the next seed ahead; it is "
			    "initialised at the key boundary");
		return NULL;
	}
	rx_ctx_get_info(ctx, &info);
	if (info.mode != mode) {
		log_warnx("miner: the next seed's dataset did not fit beside the "
		    "current one; it is initialised at the key boundary");
		rx_ctx_unref(ctx);
		return NULL;
	}
	log_info("miner: next seed %02x%02x%02x%02x... prepared ahead in %.1f s",
	    seed[0], seed[1], seed[2], seed[3], (double)info.init_ms / 1000.0);
	return ctx;
}

/* A key is wanted that has no context yet, and the current one is ready
 * (never two dataset builds at once). */
static int
prep_wanted(const struct miner *m)
{
	return m->want_seed_len > 0 && m->ctx != NULL && !m->building &&
	    !rx_ctx_has_key(m->ctx, m->want_seed, m->want_seed_len) &&
	    !(m->next_ctx != NULL &&
	    rx_ctx_has_key(m->next_ctx, m->want_seed, m->want_seed_len)) &&
	    !seed_eq(m->skip_seed, m->skip_seed_len, m->want_seed,
	    m->want_seed_len);
}

/* Prepares the key the latest job names as next, one at a time. */
static void *
prep_thread(void *arg)
{
	struct miner *m = arg;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		struct rx_ctx *ctx, *drop = NULL;
		struct rx_ctx_info info;
		enum rx_mode mode;
		uint8_t seed[32];
		size_t len;

		while (!m->stopping && !prep_wanted(m))
			pthread_cond_wait(&m->prep_cv, &m->lock);
		if (m->stopping)
			break;
		len = m->want_seed_len;
		memcpy(seed, m->want_seed, len);
		memcpy(m->prep_seed, seed, len);
		m->prep_seed_len = len;
		rx_ctx_get_info(m->ctx, &info);
		mode = info.mode;
		atomic_store(&m->prep_cancel, 0);
		pthread_mutex_unlock(&m->lock);

		ctx = prep_build(m, seed, len, mode);

		pthread_mutex_lock(&m->lock);
		m->prep_seed_len = 0;
		if (ctx == NULL && !m->stopping && !atomic_load(&m->prep_cancel)) {
			memcpy(m->skip_seed, seed, len);
			m->skip_seed_len = len;
		} else if (ctx != NULL && (seed_eq(seed, len, m->want_seed,
		    m->want_seed_len) || (m->have_job &&
		    seed_eq(seed, len, m->job.seed, m->job.seed_len)))) {
			drop = m->next_ctx;
			m->next_ctx = ctx;
			m->rx_prepared++;
			ctx = NULL;
		}
		/* The control thread may be waiting for this very key. */
		pthread_cond_broadcast(&m->ctl_cv);
		pthread_cond_broadcast(&m->idle_cv);
		pthread_mutex_unlock(&m->lock);
		rx_ctx_unref(ctx);
		rx_ctx_unref(drop);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

struct miner *
miner_new(const struct miner_config *cfg, const struct miner_callbacks *cb,
    void *arg)
{
	struct miner *m = calloc_lines(1, sizeof(*m));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (m == NULL)
		return NULL;
	m->cfg = *cfg;
	if (cb != NULL)
		m->cb = *cb;
	m->arg = arg;
	m->nthreads = cfg->threads > 0 ? cfg->threads : (ncpu > 0 ? (int)ncpu : 1);
	atomic_init(&m->gen, 1);
	atomic_init(&m->shares_found, 0);
	atomic_init(&m->blocks_found, 0);
	atomic_init(&m->jobs_rejected, 0);
	atomic_init(&m->cancel, 0);
	atomic_init(&m->prep_cancel, 0);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->prep_cv, NULL);
	pthread_cond_init(&m->work_cv, NULL);
	pthread_cond_init(&m->ctl_cv, NULL);
	pthread_cond_init(&m->idle_cv, NULL);
	if ((m->th = calloc_lines((size_t)m->nthreads, sizeof(*m->th))) == NULL)
		goto fail;
	if (pthread_create(&m->ctl_tid, NULL, ctl_thread, m) != 0)
		goto fail;
	m->ctl_started = 1;
	if (pthread_create(&m->prep_tid, NULL, prep_thread, m) != 0)
		goto fail;
	m->prep_started = 1;
	for (int i = 0; i < m->nthreads; i++) {
		struct mthread *t = &m->th[i];
		t->m = m;
		t->index = i;
		atomic_init(&t->hashes, 0);
		if (pthread_create(&t->tid, NULL, hash_thread, t) != 0) {
			log_warnx("miner: cannot start hashing thread %d", i);
			goto fail;
		}
		t->started = 1;
	}
	log_info("miner: %d hashing threads, %s mode, %s%s", m->nthreads,
	    rx_mode_name(cfg->mode), rx_pages_name(cfg->pages),
	    cfg->affinity ? ", pinned to CPUs" : "");
	return m;
fail:
	miner_free(m);
	return NULL;
}

void
miner_free(struct miner *m)
{
	if (m == NULL)
		return;
	atomic_store(&m->cancel, 1);
	atomic_store(&m->prep_cancel, 1);
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	bump_gen(m);
	pthread_cond_broadcast(&m->work_cv);
	pthread_cond_broadcast(&m->ctl_cv);
	pthread_cond_broadcast(&m->prep_cv);
	pthread_cond_broadcast(&m->idle_cv);
	pthread_mutex_unlock(&m->lock);
	if (m->th != NULL)
		for (int i = 0; i < m->nthreads; i++)
			if (m->th[i].started)
				pthread_join(m->th[i].tid, NULL);
	if (m->ctl_started)
		pthread_join(m->ctl_tid, NULL);
	if (m->prep_started)
		pthread_join(m->prep_tid, NULL);
	rx_ctx_unref(m->next_ctx);
	rx_ctx_unref(m->ctx);
	free(m->th);
	pthread_cond_destroy(&m->idle_cv);
	pthread_cond_destroy(&m->ctl_cv);
	pthread_cond_destroy(&m->prep_cv);
	pthread_cond_destroy(&m->work_cv);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int
miner_set_job(struct miner *m, const struct client_job *j)
{
	char why[160];
	struct rx_ctx *old = NULL, *drop = NULL;

	if (miner_job_check(j, why, sizeof(why)) != 0) {
		atomic_fetch_add_explicit(&m->jobs_rejected, 1, memory_order_relaxed);
		log_warnx("miner: job '%.*s' lease %" PRIu64 " rejected: %s",
		    (int)strnlen(j->job_id, sizeof(j->job_id)), j->job_id,
		    j->lease_id, why);
		return -EINVAL;
	}
	pthread_mutex_lock(&m->lock);
	if (m->have_job && same_job(&m->job, j)) {
		if (j->lease_id == m->cur.id) {
			log_debug("miner: job %s lease %" PRIu64 " again, ignored",
			    j->job_id, j->lease_id);
		} else if (m->cur.next >= m->cur.end) {
			lease_from_job(&m->cur, j, m->nthreads);
			m->have_next = 0;
			log_debug("miner: job %s: lease %" PRIu64 " [%" PRIu64 ", %"
			    PRIu64 ")", j->job_id, j->lease_id, j->nonce_start,
			    j->nonce_end);
		} else {
			lease_from_job(&m->next, j, m->nthreads);
			m->have_next = 1;
			log_debug("miner: job %s: lease %" PRIu64 " queued", j->job_id,
			    j->lease_id);
		}
	} else {
		m->job = *j;
		m->have_job = 1;
		lease_from_job(&m->cur, j, m->nthreads);
		m->have_next = 0;
		bump_gen(m);
		log_info("miner: new job %s height %" PRId64 ", lease %" PRIu64
		    " [%" PRIu64 ", %" PRIu64 "), share difficulty %" PRIu64,
		    j->job_id, j->height, j->lease_id, j->nonce_start,
		    j->nonce_end, target_to_difficulty(j->share_target));
		old = switch_prepared(m);
		drop = want_next(m, j);
	}
	pthread_cond_broadcast(&m->work_cv);
	pthread_cond_broadcast(&m->ctl_cv);
	pthread_mutex_unlock(&m->lock);
	rx_ctx_unref(old);
	rx_ctx_unref(drop);
	return 0;
}

void
miner_pause(struct miner *m)
{
	pthread_mutex_lock(&m->lock);
	if (!m->paused) {
		m->paused = 1;
		bump_gen(m);
		log_info("miner: paused");
	}
	pthread_mutex_unlock(&m->lock);
}

void
miner_resume(struct miner *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->paused) {
		m->paused = 0;
		bump_gen(m);
		log_info("miner: resumed");
		pthread_cond_broadcast(&m->work_cv);
	}
	pthread_mutex_unlock(&m->lock);
}

int
miner_paused(struct miner *m)
{
	int p;

	pthread_mutex_lock(&m->lock);
	p = m->paused;
	pthread_mutex_unlock(&m->lock);
	return p;
}

uint64_t
miner_thread_hashes(struct miner *m, int thread)
{
	if (thread < 0 || thread >= m->nthreads)
		return 0;
	return atomic_load_explicit(&m->th[thread].hashes, memory_order_relaxed);
}

int
miner_threads(const struct miner *m)
{
	return m->nthreads;
}

double
miner_cpu_seconds(struct miner *m)
{
	double sum = 0;

	for (int i = 0; i < m->nthreads; i++) {
		clockid_t cid;
		struct timespec ts;
		if (pthread_getcpuclockid(m->th[i].tid, &cid) == 0 &&
		    clock_gettime(cid, &ts) == 0)
			sum += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	return sum;
}

void
miner_get_stats(struct miner *m, struct miner_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < m->nthreads; i++)
		st->hashes_total += miner_thread_hashes(m, i);
	st->shares_found = atomic_load(&m->shares_found);
	st->blocks_found = atomic_load(&m->blocks_found);
	st->jobs_rejected = atomic_load(&m->jobs_rejected);
	st->threads = m->nthreads;
	pthread_mutex_lock(&m->lock);
	if (m->have_job) {
		st->lease_id = m->cur.id;
		st->lease_hashes_done = m->cur.next - m->cur.start;
	}
	st->ready_ms = m->ready_ms;
	st->rx_inits = m->rx_inits;
	st->rx_prepared = m->rx_prepared;
	st->rx_switched_ahead = m->rx_switched_ahead;
	if (m->ctx != NULL) {
		st->have_ctx = 1;
		rx_ctx_get_info(m->ctx, &st->rx);
	}
	pthread_mutex_unlock(&m->lock);
}

int
miner_wait_idle(struct miner *m, int timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	dl = clock_deadline(CLOCK_REALTIME, timeout_ms >= 0 ? timeout_ms : 0);
	pthread_mutex_lock(&m->lock);
	while (!m->stopping && (m->building || m->parked < m->nthreads ||
	    (work_left(m) && ctx_usable(m)) || (!m->paused && need_build(m)))) {
		if (timeout_ms < 0)
			pthread_cond_wait(&m->idle_cv, &m->lock);
		else if (pthread_cond_timedwait(&m->idle_cv, &m->lock, &dl) ==
		    ETIMEDOUT) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
