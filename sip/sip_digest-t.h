/* sip_digest-t.h — types of HTTP Digest as a SIP UAC (sip_digest.h): the algorithms and the
 * credentials per realm. No prototypes here. */
#ifndef SIP_DIGEST_T_H
#define SIP_DIGEST_T_H

#include <stdint.h>

#define SIP_DIGEST_MAX_CREDS  64   /* credentials of one set (config items) */
#define SIP_DIGEST_REALM_MAX  127  /* bytes of a realm in the config */
#define SIP_DIGEST_USER_MAX   127  /* bytes of a user name */
#define SIP_DIGEST_PASS_MAX   255  /* bytes of a password */
#define SIP_DIGEST_HEX_MAX    64   /* hex characters of the longest digest (SHA-256) */
#define SIP_DIGEST_CNONCE_LEN 32   /* hex characters of the cnonces we make (128 bits) */

/* The algorithms of the "algorithm" auth-param that we answer (RFC 7616 §3.3, RFC 8760 §2).
 * A -sess variant hashes the nonce and cnonce into HA1 (RFC 7616 §3.4.2). */
enum sip_digest_alg {
	SIP_DIGEST_MD5 = 0,        /* also a challenge without "algorithm" */
	SIP_DIGEST_MD5_SESS,
	SIP_DIGEST_SHA256,
	SIP_DIGEST_SHA256_SESS,
	SIP_DIGEST__COUNT
};

/* One credential. The strings are copies (NUL-terminated), so the config may go. */
struct sip_digest_cred {
	char realm[SIP_DIGEST_REALM_MAX + 1];      /* "*": any realm */
	char user[SIP_DIGEST_USER_MAX + 1];
	char password[SIP_DIGEST_PASS_MAX + 1];
	uint16_t rlen, ulen, plen;
};

/* A set of credentials, read-only once parsed (any thread may look them up). ~33 KiB: keep
 * it in the config or a static, not on a small stack. */
struct sip_digest_creds {
	unsigned n;
	struct sip_digest_cred v[SIP_DIGEST_MAX_CREDS];
};

#endif
