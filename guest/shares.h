/* SPDX-License-Identifier: MIT */
/*
 * shares.h - the guest init's --share and --rootfs DIR: virtio-fs mounts.
 */
#ifndef CAPSA_GUEST_SHARES_H
#define CAPSA_GUEST_SHARES_H

#include <stddef.h>

void shares_record(int tag, const char *value);
const char *shares_root_tag(void);
int shares_mount(char *err, size_t errlen);

#endif
