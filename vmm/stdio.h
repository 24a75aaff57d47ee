/* SPDX-License-Identifier: MIT */
/*
 * stdio.h - capsa's own stdin, stdout and stderr, made ready to carry the
 * command's streams.
 */
#ifndef CAPSA_STDIO_H
#define CAPSA_STDIO_H

int stdio_ensure(void);
int stdio_fd(int fd, int flags);

#endif
