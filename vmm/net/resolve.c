// SPDX-License-Identifier: MIT
/*
 * resolve.c - names resolved by the host's resolver, for the guest's DNS
 * questions and for the connections it makes to names.
 *
 * Theory of Operation
 * ===================
 *
 * The broker decides where a name leads with the host's own resolver
 * (getaddrinfo(): /etc/hosts, then the host's DNS servers), never with an
 * answer the guest offers. getaddrinfo() blocks, so RES_THREADS threads
 * call it, fed through a queue of at most RES_QUEUE jobs; a finished job
 * wakes the event loop through an eventfd, and the loop hands the answer
 * to the flow that asked, if it is still there (flows are found by id, so
 * one that ended meanwhile is simply not found). Answers are cached for
 * CACHE_S seconds (failures for CACHE_FAIL_S): the connection that follows
 * a DNS question then reaches the addresses the guest was told, and a
 * guest cannot make the host ask its resolver faster than that per name.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "flow.h"
#include "../util.h"

#define RES_THREADS	4
#define RES_QUEUE	256
#define CACHE_SIZE	256
#define CACHE_S		60
#define CACHE_FAIL_S	5

struct job {
	char name[NAME_MAX_LEN + 1];
	uint64_t flow_id;
	unsigned tag;
	struct res_result r;
};

struct resolver {
	struct broker *b;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *todo[RES_QUEUE], *done[RES_QUEUE];
	unsigned ntodo, ndone, inflight, nthreads;
	int efd;
	struct ev ev;
	struct {
		char name[NAME_MAX_LEN + 1];
		struct res_result r;
		double expires;
	} cache[CACHE_SIZE];
	unsigned cache_next;
};

static void
add_addr(struct res_result *r, const struct net_addr *a, unsigned *nfam)
{
	if (*nfam == NET_MAX_ADDRS)
		return;
	for (unsigned i = 0; i < r->n; i++)
		if (addr_equal(&r->a[i], a))
			return;
	r->a[r->n++] = *a;
	(*nfam)++;
}

/* getaddrinfo() for @name: both families, at most NET_MAX_ADDRS of each. */
static void
lookup(const char *name, struct res_result *r)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	unsigned n4 = 0, n6 = 0;
	int e = getaddrinfo(name, NULL, &hints, &res);

	memset(r, 0, sizeof(*r));
	if (e) {
		r->rcode = e == EAI_NONAME || e == EAI_NODATA ? 3 : 2;
		return;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct net_addr a = { 0 };

		if (ai->ai_family == AF_INET) {
			a.family = 4;
			memcpy(a.a, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			a.family = 6;
			memcpy(a.a, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
			addr_unmap(&a);
		} else {
			continue;
		}
		add_addr(r, &a, a.family == 4 ? &n4 : &n6);
	}
	freeaddrinfo(res);
	r->rcode = r->n ? 0 : 3;
}

static void *
worker(void *arg)
{
	struct resolver *rs = arg;
	uint64_t one = 1;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&rs->lock);
		while (!rs->ntodo)
			pthread_cond_wait(&rs->cond, &rs->lock);
		j = rs->todo[0];
		memmove(rs->todo, rs->todo + 1, --rs->ntodo * sizeof(*rs->todo));
		pthread_mutex_unlock(&rs->lock);
		lookup(j->name, &j->r);
		pthread_mutex_lock(&rs->lock);
		rs->done[rs->ndone++] = j;
		pthread_mutex_unlock(&rs->lock);
		(void)!write(rs->efd, &one, sizeof(one));
	}
	return NULL;
}

static void
cache_put(struct resolver *rs, const char *name, const struct res_result *r)
{
	unsigned i = rs->cache_next++ % CACHE_SIZE;

	for (unsigned k = 0; k < CACHE_SIZE; k++)
		if (!strcmp(rs->cache[k].name, name))
			i = k;
	strcpy(rs->cache[i].name, name);
	rs->cache[i].r = *r;
	rs->cache[i].expires = now_ms() + (r->rcode ? CACHE_FAIL_S : CACHE_S) * 1000.0;
}

/* Finished jobs: cache each answer and give it to its flow. */
static void
on_done(struct ev *ev, uint32_t events)
{
	struct resolver *rs = ev->opaque;
	struct job *done[RES_QUEUE];
	unsigned n;
	uint64_t v;

	(void)events;
	(void)!read(rs->efd, &v, sizeof(v));
	pthread_mutex_lock(&rs->lock);
	n = rs->ndone;
	memcpy(done, rs->done, n * sizeof(*done));
	rs->ndone = 0;
	rs->inflight -= n;
	pthread_mutex_unlock(&rs->lock);
	for (unsigned i = 0; i < n; i++) {
		struct flow *f = flow_find(rs->b, done[i]->flow_id);

		cache_put(rs, done[i]->name, &done[i]->r);
		if (f)
			flow_resolved(f, done[i]->tag, &done[i]->r);
		free(done[i]);
	}
}

/* The first question starts the threads (after the broker's jail: they inherit it). */
static void
start_threads(struct resolver *rs)
{
	pthread_attr_t attr;
	pthread_t t;

	if (rs->nthreads)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	while (rs->nthreads < RES_THREADS && !pthread_create(&t, &attr, worker, rs))
		rs->nthreads++;
	pthread_attr_destroy(&attr);
}

/**
 * resolve() - what @name resolves to, now from the cache or later.
 * @b:       the broker.
 * @name:    normalized.
 * @flow_id: the flow flow_resolved() is called for, later.
 * @tag:     passed along to it.
 * @now:     the answer, when it is known now.
 *
 * Return: 1 with @now filled, 0 when the answer comes later, or -EBUSY
 * when RES_QUEUE questions are in flight.
 */
int
resolve(struct broker *b, const char *name, uint64_t flow_id, unsigned tag,
	struct res_result *now)
{
	struct resolver *rs = b->res;
	double t = now_ms();
	struct job *j;

	for (unsigned k = 0; k < CACHE_SIZE; k++)
		if (rs->cache[k].expires > t && !strcmp(rs->cache[k].name, name)) {
			*now = rs->cache[k].r;
			return 1;
		}
	if (rs->inflight == RES_QUEUE || !(j = calloc(1, sizeof(*j))))
		return -EBUSY;
	start_threads(rs);
	strcpy(j->name, name);
	j->flow_id = flow_id;
	j->tag = tag;
	pthread_mutex_lock(&rs->lock);
	rs->todo[rs->ntodo++] = j;
	rs->inflight++;
	pthread_cond_signal(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
	return 0;
}

/**
 * resolver_init() - the resolver's queue and eventfd; its threads come
 * with the first question.
 *
 * Return: 0 or -errno.
 */
int
resolver_init(struct broker *b)
{
	struct resolver *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return -ENOMEM;
	rs->b = b;
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->cond, NULL);
	rs->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rs->efd < 0 || loop_add(&b->loop, &rs->ev, EV_TIMER, rs->efd, EPOLLIN, on_done, rs) < 0)
		return -errno;
	b->res = rs;
	return 0;
}
