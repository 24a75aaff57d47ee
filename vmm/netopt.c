// SPDX-License-Identifier: MIT
/*
 * netopt.c - the network options: --net user|tap:NAME, --allow, --deny,
 * -p/--publish and --net-log, and the tap's --mac, --ip and --gateway (the
 * table that names them is in options.c).
 *
 *   --allow RULE / --deny RULE   rules, vmm/net/policy.c; either means --net user
 *   -p [HOSTADDR:]HOSTPORT:GUESTPORT[/tcp]   Docker's form; HOSTADDR
 *                                 defaults to 127.0.0.1 (not every
 *                                 interface), [V6] in brackets
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tap.h"
#include "util.h"
#include "net/policy.h"

static int
policy(struct capsa_config *cfg, char *err, unsigned errlen)
{
	cfg->net_user = true;
	if (!cfg->policy && !(cfg->policy = calloc(1, sizeof(*cfg->policy))))
		return errmsg(err, errlen, "out of memory");
	return 0;
}

/* --net user or --net tap:NAME. */
int
netopt_net(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	int e;

	if (!strcmp(val, "user"))
		return policy(cfg, err, errlen);
	if (strncmp(val, "tap:", 4))
		return errmsg(err, errlen, "--net %s: expected user or tap:NAME", val);
	e = tap_check_name(val + 4);
	if (e == -ENAMETOOLONG)
		return errmsg(err, errlen, "--net %s: interface names have at most %d characters",
			    val, IFNAMSIZ - 1);
	if (e)
		return errmsg(err, errlen, "--net %s: not a valid interface name", val);
	cfg->net_tap = val + 4;
	return 0;
}

static int
hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ?
	       (c | 0x20) - 'a' + 10 : -1;
}

/* Six octets as two hex digits each, colon-separated; never a multicast one. */
int
netopt_mac(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	uint8_t m[6], any = 0;

	for (int i = 0; i < 6; i++) {
		const char *p = val + 3 * i;
		int hi = hex_digit(p[0]), lo = hi < 0 ? -1 : hex_digit(p[1]);

		if (hi < 0 || lo < 0 || p[2] != (i == 5 ? 0 : ':'))
			return errmsg(err, errlen,
				    "--mac %s: expected six hex octets like 52:54:00:12:34:56", val);
		m[i] = (uint8_t)(hi << 4 | lo);
		any |= m[i];
	}
	if (m[0] & 1)
		return errmsg(err, errlen, "--mac %s: a multicast address (the first octet is odd)", val);
	if (!any)
		return errmsg(err, errlen, "--mac %s: the all-zero address", val);
	memcpy(cfg->mac, m, sizeof(m));
	cfg->mac_set = true;
	return 0;
}

/* ADDR/PREFIX: a dotted IPv4 address and a prefix length 0-32. */
static int
parse_cidr(const char *val, struct in_addr *addr, unsigned *prefix)
{
	const char *slash = strchr(val, '/');
	char a[INET_ADDRSTRLEN];
	uint64_t p;

	if (!slash || (size_t)(slash - val) >= sizeof(a))
		return -EINVAL;
	memcpy(a, val, (size_t)(slash - val));
	a[slash - val] = 0;
	if (inet_pton(AF_INET, a, addr) != 1 || parse_u64(slash + 1, 0, 32, &p) < 0)
		return -EINVAL;
	*prefix = (unsigned)p;
	return 0;
}

int
netopt_ip(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	struct in_addr a;
	unsigned prefix;

	if (parse_cidr(val, &a, &prefix) < 0)
		return errmsg(err, errlen, "--ip %s: expected an IPv4 ADDR/PREFIX like 10.0.2.15/24", val);
	cfg->ip = val;
	return 0;
}

int
netopt_gateway(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	struct in_addr a;

	if (inet_pton(AF_INET, val, &a) != 1)
		return errmsg(err, errlen, "--gateway %s: expected an IPv4 address like 10.0.2.2", val);
	cfg->gateway = val;
	return 0;
}

/* The tap's options only make sense together; the gateway must be on-link. */
static int
check_tap(const struct capsa_config *cfg, char *err, unsigned errlen)
{
	struct in_addr a, gw;
	unsigned prefix;
	uint32_t mask;

	if (!cfg->net_tap && (cfg->mac_set || cfg->ip || cfg->gateway))
		return errmsg(err, errlen, "--%s needs --net tap:NAME",
			    cfg->mac_set ? "mac" : cfg->ip ? "ip" : "gateway");
	if (cfg->gateway && !cfg->ip)
		return errmsg(err, errlen, "--gateway needs --ip ADDR/PREFIX");
	if (!cfg->gateway)
		return 0;
	parse_cidr(cfg->ip, &a, &prefix);
	inet_pton(AF_INET, cfg->gateway, &gw);
	mask = prefix ? htonl(~0U << (32 - prefix)) : 0;
	if ((a.s_addr ^ gw.s_addr) & mask || a.s_addr == gw.s_addr)
		return errmsg(err, errlen, "--gateway %s: not another address in --ip %s",
			    cfg->gateway, cfg->ip);
	return 0;
}

static int
rule(struct capsa_config *cfg, char *val, bool deny, char *err, unsigned errlen)
{
	if (policy(cfg, err, errlen) < 0)
		return -1;
	return policy_add(cfg->policy, val, deny, err, errlen) < 0 ? -1 : 0;
}

int
netopt_allow(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	return rule(cfg, val, false, err, errlen);
}

int
netopt_deny(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	return rule(cfg, val, true, err, errlen);
}

int
netopt_log(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (!*val)
		return errmsg(err, errlen, "--net-log needs a file");
	cfg->net_log = val;
	return 0;
}

static int
port(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (parse_u64(buf, 1, 65535, &v) < 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* HOSTADDR: an IPv4 address, or [IPv6]; into @p. */
static int
host_addr(const char *s, size_t len, struct publish_spec *p)
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (len >= sizeof(buf))
		return -EINVAL;
	if (len > 2 && s[0] == '[' && s[len - 1] == ']') {
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = 0;
		p->family = 6;
		return inet_pton(AF_INET6, buf, p->addr) == 1 ? 0 : -EINVAL;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	p->family = 4;
	return inet_pton(AF_INET, buf, p->addr) == 1 ? 0 : -EINVAL;
}

int
netopt_publish(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	struct publish_spec p = { 4, { 127, 0, 0, 1 }, 0, 0 };
	size_t len = strlen(val);
	const char *last, *mid;

	if (cfg->npublish == MAX_PUBLISH)
		return errmsg(err, errlen, "-p %s: at most %d published ports", val, MAX_PUBLISH);
	if (len > 4 && !strcmp(val + len - 4, "/tcp"))
		len -= 4;
	else if (strchr(val, '/'))
		return errmsg(err, errlen, "-p %s: only TCP ports can be published", val);
	last = memrchr(val, ':', len);
	if (!last || port(last + 1, len - (size_t)(last - val) - 1, &p.guest_port) < 0)
		goto bad;
	mid = last > val ? memrchr(val, ':', (size_t)(last - val)) : NULL;
	if (mid && val[0] == '[' && !memchr(val, ']', (size_t)(mid - val)))
		goto bad;
	if (port(mid ? mid + 1 : val, (size_t)(last - (mid ? mid + 1 : val)), &p.host_port) < 0 ||
	    (mid && host_addr(val, (size_t)(mid - val), &p) < 0))
		goto bad;
	cfg->publish[cfg->npublish++] = p;
	return 0;
bad:
	return errmsg(err, errlen, "-p %s: expected [HOSTADDR:]HOSTPORT:GUESTPORT, ports 1-65535 "
		    "(e.g. 8080:80 or [::1]:8080:80)", val);
}

/**
 * netopt_check() - the network options together.
 *
 * Return: 0, or -1 with @err set.
 */
int
netopt_check(const struct capsa_config *cfg, char *err, unsigned errlen)
{
	if (check_tap(cfg, err, errlen) < 0)
		return -1;
	if (cfg->net_user && cfg->net_tap)
		return errmsg(err, errlen, "--net user (or --allow/--deny) and --net tap:%s cannot "
			    "be combined", cfg->net_tap);
	if (cfg->net_log && !cfg->net_user)
		return errmsg(err, errlen, "--net-log needs --net user");
	return 0;
}
