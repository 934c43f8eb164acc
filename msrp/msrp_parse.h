/* msrp_parse.h — incremental, zero-copy MSRP frame parser (RFC 4975 §7, §9; RFC 4976).
 *
 * The caller feeds the bytes of one connection as they arrive and gets one event per call:
 *
 *	struct msrp_ev ev;
 *	for (;;) {
 *		size_t n = msrp_parse(&c->parser, data, len, &ev);
 *		data += n, len -= n;
 *		if (ev.type == MSRP_EV_NEED_MORE) break;      // len is 0 now
 *		if (ev.type == MSRP_EV_ERROR) { answer ev.status if a request's tid is known; close; break; }
 *		... HEAD: ev.msg / BODY: ev.body / END: ev.flag ...
 *	}
 *
 * A frame gives HEAD, then zero or more BODY, then END. A frame split across calls at any
 * byte gives the same HEAD, the same concatenated body and the same flag as the whole
 * frame (the BODY pieces differ). Frames follow each other on one stream (pipelining).
 *
 * Memory: nothing is allocated per frame. HEAD slices point into <data> when the whole
 * head came in one call; when a head arrives in pieces, its bytes are copied into a head
 * buffer from cfg->alloc (at most limits.max_head bytes), which is given back at the next
 * call. BODY slices point into <data>, or into the parser itself for the few bytes of an
 * end-line lookalike that was held back across calls.
 *
 * Grammar: RFC 4975 §9, strict where the framing is at stake (CRLF line ends, "MSRP" in
 * caps, transact-id of 4..32 ident characters, 3-digit status of 100..999, method of
 * upper-case letters, end-line with the frame's transact-id and $ + #), liberal where it
 * is harmless: blanks after a header colon and around a value, headers in any order,
 * UTF-8 text not checked for sequence validity, a Content-Type without a body. Required:
 * To-Path and From-Path in every frame (requests and responses), Content-Type when a body
 * follows, no body in responses, no second To-Path, From-Path, Message-ID, Byte-Range,
 * Success-Report, Failure-Report, Status or Content-Type. Header values are not
 * interpreted here: see msrp_hdr.h. */
#ifndef MSRP_PARSE_H
#define MSRP_PARSE_H

#include "msrp/msrp_parse-t.h"

/* Safe defaults: lines of 8 KiB, 64 headers, heads of 16 KiB, bodies of 16 MiB. */
void msrp_parse_limits_default(struct msrp_limits *lim);

/* The kinds of error of enum msrp_perr as metric labels ("syntax", "line_too_long" ...;
 * index MSRP_PE_NONE: "none"). */
extern const char *const msrp_perr_names[MSRP_PE__COUNT];

/* Starts <p> on a new stream with the shared <cfg> (which must outlive <p>). <p> holds no
 * resource until a head arrives in pieces. */
void msrp_parser_init(struct msrp_parser *p, const struct msrp_parse_cfg *cfg);

/* Gives back the head buffer that <p> may hold (the connection is going away). <p> may be
 * initialised again afterwards. */
void msrp_parser_free(struct msrp_parser *p);

/* 1 when <p> is between frames and holds nothing (no partial head, body or end-line). */
int msrp_parser_idle(const struct msrp_parser *p);

/* Consumes bytes of <data>[0..<len>) and reports one event in *<ev>. Returns the bytes
 * consumed (at most <len>); the caller passes the rest on the next call and calls again
 * until NEED_MORE, even when the rest is empty (an event may consume nothing: END after
 * the last BODY of a call, ERROR after a body that reached max_body). <len> may be 0.
 *
 *	NEED_MORE  all <len> bytes consumed; call again when more arrive.
 *	HEAD       ev->msg: start line and headers. msg.has_body says whether BODY events may
 *	           follow. Its slices are valid until the next msrp_parse() on <p> (they
 *	           point into <data> or into the head buffer given back at that call).
 *	BODY       ev->body: the next body bytes (never empty), valid until the next call or
 *	           as long as <data>, whichever ends first.
 *	END        ev->flag: MSRP_FLAG_END, _MORE or _ABORT; ev->tid. The next byte starts a
 *	           new frame.
 *	ERROR      ev->status (400 malformed or a head limit, 413 body over max_body, 0 no
 *	           head buffer: close without answering), ev->err, ev->reason, and when the
 *	           start line was read, ev->tid, ev->is_request, ev->method (the caller
 *	           answers requests other than REPORT). The stream cannot be trusted any
 *	           more: every later call returns the same ERROR and consumes nothing.
 *
 * The events of a split stream are those of the whole stream: the same byte positions
 * decide every error whatever the split. Cost: no allocation on the whole-head path, one
 * memchr per line of the head and per CR of the body. */
size_t msrp_parse(struct msrp_parser *p, const char *data, size_t len, struct msrp_ev *ev);

#endif
