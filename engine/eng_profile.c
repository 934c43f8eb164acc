/* eng_profile.c — per-peer TCP profiles: the rule parser and the matcher (eng_profile.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "engine/eng_profile.h"

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A decimal number of <s>[0, <len>) into *<v>, at most <max>: the bytes used (at least
 * one), or 0. */
static size_t number(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	size_t i = 0;
	*v = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		*v = *v * 10 + (uint64_t)(s[i] - '0');
		if (*v > max)
			return 0;
		i++;
	}
	return i;
}

/* "<n>", "<n>ms", "<n>s", "<n>m" (a duration in ms) or "<n>", "<n>k", "<n>m" (a size), all
 * of <s>[0, <len>), into *<v>, at most UINT32_MAX. 0 or -1. */
static int value(const char *s, size_t len, int duration, uint32_t *v)
{
	uint64_t n, mul = 1;
	size_t i = number(s, len, UINT32_MAX, &n);
	if (!i)
		return -1;
	const char *u = s + i;
	size_t ulen = len - i;
	if (ulen == 0)
		mul = 1;
	else if (duration && ulen == 2 && !memcmp(u, "ms", 2))
		mul = 1;
	else if (duration && ulen == 1 && *u == 's')
		mul = 1000;
	else if (duration && ulen == 1 && *u == 'm')
		mul = 60000;
	else if (!duration && ulen == 1 && (*u == 'k' || *u == 'K'))
		mul = 1024;
	else if (!duration && ulen == 1 && (*u == 'm' || *u == 'M'))
		mul = 1024 * 1024;
	else
		return -1;
	if (n * mul > UINT32_MAX)
		return -1;
	*v = (uint32_t)(n * mul);
	return 0;
}

/* The <match> of a rule, <s>[0, <len>), into <p>. 0 or -EINVAL. */
static int parse_match(const char *s, size_t len, struct eng_profile *p, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	size_t hlen, i = 0;
	uint64_t v;
	int v6;

	snprintf(p->text, sizeof(p->text), "%.*s", (int)len, s);
	if (len == 0)
		return fail(err, errlen, "empty match");
	if (s[0] == '*') {
		p->family = AF_UNSPEC;
		i = 1;
	} else {
		const char *h = s;
		if (s[0] == '[') {
			const char *end = memchr(s, ']', len);
			if (!end)
				return fail(err, errlen, "\"%.*s\": no ']'", (int)len, s);
			h = s + 1;
			hlen = (size_t)(end - h);
			i = (size_t)(end - s) + 1;
			v6 = 1;
		} else {
			/* a bare IPv6 address has two colons or more, and no port */
			const char *c1 = memchr(s, ':', len);
			v6 = c1 && memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s)) != NULL;
			hlen = 0;
			while (hlen < len && s[hlen] != '/' && (v6 || s[hlen] != ':'))
				hlen++;
			i = hlen;
		}
		if (hlen == 0 || hlen >= sizeof(host))
			return fail(err, errlen, "\"%.*s\": not an address", (int)len, s);
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		p->family = v6 ? AF_INET6 : AF_INET;
		if (inet_pton(p->family, host, p->addr) != 1)
			return fail(err, errlen, "\"%s\": not an IPv%c address", host, v6 ? '6' : '4');
		unsigned bits = v6 ? 128 : 32;
		p->prefix = (uint8_t)bits;
		if (i < len && s[i] == '/') {
			size_t n = number(s + i + 1, len - i - 1, bits, &v);
			if (!n)
				return fail(err, errlen, "\"%.*s\": the prefix length is 0..%u",
					    (int)len, s, bits);
			p->prefix = (uint8_t)v;
			i += 1 + n;
		}
		/* the host bits of the network are cleared, so that a match compares bytes */
		for (unsigned b = p->prefix; b < bits; b++)
			p->addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	}
	if (i < len && s[i] == ':') {
		size_t n = number(s + i + 1, len - i - 1, 65535, &v);
		if (!n || v == 0)
			return fail(err, errlen, "\"%.*s\": the port is 1..65535", (int)len, s);
		p->port = (uint16_t)v;
		i += 1 + n;
	}
	if (i != len)
		return fail(err, errlen, "\"%.*s\": unexpected \"%.*s\"", (int)len, s,
			    (int)(len - i), s + i);
	return 0;
}

int eng_profile_parse(const char *rule, struct eng_profile *p, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
		int duration;
	} keys[] = {
		{ "connect_timeout", offsetof(struct eng_profile, connect_timeout_ms), 1 },
		{ "read_timeout", offsetof(struct eng_profile, read_timeout_ms), 1 },
		{ "max_frame", offsetof(struct eng_profile, max_frame), 0 },
		{ "keepalive", offsetof(struct eng_profile, keepalive_s), 1 },
	};
	unsigned seen = 0;
	const char *s = rule;

	memset(p, 0, sizeof(*p));
	if (!rule)
		return fail(err, errlen, "no rule");
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strcspn(s, " \t");
	int rc = parse_match(s, len, p, err, errlen);
	if (rc < 0)
		return rc;
	for (s += len;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		len = strcspn(s, " \t");
		if (len == 6 && !memcmp(s, "no_new", 6)) {
			if (seen & 1u << 4)
				return fail(err, errlen, "no_new given twice");
			seen |= 1u << 4;
			p->no_new = 1;
			s += len;
			continue;
		}
		const char *eq = memchr(s, '=', len);
		size_t klen = eq ? (size_t)(eq - s) : len;
		unsigned k = 0;
		while (k < 4 && !(strlen(keys[k].name) == klen && !memcmp(s, keys[k].name, klen)))
			k++;
		if (k == 4)
			return fail(err, errlen, "unknown key \"%.*s\" (connect_timeout, read_timeout, "
				    "max_frame, keepalive, no_new)", (int)klen, s);
		if (seen & 1u << k)
			return fail(err, errlen, "%s given twice", keys[k].name);
		seen |= 1u << k;
		uint32_t v;
		if (!eq || value(eq + 1, len - klen - 1, keys[k].duration, &v) < 0)
			return fail(err, errlen, "%s: expected %s, got \"%.*s\"", keys[k].name,
				    keys[k].duration ? "a duration (250ms, 5s, 2m)"
						     : "a size (65536, 64k, 1m)",
				    (int)(eq ? len - klen - 1 : 0), eq ? eq + 1 : "");
		if (k == 3) { /* keepalive is kept in seconds */
			if (v < 1000)
				return fail(err, errlen, "keepalive: at least 1s");
			v /= 1000;
		}
		memcpy((char *)p + keys[k].off, &v, sizeof(v));
		s += len;
	}
	return 0;
}

/* 1 when the first <bits> bits of <a> and <b> are the same. */
static int prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

unsigned eng_profile_match(const struct eng_profile *v, unsigned n,
			   const struct sockaddr_storage *ss)
{
	uint8_t a4[4];
	const uint8_t *a6 = NULL;
	int have4 = 0;
	uint16_t port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		memcpy(a4, &in->sin_addr, 4);
		have4 = 1;
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		a6 = in6->sin6_addr.s6_addr;
		port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memcpy(a4, a6 + 12, 4);
			have4 = 1;
		}
	} else {
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct eng_profile *p = &v[i];
		if (p->port && p->port != port)
			continue;
		if (p->family == AF_UNSPEC || (p->family == AF_INET && have4 &&
					       prefix_eq(p->addr, a4, p->prefix)) ||
		    (p->family == AF_INET6 && a6 && prefix_eq(p->addr, a6, p->prefix)))
			return i + 1;
	}
	return 0;
}
