// SPDX-License-Identifier: MIT
/*
 * disk.c - open a --disk or --rootfs image before anything else, so that a
 * bad one costs one clear line and no VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "../virtio/blk.h"

/**
 * disk_open() - open and lock an image for virtio-blk.
 * @opt:    "disk" or "rootfs", for the message.
 * @d:      the image and whether it is read-only.
 * @err:    the one-line reason on failure.
 * @errlen: its size.
 *
 * A regular file whose size is a multiple of 512, or a block device. A
 * shared lock to read, an exclusive one to write: two capsas never write
 * to the same image.
 *
 * Return: the open fd (close-on-exec), or -1 with @err set.
 */
int
disk_open(const char *opt, const struct disk_spec *d, char *err, size_t errlen)
{
	int fd = open(d->path, (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	const char *why = NULL;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "is a directory, not a disk image";
	else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		why = "not a regular file or block device";
	if (!why && S_ISREG(st.st_mode) && st.st_size % BLK_SECTOR) {
		snprintf(err, errlen, "--%s %s: size %lld bytes is not a multiple of %d", opt,
			 d->path, (long long)st.st_size, BLK_SECTOR);
		close(fd);
		return -1;
	}
	if (!why && flock(fd, (d->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		snprintf(err, errlen, "--%s %s: in use by another process (%s)", opt, d->path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (why) {
		snprintf(err, errlen, "--%s %s: %s", opt, d->path, why);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}
