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
enum log_format { LOG_FMT_TEXT = 0, LOG_FMT_JSON };

void log_set_level(enum log_level level);
/* text (the default) or json: one object per line with time, level,
 * component, message and pid.  Both may change while threads log. */
void log_set_format(enum log_format f);
/* "text" | "json"; -1 on anything else. */
int log_format_parse(const char *s, enum log_format *out);
/* Copies in as the inside of a JSON string (quotes, backslashes, control
 * characters escaped; bytes that are not UTF-8 become U+FFFD), cut only
 * between characters.  Returns the length written. */
size_t log_json_escape(const char *in, char *out, size_t outlen);
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
