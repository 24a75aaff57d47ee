// SPDX-License-Identifier: MIT
/*
 * fuzz_size.c - the size and number arguments: --memory, --cpus,
 * --timeout, and parse_u64() itself.
 *
 * Input: a selector byte, then the argument's text (up to a NUL); for
 * parse_u64() also its bounds. Oracle: an independent model of each
 * documented syntax (decimal digits only; --memory with at most one M, G
 * or T suffix, any case) and range; value and success must agree exactly,
 * and parse_u64()'s error must tell "not a number" from "out of range".
 *
 * fuzz-sources: vmm/options.c vmm/util.c
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/options.h"
#include "vmm/util.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decimal digits only, at least one; -ERANGE past UINT64_MAX. */
static int
model_u64(const char *s, size_t len, uint64_t *out)
{
	unsigned __int128 v = 0;

	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > UINT64_MAX)
			return -ERANGE;
	}
	*out = (uint64_t)v;
	return 0;
}

static int
model_memory(const char *s, uint64_t *mib)
{
	size_t len = strlen(s);
	uint64_t mul = 1, v;
	int r;

	if (len > 1 && strchr("mMgGtT", s[len - 1])) {
		mul = strchr("mM", s[len - 1]) ? 1 : strchr("gG", s[len - 1]) ? 1024 : 1024 * 1024;
		len--;
	}
	r = model_u64(s, len, &v);
	if (r == 0 && (v > MAX_MEMORY_MIB || v * mul < MIN_MEMORY_MIB || v * mul > MAX_MEMORY_MIB))
		r = -ERANGE;
	*mib = v * mul;
	return r;
}

static void
option(const char *flag, const char *val, uint64_t min, uint64_t max)
{
	char *argv[] = { "capsa", (char *)flag, (char *)val, "--", "x", NULL }, err[256];
	struct capsa_config c;
	uint64_t want = 0, got;
	int r = options_parse(&c, 5, argv, err, sizeof(err)), m;

	if (!strcmp(flag, "--memory")) {
		m = model_memory(val, &want);
		got = c.memory_mib;
	} else {
		m = model_u64(val, strlen(val), &want);
		if (m == 0 && (want < min || want > max))
			m = -ERANGE;
		got = !strcmp(flag, "--cpus") ? c.cpus : c.timeout_s;
	}
	REQUIRE((r == 0) == (m == 0));
	if (r == 0)
		REQUIRE(got == want);
	else
		REQUIRE(!strncmp(err, flag, strlen(flag)) && err[strlen(flag)] == ' ');
	free(c.env.v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	uint64_t lo = 0, hi = 0, v = 7, want = 0;
	int r, m;

	if (size < 1)
		return 0;
	s = strndup((const char *)data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		option("--memory", s, 0, 0);
		break;
	case 1:
		option("--cpus", s, 1, MAX_CPUS);
		break;
	case 2:
		option("--timeout", s, 1, 1U << 30);
		break;
	case 3:
		/* Bounds from the end of the input, the text before them. */
		if (size >= 17) {
			memcpy(&lo, data + size - 16, 8);
			memcpy(&hi, data + size - 8, 8);
			s[strnlen(s, size - 17)] = 0;
		}
		r = parse_u64(s, lo, hi, &v);
		m = model_u64(s, strlen(s), &want);
		if (m == 0 && (want < lo || want > hi))
			m = -ERANGE;
		REQUIRE(r == m);
		REQUIRE(r ? v == 7 : v == want);
		break;
	}
	free(s);
	return 0;
}
