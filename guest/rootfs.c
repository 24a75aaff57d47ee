// SPDX-License-Identifier: MIT
/*
 * rootfs.c - put the guest's root on the --rootfs image, /dev/vda, or on a
 * host directory (virtio-fs, see shares.c).
 *
 * The init stays PID 1 and keeps running the binary it was started from:
 * it does what switch_root does, minus the exec. It mounts the new root,
 * moves /dev, /proc, /sys, /tmp and /run into it, moves the new root onto /
 * and chroots there. Why move init's own root instead of only chrooting the
 * command: with one root for every process, /proc/1/root, mount points and
 * paths in /proc/self/mountinfo mean the same thing to the command as to
 * init, and the initramfs is out of reach. Why not exec a new init: the
 * vsock streams, the run configuration and the state of this one would have
 * to be handed over, for nothing, since init reads no file after this.
 *
 * Read-only, the default: the image is mounted read-only (the disk is
 * read-only at the device too) below an overlay whose upper and work
 * directories are on a tmpfs. The command may write anywhere; writes live
 * in guest RAM and vanish with the VM; nothing reaches the image.
 *
 * Read-write (:rw): the image itself is the root. When the command is done,
 * rootfs_leave() kills what is left and remounts / read-only, so the
 * filesystem is clean (journal checkpointed, no recovery needed) before
 * capsa ends the VM; the image can then be used read-only again.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rootfs.h"
#include "shares.h"

#define ROOT_DEV	"/dev/vda"
#define NEW_ROOT	"/.capsa-root"
#define LOWER		"/.capsa-lower"
#define RW		"/.capsa-rw"

static int __attribute__((format(printf, 3, 4)))
failed(char *err, size_t errlen, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	snprintf(err + n, errlen - n, ": %s", strerror(e));
	return -e;
}

/* ext4 or squashfs, whichever the image is; read-write means ext4. Or a
 * host directory, virtio-fs. */
static int
mount_image(const char *dst, bool rw)
{
	static const char *const types[] = { "ext4", "squashfs" };
	int e = 0;

	if (shares_root_tag())
		return mount(shares_root_tag(), dst, "virtiofs", rw ? 0 : MS_RDONLY | MS_NODEV, NULL);
	for (size_t i = 0; i < (rw ? 1 : 2); i++) {
		if (mount(ROOT_DEV, dst, types[i], rw ? 0 : MS_RDONLY, NULL) == 0)
			return 0;
		if (!e)
			e = errno;
	}
	/* A journal left needing recovery cannot be replayed on a read-only disk. */
	if (!rw && mount(ROOT_DEV, dst, "ext4", MS_RDONLY, "noload") == 0)
		return 0;
	errno = e;
	return -1;
}

static const char *
root_name(void)
{
	return shares_root_tag() ? "the host directory (virtio-fs)" : ROOT_DEV " (ext4 or squashfs)";
}

static int
mount_overlay(char *err, size_t errlen)
{
	mkdir(LOWER, 0755);
	mkdir(RW, 0755);
	if (mount_image(LOWER, false) < 0)
		return failed(err, errlen, "cannot mount %s", root_name());
	if (mount("tmpfs", RW, "tmpfs", 0, "mode=0755") < 0)
		return failed(err, errlen, "cannot mount the overlay's tmpfs");
	mkdir(RW "/upper", 0755);
	mkdir(RW "/work", 0755);
	if (mount("overlay", NEW_ROOT, "overlay", 0,
		  "lowerdir=" LOWER ",upperdir=" RW "/upper,workdir=" RW "/work") < 0)
		return failed(err, errlen, "cannot mount the overlay on %s", root_name());
	return 0;
}

/* The filesystems init mounted, moved under the new root (submounts follow). */
static int
move_basics(char *err, size_t errlen)
{
	static const char *const dirs[] = { "/dev", "/proc", "/sys", "/tmp", "/run" };
	char dst[64];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(dst, sizeof(dst), NEW_ROOT "%s", dirs[i]);
		mkdir(dst, 0755);
		if (mount(dirs[i], dst, NULL, MS_MOVE, NULL) < 0)
			return failed(err, errlen, "cannot move %s into the root filesystem", dirs[i]);
	}
	return 0;
}

/**
 * rootfs_enter() - make the image on /dev/vda the root of every process.
 * @rw:     mount it read-write instead of below a tmpfs overlay.
 * @err:    a one-line reason on failure.
 * @errlen: its size.
 *
 * Return: 0, or -errno with @err set; the root is then unchanged, or
 * partly set up (the caller reports and stops the VM).
 */
int
rootfs_enter(bool rw, char *err, size_t errlen)
{
	int r;

	mkdir(NEW_ROOT, 0755);
	if (rw) {
		if (mount_image(NEW_ROOT, true) < 0)
			return failed(err, errlen, "cannot mount %s read-write", root_name());
	} else if ((r = mount_overlay(err, errlen)) < 0) {
		return r;
	}
	if ((r = move_basics(err, errlen)) < 0)
		return r;
	if (chdir(NEW_ROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0)
		return failed(err, errlen, "cannot switch to the root filesystem");
	return 0;
}

/**
 * rootfs_leave() - before the status goes out: a read-write root left clean.
 * @rw: the root is the image itself (nothing to do for the overlay).
 *
 * Every process but init is killed first: the VM ends right after the
 * status anyway, and a process holding a file open for writing would keep
 * the remount from succeeding.
 */
void
rootfs_leave(bool rw)
{
	if (!rw)
		return;
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	sync();
	mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
}
