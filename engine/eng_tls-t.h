/* eng_tls-t.h — types of the engine's TLS layer (prototypes in eng_tls.h).
 *
 * A TLS context (eng_tls_ctx) is built once at start-up from an eng_tls_config and then
 * shared, read-only, by every worker: listeners and eng_connect() take it, and each
 * connection gets its own session from it. */
#ifndef ENG_TLS_T_H
#define ENG_TLS_T_H

#include "engine/eng-t.h"

/* TLS versions for min_version / max_version. Nothing older than TLS 1.2 is spoken. */
#define ENG_TLS_V12 12
#define ENG_TLS_V13 13

#define ENG_TLS_SNI_MAX 255        /* bytes of a server name (RFC 6066 HostName) */

struct eng_tls_config {
	const char *cert_file;     /* PEM chain, leaf first. Server: required. Client: optional
				    * client certificate. */
	const char *key_file;      /* PEM private key of cert_file */
	const char *ca_file;       /* PEM CAs that peers are verified against (verify_peer);
				    * a client that verifies without one uses the system's */
	int verify_peer;           /* server: require and verify a client certificate;
				    * client: verify the server's chain and, when eng_connect()
				    * gets a <sni>, that the certificate is for that name (DNS
				    * name or address literal) */
	int min_version;           /* ENG_TLS_V12 or ENG_TLS_V13; 0 means ENG_TLS_V12 */
	int max_version;           /* ENG_TLS_V12 or ENG_TLS_V13; 0 means the newest */
	const char *ciphers;       /* optional wolfSSL (OpenSSL-style) cipher list */
};

#endif
