/* rcs_cpim.h — the message/cpim body (RFC 3862) as RCS carries it in MSRP SENDs and SIP
 * MESSAGEs: parsing into slices, header look-up through namespaces, addresses, writing.
 *
 * A message/cpim body is three parts (RFC 3862 §2):
 *
 *   From: MR SANDERS <im:piglet@100akerwood.com>          message headers (§3), one a line
 *   NS: MyFeatures <mid:MessageFeatures@id.foo.com>
 *   MyFeatures.VitalMessageOption: Confirmation-requested
 *                                                         empty line
 *   Content-Type: text/plain; charset=utf-8               content headers (MIME, RFC 2045)
 *                                                         empty line
 *   Here is the text of my message.                       content, to the end of the body
 *
 * Message header lines (RFC 3862 §3.3):
 *
 *   Header       = Header-name ":" *( ";" Parameter ) SP Header-value CRLF
 *   Header-name  = [ Name-prefix "." ] Name
 *   Parameter    = Param-name "=" ( Token / Number / String )    ("lang=fr" is one)
 *   Name         = 1*NAMECHAR      ALPHA DIGIT ! # $ % & ' * + - ^ _ ` | ~
 *   Token        = 1*TOKENCHAR     NAMECHAR, "." and bytes >= 0x80
 *   String       = DQUOTE *( Str-char / "\" escape ) DQUOTE
 *   Header-value = *HEADERCHAR     no control characters (UTF-8 not checked)
 *
 * What this parser does beyond the grammar, and where it is lenient:
 *   - lines end in CRLF or a bare LF; a CR anywhere else is a control character;
 *   - after the ':' (and the parameters) any number of SP/HTAB, none included, go before
 *     the value; trailing SP/HTAB are not part of the value; HTAB is taken in values;
 *   - header names are case-sensitive (RFC 3862), "NS" and "From" included; a name
 *     holds at most one '.' (NAMECHAR has none), what precedes it is the prefix;
 *   - no folding in the message headers: RFC 3862 has none, so a line that starts with SP
 *     or HTAB there is malformed (-EINVAL). The content headers are MIME headers, where
 *     RFC 5322 §2.2.3 folding is allowed: a continuation line extends the value of the
 *     header above it, whose slice then spans the raw fold (CRLF and blanks included);
 *   - content header names are any printable ASCII but ':' (RFC 5322 ftext), compared
 *     without case for Content-Type; their value is all that follows the ':' (MIME
 *     parameters such as "; charset=utf-8" stay in it; params and prefix are empty);
 *   - escapes (RFC 3862 §2.3, "\u00e9") are not decoded: slices are raw bytes;
 *   - an NS value is [ prefix *SP ] "<" URI ">" with a URI free of blanks, '<' and '>';
 *     any other NS value makes the message malformed;
 *   - an empty message header block (the body starts with an empty line) and an empty
 *     content header block are taken; From, To and the other headers are the caller's
 *     business (IMDN, chat).
 *
 * Namespaces (RFC 3862, the NS header): "NS: imdn <urn:ietf:params:imdn>" binds the prefix imdn
 * for the header lines below it, until the prefix is declared again; "NS: <uri>" (no
 * prefix) sets the default namespace of unprefixed names, which is otherwise the core one,
 * RCS_CPIM_NS_CORE. A prefix used without a declaration above it is kept as parsed and
 * matches no namespace.
 *
 * Everything is bounded (the limits below), reentrant, allocation-free and recursion-free. */
#ifndef RCS_CPIM_H
#define RCS_CPIM_H

#include <stddef.h>

#include "common/cm_slice-t.h"

#define RCS_CPIM_MAX_HDRS 32 /* message headers kept (NS lines included); more -> -E2BIG */
#define RCS_CPIM_MAX_NS    8 /* NS declarations kept; more -> -E2BIG */
#define RCS_CPIM_MAX_MIME  8 /* content headers kept; more -> -E2BIG */

#define RCS_CPIM_NS_CORE "urn:ietf:params:cpim-headers:" /* namespace of unprefixed names */

struct rcs_cpim_hdr {
	cm_slice prefix; /* namespace prefix of the name ("imdn" in imdn.Message-ID); empty for core headers */
	cm_slice name;   /* the name after the prefix and its dot */
	cm_slice params; /* ";lang=fr" style parameters between ':' and the value, without the first ';'; often empty */
	cm_slice value;  /* the value, leading SP and trailing whitespace removed */
};

struct rcs_cpim_ns {
	cm_slice prefix; /* declared prefix; empty for the default namespace ("NS: <uri>") */
	cm_slice uri;    /* without the <> */
};

struct rcs_cpim_msg {
	struct rcs_cpim_hdr hdrs[RCS_CPIM_MAX_HDRS]; unsigned nhdrs; /* message headers in order */
	struct rcs_cpim_ns ns[RCS_CPIM_MAX_NS]; unsigned nns;         /* the NS lines of hdrs, in order */
	struct rcs_cpim_hdr mime[RCS_CPIM_MAX_MIME]; unsigned nmime;  /* encapsulated content headers */
	cm_slice content_type; /* value of the content's Content-Type (empty when absent) */
	cm_slice body;         /* the encapsulated content, to the end of the input */
};

/* Parses the <len> bytes at <p> (a message/cpim body) into *<m>; every slice points into <p>.
 * Returns 0, -EINVAL (malformed) or -E2BIG (more headers than kept). Never reads past p+len.
 *
 * -EINVAL: no empty line after the message headers, or none after the content headers (an
 * input that ends right after the first empty line has no content part: -EINVAL too); a
 * message header line whose name is not [Name "."] Name, without ':', with a malformed
 * parameter or with a control character; a bad NS value; a content header line without a
 * name or ':', with a control character, or a continuation line with no header above.
 * On failure *<m> holds no header (counts 0, slices empty). <p> may be NULL when <len> is 0
 * (which is -EINVAL). */
int rcs_cpim_parse(const char *p, size_t len, struct rcs_cpim_msg *m);

/* The first message header named <name> (exact, case-sensitive per RFC 3862) whose prefix resolves to
 * namespace <ns_uri> (CM_SLICE_NULL or empty: core headers, i.e. no prefix), after <after> (NULL: from
 * the start). NULL when none. Also resolves the prefix through the NS declarations in effect.
 *
 * With a non-empty <ns_uri> (compared byte for byte): a prefixed header matches when the
 * last NS line above it that declares its prefix has that URI; an unprefixed one when the
 * default namespace in effect (the last "NS: <uri>" above it, else RCS_CPIM_NS_CORE) is
 * <ns_uri>. So rcs_cpim_get(m, CM_SLICE_LIT("urn:ietf:params:imdn"), "Message-ID", NULL)
 * finds "imdn.Message-ID: 34jk324j" after "NS: imdn <urn:ietf:params:imdn>", whatever the
 * prefix is called. <m> is as rcs_cpim_parse() filled it; <after> must point into
 * <m>->hdrs (else NULL). */
const struct rcs_cpim_hdr *rcs_cpim_get(const struct rcs_cpim_msg *m, cm_slice ns_uri, const char *name,
					const struct rcs_cpim_hdr *after);

/* Splits an address value ("MR SANDERS <im:piglet@100akerwood.com>" or "<sip:+1555@x>" ) into its display
 * name (quotes removed, may be empty) and URI (without <>). 0 or -EINVAL.
 *
 * The display name is the quoted string (its escapes left as they are) or the text before
 * '<' without its outer blanks. A bare URI with no blank, quote or angle bracket and with a
 * ':' ("sip:bob@example.com") is taken too, with an empty display name. -EINVAL: empty,
 * unterminated quote, no '<' (other than the bare form), empty URI, a blank or '<' in the
 * URI, anything after '>', text between a closing quote and '<'. <display> and <uri> may be
 * NULL; they are set to empty slices on failure. */
int rcs_cpim_addr(cm_slice value, cm_slice *display, cm_slice *uri);

struct rcs_cpim_out {
	cm_slice from, to;               /* written as given, e.g. "<sip:+1555@ex.com>"; both required */
	const cm_slice *cc; unsigned ncc;
	cm_slice datetime;               /* RFC 3339; omitted when empty */
	cm_slice subject;                /* omitted when empty */
	cm_slice require;                /* omitted when empty */
	const struct rcs_cpim_ns *ns; unsigned nns;      /* NS lines, written before the headers that use them */
	const struct rcs_cpim_hdr *hdrs; unsigned nhdrs; /* further message headers: "prefix.name:params value" */
	cm_slice content_type;           /* required */
	const struct rcs_cpim_hdr *mime; unsigned nmime; /* further content headers (prefix ignored) */
	cm_slice body;
};

/* Writes the message/cpim body described by *<o> into <buf> (<cap> bytes). Returns its length, the length
 * it needs when <buf> is NULL, -ENOSPC when cap is too small, -EINVAL when a required field is missing or a
 * name/value holds CR, LF or (names) a ':' / space. Header block, blank line, content headers, blank line, body.
 *
 * The lines, each ended by CRLF, in this order:
 *   From, To, cc (one line each), DateTime, Subject, NS (one per <ns>), Require, the <hdrs>
 *   ("prefix.name: value", "name:;params value"), an empty line, "Content-Type: <ct>", the
 *   <mime> ("name: value"; their prefix and params are not written), an empty line, then
 *   <body> as it is (any bytes).
 * What is written parses back with rcs_cpim_parse() to the same headers, content type and
 * body, so the checks are those of the parser:
 *   -EINVAL: from, to or content_type empty; a cc empty; a value (any field but body) with
 *   a control character other than HTAB; a message header name or prefix not a Name, its
 *   params not ( Name "=" ( Token / String ) ) joined by ';'; a content header name empty
 *   or not printable ASCII without ':'; an NS prefix not a Name, its URI empty or holding
 *   a blank, '<', '>' or control character; an <hdrs> entry named "NS" (no prefix) whose
 *   value is not an NS value; a slice with len > 0 and p NULL; an array NULL with a count.
 *   -E2BIG: more message headers (NS lines included), NS lines or content headers
 *   (Content-Type included) than rcs_cpim_parse() keeps.
 *   -EOVERFLOW: longer than LONG_MAX.
 * Leading and trailing blanks of values are not kept by a round trip (the parser trims
 * them). On -ENOSPC nothing is written; no NUL is added. */
long rcs_cpim_write(char *buf, size_t cap, const struct rcs_cpim_out *o);

/* Formats the time <t_ms> (ms since the epoch, UTC) as RFC 3339 "2026-11-26T14:20:34.123Z" into <out>.
 * Always 24 characters and a NUL; times before year 0000 or after 9999 (which RFC 3339
 * cannot write) are clamped to 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
void rcs_cpim_datetime(long long t_ms, char out[32]);

#endif
