/*
 * fuzz_stratum_line.c: libFuzzer harness for the pool client's input path:
 * bytes from a pool -> stratum_linebuf framing -> stratum_parse_line (both
 * coins, with and without nicehash) -> the request builders fed with what
 * was parsed.  The same production code stratum.c runs.  Built with
 * --enable-fuzz (clang); replay.c runs the committed corpus in every build.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "coordinator/stratum_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
use_msg(const struct stratum_msg *m)
{
	static const uint8_t nonce[4], res[32];
	char out[1024];

	stratum_map_error(m->error);
	if (m->has_job)
		stratum_build_submit(out, sizeof(out), 1,
		    m->session[0] != '\0' ? m->session : "s", m->job.job_id, nonce,
		    res);
	if (m->session[0] != '\0')
		stratum_build_keepalived(out, sizeof(out), 2, m->session);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stratum_linebuf lb;
	static struct stratum_msg m;
	size_t off = 0, chunk, avail, len;
	char *dst, *line;
	int rc;

	if (lb.buf == NULL && stratum_linebuf_init(&lb) != 0)
		return 0;
	stratum_linebuf_reset(&lb);
	/* The first byte picks the read size, as the network would split. */
	chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	while (off < size) {
		dst = stratum_linebuf_space(&lb, &avail);
		if (avail == 0)
			break;
		len = size - off < chunk ? size - off : chunk;
		if (len > avail)
			len = avail;
		memcpy(dst, data + off, len);
		stratum_linebuf_commit(&lb, len);
		off += len;
		while ((rc = stratum_linebuf_next(&lb, &line, &len)) == 1) {
			stratum_parse_line(line, len, UPSTREAM_COIN_OPENSY, 0, &m);
			use_msg(&m);
			stratum_parse_line(line, len, UPSTREAM_COIN_MONERO, 1, &m);
			use_msg(&m);
		}
		if (rc < 0)
			break;
	}
	return 0;
}
