// SPDX-License-Identifier: MIT
/*
 * wire.c - the broker's check of what a guest sends on a network stream
 * (the formats are in wire.h).
 *
 * A request is copied out of the stream into a struct net_req once, then
 * checked here, field by field, into a struct net_request the rest of the
 * broker uses; nothing reads the raw copy again. Unused fields must be
 * zero, so that a later version can give them meaning.
 */
#include <errno.h>
#include <string.h>

#include "flow.h"
#include "wire.h"

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/**
 * net_req_check() - validate a request from the guest.
 * @raw: the bytes as received.
 * @out: the checked request: a normalized name, an unmapped address.
 *
 * Return: 0, or -EINVAL.
 */
int
net_req_check(const struct net_req *raw, struct net_request *out)
{
	struct net_req r = *raw;

	memset(out, 0, sizeof(*out));
	if (r.magic != NET_MAGIC || r.zero || r.name_len > NET_NAME_MAX ||
	    !all_zero(r.name + r.name_len, sizeof(r.name) - r.name_len))
		return -EINVAL;
	if (r.name_len && name_normalize(r.name, r.name_len, out->name) < 0)
		return -EINVAL;
	out->kind = r.kind;
	if (r.kind == NET_RESOLVE) {
		if (!r.name_len || r.family || r.port || !all_zero(r.addr, sizeof(r.addr)))
			return -EINVAL;
		out->id = r.id;
		out->qtype = r.qtype;
		return 0;
	}
	if (r.kind != NET_CONNECT || r.id || r.qtype || !r.port ||
	    (r.family != 4 && r.family != 6) || (r.family == 4 && !all_zero(r.addr + 4, 12)))
		return -EINVAL;
	out->port = r.port;
	out->addr.family = r.family;
	memcpy(out->addr.a, r.addr, sizeof(r.addr));
	addr_unmap(&out->addr);
	return 0;
}
