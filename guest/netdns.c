// SPDX-License-Identifier: MIT
/*
 * netdns.c - every DNS query a program in the guest sends, answered with
 * the host's resolver through the broker.
 *
 * The sk_lookup program (netbpf.c) brings the helper every UDP packet to
 * port 53, whatever its address (8.8.8.8 too: nothing leaves the guest),
 * and every TCP connection to port 53 (netfwd.c hands those here). The
 * helper parses the query (one question, class IN), checks the name as
 * the broker will (name_normalize(), vmm/net/policy.c), and asks the broker
 * on one NET_RESOLVE stream (vmm/net/wire.h): a name and a type, answered by
 * addresses. It then writes the DNS answer itself, from the address the
 * query went to. The broker never parses DNS.
 *
 * Each answer's addresses are remembered with their name (NAMES of them,
 * the oldest forgotten first), so a connection to one of them tells the
 * broker the name (dns_name_for()): the broker checks the rules by that
 * name, and connects to an address it resolved itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "netuser.h"
#include "../vmm/net/policy.h"
#include "../vmm/net/wire.h"

#define SLOTS	256		/* questions waiting for the broker */
#define NAMES	1024
#define QMAX	(255 + 4)	/* a question: name, type, class */

struct dns_tcp {
	struct nu_ev ev;
	int fd;
	uint8_t in[2 + 4096];
	size_t in_len;
};

struct slot {
	bool used;
	uint32_t id;
	uint16_t dns_id, flags, qtype;
	uint8_t q[QMAX];
	size_t qlen;
	char name[NAME_MAX_LEN + 1];
	int udp;			/* the socket it came on, or -1 for TCP */
	struct sockaddr_storage peer, local;
	struct dns_tcp *tcp;
};

static struct slot slots[SLOTS];
static uint32_t next_id;

static struct {
	struct nu_ev ev;
	int fd;
	struct net_answer in;
	size_t got;
	uint8_t out[SLOTS * sizeof(struct net_req)];
	size_t out_len;
} host = { .fd = -1 };

static struct {
	uint8_t family;
	uint8_t a[16];
	char name[NAME_MAX_LEN + 1];
} names[NAMES];
static unsigned next_name;

static void
remember(uint8_t family, const uint8_t *a, const char *name)
{
	unsigned i = next_name % NAMES;

	for (unsigned k = 0; k < NAMES; k++)
		if (names[k].family == family && !memcmp(names[k].a, a, family == 4 ? 4 : 16)) {
			i = k;
			break;
		}
	if (i == next_name % NAMES)
		next_name++;
	names[i].family = family;
	memset(names[i].a, 0, 16);
	memcpy(names[i].a, a, family == 4 ? 4 : 16);
	strcpy(names[i].name, name);
}

/**
 * dns_name_for() - the name the guest last resolved to this destination.
 */
const char *
dns_name_for(const struct sockaddr_storage *ss)
{
	uint8_t a[16] = { 0 }, family = ss->ss_family == AF_INET ? 4 : 6;

	if (family == 4)
		memcpy(a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	for (unsigned k = 0; k < NAMES; k++)
		if (names[k].family == family && !memcmp(names[k].a, a, 16))
			return names[k].name;
	return NULL;
}

/* The DNS answer for @s: header, its question, the addresses. */
static size_t
build(const struct slot *s, uint8_t rcode, const struct net_answer *a, uint8_t *out)
{
	unsigned n = a ? a->naddr : 0, len = s->qtype == DNS_A ? 4 : 16;
	uint16_t flags = 0x8000 | 0x0080 | (s->flags & 0x0100) | rcode;	/* QR, RA, RD */
	size_t k = 12;

	out[0] = (uint8_t)(s->dns_id >> 8), out[1] = (uint8_t)s->dns_id;
	out[2] = (uint8_t)(flags >> 8), out[3] = (uint8_t)flags;
	out[4] = 0, out[5] = s->qlen ? 1 : 0, out[6] = 0, out[7] = (uint8_t)n;
	memset(out + 8, 0, 4);
	memcpy(out + k, s->q, s->qlen);
	k += s->qlen;
	for (unsigned i = 0; i < n && i < NET_MAX_ADDRS; i++) {
		uint8_t rr[12] = { 0xc0, 0x0c, 0, (uint8_t)s->qtype, 0, 1,
				   (uint8_t)(a->ttl >> 24), (uint8_t)(a->ttl >> 16),
				   (uint8_t)(a->ttl >> 8), (uint8_t)a->ttl, 0, (uint8_t)len };

		memcpy(out + k, rr, sizeof(rr));
		memcpy(out + k + 12, a->addr[i], len);
		k += 12 + len;
	}
	return k;
}

static void
reply_udp(const struct slot *s, const uint8_t *msg, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { (void *)msg, len };
	struct msghdr m = { .msg_name = (void *)&s->peer, .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	/* From the address the query went to: resolvers check that. */
	if (s->local.ss_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = ((struct sockaddr_in *)&s->local)->sin_addr };

		m.msg_namelen = sizeof(struct sockaddr_in);
		c->cmsg_level = IPPROTO_IP, c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_addr = ((struct sockaddr_in6 *)&s->local)->sin6_addr };

		m.msg_namelen = sizeof(struct sockaddr_in6);
		c->cmsg_level = IPPROTO_IPV6, c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	sendmsg(s->udp, &m, MSG_DONTWAIT);
}

static void
answer(struct slot *s, uint8_t rcode, const struct net_answer *a)
{
	uint8_t msg[2 + 12 + QMAX + NET_MAX_ADDRS * 28];
	size_t n = build(s, rcode, a, msg + 2);

	if (a && !rcode)
		for (unsigned i = 0; i < a->naddr && i < NET_MAX_ADDRS; i++)
			remember(s->qtype == DNS_A ? 4 : 6, a->addr[i], s->name);
	if (s->udp >= 0) {
		reply_udp(s, msg + 2, n);
	} else if (s->tcp) {
		msg[0] = (uint8_t)(n >> 8), msg[1] = (uint8_t)n;
		(void)!write(s->tcp->fd, msg, n + 2);	/* small: fits the socket buffer */
	}
	s->used = false;
}

/* Every question waiting fails (the broker's stream ended). */
static void
host_gone(void)
{
	if (host.fd >= 0) {
		nu_del(&host.ev);
		close(host.fd);
	}
	host.fd = -1;
	host.got = host.out_len = 0;
	for (unsigned i = 0; i < SLOTS; i++)
		if (slots[i].used)
			answer(&slots[i], 2, NULL);	/* SERVFAIL */
}

static void
host_watch(void)
{
	nu_set(&host.ev, EPOLLIN | (host.out_len ? EPOLLOUT : 0));
}

/* Ask the broker about @s: its stream is opened on the first question. */
static bool
ask(struct slot *s)
{
	struct net_req q = { .magic = NET_MAGIC, .kind = NET_RESOLVE, .id = s->id,
			     .qtype = s->qtype, .name_len = (uint8_t)strlen(s->name) };

	if (host.fd < 0) {
		host.fd = vsock_host(NULL);
		if (host.fd < 0 || nu_add(&host.ev, NU_DNS_HOST, host.fd, NULL, EPOLLIN) < 0) {
			host_gone();
			return false;
		}
	}
	if (host.out_len + sizeof(q) > sizeof(host.out))
		return false;
	memcpy(q.name, s->name, q.name_len);
	memcpy(host.out + host.out_len, &q, sizeof(q));
	host.out_len += sizeof(q);
	dns_host_io(&host.ev, EPOLLOUT);
	return true;
}

/**
 * dns_host_io() - the broker's DNS stream is readable or writable.
 */
void
dns_host_io(struct nu_ev *ev, uint32_t events)
{
	ssize_t n;

	(void)ev;
	while (host.out_len && (n = write(host.fd, host.out, host.out_len)) > 0) {
		memmove(host.out, host.out + n, host.out_len - (size_t)n);
		host.out_len -= (size_t)n;
	}
	while ((events & EPOLLIN) &&
	       (n = read(host.fd, (char *)&host.in + host.got, sizeof(host.in) - host.got)) > 0) {
		host.got += (size_t)n;
		if (host.got < sizeof(host.in))
			continue;
		host.got = 0;
		for (unsigned i = 0; i < SLOTS; i++)
			if (slots[i].used && slots[i].id == host.in.id && host.in.magic == NET_MAGIC)
				answer(&slots[i], host.in.rcode, &host.in);
	}
	if ((events & EPOLLIN) && (n == 0 || (n < 0 && errno != EAGAIN))) {
		host_gone();
		return;
	}
	host_watch();
}

/* The question of a query: its name as text; the rcode to answer at once, or -1. */
static int
question(const uint8_t *m, size_t len, struct slot *s)
{
	char text[256];
	size_t at = 12, t = 0;

	if (len < 12 || (m[2] & 0x80))
		return 1;			/* FORMERR (or an answer: ignored) */
	s->dns_id = (uint16_t)(m[0] << 8 | m[1]);
	s->flags = (uint16_t)(m[2] << 8 | m[3]);
	if ((s->flags >> 11) & 0xf)
		return 4;			/* NOTIMP: only standard queries */
	if (m[4] || m[5] != 1)
		return 1;
	while (at < len && m[at]) {
		size_t l = m[at];

		if ((l & 0xc0) || at + 1 + l > len || t + l + 1 > sizeof(text) - 1)
			return 1;
		memcpy(text + t, m + at + 1, l);
		t += l;
		text[t++] = '.';
		at += 1 + l;
	}
	/* The name may reach 255 bytes before its root label: one past QMAX. */
	if (at + 5 > len || at + 5 - 12 > sizeof(s->q))
		return 1;
	s->qlen = at + 5 - 12;
	memcpy(s->q, m + 12, s->qlen);
	s->qtype = (uint16_t)(m[at + 1] << 8 | m[at + 2]);
	if (m[at + 3] != 0 || m[at + 4] != 1)
		return 4;			/* class IN only */
	if (t == 0 || name_normalize(text, t, s->name) < 0)
		return 3;			/* NXDOMAIN: no name the broker takes */
	return -1;
}

static void
query(const uint8_t *m, size_t len, struct slot *tmpl)
{
	struct slot *s = NULL;
	int rcode;

	for (unsigned i = 0; i < SLOTS && !s; i++)
		s = slots[i].used ? NULL : &slots[i];
	if (!s)
		return;				/* too many in flight: the program retries */
	*s = *tmpl;
	s->used = true;
	s->id = ++next_id;
	rcode = question(m, len, s);
	if (rcode >= 0 || !ask(s))
		answer(s, (uint8_t)(rcode >= 0 ? rcode : 2), NULL);
}

/**
 * dns_udp() - queries arrived on a UDP socket (any address, port 53).
 */
void
dns_udp(int fd)
{
	uint8_t buf[1500];
	char ctl[256];

	for (;;) {
		struct slot t = { .udp = fd };
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &t.peer, .msg_namelen = sizeof(t.peer), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);

		if (n < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				t.local.ss_family = AF_INET;
				((struct sockaddr_in *)&t.local)->sin_addr = pi.ipi_addr;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				t.local.ss_family = AF_INET6;
				((struct sockaddr_in6 *)&t.local)->sin6_addr = pi.ipi6_addr;
			}
		}
		if (t.local.ss_family)
			query(buf, (size_t)n, &t);
	}
}

/**
 * dns_tcp_new() - a program's DNS connection over TCP (port 53, anywhere).
 */
void
dns_tcp_new(int fd)
{
	struct dns_tcp *c = calloc(1, sizeof(*c));

	if (!c || nu_add(&c->ev, NU_DNS_TCP, fd, c, EPOLLIN) < 0) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
}

/**
 * dns_tcp_io() - a DNS-over-TCP connection is readable: whole queries out.
 */
void
dns_tcp_io(struct nu_ev *ev, uint32_t events)
{
	struct dns_tcp *c = ev->p;
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	size_t want;

	(void)events;
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0)
		c->in_len += (size_t)n;
	while (c->in_len >= 2 && c->in_len >= 2 + (want = (size_t)(c->in[0] << 8 | c->in[1]))) {
		struct slot t = { .udp = -1, .tcp = c };

		query(c->in + 2, want, &t);
		memmove(c->in, c->in + 2 + want, c->in_len - 2 - want);
		c->in_len -= 2 + want;
	}
	if (n <= 0 || c->in_len == sizeof(c->in)) {
		for (unsigned i = 0; i < SLOTS; i++)
			if (slots[i].tcp == c)
				slots[i].tcp = NULL;
		nu_del(&c->ev);
		close(c->fd);
		nu_free_later(c);
	}
}
