/* test_sip_digest.c — Digest as a SIP UAC (sip/sip_digest.c).
 *
 * The request-digest against the examples of RFC 2617 §3.5 and RFC 7616 §3.9.1, and against
 * values computed apart (Python's hashlib, by the formulas of RFC 7616 §3.4) for what the
 * RFCs have no example of: auth-int, no qop (RFC 2069), -sess, a nonce count above 1, a
 * user name with quotes. Answers are built from 401/407 responses parsed by sip_parse_msg()
 * from copies that end at a PROT_NONE page (tests/lib/guard.h), and checked whole (fixed
 * cnonce) or parsed back with sip_auth_parse() (random cnonce). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sip/sip_digest.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "tests/lib/guard.h"

#define SL(s) ((cm_slice){ (s), strlen(s) })

static struct sip_parse_stats stats;

/* The RFC 7616 §3.9.1 example. */
#define R7616_REALM  "http-auth@example.org"
#define R7616_NONCE  "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define R7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define R7616_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
#define R7616_SHA256 "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
#define R7616_MD5    "8ca523f5e9506fed4657c9700eebdbec"

/* Our own example (expected values from hashlib). */
#define EX_REALM  "sip.example.net"
#define EX_NONCE  "abc123nonce"
#define EX_CNONCE "0a4f113b"
#define EX_URI    "sip:bob@sip.example.net"
#define EX_CRED   EX_REALM ":alice:s3cr:et"

/* A 401 or 407 with the header lines <hdrs> ("Name: value\r\n"...), parsed into *<m> from
 * a guarded copy (release it with guard_release() once done with *<m>). */
static const char *parse_resp(int status, const char *hdrs, struct sip_msg *m)
{
	struct sip_parse_cfg cfg = { .stats = &stats };
	char text[8192];
	const char *g;
	int n;

	sip_parse_limits_default(&cfg.limits);
	n = snprintf(text, sizeof(text),
		     "SIP/2.0 %d %s\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK.d1\r\n"
		     "From: <sip:alice@" EX_REALM ">;tag=a1\r\n"
		     "To: <" EX_URI ">;tag=b1\r\n"
		     "Call-ID: dg1@192.0.2.1\r\n"
		     "CSeq: 1 MESSAGE\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     status, status == 407 ? "Proxy Authentication Required" : "Unauthorized", hdrs);
	cr_assert(n > 0 && (size_t)n < sizeof(text));
	g = guard_copy(text, (size_t)n);
	cr_assert_eq(sip_parse_msg(&cfg, g, (size_t)n, m), 0, "%s", text);
	return g;
}

static void creds_of(struct sip_digest_creds *c, const char *const *items, size_t n)
{
	char err[128] = "";

	cr_assert_eq(sip_digest_creds_parse(c, items, n, err, sizeof(err)), 0, "%s", err);
}

/* The answer to the 401/407 <status> with challenges <hdrs>, creds <cred>, for MESSAGE
 * EX_URI with <body>, nc <nc> and cnonce EX_CNONCE: its return value, *<hdr> and <out>. */
static int answer(int status, const char *hdrs, const char *cred, const char *body, uint32_t nc,
		  char *out, size_t cap, enum sip_hid *hdr)
{
	static struct sip_digest_creds c;
	struct sip_msg m;
	const char *g = parse_resp(status, hdrs, &m);
	int rc;

	creds_of(&c, &cred, 1);
	rc = sip_digest_answer_cnonce(&m, &c, SL("MESSAGE"), SL(EX_URI), SL(body), nc,
				      SL(EX_CNONCE), out, cap, hdr);
	guard_release(g);
	return rc;
}

/* ---- the request-digest ------------------------------------------------------------- */

Test(sip_digest, rfc2617_example)
{
	char hex[33];

	cr_assert_eq(sip_digest_response(SIP_DIGEST_MD5, SL("Mufasa"), SL("testrealm@host.com"),
					 SL("Circle Of Life"), SL("GET"), SL("/dir/index.html"),
					 SL("dcd98b7102dd2f0e8b11d0f600bfb0c093"), SL("0a4f113b"), 1,
					 SL("auth"), CM_SLICE_NULL, hex, sizeof(hex)), 32);
	cr_assert_str_eq(hex, "6629fae49393a05397450978507c4ef1");
}

Test(sip_digest, rfc7616_examples)
{
	char hex[65];

	cr_assert_eq(sip_digest_response(SIP_DIGEST_SHA256, SL("Mufasa"), SL(R7616_REALM),
					 SL("Circle of Life"), SL("GET"), SL("/dir/index.html"),
					 SL(R7616_NONCE), SL(R7616_CNONCE), 1, SL("auth"),
					 CM_SLICE_NULL, hex, sizeof(hex)), 64);
	cr_assert_str_eq(hex, R7616_SHA256);
	cr_assert_eq(sip_digest_response(SIP_DIGEST_MD5, SL("Mufasa"), SL(R7616_REALM),
					 SL("Circle of Life"), SL("GET"), SL("/dir/index.html"),
					 SL(R7616_NONCE), SL(R7616_CNONCE), 1, SL("auth"),
					 CM_SLICE_NULL, hex, sizeof(hex)), 32);
	cr_assert_str_eq(hex, R7616_MD5);
}

/* Our example with <alg>, <nc>, <qop>, <body>: the hex, checked against <want>. */
static void ex_response(enum sip_digest_alg alg, uint32_t nc, const char *qop, const char *body,
			const char *want)
{
	char hex[65];
	int n = sip_digest_response(alg, SL("alice"), SL(EX_REALM), SL("s3cr:et"), SL("MESSAGE"),
				    SL(EX_URI), SL(EX_NONCE), SL(EX_CNONCE), nc, SL(qop),
				    SL(body), hex, sizeof(hex));

	cr_assert_eq(n, (int)strlen(want), "%s %s", sip_digest_alg_name(alg), qop);
	cr_assert_str_eq(hex, want, "%s %s", sip_digest_alg_name(alg), qop);
}

Test(sip_digest, response_variants)
{
	ex_response(SIP_DIGEST_MD5, 1, "auth", "", "ff50cbefb6edf2fbbae051451642df0a");
	/* the body only counts for auth-int */
	ex_response(SIP_DIGEST_MD5, 1, "auth", "hello", "ff50cbefb6edf2fbbae051451642df0a");
	ex_response(SIP_DIGEST_MD5, 1, "auth-int", "hello", "699d377c89dec9aade7048f955e0b0e8");
	ex_response(SIP_DIGEST_MD5, 1, "auth-int", "", "9ab87d6ce5186fe7643a27fa67e4d27e");
	ex_response(SIP_DIGEST_SHA256, 1, "auth-int", "hello",
		    "f567dd57d3a713ca24ca365a5753a18d2b6c9615d0e9b46831d8125627af52d4");
	ex_response(SIP_DIGEST_MD5, 1, "", "", "e4be96b74e0f279fe03edcf253e95c5b");
	ex_response(SIP_DIGEST_MD5, 7, "", "", "e4be96b74e0f279fe03edcf253e95c5b");
	ex_response(SIP_DIGEST_MD5_SESS, 1, "auth", "", "0cc4e5a5a8e91f0600da431d3b5b18fe");
	ex_response(SIP_DIGEST_SHA256_SESS, 1, "auth", "",
		    "fd434ea1a995981c30b76c1ba1a747439deb88cb380f0fe77ae02dba69f414f1");
	ex_response(SIP_DIGEST_MD5, 0x1a, "auth", "", "5f437555993388b1a610c7130c136c3e");
}

Test(sip_digest, response_refusals)
{
	char hex[65];

	cr_assert_eq(sip_digest_response(SIP_DIGEST_MD5, SL("a"), SL("r"), SL("p"), SL("M"),
					 SL("u"), SL("n"), SL("c"), 1, SL("auth-conf"),
					 CM_SLICE_NULL, hex, sizeof(hex)), -EINVAL);
	cr_assert_eq(sip_digest_response(SIP_DIGEST__COUNT, SL("a"), SL("r"), SL("p"), SL("M"),
					 SL("u"), SL("n"), SL("c"), 1, SL("auth"),
					 CM_SLICE_NULL, hex, sizeof(hex)), -EINVAL);
	cr_assert_eq(sip_digest_response(SIP_DIGEST_MD5, SL("a"), SL("r"), SL("p"), SL("M"),
					 SL("u"), SL("n"), SL("c"), 1, SL("auth"),
					 CM_SLICE_NULL, hex, 32), -ENOSPC);
	cr_assert_eq(sip_digest_response(SIP_DIGEST_MD5, SL("a"), SL("r"), SL("p"), SL("M"),
					 SL("u"), SL("n"), SL("c"), 1, SL("AUTH"),
					 CM_SLICE_NULL, hex, 33), 32);
	cr_assert_eq(sip_digest_response(SIP_DIGEST_SHA256, SL("a"), SL("r"), SL("p"), SL("M"),
					 SL("u"), SL("n"), SL("c"), 1, SL("auth"),
					 CM_SLICE_NULL, hex, 64), -ENOSPC);
	cr_assert_str_eq(sip_digest_alg_name(SIP_DIGEST_SHA256_SESS), "SHA-256-sess");
	cr_assert_str_eq(sip_digest_alg_name(SIP_DIGEST__COUNT), "");
}

/* ---- answers ------------------------------------------------------------------------ */

#define R7616_CHALLENGE(alg)                                                               \
	"WWW-Authenticate: Digest realm=\"" R7616_REALM "\", qop=\"auth, auth-int\", "     \
	"algorithm=" alg ", nonce=\"" R7616_NONCE "\", opaque=\"" R7616_OPAQUE "\"\r\n"

/* RFC 7616 §3.9.1 end to end: the server offers SHA-256 and MD5, in either order. */
Test(sip_digest, rfc7616_two_challenges_sha256_wins)
{
	static const char *const hdrs[2] = {
		R7616_CHALLENGE("MD5") R7616_CHALLENGE("SHA-256"),
		R7616_CHALLENGE("SHA-256") R7616_CHALLENGE("MD5"),
	};
	static const char *const cred = R7616_REALM ":Mufasa:Circle of Life";
	static struct sip_digest_creds c;
	const char *want = "Digest username=\"Mufasa\", realm=\"" R7616_REALM "\", nonce=\""
			   R7616_NONCE "\", uri=\"/dir/index.html\", response=\"" R7616_SHA256
			   "\", algorithm=SHA-256, cnonce=\"" R7616_CNONCE "\", qop=auth, "
			   "nc=00000001, opaque=\"" R7616_OPAQUE "\"";

	creds_of(&c, &cred, 1);
	for (int k = 0; k < 2; k++) {
		struct sip_msg m;
		const char *g = parse_resp(401, hdrs[k], &m);
		enum sip_hid h = SIP_H_OTHER;
		char out[1024];
		int n = sip_digest_answer_cnonce(&m, &c, SL("GET"), SL("/dir/index.html"),
						 CM_SLICE_NULL, 1, SL(R7616_CNONCE), out,
						 sizeof(out), &h);

		cr_assert_eq(n, (int)strlen(want), "order %d: %d %s", k, n, out);
		cr_assert_str_eq(out, want, "order %d", k);
		cr_assert_eq(h, SIP_H_AUTHORIZATION);
		guard_release(g);
	}
}

Test(sip_digest, rfc7616_md5_only)
{
	static const char *const cred = R7616_REALM ":Mufasa:Circle of Life";
	static struct sip_digest_creds c;
	struct sip_msg m;
	const char *g = parse_resp(401, R7616_CHALLENGE("MD5"), &m);
	enum sip_hid h;
	char out[1024];

	creds_of(&c, &cred, 1);
	cr_assert_gt(sip_digest_answer_cnonce(&m, &c, SL("GET"), SL("/dir/index.html"),
					      CM_SLICE_NULL, 1, SL(R7616_CNONCE), out,
					      sizeof(out), &h), 0);
	cr_assert(strstr(out, "response=\"" R7616_MD5 "\", algorithm=MD5,"), "%s", out);
	guard_release(g);
}

/* A challenge of our example's realm and nonce with more <params> (", qop=...") */
#define EX_CHALLENGE(name, params) \
	name ": Digest realm=\"" EX_REALM "\", nonce=\"" EX_NONCE "\"" params "\r\n"
#define EX_WWW(params)   EX_CHALLENGE("WWW-Authenticate", params)
#define EX_PROXY(params) EX_CHALLENGE("Proxy-Authenticate", params)

/* The answer to the 401/407 <status> with <hdrs> for <cred> (<body>, <nc>) succeeds, with
 * header <hdr> and each of the NULL-ended strings after <hdr> in its value. */
static void answered(int status, const char *hdrs, const char *cred, const char *body,
		     uint32_t nc, int hdr, ...)
{
	enum sip_hid h = SIP_H_OTHER;
	char out[1024];
	const char *want;
	va_list ap;
	int n = answer(status, hdrs, cred, body, nc, out, sizeof(out), &h);

	cr_assert_gt(n, 0, "%d for %s", n, hdrs);
	cr_assert_eq(strlen(out), (size_t)n);
	cr_assert_eq((int)h, hdr, "%s", hdrs);
	va_start(ap, hdr);
	while ((want = va_arg(ap, const char *)))
		cr_assert(strstr(out, want), "%s not in %s", want, out);
	va_end(ap);
}

/* The answer to the 401/407 <status> with <hdrs> for <cred> fails with <err>. */
static void refused(int status, const char *hdrs, const char *cred, int err)
{
	enum sip_hid h = SIP_H_OTHER;
	char out[1024];

	cr_assert_eq(answer(status, hdrs, cred, "", 1, out, sizeof(out), &h), err, "%s", hdrs);
	cr_assert_eq(h, SIP_H_OTHER);
	cr_assert_str_eq(out, "");
}

#define MD5_AUTH "response=\"ff50cbefb6edf2fbbae051451642df0a\""

Test(sip_digest, proxy_challenge_gets_proxy_authorization)
{
	/* the whole value, in order */
	answered(407, EX_PROXY(", qop=\"auth\""), EX_CRED, "", 1, SIP_H_PROXY_AUTHORIZATION,
		 "Digest username=\"alice\", realm=\"" EX_REALM "\", nonce=\"" EX_NONCE
		 "\", uri=\"" EX_URI "\", " MD5_AUTH ", algorithm=MD5, cnonce=\"" EX_CNONCE
		 "\", qop=auth, nc=00000001",
		 NULL);
	/* a 407 is answered from Proxy-Authenticate only, a 401 from WWW-Authenticate only */
	refused(407, EX_WWW(""), EX_CRED, -EINVAL);
	refused(401, EX_PROXY(""), EX_CRED, -EINVAL);
	answered(401, "Proxy-Authenticate: Digest realm=\"x\", nonce=\"y\"\r\n" EX_WWW(""),
		 EX_CRED, "", 1, SIP_H_AUTHORIZATION, "nonce=\"" EX_NONCE "\"", NULL);
}

Test(sip_digest, auth_int_hashes_the_body)
{
	answered(401, EX_WWW(", qop=\"auth-int\""), EX_CRED, "hello", 1, SIP_H_AUTHORIZATION,
		 "response=\"699d377c89dec9aade7048f955e0b0e8\"", ", qop=auth-int, nc=00000001",
		 NULL);
	/* auth preferred when both are offered, in any order */
	answered(401, EX_WWW(", qop=\"auth-int,auth\""), EX_CRED, "hello", 1,
		 SIP_H_AUTHORIZATION, MD5_AUTH, ", qop=auth, ", NULL);
	/* a qop list with nothing we know: unusable */
	refused(401, EX_WWW(", qop=\"auth-conf\""), EX_CRED, -EINVAL);
}

Test(sip_digest, no_qop_rfc2069)
{
	answered(401, EX_WWW(", opaque=\"op\""), EX_CRED, "", 1, SIP_H_AUTHORIZATION,
		 "Digest username=\"alice\", realm=\"" EX_REALM "\", nonce=\"" EX_NONCE
		 "\", uri=\"" EX_URI "\", response=\"e4be96b74e0f279fe03edcf253e95c5b\", "
		 "algorithm=MD5, opaque=\"op\"",
		 NULL);
	/* -sess without qop has no cnonce to hash: skipped */
	refused(401, EX_WWW(", algorithm=MD5-sess"), EX_CRED, -EINVAL);
}

Test(sip_digest, sess_and_nonce_count)
{
	answered(401, EX_WWW(", qop=\"auth\", algorithm=md5-SESS"), EX_CRED, "", 1,
		 SIP_H_AUTHORIZATION,
		 "response=\"0cc4e5a5a8e91f0600da431d3b5b18fe\", algorithm=MD5-sess,", NULL);
	answered(401, EX_WWW(", qop=\"auth\", algorithm=SHA-256-sess"), EX_CRED, "", 1,
		 SIP_H_AUTHORIZATION,
		 "response=\"fd434ea1a995981c30b76c1ba1a747439deb88cb380f0fe77ae02dba69f414f1\", "
		 "algorithm=SHA-256-sess,",
		 NULL);
	answered(401, EX_WWW(", qop=\"auth\""), EX_CRED, "", 0x1a, SIP_H_AUTHORIZATION,
		 "response=\"5f437555993388b1a610c7130c136c3e\"", "nc=0000001a", NULL);
}

Test(sip_digest, unknown_algorithms_and_schemes_skipped)
{
	answered(401,
		 "WWW-Authenticate: Basic realm=\"" EX_REALM "\"\r\n"
		 "WWW-Authenticate: Digest realm=\"" EX_REALM "\", nonce=\"n1\", "
		 "algorithm=SHA-512-256, qop=\"auth\"\r\n"
		 "WWW-Authenticate: Digest realm=\"" EX_REALM "\", nonce=\"n2\", "
		 "algorithm=AKAv1-MD5, qop=\"auth\"\r\n"
		 "WWW-Authenticate: Digest realm=\"" EX_REALM "\", qop=\"auth\"\r\n"
		 EX_WWW(", algorithm=MD5, qop=\"auth\""),
		 EX_CRED, "", 1, SIP_H_AUTHORIZATION, "nonce=\"" EX_NONCE "\"", MD5_AUTH, NULL);
	/* nothing usable at all */
	refused(401,
		"WWW-Authenticate: Digest realm=\"" EX_REALM "\", nonce=\"n1\", "
		"algorithm=SHA-512-256\r\n"
		"WWW-Authenticate: Basic realm=\"" EX_REALM "\"\r\n"
		"WWW-Authenticate: Digest realm=\"" EX_REALM "\", nonce=\"x\", "
		"nonce=\"repeated\"\r\n",
		EX_CRED, -EINVAL);
	refused(401, "", EX_CRED, -EINVAL);
}

Test(sip_digest, credentials_per_realm)
{
	static const char *const items[] = { "b.example:bob:pw-b", "*:any:pw-any",
					     EX_CRED };
	static struct sip_digest_creds c;

	/* no credentials for the realm offered */
	refused(401, "WWW-Authenticate: Digest realm=\"other.example\", nonce=\"n\"\r\n",
		EX_CRED, -ENOENT);
	/* of two realms, the one we have credentials for, even when MD5 against SHA-256 */
	answered(401,
		 "WWW-Authenticate: Digest realm=\"other.example\", nonce=\"n\", "
		 "algorithm=SHA-256\r\n" EX_WWW(", qop=\"auth\""),
		 EX_CRED, "", 1, SIP_H_AUTHORIZATION, MD5_AUTH, NULL);
	/* lookups: exact realm first, "*" else; realms compare exactly */
	creds_of(&c, items, 3);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(sip_digest_creds_find(&c, SL("b.example"))->user, "bob");
	cr_assert_str_eq(sip_digest_creds_find(&c, SL(EX_REALM))->user, "alice");
	cr_assert_str_eq(sip_digest_creds_find(&c, SL(EX_REALM))->password, "s3cr:et");
	cr_assert_str_eq(sip_digest_creds_find(&c, SL("B.example"))->user, "any");
	cr_assert_str_eq(sip_digest_creds_find(&c, SL(""))->user, "any");
	creds_of(&c, items, 1);
	cr_assert_null(sip_digest_creds_find(&c, SL("B.example")));
	cr_assert_null(sip_digest_creds_find(&c, SL("b.exampl")));
}

Test(sip_digest, star_realm_answers_any_realm)
{
	/* the realm of the challenge goes into the answer and into HA1 */
	answered(401, EX_WWW(", qop=\"auth\""), "*:alice:s3cr:et", "", 1, SIP_H_AUTHORIZATION,
		 "realm=\"" EX_REALM "\"", MD5_AUTH, NULL);
}

Test(sip_digest, quoted_strings_escaped)
{
	static const char *const cred = EX_REALM ":a\"b\\c:pw";
	static struct sip_digest_creds c;
	static struct msrp_auth_params ap;
	struct sip_msg m;
	const char *g = parse_resp(401,
				   "WWW-Authenticate: Digest realm=\"" EX_REALM "\", nonce=\"n\\\"q\", "
				   "qop=\"auth\", opaque=\"o\\\\p\"\r\n", &m);
	enum sip_hid h;
	char out[1024];
	int n;

	creds_of(&c, &cred, 1);
	n = sip_digest_answer_cnonce(&m, &c, SL("MESSAGE"), SL(EX_URI), CM_SLICE_NULL, 1,
				     SL("c\"n"), out, sizeof(out), &h);
	cr_assert_gt(n, 0);
	cr_assert(strstr(out, "username=\"a\\\"b\\\\c\", "), "%s", out);
	cr_assert(strstr(out, "nonce=\"n\\\"q\", "), "%s", out);
	cr_assert(strstr(out, "cnonce=\"c\\\"n\", "), "%s", out);
	cr_assert(strstr(out, "opaque=\"o\\\\p\""), "%s", out);
	/* parsed back: the same unescaped values */
	cr_assert_eq(sip_auth_parse((cm_slice){ out, (size_t)n }, &ap), 0, "%s", out);
	cr_assert(ap.username.len == 5 && memcmp(ap.username.p, "a\"b\\c", 5) == 0);
	cr_assert(ap.nonce.len == 3 && memcmp(ap.nonce.p, "n\"q", 3) == 0);
	cr_assert(ap.cnonce.len == 3 && memcmp(ap.cnonce.p, "c\"n", 3) == 0);
	cr_assert(ap.opaque.len == 3 && memcmp(ap.opaque.p, "o\\p", 3) == 0);
	guard_release(g);
	/* the hash is over the unescaped values */
	{
		char hex[33];

		cr_assert_eq(sip_digest_response(SIP_DIGEST_MD5, SL("a\"b\\c"), SL(EX_REALM),
						 SL("pw"), SL("MESSAGE"), SL(EX_URI), SL("n\"q"),
						 SL("c\"n"), 1, SL("auth"), CM_SLICE_NULL, hex,
						 sizeof(hex)), 32);
		cr_assert(ap.response.len == 32 && memcmp(ap.response.p, hex, 32) == 0, "%s", out);
		/* known answer for such a user name (hashlib) */
		cr_assert_eq(sip_digest_response(SIP_DIGEST_MD5, SL("a\"b\\c"), SL(EX_REALM),
						 SL("pw"), SL("MESSAGE"), SL(EX_URI),
						 SL(EX_NONCE), SL(EX_CNONCE), 1, SL("auth"),
						 CM_SLICE_NULL, hex, sizeof(hex)), 32);
		cr_assert_str_eq(hex, "20b27421629e8646b3e0b02a17fd8b26");
	}
}

Test(sip_digest, random_cnonce_verifies)
{
	static const char *const cred = EX_CRED;
	static struct sip_digest_creds c;
	static struct msrp_auth_params ap;
	struct sip_msg m;
	const char *g = parse_resp(407,
				   "Proxy-Authenticate: Digest realm=\"" EX_REALM "\", nonce=\""
				   EX_NONCE "\", qop=\"auth\", algorithm=SHA-256\r\n", &m);
	char out[2][1024], cn[2][64], hex[65];
	enum sip_hid h;

	creds_of(&c, &cred, 1);
	for (int k = 0; k < 2; k++) {
		int n = sip_digest_answer(&m, &c, SL("MESSAGE"), SL(EX_URI), CM_SLICE_NULL, 1,
					  out[k], sizeof(out[k]), &h);

		cr_assert_gt(n, 0);
		cr_assert_eq(h, SIP_H_PROXY_AUTHORIZATION);
		cr_assert_eq(sip_auth_parse((cm_slice){ out[k], (size_t)n }, &ap), 0);
		cr_assert_eq(ap.cnonce.len, SIP_DIGEST_CNONCE_LEN);
		for (size_t i = 0; i < ap.cnonce.len; i++)
			cr_assert(strchr("0123456789abcdef", ap.cnonce.p[i]) && ap.cnonce.p[i]);
		cr_assert_eq(sip_digest_response(SIP_DIGEST_SHA256, SL("alice"), SL(EX_REALM),
						 SL("s3cr:et"), SL("MESSAGE"), SL(EX_URI),
						 SL(EX_NONCE), ap.cnonce, 1, SL("auth"),
						 CM_SLICE_NULL, hex, sizeof(hex)), 64);
		cr_assert(ap.response.len == 64 && memcmp(ap.response.p, hex, 64) == 0,
			  "%s", out[k]);
		memcpy(cn[k], ap.cnonce.p, ap.cnonce.len);
		cn[k][ap.cnonce.len] = '\0';
	}
	cr_assert_str_neq(cn[0], cn[1]);
	guard_release(g);
}

Test(sip_digest, stale)
{
	struct sip_msg m;
	const char *g = parse_resp(401,
				   "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", stale=TRUE\r\n",
				   &m);

	cr_assert_eq(sip_digest_stale(&m), 1);
	guard_release(g);
	g = parse_resp(401, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", stale=false\r\n",
		       &m);
	cr_assert_eq(sip_digest_stale(&m), 0);
	guard_release(g);
	g = parse_resp(407, "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", stale=true\r\n",
		       &m);
	cr_assert_eq(sip_digest_stale(&m), 0);
	guard_release(g);
}

Test(sip_digest, enospc)
{
	const char *ch = EX_WWW(", qop=\"auth\", opaque=\"opq\"");
	enum sip_hid h = SIP_H_OTHER;
	char full[1024], small[1024];
	int n = answer(401, ch, EX_CRED, "", 1, full, sizeof(full), &h);

	cr_assert_gt(n, 0);
	cr_assert_eq(strlen(full), (size_t)n);
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		memset(small, 'x', sizeof(small));
		h = SIP_H_OTHER;
		cr_assert_eq(answer(401, ch, EX_CRED, "", 1, small, cap, &h), -ENOSPC, "%zu", cap);
		cr_assert_eq(h, SIP_H_OTHER);
		cr_assert(cap == 0 ? small[0] == 'x' : small[0] == '\0');
		cr_assert_eq(small[cap], 'x', "wrote past %zu", cap);
	}
	cr_assert_eq(answer(401, ch, EX_CRED, "", 1, small, (size_t)n + 1, &h), n);
	cr_assert_str_eq(small, full);
}

Test(sip_digest, bad_arguments)
{
	static const char *const cred = EX_CRED;
	static struct sip_digest_creds c;
	const char *ch = "WWW-Authenticate: Digest realm=\"" EX_REALM "\", nonce=\"n\"\r\n";
	struct sip_msg m;
	const char *g = parse_resp(401, ch, &m);
	enum sip_hid h;
	char out[1024];

	creds_of(&c, &cred, 1);
	cr_assert_gt(sip_digest_answer(&m, &c, SL("MESSAGE"), SL(EX_URI), CM_SLICE_NULL, 1, out,
				       sizeof(out), &h), 0);
	cr_assert_eq(sip_digest_answer(&m, &c, SL(""), SL(EX_URI), CM_SLICE_NULL, 1, out,
				       sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_answer(&m, &c, SL("MES SAGE"), SL(EX_URI), CM_SLICE_NULL, 1, out,
				       sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_answer(&m, &c, SL("MESSAGE"), SL(""), CM_SLICE_NULL, 1, out,
				       sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_answer(&m, &c, SL("MESSAGE"), SL("sip:a b"), CM_SLICE_NULL, 1,
				       out, sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_answer(&m, &c, SL("MESSAGE"), SL("sip:a\r\nb"), CM_SLICE_NULL, 1,
				       out, sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_answer(&m, &c, SL("MESSAGE"), SL(EX_URI), CM_SLICE_NULL, 0, out,
				       sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_answer_cnonce(&m, &c, SL("MESSAGE"), SL(EX_URI), CM_SLICE_NULL, 1,
					      SL(""), out, sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_answer(NULL, &c, SL("MESSAGE"), SL(EX_URI), CM_SLICE_NULL, 1,
				       out, sizeof(out), &h), -EINVAL);
	guard_release(g);
	/* not a 401/407 */
	g = parse_resp(403, ch, &m);
	cr_assert_eq(sip_digest_answer(&m, &c, SL("MESSAGE"), SL(EX_URI), CM_SLICE_NULL, 1, out,
				       sizeof(out), &h), -EINVAL);
	cr_assert_eq(sip_digest_stale(&m), 0);
	guard_release(g);
}

/* ---- credentials -------------------------------------------------------------------- */

Test(sip_digest, creds_parse_errors)
{
	static struct sip_digest_creds c;
	static char lr[300], lu[300], lp[300], okp[600];
	static const char *many[SIP_DIGEST_MAX_CREDS + 1];
	static char many_s[SIP_DIGEST_MAX_CREDS + 1][32];
	const struct {
		const char *items[3];
		size_t n;
		const char *err;
	} bad[] = {
		{ { "r:u:p", NULL }, 2, "item 2: missing" },
		{ { "rup" }, 1, "item 1: expected realm:user:password" },
		{ { "r:u:p", "r:u" }, 2, "item 2: expected realm:user:password" },
		{ { ":u:p" }, 1, "item 1: realm empty or too long" },
		{ { "r::p" }, 1, "item 1: user empty or too long" },
		{ { lr }, 1, "item 1: realm empty or too long" },
		{ { lu }, 1, "item 1: user empty or too long" },
		{ { lp }, 1, "item 1: password too long" },
		{ { "r\tx:u:p" }, 1, "item 1: control character in realm or user" },
		{ { "r:u\x7f:p" }, 1, "item 1: control character in realm or user" },
		{ { "a:u:p", "b:u:p", "a:v:q" }, 3, "item 3: realm repeated" },
		{ { "*:u:p", "*:v:q" }, 2, "item 2: realm repeated" },
	};
	char err[128];

	snprintf(lr, sizeof(lr), "%0*d:u:p", SIP_DIGEST_REALM_MAX + 1, 0);
	snprintf(lu, sizeof(lu), "r:%0*d:p", SIP_DIGEST_USER_MAX + 1, 0);
	snprintf(lp, sizeof(lp), "r:u:%0*d", SIP_DIGEST_PASS_MAX + 1, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.n = 5;
		err[0] = '\0';
		cr_assert_eq(sip_digest_creds_parse(&c, bad[i].items, bad[i].n, err, sizeof(err)),
			     -EINVAL, "%zu", i);
		cr_assert_str_eq(err, bad[i].err, "%zu", i);
		cr_assert_eq(c.n, 0);
	}
	/* the longest of each part, ':' and any byte in the password, an empty password */
	snprintf(okp, sizeof(okp), "%0*d:%0*d:%0*d", SIP_DIGEST_REALM_MAX, 1,
		 SIP_DIGEST_USER_MAX, 2, SIP_DIGEST_PASS_MAX, 3);
	{
		const char *ok[] = { okp, "r:u:", "s:u::\t\"x" };

		creds_of(&c, ok, 3);
		cr_assert_eq(c.n, 3);
		cr_assert_eq(c.v[0].rlen, SIP_DIGEST_REALM_MAX);
		cr_assert_eq(c.v[0].plen, SIP_DIGEST_PASS_MAX);
		cr_assert_eq(c.v[1].plen, 0);
		cr_assert_str_eq(c.v[2].password, ":\t\"x");
	}
	/* at most SIP_DIGEST_MAX_CREDS; no <err> needed */
	for (int i = 0; i <= SIP_DIGEST_MAX_CREDS; i++) {
		snprintf(many_s[i], sizeof(many_s[i]), "realm%d:u:p", i);
		many[i] = many_s[i];
	}
	creds_of(&c, many, SIP_DIGEST_MAX_CREDS);
	cr_assert_eq(c.n, SIP_DIGEST_MAX_CREDS);
	cr_assert_str_eq(sip_digest_creds_find(&c, SL("realm63"))->realm, "realm63");
	cr_assert_eq(sip_digest_creds_parse(&c, many, SIP_DIGEST_MAX_CREDS + 1, err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "item 65: more than 64 credentials");
	cr_assert_eq(sip_digest_creds_parse(&c, many, SIP_DIGEST_MAX_CREDS + 1, NULL, 0),
		     -EINVAL);
	cr_assert_eq(sip_digest_creds_parse(&c, many, 0, err, sizeof(err)), 0);
	cr_assert_eq(c.n, 0);
	cr_assert_null(sip_digest_creds_find(&c, SL("realm1")));
}
