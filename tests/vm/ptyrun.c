// SPDX-License-Identifier: MIT
/*
 * ptyrun - run a command on a fresh pseudo-terminal and drive it, for the
 * terminal tests: `capsa` must see a real terminal, not an assumption.
 *
 *   ptyrun [-s ROWSxCOLS] [-i SCRIPT] -- COMMAND [ARG...]
 *
 * SCRIPT is a ';'-separated list of steps:
 *   wait:TEXT    wait (up to 30 s) until the output so far contains TEXT
 *   send:TEXT    type TEXT (\r, \n, \xHH escapes)
 *   sleep:MS     pause
 *   winch:RxC    resize the terminal (the kernel sends SIGWINCH)
 *   kill:SIG     send signal number SIG to the command
 *
 * Prints everything the command wrote to the terminal on stdout, then on
 * stderr: "EXIT <status>" (128+N for signal N) and "RESTORED yes|no",
 * whether the terminal settings after the command match those before.
 * Exits 1 when a wait step times out, or when the command is still running
 * 60 s after the script ended (it is then killed).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static char out[1 << 20];
static size_t out_len;
static int master;

/* Like a real terminal, answer "where is the cursor?" (busybox ash asks). */
static void
answer_queries(size_t from)
{
	for (char *q = out + (from > 3 ? from - 3 : 0); (q = strstr(q, "\033[6n")); q += 4)
		(void)!write(master, "\033[1;1R", 6);
}

static void
pump(int ms)
{
	struct pollfd p = { .fd = master, .events = POLLIN };

	while (poll(&p, 1, ms) > 0) {
		ssize_t n = read(master, out + out_len, sizeof(out) - 1 - out_len);

		if (n <= 0)
			return;
		out_len += (size_t)n;
		out[out_len] = 0;
		answer_queries(out_len - (size_t)n);
		ms = 0;
	}
}

static void
unescape(const char *s, char *d, size_t *len)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'r') { d[n++] = '\r'; s++; }
		else if (*s == '\\' && s[1] == 'n') { d[n++] = '\n'; s++; }
		else if (*s == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = { s[2], s[3], 0 };
			d[n++] = (char)strtol(hex, NULL, 16);
			s += 3;
		} else {
			d[n++] = *s;
		}
	}
	*len = n;
}

static int
step(char *st, pid_t child)
{
	char buf[512];
	size_t len;
	unsigned r, c;

	if (!strncmp(st, "wait:", 5)) {
		time_t end = time(NULL) + 30;

		while (!strstr(out, st + 5)) {
			if (time(NULL) > end) {
				fprintf(stderr, "ptyrun: timed out waiting for '%s'\n", st + 5);
				return -1;
			}
			pump(100);
		}
	} else if (!strncmp(st, "send:", 5)) {
		unescape(st + 5, buf, &len);
		(void)!write(master, buf, len);	/* the command may be gone */
	} else if (!strncmp(st, "sleep:", 6)) {
		pump(atoi(st + 6));
	} else if (sscanf(st, "winch:%ux%u", &r, &c) == 2) {
		struct winsize ws = { .ws_row = (unsigned short)r, .ws_col = (unsigned short)c };

		ioctl(master, TIOCSWINSZ, &ws);
	} else if (!strncmp(st, "kill:", 5)) {
		kill(child, atoi(st + 5));
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios before, after;
	char *script = NULL, *slave;
	int opt, status, rc = 0;
	unsigned r, c;
	pid_t child;

	while ((opt = getopt(argc, argv, "+s:i:")) != -1) {
		if (opt == 's' && sscanf(optarg, "%ux%u", &r, &c) == 2) {
			ws.ws_row = (unsigned short)r;
			ws.ws_col = (unsigned short)c;
		} else if (opt == 'i') {
			script = optarg;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: ptyrun [-s RxC] [-i SCRIPT] -- COMMAND [ARG...]\n");
		return 2;
	}
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) || !(slave = ptsname(master)))
		return perror("ptyrun: pty"), 2;
	ioctl(master, TIOCSWINSZ, &ws);
	tcgetattr(master, &before);
	child = fork();
	if (child == 0) {
		int s;

		setsid();
		s = open(slave, O_RDWR);
		ioctl(s, TIOCSCTTY, 0);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	for (char *st = script ? strtok(script, ";") : NULL; st; st = strtok(NULL, ";"))
		if (step(st, child) < 0) {
			rc = 1;
			kill(child, SIGKILL);
			break;
		}
	for (time_t end = time(NULL) + 60; waitpid(child, &status, WNOHANG) == 0; pump(50))
		if (time(NULL) > end) {
			fprintf(stderr, "ptyrun: the command did not end; killing it\n");
			kill(child, SIGKILL);
			rc = 1;
		}
	pump(100);
	tcgetattr(master, &after);
	fwrite(out, 1, out_len, stdout);
	fprintf(stderr, "EXIT %d\nRESTORED %s\n",
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		before.c_lflag == after.c_lflag && before.c_iflag == after.c_iflag &&
		before.c_oflag == after.c_oflag ? "yes" : "no");
	return rc;
}
