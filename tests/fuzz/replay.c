/*
 * replay.c: runs a fuzz harness over the files (or directories of files)
 * given on the command line, printing TAP.  Built in every configuration so
 * the harness always compiles and the committed corpus
 * (tests/fuzz/corpus/FUZZ_CORPUS, set per harness by tests/Makemodule.am)
 * is replayed by make check (under the sanitizers in the sanitizer build).
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
		if (f != NULL)
			fclose(f);
		printf("not ok %d - cannot read %s\n", ++n, path);
		return 1;
	}
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		printf("not ok %d - cannot read %s\n", ++n, path);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	printf("ok %d - %s\n", ++n, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t k = 0;
	int fail = 0;

	if (d == NULL) {
		printf("not ok %d - cannot open %s\n", ++n, dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		char **p;

		if (e->d_name[0] == '.')
			continue;
		if ((p = realloc(names, (k + 1) * sizeof(*p))) == NULL)
			break;
		names = p;
		names[k++] = strdup(e->d_name);
	}
	closedir(d);
	if (k == 0) {	/* a corpus that vanished must not pass as replayed */
		printf("not ok %d - %s holds no input\n", ++n, dir);
		free(names);
		return 1;
	}
	qsort(names, k, sizeof(*names), cmp);
	for (size_t i = 0; i < k; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fail |= run_file(path);
		free(names[i]);
	}
	free(names);
	return fail;
}

int
main(int argc, char **argv)
{
	const char *src = getenv("COOPMINE_SRCDIR");
	char def[4096];
	struct stat st;
	int fail = 0;

	if (argc < 2) {
		/* make check: the committed corpus of this harness */
		snprintf(def, sizeof(def), "%s/tests/fuzz/corpus/%s",
		    src != NULL ? src : ".", FUZZ_CORPUS);
		fail = run_dir(def);
	}
	for (int i = 1; i < argc; i++)
		fail |= stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ?
		    run_dir(argv[i]) : run_file(argv[i]);
	printf("1..%d\n", n);
	return fail;
}
