/* sh_url.h — where the Redis of the cluster is (issue 8, key redis.url): one server, or a
 * Sentinel set that names the master.
 *
 *   redis://[[user]:password@]host[:port][/db]
 *   sentinel://[[user]:password@]host[:port][,host[:port]]...[/master[/db]]
 *
 * host: a name, an IPv4 address, or an IPv6 address in brackets. port: 1..65535, default
 * 6379 (redis) or 26379 (sentinel). db: 0..65535, default 0. master: the name Sentinel
 * knows the master by (default "mymaster"). user and password are %-decoded (RFC 3986
 * userinfo); the other parts take no escapes. Scheme names in any case. At most
 * SH_URL_HOSTS_MAX Sentinels.
 *
 * Nothing allocated; reentrant. */
#ifndef SH_URL_H
#define SH_URL_H

#include <stddef.h>
#include <stdint.h>

#define SH_URL_HOSTS_MAX 8
#define SH_URL_HOST_MAX 255            /* bytes of a host (brackets of IPv6 not counted) */
#define SH_URL_USER_MAX 63
#define SH_URL_PASSWORD_MAX 127
#define SH_URL_MASTER_MAX 63
#define SH_URL_REDIS_PORT 6379
#define SH_URL_SENTINEL_PORT 26379

struct sh_url_host {
	char host[SH_URL_HOST_MAX + 1];    /* without brackets, NUL-terminated */
	uint16_t port;
};

struct sh_url {
	int sentinel;                      /* 1: hosts are Sentinels, <master> their master */
	char user[SH_URL_USER_MAX + 1];    /* "" when none */
	char password[SH_URL_PASSWORD_MAX + 1]; /* "" when none */
	int has_password;
	struct sh_url_host hosts[SH_URL_HOSTS_MAX];
	unsigned nhosts;                   /* 1 for redis://, 1.. for sentinel:// */
	char master[SH_URL_MASTER_MAX + 1];
	unsigned db;
};

/* Parses <s>[0..<len>) (never read beyond; <s> may be NULL when <len> is 0) into *<out>.
 * 0, or -EINVAL with *<err> (when <err> is not NULL) a static sentence saying what is
 * wrong: unknown scheme, empty or too long host, bad port or db, too many hosts, a NUL or
 * blank anywhere, a %-escape that is not two hex digits or decodes to NUL, something after
 * the db. On failure *<out> is zeroed. */
int sh_url_parse(const char *s, size_t len, struct sh_url *out, const char **err);

#endif
