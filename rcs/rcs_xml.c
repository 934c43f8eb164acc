/* rcs_xml.c — the bounded expat reader and the escaping writer of the RCS XML bodies. See
 * rcs_xml.h for the contracts. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <expat.h>

#include "rcs/rcs_xml.h"

#define NS_SEP ' ' /* between namespace name and local name in expat's names */

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

cm_slice rcs_xml_trim(cm_slice s)
{
	while (s.len && is_ws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_ws(s.p[s.len - 1]))
		s.len--;
	return s;
}

int rcs_xml_copy(char *dst, size_t size, cm_slice s)
{
	if (s.len >= size)
		return -E2BIG;
	if (s.len)
		memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	return 0;
}

int rcs_xml_uint(cm_slice s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	s = rcs_xml_trim(s);
	if (s.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return -EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned)(s.p[i] - '0');

		if (v > max / 10 || (v == max / 10 && d > max % 10))
			return -E2BIG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

const char *rcs_xml_attr(const char **attrs, const char *name)
{
	for (size_t i = 0; attrs && attrs[i] && attrs[i + 1]; i += 2)
		if (strcmp(attrs[i], name) == 0)
			return attrs[i + 1];
	return NULL;
}

/* XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF],
 * in well-formed UTF-8 (no overlong forms, no surrogates). */
int rcs_xml_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = u[i], cp, need, min;

		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;   /* a continuation byte first, C0/C1, F5..FF */
		}
		if (n - i - 1 < need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
		    cp == 0xffff)
			return 0;
		i += 1 + need;
	}
	return 1;
}

/* ---- reader ---------------------------------------------------------------------------- */

struct rx {
	XML_Parser xp;
	const struct rcs_xml_doc *doc;
	void *ctx;
	int err;
	unsigned depth;                  /* of the innermost open element, 0 outside the root */
	unsigned elements;               /* start tags seen */
	unsigned skip;                   /* depth of the element being skipped, 0 when none */
	unsigned text_depth;             /* depth whose text is kept, 0 when none */
	size_t tlen;
	int ids[RCS_XML_MAX_DEPTH + 1];  /* node id of the open element at each depth */
	char text[RCS_XML_TEXT_MAX + 1];
};

static void fail(struct rx *r, int err)
{
	if (!r->err) {
		r->err = err;
		XML_StopParser(r->xp, XML_FALSE);
	}
}

/* The node of <doc> named by expat's <name> ("<ns> <local>" or "<local>") under <parent>. */
static const struct rcs_xml_node *find_node(const struct rcs_xml_doc *doc, int parent,
					    const char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	const char *local = sep ? sep + 1 : name;
	size_t nslen = sep ? (size_t)(sep - name) : 0;

	for (size_t i = 0; i < doc->n; i++) {
		const struct rcs_xml_node *nd = &doc->nodes[i];

		if (nd->parent == parent && strcmp(nd->name, local) == 0 &&
		    strlen(nd->ns) == nslen && memcmp(nd->ns, name, nslen) == 0)
			return nd;
	}
	return NULL;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
	struct rx *r = data;
	const struct rcs_xml_node *nd;
	int rc;

	if (r->err)
		return;
	if (++r->elements > RCS_XML_MAX_ELEMENTS || r->depth + 1 > RCS_XML_MAX_DEPTH) {
		fail(r, -E2BIG);
		return;
	}
	r->depth++;
	if (r->skip)
		return;
	nd = find_node(r->doc, r->depth == 1 ? 0 : r->ids[r->depth - 1], name);
	if (!nd) {
		if (r->depth == 1)
			fail(r, -EINVAL);   /* not the document we expect */
		else
			r->skip = r->depth;
		return;
	}
	r->ids[r->depth] = nd->id;
	rc = r->doc->start(r->ctx, nd->id, attrs);
	if (rc < 0) {
		fail(r, rc);
		return;
	}
	if (rc == RCS_XML_SKIP) {
		r->skip = r->depth;
		return;
	}
	if (nd->text) {
		r->text_depth = r->depth;
		r->tlen = 0;
	}
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
	struct rx *r = data;
	cm_slice text = { "", 0 };
	int rc;

	(void)name;   /* expat has matched it with the start tag */
	if (r->err)
		return;
	if (r->skip) {
		if (r->skip == r->depth)
			r->skip = 0;
		r->depth--;
		return;
	}
	if (r->text_depth == r->depth) {
		text = rcs_xml_trim((cm_slice){ r->text, r->tlen });
		r->text[text.len] = '\0';   /* text.p is r->text: the lead was never stored */
		r->text_depth = 0;
	}
	rc = r->doc->end(r->ctx, r->ids[r->depth], text);
	if (rc < 0)
		fail(r, rc);
	r->depth--;
}

static void XMLCALL on_chars(void *data, const XML_Char *s, int len)
{
	struct rx *r = data;
	size_t n = len > 0 ? (size_t)len : 0;

	if (r->err || r->skip || r->depth != r->text_depth)
		return;
	if (r->tlen == 0)
		while (n && is_ws(*s)) {
			s++;
			n--;
		}
	if (n > RCS_XML_TEXT_MAX - r->tlen) {
		fail(r, -E2BIG);
		return;
	}
	memcpy(r->text + r->tlen, s, n);
	r->tlen += n;
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	fail(data, -EINVAL);
}

static void XMLCALL on_entity_decl(void *data, const XML_Char *name, int is_param,
				   const XML_Char *value, int value_len, const XML_Char *base,
				   const XML_Char *sysid, const XML_Char *pubid,
				   const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
	(void)pubid, (void)notation;
	fail(data, -EINVAL);
}

int rcs_xml_parse(const char *p, size_t len, const struct rcs_xml_doc *doc, void *ctx)
{
	struct rx r;
	enum XML_Status st;
	int rc;

	if (!doc || (!p && len))
		return -EINVAL;
	if (len > RCS_XML_MAX_BYTES)
		return -E2BIG;
	memset(&r, 0, offsetof(struct rx, text));
	r.text[0] = '\0';
	r.doc = doc;
	r.ctx = ctx;
	r.xp = XML_ParserCreateNS(NULL, NS_SEP);
	if (!r.xp)
		return -ENOMEM;
	XML_SetUserData(r.xp, &r);
	XML_SetElementHandler(r.xp, on_start, on_end);
	XML_SetCharacterDataHandler(r.xp, on_chars);
	XML_SetStartDoctypeDeclHandler(r.xp, on_doctype);
	XML_SetEntityDeclHandler(r.xp, on_entity_decl);
	XML_SetParamEntityParsing(r.xp, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(r.xp, p ? p : "", (int)len, XML_TRUE);
	if (r.err)
		rc = r.err;
	else if (st != XML_STATUS_OK)
		rc = XML_GetErrorCode(r.xp) == XML_ERROR_NO_MEMORY ? -ENOMEM : -EINVAL;
	else
		rc = 0;
	XML_ParserFree(r.xp);
	return rc;
}

/* ---- writer ---------------------------------------------------------------------------- */

void rcs_xml_w_init(struct rcs_xml_w *w, char *buf, size_t cap)
{
	rcs_wbuf_init(&w->b, buf, cap);
	w->err = 0;
}

static void put(struct rcs_xml_w *w, const char *s, size_t n)
{
	rcs_wbuf_put(&w->b, s, n);
}

void rcs_xml_w_raw(struct rcs_xml_w *w, const char *s)
{
	rcs_wbuf_str(&w->b, s);
}

static void put_escaped(struct rcs_xml_w *w, const char *s, size_t n)
{
	size_t run = 0;

	if (!rcs_xml_valid(s, n)) {
		w->err = -EINVAL;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *e;

		switch (s[i]) {
		case '&':  e = "&amp;"; break;
		case '<':  e = "&lt;"; break;
		case '>':  e = "&gt;"; break;
		case '"':  e = "&quot;"; break;
		case '\'': e = "&apos;"; break;
		case '\t': e = "&#9;"; break;
		case '\n': e = "&#10;"; break;
		case '\r': e = "&#13;"; break;
		default:   run++; continue;
		}
		put(w, s + i - run, run);
		run = 0;
		put(w, e, strlen(e));
	}
	put(w, s + n - run, run);
}

void rcs_xml_w_text(struct rcs_xml_w *w, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size) {
		w->err = -EINVAL;   /* no NUL within its array */
		return;
	}
	put_escaped(w, s, n);
}

void rcs_xml_w_uint(struct rcs_xml_w *w, uint64_t v)
{
	rcs_wbuf_u64(&w->b, v);
}

static void open_tag(struct rcs_xml_w *w, const char *indent, const char *name)
{
	rcs_xml_w_raw(w, indent);
	put(w, "<", 1);
	rcs_xml_w_raw(w, name);
	put(w, ">", 1);
}

static void close_tag(struct rcs_xml_w *w, const char *name)
{
	put(w, "</", 2);
	rcs_xml_w_raw(w, name);
	put(w, ">\n", 2);
}

void rcs_xml_w_elem(struct rcs_xml_w *w, const char *indent, const char *name, const char *s,
		    size_t size)
{
	open_tag(w, indent, name);
	rcs_xml_w_text(w, s, size);
	close_tag(w, name);
}

void rcs_xml_w_uint_elem(struct rcs_xml_w *w, const char *indent, const char *name,
			 uint64_t v)
{
	open_tag(w, indent, name);
	rcs_xml_w_uint(w, v);
	close_tag(w, name);
}

long rcs_xml_w_end(struct rcs_xml_w *w)
{
	if (!w->err)
		return rcs_wbuf_end(&w->b);
	if (w->b.p && w->b.cap)
		w->b.p[0] = '\0';
	return w->err;
}

long rcs_xml_escape(char *buf, size_t cap, const char *s, size_t n)
{
	struct rcs_xml_w w;

	rcs_xml_w_init(&w, buf, cap);
	if (!s && n)
		return -EINVAL;
	put_escaped(&w, s ? s : "", n);
	return rcs_xml_w_end(&w);
}
