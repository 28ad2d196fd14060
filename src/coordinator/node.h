/*
 * node.h: the upstream backend for the cooperative's own OpenSY node
 * (issue 14).  Its I/O thread asks getblocktemplate (rules ["segwit"]),
 * holds a long-poll on a second connection so a new tip becomes clean work
 * within a second, refreshes the template for fees and time (not clean),
 * submits every block at once (submitblock) and follows it until it is
 * mature or orphaned.  Work is split by extranonce: upstream_make_blob()
 * builds the header of one extranonce's coinbase.  Chosen by upstream.c
 * when the configuration has [node] url.
 */
#ifndef COOPMINE_NODE_H
#define COOPMINE_NODE_H

#include <stddef.h>

#include "coordinator/upstream.h"

void *node_backend_new(const struct upstream_config *cfg,
    const struct upstream_callbacks *cb, const struct upstream_ops **ops,
    char *err, size_t errlen);

#endif
