/*
 * powercut_vfs.h: a SQLite VFS for tests only, a shim over the default one
 * that simulates losing power: every write reaches the file at once (so
 * the process reads what it wrote), but what was written since the file's
 * last xSync is remembered, and powercut_now() puts those bytes (and the
 * file's size) back the way they were at that sync, as a disk cache that
 * never got flushed would.  Used by tests/ledger_crash_driver.c.
 */
#ifndef COOPMINE_POWERCUT_VFS_H
#define COOPMINE_POWERCUT_VFS_H

/* Registers the VFS "powercut" over the current default, as the new
 * default (so code that opens databases with no VFS name uses it).
 * 0 or a SQLite error code. */
int powercut_vfs_register(void);

/* The power goes: from now on every write, sync or truncate through the
 * VFS blocks forever (the machine is gone), and each database, WAL and
 * journal file goes back to its content at its last successful xSync,
 * including files already closed.  Returns the number of writes and
 * truncates undone (-1: a file could not be put back); the caller then
 * _exit()s. */
long powercut_now(void);

/* The power goes during the nwrites-th write to a tracked file (after it
 * reached the file, before any sync of it): mid-transaction, which a timer
 * rarely hits.  then(undone) runs on the writing thread, with every
 * other write frozen, and must not return (it _exit()s). */
void powercut_vfs_arm(long nwrites, void (*then)(long undone));

#endif
