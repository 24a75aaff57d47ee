/* SPDX-License-Identifier: MIT */
/*
 * input.h - a fuzzer's input consumed front to back, for the harnesses
 * that build several structures from one input.
 */
#ifndef CAPSA_FUZZ_INPUT_H
#define CAPSA_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct in {
	const uint8_t *p;
	size_t left;
};

/* The next @n input bytes as a little-endian number; zeros past the end. */
static inline uint64_t
take(struct in *in, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

/* The next *@len bytes (fewer at the end; *@len says how many). */
static inline const uint8_t *
bytes(struct in *in, size_t *len)
{
	const uint8_t *p = in->p;

	*len = *len < in->left ? *len : in->left;
	in->p += *len;
	in->left -= *len;
	return p;
}

/* Copy up to 255 input bytes to a 24-bit offset of @ram (guest memory). */
static inline void
poke(struct in *in, uint8_t *ram, uint32_t ram_len)
{
	uint32_t off = (uint32_t)take(in, 3) % ram_len;
	size_t len = (size_t)take(in, 1);
	const uint8_t *p = bytes(in, &len);

	memcpy(ram + off, p, len < ram_len - off ? len : ram_len - off);
}

#endif
