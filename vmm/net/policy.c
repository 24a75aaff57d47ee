// SPDX-License-Identifier: MIT
/*
 * policy.c - parsing --allow and --deny rules, names and addresses.
 *
 * A rule is a destination and an optional port range:
 *
 *   NAME            pypi.org             exactly that name
 *   *.SUFFIX        *.example.com        any name below example.com (not
 *                                        example.com itself)
 *   ADDR[/PREFIX]   203.0.113.7          an IPv4 or IPv6 address or network;
 *                   2001:db8::/32        host bits are cleared
 *   ...:PORT        pypi.org:443         one port
 *   ...:LOW-HIGH    *.test:8000-8099     a range, inclusive
 *
 * An IPv6 address with a port is bracketed, as in URLs: [2001:db8::1]:443.
 * Names are compared in lower case without a final dot. Everything here
 * is also fed untrusted bytes (the names a guest sends, tests/fuzz), so
 * each parser takes a length, checks it, and never reads past it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/**
 * name_normalize() - check a DNS name and write it in lower case without
 * its final dot.
 * @in:  the name, not necessarily NUL-terminated.
 * @len: its length.
 * @out: NAME_MAX_LEN + 1 bytes.
 *
 * Letters, digits, '-' and '_'; labels of 1-63 bytes; at most 253 bytes.
 * A last label of digits only is refused: that is an address, not a name.
 *
 * Return: the length of @out, or -EINVAL.
 */
int
name_normalize(const char *in, size_t len, char *out)
{
	size_t label = 0, i;
	bool digits = true;

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > NAME_MAX_LEN)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] | 0x20) : in[i];

		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
			digits = true;
		} else if (!name_char(c) || ++label > 63) {
			return -EINVAL;
		} else {
			digits &= c >= '0' && c <= '9';
		}
		out[i] = c;
	}
	if (label == 0 || digits)
		return -EINVAL;
	out[len] = 0;
	return (int)len;
}

/**
 * addr_unmap() - an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4
 * address it is, so that rules and ranges see one form.
 */
void
addr_unmap(struct net_addr *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a->family == 6 && !memcmp(a->a, mapped, sizeof(mapped))) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = 4;
	}
}

/**
 * addr_parse() - a textual IPv4 or IPv6 address.
 *
 * Return: 0, or -EINVAL.
 */
int
addr_parse(const char *s, struct net_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = 6;
		addr_unmap(a);
		return 0;
	}
	return -EINVAL;
}

/**
 * addr_format() - an address as text ("203.0.113.7", "2001:db8::1").
 */
void
addr_format(const struct net_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

bool
addr_equal(const struct net_addr *x, const struct net_addr *y)
{
	return x->family == y->family && !memcmp(x->a, y->a, x->family == 4 ? 4 : 16);
}

/**
 * addr_in() - whether @a lies in the network @net/@prefix (same family).
 */
bool
addr_in(const struct net_addr *a, const struct net_addr *net, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (a->family != net->family || prefix > (a->family == 4 ? 32u : 128u))
		return false;
	if (memcmp(a->a, net->a, full))
		return false;
	return !rest || !((a->a[full] ^ net->a[full]) & (uint8_t)(0xff << (8 - rest)));
}

static void
clear_host_bits(struct net_addr *a, unsigned prefix)
{
	for (unsigned bit = prefix; bit < 128; bit++)
		a->a[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

/* "N" or "LOW-HIGH", 1-65535. */
static int
parse_ports(const char *s, struct net_rule *r)
{
	char *end;
	unsigned long lo, hi;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return -EINVAL;
		hi = strtoul(end + 1, &end, 10);
	}
	if (*end || lo < 1 || hi > 65535 || lo > hi)
		return -EINVAL;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

/* ADDR/PREFIX or ADDR into a CIDR rule. */
static int
parse_cidr(char *host, struct net_rule *r)
{
	char *slash = strchr(host, '/');
	unsigned long prefix = 0;
	char *end;

	if (slash) {
		*slash = 0;
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end || prefix > 128)
			return -EINVAL;
	}
	if (addr_parse(host, &r->addr) < 0)
		return -EINVAL;
	if (!slash)
		prefix = r->addr.family == 4 ? 32 : 128;
	if (prefix > (r->addr.family == 4 ? 32u : 128u))
		return -EINVAL;
	r->kind = RULE_CIDR;
	r->prefix = (uint8_t)prefix;
	clear_host_bits(&r->addr, r->prefix);
	return 0;
}

/* Split "HOST", "HOST:PORTS", "[V6]", "[V6]:PORTS"; @buf is modified. */
static int
split_port(char *buf, char **host, char **ports)
{
	char *colon;

	*ports = NULL;
	*host = buf;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		*close = 0;
		*host = buf + 1;
		*ports = close[1] ? close + 2 : NULL;
		return strchr(*host, ':') ? 0 : -EINVAL;	/* brackets are for IPv6 */
	}
	colon = strchr(buf, ':');
	if (colon && !strchr(colon + 1, ':')) {		/* exactly one: HOST:PORTS */
		*colon = 0;
		*ports = colon + 1;
	}
	return 0;
}

/* The loopback network, which rules name as host.capsa.internal only. */
static bool
is_loopback_rule(const struct net_rule *r)
{
	static const struct net_addr lo4 = { 4, { 127 } }, lo6 = { 6, { [15] = 1 } };

	return r->kind == RULE_CIDR &&
	       ((r->addr.family == 4 && r->prefix >= 8 && addr_in(&r->addr, &lo4, 8)) ||
		(r->addr.family == 6 && r->prefix == 128 && addr_equal(&r->addr, &lo6)));
}

static int
parse_host(char *host, struct net_rule *r)
{
	int n;

	if (strchr(host, '/') || strchr(host, ':'))
		return parse_cidr(host, r);
	if (parse_cidr(host, r) == 0)
		return 0;
	r->kind = RULE_NAME;
	if (host[0] == '*' && host[1] == '.') {
		r->kind = RULE_WILDCARD;
		host += 2;
	}
	n = name_normalize(host, strlen(host), r->name);
	return n < 0 ? n : 0;
}

/**
 * rule_parse() - parse one --allow or --deny RULE.
 * @raw:    the rule as given.
 * @deny:   a --deny rule.
 * @r:      filled in.
 * @err:    one line naming the problem.
 * @errlen: its size.
 *
 * Return: 0, or -EINVAL with @err set.
 */
int
rule_parse(const char *raw, bool deny, struct net_rule *r, char *err, size_t errlen)
{
	const char *opt = deny ? "--deny" : "--allow";
	char buf[RULE_TEXT_MAX], text[RULE_TEXT_MAX - 16], *host, *ports;
	size_t len = strlen(raw);

	memset(r, 0, sizeof(*r));
	r->deny = deny;
	r->lo = 1;
	r->hi = 65535;
	if (len == 0)
		return fail(err, errlen, "%s: empty rule (a name, *.domain, an address or CIDR)", opt);
	if (len >= sizeof(text))
		return fail(err, errlen, "%s: rule too long (%zu bytes)", opt, len);
	/* Messages show the rule on one line: control bytes as '?'. */
	for (size_t i = 0; i <= len; i++)
		text[i] = raw[i] && (unsigned char)raw[i] < 0x20 ? '?' : raw[i];
	snprintf(r->text, sizeof(r->text), "%s %s", opt, text);
	memcpy(buf, raw, len + 1);
	if (split_port(buf, &host, &ports) < 0)
		return fail(err, errlen, "%s %s: expected [IPV6]:PORT, with a closing bracket", opt, text);
	if (ports && parse_ports(ports, r) < 0)
		return fail(err, errlen, "%s %s: the port must be 1-65535, or LOW-HIGH", opt, text);
	if (parse_host(host, r) < 0)
		return fail(err, errlen, "%s %s: not a host name, *.domain, address or "
			    "ADDRESS/PREFIX", opt, text);
	if (!deny && is_loopback_rule(r))
		return fail(err, errlen, "%s %s: the host's loopback is reached as "
			    HOST_ALIAS_NAME "[:PORT]", opt, text);
	return 0;
}

/**
 * policy_add() - parse a rule and add it to @p.
 *
 * Return: 0, or -EINVAL with @err set.
 */
int
policy_add(struct net_policy *p, const char *text, bool deny, char *err, size_t errlen)
{
	if (p->n == MAX_RULES)
		return fail(err, errlen, "%s %s: at most %d rules", deny ? "--deny" : "--allow",
			    text, MAX_RULES);
	if (rule_parse(text, deny, &p->rules[p->n], err, errlen) < 0)
		return -EINVAL;
	p->nallow += !deny;
	p->n++;
	return 0;
}

/**
 * rule_matches_name() - whether a name rule matches @name (normalized) and @port.
 * @port: 0 matches any port range (a DNS question has no port).
 */
bool
rule_matches_name(const struct net_rule *r, const char *name, uint16_t port)
{
	size_t n, s;

	if (port && (port < r->lo || port > r->hi))
		return false;
	if (r->kind == RULE_NAME)
		return !strcmp(r->name, name);
	if (r->kind != RULE_WILDCARD)
		return false;
	n = strlen(name);
	s = strlen(r->name);
	return n > s + 1 && name[n - s - 1] == '.' && !strcmp(name + n - s, r->name);
}
