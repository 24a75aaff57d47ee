// SPDX-License-Identifier: MIT
/*
 * term.c - raw mode for the host terminal. Keys, Ctrl-C included, go to the
 * guest's pty as bytes; its line discipline does the rest. The saved
 * settings come back at exit, from die(), and from a fatal signal handler,
 * so a crash or an error never leaves the user's shell in raw mode.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"
#include "util.h"

static struct termios saved;
static int saved_fd = -1;

/**
 * term_restore() - put the terminal back as it was; async-signal-safe.
 */
void
term_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSAFLUSH, &saved);
}

static void
fatal_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/**
 * term_raw() - put the terminal on @fd in raw mode until capsa exits.
 *
 * Return: 0, or -1 when @fd is not a terminal.
 */
int
term_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };
	struct termios raw;

	if (tcgetattr(fd, &saved) < 0)
		return -1;
	saved_fd = fd;
	atexit(term_restore);
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	raw = saved;
	cfmakeraw(&raw);
	return tcsetattr(fd, TCSAFLUSH, &raw);
}

/**
 * term_size() - the size of the terminal on stdin, stdout or stderr.
 *
 * Return: false when none of them is a terminal.
 */
bool
term_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	for (int fd = 0; fd < 3; fd++)
		if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
			*rows = ws.ws_row;
			*cols = ws.ws_col;
			return true;
		}
	return false;
}

/**
 * term_env() - the TERM entry for a command given a pty: the host's, when
 * it is set and short, else xterm.
 * @buf: filled with "TERM=...".
 * @len: its size, at least 48.
 */
void
term_env(char *buf, size_t len)
{
	const char *term = getenv("TERM");

	snprintf(buf, len, "TERM=%s", term && *term && strlen(term) < 40 ? term : "xterm");
}

/**
 * term_setup() - whether the command gets a terminal, and if so the host's
 * goes raw until capsa exits: keys, Ctrl-C included, are bytes for the
 * guest's pty.
 * @force: -t: a terminal even when capsa has none.
 * @auto_: when capsa has one on stdin and stdout.
 * @rows, @cols: its size (24x80 when unknown).
 *
 * Return: whether the command gets a terminal; exits on failure.
 */
bool
term_setup(bool force, bool auto_, unsigned *rows, unsigned *cols)
{
	bool have = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	if (!force && !(auto_ && have))
		return false;
	if (!term_size(rows, cols)) {
		*rows = 24;
		*cols = 80;
	}
	if (isatty(STDIN_FILENO) && term_raw(STDIN_FILENO) < 0)
		die("cannot put the terminal in raw mode: %s", strerror(errno));
	return true;
}
