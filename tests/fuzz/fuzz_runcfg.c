// SPDX-License-Identifier: MIT
/*
 * fuzz_runcfg.c - run_next(), the guest init's parser of the per-run
 * configuration (guest/proto.h), against any file contents.
 *
 * Oracle: the records it returns, encoded again (tag, value, NUL), are
 * exactly the bytes it consumed, every value lies inside the buffer, and
 * what it leaves unconsumed holds no complete record.
 *
 * fuzz-sources: guest/proto.h
 */
#include <stdlib.h>
#include <string.h>

#include "guest/proto.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly @size bytes, so ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1), *again = malloc(size + 1);
	size_t pos = 0, out = 0;
	const char *v;
	int tag;

	memcpy(buf, data, size);
	while ((v = run_next(buf, size, &pos, &tag))) {
		size_t vlen = strlen(v);

		REQUIRE(v > buf && v + vlen < buf + size && v + vlen + 1 == buf + pos);
		REQUIRE(tag >= 0 && tag < 256);
		again[out++] = (char)tag;
		memcpy(again + out, v, vlen + 1);
		out += vlen + 1;
	}
	REQUIRE(out == pos && !memcmp(again, buf, pos));
	REQUIRE(run_next(buf, size, &pos, &tag) == NULL && pos == out);
	/* What is left: nothing, a lone tag, or a record without its NUL. */
	REQUIRE(size - pos < 2 || !memchr(buf + pos + 1, 0, size - pos - 1));
	free(buf);
	free(again);
	return 0;
}
