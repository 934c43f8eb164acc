/* bench_msrp.h — the MSRP wire pieces the load generator needs, kept small and separate from
 * rcsgw's own msrp/ layer (the generator must not share code with the system it measures):
 * a frame splitter, header look-up, and RFC 4976 AUTH with RFC 2617 Digest (MD5, qop=auth)
 * on wolfSSL's MD5. */
#ifndef BENCH_MSRP_H
#define BENCH_MSRP_H

#include <stddef.h>
#include <stdint.h>

#define BM_TID_LEN   16      /* the generator's transaction ids: 16 hex digits */
#define BM_HEAD_MAX  16384   /* a head longer than this is malformed */

/* One complete frame, as slices into the caller's bytes (not NUL-terminated). */
struct bm_frame {
	const char *tid;
	uint32_t tid_len;
	int code;                  /* response status, 0 for a request */
	const char *method;        /* request method (NULL for a response) */
	uint32_t method_len;
	const char *hdrs;          /* header lines, each ending in CRLF */
	uint32_t hdrs_len;
	const char *body;          /* NULL when the frame has no body */
	uint32_t body_len;
	char flag;                 /* end-line flag: '$', '+' or '#' */
};

/* Splits the first frame off <p>[0, <len>). Returns the frame's length in bytes when it is
 * complete (<f> filled), 0 when more bytes are needed, -1 when the bytes are not MSRP.
 * <*hint> (0 for a new frame) is where the end-line search resumes when the same frame is
 * offered again with more bytes after a 0: the caller keeps it between calls. */
int bm_frame_split(const char *p, size_t len, struct bm_frame *f, uint32_t *hint);

/* The value of header <name> (case-insensitive) among <f>'s headers, leading blanks
 * trimmed. 0 with <*v>, <*vlen> set, or -1 when absent. */
int bm_header(const struct bm_frame *f, const char *name, const char **v, uint32_t *vlen);

/* The first URI of a path value (up to the first blank). */
uint32_t bm_first_uri(const char *v, uint32_t vlen);

/* Writes <n> hex digits of <v> (most significant first) at <d>. */
void bm_put_hex(char *d, uint64_t v, unsigned n);
/* Reads <n> hex digits at <s>. 0, or -1 when one is not a hex digit. */
int bm_get_hex(const char *s, unsigned n, uint64_t *out);

/* What an AUTH exchange needs to know. */
struct bm_auth {
	const char *relay_uri;     /* msrp://HOST:PORT;tcp — To-Path and Digest uri */
	const char *user, *password;
	const char *realm;         /* NULL: the challenge's */
};

/* Writes an AUTH request from <own_uri> into <out> (at most <cap> bytes). With <challenge>
 * (the WWW-Authenticate value of a 401, <clen> bytes), the request carries the Digest
 * Authorization answering it (nc=00000001, a cnonce derived from <tid>). The frame's length,
 * or -1 when it does not fit or the challenge is not a Digest MD5 one this code answers. */
int bm_auth_request(char *out, size_t cap, const struct bm_auth *a, const char *own_uri,
		    uint64_t tid, const char *challenge, uint32_t clen);

#endif
