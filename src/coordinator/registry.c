/*
 * registry.c: the worker table behind Register/Heartbeat/stats (see
 * registry.h).  Rows live in an array that only grows (a worker that leaves
 * keeps its row and counters); an open-addressing hash of the ids finds
 * them, since every job sent and every heartbeat looks a worker up.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/registry.h"

struct worker {
	struct registry_worker w;
	int unregistered;
	enum registry_command pending;
};

struct registry {
	int64_t heartbeat_ms;
	size_t max_workers;
	registry_status_fn status_cb;
	void *status_arg;

	pthread_mutex_t workers_lock;	/* guards everything below */
	struct worker *workers;
	size_t n, cap;
	size_t *index;			/* row + 1, 0 empty; nindex slots */
	size_t nindex;			/* a power of two >= 2 * cap */
	uint64_t shares_valid, shares_invalid, blocks_found;
	int64_t started_at, first_block_time, last_block_time;
};

/* A status change found under the lock, reported after it is released. */
struct change {
	char id[REGISTRY_ID_MAX];
	int online;
	enum registry_reason why;
};

static const char *
status_name(int online)
{
	return online ? "online" : "offline";
}

struct registry *
registry_new(int64_t heartbeat_ms, size_t max_workers)
{
	struct registry *r;

	if (heartbeat_ms <= 0 || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->heartbeat_ms = heartbeat_ms;
	r->max_workers = max_workers ? max_workers : 10000;
	r->started_at = clock_wall_ms();
	pthread_mutex_init(&r->workers_lock, NULL);
	return r;
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->workers_lock);
	free(r->index);
	free(r->workers);
	free(r);
}

void
registry_set_status_cb(struct registry *r, registry_status_fn fn, void *arg)
{
	r->status_cb = fn;
	r->status_arg = arg;
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

static size_t
hash_id(const char *id)
{
	size_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return h;
}

/* The index slot holding id, or the empty slot where it would go.
 * Callers hold workers_lock; nindex > n, so an empty slot exists. */
static size_t *
slot(struct registry *r, const char *id)
{
	size_t i = hash_id(id) & (r->nindex - 1);

	while (r->index[i] != 0 && strcmp(r->workers[r->index[i] - 1].w.id, id) != 0)
		i = (i + 1) & (r->nindex - 1);
	return &r->index[i];
}

/* Callers hold workers_lock. */
static struct worker *
find(struct registry *r, const char *id)
{
	size_t *sl;

	if (r->nindex == 0 || id == NULL)
		return NULL;
	sl = slot(r, id);
	return *sl != 0 ? &r->workers[*sl - 1] : NULL;
}

/* Room for one more row and its index slot.  Locked. */
static int
grow(struct registry *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16, nindex = 32;
	struct worker *nw;
	size_t *ni;

	while (nindex < 2 * cap)
		nindex *= 2;
	if ((nw = realloc(r->workers, cap * sizeof(*nw))) == NULL)
		return -ENOMEM;
	r->workers = nw;
	if ((ni = calloc(nindex, sizeof(*ni))) == NULL)
		return -ENOMEM;
	free(r->index);
	r->index = ni;
	r->nindex = nindex;
	r->cap = cap;
	for (size_t i = 0; i < r->n; i++)
		*slot(r, r->workers[i].w.id) = i + 1;
	return 0;
}

/* Sets a worker's status, noting a change for the callback.  Locked. */
static void
set_online(struct worker *wk, int online, enum registry_reason why,
    struct change *ch)
{
	if (wk->w.online == online)
		return;
	wk->w.online = online;
	wk->w.status = status_name(online);
	wk->w.reason = why;
	if (!online)
		wk->w.hashrate = 0;
	if (ch != NULL) {
		copy_text(ch->id, sizeof(ch->id), wk->w.id);
		ch->online = online;
		ch->why = why;
	}
}

static void
report(struct registry *r, const struct change *ch)
{
	if (ch->id[0] == '\0')
		return;
	log_info("worker %s %s (%s)", ch->id, status_name(ch->online),
	    ch->why == REGISTRY_REGISTERED ? "registered" :
	    ch->why == REGISTRY_HEARD ? "heard from again" :
	    ch->why == REGISTRY_UNREGISTERED ? "unregistered" :
	    ch->why == REGISTRY_STREAM_CLOSED ? "job stream closed" :
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
		wk->w.status = status_name(0);
		*slot(r, id) = ++r->n;
	}
	*out = wk;
	return 0;
}

int
registry_register(struct registry *r, const char *id, const char *name,
    int threads, const char *version, const char *os, const char *arch,
    int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	size_t len = id != NULL ? strlen(id) : 0;
	int rc;

	if (len == 0 || len >= REGISTRY_ID_MAX)
		return -EINVAL;
	pthread_mutex_lock(&r->workers_lock);
	if ((rc = row(r, id, &wk)) != 0) {
		pthread_mutex_unlock(&r->workers_lock);
		return rc;
	}
	if (name != NULL && *name != '\0')
		copy_text(wk->w.name, sizeof(wk->w.name), name);
	else if (wk->w.name[0] == '\0')
		copy_text(wk->w.name, sizeof(wk->w.name), id);
	copy_text(wk->w.version, sizeof(wk->w.version), version);
	copy_text(wk->w.os, sizeof(wk->w.os), os);
	copy_text(wk->w.arch, sizeof(wk->w.arch), arch);
	wk->w.threads = threads;
	wk->unregistered = 0;
	wk->w.registered_at = wk->w.connected_at = wk->w.last_seen = now_ms;
	set_online(wk, 1, REGISTRY_REGISTERED, &ch);
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
	set_online(wk, 0, REGISTRY_UNREGISTERED, &ch);
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return 0;
}

/* A sign of life: revives a worker that only timed out.  One that
 * unregistered or lost its job stream must Register (or reopen the
 * stream) to be online again.  Locked. */
static int
heard(struct worker *wk, int64_t now_ms, struct change *ch)
{
	if (wk->unregistered)
		return -ESRCH;
	wk->w.last_seen = now_ms;
	if (!wk->w.online && wk->w.reason == REGISTRY_TIMED_OUT)
		set_online(wk, 1, REGISTRY_HEARD, ch);
	return 0;
}

int
registry_heartbeat(struct registry *r, const char *id,
    const struct registry_beat *beat, int64_t now_ms, enum registry_command *cmd)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	int rc;

	*cmd = REGISTRY_CMD_NONE;
	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->workers_lock);
		return -ENOENT;
	}
	if ((rc = heard(wk, now_ms, &ch)) == 0) {
		wk->w.reported = *beat;
		if (wk->w.online)
			wk->w.hashrate = beat->hashrate;
		*cmd = wk->pending;
		wk->pending = REGISTRY_CMD_NONE;
	}
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return rc;
}

int
registry_stream_open(struct registry *r, const char *id, int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;
	int rc;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->workers_lock);
		return -ENOENT;
	}
	if ((rc = heard(wk, now_ms, &ch)) == 0) {
		wk->w.streams++;
		wk->w.connected_at = now_ms;
		set_online(wk, 1, REGISTRY_HEARD, &ch);
	}
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
	return rc;
}

void
registry_stream_close(struct registry *r, const char *id, int64_t now_ms)
{
	struct change ch = { .id = "" };
	struct worker *wk;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL && wk->w.streams > 0) {
		if (--wk->w.streams == 0)
			set_online(wk, 0, REGISTRY_STREAM_CLOSED, &ch);
	}
	pthread_mutex_unlock(&r->workers_lock);
	report(r, &ch);
}

void
registry_record_share(struct registry *r, const char *id, int accepted,
    int is_block, int64_t now_ms)
{
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
	}
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
registry_set_command(struct registry *r, const char *id, enum registry_command cmd)
{
	struct worker *wk;
	int rc = -ENOENT;

	pthread_mutex_lock(&r->workers_lock);
	if ((wk = find(r, id)) != NULL) {
		wk->pending = cmd;
		rc = 0;
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
			set_online(wk, 0, REGISTRY_TIMED_OUT, NULL);
			continue;
		}
		chs = nc;
		set_online(wk, 0, REGISTRY_TIMED_OUT, &chs[nch++]);
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
		*out = wk->w;
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

	pthread_mutex_lock(&r->workers_lock);
	if ((all = malloc((r->n ? r->n : 1) * sizeof(*all))) == NULL) {
		pthread_mutex_unlock(&r->workers_lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n; i++)
		all[i] = r->workers[i].w;
	*n = r->n;
	pthread_mutex_unlock(&r->workers_lock);
	qsort(all, *n, sizeof(*all), by_id);
	*out = all;
	return 0;
}

void
registry_totals(struct registry *r, struct registry_totals *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->workers_lock);
	for (size_t i = 0; i < r->n; i++) {
		if (r->workers[i].w.online) {
			out->workers_online++;
			out->total_hashrate += r->workers[i].w.hashrate;
		}
	}
	out->workers_total = (int)r->n;
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
	size_t len = id != NULL ? strlen(id) : 0;
	int rc;

	if (len == 0 || len >= REGISTRY_ID_MAX)
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
	wk->w.online = 0;
	wk->w.status = status_name(0);
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
