// SPDX-License-Identifier: MIT
/*
 * sniff.c - the name in the first bytes of a connection to port 80 or
 * 443: the HTTP Host header, or the TLS ClientHello's server_name.
 *
 * Theory of Operation
 * ===================
 *
 * The broker holds a connection to port 80 or 443 until its first bytes
 * show which name the client means (or that they never will), then checks
 * that name against the rule that allowed the connection (decide.c). The
 * bytes are the guest's, so these parsers take a length, read nothing past
 * it, and answer one of:
 *
 *   SNIFF_MORE   a prefix of something well-formed: wait for more bytes
 *                (up to SNIFF_MAX, then it is SNIFF_BAD)
 *   SNIFF_FOUND  a name, normalized (or an address literal, as text)
 *   SNIFF_NONE   well-formed, without a name (HTTP/1.0, TLS without SNI)
 *   SNIFF_BAD    not HTTP/1.x or a ClientHello; or ambiguous (two Host
 *                headers, a Host that disagrees with an absolute URI, two
 *                server_name extensions)
 *
 * Only the first request of an HTTP connection is read: a client that
 * sends another Host later, or another name inside TLS, is not seen (that
 * would take terminating TLS). The limit is in the README.
 */
#include <string.h>

#include "sniff.h"
#include "policy.h"

/* A Host value or URI authority: a name, [v6], or v4, with an optional :port. */
static bool
host_value(const char *s, size_t n, char *out)
{
	struct net_addr a;
	char tmp[NAME_MAX_LEN + 3];
	size_t end = n;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || (size_t)(close - s) > NAME_MAX_LEN)
			return false;
		end = (size_t)(close - s) + 1;
		if (end < n && (s[end] != ':' || end + 1 == n))
			return false;
		for (size_t i = end + 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
		memcpy(tmp, s + 1, end - 2);
		tmp[end - 2] = 0;
		if (addr_parse(tmp, &a) < 0)
			return false;
		addr_format(&a, out, NAME_MAX_LEN + 1);
		return true;
	}
	end = n;
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == ':') {
			end = i - 1;
			break;
		} else if (s[i - 1] < '0' || s[i - 1] > '9') {
			break;
		}
	if (end == 0 || end > NAME_MAX_LEN || (end < n && end + 1 == n))
		return false;
	memcpy(tmp, s, end);
	tmp[end] = 0;
	if (addr_parse(tmp, &a) == 0 && a.family == 4) {
		addr_format(&a, out, NAME_MAX_LEN + 1);
		return true;
	}
	return name_normalize(s, end, out) >= 0;
}

/* "METHOD SP": how long the method is, 0 if this cannot be HTTP. */
static size_t
http_method(const uint8_t *b, size_t len, bool *more)
{
	size_t i;

	*more = false;
	for (i = 0; i < len && i < 16; i++) {
		if (b[i] == ' ')
			return i;
		if (b[i] < 'A' || b[i] > 'Z')
			return 0;
	}
	*more = i == len && i < 16;
	return 0;
}

/* The authority of an absolute-form target (http://host[:port]/...). */
static int
absolute_host(const char *t, size_t n, char *out)
{
	const char *slash;

	if (n < 7 || strncasecmp(t, "http://", 7))
		return 0;
	t += 7;
	n -= 7;
	slash = memchr(t, '/', n);
	if (slash)
		n = (size_t)(slash - t);
	return host_value(t, n, out) ? 1 : -1;
}

static bool
header_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && line[k] == ':' && !strncasecmp(line, name, k);
}

/* The request line and headers, all present (ending in an empty line). */
static enum sniff_result
http_headers(const char *b, size_t len, char *name)
{
	const char *line = b, *end = b + len, *sp1, *sp2;
	char host[NAME_MAX_LEN + 1], uri[NAME_MAX_LEN + 1];
	int hosts = 0, abs;

	const char *nl = memchr(line, '\n', len);
	size_t n = (size_t)(nl - line);

	sp1 = memchr(line, ' ', n);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1)) : NULL;
	if (!sp2 || nl - sp2 < 9 || strncmp(sp2 + 1, "HTTP/1.", 7))
		return SNIFF_BAD;
	abs = absolute_host(sp1 + 1, (size_t)(sp2 - sp1 - 1), uri);
	if (abs < 0)
		return SNIFF_BAD;
	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)(nl - line);
		if (n && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		if (header_is(line, n, "host") && (hosts++ || !host_value(line + 5, n - 5, host)))
			return SNIFF_BAD;
	}
	if (abs && hosts && strcmp(uri, host))
		return SNIFF_BAD;
	if (!abs && !hosts)
		return SNIFF_NONE;
	strcpy(name, abs ? uri : host);
	return SNIFF_FOUND;
}

/**
 * sniff_http() - the name an HTTP/1.x request is for.
 * @buf:  the connection's first bytes.
 * @len:  how many.
 * @name: NAME_MAX_LEN + 1 bytes, the name on SNIFF_FOUND.
 */
enum sniff_result
sniff_http(const uint8_t *buf, size_t len, char *name)
{
	bool more;
	const char *b = (const char *)buf;

	if (!http_method(buf, len, &more))
		return more ? SNIFF_MORE : SNIFF_BAD;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n'))
			return http_headers(b, i + 1, name);
		if (buf[i + 1] == '\r' && i + 2 == len)
			break;
	}
	for (size_t i = 0; i < len; i++)
		if (!buf[i])
			return SNIFF_BAD;
	return len < SNIFF_MAX ? SNIFF_MORE : SNIFF_BAD;
}

/* Big-endian reads from a bounded cursor. */
struct cur {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static uint32_t
get(struct cur *c, unsigned n)
{
	uint32_t v = 0;

	if (c->left < n) {
		c->bad = true;
		c->left = 0;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | *c->p++;
	c->left -= n;
	return v;
}

static struct cur
sub(struct cur *c, size_t n)
{
	struct cur s = { c->p, n, false };

	if (c->left < n) {
		c->bad = true;
		c->left = 0;
		s.left = 0;
		s.bad = true;
		return s;
	}
	c->p += n;
	c->left -= n;
	return s;
}

/* The server_name extension's first host_name. */
static bool
sni_ext(struct cur e, char *name)
{
	struct cur list = sub(&e, get(&e, 2));

	while (list.left && !list.bad) {
		uint32_t type = get(&list, 1);
		struct cur n = sub(&list, get(&list, 2));

		if (type == 0 && !n.bad)
			return name_normalize((const char *)n.p, n.left, name) >= 0;
	}
	return false;
}

/* A ClientHello's body (after the handshake header). */
static enum sniff_result
client_hello(struct cur h, char *name)
{
	struct cur ext;
	bool found = false;

	get(&h, 2 + 32);			/* client_version, random */
	sub(&h, get(&h, 1));			/* session_id */
	sub(&h, get(&h, 2));			/* cipher_suites */
	sub(&h, get(&h, 1));			/* compression_methods */
	if (h.bad)
		return SNIFF_BAD;
	if (!h.left)
		return SNIFF_NONE;
	ext = sub(&h, get(&h, 2));
	while (ext.left && !ext.bad) {
		uint32_t type = get(&ext, 2);
		struct cur body = sub(&ext, get(&ext, 2));

		if (type != 0 || body.bad)
			continue;
		if (found || !sni_ext(body, name))
			return SNIFF_BAD;
		found = true;
	}
	if (ext.bad || h.left)
		return SNIFF_BAD;
	return found ? SNIFF_FOUND : SNIFF_NONE;
}

/**
 * sniff_tls() - the server name a TLS ClientHello asks for.
 * @buf:  the connection's first bytes: records of type handshake.
 * @len:  how many.
 * @name: NAME_MAX_LEN + 1 bytes, the name on SNIFF_FOUND.
 */
enum sniff_result
sniff_tls(const uint8_t *buf, size_t len, char *name)
{
	uint8_t hs[SNIFF_MAX];
	struct cur c = { buf, len, false };
	size_t have = 0, want = 0;

	while (c.left >= 5) {
		struct cur rec;

		if (get(&c, 1) != 22 || get(&c, 1) != 3)
			return SNIFF_BAD;
		get(&c, 1);			/* minor version: any */
		rec = sub(&c, get(&c, 2));
		if (rec.bad)
			return len < SNIFF_MAX ? SNIFF_MORE : SNIFF_BAD;
		if (have + rec.left > sizeof(hs))
			return SNIFF_BAD;
		memcpy(hs + have, rec.p, rec.left);
		have += rec.left;
		if (have >= 4 && !want) {
			if (hs[0] != 1)
				return SNIFF_BAD;
			want = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
			if (want > sizeof(hs))
				return SNIFF_BAD;
		}
		if (want && have >= want)
			return client_hello((struct cur){ hs + 4, want - 4, false }, name);
	}
	if (c.left && (buf[len - c.left] != 22 || (c.left > 1 && buf[len - c.left + 1] != 3)))
		return SNIFF_BAD;
	return len < SNIFF_MAX ? SNIFF_MORE : SNIFF_BAD;
}
