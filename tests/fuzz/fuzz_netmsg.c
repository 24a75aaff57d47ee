// SPDX-License-Identifier: MIT
/*
 * fuzz_netmsg.c - the broker's checks of what the VMM and the guest send
 * it: bmsg_parse() (vmm/net/msg.c) and net_req_check() (vmm/net/wire.c).
 *
 * Input: one flags byte (bit 0: from the VMM; bits 1-2: fds that came
 * along), then the bytes of one record; they are also read, padded with
 * zeros to its size, as a struct net_req.
 *
 * Oracle: an accepted message has a known type, the exact length of its
 * type, comes from the side that may send it, and carries an fd exactly
 * when it is a successful BM_STREAM; an accepted request has a valid
 * normalized name or none, a port for CONNECT, a name for RESOLVE, an
 * IPv4 or IPv6 address that is not IPv4-mapped.
 *
 * fuzz-sources: vmm/net/msg.c vmm/net/wire.c
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/net/flow.h"
#include "vmm/net/msg.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_msg(const uint8_t *p, size_t n, bool from_vmm, unsigned nfds)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct bmsg m;

	memcpy(copy, p, n);
	if (bmsg_parse(copy, n, from_vmm, nfds, &m) == 0) {
		REQUIRE(m.type >= BM_NET_OPEN && m.type <= BM_STREAM);
		REQUIRE((m.type == BM_STREAM) != from_vmm);
		REQUIRE(n == BMSG_HDR + (size_t)m.len && m.len == bmsg_make(m.type, 0).len);
		REQUIRE(nfds == (m.type == BM_STREAM && m.u.stream.err == 0));
	}
	free(copy);
}

static void
check_req(const uint8_t *p, size_t n)
{
	struct net_req raw = { 0 };
	struct net_request r;
	char again[NAME_MAX_LEN + 1];

	memcpy(&raw, p, n < sizeof(raw) ? n : sizeof(raw));
	if (net_req_check(&raw, &r) < 0)
		return;
	REQUIRE(!r.name[0] || name_normalize(r.name, strlen(r.name), again) >= 0);
	REQUIRE(!r.name[0] || !strcmp(again, r.name));
	if (r.kind == NET_RESOLVE) {
		REQUIRE(r.name[0]);
		return;
	}
	REQUIRE(r.kind == NET_CONNECT && r.port);
	REQUIRE(r.addr.family == 4 || r.addr.family == 6);
	if (r.addr.family == 6)
		REQUIRE(!(r.addr.a[10] == 0xff && r.addr.a[11] == 0xff &&
			  !memcmp(r.addr.a, "\0\0\0\0\0\0\0\0\0\0", 10)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	check_msg(data + 1, size - 1, data[0] & 1, (data[0] >> 1) & 3);
	check_req(data + 1, size - 1);
	return 0;
}
