/* msrp_uri.c — MSRP URIs: parse (RFC 4975 §9, RFC 3986 §3.2), compare (§6.1), format,
 * authority keys. See msrp_uri.h for the contracts.
 *
 * The parser is one left-to-right pass over the input with character classes from a table;
 * every loop is bounded by the input length (and the IPv6 and port loops by their own
 * small maxima). Nothing is copied: the output is slices into the input. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "msrp/msrp_uri.h"

/* Character classes (RFC 3986 §2, RFC 4975 §9). */
#define UC_DIGIT  0x0001u      /* DIGIT */
#define UC_ALPHA  0x0002u      /* ALPHA */
#define UC_HEX    0x0004u      /* HEXDIG, both cases */
#define UC_UNRES  0x0008u      /* unreserved: ALPHA DIGIT - . _ ~ */
#define UC_SUBD   0x0010u      /* sub-delims: ! $ & ' ( ) * + , ; = */
#define UC_SID    0x0020u      /* session-id: unreserved + = / */
#define UC_TOKEN  0x0040u      /* token of URI-parameter (RFC 4975 §9) */
#define UC_HOST   0x0080u      /* a reg-name as rcsgw takes it: ALPHA DIGIT - . */
#define UC_USER   0x0100u      /* userinfo without pct-encoded: unreserved sub-delims : */
#define UC_ALNUM  (UC_DIGIT | UC_ALPHA)

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_HEX(c)   (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_UNRES(c) (IS_DIGIT(c) || IS_ALPHA(c) || (c) == '-' || (c) == '.' || (c) == '_' || \
		     (c) == '~')
#define IS_SUBD(c)  ((c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || \
		     (c) == ')' || (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' ||  \
		     (c) == '=')
/* token = 1*(%x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E) */
#define IS_TOKEN(c) ((c) == 0x21 || ((c) >= 0x23 && (c) <= 0x27) ||                       \
		     ((c) >= 0x2A && (c) <= 0x2B) || ((c) >= 0x2D && (c) <= 0x2E) ||       \
		     ((c) >= 0x30 && (c) <= 0x39) || ((c) >= 0x41 && (c) <= 0x5A) ||       \
		     ((c) >= 0x5E && (c) <= 0x7E))

#define UCLS(c)                                                                            \
	((IS_DIGIT(c) ? UC_DIGIT : 0u) | (IS_ALPHA(c) ? UC_ALPHA : 0u) |                   \
	 (IS_HEX(c) ? UC_HEX : 0u) | (IS_UNRES(c) ? UC_UNRES : 0u) |                       \
	 (IS_SUBD(c) ? UC_SUBD : 0u) |                                                     \
	 (IS_UNRES(c) || (c) == '+' || (c) == '=' || (c) == '/' ? UC_SID : 0u) |           \
	 (IS_TOKEN(c) ? UC_TOKEN : 0u) |                                                   \
	 (IS_DIGIT(c) || IS_ALPHA(c) || (c) == '-' || (c) == '.' ? UC_HOST : 0u) |         \
	 (IS_UNRES(c) || IS_SUBD(c) || (c) == ':' ? UC_USER : 0u))
#define UR4(b)  UCLS(b), UCLS((b) + 1), UCLS((b) + 2), UCLS((b) + 3)
#define UR16(b) UR4(b), UR4((b) + 4), UR4((b) + 8), UR4((b) + 12)
#define UR64(b) UR16(b), UR16((b) + 16), UR16((b) + 32), UR16((b) + 48)

static const uint16_t uri_cls[256] = { UR64(0), UR64(64), UR64(128), UR64(192) };

static inline unsigned cls(char c)
{
	return uri_cls[(unsigned char)c];
}

static inline unsigned char lower(char c)
{
	unsigned char u = (unsigned char)c;

	return (cls(c) & UC_ALPHA) ? (unsigned char)(u | 0x20) : u;
}

static inline int hexval(char c)
{
	if (IS_DIGIT(c))
		return c - '0';
	return (cls(c) & UC_HEX) ? (lower(c) - 'a' + 10) : -1;
}

static int slice_eq_nocase(cm_slice a, cm_slice b)
{
	if (a.len != b.len)
		return 0;
	for (size_t i = 0; i < a.len; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return 0;
	return 1;
}

/* Length of the run of characters of class <c> in p[0 .. n-1]. */
static size_t span(const char *p, size_t n, unsigned c)
{
	size_t i = 0;

	while (i < n && (cls(p[i]) & c))
		i++;
	return i;
}

/* IPv4address of RFC 3986 §3.2.2: four dec-octets, no leading zeros. <p>[0 .. <n>-1] must
 * be the address and nothing else. 0 and the address in <a>, or -1. */
static int ip4_parse(const char *p, size_t n, unsigned char a[4])
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0;
		size_t d = 0;

		if (k > 0) {
			if (i >= n || p[i] != '.')
				return -1;
			i++;
		}
		while (i < n && d < 3 && IS_DIGIT(p[i])) {
			v = v * 10 + (unsigned)(p[i] - '0');
			i++;
			d++;
		}
		if (d == 0 || v > 255 || (d > 1 && p[i - d] == '0'))
			return -1;
		a[k] = (unsigned char)v;
	}
	return i == n ? 0 : -1;
}

int msrp_uri_ip6_parse(cm_slice s, unsigned char addr[16])
{
	const char *p = s.p;
	size_t n = s.len, i = 0;
	uint16_t g[8];
	int ng = 0, dc = -1;   /* groups read; groups before "::", -1 when no "::" */

	/* the longest form: 6 groups of 4 and an IPv4 address of 15 */
	if (n < 2 || n > 45)
		return -EINVAL;
	if (p[0] == ':') {
		if (p[1] != ':')
			return -EINVAL;
		dc = 0;
		i = 2;
	}
	while (i < n) {
		size_t j = i;
		unsigned v = 0;

		while (j < n && j - i < 5 && (cls(p[j]) & UC_HEX)) {
			v = v * 16 + (unsigned)hexval(p[j]);
			j++;
		}
		if (j == i)
			return -EINVAL;
		if (j < n && p[j] == '.') {
			unsigned char a4[4];

			/* ls32 as an IPv4 address: the last 2 of 8 groups */
			if (ng > 6 || ip4_parse(p + i, n - i, a4) < 0)
				return -EINVAL;
			g[ng++] = (uint16_t)(a4[0] << 8 | a4[1]);
			g[ng++] = (uint16_t)(a4[2] << 8 | a4[3]);
			break;
		}
		if (j - i > 4 || ng == 8)
			return -EINVAL;
		g[ng++] = (uint16_t)v;
		if (j == n)
			break;
		if (p[j] != ':')
			return -EINVAL;
		j++;
		if (j < n && p[j] == ':') {
			if (dc >= 0)
				return -EINVAL;
			dc = ng;
			j++;
		} else if (j == n) {
			return -EINVAL;       /* a single trailing ':' */
		}
		i = j;
	}
	/* without "::" exactly 8 groups; "::" stands for at least one group */
	if (dc < 0 ? ng != 8 : ng > 7)
		return -EINVAL;
	int zeros = 8 - ng, o = 0;

	for (int k = 0; k < ng; k++) {
		if (k == dc)
			for (int z = 0; z < zeros; z++, o++)
				addr[2 * o] = addr[2 * o + 1] = 0;
		addr[2 * o] = (unsigned char)(g[k] >> 8);
		addr[2 * o + 1] = (unsigned char)g[k];
		o++;
	}
	if (dc == ng)
		for (int z = 0; z < zeros; z++, o++)
			addr[2 * o] = addr[2 * o + 1] = 0;
	return 0;
}

/* A DNS name as msrp_uri_parse() takes it (see msrp_uri.h). */
static int name_valid(const char *p, size_t n)
{
	size_t label = 0;      /* length of the current label */
	int all_digits = 1;    /* the current label has digits only */

	if (n == 0 || n > MSRP_URI_HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '.') {
			if (label == 0 || p[i - 1] == '-')
				return 0;
			label = 0;
			all_digits = 1;
			continue;
		}
		if (!(cls(c) & UC_HOST))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
		if (!IS_DIGIT(c))
			all_digits = 0;
	}
	return label > 0 && p[n - 1] != '-' && !all_digits;
}

/* userinfo = *( unreserved / pct-encoded / sub-delims / ":" ) */
static int userinfo_valid(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (cls(p[i]) & UC_USER)
			continue;
		if (p[i] != '%' || n - i < 3 || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
			return 0;
		i += 2;
	}
	return 1;
}

int msrp_uri_parse(cm_slice s, struct msrp_uri *out)
{
	const char *p = s.p;
	size_t n = s.len, i, k;

	memset(out, 0, sizeof(*out));
	if (n < 8)             /* "msrp://" + something */
		return -EINVAL;

	/* msrp-scheme "://", case-insensitive (RFC 3986 §3.1) */
	if (lower(p[0]) != 'm' || lower(p[1]) != 's' || lower(p[2]) != 'r' || lower(p[3]) != 'p')
		return -EINVAL;
	i = 4;
	if (lower(p[i]) == 's') {
		out->secure = 1;
		i++;
	}
	if (n - i < 3 || p[i] != ':' || p[i + 1] != '/' || p[i + 2] != '/')
		return -EINVAL;
	i += 3;

	/* [ userinfo "@" ]: no other part of an MSRP URI may hold '@' (neither host, port,
	 * session-id, transport nor token), so the first '@' ends the userinfo. */
	const char *at = memchr(p + i, '@', n - i);

	if (at) {
		k = (size_t)(at - (p + i));
		if (!userinfo_valid(p + i, k))
			return -EINVAL;
		out->userinfo = (cm_slice){ p + i, k };
		i += k + 1;
	}

	/* host */
	if (i < n && p[i] == '[') {
		const char *rb = memchr(p + i + 1, ']', n - i - 1);
		unsigned char a6[16];

		if (!rb)
			return -EINVAL;
		k = (size_t)(rb - (p + i + 1));
		out->host = (cm_slice){ p + i + 1, k };
		if (msrp_uri_ip6_parse(out->host, a6) < 0)
			return -EINVAL;
		out->host_type = MSRP_HOST_IPV6;
		i += k + 2;
	} else {
		unsigned char a4[4];

		k = span(p + i, n - i, UC_HOST);
		if (k == 0)
			return -EINVAL;
		out->host = (cm_slice){ p + i, k };
		if (ip4_parse(p + i, k, a4) == 0)
			out->host_type = MSRP_HOST_IPV4;
		else if (name_valid(p + i, k))
			out->host_type = MSRP_HOST_NAME;
		else
			return -EINVAL;
		i += k;
	}

	/* [ ":" port ], 1..65535 */
	if (i < n && p[i] == ':') {
		unsigned v = 0;

		i++;
		k = 0;
		while (i < n && k < 6 && IS_DIGIT(p[i])) {
			v = v * 10 + (unsigned)(p[i] - '0');
			i++;
			k++;
		}
		if (k == 0 || k > 5 || v == 0 || v > 65535)
			return -EINVAL;
		out->port = (uint16_t)v;
	}

	/* [ "/" session-id ] */
	if (i < n && p[i] == '/') {
		i++;
		k = span(p + i, n - i, UC_SID);
		if (k == 0)
			return -EINVAL;
		out->session_id = (cm_slice){ p + i, k };
		i += k;
	}

	/* ";" transport: mandatory (§9) */
	if (i >= n || p[i] != ';')
		return -EINVAL;
	i++;
	k = span(p + i, n - i, UC_ALNUM);
	if (k == 0 || k > MSRP_URI_TRANSPORT_MAX)
		return -EINVAL;
	out->transport_name = (cm_slice){ p + i, k };
	if (slice_eq_nocase(out->transport_name, CM_SLICE_LIT("tcp")))
		out->transport = MSRP_TP_TCP;
	else if (slice_eq_nocase(out->transport_name, CM_SLICE_LIT("ws")))
		out->transport = MSRP_TP_WS;
	else
		out->transport = MSRP_TP_OTHER;
	i += k;

	/* *( ";" URI-parameter ), URI-parameter = token [ "=" token ] */
	if (i < n)
		out->params = (cm_slice){ p + i, n - i };
	while (i < n) {
		if (p[i] != ';')
			return -EINVAL;
		i++;
		k = span(p + i, n - i, UC_TOKEN);
		if (k == 0)
			return -EINVAL;
		i += k;
		if (i < n && p[i] == '=') {
			i++;
			k = span(p + i, n - i, UC_TOKEN);
			if (k == 0)
				return -EINVAL;
			i += k;
		}
	}
	return 0;
}

int msrp_uri_equal(const struct msrp_uri *a, const struct msrp_uri *b)
{
	/* §6.1 rule 1: the scheme must match, case-insensitively (folded into <secure>). */
	if (!a->secure != !b->secure)
		return 0;

	/* §6.1 rule 2: the authority without its userinfo ("Userinfo parts are not
	 * considered"); explicit IP addresses compared as addresses, anything else as a
	 * case-insensitive string. */
	if (a->host_type != b->host_type)
		return 0;
	if (a->host_type == MSRP_HOST_IPV6) {
		unsigned char x[16], y[16];

		if (msrp_uri_ip6_parse(a->host, x) < 0 || msrp_uri_ip6_parse(b->host, y) < 0)
			return 0;
		if (memcmp(x, y, sizeof(x)) != 0)
			return 0;
	} else if (!slice_eq_nocase(a->host, b->host)) {
		/* IPv4: dec-octets have one spelling each, so the strings are the addresses */
		return 0;
	}

	/* §6.1 rule 3: an explicit port must match exactly, and never equals an absent one. */
	if (a->port != b->port)
		return 0;

	/* §6.1 rule 4: session-id case-sensitive; an absent one never equals a present one. */
	if (a->session_id.len != b->session_id.len ||
	    (a->session_id.len && memcmp(a->session_id.p, b->session_id.p, a->session_id.len)))
		return 0;

	/* §6.1 rule 5: transports compared case-insensitively; different ones never match. */
	return slice_eq_nocase(a->transport_name, b->transport_name);
}

/* snprintf-like output: <n> counts everything, only what fits in <len> - 1 is stored. */
struct wbuf {
	char *buf;
	size_t len;
	size_t n;
};

static void put(struct wbuf *o, const char *p, size_t n, int lowercase)
{
	for (size_t i = 0; i < n; i++, o->n++)
		if (o->n + 1 < o->len)
			o->buf[o->n] = lowercase ? (char)lower(p[i]) : p[i];
}

static void put_str(struct wbuf *o, const char *str)
{
	put(o, str, strlen(str), 0);
}

static void put_uint(struct wbuf *o, unsigned v)
{
	char d[10];
	size_t k = sizeof(d);

	do {
		d[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k > 0);
	put(o, d + k, sizeof(d) - k, 0);
}

static size_t out_end(struct wbuf *o)
{
	if (o->len > 0)
		o->buf[o->n < o->len ? o->n : o->len - 1] = '\0';
	return o->n;
}

/* The RFC 5952 text of <a>: lower-case hex without leading zeros, the longest run of two
 * or more zero groups (the first of equal runs) as "::", and ::ffff:a.b.c.d for
 * IPv4-mapped addresses (§5). */
static void put_ip6(struct wbuf *o, const unsigned char a[16])
{
	static const char hex[] = "0123456789abcdef";
	unsigned g[8];
	int best = -1, best_len = 0;

	for (int k = 0; k < 8; k++)
		g[k] = (unsigned)a[2 * k] << 8 | a[2 * k + 1];
	for (int k = 0; k < 8;) {
		int r = 0;

		while (k + r < 8 && g[k + r] == 0)
			r++;
		if (r > best_len) {
			best = k;
			best_len = r;
		}
		k += r ? r : 1;
	}
	if (best_len < 2) {
		best = -1;
		best_len = 0;
	}
	if (best == 0 && best_len == 5 && g[5] == 0xffff) {
		put_str(o, "::ffff:");
		for (int k = 12; k < 16; k++) {
			if (k > 12)
				put(o, ".", 1, 0);
			put_uint(o, a[k]);
		}
		return;
	}
	for (int k = 0; k < 8; k++) {
		if (k == best) {
			put_str(o, "::");
			k += best_len - 1;
			continue;
		}
		if (k > 0 && k != best + best_len)
			put(o, ":", 1, 0);
		char d[4];
		int nd = 0;

		for (int sh = 12; sh >= 0; sh -= 4)
			if (nd || (g[k] >> sh) & 0xf || sh == 0)
				d[nd++] = hex[(g[k] >> sh) & 0xf];
		put(o, d, (size_t)nd, 0);
	}
}

size_t msrp_uri_format(const struct msrp_uri *u, char *buf, size_t len)
{
	struct wbuf o = { buf, len, 0 };

	put_str(&o, u->secure ? "msrps://" : "msrp://");
	if (u->userinfo.len) {
		put(&o, u->userinfo.p, u->userinfo.len, 0);
		put(&o, "@", 1, 0);
	}
	if (u->host_type == MSRP_HOST_IPV6)
		put(&o, "[", 1, 0);
	put(&o, u->host.p, u->host.len, 0);
	if (u->host_type == MSRP_HOST_IPV6)
		put(&o, "]", 1, 0);
	if (u->port) {
		put(&o, ":", 1, 0);
		put_uint(&o, u->port);
	}
	if (u->session_id.len) {
		put(&o, "/", 1, 0);
		put(&o, u->session_id.p, u->session_id.len, 0);
	}
	put(&o, ";", 1, 0);
	put(&o, u->transport_name.p, u->transport_name.len, 0);
	put(&o, u->params.p, u->params.len, 0);
	return out_end(&o);
}

size_t msrp_uri_authority_key(const struct msrp_uri *u, char *buf, size_t len)
{
	struct wbuf o = { buf, len, 0 };
	unsigned char a6[16];

	put_str(&o, u->secure ? "msrps:" : "msrp:");
	if (u->host_type == MSRP_HOST_IPV6 && msrp_uri_ip6_parse(u->host, a6) == 0) {
		put(&o, "[", 1, 0);
		put_ip6(&o, a6);
		put(&o, "]", 1, 0);
	} else {
		put(&o, u->host.p, u->host.len, 1);
	}
	put(&o, ":", 1, 0);
	put_uint(&o, u->port ? u->port : MSRP_URI_DEFAULT_PORT);
	put(&o, ";", 1, 0);
	put(&o, u->transport_name.p, u->transport_name.len, 1);
	return out_end(&o);
}
