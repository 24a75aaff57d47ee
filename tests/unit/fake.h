/* SPDX-License-Identifier: MIT */
/*
 * fake.h - a struct vm without KVM, for unit tests and fuzz harnesses.
 *
 * Guest RAM is an ordinary allocation; the VM fd is a number no real fd
 * has, and the two KVM ioctls the virtio transport makes on it (KVM_IRQFD,
 * KVM_IOEVENTFD) are answered by fake.c through `-Wl,--wrap=ioctl` and
 * recorded, so tests can check how a device wired itself. Every other
 * ioctl goes to the real one.
 */
#ifndef CAPSA_TEST_FAKE_H
#define CAPSA_TEST_FAKE_H

#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/vm.h"

#define FAKE_VM_FD	0x7ffffff0
#define FAKE_MAX_WIRES	16

struct fake_wiring {
	unsigned n_irqfd, n_ioeventfd;
	struct kvm_irqfd irqfd[FAKE_MAX_WIRES];
	struct kvm_ioeventfd ioeventfd[FAKE_MAX_WIRES];
};

extern struct fake_wiring fake_wiring;

int fake_mem(struct guest_mem *m, uint64_t size);
void fake_mem_free(struct guest_mem *m);
int fake_vm(struct vm *vm, uint64_t mem_size);
void fake_vm_free(struct vm *vm);

#endif
