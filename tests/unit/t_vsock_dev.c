// SPDX-License-Identifier: MIT
/*
 * t_vsock_dev.c - the virtio-vsock device as the guest sees it: every byte
 * it writes into guest memory must land in a writable receive buffer it
 * was given (within the length its used entry reports), or in a used ring.
 * Guest RAM starts as canaries; receive buffers of odd shapes are posted
 * and reposted; guest-initiated connections to a socketpair-backed test
 * service carry data both ways while the host end stalls, resumes, shuts
 * down and resets; the guest resets the device halfway.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "vsenv.h"
#include "virtio/vsock_int.h"
#include "vmm/util.h"

#define HDR	((uint32_t)sizeof(struct virtio_vsock_hdr))
#define RAM	(16 << 20)
#define CANARY	0xa5
#define RXB	0x400000	/* receive chain k's buffers at RXB + k * 0x10000 */
#define TXB	0x800000	/* transmit slot k at TXB + k * 0x20000 */
#define RING2	0x40000		/* rings after the reset */
#define NCONN	6
#define SVC_LO	1000
#define GBUF	(64 * 1024)	/* the guest's buf_alloc */

static struct vsenv env;
static uint8_t *snap;
static uint64_t ring;		/* current ring base */

/* Receive chain shapes: descriptor lengths, 0-terminated; WRITE unless ro. */
static const struct { uint32_t len[4]; bool ro; } shape[] = {
	{ { 4096 + HDR }, false },		/* Linux */
	{ { HDR, 4096 }, false },		/* header split off */
	{ { 20, 24 }, false },			/* exactly a header */
	{ { 30 }, false },			/* smaller than a header */
	{ { 10, 34, 100 }, false },		/* barely more */
	{ { HDR + 1 }, false },
	{ { 4096 + HDR }, false },
	{ { HDR, 4096 }, false },
	{ { 100, 60000 }, false },		/* big */
	{ { 4096 + HDR }, true },	/* read-only: unusable */
};
#define NRX (sizeof(shape) / sizeof(shape[0]))
static uint16_t rx_head[NRX];
static bool rx_posted[NRX];

/* Ranges the device may write this round. */
static struct { uint64_t gpa, len; } allowed[256];
static unsigned nallowed;

struct gconn {
	bool open, connected, dead;
	uint32_t gport, hport;
	int fd;			/* the test's (host reader's) end */
	uint32_t tx_cnt, peer_alloc, peer_fwd;	/* guest -> host */
	uint32_t rx_cnt;	/* host -> guest bytes received */
	uint32_t fwd;		/* the fwd_cnt the guest tells (lags while stalled) */
	uint64_t host_sent, host_got, guest_got;
};
static struct gconn gc[NCONN];
static int svc_fd[2048];

static struct conn *
svc_accept(struct vsock_service *s, uint32_t host_port, uint32_t guest_port)
{
	int sv[2], small = 8192;
	struct conn *c;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return NULL;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	c = conn_new(((struct vsock_service *)s)->opaque, host_port, guest_port, sv[0], sv[0]);
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	c->owns_fd = true;
	svc_fd[guest_port % 2048] = sv[1];
	return c;
}

static void *
gpa(uint64_t a, uint64_t len)
{
	return mem_ptr(&env.vm.mem, a, len);
}

static void
allow(uint64_t a, uint64_t len)
{
	if (nallowed < 256) {
		allowed[nallowed].gpa = a;
		allowed[nallowed++].len = len;
	}
}

static bool
is_allowed(uint64_t a)
{
	for (unsigned q = 0; q < 3; q++) {
		uint64_t u = ring + q * DRV_RING_SPAN + 0x2000;

		if (a >= u + 2 && a < u + 4 + 8 * VSENV_QSIZE)
			return true;
	}
	for (unsigned i = 0; i < nallowed; i++)
		if (a >= allowed[i].gpa && a < allowed[i].gpa + allowed[i].len)
			return true;
	return false;
}

static unsigned
stray(uint64_t *first)
{
	const uint8_t *ram = gpa(0, RAM);
	unsigned n = 0;

	for (uint64_t a = 0; a < RAM; a++)
		if (ram[a] != snap[a] && !is_allowed(a) && n++ == 0)
			*first = a;
	return n;
}

static uint64_t
rx_buf(unsigned k, unsigned j)
{
	uint64_t a = RXB + 0x10000ULL * k;

	for (unsigned i = 0; i < j; i++)
		a += shape[k].len[i] + 64;	/* gaps between buffers */
	return a;
}

static void
rx_post(unsigned k)
{
	uint16_t d = rx_head[k];
	unsigned n = 0;

	while (n < 4 && shape[k].len[n])
		n++;
	for (unsigned j = 0; j < n; j++)
		drv_desc(&env.drv, VS_RXQ, (uint16_t)(d + j), rx_buf(k, j), shape[k].len[j],
			 (shape[k].ro ? 0 : VRING_DESC_F_WRITE) | (j + 1 < n ? VRING_DESC_F_NEXT : 0),
			 (uint16_t)(d + j + 1));
	drv_post(&env.drv, VS_RXQ, d);
	rx_posted[k] = true;
}

static void
rx_setup(void)
{
	uint16_t d = 0;

	for (unsigned k = 0; k < NRX; k++) {
		rx_head[k] = d;
		for (unsigned j = 0; j < 4 && shape[k].len[j]; j++)
			d++;
	}
	if (d > VSENV_QSIZE)
		abort();
}

/* Copy a packet out of receive chain k (the first @len bytes). */
static void
rx_read(unsigned k, uint8_t *out, uint32_t len)
{
	uint32_t done = 0;

	for (unsigned j = 0; j < 4 && shape[k].len[j] && done < len; j++) {
		uint32_t n = MIN(shape[k].len[j], len - done);

		memcpy(out + done, gpa(rx_buf(k, j), n), n);
		done += n;
	}
}

static unsigned tx_slot, tx_n;

static void
tx_put(struct virtio_vsock_hdr h, const void *data)
{
	uint16_t d0 = (uint16_t)(2 * tx_slot);
	uint64_t b = TXB + 0x20000ULL * tx_slot;

	h.src_cid = VSENV_CID;
	h.dst_cid = HOST_CID;
	h.type = VIRTIO_VSOCK_TYPE_STREAM;
	h.buf_alloc = GBUF;
	memcpy(gpa(b, HDR), &h, HDR);
	if (h.len)
		memcpy(gpa(b + 0x1000, h.len), data, h.len);
	drv_desc(&env.drv, VS_TXQ, d0, b, HDR, h.len ? VRING_DESC_F_NEXT : 0, (uint16_t)(d0 + 1));
	if (h.len)
		drv_desc(&env.drv, VS_TXQ, (uint16_t)(d0 + 1), b + 0x1000, h.len, 0, 0);
	drv_post(&env.drv, VS_TXQ, d0);
	tx_slot = (tx_slot + 1) % (VSENV_QSIZE / 2);
	tx_n++;
}

static struct virtio_vsock_hdr
mk(struct gconn *g, uint16_t op, uint32_t len)
{
	return (struct virtio_vsock_hdr){ .src_port = g->gport, .dst_port = g->hport,
					  .op = op, .len = len, .fwd_cnt = g->fwd };
}

static unsigned used_twice, bad_len, bad_head, tx_bad;
static unsigned n_used[NRX], n_empty[NRX], max_len[NRX], n_op[8];

/* Read the used rings: allow what each used receive chain may hold, handle packets. */
static void
reap(void)
{
	uint32_t id, len;

	while (drv_used(&env.drv, VS_TXQ, &id, &len)) {
		tx_bad += len != 0 || id % 2 || id >= VSENV_QSIZE;
		tx_n--;
	}
	while (drv_used(&env.drv, VS_RXQ, &id, &len)) {
		unsigned k = 0, cap = 0;
		uint8_t pkt[HDR + 65536];
		struct virtio_vsock_hdr h;

		while (k < NRX && rx_head[k] != id)
			k++;
		if (k == NRX) {
			bad_head++;
			continue;
		}
		if (!rx_posted[k]) {
			used_twice++;
			continue;
		}
		rx_posted[k] = false;
		n_used[k]++;
		n_empty[k] += !len;
		max_len[k] = MAX(max_len[k], len);
		for (unsigned j = 0; j < 4 && shape[k].len[j]; j++) {
			uint32_t n = MIN(shape[k].len[j], len - MIN(len, cap));

			if (!shape[k].ro)
				allow(rx_buf(k, j), n);
			cap += shape[k].len[j];
		}
		if (len > cap || (shape[k].ro && len) || (len && len < HDR))
			bad_len++;
		if (len < HDR || len > cap)
			continue;
		rx_read(k, pkt, len);
		memcpy(&h, pkt, HDR);
		n_op[h.op & 7]++;
		if (h.len != len - HDR)
			bad_len++;
		for (unsigned i = 0; i < NCONN; i++) {
			struct gconn *g = &gc[i];

			if (!g->open || h.dst_port != g->gport || h.src_port != g->hport)
				continue;
			g->peer_alloc = h.buf_alloc;
			g->peer_fwd = h.fwd_cnt;
			if (h.op == VIRTIO_VSOCK_OP_RESPONSE)
				g->connected = true;
			else if (h.op == VIRTIO_VSOCK_OP_RW)
				g->rx_cnt += h.len, g->guest_got += h.len;
			else if (h.op == VIRTIO_VSOCK_OP_RST)
				g->open = false;
		}
	}
}

/* Host side of the service: write data for the guest, read the guest's. */
static void
host_side(unsigned round, bool stall)
{
	static uint8_t buf[65536];

	for (unsigned i = 0; i < NCONN; i++) {
		struct gconn *g = &gc[i];
		ssize_t n;

		if (!g->open || !g->connected || g->fd < 0)
			continue;
		if (!stall || i % 2) {
			while ((n = read(g->fd, buf, sizeof(buf))) > 0)
				g->host_got += (uint64_t)n;
		}
		memset(buf, (int)(round + i), 20000);
		if ((n = write(g->fd, buf, 5000 + 3000 * (round % 5))) > 0)
			g->host_sent += (uint64_t)n;
	}
}

static unsigned next_gport = 2000;

static void
open_conns(void)
{
	for (unsigned i = 0; i < NCONN; i++) {
		struct gconn *g = &gc[i];

		if (g->open)
			continue;
		memset(g, 0, sizeof(*g));
		g->open = true;
		g->gport = next_gport++;
		g->hport = SVC_LO + i;
		g->fd = -1;
		tx_put(mk(g, VIRTIO_VSOCK_OP_REQUEST, 0), NULL);
	}
}

/* One round: driver writes, snapshot, device runs, check. */
static void
round_(unsigned r, bool stall)
{
	static uint8_t data[16384];
	uint64_t first = 0;

	for (unsigned k = 0; k < NRX; k++)
		if (!rx_posted[k])
			rx_post(k);
	for (unsigned i = 0; i < NCONN && tx_n + 1 < VSENV_QSIZE / 2; i++) {
		struct gconn *g = &gc[i];
		uint32_t credit = g->peer_alloc - (g->tx_cnt - g->peer_fwd);
		uint32_t len = MIN(4096u + 1111u * (r % 11), credit);

		if (!g->open || !g->connected)
			continue;
		if (g->fd < 0)
			g->fd = svc_fd[g->gport % 2048];
		if (!stall || i > 1)
			g->fwd = g->rx_cnt;	/* conns 0, 1: the guest reader stalls too */
		if (r % 7 == i) {			/* credit update, or request */
			tx_put(mk(g, r % 2 ? VIRTIO_VSOCK_OP_CREDIT_UPDATE : VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0), NULL);
		} else if (r % 13 == 5 && i == 2) {	/* guest shuts down sending */
			struct virtio_vsock_hdr h = mk(g, VIRTIO_VSOCK_OP_SHUTDOWN, 0);

			h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | (r % 2 ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
			tx_put(h, NULL);
			g->dead = true;
		} else if (r % 17 == 8 && i == 3) {	/* guest resets */
			tx_put(mk(g, VIRTIO_VSOCK_OP_RST, 0), NULL);
			g->open = false;
		} else if (r % 19 == 9 && i == 4 && g->fd >= 0) {	/* host closes */
			close(g->fd);
			g->fd = -1;
			g->dead = true;
		} else if (len && !g->dead) {
			memset(data, (int)r, len);
			tx_put(mk(g, VIRTIO_VSOCK_OP_RW, len), data);
			g->tx_cnt += len;
		}
	}
	if (r % 9 == 0)
		open_conns();
	for (unsigned i = 0; i < NCONN; i++)
		if (gc[i].dead && r % 23 == 0) {
			if (gc[i].fd >= 0)
				close(gc[i].fd);
			tx_put(mk(&gc[i], VIRTIO_VSOCK_OP_RST, 0), NULL);
			gc[i].open = false;
		}
	memcpy(snap, gpa(0, RAM), RAM);
	nallowed = 0;
	vsenv_kick(&env, VS_TXQ);
	vsenv_kick(&env, VS_RXQ);
	reap();
	host_side(r, stall);
	vsenv_pump(&env);
	reap();
	CHECK_INT((int)stray(&first), 0,
		  "round %u: no byte written outside used receive buffers and used rings "
		  "(first at %#llx)", r, (unsigned long long)first);
	CHECK_INT((int)(used_twice + bad_head + bad_len + tx_bad), 0,
		  "round %u: each chain used once, known heads, lengths in bounds "
		  "(twice %u head %u len %u tx %u)", r, used_twice, bad_head, bad_len, tx_bad);
	used_twice = bad_head = bad_len = tx_bad = 0;
}

/* A reset with connections busy: afterwards nothing is written anywhere. */
static void
reset_check(uint64_t newring)
{
	uint64_t first = 0;

	/* Host data waiting for the guest, so the device has something to send. */
	for (unsigned i = 0; i < NCONN; i++)
		if (gc[i].fd >= 0)
			(void)!write(gc[i].fd, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 32);
	drv_wr(&env.drv, 0x070, 0);
	memcpy(snap, gpa(0, RAM), RAM);
	nallowed = 0;
	vsenv_pump(&env);
	for (unsigned i = 0; i < NCONN; i++)
		if (gc[i].fd >= 0)
			(void)!write(gc[i].fd, "yyyy", 4);
	vsenv_pump(&env);
	CHECK_INT((int)stray(&first), 0, "after a reset: nothing written to guest memory "
		  "(first at %#llx)", (unsigned long long)first);
	drv_start(&env.drv, &env.vm, VSENV_BASE, 3, VSENV_QSIZE, newring);
	ring = newring;
	memcpy(snap, gpa(0, RAM), RAM);
	for (unsigned i = 0; i < NCONN; i++)
		if (gc[i].fd >= 0)
			(void)!write(gc[i].fd, "zzzz", 4);
	vsenv_pump(&env);
	vsenv_kick(&env, VS_RXQ);
	CHECK_INT((int)stray(&first), 0, "after a reset and restart, before buffers are posted: "
		  "nothing written, not even to the new rings (first at %#llx)",
		  (unsigned long long)first);
	for (unsigned i = 0; i < NCONN; i++) {
		if (gc[i].fd >= 0)
			close(gc[i].fd);
		gc[i].open = false;
	}
	for (unsigned k = 0; k < NRX; k++)
		rx_posted[k] = false;
	tx_slot = tx_n = 0;
}

int
main(void)
{
	struct vsock_service *s = calloc(1, sizeof(*s));
	uint64_t got = 0, sent = 0;

	signal(SIGPIPE, SIG_IGN);
	snap = malloc(RAM);
	if (!s || !snap || vsenv_init(&env, RAM))
		return 1;
	s->name = "test";
	s->port_lo = SVC_LO;
	s->port_hi = SVC_LO + 999;
	s->accept = svc_accept;
	s->opaque = env.dev;
	vsock_register(env.dev, s);
	memset(gpa(0x100000, RAM - 0x100000), CANARY, RAM - 0x100000);
	ring = VSENV_RING;
	rx_setup();
	open_conns();
	for (unsigned r = 0; r < 60; r++)
		round_(r, (r / 5) % 2);
	for (unsigned i = 0; i < NCONN; i++)
		got += gc[i].guest_got, sent += gc[i].host_got;
	CHECK(got > 100000 && sent > 100000, "data flowed both ways (%llu to guest, %llu to host)",
	      (unsigned long long)got, (unsigned long long)sent);
	reset_check(RING2);
	open_conns();
	for (unsigned r = 60; r < 120; r++)
		round_(r, (r / 3) % 2);
	reset_check(VSENV_RING);
	for (unsigned k = 0; k < NRX; k++)
		printf("# shape %u: used %u, empty %u, max len %u\n", k, n_used[k], n_empty[k], max_len[k]);
	for (unsigned o = 0; o < 8; o++)
		printf("# op %u: %u packets\n", o, n_op[o]);
	vsenv_free(&env);
	free(snap);
	return tap_done();
}
