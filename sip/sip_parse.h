/* sip_parse.h — zero-copy SIP message parser (RFC 3261 §7, §18.3, §25; RFC 5626 §3.5.1).
 *
 * Datagrams (UDP) are parsed whole with sip_parse_msg(). Streams (TCP, TLS) go through
 * sip_stream_parse(), which frames messages by Content-Length, resumes where it stopped
 * when the data ran out, and reports the CRLF keep-alives between messages:
 *
 *	struct sip_msg m;
 *	for (;;) {
 *		long n = sip_stream_parse(&c->sp, rbuf + off, rlen - off, &m);
 *		if (n == SIP_AGAIN) break;                 // keep rbuf[off..rlen), read more
 *		if (n == SIP_ERROR) { if (m.replyable) answer m.err_status; close; break; }
 *		off += n;
 *		if (m.kind == SIP_KIND_KEEPALIVE) { if (m.ping) send "\r\n"; continue; }
 *		... request or response <m>, its slices into rbuf ...
 *	}
 *
 * Memory: nothing is allocated and nothing copied. Every slice of a struct sip_msg points
 * into the bytes that were parsed and is valid as long as they are. A stream parser keeps
 * offsets only, so the caller may move its unconsumed bytes (compact, grow the buffer)
 * between calls; it must pass them again, from the same first byte, with more after them.
 *
 * Grammar: RFC 3261 §25, strict where framing or the transaction layer depend on it (CRLF
 * line ends, no bare CR or LF, no CTL in a header but HTAB and the quoted-pairs of
 * quoted-strings (RFC 4475's intmeth has NUL, BEL and DEL there), "SIP/" 1*DIGIT
 * "." 1*DIGIT, one SP between the start-line elements, a 3-digit status in 100..699, a
 * token method; Via, From, To, Call-ID and CSeq present and well-formed, From, To, Call-ID,
 * CSeq, Max-Forwards, Content-Length and Content-Type not repeated, the CSeq method equal
 * to the request method), liberal where it is harmless: CRLFs before the start line
 * (§7.5), blanks before a header colon (HCOLON), folded header values (kept in the value
 * slice, see sip_hdr.h), empty header values, compact names, header names in any case, a
 * Reason-Phrase with any text. The Request-URI is not parsed here (sip_uri_parse() it:
 * a scheme we do not serve is the UAS's 416, not a syntax error). */
#ifndef SIP_PARSE_H
#define SIP_PARSE_H

#include "sip/sip-t.h"

#define SIP_AGAIN (-2)             /* stream: the message is not complete yet */
#define SIP_ERROR (-1)             /* the message (datagram) or the stream is refused */

/* Safe defaults: lines of 8 KiB, SIP_MAX_HEADERS header lines, messages of 64 KiB. */
void sip_parse_limits_default(struct sip_limits *lim);

/* The kinds of error of enum sip_perr as metric labels ("start_line", "too_big" ...;
 * index SIP_PE_NONE: "none"). */
extern const char *const sip_perr_names[SIP_PE__COUNT];

/* Parses the datagram <data>[0..<len>) as one message (§18.3: a Content-Length gives the
 * body's size and bytes after it are ignored; without one, the body runs to the end).
 * Reads no byte at or past <data>[<len>]. Returns 0 with *<m> filled (kind REQUEST or
 * RESPONSE), or SIP_ERROR with m->err, m->reason_text, m->err_status and m->replyable set
 * and whatever was read before in *<m>. CRLFs alone (a keep-alive) give SIP_ERROR with
 * m->kind SIP_KIND_KEEPALIVE and m->err SIP_PE_NONE: nothing to answer, nothing counted
 * as an error. Counted in cfg->stats. */
int sip_parse_msg(const struct sip_parse_cfg *cfg, const char *data, size_t len,
		  struct sip_msg *m);

/* Starts <s> on a new stream with the shared <cfg> (which must outlive <s>). Nothing to
 * free. */
void sip_stream_init(struct sip_stream *s, const struct sip_parse_cfg *cfg);

/* 1 when <s> is between messages (nothing of a message seen yet). */
int sip_stream_idle(const struct sip_stream *s);

/* Parses the stream bytes <data>[0..<len>) that follow the last bytes consumed:
 *
 *	> 0        bytes consumed: one message (m->kind REQUEST or RESPONSE, Content-Length
 *	           present and the whole body there: m->body), or keep-alive CRLFs
 *	           (m->kind KEEPALIVE; m->ping when they completed a double CRLF, RFC 5626
 *	           §3.5.1: the caller answers one CRLF).
 *	SIP_AGAIN  nothing consumed: call again with the same bytes and more. The bytes
 *	           already searched are not searched again.
 *	SIP_ERROR  the stream cannot be trusted any more (§18.3: no Content-Length, a limit,
 *	           a malformed message): *<m> holds what was read, m->err, m->err_status and
 *	           m->replyable as for sip_parse_msg(). Every later call returns SIP_ERROR
 *	           again (m->err only).
 *
 * A stream split anywhere gives the same messages as the whole stream, and the same
 * error; keep-alive CRLFs may come as more reports of fewer bytes (the pings add up the
 * same). Cost: one memchr per line while the head is incomplete, and one pass over the
 * head's lines when it is (two when the body comes in a later call). */
long sip_stream_parse(struct sip_stream *s, const char *data, size_t len, struct sip_msg *m);

#endif
