/* test_hex: encoding round trips and every way hex input can be wrong. */
#include "config.h"

#include <string.h>

#include "common/hex.h"
#include "tap.h"

int
main(void)
{
	uint8_t buf[8], in[4] = { 0x00, 0xab, 0x7f, 0xff };
	char out[9];
	size_t n;

	ok(hex_encode(in, 4, out, sizeof(out)) == 0 && strcmp(out, "00ab7fff") == 0,
	    "encode");
	ok(hex_encode(in, 4, out, 8) == -1, "encode refuses a short buffer");
	ok(hex_decode("00AB7fff", buf, sizeof(buf), &n) == 0 && n == 4 &&
	    memcmp(buf, in, 4) == 0, "decode mixed case");
	ok(hex_decode("abc", buf, sizeof(buf), &n) == -1, "odd length refused");
	ok(hex_decode("zz", buf, sizeof(buf), &n) == -1, "non-hex refused");
	ok(hex_decode("0g", buf, sizeof(buf), &n) == -1, "bad low digit refused");
	ok(hex_decode("001122334455667788", buf, sizeof(buf), &n) == -2,
	    "too long for the buffer refused");
	ok(hex_decode("", buf, sizeof(buf), &n) == 0 && n == 0, "empty is empty");
	ok(hex_decode_exact("00ab7fff", buf, 4) == 0, "exact length");
	ok(hex_decode_exact("00ab7f", buf, 4) == -1, "exact length: short refused");
	ok(hex_decode_exact("00ab7fff00", buf, 4) == -1, "exact length: long refused");
	return tap_done();
}
