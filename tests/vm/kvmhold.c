/*
 * kvmhold: keep one idle VM open for as long as it runs.
 *
 * The emulated KVM host (emulated-host.sh) starts it before the tests. Why:
 * when the first VM on a host is created and the last one destroyed, KVM
 * flips static keys (preempt_notifier_key, tested in __schedule; the
 * in-kernel APIC's apic_sw_disabled), and the kernel rewrites that live code
 * on every CPU through an int3 (text_poke_bp). QEMU's TCG gets that wrong now
 * and then: the emulated host froze with both CPUs trapping on the int3 in
 * __schedule. With one VM (and a never-run vCPU with an in-kernel APIC)
 * always open, the keys stay on and the tests' VMs no longer patch kernel
 * code. (The emulated host's other failure, an oops with page faults
 * recursing in its entry code, happens with this VM held too.)
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		perror("kvmhold");
		return 1;
	}
	for (;;)
		pause();
}
