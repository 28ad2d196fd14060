/*
 * fanout.h: the senders of a fan-out.  A new job's work goes to every
 * worker's stream; each send is a TLS record and a socket write, so on a
 * machine with several cores the sends of one job are spread over threads
 * instead of queued behind one another: fanout_run() calls fn(arg, i) for
 * every i < n, on the caller's thread and the pool's, and returns when all
 * are done.  One run at a time (a second caller waits for the first).
 */
#ifndef COOPMINE_COORDINATOR_FANOUT_H
#define COOPMINE_COORDINATOR_FANOUT_H

#include <stddef.h>

struct fanout;

/* threads: helpers besides the caller (0: every run on the caller).
 * NULL when a thread cannot be started. */
struct fanout *fanout_new(unsigned threads);
/* Joins the threads; no run may be in progress. */
void fanout_free(struct fanout *f);
/* How many helpers a machine with ncpu online processors gets: one fewer
 * than its cores (the caller is one), at most FANOUT_THREADS_MAX. */
unsigned fanout_threads_for(long ncpu);
void fanout_run(struct fanout *f, size_t n, void (*fn)(void *arg, size_t i),
    void *arg);

#define FANOUT_THREADS_MAX 7

#endif
