// SPDX-License-Identifier: MIT
/*
 * t_policy.c - the --allow/--deny rule parser and the decisions made with
 * the rules (vmm/net/policy.c, vmm/net/decide.c): tables of rules that parse or
 * must be refused, then policies and destinations with the verdict each
 * must get.
 */
#include <errno.h>

#include "tap.h"
#include "vmm/net/policy.h"
#include "vmm/util.h"

static const struct {
	const char *text;
	int kind;		/* enum rule_kind */
	const char *what;	/* name, or the network as addr/prefix */
	unsigned lo, hi;
} good[] = {
	{ "pypi.org", RULE_NAME, "pypi.org", 1, 65535 },
	{ "PyPI.Org.", RULE_NAME, "pypi.org", 1, 65535 },
	{ "pypi.org:443", RULE_NAME, "pypi.org", 443, 443 },
	{ "*.githubusercontent.com", RULE_WILDCARD, "githubusercontent.com", 1, 65535 },
	{ "*.test:8000-8099", RULE_WILDCARD, "test", 8000, 8099 },
	{ "localhost", RULE_NAME, "localhost", 1, 65535 },
	{ "_acme-challenge.x.org", RULE_NAME, "_acme-challenge.x.org", 1, 65535 },
	{ "203.0.113.7", RULE_CIDR, "203.0.113.7/32", 1, 65535 },
	{ "203.0.113.7:80", RULE_CIDR, "203.0.113.7/32", 80, 80 },
	{ "203.0.113.0/24:1-1024", RULE_CIDR, "203.0.113.0/24", 1, 1024 },
	{ "10.1.2.3/8", RULE_CIDR, "10.0.0.0/8", 1, 65535 },
	{ "0.0.0.0/0", RULE_CIDR, "0.0.0.0/0", 1, 65535 },
	{ "2001:db8::/32", RULE_CIDR, "2001:db8::/32", 1, 65535 },
	{ "2001:DB8::1", RULE_CIDR, "2001:db8::1/128", 1, 65535 },
	{ "[2001:db8::1]:443", RULE_CIDR, "2001:db8::1/128", 443, 443 },
	{ "[2001:db8::/48]:22-23", RULE_CIDR, "2001:db8::/48", 22, 23 },
	{ "::ffff:192.0.2.1", RULE_CIDR, "192.0.2.1/32", 1, 65535 },
	{ "host.capsa.internal:8080", RULE_NAME, "host.capsa.internal", 8080, 8080 },
	{ "169.254.169.254:80", RULE_CIDR, "169.254.169.254/32", 80, 80 },
	{ "a:65535", RULE_NAME, "a", 65535, 65535 },
};

static const struct {
	const char *text;
	bool deny;
	const char *msg;	/* a part of the one-line message */
} bad[] = {
	{ "", false, "empty rule" },
	{ "pypi.org:0", false, "port must be" },
	{ "pypi.org:65536", false, "port must be" },
	{ "pypi.org:80-79", false, "port must be" },
	{ "pypi.org:x", false, "port must be" },
	{ "pypi.org:", false, "port must be" },
	{ "pypi.org:-1", false, "port must be" },
	{ "pypi.org:1-", false, "port must be" },
	{ "*", false, "not a host name" },
	{ "*.", false, "not a host name" },
	{ "a.*.org", false, "not a host name" },
	{ "**.org", false, "not a host name" },
	{ "a..org", false, "not a host name" },
	{ ".org", false, "not a host name" },
	{ "bad name", false, "not a host name" },
	{ "1.2.3", false, "not a host name" },
	{ "256.1.1.1", false, "not a host name" },
	{ "203.0.113.7/33", false, "not a host name" },
	{ "203.0.113.7/", false, "not a host name" },
	{ "203.0.113.7/-1", false, "not a host name" },
	{ "2001:db8::/129", false, "not a host name" },
	{ "[2001:db8::1", false, "closing bracket" },
	{ "[2001:db8::1]443", false, "closing bracket" },
	{ "[pypi.org]:443", false, "closing bracket" },
	{ "2001:db8::1:443:", false, "not a host name" },
	{ "fe80::1%eth0", false, "not a host name" },
	{ "127.0.0.1", false, "host.capsa.internal" },
	{ "127.0.0.0/8:22", false, "host.capsa.internal" },
	{ "::1", false, "host.capsa.internal" },
	{ "[::1]:80", false, "host.capsa.internal" },
	{ "a234567890123456789012345678901234567890123456789012345678901234.b", false,
	  "not a host name" },
};

static void
test_parse(void)
{
	struct net_rule r;
	char err[256], net[NAME_MAX_LEN + 8];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int e = rule_parse(good[i].text, false, &r, err, sizeof(err));

		if (!CHECK_INT(e, 0, "rule '%s' parses", good[i].text)) {
			printf("#   %s\n", err);
			continue;
		}
		if (r.kind == RULE_CIDR) {
			addr_format(&r.addr, net, sizeof(net));
			snprintf(net + strlen(net), sizeof(net) - strlen(net), "/%u", r.prefix);
		} else {
			snprintf(net, sizeof(net), "%s", r.name);
		}
		CHECK((int)r.kind == good[i].kind && !strcmp(net, good[i].what) &&
		      r.lo == good[i].lo && r.hi == good[i].hi,
		      "'%s' is kind %d %s ports %u-%u (got %d %s %u-%u)", good[i].text,
		      good[i].kind, good[i].what, good[i].lo, good[i].hi, r.kind, net, r.lo, r.hi);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int e = rule_parse(bad[i].text, bad[i].deny, &r, err, sizeof(err));

		CHECK(e == -EINVAL && strstr(err, bad[i].msg) && !strchr(err, '\n') &&
		      !strncmp(err, "--allow", 7),
		      "rule '%s' is refused: %s", bad[i].text, e ? err : "(parsed)");
	}
	CHECK_INT(rule_parse("127.0.0.1:22", true, &r, err, sizeof(err)), 0,
		  "--deny 127.0.0.1:22 is fine (it only refuses)");
	CHECK_STR(r.text, "--deny 127.0.0.1:22", "a rule remembers how it was given");
	char longer[400];

	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	CHECK(rule_parse(longer, false, &r, err, sizeof(err)) == -EINVAL && strstr(err, "too long"),
	      "a 399-byte rule is refused: %s", err);
}

static void
test_names(void)
{
	char out[NAME_MAX_LEN + 1], n253[254];

	CHECK_INT(name_normalize("Example.COM.", 12, out), 11, "name: final dot dropped");
	CHECK_STR(out, "example.com", "name: lower case");
	CHECK_INT(name_normalize("a.b", 2, out), 1, "name: the length is obeyed (\"a.\" is \"a\")");
	CHECK_INT(name_normalize("ab\0c", 4, out), -EINVAL, "name: an embedded NUL is refused");
	CHECK_INT(name_normalize(".", 1, out), -EINVAL, "name: the root alone is refused");
	CHECK_INT(name_normalize("x..", 3, out), -EINVAL, "name: two final dots are refused");
	CHECK_INT(name_normalize("1.2.3.4", 7, out), -EINVAL, "name: a dotted quad is no name");
	CHECK_INT(name_normalize("1.2.3.x4", 8, out), 8, "name: digits then a letter is one");
	memset(n253, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		n253[i] = '.';
	CHECK_INT(name_normalize(n253, 253, out), 253, "name: 253 bytes in 63-byte labels");
	CHECK_INT(name_normalize(n253, 254, out), -EINVAL, "name: 254 bytes are too many");
}

/* A policy from rules separated by spaces; '!' in front makes a --deny. */
static struct net_policy *
policy(const char *rules)
{
	static struct net_policy p;
	char buf[512], *save = NULL, err[256];

	memset(&p, 0, sizeof(p));
	snprintf(buf, sizeof(buf), "%s", rules);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (policy_add(&p, t + (*t == '!'), *t == '!', err, sizeof(err)) < 0)
			printf("# bad test rule %s: %s\n", t, err);
	struct net_addr host[2];

	addr_parse("198.51.100.1", &host[0]);
	addr_parse("2001:db8:ffff::1", &host[1]);
	policy_set_host(&p, host, 2);
	return &p;
}

struct dcase {
	const char *rules;
	const char *name;	/* NULL: a bare address */
	const char *addrs;	/* the addresses capsa resolved, space separated */
	unsigned port;
	bool allow;
	const char *why;	/* the rule's text, or the reason */
	const char *usable;	/* 'y'/'n' per address, or NULL */
};

static const struct dcase cases[] = {
	/* No --allow: public destinations, nothing special. */
	{ "", NULL, "203.0.113.7", 80, true, "public destination, no --allow", NULL },
	{ "", "www.test", "192.0.2.10 2001:db8::10", 443, true, "public destination, no --allow", "yy" },
	{ "", NULL, "169.254.169.254", 80, false, "link-local address", NULL },
	{ "", NULL, "10.0.0.1", 22, false, "private address", NULL },
	{ "", NULL, "172.31.255.255", 22, false, "private address", NULL },
	{ "", NULL, "172.32.0.1", 22, true, "public destination, no --allow", NULL },
	{ "", NULL, "192.168.1.1", 22, false, "private address", NULL },
	{ "", NULL, "100.64.0.1", 22, false, "private address", NULL },
	{ "", NULL, "127.0.0.1", 22, false, "the host's loopback", NULL },
	{ "", NULL, "0.0.0.0", 22, false, "the host's loopback", NULL },
	{ "", NULL, "::", 22, false, "the host's loopback", NULL },
	{ "", NULL, "::1", 22, false, "the host's loopback", NULL },
	{ "", NULL, "::ffff:127.0.0.1", 22, false, "the host's loopback", NULL },
	{ "", NULL, "::ffff:169.254.169.254", 80, false, "link-local address", NULL },
	{ "", NULL, "fe80::1", 22, false, "link-local address", NULL },
	{ "", NULL, "fd00::1", 22, false, "private address", NULL },
	{ "", NULL, "fc00::1", 22, false, "private address", NULL },
	{ "", NULL, "64:ff9b::a9fe:a9fe", 80, false, "link-local address", NULL },
	{ "", NULL, "64:ff9b::cb00:7107", 80, true, "public destination, no --allow", NULL },
	{ "", NULL, "2002:a00:1::", 80, false, "private address", NULL },
	{ "", NULL, "224.0.0.1", 80, false, "reserved address", NULL },
	{ "", NULL, "255.255.255.255", 80, false, "reserved address", NULL },
	{ "", NULL, "ff02::1", 80, false, "reserved address", NULL },
	{ "", NULL, "198.51.100.1", 22, false, "the host's own address", NULL },
	{ "", NULL, "2001:db8:ffff::1", 22, false, "the host's own address", NULL },
	{ "", "evil.test", "169.254.169.254", 80, false, "link-local address", NULL },
	{ "", "mixed.test", "10.0.0.1 203.0.113.9", 80, true, "public destination, no --allow", "ny" },
	{ "", "gone.test", "", 80, false, "the name has no address", NULL },
	/* An allowlist. */
	{ "pypi.org", "pypi.org", "203.0.113.7", 443, true, "--allow pypi.org", NULL },
	{ "pypi.org", "other.org", "203.0.113.7", 443, false, "no --allow rule matches", NULL },
	{ "pypi.org", NULL, "203.0.113.7", 443, false, "no --allow rule matches", NULL },
	{ "pypi.org:443", "pypi.org", "203.0.113.7", 80, false, "no --allow rule matches", NULL },
	{ "*.test", "a.b.test", "203.0.113.7", 80, true, "--allow *.test", NULL },
	{ "*.test", "test", "203.0.113.7", 80, false, "no --allow rule matches", NULL },
	{ "*.test", "atest", "203.0.113.7", 80, false, "no --allow rule matches", NULL },
	{ "*.test:8000-8099", "x.test", "203.0.113.7", 8099, true, "--allow *.test:8000-8099", NULL },
	{ "*.test:8000-8099", "x.test", "203.0.113.7", 8100, false, "no --allow rule matches", NULL },
	{ "203.0.113.0/24", NULL, "203.0.113.200", 1, true, "--allow 203.0.113.0/24", NULL },
	{ "203.0.113.0/24", NULL, "203.0.114.1", 1, false, "no --allow rule matches", NULL },
	{ "203.0.113.0/24", "any.test", "198.51.100.9 203.0.113.9", 1, true,
	  "--allow 203.0.113.0/24", "ny" },
	{ "2001:db8::/32", NULL, "2001:db8:1::1", 80, true, "--allow 2001:db8::/32", NULL },
	{ "2001:db8::/32", NULL, "2001:db9::1", 80, false, "no --allow rule matches", NULL },
	/* A name rule never reaches a special address (DNS rebinding). */
	{ "*.test", "rebind.test", "169.254.169.254", 80, false,
	  "name rules do not reach special addresses", NULL },
	{ "intranet.test", "intranet.test", "10.1.2.3", 80, false,
	  "name rules do not reach special addresses", NULL },
	{ "localhost", "localhost", "127.0.0.1", 80, false,
	  "name rules do not reach special addresses", NULL },
	/* Special ranges: only a rule inside them names them. */
	{ "0.0.0.0/0", NULL, "10.0.0.1", 80, false, "private address", NULL },
	{ "0.0.0.0/0", NULL, "203.0.113.1", 80, true, "--allow 0.0.0.0/0", NULL },
	{ "10.0.0.0/8", NULL, "10.9.9.9", 80, true, "--allow 10.0.0.0/8", NULL },
	{ "10.0.0.0/7", NULL, "10.9.9.9", 80, false, "private address", NULL },
	{ "169.254.169.254:80", NULL, "169.254.169.254", 80, true, "--allow 169.254.169.254:80", NULL },
	{ "169.254.169.254:80", NULL, "169.254.169.254", 81, false, "link-local address", NULL },
	{ "fe80::/10", NULL, "fe80::99", 80, true, "--allow fe80::/10", NULL },
	{ "198.51.100.0/24", NULL, "198.51.100.1", 22, false, "the host's own address", NULL },
	{ "198.51.100.1:22", NULL, "198.51.100.1", 22, true, "--allow 198.51.100.1:22", NULL },
	{ "intranet.test 10.0.0.0/8", "intranet.test", "10.1.2.3", 80, true,
	  "--allow 10.0.0.0/8", NULL },
	/* The host's loopback, as host.capsa.internal only. */
	{ "host.capsa.internal:8080", "host.capsa.internal", "127.0.0.1", 8080, true,
	  "--allow host.capsa.internal:8080", NULL },
	{ "host.capsa.internal:8080", "host.capsa.internal", "127.0.0.1", 22, false,
	  "the host's loopback", NULL },
	{ "", "host.capsa.internal", "127.0.0.1", 8080, false, "the host's loopback", NULL },
	{ "*.internal", "host.capsa.internal", "127.0.0.1", 8080, false,
	  "name rules do not reach special addresses", NULL },
	/* --deny always wins. */
	{ "!evil.test", "evil.test", "203.0.113.66", 80, false, "--deny evil.test", NULL },
	{ "*.test !evil.test", "evil.test", "203.0.113.66", 80, false, "--deny evil.test", NULL },
	{ "!evil.test *.test", "good.test", "203.0.113.66", 80, true, "--allow *.test", NULL },
	{ "!evil.test", "evil.test", "", 80, false, "--deny evil.test", NULL },
	{ "*.test !203.0.113.66", "a.test", "203.0.113.66 203.0.113.67", 80, true,
	  "--allow *.test", "ny" },
	{ "*.test !203.0.113.0/24", "a.test", "203.0.113.66", 80, false,
	  "--deny 203.0.113.0/24", NULL },
	{ "!*.test:22", "a.test", "203.0.113.66", 22, false, "--deny *.test:22", NULL },
	{ "!*.test:22", "a.test", "203.0.113.66", 23, true, "public destination, no --allow", NULL },
	{ "10.0.0.0/8 !10.0.0.5", NULL, "10.0.0.5", 80, false, "--deny 10.0.0.5", NULL },
	{ "!127.0.0.1 host.capsa.internal", "host.capsa.internal", "127.0.0.1", 80, false,
	  "--deny 127.0.0.1", NULL },
	{ "!2001:db8::/32", NULL, "2001:db8::5", 80, false, "--deny 2001:db8::/32", NULL },
	{ "!2001:db8::/32", NULL, "203.0.113.5", 80, true, "public destination, no --allow", NULL },
};

static void
test_decide(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct dcase *c = &cases[i];
		struct net_addr addrs[8];
		bool usable[8];
		char buf[256], *save = NULL, got[9] = { 0 };
		unsigned n = 0;

		snprintf(buf, sizeof(buf), "%s", c->addrs);
		for (char *t = strtok_r(buf, " ", &save); t && n < 8; t = strtok_r(NULL, " ", &save))
			if (addr_parse(t, &addrs[n++]) < 0)
				printf("# bad test address %s\n", t);
		struct net_dest d = { c->name, addrs, n, (uint16_t)c->port };
		struct verdict v = policy_decide(policy(c->rules), &d, usable);
		const char *why = v.rule && v.why == WHY_RULE ? v.rule->text : verdict_reason(&v);

		for (unsigned k = 0; k < n; k++)
			got[k] = usable[k] ? 'y' : 'n';
		CHECK(v.allow == c->allow && !strcmp(why, c->why) && (!c->usable || !strcmp(got, c->usable)),
		      "[%s] %s %s:%u -> %s (%s)%s%s; got %s (%s) %s", c->rules,
		      c->name ? c->name : "address", c->addrs, c->port, c->allow ? "allow" : "deny",
		      c->why, c->usable ? " usable " : "", c->usable ? c->usable : "",
		      v.allow ? "allow" : "deny", why, got);
	}
}

static void
test_sni(void)
{
	struct net_policy *p = policy("*.test !evil.test");
	struct net_addr a;
	bool usable;
	struct verdict v, w;

	addr_parse("203.0.113.7", &a);
	struct net_dest d = { "www.test", &a, 1, 443 };

	v = policy_decide(p, &d, &usable);
	CHECK(v.allow, "sni: www.test is allowed by *.test");
	w = policy_check_sni(p, v, "www.test", false, 443);
	CHECK(w.allow, "sni: SNI www.test matches");
	w = policy_check_sni(p, v, "api.test", false, 443);
	CHECK(w.allow, "sni: SNI api.test matches the same rule");
	w = policy_check_sni(p, v, "other.org", false, 443);
	CHECK(!w.allow && w.why == WHY_SNI, "sni: a forged SNI other.org is refused");
	w = policy_check_sni(p, v, "evil.test", false, 443);
	CHECK(!w.allow && w.rule && !strcmp(w.rule->text, "--deny evil.test"),
	      "sni: a denied SNI is refused by the --deny");
	w = policy_check_sni(p, v, NULL, false, 443);
	CHECK(!w.allow && w.why == WHY_NO_SNI, "sni: no SNI under a name rule is refused");
	w = policy_check_sni(p, v, NULL, true, 80);
	CHECK(!w.allow && w.why == WHY_SNI, "sni: a request that is not HTTP under a name rule");

	p = policy("203.0.113.0/24 !evil.test");
	struct net_dest bare = { NULL, &a, 1, 80 };

	v = policy_decide(p, &bare, &usable);
	CHECK(v.allow, "sni: a bare address allowed by an address rule");
	CHECK(policy_check_sni(p, v, NULL, true, 80).allow, "sni: ... needs no Host");
	CHECK(policy_check_sni(p, v, "whatever.org", false, 80).allow, "sni: ... any Host");
	CHECK(!policy_check_sni(p, v, "evil.test", false, 80).allow, "sni: ... but not a denied one");
	p = policy("");
	v = policy_decide(p, &bare, &usable);
	CHECK(policy_check_sni(p, v, "x.org", false, 80).allow, "sni: no rules: any Host");
}

static void
test_resolve(void)
{
	CHECK(policy_may_resolve(policy(""), "anything.org"), "dns: no rules: any name");
	CHECK(!policy_may_resolve(policy("!evil.test"), "evil.test"), "dns: a denied name is not asked");
	CHECK(!policy_may_resolve(policy("!*.evil.test"), "x.evil.test"), "dns: a denied wildcard");
	CHECK(policy_may_resolve(policy("!evil.test:22"), "evil.test"),
	      "dns: a name denied on one port is asked");
	CHECK(policy_may_resolve(policy("pypi.org"), "pypi.org"), "dns: an allowed name is asked");
	CHECK(!policy_may_resolve(policy("pypi.org"), "leak.attacker.test"),
	      "dns: under a name allowlist other names are not asked (no DNS exfiltration)");
	CHECK(policy_may_resolve(policy("pypi.org 203.0.113.0/24"), "other.test"),
	      "dns: with an address rule any name is asked (its addresses decide)");
	CHECK(policy_may_resolve(policy("pypi.org"), "host.capsa.internal"),
	      "dns: host.capsa.internal always has its answer");
}

static void
test_addr(void)
{
	struct net_addr a, net;
	char buf[64];

	addr_parse("203.0.113.7", &a);
	addr_parse("203.0.113.0", &net);
	CHECK(addr_in(&a, &net, 24) && !addr_in(&a, &net, 32) && addr_in(&a, &net, 0),
	      "addr_in: /24 yes, /32 no, /0 yes");
	CHECK(!addr_in(&a, &net, 33), "addr_in: a prefix too long for IPv4 matches nothing");
	addr_parse("::ffff:203.0.113.7", &net);
	CHECK(net.family == 4 && addr_equal(&a, &net), "addr: IPv4-mapped IPv6 is IPv4");
	addr_parse("2001:db8::1", &a);
	addr_format(&a, buf, sizeof(buf));
	CHECK_STR(buf, "2001:db8::1", "addr_format: IPv6");
	CHECK(addr_parse("2001:db8::1/64", &a) < 0 && addr_parse("", &a) < 0 &&
	      addr_parse("1.2.3.4.5", &a) < 0, "addr_parse: junk refused");
	addr_parse("169.254.1.2", &a);
	CHECK(host_alias_addr(&a), "169.254.1.2 is host.capsa.internal's address");
}

int
main(void)
{
	test_parse();
	test_names();
	test_addr();
	test_decide();
	test_sni();
	test_resolve();
	return tap_done();
}
