/*
 * cli_money.c: coopmine-cli's money commands (income, owners, workers
 * assign, pay, balances, payouts --explain): parses the operator's input,
 * writes through money.h's own connection, prints the typed reports as
 * text for people (local dates, coins beside atomic units) or as csv/json
 * (epoch ms, integers; the JSON is money_json.c's, as REST serves it).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli_money.h"
#include "common/clock.h"
#include "coordinator/money_json.h"

#define EXIT_REFUSED	4	/* duplicate, over balance, history */

static int
fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(int rc, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "coopmine-cli: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return rc;
}

static int
exit_of(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MONEY_EINVAL:
	case MONEY_ENOENT:
		return CLI_EXIT_USAGE;
	case MONEY_EEXIST:
	case MONEY_EREFUSED:
		return EXIT_REFUSED;
	default:
		return CLI_EXIT_IO;
	}
}

int
cli_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, tzh = 0, tzm = 0;
	char sign = 0;
	const char *rest;
	time_t t;
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == 0 && *end == '\0' && v > 0) {
		*out = v;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	rest = s + n;
	if (*rest == 'T' || *rest == ' ') {
		n = 0;
		if (sscanf(rest + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		rest += 1 + n;
		if (*rest == ':') {
			n = 0;
			if (sscanf(rest + 1, "%2d%n", &sec, &n) != 1)
				return -1;
			rest += 1 + n;
		}
	}
	if (*rest == 'Z')
		sign = 'Z', rest++;
	else if (*rest == '+' || *rest == '-') {
		sign = *rest;
		n = 0;
		if (sscanf(rest + 1, "%2d:%2d%n", &tzh, &tzm, &n) != 2)
			return -1;
		rest += 1 + n;
	}
	if (*rest != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (sign == 0) {
		tm.tm_isdst = -1;	/* local time, as people read it */
		t = mktime(&tm);
	} else {
		t = timegm(&tm);
		if (sign == '+')
			t -= (time_t)(tzh * 3600 + tzm * 60);
		else if (sign == '-')
			t += (time_t)(tzh * 3600 + tzm * 60);
	}
	if (t == (time_t)-1 || t <= 0)
		return -1;
	*out = (int64_t)t * 1000;
	return 0;
}

/* Local ISO date for people ("2026-12-01T10:00:00+0100"). */
static const char *
local_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

/* "1.50000000 (150000000)": coins, and the atomic units beside them. */
static const char *
coins(const struct cli_money_opts *o, int64_t v, char *buf, size_t len)
{
	uint64_t unit = 1, a = v < 0 ? -(uint64_t)v : (uint64_t)v;
	int i;

	for (i = 0; i < o->coin_decimals; i++)
		unit *= 10;
	if (unit == 1)
		snprintf(buf, len, "%" PRId64, v);
	else if (snprintf(buf, len, "%s%" PRIu64 ".%0*" PRIu64 " (%" PRId64 ")",
	    v < 0 ? "-" : "", a / unit, o->coin_decimals, a % unit, v) >=
	    (int)len)
		snprintf(buf, len, "%" PRId64, v);
	return buf;
}

/* A CSV field: quoted when it holds a comma, a quote or a newline. */
static const char *
csv(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (strpbrk(s, ",\"\r\n") == NULL)
		return s;
	buf[o++] = '"';
	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == '"')
			buf[o++] = '"';
		buf[o++] = *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(j);
}

/* --- writing --- */

static int
parse_at(const char *field, const char *s, int64_t *at, int required)
{
	if (s == NULL && !required) {
		*at = 0;
		return 0;
	}
	if (cli_time_parse(s, at) != 0)
		return fail(CLI_EXIT_USAGE, "%s: not a time (epoch ms, or "
		    "YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]): %s", field,
		    s ? s : "missing");
	return 0;
}

static int
income_add(struct money *m, const struct cli_money_opts *o)
{
	struct money_income in = { 0 };
	char err[512];
	int64_t id;
	int rc, src;

	if ((rc = money_amount_parse(o->amount, &in.amount, err,
	    sizeof(err))) != 0)
		return fail(CLI_EXIT_USAGE, "--amount: %s", err);
	src = o->source ? money_source_parse(o->source) : MONEY_SRC_POOL;
	if (src < 0)
		return fail(CLI_EXIT_USAGE, "--source: pool, block or manual, not "
		    "%s", o->source);
	in.source = (enum money_source)src;
	if ((rc = parse_at("--at", o->at, &in.at, in.source !=
	    MONEY_SRC_BLOCK)) != 0)
		return rc;
	in.ref = o->ref;
	in.note = o->note;
	in.block_id = o->block;
	if ((rc = money_income_add(m, &o->rules, &in, 1, 0, &id, NULL, NULL, err,
	    sizeof(err))) != 0)
		return fail(exit_of(rc), "income add: %s; nothing written", err);
	printf("income %" PRId64 " recorded and split (payouts --explain %"
	    PRId64 ")\n", id, id);
	return 0;
}

#define CSV_FIELDS	8

/* Splits a CSV line in place (double quotes allowed); the field count. */
static int
csv_split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line, *w;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		if (*p == '"') {
			f[n++] = w = ++p;
			for (;;) {
				if (*p == '\0')
					return -1;
				if (*p == '"' && p[1] == '"')
					p++;
				else if (*p == '"')
					break;
				*w++ = *p++;
			}
			*w = '\0';
			p++;
			if (*p != ',' && *p != '\0')
				return -1;
		} else {
			f[n++] = p;
			p += strcspn(p, ",");
		}
		if (*p == '\0')
			return n;
		*p++ = '\0';
	}
	return -1;
}

enum { COL_TIME, COL_AMOUNT, COL_REF, COL_SOURCE, COL_NOTE, NCOLS };
static const char *col_names[NCOLS] = { "time", "amount", "ref", "source",
	"note" };

struct import {
	struct money_income *in;
	char **text;		/* the lines, owned (fields point into them) */
	size_t *lineno;
	size_t n, cap;
};

static void
import_free(struct import *im)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		free(im->text[i]);
	free(im->in);
	free(im->text);
	free(im->lineno);
}

static int
import_grow(struct import *im)
{
	size_t cap = im->cap ? im->cap * 2 : 64;
	void *a, *b, *c;

	if (im->n < im->cap)
		return 0;
	a = realloc(im->in, cap * sizeof(*im->in));
	if (a != NULL)
		im->in = a;
	b = realloc(im->text, cap * sizeof(*im->text));
	if (b != NULL)
		im->text = b;
	c = realloc(im->lineno, cap * sizeof(*im->lineno));
	if (c != NULL)
		im->lineno = c;
	if (a == NULL || b == NULL || c == NULL)
		return -1;
	im->cap = cap;
	return 0;
}

/* Reads the header to col[]: index of each known column, -1 if absent. */
static int
import_header(const char *file, char *line, int *col)
{
	char *f[CSV_FIELDS];
	int n, i, k;

	for (k = 0; k < NCOLS; k++)
		col[k] = -1;
	if ((n = csv_split(line, f, CSV_FIELDS)) < 0)
		return fail(CLI_EXIT_USAGE, "%s:1: header: not CSV", file);
	for (i = 0; i < n; i++) {
		for (k = 0; k < NCOLS && strcmp(f[i], col_names[k]) != 0; k++)
			;
		if (k == NCOLS)
			return fail(CLI_EXIT_USAGE, "%s:1: header: unknown column "
			    "\"%s\" (time, amount, ref, source, note)", file, f[i]);
		col[k] = i;
	}
	for (k = 0; k < COL_SOURCE; k++)
		if (col[k] < 0)
			return fail(CLI_EXIT_USAGE, "%s:1: header: no column %s "
			    "(needs time, amount, ref)", file, col_names[k]);
	return 0;
}

static int
import_line(const char *file, size_t lineno, char *line, const int *col,
    struct money_income *in)
{
	char *f[CSV_FIELDS], err[256];
	int n, src;

	memset(in, 0, sizeof(*in));
	if ((n = csv_split(line, f, CSV_FIELDS)) < 0)
		return fail(CLI_EXIT_USAGE, "%s:%zu: not a CSV line", file, lineno);
	if (n <= col[COL_TIME] || n <= col[COL_AMOUNT] || n <= col[COL_REF])
		return fail(CLI_EXIT_USAGE, "%s:%zu: %d fields, fewer than the "
		    "header's", file, lineno, n);
	if (cli_time_parse(f[col[COL_TIME]], &in->at) != 0)
		return fail(CLI_EXIT_USAGE, "%s:%zu: field time: not a time: "
		    "\"%s\"", file, lineno, f[col[COL_TIME]]);
	if (money_amount_parse(f[col[COL_AMOUNT]], &in->amount, err,
	    sizeof(err)) != 0)
		return fail(CLI_EXIT_USAGE, "%s:%zu: field amount: %s", file,
		    lineno, err);
	in->ref = f[col[COL_REF]];
	in->source = MONEY_SRC_POOL;
	if (col[COL_SOURCE] >= 0 && col[COL_SOURCE] < n) {
		if ((src = money_source_parse(f[col[COL_SOURCE]])) < 0 ||
		    src == MONEY_SRC_BLOCK)
			return fail(CLI_EXIT_USAGE, "%s:%zu: field source: pool or "
			    "manual, not \"%s\"", file, lineno, f[col[COL_SOURCE]]);
		in->source = (enum money_source)src;
	}
	if (col[COL_NOTE] >= 0 && col[COL_NOTE] < n)
		in->note = f[col[COL_NOTE]];
	return 0;
}

static int
income_import(struct money *m, const struct cli_money_opts *o,
    const char *file)
{
	struct import im = { 0 };
	char buf[1024], err[512];
	int col[NCOLS], rc = 0;
	size_t lineno = 0, skipped = 0, bad = 0, i, j;
	FILE *f;

	if ((f = fopen(file, "r")) == NULL)
		return fail(CLI_EXIT_IO, "income import: %s: %s", file,
		    strerror(errno));
	while (rc == 0 && fgets(buf, sizeof(buf), f) != NULL) {
		lineno++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			rc = fail(CLI_EXIT_USAGE, "%s:%zu: line longer than %zu "
			    "bytes", file, lineno, sizeof(buf) - 2);
			break;
		}
		if (lineno == 1) {
			rc = import_header(file, buf, col);
			continue;
		}
		if (buf[strspn(buf, " \t\r\n")] == '\0')
			continue;
		if (import_grow(&im) != 0 ||
		    (im.text[im.n] = strdup(buf)) == NULL) {
			rc = fail(CLI_EXIT_IO, "out of memory");
			break;
		}
		im.lineno[im.n] = lineno;
		im.n++;
		if ((rc = import_line(file, lineno, im.text[im.n - 1], col,
		    &im.in[im.n - 1])) != 0)
			break;
		for (j = 0; j + 1 < im.n; j++)
			if (strcmp(im.in[j].ref, im.in[im.n - 1].ref) == 0)
				rc = fail(CLI_EXIT_USAGE, "%s:%zu: field ref: %s "
				    "already on line %zu", file, lineno,
				    im.in[j].ref, im.lineno[j]);
	}
	if (rc == 0 && ferror(f))
		rc = fail(CLI_EXIT_IO, "%s: %s", file, strerror(errno));
	fclose(f);
	if (rc == 0 && lineno == 0)
		rc = fail(CLI_EXIT_USAGE, "%s: empty (needs a header line: "
		    "time,amount,ref)", file);
	if (rc == 0 && (i = (size_t)money_income_add(m, &o->rules, im.in,
	    im.n, 1, NULL, &skipped, &bad, err, sizeof(err))) != 0)
		rc = fail(exit_of((int)i), "%s:%zu: %s", file, im.lineno[bad],
		    err);
	if (rc != 0)
		fprintf(stderr, "coopmine-cli: income import: %s: nothing "
		    "written\n", file);
	else
		printf("income import %s: %zu recorded and split, %zu already "
		    "recorded\n", file, im.n - skipped, skipped);
	import_free(&im);
	return rc;
}

/* ID of a reversal: a positive row id, or a usage error naming what. */
static int
parse_id(const char *what, const char *noun, const char *idarg, int64_t *id)
{
	char *end;

	errno = 0;
	*id = idarg ? strtoll(idarg, &end, 10) : 0;
	if (idarg == NULL || errno || *end || *id <= 0)
		return fail(CLI_EXIT_USAGE, "%s: ID: the %s id to reverse, not "
		    "%s", what, noun, idarg ? idarg : "nothing");
	return 0;
}

static int
reverse(struct money *m, const struct cli_money_opts *o, const char *cmd,
    const char *idarg)
{
	int income = strcmp(cmd, "income") == 0;
	const char *what = income ? "income reverse" : "pay reverse";
	const char *noun = income ? "income" : "payment";
	char err[512];
	int64_t id, rev, at;
	int rc;

	if ((rc = parse_id(what, noun, idarg, &id)) != 0 ||
	    (rc = parse_at("--at", o->at, &at, 0)) != 0)
		return rc;
	rc = income ? money_income_reverse(m, id, o->ref, o->note, at, &rev, err,
	    sizeof(err)) : money_pay_reverse(m, id, o->ref, o->note, at, &rev,
	    err, sizeof(err));
	if (rc != 0)
		return fail(exit_of(rc), "%s: %s; nothing written", what, err);
	printf("%s %" PRId64 " reversed by %s %" PRId64 "\n", noun, id, noun,
	    rev);
	return 0;
}

static int
owners_write(struct money *m, const struct cli_money_opts *o, const char *verb,
    const char *name)
{
	char err[512];
	int64_t id = 0;
	int rc;

	if (name == NULL)
		return fail(CLI_EXIT_USAGE, "owners %s: NAME missing", verb);
	if (strcmp(verb, "add") == 0)
		rc = money_owner_add(m, name, o->address, &id, err, sizeof(err));
	else
		rc = money_owner_set(m, name, o->address, err, sizeof(err));
	if (rc != 0)
		return fail(exit_of(rc), "owners %s: %s; nothing written", verb,
		    err);
	if (id)
		printf("owner %s added (id %" PRId64 ")\n", name, id);
	else
		printf("owner %s updated\n", name);
	return 0;
}

#define ASSIGN_MAX	64

static int
workers_assign(struct money *m, const struct cli_money_opts *o,
    const char *worker, const char *list)
{
	struct money_share_of of[ASSIGN_MAX];
	char buf[2048], err[512], *tok, *save = NULL, *colon, *end;
	size_t n = 0;
	int64_t from;
	long bps;
	int rc;

	if (worker == NULL || list == NULL)
		return fail(CLI_EXIT_USAGE, "workers assign WORKER OWNER[:BPS],...");
	if ((rc = parse_at("--from", o->from, &from, 0)) != 0)
		return rc;
	if (from == 0)
		from = clock_wall_ms();
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return fail(CLI_EXIT_USAGE, "workers assign: owner list too long");
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (n == ASSIGN_MAX)
			return fail(CLI_EXIT_USAGE, "owners: more than %d",
			    ASSIGN_MAX);
		of[n].owner = tok;
		of[n].bps = 10000;
		if ((colon = strrchr(tok, ':')) != NULL) {
			*colon = '\0';
			errno = 0;
			bps = strtol(colon + 1, &end, 10);
			if (errno || *end || end == colon + 1 || bps <= 0 ||
			    bps > 10000)
				return fail(CLI_EXIT_USAGE, "bps: %s:%s is not in "
				    "1..10000", tok, colon + 1);
			of[n].bps = (unsigned)bps;
		}
		n++;
	}
	if ((rc = money_assign(m, worker, of, n, from, err, sizeof(err))) != 0)
		return fail(exit_of(rc), "workers assign: %s; nothing written",
		    err);
	printf("worker %s assigned from %" PRId64 "\n", worker, from);
	return 0;
}

static int
pay_record(struct money *m, const struct cli_money_opts *o)
{
	char err[512];
	uint64_t amount;
	int64_t id, at;
	int rc;

	if (o->owner == NULL)
		return fail(CLI_EXIT_USAGE, "pay record: --owner missing");
	if ((rc = money_amount_parse(o->amount, &amount, err, sizeof(err))) != 0)
		return fail(CLI_EXIT_USAGE, "--amount: %s", err);
	if ((rc = parse_at("--at", o->at, &at, 0)) != 0)
		return rc;
	if ((rc = money_pay(m, o->owner, amount, o->ref, o->note, at, &id, err,
	    sizeof(err))) != 0)
		return fail(exit_of(rc), "pay record: %s; nothing written", err);
	printf("payment %" PRId64 " recorded\n", id);
	return 0;
}

/* --- reading --- */

static int
balances(struct ledger_reader *r, const struct cli_money_opts *o)
{
	struct money_owner_row *b;
	char c1[64], c2[64], c3[64], c4[64], q1[2 * MONEY_NAME_MAX],
	    q2[2 * MONEY_REF_MAX];
	size_t n, i;

	if (money_read_balances(r, &b, &n) != 0)
		return fail(CLI_EXIT_IO, "balances: cannot read the ledger");
	if (strcmp(o->format, "json") == 0)
		print_json(money_json_balances(b, n));
	else if (strcmp(o->format, "csv") == 0) {
		printf("owner_id,name,address,credited,paid,balance,immature\n");
		for (i = 0; i < n; i++)
			printf("%" PRId64 ",%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64
			    ",%" PRId64 "\n", b[i].id, csv(b[i].name, q1,
			    sizeof(q1)), csv(b[i].address, q2, sizeof(q2)),
			    b[i].credited, b[i].paid, b[i].balance, b[i].immature);
	} else {
		printf("%-20s %-28s %-28s %-28s %s\n", "owner", "credited", "paid",
		    "balance", "immature");
		for (i = 0; i < n; i++)
			printf("%-20s %-28s %-28s %-28s %s\n", b[i].name,
			    coins(o, b[i].credited, c1, sizeof(c1)),
			    coins(o, b[i].paid, c2, sizeof(c2)),
			    coins(o, b[i].balance, c3, sizeof(c3)),
			    coins(o, b[i].immature, c4, sizeof(c4)));
		if (n == 0)
			printf("no owners yet\n");
	}
	free(b);
	return 0;
}

static int
income_list(struct ledger_reader *r, const struct cli_money_opts *o)
{
	struct money_income_row *v;
	char t[40], c[64], q[2 * MONEY_REF_MAX];
	size_t n, i;

	if (money_read_income(r, (int)o->limit, 0, &v, &n) != 0)
		return fail(CLI_EXIT_IO, "income: cannot read the ledger");
	if (strcmp(o->format, "json") == 0)
		print_json(money_json_income(v, n));
	else if (strcmp(o->format, "csv") == 0) {
		printf("id,at,amount,source,ref,block_id,reverses,reversed_by\n");
		for (i = 0; i < n; i++)
			printf("%" PRId64 ",%" PRId64 ",%" PRIu64 ",%s,%s,%" PRId64
			    ",%" PRId64 ",%" PRId64 "\n", v[i].id, v[i].at,
			    v[i].amount, money_source_name(v[i].source),
			    csv(v[i].ref, q, sizeof(q)), v[i].block_id,
			    v[i].reverses, v[i].reversed_by);
	} else {
		for (i = 0; i < n; i++)
			printf("%-6" PRId64 " %s  %-28s %-6s %s%s\n", v[i].id,
			    local_time(v[i].at, t, sizeof(t)), coins(o,
			    v[i].reverses ? -(int64_t)v[i].amount :
			    (int64_t)v[i].amount, c, sizeof(c)),
			    money_source_name(v[i].source), v[i].ref,
			    v[i].reversed_by ? "  (reversed)" : "");
		if (n == 0)
			printf("no income yet\n");
	}
	free(v);
	return 0;
}

static void
explain_text(const struct cli_money_opts *o, const struct money_explain *e)
{
	char t1[40], t2[40], c[64], c2[64];
	size_t i;

	printf("income %" PRId64 ": %s, %s %s, ref %s\n", e->income.id,
	    coins(o, e->income.reverses ? -(int64_t)e->income.amount :
	    (int64_t)e->income.amount, c, sizeof(c)),
	    money_source_name(e->income.source),
	    local_time(e->income.at, t1, sizeof(t1)), e->income.ref);
	if (e->income.reverses)
		printf("  reverses income %" PRId64 ": its split, negated\n",
		    e->income.reverses);
	if (e->income.reversed_by)
		printf("  REVERSED by income %" PRId64 "\n", e->income.reversed_by);
	printf("scheme %s; window N = %" PRIu64 " (%s)\n",
	    money_scheme_name(e->scheme), e->window_n, e->n_source);
	if (e->first_share_id)
		printf("window: shares %" PRId64 " (%s) .. %" PRId64 " (%s), %"
		    PRIu64 " shares, difficulty %" PRIu64 "\n", e->first_share_id,
		    local_time(e->first_share_at, t1, sizeof(t1)),
		    e->last_share_id, local_time(e->last_share_at, t2,
		    sizeof(t2)), e->share_count, e->window_difficulty);
	else
		printf("window: empty\n");
	if (*e->warning)
		printf("WARNING: %s\n", e->warning);
	printf("%-24s %-16s %6s %16s %8s %9s %28s %s\n", "worker", "owner", "bps",
	    "difficulty", "shares", "fraction", "amount", "remainder");
	for (i = 0; i < e->nrows; i++) {
		const struct money_split_row *s = &e->rows[i];

		if (s->fee) {
			printf("fee %u bps to %s: %s\n", e->fee_bps, s->owner,
			    coins(o, s->amount, c, sizeof(c)));
			continue;
		}
		printf("%-24s %-16s %6u %16" PRIu64 " %8" PRIu64 " %9.6f %28s %s\n",
		    s->worker_id, s->owner, s->bps, s->difficulty, s->shares,
		    e->window_difficulty ? (double)s->difficulty /
		    (double)e->window_difficulty : 0.0, coins(o, s->amount, c,
		    sizeof(c)), s->worker_extra && s->owner_extra ? "worker+owner"
		    : s->worker_extra ? "worker" : s->owner_extra ? "owner" : "");
	}
	printf("per owner:\n");
	for (i = 0; i < e->nowners; i++)
		printf("  %-20s difficulty %-16" PRIu64 " amount %s\n",
		    e->owners[i].owner, e->owners[i].difficulty, coins(o,
		    e->owners[i].amount, c2, sizeof(c2)));
}

int
cli_money_explain(struct ledger_reader *r, const struct cli_money_opts *o,
    int64_t id)
{
	struct money_explain e;
	char q1[2 * PPLNS_WORKER_MAX], q2[2 * MONEY_NAME_MAX];
	size_t i;
	int rc;

	if ((rc = money_read_explain(r, id, &e)) != 0)
		return fail(rc == MONEY_ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_IO,
		    "payouts --explain %" PRId64 ": %s", id, rc == MONEY_ENOENT ?
		    "no such income (coopmine-cli income lists them)" :
		    "cannot read the ledger");
	if (strcmp(o->format, "json") == 0)
		print_json(money_json_explain(&e));
	else if (strcmp(o->format, "csv") == 0) {
		printf("income_id,kind,worker_id,owner_id,owner,bps,difficulty,"
		    "shares,worker_amount,amount,worker_remainder,"
		    "owner_remainder\n");
		for (i = 0; i < e.nrows; i++)
			printf("%" PRId64 ",%s,%s,%" PRId64 ",%s,%u,%" PRIu64 ",%"
			    PRIu64 ",%" PRId64 ",%" PRId64 ",%d,%d\n", id,
			    e.rows[i].fee ? "fee" : "worker", csv(e.rows[i].worker_id,
			    q1, sizeof(q1)), e.rows[i].owner_id, csv(e.rows[i].owner,
			    q2, sizeof(q2)), e.rows[i].bps,
			    e.rows[i].difficulty, e.rows[i].shares,
			    e.rows[i].worker_amount, e.rows[i].amount,
			    e.rows[i].worker_extra, e.rows[i].owner_extra);
	} else
		explain_text(o, &e);
	money_explain_free(&e);
	return 0;
}

static int
writer(const struct cli_money_opts *o, struct money **m)
{
	char err[512];

	if ((*m = money_open(o->db, err, sizeof(err))) == NULL)
		return fail(CLI_EXIT_IO, "%s", err);
	return 0;
}

int
cli_money_write(const struct cli_money_opts *o, const char *cmd,
    char **args, int nargs)
{
	const char *verb = nargs > 0 ? args[0] : NULL;
	struct money *m;
	int rc;

	if (strcmp(cmd, "owners") == 0 && (verb == NULL ||
	    strcmp(verb, "list") == 0))
		return -1;	/* a read: the caller's reader */
	if (strcmp(cmd, "income") == 0 && (verb == NULL ||
	    strcmp(verb, "list") == 0))
		return -1;
	if ((rc = writer(o, &m)) != 0)
		return rc;
	if (strcmp(cmd, "income") == 0 && strcmp(verb, "add") == 0)
		rc = income_add(m, o);
	else if (strcmp(cmd, "income") == 0 && strcmp(verb, "import") == 0)
		rc = nargs > 1 ? income_import(m, o, args[1]) :
		    fail(CLI_EXIT_USAGE, "income import FILE.csv");
	else if (strcmp(cmd, "income") == 0 && strcmp(verb, "reverse") == 0)
		rc = reverse(m, o, cmd, nargs > 1 ? args[1] : NULL);
	else if (strcmp(cmd, "owners") == 0 && (strcmp(verb, "add") == 0 ||
	    strcmp(verb, "set") == 0))
		rc = owners_write(m, o, verb, nargs > 1 ? args[1] : NULL);
	else if (strcmp(cmd, "workers") == 0 && strcmp(verb, "assign") == 0)
		rc = workers_assign(m, o, nargs > 1 ? args[1] : NULL,
		    nargs > 2 ? args[2] : NULL);
	else if (strcmp(cmd, "pay") == 0 && verb != NULL &&
	    strcmp(verb, "record") == 0)
		rc = pay_record(m, o);
	else if (strcmp(cmd, "pay") == 0 && verb != NULL &&
	    strcmp(verb, "reverse") == 0)
		rc = reverse(m, o, cmd, nargs > 1 ? args[1] : NULL);
	else
		rc = fail(CLI_EXIT_USAGE, "unknown command %s %s", cmd,
		    verb ? verb : "");
	money_close(m);
	return rc;
}

int
cli_money_read(struct ledger_reader *r, const struct cli_money_opts *o,
    const char *cmd)
{
	if (strcmp(cmd, "balances") == 0 || strcmp(cmd, "owners") == 0)
		return balances(r, o);
	return income_list(r, o);
}
