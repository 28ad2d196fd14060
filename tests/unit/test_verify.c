/* test_verify: the verification pool recomputes real OpenSY block hashes
 * (tests/data/opensy-regtest.json) across a seed change, calls back once per
 * share, pushes back when its queue is full, and reports its figures. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/hex.h"
#include "coordinator/verify.h"
#include "tap.h"

#define MAXJ 16

static struct verify_job jobs[MAXJ];
static uint8_t want[MAXJ][32];
static atomic_int done_count;

static void
on_done(struct verify_job *vj, void *arg)
{
	atomic_fetch_add(&done_count, 1);
}

static int
wait_done(int n)
{
	for (int i = 0; i < 600 && atomic_load(&done_count) < n; i++)
		usleep(100000);
	return atomic_load(&done_count) == n;
}

int
main(void)
{
	const char *src = getenv("COOPMINE_SRCDIR");
	char path[4096];
	json_error_t jerr;
	json_t *v, *b;
	size_t i, n = 0;
	struct verifier *ver;
	struct verify_stats st;
	enum verify_mode m;
	int all_match = 1, rc;

	ok(verify_mode_parse("light", &m) == 0 && m == VERIFY_LIGHT &&
	    verify_mode_parse("full", &m) == 0 && verify_mode_parse("none", &m) == 0 &&
	    verify_mode_parse("fast", &m) == -1, "mode names");
	snprintf(path, sizeof(path), "%s/tests/data/opensy-regtest.json", src ? src : ".");
	v = json_load_file(path, 0, &jerr);
	ok(v != NULL, "vectors load");
	if (v == NULL)
		return tap_done();

	ver = verifier_new(VERIFY_LIGHT, 2, 64);
	ok(ver != NULL, "light pool with two threads");
	json_array_foreach(json_object_get(v, "blocks"), i, b) {
		struct verify_job *vj = &jobs[n];
		if (n == MAXJ)
			break;
		hex_decode_exact(json_string_value(json_object_get(b, "key_hex_internal")),
		    vj->seed, 32);
		vj->seed_len = 32;
		hex_decode_exact(json_string_value(json_object_get(b, "header")),
		    vj->input, 80);
		vj->input_len = 80;
		hex_decode_exact(json_string_value(json_object_get(b, "pow_hash_raw")),
		    want[n], 32);
		vj->done = on_done;
		n++;
	}
	verifier_prepare(ver, jobs[0].seed, 32);
	for (i = 0; i < n; i++)
		verifier_submit(ver, &jobs[i]);
	ok(wait_done((int)n), "all %zu shares called back", n);
	for (i = 0; i < n; i++)
		if (jobs[i].status != 0 || memcmp(jobs[i].hash, want[i], 32) != 0)
			all_match = 0;
	ok(all_match, "every recomputed hash equals the node's, across seed changes");
	verifier_get_stats(ver, &st);
	ok(st.verified == n && st.failed == 0 && st.hash_ms > 0 && st.capacity > 0,
	    "stats: %llu verified, %.1f ms/hash, capacity %.0f H/s, p99 %.0f ms",
	    (unsigned long long)st.verified, st.hash_ms, st.capacity, st.latency_p99_ms);
	verifier_free(ver);

	/* Back-pressure: one thread, a queue of 2; the first job blocks in a
	 * context build, so the queue fills. */
	atomic_store(&done_count, 0);
	ver = verifier_new(VERIFY_LIGHT, 1, 2);
	rc = 0;
	for (i = 0; i < 6; i++) {
		jobs[i].status = 1;
		if (verifier_submit(ver, &jobs[i]) == -2)
			rc++;
	}
	ok(rc > 0, "a full queue refuses (%d of 6 refused): the caller tells the "
	    "worker to retry", rc);
	verifier_free(ver);
	ok(atomic_load(&done_count) == 6 - rc, "stopping hashes what was queued");

	ver = verifier_new(VERIFY_NONE, 1, 2);
	ok(ver != NULL && verifier_submit(ver, &jobs[0]) == -1,
	    "mode none hashes nothing");
	verifier_free(ver);
	json_decref(v);
	return tap_done();
}
