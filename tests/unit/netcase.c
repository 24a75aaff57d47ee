// SPDX-License-Identifier: MIT
/*
 * netcase.c - the virtio-net device tests' shared state: see netcase.h.
 */
#include <sys/socket.h>

#include "netcase.h"
#include "vmm/util.h"

struct netenv env;
uint64_t stride = 0x1000;
uint8_t frame[BIG], got[HDR + BIG];

void *
gpa(uint64_t a, uint64_t len)
{
	return mem_ptr(&env.vm.mem, a, len);
}

void
fill(uint8_t *f, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 8));
}

struct net_stats
stats(void)
{
	struct net_stats st;

	net_get_stats(env.dev, &st);
	return st;
}

bool
needs_reset(void)
{
	return drv_rd(&env.drv, 0x070) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* The device's VRING_USED_F_NO_NOTIFY for queue @q. */
bool
kicks_off(unsigned q)
{
	uint16_t *used = gpa(env.drv.q[q].used, 2);

	return used[0] & VRING_USED_F_NO_NOTIFY;
}

/* A frame the device sent to the tap, in got[]. */
ssize_t
host_recv(void)
{
	return recv(env.tap[1], got, sizeof(got), MSG_DONTWAIT);
}
