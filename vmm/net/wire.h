/* SPDX-License-Identifier: MIT */
/*
 * wire.h - what the guest's network helper (guest/netuser.c) and the
 * broker (net/) say to each other over a vsock stream to host port
 * PORT_NET. The VMM only carries these bytes; it never reads them.
 *
 * Every stream starts with one struct net_req. For NET_CONNECT the broker
 * answers with one struct net_reply; after NET_OK the stream carries the
 * TCP connection's bytes both ways, before it anything else ends it. The
 * guest may send the connection's first bytes right behind its request:
 * on ports 80 and 443 the broker reads the Host header or TLS SNI from
 * them before it decides. A NET_RESOLVE stream carries any number of
 * requests of that kind, each answered by one struct net_answer with the
 * same id, in any order.
 *
 * Fixed sizes, both ends little-endian (x86-64); every field the guest
 * sends is checked by net_req_check() (vmm/net/wire.c) before use.
 */
#ifndef CAPSA_NET_WIRE_H
#define CAPSA_NET_WIRE_H

#include <stdint.h>

#define NET_MAGIC	0x74656e63U	/* "cnet" */
#define NET_NAME_MAX	253
#define NET_MAX_ADDRS	8		/* addresses in one answer */

enum net_kind { NET_CONNECT = 1, NET_RESOLVE = 2 };

/* How a NET_CONNECT ended; the guest resets its connection unless NET_OK. */
enum net_status {
	NET_OK, NET_DENIED, NET_REFUSED, NET_UNREACHABLE, NET_TIMEOUT, NET_BAD, NET_BUSY,
};

struct net_req {
	uint32_t magic;
	uint8_t kind;			/* enum net_kind */
	uint8_t family;			/* NET_CONNECT: 4 or 6; else 0 */
	uint16_t port;			/* NET_CONNECT: destination port */
	uint8_t addr[16];		/* NET_CONNECT: destination; IPv4 in the first 4 */
	uint32_t id;			/* NET_RESOLVE: echoed in the answer */
	uint16_t qtype;			/* NET_RESOLVE: 1 A, 28 AAAA, else existence only */
	uint8_t name_len;		/* the name's bytes, 0-253 */
	uint8_t zero;
	char name[256];			/* NET_CONNECT: the name the guest resolved, if any */
};

struct net_reply {
	uint32_t magic;
	uint8_t status;			/* enum net_status */
	uint8_t zero[3];
	int32_t err;			/* errno of a failed connect, or 0 */
	uint32_t zero2;
};

struct net_answer {
	uint32_t magic;
	uint32_t id;
	uint8_t rcode;			/* DNS RCODE: 0, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED */
	uint8_t naddr;
	uint16_t qtype;
	uint32_t ttl;			/* seconds */
	uint8_t addr[NET_MAX_ADDRS][16];	/* 4 bytes each for A, 16 for AAAA */
};

#define DNS_A		1
#define DNS_AAAA	28

_Static_assert(sizeof(struct net_req) == 288, "net_req layout");
_Static_assert(sizeof(struct net_reply) == 16, "net_reply layout");
_Static_assert(sizeof(struct net_answer) == 144, "net_answer layout");

#endif
