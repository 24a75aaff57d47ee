// SPDX-License-Identifier: MIT
/*
 * capsa.c - run one command inside a KVM micro-VM and exit with its status.
 *
 * The order matters: parse, build the VM and open every host resource,
 * then (jail), then start the vCPUs and serve the guest from one event loop
 * until its init reports the command's exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/payload.h"
#include "vmm/exec_client.h"
#include "guest/proto.h"
#include "jail/jail.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"
#include "vmm/broker.h"
#include "vmm/hostnet.h"
#include "vmm/loop.h"
#include "vmm/disk.h"
#include "vmm/klog.h"
#include "vmm/options.h"
#include "vmm/serial.h"
#include "vmm/shares.h"
#include "vmm/stdio.h"
#include "vmm/tap.h"
#include "vmm/term.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#ifndef CAPSA_VERSION
#define CAPSA_VERSION "dev"
#endif

/*
 * virtio-mmio device n (vsock, the disks, net): window and IOAPIC pin. The
 * pins below FIRST_IRQ are the PC's (timer, keyboard, cascade, serial).
 */
#define FIRST_IRQ	5
#define DEV_BASE(n)	(MEM_HOLE_START + (uint64_t)(n) * VIRTIO_MMIO_SIZE)
#define DEV_IRQ(n)	(FIRST_IRQ + (n))
#define MAX_DEVS	(IOAPIC_PINS - FIRST_IRQ)
#define BOOT_DEADLINE_S	30
#define FLUSH_MS	5000
_Static_assert(VIRTIO_REASSERT_MS % 1000 == 0, "the reassert timer counts seconds");

extern const char guest_kernel[], guest_kernel_end[];
extern const char guest_initrd[], guest_initrd_end[];

struct session {
	struct capsa_config cfg;
	struct vm vm;
	struct loop loop;
	struct klog klog;		/* the guest kernel's, from either console */
	struct serial serial;
	struct console_dev *console;	/* hvc0, with --verbose */
	struct vsock_dev *vsock;
	struct vsock_exec *exec;	/* --control, or NULL */
	struct net_dev *net;		/* --net, or NULL */
	struct tap tap;
	struct shares shares;		/* --share, --rootfs DIR */
	unsigned ndevs;			/* virtio-mmio devices, see DEV_BASE */
	int disk_fd[MAX_DISKS + 1];	/* the rootfs first, then each --disk */
	bool disk_ro[MAX_DISKS + 1];
	unsigned ndisks;
	int ctl_fd;			/* our end of the control stream */
	int status;			/* the command's, once reported; else -1 */
	bool ready;			/* the guest init reported in */
	bool tty;			/* the command has a terminal */
	unsigned rows, cols;
	unsigned interrupts;		/* SIGINT/SIGTERM received */
	int kill_sig;			/* the signal --kill-after runs since, or 0 */
	double t0;
	struct ev end_ev, ctl_ev, sig_ev, boot_ev, timeout_ev, kill_ev, irq_ev;
};

/*
 * Signals capsa handles through its signalfd: the first four are forwarded,
 * SIGWINCH is the terminal's new size, SIGUSR1 asks for the state dump.
 */
static const int loop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1 };

/* ---- guest setup ------------------------------------------------------- */

/* The next virtio-mmio slot: its window and its interrupt pin. */
static void
place_device(struct session *s, uint64_t *base, unsigned *irq)
{
	if (s->ndevs == MAX_DEVS)
		die("too many devices (at most %d)", MAX_DEVS);
	*base = DEV_BASE(s->ndevs);
	*irq = DEV_IRQ(s->ndevs);
	s->ndevs++;
}

/*
 * Every device placed is declared to the guest kernel, in order. Without
 * --verbose the kernel prints only a panic, on the 8250; with it, its
 * whole log goes to virtio-console's hvc0 (see virtio/console.c).
 */
static void
build_cmdline(const struct session *s, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "%s 8250.nr_uarts=1 reboot=k panic=-1 "
			 "tsc=reliable no_timer_check nomodule rdinit=/init",
			 s->cfg.verbose ? "console=hvc0 loglevel=7" : "console=ttyS0 quiet loglevel=1");

	for (unsigned i = 0; i < s->ndevs && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, " virtio_mmio.device=4K@%#llx:%u",
			      (unsigned long long)DEV_BASE(i), DEV_IRQ(i));
}

/*
 * The embedded kernel and initramfs are in guest memory now: give back the
 * pages of the binary that held them (a clean file mapping, read again from
 * the file should anything touch it), so they do not count twice in capsa's
 * memory.
 */
static void
drop_embedded(const char *start, const char *end)
{
	uint64_t a = ALIGN_UP((uintptr_t)start, 4096), b = ALIGN_DOWN((uintptr_t)end, 4096);

	if (b > a)
		(void)madvise((void *)(uintptr_t)a, b - a, MADV_DONTNEED);
}

static void
load_guest(struct session *s)
{
	struct boot_info bi;
	struct cpio run = { 0 };
	char cmdline[BOOT_CMDLINE_MAX], err[512];
	int e;

	build_cmdline(s, cmdline, sizeof(cmdline));
	if (payload_build(&s->cfg, s->tty, s->rows, s->cols, &run, err, sizeof(err)) < 0)
		die("%s", err);
	struct boot_blob initrd[] = {
		{ guest_initrd, (size_t)(guest_initrd_end - guest_initrd) },
		{ run.buf, run.len },
	};
	e = boot_load_kernel(&s->vm.mem, guest_kernel, (size_t)(guest_kernel_end - guest_kernel),
			     cmdline, initrd, ARRAY_SIZE(initrd), &bi);
	if (e == -ENOMEM)
		die("the guest kernel and copied files do not fit in %llu MiB (see --memory)",
		    (unsigned long long)s->cfg.memory_mib);
	if (e)
		die("cannot load the guest kernel: %s", strerror(-e));
	free(run.buf);
	drop_embedded(guest_kernel, guest_kernel_end);
	drop_embedded(guest_initrd, guest_initrd_end);
	if (boot_write_mptable(&s->vm.mem, s->cfg.cpus) < 0 ||
	    vm_boot_cpu(&s->vm, bi.entry, bi.params) < 0)
		die("cannot set up the boot CPU: %s", s->vm.end_msg);
}

static void
expose_stdio(struct session *s)
{
	int ctl[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ctl) < 0)
		die("socketpair: %s", strerror(errno));
	s->ctl_fd = ctl[1];
	if (vsock_expose(s->vsock, PORT_CONTROL, ctl[0], ctl[0]) < 0 ||
	    vsock_expose(s->vsock, PORT_STDIN, stdio_fd(0, O_RDONLY), -1) < 0 ||
	    vsock_expose(s->vsock, PORT_STDOUT, -1, stdio_fd(1, O_WRONLY)) < 0 ||
	    vsock_expose(s->vsock, PORT_STDERR, -1, stdio_fd(2, O_WRONLY)) < 0)
		die("cannot set up the guest's stdio");
}

static void
socket_failed(const char *opt, const char *path, int e)
{
	if (e == -EEXIST)
		die("--%s %s: already exists (capsa creates the socket)", opt, path);
	if (e)
		die("--%s %s: %s", opt, path, strerror(-e));
}

/*
 * --vsock and --control: the sockets first, then the broker that removes
 * them and serves --net user (vmm/hostnet.c), then -p's listeners.
 */
static void
open_sockets(struct session *s)
{
	char err[256];
	int e = 0;

	if (s->cfg.vsock_path)
		socket_failed("vsock", s->cfg.vsock_path, vsock_bridge(s->vsock, s->cfg.vsock_path));
	if (s->cfg.control_path && !(s->exec = vsock_exec_listen(s->vsock, s->cfg.control_path, &e)))
		socket_failed("control", s->cfg.control_path, e);
	if (hostnet_open(&s->cfg, err, sizeof(err)) < 0)
		die("%s", err);
	e = broker_start();
	if (e)
		die("cannot start the socket helper: %s", strerror(-e));
	if (hostnet_attach(&s->cfg, s->vsock, err, sizeof(err)) < 0)
		die("%s", err);
}

/*
 * --net tap:NAME. Opened after the vsock broker is forked, so that no other
 * process holds the tap: one capsa created vanishes when capsa exits.
 */
static void
setup_net(struct session *s)
{
	char err[256];
	uint8_t mac[6];
	uint64_t base;
	unsigned irq;

	if (!s->cfg.net_tap)
		return;
	if (tap_open(&s->tap, s->cfg.net_tap, err, sizeof(err)) < 0)
		die("%s", err);
	if (s->cfg.mac_set)
		memcpy(mac, s->cfg.mac, sizeof(mac));
	else
		net_random_mac(mac);
	place_device(s, &base, &irq);
	s->net = net_create(&s->vm, &s->loop, base, irq, s->tap.fd, s->tap.offload, mac);
	if (!s->net)
		die("cannot create the network device: %s", strerror(errno));
	log_info("eth0 on tap %s (%s, offloads %s), MAC %02x:%02x:%02x:%02x:%02x:%02x",
		 s->tap.name, s->tap.created ? "created, removed at exit" : "existing",
		 s->tap.offload ? "on" : "off", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* ---- disks ------------------------------------------------------------- */

static void
open_disks(struct session *s)
{
	char err[512];

	for (unsigned i = 0; i <= s->cfg.ndisks; i++) {
		const struct disk_spec *d = i ? &s->cfg.disks[i - 1] : &s->cfg.rootfs;

		if (!d->path || (!i && s->cfg.rootfs_dir))
			continue;
		s->disk_ro[s->ndisks] = d->ro;
		s->disk_fd[s->ndisks] = disk_open(i ? "disk" : "rootfs", d, err, sizeof(err));
		if (s->disk_fd[s->ndisks++] < 0)
			die("%s", err);
	}
}

/* The disks as virtio-blk devices 1, 2 ...: /dev/vda, vdb ... in the guest; then the shares. */
static void
attach_disks(struct session *s)
{
	uint64_t base;
	unsigned irq;

	for (unsigned i = 0; i < s->ndisks; i++) {
		place_device(s, &base, &irq);
		if (!blk_create(&s->vm, &s->loop, base, irq, s->disk_fd[i], s->disk_ro[i]))
			die("cannot create disk %u: %s", i, strerror(errno));
	}
	for (unsigned i = 0; i < s->shares.n; i++) {
		place_device(s, &base, &irq);
		if (shares_attach(&s->shares, i, &s->vm, &s->loop, base, irq) < 0)
			die("cannot create the virtio-fs device of %s: %s", s->cfg.shares[i].host,
			    strerror(errno));
	}
}

static void
build_vm(struct session *s)
{
	char err[512];
	uint64_t base;
	unsigned irq;

	if (shares_open(&s->shares, &s->cfg, err, sizeof(err)) < 0)
		die("%s", err);
	open_disks(s);
	if (vm_create(&s->vm, s->cfg.memory_mib * MIB, s->cfg.cpus) < 0)
		die("%s", s->vm.end_msg);
	klog_init(&s->klog, &s->vm, s->cfg.verbose ? STDERR_FILENO : -1);
	if (serial_init(&s->serial, &s->vm, &s->klog) < 0 ||
	    i8042_init(&s->vm) < 0 || loop_init(&s->loop) < 0)
		die("cannot set up devices: %s", strerror(errno));
	place_device(s, &base, &irq);
	s->vsock = vsock_create(&s->vm, &s->loop, base, irq, s->cfg.cid);
	if (!s->vsock)
		die("cannot create the vsock device: %s", strerror(errno));
	open_sockets(s);
	attach_disks(s);
	setup_net(s);
	if (s->cfg.verbose) {
		place_device(s, &base, &irq);
		s->console = console_create(&s->vm, base, irq, &s->klog);
		if (!s->console)
			die("cannot create the console device: %s", strerror(errno));
	}
	expose_stdio(s);
	load_guest(s);
	log_info("VM built: %u vCPU, %llu MiB (%.1f ms)", s->cfg.cpus,
		 (unsigned long long)s->cfg.memory_mib, now_ms() - s->t0);
}

/* ---- event handlers ---------------------------------------------------- */

static void
send_ctl(struct session *s, uint32_t type, int32_t value)
{
	struct capsa_msg m = { type, value };

	(void)!write(s->ctl_fd, &m, sizeof(m));
}

static void
on_vm_end(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;

	(void)events;
	s->loop.done = true;
}

static void
on_control(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;
	struct capsa_msg m;

	(void)events;
	while (read(s->ctl_fd, &m, sizeof(m)) == sizeof(m)) {
		if (m.type == MSG_READY && !s->ready) {
			s->ready = true;
			log_info("guest init ready (%.1f ms)", now_ms() - s->t0);
			loop_del(&s->loop, &s->boot_ev);
			close(s->boot_ev.fd);
			vsock_exec_ready(s->exec);
		} else if (m.type == MSG_EXIT && m.value >= 0 && m.value <= 255) {
			s->status = m.value;
			s->loop.done = true;
			return;
		}
	}
}

static void
force_end(struct session *s, int status)
{
	s->status = status;
	s->loop.done = true;
}

static void
on_kill_after(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;

	(void)events;
	log_warn("the command did not end %llu s after %s (--kill-after); stopping the VM",
		 (unsigned long long)s->cfg.kill_after_s, s->kill_sig == SIGTERM ? "SIGTERM" : s->kill_sig == SIGINT ? "SIGINT" :
		 s->kill_sig == SIGHUP ? "SIGHUP" : "SIGQUIT");
	force_end(s, 128 + SIGKILL);
}

/*
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT go to the command. A second SIGINT
 * or SIGTERM means the user really wants out, and --kill-after (10 s by
 * default, as docker stop waits) bounds how long the command may take to
 * obey, so a supervisor's one SIGTERM ends capsa even when the guest
 * cannot act on it: either way the VM is stopped. SIGWINCH carries the new
 * terminal size to the guest's pty.
 */
static void dump_state(struct session *s);

static void
on_signal(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;
	struct signalfd_siginfo si;
	int sig;

	(void)events;
	while (read(ev->fd, &si, sizeof(si)) == sizeof(si)) {
		sig = (int)si.ssi_signo;
		if (sig == SIGUSR1) {
			dump_state(s);
			continue;
		}
		if (sig == SIGWINCH) {
			if (s->tty && term_size(&s->rows, &s->cols))
				send_ctl(s, MSG_WINSIZE, (int32_t)(s->rows << 16 | s->cols));
			continue;
		}
		if ((sig == SIGINT || sig == SIGTERM) && ++s->interrupts > 1) {
			force_end(s, 128 + sig);
			return;
		}
		send_ctl(s, MSG_SIGNAL, sig);
		if (s->cfg.kill_after_s && !s->kill_sig) {
			s->kill_sig = sig;
			loop_arm_timer(&s->kill_ev, s->cfg.kill_after_s, false);
		}
	}
}

static void
on_timeout(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;

	(void)events;
	log_info("--timeout %llu s expired", (unsigned long long)s->cfg.timeout_s);
	force_end(s, EXIT_TIMEOUT);
}

/* Every VIRTIO_REASSERT_MS: interrupts the guest never took go out again. */
static void
on_irq_check(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;
	uint64_t n;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	virtio_reassert(&s->vm);
}

static void
on_boot_deadline(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;
	uint64_t n;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));	/* once: the loop runs until the vCPUs stop */
	dump_state(s);	/* where each vCPU is stuck: the only clue a bug report can carry */
	vm_stop(&s->vm, VM_FAILED, "the guest did not boot within %d s", BOOT_DEADLINE_S);
}

static void
watch_events(struct session *s)
{
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	for (unsigned i = 0; i < ARRAY_SIZE(loop_signals); i++)
		sigaddset(&set, loop_signals[i]);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 ||
	    loop_add(&s->loop, &s->end_ev, EV_VM_END, s->vm.end_fd, EPOLLIN, on_vm_end, s) < 0 ||
	    loop_add(&s->loop, &s->ctl_ev, EV_CONTROL, s->ctl_fd, EPOLLIN, on_control, s) < 0 ||
	    loop_add(&s->loop, &s->sig_ev, EV_SIGNAL, sfd, EPOLLIN, on_signal, s) < 0 ||
	    loop_add_timer(&s->loop, &s->boot_ev, on_boot_deadline, s) < 0 ||
	    loop_arm_timer(&s->boot_ev, BOOT_DEADLINE_S, false) < 0 ||
	    loop_add_timer(&s->loop, &s->timeout_ev, on_timeout, s) < 0 ||
	    (s->cfg.timeout_s && loop_arm_timer(&s->timeout_ev, s->cfg.timeout_s, false) < 0) ||
	    loop_add_timer(&s->loop, &s->kill_ev, on_kill_after, s) < 0 ||
	    loop_add_timer(&s->loop, &s->irq_ev, on_irq_check, s) < 0 ||
	    loop_arm_timer(&s->irq_ev, VIRTIO_REASSERT_MS / 1000, true) < 0)
		die("cannot set up the event loop: %s", strerror(errno));
}

/*
 * Signals meant for the command are blocked in every thread (vCPU threads
 * inherit the mask) and read from a signalfd by the loop. SIGPIPE is
 * ignored: a closed stdout shows up as EPIPE and is passed to the guest.
 */
static void
block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (unsigned i = 0; i < ARRAY_SIZE(loop_signals); i++)
		sigaddset(&set, loop_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- the end ----------------------------------------------------------- */

/* SIGUSR1: what each part waits for, to tell a lost interrupt from a dead guest. */
static void
dump_state(struct session *s)
{
	log_state("%s, %.1f s since start, command status %s", s->ready ? "guest init ready" :
		  "guest init not ready", (now_ms() - s->t0) / 1000, s->status < 0 ? "not reported" : "reported");
	vm_dump(&s->vm, FIRST_IRQ, s->ndevs);
	virtio_dump(&s->vm);
}

static int
finish(struct session *s)
{
	char tail[KLOG_TAIL], broken[128];
	int why = atomic_load(&s->vm.end);

	if (s->status < 0)
		on_control(&s->ctl_ev, 0);	/* a status may be waiting unread */
	vsock_flush(s->vsock, FLUSH_MS);
	if (s->net)
		net_log_stats(s->net);
	for (unsigned i = 0; i < s->vm.ncpus; i++)
		log_info("vcpu%u: %llu exits", i, (unsigned long long)atomic_load(&s->vm.vcpus[i].exits));
	if (s->status >= 0) {
		log_info("command exited with status %d (%.1f ms)", s->status, now_ms() - s->t0);
		return s->status;
	}
	virtio_broken(&s->vm, broken, sizeof(broken));
	if (why == VM_FAILED || why == VM_PANIC)
		log_warn("%s", s->vm.end_msg);
	else if (broken[0])
		log_warn("the guest stopped without reporting the command's exit status "
			 "(it broke %s)", broken);
	else
		log_warn("the guest stopped without reporting the command's exit status");
	if (!s->cfg.verbose) {
		klog_tail(&s->klog, tail, sizeof(tail));
		if (tail[0])
			fprintf(stderr, "capsa: last guest kernel messages (--verbose shows all):\n%s", tail);
	} else if (!console_up(s->console)) {
		log_warn("the guest kernel stopped before its console came up (without --verbose "
			 "capsa shows its last message)");
	}
	return EXIT_CAPSA;
}

int
main(int argc, char **argv)
{
	static struct session s = { .status = -1 };
	char err[512];
	int e;

	s.t0 = now_ms();
	if (stdio_ensure() < 0)
		die("cannot open /dev/null for a closed stdio fd: %s", strerror(errno));
	if (options_parse(&s.cfg, argc, argv, err, sizeof(err)) < 0)
		die("%s", err);
	if (s.cfg.action == ACT_HELP) {
		options_usage(s.cfg.exec);
		return 0;
	}
	if (s.cfg.action == ACT_VERSION) {
		printf("capsa %s\n", CAPSA_VERSION);
		return 0;
	}
	log_verbose = s.cfg.verbose;
	if (s.cfg.exec)
		return exec_main(&s.cfg);
	if (s.cfg.action == ACT_CHECK)
		return jail_check(&s.cfg.jail);
	block_signals();
	s.tty = term_setup(s.cfg.tty == TTY_FORCE, s.cfg.tty == TTY_AUTO, &s.rows, &s.cols);
	build_vm(&s);
	watch_events(&s);
	/* Everything is open: confine capsa before any guest code runs. */
	s.cfg.jail.keep_net = s.net != NULL;
	if (jail_apply(&s.cfg.jail, NULL, err, sizeof(err)) < 0)
		die("%s", err);
	if ((e = shares_start(&s.shares)) < 0 || (e = jail_narrow()) < 0)
		die("cannot start serving the shares: %s", strerror(-e));
	s.vm.vcpu_init = jail_vcpu;
	if (vm_start(&s.vm) < 0)
		die("%s", s.vm.end_msg);
	if (loop_run(&s.loop) < 0)
		die("event loop: %s", strerror(errno));
	return finish(&s);
}
