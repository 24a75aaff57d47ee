/* SPDX-License-Identifier: MIT */
/*
 * exec_int.h - what the parts of the guest's exec service share (exec.c:
 * server, start and relay; exec_mux.c: the protocol with the client).
 */
#ifndef CAPSA_GUEST_EXEC_INT_H
#define CAPSA_GUEST_EXEC_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exec_wire.h"

#define STOP_WAIT_MS 1000	/* how long the sandbox's end waits for the execs */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define TX_CAP (WIRE_HDR + WIRE_DATA_MAX + 64)

struct mux {
	int sock;			/* the client, through capsa */
	int ctl, in, out[2];		/* the relay's control, stdin, stdout, stderr */
	struct wire_rx rx;
	uint8_t *inq;			/* stdin for the command, at most WIRE_WINDOW */
	size_t inq_off, inq_len;
	bool in_eof, in_dead;		/* EOF asked for; the command's stdin closed */
	uint32_t unacked;		/* stdin bytes taken and not ACKed yet */
	uint8_t tx[TX_CAP];		/* frames for the client */
	size_t tx_off, tx_len;
	pid_t relay;
	int status;			/* the relay's, once reaped; else -1 */
	int64_t deadline;		/* --timeout, or 0 */
	bool timed_out;
	char cgroup[64];		/* "" without cgroup2 */
};

int64_t now_ms(void);
void kill_exec(const char *cgroup, pid_t pgid);
void __attribute__((noreturn)) mux_end(struct mux *m, uint8_t type, const void *data, uint32_t len);
void __attribute__((noreturn, format(printf, 2, 3))) mux_error(struct mux *m, const char *fmt, ...);
void __attribute__((noreturn)) mux_loop(struct mux *m, int sfd);

#endif
