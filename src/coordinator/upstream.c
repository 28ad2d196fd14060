/*
 * upstream.c: the backend-neutral face of the upstream (upstream.h).  It
 * picks the backend and forwards each verb through the backend's table, so
 * the job manager never links against a particular one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "coordinator/node.h"
#include "coordinator/stratum.h"
#include "coordinator/upstream.h"

struct upstream {
	const struct upstream_ops *ops;
	void *impl;
	int started;
};

struct upstream *
upstream_new(const struct upstream_config *cfg,
    const struct upstream_callbacks *cb, char *err, size_t errlen)
{
	struct upstream *u;

	if (cfg == NULL || (cfg->node == NULL && (cfg->npools == 0 ||
	    cfg->pools == NULL))) {
		snprintf(err, errlen, "no pool configured");
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (cfg->node != NULL)
		u->impl = node_backend_new(cfg, cb, &u->ops, err, errlen);
	else
		u->impl = stratum_backend_new(cfg, cb, &u->ops, err, errlen);
	if (u->impl == NULL) {
		free(u);
		return NULL;
	}
	return u;
}

int
upstream_start(struct upstream *u)
{
	int rc;

	if (u->started)
		return 0;
	if ((rc = u->ops->start(u->impl)) == 0)
		u->started = 1;
	return rc;
}

void
upstream_stop(struct upstream *u)
{
	if (!u->started)
		return;
	u->ops->stop(u->impl);
	u->started = 0;
}

int
upstream_submit(struct upstream *u, uint64_t share_id, const char *job_id,
    uint64_t extranonce, const uint8_t nonce[4], const uint8_t result[32])
{
	if (job_id == NULL || nonce == NULL || result == NULL)
		return UPSTREAM_EINVAL;
	return u->ops->submit(u->impl, share_id, job_id, extranonce, nonce,
	    result);
}

int
upstream_make_blob(struct upstream *u, const char *job_id, uint64_t extranonce,
    uint8_t *blob, size_t *len)
{
	if (u == NULL || u->ops->make_blob == NULL || job_id == NULL)
		return -1;
	return u->ops->make_blob(u->impl, job_id, extranonce, blob, len);
}

void
upstream_block_found(struct upstream *u, const char *job_id,
    uint64_t extranonce, const uint8_t nonce[4], const uint8_t result[32])
{
	if (u != NULL && u->ops->block_found != NULL && job_id != NULL)
		u->ops->block_found(u->impl, job_id, extranonce, nonce, result);
}

void
upstream_follow_block(struct upstream *u, const char *hash, int64_t height,
    int64_t reward)
{
	if (u != NULL && u->ops->follow_block != NULL && hash != NULL)
		u->ops->follow_block(u->impl, hash, height, reward);
}

void
upstream_get_stats(struct upstream *u, struct upstream_stats *st)
{
	u->ops->get_stats(u->impl, st);
}

int
upstream_reconfigure(struct upstream *u, const struct upstream_config *cfg,
    char *err, size_t errlen)
{
	if (u->ops->reconfigure == NULL) {
		snprintf(err, errlen, "the %s upstream cannot change its pools "
		    "live", u->ops->name);
		return -1;
	}
	return u->ops->reconfigure(u->impl, cfg, err, errlen);
}

const char *
upstream_backend_name(const struct upstream *u)
{
	return u->ops->name;
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	upstream_stop(u);
	u->ops->free(u->impl);
	free(u);
}
