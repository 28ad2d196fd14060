/* test_mpscq: FIFO order, the bound pushing back, timeouts, close and
 * drain, and four producers losing nothing. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/mpscq.h"
#include "tap.h"

struct item {
	struct mpscq_node node;
	int producer, seq;
};

#define PRODUCERS 4
#define PER 20000

static struct mpscq q;

static void *
producer(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int i = 0; i < PER; i++) {
		struct item *it = malloc(sizeof(*it));
		it->producer = id;
		it->seq = i;
		if (mpscq_push(&q, &it->node) != 0)
			abort();
	}
	return NULL;
}

int
main(void)
{
	struct item a, b, c;
	struct mpscq_node *n;
	pthread_t th[PRODUCERS];
	int last[PRODUCERS], got = 0, inorder = 1;
	int64_t t0;

	mpscq_init(&q, 2);
	ok(mpscq_try_push(&q, &a.node) == 0 && mpscq_try_push(&q, &b.node) == 0,
	    "two pushes fit the bound");
	ok(mpscq_try_push(&q, &c.node) == -2, "the third is refused: full");
	ok(mpscq_len(&q) == 2, "len");
	ok(mpscq_pop(&q, 0) == &a.node && mpscq_pop(&q, 0) == &b.node, "FIFO");
	t0 = clock_mono_ms();
	ok(mpscq_pop(&q, 50) == NULL && clock_mono_ms() - t0 >= 45,
	    "pop times out on an empty queue");
	mpscq_try_push(&q, &c.node);
	mpscq_close(&q);
	ok(mpscq_try_push(&q, &a.node) == -1, "push after close fails");
	ok(mpscq_pop(&q, -1) == &c.node && mpscq_pop(&q, -1) == NULL,
	    "close drains then returns NULL without blocking");
	mpscq_destroy(&q);

	mpscq_init(&q, 64);
	for (int i = 0; i < PRODUCERS; i++) {
		last[i] = -1;
		pthread_create(&th[i], NULL, producer, (void *)(intptr_t)i);
	}
	while (got < PRODUCERS * PER && (n = mpscq_pop(&q, 5000)) != NULL) {
		struct item *it = (struct item *)n;
		if (it->seq != last[it->producer] + 1)
			inorder = 0;
		last[it->producer] = it->seq;
		free(it);
		got++;
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	ok(got == PRODUCERS * PER, "all %d items arrived through a bound of 64", got);
	ok(inorder, "each producer's items arrive in order");
	mpscq_destroy(&q);
	return tap_done();
}
