/*
 * ledger_db.c: what the ledger's files share on a sqlite3 connection
 * (ledger_int.h): checking and opening a ledger file, reading the PPLNS
 * window of a share range, typed row collection, the audit's check
 * runner.  Used by ledger.c (writer), ledger_read.c (readers, audit) and
 * ledger_money*.c (money).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "coordinator/ledger_int.h"
#include "coordinator/ledger_steps.h"

/* --- opening and checking a ledger file --- */

int
ledger_db_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int
ledger_db_quick_check(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	const char *res;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st,
	    NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "%s is corrupt (%s): refusing to use it; "
		    "restore a backup (coopmine-cli backup)", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(st);
	res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (res == NULL || strcmp(res, "ok") != 0) {
		snprintf(err, errlen, "%s is corrupt (quick_check: %s): refusing "
		    "to use it; restore a backup (coopmine-cli backup)", path,
		    res ? res : sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

int
ledger_db_check(sqlite3 *db, const char *path, int quick, int *version,
    char *err, size_t errlen)
{
	int64_t ntables = 0, v = 0, appid = 0;
	int rc;

	rc = ledger_db_int(db, "SELECT count(*) FROM sqlite_master", &ntables);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
			snprintf(err, errlen, "%s is not a SQLite database, or it "
			    "is corrupt (%s): refusing to use it (it is not "
			    "re-created; move it away or restore a backup)", path,
			    sqlite3_errstr(rc));
		else
			snprintf(err, errlen, "cannot read %s: %s", path,
			    sqlite3_errmsg(db));
		return -1;
	}
	if (ledger_db_int(db, "PRAGMA user_version", &v) != SQLITE_OK ||
	    ledger_db_int(db, "PRAGMA application_id", &appid) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	if ((v == 0 && ntables > 0) || (v > 0 && appid != LEDGER_APPLICATION_ID)) {
		snprintf(err, errlen, "%s is a SQLite database but not a CoopMine "
		    "ledger (application_id %" PRId64 ", user_version %" PRId64
		    ", %" PRId64 " schema objects): refusing to touch it", path,
		    appid, v, ntables);
		return -1;
	}
	if (v > ledger_nsteps) {
		snprintf(err, errlen, "ledger %s has schema version %" PRId64
		    ", newer than this coopmine knows (%d): run a newer coopmine "
		    "(or restore a backup made by this version)", path, v,
		    ledger_nsteps);
		return -1;
	}
	if (quick && ntables > 0 && ledger_db_quick_check(db, path, err, errlen) != 0)
		return -1;
	*version = (int)v;
	return 0;
}

sqlite3 *
ledger_db_open_current(const char *path, int readonly, int busy_ms, char *err,
    size_t errlen)
{
	sqlite3 *db = NULL;
	int version;

	if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "no ledger at %s: %s", path, strerror(errno));
		return NULL;
	}
	if (sqlite3_open_v2(path, &db, readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open ledger %s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, busy_ms);
	if (ledger_db_check(db, path, 0, &version, err, errlen) != 0)
		goto fail;
	if (version < ledger_nsteps) {
		snprintf(err, errlen, "ledger %s has schema version %d, this "
		    "coopmine expects %d: start the coordinator once to migrate "
		    "it", path, version, ledger_nsteps);
		goto fail;
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

/* The distinct worker ids of a window: shares point into it by index. */
struct idtab {
	char (*ids)[LEDGER_ID_MAX];
	size_t n, cap, last;
};

static int
idtab_index(struct idtab *t, const char *w, uint32_t *out)
{
	char (*nids)[LEDGER_ID_MAX];
	size_t i;

	/* shares of one worker often follow each other */
	if (t->n > 0 && strcmp(t->ids[t->last], w) == 0) {
		*out = (uint32_t)t->last;
		return 0;
	}
	for (i = 0; i < t->n; i++)
		if (strcmp(t->ids[i], w) == 0)
			break;
	if (i == t->n) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			if ((nids = realloc(t->ids, t->cap * sizeof(*nids))) ==
			    NULL)
				return -ENOMEM;
			t->ids = nids;
		}
		snprintf(t->ids[t->n++], sizeof(t->ids[0]), "%s", w);
	}
	t->last = i;
	*out = (uint32_t)i;
	return 0;
}

int
ledger_db_range_split(sqlite3 *db, int64_t after_share_id,
    int64_t last_share_id, uint64_t window_n, uint64_t reward,
    unsigned fee_bps, struct pplns_result *out, int64_t *first_share_id)
{
	struct pplns_share *sh = NULL, *nsh;
	struct idtab tab = { 0 };
	uint32_t *idx = NULL, *nidx;
	int64_t *sid = NULL, *nsid;
	sqlite3_stmt *st;
	uint64_t covered = 0;
	size_t n = 0, cap = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_prepare_v2(db, "SELECT worker_id, difficulty, id FROM shares "
	    "WHERE id <= ?1 AND id > ?2 AND verdict = 'accepted' AND "
	    "difficulty > 0 ORDER BY id DESC", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, last_share_id);
	sqlite3_bind_int64(st, 2, after_share_id);
	while (covered < window_n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *w = (const char *)sqlite3_column_text(st, 0);
		uint64_t d = (uint64_t)sqlite3_column_int64(st, 1);

		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			nsh = realloc(sh, cap * sizeof(*sh));
			if (nsh)
				sh = nsh;
			nidx = realloc(idx, cap * sizeof(*idx));
			if (nidx)
				idx = nidx;
			nsid = realloc(sid, cap * sizeof(*sid));
			if (nsid)
				sid = nsid;
			if (nsh == NULL || nidx == NULL || nsid == NULL) {
				rc = -ENOMEM;
				goto out;
			}
		}
		if (idtab_index(&tab, w ? w : "", &idx[n]) != 0) {
			rc = -ENOMEM;
			goto out;
		}
		sh[n].difficulty = d;
		sid[n] = sqlite3_column_int64(st, 2);
		covered = d > UINT64_MAX - covered ? UINT64_MAX : covered + d;
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = -EIO;
		goto out;
	}
	for (i = 0; i < n; i++)
		sh[i].worker_id = tab.ids[idx[i]];
	rc = pplns_split(sh, n, window_n, reward, fee_bps, out);
	if (first_share_id != NULL)
		*first_share_id = rc == 0 && out->nshares > 0 ?
		    sid[out->nshares - 1] : 0;
out:
	sqlite3_finalize(st);
	free(sh);
	free(idx);
	free(sid);
	free(tab.ids);
	return rc;
}

int
ledger_db_window_split(sqlite3 *db, int64_t last_share_id, uint64_t window_n,
    uint64_t reward, unsigned fee_bps, struct pplns_result *out)
{
	return ledger_db_range_split(db, 0, last_share_id > 0 ? last_share_id :
	    INT64_MAX, window_n, reward, fee_bps, out, NULL);
}

/* --- typed rows --- */

int
ledger_db_collect(sqlite3_stmt *st, size_t size,
    void (*fill)(sqlite3_stmt *st, void *row), void **out, size_t *n)
{
	size_t cap = 0;
	char *v = NULL, *nv;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * size)) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		memset(v + *n * size, 0, size);
		fill(st, v + *n * size);
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("ledger: read failed: %s",
		    sqlite3_errmsg(sqlite3_db_handle(st)));
		sqlite3_finalize(st);
		free(v);
		*n = 0;
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	sqlite3_finalize(st);
	*out = v;
	return 0;
}

sqlite3_stmt *
ledger_db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("ledger: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

int
ledger_db_step_once(sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return SQLITE_ERROR;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc;
}

void
ledger_col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", s != NULL ? s : "");
}

/* --- the audit's checks --- */

int
ledger_db_checks(sqlite3 *db, const struct ledger_check *c, size_t nc,
    void (*report)(void *arg, const char *violation), void *arg)
{
	char msg[768];
	sqlite3_stmt *st;
	size_t i;
	int n = 0, rc;

	for (i = 0; i < nc; i++) {
		if (sqlite3_prepare_v2(db, c[i].sql, -1, &st, NULL) != SQLITE_OK) {
			log_warnx("audit: %s: %s", c[i].what, sqlite3_errmsg(db));
			return -EIO;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			snprintf(msg, sizeof(msg), "%s: %s", c[i].what,
			    (const char *)sqlite3_column_text(st, 0));
			report(arg, msg);
			n++;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			log_warnx("audit: %s: %s", c[i].what, sqlite3_errmsg(db));
			return -EIO;
		}
	}
	return n;
}
