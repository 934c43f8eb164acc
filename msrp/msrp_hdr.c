/* msrp_hdr.c — MSRP header names and lazy header-value parsers (see msrp_hdr.h). */
#include <errno.h>
#include <string.h>

#include "msrp/msrp_hdr.h"

/* Bits MSRP_C_* per byte; generated from the §9 ABNF (token, ident-char, utf8text). */
const uint8_t msrp_ctab[256] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x88, 0x0c, 0x08, 0x0c, 0x0c, 0x0e, 0x0c, 0x0c, 0x08, 0x08, 0x0c, 0x0e, 0x08, 0x0e, 0x0e, 0x08,
	0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x08, 0x08, 0x08, 0x0a, 0x08, 0x08,
	0x08, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f,
	0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x08, 0x08, 0x08, 0x0c, 0x0c,
	0x0c, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f,
	0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x0c, 0x0c, 0x0c, 0x0c, 0x00,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
	0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
};

/* ASCII lower case per byte (other bytes map to themselves). */
static const uint8_t lower[256] = {
#define LC(c) (uint8_t)((c) >= 'A' && (c) <= 'Z' ? (c) + 0x20 : (c))
#define L4(c) LC(c), LC((c) + 1), LC((c) + 2), LC((c) + 3)
#define L16(c) L4(c), L4((c) + 4), L4((c) + 8), L4((c) + 12)
#define L64(c) L16(c), L16((c) + 16), L16((c) + 32), L16((c) + 48)
	L64(0x00), L64(0x40), L64(0x80), L64(0xc0),
#undef L64
#undef L16
#undef L4
#undef LC
};

/* Canonical names; the table's lower-case copies are compared with lower[]. */
static const char *const hnames[MSRP_H__COUNT] = {
	[MSRP_H_OTHER] = "",
	[MSRP_H_TO_PATH] = "To-Path",
	[MSRP_H_FROM_PATH] = "From-Path",
	[MSRP_H_MESSAGE_ID] = "Message-ID",
	[MSRP_H_BYTE_RANGE] = "Byte-Range",
	[MSRP_H_SUCCESS_REPORT] = "Success-Report",
	[MSRP_H_FAILURE_REPORT] = "Failure-Report",
	[MSRP_H_STATUS] = "Status",
	[MSRP_H_CONTENT_TYPE] = "Content-Type",
	[MSRP_H_CONTENT_ID] = "Content-ID",
	[MSRP_H_CONTENT_DESCRIPTION] = "Content-Description",
	[MSRP_H_CONTENT_DISPOSITION] = "Content-Disposition",
	[MSRP_H_USE_PATH] = "Use-Path",
	[MSRP_H_WWW_AUTHENTICATE] = "WWW-Authenticate",
	[MSRP_H_AUTHORIZATION] = "Authorization",
	[MSRP_H_AUTHENTICATION_INFO] = "Authentication-Info",
	[MSRP_H_EXPIRES] = "Expires",
	[MSRP_H_MIN_EXPIRES] = "Min-Expires",
	[MSRP_H_MAX_EXPIRES] = "Max-Expires",
};

/* The same in lower case, padded so that 8-byte loads stay inside. */
static const char hlower[MSRP_H__COUNT][24] = {
	[MSRP_H_OTHER] = "",
	[MSRP_H_TO_PATH] = "to-path",
	[MSRP_H_FROM_PATH] = "from-path",
	[MSRP_H_MESSAGE_ID] = "message-id",
	[MSRP_H_BYTE_RANGE] = "byte-range",
	[MSRP_H_SUCCESS_REPORT] = "success-report",
	[MSRP_H_FAILURE_REPORT] = "failure-report",
	[MSRP_H_STATUS] = "status",
	[MSRP_H_CONTENT_TYPE] = "content-type",
	[MSRP_H_CONTENT_ID] = "content-id",
	[MSRP_H_CONTENT_DESCRIPTION] = "content-description",
	[MSRP_H_CONTENT_DISPOSITION] = "content-disposition",
	[MSRP_H_USE_PATH] = "use-path",
	[MSRP_H_WWW_AUTHENTICATE] = "www-authenticate",
	[MSRP_H_AUTHORIZATION] = "authorization",
	[MSRP_H_AUTHENTICATION_INFO] = "authentication-info",
	[MSRP_H_EXPIRES] = "expires",
	[MSRP_H_MIN_EXPIRES] = "min-expires",
	[MSRP_H_MAX_EXPIRES] = "max-expires",
};

/* 8 (4) bytes of <in> equal those of the lower-case name <lc>, letters in any case. In
 * <lc> a byte with bit 0x40 is a letter, the others are '-': the letters' case bit is
 * folded, '-' is compared as it is (so that no other byte passes for a letter or '-'). */
static int eq8(const char *in, const char *lc)
{
	uint64_t a, b;

	memcpy(&a, in, 8);
	memcpy(&b, lc, 8);
	return (a | ((b & 0x4040404040404040ull) >> 1)) == b;
}

static int eq4(const char *in, const char *lc)
{
	uint32_t a, b;

	memcpy(&a, in, 4);
	memcpy(&b, lc, 4);
	return (a | ((b & 0x40404040u) >> 1)) == b;
}

/* <in>[0..<n>) (n >= 4) is the known name <lc>, in any case. */
static int name_eq(const char *in, const char *lc, size_t n)
{
	size_t i = 0;

	if (n < 8)
		return eq4(in, lc) && eq4(in + n - 4, lc + n - 4);
	for (; i + 8 <= n; i += 8) {
		if (!eq8(in + i, lc + i))
			return 0;
	}
	return i == n || eq8(in + n - 8, lc + n - 8);
}

static int ci_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lower[(unsigned char)a[i]] != lower[(unsigned char)b[i]])
			return 0;
	}
	return 1;
}

/* The (at most two) candidates are found by length and one or two letters, then the whole
 * name is compared once. */
enum msrp_hid msrp_hdr_id(const char *name, size_t len)
{
	enum msrp_hid id = MSRP_H_OTHER;

	if (len < 6 || len > 19)
		return MSRP_H_OTHER;
	switch (len) {
	case 6:
		id = MSRP_H_STATUS;
		break;
	case 7:
		id = (name[0] | 0x20) == 't' ? MSRP_H_TO_PATH : MSRP_H_EXPIRES;
		break;
	case 8:
		id = MSRP_H_USE_PATH;
		break;
	case 9:
		id = MSRP_H_FROM_PATH;
		break;
	case 10:
		switch (name[0] | 0x20) {
		case 'm': id = MSRP_H_MESSAGE_ID; break;
		case 'b': id = MSRP_H_BYTE_RANGE; break;
		default:  id = MSRP_H_CONTENT_ID; break;
		}
		break;
	case 11:
		id = (name[1] | 0x20) == 'i' ? MSRP_H_MIN_EXPIRES : MSRP_H_MAX_EXPIRES;
		break;
	case 12:
		id = MSRP_H_CONTENT_TYPE;
		break;
	case 13:
		id = MSRP_H_AUTHORIZATION;
		break;
	case 14:
		id = (name[0] | 0x20) == 's' ? MSRP_H_SUCCESS_REPORT : MSRP_H_FAILURE_REPORT;
		break;
	case 16:
		id = MSRP_H_WWW_AUTHENTICATE;
		break;
	case 19:
		if ((name[0] | 0x20) == 'a')
			id = MSRP_H_AUTHENTICATION_INFO;
		else
			id = (name[9] | 0x20) == 'e' ? MSRP_H_CONTENT_DESCRIPTION
						      : MSRP_H_CONTENT_DISPOSITION;
		break;
	default:
		return MSRP_H_OTHER;
	}
	return name_eq(name, hlower[id], len) ? id : MSRP_H_OTHER;
}

const char *msrp_hdr_name(enum msrp_hid id)
{
	if ((unsigned)id >= MSRP_H__COUNT)
		return "";
	return hnames[id];
}

cm_slice msrp_hdr_get(const struct msrp_msg *m, enum msrp_hid id)
{
	int i;

	if ((unsigned)id >= MSRP_H__COUNT)
		return CM_SLICE_NULL;
	i = m->first[id];
	if (i < 0 || (unsigned)i >= m->nhdrs)
		return CM_SLICE_NULL;
	return m->hdrs[i].value;
}

cm_slice msrp_hdr_get_name(const struct msrp_msg *m, cm_slice name)
{
	for (unsigned i = 0; i < m->nhdrs && i < MSRP_MAX_HEADERS; i++) {
		const struct msrp_hdr *h = &m->hdrs[i];

		if (h->name.len == name.len && ci_eq(h->name.p, name.p, name.len))
			return h->value;
	}
	return CM_SLICE_NULL;
}

int msrp_hdr_ident(cm_slice v)
{
	if (v.len < 4 || v.len > MSRP_TID_MAX || !msrp_cis(v.p[0], MSRP_C_ALNUM))
		return -EINVAL;
	for (size_t i = 1; i < v.len; i++) {
		if (!msrp_cis(v.p[i], MSRP_C_IDENT))
			return -EINVAL;
	}
	return 0;
}

/* 1*DIGIT at *<i> of <v> into *<out>; -EINVAL without a digit, -ERANGE above <max>. */
static int digits(cm_slice v, size_t *i, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	size_t j = *i;

	if (j >= v.len || !msrp_cis(v.p[j], MSRP_C_DIGIT))
		return -EINVAL;
	for (; j < v.len && msrp_cis(v.p[j], MSRP_C_DIGIT); j++) {
		unsigned d = (unsigned)(v.p[j] - '0');

		if (n > (max - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*i = j;
	*out = n;
	return 0;
}

/* 1*DIGIT or "*" (-1). */
static int digits_or_star(cm_slice v, size_t *i, int64_t *out)
{
	uint64_t n;
	int rc;

	if (*i < v.len && v.p[*i] == '*') {
		(*i)++;
		*out = -1;
		return 0;
	}
	rc = digits(v, i, INT64_MAX, &n);
	if (rc == 0)
		*out = (int64_t)n;
	return rc;
}

int msrp_hdr_range(cm_slice v, struct msrp_range *out)
{
	struct msrp_range r;
	uint64_t start;
	size_t i = 0;
	int rc;

	if ((rc = digits(v, &i, INT64_MAX, &start)) < 0)
		return rc;
	if (i >= v.len || v.p[i++] != '-')
		return -EINVAL;
	if ((rc = digits_or_star(v, &i, &r.end)) < 0)
		return rc;
	if (i >= v.len || v.p[i++] != '/')
		return -EINVAL;
	if ((rc = digits_or_star(v, &i, &r.total)) < 0)
		return rc;
	if (i != v.len || start < 1)
		return -EINVAL;
	r.start = start;
	if (r.end >= 0 && (uint64_t)r.end + 1 < start)
		return -EINVAL;
	if (r.total >= 0 && r.end >= 0 && r.total < r.end)
		return -EINVAL;
	if (r.total >= 0 && r.end < 0 && (uint64_t)r.total + 1 < start)
		return -EINVAL;
	*out = r;
	return 0;
}

static int word_is(cm_slice v, const char *w)
{
	size_t n = strlen(w);

	return v.len == n && ci_eq(v.p, w, n);
}

static int report(cm_slice v, int partial_ok, enum msrp_report *out)
{
	if (!v.p) {
		*out = MSRP_REPORT_ABSENT;
		return 0;
	}
	if (word_is(v, "yes"))
		*out = MSRP_REPORT_YES;
	else if (word_is(v, "no"))
		*out = MSRP_REPORT_NO;
	else if (partial_ok && word_is(v, "partial"))
		*out = MSRP_REPORT_PARTIAL;
	else
		return -EINVAL;
	return 0;
}

int msrp_hdr_success_report(cm_slice v, enum msrp_report *out)
{
	return report(v, 0, out);
}

int msrp_hdr_failure_report(cm_slice v, enum msrp_report *out)
{
	return report(v, 1, out);
}

/* Exactly 3 digits at <p>. */
static int three_digits(const char *p, int *out)
{
	if (!msrp_cis(p[0], MSRP_C_DIGIT) || !msrp_cis(p[1], MSRP_C_DIGIT) ||
	    !msrp_cis(p[2], MSRP_C_DIGIT))
		return -EINVAL;
	*out = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	return 0;
}

int msrp_hdr_status(cm_slice v, struct msrp_status *out)
{
	struct msrp_status s;

	if (v.len < 7 || v.p[3] != ' ' || three_digits(v.p, &s.ns) < 0 ||
	    three_digits(v.p + 4, &s.code) < 0 || s.code < 100)
		return -EINVAL;
	s.comment = (cm_slice){ v.p + v.len, 0 };
	if (v.len > 7) {
		if (v.p[7] != ' ')
			return -EINVAL;
		for (size_t i = 8; i < v.len; i++) {
			if (!msrp_cis(v.p[i], MSRP_C_TEXT))
				return -EINVAL;
		}
		s.comment = (cm_slice){ v.p + 8, v.len - 8 };
	}
	*out = s;
	return 0;
}

int msrp_hdr_expires(cm_slice v, uint32_t *out)
{
	uint64_t n;
	size_t i = 0;
	int rc;

	if ((rc = digits(v, &i, UINT32_MAX, &n)) < 0)
		return rc;
	if (i != v.len)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

static size_t skip_ws(cm_slice v, size_t i)
{
	while (i < v.len && msrp_cis(v.p[i], MSRP_C_WS))
		i++;
	return i;
}

static size_t skip_token(cm_slice v, size_t i)
{
	while (i < v.len && msrp_cis(v.p[i], MSRP_C_TOKEN))
		i++;
	return i;
}

int msrp_ctype_param_next(cm_slice *rest, cm_slice *name, cm_slice *value)
{
	cm_slice v = *rest, n, val = CM_SLICE_NULL;
	size_t i = skip_ws(v, 0), j;

	if (i == v.len)
		return 0;
	j = skip_token(v, i);
	if (j == i)
		return -EINVAL;
	n = (cm_slice){ v.p + i, j - i };
	i = skip_ws(v, j);
	if (i < v.len && v.p[i] == '=') {
		i = skip_ws(v, i + 1);
		if (i < v.len && v.p[i] == '"') {
			j = ++i;
			for (; j < v.len && v.p[j] != '"'; j++) {
				if (v.p[j] == '\\') {
					/* qd-esc: a backslash escapes '\' or '"' only */
					if (j + 1 >= v.len || (v.p[j + 1] != '\\' && v.p[j + 1] != '"'))
						return -EINVAL;
					j++;
				} else if (!msrp_cis(v.p[j], MSRP_C_TEXT)) {
					return -EINVAL;
				}
			}
			if (j >= v.len)
				return -EINVAL;
			val = (cm_slice){ v.p + i, j - i };
			i = j + 1;
		} else {
			j = skip_token(v, i);
			if (j == i)
				return -EINVAL;
			val = (cm_slice){ v.p + i, j - i };
			i = j;
		}
	}
	i = skip_ws(v, i);
	if (i < v.len) {
		if (v.p[i] != ';')
			return -EINVAL;
		i = skip_ws(v, i + 1);
		if (i == v.len)
			return -EINVAL;             /* a trailing ';' */
	}
	*name = n;
	*value = val;
	*rest = (cm_slice){ v.p + i, v.len - i };
	return 1;
}

int msrp_hdr_ctype(cm_slice v, struct msrp_ctype *out)
{
	struct msrp_ctype ct;
	size_t i, j;
	int rc;

	j = skip_token(v, 0);
	if (j == 0 || j >= v.len || v.p[j] != '/')
		return -EINVAL;
	ct.type = (cm_slice){ v.p, j };
	i = j + 1;
	j = skip_token(v, i);
	if (j == i)
		return -EINVAL;
	ct.subtype = (cm_slice){ v.p + i, j - i };
	i = skip_ws(v, j);
	ct.params = (cm_slice){ v.p + v.len, 0 };
	if (i < v.len) {
		cm_slice rest, n, val;
		unsigned guard = 0;

		if (v.p[i] != ';')
			return -EINVAL;
		i = skip_ws(v, i + 1);
		ct.params = rest = (cm_slice){ v.p + i, v.len - i };
		if (rest.len == 0)
			return -EINVAL;
		/* each round takes at least one byte: bounded by the value's length */
		while ((rc = msrp_ctype_param_next(&rest, &n, &val)) == 1 && guard++ < v.len)
			;
		if (rc < 0)
			return rc;
	}
	*out = ct;
	return 0;
}

int msrp_path_next(cm_slice *rest, cm_slice *uri)
{
	cm_slice v = *rest;
	size_t i = skip_ws(v, 0), j = i;

	while (j < v.len && !msrp_cis(v.p[j], MSRP_C_WS))
		j++;
	if (j == i) {
		*rest = (cm_slice){ v.p ? v.p + v.len : NULL, 0 };
		return 0;
	}
	*uri = (cm_slice){ v.p + i, j - i };
	*rest = (cm_slice){ v.p + j, v.len - j };
	return 1;
}
