/* tls_certs.h — throw-away certificates for tests, made by the openssl CLI in a temp dir.
 *
 * One test CA signs a server certificate for "localhost" / 127.0.0.1, a second server
 * certificate for "alt.test" (SNI) and a client certificate; a second, untrusted CA signs
 * a "rogue" client certificate. All keys are EC P-256, PEM, unencrypted, valid three days.
 * Paths are absolute. */
#ifndef TLS_CERTS_H
#define TLS_CERTS_H

#include <stddef.h>

#define TLS_CERTS_PATH 192

#define TLS_CERTS_SERVER_CN "localhost"
#define TLS_CERTS_ALT_CN    "alt.test"
#define TLS_CERTS_CLIENT_CN "rcsgw-test-client"
#define TLS_CERTS_ROGUE_CN  "rcsgw-rogue-client"

struct tls_certs {
	char dir[TLS_CERTS_PATH];
	char ca[TLS_CERTS_PATH], ca_key[TLS_CERTS_PATH];
	char server_cert[TLS_CERTS_PATH], server_key[TLS_CERTS_PATH]; /* localhost, 127.0.0.1 */
	char alt_cert[TLS_CERTS_PATH], alt_key[TLS_CERTS_PATH];       /* alt.test */
	char client_cert[TLS_CERTS_PATH], client_key[TLS_CERTS_PATH]; /* clientAuth */
	char rogue_ca[TLS_CERTS_PATH];                                 /* not trusted by <ca> */
	char rogue_cert[TLS_CERTS_PATH], rogue_key[TLS_CERTS_PATH];   /* signed by rogue_ca */
};

/* Makes a temp dir (under $TMPDIR, else /tmp) and the certificates in it. 0, or -1 with a
 * message in <err> (the dir is removed again). Takes some tens of milliseconds. */
int tls_certs_make(struct tls_certs *tc, char *err, size_t errlen);

/* Removes the files and the dir (kept when the environment has RCSGW_KEEP_CERTS=1). */
void tls_certs_remove(struct tls_certs *tc);

#endif
