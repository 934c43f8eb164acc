/* sip_write.h — SIP message serializer (RFC 3261 §7) and responses built from requests
 * (§8.2.6).
 *
 * Everything is written into the caller's buffer in one pass: no allocation, no printf.
 * Header values go out as given (a folded value keeps its folds, which is valid on the
 * wire). Content-Length is always written, last, from the body's size; a Content-Length
 * among the caller's headers is left out. Each writer returns the bytes written, or
 * -ENOSPC when <cap> is too small (the buffer then holds a partial message). */
#ifndef SIP_WRITE_H
#define SIP_WRITE_H

#include <sys/types.h>

#include "sip/sip-t.h"

/* The standard Reason-Phrase of <status> (RFC 3261 §21, RFC 3428, RFC 6665...), or
 * "Unknown" for codes without one. */
const char *sip_reason_phrase(int status);

/* Writes <method> SP <ruri> SP "SIP/2.0" CRLF, the <n> headers of <hdrs> in order ("name:
 * value" CRLF; an empty name takes sip_hdr_name(id)), Content-Length, CRLF and <body>
 * (may be empty). */
ssize_t sip_write_request(char *buf, size_t cap, cm_slice method, cm_slice ruri,
			  const struct sip_hdr *hdrs, unsigned n, cm_slice body);

/* Writes "SIP/2.0" SP <status> SP <reason> CRLF (an empty <reason>: sip_reason_phrase()),
 * then the headers, Content-Length and <body> as sip_write_request() does. <status> must
 * be 100..699 (-EINVAL otherwise). */
ssize_t sip_write_response(char *buf, size_t cap, int status, cm_slice reason,
			   const struct sip_hdr *hdrs, unsigned n, cm_slice body);

/* Writes the response <status> to the parsed request <req> as §8.2.6 asks: every Via of
 * <req> in order, From, To, Call-ID and CSeq copied, with ";tag=<to_tag>" added to To when
 * <req>'s To has none, <to_tag> is not empty and <status> is above 100 (§8.2.6.2); then
 * the <n> headers of <extra>, Content-Length and <body>. Works on a request with an error
 * when req->replyable (a 400 to a malformed request). -EINVAL when <req> is not a request
 * or lacks one of those headers. */
ssize_t sip_write_response_from(char *buf, size_t cap, const struct sip_msg *req, int status,
				cm_slice reason, cm_slice to_tag, const struct sip_hdr *extra,
				unsigned n, cm_slice body);

#endif
