/* sh_url.c — redis:// and sentinel:// URLs (sh_url.h). */
#include "shards/sh_url.h"

#include "common/cm_hex.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static int fail(struct sh_url *out, const char **err, const char *why)
{
	memset(out, 0, sizeof(*out));
	if (err)
		*err = why;
	return -EINVAL;
}

/* %-decodes <p>[0..<n>) into <dst> (<cap> bytes with the NUL). 0 or -1. */
static int decode(const char *p, size_t n, char *dst, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n || (h = cm_hexval((unsigned char)p[i + 1])) < 0 ||
			    (l = cm_hexval((unsigned char)p[i + 2])) < 0)
				return -1;
			c = (char)(h * 16 + l);
			if (!c)
				return -1;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

/* A decimal number of <p>[0..<n>) no larger than <max>: its value, or -1. */
static long number(const char *p, size_t n, long max)
{
	long v = 0;
	if (!n || n > 6)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= max ? v : -1;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* One "host[:port]" or "[v6][:port]" of <p>[0..<n>) into <h>. 0 or -1 with <why>. */
static int host(const char *p, size_t n, uint16_t defport, struct sh_url_host *h,
		const char **why)
{
	size_t hl, i = 0;
	const char *hp;
	if (n && p[0] == '[') {
		const char *e = memchr(p, ']', n);
		if (!e)
			return *why = "an IPv6 address without its ']'", -1;
		hp = p + 1;
		hl = (size_t)(e - hp);
		for (size_t k = 0; k < hl; k++)
			if (cm_hexval((unsigned char)hp[k]) < 0 && hp[k] != ':' && hp[k] != '.')
				return *why = "a character an IPv6 address cannot hold", -1;
		if (!hl || !memchr(hp, ':', hl))
			return *why = "an empty or non-IPv6 address in brackets", -1;
		i = (size_t)(e - p) + 1;
	} else {
		hp = p;
		while (i < n && p[i] != ':') {
			if (!name_char(p[i]))
				return *why = "a character a host name cannot hold", -1;
			i++;
		}
		hl = i;
	}
	if (!hl)
		return *why = "an empty host", -1;
	if (hl > SH_URL_HOST_MAX)
		return *why = "a host of more than 255 bytes", -1;
	memcpy(h->host, hp, hl);
	h->host[hl] = '\0';
	h->port = defport;
	if (i == n)
		return 0;
	if (p[i] != ':')
		return *why = "something after the IPv6 address that is not a port", -1;
	long port = number(p + i + 1, n - i - 1, 65535);
	if (port < 1)
		return *why = "a port that is not 1..65535", -1;
	h->port = (uint16_t)port;
	return 0;
}

int sh_url_parse(const char *s, size_t len, struct sh_url *out, const char **err)
{
	static const char redis[] = "redis://", sentinel[] = "sentinel://";
	const char *why = NULL;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return fail(out, err, "a NUL or a blank in the URL");
	size_t k;
	if (len >= sizeof(redis) - 1 && !strncasecmp(s, redis, sizeof(redis) - 1)) {
		k = sizeof(redis) - 1;
	} else if (len >= sizeof(sentinel) - 1 && !strncasecmp(s, sentinel, sizeof(sentinel) - 1)) {
		k = sizeof(sentinel) - 1;
		out->sentinel = 1;
	} else {
		return fail(out, err, "not a redis:// or sentinel:// URL");
	}
	const char *p = s + k, *end = s + len;
	const char *slash = memchr(p, '/', (size_t)(end - p));
	const char *auth_end = slash ? slash : end;
	/* userinfo: up to the last '@' of the authority */
	const char *at = NULL;
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *ue = colon ? colon : at;
		if (decode(p, (size_t)(ue - p), out->user, sizeof(out->user)) < 0)
			return fail(out, err, "a user that is too long or badly %-escaped");
		if (colon) {
			if (decode(colon + 1, (size_t)(at - colon - 1), out->password,
				   sizeof(out->password)) < 0)
				return fail(out, err, "a password that is too long or badly %-escaped");
			out->has_password = 1;
		}
		p = at + 1;
	}
	/* hosts */
	uint16_t defport = out->sentinel ? SH_URL_SENTINEL_PORT : SH_URL_REDIS_PORT;
	while (p < auth_end || !out->nhosts) {
		size_t rem = p < auth_end ? (size_t)(auth_end - p) : 0;
		const char *comma = rem ? memchr(p, ',', rem) : NULL;
		const char *he = comma ? comma : auth_end;
		if (comma && !out->sentinel)
			return fail(out, err, "more than one host in a redis:// URL (sentinel:// "
					      "takes several)");
		if (out->nhosts == SH_URL_HOSTS_MAX)
			return fail(out, err, "more than 8 Sentinels");
		if (host(p, (size_t)(he - p), defport, &out->hosts[out->nhosts], &why) < 0)
			return fail(out, err, why);
		out->nhosts++;
		p = comma ? comma + 1 : auth_end;
		if (comma && p == auth_end)
			return fail(out, err, "an empty host after ','");
	}
	/* path: [/master][/db] */
	if (out->sentinel)
		memcpy(out->master, "mymaster", sizeof("mymaster"));
	if (p == end)
		return 0;
	p++; /* '/' */
	if (out->sentinel && p < end) {
		const char *e = memchr(p, '/', (size_t)(end - p));
		size_t ml = (size_t)((e ? e : end) - p);
		if (!ml || ml > SH_URL_MASTER_MAX)
			return fail(out, err, "an empty master name, or one of more than 63 bytes");
		for (size_t i = 0; i < ml; i++)
			if (!name_char(p[i]))
				return fail(out, err, "a character a master name cannot hold");
		memcpy(out->master, p, ml);
		out->master[ml] = '\0';
		p += ml;
		if (p == end)
			return 0;
		p++;
	}
	if (p == end)
		return 0; /* a trailing '/' */
	long db = number(p, (size_t)(end - p), 65535);
	if (db < 0)
		return fail(out, err, "a db that is not a number 0..65535 (nothing may follow it)");
	out->db = (unsigned)db;
	return 0;
}
