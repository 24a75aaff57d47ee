/* SPDX-License-Identifier: MIT */
/*
 * env.h - the guest's system environment, set up by the init (env.c).
 */
#ifndef CAPSA_ENV_H
#define CAPSA_ENV_H

#include <stdbool.h>

void env_mount(void);
void env_finish(const char *hostname, bool root_rw);
int env_put_file(const char *path, const char *data);

#endif
