/*
 * mpscq.h: the queue threads talk through.  Many producers, one consumer;
 * intrusive nodes (embed struct mpscq_node in the message), optional bound
 * so a slow consumer pushes back on producers instead of growing memory.
 */
#ifndef COOPMINE_MPSCQ_H
#define COOPMINE_MPSCQ_H

#include <pthread.h>
#include <stddef.h>

struct mpscq_node {
	struct mpscq_node *next;
	int type;		/* the message kind: an enum per queue */
};

struct mpscq {
	pthread_mutex_t lock;	/* guards head, tail, len, closed */
	pthread_cond_t nonempty;
	pthread_cond_t nonfull;
	struct mpscq_node *head, *tail;
	size_t len, bound;	/* bound 0: unbounded */
	int closed;
};

void mpscq_init(struct mpscq *q, size_t bound);
void mpscq_destroy(struct mpscq *q);
/* Blocks while the queue is full.  Returns 0, or -1 when closed. */
int mpscq_push(struct mpscq *q, struct mpscq_node *n);
/* Never blocks.  Returns 0, -1 when closed, -2 when full. */
int mpscq_try_push(struct mpscq *q, struct mpscq_node *n);
/* Never blocks and ignores the bound: for small, rare messages whose
 * producer holds a lock it must not hold across a wait.  0, or -1 when
 * closed. */
int mpscq_push_over(struct mpscq *q, struct mpscq_node *n);
/* Waits up to timeout_ms (-1: forever) for a node.  NULL on timeout, or
 * when the queue is closed and drained. */
struct mpscq_node *mpscq_pop(struct mpscq *q, int timeout_ms);
size_t mpscq_len(struct mpscq *q);
/* Wakes everyone; pushes fail from now on, pops drain what is left. */
void mpscq_close(struct mpscq *q);

#endif
