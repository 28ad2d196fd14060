/*
 * stratum.c: the Stratum v1 pool client's I/O thread (the upstream backend
 * behind upstream.h).  One thread owns the sockets: the active connection,
 * and a probe of the primary while we mine on a backup.  It frames lines,
 * hands them to stratum_proto.c, matches answers to requests by id, keeps
 * the pool alive, and fails over along the ordered pool list.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/mpscq.h"
#include "coordinator/stratum.h"
#include "coordinator/stratum_proto.h"

#define TICK_MS		100	/* poll granularity for timers */
#define RECENT_JOBS	16	/* job ids of the session we accept submits for */
#define MAX_PENDING	4096
#define SHORT_LIVED_MS	5000	/* a session shorter than this counts as a failure */

struct pool {
	char *url, *login, *password, *rig_id, *ca_file, *sni;
	struct stratum_url u;
	enum upstream_coin coin;
	int has_pin;
	uint8_t pin[32];
	int tls_insecure;
	int nicehash;
	SSL_CTX *ssl_ctx;
};

enum req_kind { REQ_LOGIN, REQ_SUBMIT, REQ_KEEPALIVE };

struct pending {
	int64_t id;
	enum req_kind kind;
	uint64_t share_id;
	int64_t sent_ms;
};

enum conn_state { C_IDLE = 0, C_CONNECTING, C_TLS, C_LOGIN, C_READY };

struct conn {
	enum conn_state st;
	int fd;
	SSL *ssl;
	unsigned pool;
	int probe;			/* a probe of the primary */
	int64_t deadline;		/* connect + TLS + login must finish by */
	int64_t ready_ms, last_job_ms, last_send_ms;
	struct stratum_linebuf in;
	char *out;
	size_t outlen, outcap;
	struct pending *pend;
	size_t npend;
	char session[STRATUM_SESSION_MAX];
	int nicehash;
	int want_write;			/* TLS handshake/write wants POLLOUT */
	uint64_t session_no;
};

/* The I/O thread's queue carries shares and, rarely, a new pool list. */
enum io_msg_type { IOMSG_SUBMIT = 0, IOMSG_POOLS };

/* A new pool list (SIGHUP), built and checked by the caller's thread. */
struct pools_msg {
	struct mpscq_node node;
	struct pool *pools;
	size_t npools;
	int64_t connect_to, response_to, job_to, keepalive, backoff_min,
	    backoff_max, primary_retry;
};

struct submit_msg {
	struct mpscq_node node;
	uint64_t share_id;
	char job_id[UPSTREAM_JOB_ID_MAX];
	uint8_t nonce[4], result[32];
	uint64_t session;		/* the session the job belongs to */
};

struct stratum {
	struct pool *pools;
	size_t npools;
	char *agent;
	int64_t connect_to, response_to, job_to, keepalive, backoff_min,
	    backoff_max, primary_retry;
	struct upstream_callbacks cb;

	pthread_t thr;
	atomic_int running;		/* read by upstream_submit's callers */
	atomic_int stop;
	int wake[2];
	struct mpscq q;

	struct conn active, probe;
	int64_t next_id;
	uint64_t session_ctr;
	unsigned next_pool;
	unsigned fails;			/* consecutive failed attempts */
	int64_t retry_at, next_probe;
	int ever_connected;
	unsigned last_pool;		/* pool of the last login */
	/* Last job, to tell a new block (clean) from a new template. */
	int64_t last_height;
	uint8_t last_prev[32], last_seed[32];
	uint64_t last_session;
	unsigned rng;

	pthread_mutex_t stats_lock;	/* guards stats and recent */
	struct upstream_stats stats;
	char recent[RECENT_JOBS][UPSTREAM_JOB_ID_MAX];
	unsigned nrecent;
};

static const struct upstream_ops stratum_ops;

/* ---- configuration ---------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

static void
pool_clear(struct pool *p)
{
	free(p->url);
	free(p->login);
	if (p->password != NULL) {
		explicit_bzero(p->password, strlen(p->password));
		free(p->password);
	}
	free(p->rig_id);
	free(p->ca_file);
	free(p->sni);
	if (p->ssl_ctx != NULL)
		SSL_CTX_free(p->ssl_ctx);
}

static int
pool_tls_init(struct pool *p, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		snprintf(err, errlen, "pool %s: cannot create a TLS context", p->url);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (p->has_pin || p->tls_insecure)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (p->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(ctx, p->ca_file, NULL) != 1) {
				snprintf(err, errlen, "pool %s: cannot load CA file %s",
				    p->url, p->ca_file);
				SSL_CTX_free(ctx);
				return -1;
			}
		} else
			SSL_CTX_set_default_verify_paths(ctx);
	}
	p->ssl_ctx = ctx;
	return 0;
}

static int
pool_init(struct pool *p, const struct upstream_pool *in, char *err,
    size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (in->login == NULL || *in->login == '\0') {
		snprintf(err, errlen, "pool %s: no wallet/login configured",
		    in->url != NULL ? in->url : "?");
		return -1;
	}
	if (stratum_url_parse(in->url, &p->u, err, errlen) != 0)
		return -1;
	if (in->coin != UPSTREAM_COIN_OPENSY && in->coin != UPSTREAM_COIN_MONERO) {
		snprintf(err, errlen, "pool %s: unknown coin", in->url);
		return -1;
	}
	p->coin = in->coin;
	p->url = strdup(in->url);
	p->login = strdup(in->login);
	p->password = strdup(in->password != NULL ? in->password : "x");
	p->rig_id = dup_or_null(in->rig_id);
	p->ca_file = dup_or_null(in->tls_ca_file);
	p->sni = dup_or_null(in->tls_sni);
	p->tls_insecure = in->tls_insecure;
	p->nicehash = in->nicehash;
	if (p->url == NULL || p->login == NULL || p->password == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (in->tls_fingerprint != NULL && *in->tls_fingerprint != '\0') {
		if (stratum_fingerprint_parse(in->tls_fingerprint, p->pin) != 0) {
			snprintf(err, errlen, "pool %s: tls fingerprint must be "
			    "64 hex digits (SHA-256 of the certificate)", in->url);
			return -1;
		}
		p->has_pin = 1;
	}
	if (p->u.tls && p->tls_insecure && !p->has_pin)
		log_warnx("upstream: pool %s: TLS certificate NOT checked "
		    "(tls_insecure): anyone on the path can pose as the pool",
		    p->url);
	if (p->u.tls)
		return pool_tls_init(p, err, errlen);
	return 0;
}

static int64_t
pick(int64_t v, int64_t def)
{
	return v > 0 ? v : def;
}

void *
stratum_backend_new(const struct upstream_config *cfg,
    const struct upstream_callbacks *cb, const struct upstream_ops **ops,
    char *err, size_t errlen)
{
	struct stratum *s = calloc(1, sizeof(*s));
	size_t i;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->wake[0] = s->wake[1] = -1;
	s->active.fd = s->probe.fd = -1;
	pthread_mutex_init(&s->stats_lock, NULL);
	mpscq_init(&s->q, 0);
	if ((s->pools = calloc(cfg->npools, sizeof(*s->pools))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < cfg->npools; i++) {
		s->npools = i + 1;
		if (pool_init(&s->pools[i], &cfg->pools[i], err, errlen) != 0)
			goto fail;
	}
	s->agent = strdup(cfg->agent != NULL ? cfg->agent :
	    "coopmine/" PACKAGE_VERSION);
	s->connect_to = pick(cfg->connect_timeout_ms, 10000);
	s->response_to = pick(cfg->response_timeout_ms, 30000);
	s->job_to = pick(cfg->job_timeout_ms, 300000);
	s->keepalive = cfg->keepalive_ms < 0 ? 0 : pick(cfg->keepalive_ms, 60000);
	s->backoff_min = pick(cfg->backoff_min_ms, 1000);
	s->backoff_max = pick(cfg->backoff_max_ms, 60000);
	if (s->backoff_max < s->backoff_min)
		s->backoff_max = s->backoff_min;
	s->primary_retry = pick(cfg->primary_retry_ms, 60000);
	if (cb != NULL)
		s->cb = *cb;
	s->rng = (unsigned)clock_mono_us() ^ (unsigned)getpid();
	s->last_height = -2;
	s->stats.last_latency_ms = -1;
	if (stratum_linebuf_init(&s->active.in) != 0 ||
	    stratum_linebuf_init(&s->probe.in) != 0 || s->agent == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*ops = &stratum_ops;
	return s;
fail:
	stratum_ops.free(s);
	return NULL;
}

/* ---- small helpers ---------------------------------------------------- */

static unsigned
rnd(struct stratum *s)
{
	s->rng = s->rng * 1103515245u + 12345u;
	return s->rng >> 8;
}

static void
wake(struct stratum *s)
{
	char c = 1;

	if (write(s->wake[1], &c, 1) < 0 && errno != EAGAIN)
		log_warn("upstream: wake");
}

static const char *
conn_what(const struct conn *c)
{
	return c->probe ? "probe of primary" : "pool";
}

static void
set_state(struct stratum *s, enum upstream_state st, unsigned pool)
{
	pthread_mutex_lock(&s->stats_lock);
	s->stats.state = st;
	s->stats.pool_index = pool;
	if (st != UPSTREAM_CONNECTED) {
		/* The recent job ids stay: after a reconnect to the same pool
		 * the coordinator's outbox may still submit shares of them, and
		 * the pool decides whether they are still valid. */
		s->stats.connected_since_ms = 0;
		s->stats.job_id[0] = '\0';
	}
	pthread_mutex_unlock(&s->stats_lock);
}

static int
out_append(struct conn *c, const char *line, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *p;

		while (cap < c->outlen + n)
			cap *= 2;
		if (cap > 16 * STRATUM_LINE_MAX || (p = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, line, n);
	c->outlen += n;
	return 0;
}

static int
pend_add(struct conn *c, int64_t id, enum req_kind kind, uint64_t share_id)
{
	struct pending *p;

	if (c->npend >= MAX_PENDING)
		return -1;
	p = realloc(c->pend, (c->npend + 1) * sizeof(*p));
	if (p == NULL)
		return -1;
	c->pend = p;
	p[c->npend].id = id;
	p[c->npend].kind = kind;
	p[c->npend].share_id = share_id;
	p[c->npend].sent_ms = clock_mono_ms();
	c->npend++;
	return 0;
}

static int
pend_take(struct conn *c, int64_t id, struct pending *out)
{
	for (size_t i = 0; i < c->npend; i++) {
		if (c->pend[i].id != id)
			continue;
		*out = c->pend[i];
		c->pend[i] = c->pend[--c->npend];
		return 0;
	}
	return -1;
}

static void
report_result(struct stratum *s, uint64_t share_id, int accepted,
    enum upstream_reject reason, const char *msg, int64_t latency)
{
	struct upstream_submit_result r;

	memset(&r, 0, sizeof(r));
	r.share_id = share_id;
	r.accepted = accepted;
	r.reason = accepted ? UPSTREAM_OK : reason;
	snprintf(r.message, sizeof(r.message), "%s", msg != NULL ? msg : "");
	r.latency_ms = latency;
	pthread_mutex_lock(&s->stats_lock);
	if (accepted)
		s->stats.accepted++;
	else if (reason == UPSTREAM_REJ_LOST || reason == UPSTREAM_REJ_TIMEOUT)
		s->stats.lost++;
	else
		s->stats.rejected++;
	if (!accepted && (reason == UPSTREAM_REJ_STALE ||
	    reason == UPSTREAM_REJ_INVALID_JOB))
		s->stats.stale++;
	if (!accepted) {
		snprintf(s->stats.last_error, sizeof(s->stats.last_error),
		    "share rejected: %s", msg != NULL && *msg != '\0' ? msg :
		    upstream_reject_name(reason));
		s->stats.last_error_at = clock_wall_ms();
	}
	if (latency >= 0)
		s->stats.last_latency_ms = latency;
	pthread_mutex_unlock(&s->stats_lock);
	if (s->cb.on_result != NULL)
		s->cb.on_result(s->cb.arg, &r);
}

static void
emit_state(struct stratum *s, enum upstream_event ev, unsigned pool,
    const char *msg)
{
	struct upstream_state_change ch;

	ch.event = ev;
	ch.pool_index = pool;
	ch.url = s->pools[pool].url;
	pthread_mutex_lock(&s->stats_lock);
	ch.switches = s->stats.switches;
	pthread_mutex_unlock(&s->stats_lock);
	ch.msg = msg != NULL ? msg : "";
	if (s->cb.on_state != NULL)
		s->cb.on_state(s->cb.arg, &ch);
}

/* ---- connections ------------------------------------------------------ */

/* Closes c; its unanswered submits are reported lost. */
static void
conn_close(struct stratum *s, struct conn *c)
{
	for (size_t i = 0; i < c->npend; i++)
		if (c->pend[i].kind == REQ_SUBMIT)
			report_result(s, c->pend[i].share_id, 0, UPSTREAM_REJ_LOST,
			    "connection to the pool lost before its answer", -1);
	free(c->pend);
	c->pend = NULL;
	c->npend = 0;
	if (c->ssl != NULL) {
		if (c->st == C_READY || c->st == C_LOGIN)
			SSL_shutdown(c->ssl);	/* best effort, non-blocking */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = C_IDLE;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outcap = 0;
	c->session[0] = '\0';
	c->want_write = 0;
	stratum_linebuf_reset(&c->in);
	ERR_clear_error();
}

static void schedule_retry(struct stratum *s, int was_ready, int64_t lived);

/* The active connection failed (or was given up): log once, tell the
 * caller, and plan the next attempt. */
static void
active_fail(struct stratum *s, const char *why)
{
	struct conn *c = &s->active;
	int was_ready = c->st == C_READY;
	int64_t lived = was_ready ? clock_mono_ms() - c->ready_ms : 0;
	unsigned pool = c->pool;

	log_warnx("upstream: %s %s (#%u): %s", was_ready ? "lost pool" :
	    "cannot use pool", s->pools[pool].url, pool, why);
	pthread_mutex_lock(&s->stats_lock);
	snprintf(s->stats.last_error, sizeof(s->stats.last_error), "%s", why);
	s->stats.last_error_at = clock_wall_ms();
	pthread_mutex_unlock(&s->stats_lock);
	conn_close(s, c);
	set_state(s, UPSTREAM_DISCONNECTED, pool);
	if (was_ready)
		emit_state(s, UPSTREAM_EV_LOST, pool, why);
	schedule_retry(s, was_ready, lived);
}

static void
probe_fail(struct stratum *s, const char *why)
{
	log_info("upstream: primary %s still unusable: %s; next probe in %lld ms",
	    s->pools[0].url, why, (long long)s->primary_retry);
	conn_close(s, &s->probe);
	s->next_probe = clock_mono_ms() + s->primary_retry;
}

static void
conn_fail(struct stratum *s, struct conn *c, const char *why)
{
	if (c->probe)
		probe_fail(s, why);
	else
		active_fail(s, why);
}

static void
schedule_retry(struct stratum *s, int was_ready, int64_t lived)
{
	int64_t now = clock_mono_ms(), delay = 0;
	unsigned round;

	s->next_pool = (s->active.pool + 1) % (unsigned)s->npools;
	if (was_ready && lived >= SHORT_LIVED_MS)
		s->fails = 0;
	else
		s->fails++;
	/* Go straight to the next pool; once a whole round failed, wait
	 * min * 2^(rounds-1), capped, with +-25 % jitter. */
	if (s->fails > 0 && s->fails % s->npools == 0) {
		round = s->fails / (unsigned)s->npools;
		delay = s->backoff_min;
		for (unsigned i = 1; i < round && delay < s->backoff_max; i++)
			delay *= 2;
		if (delay > s->backoff_max)
			delay = s->backoff_max;
		delay = delay * 3 / 4 + (int64_t)(rnd(s) % (unsigned)(delay / 2 + 1));
		log_info("upstream: every pool failed; next attempt in %lld ms",
		    (long long)delay);
	}
	s->retry_at = now + delay;
}

static int
conn_send(struct stratum *s, struct conn *c, const char *line, int n)
{
	if (n < 0 || out_append(c, line, (size_t)n) != 0)
		return -1;
	c->last_send_ms = clock_mono_ms();
	return 0;
}

static int
send_login(struct stratum *s, struct conn *c)
{
	struct pool *p = &s->pools[c->pool];
	char buf[4096];
	int64_t id = ++s->next_id;
	int n;

	n = stratum_build_login(buf, sizeof(buf), id, p->login, p->password,
	    s->agent, p->rig_id);
	if (n < 0 || conn_send(s, c, buf, n) != 0 ||
	    pend_add(c, id, REQ_LOGIN, 0) != 0) {
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	explicit_bzero(buf, sizeof(buf));
	c->st = C_LOGIN;
	log_debug("upstream: login to %s as %s (request %lld)", p->url, p->login,
	    (long long)id);
	return 0;
}

static void
conn_start(struct stratum *s, struct conn *c, unsigned pool, int probe)
{
	struct pool *p = &s->pools[pool];
	struct addrinfo hints, *res = NULL, *ai;
	char why[512];
	int fd = -1, rc, one = 1;

	c->pool = pool;
	c->probe = probe;
	c->deadline = clock_mono_ms() + s->connect_to;
	c->st = C_CONNECTING;
	if (!probe)
		set_state(s, UPSTREAM_CONNECTING, pool);
	log_info("upstream: connecting to %s %s (#%u)", conn_what(c), p->url, pool);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* getaddrinfo blocks; pool names resolve once per attempt, which the
	 * connect timeout does not cover (the system resolver's does). */
	if ((rc = getaddrinfo(p->u.host, p->u.port, &hints, &res)) != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", p->u.host,
		    gai_strerror(rc));
		conn_fail(s, c, why);
		return;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
	freeaddrinfo(res);
	if (fd < 0) {
		conn_fail(s, c, why);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
}

static int
tls_check_peer(struct stratum *s, struct conn *c, char *why, size_t len)
{
	struct pool *p = &s->pools[c->pool];
	X509 *cert;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char got[65];

	if (!p->has_pin)
		return 0;	/* verified by OpenSSL during the handshake */
	cert = SSL_get1_peer_certificate(c->ssl);
	if (cert == NULL) {
		snprintf(why, len, "TLS: the pool sent no certificate");
		return -1;
	}
	X509_digest(cert, EVP_sha256(), md, &mdlen);
	X509_free(cert);
	if (mdlen != 32 || memcmp(md, p->pin, 32) != 0) {
		hex_encode(md, 32, got, sizeof(got));
		snprintf(why, len, "TLS: certificate fingerprint %s does not match "
		    "the pinned one", got);
		return -1;
	}
	return 0;
}

static int
tls_begin(struct stratum *s, struct conn *c, char *why, size_t len)
{
	struct pool *p = &s->pools[c->pool];
	const char *name = p->sni != NULL ? p->sni : p->u.host;
	X509_VERIFY_PARAM *vp;

	if ((c->ssl = SSL_new(p->ssl_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(why, len, "TLS: cannot set up the session");
		return -1;
	}
	/* SNI only for names, not for literal addresses (RFC 6066). */
	if (strspn(name, "0123456789.") != strlen(name) && strchr(name, ':') == NULL)
		SSL_set_tlsext_host_name(c->ssl, name);
	if (!p->has_pin && !p->tls_insecure) {
		vp = SSL_get0_param(c->ssl);
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, p->u.host) != 1)
			SSL_set1_host(c->ssl, name);
	}
	c->st = C_TLS;
	return 0;
}

static void
tls_step(struct stratum *s, struct conn *c)
{
	char why[256];
	int rc = SSL_connect(c->ssl), e;
	long vr;

	c->want_write = 0;
	if (rc == 1) {
		if (tls_check_peer(s, c, why, sizeof(why)) != 0) {
			conn_fail(s, c, why);
			return;
		}
		log_debug("upstream: TLS with %s: %s", s->pools[c->pool].url,
		    SSL_get_version(c->ssl));
		if (send_login(s, c) != 0)
			conn_fail(s, c, "cannot send login");
		return;
	}
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->want_write = 1;
		return;
	}
	vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK)
		snprintf(why, sizeof(why), "TLS: certificate not trusted: %s",
		    X509_verify_cert_error_string(vr));
	else
		snprintf(why, sizeof(why), "TLS handshake failed: %s",
		    ERR_reason_error_string(ERR_peek_last_error()) != NULL ?
		    ERR_reason_error_string(ERR_peek_last_error()) :
		    "connection closed");
	conn_fail(s, c, why);
}

static void
connect_done(struct stratum *s, struct conn *c)
{
	char why[256];
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		snprintf(why, sizeof(why), "connect: %s", strerror(err));
		conn_fail(s, c, why);
		return;
	}
	if (s->pools[c->pool].u.tls) {
		if (tls_begin(s, c, why, sizeof(why)) != 0) {
			conn_fail(s, c, why);
			return;
		}
		tls_step(s, c);
		return;
	}
	if (send_login(s, c) != 0)
		conn_fail(s, c, "cannot send login");
}

/* ---- jobs and answers ------------------------------------------------- */

static void
deliver_job(struct stratum *s, struct conn *c, struct upstream_job *j)
{
	const uint8_t *prev = j->blob + 4;
	int clean;

	j->pool_index = c->pool;
	j->session = c->session_no;
	clean = j->session != s->last_session || j->height != s->last_height ||
	    memcmp(j->seed_hash, s->last_seed, 32) != 0;
	if (s->pools[c->pool].coin == UPSTREAM_COIN_OPENSY &&
	    memcmp(prev, s->last_prev, 32) != 0)
		clean = 1;
	j->clean = clean;
	s->last_session = j->session;
	s->last_height = j->height;
	memcpy(s->last_seed, j->seed_hash, 32);
	if (s->pools[c->pool].coin == UPSTREAM_COIN_OPENSY)
		memcpy(s->last_prev, prev, 32);
	c->last_job_ms = clock_mono_ms();

	pthread_mutex_lock(&s->stats_lock);
	snprintf(s->recent[s->nrecent % RECENT_JOBS], UPSTREAM_JOB_ID_MAX, "%s",
	    j->job_id);
	s->nrecent++;
	snprintf(s->stats.job_id, sizeof(s->stats.job_id), "%s", j->job_id);
	s->stats.jobs++;
	s->stats.difficulty = j->difficulty;
	pthread_mutex_unlock(&s->stats_lock);
	log_debug("upstream: job %s height %lld diff %llu%s from #%u", j->job_id,
	    (long long)j->height, (unsigned long long)j->difficulty,
	    clean ? " (clean)" : "", c->pool);
	if (s->cb.on_job != NULL)
		s->cb.on_job(s->cb.arg, j);
}

/* The probe of the primary logged in: make it the active connection. */
static void
promote_probe(struct stratum *s)
{
	unsigned old = s->active.pool;
	struct stratum_linebuf tmp;

	log_info("upstream: primary %s is back; leaving %s (#%u)", s->pools[0].url,
	    s->pools[old].url, old);
	if (s->active.st == C_READY) {
		set_state(s, UPSTREAM_DISCONNECTED, old);
		emit_state(s, UPSTREAM_EV_LOST, old, "primary pool is back");
	}
	conn_close(s, &s->active);
	/* Swap the structs so the line buffers stay owned once each. */
	tmp = s->active.in;
	s->active = s->probe;
	s->active.probe = 0;
	s->probe.in = tmp;
	s->probe.fd = -1;
	s->probe.ssl = NULL;
	s->probe.st = C_IDLE;
	s->probe.out = NULL;
	s->probe.outlen = s->probe.outcap = 0;
	s->probe.pend = NULL;
	s->probe.npend = 0;
}

static void
logged_in(struct stratum *s, struct conn *c, struct stratum_msg *m)
{
	unsigned pool;
	int switched;

	if (c->probe) {
		if (!m->has_job) {
			probe_fail(s, "login answer without a job");
			return;
		}
		promote_probe(s);
		c = &s->active;
	}
	pool = c->pool;
	snprintf(c->session, sizeof(c->session), "%s", m->session);
	c->nicehash = s->pools[pool].nicehash == 1 ||
	    (s->pools[pool].nicehash < 0 && m->ext_nicehash);
	c->st = C_READY;
	c->ready_ms = c->last_job_ms = clock_mono_ms();
	c->session_no = ++s->session_ctr;
	switched = s->ever_connected ? pool != s->last_pool : pool != 0;
	s->ever_connected = 1;
	s->last_pool = pool;
	s->next_probe = clock_mono_ms() + s->primary_retry;

	pthread_mutex_lock(&s->stats_lock);
	s->stats.state = UPSTREAM_CONNECTED;
	s->stats.pool_index = pool;
	s->stats.session = c->session_no;
	s->stats.reconnects++;
	s->stats.connected_since_ms = clock_wall_ms();
	if (switched) {
		/* Another pool never knew the old jobs. */
		s->stats.switches++;
		s->nrecent = 0;
	}
	pthread_mutex_unlock(&s->stats_lock);

	log_info("upstream: logged in to %s (#%u)%s%s", s->pools[pool].url, pool,
	    c->nicehash ? ", nicehash" : "", switched ? ", switched pools" : "");
	emit_state(s, UPSTREAM_EV_CONNECTED, pool, "");
	if (switched)
		emit_state(s, UPSTREAM_EV_SWITCHED, pool, "");
	if (m->has_job)
		deliver_job(s, c, &m->job);
	else if (m->job_error)
		log_warnx("upstream: %s: job in login answer refused: %s",
		    s->pools[pool].url, m->err);
}

static void
handle_response(struct stratum *s, struct conn *c, struct stratum_msg *m)
{
	struct pending p;
	char why[UPSTREAM_MSG_MAX + 64];
	int64_t lat;

	if (pend_take(c, m->id, &p) != 0) {
		log_warnx("upstream: %s: answer to unknown request %lld ignored",
		    s->pools[c->pool].url, (long long)m->id);
		return;
	}
	lat = clock_mono_ms() - p.sent_ms;
	switch (p.kind) {
	case REQ_LOGIN:
		if (m->is_error) {
			snprintf(why, sizeof(why), "login refused: %s", m->error);
			conn_fail(s, c, why);
			return;
		}
		if (m->session[0] == '\0') {
			conn_fail(s, c, "login answer without a session id");
			return;
		}
		logged_in(s, c, m);
		return;
	case REQ_SUBMIT:
		if (m->is_error) {
			log_info("upstream: share %llu rejected by %s: %s",
			    (unsigned long long)p.share_id, s->pools[c->pool].url,
			    m->error);
			report_result(s, p.share_id, 0, stratum_map_error(m->error),
			    m->error, lat);
		} else {
			log_debug("upstream: share %llu accepted (%lld ms)",
			    (unsigned long long)p.share_id, (long long)lat);
			report_result(s, p.share_id, 1, UPSTREAM_OK, "", lat);
		}
		return;
	case REQ_KEEPALIVE:
		/* Any answer, even "unknown method", shows the pool alive. */
		return;
	}
}

static void
handle_line(struct stratum *s, struct conn *c, char *line, size_t len)
{
	struct pool *p = &s->pools[c->pool];
	struct stratum_msg *m = malloc(sizeof(*m));

	if (m == NULL) {
		conn_fail(s, c, "out of memory");
		return;
	}
	switch (stratum_parse_line(line, len, p->coin, c->nicehash, m)) {
	case STRATUM_MSG_INVALID:
		log_warnx("upstream: %s: invalid line ignored: %s", p->url, m->err);
		break;
	case STRATUM_MSG_UNKNOWN:
		log_debug("upstream: %s: method %s ignored", p->url, m->method);
		break;
	case STRATUM_MSG_JOB:
		if (c->st != C_READY)
			log_warnx("upstream: %s: job before login ignored", p->url);
		else if (m->has_job)
			deliver_job(s, c, &m->job);
		else
			log_warnx("upstream: %s: job refused: %s", p->url, m->err);
		break;
	case STRATUM_MSG_RESPONSE:
		handle_response(s, c, m);
		break;
	}
	free(m);
}

/* ---- socket I/O ------------------------------------------------------- */

static ssize_t
conn_read(struct conn *c, char *buf, size_t len, int *again)
{
	ssize_t n;
	int e;

	*again = 0;
	if (c->ssl == NULL) {
		n = recv(c->fd, buf, len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			*again = 1;
		return n;
	}
	n = SSL_read(c->ssl, buf, (int)len);
	if (n > 0)
		return n;
	e = SSL_get_error(c->ssl, (int)n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*again = 1;
		c->want_write = e == SSL_ERROR_WANT_WRITE;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = ECONNRESET;
	return -1;
}

static void
conn_readable(struct stratum *s, struct conn *c)
{
	char *line, why[128];
	size_t avail, len;
	ssize_t n;
	int again, rc, fd = c->fd;

	for (;;) {
		char *dst = stratum_linebuf_space(&c->in, &avail);

		if (avail == 0) {
			snprintf(why, sizeof(why), "line longer than %d bytes",
			    STRATUM_LINE_MAX);
			conn_fail(s, c, why);
			return;
		}
		n = conn_read(c, dst, avail, &again);
		if (n < 0 && again)
			return;
		if (n <= 0) {
			snprintf(why, sizeof(why), "%s", n == 0 ?
			    "connection closed by the pool" : strerror(errno));
			conn_fail(s, c, why);
			return;
		}
		stratum_linebuf_commit(&c->in, (size_t)n);
		while ((rc = stratum_linebuf_next(&c->in, &line, &len)) == 1) {
			if (len == 0)
				continue;
			handle_line(s, c, line, len);
			/* The line may have closed c, or made the probe the
			 * active connection (same socket, other slot). */
			if (c->fd != fd) {
				if (s->active.fd != fd)
					return;
				c = &s->active;
			}
		}
		if (rc < 0) {
			snprintf(why, sizeof(why), "line longer than %d bytes",
			    STRATUM_LINE_MAX);
			conn_fail(s, c, why);
			return;
		}
	}
}

static void
conn_writable(struct stratum *s, struct conn *c)
{
	ssize_t n;
	int e;

	while (c->outlen > 0) {
		if (c->ssl == NULL) {
			n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		} else {
			n = SSL_write(c->ssl, c->out, (int)c->outlen);
			if (n <= 0) {
				e = SSL_get_error(c->ssl, (int)n);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					return;
				errno = EPIPE;
			}
		}
		if (n <= 0) {
			conn_fail(s, c, strerror(errno));
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
}

/* ---- timers ----------------------------------------------------------- */

static void
send_keepalive(struct stratum *s, struct conn *c)
{
	char buf[512];
	int64_t id = ++s->next_id;
	int n = stratum_build_keepalived(buf, sizeof(buf), id, c->session);

	if (n < 0 || conn_send(s, c, buf, n) != 0 ||
	    pend_add(c, id, REQ_KEEPALIVE, 0) != 0)
		conn_fail(s, c, "cannot send keepalived");
}

static void
conn_timers(struct stratum *s, struct conn *c, int64_t now)
{
	char why[128];

	if (c->st == C_IDLE)
		return;
	if (c->st != C_READY) {
		if (now >= c->deadline)
			conn_fail(s, c, c->st == C_CONNECTING ? "connect timed out" :
			    c->st == C_TLS ? "TLS handshake timed out" :
			    "no answer to login");
		return;
	}
	for (size_t i = 0; i < c->npend; i++) {
		if (now - c->pend[i].sent_ms < s->response_to)
			continue;
		snprintf(why, sizeof(why), "no answer to request %lld in %lld ms "
		    "(pool stalled)", (long long)c->pend[i].id,
		    (long long)s->response_to);
		if (c->pend[i].kind == REQ_SUBMIT) {
			report_result(s, c->pend[i].share_id, 0, UPSTREAM_REJ_TIMEOUT,
			    "no answer from the pool in time", -1);
			c->pend[i] = c->pend[--c->npend];
		}
		conn_fail(s, c, why);
		return;
	}
	if (now - c->last_job_ms >= s->job_to) {
		snprintf(why, sizeof(why), "no new job for %lld ms (dead pool)",
		    (long long)s->job_to);
		conn_fail(s, c, why);
		return;
	}
	if (s->keepalive > 0 && now - c->last_send_ms >= s->keepalive)
		send_keepalive(s, c);
}

static void apply_pools(struct stratum *s, struct pools_msg *pm);

static void
drain_submits(struct stratum *s)
{
	struct mpscq_node *n;
	struct submit_msg *sm;
	struct conn *c = &s->active;
	char buf[1024];
	int64_t id;
	int len;

	/* With MAX_PENDING submits unanswered, the rest wait in the queue
	 * (back-pressure) until answers make room: the loop calls us again. */
	while (!(c->st == C_READY && c->npend >= MAX_PENDING) &&
	    (n = mpscq_pop(&s->q, 0)) != NULL) {
		if (n->type == IOMSG_POOLS) {
			apply_pools(s, (struct pools_msg *)n);
			continue;
		}
		sm = (struct submit_msg *)n;
		if (c->st != C_READY || sm->session != c->session_no) {
			/* Lost, or a new login since: the job is not the
			 * pool's any more, sending it would only be refused. */
			report_result(s, sm->share_id, 0, UPSTREAM_REJ_LOST,
			    c->st != C_READY ? "not connected to a pool" :
			    "pool session changed before the share was sent", -1);
			free(sm);
			continue;
		}
		id = ++s->next_id;
		len = stratum_build_submit(buf, sizeof(buf), id, c->session,
		    sm->job_id, sm->nonce, sm->result);
		if (len < 0 || conn_send(s, c, buf, len) != 0 ||
		    pend_add(c, id, REQ_SUBMIT, sm->share_id) != 0) {
			report_result(s, sm->share_id, 0, UPSTREAM_REJ_OTHER,
			    "cannot queue the submit", -1);
		} else {
			pthread_mutex_lock(&s->stats_lock);
			s->stats.submitted++;
			pthread_mutex_unlock(&s->stats_lock);
			log_debug("upstream: share %llu job %s sent as request %lld",
			    (unsigned long long)sm->share_id, sm->job_id,
			    (long long)id);
		}
		free(sm);
	}
}

static void
run_timers(struct stratum *s, int64_t now)
{
	conn_timers(s, &s->active, now);
	conn_timers(s, &s->probe, now);
	if (s->active.st == C_IDLE && now >= s->retry_at)
		conn_start(s, &s->active, s->next_pool, 0);
	if (s->active.st == C_READY && s->active.pool != 0 &&
	    s->probe.st == C_IDLE && now >= s->next_probe)
		conn_start(s, &s->probe, 0, 1);
}

static short
conn_events(const struct conn *c)
{
	short ev = POLLIN;

	if (c->st == C_CONNECTING || c->outlen > 0 || c->want_write)
		ev |= POLLOUT;
	return ev;
}

static void
conn_ready(struct stratum *s, struct conn *c, short rev)
{
	if (c->st == C_CONNECTING) {
		if (rev & (POLLOUT | POLLERR | POLLHUP))
			connect_done(s, c);
		return;
	}
	if (c->st == C_TLS) {
		tls_step(s, c);
		return;
	}
	if (rev & (POLLIN | POLLERR | POLLHUP))
		conn_readable(s, c);
	if (c->st != C_IDLE && c->fd >= 0 && c->outlen > 0)
		conn_writable(s, c);
}

static void *
io_main(void *arg)
{
	struct stratum *s = arg;
	struct pollfd pfd[3];
	struct conn *conns[3];
	sigset_t set;
	char drain[64];
	int n, i;

	/* SSL_write may raise SIGPIPE on a dead socket: keep it off this thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	s->retry_at = clock_mono_ms();
	while (!atomic_load(&s->stop)) {
		run_timers(s, clock_mono_ms());
		drain_submits(s);
		n = 0;
		pfd[n].fd = s->wake[0];
		pfd[n].events = POLLIN;
		conns[n++] = NULL;
		if (s->active.fd >= 0) {
			pfd[n].fd = s->active.fd;
			pfd[n].events = conn_events(&s->active);
			conns[n++] = &s->active;
		}
		if (s->probe.fd >= 0) {
			pfd[n].fd = s->probe.fd;
			pfd[n].events = conn_events(&s->probe);
			conns[n++] = &s->probe;
		}
		/* Flush what the timers and submits queued before sleeping. */
		if (poll(pfd, (nfds_t)n, TICK_MS) < 0) {
			if (errno != EINTR)
				log_warn("upstream: poll");
			continue;
		}
		if (pfd[0].revents & POLLIN)
			while (read(s->wake[0], drain, sizeof(drain)) > 0)
				;
		for (i = 1; i < n; i++) {
			/* An earlier handler may have closed or swapped it. */
			if (pfd[i].revents == 0 || conns[i]->fd != pfd[i].fd)
				continue;
			conn_ready(s, conns[i], pfd[i].revents);
		}
	}
	conn_close(s, &s->probe);
	if (s->active.st == C_READY)
		log_info("upstream: disconnecting from %s",
		    s->pools[s->active.pool].url);
	conn_close(s, &s->active);
	set_state(s, UPSTREAM_DISCONNECTED, s->active.pool);
	drain_submits(s);
	return NULL;
}

/* ---- a new pool list (SIGHUP) ----------------------------------------- */

static void
pools_free(struct pool *pools, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pool_clear(&pools[i]);
	free(pools);
}

/* The pool of the new list with the same URL and login as old, or -1. */
static int
pool_find(const struct pool *pools, size_t n, const struct pool *old)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(pools[i].url, old->url) == 0 &&
		    strcmp(pools[i].login, old->login) == 0)
			return (int)i;
	return -1;
}

/*
 * I/O thread: the new list replaces the old.  A connection to a pool that
 * is still listed stays (its index follows); one to a pool no longer
 * listed ends, and the new primary is tried at once.  A probe of the old
 * primary ends too: the timers start one of the new primary.
 */
static void
apply_pools(struct stratum *s, struct pools_msg *pm)
{
	struct pool *old = s->pools;
	size_t nold = s->npools;
	int k = -1, last;

	conn_close(s, &s->probe);
	if (s->active.st != C_IDLE)
		k = pool_find(pm->pools, pm->npools, &old[s->active.pool]);
	last = s->last_pool < nold ?
	    pool_find(pm->pools, pm->npools, &old[s->last_pool]) : -1;
	if (s->active.st != C_IDLE && k < 0) {
		unsigned pool = s->active.pool;
		int was_ready = s->active.st == C_READY;

		log_info("upstream: %s (#%u) is no longer configured: leaving it",
		    old[pool].url, pool);
		if (was_ready) {
			set_state(s, UPSTREAM_DISCONNECTED, pool);
			emit_state(s, UPSTREAM_EV_LOST, pool,
			    "pool removed from the configuration");
		}
		conn_close(s, &s->active);
	}
	s->pools = pm->pools;
	s->npools = pm->npools;
	s->connect_to = pm->connect_to;
	s->response_to = pm->response_to;
	s->job_to = pm->job_to;
	s->keepalive = pm->keepalive;
	s->backoff_min = pm->backoff_min;
	s->backoff_max = pm->backoff_max;
	s->primary_retry = pm->primary_retry;
	/* A pool no longer listed cannot be the last one logged in to: the
	 * next login counts as a switch. */
	s->last_pool = last >= 0 ? (unsigned)last : UINT_MAX;
	if (k >= 0) {
		s->active.pool = (unsigned)k;
		pthread_mutex_lock(&s->stats_lock);
		s->stats.pool_index = (unsigned)k;
		pthread_mutex_unlock(&s->stats_lock);
		if (k != 0)
			s->next_probe = clock_mono_ms();
	} else {
		s->next_pool = 0;
		s->fails = 0;
		s->retry_at = clock_mono_ms();
	}
	if (s->next_pool >= s->npools)
		s->next_pool = 0;
	log_info("upstream: %zu pool(s) configured now, primary %s", s->npools,
	    s->pools[0].url);
	pools_free(old, nold);
	free(pm);
}

static int
stratum_reconfigure(void *impl, const struct upstream_config *cfg, char *err,
    size_t errlen)
{
	struct stratum *s = impl;
	struct pools_msg *pm;
	size_t i;

	if (cfg->npools == 0) {
		snprintf(err, errlen, "no pool configured");
		return -1;
	}
	if ((pm = calloc(1, sizeof(*pm))) == NULL ||
	    (pm->pools = calloc(cfg->npools, sizeof(*pm->pools))) == NULL) {
		free(pm);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cfg->npools; i++) {
		pm->npools = i + 1;
		if (pool_init(&pm->pools[i], &cfg->pools[i], err, errlen) != 0) {
			pools_free(pm->pools, pm->npools);
			free(pm);
			return -1;
		}
	}
	pm->connect_to = pick(cfg->connect_timeout_ms, 10000);
	pm->response_to = pick(cfg->response_timeout_ms, 30000);
	pm->job_to = pick(cfg->job_timeout_ms, 300000);
	pm->keepalive = cfg->keepalive_ms < 0 ? 0 :
	    pick(cfg->keepalive_ms, 60000);
	pm->backoff_min = pick(cfg->backoff_min_ms, 1000);
	pm->backoff_max = pick(cfg->backoff_max_ms, 60000);
	if (pm->backoff_max < pm->backoff_min)
		pm->backoff_max = pm->backoff_min;
	pm->primary_retry = pick(cfg->primary_retry_ms, 60000);
	pm->node.type = IOMSG_POOLS;
	/* Not running: nobody else touches the list. */
	if (!atomic_load(&s->running)) {
		apply_pools(s, pm);
		return 0;
	}
	/* Past the queue's bound (never blocks the caller). */
	if (mpscq_push_over(&s->q, &pm->node) != 0) {
		pools_free(pm->pools, pm->npools);
		free(pm);
		snprintf(err, errlen, "the pool client is stopping");
		return -1;
	}
	wake(s);
	return 0;
}

/* ---- the upstream_ops table ------------------------------------------- */

static int
stratum_start(void *impl)
{
	struct stratum *s = impl;
	int rc;

	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		rc = -errno;
		log_warn("upstream: pipe");
		return rc;
	}
	atomic_store(&s->stop, 0);
	if ((rc = pthread_create(&s->thr, NULL, io_main, s)) != 0) {
		log_warnx("upstream: cannot start the I/O thread: %s", strerror(rc));
		return -rc;
	}
	atomic_store(&s->running, 1);
	return 0;
}

static void
stratum_stop(void *impl)
{
	struct stratum *s = impl;

	if (!atomic_load(&s->running))
		return;
	atomic_store(&s->stop, 1);
	wake(s);
	pthread_join(s->thr, NULL);
	atomic_store(&s->running, 0);
	close(s->wake[0]);
	close(s->wake[1]);
	s->wake[0] = s->wake[1] = -1;
}

static int
stratum_submit(void *impl, uint64_t share_id, const char *job_id,
    uint64_t extranonce, const uint8_t nonce[4], const uint8_t result[32])
{
	struct stratum *s = impl;
	struct submit_msg *sm;
	uint64_t session;
	unsigned i, n;
	int known = 0;

	if (strlen(job_id) >= UPSTREAM_JOB_ID_MAX)
		return UPSTREAM_EINVAL;
	pthread_mutex_lock(&s->stats_lock);
	if (s->stats.state != UPSTREAM_CONNECTED || !atomic_load(&s->running)) {
		pthread_mutex_unlock(&s->stats_lock);
		return UPSTREAM_ENOTCONN;
	}
	n = s->nrecent < RECENT_JOBS ? s->nrecent : RECENT_JOBS;
	for (i = 0; i < n && !known; i++)
		known = strcmp(s->recent[i], job_id) == 0;
	session = s->stats.session;
	pthread_mutex_unlock(&s->stats_lock);
	if (!known)
		return UPSTREAM_ESTALE;
	if ((sm = calloc(1, sizeof(*sm))) == NULL)
		return -ENOMEM;
	sm->share_id = share_id;
	sm->session = session;
	snprintf(sm->job_id, sizeof(sm->job_id), "%s", job_id);
	memcpy(sm->nonce, nonce, 4);
	memcpy(sm->result, result, 32);
	if (mpscq_push(&s->q, &sm->node) != 0) {
		free(sm);
		return UPSTREAM_ENOTCONN;
	}
	wake(s);
	return 0;
}

static void
stratum_get_stats(void *impl, struct upstream_stats *st)
{
	struct stratum *s = impl;

	pthread_mutex_lock(&s->stats_lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->stats_lock);
}

static void
stratum_free(void *impl)
{
	struct stratum *s = impl;
	struct mpscq_node *n;

	if (s == NULL)
		return;
	stratum_stop(s);
	while ((n = mpscq_pop(&s->q, 0)) != NULL) {
		if (n->type == IOMSG_POOLS)
			pools_free(((struct pools_msg *)n)->pools,
			    ((struct pools_msg *)n)->npools);
		free(n);
	}
	mpscq_destroy(&s->q);
	for (size_t i = 0; i < s->npools; i++)
		pool_clear(&s->pools[i]);
	free(s->pools);
	free(s->agent);
	free(s->active.pend);
	free(s->probe.pend);
	free(s->active.out);
	free(s->probe.out);
	stratum_linebuf_free(&s->active.in);
	stratum_linebuf_free(&s->probe.in);
	pthread_mutex_destroy(&s->stats_lock);
	free(s);
}

static const struct upstream_ops stratum_ops = {
	.name = "stratum", .start = stratum_start, .stop = stratum_stop,
	.submit = stratum_submit, .get_stats = stratum_get_stats,
	.free = stratum_free, .reconfigure = stratum_reconfigure
	/* make_blob, block_found: none, a pool's job is one blob for all */
};
