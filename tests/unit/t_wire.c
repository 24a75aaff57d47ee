// SPDX-License-Identifier: MIT
/*
 * t_wire.c - the `capsa exec` protocol (guest/exec_wire.c): frames cut from a
 * byte stream however it arrives, each type's bounds, START records one by
 * one, and what the client builds parsing back to the same command.
 */
#include "tap.h"
#include "guest/exec_wire.h"
#include "vmm/util.h"

/* Feed @n bytes to a fresh client-side stream in pieces of @step; count frames. */
static int
feed(const uint8_t *bytes, size_t n, size_t step, bool from_client, struct wire_frame *last,
     const char **why)
{
	struct wire_rx rx = { .from_client = from_client };
	struct wire_frame f;
	int frames = 0, r = 0;

	for (size_t off = 0; off < n && r >= 0;) {
		uint8_t *at;
		size_t room = wire_rx_space(&rx, &at), take = MIN(MIN(step, n - off), room);

		memcpy(at, bytes + off, take);
		rx.len += take;
		off += take;
		while ((r = wire_rx_next(&rx, &f, why)) > 0) {
			frames++;
			if (last) {
				*last = f;
				last->data = NULL;	/* the buffer goes away below */
			}
		}
	}
	wire_rx_free(&rx);
	return r < 0 ? -1 : frames;
}

static size_t
frame(uint8_t *out, uint8_t type, const void *data, uint32_t len)
{
	wire_header(out, type, len);
	memcpy(out + WIRE_HDR, data, len);
	return WIRE_HDR + len;
}

static void
test_frames(void)
{
	static uint8_t big[WIRE_HDR * 4 + WIRE_DATA_MAX + 64], data[WIRE_DATA_MAX];
	struct wire_frame f;
	const char *why = NULL;
	size_t n = 0;

	n += frame(big + n, W_STDIN, "hello", 5);
	n += frame(big + n, W_EOF, "", 0);
	n += frame(big + n, W_SIGNAL, "\x02\0\0\0", 4);
	CHECK_INT(feed(big, n, n, true, &f, &why), 3, "three frames at once");
	CHECK_INT(feed(big, n, 1, true, &f, &why), 3, "three frames a byte at a time");
	CHECK_INT(f.type, W_SIGNAL, "the last one is the SIGNAL");
	n = frame(big, W_STDIN, data, WIRE_DATA_MAX);
	CHECK_INT(feed(big, n, 4096, true, &f, &why), 1, "a 64 KiB STDIN frame");
	CHECK_INT((int)f.len, WIRE_DATA_MAX, "with all of its bytes");
	wire_header(big, W_STDIN, WIRE_DATA_MAX + 1);
	CHECK_INT(feed(big, WIRE_HDR, WIRE_HDR, true, NULL, &why), -1,
		  "STDIN of 64 KiB + 1: refused from the header alone (%s)", why);
	wire_header(big, W_STDIN, 0);
	CHECK_INT(feed(big, WIRE_HDR, 1, true, NULL, &why), -1, "an empty STDIN frame is refused");
	wire_header(big, W_EOF, 1);
	CHECK_INT(feed(big, WIRE_HDR + 1, 9, true, NULL, &why), -1, "EOF with a payload is refused");
	wire_header(big, W_SIGNAL, 3);
	CHECK_INT(feed(big, WIRE_HDR, 9, true, NULL, &why), -1, "SIGNAL of 3 bytes is refused");
	wire_header(big, W_START, 0xffffffffU);
	CHECK_INT(feed(big, WIRE_HDR, 9, true, NULL, &why), -1, "START of 4 GiB is refused");
	wire_header(big, W_STDOUT, 1);
	CHECK_INT(feed(big, WIRE_HDR + 1, 9, true, NULL, &why), -1,
		  "a server's type from a client is refused");
	wire_header(big, W_STDIN, 1);
	CHECK_INT(feed(big, WIRE_HDR + 1, 9, false, NULL, &why), -1,
		  "a client's type from a server is refused");
	wire_header(big, 0, 0);
	CHECK_INT(feed(big, WIRE_HDR, 9, true, NULL, &why), -1, "type 0 is refused");
	n = frame(big, W_EXIT, "\x7f\0\0\0", 4);
	n += frame(big + n, W_ACK, "\0\0\1\0", 4);
	CHECK_INT(feed(big, n, 3, false, &f, &why), 2, "EXIT and ACK from the server");
	CHECK_INT(feed(big, 4, 4, false, NULL, &why), 0, "half a header is no frame yet");
}

/* Parse @len bytes of records; the reason on failure in *why. */
static int
parse(const char *rec, size_t len, struct wire_start *st, const char **why)
{
	static uint8_t buf[4096];

	memcpy(buf, rec, len);
	return wire_parse_start(buf, (uint32_t)len, st, why);
}

static void
test_start(void)
{
	static const struct { const char *rec; size_t len; const char *what; } bad[] = {
		{ "", 0, "no records" },
		{ "e A=1\0", 6, "no argument" },
		{ "a\0", 2, "an empty command name" },
		{ "aecho", 5, "a record without its NUL" },
		{ "aecho\0a", 7, "a lone tag at the end" },
		{ "aecho\0q1\0", 9, "an unknown record" },
		{ "aecho\0eNOEQUALS\0", 16, "an environment entry without =" },
		{ "aecho\0e=1\0", 10, "an environment entry with an empty key" },
		{ "aecho\0wtmp\0", 11, "a relative working directory" },
		{ "aecho\0w/a\0w/b\0", 14, "two working directories" },
		{ "aecho\0t24\0", 10, "a terminal size without x" },
		{ "aecho\0t0x80\0", 12, "a terminal of 0 rows" },
		{ "aecho\0t24x65536\0", 16, "a terminal of 65536 columns" },
		{ "aecho\0t24x80x\0", 14, "a terminal size with more after it" },
		{ "aecho\0o0\0", 9, "a timeout of 0" },
		{ "aecho\0o-1\0", 10, "a negative timeout" },
		{ "aecho\0o1073741825\0", 18, "a timeout over 2^30" },
		{ "aecho\0o99999999999\0", 19, "a timeout of 11 digits" },
	};
	static const char full[] = "ash\0a-c\0a\0aecho \"$1\"\0eA=1\0eB=\0w/tmp\0t24x80\0o30\0";
	struct wire_start st;
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_INT(parse(bad[i].rec, bad[i].len, &st, &why), -1, "START refused: %s (%s)",
			  bad[i].what, why ? why : "no reason");
		wire_start_free(&st);
	}
	CHECK_INT(parse(full, sizeof(full) - 1, &st, &why), 0, "a full START parses");
	CHECK_INT((int)st.argc, 4, "four arguments");
	CHECK_STR(st.argv[2], "", "an empty argument stays");
	CHECK_STR(st.argv[3], "echo \"$1\"", "quotes and $ are bytes");
	CHECK(st.argv[4] == NULL, "argv is NULL-terminated");
	CHECK_INT((int)st.nenv, 2, "two environment entries");
	CHECK_STR(st.env[1], "B=", "an empty value stays");
	CHECK_STR(st.cwd, "/tmp", "the working directory");
	CHECK(st.tty && st.rows == 24 && st.cols == 80, "a 24x80 terminal");
	CHECK_INT((int)st.timeout_s, 30, "a 30 s timeout");
	wire_start_free(&st);
	CHECK_INT(parse("atrue\0", 6, &st, &why), 0, "the smallest START");
	CHECK(st.env && st.env[0] == NULL && !st.tty && !st.cwd && !st.timeout_s,
	      "no environment, terminal, directory or timeout");
	wire_start_free(&st);
}

/* What the client builds (wire_record) parses back byte for byte. */
static void
test_roundtrip(void)
{
	static const char *const args[] = { "printf", "%s|", "a\nb", "\x01\xff", " ", "" };
	struct wire_buf b = { 0 };
	struct wire_start st;
	const char *why;
	bool same = true;

	for (size_t i = 0; i < ARRAY_SIZE(args); i++)
		wire_record(&b, WR_ARG, args[i]);
	wire_record(&b, WR_ENV, "X=a=b");
	CHECK_INT(b.err, 0, "records built");
	CHECK_INT(wire_parse_start(b.buf, (uint32_t)b.len, &st, &why), 0, "and parsed");
	for (size_t i = 0; i < ARRAY_SIZE(args); i++)
		same &= i < st.argc && !strcmp(st.argv[i], args[i]);
	CHECK(same && st.argc == ARRAY_SIZE(args), "argv comes back byte-exact");
	CHECK_STR(st.env[0], "X=a=b", "an = in the value stays");
	wire_start_free(&st);
	free(b.buf);
}

int
main(void)
{
	test_frames();
	test_start();
	test_roundtrip();
	return tap_done();
}
