/*
 * cli.c: coopmine-cli, the ledger's command line for operators: PPLNS
 * payout reports, worker and share listings, the audit, CSV export and
 * online backup through ledger.h's reader half; the money commands
 * (income, owners, workers assign, pay, balances, payouts --explain) are
 * cli_money.c's.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/conf.h"
#include "common/hex.h"
#include "common/log.h"
#include "cli/cli_money.h"
#include "coordinator/ledger.h"

#define EXIT_VIOLATIONS	1
#define EXIT_USAGE	CLI_EXIT_USAGE
#define EXIT_FAILURE_IO	CLI_EXIT_IO
#define NPOS		4	/* positional words after the command */

static char *opt_db, *opt_format, *opt_since, *opt_worker, *opt_what,
    *opt_reward, *opt_log_level, *opt_reason;
static int64_t opt_block, opt_last, opt_limit;
static char *opt_amount, *opt_at, *opt_ref, *opt_source, *opt_note,
    *opt_owner, *opt_address, *opt_from, *opt_scheme, *opt_fee_owner;
static int64_t opt_explain, opt_window_abs, opt_fee_bps, opt_decimals;
static double opt_window_factor;

static const struct conf_opt opts[] = {
	{ "ledger", "path", "db", "COOPMINE_LEDGER_PATH", CONF_STR, &opt_db,
	  COOPMINE_STATEDIR "/ledger.db", 0, 0, 0, "the ledger database file" },
	{ NULL, NULL, "format", NULL, CONF_STR, &opt_format, "text", 0, 0, 0,
	  "output: text | csv | json" },
	{ NULL, NULL, "block", NULL, CONF_INT, &opt_block, "0", 0, 9.2e18, 0,
	  "payouts: this block id" },
	{ NULL, NULL, "last", NULL, CONF_INT, &opt_last, "0", 0, 1e6, 0,
	  "payouts: the last K blocks (0: the last 10)" },
	{ NULL, NULL, "reward", NULL, CONF_STR, &opt_reward, NULL, 0, 0, 0,
	  "payouts: split this reward (atomic units) instead of the stored one" },
	{ NULL, NULL, "since", NULL, CONF_STR, &opt_since, NULL, 0, 0, 0,
	  "shares/export: epoch ms, or an age such as 1h, 30m, 2d" },
	{ NULL, NULL, "worker", NULL, CONF_STR, &opt_worker, NULL, 0, 0, 0,
	  "shares: only this worker" },
	{ NULL, NULL, "limit", NULL, CONF_INT, &opt_limit, "100", 0, 1e9, 0,
	  "shares: at most this many rows (0: all)" },
	{ NULL, NULL, "what", NULL, CONF_STR, &opt_what, "shares", 0, 0, 0,
	  "export: shares | payouts" },
	{ NULL, NULL, "reason", NULL, CONF_STR, &opt_reason, "", 0, 0, 0,
	  "workers revoke|unrevoke|release: why (kept in the ledger)" },
	{ "log", "level", "log-level", "COOPMINE_LOG_LEVEL", CONF_STR,
	  &opt_log_level, "warn", 0, 0, 0, "error | warn | info | debug" },
	{ NULL, NULL, "explain", NULL, CONF_INT, &opt_explain, "0", 0, 9.2e18,
	  0, "payouts: explain the split of this income id" },
	{ NULL, NULL, "amount", NULL, CONF_STR, &opt_amount, NULL, 0, 0, 0,
	  "income add / pay record: atomic units" },
	{ NULL, NULL, "at", NULL, CONF_STR, &opt_at, NULL, 0, 0, 0,
	  "income add|reverse, pay record|reverse: epoch ms or "
	  "YYYY-MM-DD[THH:MM[:SS]][Z]" },
	{ NULL, NULL, "ref", NULL, CONF_STR, &opt_ref, NULL, 0, 0, 0,
	  "income add|reverse, pay record|reverse: the unique reference" },
	{ NULL, NULL, "source", NULL, CONF_STR, &opt_source, NULL, 0, 0, 0,
	  "income add: pool | block | manual (default pool)" },
	{ NULL, NULL, "note", NULL, CONF_STR, &opt_note, NULL, 0, 0, 0,
	  "income add|reverse, pay record|reverse: a note" },
	{ NULL, NULL, "owner", NULL, CONF_STR, &opt_owner, NULL, 0, 0, 0,
	  "pay record: the owner paid" },
	{ NULL, NULL, "address", NULL, CONF_STR, &opt_address, NULL, 0, 0, 0,
	  "owners add|set: payout address" },
	{ NULL, NULL, "from", NULL, CONF_STR, &opt_from, NULL, 0, 0, 0,
	  "workers assign: valid from this time (default now)" },
	{ "pplns", "scheme", "pplns-scheme", "COOPMINE_PPLNS_SCHEME", CONF_STR,
	  &opt_scheme, "pplns", 0, 0, 0, "income split: pplns | prop" },
	{ "pplns", "window_factor", "pplns-window-factor",
	  "COOPMINE_PPLNS_WINDOW_FACTOR", CONF_DOUBLE, &opt_window_factor, "2",
	  0.001, 1000, 0, "PPLNS window N as a multiple of the network "
	  "difficulty" },
	{ "pplns", "window", "pplns-window", "COOPMINE_PPLNS_WINDOW", CONF_INT,
	  &opt_window_abs, "0", 0, 9e18, 0, "absolute PPLNS window N (wins when "
	  "> 0)" },
	{ "pplns", "fee_bps", "pplns-fee-bps", "COOPMINE_PPLNS_FEE_BPS",
	  CONF_INT, &opt_fee_bps, "0", 0, 10000, 0, "operator fee in basis "
	  "points" },
	{ "pplns", "fee_owner", "pplns-fee-owner", "COOPMINE_PPLNS_FEE_OWNER",
	  CONF_STR, &opt_fee_owner, "operator", 0, 0, 0, "the owner credited "
	  "with the fee" },
	{ "money", "coin_decimals", "coin-decimals", "COOPMINE_COIN_DECIMALS",
	  CONF_INT, &opt_decimals, "8", 0, 18, 0, "atomic units per coin, as "
	  "10^N (text output)" },
};

static const struct conf_spec spec = {
	"coopmine-cli",
	"COMMAND: payouts [--explain ID] | workers [revoke|unrevoke|release ID "
	"| access | assign WORKER OWNER[:BPS],...] | shares | audit | backup "
	"FILE | export | income [add | import FILE | reverse ID] | owners [add "
	"NAME | set NAME | list] | pay [record | reverse ID] | balances",
	opts, sizeof(opts) / sizeof(opts[0])
};

static int
is_value_opt(const char *arg)
{
	size_t i, n;

	if (strncmp(arg, "--", 2) != 0 || strchr(arg, '=') != NULL)
		return 0;
	arg += 2;
	if (strcmp(arg, "config") == 0)
		return 1;
	for (i = 0; i < spec.nopts; i++) {
		if (opts[i].flag == NULL)
			continue;
		n = strlen(opts[i].flag);
		if (strncmp(arg, opts[i].flag, n) == 0 && arg[n] == '\0')
			return opts[i].type != CONF_BOOL;
	}
	return 0;
}

/* "since": epoch ms, or an age ("1h" = one hour ago, "2d" = two days). */
static int
parse_since(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t d;

	if (s == NULL) {
		*out = 0;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == 0 && *end == '\0' && v >= 0) {
		*out = v;
		return 0;
	}
	if (errno == 0 && end != s && strcmp(end, "d") == 0 && v >= 0) {
		*out = clock_wall_ms() - (int64_t)v * 86400000;
		return 0;
	}
	if ((d = conf_parse_duration(s)) < 0)
		return -1;
	*out = clock_wall_ms() - d;
	return 0;
}

/* The newest access row of id (state ALLOW when it has none). */
static int
access_state(struct ledger_reader *r, const char *id,
    struct ledger_access_row *out)
{
	struct ledger_access_row *rows;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->state = LEDGER_ACCESS_ALLOW;
	if (ledger_read_access(r, 0, &rows, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].worker_id, id) == 0)
			*out = rows[i];
	free(rows);
	return 0;
}

/*
 * workers revoke|unrevoke|release ID: a row in worker_access, which the
 * running coordinator applies within a second (and every start after).
 * workers access: every access row, oldest first.
 */
static int
cmd_workers_access(struct ledger_reader *r, const char *verb, const char *id)
{
	struct ledger_access_row cur, *rows;
	enum ledger_access want;
	char err[512], when[32];
	size_t n;

	if (strcmp(verb, "access") == 0) {
		if (id != NULL) {
			fprintf(stderr, "coopmine-cli: workers access takes no ID\n");
			return EXIT_USAGE;
		}
		if (ledger_read_access(r, 0, &rows, &n) != 0) {
			fprintf(stderr, "coopmine-cli: cannot read worker_access\n");
			return EXIT_FAILURE_IO;
		}
		for (size_t i = 0; i < n; i++) {
			time_t t = (time_t)(rows[i].at / 1000);
			struct tm tm;
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z",
			    localtime_r(&t, &tm));
			printf("%s  %-10s %s  %s\n", when,
			    ledger_access_name(rows[i].state), rows[i].worker_id,
			    rows[i].reason);
		}
		if (n == 0)
			printf("(no revocations or quarantines)\n");
		free(rows);
		return 0;
	}
	if (strcmp(verb, "revoke") == 0)
		want = LEDGER_ACCESS_REVOKE;
	else if (strcmp(verb, "unrevoke") == 0 || strcmp(verb, "release") == 0)
		want = LEDGER_ACCESS_ALLOW;
	else {
		fprintf(stderr, "coopmine-cli: workers %s: revoke, unrevoke, "
		    "release or access\n", verb);
		return EXIT_USAGE;
	}
	if (id == NULL || *id == '\0' || strlen(id) > 64) {
		fprintf(stderr, "coopmine-cli: workers %s needs a worker ID (its "
		    "certificate CN, 1 to 64 bytes)\n", verb);
		return EXIT_USAGE;
	}
	if (access_state(r, id, &cur) != 0) {
		fprintf(stderr, "coopmine-cli: cannot read worker_access\n");
		return EXIT_FAILURE_IO;
	}
	if ((want == LEDGER_ACCESS_REVOKE && cur.state == LEDGER_ACCESS_REVOKE) ||
	    (strcmp(verb, "unrevoke") == 0 && cur.state != LEDGER_ACCESS_REVOKE) ||
	    (strcmp(verb, "release") == 0 &&
	    cur.state != LEDGER_ACCESS_QUARANTINE)) {
		fprintf(stderr, "coopmine-cli: worker %s is %s: nothing to %s\n",
		    id, cur.state == LEDGER_ACCESS_REVOKE ? "revoked" :
		    cur.state == LEDGER_ACCESS_QUARANTINE ? "quarantined" :
		    "neither revoked nor quarantined", verb);
		return EXIT_VIOLATIONS;
	}
	if (ledger_access_record(opt_db, id, want, *opt_reason != '\0' ?
	    opt_reason : verb, clock_wall_ms(), err, sizeof(err)) != 0) {
		fprintf(stderr, "coopmine-cli: %s\n", err);
		return EXIT_FAILURE_IO;
	}
	printf("worker %s: %s (a running coordinator applies it within a "
	    "second)\n", id, want == LEDGER_ACCESS_REVOKE ? "revoked" :
	    strcmp(verb, "release") == 0 ? "quarantine lifted" :
	    "revocation lifted");
	return 0;
}

/* A JSON array of flat objects as CSV (header from the first object's
 * keys) or as an aligned text table. */
static void
print_table(json_t *rows, int csv)
{
	size_t i, c, ncol = 0, *width = NULL;
	const char *key;
	json_t *row, *v, *first = json_array_get(rows, 0);
	char buf[512];

	if (first == NULL) {
		if (!csv)
			printf("(none)\n");
		return;
	}
	ncol = json_object_size(first);
	if ((width = calloc(ncol, sizeof(*width))) == NULL)
		return;
	c = 0;
	json_object_foreach(first, key, v)
		width[c++] = strlen(key);
	json_array_foreach(rows, i, row) {
		c = 0;
		json_object_foreach(row, key, v) {
			size_t n;

			if (json_is_string(v))
				n = strlen(json_string_value(v));
			else if (json_is_null(v))
				n = 0;
			else {
				char *d = json_dumps(v, JSON_ENCODE_ANY);

				n = d ? strlen(d) : 0;
				free(d);
			}
			if (c < ncol && n > width[c])
				width[c] = n;
			c++;
		}
	}
	c = 0;
	json_object_foreach(first, key, v) {
		if (csv)
			printf("%s%s", c ? "," : "", key);
		else
			printf("%s%-*s", c ? "  " : "", (int)width[c], key);
		c++;
	}
	printf("\n");
	json_array_foreach(rows, i, row) {
		c = 0;
		json_object_foreach(row, key, v) {
			if (json_is_string(v))
				snprintf(buf, sizeof(buf), "%s", json_string_value(v));
			else if (json_is_null(v))
				buf[0] = '\0';
			else {
				char *d = json_dumps(v, JSON_ENCODE_ANY);

				snprintf(buf, sizeof(buf), "%s", d ? d : "");
				free(d);
			}
			if (csv) {
				if (strpbrk(buf, ",\"\n") != NULL) {
					char *p;

					printf("%s\"", c ? "," : "");
					for (p = buf; *p; p++)
						printf(*p == '"' ? "\"\"" : "%c", *p);
					printf("\"");
				} else
					printf("%s%s", c ? "," : "", buf);
			} else
				printf("%s%-*s", c ? "  " : "", (int)width[c], buf);
			c++;
		}
		printf("\n");
	}
	free(width);
}

static int
emit(json_t *rows, const char *format)
{
	if (rows == NULL)
		return EXIT_FAILURE_IO;
	if (strcmp(format, "json") == 0) {
		json_dumpf(rows, stdout, JSON_INDENT(2));
		printf("\n");
	} else
		print_table(rows, strcmp(format, "csv") == 0);
	json_decref(rows);
	return 0;
}

static json_t *
int_or_null(int64_t v)
{
	return v != 0 ? json_integer((json_int_t)v) : json_null();
}

/* The rows as JSON objects, keys as the shares table's columns. */
static json_t *
shares_json(struct ledger_reader *r, int64_t since, const char *worker,
    int limit)
{
	struct ledger_share_row *s;
	char hex[65];
	json_t *a;
	size_t n, i;

	if (ledger_read_shares(r, since, worker, limit, 0, &s, &n) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < n; i++) {
		if (!s[i].has_result || hex_encode(s[i].result, 32, hex,
		    sizeof(hex)) != 0)
			hex[0] = '\0';
		json_array_append_new(a, json_pack("{s:I, s:o, s:o, s:o, s:s, "
		    "s:I, s:o, s:I, s:I, s:s, s:s, s:i, s:s, s:o, s:o, s:I}",
		    "id", (json_int_t)s[i].id, "job_id", int_or_null(s[i].job_id),
		    "upstream_job_id", s[i].job_id ?
		    json_string(s[i].upstream_job_id) : json_null(), "lease_id",
		    int_or_null(s[i].lease_id), "worker_id", s[i].worker_id,
		    "nonce", (json_int_t)s[i].nonce, "result", *hex ?
		    json_string(hex) : json_null(), "difficulty",
		    (json_int_t)s[i].difficulty, "hash_difficulty",
		    (json_int_t)s[i].hash_difficulty, "verdict",
		    s[i].reason == LEDGER_REASON_OK ? "accepted" : "rejected",
		    "reason", ledger_reason_name(s[i].reason), "block_candidate",
		    s[i].block_candidate, "upstream",
		    ledger_fate_name(s[i].upstream), "upstream_reason",
		    *s[i].upstream_reason ? json_string(s[i].upstream_reason) :
		    json_null(), "upstream_at", int_or_null(s[i].upstream_at),
		    "created_at", (json_int_t)s[i].created_at));
	}
	free(s);
	return a;
}

/* Per-worker totals as JSON objects, keys as the worker_totals view's. */
static json_t *
workers_json(struct ledger_reader *r)
{
	struct ledger_worker_row *w;
	json_t *a;
	size_t n, i;

	if (ledger_read_workers(r, &w, &n) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:I, "
		    "s:o, s:I, s:I, s:I, s:I}", "worker_id", w[i].worker_id,
		    "name", w[i].name, "shares_valid",
		    (json_int_t)w[i].shares_valid, "shares_invalid",
		    (json_int_t)w[i].shares_invalid, "difficulty_valid",
		    (json_int_t)w[i].difficulty_valid, "last_share_at",
		    int_or_null(w[i].last_share_at), "blocks_found",
		    (json_int_t)w[i].blocks_found, "paid_accepted",
		    (json_int_t)w[i].paid_accepted, "first_seen",
		    (json_int_t)w[i].first_seen, "last_seen",
		    (json_int_t)w[i].last_seen));
	free(w);
	return a;
}

static json_t *
payout_json(struct ledger_reader *r, int64_t block_id, const uint64_t *reward)
{
	struct ledger_block_info bi;
	struct pplns_result res;
	json_t *o, *parts;
	size_t i;
	int rc, known = 1;
	uint64_t zero = 0;

	rc = ledger_compute_payouts(r, block_id, reward, &bi, &res);
	if (rc == -ENODATA) {
		known = 0;
		rc = ledger_compute_payouts(r, block_id, &zero, &bi, &res);
	}
	if (rc != 0) {
		fprintf(stderr, "coopmine-cli: block %" PRId64 ": %s\n", block_id,
		    rc == -ENOENT ? "no such block" : strerror(-rc));
		return NULL;
	}
	o = json_pack("{sI sI ss sI sI sI si so so sI}", "block_id",
	    (json_int_t)bi.id, "height", (json_int_t)bi.height, "status",
	    ledger_block_status_name(bi.status), "network_difficulty",
	    (json_int_t)bi.network_difficulty, "window_n",
	    (json_int_t)bi.window_n, "window_difficulty",
	    (json_int_t)res.window_difficulty, "fee_bps", (int)bi.fee_bps,
	    "reward", known ? json_integer((json_int_t)res.reward) : json_null(),
	    "fee", known ? json_integer((json_int_t)res.fee) : json_null(),
	    "found_at", (json_int_t)bi.found_at);
	parts = json_array();
	for (i = 0; i < res.nparts; i++)
		json_array_append_new(parts, json_pack("{ss sI sI so}",
		    "worker_id", res.parts[i].worker_id, "difficulty",
		    (json_int_t)res.parts[i].difficulty, "shares",
		    (json_int_t)res.parts[i].shares, "amount", known ?
		    json_integer((json_int_t)res.parts[i].amount) : json_null()));
	json_object_set_new(o, "payouts", parts);
	pplns_result_free(&res);
	return o;
}

static int
cmd_payouts(struct ledger_reader *r)
{
	int64_t ids[1000];
	uint64_t reward, *rp = NULL;
	json_t *all = json_array(), *b;
	char *end;
	int n, i, rc = 0;

	if (opt_reward != NULL) {
		errno = 0;
		reward = strtoull(opt_reward, &end, 10);
		if (errno || *end || end == opt_reward || *opt_reward == '-' ||
		    reward > INT64_MAX) {
			fprintf(stderr, "coopmine-cli: --reward: not an amount in "
			    "atomic units up to %" PRId64 ": %s\n", INT64_MAX,
			    opt_reward);
			json_decref(all);
			return EXIT_USAGE;
		}
		rp = &reward;
	}
	if (opt_block > 0) {
		ids[0] = opt_block;
		n = 1;
	} else if ((n = ledger_read_last_blocks(r, opt_last > 0 ?
	    (int)opt_last : 10, ids, 1000)) < 0) {
		json_decref(all);
		return EXIT_FAILURE_IO;
	}
	for (i = n - 1; i >= 0; i--) {
		if ((b = payout_json(r, ids[i], rp)) == NULL) {
			rc = EXIT_FAILURE_IO;
			continue;
		}
		json_array_append_new(all, b);
	}
	if (strcmp(opt_format, "json") == 0) {
		json_dumpf(all, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		int csv = strcmp(opt_format, "csv") == 0;
		size_t bi, pi;
		json_t *p;

		if (csv)
			printf("block_id,height,status,reward,kind,worker_id,"
			    "difficulty,shares,amount\n");
		json_array_foreach(all, bi, b) {
			json_t *reward_j = json_object_get(b, "reward");
			json_t *fee_j = json_object_get(b, "fee");
			char rs[32] = "", fs[32] = "";

			if (!json_is_null(reward_j))
				snprintf(rs, sizeof(rs), "%" JSON_INTEGER_FORMAT,
				    json_integer_value(reward_j));
			if (!json_is_null(fee_j))
				snprintf(fs, sizeof(fs), "%" JSON_INTEGER_FORMAT,
				    json_integer_value(fee_j));
			if (csv)
				printf("%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT
				    ",%s,%s,fee,,,,%s\n",
				    json_integer_value(json_object_get(b, "block_id")),
				    json_integer_value(json_object_get(b, "height")),
				    json_string_value(json_object_get(b, "status")),
				    rs, fs);
			else
				printf("block %" JSON_INTEGER_FORMAT " height %"
				    JSON_INTEGER_FORMAT " %s reward %s window %"
				    JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
				    " fee %d bps: %s\n",
				    json_integer_value(json_object_get(b, "block_id")),
				    json_integer_value(json_object_get(b, "height")),
				    json_string_value(json_object_get(b, "status")),
				    *rs ? rs : "unknown (give --reward)",
				    json_integer_value(json_object_get(b,
				    "window_difficulty")),
				    json_integer_value(json_object_get(b, "window_n")),
				    (int)json_integer_value(json_object_get(b,
				    "fee_bps")), *fs ? fs : "-");
			json_array_foreach(json_object_get(b, "payouts"), pi, p) {
				json_t *a = json_object_get(p, "amount");
				char as[32] = "";

				if (!json_is_null(a))
					snprintf(as, sizeof(as), "%"
					    JSON_INTEGER_FORMAT,
					    json_integer_value(a));
				if (csv)
					printf("%" JSON_INTEGER_FORMAT ",%"
					    JSON_INTEGER_FORMAT ",%s,%s,worker,"
					    "%s,%" JSON_INTEGER_FORMAT ",%"
					    JSON_INTEGER_FORMAT ",%s\n",
					    json_integer_value(json_object_get(b,
					    "block_id")),
					    json_integer_value(json_object_get(b,
					    "height")),
					    json_string_value(json_object_get(b,
					    "status")), rs,
					    json_string_value(json_object_get(p,
					    "worker_id")),
					    json_integer_value(json_object_get(p,
					    "difficulty")),
					    json_integer_value(json_object_get(p,
					    "shares")), as);
				else
					printf("  %-32s difficulty %-14"
					    JSON_INTEGER_FORMAT " shares %-8"
					    JSON_INTEGER_FORMAT " amount %s\n",
					    json_string_value(json_object_get(p,
					    "worker_id")),
					    json_integer_value(json_object_get(p,
					    "difficulty")),
					    json_integer_value(json_object_get(p,
					    "shares")), *as ? as : "-");
			}
		}
		if (!csv && json_array_size(all) == 0)
			printf("no blocks (pool income: coopmine-cli income, "
			    "balances, payouts --explain ID)\n");
	}
	json_decref(all);
	return rc;
}

static void
report_violation(void *arg, const char *v)
{
	int *n = arg;

	(*n)++;
	printf("VIOLATION %s\n", v);
}

/* Epoch ms as UTC ISO 8601. */
static void
fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" PRId64 " ms", ms);
}

/* Says which share ranges retention rolled up, and whether each one's
 * rollups still equal what it held (the checks below prove it too). */
static void
audit_ranges(struct ledger_reader *r)
{
	struct ledger_rollup_range *v;
	char a[32], b[32];
	size_t n, i;

	if (ledger_read_rollup_ranges(r, &v, &n) != 0 || n == 0)
		return;
	for (i = 0; i < n; i++) {
		fmt_time(v[i].first_created_at, a, sizeof(a));
		fmt_time(v[i].last_created_at, b, sizeof(b));
		printf("rolled up: range %" PRId64 ": shares %" PRId64 "..%" PRId64
		    " created %s .. %s: %" PRIu64 " valid, %" PRIu64 " invalid, "
		    "difficulty %" PRIu64 ", %" PRIu64 " workers, in %" PRIu64
		    " rollup rows: %s\n", v[i].id, v[i].first_share_id,
		    v[i].last_share_id, a, b, v[i].shares_valid,
		    v[i].shares_invalid, v[i].difficulty_sum, v[i].workers,
		    v[i].rows, v[i].matches && v[i].done ? "aggregates equal "
		    "what was deleted" : "DIFFERS (see the violations)");
	}
	free(v);
}

static int
cmd_audit(struct ledger_reader *r)
{
	int n = 0, rc;

	audit_ranges(r);
	rc = ledger_audit(r, report_violation, &n);

	if (rc < 0) {
		fprintf(stderr, "coopmine-cli: audit could not run: %s\n",
		    strerror(-rc));
		return EXIT_FAILURE_IO;
	}
	if (rc > 0) {
		printf("audit: %d violation%s\n", rc, rc == 1 ? "" : "s");
		return EXIT_VIOLATIONS;
	}
	printf("audit: ok\n");
	return 0;
}

static void
money_opts(struct cli_money_opts *mo)
{
	memset(mo, 0, sizeof(*mo));
	mo->db = opt_db;
	mo->format = opt_format;
	mo->amount = opt_amount;
	mo->at = opt_at;
	mo->ref = opt_ref;
	mo->source = opt_source;
	mo->note = opt_note;
	mo->owner = opt_owner;
	mo->address = opt_address;
	mo->from = opt_from;
	mo->block = opt_block;
	mo->limit = opt_limit;
	mo->coin_decimals = (int)opt_decimals;
	mo->rules.scheme = (enum money_scheme)money_scheme_parse(opt_scheme);
	mo->rules.window_factor_milli = (uint64_t)(opt_window_factor * 1000.0 +
	    0.5);
	mo->rules.window_abs = (uint64_t)opt_window_abs;
	mo->rules.fee_bps = (unsigned)opt_fee_bps;
	mo->rules.fee_owner = opt_fee_owner;
}

static int
is_money_read(const char *cmd)
{
	return strcmp(cmd, "balances") == 0 || strcmp(cmd, "owners") == 0 ||
	    strcmp(cmd, "income") == 0;
}

int
main(int argc, char **argv)
{
	char err[512], **cargv, *pos[NPOS];
	const char *cmd = NULL, *file = NULL, *arg3 = NULL;
	struct cli_money_opts mo;
	struct ledger_reader *r;
	enum log_level lvl;
	int64_t since = 0;
	int i, cargc = 1, npos = 0, rc;

	/* the command and its words are positional; the rest goes to conf */
	if ((cargv = calloc((size_t)argc + 1, sizeof(*cargv))) == NULL)
		return EXIT_FAILURE_IO;
	cargv[0] = argv[0];
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			cargv[cargc++] = argv[i];
			if (is_value_opt(argv[i]) && i + 1 < argc)
				cargv[cargc++] = argv[++i];
		} else if (cmd == NULL)
			cmd = argv[i];
		else if (npos < NPOS)
			pos[npos++] = argv[i];
		else
			cargv[cargc++] = argv[i];	/* conf refuses it */
	}
	log_init("coopmine-cli", LOG_LVL_WARN, 0);
	rc = conf_load(&spec, cargc, cargv, err, sizeof(err));
	free(cargv);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "coopmine-cli: %s\n", err);
		conf_free(&spec);
		return rc > 0 ? 0 : EXIT_USAGE;
	}
	if (log_level_parse(opt_log_level, &lvl) == 0)
		log_set_level(lvl);
	rc = EXIT_USAGE;
	if (cmd == NULL) {
		fprintf(stderr, "coopmine-cli: no command (payouts, workers, "
		    "shares, audit, backup FILE, export, income, owners, pay, "
		    "balances); --help for options\n");
		goto out;
	}
	if (strcmp(opt_format, "text") != 0 && strcmp(opt_format, "csv") != 0 &&
	    strcmp(opt_format, "json") != 0) {
		fprintf(stderr, "coopmine-cli: --format: text, csv or json, not "
		    "%s\n", opt_format);
		goto out;
	}
	if (money_scheme_parse(opt_scheme) < 0) {
		fprintf(stderr, "coopmine-cli: [pplns] scheme: pplns or prop, not "
		    "%s\n", opt_scheme);
		goto out;
	}
	if (parse_since(opt_since, &since) != 0) {
		fprintf(stderr, "coopmine-cli: --since: epoch ms or an age like "
		    "1h, not %s\n", opt_since);
		goto out;
	}
	money_opts(&mo);
	if (strcmp(cmd, "income") == 0 || strcmp(cmd, "owners") == 0 ||
	    strcmp(cmd, "pay") == 0 || (strcmp(cmd, "workers") == 0 &&
	    npos > 0 && strcmp(pos[0], "assign") == 0)) {
		if ((rc = cli_money_write(&mo, cmd, pos, npos)) >= 0)
			goto out;
		npos = 0;
	}
	file = npos > 0 ? pos[0] : NULL;
	arg3 = npos > 1 ? pos[1] : NULL;
	if (strcmp(cmd, "workers") != 0 && (npos > 1 || (npos == 1 &&
	    strcmp(cmd, "backup") != 0))) {
		fprintf(stderr, "coopmine-cli: unexpected argument %s\n",
		    pos[npos - 1]);
		rc = EXIT_USAGE;
		goto out;
	}
	if (npos > 2) {
		fprintf(stderr, "coopmine-cli: unexpected argument %s\n",
		    pos[npos - 1]);
		rc = EXIT_USAGE;
		goto out;
	}
	if (strcmp(cmd, "backup") == 0 && file == NULL) {
		fprintf(stderr, "coopmine-cli: backup needs a destination FILE\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (strcmp(cmd, "backup") == 0) {
		if (ledger_backup(opt_db, file, err, sizeof(err)) != 0) {
			fprintf(stderr, "coopmine-cli: %s\n", err);
			rc = EXIT_FAILURE_IO;
		} else {
			printf("backup of %s written to %s\n", opt_db, file);
			rc = 0;
		}
		goto out;
	}
	if ((r = ledger_reader_open(opt_db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "coopmine-cli: %s\n", err);
		rc = EXIT_FAILURE_IO;
		goto out;
	}
	rc = EXIT_USAGE;
	if (strcmp(cmd, "payouts") == 0 && opt_explain > 0)
		rc = cli_money_explain(r, &mo, opt_explain);
	else if (strcmp(cmd, "payouts") == 0)
		rc = cmd_payouts(r);
	else if (is_money_read(cmd))
		rc = cli_money_read(r, &mo, cmd);
	else if (strcmp(cmd, "workers") == 0 && file != NULL)
		rc = cmd_workers_access(r, file, arg3);
	else if (strcmp(cmd, "workers") == 0)
		rc = emit(workers_json(r), opt_format);
	else if (strcmp(cmd, "shares") == 0)
		rc = emit(shares_json(r, since, opt_worker, (int)opt_limit),
		    opt_format);
	else if (strcmp(cmd, "audit") == 0)
		rc = cmd_audit(r);
	else if (strcmp(cmd, "export") == 0) {
		if ((rc = ledger_export_csv(r, opt_what, since, stdout)) != 0) {
			fprintf(stderr, "coopmine-cli: export %s: %s\n", opt_what,
			    rc == -EINVAL ? "what: shares or payouts" :
			    strerror(-rc));
			rc = rc == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_IO;
		}
	} else
		fprintf(stderr, "coopmine-cli: unknown command %s\n", cmd);
	ledger_reader_close(r);
out:
	conf_free(&spec);
	return rc;
}
