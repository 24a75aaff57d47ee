/* SPDX-License-Identifier: MIT */
/*
 * exec.h - `capsa exec` in the guest (exec.c).
 */
#ifndef CAPSA_GUEST_EXEC_H
#define CAPSA_GUEST_EXEC_H

#include <sys/types.h>

int exec_listen(void);
pid_t exec_serve(int lfd);
void exec_stop(pid_t server);

#endif
