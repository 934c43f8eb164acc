/* msrp_parse.c — incremental, zero-copy MSRP frame parser (see msrp_parse.h).
 *
 * States of one stream (p->state):
 *   S_HEAD     the start line and the header lines, one complete line at a time (its LF
 *              found with memchr, its bytes then checked with the class table). When the
 *              head is complete within one call the lines are parsed where they lie. When
 *              the data runs out first, the head so far is copied into a head buffer and
 *              every later head byte is appended there; each line is checked as soon as it
 *              is complete (so that errors come at the same byte whatever the split), and
 *              the HEAD is built from the buffer in one last pass.
 *   S_BODY     body bytes, searched for pat = CRLF "-------" tid flag CRLF.
 *   S_ENDLINE  no body: the end-line follows the headers (its CRLF is the last header's).
 *   S_END      END owed: the body bytes before the end-line were reported first.
 *   S_DEAD     ERROR, for good.
 *
 * The end-line search. The pattern starts with CR and has no other CR before its flag
 * (transact-id characters exclude CR), so every proper border of a matched prefix is
 * empty, except after the flag's CR, where the border "CR" cannot survive the mismatching
 * byte (it is not LF). The KMP failure function is therefore "back to 0, then look at the
 * mismatching byte again": a mismatch re-enters the memchr scan at that byte, and the
 * bytes matched so far were body. When the data ends inside a possible end-line, those
 * bytes are held back (p->m) and nothing is copied: they equal pat[0..m), so when the
 * match fails in a later call they are handed out as a BODY slice of pat. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "msrp/msrp_hdr.h"
#include "msrp/msrp_parse.h"

enum { S_HEAD = 0, S_BODY, S_ENDLINE, S_END, S_DEAD };

#define P_START   0x01            /* the start line was read: pat holds the tid */
#define P_REQUEST 0x02            /* the frame is a request */
#define P_RELEASE 0x04            /* hbuf backs the last HEAD: give it back at the next call */

/* Headers that may appear once: a second one would let two readers see two frames. */
#define SINGLETONS ((1u << MSRP_H_TO_PATH) | (1u << MSRP_H_FROM_PATH) |                 \
		    (1u << MSRP_H_MESSAGE_ID) | (1u << MSRP_H_BYTE_RANGE) |               \
		    (1u << MSRP_H_SUCCESS_REPORT) | (1u << MSRP_H_FAILURE_REPORT) |       \
		    (1u << MSRP_H_STATUS) | (1u << MSRP_H_CONTENT_TYPE))

/* Reasons, each with its error kind. */
enum {
	R_NONE = 0,
	R_NO_CRLF,
	R_NOT_MSRP,
	R_BAD_TID,
	R_BAD_STATUS,
	R_BAD_METHOD,
	R_BAD_COMMENT,
	R_BAD_HNAME,
	R_BAD_HVALUE,
	R_BAD_ENDLINE,
	R_DUP,
	R_NO_TO,
	R_NO_FROM,
	R_BODY_NO_CT,
	R_RESP_BODY,
	R_LINE,
	R_HEADERS,
	R_HEAD,
	R_BODY,
	R_NOMEM,
	R__COUNT
};

static const struct {
	const char *text;
	uint8_t err;
} reasons[R__COUNT] = {
	[R_NONE] = { "", MSRP_PE_NONE },
	[R_NO_CRLF] = { "line not ended by CRLF", MSRP_PE_SYNTAX },
	[R_NOT_MSRP] = { "not an MSRP start line", MSRP_PE_SYNTAX },
	[R_BAD_TID] = { "bad transaction id", MSRP_PE_SYNTAX },
	[R_BAD_STATUS] = { "bad status code", MSRP_PE_SYNTAX },
	[R_BAD_METHOD] = { "bad method", MSRP_PE_SYNTAX },
	[R_BAD_COMMENT] = { "bad response comment", MSRP_PE_SYNTAX },
	[R_BAD_HNAME] = { "bad header line", MSRP_PE_SYNTAX },
	[R_BAD_HVALUE] = { "bad character in a header value", MSRP_PE_SYNTAX },
	[R_BAD_ENDLINE] = { "bad end-line", MSRP_PE_SYNTAX },
	[R_DUP] = { "header repeated", MSRP_PE_SEMANTIC },
	[R_NO_TO] = { "To-Path missing", MSRP_PE_SEMANTIC },
	[R_NO_FROM] = { "From-Path missing", MSRP_PE_SEMANTIC },
	[R_BODY_NO_CT] = { "body without Content-Type", MSRP_PE_SEMANTIC },
	[R_RESP_BODY] = { "response with a body", MSRP_PE_SEMANTIC },
	[R_LINE] = { "line too long", MSRP_PE_LINE },
	[R_HEADERS] = { "too many headers", MSRP_PE_HEADERS },
	[R_HEAD] = { "head too long", MSRP_PE_HEAD },
	[R_BODY] = { "body too long", MSRP_PE_BODY },
	[R_NOMEM] = { "no head buffer", MSRP_PE_NOMEM },
};

const char *const msrp_perr_names[MSRP_PE__COUNT] = {
	[MSRP_PE_NONE] = "none", [MSRP_PE_SYNTAX] = "syntax", [MSRP_PE_SEMANTIC] = "semantic",
	[MSRP_PE_LINE] = "line_too_long", [MSRP_PE_HEADERS] = "too_many_headers",
	[MSRP_PE_HEAD] = "head_too_big", [MSRP_PE_BODY] = "body_too_big",
	[MSRP_PE_NOMEM] = "no_memory",
};

void msrp_parse_limits_default(struct msrp_limits *lim)
{
	lim->max_line = 8192;
	lim->max_headers = MSRP_MAX_HEADERS;
	lim->max_head = 16384;
	lim->max_body = 16u << 20;
}

void msrp_parser_init(struct msrp_parser *p, const struct msrp_parse_cfg *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->state = S_HEAD;
}

static void drop_hbuf(struct msrp_parser *p)
{
	if (p->hbuf)
		p->cfg->release(p->cfg->ctx, p->hbuf);
	p->hbuf = NULL;
	p->hlen = p->hline = 0;
	p->flags &= (uint8_t)~P_RELEASE;
}

void msrp_parser_free(struct msrp_parser *p)
{
	drop_hbuf(p);
}

int msrp_parser_idle(const struct msrp_parser *p)
{
	return p->state == S_HEAD && !p->hbuf;
}

/* ---- events ------------------------------------------------------------------------- */

static void error_event(const struct msrp_parser *p, struct msrp_ev *ev)
{
	ev->type = MSRP_EV_ERROR;
	ev->status = p->status;
	ev->err = (enum msrp_perr)p->err;
	ev->reason = reasons[p->reason].text;
	if (p->flags & P_START) {
		ev->tid = (cm_slice){ p->pat + 9, (size_t)p->plen - 9 };
		ev->is_request = (p->flags & P_REQUEST) != 0;
		ev->method = (enum msrp_method)p->method;
	} else {
		ev->tid = (cm_slice){ p->pat, 0 };
		ev->is_request = 0;
		ev->method = MSRP_M_NONE;
	}
}

/* The stream is broken for <reason>: counted once, reported now and at every later call. */
static void set_dead(struct msrp_parser *p, unsigned reason)
{
	p->reason = (uint8_t)reason;
	p->err = reasons[reason].err;
	p->status = p->err == MSRP_PE_BODY ? 413 : p->err == MSRP_PE_NOMEM ? 0 : 400;
	p->state = S_DEAD;
	p->cfg->stats->errors[p->err]++;
	drop_hbuf(p);
}

static size_t fail(struct msrp_parser *p, struct msrp_ev *ev, unsigned reason)
{
	set_dead(p, reason);
	error_event(p, ev);
	return 0;
}

static size_t need_more(struct msrp_ev *ev, size_t used)
{
	ev->type = MSRP_EV_NEED_MORE;
	return used;
}

/* <n> body bytes at <b>, <used> bytes of data consumed. Past max_body, hands out what
 * still fits and dies (413): the body delivered before the ERROR is exactly max_body
 * bytes, whatever the split. */
static size_t body_event(struct msrp_parser *p, struct msrp_ev *ev, const char *b, size_t n,
			 size_t used)
{
	uint64_t room = p->cfg->limits.max_body - p->body_len;

	if (n > room) {
		set_dead(p, R_BODY);
		if (room == 0) {
			error_event(p, ev);
			return 0;
		}
		n = (size_t)room;
	}
	p->body_len += n;
	p->cfg->stats->body_bytes += n;
	ev->type = MSRP_EV_BODY;
	ev->body = (cm_slice){ b, n };
	return used;
}

static size_t end_event(struct msrp_parser *p, struct msrp_ev *ev, size_t used)
{
	ev->type = MSRP_EV_END;
	ev->flag = (enum msrp_flag)(unsigned char)p->pat[p->plen];
	ev->tid = (cm_slice){ p->pat + 9, (size_t)p->plen - 9 };
	p->cfg->stats->frames++;
	/* the next frame; pat stays until its start line (ev->tid points there) */
	p->state = S_HEAD;
	p->flags &= (uint8_t)~(P_START | P_REQUEST);
	p->nhdrs = 0;
	p->seen = 0;
	p->m = 0;
	p->body_len = 0;
	return used;
}

/* ---- head --------------------------------------------------------------------------- */

static enum msrp_method method_of(const char *s, size_t n)
{
	if (n == 4 && memcmp(s, "SEND", 4) == 0)
		return MSRP_M_SEND;
	if (n == 6 && memcmp(s, "REPORT", 6) == 0)
		return MSRP_M_REPORT;
	if (n == 4 && memcmp(s, "AUTH", 4) == 0)
		return MSRP_M_AUTH;
	return MSRP_M_OTHER;
}

/* How many bytes at the start of <s>[0..<n>) are plain text (0x20..0x7e, >= 0x80): the
 * first CTL or DEL stops the run; in a well-formed line it is the CR of the line end.
 * Sixteen bytes at a time with SSE2, then eight with SWAR (where the lowest flagged byte
 * of each test is exact), then one. */
static size_t plain_run(const char *s, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i c1f = _mm_set1_epi8(0x1f), c7f = _mm_set1_epi8(0x7f);

	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f);   /* v <= 0x1f */
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(v, c7f)));

		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, del, hit;

		memcpy(&w, s + i, 8);
		del = w ^ (0x7f * ones);
		hit = ((w - 0x20 * ones) & ~w & highs) | ((del - ones) & ~del & highs);
		if (hit)
			return i + (size_t)(__builtin_ctzll(hit) >> 3);
	}
#endif
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			break;
	}
	return i;
}

/* 1 when every byte of [<s>, <e>) is utf8text (plain text or HTAB). */
static int all_text(const char *s, const char *e)
{
	while (s < e) {
		s += plain_run(s, (size_t)(e - s));
		if (s < e && *s++ != '\t')
			return 0;
	}
	return 1;
}

/* Parses the complete start line <s>[0..<n>) (LF included; <plain>: every byte before the
 * CRLF is known to be plain text). Records the tid in pat and, when <msg> is not NULL, the
 * line in *<msg> (which it initialises). 0, or -reason. */
static int start_line(struct msrp_parser *p, const char *s, size_t n, struct msrp_msg *msg,
		      int plain)
{
	const char *e, *t, *q;
	enum msrp_method method = MSRP_M_NONE;
	cm_slice mname = CM_SLICE_NULL, comment = CM_SLICE_NULL;
	int status = 0;
	size_t tl;

	if (n < 2 || s[n - 2] != '\r')
		return -R_NO_CRLF;
	e = s + n - 2;
	if (e - s < 5 || memcmp(s, "MSRP ", 5) != 0)
		return -R_NOT_MSRP;
	t = q = s + 5;
	if (q == e || !msrp_cis(*q, MSRP_C_ALNUM))
		return -R_BAD_TID;
	for (q++; q < e && msrp_cis(*q, MSRP_C_IDENT); q++)
		;
	tl = (size_t)(q - t);
	if (tl < 4 || tl > MSRP_TID_MAX || q == e || *q != ' ')
		return -R_BAD_TID;
	q++;
	if (q < e && msrp_cis(*q, MSRP_C_DIGIT)) {
		if (e - q < 3 || !msrp_cis(q[1], MSRP_C_DIGIT) || !msrp_cis(q[2], MSRP_C_DIGIT))
			return -R_BAD_STATUS;
		status = (q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0');
		if (status < 100)
			return -R_BAD_STATUS;
		q += 3;
		comment = (cm_slice){ q, 0 };
		if (q < e) {
			if (*q != ' ')
				return -R_BAD_STATUS;
			q++;
			if (!plain && !all_text(q, e))
				return -R_BAD_COMMENT;
			comment = (cm_slice){ q, (size_t)(e - q) };
		}
		p->flags &= (uint8_t)~P_REQUEST;
	} else {
		const char *m0 = q;

		while (q < e && msrp_cis(*q, MSRP_C_UPALPHA))
			q++;
		if (q == m0 || q != e)
			return -R_BAD_METHOD;
		mname = (cm_slice){ m0, (size_t)(q - m0) };
		method = method_of(m0, mname.len);
		p->flags |= P_REQUEST;
	}
	memcpy(p->pat, "\r\n-------", 9);
	memcpy(p->pat + 9, t, tl);
	p->plen = (uint8_t)(9 + tl);
	p->pat[p->plen + 1] = '\r';
	p->pat[p->plen + 2] = '\n';
	p->method = (uint8_t)method;
	p->flags |= P_START;
	p->nhdrs = 0;
	p->seen = 0;
	if (msg) {
		msg->is_request = method != MSRP_M_NONE;
		msg->tid = (cm_slice){ t, tl };
		msg->method = method;
		msg->method_name = mname;
		msg->status = status;
		msg->comment = comment;
		msg->nhdrs = 0;
		memset(msg->first, -1, sizeof(msg->first));
		msg->has_body = 0;
	}
	return 0;
}

/* Parses the complete header line <s>[0..<n>) (LF included; <plain> as for start_line): 1
 * for the blank line, 0 for a header (recorded in *<msg> when not NULL), or -reason. */
static int header_line(struct msrp_parser *p, const char *s, size_t n, struct msrp_msg *msg,
		       int plain)
{
	const char *e, *q, *v, *ve;
	enum msrp_hid id;
	unsigned max_hdrs = p->cfg->limits.max_headers;
	uint32_t bit;

	if (n < 2 || s[n - 2] != '\r')
		return -R_NO_CRLF;
	e = s + n - 2;
	if (e == s)
		return 1;
	if (!msrp_cis(*s, MSRP_C_ALPHA))
		return -R_BAD_HNAME;
	for (q = s + 1; q < e && msrp_cis(*q, MSRP_C_TOKEN); q++)
		;
	if (q == e || *q != ':')
		return -R_BAD_HNAME;
	id = msrp_hdr_id(s, (size_t)(q - s));
	for (v = q + 1; v < e && msrp_cis(*v, MSRP_C_WS); v++)
		;
	if (!plain && !all_text(v, e))
		return -R_BAD_HVALUE;
	for (ve = e; ve > v && msrp_cis(ve[-1], MSRP_C_WS); ve--)
		;
	/* a path names one URI at least (RFC 4975 §9: 1*(msrp-uri)); an empty one is none,
	 * and leaves nobody to answer */
	if (v == ve && (id == MSRP_H_TO_PATH || id == MSRP_H_FROM_PATH))
		return id == MSRP_H_TO_PATH ? -R_NO_TO : -R_NO_FROM;
	if (max_hdrs > MSRP_MAX_HEADERS)
		max_hdrs = MSRP_MAX_HEADERS;
	if (p->nhdrs >= max_hdrs)
		return -R_HEADERS;
	bit = 1u << id;
	if (p->seen & bit & SINGLETONS)
		return -R_DUP;
	p->seen |= bit;
	if (msg) {
		struct msrp_hdr *h = &msg->hdrs[p->nhdrs];

		h->id = id;
		h->name = (cm_slice){ s, (size_t)(q - s) };
		h->value = (cm_slice){ v, (size_t)(ve - v) };
		if (msg->first[id] < 0)
			msg->first[id] = (int8_t)p->nhdrs;
		msg->nhdrs = p->nhdrs + 1u;
	}
	p->nhdrs++;
	return 0;
}

/* The head ended: with a blank line (<body>) or at the first '-' of an end-line. Checks
 * the frame as a whole, builds the HEAD from the head buffer when the head was split, and
 * moves on to the body or the end-line. */
static size_t head_done(struct msrp_parser *p, struct msrp_ev *ev, int body, size_t used)
{
	struct msrp_msg *msg = &ev->msg;

	if (!(p->seen & (1u << MSRP_H_TO_PATH)))
		return fail(p, ev, R_NO_TO);
	if (!(p->seen & (1u << MSRP_H_FROM_PATH)))
		return fail(p, ev, R_NO_FROM);
	if (body && !(p->flags & P_REQUEST))
		return fail(p, ev, R_RESP_BODY);
	if (body && !(p->seen & (1u << MSRP_H_CONTENT_TYPE)))
		return fail(p, ev, R_BODY_NO_CT);
	if (p->hbuf) {
		/* every line was checked as it came: this pass only records them */
		const char *s = p->hbuf, *e = s + p->hlen;
		int r = 0;

		for (unsigned i = 0; s < e && r == 0 && i <= MSRP_MAX_HEADERS + 1; i++) {
			const char *lf = memchr(s, '\n', (size_t)(e - s));
			size_t n = lf ? (size_t)(lf - s) + 1 : (size_t)(e - s);

			r = i == 0 ? start_line(p, s, n, msg, 0) : header_line(p, s, n, msg, 0);
			s += n;
		}
		if (r < 0)
			return fail(p, ev, (unsigned)-r);
		p->flags |= P_RELEASE;
	}
	msg->has_body = body;
	p->cfg->stats->heads++;
	p->state = body ? S_BODY : S_ENDLINE;
	p->m = body ? 0 : 2;          /* without a body the last header's CRLF starts pat */
	ev->type = MSRP_EV_HEAD;
	return used;
}

static size_t parse_head(struct msrp_parser *p, const char *data, size_t len,
			 struct msrp_ev *ev)
{
	const struct msrp_limits *lim = &p->cfg->limits;
	struct msrp_msg *msg = p->hbuf ? NULL : &ev->msg;
	size_t partial = p->hbuf ? p->hlen - p->hline : 0;
	size_t head = p->hbuf ? p->hlen : 0;
	size_t pos = 0;

	/* each round takes one whole line; the header limit ends the loop */
	while (pos < len) {
		const char *line, *lf = NULL;
		size_t room, scan, take, n;
		int r, plain = 0;

		if (partial == 0 && (p->flags & P_START) && data[pos] == '-')
			return head_done(p, ev, 0, pos);
		if (partial >= lim->max_line)
			return fail(p, ev, R_LINE);
		room = lim->max_line - partial;
		scan = len - pos < room ? len - pos : room;
		if (partial == 0) {
			/* one pass finds the CRLF and vouches for every byte before it */
			size_t k = plain_run(data + pos, scan);

			if (k + 1 < scan && data[pos + k] == '\r' && data[pos + k + 1] == '\n') {
				lf = data + pos + k + 1;
				plain = 1;
			}
		}
		if (!lf)
			lf = memchr(data + pos, '\n', scan);
		take = lf ? (size_t)(lf - (data + pos)) + 1 : scan;
		if (take > lim->max_head || head > lim->max_head - take)
			return fail(p, ev, R_HEAD);
		if (!lf) {
			if (scan == room)
				return fail(p, ev, R_LINE);
			break;
		}
		if (p->hbuf) {
			memcpy(p->hbuf + p->hlen, data + pos, take);
			line = p->hbuf + p->hline;
			n = partial + take;
			p->hlen += (uint32_t)take;
			p->hline = p->hlen;
		} else {
			line = data + pos;
			n = take;
		}
		pos += take;
		head += take;
		partial = 0;
		r = (p->flags & P_START) ? header_line(p, line, n, msg, plain)
					 : start_line(p, line, n, msg, plain);
		if (r < 0)
			return fail(p, ev, (unsigned)-r);
		if (r == 1)
			return head_done(p, ev, 1, pos);
	}
	/* the data ended inside the head: keep its bytes (at most max_head, checked above) */
	if (p->hbuf) {
		memcpy(p->hbuf + p->hlen, data + pos, len - pos);
		p->hlen += (uint32_t)(len - pos);
	} else if (len > 0) {
		size_t cap = lim->max_head;
		char *b = p->cfg->alloc(p->cfg->ctx, &cap);

		if (b && cap < lim->max_head) {
			p->cfg->release(p->cfg->ctx, b);
			b = NULL;
		}
		if (!b)
			return fail(p, ev, R_NOMEM);
		memcpy(b, data, len);
		p->hbuf = b;
		p->hlen = (uint32_t)len;
		p->hline = (uint32_t)pos;
		p->cfg->stats->heads_split++;
	}
	return need_more(ev, len);
}

/* ---- body and end-line -------------------------------------------------------------- */

/* How many bytes of <s>[0..<n>) continue the end-line match from <m> matched bytes. The
 * flag byte, when reached, is stored in pat (so that pat[0..m) is always what was seen). */
static size_t match_run(struct msrp_parser *p, size_t m, const char *s, size_t n)
{
	size_t total = (size_t)p->plen + 3, i = 0;

	for (; i < n && m < total; i++, m++) {
		if (m == p->plen) {
			if (s[i] != '$' && s[i] != '+' && s[i] != '#')
				break;
			p->pat[m] = s[i];
		} else if (s[i] != p->pat[m]) {
			break;
		}
	}
	return i;
}

static size_t parse_body(struct msrp_parser *p, const char *data, size_t len,
			 struct msrp_ev *ev)
{
	size_t total = (size_t)p->plen + 3;
	const char *s = data, *e = data + len, *q = data;

	if (p->m) {
		size_t i = match_run(p, p->m, data, len), m = p->m + i;

		if (m == total)
			return end_event(p, ev, i);
		if (i == len) {
			p->m = (uint8_t)m;
			return need_more(ev, len);
		}
		/* data[i] breaks it: what was held back (and matched here) was body */
		p->m = 0;
		p->cfg->stats->held_back++;
		return body_event(p, ev, p->pat, m, i);
	}
	/* each round moves past one CR: bounded by the data */
	while (q < e) {
		const char *cr = memchr(q, '\r', (size_t)(e - q));
		size_t avail, k;

		if (!cr)
			break;
		avail = (size_t)(e - cr);
		k = match_run(p, 0, cr, avail < total ? avail : total);
		if (k == total) {
			if (cr == s)
				return end_event(p, ev, total);
			p->state = S_END;
			return body_event(p, ev, s, (size_t)(cr - s), (size_t)(cr - s) + total);
		}
		if (k == avail) {
			p->m = (uint8_t)k;
			if (cr == s)
				return need_more(ev, len);
			return body_event(p, ev, s, (size_t)(cr - s), len);
		}
		q = cr + 1;
	}
	if (len == 0)
		return need_more(ev, 0);
	return body_event(p, ev, s, len, len);
}

static size_t parse_endline(struct msrp_parser *p, const char *data, size_t len,
			    struct msrp_ev *ev)
{
	size_t total = (size_t)p->plen + 3;
	size_t i = match_run(p, p->m, data, len), m = p->m + i;

	if (m == total)
		return end_event(p, ev, i);
	if (i == len) {
		p->m = (uint8_t)m;
		return need_more(ev, len);
	}
	return fail(p, ev, R_BAD_ENDLINE);
}

size_t msrp_parse(struct msrp_parser *p, const char *data, size_t len, struct msrp_ev *ev)
{
	if (p->flags & P_RELEASE)
		drop_hbuf(p);
	switch (p->state) {
	case S_HEAD:
		return parse_head(p, data, len, ev);
	case S_BODY:
		return parse_body(p, data, len, ev);
	case S_ENDLINE:
		return parse_endline(p, data, len, ev);
	case S_END:
		return end_event(p, ev, 0);
	default:
		error_event(p, ev);
		return 0;
	}
}
