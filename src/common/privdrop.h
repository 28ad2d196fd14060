/*
 * privdrop.h: a daemon started as root opens what needs privilege (ports,
 * its ledger, its log) and then becomes an unprivileged user, in that order
 * (as the OpenBSD daemons do).  Run as root with nobody to become, it
 * refuses unless told to (the coordinator's --user and --allow-root).
 */
#ifndef COOPMINE_PRIVDROP_H
#define COOPMINE_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct privdrop {
	char	name[64];
	uid_t	uid;
	gid_t	gid;
	int	active;		/* 1: root now, and will become name */
};

/* Decides before anything is opened: as root with user set, looks the user
 * up (pd->active = 1); as root without one, refuses unless allow_root
 * (allow_name: how the operator says so, for the message); not as root,
 * a user other than the current one is refused.  0 or -1 with err set. */
int privdrop_check(struct privdrop *pd, const char *user, int allow_root,
    const char *allow_name, char *err, size_t errlen);
/* Gives a file the daemon opened as root (its ledger, its log) to the
 * user, so it can still write and reopen it; a missing path is skipped. */
int privdrop_chown(const struct privdrop *pd, const char *path, char *err,
    size_t errlen);
/* setgroups, setgid, setuid to the user (every thread), and checks that
 * root cannot be regained.  0 or -1 with err set; a no-op unless active. */
int privdrop_drop(const struct privdrop *pd, char *err, size_t errlen);

#endif
