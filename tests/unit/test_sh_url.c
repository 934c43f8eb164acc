/* test_sh_url.c — redis:// and sentinel:// URLs (shards/sh_url.c): the forms operators write,
 * defaults, IPv6, userinfo with escapes, and what is refused, each with its sentence. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "shards/sh_url.h"

static int parse(const char *s, struct sh_url *u, const char **err)
{
	*err = NULL;
	return sh_url_parse(s, strlen(s), u, err);
}

Test(sh_url, one_server)
{
	struct sh_url u;
	const char *err;
	cr_assert_eq(parse("redis://127.0.0.1", &u, &err), 0);
	cr_expect(!u.sentinel && u.nhosts == 1 && u.db == 0 && !u.has_password);
	cr_expect_str_eq(u.hosts[0].host, "127.0.0.1");
	cr_expect_eq(u.hosts[0].port, 6379);
	cr_assert_eq(parse("REDIS://cache-1.example.net:6380/3", &u, &err), 0);
	cr_expect_str_eq(u.hosts[0].host, "cache-1.example.net");
	cr_expect_eq(u.hosts[0].port, 6380);
	cr_expect_eq(u.db, 3);
	cr_assert_eq(parse("redis://:s3cr%40t@[::1]:7000/", &u, &err), 0);
	cr_expect_str_eq(u.hosts[0].host, "::1");
	cr_expect_eq(u.hosts[0].port, 7000);
	cr_expect(u.has_password && !strcmp(u.password, "s3cr@t") && !u.user[0]);
	cr_assert_eq(parse("redis://gw:pa:ss@r", &u, &err), 0, "a ':' in the password");
	cr_expect_str_eq(u.user, "gw");
	cr_expect_str_eq(u.password, "pa:ss");
	cr_assert_eq(parse("redis://gw@r/15", &u, &err), 0);
	cr_expect(!strcmp(u.user, "gw") && !u.has_password && u.db == 15);
}

Test(sh_url, sentinels)
{
	struct sh_url u;
	const char *err;
	cr_assert_eq(parse("sentinel://10.0.0.1,10.0.0.2:26380,[fd00::3]/rcsgw/2", &u, &err), 0);
	cr_expect(u.sentinel && u.nhosts == 3 && u.db == 2);
	cr_expect_eq(u.hosts[0].port, 26379);
	cr_expect_eq(u.hosts[1].port, 26380);
	cr_expect_str_eq(u.hosts[2].host, "fd00::3");
	cr_expect_str_eq(u.master, "rcsgw");
	cr_assert_eq(parse("sentinel://s1", &u, &err), 0);
	cr_expect_str_eq(u.master, "mymaster");
}

Test(sh_url, refusals_say_why)
{
	static const char *const bad[] = {
		"", "http://x", "redis://", "redis://a,b", "redis://x:0", "redis://x:65536",
		"redis://x:", "redis://x/db", "redis://x/70000", "redis://x/1/2", "redis://a b",
		"redis://[::1", "redis://[zz]", "redis://[1.2.3.4]", "redis://x%41",
		"redis://u:%4@x", "redis://u:%00@x", "sentinel://a,", "sentinel://a//1",
		"sentinel://a,b,c,d,e,f,g,h,i", "sentinel://a/m@ster",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sh_url u;
		const char *err = NULL;
		cr_expect_eq(parse(bad[i], &u, &err), -EINVAL, "%s", bad[i]);
		cr_expect(err && *err, "%s: no sentence", bad[i]);
		cr_expect_eq(u.nhosts, 0, "%s: zeroed", bad[i]);
	}
	struct sh_url u;
	const char *err;
	cr_expect_eq(sh_url_parse("redis://x\0y", 11, &u, &err), -EINVAL, "a NUL inside");
	char host[300];
	memset(host, 'h', sizeof(host));
	memcpy(host, "redis://", 8);
	host[299] = '\0';
	cr_expect_eq(parse(host, &u, &err), -EINVAL, "a host of 291 bytes");
}
