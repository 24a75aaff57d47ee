// SPDX-License-Identifier: MIT
/*
 * wire.c - frames and START records of the `capsa exec` protocol (wire.h),
 * for both of its ends: the guest init (server) and `capsa exec` (client).
 *
 * Everything a peer sends is checked here once: a header's type and length
 * against the bounds of that type before any payload is buffered, a START's
 * records one by one. A bad frame ends the connection; it never grows a
 * buffer past the largest frame a type allows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec_wire.h"

/**
 * wire_u32() - a little-endian u32 from @p.
 */
uint32_t
wire_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/**
 * wire_put_u32() - @v little-endian at @p.
 */
void
wire_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/**
 * wire_header() - the 5 header bytes of a frame of @type with @len bytes.
 */
void
wire_header(uint8_t *hdr, uint8_t type, uint32_t len)
{
	hdr[0] = type;
	wire_put_u32(hdr + 1, len);
}

/**
 * wire_max_len() - the payload bounds of a frame type.
 * @type:        the type byte.
 * @from_client: frames a client sends, else frames a server sends.
 * @min:         the least length, filled in.
 *
 * Return: the largest length, or 0 when @type is no frame of that side
 * (every valid type allows at least one byte or exactly none: see @min).
 */
uint32_t
wire_max_len(uint8_t type, bool from_client, uint32_t *min)
{
	static const struct { uint8_t type; bool client; uint32_t min, max; } t[] = {
		{ W_START, true, 2, WIRE_START_MAX },
		{ W_STDIN, true, 1, WIRE_DATA_MAX },
		{ W_EOF, true, 0, 0 },
		{ W_SIGNAL, true, 4, 4 },
		{ W_RESIZE, true, 4, 4 },
		{ W_CLOSE, true, 1, 1 },
		{ W_STDOUT, false, 1, WIRE_DATA_MAX },
		{ W_STDERR, false, 1, WIRE_DATA_MAX },
		{ W_EXIT, false, 4, 4 },
		{ W_ERROR, false, 1, WIRE_ERROR_MAX },
		{ W_ACK, false, 4, 4 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].type == type && t[i].client == from_client) {
			*min = t[i].min;
			/* EOF: no payload; told apart from "no such type" by the caller. */
			return t[i].max ? t[i].max : UINT32_MAX;
		}
	*min = 0;
	return 0;
}

/* Drop the frame returned last time. */
static void
rx_compact(struct wire_rx *rx)
{
	if (!rx->done)
		return;
	memmove(rx->buf, rx->buf + rx->done, rx->len - rx->done);
	rx->len -= rx->done;
	rx->done = 0;
}

static int
rx_grow(struct wire_rx *rx, size_t need)
{
	uint8_t *b;

	if (need <= rx->cap)
		return 0;
	b = realloc(rx->buf, need);
	if (!b)
		return -ENOMEM;
	rx->buf = b;
	rx->cap = need;
	return 0;
}

/**
 * wire_rx_space() - where the next bytes from the peer go.
 * @rx: the stream.
 * @at: filled with the place to read into.
 *
 * Return: how many bytes fit there (0 only out of memory).
 */
size_t
wire_rx_space(struct wire_rx *rx, uint8_t **at)
{
	rx_compact(rx);
	if (rx_grow(rx, WIRE_HDR + WIRE_DATA_MAX) < 0)
		return 0;
	*at = rx->buf + rx->len;
	return rx->cap - rx->len;
}

/**
 * wire_rx_next() - the next complete frame, checked.
 * @rx:  the stream; its bytes so far.
 * @f:   the frame, filled in; its data lives until the next call.
 * @why: on -1, what was wrong (a constant string).
 *
 * Return: 1 with a frame, 0 when more bytes must come, -1 on a frame that
 * breaks the protocol (the connection must end).
 */
int
wire_rx_next(struct wire_rx *rx, struct wire_frame *f, const char **why)
{
	uint32_t len, min, max;

	rx_compact(rx);
	if (rx->len < WIRE_HDR)
		return 0;
	len = wire_u32(rx->buf + 1);
	max = wire_max_len(rx->buf[0], rx->from_client, &min);
	if (!max) {
		*why = "unknown frame type";
		return -1;
	}
	if (len < min || (max == UINT32_MAX ? len != 0 : len > max)) {
		*why = "frame length out of bounds for its type";
		return -1;
	}
	if (rx_grow(rx, WIRE_HDR + (size_t)len) < 0) {
		*why = "out of memory";
		return -1;
	}
	if (rx->len < WIRE_HDR + (size_t)len)
		return 0;
	f->type = rx->buf[0];
	f->len = len;
	f->data = rx->buf + WIRE_HDR;
	rx->done = WIRE_HDR + (size_t)len;
	return 1;
}

/**
 * wire_rx_free() - release the stream's buffer.
 */
void
wire_rx_free(struct wire_rx *rx)
{
	free(rx->buf);
	*rx = (struct wire_rx){ .from_client = rx->from_client };
}

/* A decimal number in [lo, hi], digits only, ended by @end. */
static bool
number(const char *s, char end, uint32_t lo, uint32_t hi, uint32_t *out, const char **rest)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && p - s < 10; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (p == s || *p != end || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	if (rest)
		*rest = p + 1;
	return true;
}

static int
push(char ***v, unsigned *n, char *s)
{
	char **nv;

	if (*n >= WIRE_ARGS_MAX)
		return -1;
	if ((*n & (*n + 1)) == 0 || !*v) {	/* grow at 0, 1, 3, 7 ... */
		nv = realloc(*v, ((size_t)*n * 2 + 2) * sizeof(**v));
		if (!nv)
			return -1;
		*v = nv;
	}
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
	return 0;
}

/* One record of START: check it and take it in. */
static const char *
take_record(struct wire_start *st, char tag, char *v, unsigned *seen)
{
	const char *rest;
	unsigned bit = tag == WR_CWD ? 1 : tag == WR_TTY ? 2 : tag == WR_TIMEOUT ? 4 : 0;

	if (*seen & bit)
		return "a record that may come once came twice";
	*seen |= bit;
	switch (tag) {
	case WR_ARG:
		return push(&st->argv, &st->argc, v) ? "too many arguments" : NULL;
	case WR_ENV:
		if (v[0] == '=' || !strchr(v, '='))
			return "an environment entry is not KEY=VALUE";
		return push(&st->env, &st->nenv, v) ? "too many environment entries" : NULL;
	case WR_CWD:
		st->cwd = v;
		return v[0] == '/' && strlen(v) < 4096 ? NULL : "the working directory is not an absolute path";
	case WR_TTY:
		st->tty = true;
		if (number(v, 'x', 1, 65535, &st->rows, &rest) &&
		    number(rest, 0, 1, 65535, &st->cols, NULL))
			return NULL;
		return "the terminal size is not ROWSxCOLS";
	case WR_TIMEOUT:
		if (number(v, 0, 1, WIRE_TIMEOUT_MAX, &st->timeout_s, NULL))
			return NULL;
		return "the timeout is not a number of seconds";
	default:
		return "unknown record in the start request";
	}
}

/**
 * wire_parse_start() - check a START payload and take it apart.
 * @data: the payload; records are NUL-terminated in place.
 * @len:  its length.
 * @st:   filled in; pointers into @data. wire_start_free() after, always.
 * @why:  on -1, what was wrong.
 *
 * Return: 0, or -1.
 */
int
wire_parse_start(uint8_t *data, uint32_t len, struct wire_start *st, const char **why)
{
	unsigned seen = 0;
	uint32_t pos = 0;

	*st = (struct wire_start){ 0 };
	*why = NULL;
	while (pos < len && !*why) {
		uint8_t *nul = pos + 1 < len ? memchr(data + pos + 1, 0, len - pos - 1) : NULL;

		if (!nul) {
			*why = "a record of the start request is not NUL-terminated";
			break;
		}
		*why = take_record(st, (char)data[pos], (char *)data + pos + 1, &seen);
		pos = (uint32_t)(nul - data) + 1;
	}
	if (!*why && !st->argc)
		*why = "no command in the start request";
	if (!*why && !st->argv[0][0])
		*why = "the command name is empty";
	if (!*why && !st->env && !(st->env = calloc(1, sizeof(*st->env))))
		*why = "out of memory";		/* else an empty, NULL-terminated list */
	return *why ? -1 : 0;
}

/**
 * wire_start_free() - release what wire_parse_start() allocated.
 */
void
wire_start_free(struct wire_start *st)
{
	free(st->argv);
	free(st->env);
	*st = (struct wire_start){ 0 };
}

/**
 * wire_record() - append one START record; an allocation failure is kept
 * in @b->err.
 */
void
wire_record(struct wire_buf *b, char tag, const char *value)
{
	size_t vl = strlen(value);
	uint8_t *n = b->err ? NULL : realloc(b->buf, b->len + vl + 2);

	if (!n) {
		b->err = -ENOMEM;
		return;
	}
	n[b->len] = (uint8_t)tag;
	memcpy(n + b->len + 1, value, vl + 1);
	b->len += vl + 2;
	b->buf = n;
}
