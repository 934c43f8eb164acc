/* msrp_write.c — MSRP serializer: heads, tails, responses, REPORTs, Byte-Range, and the
 * end-line-in-body check (RFC 4975 §7.1, §7.2, §9; RFC 4976 §7). See msrp_write.h. */
#include "msrp/msrp_write.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Character classes (§9 grammar). */
#define C_ALNUM 0x1   /* ALPHANUM */
#define C_IDENT 0x2   /* ident-char: ALPHANUM . - + % = */
#define C_TOKEN 0x4   /* token (RFC 3261): ALPHANUM - . ! % * _ + ` ' ~ */
#define C_UPPER 0x8   /* UPALPHA: method names */
#define C_BAD   0x10  /* CR or LF: never inside a value */

#define A  (C_ALNUM | C_IDENT | C_TOKEN)
#define U  (A | C_UPPER)
#define IT (C_IDENT | C_TOKEN)

/* Class of every byte; constant, so that any worker thread reads it without a lock. */
static const unsigned char cls[256] = {
	['0'] = A, ['1'] = A, ['2'] = A, ['3'] = A, ['4'] = A, ['5'] = A, ['6'] = A,
	['7'] = A, ['8'] = A, ['9'] = A, ['a'] = A, ['b'] = A, ['c'] = A, ['d'] = A,
	['e'] = A, ['f'] = A, ['g'] = A, ['h'] = A, ['i'] = A, ['j'] = A, ['k'] = A,
	['l'] = A, ['m'] = A, ['n'] = A, ['o'] = A, ['p'] = A, ['q'] = A, ['r'] = A,
	['s'] = A, ['t'] = A, ['u'] = A, ['v'] = A, ['w'] = A, ['x'] = A, ['y'] = A,
	['z'] = A, ['A'] = U, ['B'] = U, ['C'] = U, ['D'] = U, ['E'] = U, ['F'] = U,
	['G'] = U, ['H'] = U, ['I'] = U, ['J'] = U, ['K'] = U, ['L'] = U, ['M'] = U,
	['N'] = U, ['O'] = U, ['P'] = U, ['Q'] = U, ['R'] = U, ['S'] = U, ['T'] = U,
	['U'] = U, ['V'] = U, ['W'] = U, ['X'] = U, ['Y'] = U, ['Z'] = U, ['.'] = IT,
	['-'] = IT, ['+'] = IT, ['%'] = IT, ['='] = C_IDENT, ['!'] = C_TOKEN,
	['*'] = C_TOKEN, ['_'] = C_TOKEN, ['`'] = C_TOKEN, ['\''] = C_TOKEN,
	['~'] = C_TOKEN, ['\r'] = C_BAD, ['\n'] = C_BAD,
};

#undef A
#undef U
#undef IT

/* Output cursor: copies while there is room, counts always. */
struct wbuf {
	char *p;
	size_t cap;
	size_t n;
};

static void put(struct wbuf *w, const void *s, size_t len)
{
	if (w->n < w->cap) {
		size_t room = w->cap - w->n;

		memcpy(w->p + w->n, s, len < room ? len : room);
	}
	w->n += len;
}

static void put_s(struct wbuf *w, cm_slice s)
{
	if (s.len)
		put(w, s.p, s.len);
}

static void put_c(struct wbuf *w, char c)
{
	put(w, &c, 1);
}

/* Decimal of <v>, no leading zeros; into <out> (20 bytes), returns the length. */
static size_t u64_dec(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	char d[20];

	put(w, d, u64_dec(d, v));
}

/* Three digits, zero-padded (status codes, the Status namespace). */
static void put_3(struct wbuf *w, int v)
{
	char d[3] = { (char)('0' + v / 100), (char)('0' + v / 10 % 10), (char)('0' + v % 10) };

	put(w, d, 3);
}

static int slice_has(cm_slice s, unsigned char mask)
{
	for (size_t i = 0; i < s.len; i++) {
		if (cls[(unsigned char)s.p[i]] & mask)
			return 1;
	}
	return 0;
}

static int slice_all(cm_slice s, unsigned char mask)
{
	if (!s.len)
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		if (!(cls[(unsigned char)s.p[i]] & mask))
			return 0;
	}
	return 1;
}

int msrp_write_tid_ok(cm_slice tid)
{
	if (tid.len < 4 || tid.len > MSRP_TID_MAX || !tid.p)
		return 0;
	if (!(cls[(unsigned char)tid.p[0]] & C_ALNUM))
		return 0;
	return slice_all(tid, C_IDENT);
}

static int flag_ok(enum msrp_flag f)
{
	return f == MSRP_FLAG_END || f == MSRP_FLAG_MORE || f == MSRP_FLAG_ABORT;
}

static int range_ok(const struct msrp_range *r)
{
	if (r->start < 1 || r->end < -1 || r->total < -1)
		return 0;
	if (r->end >= 0 && (uint64_t)r->end + 1 < r->start)
		return 0;               /* end = start - 1 is an empty range ("1-0/0") */
	if (r->total >= 0) {
		if (r->end >= 0 && r->end > r->total)
			return 0;
		if (r->start > (uint64_t)r->total + 1)
			return 0;
	}
	return 1;
}

size_t msrp_write_range(char *buf, size_t len, const struct msrp_range *r)
{
	struct wbuf w = { buf, buf ? len : 0, 0 };

	put_u64(&w, r->start);
	put_c(&w, '-');
	if (r->end < 0)
		put_c(&w, '*');
	else
		put_u64(&w, (uint64_t)r->end);
	put_c(&w, '/');
	if (r->total < 0)
		put_c(&w, '*');
	else
		put_u64(&w, (uint64_t)r->total);
	return w.n;
}

static void put_range(struct wbuf *w, const struct msrp_range *r)
{
	char tmp[64];              /* 20 + 1 + 20 + 1 + 20 */
	size_t n = msrp_write_range(tmp, sizeof(tmp), r);

	put(w, tmp, n);
}

static void put_hdr(struct wbuf *w, const char *name, size_t nlen, cm_slice value)
{
	put(w, name, nlen);
	put(w, ": ", 2);
	put_s(w, value);
	put(w, "\r\n", 2);
}

#define PUT_HDR(w, lit, v) put_hdr((w), lit, sizeof(lit) - 1, (v))

static cm_slice report_value(enum msrp_report r)
{
	switch (r) {
	case MSRP_REPORT_YES:
		return CM_SLICE_LIT("yes");
	case MSRP_REPORT_NO:
		return CM_SLICE_LIT("no");
	case MSRP_REPORT_PARTIAL:
		return CM_SLICE_LIT("partial");
	default:
		return CM_SLICE_NULL;
	}
}

static cm_slice method_token(const struct msrp_out *m)
{
	switch (m->method) {
	case MSRP_M_SEND:
		return CM_SLICE_LIT("SEND");
	case MSRP_M_REPORT:
		return CM_SLICE_LIT("REPORT");
	case MSRP_M_AUTH:
		return CM_SLICE_LIT("AUTH");
	case MSRP_M_OTHER:
		return m->method_name;
	default:
		return CM_SLICE_NULL;
	}
}

static int hdrs_ok(const struct msrp_hdr *h, unsigned n)
{
	if (n && !h)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (!slice_all(h[i].name, C_TOKEN) || slice_has(h[i].value, C_BAD))
			return 0;
	}
	return 1;
}

/* Everything msrp_write_head() refuses, checked before a byte is written. */
static int out_ok(const struct msrp_out *m, enum msrp_flag flag)
{
	if (!msrp_write_tid_ok(m->tid))
		return 0;
	if (m->method == MSRP_M_NONE) {
		if (m->status < 100 || m->status > 999 || slice_has(m->comment, C_BAD))
			return 0;
	} else if (m->method == MSRP_M_OTHER) {
		if (!slice_all(m->method_name, C_UPPER))
			return 0;
	} else if (m->method != MSRP_M_SEND && m->method != MSRP_M_REPORT &&
		   m->method != MSRP_M_AUTH) {
		return 0;
	}
	if (!m->to_path.len || !m->from_path.len || slice_has(m->to_path, C_BAD) ||
	    slice_has(m->from_path, C_BAD))
		return 0;
	if (slice_has(m->message_id, C_BAD) || slice_has(m->use_path, C_BAD) ||
	    slice_has(m->expires, C_BAD) || slice_has(m->min_expires, C_BAD) ||
	    slice_has(m->max_expires, C_BAD) || slice_has(m->content_type, C_BAD))
		return 0;
	if (m->byte_range && !range_ok(m->byte_range))
		return 0;
	if (m->report_status) {
		const struct msrp_status *st = m->report_status;

		if (st->ns < 0 || st->ns > 999 || st->code < 100 || st->code > 999 ||
		    slice_has(st->comment, C_BAD))
			return 0;
	}
	if ((unsigned)m->success_report > MSRP_REPORT_NO ||     /* "yes" / "no" only */
	    (unsigned)m->failure_report > MSRP_REPORT_PARTIAL)
		return 0;
	if (m->method == MSRP_M_REPORT && (m->success_report || m->failure_report))
		return 0;               /* §7.1.2: a REPORT carries neither */
	if (!hdrs_ok(m->extra, m->nextra))
		return 0;
	if (m->content_type.len) {
		if (!hdrs_ok(m->mime, m->nmime))
			return 0;
	} else if (!flag_ok(flag)) {
		return 0;
	}
	return 1;
}

ssize_t msrp_write_head(char *buf, size_t len, const struct msrp_out *m, enum msrp_flag flag)
{
	struct wbuf w = { buf, buf ? len : 0, 0 };

	if (!m || !out_ok(m, flag))
		return -EINVAL;

	put(&w, "MSRP ", 5);
	put_s(&w, m->tid);
	put_c(&w, ' ');
	if (m->method == MSRP_M_NONE) {
		put_3(&w, m->status);
		if (m->comment.len) {
			put_c(&w, ' ');
			put_s(&w, m->comment);
		}
	} else {
		put_s(&w, method_token(m));
	}
	put(&w, "\r\n", 2);

	PUT_HDR(&w, "To-Path", m->to_path);
	PUT_HDR(&w, "From-Path", m->from_path);
	if (m->message_id.len)
		PUT_HDR(&w, "Message-ID", m->message_id);
	if (m->byte_range) {
		put(&w, "Byte-Range: ", 12);
		put_range(&w, m->byte_range);
		put(&w, "\r\n", 2);
	}
	if (m->success_report != MSRP_REPORT_ABSENT)
		PUT_HDR(&w, "Success-Report", report_value(m->success_report));
	if (m->failure_report != MSRP_REPORT_ABSENT)
		PUT_HDR(&w, "Failure-Report", report_value(m->failure_report));
	if (m->report_status) {
		put(&w, "Status: ", 8);
		put_3(&w, m->report_status->ns);
		put_c(&w, ' ');
		put_3(&w, m->report_status->code);
		if (m->report_status->comment.len) {
			put_c(&w, ' ');
			put_s(&w, m->report_status->comment);
		}
		put(&w, "\r\n", 2);
	}
	if (m->use_path.len)
		PUT_HDR(&w, "Use-Path", m->use_path);
	if (m->expires.len)
		PUT_HDR(&w, "Expires", m->expires);
	if (m->min_expires.len)
		PUT_HDR(&w, "Min-Expires", m->min_expires);
	if (m->max_expires.len)
		PUT_HDR(&w, "Max-Expires", m->max_expires);
	for (unsigned i = 0; i < m->nextra; i++)
		put_hdr(&w, m->extra[i].name.p, m->extra[i].name.len, m->extra[i].value);

	if (m->content_type.len) {
		for (unsigned i = 0; i < m->nmime; i++)
			put_hdr(&w, m->mime[i].name.p, m->mime[i].name.len, m->mime[i].value);
		PUT_HDR(&w, "Content-Type", m->content_type);
		put(&w, "\r\n", 2);
	} else {
		put(&w, "-------", 7);
		put_s(&w, m->tid);
		put_c(&w, (char)flag);
		put(&w, "\r\n", 2);
	}
	return (ssize_t)w.n;
}

ssize_t msrp_write_tail(char *buf, size_t len, cm_slice tid, enum msrp_flag flag)
{
	struct wbuf w = { buf, buf ? len : 0, 0 };

	if (!msrp_write_tid_ok(tid) || !flag_ok(flag))
		return -EINVAL;
	put(&w, "\r\n-------", 9);
	put_s(&w, tid);
	put_c(&w, (char)flag);
	put(&w, "\r\n", 2);
	return (ssize_t)w.n;
}

ssize_t msrp_write_frame(char *buf, size_t len, const struct msrp_out *m, const cm_slice *body,
			 unsigned nbody, enum msrp_flag flag)
{
	struct wbuf w = { buf, buf ? len : 0, 0 };
	ssize_t n;
	char tail[MSRP_TAIL_MAX];

	if (!m)
		return -EINVAL;
	if (!m->content_type.len && nbody) {
		for (unsigned i = 0; i < nbody; i++) {
			if (body[i].len)
				return -EINVAL;   /* a body needs a Content-Type (§7.1) */
		}
	}
	n = msrp_write_head(buf, len, m, flag);
	if (n < 0)
		return n;
	w.n = (size_t)n;
	if (!m->content_type.len)
		return n;
	if (!flag_ok(flag))
		return -EINVAL;
	for (unsigned i = 0; i < nbody; i++)
		put_s(&w, body[i]);
	n = msrp_write_tail(tail, sizeof(tail), m->tid, flag);
	if (n < 0)
		return n;
	put(&w, tail, (size_t)n);
	return (ssize_t)w.n;
}

cm_slice msrp_write_path_first(cm_slice path)
{
	size_t i = 0, j;

	while (i < path.len && (path.p[i] == ' ' || path.p[i] == '\t'))
		i++;
	j = i;
	while (j < path.len && path.p[j] != ' ' && path.p[j] != '\t' && path.p[j] != '\r' &&
	       path.p[j] != '\n')
		j++;
	if (j == i)
		return CM_SLICE_NULL;
	return (cm_slice){ path.p + i, j - i };
}

ssize_t msrp_write_response(char *buf, size_t len, cm_slice tid, int status, cm_slice comment,
			    cm_slice req_to, cm_slice req_from, const struct msrp_hdr *extra,
			    unsigned nextra)
{
	struct msrp_out m = {
		.tid = tid,
		.method = MSRP_M_NONE,
		.status = status,
		.comment = comment,
		.to_path = msrp_write_path_first(req_from),
		.from_path = msrp_write_path_first(req_to),
		.extra = extra,
		.nextra = nextra,
	};

	return msrp_write_head(buf, len, &m, MSRP_FLAG_END);
}

ssize_t msrp_write_report(char *buf, size_t len, cm_slice tid, cm_slice to_path,
			  cm_slice from_path, cm_slice message_id, const struct msrp_range *range,
			  const struct msrp_status *st)
{
	struct msrp_out m = {
		.tid = tid,
		.method = MSRP_M_REPORT,
		.to_path = to_path,
		.from_path = from_path,
		.message_id = message_id,
		.byte_range = range,
		.report_status = st,
	};

	if (!message_id.len || !st)
		return -EINVAL;        /* §7.1.2: a REPORT carries both */
	return msrp_write_head(buf, len, &m, MSRP_FLAG_END);
}

/* The meanings RFC 4975 §7.2 / RFC 4976 give the codes, as IANA's MSRP registry lists them. */
const char *msrp_write_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Unintelligible";
	case 401: return "Unauthorized";
	case 403: return "Action-not-allowed";
	case 408: return "Transaction-did-not-complete-in-allotted-time";
	case 413: return "Stop-sending-message";
	case 415: return "MIME-not-understood";
	case 423: return "Parameter-out-of-bounds";
	case 481: return "Session-does-not-exist";
	case 501: return "Request-method-not-understood";
	case 506: return "Session-already-bound";
	default:  return "";
	}
}

/* 1 when <pat> (which starts with '-') occurs in <h>. memchr to each '-' and a compare:
 * bodies rarely hold dashes, and glibc's memmem pays a set-up per call that costs more
 * than the scan of a short body. */
static int find_pat(const char *h, size_t hl, const char *pat, size_t plen)
{
	if (hl < plen)
		return 0;
	const char *p = h, *last = h + (hl - plen);
	while (p <= last) {
		p = memchr(p, '-', (size_t)(last - p) + 1);
		if (!p)
			return 0;
		if (memcmp(p, pat, plen) == 0)
			return 1;
		p++;
	}
	return 0;
}

int msrp_write_body_has_endline(cm_slice tid, const cm_slice *body, unsigned n)
{
	char pat[7 + MSRP_TID_MAX];
	char join[2 * (7 + MSRP_TID_MAX)];
	char carry[7 + MSRP_TID_MAX];   /* the last plen - 1 bytes seen so far */
	size_t plen, keep, ncarry = 0;

	if (!tid.len || tid.len > MSRP_TID_MAX)
		return 0;
	memcpy(pat, "-------", 7);
	memcpy(pat + 7, tid.p, tid.len);
	plen = 7 + tid.len;
	keep = plen - 1;
	for (unsigned i = 0; i < n; i++) {
		cm_slice s = body[i];
		size_t head, nj;

		if (!s.len)
			continue;
		if (ncarry) {
			/* a match that starts in earlier pieces and ends in this one */
			head = s.len < keep ? s.len : keep;
			memcpy(join, carry, ncarry);
			memcpy(join + ncarry, s.p, head);
			nj = ncarry + head;
			if (find_pat(join, nj, pat, plen))
				return 1;
		}
		if (find_pat(s.p, s.len, pat, plen))
			return 1;
		/* carry = last keep bytes of (carry + s) */
		if (s.len >= keep) {
			memcpy(carry, s.p + s.len - keep, keep);
			ncarry = keep;
		} else {
			size_t total = ncarry + s.len, drop = total > keep ? total - keep : 0;

			memmove(carry, carry + drop, ncarry - drop);
			memcpy(carry + ncarry - drop, s.p, s.len);
			ncarry = total - drop;
		}
	}
	return 0;
}

int msrp_write_pick_tid(msrp_tid_fn fn, void *arg, const cm_slice *body, unsigned n, char *tid,
			size_t tidlen)
{
	if (!fn || !tid || tidlen < MSRP_TID_MAX + 1)
		return -EINVAL;
	for (int i = 0; i < MSRP_TID_TRIES; i++) {
		int rc = fn(arg, tid, tidlen);
		cm_slice t;

		if (rc < 0)
			return rc;
		if ((size_t)rc > MSRP_TID_MAX)
			return -EINVAL;
		t = (cm_slice){ tid, (size_t)rc };
		if (!msrp_write_tid_ok(t))
			return -EINVAL;
		tid[rc] = '\0';
		if (!msrp_write_body_has_endline(t, body, n))
			return rc;
	}
	return -EEXIST;
}
