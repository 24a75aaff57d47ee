// SPDX-License-Identifier: MIT
/*
 * t_netwire.c - the broker's parsers of untrusted bytes: the VMM's
 * messages (bmsg_parse(), vmm/net/msg.c), the guest's requests
 * (net_req_check(), vmm/net/wire.c) and the Host/SNI sniffers (vmm/net/sniff.c).
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "vmm/net/flow.h"
#include "vmm/net/msg.h"
#include "vmm/net/sniff.h"
#include "vmm/net/wire.h"
#include "vmm/util.h"

static void
test_bmsg(void)
{
	struct bmsg m = bmsg_make(BM_UNIX_OPEN, 7), out;
	uint8_t buf[32];
	int sv[2], fd;

	m.u.unix_open.port = 1234;
	memcpy(buf, &m, BMSG_HDR + 4);
	CHECK(bmsg_parse(buf, BMSG_HDR + 4, true, 0, &out) == 0 && out.id == 7 &&
	      out.u.unix_open.port == 1234, "bmsg: UNIX_OPEN from the VMM");
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 4, false, 0, &out), -EBADMSG,
		  "bmsg: ... but not from the broker");
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 3, true, 0, &out), -EBADMSG, "bmsg: short payload");
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 5, true, 0, &out), -EBADMSG, "bmsg: long payload");
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 4, true, 1, &out), -EBADMSG, "bmsg: an fd from the VMM");
	CHECK_INT(bmsg_parse(buf, 3, true, 0, &out), -EBADMSG, "bmsg: a short header");
	m = bmsg_make(BM_NET_OPEN, 8);
	m.len = 4;
	memcpy(buf, &m, BMSG_HDR + 4);
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 4, true, 0, &out), -EBADMSG, "bmsg: NET_OPEN with a payload");
	m = bmsg_make(99, 1);
	memcpy(buf, &m, BMSG_HDR);
	CHECK_INT(bmsg_parse(buf, BMSG_HDR, true, 0, &out), -EBADMSG, "bmsg: an unknown type");
	m = bmsg_make(BM_STREAM, 3);
	memcpy(buf, &m, BMSG_HDR + 4);
	CHECK(bmsg_parse(buf, BMSG_HDR + 4, false, 1, &out) == 0, "bmsg: STREAM with its fd");
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 4, false, 0, &out), -EBADMSG, "bmsg: STREAM err 0 without an fd");
	m.u.stream.err = EBUSY;
	memcpy(buf, &m, BMSG_HDR + 4);
	CHECK(bmsg_parse(buf, BMSG_HDR + 4, false, 0, &out) == 0 && out.u.stream.err == EBUSY,
	      "bmsg: STREAM with an error, no fd");
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 4, false, 1, &out), -EBADMSG, "bmsg: an error with an fd");
	m.u.stream.err = -1;
	memcpy(buf, &m, BMSG_HDR + 4);
	CHECK_INT(bmsg_parse(buf, BMSG_HDR + 4, false, 0, &out), -EBADMSG, "bmsg: a negative errno");

	/* Over a real socketpair: an fd sent where none belongs is closed, not kept. */
	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	m = bmsg_make(BM_NET_OPEN, 5);
	bmsg_send(sv[0], &m, dup(1));
	CHECK(bmsg_recv(sv[1], true, &out, &fd) == -EBADMSG && fd == -1,
	      "bmsg_recv: a NET_OPEN carrying an fd is refused");
	m = bmsg_make(BM_STREAM, 6);
	bmsg_send(sv[1], &m, dup(1));
	CHECK(bmsg_recv(sv[0], false, &out, &fd) == 1 && fd >= 0 && out.id == 6,
	      "bmsg_recv: a STREAM with its fd");
	close(fd);
	close(sv[1]);
	CHECK_INT(bmsg_recv(sv[0], false, &out, &fd), 0, "bmsg_recv: EOF");
	close(sv[0]);
}

static struct net_req
req(uint8_t kind, uint8_t family, uint16_t port, const char *name)
{
	struct net_req q = { .magic = NET_MAGIC, .kind = kind, .family = family, .port = port };

	q.name_len = (uint8_t)strlen(name);
	memcpy(q.name, name, q.name_len);
	return q;
}

static void
test_req(void)
{
	struct net_request r;
	struct net_req q = req(NET_CONNECT, 4, 80, "");

	q.addr[0] = 203, q.addr[1] = 0, q.addr[2] = 113, q.addr[3] = 7;
	CHECK(net_req_check(&q, &r) == 0 && r.port == 80 && r.addr.family == 4 && !r.name[0],
	      "req: a bare IPv4 CONNECT");
	q.addr[4] = 1;
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: IPv4 with bytes after the address");
	q = req(NET_CONNECT, 6, 443, "WWW.Test.");
	q.addr[10] = q.addr[11] = 0xff, q.addr[12] = 192, q.addr[15] = 1;
	CHECK(net_req_check(&q, &r) == 0 && r.addr.family == 4 && !strcmp(r.name, "www.test"),
	      "req: a mapped IPv6 address is IPv4; the name normalized");
	q = req(NET_CONNECT, 6, 0, "x.test");
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: port 0");
	q = req(NET_CONNECT, 5, 1, "x.test");
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: family 5");
	q = req(NET_CONNECT, 4, 1, "x.test");
	q.name[q.name_len + 1] = 'y';
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: bytes after the name");
	q = req(NET_CONNECT, 4, 1, "x.test");
	q.name_len = 254;
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: a name length past 253");
	q = req(NET_CONNECT, 4, 1, "a b");
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: a name with a space");
	q = req(NET_CONNECT, 4, 1, "x.test");
	q.magic++;
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: a wrong magic");
	q = req(NET_CONNECT, 4, 1, "x.test");
	q.id = 3;
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: CONNECT with an id");
	q = req(NET_RESOLVE, 0, 0, "pypi.org");
	q.id = 42, q.qtype = 28;
	CHECK(net_req_check(&q, &r) == 0 && r.id == 42 && r.qtype == 28, "req: RESOLVE");
	q = req(NET_RESOLVE, 0, 0, "");
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: RESOLVE without a name");
	q = req(NET_RESOLVE, 4, 0, "a.test");
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: RESOLVE with a family");
	q = req(3, 4, 1, "");
	CHECK_INT(net_req_check(&q, &r), -EINVAL, "req: an unknown kind");
}

static const struct {
	const char *in;
	int want;
	const char *name;
} http[] = {
	{ "GET / HTTP/1.1\r\nHost: www.test\r\n\r\n", SNIFF_FOUND, "www.test" },
	{ "GET / HTTP/1.1\r\nhOsT:WWW.Test.:8080 \r\nX: y\r\n\r\nbody", SNIFF_FOUND, "www.test" },
	{ "GET / HTTP/1.1\nHost: a.test\n\n", SNIFF_FOUND, "a.test" },
	{ "POST http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", SNIFF_FOUND, "a.test" },
	{ "GET http://b.test:81/ HTTP/1.1\r\n\r\n", SNIFF_FOUND, "b.test" },
	{ "GET / HTTP/1.1\r\nHost: 203.0.113.7\r\n\r\n", SNIFF_FOUND, "203.0.113.7" },
	{ "GET / HTTP/1.1\r\nHost: [2001:DB8::1]:80\r\n\r\n", SNIFF_FOUND, "2001:db8::1" },
	{ "GET / HTTP/1.0\r\n\r\n", SNIFF_NONE, NULL },
	{ "GET / HTTP/1.1\r\nHost: a.test\r\n", SNIFF_MORE, NULL },
	{ "GE", SNIFF_MORE, NULL },
	{ "", SNIFF_MORE, NULL },
	{ "get / HTTP/1.1\r\n\r\n", SNIFF_BAD, NULL },
	{ "\x16\x03\x01", SNIFF_BAD, NULL },
	{ "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", SNIFF_BAD, NULL },
	{ "GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n", SNIFF_BAD, NULL },
	{ "GET / HTTP/1.1\r\nHost: bad name\r\n\r\n", SNIFF_BAD, NULL },
	{ "GET / HTTP/1.1\r\nHost: a.test:\r\n\r\n", SNIFF_BAD, NULL },
	{ "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", SNIFF_BAD, NULL },
	{ "GET / HTTP/1.1\r\nHost: [::1]:x\r\n\r\n", SNIFF_BAD, NULL },
	{ "GET / FTP/1.1\r\n\r\n", SNIFF_BAD, NULL },
	{ "GET /\r\n\r\n", SNIFF_BAD, NULL },
};

/* A TLS record with a ClientHello carrying @sni (NULL: no extension). */
static size_t
hello(uint8_t *b, const char *sni, unsigned split)
{
	uint8_t h[600];
	size_t n = sni ? strlen(sni) : 0, i = 0, out = 0;

	h[i++] = 1, h[i++] = 0, h[i++] = 0, h[i++] = 0;
	h[i++] = 3, h[i++] = 3;
	memset(h + i, 1, 32), i += 32;
	h[i++] = 0, h[i++] = 0, h[i++] = 2, h[i++] = 0x13, h[i++] = 1, h[i++] = 1, h[i++] = 0;
	if (sni) {
		h[i++] = 0, h[i++] = (uint8_t)(9 + n);
		h[i++] = 0, h[i++] = 0, h[i++] = 0, h[i++] = (uint8_t)(n + 5);
		h[i++] = 0, h[i++] = (uint8_t)(n + 3), h[i++] = 0, h[i++] = 0, h[i++] = (uint8_t)n;
		memcpy(h + i, sni, n), i += n;
	}
	h[3] = (uint8_t)(i - 4);
	/* In one record, or two split at @split. */
	for (size_t at = 0; at < i;) {
		size_t len = split && !at ? split : i - at;

		b[out++] = 22, b[out++] = 3, b[out++] = 1, b[out++] = 0, b[out++] = (uint8_t)len;
		memcpy(b + out, h + at, len);
		out += len;
		at += len;
	}
	return out;
}

static void
test_sniff(void)
{
	char name[NAME_MAX_LEN + 1];
	uint8_t b[700];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(http); i++) {
		int r = sniff_http((const uint8_t *)http[i].in, strlen(http[i].in), name);

		CHECK(r == http[i].want && (!http[i].name || !strcmp(name, http[i].name)),
		      "http %zu: %d%s%s (got %d %s)", i, http[i].want, http[i].name ? " " : "",
		      http[i].name ? http[i].name : "", r, r == SNIFF_FOUND ? name : "");
	}
	n = hello(b, "WWW.Test", 0);
	CHECK(sniff_tls(b, n, name) == SNIFF_FOUND && !strcmp(name, "www.test"), "tls: SNI found");
	CHECK(sniff_tls(b, n - 3, name) == SNIFF_MORE, "tls: a truncated record: more");
	CHECK(sniff_tls(b, 3, name) == SNIFF_MORE, "tls: three bytes: more");
	n = hello(b, "a.test", 20);
	CHECK(sniff_tls(b, n, name) == SNIFF_FOUND && !strcmp(name, "a.test"),
	      "tls: a ClientHello split over two records");
	n = hello(b, NULL, 0);
	CHECK_INT(sniff_tls(b, n, name), SNIFF_NONE, "tls: no SNI");
	n = hello(b, "bad name", 0);
	CHECK_INT(sniff_tls(b, n, name), SNIFF_BAD, "tls: an SNI that is no name");
	n = hello(b, "a.test", 0);
	b[5] = 2;
	CHECK_INT(sniff_tls(b, n, name), SNIFF_BAD, "tls: not a ClientHello");
	b[0] = 23;
	CHECK_INT(sniff_tls(b, n, name), SNIFF_BAD, "tls: not a handshake record");
	CHECK_INT(sniff_tls((const uint8_t *)"GET / HTTP/1.1\r\n", 16, name), SNIFF_BAD, "tls: HTTP is not TLS");
}

int
main(void)
{
	test_bmsg();
	test_req();
	test_sniff();
	return tap_done();
}
