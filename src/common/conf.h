/*
 * conf.h: one option table per binary gives its INI file keys, COOPMINE_*
 * environment variables and --flags, with precedence
 * defaults < config file < environment < command line (shared/DESIGN.md).
 * Every bad value is refused with a message naming the key.
 */
#ifndef COOPMINE_CONF_H
#define COOPMINE_CONF_H

#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_STR,	/* char *  (strdup'd; NULL when unset) */
	CONF_INT,	/* int64_t, within [min, max] */
	CONF_DOUBLE,	/* double, within [min, max] */
	CONF_BOOL,	/* int 0/1; a flag without a value means 1 */
	CONF_LIST,	/* struct conf_list: comma-separated or repeated key */
	CONF_DURATION	/* int64_t milliseconds: "30s", "5m", "250ms", "2h", "7d"; bare = ms */
};

struct conf_list {
	char **items;
	size_t n;
};

struct conf_opt {
	const char *section;	/* INI section; NULL: command line only */
	const char *key;	/* INI key */
	const char *flag;	/* long flag without "--"; NULL: none */
	const char *env;	/* environment variable; NULL: none */
	enum conf_type type;
	void *ptr;
	const char *def;	/* default, as text; NULL: unset */
	double min, max;	/* bounds for numbers (both 0: unbounded) */
	int secret;		/* never printed (passwords, tokens) */
	const char *help;
};

struct conf_spec {
	const char *prog;	/* program name for --help */
	const char *summary;	/* one line under the usage line */
	const struct conf_opt *opts;
	size_t nopts;
};

/* Loads defaults, the file named by --config FILE (or $COOPMINE_CONFIG),
 * the environment, then the flags.  Returns 0 when the program should run,
 * 1 when --help, --version, --print-config-sample or --print-man was
 * printed (exit 0), -1 on an error (the
 * message is in err; exit 2).  Non-option arguments are refused. */
int conf_load(const struct conf_spec *spec, int argc, char **argv,
    char *err, size_t errlen);
/* Parses one value into an option (used by conf_load; exposed for tests). */
int conf_set(const struct conf_opt *o, const char *value, int append,
    char *err, size_t errlen);
/* Frees every string and list the table owns. */
void conf_free(const struct conf_spec *spec);
/* Logs the effective configuration at info level, secrets masked. */
void conf_log(const struct conf_spec *spec);
/* Where the installed www/ and sql/ are: $COOPMINE_DATADIR when set (an
 * unpacked package, a DESTDIR), else configure's $(pkgdatadir). */
const char *conf_datadir(void);
/*
 * Reload (SIGHUP): conf_values_take() moves every value out of the table
 * (leaving it zeroed for a fresh conf_load), so pointers the running
 * program holds stay valid; conf_values_equal() compares option i of the
 * table with the taken one; conf_values_swap() exchanges them (to keep
 * the old value of a key that cannot change live, or to roll a whole
 * failed load back); conf_values_free() frees what the set holds.
 */
struct conf_values;
struct conf_values *conf_values_take(const struct conf_spec *spec);
int conf_values_equal(const struct conf_spec *spec,
    const struct conf_values *cv, size_t i);
void conf_values_swap(const struct conf_spec *spec, struct conf_values *cv,
    size_t i);
void conf_values_free(const struct conf_spec *spec, struct conf_values *cv);
/* "[section] key (--flag)", as errors name an option. */
const char *conf_opt_name(const struct conf_opt *o, char *buf, size_t len);
/* Parses "30s"-style durations into milliseconds; -1 when malformed. */
int64_t conf_parse_duration(const char *s);

#endif
