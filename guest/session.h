/* SPDX-License-Identifier: MIT */
/*
 * session.h - one process the guest init runs for the host, with capsa's
 * I/O contract: stdio on pipes (or a pty) relayed to three vsock streams,
 * signals and window sizes passed on, and an exit status once it ends and
 * its output is out (session.c).
 */
#ifndef CAPSA_SESSION_H
#define CAPSA_SESSION_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "init.h"

/* What to run. */
struct session_cmd {
	char **argv;		/* NULL-terminated; argv[0] is looked up in PATH */
	char **envp;		/* NULL-terminated */
	const char *cwd;	/* or NULL */
	bool tty;		/* a pty of rows x cols instead of pipes */
	unsigned rows, cols;
};

/* Each session polls this many fds: two per relay. */
#define SESSION_NFDS 6

struct session {
	pid_t pid;		/* the command, leader of its own session; 0 once reaped */
	int status;		/* its exit status once reaped, else -1 */
	int master;		/* the pty master, or -1 */
	struct pump io[3];	/* stdin: stream to command; stdout, stderr: command to stream */
};

int session_start(struct session *s, const struct session_cmd *cmd, const int streams[3],
		  char *err, size_t errlen);
void session_events(const struct session *s, struct pollfd p[SESSION_NFDS]);
void session_io(struct session *s, const struct pollfd p[SESSION_NFDS]);
bool session_reaped(struct session *s, pid_t pid, int wstatus);
void session_flush(struct session *s);
void session_signal(const struct session *s, int sig);
void session_resize(const struct session *s, uint32_t rows_cols);

#endif
