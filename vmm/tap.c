// SPDX-License-Identifier: MIT
/*
 * tap.c - opening the TAP interface of --net tap:NAME.
 *
 * The tap is opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte
 * header (struct virtio_net_hdr_v1), so frames cross it in exactly the
 * layout virtio-net uses and the device copies no header around.
 *
 * A tap that does not exist is created, which needs CAP_NET_ADMIN; that
 * happens before capsa jails itself. capsa never makes it persistent, so
 * the kernel deletes it when its last fd closes: on every exit path, a
 * SIGKILL included, without any cleanup code. The fd is close-on-exec and
 * must be opened after anything capsa forks (the vsock broker), or the
 * child would keep the interface alive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/virtio_net.h>

#include "tap.h"
#include "util.h"

#define TUN_PATH "/dev/net/tun"

/**
 * tap_check_name() - whether @name can name a network interface.
 *
 * Linux's rules (dev_valid_name), and no '%', which the kernel would
 * expand into a number so that capsa would get a different interface.
 *
 * Return: 0, -EINVAL, or -ENAMETOOLONG.
 */
int
tap_check_name(const char *name)
{
	size_t len = strlen(name);

	if (len >= IFNAMSIZ)
		return -ENAMETOOLONG;
	if (!len || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p == '%' || (unsigned char)*p <= ' ' || *p == 0x7f)
			return -EINVAL;
	return 0;
}

/* One line naming what went wrong with TUNSETIFF. */
static void
explain(int e, const char *name, bool existed, char *err, size_t errlen)
{
	const char *why = strerror(e);

	if (e == EPERM && existed)
		why = "not permitted to attach to it (needs CAP_NET_ADMIN, or the tap's owner)";
	else if (e == EPERM)
		why = "it does not exist, and creating it needs CAP_NET_ADMIN";
	else if (e == EBUSY)
		why = "the tap is in use by another process";
	else if (e == EINVAL && existed)
		why = "an interface of that name exists and is not a tap";
	snprintf(err, errlen, "--net tap:%s: %s", name, why);
}

static int
open_tun(const char *name, char *err, size_t errlen)
{
	int fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
		snprintf(err, errlen, "--net tap:%s: no %s (is the tun module loaded?)",
			 name, TUN_PATH);
	else
		snprintf(err, errlen, "--net tap:%s: cannot open %s: %s", name, TUN_PATH,
			 strerror(errno));
	return -1;
}

/* Frames carry virtio_net_hdr_v1; see whether the tap can do offloads. */
static int
set_framing(struct tap *t, char *err, size_t errlen)
{
	int hdr = (int)sizeof(struct virtio_net_hdr_v1);

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		snprintf(err, errlen, "--net tap:%s: the tap does not take virtio-net headers: %s",
			 t->name, strerror(errno));
		return -errno;
	}
	/* Until the guest says what it can take, frames come whole and checksummed. */
	t->offload = tap_set_offload(t->fd, TAP_OFFLOADS) == 0;
	tap_set_offload(t->fd, 0);
	return 0;
}

/**
 * tap_open() - attach to the tap @name, creating it if it does not exist.
 * @t:      filled in.
 * @name:   the interface name (tap_check_name() rules).
 * @err:    one line for the user on failure.
 * @errlen: its size.
 *
 * Return: 0 or -errno.
 */
int
tap_open(struct tap *t, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int e = tap_check_name(name);
	bool existed;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (e) {
		snprintf(err, errlen, "--net tap:%s: not a valid interface name", name);
		return e;
	}
	existed = if_nametoindex(name) != 0;
	t->fd = open_tun(name, err, errlen);
	if (t->fd < 0)
		return -ENODEV;
	strcpy(ifr.ifr_name, name);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		e = -errno;
		explain(errno, name, existed, err, errlen);
		close(t->fd);
		t->fd = -1;
		return e;
	}
	strcpy(t->name, name);
	/* A tap that outlives its fd is persistent: someone else's, not ours. */
	t->created = ioctl(t->fd, TUNGETIFF, &ifr) == 0 && !(ifr.ifr_flags & IFF_PERSIST);
	e = set_framing(t, err, errlen);
	if (e) {
		close(t->fd);
		t->fd = -1;
	}
	return e;
}

/**
 * tap_set_offload() - what the tap may hand capsa: TUN_F_* flags, the
 * offloads the guest negotiated (partial checksums, TSO frames).
 *
 * Return: 0 or -errno.
 */
int
tap_set_offload(int fd, unsigned tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}
