/* sip_hdr.h — SIP header names and lazy header-value parsers (RFC 3261 §7.3, §19.1, §20,
 * §25; RFC 3966 for tel: URIs).
 *
 * The message parser (sip_parse.h) only finds header boundaries and their ids; a value is
 * parsed here, when someone asks. Every parser takes a value slice as the message parser
 * hands it out (blanks around it removed; a folded value keeps its inner CRLF + blanks,
 * read as LWS everywhere here), reads s.p[0 .. s.len-1] and never beyond, writes *<out>
 * only on success (on failure it is left in an unspecified state), and returns 0, or
 * -EINVAL for a malformed value (-ERANGE where a number does not fit). Output slices point
 * into the value. Nothing is allocated; everything is reentrant. */
#ifndef SIP_HDR_H
#define SIP_HDR_H

#include <stdint.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp_auth.h"
#include "sip/sip-t.h"

/* ---- character classes (RFC 3261 §25.1), one table look-up per byte --------------- */

#define SIP_C_TOKEN  0x01      /* token: alphanum - . ! % * _ + ` ' ~ */
#define SIP_C_DIGIT  0x02      /* 0-9 */
#define SIP_C_ALPHA  0x04      /* A-Z a-z */
#define SIP_C_LWS    0x08      /* SP HTAB CR LF: blanks of a (possibly folded) value */
#define SIP_C_HEX    0x10      /* 0-9 A-F a-f */
#define SIP_C_UNRES  0x20      /* unreserved: alphanum - _ . ! ~ * ' ( ) */
#define SIP_C_CTL    0x40      /* %x00-1F and DEL */
#define SIP_C_PCHAR  0x80      /* what may stand in an unquoted parameter value or a URI
			        * outside its host: visible, not ; , ? < > " or LWS */

extern const uint8_t sip_ctab[256];

static inline int sip_cis(char c, unsigned cls)
{
	return (sip_ctab[(unsigned char)c] & cls) != 0;
}

/* ---- names -------------------------------------------------------------------------- */

/* The id of header name <name>[0..<len>) (case-insensitive, compact forms included),
 * SIP_H_OTHER if unknown. */
enum sip_hid sip_hdr_id(const char *name, size_t len);

/* The canonical spelling of <id> ("Call-ID"), "" for SIP_H_OTHER or out of range. */
const char *sip_hdr_name(enum sip_hid id);

/* The method of token <s>[0..<n>) (case-sensitive, RFC 3261 §7.1), SIP_M_OTHER if
 * unknown (SIP_M_NONE never). */
enum sip_method sip_method_of(const char *s, size_t n);

/* "INVITE" for SIP_M_INVITE; "" for SIP_M_NONE, SIP_M_OTHER or out of range. */
const char *sip_method_name(enum sip_method m);

/* ---- finding headers in a parsed message ------------------------------------------- */

/* The value of the first header <id> of <m>, or a slice with p == NULL when none. */
cm_slice sip_msg_hdr(const struct sip_msg *m, enum sip_hid id);

/* The value of the first header named <name> (case-insensitive; a compact form only
 * matches itself), p == NULL when none. */
cm_slice sip_msg_hdr_name(const struct sip_msg *m, cm_slice name);

/* Iterates over the comma-separated elements of every header <id> of <m>, in order
 * (RFC 3261 §7.3.1: "Via: a, b" and two Via lines are the same list). */
struct sip_hdr_iter {
	const struct sip_msg *m;
	enum sip_hid id;
	unsigned idx;              /* next header index to open */
	cm_slice rest;             /* what is left of the open header's value */
};

void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *m, enum sip_hid id);

/* 1 with the next element in *<elem> (LWS around it removed; never empty), 0 when none
 * is left, -EINVAL when a value has an unterminated quoted-string or '<'. Empty elements
 * (", ,") are skipped. */
int sip_hdr_iter_next(struct sip_hdr_iter *it, cm_slice *elem);

/* One step of the same split on a single value: takes the element at the start of
 * *<rest> (commas inside quoted-strings and <...> do not split), advances *<rest>. 1, 0
 * when nothing is left, -EINVAL as above. */
int sip_list_next(cm_slice *rest, cm_slice *elem);

/* ---- URIs ----------------------------------------------------------------------------- */

/* Parses a sip:, sips: (RFC 3261 §19.1, §25.1) or tel: (RFC 3966) URI that is exactly
 * <s> (no blanks around). Checks: scheme (case-insensitive), user and password characters
 * and %-escapes, host (a name of alphanum, '-' and '.'; an IPv4 address; an IPv6 reference
 * in brackets, checked with msrp_uri_ip6_parse()), port 1..65535, every uri-parameter and
 * header well-formed; ";ttl=" in 0..255. The well-known parameters (transport, maddr,
 * user, method, ttl, lr) are also set apart in *<out>. Escapes stay escaped. */
int sip_uri_parse(cm_slice s, struct sip_uri *out);

/* Takes the next parameter of <rest> (";"-separated; start with a params slice, which
 * has no leading ';'): 1 with *<name> and *<value> (p NULL when the parameter has no '=';
 * a quoted-string keeps its quotes) and *<rest> advanced; 0 when none is left; -EINVAL
 * when malformed. LWS around ';' and '=' is allowed. */
int sip_param_next(cm_slice *rest, cm_slice *name, cm_slice *value);

/* ---- values ------------------------------------------------------------------------ */

/* One name-addr or addr-spec with its parameters (From, To, one Contact / Route /
 * Record-Route element, Refer-To): [display-name] "<" URI ">" *(";" param), or
 * addr-spec *(";" param) where the URI ends at the first ';' or blank (§20.10). The URI
 * text is checked for blanks and brackets, not parsed: sip_uri_parse() it when needed (any
 * absoluteURI may stand there). "*" alone sets star (Contact in REGISTER). */
int sip_addr_parse(cm_slice v, struct sip_addr *out);

/* One Via element (from sip_hdr_iter_next()): sent-protocol "/"-separated with LWS
 * allowed around the slashes, sent-by host [":" port], via-params. ";ttl" in 0..255,
 * ";rport" with or without a value, ";received" an IP address. */
int sip_via_parse(cm_slice elem, struct sip_via *out);

/* CSeq: 1*DIGIT LWS Method, the number below 2**31 (-ERANGE above). */
int sip_cseq_parse(cm_slice v, struct sip_cseq *out);

/* Call-ID: word ["@" word] with no blanks (§25.1); *<out> is the value. */
int sip_callid_parse(cm_slice v, cm_slice *out);

/* 1*DIGIT (Content-Length, Max-Forwards, Expires, Min-Expires) up to <max>: -ERANGE
 * above it, -EINVAL when not digits. */
int sip_uint_parse(cm_slice v, uint32_t max, uint32_t *out);

/* Content-Type: type "/" subtype *( ";" param ), LWS allowed around '/', ';', '='. */
int sip_ctype_parse(cm_slice v, struct sip_ctype *out);

/* Takes the next token of a comma list (Allow, Supported, Require, Proxy-Require,
 * Unsupported, Allow-Events): 1 with *<tok>, 0 at the end, -EINVAL when an element is
 * not a single token. Start with *<rest> = the value. */
int sip_token_next(cm_slice *rest, cm_slice *tok);

/* WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization: the Digest
 * auth-params, parsed by msrp_auth_parse() (its grammar is RFC 2617's, as SIP's §25.1
 * is): see msrp_auth.h for what *<out> holds. A folded value (CRLF inside) is refused
 * with -EINVAL: msrp_auth_parse() takes SP and HTAB only as blanks. */
int sip_auth_parse(cm_slice v, struct msrp_auth_params *out);

#endif
