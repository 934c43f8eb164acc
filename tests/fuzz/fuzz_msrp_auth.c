/* fuzz_msrp_auth.c — libFuzzer target of the Digest side of RFC 4976 AUTH (msrp/msrp_auth.c):
 * msrp_auth_parse() of a header value, msrp_auth_username() and msrp_auth_verify_ha1() of
 * an Authorization, as a relay runs them on what a client sends.
 *
 * The input is the header value in libFuzzer's own buffer of exactly <size> bytes (reads
 * past it stop ASan). Properties:
 *   - parsing never reads outside the input, and every slice it gives lies inside the
 *     input or the result's own buffer;
 *   - msrp_auth_username() gives a NUL-terminated name of the length it returns, or -EINVAL;
 *   - verification answers one of the four results; never OK (the nonce of the input is
 *     not one this process issued, unless the fuzzer forged an HMAC-SHA256: it cannot). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_auth.h"

#include "tests/fuzz/fuzz_check.h"


static int inside(cm_slice s, const void *lo, size_t n)
{
	const char *a = lo;
	return !s.p || (s.p >= a && s.p + s.len <= a + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msrp_auth_cfg cfg;
	static int ready;
	static struct msrp_auth_params ap;
	struct msrp_auth_result res;
	char user[MSRP_AUTH_NAME_MAX + 1];
	const uint8_t ha1[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	cm_slice v = { (const char *)data, size };

	if (!ready) {
		CHECK(msrp_auth_cfg_init(&cfg, CM_SLICE_LIT("fuzz.example"), 60) == 0);
		ready = 1;
	}
	if (msrp_auth_parse(v, &ap) == 0) {
		const cm_slice all[] = { ap.username, ap.realm, ap.nonce, ap.uri, ap.response,
					 ap.algorithm, ap.cnonce, ap.opaque, ap.qop, ap.nc, ap.stale };
		CHECK(inside(ap.scheme, data, size));
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			CHECK(inside(all[i], data, size) || inside(all[i], ap.buf, sizeof(ap.buf)));
	}
	int n = msrp_auth_username(v, user, sizeof(user));
	CHECK(n == -EINVAL || (n >= 0 && (size_t)n == strlen(user)));
	int r = msrp_auth_verify_ha1(&cfg, ha1, v, CM_SLICE_LIT("AUTH"),
				     CM_SLICE_LIT("msrp://relay.fuzz.example:2855;tcp"),
				     msrp_auth_now(), &res);
	CHECK(r == MSRP_AUTH_FAIL || r == MSRP_AUTH_BAD || r == MSRP_AUTH_STALE);
	CHECK(r != MSRP_AUTH_STALE); /* stale needs a nonce of ours */
	return 0;
}
