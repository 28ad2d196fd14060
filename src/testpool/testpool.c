/*
 * testpool.c: coopmine-testpool's main: configuration (flags, COOPMINE_
 * TESTPOOL_* environment, [testpool] INI section), signals, and the JSON
 * summary of what the pool saw (accepted/rejected per reason and per
 * login), written on SIGUSR1 and at exit so tests can compare it with what
 * the coordinator believes.  SIGHUP finds a block now (a clean job), so
 * tests can make jobs stale when they need to.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/conf.h"
#include "common/log.h"
#include "testpool/testpool.h"

#define SHARES_LISTED 10000	/* the summary lists at most this many shares */

struct tp_stats {
	json_t *by_reason;	/* verdict -> count */
	json_t *logins;		/* login -> {accepted, rejected, logins, refused} */
	json_t *shares;		/* [{login, job_id, nonce, verdict, block}] */
	uint64_t accepted, rejected, blocks, connections, logins_ok,
	    logins_refused, jobs;
	int64_t height;
};

struct tp_stats *
tp_stats_new(void)
{
	struct tp_stats *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->by_reason = json_object();
	st->logins = json_object();
	st->shares = json_array();
	return st;
}

void
tp_stats_free(struct tp_stats *st)
{
	if (st == NULL)
		return;
	json_decref(st->by_reason);
	json_decref(st->logins);
	json_decref(st->shares);
	free(st);
}

static void
bump(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(json_is_integer(v) ?
	    json_integer_value(v) + 1 : 1));
}

static json_t *
login_entry(struct tp_stats *st, const char *login)
{
	json_t *e = json_object_get(st->logins, login);

	if (e == NULL) {
		e = json_pack("{s:i, s:i, s:i, s:i}", "accepted", 0, "rejected", 0,
		    "logins", 0, "refused", 0);
		json_object_set_new(st->logins, login, e);
	}
	return e;
}

void
tp_stats_share(struct tp_stats *st, const char *login, const char *job_id,
    const char *nonce_hex, const char *verdict, int is_block)
{
	int ok = strcmp(verdict, "accepted") == 0;

	if (ok)
		st->accepted++;
	else {
		st->rejected++;
		bump(st->by_reason, verdict);
	}
	if (is_block)
		st->blocks++;
	bump(login_entry(st, login), ok ? "accepted" : "rejected");
	if (json_array_size(st->shares) < SHARES_LISTED)
		json_array_append_new(st->shares, json_pack("{s:s, s:s, s:s, s:s, s:b}",
		    "login", login, "job_id", job_id, "nonce", nonce_hex,
		    "verdict", verdict, "block", is_block));
}

void
tp_stats_login(struct tp_stats *st, const char *login, int ok)
{
	if (ok)
		st->logins_ok++;
	else
		st->logins_refused++;
	bump(login_entry(st, login), ok ? "logins" : "refused");
}

void
tp_stats_connection(struct tp_stats *st)
{
	st->connections++;
}

void
tp_stats_job(struct tp_stats *st, int64_t height)
{
	st->jobs++;
	st->height = height;
}

void
tp_stats_dump(struct tp_stats *st, const char *path)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:O, s:O, s:I, s:I, s:I, s:I, s:I, "
	    "s:O}", "accepted", (json_int_t)st->accepted, "rejected",
	    (json_int_t)st->rejected, "blocks", (json_int_t)st->blocks,
	    "rejected_by_reason", st->by_reason, "logins", st->logins,
	    "connections", (json_int_t)st->connections, "logins_ok",
	    (json_int_t)st->logins_ok, "logins_refused",
	    (json_int_t)st->logins_refused, "jobs", (json_int_t)st->jobs,
	    "height", (json_int_t)st->height, "shares", st->shares);
	char tmp[4096];

	if (o == NULL)
		return;
	if (path == NULL || *path == '\0') {
		json_dumpf(o, stderr, JSON_COMPACT);
		fputc('\n', stderr);
	} else {
		/* Write then rename, so a reader never sees half a summary. */
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if (json_dump_file(o, tmp, JSON_INDENT(1)) != 0 ||
		    rename(tmp, path) != 0)
			log_warn("testpool: cannot write the summary to %s", path);
	}
	json_decref(o);
}

static struct tp_options o;

static const struct conf_opt opts[] = {
	{ "testpool", "listen", "listen", "COOPMINE_TESTPOOL_LISTEN", CONF_STR,
	  &o.listen, "127.0.0.1:3333", 0, 0, 0,
	  "address:port to serve Stratum on (port 0: any free port)" },
	{ "testpool", "tls_cert", "tls-cert", "COOPMINE_TESTPOOL_TLS_CERT",
	  CONF_STR, &o.tls_cert, NULL, 0, 0, 0, "PEM certificate: serve TLS" },
	{ "testpool", "tls_key", "tls-key", "COOPMINE_TESTPOOL_TLS_KEY", CONF_STR,
	  &o.tls_key, NULL, 0, 0, 0, "PEM private key for --tls-cert" },
	{ "testpool", "coin", "coin", "COOPMINE_TESTPOOL_COIN", CONF_STR, &o.coin,
	  "opensy", 0, 0, 0, "opensy (80-byte headers) or monero (blobs, nonce at 39)" },
	{ "testpool", "difficulty", "difficulty", "COOPMINE_TESTPOOL_DIFFICULTY",
	  CONF_INT, &o.difficulty, "1000", 1, 1e15, 0, "share difficulty" },
	{ "testpool", "compact_target", "compact-target", NULL, CONF_BOOL,
	  &o.compact_target, "false", 0, 0, 0, "send 4-byte targets" },
	{ "testpool", "height", "height", NULL, CONF_INT, &o.height, "1000", 1,
	  1e12, 0, "starting block height" },
	{ "testpool", "nbits", "nbits", NULL, CONF_STR, &o.nbits, "1e00ffff", 0,
	  0, 0, "network target (compact, hex) written into headers" },
	{ "testpool", "chain_seed", "chain-seed", NULL, CONF_STR, &o.chain_seed,
	  "coopmine-testpool", 0, 0, 0, "derives the simulated block hashes" },
	{ "testpool", "job_interval", "job-interval", NULL, CONF_DURATION,
	  &o.job_interval, "30s", 50, 86400000, 0, "send a new job this often" },
	{ "testpool", "block_interval", "block-interval", NULL, CONF_DURATION,
	  &o.block_interval, "2m", 0, 86400000, 0,
	  "advance the height (clean job) this often; 0: only on a found block" },
	{ "testpool", "verify_threads", "verify-threads", NULL, CONF_INT,
	  &o.verify_threads, "1", 1, 64, 0, "RandomX (light mode) verifiers" },
	{ "testpool", "nicehash", "nicehash", NULL, CONF_BOOL, &o.nicehash,
	  "false", 0, 0, 0, "reserve the nonce's top byte per session" },
	{ "testpool", "password", "password", "COOPMINE_TESTPOOL_PASSWORD",
	  CONF_STR, &o.password, NULL, 0, 0, 1, "require this login password" },
	{ "testpool", "summary_file", "summary-file", NULL, CONF_STR,
	  &o.summary_file, NULL, 0, 0, 0,
	  "JSON summary on SIGUSR1 and exit (default: stderr)" },
	{ "testpool", "log_level", "log-level", "COOPMINE_LOG_LEVEL", CONF_STR,
	  &o.log_level, "info", 0, 0, 0, "error|warn|info|debug" },
	{ "testpool", "max_clients", "max-clients", NULL, CONF_INT,
	  &o.max_clients, "4096", 1, 100000, 0, "connections served at once" },
	{ "faults", "drop_after", "drop-after", NULL, CONF_DURATION,
	  &o.drop_after, "0", 0, 0, 0, "drop each connection this long after login" },
	{ "faults", "reject_fraction", "reject-fraction", NULL, CONF_DOUBLE,
	  &o.reject_fraction, "0", 0, 1, 0, "reject this fraction of valid shares" },
	{ "faults", "stall_after", "stall-after", NULL, CONF_DURATION,
	  &o.stall_after, "0", 0, 0, 0,
	  "stop answering this long after start (SIGUSR2 toggles too)" },
	{ "faults", "garbage", "garbage", NULL, CONF_BOOL, &o.garbage, "false", 0,
	  0, 0, "send a garbage line after every job" },
	{ "faults", "oversize_line", "oversize-line", NULL, CONF_BOOL,
	  &o.oversize_line, "false", 0, 0, 0, "send a 70 KB line after login" },
	{ "faults", "refuse_login", "refuse-login", NULL, CONF_BOOL,
	  &o.refuse_login, "false", 0, 0, 0, "refuse every login" },
};

static const struct conf_spec spec = {
	"coopmine-testpool",
	"a Stratum pool for tests and demos: OpenSY-style jobs, shares checked "
	"with RandomX",
	opts, sizeof(opts) / sizeof(opts[0])
};

static volatile sig_atomic_t sig_stop, sig_dump, sig_stall, sig_block;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		sig_dump = 1;
	else if (sig == SIGUSR2)
		sig_stall = 1;
	else if (sig == SIGHUP)
		sig_block = 1;
	else
		sig_stop = 1;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	struct tp_stats *st;
	enum log_level lvl = LOG_LVL_INFO;
	char err[512];
	int rc;

	log_init("coopmine-testpool", LOG_LVL_INFO, 0);
	rc = conf_load(&spec, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "coopmine-testpool: %s\n", err);
		conf_free(&spec);
		return rc < 0 ? 2 : 0;
	}
	if (log_level_parse(o.log_level, &lvl) != 0) {
		fprintf(stderr, "coopmine-testpool: --log-level %s: use error, warn, "
		    "info or debug\n", o.log_level);
		conf_free(&spec);
		return 2;
	}
	log_set_level(lvl);
	if (strcmp(o.coin, "opensy") != 0 && strcmp(o.coin, "monero") != 0) {
		fprintf(stderr, "coopmine-testpool: --coin %s: use opensy or monero\n",
		    o.coin);
		conf_free(&spec);
		return 2;
	}
	conf_log(&spec);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if ((st = tp_stats_new()) == NULL) {
		conf_free(&spec);
		return 1;
	}
	/* Signals only set flags; the server loop (100 ms poll) acts on them. */
	rc = tp_server_run(&o, st, &sig_stop, &sig_dump, &sig_stall, &sig_block);
	tp_stats_dump(st, o.summary_file);
	tp_stats_free(st);
	conf_free(&spec);
	log_info("testpool: stopped");
	return rc == 0 ? 0 : 1;
}
