// SPDX-License-Identifier: MIT
/*
 * probe.c - host jail tests, no KVM needed: jail a forked child with the
 * real jail code, then check it from outside (/proc) and from inside (it
 * tries what a compromised capsa would). Prints TAP.
 *
 * Each child applies jail_apply() (best effort), starts a thread that
 * narrows itself with jail_vcpu() as a vCPU thread does, sends its report,
 * and then runs one operation on the main ("vmm") or the vCPU thread. What
 * the report says was applied must be what /proc shows; an operation the
 * filters forbid must kill the child with SIGSYS; one they allow must not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "jail/jail.h"
#include "jail/stage.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static int tests, failed;

static void __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failed += !cond;
}

static void
skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++tests, name, why);
}

/* ---- operations a child runs after the jail ---------------------------- */

typedef long (*op_fn)(void);

static long op_none(void) { return 0; }
static long op_open(void) { return open("/etc/passwd", O_RDONLY); }
static long op_openat(void) { return openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY); }
static long op_execve(void) { char *a[] = { "true", NULL }; return execve("/bin/true", a, a + 1); }
static long op_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static long op_inet(void) { return socket(AF_INET, SOCK_STREAM, 0); }
static long op_unix(void) { return socket(AF_UNIX, SOCK_STREAM, 0); }
static long op_mount(void) { return mount("none", "/", "tmpfs", 0, NULL); }
static long op_unshare(void) { return unshare(CLONE_NEWNS); }
static long op_tiocsti(void) { return ioctl(-1, TIOCSTI, "x"); }
static long op_tcgets(void) { struct termios t; return ioctl(-1, TCGETS, &t); }
static long op_fork(void) { return fork(); }
static long op_getpid(void) { return getpid(); }
/* tgkill is allowed only towards capsa's own threads (the vCPU kick). */
static long op_tgkill_other(void) { return syscall(SYS_tgkill, 1, 1, 0); }
static long op_setuid(void) { return setuid(0); }
/* The x32 ABI's numbers: the classic way around an x86_64-only filter. */
static long op_x32(void) { return syscall(0x40000000 | SYS_getpid); }
/* io_uring runs syscalls' work where seccomp never looks. */
static long op_io_uring(void) { return syscall(SYS_io_uring_setup, 1, NULL); }

static long
op_vm_read(void)
{
	char buf[8];
	struct iovec l = { buf, sizeof(buf) }, r = { buf, sizeof(buf) };

	return process_vm_readv(getppid(), &l, 1, &r, 1, 0);
}

static long
op_exec_mmap(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : 0;
}

/* malloc and free of large and small blocks, as devices do. */
static long
op_malloc(void)
{
	for (int i = 0; i < 64; i++) {
		char *big = malloc(256 * 1024), *small = malloc(40);

		if (!big || !small)
			return -1;
		memset(big, i, 256 * 1024);
		free(big);
		free(small);
	}
	return 0;
}

static void *
idle(void *arg)
{
	(void)arg;
	return NULL;
}

/* A thread made after the jail, as the vCPU threads are. */
static long
op_thread(void)
{
	pthread_t t;

	return pthread_create(&t, NULL, idle, NULL) || pthread_join(t, NULL) ? -1 : 0;
}

/* ---- the jailed child -------------------------------------------------- */

struct child {
	pid_t pid;
	int report_fd;		/* the child's jail report arrives here */
	int go_fd;		/* closing it lets the child run its operation */
	struct jail_report r;
};

/* The vCPU thread may not read: it waits on a futex, like a device lock. */
struct vcpu_arg {
	op_fn op;
	long result;
	int ready[2];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go;
};

static void *
vcpu_thread(void *p)
{
	struct vcpu_arg *a = p;
	struct vcpu cpu = { .id = 1 };

	a->result = jail_vcpu(&cpu) < 0 ? -2 : 0;
	(void)!write(a->ready[1], "r", 1);
	pthread_mutex_lock(&a->lock);
	while (!a->go)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	if (a->op && !a->result)
		a->result = a->op();
	return NULL;
}

static void __attribute__((noreturn))
child_main(struct jail *j, int report_fd, int go_fd, op_fn vmm_op, op_fn vcpu_op)
{
	struct jail_report r;
	struct vcpu_arg a = { .op = vcpu_op, .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER };
	pthread_t t;
	char err[200], c;
	long res;

	if (pipe(a.ready) < 0 || jail_apply(j, &r, err, sizeof(err)) < 0)
		_exit(3);
	if (pthread_create(&t, NULL, vcpu_thread, &a))
		_exit(4);
	(void)!read(a.ready[0], &c, 1);
	if (write(report_fd, &r, sizeof(r)) != sizeof(r))
		_exit(5);
	(void)!read(go_fd, &c, 1);
	pthread_mutex_lock(&a.lock);
	a.go = true;
	pthread_cond_signal(&a.cond);
	pthread_mutex_unlock(&a.lock);
	res = vmm_op ? vmm_op() : 0;
	pthread_join(t, NULL);
	if (a.result == -2)
		_exit(6);
	_exit(res < 0 || a.result < 0 ? 1 : 0);
}

static int
child_start(struct child *c, struct jail *j, op_fn vmm_op, op_fn vcpu_op)
{
	int rep[2], go[2];

	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	c->pid = fork();
	if (c->pid == 0) {
		close(rep[0]);
		close(go[1]);
		child_main(j, rep[1], go[0], vmm_op, vcpu_op);
	}
	close(rep[1]);
	close(go[0]);
	c->report_fd = rep[0];
	c->go_fd = go[1];
	if (c->pid < 0 || read(c->report_fd, &c->r, sizeof(c->r)) != sizeof(c->r))
		return -ECHILD;
	return 0;
}

/* Let the child run its operation; its wait status. */
static int
child_finish(struct child *c)
{
	int status = -1;

	close(c->go_fd);
	waitpid(c->pid, &status, 0);
	close(c->report_fd);
	return status;
}

/* ---- checks from outside ----------------------------------------------- */

static void
proc_field(pid_t pid, const char *task, const char *file, const char *key, char *out, size_t len)
{
	char path[96], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s%s%s", pid, task, task[0] ? "/" : "", file);
	out[0] = 0;
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			snprintf(out, len, "%s", line + strlen(key) + strspn(line + strlen(key), " \t"));
			out[strcspn(out, "\n")] = 0;
		}
	if (f)
		fclose(f);
}

static void
check_threads(pid_t pid, const char *key, const char *want)
{
	char dir[64], task[300], got[64];
	struct dirent *e;
	int n = 0, good = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(task, sizeof(task), "task/%s", e->d_name);
		proc_field(pid, task, "status", key, got, sizeof(got));
		n++;
		good += !strcmp(got, want);
	}
	if (d)
		closedir(d);
	ok(n >= 2 && good == n, "%s %s on all %d threads (%d match)", key, want, n, good);
}

static void
check_caps(pid_t pid)
{
	static const char *const keys[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	char got[64];

	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		proc_field(pid, "", "status", keys[i], got, sizeof(got));
		ok(!strcmp(got, "0000000000000000"), "%s is zero (%s)", keys[i], got);
	}
}

static void
check_ns(pid_t pid, const char *ns)
{
	char mine[64], theirs[64], path[64];
	ssize_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	b = readlink(path, theirs, sizeof(theirs) - 1);
	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	a = readlink(path, mine, sizeof(mine) - 1);
	if (a < 0 || b < 0) {
		skip(ns, "cannot read the namespace links");
		return;
	}
	mine[a] = theirs[b] = 0;
	ok(strcmp(mine, theirs) != 0, "%s namespace differs (%s)", ns, theirs);
}

/* The root is empty. */
static void
check_root(pid_t pid)
{
	char path[128];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/root/", pid);
	d = opendir(path);
	if (!d) {
		skip("root is empty", strerror(errno));
		return;
	}
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ok(n == 0, "root is empty (%d entries)", n);
}

static void
check_limits(pid_t pid, bool fsize_zero)
{
	char got[96];

	proc_field(pid, "", "limits", "Max core file size", got, sizeof(got));
	ok(!strncmp(got, "0 ", 2), "core size limit 0 (%s)", got);
	proc_field(pid, "", "limits", "Max file size", got, sizeof(got));
	ok(fsize_zero ? !strncmp(got, "0 ", 2) : !strncmp(got, "unlimited", 9),
	   "file size limit %s (%s)", fsize_zero ? "0" : "unlimited", got);
	proc_field(pid, "", "limits", "Max open files", got, sizeof(got));
	ok(atoi(got) > 0 && atoi(got) < 4096, "open files limited (%s)", got);
}

/* ---- scenarios ----------------------------------------------------------- */

static int file_fd = -1;	/* a writable regular file the child keeps */

static long
op_write_file(void)
{
	return write(file_fd, "data", 4) == 4 ? 0 : -1;
}

static bool
applied(const struct child *c, enum jail_layer l)
{
	return c->r.layer[l].err == 0;
}

static void
outside_checks(struct jail *j)
{
	struct child c;

	if (child_start(&c, j, NULL, NULL) < 0) {
		ok(0, "jailed child reports");
		return;
	}
	for (unsigned l = 0; l < JAIL_LAYERS; l++)
		printf("# %-13s %s: %s\n", jail_layer_name(l), c.r.layer[l].err ? "skipped" : "applied",
		       c.r.layer[l].detail);
	if (applied(&c, JAIL_NO_NEW_PRIVS))
		check_threads(c.pid, "NoNewPrivs:", "1");
	if (applied(&c, JAIL_SECCOMP))
		check_threads(c.pid, "Seccomp:", "2");
	if (applied(&c, JAIL_CAPABILITIES))
		check_caps(c.pid);
	if (applied(&c, JAIL_NAMESPACES)) {
		check_ns(c.pid, "mnt");
		check_ns(c.pid, "ipc");
		check_ns(c.pid, "net");
	}
	if (applied(&c, JAIL_FILESYSTEM))
		check_root(c.pid);
	if (applied(&c, JAIL_CAPABILITIES) && geteuid() == 0) {
		char uid[64];

		proc_field(c.pid, "", "status", "Uid:", uid, sizeof(uid));
		ok(!strcmp(uid, "65534\t65534\t65534\t65534"), "root became nobody (Uid: %s)", uid);
	}
	if (applied(&c, JAIL_RLIMITS))
		check_limits(c.pid, strstr(c.r.layer[JAIL_RLIMITS].detail, "fsize 0") != NULL);
	ok(WIFEXITED(child_finish(&c)), "jailed child exits normally");
}

static const struct {
	const char *name;
	op_fn op;
	bool vcpu;		/* run on the vCPU thread, else the main thread */
	bool allowed;
} ops[] = {
	{ "open /etc/passwd", op_open, false, false },
	{ "openat", op_openat, false, false },
	{ "execve", op_execve, false, false },
	{ "ptrace", op_ptrace, false, false },
	{ "socket(AF_INET)", op_inet, false, false },
	{ "mount", op_mount, false, false },
	{ "unshare", op_unshare, false, false },
	{ "ioctl TIOCSTI", op_tiocsti, false, false },
	{ "process_vm_readv", op_vm_read, false, false },
	{ "mmap PROT_EXEC", op_exec_mmap, false, false },
	{ "fork", op_fork, false, false },
	{ "getpid", op_getpid, false, true },
	{ "tgkill another process", op_tgkill_other, false, false },
	{ "setuid", op_setuid, false, false },
	{ "an x32 syscall", op_x32, false, false },
	{ "io_uring_setup", op_io_uring, false, false },
	{ "socket(AF_UNIX)", op_unix, false, false },
	{ "ioctl TCGETS", op_tcgets, false, true },
	{ "malloc and free", op_malloc, false, true },
	{ "a new thread", op_thread, false, true },
	{ "open /etc/passwd", op_open, true, false },
	{ "execve", op_execve, true, false },
	{ "socket(AF_UNIX)", op_unix, true, false },
	{ "ioctl TCGETS", op_tcgets, true, false },
	{ "ioctl TIOCSTI", op_tiocsti, true, false },
	{ "mmap PROT_EXEC", op_exec_mmap, true, false },
	{ "malloc and free", op_malloc, true, true },
	{ "nothing, then the thread exits", op_none, true, true },
};

static void
op_checks(struct jail *j)
{
	for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
		const char *where = ops[i].vcpu ? "vcpu" : "vmm";
		struct child c;
		int st;

		if (child_start(&c, j, ops[i].vcpu ? NULL : ops[i].op, ops[i].vcpu ? ops[i].op : NULL) < 0) {
			ok(0, "%s %s: jailed child reports", where, ops[i].name);
			continue;
		}
		if (!applied(&c, JAIL_SECCOMP)) {
			child_finish(&c);
			skip(ops[i].name, "seccomp not applied here");
			continue;
		}
		st = child_finish(&c);
		if (ops[i].allowed)
			ok(WIFEXITED(st), "%s %s: allowed (status %#x)", where, ops[i].name, st);
		else
			ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "%s %s: killed by SIGSYS "
			   "(status %#x)", where, ops[i].name, st);
	}
}

/* A writable regular file open before the jail: no file size limit. */
static void
file_checks(struct jail *j)
{
	char path[] = "/tmp/capsa-probe-file-XXXXXX";
	struct child c;

	file_fd = mkstemp(path);
	if (file_fd < 0 || child_start(&c, j, op_write_file, NULL) < 0) {
		ok(0, "a child with a writable file reports");
		return;
	}
	ok(strstr(c.r.layer[JAIL_RLIMITS].detail, "fsize unlimited") != NULL,
	   "rlimits leave file size alone when a file is written (%s)",
	   c.r.layer[JAIL_RLIMITS].detail);
	ok(child_finish(&c) == 0, "the jailed child writes its open file");
	ok(lseek(file_fd, 0, SEEK_END) == 4, "the data arrived");
	close(file_fd);
	unlink(path);
	file_fd = -1;
}

static void
config_checks(void)
{
	struct jail j = { 0 };

	ok(jail_set_mode(&j, "strict") == 0 && j.mode == JAIL_STRICT, "--jail strict parses");
	ok(jail_set_mode(&j, "sometimes") == -EINVAL, "--jail sometimes is refused");
	ok(jail_set_user(&j, "1000:1001") == 0 && j.uid == 1000 && j.gid == 1001,
	   "--user 1000:1001 parses");
	ok(jail_set_user(&j, "12x") == -ENOENT || jail_set_user(&j, "12x") == -EINVAL,
	   "--user 12x is refused");
	ok(jail_set_user(&j, "5:x") == -EINVAL, "--user 5:x is refused");
	ok(filter_count(false) <= 40, "vmm filter: %u syscalls, at most 40", filter_count(false));
	ok(filter_count(true) <= 15, "vcpu filter: %u syscalls, at most 15", filter_count(true));
}

int
main(void)
{
	struct jail j = { .mode = JAIL_BEST_EFFORT };

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# host jail probe, uid %u\n", geteuid());
	config_checks();
	outside_checks(&j);
	op_checks(&j);
	file_checks(&j);
	printf("1..%d\n", tests);
	fprintf(stderr, "jail probe: %d passed, %d failed\n", tests - failed, failed);
	return failed != 0;
}
