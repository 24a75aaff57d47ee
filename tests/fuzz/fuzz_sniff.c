// SPDX-License-Identifier: MIT
/*
 * fuzz_sniff.c - the Host and SNI sniffers (vmm/net/sniff.c) on any first
 * bytes of a connection.
 *
 * Input: one selector byte (even: HTTP, odd: TLS), then the bytes.
 *
 * Oracle: a name found is a valid normalized name or an address literal;
 * MORE is never the answer for SNIFF_MAX bytes or more; a result other
 * than MORE stays the same when more bytes follow (what was decided is
 * decided), except that a TLS answer may come from a prefix.
 *
 * fuzz-sources: vmm/net/sniff.c vmm/net/policy.c
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/net/policy.h"
#include "vmm/net/sniff.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NAME_MAX_LEN + 1], again[NAME_MAX_LEN + 1], name2[NAME_MAX_LEN + 1];
	struct net_addr a;
	uint8_t *buf;
	enum sniff_result r, r2;
	bool tls;

	if (size < 1)
		return 0;
	tls = data[0] & 1;
	size--;
	buf = malloc(size + 1);
	memcpy(buf, data + 1, size);
	r = tls ? sniff_tls(buf, size, name) : sniff_http(buf, size, name);
	if (r == SNIFF_FOUND)
		REQUIRE(addr_parse(name, &a) == 0 ||
			(name_normalize(name, strlen(name), again) >= 0 && !strcmp(name, again)));
	REQUIRE(r != SNIFF_MORE || size < SNIFF_MAX);
	if (r != SNIFF_MORE && !tls) {
		buf[size] = 'x';
		r2 = sniff_http(buf, size + 1, name2);
		REQUIRE(r2 == r && (r != SNIFF_FOUND || !strcmp(name, name2)));
	}
	free(buf);
	return 0;
}
