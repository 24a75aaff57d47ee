// SPDX-License-Identifier: MIT
/*
 * decide.c - whether the guest may connect to a destination.
 *
 * Theory of Operation
 * ===================
 *
 * The broker asks once per connection, with what *it* knows: the port,
 * and either a bare address the guest connected to, or a name the guest
 * asked for together with the addresses the broker itself resolved for
 * it (never the address the guest claims). Each address is judged on its
 * own; the connection is allowed when one is, and the broker then
 * connects only to the allowed ones.
 *
 * For one address, in this order:
 *
 *   1. a --deny rule that matches (the name, or the address; and the
 *      port) refuses: --deny always wins;
 *   2. the first --allow rule that matches allows, unless the address is
 *      special (below) and the rule does not name its range explicitly;
 *   3. a special address is refused;
 *   4. with --allow rules, nothing else is allowed; without any, every
 *      public address is.
 *
 * Special addresses are the host's loopback (and 0.0.0.0 and ::, which
 * reach it), link-local (169.254.0.0/16 with the cloud metadata service
 * 169.254.169.254, fe80::/10), the private ranges (10/8, 172.16/12,
 * 192.168/16, 100.64/10, fc00::/7), reserved and multicast ranges, NAT64
 * and 6to4 addresses that embed any of those, and the host's own
 * addresses. Only an address rule lying inside the special range names
 * it explicitly (--allow 10.0.0.0/8 does, --allow 0.0.0.0/0 does not; a
 * host address needs its exact address). A name rule never reaches a
 * special address, whatever the name resolves to, so a name whose DNS
 * answer changes to 169.254.169.254 (DNS rebinding) reaches nothing. The
 * one name that does is host.capsa.internal, which the broker resolves to
 * the host's loopback itself, and only through a rule naming it exactly.
 *
 * On ports 80 and 443 the broker then reads the HTTP Host header or the
 * TLS SNI (sniff.c): a name there that a --deny rule matches refuses, and
 * a connection a name rule allowed must carry a name that same rule
 * matches.
 */
#include <string.h>

#include "policy.h"

struct range {
	uint8_t family, prefix;
	uint8_t a[16];
	enum verdict_why why;
};

static const struct range ranges[] = {
	{ 4, 8, { 0 }, WHY_LOOPBACK },			/* 0.0.0.0 is this host */
	{ 4, 8, { 10 }, WHY_PRIVATE },
	{ 4, 10, { 100, 64 }, WHY_PRIVATE },		/* shared address space (CGNAT) */
	{ 4, 8, { 127 }, WHY_LOOPBACK },
	{ 4, 16, { 169, 254 }, WHY_LINK_LOCAL },	/* with 169.254.169.254 */
	{ 4, 12, { 172, 16 }, WHY_PRIVATE },
	{ 4, 24, { 192, 0, 0 }, WHY_RESERVED },		/* IETF protocol assignments */
	{ 4, 16, { 192, 168 }, WHY_PRIVATE },
	{ 4, 15, { 198, 18 }, WHY_RESERVED },		/* benchmarking */
	{ 4, 4, { 224 }, WHY_RESERVED },		/* multicast */
	{ 4, 4, { 240 }, WHY_RESERVED },		/* future use, broadcast */
	{ 6, 128, { 0 }, WHY_LOOPBACK },		/* :: is this host */
	{ 6, 128, { [15] = 1 }, WHY_LOOPBACK },
	{ 6, 96, { 0 }, WHY_RESERVED },			/* IPv4-compatible, deprecated */
	{ 6, 48, { 0, 0x64, 0xff, 0x9b, 0, 1 }, WHY_PRIVATE },	/* local-use NAT64 */
	{ 6, 64, { 1 }, WHY_RESERVED },			/* discard */
	{ 6, 7, { 0xfc }, WHY_PRIVATE },		/* unique local */
	{ 6, 10, { 0xfe, 0x80 }, WHY_LINK_LOCAL },
	{ 6, 10, { 0xfe, 0xc0 }, WHY_PRIVATE },		/* site-local, deprecated */
	{ 6, 8, { 0xff }, WHY_RESERVED },		/* multicast */
};

/* The guest's name for the host's loopback: 169.254.1.2 (as podman's pasta). */
static const struct net_addr host_alias = { 4, { 169, 254, 1, 2 } };

bool
host_alias_addr(const struct net_addr *a)
{
	return addr_equal(a, &host_alias);
}

/**
 * policy_set_host() - the host's own addresses, special unless named.
 */
void
policy_set_host(struct net_policy *p, const struct net_addr *addrs, unsigned n)
{
	p->nhost = n < MAX_HOST_ADDRS ? n : MAX_HOST_ADDRS;
	memcpy(p->host, addrs, p->nhost * sizeof(*addrs));
	for (unsigned i = 0; i < p->nhost; i++)
		addr_unmap(&p->host[i]);
}

static const struct range *
find_range(const struct net_addr *a)
{
	for (unsigned i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct net_addr net = { ranges[i].family, { 0 } };

		memcpy(net.a, ranges[i].a, sizeof(net.a));
		if (addr_in(a, &net, ranges[i].prefix))
			return &ranges[i];
	}
	return NULL;
}

/* NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses lead to an IPv4 one. */
static bool
embedded_v4(const struct net_addr *a, struct net_addr *v4)
{
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };

	*v4 = (struct net_addr){ 4, { 0 } };
	if (a->family == 6 && !memcmp(a->a, nat64, sizeof(nat64)))
		memcpy(v4->a, a->a + 12, 4);
	else if (a->family == 6 && a->a[0] == 0x20 && a->a[1] == 0x02)
		memcpy(v4->a, a->a + 2, 4);
	else
		return false;
	return true;
}

/*
 * Which special range @a is in (WHY_PUBLIC for none), and that range, so
 * that a rule can be seen to lie inside it.
 */
static enum verdict_why
classify(const struct net_policy *p, const struct net_addr *a, struct range *out)
{
	const struct range *r = find_range(a);
	struct net_addr v4;

	for (unsigned i = 0; i < p->nhost && !r; i++)
		if (addr_equal(a, &p->host[i])) {
			*out = (struct range){ a->family, a->family == 4 ? 32 : 128, { 0 }, WHY_HOST };
			memcpy(out->a, a->a, sizeof(out->a));
			return WHY_HOST;
		}
	if (!r && embedded_v4(a, &v4) && find_range(&v4)) {
		/* Named only by its exact address. */
		*out = (struct range){ 6, 128, { 0 }, find_range(&v4)->why };
		memcpy(out->a, a->a, sizeof(out->a));
		return out->why;
	}
	if (!r)
		return WHY_PUBLIC;
	*out = *r;
	return r->why;
}

/* An address rule names the special range @s when it lies inside it. */
static bool
names_range(const struct net_rule *r, const struct range *s)
{
	struct net_addr net = { s->family, { 0 } };

	memcpy(net.a, s->a, sizeof(net.a));
	return r->prefix >= s->prefix && addr_in(&r->addr, &net, s->prefix);
}

static bool
rule_matches_addr(const struct net_rule *r, const struct net_addr *a, uint16_t port)
{
	return r->kind == RULE_CIDR && port >= r->lo && port <= r->hi &&
	       addr_in(a, &r->addr, r->prefix);
}

static bool
rule_matches(const struct net_rule *r, const char *name, const struct net_addr *a,
	     uint16_t port)
{
	if (r->kind == RULE_CIDR)
		return rule_matches_addr(r, a, port);
	return name && rule_matches_name(r, name, port);
}

static struct verdict
verdict(bool allow, enum verdict_why why, const struct net_rule *rule)
{
	return (struct verdict){ allow, why, rule };
}

/* One address of a destination, steps 1-4 of the Theory of Operation. */
static struct verdict
judge_addr(const struct net_policy *p, const char *name, const struct net_addr *a,
	   uint16_t port)
{
	struct range range = { 0 };
	enum verdict_why cls = classify(p, a, &range);
	bool alias = name && !strcmp(name, HOST_ALIAS_NAME), name_hit = false;

	for (unsigned i = 0; i < p->n; i++)
		if (p->rules[i].deny && rule_matches(&p->rules[i], name, a, port))
			return verdict(false, WHY_RULE, &p->rules[i]);
	for (unsigned i = 0; i < p->n; i++) {
		const struct net_rule *r = &p->rules[i];

		if (r->deny || !rule_matches(r, name, a, port))
			continue;
		if (cls == WHY_PUBLIC)
			return verdict(true, WHY_RULE, r);
		if (r->kind == RULE_CIDR && names_range(r, &range))
			return verdict(true, WHY_RULE, r);
		if (alias && r->kind == RULE_NAME && cls == WHY_LOOPBACK)
			return verdict(true, WHY_RULE, r);
		name_hit |= r->kind != RULE_CIDR;
	}
	if (cls != WHY_PUBLIC)
		return verdict(false, name_hit ? WHY_NAME_SPECIAL : cls, NULL);
	return p->nallow ? verdict(false, WHY_NO_ALLOW, NULL) : verdict(true, WHY_PUBLIC, NULL);
}

/**
 * policy_decide() - may the guest connect to @d?
 * @p:      the policy.
 * @d:      the destination: a name with the addresses capsa resolved for
 *          it, or a bare address (naddr 1, no name).
 * @usable: @d->naddr flags, set for each address the guest may reach.
 *
 * Return: the verdict; when allowed, that of the first usable address.
 */
struct verdict
policy_decide(const struct net_policy *p, const struct net_dest *d, bool *usable)
{
	struct verdict allowed = { 0 }, refused = verdict(false, WHY_NO_ADDRESS, NULL), v;

	for (unsigned i = 0; i < d->naddr; i++)
		usable[i] = false;
	for (unsigned i = 0; d->name && i < p->n; i++)
		if (p->rules[i].deny && p->rules[i].kind != RULE_CIDR &&
		    rule_matches_name(&p->rules[i], d->name, d->port))
			return verdict(false, WHY_RULE, &p->rules[i]);
	for (unsigned i = 0; i < d->naddr; i++) {
		struct net_addr a = d->addrs[i];

		addr_unmap(&a);
		v = judge_addr(p, d->name, &a, d->port);
		usable[i] = v.allow;
		if (v.allow && !allowed.allow)
			allowed = v;
		if (i == 0)
			refused = v;
	}
	return allowed.allow ? allowed : refused;
}

/**
 * policy_check_sni() - the Host header or TLS SNI of a connection to port
 * 80 or 443 that policy_decide() allowed as @v.
 * @sni:     the normalized name in it, or NULL when there is none.
 * @sni_bad: the first bytes were neither a well-formed HTTP request nor a
 *           TLS ClientHello.
 *
 * Return: @v, or a refusal.
 */
struct verdict
policy_check_sni(const struct net_policy *p, struct verdict v, const char *sni,
		 bool sni_bad, uint16_t port)
{
	bool by_name = v.rule && v.rule->kind != RULE_CIDR;

	for (unsigned i = 0; sni && i < p->n; i++)
		if (p->rules[i].deny && rule_matches_name(&p->rules[i], sni, port))
			return verdict(false, WHY_RULE, &p->rules[i]);
	if (!by_name)
		return v;
	if (!sni)
		return verdict(false, sni_bad ? WHY_SNI : WHY_NO_SNI, v.rule);
	if (!rule_matches_name(v.rule, sni, port))
		return verdict(false, WHY_SNI, v.rule);
	return v;
}

/**
 * policy_may_resolve() - whether a DNS question for @name goes to the
 * host's resolver at all. Refusing the names no rule could allow keeps a
 * guest under an allowlist from leaking data through DNS queries.
 */
bool
policy_may_resolve(const struct net_policy *p, const char *name)
{
	bool addr_rules = false;

	if (!strcmp(name, HOST_ALIAS_NAME))
		return true;
	for (unsigned i = 0; i < p->n; i++) {
		const struct net_rule *r = &p->rules[i];

		if (r->deny && r->kind != RULE_CIDR && r->lo == 1 && r->hi == 65535 &&
		    rule_matches_name(r, name, 0))
			return false;
	}
	if (!p->nallow)
		return true;
	for (unsigned i = 0; i < p->n; i++) {
		const struct net_rule *r = &p->rules[i];

		if (!r->deny && r->kind != RULE_CIDR && rule_matches_name(r, name, 0))
			return true;
		addr_rules |= !r->deny && r->kind == RULE_CIDR;
	}
	return addr_rules;
}

/**
 * verdict_reason() - a few words saying why, for the log and --verbose.
 */
const char *
verdict_reason(const struct verdict *v)
{
	static const char *const why[] = {
		[WHY_RULE] = "rule",
		[WHY_PUBLIC] = "public destination, no --allow",
		[WHY_NO_ALLOW] = "no --allow rule matches",
		[WHY_LOOPBACK] = "the host's loopback",
		[WHY_LINK_LOCAL] = "link-local address",
		[WHY_PRIVATE] = "private address",
		[WHY_RESERVED] = "reserved address",
		[WHY_HOST] = "the host's own address",
		[WHY_NAME_SPECIAL] = "name rules do not reach special addresses",
		[WHY_NO_ADDRESS] = "the name has no address",
		[WHY_SNI] = "Host/SNI does not match the rule",
		[WHY_NO_SNI] = "no Host/SNI under a name rule",
	};

	return v->why < sizeof(why) / sizeof(why[0]) ? why[v->why] : "?";
}
