// SPDX-License-Identifier: MIT
/*
 * jail.c - capsa confines itself before any guest code runs.
 *
 * Theory of Operation
 * ===================
 *
 * The guest is untrusted. Hardware virtualization is the wall; the jail is
 * what a guest finds behind it if it ever exploits a bug in capsa's device
 * emulation: a process with no files, no privileges and almost no syscalls.
 * These layers are defense in depth, applied by capsa to itself.
 *
 * capsa is one process. Its main thread parses the command line, builds the
 * VM and opens every host resource the run needs: /dev/kvm, the VM and vCPU
 * fds, guest memory, eventfds, epoll, signalfd and timerfds, stdio, disks,
 * the tap, sockets. Then, still the only thread, it calls jail_apply(),
 * which applies the six stages below in order. Then it starts the vCPU
 * threads; each stacks the tighter vCPU filter on the one it inherited
 * (jail_vcpu()) before its first KVM_RUN, and the event loop runs.
 *
 * Why jail before the vCPU threads exist rather than start them blocked:
 * unshare(CLONE_NEWNS) refuses a process whose threads share its fs_struct,
 * and capabilities and no_new_privs belong to each thread, so a thread made
 * before the jail would escape most of it. A thread made after is born
 * inside. The price is in the VMM filter: it must allow making a thread
 * (clone with thread flags only, mmap/mprotect of its stack, musl's
 * membarrier registration), seccomp() so the thread can narrow itself, and
 * everything a vCPU thread needs, because stacked filters only narrow.
 *
 * Each stage is applied on its own: one that fails is skipped and reported
 * (with --verbose; `capsa --check` shows them all), and the next is tried.
 * --jail strict makes a skip fatal; --jail off applies nothing and warns.
 *
 * 0. Prepare (this file, filter.c)
 *    Should:   look at the open fds (for the rlimits), and have libseccomp
 *              generate both filters, while /proc and memfds still work
 *    Mustn't:  change anything
 *
 * 1. Namespaces (ns.c)
 *    Should:   unshare mount and IPC, and network unless a host network
 *              backend is attached (the VMM then needs no network at all);
 *              without the privilege for that, first enter a new user
 *              namespace that maps only capsa's own uid and gid (a root
 *              capsa there, e.g. in a container, maps its --user identity
 *              too, through a child forked before, for stage 4)
 *    Mustn't:  unshare PID (capsa would have to fork to enter it)
 *
 * 2. Filesystem (fs.c)
 *    Should:   make every mount private, turn each directory served to the
 *              guest into a detached mount of its own (".." stays inside),
 *              mount an empty tmpfs, pivot_root into it, detach the old
 *              root, remount the tmpfs read-only
 *    Mustn't:  run without a private mount namespace: it would change the
 *              host's mounts. Nothing opens a path after this stage.
 *
 * 3. No new privileges (creds.c)
 *    Should:   PR_SET_NO_NEW_PRIVS (seccomp needs it without privileges)
 *              and PR_SET_DUMPABLE 0 (no core file, no ptrace by the
 *              same user)
 *
 * 4. Capabilities (creds.c)
 *    Should:   drop the bounding set, ambient, inheritable, permitted and
 *              effective capabilities; when started as root, also switch
 *              to the --user identity (nobody by default) with no groups,
 *              keeping a :rw share's owner as the saved ids (setfsuid)
 *    Mustn't:  close an fd: open fds stay usable under any uid
 *
 * 5. Resource limits (creds.c)
 *    Should:   RLIMIT_NOFILE to the open fds plus JAIL_SPARE_FDS,
 *              RLIMIT_CORE 0, RLIMIT_FSIZE 0 when no fd writes a regular
 *              file
 *    Mustn't:  limit the file size when stdout is a file or a disk is
 *              writable: the limit applies to writes on open fds too;
 *              limit RLIMIT_NPROC: the vCPU threads come after
 *
 * 6. seccomp (filter.c)
 *    Should:   load the VMM filter on the main thread (with shares, the
 *              VMM filter plus the file syscalls, until the share threads
 *              exist and jail_narrow() stacks the VMM filter); every filter
 *              kills the whole process on anything it does not allow
 *    Mustn't:  allow execve, open/openat, ptrace, process_vm_*, mount,
 *              unshare, socket or connect (the vsock broker, outside the
 *              jail, connects for capsa), or an ioctl request
 *              capsa does not use; openat and the other file syscalls only
 *              on the threads that serve shares
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"
#include "../vmm/util.h"

typedef int (*stage_fn)(struct jail_run *run, char *detail, size_t len);

static const struct {
	const char *name;
	stage_fn apply;
} stages[JAIL_LAYERS] = {
	[JAIL_NAMESPACES]	= { "namespaces",	stage_namespaces },
	[JAIL_FILESYSTEM]	= { "filesystem",	stage_filesystem },
	[JAIL_NO_NEW_PRIVS]	= { "no-new-privs",	stage_no_new_privs },
	[JAIL_CAPABILITIES]	= { "capabilities",	stage_capabilities },
	[JAIL_RLIMITS]		= { "rlimits",		stage_rlimits },
	[JAIL_SECCOMP]		= { "seccomp",		stage_seccomp },
};

static const char *const mode_names[] = {
	[JAIL_BEST_EFFORT] = "best-effort", [JAIL_STRICT] = "strict", [JAIL_OFF] = "off",
};

/**
 * jail_detail() - describe a stage's result: what it did, or why it did not.
 * @detail: the stage's detail buffer.
 * @len:    its size.
 * @err:    0 when applied, else -errno.
 * @fmt:    printf format.
 *
 * Return: @err.
 */
int
jail_detail(char *detail, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, len, fmt, ap);
	va_end(ap);
	return err;
}

/**
 * jail_layer_name() - the name --verbose and --check use for a layer.
 */
const char *
jail_layer_name(enum jail_layer l)
{
	return l < JAIL_LAYERS ? stages[l].name : "?";
}

/**
 * jail_mode_name() - the --jail spelling of a mode.
 */
const char *
jail_mode_name(enum jail_mode m)
{
	return m <= JAIL_OFF ? mode_names[m] : "?";
}

/**
 * jail_set_mode() - parse --jail MODE.
 *
 * Return: 0 or -EINVAL.
 */
int
jail_set_mode(struct jail *j, const char *mode)
{
	for (unsigned m = 0; m < ARRAY_SIZE(mode_names); m++)
		if (!strcmp(mode, mode_names[m])) {
			j->mode = (enum jail_mode)m;
			return 0;
		}
	return -EINVAL;
}

/* Note the highest fd, and whether it writes a regular file or a disk. */
static void
note_fd(struct jail_run *run, int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fstat(fd, &st) < 0)
		return;
	run->max_fd = MAX(run->max_fd, fd);
	if ((S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) && (fl & O_ACCMODE) != O_RDONLY &&
	    !(fl & O_PATH))
		run->written_fd = fd;
}

static void
scan_fds(struct jail_run *run)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	run->max_fd = 2;
	run->written_fd = -1;
	if (!d) {
		for (int fd = 0; fd < 4096; fd++)
			note_fd(run, fd);
		return;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			note_fd(run, atoi(e->d_name));
	closedir(d);
}

static void
prepare(struct jail_run *run, const struct jail *j)
{
	*run = (struct jail_run){ .j = j, .root = geteuid() == 0 };
	creds_identity(run);
	run->filter_err = filter_build();
	scan_fds(run);
}

static void
report_off(struct jail_report *r)
{
	for (unsigned l = 0; l < JAIL_LAYERS; l++)
		r->layer[l].err = jail_detail(r->layer[l].detail, JAIL_DETAIL, -EPERM, "--jail off");
	log_warn("--jail off: capsa runs unconfined; a guest that breaks out of the VM "
		 "gets all of capsa's rights");
}

/**
 * jail_apply() - confine capsa: the stages in order, see the top of this file.
 * @j:      the jail; mode and identity.
 * @r:      filled with each layer's result; may be NULL.
 * @err:    with --jail strict, the one line naming the layer that failed.
 * @errlen: its size.
 *
 * Call on the main thread while it is the only thread, after every host
 * resource is open and before any guest code runs.
 *
 * Return: 0; -errno only with --jail strict when a layer could not be applied.
 */
int
jail_apply(struct jail *j, struct jail_report *r, char *err, size_t errlen)
{
	struct jail_report local;
	struct jail_run run;

	if (!r)
		r = &local;
	memset(r, 0, sizeof(*r));
	jail_test_set(j);
	if (j->mode == JAIL_OFF) {
		report_off(r);
		return jail_test_escape(j->fs_threads ? "share" : "vmm");
	}
	prepare(&run, j);
	for (unsigned l = 0; l < JAIL_LAYERS; l++) {
		struct jail_result *res = &r->layer[l];

		res->err = stages[l].apply(&run, res->detail, sizeof(res->detail));
		if (!res->err) {
			log_info("jail: %s applied: %s", stages[l].name, res->detail);
			continue;
		}
		if (j->mode == JAIL_STRICT) {
			snprintf(err, errlen, "jail: cannot apply %s (--jail strict): %s",
				 stages[l].name, res->detail);
			return res->err;
		}
		log_info("jail: %s skipped: %s", stages[l].name, res->detail);
	}
	/* With shares the main thread has the wide filter until jail_narrow(). */
	return jail_test_escape(j->fs_threads ? "share" : "vmm");
}
