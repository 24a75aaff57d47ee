// SPDX-License-Identifier: MIT
/*
 * ns.c - stage 1 of the jail: namespaces, see the Theory of Operation in
 * jail.c.
 *
 * Root unshares mount, IPC and network directly. A user without the
 * privilege for that first enters a user namespace in which it holds every
 * capability (mapping only its own uid and gid, so it stays who it is to
 * the rest of the host), and unshares the others from there.
 *
 * Root without that privilege (a container's root: no CAP_SYS_ADMIN, but
 * CAP_SETUID and CAP_SETGID, as Podman and Docker give it) maps the --user
 * identity into the namespace as well, so that the capabilities stage can
 * still switch to it. A process may map more than itself only with those
 * capabilities outside the new namespace, which it no longer has once it
 * entered: a child forked before the unshare writes the maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
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

/* "0 0 1", plus "@id @id 1" unless @id is 0: root, and the --user identity. */
static void
root_and(char *map, size_t len, unsigned id)
{
	snprintf(map, len, id ? "0 0 1\n%u %u 1\n" : "0 0 1\n", id, id);
}

/*
 * The child that maps root and run->uid/gid for its parent once the parent
 * says (a byte on @go) that it entered the user namespace. Exits 0 if both
 * maps were written.
 */
static void __attribute__((noreturn))
map_helper(const struct jail_run *run, int go)
{
	char path[64], map[64], c;

	if (read(go, &c, 1) != 1)
		_exit(1);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)getppid());
	root_and(map, sizeof(map), run->uid);
	if (write_proc(path, map))
		_exit(1);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)getppid());
	root_and(map, sizeof(map), run->gid);
	_exit(write_proc(path, map) ? 1 : 0);
}

/* Fork map_helper(); *@go is what to tell it on. Return: its pid, or -1. */
static pid_t
map_helper_start(const struct jail_run *run, int *go)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		map_helper(run, p[0]);
	}
	close(p[0]);
	if (pid < 0)
		close(p[1]);
	*go = p[1];
	return pid;
}

/* Let the helper map, or (@ok false) just end. Return: true if it mapped. */
static bool
map_helper_finish(pid_t pid, int go, bool ok)
{
	int status;

	if (ok)
		ok = write(go, "m", 1) == 1;
	close(go);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
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
	int go = -1, err;
	pid_t helper = run->root ? map_helper_start(run, &go) : -1;

	if (unshare(CLONE_NEWUSER) < 0) {
		err = -errno;
		if (helper > 0)
			map_helper_finish(helper, go, false);
		return err;
	}
	run->userns = true;
	if (helper > 0 && map_helper_finish(helper, go, true))
		return 0;
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
