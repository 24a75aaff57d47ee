// SPDX-License-Identifier: MIT
/*
 * nlroute.c - one rtnetlink request: add a route of type "local" to the
 * local table (what `ip route add local PREFIX dev lo table local` does),
 * without the ip binary. --net user makes every address local this way,
 * so a connect() to any address stays in the guest, where the helper's
 * sk_lookup program (netuser.c) takes it.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netuser.h"

struct rt_req {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[64];
};

static void
add_attr(struct rt_req *r, unsigned short type, const void *data, unsigned short len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* The kernel's answer to our request: an ack (error 0) or an errno. */
static int
ack(int s)
{
	char buf[512];
	ssize_t n = recv(s, buf, sizeof(buf), 0);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;

	if (n < 0)
		return -errno;
	if (n < (ssize_t)sizeof(*h) || h->nlmsg_type != NLMSG_ERROR ||
	    n < (ssize_t)(NLMSG_HDRLEN + sizeof(struct nlmsgerr)))
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

/**
 * route_local() - make @prefix of @addr local, on the loopback device.
 * @family: AF_INET or AF_INET6.
 * @addr:   4 or 16 bytes.
 * @prefix: its length.
 *
 * Return: 0, or -errno (-EEXIST when the route is there already).
 */
int
route_local(int family, const void *addr, unsigned prefix)
{
	struct rt_req r = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_NEWROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL },
		.rt = { .rtm_family = (unsigned char)family, .rtm_dst_len = (unsigned char)prefix,
			.rtm_table = RT_TABLE_LOCAL, .rtm_protocol = RTPROT_STATIC,
			.rtm_scope = RT_SCOPE_HOST, .rtm_type = RTN_LOCAL },
	};
	int lo = (int)if_nametoindex("lo"), s, e;

	if (!lo)
		return -ENODEV;
	add_attr(&r, RTA_DST, addr, family == AF_INET ? 4 : 16);
	add_attr(&r, RTA_OIF, &lo, sizeof(lo));
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	e = send(s, &r, r.nh.nlmsg_len, 0) < 0 ? -errno : ack(s);
	close(s);
	return e;
}
