/*
 * stratum_proto.h: the XMRig flavour of Stratum v1 as pure functions: split
 * bytes into lines, turn a line into an event, build request lines.  No I/O:
 * stratum.c (the client's I/O thread), the unit tests and the fuzzer call
 * exactly this code.
 */
#ifndef COOPMINE_STRATUM_PROTO_H
#define COOPMINE_STRATUM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/upstream.h"

#define STRATUM_LINE_MAX	65536	/* a longer line drops the connection */
#define STRATUM_SESSION_MAX	128
#define STRATUM_ERR_MAX		160

/* Newline framing over a byte stream, bounded. */
struct stratum_linebuf {
	char *buf;		/* STRATUM_LINE_MAX + 1 bytes */
	size_t len;		/* bytes held */
	size_t off;		/* start of the first unconsumed line */
};

int stratum_linebuf_init(struct stratum_linebuf *lb);
void stratum_linebuf_free(struct stratum_linebuf *lb);
void stratum_linebuf_reset(struct stratum_linebuf *lb);
/* Where to read into: *avail is never 0 unless a line is over the limit. */
char *stratum_linebuf_space(struct stratum_linebuf *lb, size_t *avail);
void stratum_linebuf_commit(struct stratum_linebuf *lb, size_t n);
/* Next complete line (without "\n" or "\r\n", NUL-terminated, valid until
 * the next call): 1.  0: need more bytes.  -1: a line exceeds
 * STRATUM_LINE_MAX (the caller disconnects). */
int stratum_linebuf_next(struct stratum_linebuf *lb, char **line, size_t *len);

enum stratum_msg_type {
	STRATUM_MSG_INVALID = 0,	/* not JSON, not an object, wrong types */
	STRATUM_MSG_RESPONSE,		/* an answer to our request id */
	STRATUM_MSG_JOB,		/* pushed "job" notification */
	STRATUM_MSG_UNKNOWN		/* a method we do not know: ignored */
};

struct stratum_msg {
	enum stratum_msg_type type;
	int64_t id;			/* RESPONSE: our request id */
	int is_error;			/* RESPONSE: the pool said no */
	int error_code;
	char error[UPSTREAM_MSG_MAX];	/* the pool's message */
	char status[32];		/* result.status ("OK", "KEEPALIVED") */
	char session[STRATUM_SESSION_MAX];	/* login result.id */
	int has_job;			/* JOB, or a login result carrying one */
	int job_error;			/* a job was present but refused (err says why) */
	struct upstream_job job;
	int ext_nicehash, ext_keepalive;	/* login result.extensions */
	char method[32];		/* UNKNOWN: its name */
	char err[STRATUM_ERR_MAX];	/* INVALID / job_error: what was wrong */
};

/* Parses one line.  coin fixes the nonce offset; nicehash (0/1) says
 * whether the pool reserves the nonce's top byte.  Returns m->type; never
 * fails on any input. */
enum stratum_msg_type stratum_parse_line(const char *line, size_t len,
    enum upstream_coin coin, int nicehash, struct stratum_msg *m);

/* Maps a pool's error message to a reason (XMRig/xmrig-proxy and the usual
 * pools' wording, case-insensitive). */
enum upstream_reject stratum_map_error(const char *message);

/* Request builders: write one JSON line ending in "\n" into buf.  Return
 * the length, or -1 when it does not fit or an argument is invalid. */
int stratum_build_login(char *buf, size_t len, int64_t id, const char *login,
    const char *pass, const char *agent, const char *rig_id);
int stratum_build_submit(char *buf, size_t len, int64_t id,
    const char *session, const char *job_id, const uint8_t nonce[4],
    const uint8_t result[32]);
int stratum_build_keepalived(char *buf, size_t len, int64_t id,
    const char *session);

unsigned stratum_nonce_offset(enum upstream_coin coin);
/* "opensy" / "monero" -> coin; -1 for anything else. */
int stratum_coin_parse(const char *s, enum upstream_coin *coin);
const char *stratum_coin_name(enum upstream_coin coin);

/* stratum+tcp://host:port, stratum+ssl://, stratum+tls:// (IPv6 as [..]). */
struct stratum_url {
	char host[256];
	char port[8];
	int tls;
};
int stratum_url_parse(const char *url, struct stratum_url *out, char *err,
    size_t errlen);
/* SHA-256 fingerprint text (64 hex, ':' allowed) -> 32 bytes; -1 if bad. */
int stratum_fingerprint_parse(const char *s, uint8_t out[32]);

#endif
