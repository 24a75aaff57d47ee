/* SPDX-License-Identifier: MIT */
/*
 * tap.h - the smallest TAP producer: one `ok N - what` line per check, a
 * plan at the end, and the plain `N passed, N failed` summary. A test
 * program returns tap_done(), which fails the run when any check failed.
 *
 *   CHECK(cond, fmt, ...)         a condition
 *   CHECK_INT(got, want, fmt...)  signed integers, both shown on failure
 *   CHECK_U64(got, want, fmt...)  unsigned integers, in hex
 *   CHECK_STR(got, want, fmt...)  C strings (NULL allowed)
 *   CHECK_MEM(got, want, n, ...)  n bytes
 */
#ifndef CAPSA_TAP_H
#define CAPSA_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_n, tap_failed;

static void __attribute__((format(printf, 2, 0)))
tap_vline(bool ok, const char *fmt, va_list ap)
{
	printf("%sok %u - ", ok ? "" : "not ", ++tap_n);
	vprintf(fmt, ap);
	putchar('\n');
	if (!ok)
		tap_failed++;
}

static bool __attribute__((format(printf, 4, 5), unused))
tap_check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(ok, fmt, ap);
	va_end(ap);
	if (!ok)
		printf("#   at %s:%d\n", file, line);
	fflush(stdout);
	return ok;
}

static void __attribute__((unused))
tap_hexdiff(const unsigned char *got, const unsigned char *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i]) {
			printf("#   first difference at byte %zu: got %#04x, want %#04x\n",
			       i, got[i], want[i]);
			return;
		}
}

#define CHECK(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_INT(got, want, ...) ({					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	bool ok_ = CHECK(g_ == w_, __VA_ARGS__);			\
	if (!ok_)							\
		printf("#   got %lld, want %lld\n", g_, w_);		\
	ok_; })

#define CHECK_U64(got, want, ...) ({					\
	uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);		\
	bool ok_ = CHECK(g_ == w_, __VA_ARGS__);			\
	if (!ok_)							\
		printf("#   got %#" PRIx64 ", want %#" PRIx64 "\n", g_, w_); \
	ok_; })

#define CHECK_STR(got, want, ...) ({					\
	const char *g_ = (got), *w_ = (want);				\
	bool ok_ = CHECK(g_ && w_ ? !strcmp(g_, w_) : g_ == w_, __VA_ARGS__); \
	if (!ok_)							\
		printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", \
		       w_ ? w_ : "(null)");				\
	ok_; })

#define CHECK_MEM(got, want, n, ...) ({					\
	bool ok_ = CHECK(!memcmp((got), (want), (n)), __VA_ARGS__);	\
	if (!ok_)							\
		tap_hexdiff((const void *)(got), (const void *)(want), (n)); \
	ok_; })

/* Print the plan and the summary; the exit status of the test program. */
static int __attribute__((unused))
tap_done(void)
{
	printf("1..%u\n# %u passed, %u failed\n", tap_n, tap_n - tap_failed, tap_failed);
	return tap_failed || !tap_n ? 1 : 0;
}

#endif
