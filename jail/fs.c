// SPDX-License-Identifier: MIT
/*
 * fs.c - stage 2 of the jail: an empty, read-only root, see the Theory of
 * Operation in jail.c.
 *
 * The tmpfs is mounted on an existing directory of capsa's private mount
 * namespace (any will do: it becomes the root), and pivot_root(".", ".")
 * stacks the old root on top of the new one so that a lazy unmount of "."
 * detaches it (as passt does). Nothing of the host stays reachable by path:
 * what capsa needs later it holds as fds. The
 * initial ramfs cannot be pivoted away from (pivot_root(2), NOTES), so a
 * capsa whose root is the initramfs moves the tmpfs over "/" and chroots
 * into it instead, as switch_root does: the old root is then covered
 * rather than detached, and still out of reach.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "stage.h"

#define TMPFS_OPTS	"size=64k,nr_inodes=64,mode=0755"
#define TMPFS_FLAGS	(MS_NOSUID | MS_NODEV | MS_NOEXEC)

static const char *const mount_points[] = { "/tmp", "/run", "/mnt", "/dev" };

/* A directory to mount the tmpfs on: any existing one will do. */
static const char *
mount_point(void)
{
	struct stat st;

	for (unsigned i = 0; i < sizeof(mount_points) / sizeof(mount_points[0]); i++)
		if (stat(mount_points[i], &st) == 0 && S_ISDIR(st.st_mode))
			return mount_points[i];
	return NULL;
}

/* Make the current directory the root; says how in *how. */
static int
enter_root(const char **how)
{
	*how = "pivot_root";
	if (syscall(SYS_pivot_root, ".", ".") == 0)
		return umount2(".", MNT_DETACH) < 0 ? -errno : 0;
	if (errno != EINVAL)
		return -errno;
	*how = "moved over the initramfs";
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
		return -errno;
	return 0;
}

/**
 * stage_filesystem() - pivot into an empty read-only tmpfs.
 * @run:    the jail run; needs run->private_mounts.
 * @detail: how, or why not.
 * @len:    its size.
 *
 * Return: 0 or -errno.
 */
int
stage_filesystem(struct jail_run *run, char *detail, size_t len)
{
	const char *dir = mount_point(), *how = "", *step;
	int err;

	if (!run->private_mounts)
		return jail_detail(detail, len, -EPERM, "needs the private mount namespace");
	if (!dir)
		return jail_detail(detail, len, -ENOENT, "no directory to mount a tmpfs on");
	step = "make mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	step = "mount tmpfs";
	if (mount("capsa", dir, "tmpfs", TMPFS_FLAGS, TMPFS_OPTS) < 0 || chdir(dir) < 0)
		goto fail;
	step = "pivot_root";
	if ((err = enter_root(&how)) < 0 || chdir("/") < 0) {
		errno = err ? -err : errno;
		goto fail;
	}
	step = "remount read-only";
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | TMPFS_FLAGS, NULL) < 0)
		goto fail;
	return jail_detail(detail, len, 0, "empty read-only root (%s)", how);
fail:
	return jail_detail(detail, len, -errno, "%s: %s", step, strerror(errno));
}
