/* SPDX-License-Identifier: MIT */
/*
 * sniff.h - the HTTP Host header or TLS SNI of a connection's first bytes.
 */
#ifndef CAPSA_NET_SNIFF_H
#define CAPSA_NET_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#define SNIFF_MAX	16384		/* bytes read before giving up */

enum sniff_result { SNIFF_MORE, SNIFF_FOUND, SNIFF_NONE, SNIFF_BAD };

enum sniff_result sniff_http(const uint8_t *buf, size_t len, char *name);
enum sniff_result sniff_tls(const uint8_t *buf, size_t len, char *name);

#endif
