/*
 * ledger_int.h: what the ledger's own files share (ledger.c: writer and
 * migrations; ledger_read.c: readers, recovery, audit, backup).  Not part
 * of the public surface: sqlite3 types live here only.
 */
#ifndef COOPMINE_LEDGER_INT_H
#define COOPMINE_LEDGER_INT_H

#include <sqlite3.h>

#include "coordinator/ledger.h"

/* PRAGMA application_id of a CoopMine ledger ("CoMn"). */
#define LEDGER_APPLICATION_ID	0x436f4d6e

/*
 * Checks that db is a usable CoopMine ledger (or an empty file) and reads
 * its schema version.  quick: also run PRAGMA quick_check.  0, or -1 with
 * a message for the user in err.
 */
int ledger_db_check(sqlite3 *db, const char *path, int quick,
    int *version, char *err, size_t errlen);

/*
 * Reads the PPLNS window ending at share last_share_id (0: the latest
 * valid share) and splits reward over it (pplns_split).  0 or -errno.
 */
int ledger_db_window_split(sqlite3 *db, int64_t last_share_id,
    uint64_t window_n, uint64_t reward, unsigned fee_bps,
    struct pplns_result *out);

/*
 * Opens an existing ledger at the schema this binary writes (readonly, or
 * read-write for coopmine-cli's own rows), with a busy timeout.  NULL with
 * a message for the user in err (not a ledger, corrupt, older: start the
 * coordinator once to migrate it, newer).
 */
sqlite3 *ledger_db_open_current(const char *path, int readonly, int busy_ms,
    char *err, size_t errlen);

/* Binds a uint64 as SQLite's int64, saturating at INT64_MAX. */
int ledger_bind_u64(sqlite3_stmt *st, int i, uint64_t v);

/* The struct ledger_reader's connection (recovery reuses the reader). */
sqlite3 *ledger_reader_db(struct ledger_reader *r);

/* The database file of a writer. */
const char *ledger_path(struct ledger *l);

#endif
