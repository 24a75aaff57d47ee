/* SPDX-License-Identifier: MIT */
/*
 * embed.S - the guest kernel and base initramfs, inside the capsa binary,
 * so that capsa copied alone to another machine has everything it needs.
 */
	.section .rodata
	.balign 4096
	.global guest_kernel, guest_kernel_end
guest_kernel:
	.incbin GUEST_KERNEL
guest_kernel_end:
	.balign 16
	.global guest_initrd, guest_initrd_end
guest_initrd:
	.incbin GUEST_INITRD
guest_initrd_end:
	.section .note.GNU-stack,"",@progbits
