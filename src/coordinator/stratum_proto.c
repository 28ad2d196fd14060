/*
 * stratum_proto.c: the Stratum v1 (XMRig flavour) wire format as pure
 * functions.  Every byte from a pool passes through here first, so nothing
 * in it may trust its input: wrong types, hex of the wrong length, huge
 * numbers all end as STRATUM_MSG_INVALID or a refused job, never a crash.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/target.h"
#include "coordinator/stratum_proto.h"

int
stratum_linebuf_init(struct stratum_linebuf *lb)
{
	memset(lb, 0, sizeof(*lb));
	if ((lb->buf = malloc(STRATUM_LINE_MAX + 1)) == NULL)
		return -1;
	return 0;
}

void
stratum_linebuf_free(struct stratum_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->off = 0;
}

void
stratum_linebuf_reset(struct stratum_linebuf *lb)
{
	lb->len = lb->off = 0;
}

char *
stratum_linebuf_space(struct stratum_linebuf *lb, size_t *avail)
{
	if (lb->off > 0) {	/* move the partial line to the front */
		memmove(lb->buf, lb->buf + lb->off, lb->len - lb->off);
		lb->len -= lb->off;
		lb->off = 0;
	}
	*avail = STRATUM_LINE_MAX - lb->len;
	return lb->buf + lb->len;
}

void
stratum_linebuf_commit(struct stratum_linebuf *lb, size_t n)
{
	if (n > STRATUM_LINE_MAX - lb->len)
		n = STRATUM_LINE_MAX - lb->len;
	lb->len += n;
}

int
stratum_linebuf_next(struct stratum_linebuf *lb, char **line, size_t *len)
{
	char *start = lb->buf + lb->off, *nl;
	size_t n = lb->len - lb->off;

	nl = memchr(start, '\n', n);
	if (nl == NULL) {
		/* A full buffer without a newline is a line over the limit. */
		if (lb->off == 0 && lb->len >= STRATUM_LINE_MAX)
			return -1;
		return 0;
	}
	*nl = '\0';
	*len = (size_t)(nl - start);
	if (*len > 0 && start[*len - 1] == '\r')
		start[--*len] = '\0';
	*line = start;
	lb->off += (size_t)(nl - start) + 1;
	if (lb->off == lb->len)
		lb->off = lb->len = 0;
	return 1;
}

unsigned
stratum_nonce_offset(enum upstream_coin coin)
{
	return coin == UPSTREAM_COIN_MONERO ? UPSTREAM_NONCE_OFFSET_MONERO :
	    UPSTREAM_NONCE_OFFSET_OPENSY;
}

int
stratum_coin_parse(const char *s, enum upstream_coin *coin)
{
	if (s == NULL || strcasecmp(s, "opensy") == 0)
		*coin = UPSTREAM_COIN_OPENSY;
	else if (strcasecmp(s, "monero") == 0)
		*coin = UPSTREAM_COIN_MONERO;
	else
		return -1;
	return 0;
}

const char *
stratum_coin_name(enum upstream_coin coin)
{
	return coin == UPSTREAM_COIN_MONERO ? "monero" : "opensy";
}

static void
copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static int
msg_invalid(struct stratum_msg *m, const char *why)
{
	m->type = STRATUM_MSG_INVALID;
	copy_str(m->err, sizeof(m->err), why);
	return -1;
}

/* Printable ASCII only: ids end up in logs and in our JSON. */
static int
job_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= UPSTREAM_JOB_ID_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int job_fail(struct stratum_msg *m, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

static int
job_fail(struct stratum_msg *m, const char *fmt, ...)
{
	va_list ap;

	m->job_error = 1;
	m->has_job = 0;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Decodes and checks a job object into m->job. */
static int
parse_job(json_t *o, enum upstream_coin coin, int nicehash,
    struct stratum_msg *m)
{
	struct upstream_job *j = &m->job;
	json_t *v;
	const char *s;
	size_t n;

	memset(j, 0, sizeof(*j));
	if (!json_is_object(o))
		return job_fail(m, "job is not an object");
	v = json_object_get(o, "job_id");
	if (!json_is_string(v) || !job_id_ok(json_string_value(v)))
		return job_fail(m, "job_id missing or malformed");
	copy_str(j->job_id, sizeof(j->job_id), json_string_value(v));

	v = json_object_get(o, "blob");
	if (!json_is_string(v))
		return job_fail(m, "job %s: blob missing", j->job_id);
	if (hex_decode(json_string_value(v), j->blob, sizeof(j->blob), &n) != 0)
		return job_fail(m, "job %s: blob is not hex or too long", j->job_id);
	j->blob_len = n;
	j->nonce_offset = stratum_nonce_offset(coin);
	if (coin == UPSTREAM_COIN_OPENSY && n != 80)
		return job_fail(m, "job %s: an opensy blob must be 80 bytes "
		    "(wrong coin for this pool?)", j->job_id);
	if (coin == UPSTREAM_COIN_MONERO && (n < j->nonce_offset + 4 || n == 80))
		return job_fail(m, "job %s: blob length does not fit a monero "
		    "hashing blob (wrong coin for this pool?)", j->job_id);

	v = json_object_get(o, "target");
	if (!json_is_string(v) ||
	    target_from_stratum_hex(json_string_value(v), &j->target) != 0)
		return job_fail(m, "job %s: target must be 8 or 16 hex digits",
		    j->job_id);
	j->difficulty = target_to_difficulty(j->target);

	v = json_object_get(o, "seed_hash");
	if (!json_is_string(v) ||
	    hex_decode_exact(json_string_value(v), j->seed_hash, 32) != 0)
		return job_fail(m, "job %s: seed_hash must be 64 hex digits",
		    j->job_id);
	j->has_seed = 1;

	j->height = -1;
	v = json_object_get(o, "height");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return job_fail(m, "job %s: height is not a number",
			    j->job_id);
		j->height = json_integer_value(v);
	}

	v = json_object_get(o, "algo");
	s = "rx/0";
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return job_fail(m, "job %s: algo is not a string", j->job_id);
		s = json_string_value(v);
	}
	if (strcasecmp(s, "rx/0") != 0 && strcasecmp(s, "randomx") != 0)
		return job_fail(m, "job with algo %s: we mine rx/0 only", s);
	copy_str(j->algo, sizeof(j->algo), "rx/0");

	if (nicehash) {
		j->nicehash = 1;
		j->nicehash_byte = j->blob[j->nonce_offset + 3];
	}
	m->has_job = 1;
	return 0;
}

static void
parse_extensions(json_t *ext, struct stratum_msg *m)
{
	size_t i;
	json_t *e;

	if (!json_is_array(ext))
		return;
	json_array_foreach(ext, i, e) {
		if (!json_is_string(e))
			continue;
		if (strcasecmp(json_string_value(e), "nicehash") == 0)
			m->ext_nicehash = 1;
		else if (strcasecmp(json_string_value(e), "keepalive") == 0)
			m->ext_keepalive = 1;
	}
}

static void
parse_response(json_t *root, json_t *id, enum upstream_coin coin,
    int nicehash, struct stratum_msg *m)
{
	json_t *err = json_object_get(root, "error");
	json_t *res = json_object_get(root, "result");
	json_t *v;

	m->type = STRATUM_MSG_RESPONSE;
	m->id = json_integer_value(id);
	if (err != NULL && !json_is_null(err)) {
		m->is_error = 1;
		if (json_is_object(err)) {
			v = json_object_get(err, "message");
			copy_str(m->error, sizeof(m->error),
			    json_is_string(v) ? json_string_value(v) : "(no message)");
			v = json_object_get(err, "code");
			if (json_is_integer(v))
				m->error_code = (int)json_integer_value(v);
		} else if (json_is_string(err))
			copy_str(m->error, sizeof(m->error), json_string_value(err));
		else
			copy_str(m->error, sizeof(m->error), "(malformed error)");
		return;
	}
	if (!json_is_object(res)) {
		/* "result": true and the like: accepted without details. */
		if (json_is_true(res))
			copy_str(m->status, sizeof(m->status), "OK");
		else {
			m->is_error = 1;
			copy_str(m->error, sizeof(m->error), "(no result)");
		}
		return;
	}
	v = json_object_get(res, "status");
	if (json_is_string(v))
		copy_str(m->status, sizeof(m->status), json_string_value(v));
	v = json_object_get(res, "id");
	if (json_is_string(v) && strlen(json_string_value(v)) < STRATUM_SESSION_MAX)
		copy_str(m->session, sizeof(m->session), json_string_value(v));
	parse_extensions(json_object_get(res, "extensions"), m);
	v = json_object_get(res, "job");
	if (v != NULL && !json_is_null(v))
		parse_job(v, coin, nicehash || m->ext_nicehash, m);
}

enum stratum_msg_type
stratum_parse_line(const char *line, size_t len, enum upstream_coin coin,
    int nicehash, struct stratum_msg *m)
{
	json_error_t jerr;
	json_t *root, *id, *method;

	memset(m, 0, sizeof(*m));
	m->id = -1;
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(m->err, sizeof(m->err), "not JSON: %.120s", jerr.text);
		m->type = STRATUM_MSG_INVALID;
		return m->type;
	}
	if (!json_is_object(root)) {
		msg_invalid(m, "not a JSON object");
		goto out;
	}
	method = json_object_get(root, "method");
	id = json_object_get(root, "id");
	if (method != NULL && !json_is_null(method)) {
		if (!json_is_string(method)) {
			msg_invalid(m, "method is not a string");
			goto out;
		}
		if (strcmp(json_string_value(method), "job") == 0) {
			m->type = STRATUM_MSG_JOB;
			parse_job(json_object_get(root, "params"), coin,
			    nicehash, m);
		} else {
			m->type = STRATUM_MSG_UNKNOWN;
			copy_str(m->method, sizeof(m->method),
			    json_string_value(method));
		}
		goto out;
	}
	if (!json_is_integer(id) || json_integer_value(id) < 0) {
		msg_invalid(m, "a response without a numeric id");
		goto out;
	}
	parse_response(root, id, coin, nicehash, m);
out:
	json_decref(root);
	return m->type;
}

enum upstream_reject
stratum_map_error(const char *msg)
{
	static const struct {
		const char *needle;
		enum upstream_reject r;
	} map[] = {
		{ "low difficulty", UPSTREAM_REJ_LOW_DIFF },
		{ "low diff", UPSTREAM_REJ_LOW_DIFF },
		{ "duplicate", UPSTREAM_REJ_DUPLICATE },
		{ "invalid job", UPSTREAM_REJ_INVALID_JOB },
		{ "job not found", UPSTREAM_REJ_INVALID_JOB },
		{ "unknown job", UPSTREAM_REJ_INVALID_JOB },
		{ "block expired", UPSTREAM_REJ_STALE },
		{ "stale", UPSTREAM_REJ_STALE },
		{ "expired", UPSTREAM_REJ_STALE },
		{ "unauthenticated", UPSTREAM_REJ_UNAUTHENTICATED },
		{ "unauthorized", UPSTREAM_REJ_UNAUTHENTICATED },
		{ "not authorized", UPSTREAM_REJ_UNAUTHENTICATED },
		{ "invalid nonce", UPSTREAM_REJ_INVALID_NONCE },
		{ "banned", UPSTREAM_REJ_BANNED },
		{ "invalid share", UPSTREAM_REJ_BAD_HASH },
		{ "invalid result", UPSTREAM_REJ_BAD_HASH },
		{ "bad hash", UPSTREAM_REJ_BAD_HASH },
		{ "incorrect hash", UPSTREAM_REJ_BAD_HASH },
	};
	char low[UPSTREAM_MSG_MAX];
	size_t i;

	if (msg == NULL)
		return UPSTREAM_REJ_OTHER;
	for (i = 0; msg[i] != '\0' && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)msg[i]);
	low[i] = '\0';
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strstr(low, map[i].needle) != NULL)
			return map[i].r;
	return UPSTREAM_REJ_OTHER;
}

const char *
upstream_reject_name(enum upstream_reject r)
{
	switch (r) {
	case UPSTREAM_OK: return "accepted";
	case UPSTREAM_REJ_LOW_DIFF: return "low-difficulty";
	case UPSTREAM_REJ_DUPLICATE: return "duplicate";
	case UPSTREAM_REJ_INVALID_JOB: return "invalid-job";
	case UPSTREAM_REJ_STALE: return "stale";
	case UPSTREAM_REJ_UNAUTHENTICATED: return "unauthenticated";
	case UPSTREAM_REJ_INVALID_NONCE: return "invalid-nonce";
	case UPSTREAM_REJ_BAD_HASH: return "bad-hash";
	case UPSTREAM_REJ_BANNED: return "banned";
	case UPSTREAM_REJ_OTHER: return "other";
	case UPSTREAM_REJ_TIMEOUT: return "timeout";
	case UPSTREAM_REJ_LOST: return "lost";
	}
	return "unknown";
}

/* Encodes obj as one line into buf; steals obj. */
static int
emit(char *buf, size_t len, json_t *obj)
{
	char *s;
	size_t n;
	int rc = -1;

	if (obj == NULL)
		return -1;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n + 2 <= len && n + 1 <= (size_t)STRATUM_LINE_MAX) {
		memcpy(buf, s, n);
		buf[n] = '\n';
		buf[n + 1] = '\0';
		rc = (int)(n + 1);
	}
	free(s);
	return rc;
}

int
stratum_build_login(char *buf, size_t len, int64_t id, const char *login,
    const char *pass, const char *agent, const char *rig_id)
{
	json_t *params;

	if (login == NULL || id < 0)
		return -1;
	params = json_pack("{s:s, s:s, s:s, s:[s]}", "login", login,
	    "pass", pass != NULL ? pass : "x", "agent",
	    agent != NULL ? agent : "coopmine/" PACKAGE_VERSION, "algo", "rx/0");
	if (params == NULL)
		return -1;
	if (rig_id != NULL && *rig_id != '\0')
		json_object_set_new(params, "rigid", json_string(rig_id));
	return emit(buf, len, json_pack("{s:I, s:s, s:s, s:o}", "id",
	    (json_int_t)id, "jsonrpc", "2.0", "method", "login", "params", params));
}

int
stratum_build_submit(char *buf, size_t len, int64_t id, const char *session,
    const char *job_id, const uint8_t nonce[4], const uint8_t result[32])
{
	char nhex[9], rhex[65];

	if (session == NULL || job_id == NULL || !job_id_ok(job_id) || id < 0)
		return -1;
	hex_encode(nonce, 4, nhex, sizeof(nhex));
	hex_encode(result, 32, rhex, sizeof(rhex));
	return emit(buf, len, json_pack("{s:I, s:s, s:s, s:{s:s, s:s, s:s, s:s}}",
	    "id", (json_int_t)id, "jsonrpc", "2.0", "method", "submit", "params",
	    "id", session, "job_id", job_id, "nonce", nhex, "result", rhex));
}

int
stratum_build_keepalived(char *buf, size_t len, int64_t id, const char *session)
{
	if (session == NULL || id < 0)
		return -1;
	return emit(buf, len, json_pack("{s:I, s:s, s:s, s:{s:s}}", "id",
	    (json_int_t)id, "jsonrpc", "2.0", "method", "keepalived", "params",
	    "id", session));
}

int
stratum_url_parse(const char *url, struct stratum_url *out, char *err,
    size_t errlen)
{
	const char *p, *colon, *end;
	size_t hlen;
	char *e;
	long port;

	memset(out, 0, sizeof(*out));
	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "empty pool URL");
		return -1;
	}
	if (strncmp(url, "stratum+tcp://", 14) == 0)
		p = url + 14;
	else if (strncmp(url, "stratum+ssl://", 14) == 0 ||
	    strncmp(url, "stratum+tls://", 14) == 0) {
		p = url + 14;
		out->tls = 1;
	} else if (strstr(url, "://") == NULL)
		p = url;	/* bare host:port means plain TCP */
	else {
		snprintf(err, errlen, "pool URL %s: scheme must be stratum+tcp://, "
		    "stratum+ssl:// or stratum+tls://", url);
		return -1;
	}
	end = p + strcspn(p, "/");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hlen = (size_t)(rb - p - 1);
		if (hlen == 0 || hlen >= sizeof(out->host))
			goto bad;
		memcpy(out->host, p + 1, hlen);
		colon = rb + 1;
	} else {
		colon = NULL;
		for (const char *q = p; q < end; q++)
			if (*q == ':')
				colon = q;
		if (colon == NULL || colon == p)
			goto bad;
		hlen = (size_t)(colon - p);
		if (hlen >= sizeof(out->host))
			goto bad;
		memcpy(out->host, p, hlen);
	}
	port = strtol(colon + 1, &e, 10);
	if (e != end || port < 1 || port > 65535)
		goto bad;
	snprintf(out->port, sizeof(out->port), "%ld", port);
	return 0;
bad:
	snprintf(err, errlen, "pool URL %s: expected host:port", url);
	return -1;
}

int
stratum_fingerprint_parse(const char *s, uint8_t out[32])
{
	char hex[65];
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == ' ')
			continue;
		if (n >= 64)
			return -1;
		hex[n++] = *s;
	}
	hex[n] = '\0';
	return n == 64 && hex_decode_exact(hex, out, 32) == 0 ? 0 : -1;
}
