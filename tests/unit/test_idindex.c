/* test_idindex: the id -> row index finds every one of 10,000 ids and no
 * other, keeps finding them after the rows grow and after a row is moved
 * into a removed one's place, and copes with ids that collide in the
 * table (a table of 32 slots for 15 ids). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/idindex.h"
#include "tap.h"

#define N 10000

static char ids[N][16];

static const char *
id_of(const void *rows, size_t i)
{
	return ((const char (*)[16])rows)[i];
}

static int
all_found(const struct idindex *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (idindex_find(x, ids, ids[i]) != i)
			return 0;
	return 1;
}

int
main(void)
{
	struct idindex x = { NULL, 0, id_of };
	size_t cap = 0, n = 0;
	int grown = 1;

	ok(idindex_find(&x, ids, "w") == (size_t)-1, "an empty index finds nothing");
	/* rows added one by one, the index rebuilt whenever they outgrow it */
	for (n = 0; n < N; n++) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown &= idindex_rebuild(&x, ids, n, cap) == 0;
		}
		snprintf(ids[n], sizeof(ids[n]), "lg-%05zu", n);
		idindex_add(&x, ids, n);
	}
	ok(grown && x.nslots >= 2 * N, "10,000 rows indexed (%zu slots)", x.nslots);
	ok(all_found(&x, N), "each of the 10,000 ids is found at its row");
	ok(idindex_find(&x, ids, "lg-10000") == (size_t)-1 &&
	    idindex_find(&x, ids, "") == (size_t)-1 &&
	    idindex_find(&x, ids, NULL) == (size_t)-1,
	    "ids not in it are not found");

	/* remove row 5: the last row moves in, the index is rebuilt */
	memcpy(ids[5], ids[N - 1], sizeof(ids[5]));
	ok(idindex_rebuild(&x, ids, N - 1, cap) == 0 && all_found(&x, N - 1) &&
	    idindex_find(&x, ids, "lg-00005") == (size_t)-1 &&
	    idindex_find(&x, ids, "lg-09999") == 5,
	    "after a removal the moved row is found at its new place, the "
	    "removed id nowhere");

	/* a small table: probing past collisions */
	idindex_free(&x);
	ok(x.slots == NULL && x.nslots == 0, "freed");
	ok(idindex_rebuild(&x, ids, 15, 15) == 0 && x.nslots == 32 &&
	    all_found(&x, 15), "15 rows in 32 slots: all found past collisions");
	idindex_free(&x);
	return tap_done();
}
