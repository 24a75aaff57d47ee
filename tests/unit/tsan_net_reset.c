// SPDX-License-Identifier: MIT
/*
 * tsan_net_reset.c - (make unit-tsan) a guest
 * driver resets the virtio-net device from a vCPU thread, through its MMIO
 * Status register, while the device's thread (here the main thread, in
 * net_poll()) moves frames both ways with the device lock released around
 * the tap's syscalls. The reset must wait for that I/O, and what the I/O
 * returns afterwards must touch neither the old rings nor the pool the
 * reset emptied: ThreadSanitizer reports any access the lock and the
 * device's busy/generation handshake do not order.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netenv.h"
#include "tap.h"

#define RXBUF	0x100000ULL	/* receive buffer i at +i * 8 KiB */
#define TXBUF	0x200000ULL	/* transmit frame i at +i * 4 KiB */
#define HDR	NET_HDR_LEN

static struct netenv env;

static void *
vcpu(void *arg)
{
	uint32_t zero = 0;

	usleep(2000);
	bus_access(&env.vm.mmio, NETENV_BASE + 0x70, (uint8_t *)&zero, 4, true);
	return arg;
}

int
main(void)
{
	uint8_t rec[HDR + 200] = { 0 }, sink[HDR + 2048];
	pthread_t t;

	signal(SIGPIPE, SIG_IGN);
	if (netenv_init(&env, 8 << 20, false))
		return 1;
	netenv_start(&env, 1ULL << VIRTIO_NET_F_MRG_RXBUF);
	/* Room for a largest frame: frames go straight into these buffers. */
	for (uint16_t i = 0; i < NETENV_QSIZE; i++) {
		drv_desc(&env.drv, NET_RXQ, i, RXBUF + 0x2000ULL * i, 8192, VRING_DESC_F_WRITE, 0);
		drv_post(&env.drv, NET_RXQ, i);
	}
	for (uint16_t i = 0; i < NETENV_QSIZE; i++) {
		memset(mem_ptr(&env.vm.mem, TXBUF + 0x1000ULL * i, HDR + 100), 0, HDR + 100);
		drv_desc(&env.drv, NET_TXQ, i, TXBUF + 0x1000ULL * i, HDR + 100, 0, 0);
		drv_post(&env.drv, NET_TXQ, i);
	}
	/* Both kicks before the reset starts: a kick's fd is the VM's, not a field a guest reads. */
	netenv_kick(&env, NET_RXQ);
	netenv_kick(&env, NET_TXQ);
	pthread_create(&t, NULL, vcpu, NULL);
	/* The driver's side too: every chain the device returns is posted again. */
	for (int i = 0; i < 4000; i++) {
		uint32_t id, len;

		(void)!write(env.tap[1], rec, sizeof(rec));
		while (recv(env.tap[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		while (drv_used(&env.drv, NET_RXQ, &id, &len))
			drv_post(&env.drv, NET_RXQ, (uint16_t)id);
		while (drv_used(&env.drv, NET_TXQ, &id, &len))
			drv_post(&env.drv, NET_TXQ, (uint16_t)id);
		net_poll(env.dev, 0);
	}
	pthread_join(t, NULL);
	CHECK(drv_rd(&env.drv, 0x070) == 0, "the reset took: status 0");
	netenv_free(&env);
	return tap_done();
}
