// SPDX-License-Identifier: MIT
/*
 * env.c - what a normal Linux system has before the command starts.
 *
 * In two steps, because the root may still change in between (rootfs.c
 * moves everything mounted here below the --rootfs image's root):
 *
 * env_mount(), first: /proc, /sys, /dev (with /dev/pts, /dev/shm,
 * /dev/mqueue and the /dev/fd, /dev/std* links), /tmp, /run, and cgroup
 * v2 on /sys/fs/cgroup with every controller enabled for children, so a
 * container runtime or systemd-run finds what it would on a host.
 *
 * env_finish(), once the root is final: the hostname and /etc/hosts with
 * localhost on 127.0.0.1 and ::1, the loopback interface up for both
 * families, /run/lock and /var/tmp writable.
 *
 * A --rootfs IMAGE:rw root is the user's image: nothing here may write
 * into it. Files go through env_put_file(), which writes them in place on
 * the initramfs or the overlay (both in guest RAM) and bind-mounts a file
 * on /run's tmpfs over them on the image. Whatever else needs such a file
 * (/etc/resolv.conf) uses the same function.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"

#define NOSUID_NODEV (MS_NOSUID | MS_NODEV)
#define STAGED "/run/.capsa-file"	/* bound over its target, then unlinked */

static const struct {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
} basics[] = {
	{ "proc", "/proc", "proc", NOSUID_NODEV | MS_NOEXEC, NULL },
	{ "sys", "/sys", "sysfs", NOSUID_NODEV | MS_NOEXEC, NULL },
	{ "dev", "/dev", "devtmpfs", MS_NOSUID, NULL },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL },
	/* POSIX shared memory and semaphores: shm_open, Python's multiprocessing */
	{ "shm", "/dev/shm", "tmpfs", NOSUID_NODEV, "mode=1777" },
	{ "mqueue", "/dev/mqueue", "mqueue", NOSUID_NODEV | MS_NOEXEC, NULL },
	{ "tmp", "/tmp", "tmpfs", NOSUID_NODEV, "mode=1777" },
	{ "run", "/run", "tmpfs", NOSUID_NODEV, "mode=0755" },
	/* nsdelegate: a cgroup namespace is a delegation boundary, as under systemd */
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", NOSUID_NODEV | MS_NOEXEC, "nsdelegate" },
};

static const struct { const char *path, *target; } dev_links[] = {
	{ "/dev/fd", "/proc/self/fd" },
	{ "/dev/stdin", "/proc/self/fd/0" },
	{ "/dev/stdout", "/proc/self/fd/1" },
	{ "/dev/stderr", "/proc/self/fd/2" },
};

static bool image_rw;	/* the root is the user's image, read-write */

/* Write all of @data to a new file @path. */
static int
write_new(const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int e = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		e = -EIO;
	if (close(fd) < 0 && !e)
		e = -errno;
	return e;
}

/* Every controller the kernel has, for the cgroups below the root. */
static void
enable_controllers(void)
{
	char have[256], want[320];
	size_t n = 0;
	ssize_t len;
	int e, fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	len = read(fd, have, sizeof(have) - 1);
	close(fd);
	if (len <= 0)
		return;
	have[len] = 0;
	for (char *save, *c = strtok_r(have, " \n", &save); c; c = strtok_r(NULL, " \n", &save))
		n += (size_t)snprintf(want + n, n < sizeof(want) ? sizeof(want) - n : 0, "+%s ", c);
	if (n && n < sizeof(want) &&
	    (e = write_new("/sys/fs/cgroup/cgroup.subtree_control", want, 0)) < 0)
		fprintf(stderr, "capsa-init: cgroup controllers: %s\n", strerror(-e));
}

/**
 * env_mount() - mount the basic filesystems; the first thing init does.
 *
 * A failure is reported on the console and skipped: the command may well
 * run without, say, mqueue.
 */
void
env_mount(void)
{
	for (size_t i = 0; i < sizeof(basics) / sizeof(basics[0]); i++) {
		mkdir(basics[i].dst, 0755);
		if (mount(basics[i].src, basics[i].dst, basics[i].type, basics[i].flags,
			  basics[i].data) < 0)
			fprintf(stderr, "capsa-init: mount %s: %s\n", basics[i].dst, strerror(errno));
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		(void)!symlink(dev_links[i].target, dev_links[i].path);
	enable_controllers();
}

/**
 * env_put_file() - make @path hold @data, without writing into a
 * read-write image.
 * @path: an absolute path, e.g. "/etc/hosts".
 * @data: its new contents.
 *
 * On a root in guest RAM the file is replaced (a symlink there too). On
 * the user's image a file on /run's tmpfs is bind-mounted over it, and
 * only where it exists: creating it would write into the image.
 *
 * Return: 0 or -errno.
 */
int
env_put_file(const char *path, const char *data)
{
	char tmp[256];
	int e;

	if (!image_rw) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.capsa-new", path) >= sizeof(tmp))
			return -ENAMETOOLONG;
		e = write_new(tmp, data, 0644);
		if (!e && rename(tmp, path) < 0)
			e = -errno;
		if (e)
			unlink(tmp);
		return e;
	}
	e = write_new(STAGED, data, 0644);
	if (!e && mount(STAGED, path, NULL, MS_BIND, NULL) < 0)
		e = -errno;
	unlink(STAGED);
	return e;
}

/* Only the loopback interface is up unless capsa configured a network. */
static void
loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	/* Up, it gets ::1 as well as 127.0.0.1. */
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/**
 * env_finish() - the rest, once the root is the command's.
 * @hostname: the guest's name.
 * @root_rw:  the root is the user's image, read-write (see env_put_file()).
 */
void
env_finish(const char *hostname, bool root_rw)
{
	char hosts[512], name[80];
	int e;

	image_rw = root_rw;
	sethostname(hostname, strlen(hostname));
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1\tlocalhost %s\n"
		 "::1\tlocalhost ip6-localhost ip6-loopback %s\n"
		 "ff02::1\tip6-allnodes\n"
		 "ff02::2\tip6-allrouters\n", hostname, hostname);
	snprintf(name, sizeof(name), "%s\n", hostname);
	if ((e = env_put_file("/etc/hosts", hosts)) < 0 && !root_rw)
		fprintf(stderr, "capsa-init: /etc/hosts: %s\n", strerror(-e));
	env_put_file("/etc/hostname", name);
	loopback_up();
	mkdir("/run/lock", 01777);
	chmod("/run/lock", 01777);
	if (!root_rw) {
		mkdir("/var", 0755);
		mkdir("/var/tmp", 01777);
		chmod("/var/tmp", 01777);
	}
}
