/*
 * dash_xmrig.c: /1/summary and /1/workers as xmrig-proxy shapes them (its
 * workers are positional arrays: that layout is theirs; our own API keeps
 * named fields).  Hashrates are the effective ones, credited difficulty
 * per second, which is what the proxy reports too.  Called by http.c.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/dash_xmrig.h"

/* The proxy shows two decimals and 0 for anything not normal. */
static double
norm(double d)
{
	if (!isnormal(d) || d < 0)
		return 0.0;
	return floor(d * 100.0) / 100.0;
}

static json_t *
windows(const double eff[DASH_EFF_WINDOWS])
{
	json_t *a = json_array();

	for (int i = 0; i < DASH_XMRIG_WINDOWS; i++)
		json_array_append_new(a, json_real(norm(eff[i])));
	return a;
}

static json_t *
hashrate(const struct dash_stats *st)
{
	return json_pack("{s:o}", "total", windows(st->effective));
}

/* Our resident set, from /proc (0 when unreadable). */
static unsigned long long
rss_bytes(void)
{
	unsigned long long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static json_t *
resources(void)
{
	double load[3] = { 0, 0, 0 };
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (getloadavg(load, 3) != 3)
		load[0] = load[1] = load[2] = 0;
	return json_pack("{s:{s:I, s:I}, s:[f, f, f], s:i}",
	    "memory",
	    "total", (json_int_t)(pages > 0 && psz > 0 ? pages * psz : 0),
	    "resident_set_memory", (json_int_t)rss_bytes(),
	    "load_average", load[0], load[1], load[2],
	    "hardware_concurrency", (int)(cpus > 0 ? cpus : 1));
}

/* Costly rejections (a hash spent on them) are the proxy's "invalid";
 * the rest (stale, duplicate, ...) its "rejected". */
static int
costly(const char *reason)
{
	return strcmp(reason, "bad_hash") == 0 ||
	    strcmp(reason, "low_difficulty") == 0 ||
	    strcmp(reason, "malformed") == 0;
}

static void
split_rejects(const struct dash_worker *w, unsigned long long *rejected,
    unsigned long long *invalid)
{
	*rejected = *invalid = 0;
	for (size_t i = 0; i < w->nrejections && i < DASH_REJECT_REASONS; i++) {
		if (costly(w->rejections[i].reason))
			*invalid += w->rejections[i].count;
		else
			*rejected += w->rejections[i].count;
	}
}

json_t *
dash_xmrig_summary(const struct dash_stats *st, const struct dash_worker *w,
    size_t n)
{
	unsigned long long hashes = 0, rej, inv, invalid = 0;
	int active = 0;
	json_t *best = json_array();
	double avg_time;

	for (size_t i = 0; i < n; i++) {
		hashes += w[i].credited;
		split_rejects(&w[i], &rej, &inv);
		invalid += inv;
	}
	for (size_t i = 0; i < st->nsessions && i < DASH_SESSIONS_MAX; i++)
		active += st->sessions[i].connected != 0;
	/* Not tracked here: the proxy's ten best share difficulties. */
	for (int i = 0; i < DASH_XMRIG_BEST; i++)
		json_array_append_new(best, json_integer(0));
	avg_time = st->upstream_accepted > 0 ? (double)st->uptime_ms / 1000.0 /
	    (double)st->upstream_accepted : 0;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:f,"
	    " s:o, s:o, s:{s:i, s:i}, s:i, s:{s:i, s:i, s:i, s:i, s:f},"
	    " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}}",
	    "id", st->cluster_id,
	    "worker_id", st->cluster_name,
	    "version", PACKAGE_VERSION,
	    "kind", "proxy",
	    "algo", "rx/0",
	    "mode", "nicehash",	/* each worker hashes its own nonce range */
	    "ua", "coopmine-coordinator/" PACKAGE_VERSION,
	    "uptime", (json_int_t)(st->uptime_ms / 1000),
	    "donate_level", 0,
	    "donated", 0.0,
	    "hashrate", hashrate(st),
	    "resources", resources(),
	    "miners",
	    "now", st->workers_online,
	    "max", st->workers_peak > st->workers_online ? st->workers_peak :
	    st->workers_online,
	    "workers", st->workers_total,
	    "upstreams",
	    "active", active,
	    "sleep", 0,
	    "error", (int)st->nsessions - active,
	    "total", (int)st->nsessions,
	    "ratio", norm(active > 0 ? (double)st->workers_online / active : 0),
	    "results",
	    "accepted", (json_int_t)st->upstream_accepted,
	    "rejected", (json_int_t)st->upstream_rejected,
	    "invalid", (json_int_t)invalid,
	    "expired", (json_int_t)0,
	    "avg_time", (json_int_t)avg_time,
	    "latency", (json_int_t)st->pool_latency_ms,
	    "hashes_total", (json_int_t)hashes,
	    "hashes_donate", (json_int_t)0,
	    "best", best);
}

/* "ipv4:127.0.0.1:5123" (gRPC's peer form) -> "127.0.0.1". */
static void
bare_ip(const char *peer, char *out, size_t len)
{
	const char *p = peer, *end;

	if (strncmp(p, "ipv4:", 5) == 0 || strncmp(p, "ipv6:", 5) == 0)
		p += 5;
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else {
		end = strrchr(p, ':');
	}
	if (end == NULL)
		end = p + strlen(p);
	snprintf(out, len, "%.*s", (int)(end - p), p);
}

json_t *
dash_xmrig_workers(const struct dash_stats *st, const struct dash_worker *w,
    size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		unsigned long long rej, inv;
		char ip[96];
		json_t *row, *win;

		split_rejects(&w[i], &rej, &inv);
		bare_ip(w[i].addr, ip, sizeof(ip));
		row = json_pack("[s, s, i, I, I, I, I, I]", w[i].id, ip,
		    strcmp(w[i].status, "offline") != 0 && w[i].streams > 0 ?
		    w[i].streams : 0, (json_int_t)w[i].accepted, (json_int_t)rej,
		    (json_int_t)inv, (json_int_t)w[i].credited,
		    (json_int_t)w[i].last_share_at);
		win = windows(w[i].effective);
		json_array_extend(row, win);
		json_decref(win);
		json_array_append_new(arr, row);
	}
	/* Workers are told apart by their certificate's name: the proxy's
	 * "rig_id" mode is the nearest of its modes. */
	return json_pack("{s:o, s:s, s:o}", "hashrate", hashrate(st), "mode",
	    "rig_id", "workers", arr);
}
