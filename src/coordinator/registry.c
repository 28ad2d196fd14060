/*
 * registry.c: the one table of workers (see registry.h): identity, online
 * state, the live job stream, operator pause, quarantine and revocation,
 * the command a worker is to hear, counters, and the admission of its
 * shares to verification.  Rows live in an array that only grows (a
 * worker that leaves keeps its row and counters); an open-addressing hash
 * of the ids finds them, since every job sent and every call looks a
 * worker up.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/idindex.h"
#include "common/log.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"

struct worker {
	struct registry_worker w;
	int unregistered;
	int kick;			/* SHUTDOWN on the next heartbeat */
	int told_paused;		/* what it was last told */
	struct rpc_stream *stream;	/* its one live job stream (a ref) */
	double tokens;			/* verification admission bucket */
	int64_t tokens_at;
	unsigned inflight;		/* shares waiting for a hash */
	int64_t invalid_since;		/* start of the invalid-share window */
	struct effring *eff;		/* NULL until it is credited */
};

/* Credited difficulty per minute over the last day (and a little more,
 * so the 24 h window's oldest, partly covered minute is still held). */
#define EFF_RING 1442
#define MINUTE_MS 60000
struct effring {
	int64_t head;			/* minute of the newest bucket */
	double sum[EFF_RING];		/* by minute % EFF_RING */
};

const int64_t registry_eff_window_ms[REGISTRY_EFF_WINDOWS] = {
	60000, 600000, 3600000, 43200000, 86400000
};

struct registry {
	int64_t heartbeat_ms;
	size_t max_workers;
	registry_status_fn status_cb;
	void *status_arg;
	registry_access_fn access_cb;
	void *access_arg;
	struct registry_limits lim;

	pthread_mutex_t workers_lock;	/* guards everything below */
	struct worker *workers;
	size_t n, cap;
	struct idindex index;		/* id -> row of workers[] */
	uint64_t shares_valid, shares_invalid, blocks_found;
	int64_t started_at, first_block_time, last_block_time;
	int cluster_paused;
	unsigned online;		/* workers online now */
	unsigned online_peak;		/* most online at once */
};

/* What changed under the lock, acted on after it is released: a status
 * change (callback), a stream to cancel, a quarantine to record. */
struct change {
	char id[REGISTRY_ID_MAX];
	int status;			/* a status change to report */
	int online;
	enum registry_reason why;
	struct rpc_stream *cancel;	/* with its reference */
	const char *cancel_why;
	int record;			/* an access change for the ledger */
	enum registry_deny denied;
	char deny_reason[REGISTRY_TEXT_MAX];
	int64_t at;
};

static const struct registry_limits default_limits = {
	.max_invalid = 20, .window_ms = 600000, .rate = 20, .burst = 40,
	.inflight_max = 32,
};

static const char *
status_name(int online)
{
	return online ? "online" : "offline";
}

static const char *
deny_name(enum registry_deny d)
{
	return d == REGISTRY_QUARANTINED ? "quarantined" :
	    d == REGISTRY_REVOKED ? "revoked" : "allowed";
}

static const char *row_id(const void *rows, size_t i);

struct registry *
registry_new(int64_t heartbeat_ms, size_t max_workers)
{
	struct registry *r;

	if (heartbeat_ms <= 0 || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->heartbeat_ms = heartbeat_ms;
	r->max_workers = max_workers ? max_workers : 10000;
	r->started_at = clock_wall_ms();
	r->lim = default_limits;
	r->index.id_of = row_id;
	pthread_mutex_init(&r->workers_lock, NULL);
	return r;
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	registry_streams_drop(r);
	pthread_mutex_destroy(&r->workers_lock);
	for (size_t i = 0; i < r->n; i++)
		free(r->workers[i].eff);
	idindex_free(&r->index);
	free(r->workers);
	free(r);
}

void
registry_set_status_cb(struct registry *r, registry_status_fn fn, void *arg)
{
	r->status_cb = fn;
	r->status_arg = arg;
}

void
registry_set_access_cb(struct registry *r, registry_access_fn fn, void *arg)
{
	r->access_cb = fn;
	r->access_arg = arg;
}

void
registry_set_limits(struct registry *r, const struct registry_limits *lim)
{
	pthread_mutex_lock(&r->workers_lock);
	r->lim = *lim;
	if (!(r->lim.rate > 0) || !isfinite(r->lim.rate))
		r->lim.rate = default_limits.rate;
	if (!(r->lim.burst >= 1) || !isfinite(r->lim.burst))
		r->lim.burst = r->lim.rate > 1 ? r->lim.rate : 1;
	if (r->lim.inflight_max == 0)
		r->lim.inflight_max = default_limits.inflight_max;
	if (r->lim.window_ms <= 0)
		r->lim.window_ms = default_limits.window_ms;
	pthread_mutex_unlock(&r->workers_lock);
}

int64_t
registry_heartbeat_ms(const struct registry *r)
{
	return r->heartbeat_ms;
}

static void
copy_text(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static const char *
row_id(const void *rows, size_t i)
{
	return ((const struct worker *)rows)[i].w.id;
}

/* Callers hold workers_lock. */
static struct worker *
find(struct registry *r, const char *id)
{
	size_t i = idindex_find(&r->index, r->workers, id);

	return i != (size_t)-1 ? &r->workers[i] : NULL;
}

/* Room for one more row and its index slot.  Locked. */
static int
grow(struct registry *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16;
	struct worker *nw;

	if ((nw = realloc(r->workers, cap * sizeof(*nw))) == NULL)
		return -ENOMEM;
	r->workers = nw;
	if (idindex_rebuild(&r->index, r->workers, r->n, cap) != 0)
		return -ENOMEM;
	r->cap = cap;
	return 0;
}

/* Sets a worker's status, noting a change for the callback.  Locked. */
static void
set_online(struct registry *r, struct worker *wk, int online,
    enum registry_reason why, struct change *ch)
{
	if (wk->w.online == online)
		return;
	wk->w.online = online;
	r->online += online ? 1 : -1;
	if (r->online > r->online_peak)
		r->online_peak = r->online;
	wk->w.status = status_name(online);
	wk->w.reason = why;
	if (!online)
		wk->w.hashrate = 0;
	if (ch != NULL) {
		copy_text(ch->id, sizeof(ch->id), wk->w.id);
		ch->status = 1;
		ch->online = online;
		ch->why = why;
	}
}

/* Takes the worker's stream out for cancelling after the lock.  Locked. */
static void
drop_stream(struct worker *wk, const char *why, struct change *ch)
{
	if (wk->stream == NULL)
		return;
	ch->cancel = wk->stream;
	ch->cancel_why = why;
	wk->stream = NULL;
}

static void
report(struct registry *r, struct change *ch)
{
	if (ch->cancel != NULL) {
		rpc_stream_cancel(ch->cancel, ch->cancel_why);
		rpc_stream_unref(ch->cancel);
		ch->cancel = NULL;
	}
	if (ch->record && r->access_cb != NULL)
		r->access_cb(r->access_arg, ch->id, ch->denied, ch->deny_reason,
		    ch->at);
	if (!ch->status)
		return;
	log_info("worker %s %s (%s)", ch->id, status_name(ch->online),
	    ch->why == REGISTRY_REGISTERED ? "registered" :
	    ch->why == REGISTRY_HEARD ? "heard from again" :
	    ch->why == REGISTRY_UNREGISTERED ? "unregistered" :
	    ch->why == REGISTRY_STREAM_CLOSED ? "job stream closed" :
	    ch->why == REGISTRY_DENIED ? "access denied" :
	    "missed heartbeats");
	if (r->status_cb != NULL)
		r->status_cb(r->status_arg, ch->id, ch->online, ch->why);
}

/* The row of id, created (offline, empty) when new; workers_lock held.
 * 0, -ENOSPC (table full) or -ENOMEM. */
static int
row(struct registry *r, const char *id, struct worker **out)
{
	struct worker *wk;

	if ((wk = find(r, id)) == NULL) {
		if (r->n == r->max_workers)
			return -ENOSPC;
		if (r->n == r->cap && grow(r) != 0)
			return -ENOMEM;
		wk = &r->workers[r->n];
		memset(wk, 0, sizeof(*wk));
		copy_text(wk->w.id, sizeof(wk->w.id), id);
		copy_text(wk->w.name, sizeof(wk->w.name), id);
		wk->w.status = status_name(0);
		wk->unregistered = 1;
		idindex_add(&r->index, r->workers, r->n++);
	}
	*out = wk;
	return 0;
}

static int
id_ok(const char *id)
{
	size_t len = id != NULL ? strlen(id) : 0;

	return len > 0 && len < REGISTRY_ID_MAX;
}

/* Denies or allows an identity.  Locked; the change is acted on after. */
static void
set_access(struct registry *r, struct worker *wk, enum registry_deny state,
    const char *reason, int64_t now_ms, struct change *ch)
{
	wk->w.denied = state;
	copy_text(wk->w.deny_reason, sizeof(wk->w.deny_reason), reason);
	wk->w.denied_at = state != REGISTRY_ALLOWED ? now_ms : 0;
	wk->w.invalid_recent = 0;
	wk->invalid_since = now_ms;
	if (state == REGISTRY_ALLOWED)
		return;
	drop_stream(wk, state == REGISTRY_REVOKED ? "worker revoked" :
	    "worker quarantined", ch);
	wk->unregistered = 1;
	set_online(r, wk, 0, REGISTRY_DENIED, ch);
}

enum registry_deny
registry_access(struct registry *r, const char *id, char *why, size_t len)
{
	struct worker *wk;
	enum registry_deny d = REGISTRY_ALLOWED;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL && wk->w.denied != REGISTRY_ALLOWED) {
		d = wk->w.denied;
		if (why != NULL)
			snprintf(why, len, "worker %s: %s", deny_name(d),
			    wk->w.deny_reason);
	}
	pthread_mutex_unlock(&r->workers_lock);
	return d;
}

int
registry_set_access(struct registry *r, const char *id,
    enum registry_deny state, const char *reason, int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	int rc;

	if (!id_ok(id))
		return -EINVAL;
	pthread_mutex_lock(&r->workers_lock);
	if ((rc = row(r, id, &wk)) == 0) {
		if (wk->w.denied != state)
			log_info("worker %s: %s (%s)", id, deny_name(state),
			    reason != NULL && *reason != '\0' ? reason :
			    "by the operator");
		set_access(r, wk, state, reason, now_ms, &ch);
	}
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return rc;
}

int
registry_clamp_threads(int threads)
{
	if (threads < 1)
		return 1;
	return threads > REGISTRY_THREADS_MAX ? REGISTRY_THREADS_MAX : threads;
}

/* A reported number made safe: finite, >= 0, at most max. */
static double
bound(double v, double max)
{
	if (!isfinite(v) || v < 0)
		return 0;
	return v > max ? max : v;
}

/* Printable ASCII only (a worker's text is shown in HTML, JSON and
 * Prometheus labels); the rest becomes '?'. */
static void
copy_shown(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (unsigned char)src[i] >= 0x20 &&
		    (unsigned char)src[i] < 0x7f ? src[i] : '?';
	if (len > 0)
		dst[i] = '\0';
}

void
registry_beat_bound(struct registry_beat *b)
{
	char tmp[sizeof(b->huge_pages)];

	b->hashrate = bound(b->hashrate, REGISTRY_HASHRATE_MAX);
	b->hashrate_60s = bound(b->hashrate_60s, REGISTRY_HASHRATE_MAX);
	b->hashrate_15m = bound(b->hashrate_15m, REGISTRY_HASHRATE_MAX);
	b->cpu_usage = (float)bound(b->cpu_usage, REGISTRY_PERCENT_MAX);
	b->memory_usage = (float)bound(b->memory_usage, 100.0);
	b->temperature = (float)bound(b->temperature, REGISTRY_TEMP_MAX);
	if (b->uptime_ms < 0)
		b->uptime_ms = 0;
	if (b->huge_pages_used > REGISTRY_PAGES_MAX)
		b->huge_pages_used = REGISTRY_PAGES_MAX;
	if (b->threads_running > REGISTRY_THREADS_MAX)
		b->threads_running = REGISTRY_THREADS_MAX;
	copy_shown(tmp, sizeof(tmp), b->rx_mode);
	copy_shown(b->rx_mode, sizeof(b->rx_mode), tmp);
	copy_shown(tmp, sizeof(tmp), b->huge_pages);
	copy_shown(b->huge_pages, sizeof(b->huge_pages), tmp);
}

/* Adds difficulty to the minute of at_ms (not older than the ring). */
static void
eff_add(struct effring *e, int64_t at_ms, double difficulty)
{
	int64_t m = at_ms / MINUTE_MS;

	if (m > e->head) {
		if (m - e->head >= EFF_RING)
			memset(e->sum, 0, sizeof(e->sum));
		else
			for (int64_t k = e->head + 1; k <= m; k++)
				e->sum[k % EFF_RING] = 0;
		e->head = m;
	}
	if (e->head - m >= EFF_RING || m < 0)
		return;
	e->sum[m % EFF_RING] += difficulty;
}

static double
eff_bucket(const struct effring *e, int64_t m)
{
	if (m < 0 || m > e->head || e->head - m >= EFF_RING)
		return 0;
	return e->sum[m % EFF_RING];
}

/* Difficulty per second over each window ending now: the whole minutes
 * inside it, and the oldest minute by the part still inside. */
static void
eff_rates(const struct effring *e, int64_t now_ms,
    double out[REGISTRY_EFF_WINDOWS])
{
	int64_t now_min = now_ms / MINUTE_MS;
	double frac = (double)(now_ms % MINUTE_MS) / MINUTE_MS, acc = 0;
	int64_t k = 0;

	/* Nothing credited within the day (most idle rows): no walk. */
	if (now_min - e->head > EFF_RING) {
		memset(out, 0, REGISTRY_EFF_WINDOWS * sizeof(*out));
		return;
	}
	for (int w = 0; w < REGISTRY_EFF_WINDOWS; w++) {
		int64_t mins = registry_eff_window_ms[w] / MINUTE_MS;

		for (; k < mins; k++)
			acc += eff_bucket(e, now_min - k);
		out[w] = (acc + (1.0 - frac) * eff_bucket(e, now_min - mins)) /
		    ((double)registry_eff_window_ms[w] / 1000.0);
	}
}

/* The copy a reader gets, with the windows worked out.  Locked. */
static void
snapshot(const struct worker *wk, int64_t now_ms, struct registry_worker *out)
{
	*out = wk->w;
	if (wk->eff != NULL)
		eff_rates(wk->eff, now_ms, out->effective);
}

/* The worker's ring, made on first use.  Locked. */
static struct effring *
eff_of(struct worker *wk)
{
	if (wk->eff == NULL)
		wk->eff = calloc(1, sizeof(*wk->eff));
	return wk->eff;
}

void
registry_set_address(struct registry *r, const char *id, const char *addr)
{
	struct worker *wk;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL)
		copy_shown(wk->w.addr, sizeof(wk->w.addr), addr);
	pthread_mutex_unlock(&r->workers_lock);
}

void
registry_credit(struct registry *r, const char *id, unsigned reason,
    uint64_t difficulty, int64_t now_ms)
{
	struct worker *wk;
	struct effring *e;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL) {
		wk->w.by_reason[reason < REGISTRY_REASONS ? reason :
		    REGISTRY_REASONS - 1]++;
		wk->w.last_difficulty = difficulty;
		if (reason == 0 && difficulty > 0) {
			wk->w.credited_difficulty += difficulty;
			if ((e = eff_of(wk)) != NULL)
				eff_add(e, now_ms, (double)difficulty);
		}
	}
	pthread_mutex_unlock(&r->workers_lock);
}

void
registry_restore_verdicts(struct registry *r, const char *id, unsigned reason,
    uint64_t count)
{
	struct worker *wk;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL)
		wk->w.by_reason[reason < REGISTRY_REASONS ? reason :
		    REGISTRY_REASONS - 1] += count;
	pthread_mutex_unlock(&r->workers_lock);
}

void
registry_restore_credit(struct registry *r, const char *id, int64_t from_ms,
    int64_t to_ms, double difficulty, int64_t now_ms)
{
	int64_t lo = now_ms - registry_eff_window_ms[REGISTRY_EFF_WINDOWS - 1] -
	    MINUTE_MS, hi = to_ms < now_ms ? to_ms : now_ms;
	struct worker *wk;
	struct effring *e;

	if (!(difficulty > 0) || !isfinite(difficulty) || to_ms <= from_ms)
		return;
	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL && (e = eff_of(wk)) != NULL) {
		double per_ms = difficulty / (double)(to_ms - from_ms);

		/* Each minute of the span that the ring still holds gets its
		 * share; what lies outside the last day is dropped. */
		for (int64_t t = from_ms > lo ? from_ms : lo; t < hi;) {
			int64_t next = (t / MINUTE_MS + 1) * MINUTE_MS;

			if (next > hi)
				next = hi;
			eff_add(e, t, per_ms * (double)(next - t));
			t = next;
		}
	}
	pthread_mutex_unlock(&r->workers_lock);
}

int
registry_register(struct registry *r, const char *id, const char *name,
    int threads, const char *version, const char *os, const char *arch,
    int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	int rc;

	if (!id_ok(id))
		return -EINVAL;
	pthread_mutex_lock(&r->workers_lock);
	if ((rc = row(r, id, &wk)) != 0) {
		pthread_mutex_unlock(&r->workers_lock);
		return rc;
	}
	if (wk->w.denied != REGISTRY_ALLOWED) {
		pthread_mutex_unlock(&r->workers_lock);
		return -EACCES;
	}
	if (name != NULL && *name != '\0')
		copy_text(wk->w.name, sizeof(wk->w.name), name);
	copy_shown(wk->w.version, sizeof(wk->w.version), version);
	copy_shown(wk->w.os, sizeof(wk->w.os), os);
	copy_shown(wk->w.arch, sizeof(wk->w.arch), arch);
	wk->w.threads = registry_clamp_threads(threads);
	wk->unregistered = 0;
	wk->told_paused = 0;	/* a worker process starts mining */
	wk->w.registered_at = wk->w.connected_at = wk->w.last_seen = now_ms;
	set_online(r, wk, 1, REGISTRY_REGISTERED, &ch);
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return 0;
}

int
registry_unregister(struct registry *r, const char *id, int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->workers_lock);
		return -ENOENT;
	}
	wk->unregistered = 1;
	wk->w.last_seen = now_ms;
	set_online(r, wk, 0, REGISTRY_UNREGISTERED, &ch);
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return 0;
}

/* A sign of life: revives a worker that only timed out.  One that
 * unregistered or lost its job stream must Register (or reopen the
 * stream) to be online again.  Locked. */
static int
heard(struct registry *r, struct worker *wk, int64_t now_ms, struct change *ch)
{
	if (wk->w.denied != REGISTRY_ALLOWED)
		return -EACCES;
	if (wk->unregistered)
		return -ESRCH;
	wk->w.last_seen = now_ms;
	if (!wk->w.online && wk->w.reason == REGISTRY_TIMED_OUT)
		set_online(r, wk, 1, REGISTRY_HEARD, ch);
	return 0;
}

/* What the worker must be told now (see registry_heartbeat).  Locked. */
static enum worker_command
command_for(struct registry *r, struct worker *wk)
{
	int want;

	if (wk->kick) {
		wk->kick = 0;
		return WORKER_CMD_SHUTDOWN;
	}
	want = wk->w.paused || r->cluster_paused;
	if (want == wk->told_paused)
		return WORKER_CMD_NONE;
	wk->told_paused = want;
	return want ? WORKER_CMD_PAUSE : WORKER_CMD_RESUME;
}

int
registry_heartbeat(struct registry *r, const char *id,
    const struct registry_beat *beat, int64_t now_ms, enum worker_command *cmd)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	int rc;

	*cmd = WORKER_CMD_NONE;
	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->workers_lock);
		return -ENOENT;
	}
	if ((rc = heard(r, wk, now_ms, &ch)) == 0) {
		wk->w.reported = *beat;
		registry_beat_bound(&wk->w.reported);
		if (wk->w.online)
			wk->w.hashrate = wk->w.reported.hashrate;
		*cmd = command_for(r, wk);
	}
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return rc;
}

void
registry_set_cluster_paused(struct registry *r, int paused)
{
	pthread_mutex_lock(&r->workers_lock);
	r->cluster_paused = paused != 0;
	pthread_mutex_unlock(&r->workers_lock);
}

int
registry_stream_open(struct registry *r, const char *id, struct rpc_stream *s,
    int64_t now_ms, struct rpc_stream **replaced)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	int rc;

	*replaced = NULL;
	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->workers_lock);
		return -ENOENT;
	}
	if ((rc = heard(r, wk, now_ms, &ch)) == 0) {
		*replaced = wk->stream;
		rpc_stream_ref(s);
		wk->stream = s;
		wk->w.streams = 1;
		wk->w.connected_at = now_ms;
		set_online(r, wk, 1, REGISTRY_HEARD, &ch);
	}
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return rc;
}

int
registry_stream_close(struct registry *r, const char *id, struct rpc_stream *s,
    int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	int was_live = 0;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL && wk->stream == s && s != NULL) {
		wk->stream = NULL;
		wk->w.streams = 0;
		wk->w.last_seen = now_ms;
		set_online(r, wk, 0, REGISTRY_STREAM_CLOSED, &ch);
		was_live = 1;
	}
	pthread_mutex_unlock(&r->workers_lock);
	if (was_live)
		rpc_stream_unref(s);
	report(r, &ch);
	return was_live;
}

struct rpc_stream *
registry_stream_get(struct registry *r, const char *id)
{
	struct worker *wk;
	struct rpc_stream *s = NULL;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL && (s = wk->stream) != NULL)
		rpc_stream_ref(s);
	pthread_mutex_unlock(&r->workers_lock);
	return s;
}

void
registry_streams_drop(struct registry *r)
{
	for (;;) {
		struct rpc_stream *s = NULL;

		pthread_mutex_lock(&r->workers_lock);
		for (size_t i = 0; i < r->n && s == NULL; i++) {
			if ((s = r->workers[i].stream) != NULL) {
				r->workers[i].stream = NULL;
				r->workers[i].w.streams = 0;
			}
		}
		pthread_mutex_unlock(&r->workers_lock);
		if (s == NULL)
			return;
		rpc_stream_unref(s);
	}
}

void
registry_record_share(struct registry *r, const char *id, int accepted,
    int is_block, int costly, int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;

	pthread_mutex_lock(&r->workers_lock);
	if (accepted)
		r->shares_valid++;
	else
		r->shares_invalid++;
	if (is_block) {
		if (r->blocks_found++ == 0)
			r->first_block_time = now_ms;
		r->last_block_time = now_ms;
	}
	if ((wk = find(r, id)) != NULL) {
		if (accepted)
			wk->w.shares_valid++;
		else
			wk->w.shares_invalid++;
		wk->w.blocks += is_block != 0;
		wk->w.last_share_at = now_ms;
		if (costly && wk->w.denied == REGISTRY_ALLOWED) {
			if (now_ms - wk->invalid_since > r->lim.window_ms) {
				wk->invalid_since = now_ms;
				wk->w.invalid_recent = 0;
			}
			if (++wk->w.invalid_recent > r->lim.max_invalid &&
			    r->lim.max_invalid > 0) {
				char why[REGISTRY_TEXT_MAX];

				snprintf(why, sizeof(why), "%" PRIu64 " invalid "
				    "shares within %" PRId64 " s",
				    wk->w.invalid_recent, r->lim.window_ms / 1000);
				log_warnx("worker %s quarantined: %s; the operator "
				    "lifts it (coopmine-cli workers release)", id,
				    why);
				set_access(r, wk, REGISTRY_QUARANTINED, why, now_ms,
				    &ch);
				ch.record = 1;
				ch.denied = REGISTRY_QUARANTINED;
				copy_text(ch.deny_reason, sizeof(ch.deny_reason), why);
				copy_text(ch.id, sizeof(ch.id), id);
				ch.at = now_ms;
			}
		}
	}
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
}

int
registry_verify_admit(struct registry *r, const char *id, int64_t now_ms)
{
	struct worker *wk;
	unsigned fair;
	int rc = -EAGAIN;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL && wk->w.denied == REGISTRY_ALLOWED) {
		double dt = (double)(now_ms - wk->tokens_at) / 1000.0;

		if (wk->tokens_at == 0 || dt < 0)
			wk->tokens = r->lim.burst;
		else
			wk->tokens += dt * r->lim.rate;
		if (wk->tokens > r->lim.burst)
			wk->tokens = r->lim.burst;
		wk->tokens_at = now_ms;
		/* Every online worker may hold an equal part of the queue. */
		fair = r->lim.inflight_max / (r->online > 0 ? r->online : 1);
		if (fair < 2)
			fair = 2;
		if (wk->tokens >= 1.0 && wk->inflight < fair) {
			wk->tokens -= 1.0;
			wk->inflight++;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&r->workers_lock);
	return rc;
}

void
registry_verify_done(struct registry *r, const char *id)
{
	struct worker *wk;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL && wk->inflight > 0)
		wk->inflight--;
	pthread_mutex_unlock(&r->workers_lock);
}

void
registry_set_job(struct registry *r, const char *id, const char *job_id)
{
	struct worker *wk;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL)
		copy_text(wk->w.current_job_id, sizeof(wk->w.current_job_id), job_id);
	pthread_mutex_unlock(&r->workers_lock);
}

int
registry_pause(struct registry *r, const char *id, int paused)
{
	struct worker *wk;
	int rc = -ENOENT;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL) {
		rc = wk->w.paused == (paused != 0) ? -EALREADY : 0;
		wk->w.paused = paused != 0;
	}
	pthread_mutex_unlock(&r->workers_lock);
	return rc;
}

int
registry_kick(struct registry *r, const char *id)
{
	struct worker *wk;
	int rc = -ENOENT;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL) {
		rc = wk->w.online ? 0 : -EALREADY;
		wk->kick = wk->w.online;
	}
	pthread_mutex_unlock(&r->workers_lock);
	return rc;
}

int
registry_sweep(struct registry *r, int64_t now_ms)
{
	struct change *chs = NULL;
	int64_t limit = now_ms - REGISTRY_MISSED_BEATS * r->heartbeat_ms;
	size_t nch = 0;

	pthread_mutex_lock(&r->workers_lock);
	for (size_t i = 0; i < r->n; i++) {
		struct worker *wk = &r->workers[i];
		struct change *nc;

		if (!wk->w.online || wk->w.last_seen >= limit)
			continue;
		if ((nc = realloc(chs, (nch + 1) * sizeof(*chs))) == NULL) {
			set_online(r, wk, 0, REGISTRY_TIMED_OUT, NULL);
			continue;
		}
		chs = nc;
		memset(&chs[nch], 0, sizeof(chs[nch]));
		set_online(r, wk, 0, REGISTRY_TIMED_OUT, &chs[nch++]);
	}
	pthread_mutex_unlock(&r->workers_lock);
	for (size_t i = 0; i < nch; i++)
		report(r, &chs[i]);
	free(chs);
	return (int)nch;
}

int
registry_get(struct registry *r, const char *id, struct registry_worker *out)
{
	struct worker *wk;
	int rc = -ENOENT;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL) {
		snapshot(wk, clock_wall_ms(), out);
		rc = 0;
	}
	pthread_mutex_unlock(&r->workers_lock);
	return rc;
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct registry_worker *)a)->id,
	    ((const struct registry_worker *)b)->id);
}

int
registry_list(struct registry *r, struct registry_worker **out, size_t *n)
{
	struct registry_worker *all;
	int64_t now;

	pthread_mutex_lock(&r->workers_lock);
	if ((all = malloc((r->n ? r->n : 1) * sizeof(*all))) == NULL) {
		pthread_mutex_unlock(&r->workers_lock);
		return -ENOMEM;
	}
	now = clock_wall_ms();
	for (size_t i = 0; i < r->n; i++)
		snapshot(&r->workers[i], now, &all[i]);
	*n = r->n;
	pthread_mutex_unlock(&r->workers_lock);
	qsort(all, *n, sizeof(*all), by_id);
	*out = all;
	return 0;
}

void
registry_totals(struct registry *r, struct registry_totals *out)
{
	int64_t now = clock_wall_ms();

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->workers_lock);
	for (size_t i = 0; i < r->n; i++) {
		const struct worker *wk = &r->workers[i];

		if (wk->w.online) {
			out->workers_online++;
			out->total_hashrate += wk->w.hashrate;
			out->hashrate_60s += wk->w.reported.hashrate_60s;
			out->hashrate_15m += wk->w.reported.hashrate_15m;
		}
		if (wk->eff != NULL) {
			double e[REGISTRY_EFF_WINDOWS];

			eff_rates(wk->eff, now, e);
			for (int w = 0; w < REGISTRY_EFF_WINDOWS; w++)
				out->effective[w] += e[w];
		}
	}
	out->workers_total = (int)r->n;
	out->workers_peak = (int)r->online_peak;
	out->shares_valid = r->shares_valid;
	out->shares_invalid = r->shares_invalid;
	out->blocks_found = r->blocks_found;
	out->started_at = r->started_at;
	out->last_block_time = r->last_block_time;
	if (r->blocks_found > 1)
		out->avg_block_time = (double)(r->last_block_time -
		    r->first_block_time) / 1000.0 / (double)(r->blocks_found - 1);
	pthread_mutex_unlock(&r->workers_lock);
}

int
registry_restore(struct registry *r, const char *id, const char *name,
    int threads, const char *version, uint64_t shares_valid,
    uint64_t shares_invalid, int64_t first_seen, int64_t last_seen)
{
	struct worker *wk;
	int rc;

	if (!id_ok(id))
		return -EINVAL;
	pthread_mutex_lock(&r->workers_lock);
	if ((rc = row(r, id, &wk)) != 0) {
		pthread_mutex_unlock(&r->workers_lock);
		return rc;
	}
	copy_text(wk->w.name, sizeof(wk->w.name),
	    name != NULL && *name != '\0' ? name : id);
	copy_text(wk->w.version, sizeof(wk->w.version), version);
	wk->w.threads = threads;
	wk->unregistered = 1;
	wk->w.shares_valid = shares_valid;
	wk->w.shares_invalid = shares_invalid;
	wk->w.registered_at = first_seen;
	wk->w.last_seen = last_seen;
	pthread_mutex_unlock(&r->workers_lock);
	return 0;
}

void
registry_restore_totals(struct registry *r, uint64_t shares_valid,
    uint64_t shares_invalid, uint64_t blocks_found, int64_t last_block_time)
{
	pthread_mutex_lock(&r->workers_lock);
	r->shares_valid = shares_valid;
	r->shares_invalid = shares_invalid;
	r->blocks_found = blocks_found;
	r->last_block_time = last_block_time;
	pthread_mutex_unlock(&r->workers_lock);
}
