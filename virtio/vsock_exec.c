// SPDX-License-Identifier: MIT
/*
 * vsock_exec.c - the --control socket: `capsa exec PATH -- CMD` clients.
 *
 * Theory of operation: the guest init serves exec requests itself, on the
 * guest vsock port PORT_EXEC (guest/exec.c speaks the protocol that README
 * documents, with frames for stdin, stdout, stderr, signals and the exit
 * status). The VMM does not parse it: for each client that connects to the
 * unix socket PATH it opens a vsock connection to that port and moves bytes
 * both ways, as the --vsock bridge does for CONNECT. So a client, which may
 * be another local user's program, meets no parser in the host process at
 * all, and each exec costs one vsock connection.
 *
 * PATH is created before the jail (mode 0600) and removed by the broker on
 * every exit. Clients that connect before the guest serves execs wait in
 * the listen backlog: the listener is armed only when the init is ready.
 * When the sandbox ends, capsa exits and every client's socket closes; a
 * client that has seen no exit status then knows the sandbox is gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../guest/proto.h"
#include "../vmm/broker.h"
#include "../vmm/util.h"

struct vsock_exec {
	struct vsock_service svc;	/* first: the device's view */
	struct vsock_dev *d;
	int listen_fd;
	struct ev listen_ev;
	bool ready;			/* the guest serves execs */
	bool full;			/* out of fds: not accepting for now */
};

static void
arm(struct vsock_exec *x)
{
	loop_set(x->d->loop, &x->listen_ev, x->ready && !x->full ? EPOLLIN : 0);
}

/* Each client becomes a connection to the guest's exec port. */
static void
on_client(struct ev *ev, uint32_t events)
{
	struct vsock_exec *x = ev->opaque;
	int fd;

	(void)events;
	vsock_lock(x->d);
	while ((fd = accept4(x->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0 ||
	       errno == EINTR) {
		if (fd >= 0 && !vsock_connect(x->d, &x->svc, PORT_EXEC, fd))
			log_info("exec: a client refused: too many connections");
	}
	/* Out of fds: stop accepting (else the ready listener spins the loop)
	 * until a connection closes. */
	if (errno == EMFILE || errno == ENFILE) {
		x->full = true;
		arm(x);
	}
	vsock_unlock(x->d);
}

static void
exec_closed(struct vsock_service *svc)
{
	struct vsock_exec *x = (struct vsock_exec *)svc;

	if (x->full) {
		x->full = false;
		arm(x);
	}
}

/**
 * vsock_exec_listen() - create the control socket @path for `capsa exec`.
 * @d:    the device.
 * @path: must not exist; created mode 0600 and removed on every exit
 *        (broker_start() must follow).
 * @err:  0, or -EEXIST when @path exists, -ENAMETOOLONG, -errno.
 *
 * Return: the service, or NULL with @err set.
 */
struct vsock_exec *
vsock_exec_listen(struct vsock_dev *d, const char *path, int *err)
{
	struct vsock_exec *x = calloc(1, sizeof(*x));
	char abs[108];

	*err = x ? 0 : -ENOMEM;
	if (!*err && path_absolute(path, abs, sizeof(abs)) < 0)
		*err = -ENAMETOOLONG;
	if (!*err && (x->listen_fd = broker_listen(abs)) < 0)
		*err = x->listen_fd;
	if (!*err)
		*err = loop_add(d->loop, &x->listen_ev, EV_LISTEN, x->listen_fd, 0, on_client, x);
	if (*err) {
		if (x && x->listen_fd > 0)
			close(x->listen_fd);
		free(x);
		return NULL;
	}
	x->d = d;
	/* No host ports: the guest never connects to this service. */
	x->svc = (struct vsock_service){ .name = "exec", .port_lo = 1, .port_hi = 0,
					 .closed = exec_closed };
	vsock_register(d, &x->svc);
	return x;
}

/**
 * vsock_exec_ready() - the guest init serves execs now: take clients,
 * those waiting in the backlog first.
 * @x: the service, or NULL without --control.
 */
void
vsock_exec_ready(struct vsock_exec *x)
{
	if (!x || x->ready)
		return;
	x->ready = true;
	arm(x);
}
