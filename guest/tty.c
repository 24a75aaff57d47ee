// SPDX-License-Identifier: MIT
/*
 * tty.c - the command's terminal. When capsa runs on a terminal, the
 * command gets a pseudo-terminal in the guest: its line discipline turns
 * Ctrl-C and Ctrl-Z into signals for the foreground job, exactly as on the
 * host. The session's relays (relay.c) carry bytes between the pty master
 * and capsa's streams.
 */
#include <fcntl.h>
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
