/* SPDX-License-Identifier: MIT */
/*
 * fsreq.h - FUSE requests for the virtio-fs server, built the way the
 * guest kernel lays them out in a descriptor chain, for the unit tests.
 */
#ifndef CAPSA_TEST_FSREQ_H
#define CAPSA_TEST_FSREQ_H

#include <stdint.h>
#include <string.h>
#include <linux/fuse.h>

#include "virtio/fs.h"

#define FSREQ_OUT	(1024 * 1024)

struct fsreq {
	/* in */
	uint32_t opcode;
	uint64_t nodeid;
	const void *arg;
	size_t arglen;
	const char *n1, *n2;		/* NUL-terminated names after the argument */
	const void *data;		/* after the names */
	size_t datalen;
	size_t room;			/* writable bytes after the header (default 64 KiB) */
	int32_t len_delta;		/* added to in.len (a lying header) */
	/* out */
	int rc;				/* fs_serve()'s return */
	uint32_t used;
	int32_t error;			/* the reply header's */
	uint32_t olen;			/* reply bytes after the header */
	_Alignas(8) uint8_t out[FSREQ_OUT];
};

static inline void
fsreq_run(struct fs_server *srv, struct fsreq *q)
{
	static uint8_t in[FSREQ_OUT + 8192], hdr[sizeof(struct fuse_out_header)];
	struct fuse_in_header *h = (struct fuse_in_header *)in;
	struct fuse_out_header oh;
	static struct vq_chain c;
	size_t n = sizeof(*h), room = q->room ? q->room : 65536;

	if (q->arglen)
		memcpy(in + n, q->arg, q->arglen);
	n += q->arglen;
	if (q->n1) {
		memcpy(in + n, q->n1, strlen(q->n1) + 1);
		n += strlen(q->n1) + 1;
	}
	if (q->n2) {
		memcpy(in + n, q->n2, strlen(q->n2) + 1);
		n += strlen(q->n2) + 1;
	}
	*h = (struct fuse_in_header){ .len = (uint32_t)(n + q->datalen + (size_t)(int64_t)q->len_delta),
				      .opcode = q->opcode, .unique = 77, .nodeid = q->nodeid };
	memset(&c, 0, sizeof(c));
	/* Header and arguments split, data on its own: as the guest does. */
	c.iov[c.n_out++] = (struct iovec){ in, 16 };
	c.iov[c.n_out++] = (struct iovec){ in + 16, n - 16 };
	if (q->datalen)
		c.iov[c.n_out++] = (struct iovec){ (void *)q->data, q->datalen };
	c.out_len = n + q->datalen;
	c.iov[c.n_out + c.n_in++] = (struct iovec){ hdr, sizeof(hdr) };
	if (room != (size_t)-1) {
		c.iov[c.n_out + c.n_in++] = (struct iovec){ q->out, room };
		c.in_len = sizeof(hdr) + room;
	} else {
		c.in_len = sizeof(hdr);
	}
	memset(hdr, 0xee, sizeof(hdr));
	q->rc = fs_serve(srv, &c, &q->used);
	memcpy(&oh, hdr, sizeof(oh));
	q->error = q->used >= sizeof(oh) ? oh.error : 1;
	q->olen = q->used >= sizeof(oh) ? q->used - (uint32_t)sizeof(oh) : 0;
}

#endif
