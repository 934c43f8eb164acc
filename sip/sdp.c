/* sdp.c — SDP parser and writer (RFC 4566). See sdp.h for the contracts.
 *
 * The parser walks the input line by line, once; every loop is bounded by the input
 * length or a limit. A line's fields are split in place: the output is slices into the
 * input. */
#include <errno.h>
#include <string.h>

#include "sip/sdp.h"

/* Character classes. */
#define SC_TOKEN 0x01u         /* RFC 4566 §9 token-char */
#define SC_DIGIT 0x02u         /* DIGIT */
#define SC_VALUE 0x04u         /* a byte a value may hold: anything but NUL CR LF */
#define SC_FIELD 0x08u         /* a byte of a SP-separated field: VALUE but SP */

#define IS_TOKENC(c) ((c) == 0x21 || ((c) >= 0x23 && (c) <= 0x27) ||                      \
		      ((c) >= 0x2A && (c) <= 0x2B) || ((c) >= 0x2D && (c) <= 0x2E) ||      \
		      ((c) >= 0x30 && (c) <= 0x39) || ((c) >= 0x41 && (c) <= 0x5A) ||      \
		      ((c) >= 0x5E && (c) <= 0x7E))
#define IS_VALUEC(c) ((c) != 0 && (c) != '\r' && (c) != '\n')
#define SCLS(c)                                                                            \
	((IS_TOKENC(c) ? SC_TOKEN : 0u) | ((c) >= '0' && (c) <= '9' ? SC_DIGIT : 0u) |      \
	 (IS_VALUEC(c) ? SC_VALUE : 0u) | (IS_VALUEC(c) && (c) != ' ' ? SC_FIELD : 0u))
#define SR4(b)  SCLS(b), SCLS((b) + 1), SCLS((b) + 2), SCLS((b) + 3)
#define SR16(b) SR4(b), SR4((b) + 4), SR4((b) + 8), SR4((b) + 12)
#define SR64(b) SR16(b), SR16((b) + 16), SR16((b) + 32), SR16((b) + 48)

static const unsigned char sdp_cls[256] = { SR64(0), SR64(64), SR64(128), SR64(192) };

static inline int is(char c, unsigned cls)
{
	return (sdp_cls[(unsigned char)c] & cls) != 0;
}

static const char *const sdp_err_text[SDP_E__COUNT] = {
	[SDP_E_NONE] = "no error",
	[SDP_E_SIZE] = "description longer than the limit",
	[SDP_E_LINES] = "more lines than the limit",
	[SDP_E_LINE_LEN] = "a line longer than the limit",
	[SDP_E_MEDIA] = "more m= sections than the limit",
	[SDP_E_ATTRS] = "more a= lines than the limit",
	[SDP_E_OTHERS] = "more kept lines than the limit",
	[SDP_E_SYNTAX] = "a line that is not <letter>=<value>, or holds a NUL or CR",
	[SDP_E_EMPTY_LINE] = "an empty line inside the description",
	[SDP_E_VERSION] = "the first line is not v=0",
	[SDP_E_ORDER] = "o= and s= must be the 2nd and 3rd lines, once, before any media",
	[SDP_E_MISSING] = "o=, s= or t= missing from the session part",
	[SDP_E_ORIGIN] = "malformed o= line",
	[SDP_E_CONN] = "malformed or repeated c= line",
	[SDP_E_TIME] = "malformed t= line",
	[SDP_E_MLINE] = "malformed m= line",
	[SDP_E_ATTR] = "malformed a= line",
};

const char *sdp_strerror(enum sdp_err code)
{
	if ((unsigned)code >= SDP_E__COUNT)
		return "unknown error";
	return sdp_err_text[code];
}

void sdp_limits_default(struct sdp_limits *lim)
{
	lim->max_size = SDP_SIZE_DEFAULT;
	lim->max_lines = SDP_LINES_DEFAULT;
	lim->max_line = SDP_LINE_DEFAULT;
	lim->max_media = SDP_MEDIA_MAX;
	lim->max_attrs = SDP_ATTR_MAX;
}

/* <lim> with zeros replaced by defaults and counts clamped to the array ceilings. */
static struct sdp_limits limits_eff(const struct sdp_limits *lim)
{
	struct sdp_limits d, r;

	sdp_limits_default(&d);
	if (!lim)
		return d;
	r = *lim;
	if (!r.max_size)
		r.max_size = d.max_size;
	if (!r.max_lines)
		r.max_lines = d.max_lines;
	if (!r.max_line)
		r.max_line = d.max_line;
	if (!r.max_media || r.max_media > SDP_MEDIA_MAX)
		r.max_media = SDP_MEDIA_MAX;
	if (!r.max_attrs || r.max_attrs > SDP_ATTR_MAX)
		r.max_attrs = SDP_ATTR_MAX;
	return r;
}

/* Takes the next field of <*rest> up to one SP (or the end) into <*f>. 1 when a non-empty
 * field was there and (when <last> is 0) one SP followed it, else 0. With <last> set, the
 * field must end the value. */
static int field(cm_slice *rest, cm_slice *f, int last)
{
	size_t i = 0, n = rest->len;

	while (i < n && is(rest->p[i], SC_FIELD))
		i++;
	if (i == 0)
		return 0;
	*f = (cm_slice){ rest->p, i };
	if (last)
		return i == n;
	if (i >= n || rest->p[i] != ' ')
		return 0;
	*rest = (cm_slice){ rest->p + i + 1, n - i - 1 };
	return 1;
}

static int all_digits(cm_slice s, size_t max)
{
	if (s.len == 0 || s.len > max)
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (!is(s.p[i], SC_DIGIT))
			return 0;
	return 1;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int parse_origin(cm_slice v, struct sdp_origin *o)
{
	if (!field(&v, &o->username, 0) || !field(&v, &o->sess_id, 0) ||
	    !field(&v, &o->sess_version, 0) || !field(&v, &o->nettype, 0) ||
	    !field(&v, &o->addrtype, 0) || !field(&v, &o->addr, 1))
		return -1;
	/* §5.2: sess-id and sess-version are numeric strings */
	if (!all_digits(o->sess_id, 20) || !all_digits(o->sess_version, 20))
		return -1;
	return 0;
}

/* c=<nettype> <addrtype> <connection-address> */
static int parse_conn(cm_slice v, struct sdp_conn *c)
{
	if (!field(&v, &c->nettype, 0) || !field(&v, &c->addrtype, 0) ||
	    !field(&v, &c->addr, 1))
		return -1;
	c->present = 1;
	return 0;
}

/* t=<start-time> <stop-time>, decimal NTP seconds (§5.9) */
static int parse_time(cm_slice v)
{
	cm_slice a, b;

	if (!field(&v, &a, 0) || !field(&v, &b, 1))
		return -1;
	return all_digits(a, 20) && all_digits(b, 20) ? 0 : -1;
}

/* Decimal 0..65535 of 1..5 digits. */
static int port_value(cm_slice s, uint16_t *out)
{
	unsigned v = 0;

	if (!all_digits(s, 5))
		return -1;
	for (size_t i = 0; i < s.len; i++)
		v = v * 10 + (unsigned)(s.p[i] - '0');
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* m=<media> <port>[/<number of ports>] <proto> 1*(SP <fmt>) */
static int parse_mline(cm_slice v, struct sdp_media *m)
{
	cm_slice port;
	const char *slash;

	memset(m, 0, sizeof(*m));
	if (!field(&v, &m->media, 0) || !field(&v, &port, 0) || !field(&v, &m->proto, 0))
		return -1;
	for (size_t i = 0; i < m->media.len; i++)
		if (!is(m->media.p[i], SC_TOKEN))
			return -1;
	slash = memchr(port.p, '/', port.len);
	if (slash) {
		size_t k = (size_t)(slash - port.p);

		if (port_value((cm_slice){ port.p, k }, &m->port) < 0 ||
		    port_value((cm_slice){ slash + 1, port.len - k - 1 }, &m->nports) < 0 ||
		    m->nports == 0)
			return -1;
	} else if (port_value(port, &m->port) < 0) {
		return -1;
	}
	/* the formats: one or more fields split by single SPs, nothing after the last */
	m->fmts = v;
	while (1) {
		cm_slice f;

		if (field(&v, &f, 1))
			break;
		if (!field(&v, &f, 0))
			return -1;
	}
	return 0;
}

/* a=<att-field>[:<att-value>], att-field a token */
static int parse_attr(cm_slice v, struct sdp_attr *a)
{
	size_t i = 0;

	while (i < v.len && is(v.p[i], SC_TOKEN) && v.p[i] != ':')
		i++;
	if (i == 0)
		return -1;
	a->name = (cm_slice){ v.p, i };
	if (i == v.len) {
		a->value = (cm_slice){ v.p + i, 0 };
		a->has_value = 0;
		return 0;
	}
	if (v.p[i] != ':')
		return -1;
	a->value = (cm_slice){ v.p + i + 1, v.len - i - 1 };
	a->has_value = 1;
	return 0;
}

/* Only CR and LF from <p>[0 .. <n>) on. */
static int blank_rest(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* One failure: sets the error, counts it, returns -E2BIG for a limit, else -EINVAL. */
static int fail(struct sdp *out, struct sdp_stats *st, enum sdp_err code, uint32_t line)
{
	struct sdp_stats none = { 0 };
	uint64_t *c;
	int rc = -E2BIG;

	out->err.code = code;
	out->err.line = line;
	if (!st)
		st = &none;
	switch (code) {
	case SDP_E_SIZE:
		c = &st->too_big;
		break;
	case SDP_E_LINES:
	case SDP_E_OTHERS:
		c = &st->too_many_lines;
		break;
	case SDP_E_LINE_LEN:
		c = &st->line_too_long;
		break;
	case SDP_E_MEDIA:
		c = &st->too_many_media;
		break;
	case SDP_E_ATTRS:
		c = &st->too_many_attrs;
		break;
	default:
		c = &st->malformed;
		rc = -EINVAL;
		break;
	}
	(*c)++;
	return rc;
}

/* Lines that belong to the session part only (RFC 4566 §5 ordering). */
static int session_only(char t)
{
	return t == 'v' || t == 'o' || t == 's' || t == 't' || t == 'r' || t == 'z' ||
	       t == 'e' || t == 'p' || t == 'u';
}

int sdp_parse(cm_slice in, const struct sdp_limits *lim_in, struct sdp *out,
	      struct sdp_stats *st)
{
	struct sdp_limits lim = limits_eff(lim_in);
	const char *p = in.p;
	size_t n = in.len, pos = 0;
	uint32_t lineno = 0;
	int cur = -1;              /* level: -1 session, else the m= index */

	sdp_init(out);
	if (n > lim.max_size)
		return fail(out, st, SDP_E_SIZE, 0);
	if (n == 0)
		return fail(out, st, SDP_E_VERSION, 1);

	while (pos < n) {
		size_t rest = n - pos, scan = rest < (size_t)lim.max_line + 2 ?
			rest : (size_t)lim.max_line + 2;
		const char *lf = memchr(p + pos, '\n', scan);
		size_t len = lf ? (size_t)(lf - (p + pos)) : rest, next;

		if (!lf && rest > (size_t)lim.max_line + 1)
			return fail(out, st, SDP_E_LINE_LEN, lineno + 1);
		next = pos + len + (lf ? 1 : 0);
		if (len > 0 && p[pos + len - 1] == '\r')
			len--;
		if (len == 0) {
			if (blank_rest(p + pos, rest))
				break;
			return fail(out, st, SDP_E_EMPTY_LINE, lineno + 1);
		}
		if (++lineno > lim.max_lines)
			return fail(out, st, SDP_E_LINES, lineno);
		if (len > lim.max_line)
			return fail(out, st, SDP_E_LINE_LEN, lineno);

		char t = p[pos];

		if (len < 2 || t < 'a' || t > 'z' || p[pos + 1] != '=')
			return fail(out, st, SDP_E_SYNTAX, lineno);
		cm_slice v = { p + pos + 2, len - 2 };

		for (size_t i = 0; i < v.len; i++)
			if (!is(v.p[i], SC_VALUE))
				return fail(out, st, SDP_E_SYNTAX, lineno);
		pos = next;

		/* §5: v=, o=, s= are the first three lines, in that order */
		if (lineno == 1) {
			if (t != 'v' || v.len != 1 || v.p[0] != '0')
				return fail(out, st, SDP_E_VERSION, 1);
			continue;
		}
		if ((lineno == 2) != (t == 'o') || (lineno == 3) != (t == 's') || t == 'v')
			return fail(out, st, lineno <= 3 ? SDP_E_MISSING : SDP_E_ORDER, lineno);
		if (cur >= 0 && session_only(t))
			return fail(out, st, SDP_E_ORDER, lineno);

		switch (t) {
		case 'o':
			if (parse_origin(v, &out->origin) < 0)
				return fail(out, st, SDP_E_ORIGIN, lineno);
			continue;
		case 's':
			out->session_name = v;
			continue;
		case 'c': {
			struct sdp_conn *c = cur < 0 ? &out->conn : &out->media[cur].conn;

			if (c->present || parse_conn(v, c) < 0)
				return fail(out, st, SDP_E_CONN, lineno);
			continue;
		}
		case 'm':
			if (out->ntime == 0)
				return fail(out, st, SDP_E_MISSING, lineno);
			if (out->nmedia >= lim.max_media)
				return fail(out, st, SDP_E_MEDIA, lineno);
			cur = (int)out->nmedia;
			if (parse_mline(v, &out->media[cur]) < 0)
				return fail(out, st, SDP_E_MLINE, lineno);
			out->media[cur].attr0 = out->nattrs_all;
			out->media[cur].other0 = out->nothers_all;
			out->nmedia++;
			continue;
		case 'a': {
			struct sdp_attr *a;

			if (out->nattrs_all >= lim.max_attrs)
				return fail(out, st, SDP_E_ATTRS, lineno);
			a = &out->attrs[out->nattrs_all];
			if (parse_attr(v, a) < 0)
				return fail(out, st, SDP_E_ATTR, lineno);
			a->media = cur;
			out->nattrs_all++;
			if (cur < 0)
				out->nattr++;
			else
				out->media[cur].nattr++;
			continue;
		}
		case 't':
			if (parse_time(v) < 0)
				return fail(out, st, SDP_E_TIME, lineno);
			if (out->ntime++ == 0)
				out->time = v;
			break;
		default:
			break;
		}
		/* kept as it came */
		if (out->nothers_all >= SDP_OTHER_MAX)
			return fail(out, st, SDP_E_OTHERS, lineno);
		out->others[out->nothers_all++] = (struct sdp_line){ t, v, cur };
		if (cur < 0)
			out->nother++;
		else
			out->media[cur].nother++;
	}
	if (lineno < 3 || out->ntime == 0)
		return fail(out, st, lineno == 0 ? SDP_E_VERSION : SDP_E_MISSING, lineno);
	if (st)
		st->parsed++;
	return 0;
}

static int name_eq(cm_slice a, const char *b)
{
	size_t n = strlen(b);

	if (a.len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a.p[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x |= 0x20;
		if (y >= 'A' && y <= 'Z')
			y |= 0x20;
		if (x != y)
			return 0;
	}
	return 1;
}

/* The attributes of level <media>: [*<first>, *<first> + return). */
static unsigned level_attrs(const struct sdp *s, int media, unsigned *first)
{
	if (media < 0) {
		*first = 0;
		return s->nattr;
	}
	if ((unsigned)media >= s->nmedia) {
		*first = 0;
		return 0;
	}
	*first = s->media[media].attr0;
	return s->media[media].nattr;
}

const struct sdp_attr *sdp_attr_get(const struct sdp *s, int media, const char *name)
{
	unsigned a0, na = level_attrs(s, media, &a0);

	for (unsigned i = a0; i < a0 + na; i++)
		if (name_eq(s->attrs[i].name, name))
			return &s->attrs[i];
	return NULL;
}

unsigned sdp_attr_count(const struct sdp *s, int media, const char *name)
{
	unsigned a0, na = level_attrs(s, media, &a0), k = 0;

	for (unsigned i = a0; i < a0 + na; i++)
		k += (unsigned)name_eq(s->attrs[i].name, name);
	return k;
}

/* ---- building ----------------------------------------------------------------------- */

void sdp_init(struct sdp *s)
{
	memset(s, 0, offsetof(struct sdp, media));
	s->err.code = SDP_E_NONE;
	s->err.line = 0;
}

int sdp_add_media(struct sdp *s, cm_slice media, uint16_t port, cm_slice proto,
		  cm_slice fmts)
{
	struct sdp_media *m;

	if (s->nmedia >= SDP_MEDIA_MAX)
		return -E2BIG;
	m = &s->media[s->nmedia];
	memset(m, 0, sizeof(*m));
	m->media = media;
	m->port = port;
	m->proto = proto;
	m->fmts = fmts;
	m->attr0 = s->nattrs_all;
	m->other0 = s->nothers_all;
	return (int)s->nmedia++;
}

int sdp_add_attr(struct sdp *s, int media, cm_slice name, cm_slice value, int has_value)
{
	if (media != (int)s->nmedia - 1)
		return -EINVAL;
	if (s->nattrs_all >= SDP_ATTR_MAX)
		return -E2BIG;
	s->attrs[s->nattrs_all++] = (struct sdp_attr){ name, value, has_value, media };
	if (media < 0)
		s->nattr++;
	else
		s->media[media].nattr++;
	return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

/* An output buffer with snprintf's contract: <pos> counts everything, fitting or not. */
struct wbuf {
	char *buf;
	size_t len;
	size_t pos;
};

static void put(struct wbuf *w, const char *p, size_t n)
{
	if (w->pos < w->len) {
		size_t room = w->len - w->pos, k = n < room ? n : room;

		if (k)
			memcpy(w->buf + w->pos, p, k);
	}
	w->pos += n;
}

static void put_slice(struct wbuf *w, cm_slice s)
{
	put(w, s.p, s.len);
}

static void put_line(struct wbuf *w, char type, cm_slice v)
{
	char head[2] = { type, '=' };

	put(w, head, 2);
	put_slice(w, v);
	put(w, "\r\n", 2);
}

static void put_fields(struct wbuf *w, char type, const cm_slice *f, unsigned nf)
{
	char head[2] = { type, '=' };

	put(w, head, 2);
	for (unsigned i = 0; i < nf; i++) {
		if (i)
			put(w, " ", 1);
		put_slice(w, f[i]);
	}
	put(w, "\r\n", 2);
}

static void put_conn(struct wbuf *w, const struct sdp_conn *c)
{
	cm_slice f[3] = { c->nettype, c->addrtype, c->addr };

	if (c->present)
		put_fields(w, 'c', f, 3);
}

/* The kept lines of one level whose letter is in <types> ("" matches the letters that
 * RFC 4566 §5 does not name). */
static void put_others(struct wbuf *w, const struct sdp *s, unsigned o0, unsigned no,
		       const char *types)
{
	for (unsigned i = o0; i < o0 + no; i++) {
		char t = s->others[i].type;

		if (types[0] ? strchr(types, t) != NULL : strchr("vosiuepcbtrzkam", t) == NULL)
			put_line(w, t, s->others[i].value);
	}
}

static void put_attrs(struct wbuf *w, const struct sdp *s, unsigned a0, unsigned na)
{
	for (unsigned i = a0; i < a0 + na; i++) {
		const struct sdp_attr *a = &s->attrs[i];

		put(w, "a=", 2);
		put_slice(w, a->name);
		if (a->has_value) {
			put(w, ":", 1);
			put_slice(w, a->value);
		}
		put(w, "\r\n", 2);
	}
}

static void put_u16(struct wbuf *w, unsigned v)
{
	char d[5];
	int k = 0;

	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < 5);
	while (k)
		put(w, &d[--k], 1);
}

size_t sdp_write(const struct sdp *s, char *buf, size_t len)
{
	struct wbuf w = { buf, len ? len - 1 : 0, 0 };
	const struct sdp_origin *o = &s->origin;
	cm_slice of[6] = { o->username, o->sess_id, o->sess_version, o->nettype, o->addrtype,
			   o->addr };
	int kept_t = 0;

	put(&w, "v=0\r\n", 5);
	put_fields(&w, 'o', of, 6);
	put_line(&w, 's', s->session_name);
	put_others(&w, s, 0, s->nother, "iuep");
	put_conn(&w, &s->conn);
	put_others(&w, s, 0, s->nother, "b");
	for (unsigned i = 0; i < s->nother; i++)
		kept_t |= s->others[i].type == 't';
	if (kept_t)
		put_others(&w, s, 0, s->nother, "tr");
	else
		put_line(&w, 't', s->time);
	put_others(&w, s, 0, s->nother, "zk");
	put_others(&w, s, 0, s->nother, "");
	put_attrs(&w, s, 0, s->nattr);

	for (unsigned k = 0; k < s->nmedia; k++) {
		const struct sdp_media *m = &s->media[k];

		put(&w, "m=", 2);
		put_slice(&w, m->media);
		put(&w, " ", 1);
		put_u16(&w, m->port);
		if (m->nports) {
			put(&w, "/", 1);
			put_u16(&w, m->nports);
		}
		put(&w, " ", 1);
		put_slice(&w, m->proto);
		put(&w, " ", 1);
		put_slice(&w, m->fmts);
		put(&w, "\r\n", 2);
		put_others(&w, s, m->other0, m->nother, "i");
		put_conn(&w, &m->conn);
		put_others(&w, s, m->other0, m->nother, "bk");
		put_others(&w, s, m->other0, m->nother, "");
		put_attrs(&w, s, m->attr0, m->nattr);
	}
	if (len)
		buf[w.pos < len ? w.pos : len - 1] = '\0';
	return w.pos;
}
