// SPDX-License-Identifier: MIT
/*
 * fuzz_control.c - the `capsa exec` protocol's parsers (guest/exec_wire.c), as
 * the guest's exec service and the client run them on what a peer sends.
 *
 * Input: one byte of mode (bit 0: frames a client sends, else a server's;
 * bits 1-7: how many bytes each read delivers, 1 to 128), then the stream.
 * Every complete frame must respect its type's bounds and lie inside the
 * bytes given; each START payload (and, with bit 1 of the mode set, the
 * whole stream as one) goes through wire_parse_start(), whose argv and
 * environment must be NULL-terminated lists of strings inside the payload.
 *
 * fuzz-sources: guest/exec_wire.c
 */
#include <stdlib.h>
#include <string.h>

#include "guest/exec_wire.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_start(const uint8_t *payload, uint32_t len)
{
	/* A copy of exactly @len bytes, so ASan sees any read past the end. */
	uint8_t *buf = malloc(len ? len : 1);
	struct wire_start st;
	const char *why;

	memcpy(buf, payload, len);
	if (wire_parse_start(buf, len, &st, &why) == 0) {
		REQUIRE(st.argc >= 1 && st.argv[st.argc] == NULL && st.argv[0][0]);
		REQUIRE(st.env && st.env[st.nenv] == NULL);
		for (unsigned i = 0; i < st.argc; i++)
			REQUIRE((uint8_t *)st.argv[i] > buf && (uint8_t *)st.argv[i] < buf + len);
		for (unsigned i = 0; i < st.nenv; i++)
			REQUIRE(strchr(st.env[i], '=') && st.env[i][0] != '=');
		REQUIRE(!st.cwd || st.cwd[0] == '/');
		REQUIRE(!st.tty || (st.rows >= 1 && st.rows <= 65535 && st.cols >= 1 &&
				    st.cols <= 65535));
		REQUIRE(st.timeout_s <= WIRE_TIMEOUT_MAX);
	} else {
		REQUIRE(why && *why);
	}
	wire_start_free(&st);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_rx rx = { .from_client = size && (data[0] & 1) };
	size_t step = size ? (size_t)(data[0] >> 1) + 1 : 1, off = 1;
	struct wire_frame f;
	const char *why;
	int r = 0;

	if (size < 1)
		return 0;
	if (data[0] & 2)
		check_start(data + 1, (uint32_t)(size - 1));
	while (off < size && r >= 0) {
		uint8_t *at;
		size_t room = wire_rx_space(&rx, &at), take = size - off;

		take = take < step ? take : step;
		take = take < room ? take : room;
		REQUIRE(room > 0);
		memcpy(at, data + off, take);
		rx.len += take;
		off += take;
		while ((r = wire_rx_next(&rx, &f, &why)) > 0) {
			uint32_t min, max = wire_max_len(f.type, rx.from_client, &min);

			REQUIRE(max && f.len >= min && (max == UINT32_MAX ? f.len == 0 : f.len <= max));
			REQUIRE(f.data >= rx.buf && f.data + f.len <= rx.buf + rx.len);
			if (f.type == W_START)
				check_start(f.data, f.len);
		}
		REQUIRE(r <= 0 && (r == 0 || (why && *why)));
		REQUIRE(rx.cap <= WIRE_HDR + WIRE_START_MAX);
	}
	wire_rx_free(&rx);
	return 0;
}
