/*
 * tap.h: a minimal TAP producer for the C unit tests, run by automake's
 * tap-driver.  ok() records one assertion; tap_done() prints the plan.
 */
#ifndef COOPMINE_TAP_H
#define COOPMINE_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do {						\
	int ok_c_ = (cond) ? 1 : 0;					\
	tap_n++;							\
	if (!ok_c_)							\
		tap_failed++;						\
	printf("%s %d - ", ok_c_ ? "ok" : "not ok", tap_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_c_)							\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	fflush(stdout);							\
} while (0)

#define tap_skip_all(why) do { printf("1..0 # SKIP %s\n", why); return 0; } while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed == 0 ? 0 : 1;
}

#endif
