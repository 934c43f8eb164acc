/* sdp.h — a bounded, zero-copy SDP parser (RFC 4566) and its writer.
 *
 *   session-description = v= o= s= [i=] [u=] *e= *p= [c=] *b= 1*( t= *r= ) [z=] [k=] *a=
 *                         *( m= [i=] *c= *b= [k=] *a= )
 *   line                = <one lower-case letter> "=" <value> ( CRLF / LF )
 *
 * What the parser takes (RFC 4566 §5), and where it is stricter or more lenient:
 *   - lines end in CRLF or in a bare LF (§5 asks CRLF and recommends taking LF); the last
 *     line may lack its line end, and empty lines are allowed only at the very end (a SIP
 *     body often carries one more CRLF); a CR anywhere else, or a NUL, is refused;
 *   - the first three lines are v=0, o= and s= in that order (§5: the order is fixed, and
 *     these are mandatory); at least one t= before the first m=;
 *   - o= has its six fields, c= its three, t= two decimal times, m= a media, a port (with
 *     an optional "/<count>"), a proto and at least one format, fields split by one SP
 *     (the §5 grammar); a= a name that is a token (§9 att-field), the value after ':';
 *   - at most one c= per level; session-only lines (v o s t r z e p u) inside a media
 *     section are refused; every other line, and any unknown letter, is kept in order
 *     (struct sdp.others) and written again by sdp_write().
 * Nothing is allocated; the output points into the input. Reentrant. */
#ifndef SDP_H
#define SDP_H

#include <stddef.h>

#include "common/cm_slice-t.h"
#include "sip/sdp-t.h"

/* The limits rcsgw uses when a caller has none of its own. */
void sdp_limits_default(struct sdp_limits *lim);

/* Parses the description <in> (in.p[0 .. in.len - 1]; never read beyond; in.p may be NULL
 * when in.len is 0) within <lim> (NULL: the defaults) into <out>.
 *
 * 0: <out> holds the description, out->err.code is SDP_E_NONE. -EINVAL: malformed;
 * -E2BIG: a limit was hit. Either way out->err.code says why and out->err.line where
 * (sdp_strerror() names it), the rest of <out> is unspecified, and <st> (may be NULL) has
 * the matching counter raised. A success raises st->parsed. */
int sdp_parse(cm_slice in, const struct sdp_limits *lim, struct sdp *out,
	      struct sdp_stats *st);

/* A short English text for <code> ("a line longer than the limit"), never NULL. */
const char *sdp_strerror(enum sdp_err code);

/* The first a=<name> of level <media> (-1: session level, else the m= index) of <s>,
 * <name> compared case-insensitively; NULL when there is none. */
const struct sdp_attr *sdp_attr_get(const struct sdp *s, int media, const char *name);

/* How many a=<name> level <media> of <s> has. */
unsigned sdp_attr_count(const struct sdp *s, int media, const char *name);

/* ---- building a description for sdp_write() ---------------------------------------- */

/* Empties <s>: no media, no attributes, no kept lines. The caller then fills origin,
 * session_name, conn and time, and adds media and attributes in order. */
void sdp_init(struct sdp *s);

/* Appends an m= section (conn not present, no attributes); its index, or -E2BIG when
 * SDP_MEDIA_MAX sections are there. <m>'s slices stay the caller's. */
int sdp_add_media(struct sdp *s, cm_slice media, uint16_t port, cm_slice proto,
		  cm_slice fmts);

/* Appends a=<name>[:<value>] (<has_value> says whether ':' is written) to level <media>,
 * which must be the session level while there is no m= yet, else the last m=. 0, -EINVAL
 * (another level) or -E2BIG (SDP_ATTR_MAX). */
int sdp_add_attr(struct sdp *s, int media, cm_slice name, cm_slice value, int has_value);

/* Writes <s> as SDP text with CRLF line ends into <buf>, snprintf's contract: at most
 * <len> - 1 bytes and a NUL when <len> > 0 (<buf> may be NULL when <len> is 0); returns
 * the length of the whole text, NUL excluded, so a result >= <len> means it was cut.
 * Lines come in RFC 4566 §5 order: v=0, o=, s=, the kept i= u= e= p= lines, c=, b=, t=
 * (s->time when s has no kept t= line, else the kept t= and r= lines), z= k= and unknown
 * letters, a=; then per m=: m=, i=, c=, b=, k=, unknown letters, a=. A parsed <s> writes
 * back to a description that parses to the same fields. */
size_t sdp_write(const struct sdp *s, char *buf, size_t len);

#endif
