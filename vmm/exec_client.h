/* SPDX-License-Identifier: MIT */
/*
 * client.h - `capsa exec`: a client of a running `capsa --control PATH`.
 */
#ifndef CAPSA_CLIENT_H
#define CAPSA_CLIENT_H

#include "options.h"

int exec_main(const struct capsa_config *cfg);

#endif
