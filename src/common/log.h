/*
 * log.h: the one logging module (OpenBSD daemons' log.c in spirit).
 * Every binary calls log_init() once; every module logs through these.
 */
#ifndef COOPMINE_LOG_H
#define COOPMINE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* name: program name in each line; use_syslog: also send lines to syslog. */
void log_init(const char *name, enum log_level level, int use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug"; returns -1 on an unknown name. */
int log_level_parse(const char *s, enum log_level *out);
/* Reopen stderr onto the log file after rotation (SIGHUP); NULL = no file. */
int log_reopen(const char *path);
/* Copies in to out (outlen bytes, always NUL-terminated) with \n, \r and \t
 * as "\\n", "\\r", "\\t" and every other control character (C0, DEL) as
 * "\\xNN", so that text from the network stays on its log line; cuts only
 * between characters.  Returns the length written.  log_*() use it on every
 * message. */
size_t log_escape(const char *in, char *out, size_t outlen);

void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);   /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) PRINTF_LIKE(1, 2) __attribute__((noreturn));

#endif
