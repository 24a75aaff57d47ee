// SPDX-License-Identifier: MIT
/*
 * broker.c - the helper process capsa keeps outside its jail.
 *
 * Theory of operation: the jailed VMM can neither create sockets nor
 * resolve paths, yet two things need the filesystem after the jail:
 * connecting to the unix socket PATH_<port> for a guest connection through
 * the --vsock bridge, and removing the sockets capsa created (--vsock PATH,
 * --control PATH) however capsa ends, kill -9 included. So before the jail
 * capsa forks this broker, which keeps filesystem access and does exactly
 * that: it answers each port number the VMM sends over a socketpair with a
 * socket connected to <bridge path>_<port> (or an errno), and once the
 * socketpair reaches EOF (capsa is gone, however it ended) it removes every
 * path it was given, if each is still the socket capsa created there.
 *
 * Everything the broker does is fixed when it is forked: the paths it
 * removes and the one prefix it connects under. The VMM sends it nothing
 * but a number, so a compromised VMM can make it reach no other socket.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "util.h"

#define MAX_OWNED 4
#define SUN_LEN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct owned {
	char path[SUN_LEN_MAX];
	dev_t dev;
	ino_t ino;
};

static struct {
	struct owned owned[MAX_OWNED];
	unsigned nowned;
	char bridge[SUN_LEN_MAX];	/* connect <bridge>_<port>; empty: none */
	pid_t pid;			/* > 0 while the broker runs */
	int fd;				/* our end of the socketpair */
	bool hooked;
} br = { .fd = -1 };

struct broker_reply {
	int err;			/* 0: the socket comes with it */
};

/* Remove each owned path that is still the socket capsa created. */
static void
remove_owned(void)
{
	struct stat st;

	for (unsigned i = 0; i < br.nowned; i++)
		if (lstat(br.owned[i].path, &st) == 0 && st.st_dev == br.owned[i].dev &&
		    st.st_ino == br.owned[i].ino)
			unlink(br.owned[i].path);
	br.nowned = 0;
}

static void
broker_atexit(void)
{
	if (br.pid <= 0) {
		remove_owned();		/* no broker yet: capsa cleans up itself */
		return;
	}
	/* EOF tells the broker to clean up; wait so the paths are gone when we are. */
	close(br.fd);
	waitpid(br.pid, NULL, 0);
	br.pid = 0;
}

/**
 * broker_own_path() - remove @path when capsa exits, however it exits.
 * @path: a socket capsa just created; removed only while it is still that
 *        socket (same device and inode), so a path reused since is left be.
 *
 * Call before broker_start().
 *
 * Return: 0, -ENOSPC, -ENAMETOOLONG, -EBUSY once the broker runs, or -errno.
 */
int
broker_own_path(const char *path)
{
	struct owned *o = &br.owned[br.nowned];
	struct stat st;

	if (br.pid > 0)
		return -EBUSY;
	if (br.nowned == MAX_OWNED)
		return -ENOSPC;
	if (strlen(path) >= sizeof(o->path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return -errno;
	strcpy(o->path, path);
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	br.nowned++;
	if (!br.hooked)
		atexit(broker_atexit);
	br.hooked = true;
	return 0;
}

/**
 * broker_bridge() - have the broker connect to @path_<port> on request.
 *
 * Call before broker_start().
 *
 * Return: 0, or -ENAMETOOLONG.
 */
int
broker_bridge(const char *path)
{
	if (strlen(path) >= sizeof(br.bridge))
		return -ENAMETOOLONG;
	strcpy(br.bridge, path);
	return 0;
}

/* ---- the broker (outside the jail) ------------------------------------- */

static int
connect_port(uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s;

	if (!br.bridge[0])
		return -ECONNREFUSED;
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s_%" PRIu32, br.bridge, port) >=
	    sizeof(a.sun_path))
		return -ENAMETOOLONG;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

static void
reply(int sock, int fd)
{
	struct broker_reply r = { .err = fd < 0 ? -fd : 0 };
	struct iovec iov = { &r, sizeof(r) };
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)!sendmsg(sock, &m, MSG_NOSIGNAL);
	if (fd >= 0)
		close(fd);
}

/* Keep only @keep: the broker must not hold capsa's stdio, terminal or VM. */
static void
close_other_fds(int keep)
{
	if (keep > 3)
		syscall(SYS_close_range, 0, keep - 1, 0);
	else
		for (int fd = 0; fd < keep; fd++)
			close(fd);
	syscall(SYS_close_range, keep + 1, ~0U, 0);
}

static void __attribute__((noreturn))
broker_main(int sock)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGWINCH };
	sigset_t none;
	uint32_t port;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned i = 0; i < ARRAY_SIZE(ignored); i++)
		signal(ignored[i], SIG_IGN);
	prctl(PR_SET_NAME, "capsa-vsock");
	close_other_fds(sock);
	while (recv(sock, &port, sizeof(port), 0) == sizeof(port))
		reply(sock, connect_port(port));
	remove_owned();		/* capsa ended */
	_exit(0);
}

/**
 * broker_start() - fork the broker, when there is anything for it to do.
 *
 * Call after every socket it must remove was created (broker_own_path())
 * and before the jail and before the tap is opened (the broker must not
 * hold the tap: one capsa created vanishes when capsa exits).
 *
 * Return: 0 or -errno.
 */
int
broker_start(void)
{
	int sv[2];

	if (br.pid > 0 || (!br.nowned && !br.bridge[0]))
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	br.pid = fork();
	if (br.pid < 0) {
		int e = -errno;

		close(sv[0]);
		close(sv[1]);
		return e;
	}
	if (br.pid == 0)
		broker_main(sv[1]);
	close(sv[1]);
	br.fd = sv[0];
	if (!br.hooked)
		atexit(broker_atexit);
	br.hooked = true;
	return 0;
}

/**
 * broker_connect() - a socket connected to <bridge path>_<port>, from the
 * broker; the jailed VMM's only way to reach a host socket.
 *
 * Return: the fd (close-on-exec, non-blocking), or -errno.
 */
int
broker_connect(uint32_t port)
{
	struct broker_reply r;
	struct iovec iov = { &r, sizeof(r) };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int fd = -1;

	if (br.pid <= 0)
		return -ECONNREFUSED;
	if (write(br.fd, &port, sizeof(port)) != sizeof(port) ||
	    recvmsg(br.fd, &m, MSG_CMSG_CLOEXEC) != sizeof(r))
		return -EPIPE;
	if (r.err)
		return -r.err;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd >= 0 ? fd : -EPROTO;
}

/**
 * broker_listen() - a listening unix socket created at @path, mode 0600
 * (only its owner, the user who ran capsa, may connect), removed at exit.
 * @path: must not exist.
 *
 * Return: the socket (close-on-exec, non-blocking), -EEXIST when @path
 * exists, -ENAMETOOLONG, or -errno.
 */
int
broker_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, err = 0;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* bind() creates the file with the umask's mode: make that 0600 at once. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = errno == EADDRINUSE ? -EEXIST : -errno;
	umask(old);
	if (err) {			/* PATH is not ours: leave it alone */
		close(fd);
		return err;
	}
	err = broker_own_path(path);
	if (err)
		unlink(path);	/* not owned: nobody else would remove it */
	else if (listen(fd, 128) < 0)
		err = -errno;	/* owned: removed at exit */
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
