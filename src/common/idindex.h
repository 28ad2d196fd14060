/*
 * idindex.h: a hash index from a text id to its row in an array the
 * caller keeps (open addressing, FNV-1a).  The index holds row + 1 per
 * slot; its size is a power of two at least twice the rows it may hold,
 * so a lookup ends at an empty slot.  The caller says how to read a row's
 * id (id_of) and holds whatever lock guards the rows.  Used where one
 * lookup per share or heartbeat must not scan every worker (10,000 of
 * them: issue 16).
 */
#ifndef COOPMINE_COMMON_IDINDEX_H
#define COOPMINE_COMMON_IDINDEX_H

#include <stddef.h>

struct idindex {
	size_t *slots;		/* row + 1; 0 empty */
	size_t nslots;		/* 0, or a power of two */
	const char *(*id_of)(const void *rows, size_t row);
};

/* Makes room for cap rows and indexes rows 0 .. n - 1 again (after the
 * rows array moved, grew or lost a row).  0, or -1 out of memory (the
 * index is then unchanged). */
int idindex_rebuild(struct idindex *x, const void *rows, size_t n, size_t cap);
/* The row of id, or (size_t)-1. */
size_t idindex_find(const struct idindex *x, const void *rows, const char *id);
/* Indexes row (whose id is not indexed yet); room for it was made by
 * idindex_rebuild. */
void idindex_add(struct idindex *x, const void *rows, size_t row);
void idindex_free(struct idindex *x);

#endif
