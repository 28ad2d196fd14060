/*
 * mpscq.c: a mutex/condvar queue with an optional bound.  Simple on
 * purpose: the hand-offs it carries (shares, ledger rows, events) are
 * thousands per second, far below where lock-free structures pay off.
 */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "common/clock.h"
#include "common/mpscq.h"

void
mpscq_init(struct mpscq *q, size_t bound)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->nonempty, &ca);
	pthread_cond_init(&q->nonfull, &ca);
	pthread_condattr_destroy(&ca);
	q->head = q->tail = NULL;
	q->len = 0;
	q->bound = bound;
	q->closed = 0;
}

void
mpscq_destroy(struct mpscq *q)
{
	pthread_cond_destroy(&q->nonempty);
	pthread_cond_destroy(&q->nonfull);
	pthread_mutex_destroy(&q->lock);
}

static void
mpscq_append(struct mpscq *q, struct mpscq_node *n)
{
	n->next = NULL;
	if (q->tail != NULL)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->len++;
	pthread_cond_signal(&q->nonempty);
}

int
mpscq_push(struct mpscq *q, struct mpscq_node *n)
{
	pthread_mutex_lock(&q->lock);
	while (!q->closed && q->bound != 0 && q->len >= q->bound)
		pthread_cond_wait(&q->nonfull, &q->lock);
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	mpscq_append(q, n);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* over: ignore the bound (the caller may not wait). */
static int
push_nowait(struct mpscq *q, struct mpscq_node *n, int over)
{
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	if (q->closed)
		rc = -1;
	else if (!over && q->bound != 0 && q->len >= q->bound)
		rc = -2;
	else
		mpscq_append(q, n);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int
mpscq_try_push(struct mpscq *q, struct mpscq_node *n)
{
	return push_nowait(q, n, 0);
}

int
mpscq_push_over(struct mpscq *q, struct mpscq_node *n)
{
	return push_nowait(q, n, 1);
}

struct mpscq_node *
mpscq_pop(struct mpscq *q, int timeout_ms)
{
	struct mpscq_node *n;
	struct timespec deadline;

	if (timeout_ms >= 0)
		deadline = clock_deadline(CLOCK_MONOTONIC, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->head == NULL && !q->closed) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&q->nonempty, &q->lock);
		} else if (pthread_cond_timedwait(&q->nonempty, &q->lock,
		    &deadline) == ETIMEDOUT) {
			break;
		}
	}
	n = q->head;
	if (n != NULL) {
		q->head = n->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->len--;
		pthread_cond_signal(&q->nonfull);
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t
mpscq_len(struct mpscq *q)
{
	size_t len;

	pthread_mutex_lock(&q->lock);
	len = q->len;
	pthread_mutex_unlock(&q->lock);
	return len;
}

void
mpscq_close(struct mpscq *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_cond_broadcast(&q->nonempty);
	pthread_cond_broadcast(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
}
