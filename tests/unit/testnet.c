// SPDX-License-Identifier: MIT
/*
 * testnet.c - a test internet for the broker's unit test: see testnet.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testnet.h"
#include "vmm/util.h"

#include "guest/nlroute.c"

/*
 * The resolvers ask only the test's name server: a name not in the hosts
 * file is NXDOMAIN at once. (The host's server, unreachable here, made
 * musl's resolver wait its 5 s for an answer.)
 */
static const char resolv_conf[] = "nameserver 127.0.0.1\n";

static const char hosts[] =
	"127.0.0.1 localhost\n"
	"192.0.2.10 www.test api.test\n"
	"203.0.113.7 echo.test\n"
	"2001:db8::7 echo.test\n"
	"169.254.169.254 meta.test\n";

/* A bound socket on @addr:@port, listening when it is a @type SOCK_STREAM. */
static int
listener(const char *addr, unsigned port, int type)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool v6 = strchr(addr, ':');
	int s = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* IPv6 binds only interface addresses, not an AnyIP route's */
	setsockopt(s, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (v6) {
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		inet_pton(AF_INET6, addr, &s6.sin6_addr);
	} else {
		inet_pton(AF_INET, addr, &s4.sin_addr);
	}
	if ((v6 ? bind(s, (void *)&s6, sizeof(s6)) : bind(s, (void *)&s4, sizeof(s4))) < 0 ||
	    (type == SOCK_STREAM && listen(s, 64) < 0)) {
		printf("# listen %s:%u: %s\n", addr, port, strerror(errno));
		return -1;
	}
	return s;
}

enum kind { ECHO, HTTP, TLS, DNS };

struct server { int fd; enum kind kind; };

static void *
serve_one(void *arg)
{
	struct server *c = arg;
	char buf[65536], out[600], *host;
	ssize_t n, len = 0;

	if (c->kind == ECHO) {
		while ((n = read(c->fd, buf, sizeof(buf))) > 0)
			write_all(c->fd, buf, (size_t)n);
	} else if (c->kind == HTTP) {
		while (len < (ssize_t)sizeof(buf) - 1 && (n = read(c->fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0) {
			len += n;
			buf[len] = 0;
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		buf[len] = 0;
		host = strcasestr(buf, "\nHost: ");
		n = snprintf(out, sizeof(out), "HTTP/1.0 200 OK\r\n\r\nhost=%.*s\n",
			     host ? (int)MIN(strcspn(host + 7, "\r\n"), 256) : 0, host ? host + 7 : "");
		write_all(c->fd, out, (size_t)n);
	} else {
		n = read(c->fd, buf, sizeof(buf));
		write_all(c->fd, "tls-ok", 6);
	}
	close(c->fd);
	free(c);
	return NULL;
}

/* A name server that knows no name: NXDOMAIN to every question. */
static void
serve_dns(int fd)
{
	uint8_t q[512];
	struct sockaddr_storage from;
	socklen_t len;
	ssize_t n;
	size_t end;

	for (;;) {
		len = sizeof(from);
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &len);
		if (n < 12)
			continue;
		for (end = 12; end < (size_t)n && q[end]; end += 1u + q[end])
			;
		end += 5;			/* the root label, QTYPE, QCLASS */
		if (end > (size_t)n)
			continue;
		q[2] = 0x80 | (q[2] & 0x79);	/* QR; the opcode and RD kept */
		q[3] = 0x80 | 3;		/* RA, NXDOMAIN */
		memset(q + 6, 0, 6);		/* no answer, authority, additional */
		sendto(fd, q, end, 0, (struct sockaddr *)&from, len);
	}
}

static void *
serve(void *arg)
{
	struct server *s = arg;
	pthread_t t;

	if (s->kind == DNS)
		serve_dns(s->fd);
	for (;;) {
		struct server *c = malloc(sizeof(*c));

		c->kind = s->kind;
		c->fd = accept(s->fd, NULL, NULL);
		if (c->fd < 0 || pthread_create(&t, NULL, serve_one, c)) {
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static struct server servers[8];
static unsigned nservers;
static pid_t server_pid;

/* A listener for start_servers(), bound now: connections wait for it. */
static void
add_server(const char *addr, unsigned port, enum kind kind)
{
	int type = kind == DNS ? SOCK_DGRAM : SOCK_STREAM;

	servers[nservers] = (struct server){ listener(addr, port, type), kind };
	nservers++;
}

/*
 * The servers' threads, in a process of their own forked while this one
 * has none. A process forked while another thread holds a lock keeps that
 * lock held for ever, and clang-14's ASan takes none of its allocator's
 * locks across fork() (LLVM 18 does): a broker forked while a server
 * thread was inside malloc() hung at its first malloc() of that size, in
 * its resolver's threads, so that under load no name resolved. This
 * process only ever has a thread of its own in test_bulk(), joined before
 * any fork.
 */
static bool
start_servers(void)
{
	pthread_t t;

	fflush(stdout);
	server_pid = fork();
	if (server_pid < 0)
		return false;
	if (server_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		for (unsigned i = 0; i < nservers; i++)
			if (servers[i].fd >= 0)
				pthread_create(&t, NULL, serve, &servers[i]);
		for (;;)
			pause();
	}
	for (unsigned i = 0; i < nservers; i++)
		if (servers[i].fd >= 0)
			close(servers[i].fd);
	return true;
}

/**
 * testnet_down() - stop its servers.
 */
void
testnet_down(void)
{
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
}

static void
link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
}

/* @text over the file @target, in this mount namespace only. */
static bool
bind_file(const char *target, const char *text)
{
	char path[] = "/tmp/t_broker_etc.XXXXXX";
	int fd = mkstemp(path), e;

	write_all(fd, text, strlen(text));
	close(fd);
	e = mount(path, target, NULL, MS_BIND, NULL) < 0 ? errno : 0;
	unlink(path);
	if (e)
		printf("# bind %s: %s\n", target, strerror(e));
	return !e;
}

/*
 * A private network, /etc/hosts and /etc/resolv.conf (without one the
 * resolvers ask 127.0.0.1 anyway).
 */
/**
 * testnet_up() - enter the test internet; see testnet.h.
 *
 * Return: false when this host cannot give one (no namespaces).
 */
bool
testnet_up(void)
{
	static const uint8_t doc1[4] = { 192, 0, 2, 0 }, doc3[4] = { 203, 0, 113, 0 };
	uint8_t doc6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		printf("# unshare: %s\n", strerror(errno));
		return false;
	}
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (!bind_file("/etc/hosts", hosts) ||
	    (access("/etc/resolv.conf", F_OK) == 0 && !bind_file("/etc/resolv.conf", resolv_conf)))
		return false;
	link_up("lo");
	if (route_local(AF_INET, doc1, 24) || route_local(AF_INET, doc3, 24) ||
	    route_local(AF_INET6, doc6, 64)) {
		printf("# local routes: %s\n", strerror(errno));
		return false;
	}
	add_server("192.0.2.10", 80, HTTP);
	add_server("192.0.2.10", 443, TLS);
	add_server("203.0.113.7", 7, ECHO);
	add_server("2001:db8::7", 7, ECHO);
	add_server("127.0.0.1", 8080, ECHO);
	add_server("127.0.0.1", 53, DNS);
	return start_servers();
}
