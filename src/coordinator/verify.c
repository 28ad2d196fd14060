/*
 * verify.c: verification threads, each with its own RandomX VM, sharing
 * one context per seed.  Contexts live in a two-slot table (the current
 * seed and the previous one, for shares still in flight across a seed
 * change).  Building a context is slow (light ~1 s, full ~40 s on two
 * cores), so it happens outside the table's lock; in full mode a light
 * context serves until the dataset is ready.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/verify.h"

#define SLOTS 2
#define LAT_RING 1024

struct slot {
	uint8_t seed[RX_KEY_MAX];
	size_t seed_len;
	struct rx_ctx *ctx;	/* NULL while building */
	int building;		/* a light build is under way */
	int full_pending;	/* a full build is under way */
	int64_t used_ms;
	uint64_t gen;		/* bumps when ctx is replaced */
};

struct verifier {
	enum verify_mode mode;
	struct mpscq queue;
	pthread_t *threads;
	int nthreads;

	pthread_mutex_t slots_lock;	/* guards slots[] and builders */
	pthread_cond_t slots_cond;
	struct slot slots[SLOTS];
	pthread_t builders[SLOTS];	/* full-mode dataset builders */
	int builder_running[SLOTS];
	int stopping;

	pthread_mutex_t stats_lock;	/* guards the counters below */
	uint64_t verified, failed;
	double lat_ms[LAT_RING];
	size_t lat_n;
	double hash_ms_avg;
	const struct rx_ctx *calibrated_ctx;	/* the context last timed */
	uint64_t calibrated_gen;
};

int
verify_mode_parse(const char *s, enum verify_mode *out)
{
	if (strcmp(s, "light") == 0)
		*out = VERIFY_LIGHT;
	else if (strcmp(s, "full") == 0)
		*out = VERIFY_FULL;
	else if (strcmp(s, "none") == 0)
		*out = VERIFY_NONE;
	else
		return -1;
	return 0;
}

const char *
verify_mode_name(enum verify_mode m)
{
	switch (m) {
	case VERIFY_LIGHT: return "light";
	case VERIFY_FULL: return "full";
	case VERIFY_NONE: return "none";
	}
	return "?";
}

static struct slot *
slot_find(struct verifier *v, const uint8_t *seed, size_t len)
{
	for (int i = 0; i < SLOTS; i++)
		if (v->slots[i].seed_len == len &&
		    memcmp(v->slots[i].seed, seed, len) == 0)
			return &v->slots[i];
	return NULL;
}

/* The least recently used slot that is not being built; NULL if none. */
static struct slot *
slot_victim(struct verifier *v)
{
	struct slot *best = NULL;

	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &v->slots[i];
		if (s->building || s->full_pending)
			continue;
		if (best == NULL || s->used_ms < best->used_ms)
			best = s;
	}
	return best;
}

struct full_build {
	struct verifier *v;
	int idx;
	uint8_t seed[RX_KEY_MAX];
	size_t len;
};

static void *
full_builder(void *arg)
{
	struct full_build *fb = arg;
	struct verifier *v = fb->v;
	struct rx_ctx *ctx = rx_ctx_new(fb->seed, fb->len, RX_FULL, RX_PAGES_AUTO, 0);
	struct slot *s = &v->slots[fb->idx];
	struct rx_ctx *old = NULL;

	pthread_mutex_lock(&v->slots_lock);
	s->full_pending = 0;
	if (ctx != NULL && s->seed_len == fb->len &&
	    memcmp(s->seed, fb->seed, fb->len) == 0) {
		struct rx_ctx_info info;
		rx_ctx_get_info(ctx, &info);
		old = s->ctx;
		s->ctx = ctx;
		s->gen++;
		ctx = NULL;
		log_info("verify: full dataset ready in %lld ms (%s, %zu/%zu huge)",
		    (long long)info.init_ms, rx_pages_name(info.pages_used),
		    info.huge_pages, info.total_pages);
	}
	pthread_cond_broadcast(&v->slots_cond);
	pthread_mutex_unlock(&v->slots_lock);
	if (ctx != NULL || old == NULL)
		log_warnx("verify: no full dataset for this seed; light mode stays");
	rx_ctx_unref(old);
	rx_ctx_unref(ctx);
	free(fb);
	return NULL;
}

/* Returns a referenced context for seed, building it if needed; NULL when
 * it cannot be built or the pool is stopping.  *gen gets the slot's
 * generation so a thread knows when to rebuild its VM. */
static struct rx_ctx *
ctx_get(struct verifier *v, const uint8_t *seed, size_t len, uint64_t *gen)
{
	struct slot *s;
	struct rx_ctx *ctx;

	pthread_mutex_lock(&v->slots_lock);
	for (;;) {
		if (v->stopping) {
			pthread_mutex_unlock(&v->slots_lock);
			return NULL;
		}
		s = slot_find(v, seed, len);
		if (s != NULL && s->ctx != NULL) {
			s->used_ms = clock_mono_ms();
			*gen = s->gen;
			ctx = rx_ctx_ref(s->ctx);
			pthread_mutex_unlock(&v->slots_lock);
			return ctx;
		}
		if (s != NULL && s->building) {
			pthread_cond_wait(&v->slots_cond, &v->slots_lock);
			continue;
		}
		if (s == NULL && (s = slot_victim(v)) == NULL) {
			pthread_cond_wait(&v->slots_cond, &v->slots_lock);
			continue;
		}
		break;
	}
	/* Claim the slot and build a light context outside the lock. */
	rx_ctx_unref(s->ctx);
	s->ctx = NULL;
	memcpy(s->seed, seed, len);
	s->seed_len = len;
	s->building = 1;
	s->gen++;
	pthread_mutex_unlock(&v->slots_lock);

	ctx = rx_ctx_new(seed, len, RX_LIGHT, RX_PAGES_AUTO, 0);

	pthread_mutex_lock(&v->slots_lock);
	s->building = 0;
	s->ctx = ctx;
	s->used_ms = clock_mono_ms();
	*gen = s->gen;
	if (ctx == NULL) {
		s->seed_len = 0;
	} else if (v->mode == VERIFY_FULL && !v->stopping) {
		int idx = (int)(s - v->slots);
		struct full_build *fb = calloc(1, sizeof(*fb));
		if (v->builder_running[idx]) {
			pthread_join(v->builders[idx], NULL);
			v->builder_running[idx] = 0;
		}
		if (fb != NULL) {
			*fb = (struct full_build){ v, idx, { 0 }, len };
			memcpy(fb->seed, seed, len);
			if (pthread_create(&v->builders[idx], NULL, full_builder, fb) == 0) {
				v->builder_running[idx] = 1;
				s->full_pending = 1;
			} else {
				free(fb);
			}
		}
	}
	if (ctx != NULL)
		rx_ctx_ref(ctx);
	pthread_cond_broadcast(&v->slots_cond);
	pthread_mutex_unlock(&v->slots_lock);
	return ctx;
}

static void
record(struct verifier *v, struct verify_job *vj, double hash_ms)
{
	double lat = (double)(clock_mono_us() - vj->queued_us) / 1000.0;

	pthread_mutex_lock(&v->stats_lock);
	if (vj->status == 0) {
		v->verified++;
		v->hash_ms_avg = v->hash_ms_avg == 0 ? hash_ms :
		    0.95 * v->hash_ms_avg + 0.05 * hash_ms;
	} else {
		v->failed++;
	}
	v->lat_ms[v->lat_n++ % LAT_RING] = lat;
	pthread_mutex_unlock(&v->stats_lock);
}

/* A short timing on a context that has just become usable (the first
 * seed's light cache, a full dataset once it is ready): sets the hash time
 * from which the verification budget, and so every worker's lowest share
 * difficulty, is computed, before real shares have given an average.  One
 * thread times each context; three hashes cost ~0.1 s in light mode. */
#define CALIBRATE_HASHES 3

static void
calibrate(struct verifier *v, struct rx_vm *vm, const struct rx_ctx *ctx,
    uint64_t gen)
{
	uint8_t in[80] = { 0 }, out[RX_HASH_SIZE];
	struct rx_ctx_info info;
	int64_t t0;
	double ms;

	pthread_mutex_lock(&v->stats_lock);
	if (v->calibrated_ctx == ctx && v->calibrated_gen == gen) {
		pthread_mutex_unlock(&v->stats_lock);
		return;
	}
	v->calibrated_ctx = ctx;
	v->calibrated_gen = gen;
	pthread_mutex_unlock(&v->stats_lock);
	rx_hash(vm, in, sizeof(in), out);	/* warm: JIT, caches */
	t0 = clock_mono_us();
	for (int i = 0; i < CALIBRATE_HASHES; i++) {
		in[76] = (uint8_t)i;
		rx_hash(vm, in, sizeof(in), out);
	}
	ms = (double)(clock_mono_us() - t0) / 1000.0 / CALIBRATE_HASHES;
	pthread_mutex_lock(&v->stats_lock);
	v->hash_ms_avg = ms;
	pthread_mutex_unlock(&v->stats_lock);
	rx_ctx_get_info(ctx, &info);
	log_info("verify: measured %.2f ms a hash (%s mode): %d thread(s) verify "
	    "about %.0f shares/s", ms, rx_mode_name(info.mode), v->nthreads,
	    ms > 0 ? 1000.0 / ms * v->nthreads : 0.0);
}

static void *
verify_thread(void *arg)
{
	struct verifier *v = arg;
	struct rx_vm *vm = NULL;
	struct rx_ctx *vm_ctx = NULL;
	uint64_t vm_gen = 0;
	struct mpscq_node *n;

	while ((n = mpscq_pop(&v->queue, -1)) != NULL) {
		struct verify_job *vj = (struct verify_job *)n;
		uint64_t gen = 0;
		struct rx_ctx *ctx = ctx_get(v, vj->seed, vj->seed_len, &gen);
		int64_t t0;

		vj->status = -1;
		if (ctx != NULL) {
			if (vm == NULL || vm_ctx != ctx || vm_gen != gen) {
				rx_vm_free(vm);
				vm = rx_vm_new(ctx);
				vm_ctx = ctx;
				vm_gen = gen;
				if (vm != NULL)
					calibrate(v, vm, ctx, gen);
			}
			rx_ctx_unref(ctx);	/* the VM holds its own */
		}
		if (vj->input_len == 0) {	/* verifier_prepare: context only */
			vj->done(vj, vj->arg);
			continue;
		}
		t0 = clock_mono_us();
		if (vm != NULL && ctx != NULL) {
			rx_hash(vm, vj->input, vj->input_len, vj->hash);
			vj->status = 0;
		}
		record(v, vj, (double)(clock_mono_us() - t0) / 1000.0);
		vj->done(vj, vj->arg);
	}
	rx_vm_free(vm);
	return NULL;
}

struct verifier *
verifier_new(enum verify_mode mode, int threads, size_t queue_max)
{
	struct verifier *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if (threads < 1)
		threads = 1;
	v->mode = mode;
	mpscq_init(&v->queue, queue_max);
	pthread_mutex_init(&v->slots_lock, NULL);
	pthread_cond_init(&v->slots_cond, NULL);
	pthread_mutex_init(&v->stats_lock, NULL);
	if (mode == VERIFY_NONE)
		return v;
	if ((v->threads = calloc((size_t)threads, sizeof(*v->threads))) == NULL) {
		verifier_free(v);
		return NULL;
	}
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&v->threads[i], NULL, verify_thread, v) != 0) {
			log_warn("verify: cannot start thread %d", i);
			break;
		}
		v->nthreads++;
	}
	if (v->nthreads == 0) {
		verifier_free(v);
		return NULL;
	}
	return v;
}

int
verifier_submit(struct verifier *v, struct verify_job *vj)
{
	if (v->mode == VERIFY_NONE || v->nthreads == 0)
		return -1;
	vj->queued_us = clock_mono_us();
	return mpscq_try_push(&v->queue, &vj->node);
}

static void
prepare_done(struct verify_job *vj, void *arg)
{
	free(vj);
}

void
verifier_prepare(struct verifier *v, const uint8_t *seed, size_t len)
{
	struct verify_job *vj;

	if (v->mode == VERIFY_NONE || len == 0 || len > RX_KEY_MAX)
		return;
	pthread_mutex_lock(&v->slots_lock);
	if (slot_find(v, seed, len) != NULL) {
		pthread_mutex_unlock(&v->slots_lock);
		return;
	}
	pthread_mutex_unlock(&v->slots_lock);
	/* A zero-length hash job through the queue: a pool thread builds the
	 * context, so the caller (the job manager) never blocks on it. */
	if ((vj = calloc(1, sizeof(*vj))) == NULL)
		return;
	memcpy(vj->seed, seed, len);
	vj->seed_len = len;
	vj->done = prepare_done;
	if (verifier_submit(v, vj) != 0)
		free(vj);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
verifier_get_stats(struct verifier *v, struct verify_stats *st)
{
	double lat[LAT_RING];
	size_t n;

	memset(st, 0, sizeof(*st));
	st->queue_depth = mpscq_len(&v->queue);
	pthread_mutex_lock(&v->stats_lock);
	st->verified = v->verified;
	st->failed = v->failed;
	st->hash_ms = v->hash_ms_avg;
	n = v->lat_n < LAT_RING ? v->lat_n : LAT_RING;
	memcpy(lat, v->lat_ms, n * sizeof(double));
	pthread_mutex_unlock(&v->stats_lock);
	if (n > 0) {
		qsort(lat, n, sizeof(double), cmp_double);
		st->latency_p50_ms = lat[n / 2];
		st->latency_p99_ms = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	}
	if (st->hash_ms > 0)
		st->capacity = 1000.0 / st->hash_ms * v->nthreads;
	else if (v->mode == VERIFY_LIGHT)
		st->capacity = 30.0 * v->nthreads;	/* measured: ~30 ms/hash */
	else if (v->mode == VERIFY_FULL)
		st->capacity = 1000.0 * v->nthreads;
}

void
verifier_free(struct verifier *v)
{
	if (v == NULL)
		return;
	mpscq_close(&v->queue);
	for (int i = 0; i < v->nthreads; i++)
		pthread_join(v->threads[i], NULL);
	pthread_mutex_lock(&v->slots_lock);
	v->stopping = 1;
	pthread_cond_broadcast(&v->slots_cond);
	pthread_mutex_unlock(&v->slots_lock);
	for (int i = 0; i < SLOTS; i++) {
		if (v->builder_running[i])
			pthread_join(v->builders[i], NULL);
		rx_ctx_unref(v->slots[i].ctx);
	}
	free(v->threads);
	mpscq_destroy(&v->queue);
	pthread_mutex_destroy(&v->slots_lock);
	pthread_cond_destroy(&v->slots_cond);
	pthread_mutex_destroy(&v->stats_lock);
	free(v);
}
