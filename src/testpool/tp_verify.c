/*
 * tp_verify.c: the testpool's share checkers.  A few threads hash submitted
 * blobs with RandomX (light mode: ~30 ms a hash, so the network loop must
 * not do it) and hand results back through a list and a notify pipe.
 * Contexts are built lazily per seed and shared; each thread keeps its VM.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/rx.h"
#include "testpool/testpool.h"

#define CTX_KEEP 2

struct tp_verify {
	pthread_mutex_t lock;		/* guards todo, done, stop */
	pthread_cond_t cond;
	struct tp_verify_job *todo, *todo_tail, *done, *done_tail;
	int stop;
	int draining;		/* finish what is queued, then end */
	int notify_fd;
	pthread_t *thr;
	int nthr;
	pthread_mutex_t ctx_lock;	/* guards ctx[] (built under it) */
	struct rx_ctx *ctx[CTX_KEEP];
	unsigned ctx_next;
};

static struct rx_ctx *
ctx_get(struct tp_verify *v, const uint8_t seed[32])
{
	struct rx_ctx *c = NULL;

	pthread_mutex_lock(&v->ctx_lock);
	for (int i = 0; i < CTX_KEEP; i++)
		if (v->ctx[i] != NULL && rx_ctx_has_key(v->ctx[i], seed, 32))
			c = rx_ctx_ref(v->ctx[i]);
	if (c == NULL) {
		log_info("testpool: building the RandomX cache for a new seed");
		c = rx_ctx_new(seed, 32, RX_LIGHT, RX_PAGES_AUTO, 1);
		if (c != NULL) {
			if (v->ctx[v->ctx_next] != NULL)
				rx_ctx_unref(v->ctx[v->ctx_next]);
			v->ctx[v->ctx_next] = rx_ctx_ref(c);
			v->ctx_next = (v->ctx_next + 1) % CTX_KEEP;
		}
	}
	pthread_mutex_unlock(&v->ctx_lock);
	return c;
}

static void *
verify_main(void *arg)
{
	struct tp_verify *v = arg;
	struct tp_verify_job *j;
	struct rx_vm *vm = NULL;
	uint8_t vm_seed[32];
	struct rx_ctx *c;
	char one = 1;

	for (;;) {
		pthread_mutex_lock(&v->lock);
		while (v->todo == NULL && !v->stop && !v->draining)
			pthread_cond_wait(&v->cond, &v->lock);
		if (v->stop || (v->draining && v->todo == NULL)) {
			pthread_mutex_unlock(&v->lock);
			break;
		}
		j = v->todo;
		v->todo = j->next;
		if (v->todo == NULL)
			v->todo_tail = NULL;
		pthread_mutex_unlock(&v->lock);

		if (vm == NULL || memcmp(vm_seed, j->seed, 32) != 0) {
			if (vm != NULL)
				rx_vm_free(vm);
			vm = NULL;
			if ((c = ctx_get(v, j->seed)) != NULL) {
				vm = rx_vm_new(c);
				rx_ctx_unref(c);
				memcpy(vm_seed, j->seed, 32);
			}
		}
		if (vm != NULL) {
			rx_hash(vm, j->blob, j->blob_len, j->hash);
			j->match = memcmp(j->hash, j->result, 32) == 0;
		} else {
			memset(j->hash, 0xff, 32);
			j->match = 0;
		}
		j->next = NULL;
		pthread_mutex_lock(&v->lock);
		if (v->done_tail != NULL)
			v->done_tail->next = j;
		else
			v->done = j;
		v->done_tail = j;
		pthread_mutex_unlock(&v->lock);
		if (write(v->notify_fd, &one, 1) < 0 && errno != EAGAIN)
			log_warn("testpool: notify");
	}
	if (vm != NULL)
		rx_vm_free(vm);
	return NULL;
}

struct tp_verify *
tp_verify_new(int threads, int notify_fd)
{
	struct tp_verify *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->ctx_lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	v->notify_fd = notify_fd;
	if ((v->thr = calloc((size_t)threads, sizeof(*v->thr))) == NULL) {
		free(v);
		return NULL;
	}
	for (v->nthr = 0; v->nthr < threads; v->nthr++)
		if (pthread_create(&v->thr[v->nthr], NULL, verify_main, v) != 0)
			break;
	return v;
}

void
tp_verify_push(struct tp_verify *v, struct tp_verify_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&v->lock);
	if (v->todo_tail != NULL)
		v->todo_tail->next = j;
	else
		v->todo = j;
	v->todo_tail = j;
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

struct tp_verify_job *
tp_verify_take(struct tp_verify *v)
{
	struct tp_verify_job *j;

	pthread_mutex_lock(&v->lock);
	j = v->done;
	v->done = v->done_tail = NULL;
	pthread_mutex_unlock(&v->lock);
	return j;
}

static void
free_list(struct tp_verify_job *j)
{
	struct tp_verify_job *n;

	for (; j != NULL; j = n) {
		n = j->next;
		free(j);
	}
}

void
tp_verify_finish(struct tp_verify *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	v->draining = 1;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	for (int i = 0; i < v->nthr; i++)
		pthread_join(v->thr[i], NULL);
	v->nthr = 0;
}

void
tp_verify_free(struct tp_verify *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	v->stop = 1;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	for (int i = 0; i < v->nthr; i++)
		pthread_join(v->thr[i], NULL);
	free_list(v->todo);
	free_list(v->done);
	for (int i = 0; i < CTX_KEEP; i++)
		if (v->ctx[i] != NULL)
			rx_ctx_unref(v->ctx[i]);
	free(v->thr);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->ctx_lock);
	pthread_cond_destroy(&v->cond);
	free(v);
}
