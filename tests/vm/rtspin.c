// SPDX-License-Identifier: MIT
/*
 * rtspin.c - hang a one-vCPU guest on purpose, for the tests of what capsa
 * does when its guest can no longer act: with real-time throttling off, a
 * SCHED_FIFO busy loop at the top priority starves every other thread of
 * the guest kernel (its vsock workers and the init among them), while the
 * vCPU keeps running. READY is printed, and given a second to reach the
 * host, before the loop starts.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(void)
{
	struct sched_param p = { .sched_priority = sched_get_priority_max(SCHED_FIFO) };
	int fd = open("/proc/sys/kernel/sched_rt_runtime_us", O_WRONLY);

	if (fd < 0 || write(fd, "-1", 2) != 2) {
		perror("rtspin: sched_rt_runtime_us");
		return 1;
	}
	close(fd);
	printf("READY\n");
	fflush(stdout);
	sleep(1);
	/* musl's sched_setscheduler() is a stub that says ENOSYS. */
	if (syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &p) < 0) {
		perror("rtspin: SCHED_FIFO");
		return 1;
	}
	for (;;)
		;
}
