/* SPDX-License-Identifier: MIT */
/*
 * term.h - the host terminal: raw mode while the guest owns it, restored
 * on every way out of capsa.
 */
#ifndef CAPSA_TERM_H
#define CAPSA_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int term_raw(int fd);
void term_restore(void);
bool term_size(unsigned *rows, unsigned *cols);
void term_env(char *buf, size_t len);
bool term_setup(bool force, bool auto_, unsigned *rows, unsigned *cols);

#endif
