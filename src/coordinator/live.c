/*
 * live.c: the /ws live feed.  One libwebsockets context with its own
 * listener and service thread.  Messages (snapshots and the coordinator's
 * events) go into one bounded ring; each client only remembers the next
 * sequence number it has to send, so a slow client costs no memory: when
 * the ring has moved past it, it is dropped.  A browser's upgrade is taken
 * only from an allowed Origin.  Created by the coordinator; live_publish()
 * is its only verb called from other threads.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <netdb.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/dash_allow.h"
#include "coordinator/dash_json.h"
#include "coordinator/live.h"

#define LIVE_PROTOCOL	"coopmine-live"
#define LIVE_MAX_BYTES	(8u << 20)	/* the ring never holds more */

struct live_msg {
	unsigned char	*buf;	/* LWS_PRE bytes of headroom, then text */
	size_t		 len;
};

/* Per connection (libwebsockets allocates it); service thread only. */
struct client {
	struct lws	*wsi;
	uint64_t	 next;		/* sequence number to send next */
	unsigned char	*hello;		/* latest snapshot, sent first */
	size_t		 hello_len;
	int		 listed, doomed;
	struct client	*link;
};

struct live {
	struct live_config	 cfg;
	const struct dash_source *src;
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;
	const struct lws_protocols *proto;
	lws_sorted_usec_list_t	 tick;
	pthread_t		 thread;
	atomic_int		 stop;
	int			 running;	/* the service thread exists */
	int			 port;
	char			 bind_addr[NI_MAXHOST];	/* the vhost keeps a
							 * pointer to it */
	/* configured, or set once by live_allow_default_origins(); until
	 * then only clients without an Origin (not browsers) get in */
	struct dash_allow *_Atomic origins;
	/* lists replaced by SIGHUP, freed with the feed (a check may still
	 * read one) */
	pthread_mutex_t		 retired_lock;	/* guards retired, nretired */
	struct dash_allow	**retired;
	size_t			 nretired;

	pthread_mutex_t		 ring_lock;	/* guards ring, head, tail, bytes */
	struct live_msg		*ring;
	uint64_t		 head;		/* next sequence number */
	uint64_t		 tail;		/* oldest held */
	size_t			 bytes;

	/* service thread only */
	struct client		*clients;
	unsigned char		*latest;
	size_t			 latest_len;

	atomic_uint_fast64_t	 nclients, dropped, refused, messages;
};

static const char *event_names[] = {
	"worker_joined", "worker_left", "worker_offline", "share", "job",
	"block", "pool_switch"
};

const char *
live_event_name(enum live_event ev)
{
	if ((size_t)ev >= sizeof(event_names) / sizeof(event_names[0]))
		return "unknown";
	return event_names[ev];
}

/* A message as libwebsockets wants it: headroom, then the text. */
static unsigned char *
frame_new(const char *type, json_t *data, size_t *len)
{
	json_t *msg;
	unsigned char *buf;
	char *text;

	msg = json_pack("{s:s, s:I, s:O}", "type", type,
	    "time", (json_int_t)clock_wall_ms(), "data", data);
	if (msg == NULL)
		return NULL;
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (text == NULL)
		return NULL;
	*len = strlen(text);
	if ((buf = malloc(LWS_PRE + *len)) != NULL)
		memcpy(buf + LWS_PRE, text, *len);
	free(text);
	return buf;
}

static void
ring_evict_locked(struct live *lv)
{
	struct live_msg *m = &lv->ring[lv->tail % lv->cfg.backlog];

	lv->bytes -= m->len;
	free(m->buf);
	m->buf = NULL;
	lv->tail++;
}

/* Takes buf. */
static void
ring_push(struct live *lv, unsigned char *buf, size_t len)
{
	struct live_msg *m;

	pthread_mutex_lock(&lv->ring_lock);
	while (lv->head > lv->tail && (lv->head - lv->tail >= lv->cfg.backlog ||
	    lv->bytes + len > LIVE_MAX_BYTES))
		ring_evict_locked(lv);
	m = &lv->ring[lv->head % lv->cfg.backlog];
	m->buf = buf;
	m->len = len;
	lv->bytes += len;
	lv->head++;
	pthread_mutex_unlock(&lv->ring_lock);
	atomic_fetch_add(&lv->messages, 1);
}

/* Service thread: drop every client the ring has left behind.  Its
 * socket may never become writable again, so waiting is no option. */
static void
drop_laggards(struct live *lv)
{
	struct client *c;
	uint64_t tail;

	pthread_mutex_lock(&lv->ring_lock);
	tail = lv->tail;
	pthread_mutex_unlock(&lv->ring_lock);
	for (c = lv->clients; c; c = c->link) {
		if (c->doomed || c->next >= tail)
			continue;
		c->doomed = 1;
		atomic_fetch_add(&lv->dropped, 1);
		log_info("live: dropping a client %llu messages behind",
		    (unsigned long long)(tail - c->next));
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
	}
}

static void
tick(lws_sorted_usec_list_t *sul)
{
	struct live *lv = lws_container_of(sul, struct live, tick);
	unsigned char *buf;
	json_t *snap;
	size_t len;

	if ((snap = dash_json_snapshot(lv->src)) != NULL) {
		buf = frame_new("stats", snap, &len);
		json_decref(snap);
		if (buf) {
			free(lv->latest);
			lv->latest = malloc(LWS_PRE + len);
			if (lv->latest) {
				memcpy(lv->latest, buf, LWS_PRE + len);
				lv->latest_len = len;
			}
			ring_push(lv, buf, len);
		}
	}
	drop_laggards(lv);
	lws_callback_on_writable_all_protocol_vhost(lv->vhost, lv->proto);
	lws_sul_schedule(lv->ctx, 0, &lv->tick, tick,
	    (lws_usec_t)lv->cfg.snapshot_ms * LWS_US_PER_MS);
}

static void
client_unlist(struct live *lv, struct client *c)
{
	struct client **pp;

	for (pp = &lv->clients; *pp; pp = &(*pp)->link)
		if (*pp == c) {
			*pp = c->link;
			break;
		}
	c->listed = 0;
	atomic_fetch_sub(&lv->nclients, 1);
}

/* A page of another site (or of a rebound name) must not read the feed:
 * browsers always send Origin, other clients need not. */
static int
origin_allowed(struct live *lv, struct lws *wsi)
{
	char origin[300];
	int n;

	n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
	if (n <= 0)
		return 1;
	if (n < (int)sizeof(origin) &&
	    lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) > 0 &&
	    dash_allow_origin(atomic_load(&lv->origins), origin))
		return 1;
	log_warnx("live: refusing a client from Origin \"%.100s\": not in "
	    "[dashboard] allowed_origins", n < (int)sizeof(origin) ? origin :
	    "(too long)");
	return 0;
}

static int
client_filter(struct live *lv, struct lws *wsi)
{
	char uri[64];

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, LIVE_PATH) != 0)
		return -1;
	if (!origin_allowed(lv, wsi)) {
		lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN,
		    "origin not allowed");
		return -1;
	}
	if (atomic_load(&lv->nclients) >= lv->cfg.max_clients) {
		atomic_fetch_add(&lv->refused, 1);
		log_warnx("live: refusing a client: %zu clients already",
		    lv->cfg.max_clients);
		return -1;
	}
	return 0;
}

static void
client_established(struct live *lv, struct client *c, struct lws *wsi)
{
	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	pthread_mutex_lock(&lv->ring_lock);
	c->next = lv->head;
	pthread_mutex_unlock(&lv->ring_lock);
	if (lv->latest && (c->hello = malloc(LWS_PRE + lv->latest_len))) {
		memcpy(c->hello, lv->latest, LWS_PRE + lv->latest_len);
		c->hello_len = lv->latest_len;
	}
	c->link = lv->clients;
	lv->clients = c;
	c->listed = 1;
	atomic_fetch_add(&lv->nclients, 1);
	lws_callback_on_writable(wsi);
}

/* Sends one message (libwebsockets allows one write per callback). */
static int
client_writeable(struct live *lv, struct client *c)
{
	struct live_msg *m;
	unsigned char *copy;
	size_t len;
	int more;

	if (c->doomed)
		return -1;
	if (c->hello) {
		copy = c->hello;
		len = c->hello_len;
		c->hello = NULL;
	} else {
		pthread_mutex_lock(&lv->ring_lock);
		if (c->next < lv->tail) {
			pthread_mutex_unlock(&lv->ring_lock);
			c->doomed = 1;
			atomic_fetch_add(&lv->dropped, 1);
			log_info("live: dropping a client that fell behind");
			return -1;
		}
		if (c->next >= lv->head) {
			pthread_mutex_unlock(&lv->ring_lock);
			return 0;
		}
		m = &lv->ring[c->next % lv->cfg.backlog];
		len = m->len;
		if ((copy = malloc(LWS_PRE + len)) != NULL)
			memcpy(copy + LWS_PRE, m->buf + LWS_PRE, len);
		pthread_mutex_unlock(&lv->ring_lock);
		if (copy == NULL)
			return -1;
		c->next++;
	}
	if (lws_write(c->wsi, copy + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len) {
		free(copy);
		return -1;
	}
	free(copy);
	pthread_mutex_lock(&lv->ring_lock);
	more = c->next < lv->head;
	pthread_mutex_unlock(&lv->ring_lock);
	if (more)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static int
live_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct live *lv = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;
	struct client *c = user;

	if (lv == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return client_filter(lv, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		client_established(lv, c, wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return client_writeable(lv, c);
	case LWS_CALLBACK_RECEIVE:
		return 0;	/* the feed is one-way; input is ignored */
	case LWS_CALLBACK_CLOSED:
		if (c->listed)
			client_unlist(lv, c);
		free(c->hello);
		c->hello = NULL;
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (lv->vhost) {
			drop_laggards(lv);
			lws_callback_on_writable_all_protocol_vhost(lv->vhost,
			    lv->proto);
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols live_protocols[] = {
	{ LIVE_PROTOCOL, live_callback, sizeof(struct client), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warnx("live: libwebsockets: %.*s", (int)n, line);
	else
		log_debug("live: libwebsockets: %.*s", (int)n, line);
}

static void *
live_thread(void *arg)
{
	struct live *lv = arg;

	while (!atomic_load(&lv->stop))
		if (lws_service(lv->ctx, 0) < 0)
			break;
	return NULL;
}

/*
 * What the listener binds, exactly as configured.  libwebsockets 4.1 opens
 * an IPv6 socket whenever it can and then fails to put an IPv4 address
 * into it, so "127.0.0.1" ended up on [::] (every interface): an IPv4
 * address therefore gets an IPv4-only vhost, an IPv6 one an IPv6-only
 * socket.  A name is resolved here, once, to its first address, so that
 * libwebsockets never takes it for an interface name.  An empty host
 * (":8081") is every address.
 */
static int
live_bind_address(struct live *lv, const char *listen, int *port,
    uint64_t *options)
{
	struct addrinfo hints, *ai;
	char host[NI_MAXHOST];
	int rc;

	if (dash_listen_parse(listen, host, sizeof(host), port) != 0) {
		log_warnx("live: bad listen address \"%s\" (want host:port, "
		    "[v6]:port or :port)", listen);
		return -EINVAL;
	}
	lv->bind_addr[0] = '\0';
	if (host[0] == '\0')
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if ((rc = getaddrinfo(host, NULL, &hints, &ai)) == EAI_NONAME) {
		hints.ai_flags = 0;
		rc = getaddrinfo(host, NULL, &hints, &ai);
	}
	if (rc != 0) {
		log_warnx("live: cannot resolve the listen address \"%s\": %s",
		    listen, gai_strerror(rc));
		return -EINVAL;
	}
	rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, lv->bind_addr,
	    sizeof(lv->bind_addr), NULL, 0, NI_NUMERICHOST);
	if (rc == 0 && strchr(lv->bind_addr, '%') != NULL)
		rc = EAI_FAMILY;	/* a scope libwebsockets cannot bind */
	if (rc == 0 && ai->ai_family == AF_INET)
		*options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	else if (rc == 0 && ai->ai_family == AF_INET6)
		*options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY |
		    LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
	else if (rc == 0)
		rc = EAI_FAMILY;
	freeaddrinfo(ai);
	if (rc != 0) {
		log_warnx("live: cannot listen on \"%s\": not an IPv4 or IPv6 "
		    "address", listen);
		return -EINVAL;
	}
	if (strcmp(lv->bind_addr, host) != 0)
		log_info("live: %s resolved to %s: listening there only", host,
		    lv->bind_addr);
	return 0;
}

static int
live_listen(struct live *lv, const char *listen)
{
	struct lws_context_creation_info info;
	struct rlimit rl;
	uint64_t vhost_options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	int port;

	if (live_bind_address(lv, listen, &port, &vhost_options) != 0)
		return -EINVAL;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.user = lv;
	info.gid = -1;
	info.uid = -1;
	/* libwebsockets indexes a table by fd number, so the bound must
	 * cover every fd the coordinator may have open (gRPC peers, ledger),
	 * not just our clients; only a huge process limit is capped. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY
	    || rl.rlim_cur > 65536))
		info.fd_limit_per_thread = 65536;
	info.timeout_secs = 10;
	if ((lv->ctx = lws_create_context(&info)) == NULL) {
		log_warnx("live: cannot create the libwebsockets context");
		return -ENOMEM;
	}
	info.options = vhost_options;
	info.port = port;
	info.iface = lv->bind_addr[0] ? lv->bind_addr : NULL;
	info.protocols = live_protocols;
	info.vhost_name = "live";
	if ((lv->vhost = lws_create_vhost(lv->ctx, &info)) == NULL) {
		log_warnx("live: cannot listen on %s", listen);
		return -EADDRINUSE;
	}
	lv->proto = lws_vhost_name_to_protocol(lv->vhost, LIVE_PROTOCOL);
	lv->port = lws_get_vhost_listen_port(lv->vhost);
	return 0;
}

struct live *
live_new(const struct live_config *cfg, const struct dash_source *src)
{
	struct dash_allow *origins;
	struct live *lv;
	const char *listen;
	char err[512];

	if ((lv = calloc(1, sizeof(*lv))) == NULL)
		return NULL;
	pthread_mutex_init(&lv->retired_lock, NULL);
	if (cfg->nallowed_origins > 0) {
		if ((origins = dash_allow_new("[dashboard] allowed_origins",
		    cfg->allowed_origins, cfg->nallowed_origins, 1, err,
		    sizeof(err))) == NULL) {
			log_warnx("live: %s", err);
			pthread_mutex_destroy(&lv->retired_lock);
			free(lv);
			return NULL;
		}
		dash_allow_describe(origins, err, sizeof(err));
		log_info("live: accepting the Origins %s", err);
		atomic_store(&lv->origins, origins);
	}
	lv->cfg = *cfg;
	lv->src = src;
	if (lv->cfg.max_clients == 0)
		lv->cfg.max_clients = 64;
	if (lv->cfg.backlog == 0)
		lv->cfg.backlog = 256;
	if (lv->cfg.snapshot_ms <= 0)
		lv->cfg.snapshot_ms = 1000;
	listen = cfg->listen ? cfg->listen : LIVE_DEFAULT_LISTEN;
	pthread_mutex_init(&lv->ring_lock, NULL);
	if ((lv->ring = calloc(lv->cfg.backlog, sizeof(*lv->ring))) == NULL ||
	    live_listen(lv, listen) != 0) {
		live_free(lv);
		return NULL;
	}
	lws_sul_schedule(lv->ctx, 0, &lv->tick, tick, 1);
	if (pthread_create(&lv->thread, NULL, live_thread, lv) != 0) {
		log_warnx("live: cannot start the service thread");
		live_free(lv);
		return NULL;
	}
	lv->running = 1;
	log_info("live: feed on ws://%s%s (port %d, at most %zu clients)",
	    listen, LIVE_PATH, lv->port, lv->cfg.max_clients);
	return lv;
}

void
live_free(struct live *lv)
{
	if (lv == NULL)
		return;
	if (lv->running) {
		atomic_store(&lv->stop, 1);
		lws_cancel_service(lv->ctx);
		pthread_join(lv->thread, NULL);
	}
	if (lv->ctx) {
		lws_sul_cancel(&lv->tick);
		lws_context_destroy(lv->ctx);
	}
	if (lv->ring) {
		while (lv->tail < lv->head)
			ring_evict_locked(lv);
		free(lv->ring);
	}
	free(lv->latest);
	dash_allow_free(atomic_load(&lv->origins));
	for (size_t i = 0; i < lv->nretired; i++)
		dash_allow_free(lv->retired[i]);
	free(lv->retired);
	pthread_mutex_destroy(&lv->retired_lock);
	pthread_mutex_destroy(&lv->ring_lock);
	free(lv);
}

struct dash_allow *
live_origins_build(char *const *items, size_t n, const struct dash_allow *hosts,
    char *err, size_t errlen)
{
	struct dash_allow *o;

	if (n > 0)
		return dash_allow_new("[dashboard] allowed_origins", items, n, 1,
		    err, errlen);
	if ((o = dash_allow_origins_of(hosts)) == NULL)
		snprintf(err, errlen, "out of memory");
	return o;
}

void
live_set_origins(struct live *lv, struct dash_allow *origins)
{
	struct dash_allow **r;
	char desc[512];

	pthread_mutex_lock(&lv->retired_lock);
	r = realloc(lv->retired, (lv->nretired + 1) * sizeof(*r));
	if (r == NULL) {
		pthread_mutex_unlock(&lv->retired_lock);
		log_warnx("live: out of memory: allowed_origins not changed");
		dash_allow_free(origins);
		return;
	}
	lv->retired = r;
	lv->retired[lv->nretired++] = atomic_exchange(&lv->origins, origins);
	pthread_mutex_unlock(&lv->retired_lock);
	dash_allow_describe(origins, desc, sizeof(desc));
	log_info("live: accepting the Origins %s", desc);
}

int
live_origin_ok(struct live *lv, const char *origin)
{
	return origin == NULL || dash_allow_origin(atomic_load(&lv->origins),
	    origin);
}

void
live_connect_host(const struct live *lv, char *buf, size_t len)
{
	/* A wildcard listener is reached on loopback. */
	if (lv->bind_addr[0] == '\0' || strcmp(lv->bind_addr, "0.0.0.0") == 0)
		snprintf(buf, len, "127.0.0.1");
	else if (strcmp(lv->bind_addr, "::") == 0)
		snprintf(buf, len, "::1");
	else
		snprintf(buf, len, "%s", lv->bind_addr);
}

void
live_allow_default_origins(struct live *lv, const struct dash_allow *hosts)
{
	struct dash_allow *o, *none = NULL;
	char desc[512];

	if (atomic_load(&lv->origins) != NULL)
		return;		/* configured */
	if ((o = dash_allow_origins_of(hosts)) == NULL) {
		log_warnx("live: out of memory: browsers stay refused");
		return;
	}
	if (!atomic_compare_exchange_strong(&lv->origins, &none, o)) {
		dash_allow_free(o);
		return;
	}
	dash_allow_describe(o, desc, sizeof(desc));
	log_info("live: accepting the Origins %s", desc);
}

int
live_port(const struct live *lv)
{
	return lv->port;
}

void
live_publish(struct live *lv, enum live_event ev, json_t *data)
{
	unsigned char *buf;
	size_t len;

	if (lv == NULL || data == NULL)
		return;
	if ((buf = frame_new(live_event_name(ev), data, &len)) == NULL) {
		log_warnx("live: cannot encode a %s event", live_event_name(ev));
		return;
	}
	ring_push(lv, buf, len);
	lws_cancel_service(lv->ctx);
}

void
live_counters(struct live *lv, struct live_counters *out)
{
	out->clients = atomic_load(&lv->nclients);
	out->dropped = atomic_load(&lv->dropped);
	out->refused = atomic_load(&lv->refused);
	out->messages = atomic_load(&lv->messages);
}
