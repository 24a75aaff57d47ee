/* SPDX-License-Identifier: MIT */
/*
 * vsock_int.h - what the vsock device (vsock.c, vsock_conn.c) and its
 * services share: the --vsock bridge (vsock_unix.c), the --control socket
 * (vsock_exec.c). Not for other users.
 *
 * A service registers a struct vsock_service: the host ports the guest may
 * connect to (accept), and the handlers for connections it opens itself
 * towards the guest (vsock_connect(): opened, closed). vsock.c only routes.
 */
#ifndef CAPSA_VSOCK_INT_H
#define CAPSA_VSOCK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_vsock.h>

#include "virtio.h"
#include "../vmm/loop.h"

enum { RXQ, TXQ, EVQ };

#define CONN_BUF	(256 * 1024)	/* our buf_alloc per connection */
#define MAX_PAYLOAD	(64 * 1024)	/* largest packet the guest sends */
#define MAX_CONNS	1024
#define MAX_PORTS	8
#define HASH_SIZE	256
#define RST_QUEUE	64
#define HDR_LEN		sizeof(struct virtio_vsock_hdr)

/* Control packets a connection owes the guest, sent in this order. */
enum {
	OWE_REQUEST = 1, OWE_RESPONSE = 2, OWE_CREDIT = 4, OWE_SHUTDOWN = 8, OWE_RST = 16,
};

struct vsock_port {		/* a host port the guest may connect to once */
	uint32_t port;
	int in_fd, out_fd;
	bool taken;
};

struct conn;

/* A vsock service: see the top of this file. */
struct vsock_service {
	const char *name;
	uint32_t port_lo, port_hi;	/* host ports the guest may connect to; lo > hi: none */
	/* The guest connects to @host_port: a new connection, or NULL to refuse (RST). */
	struct conn *(*accept)(struct vsock_service *s, uint32_t host_port, uint32_t guest_port);
	/* The guest accepted a connection the service opened with vsock_connect(). */
	void (*opened)(struct conn *c);
	/* A connection of the service closed its fd (fds may be free again). */
	void (*closed)(struct vsock_service *s);
	void *opaque;
	struct vsock_service *next;
};

struct conn {
	struct vsock_dev *d;
	struct vsock_service *svc;	/* the service it belongs to, or NULL (stdio) */
	struct conn *hnext;		/* hash chain */
	struct conn *qnext;		/* sendq */
	bool queued;
	bool closed;
	bool connecting;		/* we sent REQUEST, no RESPONSE yet */
	bool owns_fd;			/* a service's socket: closed with the connection */
	bool pending;			/* waiting for the broker's stream (vsock_net.c) */
	uint32_t broker_id;		/* ... the request it waits for */
	uint32_t host_port, guest_port;
	int in_fd, out_fd;		/* -1 when that direction has no host end */
	bool in_always, out_always;	/* regular files: never polled */
	struct ev in_ev, out_ev;
	bool in_polled, out_polled;
	uint32_t owe;			/* OWE_* */
	uint32_t shut_flags;		/* what our SHUTDOWN says */
	uint32_t peer_shut;		/* SHUTDOWN flags the guest sent */
	bool in_ready;			/* in_fd may have data */
	bool in_eof;
	bool out_dead;			/* out_fd failed: discard guest data */
	/* guest -> host */
	uint8_t *buf;			/* bytes not yet written to out_fd */
	uint32_t buf_head, buf_len;
	uint32_t rx_cnt;		/* bytes the guest sent us */
	uint32_t fwd_cnt;		/* bytes written to out_fd */
	uint32_t fwd_told;		/* fwd_cnt the guest last heard */
	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
};

struct vsock_dev {
	struct virtio_dev vdev;		/* first: the transport's view */
	struct loop *loop;
	struct ev kick_ev[2];
	uint64_t guest_cid;
	struct virtio_vsock_config config;
	struct vsock_port ports[MAX_PORTS];
	unsigned nports, nconns;
	struct conn *hash[HASH_SIZE];
	struct conn *sendq, *sendq_tail;
	struct { uint32_t host_port, guest_port; } rst[RST_QUEUE];
	unsigned n_rst;
	struct vsock_service *services;	/* in the order registered */
	uint32_t next_port;		/* the next host port vsock_connect() tries */
	bool reset_pending;		/* the driver reset the device (vCPU thread) */
	bool rx_used, tx_used;		/* chains returned since the last interrupt */
	struct vq_chain chain;		/* scratch, too large for the stack */
};

struct conn *conn_find(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port);
uint32_t peer_credit(const struct conn *c);
bool can_read_host(const struct conn *c);
void sendq_push(struct conn *c);
struct conn *sendq_pop(struct vsock_dev *d);
void queue_rst(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port);
void finish_output(struct conn *c);
void recv_data(struct conn *c, const struct vq_chain *ch, uint32_t len);
struct conn *conn_new(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port,
		      int in_fd, int out_fd);
void conn_close(struct conn *c);
void conn_owe(struct conn *c, uint32_t what);
void conn_update_poll(struct conn *c);
void vsock_kick_rx(struct vsock_dev *d);
void vsock_lock(struct vsock_dev *d);
void vsock_unlock(struct vsock_dev *d);

void vsock_register(struct vsock_dev *d, struct vsock_service *s);
struct conn *vsock_connect(struct vsock_dev *d, struct vsock_service *s, uint32_t guest_port,
			   int fd);
void conn_attach(struct conn *c, int fd);
struct conn *broker_request(struct vsock_dev *d, uint16_t type, uint32_t host_port,
			    uint32_t guest_port);

#endif
