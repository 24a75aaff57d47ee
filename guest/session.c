// SPDX-License-Identifier: MIT
/*
 * session.c - start a process with capsa's I/O contract and see it through.
 *
 * The process's stdin, stdout and stderr are pipes, or a pty when the host
 * has a terminal; never the vsock streams themselves. Programs expect a
 * shell's stdio: libuv (node) and other runtimes handle a pipe, a file, a
 * tty or a TCP/unix socket, and an AF_VSOCK socket as none of them. The
 * init relays each pipe to its stream (relay.c) and so keeps the contract
 * a direct stream gave: bytes exact, stdout and stderr apart, stdin's EOF
 * reaching the command, back-pressure from a slow reader on the host
 * (bounded buffers all the way), EPIPE and SIGPIPE once that reader is
 * gone, and all output on its way to the host before the exit status.
 *
 * The main command is one session; anything else the init starts for the
 * host with the same contract is another, served by the same poll loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "session.h"

/*
 * The child: its own session, default signals and scheduling (init relays
 * as SCHED_BATCH, which a fork inherits), stdio on @fds (or the pty
 * @slave), then the directory and exec. On failure the errno goes back
 * through @report (close-on-exec, so a successful exec closes it),
 * negated for chdir.
 */
static void __attribute__((noreturn))
run_child(const struct session_cmd *cmd, const int fds[3], const char *slave, int report)
{
	struct sched_param sp = { 0 };
	int e;

	setsid();
	for (int i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigprocmask(SIG_SETMASK, &(sigset_t){ 0 }, NULL);
	syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp);
	if (slave ? tty_attach(slave) < 0 :
	    dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0)
		_exit(125);
	if (cmd->cwd && chdir(cmd->cwd) < 0) {
		e = -errno;
		(void)!write(report, &e, sizeof(e));
		_exit(125);
	}
	environ = cmd->envp;
	execvp(cmd->argv[0], cmd->argv);
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(127);
}

/* What exec said: 0 when it succeeded, else the status to report, with @err. */
static int
exec_result(int report, const struct session_cmd *cmd, char *err, size_t errlen)
{
	int e = 0;

	if (read(report, &e, sizeof(e)) != sizeof(e))
		return 0;
	if (e < 0) {
		snprintf(err, errlen, "-w %s: %s", cmd->cwd, strerror(-e));
		return 125;
	}
	if (e == ENOENT) {
		snprintf(err, errlen, "%s: command not found", cmd->argv[0]);
		return 127;
	}
	snprintf(err, errlen, "%s: %s", cmd->argv[0], strerror(e));
	return 126;
}

static void
close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * The stdio pipes: @theirs[i] is the command's end of fd i, @ours[i] the
 * init's (the write end of stdin, the read ends of stdout and stderr).
 */
static int
make_pipes(int ours[3], int theirs[3])
{
	int p[2];

	for (int i = 0; i < 3; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		ours[i] = p[i == 0];
		theirs[i] = p[i != 0];
	}
	return 0;
}

/* The relays of a started session: pipes to streams, or the pty's two. */
static void
start_relays(struct session *s, const int streams[3], const int ours[3])
{
	if (s->master >= 0) {
		pump_init(&s->io[0], streams[0], s->master, s->master, 4);	/* ^D */
		pump_init(&s->io[1], s->master, streams[1], s->master, 0);
		s->io[2] = (struct pump){ .in = -1, .out = -1, .keep = -1 };
		close(streams[2]);	/* a terminal has one output */
		return;
	}
	pump_init(&s->io[0], streams[0], ours[0], -1, 0);
	pump_init(&s->io[1], ours[1], streams[1], -1, 0);
	pump_init(&s->io[2], ours[2], streams[2], -1, 0);
}

/**
 * session_start() - run @cmd with its stdio relayed to @streams.
 * @s:       the session, filled in.
 * @cmd:     what to run.
 * @streams: connected streams for stdin, stdout and stderr; the session
 *           owns them once it started, else they stay the caller's.
 * @err:     on failure, one line saying why (without "capsa: ").
 * @errlen:  its size.
 *
 * Return: 0 once the command runs (exec succeeded), else the exit status
 * to report: 125 (no pipes, no pty, no fork, -w missing), 126 (not
 * executable) or 127 (not found).
 */
int
session_start(struct session *s, const struct session_cmd *cmd, const int streams[3],
	      char *err, size_t errlen)
{
	int ours[3] = { -1, -1, -1 }, theirs[3] = { -1, -1, -1 }, report[2] = { -1, -1 };
	char slave[32];
	int status = 125, e = 0;

	*s = (struct session){ .status = -1, .master = -1 };
	if (cmd->tty && (s->master = tty_open(cmd->rows, cmd->cols, slave)) < 0)
		e = errno ? -errno : -EIO;
	if (!e && !cmd->tty)
		e = make_pipes(ours, theirs);
	if (!e && pipe2(report, O_CLOEXEC) < 0)
		e = -errno;
	if (!e && (s->pid = fork()) < 0)
		e = -errno;
	if (!e && s->pid == 0)
		run_child(cmd, theirs, cmd->tty ? slave : NULL, report[1]);
	close_fds(theirs, 3);
	close_fds(&report[1], 1);
	if (e)
		snprintf(err, errlen, "cannot start the command: %s", strerror(-e));
	else
		status = exec_result(report[0], cmd, err, errlen);
	close_fds(report, 1);
	if (status) {
		if (s->pid > 0)
			waitpid(s->pid, NULL, 0);
		close_fds(ours, 3);
		close_fds(&s->master, 1);
		return status;
	}
	start_relays(s, streams, ours);
	return 0;
}

/**
 * session_events() - the fds @s waits for, for poll().
 */
void
session_events(const struct session *s, struct pollfd p[SESSION_NFDS])
{
	for (int i = 0; i < 3; i++)
		pump_events(&s->io[i], &p[2 * i], &p[2 * i + 1]);
}

/**
 * session_io() - after poll(): move what can move.
 */
void
session_io(struct session *s, const struct pollfd p[SESSION_NFDS])
{
	for (int i = 0; i < 3; i++)
		if (p[2 * i].revents || p[2 * i + 1].revents)
			pump_io(&s->io[i], p[2 * i].revents);
}

/**
 * session_reaped() - a child ended: was it @s's command?
 * @s:       the session.
 * @pid:     what waitpid() returned.
 * @wstatus: its wait status.
 *
 * Return: true when it was; @s->status is then its exit status, or
 * 128 + N for signal N.
 */
bool
session_reaped(struct session *s, pid_t pid, int wstatus)
{
	if (pid <= 0 || pid != s->pid)
		return false;
	s->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	s->pid = 0;
	return true;
}

/**
 * session_flush() - the command ended: pass on the output it left, then
 * close everything. The exit status may go out after this.
 */
void
session_flush(struct session *s)
{
	pump_close(&s->io[0]);
	pump_drain(&s->io[1]);
	pump_drain(&s->io[2]);
	close_fds(&s->master, 1);
	s->master = -1;
}

/**
 * session_signal() - deliver @sig as the host asked: on a terminal to its
 * foreground job, as from the keyboard; else to the command's group.
 */
void
session_signal(const struct session *s, int sig)
{
	pid_t fg = s->master >= 0 ? tcgetpgrp(s->master) : -1;

	if (s->pid > 0)
		kill(fg > 0 ? -fg : -s->pid, sig);
}

/**
 * session_resize() - the host's terminal is now rows << 16 | cols.
 */
void
session_resize(const struct session *s, uint32_t rows_cols)
{
	if (s->master >= 0)
		tty_resize(s->master, rows_cols);
}
