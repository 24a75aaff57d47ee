// SPDX-License-Identifier: MIT
/*
 * exec_mux.c - one exec's mux: the protocol of exec_wire.h with its client
 * (see the Theory of Operation in exec.c).
 *
 * Nothing here blocks: the client's frames are read whenever they come, so
 * a SIGNAL is never stuck behind stdin the command does not read (the
 * client keeps its stdin within WIRE_WINDOW, which the mux buffers); the
 * command's output is read one frame at a time, only once the last frame
 * is out, so a slow client slows the command down and nothing grows.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_int.h"
#include "proto.h"

static void
tx_frame(struct mux *m, uint8_t type, const void *data, uint32_t len)
{
	wire_header(m->tx + m->tx_len, type, len);
	memcpy(m->tx + m->tx_len + WIRE_HDR, data, len);
	m->tx_len += WIRE_HDR + len;
}

/* Write what the client can take now; false once it is gone. */
static bool
tx_flush(struct mux *m)
{
	uint8_t ack[4];

	if (m->unacked && m->tx_len + WIRE_HDR + 4 <= TX_CAP) {
		wire_put_u32(ack, m->unacked);
		tx_frame(m, W_ACK, ack, 4);
		m->unacked = 0;
	}
	while (m->tx_off < m->tx_len) {
		ssize_t n = write(m->sock, m->tx + m->tx_off, m->tx_len - m->tx_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		m->tx_off += (size_t)n;
	}
	m->tx_off = m->tx_len = 0;
	return true;
}

/**
 * mux_end() - the last frame: wait for the client to take it, a little,
 * and end the mux. After EXIT what the command left running goes on;
 * after ERROR the exec is killed.
 */
void __attribute__((noreturn))
mux_end(struct mux *m, uint8_t type, const void *data, uint32_t len)
{
	struct pollfd p = { .fd = m->sock, .events = POLLOUT };
	int64_t until = now_ms() + STOP_WAIT_MS;

	if (m->tx_len + WIRE_HDR + len <= TX_CAP)
		tx_frame(m, type, data, len);
	while (tx_flush(m) && m->tx_len && now_ms() < until)
		poll(&p, 1, (int)(until - now_ms()));
	if (type == W_ERROR)
		kill_exec(m->cgroup, 0);
	if (m->cgroup[0])
		rmdir(m->cgroup);	/* only if nothing of the exec runs on */
	_exit(0);
}

/**
 * mux_error() - end the exec with an ERROR frame: capsa's failure (125).
 */
void
mux_error(struct mux *m, const char *fmt, ...)
{
	char text[WIRE_ERROR_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mux_end(m, W_ERROR, text, (uint32_t)MIN(MAX(n, 1), (int)sizeof(text) - 1));
}

static void
to_relay(struct mux *m, uint32_t type, int32_t value)
{
	struct capsa_msg msg = { type, value };

	(void)!write(m->ctl, &msg, sizeof(msg));
}

/* Feed the command's stdin; what it takes (or drops, once closed) is ACKed. */
static void
feed_stdin(struct mux *m)
{
	while (m->inq_len && !m->in_dead) {
		ssize_t n = write(m->in, m->inq + m->inq_off, m->inq_len);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			m->in_dead = true;	/* the command closed its stdin */
			break;
		}
		m->inq_off += (size_t)n;
		m->inq_len -= (size_t)n;
		m->unacked += (uint32_t)n;
	}
	if (m->in_dead) {
		m->unacked += (uint32_t)m->inq_len;
		m->inq_len = 0;
	}
	if (!m->inq_len)
		m->inq_off = 0;
	if (!m->inq_len && m->in_eof && m->in >= 0) {
		close(m->in);		/* the end travels on: EOF (or ^D on a pty) */
		m->in = -1;
	}
}

static void
on_stdin(struct mux *m, const struct wire_frame *f)
{
	if (m->in_eof)
		mux_error(m, "stdin data after its EOF");
	if (m->inq_len + f->len > WIRE_WINDOW)
		mux_error(m, "the client sent more than %d bytes of stdin ahead of ACKs",
			  WIRE_WINDOW);
	if (m->in_dead) {
		m->unacked += f->len;
		return;
	}
	if (m->inq_off + m->inq_len + f->len > WIRE_WINDOW) {
		memmove(m->inq, m->inq + m->inq_off, m->inq_len);
		m->inq_off = 0;
	}
	memcpy(m->inq + m->inq_off + m->inq_len, f->data, f->len);
	m->inq_len += f->len;
	feed_stdin(m);
}

static void
on_frame(struct mux *m, const struct wire_frame *f)
{
	uint32_t v = f->len == 4 ? wire_u32(f->data) : 0;
	int i;

	switch (f->type) {
	case W_STDIN:
		on_stdin(m, f);
		break;
	case W_EOF:
		m->in_eof = true;
		feed_stdin(m);
		break;
	case W_SIGNAL:
		if (v < 1 || v > 64)
			mux_error(m, "signal %u is not 1 to 64", v);
		to_relay(m, MSG_SIGNAL, (int32_t)v);
		break;
	case W_RESIZE:
		if (!(v & 0xffff) || !(v >> 16))
			mux_error(m, "a window of 0 rows or columns");
		to_relay(m, MSG_WINSIZE, (int32_t)((v & 0xffff) << 16 | v >> 16));
		break;
	case W_CLOSE:
		i = f->data[0] - 1;
		if (i != 0 && i != 1)
			mux_error(m, "CLOSE names output %u, not 1 or 2", f->data[0]);
		if (m->out[i] >= 0)
			close(m->out[i]);	/* the command's next write there: SIGPIPE */
		m->out[i] = -1;
		break;
	default:			/* a second START */
		mux_error(m, "START came twice");
	}
}

/* Output from the command: one frame's worth, when the last one is out. */
static void
on_output(struct mux *m, int i)
{
	ssize_t n = read(m->out[i], m->tx + WIRE_HDR, WIRE_DATA_MAX);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {			/* the relay closed it: all output is here */
		close(m->out[i]);
		m->out[i] = -1;
		return;
	}
	wire_header(m->tx, i ? W_STDERR : W_STDOUT, (uint32_t)n);
	m->tx_len = WIRE_HDR + (size_t)n;
}

/* Act on every complete frame the client sent so far. */
static void
client_frames(struct mux *m)
{
	struct wire_frame f;
	const char *why;
	int r;

	while ((r = wire_rx_next(&m->rx, &f, &why)) > 0)
		on_frame(m, &f);
	if (r < 0)
		mux_error(m, "%s", why);
}

/* Bytes from the client. It never half-closes: its end is the exec's. */
static void
on_client(struct mux *m)
{
	uint8_t *at;
	size_t room = wire_rx_space(&m->rx, &at);
	ssize_t n = room ? read(m->sock, at, room) : -1;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		kill_exec(m->cgroup, 0);
		_exit(0);		/* the relay sees its control end close too */
	}
	m->rx.len += (size_t)n;
	client_frames(m);
}

static void
on_signals(struct mux *m, int sfd)
{
	struct signalfd_siginfo si;
	int wstatus;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM)
			mux_error(m, "the sandbox ended: its main command exited");
	if (m->status < 0 && waitpid(m->relay, &wstatus, WNOHANG) == m->relay)
		m->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

/**
 * mux_loop() - an exec's life: frames both ways until the relay is gone
 * and its output is out, then EXIT.
 * @m:   the exec, its relay started.
 * @sfd: signalfd for SIGCHLD (the relay) and SIGTERM (the sandbox ends).
 */
void
mux_loop(struct mux *m, int sfd)
{
	client_frames(m);	/* what came with START */
	for (;;) {
		bool tx_idle = !m->tx_len;
		struct pollfd p[5] = {
			{ .fd = m->sock, .events = POLLIN | (tx_idle ? 0 : POLLOUT) },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = m->inq_len && !m->in_dead ? m->in : -1, .events = POLLOUT },
			{ .fd = tx_idle ? m->out[0] : -1, .events = POLLIN },
			{ .fd = tx_idle ? m->out[1] : -1, .events = POLLIN },
		};
		int64_t left = m->deadline && !m->timed_out ? m->deadline - now_ms() : -1;
		uint8_t status[4];

		if (m->status >= 0 && m->out[0] < 0 && m->out[1] < 0 && tx_idle) {
			wire_put_u32(status, m->timed_out ? 124 : (uint32_t)m->status);
			mux_end(m, W_EXIT, status, 4);
		}
		if (poll(p, 5, left < 0 ? -1 : (int)MIN(left, 1 << 30)) == 0 && left >= 0) {
			m->timed_out = true;	/* --timeout: the exec ends, status 124 */
			kill_exec(m->cgroup, 0);
			close(m->ctl);
			m->ctl = -1;
		}
		if (p[1].revents)
			on_signals(m, sfd);
		if (p[2].revents)
			feed_stdin(m);
		for (int i = 0; i < 2; i++)
			if (p[3 + i].revents && !m->tx_len)
				on_output(m, i);
		if (p[0].revents & POLLIN)
			on_client(m);
		if (!tx_flush(m)) {
			kill_exec(m->cgroup, 0);
			_exit(0);
		}
	}
}

