/* fuzz_eng_profile.c — libFuzzer target for the per-peer TCP profile rules
 * (engine/eng_profile.c).
 *
 * Input: the rule, NUL-terminated in an exact-size heap copy so that ASan sees a read past
 * its end. A rule that parses must hold what its syntax allows (a prefix within its family,
 * host bits cleared, a keep-alive of a second or more) and parse again to the same profile;
 * the matcher is run on it against an IPv4, an IPv6 and an IPv4-mapped address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng_profile.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eng_profile p, q;
	char err[160];
	char *rule = malloc(size + 1);

	if (!rule)
		return 0;
	memcpy(rule, data, size);
	rule[size] = '\0';
	if (eng_profile_parse(rule, &p, err, sizeof(err)) == 0) {
		CHECK(p.family == AF_UNSPEC || p.family == AF_INET || p.family == AF_INET6);
		CHECK(p.prefix <= (p.family == AF_INET ? 32 : 128));
		CHECK(p.keepalive_s == 0 || p.keepalive_s >= 1);
		CHECK(memchr(p.text, '\0', sizeof(p.text)) != NULL);
		unsigned bits = p.family == AF_INET ? 32 : p.family == AF_INET6 ? 128 : 0;
		for (unsigned b = p.prefix; b < bits; b++)
			CHECK(!(p.addr[b / 8] & (0x80u >> (b % 8))));
		CHECK(eng_profile_parse(rule, &q, err, sizeof(err)) == 0);
		CHECK(memcmp(&p, &q, sizeof(p)) == 0);

		struct sockaddr_storage ss[3];
		memset(ss, 0, sizeof(ss));
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss[0];
		a4->sin_family = AF_INET;
		a4->sin_port = htons(p.port);
		memcpy(&a4->sin_addr, p.addr, 4);
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss[1];
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(p.port);
		memcpy(&a6->sin6_addr, p.addr, 16);
		struct sockaddr_in6 *m = (struct sockaddr_in6 *)&ss[2];
		m->sin6_family = AF_INET6;
		m->sin6_port = htons(p.port);
		m->sin6_addr.s6_addr[10] = 0xff;
		m->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m->sin6_addr.s6_addr[12], p.addr, 4);
		for (int i = 0; i < 3; i++) {
			unsigned r = eng_profile_match(&p, 1, &ss[i]);
			CHECK(r <= 1);
			/* the network's own address matches its rule */
			if ((p.family == AF_INET && i != 1) || (p.family == AF_INET6 && i == 1) ||
			    p.family == AF_UNSPEC)
				CHECK(r == 1);
		}
	} else {
		CHECK(err[0] != '\0');
	}
	free(rule);
	return 0;
}
