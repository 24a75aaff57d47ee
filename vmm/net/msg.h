/* SPDX-License-Identifier: MIT */
/*
 * msg.h - the messages between the jailed VMM and the broker, the
 * privileged half outside the jail (OpenBSD vmd's imsg is the model): a
 * fixed header, a fixed payload per type, at most one fd, every message
 * validated on receipt by bmsg_parse() (vmm/net/msg.c) before it is used. One
 * message is one SOCK_SEQPACKET record.
 *
 *   VMM -> broker  BM_NET_OPEN    a guest opened a stream to PORT_NET: make
 *                                 the broker's end and send the other
 *                  BM_UNIX_OPEN   a guest connected to --vsock PATH's port
 *                                 u.port: connect PATH_<port>
 *   broker -> VMM  BM_STREAM      the answer to either, same id: u.err 0
 *                                 and the socket, or a positive errno
 */
#ifndef CAPSA_NET_MSG_H
#define CAPSA_NET_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bmsg_type { BM_NET_OPEN = 1, BM_UNIX_OPEN = 2, BM_STREAM = 3 };

struct bmsg {
	uint16_t type;			/* enum bmsg_type */
	uint16_t len;			/* payload bytes: exactly the type's */
	uint32_t id;			/* the VMM's, echoed in the answer */
	union {
		struct { uint32_t port; } unix_open;
		struct { int32_t err; } stream;
	} u;
};

#define BMSG_HDR	8
#define BMSG_MAX	sizeof(struct bmsg)

int bmsg_parse(const void *buf, size_t n, bool from_vmm, unsigned nfds, struct bmsg *m);
int bmsg_send(int sock, const struct bmsg *m, int fd);
int bmsg_recv(int sock, bool from_vmm, struct bmsg *m, int *fd);
struct bmsg bmsg_make(uint16_t type, uint32_t id);

#endif
