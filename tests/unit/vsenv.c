// SPDX-License-Identifier: MIT
/*
 * vsenv.c - see vsenv.h.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsenv.h"
#include "virtio/vsock_int.h"

const uint32_t vsenv_port[VS_NPORTS] = {
	PORT_CONTROL, PORT_STDIN, PORT_STDOUT, PORT_STDERR, 50, 51,
};

static int
host_fds(struct vsenv *e)
{
	int small = 1;

	for (unsigned i = 0; i < VS_NPORTS; i++) {
		int *fd = e->host[i], in = -1, out = -1;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd))
			return -1;
		/* The slow ports take a few KiB before the device must buffer. */
		if (i >= VS_SLOW1)
			setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
		if (i != VS_STDIN)
			out = fd[0];
		if (i == VS_STDIN || i == VS_CONTROL)
			in = fd[0];
		if (vsock_expose(e->dev, vsenv_port[i], in, out))
			return -1;
	}
	return 0;
}

/**
 * vsenv_init() - a started device: negotiated, three queues of VSENV_QSIZE,
 * DRIVER_OK, the ports in vsenv_port[] exposed. No receive buffers yet.
 *
 * Return: 0, or -1 when the environment could not be built.
 */
int
vsenv_init(struct vsenv *e, uint64_t ram)
{
	memset(e, 0, sizeof(*e));
	for (unsigned i = 0; i < VS_NPORTS; i++)
		e->host[i][0] = e->host[i][1] = -1;
	if (fake_vm(&e->vm, ram) || loop_init(&e->loop))
		return -1;
	e->dev = vsock_create(&e->vm, &e->loop, VSENV_BASE, VSENV_IRQ, VSENV_CID);
	if (!e->dev)
		return -1;
	/* The transport half comes first in every device (design rule 4). */
	e->vdev = (struct virtio_dev *)e->dev;
	if (host_fds(e))
		return -1;
	drv_start(&e->drv, &e->vm, VSENV_BASE, 3, VSENV_QSIZE, VSENV_RING);
	return 0;
}

/* Free what loop_free_later() deferred to the end of a batch. */
static void
bury(struct vsenv *e)
{
	while (e->loop.n_dead)
		free(e->loop.graveyard[--e->loop.n_dead]);
}

/*
 * Serve every event that is ready, and what that makes ready, until the
 * loop is idle: loop_run()'s dispatch, without blocking. (loop_run() itself
 * cannot be stopped from outside without an event of its own, and that
 * event may come first in a batch and starve the others.)
 *
 * Return: batches served; VSENV_MAX_BATCHES means it never went idle.
 */
unsigned
vsenv_pump(struct vsenv *e)
{
	struct epoll_event evs[64];
	unsigned batches = 0;
	int n;

	while (batches < VSENV_MAX_BATCHES &&
	       (n = epoll_wait(e->loop.epfd, evs, 64, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			struct ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events);
		}
		bury(e);
		batches++;
	}
	bury(e);	/* register writes free connections outside any batch */
	return batches;
}

/* The guest wrote QueueNotify for queue @q. */
void
vsenv_kick(struct vsenv *e, unsigned q)
{
	uint64_t one = 1;

	(void)!write(e->vdev->vq[q].kick_fd, &one, sizeof(one));
	vsenv_pump(e);
}

/*
 * Tear everything down, freeing what the device allocated: a driver reset
 * closes every connection, the next loop pass frees them, and the device
 * itself is one calloc'd block (vsock_create()), freed here since capsa
 * never frees it (it lives until exit), and so are its services.
 */
void
vsenv_free(struct vsenv *e)
{
	if (e->dev) {
		drv_wr(&e->drv, 0x070, 0);
		vsenv_pump(e);
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
			if (e->vdev->vq[q].kick_fd >= 0)
				close(e->vdev->vq[q].kick_fd);
		close(e->vdev->irq_fd);
		pthread_mutex_destroy(&e->vdev->lock);
		/* Each service is the first member of its own calloc'd block. */
		for (struct vsock_service *s = e->dev->services, *next; s; s = next) {
			next = s->next;
			free(s);
		}
		free(e->dev);
	}
	for (unsigned i = 0; i < VS_NPORTS; i++)
		for (int j = 0; j < 2; j++)
			if (e->host[i][j] >= 0)
				close(e->host[i][j]);
	close(e->loop.epfd);
	free(e->loop.graveyard);
	fake_vm_free(&e->vm);
}
