/* test_msrp_auth.c — Digest for MSRP AUTH: the RFC 2617 vector, htdigest files (good and
 * malformed), the challenge parsed back, full rounds (ok, wrong password, other realm,
 * tampered and expired nonces, replayed nonce-count), malformed Authorization values on
 * guard pages, Authentication-Info. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/md5.h>

#include "msrp/msrp_auth.h"
#include "msrp/msrp_id.h"
#include "tests/lib/guard.h"

#define REALM "relay.example.com"
#define URI   "msrps://relay.example.com:2855;tcp"

static struct msrp_auth_cfg cfg;
static struct msrp_creds creds;
static char dir[64];

static cm_slice S(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

/* Writes <text> to a file in the test's directory; its path in <path>. */
static void write_file(const char *name, const char *text, size_t len, char *path,
		       size_t plen)
{
	FILE *f;

	snprintf(path, plen, "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* HA1 hex computed here with wolfSSL directly, not through the code under test */
static void ha1_hex(const char *user, const char *realm, const char *pw, char out[33])
{
	static const char hx[] = "0123456789abcdef";
	char a1[512];
	uint8_t h[16];
	wc_Md5 m;

	snprintf(a1, sizeof(a1), "%s:%s:%s", user, realm, pw);
	cr_assert_eq(wc_InitMd5(&m), 0);
	cr_assert_eq(wc_Md5Update(&m, (const byte *)a1, (word32)strlen(a1)), 0);
	cr_assert_eq(wc_Md5Final(&m, h), 0);
	wc_Md5Free(&m);
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[32] = '\0';
}

static void setup(void)
{
	char text[1024], h1[33], h2[33], h3[33], path[128], err[256];

	cr_assert_eq(msrp_id_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_msrp_auth.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	ha1_hex("alice", REALM, "secret", h1);
	ha1_hex("bob", REALM, "hunter2", h2);
	ha1_hex("alice", "other.realm", "elsewhere", h3);
	snprintf(text, sizeof(text),
		 "# written by the test, as htdigest would\n"
		 "alice:" REALM ":%s\n"
		 "\n"
		 "   \t\n"
		 "bob:" REALM ":%s\r\n"
		 "  # indented comment\n"
		 "alice:other.realm:%s",   /* no final newline */
		 h1, h2, h3);
	write_file("users", text, strlen(text), path, sizeof(path));
	cr_assert_eq(msrp_creds_load(&creds, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(msrp_auth_cfg_init(&cfg, S(REALM), 0), 0);
}

static void teardown(void)
{
	char cmd[128];

	msrp_creds_free(&creds);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(msrp_auth, .init = setup, .fini = teardown);

Test(msrp_auth, rfc2617_vector)
{
	uint8_t ha1[16];
	char hex[33];

	cr_assert_eq(msrp_auth_ha1(S("Mufasa"), S("testrealm@host.com"), S("Circle Of Life"),
				   ha1), 0);
	cr_assert_eq(msrp_auth_digest(ha1, S("GET"), S("/dir/index.html"),
				      S("dcd98b7102dd2f0e8b11d0f600bfb0c093"), S("00000001"),
				      S("0a4f113b"), S("auth"), hex), 0);
	cr_expect_str_eq(hex, "6629fae49393a05397450978507c4ef1");
}

Test(msrp_auth, creds_lookup)
{
	char h[33], got[33];
	const uint8_t *p;

	cr_expect_eq(creds.n, 3);
	p = msrp_creds_ha1(&creds, S("bob"), S(REALM));
	cr_assert_not_null(p);
	ha1_hex("bob", REALM, "hunter2", h);
	for (int i = 0; i < 16; i++)
		snprintf(got + 2 * i, 3, "%02x", p[i]);
	cr_expect_str_eq(got, h);
	cr_expect_not_null(msrp_creds_ha1(&creds, S("alice"), S("other.realm")));
	cr_expect_neq(msrp_creds_ha1(&creds, S("alice"), S("other.realm")),
		      msrp_creds_ha1(&creds, S("alice"), S(REALM)));
	cr_expect_null(msrp_creds_ha1(&creds, S("Alice"), S(REALM)));
	cr_expect_null(msrp_creds_ha1(&creds, S("alic"), S(REALM)));
	cr_expect_null(msrp_creds_ha1(&creds, S("bob"), S("other.realm")));
	cr_expect_null(msrp_creds_ha1(&creds, CM_SLICE_NULL, S(REALM)));
}

Test(msrp_auth, creds_many)
{
	char path[128], err[256], line[128], h[33];
	size_t cap = 2000 * 128, len = 0;
	char *text = malloc(cap);
	struct msrp_creds c;

	cr_assert_not_null(text);
	for (int i = 0; i < 2000; i++) {
		snprintf(line, sizeof(line), "u%d", i);
		ha1_hex(line, "r", "pw", h);
		len += (size_t)snprintf(text + len, cap - len, "u%d:r:%s\n", i, h);
	}
	write_file("many", text, len, path, sizeof(path));
	free(text);
	cr_assert_eq(msrp_creds_load(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.n, 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(line, sizeof(line), "u%d", i);
		cr_expect_not_null(msrp_creds_ha1(&c, S(line), S("r")));
	}
	cr_expect_null(msrp_creds_ha1(&c, S("u2000"), S("r")));
	msrp_creds_free(&c);
	msrp_creds_free(&c);
}

static void expect_load_error(const char *text, size_t len, int rc, const char *msg)
{
	char path[128], err[256], want[256];
	struct msrp_creds c;

	write_file("bad", text, len, path, sizeof(path));
	cr_expect_eq(msrp_creds_load(&c, path, err, sizeof(err)), rc, "%s", text);
	snprintf(want, sizeof(want), "%s%s", path, msg);
	cr_expect_not_null(strstr(err, want), "got '%s', want '%s'", err, want);
	cr_expect_eq(c.n, 0);
	cr_expect_null(c.v);
}

Test(msrp_auth, creds_malformed)
{
	static const char h[] = "0123456789abcdef0123456789abcdef";
	char big[MSRP_CREDS_LINE_MAX + 64];

	expect_load_error("# c\nalice\n", 10, -EINVAL, ":2: expected user:realm:HA1");
	expect_load_error("alice:realm\n", 12, -EINVAL, ":1: expected user:realm:HA1");
	expect_load_error("alice:realm:0123\n", 17, -EINVAL, ":1: HA1 is not 32 hex");
	expect_load_error("a:r:0123456789abcdef0123456789abcdeg\n", 37, -EINVAL,
			  ":1: HA1 is not 32 hex");
	expect_load_error("a:r:0123456789abcdef0123456789abcdef:x\n", 39, -EINVAL,
			  ":1: HA1 is not 32 hex");
	expect_load_error(":r:0123456789abcdef0123456789abcdef\n", 36, -EINVAL,
			  ":1: user empty");
	expect_load_error("a::0123456789abcdef0123456789abcdef\n", 36, -EINVAL,
			  ":1: realm empty");
	expect_load_error("a:r\x01:0123456789abcdef0123456789abcdef\n", 37, -EINVAL,
			  ":1: control character");
	expect_load_error("\n\na:r\0:0123456789abcdef0123456789abcdef\n", 39, -EINVAL,
			  ":3: NUL byte");
	memset(big, 'x', sizeof(big));
	memcpy(big, "a:r:", 4);
	big[sizeof(big) - 1] = '\n';
	expect_load_error(big, sizeof(big), -EINVAL, ":1: line too long");
	{
		char dup[256];
		int n = snprintf(dup, sizeof(dup), "a:r:%s\nb:r:%s\na:r:%s\n", h, h, h);

		expect_load_error(dup, (size_t)n, -EINVAL, ":3: duplicate user and realm");
	}
	{
		struct msrp_creds c;
		char err[256];

		cr_expect_eq(msrp_creds_load(&c, "/nonexistent/x", err, sizeof(err)), -ENOENT);
		cr_expect_not_null(strstr(err, "/nonexistent/x"));
	}
}

Test(msrp_auth, cfg_init)
{
	struct msrp_auth_cfg c2;

	cr_expect_eq(cfg.nonce_ttl_s, MSRP_AUTH_DEFAULT_TTL);
	cr_expect_eq(msrp_auth_cfg_init(&c2, S("a\"b"), 0), -EINVAL);
	cr_expect_eq(msrp_auth_cfg_init(&c2, S("a\\b"), 0), -EINVAL);
	cr_expect_eq(msrp_auth_cfg_init(&c2, CM_SLICE_NULL, 0), -EINVAL);
	cr_expect_eq(msrp_auth_cfg_init(&c2, S("r"), 60), 0);
	cr_expect_eq(c2.nonce_ttl_s, 60);
	cr_expect_neq(memcmp(c2.key, cfg.key, sizeof(cfg.key)), 0);
}

/* The challenge parsed back from a guard page. */
Test(msrp_auth, challenge_parsed_back)
{
	static struct msrp_auth_params ap;
	char buf[512], small[64];
	const char *g;
	int n;

	n = msrp_auth_challenge(&cfg, 0, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_expect_eq((size_t)n, strlen(buf));
	cr_expect_eq(strncmp(buf, "Digest realm=\"" REALM "\", nonce=\"", 34), 0, "%s", buf);
	g = guard_copy(buf, (size_t)n);
	cr_assert_eq(msrp_auth_parse((cm_slice){ g, (size_t)n }, &ap), 0);
	cr_expect_eq(ap.scheme.len, 6);
	cr_expect_eq(memcmp(ap.realm.p, REALM, ap.realm.len), 0);
	cr_expect_eq(ap.nonce.len, MSRP_AUTH_NONCE_LEN);
	cr_expect_eq(ap.qop.len, 4);
	cr_expect_eq(memcmp(ap.qop.p, "auth", 4), 0);
	cr_expect_eq(ap.algorithm.len, 3);
	cr_expect_null(ap.stale.p);
	guard_release(g);

	n = msrp_auth_challenge(&cfg, 1, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_expect_not_null(strstr(buf, ", stale=true"));
	g = guard_copy(buf, (size_t)n);
	cr_assert_eq(msrp_auth_parse((cm_slice){ g, (size_t)n }, &ap), 0);
	cr_expect_eq(ap.stale.len, 4);
	guard_release(g);

	cr_expect_eq(msrp_auth_challenge(&cfg, 0, small, sizeof(small)), -ENOSPC);
}

/* What a client does: parse the challenge, answer it. Writes the Authorization value. */
static void client_answer(const char *challenge, const char *user, const char *realm,
			  const char *pw, const char *nc, char *out, size_t outlen)
{
	static struct msrp_auth_params ap;
	char nonce[128], hex[33];
	uint8_t ha1[16];

	cr_assert_eq(msrp_auth_parse(S(challenge), &ap), 0);
	snprintf(nonce, sizeof(nonce), "%.*s", (int)ap.nonce.len, ap.nonce.p);
	cr_assert_eq(msrp_auth_ha1(S(user), S(realm), S(pw), ha1), 0);
	cr_assert_eq(msrp_auth_digest(ha1, S("AUTH"), S(URI), S(nonce), S(nc), S("0a4f113b"),
				      S("auth"), hex), 0);
	snprintf(out, outlen,
		 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"" URI "\", "
		 "qop=auth, nc=%s, cnonce=\"0a4f113b\", response=\"%s\", algorithm=MD5",
		 user, realm, nonce, nc, hex);
}

static int verify_at(const char *authz, uint64_t now, struct msrp_auth_result *r)
{
	size_t n = strlen(authz);
	const char *g = guard_copy(authz, n);
	int rc = msrp_auth_verify(&cfg, &creds, (cm_slice){ g, n }, S("AUTH"), now, r);

	guard_release(g);
	return rc;
}

Test(msrp_auth, full_round)
{
	static struct msrp_auth_result r;
	char ch[512], az[1024], info[1024], hex[33];
	uint64_t now = 1000000;

	cr_assert_gt(msrp_auth_challenge_at(&cfg, 0, now, ch, sizeof(ch)), 0);
	client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
	cr_assert_eq(verify_at(az, now + 10, &r), MSRP_AUTH_OK, "%s", az);
	cr_expect_eq(r.user.len, 5);
	cr_expect_eq(memcmp(r.user.p, "alice", 5), 0);
	cr_expect_str_eq(r.uri, URI);
	cr_expect_str_eq(r.nc, "00000001");

	/* Authentication-Info: rspauth is the digest with an empty method */
	cr_assert_gt(msrp_auth_info(&r, info, sizeof(info)), 0);
	cr_assert_eq(msrp_auth_digest(r.ha1, CM_SLICE_NULL, S(URI), S(r.nonce), S("00000001"),
				      S("0a4f113b"), S("auth"), hex), 0);
	{
		char want[256];

		snprintf(want, sizeof(want),
			 "rspauth=\"%s\", qop=auth, nc=00000001, cnonce=\"0a4f113b\"", hex);
		cr_expect_str_eq(info, want);
	}
	cr_expect_eq(msrp_auth_info(&r, info, 20), -ENOSPC);

	/* the same nonce-count again: replay */
	cr_expect_eq(verify_at(az, now + 11, &r), MSRP_AUTH_FAIL);
	/* a higher one with the same nonce: fine */
	{
		char ch2[512];

		strcpy(ch2, ch);
		client_answer(ch2, "alice", REALM, "secret", "00000002", az, sizeof(az));
		cr_expect_eq(verify_at(az, now + 12, &r), MSRP_AUTH_OK);
		client_answer(ch2, "alice", REALM, "secret", "00000002", az, sizeof(az));
		cr_expect_eq(verify_at(az, now + 12, &r), MSRP_AUTH_FAIL);
	}
	/* bob, other user, own nonce */
	cr_assert_gt(msrp_auth_challenge_at(&cfg, 0, now, ch, sizeof(ch)), 0);
	client_answer(ch, "bob", REALM, "hunter2", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_OK);
}

Test(msrp_auth, failures)
{
	static struct msrp_auth_result r;
	char ch[512], az[1024];
	uint64_t now = 5000;
	struct msrp_auth_cfg other;

	cr_assert_gt(msrp_auth_challenge_at(&cfg, 0, now, ch, sizeof(ch)), 0);
	client_answer(ch, "alice", REALM, "wrong", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "wrong password");
	client_answer(ch, "carol", REALM, "x", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "unknown user");
	client_answer(ch, "alice", "other.realm", "elsewhere", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "other realm");

	/* tampered nonce: one hex digit of the time changed, response recomputed */
	{
		char *n = strstr(ch, "nonce=\"") + 7;

		n[15] = n[15] == '0' ? '1' : '0';
		client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
		cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "tampered nonce");
		n[15] = n[15] == '0' ? '1' : '0';
		n[20] = n[20] == 'a' ? 'b' : 'a';
		client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
		cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "tampered nonce random");
	}
	/* a nonce of another process (other key), same realm */
	cr_assert_eq(msrp_auth_cfg_init(&other, S(REALM), 0), 0);
	cr_assert_gt(msrp_auth_challenge_at(&other, 0, now, ch, sizeof(ch)), 0);
	client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "foreign nonce");
	/* not a nonce of ours at all */
	client_answer("Digest nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"", "alice", REALM,
		      "secret", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "short nonce");
	/* from the future */
	cr_assert_gt(msrp_auth_challenge_at(&cfg, 0, now + 60, ch, sizeof(ch)), 0);
	client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "future nonce");
	/* nc zero */
	cr_assert_gt(msrp_auth_challenge_at(&cfg, 0, now, ch, sizeof(ch)), 0);
	client_answer(ch, "alice", REALM, "secret", "00000000", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "nc 0");
	/* another method than the client digested */
	client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
	cr_expect_eq(msrp_auth_verify(&cfg, &creds, S(az), S("SEND"), now, &r), MSRP_AUTH_FAIL);
	/* the algorithm or qop we do not offer */
	{
		char *a = strstr(az, "algorithm=MD5");

		strcpy(a, "algorithm=SHA-256");
		cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "SHA-256");
	}
	client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
	memcpy(strstr(az, "qop=auth"), "qop=xxxx", 8);
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_FAIL, "qop");
	/* finally the right one still passes: failures recorded nothing */
	client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now, &r), MSRP_AUTH_OK);
}

Test(msrp_auth, stale)
{
	static struct msrp_auth_result r;
	char ch[512], az[1024];
	uint64_t now = 7000;

	cr_assert_gt(msrp_auth_challenge_at(&cfg, 0, now, ch, sizeof(ch)), 0);
	client_answer(ch, "alice", REALM, "secret", "00000001", az, sizeof(az));
	cr_expect_eq(verify_at(az, now + MSRP_AUTH_DEFAULT_TTL + 1, &r), MSRP_AUTH_STALE);
	cr_expect_eq(verify_at(az, now + MSRP_AUTH_DEFAULT_TTL, &r), MSRP_AUTH_OK);
	/* expired with a wrong password: not stale (RFC 2617: stale only for a valid digest) */
	client_answer(ch, "alice", REALM, "nope", "00000002", az, sizeof(az));
	cr_expect_eq(verify_at(az, now + 10000, &r), MSRP_AUTH_FAIL);
}

Test(msrp_auth, malformed_authorization)
{
	static struct msrp_auth_result r;
	static const char *bad[] = {
		"",
		"Digest",
		"Digest ",
		"Basic dXNlcjpwdw==",
		"Digest username=\"alice",                          /* unterminated */
		"Digest username=\"al\\",                           /* escape at the end */
		"Digest username=alice realm=x",                    /* no comma */
		"Digest username",                                  /* no '=' */
		"Digest =alice",                                    /* no name */
		"Digest username=",                                 /* no value */
		"Digest username=\"a\"x, realm=\"r\"",              /* junk after the quote */
		"Digest username=\"a\x01\"",                        /* control character */
		"Digest username=\"a\", username=\"b\"",            /* repeated */
		"Digest realm=\"" REALM "\", nonce=\"x\"",          /* missing fields */
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"n\", uri=\"" URI "\", "
		"qop=auth, nc=00000001, cnonce=\"c\", response=\"short\"",
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"n\", uri=\"" URI "\", "
		"qop=auth, nc=1, cnonce=\"c\", response=\"6629fae49393a05397450978507c4ef1\"",
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"n\", uri=\"" URI "\", "
		"qop=auth, nc=0000000g, cnonce=\"c\", response=\"6629fae49393a05397450978507c4ef1\"",
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"n\", uri=\"" URI "\", "
		"qop=auth, nc=00000001, response=\"6629fae49393a05397450978507c4ef1\"",
	};
	char *huge;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(verify_at(bad[i], 1, &r), MSRP_AUTH_BAD, "%s", bad[i]);

	/* a value longer than MSRP_AUTH_VALUE_MAX, a header longer than MSRP_AUTH_HDR_MAX,
	 * more than MSRP_AUTH_MAX_PARAMS params */
	huge = malloc(MSRP_AUTH_HDR_MAX * 2);
	cr_assert_not_null(huge);
	strcpy(huge, "Digest username=\"");
	memset(huge + 17, 'a', MSRP_AUTH_VALUE_MAX + 1);
	strcpy(huge + 17 + MSRP_AUTH_VALUE_MAX + 1, "\"");
	cr_expect_eq(verify_at(huge, 1, &r), MSRP_AUTH_BAD);
	strcpy(huge, "Digest x=");
	memset(huge + 9, 'a', MSRP_AUTH_HDR_MAX);
	huge[9 + MSRP_AUTH_HDR_MAX] = '\0';
	cr_expect_eq(verify_at(huge, 1, &r), MSRP_AUTH_BAD);
	strcpy(huge, "Digest ");
	for (int i = 0; i <= MSRP_AUTH_MAX_PARAMS; i++)
		strcat(huge, "x=y, ");
	cr_expect_eq(verify_at(huge, 1, &r), MSRP_AUTH_BAD);
	free(huge);
}

/* Parsing: case-insensitive names, escapes, blanks, empty list elements, unknown names. */
Test(msrp_auth, parse_forms)
{
	static struct msrp_auth_params ap;
	static const char v[] =
		"digest  USERNAME = \"al\\\"ice\\\\\" ,, Realm=r,\tfoo=\"bar, baz\", "
		"NC=00000001 ,opaque=\"\",";
	const char *g = guard_copy(v, sizeof(v) - 1);

	cr_assert_eq(msrp_auth_parse((cm_slice){ g, sizeof(v) - 1 }, &ap), 0);
	cr_expect_eq(ap.username.len, 7);
	cr_expect_eq(memcmp(ap.username.p, "al\"ice\\", 7), 0);
	cr_expect_eq(ap.realm.len, 1);
	cr_expect_eq(ap.nc.len, 8);
	cr_expect_not_null(ap.opaque.p);
	cr_expect_eq(ap.opaque.len, 0);
	cr_expect_null(ap.nonce.p);
	guard_release(g);
}

/* An escaped username: the digest is over the unescaped value. */
Test(msrp_auth, escaped_username)
{
	static struct msrp_auth_result r;
	char ch[512], az[1024], path[128], err[256], h[33], line[256];
	struct msrp_creds c2;
	static struct msrp_auth_params ap;
	uint8_t ha1[16];
	char hex[33], nonce[128];

	ha1_hex("a\"b", REALM, "pw", h);
	snprintf(line, sizeof(line), "a\"b:" REALM ":%s\n", h);
	write_file("esc", line, strlen(line), path, sizeof(path));
	cr_assert_eq(msrp_creds_load(&c2, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(msrp_auth_challenge_at(&cfg, 0, 100, ch, sizeof(ch)), 0);
	cr_assert_eq(msrp_auth_parse(S(ch), &ap), 0);
	snprintf(nonce, sizeof(nonce), "%.*s", (int)ap.nonce.len, ap.nonce.p);
	cr_assert_eq(msrp_auth_ha1(S("a\"b"), S(REALM), S("pw"), ha1), 0);
	cr_assert_eq(msrp_auth_digest(ha1, S("AUTH"), S(URI), S(nonce), S("00000001"), S("c"),
				      S("auth"), hex), 0);
	snprintf(az, sizeof(az),
		 "Digest username=\"a\\\"b\", realm=\"" REALM "\", nonce=\"%s\", uri=\"" URI
		 "\", qop=auth, nc=00000001, cnonce=\"c\", response=\"%s\"",
		 nonce, hex);
	cr_expect_eq(msrp_auth_verify(&cfg, &c2, S(az), S("AUTH"), 100, &r), MSRP_AUTH_OK);
	cr_expect_eq(r.user.len, 3);
	msrp_creds_free(&c2);
}
