/* test_registry: the one table of workers: register, beats, the one live
 * stream (a newer one replaces and cancels the older), offline after 3
 * missed intervals, verdict counters, status callbacks, bounds, commands
 * that are never lost, quarantine, revocation, verification admission. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "coordinator/registry.h"
#include "coordinator/rpc_server.h"
#include "tap.h"

/* Stand-ins for the gRPC streams the registry holds (this test links no
 * server): a reference count and whether it was cancelled. */
struct rpc_stream {
	int refs, cancelled;
};

void
rpc_stream_ref(struct rpc_stream *s)
{
	s->refs++;
}

void
rpc_stream_unref(struct rpc_stream *s)
{
	s->refs--;
}

void
rpc_stream_cancel(struct rpc_stream *s, const char *why)
{
	(void)why;
	s->cancelled++;
}

static int access_events;
static enum registry_deny last_access;

static void
on_access(void *arg, const char *id, enum registry_deny state,
    const char *reason, int64_t at)
{
	(void)arg;
	(void)id;
	(void)reason;
	(void)at;
	access_events++;
	last_access = state;
}

static int events, last_online;
static enum registry_reason last_why;

static void
on_status(void *arg, const char *id, int online, enum registry_reason why)
{
	(void)arg;
	(void)id;
	events++;
	last_online = online;
	last_why = why;
}

int
main(void)
{
	struct registry *r = registry_new(1000, 3);
	struct registry_beat beat = { .hashrate = 100, .hashes_total = 5 };
	struct registry_worker w, *all;
	struct registry_totals t;
	enum worker_command cmd;
	struct rpc_stream s1 = { 0, 0 }, s2 = { 0, 0 }, s3 = { 0, 0 }, *old;
	size_t n;

	registry_set_status_cb(r, on_status, NULL);
	ok(registry_register(r, "", "x", 1, "", "", "", 0) == -EINVAL, "empty id refused");
	ok(registry_register(r, "w1", "one", 4, "0.1", "linux", "x86_64", 1000) == 0,
	    "register w1");
	ok(events == 1 && last_online && last_why == REGISTRY_REGISTERED,
	    "status callback: online, registered");
	ok(registry_heartbeat(r, "w1", &beat, 1500, &cmd) == 0 && cmd == WORKER_CMD_NONE,
	    "heartbeat recorded");
	ok(registry_heartbeat(r, "nobody", &beat, 1500, &cmd) == -ENOENT,
	    "heartbeat from an unknown worker: -ENOENT");
	registry_get(r, "w1", &w);
	ok(w.online && strcmp(w.status, "online") == 0 && w.hashrate == 100 &&
	    w.threads == 4 && w.last_seen == 1500, "row reflects register + beat");

	ok(registry_sweep(r, 1500 + 2999) == 0, "not offline before 3 intervals");
	ok(registry_sweep(r, 1500 + 3001) == 1, "offline after 3 missed intervals");
	registry_get(r, "w1", &w);
	ok(!w.online && w.hashrate == 0 && last_why == REGISTRY_TIMED_OUT,
	    "timed out: offline, hashrate 0, reason timed out");
	registry_heartbeat(r, "w1", &beat, 5000, &cmd);
	registry_get(r, "w1", &w);
	ok(w.online && last_why == REGISTRY_HEARD, "a late heartbeat brings it back");

	ok(registry_stream_open(r, "w1", &s1, 5100, &old) == 0 && old == NULL &&
	    s1.refs == 1, "stream open: the registry holds a reference");
	ok(registry_stream_open(r, "w1", &s2, 5100, &old) == 0 && old == &s1 &&
	    s2.refs == 1, "a second stream replaces the first, handed back to "
	    "cancel");
	rpc_stream_unref(old);
	ok(registry_stream_get(r, "w1") == &s2 && s2.refs == 2,
	    "the live stream is the newer one");
	rpc_stream_unref(&s2);
	ok(registry_stream_close(r, "w1", &s1, 5200) == 0, "the replaced stream "
	    "ends: not the live one");
	registry_get(r, "w1", &w);
	ok(w.online && w.streams == 1, "replaced stream closed: still online");
	ok(registry_stream_close(r, "w1", &s2, 5300) == 1 && s2.refs == 0,
	    "live stream closed: its reference dropped");
	registry_get(r, "w1", &w);
	ok(!w.online && w.reason == REGISTRY_STREAM_CLOSED, "last stream closed: offline at once");
	registry_heartbeat(r, "w1", &beat, 5400, &cmd);
	registry_get(r, "w1", &w);
	ok(!w.online, "a heartbeat alone does not revive a worker whose stream was lost");
	ok(registry_stream_open(r, "w1", &s3, 5500, &old) == 0 && old == NULL,
	    "stream reopened");
	registry_get(r, "w1", &w);
	ok(w.online, "reopened stream: online");

	registry_record_share(r, "w1", 1, 0, 0, 6000);
	registry_record_share(r, "w1", 0, 0, 0, 6100);
	registry_record_share(r, "w1", 1, 1, 0, 10000);
	registry_record_share(r, "w1", 1, 1, 0, 20000);
	registry_set_job(r, "w1", "job-7");
	registry_get(r, "w1", &w);
	ok(w.shares_valid == 3 && w.shares_invalid == 1 && w.blocks == 2 &&
	    w.last_share_at == 20000 && strcmp(w.current_job_id, "job-7") == 0,
	    "verdicts and current job counted per worker");
	registry_totals(r, &t);
	ok(t.shares_valid == 3 && t.shares_invalid == 1 && t.blocks_found == 2 &&
	    t.last_block_time == 20000 && t.avg_block_time == 10.0,
	    "cluster totals: shares, blocks, average block time");

	ok(registry_pause(r, "w1", 1) == 0, "operator pause");
	ok(registry_pause(r, "w1", 1) == -EALREADY, "pausing twice: -EALREADY");
	registry_set_cluster_paused(r, 1);	/* the same heartbeat: no pool */
	registry_heartbeat(r, "w1", &beat, 21000, &cmd);
	ok(cmd == WORKER_CMD_PAUSE, "pause delivered on the next heartbeat");
	registry_heartbeat(r, "w1", &beat, 21100, &cmd);
	ok(cmd == WORKER_CMD_NONE, "and only once");
	registry_set_cluster_paused(r, 0);	/* the pool is back ... */
	registry_heartbeat(r, "w1", &beat, 21150, &cmd);
	ok(cmd == WORKER_CMD_NONE, "... but the operator's pause still holds: "
	    "no resume");
	ok(registry_pause(r, "w1", 0) == 0, "operator resumes");
	registry_heartbeat(r, "w1", &beat, 21160, &cmd);
	ok(cmd == WORKER_CMD_RESUME, "resume delivered");
	ok(registry_kick(r, "w1") == 0, "kick queued");
	registry_heartbeat(r, "w1", &beat, 21170, &cmd);
	ok(cmd == WORKER_CMD_SHUTDOWN, "shutdown delivered");
	{
		struct registry_beat bad = beat;
		bad.hashrate = INFINITY;
		registry_heartbeat(r, "w1", &bad, 21180, &cmd);
		registry_totals(r, &t);
		ok(isfinite(t.total_hashrate) && t.total_hashrate == 0,
		    "an infinite hashrate is not believed (%g)", t.total_hashrate);
		bad.hashrate = NAN;
		registry_heartbeat(r, "w1", &bad, 21190, &cmd);
		registry_totals(r, &t);
		ok(isfinite(t.total_hashrate), "nor a NaN");
		registry_heartbeat(r, "w1", &beat, 21195, &cmd);
	}

	ok(registry_register(r, "w2", NULL, 1, NULL, NULL, NULL, 22000) == 0, "register w2");
	registry_get(r, "w2", &w);
	ok(strcmp(w.name, "w2") == 0, "name defaults to the id");
	ok(registry_register(r, "w3", "", 1, "", "", "", 22000) == 0, "register w3");
	ok(registry_register(r, "w4", "", 1, "", "", "", 22000) == -ENOSPC,
	    "table bound: -ENOSPC");
	ok(registry_unregister(r, "w3", 22100) == 0, "unregister w3");
	ok(registry_heartbeat(r, "w3", &beat, 22200, &cmd) == -ESRCH,
	    "heartbeat after unregister: -ESRCH");
	ok(registry_stream_open(r, "w3", &s1, 22200, &old) == -ESRCH,
	    "stream after unregister: -ESRCH");

	registry_totals(r, &t);
	ok(t.workers_total == 3 && t.workers_online == 2 && t.total_hashrate == 100,
	    "totals: 3 known, 2 online, hashrate of online ones");
	ok(registry_list(r, &all, &n) == 0 && n == 3 && strcmp(all[0].id, "w1") == 0 &&
	    strcmp(all[2].id, "w3") == 0 && !all[2].online, "list sorted by id");
	free(all);
	registry_free(r);
	ok(s3.refs == 0, "registry_free drops the stream references it held");

	/* After a restart: workers and counters from the ledger. */
	{
		struct registry *rr = registry_new(1000, 10);
		enum worker_command c2;
		ok(registry_restore(rr, "old", "old rig", 8, "0.1", 40, 2, 100, 900) == 0,
		    "restore a worker from the ledger");
		registry_get(rr, "old", &w);
		ok(!w.online && w.shares_valid == 40 && w.shares_invalid == 2 &&
		    w.threads == 8 && strcmp(w.name, "old rig") == 0 && w.last_seen == 900,
		    "restored: offline, with its counters");
		ok(registry_heartbeat(rr, "old", &beat, 2000, &c2) == -ESRCH,
		    "a restored worker must Register before it beats");
		registry_register(rr, "old", "", 8, "0.2", "", "", 3000);
		registry_get(rr, "old", &w);
		ok(w.online && w.shares_valid == 40 && strcmp(w.name, "old rig") == 0,
		    "registering again keeps its counters and name");
		registry_restore_totals(rr, 40, 2, 3, 777);
		registry_totals(rr, &t);
		ok(t.shares_valid == 40 && t.shares_invalid == 2 && t.blocks_found == 3 &&
		    t.last_block_time == 777, "cluster totals continue");
		ok(registry_restore(rr, "", "", 0, "", 0, 0, 0, 0) == -EINVAL,
		    "an empty id is refused");
		registry_free(rr);
	}

	/* Threads claimed by a worker are bounded; a 64-byte CN is an id. */
	{
		struct registry *rt = registry_new(1000, 10);
		char id64[65];

		memset(id64, 'a', 64);
		id64[64] = '\0';
		ok(registry_register(rt, id64, "", 2147483647, "", "", "", 1000) == 0,
		    "a 64-character id registers");
		registry_get(rt, id64, &w);
		ok(strcmp(w.id, id64) == 0 && w.threads == REGISTRY_THREADS_MAX,
		    "its id is whole and 2^31-1 threads are clamped to %d (%d)",
		    REGISTRY_THREADS_MAX, w.threads);
		ok(registry_register(rt, "x", "", -5, "", "", "", 1000) == 0 &&
		    registry_get(rt, "x", &w) == 0 && w.threads == 1,
		    "negative threads become 1");
		id64[0] = 'b';
		{
			char id65[66];
			snprintf(id65, sizeof(id65), "%sc", id64);
			ok(registry_register(rt, id65, "", 1, "", "", "", 1000) ==
			    -EINVAL, "a 65-character id is refused");
		}
		registry_free(rt);
	}

	/* Quarantine by invalid shares, revocation, lifting both. */
	{
		struct registry *rq = registry_new(1000, 10);
		struct registry_limits lim = { .max_invalid = 3, .window_ms = 60000,
		    .rate = 2, .burst = 4, .inflight_max = 8 };
		struct rpc_stream sq = { 0, 0 };
		char why[160];
		int admitted = 0;

		registry_set_limits(rq, &lim);
		registry_set_access_cb(rq, on_access, NULL);
		registry_register(rq, "bad", "", 1, "", "", "", 1000);
		registry_register(rq, "good", "", 1, "", "", "", 1000);
		registry_stream_open(rq, "bad", &sq, 1000, &old);
		for (int i = 0; i < 3; i++)
			registry_record_share(rq, "bad", 0, 0, 1, 2000 + i);
		ok(registry_access(rq, "bad", why, sizeof(why)) == REGISTRY_ALLOWED,
		    "3 invalid shares: within the budget");
		registry_record_share(rq, "bad", 0, 0, 0, 2100);
		ok(registry_access(rq, "bad", NULL, 0) == REGISTRY_ALLOWED,
		    "a cheap rejection (stale, duplicate) does not count");
		registry_record_share(rq, "bad", 0, 0, 1, 2200);
		ok(registry_access(rq, "bad", why, sizeof(why)) ==
		    REGISTRY_QUARANTINED && strstr(why, "quarantined") != NULL,
		    "the 4th costly one quarantines it: %s", why);
		ok(access_events == 1 && last_access == REGISTRY_QUARANTINED,
		    "the quarantine is reported for the ledger");
		ok(sq.cancelled == 1 && sq.refs == 0, "its stream is cancelled and "
		    "released");
		registry_get(rq, "bad", &w);
		ok(!w.online && w.denied == REGISTRY_QUARANTINED, "it is offline");
		ok(registry_register(rq, "bad", "", 1, "", "", "", 3000) == -EACCES,
		    "a quarantined worker cannot register");
		ok(registry_access(rq, "good", NULL, 0) == REGISTRY_ALLOWED,
		    "the other worker is untouched");
		ok(registry_set_access(rq, "bad", REGISTRY_ALLOWED, "lifted", 4000) ==
		    0 && registry_register(rq, "bad", "", 1, "", "", "", 4000) == 0,
		    "the operator lifts it and it registers again");
		ok(registry_set_access(rq, "never-seen", REGISTRY_REVOKED, "stolen "
		    "key", 4100) == 0 && registry_access(rq, "never-seen", why,
		    sizeof(why)) == REGISTRY_REVOKED && strstr(why, "stolen key"),
		    "a name can be revoked before it ever connects: %s", why);
		ok(access_events == 1, "operator changes are not reported back");

		for (int i = 0; i < 10; i++)
			admitted += registry_verify_admit(rq, "good", 5000) == 0;
		ok(admitted == 4, "burst of 4: 4 of 10 shares admitted at once (%d)",
		    admitted);
		for (int i = 0; i < 4; i++)
			registry_verify_done(rq, "good");
		ok(registry_verify_admit(rq, "good", 5400) == -EAGAIN,
		    "0.4 s later at 2/s: no token yet");
		ok(registry_verify_admit(rq, "good", 5600) == 0,
		    "0.6 s later: one token");
		registry_free(rq);
	}

	/* Effective hashrate: credited difficulty per second over 1 m .. 24 h
	 * (a share credited now counts whole in every window); rejected
	 * verdicts are counted by reason, never credited; a restored span is
	 * spread over its minutes. */
	{
		struct registry *re = registry_new(1000, 10);
		int64_t now = clock_wall_ms();
		struct registry_beat b = { .hashrate = NAN, .hashrate_60s = -1,
			.hashrate_15m = 1e300, .cpu_usage = INFINITY,
			.huge_pages_used = 4000000000u, .threads_running = 99999,
			.rx_mode = "fu\x01ll", .huge_pages = "\xff\xfe" };

		registry_register(re, "e1", "", 1, "1\n2", "os\x1b", "", now);
		registry_register(re, "e2", "", 1, "", "", "", now);
		registry_credit(re, "e1", 0, 600, now);
		registry_credit(re, "e1", 5, 999, now);
		registry_get(re, "e1", &w);
		ok(fabs(w.effective[0] - 10.0) < 1e-9 && fabs(w.effective[1] - 1.0)
		    < 1e-9 && fabs(w.effective[4] - 600.0 / 86400) < 1e-12,
		    "effective 1 m %g, 10 m %g, 24 h %g H/s from 600 credited",
		    w.effective[0], w.effective[1], w.effective[4]);
		ok(w.by_reason[0] == 1 && w.by_reason[5] == 1 &&
		    w.credited_difficulty == 600, "verdicts by reason; only the "
		    "accepted one credited");
		ok(strcmp(w.version, "1?2") == 0 && strcmp(w.os, "os?") == 0,
		    "control characters in its text shown as '?'");
		registry_restore_credit(re, "e2", now - 86400000, now, 86400.0, now);
		registry_get(re, "e2", &w);
		ok(fabs(w.effective[2] - 1.0) < 0.02 && fabs(w.effective[4] - 1.0)
		    < 0.01, "a restored day of 1 H/s: 1 h %g, 24 h %g",
		    w.effective[2], w.effective[4]);
		registry_totals(re, &t);
		ok(fabs(t.effective[1] - w.effective[1] - 1.0) < 0.02,
		    "the cluster's windows sum the workers' (%g)", t.effective[1]);
		registry_beat_bound(&b);
		ok(b.hashrate == 0 && b.hashrate_60s == 0 &&
		    b.hashrate_15m == REGISTRY_HASHRATE_MAX && b.cpu_usage == 0 &&
		    b.huge_pages_used == REGISTRY_PAGES_MAX &&
		    b.threads_running == REGISTRY_THREADS_MAX &&
		    strcmp(b.rx_mode, "fu?ll") == 0 && strcmp(b.huge_pages, "??") == 0,
		    "a reported beat is bounded: NaN, negative, huge, binary text");
		registry_free(re);
	}

	/* Many workers: the id index survives growth. */
	{
		struct registry *big = registry_new(1000, 5000);
		char id[32];
		int found = 0;

		log_set_level(LOG_LVL_WARN);
		for (int i = 0; i < 3000; i++) {
			snprintf(id, sizeof(id), "worker-%d", i);
			registry_register(big, id, "", 1, "", "", "", 1000);
		}
		for (int i = 0; i < 3000; i++) {
			snprintf(id, sizeof(id), "worker-%d", i);
			found += registry_get(big, id, &w) == 0 && strcmp(w.id, id) == 0;
		}
		ok(found == 3000, "3000 workers registered and found (%d)", found);
		ok(registry_get(big, "worker-3000", &w) == -ENOENT, "a missing one is not found");
		registry_totals(big, &t);
		ok(t.workers_total == 3000 && t.workers_online == 3000, "3000 online");
		registry_free(big);
	}
	return tap_done();
}
