// SPDX-License-Identifier: MIT
/*
 * audit.c - one JSON line per network decision (--net-log FILE), and the
 * refusals on stderr with --verbose.
 *
 * A connection's line is written when it is decided against, or when an
 * allowed one ends (then with its byte counts); a DNS question's when it
 * is answered. Each line is one write() to a file opened O_APPEND, so
 * lines never interleave. Fields:
 *
 *   time      UTC, ISO 8601 with milliseconds
 *   kind      "connect" or "dns"
 *   dst       the address the guest connected to (connect)
 *   port      its port (connect)
 *   name      the name the guest resolved through capsa, or null
 *   sni       the HTTP Host or TLS SNI on ports 80 and 443, or null
 *   type      "A", "AAAA" or "other" (dns)
 *   verdict   "allow" or "deny"
 *   rule      the rule that decided, as given ("--allow pypi.org"), or null
 *   reason    why, in words
 *   connected the address the broker connected to, or null
 *   sent, received  bytes from the guest, and to it
 *   error     why an allowed connection failed or ended early, or null
 *   answers   the addresses in the answer (dns)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "../util.h"

/* @s as a JSON string (or null), appended at @buf + *@n. */
static void
json_str(char *buf, size_t len, size_t *n, const char *s)
{
	if (!s || !s[0]) {
		*n += (size_t)snprintf(buf + *n, *n < len ? len - *n : 0, "null");
		return;
	}
	if (*n < len)
		buf[(*n)++] = '"';
	for (; *s && *n + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			*n += (size_t)snprintf(buf + *n, len - *n, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			*n += (size_t)snprintf(buf + *n, len - *n, "\\u%04x", c);
		else
			buf[(*n)++] = (char)c;
	}
	if (*n < len)
		buf[(*n)++] = '"';
}

static size_t
stamp(char *buf, size_t len, const char *kind)
{
	struct timespec ts;
	struct tm tm;
	char t[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	return (size_t)snprintf(buf, len, "{\"time\":\"%s.%03ldZ\",\"kind\":\"%s\"", t,
				ts.tv_nsec / 1000000, kind);
}

static void
emit(struct broker *b, char *buf, size_t n, size_t len)
{
	if (n > len - 2)
		n = len - 2;
	buf[n++] = '}';
	buf[n++] = '\n';
	if (b->log_fd >= 0)
		(void)!write(b->log_fd, buf, n);
}

static void
field(char *buf, size_t len, size_t *n, const char *key, const char *val)
{
	*n += (size_t)snprintf(buf + *n, *n < len ? len - *n : 0, ",\"%s\":", key);
	if (*n < len)
		json_str(buf, len, n, val);
}

/**
 * audit_flow() - log a connection's decision, or its end.
 * @what: "allow" (it ran and ended), "deny", or "error" (allowed, not reached).
 */
void
audit_flow(struct broker *b, const struct flow *f, const char *what)
{
	char buf[2048], dst[64], conn[64] = "", err[96] = "";
	const char *rule = f->v.rule ? f->v.rule->text : NULL;
	bool deny = !strcmp(what, "deny");
	size_t n;

	addr_format(&f->req.addr, dst, sizeof(dst));
	if (!deny && f->state == F_SPLICE)
		addr_format(&f->connected, conn, sizeof(conn));
	if (f->err)
		snprintf(err, sizeof(err), "%s", strerror(f->err));
	if (deny || f->err)
		log_info("net: %s %s%s%s:%u (%s): %s%s%s", deny ? "refused" : "failed",
			 f->req.name[0] ? f->req.name : dst, f->sni[0] ? " Host/SNI " : "", f->sni,
			 f->req.port, dst, deny ? "" : err, deny && rule ? rule : "",
			 deny && !rule ? verdict_reason(&f->v) : "");
	if (b->log_fd < 0)
		return;
	n = stamp(buf, sizeof(buf), "connect");
	field(buf, sizeof(buf), &n, "dst", dst);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"port\":%u", f->req.port);
	field(buf, sizeof(buf), &n, "name", f->req.name);
	field(buf, sizeof(buf), &n, "sni", f->sni);
	field(buf, sizeof(buf), &n, "verdict", deny ? "deny" : "allow");
	field(buf, sizeof(buf), &n, "rule", rule);
	field(buf, sizeof(buf), &n, "reason", verdict_reason(&f->v));
	field(buf, sizeof(buf), &n, "connected", conn);
	n += (size_t)snprintf(buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0,
			      ",\"sent\":%llu,\"received\":%llu", (unsigned long long)f->sent,
			      (unsigned long long)f->received);
	field(buf, sizeof(buf), &n, "error", err);
	emit(b, buf, n, sizeof(buf));
}

/**
 * audit_dns() - log a DNS question and how it was answered.
 */
void
audit_dns(struct broker *b, const char *name, uint16_t qtype, bool allow, const char *why,
	  unsigned naddr)
{
	char buf[1024];
	size_t n;

	if (!allow)
		log_info("net: DNS %s %s refused: %s", qtype == DNS_A ? "A" : qtype == DNS_AAAA ?
			 "AAAA" : "question", name, why);
	if (b->log_fd < 0)
		return;
	n = stamp(buf, sizeof(buf), "dns");
	field(buf, sizeof(buf), &n, "name", name);
	field(buf, sizeof(buf), &n, "type", qtype == DNS_A ? "A" : qtype == DNS_AAAA ? "AAAA" : "other");
	field(buf, sizeof(buf), &n, "verdict", allow ? "allow" : "deny");
	field(buf, sizeof(buf), &n, "reason", why);
	n += (size_t)snprintf(buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0, ",\"answers\":%u", naddr);
	emit(b, buf, n, sizeof(buf));
}
