/* test_registry: the worker table behind the stats RPCs: register, beats,
 * streams, offline after 3 missed intervals, verdict counters, status
 * callbacks, bounds. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "coordinator/registry.h"
#include "tap.h"

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
	enum registry_command cmd;
	size_t n;

	registry_set_status_cb(r, on_status, NULL);
	ok(registry_register(r, "", "x", 1, "", "", "", 0) == -EINVAL, "empty id refused");
	ok(registry_register(r, "w1", "one", 4, "0.1", "linux", "x86_64", 1000) == 0,
	    "register w1");
	ok(events == 1 && last_online && last_why == REGISTRY_REGISTERED,
	    "status callback: online, registered");
	ok(registry_heartbeat(r, "w1", &beat, 1500, &cmd) == 0 && cmd == REGISTRY_CMD_NONE,
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

	ok(registry_stream_open(r, "w1", 5100) == 0, "stream open");
	ok(registry_stream_open(r, "w1", 5100) == 0, "second stream open");
	registry_stream_close(r, "w1", 5200);
	registry_get(r, "w1", &w);
	ok(w.online && w.streams == 1, "one of two streams closed: still online");
	registry_stream_close(r, "w1", 5300);
	registry_get(r, "w1", &w);
	ok(!w.online && w.reason == REGISTRY_STREAM_CLOSED, "last stream closed: offline at once");
	registry_heartbeat(r, "w1", &beat, 5400, &cmd);
	registry_get(r, "w1", &w);
	ok(!w.online, "a heartbeat alone does not revive a worker whose stream was lost");
	ok(registry_stream_open(r, "w1", 5500) == 0, "stream reopened");
	registry_get(r, "w1", &w);
	ok(w.online, "reopened stream: online");

	registry_record_share(r, "w1", 1, 0, 6000);
	registry_record_share(r, "w1", 0, 0, 6100);
	registry_record_share(r, "w1", 1, 1, 10000);
	registry_record_share(r, "w1", 1, 1, 20000);
	registry_set_job(r, "w1", "job-7");
	registry_get(r, "w1", &w);
	ok(w.shares_valid == 3 && w.shares_invalid == 1 && w.blocks == 2 &&
	    w.last_share_at == 20000 && strcmp(w.current_job_id, "job-7") == 0,
	    "verdicts and current job counted per worker");
	registry_totals(r, &t);
	ok(t.shares_valid == 3 && t.shares_invalid == 1 && t.blocks_found == 2 &&
	    t.last_block_time == 20000 && t.avg_block_time == 10.0,
	    "cluster totals: shares, blocks, average block time");

	ok(registry_set_command(r, "w1", REGISTRY_CMD_PAUSE) == 0, "command queued");
	registry_heartbeat(r, "w1", &beat, 21000, &cmd);
	ok(cmd == REGISTRY_CMD_PAUSE, "command delivered on the next heartbeat");
	registry_heartbeat(r, "w1", &beat, 21100, &cmd);
	ok(cmd == REGISTRY_CMD_NONE, "and only once");

	ok(registry_register(r, "w2", NULL, 1, NULL, NULL, NULL, 22000) == 0, "register w2");
	registry_get(r, "w2", &w);
	ok(strcmp(w.name, "w2") == 0, "name defaults to the id");
	ok(registry_register(r, "w3", "", 1, "", "", "", 22000) == 0, "register w3");
	ok(registry_register(r, "w4", "", 1, "", "", "", 22000) == -ENOSPC,
	    "table bound: -ENOSPC");
	ok(registry_unregister(r, "w3", 22100) == 0, "unregister w3");
	ok(registry_heartbeat(r, "w3", &beat, 22200, &cmd) == -ESRCH,
	    "heartbeat after unregister: -ESRCH");
	ok(registry_stream_open(r, "w3", 22200) == -ESRCH,
	    "stream after unregister: -ESRCH");

	registry_totals(r, &t);
	ok(t.workers_total == 3 && t.workers_online == 2 && t.total_hashrate == 100,
	    "totals: 3 known, 2 online, hashrate of online ones");
	ok(registry_list(r, &all, &n) == 0 && n == 3 && strcmp(all[0].id, "w1") == 0 &&
	    strcmp(all[2].id, "w3") == 0 && !all[2].online, "list sorted by id");
	free(all);
	registry_free(r);

	/* After a restart: workers and counters from the ledger. */
	{
		struct registry *rr = registry_new(1000, 10);
		enum registry_command c2;
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
