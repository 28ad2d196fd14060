/*
 * fanout.c: a parallel for over the sends of one fan-out (fanout.h).
 * The items are taken in chunks from one atomic counter, so a thread that
 * the scheduler delays leaves its share to the others.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "coordinator/fanout.h"

#define FANOUT_CHUNK 16

struct fanout {
	pthread_mutex_t run_lock;	/* one run at a time */
	pthread_mutex_t lock;		/* guards the fields down to stop */
	pthread_cond_t go, done;
	uint64_t gen;			/* runs started */
	unsigned busy;			/* helpers still in the current run */
	int stop;
	size_t n;
	void (*fn)(void *, size_t);
	void *arg;
	atomic_size_t next;		/* the next item to take */
	pthread_t *threads;
	unsigned nthreads;
};

static void
take_items(struct fanout *f, size_t n, void (*fn)(void *, size_t), void *arg)
{
	for (;;) {
		size_t i = atomic_fetch_add(&f->next, FANOUT_CHUNK), end;
		if (i >= n)
			return;
		end = i + FANOUT_CHUNK < n ? i + FANOUT_CHUNK : n;
		for (; i < end; i++)
			fn(arg, i);
	}
}

static void *
helper_main(void *arg)
{
	struct fanout *f = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->stop && f->gen == seen)
			pthread_cond_wait(&f->go, &f->lock);
		if (f->stop)
			break;
		seen = f->gen;
		{
			size_t n = f->n;
			void (*fn)(void *, size_t) = f->fn;
			void *a = f->arg;
			pthread_mutex_unlock(&f->lock);
			take_items(f, n, fn, a);
			pthread_mutex_lock(&f->lock);
		}
		if (--f->busy == 0)
			pthread_cond_signal(&f->done);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

unsigned
fanout_threads_for(long ncpu)
{
	if (ncpu <= 1)
		return 0;
	return ncpu - 1 > FANOUT_THREADS_MAX ? FANOUT_THREADS_MAX :
	    (unsigned)(ncpu - 1);
}

struct fanout *
fanout_new(unsigned threads)
{
	struct fanout *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	pthread_mutex_init(&f->run_lock, NULL);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->go, NULL);
	pthread_cond_init(&f->done, NULL);
	if (threads > FANOUT_THREADS_MAX)
		threads = FANOUT_THREADS_MAX;
	if (threads > 0 &&
	    (f->threads = calloc(threads, sizeof(*f->threads))) == NULL) {
		fanout_free(f);
		return NULL;
	}
	for (; f->nthreads < threads; f->nthreads++) {
		int rc = pthread_create(&f->threads[f->nthreads], NULL,
		    helper_main, f);
		if (rc != 0) {
			log_warnx("fanout: cannot start a sending thread: error %d",
			    rc);
			fanout_free(f);
			return NULL;
		}
	}
	return f;
}

void
fanout_free(struct fanout *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->go);
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	free(f->threads);
	pthread_cond_destroy(&f->done);
	pthread_cond_destroy(&f->go);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->run_lock);
	free(f);
}

void
fanout_run(struct fanout *f, size_t n, void (*fn)(void *arg, size_t i),
    void *arg)
{
	pthread_mutex_lock(&f->run_lock);
	/* A run too small to be worth waking anyone stays on the caller. */
	if (f->nthreads == 0 || n <= FANOUT_CHUNK) {
		atomic_store(&f->next, 0);
		take_items(f, n, fn, arg);
		pthread_mutex_unlock(&f->run_lock);
		return;
	}
	pthread_mutex_lock(&f->lock);
	f->n = n;
	f->fn = fn;
	f->arg = arg;
	atomic_store(&f->next, 0);
	f->busy = f->nthreads;
	f->gen++;
	pthread_cond_broadcast(&f->go);
	pthread_mutex_unlock(&f->lock);
	take_items(f, n, fn, arg);
	pthread_mutex_lock(&f->lock);
	while (f->busy > 0)
		pthread_cond_wait(&f->done, &f->lock);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_unlock(&f->run_lock);
}
