/*
 * fuzz_dash_query.c: libFuzzer harness for the dashboard's input parsers:
 * REST query numbers (http_parse_count), listen addresses, pool URL
 * redaction and Prometheus label escaping.  Built with --enable-fuzz.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/dash_json.h"
#include "coordinator/http.h"
#include "coordinator/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[512], out[1100], host[64];
	long long v;
	int port;

	if (size >= sizeof(in))
		size = sizeof(in) - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	if (http_parse_count(in, 0, HTTP_OFFSET_MAX, &v) == 0 &&
	    (v < 0 || v > HTTP_OFFSET_MAX))
		abort();
	if (dash_listen_parse(in, host, sizeof(host), &port) == 0 &&
	    (port < 0 || port > 65535 || strlen(host) >= sizeof(host)))
		abort();
	dash_url_redact(in, out, sizeof(out));
	if (strlen(out) > strlen(in))
		abort();
	if (metrics_escape_label(in, out, sizeof(out)) == 0 &&
	    strlen(out) > 2 * strlen(in))
		abort();
	metrics_escape_label(in, out, 8);
	return 0;
}
