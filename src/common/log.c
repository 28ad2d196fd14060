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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_name = "coopmine";
/* Atomic: SIGHUP changes them while every thread logs. */
static atomic_int log_level = LOG_LVL_INFO;
static atomic_int log_format = LOG_FMT_TEXT;
static int log_syslog;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *name, enum log_level level, int use_syslog)
{
	log_name = name;
	atomic_store(&log_level, level);
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	atomic_store(&log_level, level);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

void
log_set_format(enum log_format f)
{
	atomic_store(&log_format, f);
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FMT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -1;
	return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 when it is not one. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

size_t
log_json_escape(const char *in, char *out, size_t outlen)
{
	static const char hexdig[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	char esc[8];
	size_t o = 0, n, take;

	if (outlen == 0)
		return 0;
	while (*p != '\0') {
		take = 1;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			n = 2;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hexdig[*p >> 4];
			esc[5] = hexdig[*p & 0xf];
			n = 6;
		} else if (*p < 0x80) {
			esc[0] = (char)*p;
			n = 1;
		} else if ((take = utf8_len(p)) > 0) {
			memcpy(esc, p, take);
			n = take;
		} else {
			memcpy(esc, "\\ufffd", 6);	/* not UTF-8: replaced */
			n = 6;
			take = 1;
		}
		if (o + n >= outlen)
			break;	/* never half an escape */
		memcpy(out + o, esc, n);
		o += n;
		p += take;
	}
	out[o] = '\0';
	return o;
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

/*
 * One JSON object: time, level, component, message, pid.  A message that
 * starts with "word: " (our modules' habit: "http: ...") names its
 * component; others belong to the program.  The message is escaped whole
 * (the object is built so that a cut message still closes it).
 */
static int
json_line(char *line, size_t len, const char *ts, long ms,
    enum log_level level, const char *msg)
{
	char comp[32], body[1800];
	size_t c = strspn(msg, "abcdefghijklmnopqrstuvwxyz0123456789_-");
	const char *text = msg;

	if (c > 0 && c < sizeof(comp) && msg[c] == ':' && msg[c + 1] == ' ') {
		memcpy(comp, msg, c);
		comp[c] = '\0';
		text = msg + c + 2;
	} else
		log_json_escape(log_name, comp, sizeof(comp));
	log_json_escape(text, body, sizeof(body));
	return snprintf(line, len, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\","
	    "\"component\":\"%s\",\"message\":\"%s\",\"pid\":%d}\n", ts, ms,
	    level_names[level], comp, body, (int)getpid());
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

	if ((int)level > atomic_load(&log_level))
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
	if (atomic_load(&log_format) == LOG_FMT_JSON)
		n = json_line(line, sizeof(line), ts, now.tv_nsec / 1000000,
		    level, msg);
	else
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d] %s: %s\n", ts,
		    now.tv_nsec / 1000000, log_name, (int)getpid(),
		    level_names[level], safe);
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
