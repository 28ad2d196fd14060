/*
 * fdlimit.c: the file-descriptor limit raised to the hard limit at start
 * (see fdlimit.h).  Every worker connection costs the coordinator one
 * descriptor, so the soft default (1024 on most systems) would be the
 * cluster's size limit.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>

#include "common/fdlimit.h"
#include "common/log.h"

static const char *
lim_str(rlim_t v, char *buf, size_t len)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%" PRIu64, (uint64_t)v);
	return buf;
}

int64_t
fdlimit_raise(const char *who)
{
	struct rlimit rl;
	rlim_t before;
	char a[32], b[32];

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("%s: cannot read the file descriptor limit", who);
		return -1;
	}
	before = rl.rlim_cur;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("%s: cannot raise the file descriptor limit from "
			    "%s to the hard limit %s", who,
			    lim_str(before, a, sizeof(a)),
			    lim_str(rl.rlim_max, b, sizeof(b)));
			return before == RLIM_INFINITY ? INT64_MAX : (int64_t)before;
		}
		log_info("%s: file descriptor limit raised from %s to the hard "
		    "limit %s", who, lim_str(before, a, sizeof(a)),
		    lim_str(rl.rlim_max, b, sizeof(b)));
	} else {
		log_info("%s: file descriptor limit %s (already the hard limit)",
		    who, lim_str(before, a, sizeof(a)));
	}
	return rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur;
}
