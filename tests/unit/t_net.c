// SPDX-License-Identifier: MIT
/*
 * t_net.c - virtio-net's receive side, end to end: a test driver posts
 * receive buffers to a device on a fake VM and the test's end of a
 * socketpair plays the tap (netcase.h). The transmit side is in
 * t_net_tx.c, the frame checks on their own in t_net_frame.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tap.h"		/* before netcase.h: its got[] would shadow */
#include "netcase.h"
#include "vmm/util.h"

/* ---- receive ------------------------------------------------------------- */

static void
rx_post_at(uint16_t id, uint64_t addr, uint32_t len, uint16_t flags)
{
	drv_desc(&env.drv, NET_RXQ, id, addr, len, flags, 0);
	drv_post(&env.drv, NET_RXQ, id);
}

static void
rx_post(uint16_t id, uint32_t len)
{
	rx_post_at(id, RXBUF + stride * id, len, VRING_DESC_F_WRITE);
}

/* Post receive buffers 0..@n-1 of @len bytes each, and kick. */
static void
rx_give(uint16_t n, uint32_t len)
{
	for (uint16_t i = 0; i < n; i++)
		rx_post(i, len);
	netenv_kick(&env, NET_RXQ);
}

static void
host_send(const vhdr *h, const uint8_t *f, size_t flen)
{
	struct iovec iov[2] = { { (void *)h, HDR }, { (void *)f, flen } };

	(void)!writev(env.tap[1], iov, 2);
	netenv_pump(&env);
}

/*
 * Collect one delivered frame: used entries until num_buffers of them.
 * Return: its bytes after the header in got[], or -1.
 */
static long
rx_collect(vhdr *h, unsigned *nbuf, const char *what)
{
	uint32_t id, len;
	size_t total = 0;
	unsigned want = 1;

	*nbuf = 0;
	while (*nbuf < want) {
		if (!drv_used(&env.drv, NET_RXQ, &id, &len) || id >= NETENV_QSIZE) {
			CHECK(0, "%s: used entry %u of %u", what, *nbuf + 1, want);
			return -1;
		}
		memcpy(got + total, gpa(RXBUF + stride * id, len), len);
		total += len;
		if ((*nbuf)++ == 0) {
			memcpy(h, got, HDR);
			want = h->num_buffers;
		}
	}
	return (long)total - HDR;
}

static void
rx_expect(size_t flen, unsigned seed, unsigned want_nbuf, const char *what)
{
	unsigned nbuf;
	vhdr h;
	long n = rx_collect(&h, &nbuf, what);

	fill(frame, flen, seed);
	if (n < 0)
		return;
	CHECK_INT(n, flen, "%s: frame length", what);
	CHECK_INT(nbuf, want_nbuf, "%s: num_buffers", what);
	CHECK_MEM(got + HDR, frame, MIN((size_t)n, flen), "%s: frame content", what);
}

static bool
rx_none(void)
{
	uint32_t id, len;

	return !drv_used(&env.drv, NET_RXQ, &id, &len);
}

/* Drop what the test's tap queued for a device that never read it. */
static void
tap_forget(void)
{
	while (recv(env.tap[0], got, sizeof(got), MSG_DONTWAIT) >= 0)
		;
}

static void
send_frame(size_t flen, unsigned seed)
{
	vhdr h = { 0 };

	fill(frame, flen, seed);
	host_send(&h, frame, flen);
}

static void
test_rx(void)
{
	netenv_start(&env, F(MRG_RXBUF));
	send_frame(100, 1);
	CHECK(rx_none(), "no buffers yet: nothing delivered");
	rx_post(0, 4096);
	netenv_kick(&env, NET_RXQ);
	rx_expect(100, 1, 1, "frame waiting for buffers, delivered on the kick");

	for (uint16_t i = 4; i < 8; i++)
		rx_post(i, 2048);
	send_frame(5000, 2);
	rx_expect(5000, 2, 3, "5000 bytes merged over three 2 KiB buffers");
	send_frame(ETH_HLEN, 3);
	rx_expect(ETH_HLEN, 3, 1, "a 14-byte frame");
}

/* Three frames, no buffers: they wait in the tap, then arrive in order. */
static void
test_rx_backpressure(void)
{
	netenv_start(&env, F(MRG_RXBUF));
	for (unsigned i = 0; i < 3; i++)
		send_frame(200 + i, 10 + i);
	CHECK(rx_none(), "back-pressure: nothing delivered without buffers");
	rx_post(0, 4096);
	netenv_kick(&env, NET_RXQ);
	rx_expect(200, 10, 1, "back-pressure: first frame on the first buffer");
	CHECK(rx_none(), "back-pressure: one buffer, one frame");
	rx_post(1, 4096);
	rx_post(2, 4096);
	netenv_kick(&env, NET_RXQ);
	rx_expect(201, 11, 1, "back-pressure: second frame");
	rx_expect(202, 12, 1, "back-pressure: third frame");
	CHECK_U64(stats().rx_dropped, 0, "back-pressure: nothing dropped");
	CHECK(kicks_off(NET_RXQ), "no frame waiting: receive kicks off");
	send_frame(300, 13);
	CHECK(!kicks_off(NET_RXQ), "a frame waiting for buffers: receive kicks on");
	rx_post(3, 4096);
	netenv_kick(&env, NET_RXQ);
	rx_expect(300, 13, 1, "back-pressure: the kick brings it");
	CHECK(!kicks_off(NET_TXQ), "transmit queue empty: transmit kicks on");
}

/* Readable or too-small receive chains come back empty; the frame goes on. */
static void
test_rx_bad_buffers(void)
{
	uint64_t before;
	uint32_t id, len;

	netenv_start(&env, F(MRG_RXBUF));
	before = stats().bad_buffers;
	rx_post_at(0, RXBUF, 4096, 0);
	rx_post_at(1, RXBUF + 0x1000, HDR - 1, VRING_DESC_F_WRITE);
	rx_post_at(2, RXBUF + 0x2000, 0, VRING_DESC_F_WRITE);
	rx_post(3, 4096);
	netenv_kick(&env, NET_RXQ);
	send_frame(300, 20);
	for (unsigned i = 0; i < 3; i++)
		CHECK(drv_used(&env.drv, NET_RXQ, &id, &len) && id == i && len == 0,
		      "unusable receive chain %u comes back empty", i);
	rx_expect(300, 20, 1, "the frame goes to the next usable chain");
	CHECK_U64(stats().bad_buffers, before + 3, "unusable chains counted");
}

/* A frame larger than every buffer the ring could hold is dropped; they stay. */
static void
test_rx_too_big(void)
{
	uint64_t before;

	netenv_start(&env, F(MRG_RXBUF));
	before = stats().rx_dropped;
	rx_give(NETENV_QSIZE, 64);
	send_frame(5000, 30);
	CHECK(rx_none(), "too big for the whole ring: nothing delivered");
	CHECK_U64(stats().rx_dropped, before + 1, "too big for the whole ring: dropped, counted");
	send_frame(500, 31);
	rx_expect(500, 31, 8, "after the drop, the next frame in the same buffers");

	/* Without mergeable buffers, a frame must fit one chain. */
	netenv_start(&env, 0);
	rx_post(0, 1024);
	netenv_kick(&env, NET_RXQ);
	before = stats().rx_dropped;
	send_frame(2000, 32);
	CHECK(rx_none(), "no MRG_RXBUF: a frame larger than the buffer is not delivered");
	CHECK_U64(stats().rx_dropped, before + 1, "no MRG_RXBUF: dropped, counted");
	send_frame(1000, 33);
	rx_expect(1000, 33, 1, "no MRG_RXBUF: the next frame in that buffer, num_buffers 1");
}

/* Records from the tap the guest cannot take. */
static void
test_rx_checks(void)
{
	vhdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 };
	uint8_t tiny[5] = { 0 };
	uint64_t before;

	netenv_start(&env, F(MRG_RXBUF));
	rx_give(4, 4096);
	before = stats().rx_dropped;
	(void)!write(env.tap[1], tiny, sizeof(tiny));
	netenv_pump(&env);
	send_frame(ETH_HLEN - 1, 40);
	fill(frame, 100, 41);
	host_send(&h, frame, 100);
	h = (vhdr){ .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	host_send(&h, frame, 3000);
	fill(frame, BIG, 42);
	h = (vhdr){ 0 };
	host_send(&h, frame, NET_MAX_FRAME + 1);
	CHECK(rx_none(), "bad records from the tap: none delivered");
	CHECK_U64(stats().rx_dropped, before + 5, "bad records from the tap: five dropped");
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	send_frame(80, 43);
	rx_expect(80, 43, 1, "then a good frame");
	CHECK(!needs_reset(), "bad records from the tap: the device goes on");
}

/* With GUEST_CSUM and GUEST_TSO4 the tap's offload headers pass through. */
static void
test_rx_offloads(void)
{
	vhdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		   .hdr_len = 66, .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	unsigned nbuf;
	vhdr out;

	netenv_start(&env, F(MRG_RXBUF) | F(GUEST_CSUM) | F(GUEST_TSO4));
	rx_give(NETENV_QSIZE, 4096);
	fill(frame, 60000, 60);
	host_send(&h, frame, 60000);
	CHECK_INT(rx_collect(&out, &nbuf, "TSO frame to the guest"), 60000,
		  "TSO frame to the guest: 60000 bytes");
	CHECK_INT(nbuf, 15, "TSO frame to the guest: fifteen 4 KiB buffers");
	CHECK(out.flags == h.flags && out.gso_type == h.gso_type && out.gso_size == h.gso_size &&
	      out.csum_start == h.csum_start && out.csum_offset == h.csum_offset,
	      "TSO frame to the guest: its offload header intact");
	CHECK_MEM(got + HDR, frame, 60000, "TSO frame to the guest: content");
}

/* A reset with a frame half copied: it is gone; the next one is whole. */
static void
test_rx_reset(void)
{
	netenv_start(&env, F(MRG_RXBUF));
	rx_post(0, 2048);
	netenv_kick(&env, NET_RXQ);
	send_frame(5000, 50);
	CHECK(rx_none(), "half a frame: nothing published");
	netenv_start(&env, F(MRG_RXBUF));
	rx_give(4, 4096);
	send_frame(700, 51);
	rx_expect(700, 51, 1, "after a reset, the next frame arrives whole");

	netenv_start(&env, F(MRG_RXBUF));
	drv_desc(&env.drv, NET_RXQ, 0, RXBUF, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 77);
	drv_post(&env.drv, NET_RXQ, 0);
	netenv_kick(&env, NET_RXQ);
	send_frame(100, 52);
	CHECK(needs_reset(), "receive chain with a bad next: NEEDS_RESET");
}

/*
 * With buffers for a largest frame posted, frames go from the tap straight
 * into them (no bounce); what the driver cannot take is dropped and its
 * buffers take the next frame.
 */
static void
test_rx_direct(void)
{
	vhdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		   .hdr_len = 66, .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	uint64_t bounced, dropped;
	unsigned nbuf;
	vhdr out;

	stride = 0x2000;
	netenv_start(&env, F(MRG_RXBUF) | F(GUEST_CSUM) | F(GUEST_TSO4));
	tap_forget();
	rx_give(NETENV_QSIZE, 8192);
	bounced = stats().rx_bounced;
	dropped = stats().rx_dropped;
	fill(frame, 60000, 70);
	host_send(&h, frame, 60000);
	CHECK_INT(rx_collect(&out, &nbuf, "direct: TSO frame"), 60000, "direct: TSO frame, 60000 bytes");
	CHECK_INT(nbuf, 8, "direct: TSO frame over eight 8 KiB buffers");
	CHECK(out.flags == h.flags && out.gso_type == h.gso_type && out.gso_size == h.gso_size,
	      "direct: the offload header intact");
	CHECK_MEM(got + HDR, frame, 60000, "direct: TSO frame content");
	rx_give(8, 8192);
	send_frame(100, 71);
	rx_expect(100, 71, 1, "direct: a small frame in one buffer");
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	host_send(&h, frame, 3000);
	fill(frame, BIG, 72);
	host_send(&(vhdr){ 0 }, frame, NET_MAX_FRAME + 1);
	CHECK(rx_none(), "direct: TSO6 the driver lacks, and a frame too long: not delivered");
	CHECK_U64(stats().rx_dropped, dropped + 2, "direct: both dropped, counted");
	send_frame(200, 73);
	rx_expect(200, 73, 1, "direct: the next frame in the buffers they were read into");
	CHECK_U64(stats().rx_bounced, bounced, "direct: no frame through the bounce buffer");
	stride = 0x1000;
}

/* Frames that arrive together are published together: one interrupt. */
static void
test_rx_batch(void)
{
	uint64_t irqs;

	netenv_start(&env, F(MRG_RXBUF));
	rx_give(4, 4096);
	irqs = stats().interrupts;
	for (unsigned i = 0; i < 3; i++) {
		uint8_t rec[HDR + 400] = { 0 };

		fill(rec + HDR, 300 + i, 80 + i);
		(void)!write(env.tap[1], rec, HDR + 300 + i);
	}
	netenv_pump(&env);
	for (unsigned i = 0; i < 3; i++)
		rx_expect(300 + i, 80 + i, 1, "batch: frame in order");
	CHECK_U64(stats().interrupts, irqs + 1, "batch: three frames, one interrupt");
}

static void
test_config(void)
{
	uint8_t cfg[8];

	netenv_start(&env, F(MRG_RXBUF));
	for (unsigned i = 0; i < sizeof(cfg); i++)
		bus_access(&env.vm.mmio, NETENV_BASE + 0x100 + i, &cfg[i], 1, false);
	CHECK_MEM(cfg, "\x52\x54\x00\x12\x34\x56", 6, "config: the MAC");
	CHECK_INT(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP, "config: link up");
	drv_wr(&env.drv, 0x014, 0);
	CHECK_U64(drv_rd(&env.drv, 0x010) & (F(MAC) | F(STATUS) | F(MRG_RXBUF) | F(CSUM) |
					     F(GUEST_TSO4) | F(CTRL_VQ)),
		  F(MAC) | F(STATUS) | F(MRG_RXBUF) | F(CSUM) | F(GUEST_TSO4),
		  "features: MAC, STATUS, MRG_RXBUF and offloads; no control queue");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!CHECK_INT(netenv_init(&env, 8 * MIB, true), 0, "device on a fake VM"))
		return tap_done();
	test_config();
	test_rx();
	test_rx_backpressure();
	test_rx_bad_buffers();
	test_rx_too_big();
	test_rx_checks();
	test_rx_offloads();
	test_rx_reset();
	test_rx_direct();
	test_rx_batch();
	netenv_free(&env);
	return tap_done();
}
