/* rcs_cpim.c — message/cpim (RFC 3862): parser, namespace look-up, addresses, writer and
 * RFC 3339 time stamps. See rcs_cpim.h for the forms taken and the contracts.
 *
 * The parser walks the input line by line (memchr for the LF), with one character-class
 * table for every byte test; the writer runs its emitter twice, once to measure and once
 * to copy, so that a buffer too small is left untouched. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "rcs/rcs_cpim.h"

/* ---- character classes ---------------------------------------------------------------- */

enum {
	C_NAME = 1,  /* RFC 3862 NAMECHAR */
	C_TOKEN = 2, /* TOKENCHAR: NAMECHAR, '.', bytes >= 0x80 */
	C_VAL = 4,   /* in a header value: not a control character (HTAB taken) */
	C_MIME = 8,  /* in a content header name: printable ASCII but ':' */
	C_STR = 16,  /* Str-char: inside a String without escape */
};

#define A (C_NAME | C_TOKEN | C_VAL | C_MIME | C_STR) /* a NAMECHAR */
#define D (C_TOKEN | C_VAL | C_MIME | C_STR)          /* '.' */
#define P (C_VAL | C_MIME | C_STR)                    /* other printable ASCII */
#define B (C_VAL | C_MIME)                            /* '"' and '\' */
#define S (C_VAL | C_STR)                             /* SP and ':' */
#define H (C_TOKEN | C_VAL | C_STR)                   /* bytes >= 0x80 */
#define W C_VAL                                       /* HTAB */

static const unsigned char cls[256] = {
	/* 00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, W, 0, 0, 0, 0, 0, 0,
	/* 10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 20 */ S, A, B, A, A, A, A, A, P, P, A, A, P, A, D, P,  /*  !"#$%&'()*+,-./ */
	/* 30 */ A, A, A, A, A, A, A, A, A, A, S, P, P, P, P, P,  /* 0-9 :;<=>? */
	/* 40 */ P, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,  /* @A-O */
	/* 50 */ A, A, A, A, A, A, A, A, A, A, A, P, B, P, A, A,  /* P-Z [\]^_ */
	/* 60 */ A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,  /* `a-o */
	/* 70 */ A, A, A, A, A, A, A, A, A, A, A, P, A, P, A, 0,  /* p-z {|}~ DEL */
	/* 80 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
	/* 90 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
	/* a0 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
	/* b0 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
	/* c0 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
	/* d0 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
	/* e0 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
	/* f0 */ H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
};

#undef A
#undef D
#undef P
#undef B
#undef S
#undef H
#undef W

static inline int is(char c, unsigned cl)
{
	return (cls[(unsigned char)c] & cl) != 0;
}

static inline int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The length of the run of bytes of class <cl> at <p>[<i>..<n>), from <i>. */
static size_t span(const char *p, size_t i, size_t n, unsigned cl)
{
	size_t j = i;

	while (j < n && is(p[j], cl))
		j++;
	return j - i;
}

static int all_of(cm_slice s, unsigned cl)
{
	return span(s.p, 0, s.len, cl) == s.len;
}

static int slice_eq(cm_slice a, cm_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int slice_eq_str(cm_slice a, const char *s, size_t n)
{
	return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

static int slice_ieq_lit(cm_slice a, const char *lit)
{
	size_t n = strlen(lit);

	if (a.len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char x = a.p[i], y = lit[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

static cm_slice sl(const char *p, size_t n)
{
	return (cm_slice){ p, n };
}

/* <s> without its leading and trailing SP/HTAB. */
static cm_slice trim(cm_slice s)
{
	while (s.len && blank(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* ---- pieces shared by the parser and the writer ------------------------------------------ */

/* Parameters at <p>[<i>..<n>), a ';' before them already consumed: Param-name "="
 * Param-value, joined by ';'. Returns the index just past the last one, or SIZE_MAX when
 * malformed. */
static size_t params_scan(const char *p, size_t i, size_t n)
{
	for (;;) {
		size_t k = span(p, i, n, C_NAME);

		if (k == 0)
			return SIZE_MAX;
		i += k;
		if (i >= n || p[i] != '=')
			return SIZE_MAX;
		i++;
		if (i < n && p[i] == '"') {
			/* String: Str-chars, or '\' and one printable character */
			for (i++;; i++) {
				if (i >= n)
					return SIZE_MAX;
				if (p[i] == '"')
					break;
				if (p[i] == '\\') {
					if (++i >= n || !is(p[i], C_STR | C_MIME))
						return SIZE_MAX;
				} else if (!is(p[i], C_STR)) {
					return SIZE_MAX;
				}
			}
			i++;
		} else {
			k = span(p, i, n, C_TOKEN);
			if (k == 0)
				return SIZE_MAX;
			i += k;
		}
		if (i >= n || p[i] != ';')
			return i;
		i++;
	}
}

/* 1 when <params> is a whole parameter list (as kept in rcs_cpim_hdr.params). */
static int params_ok(cm_slice params)
{
	return params.len == 0 || params_scan(params.p, 0, params.len) == params.len;
}

/* An NS value "[prefix *SP] <uri>" (already trimmed) into *<ns>. 0 or -EINVAL. */
static int ns_value(cm_slice v, struct rcs_cpim_ns *ns)
{
	size_t k = span(v.p, 0, v.len, C_NAME), i = k, u;

	ns->prefix = sl(v.p, k);
	while (i < v.len && blank(v.p[i]))
		i++;
	if (i >= v.len || v.p[i] != '<')
		return -EINVAL;
	u = ++i;
	while (i < v.len && v.p[i] != '>') {
		if (v.p[i] == '<' || !is(v.p[i], C_VAL) || blank(v.p[i]))
			return -EINVAL;
		i++;
	}
	if (i == u || i + 1 != v.len)
		return -EINVAL;
	ns->uri = sl(v.p + u, i - u);
	return 0;
}

static int is_ns_line(const struct rcs_cpim_hdr *h)
{
	return h->prefix.len == 0 && slice_eq_str(h->name, "NS", 2);
}

/* ---- parser --------------------------------------------------------------------------- */

/* The message header line <p>[0..<n>) (no line end) into *<h>. 0 or -EINVAL. */
static int msg_line(const char *p, size_t n, struct rcs_cpim_hdr *h)
{
	size_t i = span(p, 0, n, C_NAME), j, v;

	if (i == 0)
		return -EINVAL; /* also a folded line: SP and HTAB are no NAMECHAR */
	h->prefix = sl(p, 0);
	h->name = sl(p, i);
	if (i < n && p[i] == '.') {
		j = span(p, i + 1, n, C_NAME);
		if (j == 0)
			return -EINVAL;
		h->prefix = sl(p, i);
		h->name = sl(p + i + 1, j);
		i += 1 + j;
	}
	if (i >= n || p[i] != ':')
		return -EINVAL;
	i++;
	h->params = sl(p + i, 0);
	if (i < n && p[i] == ';') {
		j = params_scan(p, i + 1, n);
		if (j == SIZE_MAX)
			return -EINVAL;
		h->params = sl(p + i + 1, j - i - 1);
		i = j;
	}
	for (v = i; v < n; v++)
		if (!is(p[v], C_VAL))
			return -EINVAL;
	h->value = trim(sl(p + i, n - i));
	if (h->value.len == 0)
		h->value.p = p + n;
	return 0;
}

/* The content header line <p>[0..<n>) into *<h>. 0 or -EINVAL. */
static int mime_line(const char *p, size_t n, struct rcs_cpim_hdr *h)
{
	size_t i = span(p, 0, n, C_MIME), k = i;

	if (i == 0)
		return -EINVAL;
	while (k < n && blank(p[k])) /* obsolete "Name :" (RFC 5322 §4.5) */
		k++;
	if (k >= n || p[k] != ':')
		return -EINVAL;
	for (size_t v = k + 1; v < n; v++)
		if (!is(p[v], C_VAL))
			return -EINVAL;
	h->prefix = sl(p, 0);
	h->name = sl(p, i);
	h->params = sl(p + k + 1, 0);
	h->value = trim(sl(p + k + 1, n - k - 1));
	if (h->value.len == 0)
		h->value.p = p + n;
	return 0;
}

/* A continuation line <p>[0..<n>) (it starts with a blank) of the content header *<h>. */
static int mime_fold(const char *p, size_t n, struct rcs_cpim_hdr *h)
{
	cm_slice t;

	for (size_t v = 0; v < n; v++)
		if (!is(p[v], C_VAL))
			return -EINVAL;
	t = trim(sl(p, n));
	if (t.len == 0)
		return 0;
	if (h->value.len == 0)
		h->value = t;
	else
		h->value.len = (size_t)(t.p + t.len - h->value.p);
	return 0;
}

/* The line at <p>[*<pos>..<len>): its content (CR LF or LF removed) in *<line>, *<pos>
 * moved past its end. -EINVAL when no LF ends it. */
static int next_line(const char *p, size_t len, size_t *pos, cm_slice *line)
{
	const char *s = p + *pos, *lf = memchr(s, '\n', len - *pos);
	size_t n;

	if (!lf)
		return -EINVAL;
	n = (size_t)(lf - s);
	*pos += n + 1;
	if (n && s[n - 1] == '\r')
		n--;
	*line = sl(s, n);
	return 0;
}

static void msg_clear(struct rcs_cpim_msg *m)
{
	m->nhdrs = m->nns = m->nmime = 0;
	m->content_type = CM_SLICE_NULL;
	m->body = CM_SLICE_NULL;
}

static int parse(const char *p, size_t len, struct rcs_cpim_msg *m)
{
	size_t pos = 0;
	cm_slice line;
	int rc;

	/* message headers, up to the first empty line */
	for (;;) {
		struct rcs_cpim_hdr *h;

		if (pos >= len || (rc = next_line(p, len, &pos, &line)) != 0)
			return -EINVAL;
		if (line.len == 0)
			break;
		if (m->nhdrs == RCS_CPIM_MAX_HDRS)
			return -E2BIG;
		h = &m->hdrs[m->nhdrs];
		if ((rc = msg_line(line.p, line.len, h)) != 0)
			return rc;
		m->nhdrs++;
		if (is_ns_line(h)) {
			if (m->nns == RCS_CPIM_MAX_NS)
				return -E2BIG;
			if ((rc = ns_value(h->value, &m->ns[m->nns])) != 0)
				return rc;
			m->nns++;
		}
	}
	/* content headers, up to the next empty line */
	for (;;) {
		if (pos >= len || (rc = next_line(p, len, &pos, &line)) != 0)
			return -EINVAL;
		if (line.len == 0)
			break;
		if (blank(line.p[0])) {
			if (m->nmime == 0)
				return -EINVAL;
			if ((rc = mime_fold(line.p, line.len, &m->mime[m->nmime - 1])) != 0)
				return rc;
			continue;
		}
		if (m->nmime == RCS_CPIM_MAX_MIME)
			return -E2BIG;
		if ((rc = mime_line(line.p, line.len, &m->mime[m->nmime])) != 0)
			return rc;
		m->nmime++;
	}
	for (unsigned i = 0; i < m->nmime; i++)
		if (slice_ieq_lit(m->mime[i].name, "Content-Type")) {
			m->content_type = m->mime[i].value;
			break;
		}
	m->body = sl(p + pos, len - pos);
	return 0;
}

int rcs_cpim_parse(const char *p, size_t len, struct rcs_cpim_msg *m)
{
	int rc;

	msg_clear(m);
	if (!p)
		return -EINVAL;
	rc = parse(p, len, m);
	if (rc != 0)
		msg_clear(m);
	return rc;
}

/* ---- look-up ------------------------------------------------------------------------------ */

/* The namespace URI of <prefix> for a header below the first <k> NS lines of <m>. */
static cm_slice ns_resolve(const struct rcs_cpim_msg *m, unsigned k, cm_slice prefix)
{
	if (k > m->nns)
		k = m->nns;
	while (k--)
		if (slice_eq(m->ns[k].prefix, prefix))
			return m->ns[k].uri;
	if (prefix.len == 0)
		return CM_SLICE_LIT(RCS_CPIM_NS_CORE);
	return CM_SLICE_NULL;
}

const struct rcs_cpim_hdr *rcs_cpim_get(const struct rcs_cpim_msg *m, cm_slice ns_uri, const char *name,
					const struct rcs_cpim_hdr *after)
{
	unsigned start = 0, nsseen = 0, n;
	size_t nlen;

	if (!m || !name || (ns_uri.len && !ns_uri.p))
		return NULL;
	n = m->nhdrs < RCS_CPIM_MAX_HDRS ? m->nhdrs : RCS_CPIM_MAX_HDRS;
	if (after) {
		uintptr_t a = (uintptr_t)after, b = (uintptr_t)m->hdrs;

		if (a < b || a >= b + n * sizeof(*after) || (a - b) % sizeof(*after))
			return NULL;
		start = (unsigned)((a - b) / sizeof(*after)) + 1;
	}
	nlen = strlen(name);
	for (unsigned i = 0; i < n; i++) {
		const struct rcs_cpim_hdr *h = &m->hdrs[i];

		if (i >= start && slice_eq_str(h->name, name, nlen)) {
			if (ns_uri.len == 0) {
				if (h->prefix.len == 0)
					return h;
			} else if (slice_eq(ns_resolve(m, nsseen, h->prefix), ns_uri)) {
				return h;
			}
		}
		if (is_ns_line(h))
			nsseen++;
	}
	return NULL;
}

/* ---- addresses ---------------------------------------------------------------------------- */

static int addr(cm_slice v, cm_slice *display, cm_slice *uri)
{
	size_t i = 0, lt, u;

	v = trim(v);
	if (v.len == 0)
		return -EINVAL;
	if (v.p[0] == '"') {
		for (i = 1;; i++) {
			if (i >= v.len)
				return -EINVAL;
			if (v.p[i] == '"')
				break;
			if (v.p[i] == '\\' && ++i >= v.len)
				return -EINVAL;
		}
		*display = sl(v.p + 1, i - 1);
		for (i++; i < v.len && blank(v.p[i]); i++)
			;
		if (i >= v.len || v.p[i] != '<')
			return -EINVAL;
		lt = i;
	} else {
		const char *q = memchr(v.p, '<', v.len);

		if (!q) {
			/* a bare URI */
			for (i = 0; i < v.len; i++)
				if (blank(v.p[i]) || v.p[i] == '"' || v.p[i] == '>' || !is(v.p[i], C_VAL))
					return -EINVAL;
			if (!memchr(v.p, ':', v.len))
				return -EINVAL;
			*display = sl(v.p, 0);
			*uri = v;
			return 0;
		}
		lt = (size_t)(q - v.p);
		*display = trim(sl(v.p, lt));
		if (display->len == 0)
			display->p = v.p;
	}
	u = lt + 1;
	for (i = u; i < v.len && v.p[i] != '>'; i++)
		if (v.p[i] == '<' || blank(v.p[i]))
			return -EINVAL;
	if (i == u || i + 1 != v.len)
		return -EINVAL;
	*uri = sl(v.p + u, i - u);
	return 0;
}

int rcs_cpim_addr(cm_slice value, cm_slice *display, cm_slice *uri)
{
	cm_slice d = CM_SLICE_NULL, u = CM_SLICE_NULL;
	int rc = value.len && !value.p ? -EINVAL : addr(value, &d, &u);

	if (rc != 0)
		d = u = CM_SLICE_NULL;
	if (display)
		*display = d;
	if (uri)
		*uri = u;
	return rc;
}

/* ---- writer ------------------------------------------------------------------------------- */

struct wr {
	char *buf; /* NULL: measure only */
	size_t n;  /* bytes so far (saturates at SIZE_MAX) */
};

static void put(struct wr *w, const char *p, size_t len)
{
	if (len == 0)
		return;
	if (w->buf)
		memcpy(w->buf + w->n, p, len);
	w->n = len > SIZE_MAX - w->n ? SIZE_MAX : w->n + len;
}

static void put_sl(struct wr *w, cm_slice s)
{
	put(w, s.p, s.len);
}

#define PUT_LIT(w, lit) put((w), (lit), sizeof(lit) - 1)

/* "<name>: <v>\r\n" */
static void core_line(struct wr *w, const char *name, size_t nlen, cm_slice v)
{
	put(w, name, nlen);
	PUT_LIT(w, ": ");
	put_sl(w, v);
	PUT_LIT(w, "\r\n");
}

static int slice_bad(cm_slice s)
{
	return s.len && !s.p;
}

static int value_ok(cm_slice v)
{
	return !slice_bad(v) && all_of(v, C_VAL);
}

static int name_ok(cm_slice s)
{
	return !slice_bad(s) && s.len && all_of(s, C_NAME);
}

static int uri_ok(cm_slice s)
{
	if (slice_bad(s) || s.len == 0)
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (!is(s.p[i], C_VAL) || blank(s.p[i]) || s.p[i] == '<' || s.p[i] == '>')
			return 0;
	return 1;
}

/* Checks *<o>: 0, -EINVAL or -E2BIG (see rcs_cpim_write()). */
static int out_check(const struct rcs_cpim_out *o)
{
	size_t nh, nns;

	if (!o || (o->ncc && !o->cc) || (o->nns && !o->ns) || (o->nhdrs && !o->hdrs) ||
	    (o->nmime && !o->mime) || slice_bad(o->body))
		return -EINVAL;
	if (o->from.len == 0 || o->to.len == 0 || o->content_type.len == 0 ||
	    !value_ok(o->from) || !value_ok(o->to) || !value_ok(o->content_type) ||
	    !value_ok(o->datetime) || !value_ok(o->subject) || !value_ok(o->require))
		return -EINVAL;
	for (unsigned i = 0; i < o->ncc; i++)
		if (o->cc[i].len == 0 || !value_ok(o->cc[i]))
			return -EINVAL;
	for (unsigned i = 0; i < o->nns; i++)
		if (slice_bad(o->ns[i].prefix) || !all_of(o->ns[i].prefix, C_NAME) ||
		    !uri_ok(o->ns[i].uri))
			return -EINVAL;
	nns = o->nns;
	for (unsigned i = 0; i < o->nhdrs; i++) {
		const struct rcs_cpim_hdr *h = &o->hdrs[i];

		if ((h->prefix.len && !name_ok(h->prefix)) || slice_bad(h->prefix) ||
		    !name_ok(h->name) || slice_bad(h->params) || !params_ok(h->params) ||
		    !value_ok(h->value))
			return -EINVAL;
		if (is_ns_line(h)) {
			struct rcs_cpim_ns ns;

			if (ns_value(trim(h->value), &ns) != 0)
				return -EINVAL;
			nns++;
		}
	}
	for (unsigned i = 0; i < o->nmime; i++) {
		const struct rcs_cpim_hdr *h = &o->mime[i];

		if (slice_bad(h->name) || h->name.len == 0 || !all_of(h->name, C_MIME) ||
		    !value_ok(h->value))
			return -EINVAL;
	}
	nh = 2 + (size_t)o->ncc + (o->datetime.len > 0) + (o->subject.len > 0) +
	     (o->require.len > 0) + (size_t)o->nns + o->nhdrs;
	if (nh > RCS_CPIM_MAX_HDRS || nns > RCS_CPIM_MAX_NS || 1 + (size_t)o->nmime > RCS_CPIM_MAX_MIME)
		return -E2BIG;
	return 0;
}

static void emit(struct wr *w, const struct rcs_cpim_out *o)
{
	core_line(w, "From", 4, o->from);
	core_line(w, "To", 2, o->to);
	for (unsigned i = 0; i < o->ncc; i++)
		core_line(w, "cc", 2, o->cc[i]);
	if (o->datetime.len)
		core_line(w, "DateTime", 8, o->datetime);
	if (o->subject.len)
		core_line(w, "Subject", 7, o->subject);
	for (unsigned i = 0; i < o->nns; i++) {
		PUT_LIT(w, "NS: ");
		if (o->ns[i].prefix.len) {
			put_sl(w, o->ns[i].prefix);
			PUT_LIT(w, " ");
		}
		PUT_LIT(w, "<");
		put_sl(w, o->ns[i].uri);
		PUT_LIT(w, ">\r\n");
	}
	if (o->require.len)
		core_line(w, "Require", 7, o->require);
	for (unsigned i = 0; i < o->nhdrs; i++) {
		const struct rcs_cpim_hdr *h = &o->hdrs[i];

		if (h->prefix.len) {
			put_sl(w, h->prefix);
			PUT_LIT(w, ".");
		}
		put_sl(w, h->name);
		PUT_LIT(w, ":");
		if (h->params.len) {
			PUT_LIT(w, ";");
			put_sl(w, h->params);
		}
		PUT_LIT(w, " ");
		put_sl(w, h->value);
		PUT_LIT(w, "\r\n");
	}
	PUT_LIT(w, "\r\n");
	core_line(w, "Content-Type", 12, o->content_type);
	for (unsigned i = 0; i < o->nmime; i++)
		core_line(w, o->mime[i].name.p, o->mime[i].name.len, o->mime[i].value);
	PUT_LIT(w, "\r\n");
	put_sl(w, o->body);
}

long rcs_cpim_write(char *buf, size_t cap, const struct rcs_cpim_out *o)
{
	struct wr w = { NULL, 0 };
	int rc = out_check(o);

	if (rc != 0)
		return rc;
	emit(&w, o);
	if (w.n > (size_t)LONG_MAX)
		return -EOVERFLOW;
	if (!buf)
		return (long)w.n;
	if (w.n > cap)
		return -ENOSPC;
	w.buf = buf;
	w.n = 0;
	emit(&w, o);
	return (long)w.n;
}

/* ---- RFC 3339 time stamps ------------------------------------------------------------ */

/* Days from 1970-01-01 to <y>-<mo>-<d> of the proleptic Gregorian calendar (March-based
 * years, so that the leap day ends a year, in 400-year eras of 146097 days). */
static long long days_from_civil(long long y, unsigned mo, unsigned d)
{
	long long era, yoe, doy, doe;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void civil_from_days(long long z, long long *y, unsigned *mo, unsigned *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*mo = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*mo <= 2);
}

static char *digits(char *o, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		o[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return o + n;
}

void rcs_cpim_datetime(long long t_ms, char out[32])
{
	const long long day_ms = 86400000LL;
	long long lo = days_from_civil(0, 1, 1) * day_ms;
	long long hi = days_from_civil(10000, 1, 1) * day_ms - 1;
	long long days, ms, y;
	unsigned mo, d;
	char *o = out;

	if (t_ms < lo)
		t_ms = lo;
	if (t_ms > hi)
		t_ms = hi;
	days = t_ms / day_ms;
	ms = t_ms % day_ms;
	if (ms < 0) {
		ms += day_ms;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	o = digits(o, (unsigned)y, 4);
	*o++ = '-';
	o = digits(o, mo, 2);
	*o++ = '-';
	o = digits(o, d, 2);
	*o++ = 'T';
	o = digits(o, (unsigned)(ms / 3600000), 2);
	*o++ = ':';
	o = digits(o, (unsigned)(ms / 60000 % 60), 2);
	*o++ = ':';
	o = digits(o, (unsigned)(ms / 1000 % 60), 2);
	*o++ = '.';
	o = digits(o, (unsigned)(ms % 1000), 3);
	*o++ = 'Z';
	*o = '\0';
}
