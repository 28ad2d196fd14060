/*
 * alerts.c: [alerts] exec = PROGRAM, alerting for operators without
 * Prometheus.  The coordinator's modules call alerts_raise() from any
 * thread; it debounces (one event of a name for a subject per debounce
 * period) and queues without ever blocking (a full queue drops and
 * counts).  This module's own thread runs PROGRAM once per event with
 * the event as one JSON object on its stdin, and kills a run that takes
 * longer than the timeout.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mpscq.h"
#include "coordinator/alerts.h"

extern char **environ;

#define ALERTS_SEEN_MAX	512	/* (event, subject) pairs remembered */
#define ALERTS_MSG_MAX	512

enum alert_msg_type { AMSG_EVENT = 0 };

struct alert_msg {
	struct mpscq_node node;
	char *json;
	char event[ALERTS_NAME_MAX], subject[ALERTS_NAME_MAX];
};

struct seen {
	char event[ALERTS_NAME_MAX], subject[ALERTS_NAME_MAX];
	int64_t at;		/* monotonic ms of the last one let through */
};

struct alerts {
	char *exec, *cluster;
	int64_t debounce_ms, timeout_ms;
	struct mpscq q;
	pthread_t thread;
	int running;

	pthread_mutex_t seen_lock;	/* guards seen, nseen, counters */
	struct seen seen[ALERTS_SEEN_MAX];
	size_t nseen;
	struct alerts_stats st;
};

const char *
alerts_severity_name(enum alert_severity s)
{
	switch (s) {
	case ALERT_INFO: return "info";
	case ALERT_WARNING: return "warning";
	case ALERT_CRITICAL: return "critical";
	}
	return "warning";
}

/* Runs the program with json on stdin; its exit status, or -1. */
static int
run_program(struct alerts *a, const struct alert_msg *m)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	char *argv[] = { "/bin/sh", "-c", a->exec, NULL };
	int p[2], status = 0, rc;
	int64_t deadline;
	pid_t pid, w;
	size_t len = strlen(m->json), off = 0;

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("alerts: pipe");
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
	posix_spawnattr_init(&at);
	/* Its own process group (killed whole on a timeout), no signal
	 * blocked or ignored as the coordinator's threads have them. */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[0]);
	if (rc != 0) {
		close(p[1]);
		log_warnx("alerts: cannot run %s: %s", a->exec, strerror(rc));
		return -1;
	}
	/* An event is far below the pipe's buffer: this never waits on a
	 * program that does not read. */
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (off < len) {
		ssize_t n = write(p[1], m->json + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(p[1]);
	deadline = clock_mono_ms() + a->timeout_ms;
	for (;;) {
		struct timespec ts = { 0, 20 * 1000000L };
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			log_warn("alerts: waitpid");
			return -1;
		}
		if (clock_mono_ms() >= deadline) {
			log_warnx("alerts: %s took longer than %lld ms for %s (%s): "
			    "killed", a->exec, (long long)a->timeout_ms, m->event,
			    m->subject);
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	log_warnx("alerts: %s failed for %s (%s): %s %d", a->exec, m->event,
	    m->subject, WIFEXITED(status) ? "exit status" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -1;
}

static void *
alerts_thread(void *arg)
{
	struct alerts *a = arg;
	struct mpscq_node *n;

	/* Until the queue is closed and drained. */
	while ((n = mpscq_pop(&a->q, -1)) != NULL) {
		struct alert_msg *m = (struct alert_msg *)n;
		int rc;

		switch (n->type) {
		case AMSG_EVENT:
			rc = run_program(a, m);
			pthread_mutex_lock(&a->seen_lock);
			if (rc == 0)
				a->st.sent++;
			else
				a->st.failed++;
			pthread_mutex_unlock(&a->seen_lock);
			break;
		default:
			fatalx("alerts: unexpected message %d", n->type);
		}
		free(m->json);
		free(m);
	}
	return NULL;
}

struct alerts *
alerts_new(const struct alerts_config *cfg)
{
	struct alerts *a;

	if (cfg->exec == NULL || cfg->exec[0] == '\0')
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->exec = strdup(cfg->exec);
	a->cluster = strdup(cfg->cluster_id ? cfg->cluster_id : "");
	a->debounce_ms = cfg->debounce_ms;
	a->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	mpscq_init(&a->q, cfg->queue_max > 0 ? cfg->queue_max : 64);
	pthread_mutex_init(&a->seen_lock, NULL);
	if (a->exec == NULL || a->cluster == NULL ||
	    pthread_create(&a->thread, NULL, alerts_thread, a) != 0) {
		log_warnx("alerts: cannot start the alert thread");
		alerts_free(a);
		return NULL;
	}
	a->running = 1;
	log_info("alerts: running %s for each alert (debounce %lld ms, timeout "
	    "%lld ms)", a->exec, (long long)a->debounce_ms,
	    (long long)a->timeout_ms);
	return a;
}

void
alerts_free(struct alerts *a)
{
	struct mpscq_node *n;

	if (a == NULL)
		return;
	mpscq_close(&a->q);
	if (a->running)
		pthread_join(a->thread, NULL);
	while ((n = mpscq_pop(&a->q, 0)) != NULL) {
		free(((struct alert_msg *)n)->json);
		free(n);
	}
	mpscq_destroy(&a->q);
	pthread_mutex_destroy(&a->seen_lock);
	free(a->exec);
	free(a->cluster);
	free(a);
}

/* 1 when this (event, subject) was let through within the debounce
 * period; else records now and returns 0 (seen_lock held). */
static int
debounced_locked(struct alerts *a, const char *event, const char *subject,
    int64_t now)
{
	size_t i, oldest = 0;

	for (i = 0; i < a->nseen; i++) {
		struct seen *s = &a->seen[i];
		if (strcmp(s->event, event) == 0 &&
		    strcmp(s->subject, subject) == 0) {
			if (now - s->at < a->debounce_ms)
				return 1;
			s->at = now;
			return 0;
		}
		if (s->at < a->seen[oldest].at)
			oldest = i;
	}
	if (a->nseen < ALERTS_SEEN_MAX)
		i = a->nseen++;
	else
		i = oldest;	/* forget the longest quiet one */
	snprintf(a->seen[i].event, ALERTS_NAME_MAX, "%s", event);
	snprintf(a->seen[i].subject, ALERTS_NAME_MAX, "%s", subject);
	a->seen[i].at = now;
	return 0;
}

void
alerts_raise(struct alerts *a, const char *event, enum alert_severity sev,
    const char *subject, const char *fmt, ...)
{
	char msg[ALERTS_MSG_MAX], iso[40];
	struct alert_msg *m;
	int64_t wall = clock_wall_ms();
	time_t secs = (time_t)(wall / 1000);
	struct tm tm;
	json_t *j;
	va_list ap;
	int rc, skip;

	if (a == NULL)
		return;
	if (subject == NULL)
		subject = "";
	pthread_mutex_lock(&a->seen_lock);
	a->st.raised++;
	skip = debounced_locked(a, event, subject, clock_mono_ms());
	if (skip)
		a->st.debounced++;
	pthread_mutex_unlock(&a->seen_lock);
	if (skip)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gmtime_r(&secs, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "event", event,
	    "severity", alerts_severity_name(sev), "subject", subject,
	    "message", msg, "time", (json_int_t)wall, "time_iso", iso,
	    "cluster", a->cluster);
	if (j == NULL || (m = calloc(1, sizeof(*m))) == NULL) {
		json_decref(j);
		goto drop;
	}
	m->json = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	snprintf(m->event, sizeof(m->event), "%s", event);
	snprintf(m->subject, sizeof(m->subject), "%s", subject);
	m->node.type = AMSG_EVENT;
	if (m->json == NULL) {
		free(m);
		goto drop;
	}
	/* Append the newline that ends the one line of JSON. */
	{
		size_t n = strlen(m->json);
		char *nj = realloc(m->json, n + 2);
		if (nj != NULL) {
			nj[n] = '\n';
			nj[n + 1] = '\0';
			m->json = nj;
		}
	}
	if ((rc = mpscq_try_push(&a->q, &m->node)) == 0)
		return;
	free(m->json);
	free(m);
drop:
	pthread_mutex_lock(&a->seen_lock);
	a->st.dropped++;
	pthread_mutex_unlock(&a->seen_lock);
	log_warnx("alerts: %s (%s) dropped: the alert queue is full (a slow "
	    "[alerts] exec program?)", event, subject);
}

void
alerts_get_stats(struct alerts *a, struct alerts_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->seen_lock);
	*out = a->st;
	pthread_mutex_unlock(&a->seen_lock);
}
