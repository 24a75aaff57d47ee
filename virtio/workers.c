// SPDX-License-Identifier: MIT
/*
 * workers.c - a device's requests served by a few threads of its own.
 *
 *   vCPU --QueueNotify--> ioeventfd --> event loop: vq_workers_kick()
 *   worker: lock, vq_pop() (lowest queue first), unlock
 *           serve(): the device's I/O on the host
 *           lock, vq_push(), interrupt, unlock
 *
 * Several requests are in flight at once and no vCPU (nor the event loop)
 * ever waits for the host's disk. The device lock guards the rings, the
 * in-flight count and the reset generation; it is never held across
 * serve(). Completions may come back in any order, which virtio-blk and
 * virtio-fs allow. A reset waits for the requests in flight (their buffers
 * belong to the driver being reset) and bumps the generation, so that their
 * completions are dropped rather than pushed onto the new rings.
 */
#include <errno.h>

#include "workers.h"

/**
 * vq_workers_init() - set up a pool; no thread starts yet.
 * @p:      the pool, zeroed.
 * @vdev:   the device.
 * @first:  the first queue the workers serve;
 * @nq:     how many of them.
 * @serve:  the device's request code.
 * @opaque: for @serve.
 * @broken: why the device fails when @serve refuses a chain.
 */
void
vq_workers_init(struct vq_workers *p, struct virtio_dev *vdev, unsigned first, unsigned nq,
		vq_serve_fn serve, void *opaque, const char *broken)
{
	*p = (struct vq_workers){ .vdev = vdev, .first = first, .nq = nq, .serve = serve,
				  .opaque = opaque, .broken = broken };
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
}

/*
 * Wait for the next chain; its queue in *@q. Called and returns with the
 * lock held; the rings are checked before every wait, so a kick is never
 * lost.
 */
static void
take(struct vq_workers *p, struct vq_chain *c, unsigned *q)
{
	struct virtio_dev *vdev = p->vdev;

	for (;;) {
		for (unsigned i = p->first; i < p->first + p->nq && virtio_live(vdev); i++) {
			struct virtq *vq = &vdev->vq[i];
			int n = vq->ready ? vq_pop(vq, vdev->mem, c) : 0;

			if (n > 0) {
				if (vq_has_avail(vq))
					pthread_cond_signal(&p->work);	/* for another worker */
				*q = i;
				return;
			}
			if (n < 0)
				virtio_fail(vdev, "malformed descriptor chain");
		}
		pthread_cond_wait(&p->work, &vdev->lock);
	}
}

/* Return a served chain to the driver; with the lock held. */
static void
complete(struct vq_workers *p, unsigned q, uint16_t head, unsigned gen, int err, uint32_t used)
{
	struct virtq *vq = &p->vdev->vq[q];

	if (--p->inflight == 0)
		pthread_cond_broadcast(&p->idle);
	if (gen != p->gen || !virtio_live(p->vdev) || !vq->ready)
		return;
	if (err) {
		virtio_fail(p->vdev, p->broken);
		return;
	}
	vq_push(vq, head, used);
	if (vq_wants_interrupt(vq))
		virtio_interrupt(p->vdev, VIRTIO_INT_USED);
}

static void *
worker_main(void *arg)
{
	struct vq_worker *w = arg;
	struct vq_workers *p = w->pool;
	int err = p->thread_init ? p->thread_init(p->opaque) : 0;

	pthread_mutex_lock(&p->vdev->lock);
	if (err) {
		virtio_fail(p->vdev, "a worker thread cannot narrow itself");
		pthread_mutex_unlock(&p->vdev->lock);
		return NULL;
	}
	for (;;) {
		uint32_t used = 0;
		unsigned gen, q;

		take(p, &w->chain, &q);
		gen = p->gen;
		p->inflight++;
		pthread_mutex_unlock(&p->vdev->lock);
		err = p->serve(p->opaque, &w->chain, &used);
		pthread_mutex_lock(&p->vdev->lock);
		complete(p, q, w->chain.head, gen, err, used);
	}
	return NULL;
}

/**
 * vq_workers_start() - start @n threads (at most VQ_WORKERS_MAX), after
 * capsa jailed itself: a thread made before would escape the jail, and the
 * jail needs capsa single-threaded (see jail/jail.c).
 * @p:           the pool.
 * @n:           threads.
 * @thread_init: run first in each (identity, seccomp), or NULL.
 *
 * Return: 0 or -errno.
 */
int
vq_workers_start(struct vq_workers *p, unsigned n, int (*thread_init)(void *opaque))
{
	p->thread_init = thread_init;
	for (; p->n < n && p->n < VQ_WORKERS_MAX; p->n++) {
		int err;

		p->w[p->n].pool = p;
		err = pthread_create(&p->w[p->n].thread, NULL, worker_main, &p->w[p->n]);
		if (err)
			return -err;
	}
	return 0;
}

/**
 * vq_workers_kick() - the driver made chains available: wake a worker.
 */
void
vq_workers_kick(struct vq_workers *p)
{
	pthread_mutex_lock(&p->vdev->lock);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->vdev->lock);
}

/**
 * vq_workers_reset() - the driver reset the device, with its lock held:
 * let the requests in flight finish, then forget them.
 */
void
vq_workers_reset(struct vq_workers *p)
{
	p->gen++;
	while (p->inflight)
		pthread_cond_wait(&p->idle, &p->vdev->lock);
}
