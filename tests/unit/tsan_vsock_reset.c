// SPDX-License-Identifier: MIT
/*
 * tsan_vsock_reset.c - (make unit-tsan) a guest driver resets the vsock
 * device from a vCPU thread, through its MMIO Status register, while the
 * event loop thread serves open connections. The reset closes connections
 * whose buffers the loop thread may be using: ThreadSanitizer reports any
 * access (the loop's graveyard of freed connections, a closed connection's
 * host I/O) that the device lock does not order.
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "tap.h"
#include "vsenv.h"

static struct vsenv env;

static void *
vcpu(void *arg)
{
	uint32_t zero = 0;

	usleep(20000);
	bus_access(&env.vm.mmio, VSENV_BASE + 0x70, (uint8_t *)&zero, 4, true);
	return arg;
}

int
main(void)
{
	pthread_t t;

	signal(SIGPIPE, SIG_IGN);
	if (vsenv_init(&env, 8 << 20))
		return 1;
	for (unsigned i = 0; i < VS_NPORTS; i++) {
		struct virtio_vsock_hdr h = {
			.src_cid = VSENV_CID, .dst_cid = HOST_CID, .src_port = 1000 + i,
			.dst_port = vsenv_port[i], .type = VIRTIO_VSOCK_TYPE_STREAM,
			.op = VIRTIO_VSOCK_OP_REQUEST, .buf_alloc = 1 << 20,
		};

		memcpy(mem_ptr(&env.vm.mem, 0x200000 + 64 * i, sizeof(h)), &h, sizeof(h));
		drv_desc(&env.drv, VS_TXQ, (uint16_t)i, 0x200000 + 64 * i, sizeof(h), 0, 0);
		drv_post(&env.drv, VS_TXQ, (uint16_t)i);
	}
	vsenv_kick(&env, VS_TXQ);
	pthread_create(&t, NULL, vcpu, NULL);
	for (int i = 0; i < 20000; i++) {
		(void)!write(env.host[VS_CONTROL][1], "x", 1);
		(void)!write(env.host[VS_STDIN][1], "y", 1);
		vsenv_pump(&env);
	}
	pthread_join(t, NULL);
	CHECK(!virtio_live(env.vdev), "the reset stopped the device");
	return tap_done();
}
