// SPDX-License-Identifier: MIT
/*
 * vsock_publish.c - -p [HOSTADDR:]HOSTPORT:GUESTPORT: a host TCP listener
 * whose connections reach GUESTPORT in the guest.
 *
 * capsa binds each listener before the jail (so a port in use, or a
 * privileged one without the right, is one line and exit 125) and holds
 * it alone: the broker is forked earlier, and nothing else inherits it,
 * so the port closes when capsa ends, even by SIGKILL. Each accepted
 * connection becomes a host-initiated vsock connection to guest port
 * PORT_PUBLISH_BASE + GUESTPORT, where the guest's helper (netuser.c)
 * listens and connects to 127.0.0.1:GUESTPORT (or [::1]) inside the guest,
 * so a server listening only on the guest's loopback is reached too. No
 * TCP/IP in the VMM: it joins the accepted socket to the vsock stream.
 * Before the guest's helper listens (early in boot) a connection is
 * refused by the guest and closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../guest/proto.h"
#include "../vmm/options.h"
#include "../vmm/util.h"

struct publish {
	struct vsock_service svc;	/* first: the device's view (no ports of its own) */
	struct vsock_dev *d;
	int fd;
	uint16_t guest_port;
	struct ev ev;
};

/**
 * publish_listen() - bind and listen for one -p.
 * @p:      the spec.
 * @err:    one line on failure, naming the port.
 * @errlen: its size.
 *
 * Return: the listening socket, or -errno.
 */
int
publish_listen(const struct publish_spec *p, char *err, size_t errlen)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(p->host_port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(p->host_port) };
	char addr[INET6_ADDRSTRLEN];
	int fd, one = 1, e = 0;

	memcpy(&s4.sin_addr, p->addr, 4);
	memcpy(&s6.sin6_addr, p->addr, 16);
	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, addr, sizeof(addr));
	fd = socket(p->family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		e = -errno;
	if (!e) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (p->family == 6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if ((p->family == 4 ? bind(fd, (struct sockaddr *)&s4, sizeof(s4)) :
				      bind(fd, (struct sockaddr *)&s6, sizeof(s6))) < 0 ||
		    listen(fd, 128) < 0)
			e = -errno;
	}
	if (!e)
		return fd;
	snprintf(err, errlen, "-p %s%s%s:%u:%u: %s%s", p->family == 6 ? "[" : "", addr,
		 p->family == 6 ? "]" : "", p->host_port, p->guest_port, strerror(-e),
		 e == -EACCES ? " (a port below 1024 needs privilege)" :
		 e == -EADDRINUSE ? " (the host port is in use)" : "");
	if (fd >= 0)
		close(fd);
	return e;
}

static void
on_accept(struct ev *ev, uint32_t events)
{
	struct publish *p = ev->opaque;
	int fd;

	(void)events;
	while ((fd = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0 || errno == EINTR) {
		if (fd < 0)
			continue;
		vsock_lock(p->d);
		vsock_connect(p->d, &p->svc, PORT_PUBLISH_BASE + p->guest_port, fd);	/* owns fd */
		vsock_unlock(p->d);
	}
	/* Out of fds: stop accepting until a connection closes (publish_closed()). */
	if (errno == EMFILE || errno == ENFILE)
		loop_set(p->d->loop, &p->ev, 0);
}

static void
publish_closed(struct vsock_service *svc)
{
	struct publish *p = (struct publish *)svc;

	loop_set(p->d->loop, &p->ev, EPOLLIN);
}

/**
 * vsock_publish() - serve a listener publish_listen() made.
 *
 * Return: 0 or -errno.
 */
int
vsock_publish(struct vsock_dev *d, int fd, uint16_t guest_port)
{
	struct publish *p = calloc(1, sizeof(*p));
	int e;

	if (!p)
		return -ENOMEM;
	*p = (struct publish){ .d = d, .fd = fd, .guest_port = guest_port };
	e = loop_add(d->loop, &p->ev, EV_LISTEN, fd, EPOLLIN, on_accept, p);
	if (e) {
		free(p);
		return e;
	}
	p->svc = (struct vsock_service){ .name = "publish", .port_lo = 1, .port_hi = 0,
					 .closed = publish_closed, .opaque = p };
	vsock_register(d, &p->svc);
	return 0;
}
