// SPDX-License-Identifier: MIT
/*
 * t_net.c - virtio-net frame handling, end to end: a test driver puts
 * frames on the transmit queue of a device on a fake VM and posts receive
 * buffers; the test's end of a socketpair plays the tap. Then the frame
 * checks on their own, as tables.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netenv.h"
#include "tap.h"
#include "vmm/tap.h"
#include "vmm/util.h"

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define HDR		((uint32_t)NET_HDR_LEN)
#define RXBUF		0x100000ULL	/* receive buffer i at +i * stride */
#define TXBUF		0x200000ULL	/* one transmit frame, up to 128 KiB */
#define BIG		(NET_MAX_FRAME + 64)

typedef struct virtio_net_hdr_v1 vhdr;

static struct netenv env;
static uint64_t stride = 0x1000;	/* 4 KiB buffers; 8 KiB for the direct path */
static uint8_t frame[BIG], got[HDR + BIG];

static void *
gpa(uint64_t a, uint64_t len)
{
	return mem_ptr(&env.vm.mem, a, len);
}

static void
fill(uint8_t *f, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 8));
}

static struct net_stats
stats(void)
{
	struct net_stats st;

	net_get_stats(env.dev, &st);
	return st;
}

static bool
needs_reset(void)
{
	return drv_rd(&env.drv, 0x070) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* ---- transmit ------------------------------------------------------------ */

/*
 * Put @total bytes (header and frame) on the transmit queue cut into
 * @ndesc descriptors, the last @writable of them device-writable.
 */
static void
tx_put(const void *bytes, size_t total, unsigned ndesc, unsigned writable)
{
	size_t cut = ndesc > 1 ? total / ndesc : total, off = 0;

	memcpy(gpa(TXBUF, total ? total : 1), bytes, total);
	for (unsigned i = 0; i < ndesc; i++) {
		size_t len = i + 1 == ndesc ? total - off : cut;
		uint16_t flags = (i + 1 < ndesc ? VRING_DESC_F_NEXT : 0) |
				 (i >= ndesc - writable ? VRING_DESC_F_WRITE : 0);

		drv_desc(&env.drv, NET_TXQ, (uint16_t)i, TXBUF + off, (uint32_t)len, flags,
			 (uint16_t)(i + 1));
		off += len;
	}
	drv_post(&env.drv, NET_TXQ, 0);
}

/* Send a chain; it must come back used with length 0. */
static void
tx_kick(const char *what)
{
	uint32_t id = 99, len = 99;

	netenv_kick(&env, NET_TXQ);
	CHECK(drv_used(&env.drv, NET_TXQ, &id, &len) && id == 0 && len == 0,
	      "%s: the chain comes back (id %u, len %u)", what, id, len);
}

static ssize_t
host_recv(void)
{
	return recv(env.tap[1], got, sizeof(got), MSG_DONTWAIT);
}

static void
tx_frame(const vhdr *h, size_t flen, unsigned ndesc)
{
	static uint8_t buf[HDR + BIG];

	memcpy(buf, h, HDR);
	memcpy(buf + HDR, frame, flen);
	tx_put(buf, HDR + flen, ndesc, 0);
}

/* A frame the device must pass to the tap unchanged but for @want_flags. */
static void
tx_good(const vhdr *h, size_t flen, unsigned ndesc, uint8_t want_flags, const char *what)
{
	uint64_t before = stats().tx_frames;
	vhdr out;
	ssize_t n;

	fill(frame, flen, (unsigned)flen);
	tx_frame(h, flen, ndesc);
	tx_kick(what);
	n = host_recv();
	if (!CHECK_INT(n, HDR + flen, "%s: the tap gets header and frame", what))
		return;
	memcpy(&out, got, HDR);
	CHECK(out.flags == want_flags && out.gso_type == h->gso_type && out.num_buffers == 0 &&
	      out.gso_size == h->gso_size && out.csum_start == h->csum_start,
	      "%s: the header as checked (flags %#x)", what, out.flags);
	CHECK_MEM(got + HDR, frame, flen, "%s: the frame intact", what);
	CHECK_U64(stats().tx_frames, before + 1, "%s: counted as sent", what);
}

/* A frame the device must drop: nothing on the tap, counted, chain back. */
static void
tx_bad(const void *bytes, size_t total, unsigned ndesc, unsigned writable, const char *what)
{
	uint64_t before = stats().tx_dropped;

	tx_put(bytes, total, ndesc, writable);
	tx_kick(what);
	CHECK_INT(host_recv(), -1, "%s: nothing reaches the tap", what);
	CHECK_U64(stats().tx_dropped, before + 1, "%s: dropped and counted", what);
	CHECK(!needs_reset(), "%s: the device goes on", what);
}

static void
tx_bad_hdr(vhdr h, size_t flen, const char *what)
{
	static uint8_t buf[HDR + BIG];

	memcpy(buf, &h, HDR);
	fill(buf + HDR, flen, 1);
	tx_bad(buf, HDR + flen, 1, 0, what);
}

static void
test_tx(void)
{
	vhdr h = { 0 };
	uint8_t small[128] = { 0 };

	netenv_start(&env, F(MRG_RXBUF) | F(CSUM) | F(HOST_TSO4));
	tx_good(&h, 60, 1, 0, "60-byte frame");
	tx_good(&h, 1514, 4, 0, "frame over four descriptors, header cut");
	tx_good(&h, ETH_HLEN, 1, 0, "header-only Ethernet frame (14 bytes)");
	tx_good(&h, NET_MAX_FRAME, 3, 0, "largest frame");
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID | 0x80;
	tx_good(&h, 60, 1, 0, "unknown and driver-forbidden flags are cleared");
	h = (vhdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 };
	tx_good(&h, 60, 2, VIRTIO_NET_HDR_F_NEEDS_CSUM, "partial checksum (CSUM)");
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.hdr_len = 66;
	tx_good(&h, 30000, 5, VIRTIO_NET_HDR_F_NEEDS_CSUM, "TSO frame (HOST_TSO4)");

	tx_bad(small, HDR, 1, 0, "a header and no frame");
	tx_bad(small, HDR + ETH_HLEN - 1, 1, 0, "13-byte frame");
	tx_bad(small, HDR - 1, 1, 0, "shorter than a header");
	tx_bad(small, 0, 1, 0, "an empty descriptor");
	tx_bad(small, 0, 3, 0, "three empty descriptors");
	tx_bad(small, HDR + 60, 2, 1, "a writable descriptor in a transmit chain");
	tx_bad(small, HDR + 60, 1, 1, "only a writable descriptor");
	fill(frame, BIG, 3);
	h = (vhdr){ 0 };
	tx_bad_hdr(h, NET_MAX_FRAME + 1, "a frame one byte too long");
	h = (vhdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 40, .csum_offset = 19 };
	tx_bad_hdr(h, 60, "checksum field past the frame");
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	tx_bad_hdr(h, 60, "checksum offsets at their maximum");
	h = (vhdr){ .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1400 };
	tx_bad_hdr(h, 3000, "TSO6 not negotiated");
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	tx_bad_hdr(h, 3000, "UFO never offered");
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	tx_bad_hdr(h, 3000, "ECN not negotiated");
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	tx_bad_hdr(h, 3000, "TSO with a segment size of 0");
	h.gso_type = VIRTIO_NET_HDR_GSO_ECN;
	tx_bad_hdr(h, 3000, "ECN without a GSO type");
	h.gso_type = 0x42;
	tx_bad_hdr(h, 3000, "an unknown GSO type");
}

static void
test_tx_no_offloads(void)
{
	vhdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 };

	netenv_start(&env, F(MRG_RXBUF));
	tx_bad_hdr(h, 60, "no CSUM: a partial checksum is dropped");
	h = (vhdr){ .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	tx_bad_hdr(h, 3000, "no HOST_TSO4: a TSO frame is dropped");
	h = (vhdr){ 0 };
	tx_good(&h, 100, 1, 0, "no offloads: a plain frame goes");
}

static void
test_tx_broken_ring(void)
{
	netenv_start(&env, F(MRG_RXBUF));
	drv_desc(&env.drv, NET_TXQ, 0, TXBUF, 40, VRING_DESC_F_NEXT, 99);
	drv_post(&env.drv, NET_TXQ, 0);
	netenv_kick(&env, NET_TXQ);
	CHECK(needs_reset(), "transmit chain with a bad next: NEEDS_RESET");
	CHECK_INT(host_recv(), -1, "bad chain: nothing reaches the tap");
}

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

/* The device's VRING_USED_F_NO_NOTIFY for queue @q. */
static bool
kicks_off(unsigned q)
{
	uint16_t *used = gpa(env.drv.q[q].used, 2);

	return used[0] & VRING_USED_F_NO_NOTIFY;
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
	for (uint16_t i = 0; i < NETENV_QSIZE; i++)
		rx_post(i, 64);
	netenv_kick(&env, NET_RXQ);
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
	for (uint16_t i = 0; i < 4; i++)
		rx_post(i, 4096);
	netenv_kick(&env, NET_RXQ);
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
	for (uint16_t i = 0; i < NETENV_QSIZE; i++)
		rx_post(i, 4096);
	netenv_kick(&env, NET_RXQ);
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
	for (uint16_t i = 0; i < 4; i++)
		rx_post(i, 4096);
	netenv_kick(&env, NET_RXQ);
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
	for (uint16_t i = 0; i < NETENV_QSIZE; i++)
		rx_post(i, 8192);
	netenv_kick(&env, NET_RXQ);
	bounced = stats().rx_bounced;
	dropped = stats().rx_dropped;
	fill(frame, 60000, 70);
	host_send(&h, frame, 60000);
	CHECK_INT(rx_collect(&out, &nbuf, "direct: TSO frame"), 60000, "direct: TSO frame, 60000 bytes");
	CHECK_INT(nbuf, 8, "direct: TSO frame over eight 8 KiB buffers");
	CHECK(out.flags == h.flags && out.gso_type == h.gso_type && out.gso_size == h.gso_size,
	      "direct: the offload header intact");
	CHECK_MEM(got + HDR, frame, 60000, "direct: TSO frame content");
	for (uint16_t i = 0; i < 8; i++)
		rx_post(i, 8192);
	netenv_kick(&env, NET_RXQ);
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
	for (uint16_t i = 0; i < 4; i++)
		rx_post(i, 4096);
	netenv_kick(&env, NET_RXQ);
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

/* Transmit chains taken together go out in order, with one interrupt. */
static void
test_tx_batch(void)
{
	uint64_t irqs, sent;
	uint32_t id, len;

	netenv_start(&env, F(MRG_RXBUF));
	irqs = stats().interrupts;
	sent = stats().tx_frames;
	for (uint16_t i = 0; i < 3; i++) {
		uint8_t *p = gpa(TXBUF + 0x1000ULL * i, HDR + 100);

		memset(p, 0, HDR);
		fill(p + HDR, 100, 90 + i);
		drv_desc(&env.drv, NET_TXQ, i, TXBUF + 0x1000ULL * i, HDR + 100, 0, 0);
		drv_post(&env.drv, NET_TXQ, i);
	}
	netenv_kick(&env, NET_TXQ);
	for (uint16_t i = 0; i < 3; i++) {
		fill(frame, 100, 90 + i);
		CHECK(host_recv() == HDR + 100 && !memcmp(got + HDR, frame, 100),
		      "tx batch: frame %u on the tap, in order", i);
		CHECK(drv_used(&env.drv, NET_TXQ, &id, &len) && id == i,
		      "tx batch: chain %u back (id %u)", i, id);
	}
	CHECK_U64(stats().tx_frames, sent + 3, "tx batch: three sent");
	CHECK_U64(stats().interrupts, irqs + 1, "tx batch: one interrupt");
}

/* A tap that takes no more: the frames wait, kicks off, then go in order. */
static void
test_tx_backpressure(void)
{
	unsigned n = 12, seen = 0;
	uint64_t sent = stats().tx_frames;
	uint32_t id, len;
	bool order = true;

	netenv_start(&env, F(MRG_RXBUF));
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *p = gpa(TXBUF + 0x10000ULL * i, HDR + 60000);

		memset(p, 0, HDR);
		fill(p + HDR, 60000, 100 + i);
		drv_desc(&env.drv, NET_TXQ, i, TXBUF + 0x10000ULL * i, HDR + 60000, 0, 0);
		drv_post(&env.drv, NET_TXQ, i);
	}
	netenv_kick(&env, NET_TXQ);
	CHECK(stats().tx_frames - sent < n, "tx back-pressure: the tap took %llu of %u",
	      (unsigned long long)(stats().tx_frames - sent), n);
	CHECK(kicks_off(NET_TXQ), "tx back-pressure: transmit kicks off while frames wait");
	while (seen < n && host_recv() == HDR + 60000) {
		fill(frame, 60000, 100 + seen);
		order &= !memcmp(got + HDR, frame, 60000);
		seen++;
		netenv_pump(&env);
	}
	CHECK(seen == n && order, "tx back-pressure: all %u frames, in order (%u)", n, seen);
	for (unsigned i = 0; i < n; i++)
		CHECK(drv_used(&env.drv, NET_TXQ, &id, &len) && id == i, "tx back-pressure: chain %u back", i);
	CHECK(!kicks_off(NET_TXQ), "tx back-pressure: kicks on again");
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

/* ---- the checks, as tables ----------------------------------------------- */

struct check {
	vhdr h;
	uint64_t len, features;
	int want;
	const char *what;
};

static const struct check tx_checks[] = {
	{ { 0 }, 14, 0, 0, "plain 14 bytes" },
	{ { 0 }, 13, 0, -EINVAL, "13 bytes" },
	{ { 0 }, 0, 0, -EINVAL, "empty" },
	{ { 0 }, NET_MAX_FRAME, 0, 0, "largest" },
	{ { 0 }, NET_MAX_FRAME + 1, 0, -EINVAL, "too long" },
	{ { 0 }, ~0ULL, 0, -EINVAL, "huge length" },
	{ { .flags = 1, .csum_start = 0, .csum_offset = 58 }, 60, F(CSUM), 0, "csum at the end" },
	{ { .flags = 1, .csum_start = 0, .csum_offset = 59 }, 60, F(CSUM), -EINVAL, "csum past it" },
	{ { .flags = 1 }, 60, 0, -EINVAL, "csum without CSUM" },
	{ { .flags = 0xfe }, 60, 0, 0, "unknown flags ignored" },
	{ { .gso_type = 1, .gso_size = 1 }, 60, F(HOST_TSO4), 0, "TSO4" },
	{ { .gso_type = 4, .gso_size = 1 }, 60, F(HOST_TSO6), 0, "TSO6" },
	{ { .gso_type = 4, .gso_size = 1 }, 60, F(HOST_TSO4), -EINVAL, "TSO6 without it" },
	{ { .gso_type = 0x81, .gso_size = 1 }, 60, F(HOST_TSO4) | F(HOST_ECN), 0, "TSO4 ECN" },
	{ { .gso_type = 0x81, .gso_size = 1 }, 60, F(HOST_TSO4), -EINVAL, "ECN without it" },
	{ { .gso_type = 3, .gso_size = 1 }, 60, ~0ULL, -EINVAL, "UFO" },
	{ { .gso_type = 1 }, 60, F(HOST_TSO4), -EINVAL, "TSO, no segment size" },
	{ { .gso_type = 0x80 }, 60, ~0ULL, -EINVAL, "ECN alone" },
};

static const struct check rx_checks[] = {
	{ { 0 }, 14, 0, 0, "plain 14 bytes" },
	{ { 0 }, 13, 0, -EINVAL, "13 bytes" },
	{ { 0 }, NET_MAX_FRAME + 1, 0, -EINVAL, "too long" },
	{ { .flags = 1, .csum_offset = 58 }, 60, F(GUEST_CSUM), 0, "csum" },
	{ { .flags = 1 }, 60, F(CSUM), -EINVAL, "csum without GUEST_CSUM" },
	{ { .flags = 1, .csum_start = 60 }, 60, F(GUEST_CSUM), -EINVAL, "csum past the end" },
	{ { .flags = 2 }, 60, 0, 0, "DATA_VALID without GUEST_CSUM: cleared" },
	{ { .gso_type = 1, .gso_size = 1 }, 60, F(GUEST_TSO4), 0, "TSO4" },
	{ { .gso_type = 1, .gso_size = 1 }, 60, F(HOST_TSO4), -EINVAL, "TSO4 the guest lacks" },
	{ { .gso_type = 0x84, .gso_size = 1 }, 60, F(GUEST_TSO6), -EINVAL, "ECN the guest lacks" },
	{ { .gso_type = 0x84, .gso_size = 1 }, 60, F(GUEST_TSO6) | F(GUEST_ECN), 0, "TSO6 ECN" },
};

static void
test_check_tables(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(tx_checks); i++) {
		vhdr h = tx_checks[i].h;

		CHECK_INT(net_tx_check(&h, tx_checks[i].len, tx_checks[i].features),
			  tx_checks[i].want, "net_tx_check: %s", tx_checks[i].what);
		CHECK(!(h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM),
		      "net_tx_check: %s: only NEEDS_CSUM left", tx_checks[i].what);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(rx_checks); i++) {
		vhdr h = rx_checks[i].h;
		int r = net_rx_check(&h, rx_checks[i].len, rx_checks[i].features);

		CHECK_INT(r, rx_checks[i].want, "net_rx_check: %s", rx_checks[i].what);
		CHECK(r || (rx_checks[i].features & F(GUEST_CSUM)) || !h.flags,
		      "net_rx_check: %s: no flags for a guest without GUEST_CSUM",
		      rx_checks[i].what);
	}
}

static void
test_tap_names(void)
{
	CHECK_INT(tap_check_name("tap0"), 0, "tap name: tap0");
	CHECK_INT(tap_check_name("abcdefghijklmno"), 0, "tap name: 15 characters");
	CHECK_INT(tap_check_name("abcdefghijklmnop"), -ENAMETOOLONG, "tap name: 16 characters");
	CHECK_INT(tap_check_name(""), -EINVAL, "tap name: empty");
	CHECK_INT(tap_check_name(".."), -EINVAL, "tap name: ..");
	CHECK_INT(tap_check_name("a/b"), -EINVAL, "tap name: a slash");
	CHECK_INT(tap_check_name("a b"), -EINVAL, "tap name: a space");
	CHECK_INT(tap_check_name("tap%d"), -EINVAL, "tap name: a %% pattern");
	CHECK_INT(tap_check_name("a:1"), -EINVAL, "tap name: a colon");
}

int
main(void)
{
	uint8_t mac[6];

	signal(SIGPIPE, SIG_IGN);
	if (!CHECK_INT(netenv_init(&env, 8 * MIB, true), 0, "device on a fake VM"))
		return tap_done();
	test_config();
	test_tx();
	test_tx_no_offloads();
	test_tx_broken_ring();
	test_rx();
	test_rx_backpressure();
	test_rx_bad_buffers();
	test_rx_too_big();
	test_rx_checks();
	test_rx_offloads();
	test_rx_reset();
	test_rx_direct();
	test_rx_batch();
	test_tx_batch();
	test_tx_backpressure();
	test_check_tables();
	test_tap_names();
	net_random_mac(mac);
	CHECK((mac[0] & 3) == 2, "random MAC: locally administered unicast");
	netenv_free(&env);
	return tap_done();
}
