// SPDX-License-Identifier: MIT
/*
 * t_proto.c - run_next(), the guest's parser of the run configuration
 * records: tag byte, bytes other than NUL, NUL (guest/proto.h).
 */
#include "tap.h"
#include "guest/proto.h"
#include "vmm/util.h"

struct rec { int tag; const char *val; };

static const struct {
	const char *buf;
	size_t len;
	struct rec want[4];	/* up to the first { 0, NULL } */
	const char *what;
} t[] = {
	{ "aecho\0ahello world\0", 19, { { 'a', "echo" }, { 'a', "hello world" } }, "two args" },
	{ "ePATH=/bin\0w/tmp\0h\0", 19, { { 'e', "PATH=/bin" }, { 'w', "/tmp" }, { 'h', "" } },
	  "env, cwd, empty hostname" },
	{ "", 0, { { 0 } }, "empty file" },
	{ "a", 1, { { 0 } }, "a lone tag" },
	{ "a\0", 2, { { 'a', "" } }, "an empty value" },
	{ "aecho", 5, { { 0 } }, "value without its NUL" },
	{ "aecho\0ab", 8, { { 'a', "echo" } }, "a truncated second record" },
	{ "aecho\0a", 7, { { 'a', "echo" } }, "a second lone tag" },
	{ "\0\0", 2, { { 0, "" } }, "NUL as a tag" },
	{ "\xff\x01\x7f\0", 4, { { 0xff, "\x01\x7f" } }, "high tag, control bytes" },
	{ "a\0\0\0", 4, { { 'a', "" }, { 0, "" } }, "records of NULs" },
};

int
main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		size_t pos = 0, n = 0, last = 0, want = 0;
		const char *v;
		int tag = -1;
		bool ok = true;

		while ((v = run_next(t[i].buf, t[i].len, &pos, &tag))) {
			const struct rec *w = &t[i].want[n];

			ok &= n < 4 && w->val && tag == w->tag && !strcmp(v, w->val) &&
			      v > t[i].buf && pos <= t[i].len && pos > last &&
			      v + strlen(v) + 1 == t[i].buf + pos;
			last = pos;
			if (++n > 4)
				break;
		}
		while (want < 4 && t[i].want[want].val)
			want++;
		CHECK(ok && n == want, "%s: %zu records, tags and values", t[i].what, want);
		CHECK(run_next(t[i].buf, t[i].len, &pos, &tag) == NULL,
		      "%s: stays at the end", t[i].what);
	}

	/* Every byte but NUL survives, in a record of each tag. */
	static char buf[4 * 257];
	size_t len = 0, pos = 0;
	const char tags[] = { RUN_ARG, RUN_ENV, RUN_CWD, RUN_TTY };
	int tag;

	for (int r = 0; r < 4; r++) {
		buf[len++] = tags[r];
		for (int b = 1; b < 256; b++)
			buf[len++] = (char)b;
		buf[len++] = 0;
	}
	for (int r = 0; r < 4; r++) {
		const char *v = run_next(buf, len, &pos, &tag);

		CHECK(v && tag == tags[r] && strlen(v) == 255 && (uint8_t)v[0] == 1 &&
		      (uint8_t)v[254] == 255, "record %d: 255 bytes 1..255, tag '%c'", r, tags[r]);
	}
	CHECK_INT(pos, len, "all consumed");
	return tap_done();
}
