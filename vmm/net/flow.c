// SPDX-License-Identifier: MIT
/*
 * flow.c - one guest connection through the broker, from its request to
 * the upstream socket.
 *
 * Theory of Operation
 * ===================
 *
 * The guest's helper opened a vsock stream to PORT_NET; the VMM asked us
 * for its other end (BM_NET_OPEN) and joined the two, so the stream's bytes
 * arrive here untouched. A flow goes through these states, each with a
 * deadline (flow_tick()):
 *
 *   F_REQUEST   read exactly one struct net_req, check it (wire.c);
 *               NET_RESOLVE streams become DNS flows (dns.c)
 *   F_RESOLVE   a NET_CONNECT that names a name: resolve it ourselves
 *               (resolve.c); the address the guest connected to is only a
 *               hint which of our addresses to prefer
 *   (decide)    policy_decide() with our addresses, or the bare address
 *   F_SNIFF     ports 80 and 443: read the first bytes for Host or SNI
 *               (sniff.c), then policy_check_sni()
 *   F_CONNECT   a non-blocking connect to each allowed address in turn
 *   F_SPLICE    reply NET_OK, then move bytes both ways (splice.c)
 *
 * A refusal or failure replies with its status and ends the flow; the
 * guest's helper then resets the program's connection. Every decision is
 * one line in the audit log (audit.c), an allowed connection's when it
 * ends, with its byte counts. Until F_SPLICE, the guest's stream is read
 * only as far as the request (and the sniffed bytes, which are sent
 * upstream first), so nothing the program sent early is lost.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flow.h"
#include "sniff.h"
#include "../util.h"

static void try_connect(struct flow *f);

static void
reply(struct flow *f, uint8_t status, int err)
{
	struct net_reply r = { .magic = NET_MAGIC, .status = status, .err = err };

	/* The stream is empty this early: 16 bytes always fit. */
	(void)!write(f->g, &r, sizeof(r));
}

/**
 * flow_watch() - what the flow waits for on its two sockets.
 */
void
flow_watch(struct flow *f, bool g_in, bool g_out, bool u_in, bool u_out)
{
	loop_set(&f->b->loop, &f->gev, (g_in ? EPOLLIN : 0) | (g_out ? EPOLLOUT : 0));
	if (f->u >= 0)
		loop_set(&f->b->loop, &f->uev, (u_in ? EPOLLIN : 0) | (u_out ? EPOLLOUT : 0));
}

/*
 * The log's line is written before the guest hears: a guest that saw its
 * answer and ended, ending capsa and this process, finds its decision logged.
 */
static void
refuse(struct flow *f)
{
	audit_flow(f->b, f, "deny");
	reply(f, NET_DENIED, 0);
	flow_close(f);
}

static void
connect_failed(struct flow *f)
{
	uint8_t status = f->err == ECONNREFUSED ? NET_REFUSED :
			 f->err == ETIMEDOUT ? NET_TIMEOUT : NET_UNREACHABLE;

	audit_flow(f->b, f, "error");
	reply(f, status, f->err);
	flow_close(f);
}

/* The allowed addresses to try: the one the guest connected to first. */
static void
pick_candidates(struct flow *f, const struct net_addr *addrs, const bool *usable, unsigned n)
{
	f->ncand = 0;
	for (unsigned i = 0; i < n; i++)
		if (usable[i] && addr_equal(&addrs[i], &f->req.addr))
			f->cand[f->ncand++] = addrs[i];
	for (unsigned i = 0; i < n && f->ncand < ARRAY_SIZE(f->cand); i++)
		if (usable[i] && !addr_equal(&addrs[i], &f->req.addr))
			f->cand[f->ncand++] = addrs[i];
}

static void
decide(struct flow *f, const struct net_addr *addrs, unsigned n)
{
	struct net_dest d = { f->req.name[0] ? f->req.name : NULL, addrs, n, f->req.port };
	bool usable[2 * NET_MAX_ADDRS];

	broker_refresh_host(f->b);
	f->v = policy_decide(f->b->policy, &d, usable);
	if (!f->v.allow) {
		refuse(f);
		return;
	}
	pick_candidates(f, addrs, usable, n);
	if (f->req.port != 80 && f->req.port != 443) {
		try_connect(f);
		return;
	}
	f->early = malloc(SNIFF_MAX);
	if (!f->early) {
		f->err = ENOMEM;
		connect_failed(f);
		return;
	}
	f->state = F_SNIFF;
	f->deadline = now_ms() + SNIFF_S * 1000;
	flow_watch(f, true, false, false, false);
}

/**
 * flow_resolved() - the resolver answered for a flow in F_RESOLVE.
 */
void
flow_resolved(struct flow *f, unsigned tag, const struct res_result *r)
{
	if (f->dns) {
		dns_resolved(f, tag, r);
		return;
	}
	if (f->state == F_RESOLVE)
		decide(f, r->a, r->n);
}

static void
start_connect(struct flow *f)
{
	static const struct net_addr lo[] = { { 4, { 127, 0, 0, 1 } }, { 6, { [15] = 1 } } };
	struct res_result r;

	if (!f->req.name[0] && host_alias_addr(&f->req.addr))
		strcpy(f->req.name, HOST_ALIAS_NAME);
	if (!f->req.name[0]) {
		decide(f, &f->req.addr, 1);
		return;
	}
	if (!strcmp(f->req.name, HOST_ALIAS_NAME)) {
		/* The host's loopback: ours to name, never the resolver's. */
		decide(f, lo, ARRAY_SIZE(lo));
		return;
	}
	f->state = F_RESOLVE;
	f->deadline = now_ms() + 30 * 1000;
	flow_watch(f, false, false, false, false);
	switch (resolve(f->b, f->req.name, f->id, 0, &r)) {
	case 0:
		break;			/* flow_resolved() comes later */
	case 1:
		decide(f, r.a, r.n);
		break;
	default:
		decide(f, NULL, 0);	/* too many questions in flight */
	}
}

static void
read_request(struct flow *f)
{
	ssize_t n = read(f->g, (char *)&f->raw + f->got, sizeof(f->raw) - f->got);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		flow_close(f);
		return;
	}
	f->got += (size_t)n;
	if (f->got < sizeof(f->raw))
		return;
	if (net_req_check(&f->raw, &f->req) < 0) {
		if (f->b->verbose)
			log_warn("net: a malformed request from the guest; stream closed");
		reply(f, NET_BAD, EINVAL);
		flow_close(f);
	} else if (f->req.kind == NET_RESOLVE) {
		if (dns_start(f) < 0)
			flow_close(f);
	} else {
		start_connect(f);
	}
}

/* The first bytes on port 80 or 443, until they show a name or cannot. */
static void
read_sniff(struct flow *f, bool timeout)
{
	ssize_t n = 0;
	enum sniff_result s;

	if (!timeout) {
		n = read(f->g, f->early + f->early_len, SNIFF_MAX - f->early_len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0)
			f->early_len += (size_t)n;
	}
	s = f->req.port == 80 ? sniff_http(f->early, f->early_len, f->sni) :
				sniff_tls(f->early, f->early_len, f->sni);
	if (s == SNIFF_MORE && n > 0 && f->early_len < SNIFF_MAX)
		return;
	f->v = policy_check_sni(f->b->policy, f->v, s == SNIFF_FOUND ? f->sni : NULL,
				s == SNIFF_BAD || s == SNIFF_MORE, f->req.port);
	if (s != SNIFF_FOUND)
		f->sni[0] = 0;
	if (!f->v.allow)
		refuse(f);
	else
		try_connect(f);
}

static void
connected(struct flow *f)
{
	f->connected = f->cand[f->tried - 1];
	f->state = F_SPLICE;
	f->deadline = 0;
	reply(f, NET_OK, 0);
	if (splice_start(f) < 0) {
		f->err = errno;
		audit_flow(f->b, f, "error");
		flow_close(f);
		return;
	}
	splice_io(f);
}

static void
drop_upstream(struct flow *f)
{
	if (f->u < 0)
		return;
	loop_del(&f->b->loop, &f->uev);
	close(f->u);
	f->u = -1;
}

static void on_upstream(struct ev *ev, uint32_t events);

/* Connect to the next allowed address; the last failure ends the flow. */
static void
try_connect(struct flow *f)
{
	while (f->tried < f->ncand) {
		const struct net_addr *a = &f->cand[f->tried++];
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(f->req.port) };
		struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(f->req.port) };
		int one = 1, r;

		memcpy(&s4.sin_addr, a->a, 4);
		memcpy(&s6.sin6_addr, a->a, 16);
		drop_upstream(f);
		f->u = socket(a->family == 4 ? AF_INET : AF_INET6,
			      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (f->u < 0) {
			f->err = errno;
			break;
		}
		setsockopt(f->u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		r = a->family == 4 ? connect(f->u, (struct sockaddr *)&s4, sizeof(s4)) :
				     connect(f->u, (struct sockaddr *)&s6, sizeof(s6));
		f->err = r < 0 ? errno : 0;
		if (loop_add(&f->b->loop, &f->uev, EV_HOST_IO, f->u, EPOLLOUT, on_upstream, f) < 0) {
			close(f->u);
			f->u = -1;
			f->err = ENOMEM;
			break;
		}
		if (r == 0) {
			connected(f);
			return;
		}
		if (f->err == EINPROGRESS) {
			f->state = F_CONNECT;
			f->deadline = now_ms() + CONNECT_S * 1000;
			flow_watch(f, false, false, false, true);
			return;
		}
	}
	connect_failed(f);
}

static void
on_upstream(struct ev *ev, uint32_t events)
{
	struct flow *f = ev->opaque;
	socklen_t len = sizeof(f->err);

	if (f->state == F_SPLICE) {
		splice_io(f);
		return;
	}
	if (f->state != F_CONNECT)
		return;
	if (getsockopt(f->u, SOL_SOCKET, SO_ERROR, &f->err, &len) < 0)
		f->err = errno;
	if (!f->err && (events & EPOLLOUT))
		connected(f);
	else if (f->err || (events & (EPOLLERR | EPOLLHUP)))
		try_connect(f);
}

static void
on_guest(struct ev *ev, uint32_t events)
{
	struct flow *f = ev->opaque;

	switch (f->state) {
	case F_REQUEST:
		read_request(f);
		break;
	case F_SNIFF:
		read_sniff(f, false);
		break;
	case F_SPLICE:
		splice_io(f);
		break;
	case F_DNS:
		dns_io(f, events);
		break;
	default:
		break;
	}
}

/**
 * flow_new() - a guest stream @fd (the broker's end) waiting for its request.
 *
 * Return: the flow, or NULL (the fd is then closed).
 */
struct flow *
flow_new(struct broker *b, int fd)
{
	struct flow *f = calloc(1, sizeof(*f));

	if (!f) {
		close(fd);
		return NULL;
	}
	*f = (struct flow){ .b = b, .id = ++b->next_id, .g = fd, .u = -1,
			    .up = { -1, -1, 0, false, false }, .down = { -1, -1, 0, false, false } };
	f->deadline = now_ms() + REQUEST_S * 1000;
	if (loop_add(&b->loop, &f->gev, EV_HOST_IO, fd, EPOLLIN, on_guest, f) < 0) {
		close(fd);
		free(f);
		return NULL;
	}
	f->next = b->flows;
	if (b->flows)
		b->flows->prev = f;
	b->flows = f;
	b->nflows++;
	return f;
}

/**
 * flow_close() - end a flow: its sockets and pipes are closed.
 */
void
flow_close(struct flow *f)
{
	struct broker *b = f->b;
	int fds[] = { f->up.r, f->up.w, f->down.r, f->down.w };

	loop_del(&b->loop, &f->gev);
	close(f->g);
	drop_upstream(f);
	for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	dns_free(f);
	free(f->early);
	if (f->prev)
		f->prev->next = f->next;
	else
		b->flows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	b->nflows--;
	loop_free_later(&b->loop, f);
}

/**
 * flow_find() - the live flow with @id, or NULL.
 */
struct flow *
flow_find(struct broker *b, uint64_t id)
{
	for (struct flow *f = b->flows; f; f = f->next)
		if (f->id == id)
			return f;
	return NULL;
}

/**
 * flow_tick() - end or move on every flow whose deadline passed.
 */
void
flow_tick(struct broker *b, double now)
{
	struct flow *next;

	for (struct flow *f = b->flows; f; f = next) {
		next = f->next;
		if (!f->deadline || now < f->deadline)
			continue;
		f->deadline = 0;
		if (f->state == F_SNIFF) {
			read_sniff(f, true);
		} else if (f->state == F_CONNECT) {
			f->err = ETIMEDOUT;
			try_connect(f);
		} else if (f->state == F_RESOLVE) {
			f->err = ETIMEDOUT;
			connect_failed(f);
		} else {
			flow_close(f);
		}
	}
}
