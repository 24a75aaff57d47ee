/* SPDX-License-Identifier: MIT */
/*
 * rootfs.h - the guest init's --rootfs support: root on /dev/vda.
 */
#ifndef CAPSA_ROOTFS_H
#define CAPSA_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

int rootfs_enter(bool rw, char *err, size_t errlen);
void rootfs_leave(bool rw);

#endif
