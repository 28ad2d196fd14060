/*
 * worker.c: online mode.  Client callbacks (client threads) hand jobs and
 * commands to the engine; the engine's share callback (hashing threads)
 * hands shares to the client; main.c's loop calls worker_tick once a
 * second for the hashrate, the heartbeat figures and the speed line.
 */
#include "config.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/target.h"
#include "worker/hashrate.h"
#include "worker/worker.h"

/* 15 min of one-second samples, with room to spare. */
#define HASHRATE_SAMPLES 1024

struct worker {
	struct worker_opts opts;
	struct client *client;
	struct miner *miner;
	struct hashrate *rate;
	atomic_uint_least64_t share_tag;
	atomic_uint_least64_t sent, accepted, rejected, blocks, dropped;
	atomic_int shutdown;
	int64_t start_ms, last_print_ms;
	/* CPU usage between ticks. */
	int64_t cpu_prev_us, cpu_prev_wall_us;
	float cpu_usage;
};

static void
on_job(void *arg, const struct client_job *job)
{
	struct worker *w = arg;

	/* A refused job is logged by the engine and never hashed. */
	(void)miner_set_job(w->miner, job);
}

static void
on_command(void *arg, enum worker_command cmd)
{
	struct worker *w = arg;

	switch (cmd) {
	case WORKER_CMD_NONE:
		break;
	case WORKER_CMD_PAUSE:
		log_info("worker: coordinator says PAUSE");
		miner_pause(w->miner);
		break;
	case WORKER_CMD_RESUME:
		log_info("worker: coordinator says RESUME");
		miner_resume(w->miner);
		break;
	case WORKER_CMD_UPDATE_CONFIG:
		log_info("worker: coordinator says UPDATE_CONFIG: nothing to "
		    "reload yet, ignored");
		break;
	case WORKER_CMD_SHUTDOWN:
		log_info("worker: coordinator says SHUTDOWN");
		miner_pause(w->miner);
		atomic_store(&w->shutdown, 1);
		break;
	default:
		/* Network input is never fatal. */
		log_warnx("worker: unknown command %d from the coordinator, "
		    "ignored", (int)cmd);
		break;
	}
}

static void
on_share_result(void *arg, uint64_t tag, int accepted, const char *reason,
    int is_block, double difficulty)
{
	struct worker *w = arg;

	if (accepted) {
		uint64_t a = atomic_fetch_add(&w->accepted, 1) + 1;
		if (is_block)
			atomic_fetch_add(&w->blocks, 1);
		log_info("worker: share %" PRIu64 " accepted (%" PRIu64 "/%" PRIu64
		    ") diff %.0f%s", tag, a, atomic_load(&w->rejected), difficulty,
		    is_block ? ", BLOCK" : "");
	} else {
		uint64_t r = atomic_fetch_add(&w->rejected, 1) + 1;
		log_warnx("worker: share %" PRIu64 " rejected (%" PRIu64 "/%" PRIu64
		    "): %s", tag, atomic_load(&w->accepted), r,
		    reason != NULL && *reason != '\0' ? reason : "no reason given");
	}
}

static void
on_connection(void *arg, int connected, const char *coordinator)
{
	log_info("worker: %s coordinator %s", connected ? "connected to" :
	    "lost the", coordinator != NULL ? coordinator : "?");
}

static void
on_share(void *arg, const struct miner_share *s)
{
	struct worker *w = arg;
	uint64_t tag = atomic_fetch_add(&w->share_tag, 1) + 1;

	log_info("worker: share %" PRIu64 " found: job %s lease %" PRIu64
	    " nonce %08" PRIx32 " diff %" PRIu64 "%s", tag, s->job_id,
	    s->lease_id, s->nonce, hash_difficulty(s->result),
	    s->is_block ? " (block candidate)" : "");
	if (client_submit_share(w->client, tag, s->job_id, s->nonce,
	    s->result) == 0)
		atomic_fetch_add(&w->sent, 1);
	else
		atomic_fetch_add(&w->dropped, 1);
}

static void
on_need_lease(void *arg, const char *job_id, uint64_t lease_id)
{
	struct worker *w = arg;

	client_request_lease(w->client);
}

struct worker *
worker_new(const struct worker_opts *o)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct client_callbacks ccb = { on_job, on_command, on_share_result,
	    on_connection };
	struct miner_callbacks mcb = { .on_share = on_share,
	    .on_need_lease = on_need_lease };

	if (w == NULL)
		return NULL;
	w->opts = *o;
	atomic_init(&w->share_tag, 0);
	atomic_init(&w->sent, 0);
	atomic_init(&w->accepted, 0);
	atomic_init(&w->rejected, 0);
	atomic_init(&w->blocks, 0);
	atomic_init(&w->dropped, 0);
	atomic_init(&w->shutdown, 0);
	w->start_ms = w->last_print_ms = clock_mono_ms();
	/* The engine first: client callbacks may come as soon as it starts. */
	if ((w->miner = miner_new(&o->miner, &mcb, w)) == NULL)
		goto fail;
	if ((w->rate = hashrate_new((size_t)miner_threads(w->miner),
	    HASHRATE_SAMPLES)) == NULL)
		goto fail;
	if ((w->client = client_new(&o->client, &ccb, w)) == NULL)
		goto fail;
	return w;
fail:
	log_warnx("worker: cannot set up the engine and the client");
	worker_free(w);
	return NULL;
}

int
worker_start(struct worker *w)
{
	return client_start(w->client);
}

struct miner *
worker_miner(struct worker *w)
{
	return w->miner;
}

void
worker_get_counts(struct worker *w, struct worker_counts *c)
{
	c->shares_sent = atomic_load(&w->sent);
	c->shares_accepted = atomic_load(&w->accepted);
	c->shares_rejected = atomic_load(&w->rejected);
	c->blocks = atomic_load(&w->blocks);
	c->shares_dropped = atomic_load(&w->dropped);
}

/* Process CPU time as a share of all CPUs since the last tick, in %. */
static void
sample_cpu(struct worker *w)
{
	struct rusage ru;
	int64_t cpu, wall = clock_mono_us();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	cpu = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
	    (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	if (w->cpu_prev_wall_us > 0 && wall > w->cpu_prev_wall_us)
		w->cpu_usage = (float)(100.0 * (double)(cpu - w->cpu_prev_us) /
		    (double)(wall - w->cpu_prev_wall_us) / (double)(ncpu > 0 ? ncpu : 1));
	w->cpu_prev_us = cpu;
	w->cpu_prev_wall_us = wall;
}

/* Resident memory as a share of the machine's, in %. */
static float
memory_usage(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, rss;
	long pages = sysconf(_SC_PHYS_PAGES);
	float pct = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) == 2 && pages > 0)
		pct = (float)(100.0 * (double)rss / (double)pages);
	fclose(f);
	return pct;
}

static void
print_speed(struct worker *w, const struct miner_stats *st)
{
	char a[32], b[32], c[32], mx[32];
	double max = hashrate_max(w->rate);

	log_info("speed 10s/60s/15m %s %s %s H/s max %s H/s, shares %" PRIu64
	    "/%" PRIu64 " (accepted/rejected), %" PRIu64 " hashes%s",
	    hashrate_format(hashrate_total(w->rate, HASHRATE_SHORT_MS), a, sizeof(a)),
	    hashrate_format(hashrate_total(w->rate, HASHRATE_MEDIUM_MS), b, sizeof(b)),
	    hashrate_format(hashrate_total(w->rate, HASHRATE_LARGE_MS), c, sizeof(c)),
	    hashrate_format(max > 0 ? max : -1, mx, sizeof(mx)),
	    atomic_load(&w->accepted), atomic_load(&w->rejected),
	    st->hashes_total, miner_paused(w->miner) ? " (paused)" : "");
}

int
worker_tick(struct worker *w, int64_t now_ms)
{
	struct client_stats cs;
	struct miner_stats st;
	double hs;

	for (int i = 0; i < miner_threads(w->miner); i++)
		hashrate_add(w->rate, (size_t)i, now_ms,
		    miner_thread_hashes(w->miner, i));
	miner_get_stats(w->miner, &st);
	sample_cpu(w);
	memset(&cs, 0, sizeof(cs));
	hs = hashrate_total(w->rate, HASHRATE_SHORT_MS);
	cs.hashrate = hs > 0 ? hs : 0;
	hs = hashrate_total(w->rate, HASHRATE_MEDIUM_MS);
	cs.hashrate_60s = hs > 0 ? hs : 0;
	hs = hashrate_total(w->rate, HASHRATE_LARGE_MS);
	cs.hashrate_15m = hs > 0 ? hs : 0;
	cs.threads = st.threads > 0 ? (uint32_t)st.threads : 0;
	if (st.have_ctx) {
		snprintf(cs.rx_mode, sizeof(cs.rx_mode), "%s",
		    rx_mode_name(st.rx.mode));
		snprintf(cs.huge_pages, sizeof(cs.huge_pages), "%s",
		    rx_pages_name(st.rx.pages_used));
		cs.huge_pages_used = (uint32_t)st.rx.huge_pages;
	}
	cs.shares_valid = atomic_load(&w->accepted);
	cs.shares_invalid = atomic_load(&w->rejected);
	cs.hashes_total = st.hashes_total;
	cs.uptime_ms = now_ms - w->start_ms;
	cs.cpu_usage = w->cpu_usage;
	cs.memory_usage = memory_usage();
	cs.lease_id = st.lease_id;
	cs.lease_hashes_done = st.lease_hashes_done;
	client_set_stats(w->client, &cs);
	if (w->opts.print_interval_ms > 0 &&
	    now_ms - w->last_print_ms >= w->opts.print_interval_ms) {
		w->last_print_ms = now_ms;
		print_speed(w, &st);
	}
	return atomic_load(&w->shutdown) ? 1 : 0;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	/* No client callback may reach the engine once it is gone, and no
	 * share may reach a freed client: stop the client, then the engine. */
	if (w->client != NULL)
		client_stop(w->client);
	miner_free(w->miner);
	if (w->client != NULL)
		client_free(w->client);
	hashrate_free(w->rate);
	free(w);
}
