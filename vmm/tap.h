/* SPDX-License-Identifier: MIT */
/*
 * tap.h - the host end of the guest's network: a TAP interface opened
 * through /dev/net/tun, framed with 12-byte virtio-net headers.
 */
#ifndef CAPSA_VMM_TAP_H
#define CAPSA_VMM_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/if_tun.h>

/* The offloads capsa may ask of a tap: checksums and TCP segmentation. */
#define TAP_OFFLOADS	(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

struct tap {
	int fd;				/* non-blocking, close-on-exec */
	char name[IFNAMSIZ];
	bool created;			/* capsa made it: it vanishes with the fd */
	bool offload;			/* TUNSETOFFLOAD works: offer csum/TSO */
};

int tap_check_name(const char *name);
int tap_open(struct tap *t, const char *name, char *err, size_t errlen);
int tap_set_offload(int fd, unsigned tun_flags);

#endif
