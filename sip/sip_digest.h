/* sip_digest.h — HTTP Digest as a SIP UAC (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).
 *
 * When a request of ours gets a 401 (WWW-Authenticate) or a 407 (Proxy-Authenticate), the
 * user agent resends it (new CSeq, same Call-ID) with the header value that
 * sip_digest_answer() writes:
 *
 *	enum sip_hid h;
 *	int n = sip_digest_answer(resp, creds, method, ruri, body, 1, val, sizeof(val), &h);
 *	if (n > 0) ... resend with the header h = val ...
 *	else ... -ENOENT: no credentials for the realm; else a failure: give up ...
 *
 * Which challenge: every WWW-Authenticate of a 401 (Proxy-Authenticate of a 407) is read;
 * non-Digest schemes, unknown algorithms (SHA-512-256, AKAv1-MD5, ...), qop lists with
 * neither "auth" nor "auth-int", -sess without qop and challenges without realm or nonce
 * are skipped. Of the rest, only those whose realm has credentials count; SHA-256 (or
 * SHA-256-sess) is preferred to MD5 (or MD5-sess) whatever their order (RFC 8760 §2.4:
 * the stronger hash when both are offered), and among equals the topmost wins. qop
 * "auth" is preferred to "auth-int" (a hash of <body>); a challenge without qop gets the
 * RFC 2069 answer (no cnonce, qop, nc). The realm, nonce and opaque of the challenge are
 * echoed; "userhash", "charset" and "domain" are ignored (the user name goes in clear).
 *
 * Only one challenge is answered: a 407 that aggregates the challenges of several proxies
 * of a fork (§22.3) gets the answer for one realm.
 *
 * Stale nonces: a 401/407 with stale=true to an answered request means the nonce expired
 * but the password was right: answer it like any other (nc 1 for its new nonce) even if
 * the previous one failed; sip_digest_stale() tells. A second 401/407 without stale=true
 * means the credentials are wrong: do not loop.
 *
 * Nonce count: a new 401/407 carries a new nonce, so <nc> is 1 in the usual flow; a
 * caller that reuses a nonce for later requests counts up (RFC 7616 §3.4).
 *
 * Nothing is allocated; everything is bounded and reentrant. MD5 and SHA-256 come from
 * wolfSSL, cnonces from getrandom(2). */
#ifndef SIP_DIGEST_H
#define SIP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "sip/sip-t.h"
#include "sip/sip_digest-t.h"

/* Fills <c> from the config strings <items>[0..<n>), each "realm:user:password": the realm
 * is up to the first ':', the user up to the second, the password is the rest (it may hold
 * ':'). Realm 1..SIP_DIGEST_REALM_MAX bytes ("*" matches any realm), user
 * 1..SIP_DIGEST_USER_MAX bytes, password 0..SIP_DIGEST_PASS_MAX bytes; no control
 * character in realm or user; a realm at most once; at most SIP_DIGEST_MAX_CREDS items.
 * 0, or -EINVAL with "item N: <why>" (N counts from 1) in <err> (<errlen> may be 0) and
 * <c> empty. */
int sip_digest_creds_parse(struct sip_digest_creds *c, const char *const *items, size_t n,
			   char *err, size_t errlen);

/* The credential of <realm> (compared exactly, RFC 7616 §3.3), else the "*" one, else
 * NULL. Points into <c>. */
const struct sip_digest_cred *sip_digest_creds_find(const struct sip_digest_creds *c,
						    cm_slice realm);

/* The header value that answers the 401/407 <resp> (see the top of this file for the
 * challenge chosen) for the request <method> <uri> (its Request-URI: the digest-uri)
 * with body <body> (may be empty; hashed for qop auth-int), nonce count <nc> (>= 1):
 *
 *   Digest username="..", realm="..", nonce="..", uri="..", response="..", algorithm=..,
 *   cnonce="..", qop=auth, nc=00000001, opaque=".."
 *
 * (cnonce, qop and nc only when the challenge had qop, opaque only when it had one;
 * quoted values escaped as quoted-strings), and a NUL, into <out>[0..<cap>). *<hdr> is set
 * to SIP_H_AUTHORIZATION for a 401, SIP_H_PROXY_AUTHORIZATION for a 407 (on success
 * only). Returns the length written; -ENOENT when some challenge was usable but none had
 * credentials; -EINVAL when <resp> is not a 401/407 with a usable challenge, or <method>
 * is not a token, <uri> is empty or has blanks or control characters, or <nc> is 0;
 * -ENOSPC when <cap> is too small (<out> then holds "" when <cap> > 0); -EIO when
 * wolfSSL or getrandom(2) failed. */
int sip_digest_answer(const struct sip_msg *resp, const struct sip_digest_creds *c,
		      cm_slice method, cm_slice uri, cm_slice body, uint32_t nc,
		      char *out, size_t cap, enum sip_hid *hdr);

/* sip_digest_answer() with the given <cnonce> (non-empty, no control character) instead
 * of a random one: for tests, and for known-answer checks. */
int sip_digest_answer_cnonce(const struct sip_msg *resp, const struct sip_digest_creds *c,
			     cm_slice method, cm_slice uri, cm_slice body, uint32_t nc,
			     cm_slice cnonce, char *out, size_t cap, enum sip_hid *hdr);

/* 1 when a Digest challenge of the 401/407 <resp> (the headers sip_digest_answer() reads)
 * says stale=true, else 0. */
int sip_digest_stale(const struct sip_msg *resp);

/* The request-digest (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1) in lower-case hex with a NUL
 * into <hex>[0..<cap>):
 *   HA1 = H(user:realm:password), for -sess H(HEX(that):nonce:cnonce)
 *   HA2 = H(method:uri), for qop "auth-int" H(method:uri:HEX(H(body)))
 *   response = H(HA1:nonce:nc:cnonce:qop:HA2) with <qop> "auth" or "auth-int" (case
 *   ignored, hashed as given; <nc> as 8 hex digits), H(HA1:nonce:HA2) with <qop> empty
 *   (RFC 2069; <nc> and <cnonce> unused then, but for -sess's HA1)
 * where HEX(H(..)) is used throughout. Returns the hex length (32 for MD5, 64 for
 * SHA-256), -EINVAL (another <qop>, <alg> out of range), -ENOSPC (<cap> below the length
 * + 1) or -EIO (wolfSSL failed). */
int sip_digest_response(enum sip_digest_alg alg, cm_slice user, cm_slice realm,
			cm_slice password, cm_slice method, cm_slice uri, cm_slice nonce,
			cm_slice cnonce, uint32_t nc, cm_slice qop, cm_slice body, char *hex,
			size_t cap);

/* "MD5", "MD5-sess", "SHA-256", "SHA-256-sess"; "" out of range. */
const char *sip_digest_alg_name(enum sip_digest_alg alg);

#endif
