// SPDX-License-Identifier: MIT
/*
 * vsock_unix.c - the host side of vsock as Firecracker exposes it, so that
 * existing clients work unchanged:
 *
 *   host to guest: connect to the unix socket PATH, send "CONNECT <port>\n",
 *                  read "OK <host_port>\n", then bytes flow;
 *   guest to host: a guest connection to CID 2 port P is joined to the unix
 *                  socket PATH_P; nobody listening there means a RST.
 *
 * Theory of operation: capsa jails itself, and the jailed process can
 * neither create sockets nor resolve paths. So before the jail it forks a
 * tiny broker that keeps filesystem access and does exactly two things:
 * connect to PATH_<number> when asked (passing the socket back over a
 * socketpair), and, once capsa is gone however it ended (even by SIGKILL:
 * the socketpair reaches EOF), remove PATH if it is still the socket capsa
 * created. The jailed VMM only ever accept()s on the listener it already
 * holds and receives ready-made sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../vmm/util.h"

#define MAX_HANDSHAKES 64
#define HANDSHAKE_MAX 32		/* "CONNECT 4294967295\n" fits */
#define FIRST_HOST_PORT (1U << 30)	/* ports capsa picks for host-initiated links */

struct handshake {
	struct vsock_bridge *b;
	int fd;
	struct ev ev;
	char line[HANDSHAKE_MAX + 1];
	unsigned len;
};

struct vsock_bridge {
	struct vsock_dev *d;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, broker_fd;
	pid_t broker;
	struct ev listen_ev;
	struct handshake *hs[MAX_HANDSHAKES];
	unsigned n_hs;
	uint32_t next_port;
};

static struct vsock_bridge *the_bridge;	/* for the exit handler */

/* ---- the broker (outside the jail) ------------------------------------- */

struct broker_reply {
	int err;			/* 0: the socket comes with it */
};

static int
connect_port(const char *path, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s;

	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s_%" PRIu32, path, port) >=
	    sizeof(a.sun_path))
		return -ENAMETOOLONG;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

static void
broker_reply(int sock, int fd)
{
	struct broker_reply r = { .err = fd < 0 ? -fd : 0 };
	struct iovec iov = { &r, sizeof(r) };
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)!sendmsg(sock, &m, MSG_NOSIGNAL);
	if (fd >= 0)
		close(fd);
}

/* Keep only @keep: the broker must not hold capsa's stdio, terminal or VM. */
static void
close_other_fds(int keep)
{
	if (keep > 3)
		syscall(SYS_close_range, 0, keep - 1, 0);
	else
		for (int fd = 0; fd < keep; fd++)
			close(fd);
	syscall(SYS_close_range, keep + 1, ~0U, 0);
}

static void __attribute__((noreturn))
broker_main(int sock, const char *path, dev_t dev, ino_t ino)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGWINCH };
	sigset_t none;
	struct stat st;
	uint32_t port;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned i = 0; i < ARRAY_SIZE(ignored); i++)
		signal(ignored[i], SIG_IGN);
	prctl(PR_SET_NAME, "capsa-vsock");
	close_other_fds(sock);
	while (recv(sock, &port, sizeof(port), 0) == sizeof(port))
		broker_reply(sock, connect_port(path, port));
	/* capsa ended: remove PATH, but only if it is still our socket. */
	if (lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		unlink(path);
	_exit(0);
}

static void
bridge_atexit(void)
{
	struct vsock_bridge *b = the_bridge;

	if (!b || b->broker <= 0)
		return;
	/* EOF tells the broker to clean up; wait so PATH is gone when we are. */
	close(b->broker_fd);
	waitpid(b->broker, NULL, 0);
	b->broker = 0;
}

/* ---- guest to host ----------------------------------------------------- */

/**
 * bridge_outbound() - join a guest connection to CID 2 port @host_port to
 * the unix socket PATH_<host_port>, through the broker.
 *
 * Return: the connection, or NULL when nobody listens there (the guest then
 * gets a RST).
 */
struct conn *
bridge_outbound(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_bridge *b = d->bridge;
	struct broker_reply r;
	struct iovec iov = { &r, sizeof(r) };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	struct conn *c;
	int fd = -1;

	if (write(b->broker_fd, &host_port, sizeof(host_port)) != sizeof(host_port) ||
	    recvmsg(b->broker_fd, &m, MSG_CMSG_CLOEXEC) != sizeof(r) || r.err)
		return NULL;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd < 0)
		return NULL;
	c = conn_new(d, host_port, guest_port, fd, fd);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->owns_fd = true;
	return c;
}

/* ---- host to guest ----------------------------------------------------- */

/**
 * bridge_port_free() - whether no connection uses host port @port.
 */
bool
bridge_port_free(struct vsock_dev *d, uint32_t port)
{
	for (unsigned h = 0; h < ARRAY_SIZE(d->hash); h++)
		for (struct conn *c = d->hash[h]; c; c = c->hnext)
			if (c->host_port == port)
				return false;
	return true;
}

static uint32_t
pick_port(struct vsock_bridge *b)
{
	for (;;) {
		uint32_t p = b->next_port++;

		if (b->next_port < FIRST_HOST_PORT)
			b->next_port = FIRST_HOST_PORT;
		if (bridge_port_free(b->d, p))
			return p;
	}
}

/**
 * bridge_opened() - the guest accepted a host-initiated connection: tell
 * the unix client, as Firecracker does.
 */
void
bridge_opened(struct conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->host_port);

	/* write(), not send(): one syscall fewer for the jail to allow. */
	if (write(c->in_fd, ok, (size_t)n) != n)
		conn_owe(c, OWE_RST);
}

static void
handshake_end(struct handshake *h, bool close_fd)
{
	struct vsock_bridge *b = h->b;

	loop_del(b->d->loop, &h->ev);
	if (close_fd) {
		close(h->fd);
		bridge_fd_closed(b->d);
	}
	for (unsigned i = 0; i < b->n_hs; i++)
		if (b->hs[i] == h)
			b->hs[i] = b->hs[--b->n_hs];
	loop_free_later(b->d->loop, h);
}

/* "CONNECT <port>\n": decimal, no sign, at most 32 bits. */
static bool
parse_connect(const char *line, uint32_t *port)
{
	uint64_t v;
	char num[16];
	size_t n;

	if (strncmp(line, "CONNECT ", 8))
		return false;
	n = strcspn(line + 8, "\n");
	if (n == 0 || n >= sizeof(num) || line[8 + n] != '\n')
		return false;
	memcpy(num, line + 8, n);
	num[n] = 0;
	if (parse_u64(num, 0, UINT32_MAX, &v) < 0)
		return false;
	*port = (uint32_t)v;
	return true;
}

/*
 * Read what there is of the CONNECT line, a byte at a time: whatever
 * follows the newline stays in the socket for the guest.
 *
 * Return: true once the line is complete, false while more must come;
 * *bad is set when the client broke the protocol or went away.
 */
static bool
read_line(struct handshake *h, bool *bad)
{
	*bad = false;
	while (h->len < HANDSHAKE_MAX) {
		ssize_t n = read(h->fd, h->line + h->len, 1);

		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0)
			break;
		if (h->line[h->len++] == '\n') {
			h->line[h->len] = 0;
			return true;
		}
	}
	*bad = true;
	return false;
}

/* A unix client wrote (part of) its CONNECT line. */
static void
on_handshake(struct ev *ev, uint32_t events)
{
	struct handshake *h = ev->opaque;
	struct vsock_bridge *b = h->b;
	uint32_t port = 0;
	struct conn *c;
	bool bad;

	(void)events;
	if (!read_line(h, &bad)) {
		if (bad)
			handshake_end(h, true);
		return;
	}
	vsock_lock(b->d);
	/* The connection takes over the fd: stop watching it as a handshake first. */
	handshake_end(h, false);
	c = parse_connect(h->line, &port) ? conn_new(b->d, pick_port(b), port, h->fd, h->fd) : NULL;
	log_info("vsock: host connection to guest port %u: %s", port, c ? "requested" : "refused");
	if (!c) {
		close(h->fd);
	} else {
		c->owns_fd = true;
		c->connecting = true;
		conn_owe(c, OWE_REQUEST);
		conn_update_poll(c);
		vsock_kick_rx(b->d);
	}
	vsock_unlock(b->d);
}

static void
on_accept(struct ev *ev, uint32_t events)
{
	struct vsock_bridge *b = ev->opaque;
	int fd;

	(void)events;
	while ((fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0 ||
	       errno == EINTR) {
		if (fd < 0)
			continue;
		struct handshake *h = b->n_hs < MAX_HANDSHAKES ? calloc(1, sizeof(*h)) : NULL;

		if (!h) {
			close(fd);	/* too many clients still handshaking */
			continue;
		}
		h->b = b;
		h->fd = fd;
		b->hs[b->n_hs++] = h;
		if (loop_add(b->d->loop, &h->ev, EV_HOST_IO, fd, EPOLLIN, on_handshake, h) < 0)
			handshake_end(h, true);
	}
	/* Out of fds: stop accepting (else the ready listener spins the loop)
	 * until a bridge connection closes. */
	if (errno == EMFILE || errno == ENFILE)
		loop_set(b->d->loop, &b->listen_ev, 0);
}

/**
 * bridge_fd_closed() - a bridge socket was closed: accept again if the
 * fd limit had stopped us.
 */
void
bridge_fd_closed(struct vsock_dev *d)
{
	if (d->bridge)
		loop_set(d->loop, &d->bridge->listen_ev, EPOLLIN);
}

static int
start_broker(struct vsock_bridge *b)
{
	struct stat st;
	int sv[2];

	if (lstat(b->path, &st) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	b->broker = fork();
	if (b->broker < 0)
		return -errno;
	if (b->broker == 0)
		broker_main(sv[1], b->path, st.st_dev, st.st_ino);
	close(sv[1]);
	b->broker_fd = sv[0];
	return 0;
}

/**
 * vsock_bridge() - listen on the unix socket @path (Firecracker-style).
 * @d:    the device.
 * @path: must not exist; capsa creates it and removes it on every exit.
 *
 * Return: 0, -EEXIST when @path exists, -ENAMETOOLONG, or -errno.
 */
int
vsock_bridge(struct vsock_dev *d, const char *path)
{
	struct vsock_bridge *b = calloc(1, sizeof(*b));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int err = 0;

	if (!b)
		return -ENOMEM;
	b->d = d;
	b->next_port = FIRST_HOST_PORT;
	/* Room for "_4294967295" after it, for the guest-to-host sockets. */
	if (path_absolute(path, b->path, sizeof(b->path) - 11) < 0)
		err = -ENAMETOOLONG;
	strcpy(a.sun_path, b->path);
	b->listen_fd = err ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (!err && b->listen_fd < 0)
		err = -errno;
	if (!err && bind(b->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = errno == EADDRINUSE ? -EEXIST : -errno;
	if (err) {			/* PATH is not ours: leave it alone */
		if (b->listen_fd >= 0)
			close(b->listen_fd);
		free(b);
		return err;
	}
	err = start_broker(b);
	if (!err && listen(b->listen_fd, 128) < 0)
		err = -errno;
	if (!err)
		err = loop_add(d->loop, &b->listen_ev, EV_LISTEN, b->listen_fd, EPOLLIN, on_accept, b);
	if (err && b->broker <= 0)
		unlink(b->path);
	the_bridge = b;
	atexit(bridge_atexit);
	if (err) {
		bridge_atexit();	/* the broker removes PATH */
		return err;
	}
	d->bridge = b;
	return 0;
}
