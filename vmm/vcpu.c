// SPDX-License-Identifier: MIT
/*
 * vcpu.c - the vCPU threads: run KVM_RUN and dispatch each exit through a
 * constant table indexed by exit reason. Handlers return VCPU_CONTINUE or
 * VCPU_STOP; device work beyond a register access happens elsewhere.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm.h"
#include "util.h"

enum { VCPU_CONTINUE, VCPU_STOP };

typedef int (*exit_fn)(struct vcpu *cpu);

static int
exit_io(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O (rep outsb) arrives as count consecutive accesses. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (bus_access(&cpu->vm->pio, run->io.port, data, run->io.size, write) < 0)
			return VCPU_STOP;
	return VCPU_CONTINUE;
}

static int
exit_mmio(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (bus_access(&cpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
		       run->mmio.is_write) < 0)
		return VCPU_STOP;
	return VCPU_CONTINUE;
}

static int
exit_reset(struct vcpu *cpu)
{
	vm_stop(cpu->vm, VM_RESET, NULL);
	return VCPU_STOP;
}

static int
exit_system_event(struct vcpu *cpu)
{
	if (cpu->run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
		vm_stop(cpu->vm, VM_PANIC, "guest kernel panicked");
		return VCPU_STOP;
	}
	return exit_reset(cpu);
}

/*
 * An exit capsa has no handler for. On a paravirtual nested KVM (PVM) the
 * first sign is an emulation failure inside the guest kernel's entry code,
 * so say what that means rather than only what KVM said.
 */
static int
exit_unexpected(struct vcpu *cpu)
{
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs = { 0 };
	uint32_t reason = cpu->run->exit_reason;

	ioctl(cpu->fd, KVM_GET_REGS, &regs);
	ioctl(cpu->fd, KVM_GET_SREGS, &sregs);
	log_info("vcpu%u: exit %u rip=%#llx rsp=%#llx cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx",
		 cpu->id, reason, regs.rip, regs.rsp, sregs.cr0, sregs.cr3,
		 sregs.cr4, sregs.efer);
	if (reason == KVM_EXIT_INTERNAL_ERROR &&
	    cpu->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
		vm_stop(cpu->vm, VM_FAILED,
			"this host's KVM cannot run an unmodified guest kernel "
			"(instruction emulation failed at %#llx; a paravirtual nested KVM?)",
			regs.rip);
	else if (reason == KVM_EXIT_FAIL_ENTRY)
		vm_stop(cpu->vm, VM_FAILED, "KVM could not enter the guest (reason %#llx)",
			(unsigned long long)cpu->run->fail_entry.hardware_entry_failure_reason);
	else
		vm_stop(cpu->vm, VM_FAILED, "unexpected KVM exit %u at rip %#llx",
			reason, regs.rip);
	return VCPU_STOP;
}

/*
 * A triple fault. The guest kernel reboots through the i8042 (reboot=k),
 * which ends the VM before this could happen, so here it crashed.
 */
static int
exit_shutdown(struct vcpu *cpu)
{
	/* No registers to show: on AMD, KVM has already reset the vCPU. */
	vm_stop(cpu->vm, VM_FAILED, "the guest kernel crashed (vcpu%u triple-faulted)", cpu->id);
	return VCPU_STOP;
}

static const exit_fn exit_handlers[] = {
	[KVM_EXIT_IO]		= exit_io,
	[KVM_EXIT_MMIO]		= exit_mmio,
	[KVM_EXIT_SHUTDOWN]	= exit_shutdown,
	[KVM_EXIT_SYSTEM_EVENT]	= exit_system_event,
};

/* The vectors whose bit is set in one of the LAPIC's 256-bit registers. */
static void
vectors(const struct kvm_lapic_state *l, unsigned reg, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned v = 0; v < 256 && n < len; v++) {
		uint32_t w;

		memcpy(&w, &l->regs[reg + 0x10 * (v / 32)], 4);
		if (w >> (v % 32) & 1)
			n += (size_t)snprintf(buf + n, len - n, " %u", v);
	}
}

/**
 * vcpu_dump() - on its own thread, log_state() what the vCPU was doing:
 * where it is, whether it takes interrupts, whether it halted, and which
 * vectors its LAPIC holds requested (IRR) or in service (ISR). A vector
 * in IRR that never reaches a running vCPU with interrupts on is a lost
 * interrupt; an empty IRR with the device's ISR still set, one lost before
 * the LAPIC.
 */
void
vcpu_dump(struct vcpu *cpu)
{
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs = { 0 };
	struct kvm_mp_state mp = { 0 };
	struct kvm_vcpu_events ev = { 0 };
	struct kvm_lapic_state lapic = { 0 };
	char irr[128], isr[128];
	uint32_t tpr;

	if (ioctl(cpu->fd, KVM_GET_REGS, &regs) < 0 || ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(cpu->fd, KVM_GET_MP_STATE, &mp) < 0 ||
	    ioctl(cpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ioctl(cpu->fd, KVM_GET_LAPIC, &lapic) < 0) {
		log_state("vcpu%u: cannot read its state: %s", cpu->id, strerror(errno));
		return;
	}
	vectors(&lapic, 0x200, irr, sizeof(irr));
	vectors(&lapic, 0x100, isr, sizeof(isr));
	memcpy(&tpr, &lapic.regs[0x80], 4);
	/* rsp and cr3 too: a rip outside the guest kernel says whose it is. */
	log_state("vcpu%u: rip %#llx, rsp %#llx, cr3 %#llx, interrupts %s, %s; LAPIC IRR:%s, ISR:%s, "
		  "TPR %#x; injecting %s %u, NMI %s", cpu->id, regs.rip, regs.rsp, sregs.cr3,
		  regs.rflags & (1 << 9) ? "on" : "off",
		  mp.mp_state == KVM_MP_STATE_HALTED ? "halted" :
		  mp.mp_state == KVM_MP_STATE_RUNNABLE ? "runnable" : "waiting for INIT/SIPI",
		  irr[0] ? irr : " none", isr[0] ? isr : " none", tpr,
		  ev.interrupt.injected ? "interrupt" : "nothing", ev.interrupt.injected ? ev.interrupt.nr : 0,
		  ev.nmi.pending || ev.nmi.injected ? "pending" : "none");
}

/**
 * vcpu_main() - the vCPU thread.
 * @arg: its struct vcpu.
 *
 * Runs until an exit stops the VM. Signals meant for capsa are blocked here
 * (inherited from the main thread), so KVM_RUN is never interrupted by them.
 *
 * Return: NULL.
 */
void *
vcpu_main(void *arg)
{
	struct vcpu *cpu = arg;
	struct vm *vm = cpu->vm;

	sigset_t kick;

	atomic_store(&cpu->tid, (int)syscall(SYS_gettid));
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (vm->vcpu_init && vm->vcpu_init(cpu) < 0) {
		vm_stop(vm, VM_FAILED, "vcpu%u: cannot apply the jail", cpu->id);
		return NULL;
	}
	while (atomic_load(&vm->end) == VM_RUNNING) {
		uint32_t reason;
		exit_fn fn;

		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR && atomic_exchange(&cpu->dump_req, false))
				vcpu_dump(cpu);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_stop(vm, VM_FAILED, "vcpu%u: KVM_RUN: %s", cpu->id, strerror(errno));
			break;
		}
		reason = cpu->run->exit_reason;
		atomic_store_explicit(&cpu->last_exit, reason, memory_order_relaxed);
		atomic_fetch_add_explicit(&cpu->exits, 1, memory_order_relaxed);
		fn = reason < ARRAY_SIZE(exit_handlers) && exit_handlers[reason]
		     ? exit_handlers[reason] : exit_unexpected;
		if (fn(cpu) == VCPU_STOP)
			break;
	}
	return NULL;
}
