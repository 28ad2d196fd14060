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

static void
seed_metrics(struct buf *b, const struct dash_stats *st)
{
	/* Prometheus would type these three gauge/counter, but the seed's
	 * names end (or fail to end) in _total against its conventions, and
	 * promtool refuses that: they stay untyped under the seed's names. */
	head(b, "coopmine_workers_total", "untyped",
	    "Total number of registered workers");
	buf_printf(b, "coopmine_workers_total %d\n", st->workers_total);
	head(b, "coopmine_workers_online", "gauge",
	    "Number of online workers");
	buf_printf(b, "coopmine_workers_online %d\n", st->workers_online);
	head(b, "coopmine_hashrate_total", "untyped",
	    "Total cluster hashrate in H/s");
	buf_printf(b, "coopmine_hashrate_total %.3f\n", st->total_hashrate);
	head(b, "coopmine_shares_total", "counter", "Total shares submitted");
	buf_printf(b, "coopmine_shares_total{status=\"valid\"} %llu\n",
	    (unsigned long long)st->shares_valid);
	buf_printf(b, "coopmine_shares_total{status=\"invalid\"} %llu\n",
	    (unsigned long long)st->shares_invalid);
	head(b, "coopmine_blocks_found", "untyped", "Total blocks found");
	buf_printf(b, "coopmine_blocks_found %llu\n",
	    (unsigned long long)st->blocks_found);
	head(b, "coopmine_blocks_found_total", "counter",
	    "Total blocks found (the same count, typed counter for rate())");
	buf_printf(b, "coopmine_blocks_found_total %llu\n",
	    (unsigned long long)st->blocks_found);
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
	head(b, "coopmine_uptime_seconds", "gauge",
	    "Seconds since the coordinator started");
	buf_printf(b, "coopmine_uptime_seconds %.3f\n",
	    (double)st->uptime_ms / 1000.0);
	head(b, "coopmine_upstream_connected", "gauge",
	    "1 when the upstream pool connection is up");
	buf_printf(b, "coopmine_upstream_connected %d\n",
	    st->pool_connected ? 1 : 0);
	head(b, "coopmine_upstream_latency_seconds", "gauge",
	    "Recent round-trip time to the upstream pool");
	buf_printf(b, "coopmine_upstream_latency_seconds %.6f\n",
	    st->pool_latency_ms / 1000.0);
	head(b, "coopmine_upstream_switches_total", "counter",
	    "Times the coordinator switched or reconnected upstream");
	buf_printf(b, "coopmine_upstream_switches_total %llu\n",
	    (unsigned long long)st->pool_switches);
	if (st->node) {
		head(b, "coopmine_node_height", "gauge",
		    "Height of the node's current block template");
		buf_printf(b, "coopmine_node_height %lld\n",
		    (long long)st->node_height);
		head(b, "coopmine_node_tip_age_seconds", "gauge",
		    "Seconds since the node's tip block's time (-1: unknown)");
		buf_printf(b, "coopmine_node_tip_age_seconds %.3f\n",
		    st->node_tip_age_ms >= 0 ? (double)st->node_tip_age_ms / 1000.0 :
		    -1.0);
		head(b, "coopmine_node_template_age_seconds", "gauge",
		    "Seconds since the current block template came (-1: none)");
		buf_printf(b, "coopmine_node_template_age_seconds %.3f\n",
		    st->node_template_age_ms >= 0 ?
		    (double)st->node_template_age_ms / 1000.0 : -1.0);
		head(b, "coopmine_node_connections", "gauge",
		    "The node's peer connections (-1: unknown)");
		buf_printf(b, "coopmine_node_connections %lld\n",
		    (long long)st->node_connections);
		head(b, "coopmine_node_ibd", "gauge",
		    "1 while the node is in initial block download");
		buf_printf(b, "coopmine_node_ibd %d\n", st->node_ibd ? 1 : 0);
	}
	head(b, "coopmine_verify_queue_depth", "gauge",
	    "Shares waiting for verification");
	buf_printf(b, "coopmine_verify_queue_depth %llu\n",
	    (unsigned long long)st->verify_queue_depth);
	head(b, "coopmine_verify_latency_seconds", "gauge",
	    "Recent mean time from share arrival to verdict");
	buf_printf(b, "coopmine_verify_latency_seconds %.6f\n",
	    st->verify_latency_ms / 1000.0);
	head(b, "coopmine_ledger_writable", "gauge",
	    "1 when the ledger accepts writes");
	buf_printf(b, "coopmine_ledger_writable %d\n",
	    st->ledger_writable ? 1 : 0);
	head(b, "coopmine_ledger_commit_latency_seconds", "gauge",
	    "Recent mean ledger commit time");
	buf_printf(b, "coopmine_ledger_commit_latency_seconds %.6f\n",
	    st->ledger_commit_ms / 1000.0);
}

static void
worker_metrics(struct buf *b, const struct dash_worker *w, size_t n)
{
	char id[2 * DASH_ID_MAX + 1];
	size_t i;

	head(b, "coopmine_worker_hashrate", "gauge",
	    "Hashrate of one worker in H/s");
	for (i = 0; i < n; i++) {
		metrics_escape_label(w[i].id, id, sizeof(id));
		buf_printf(b, "coopmine_worker_hashrate{worker=\"%s\"} %.3f\n",
		    id, w[i].hashrate);
	}
	head(b, "coopmine_worker_shares_total", "counter",
	    "Shares of one worker by verdict");
	for (i = 0; i < n; i++) {
		metrics_escape_label(w[i].id, id, sizeof(id));
		buf_printf(b, "coopmine_worker_shares_total{worker=\"%s\","
		    "status=\"valid\"} %llu\n", id,
		    (unsigned long long)w[i].shares_valid);
		buf_printf(b, "coopmine_worker_shares_total{worker=\"%s\","
		    "status=\"invalid\"} %llu\n", id,
		    (unsigned long long)w[i].shares_invalid);
	}
	head(b, "coopmine_worker_online", "gauge",
	    "1 when the worker is online (hashing or paused)");
	for (i = 0; i < n; i++) {
		metrics_escape_label(w[i].id, id, sizeof(id));
		buf_printf(b, "coopmine_worker_online{worker=\"%s\"} %d\n", id,
		    strcmp(w[i].status, "offline") != 0);
	}
}

static void
live_metrics(struct buf *b, const struct live_counters *lc)
{
	head(b, "coopmine_dashboard_live_clients", "gauge",
	    "WebSocket clients of the live feed");
	buf_printf(b, "coopmine_dashboard_live_clients %llu\n",
	    (unsigned long long)lc->clients);
	head(b, "coopmine_dashboard_live_dropped_total", "counter",
	    "Live feed clients dropped for reading too slowly");
	buf_printf(b, "coopmine_dashboard_live_dropped_total %llu\n",
	    (unsigned long long)lc->dropped);
	head(b, "coopmine_dashboard_live_refused_total", "counter",
	    "Live feed connections refused at the client limit");
	buf_printf(b, "coopmine_dashboard_live_refused_total %llu\n",
	    (unsigned long long)lc->refused);
}

char *
metrics_render(const struct dash_source *src, const struct live_counters *lc,
    size_t *len)
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
	worker_metrics(&b, w, n);
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
