/* test_log: a log line is always one line.  Text a peer controls (a worker
 * id with %0A in a dashboard URL) goes through log_emit with its control
 * characters escaped, so it cannot forge a second line. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "tap.h"

static char logpath[] = "/tmp/coopmine-test-log.XXXXXX";

/* The file's content; *lines gets the count of '\n'. */
static char *
slurp(size_t *lines)
{
	static char buf[65536];
	FILE *f;
	size_t n, i;

	if ((f = fopen(logpath, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (*lines = 0, i = 0; i < n; i++)
		if (buf[i] == '\n')
			(*lines)++;
	return buf;
}

static void
test_escape(void)
{
	char out[64];
	size_t n;

	n = log_escape("a\nb\rc\td", out, sizeof(out));
	ok(strcmp(out, "a\\nb\\rc\\td") == 0 && n == strlen(out),
	    "newline, CR and tab become \\n, \\r, \\t (got \"%s\")", out);
	log_escape("x\x01y\x1b[31mz\x7f", out, sizeof(out));
	ok(strcmp(out, "x\\x01y\\x1b[31mz\\x7f") == 0,
	    "other C0 characters and DEL become \\xNN (got \"%s\")", out);
	log_escape("caf\xc3\xa9 \"q\" \\", out, sizeof(out));
	ok(strcmp(out, "caf\xc3\xa9 \"q\" \\") == 0,
	    "printable text and UTF-8 pass unchanged");
	n = log_escape("abc\n", out, 5);
	ok(strcmp(out, "abc") == 0 && n == 3,
	    "a cut falls between characters, never inside an escape");
	n = log_escape("\x01\x02", out, 6);
	ok(strcmp(out, "\\x01") == 0 && n == 4, "a cut keeps whole \\xNN escapes");
}

static void
test_emit(void)
{
	char big[5000];
	size_t lines = 0;
	char *text;
	int fd;

	if ((fd = mkstemp(logpath)) < 0) {
		ok(0, "mkstemp: %s", strerror(errno));
		return;
	}
	close(fd);
	log_init("test_log", LOG_LVL_INFO, 0);
	ok(log_reopen(logpath) == 0, "stderr goes to a temporary file");

	log_warnx("http: refused pause of worker %s: bad or missing token",
	    "evil\n2026-01-01T00:00:00.000Z coopmine-coordinator[1] info: "
	    "forged\r\x1b[2K");
	errno = EBADF;
	log_info("worker %s%c", "a\tb", 0x7f);
	ok(errno == EBADF, "errno survives a log call");
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);

	text = slurp(&lines);
	ok(text != NULL && lines == 3,
	    "three calls, three lines, whatever the messages held (%zu lines)",
	    lines);
	ok(text != NULL && strstr(text, "worker evil\\n2026-01-01T00:00:00.000Z "
	    "coopmine-coordinator[1] info: forged\\r\\x1b[2K: bad or missing "
	    "token\n") != NULL, "the forged line stays inside the real one");
	ok(text != NULL && strstr(text, "\ncoopmine") == NULL &&
	    strstr(text, "\n2026-01-01") == NULL,
	    "no line starts with the forged text");
	ok(text != NULL && strstr(text, "worker a\\tb\\x7f\n") != NULL,
	    "tab and DEL are escaped in place");
	ok(text != NULL && text[strlen(text) - 1] == '\n' &&
	    strstr(text, "info: \\n\\n\\n") != NULL,
	    "a message cut to the line's size still ends its line");
	unlink(logpath);
}

/* [log] format = json: one object a line, the message exactly as given
 * (quotes, backslashes, control characters escaped; bytes that are not
 * UTF-8 replaced), the component taken from a "word: " prefix. */
static void
test_json(void)
{
	char path[] = "/tmp/coopmine-test-logj.XXXXXX", out[64], line[4096];
	const char *msg = "q\"uote\\back\nnew\ttab\x01ctl\x7f \xc3\xa9 \xff end";
	json_t *j;
	FILE *f;
	int fd, n = 0, good = 0;

	ok(log_json_escape("a\"b\\c\n\x01\xc3\xa9\xff", out, sizeof(out)) > 0 &&
	    strcmp(out, "a\\\"b\\\\c\\n\\u0001\xc3\xa9\\ufffd") == 0,
	    "JSON escaping (%s)", out);
	ok(log_json_escape("\"\"\"", out, 5) == 4 && strcmp(out, "\\\"\\\"") == 0,
	    "never half an escape");
	if ((fd = mkstemp(path)) < 0) {
		ok(0, "mkstemp: %s", strerror(errno));
		return;
	}
	close(fd);
	ok(log_reopen(path) == 0, "stderr goes to a temporary file");
	log_set_format(LOG_FMT_JSON);
	log_info("http: worker %s", msg);
	log_warnx("SIGHUP: no component prefix");
	log_set_format(LOG_FMT_TEXT);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			json_error_t e;
			const char *m = NULL, *c = NULL, *l = NULL, *t = NULL;
			n++;
			if ((j = json_loads(line, 0, &e)) == NULL)
				continue;
			if (json_unpack(j, "{s:s, s:s, s:s, s:s}", "message", &m,
			    "component", &c, "level", &l, "time", &t) == 0) {
				char want[200];
				snprintf(want, sizeof(want), "worker %.*s\xef\xbf\xbd end",
				    (int)(strlen(msg) - 5), msg);
				if (n == 1 && strcmp(c, "http") == 0 &&
				    strcmp(l, "info") == 0 && strcmp(m, want) == 0)
					good++;
				if (n == 2 && strcmp(c, "test_log") == 0 &&
				    strcmp(l, "warn") == 0 &&
				    strcmp(m, "SIGHUP: no component prefix") == 0)
					good++;
			}
			json_decref(j);
		}
		fclose(f);
	}
	ok(n == 2 && good == 2, "two JSON lines, message, component and level "
	    "as logged (%d lines, %d right)", n, good);
	unlink(path);
}

int
main(void)
{
	test_escape();
	test_emit();
	test_json();
	return tap_done();
}
