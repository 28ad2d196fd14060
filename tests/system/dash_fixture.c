/*
 * dash_fixture.c: a test double of the coordinator for the dashboard
 * tests.  It fills a dash_source with deterministic data that changes as
 * time goes on (workers join, shares arrive, jobs change, a block is found
 * with its PPLNS split), publishes the matching live events, and serves it
 * all through the real http.c and live.c.  Started by tests/system/dash_*.
 *
 *   dash_fixture --static DIR [--http-port P] [--ws-port P] [--token T]
 *       [--ledger DB [--pplns-window N] [--pplns-fee-bps B]]  (money
 *       endpoints over a real ledger file, dash_money.c)
 *       [--max-clients N] [--backlog N] [--tick-ms MS]
 *       [--http-listen HOST:PORT] [--ws-listen HOST:PORT]
 *       [--allowed-hosts A,B] [--allowed-origins A,B] [--ledger-sync NAME]
 * Prints "HTTP_PORT=p WS_PORT=q" once listening.  SIGUSR1 publishes a
 * burst of big events (to choke slow clients), SIGUSR2 toggles the pool
 * connection, SIGTERM/SIGINT stop it cleanly.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/dash_json.h"
#include "coordinator/dash_money.h"
#include "coordinator/http.h"
#include "coordinator/live.h"
#include "coordinator/pplns.h"

#define NWORKERS	5
#define HIST		DASH_HISTORY_MAX
#define HIST_STEP_MS	5000

struct fx_worker {
	struct dash_worker	w;
	int			present;
	double			base;		/* H/s */
	struct dash_point	hist[HIST];	/* ring */
	size_t			nhist, hhead;
};

struct fx {
	pthread_mutex_t		lock;	/* guards everything below */
	struct fx_worker	wk[NWORKERS];
	struct dash_point	total[HIST];
	size_t			ntotal, thead;
	int64_t			started, last_hist;
	uint64_t		tick, share_seq, job_seq, valid, invalid;
	uint64_t		rej_stale, rej_dup, rej_low, switches;
	int			pool_up;
	json_t			*jobs, *shares, *blocks, *payouts;
	struct live		*live;
	atomic_int		stop;
	int			tick_ms;
};

static struct fx fx;

static const struct {
	const char *id, *name;
	double base;
	int threads, join_tick;
} seeds[NWORKERS] = {
	{ "rig-alpha", "Desktop (Ryzen 7)", 4200, 16, 0 },
	{ "laptop-beta", "ThinkPad X1", 1150, 8, 0 },
	{ "vm-gamma", "Cloud c5.xlarge", 2300, 4, 0 },
	{ "odd\"id\\x", "Label escaping \"test\"", 640, 2, 0 },
	{ "late-delta", "Joins after a while", 1800, 4, 6 },
};

/* ---- the dash_source functions (any thread) ---- */

/* Two pool sessions (the second after a failover), the outbox and the
 * ledger's commit histogram, moving with the ticks. */
static void
fixture_pool_locked(struct dash_stats *st)
{
	static const double le[DASH_LATENCY_BUCKETS] = { 0.0005, 0.001, 0.002,
	    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1e300 };
	uint64_t c = 0;

	for (size_t i = 0; i < 2; i++) {
		struct dash_session *se = &st->sessions[i];

		se->index = (unsigned)i;
		snprintf(se->url, sizeof(se->url),
		    "stratum+tcp://wallet123:SECRETPASS@127.0.0.1:%d", 3333 + (int)i);
		se->connected = i == 0 ? fx.pool_up : 1;
		se->since = fx.started;
		se->difficulty = 120000 + 1000 * i;
		se->jobs = fx.job_seq + i;
		se->accepted = fx.valid / (i + 1);
		se->rejected = fx.rej_low;
		se->stale = fx.rej_stale;
		se->submitted = se->accepted + se->rejected;
		snprintf(se->job_id, sizeof(se->job_id), "%016llx",
		    (unsigned long long)fx.job_seq);
		se->nonce_space = 4294967296ULL;
		se->nonces_left = se->nonce_space - 4000000 * (fx.tick % 50 + 1);
		if (i == 1)
			snprintf(se->last_error, sizeof(se->last_error),
			    "share rejected: Low difficulty share");
		se->last_error_at = i == 1 ? fx.started : 0;
	}
	st->nsessions = 2;
	st->outbox = fx.tick % 4;
	st->outbox_oldest_at = st->outbox ? clock_wall_ms() - 1500 : 0;
	st->upstream_accepted = fx.valid;
	st->upstream_rejected = fx.rej_low;
	st->verify_latency_p99_ms = 88.0;
	for (int i = 0; i < DASH_LATENCY_BUCKETS; i++) {
		c += (uint64_t)(i < 6 ? 40 - 5 * i : 1) * (fx.tick + 1);
		st->ledger_commit_bucket[i] = c;
		st->ledger_commit_bound[i] = le[i];
	}
	st->ledger_commits = c;
	st->ledger_commit_sum_s = 0.002 * (double)c;
	for (int i = 0; i < NWORKERS; i++)
		if (fx.wk[i].present)
			for (int k = 0; k < DASH_EFF_WINDOWS; k++)
				st->effective[k] += fx.wk[i].w.effective[k];
}

static int
src_stats(void *ctx, struct dash_stats *st)
{
	size_t i;

	(void)ctx;
	pthread_mutex_lock(&fx.lock);
	snprintf(st->cluster_id, sizeof(st->cluster_id), "test-cluster");
	snprintf(st->cluster_name, sizeof(st->cluster_name),
	    "CoopMine Test Cluster");
	for (i = 0; i < NWORKERS; i++) {
		if (!fx.wk[i].present)
			continue;
		st->workers_total++;
		if (strcmp(fx.wk[i].w.status, "offline") != 0) {
			st->workers_online++;
			st->total_hashrate += fx.wk[i].w.hashrate;
		}
	}
	st->shares_valid = fx.valid;
	st->shares_invalid = fx.invalid;
	st->blocks_found = json_array_size(fx.blocks);
	if (st->blocks_found)
		st->last_block_time = json_integer_value(json_object_get(
		    json_array_get(fx.blocks, st->blocks_found - 1), "time"));
	st->uptime_ms = clock_wall_ms() - fx.started;
	snprintf(st->rejections[0].reason, DASH_REASON_MAX, "stale");
	st->rejections[0].count = fx.rej_stale;
	snprintf(st->rejections[1].reason, DASH_REASON_MAX, "duplicate");
	st->rejections[1].count = fx.rej_dup;
	snprintf(st->rejections[2].reason, DASH_REASON_MAX, "low_difficulty");
	st->rejections[2].count = fx.rej_low;
	st->nrejections = 3;
	/* the password must never come out of the dashboard */
	snprintf(st->pool_url, sizeof(st->pool_url),
	    "stratum+tcp://wallet123:SECRETPASS@127.0.0.1:3333");
	st->pool_connected = fx.pool_up;
	st->pool_latency_ms = 12.5 + (double)(fx.tick % 5);
	st->pool_switches = fx.switches;
	st->verify_queue_depth = fx.tick % 3;
	st->verify_latency_ms = 31.0;
	st->ledger_writable = 1;
	st->ledger_commit_ms = 2.25;
	fixture_pool_locked(st);
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

static int
src_workers(void *ctx, struct dash_worker *out, size_t max)
{
	size_t i, n = 0;

	(void)ctx;
	pthread_mutex_lock(&fx.lock);
	for (i = 0; i < NWORKERS; i++) {
		if (!fx.wk[i].present)
			continue;
		if (n < max)
			out[n] = fx.wk[i].w;
		n++;
	}
	pthread_mutex_unlock(&fx.lock);
	return (int)n;
}

static struct fx_worker *
find_locked(const char *id)
{
	size_t i;

	for (i = 0; i < NWORKERS; i++)
		if (fx.wk[i].present && strcmp(fx.wk[i].w.id, id) == 0)
			return &fx.wk[i];
	return NULL;
}

static int
src_worker(void *ctx, const char *id, struct dash_worker *out)
{
	struct fx_worker *w;

	(void)ctx;
	pthread_mutex_lock(&fx.lock);
	if ((w = find_locked(id)) != NULL)
		*out = w->w;
	pthread_mutex_unlock(&fx.lock);
	return w ? 0 : -ENOENT;
}

static size_t
ring_copy(const struct dash_point *ring, size_t n, size_t head,
    struct dash_point *out, size_t max)
{
	size_t i, k = n < max ? n : max;

	/* the newest k points, oldest first */
	for (i = 0; i < k; i++)
		out[i] = ring[(head + HIST - k + i) % HIST];
	return k;
}

static int
src_history(void *ctx, const char *id, struct dash_point *out, size_t max)
{
	struct fx_worker *w;
	int n = -ENOENT;

	(void)ctx;
	pthread_mutex_lock(&fx.lock);
	if (id == NULL)
		n = (int)ring_copy(fx.total, fx.ntotal, fx.thead, out, max);
	else if ((w = find_locked(id)) != NULL)
		n = (int)ring_copy(w->hist, w->nhist, w->hhead, out, max);
	pthread_mutex_unlock(&fx.lock);
	return n;
}

/* The ledger's hours: a steady figure with a daily wave, for the range
 * asked (every hour since since_ms, at most max). */
static int
src_hours(void *ctx, const char *id, int64_t since_ms, struct dash_hour *out,
    size_t max)
{
	struct fx_worker *w;
	double base;
	int64_t now = clock_wall_ms(), t;
	size_t n = 0;

	(void)ctx;
	pthread_mutex_lock(&fx.lock);
	w = id != NULL ? find_locked(id) : NULL;
	base = w != NULL ? w->base : 9000;
	pthread_mutex_unlock(&fx.lock);
	if (id != NULL && w == NULL)
		return -ENOENT;
	for (t = since_ms - since_ms % 3600000; t <= now && n < max; t += 3600000) {
		double h = base * (0.9 + 0.1 * sin((double)t / 3600000.0 / 4.0));

		out[n].t = t;
		out[n].difficulty = (uint64_t)(h * 3600.0);
		out[n].accepted = (uint64_t)(h * 3600.0 / 5000.0);
		out[n].rejected = out[n].accepted / 20;
		n++;
	}
	return (int)n;
}

/* Stored oldest first; served newest first. */
static json_t *
page(json_t *list, size_t limit, size_t offset, size_t *total)
{
	json_t *out = json_array();
	size_t n, i;

	pthread_mutex_lock(&fx.lock);
	n = json_array_size(list);
	for (i = offset; i < n && i < offset + limit; i++)
		json_array_append(out, json_array_get(list, n - 1 - i));
	*total = n;
	pthread_mutex_unlock(&fx.lock);
	return out;
}

static json_t *
src_jobs(void *ctx, size_t limit, size_t offset, size_t *total)
{
	(void)ctx;
	return page(fx.jobs, limit, offset, total);
}

static json_t *
src_shares(void *ctx, size_t limit, size_t offset, size_t *total)
{
	(void)ctx;
	return page(fx.shares, limit, offset, total);
}

static json_t *
src_blocks(void *ctx, size_t limit, size_t offset, size_t *total)
{
	(void)ctx;
	return page(fx.blocks, limit, offset, total);
}

static json_t *
src_payouts(void *ctx, int64_t block_id, int *err)
{
	json_t *p;
	char key[32];

	(void)ctx;
	snprintf(key, sizeof(key), "%lld", (long long)block_id);
	pthread_mutex_lock(&fx.lock);
	p = json_object_get(fx.payouts, key);
	if (p)
		json_incref(p);
	pthread_mutex_unlock(&fx.lock);
	if (p == NULL)
		*err = -ENOENT;
	return p;
}

static int
src_command(void *ctx, const char *id, enum dash_cmd cmd)
{
	struct fx_worker *w;
	const char *want;
	json_t *ev = NULL;
	int rc = 0;

	(void)ctx;
	want = cmd == DASH_CMD_PAUSE ? "paused" :
	    cmd == DASH_CMD_RESUME ? "online" : "offline";
	pthread_mutex_lock(&fx.lock);
	if ((w = find_locked(id)) == NULL)
		rc = -ENOENT;
	else if (strcmp(w->w.status, want) == 0)
		rc = -EALREADY;
	else {
		snprintf(w->w.status, sizeof(w->w.status), "%s", want);
		ev = json_pack("{s:s, s:s}", "worker_id", id, "status", want);
	}
	pthread_mutex_unlock(&fx.lock);
	if (ev) {
		if (cmd == DASH_CMD_KICK)
			live_publish(fx.live, LIVE_WORKER_LEFT, ev);
		json_decref(ev);
	}
	return rc;
}

static struct dash_source source = {
	.stats = src_stats, .workers = src_workers, .worker = src_worker,
	.history = src_history, .hours = src_hours, .jobs = src_jobs,
	.shares = src_shares,
	.blocks = src_blocks, .payouts = src_payouts, .command = src_command
};

/* ---- the changing world (ticker thread) ---- */

static double
rate_at(const struct fx_worker *w, int64_t t)
{
	double x = (double)t / 60000.0;

	return w->base * (1.0 + 0.06 * sin(x + w->base) +
	    0.03 * sin(7.3 * x + w->base / 3.0));
}

static void
hist_push(struct dash_point *ring, size_t *n, size_t *head, int64_t t,
    double h)
{
	ring[*head].t = t;
	ring[*head].hashrate = h;
	*head = (*head + 1) % HIST;
	if (*n < HIST)
		(*n)++;
}

static void
sample_locked(int64_t t)
{
	double total = 0;
	size_t i;

	for (i = 0; i < NWORKERS; i++) {
		struct fx_worker *w = &fx.wk[i];

		if (!w->present)
			continue;
		if (strcmp(w->w.status, "online") == 0)
			w->w.hashrate = rate_at(w, t);
		else
			w->w.hashrate = 0;
		w->w.hashrate_60s = w->w.hashrate * 0.99;
		w->w.hashrate_15m = w->base;
		for (int k = 0; k < DASH_EFF_WINDOWS; k++)
			w->w.effective[k] = w->w.hashrate * (0.9 + 0.02 * k);
		hist_push(w->hist, &w->nhist, &w->hhead, t, w->w.hashrate);
		total += w->w.hashrate;
	}
	hist_push(fx.total, &fx.ntotal, &fx.thead, t, total);
}

static json_t *
new_job_locked(int64_t now)
{
	char id[32];
	json_t *job;

	fx.job_seq++;
	snprintf(id, sizeof(id), "job-%04llu", (unsigned long long)fx.job_seq);
	job = json_pack("{s:s, s:I, s:f, s:s, s:I, s:b, s:s}", "job_id", id,
	    "height", (json_int_t)(4200 + fx.job_seq), "difficulty", 120000.0,
	    "algo", "rx/0", "created_at", (json_int_t)now, "clean", 1,
	    "upstream", "127.0.0.1:3333");
	json_array_append(fx.jobs, job);
	if (json_array_size(fx.jobs) > 200)
		json_array_remove(fx.jobs, 0);
	return job;
}

static void
worker_reject_locked(struct fx_worker *w, const char *reason)
{
	size_t k;

	for (k = 0; k < w->w.nrejections; k++)
		if (strcmp(w->w.rejections[k].reason, reason) == 0)
			break;
	if (k == w->w.nrejections) {
		if (k == DASH_REJECT_REASONS)
			return;
		snprintf(w->w.rejections[k].reason, DASH_REASON_MAX, "%s", reason);
		w->w.nrejections++;
	}
	w->w.rejections[k].count++;
}

static json_t *
new_share_locked(int64_t now)
{
	static const char *reasons[] = { "stale", "duplicate",
	    "low_difficulty" };
	struct fx_worker *w;
	const char *reason = "";
	json_t *share;
	size_t i;
	int valid;

	for (i = 0; i < NWORKERS; i++) {
		w = &fx.wk[(fx.share_seq + 1 + i) % NWORKERS];
		if (w->present && strcmp(w->w.status, "online") == 0)
			break;
	}
	if (i == NWORKERS)
		return NULL;	/* nobody is hashing */
	fx.share_seq++;
	valid = fx.share_seq % 7 != 0;
	w->w.last_share_at = now;
	w->w.difficulty = 5000;
	if (valid) {
		w->w.shares_valid++;
		w->w.accepted++;
		fx.valid++;
	} else {
		worker_reject_locked(w, reasons[(fx.share_seq / 7) % 3]);
		reason = reasons[(fx.share_seq / 7) % 3];
		w->w.shares_invalid++;
		fx.invalid++;
		if (reason == reasons[0])
			fx.rej_stale++;
		else if (reason == reasons[1])
			fx.rej_dup++;
		else
			fx.rej_low++;
	}
	w->w.last_seen = now;
	w->w.lease_done = (w->w.lease_done + 90000) % w->w.lease_size;
	share = json_pack("{s:I, s:s, s:s, s:f, s:s, s:s, s:b, s:I}",
	    "share_id", (json_int_t)fx.share_seq, "worker_id", w->w.id,
	    "job_id", json_string_value(json_object_get(json_array_get(fx.jobs,
	    json_array_size(fx.jobs) - 1), "job_id")),
	    "difficulty", 5000.0 + (double)(fx.share_seq % 13) * 250.0,
	    "status", valid ? "valid" : "invalid", "reason", reason,
	    "is_block", 0, "time", (json_int_t)now);
	json_array_append(fx.shares, share);
	if (json_array_size(fx.shares) > 1000)
		json_array_remove(fx.shares, 0);
	return share;
}

/* A block's split comes from the product's pplns_split() over one share
 * per present worker (odd difficulties and an odd reward, so the remainder
 * rule matters); dash_rest.py recomputes it independently. */
#define FX_REWARD	50000000007LL
#define FX_FEE_BPS	100
static json_t *
new_block_locked(int64_t now)
{
	json_int_t id = (json_int_t)json_array_size(fx.blocks) + 1;
	struct pplns_share win[NWORKERS];
	struct pplns_result res;
	json_t *block, *parts;
	size_t i, n = 0;
	char key[32];

	for (i = 0; i < NWORKERS; i++)
		if (fx.wk[i].present) {
			win[n].worker_id = fx.wk[i].w.id;
			win[n].difficulty = (fx.wk[i].w.shares_valid + 1) *
			    5000 + 7 * i + 1;
			n++;
		}
	if (pplns_split(win, n, UINT64_MAX, FX_REWARD, FX_FEE_BPS, &res) != 0)
		fatalx("fixture: pplns_split failed");
	parts = json_array();
	for (i = 0; i < res.nparts; i++)
		json_array_append_new(parts, json_pack("{s:s, s:f, s:I, s:I}",
		    "worker_id", res.parts[i].worker_id,
		    "difficulty", (double)res.parts[i].difficulty,
		    "amount", (json_int_t)res.parts[i].amount,
		    "shares", (json_int_t)res.parts[i].shares));
	block = json_pack("{s:I, s:I, s:s, s:I, s:s, s:I, s:s}",
	    "block_id", id, "height", (json_int_t)(4200 + fx.job_seq),
	    "hash", "00000000a3f1c2e4b5d6978812ab34cd56ef7890123456789abcdef0123456",
	    "reward", (json_int_t)FX_REWARD, "found_by", "rig-alpha",
	    "time", (json_int_t)now, "status", "submitted");
	json_array_append(fx.blocks, block);
	snprintf(key, sizeof(key), "%lld", (long long)id);
	json_object_set_new(fx.payouts, key, json_pack("{s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:o}", "block_id", id, "height",
	    (json_int_t)(4200 + fx.job_seq), "reward", (json_int_t)FX_REWARD,
	    "fee", (json_int_t)res.fee, "window_n", (json_int_t)res.window_n,
	    "window_difficulty", (json_int_t)res.window_difficulty,
	    "parts", parts));
	pplns_result_free(&res);
	return block;
}

static void
worker_init_locked(size_t i, int64_t now)
{
	struct fx_worker *w = &fx.wk[i];

	memset(w, 0, sizeof(*w));
	w->present = 1;
	w->base = seeds[i].base;
	snprintf(w->w.id, sizeof(w->w.id), "%s", seeds[i].id);
	snprintf(w->w.name, sizeof(w->w.name), "%s", seeds[i].name);
	snprintf(w->w.status, sizeof(w->w.status), "online");
	snprintf(w->w.job_id, sizeof(w->w.job_id), "job-%04llu",
	    (unsigned long long)fx.job_seq);
	w->w.threads = seeds[i].threads;
	w->w.connected_at = now;
	w->w.last_seen = now;
	w->w.lease_size = 4000000;
	w->w.lease_done = 400000 * (i + 1);
	w->w.hashrate = rate_at(w, now);
	snprintf(w->w.version, sizeof(w->w.version), "0.4.0");
	snprintf(w->w.os, sizeof(w->w.os), "Linux");
	snprintf(w->w.arch, sizeof(w->w.arch), "x86_64");
	snprintf(w->w.rx_mode, sizeof(w->w.rx_mode), "full");
	snprintf(w->w.huge_pages, sizeof(w->w.huge_pages),
	    "transparent huge pages");
	w->w.huge_pages_used = 1168;
	w->w.threads_running = seeds[i].threads;
	snprintf(w->w.addr, sizeof(w->w.addr), "ipv4:127.0.0.1:%d",
	    40000 + (int)i);
	w->w.registered_at = now;
	w->w.difficulty = 5000;
}

/* One step of the world; events go out after the lock is dropped. */
static void
step(void)
{
	json_t *ev[4] = { NULL, NULL, NULL, NULL };
	enum live_event type[4];
	int64_t now = clock_wall_ms();
	size_t i, nev = 0;

	pthread_mutex_lock(&fx.lock);
	fx.tick++;
	for (i = 0; i < NWORKERS; i++)
		if (!fx.wk[i].present && seeds[i].join_tick > 0 &&
		    fx.tick == (uint64_t)seeds[i].join_tick) {
			worker_init_locked(i, now);
			type[nev] = LIVE_WORKER_JOINED;
			ev[nev++] = dash_json_worker(&fx.wk[i].w);
		}
	sample_locked(now);
	if (fx.tick % 10 == 0) {
		type[nev] = LIVE_JOB;
		ev[nev++] = new_job_locked(now);
	}
	type[nev] = LIVE_SHARE;
	if ((ev[nev] = new_share_locked(now)) != NULL)
		nev++;
	if (fx.tick == 12) {
		type[nev] = LIVE_BLOCK;
		ev[nev++] = new_block_locked(now);
	}
	pthread_mutex_unlock(&fx.lock);
	for (i = 0; i < nev; i++) {
		live_publish(fx.live, type[i], ev[i]);
		json_decref(ev[i]);
	}
}

static void
burst(void)
{
	char pad[2049];
	json_t *ev;
	int i;

	/* 8 MB over about 8 s: more than any socket buffer holds, slow
	 * enough for a client that reads (a Python client under ASan on a
	 * busy machine included). */
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (i = 0; i < 4000; i++) {
		ev = json_pack("{s:i, s:s}", "n", i, "pad", pad);
		live_publish(fx.live, LIVE_JOB, ev);
		json_decref(ev);
		usleep(2000);
	}
	log_info("burst of 4000 events sent");
}

static void *
ticker(void *arg)
{
	pid_t parent = getppid();

	(void)arg;
	while (!atomic_load(&fx.stop)) {
		usleep((useconds_t)fx.tick_ms * 1000);
		step();
		/* a test driver that died must not leave us running */
		if (getppid() != parent) {
			log_warnx("the test driver is gone: stopping");
			kill(getpid(), SIGTERM);
			break;
		}
	}
	return NULL;
}

static void
world_init(void)
{
	int64_t now = clock_wall_ms(), t;
	size_t i;

	pthread_mutex_init(&fx.lock, NULL);
	fx.started = now - 3 * 3600 * 1000 - 1234567;
	fx.pool_up = 1;
	fx.jobs = json_array();
	fx.shares = json_array();
	fx.blocks = json_array();
	fx.payouts = json_object();
	json_decref(new_job_locked(now));
	for (i = 0; i < NWORKERS; i++)
		if (seeds[i].join_tick == 0)
			worker_init_locked(i, now - 3600 * 1000);
	/* an hour of history, so the chart has a past */
	for (t = now - 3600 * 1000; t < now; t += HIST_STEP_MS)
		sample_locked(t);
	for (i = 0; i < 40; i++)
		json_decref(new_share_locked(now - (int64_t)(40 - i) * 1000));

	for (i = 0; i < NWORKERS; i++)
		if (fx.wk[i].present)
			fx.wk[i].w.last_seen = now;
}

/* "a,b,c" into at most max pointers into s (which it cuts). */
static size_t
split_list(char *s, char **out, size_t max)
{
	size_t n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, ",", &save); tok && n < max;
	    tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

static void
world_free(void)
{
	json_decref(fx.jobs);
	json_decref(fx.shares);
	json_decref(fx.blocks);
	json_decref(fx.payouts);
	pthread_mutex_destroy(&fx.lock);
}

int
main(int argc, char **argv)
{
	struct http_config hc = { 0 };
	struct live_config lc = { 0 };
	struct money_rules rules = { 0 };
	struct dash_money *dm = NULL;
	const char *ledger = NULL;
	char hl[64], wl[64], *hosts[8], *origins[8];
	const char *hp = "0", *wp = "0", *hlisten = NULL, *wlisten = NULL;
	struct http *h;
	pthread_t tk;
	sigset_t set;
	int i, sig;

	log_init("dash_fixture", LOG_LVL_INFO, 0);
	fx.tick_ms = 500;
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--http-port") == 0)
			hp = argv[i + 1];
		else if (strcmp(argv[i], "--ws-port") == 0)
			wp = argv[i + 1];
		else if (strcmp(argv[i], "--static") == 0)
			hc.static_dir = argv[i + 1];
		else if (strcmp(argv[i], "--token") == 0)
			hc.token = argv[i + 1];
		else if (strcmp(argv[i], "--max-clients") == 0)
			lc.max_clients = (size_t)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--backlog") == 0)
			lc.backlog = (size_t)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--tick-ms") == 0)
			fx.tick_ms = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--ledger") == 0)
			ledger = argv[i + 1];
		else if (strcmp(argv[i], "--pplns-window") == 0)
			rules.window_abs = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--pplns-fee-bps") == 0)
			rules.fee_bps = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--http-listen") == 0)
			hlisten = argv[i + 1];
		else if (strcmp(argv[i], "--ws-listen") == 0)
			wlisten = argv[i + 1];
		else if (strcmp(argv[i], "--allowed-hosts") == 0) {
			hc.nallowed_hosts = split_list(argv[i + 1], hosts, 8);
			hc.allowed_hosts = hosts;
		} else if (strcmp(argv[i], "--allowed-origins") == 0) {
			lc.nallowed_origins = split_list(argv[i + 1], origins,
			    8);
			lc.allowed_origins = origins;
		} else if (strcmp(argv[i], "--ledger-sync") == 0)
			hc.ledger_synchronous = argv[i + 1];
		else {
			fprintf(stderr, "dash_fixture: unknown %s\n", argv[i]);
			return 2;
		}
	}
	snprintf(hl, sizeof(hl), "127.0.0.1:%s", hp);
	snprintf(wl, sizeof(wl), "127.0.0.1:%s", wp);
	hc.listen = hlisten ? hlisten : hl;
	lc.listen = wlisten ? wlisten : wl;

	/* Every thread started below inherits this mask; main takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ledger != NULL) {
		rules.window_factor_milli = 2000;
		if ((dm = dash_money_new(ledger, &rules)) == NULL)
			return 1;
		dash_money_attach(dm, &source);
	}
	world_init();
	if ((fx.live = live_new(&lc, &source)) == NULL)
		return 1;
	if ((h = http_new(&hc, &source, fx.live)) == NULL) {
		live_free(fx.live);
		return 1;
	}
	printf("HTTP_PORT=%d WS_PORT=%d\n", http_port(h), live_port(fx.live));
	fflush(stdout);
	pthread_create(&tk, NULL, ticker, NULL);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			burst();
			continue;
		}
		if (sig == SIGUSR2) {
			json_t *ev;

			pthread_mutex_lock(&fx.lock);
			fx.pool_up = !fx.pool_up;
			fx.switches++;
			ev = json_pack("{s:s, s:b}", "url", "127.0.0.1:3333",
			    "connected", fx.pool_up);
			pthread_mutex_unlock(&fx.lock);
			live_publish(fx.live, LIVE_POOL_SWITCH, ev);
			json_decref(ev);
			continue;
		}
		break;
	}
	atomic_store(&fx.stop, 1);
	pthread_join(tk, NULL);
	http_free(h);
	live_free(fx.live);
	world_free();
	dash_money_free(dm);
	log_info("stopped");
	return 0;
}
