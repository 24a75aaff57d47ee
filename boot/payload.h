/* SPDX-License-Identifier: MIT */
/*
 * payload.h - the per-run initramfs piece (configuration and copied files).
 */
#ifndef CAPSA_PAYLOAD_H
#define CAPSA_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "cpio.h"
#include "../vmm/options.h"

#define GUEST_HOSTNAME "capsa"

int payload_build(const struct capsa_config *cfg, bool tty, unsigned rows, unsigned cols,
		  struct cpio *c, char *err, size_t errlen);

#endif
