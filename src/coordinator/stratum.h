/*
 * stratum.h: the Stratum v1 pool client, one backend of upstream.h.  Only
 * upstream.c calls this; everyone else goes through upstream_*().
 */
#ifndef COOPMINE_STRATUM_H
#define COOPMINE_STRATUM_H

#include <stddef.h>

#include "coordinator/upstream.h"

/* Copies cfg, checks every pool (URL, coin, fingerprint, TLS files) and
 * fills *ops.  Returns the backend's state, or NULL with the reason in err. */
void *stratum_backend_new(const struct upstream_config *cfg,
    const struct upstream_callbacks *cb, const struct upstream_ops **ops,
    char *err, size_t errlen);

#endif
