/* fuzz_sip_digest.c — libFuzzer target of Digest as a SIP UAC (sip/sip_digest.c): the input
 * is a SIP response, parsed by sip_parse_msg() (as the transport would), then answered by
 * sip_digest_answer_cnonce() with fixed credentials (one realm, and "*") and a fixed
 * cnonce, as the user agent does on a 401/407.
 *
 * Properties:
 *   - the answer is written within <cap> bytes of an exact-size heap buffer (ASan sees a
 *     write past it), NUL-terminated at the length returned; the return is that length or
 *     -ENOENT, -EINVAL, -ENOSPC (never -EIO: the cnonce is fixed);
 *   - an answer parses back with sip_auth_parse(), scheme Digest, our user name, a
 *     response of 32 or 64 hex digits equal to sip_digest_response() over the realm, nonce
 *     and qop it names (so quoting round-trips);
 *   - with one byte less of room the same call gives -ENOSPC and writes only "";
 *   - sip_digest_answer() (random cnonce) agrees on the result code and the length;
 *   - sip_digest_stale() answers 0 or 1. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_digest.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "tests/fuzz/fuzz_check.h"

#define CNONCE "0123456789abcdef0123456789abcdef" /* as long as a random one */
#define URI    "sip:bob@example.com;transport=tcp"

static struct sip_parse_stats stats;
static struct sip_parse_cfg cfg;
static struct sip_digest_creds creds;
static struct sip_msg msg;
static struct msrp_auth_params ap;

/* The answer into an exact heap buffer of <cap> bytes (at least 1), copied to <out>. */
static int answer(size_t cap, int random_cnonce, char *out, enum sip_hid *hdr)
{
	static const char body[] = "hello";
	char *buf = malloc(cap);
	int n;

	CHECK(buf);
	if (random_cnonce)
		n = sip_digest_answer(&msg, &creds, CM_SLICE_LIT("MESSAGE"), CM_SLICE_LIT(URI),
				      CM_SLICE_LIT(body), 1, buf, cap, hdr);
	else
		n = sip_digest_answer_cnonce(&msg, &creds, CM_SLICE_LIT("MESSAGE"),
					     CM_SLICE_LIT(URI), CM_SLICE_LIT(body), 1,
					     CM_SLICE_LIT(CNONCE), buf, cap, hdr);
	CHECK(n == -ENOENT || n == -EINVAL || n == -ENOSPC || (n > 0 && (size_t)n < cap));
	if (n == -ENOSPC)
		CHECK(buf[0] == '\0');
	if (n > 0) {
		CHECK(buf[n] == '\0' && strlen(buf) == (size_t)n);
		memcpy(out, buf, (size_t)n + 1);
	}
	free(buf);
	return n;
}

/* An answer <a> of <n> bytes read back. */
static void check_answer(const char *a, int n, enum sip_hid hdr)
{
	enum sip_digest_alg alg = SIP_DIGEST__COUNT;
	char hex[SIP_DIGEST_HEX_MAX + 1];
	const struct sip_digest_cred *cr;
	int h;

	CHECK(hdr == (msg.status == 401 ? SIP_H_AUTHORIZATION : SIP_H_PROXY_AUTHORIZATION));
	if (n > MSRP_AUTH_HDR_MAX)
		return;   /* more than sip_auth_parse() takes */
	CHECK(sip_auth_parse((cm_slice){ a, (size_t)n }, &ap) == 0);
	CHECK(ap.scheme.len == 6 && memcmp(ap.scheme.p, "Digest", 6) == 0);
	CHECK(ap.realm.p && ap.nonce.p && ap.response.p && ap.algorithm.p && ap.uri.p);
	CHECK(ap.uri.len == sizeof(URI) - 1 && memcmp(ap.uri.p, URI, ap.uri.len) == 0);
	cr = sip_digest_creds_find(&creds, ap.realm);
	CHECK(cr);
	CHECK(ap.username.len == cr->ulen && memcmp(ap.username.p, cr->user, cr->ulen) == 0);
	for (int k = 0; k < SIP_DIGEST__COUNT; k++)
		if (ap.algorithm.len == strlen(sip_digest_alg_name((enum sip_digest_alg)k)) &&
		    memcmp(ap.algorithm.p, sip_digest_alg_name((enum sip_digest_alg)k),
			   ap.algorithm.len) == 0)
			alg = (enum sip_digest_alg)k;
	CHECK(alg != SIP_DIGEST__COUNT);
	CHECK((ap.qop.p != NULL) == (ap.cnonce.p != NULL) && (ap.qop.p != NULL) == (ap.nc.p != NULL));
	if (ap.qop.p)
		CHECK(ap.cnonce.len == sizeof(CNONCE) - 1 && ap.nc.len == 8 &&
		      memcmp(ap.nc.p, "00000001", 8) == 0);
	h = sip_digest_response(alg, ap.username, ap.realm,
				(cm_slice){ cr->password, cr->plen }, CM_SLICE_LIT("MESSAGE"),
				ap.uri, ap.nonce, CM_SLICE_LIT(CNONCE), 1,
				ap.qop.p ? ap.qop : CM_SLICE_LIT(""), CM_SLICE_LIT("hello"), hex,
				sizeof(hex));
	CHECK(h == 32 || h == 64);
	CHECK(ap.response.len == (size_t)h && memcmp(ap.response.p, hex, (size_t)h) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[16384], b[16384];
	enum sip_hid hdr = SIP_H_OTHER, hdr2 = SIP_H_OTHER;
	int n, n2, st;

	if (!cfg.stats) {
		static const char *const items[] = { "example.com:alice:pa\"ss:word",
						     "*:any\\one:x" };

		cfg.stats = &stats;
		sip_parse_limits_default(&cfg.limits);
		CHECK(sip_digest_creds_parse(&creds, items, 2, NULL, 0) == 0);
	}
	if (sip_parse_msg(&cfg, (const char *)data, size, &msg) != 0)
		return 0;
	st = sip_digest_stale(&msg);
	CHECK(st == 0 || st == 1);
	n = answer(sizeof(a), 0, a, &hdr);
	CHECK(n != -ENOSPC);
	n2 = answer(sizeof(b), 1, b, &hdr2);
	CHECK(n2 == n);
	if (n <= 0) {
		CHECK(hdr == SIP_H_OTHER && hdr2 == SIP_H_OTHER);
		return 0;
	}
	CHECK(hdr2 == hdr);
	check_answer(a, n, hdr);
	hdr = SIP_H_OTHER;
	CHECK(answer((size_t)n, 0, b, &hdr) == -ENOSPC && hdr == SIP_H_OTHER);
	CHECK(answer((size_t)n + 1, 0, b, &hdr) == n && strcmp(a, b) == 0);
	return 0;
}
