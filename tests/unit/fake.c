// SPDX-License-Identifier: MIT
/*
 * fake.c - see fake.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "fake.h"

struct fake_wiring fake_wiring;

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

int
__wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != FAKE_VM_FD)
		return __real_ioctl(fd, req, arg);
	/* Recorded while there is room (tests look at the first few). */
	if (req == KVM_IRQFD) {
		if (fake_wiring.n_irqfd < FAKE_MAX_WIRES)
			fake_wiring.irqfd[fake_wiring.n_irqfd++] = *(struct kvm_irqfd *)arg;
		return 0;
	}
	if (req == KVM_IOEVENTFD) {
		if (fake_wiring.n_ioeventfd < FAKE_MAX_WIRES)
			fake_wiring.ioeventfd[fake_wiring.n_ioeventfd++] = *(struct kvm_ioeventfd *)arg;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

/*
 * Guest RAM below the MMIO hole only. A mapping rather than malloc, so an
 * access past the end faults even without ASan: RAM ends at a guard page,
 * or within 15 bytes of it when @size is not a multiple of 16 (the host
 * address stays 16-byte aligned, as the rings' atomics need).
 */
int
fake_mem(struct guest_mem *m, uint64_t size)
{
	uint64_t span = (size + 4095) & ~4095ULL;
	uint8_t *p = mmap(NULL, span + 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	/* RAM ends exactly at the guard page. */
	mprotect(p + span, 4096, PROT_NONE);
	p += (span - size) & ~15ULL;
	m->host = p;
	m->size = size;
	m->low_end = size < MEM_HOLE_START ? size : MEM_HOLE_START;
	return 0;
}

void
fake_mem_free(struct guest_mem *m)
{
	uint64_t span = (m->size + 4095) & ~4095ULL;

	munmap(m->host - ((span - m->size) & ~15ULL), span + 4096);
	m->host = NULL;
}

int
fake_vm(struct vm *vm, uint64_t mem_size)
{
	memset(vm, 0, sizeof(*vm));
	memset(&fake_wiring, 0, sizeof(fake_wiring));
	vm->kvm_fd = -1;
	vm->fd = FAKE_VM_FD;
	vm->end_fd = -1;
	return fake_mem(&vm->mem, mem_size);
}

void
fake_vm_free(struct vm *vm)
{
	fake_mem_free(&vm->mem);
}
