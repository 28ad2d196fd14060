/*
 * fake_client.c: implements client.h for the worker's unit tests; one
 * client at a time, state behind one mutex.  See fake_client.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_client.h"

struct client {
	struct client_callbacks cb;
	void *arg;
};

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct client *fake_cur;
static struct fake_share fake_shares[FAKE_SHARES_MAX];
static size_t fake_nshares;
static int fake_leases, fake_started, fake_stopped;
static struct client_stats fake_stats;

struct client *
client_new(const struct client_config *cfg, const struct client_callbacks *cb,
    void *arg)
{
	struct client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->cb = *cb;
	c->arg = arg;
	pthread_mutex_lock(&fake_lock);
	fake_cur = c;
	fake_nshares = 0;
	fake_leases = fake_started = fake_stopped = 0;
	pthread_mutex_unlock(&fake_lock);
	return c;
}

int
client_start(struct client *c)
{
	pthread_mutex_lock(&fake_lock);
	fake_started = 1;
	pthread_mutex_unlock(&fake_lock);
	if (c->cb.on_connection != NULL)
		c->cb.on_connection(c->arg, 1, "fake:0");
	return 0;
}

int
client_submit_share(struct client *c, uint64_t tag, const char *job_id,
    uint32_t nonce, const uint8_t result[32])
{
	int rc = -1;

	pthread_mutex_lock(&fake_lock);
	if (fake_nshares < FAKE_SHARES_MAX) {
		struct fake_share *s = &fake_shares[fake_nshares++];
		s->tag = tag;
		snprintf(s->job_id, sizeof(s->job_id), "%s", job_id);
		s->nonce = nonce;
		memcpy(s->result, result, 32);
		rc = 0;
	}
	pthread_mutex_unlock(&fake_lock);
	return rc;
}

void
client_set_stats(struct client *c, const struct client_stats *st)
{
	pthread_mutex_lock(&fake_lock);
	fake_stats = *st;
	pthread_mutex_unlock(&fake_lock);
}

void
client_request_lease(struct client *c)
{
	pthread_mutex_lock(&fake_lock);
	fake_leases++;
	pthread_mutex_unlock(&fake_lock);
}

void
client_stop(struct client *c)
{
	pthread_mutex_lock(&fake_lock);
	fake_stopped = 1;
	pthread_mutex_unlock(&fake_lock);
}

void
client_free(struct client *c)
{
	pthread_mutex_lock(&fake_lock);
	if (fake_cur == c)
		fake_cur = NULL;
	pthread_mutex_unlock(&fake_lock);
	free(c);
}

static struct client *
current(void)
{
	struct client *c;

	pthread_mutex_lock(&fake_lock);
	c = fake_cur;
	pthread_mutex_unlock(&fake_lock);
	return c;
}

void
fake_client_job(const struct client_job *job)
{
	struct client *c = current();

	if (c != NULL && c->cb.on_job != NULL)
		c->cb.on_job(c->arg, job);
}

void
fake_client_command(enum worker_command cmd)
{
	struct client *c = current();

	if (c != NULL && c->cb.on_command != NULL)
		c->cb.on_command(c->arg, cmd);
}

void
fake_client_verdict(uint64_t tag, int accepted, const char *reason)
{
	struct client *c = current();

	if (c != NULL && c->cb.on_share_result != NULL)
		c->cb.on_share_result(c->arg, tag, accepted, reason, 0, 1.0);
}

size_t
fake_client_shares(struct fake_share *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&fake_lock);
	n = fake_nshares < max ? fake_nshares : max;
	memcpy(out, fake_shares, n * sizeof(*out));
	pthread_mutex_unlock(&fake_lock);
	return n;
}

int
fake_client_lease_requests(void)
{
	int n;

	pthread_mutex_lock(&fake_lock);
	n = fake_leases;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

int
fake_client_started(void)
{
	int n;

	pthread_mutex_lock(&fake_lock);
	n = fake_started;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

int
fake_client_stopped(void)
{
	int n;

	pthread_mutex_lock(&fake_lock);
	n = fake_stopped;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

void
fake_client_last_stats(struct client_stats *st)
{
	pthread_mutex_lock(&fake_lock);
	*st = fake_stats;
	pthread_mutex_unlock(&fake_lock);
}
