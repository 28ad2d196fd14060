/*
 * idindex.c: a hash index from a text id to a row (idindex.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/idindex.h"

static size_t
hash_id(const char *id)
{
	size_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return h;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t *
slot_of(const struct idindex *x, const void *rows, const char *id)
{
	size_t i = hash_id(id) & (x->nslots - 1);

	while (x->slots[i] != 0 &&
	    strcmp(x->id_of(rows, x->slots[i] - 1), id) != 0)
		i = (i + 1) & (x->nslots - 1);
	return &x->slots[i];
}

int
idindex_rebuild(struct idindex *x, const void *rows, size_t n, size_t cap)
{
	size_t nslots = 32;
	size_t *s;

	if (cap < n)
		cap = n;
	while (nslots < 2 * cap + 2)
		nslots *= 2;
	if (nslots == x->nslots)
		memset(x->slots, 0, nslots * sizeof(*s));
	else {
		if ((s = calloc(nslots, sizeof(*s))) == NULL)
			return -1;
		free(x->slots);
		x->slots = s;
		x->nslots = nslots;
	}
	for (size_t i = 0; i < n; i++)
		*slot_of(x, rows, x->id_of(rows, i)) = i + 1;
	return 0;
}

size_t
idindex_find(const struct idindex *x, const void *rows, const char *id)
{
	size_t *s;

	if (x->nslots == 0 || id == NULL)
		return (size_t)-1;
	s = slot_of(x, rows, id);
	return *s != 0 ? *s - 1 : (size_t)-1;
}

void
idindex_add(struct idindex *x, const void *rows, size_t row)
{
	*slot_of(x, rows, x->id_of(rows, row)) = row + 1;
}

void
idindex_free(struct idindex *x)
{
	free(x->slots);
	x->slots = NULL;
	x->nslots = 0;
}
