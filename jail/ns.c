// SPDX-License-Identifier: MIT
/*
 * ns.c - stage 1 of the jail: namespaces, see the Theory of Operation in
 * jail.c.
 *
 * Root unshares mount, IPC and network directly. A user without the
 * privilege for that first enters a user namespace in which it holds every
 * capability (mapping only its own uid and gid, so it stays who it is to
 * the rest of the host), and unshares the others from there.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stage.h"

static int
write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/*
 * setgroups must be denied before an unprivileged process may write its
 * gid_map (user_namespaces(7)); kernels older than 3.19 have no such file.
 */
static int
enter_userns(struct jail_run *run)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int err;

	if (unshare(CLONE_NEWUSER) < 0)
		return -errno;
	run->userns = true;
	snprintf(map, sizeof(map), "%u %u 1\n", uid, uid);
	err = write_proc("/proc/self/uid_map", map);
	if (err)
		return err;
	err = write_proc("/proc/self/setgroups", "deny\n");
	if (err && err != -ENOENT)
		return err;
	snprintf(map, sizeof(map), "%u %u 1\n", gid, gid);
	return write_proc("/proc/self/gid_map", map);
}

/**
 * stage_namespaces() - unshare mount, IPC and (without a tap) network.
 * @run:    the jail run; run->private_mounts is set on success.
 * @detail: what was unshared, or why not.
 * @len:    its size.
 *
 * Return: 0 or -errno.
 */
int
stage_namespaces(struct jail_run *run, char *detail, size_t len)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | (run->j->keep_net ? 0 : CLONE_NEWNET);
	int err = 0;

	if (unshare(flags) < 0) {
		err = errno == EPERM ? enter_userns(run) : -errno;
		if (err)
			return jail_detail(detail, len, err, "%s: %s", run->userns ?
					 "user namespace" : "unshare needs privilege, and no user namespace",
					 strerror(-err));
		if (unshare(flags) < 0)
			return jail_detail(detail, len, -errno, "unshare in a user namespace: %s",
					 strerror(errno));
	}
	run->private_mounts = true;
	return jail_detail(detail, len, 0, "mount, ipc%s%s", run->j->keep_net ? "" : ", net",
			 run->userns ? " (in a user namespace)" : "");
}
