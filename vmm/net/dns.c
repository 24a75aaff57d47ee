// SPDX-License-Identifier: MIT
/*
 * dns.c - the guest's DNS questions, answered with the host's resolver.
 *
 * The guest's helper turns every DNS query a program sends (UDP or TCP,
 * to any address, port 53) into a NET_RESOLVE request on one stream, so
 * no DNS packet ever leaves the guest: the broker parses no DNS, it gets
 * a checked name and a type, and answers with addresses (wire.h). A name
 * no rule could allow gets NXDOMAIN without the host's resolver hearing
 * of it (policy_may_resolve()), so a guest under an allowlist cannot leak
 * data through the names it asks for. host.capsa.internal is answered
 * here: 169.254.1.2, the guest's address for the host's loopback. At most
 * DNS_PENDING questions are in flight per stream; the stream is not read
 * while that many are, so a flood waits in the guest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "flow.h"
#include "../util.h"

#define DNS_TTL 30		/* seconds: the guest asks again, and the broker re-checks */

struct dns_q {
	bool busy;
	uint32_t id;
	uint16_t qtype;
	char name[NAME_MAX_LEN + 1];
};

struct dns_flow {
	struct net_req raw;
	size_t got;
	struct dns_q q[DNS_PENDING];
	unsigned busy;
	uint8_t out[DNS_PENDING * sizeof(struct net_answer)];
	size_t out_len;
};

static void
answer(struct flow *f, const struct dns_q *q, const struct res_result *r, bool allow,
       const char *why)
{
	struct dns_flow *d = f->dns;
	struct net_answer a = { .magic = NET_MAGIC, .id = q->id, .rcode = (uint8_t)r->rcode,
				.qtype = q->qtype, .ttl = DNS_TTL };

	for (unsigned i = 0; i < r->n && a.naddr < NET_MAX_ADDRS; i++)
		if ((q->qtype == DNS_A && r->a[i].family == 4) ||
		    (q->qtype == DNS_AAAA && r->a[i].family == 6))
			memcpy(a.addr[a.naddr++], r->a[i].a, q->qtype == DNS_A ? 4 : 16);
	if (d->out_len + sizeof(a) <= sizeof(d->out)) {
		memcpy(d->out + d->out_len, &a, sizeof(a));
		d->out_len += sizeof(a);
	}
	audit_dns(f->b, q->name, q->qtype, allow, why, a.naddr);
}

static void
question(struct flow *f, const struct net_request *req)
{
	static const struct res_result alias = { 0, 1, { { 4, { 169, 254, 1, 2 } } } };
	static const struct res_result nx = { 3, 0, { { 0 } } }, fail = { 2, 0, { { 0 } } };
	struct dns_flow *d = f->dns;
	struct dns_q *q = NULL;
	struct res_result r;
	unsigned slot;

	for (slot = 0; slot < DNS_PENDING && d->q[slot].busy; slot++)
		;
	if (slot == DNS_PENDING)	/* read_questions() leaves room: cannot happen */
		return;
	q = &d->q[slot];
	*q = (struct dns_q){ false, req->id, req->qtype, "" };
	strcpy(q->name, req->name);
	if (!strcmp(q->name, HOST_ALIAS_NAME)) {
		answer(f, q, &alias, true, "host.capsa.internal");
	} else if (!policy_may_resolve(f->b->policy, q->name)) {
		answer(f, q, &nx, false, "no rule could allow the name");
	} else {
		switch (resolve(f->b, q->name, f->id, slot, &r)) {
		case 0:
			q->busy = true;
			d->busy++;
			break;
		case 1:
			answer(f, q, &r, true, "resolved");
			break;
		default:
			answer(f, q, &fail, true, "resolver busy");
		}
	}
}

static void
dns_watch(struct flow *f)
{
	struct dns_flow *d = f->dns;
	size_t queued = d->out_len / sizeof(struct net_answer);

	flow_watch(f, d->busy + queued < DNS_PENDING, d->out_len > 0, false, false);
}

static bool
flush(struct flow *f)
{
	struct dns_flow *d = f->dns;

	while (d->out_len) {
		ssize_t n = write(f->g, d->out, d->out_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		memmove(d->out, d->out + n, d->out_len - (size_t)n);
		d->out_len -= (size_t)n;
	}
	return true;
}

/* Read whole requests while there is room for their answers. */
static bool
read_questions(struct flow *f)
{
	struct dns_flow *d = f->dns;
	struct net_request req;

	while (d->busy + d->out_len / sizeof(struct net_answer) < DNS_PENDING) {
		ssize_t n = read(f->g, (char *)&d->raw + d->got, sizeof(d->raw) - d->got);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0)
			return false;
		d->got += (size_t)n;
		if (d->got < sizeof(d->raw))
			continue;
		d->got = 0;
		if (net_req_check(&d->raw, &req) < 0 || req.kind != NET_RESOLVE) {
			if (f->b->verbose)
				log_warn("net: a malformed DNS request from the guest; stream closed");
			return false;
		}
		question(f, &req);
	}
	return true;
}

/**
 * dns_io() - the DNS stream is readable or writable.
 */
void
dns_io(struct flow *f, uint32_t events)
{
	if (((events & EPOLLIN) && !read_questions(f)) || !flush(f)) {
		flow_close(f);
		return;
	}
	dns_watch(f);
}

/**
 * dns_resolved() - the resolver answered question @tag of this stream.
 */
void
dns_resolved(struct flow *f, unsigned tag, const struct res_result *r)
{
	struct dns_flow *d = f->dns;

	if (tag >= DNS_PENDING || !d->q[tag].busy)
		return;
	d->q[tag].busy = false;
	d->busy--;
	answer(f, &d->q[tag], r, true, "resolved");
	dns_io(f, 0);
}

/**
 * dns_start() - a NET_RESOLVE stream: answer its first question (f->req).
 *
 * Return: 0 or -ENOMEM.
 */
int
dns_start(struct flow *f)
{
	f->dns = calloc(1, sizeof(*f->dns));
	if (!f->dns || !f->b->policy)
		return -ENOMEM;
	f->state = F_DNS;
	f->deadline = 0;
	question(f, &f->req);
	dns_io(f, 0);
	return 0;
}

/**
 * dns_free() - forget a DNS stream's state (answers still owed are dropped).
 */
void
dns_free(struct flow *f)
{
	free(f->dns);
	f->dns = NULL;
}
