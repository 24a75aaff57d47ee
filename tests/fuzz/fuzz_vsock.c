// SPDX-License-Identifier: MIT
/*
 * fuzz_vsock.c - virtio-vsock packet handling: a device on a fake VM,
 * socketpairs as its host fds, and a hostile guest the fuzzer plays.
 *
 * The input is a program of commands. Raw ones write any bytes anywhere
 * in guest RAM (rings, descriptors, buffers) and any register; helper ones
 * lay out a descriptor, post a chain, or build a packet header (the
 * fuzzer then only has to pick the fields). Between commands the device
 * runs as in capsa: kicks on its ioeventfds, host fds through the loop.
 * Host-side commands write to, drain or close the test's socket ends.
 * ASan, UBSan and LeakSanitizer (the whole device is torn down after each
 * input) are the oracle.
 *
 * fuzz-sources: virtio/vsock.c virtio/queue.c virtio/mmio.c vmm/mem.c
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input.h"
#include "vsenv.h"

#define RAM	(1024 * 1024)
#define BUFS	0x20000		/* 8 packet buffers: 64 KiB + header each */
#define RXBUFS	0xb0000		/* 16 receive buffers of 4 KiB */
#define HDR	sizeof(struct virtio_vsock_hdr)

enum cmd {
	C_POKE, C_KICK, C_HOST_WRITE, C_HOST_READ, C_HOST_CLOSE, C_REG, C_DESC,
	C_POST, C_PACKET, C_RXBUFS, C_NCMDS,
};

/* A packet header with fields mostly from the input, then its payload. */
static void
packet(struct vsenv *e, struct in *in)
{
	static const uint32_t ports[] = { PORT_CONTROL, PORT_STDIN, PORT_STDOUT, PORT_STDERR,
					  50, 51, 7, 0xffffffff };
	uint8_t slot = (uint8_t)take(in, 1) % 8, flags = (uint8_t)take(in, 1);
	uint64_t gpa = BUFS + (uint64_t)slot * 0x11000;
	struct virtio_vsock_hdr h = { .src_cid = VSENV_CID, .dst_cid = HOST_CID,
				      .type = VIRTIO_VSOCK_TYPE_STREAM };
	uint16_t d = (uint16_t)(slot * 2);
	const uint8_t *payload;
	size_t len;

	/* One statement per field: the input is read in this order. */
	if (flags & 1)
		h.src_cid = take(in, 8);
	if (flags & 2)
		h.dst_cid = take(in, 8);
	h.src_port = 1000 + (uint32_t)take(in, 1) % 4;
	h.dst_port = ports[take(in, 1) % 8];
	if (flags & 4)
		h.type = (uint16_t)take(in, 2);
	h.op = (uint16_t)(take(in, 1) % 9);
	h.flags = (uint32_t)take(in, 1) % 4;
	h.buf_alloc = (uint32_t)take(in, 4);
	h.fwd_cnt = (uint32_t)take(in, 4);
	len = (size_t)take(in, 2);
	/* With flag 32 the payload is whatever RAM holds: big packets, short input. */
	if (!(flags & 32)) {
		payload = bytes(in, &len);
		memcpy(mem_ptr(&e->vm.mem, gpa + HDR, len), payload, len);
	}
	h.len = flags & 8 ? (uint32_t)take(in, 4) : (uint32_t)len;
	memcpy(mem_ptr(&e->vm.mem, gpa, HDR), &h, HDR);
	/* The header alone, then the payload in a second descriptor. */
	drv_desc(&e->drv, VS_TXQ, d, gpa, HDR, len ? VRING_DESC_F_NEXT : 0, d + 1);
	drv_desc(&e->drv, VS_TXQ, d + 1, gpa + HDR, (uint32_t)len, 0, 0);
	drv_post(&e->drv, VS_TXQ, d);
	if (flags & 16)
		vsenv_kick(e, VS_TXQ);
}

static void
run(struct vsenv *e, struct in *in)
{
	uint8_t *ram = e->vm.mem.host;

	while (in->left) {
		uint8_t c = (uint8_t)take(in, 1), q = c >> 4 & 3;
		size_t len;
		unsigned port;

		switch (c % C_NCMDS) {
		case C_POKE:
			poke(in, ram, RAM);
			break;
		case C_KICK:
			vsenv_kick(e, q % 3);
			break;
		case C_HOST_WRITE:
			port = (unsigned)take(in, 1) % VS_NPORTS;
			len = (size_t)take(in, 2);
			{
				const uint8_t *p = bytes(in, &len);

				if (e->host[port][1] >= 0)
					(void)!write(e->host[port][1], p, len);
			}
			vsenv_pump(e);
			break;
		case C_HOST_READ: {
			static uint8_t sink[65536];

			port = (unsigned)take(in, 1) % VS_NPORTS;
			if (e->host[port][1] >= 0)
				while (read(e->host[port][1], sink, sizeof(sink)) > 0)
					;
			vsenv_pump(e);
			break;
		}
		case C_HOST_CLOSE:
			port = (unsigned)take(in, 1) % VS_NPORTS;
			if (c & 0x80 && e->host[port][1] >= 0)
				shutdown(e->host[port][1], SHUT_WR);
			else if (e->host[port][1] >= 0) {
				close(e->host[port][1]);
				e->host[port][1] = -1;
			}
			vsenv_pump(e);
			break;
		case C_REG: {
			uint64_t reg = take(in, 2) & 0x1fc;

			drv_wr(&e->drv, reg, (uint32_t)take(in, 4));
			break;
		}
		case C_DESC: {
			/* Arguments are read one by one: their order is the format. */
			uint16_t i = (uint16_t)take(in, 1) % VSENV_QSIZE;
			uint64_t addr = take(in, 3);
			uint32_t dlen = (uint32_t)take(in, 3);
			uint16_t flags = (uint16_t)take(in, 1) & 7;

			drv_desc(&e->drv, q % 3, i, addr, dlen, flags, (uint16_t)take(in, 1));
			break;
		}
		case C_POST:
			drv_post(&e->drv, q % 3, (uint16_t)take(in, 1));
			break;
		case C_PACKET:
			packet(e, in);
			break;
		case C_RXBUFS:
			/* Post some of the 16 receive buffers. */
			for (unsigned i = 0, n = 1 + (unsigned)take(in, 1) % 8; i < n; i++) {
				uint16_t id = (uint16_t)take(in, 1) % VSENV_QSIZE;

				drv_desc(&e->drv, VS_RXQ, id, RXBUFS + 0x1000ULL * id, 0x1000,
					 VRING_DESC_F_WRITE, 0);
				drv_post(&e->drv, VS_RXQ, id);
			}
			vsenv_kick(e, VS_RXQ);
			break;
		}
	}
	vsenv_kick(e, VS_TXQ);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As capsa does: a host reader that went away is an EPIPE, not a signal. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsenv env;
	struct in in = { data, size };

	if (vsenv_init(&env, RAM))
		abort();
	run(&env, &in);
	vsenv_free(&env);
	return 0;
}
