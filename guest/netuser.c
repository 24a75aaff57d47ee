// SPDX-License-Identifier: MIT
/*
 * netuser.c - the guest's network helper for --net user and -p.
 *
 * Theory of Operation
 * ===================
 *
 * The guest has no network device. With --net user the init starts this
 * helper before the command, and it makes the guest kernel hand it every
 * TCP connection and DNS query any program makes, without touching the
 * programs (no proxy variables) and without an iptables or nft binary:
 *
 *   1. every IPv4 and IPv6 address becomes local (a "local" route for
 *      0.0.0.0/0 and ::/0 on lo, nlroute.c), so a connect() to any
 *      address stays in the guest;
 *   2. a BPF sk_lookup program (netbpf.c) gives each such connection to
 *      the helper's listener (the guest's loopback excepted), and each
 *      packet to port 53 to its UDP socket;
 *   3. the helper carries each connection to the host on its own vsock
 *      stream (netfwd.c), where the broker decides, connects and splices;
 *      DNS is answered through the broker (netdns.c);
 *   4. /etc/resolv.conf names 169.254.1.1, through a file in /run bound
 *      over it (the root image, even an IMAGE:rw one, is never written).
 *
 * With -p it also listens on vsock port PORT_PUBLISH_BASE + GUESTPORT and
 * joins each host connection to 127.0.0.1:GUESTPORT (netfwd.c).
 *
 * Nothing here is trusted by the host: a guest that replaces the helper
 * can only talk to the broker, which checks everything it is sent. The
 * helper reports readiness to the init over a pipe, so the command starts
 * only once interception works; if the helper dies, interception ends
 * with it (its BPF link is closed) and connections fail at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "netuser.h"
#include "proto.h"

#define RESOLV_RUN	"/run/capsa/resolv.conf"
#define RESOLV_TEXT	"# capsa --net user: every DNS query is answered by capsa\nnameserver 169.254.1.1\n"

static int epfd = -1;
static void *dead[64];
static unsigned ndead;

struct listener {
	struct nu_ev ev;
	unsigned port;			/* -p: the guest port */
};

/* ---- the loop ----------------------------------------------------------- */

int
nu_add(struct nu_ev *ev, enum nu_kind kind, int fd, void *p, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	*ev = (struct nu_ev){ kind, p, fd, events };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

void
nu_set(struct nu_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	if (ev->events != events && epoll_ctl(epfd, EPOLL_CTL_MOD, ev->fd, &e) == 0)
		ev->events = events;
}

void
nu_del(struct nu_ev *ev)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

/* Freed after the current batch of events: a later one may still name it. */
void
nu_free_later(void *p)
{
	if (ndead == sizeof(dead) / sizeof(dead[0]))
		return;			/* leaked rather than used after free */
	dead[ndead++] = p;
}

/**
 * vsock_host() - a stream to the broker (host port PORT_NET).
 * @connecting: NULL for a blocking connect; else set when it is in progress.
 *
 * Return: the non-blocking socket, or -1.
 */
int
vsock_host(bool *connecting)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = HOST_CID, .svm_port = PORT_NET };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | (connecting ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    !(connecting && errno == EINPROGRESS)) {
		close(fd);
		return -1;
	}
	if (connecting)
		*connecting = errno == EINPROGRESS;
	else
		fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void
on_accept(struct nu_ev *ev)
{
	struct listener *l = ev->p;
	int fd;

	while ((fd = accept4(ev->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (ev->kind == NU_PUBLISH)
			fwd_publish(fd, l->port);
		else
			fwd_intercept(fd);
	}
}

static void __attribute__((noreturn))
run(void)
{
	struct epoll_event e[64];

	for (;;) {
		int n = epoll_wait(epfd, e, 64, -1);

		for (int i = 0; i < n; i++) {
			struct nu_ev *ev = e[i].data.ptr;

			if (ev->kind == NU_TCP_LISTEN || ev->kind == NU_PUBLISH)
				on_accept(ev);
			else if (ev->kind == NU_UDP)
				dns_udp(ev->fd);
			else if (ev->kind == NU_FWD_A || ev->kind == NU_FWD_H)
				fwd_io(ev, e[i].events);
			else if (ev->kind == NU_DNS_HOST)
				dns_host_io(ev, e[i].events);
			else if (ev->kind == NU_DNS_TCP)
				dns_tcp_io(ev, e[i].events);
		}
		while (ndead)
			free(dead[--ndead]);
	}
}

/* ---- setup ---------------------------------------------------------------- */

/*
 * A socket bound to the guest's loopback: TCP on any port (only sk_lookup
 * leads there); UDP on port 53, since answers must come from that port.
 */
static int
loop_socket(int family, int type, char *err, size_t errlen)
{
	uint16_t port = htons(type == SOCK_DGRAM ? 53 : 0);
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = port,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = port,
				  .sin_addr = { htonl(INADDR_LOOPBACK) } };
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		goto fail;
	/* Replies to DNS come from the address asked (any), on either family. */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	if ((family == AF_INET ? bind(fd, (struct sockaddr *)&s4, sizeof(s4)) :
				 bind(fd, (struct sockaddr *)&s6, sizeof(s6))) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) < 0))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "helper socket: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * /etc/resolv.conf names capsa's DNS, without writing to the root image:
 * a file in /run (a tmpfs) bound over it. A symlink into /run gets its
 * target written instead. Where there is none, one is made to bind over,
 * unless / is an IMAGE:rw (resolvers then ask 127.0.0.1, intercepted too).
 */
static void
resolv_conf(bool root_rw)
{
	char target[256];
	ssize_t n;
	int fd;

	mkdir("/run/capsa", 0755);
	fd = open(RESOLV_RUN, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, RESOLV_TEXT, strlen(RESOLV_TEXT));
	close(fd);
	if (mount(RESOLV_RUN, "/etc/resolv.conf", NULL, MS_BIND, NULL) == 0)
		return;
	n = readlink("/etc/resolv.conf", target, sizeof(target) - 1);
	if (n <= 0 && !root_rw && (fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_EXCL |
					     O_CLOEXEC, 0644)) >= 0) {
		close(fd);	/* the root is in RAM: an empty file to bind over */
		mount(RESOLV_RUN, "/etc/resolv.conf", NULL, MS_BIND, NULL);
	}
	if (n <= 0)
		return;
	target[n] = 0;
	if (strncmp(target, "/run/", 5) && strncmp(target, "../run/", 7))
		return;
	snprintf(target, sizeof(target), "%s", target[0] == '.' ? target + 2 : target);
	for (char *s = strchr(target + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(target, 0755);
		*s = '/';
	}
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, RESOLV_TEXT, strlen(RESOLV_TEXT));
		close(fd);
	}
}

static int
intercept(const struct netuser_cfg *cfg, char *err, size_t errlen)
{
	static struct listener tcp[2];
	static struct nu_ev udp[2];
	static const uint8_t any[16];
	int fds[4], e;

	if ((e = route_local(AF_INET, any, 0)) < 0 || (e = route_local(AF_INET6, any, 0)) < 0) {
		snprintf(err, errlen, "local routes: %s", strerror(-e));
		return -1;
	}
	fds[0] = loop_socket(AF_INET, SOCK_STREAM, err, errlen);
	fds[1] = loop_socket(AF_INET6, SOCK_STREAM, err, errlen);
	fds[2] = loop_socket(AF_INET, SOCK_DGRAM, err, errlen);
	fds[3] = loop_socket(AF_INET6, SOCK_DGRAM, err, errlen);
	for (int i = 0; i < 4; i++)
		if (fds[i] < 0)
			return -1;
	if (nu_add(&tcp[0].ev, NU_TCP_LISTEN, fds[0], &tcp[0], EPOLLIN) < 0 ||
	    nu_add(&tcp[1].ev, NU_TCP_LISTEN, fds[1], &tcp[1], EPOLLIN) < 0 ||
	    nu_add(&udp[0], NU_UDP, fds[2], NULL, EPOLLIN) < 0 ||
	    nu_add(&udp[1], NU_UDP, fds[3], NULL, EPOLLIN) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	if (bpf_intercept(fds, err, errlen) < 0)
		return -1;
	resolv_conf(cfg->root_rw);
	return 0;
}

static int
publish(const struct netuser_cfg *cfg, char *err, size_t errlen)
{
	static struct listener l[NU_MAX_PUBLISH];

	for (unsigned i = 0; i < cfg->npublish; i++) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
					 .svm_port = PORT_PUBLISH_BASE + cfg->publish[i] };
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
		    nu_add(&l[i].ev, NU_PUBLISH, fd, &l[i], EPOLLIN) < 0) {
			snprintf(err, errlen, "-p %u: vsock listener: %s", cfg->publish[i], strerror(errno));
			return -1;
		}
		l[i].port = cfg->publish[i];
	}
	return 0;
}

static void __attribute__((noreturn))
helper(const struct netuser_cfg *cfg, int report)
{
	struct rlimit nofile = { 4 * NU_MAX_CONNS, 4 * NU_MAX_CONNS };
	char err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	prctl(PR_SET_NAME, "capsa-net");
	/* Keep no copy of init's streams: their EOF must reach the host. */
	dup2(report, 3);
	syscall(SYS_close_range, 4, ~0U, 0);
	report = 3;
	setrlimit(RLIMIT_NOFILE, &nofile);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || (cfg->net && intercept(cfg, err, sizeof(err)) < 0) ||
	    publish(cfg, err, sizeof(err)) < 0) {
		(void)!write(report, err[0] ? err : "epoll failed", strlen(err[0] ? err : "epoll failed"));
		_exit(1);
	}
	(void)!write(report, "", 1);	/* ready */
	close(report);
	run();
}

/**
 * netuser_start() - start the helper; return once it intercepts.
 * @cfg:    --net user and the -p guest ports.
 * @err:    why it could not, on failure.
 * @errlen: its size.
 *
 * Return: 0, or -1 with @err set.
 */
int
netuser_start(const struct netuser_cfg *cfg, char *err, size_t errlen)
{
	int p[2];
	pid_t pid;
	ssize_t n;

	if (!cfg->net && !cfg->npublish)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(err, errlen, "cannot start the network helper: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		helper(cfg, p[1]);
	}
	close(p[1]);
	n = read(p[0], err, errlen - 1);
	close(p[0]);
	if (n == 1 && !err[0])
		return 0;
	err[n > 0 ? n : 0] = 0;
	if (n <= 0)
		snprintf(err, errlen, "the network helper died");
	return -1;
}
