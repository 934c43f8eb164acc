/* msrp_hdr.h — MSRP header names and lazy header-value parsers (RFC 4975 §9, RFC 4976 §5).
 *
 * The frame parser (msrp_parse.h) only finds header boundaries and their ids; a value is
 * parsed when someone asks, here. Every parser takes a value slice as the frame parser
 * hands it out (blanks around it removed), writes its result only on success, and returns
 * 0, or -EINVAL for a malformed value (-ERANGE where a number does not fit). Output slices
 * point into the value. */
#ifndef MSRP_HDR_H
#define MSRP_HDR_H

#include <stdint.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"
#include "msrp/msrp_parse-t.h"

/* ---- character classes (RFC 4975 §9), one table look-up per byte ------------------- */

#define MSRP_C_ALNUM   0x01     /* ALPHA / DIGIT */
#define MSRP_C_IDENT   0x02     /* ident-char: ALPHANUM / "." / "-" / "+" / "%" / "=" */
#define MSRP_C_TOKEN   0x04     /* token character */
#define MSRP_C_TEXT    0x08     /* utf8text: HTAB / %x20-7E / bytes >= 0x80 */
#define MSRP_C_UPALPHA 0x10     /* A-Z */
#define MSRP_C_DIGIT   0x20     /* 0-9 */
#define MSRP_C_ALPHA   0x40     /* A-Z / a-z */
#define MSRP_C_WS      0x80     /* SP / HTAB */

extern const uint8_t msrp_ctab[256];

static inline int msrp_cis(char c, unsigned cls)
{
	return (msrp_ctab[(unsigned char)c] & cls) != 0;
}

/* ---- header names ------------------------------------------------------------------- */

/* The id of header name <name>[0..<len>) (case-insensitive), MSRP_H_OTHER if unknown. */
enum msrp_hid msrp_hdr_id(const char *name, size_t len);

/* The canonical spelling of <id> ("To-Path"), "" for MSRP_H_OTHER or out of range. */
const char *msrp_hdr_name(enum msrp_hid id);

/* ---- finding headers in a parsed head ---------------------------------------------- */

/* The value of the first header <id> of <m> (for MSRP_H_OTHER: the first unknown
 * header), or a slice with p == NULL when there is none. */
cm_slice msrp_hdr_get(const struct msrp_msg *m, enum msrp_hid id);

/* The value of the first header of <m> named <name> (case-insensitive), p == NULL if none. */
cm_slice msrp_hdr_get_name(const struct msrp_msg *m, cm_slice name);

/* ---- value parsers ------------------------------------------------------------------ */

/* ident (Message-ID, transact-id): ALPHANUM then 3..31 ident-chars. 0 or -EINVAL. */
int msrp_hdr_ident(cm_slice v);

/* Byte-Range: range-start "-" (range-end / "*") "/" (total / "*"). Checks start >= 1,
 * end >= start - 1 (start - 1 is an empty range, "1-0/0", as sent in a SEND without
 * body), total >= end; numbers up to INT64_MAX, else -ERANGE. '*' is -1 in *<out>. */
int msrp_hdr_range(cm_slice v, struct msrp_range *out);

/* Success-Report: "yes" / "no"; Failure-Report: "yes" / "no" / "partial" (case-
 * insensitive, as ABNF strings are). An absent header (v.p == NULL) gives
 * MSRP_REPORT_ABSENT: the default ("yes" for Failure-Report, "no" for Success-Report,
 * RFC 4975 §7.1) is the caller's decision. */
int msrp_hdr_success_report(cm_slice v, enum msrp_report *out);
int msrp_hdr_failure_report(cm_slice v, enum msrp_report *out);

/* Status: namespace SP status-code [SP text-reason], namespace and code of 3 digits, the
 * code in 100..999. comment: the text-reason, empty when absent. */
int msrp_hdr_status(cm_slice v, struct msrp_status *out);

/* Expires, Min-Expires, Max-Expires (RFC 4976): 1*DIGIT seconds. -ERANGE above
 * UINT32_MAX. */
int msrp_hdr_expires(cm_slice v, uint32_t *out);

/* Content-Type: type "/" subtype *( ";" gen-param ), with blanks allowed around ";" and
 * "=". *<out> gets the type, the subtype and the parameters (after the first ";",
 * blanks removed; empty when none), all of them checked (see msrp_ctype_param_next). */
int msrp_hdr_ctype(cm_slice v, struct msrp_ctype *out);

/* Takes the next parameter of <rest> (start with msrp_ctype.params): 1 with *<name> and
 * *<value> (the token, or the quoted-string without its quotes and with its escapes left
 * as they are; p == NULL when the parameter has no "=") and *<rest> advanced; 0 when none
 * is left; -EINVAL when malformed. */
int msrp_ctype_param_next(cm_slice *rest, cm_slice *name, cm_slice *value);

/* Takes the next URI of a To-Path, From-Path or Use-Path value (URIs separated by blanks).
 * Start with *<rest> = the value. 1 with *<uri> set and *<rest> advanced past it, 0 when
 * no URI is left. The URI itself is parsed by msrp_uri.h. */
int msrp_path_next(cm_slice *rest, cm_slice *uri);

#endif
