/* fuzz_msrp_uri.c — libFuzzer target of msrp_uri_parse() (msrp/msrp_uri.c).
 *
 * The input is the URI, in libFuzzer's own buffer of exactly <size> bytes, so that
 * AddressSanitizer stops any read past its end. When it parses:
 *   - msrp_uri_equal() holds of the URI and itself;
 *   - msrp_uri_format() says the same length for every buffer size and writes a prefix of
 *     the whole output when cut;
 *   - the output parses again (from a heap copy of exactly its length), is equal to the
 *     first URI both ways, formats to the same bytes, and has the same authority key;
 *   - the authority key fits in MSRP_URI_KEY_MAX bytes.
 * Any broken property aborts (a crash for libFuzzer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_uri.h"

#include "tests/fuzz/fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msrp_uri u, v;
	char key1[MSRP_URI_KEY_MAX], key2[MSRP_URI_KEY_MAX];
	size_t n, k1, k2;
	char *out, *copy, *again;

	if (msrp_uri_parse((cm_slice){ (const char *)data, size }, &u) != 0)
		return 0;
	CHECK(msrp_uri_equal(&u, &u));

	n = msrp_uri_format(&u, NULL, 0);
	out = malloc(n + 1);
	again = malloc(n + 1);
	copy = malloc(n ? n : 1);
	CHECK(out && again && copy);
	CHECK(msrp_uri_format(&u, out, n + 1) == n);
	CHECK(strlen(out) == n);
	/* cut output: a NUL-terminated prefix, same return value */
	for (size_t len = 1; len <= n; len += 1 + len / 4) {
		CHECK(msrp_uri_format(&u, again, len) == n);
		CHECK(strlen(again) == len - 1 && memcmp(again, out, len - 1) == 0);
	}

	memcpy(copy, out, n);
	CHECK(msrp_uri_parse((cm_slice){ copy, n }, &v) == 0);
	CHECK(msrp_uri_equal(&u, &v) && msrp_uri_equal(&v, &u));
	CHECK(v.secure == u.secure && v.port == u.port && v.host_type == u.host_type &&
	      v.transport == u.transport && v.session_id.len == u.session_id.len &&
	      v.params.len == u.params.len && v.userinfo.len == u.userinfo.len);
	CHECK(msrp_uri_format(&v, again, n + 1) == n && memcmp(again, out, n + 1) == 0);

	k1 = msrp_uri_authority_key(&u, key1, sizeof(key1));
	k2 = msrp_uri_authority_key(&v, key2, sizeof(key2));
	CHECK(k1 < sizeof(key1) && k1 == k2 && memcmp(key1, key2, k1 + 1) == 0);

	free(out);
	free(again);
	free(copy);
	return 0;
}
