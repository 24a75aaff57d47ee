// SPDX-License-Identifier: MIT
/*
 * netenv.c - see netenv.h.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netenv.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/**
 * netenv_init() - a device on a fake VM, not started; @offload says
 * whether it offers checksum and TSO offloads.
 *
 * Return: 0, or -1 when the environment could not be built.
 */
int
netenv_init(struct netenv *e, uint64_t ram, bool offload)
{
	memset(e, 0, sizeof(*e));
	e->tap[0] = e->tap[1] = -1;
	if (fake_vm(&e->vm, ram) || loop_init(&e->loop) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, e->tap))
		return -1;
	e->dev = net_create(&e->vm, &e->loop, NETENV_BASE, NETENV_IRQ, e->tap[0], offload, mac);
	if (!e->dev)
		return -1;
	/* The transport half comes first in every device (design rule 4). */
	e->vdev = (struct virtio_dev *)e->dev;
	return 0;
}

/**
 * netenv_start() - negotiate @features (VERSION_1 is added), two queues of
 * NETENV_QSIZE, DRIVER_OK. No receive buffers yet.
 *
 * Return: the device status.
 */
uint32_t
netenv_start(struct netenv *e, uint64_t features)
{
	uint32_t status = drv_start_features(&e->drv, &e->vm, NETENV_BASE, 2, NETENV_QSIZE,
					     NETENV_RING, features | 1ULL << VIRTIO_F_VERSION_1);

	netenv_pump(e);
	return status;
}

/*
 * Serve every event of the device that is ready, and what that makes
 * ready, until it is idle: what its thread does in capsa (which never
 * starts here: capsa's loop, whose first event would start it, is not run).
 *
 * Return: batches served; NETENV_MAX_BATCHES means it never went idle.
 */
unsigned
netenv_pump(struct netenv *e)
{
	unsigned batches = 0;

	while (batches < NETENV_MAX_BATCHES && net_poll(e->dev, 0) > 0)
		batches++;
	return batches;
}

/* The guest wrote QueueNotify for queue @q. */
void
netenv_kick(struct netenv *e, unsigned q)
{
	uint64_t one = 1;

	(void)!write(e->vdev->vq[q].kick_fd, &one, sizeof(one));
	netenv_pump(e);
}

/* Tear down; capsa never frees the device (it lives until exit). */
void
netenv_free(struct netenv *e)
{
	if (e->dev)
		net_destroy(e->dev);
	for (int j = 0; j < 2; j++)
		if (e->tap[j] >= 0)
			close(e->tap[j]);
	close(e->loop.epfd);
	free(e->loop.graveyard);
	fake_vm_free(&e->vm);
}
