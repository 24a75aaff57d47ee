// SPDX-License-Identifier: MIT
/*
 * tty.c - the command's terminal. When capsa runs on a terminal, the
 * command gets a pseudo-terminal in the guest: its line discipline turns
 * Ctrl-C and Ctrl-Z into signals for the foreground job, exactly as on the
 * host. init pumps bytes between the pty master and capsa's streams.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

/**
 * tty_open() - allocate a pty sized @rows x @cols.
 * @rows:  terminal rows.
 * @cols:  terminal columns.
 * @slave: the slave's path, filled in (at least 32 bytes).
 *
 * Return: the master fd (non-blocking), or -1.
 */
int
tty_open(unsigned rows, unsigned cols, char *slave)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, 32))
		return -1;
	ioctl(m, TIOCSWINSZ, &ws);
	return m;
}

/**
 * tty_attach() - in the child, after setsid(): make the slave the
 * controlling terminal and the command's stdin, stdout and stderr.
 *
 * Return: 0 or -1.
 */
int
tty_attach(const char *slave)
{
	int s = open(slave, O_RDWR);

	if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (dup2(s, i) < 0)
			return -1;
	if (s > 2)
		close(s);
	return 0;
}

/**
 * tty_resize() - the host terminal changed size: tell the pty, whose
 * kernel side sends SIGWINCH to the foreground job.
 */
void
tty_resize(int master, uint32_t rows_cols)
{
	struct winsize ws = { .ws_row = (unsigned short)(rows_cols >> 16),
			      .ws_col = (unsigned short)(rows_cols & 0xffff) };

	ioctl(master, TIOCSWINSZ, &ws);
}

/**
 * pump_events() - what @p waits for: input while its buffer is empty,
 * output while it holds bytes.
 */
void
pump_events(const struct pump *p, struct pollfd *in, struct pollfd *out)
{
	in->fd = p->in_eof || p->len ? -1 : p->in;
	in->events = POLLIN;
	out->fd = p->len ? p->out : -1;
	out->events = POLLOUT;
}

/**
 * pump_io() - move bytes for @p after poll().
 * @p:      the pump.
 * @can_in: its input fd was reported ready.
 * @can_out: its output fd was reported ready.
 *
 * Return: false once the output side failed for good.
 */
bool
pump_io(struct pump *p, bool can_in, bool can_out)
{
	if (can_in && !p->len) {
		ssize_t n = read(p->in, p->buf, sizeof(p->buf));

		if (n > 0) {
			p->len = (size_t)n;
			p->off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			p->in_eof = true;	/* EOF, or EIO: the pty slave closed */
			if (p->eof_byte) {
				p->buf[0] = p->eof_byte;
				p->len = 1;
				p->off = 0;
			}
		}
	}
	if ((can_out || p->len) && p->len) {
		ssize_t n = write(p->out, p->buf + p->off, p->len);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			p->off += (size_t)n;
			p->len -= (size_t)n;
		}
	}
	return true;
}

/**
 * pump_drain() - after the command ended, pass on what it left in the pty.
 * @p: the pty-to-host pump.
 *
 * Stops when the pty has nothing more within a short wait (a background
 * job may keep it open forever).
 */
void
pump_drain(struct pump *p)
{
	struct pollfd pf = { .fd = p->in, .events = POLLIN };

	fcntl(p->out, F_SETFL, fcntl(p->out, F_GETFL) & ~O_NONBLOCK);
	while (p->len || (!p->in_eof && poll(&pf, 1, 50) > 0))
		if (!pump_io(p, true, true))
			break;
}
