/* test_conf: precedence (default < file < env < flag), lists, durations,
 * bounds, and the errors a user sees for bad values and unknown keys. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "tap.h"

static char *addr, *password, *token;
static int64_t threads, hb;
static int insecure;
static double ratio;
static struct conf_list pools;

static const struct conf_opt opts[] = {
	{ "pool", "address", "pool-address", "COOPMINE_TEST_POOL_ADDRESS", CONF_STR,
	  &addr, "stratum+tcp://127.0.0.1:3333", 0, 0, 0, "pool" },
	{ "pool", "password", "pool-password", NULL, CONF_STR, &password, "x", 0, 0,
	  1, "password" },
	{ "mining", "threads", "threads", "COOPMINE_TEST_THREADS", CONF_INT, &threads,
	  "2", 1, 256, 0, "threads" },
	{ "grpc", "heartbeat_interval", "heartbeat-interval", NULL, CONF_DURATION,
	  &hb, "30s", 100, 3600000, 0, "heartbeat" },
	{ "grpc", "insecure", "insecure", NULL, CONF_BOOL, &insecure, "false", 0, 0,
	  0, "plaintext" },
	{ "vardiff", "ratio", "ratio", NULL, CONF_DOUBLE, &ratio, "0.5", 0, 1, 0, "r" },
	{ "pool", "backup", "pool-backup", NULL, CONF_LIST, &pools, NULL, 0, 0, 0, "b" },
	{ "dashboard", "token", "token", NULL, CONF_STR, &token, NULL, 0, 0, 1,
	  "unset by default" },
};
static const struct conf_spec spec = { "test", "a test", opts,
	sizeof(opts) / sizeof(opts[0]) };

static int
load(const char *file, int argc, char **argv, char *err, size_t errlen)
{
	char *args[16];
	int n = 0;

	conf_free(&spec);
	args[n++] = "test";
	if (file != NULL) {
		args[n++] = "--config";
		args[n++] = (char *)file;
	}
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	return conf_load(&spec, n, args, err, errlen);
}

static const char *
write_file(const char *text)
{
	static const char tmpl[] = "/tmp/coopmine-test-conf-XXXXXX";
	static char path[sizeof(tmpl)];
	int fd;

	memcpy(path, tmpl, sizeof(tmpl));
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

int
main(void)
{
	char err[512];
	const char *f;

	unsetenv("COOPMINE_CONFIG");
	unsetenv("COOPMINE_TEST_POOL_ADDRESS");
	unsetenv("COOPMINE_TEST_THREADS");
	ok(load(NULL, 0, NULL, err, sizeof(err)) == 0, "defaults load");
	ok(strcmp(addr, "stratum+tcp://127.0.0.1:3333") == 0 && threads == 2 &&
	    hb == 30000 && !insecure && ratio == 0.5 && pools.n == 0, "default values");

	/* The sample file shows a key unset by default as "token =": left
	 * so, it stays unset; a key with a default may still be emptied. */
	f = write_file("[dashboard]\ntoken =\n[pool]\naddress =\n");
	ok(load(f, 0, NULL, err, sizeof(err)) == 0 && token == NULL &&
	    addr != NULL && addr[0] == '\0',
	    "an empty value leaves an unset key unset, empties one with a default");
	unlink(f);

	f = write_file("[pool]\naddress = stratum+ssl://a:1\nbackup = b:1, c:2\n"
	    "backup = d:3\n[mining]\nthreads = 8\n[grpc]\nheartbeat_interval = 5m\n"
	    "insecure = yes\n");
	ok(load(f, 0, NULL, err, sizeof(err)) == 0, "file loads: %s", err);
	ok(strcmp(addr, "stratum+ssl://a:1") == 0 && threads == 8 && hb == 300000 &&
	    insecure, "file overrides defaults");
	ok(pools.n == 3 && strcmp(pools.items[2], "d:3") == 0,
	    "list: commas and a repeated key append (%zu)", pools.n);

	setenv("COOPMINE_TEST_THREADS", "4", 1);
	ok(load(f, 0, NULL, err, sizeof(err)) == 0 && threads == 4,
	    "environment overrides the file");
	{
		char *argv[] = { "--threads", "6", "--pool-backup", "x:1",
		    "--pool-backup=y:2", "--insecure=false" };
		ok(load(f, 6, argv, err, sizeof(err)) == 0 && threads == 6,
		    "flag overrides the environment");
		ok(pools.n == 2 && strcmp(pools.items[0], "x:1") == 0,
		    "flags replace the file's list and append among themselves");
		ok(!insecure, "--insecure=false");
	}
	unsetenv("COOPMINE_TEST_THREADS");
	unlink(f);

	{
		char *argv[] = { "--threads", "0" };
		ok(load(NULL, 2, argv, err, sizeof(err)) == -1 &&
		    strstr(err, "[mining] threads") != NULL && strstr(err, "outside") != NULL,
		    "out of range names the key: %s", err);
	}
	{
		char *argv[] = { "--threads", "four" };
		ok(load(NULL, 2, argv, err, sizeof(err)) == -1 &&
		    strstr(err, "not a whole number") != NULL, "not a number: %s", err);
	}
	{
		char *argv[] = { "--heartbeat-interval", "soon" };
		ok(load(NULL, 2, argv, err, sizeof(err)) == -1 &&
		    strstr(err, "duration") != NULL, "bad duration: %s", err);
	}
	{
		char *argv[] = { "--no-such-flag" };
		ok(load(NULL, 1, argv, err, sizeof(err)) == -1 &&
		    strstr(err, "unknown option") != NULL, "unknown flag: %s", err);
	}
	{
		char *argv[] = { "stray" };
		ok(load(NULL, 1, argv, err, sizeof(err)) == -1 &&
		    strstr(err, "unexpected argument") != NULL, "stray argument: %s", err);
	}
	f = write_file("[pool]\nadress = typo\n");
	ok(load(f, 0, NULL, err, sizeof(err)) == -1 &&
	    strstr(err, "unknown key 'adress' in section [pool]") != NULL &&
	    strstr(err, "line 2") != NULL, "unknown key names line and key: %s", err);
	unlink(f);
	f = write_file("[pool\naddress = x\n");
	ok(load(f, 0, NULL, err, sizeof(err)) == -1 && strstr(err, "syntax") != NULL,
	    "syntax error: %s", err);
	unlink(f);
	ok(load("/nonexistent/coopmine.ini", 0, NULL, err, sizeof(err)) == -1 &&
	    strstr(err, "No such file") != NULL, "missing file: %s", err);
	setenv("COOPMINE_TEST_THREADS", "999", 1);
	ok(load(NULL, 0, NULL, err, sizeof(err)) == -1 &&
	    strstr(err, "COOPMINE_TEST_THREADS") != NULL, "bad env names the variable: %s",
	    err);
	unsetenv("COOPMINE_TEST_THREADS");
	ok(conf_parse_duration("250ms") == 250 && conf_parse_duration("1.5s") == 1500 &&
	    conf_parse_duration("2h") == 7200000 &&
	    conf_parse_duration("7d") == 604800000 && conf_parse_duration("-1s") == -1 &&
	    conf_parse_duration("5x") == -1, "durations");
	conf_free(&spec);
	return tap_done();
}
