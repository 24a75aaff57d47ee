// SPDX-License-Identifier: MIT
/*
 * t_console.c - virtio-console and the kernel log behind it: the guest
 * kernel's chunks of text become whole lines on the output fd and in the
 * tail, carriage returns dropped, a panic line stops the VM, a broken
 * chain breaks the device and nothing else. Kicks are served inline, on
 * the QueueNotify write itself, with no ioeventfd.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "drv.h"
#include "fake.h"
#include "virtio/console.h"
#include "vmm/klog.h"

#define BASE	0xd0000000ULL
#define IRQ	5
#define RING	0x10000
#define BUF	0x100000
#define TXQ	1

static struct vm vm;
static struct klog klog;
static struct console_dev *con;
static struct drv drv;
static int out[2];

/* The guest kernel writes @text as one chain of @parts readable buffers. */
static void
send_text(uint16_t head, const char *text, unsigned parts)
{
	size_t len = strlen(text), at = 0;

	memcpy(mem_ptr(&vm.mem, BUF + head * 0x1000, len), text, len);
	for (unsigned i = 0; i < parts; i++) {
		size_t n = i + 1 == parts ? len - at : len / parts;

		drv_desc(&drv, TXQ, (uint16_t)(head + i), BUF + head * 0x1000 + at, (uint32_t)n,
			 i + 1 < parts ? VRING_DESC_F_NEXT : 0, (uint16_t)(head + i + 1));
		at += n;
	}
	drv_post(&drv, TXQ, head);
	drv_wr(&drv, 0x050, TXQ);	/* QueueNotify, served inline */
}

static void
test_lines(void)
{
	char got[256] = { 0 };
	uint32_t id, len;
	ssize_t n;

	send_text(0, "hello\r\nwor", 2);
	send_text(4, "ld\n", 1);
	CHECK(drv_used(&drv, TXQ, &id, &len) && id == 0 && len == 0, "first chain returned, 0 bytes written");
	CHECK(drv_used(&drv, TXQ, &id, &len) && id == 4, "second chain returned");
	n = read(out[0], got, sizeof(got) - 1);
	CHECK_STR(n > 0 ? got : "", "hello\nworld\n", "whole lines on the output fd, no CR");
	klog_tail(&klog, got, sizeof(got));
	CHECK_STR(got, "hello\nworld\n", "the tail keeps them");
	klog_tail(&klog, got, 7);
	CHECK_STR(got, "world\n", "a short tail is the end of the log");
}

static void
test_long_line(void)
{
	char line[700], got[800];
	ssize_t n;

	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = 0;
	send_text(8, line, 3);
	n = read(out[0], got, sizeof(got));
	CHECK_INT((int)n, 699 + 2, "a 698-byte line comes out in three lines of at most 255 bytes (%zd)", n);
	CHECK(atomic_load(&vm.end) == VM_RUNNING, "no panic yet");
}

static void
test_panic_and_broken_chain(void)
{
	char got[256];

	send_text(16, "[    1.0] Kernel panic - not syncing: test\n", 1);
	CHECK(atomic_load(&vm.end) == VM_PANIC, "a panic line stops the VM");
	(void)!read(out[0], got, sizeof(got));
	drv_desc(&drv, TXQ, 20, BUF, 4, VRING_DESC_F_NEXT, 200);	/* next beyond the queue */
	drv_post(&drv, TXQ, 20);
	drv_wr(&drv, 0x050, TXQ);
	CHECK(drv_rd(&drv, 0x070) & VIRTIO_CONFIG_S_NEEDS_RESET, "a malformed chain: needs reset");
	CHECK(!console_up(con), "and the console is no longer up");
}

int
main(void)
{
	if (fake_vm(&vm, 4 << 20) || pipe2(out, O_NONBLOCK))
		return 1;
	klog_init(&klog, &vm, out[1]);
	con = console_create(&vm, BASE, IRQ, &klog);
	CHECK(con != NULL, "console_create");
	CHECK_INT((int)fake_wiring.n_ioeventfd, 0, "no ioeventfd: kicks are served inline");
	CHECK_INT((int)fake_wiring.n_irqfd, 1, "an irqfd for its interrupts");
	if (!con)
		return tap_done();
	CHECK(!console_up(con), "not up before the driver");
	drv_start(&drv, &vm, BASE, 2, 32, RING);
	CHECK(console_up(con), "up after DRIVER_OK");
	CHECK_INT((int)drv_rd(&drv, 0x008), 3, "device id 3 (console)");
	test_lines();
	test_long_line();
	test_panic_and_broken_chain();
	return tap_done();
}
