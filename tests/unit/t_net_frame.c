// SPDX-License-Identifier: MIT
/*
 * t_net_frame.c - virtio-net's frame checks on their own, as tables (the
 * header a guest sends, the header a tap's frame gets for the guest), tap
 * names, and the random MAC: no device.
 */
#include <errno.h>

#include "tap.h"
#include "virtio/net.h"
#include "vmm/tap.h"
#include "vmm/util.h"

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)

typedef struct virtio_net_hdr_v1 vhdr;

struct check {
	vhdr h;
	uint64_t len, features;
	int want;
	const char *what;
};

static const struct check tx_checks[] = {
	{ { 0 }, 14, 0, 0, "plain 14 bytes" },
	{ { 0 }, 13, 0, -EINVAL, "13 bytes" },
	{ { 0 }, 0, 0, -EINVAL, "empty" },
	{ { 0 }, NET_MAX_FRAME, 0, 0, "largest" },
	{ { 0 }, NET_MAX_FRAME + 1, 0, -EINVAL, "too long" },
	{ { 0 }, ~0ULL, 0, -EINVAL, "huge length" },
	{ { .flags = 1, .csum_start = 0, .csum_offset = 58 }, 60, F(CSUM), 0, "csum at the end" },
	{ { .flags = 1, .csum_start = 0, .csum_offset = 59 }, 60, F(CSUM), -EINVAL, "csum past it" },
	{ { .flags = 1 }, 60, 0, -EINVAL, "csum without CSUM" },
	{ { .flags = 0xfe }, 60, 0, 0, "unknown flags ignored" },
	{ { .gso_type = 1, .gso_size = 1 }, 60, F(HOST_TSO4), 0, "TSO4" },
	{ { .gso_type = 4, .gso_size = 1 }, 60, F(HOST_TSO6), 0, "TSO6" },
	{ { .gso_type = 4, .gso_size = 1 }, 60, F(HOST_TSO4), -EINVAL, "TSO6 without it" },
	{ { .gso_type = 0x81, .gso_size = 1 }, 60, F(HOST_TSO4) | F(HOST_ECN), 0, "TSO4 ECN" },
	{ { .gso_type = 0x81, .gso_size = 1 }, 60, F(HOST_TSO4), -EINVAL, "ECN without it" },
	{ { .gso_type = 3, .gso_size = 1 }, 60, ~0ULL, -EINVAL, "UFO" },
	{ { .gso_type = 1 }, 60, F(HOST_TSO4), -EINVAL, "TSO, no segment size" },
	{ { .gso_type = 0x80 }, 60, ~0ULL, -EINVAL, "ECN alone" },
};

static const struct check rx_checks[] = {
	{ { 0 }, 14, 0, 0, "plain 14 bytes" },
	{ { 0 }, 13, 0, -EINVAL, "13 bytes" },
	{ { 0 }, NET_MAX_FRAME + 1, 0, -EINVAL, "too long" },
	{ { .flags = 1, .csum_offset = 58 }, 60, F(GUEST_CSUM), 0, "csum" },
	{ { .flags = 1 }, 60, F(CSUM), -EINVAL, "csum without GUEST_CSUM" },
	{ { .flags = 1, .csum_start = 60 }, 60, F(GUEST_CSUM), -EINVAL, "csum past the end" },
	{ { .flags = 2 }, 60, 0, 0, "DATA_VALID without GUEST_CSUM: cleared" },
	{ { .gso_type = 1, .gso_size = 1 }, 60, F(GUEST_TSO4), 0, "TSO4" },
	{ { .gso_type = 1, .gso_size = 1 }, 60, F(HOST_TSO4), -EINVAL, "TSO4 the guest lacks" },
	{ { .gso_type = 0x84, .gso_size = 1 }, 60, F(GUEST_TSO6), -EINVAL, "ECN the guest lacks" },
	{ { .gso_type = 0x84, .gso_size = 1 }, 60, F(GUEST_TSO6) | F(GUEST_ECN), 0, "TSO6 ECN" },
};

static void
test_check_tables(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(tx_checks); i++) {
		vhdr h = tx_checks[i].h;

		CHECK_INT(net_tx_check(&h, tx_checks[i].len, tx_checks[i].features),
			  tx_checks[i].want, "net_tx_check: %s", tx_checks[i].what);
		CHECK(!(h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM),
		      "net_tx_check: %s: only NEEDS_CSUM left", tx_checks[i].what);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(rx_checks); i++) {
		vhdr h = rx_checks[i].h;
		int r = net_rx_check(&h, rx_checks[i].len, rx_checks[i].features);

		CHECK_INT(r, rx_checks[i].want, "net_rx_check: %s", rx_checks[i].what);
		CHECK(r || (rx_checks[i].features & F(GUEST_CSUM)) || !h.flags,
		      "net_rx_check: %s: no flags for a guest without GUEST_CSUM",
		      rx_checks[i].what);
	}
}

static void
test_tap_names(void)
{
	CHECK_INT(tap_check_name("tap0"), 0, "tap name: tap0");
	CHECK_INT(tap_check_name("abcdefghijklmno"), 0, "tap name: 15 characters");
	CHECK_INT(tap_check_name("abcdefghijklmnop"), -ENAMETOOLONG, "tap name: 16 characters");
	CHECK_INT(tap_check_name(""), -EINVAL, "tap name: empty");
	CHECK_INT(tap_check_name(".."), -EINVAL, "tap name: ..");
	CHECK_INT(tap_check_name("a/b"), -EINVAL, "tap name: a slash");
	CHECK_INT(tap_check_name("a b"), -EINVAL, "tap name: a space");
	CHECK_INT(tap_check_name("tap%d"), -EINVAL, "tap name: a %% pattern");
	CHECK_INT(tap_check_name("a:1"), -EINVAL, "tap name: a colon");
}

int
main(void)
{
	uint8_t mac[6];

	test_check_tables();
	test_tap_names();
	net_random_mac(mac);
	CHECK((mac[0] & 3) == 2, "random MAC: locally administered unicast");
	return tap_done();
}
