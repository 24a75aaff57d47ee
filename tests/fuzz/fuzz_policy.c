// SPDX-License-Identifier: MIT
/*
 * fuzz_policy.c - the --allow/--deny parser and the decisions made with
 * the rules, on any input.
 *
 * Input: two bytes of port (little-endian), then NUL-separated strings:
 * rules (a leading '!' makes a --deny) up to an empty string, then the
 * destination's name (empty: a bare address), then its addresses as text.
 *
 * Oracle: a rule that parses, written back in its canonical form, parses
 * to the same rule; one that does not leaves one line of message. A
 * verdict allows exactly when some address is usable; no address a --deny
 * rule matches is usable; the host's loopback is usable only as
 * host.capsa.internal; a denied name is never allowed and never resolved;
 * a Host/SNI check never turns a refusal into an allow.
 *
 * fuzz-sources: vmm/net/policy.c vmm/net/decide.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/net/policy.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAX_ADDRS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The rule as text capsa would accept, from what was parsed. */
static void
canonical(const struct net_rule *r, char *buf, size_t len)
{
	char host[NAME_MAX_LEN + 8];

	if (r->kind == RULE_CIDR) {
		addr_format(&r->addr, host, sizeof(host));
		snprintf(host + strlen(host), sizeof(host) - strlen(host), "/%u", r->prefix);
	} else {
		snprintf(host, sizeof(host), "%s%s", r->kind == RULE_WILDCARD ? "*." : "", r->name);
	}
	snprintf(buf, len, r->kind == RULE_CIDR && r->addr.family == 6 ? "[%s]:%u-%u" : "%s:%u-%u",
		 host, r->lo, r->hi);
}

static void
check_rule(const char *text, bool deny)
{
	struct net_rule r, again;
	char err[256], buf[RULE_TEXT_MAX];

	if (rule_parse(text, deny, &r, err, sizeof(err)) < 0) {
		REQUIRE(err[0] && !strchr(err, '\n'));
		return;
	}
	REQUIRE(r.lo >= 1 && r.lo <= r.hi && memchr(r.text, 0, sizeof(r.text)));
	REQUIRE(r.kind == RULE_CIDR ? r.prefix <= (r.addr.family == 4 ? 32 : 128) : r.name[0]);
	canonical(&r, buf, sizeof(buf));
	REQUIRE(rule_parse(buf, deny, &again, err, sizeof(err)) == 0);
	REQUIRE(again.kind == r.kind && again.lo == r.lo && again.hi == r.hi &&
		again.prefix == r.prefix && !strcmp(again.name, r.name) &&
		!memcmp(&again.addr, &r.addr, sizeof(r.addr)));
}

/* Properties of one verdict; see the top of the file. */
static void
check_verdict(const struct net_policy *p, const struct net_dest *d, const bool *usable,
	      struct verdict v)
{
	bool any = false;

	for (unsigned i = 0; i < d->naddr; i++) {
		struct net_addr a = d->addrs[i];

		any |= usable[i];
		addr_unmap(&a);
		for (unsigned k = 0; usable[i] && k < p->n; k++) {
			const struct net_rule *r = &p->rules[k];

			REQUIRE(!(r->deny && r->kind == RULE_CIDR && d->port >= r->lo &&
				  d->port <= r->hi && addr_in(&a, &r->addr, r->prefix)));
		}
		if (usable[i] && a.family == 4 && a.a[0] == 127)
			REQUIRE(d->name && !strcmp(d->name, HOST_ALIAS_NAME));
	}
	REQUIRE(v.allow == any);
	REQUIRE(!v.allow || !v.rule || !v.rule->deny);
	for (unsigned k = 0; d->name && k < p->n; k++)
		if (p->rules[k].deny && rule_matches_name(&p->rules[k], d->name, d->port))
			REQUIRE(!v.allow);
}

static void
check_decide(const struct net_policy *p, const char *name, char **addrs, unsigned n,
	     uint16_t port)
{
	struct net_addr a[MAX_ADDRS];
	bool usable[MAX_ADDRS];
	char norm[NAME_MAX_LEN + 1];
	unsigned k = 0;

	for (unsigned i = 0; i < n && k < MAX_ADDRS; i++)
		k += addr_parse(addrs[i], &a[k]) == 0;
	if (name && name_normalize(name, strlen(name), norm) < 0)
		return;
	struct net_dest d = { name ? norm : NULL, a, name ? k : (k ? 1 : 0), port };
	struct verdict v = policy_decide(p, &d, usable), w;

	check_verdict(p, &d, usable, v);
	if (name) {
		w = policy_check_sni(p, v, norm, false, port);
		REQUIRE(v.allow || !w.allow);
		w = policy_check_sni(p, v, NULL, true, port);
		REQUIRE(v.allow || !w.allow);
		policy_may_resolve(p, norm);
	}
	REQUIRE(verdict_reason(&v)[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct net_policy p;
	char *buf, *s, *end, *strs[64], err[256];
	unsigned n = 0, i = 0;
	uint16_t port;

	if (size < 2)
		return 0;
	port = (uint16_t)(data[0] | data[1] << 8);
	buf = malloc(size - 1);
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = 0;
	for (s = buf, end = buf + size - 2; s <= end && n < 64; s += strlen(s) + 1)
		strs[n++] = s;
	memset(&p, 0, sizeof(p));
	for (; i < n && strs[i][0]; i++) {
		bool deny = strs[i][0] == '!';

		check_rule(strs[i] + deny, deny);
		policy_add(&p, strs[i] + deny, deny, err, sizeof(err));
	}
	if (i + 1 < n)
		check_decide(&p, strs[i + 1][0] ? strs[i + 1] : NULL, strs + i + 2, n - i - 2,
			     port);
	free(buf);
	return 0;
}
