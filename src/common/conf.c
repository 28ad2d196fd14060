/*
 * conf.c: configuration from defaults, INI file (inih), environment and
 * command line, in that order of precedence, driven by each binary's option
 * table.  The same table prints --help, so flags and docs cannot drift.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "common/conf.h"
#include "common/log.h"

const char *
conf_datadir(void)
{
	const char *d = getenv("COOPMINE_DATADIR");

	return d != NULL && *d != '\0' ? d : COOPMINE_DATADIR;
}

static void
list_clear(struct conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int
list_add(struct conf_list *l, const char *s, size_t len)
{
	char **items = realloc(l->items, (l->n + 1) * sizeof(*items));
	char *dup;

	if (items == NULL)
		return -1;
	l->items = items;
	if ((dup = strndup(s, len)) == NULL)
		return -1;
	l->items[l->n++] = dup;
	return 0;
}

int64_t
conf_parse_duration(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || v < 0 || !isfinite(v))
		return -1;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60000;
	else if (strcmp(end, "h") == 0)
		v *= 3600000;
	else if (strcmp(end, "d") == 0)
		v *= 86400000;
	else
		return -1;
	if (v > 1e15)
		return -1;
	return (int64_t)v;
}

static const char *
opt_name(const struct conf_opt *o, char *buf, size_t len)
{
	if (o->section != NULL && o->flag != NULL)
		snprintf(buf, len, "[%s] %s (--%s)", o->section, o->key, o->flag);
	else if (o->section != NULL)
		snprintf(buf, len, "[%s] %s", o->section, o->key);
	else
		snprintf(buf, len, "--%s", o->flag);
	return buf;
}

static int
check_bounds(const struct conf_opt *o, double v, char *err, size_t errlen)
{
	char name[128];

	if ((o->min != 0 || o->max != 0) && (v < o->min || v > o->max)) {
		snprintf(err, errlen, "%s: %g is outside %g..%g",
		    opt_name(o, name, sizeof(name)), v, o->min, o->max);
		return -1;
	}
	return 0;
}

int
conf_set(const struct conf_opt *o, const char *value, int append, char *err,
    size_t errlen)
{
	char name[128], *end;

	switch (o->type) {
	case CONF_STR: {
		char *dup, **p = o->ptr;
		/* A key whose default is unset, left empty ("token =" as the
		 * sample file shows it), stays unset. */
		if (*value == '\0' && o->def == NULL) {
			free(*p);
			*p = NULL;
			return 0;
		}
		if ((dup = strdup(value)) == NULL)
			goto oom;
		free(*p);
		*p = dup;
		return 0;
	}
	case CONF_INT: {
		long long v;
		errno = 0;
		v = strtoll(value, &end, 0);
		if (*value == '\0' || *end != '\0' || errno != 0) {
			snprintf(err, errlen, "%s: '%s' is not a whole number",
			    opt_name(o, name, sizeof(name)), value);
			return -1;
		}
		if (check_bounds(o, (double)v, err, errlen) != 0)
			return -1;
		*(int64_t *)o->ptr = v;
		return 0;
	}
	case CONF_DOUBLE: {
		double v;
		errno = 0;
		v = strtod(value, &end);
		if (*value == '\0' || *end != '\0' || errno != 0 || !isfinite(v)) {
			snprintf(err, errlen, "%s: '%s' is not a number",
			    opt_name(o, name, sizeof(name)), value);
			return -1;
		}
		if (check_bounds(o, v, err, errlen) != 0)
			return -1;
		*(double *)o->ptr = v;
		return 0;
	}
	case CONF_DURATION: {
		int64_t v = conf_parse_duration(value);
		if (v < 0) {
			snprintf(err, errlen, "%s: '%s' is not a duration "
			    "(e.g. 250ms, 30s, 5m, 1h)",
			    opt_name(o, name, sizeof(name)), value);
			return -1;
		}
		if (check_bounds(o, (double)v, err, errlen) != 0)
			return -1;
		*(int64_t *)o->ptr = v;
		return 0;
	}
	case CONF_BOOL: {
		static const char *const yes[] = { "1", "true", "yes", "on" };
		static const char *const no[] = { "0", "false", "no", "off" };
		for (size_t i = 0; i < 4; i++) {
			if (strcasecmp(value, yes[i]) == 0) {
				*(int *)o->ptr = 1;
				return 0;
			}
			if (strcasecmp(value, no[i]) == 0) {
				*(int *)o->ptr = 0;
				return 0;
			}
		}
		snprintf(err, errlen, "%s: '%s' is not true/false",
		    opt_name(o, name, sizeof(name)), value);
		return -1;
	}
	case CONF_LIST: {
		struct conf_list *l = o->ptr;
		const char *p = value;
		if (!append)
			list_clear(l);
		while (*p != '\0') {
			size_t len;
			while (*p == ',' || *p == ' ' || *p == '\t')
				p++;
			len = strcspn(p, ", \t");
			if (len > 0 && list_add(l, p, len) != 0)
				goto oom;
			p += len;
		}
		return 0;
	}
	}
	snprintf(err, errlen, "%s: unknown option type",
	    opt_name(o, name, sizeof(name)));
	return -1;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

struct ini_ctx {
	const struct conf_spec *spec;
	char *err;
	size_t errlen;
	unsigned char *seen;	/* per option: set by this file already */
	int failed;
};

/* inih stops at the first handler that returns 0 and returns its line. */
static int
conf_ini_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct ini_ctx *c = user;

	if (c->failed)
		return 0;
	for (size_t i = 0; i < c->spec->nopts; i++) {
		const struct conf_opt *o = &c->spec->opts[i];
		char msg[400];
		if (o->section == NULL || strcmp(o->section, section) != 0 ||
		    strcmp(o->key, key) != 0)
			continue;
		/* A repeated list key adds to the list (pool failover). */
		if (conf_set(o, value, c->seen[i], msg, sizeof(msg)) != 0) {
			snprintf(c->err, c->errlen, "%s", msg);
			c->failed = 1;
			return 0;
		}
		c->seen[i] = 1;
		return 1;
	}
	snprintf(c->err, c->errlen, "unknown key '%s' in section [%s]",
	    key, section);
	c->failed = 1;
	return 0;
}

static int
conf_ini_accept(void *user, const char *section, const char *key,
    const char *value)
{
	return 1;
}

static int
load_file(const struct conf_spec *spec, const char *path, char *err,
    size_t errlen)
{
	struct ini_ctx c = { spec, err, errlen, NULL, 0 };
	char msg[512] = "";
	int rc;

	c.err = msg;
	c.errlen = sizeof(msg);
	/* First pass: syntax only, so its errors are not taken for keys. */
	rc = ini_parse(path, conf_ini_accept, NULL);
	if (rc == -1) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "config file %s: line %d: syntax error "
		    "(expected [section] or key = value)", path, rc);
		return -1;
	}
	if ((c.seen = calloc(spec->nopts + 1, 1)) == NULL)
		return -1;
	rc = ini_parse(path, conf_ini_handler, &c);
	free(c.seen);
	if (rc == -1) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -1;
	}
	if (c.failed || rc != 0) {
		snprintf(err, errlen, "config file %s: line %d: %s", path, rc, msg);
		return -1;
	}
	return 0;
}

static void
print_help(const struct conf_spec *spec)
{
	printf("usage: %s [--config FILE] [options]\n%s\n\noptions:\n",
	    spec->prog, spec->summary);
	printf("  %-28s %s\n", "--config FILE", "INI configuration file "
	    "(env COOPMINE_CONFIG)");
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct conf_opt *o = &spec->opts[i];
		char flag[64], where[160] = "";
		int n = 0;
		if (o->flag == NULL)
			continue;
		snprintf(flag, sizeof(flag), "--%s%s", o->flag,
		    o->type == CONF_BOOL ? "" : " VALUE");
		if (o->section != NULL)
			n = snprintf(where, sizeof(where), "[%s] %s", o->section, o->key);
		if (o->env != NULL && n >= 0 && (size_t)n < sizeof(where))
			snprintf(where + n, sizeof(where) - (size_t)n, "%senv %s",
			    n > 0 ? ", " : "", o->env);
		printf("  %-28s %s", flag, o->help);
		if (o->def != NULL && !o->secret)
			printf(" (default: %s)", o->def);
		if (where[0] != '\0')
			printf("\n  %-28s %s", "", where);
		printf("\n");
	}
	printf("  %-28s %s\n  %-28s %s\n", "--print-config-sample",
	    "print a commented configuration file (every key, its default)",
	    "--print-man options|keys", "print the options or keys for the "
	    "man pages");
	printf("  %-28s %s\n  %-28s %s\n", "--help", "print this and exit",
	    "--version", "print the version and exit");
}

/* The type of a value as a word for the sample file and the man pages. */
static const char *
type_word(enum conf_type t)
{
	switch (t) {
	case CONF_STR:
		return "text";
	case CONF_INT:
		return "integer";
	case CONF_DOUBLE:
		return "number";
	case CONF_BOOL:
		return "true | false";
	case CONF_LIST:
		return "list (comma-separated, or the key repeated)";
	case CONF_DURATION:
		return "duration (250ms, 30s, 5m, 1h, 7d)";
	}
	return "value";
}

/* 1 when no option before index i has the section of option i. */
static int
section_first(const struct conf_spec *spec, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (spec->opts[j].section != NULL &&
		    strcmp(spec->opts[j].section, spec->opts[i].section) == 0)
			return 0;
	return 1;
}

static void
print_range(FILE *f, const struct conf_opt *o, const char *pre)
{
	if (o->min == 0 && o->max == 0)
		return;
	if (o->type == CONF_DOUBLE)
		fprintf(f, "%s%g..%g", pre, o->min, o->max);
	else
		fprintf(f, "%s%.0f%s..%.0f%s", pre, o->min,
		    o->type == CONF_DURATION ? "ms" : "", o->max,
		    o->type == CONF_DURATION ? "ms" : "");
}

/* Prints text as "; " comment lines of at most 76 columns. */
static void
print_comment(const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		size_t len = strlen(p), cut = len;
		if (len > 74) {
			cut = 74;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(p, " ");
		}
		printf("; %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* The commented configuration file: every key of the table, grouped by
 * section, commented out with its default, its flag and its variable.
 * Loading it unchanged gives the defaults. */
static void
print_sample(const struct conf_spec *spec)
{
	printf("; Configuration of %s, written by `%s\n"
	    "; --print-config-sample` from the table that also prints --help.\n"
	    "; Precedence: this file < COOPMINE_* environment < command-line "
	    "flags.\n; Every key is commented out with its default; uncomment "
	    "what you change.\n; See coopmine.conf(5).\n", spec->prog,
	    spec->prog);
	for (size_t i = 0; i < spec->nopts; i++) {
		const char *sect = spec->opts[i].section;
		if (sect == NULL || !section_first(spec, i))
			continue;
		printf("\n[%s]\n", sect);
		for (size_t j = i; j < spec->nopts; j++) {
			const struct conf_opt *o = &spec->opts[j];
			if (o->section == NULL || strcmp(o->section, sect) != 0)
				continue;
			printf("\n");
			print_comment(o->help);
			printf("; %s", type_word(o->type));
			print_range(stdout, o, ", ");
			printf("%s\n", o->secret ? "; secret: never logged" : "");
			/* The names on a line of their own, never wrapped. */
			if (o->flag != NULL && o->env != NULL)
				printf("; flag --%s, env %s\n", o->flag, o->env);
			else if (o->flag != NULL)
				printf("; flag --%s\n", o->flag);
			else if (o->env != NULL)
				printf("; env %s\n", o->env);
			printf(";%s = %s\n", o->key,
			    o->def != NULL && !o->secret ? o->def : "");
		}
	}
}

/* man(7) text: backslashes doubled, a leading dot or quote escaped. */
static void
man_text(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static void
man_item(const struct conf_opt *o, int by_key)
{
	printf(".TP\n");
	if (by_key) {
		printf(".B ");
		man_text(o->key);
		printf("\n");
	} else {
		printf(".B \\-\\-");
		man_text(o->flag);
		printf("%s\n", o->type == CONF_BOOL ? "" : " \\fIvalue\\fR");
	}
	man_text(o->help);
	printf(".\n.br\n");
	man_text(type_word(o->type));
	print_range(stdout, o, ", ");
	if (o->def != NULL && *o->def != '\0' && !o->secret) {
		printf("; default ");
		man_text(o->def);
	}
	if (by_key && o->flag != NULL) {
		printf("; flag \\-\\-");
		man_text(o->flag);
	}
	if (!by_key && o->section != NULL)
		printf("; key [%s] %s", o->section, o->key);
	if (o->env != NULL)
		printf("; env %s", o->env);
	printf(".\n");
}

/* The OPTIONS list of a program's man page, or its keys for
 * coopmine.conf(5), in man(7) macros. */
static int
print_man(const struct conf_spec *spec, const char *what)
{
	if (strcmp(what, "options") == 0) {
		printf(".TP\n.B \\-\\-config \\fIfile\\fR\nINI configuration "
		    "file; env COOPMINE_CONFIG.\n");
		for (size_t i = 0; i < spec->nopts; i++)
			if (spec->opts[i].flag != NULL)
				man_item(&spec->opts[i], 0);
		printf(".TP\n.B \\-\\-print\\-config\\-sample\nprint a commented "
		    "configuration file with every key and its default, and exit.\n"
		    ".TP\n.B \\-\\-print\\-man \\fIoptions\\fR|\\fIkeys\\fR\n"
		    "print this list (or the keys) in man(7) macros, and exit.\n"
		    ".TP\n.B \\-\\-help\nprint the options and exit.\n"
		    ".TP\n.B \\-\\-version\nprint the version and exit.\n");
		return 0;
	}
	if (strcmp(what, "keys") != 0)
		return -1;
	for (size_t i = 0; i < spec->nopts; i++) {
		const char *sect = spec->opts[i].section;
		if (sect == NULL || !section_first(spec, i))
			continue;
		printf(".SS [%s]\n", sect);
		for (size_t j = i; j < spec->nopts; j++)
			if (spec->opts[j].section != NULL &&
			    strcmp(spec->opts[j].section, sect) == 0)
				man_item(&spec->opts[j], 1);
	}
	return 0;
}

int
conf_load(const struct conf_spec *spec, int argc, char **argv, char *err,
    size_t errlen)
{
	struct option *lopts;
	const char *cfgfile = getenv("COOPMINE_CONFIG");
	char msg[512];
	size_t n = 0;
	int ch, idx, rc = -1;

	err[0] = '\0';
	/* Defaults first. */
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct conf_opt *o = &spec->opts[i];
		if (o->def != NULL && conf_set(o, o->def, 0, err, errlen) != 0)
			return -1;
	}
	if ((lopts = calloc(spec->nopts + 6, sizeof(*lopts))) == NULL)
		return -1;
	for (size_t i = 0; i < spec->nopts; i++) {
		if (spec->opts[i].flag == NULL)
			continue;
		lopts[n].name = spec->opts[i].flag;
		lopts[n].has_arg = spec->opts[i].type == CONF_BOOL ?
		    optional_argument : required_argument;
		lopts[n].val = 1000 + (int)i;
		n++;
	}
	lopts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	lopts[n++] = (struct option){ "print-config-sample", no_argument, NULL,
	    'S' };
	lopts[n++] = (struct option){ "print-man", required_argument, NULL, 'M' };

	/* Pass 1: --config, --help, --version only. */
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":", lopts, &idx)) != -1) {
		if (ch == 'c')
			cfgfile = optarg;
		else if (ch == 'h') {
			print_help(spec);
			rc = 1;
			goto out;
		} else if (ch == 'V') {
			printf("%s %s\n", spec->prog, PACKAGE_VERSION);
			rc = 1;
			goto out;
		} else if (ch == 'S') {
			print_sample(spec);
			rc = 1;
			goto out;
		} else if (ch == 'M') {
			if (print_man(spec, optarg) != 0) {
				snprintf(err, errlen, "--print-man: 'options' or "
				    "'keys', not '%s'", optarg);
				goto out;
			}
			rc = 1;
			goto out;
		}
	}
	if (cfgfile != NULL && *cfgfile != '\0' &&
	    load_file(spec, cfgfile, err, errlen) != 0)
		goto out;
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct conf_opt *o = &spec->opts[i];
		const char *v = o->env != NULL ? getenv(o->env) : NULL;
		if (v != NULL && conf_set(o, v, 0, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "environment %s: %s", o->env, msg);
			goto out;
		}
	}
	/* Pass 2: the flags, in order; a repeated list flag appends. */
	{
		unsigned char *seen = calloc(spec->nopts + 1, 1);
		if (seen == NULL)
			goto out;
		optind = 1;
		while ((ch = getopt_long(argc, argv, ":", lopts, &idx)) != -1) {
			const struct conf_opt *o;
			if (ch == 'c' || ch == 'h' || ch == 'V' || ch == 'S' ||
			    ch == 'M')
				continue;
			if (ch == '?' || ch == ':') {
				snprintf(err, errlen, "%s: '%s' (see --help)",
				    ch == '?' ? "unknown option" :
				    "missing value for option", argv[optind - 1]);
				free(seen);
				goto out;
			}
			o = &spec->opts[ch - 1000];
			if (conf_set(o, optarg != NULL ? optarg : "1",
			    seen[ch - 1000], err, errlen) != 0) {
				free(seen);
				goto out;
			}
			seen[ch - 1000] = 1;
		}
		free(seen);
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)",
		    argv[optind]);
		goto out;
	}
	rc = 0;
out:
	free(lopts);
	return rc;
}

void
conf_free(const struct conf_spec *spec)
{
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct conf_opt *o = &spec->opts[i];
		if (o->type == CONF_STR) {
			free(*(char **)o->ptr);
			*(char **)o->ptr = NULL;
		} else if (o->type == CONF_LIST) {
			list_clear(o->ptr);
		}
	}
}

void
conf_log(const struct conf_spec *spec)
{
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct conf_opt *o = &spec->opts[i];
		const char *sect = o->section != NULL ? o->section : "cmdline";
		const char *key = o->section != NULL ? o->key : o->flag;
		switch (o->type) {
		case CONF_STR: {
			const char *v = *(char **)o->ptr;
			log_info("config %s.%s = %s", sect, key, v == NULL ?
			    "(unset)" : o->secret ? "(set, hidden)" : v);
			break;
		}
		case CONF_INT:
		case CONF_DURATION:
			log_info("config %s.%s = %" PRId64 "%s", sect, key,
			    *(int64_t *)o->ptr, o->type == CONF_DURATION ? "ms" : "");
			break;
		case CONF_DOUBLE:
			log_info("config %s.%s = %g", sect, key, *(double *)o->ptr);
			break;
		case CONF_BOOL:
			log_info("config %s.%s = %s", sect, key,
			    *(int *)o->ptr ? "true" : "false");
			break;
		case CONF_LIST: {
			const struct conf_list *l = o->ptr;
			for (size_t j = 0; j < l->n; j++)
				log_info("config %s.%s[%zu] = %s", sect, key, j,
				    o->secret ? "(set, hidden)" : l->items[j]);
			break;
		}
		}
	}
}

/* ---- reload: the values of a table moved aside and compared ---------- */

union conf_value {
	char *s;
	int64_t i;
	double d;
	int b;
	struct conf_list l;
};

struct conf_values {
	size_t n;
	union conf_value v[];
};

static void
value_swap(const struct conf_opt *o, union conf_value *v)
{
	union conf_value t;

	switch (o->type) {
	case CONF_STR:
		t.s = *(char **)o->ptr;
		*(char **)o->ptr = v->s;
		v->s = t.s;
		break;
	case CONF_INT:
	case CONF_DURATION:
		t.i = *(int64_t *)o->ptr;
		*(int64_t *)o->ptr = v->i;
		v->i = t.i;
		break;
	case CONF_DOUBLE:
		t.d = *(double *)o->ptr;
		*(double *)o->ptr = v->d;
		v->d = t.d;
		break;
	case CONF_BOOL:
		t.b = *(int *)o->ptr;
		*(int *)o->ptr = v->b;
		v->b = t.b;
		break;
	case CONF_LIST:
		t.l = *(struct conf_list *)o->ptr;
		*(struct conf_list *)o->ptr = v->l;
		v->l = t.l;
		break;
	}
}

struct conf_values *
conf_values_take(const struct conf_spec *spec)
{
	struct conf_values *cv = calloc(1, sizeof(*cv) +
	    spec->nopts * sizeof(cv->v[0]));

	if (cv == NULL)
		return NULL;
	cv->n = spec->nopts;
	for (size_t i = 0; i < spec->nopts; i++)
		value_swap(&spec->opts[i], &cv->v[i]);	/* the table gets zeros */
	return cv;
}

void
conf_values_swap(const struct conf_spec *spec, struct conf_values *cv,
    size_t i)
{
	value_swap(&spec->opts[i], &cv->v[i]);
}

static int
str_eq(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

int
conf_values_equal(const struct conf_spec *spec, const struct conf_values *cv,
    size_t i)
{
	const struct conf_opt *o = &spec->opts[i];
	const union conf_value *v = &cv->v[i];

	switch (o->type) {
	case CONF_STR:
		return str_eq(*(char **)o->ptr, v->s);
	case CONF_INT:
	case CONF_DURATION:
		return *(int64_t *)o->ptr == v->i;
	case CONF_DOUBLE:
		return *(double *)o->ptr == v->d;
	case CONF_BOOL:
		return *(int *)o->ptr == v->b;
	case CONF_LIST: {
		const struct conf_list *l = o->ptr;
		if (l->n != v->l.n)
			return 0;
		for (size_t j = 0; j < l->n; j++)
			if (strcmp(l->items[j], v->l.items[j]) != 0)
				return 0;
		return 1;
	}
	}
	return 0;
}

void
conf_values_free(const struct conf_spec *spec, struct conf_values *cv)
{
	if (cv == NULL)
		return;
	for (size_t i = 0; i < cv->n && i < spec->nopts; i++) {
		const struct conf_opt *o = &spec->opts[i];
		if (o->type == CONF_STR) {
			if (o->secret && cv->v[i].s != NULL)
				explicit_bzero(cv->v[i].s, strlen(cv->v[i].s));
			free(cv->v[i].s);
		} else if (o->type == CONF_LIST)
			list_clear(&cv->v[i].l);
	}
	free(cv);
}

const char *
conf_opt_name(const struct conf_opt *o, char *buf, size_t len)
{
	return opt_name(o, buf, len);
}
