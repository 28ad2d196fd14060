/*
 * http.c: the dashboard's HTTP side.  libmicrohttpd calls handle() on its
 * own thread for each request; route() sends it to the page (static files),
 * the REST API, /metrics or /health.  Reads go to the coordinator's
 * dash_source; POST commands need the configured bearer token.  Only the
 * Host names of the allow-list are answered (DNS rebinding).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/clock.h"
#include "common/conf.h"
#include "common/log.h"
#include "coordinator/dash_allow.h"
#include "coordinator/dash_json.h"
#include "coordinator/dash_xmrig.h"
#include "coordinator/http.h"
#include "coordinator/metrics.h"
#include "coordinator/money_json.h"
#include "coordinator/ws_relay.h"

#define STATIC_MAX	(16 << 20)

struct http {
	struct MHD_Daemon	*mhd;
	const struct dash_source *src;
	struct live		*live;
	struct ws_relay		*relay;		/* /ws here; NULL: no feed */
	char			*static_dir;
	char			*ws_url;
	char			*version;
	char			*ledger_sync;	/* below full: not durable */
	int64_t			 metrics_retention_ms;
	pthread_mutex_t		 token_lock;	/* guards token_hash, has_token
						 * (SIGHUP replaces them) */
	unsigned char		 token_hash[SHA256_DIGEST_LENGTH];
	int			 has_token;
	int			 port;
	char			 listen_host[128];
	/* set once the port is known; until then no Host is answered */
	struct dash_allow *_Atomic hosts;
	/* lists replaced by SIGHUP: a request may still be reading one, so
	 * they are freed with the server (reloads are rare) */
	struct dash_allow	**retired;
	size_t			 nretired;
};

struct req {
	struct http		*h;
	struct MHD_Connection	*conn;
	const char		*url;
	const char		*method;
	const char		*allow;	/* the methods of this path, for 405 */
	int			 get;	/* GET or HEAD */
	const char		*body;	/* POST /api/income only; else NULL */
	size_t			 bodylen;
};

/* con_cls of the requests whose body is dropped. */
static int no_body;

/* A request body being received (POST /api/income), at most BODY_MAX. */
#define BODY_MAX	(16 * 1024)
struct body {
	char	*buf;
	size_t	 len;
	int	 too_big;
};

/* ---- responses ---- */

static enum MHD_Result
reply(struct req *r, unsigned int status, const char *type, char *body,
    size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, "WWW-Authenticate",
		    "Bearer realm=\"coopmine\"");
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Takes j. */
static enum MHD_Result
reply_json(struct req *r, unsigned int status, json_t *j)
{
	char *text;

	if (j == NULL)
		return MHD_NO;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	return reply(r, status, "application/json", text, strlen(text));
}

static enum MHD_Result
reply_error(struct req *r, unsigned int status, const char *msg)
{
	return reply_json(r, status, json_pack("{s:s, s:i}", "error", msg,
	    "status", (int)status));
}

/* ---- query parameters ---- */

int
http_parse_count(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	const char *p;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (!isdigit((unsigned char)*p) ||
		    v > (LLONG_MAX - (*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* limit and offset of a list; replies 400 itself and returns -1. */
static int
paging(struct req *r, size_t *limit, size_t *offset, enum MHD_Result *ret)
{
	const char *l, *o;
	long long v;

	*limit = HTTP_LIMIT_DEFAULT;
	*offset = 0;
	l = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "limit");
	o = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "offset");
	if (l) {
		if (http_parse_count(l, 1, HTTP_LIMIT_MAX, &v) != 0) {
			*ret = reply_error(r, MHD_HTTP_BAD_REQUEST,
			    "limit must be an integer from 1 to 500");
			return -1;
		}
		*limit = (size_t)v;
	}
	if (o) {
		if (http_parse_count(o, 0, HTTP_OFFSET_MAX, &v) != 0) {
			*ret = reply_error(r, MHD_HTTP_BAD_REQUEST,
			    "offset must be an integer from 0 to 1000000");
			return -1;
		}
		*offset = (size_t)v;
	}
	return 0;
}

/* ---- read endpoints ---- */

static enum MHD_Result
api_stats(struct req *r)
{
	struct dash_stats st;

	memset(&st, 0, sizeof(st));
	if (r->h->src->stats(r->h->src->ctx, &st) != 0)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "no statistics yet");
	return reply_json(r, MHD_HTTP_OK, dash_json_stats(&st));
}

static enum MHD_Result
api_workers(struct req *r)
{
	struct dash_worker *w;
	size_t limit, offset, n, i;
	enum MHD_Result ret;
	json_t *arr;

	if (paging(r, &limit, &offset, &ret) != 0)
		return ret;
	if (dash_workers_fetch(r->h->src, &w, &n) != 0)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the worker registry did not answer");
	arr = json_array();
	/* newest registration first */
	for (i = offset; i < n && i < offset + limit; i++)
		json_array_append_new(arr, dash_json_worker(&w[n - 1 - i]));
	free(w);
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:o, s:I, s:I, s:I}",
	    "workers", arr, "total", (json_int_t)n, "limit",
	    (json_int_t)limit, "offset", (json_int_t)offset));
}

static json_t *
history_json(const struct dash_source *src, const char *id)
{
	struct dash_point *p;
	json_t *j;
	int n;

	if ((p = calloc(DASH_HISTORY_MAX, sizeof(*p))) == NULL)
		return NULL;
	n = src->history(src->ctx, id, p, DASH_HISTORY_MAX);
	j = n >= 0 ? dash_json_history(p, (size_t)n) : json_array();
	free(p);
	return j;
}

/* GET /api/workers/{id}/history?range=1h|24h|7d: 1 h from the samples
 * kept in memory; 24 h and 7 d hour by hour from the ledger. */
static enum MHD_Result
api_worker_history(struct req *r, const char *id)
{
	const char *range = MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "range");
	struct dash_hour *h;
	json_t *arr;
	int64_t span;
	int n;

	if (range == NULL || strcmp(range, "1h") == 0) {
		struct dash_worker w;

		if (r->h->src->worker(r->h->src->ctx, id, &w) != 0)
			return reply_error(r, MHD_HTTP_NOT_FOUND, "no such worker");
		return reply_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s, s:o}",
		    "worker_id", id, "range", "1h", "points",
		    history_json(r->h->src, id)));
	}
	if (strcmp(range, "24h") == 0)
		span = 24;
	else if (strcmp(range, "7d") == 0)
		span = 7 * 24;
	else
		return reply_error(r, MHD_HTTP_BAD_REQUEST,
		    "range must be 1h, 24h or 7d");
	if (r->h->src->hours == NULL)
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no history here");
	if ((h = calloc((size_t)span + 1, sizeof(*h))) == NULL)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	n = r->h->src->hours(r->h->src->ctx, id, clock_wall_ms() - span *
	    3600000LL, h, (size_t)span + 1);
	if (n < 0) {
		free(h);
		return n == -ENOENT ? reply_error(r, MHD_HTTP_NOT_FOUND,
		    "no such worker") : reply_error(r,
		    MHD_HTTP_SERVICE_UNAVAILABLE, "the ledger did not answer");
	}
	arr = json_array();
	for (int i = 0; i < n; i++)
		/* [hour start, H/s credited, accepted, rejected] */
		json_array_append_new(arr, json_pack("[I, f, I, I]",
		    (json_int_t)h[i].t, (double)h[i].difficulty / 3600.0,
		    (json_int_t)h[i].accepted, (json_int_t)h[i].rejected));
	free(h);
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s, s:o}",
	    "worker_id", id, "range", range, "hours", arr));
}

/* GET /api/pool: every upstream session, the outbox and the queues. */
static enum MHD_Result
api_pool(struct req *r)
{
	struct dash_stats st;
	json_t *s, *out;

	memset(&st, 0, sizeof(st));
	if (r->h->src->stats(r->h->src->ctx, &st) != 0 ||
	    (s = dash_json_stats(&st)) == NULL)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "no statistics yet");
	out = json_pack("{s:O, s:O, s:O, s:O, s:O}", "pool",
	    json_object_get(s, "pool"), "sessions", json_object_get(s,
	    "sessions"), "outbox", json_object_get(s, "outbox"),
	    "verification", json_object_get(s, "verification"), "ledger",
	    json_object_get(s, "ledger"));
	json_decref(s);
	return reply_json(r, MHD_HTTP_OK, out);
}

/* GET /1/summary and /1/workers (xmrig-proxy's API, read-only). */
static enum MHD_Result
api_xmrig(struct req *r)
{
	struct dash_stats st;
	struct dash_worker *w;
	size_t n;
	json_t *j;

	if (!r->get)
		return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
	memset(&st, 0, sizeof(st));
	if (r->h->src->stats(r->h->src->ctx, &st) != 0 ||
	    dash_workers_fetch(r->h->src, &w, &n) != 0)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "no statistics yet");
	j = strcmp(r->url, "/1/summary") == 0 ? dash_xmrig_summary(&st, w, n) :
	    dash_xmrig_workers(&st, w, n);
	free(w);
	return reply_json(r, MHD_HTTP_OK, j);
}

static enum MHD_Result
api_worker(struct req *r, const char *id)
{
	struct dash_worker w;
	json_t *j;

	memset(&w, 0, sizeof(w));
	if (r->h->src->worker(r->h->src->ctx, id, &w) != 0)
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such worker");
	j = dash_json_worker(&w);
	json_object_set_new(j, "history", history_json(r->h->src, id));
	return reply_json(r, MHD_HTTP_OK, j);
}

/* Every hashrate series of the last hour, for the page's chart. */
static enum MHD_Result
api_hashrate(struct req *r)
{
	struct dash_worker *w;
	json_t *per;
	size_t i, n;

	if (dash_workers_fetch(r->h->src, &w, &n) != 0)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the worker registry did not answer");
	per = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(per, w[i].id,
		    history_json(r->h->src, w[i].id));
	free(w);
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:o, s:o}",
	    "total", history_json(r->h->src, NULL), "workers", per));
}

typedef json_t *(*list_fn)(void *, size_t, size_t, size_t *);

static enum MHD_Result
api_list(struct req *r, const char *key, list_fn fn)
{
	size_t limit, offset, total = 0;
	enum MHD_Result ret;
	json_t *arr;

	if (paging(r, &limit, &offset, &ret) != 0)
		return ret;
	if ((arr = fn(r->h->src->ctx, limit, offset, &total)) == NULL)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the ledger did not answer");
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:o, s:I, s:I, s:I}",
	    key, arr, "total", (json_int_t)total, "limit", (json_int_t)limit,
	    "offset", (json_int_t)offset));
}

static enum MHD_Result
api_payouts(struct req *r)
{
	const char *b;
	long long block;
	json_t *j;
	int err = 0;

	b = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    "block");
	if (b == NULL || http_parse_count(b, 0, (1LL << 62), &block) != 0)
		return reply_error(r, MHD_HTTP_BAD_REQUEST,
		    "block must be given as a non-negative integer id");
	if ((j = r->h->src->payouts(r->h->src->ctx, block, &err)) == NULL)
		return err == -ENOENT ?
		    reply_error(r, MHD_HTTP_NOT_FOUND, "no such block") :
		    reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the ledger did not answer");
	return reply_json(r, MHD_HTTP_OK, j);
}

static int has_token(struct http *h);

static enum MHD_Result
api_config(struct req *r)
{
	struct dash_stats st;
	json_t *j;

	memset(&st, 0, sizeof(st));
	(void)r->h->src->stats(r->h->src->ctx, &st);
	j = json_pack("{s:s, s:s, s:s, s:s, s:b}",
	    "cluster_id", st.cluster_id, "cluster_name", st.cluster_name,
	    "version", r->h->version, "ws_path", LIVE_PATH,
	    "commands_enabled", has_token(r->h));
	json_object_set_new(j, "ws_port", r->h->live ?
	    json_integer(live_port(r->h->live)) : json_null());
	json_object_set_new(j, "ws_url", r->h->ws_url ?
	    json_string(r->h->ws_url) : json_null());
	/* the page asks for /api/income only where it exists (no 404s) */
	json_object_set_new(j, "money", json_boolean(r->h->src->balances !=
	    NULL));
	return reply_json(r, MHD_HTTP_OK, j);
}

/* Shares are durable once acknowledged only with synchronous FULL or
 * EXTRA; below that /health says "degraded" (still 200: it works). */
static int
shares_durable(const struct http *h)
{
	return h->ledger_sync == NULL || strcasecmp(h->ledger_sync, "full") == 0
	    || strcasecmp(h->ledger_sync, "extra") == 0;
}

static enum MHD_Result
health(struct req *r)
{
	struct dash_stats st;
	int ok, durable = shares_durable(r->h);
	json_t *j;

	memset(&st, 0, sizeof(st));
	if (r->h->src->stats(r->h->src->ctx, &st) != 0)
		return reply_json(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    json_pack("{s:s, s:i, s:b, s:b}", "status", "unhealthy",
		    "workers", 0, "pool_connected", 0, "shares_durable",
		    durable));
	ok = st.pool_connected && st.ledger_writable;
	j = json_pack("{s:s, s:i, s:b, s:i, s:b, s:b, s:s}",
	    "status", !ok ? "unhealthy" : durable ? "healthy" : "degraded",
	    "workers", st.workers_total,
	    "pool_connected", st.pool_connected,
	    "workers_online", st.workers_online,
	    "ledger_writable", st.ledger_writable,
	    "shares_durable", durable,
	    "ledger_synchronous", r->h->ledger_sync ? r->h->ledger_sync : "full");
	if (j != NULL) {
		int up = 0;

		for (size_t i = 0; i < st.nsessions && i < DASH_SESSIONS_MAX; i++)
			up += st.sessions[i].connected != 0;
		/* every pool session, not only the first */
		json_object_set_new(j, "pool_sessions", json_pack("{s:i, s:i}",
		    "connected", up, "total", (int)st.nsessions));
	}
	if (j != NULL && st.node)
		json_object_set_new(j, "node", dash_json_node(&st));
	if (j != NULL && st.node && st.node_wait[0] != '\0')
		json_object_set_new(j, "reason", json_string(st.node_wait));
	if (j != NULL && !durable)
		json_object_set_new(j, "warning", json_string("[ledger] "
		    "synchronous is below full: shares acknowledged to workers "
		    "can be lost in a power failure or OS crash"));
	return reply_json(r, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, j);
}

static enum MHD_Result
metrics(struct req *r)
{
	struct live_counters lc;
	size_t len;
	char *text;

	if (r->h->live)
		live_counters(r->h->live, &lc);
	if ((text = metrics_render(r->h->src, r->h->live ? &lc : NULL,
	    r->h->metrics_retention_ms, shares_durable(r->h), &len)) == NULL)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "no statistics yet");
	return reply(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
}

/* ---- commands ---- */

static void
token_hash(const char *token, size_t len, unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA256((const unsigned char *)token, len, out);
}

static int
has_token(struct http *h)
{
	int yes;

	pthread_mutex_lock(&h->token_lock);
	yes = h->has_token;
	pthread_mutex_unlock(&h->token_lock);
	return yes;
}

/* Compares hashes, so neither the length nor the content of the token
 * leaks through timing. */
static int
authorized(struct req *r)
{
	unsigned char got[SHA256_DIGEST_LENGTH];
	const char *a;
	int ok;

	a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	while (*a == ' ')
		a++;
	token_hash(a, strlen(a), got);
	pthread_mutex_lock(&r->h->token_lock);
	ok = r->h->has_token &&
	    CRYPTO_memcmp(got, r->h->token_hash, sizeof(got)) == 0;
	pthread_mutex_unlock(&r->h->token_lock);
	return ok;
}

/* A state change: POST with the bearer token; 0 (and *ret) when refused. */
static int
may_change(struct req *r, const char *what, const char *id,
    enum MHD_Result *ret)
{
	r->allow = "POST";
	if (strcmp(r->method, MHD_HTTP_METHOD_POST) != 0) {
		*ret = reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "commands take POST");
		return 0;
	}
	if (!has_token(r->h)) {
		*ret = reply_error(r, MHD_HTTP_FORBIDDEN,
		    "commands are disabled: no dashboard token is configured");
		return 0;
	}
	if (!authorized(r)) {
		log_warnx("http: refused %s%s%s: bad or missing token", what,
		    id ? " of worker " : "", id ? id : "");
		*ret = reply_error(r, MHD_HTTP_UNAUTHORIZED,
		    "a valid bearer token is required");
		return 0;
	}
	return 1;
}

static enum MHD_Result
api_command(struct req *r, const char *id, const char *verb)
{
	enum MHD_Result ret;
	enum dash_cmd cmd;
	int rc;

	if (strcmp(verb, "pause") == 0)
		cmd = DASH_CMD_PAUSE;
	else if (strcmp(verb, "resume") == 0)
		cmd = DASH_CMD_RESUME;
	else if (strcmp(verb, "kick") == 0)
		cmd = DASH_CMD_KICK;
	else if (strcmp(verb, "release") == 0)
		cmd = DASH_CMD_RELEASE;
	else if (strcmp(verb, "revoke") == 0)
		cmd = DASH_CMD_REVOKE;
	else if (strcmp(verb, "unrevoke") == 0)
		cmd = DASH_CMD_UNREVOKE;
	else
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such endpoint");
	if (!may_change(r, verb, id, &ret))
		return ret;
	rc = r->h->src->command(r->h->src->ctx, id, cmd);
	if (rc == -ENOENT)
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such worker");
	if (rc == -EINVAL)
		return reply_error(r, MHD_HTTP_BAD_REQUEST, "not a valid worker id");
	if (rc == -EALREADY)
		return reply_error(r, MHD_HTTP_CONFLICT,
		    "the worker is already in that state");
	if (rc != 0)
		return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    strerror(-rc));
	log_info("http: %s of worker %s requested from the dashboard", verb, id);
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:b, s:s, s:s}",
	    "ok", 1, "worker_id", id, "command", verb));
}

/* ---- static files ---- */

static const char *
content_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');
	size_t i;

	for (i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Only plain names below static_dir: no "..", no hidden files. */
int
http_static_path_ok(const char *url)
{
	const char *p;

	if (url[0] != '/' || strlen(url) > 200)
		return 0;
	for (p = url; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._-", *p))
			return 0;
	return strstr(url, "/.") == NULL && strstr(url, "//") == NULL;
}

static enum MHD_Result
static_file(struct req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char path[1024];
	struct stat sb;
	const char *url = strcmp(r->url, "/") == 0 ? "/index.html" : r->url;
	int fd;

	if (!http_static_path_ok(url))
		return reply_error(r, MHD_HTTP_NOT_FOUND, "not found");
	if (!r->get)
		return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
	if ((size_t)snprintf(path, sizeof(path), "%s%s", r->h->static_dir,
	    url) >= sizeof(path))
		return reply_error(r, MHD_HTTP_NOT_FOUND, "not found");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return reply_error(r, MHD_HTTP_NOT_FOUND, "not found");
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > STATIC_MAX) {
		close(fd);
		return reply_error(r, MHD_HTTP_NOT_FOUND, "not found");
	}
	if ((resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd))
	    == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", content_type(url));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'self'; connect-src 'self' ws: wss:; "
	    "img-src 'self' data:; frame-ancestors 'none'");
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- money ---- */

static unsigned int
money_status(int rc)
{
	switch (rc) {
	case MONEY_EINVAL:
		return MHD_HTTP_BAD_REQUEST;
	case MONEY_ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case MONEY_EEXIST:
	case MONEY_EREFUSED:
		return MHD_HTTP_CONFLICT;
	default:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
}

static enum MHD_Result
api_balances(struct req *r)
{
	const struct dash_source *s = r->h->src;
	struct money_owner_row *b;
	size_t n;
	json_t *j;

	if (s->balances(s->money_ctx, &b, &n) != 0)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the ledger did not answer");
	j = money_json_balances(b, n);
	free(b);
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "balances", j));
}

static enum MHD_Result
api_income_list(struct req *r)
{
	const struct dash_source *s = r->h->src;
	struct money_income_row *v;
	size_t limit, offset, n;
	enum MHD_Result ret;
	json_t *j;

	if (paging(r, &limit, &offset, &ret) != 0)
		return ret;
	if (s->income(s->money_ctx, limit, offset, &v, &n) != 0)
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the ledger did not answer");
	j = money_json_income(v, n);
	free(v);
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:o, s:I, s:I}", "income",
	    j, "limit", (json_int_t)limit, "offset", (json_int_t)offset));
}

static enum MHD_Result
api_income_add(struct req *r)
{
	const struct dash_source *s = r->h->src;
	struct money_income in;
	enum MHD_Result ret;
	json_error_t jerr;
	char err[512];
	int64_t id = 0;
	json_t *body;
	int rc;

	if (!may_change(r, "income add", NULL, &ret))
		return ret;
	if (r->body == NULL)
		return reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "the body is larger than 16 KiB");
	if ((body = json_loadb(r->body, r->bodylen, 0, &jerr)) == NULL) {
		snprintf(err, sizeof(err), "body: not JSON (%s)", jerr.text);
		return reply_error(r, MHD_HTTP_BAD_REQUEST, err);
	}
	if ((rc = money_json_income_parse(body, &in, err, sizeof(err))) == 0)
		rc = s->income_add(s->money_ctx, &in, &id, err, sizeof(err));
	json_decref(body);
	if (rc != 0)
		return reply_error(r, money_status(rc), err);
	log_info("http: income %lld recorded from the dashboard API",
	    (long long)id);
	return reply_json(r, MHD_HTTP_CREATED, json_pack("{s:I}", "id",
	    (json_int_t)id));
}

static enum MHD_Result
api_income_explain(struct req *r, const char *rest)
{
	const struct dash_source *s = r->h->src;
	struct money_explain e;
	long long id;
	char num[24];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : 0;
	json_t *j;
	int rc;

	if (slash == NULL || strcmp(slash, "/explain") != 0 || n == 0 ||
	    n >= sizeof(num))
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such endpoint");
	memcpy(num, rest, n);
	num[n] = '\0';
	if (http_parse_count(num, 1, (1LL << 62), &id) != 0)
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such income");
	if (!r->get)
		return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
	if ((rc = s->explain(s->money_ctx, id, &e)) != 0)
		return rc == MONEY_ENOENT ? reply_error(r, MHD_HTTP_NOT_FOUND,
		    "no such income") : reply_error(r,
		    MHD_HTTP_SERVICE_UNAVAILABLE, "the ledger did not answer");
	j = money_json_explain(&e);
	money_explain_free(&e);
	return reply_json(r, MHD_HTTP_OK, j);
}

static enum MHD_Result
route_money(struct req *r, const char *p)
{
	if (r->h->src->balances == NULL)
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such endpoint");
	if (strncmp(p, "/income/", 8) == 0)
		return api_income_explain(r, p + 8);
	if (strcmp(p, "/income") == 0) {
		r->allow = "GET, HEAD, POST";
		if (strcmp(r->method, MHD_HTTP_METHOD_POST) == 0)
			return api_income_add(r);
		if (!r->get)
			return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed");
		return api_income_list(r);
	}
	if (!r->get)
		return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
	return api_balances(r);
}

/* ---- routing ---- */

static enum MHD_Result
route_worker(struct req *r, const char *rest)
{
	char id[DASH_ID_MAX];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

	if (n == 0 || n >= sizeof(id))
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such worker");
	memcpy(id, rest, n);
	id[n] = '\0';
	if (slash && strcmp(slash, "/history") == 0) {
		if (!r->get)
			return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed");
		return api_worker_history(r, id);
	}
	if (slash)
		return api_command(r, id, slash + 1);
	if (!r->get)
		return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
	return api_worker(r, id);
}

static enum MHD_Result
route_api(struct req *r)
{
	const char *p = r->url + 4;	/* after "/api" */
	const struct dash_source *s = r->h->src;

	if (strncmp(p, "/workers/", 9) == 0)
		return route_worker(r, p + 9);
	if (strcmp(p, "/balances") == 0 || strcmp(p, "/income") == 0 ||
	    strncmp(p, "/income/", 8) == 0)
		return route_money(r, p);
	if (strcmp(p, "/stats") && strcmp(p, "/workers") && strcmp(p, "/jobs")
	    && strcmp(p, "/shares") && strcmp(p, "/blocks") &&
	    strcmp(p, "/payouts") && strcmp(p, "/config") &&
	    strcmp(p, "/hashrate") && strcmp(p, "/pool"))
		return reply_error(r, MHD_HTTP_NOT_FOUND, "no such endpoint");
	if (!r->get)
		return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
	if (strcmp(p, "/stats") == 0)
		return api_stats(r);
	if (strcmp(p, "/workers") == 0)
		return api_workers(r);
	if (strcmp(p, "/jobs") == 0)
		return api_list(r, "jobs", s->jobs);
	if (strcmp(p, "/shares") == 0)
		return api_list(r, "shares", s->shares);
	if (strcmp(p, "/blocks") == 0)
		return api_list(r, "blocks", s->blocks);
	if (strcmp(p, "/payouts") == 0)
		return api_payouts(r);
	if (strcmp(p, "/hashrate") == 0)
		return api_hashrate(r);
	if (strcmp(p, "/pool") == 0)
		return api_pool(r);
	return api_config(r);
}

/* A browser always sends Host; a page of another name that resolves to us
 * (DNS rebinding) sends its own, so only the allow-list is answered.
 * Without Host (HTTP/1.0 tools) there is no browser to fear. */
static int
host_allowed(struct req *r)
{
	const char *host;

	host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	if (host == NULL || dash_allow_host(atomic_load(&r->h->hosts), host))
		return 1;
	log_warnx("http: refused %s %s for Host \"%.100s\": not in [dashboard] "
	    "allowed_hosts", r->method, r->url, host);
	return 0;
}

/* libmicrohttpd's thread, after our 101 went out: the relay takes over. */
static void
ws_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct http *h = cls;
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Origin");

	(void)con_cls;
	if (ws_relay_start(h->relay, sock, extra_in, extra_in_size, origin,
	    urh) != 0)
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static int
header_has_token(struct MHD_Connection *conn, const char *name,
    const char *token)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
	size_t n = strlen(token);

	while (v != NULL && *v != '\0') {
		size_t len;
		while (*v == ' ' || *v == ',')
			v++;
		len = strcspn(v, ", ");
		if (len == n && strncasecmp(v, token, n) == 0)
			return 1;
		v += len;
	}
	return 0;
}

/*
 * /ws on this port (the seed's URL): a WebSocket upgrade, checked here as
 * the feed's own listener would (Origin; Host already), answered here and
 * relayed to the feed.  A plain GET gets 426.
 */
static enum MHD_Result
ws_upgrade(struct req *r)
{
	struct MHD_Response *resp;
	const char *key, *ver, *origin;
	char accept[WS_RELAY_ACCEPT_LEN];
	enum MHD_Result ret;

	if (r->h->relay == NULL)
		return reply_error(r, MHD_HTTP_NOT_FOUND, "the live feed is off");
	r->allow = "GET";
	if (strcmp(r->method, MHD_HTTP_METHOD_GET) != 0)
		return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
	key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Key");
	ver = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Version");
	if (!header_has_token(r->conn, "Upgrade", "websocket") ||
	    !header_has_token(r->conn, "Connection", "upgrade") ||
	    key == NULL || strlen(key) != 24 || ver == NULL ||
	    strcmp(ver, "13") != 0)
		return reply_error(r, MHD_HTTP_UPGRADE_REQUIRED,
		    "this is the live feed: open it as a WebSocket (version 13)");
	origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	if (!live_origin_ok(r->h->live, origin)) {
		log_warnx("http: refusing a live feed client from Origin "
		    "\"%.100s\": not in [dashboard] allowed_origins", origin);
		return reply_error(r, MHD_HTTP_FORBIDDEN, "origin not allowed");
	}
	if (ws_relay_full(r->h->relay)) {
		log_warnx("http: refusing a live feed client: the relay is full");
		return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "too many live feed clients");
	}
	if (ws_relay_accept_key(key, accept) != 0 ||
	    (resp = MHD_create_response_for_upgrade(ws_upgraded, r->h)) == NULL)
		return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "cannot upgrade");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
route(struct req *r)
{
	if (!host_allowed(r))
		return reply_error(r, MHD_HTTP_MISDIRECTED_REQUEST,
		    "this Host is not served here: add it to [dashboard] "
		    "allowed_hosts");
	if (strcmp(r->url, LIVE_PATH) == 0)
		return ws_upgrade(r);
	if (strcmp(r->url, "/api") == 0 || strncmp(r->url, "/api/", 5) == 0)
		return route_api(r);
	if (strcmp(r->url, "/1/summary") == 0 || strcmp(r->url, "/1/workers") == 0)
		return api_xmrig(r);
	if (strcmp(r->url, "/health") == 0 || strcmp(r->url, "/metrics") == 0) {
		if (!r->get)
			return reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "method not allowed");
		return r->url[1] == 'h' ? health(r) : metrics(r);
	}
	return static_file(r);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct body *b;
	struct req r;

	/* First call: headers only.  Then any body arrives in pieces: kept
	 * for POST /api/income (bounded), read and dropped for the rest. */
	if (*con_cls == NULL) {
		if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 &&
		    strcmp(url, "/api/income") == 0 &&
		    (b = calloc(1, sizeof(*b))) != NULL) {
			*con_cls = b;
			return MHD_YES;
		}
		*con_cls = &no_body;
		return MHD_YES;
	}
	b = *con_cls == &no_body ? NULL : *con_cls;
	if (*upload_data_size != 0) {
		if (b != NULL && !b->too_big && b->len + *upload_data_size <=
		    BODY_MAX) {
			char *nb = realloc(b->buf, b->len + *upload_data_size);

			if (nb != NULL) {
				memcpy(nb + b->len, upload_data, *upload_data_size);
				b->buf = nb;
				b->len += *upload_data_size;
			} else
				b->too_big = 1;
		} else if (b != NULL)
			b->too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	r.h = cls;
	r.conn = conn;
	r.url = url;
	r.method = method;
	r.allow = "GET, HEAD";
	r.get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	r.body = b != NULL && !b->too_big ? (b->buf ? b->buf : "") : NULL;
	r.bodylen = b != NULL ? b->len : 0;
	return route(&r);
}

/* Frees a request's body (POST /api/income), however it ended. */
static void
request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct body *b;

	(void)cls;
	(void)conn;
	(void)toe;
	if (con_cls == NULL || *con_cls == NULL)
		return;
	if (*con_cls != &no_body) {
		b = *con_cls;
		free(b->buf);
		free(b);
	}
	*con_cls = NULL;
}

/* fmt is libmicrohttpd's own; the attribute tells clang so. */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warnx("http: %s", line);
}

static struct addrinfo *
resolve(const char *listen, char *host, size_t hostlen)
{
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int p;

	if (dash_listen_parse(listen, host, hostlen, &p) != 0) {
		log_warnx("http: bad listen address \"%s\" (want host:port)",
		    listen);
		return NULL;
	}
	snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0) {
		log_warnx("http: cannot resolve listen address \"%s\"", listen);
		return NULL;
	}
	return ai;
}

struct http *
http_new(const struct http_config *cfg, const struct dash_source *src,
    struct live *live)
{
	const union MHD_DaemonInfo *info;
	const char *listen = cfg->listen ? cfg->listen : HTTP_DEFAULT_LISTEN;
	struct dash_allow *hosts = NULL;
	struct addrinfo *ai;
	struct http *h;
	unsigned int flags;
	char host[128], err[512];

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	pthread_mutex_init(&h->token_lock, NULL);
	h->src = src;
	h->live = live;
	if (cfg->static_dir != NULL)
		h->static_dir = strdup(cfg->static_dir);
	else {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s/www", conf_datadir());
		h->static_dir = strdup(dir);
	}
	h->ws_url = cfg->ws_url && cfg->ws_url[0] ? strdup(cfg->ws_url) : NULL;
	h->version = strdup(cfg->version ? cfg->version : PACKAGE_VERSION);
	h->metrics_retention_ms = cfg->metrics_retention_ms > 0 ?
	    cfg->metrics_retention_ms : METRICS_RETENTION_MS;
	h->ledger_sync = cfg->ledger_synchronous ?
	    strdup(cfg->ledger_synchronous) : NULL;
	if (cfg->token && cfg->token[0]) {
		token_hash(cfg->token, strlen(cfg->token), h->token_hash);
		h->has_token = 1;
	}
	if (cfg->nallowed_hosts > 0 && (hosts = dash_allow_new(
	    "[dashboard] allowed_hosts", cfg->allowed_hosts,
	    cfg->nallowed_hosts, 0, err, sizeof(err))) == NULL) {
		log_warnx("http: %s", err);
		http_free(h);
		return NULL;
	}
	if ((ai = resolve(listen, host, sizeof(host))) == NULL) {
		dash_allow_free(hosts);
		http_free(h);
		return NULL;
	}
	/* AUTO: epoll or poll, as select() fails past fd 1023 */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
	if (live != NULL) {
		char feed[NI_MAXHOST];
		live_connect_host(live, feed, sizeof(feed));
		if ((h->relay = ws_relay_new(feed, live_port(live),
		    cfg->ws_max_clients)) == NULL) {
			log_warnx("http: cannot relay /ws");
			dash_allow_free(hosts);
			freeaddrinfo(ai);
			http_free(h);
			return NULL;
		}
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)64,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (h->mhd == NULL) {
		log_warnx("http: cannot listen on %s", listen);
		dash_allow_free(hosts);
		http_free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	snprintf(h->listen_host, sizeof(h->listen_host), "%s", host);
	if (hosts == NULL && (hosts = dash_allow_default_hosts(host, h->port))
	    == NULL) {
		log_warnx("http: out of memory");
		http_free(h);
		return NULL;
	}
	atomic_store(&h->hosts, hosts);
	if (live != NULL)
		live_allow_default_origins(live, hosts);
	dash_allow_describe(hosts, err, sizeof(err));
	log_info("http: answering the Host names %s", err);
	if (cfg->nallowed_hosts == 0 && (host[0] == '\0' ||
	    strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0))
		log_warnx("http: the dashboard listens on every address but "
		    "answers only the names above: list the names and addresses "
		    "it is reached by in [dashboard] allowed_hosts");
	log_info("http: dashboard on %s (port %d), page from %s, commands %s",
	    listen, h->port, h->static_dir,
	    h->has_token ? "enabled" : "disabled (no token)");
	return h;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	/* The relays first: libmicrohttpd waits for upgraded connections. */
	ws_relay_free(h->relay);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	OPENSSL_cleanse(h->token_hash, sizeof(h->token_hash));
	pthread_mutex_destroy(&h->token_lock);
	dash_allow_free(atomic_load(&h->hosts));
	for (size_t i = 0; i < h->nretired; i++)
		dash_allow_free(h->retired[i]);
	free(h->retired);
	free(h->ledger_sync);
	free(h->static_dir);
	free(h->ws_url);
	free(h->version);
	free(h);
}

int
http_port(const struct http *h)
{
	return h->port;
}

void
http_set_token(struct http *h, const char *token)
{
	pthread_mutex_lock(&h->token_lock);
	if (token != NULL && token[0] != '\0') {
		token_hash(token, strlen(token), h->token_hash);
		h->has_token = 1;
	} else {
		OPENSSL_cleanse(h->token_hash, sizeof(h->token_hash));
		h->has_token = 0;
	}
	pthread_mutex_unlock(&h->token_lock);
}

struct dash_allow *
http_hosts_build(const struct http *h, char *const *items, size_t n,
    char *err, size_t errlen)
{
	if (n > 0)
		return dash_allow_new("[dashboard] allowed_hosts", items, n, 0,
		    err, errlen);
	if (h == NULL) {
		snprintf(err, errlen, "no dashboard");
		return NULL;
	}
	return dash_allow_default_hosts(h->listen_host, h->port);
}

void
http_set_hosts(struct http *h, struct dash_allow *hosts)
{
	struct dash_allow **r = realloc(h->retired, (h->nretired + 1) *
	    sizeof(*r));
	char desc[512];

	if (r == NULL) {
		/* Keep the old list rather than free one a request may read. */
		log_warnx("http: out of memory: allowed_hosts not changed");
		dash_allow_free(hosts);
		return;
	}
	h->retired = r;
	h->retired[h->nretired++] = atomic_exchange(&h->hosts, hosts);
	dash_allow_describe(hosts, desc, sizeof(desc));
	log_info("http: answering the Host names %s", desc);
}
