/* SPDX-License-Identifier: MIT */
/*
 * init.h - the parts of the guest init.
 */
#ifndef CAPSA_INIT_H
#define CAPSA_INIT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Bytes moving from one fd to another through a bounded buffer (relay.c).
 * 64 KiB: a pipe's default capacity, read at once into one vsock packet.
 */
struct pump {
	int in, out;		/* -1 once closed */
	int keep;		/* the pty master: used, never closed; or -1 */
	bool in_eof;
	char eof_byte;		/* sent on once input ends (^D for a pty), or 0 */
	size_t len, off;
	char buf[65536];
};

void pump_init(struct pump *p, int in, int out, int keep, char eof_byte);
void pump_events(const struct pump *p, struct pollfd *in, struct pollfd *out);
void pump_io(struct pump *p, bool can_in);
void pump_drain(struct pump *p);
void pump_close(struct pump *p);

int tty_open(unsigned rows, unsigned cols, char *slave);
int tty_attach(const char *slave);
void tty_resize(int master, uint32_t rows_cols);

int copy_tree(const char *src, const char *dst);

int net_setup(const char *ifname, const char *cidr, const char *gateway, char *err, size_t errlen);
int mkdir_parents(const char *path);

#endif
