// SPDX-License-Identifier: MIT
/*
 * fs.c - stage 2 of the jail: an empty, read-only root, see the Theory of
 * Operation in jail.c.
 *
 * The tmpfs is mounted on an existing directory of capsa's private mount
 * namespace (any will do: it becomes the root) that hides no kept
 * directory, the kept directories are bound into it by path, and pivot_root(".", ".") stacks the old root on top of the
 * new one so that a lazy unmount of "." detaches it (as passt does). The
 * initial ramfs cannot be pivoted away from (pivot_root(2), NOTES), so a
 * capsa whose root is the initramfs moves the tmpfs over "/" and chroots
 * into it instead, as switch_root does: the old root is then covered
 * rather than detached, and still out of reach.
 */
#include <errno.h>
#include <limits.h>
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

/* Whether @path is @dir or below it. */
static bool
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* A directory to mount the tmpfs on that hides none of the kept ones. */
static const char *
mount_point(const struct jail *j)
{
	struct stat st;

	for (unsigned i = 0; i < sizeof(mount_points) / sizeof(mount_points[0]); i++) {
		unsigned d = 0;

		while (d < j->ndirs && !under(j->dirs[d].path, mount_points[i]))
			d++;
		if (d == j->ndirs && stat(mount_points[i], &st) == 0 && S_ISDIR(st.st_mode))
			return mount_points[i];
	}
	return NULL;
}

/* mkdir -p for a path relative to the current directory (the new root). */
static int
mkdir_p(char *rel)
{
	for (char *p = rel + 1; ; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = 0;
		if (mkdir(rel, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			return 0;
	}
}

/*
 * Bind one kept directory at its own path under the new root (the current
 * directory). The bind source must be a mount of this namespace, so it is
 * the path again, not the O_PATH fd (opened in the host's namespace), but
 * it must still name the same directory.
 */
static int
bind_one(const struct jail_dir *d)
{
	char rel[PATH_MAX];
	struct stat kept, now;
	int err;

	if (fstat(d->fd, &kept) < 0 || stat(d->path, &now) < 0)
		return -errno;
	if (kept.st_dev != now.st_dev || kept.st_ino != now.st_ino)
		return -ESTALE;
	snprintf(rel, sizeof(rel), ".%s", d->path);
	err = mkdir_p(rel);
	if (!err && mount(d->path, rel, NULL, MS_BIND | MS_REC, NULL) < 0)
		err = -errno;
	return err;
}

static int
bind_kept(const struct jail *j, char *detail, size_t len)
{
	for (unsigned i = 0; i < j->ndirs; i++) {
		int err = bind_one(&j->dirs[i]);

		if (err)
			return jail_detail(detail, len, err, "cannot keep %s: %s", j->dirs[i].path,
					   strerror(-err));
	}
	return 0;
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
	const char *dir = mount_point(run->j), *how = "", *step;
	int err;

	if (!run->private_mounts)
		return jail_detail(detail, len, -EPERM, "needs the private mount namespace");
	if (!dir)
		return jail_detail(detail, len, -ENOENT, "no directory to mount a tmpfs on "
				   "that hides no kept one");
	step = "make mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	step = "mount tmpfs";
	if (mount("capsa", dir, "tmpfs", TMPFS_FLAGS, TMPFS_OPTS) < 0 || chdir(dir) < 0)
		goto fail;
	err = bind_kept(run->j, detail, len);
	if (err)
		return err;
	step = "pivot_root";
	if ((err = enter_root(&how)) < 0 || chdir("/") < 0) {
		errno = err ? -err : errno;
		goto fail;
	}
	step = "remount read-only";
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | TMPFS_FLAGS, NULL) < 0)
		goto fail;
	return jail_detail(detail, len, 0, "empty read-only root (%s)%s", how,
			 run->j->ndirs ? ", kept directories bound in" : "");
fail:
	return jail_detail(detail, len, -errno, "%s: %s", step, strerror(errno));
}
