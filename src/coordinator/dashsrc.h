/*
 * dashsrc.h: the coordinator's side of the dashboard: struct dash_source
 * filled from the registry, the job manager, the share path, the upstream
 * and the ledger (through a read connection), plus the hashrate history
 * the chart draws.  core.c creates it and samples it from its tick.
 */
#ifndef COOPMINE_DASHSRC_H
#define COOPMINE_DASHSRC_H

#include "coordinator/dash_source.h"
#include "coordinator/jobs.h"
#include "coordinator/ledger.h"
#include "coordinator/money.h"
#include "coordinator/registry.h"
#include "coordinator/shares.h"
#include "coordinator/upstream.h"

struct dashsrc_parts {
	const char *cluster_id, *cluster_name, *pool_url, *ledger_path;
	struct registry *reg;
	struct jobs *jobs;
	struct shares *shares;
	struct upstream *up;
	struct ledger *ledger;
	struct money_rules money;	/* how POST /api/income splits */
	/* Fills out with every pool session (*n of them, at most
	 * DASH_SESSIONS_MAX); NULL: the one upstream above. */
	void (*sessions)(void *arg, struct dash_session *out, size_t *n);
	void *sessions_arg;
};

struct dashsrc;

struct dashsrc *dashsrc_new(const struct dashsrc_parts *p);
void dashsrc_free(struct dashsrc *d);
/* The table http.c and live.c read through (valid while d lives). */
const struct dash_source *dashsrc_source(struct dashsrc *d);
/* Records one point of hashrate history (every 5 s from the tick). */
void dashsrc_sample(struct dashsrc *d, int64_t now_ms);
/* One pool session's figures (js: the jobs' nonce use, may be NULL). */
void dashsrc_session_from(struct dash_session *se, unsigned idx,
    const struct upstream_stats *us, const struct jobs_stats *js);
/* One share row as /api/shares and the live feed show it. */
json_t *dashsrc_share_json(const char *worker_id, const char *job_id,
    enum ledger_reason reason, uint64_t difficulty, int is_block, int64_t at);

#endif
