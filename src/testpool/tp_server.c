/*
 * tp_server.c: the testpool's network side.  One poll loop serves every
 * miner (plain TCP or TLS): login, job pushes on an interval, submit checks
 * in the order a real pool makes them (session, job, format, nicehash byte,
 * duplicate, then the RandomX hash off-thread), keepalived, and the fault
 * switches the tests use.  Called by testpool.c's main.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/target.h"
#include "coordinator/stratum_proto.h"
#include "testpool/testpool.h"

#define OUT_MAX	(1 << 20)	/* a miner that does not read is dropped */
#define OVERSIZE 70000

struct client {
	int fd;
	SSL *ssl;
	int handshaking, want_write;
	uint64_t gen;
	struct stratum_linebuf in;
	char *out;
	size_t outlen, outcap;
	int logged, closing;
	char session[33];
	char login[128];
	int64_t login_ms;
	uint8_t nh_byte;
	char addr[64];
};

struct server {
	const struct tp_options *o;
	struct tp_stats *st;
	int lfd;
	SSL_CTX *ssl_ctx;
	struct client **cl;
	size_t ncl;
	struct tp_chain chain;
	struct tp_verify *ver;
	int vpipe[2];
	uint64_t gen_ctr;
	int stalled;
	uint64_t target64;
	char target_hex[17];
	int64_t next_job, next_block, start;
	unsigned garbage_i;
	uint8_t nh_next;
};

static void
client_free(struct client *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	stratum_linebuf_free(&c->in);
	free(c->out);
	free(c);
}

static void
client_drop(struct server *s, size_t i, const char *why)
{
	struct client *c = s->cl[i];

	log_info("testpool: %s%s%s: disconnect: %s", c->addr,
	    c->logged ? " " : "", c->logged ? c->login : "", why);
	client_free(c);
	s->cl[i] = s->cl[--s->ncl];
	ERR_clear_error();
}

static void
client_send(struct client *c, const char *line, size_t n)
{
	if (c->outlen + n > OUT_MAX) {
		c->closing = 1;
		return;
	}
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *p;

		while (cap < c->outlen + n)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL) {
			c->closing = 1;
			return;
		}
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, line, n);
	c->outlen += n;
}

/* Sends obj as a line; steals it. */
static void
client_send_json(struct client *c, json_t *obj)
{
	char *s;

	if (obj == NULL)
		return;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL)
		return;
	client_send(c, s, strlen(s));
	client_send(c, "\n", 1);
	free(s);
}

static void
reply_error(struct client *c, json_t *id, const char *msg)
{
	client_send_json(c, json_pack("{s:O, s:s, s:{s:i, s:s}}", "id", id,
	    "jsonrpc", "2.0", "error", "code", -1, "message", msg));
}

static void
reply_result(struct client *c, json_t *id, json_t *result)
{
	client_send_json(c, json_pack("{s:O, s:s, s:n, s:o}", "id", id,
	    "jsonrpc", "2.0", "error", "result", result));
}

static json_t *
job_json(struct server *s, struct client *c, struct tp_template *t)
{
	uint8_t blob[TP_BLOB_MAX];
	char bhex[2 * TP_BLOB_MAX + 1], shex[65], id[24];

	memcpy(blob, t->blob, t->blob_len);
	if (s->o->nicehash)
		blob[s->chain.nonce_offset + 3] = c->nh_byte;
	hex_encode(blob, t->blob_len, bhex, sizeof(bhex));
	hex_encode(t->seed, 32, shex, sizeof(shex));
	snprintf(id, sizeof(id), "%" PRIu64, t->id);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "blob", bhex,
	    "job_id", id, "target", s->target_hex, "height", (json_int_t)t->height,
	    "seed_hash", shex, "algo", "rx/0");
}

static const char *garbage[] = {
	"this is not json",
	"[1,2,3]",
	"{\"id\":\"seven\",\"result\":{\"status\":\"OK\"}}",
	"{\"method\":\"job\",\"params\":{\"job_id\":5,\"blob\":7}}",
	"{\"method\":42}",
	"{\"id\":987654,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{\"status\":\"OK\"}}",
	"{\"method\":\"job\",\"params\":{\"job_id\":\"g1\",\"blob\":\"00ff\",\"target\":\"ffff\",\"seed_hash\":\"zz\"}}",
	"\x01\x02\x03\xff\xfe binary",
	"{\"method\":\"mining.notify\",\"params\":[]}",
	"{\"id\":1,\"result\":",
};

static void
send_job(struct server *s, struct client *c, struct tp_template *t)
{
	client_send_json(c, json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0",
	    "method", "job", "params", job_json(s, c, t)));
	if (s->o->garbage) {
		const char *g = garbage[s->garbage_i++ % (sizeof(garbage) /
		    sizeof(garbage[0]))];

		client_send(c, g, strlen(g));
		client_send(c, "\n", 1);
	}
}

static void
handle_login(struct server *s, struct client *c, json_t *id, json_t *params)
{
	json_t *login = json_object_get(params, "login");
	json_t *pass = json_object_get(params, "pass");
	struct tp_template *t = tp_chain_current(&s->chain);
	uint8_t rnd[16];
	json_t *ext;

	if (!json_is_string(login) || json_string_length(login) == 0 ||
	    json_string_length(login) >= sizeof(c->login)) {
		reply_error(c, id, "Missing login");
		return;
	}
	if (s->o->refuse_login) {
		tp_stats_login(s->st, json_string_value(login), 0);
		log_info("testpool: %s: login %s refused (--refuse-login)", c->addr,
		    json_string_value(login));
		reply_error(c, id, "Invalid payment address provided");
		return;
	}
	if (s->o->password != NULL && (!json_is_string(pass) ||
	    strcmp(json_string_value(pass), s->o->password) != 0)) {
		tp_stats_login(s->st, json_string_value(login), 0);
		log_info("testpool: %s: login %s: wrong password", c->addr,
		    json_string_value(login));
		reply_error(c, id, "Invalid password");
		return;
	}
	snprintf(c->login, sizeof(c->login), "%s", json_string_value(login));
	RAND_bytes(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), c->session, sizeof(c->session));
	c->logged = 1;
	c->login_ms = clock_mono_ms();
	c->nh_byte = s->nh_next++;
	tp_stats_login(s->st, c->login, 1);
	log_info("testpool: %s: login %s", c->addr, c->login);
	ext = json_pack("[s, s]", "algo", "keepalive");
	if (s->o->nicehash)
		json_array_append_new(ext, json_string("nicehash"));
	reply_result(c, id, json_pack("{s:s, s:o, s:o, s:s}", "id", c->session,
	    "job", job_json(s, c, t), "extensions", ext, "status", "OK"));
	if (s->o->oversize_line) {
		char *big = malloc(OVERSIZE + 1);

		if (big != NULL) {
			memset(big, 'x', OVERSIZE);
			big[OVERSIZE] = '\n';
			client_send(c, big, OVERSIZE + 1);
			free(big);
		}
	}
}

static void
share_verdict(struct server *s, struct client *c, json_t *id,
    const char *login, const char *job_id, const char *nonce_hex,
    const char *verdict)
{
	tp_stats_share(s->st, login, job_id, nonce_hex, verdict, 0);
	log_info("testpool: share from %s job %s nonce %s: %s", login, job_id,
	    nonce_hex, verdict);
	if (c != NULL)
		reply_error(c, id, verdict);
}

static void
handle_submit(struct server *s, struct client *c, json_t *id, json_t *params)
{
	json_t *sid = json_object_get(params, "id");
	json_t *jid = json_object_get(params, "job_id");
	json_t *jn = json_object_get(params, "nonce");
	json_t *jr = json_object_get(params, "result");
	const char *login = c->logged ? c->login : "(none)";
	const char *job = json_is_string(jid) ? json_string_value(jid) : "?";
	const char *nonce = json_is_string(jn) ? json_string_value(jn) : "?";
	struct tp_verify_job *vj;
	struct tp_template *t;
	uint8_t nb[4], rb[32];
	char *end;
	uint64_t tid;

	if (!c->logged || !json_is_string(sid) ||
	    strcmp(json_string_value(sid), c->session) != 0) {
		share_verdict(s, c, id, login, job, "-", "Unauthenticated");
		return;
	}
	if (strlen(nonce) > 8)
		nonce = "?";
	tid = json_is_string(jid) ? strtoull(job, &end, 10) : 0;
	t = json_is_string(jid) && *end == '\0' ? tp_chain_find(&s->chain, tid) :
	    NULL;
	if (t == NULL) {
		share_verdict(s, c, id, login, job, nonce, "Invalid job id");
		return;
	}
	if (t->height < s->chain.height) {
		share_verdict(s, c, id, login, job, nonce, "Block expired");
		return;
	}
	if (!json_is_string(jn) || hex_decode_exact(nonce, nb, 4) != 0) {
		share_verdict(s, c, id, login, job, "?", "Invalid nonce");
		return;
	}
	if (!json_is_string(jr) || hex_decode_exact(json_string_value(jr), rb,
	    32) != 0) {
		share_verdict(s, c, id, login, job, nonce, "Invalid result");
		return;
	}
	if (s->o->nicehash && nb[3] != c->nh_byte) {
		share_verdict(s, c, id, login, job, nonce,
		    "Invalid nonce; is miner not compatible with NiceHash?");
		return;
	}
	if (tp_template_seen(t, le32_read(nb))) {
		share_verdict(s, c, id, login, job, nonce, "Duplicate share");
		return;
	}
	if ((vj = calloc(1, sizeof(*vj))) == NULL) {
		share_verdict(s, c, id, login, job, nonce, "Internal error");
		return;
	}
	vj->client_id = c->gen;
	vj->req_id = json_integer_value(id);
	snprintf(vj->login, sizeof(vj->login), "%s", c->login);
	snprintf(vj->job_id, sizeof(vj->job_id), "%s", job);
	snprintf(vj->nonce_hex, sizeof(vj->nonce_hex), "%s", nonce);
	vj->tpl_id = t->id;
	memcpy(vj->blob, t->blob, t->blob_len);
	memcpy(vj->blob + s->chain.nonce_offset, nb, 4);
	vj->blob_len = t->blob_len;
	memcpy(vj->seed, t->seed, 32);
	memcpy(vj->result, rb, 32);
	tp_verify_push(s->ver, vj);
}

static void
handle_line(struct server *s, struct client *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, 0, &jerr), *id, *m, *params;
	const char *method;

	if (root == NULL || !json_is_object(root)) {
		log_info("testpool: %s: invalid line ignored", c->addr);
		json_decref(root);
		return;
	}
	id = json_object_get(root, "id");
	m = json_object_get(root, "method");
	params = json_object_get(root, "params");
	if (!json_is_integer(id) || !json_is_string(m)) {
		log_info("testpool: %s: request without id or method ignored",
		    c->addr);
		json_decref(root);
		return;
	}
	method = json_string_value(m);
	if (strcmp(method, "login") == 0)
		handle_login(s, c, id, params);
	else if (strcmp(method, "submit") == 0)
		handle_submit(s, c, id, params);
	else if (strcmp(method, "keepalived") == 0) {
		if (!c->logged)
			reply_error(c, id, "Unauthenticated");
		else
			reply_result(c, id, json_pack("{s:s}", "status",
			    "KEEPALIVED"));
	} else
		reply_error(c, id, "Unsupported method");
	json_decref(root);
}

static struct client *
client_by_gen(struct server *s, uint64_t gen)
{
	for (size_t i = 0; i < s->ncl; i++)
		if (s->cl[i]->gen == gen)
			return s->cl[i];
	return NULL;
}

static void new_job(struct server *s, int advance);

static void
verified(struct server *s)
{
	struct tp_verify_job *j = tp_verify_take(s->ver), *next;
	struct client *c;
	const char *verdict = NULL;
	int block = 0;
	json_t *id;
	char hhex[65];

	for (; j != NULL; j = next) {
		next = j->next;
		c = client_by_gen(s, j->client_id);
		id = json_integer(j->req_id);
		if (!j->match)
			verdict = "Invalid share";
		else if (!hash_meets_target64(j->hash, s->target64))
			verdict = "Low difficulty share";
		else if (s->o->reject_fraction > 0 &&
		    (double)(random() % 1000000) / 1e6 < s->o->reject_fraction)
			verdict = "Rejected by fault injection";
		else
			verdict = NULL;
		if (verdict != NULL)
			share_verdict(s, c, id, j->login, j->job_id, j->nonce_hex,
			    verdict);
		else {
			block = hash_meets_target256(j->hash, s->chain.block_target);
			tp_stats_share(s->st, j->login, j->job_id, j->nonce_hex,
			    "accepted", block);
			hex_encode(j->hash, 32, hhex, sizeof(hhex));
			log_info("testpool: share from %s job %s nonce %s: "
			    "accepted%s (%s)", j->login, j->job_id, j->nonce_hex,
			    block ? ", a block" : "", hhex);
			if (c != NULL)
				reply_result(c, id, json_pack("{s:s}", "status",
				    "OK"));
		}
		json_decref(id);
		free(j);
		if (block)
			new_job(s, 1);
		block = 0;
	}
}

static void
new_job(struct server *s, int advance)
{
	struct tp_template *t = tp_chain_next(&s->chain, advance);

	tp_stats_job(s->st, t->height);
	log_info("testpool: job %" PRIu64 " height %" PRId64 "%s", t->id,
	    t->height, t->clean ? " (new block)" : "");
	for (size_t i = 0; i < s->ncl; i++)
		if (s->cl[i]->logged && !s->cl[i]->handshaking)
			send_job(s, s->cl[i], t);
}

/* ---- sockets ---------------------------------------------------------- */

static int
listen_on(struct server *s)
{
	struct stratum_url u;
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char url[300], err[300], host[64], port[8];
	int fd, one = 1, rc;

	snprintf(url, sizeof(url), "%s", s->o->listen);
	if (strchr(url, ':') == NULL || stratum_url_parse(url, &u, err,
	    sizeof(err)) != 0) {
		/* port 0 is refused by the URL parser: take it apart here */
		const char *c = strrchr(s->o->listen, ':');

		if (c == NULL || strcmp(c + 1, "0") != 0) {
			log_warnx("testpool: --listen %s: expected host:port",
			    s->o->listen);
			return -1;
		}
		snprintf(u.host, sizeof(u.host), "%.*s",
		    (int)(c - s->o->listen), s->o->listen);
		snprintf(u.port, sizeof(u.port), "0");
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(u.host, u.port, &hints, &res)) != 0) {
		log_warnx("testpool: %s: %s", s->o->listen, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("testpool: socket");
		freeaddrinfo(res);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		log_warn("testpool: cannot listen on %s", s->o->listen);
		freeaddrinfo(res);
		close(fd);
		return -1;
	}
	freeaddrinfo(res);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	log_info("testpool: listening on %s:%s (%s, %s, difficulty %" PRId64 ")",
	    host, port, s->ssl_ctx != NULL ? "tls" : "tcp",
	    s->chain.monero ? "monero" : "opensy", s->o->difficulty);
	s->lfd = fd;
	return 0;
}

static void
accept_one(struct server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[48], port[8];
	struct client *c, **p;
	int fd;

	fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK |
	    SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (s->ncl >= (size_t)s->o->max_clients ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if ((p = realloc(s->cl, (s->ncl + 1) * sizeof(*p))) == NULL ||
	    stratum_linebuf_init(&c->in) != 0) {
		if (p != NULL)
			s->cl = p;
		free(c);
		close(fd);
		return;
	}
	s->cl = p;
	c->fd = fd;
	c->gen = ++s->gen_ctr;
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->addr, sizeof(c->addr), "%s:%s", host, port);
	if (s->ssl_ctx != NULL) {
		c->ssl = SSL_new(s->ssl_ctx);
		SSL_set_fd(c->ssl, fd);
		c->handshaking = 1;
	}
	s->cl[s->ncl++] = c;
	tp_stats_connection(s->st);
	log_debug("testpool: connection from %s", c->addr);
}

/* Returns -1 when the client must go (why set). */
static int
client_read(struct server *s, struct client *c, const char **why)
{
	char *dst, *line;
	size_t avail, len;
	ssize_t n;
	int rc, e;

	if (c->handshaking) {
		rc = SSL_accept(c->ssl);
		if (rc == 1) {
			c->handshaking = 0;
			c->want_write = 0;
			return 0;
		}
		e = SSL_get_error(c->ssl, rc);
		c->want_write = e == SSL_ERROR_WANT_WRITE;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		*why = "TLS handshake failed";
		return -1;
	}
	for (;;) {
		dst = stratum_linebuf_space(&c->in, &avail);
		if (avail == 0) {
			*why = "line too long";
			return -1;
		}
		if (c->ssl != NULL) {
			n = SSL_read(c->ssl, dst, (int)avail);
			if (n <= 0) {
				e = SSL_get_error(c->ssl, (int)n);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return 0;
				*why = "connection closed";
				return -1;
			}
		} else {
			n = recv(c->fd, dst, avail, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n <= 0) {
				*why = "connection closed";
				return -1;
			}
		}
		stratum_linebuf_commit(&c->in, (size_t)n);
		while ((rc = stratum_linebuf_next(&c->in, &line, &len)) == 1)
			if (len > 0)
				handle_line(s, c, line, len);
		if (rc < 0) {
			*why = "line too long";
			return -1;
		}
	}
}

static int
client_write(struct client *c)
{
	ssize_t n;
	int e;

	while (c->outlen > 0 && !c->handshaking) {
		if (c->ssl != NULL) {
			n = SSL_write(c->ssl, c->out, (int)c->outlen);
			if (n <= 0) {
				e = SSL_get_error(c->ssl, (int)n);
				return e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ ? 0 : -1;
			}
		} else {
			n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	return 0;
}

static int
tls_init(struct server *s)
{
	if (s->o->tls_cert == NULL && s->o->tls_key == NULL)
		return 0;
	if (s->o->tls_cert == NULL || s->o->tls_key == NULL) {
		log_warnx("testpool: TLS needs both --tls-cert and --tls-key");
		return -1;
	}
	s->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (s->ssl_ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(s->ssl_ctx, s->o->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(s->ssl_ctx, s->o->tls_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(s->ssl_ctx) != 1) {
		log_warnx("testpool: cannot load the TLS certificate %s / key %s",
		    s->o->tls_cert, s->o->tls_key);
		return -1;
	}
	SSL_CTX_set_mode(s->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

static void
timers(struct server *s, int64_t now)
{
	if (s->o->stall_after > 0 && !s->stalled &&
	    now - s->start >= s->o->stall_after) {
		s->stalled = 1;
		log_info("testpool: stalling now (--stall-after): no answers, no jobs");
	}
	if (s->stalled)
		return;
	if (now >= s->next_job) {
		int adv = s->o->block_interval > 0 && now >= s->next_block;

		if (adv)
			s->next_block = now + s->o->block_interval;
		new_job(s, adv);
		s->next_job = now + s->o->job_interval;
	}
	if (s->o->drop_after > 0)
		for (size_t i = 0; i < s->ncl; i++)
			if (s->cl[i]->logged &&
			    now - s->cl[i]->login_ms >= s->o->drop_after) {
				client_drop(s, i--, "dropped (--drop-after)");
			}
}

int
tp_server_run(const struct tp_options *o, struct tp_stats *st,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *dump,
    volatile sig_atomic_t *stall_toggle, volatile sig_atomic_t *new_block)
{
	struct server s;
	struct pollfd *pfd = NULL;
	uint32_t nbits;
	uint8_t nb[4];
	uint64_t d = (uint64_t)o->difficulty;
	char drain[64], t32hex[9];
	const char *why;
	size_t i, n;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.st = st;
	s.lfd = s.vpipe[0] = s.vpipe[1] = -1;
	if (hex_decode_exact(o->nbits, nb, 4) != 0) {
		log_warnx("testpool: --nbits %s: expected 8 hex digits", o->nbits);
		return -1;
	}
	nbits = (uint32_t)nb[0] << 24 | (uint32_t)nb[1] << 16 |
	    (uint32_t)nb[2] << 8 | nb[3];
	tp_chain_init(&s.chain, strcmp(o->coin, "monero") == 0, o->height, nbits,
	    o->chain_seed);
	if (o->compact_target && d <= 0xffffffffu) {
		le32_write(nb, (uint32_t)(0xffffffffu / d));
		hex_encode(nb, 4, t32hex, sizeof(t32hex));
		snprintf(s.target_hex, sizeof(s.target_hex), "%s", t32hex);
	} else
		target_to_stratum_hex(difficulty_to_target(d), s.target_hex);
	target_from_stratum_hex(s.target_hex, &s.target64);
	if (tls_init(&s) != 0 || listen_on(&s) != 0)
		goto out;
	if (pipe2(s.vpipe, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (s.ver = tp_verify_new((int)o->verify_threads, s.vpipe[1])) == NULL) {
		log_warn("testpool: cannot start the verifiers");
		goto out;
	}
	s.start = clock_mono_ms();
	s.next_job = s.start;
	s.next_block = s.start + o->block_interval;
	new_job(&s, 0);
	s.next_job = s.start + o->job_interval;
	while (!*stop) {
		if (*dump) {
			*dump = 0;
			tp_stats_dump(st, o->summary_file);
		}
		if (*stall_toggle) {
			*stall_toggle = 0;
			s.stalled = !s.stalled;
			log_info("testpool: %s (SIGUSR2)", s.stalled ? "stalling" :
			    "answering again");
			if (!s.stalled)
				s.next_job = 0;
		}
		if (*new_block && !s.stalled) {
			*new_block = 0;
			log_info("testpool: a new block (SIGHUP)");
			new_job(&s, 1);
			s.next_job = clock_mono_ms() + o->job_interval;
		}
		timers(&s, clock_mono_ms());
		n = 2 + s.ncl;
		free(pfd);
		if ((pfd = calloc(n, sizeof(*pfd))) == NULL)
			goto out;
		pfd[0].fd = s.lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = s.vpipe[0];
		pfd[1].events = s.stalled ? 0 : POLLIN;
		for (i = 0; i < s.ncl; i++) {
			struct client *c = s.cl[i];

			pfd[2 + i].fd = c->fd;
			pfd[2 + i].events = s.stalled ? 0 : POLLIN;
			if (!s.stalled && (c->outlen > 0 || c->want_write))
				pfd[2 + i].events |= POLLOUT;
		}
		if (poll(pfd, (nfds_t)n, 100) < 0) {
			if (errno != EINTR)
				log_warn("testpool: poll");
			continue;
		}
		if (pfd[0].revents & POLLIN)
			accept_one(&s);
		if (pfd[1].revents & POLLIN) {
			while (read(s.vpipe[0], drain, sizeof(drain)) > 0)
				;
			verified(&s);
		}
		/* Walk backwards: a drop moves the last client into slot i. */
		for (i = n - 2; i-- > 0;) {
			struct client *c;

			if (i >= s.ncl)
				continue;
			c = s.cl[i];
			why = NULL;
			if (pfd[2 + i].fd != c->fd)
				continue;
			if (((pfd[2 + i].revents & (POLLIN | POLLERR | POLLHUP)) ||
			    (c->handshaking && (pfd[2 + i].revents & POLLOUT))) &&
			    client_read(&s, c, &why) != 0) {
				client_drop(&s, i, why);
				continue;
			}
			if (!s.stalled && client_write(c) != 0) {
				client_drop(&s, i, "write failed");
				continue;
			}
			if (c->closing)
				client_drop(&s, i, "not reading its answers");
		}
	}
	rc = 0;
	/* A pool does not forget shares it was sent: the ones still being
	 * verified get their verdict (and count) before the summary. */
	tp_verify_finish(s.ver);
	verified(&s);
out:
	free(pfd);
	while (s.ncl > 0)
		client_drop(&s, s.ncl - 1, "testpool stopping");
	free(s.cl);
	tp_verify_free(s.ver);
	if (s.vpipe[0] >= 0)
		close(s.vpipe[0]);
	if (s.vpipe[1] >= 0)
		close(s.vpipe[1]);
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.ssl_ctx != NULL)
		SSL_CTX_free(s.ssl_ctx);
	tp_chain_free(&s.chain);
	return rc;
}
