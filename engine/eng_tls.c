/* eng_tls.c — TLS for engine connections: wolfSSL sessions over the engine's own buffers.
 *
 * wolfSSL never touches a socket here. Its receive callback reads from the ciphertext
 * slice that eng__tls_recv() is feeding (WANT_READ once it is used up: wolfSSL keeps a
 * partial record itself), its send callback appends to the connection's raw queue with
 * eng__queue_copy(), which the core flushes at the end of the loop iteration. Plaintext
 * comes out into pool buffers and goes to the owner with eng__deliver().
 *
 * Callbacks to the owner (on_connect, on_recv) may close the connection, which may free
 * the session at once, or hand it over to another worker. So the slice being fed is
 * parked in locals around each callback, and after it nothing of the session is touched
 * unless the connection is alive and still holds it (alive_with()). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "common/cm_log.h"
#include "engine/eng_int.h"
#include "engine/eng_tls.h"

#define TLS_WRITE_CHUNK (1 << 20)  /* plaintext per wolfSSL_write() call */

struct sni_entry {
	char *name;
	WOLFSSL_CTX *ctx;
};

struct eng_tls_ctx {
	WOLFSSL_CTX *ctx;          /* the default certificate */
	int server;
	int verify;
	int min_version, max_version;
	char *ca_file;             /* kept to build the SNI contexts like the default one */
	char *ciphers;
	struct sni_entry *sni;
	unsigned nsni;
};

/* One connection's session. */
struct eng_tls {
	WOLFSSL *ssl;
	eng_conn *c;               /* back-pointer, updated by eng__tls_rebind() */
	eng_worker *home;          /* the worker whose pool holds <pend_*> */
	const char *in;            /* ciphertext being fed (inside eng__tls_recv only) */
	uint32_t in_len;
	int qrc;                   /* last eng__queue_copy() result of a send callback */
	int qerr;                  /* its first error (-ENOBUFS, -EPIPE), sticky */
	int err;                   /* why the session failed, when <failed> */
	eng_seg *pend_head, *pend_tail; /* plaintext sent before the handshake was done */
	uint32_t pend_bytes;
	uint8_t server;
	uint8_t failed;            /* fatal error: nothing more is read or written */
	uint8_t shut;              /* close_notify queued */
	char *sni;                 /* client: the name sent */
};

/* ---- global ------------------------------------------------------------------------ */

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_thread_key;
static _Thread_local int tls_thread_marked;

/* wolfSSL keeps per-thread ECC caches (FP_ECC, a few MB): freed when the thread ends. */
static void tls_thread_exit(void *arg)
{
	(void)arg;
#if defined(HAVE_ECC) && defined(FP_ECC)
	wc_ecc_fp_free();
#endif
}

static void tls_init_once(void)
{
	wolfSSL_Init();
	pthread_key_create(&tls_thread_key, tls_thread_exit);
}

/* Arranges for tls_thread_exit() on this thread; once per thread, cheap after. */
static void tls_thread_mark(void)
{
	if (tls_thread_marked)
		return;
	tls_thread_marked = 1;
	pthread_setspecific(tls_thread_key, &tls_thread_marked);
}

void eng_tls_global_init(void)
{
	pthread_once(&tls_once, tls_init_once);
}

/* ---- I/O callbacks ------------------------------------------------------------------ */

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct eng_tls *t = arg;
	(void)ssl;

	if (t->in_len == 0 || sz <= 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	uint32_t n = (uint32_t)sz < t->in_len ? (uint32_t)sz : t->in_len;
	memcpy(buf, t->in, n);
	t->in += n;
	t->in_len -= n;
	return (int)n;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct eng_tls *t = arg;
	(void)ssl;

	if (t->qerr)
		return WOLFSSL_CBIO_ERR_GENERAL;
	int rc = eng__queue_copy(t->c, buf, (size_t)sz);
	if (rc < 0) {
		/* whatever part of the record was queued makes the stream unusable: the
		 * session fails with this error */
		t->qerr = rc;
		return WOLFSSL_CBIO_ERR_GENERAL;
	}
	t->qrc = rc;
	return sz;
}

/* ---- contexts ----------------------------------------------------------------------- */

/* "<what>: <wolfSSL's reason>" into <err>. */
static void ssl_errmsg(char *err, size_t errlen, const char *what, int rc)
{
	char reason[WOLFSSL_MAX_ERROR_SZ];
	unsigned long e = wolfSSL_ERR_get_error();

	if (e == 0 && rc < 0)
		e = (unsigned long)(long)rc;
	if (e != 0) {
		wolfSSL_ERR_error_string_n(e, reason, sizeof(reason));
		snprintf(err, errlen, "%s: %s", what, reason);
	} else {
		snprintf(err, errlen, "%s failed", what);
	}
	wolfSSL_ERR_clear_error();
}

static int readable(const char *what, const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

static int version_ok(int v)
{
	return v == 0 || v == ENG_TLS_V12 || v == ENG_TLS_V13;
}

/* Whether the private key in <key> belongs to the certificate in <cert>: 1 yes, 0 no, -1
 * cannot tell (another key type, or unreadable here: wolfSSL had its say already).
 * wolfSSL_CTX_check_private_key() of wolfSSL 5.5 compares RSA moduli but lets any EC key
 * pass, so: sign with the key, verify with the certificate. */
static int key_matches(const char *cert, const char *key)
{
	static const unsigned char msg[] = "rcsgw: does this key match its certificate?";
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	int rc = -1;

	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(cert, WOLFSSL_FILETYPE_PEM);
	WOLFSSL_BIO *bio = wolfSSL_BIO_new_file(key, "r");
	WOLFSSL_EVP_PKEY *priv = bio ? wolfSSL_PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	WOLFSSL_EVP_PKEY *pub = x ? wolfSSL_X509_get_pubkey(x) : NULL;
	WOLFSSL_EVP_MD_CTX *m = wolfSSL_EVP_MD_CTX_new();

	if (!priv || !pub || !m)
		goto out;
	int type = wolfSSL_EVP_PKEY_id(priv);
	if ((type != EVP_PKEY_EC && type != EVP_PKEY_RSA) || wolfSSL_EVP_PKEY_id(pub) != type) {
		rc = wolfSSL_EVP_PKEY_id(pub) == type ? -1 : 0;
		goto out;
	}
	if (wolfSSL_EVP_DigestSignInit(m, NULL, wolfSSL_EVP_sha256(), NULL, priv) != 1 ||
	    wolfSSL_EVP_DigestSignUpdate(m, msg, sizeof(msg)) != 1 ||
	    wolfSSL_EVP_DigestSignFinal(m, sig, &siglen) != 1)
		goto out;
	wolfSSL_EVP_MD_CTX_free(m);
	m = wolfSSL_EVP_MD_CTX_new();
	if (!m || wolfSSL_EVP_DigestVerifyInit(m, NULL, wolfSSL_EVP_sha256(), NULL, pub) != 1 ||
	    wolfSSL_EVP_DigestVerifyUpdate(m, msg, sizeof(msg)) != 1)
		goto out;
	rc = wolfSSL_EVP_DigestVerifyFinal(m, sig, siglen) == 1;
out:
	if (m)
		wolfSSL_EVP_MD_CTX_free(m);
	if (priv)
		wolfSSL_EVP_PKEY_free(priv);
	if (pub)
		wolfSSL_EVP_PKEY_free(pub);
	if (bio)
		wolfSSL_BIO_free(bio);
	if (x)
		wolfSSL_X509_free(x);
	wolfSSL_ERR_clear_error();
	return rc;
}

/* A wolfSSL context for <x>'s side and settings, with <cert>/<key> (NULL: none). */
static WOLFSSL_CTX *ctx_build(const eng_tls_ctx *x, const char *cert, const char *key,
			      char *err, size_t errlen)
{
	WOLFSSL_CTX *ctx;
	int rc;

	wolfSSL_ERR_clear_error();
	ctx = wolfSSL_CTX_new(x->server ? wolfSSLv23_server_method() : wolfSSLv23_client_method());
	if (!ctx) {
		snprintf(err, errlen, "wolfSSL_CTX_new failed");
		return NULL;
	}
	rc = wolfSSL_CTX_SetMinVersion(ctx, x->min_version == ENG_TLS_V13 ? WOLFSSL_TLSV1_3
									 : WOLFSSL_TLSV1_2);
	if (rc != WOLFSSL_SUCCESS) {
		ssl_errmsg(err, errlen, "minimum TLS version", rc);
		goto fail;
	}
	if (x->max_version == ENG_TLS_V12) {
		rc = wolfSSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
		if (rc != WOLFSSL_SUCCESS) {
			ssl_errmsg(err, errlen, "maximum TLS version", rc);
			goto fail;
		}
	}
	if (x->ciphers && (rc = wolfSSL_CTX_set_cipher_list(ctx, x->ciphers)) != WOLFSSL_SUCCESS) {
		ssl_errmsg(err, errlen, "cipher list", rc);
		goto fail;
	}
	if (cert) {
		if (readable("certificate", cert, err, errlen) < 0 ||
		    readable("key", key, err, errlen) < 0)
			goto fail;
		rc = wolfSSL_CTX_use_certificate_chain_file(ctx, cert);
		if (rc != WOLFSSL_SUCCESS) {
			char what[64 + PATH_MAX];
			snprintf(what, sizeof(what), "certificate %s", cert);
			ssl_errmsg(err, errlen, what, rc);
			goto fail;
		}
		rc = wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM);
		if (rc != WOLFSSL_SUCCESS) {
			char what[64 + PATH_MAX];
			snprintf(what, sizeof(what), "key %s", key);
			ssl_errmsg(err, errlen, what, rc);
			goto fail;
		}
		rc = wolfSSL_CTX_check_private_key(ctx);
		if (rc != WOLFSSL_SUCCESS || key_matches(cert, key) == 0) {
			snprintf(err, errlen, "key %s does not match certificate %s", key, cert);
			wolfSSL_ERR_clear_error();
			goto fail;
		}
	}
	if (x->verify) {
		if (x->ca_file) {
			if (readable("CA file", x->ca_file, err, errlen) < 0)
				goto fail;
			rc = wolfSSL_CTX_load_verify_locations(ctx, x->ca_file, NULL);
			if (rc != WOLFSSL_SUCCESS) {
				char what[64 + PATH_MAX];
				snprintf(what, sizeof(what), "CA file %s", x->ca_file);
				ssl_errmsg(err, errlen, what, rc);
				goto fail;
			}
		} else if (x->server) {
			snprintf(err, errlen, "verify_peer on a server needs a CA file");
			goto fail;
		} else if ((rc = wolfSSL_CTX_load_system_CA_certs(ctx)) != WOLFSSL_SUCCESS) {
			ssl_errmsg(err, errlen, "system CA certificates", rc);
			goto fail;
		}
		wolfSSL_CTX_set_verify(ctx, x->server ? WOLFSSL_VERIFY_PEER |
						    WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT
						  : WOLFSSL_VERIFY_PEER, NULL);
	} else {
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	}
	wolfSSL_CTX_SetIORecv(ctx, io_recv);
	wolfSSL_CTX_SetIOSend(ctx, io_send);
	return ctx;
fail:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

/* Server: the client's SNI picks another certificate. Runs inside wolfSSL_accept(). */
static int sni_select(WOLFSSL *ssl, int *alert, void *arg)
{
	const eng_tls_ctx *x = arg;
	const char *name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
	(void)alert;

	if (!name)
		return 0;
	for (unsigned i = 0; i < x->nsni; i++) {
		if (strcasecmp(x->sni[i].name, name) == 0) {
			wolfSSL_set_SSL_CTX(ssl, x->sni[i].ctx);
			break;
		}
	}
	return 0; /* an unknown name gets the default certificate */
}

eng_tls_ctx *eng_tls_ctx_new(const struct eng_tls_config *cfg, int server, char *err,
			     size_t errlen)
{
	eng_tls_ctx *x;

	eng_tls_global_init();
	tls_thread_mark();
	if (!version_ok(cfg->min_version) || !version_ok(cfg->max_version) ||
	    (cfg->max_version && cfg->min_version > cfg->max_version)) {
		snprintf(err, errlen, "TLS versions: min %d / max %d (12 or 13 only)",
			 cfg->min_version, cfg->max_version);
		return NULL;
	}
	if (server && (!cfg->cert_file || !cfg->key_file)) {
		snprintf(err, errlen, "a TLS server needs a certificate and a key");
		return NULL;
	}
	if (!cfg->cert_file != !cfg->key_file) {
		snprintf(err, errlen, "a certificate needs its key, and a key its certificate");
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->server = !!server;
	x->verify = !!cfg->verify_peer;
	x->min_version = cfg->min_version ? cfg->min_version : ENG_TLS_V12;
	x->max_version = cfg->max_version;
	if ((cfg->ca_file && !(x->ca_file = strdup(cfg->ca_file))) ||
	    (cfg->ciphers && !(x->ciphers = strdup(cfg->ciphers)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	x->ctx = ctx_build(x, cfg->cert_file, cfg->key_file, err, errlen);
	if (!x->ctx)
		goto fail;
	if (x->server) {
		wolfSSL_CTX_set_servername_callback(x->ctx, sni_select);
		wolfSSL_CTX_set_servername_arg(x->ctx, x);
	}
	return x;
fail:
	eng_tls_ctx_free(x);
	return NULL;
}

int eng_tls_ctx_add_sni(eng_tls_ctx *x, const char *name, const char *cert_file,
			const char *key_file, char *err, size_t errlen)
{
	if (!x->server || !name || !*name || strlen(name) > ENG_TLS_SNI_MAX || !cert_file ||
	    !key_file) {
		snprintf(err, errlen, "SNI certificate: needs a server context, a name of 1 to "
			 "%d bytes, a certificate and a key", ENG_TLS_SNI_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < x->nsni; i++) {
		if (strcasecmp(x->sni[i].name, name) == 0) {
			snprintf(err, errlen, "SNI name %s given twice", name);
			return -EEXIST;
		}
	}
	struct sni_entry *n = realloc(x->sni, (x->nsni + 1) * sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->sni = n;
	char *dup = strdup(name);
	if (!dup) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	WOLFSSL_CTX *ctx = ctx_build(x, cert_file, key_file, err, errlen);
	if (!ctx) {
		free(dup);
		return -EINVAL;
	}
	x->sni[x->nsni].name = dup;
	x->sni[x->nsni].ctx = ctx;
	x->nsni++;
	return 0;
}

void eng_tls_ctx_free(eng_tls_ctx *x)
{
	if (!x)
		return;
	for (unsigned i = 0; i < x->nsni; i++) {
		wolfSSL_CTX_free(x->sni[i].ctx);
		free(x->sni[i].name);
	}
	free(x->sni);
	if (x->ctx)
		wolfSSL_CTX_free(x->ctx);
	free(x->ca_file);
	free(x->ciphers);
	free(x);
}

/* ---- pending plaintext (sent before the handshake is done) ------------------------- */

/* Returns the segments of <s> and their buffers to <w>'s pool. <w>'s thread only. */
static void segs_free(eng_worker *w, eng_seg *s)
{
	while (s) {
		eng_seg *n = s->next;
		eng_buf_unref(w, s->b);
		eng__seg_put(w, s);
		s = n;
	}
}

static void segs_free_msg(eng_worker *w, void *arg, uint64_t u64)
{
	(void)u64;
	segs_free(w, arg);
}

/* Frees the pending list on its home worker: here, or through the home's mailbox when the
 * session moved (the buffers belong to the home's pool). */
static void pend_drop(eng_worker *here, struct eng_tls *t)
{
	eng_seg *list = t->pend_head;

	t->pend_head = t->pend_tail = NULL;
	t->pend_bytes = 0;
	if (!list)
		return;
	if (t->home == here)
		segs_free(here, list);
	else if (eng_post(t->home, segs_free_msg, list, 0) < 0)
		CM_LOG_RL(CM_LOG_WARN, "tls: worker %u mailbox full: pending buffers lost",
			  eng_worker_index(t->home));
}

/* Appends a copy of <p, len> to the pending list, all or nothing. 1 when the list is
 * above sendq_high, 0, or -ENOBUFS. */
static int pend_add(eng_conn *c, struct eng_tls *t, const char *p, size_t len)
{
	eng_worker *w = c->w;
	eng_seg *old_tail = t->pend_tail;
	uint32_t old_len = old_tail ? old_tail->len : 0, old_bytes = t->pend_bytes;

	while (len) {
		eng_seg *s = t->pend_tail;
		if (s && s->off + s->len < s->b->cap) {
			uint32_t room = s->b->cap - s->off - s->len;
			uint32_t n = len < room ? (uint32_t)len : room;
			memcpy(s->b->data + s->off + s->len, p, n);
			s->len += n;
			t->pend_bytes += n;
			p += n;
			len -= n;
			continue;
		}
		eng_buf *b = eng_buf_get(w);
		eng_seg *ns = b ? eng__seg_get(w) : NULL;
		if (!ns) {
			if (b)
				eng_buf_unref(w, b);
			/* back to what it was */
			if (old_tail) {
				segs_free(w, old_tail->next);
				old_tail->next = NULL;
				old_tail->len = old_len;
			} else {
				segs_free(w, t->pend_head);
				t->pend_head = NULL;
			}
			t->pend_tail = old_tail;
			t->pend_bytes = old_bytes;
			return -ENOBUFS;
		}
		b->used = b->cap; /* never appended to by a send queue */
		ns->b = b;
		ns->off = 0;
		ns->len = 0;
		if (s)
			s->next = ns;
		else
			t->pend_head = ns;
		t->pend_tail = ns;
	}
	if (t->pend_bytes > w->e->cfg.sendq_high) {
		c->flags |= ENG_CF_ABOVE_HIGH; /* on_writable once the ciphertext drains */
		return 1;
	}
	return 0;
}

/* ---- sessions ----------------------------------------------------------------------- */

static int alive_with(const eng_conn *c, const struct eng_tls *t)
{
	return !(c->flags & ENG_CF_DEAD) && c->tls == t;
}

static void log_failure(eng_conn *c, const struct eng_tls *t, const char *what, int e)
{
	char reason[WOLFSSL_MAX_ERROR_SZ], peer[64];

	if (!cm_log_enabled(CM_LOG_INFO))
		return;
	if (t->qerr)
		snprintf(reason, sizeof(reason), "%s", strerror(-t->qerr));
	else
		wolfSSL_ERR_error_string_n((unsigned long)(long)e, reason, sizeof(reason));
	CM_LOG_RL(CM_LOG_INFO, "tls %s: %s with %s: %s (%d)", t->server ? "server" : "client",
		  what, eng_conn_peer_str(c, peer, sizeof(peer)), reason, e);
	wolfSSL_ERR_clear_error();
}

int eng__tls_attach(eng_conn *c, eng_tls_ctx *x, int server, const char *sni)
{
	if (!x || !!server != x->server)
		return -EINVAL;
	tls_thread_mark();
	struct eng_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ssl = wolfSSL_new(x->ctx);
	if (!t->ssl) {
		free(t);
		return -ENOMEM;
	}
	t->c = c;
	t->home = c->w;
	t->server = (uint8_t)!!server;
	wolfSSL_SSLSetIORecv(t->ssl, io_recv);
	wolfSSL_SSLSetIOSend(t->ssl, io_send);
	wolfSSL_SetIOReadCtx(t->ssl, t);
	wolfSSL_SetIOWriteCtx(t->ssl, t);
	if (!server && sni && *sni) {
		size_t n = strlen(sni);
		int rc = n <= ENG_TLS_SNI_MAX ? 0 : -EINVAL;
		if (rc == 0 && !(t->sni = strdup(sni)))
			rc = -ENOMEM;
		/* RFC 6066: no address literals in a HostName; the name check still applies */
		if (rc == 0 && !strchr(sni, ':') && strspn(sni, "0123456789.") != n &&
		    wolfSSL_UseSNI(t->ssl, WOLFSSL_SNI_HOST_NAME, sni, (unsigned short)n) !=
			    WOLFSSL_SUCCESS)
			rc = -ENOMEM;
		if (rc == 0 && x->verify && wolfSSL_check_domain_name(t->ssl, sni) != WOLFSSL_SUCCESS)
			rc = -ENOMEM;
		if (rc < 0) {
			wolfSSL_free(t->ssl);
			free(t->sni);
			free(t);
			return rc;
		}
	}
	c->tls = t;
	return 0;
}

/* One step of the handshake. 1: done, 0: needs more input, -1: failed (the connection is
 * closing, and the session may be freed already). */
static int handshake_step(eng_conn *c, struct eng_tls *t)
{
	t->qrc = 0;
	int rc = t->server ? wolfSSL_accept(t->ssl) : wolfSSL_connect(t->ssl);
	if (rc == WOLFSSL_SUCCESS && !t->qerr)
		return 1;
	int e = wolfSSL_get_error(t->ssl, rc);
	if (rc != WOLFSSL_SUCCESS && !t->qerr &&
	    (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE))
		return 0;
	log_failure(c, t, "handshake", e);
	t->failed = 1;
	t->err = t->qerr ? t->qerr : -EPROTO;
	t->in = NULL;
	t->in_len = 0;
	eng__tls_handshake_done(c, t->err);
	return -1;
}

void eng__tls_start(eng_conn *c)
{
	struct eng_tls *t = c->tls;

	if (!t || t->failed || (c->flags & ENG_CF_DEAD))
		return;
	handshake_step(c, t);
}

/* Encrypts <p, len> into the raw queue. 1 / 0 as eng__queue_copy, or -errno with the
 * session failed. */
static int tls_write(struct eng_tls *t, const char *p, size_t len)
{
	t->qrc = 0;
	while (len) {
		int n = len > TLS_WRITE_CHUNK ? TLS_WRITE_CHUNK : (int)len;
		int rc = wolfSSL_write(t->ssl, p, n);
		if (rc <= 0 || t->qerr) {
			t->failed = 1;
			t->err = t->qerr ? t->qerr : -EPROTO;
			return t->err;
		}
		p += rc;
		len -= (size_t)rc;
	}
	return t->qrc;
}

/* Writes the pending plaintext out, right after the handshake. 0 or -errno. */
static int pend_flush(eng_conn *c, struct eng_tls *t)
{
	int rc = 0;

	while (t->pend_head && rc >= 0) {
		eng_seg *s = t->pend_head;
		t->pend_head = s->next;
		s->next = NULL;
		t->pend_bytes -= s->len;
		rc = tls_write(t, s->b->data + s->off, s->len);
		segs_free(c->w, s);
	}
	if (!t->pend_head)
		t->pend_tail = NULL;
	pend_drop(c->w, t);
	return rc < 0 ? rc : 0;
}

/* Around an owner callback, the ciphertext not fed yet is parked at the head of the
 * connection's stash (the core's list of bytes held while paused or handed over): if the
 * owner pauses reading, the core delivers it on resume; if it hands the connection over,
 * it travels to the adopter, even when the handover happens within the callback; if it
 * closes, the core frees it. It starts on a record boundary: wolfSSL consumes whole
 * records, and a partial record it has read stays in the session (which moves along).
 * 0, or -ENOBUFS when no segment is left. */
static int park(eng_conn *c, struct eng_tls *t, eng_buf *b, eng_seg **parked)
{
	*parked = NULL;
	if (t->in_len) {
		eng_seg *s = eng__seg_get(c->w);
		if (!s) {
			t->in = NULL;
			t->in_len = 0;
			return -ENOBUFS;
		}
		eng_buf_ref(b);
		s->b = b;
		s->off = (uint32_t)(t->in - b->data);
		s->len = t->in_len;
		s->next = c->stash;
		c->stash = s;
		*parked = s;
	}
	t->in = NULL;
	t->in_len = 0;
	return 0;
}

/* After the callback: 1 when feeding stops here (the connection is gone, the session
 * moved, reading was paused or the connection is being handed over: the rest stays
 * parked), 0 when the parked ciphertext is fed again. */
static int unpark(eng_conn *c, struct eng_tls *t, eng_seg *parked)
{
	if (!alive_with(c, t))
		return 1; /* <parked> belongs to the core now: freed, or carried over */
	if (c->flags & ENG_CF_HANDOVER)
		return 1;
	/* plaintext already inside the session is delivered even when paused (as bytes
	 * already read are), so that nothing waits for ciphertext that may never come */
	if ((c->flags & (ENG_CF_PAUSED | ENG_CF_BP)) && wolfSSL_pending(t->ssl) == 0)
		return 1;
	if (!parked)
		return 0;
	if (c->stash != parked)
		return 1; /* not ours to take back any more: the core delivers it */
	c->stash = parked->next;
	t->in = parked->b->data + parked->off;
	t->in_len = parked->len;
	eng_buf_unref(c->w, parked->b); /* the caller's reference keeps the bytes */
	eng__seg_put(c->w, parked);
	return 0;
}

static void fail_abort(eng_conn *c, struct eng_tls *t, int err)
{
	t->failed = 1;
	t->err = err;
	t->in = NULL;
	t->in_len = 0;
	eng_abort(c, err);
}

/* Plaintext out of the session to the owner, until wolfSSL wants more input. */
static void read_loop(eng_conn *c, struct eng_tls *t, eng_buf *b)
{
	eng_worker *w = c->w;
	eng_buf *pb = NULL;

	for (;;) {
		if (!pb && !(pb = eng_buf_get(w))) {
			/* the unread ciphertext cannot be kept: the stream is lost */
			fail_abort(c, t, -ENOBUFS);
			return;
		}
		t->qrc = 0;
		int n = wolfSSL_read(t->ssl, pb->data, pb->cap > INT_MAX ? INT_MAX : (int)pb->cap);
		if (n > 0 && !t->qerr) {
			eng_seg *parked;
			pb->used = pb->cap; /* never appended to by a send queue */
			if (park(c, t, b, &parked) < 0) {
				eng_buf_unref(w, pb);
				fail_abort(c, t, -ENOBUFS);
				return;
			}
			eng__deliver(c, pb, 0, (uint32_t)n);
			if (unpark(c, t, parked)) {
				eng_buf_unref(w, pb);
				return;
			}
			if (pb->refs > 1) { /* the owner kept it */
				eng_buf_unref(w, pb);
				pb = NULL;
			}
			continue;
		}
		int e = wolfSSL_get_error(t->ssl, n);
		eng_buf_unref(w, pb);
		pb = NULL;
		if (!t->qerr && e == WOLFSSL_ERROR_WANT_READ)
			break;
		if (!t->qerr && e == WOLFSSL_ERROR_ZERO_RETURN) {
			t->in = NULL; /* close_notify: what follows it is not ours to read */
			t->in_len = 0;
			eng_close(c);
			return;
		}
		log_failure(c, t, "read", e);
		fail_abort(c, t, t->qerr ? t->qerr : -EPROTO);
		return;
	}
	t->in = NULL;
	t->in_len = 0;
}

void eng__tls_recv(eng_conn *c, eng_buf *b, uint32_t off, uint32_t len)
{
	struct eng_tls *t = c->tls;

	if (!t || (c->flags & ENG_CF_DEAD))
		return;
	if (t->failed) {
		eng_abort(c, t->err);
		return;
	}
	t->in = b ? b->data + off : NULL;
	t->in_len = b ? len : 0;
	if (!(c->flags & ENG_CF_TLS_READY)) {
		int rc = handshake_step(c, t);
		if (rc < 0)
			return;
		if (rc == 0) {
			t->in = NULL;
			t->in_len = 0;
			return;
		}
		/* what the owner sent early goes first, before anything on_connect sends */
		if ((rc = pend_flush(c, t)) < 0) {
			t->in = NULL;
			t->in_len = 0;
			eng__tls_handshake_done(c, rc);
			return;
		}
		eng_seg *parked;
		if (park(c, t, b, &parked) < 0) {
			t->failed = 1;
			t->err = -ENOBUFS;
			eng__tls_handshake_done(c, -ENOBUFS);
			return;
		}
		eng__tls_handshake_done(c, 0);
		if (unpark(c, t, parked))
			return;
	}
	read_loop(c, t, b);
}

/* The deferred abort of a connection whose session failed while its owner was writing;
 * <u64> is generation << 32 | slot, so that a reused slot is left alone. If the mailbox
 * is full, the next ciphertext to arrive aborts it (eng__tls_recv). */
static void abort_msg(eng_worker *w, void *arg, uint64_t u64)
{
	(void)arg;
	eng_conn *c = eng__conn_lookup(w, (uint32_t)u64, (uint32_t)(u64 >> 32));
	if (c && !(c->flags & ENG_CF_DEAD) && c->tls && c->tls->failed)
		eng_abort(c, c->tls->err);
}

int eng__tls_send(eng_conn *c, const void *p, size_t len)
{
	struct eng_tls *t = c->tls;

	if (t->failed)
		return t->err;
	if (len == 0)
		return c->sendq_bytes > c->w->e->cfg.sendq_high ? 1 : 0;
	if (!(c->flags & ENG_CF_TLS_READY) || t->pend_head)
		return pend_add(c, t, p, len);
	int rc = tls_write(t, p, len);
	if (rc < 0) {
		/* Part of a record may be queued: the connection must go, but not under the
		 * feet of the owner who is calling us. Next iteration, through the mailbox. */
		CM_LOG_RL(CM_LOG_WARN, "tls: write failed: %s", strerror(-rc));
		eng_post(c->w, abort_msg, NULL, ((uint64_t)c->gen << 32) | c->idx);
	}
	return rc;
}

void eng__tls_shutdown(eng_conn *c)
{
	struct eng_tls *t = c->tls;

	if (!t || t->shut || t->failed)
		return;
	t->shut = 1;
	t->in = NULL;
	t->in_len = 0;
	t->qrc = 0;
	wolfSSL_shutdown(t->ssl); /* queues close_notify; the peer's is not waited for */
}

void eng__tls_free(eng_conn *c)
{
	struct eng_tls *t = c->tls;

	if (!t)
		return;
	c->tls = NULL;
	pend_drop(c->w, t);
	wolfSSL_free(t->ssl);
	free(t->sni);
	free(t);
}

void eng__tls_rebind(eng_conn *c)
{
	struct eng_tls *t = c->tls;
	eng_worker *w = c->w;

	tls_thread_mark();
	t->c = c;
	t->in = NULL;
	t->in_len = 0;
	wolfSSL_SetIOReadCtx(t->ssl, t);
	wolfSSL_SetIOWriteCtx(t->ssl, t);
	if (t->home == w)
		return;
	/* Plaintext still pending (handed over before the handshake was done) lives in the
	 * old worker's pool: copy it into ours (reading is safe: the old worker let go of it
	 * before posting the handover), and send the old buffers home to be freed. */
	eng_seg *old = t->pend_head;
	eng_worker *old_home = t->home;
	t->pend_head = t->pend_tail = NULL;
	t->pend_bytes = 0;
	t->home = w;
	for (eng_seg *s = old; s; s = s->next) {
		if (pend_add(c, t, s->b->data + s->off, s->len) < 0) {
			t->failed = 1;
			t->err = -ENOBUFS;
			break;
		}
	}
	if (old && eng_post(old_home, segs_free_msg, old, 0) < 0)
		CM_LOG_RL(CM_LOG_WARN, "tls: worker %u mailbox full: pending buffers lost",
			  eng_worker_index(old_home));
}

/* ---- information ------------------------------------------------------------------- */

static struct eng_tls *ready(const eng_conn *c)
{
	return c->tls && (c->flags & ENG_CF_TLS_READY) ? c->tls : NULL;
}

const char *eng_tls_version(const eng_conn *c)
{
	struct eng_tls *t = ready(c);
	return t ? wolfSSL_get_version(t->ssl) : NULL;
}

const char *eng_tls_cipher(const eng_conn *c)
{
	struct eng_tls *t = ready(c);
	return t ? wolfSSL_get_cipher_name(t->ssl) : NULL;
}

const char *eng_tls_sni(const eng_conn *c)
{
	struct eng_tls *t = c->tls;
	if (!t)
		return NULL;
	return t->server ? wolfSSL_get_servername(t->ssl, WOLFSSL_SNI_HOST_NAME) : t->sni;
}

int eng_tls_peer_subject(const eng_conn *c, char *buf, size_t len)
{
	struct eng_tls *t = ready(c);

	if (!t)
		return -ENOTCONN;
	if (len == 0)
		return -EINVAL;
	WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(t->ssl);
	if (!x)
		return -ENOENT;
	WOLFSSL_X509_NAME *name = wolfSSL_X509_get_subject_name(x);
	int rc = -ENOENT;
	if (name && wolfSSL_X509_NAME_oneline(name, buf, len > INT_MAX ? INT_MAX : (int)len))
		rc = (int)strlen(buf);
	wolfSSL_X509_free(x);
	return rc;
}
