/* eng_tls.h — TLS 1.2/1.3 for engine connections, on wolfSSL over the engine's own buffers.
 *
 * Ciphertext moves through the connection's raw queue and receive buffers; owners see
 * plaintext only (on_recv, eng_send). A TLS connection's on_connect comes after its
 * handshake, on both sides: an accepted connection's owner is told too.
 *
 * Return convention: 0 or a positive count on success, -errno on failure. */
#ifndef ENG_TLS_H
#define ENG_TLS_H

#include <stddef.h>

#include "engine/eng_tls-t.h"

/* Initialises wolfSSL once per process. Any thread, any number of times (pthread_once);
 * eng_tls_ctx_new() calls it. */
void eng_tls_global_init(void);

/* Builds a context from <cfg> for the <server> side (non-zero) or the client side: loads
 * the certificate, key and CAs, limits the versions, sets the cipher list. The strings of
 * <cfg> are read during the call only. NULL with a message in <err> on failure. Call at
 * start-up: the context is then shared read-only by all workers. */
eng_tls_ctx *eng_tls_ctx_new(const struct eng_tls_config *cfg, int server, char *err,
			     size_t errlen);

/* Server: presents <cert_file>/<key_file> instead of the default certificate to clients
 * whose SNI is <name> (exact, case-insensitive). The other settings (CAs, verification,
 * versions, ciphers) are the context's. Call before the context is used by any worker.
 * 0, or -EINVAL / -ENOMEM / -EEXIST with a message in <err>. */
int eng_tls_ctx_add_sni(eng_tls_ctx *ctx, const char *name, const char *cert_file,
			const char *key_file, char *err, size_t errlen);

/* Frees <ctx> (NULL is fine). Sessions still open keep what they use alive. */
void eng_tls_ctx_free(eng_tls_ctx *ctx);

/* About a connection whose handshake is done (NULL / -ENOTCONN before, or without TLS).
 * The strings are the session's: valid until the connection is closed. Owner's thread. */
const char *eng_tls_version(const eng_conn *c);  /* "TLSv1.3", "TLSv1.2" */
const char *eng_tls_cipher(const eng_conn *c);   /* "TLS13-AES128-GCM-SHA256", ... */
/* Server: the name the client asked for (NULL without SNI). Client: the name given to
 * eng_connect() (sent as SNI unless it is an address literal). */
const char *eng_tls_sni(const eng_conn *c);
/* The subject of the peer's certificate ("/CN=alt.test/O=...") into <buf> (NUL-terminated,
 * cut to <len>). Its length, -ENOENT when the peer sent no certificate, -ENOTCONN. */
int eng_tls_peer_subject(const eng_conn *c, char *buf, size_t len);

#endif
