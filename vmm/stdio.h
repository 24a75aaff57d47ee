/* SPDX-License-Identifier: MIT */
/*
 * stdio.h - capsa's own stdio fds (stdio.c).
 */
#ifndef CAPSA_STDIO_H
#define CAPSA_STDIO_H

void ensure_stdio(void);
int stdio_fd(int fd, int flags);

#endif
