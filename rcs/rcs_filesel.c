/* rcs_filesel.c — a=file-selector and a=file-range values (RFC 5547 §6): parsers and
 * writers. See rcs_filesel.h for the grammar, where it is bent, and the contracts. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "rcs/rcs_filesel.h"
#include "rcs/rcs_wbuf.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 token: a visible US-ASCII byte that is not a tspecial. */
static int mime_tokc(char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* RFC 4566 token-char (a hash-algorithm). */
static int sdp_tokc(char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]", c);
}

static const char *skip_blanks(const char *s, const char *e)
{
	while (s < e && is_blank(*s))
		s++;
	return s;
}

static const char *mime_tok_end(const char *s, const char *e)
{
	while (s < e && mime_tokc(*s))
		s++;
	return s;
}

/* The byte of the escape "%HH" at <s> (<s> < <e>, *<s> == '%'), -1 when it is cut short,
 * not hex or %00. */
static int escape_at(const char *s, const char *e)
{
	int hi, lo;

	if (e - s < 3 || (hi = rcs_hexval(s[1])) < 0 || (lo = rcs_hexval(s[2])) < 0 ||
	    (hi | lo) == 0)
		return -1;
	return hi << 4 | lo;
}

/* The closing DQUOTE of the filename-string that starts at <s> (after its opening DQUOTE);
 * NULL when the string is empty, does not close, or holds NUL, CR, LF or a bad escape. */
static const char *fname_close(const char *s, const char *e)
{
	const char *s0 = s;

	while (s < e && *s != '"') {
		if (*s == '\0' || *s == '\r' || *s == '\n')
			return NULL;
		if (*s == '%') {
			if (escape_at(s, e) < 0)
				return NULL;
			s += 3;
		} else {
			s++;
		}
	}
	return s < e && s > s0 ? s : NULL;
}

/* The end of the filetype-selector value at <s>: type "/" subtype *( ";" attribute "="
 * ( DQUOTE filename-string DQUOTE / token ) ); NULL when <s> does not start with one. */
static const char *type_end(const char *s, const char *e)
{
	const char *t = mime_tok_end(s, e);

	if (t == s || t == e || *t != '/')
		return NULL;
	s = t + 1;
	t = mime_tok_end(s, e);
	if (t == s)
		return NULL;
	for (s = t; s < e && *s == ';'; s = t) {
		s++;
		t = mime_tok_end(s, e);
		if (t == s || t == e || *t != '=')
			return NULL;
		s = t + 1;
		if (s < e && *s == '"') {
			if (!(t = fname_close(s + 1, e)))
				return NULL;
			t++;
		} else if ((t = mime_tok_end(s, e)) == s) {
			return NULL;
		}
	}
	return s;
}

/* 1*DIGIT at *<sp> into *<v>, *<sp> moved past it: 0, or -EINVAL (no digit, or above
 * UINT64_MAX). */
static int take_u64(const char **sp, const char *e, uint64_t *v)
{
	const char *s = *sp;
	uint64_t x = 0;

	if (s == e || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < e && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*sp = s;
	*v = x;
	return 0;
}

/* hash-algorithm ":" hash-value at *<sp> into <f>: 0, -EINVAL or -E2BIG. */
static int take_hash(const char **sp, const char *e, struct rcs_filesel *f)
{
	const char *s = *sp, *a = s;
	unsigned n = 0;

	while (s < e && sdp_tokc(*s))
		s++;
	if (s == a || s == e || *s != ':')
		return -EINVAL;
	if ((size_t)(s - a) > RCS_FILESEL_ALG_MAX)
		return -E2BIG;
	memcpy(f->hash_alg, a, (size_t)(s - a));
	f->hash_alg[s - a] = '\0';
	do {
		int hi, lo;

		s++;   /* the ':' before each byte */
		if (e - s < 2 || (hi = rcs_hexval(s[0])) < 0 || (lo = rcs_hexval(s[1])) < 0)
			return -EINVAL;
		if (n == RCS_FILESEL_HASH_MAX)
			return -E2BIG;
		f->hash[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	} while (s < e && *s == ':');
	f->hash_len = n;
	*sp = s;
	return 0;
}

/* One selector "<key>:<value>" at *<sp> into <f>, *<sp> moved past it: 0, -EINVAL or
 * -E2BIG. */
static int take_selector(const char **sp, const char *e, struct rcs_filesel *f)
{
	const char *s = *sp, *k = s, *t;
	size_t kl;
	int r = 0;

	while (s < e && *s != ':' && !is_blank(*s))
		s++;
	if (s == e || *s != ':')
		return -EINVAL;
	kl = (size_t)(s - k);
	s++;
	if (kl == 4 && strncasecmp(k, "name", 4) == 0) {
		if (f->name.p || s == e || *s != '"' || !(t = fname_close(s + 1, e)))
			return -EINVAL;
		f->name = (cm_slice){ s + 1, (size_t)(t - s - 1) };
		s = t + 1;
	} else if (kl == 4 && strncasecmp(k, "type", 4) == 0) {
		if (f->type.len || !(t = type_end(s, e)))
			return -EINVAL;
		f->type = (cm_slice){ s, (size_t)(t - s) };
		s = t;
	} else if (kl == 4 && strncasecmp(k, "size", 4) == 0) {
		if (f->has_size || take_u64(&s, e, &f->size) < 0)
			return -EINVAL;
		f->has_size = 1;
	} else if (kl == 4 && strncasecmp(k, "hash", 4) == 0) {
		if (f->hash_len)
			return -EINVAL;
		r = take_hash(&s, e, f);
	} else {
		return -EINVAL;
	}
	if (r == 0 && s < e && !is_blank(*s))
		r = -EINVAL;   /* junk right after a value */
	*sp = s;
	return r;
}

int rcs_filesel_parse(const char *p, size_t len, struct rcs_filesel *out)
{
	const char *s = p, *e = p ? p + len : p;
	int r = 0;

	memset(out, 0, sizeof(*out));
	for (s = skip_blanks(s, e); r == 0 && s < e; s = skip_blanks(s, e))
		r = take_selector(&s, e, out);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

long rcs_filesel_name_decode(cm_slice name, char *out, size_t cap)
{
	const char *s = name.p, *e = name.p ? name.p + name.len : name.p;
	struct rcs_wbuf w;

	rcs_wbuf_init(&w, out, cap);
	while (s < e) {
		const char *run = s;
		char c;
		int b;

		while (s < e && *s != '%' && *s != '"' && *s != '\0' && *s != '\r' && *s != '\n')
			s++;
		rcs_wbuf_put(&w, run, (size_t)(s - run));
		if (s == e)
			break;
		if (*s != '%' || (b = escape_at(s, e)) < 0)
			return -EINVAL;
		c = (char)b;
		rcs_wbuf_put(&w, &c, 1);
		s += 3;
	}
	return rcs_wbuf_end(&w);
}

long rcs_filesel_write(char *buf, size_t cap, const char *name, cm_slice type, uint64_t size,
		       int has_size, const char *hash_alg, const unsigned char *hash,
		       unsigned hash_len)
{
	static const char hx[16] = "0123456789ABCDEF";
	size_t al = hash_alg ? strlen(hash_alg) : 0;
	struct rcs_wbuf w;
	const char *sep = "";

	if (type.len && (!type.p || type_end(type.p, type.p + type.len) != type.p + type.len))
		return -EINVAL;
	if (hash_len > RCS_FILESEL_HASH_MAX ||
	    (hash_len && (!hash || al == 0 || al > RCS_FILESEL_ALG_MAX)))
		return -EINVAL;
	for (size_t i = 0; hash_len && i < al; i++)
		if (!sdp_tokc(hash_alg[i]))
			return -EINVAL;
	rcs_wbuf_init(&w, buf, cap);
	if (name && *name) {
		rcs_wbuf_str(&w, "name:\"");
		for (const char *c = name; *c; c++) {
			if (*c == '%' || *c == '"' || *c == '\r' || *c == '\n')
				rcs_wbuf_pct(&w, (unsigned char)*c);
			else
				rcs_wbuf_put(&w, c, 1);
		}
		rcs_wbuf_str(&w, "\"");
		sep = " ";
	}
	if (type.len) {
		rcs_wbuf_str(&w, sep);
		rcs_wbuf_str(&w, "type:");
		rcs_wbuf_put(&w, type.p, type.len);
		sep = " ";
	}
	if (has_size) {
		rcs_wbuf_str(&w, sep);
		rcs_wbuf_str(&w, "size:");
		rcs_wbuf_u64(&w, size);
		sep = " ";
	}
	if (hash_len) {
		rcs_wbuf_str(&w, sep);
		rcs_wbuf_str(&w, "hash:");
		rcs_wbuf_put(&w, hash_alg, al);
		for (unsigned i = 0; i < hash_len; i++) {
			char x[3] = { ':', hx[hash[i] >> 4], hx[hash[i] & 15] };

			rcs_wbuf_put(&w, x, sizeof(x));
		}
	}
	return rcs_wbuf_end(&w);
}

/* ---- file-range ---------------------------------------------------------------------- */

int rcs_filerange_parse(const char *p, size_t len, uint64_t *start, uint64_t *stop)
{
	const char *s = p, *e = p ? p + len : p;
	uint64_t a, b = 0;

	s = skip_blanks(s, e);
	while (e > s && is_blank(e[-1]))
		e--;
	if (take_u64(&s, e, &a) < 0 || a == 0 || s == e || *s++ != '-')
		return -EINVAL;
	if (s < e && *s == '*')
		s++;
	else if (take_u64(&s, e, &b) < 0 || b < a)
		return -EINVAL;
	if (s != e)
		return -EINVAL;
	*start = a;
	*stop = b;
	return 0;
}

long rcs_filerange_write(char *buf, size_t cap, uint64_t start, uint64_t stop)
{
	struct rcs_wbuf w;

	if (start == 0 || (stop && stop < start))
		return -EINVAL;
	rcs_wbuf_init(&w, buf, cap);
	rcs_wbuf_u64(&w, start);
	rcs_wbuf_str(&w, "-");
	if (stop)
		rcs_wbuf_u64(&w, stop);
	else
		rcs_wbuf_str(&w, "*");
	return rcs_wbuf_end(&w);
}
