/*
 * fuzz_conf.c: libFuzzer harness for the configuration loader (conf.c):
 * conf_load with one option of every type, an INI file written from the
 * input, environment variables and command-line flags.  Input: fields
 * separated by NUL bytes; the first is the file, then each field is a
 * command-line argument, except "@<n><value>", which sets option n's
 * environment variable to value for this run.  Arguments starting "--c"
 * (--config and its abbreviations) are dropped: another file, such as
 * /dev/zero, would only fuzz the file system.  The file lives in /dev/shm
 * when there is one: on disk, writing it took most of the time.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32

static char *o_url, *o_pass;
static int64_t o_int, o_dur;
static double o_dbl;
static int o_bool, o_verbose;
static struct conf_list o_list;

static const struct conf_opt opts[] = {
	{ "pool", "url", "pool-url", "COOPMINE_FZ_URL", CONF_STR, &o_url,
	  "stratum+tcp://x:1", 0, 0, 0, "url" },
	{ "pool", "password", "password", "COOPMINE_FZ_PASS", CONF_STR, &o_pass,
	  NULL, 0, 0, 1, "secret" },
	{ "rpc", "port", "port", "COOPMINE_FZ_PORT", CONF_INT, &o_int, "7777",
	  1, 65535, 0, "port" },
	{ "jobs", "ratio", "ratio", "COOPMINE_FZ_RATIO", CONF_DOUBLE, &o_dbl,
	  "0.5", 0, 1, 0, "ratio" },
	{ "jobs", "timeout", "timeout", "COOPMINE_FZ_TIMEOUT", CONF_DURATION,
	  &o_dur, "30s", 0, 0, 0, "duration" },
	{ "log", "syslog", "syslog", "COOPMINE_FZ_SYSLOG", CONF_BOOL, &o_bool,
	  "no", 0, 0, 0, "flag" },
	{ "dashboard", "allowed_hosts", "allow", "COOPMINE_FZ_ALLOW", CONF_LIST,
	  &o_list, NULL, 0, 0, 0, "list" },
	{ NULL, NULL, "verbose", NULL, CONF_BOOL, &o_verbose, NULL, 0, 0, 0, "cli" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))
static const struct conf_spec spec = { "fuzz", "fuzz", opts, NOPTS };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], *copy, *p, *end, *argv[MAX_ARGS + 4], err[256];
	int fd, rc, argc = 0, setenvs[NOPTS] = { 0 };
	size_t n;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	n = strlen(copy);
	snprintf(path, sizeof(path), "%s/coopmine-fuzzconf.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		abort();
	if (write(fd, copy, n) != (ssize_t)n)
		abort();
	close(fd);
	argv[argc++] = "fuzz";
	argv[argc++] = "--config";
	argv[argc++] = path;
	for (p = copy + n + 1; p < end && argc < MAX_ARGS; p += strlen(p) + 1) {
		if (p[0] == '@' && p[1] != '\0') {
			size_t i = (unsigned char)p[1] % NOPTS;

			if (opts[i].env != NULL) {
				setenv(opts[i].env, p + 2, 1);
				setenvs[i] = 1;
			}
			continue;
		}
		if (strncmp(p, "--c", 3) != 0)
			argv[argc++] = p;
	}
	argv[argc] = NULL;
	rc = conf_load(&spec, argc, argv, err, sizeof(err));
	if (rc < 0 && memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	/* what a program is handed must be what its table allows */
	if (rc == 0 && (o_int < 1 || o_int > 65535 || !(o_dbl >= 0 &&
	    o_dbl <= 1) || o_dur < 0 || (o_bool != 0 && o_bool != 1) ||
	    (o_verbose != 0 && o_verbose != 1) || o_url == NULL ||
	    (o_list.n > 0 && o_list.items == NULL)))
		abort();
	conf_free(&spec);
	unlink(path);
	for (size_t i = 0; i < NOPTS; i++)
		if (setenvs[i])
			unsetenv(opts[i].env);
	free(copy);
	return 0;
}
