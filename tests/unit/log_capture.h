/*
 * log_capture.h: the worker's unit tests check its log lines; stderr goes
 * to a temporary file between log_capture() and log_release(), and
 * log_count() counts the lines that hold a text.
 */
#ifndef COOPMINE_TEST_LOG_CAPTURE_H
#define COOPMINE_TEST_LOG_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char log_capture_path[] = "/tmp/coopmine-test-log.XXXXXX";
static int log_capture_saved = -1;

static void
log_capture(void)
{
	int fd = mkstemp(log_capture_path);

	log_capture_saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Lines of the captured log that hold needle. */
static int
log_count(const char *needle)
{
	FILE *f = fopen(log_capture_path, "r");
	char line[1024];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* stderr back, the file gone. */
static void
log_release(void)
{
	dup2(log_capture_saved, 2);
	close(log_capture_saved);
	unlink(log_capture_path);
}

#endif
