// SPDX-License-Identifier: MIT
/*
 * fuzz_net.c - virtio-net frame handling: a device on a fake VM, a
 * socketpair as its tap, and a hostile guest and host the fuzzer plays.
 *
 * The input is two bytes of setup, then a program of commands.
 *   setup:   byte 0 bit 0: the device offers offloads; bytes 0-1: the
 *            features the driver accepts (bit i of the 16 picks features[i]).
 *   commands (first byte; bits 4-5 pick a queue where one is needed):
 *     POKE      3-byte offset, 1-byte length, bytes: anything into RAM
 *     KICK      QueueNotify for the queue
 *     HOST      2-byte length, bytes (or RAM with bit 7): a record from the tap
 *     DRAIN     read every frame the device wrote to the tap
 *     REG       2-byte offset, 4-byte value: a register write
 *     DESC      index, 3-byte addr, 3-byte len, flags, next: one descriptor
 *     POST      head: make a chain available
 *     FRAME     a transmit frame: slot, mode, the header fields, 2-byte
 *               length, payload; cut over 1-4 descriptors, maybe kicked
 *     RXBUFS    count, then per buffer an index and a 2-byte size: post
 *               receive buffers, then kick
 *     RESTART   2 bytes of features: reset and negotiate again
 * Between commands the device runs as in capsa: kicks on its ioeventfds,
 * the tap through the loop. ASan, UBSan and LeakSanitizer (everything is
 * torn down after each input) are the oracle.
 *
 * fuzz-sources: virtio/net.c virtio/net_rx.c virtio/net_frame.c virtio/queue.c virtio/mmio.c vmm/mem.c
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input.h"
#include "netenv.h"

#define RAM	(1024 * 1024)
#define TXBUFS	0x20000		/* 4 frame slots of 68 KiB */
#define TXSLOT	0x11000
#define RXBUFS	0x70000		/* 16 receive buffers, up to 64 KiB apart */
#define HDR	NET_HDR_LEN
#define F(bit)	(1ULL << VIRTIO_NET_F_##bit)

static const uint64_t features[16] = {
	F(CSUM), F(GUEST_CSUM), F(MAC), F(GUEST_TSO4), F(GUEST_TSO6), F(GUEST_ECN),
	F(HOST_TSO4), F(HOST_TSO6), F(HOST_ECN), F(MRG_RXBUF), F(STATUS), F(MRG_RXBUF),
	1ULL << VIRTIO_RING_F_EVENT_IDX, F(CTRL_VQ), F(GUEST_UFO), 1ULL << 40,
};

enum cmd {
	C_POKE, C_KICK, C_HOST, C_DRAIN, C_REG, C_DESC, C_POST, C_FRAME, C_RXBUFS,
	C_RESTART, C_NCMDS,
};

static uint64_t
pick_features(uint16_t bits)
{
	uint64_t f = 0;

	for (unsigned i = 0; i < 16; i++)
		if (bits & (1U << i))
			f |= features[i];
	return f;
}

/* A transmit frame: header fields from the input, cut into descriptors. */
static void
frame(struct netenv *e, struct in *in)
{
	uint8_t slot = (uint8_t)take(in, 1) % 4, mode = (uint8_t)take(in, 1);
	uint64_t gpa = TXBUFS + (uint64_t)slot * TXSLOT;
	struct virtio_net_hdr_v1 h = { 0 };
	unsigned ndesc = 1 + mode % 4;
	size_t len, total, cut, off = 0;

	/* One statement per field: the input is read in this order. */
	h.flags = (uint8_t)take(in, 1);
	h.gso_type = (uint8_t)take(in, 1);
	h.hdr_len = (uint16_t)take(in, 2);
	h.gso_size = (uint16_t)take(in, 2);
	h.csum_start = (uint16_t)take(in, 2);
	h.csum_offset = (uint16_t)take(in, 2);
	len = (size_t)take(in, 2) + (mode & 8 ? 0x10000 - 64 : 0);	/* around the maximum */
	if (!(mode & 32)) {			/* else the payload is what RAM holds */
		size_t n = len;
		const uint8_t *p = bytes(in, &n);

		memcpy(mem_ptr(&e->vm.mem, gpa + HDR, n), p, n);
	}
	memcpy(mem_ptr(&e->vm.mem, gpa, HDR), &h, HDR);
	total = mode & 64 ? len : HDR + len;	/* 64: shorter than it says */
	cut = total / ndesc;
	for (unsigned i = 0; i < ndesc; i++) {
		size_t l = i + 1 == ndesc ? total - off : cut;
		uint16_t d = (uint16_t)(slot * 4 + i);

		drv_desc(&e->drv, NET_TXQ, d, gpa + off, (uint32_t)l,
			 (i + 1 < ndesc ? VRING_DESC_F_NEXT : 0) |
			 (mode & 128 && i + 1 == ndesc ? VRING_DESC_F_WRITE : 0), d + 1);
		off += l;
	}
	drv_post(&e->drv, NET_TXQ, (uint16_t)(slot * 4));
	if (mode & 16)
		netenv_kick(e, NET_TXQ);
}

static void
rxbufs(struct netenv *e, struct in *in)
{
	for (unsigned i = 0, n = 1 + (unsigned)take(in, 1) % 16; i < n; i++) {
		uint16_t id = (uint16_t)take(in, 1) % NETENV_QSIZE;
		uint32_t size = (uint32_t)take(in, 2);

		drv_desc(&e->drv, NET_RXQ, id, RXBUFS + 0x10000ULL * (id % 8), size,
			 VRING_DESC_F_WRITE, 0);
		drv_post(&e->drv, NET_RXQ, id);
	}
	netenv_kick(e, NET_RXQ);
}

static void
host(struct netenv *e, struct in *in, uint8_t c)
{
	size_t len = (size_t)take(in, 2) + (c & 0x40 ? 0x10000 : 0);
	const uint8_t *p = e->vm.mem.host + RXBUFS;	/* RAM: long records, short input */

	if (!(c & 0x80))
		p = bytes(in, &len);
	(void)!write(e->tap[1], p, len);
	netenv_pump(e);
}

static void
drain(struct netenv *e)
{
	static uint8_t sink[HDR + NET_MAX_FRAME + 64];

	while (recv(e->tap[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	netenv_pump(e);
}

static void
run(struct netenv *e, struct in *in)
{
	uint8_t *ram = e->vm.mem.host;

	while (in->left) {
		uint8_t c = (uint8_t)take(in, 1), q = c >> 4 & 1;

		switch (c % C_NCMDS) {
		case C_POKE:
			poke(in, ram, RAM);
			break;
		case C_KICK:
			netenv_kick(e, q);
			break;
		case C_HOST:
			host(e, in, c);
			break;
		case C_DRAIN:
			drain(e);
			break;
		case C_REG: {
			uint64_t reg = take(in, 2) & 0x1fc;

			drv_wr(&e->drv, reg, (uint32_t)take(in, 4));
			break;
		}
		case C_DESC: {
			/* Arguments are read one by one: their order is the format. */
			uint16_t i = (uint16_t)take(in, 1) % NETENV_QSIZE;
			uint64_t addr = take(in, 3);
			uint32_t dlen = (uint32_t)take(in, 3);
			uint16_t flags = (uint16_t)take(in, 1) & 7;

			drv_desc(&e->drv, q, i, addr, dlen, flags, (uint16_t)take(in, 1));
			break;
		}
		case C_POST:
			drv_post(&e->drv, q, (uint16_t)take(in, 1));
			break;
		case C_FRAME:
			frame(e, in);
			break;
		case C_RXBUFS:
			rxbufs(e, in);
			break;
		case C_RESTART:
			netenv_start(e, pick_features((uint16_t)take(in, 2)));
			break;
		}
	}
	netenv_kick(e, NET_TXQ);
	drain(e);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct netenv env;
	struct in in = { data, size };
	uint16_t setup = (uint16_t)take(&in, 2);

	if (netenv_init(&env, RAM, setup & 1))
		abort();
	netenv_start(&env, pick_features(setup));
	run(&env, &in);
	netenv_free(&env);
	return 0;
}
