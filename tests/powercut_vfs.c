/*
 * powercut_vfs.c: the test VFS of powercut_vfs.h.  Writes go through to
 * the real file; before each one, the bytes it overwrites (inside the size
 * the file had at its last sync) are kept in an undo list, which a
 * successful xSync empties.  powercut_now() replays the undo lists of
 * every tracked file backwards and truncates it to its synced size:
 * exactly the state a power cut leaves when the OS never flushed.
 * One lock orders every write, truncate and sync of tracked files with
 * the cut.  Shared memory (-shm) is not tracked: SQLite rebuilds it.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "powercut_vfs.h"

struct undo {
	sqlite3_int64	 off;
	int		 len;
	unsigned char	*old;
};

/* What a tracked file must get back at the cut; outlives the open file. */
struct track {
	struct track	*next;
	char		*path;
	sqlite3_int64	 synced_size;
	struct undo	*undo;
	size_t		 nundo, cap;
	long		 unsynced;	/* writes and truncates since the sync */
};

struct pc_file {
	sqlite3_file	 base;
	struct track	*t;		/* NULL: not tracked */
	sqlite3_file	*real;		/* right after this struct */
};

static sqlite3_vfs *orig;
static sqlite3_vfs pc_vfs;
static sqlite3_io_methods pc_io;
static pthread_mutex_t cut_lock = PTHREAD_MUTEX_INITIALIZER;	/* tracks, undo lists */
static struct track *tracks;
static int cut;
static long armed_writes, writes;		/* powercut_vfs_arm() */
static void (*armed_then)(long);

static long cut_locked(void);

static void
undo_clear(struct track *t)
{
	for (size_t i = 0; i < t->nundo; i++)
		free(t->undo[i].old);
	t->nundo = 0;
}

/* Remembers what [off, off+len) holds now, inside the synced size. */
static int
undo_save(struct pc_file *f, sqlite3_int64 off, sqlite3_int64 len)
{
	struct track *t = f->t;
	sqlite3_int64 size;
	struct undo *u;
	int rc;

	if ((rc = f->real->pMethods->xFileSize(f->real, &size)) != SQLITE_OK)
		return rc;
	if (size > t->synced_size)
		size = t->synced_size;
	if (off >= size || len <= 0)
		return SQLITE_OK;	/* beyond the synced size: the cut truncates it */
	if (off + len > size)
		len = size - off;
	if (t->nundo == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct undo *n = realloc(t->undo, cap * sizeof(*n));

		if (n == NULL)
			return SQLITE_NOMEM;
		t->undo = n;
		t->cap = cap;
	}
	u = &t->undo[t->nundo];
	if ((u->old = malloc((size_t)len)) == NULL)
		return SQLITE_NOMEM;
	rc = f->real->pMethods->xRead(f->real, u->old, (int)len, off);
	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
		free(u->old);
		return rc;
	}
	u->off = off;
	u->len = (int)len;
	t->nundo++;
	return SQLITE_OK;
}

static int
pc_close(sqlite3_file *file)
{
	struct pc_file *f = (struct pc_file *)file;

	/* The track stays: unsynced writes of a closed file are lost too. */
	return f->real->pMethods->xClose(f->real);
}

static int
pc_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	struct pc_file *f = (struct pc_file *)file;

	return f->real->pMethods->xRead(f->real, buf, amt, off);
}

static int
pc_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	struct pc_file *f = (struct pc_file *)file;
	int rc;

	if (f->t == NULL)
		return f->real->pMethods->xWrite(f->real, buf, amt, off);
	pthread_mutex_lock(&cut_lock);	/* after the cut: never again */
	f->t->unsynced++;
	rc = undo_save(f, off, amt);
	if (rc == SQLITE_OK)
		rc = f->real->pMethods->xWrite(f->real, buf, amt, off);
	if (armed_writes > 0 && ++writes == armed_writes)
		armed_then(cut_locked());	/* does not return */
	pthread_mutex_unlock(&cut_lock);
	return rc;
}

static int
pc_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct pc_file *f = (struct pc_file *)file;
	sqlite3_int64 cur;
	int rc;

	if (f->t == NULL)
		return f->real->pMethods->xTruncate(f->real, size);
	pthread_mutex_lock(&cut_lock);
	f->t->unsynced++;
	rc = f->real->pMethods->xFileSize(f->real, &cur);
	if (rc == SQLITE_OK && cur > size)
		rc = undo_save(f, size, cur - size);
	if (rc == SQLITE_OK)
		rc = f->real->pMethods->xTruncate(f->real, size);
	pthread_mutex_unlock(&cut_lock);
	return rc;
}

static int
pc_sync(sqlite3_file *file, int flags)
{
	struct pc_file *f = (struct pc_file *)file;
	sqlite3_int64 size;
	int rc;

	if (f->t == NULL)
		return f->real->pMethods->xSync(f->real, flags);
	pthread_mutex_lock(&cut_lock);
	rc = f->real->pMethods->xSync(f->real, flags);
	if (rc == SQLITE_OK &&
	    (rc = f->real->pMethods->xFileSize(f->real, &size)) == SQLITE_OK) {
		undo_clear(f->t);	/* on the platter now */
		f->t->unsynced = 0;
		f->t->synced_size = size;
	}
	pthread_mutex_unlock(&cut_lock);
	return rc;
}

static int
pc_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct pc_file *f = (struct pc_file *)file;

	return f->real->pMethods->xFileSize(f->real, size);
}

#define PASS(name, decl, call)						\
static int								\
pc_##name decl								\
{									\
	struct pc_file *f = (struct pc_file *)file;			\
	return f->real->pMethods->call;					\
}
PASS(lock, (sqlite3_file *file, int l), xLock(f->real, l))
PASS(unlock, (sqlite3_file *file, int l), xUnlock(f->real, l))
PASS(check_reserved, (sqlite3_file *file, int *out), xCheckReservedLock(f->real, out))
PASS(file_control, (sqlite3_file *file, int op, void *arg), xFileControl(f->real, op, arg))
PASS(sector_size, (sqlite3_file *file), xSectorSize(f->real))
PASS(device_chars, (sqlite3_file *file), xDeviceCharacteristics(f->real))
PASS(shm_map, (sqlite3_file *file, int pg, int sz, int ext, void volatile **pp),
    xShmMap(f->real, pg, sz, ext, pp))
PASS(shm_lock, (sqlite3_file *file, int off, int n, int flags),
    xShmLock(f->real, off, n, flags))
PASS(shm_unmap, (sqlite3_file *file, int del), xShmUnmap(f->real, del))
PASS(fetch, (sqlite3_file *file, sqlite3_int64 off, int amt, void **pp),
    xFetch(f->real, off, amt, pp))
PASS(unfetch, (sqlite3_file *file, sqlite3_int64 off, void *p),
    xUnfetch(f->real, off, p))

static void
pc_shm_barrier(sqlite3_file *file)
{
	struct pc_file *f = (struct pc_file *)file;

	f->real->pMethods->xShmBarrier(f->real);
}

/* The track of path (one per file name, kept across opens). */
static struct track *
track_of(const char *path, sqlite3_file *real)
{
	struct track *t;
	sqlite3_int64 size;

	for (t = tracks; t != NULL; t = t->next)
		if (strcmp(t->path, path) == 0)
			break;
	if (t == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL ||
		    (t->path = strdup(path)) == NULL) {
			free(t);
			return NULL;
		}
		t->next = tracks;
		tracks = t;
	}
	/* A file found as it is at open, with nothing pending, is durable. */
	if (t->unsynced == 0 && real->pMethods->xFileSize(real, &size) == SQLITE_OK)
		t->synced_size = size;
	return t;
}

static int
pc_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
    int *out)
{
	struct pc_file *f = (struct pc_file *)file;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	if ((rc = orig->xOpen(orig, name, f->real, flags, out)) != SQLITE_OK)
		return rc;
	if (name != NULL && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL |
	    SQLITE_OPEN_MAIN_JOURNAL)) != 0) {
		pthread_mutex_lock(&cut_lock);
		f->t = track_of(name, f->real);
		pthread_mutex_unlock(&cut_lock);
		if (f->t == NULL) {
			f->real->pMethods->xClose(f->real);
			return SQLITE_NOMEM;
		}
	}
	pc_io.iVersion = f->real->pMethods->iVersion;
	f->base.pMethods = &pc_io;
	return SQLITE_OK;
}

#define VPASS(name, decl, call)						\
static int								\
pcv_##name decl								\
{									\
	(void)vfs;							\
	return orig->call;						\
}
VPASS(delete, (sqlite3_vfs *vfs, const char *p, int sync), xDelete(orig, p, sync))
VPASS(access, (sqlite3_vfs *vfs, const char *p, int fl, int *out),
    xAccess(orig, p, fl, out))
VPASS(fullpath, (sqlite3_vfs *vfs, const char *p, int n, char *out),
    xFullPathname(orig, p, n, out))
VPASS(randomness, (sqlite3_vfs *vfs, int n, char *out), xRandomness(orig, n, out))
VPASS(sleep, (sqlite3_vfs *vfs, int us), xSleep(orig, us))
VPASS(current_time, (sqlite3_vfs *vfs, double *out), xCurrentTime(orig, out))
VPASS(last_error, (sqlite3_vfs *vfs, int n, char *out), xGetLastError(orig, n, out))
VPASS(current_time64, (sqlite3_vfs *vfs, sqlite3_int64 *out),
    xCurrentTimeInt64(orig, out))

int
powercut_vfs_register(void)
{
	if ((orig = sqlite3_vfs_find(NULL)) == NULL)
		return SQLITE_ERROR;
	pc_io = (sqlite3_io_methods){ 3, pc_close, pc_read, pc_write,
	    pc_truncate, pc_sync, pc_file_size, pc_lock, pc_unlock,
	    pc_check_reserved, pc_file_control, pc_sector_size,
	    pc_device_chars, pc_shm_map, pc_shm_lock, pc_shm_barrier,
	    pc_shm_unmap, pc_fetch, pc_unfetch };
	pc_vfs = (sqlite3_vfs){ 2, (int)sizeof(struct pc_file) + orig->szOsFile,
	    orig->mxPathname, NULL, "powercut", NULL, pc_open, pcv_delete,
	    pcv_access, pcv_fullpath, NULL, NULL, NULL, NULL, pcv_randomness,
	    pcv_sleep, pcv_current_time, pcv_last_error, pcv_current_time64,
	    NULL, NULL, NULL };
	return sqlite3_vfs_register(&pc_vfs, 1);
}

void
powercut_vfs_arm(long nwrites, void (*then)(long undone))
{
	pthread_mutex_lock(&cut_lock);
	armed_then = then;
	armed_writes = nwrites;
	pthread_mutex_unlock(&cut_lock);
}

long
powercut_now(void)
{
	pthread_mutex_lock(&cut_lock);	/* never unlocked: writers freeze */
	return cut_locked();
}

static long
cut_locked(void)
{
	long lost = 0;

	if (cut++)
		return 0;
	for (struct track *t = tracks; t != NULL; t = t->next) {
		int fd = open(t->path, O_WRONLY);

		lost += t->unsynced;
		if (fd == -1)
			continue;	/* deleted since: nothing to put back */
		for (size_t i = t->nundo; i-- > 0;) {
			struct undo *u = &t->undo[i];

			if (pwrite(fd, u->old, (size_t)u->len, u->off) != u->len)
				break;
		}
		if (ftruncate(fd, t->synced_size) != 0)
			lost = -1;	/* the caller reports it */
		close(fd);
	}
	return lost;
}
