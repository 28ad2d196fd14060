/*
 * metrics.c: Prometheus text format 0.0.4 for /metrics.  The seed's names
 * come first and keep their spelling; the rest follows Prometheus naming
 * (base units: seconds, counters end in _total).  Called by http.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/dash_json.h"
#include "coordinator/metrics.h"

struct buf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *np;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		need = b->len + (size_t)n + 1;
		if (need < b->cap * 2)
			need = b->cap * 2;
		if ((np = realloc(b->p, need)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = need;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

int
metrics_escape_label(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	const char *rep;
	char one[2];

	if (outlen == 0)
		return -1;
	for (; *in; in++) {
		switch (*in) {
		case '\\': rep = "\\\\"; break;
		case '"': rep = "\\\""; break;
		case '\n': rep = "\\n"; break;
		default:
			one[0] = *in;
			one[1] = '\0';
			rep = one;
		}
		if (o + strlen(rep) >= outlen) {
			out[o] = '\0';
			return -1;
		}
		memcpy(out + o, rep, strlen(rep));
		o += strlen(rep);
	}
	out[o] = '\0';
	return 0;
}

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A histogram without labels: cumulative bucket counts under bounds (the
 * last bound, 1e300, is +Inf and comes from the count). */
static void
histogram(struct buf *b, const char *name, const char *help,
    const double bound[DASH_LATENCY_BUCKETS],
    const uint64_t bucket[DASH_LATENCY_BUCKETS], uint64_t count, double sum)
{
	head(b, name, "histogram", help);
	for (int i = 0; i < DASH_LATENCY_BUCKETS && bound[i] > 0 &&
	    bound[i] < 1e300; i++)
		buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bound[i],
		    (unsigned long long)bucket[i]);
	buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)count);
	buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, sum, name,
	    (unsigned long long)count);
}

/* A family of one sample without labels. */
static void
metric_int(struct buf *b, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	head(b, name, type, help);
	buf_printf(b, "%s %llu\n", name, v);
}

static void
metric_num(struct buf *b, const char *name, const char *type,
    const char *help, double v, int decimals)
{
	head(b, name, type, help);
	buf_printf(b, "%s %.*f\n", name, decimals, v);
}

static void
seed_metrics(struct buf *b, const struct dash_stats *st)
{
	/* Prometheus would type these three gauge/counter, but the seed's
	 * names end (or fail to end) in _total against its conventions, and
	 * promtool refuses that: they stay untyped under the seed's names. */
	metric_int(b, "coopmine_workers_total", "untyped",
	    "Total number of registered workers",
	    (unsigned long long)(st->workers_total));
	metric_int(b, "coopmine_workers_online", "gauge",
	    "Number of online workers",
	    (unsigned long long)(st->workers_online));
	metric_num(b, "coopmine_hashrate_total", "untyped",
	    "Total cluster hashrate in H/s", st->total_hashrate, 3);
	head(b, "coopmine_shares_total", "counter", "Total shares submitted");
	buf_printf(b, "coopmine_shares_total{status=\"valid\"} %llu\n",
	    (unsigned long long)st->shares_valid);
	buf_printf(b, "coopmine_shares_total{status=\"invalid\"} %llu\n",
	    (unsigned long long)st->shares_invalid);
	metric_int(b, "coopmine_blocks_found", "untyped", "Total blocks found",
	    (unsigned long long)(st->blocks_found));
	metric_int(b, "coopmine_blocks_found_total", "counter",
	    "Total blocks found (the same count, typed counter for rate())",
	    (unsigned long long)(st->blocks_found));
}

static void
cluster_metrics(struct buf *b, const struct dash_stats *st)
{
	char lv[2 * DASH_REASON_MAX + 1];
	size_t i;

	head(b, "coopmine_share_rejections_total", "counter",
	    "Rejected shares by reason");
	for (i = 0; i < st->nrejections && i < DASH_REJECT_REASONS; i++) {
		metrics_escape_label(st->rejections[i].reason, lv, sizeof(lv));
		buf_printf(b, "coopmine_share_rejections_total{reason=\"%s\"} "
		    "%llu\n", lv,
		    (unsigned long long)st->rejections[i].count);
	}
	metric_num(b, "coopmine_uptime_seconds", "gauge",
	    "Seconds since the coordinator started",
	    (double)st->uptime_ms / 1000.0, 3);
	metric_int(b, "coopmine_upstream_connected", "gauge",
	    "1 when the upstream pool connection is up",
	    (unsigned long long)(st->pool_connected ? 1 : 0));
	metric_num(b, "coopmine_upstream_latency_seconds", "gauge",
	    "Recent round-trip time to the upstream pool",
	    st->pool_latency_ms / 1000.0, 6);
	metric_int(b, "coopmine_upstream_switches_total", "counter",
	    "Times the coordinator switched or reconnected upstream",
	    (unsigned long long)(st->pool_switches));
	if (st->node) {
		head(b, "coopmine_node_height", "gauge",
		    "Height of the node's current block template");
		buf_printf(b, "coopmine_node_height %lld\n",
		    (long long)st->node_height);
		metric_num(b, "coopmine_node_tip_age_seconds", "gauge",
		    "Seconds since the node's tip block's time (-1: unknown)",
		    st->node_tip_age_ms >= 0 ?
		    (double)st->node_tip_age_ms / 1000.0 : -1.0,
		    3);
		metric_num(b, "coopmine_node_template_age_seconds", "gauge",
		    "Seconds since the current block template came (-1: none)",
		    st->node_template_age_ms >= 0 ?
		    (double)st->node_template_age_ms / 1000.0 : -1.0,
		    3);
		head(b, "coopmine_node_connections", "gauge",
		    "The node's peer connections (-1: unknown)");
		buf_printf(b, "coopmine_node_connections %lld\n",
		    (long long)st->node_connections);
		metric_int(b, "coopmine_node_ibd", "gauge",
		    "1 while the node is in initial block download",
		    (unsigned long long)(st->node_ibd ? 1 : 0));
	}
	metric_int(b, "coopmine_verify_queue_depth", "gauge",
	    "Shares waiting for verification",
	    (unsigned long long)(st->verify_queue_depth));
	metric_num(b, "coopmine_verify_latency_seconds", "gauge",
	    "Recent mean time from share arrival to verdict",
	    st->verify_latency_ms / 1000.0, 6);
	metric_int(b, "coopmine_ledger_writable", "gauge",
	    "1 when the ledger accepts writes",
	    (unsigned long long)(st->ledger_writable ? 1 : 0));
	metric_int(b, "coopmine_upstream_pool_index", "gauge",
	    "Pool of the failover list in use: 0 the primary, more a backup",
	    (unsigned long long)(st->pool_index));
	if (st->ledger_disk_size > 0) {
		metric_int(b, "coopmine_ledger_disk_free_bytes", "gauge",
		    "Bytes still free on the ledger's filesystem",
		    (unsigned long long)(st->ledger_disk_free));
		metric_int(b, "coopmine_ledger_disk_size_bytes", "gauge",
		    "Size of the ledger's filesystem",
		    (unsigned long long)(st->ledger_disk_size));
	}
	metric_num(b, "coopmine_ledger_commit_latency_seconds", "gauge",
	    "Recent mean ledger commit time", st->ledger_commit_ms / 1000.0, 6);
}

/* A worker keeps its series while online and for the retention after
 * it was last heard of; then they leave, so the number of series is
 * bounded by the workers of the last day, not of all time. */
static int
worker_kept(const struct dash_worker *w, int64_t now, int64_t retention_ms)
{
	int64_t seen = w->last_seen > w->last_share_at ? w->last_seen :
	    w->last_share_at;

	return strcmp(w->status, "offline") != 0 || seen >= now - retention_ms;
}

static const char *const window_names[3] = { "10s", "60s", "15m" };

static void
worker_rates(struct buf *b, const struct dash_worker *w, const char *id)
{
	double rep[3] = { w->hashrate, w->hashrate_60s, w->hashrate_15m };

	for (int k = 0; k < 3; k++)
		buf_printf(b, "coopmine_worker_hashrate_reported{worker=\"%s\","
		    "window=\"%s\"} %.3f\n", id, window_names[k], rep[k]);
}

static void
worker_effective(struct buf *b, const struct dash_worker *w, const char *id)
{
	for (int k = 0; k < DASH_EFF_WINDOWS; k++)
		buf_printf(b, "coopmine_worker_hashrate_effective{worker=\"%s\","
		    "window=\"%s\"} %.3f\n", id, dash_eff_names[k],
		    w->effective[k]);
}

static void
worker_rejections(struct buf *b, const struct dash_worker *w, const char *id)
{
	char lv[2 * DASH_REASON_MAX + 1];

	for (size_t k = 0; k < w->nrejections && k < DASH_REJECT_REASONS; k++) {
		metrics_escape_label(w->rejections[k].reason, lv, sizeof(lv));
		buf_printf(b, "coopmine_worker_rejections_total{worker=\"%s\","
		    "reason=\"%s\"} %llu\n", id, lv,
		    (unsigned long long)w->rejections[k].count);
	}
}

static void
worker_info(struct buf *b, const struct dash_worker *w, const char *id)
{
	char ver[2 * DASH_TEXT_MAX + 1], os[2 * DASH_TEXT_MAX + 1];
	char arch[2 * DASH_TEXT_MAX + 1], mode[33], pages[65];

	metrics_escape_label(w->version, ver, sizeof(ver));
	metrics_escape_label(w->os, os, sizeof(os));
	metrics_escape_label(w->arch, arch, sizeof(arch));
	metrics_escape_label(w->rx_mode, mode, sizeof(mode));
	metrics_escape_label(w->huge_pages, pages, sizeof(pages));
	buf_printf(b, "coopmine_worker_info{worker=\"%s\",version=\"%s\","
	    "os=\"%s\",arch=\"%s\",randomx_mode=\"%s\",huge_pages=\"%s\"} 1\n",
	    id, ver, os, arch, mode, pages);
}

/* One family over the kept workers: fn prints each worker's samples. */
static void
worker_family(struct buf *b, const struct dash_worker *w, size_t n,
    const unsigned char *kept, const char *name, const char *type,
    const char *help, void (*fn)(struct buf *, const struct dash_worker *,
    const char *))
{
	char id[2 * DASH_ID_MAX + 1];

	head(b, name, type, help);
	for (size_t i = 0; i < n; i++) {
		if (!kept[i])
			continue;
		metrics_escape_label(w[i].id, id, sizeof(id));
		fn(b, &w[i], id);
	}
}

#define WORKER_SAMPLE(fname, metric, fmt, expr)				\
static void								\
fname(struct buf *b, const struct dash_worker *w, const char *id)	\
{									\
	buf_printf(b, metric "{worker=\"%s\"} " fmt "\n", id, expr);	\
}

WORKER_SAMPLE(w_hashrate, "coopmine_worker_hashrate", "%.3f", w->hashrate)
WORKER_SAMPLE(w_online, "coopmine_worker_online", "%d",
    strcmp(w->status, "offline") != 0)
WORKER_SAMPLE(w_difficulty, "coopmine_worker_difficulty", "%llu",
    (unsigned long long)w->difficulty)
WORKER_SAMPLE(w_last_share, "coopmine_worker_last_share_timestamp_seconds",
    "%.3f", (double)w->last_share_at / 1000.0)
WORKER_SAMPLE(w_quarantined, "coopmine_worker_quarantined", "%d",
    w->quarantined)
WORKER_SAMPLE(w_pages, "coopmine_worker_huge_pages", "%u",
    (unsigned)w->huge_pages_used)

static void
w_shares(struct buf *b, const struct dash_worker *w, const char *id)
{
	buf_printf(b, "coopmine_worker_shares_total{worker=\"%s\","
	    "status=\"valid\"} %llu\n", id, (unsigned long long)w->shares_valid);
	buf_printf(b, "coopmine_worker_shares_total{worker=\"%s\","
	    "status=\"invalid\"} %llu\n", id,
	    (unsigned long long)w->shares_invalid);
}

static void
worker_metrics(struct buf *b, const struct dash_worker *w, size_t n,
    int64_t retention_ms)
{
	unsigned char *kept = calloc(n ? n : 1, 1);
	int64_t now = clock_wall_ms();
	size_t nq = 0;

	if (kept == NULL) {
		b->failed = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		kept[i] = (unsigned char)worker_kept(&w[i], now, retention_ms);
	worker_family(b, w, n, kept, "coopmine_worker_hashrate", "gauge",
	    "Hashrate of one worker in H/s (its 10 s report)", w_hashrate);
	worker_family(b, w, n, kept, "coopmine_worker_shares_total", "counter",
	    "Shares of one worker by verdict", w_shares);
	worker_family(b, w, n, kept, "coopmine_worker_online", "gauge",
	    "1 when the worker is online (hashing or paused)", w_online);
	worker_family(b, w, n, kept, "coopmine_worker_hashrate_reported",
	    "gauge", "Hashrate a worker reports over a window, H/s (not "
	    "verified)", worker_rates);
	worker_family(b, w, n, kept, "coopmine_worker_hashrate_effective",
	    "gauge", "Credited share difficulty per second over a window "
	    "(verified hashrate), H/s", worker_effective);
	worker_family(b, w, n, kept, "coopmine_worker_rejections_total",
	    "counter", "Rejected shares of one worker by reason",
	    worker_rejections);
	worker_family(b, w, n, kept, "coopmine_worker_difficulty", "gauge",
	    "Share difficulty the worker is given now", w_difficulty);
	worker_family(b, w, n, kept,
	    "coopmine_worker_last_share_timestamp_seconds", "gauge",
	    "When the worker's last share was judged (0: never)", w_last_share);
	worker_family(b, w, n, kept, "coopmine_worker_quarantined", "gauge",
	    "1 while the worker is quarantined for invalid shares",
	    w_quarantined);
	worker_family(b, w, n, kept, "coopmine_worker_huge_pages", "gauge",
	    "2 MiB pages backing the worker's RandomX memory (reported)",
	    w_pages);
	worker_family(b, w, n, kept, "coopmine_worker_info", "gauge",
	    "What a worker runs (value 1; labels as reported, bounded)",
	    worker_info);
	free(kept);
	head(b, "coopmine_workers_quarantined", "gauge",
	    "Worker identities quarantined now");
	for (size_t i = 0; i < n; i++)
		nq += w[i].quarantined ? 1 : 0;
	buf_printf(b, "coopmine_workers_quarantined %zu\n", nq);
}

static void
pool_metrics(struct buf *b, const struct dash_stats *st)
{
	static const char *const res[] = { "accepted", "rejected", "stale",
		"lost" };
	size_t i;

	head(b, "coopmine_hashrate_effective", "gauge",
	    "Credited share difficulty per second of the cluster, H/s");
	for (i = 0; i < DASH_EFF_WINDOWS; i++)
		buf_printf(b, "coopmine_hashrate_effective{window=\"%s\"} %.3f\n",
		    dash_eff_names[i], st->effective[i]);
	head(b, "coopmine_upstream_session_connected", "gauge",
	    "1 when this pool session is logged in");
	for (i = 0; i < st->nsessions; i++)
		buf_printf(b, "coopmine_upstream_session_connected{session=\"%u\"}"
		    " %d\n", st->sessions[i].index, st->sessions[i].connected);
	head(b, "coopmine_upstream_session_difficulty", "gauge",
	    "The pool's difficulty of the session's current job");
	for (i = 0; i < st->nsessions; i++)
		buf_printf(b, "coopmine_upstream_session_difficulty{session=\"%u\"}"
		    " %llu\n", st->sessions[i].index,
		    (unsigned long long)st->sessions[i].difficulty);
	head(b, "coopmine_upstream_session_jobs_total", "counter",
	    "Jobs the pool sent on this session");
	for (i = 0; i < st->nsessions; i++)
		buf_printf(b, "coopmine_upstream_session_jobs_total{session=\"%u\"}"
		    " %llu\n", st->sessions[i].index,
		    (unsigned long long)st->sessions[i].jobs);
	head(b, "coopmine_upstream_session_results_total", "counter",
	    "The pool's verdicts on the session's shares");
	for (i = 0; i < st->nsessions; i++) {
		const struct dash_session *se = &st->sessions[i];
		uint64_t v[] = { se->accepted, se->rejected, se->stale, se->lost };

		for (size_t k = 0; k < 4; k++)
			buf_printf(b, "coopmine_upstream_session_results_total{"
			    "session=\"%u\",result=\"%s\"} %llu\n", se->index,
			    res[k], (unsigned long long)v[k]);
	}
	head(b, "coopmine_upstream_session_nonce_used_ratio", "gauge",
	    "Part of the current job's nonce space already leased");
	for (i = 0; i < st->nsessions; i++) {
		const struct dash_session *se = &st->sessions[i];

		buf_printf(b, "coopmine_upstream_session_nonce_used_ratio{"
		    "session=\"%u\"} %.6f\n", se->index, se->nonce_space > 0 ?
		    (double)(se->nonce_space - se->nonces_left) /
		    (double)se->nonce_space : 0.0);
	}
	metric_int(b, "coopmine_outbox_shares", "gauge",
	    "Shares waiting to be sent to the pool",
	    (unsigned long long)(st->outbox));
	metric_num(b, "coopmine_outbox_oldest_age_seconds", "gauge",
	    "How long the oldest waiting share has waited",
	    st->outbox_oldest_at > 0 ?
	    (double)(clock_wall_ms() - st->outbox_oldest_at) / 1000.0 : 0.0,
	    3);
	head(b, "coopmine_verify_latency_p99_seconds", "gauge",
	    "99th percentile of share arrival to verdict, recent shares");
	buf_printf(b, "coopmine_verify_latency_p99_seconds %.6f\n",
	    st->verify_latency_p99_ms / 1000.0);
	histogram(b, "coopmine_ledger_commit_seconds",
	    "Time of each ledger COMMIT (the fsyncs)", st->ledger_commit_bound,
	    st->ledger_commit_bucket, st->ledger_commits, st->ledger_commit_sum_s);
	histogram(b, "coopmine_fanout_seconds", "Time from a pool job's arrival "
	    "until its work was handed to every streaming worker's connection",
	    st->fanout_bound, st->fanout_bucket, st->fanouts, st->fanout_sum_s);
	metric_int(b, "coopmine_fanout_workers", "gauge",
	    "Worker streams the last fan-out reached",
	    (unsigned long long)st->fanout_last_workers);
}

static void
live_metrics(struct buf *b, const struct live_counters *lc)
{
	metric_int(b, "coopmine_dashboard_live_clients", "gauge",
	    "WebSocket clients of the live feed",
	    (unsigned long long)(lc->clients));
	metric_int(b, "coopmine_dashboard_live_dropped_total", "counter",
	    "Live feed clients dropped for reading too slowly",
	    (unsigned long long)(lc->dropped));
	metric_int(b, "coopmine_dashboard_live_refused_total", "counter",
	    "Live feed connections refused at the client limit",
	    (unsigned long long)(lc->refused));
}

char *
metrics_render(const struct dash_source *src, const struct live_counters *lc,
    int64_t retention_ms, int ledger_durable, size_t *len)
{
	struct dash_stats st;
	struct dash_worker *w;
	struct buf b = { NULL, 0, 0, 0 };
	size_t n;

	memset(&st, 0, sizeof(st));
	if (src->stats(src->ctx, &st) != 0)
		return NULL;
	if (dash_workers_fetch(src, &w, &n) != 0)
		return NULL;
	if ((b.p = malloc(8192)) == NULL) {
		free(w);
		return NULL;
	}
	b.cap = 8192;
	b.p[0] = '\0';
	seed_metrics(&b, &st);
	cluster_metrics(&b, &st);
	if (ledger_durable >= 0) {
		metric_int(&b, "coopmine_ledger_durable", "gauge",
		    "1 when a share is on disk before it is acknowledged "
		    "([ledger] synchronous full or extra)",
		    (unsigned long long)(ledger_durable));
	}
	pool_metrics(&b, &st);
	worker_metrics(&b, w, n, retention_ms > 0 ? retention_ms :
	    METRICS_RETENTION_MS);
	if (lc)
		live_metrics(&b, lc);
	free(w);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
