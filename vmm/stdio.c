// SPDX-License-Identifier: MIT
/*
 * stdio.c - capsa's own stdin, stdout and stderr, made ready to carry the
 * command's streams without disturbing whoever shares them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stdio.h"

/**
 * stdio_ensure() - make sure fds 0-2 exist.
 *
 * Otherwise the first files capsa opens would take their place, and the
 * command's output would land in a disk image.
 *
 * Return: 0, or -errno when /dev/null cannot stand in.
 */
int
stdio_ensure(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return errno ? -errno : -EBADF;
	return 0;
}

/* Shared open file descriptions capsa made non-blocking, to undo at exit. */
static struct { int fd, flags; } shared_fl[3];
static unsigned n_shared_fl;

static void
restore_shared_flags(void)
{
	for (unsigned i = 0; i < n_shared_fl; i++)
		fcntl(shared_fl[i].fd, F_SETFL, shared_fl[i].flags);
}

/**
 * stdio_fd() - a private non-blocking descriptor for stdio fd @fd.
 * @fd:    0, 1 or 2.
 * @flags: O_RDONLY or O_WRONLY.
 *
 * Pipes and terminals are reopened through /proc, which gives a new open
 * file description: setting O_NONBLOCK on the shared one would change it
 * for the shell that started us too. Regular files stay as they are (they
 * are always ready, and epoll refuses them). Sockets cannot be reopened:
 * their shared description goes non-blocking until capsa exits.
 *
 * Return: the descriptor to use, or -1.
 */
int
stdio_fd(int fd, int flags)
{
	char path[32];
	struct stat st;
	int nfd;

	if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd >= 0)
		return nfd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	flags = fcntl(fd, F_GETFL);
	if (nfd < 0 || flags < 0 || (flags & O_NONBLOCK))
		return nfd;
	if (!n_shared_fl)
		atexit(restore_shared_flags);
	shared_fl[n_shared_fl].fd = nfd;
	shared_fl[n_shared_fl++].flags = flags;
	fcntl(nfd, F_SETFL, flags | O_NONBLOCK);
	return nfd;
}
