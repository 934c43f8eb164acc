/* msrp_write.h — MSRP serializer (RFC 4975 §7, §9; RFC 4976 §7): every request and response
 * written into a caller's buffer, no allocation.
 *
 * Length semantics are snprintf's, without the NUL: a writer returns the bytes the whole
 * output needs, writes at most <len> of them into <buf> (a NULL <buf> with <len> 0 only
 * measures), and never writes past <buf>[<len> - 1]. The output was complete when the
 * return value is <= <len>. A frame is bytes, not a string: nothing is NUL-terminated.
 * Invalid input (a tid that is no ident, CR or LF inside a value, a bad code) gives -EINVAL
 * and writes nothing useful.
 *
 * A frame with a body goes out as three pieces so that a relay sends the body from where it
 * already is (zero-copy):
 *
 *     msrp_write_head()  "MSRP <tid> SEND\r\n" … "Content-Type: …\r\n\r\n"
 *     the body           the caller's bytes, never touched here
 *     msrp_write_tail()  "\r\n-------<tid><flag>\r\n"
 *
 * A frame without a body (no content_type) is all head: it ends with "-------<tid><flag>\r\n"
 * right after the last header line (§9 grammar: no blank line). */
#ifndef MSRP_WRITE_H
#define MSRP_WRITE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

/* Start line and headers of <m> into <buf>. With a body (<m>->content_type not empty) the
 * head ends with the blank line and <flag> is not used; without one it ends with the
 * end-line carrying <flag> ('$', '+' or '#'). Returns the bytes needed, or -EINVAL when
 * <m> is not a valid frame: tid not 4..32 ident characters, empty To-Path or From-Path,
 * a value holding CR or LF, a header name that is no token, a response code outside
 * 100..999, an invalid <flag> for a frame without body, a Byte-Range whose numbers do not
 * fit together (start 0, end < start - 1, end > total), Success-Report "partial", or
 * Success-Report / Failure-Report on a REPORT (§7.1.2). */
ssize_t msrp_write_head(char *buf, size_t len, const struct msrp_out *m, enum msrp_flag flag);

/* "\r\n-------<tid><flag>\r\n" into <buf>: the end of a frame with a body. Returns the bytes
 * needed (at most MSRP_TAIL_MAX), or -EINVAL for a bad tid or flag. */
ssize_t msrp_write_tail(char *buf, size_t len, cm_slice tid, enum msrp_flag flag);

/* The whole frame in one buffer: head, a copy of the <nbody> pieces of <body>, tail.
 * For small frames (responses, REPORTs, tests); a relay sends head, body, tail apart. */
ssize_t msrp_write_frame(char *buf, size_t len, const struct msrp_out *m, const cm_slice *body,
			 unsigned nbody, enum msrp_flag flag);

/* A response to a request (§7.2; RFC 4976 §6: responses go hop by hop): its To-Path is the
 * first URI of the request's From-Path <req_from> (the previous hop), its From-Path the
 * first URI of the request's To-Path <req_to> (the responder itself). <comment> may be
 * empty; msrp_write_reason() gives the usual one. <extra> (e.g. WWW-Authenticate) follow.
 * Same return as msrp_write_head(). */
ssize_t msrp_write_response(char *buf, size_t len, cm_slice tid, int status, cm_slice comment,
			    cm_slice req_to, cm_slice req_from, const struct msrp_hdr *extra,
			    unsigned nextra);

/* A REPORT (§7.1.2): no body, no Success-Report or Failure-Report, a Status header
 * "<ns> <code>[ <comment>]" from <st>. The sender of the report picks the paths: <to_path> is
 * the reported SEND's From-Path as received (which, through relays, already lists the way
 * back in order), <from_path> its own URI. <range> may be NULL (left out). Same return as
 * msrp_write_head(). */
ssize_t msrp_write_report(char *buf, size_t len, cm_slice tid, cm_slice to_path,
			  cm_slice from_path, cm_slice message_id, const struct msrp_range *range,
			  const struct msrp_status *st);

/* The first URI of a path header value (URIs separated by blanks): the slice into <path>,
 * empty when there is none. */
cm_slice msrp_write_path_first(cm_slice path);

/* "start-end/total" with '*' for -1 into <buf>. Returns the bytes needed. */
size_t msrp_write_range(char *buf, size_t len, const struct msrp_range *r);

/* The usual comment of a response code ("OK", "Unauthorized", …), "" when none is known.
 * A static string. */
const char *msrp_write_reason(int status);

/* 1 when <tid> is a transact-id: 4..32 characters, alphanumeric first, then alphanumeric or
 * one of . - + % = (§9 ident), else 0. */
int msrp_write_tid_ok(cm_slice tid);

/* §7.1: the end-line must not appear in the body. 1 when "-------<tid>" occurs anywhere in
 * the concatenation of the <n> pieces of <body> (also across pieces), else 0. Checking the
 * prefix without the flag is stricter than needed and costs nothing. */
int msrp_write_body_has_endline(cm_slice tid, const cm_slice *body, unsigned n);

/* Picks a transaction id for a frame carrying <body>: asks <fn>(<arg>) for a tid until one
 * does not occur in the body as "-------<tid>" (at most MSRP_TID_TRIES times). Writes it
 * NUL-terminated into <tid> (<tidlen> >= MSRP_TID_MAX + 1). Returns its length, -EEXIST
 * when every try collided, -EINVAL when <fn> made something that is no ident or <tidlen> is
 * short, or the generator's -errno. */
int msrp_write_pick_tid(msrp_tid_fn fn, void *arg, const cm_slice *body, unsigned n, char *tid,
			size_t tidlen);

#endif
