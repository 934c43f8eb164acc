/* rcs_wbuf.h — the output buffer and %-escapes shared by the small text writers of rcs/
 * (rcs_tags.c, rcs_filesel.c).
 *
 * A writer appends to a struct rcs_wbuf without checking room: what does not fit is
 * counted, not written, so one pass gives both the text and the length it needs. The
 * writers' common contract comes from rcs_wbuf_end(): the length written with a NUL after
 * it, the length needed when there was no buffer at all, or -ENOSPC. */
#ifndef RCS_WBUF_H
#define RCS_WBUF_H

#include <stddef.h>

struct rcs_wbuf {
	char *p;                /* NULL: only count */
	size_t cap;             /* bytes at p, the NUL included */
	size_t len;             /* bytes appended so far, written or not */
};

/* An empty buffer over <p>[0..<cap>) (<p> may be NULL: the length is counted only). */
void rcs_wbuf_init(struct rcs_wbuf *w, char *p, size_t cap);

/* Appends <s>[0..<n>), or counts it when it does not fit (with room left for the NUL). */
void rcs_wbuf_put(struct rcs_wbuf *w, const char *s, size_t n);

/* Appends the NUL-terminated <s>. */
void rcs_wbuf_str(struct rcs_wbuf *w, const char *s);

/* Appends "%HH", <c> in upper-case hex (RFC 3986 §2.1 recommends upper case). */
void rcs_wbuf_pct(struct rcs_wbuf *w, unsigned char c);

/* Appends <v> in decimal. */
void rcs_wbuf_u64(struct rcs_wbuf *w, unsigned long long v);

/* Ends the text: with no buffer (p NULL), the length needed (NUL excluded); when it all
 * fitted with its NUL, the NUL is written and the length returned; else -ENOSPC, and the
 * buffer holds "" when it has room for that. */
long rcs_wbuf_end(struct rcs_wbuf *w);

/* The value of hex digit <c> (either case), -1 when <c> is not one. */
int rcs_hexval(char c);

#endif
