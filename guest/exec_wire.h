/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the `capsa exec` protocol, version 1, spoken between a client
 * (`capsa exec`, or any program: README has it) and the guest init, which
 * serves it on vsock port PORT_EXEC; capsa's --control socket carries the
 * bytes unchanged.
 *
 * Handshake, one text line each way:
 *   client: "CAPSA-EXEC 1\n"      server: "OK 1\n"  (or closes)
 * Then frames, both ways: a 5-byte header, type (u8) and payload length
 * (u32, little-endian), then the payload.
 *
 *   client to server                        server to client
 *   1 START    records (below), first,      16 STDOUT  bytes, 1..65536
 *              once                         17 STDERR  bytes, 1..65536
 *   2 STDIN    bytes, 1..65536              18 EXIT    u32 status 0..255, last
 *   3 EOF      none: stdin is at its end    19 ERROR   text, 1..1024 bytes: capsa
 *   4 SIGNAL   u32 signal 1..64                        failed (status 125), last
 *   5 RESIZE   u16 rows, u16 cols (pty)
 *   6 CLOSE    u8 1 or 2: that output's     20 ACK     u32: that many more STDIN
 *              reader is gone (the command             bytes were taken (written
 *              gets SIGPIPE on its next write          to the command, or dropped
 *              there)                                  when it closed its stdin)
 *
 * A client keeps at most WIRE_WINDOW bytes of STDIN payload sent but not
 * yet ACKed, so the server never stops reading: a SIGNAL always arrives,
 * however much input the command leaves unread.
 *
 * START's payload is records, each a tag byte, a value and a NUL:
 *   'a' ARG (one per argv element, in order; at least one; the first not
 *   empty), 'e' KEY=VALUE, 'w' DIR (absolute), 't' ROWSxCOLS (a pty),
 *   'o' SECONDS (a timeout, 1..2^30: then status 124).
 * Closing the connection before EXIT kills the command and its session.
 * A connection that closes without EXIT or ERROR: the sandbox is gone.
 */
#ifndef CAPSA_WIRE_H
#define CAPSA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_HELLO	"CAPSA-EXEC 1\n"
#define WIRE_OK		"OK 1\n"
#define WIRE_HDR	5
#define WIRE_DATA_MAX	65536
#define WIRE_ERROR_MAX	1024
#define WIRE_ARGS_MAX	65536		/* argv elements, and environment entries */
#define WIRE_START_MAX	(1024 * 1024 + 8192)	/* argv + env as capsa allows, and the rest */
#define WIRE_TIMEOUT_MAX (1U << 30)
#define WIRE_WINDOW	(256 * 1024)	/* STDIN bytes in flight */

enum wire_type {
	W_START = 1, W_STDIN, W_EOF, W_SIGNAL, W_RESIZE, W_CLOSE,
	W_STDOUT = 16, W_STDERR, W_EXIT, W_ERROR, W_ACK,
};

/* Records of START. */
enum { WR_ARG = 'a', WR_ENV = 'e', WR_CWD = 'w', WR_TTY = 't', WR_TIMEOUT = 'o' };

/* Frames arriving on a stream: bytes accumulate, complete frames come out. */
struct wire_rx {
	bool from_client;	/* which side's frame types are valid */
	uint8_t *buf;
	size_t len, cap;
	size_t done;		/* bytes of the frame last returned, dropped next time */
};

struct wire_frame {
	uint8_t type;
	uint32_t len;
	uint8_t *data;		/* inside the wire_rx buffer, valid until the next call */
};

/* A parsed START: pointers into the frame's payload. */
struct wire_start {
	char **argv;		/* NULL-terminated, argc elements */
	unsigned argc;
	char **env;		/* NULL-terminated */
	unsigned nenv;
	const char *cwd;	/* or NULL */
	bool tty;
	unsigned rows, cols;
	uint32_t timeout_s;	/* 0: none */
};

/* An outgoing START under construction. */
struct wire_buf {
	uint8_t *buf;
	size_t len;
	int err;
};

uint32_t wire_max_len(uint8_t type, bool from_client, uint32_t *min);
void wire_header(uint8_t *hdr, uint8_t type, uint32_t len);
int wire_rx_next(struct wire_rx *rx, struct wire_frame *f, const char **why);
size_t wire_rx_space(struct wire_rx *rx, uint8_t **at);
void wire_rx_free(struct wire_rx *rx);
int wire_parse_start(uint8_t *data, uint32_t len, struct wire_start *st, const char **why);
void wire_start_free(struct wire_start *st);
void wire_record(struct wire_buf *b, char tag, const char *value);
uint32_t wire_u32(const uint8_t *p);
void wire_put_u32(uint8_t *p, uint32_t v);

#endif
