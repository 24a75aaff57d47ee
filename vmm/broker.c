// SPDX-License-Identifier: MIT
/*
 * broker.c - the helper process capsa keeps outside its jail.
 *
 * Theory of operation: the jailed VMM can neither create sockets nor
 * resolve paths, yet some things need them after the jail: connecting to
 * the unix socket PATH_<port> for a guest connection through the --vsock
 * bridge, every connection of --net user (vmm/net/broker.c has the whole
 * story), and removing the sockets capsa created (--vsock PATH, --control
 * PATH) however capsa ends, kill -9 included. So before the jail capsa
 * forks the broker, which keeps filesystem and network access and does
 * exactly that, asked over a socketpair in typed messages (vmm/net/msg.h).
 * This file is the VMM's side: it gathers what the broker will own and
 * serve, forks it, and waits for it at exit; virtio/vsock_net.c talks to
 * it.
 *
 * Everything the broker does is fixed when it is forked: the paths it
 * removes, the one prefix it connects under, the --net user policy. The
 * VMM sends it nothing but message types and port numbers, so a
 * compromised VMM can make it reach no other socket and change no rule.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "net/broker.h"

static struct {
	struct broker_config cfg;	/* what the broker will own and serve */
	pid_t pid;			/* > 0 while the broker runs */
	bool reaped;			/* broker_why() waited for it */
	int fd;				/* our end of the socketpair */
	bool hooked;
} br = { .cfg = { .log_fd = -1 }, .fd = -1 };

static void
broker_atexit(void)
{
	if (br.pid <= 0) {
		broker_remove_owned(&br.cfg);	/* no broker yet: capsa cleans up itself */
		br.cfg.nowned = 0;
		return;
	}
	/* EOF tells the broker to clean up; wait so the paths are gone when we are. */
	close(br.fd);
	if (!br.reaped)
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
	struct broker_owned *o = &br.cfg.owned[br.cfg.nowned];
	struct stat st;

	if (br.pid > 0)
		return -EBUSY;
	if (br.cfg.nowned == BROKER_MAX_OWNED)
		return -ENOSPC;
	if (strlen(path) >= sizeof(o->path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return -errno;
	strcpy(o->path, path);
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	br.cfg.nowned++;
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
	if (strlen(path) >= sizeof(br.cfg.bridge))
		return -ENAMETOOLONG;
	strcpy(br.cfg.bridge, path);
	return 0;
}

/**
 * broker_net() - have the broker serve --net user's connections too.
 * @policy:  the rules (kept: the broker gets its own copy at fork).
 * @log_fd:  --net-log's file, or -1; the broker's alone after the fork.
 * @verbose: print refusals on stderr.
 * @jail:    --jail's mode, for the broker's own confinement.
 *
 * Call before broker_start().
 */
void
broker_net(struct net_policy *policy, int log_fd, bool verbose, enum jail_mode jail)
{
	br.cfg.policy = policy;
	br.cfg.log_fd = log_fd;
	br.cfg.verbose = verbose;
	br.cfg.jail = jail;
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

	if (br.pid > 0 || (!br.cfg.nowned && !br.cfg.bridge[0] && !br.cfg.policy))
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
	if (br.pid == 0) {
		close(sv[0]);
		broker_main(sv[1], &br.cfg);
	}
	close(sv[1]);
	if (br.cfg.log_fd >= 0)
		close(br.cfg.log_fd);	/* the broker's */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	br.fd = sv[0];
	if (!br.hooked)
		atexit(broker_atexit);
	br.hooked = true;
	return 0;
}

/**
 * broker_channel() - the VMM's end of the broker's channel, or -1 when
 * there is no broker.
 */
int
broker_channel(void)
{
	return br.pid > 0 ? br.fd : -1;
}

/**
 * broker_why() - how the broker ended, once its channel reached EOF: its
 * exit status or the signal that killed it (SIGSYS: its seccomp filter),
 * if it has ended yet (no waiting: this runs on the event loop).
 * @buf: the words, for the warning that it is gone.
 * @len: their room.
 */
void
broker_why(char *buf, size_t len)
{
	int st = 0;

	if (br.pid <= 0 || br.reaped || wait4(br.pid, &st, WNOHANG, NULL) != br.pid) {
		snprintf(buf, len, "its channel closed");
		return;
	}
	br.reaped = true;
	if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "it exited with status %d", WEXITSTATUS(st));
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
