/* test_stratum_proto: the pure Stratum functions the pool client runs on
 * every byte from a pool: line framing, job decoding (targets in both
 * forms, hex lengths, nonce offset against blob length, nicehash byte),
 * responses, error mapping, request lines, URLs and pins. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/target.h"
#include "coordinator/stratum_proto.h"
#include "tap.h"

#define SEED "0102030405060708091011121314151617181920212223242526272829303132"

static char blob80[161], blob76[153];

static char *
job_line(const char *id, const char *blob, const char *target, const char *seed,
    const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "{\"jsonrpc\":\"2.0\",\"method\":\"job\","
	    "\"params\":{\"job_id\":\"%s\",\"blob\":\"%s\",\"target\":\"%s\","
	    "\"seed_hash\":\"%s\"%s}}", id, blob, target, seed, extra);
	return buf;
}

static enum stratum_msg_type
parse(const char *line, enum upstream_coin coin, int nh, struct stratum_msg *m)
{
	return stratum_parse_line(line, strlen(line), coin, nh, m);
}

static void
test_jobs(void)
{
	struct stratum_msg m;
	char bad[200];

	ok(parse(job_line("j1", blob80, "e8030000", SEED, ",\"height\":1234,\"algo\":\"rx/0\""),
	    UPSTREAM_COIN_OPENSY, 0, &m) == STRATUM_MSG_JOB && m.has_job,
	    "an opensy job parses: %s", m.err);
	ok(m.job.blob_len == 80 && m.job.nonce_offset == 76 && m.job.height == 1234 &&
	    strcmp(m.job.job_id, "j1") == 0 && strcmp(m.job.algo, "rx/0") == 0 &&
	    m.job.seed_hash[0] == 0x01 && m.job.seed_hash[31] == 0x32,
	    "fields: blob, offset 76, height, id, algo, seed bytes");
	/* 4-byte target 0x3e8 = 1000 -> as xmrig widens it */
	ok(m.job.target == UINT64_MAX / (0xFFFFFFFFULL / 1000) &&
	    m.job.difficulty == 4294967, "4-byte target widened, difficulty %llu",
	    (unsigned long long)m.job.difficulty);
	parse(job_line("j2", blob80, "0000000000000010", SEED, ""),
	    UPSTREAM_COIN_OPENSY, 0, &m);
	ok(m.has_job && m.job.target == 0x1000000000000000ULL &&
	    m.job.difficulty == 16 && m.job.height == -1,
	    "8-byte target, difficulty 16, no height -> -1");
	parse(job_line("j3", blob80, "00000010", SEED, ""), UPSTREAM_COIN_OPENSY, 0,
	    &m);
	/* xmrig: 0xffffffff / 0x10000000 = 15 in integers, so difficulty 15 */
	ok(m.has_job && m.job.difficulty == 15, "4-byte 0x10000000: difficulty 15 "
	    "(as xmrig computes it)");

	parse(job_line("j", blob80, "e803", SEED, ""), UPSTREAM_COIN_OPENSY, 0, &m);
	ok(m.type == STRATUM_MSG_JOB && !m.has_job && m.job_error &&
	    strstr(m.err, "target") != NULL, "2-byte target refused: %s", m.err);
	parse(job_line("j", blob80, "000000000000000000", SEED, ""),
	    UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.has_job, "9-byte target refused");
	parse(job_line("j", blob80, "00000000", SEED, ""), UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.has_job, "zero target refused");
	parse(job_line("j", blob80, "e8030000", "0102", ""), UPSTREAM_COIN_OPENSY, 0,
	    &m);
	ok(!m.has_job && strstr(m.err, "seed_hash") != NULL,
	    "short seed hash refused");
	parse(job_line("j", blob80, "e8030000", SEED "00", ""), UPSTREAM_COIN_OPENSY,
	    0, &m);
	ok(!m.has_job, "long seed hash refused");
	snprintf(bad, sizeof(bad), "%.159s", blob80);
	parse(job_line("j", bad, "e8030000", SEED, ""), UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.has_job && strstr(m.err, "blob") != NULL, "odd-length blob refused");
	snprintf(bad, sizeof(bad), "%.156szz", blob80);
	parse(job_line("j", bad, "e8030000", SEED, ""), UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.has_job, "non-hex blob refused");

	/* nonce offset against blob length */
	parse(job_line("j", blob76, "e8030000", SEED, ""), UPSTREAM_COIN_OPENSY, 0,
	    &m);
	ok(!m.has_job && strstr(m.err, "80 bytes") != NULL,
	    "opensy pool, 76-byte blob: refused (%s)", m.err);
	parse(job_line("j", blob80, "e8030000", SEED, ""), UPSTREAM_COIN_MONERO, 0,
	    &m);
	ok(!m.has_job && strstr(m.err, "monero") != NULL,
	    "monero pool, 80-byte header: refused, not guessed");
	parse(job_line("j", blob76, "e8030000", SEED, ""), UPSTREAM_COIN_MONERO, 0,
	    &m);
	ok(m.has_job && m.job.nonce_offset == 39 && m.job.blob_len == 76,
	    "monero blob: nonce at 39");
	parse(job_line("j", "0011223344", "e8030000", SEED, ""), UPSTREAM_COIN_MONERO,
	    0, &m);
	ok(!m.has_job, "monero blob too short for a nonce at 39: refused");

	/* nicehash: the pool owns blob[offset + 3] */
	parse(job_line("j", blob76, "e8030000", SEED, ""), UPSTREAM_COIN_MONERO, 1,
	    &m);
	ok(m.has_job && m.job.nicehash && m.job.nicehash_byte == 0x2a,
	    "nicehash byte taken from blob[42] (0x%02x)", m.job.nicehash_byte);
	parse(job_line("j", blob80, "e8030000", SEED, ""), UPSTREAM_COIN_OPENSY, 0,
	    &m);
	ok(m.has_job && !m.job.nicehash, "no nicehash unless the pool says so");

	parse(job_line("j", blob80, "e8030000", SEED, ",\"algo\":\"cn/r\""),
	    UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.has_job && strstr(m.err, "rx/0") != NULL, "other algorithms refused");
	parse(job_line("j", blob80, "e8030000", SEED, ",\"height\":\"12\""),
	    UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.has_job, "height as a string refused");
	parse(job_line("a b", blob80, "e8030000", SEED, ""), UPSTREAM_COIN_OPENSY, 0,
	    &m);
	ok(!m.has_job, "job id with a space refused");
	parse("{\"method\":\"job\",\"params\":{\"job_id\":5,\"blob\":7}}",
	    UPSTREAM_COIN_OPENSY, 0, &m);
	ok(m.type == STRATUM_MSG_JOB && !m.has_job, "wrong types in a job refused");
	parse("{\"method\":\"job\",\"params\":[]}", UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.has_job, "job params not an object refused");
}

static void
test_responses(void)
{
	struct stratum_msg m;
	char line[2048];

	snprintf(line, sizeof(line), "{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"id\":\"sess-1\",\"job\":{\"job_id\":\"7\",\"blob\":\"%s\","
	    "\"target\":\"b88d0600\",\"seed_hash\":\"%s\",\"height\":5},"
	    "\"extensions\":[\"algo\",\"nicehash\",\"keepalive\"],\"status\":\"OK\"}}",
	    blob76, SEED);
	ok(parse(line, UPSTREAM_COIN_MONERO, 0, &m) == STRATUM_MSG_RESPONSE &&
	    m.id == 1 && !m.is_error && strcmp(m.session, "sess-1") == 0 &&
	    strcmp(m.status, "OK") == 0, "login result: id, session, status");
	ok(m.has_job && m.ext_nicehash && m.ext_keepalive && m.job.nicehash,
	    "login result: job and extensions (nicehash applies to the job)");
	parse("{\"id\":4,\"jsonrpc\":\"2.0\",\"error\":{\"code\":-1,\"message\":"
	    "\"Low difficulty share\"}}", UPSTREAM_COIN_OPENSY, 0, &m);
	ok(m.type == STRATUM_MSG_RESPONSE && m.is_error && m.error_code == -1 &&
	    strcmp(m.error, "Low difficulty share") == 0, "error object");
	parse("{\"id\":5,\"result\":{\"status\":\"KEEPALIVED\"}}",
	    UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.is_error && strcmp(m.status, "KEEPALIVED") == 0, "keepalived answer");
	parse("{\"id\":6,\"result\":true}", UPSTREAM_COIN_OPENSY, 0, &m);
	ok(!m.is_error, "result true is success");
	parse("{\"id\":6,\"error\":\"nope\"}", UPSTREAM_COIN_OPENSY, 0, &m);
	ok(m.is_error && strcmp(m.error, "nope") == 0, "error as a bare string");
	ok(parse("{\"id\":\"x\",\"result\":{}}", UPSTREAM_COIN_OPENSY, 0, &m) ==
	    STRATUM_MSG_INVALID, "string id: invalid");
	ok(parse("{\"result\":{}}", UPSTREAM_COIN_OPENSY, 0, &m) ==
	    STRATUM_MSG_INVALID, "no id: invalid");
	ok(parse("[1,2]", UPSTREAM_COIN_OPENSY, 0, &m) == STRATUM_MSG_INVALID,
	    "array: invalid");
	ok(parse("not json", UPSTREAM_COIN_OPENSY, 0, &m) == STRATUM_MSG_INVALID &&
	    strstr(m.err, "JSON") != NULL, "not JSON: invalid, says why");
	ok(parse("{\"method\":42}", UPSTREAM_COIN_OPENSY, 0, &m) ==
	    STRATUM_MSG_INVALID, "numeric method: invalid");
	ok(parse("{\"method\":\"mining.notify\",\"params\":[]}",
	    UPSTREAM_COIN_OPENSY, 0, &m) == STRATUM_MSG_UNKNOWN &&
	    strcmp(m.method, "mining.notify") == 0, "unknown method named");
	ok(parse("{\"id\":1,\"id\":2}", UPSTREAM_COIN_OPENSY, 0, &m) ==
	    STRATUM_MSG_INVALID, "duplicate keys: invalid");
	ok(stratum_parse_line("{\"id\":1}\0garbage", 16, UPSTREAM_COIN_OPENSY, 0,
	    &m) == STRATUM_MSG_INVALID, "embedded NUL: invalid");
}

static void
test_errors(void)
{
	static const struct {
		const char *msg;
		enum upstream_reject r;
	} t[] = {
		{ "Low difficulty share", UPSTREAM_REJ_LOW_DIFF },
		{ "Duplicate share", UPSTREAM_REJ_DUPLICATE },
		{ "Invalid job id", UPSTREAM_REJ_INVALID_JOB },
		{ "Unauthenticated", UPSTREAM_REJ_UNAUTHENTICATED },
		{ "Block expired", UPSTREAM_REJ_STALE },
		{ "Invalid nonce; is miner not compatible with NiceHash?",
		  UPSTREAM_REJ_INVALID_NONCE },
		{ "Invalid share", UPSTREAM_REJ_BAD_HASH },
		{ "IP Address currently banned", UPSTREAM_REJ_BANNED },
		{ "LOW DIFFICULTY", UPSTREAM_REJ_LOW_DIFF },
		{ "Rejected by fault injection", UPSTREAM_REJ_OTHER },
		{ "", UPSTREAM_REJ_OTHER },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(stratum_map_error(t[i].msg) == t[i].r, "\"%s\" -> %s", t[i].msg,
		    upstream_reject_name(t[i].r));
	ok(stratum_map_error(NULL) == UPSTREAM_REJ_OTHER, "NULL -> other");
}

static void
test_builders(void)
{
	uint8_t nonce[4] = { 0xde, 0xad, 0xbe, 0xef }, res[32];
	char buf[1024];
	json_t *j;
	int n;

	memset(res, 0xab, sizeof(res));
	n = stratum_build_login(buf, sizeof(buf), 1, "WALLET.w1", "p\"w", NULL,
	    "rig");
	j = json_loads(buf, 0, NULL);
	ok(n > 0 && buf[n - 1] == '\n' && j != NULL, "login is one JSON line");
	ok(j != NULL && strcmp(json_string_value(json_object_get(j, "method")),
	    "login") == 0 && json_integer_value(json_object_get(j, "id")) == 1,
	    "login: method and id");
	{
		json_t *p = json_object_get(j, "params");

		ok(strcmp(json_string_value(json_object_get(p, "login")),
		    "WALLET.w1") == 0 &&
		    strcmp(json_string_value(json_object_get(p, "pass")), "p\"w") == 0 &&
		    strcmp(json_string_value(json_object_get(p, "rigid")), "rig") == 0 &&
		    strncmp(json_string_value(json_object_get(p, "agent")),
		    "coopmine/", 9) == 0 &&
		    strcmp(json_string_value(json_array_get(json_object_get(p,
		    "algo"), 0)), "rx/0") == 0,
		    "login params: login, pass (escaped), rigid, agent, algo [rx/0]");
	}
	json_decref(j);
	n = stratum_build_submit(buf, sizeof(buf), 9, "sess", "job-1", nonce, res);
	j = json_loads(buf, 0, NULL);
	{
		json_t *p = json_object_get(j, "params");

		ok(n > 0 && j != NULL &&
		    strcmp(json_string_value(json_object_get(p, "nonce")),
		    "deadbeef") == 0 &&
		    strlen(json_string_value(json_object_get(p, "result"))) == 64 &&
		    strcmp(json_string_value(json_object_get(p, "id")), "sess") == 0 &&
		    strcmp(json_string_value(json_object_get(p, "job_id")),
		    "job-1") == 0, "submit: session, job id, nonce hex, result hex");
	}
	json_decref(j);
	ok(stratum_build_submit(buf, 40, 9, "sess", "job-1", nonce, res) == -1,
	    "submit into a small buffer: -1, no overflow");
	ok(stratum_build_submit(buf, sizeof(buf), 9, "sess", "bad id", nonce, res) ==
	    -1, "submit with a malformed job id: -1");
	n = stratum_build_keepalived(buf, sizeof(buf), 3, "sess");
	ok(n > 0 && strstr(buf, "\"keepalived\"") != NULL, "keepalived");
}

static void
test_linebuf(void)
{
	struct stratum_linebuf lb;
	char *line, *dst;
	size_t len, avail;
	int rc;

	stratum_linebuf_init(&lb);
	dst = stratum_linebuf_space(&lb, &avail);
	memcpy(dst, "abc\r\nde", 7);
	stratum_linebuf_commit(&lb, 7);
	ok(stratum_linebuf_next(&lb, &line, &len) == 1 && len == 3 &&
	    strcmp(line, "abc") == 0, "CRLF stripped");
	ok(stratum_linebuf_next(&lb, &line, &len) == 0, "partial line waits");
	dst = stratum_linebuf_space(&lb, &avail);
	memcpy(dst, "f\n\n", 3);
	stratum_linebuf_commit(&lb, 3);
	ok(stratum_linebuf_next(&lb, &line, &len) == 1 && strcmp(line, "def") == 0,
	    "line completed across reads");
	ok(stratum_linebuf_next(&lb, &line, &len) == 1 && len == 0, "empty line");
	/* fill without a newline up to the limit */
	for (;;) {
		dst = stratum_linebuf_space(&lb, &avail);
		if (avail == 0)
			break;
		memset(dst, 'x', avail);
		stratum_linebuf_commit(&lb, avail);
	}
	rc = stratum_linebuf_next(&lb, &line, &len);
	ok(rc == -1, "a line of %d bytes without a newline: -1", STRATUM_LINE_MAX);
	stratum_linebuf_reset(&lb);
	dst = stratum_linebuf_space(&lb, &avail);
	memset(dst, 'y', STRATUM_LINE_MAX - 1);
	dst[STRATUM_LINE_MAX - 1] = '\n';
	stratum_linebuf_commit(&lb, STRATUM_LINE_MAX);
	ok(stratum_linebuf_next(&lb, &line, &len) == 1 &&
	    len == STRATUM_LINE_MAX - 1, "a line just under the limit passes");
	stratum_linebuf_free(&lb);
}

static void
test_urls(void)
{
	struct stratum_url u;
	uint8_t pin[32];
	char err[256];

	ok(stratum_url_parse("stratum+tcp://pool.example.com:3333", &u, err,
	    sizeof(err)) == 0 && !u.tls && strcmp(u.host, "pool.example.com") == 0 &&
	    strcmp(u.port, "3333") == 0, "stratum+tcp URL");
	ok(stratum_url_parse("stratum+ssl://1.2.3.4:443", &u, err, sizeof(err)) == 0 &&
	    u.tls, "stratum+ssl is TLS");
	ok(stratum_url_parse("stratum+tls://[::1]:9000", &u, err, sizeof(err)) == 0 &&
	    u.tls && strcmp(u.host, "::1") == 0, "stratum+tls with IPv6");
	ok(stratum_url_parse("host:1", &u, err, sizeof(err)) == 0 && !u.tls,
	    "bare host:port is TCP");
	ok(stratum_url_parse("http://a:1", &u, err, sizeof(err)) == -1 &&
	    strstr(err, "scheme") != NULL, "other schemes refused: %s", err);
	ok(stratum_url_parse("stratum+tcp://a", &u, err, sizeof(err)) == -1,
	    "missing port refused");
	ok(stratum_url_parse("stratum+tcp://a:70000", &u, err, sizeof(err)) == -1,
	    "port out of range refused");
	ok(stratum_fingerprint_parse("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:"
	    "89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89", pin) == 0 &&
	    pin[0] == 0xab && pin[31] == 0x89, "pin with colons (openssl format)");
	ok(stratum_fingerprint_parse("abcd", pin) == -1, "short pin refused");
}

int
main(void)
{
	for (int i = 0; i < 80; i++)
		snprintf(blob80 + 2 * i, 3, "%02x", i);
	for (int i = 0; i < 76; i++)
		snprintf(blob76 + 2 * i, 3, "%02x", i);
	test_jobs();
	test_responses();
	test_errors();
	test_builders();
	test_linebuf();
	test_urls();
	return tap_done();
}
