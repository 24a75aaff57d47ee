// SPDX-License-Identifier: MIT
/*
 * net.c - the guest's network interface, set up with plain ioctls before
 * the command starts (no netlink, no busybox): up, and with --ip and
 * --gateway an address and a default route.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

static struct sockaddr_in
inet(struct in_addr a)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = a };
}

/* "ADDR/PREFIX" (capsa checked it) into an address and a netmask. */
static int
parse_cidr(const char *cidr, struct in_addr *addr, struct in_addr *mask)
{
	char a[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	long prefix;

	if (!slash || (size_t)(slash - cidr) >= sizeof(a))
		return -EINVAL;
	memcpy(a, cidr, (size_t)(slash - cidr));
	a[slash - cidr] = 0;
	prefix = strtol(slash + 1, NULL, 10);
	if (inet_pton(AF_INET, a, addr) != 1 || prefix < 0 || prefix > 32)
		return -EINVAL;
	mask->s_addr = prefix ? htonl(~0U << (32 - prefix)) : 0;
	return 0;
}

static int
set_address(int s, const char *ifname, const char *cidr)
{
	struct ifreq ifr = { 0 };
	struct in_addr addr, mask;
	struct sockaddr_in sa;

	if (parse_cidr(cidr, &addr, &mask) < 0)
		return -EINVAL;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sa = inet(addr);
	memcpy(&ifr.ifr_addr, &sa, sizeof(sa));
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		return -errno;
	sa = inet(mask);
	memcpy(&ifr.ifr_netmask, &sa, sizeof(sa));
	return ioctl(s, SIOCSIFNETMASK, &ifr) < 0 ? -errno : 0;
}

static int
link_up(int s, const char *ifname)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int
default_route(int s, const char *ifname, const char *gateway)
{
	struct rtentry rt = { .rt_flags = RTF_UP | RTF_GATEWAY, .rt_dev = (char *)ifname };
	struct sockaddr_in any = inet((struct in_addr){ 0 }), gw;
	struct in_addr a;

	if (inet_pton(AF_INET, gateway, &a) != 1)
		return -EINVAL;
	gw = inet(a);
	memcpy(&rt.rt_dst, &any, sizeof(any));
	memcpy(&rt.rt_genmask, &any, sizeof(any));
	memcpy(&rt.rt_gateway, &gw, sizeof(gw));
	return ioctl(s, SIOCADDRT, &rt) < 0 ? -errno : 0;
}

/**
 * net_setup() - bring @ifname up; give it @cidr and a default route via
 * @gateway when they are not NULL.
 * @ifname:  the interface, "eth0".
 * @cidr:    "ADDR/PREFIX", or NULL to leave it unconfigured.
 * @gateway: "ADDR", or NULL for no default route.
 * @err:     a one-line message on failure.
 * @errlen:  its size.
 *
 * Return: 0 or -errno.
 */
int
net_setup(const char *ifname, const char *cidr, const char *gateway, char *err, size_t errlen)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;
	const char *what = "socket";

	if (s < 0)
		e = -errno;
	if (!e && cidr && (e = set_address(s, ifname, cidr)) < 0)
		what = "--ip";
	if (!e && (e = link_up(s, ifname)) < 0)
		what = "bringing it up";
	if (!e && gateway && (e = default_route(s, ifname, gateway)) < 0)
		what = "--gateway";
	if (s >= 0)
		close(s);
	if (e == -ENODEV)
		snprintf(err, errlen, "%s: the guest has no such network interface", ifname);
	else if (e)
		snprintf(err, errlen, "%s: %s: %s", ifname, what, strerror(-e));
	return e;
}
