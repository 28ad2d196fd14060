/*
 * sdnotify.c: systemd's notification protocol for the daemons' main loops.
 * With libsystemd (configure --with-libsystemd) its sd_notify() does the
 * work; without it, the documented protocol itself: one datagram to the
 * AF_UNIX socket in $NOTIFY_SOCKET ("@name" is an abstract socket).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#else
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#endif

#include "common/log.h"
#include "common/sdnotify.h"

#ifdef HAVE_LIBSYSTEMD
int
sdnotify_send(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0) {
		log_warnx("sd_notify %s: %s", state, strerror(-rc));
		return -1;
	}
	return 0;
}

int64_t
sdnotify_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	return (int64_t)(usec / 2000) > 0 ? (int64_t)(usec / 2000) : 1;
}
#else
int
sdnotify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	int fd;

	if (path == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET %s: not a socket path", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("NOTIFY_SOCKET: socket");
		return -1;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) < 0) {
		log_warn("NOTIFY_SOCKET %s: sending %s", path, state);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int64_t
sdnotify_watchdog_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (usec == NULL || *usec == '\0')
		return 0;
	if (pid != NULL && *pid != '\0' &&
	    strtoll(pid, NULL, 10) != (long long)getpid())
		return 0;
	v = strtoull(usec, &end, 10);
	if (*end != '\0' || v == 0)
		return 0;
	return (int64_t)(v / 2000) > 0 ? (int64_t)(v / 2000) : 1;
}
#endif
