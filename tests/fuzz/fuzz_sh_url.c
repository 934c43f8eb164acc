/* fuzz_sh_url.c — libFuzzer target for the redis:// / sentinel:// URL parser
 * (shards/sh_url.c). The input, in an exact-size heap copy (ASan sees any read past it), is
 * parsed; on success every field must hold what sh_url.h promises (1..8 hosts, none empty
 * and without brackets, ports not 0, NUL-terminated strings within their arrays, a master
 * name only for Sentinels), on failure the result must be zeroed with a sentence. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shards/sh_url.h"

#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	struct sh_url u;
	const char *err = NULL;
	int rc = sh_url_parse(copy, size, &u, &err);
	if (rc == 0) {
		CHECK(u.nhosts >= 1 && u.nhosts <= SH_URL_HOSTS_MAX);
		CHECK(u.sentinel || u.nhosts == 1);
		for (unsigned i = 0; i < u.nhosts; i++) {
			size_t hl = strnlen(u.hosts[i].host, sizeof(u.hosts[i].host));
			CHECK(hl > 0 && hl < sizeof(u.hosts[i].host));
			CHECK(!memchr(u.hosts[i].host, '[', hl) && !memchr(u.hosts[i].host, ']', hl));
			CHECK(u.hosts[i].port != 0);
		}
		CHECK(strnlen(u.user, sizeof(u.user)) < sizeof(u.user));
		CHECK(strnlen(u.password, sizeof(u.password)) < sizeof(u.password));
		CHECK(u.has_password || !u.password[0]);
		CHECK(u.sentinel ? u.master[0] != '\0' : u.master[0] == '\0');
		CHECK(u.db <= 65535);
	} else {
		static const struct sh_url zero;
		CHECK(rc == -EINVAL && err && *err);
		CHECK(!memcmp(&u, &zero, sizeof(u)));
	}
	free(copy);
	return 0;
}
