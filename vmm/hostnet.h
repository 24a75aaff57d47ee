/* SPDX-License-Identifier: MIT */
/*
 * hostnet.h - the host side of --net user and -p (hostnet.c).
 */
#ifndef CAPSA_HOSTNET_H
#define CAPSA_HOSTNET_H

#include <stddef.h>

#include "options.h"

struct vsock_dev;

int hostnet_open(const struct capsa_config *cfg, char *err, size_t errlen);
int hostnet_attach(const struct capsa_config *cfg, struct vsock_dev *v, char *err, size_t errlen);

#endif
