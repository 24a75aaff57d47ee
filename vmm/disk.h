/* SPDX-License-Identifier: MIT */
/*
 * disk.h - the --disk and --rootfs images, opened and locked first.
 */
#ifndef CAPSA_DISK_H
#define CAPSA_DISK_H

#include <stddef.h>

#include "options.h"

int disk_open(const char *opt, const struct disk_spec *d, char *err, size_t errlen);

#endif
