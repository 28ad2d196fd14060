/*
 * node_rpc.c: JSON-RPC over HTTP to the OpenSY node (node_rpc.h).  One
 * libcurl easy handle per client keeps its connection alive between calls;
 * the cookie file is re-read when its size or mtime changes, and after a
 * 401 (the node may have restarted and written a new cookie).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "coordinator/node_rpc.h"

#define NODE_RPC_REPLY_MAX (64u << 20)	/* a template of a full block */

struct node_rpc {
	pthread_mutex_t lock;		/* one call at a time */
	CURL *curl;
	char *url, *cookie_file, *user, *password;
	char *userpwd;			/* what we send now */
	struct stat cookie_st;		/* of the cookie read last */
	int have_cookie;
	atomic_int abort;
	uint64_t next_id;
};

struct buf {
	char *data;
	size_t len, cap;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

struct node_rpc *
node_rpc_new(const struct node_rpc_auth *auth)
{
	struct node_rpc *r;

	pthread_once(&curl_once, curl_init_once);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->url = dup_or_null(auth->url);
	r->cookie_file = dup_or_null(auth->cookie_file);
	r->user = dup_or_null(auth->user);
	r->password = dup_or_null(auth->password);
	r->next_id = 1;
	if (r->url == NULL || (r->curl = curl_easy_init()) == NULL) {
		node_rpc_free(r);
		return NULL;
	}
	return r;
}

void
node_rpc_free(struct node_rpc *r)
{
	if (r == NULL)
		return;
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	free(r->url);
	free(r->cookie_file);
	free(r->user);
	wipe_free(r->password);
	wipe_free(r->userpwd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void
node_rpc_abort(struct node_rpc *r)
{
	atomic_store(&r->abort, 1);
}

/* The credentials to send: the cookie file's "user:password" line (read
 * again when it changed, or when forced), else user:password.  0, or -1
 * with why in e.  Locked. */
static int
auth_refresh(struct node_rpc *r, int force, struct node_rpc_error *e)
{
	struct stat st;
	char line[512];
	FILE *f;
	size_t n;

	if (r->cookie_file == NULL) {
		if (r->userpwd == NULL && r->user != NULL) {
			size_t len = strlen(r->user) + 2 +
			    (r->password ? strlen(r->password) : 0);
			if ((r->userpwd = malloc(len)) == NULL)
				return -1;
			snprintf(r->userpwd, len, "%s:%s", r->user,
			    r->password ? r->password : "");
		}
		return 0;
	}
	if (stat(r->cookie_file, &st) != 0) {
		e->status = NODE_RPC_UNAUTHORIZED;
		snprintf(e->msg, sizeof(e->msg), "cookie file %s: cannot read it "
		    "(is the node running with this data directory?)",
		    r->cookie_file);
		return -1;
	}
	if (!force && r->have_cookie && st.st_size == r->cookie_st.st_size &&
	    st.st_mtim.tv_sec == r->cookie_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == r->cookie_st.st_mtim.tv_nsec &&
	    st.st_ino == r->cookie_st.st_ino)
		return 0;
	if ((f = fopen(r->cookie_file, "r")) == NULL ||
	    fgets(line, sizeof(line), f) == NULL) {
		if (f != NULL)
			fclose(f);
		e->status = NODE_RPC_UNAUTHORIZED;
		snprintf(e->msg, sizeof(e->msg), "cookie file %s: cannot read it",
		    r->cookie_file);
		return -1;
	}
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (strchr(line, ':') == NULL) {
		explicit_bzero(line, sizeof(line));
		e->status = NODE_RPC_UNAUTHORIZED;
		snprintf(e->msg, sizeof(e->msg), "cookie file %s: no user:password "
		    "line", r->cookie_file);
		return -1;
	}
	wipe_free(r->userpwd);
	r->userpwd = strdup(line);
	explicit_bzero(line, sizeof(line));
	r->cookie_st = st;
	r->have_cookie = 1;
	return r->userpwd != NULL ? 0 : -1;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > NODE_RPC_REPLY_MAX)
		return 0;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct node_rpc *r = arg;

	(void)dt; (void)dn; (void)ut; (void)un;
	return atomic_load(&r->abort) ? 1 : 0;
}

/* One HTTP exchange.  0 with the body in b and the HTTP status in *code,
 * or -1 with e filled.  Locked. */
static int
post(struct node_rpc *r, const char *body, int64_t timeout_ms, struct buf *b,
    long *code, struct node_rpc_error *e)
{
	struct curl_slist *hdr = NULL;
	CURLcode cc;

	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_reset(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_URL, r->url);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(r->curl, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "coopmine/" PACKAGE_VERSION);
	if (r->userpwd != NULL) {
		curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(r->curl, CURLOPT_USERPWD, r->userpwd);
	}
	cc = curl_easy_perform(r->curl);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK) {
		e->status = NODE_RPC_TRANSPORT;
		snprintf(e->msg, sizeof(e->msg), "%s", cc == CURLE_ABORTED_BY_CALLBACK ?
		    "stopped" : curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, code);
	return 0;
}

int
node_rpc_call(struct node_rpc *r, const char *method, json_t *params,
    int64_t timeout_ms, json_t **result, struct node_rpc_error *e)
{
	struct buf b = { NULL, 0, 0 };
	json_t *req, *rep = NULL, *err;
	json_error_t je;
	char *body;
	long code = 0;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	*result = NULL;
	if (params == NULL)
		params = json_array();
	req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "1.0", "id",
	    (json_int_t)0, "method", method, "params", params);
	pthread_mutex_lock(&r->lock);
	if (req != NULL)
		json_object_set_new(req, "id", json_integer((json_int_t)r->next_id++));
	body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL) {
		e->status = NODE_RPC_TRANSPORT;
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		goto out;
	}
	if (atomic_load(&r->abort)) {
		e->status = NODE_RPC_TRANSPORT;
		snprintf(e->msg, sizeof(e->msg), "stopped");
		goto out;
	}
	if (auth_refresh(r, 0, e) != 0)
		goto out;
	if (post(r, body, timeout_ms, &b, &code, e) != 0)
		goto out;
	if (code == 401 && r->cookie_file != NULL && auth_refresh(r, 1, e) == 0) {
		/* A new cookie (the node restarted): once more with it. */
		b.len = 0;
		if (post(r, body, timeout_ms, &b, &code, e) != 0)
			goto out;
	}
	if (code == 401 || code == 403) {
		e->status = NODE_RPC_UNAUTHORIZED;
		snprintf(e->msg, sizeof(e->msg), "HTTP %ld: the node refused our "
		    "credentials (check [node] cookie_file or rpc_user/"
		    "rpc_password)", code);
		goto out;
	}
	if (b.data == NULL || (rep = json_loadb(b.data, b.len, 0, &je)) == NULL ||
	    !json_is_object(rep)) {
		e->status = code >= 400 ? NODE_RPC_TRANSPORT : NODE_RPC_BAD_REPLY;
		snprintf(e->msg, sizeof(e->msg), "HTTP %ld: %s", code,
		    b.data == NULL ? "empty reply" : "not a JSON-RPC reply");
		goto out;
	}
	err = json_object_get(rep, "error");
	if (err != NULL && !json_is_null(err)) {
		json_t *m = json_object_get(err, "message");
		e->status = NODE_RPC_ERROR;
		e->code = json_integer_value(json_object_get(err, "code"));
		snprintf(e->msg, sizeof(e->msg), "%s",
		    json_is_string(m) ? json_string_value(m) : "error");
		goto out;
	}
	if ((*result = json_object_get(rep, "result")) == NULL) {
		e->status = NODE_RPC_BAD_REPLY;
		snprintf(e->msg, sizeof(e->msg), "HTTP %ld: no result", code);
		goto out;
	}
	json_incref(*result);
	rc = 0;
out:
	pthread_mutex_unlock(&r->lock);
	json_decref(rep);
	free(body);
	free(b.data);
	return rc;
}
