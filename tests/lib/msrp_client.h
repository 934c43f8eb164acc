/* msrp_client.h — a small blocking MSRP client (RFC 4975/4976) for integration tests.
 *
 * Deliberately independent of rcsgw's msrp/ parser and msrp_auth, so that a bug shared by
 * both sides of a test cannot hide: frames are cut with plain string searches, the Digest
 * response is computed with wolfCrypt's MD5. Over TCP, or TLS with wolfSSL.
 *
 * Everything is bounded: a frame has at most MC_HEAD_MAX bytes of start line and headers,
 * MC_MAX_HEADERS headers and MC_BODY_MAX bytes of body; every read has a timeout.
 * Return convention: 0 (or a count) on success, -errno on failure: -ETIMEDOUT (the timeout
 * passed), -ECONNRESET (the peer closed), -EPROTO (the bytes are not MSRP), -EMSGSIZE (a
 * bound was passed). After -EPROTO or -EMSGSIZE the stream is lost: close the client. */
#ifndef TESTS_MSRP_CLIENT_H
#define TESTS_MSRP_CLIENT_H

#include <stddef.h>

#define MC_HEAD_MAX    8192   /* start line + headers + blank line, bytes */
#define MC_BODY_MAX    65536  /* body, bytes */
#define MC_MAX_HEADERS 32
#define MC_TID_MAX     32     /* RFC 4975 transact-id: 4..32 characters */
#define MC_FRAME_MAX   (MC_HEAD_MAX + MC_BODY_MAX + MC_TID_MAX + 16)

struct mc_header {
	const char *name;            /* NUL-terminated, inside the frame's <buf> */
	const char *value;           /* without the blank after the colon */
};

/* One whole frame. Strings point into <buf>, valid as long as the frame. */
struct mc_frame {
	int is_request;
	char tid[MC_TID_MAX + 1];
	char method[32];             /* request: "SEND", "AUTH", ... */
	int status;                  /* response: 200, 401, ... */
	const char *comment;         /* response: the text after the code ("" when none) */
	struct mc_header hdr[MC_MAX_HEADERS];
	int nhdr;
	const char *body;            /* NULL when the frame had no body; else NUL-terminated */
	size_t body_len;
	char flag;                   /* '$' end, '+' more chunks, '#' aborted */
	size_t raw_len;              /* bytes the frame took on the wire */
	char buf[MC_FRAME_MAX + 1];
};

struct WOLFSSL_CTX;
struct WOLFSSL;

struct msrp_client {
	int fd;
	struct WOLFSSL_CTX *ctx;     /* TLS only */
	struct WOLFSSL *ssl;
	size_t rlen;                 /* bytes waiting in <rbuf> */
	char rbuf[MC_FRAME_MAX];
};

/* Connects <c> to <hostport> (numeric "1.2.3.4:5" or "[::1]:5") over TCP within
 * <timeout_ms>. <c> may be uninitialised. 0 or -errno. */
int mc_connect(struct msrp_client *c, const char *hostport, int timeout_ms);

/* The same over TLS: the server certificate is verified against <ca_file> (PEM), or not at
 * all when <ca_file> is NULL; <sni> (may be NULL) is sent as the server name and, when
 * verifying, checked against the certificate. 0 or -errno (-EACCES: handshake refused). */
int mc_connect_tls(struct msrp_client *c, const char *hostport, const char *ca_file,
		   const char *sni, int timeout_ms);

/* Closes the connection (and TLS state). Safe on a client that never connected, if it was
 * zeroed, and twice. */
void mc_close(struct msrp_client *c);

/* Writes <len> bytes as they are. 0 or -errno. */
int mc_send_raw(struct msrp_client *c, const void *p, size_t len);

/* Reads the next whole frame into <f> within <timeout_ms>. Bytes after it stay buffered
 * for the next call. 0 or -errno (see the top of this file). */
int mc_read_frame(struct msrp_client *c, struct mc_frame *f, int timeout_ms);

/* The value of the first header named <name> (case-insensitive) in <f>, or NULL. */
const char *mc_header(const struct mc_frame *f, const char *name);

/* A SEND request. NULL fields are left out, except: <byte_range> NULL means
 * "1-<body_len>/<body_len>", <flag> 0 means '$'. */
struct mc_send {
	const char *to_path;         /* space-separated URIs, next hop first */
	const char *from_path;
	const char *message_id;
	const char *byte_range;
	const char *success_report;  /* "yes" / "no" */
	const char *failure_report;  /* "yes" / "no" / "partial" */
	const char *content_type;    /* needed when there is a body */
	const void *body;            /* <body_len> bytes; none when NULL */
	size_t body_len;
	char flag;
};

/* Builds and writes a SEND with transaction id <tid>. 0 or -errno (-EMSGSIZE when it would
 * not fit MC_FRAME_MAX). */
int mc_send_send(struct msrp_client *c, const char *tid, const struct mc_send *s);

/* Answers request <req> with "<status> <comment>" (<comment> may be NULL): To-Path is the
 * first URI of the request's From-Path (the previous hop), From-Path the first URI of its
 * To-Path (us). 0 or -errno. */
int mc_send_response(struct msrp_client *c, const struct mc_frame *req, int status,
		     const char *comment);

/* RFC 4976 §5 AUTH with HTTP Digest (MD5, qop=auth). */
struct mc_auth {
	const char *relay_uri;       /* To-Path, and the Digest "uri" */
	const char *client_uri;      /* From-Path */
	const char *user, *password;
	long expires;                /* > 0: an Expires header on both AUTHs; else none */
};

struct mc_auth_result {
	int status;                  /* status of the final response (401 twice: 401) */
	int challenged;              /* the first AUTH got a 401 with a usable challenge */
	char realm[128], nonce[256], qop[64], algorithm[32];
	int stale;                   /* the challenge said stale=true */
	char use_path[1024];         /* the 200's Use-Path ("" otherwise) */
	long expires;                /* the final response's Expires, -1 when none */
	long min_expires, max_expires; /* a 423's Min-/Max-Expires, -1 when none */
};

/* Sends AUTH; when the answer is a 401 with a Digest challenge, sends the second AUTH with
 * the Authorization (username, realm, nonce, uri = <relay_uri>, response, qop=auth,
 * nc=00000001, a fresh cnonce, algorithm=MD5) and reads its answer. Each read is bounded
 * by <timeout_ms>. 0 when an answer came (look at <r>->status), or -errno. */
int mc_auth(struct msrp_client *c, const struct mc_auth *a, struct mc_auth_result *r,
	    int timeout_ms);

/* The Digest response (32 lowercase hex digits and a NUL into <out>) for method <method>,
 * as RFC 2617 §3.2.2.1 with qop=auth. Exposed for tests that build their own AUTH. */
void mc_digest_response(const char *user, const char *realm, const char *password,
			const char *method, const char *uri, const char *nonce, const char *nc,
			const char *cnonce, char out[33]);

#endif
