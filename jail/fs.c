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
 *
 * The directories capsa serves to the guest (struct jail's trees: each
 * share's root and capsa's own /proc/self/fd) are kept as fds, but an fd
 * on a directory reaches its parents with "..". So before the pivot each
 * becomes a detached mount of its own (open_tree(OPEN_TREE_CLONE)), whose
 * root is that directory: ".." at the root of a mount with no parent stays
 * there. The fds opened before the jail belong to the old mount namespace,
 * which open_tree refuses, so each is found again by its path in the new
 * one, checked to be the same directory, cloned, and the clone put in the
 * old fd's place (dup3). Only the mount the directory is on is cloned;
 * where an unprivileged user's namespace locks the mounts below it (the
 * host's root, say), the clone takes them along (AT_RECURSIVE), and the
 * server keeps to one filesystem itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>

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

/* Replace @fd, a directory of the old mount namespace, by a detached mount of it. */
static int
detach(int fd)
{
	char link[32], path[PATH_MAX];
	struct stat a, b;
	ssize_t n;
	int same, clone;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0 || path[0] != '/')
		return n < 0 ? -errno : -ENOENT;
	path[n] = 0;
	same = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (same < 0)
		return -errno;
	if (fstat(fd, &a) < 0 || fstat(same, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(same);
		return -ESTALE;
	}
	clone = (int)syscall(SYS_open_tree, same, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (clone < 0 && errno == EINVAL)
		clone = (int)syscall(SYS_open_tree, same, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				     AT_EMPTY_PATH | AT_RECURSIVE);
	n = clone < 0 ? -errno : 0;
	close(same);
	if (clone < 0)
		return (int)n;
	n = dup3(clone, fd, O_CLOEXEC) < 0 ? -errno : 0;
	close(clone);
	return (int)n;
}

/* Every tree detached, or the first error. */
static int
detach_trees(const struct jail *j, unsigned *done)
{
	int first = 0;

	*done = 0;
	for (unsigned i = 0; i < j->ntrees; i++) {
		int err = detach(j->trees[i]);

		*done += !err;
		if (err && !first)
			first = err;
	}
	return first;
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
	unsigned detached = 0;
	int err, tree_err;

	if (!run->private_mounts)
		return jail_detail(detail, len, -EPERM, "needs the private mount namespace");
	if (!dir)
		return jail_detail(detail, len, -ENOENT, "no directory to mount a tmpfs on");
	step = "make mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	tree_err = detach_trees(run->j, &detached);
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
	if (tree_err)
		return jail_detail(detail, len, tree_err, "empty read-only root (%s); %u of %u "
				   "shared trees detached: %s", how, detached, run->j->ntrees,
				   strerror(-tree_err));
	if (run->j->ntrees)
		return jail_detail(detail, len, 0, "empty read-only root (%s), %u shared trees "
				   "detached", how, detached);
	return jail_detail(detail, len, 0, "empty read-only root (%s)", how);
fail:
	return jail_detail(detail, len, -errno, "%s: %s", step, strerror(errno));
}
