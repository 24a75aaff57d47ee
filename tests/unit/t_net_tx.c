// SPDX-License-Identifier: MIT
/*
 * t_net_tx.c - virtio-net's transmit side, end to end: a test driver puts
 * frames on the transmit queue of a device on a fake VM, and the test's
 * end of a socketpair plays the tap (netcase.h): good frames pass intact,
 * bad ones are dropped and counted, batches, back-pressure from the tap.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "tap.h"		/* before netcase.h: its got[] would shadow */
#include "netcase.h"
#include "vmm/util.h"

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

/* Chain @i: a zero header and @flen bytes of fill(@seed), at TXBUF + @i * @step. */
static void
tx_post_plain(uint16_t i, uint64_t step, uint32_t flen, unsigned seed)
{
	uint8_t *p = gpa(TXBUF + step * i, HDR + flen);

	memset(p, 0, HDR);
	fill(p + HDR, flen, seed);
	drv_desc(&env.drv, NET_TXQ, i, TXBUF + step * i, HDR + flen, 0, 0);
	drv_post(&env.drv, NET_TXQ, i);
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
	for (uint16_t i = 0; i < 3; i++)
		tx_post_plain(i, 0x1000, 100, 90 + i);
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
	for (uint16_t i = 0; i < n; i++)
		tx_post_plain(i, 0x10000, 60000, 100 + i);
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

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!CHECK_INT(netenv_init(&env, 8 * MIB, true), 0, "device on a fake VM"))
		return tap_done();
	test_tx();
	test_tx_no_offloads();
	test_tx_broken_ring();
	test_tx_batch();
	test_tx_backpressure();
	netenv_free(&env);
	return tap_done();
}
