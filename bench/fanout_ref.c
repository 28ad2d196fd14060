/*
 * fanout_ref.c: the floor under the coordinator's job fan-out on this
 * machine, printed by bench/scale.sh beside the loadgen's figure so that
 * the two can be compared in one run.
 *
 * N plain TCP connections on loopback (no TLS, no HTTP/2, no protobuf):
 * every round, --writers threads write one 300-byte message to every
 * connection, each carrying the round's start time (as the coordinator's
 * work carries the time the pool's job became work), and --readers
 * threads, each with its own epoll set over a part of the connections (as
 * the load generator's threads each own some workers), read them and
 * record the delay.  On loopback the writer's send also runs the
 * receiver's TCP processing, so this is what the kernel alone needs to
 * get one small message to N sockets and N messages out of them.
 *
 * usage: bench_fanout_ref [--connections N] [--rounds R]
 *        [--interval-ms MS] [--writers W] [--readers R]
 * Prints one line: "reference fan-out: p50 X ms  p99 Y ms  max Z ms (S
 * samples) ..."; exits 1 when a connection cannot be set up (the
 * descriptor limit: it needs 2 N + a few).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_BYTES 300

static int nconn = 1000, rounds = 20, interval_ms = 200, nwriters = 2,
    nreaders = 2;
static int *wfd, *rfd;			/* the writing and the reading ends */
static double *lat_ms;			/* one per message read */
static atomic_size_t nlat;
static atomic_int stop_readers;

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct reader {
	pthread_t th;
	int ep;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct epoll_event ev[256];
	uint8_t buf[MSG_BYTES * 8];

	while (!atomic_load(&stop_readers)) {
		int n = epoll_wait(r->ep, ev, 256, 100);
		for (int i = 0; i < n; i++) {
			ssize_t got = read(ev[i].data.fd, buf, sizeof(buf));
			int64_t now = wall_us();
			/* whole messages only: each begins with its time */
			for (ssize_t off = 0; off + MSG_BYTES <= got;
			    off += MSG_BYTES) {
				int64_t t0;
				size_t k = atomic_fetch_add(&nlat, 1);
				memcpy(&t0, buf + off, sizeof(t0));
				if (k < (size_t)nconn * (size_t)rounds)
					lat_ms[k] = (double)(now - t0) / 1000.0;
			}
		}
	}
	return NULL;
}

struct writer {
	pthread_t th;
	int from, to;
	int64_t t0;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t msg[MSG_BYTES];

	memset(msg, 0x5a, sizeof(msg));
	memcpy(msg, &w->t0, sizeof(w->t0));
	for (int i = w->from; i < w->to; i++)
		if (write(wfd[i], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			fprintf(stderr, "fanout_ref: write: %s\n", strerror(errno));
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
setup(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd, one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1 ||
	    listen(lfd, 4096) == -1) {
		fprintf(stderr, "fanout_ref: listener: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < nconn; i++) {
		if ((rfd[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    connect(rfd[i], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    (wfd[i] = accept(lfd, NULL, NULL)) == -1) {
			fprintf(stderr, "fanout_ref: connection %d of %d: %s\n", i + 1,
			    nconn, strerror(errno));
			close(lfd);
			return -1;
		}
		/* as gRPC sets it: each message leaves at once */
		setsockopt(wfd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	close(lfd);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connections", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "writers", required_argument, NULL, 'w' },
		{ "readers", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct reader *rd;
	struct writer *wr;
	size_t n;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': nconn = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'i': interval_ms = atoi(optarg); break;
		case 'w': nwriters = atoi(optarg); break;
		case 'R': nreaders = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bench_fanout_ref [--connections N] "
			    "[--rounds R] [--interval-ms MS] [--writers W] "
			    "[--readers R]\n");
			return 2;
		}
	}
	if (nconn < 1 || rounds < 1 || interval_ms < 1 || nwriters < 1 ||
	    nreaders < 1 || nwriters > 64 || nreaders > 64) {
		fprintf(stderr, "fanout_ref: counts must be positive (threads "
		    "at most 64)\n");
		return 2;
	}
	wfd = calloc((size_t)nconn, sizeof(int));
	rfd = calloc((size_t)nconn, sizeof(int));
	lat_ms = calloc((size_t)nconn * (size_t)rounds, sizeof(double));
	rd = calloc((size_t)nreaders, sizeof(*rd));
	wr = calloc((size_t)nwriters, sizeof(*wr));
	if (wfd == NULL || rfd == NULL || lat_ms == NULL || rd == NULL ||
	    wr == NULL) {
		fprintf(stderr, "fanout_ref: out of memory\n");
		return 1;
	}
	if (setup() != 0)
		return 1;
	for (int i = 0; i < nreaders; i++) {
		if ((rd[i].ep = epoll_create1(0)) == -1) {
			fprintf(stderr, "fanout_ref: epoll: %s\n", strerror(errno));
			return 1;
		}
		for (int k = i; k < nconn; k += nreaders) {
			struct epoll_event ev = { .events = EPOLLIN,
			    .data.fd = rfd[k] };
			epoll_ctl(rd[i].ep, EPOLL_CTL_ADD, rfd[k], &ev);
		}
		pthread_create(&rd[i].th, NULL, reader_main, &rd[i]);
	}
	for (int r = 0; r < rounds; r++) {
		int64_t t0 = wall_us();
		for (int i = 0; i < nwriters; i++) {
			wr[i].from = (int)((int64_t)nconn * i / nwriters);
			wr[i].to = (int)((int64_t)nconn * (i + 1) / nwriters);
			wr[i].t0 = t0;
			pthread_create(&wr[i].th, NULL, writer_main, &wr[i]);
		}
		for (int i = 0; i < nwriters; i++)
			pthread_join(wr[i].th, NULL);
		usleep((useconds_t)interval_ms * 1000);
	}
	/* every message is read within a second of the last round */
	for (int i = 0; i < 100 && atomic_load(&nlat) <
	    (size_t)nconn * (size_t)rounds; i++)
		usleep(10000);
	atomic_store(&stop_readers, 1);
	for (int i = 0; i < nreaders; i++)
		pthread_join(rd[i].th, NULL);
	n = atomic_load(&nlat);
	if (n > (size_t)nconn * (size_t)rounds)
		n = (size_t)nconn * (size_t)rounds;
	if (n < (size_t)nconn * (size_t)rounds)
		fprintf(stderr, "fanout_ref: only %zu of %zu messages read\n", n,
		    (size_t)nconn * (size_t)rounds);
	if (n == 0)
		return 1;
	qsort(lat_ms, n, sizeof(double), cmp_double);
	printf("reference fan-out (%d plain TCP loopback connections, %d writer "
	    "thread(s), %d reader thread(s), %d-byte messages): p50 %.2f ms  "
	    "p99 %.2f ms  max %.2f ms  (%zu samples)\n", nconn, nwriters, nreaders,
	    MSG_BYTES, lat_ms[n / 2], lat_ms[n * 99 / 100], lat_ms[n - 1], n);
	return n == (size_t)nconn * (size_t)rounds ? 0 : 1;
}
