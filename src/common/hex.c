/*
 * hex.c: hex encoding and strict decoding.  Used by the Stratum client and
 * server, the worker, the ledger reports and the tests.
 */
#include "config.h"

#include <string.h>

#include "common/hex.h"

int
hex_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";

	if (outsz < 2 * len + 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
	return 0;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t n = strlen(hex);

	if (n % 2 != 0)
		return -1;
	if (n / 2 > outsz)
		return -2;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (outlen != NULL)
		*outlen = n / 2;
	return 0;
}

int
hex_decode_exact(const char *hex, uint8_t *out, size_t len)
{
	size_t got;

	if (strlen(hex) != 2 * len)
		return -1;
	if (hex_decode(hex, out, len, &got) != 0)
		return -1;
	return got == len ? 0 : -1;
}
