// SPDX-License-Identifier: MIT
/*
 * filter.c - stage 6 of the jail: the seccomp filters, see the Theory of
 * Operation in jail.c.
 *
 * Three allowlists, each syscall with the reason capsa needs it. libseccomp
 * generates the programs before the first stage (no hand-written BPF);
 * the VMM program is loaded by the main thread in stage 6 and inherited by
 * the vCPU threads, and each vCPU thread stacks the vCPU program on top in
 * jail_vcpu() before its first KVM_RUN. The kernel runs every filter a
 * thread has and takes the strictest answer, so a vCPU thread can do only
 * what both lists allow; that is why the VMM list carries the vCPU's needs.
 * Anything else kills the whole process (SIGSYS), in every thread.
 *
 * With shares, the file syscalls their server needs (openat, mkdirat ...)
 * must reach the threads that serve them and no other. Stage 6 then loads
 * the wide program (the VMM list plus the fs list) instead; the share
 * threads are born under it and each stacks the fs program on itself
 * (jail_fs_thread()); then the main thread stacks the VMM program on
 * itself (jail_narrow()) before the vCPU threads, which inherit both.
 *
 * Arguments are compared on their low 32 bits: ioctl requests and flags
 * are C ints that musl sign-extends into the 64-bit register, and the
 * kernel reads only 32 bits of them anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>

#include "allow.h"
#include "stage.h"
#include "../vmm/util.h"
#include "../vmm/vm.h"

static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,
	KVM_GET_REGS, KVM_GET_SREGS,	/* register dump on an unexpected exit */
	KVM_IRQ_LINE,			/* the serial port's interrupt */
	KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS, KVM_GET_LAPIC,	/* the state dump (SIGUSR1) */
};

static const unsigned long vmm_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE,	/* the vCPU threads' */
	KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS, KVM_GET_LAPIC,
	TCGETS, TCSETS, TCSETSW, TCSETSF,	/* the host terminal: raw mode, restore */
	TIOCGWINSZ, TIOCSWINSZ,			/* window size; musl's stdout asks too */
	TUNSETOFFLOAD,				/* virtio-net: offloads change at run time */
	KVM_GET_IRQCHIP,			/* the IOAPIC's pins in the state dump */
};

static const unsigned long fcntl_cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
static unsigned long own_tgid[1];	/* filled in by filter_build() */
static const unsigned long filter_mode[] = { SECCOMP_SET_MODE_FILTER };
static const unsigned long membarrier_cmds[] = {
	MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
};

/* The main thread: event loop, devices, and making the vCPU threads. */
static const struct allow vmm_allow[] = {
	ANY(read), ANY(write),		/* eventfds, signalfd, timerfd, stdio, sockets */
	ANY(readv), ANY(writev),	/* vsock streams; musl's stdio */
	ANY(pread64), ANY(pwrite64),	/* disks, at an offset */
	ANY(preadv), ANY(pwritev),
	ANY(fdatasync),			/* a disk flush */
	ANY(fallocate),			/* a disk discard or write-zeroes: punch holes */
	ANY(close),
	ANY(epoll_pwait),		/* musl's epoll_wait */
	ANY(epoll_ctl),
	ANY(poll),			/* the last flush of guest output */
	ONE_OF(ioctl, 1, vmm_ioctls),
	ONE_OF(fcntl, 1, fcntl_cmds),	/* O_NONBLOCK on stdio and accepted sockets */
	ANY(futex),			/* locks shared with the vCPU threads */
	MASKED(mmap, 2, PROT_EXEC, 0),	/* malloc and thread stacks; never executable */
	MASKED(mprotect, 2, PROT_EXEC, 0),
	ANY(munmap), ANY(mremap), ANY(madvise), ANY(brk),
	ANY(clock_gettime),		/* timestamps (when the vDSO cannot) */
	ANY(timerfd_settime),		/* --timeout and other deadlines */
	ANY(rt_sigprocmask),		/* musl blocks signals around clone */
	ANY(rt_sigreturn),
	ANY(restart_syscall),		/* a poll resumed after SIGSTOP/SIGCONT */
	MASKED(clone, 0, THREAD_FLAGS | NS_FLAGS, THREAD_FLAGS),	/* threads only */
	ONE_OF(membarrier, 0, membarrier_cmds),	/* musl, on the first pthread_create */
	ONE_OF(seccomp, 0, filter_mode),	/* a vCPU thread stacks its filter */
	ANY(exit),			/* a thread ends */
	ANY(exit_group),
	ANY(accept4),			/* vsock bridge clients; bind happens before */
	ANY(recvmsg),			/* sockets the vsock broker connected for us */
	ANY(shutdown),			/* half-close: EOF to the other side */
	ANY(wait4),			/* at exit, the vsock broker removing PATH */
	ONE_OF(tgkill, 0, own_tgid),	/* the state dump kicks capsa's own vCPU threads */
	ANY(getpid),			/* musl's raise(), and the kick's tgid */
	ANY(gettid),			/* a vCPU thread notes its id for the kick */
};

/*
 * A thread serving a share (virtio/fs*.c): FUSE requests on the share's
 * fds. No open by path: every name is resolved below a directory fd, and
 * those fds are detached mounts (jail/fs.c), so ".." ends at the share.
 */
static const struct allow fs_allow[] = {
	ANY(openat),			/* reopen through the fd directory; "." of a directory */
	ANY(openat2),			/* one name below a directory, never through a symlink */
	ANY(newfstatat), ANY(fstat),	/* attributes of an O_PATH fd (AT_EMPTY_PATH) */
	ANY(fstatfs),			/* STATFS */
	ANY(getdents64),		/* READDIR */
	ANY(lseek),			/* READDIR's position, LSEEK's SEEK_DATA/SEEK_HOLE */
	ANY(readlinkat),		/* READLINK */
	ANY(mkdirat), ANY(mknodat),	/* MKDIR; MKNOD (FIFOs and sockets) */
	ANY(symlinkat), ANY(linkat),	/* SYMLINK, LINK */
	ANY(unlinkat), ANY(renameat2),	/* UNLINK, RMDIR; RENAME, RENAME2 */
	ANY(fchmodat), ANY(fchownat),	/* SETATTR */
	ANY(utimensat), ANY(ftruncate),
	ANY(preadv), ANY(pwritev),	/* READ and WRITE, straight to guest memory */
	ANY(fallocate),			/* FALLOCATE */
	ANY(fsync), ANY(fdatasync),	/* FSYNC, FSYNCDIR: a real sync on the host */
	ANY(syncfs),			/* SYNCFS */
	ANY(close),			/* FORGET, RELEASE */
	ANY(futex),			/* the device and table locks */
	ANY(write),			/* the irqfd: an interrupt; a warning to stderr */
	ANY(writev),			/* musl's stderr */
	ANY(setfsuid), ANY(setfsgid),	/* a root capsa's :rw share served as its owner */
	ANY(clock_gettime),		/* --verbose timestamps */
};

/* A vCPU thread: KVM_RUN and the exits it serves (PIO, MMIO, device resets). */
static const struct allow vcpu_allow[] = {
	ONE_OF(ioctl, 1, vcpu_ioctls),
	ANY(write),			/* irqfd and end eventfds; kernel log to stderr */
	ANY(futex),			/* device locks */
	MASKED(mmap, 2, PROT_EXEC, 0),	/* musl's allocator, should a path need it */
	ANY(munmap), ANY(madvise), ANY(brk),
	ANY(clock_gettime),		/* --verbose timestamps */
	ANY(rt_sigprocmask),		/* musl, when the thread ends */
	ANY(exit),
	ANY(restart_syscall),
	ANY(gettid),			/* notes its id for the state dump's kick */
	ANY(rt_sigreturn),		/* the end of that kick's (empty) handler */
};

static struct sock_fprog vmm_prog, vcpu_prog, fs_prog, wide_prog;
static bool vcpu_armed;		/* stage 6 loaded the VMM (or the wide) program */
static bool wide_armed;		/* stage 6 loaded the wide program: jail_narrow() to do */
static bool fs_armed;		/* ... and the share threads stack the fs program */

static uint32_t
default_action(void)
{
#ifdef CAPSA_TEST_HOOKS
	/* Test builds: log what would have killed capsa, and go on. */
	const char *v = getenv("CAPSA_TEST_SECCOMP");

	if (v && !strcmp(v, "log"))
		return SCMP_ACT_LOG;
#endif
	return SCMP_ACT_KILL_PROCESS;
}

static int
add_rule(scmp_filter_ctx ctx, const struct allow *a)
{
	struct scmp_arg_cmp c = { (unsigned)a->arg, SCMP_CMP_MASKED_EQ, a->mask, a->eq };
	int err = 0;

	if (a->arg < 0)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->nr, 0);
	if (!a->nvals)
		return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, a->nr, 1, &c);
	for (unsigned i = 0; i < a->nvals && !err; i++) {
		c.datum_a = 0xffffffffUL;
		c.datum_b = a->vals[i] & 0xffffffffUL;
		err = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, a->nr, 1, &c);
	}
	return err;
}

/* The program libseccomp wrote to @fd, read back into memory. */
static int
read_prog(int fd, struct sock_fprog *prog)
{
	off_t size = lseek(fd, 0, SEEK_END);
	struct sock_filter *f;

	if (size <= 0 || size % sizeof(*f) || size / sizeof(*f) > BPF_MAXINSNS)
		return -EINVAL;
	f = malloc((size_t)size);
	if (!f)
		return -ENOMEM;
	if (pread(fd, f, (size_t)size, 0) != size) {
		free(f);
		return -EIO;
	}
	prog->len = (unsigned short)(size / sizeof(*f));
	prog->filter = f;
	return 0;
}

/* Whether @list (of @n) allows syscall @nr already, in any way. */
static bool
listed(const struct allow *list, size_t n, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].nr == nr)
			return true;
	return false;
}

/**
 * filter_compile() - have libseccomp generate the program for an allowlist.
 * @list:  the allowed syscalls.
 * @n:     how many.
 * @more:  more of them, those not in @list already (or NULL).
 * @nmore: how many.
 * @prog:  the BPF program, allocated.
 *
 * Return: 0 or -errno.
 */
int
filter_compile(const struct allow *list, size_t n, const struct allow *more, size_t nmore,
      struct sock_fprog *prog)
{
	scmp_filter_ctx ctx = seccomp_init(default_action());
	int fd = -1, err;

	if (!ctx)
		return -EINVAL;
	/* capsa sets no_new_privs itself (stage 3); libseccomp must not prctl. */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (size_t i = 0; i < n && !err; i++)
		err = add_rule(ctx, &list[i]);
	for (size_t i = 0; i < nmore && !err; i++)
		if (!listed(list, n, more[i].nr))
			err = add_rule(ctx, &more[i]);
	if (!err && (fd = memfd_create("capsa-seccomp", MFD_CLOEXEC)) < 0)
		err = -errno;
	if (!err)
		err = seccomp_export_bpf(ctx, fd);
	if (!err)
		err = read_prog(fd, prog);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return err;
}

/**
 * filter_build() - generate both programs; before any stage.
 *
 * Before the filesystem and rlimits stages: libseccomp exports through a
 * memfd, which RLIMIT_FSIZE 0 would forbid writing.
 *
 * Return: 0 or -errno.
 */
int
filter_build(void)
{
	int err = 0;

	own_tgid[0] = (unsigned long)getpid();
	if (!vmm_prog.filter)
		err = filter_compile(vmm_allow, ARRAY_SIZE(vmm_allow), NULL, 0, &vmm_prog);
	if (!err && !vcpu_prog.filter)
		err = filter_compile(vcpu_allow, ARRAY_SIZE(vcpu_allow), NULL, 0, &vcpu_prog);
	if (!err && !fs_prog.filter)
		err = filter_compile(fs_allow, ARRAY_SIZE(fs_allow), NULL, 0, &fs_prog);
	if (!err && !wide_prog.filter)
		err = filter_compile(vmm_allow, ARRAY_SIZE(vmm_allow), fs_allow, ARRAY_SIZE(fs_allow), &wide_prog);
	return err;
}

static const struct allow *
list_of(enum filter_kind k, unsigned *n)
{
	static const struct { const struct allow *list; unsigned n; } lists[FILTER_KINDS] = {
		[FILTER_VMM] = { vmm_allow, ARRAY_SIZE(vmm_allow) },
		[FILTER_VCPU] = { vcpu_allow, ARRAY_SIZE(vcpu_allow) },
		[FILTER_FS] = { fs_allow, ARRAY_SIZE(fs_allow) },
	};

	*n = lists[k].n;
	return lists[k].list;
}

/**
 * filter_count() - how many syscalls a filter allows.
 */
unsigned
filter_count(enum filter_kind k)
{
	unsigned n;

	list_of(k, &n);
	return n;
}

/**
 * filter_names() - the syscalls a filter allows, space separated.
 * @k:   which filter.
 * @buf: filled, truncated to fit.
 * @len: its size.
 */
void
filter_names(enum filter_kind k, char *buf, size_t len)
{
	unsigned n;
	const struct allow *list = list_of(k, &n);
	size_t used = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < n && used < len; i++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, list[i].nr);
		int w = snprintf(buf + used, len - used, "%s%s%s", i ? " " : "",
				 name ? name : "?", list[i].arg >= 0 ? "*" : "");

		free(name);
		used += w > 0 ? (size_t)w : 0;
	}
}

/**
 * stage_seccomp() - load the VMM filter (with shares, the wide one) on the
 * calling (main) thread.
 *
 * Return: 0 or -errno.
 */
int
stage_seccomp(struct jail_run *run, char *detail, size_t len)
{
	bool wide = run->j->fs_threads;

	if (run->filter_err)
		return jail_detail(detail, len, run->filter_err, "libseccomp: %s",
				   strerror(-run->filter_err));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, wide ? &wide_prog : &vmm_prog) < 0)
		return jail_detail(detail, len, -errno, "seccomp: %s", strerror(errno));
	vcpu_armed = true;
	wide_armed = fs_armed = wide;
	if (wide)
		return jail_detail(detail, len, 0, "vmm filter %u syscalls, vcpu filter %u, share "
				   "threads' filter %u; anything else kills capsa",
				   filter_count(FILTER_VMM), filter_count(FILTER_VCPU),
				   filter_count(FILTER_FS));
	return jail_detail(detail, len, 0, "vmm filter %u syscalls, vcpu filter %u; "
			   "anything else kills capsa", filter_count(FILTER_VMM),
			   filter_count(FILTER_VCPU));
}

/**
 * jail_narrow() - after the share threads started: the main thread drops
 * their file syscalls (stacks the VMM filter on the wide one).
 *
 * A no-op without shares, or when stage 6 did not apply.
 *
 * Return: 0 or -errno.
 */
int
jail_narrow(void)
{
	if (!wide_armed)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &vmm_prog) < 0)
		return -errno;
	wide_armed = false;
	return jail_test_escape("vmm");
}

/**
 * jail_fs_thread() - a thread serving a share narrows itself to the fs
 * filter, before its first request. No allocation here either.
 *
 * Return: 0 or -errno.
 */
int
jail_fs_thread(void)
{
	if (fs_armed && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fs_prog) < 0)
		return -errno;
	return 0;
}

/**
 * jail_vcpu() - a vCPU thread narrows itself before its first KVM_RUN.
 * @cpu: the thread's vCPU.
 *
 * Only when stage 6 loaded the VMM filter; the thread may not allocate
 * here (the program was generated before the jail).
 *
 * Return: 0 or -errno.
 */
int
jail_vcpu(struct vcpu *cpu)
{
	if (vcpu_armed && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &vcpu_prog) < 0)
		return -errno;
	return cpu->id == 0 ? jail_test_escape("vcpu") : 0;
}
