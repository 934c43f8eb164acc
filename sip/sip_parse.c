/* sip_parse.c — zero-copy SIP message parser (see sip_parse.h).
 *
 * Two passes over a head, both bounded by the limits:
 *   find_head()   finds the blank line that ends the head, one memchr per line, checking
 *                 that every LF follows a CR and that no line passes max_line. It resumes
 *                 from offsets kept in the stream parser, so a head that comes in pieces
 *                 is searched once.
 *   parse_head()  splits the start line and the header lines (a line that begins with SP
 *                 or HTAB continues the header before it: folding), checks every byte of
 *                 each, records headers as slices, then checks the message as a whole
 *                 (check_msg()). A bad header line is recorded as the error and skipped,
 *                 so that the headers after it still count for the 400 (replyable).
 * The body is sliced by Content-Length: mandatory on streams, optional in datagrams. */
#include <string.h>
#include <strings.h>

#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"

/* Reasons, each with its error kind. */
enum {
	R_NONE = 0,
	R_BARE_LF,
	R_BAD_START,
	R_BAD_METHOD,
	R_BAD_RURI,
	R_BAD_VERSION,
	R_VERSION,
	R_BAD_STATUS,
	R_BAD_REASON,
	R_BAD_HNAME,
	R_FOLD_FIRST,
	R_BAD_HVALUE,
	R_NO_VIA,
	R_NO_FROM,
	R_NO_TO,
	R_NO_CALLID,
	R_NO_CSEQ,
	R_DUP,
	R_BAD_VIA,
	R_BAD_FROM,
	R_BAD_TO,
	R_BAD_CALLID,
	R_BAD_CSEQ,
	R_BAD_CLEN,
	R_BAD_MAXFWD,
	R_CSEQ_METHOD,
	R_NO_CLEN,
	R_SHORT_BODY,
	R_NO_END,
	R_LINE,
	R_HEADERS,
	R_SIZE,
	R__COUNT
};

static const struct {
	const char *text;
	uint8_t err;
} reasons[R__COUNT] = {
	[R_NONE] = { "", SIP_PE_NONE },
	[R_BARE_LF] = { "line not ended by CRLF", SIP_PE_HEADER },
	[R_BAD_START] = { "not a SIP start line", SIP_PE_START },
	[R_BAD_METHOD] = { "bad method", SIP_PE_START },
	[R_BAD_RURI] = { "bad Request-URI", SIP_PE_START },
	[R_BAD_VERSION] = { "bad SIP-Version", SIP_PE_START },
	[R_VERSION] = { "SIP version not supported", SIP_PE_VERSION },
	[R_BAD_STATUS] = { "bad status code", SIP_PE_START },
	[R_BAD_REASON] = { "bad Reason-Phrase", SIP_PE_START },
	[R_BAD_HNAME] = { "bad header line", SIP_PE_HEADER },
	[R_FOLD_FIRST] = { "continuation line before any header", SIP_PE_HEADER },
	[R_BAD_HVALUE] = { "bad character in a header value", SIP_PE_HEADER },
	[R_NO_VIA] = { "Via missing", SIP_PE_MISSING },
	[R_NO_FROM] = { "From missing", SIP_PE_MISSING },
	[R_NO_TO] = { "To missing", SIP_PE_MISSING },
	[R_NO_CALLID] = { "Call-ID missing", SIP_PE_MISSING },
	[R_NO_CSEQ] = { "CSeq missing", SIP_PE_MISSING },
	[R_DUP] = { "header repeated", SIP_PE_DUP },
	[R_BAD_VIA] = { "malformed Via", SIP_PE_VALUE },
	[R_BAD_FROM] = { "malformed From", SIP_PE_VALUE },
	[R_BAD_TO] = { "malformed To", SIP_PE_VALUE },
	[R_BAD_CALLID] = { "malformed Call-ID", SIP_PE_VALUE },
	[R_BAD_CSEQ] = { "malformed CSeq", SIP_PE_VALUE },
	[R_BAD_CLEN] = { "malformed Content-Length", SIP_PE_VALUE },
	[R_BAD_MAXFWD] = { "malformed Max-Forwards", SIP_PE_VALUE },
	[R_CSEQ_METHOD] = { "CSeq method does not match", SIP_PE_CSEQ_METHOD },
	[R_NO_CLEN] = { "Content-Length missing on a stream", SIP_PE_NO_LENGTH },
	[R_SHORT_BODY] = { "body shorter than Content-Length", SIP_PE_BODY },
	[R_NO_END] = { "headers not ended by an empty line", SIP_PE_HEADER },
	[R_LINE] = { "line too long", SIP_PE_LINE },
	[R_HEADERS] = { "too many headers", SIP_PE_HEADERS },
	[R_SIZE] = { "message too large", SIP_PE_SIZE },
};

const char *const sip_perr_names[SIP_PE__COUNT] = {
	[SIP_PE_NONE] = "none", [SIP_PE_START] = "start_line", [SIP_PE_VERSION] = "version",
	[SIP_PE_HEADER] = "header", [SIP_PE_MISSING] = "missing_header",
	[SIP_PE_DUP] = "duplicate_header", [SIP_PE_VALUE] = "bad_value",
	[SIP_PE_CSEQ_METHOD] = "cseq_method", [SIP_PE_NO_LENGTH] = "no_content_length",
	[SIP_PE_BODY] = "short_body", [SIP_PE_LINE] = "line_too_long",
	[SIP_PE_HEADERS] = "too_many_headers", [SIP_PE_SIZE] = "too_big",
};

void sip_parse_limits_default(struct sip_limits *lim)
{
	lim->max_line = 8192;
	lim->max_headers = SIP_MAX_HEADERS;
	lim->max_msg = 65536;
}

static void msg_init(struct sip_msg *m)
{
	m->kind = SIP_KIND_NONE;
	m->method = SIP_M_NONE;
	m->method_name = m->ruri = m->version = m->reason = m->body = CM_SLICE_NULL;
	m->status = 0;
	m->nhdrs = 0;
	memset(m->first, 0xff, sizeof(m->first));
	m->len = 0;
	m->ping = 0;
	m->err = SIP_PE_NONE;
	m->reason_text = "";
	m->err_status = 0;
	m->replyable = 0;
}

/* Records <reason> unless an earlier error was recorded: the first one is reported. */
static void set_err(struct sip_msg *m, unsigned reason)
{
	if (m->err != SIP_PE_NONE)
		return;
	m->err = (enum sip_perr)reasons[reason].err;
	m->reason_text = reasons[reason].text;
	m->err_status = m->err == SIP_PE_VERSION ? 505 : m->err == SIP_PE_SIZE ? 513 : 400;
}

/* ---- framing ------------------------------------------------------------------------ */

/* Searches <d>[*<scan>..<len>) for the blank line that ends the head starting at <d>[0]
 * (its first line is not blank: CRLFs before it were skipped). *<line> is the offset of
 * the line being scanned. Returns the head's length through the blank line, 0 when it is
 * not complete, or -reason. */
static long find_head(const struct sip_limits *lim, const char *d, size_t len, uint32_t *scan,
		      uint32_t *line)
{
	size_t pos = *scan, ln = *line;

	/* each round takes one line */
	while (pos < len) {
		const char *lf = memchr(d + pos, '\n', len - pos);
		size_t i;

		if (!lf)
			break;
		i = (size_t)(lf - d);
		if (i == ln || d[i - 1] != '\r')
			return -R_BARE_LF;
		if (i + 1 - ln > lim->max_line)
			return -R_LINE;
		if (i + 1 > lim->max_msg)
			return -R_SIZE;
		if (i + 1 - ln == 2 && ln > 0)
			return (long)(i + 1);
		ln = pos = i + 1;
	}
	if (len - ln > lim->max_line)
		return -R_LINE;
	if (len > lim->max_msg)
		return -R_SIZE;
	*scan = (uint32_t)len;
	*line = (uint32_t)ln;
	return 0;
}

/* ---- start line ----------------------------------------------------------------------- */

/* "SIP/" 1*DIGIT "." 1*DIGIT (the name case-insensitive, §7.1): 1 for 2.0, 0 for another
 * version, -1 when malformed. */
static int version(const char *s, const char *e)
{
	const char *d = s + 4, *q;
	unsigned major = 0, minor = 0;

	if (e - s < 7 || strncasecmp(s, "SIP/", 4) != 0)
		return -1;
	for (q = d; q < e && sip_cis(*q, SIP_C_DIGIT) && q - d < 9; q++)
		major = major * 10 + (unsigned)(*q - '0');
	if (q == d || q == e || *q != '.')
		return -1;
	d = ++q;
	for (; q < e && sip_cis(*q, SIP_C_DIGIT) && q - d < 9; q++)
		minor = minor * 10 + (unsigned)(*q - '0');
	if (q == d || q != e)
		return -1;
	return major == 2 && minor == 0;
}

/* 1 when [<s>, <e>) has no CTL but HTAB. */
static int all_text(const char *s, const char *e)
{
	for (; s < e; s++)
		if (sip_cis(*s, SIP_C_CTL) && *s != '\t')
			return 0;
	return 1;
}

/* The start line [<s>, <e>) (CRLF excluded). Sets kind as soon as it is known, so that a
 * request with a broken line can still be answered. 0 or reason. */
static unsigned start_line(const char *s, const char *e, struct sip_msg *m)
{
	const char *q;
	int v;

	if (e - s >= 4 && strncasecmp(s, "SIP/", 4) == 0) {
		const char *sp = memchr(s, ' ', (size_t)(e - s));

		if (!sp)
			return R_BAD_START;
		if ((v = version(s, sp)) < 0)
			return R_BAD_VERSION;
		m->version = (cm_slice){ s, (size_t)(sp - s) };
		q = sp + 1;
		if (e - q < 3 || !sip_cis(q[0], SIP_C_DIGIT) || !sip_cis(q[1], SIP_C_DIGIT) ||
		    !sip_cis(q[2], SIP_C_DIGIT) || (e - q > 3 && q[3] != ' '))
			return R_BAD_STATUS;
		m->status = (q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0');
		if (m->status < 100 || m->status > 699)
			return R_BAD_STATUS;
		q += 3;
		q = q < e ? q + 1 : q;
		if (!all_text(q, e))
			return R_BAD_REASON;
		m->reason = (cm_slice){ q, (size_t)(e - q) };
		m->kind = SIP_KIND_RESPONSE;
		return v ? R_NONE : R_VERSION;
	}
	for (q = s; q < e && sip_cis(*q, SIP_C_TOKEN); q++)
		;
	if (q == s || q == e || *q != ' ')
		return R_BAD_METHOD;
	m->method_name = (cm_slice){ s, (size_t)(q - s) };
	m->method = sip_method_of(s, (size_t)(q - s));
	m->kind = SIP_KIND_REQUEST;
	s = ++q;
	while (q < e && *q != ' ' && !sip_cis(*q, SIP_C_CTL))
		q++;
	if (q == s || q == e || *q != ' ')
		return R_BAD_RURI;
	m->ruri = (cm_slice){ s, (size_t)(q - s) };
	q++;
	if ((v = version(q, e)) < 0)
		return R_BAD_VERSION;
	m->version = (cm_slice){ q, (size_t)(e - q) };
	return v ? R_NONE : R_VERSION;
}

/* ---- headers ---------------------------------------------------------------------------- */

/* One logical header line [<s>, <e>) (its last CRLF excluded; folds inside). 0 or reason. */
static unsigned header_line(const char *s, const char *e, struct sip_msg *m, unsigned max,
			    uint8_t *cnt)
{
	const char *q, *v, *ve;
	struct sip_hdr *h;
	enum sip_hid id;
	int inq = 0;

	for (q = s; q < e && sip_cis(*q, SIP_C_TOKEN); q++)
		;
	if (q == s)
		return R_BAD_HNAME;
	id = sip_hdr_id(s, (size_t)(q - s));
	for (v = q; v < e && (*v == ' ' || *v == '\t'); v++)
		;
	if (v == e || *v != ':')
		return R_BAD_HNAME;
	for (v++; v < e && sip_cis(*v, SIP_C_LWS); v++)
		;
	for (ve = e; ve > v && sip_cis(ve[-1], SIP_C_LWS); ve--)
		;
	/* CTLs: HTAB, the CRLF of a fold (always followed by SP or HTAB here), and any but
	 * CR and LF escaped by a quoted-pair inside a quoted-string (§25.1) */
	for (const char *c = v; c < ve; c++) {
		if (*c == '"') {
			inq = !inq;
		} else if (inq && *c == '\\' && c + 1 < ve && c[1] != '\r' && c[1] != '\n') {
			c++;
			continue;
		}
		if (!sip_cis(*c, SIP_C_CTL) || *c == '\t')
			continue;
		if (*c == '\r' && c + 1 < ve && c[1] == '\n') {
			c++;
			continue;
		}
		return R_BAD_HVALUE;
	}
	if (m->nhdrs >= max)
		return R_HEADERS;
	h = &m->hdrs[m->nhdrs];
	h->id = id;
	h->name = (cm_slice){ s, (size_t)(q - s) };
	h->value = (cm_slice){ v, (size_t)(ve - v) };
	if (m->first[id] < 0)
		m->first[id] = (int16_t)m->nhdrs;
	if (cnt[id] < 255)
		cnt[id]++;
	m->nhdrs++;
	return R_NONE;
}

/* The message as a whole, once its headers are known. *<clen>: Content-Length, -1 when
 * absent or malformed. Sets replyable. */
static void check_msg(struct sip_msg *m, const uint8_t *cnt, int64_t *clen)
{
	static const struct {
		enum sip_hid id;
		uint8_t missing, bad;
	} need[] = {
		{ SIP_H_VIA, R_NO_VIA, R_BAD_VIA },
		{ SIP_H_FROM, R_NO_FROM, R_BAD_FROM },
		{ SIP_H_TO, R_NO_TO, R_BAD_TO },
		{ SIP_H_CALL_ID, R_NO_CALLID, R_BAD_CALLID },
		{ SIP_H_CSEQ, R_NO_CSEQ, R_BAD_CSEQ },
	};
	static const enum sip_hid single[] = {
		SIP_H_FROM, SIP_H_TO, SIP_H_CALL_ID, SIP_H_CSEQ,
		SIP_H_MAX_FORWARDS, SIP_H_CONTENT_LENGTH, SIP_H_CONTENT_TYPE,
	};
	int ok = 1;
	uint32_t n;

	for (unsigned i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		cm_slice v = sip_msg_hdr(m, need[i].id), el, cid;
		struct sip_hdr_iter it;
		struct sip_addr a;
		struct sip_via via;
		struct sip_cseq cs;
		int bad = 0;

		if (!v.p) {
			set_err(m, need[i].missing);
			ok = 0;
			continue;
		}
		switch (need[i].id) {
		case SIP_H_VIA:
			sip_hdr_iter_init(&it, m, SIP_H_VIA);
			bad = sip_hdr_iter_next(&it, &el) != 1 || sip_via_parse(el, &via) < 0;
			break;
		case SIP_H_FROM:
		case SIP_H_TO:
			bad = sip_addr_parse(v, &a) < 0 || a.star;
			break;
		case SIP_H_CALL_ID:
			bad = sip_callid_parse(v, &cid) < 0;
			break;
		default:
			bad = sip_cseq_parse(v, &cs) < 0;
			if (!bad && m->kind == SIP_KIND_REQUEST &&
			    (cs.method_name.len != m->method_name.len ||
			     memcmp(cs.method_name.p, m->method_name.p, cs.method_name.len) != 0))
				set_err(m, R_CSEQ_METHOD);
			break;
		}
		if (bad) {
			set_err(m, need[i].bad);
			ok = 0;
		}
	}
	for (unsigned i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		if (cnt[single[i]] > 1) {
			set_err(m, R_DUP);
			if (i < 4)
				ok = 0;
		}
	}
	*clen = -1;
	if (m->first[SIP_H_CONTENT_LENGTH] >= 0) {
		if (sip_uint_parse(sip_msg_hdr(m, SIP_H_CONTENT_LENGTH), UINT32_MAX, &n) < 0)
			set_err(m, R_BAD_CLEN);
		else
			*clen = n;
	}
	if (m->first[SIP_H_MAX_FORWARDS] >= 0 &&
	    sip_uint_parse(sip_msg_hdr(m, SIP_H_MAX_FORWARDS), 255, &n) < 0)
		set_err(m, R_BAD_MAXFWD);
	m->replyable = ok && m->kind == SIP_KIND_REQUEST && m->method != SIP_M_ACK;
}

/* Parses the head <d>[0..<hlen>) (from the start line through the blank line, whose
 * CRLFs find_head() vouched for) into *<m>. Errors go to m->err; *<clen> as check_msg(). */
static void parse_head(const struct sip_parse_cfg *cfg, const char *d, size_t hlen,
		       struct sip_msg *m, int64_t *clen)
{
	const char *s = d, *hend = d + hlen - 2, *lf;
	unsigned max = cfg->limits.max_headers, r;
	uint8_t cnt[SIP_H__COUNT] = { 0 };

	if (max > SIP_MAX_HEADERS)
		max = SIP_MAX_HEADERS;
	msg_init(m);
	lf = memchr(s, '\n', hlen);
	if ((r = start_line(s, lf - 1, m)) != R_NONE)
		set_err(m, r);
	s = lf + 1;
	if (s < hend && (*s == ' ' || *s == '\t')) {
		set_err(m, R_FOLD_FIRST);
		while (s < hend && (*s == ' ' || *s == '\t'))
			s = (const char *)memchr(s, '\n', (size_t)(hend - s)) + 1;
	}
	/* each round takes one logical line (a header and its continuation lines) */
	while (s < hend) {
		const char *ls = s;

		lf = memchr(s, '\n', (size_t)(hend - s));
		while (lf + 1 < hend && (lf[1] == ' ' || lf[1] == '\t'))
			lf = memchr(lf + 1, '\n', (size_t)(hend - lf - 1));
		s = lf + 1;
		r = header_line(ls, lf - 1, m, max, cnt);
		if (r == R_HEADERS) {
			set_err(m, r);
			break;
		}
		if (r != R_NONE)
			set_err(m, r);
	}
	if (m->kind != SIP_KIND_NONE)
		check_msg(m, cnt, clen);
	else
		*clen = -1;
}

/* Counts what <m> is: an error, a request or a response. */
static void count(const struct sip_parse_cfg *cfg, const struct sip_msg *m)
{
	if (m->err != SIP_PE_NONE)
		cfg->stats->errors[m->err]++;
	else if (m->kind == SIP_KIND_REQUEST)
		cfg->stats->requests++;
	else
		cfg->stats->responses++;
}

/* A framing error <reason> (no head parsed): *<m> says only that. */
static void frame_err(struct sip_msg *m, unsigned reason)
{
	msg_init(m);
	set_err(m, reason);
}

/* ---- datagrams ---------------------------------------------------------------------------- */

int sip_parse_msg(const struct sip_parse_cfg *cfg, const char *data, size_t len,
		  struct sip_msg *m)
{
	size_t off = 0;
	uint32_t scan = 0, line = 0;
	int64_t clen;
	long h;

	while (off + 1 < len && data[off] == '\r' && data[off + 1] == '\n')
		off += 2;
	if (off == len && len > 0) {
		msg_init(m);
		m->kind = SIP_KIND_KEEPALIVE;
		m->len = len;
		cfg->stats->keepalives++;
		return SIP_ERROR;
	}
	if (len - off > cfg->limits.max_msg) {
		frame_err(m, R_SIZE);
		count(cfg, m);
		return SIP_ERROR;
	}
	h = find_head(&cfg->limits, data + off, len - off, &scan, &line);
	if (h <= 0) {
		frame_err(m, h < 0 ? (unsigned)-h : R_NO_END);
		count(cfg, m);
		return SIP_ERROR;
	}
	parse_head(cfg, data + off, (size_t)h, m, &clen);
	if (m->err == SIP_PE_NONE) {
		size_t avail = len - off - (size_t)h;

		if (clen > (int64_t)avail)
			set_err(m, R_SHORT_BODY);
		else if (clen >= 0)
			avail = (size_t)clen;
		if (avail)
			m->body = (cm_slice){ data + off + h, avail };
		m->len = off + (size_t)h + avail;
	}
	count(cfg, m);
	return m->err == SIP_PE_NONE ? 0 : SIP_ERROR;
}

/* ---- streams ------------------------------------------------------------------------------ */

void sip_stream_init(struct sip_stream *s, const struct sip_parse_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
}

int sip_stream_idle(const struct sip_stream *s)
{
	return !s->dead && s->scan == 0 && s->need == 0;
}

static long stream_fail(struct sip_stream *s, struct sip_msg *m)
{
	s->dead = 1;
	s->err = (uint8_t)m->err;
	count(s->cfg, m);
	return SIP_ERROR;
}

static long again(struct sip_stream *s, struct sip_msg *m)
{
	msg_init(m);
	s->cfg->stats->partial++;
	return SIP_AGAIN;
}

long sip_stream_parse(struct sip_stream *s, const char *data, size_t len, struct sip_msg *m)
{
	const struct sip_limits *lim = &s->cfg->limits;
	int64_t clen;
	long h;

	if (s->dead) {
		msg_init(m);
		m->err = (enum sip_perr)s->err;
		m->reason_text = "stream failed before";
		m->err_status = 400;
		return SIP_ERROR;
	}
	if (s->need == 0 && s->scan == 0) {
		size_t k = 0;

		while (k + 1 < len && data[k] == '\r' && data[k + 1] == '\n' && k < (1u << 20))
			k += 2;
		if (k > 0) {
			uint32_t before = s->crlfs;

			s->crlfs += (uint32_t)(k / 2);
			msg_init(m);
			m->kind = SIP_KIND_KEEPALIVE;
			m->len = k;
			m->ping = (int)(s->crlfs / 2 - before / 2);
			s->cfg->stats->keepalives++;
			s->cfg->stats->pings += (uint64_t)m->ping;
			return (long)k;
		}
		if (len == 0 || (len == 1 && data[0] == '\r'))
			return again(s, m);
	}
	if (s->need == 0) {
		h = find_head(lim, data, len, &s->scan, &s->line);
		if (h < 0) {
			frame_err(m, (unsigned)-h);
			return stream_fail(s, m);
		}
		if (h == 0)
			return again(s, m);
		parse_head(s->cfg, data, (size_t)h, m, &clen);
		if (m->err == SIP_PE_NONE && clen < 0)
			set_err(m, R_NO_CLEN);
		if (m->err == SIP_PE_NONE && (uint64_t)h + (uint64_t)clen > lim->max_msg)
			set_err(m, R_SIZE);
		if (m->err != SIP_PE_NONE)
			return stream_fail(s, m);
		s->scan = (uint32_t)h;
		s->need = (uint32_t)(h + clen);
		if (len < s->need)
			return again(s, m);
	} else {
		if (len < s->need)
			return again(s, m);
		/* the bytes may have moved: slice them again (checked the first time) */
		parse_head(s->cfg, data, s->scan, m, &clen);
	}
	m->body = s->need > s->scan ? (cm_slice){ data + s->scan, s->need - s->scan }
				    : CM_SLICE_NULL;
	m->len = s->need;
	count(s->cfg, m);
	h = (long)s->need;
	s->scan = s->line = s->need = s->crlfs = 0;
	return h;
}
