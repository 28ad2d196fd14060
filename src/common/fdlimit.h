/*
 * fdlimit.h: raises the soft RLIMIT_NOFILE to the hard limit at start, so
 * that a coordinator with thousands of worker connections (or a worker
 * with many threads and sockets) does not hit the soft default of 1024.
 * Called once from each daemon's main before any thread starts.
 */
#ifndef COOPMINE_FDLIMIT_H
#define COOPMINE_FDLIMIT_H

#include <stdint.h>

/* Raises the soft limit to the hard one and logs both figures (info when
 * raised or already there, warn when it could not be).  Returns the soft
 * limit now in force, or -1 when it cannot be read. */
int64_t fdlimit_raise(const char *who);

#endif
