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
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/payload.h"
#include "guest/proto.h"
#include "jail/jail.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"
#include "vmm/hostnet.h"
#include "vmm/loop.h"
#include "vmm/options.h"
#include "vmm/serial.h"
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

extern const char guest_kernel[], guest_kernel_end[];
extern const char guest_initrd[], guest_initrd_end[];

struct session {
	struct capsa_config cfg;
	struct vm vm;
	struct loop loop;
	struct serial serial;
	struct vsock_dev *vsock;
	struct net_dev *net;		/* --net, or NULL */
	struct tap tap;
	struct hostnet hostnet;		/* --vsock, --net user, -p */
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
	bool kill_armed;		/* --kill-after runs since a signal */
	double t0;
	struct ev end_ev, ctl_ev, sig_ev, boot_ev, timeout_ev, kill_ev;
};

/* Signals capsa handles through its signalfd; the first four are forwarded. */
static const int loop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH };

/* ---- host stdio ------------------------------------------------------- */

/* fds 0-2 must exist, or the first files capsa opens would take their place. */
static void
ensure_stdio(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			die("cannot open /dev/null for closed fd %d", fd);
}

/* Shared open file descriptions capsa made non-blocking, to undo at exit. */
static struct { int fd, flags; } shared_fl[3];
static unsigned n_shared_fl;

static void
restore_shared_flags(void)
{
	for (unsigned i = 0; i < n_shared_fl; i++)
		fcntl(shared_fl[i].fd, F_SETFL, shared_fl[i].flags);
}

/*
 * A private non-blocking descriptor for one of our stdio fds. Pipes and
 * terminals are reopened through /proc, which gives a new open file
 * description: setting O_NONBLOCK on the shared one would change it for
 * the shell that started us too. Regular files stay as they are (they are
 * always ready, and epoll refuses them). Sockets cannot be reopened: their
 * shared description goes non-blocking until capsa exits.
 */
static int
stdio_fd(int fd, int flags)
{
	char path[32];
	struct stat st;
	int nfd;

	if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd >= 0)
		return nfd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	flags = fcntl(fd, F_GETFL);
	if (nfd < 0 || flags < 0 || (flags & O_NONBLOCK))
		return nfd;
	if (!n_shared_fl)
		atexit(restore_shared_flags);
	shared_fl[n_shared_fl].fd = nfd;
	shared_fl[n_shared_fl++].flags = flags;
	fcntl(nfd, F_SETFL, flags | O_NONBLOCK);
	return nfd;
}

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

/* Every device placed is declared to the guest kernel, in order. */
static void
build_cmdline(const struct session *s, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "console=ttyS0 8250.nr_uarts=1 reboot=k panic=-1 %s "
			 "tsc=reliable no_timer_check nomodule rdinit=/init",
			 s->cfg.verbose ? "loglevel=7" : "quiet loglevel=1");

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

/*
 * Open a --disk or --rootfs image, first of all, so that a bad one costs
 * one clear line and no VM. A shared lock to read, an exclusive one to
 * write: two capsas never write to the same image.
 */
static void
open_disk(struct session *s, const char *opt, const struct disk_spec *d)
{
	int fd = open(d->path, (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		die("--%s %s: %s", opt, d->path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		die("--%s %s: is a directory, not a disk image", opt, d->path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		die("--%s %s: not a regular file or block device", opt, d->path);
	if (S_ISREG(st.st_mode) && st.st_size % BLK_SECTOR)
		die("--%s %s: size %lld bytes is not a multiple of %d", opt, d->path,
		    (long long)st.st_size, BLK_SECTOR);
	if (flock(fd, (d->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		die("--%s %s: in use by another process (%s)", opt, d->path, strerror(errno));
	s->disk_ro[s->ndisks] = d->ro;
	s->disk_fd[s->ndisks++] = fd;
}

static void
open_disks(struct session *s)
{
	if (s->cfg.rootfs.path)
		open_disk(s, "rootfs", &s->cfg.rootfs);
	for (unsigned i = 0; i < s->cfg.ndisks; i++)
		open_disk(s, "disk", &s->cfg.disks[i]);
}

/* The disks as virtio-blk devices 1, 2 ...: /dev/vda, vdb ... in the guest. */
static void
attach_disks(struct session *s)
{
	for (unsigned i = 0; i < s->ndisks; i++) {
		uint64_t base;
		unsigned irq;

		place_device(s, &base, &irq);
		if (!blk_create(&s->vm, &s->loop, base, irq, s->disk_fd[i], s->disk_ro[i]))
			die("cannot create disk %u: %s", i, strerror(errno));
	}
}

static void
build_vm(struct session *s)
{
	char err[512];
	uint64_t base;
	unsigned irq;

	open_disks(s);
	if (hostnet_open(&s->cfg, &s->hostnet, err, sizeof(err)) < 0)
		die("%s", err);
	if (vm_create(&s->vm, s->cfg.memory_mib * MIB, s->cfg.cpus) < 0)
		die("%s", s->vm.end_msg);
	if (serial_init(&s->serial, &s->vm, s->cfg.verbose ? STDERR_FILENO : -1) < 0 ||
	    i8042_init(&s->vm) < 0 || loop_init(&s->loop) < 0)
		die("cannot set up devices: %s", strerror(errno));
	place_device(s, &base, &irq);
	s->vsock = vsock_create(&s->vm, &s->loop, base, irq, s->cfg.cid);
	if (!s->vsock)
		die("cannot create the vsock device: %s", strerror(errno));
	if (hostnet_attach(&s->cfg, &s->hostnet, s->vsock, err, sizeof(err)) < 0)
		die("%s", err);
	attach_disks(s);
	setup_net(s);
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
	log_warn("the command did not end %llu s after the signal; stopping the VM",
		 (unsigned long long)s->cfg.kill_after_s);
	force_end(s, 128 + SIGKILL);
}

static int arm_timer(struct ev *ev, uint64_t seconds);

/*
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT go to the command. A second SIGINT
 * or SIGTERM means the user really wants out, and --kill-after bounds how
 * long the command may take to obey: either way the VM is stopped.
 * SIGWINCH carries the new terminal size to the guest's pty.
 */
static void
on_signal(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;
	struct signalfd_siginfo si;
	int sig;

	(void)events;
	while (read(ev->fd, &si, sizeof(si)) == sizeof(si)) {
		sig = (int)si.ssi_signo;
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
		if (s->cfg.kill_after_s && !s->kill_armed) {
			s->kill_armed = true;
			arm_timer(&s->kill_ev, s->cfg.kill_after_s);
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

static void
on_boot_deadline(struct ev *ev, uint32_t events)
{
	struct session *s = ev->opaque;

	(void)events;
	vm_stop(&s->vm, VM_FAILED, "the guest did not boot within %d s", BOOT_DEADLINE_S);
}

/*
 * A timer on the loop, created now (the jail forbids making fds later) and
 * armed with arm_timer() when, and if, it is needed.
 */
static int
add_timer(struct session *s, struct ev *ev, ev_fn fn)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	return loop_add(&s->loop, ev, EV_TIMER, fd, EPOLLIN, fn, s);
}

static int
arm_timer(struct ev *ev, uint64_t seconds)
{
	struct itimerspec t = { .it_value = { .tv_sec = (time_t)seconds } };

	return timerfd_settime(ev->fd, 0, &t, NULL) < 0 ? -errno : 0;
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
	    add_timer(s, &s->boot_ev, on_boot_deadline) < 0 ||
	    arm_timer(&s->boot_ev, BOOT_DEADLINE_S) < 0 ||
	    add_timer(s, &s->timeout_ev, on_timeout) < 0 ||
	    (s->cfg.timeout_s && arm_timer(&s->timeout_ev, s->cfg.timeout_s) < 0) ||
	    add_timer(s, &s->kill_ev, on_kill_after) < 0)
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

/*
 * The command gets a terminal when capsa has one on stdin and stdout (or
 * with -t). Then the host terminal goes raw until capsa exits: keys,
 * Ctrl-C included, are bytes for the guest's pty.
 */
static void
setup_tty(struct session *s)
{
	bool have = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	s->tty = s->cfg.tty == TTY_FORCE || (s->cfg.tty == TTY_AUTO && have);
	if (!s->tty)
		return;
	if (!term_size(&s->rows, &s->cols)) {
		s->rows = 24;
		s->cols = 80;
	}
	if (isatty(STDIN_FILENO) && term_raw(STDIN_FILENO) < 0)
		die("cannot put the terminal in raw mode: %s", strerror(errno));
}

/* ---- the end ----------------------------------------------------------- */

static void
report_net(struct session *s)
{
	struct net_stats st;

	if (!s->net)
		return;
	net_get_stats(s->net, &st);
	log_info("eth0: received %llu frames (%llu bytes), dropped %llu; sent %llu (%llu bytes), "
		 "dropped %llu malformed, %llu refused by the tap; %llu unusable receive buffers; "
		 "kicks %llu rx, %llu tx; %llu interrupts",
		 (unsigned long long)st.rx_frames, (unsigned long long)st.rx_bytes,
		 (unsigned long long)st.rx_dropped, (unsigned long long)st.tx_frames,
		 (unsigned long long)st.tx_bytes, (unsigned long long)st.tx_dropped,
		 (unsigned long long)st.tx_errors, (unsigned long long)st.bad_buffers,
		 (unsigned long long)st.kicks[0], (unsigned long long)st.kicks[1],
		 (unsigned long long)st.interrupts);
}

static int
finish(struct session *s)
{
	char tail[SERIAL_TAIL], broken[128];
	int why = atomic_load(&s->vm.end);

	if (s->status < 0)
		on_control(&s->ctl_ev, 0);	/* a status may be waiting unread */
	vsock_flush(s->vsock, FLUSH_MS);
	report_net(s);
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
		serial_tail(&s->serial, tail, sizeof(tail));
		if (tail[0])
			fprintf(stderr, "capsa: last guest kernel messages (--verbose shows all):\n%s", tail);
	}
	return EXIT_CAPSA;
}

int
main(int argc, char **argv)
{
	static struct session s = { .status = -1 };
	char err[512];

	s.t0 = now_ms();
	ensure_stdio();
	if (options_parse(&s.cfg, argc, argv, err, sizeof(err)) < 0)
		die("%s", err);
	if (s.cfg.action == ACT_HELP) {
		options_usage();
		return 0;
	}
	if (s.cfg.action == ACT_VERSION) {
		printf("capsa %s\n", CAPSA_VERSION);
		return 0;
	}
	log_verbose = s.cfg.verbose;
	if (s.cfg.action == ACT_CHECK)
		return jail_check(&s.cfg.jail);
	block_signals();
	setup_tty(&s);
	build_vm(&s);
	watch_events(&s);
	/* Everything is open: confine capsa before any guest code runs. */
	s.cfg.jail.keep_net = s.net != NULL;
	if (jail_apply(&s.cfg.jail, NULL, err, sizeof(err)) < 0)
		die("%s", err);
	s.vm.vcpu_init = jail_vcpu;
	if (vm_start(&s.vm) < 0)
		die("%s", s.vm.end_msg);
	if (loop_run(&s.loop) < 0)
		die("event loop: %s", strerror(errno));
	return finish(&s);
}
