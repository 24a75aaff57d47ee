// SPDX-License-Identifier: MIT
/*
 * check.c - `capsa --check`: for this host and user, whether /dev/kvm
 * works, whether a guest boots, and which jail layers apply. The first
 * thing to run when something fails.
 *
 * The boot test is the real thing: capsa runs itself (/proc/self/exe) on
 * `true` with the same --jail and --user. The layers are probed by a
 * forked child that applies the jail to itself and reports back, so the
 * answer is what the kernel says, not a guess.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "stage.h"
#include "../vmm/util.h"

#ifndef CAPSA_VERSION
#define CAPSA_VERSION "dev"
#endif

static void __attribute__((format(printf, 2, 3)))
row(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("  %-13s ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static bool
check_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), version;

	if (fd < 0) {
		row("/dev/kvm", "FAILED: %s", errno == ENOENT ?
		    "missing: this machine has no KVM (or it is not passed through)" : strerror(errno));
		return false;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (version != KVM_API_VERSION) {
		row("/dev/kvm", "FAILED: KVM API %d, capsa needs %d", version, KVM_API_VERSION);
		return false;
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		row("/dev/kvm", "opens, but it is a paravirtual nested KVM (kvm_pvm)");
	else
		row("/dev/kvm", "ok: opens read/write, KVM API %d", version);
	return true;
}

/* Read everything from @fd, keeping the first line. */
static void
first_line(int fd, char *buf, size_t len)
{
	size_t got = 0;
	char sink[256];
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	while (read(fd, sink, sizeof(sink)) > 0)
		;
	buf[got] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/* `capsa --jail MODE [--user U:G] -- true`, run as the user would run it. */
static pid_t
spawn_true(const struct jail *j, int err_fd)
{
	char user[32], *argv[10];
	int n = 0, null;
	pid_t pid;

	argv[n++] = "capsa";
	argv[n++] = "--jail";
	argv[n++] = (char *)jail_mode_name(j->mode);
	if (j->user_set) {
		snprintf(user, sizeof(user), "%u:%u", j->uid, j->gid);
		argv[n++] = "--user";
		argv[n++] = user;
	}
	argv[n++] = "--";
	argv[n++] = "true";
	argv[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid != 0)
		return pid;
	null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(null, 1);
	dup2(err_fd, 2);
	execv("/proc/self/exe", argv);
	_exit(EXIT_NOTFOUND);
}

static bool
check_boot(const struct jail *j)
{
	char msg[400];
	double t0 = now_ms();
	int p[2], status = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = spawn_true(j, p[1])) < 0) {
		row("guest", "FAILED: cannot start capsa: %s", strerror(errno));
		return false;
	}
	close(p[1]);
	first_line(p[0], msg, sizeof(msg));
	close(p[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		row("guest", "ok: `capsa -- true` exited 0 in %.0f ms", now_ms() - t0);
		return true;
	}
	row("guest", "FAILED: %s", msg[0] ? msg : "capsa -- true failed");
	return false;
}

/* Apply the jail in a child, which sends its report back. */
static int
probe_layers(const struct jail *j, struct jail_report *r)
{
	char err[160];
	int p[2], status = -1;
	ssize_t got;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct jail probe = *j;

		close(p[0]);
		probe.mode = JAIL_BEST_EFFORT;
		jail_apply(&probe, r, err, sizeof(err));
		_exit(write(p[1], r, sizeof(*r)) == sizeof(*r) ? 0 : 1);
	}
	close(p[1]);
	got = pid < 0 ? -1 : read(p[0], r, sizeof(*r));
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return got == sizeof(*r) ? 0 : -ECHILD;
}

static void
check_layers(const struct jail *j)
{
	struct jail_report r;
	unsigned applied = 0;
	char names[1024];

	if (probe_layers(j, &r) < 0) {
		row("jail", "FAILED: the probe died before it could report");
		return;
	}
	for (unsigned l = 0; l < JAIL_LAYERS; l++)
		applied += r.layer[l].err == 0;
	row("jail", "%u of %u layers apply for this user (--jail %s%s)", applied, JAIL_LAYERS,
	    jail_mode_name(j->mode), j->mode == JAIL_OFF ? ": none is used" : "");
	for (unsigned l = 0; l < JAIL_LAYERS; l++)
		printf("    %-13s %s: %s\n", jail_layer_name(l),
		       r.layer[l].err ? "skipped" : "applied", r.layer[l].detail);
	if (!log_verbose)
		return;
	for (int k = 0; k < FILTER_KINDS; k++) {
		static const char *const kind[FILTER_KINDS] = { "vmm", "vcpu", "share threads'" };

		filter_names((enum filter_kind)k, names, sizeof(names));
		printf("    %s filter (%u, * = arguments checked): %s\n", kind[k],
		       filter_count((enum filter_kind)k), names);
	}
}

/**
 * jail_check() - `capsa --check`.
 * @j: the jail as the options set it.
 *
 * Return: 0 when a guest can run here, else EXIT_CAPSA.
 */
int
jail_check(const struct jail *j)
{
	struct utsname u;
	bool boots;

	uname(&u);
	printf("capsa %s --check: uid %u, Linux %s %s\n", CAPSA_VERSION, getuid(), u.release,
	       u.machine);
	if (check_kvm()) {
		boots = check_boot(j);
	} else {
		row("guest", "not tried: no usable /dev/kvm");
		boots = false;
	}
	check_layers(j);
	printf("capsa --check: %s\n", boots ? "a guest can run here" : "no guest can run here");
	fflush(stdout);
	return boots ? 0 : EXIT_CAPSA;
}
