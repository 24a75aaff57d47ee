/* SPDX-License-Identifier: MIT */
/*
 * policy.h - --allow and --deny rules, and the decisions made with them
 * (policy.c parses, decide.c decides; see the Theory of Operation there).
 */
#ifndef CAPSA_NET_POLICY_H
#define CAPSA_NET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAME_MAX_LEN	253		/* a DNS name, without the final dot */
#define RULE_TEXT_MAX	300
#define MAX_RULES	256
#define MAX_HOST_ADDRS	64		/* the host's own addresses we remember */

/* The name that reaches the host's loopback, and its address in the guest. */
#define HOST_ALIAS_NAME	"host.capsa.internal"

/* An IPv4 or IPv6 address; v4 in the first four bytes, the rest zero. */
struct net_addr {
	uint8_t family;			/* 4 or 6 */
	uint8_t a[16];
};

enum rule_kind { RULE_NAME, RULE_WILDCARD, RULE_CIDR };

struct net_rule {
	enum rule_kind kind;
	bool deny;
	char name[NAME_MAX_LEN + 1];	/* lower case; a wildcard's suffix after "*." */
	struct net_addr addr;		/* RULE_CIDR: the network, host bits clear */
	uint8_t prefix;
	uint16_t lo, hi;		/* ports, 1-65535 inclusive */
	char text[RULE_TEXT_MAX];	/* "--allow *.example.com:443", for the log */
};

struct net_policy {
	struct net_rule rules[MAX_RULES];
	unsigned n;
	unsigned nallow;		/* allow rules: with any, only they allow */
	struct net_addr host[MAX_HOST_ADDRS];	/* the host's own addresses */
	unsigned nhost;
};

/* Why a destination was refused, or allowed, when no rule decided it. */
enum verdict_why {
	WHY_RULE,			/* the rule in verdict.rule */
	WHY_PUBLIC,			/* no --allow: public destinations are allowed */
	WHY_NO_ALLOW,			/* --allow rules exist and none matches */
	WHY_LOOPBACK, WHY_LINK_LOCAL, WHY_PRIVATE, WHY_RESERVED, WHY_HOST,
	WHY_NAME_SPECIAL,		/* a name rule matched, but the address is special */
	WHY_NO_ADDRESS,			/* the name has no address */
	WHY_SNI,			/* Host/SNI does not match the rule */
	WHY_NO_SNI,			/* no Host/SNI under a name rule */
};

struct verdict {
	bool allow;
	enum verdict_why why;
	const struct net_rule *rule;	/* the deciding rule, or NULL */
};

/* A destination: a name and the addresses capsa resolved for it, or one bare address. */
struct net_dest {
	const char *name;		/* NULL: a bare address */
	const struct net_addr *addrs;
	unsigned naddr;
	uint16_t port;
};

int policy_add(struct net_policy *p, const char *text, bool deny, char *err, size_t errlen);
int rule_parse(const char *text, bool deny, struct net_rule *r, char *err, size_t errlen);
int name_normalize(const char *in, size_t len, char *out);
int addr_parse(const char *s, struct net_addr *a);
void addr_format(const struct net_addr *a, char *buf, size_t len);
bool addr_equal(const struct net_addr *x, const struct net_addr *y);
bool addr_in(const struct net_addr *a, const struct net_addr *net, unsigned prefix);
void addr_unmap(struct net_addr *a);
bool rule_matches_name(const struct net_rule *r, const char *name, uint16_t port);

void policy_set_host(struct net_policy *p, const struct net_addr *addrs, unsigned n);
struct verdict policy_decide(const struct net_policy *p, const struct net_dest *d,
			     bool *usable);
struct verdict policy_check_sni(const struct net_policy *p, struct verdict v,
				const char *sni, bool sni_bad, uint16_t port);
bool policy_may_resolve(const struct net_policy *p, const char *name);
const char *verdict_reason(const struct verdict *v);
bool host_alias_addr(const struct net_addr *a);

#endif
