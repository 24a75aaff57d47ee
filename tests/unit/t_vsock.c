// SPDX-License-Identifier: MIT
/*
 * t_vsock.c - virtio-vsock packet handling, end to end: a test driver puts
 * packets on the transmit queue of a device on a fake VM and reads what
 * comes back on the receive queue and on the host socketpairs.
 */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "vsenv.h"
#include "vmm/net/msg.h"
#include "virtio/vsock.h"
#include "vmm/broker.h"
#include "vmm/util.h"

#define HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define RW VIRTIO_VSOCK_OP_RW

static struct vsenv env;
static unsigned tx_slot;
static unsigned rx_empty;	/* receive buffers the device returned unused */

struct pkt {
	struct virtio_vsock_hdr h;
	uint32_t used_len;
	uint8_t data[4096];
};

static void *
gpa(uint64_t a, uint64_t len)
{
	return mem_ptr(&env.vm.mem, a, len);
}

static struct virtio_vsock_hdr
hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = VSENV_CID, .dst_cid = HOST_CID, .src_port = src_port,
		.dst_port = dst_port, .len = len, .type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op, .buf_alloc = 64 * 1024,
	};
}

/*
 * Queue one packet on the transmit queue: the header in its own
 * descriptor, or (split) the header cut in two and the payload in two.
 * @blen is the bytes the chain holds after the header.
 */
static void
tx_put(const struct virtio_vsock_hdr *h, const void *data, uint32_t blen, bool split)
{
	uint16_t d0 = (uint16_t)(3 * tx_slot);
	uint64_t buf = VSENV_TXBUF + 0x20000ULL * tx_slot;
	uint8_t *p = gpa(buf, HDR + blen);
	uint32_t cut = split ? 20 : HDR + blen;

	memcpy(p, h, HDR);
	if (blen)
		memcpy(p + HDR, data, blen);
	drv_desc(&env.drv, VS_TXQ, d0, buf, cut, VRING_DESC_F_NEXT * split, d0 + 1);
	if (split) {
		uint32_t mid = HDR - cut + blen / 2;

		drv_desc(&env.drv, VS_TXQ, d0 + 1, buf + cut, mid, VRING_DESC_F_NEXT, d0 + 2);
		drv_desc(&env.drv, VS_TXQ, d0 + 2, buf + cut + mid, HDR + blen - cut - mid, 0, 0);
	}
	drv_post(&env.drv, VS_TXQ, d0);
	tx_slot = (tx_slot + 1) % 5;
}

/* Kick the transmit queue; every chain must come back used, with len 0. */
static void
tx_kick(const char *what)
{
	uint32_t id, len;
	bool ok = true;
	unsigned n = 0;

	vsenv_kick(&env, VS_TXQ);
	while (drv_used(&env.drv, VS_TXQ, &id, &len)) {
		ok &= len == 0 && id % 3 == 0;
		n++;
	}
	CHECK(ok && n > 0, "%s: transmit chains returned", what);
}

static void
tx(const struct virtio_vsock_hdr *h, const void *data, const char *what)
{
	tx_put(h, data, h->op == RW ? h->len : 0, false);
	tx_kick(what);
}

static void
rx_post(uint16_t id, bool writable)
{
	drv_desc(&env.drv, VS_RXQ, id, VSENV_RXBUF + 0x1000ULL * id, 0x1000,
		 writable ? VRING_DESC_F_WRITE : 0, 0);
	drv_post(&env.drv, VS_RXQ, id);
}

/*
 * The next packet the device sent, its buffer posted again. Buffers given
 * back empty (unusable ones) are counted in rx_empty and skipped.
 */
static bool
rx(struct pkt *p)
{
	uint32_t id, len;

	do {
		if (!drv_used(&env.drv, VS_RXQ, &id, &len) || id >= VSENV_QSIZE)
			return false;
		if (!len) {
			rx_empty++;
			rx_post((uint16_t)id, true);
		}
	} while (!len);
	p->used_len = len;
	memcpy(&p->h, gpa(VSENV_RXBUF + 0x1000ULL * id, HDR), HDR);
	memcpy(p->data, gpa(VSENV_RXBUF + 0x1000ULL * id + HDR, 0x1000 - HDR), 0x1000 - HDR);
	rx_post((uint16_t)id, true);
	return true;
}

/* Expect the device's next packet to be @op between the two ports. */
static bool
expect(struct pkt *p, uint16_t op, uint32_t host_port, uint32_t guest_port, const char *what)
{
	if (!rx(p))
		return CHECK(0, "%s: a packet arrived", what);
	return CHECK(p->h.op == op && p->h.src_port == host_port && p->h.dst_port == guest_port &&
		     p->h.src_cid == HOST_CID && p->h.dst_cid == VSENV_CID &&
		     p->h.type == VIRTIO_VSOCK_TYPE_STREAM && p->h.buf_alloc == VSENV_CONN_BUF &&
		     p->used_len == HDR + p->h.len,
		     "%s: op %u from host port %#x to %u (got op %u, %#x -> %u, used %u)", what, op,
		     host_port, guest_port, p->h.op, p->h.src_port, p->h.dst_port, p->used_len);
}

static void
expect_none(const char *what)
{
	struct pkt p;

	vsenv_kick(&env, VS_RXQ);
	CHECK(!rx(&p), "%s: no packet for the guest", what);
}

/* Read exactly @len bytes the device wrote to host port @i. */
static size_t
host_read(unsigned i, void *buf, size_t len)
{
	size_t got = 0;

	for (int tries = 0; got < len && tries < 100; tries++) {
		ssize_t n = read(env.host[i][1], (uint8_t *)buf + got, len - got);

		if (n > 0)
			got += (size_t)n;
		else
			vsenv_pump(&env);
	}
	return got;
}

static bool
host_empty(unsigned i)
{
	char c;

	return read(env.host[i][1], &c, 1) < 0 && errno == EAGAIN;
}

static void
test_connect(void)
{
	struct virtio_vsock_hdr h;
	struct pkt p;

	CHECK_U64(drv_rd(&env.drv, 0x100) | (uint64_t)drv_rd(&env.drv, 0x104) << 32, VSENV_CID,
		  "config space holds the guest CID");
	CHECK_U64(drv_rd(&env.drv, 0x008), 19, "device id 19 (vsock)");

	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1001, PORT_STDOUT, 0);
	tx(&h, NULL, "request stdout");
	CHECK(!rx(&p), "no receive buffers yet: the response waits");
	for (uint16_t i = 0; i < VSENV_QSIZE; i++)
		rx_post(i, true);
	vsenv_kick(&env, VS_RXQ);
	if (expect(&p, VIRTIO_VSOCK_OP_RESPONSE, PORT_STDOUT, 1001, "response once buffers come"))
		CHECK(p.h.len == 0 && p.h.fwd_cnt == 0 && p.h.flags == 0, "response: len, fwd_cnt 0");

	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1000, 7, 0);
	tx(&h, NULL, "request to port 7");
	expect(&p, VIRTIO_VSOCK_OP_RST, 7, 1000, "a port nobody exposed is reset");
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1002, PORT_STDOUT, 0);
	tx(&h, NULL, "second request stdout");
	expect(&p, VIRTIO_VSOCK_OP_RST, PORT_STDOUT, 1002, "an exposed port is taken once");
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 1003, PORT_STDERR, 0);
	h.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	tx(&h, NULL, "seqpacket request");
	expect(&p, VIRTIO_VSOCK_OP_RST, PORT_STDERR, 1003, "a seqpacket request is reset");
}

static void
test_data(void)
{
	struct virtio_vsock_hdr h;
	struct pkt p;
	char got[16] = { 0 };

	h = hdr(RW, 1001, PORT_STDOUT, 5);
	tx(&h, "hello", "rw");
	CHECK(host_read(VS_STDOUT, got, 5) == 5 && !memcmp(got, "hello", 5), "hello reaches stdout");
	h = hdr(RW, 1001, PORT_STDOUT, 6);
	tx_put(&h, "world!", 6, true);
	tx_kick("split rw");
	CHECK(host_read(VS_STDOUT, got, 6) == 6 && !memcmp(got, "world!", 6),
	      "header and payload split over three descriptors");

	/* Each of these is dropped: nothing written, nothing answered. */
	static const struct { uint64_t src_cid, dst_cid; uint16_t op; uint32_t len, blen;
			      const char *what; } bad[] = {
		{ VSENV_CID, HOST_CID, RW, 100, 10, "len beyond the chain" },
		{ VSENV_CID, HOST_CID, RW, 0, 0, "rw with len 0" },
		{ VSENV_CID, HOST_CID, RW, 64 * 1024 + 1, 64 * 1024 + 1, "payload above 64 KiB" },
		{ 4, HOST_CID, RW, 4, 4, "wrong source CID" },
		{ VSENV_CID, 5, RW, 4, 4, "wrong destination CID" },
		{ VSENV_CID, HOST_CID, VIRTIO_VSOCK_OP_INVALID, 0, 0, "op INVALID" },
		{ VSENV_CID, HOST_CID, 8, 0, 0, "op 8" },
		{ VSENV_CID, HOST_CID, 0xffff, 0, 0, "op 0xffff" },
		{ VSENV_CID, HOST_CID, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 4, 4, "control packet with len" },
	};
	static uint8_t junk[64 * 1024 + 1];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		h = hdr(bad[i].op, 1001, PORT_STDOUT, bad[i].len);
		h.src_cid = bad[i].src_cid;
		h.dst_cid = bad[i].dst_cid;
		tx_put(&h, junk, bad[i].blen, false);
		tx_kick(bad[i].what);
		expect_none(bad[i].what);
		CHECK(host_empty(VS_STDOUT), "%s: nothing on the host fd", bad[i].what);
	}
	/* A chain shorter than a header. */
	drv_desc(&env.drv, VS_TXQ, 0, VSENV_TXBUF, HDR - 1, 0, 0);
	drv_post(&env.drv, VS_TXQ, 0);
	tx_kick("short header");
	expect_none("short header");

	h = hdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 1001, PORT_STDOUT, 0);
	tx(&h, NULL, "credit request");
	if (expect(&p, VIRTIO_VSOCK_OP_CREDIT_UPDATE, PORT_STDOUT, 1001, "credit update"))
		CHECK_INT(p.h.fwd_cnt, 11, "credit update counts the 11 bytes written");

	/* The next receive buffer made unusable (device-readable, then too short). */
	for (int i = 0; i < 2; i++) {
		uint16_t *ring = gpa(env.drv.q[VS_RXQ].avail + 4, 2 * VSENV_QSIZE);
		uint16_t next = ring[env.drv.q[VS_RXQ].used_seen % VSENV_QSIZE];
		unsigned before = rx_empty;

		drv_desc(&env.drv, VS_RXQ, next, VSENV_RXBUF + 0x1000ULL * next, i ? HDR - 1 : 0x1000,
			 i ? VRING_DESC_F_WRITE : 0, 0);
		h = hdr(RW, 4444, PORT_STDOUT, 1);
		tx(&h, "x", "rw on no connection");
		expect(&p, VIRTIO_VSOCK_OP_RST, PORT_STDOUT, 4444, "data without a connection is reset");
		CHECK_INT(rx_empty, before + 1, "an unusable receive buffer came back empty first");
	}
}

static void
test_host_to_guest(void)
{
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 2000, PORT_STDIN, 0);
	struct pkt p;

	h.buf_alloc = 2;
	tx(&h, NULL, "request stdin");
	expect(&p, VIRTIO_VSOCK_OP_RESPONSE, PORT_STDIN, 2000, "stdin connected");
	CHECK(write(env.host[VS_STDIN][1], "abc", 3) == 3, "host writes abc");
	vsenv_pump(&env);
	if (expect(&p, RW, PORT_STDIN, 2000, "data for the guest"))
		CHECK(p.h.len == 2 && !memcmp(p.data, "ab", 2), "only the guest's 2 bytes of credit");
	expect_none("credit exhausted");
	h = hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 2000, PORT_STDIN, 0);
	h.buf_alloc = 2;
	h.fwd_cnt = 2;
	tx(&h, NULL, "guest frees its buffer");
	if (expect(&p, RW, PORT_STDIN, 2000, "more data after a credit update"))
		CHECK(p.h.len == 1 && p.data[0] == 'c', "the rest: c");
	close(env.host[VS_STDIN][1]);
	env.host[VS_STDIN][1] = -1;
	vsenv_pump(&env);
	if (expect(&p, VIRTIO_VSOCK_OP_SHUTDOWN, PORT_STDIN, 2000, "host EOF"))
		CHECK_INT(p.h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND, "shutdown: no more sends");
}

static void
test_shutdown(void)
{
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_REQUEST, 3000, PORT_CONTROL, 0);
	struct pkt p;
	char got[8];

	tx(&h, NULL, "request control");
	expect(&p, VIRTIO_VSOCK_OP_RESPONSE, PORT_CONTROL, 3000, "control connected");
	h = hdr(RW, 3000, PORT_CONTROL, 4);
	tx(&h, "ping", "ping");
	CHECK(host_read(VS_CONTROL, got, 4) == 4 && !memcmp(got, "ping", 4), "ping reaches host");
	CHECK(write(env.host[VS_CONTROL][1], "pong", 4) == 4, "host answers");
	vsenv_pump(&env);
	if (expect(&p, RW, PORT_CONTROL, 3000, "pong"))
		CHECK(p.h.len == 4 && !memcmp(p.data, "pong", 4), "pong reaches the guest");

	h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 3000, PORT_CONTROL, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	tx(&h, NULL, "guest shuts down sending");
	CHECK(read(env.host[VS_CONTROL][1], got, 1) == 0, "the host reader sees EOF");
	h = hdr(RW, 3000, PORT_CONTROL, 1);
	tx(&h, "z", "data after shutdown");
	expect(&p, VIRTIO_VSOCK_OP_RST, PORT_CONTROL, 3000, "data after SHUTDOWN_SEND resets");
	h = hdr(RW, 3000, PORT_CONTROL, 1);
	tx(&h, "z", "data after the reset");
	expect(&p, VIRTIO_VSOCK_OP_RST, PORT_CONTROL, 3000, "the connection is gone");

	h = hdr(VIRTIO_VSOCK_OP_RST, 1001, PORT_STDOUT, 0);
	tx(&h, NULL, "guest resets stdout");
	expect_none("a RST is not answered");
	h = hdr(RW, 1001, PORT_STDOUT, 1);
	tx(&h, "q", "data after guest RST");
	expect(&p, VIRTIO_VSOCK_OP_RST, PORT_STDOUT, 1001, "stdout connection is gone");
	CHECK(host_empty(VS_STDOUT), "nothing written after the RST");

	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 3001, PORT_STDERR, 0);
	tx(&h, NULL, "request stderr");
	expect(&p, VIRTIO_VSOCK_OP_RESPONSE, PORT_STDERR, 3001, "stderr connected");
	h = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 3001, PORT_STDERR, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV;
	tx(&h, NULL, "guest shuts down both ways");
	expect(&p, VIRTIO_VSOCK_OP_RST, PORT_STDERR, 3001, "full shutdown: host closes with RST");
}

static void
fill(uint8_t *p, size_t len, size_t from)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((from + i) * 7 + (from + i) / 251);
}

/* The guest may have CONN_BUF bytes in flight; more resets the connection. */
static void
test_flow(void)
{
	static uint8_t chunk[64 * 1024], back[5 * 64 * 1024];
	struct virtio_vsock_hdr h;
	struct pkt p;
	uint32_t last_fwd = 0;
	bool rst = false, order = true;

	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 5000, 50, 0);
	tx(&h, NULL, "request slow port");
	expect(&p, VIRTIO_VSOCK_OP_RESPONSE, 50, 5000, "slow port connected");
	for (int i = 0; i < 4; i++) {
		fill(chunk, sizeof(chunk), i * sizeof(chunk));
		h = hdr(RW, 5000, 50, sizeof(chunk));
		tx_put(&h, chunk, sizeof(chunk), i & 1);
	}
	tx_kick("256 KiB to a slow reader");
	while (rx(&p))
		rst |= p.h.op == VIRTIO_VSOCK_OP_RST;
	CHECK(!rst, "256 KiB in flight is within credit");
	h = hdr(RW, 5000, 50, sizeof(chunk));
	tx(&h, chunk, "64 KiB more");
	while (rx(&p))
		rst |= p.h.op == VIRTIO_VSOCK_OP_RST && p.h.src_port == 50 && p.h.dst_port == 5000;
	CHECK(rst, "exceeding the credit resets the connection");

	/* Within credit, backlogged data all arrives in order; credit returns. */
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 5001, 51, 0);
	tx(&h, NULL, "request second slow port");
	expect(&p, VIRTIO_VSOCK_OP_RESPONSE, 51, 5001, "second slow port connected");
	for (int i = 0; i < 3; i++) {
		fill(chunk, sizeof(chunk), i * sizeof(chunk));
		h = hdr(RW, 5001, 51, sizeof(chunk));
		tx_put(&h, chunk, sizeof(chunk), false);
	}
	tx_kick("192 KiB to a slow reader");
	CHECK_INT(host_read(VS_SLOW2, back, 3 * sizeof(chunk)), 3 * sizeof(chunk),
		  "all 192 KiB read on the host");
	for (size_t i = 0; i < 3 * sizeof(chunk); i += sizeof(chunk)) {
		fill(chunk, sizeof(chunk), i);
		order &= !memcmp(back + i, chunk, sizeof(chunk));
	}
	CHECK(order, "byte-exact and in order through the backlog");
	vsenv_pump(&env);
	while (rx(&p))
		if (p.h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE && p.h.src_port == 51)
			last_fwd = p.h.fwd_cnt;
	CHECK(3 * sizeof(chunk) - last_fwd <= VSENV_CONN_BUF / 2,
	      "credit updates keep the guest's view of free space above half (fwd_cnt %u)",
	      last_fwd);
}

static void
test_broken_and_reset(void)
{
	struct virtio_vsock_hdr h;
	struct pkt p;

	drv_desc(&env.drv, VS_TXQ, 0, VSENV_TXBUF, HDR, VRING_DESC_F_NEXT, VSENV_QSIZE);
	drv_post(&env.drv, VS_TXQ, 0);
	vsenv_kick(&env, VS_TXQ);
	CHECK(drv_rd(&env.drv, 0x070) & VIRTIO_CONFIG_S_NEEDS_RESET,
	      "a malformed transmit chain: DEVICE_NEEDS_RESET");
	CHECK(drv_rd(&env.drv, 0x060) & VIRTIO_INT_CONFIG, "with a config interrupt");
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 6000, 9, 0);
	tx_put(&h, NULL, 0, false);
	vsenv_kick(&env, VS_TXQ);
	expect_none("a broken device serves nothing");

	CHECK_INT(drv_start(&env.drv, &env.vm, VSENV_BASE, 3, VSENV_QSIZE, VSENV_RING),
		  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, "reset and restart");
	tx_slot = 0;
	for (uint16_t i = 0; i < VSENV_QSIZE; i++)
		rx_post(i, true);
	h = hdr(RW, 5001, 51, 1);
	tx(&h, "r", "data on a connection from before the reset");
	expect(&p, VIRTIO_VSOCK_OP_RST, 51, 5001, "reset closed every connection");
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 7000, PORT_STDERR, 0);
	tx(&h, NULL, "request a port used before the reset");
	expect(&p, VIRTIO_VSOCK_OP_RST, PORT_STDERR, 7000, "ports stay single-use");
}

/* --vsock PATH: a unix client's CONNECT becomes a REQUEST to the guest. */
static void
test_bridge(void)
{
	char dir[] = "/tmp/capsa-t-vsock-XXXXXX", path[64];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct pkt p;
	int c;

	if (!CHECK(mkdtemp(dir) != NULL, "bridge: temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	CHECK_INT(vsock_bridge(env.dev, path), 0, "bridge: listening on PATH");
	CHECK_INT(vsock_bridge(env.dev, path), -EEXIST, "bridge: an existing PATH is refused");
	CHECK_INT(broker_start(), 0, "bridge: the broker starts");
	strcpy(a.sun_path, path);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(connect(c, (struct sockaddr *)&a, sizeof(a)), 0, "bridge: client connects");
	CHECK_INT((int)write(c, "CONNECT 5000\n", 13), 13, "bridge: client sends CONNECT");
	CHECK(vsenv_pump(&env) < VSENV_MAX_BATCHES, "bridge: the loop goes idle");
	/* The exec test's connection has host port 2^30: the next one. */
	expect(&p, VIRTIO_VSOCK_OP_REQUEST, (1U << 30) + 1, 5000, "bridge: REQUEST to the guest");
	close(c);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	CHECK_INT((int)write(c, "CONNECT 1129316356\n", 19), 19, "bridge: CONNECT to PORT_EXEC");
	CHECK(vsenv_pump(&env) < VSENV_MAX_BATCHES, "bridge: the loop goes idle again");
	expect_none("bridge: capsa's own ports are not the bridge's");
	close(c);
	/* The broker would remove PATH at exit, but not the directory. */
	unlink(path);
	rmdir(dir);
}

/*
 * The broker's streams (vsock_net.c): the test plays the broker on the
 * channel, answering BM_NET_OPEN with a socket, BM_UNIX_OPEN with an error.
 */
static void
test_broker(void)
{
	struct virtio_vsock_hdr h;
	struct bmsg m;
	struct pkt p;
	int ch[2], s[2], fd = -1;
	char buf[8] = { 0 };

	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ch);
	CHECK_INT(vsock_broker(env.dev, ch[0], true), 0, "broker: the channel is watched");
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 8100, PORT_NET, 0);
	tx(&h, NULL, "broker: REQUEST to PORT_NET");
	CHECK(!rx(&p), "broker: no RESPONSE before the broker's answer");
	CHECK(bmsg_recv(ch[1], true, &m, &fd) == 1 && m.type == BM_NET_OPEN && fd < 0,
	      "broker: the VMM asked for a stream");
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s);
	struct bmsg a = bmsg_make(BM_STREAM, m.id);

	bmsg_send(ch[1], &a, s[0]);
	close(s[0]);
	vsenv_pump(&env);
	expect(&p, VIRTIO_VSOCK_OP_RESPONSE, PORT_NET, 8100, "broker: RESPONSE once the stream came");
	h = hdr(RW, 8100, PORT_NET, 4);
	tx(&h, "ping", "broker: data from the guest");
	CHECK(read(s[1], buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4),
	      "broker: ... reaches the broker's end untouched");
	close(s[1]);
	vsenv_pump(&env);

	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 8101, PORT_NET, 0);
	tx(&h, NULL, "broker: another REQUEST");
	CHECK(bmsg_recv(ch[1], true, &m, &fd) == 1, "broker: asked again");
	a = bmsg_make(BM_STREAM, m.id);
	a.u.stream.err = EBUSY;
	bmsg_send(ch[1], &a, -1);
	vsenv_pump(&env);
	while (rx(&p) && p.h.dst_port != 8101)
		;
	CHECK(p.h.op == VIRTIO_VSOCK_OP_RST && p.h.dst_port == 8101, "broker: refused: a RST");

	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 8102, PORT_NET, 0);
	tx(&h, NULL, "broker: a REQUEST the guest gives up on");
	CHECK(bmsg_recv(ch[1], true, &m, &fd) == 1, "broker: asked a third time");
	h = hdr(VIRTIO_VSOCK_OP_RST, 8102, PORT_NET, 0);
	tx(&h, NULL, "broker: the guest resets it");
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s);
	a = bmsg_make(BM_STREAM, m.id);
	bmsg_send(ch[1], &a, s[0]);
	close(s[0]);
	vsenv_pump(&env);
	CHECK(read(s[1], buf, 1) == 0, "broker: a late stream is closed");
	close(s[1]);
	CHECK(!rx(&p), "broker: ... and the guest hears nothing of it");
	close(ch[1]);
	vsenv_pump(&env);
}

/* --control PATH: clients wait until the guest serves execs, then each is a
 * connection to PORT_EXEC. */
static void
test_exec(void)
{
	char dir[] = "/tmp/capsa-t-exec-XXXXXX", path[64];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct vsock_exec *x;
	struct stat st;
	struct pkt p;
	int c, e;

	if (!CHECK(mkdtemp(dir) != NULL, "exec: temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s/c.sock", dir);
	x = vsock_exec_listen(env.dev, path, &e);
	CHECK(x && e == 0, "exec: listening on PATH");
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
	      "exec: PATH is a socket of mode 0600 (%o)", st.st_mode & 0777);
	CHECK(!vsock_exec_listen(env.dev, path, &e) && e == -EEXIST, "exec: an existing PATH is refused");
	strcpy(a.sun_path, path);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(connect(c, (struct sockaddr *)&a, sizeof(a)), 0, "exec: a client connects");
	CHECK(vsenv_pump(&env) < VSENV_MAX_BATCHES, "exec: the loop goes idle");
	expect_none("exec: nothing for the guest before it serves execs");
	vsock_exec_ready(x);
	CHECK(vsenv_pump(&env) < VSENV_MAX_BATCHES, "exec: the loop goes idle once ready");
	expect(&p, VIRTIO_VSOCK_OP_REQUEST, 1U << 30, PORT_EXEC,
	       "exec: the waiting client becomes a REQUEST to PORT_EXEC");
	close(c);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);		/* as capsa does */
	if (!CHECK_INT(vsenv_init(&env, 8 * MIB), 0, "device on a fake VM"))
		return tap_done();
	CHECK(virtio_live(env.vdev), "driver started the device");
	test_connect();
	test_data();
	test_host_to_guest();
	test_shutdown();
	test_flow();
	test_broken_and_reset();
	test_exec();		/* before the bridge's test starts the broker */
	test_bridge();
	test_broker();
	vsenv_free(&env);
	return tap_done();
}
