// SPDX-License-Identifier: MIT
/*
 * copy.c - put the files of --copy in place. capsa ships them inside the
 * per-run initramfs under a staging directory; init moves them to their
 * guest paths (a rename when on the same filesystem, else a copy that
 * keeps modes and symlinks), merging into directories that exist.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

/**
 * mkdir_parents() - create the missing directories above @path (mode 0755).
 *
 * Return: 0 or -1.
 */
int
mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static int
copy_file(const char *src, const char *dst, const struct stat *st)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	off_t left = st->st_size;
	int r = in < 0 || out < 0 ? -1 : 0;

	while (!r && left > 0) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);

		if (n <= 0)
			r = -1;
		else
			left -= n;
	}
	if (!r)
		r = fchmod(out, st->st_mode & 07777);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

static int
copy_dir(const char *src, const char *dst, const struct stat *st)
{
	char s[PATH_MAX], d[PATH_MAX];
	struct dirent *e;
	bool made = mkdir(dst, 0700) == 0;
	DIR *dir;
	int r = 0;

	if (!made && errno != EEXIST)
		return -1;
	dir = opendir(src);
	if (!dir)
		return -1;
	while (!r && (e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(s, sizeof(s), "%s/%s", src, e->d_name) >= sizeof(s) ||
		    (size_t)snprintf(d, sizeof(d), "%s/%s", dst, e->d_name) >= sizeof(d))
			r = -1;
		else
			r = copy_tree(s, d);
	}
	closedir(dir);
	/* A directory that was there keeps its mode (think of /tmp). */
	return r || !made ? r : chmod(dst, st->st_mode & 07777);
}

/**
 * copy_tree() - move or copy @src to @dst, keeping modes and symlinks.
 *
 * An existing directory at @dst receives @src's entries; anything else at
 * @dst is replaced.
 *
 * Return: 0 or -1 with errno set.
 */
int
copy_tree(const char *src, const char *dst)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (rename(src, dst) == 0)
		return 0;
	if (lstat(src, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return copy_dir(src, dst, &st);
	unlink(dst);
	if (S_ISLNK(st.st_mode)) {
		n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = 0;
		return symlink(target, dst);
	}
	return copy_file(src, dst, &st);
}
