/*
 * fuzz_http.c: libFuzzer harness for what the dashboard decides about a
 * request before any handler runs, without a socket: the Host allow-list
 * (dash_allow_host, http.c's host_allowed), the live feed's Origin check
 * on a WebSocket upgrade (dash_allow_origin, live.c; the frames themselves
 * are parsed by libwebsockets, which we do not fuzz), the static file path
 * check (http_static_path_ok) and the paging numbers of the query string
 * (http_parse_count, as paging() calls it); and the Host and Origin
 * lines as configured allow-list entries (dash_allow_new).  Input:
 * "Host\nOrigin\nURL".
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/dash_allow.h"
#include "coordinator/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dash_allow *hosts, *origins, *listed;

static int
setup(void)
{
	static char *const items[] = { "pool.example.org", "10.0.0.1:8080",
		"[::1]:8080", "localhost" };
	char err[200];

	hosts = dash_allow_default_hosts("127.0.0.1", 8080);
	listed = dash_allow_new("allowed_hosts", items, 4, 0, err, sizeof(err));
	origins = hosts != NULL ? dash_allow_origins_of(hosts) : NULL;
	return hosts != NULL && listed != NULL && origins != NULL ? 0 : -1;
}

/* The same text as a configured entry ([dashboard] allowed_hosts or the
 * live feed's allowed_origins): parsed, then asked about a value. */
static void
allow_entry(char *entry, int is_origin, const char *value)
{
	char err[200], *items[1] = { entry };
	struct dash_allow *a;

	a = dash_allow_new(is_origin ? "allowed_origins" : "allowed_hosts", items,
	    1, is_origin, err, sizeof(err));
	if (a == NULL) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return;
	}
	if (is_origin)
		dash_allow_origin(a, value);
	else
		dash_allow_host(a, value);
	dash_allow_describe(a, err, sizeof(err));
	dash_allow_free(a);
}

/* The query string as paging() reads it: limit and offset, the last wins. */
static void
query(char *q)
{
	char *save = NULL, *kv, *eq;
	long long v;

	for (kv = strtok_r(q, "&", &save); kv != NULL;
	    kv = strtok_r(NULL, "&", &save)) {
		if ((eq = strchr(kv, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(kv, "limit") == 0 &&
		    http_parse_count(eq, 1, HTTP_LIMIT_MAX, &v) == 0 &&
		    (v < 1 || v > HTTP_LIMIT_MAX))
			abort();
		if (strcmp(kv, "offset") == 0 &&
		    http_parse_count(eq, 0, HTTP_OFFSET_MAX, &v) == 0 &&
		    (v < 0 || v > HTTP_OFFSET_MAX))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *host, *origin, *url, *q;

	if (hosts == NULL && setup() != 0)
		abort();
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	host = buf;
	origin = strchr(host, '\n');
	if (origin != NULL)
		*origin++ = '\0';
	else
		origin = "";
	url = strchr(origin, '\n');
	if (url != NULL)
		*url++ = '\0';
	else
		url = "/";
	dash_allow_host(hosts, host);
	dash_allow_host(listed, host);
	dash_allow_origin(origins, origin);
	allow_entry(host, 0, origin);
	allow_entry(origin, 1, origin);
	if ((q = strchr(url, '?')) != NULL)
		*q++ = '\0';
	if (http_static_path_ok(url) &&
	    (strstr(url, "/..") != NULL ||
	    url[0] != '/'))
		abort();
	if (q != NULL)
		query(q);
	free(buf);
	return 0;
}
