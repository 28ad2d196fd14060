/*
 * alerts.h: [alerts] exec = PROGRAM.  Modules raise alerts from any thread
 * (never blocking); alerts.c debounces them and runs PROGRAM with one JSON
 * event on stdin per alert, from its own thread:
 *   {"event": "worker_offline", "severity": "warning", "subject": "w1",
 *    "message": "...", "time": 1700000000000, "time_iso": "...Z",
 *    "cluster": "coopmine"}
 */
#ifndef COOPMINE_ALERTS_H
#define COOPMINE_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

#define ALERTS_NAME_MAX	128	/* event names and subjects, cut beyond */

enum alert_severity { ALERT_INFO, ALERT_WARNING, ALERT_CRITICAL };

struct alerts_config {
	const char *exec;	/* run through /bin/sh -c; NULL/"": no alerts */
	const char *cluster_id;	/* in every event */
	int64_t debounce_ms;	/* one event per (name, subject) per period */
	int64_t timeout_ms;	/* a run longer than this is killed; 0: 10 s */
	size_t queue_max;	/* events waiting at most; 0: 64 */
};

struct alerts_stats {
	uint64_t raised, debounced, dropped, sent, failed;
};

struct alerts;

/* NULL when no program is configured (alerts_raise(NULL, ...) does
 * nothing) or the thread cannot start (logged). */
struct alerts	*alerts_new(const struct alerts_config *cfg);
/* Runs what is queued (each within its timeout), then frees. */
void		 alerts_free(struct alerts *a);
/* Any thread, never blocks: queues the event unless the same event for
 * the same subject went out within the debounce period. */
void		 alerts_raise(struct alerts *a, const char *event,
		    enum alert_severity sev, const char *subject,
		    const char *fmt, ...) PRINTF_LIKE(5, 6);
void		 alerts_get_stats(struct alerts *a, struct alerts_stats *out);
const char	*alerts_severity_name(enum alert_severity s);

#endif
