/*
 * ws_relay.c: the live feed at /ws on the dashboard's own port, as the
 * seed promised.  http.c answers the browser's upgrade (libmicrohttpd's
 * upgrade support) after its Host and Origin checks; each upgraded
 * connection then gets a thread here that opens a WebSocket to the live
 * feed's own listener on this host (libwebsockets, live.c) and relays the
 * frames both ways unchanged: the browser's are masked as a client's must
 * be, the feed's are not, so nothing needs rewriting.  The feed, its
 * Origin check (the browser's Origin is passed on) and its client limit
 * stay in live.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/log.h"
#include "coordinator/ws_relay.h"

#define RELAY_CONNECT_MS	5000
#define RELAY_HEAD_MAX		4096
#define RELAY_BUF		16384
#define WS_GUID			"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct relay_conn {
	struct ws_relay		*r;
	pthread_t		 thread;
	int			 done;		/* under conns_lock */
	MHD_socket		 sock;		/* the browser's, libmicrohttpd's */
	struct MHD_UpgradeResponseHandle *urh;
	char			*extra;		/* read past the request already */
	size_t			 extra_len;
	char			 origin[256];
	int			 has_origin;
	struct relay_conn	*next;
};

struct ws_relay {
	char			 host[NI_MAXHOST];
	int			 port;
	size_t			 max;
	int			 stop_pipe[2];	/* readable once stopping */
	pthread_mutex_t		 conns_lock;	/* guards conns, nconns */
	struct relay_conn	*conns;
	size_t			 nconns;
	atomic_ullong		 relayed;	/* connections ever relayed */
};

int
ws_relay_accept_key(const char *key, char out[WS_RELAY_ACCEPT_LEN])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	char buf[128];
	int n;

	n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	SHA1((const unsigned char *)buf, (size_t)n, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));	/* 28 + NUL */
	return 0;
}

struct ws_relay *
ws_relay_new(const char *host, int port, size_t max)
{
	struct ws_relay *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (pipe2(r->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_warn("ws_relay: pipe");
		free(r);
		return NULL;
	}
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port;
	r->max = max > 0 ? max : 64;
	pthread_mutex_init(&r->conns_lock, NULL);
	return r;
}

/* Joins the threads that finished (conns_lock held). */
static void
reap_locked(struct ws_relay *r)
{
	struct relay_conn **pp = &r->conns, *c;

	while ((c = *pp) != NULL) {
		if (!c->done) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		pthread_join(c->thread, NULL);
		free(c->extra);
		free(c);
		r->nconns--;
	}
}

void
ws_relay_free(struct ws_relay *r)
{
	char b = 1;

	if (r == NULL)
		return;
	/* Never read: every relay's poll sees it until the end. */
	(void)!write(r->stop_pipe[1], &b, 1);
	pthread_mutex_lock(&r->conns_lock);
	while (r->conns != NULL) {
		struct relay_conn *c = r->conns;
		r->conns = c->next;
		pthread_mutex_unlock(&r->conns_lock);
		pthread_join(c->thread, NULL);
		free(c->extra);
		free(c);
		pthread_mutex_lock(&r->conns_lock);
	}
	pthread_mutex_unlock(&r->conns_lock);
	close(r->stop_pipe[0]);
	close(r->stop_pipe[1]);
	pthread_mutex_destroy(&r->conns_lock);
	free(r);
}

int
ws_relay_full(struct ws_relay *r)
{
	int full;

	pthread_mutex_lock(&r->conns_lock);
	reap_locked(r);
	full = r->nconns >= r->max;
	pthread_mutex_unlock(&r->conns_lock);
	return full;
}

/* Waits for fd to be ready for events (or the stop pipe): 1 ready, 0
 * stopping or timed out, -1 error. */
static int
wait_fd(struct ws_relay *r, int fd, short events, int timeout_ms)
{
	struct pollfd p[2] = { { fd, events, 0 }, { r->stop_pipe[0], POLLIN, 0 } };
	int n;

	do
		n = poll(p, 2, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (p[1].revents != 0 || n == 0)
		return 0;
	return 1;
}

/* Writes all of buf to a non-blocking socket; 0 or -1. */
static int
write_all(struct ws_relay *r, int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(r, fd, POLLOUT, 10000) == 1)
			continue;
		return -1;
	}
	return 0;
}

/* A connection to the live feed's listener, non-blocking; -1 on failure. */
static int
feed_connect(struct ws_relay *r)
{
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int fd, err = 0;
	socklen_t len = sizeof(err);

	snprintf(port, sizeof(port), "%d", r->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(r->host, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    (errno != EINPROGRESS || wait_fd(r, fd, POLLOUT, RELAY_CONNECT_MS)
	    != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
	    err != 0)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * The client half of the handshake with the live feed.  Returns the
 * feed's socket, having forwarded to the browser whatever followed the
 * feed's 101 answer; -1 when the feed refused (full, Origin) or is away.
 */
static int
feed_open(struct relay_conn *c)
{
	struct ws_relay *r = c->r;
	unsigned char nonce[16];
	char key[32], req[1024], head[RELAY_HEAD_MAX + 1], *end;
	size_t got = 0;
	int fd, n;

	if ((fd = feed_connect(r)) < 0) {
		log_warnx("ws_relay: cannot reach the live feed at %s port %d",
		    r->host, r->port);
		return -1;
	}
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		goto fail;
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
	n = snprintf(req, sizeof(req), "GET /ws HTTP/1.1\r\nHost: %s%s%s:%d\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
	    strchr(r->host, ':') ? "[" : "", r->host,
	    strchr(r->host, ':') ? "]" : "", r->port, key,
	    c->has_origin ? "Origin: " : "", c->has_origin ? c->origin : "",
	    c->has_origin ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    write_all(r, fd, req, (size_t)n) != 0)
		goto fail;
	for (;;) {
		ssize_t k;
		if (got >= RELAY_HEAD_MAX ||
		    wait_fd(r, fd, POLLIN, RELAY_CONNECT_MS) != 1)
			goto fail;
		k = recv(fd, head + got, RELAY_HEAD_MAX - got, 0);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			goto fail;
		got += (size_t)k;
		head[got] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
	}
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		log_warnx("ws_relay: the live feed refused the client: %.60s", head);
		goto fail;
	}
	end += 4;
	if ((size_t)(end - head) < got &&
	    write_all(r, c->sock, end, got - (size_t)(end - head)) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Copies what is readable on from to to; 0, or -1 at the end. */
static int
pump(struct ws_relay *r, int from, int to, char *buf)
{
	ssize_t n = recv(from, buf, RELAY_BUF, 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0)
		return -1;
	return write_all(r, to, buf, (size_t)n);
}

static void *
relay_main(void *arg)
{
	struct relay_conn *c = arg;
	struct ws_relay *r = c->r;
	char *buf = malloc(RELAY_BUF);
	int fd = -1, fl;

	fl = fcntl(c->sock, F_GETFL);
	if (fl >= 0)
		(void)fcntl(c->sock, F_SETFL, fl | O_NONBLOCK);
	if (buf != NULL && (fd = feed_open(c)) >= 0 &&
	    (c->extra_len == 0 ||
	    write_all(r, fd, c->extra, c->extra_len) == 0)) {
		atomic_fetch_add(&r->relayed, 1);
		for (;;) {
			struct pollfd p[3] = { { c->sock, POLLIN, 0 },
			    { fd, POLLIN, 0 }, { r->stop_pipe[0], POLLIN, 0 } };
			if (poll(p, 3, -1) < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (p[2].revents != 0)
				break;
			if (p[0].revents != 0 && pump(r, c->sock, fd, buf) != 0)
				break;
			if (p[1].revents != 0 && pump(r, fd, c->sock, buf) != 0)
				break;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
	pthread_mutex_lock(&r->conns_lock);
	c->done = 1;
	pthread_mutex_unlock(&r->conns_lock);
	return NULL;
}

int
ws_relay_start(struct ws_relay *r, MHD_socket sock, const char *extra,
    size_t extra_len, const char *origin, struct MHD_UpgradeResponseHandle *urh)
{
	struct relay_conn *c = calloc(1, sizeof(*c));
	sigset_t all, old;
	int rc;

	if (c == NULL || (extra_len > 0 && (c->extra = malloc(extra_len)) ==
	    NULL)) {
		free(c);
		return -1;
	}
	c->r = r;
	c->sock = sock;
	c->urh = urh;
	if (extra_len > 0)
		memcpy(c->extra, extra, extra_len);
	c->extra_len = extra_len;
	if (origin != NULL) {
		snprintf(c->origin, sizeof(c->origin), "%s", origin);
		c->has_origin = 1;
	}
	/* The relay thread takes no signals (main.c waits for them). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&r->conns_lock);
	reap_locked(r);
	rc = pthread_create(&c->thread, NULL, relay_main, c);
	if (rc == 0) {
		c->next = r->conns;
		r->conns = c;
		r->nconns++;
	}
	pthread_mutex_unlock(&r->conns_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("ws_relay: cannot start a relay thread: %s", strerror(rc));
		free(c->extra);
		free(c);
		return -1;
	}
	return 0;
}

unsigned long long
ws_relay_count(struct ws_relay *r)
{
	return atomic_load(&r->relayed);
}
