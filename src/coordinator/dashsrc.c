/*
 * dashsrc.c: answers the dashboard's questions from the coordinator's
 * modules.  Counters come from memory (restored from the ledger at start,
 * so they continue across restarts); lists come from the ledger through one
 * read connection, used by one thread at a time (reader_lock).
 */
#include "config.h"

#include <limits.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "coordinator/dash_money.h"
#include "coordinator/dashsrc.h"

struct series {
	char id[DASH_ID_MAX];		/* "" for the cluster total */
	struct dash_point pts[DASH_HISTORY_MAX];
	size_t n, head;			/* ring: head is the next slot */
};

struct dashsrc {
	struct dashsrc_parts p;
	struct dash_source src;
	int64_t started_ms;

	pthread_mutex_t reader_lock;	/* guards reader */
	struct ledger_reader *reader;
	struct dash_money *money;	/* its own connections */

	pthread_mutex_t hist_lock;	/* guards series[] */
	struct series *series;
	size_t nseries;
};

/* Bounded copy that truncates silently: display strings only. */
static void
copy(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src != NULL && i + 1 < len && src[i] != '\0'; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* The one upstream as a session (no core to ask: tests). */
static void
session_fill(struct dashsrc *d, struct dash_stats *out)
{
	struct upstream_stats us;
	struct jobs_stats js;
	struct dash_session *se = &out->sessions[0];

	if (d->p.up == NULL)
		return;
	upstream_get_stats(d->p.up, &us);
	if (d->p.jobs != NULL)
		jobs_get_stats(d->p.jobs, &js);
	copy(se->url, sizeof(se->url), d->p.pool_url);
	dashsrc_session_from(se, 0, &us, d->p.jobs != NULL ? &js : NULL);
	out->nsessions = 1;
}

void
dashsrc_session_from(struct dash_session *se, unsigned idx,
    const struct upstream_stats *us, const struct jobs_stats *js)
{
	se->index = idx;
	se->connected = us->state == UPSTREAM_CONNECTED;
	se->since = us->connected_since_ms;
	se->difficulty = us->difficulty;
	se->jobs = us->jobs;
	se->submitted = us->submitted;
	se->accepted = us->accepted;
	se->rejected = us->rejected;
	se->stale = us->stale;
	se->lost = us->lost;
	se->switches = us->switches;
	se->reconnects = us->reconnects;
	se->latency_ms = us->last_latency_ms > 0 ? (double)us->last_latency_ms : 0;
	copy(se->upstream_job, sizeof(se->upstream_job), us->job_id);
	copy(se->last_error, sizeof(se->last_error), us->last_error);
	se->last_error_at = us->last_error_at;
	if (js != NULL && idx < JOBS_SOURCES_MAX) {
		copy(se->job_id, sizeof(se->job_id), js->current[idx].job_id);
		se->nonce_space = js->current[idx].space;
		se->nonces_left = js->current[idx].left;
	}
}

/* Free and total bytes of the filesystem that holds the ledger (a disk
 * that fills stops the ledger, so /metrics shows it). */
static void
disk_fill(const char *ledger_path, struct dash_stats *out)
{
	char dir[PATH_MAX];
	const char *slash;
	struct statvfs vfs;

	if (ledger_path == NULL)
		return;
	slash = strrchr(ledger_path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == ledger_path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - ledger_path),
		    ledger_path);
	if (statvfs(dir, &vfs) != 0)
		return;
	out->ledger_disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	out->ledger_disk_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
}

static int
src_stats(void *ctx, struct dash_stats *out)
{
	struct dashsrc *d = ctx;
	struct registry_totals rt;
	struct shares_stats ss;
	struct upstream_stats us;
	struct ledger_stats ls;

	memset(out, 0, sizeof(*out));
	registry_totals(d->p.reg, &rt);
	shares_get_stats(d->p.shares, &ss);
	upstream_get_stats(d->p.up, &us);
	ledger_stats_get(d->p.ledger, &ls);
	copy(out->cluster_id, sizeof(out->cluster_id), d->p.cluster_id);
	copy(out->cluster_name, sizeof(out->cluster_name), d->p.cluster_name);
	out->workers_online = rt.workers_online;
	out->workers_total = rt.workers_total;
	out->total_hashrate = rt.total_hashrate;
	out->shares_valid = ss.valid;
	out->shares_invalid = ss.invalid;
	out->blocks_found = ss.blocks;
	out->uptime_ms = clock_wall_ms() - d->started_ms;
	out->last_block_time = ss.last_block_at;
	out->avg_block_time = rt.avg_block_time;
	for (int r = 1; r < LEDGER_REASON_COUNT && out->nrejections <
	    DASH_REJECT_REASONS; r++) {
		if (ss.by_reason[r] == 0)
			continue;
		copy(out->rejections[out->nrejections].reason, DASH_REASON_MAX,
		    ledger_reason_name((enum ledger_reason)r));
		out->rejections[out->nrejections++].count = ss.by_reason[r];
	}
	copy(out->pool_url, sizeof(out->pool_url), d->p.pool_url);
	out->pool_connected = us.state == UPSTREAM_CONNECTED;
	out->pool_latency_ms = us.last_latency_ms > 0 ? (double)us.last_latency_ms : 0;
	out->pool_switches = us.switches;
	if (us.node) {
		int64_t now = clock_wall_ms();
		out->node = 1;
		out->node_height = us.node_height;
		out->node_tip_age_ms = us.node_tip_time_ms > 0 ?
		    now - us.node_tip_time_ms : -1;
		out->node_template_age_ms = us.node_template_ms > 0 ?
		    now - us.node_template_ms : -1;
		out->node_connections = us.node_connections;
		out->node_ibd = us.node_ibd;
		copy(out->node_wait, sizeof(out->node_wait), us.node_wait);
	}
	out->verify_queue_depth = ss.verify.queue_depth;
	out->verify_latency_ms = ss.verify.latency_p50_ms;
	out->ledger_writable = ls.writable;
	out->pool_index = us.pool_index;
	disk_fill(d->p.ledger_path, out);
	out->ledger_commit_ms = ls.commits > 0 ?
	    ls.commit_seconds_sum * 1000.0 / (double)ls.commits : 0;
	out->workers_peak = rt.workers_peak;
	out->hashrate_60s = rt.hashrate_60s;
	out->hashrate_15m = rt.hashrate_15m;
	for (int w = 0; w < DASH_EFF_WINDOWS && w < REGISTRY_EFF_WINDOWS; w++)
		out->effective[w] = rt.effective[w];
	out->outbox = ss.outbox;
	out->outbox_oldest_at = ss.outbox_oldest_at;
	out->upstream_accepted = ss.upstream_accepted;
	out->upstream_rejected = ss.upstream_rejected;
	out->verify_latency_p99_ms = ss.verify.latency_p99_ms;
	out->ledger_commits = ls.commits;
	out->ledger_commit_sum_s = ls.commit_seconds_sum;
	out->ledger_queued = ls.queued;
	for (int i = 0; i < DASH_LATENCY_BUCKETS && i < LEDGER_LATENCY_BUCKETS;
	    i++) {
		out->ledger_commit_bucket[i] = ls.commit_bucket[i];
		out->ledger_commit_bound[i] = ledger_latency_bounds[i];
	}
	if (d->p.jobs != NULL) {
		struct jobs_stats js;
		jobs_get_stats(d->p.jobs, &js);
		out->fanouts = js.fanouts;
		out->fanout_sum_s = js.fanout_seconds_sum;
		out->fanout_last_workers = js.fanout_last_workers;
		for (int i = 0; i < DASH_LATENCY_BUCKETS &&
		    i < JOBS_FANOUT_BUCKETS; i++) {
			out->fanout_bucket[i] = js.fanout_bucket[i];
			out->fanout_bound[i] = jobs_fanout_bounds[i];
		}
	}
	if (d->p.sessions != NULL)
		d->p.sessions(d->p.sessions_arg, out->sessions, &out->nsessions);
	else
		session_fill(d, out);
	return 0;
}

static void
worker_fill(struct dashsrc *d, const struct registry_worker *rw,
    struct dash_worker *out)
{
	uint64_t diff, lid, ls, le, done;

	memset(out, 0, sizeof(*out));
	copy(out->id, sizeof(out->id), rw->id);
	copy(out->name, sizeof(out->name), rw->name);
	copy(out->status, sizeof(out->status),
	    rw->denied == REGISTRY_QUARANTINED ? "quarantined" :
	    rw->denied == REGISTRY_REVOKED ? "revoked" : !rw->online ? "offline" :
	    rw->paused ? "paused" : "online");
	out->quarantined = rw->denied == REGISTRY_QUARANTINED;
	out->revoked = rw->denied == REGISTRY_REVOKED;
	copy(out->deny_reason, sizeof(out->deny_reason), rw->deny_reason);
	out->hashrate = rw->hashrate;
	out->shares_valid = rw->shares_valid;
	out->shares_invalid = rw->shares_invalid;
	out->last_seen = rw->last_seen;
	out->connected_at = rw->connected_at;
	out->threads = rw->threads;
	copy(out->job_id, sizeof(out->job_id), rw->current_job_id);
	if (jobs_worker_info(d->p.jobs, rw->id, &diff, &lid, &ls, &le,
	    &done) == 0) {
		out->difficulty = diff;
		if (rw->online && le > ls) {
			out->lease_size = le - ls;
			out->lease_done = done;
		}
	}
	if (out->difficulty == 0)
		out->difficulty = rw->last_difficulty;
	out->hashrate_60s = rw->online ? rw->reported.hashrate_60s : 0;
	out->hashrate_15m = rw->online ? rw->reported.hashrate_15m : 0;
	copy(out->version, sizeof(out->version), rw->version);
	copy(out->os, sizeof(out->os), rw->os);
	copy(out->arch, sizeof(out->arch), rw->arch);
	copy(out->rx_mode, sizeof(out->rx_mode), rw->reported.rx_mode);
	copy(out->huge_pages, sizeof(out->huge_pages), rw->reported.huge_pages);
	out->huge_pages_used = rw->reported.huge_pages_used;
	out->threads_running = (int)rw->reported.threads_running;
	out->cpu_usage = rw->reported.cpu_usage;
	out->uptime_ms = rw->reported.uptime_ms;
	copy(out->addr, sizeof(out->addr), rw->addr);
	out->last_share_at = rw->last_share_at;
	out->registered_at = rw->registered_at;
	for (int w = 0; w < DASH_EFF_WINDOWS && w < REGISTRY_EFF_WINDOWS; w++)
		out->effective[w] = rw->effective[w];
	out->accepted = rw->by_reason[LEDGER_REASON_OK];
	out->credited = rw->credited_difficulty;
	out->streams = rw->streams;
	for (int r = 1; r < LEDGER_REASON_COUNT && r < REGISTRY_REASONS &&
	    out->nrejections < DASH_REJECT_REASONS; r++) {
		if (rw->by_reason[r] == 0)
			continue;
		copy(out->rejections[out->nrejections].reason, DASH_REASON_MAX,
		    ledger_reason_name((enum ledger_reason)r));
		out->rejections[out->nrejections++].count = rw->by_reason[r];
	}
}

static int
by_registration(const void *a, const void *b)
{
	const struct registry_worker *x = a, *y = b;

	if (x->registered_at != y->registered_at)
		return x->registered_at < y->registered_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
src_workers(void *ctx, struct dash_worker *out, size_t max)
{
	struct dashsrc *d = ctx;
	struct registry_worker *all;
	size_t n;

	if (registry_list(d->p.reg, &all, &n) != 0)
		return -ENOMEM;
	qsort(all, n, sizeof(*all), by_registration);
	for (size_t i = 0; i < n && i < max; i++)
		worker_fill(d, &all[i], &out[i]);
	free(all);
	return (int)n;
}

static int
src_worker(void *ctx, const char *id, struct dash_worker *out)
{
	struct dashsrc *d = ctx;
	struct registry_worker rw;

	if (registry_get(d->p.reg, id, &rw) != 0)
		return -ENOENT;
	worker_fill(d, &rw, out);
	return 0;
}

static struct series *
series_find(struct dashsrc *d, const char *id)
{
	for (size_t i = 0; i < d->nseries; i++)
		if (strcmp(d->series[i].id, id) == 0)
			return &d->series[i];
	return NULL;
}

static void
series_add(struct dashsrc *d, const char *id, int64_t t, double h)
{
	struct series *s = series_find(d, id);

	if (s == NULL) {
		struct series *n = realloc(d->series, (d->nseries + 1) * sizeof(*n));
		if (n == NULL)
			return;
		d->series = n;
		s = &d->series[d->nseries++];
		memset(s, 0, sizeof(*s));
		copy(s->id, sizeof(s->id), id);
	}
	s->pts[s->head] = (struct dash_point){ t, h };
	s->head = (s->head + 1) % DASH_HISTORY_MAX;
	if (s->n < DASH_HISTORY_MAX)
		s->n++;
}

void
dashsrc_sample(struct dashsrc *d, int64_t now_ms)
{
	struct registry_worker *all;
	size_t n;
	double total = 0;

	if (registry_list(d->p.reg, &all, &n) != 0)
		return;
	pthread_mutex_lock(&d->hist_lock);
	for (size_t i = 0; i < n; i++) {
		double h = all[i].online ? all[i].hashrate : 0;
		total += h;
		/* Workers that never mined while we watched take no memory. */
		if (h > 0 || series_find(d, all[i].id) != NULL)
			series_add(d, all[i].id, now_ms, h);
	}
	series_add(d, "", now_ms, total);
	pthread_mutex_unlock(&d->hist_lock);
	free(all);
}

static int
src_history(void *ctx, const char *id, struct dash_point *out, size_t max)
{
	struct dashsrc *d = ctx;
	struct series *s;
	size_t n = 0;
	int rc;

	pthread_mutex_lock(&d->hist_lock);
	s = series_find(d, id != NULL ? id : "");
	if (s == NULL) {
		rc = id == NULL ? 0 : -ENOENT;
		if (rc == -ENOENT && registry_get(d->p.reg, id,
		    &(struct registry_worker){ 0 }) == 0)
			rc = 0;	/* a known worker with no samples yet */
		pthread_mutex_unlock(&d->hist_lock);
		return rc;
	}
	for (size_t i = 0; i < s->n && n < max; i++) {
		size_t k = (s->head + DASH_HISTORY_MAX - s->n + i) % DASH_HISTORY_MAX;
		out[n++] = s->pts[k];
	}
	pthread_mutex_unlock(&d->hist_lock);
	return (int)n;
}

struct hours_q {
	const char *id;
	int64_t since;
	struct dash_hour *out;
	size_t max;
	int rc;
};

/* Folds the ledger's (worker, hour, reason) rows into hours. */
static json_t *
read_hours(struct ledger_reader *r, void *arg)
{
	struct hours_q *q = arg;
	struct ledger_history_row *h;
	size_t n, k = 0;

	if ((q->rc = ledger_worker_history(r, q->id, q->since, &h, &n)) != 0)
		return NULL;
	/* rows come by worker then hour: the cluster's need merging */
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < k && q->out[j].t != h[i].hour; j++)
			;
		if (j == k) {
			if (k == q->max)
				continue;
			memset(&q->out[k], 0, sizeof(q->out[k]));
			q->out[k++].t = h[i].hour;
		}
		if (h[i].reason == LEDGER_REASON_OK) {
			q->out[j].accepted += h[i].shares;
			q->out[j].difficulty += h[i].difficulty;
		} else {
			q->out[j].rejected += h[i].shares;
		}
	}
	free(h);
	q->rc = (int)k;
	return NULL;
}

static int
by_hour(const void *a, const void *b)
{
	const struct dash_hour *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static json_t *with_reader(struct dashsrc *d,
    json_t *(*fn)(struct ledger_reader *, void *), void *arg);

static int
src_hours(void *ctx, const char *id, int64_t since_ms, struct dash_hour *out,
    size_t max)
{
	struct dashsrc *d = ctx;
	struct hours_q q = { id, since_ms, out, max, -EIO };

	if (id != NULL && registry_get(d->p.reg, id,
	    &(struct registry_worker){ 0 }) != 0)
		return -ENOENT;
	with_reader(d, read_hours, &q);
	if (q.rc > 0)
		qsort(out, (size_t)q.rc, sizeof(*out), by_hour);
	return q.rc;
}

/* Runs fn on the shared reader, opening it on first use. */
static json_t *
with_reader(struct dashsrc *d, json_t *(*fn)(struct ledger_reader *, void *),
    void *arg)
{
	json_t *res = NULL;
	char err[256];

	pthread_mutex_lock(&d->reader_lock);
	if (d->reader == NULL &&
	    (d->reader = ledger_reader_open(d->p.ledger_path, err, sizeof(err))) == NULL)
		log_warnx("dashboard: cannot read the ledger: %s", err);
	if (d->reader != NULL)
		res = fn(d->reader, arg);
	pthread_mutex_unlock(&d->reader_lock);
	return res;
}

struct page { size_t limit, offset; int64_t block; int err; };

static void
job_hex(char out[17], int64_t id)
{
	snprintf(out, 17, "%016" PRIx64, (uint64_t)id);
}

static json_t *
read_jobs(struct ledger_reader *r, void *arg)
{
	struct page *pg = arg;
	struct ledger_job_row *rows;
	json_t *out;
	size_t n, i;

	if (ledger_read_jobs(r, (int)pg->limit, (int)pg->offset, &rows, &n) != 0)
		return NULL;
	out = json_array();
	for (i = 0; i < n; i++) {
		char id[17];

		job_hex(id, rows[i].id);
		json_array_append_new(out, json_pack("{s:s, s:I, s:f, s:s, s:I, "
		    "s:b, s:s, s:I}", "job_id", id, "height",
		    (json_int_t)rows[i].height, "difficulty",
		    (double)rows[i].difficulty, "algo", "rx/0", "created_at",
		    (json_int_t)rows[i].received_at, "clean", rows[i].clean,
		    "upstream", rows[i].upstream_job_id, "shares_valid",
		    (json_int_t)rows[i].shares_valid));
	}
	free(rows);
	return out;
}

json_t *
dashsrc_share_json(const char *worker_id, const char *job_id,
    enum ledger_reason reason, uint64_t difficulty, int is_block, int64_t at)
{
	return json_pack("{s:s, s:s, s:f, s:s, s:s, s:b, s:I}", "worker_id",
	    worker_id, "job_id", job_id, "difficulty", (double)difficulty,
	    "status", reason == LEDGER_REASON_OK ? "valid" : "invalid",
	    "reason", reason == LEDGER_REASON_OK ? "" : ledger_reason_name(reason),
	    "is_block", is_block, "time", (json_int_t)at);
}

static json_t *
read_shares(struct ledger_reader *r, void *arg)
{
	struct page *pg = arg;
	struct ledger_share_row *rows;
	json_t *out, *o;
	size_t n, i;

	if (ledger_read_shares(r, 0, NULL, (int)pg->limit, (int)pg->offset,
	    &rows, &n) != 0)
		return NULL;
	out = json_array();
	for (i = 0; i < n; i++) {
		char id[17];

		job_hex(id, rows[i].job_id);
		o = dashsrc_share_json(rows[i].worker_id, rows[i].job_id ? id : "",
		    rows[i].reason, rows[i].difficulty, rows[i].block_candidate,
		    rows[i].created_at);
		json_object_set_new(o, "share_id", json_integer(rows[i].id));
		json_object_set_new(o, "upstream",
		    json_string(ledger_fate_name(rows[i].upstream)));
		json_array_append_new(out, o);
	}
	free(rows);
	return out;
}

static json_t *
read_blocks(struct ledger_reader *r, void *arg)
{
	struct page *pg = arg;
	struct ledger_block_row *rows;
	char hash[65];
	json_t *out;
	size_t n, i;

	if (ledger_read_blocks(r, (int)pg->limit, (int)pg->offset, &rows,
	    &n) != 0)
		return NULL;
	out = json_array();
	for (i = 0; i < n; i++) {
		if (hex_encode(rows[i].hash, rows[i].hash_len, hash,
		    sizeof(hash)) != 0)
			hash[0] = '\0';
		json_array_append_new(out, json_pack("{s:I, s:I, s:s, s:o, s:s, "
		    "s:I, s:s, s:I}", "block_id", (json_int_t)rows[i].id, "height",
		    (json_int_t)rows[i].height, "hash", hash, "reward",
		    rows[i].has_reward ? json_integer((json_int_t)rows[i].reward) :
		    json_null(), "found_by", rows[i].worker_id, "time",
		    (json_int_t)rows[i].found_at, "status",
		    ledger_block_status_name(rows[i].status), "share_id",
		    (json_int_t)rows[i].share_id));
	}
	free(rows);
	return out;
}

static json_t *
read_payouts(struct ledger_reader *r, void *arg)
{
	struct page *pg = arg;
	struct ledger_block_info info;
	struct pplns_result res;
	uint64_t zero = 0;
	json_t *parts, *out;
	int rc = ledger_compute_payouts(r, pg->block, NULL, &info, &res);

	if (rc == -ENODATA)	/* reward unknown: show the split of the window */
		rc = ledger_compute_payouts(r, pg->block, &zero, &info, &res);
	if (rc != 0) {
		pg->err = rc;
		return NULL;
	}
	parts = json_array();
	for (size_t i = 0; i < res.nparts; i++)
		json_array_append_new(parts, json_pack("{s:s, s:f, s:I, s:I}",
		    "worker_id", res.parts[i].worker_id,
		    "difficulty", (double)res.parts[i].difficulty,
		    "amount", (json_int_t)res.parts[i].amount,
		    "shares", (json_int_t)res.parts[i].shares));
	out = json_pack("{s:I, s:I, s:o, s:I, s:I, s:I, s:s, s:o}",
	    "block_id", (json_int_t)info.id, "height", (json_int_t)info.height,
	    "reward", info.has_reward ? json_integer((json_int_t)info.reward) :
	    json_null(), "fee", (json_int_t)res.fee,
	    "window_n", (json_int_t)res.window_n,
	    "window_difficulty", (json_int_t)res.window_difficulty,
	    "status", ledger_block_status_name(info.status), "parts", parts);
	pplns_result_free(&res);
	return out;
}

/* One page of a ledger list through the shared reader. */
static json_t *
paged(struct dashsrc *d, json_t *(*fn)(struct ledger_reader *, void *),
    size_t limit, size_t offset)
{
	struct page pg = { limit, offset, 0, 0 };

	return with_reader(d, fn, &pg);
}

/* The totals come from memory (restored from the ledger at start), so a
 * page costs one query. */
static json_t *
src_jobs(void *ctx, size_t limit, size_t offset, size_t *total)
{
	struct dashsrc *d = ctx;
	struct jobs_stats st;

	jobs_get_stats(d->p.jobs, &st);
	*total = (size_t)st.current_seq;
	return paged(d, read_jobs, limit, offset);
}

static json_t *
src_shares(void *ctx, size_t limit, size_t offset, size_t *total)
{
	struct dashsrc *d = ctx;
	struct shares_stats st;

	shares_get_stats(d->p.shares, &st);
	*total = (size_t)(st.valid + st.invalid);
	return paged(d, read_shares, limit, offset);
}

static json_t *
src_blocks(void *ctx, size_t limit, size_t offset, size_t *total)
{
	struct dashsrc *d = ctx;
	struct shares_stats st;

	shares_get_stats(d->p.shares, &st);
	*total = (size_t)st.blocks;
	return paged(d, read_blocks, limit, offset);
}

static json_t *
src_payouts(void *ctx, int64_t block_id, int *err)
{
	struct dashsrc *d = ctx;
	struct page pg = { 0, 0, block_id, 0 };
	json_t *res = with_reader(d, read_payouts, &pg);

	*err = res == NULL ? (pg.err != 0 ? pg.err : -EIO) : 0;
	return res;
}

/* Revocations and quarantine lifts are ledger rows (they survive a
 * restart, and coopmine-cli writes the same rows). */
static int
access_change(struct dashsrc *d, const char *id, enum registry_deny state,
    const char *reason)
{
	int64_t now = clock_wall_ms();
	int rc;

	if ((rc = registry_set_access(d->p.reg, id, state, reason, now)) != 0)
		return rc;
	ledger_worker_access(d->p.ledger, id, state == REGISTRY_REVOKED ?
	    LEDGER_ACCESS_REVOKE : state == REGISTRY_QUARANTINED ?
	    LEDGER_ACCESS_QUARANTINE : LEDGER_ACCESS_ALLOW, reason, now);
	return 0;
}

static int
src_command(void *ctx, const char *id, enum dash_cmd cmd)
{
	struct dashsrc *d = ctx;
	struct registry_worker rw;
	int known = registry_get(d->p.reg, id, &rw) == 0;

	switch (cmd) {
	case DASH_CMD_PAUSE:
		return registry_pause(d->p.reg, id, 1);
	case DASH_CMD_RESUME:
		return registry_pause(d->p.reg, id, 0);
	case DASH_CMD_KICK:
		if (known && rw.online)
			log_info("dashboard: kicking worker %s (told to shut down)",
			    id);
		return registry_kick(d->p.reg, id);
	case DASH_CMD_RELEASE:
		if (!known)
			return -ENOENT;
		if (rw.denied != REGISTRY_QUARANTINED)
			return -EALREADY;
		return access_change(d, id, REGISTRY_ALLOWED,
		    "quarantine lifted from the dashboard");
	case DASH_CMD_REVOKE:
		if (known && rw.denied == REGISTRY_REVOKED)
			return -EALREADY;
		return access_change(d, id, REGISTRY_REVOKED,
		    "revoked from the dashboard");
	case DASH_CMD_UNREVOKE:
		if (!known || rw.denied != REGISTRY_REVOKED)
			return known ? -EALREADY : -ENOENT;
		return access_change(d, id, REGISTRY_ALLOWED,
		    "revocation lifted from the dashboard");
	}
	return -EINVAL;
}

struct dashsrc *
dashsrc_new(const struct dashsrc_parts *p)
{
	struct dashsrc *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->p = *p;
	d->started_ms = clock_wall_ms();
	pthread_mutex_init(&d->reader_lock, NULL);
	pthread_mutex_init(&d->hist_lock, NULL);
	d->src = (struct dash_source){ .ctx = d, .stats = src_stats,
		.workers = src_workers, .worker = src_worker,
		.history = src_history, .hours = src_hours, .jobs = src_jobs,
		.shares = src_shares,
		.blocks = src_blocks, .payouts = src_payouts,
		.command = src_command };
	if ((d->money = dash_money_new(p->ledger_path, &p->money)) == NULL) {
		dashsrc_free(d);
		return NULL;
	}
	dash_money_attach(d->money, &d->src);
	return d;
}

const struct dash_source *
dashsrc_source(struct dashsrc *d)
{
	return &d->src;
}

void
dashsrc_free(struct dashsrc *d)
{
	if (d == NULL)
		return;
	ledger_reader_close(d->reader);
	dash_money_free(d->money);
	free(d->series);
	pthread_mutex_destroy(&d->reader_lock);
	pthread_mutex_destroy(&d->hist_lock);
	free(d);
}
