/* msrp_auth.h — HTTP Digest authentication of MSRP AUTH requests (RFC 4976 §5, RFC 2617,
 * RFC 7616): the credentials file, stateless nonces, the challenge, the verification of an
 * Authorization header and the Authentication-Info of the 200.
 *
 * Only MD5 with qop=auth, as RFC 4976 §5 requires of a relay. digest-uri is the URI the
 * client put in the Authorization (RFC 4976: the relay's URI, the first of the AUTH's
 * To-Path); msrp_auth_verify() hands it out and the caller compares it with that URI.
 *
 * Nonces carry their own proof: hex of (issue time, 64 random bits, the first 128 bits of
 * HMAC-SHA256 under a per-process key over time, random bits and realm). Any worker of the
 * process checks them with no shared state; a restart invalidates them all (clients get a
 * 401 and start again).
 *
 * Replay: the nonce-count of a nonce must grow. Each thread keeps a small direct-mapped
 * table (MSRP_AUTH_NC_SLOTS entries) of the last nc accepted per nonce; a nonce whose entry
 * was evicted by another is accepted again with any nc above 0 — the table narrows replay,
 * it does not close it (the connection, normally TLS, and the nonce expiry do the rest).
 *
 * Types live here rather than in a -t.h: no other header needs them yet. */
#ifndef MSRP_AUTH_H
#define MSRP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"

#define MSRP_AUTH_DEFAULT_TTL 300  /* seconds a nonce stays fresh */
#define MSRP_AUTH_REALM_MAX   127  /* bytes of a realm */
#define MSRP_AUTH_NAME_MAX    127  /* bytes of a user name (file and Authorization) */
#define MSRP_AUTH_HDR_MAX     2048 /* bytes of an Authorization value we parse */
#define MSRP_AUTH_VALUE_MAX   512  /* bytes of one auth-param value, unescaped */
#define MSRP_AUTH_MAX_PARAMS  32   /* auth-params of one header value */
#define MSRP_AUTH_NONCE_LEN   64   /* characters of our nonces (hex of 32 bytes) */
#define MSRP_AUTH_NC_SLOTS    1024 /* per-thread nonce-count table entries */

#define MSRP_CREDS_MAX_USERS  1000000 /* lines with credentials in one file */
#define MSRP_CREDS_LINE_MAX   512     /* bytes of one line, end of line excluded */

/* Verification results (msrp_auth_verify()). */
#define MSRP_AUTH_OK    0          /* authenticated: 200 */
#define MSRP_AUTH_FAIL  1          /* wrong credentials or nonce: 401 (403 after N tries) */
#define MSRP_AUTH_STALE 2          /* right digest, expired nonce: 401 with stale=true */
#define MSRP_AUTH_BAD   3          /* malformed Authorization: 400 */

/* One credential line. */
struct msrp_cred {
	char user[MSRP_AUTH_NAME_MAX + 1];
	char realm[MSRP_AUTH_REALM_MAX + 1];
	uint8_t ulen, rlen;
	uint8_t ha1[16];           /* MD5(user:realm:password) */
	uint32_t next;             /* chain in the bucket: index + 1, 0 ends it */
};

/* Credentials loaded from a file; read-only after msrp_creds_load(), so any thread may
 * look them up. */
struct msrp_creds {
	struct msrp_cred *v;       /* n entries, malloc'd */
	uint32_t n;
	uint32_t *bucket;          /* mask + 1 heads: index + 1, 0 empty */
	uint32_t mask;
};

/* The relay's side of Digest: realm, nonce lifetime and the nonce key. Read-only after
 * msrp_auth_cfg_init(), shared by all workers. */
struct msrp_auth_cfg {
	char realm[MSRP_AUTH_REALM_MAX + 1];
	size_t realm_len;
	uint32_t nonce_ttl_s;
	uint8_t key[32];           /* HMAC-SHA256 key of the nonces, from getrandom(2) */
};

/* A parsed Digest header value (Authorization or WWW-Authenticate). Every slice points into
 * <buf> (values unescaped) or, for <scheme>, into the input; CM_SLICE_NULL when absent. */
struct msrp_auth_params {
	cm_slice scheme;
	cm_slice username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc,
		stale;
	size_t used;
	char buf[MSRP_AUTH_HDR_MAX];
};

/* What msrp_auth_verify() accepted; copies, so the request buffer may go. <user> points
 * into <user_buf> (do not copy the struct and keep the old slice). */
struct msrp_auth_result {
	cm_slice user;
	char user_buf[MSRP_AUTH_NAME_MAX + 1];
	char uri[MSRP_AUTH_VALUE_MAX + 1];         /* digest-uri, NUL-terminated */
	char nonce[MSRP_AUTH_NONCE_LEN + 1];
	char cnonce[MSRP_AUTH_VALUE_MAX + 1];
	char nc[9];
	uint8_t ha1[16];
};

/* Loads the htdigest file <path> ("user:realm:HA1hex" per line; '#' comments and blank
 * lines ignored) into <c>. On error writes "<path>:<line>: <reason>" to <err> (<errlen>
 * may be 0) and returns -EINVAL (malformed, duplicate), -ENOSPC (too many users), -ENOMEM,
 * or -errno of fopen()/reading; <c> is then empty. Start-up only: it allocates. */
int msrp_creds_load(struct msrp_creds *c, const char *path, char *err, size_t errlen);

/* The HA1 (16 bytes) of (<user>, <realm>), both compared exactly, or NULL. Valid until
 * msrp_creds_free(). */
const uint8_t *msrp_creds_ha1(const struct msrp_creds *c, cm_slice user, cm_slice realm);

/* Frees what msrp_creds_load() allocated; <c> is then empty (free again is harmless). */
void msrp_creds_free(struct msrp_creds *c);

/* Sets <realm> (1..MSRP_AUTH_REALM_MAX printable characters, no '"' nor '\'), the nonce
 * lifetime (<nonce_ttl_s> 0: MSRP_AUTH_DEFAULT_TTL) and a fresh nonce key. 0, -EINVAL, or
 * -errno of getrandom(2). */
int msrp_auth_cfg_init(struct msrp_auth_cfg *cfg, cm_slice realm, uint32_t nonce_ttl_s);

/* Seconds of CLOCK_MONOTONIC: the clock of the nonces, and the <now_s> that
 * msrp_auth_verify() expects. */
uint64_t msrp_auth_now(void);

/* Writes the WWW-Authenticate value of a 401 with a new nonce issued now (or at <now_s>):
 *   Digest realm="<realm>", nonce="<nonce>", qop="auth", algorithm=MD5[, stale=true]
 * and a NUL into <buf>. Returns its length, -ENOSPC when <len> is too small, or -errno of
 * getrandom(2). */
int msrp_auth_challenge(const struct msrp_auth_cfg *cfg, int stale, char *buf, size_t len);
int msrp_auth_challenge_at(const struct msrp_auth_cfg *cfg, int stale, uint64_t now_s,
			   char *buf, size_t len);

/* Parses a header value "<scheme> name=value, name="quoted", ..." (names case-insensitive,
 * quoted-pairs unescaped, unknown names skipped) into <out>. Reads value.len bytes, no more.
 * 0, or -EINVAL when malformed, a known name repeats, or a bound (MSRP_AUTH_HDR_MAX,
 * MSRP_AUTH_VALUE_MAX, MSRP_AUTH_MAX_PARAMS) is passed. */
int msrp_auth_parse(cm_slice value, struct msrp_auth_params *out);

/* Checks the Authorization value <authorization> of a request <method> ("AUTH") at
 * <now_s> (msrp_auth_now()): Digest, realm ours, algorithm MD5 or absent, qop=auth, a nonce
 * of ours not issued in the future, a known user, the right response (compared in
 * constant time), a nonce-count above the last one this thread accepted for the nonce.
 * Returns MSRP_AUTH_OK and fills <out>; else MSRP_AUTH_STALE (the digest was right but the
 * nonce expired), MSRP_AUTH_FAIL or MSRP_AUTH_BAD (see the defines). The caller compares
 * out->uri with the relay's URI and counts failures. */
int msrp_auth_verify(const struct msrp_auth_cfg *cfg, const struct msrp_creds *creds,
		     cm_slice authorization, cm_slice method, uint64_t now_s,
		     struct msrp_auth_result *out);

/* The same check with the HA1 of the user already looked up (msrp_creds_src: a lookup that
 * may not block the worker comes between reading the user name and verifying); <ha1> NULL
 * is an unknown user (MSRP_AUTH_FAIL once the rest is checked). RFC 4976's Authorization
 * may leave out "uri": the digest-uri is then <uri>, the relay's URI as the client wrote
 * it (the last URI of the AUTH's To-Path); a header with "uri" is taken as it is. */
int msrp_auth_verify_ha1(const struct msrp_auth_cfg *cfg, const uint8_t *ha1,
			 cm_slice authorization, cm_slice method, cm_slice uri, uint64_t now_s,
			 struct msrp_auth_result *out);
/* The user name of a well-formed Digest Authorization value, copied NUL-terminated into
 * <buf>. Its length, or -EINVAL when the value is malformed (then answer 400) or <len> is
 * too small. */
int msrp_auth_username(cm_slice authorization, char *buf, size_t len);
/* Writes the Authentication-Info value of the 200 (RFC 2617 §3.2.3):
 *   rspauth="<hex>", qop=auth, nc=<nc>, cnonce="<cnonce>"
 * with rspauth computed like the response but with an empty method. Returns its length
 * (a NUL follows) or -ENOSPC. */
int msrp_auth_info(const struct msrp_auth_result *r, char *buf, size_t len);

/* MD5(<user>:<realm>:<password>) into <ha1>. 0 or -EIO (wolfSSL failed). */
int msrp_auth_ha1(cm_slice user, cm_slice realm, cm_slice password, uint8_t ha1[16]);

/* The request-digest of RFC 2617 §3.2.2.1 with qop present, lower-case hex and a NUL in
 * <hex>: MD5(HEX(HA1):nonce:nc:cnonce:qop:HEX(MD5(method:uri))). 0 or -EIO. */
int msrp_auth_digest(const uint8_t ha1[16], cm_slice method, cm_slice uri, cm_slice nonce,
		     cm_slice nc, cm_slice cnonce, cm_slice qop, char hex[33]);

#endif
