// SPDX-License-Identifier: MIT
/*
 * netopt.c - the user networking options: --net user, --allow, --deny,
 * -p/--publish and --net-log (the table that names them is in options.c).
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

/**
 * netopt_user() - --net user.
 */
int
netopt_user(struct capsa_config *cfg, char *err, unsigned errlen)
{
	return policy(cfg, err, errlen);
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
	if (cfg->net_user && cfg->net_tap)
		return errmsg(err, errlen, "--net user (or --allow/--deny) and --net tap:%s cannot "
			    "be combined", cfg->net_tap);
	if (cfg->net_log && !cfg->net_user)
		return errmsg(err, errlen, "--net-log needs --net user");
	return 0;
}
