// SPDX-License-Identifier: MIT
/*
 * util.c - logging, number parsing and I/O helpers.
 */
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int log_verbose;
static double log_t0 = -1;

/**
 * now_ms() - monotonic time in milliseconds.
 */
double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
log_line(const char *tag, const char *fmt, va_list ap)
{
	char buf[512];
	int n = 0;

	if (log_t0 < 0)
		log_t0 = now_ms();
	if (log_verbose)
		n = snprintf(buf, sizeof(buf), "capsa[%8.2fms]: %s", now_ms() - log_t0, tag);
	else
		n = snprintf(buf, sizeof(buf), "capsa: %s", tag);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line so concurrent threads never interleave mid-line. */
	(void)!write(STDERR_FILENO, buf, n);
}

/**
 * errmsg() - write a one-line message for the caller to show.
 * @err: the buffer.
 * @len: its size.
 * @fmt: printf format.
 *
 * Return: -1, for `return errmsg(...)`.
 */
int
errmsg(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * log_info() - a progress line on stderr, shown only with --verbose.
 * @fmt: printf format.
 */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

/**
 * log_warn() - a warning line on stderr, always shown.
 * @fmt: printf format.
 */
void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

/**
 * log_state() - one line of capsa's state dump (SIGUSR1), always shown.
 * @fmt: printf format.
 */
void
log_state(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("state: ", fmt, ap);
	va_end(ap);
}

/**
 * die() - print one line naming the cause and exit with EXIT_CAPSA.
 * @fmt: printf format.
 *
 * Only for setup in capsa.c; exit handlers restore the terminal and remove
 * what capsa created.
 */
void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
	exit(EXIT_CAPSA);
}

/**
 * parse_u64() - parse a decimal number within [min, max].
 * @s:   the text; no sign, no suffix, no spaces.
 * @min: smallest accepted value.
 * @max: largest accepted value.
 * @out: the value, set only on success.
 *
 * Return: 0, -EINVAL when @s is not a number, -ERANGE when outside the range.
 */
int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || s[strspn(s, "0123456789")])
		return -EINVAL;
	for (; *s; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/**
 * write_all() - write a whole buffer to a blocking fd.
 * @fd:  destination.
 * @buf: bytes.
 * @len: their number.
 *
 * Return: 0 or -errno.
 */
int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Drop "." and ".." components and repeated slashes from an absolute path. */
static void
normalize(char *path)
{
	char *out = path, *in = path;

	while (*in) {
		while (*in == '/')
			in++;
		char *end = strchrnul(in, '/');
		size_t n = (size_t)(end - in);

		if (n == 0 || (n == 1 && in[0] == '.')) {
			/* nothing */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in = end;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

/**
 * path_absolute() - @path made absolute (against the working directory)
 * and free of "." and ".." components, without resolving symlinks.
 * @path: any path.
 * @out:  the result.
 * @len:  size of @out.
 *
 * Return: 0, or -ENAMETOOLONG.
 */
int
path_absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		if (strlen(path) >= len)
			return -ENAMETOOLONG;
		strcpy(out, path);
	} else if (!getcwd(cwd, sizeof(cwd)) ||
		   (size_t)snprintf(out, len, "%s/%s", cwd, path) >= len) {
		return -ENAMETOOLONG;
	}
	normalize(out);
	return 0;
}
