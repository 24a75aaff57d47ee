/* SPDX-License-Identifier: MIT */
/*
 * vm.h - a KVM virtual machine: memory, in-kernel irqchip, vCPU threads and
 * the address buses their exits are dispatched on.
 */
#ifndef CAPSA_VM_H
#define CAPSA_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "bus.h"
#include "mem.h"

#define VM_MAX_CPUS 64

/* Why the VM stopped; the first reason recorded wins. */
enum vm_end {
	VM_RUNNING,
	VM_RESET,	/* the guest reset or powered off: the normal end */
	VM_PANIC,	/* the guest kernel panicked */
	VM_FAILED,	/* KVM or capsa could not go on */
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	_Atomic uint64_t exits;		/* for the state dump: how far it got */
	_Atomic uint32_t last_exit;	/* KVM_EXIT_*, or UINT32_MAX before the first */
	_Atomic bool dump_req;		/* SIGUSR1: report the vCPU's own state */
	_Atomic int tid;		/* its thread, for the kick; 0 until it runs */
};

/* Sent to a vCPU thread to get it out of KVM_RUN (its handler does nothing). */
#define VCPU_KICK_SIGNAL SIGUSR2

struct vm {
	int kvm_fd, fd;
	struct guest_mem mem;
	unsigned ncpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	struct bus pio, mmio;
	int end_fd;			/* eventfd: readable once the VM ended */
	_Atomic int end;		/* enum vm_end */
	char end_msg[160];
	/* Called in each vCPU thread before its first KVM_RUN (the jail). */
	int (*vcpu_init)(struct vcpu *);
};

int vm_create(struct vm *vm, uint64_t mem_bytes, unsigned ncpus);
int vm_boot_cpu(struct vm *vm, uint64_t entry, uint64_t params);
int vm_start(struct vm *vm);
void vm_stop(struct vm *vm, enum vm_end why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vm_irq_line(struct vm *vm, unsigned irq, int level);
void vm_dump(struct vm *vm, unsigned first_pin, unsigned npins);
void vm_kick(struct vm *vm);

void *vcpu_main(void *arg);
void vcpu_dump(struct vcpu *cpu);

#endif
