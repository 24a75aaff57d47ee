// SPDX-License-Identifier: MIT
/*
 * fs.c - virtio-fs (virtio 1.2, 5.11): a host directory as a guest
 * filesystem, by tag. The FUSE server is fs_ops.c and its neighbours;
 * this file is the device.
 *
 * Theory of operation:
 *
 *   vCPU --QueueNotify--> ioeventfd --> event loop: kick() wakes a worker
 *   worker: lock, vq_pop() from hiprio then requests, unlock
 *           fs_serve(): openat2 / preadv / pwritev / getdents64 ... on the share
 *           lock, vq_push(), interrupt, unlock
 *
 * Two queues: hiprio (queue 0: FORGET, BATCH_FORGET, INTERRUPT, which
 * have no reply) and one request queue (queue 1, num_request_queues = 1:
 * a 6.1 guest uses one anyway). FS_WORKERS threads per share serve both,
 * hiprio first, so requests are in flight together and neither a vCPU nor
 * the event loop ever waits for the host's disk. The device lock guards
 * the rings, the in-flight count and the reset generation, never I/O; the
 * server has its own lock for its tables. A reset waits for the requests
 * in flight and bumps the generation so their completions are dropped.
 *
 * Unlike virtio-blk's, the workers start right after the jail, before the
 * vCPUs, from fs_start(): they need the file syscalls, which the jail
 * gives only to threads born while the main thread's filter still has
 * them (see jail/filter.c). Each worker first takes its share's
 * filesystem identity (setfsuid, when capsa started as root serves a :rw
 * share as its owner), then narrows itself to the fs filter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <unistd.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>

#include "fs.h"
#include "../vmm/loop.h"
#include "../vmm/util.h"

#define FS_QUEUES	2	/* hiprio, one request queue */

struct fs_worker {
	struct fs_dev *d;
	pthread_t thread;
	struct vq_chain chain;		/* the request being served */
};

struct fs_dev {
	struct virtio_dev vdev;		/* first: the transport's view */
	struct fs_server *srv;
	struct fs_share share;
	struct virtio_fs_config config;
	struct ev kick_ev[FS_QUEUES];
	pthread_cond_t work;		/* chains may be available */
	pthread_cond_t idle;		/* nothing in flight any more */
	unsigned inflight;
	unsigned gen;			/* bumped by reset: older completions are dropped */
	int (*thread_init)(void);	/* the jail's narrowing, in each worker */
	struct fs_worker workers[FS_WORKERS];
};

static void
kick(struct ev *ev, uint32_t events)
{
	struct fs_dev *d = ev->opaque;
	uint64_t n;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	pthread_mutex_lock(&d->vdev.lock);
	pthread_cond_signal(&d->work);
	pthread_mutex_unlock(&d->vdev.lock);
}

/*
 * Wait for the next chain, hiprio first; its queue in *@q. Called and
 * returns with the lock held; the rings are checked before every wait, so
 * a kick is never lost.
 */
static void
take(struct fs_dev *d, struct vq_chain *c, unsigned *q)
{
	for (;;) {
		for (unsigned i = 0; i < FS_QUEUES && virtio_live(&d->vdev); i++) {
			struct virtq *vq = &d->vdev.vq[i];
			int n = vq->ready ? vq_pop(vq, d->vdev.mem, c) : 0;

			if (n > 0) {
				if (vq_has_avail(vq))
					pthread_cond_signal(&d->work);	/* for another worker */
				*q = i;
				return;
			}
			if (n < 0)
				virtio_fail(&d->vdev, "malformed descriptor chain");
		}
		pthread_cond_wait(&d->work, &d->vdev.lock);
	}
}

/* Return a served chain to the driver; with the lock held. */
static void
complete(struct fs_dev *d, unsigned q, uint16_t head, unsigned gen, int err, uint32_t used)
{
	struct virtq *vq = &d->vdev.vq[q];

	if (--d->inflight == 0)
		pthread_cond_broadcast(&d->idle);
	if (gen != d->gen || !virtio_live(&d->vdev) || !vq->ready)
		return;
	if (err) {
		virtio_fail(&d->vdev, "FUSE request without a header or room for the reply");
		return;
	}
	vq_push(vq, head, used);
	if (vq_wants_interrupt(vq))
		virtio_interrupt(&d->vdev, VIRTIO_INT_USED);
}

/* The worker's identity and seccomp filter, before it touches a request. */
static int
narrow(struct fs_dev *d)
{
	if (d->share.set_fsid) {
		setfsgid(d->share.fs_gid);
		setfsuid(d->share.fs_uid);
		/* Both return the previous value: ask again to see it took. */
		if ((uid_t)setfsuid((uid_t)-1) != d->share.fs_uid ||
		    (gid_t)setfsgid((gid_t)-1) != d->share.fs_gid)
			return -EPERM;
	}
	return d->thread_init ? d->thread_init() : 0;
}

static void *
worker_main(void *arg)
{
	struct fs_worker *w = arg;
	struct fs_dev *d = w->d;
	int err = narrow(d);

	pthread_mutex_lock(&d->vdev.lock);
	if (err) {
		virtio_fail(&d->vdev, "a worker cannot take the share's identity or filter");
		pthread_mutex_unlock(&d->vdev.lock);
		return NULL;
	}
	for (;;) {
		uint32_t used = 0;
		unsigned gen, q;

		take(d, &w->chain, &q);
		gen = d->gen;
		d->inflight++;
		pthread_mutex_unlock(&d->vdev.lock);
		err = fs_serve(d->srv, &w->chain, &used);
		pthread_mutex_lock(&d->vdev.lock);
		complete(d, q, w->chain.head, gen, err, used);
	}
	return NULL;
}

/**
 * fs_start() - start the device's workers; after the jail, before the vCPUs.
 * @d:           the device.
 * @thread_init: called first in each worker (the jail's fs filter), or NULL.
 *
 * Return: 0 or -errno.
 */
int
fs_start(struct fs_dev *d, int (*thread_init)(void))
{
	d->thread_init = thread_init;
	for (unsigned i = 0; i < FS_WORKERS; i++) {
		int err;

		d->workers[i].d = d;
		err = pthread_create(&d->workers[i].thread, NULL, worker_main, &d->workers[i]);
		if (err)
			return -err;
	}
	return 0;
}

/* The driver reset the device: let requests in flight finish, then forget them. */
static void
fs_reset(struct virtio_dev *vdev)
{
	struct fs_dev *d = (struct fs_dev *)vdev;

	d->gen++;
	while (d->inflight)
		pthread_cond_wait(&d->idle, &vdev->lock);
}

static const void *
fs_config(struct virtio_dev *vdev, uint32_t *len)
{
	struct fs_dev *d = (struct fs_dev *)vdev;

	*len = sizeof(d->config);
	return &d->config;
}

static const struct virtio_ops fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.features = 0,
	.nqueues = FS_QUEUES,
	.config = fs_config,
	.reset = fs_reset,
};

/**
 * fs_create() - a virtio-fs device serving @share under @tag.
 * @vm:    the VM.
 * @loop:  the event loop that receives the queues' kicks.
 * @base:  MMIO window.
 * @irq:   IOAPIC pin.
 * @tag:   what the guest mounts (mount -t virtiofs TAG DIR); < 36 bytes.
 * @share: the directory and how to serve it; the device owns its root_fd.
 *
 * Return: the device, or NULL with errno set.
 */
struct fs_dev *
fs_create(struct vm *vm, struct loop *loop, uint64_t base, unsigned irq,
	  const char *tag, const struct fs_share *share)
{
	struct fs_dev *d = calloc(1, sizeof(*d));
	int err = 0;

	if (!d)
		return NULL;
	if (strlen(tag) >= FS_TAG_MAX) {
		free(d);
		errno = EINVAL;
		return NULL;
	}
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->idle, NULL);
	d->share = *share;
	memcpy(d->config.tag, tag, strlen(tag));
	d->config.num_request_queues = 1;
	d->srv = fs_server_new(share);
	if (!d->srv)
		err = -errno;
	if (!err)
		err = virtio_mmio_init(&d->vdev, &fs_ops, vm, base, irq);
	for (unsigned q = 0; !err && q < FS_QUEUES; q++)
		err = loop_add(loop, &d->kick_ev[q], EV_KICK, d->vdev.vq[q].kick_fd, EPOLLIN, kick, d);
	if (err) {
		errno = -err;
		return NULL;
	}
	return d;
}
