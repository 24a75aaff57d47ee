// SPDX-License-Identifier: MIT
/*
 * fuzz_shebang.c - shebang_split(), which splits the one argument Linux
 * gives an interpreter from a `#!` line, env -S style, against any line.
 *
 * Oracle: it never crashes or reads out of bounds; words hold no NUL and
 * no unquoted whitespace survives; and quoting every word in single quotes
 * (with ' written as '\'') and splitting again gives the same words.
 *
 * fuzz-sources: vmm/shebang.c
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/options.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
drop(struct strlist *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strlist a = { 0 }, b = { 0 };
	char *line = malloc(size + 1), *again, err[256], *p;
	size_t need = 1;

	memcpy(line, data, size);
	line[size] = 0;
	if (shebang_split(line, &a, err, sizeof(err)) == 0) {
		for (unsigned i = 0; i < a.n; i++)
			need += 4 * strlen(a.v[i]) + 3;
		p = again = malloc(need);
		for (unsigned i = 0; i < a.n; i++) {
			*p++ = '\'';
			for (const char *s = a.v[i]; *s; s++) {
				if (*s == '\'') {
					memcpy(p, "'\\''", 4);
					p += 4;
				} else {
					*p++ = *s;
				}
			}
			*p++ = '\'';
			*p++ = ' ';
		}
		*p = 0;
		REQUIRE(shebang_split(again, &b, err, sizeof(err)) == 0);
		REQUIRE(a.n == b.n);
		for (unsigned i = 0; i < a.n; i++)
			REQUIRE(!strcmp(a.v[i], b.v[i]));
		free(again);
	}
	drop(&a);
	drop(&b);
	free(line);
	return 0;
}
