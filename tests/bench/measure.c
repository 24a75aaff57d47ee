// SPDX-License-Identifier: MIT
/*
 * measure - run a command as a whole process and say what it cost.
 *
 *   measure [-o FILE] [-m MIB] -- CMD [ARG...]
 *
 * Prints one line to FILE (default stderr), then exits with CMD's status:
 *
 *   wall_ms=W status=S [hwm_kb=H guest_kb=G guest_maps=N file_kb=F]
 *
 * wall_ms runs from just before fork to the reaping of CMD. With -m MIB
 * (the guest's RAM size), CMD runs under ptrace, which stops its main
 * thread at exit (PTRACE_EVENT_EXIT) while its memory is still mapped;
 * then measure reads /proc/PID/status and /proc/PID/smaps:
 *   hwm_kb    VmHWM, the peak resident set of the whole process
 *   guest_kb  Rss of the guest RAM: the anonymous writable mappings of
 *             MIB to MIB + 8 MiB (capsa maps exactly MIB; QEMU adds
 *             alignment), i.e. the guest memory the VMM process touched
 *   file_kb   RssFile + RssShmem at exit: pages of the binary and its
 *             libraries (shmem when they live on a tmpfs or initramfs); for
 *             capsa that includes the embedded guest kernel and initramfs
 *             it copied into guest RAM
 * so hwm_kb - guest_kb is the VMM's own peak memory (code, heap, stacks,
 * shared libraries, buffers). The same method serves capsa and QEMU.
 * Threads are not traced; the ptrace stops are at exec and exit only.
 *
 * SIGTERM and SIGINT sent to measure are passed on to CMD.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* The line KEY of /proc/@pid/status, in kB, or -1. */
static long
status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, "%ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* Rss of the guest RAM mappings of @pid (see the top); their count in @n. */
static long
guest_kb(pid_t pid, unsigned long mib, int *n)
{
	unsigned long lo, hi, size_kb = 0, want = mib * 1024;
	char path[64], line[512], perms[8];
	bool guest = false;
	long rss, total = 0;
	int inode = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	*n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %*s %*s %d", &lo, &hi, perms, &inode) == 4) {
			size_kb = (hi - lo) / 1024;
			guest = inode == 0 && perms[0] == 'r' && perms[1] == 'w' &&
				size_kb >= want && size_kb <= want + 8192;
			*n += guest;
		} else if (guest && sscanf(line, "Rss: %ld", &rss) == 1) {
			total += rss;
		}
	}
	fclose(f);
	return total;
}

int
main(int argc, char **argv)
{
	const char *out = NULL;
	unsigned long mib = 0;
	long hwm = -1, gkb = -1, fkb = -1;
	int opt, st = 0, maps = 0, status;
	bool armed = false;
	double t0;
	FILE *f;

	while ((opt = getopt(argc, argv, "+o:m:")) != -1) {
		if (opt == 'o')
			out = optarg;
		else if (opt == 'm')
			mib = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: measure [-o FILE] [-m MIB] -- CMD [ARG...]\n");
		return 2;
	}
	signal(SIGTERM, forward);
	signal(SIGINT, forward);
	siginterrupt(SIGTERM, 1);
	siginterrupt(SIGINT, 1);
	t0 = now_ms();
	child = fork();
	if (child < 0)
		return perror("measure: fork"), 125;
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive a killed measure */
		if (mib && ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(125);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "measure: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t p = waitpid(child, &st, 0);

		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return perror("measure: waitpid"), 125;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		if (!WIFSTOPPED(st))
			continue;
		if (WSTOPSIG(st) == SIGTRAP && (st >> 16) == PTRACE_EVENT_EXIT) {
			hwm = status_kb(child, "VmHWM");
			fkb = status_kb(child, "RssFile") + status_kb(child, "RssShmem");
			gkb = guest_kb(child, mib, &maps);
			ptrace(PTRACE_CONT, child, NULL, NULL);
		} else if (WSTOPSIG(st) == SIGTRAP && !armed) {
			/* the stop after exec: from now on, stop at exit */
			armed = true;
			ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC));
			ptrace(PTRACE_CONT, child, NULL, NULL);
		} else if (st >> 16) {
			ptrace(PTRACE_CONT, child, NULL, NULL);	/* another exec */
		} else {
			ptrace(PTRACE_CONT, child, NULL, (void *)(long)WSTOPSIG(st));
		}
	}
	status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	f = out ? fopen(out, "w") : stderr;
	if (!f)
		f = stderr;
	fprintf(f, "wall_ms=%.1f status=%d", now_ms() - t0, status);
	if (mib)
		fprintf(f, " hwm_kb=%ld guest_kb=%ld guest_maps=%d file_kb=%ld", hwm, gkb, maps, fkb);
	fprintf(f, "\n");
	if (f != stderr)
		fclose(f);
	return status;
}
