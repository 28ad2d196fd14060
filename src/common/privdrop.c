/*
 * privdrop.c: the coordinator's privilege drop (privdrop.h).  glibc applies
 * setuid/setgid/setgroups to every thread of the process, so the drop may
 * come after the gRPC, ledger and dashboard threads have started.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/privdrop.h"

int
privdrop_check(struct privdrop *pd, const char *user, int allow_root,
    const char *allow_name, char *err, size_t errlen)
{
	struct passwd *pw;

	memset(pd, 0, sizeof(*pd));
	if (user == NULL || *user == '\0') {
		if (geteuid() != 0 || allow_root)
			return 0;
		snprintf(err, errlen, "running as root, and no user to become: a "
		    "daemon that parses what workers, pools and browsers send must "
		    "not own the machine if it is ever fooled.  Start it as an "
		    "unprivileged user (the systemd unit does), give --user NAME "
		    "to drop to after opening the ports and files, or say %s if "
		    "you really mean it", allow_name);
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "--user %s: %s", user, errno != 0 ?
		    strerror(errno) : "no such user");
		return -1;
	}
	if (strlen(user) >= sizeof(pd->name)) {
		snprintf(err, errlen, "--user %s: name too long", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "--user %s: that is root; name an "
		    "unprivileged user", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;	/* already that user (systemd's User=) */
		snprintf(err, errlen, "--user %s: only root can become another "
		    "user (running as uid %lu)", user, (unsigned long)geteuid());
		return -1;
	}
	snprintf(pd->name, sizeof(pd->name), "%s", user);
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	pd->active = 1;
	return 0;
}

int
privdrop_chown(const struct privdrop *pd, const char *path, char *err,
    size_t errlen)
{
	if (!pd->active || path == NULL || *path == '\0')
		return 0;
	if (chown(path, pd->uid, pd->gid) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot give %s to user %s: %s", path,
		    pd->name, strerror(errno));
		return -1;
	}
	return 0;
}

int
privdrop_drop(const struct privdrop *pd, char *err, size_t errlen)
{
	if (!pd->active)
		return 0;
	if (setgroups(1, &pd->gid) != 0 || setgid(pd->gid) != 0 ||
	    setuid(pd->uid) != 0) {
		snprintf(err, errlen, "cannot become user %s (uid %lu, gid %lu): "
		    "%s", pd->name, (unsigned long)pd->uid, (unsigned long)pd->gid,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "became user %s but could regain root",
		    pd->name);
		return -1;
	}
	return 0;
}
