/*
 * test_dash.c: the dashboard's pure pieces: query-number parsing, listen
 * addresses, URL redaction, Prometheus label escaping, and a /metrics
 * rendering from a stub source (the HTTP side is tested end to end by
 * tests/system/dash_*).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/dash_json.h"
#include "coordinator/http.h"
#include "coordinator/live.h"
#include "coordinator/metrics.h"
#include "tap.h"

static int
stub_stats(void *ctx, struct dash_stats *st)
{
	(void)ctx;
	snprintf(st->cluster_id, sizeof(st->cluster_id), "c1");
	st->workers_total = 2;
	st->workers_online = 1;
	st->total_hashrate = 1234.5;
	st->shares_valid = 10;
	st->shares_invalid = 3;
	st->blocks_found = 1;
	snprintf(st->rejections[0].reason, DASH_REASON_MAX, "we\"ird");
	st->rejections[0].count = 3;
	st->nrejections = 1;
	snprintf(st->pool_url, sizeof(st->pool_url), "stratum+ssl://u:p@h:1");
	st->pool_connected = 1;
	st->ledger_commit_ms = 4;
	return 0;
}

static int
stub_workers(void *ctx, struct dash_worker *out, size_t max)
{
	static const char *ids[] = { "a\\b", "line\nbreak" };
	size_t i;

	(void)ctx;
	for (i = 0; i < 2 && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].id, sizeof(out[i].id), "%s", ids[i]);
		snprintf(out[i].status, sizeof(out[i].status), "online");
		out[i].hashrate = 100.0 * (double)(i + 1);
	}
	return 2;
}

int
main(void)
{
	struct dash_source src = { 0 };
	char host[64], out[64];
	long long v;
	size_t len;
	char *m;
	int port;

	ok(http_parse_count("42", 1, 500, &v) == 0 && v == 42, "a count");
	ok(http_parse_count("0", 1, 500, &v) == -EINVAL, "below the range");
	ok(http_parse_count("501", 1, 500, &v) == -EINVAL, "above the range");
	ok(http_parse_count("-1", 0, 5, &v) == -EINVAL, "a sign");
	ok(http_parse_count("1e3", 0, 5000, &v) == -EINVAL, "an exponent");
	ok(http_parse_count("", 0, 5, &v) == -EINVAL, "empty");
	ok(http_parse_count(" 1", 0, 5, &v) == -EINVAL, "a space");
	ok(http_parse_count("99999999999999999999", 0, 5, &v) == -EINVAL,
	    "more digits than fit");
	ok(http_parse_count("9999999999999999999", 0, 5, &v) == -EINVAL,
	    "19 digits beyond the range of long long (found by the fuzzer)");
	ok(http_parse_count("9223372036854775807", 0, LLONG_MAX, &v) == 0 &&
	    v == LLONG_MAX, "the largest long long");

	ok(dash_listen_parse("127.0.0.1:8080", host, sizeof(host), &port) == 0
	    && strcmp(host, "127.0.0.1") == 0 && port == 8080, "host:port");
	ok(dash_listen_parse(":8080", host, sizeof(host), &port) == 0 &&
	    host[0] == '\0' && port == 8080, ":port means every interface");
	ok(dash_listen_parse("[::1]:81", host, sizeof(host), &port) == 0 &&
	    strcmp(host, "::1") == 0 && port == 81, "[v6]:port");
	ok(dash_listen_parse("::1:81", host, sizeof(host), &port) != 0,
	    "bare IPv6 refused");
	ok(dash_listen_parse("host", host, sizeof(host), &port) != 0,
	    "no port refused");
	ok(dash_listen_parse("h:70000", host, sizeof(host), &port) != 0,
	    "port out of range refused");
	ok(dash_listen_parse("h:", host, sizeof(host), &port) != 0,
	    "empty port refused");

	dash_url_redact("stratum+tcp://wallet:pass@pool:3333", out, sizeof(out));
	ok(strcmp(out, "stratum+tcp://pool:3333") == 0, "user:pass removed");
	dash_url_redact("stratum+tcp://pool:3333/a@b", out, sizeof(out));
	ok(strcmp(out, "stratum+tcp://pool:3333/a@b") == 0,
	    "an @ after the host is kept");

	ok(metrics_escape_label("a\"b\\c\nd", out, sizeof(out)) == 0 &&
	    strcmp(out, "a\\\"b\\\\c\\nd") == 0, "label escaping");
	ok(metrics_escape_label("\"\"\"", out, 4) == -1 &&
	    strlen(out) < 4, "escaping never overflows");

	ok(strcmp(live_event_name(LIVE_POOL_SWITCH), "pool_switch") == 0 &&
	    strcmp(live_event_name((enum live_event)99), "unknown") == 0,
	    "event names");

	src.stats = stub_stats;
	src.workers = stub_workers;
	m = metrics_render(&src, NULL, 0, 1, &len);
	ok(m != NULL && strlen(m) == len, "metrics render");
	ok(m && strstr(m, "coopmine_shares_total{status=\"invalid\"} 3\n"),
	    "shares by status");
	ok(m && strstr(m, "coopmine_worker_hashrate{worker=\"a\\\\b\"} 100"),
	    "a backslash in a worker label is escaped");
	ok(m && strstr(m, "{worker=\"line\\nbreak\"}"),
	    "a newline in a worker label is escaped");
	ok(m && strstr(m, "coopmine_share_rejections_total{reason=\"we\\\"ird\"}"
	    " 3"), "a quote in a reason is escaped");
	ok(m && strstr(m, "coopmine_ledger_commit_latency_seconds 0.004"),
	    "latencies in seconds");
	ok(m && !strstr(m, "u:p@"), "no pool credentials");
	ok(m && !strstr(m, "coopmine_dashboard_live"), "no live metrics "
	    "without a feed");
	free(m);

	{
		struct dash_stats st;
		json_t *j;

		memset(&st, 0, sizeof(st));
		stub_stats(NULL, &st);
		st.pool_latency_ms = NAN;
		st.total_hashrate = INFINITY;
		j = dash_json_stats(&st);
		ok(j != NULL && json_real_value(json_object_get(j,
		    "total_hashrate")) == 0.0, "a NaN or infinite gauge still "
		    "gives JSON (as 0)");
		ok(j && strcmp(json_string_value(json_object_get(json_object_get(
		    j, "pool"), "url")), "stratum+ssl://h:1") == 0,
		    "/api/stats shows the pool without credentials");
		json_decref(j);
	}
	return tap_done();
}
