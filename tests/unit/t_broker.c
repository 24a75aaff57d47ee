// SPDX-License-Identifier: MIT
/*
 * t_broker.c - the broker (vmm/net/broker.c and its flows) against real
 * sockets: this test plays the VMM on the broker's channel and the guest
 * on the streams it gets, in the test internet of testnet.h.
 *
 * Without namespaces (no root, no user namespace) the test says so and is
 * skipped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "testnet.h"
#include "guest/netuser.h"
#include "vmm/net/broker.h"
#include "vmm/net/msg.h"
#include "vmm/net/policy.h"
#include "vmm/net/wire.h"
#include "vmm/util.h"

static char logpath[] = "/tmp/t_broker.XXXXXX";

/* ---- playing the VMM and the guest ----------------------------------- */

struct broker_run { int ctl, log; pid_t pid; struct net_policy *p; };

static struct broker_run
broker(const char *rules)
{
	struct broker_run r = { -1, -1, 0, calloc(1, sizeof(struct net_policy)) };
	char buf[512], *save = NULL, err[256];

	snprintf(buf, sizeof(buf), "%s", rules);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (policy_add(r.p, t + (*t == '!'), *t == '!', err, sizeof(err)) < 0)
			printf("# bad test rule: %s\n", err);
	r.log = open(logpath, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	struct broker_config cfg = { .policy = r.p, .log_fd = r.log,
#ifdef __GLIBC__
		/* glibc's resolver and ASan need syscalls the musl capsa never makes */
		.jail = JAIL_OFF,
#else
		.jail = JAIL_STRICT,
#endif
	};
	int sv[2];

	/* As vmm/broker.c's broker_start() does. */
	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	r.pid = fork();
	if (r.pid == 0)
		broker_main(sv[1], &cfg);
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	r.ctl = sv[0];
	return r;
}

static int
end_broker(struct broker_run *r)
{
	int status = -1;

	close(r->ctl);
	waitpid(r->pid, &status, 0);
	close(r->log);
	free(r->p);
	return status;
}

static bool
wait_in(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1;
}

/*
 * A stream from the broker, as the VMM gets one for a guest; -errno if
 * refused. A late answer to an earlier call that gave up waiting is passed
 * over (its stream closed): one slow answer fails one check, not every one
 * after it.
 */
static int
open_stream(struct broker_run *r)
{
	static uint32_t id;
	struct bmsg m = bmsg_make(BM_NET_OPEN, ++id);
	int fd = -1;

	if (bmsg_send(r->ctl, &m, -1) < 0)
		return -EPIPE;
	do {
		if (fd >= 0)
			close(fd);
		if (!wait_in(r->ctl, 5000))
			return -ETIMEDOUT;
		if (bmsg_recv(r->ctl, false, &m, &fd) != 1)
			return -EPROTO;
	} while (m.id < id);
	if (m.id != id) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	if (m.u.stream.err)
		return -m.u.stream.err;
	fcntl(fd, F_SETFL, 0);
	return fd;
}

static struct net_req
req(const char *addr, unsigned port, const char *name)
{
	struct net_req q = { .magic = NET_MAGIC, .kind = NET_CONNECT, .port = (uint16_t)port };

	q.family = strchr(addr, ':') ? 6 : 4;
	inet_pton(q.family == 4 ? AF_INET : AF_INET6, addr, q.addr);
	if (name) {
		q.name_len = (uint8_t)strlen(name);
		memcpy(q.name, name, q.name_len);
	}
	return q;
}

static ssize_t
read_all(int fd, void *buf, size_t len, int ms)
{
	size_t got = 0;

	while (got < len && wait_in(fd, ms)) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Connect through the broker: the request, @early bytes right behind it,
 * then its reply. Return the stream (status in *st), or -1.
 */
static int
dial(struct broker_run *r, const char *addr, unsigned port, const char *name,
     const void *early, size_t elen, int *st)
{
	struct net_req q = req(addr, port, name);
	struct net_reply rep = { 0 };
	int fd = open_stream(r);

	*st = -1;
	if (fd < 0)
		return -1;
	write_all(fd, &q, sizeof(q));
	if (elen)
		write_all(fd, early, elen);
	if (read_all(fd, &rep, sizeof(rep), 5000) == sizeof(rep) && rep.magic == NET_MAGIC)
		*st = rep.status;
	return fd;
}

/* An HTTP GET through the broker; the body the server answered, or "". */
static const char *
http(struct broker_run *r, const char *addr, const char *name, const char *host, int *st)
{
	static char body[512];
	char q[256];
	int n = snprintf(q, sizeof(q), "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: t\r\n\r\n", host);
	int fd = dial(r, addr, 80, name, q, (size_t)n, st);
	ssize_t got;

	body[0] = 0;
	if (fd < 0)
		return body;
	got = read_all(fd, body, sizeof(body) - 1, 5000);
	body[got > 0 ? got : 0] = 0;
	close(fd);
	return strstr(body, "host=") ? strstr(body, "host=") : body;
}

static bool
log_has(const char *needle)
{
	char buf[65536];
	int fd = open(logpath, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	if (!strstr(buf, needle))
		printf("# the log has no %s:\n# %s", needle, buf);
	return strstr(buf, needle);
}

/*
 * Wait until the broker wrote the line of a connection that ended: it
 * does when it gets to the close, which on a loaded machine can take a
 * while. A passing run waits only that long.
 */
static bool
log_soon(const char *needle)
{
	for (int i = 0; i < 250; i++) {
		char buf[65536];
		int fd = open(logpath, O_RDONLY | O_CLOEXEC);
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		close(fd);
		buf[n > 0 ? n : 0] = 0;
		if (strstr(buf, needle))
			return true;
		usleep(20000);
	}
	return log_has(needle);
}

/* ---- the cases -------------------------------------------------------- */

static void
test_public(void)
{
	struct broker_run r = broker("");
	char buf[64] = { 0 };
	int st, fd;

	fd = dial(&r, "203.0.113.7", 7, NULL, "ping", 4, &st);
	CHECK_INT(st, NET_OK, "public: a bare address is allowed, no rules");
	CHECK(read_all(fd, buf, 4, 5000) == 4 && !memcmp(buf, "ping", 4),
	      "public: bytes sent before the reply reach the server and come back");
	close(fd);
	CHECK(log_soon("\"dst\":\"203.0.113.7\",\"port\":7,\"name\":null,\"sni\":null,"
		       "\"verdict\":\"allow\",\"rule\":null,\"reason\":\"public destination, no --allow\","
		       "\"connected\":\"203.0.113.7\",\"sent\":4,\"received\":4,\"error\":null}"),
	      "public: the log line, with the bytes each way");
	fd = dial(&r, "2001:db8::7", 7, "echo.test", "v6", 2, &st);
	CHECK(st == NET_OK && read_all(fd, buf, 2, 5000) == 2, "public: a name to IPv6");
	close(fd);
	CHECK(log_soon("\"connected\":\"2001:db8::7\""), "public: ... to the IPv6 address the guest chose");
	fd = dial(&r, "2001:db8::7", 7, NULL, "v6", 2, &st);
	CHECK(st == NET_OK && read_all(fd, buf, 2, 5000) == 2, "public: a bare IPv6 address");
	close(fd);
	CHECK_STR(http(&r, "192.0.2.10", "www.test", "www.test", &st), "host=www.test\n",
		  "public: HTTP by name, Host passed on");
	CHECK_INT(st, NET_OK, "public: ... allowed");
	http(&r, "169.254.169.254", "meta.test", "meta.test", &st);
	CHECK_INT(st, NET_DENIED, "public: a name that resolves to the metadata address: refused");
	CHECK(log_has("\"name\":\"meta.test\",\"sni\":null,\"verdict\":\"deny\",\"rule\":null,"
		      "\"reason\":\"link-local address\""), "public: ... logged");
	close(dial(&r, "169.254.169.254", 80, NULL, NULL, 0, &st));
	CHECK_INT(st, NET_DENIED, "public: the bare metadata address: refused");
	close(dial(&r, "10.0.0.1", 22, NULL, NULL, 0, &st));
	CHECK_INT(st, NET_DENIED, "public: a private address: refused");
	close(dial(&r, "127.0.0.1", 8080, NULL, NULL, 0, &st));
	CHECK_INT(st, NET_DENIED, "public: the host's loopback by address: refused");
	close(dial(&r, "169.254.1.2", 8080, NULL, NULL, 0, &st));
	CHECK_INT(st, NET_DENIED, "public: host.capsa.internal without a rule: refused");
	close(dial(&r, "203.0.113.7", 9, NULL, NULL, 0, &st));
	CHECK_INT(st, NET_REFUSED, "public: nobody listening: refused (a reset in the guest)");
	CHECK(log_soon("\"port\":9,\"name\":null,\"sni\":null,\"verdict\":\"allow\"") &&
	      log_has("\"error\":\"Connection refused\""), "public: ... logged as allowed, with the error");
	CHECK_INT(end_broker(&r), 0, "public: the broker exits 0 when the VMM is gone");
}

static void
test_allowlist(void)
{
	struct broker_run r = broker("www.test:80 host.capsa.internal:8080 !api.test 10.0.0.0/8");
	char buf[8];
	int st, fd;

	CHECK_STR(http(&r, "192.0.2.10", "www.test", "www.test", &st), "host=www.test\n",
		  "allow: the allowed name works");
	CHECK(log_soon("\"name\":\"www.test\",\"sni\":\"www.test\",\"verdict\":\"allow\","
		       "\"rule\":\"--allow www.test:80\""), "allow: ... logged with its rule and Host");
	http(&r, "192.0.2.10", "www.test", "evil.test", &st);
	CHECK_INT(st, NET_DENIED, "allow: the allowed name with a forged Host: refused");
	CHECK(log_has("\"sni\":\"evil.test\",\"verdict\":\"deny\""), "allow: ... logged");
	http(&r, "192.0.2.10", NULL, "www.test", &st);
	CHECK_INT(st, NET_DENIED, "allow: the allowed name's address, bare: refused");
	http(&r, "192.0.2.10", "api.test", "api.test", &st);
	CHECK_INT(st, NET_DENIED, "allow: a denied name on the same address: refused");
	CHECK(log_has("\"rule\":\"--deny api.test\""), "allow: ... by the --deny");
	close(dial(&r, "203.0.113.7", 7, "echo.test", NULL, 0, &st));
	CHECK_INT(st, NET_DENIED, "allow: another name: refused");
	close(dial(&r, "203.0.113.66", 7, "www.test", NULL, 0, &st));
	CHECK_INT(st, NET_DENIED, "allow: the allowed name on another port: refused");
	fd = dial(&r, "203.0.113.99", 8080, "host.capsa.internal", "hi", 2, &st);
	CHECK(st == NET_OK && read_all(fd, buf, 2, 5000) == 2 && !memcmp(buf, "hi", 2),
	      "allow: host.capsa.internal:8080 reaches the host's loopback (whatever address)");
	close(fd);
	fd = dial(&r, "169.254.1.2", 8080, NULL, "hi", 2, &st);
	CHECK_INT(st, NET_OK, "allow: ... and so does its address 169.254.1.2");
	close(fd);
	close(dial(&r, "10.0.0.1", 22, NULL, NULL, 0, &st));
	CHECK_INT(st, NET_UNREACHABLE, "allow: --allow 10.0.0.0/8 allows 10.0.0.1 (no route here: nothing sent)");
	CHECK(log_soon("\"dst\":\"10.0.0.1\",\"port\":22,\"name\":null,\"sni\":null,\"verdict\":\"allow\","
		       "\"rule\":\"--allow 10.0.0.0/8\""), "allow: ... logged, allowed by its rule");
	end_broker(&r);
}

/* A ClientHello with server_name @sni (TLS 1.2 record, one extension). */
static size_t
client_hello(uint8_t *b, const char *sni)
{
	size_t n = strlen(sni), ext = 9 + n, body = 2 + 32 + 1 + 4 + 2 + 2 + ext, i = 0;

	b[i++] = 22, b[i++] = 3, b[i++] = 1, b[i++] = (uint8_t)((body + 4) >> 8), b[i++] = (uint8_t)(body + 4);
	b[i++] = 1, b[i++] = 0, b[i++] = (uint8_t)(body >> 8), b[i++] = (uint8_t)body;
	b[i++] = 3, b[i++] = 3;
	memset(b + i, 7, 32), i += 32;
	b[i++] = 0;					/* session id */
	b[i++] = 0, b[i++] = 2, b[i++] = 0x13, b[i++] = 1;	/* one cipher suite */
	b[i++] = 1, b[i++] = 0;				/* null compression */
	b[i++] = (uint8_t)(ext >> 8), b[i++] = (uint8_t)ext;
	b[i++] = 0, b[i++] = 0, b[i++] = (uint8_t)((n + 5) >> 8), b[i++] = (uint8_t)(n + 5);
	b[i++] = (uint8_t)((n + 3) >> 8), b[i++] = (uint8_t)(n + 3), b[i++] = 0;
	b[i++] = (uint8_t)(n >> 8), b[i++] = (uint8_t)n;
	memcpy(b + i, sni, n);
	return i + n;
}

static void
test_tls(void)
{
	struct broker_run r = broker("*.test:443");
	uint8_t hello[512];
	char buf[8] = { 0 };
	int st, fd;

	fd = dial(&r, "192.0.2.10", 443, "www.test", hello, client_hello(hello, "www.test"), &st);
	CHECK(st == NET_OK && read_all(fd, buf, 6, 5000) == 6 && !memcmp(buf, "tls-ok", 6),
	      "tls: SNI www.test under *.test:443: through");
	close(fd);
	close(dial(&r, "192.0.2.10", 443, "www.test", hello, client_hello(hello, "evil.org"), &st));
	CHECK_INT(st, NET_DENIED, "tls: a forged SNI: refused");
	close(dial(&r, "192.0.2.10", 443, "www.test", "GET / HTTP/1.1\r\n\r\n", 18, &st));
	CHECK_INT(st, NET_DENIED, "tls: not TLS on 443 under a name rule: refused");
	end_broker(&r);
}

static void
resolve_q(int fd, uint32_t id, uint16_t qtype, const char *name)
{
	struct net_req q = { .magic = NET_MAGIC, .kind = NET_RESOLVE, .id = id, .qtype = qtype };

	q.name_len = (uint8_t)strlen(name);
	memcpy(q.name, name, q.name_len);
	write_all(fd, &q, sizeof(q));
}

static void
test_dns(void)
{
	struct broker_run r = broker("www.test");
	struct net_answer a[3];
	int fd = open_stream(&r);
	char txt[64] = "";

	resolve_q(fd, 1, DNS_A, "WWW.test.");
	resolve_q(fd, 2, DNS_AAAA, "echo.test");
	resolve_q(fd, 3, DNS_A, "host.capsa.internal");
	CHECK_INT(read_all(fd, a, sizeof(a), 5000), sizeof(a), "dns: three answers on one stream");
	for (unsigned i = 0; i < 3; i++) {
		if (a[i].id == 1) {
			inet_ntop(AF_INET, a[i].addr[0], txt, sizeof(txt));
			CHECK(a[i].rcode == 0 && a[i].naddr == 1 && !strcmp(txt, "192.0.2.10"),
			      "dns: A www.test is 192.0.2.10 (%s)", txt);
		} else if (a[i].id == 2) {
			CHECK(a[i].rcode == 3 && a[i].naddr == 0,
			      "dns: echo.test under --allow www.test: NXDOMAIN, never asked");
		} else {
			inet_ntop(AF_INET, a[i].addr[0], txt, sizeof(txt));
			CHECK(a[i].naddr == 1 && !strcmp(txt, "169.254.1.2"),
			      "dns: host.capsa.internal is 169.254.1.2");
		}
	}
	CHECK(log_has("\"kind\":\"dns\",\"name\":\"echo.test\",\"type\":\"AAAA\",\"verdict\":\"deny\""),
	      "dns: the refused question is logged");
	close(fd);
	end_broker(&r);
	r = broker("");
	fd = open_stream(&r);
	resolve_q(fd, 9, DNS_AAAA, "echo.test");
	CHECK(read_all(fd, a, sizeof(a[0]), 5000) == sizeof(a[0]) && a[0].id == 9 &&
	      a[0].naddr == 1 && inet_ntop(AF_INET6, a[0].addr[0], txt, sizeof(txt)) &&
	      !strcmp(txt, "2001:db8::7"), "dns: AAAA echo.test is 2001:db8::7 (%s)", txt);
	resolve_q(fd, 10, DNS_A, "nowhere.invalid");
	CHECK(read_all(fd, a, sizeof(a[0]), 5000) == sizeof(a[0]) && a[0].id == 10 &&
	      a[0].rcode == 3 && a[0].naddr == 0, "dns: a name nobody knows: NXDOMAIN, no address");
	close(fd);
	end_broker(&r);
}

static void
test_hostile(void)
{
	struct broker_run r = broker("");
	struct net_req q = req("203.0.113.7", 7, NULL);
	struct net_reply rep;
	int fds[600], n = 0, st, fd;
	char junk[BMSG_MAX + 8] = { 9 };

	q.zero = 1;
	fd = open_stream(&r);
	write_all(fd, &q, sizeof(q));
	CHECK(read_all(fd, &rep, sizeof(rep), 5000) == sizeof(rep) && rep.status == NET_BAD &&
	      read_all(fd, &rep, 1, 5000) == 0, "hostile: a malformed request: NET_BAD, closed");
	close(fd);
	q = req("203.0.113.7", 7, "bad name!");
	fd = open_stream(&r);
	write_all(fd, &q, sizeof(q));
	CHECK(read_all(fd, &rep, sizeof(rep), 5000) == sizeof(rep) && rep.status == NET_BAD,
	      "hostile: a bad name: NET_BAD");
	close(fd);
	CHECK(write(r.ctl, junk, 3) == 3 && write(r.ctl, junk, sizeof(junk)) == sizeof(junk),
	      "hostile: junk on the VMM channel");
	fd = open_stream(&r);
	CHECK(fd >= 0, "hostile: ... the broker goes on answering");
	close(fd);
	fd = open_stream(&r);
	write_all(fd, "abc", 3);
	close(fd);
	while (n < 600 && (fds[n] = open_stream(&r)) >= 0)
		n++;
	CHECK(n < 600 && n >= 64 && fds[n] == -EBUSY,
	      "hostile: past the cap (%d streams) a stream is refused: %s", n, strerror(-fds[n]));
	while (n--)
		close(fds[n]);
	/* The broker frees the streams when it gets to their closes. */
	for (int i = 0; i < 250 && (fd = dial(&r, "203.0.113.7", 7, NULL, "x", 1, &st)) < 0; i++)
		usleep(20000);
	CHECK_INT(st, NET_OK, "hostile: after the flood, connections work again");
	close(fd);
	CHECK_INT(end_broker(&r), 0, "hostile: the broker ends cleanly");
}

/* 8 MiB each way through one connection, checked byte for byte. */
static void *
writer(void *arg)
{
	int fd = *(int *)arg;
	static uint8_t buf[65536];

	for (unsigned i = 0; i < 128; i++) {
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)(i * 31 + k * 7);
		write_all(fd, buf, sizeof(buf));
	}
	shutdown(fd, SHUT_WR);
	return NULL;
}

static void
test_bulk(void)
{
	struct broker_run r = broker("echo.test:7");
	uint8_t buf[65536];
	uint64_t got = 0, bad = 0;
	pthread_t t;
	ssize_t n;
	int st, fd = dial(&r, "203.0.113.7", 7, "echo.test", NULL, 0, &st);

	CHECK_INT(st, NET_OK, "bulk: connected");
	pthread_create(&t, NULL, writer, &fd);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < n; k++) {
			uint64_t p = got + (uint64_t)k;

			bad += buf[k] != (uint8_t)((p / 65536) * 31 + (p % 65536) * 7);
		}
		got += (uint64_t)n;
	}
	pthread_join(t, NULL);
	close(fd);
	CHECK(got == 128 * 65536 && !bad, "bulk: 8 MiB there and back, intact (%llu bytes, %llu bad)",
	      (unsigned long long)got, (unsigned long long)bad);
	CHECK(log_soon("\"sent\":8388608,\"received\":8388608"), "bulk: the byte counts are logged");
	end_broker(&r);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!testnet_up()) {
		printf("ok 1 - # SKIP no network namespace here\n1..1\n");
		return 0;
	}
	close(mkstemp(logpath));
	test_public();
	test_allowlist();
	test_tls();
	test_dns();
	test_hostile();
	test_bulk();
	testnet_down();
	unlink(logpath);
	return tap_done();
}
