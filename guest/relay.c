// SPDX-License-Identifier: MIT
/*
 * relay.c - bytes from one fd to another through a bounded buffer: how the
 * init carries a command's stdio between its pipes (or its pty) and the
 * vsock streams to the host.
 *
 * The pipe semantics users rely on come from closing the right end at the
 * right time. When the input ends (the host's stdin hit EOF, the command
 * closed its stdout) and the buffer is empty, the relay closes its output
 * too, so the end travels on: the command reads EOF, the host sees the
 * stream end. When the output fails for good (the host's reader went away,
 * the command closed its stdin) the relay closes its input, so the writer
 * behind it gets EPIPE and SIGPIPE, as it would on the host. Back-pressure
 * is the same chain: the relay reads only into an empty buffer, so a slow
 * reader stops it, and the pipe before it fills and blocks its writer.
 *
 * A pty master is shared by the two relays of a terminal session and is
 * not theirs to close (@keep); its end of input is EIO once the command's
 * side of the pty closed, and its EOF to pass on is a ^D (@eof_byte).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "init.h"

#define DRAIN_SETTLE_MS 50

/**
 * pump_init() - @p relays @in to @out.
 * @keep:     an fd among them the pump must not close (a pty master), or -1.
 * @eof_byte: written once the input ends (^D for a pty), or 0 to close @out.
 */
void
pump_init(struct pump *p, int in, int out, int keep, char eof_byte)
{
	*p = (struct pump){ .in = in, .out = out, .keep = keep, .eof_byte = eof_byte };
	fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
	fcntl(out, F_SETFL, fcntl(out, F_GETFL) | O_NONBLOCK);
}

static void
drop(struct pump *p, int *fd)
{
	if (*fd >= 0 && *fd != p->keep)
		close(*fd);
	*fd = -1;
}

/**
 * pump_close() - close the fds @p owns; it moves nothing more.
 */
void
pump_close(struct pump *p)
{
	drop(p, &p->in);
	drop(p, &p->out);
	p->len = 0;
}

/**
 * pump_events() - what @p waits for: input while its buffer is empty,
 * output while it holds bytes. A closed side is polled as fd -1.
 */
void
pump_events(const struct pump *p, struct pollfd *in, struct pollfd *out)
{
	in->fd = p->in_eof || p->len ? -1 : p->in;
	in->events = POLLIN;
	out->fd = p->len ? p->out : -1;
	out->events = POLLOUT;
}

static void
fill(struct pump *p)
{
	ssize_t n = read(p->in, p->buf, sizeof(p->buf));

	if (n > 0) {
		p->len = (size_t)n;
		p->off = 0;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	p->in_eof = true;	/* EOF, or EIO: the pty slave closed */
	drop(p, &p->in);
	if (p->eof_byte) {
		p->buf[0] = p->eof_byte;
		p->len = 1;
		p->off = 0;
	}
}

/**
 * pump_io() - move bytes for @p after poll().
 * @p:      the pump.
 * @can_in: its input fd was reported ready (output is tried whenever the
 *          buffer holds bytes: a write that would block says so).
 */
void
pump_io(struct pump *p, bool can_in)
{
	if (p->out < 0)
		return;
	if (can_in && !p->len && p->in >= 0)
		fill(p);
	if (p->len) {
		ssize_t n = write(p->out, p->buf + p->off, p->len);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			pump_close(p);	/* the writer behind us gets EPIPE */
			return;
		}
		if (n > 0) {
			p->off += (size_t)n;
			p->len -= (size_t)n;
		}
	}
	if (p->in_eof && !p->len)
		drop(p, &p->out);	/* the end travels on */
}

/* Write all of @p's buffer, waiting for its output as long as it takes. */
static bool
flush_all(struct pump *p)
{
	struct pollfd pf = { .fd = p->out, .events = POLLOUT };

	while (p->len && p->out >= 0) {
		pump_io(p, false);
		if (p->len && poll(&pf, 1, -1) < 0 && errno != EINTR)
			return false;
	}
	return p->out >= 0;
}

/**
 * pump_drain() - after the command ended, pass on what it left behind.
 * @p: a pump from the command's output to the host.
 *
 * A pipe: exactly the bytes in it at this moment (FIONREAD), since the
 * command's writes completed before it exited; a background process that
 * keeps the pipe open and writing cannot hold the status back. A pty
 * delivers the last output a little later (the kernel pushes it through
 * its line discipline from a work queue), so there: until it has nothing
 * more within a short wait. Output waits for the host's reader as long as
 * it takes (back-pressure), and ends if the reader is gone.
 */
void
pump_drain(struct pump *p)
{
	struct pollfd pf = { .fd = p->in, .events = POLLIN };
	int left = 0;
	bool tty = p->in >= 0 && p->in == p->keep;

	if (!tty && p->in >= 0 && ioctl(p->in, FIONREAD, &left) < 0)
		left = 0;
	while (flush_all(p) && p->in >= 0) {
		if (tty ? poll(&pf, 1, DRAIN_SETTLE_MS) <= 0 : left <= 0)
			break;
		fill(p);
		if (!p->len)
			break;	/* its end, or nothing after all */
		left -= (int)p->len;
	}
	pump_close(p);
}
