/* SPDX-License-Identifier: MIT */
/*
 * flow.h - the broker's insides: its state, and one struct flow for each
 * stream a guest opened to PORT_NET. Not for the VMM (that is broker.h).
 */
#ifndef CAPSA_NET_FLOW_H
#define CAPSA_NET_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"
#include "wire.h"
#include "../loop.h"

#define MAX_FLOWS	512		/* streams at once; more are refused (BM_STREAM EBUSY) */
#define FLOW_FDS	6		/* guest stream, upstream socket, two pipes */
#define REQUEST_S	10		/* to send the request */
#define SNIFF_S		10		/* to send the first bytes on ports 80 and 443 */
#define CONNECT_S	15		/* for the upstream connect, each address */
#define DNS_PENDING	64		/* questions in flight on one stream */
#define PIPE_BYTES	(64 * 1024)	/* a pipe's default capacity */

/* A request from the guest, checked (net_req_check()). */
struct net_request {
	uint8_t kind;
	struct net_addr addr;
	uint16_t port;
	char name[NAME_MAX_LEN + 1];	/* "" when none */
	uint32_t id;
	uint16_t qtype;
};

/* What the resolver found for a name: up to NET_MAX_ADDRS of each family. */
struct res_result {
	int rcode;			/* 0, 2 SERVFAIL, 3 NXDOMAIN */
	unsigned n;
	struct net_addr a[2 * NET_MAX_ADDRS];
};

enum flow_state { F_REQUEST, F_RESOLVE, F_SNIFF, F_CONNECT, F_SPLICE, F_DNS };

/* One direction of a spliced connection: bytes wait in a pipe. */
struct pipe_dir {
	int r, w;
	size_t queued;
	bool eof, shut;
};

struct dns_flow;

struct flow {
	struct broker *b;
	struct flow *next, *prev;
	uint64_t id;
	enum flow_state state;
	int g, u;			/* the guest's stream, the upstream socket */
	struct ev gev, uev;
	double deadline;		/* ms, CLOCK_MONOTONIC */
	struct net_req raw;		/* the request as it arrives */
	size_t got;
	struct net_request req;
	/* NET_CONNECT */
	struct net_addr cand[2 * NET_MAX_ADDRS];
	unsigned ncand, tried;
	struct verdict v;
	char sni[NAME_MAX_LEN + 1];
	uint8_t *early;			/* bytes read to sniff, sent upstream first */
	size_t early_len, early_off;
	struct net_addr connected;
	int err;			/* why it ended, errno */
	struct pipe_dir up, down;	/* guest to upstream, upstream to guest */
	uint64_t sent, received;
	/* NET_RESOLVE */
	struct dns_flow *dns;
};

struct resolver;
struct broker_config;

struct broker {
	struct loop loop;
	int ctl;			/* the VMM's channel (msg.h) */
	struct ev ctl_ev, tick_ev;
	struct net_policy *policy;	/* NULL without --net user */
	int log_fd;			/* --net-log, or -1 */
	bool verbose;
	const struct broker_config *cfg;	/* the owned paths, the bridge */
	struct flow *flows;
	unsigned nflows, max_flows;
	uint64_t next_id;
	struct resolver *res;
	double host_t;			/* when the host's addresses were read */
};

int net_req_check(const struct net_req *raw, struct net_request *out);

struct flow *flow_new(struct broker *b, int fd);
void flow_close(struct flow *f);
struct flow *flow_find(struct broker *b, uint64_t id);
void flow_tick(struct broker *b, double now);
void flow_resolved(struct flow *f, unsigned tag, const struct res_result *r);
void flow_watch(struct flow *f, bool g_in, bool g_out, bool u_in, bool u_out);

int splice_start(struct flow *f);
void splice_io(struct flow *f);

int dns_start(struct flow *f);
void dns_io(struct flow *f, uint32_t events);
void dns_resolved(struct flow *f, unsigned tag, const struct res_result *r);
void dns_free(struct flow *f);

int resolver_init(struct broker *b);
int resolve(struct broker *b, const char *name, uint64_t flow_id, unsigned tag,
	    struct res_result *now);

void audit_flow(struct broker *b, const struct flow *f, const char *what);
void audit_dns(struct broker *b, const char *name, uint16_t qtype, bool allow,
	       const char *why, unsigned naddr);
void broker_refresh_host(struct broker *b);

#endif
