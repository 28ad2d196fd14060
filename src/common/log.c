/*
 * log.c: levelled, timestamped log lines to stderr and optionally syslog.
 * Thread-safe: each line is formatted first and written with one call.
 * errno is preserved across every call so callers can log then inspect it.
 * Control characters are escaped, so a log line is always one line whatever
 * a peer put into the ids it logs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_name = "coopmine";
static enum log_level log_level = LOG_LVL_INFO;
static int log_syslog;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *name, enum log_level level, int use_syslog)
{
	log_name = name;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

int
log_reopen(const char *path)
{
	int fd;

	if (path == NULL || *path == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd == -1)
		return -errno;
	if (dup2(fd, STDERR_FILENO) == -1) {
		int e = errno;
		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

size_t
log_escape(const char *in, char *out, size_t outlen)
{
	static const char hexdig[] = "0123456789abcdef";
	const unsigned char *p;
	char esc[5];
	size_t o = 0, n;

	if (outlen == 0)
		return 0;
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hexdig[*p >> 4];
			esc[3] = hexdig[*p & 0xf];
			n = 4;
		} else {
			esc[0] = (char)*p;
			n = 1;
		}
		if (o + n >= outlen)
			break;	/* never half an escape */
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

static void log_emit(enum log_level, int, int, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

static void
log_emit(enum log_level level, int with_errno, int saved_errno,
    const char *fmt, va_list ap)
{
	char msg[2048], safe[2048], line[2200], ts[32];
	struct timespec now;
	struct tm tm;
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(log format error)");
	if (with_errno) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved_errno));
	}
	log_escape(msg, safe, sizeof(safe));
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d] %s: %s\n", ts,
	    now.tv_nsec / 1000000, log_name, (int)getpid(), level_names[level], safe);
	if (n > 0 && (size_t)n >= sizeof(line)) {
		/* cut, but still one whole line */
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n);
	if (log_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		syslog(prio[level], "%s", safe);
	}
}

#define LOG_BODY(level, with_errno) do {			\
	int saved_errno = errno;				\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_emit(level, with_errno, saved_errno, fmt, ap);	\
	va_end(ap);						\
	errno = saved_errno;					\
} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 0); }
void log_error(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERROR, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, 0); }

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, 0);
	exit(1);
}
