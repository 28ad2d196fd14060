/*
 * live.h: the dashboard's live feed, a WebSocket server (libwebsockets) on
 * its own listener and service thread.  It sends every client a stats
 * snapshot each second and the coordinator's events as they happen.  The
 * coordinator creates it at start-up and calls live_publish() from any
 * thread; http.c asks it for its port and counters.
 */
#ifndef COOPMINE_LIVE_H
#define COOPMINE_LIVE_H

#include <stddef.h>

#include <jansson.h>

#include "coordinator/dash_source.h"
#include "coordinator/metrics.h"

#define LIVE_DEFAULT_LISTEN	"127.0.0.1:8081"
#define LIVE_PATH		"/ws"

struct live_config {
	const char	*listen;	/* "host:port"; NULL: LIVE_DEFAULT_LISTEN */
	size_t		 max_clients;	/* 0: 64 */
	size_t		 backlog;	/* messages a client may lag; 0: 256 */
	int		 snapshot_ms;	/* 0: 1000 */
	/* Origins a browser's upgrade may come from (see dash_allow.h); none:
	 * those of the dashboard's hosts, live_allow_default_origins() */
	char *const	*allowed_origins;
	size_t		 nallowed_origins;
};

enum live_event {
	LIVE_WORKER_JOINED,	/* "worker_joined" */
	LIVE_WORKER_LEFT,	/* "worker_left" */
	LIVE_WORKER_OFFLINE,	/* "worker_offline" */
	LIVE_SHARE,		/* "share": a verdict */
	LIVE_JOB,		/* "job" */
	LIVE_BLOCK,		/* "block" */
	LIVE_POOL_SWITCH	/* "pool_switch" */
};

struct live;
struct dash_allow;

/* Binds the listener and starts the service thread; NULL (logged) when
 * the address is bad or taken.  src must outlive the feed. */
struct live	*live_new(const struct live_config *cfg,
		    const struct dash_source *src);
/* Stops the thread, closes every client, frees. */
void		 live_free(struct live *lv);
/* The port actually bound. */
int		 live_port(const struct live *lv);
/* Thread-safe: sends {"type": NAME, "time": ms, "data": data} to every
 * client.  data is borrowed (the caller keeps its reference). */
void		 live_publish(struct live *lv, enum live_event ev,
		    json_t *data);
void		 live_counters(struct live *lv, struct live_counters *out);
/* Without configured allowed_origins: accept browsers from the http:// and
 * https:// origins of these hosts (the dashboard's), from now on.  Called
 * once by http_new(); until then only clients without an Origin get in. */
void		 live_allow_default_origins(struct live *lv,
		    const struct dash_allow *hosts);
const char	*live_event_name(enum live_event ev);
/* SIGHUP: the Origin list of [dashboard] allowed_origins (n > 0) or of
 * the dashboard's hosts; NULL with the reason in err.  live_set_origins()
 * takes it for the next upgrades. */
struct dash_allow *live_origins_build(char *const *items, size_t n,
		    const struct dash_allow *hosts, char *err, size_t errlen);
void		 live_set_origins(struct live *lv, struct dash_allow *origins);
/* 1 when a browser of this Origin may read the feed (NULL: no browser). */
int		 live_origin_ok(struct live *lv, const char *origin);
/* The numeric address that reaches the listener from this host. */
void		 live_connect_host(const struct live *lv, char *buf, size_t len);

#endif
