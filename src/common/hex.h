/*
 * hex.h: hex encoding and strict decoding (Stratum blobs, results, seeds).
 */
#ifndef COOPMINE_HEX_H
#define COOPMINE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase digits and a NUL; out must hold 2*len+1 bytes.
 * Returns 0, or -1 if outsz is too small. */
int hex_encode(const uint8_t *in, size_t len, char *out, size_t outsz);

/* Decodes hex (either case) into out[outsz]; *outlen gets the byte count.
 * Returns 0, -1 on an odd length or a non-hex digit, -2 if it does not fit. */
int hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *outlen);

/* As hex_decode, but the input must decode to exactly len bytes. */
int hex_decode_exact(const char *hex, uint8_t *out, size_t len);

#endif
