/*
 * dash_json.c: turns the coordinator's dash_source snapshots into the JSON
 * that the REST API and the live feed send.  Called by http.c and live.c.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "coordinator/dash_json.h"

/* JSON has no NaN or infinity (jansson refuses them): a gauge that has
 * no value yet shows 0. */
static double
num(double v)
{
	return isfinite(v) ? v : 0.0;
}

void
dash_url_redact(const char *in, char *out, size_t outlen)
{
	const char *host, *at, *slash;

	if (outlen == 0)
		return;
	host = strstr(in, "://");
	host = host ? host + 3 : in;
	slash = strchr(host, '/');
	at = strchr(host, '@');
	if (at && (!slash || at < slash))
		snprintf(out, outlen, "%.*s%s", (int)(host - in), in, at + 1);
	else
		snprintf(out, outlen, "%s", in);
}

const int dash_eff_seconds[DASH_EFF_WINDOWS] = { 60, 600, 3600, 43200, 86400 };
const char *const dash_eff_names[DASH_EFF_WINDOWS] = { "1m", "10m", "1h", "12h",
	"24h" };

/* {"1m": H/s, ..., "24h": H/s} */
static json_t *
effective_json(const double eff[DASH_EFF_WINDOWS])
{
	json_t *o = json_object();

	for (int i = 0; i < DASH_EFF_WINDOWS; i++)
		json_object_set_new(o, dash_eff_names[i], json_real(num(eff[i])));
	return o;
}

static json_t *
reported_json(double h10, double h60, double h15m)
{
	return json_pack("{s:f, s:f, s:f}", "10s", num(h10), "60s", num(h60),
	    "15m", num(h15m));
}

json_t *
dash_json_session(const struct dash_session *se)
{
	char url[DASH_URL_MAX];
	double used = se->nonce_space > 0 ? 100.0 * (double)(se->nonce_space -
	    se->nonces_left) / (double)se->nonce_space : 0;

	dash_url_redact(se->url, url, sizeof(url));
	return json_pack("{s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:f, s:s, s:s, s:I, s:I, s:f, s:s, s:I}",
	    "index", (int)se->index,
	    "url", url,
	    "connected", se->connected,
	    "since", (json_int_t)se->since,
	    "difficulty", (json_int_t)se->difficulty,
	    "jobs", (json_int_t)se->jobs,
	    "submitted", (json_int_t)se->submitted,
	    "accepted", (json_int_t)se->accepted,
	    "rejected", (json_int_t)se->rejected,
	    "stale", (json_int_t)se->stale,
	    "lost", (json_int_t)se->lost,
	    "switches", (json_int_t)se->switches,
	    "reconnects", (json_int_t)se->reconnects,
	    "latency_ms", num(se->latency_ms),
	    "upstream_job", se->upstream_job,
	    "job_id", se->job_id,
	    "nonce_space", (json_int_t)se->nonce_space,
	    "nonces_left", (json_int_t)se->nonces_left,
	    "nonce_used_pct", num(used),
	    "last_error", se->last_error,
	    "last_error_at", (json_int_t)se->last_error_at);
}

/* What this change adds to /api/stats (and the live snapshot). */
static void
stats_more(const struct dash_stats *st, json_t *o)
{
	json_t *ss = json_array(), *b = json_array(), *cn = json_array(), *x;
	int64_t now = clock_wall_ms();

	json_object_set_new(o, "hashrate", reported_json(st->total_hashrate,
	    st->hashrate_60s, st->hashrate_15m));
	json_object_set_new(o, "effective_hashrate",
	    effective_json(st->effective));
	for (size_t i = 0; i < st->nsessions && i < DASH_SESSIONS_MAX; i++)
		json_array_append_new(ss, dash_json_session(&st->sessions[i]));
	json_object_set_new(o, "sessions", ss);
	json_object_set_new(o, "outbox", json_pack("{s:I, s:I}", "depth",
	    (json_int_t)st->outbox, "oldest_age_ms", (json_int_t)(
	    st->outbox_oldest_at > 0 && now > st->outbox_oldest_at ?
	    now - st->outbox_oldest_at : 0)));
	if ((x = json_object_get(o, "pool")) != NULL) {
		json_object_set_new(x, "accepted",
		    json_integer((json_int_t)st->upstream_accepted));
		json_object_set_new(x, "rejected",
		    json_integer((json_int_t)st->upstream_rejected));
		json_object_set_new(x, "failovers",
		    json_integer((json_int_t)st->pool_switches));
		json_object_set_new(x, "sessions",
		    json_integer((json_int_t)st->nsessions));
	}
	if ((x = json_object_get(o, "verification")) != NULL)
		json_object_set_new(x, "latency_p99_ms",
		    json_real(num(st->verify_latency_p99_ms)));
	for (int i = 0; i < DASH_LATENCY_BUCKETS; i++) {
		json_array_append_new(b, json_real(st->ledger_commit_bound[i]));
		json_array_append_new(cn,
		    json_integer((json_int_t)st->ledger_commit_bucket[i]));
	}
	if ((x = json_object_get(o, "ledger")) != NULL) {
		json_object_set_new(x, "queued",
		    json_integer((json_int_t)st->ledger_queued));
		json_object_set_new(x, "commit_histogram", json_pack("{s:o, s:o,"
		    " s:I, s:f}", "le_seconds", b, "counts", cn, "count",
		    (json_int_t)st->ledger_commits, "sum_seconds",
		    num(st->ledger_commit_sum_s)));
	} else {
		json_decref(b);
		json_decref(cn);
	}
}

json_t *
dash_json_stats(const struct dash_stats *st)
{
	char url[DASH_URL_MAX];
	json_t *rej, *o;
	size_t i;

	rej = json_object();
	for (i = 0; i < st->nrejections && i < DASH_REJECT_REASONS; i++)
		json_object_set_new(rej, st->rejections[i].reason,
		    json_integer((json_int_t)st->rejections[i].count));
	dash_url_redact(st->pool_url, url, sizeof(url));
	o = json_pack("{s:s, s:s, s:i, s:i, s:f, s:I, s:I, s:I, s:I, s:I,"
	    " s:f, s:o, s:{s:s, s:b, s:f, s:I}, s:{s:I, s:f}, s:{s:b, s:f},"
	    " s:I}",
	    "cluster_id", st->cluster_id,
	    "cluster_name", st->cluster_name,
	    "workers_online", st->workers_online,
	    "workers_total", st->workers_total,
	    "total_hashrate", num(st->total_hashrate),
	    "shares_valid", (json_int_t)st->shares_valid,
	    "shares_invalid", (json_int_t)st->shares_invalid,
	    "blocks_found", (json_int_t)st->blocks_found,
	    "uptime_ms", (json_int_t)st->uptime_ms,
	    "last_block_time", (json_int_t)st->last_block_time,
	    "avg_block_time", num(st->avg_block_time),
	    "rejections", rej,
	    "pool",
	    "url", url,
	    "connected", st->pool_connected,
	    "latency_ms", num(st->pool_latency_ms),
	    "switches", (json_int_t)st->pool_switches,
	    "verification",
	    "queue_depth", (json_int_t)st->verify_queue_depth,
	    "latency_ms", num(st->verify_latency_ms),
	    "ledger",
	    "writable", st->ledger_writable,
	    "commit_latency_ms", num(st->ledger_commit_ms),
	    "time", (json_int_t)clock_wall_ms());
	if (o != NULL)
		stats_more(st, o);
	if (o != NULL && st->node)
		json_object_set_new(json_object_get(o, "pool"), "node",
		    dash_json_node(st));
	return o;
}

json_t *
dash_json_node(const struct dash_stats *st)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:b, s:s}",
	    "height", (json_int_t)st->node_height,
	    "tip_age_s", st->node_tip_age_ms >= 0 ?
	    json_real((double)st->node_tip_age_ms / 1000.0) : json_null(),
	    "template_age_s", st->node_template_age_ms >= 0 ?
	    json_real((double)st->node_template_age_ms / 1000.0) : json_null(),
	    "connections", st->node_connections >= 0 ?
	    json_integer((json_int_t)st->node_connections) : json_null(),
	    "ibd", st->node_ibd,
	    "waiting", st->node_wait);
}

/* What this change adds to a worker row. */
static void
worker_more(const struct dash_worker *w, json_t *o)
{
	json_t *rej = json_object(), *ver = json_object();

	for (size_t i = 0; i < w->nrejections && i < DASH_REJECT_REASONS; i++) {
		json_object_set_new(rej, w->rejections[i].reason,
		    json_integer((json_int_t)w->rejections[i].count));
		json_object_set_new(ver, w->rejections[i].reason,
		    json_integer((json_int_t)w->rejections[i].count));
	}
	json_object_set_new(ver, "accepted", json_integer((json_int_t)w->accepted));
	json_object_set_new(o, "rejections", rej);
	json_object_set_new(o, "verdicts", ver);
	json_object_set_new(o, "hashrate_reported", reported_json(w->hashrate,
	    w->hashrate_60s, w->hashrate_15m));
	json_object_set_new(o, "effective_hashrate", effective_json(w->effective));
	json_object_update_new(o, json_pack("{s:I, s:I, s:I, s:s, s:s, s:s,"
	    " s:s, s:s, s:s, s:I, s:i, s:f, s:I}",
	    "difficulty", (json_int_t)w->difficulty,
	    "last_share_at", (json_int_t)w->last_share_at,
	    "registered_at", (json_int_t)w->registered_at,
	    "address", w->addr,
	    "version", w->version,
	    "os", w->os,
	    "arch", w->arch,
	    "randomx_mode", w->rx_mode,
	    "huge_pages", w->huge_pages,
	    "huge_pages_used", (json_int_t)w->huge_pages_used,
	    "threads_running", w->threads_running,
	    "cpu_usage", num(w->cpu_usage),
	    "uptime_ms", (json_int_t)w->uptime_ms));
}

json_t *
dash_json_worker(const struct dash_worker *w)
{
	uint64_t all = w->shares_valid + w->shares_invalid;
	double rejected = all ? 100.0 * (double)w->shares_invalid / (double)all
	    : 0.0;
	double progress = w->lease_size ?
	    (double)w->lease_done / (double)w->lease_size : 0.0;
	json_t *o;

	if (progress > 1.0)
		progress = 1.0;
	o = json_pack("{s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:f, s:I, s:I,"
	    " s:i, s:s, s:{s:I, s:I, s:f}, s:b, s:b, s:s}",
	    "worker_id", w->id,
	    "worker_name", w->name,
	    "status", w->status,
	    "hashrate", num(w->hashrate),
	    "shares", (json_int_t)w->shares_valid,
	    "shares_valid", (json_int_t)w->shares_valid,
	    "shares_invalid", (json_int_t)w->shares_invalid,
	    "rejected_pct", num(rejected),
	    "last_seen", (json_int_t)w->last_seen,
	    "connected_at", (json_int_t)w->connected_at,
	    "threads", w->threads,
	    "job_id", w->job_id,
	    "lease",
	    "done", (json_int_t)w->lease_done,
	    "size", (json_int_t)w->lease_size,
	    "progress", num(progress),
	    "quarantined", w->quarantined,
	    "revoked", w->revoked,
	    "denied_reason", w->deny_reason);
	if (o != NULL)
		worker_more(w, o);
	return o;
}

json_t *
dash_json_history(const struct dash_point *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("[I, f]",
		    (json_int_t)p[i].t, num(p[i].hashrate)));
	return a;
}

int
dash_workers_fetch(const struct dash_source *src, struct dash_worker **out,
    size_t *n)
{
	struct dash_worker *w = NULL, *nw;
	size_t room = 64;
	int got, tries;

	*out = NULL;
	*n = 0;
	/* The registry may grow between the calls: retry a few times. */
	for (tries = 0; tries < 4; tries++) {
		if ((nw = realloc(w, room * sizeof(*w))) == NULL) {
			free(w);
			return -ENOMEM;
		}
		w = nw;
		got = src->workers(src->ctx, w, room);
		if (got < 0) {
			free(w);
			return got;
		}
		if ((size_t)got <= room) {
			*out = w;
			*n = (size_t)got;
			return 0;
		}
		room = (size_t)got + 16;
	}
	free(w);
	return -EAGAIN;
}

json_t *
dash_json_snapshot(const struct dash_source *src)
{
	struct dash_stats st;
	struct dash_worker *w;
	json_t *snap, *arr;
	size_t i, n;

	memset(&st, 0, sizeof(st));
	if (src->stats(src->ctx, &st) != 0)
		return NULL;
	if ((snap = dash_json_stats(&st)) == NULL)
		return NULL;
	if (dash_workers_fetch(src, &w, &n) != 0) {
		json_decref(snap);
		return NULL;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, dash_json_worker(&w[i]));
	free(w);
	json_object_set_new(snap, "workers", arr);
	return snap;
}

int
dash_listen_parse(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	long p;

	if (s == NULL || hostlen == 0)
		return -EINVAL;
	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -EINVAL;
		hl = (size_t)(colon - s);
		if (memchr(s, ':', hl) != NULL)
			return -EINVAL;	/* bare IPv6 needs brackets */
	}
	if (hl >= hostlen)
		return -EINVAL;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 ||
	    p > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}
