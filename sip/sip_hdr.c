/* sip_hdr.c — SIP header names and lazy header-value parsers (see sip_hdr.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "msrp/msrp_uri.h"
#include "sip/sip_hdr.h"

#define T  SIP_C_TOKEN
#define D  SIP_C_DIGIT
#define A  SIP_C_ALPHA
#define W  SIP_C_LWS
#define H  SIP_C_HEX
#define U  SIP_C_UNRES
#define C  SIP_C_CTL
#define P  SIP_C_PCHAR

/* Classes per byte, from the §25.1 ABNF (GNU range designators keep it readable). */
const uint8_t sip_ctab[256] = {
	[0x00 ... 0x08] = C, ['\t'] = C | W, ['\n'] = C | W, [0x0b ... 0x0c] = C,
	['\r'] = C | W, [0x0e ... 0x1f] = C,
	[' '] = W,
	['!'] = T | U | P, ['#'] = P, ['$'] = P, ['%'] = T | P, ['&'] = P, ['\''] = T | U | P,
	['('] = U | P, [')'] = U | P, ['*'] = T | U | P, ['+'] = T | P, ['-'] = T | U | P,
	['.'] = T | U | P, ['/'] = P,
	['0' ... '9'] = T | D | H | U | P,
	[':'] = P, ['='] = P, ['@'] = P,
	['A' ... 'F'] = T | A | H | U | P, ['G' ... 'Z'] = T | A | U | P,
	['['] = P, ['\\'] = P, [']'] = P, ['^'] = P, ['_'] = T | U | P, ['`'] = T | P,
	['a' ... 'f'] = T | A | H | U | P, ['g' ... 'z'] = T | A | U | P,
	['{'] = P, ['|'] = P, ['}'] = P, ['~'] = T | U | P,
	[0x7f] = C,
	[0x80 ... 0xff] = P,
};

#undef T
#undef D
#undef A
#undef W
#undef H
#undef U
#undef C
#undef P

/* ---- names -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	char compact;              /* 0: none */
	uint8_t len;               /* strlen(name) */
} hnames[SIP_H__COUNT] = {
	[SIP_H_OTHER] = { "", 0, sizeof("") - 1 },
	[SIP_H_VIA] = { "Via", 'v', sizeof("Via") - 1 },
	[SIP_H_FROM] = { "From", 'f', sizeof("From") - 1 },
	[SIP_H_TO] = { "To", 't', sizeof("To") - 1 },
	[SIP_H_CALL_ID] = { "Call-ID", 'i', sizeof("Call-ID") - 1 },
	[SIP_H_CSEQ] = { "CSeq", 0, sizeof("CSeq") - 1 },
	[SIP_H_CONTACT] = { "Contact", 'm', sizeof("Contact") - 1 },
	[SIP_H_MAX_FORWARDS] = { "Max-Forwards", 0, sizeof("Max-Forwards") - 1 },
	[SIP_H_CONTENT_LENGTH] = { "Content-Length", 'l', sizeof("Content-Length") - 1 },
	[SIP_H_CONTENT_TYPE] = { "Content-Type", 'c', sizeof("Content-Type") - 1 },
	[SIP_H_CONTENT_ENCODING] = { "Content-Encoding", 'e', sizeof("Content-Encoding") - 1 },
	[SIP_H_ROUTE] = { "Route", 0, sizeof("Route") - 1 },
	[SIP_H_RECORD_ROUTE] = { "Record-Route", 0, sizeof("Record-Route") - 1 },
	[SIP_H_EXPIRES] = { "Expires", 0, sizeof("Expires") - 1 },
	[SIP_H_MIN_EXPIRES] = { "Min-Expires", 0, sizeof("Min-Expires") - 1 },
	[SIP_H_ALLOW] = { "Allow", 0, sizeof("Allow") - 1 },
	[SIP_H_SUPPORTED] = { "Supported", 'k', sizeof("Supported") - 1 },
	[SIP_H_REQUIRE] = { "Require", 0, sizeof("Require") - 1 },
	[SIP_H_PROXY_REQUIRE] = { "Proxy-Require", 0, sizeof("Proxy-Require") - 1 },
	[SIP_H_UNSUPPORTED] = { "Unsupported", 0, sizeof("Unsupported") - 1 },
	[SIP_H_WWW_AUTHENTICATE] = { "WWW-Authenticate", 0, sizeof("WWW-Authenticate") - 1 },
	[SIP_H_PROXY_AUTHENTICATE] = { "Proxy-Authenticate", 0, sizeof("Proxy-Authenticate") - 1 },
	[SIP_H_AUTHORIZATION] = { "Authorization", 0, sizeof("Authorization") - 1 },
	[SIP_H_PROXY_AUTHORIZATION] = { "Proxy-Authorization", 0, sizeof("Proxy-Authorization") - 1 },
	[SIP_H_AUTHENTICATION_INFO] = { "Authentication-Info", 0, sizeof("Authentication-Info") - 1 },
	[SIP_H_SUBJECT] = { "Subject", 's', sizeof("Subject") - 1 },
	[SIP_H_USER_AGENT] = { "User-Agent", 0, sizeof("User-Agent") - 1 },
	[SIP_H_SERVER] = { "Server", 0, sizeof("Server") - 1 },
	[SIP_H_ACCEPT] = { "Accept", 0, sizeof("Accept") - 1 },
	[SIP_H_RETRY_AFTER] = { "Retry-After", 0, sizeof("Retry-After") - 1 },
	[SIP_H_EVENT] = { "Event", 'o', sizeof("Event") - 1 },
	[SIP_H_ALLOW_EVENTS] = { "Allow-Events", 'u', sizeof("Allow-Events") - 1 },
	[SIP_H_SUBSCRIPTION_STATE] = { "Subscription-State", 0, sizeof("Subscription-State") - 1 },
	[SIP_H_REFER_TO] = { "Refer-To", 'r', sizeof("Refer-To") - 1 },
	[SIP_H_REFERRED_BY] = { "Referred-By", 'b', sizeof("Referred-By") - 1 },
	[SIP_H_ACCEPT_CONTACT] = { "Accept-Contact", 'a', sizeof("Accept-Contact") - 1 },
	[SIP_H_REJECT_CONTACT] = { "Reject-Contact", 'j', sizeof("Reject-Contact") - 1 },
	[SIP_H_REQUEST_DISPOSITION] = { "Request-Disposition", 'd', sizeof("Request-Disposition") - 1 },
	[SIP_H_SESSION_EXPIRES] = { "Session-Expires", 'x', sizeof("Session-Expires") - 1 },
	[SIP_H_IDENTITY] = { "Identity", 'y', sizeof("Identity") - 1 },
	[SIP_H_IDENTITY_INFO] = { "Identity-Info", 'n', sizeof("Identity-Info") - 1 },
	[SIP_H_PATH] = { "Path", 0, sizeof("Path") - 1 },
	[SIP_H_P_ASSERTED_IDENTITY] = { "P-Asserted-Identity", 0, sizeof("P-Asserted-Identity") - 1 },
};

enum sip_hid sip_hdr_id(const char *name, size_t len)
{
	if (len == 1) {
		char c = (char)(name[0] | 0x20);

		for (unsigned i = 1; i < SIP_H__COUNT; i++)
			if (hnames[i].compact == c)
				return (enum sip_hid)i;
		return SIP_H_OTHER;
	}
	for (unsigned i = 1; i < SIP_H__COUNT; i++)
		if (hnames[i].len == len && strncasecmp(hnames[i].name, name, len) == 0)
			return (enum sip_hid)i;
	return SIP_H_OTHER;
}

const char *sip_hdr_name(enum sip_hid id)
{
	return (unsigned)id < SIP_H__COUNT ? hnames[id].name : "";
}

static const char *const mnames[SIP_M__COUNT] = {
	[SIP_M_NONE] = "", [SIP_M_INVITE] = "INVITE", [SIP_M_ACK] = "ACK", [SIP_M_BYE] = "BYE",
	[SIP_M_CANCEL] = "CANCEL", [SIP_M_OPTIONS] = "OPTIONS", [SIP_M_REGISTER] = "REGISTER",
	[SIP_M_MESSAGE] = "MESSAGE", [SIP_M_INFO] = "INFO", [SIP_M_PRACK] = "PRACK",
	[SIP_M_UPDATE] = "UPDATE", [SIP_M_SUBSCRIBE] = "SUBSCRIBE", [SIP_M_NOTIFY] = "NOTIFY",
	[SIP_M_REFER] = "REFER", [SIP_M_PUBLISH] = "PUBLISH", [SIP_M_OTHER] = "",
};

enum sip_method sip_method_of(const char *s, size_t n)
{
	for (unsigned i = SIP_M_INVITE; i < SIP_M_OTHER; i++)
		if (strlen(mnames[i]) == n && memcmp(mnames[i], s, n) == 0)
			return (enum sip_method)i;
	return SIP_M_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
	return (unsigned)m < SIP_M__COUNT ? mnames[m] : "";
}

/* ---- finding headers ------------------------------------------------------------------ */

cm_slice sip_msg_hdr(const struct sip_msg *m, enum sip_hid id)
{
	if ((unsigned)id >= SIP_H__COUNT || m->first[id] < 0)
		return CM_SLICE_NULL;
	return m->hdrs[m->first[id]].value;
}

cm_slice sip_msg_hdr_name(const struct sip_msg *m, cm_slice name)
{
	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		if (h->name.len == name.len && strncasecmp(h->name.p, name.p, name.len) == 0)
			return h->value;
	}
	return CM_SLICE_NULL;
}

/* ---- small scanners ------------------------------------------------------------------- */

static const char *skip_lws(const char *s, const char *e)
{
	while (s < e && sip_cis(*s, SIP_C_LWS))
		s++;
	return s;
}

static const char *trim_lws(const char *s, const char *e)
{
	while (e > s && sip_cis(e[-1], SIP_C_LWS))
		e--;
	return e;
}

static const char *skip_class(const char *s, const char *e, unsigned cls)
{
	while (s < e && sip_cis(*s, cls))
		s++;
	return s;
}

/* The end of the quoted-string opening at <s> (the byte after its closing quote), NULL
 * when it does not close. */
static const char *quoted_end(const char *s, const char *e)
{
	for (s++; s < e; s++) {
		if (*s == '"')
			return s + 1;
		if (*s == '\\') {
			if (++s == e)
				return NULL;
		}
	}
	return NULL;
}

static int slice_ieq(cm_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static cm_slice mk(const char *s, const char *e)
{
	return (cm_slice){ s, (size_t)(e - s) };
}

/* ---- lists ---------------------------------------------------------------------------- */

int sip_list_next(cm_slice *rest, cm_slice *elem)
{
	const char *s = rest->p, *e = s ? s + rest->len : s;

	for (;;) {
		const char *q, *b;

		s = skip_lws(s, e);
		while (s < e && *s == ',')
			s = skip_lws(s + 1, e);
		if (s == e) {
			*rest = mk(e, e);
			return 0;
		}
		/* each round moves past one byte, a quoted-string or a <...> */
		for (q = s; q < e && *q != ',';) {
			if (*q == '"') {
				if (!(q = quoted_end(q, e)))
					return -EINVAL;
			} else if (*q == '<') {
				const char *gt = memchr(q, '>', (size_t)(e - q));

				if (!gt)
					return -EINVAL;
				q = gt + 1;
			} else {
				q++;
			}
		}
		b = trim_lws(s, q);
		*rest = mk(q, e);
		if (b > s) {
			*elem = mk(s, b);
			return 1;
		}
		s = q;
	}
}

void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *m, enum sip_hid id)
{
	it->m = m;
	it->id = id;
	it->idx = (unsigned)id < SIP_H__COUNT && m->first[id] >= 0 ? (unsigned)m->first[id]
								    : m->nhdrs;
	it->rest = CM_SLICE_NULL;
}

int sip_hdr_iter_next(struct sip_hdr_iter *it, cm_slice *elem)
{
	for (;;) {
		int r = sip_list_next(&it->rest, elem);

		if (r != 0)
			return r;
		while (it->idx < it->m->nhdrs && it->m->hdrs[it->idx].id != it->id)
			it->idx++;
		if (it->idx >= it->m->nhdrs)
			return 0;
		it->rest = it->m->hdrs[it->idx++].value;
	}
}

/* ---- parameters ------------------------------------------------------------------------- */

int sip_param_next(cm_slice *rest, cm_slice *name, cm_slice *value)
{
	const char *s = rest->p, *e = s ? s + rest->len : s, *n0, *v0;

	s = skip_lws(s, e);
	if (s == e)
		return 0;
	n0 = s;
	s = skip_class(s, e, SIP_C_TOKEN | SIP_C_UNRES);
	if (s == n0)
		return -EINVAL;
	*name = mk(n0, s);
	*value = CM_SLICE_NULL;
	s = skip_lws(s, e);
	if (s < e && *s == '=') {
		s = skip_lws(s + 1, e);
		v0 = s;
		if (s < e && *s == '"') {
			if (!(s = quoted_end(s, e)))
				return -EINVAL;
		} else {
			s = skip_class(s, e, SIP_C_PCHAR);
			if (s == v0)
				return -EINVAL;
		}
		*value = mk(v0, s);
		s = skip_lws(s, e);
	}
	if (s < e) {
		if (*s != ';')
			return -EINVAL;
		s++;
		if (skip_lws(s, e) == e)
			return -EINVAL;       /* a ';' with nothing after it */
	}
	*rest = mk(s, e);
	return 1;
}

/* ---- URIs ----------------------------------------------------------------------------- */

/* 1 when <s>[0..<n>) is all of class <cls> or %HH escapes. */
static int escaped_run(const char *s, const char *e, unsigned cls, const char *extra)
{
	while (s < e) {
		if (*s == '%') {
			if (e - s < 3 || !sip_cis(s[1], SIP_C_HEX) || !sip_cis(s[2], SIP_C_HEX))
				return 0;
			s += 3;
		} else if (sip_cis(*s, cls) || (*s && strchr(extra, *s))) {
			s++;
		} else {
			return 0;
		}
	}
	return 1;
}

static int is_ipv4(const char *s, const char *e)
{
	int parts = 0;

	while (s < e && parts < 4) {
		const char *d = s;
		unsigned v = 0;

		while (s < e && sip_cis(*s, SIP_C_DIGIT) && s - d < 3)
			v = v * 10 + (unsigned)(*s++ - '0');
		if (s == d || v > 255 || (s < e && *s != '.'))
			return 0;
		parts++;
		if (s < e && ++s == e)
			return 0;
	}
	return parts == 4 && s == e;
}

/* host = hostname / IPv4address / IPv6reference. */
static int parse_host(const char *s, const char *e, enum sip_host_type *type)
{
	if (s == e)
		return -EINVAL;
	if (*s == '[') {
		unsigned char a[16];

		if (e - s < 3 || e[-1] != ']' || msrp_uri_ip6_parse(mk(s + 1, e - 1), a) < 0)
			return -EINVAL;
		*type = SIP_HOST_IPV6;
		return 0;
	}
	if (is_ipv4(s, e)) {
		*type = SIP_HOST_IPV4;
		return 0;
	}
	/* hostname: labels of alphanum and '-', a trailing dot allowed (§25.1) */
	for (const char *l = s; l < e;) {
		const char *q = l;

		while (q < e && (sip_cis(*q, SIP_C_ALPHA | SIP_C_DIGIT) || *q == '-'))
			q++;
		if (q == l || *l == '-' || q[-1] == '-')
			return -EINVAL;
		if (q < e && *q != '.')
			return -EINVAL;
		l = q < e ? q + 1 : q;
	}
	*type = SIP_HOST_NAME;
	return 0;
}

static int parse_port(const char *s, const char *e, uint16_t *port)
{
	uint32_t v = 0;

	if (s == e || e - s > 5)
		return -EINVAL;
	for (; s < e; s++) {
		if (!sip_cis(*s, SIP_C_DIGIT))
			return -EINVAL;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* ttl = 1*3DIGIT, 0..255. */
static int parse_ttl(cm_slice v, int *ttl)
{
	uint32_t t;

	if (!v.p || v.len > 3 || sip_uint_parse(v, 255, &t) < 0)
		return -EINVAL;
	*ttl = (int)t;
	return 0;
}

/* uri-parameters of a sip/sips/tel URI, checked and the well-known ones set apart. */
static int uri_params(struct sip_uri *u)
{
	cm_slice rest = u->params, n, v;
	int r;

	if (!rest.p)
		return 0;
	if (rest.len == 0)
		return -EINVAL;
	for (unsigned i = 0; (r = sip_param_next(&rest, &n, &v)) == 1; i++) {
		if (i >= 64)
			return -EINVAL;
		if (v.p && (v.len == 0 || !escaped_run(v.p, v.p + v.len, SIP_C_UNRES, "[]/:&+$")))
			return -EINVAL;
		if (slice_ieq(n, "transport"))
			u->transport = v;
		else if (slice_ieq(n, "maddr"))
			u->maddr = v;
		else if (slice_ieq(n, "user"))
			u->user_param = v;
		else if (slice_ieq(n, "method"))
			u->method = v;
		else if (slice_ieq(n, "lr"))
			u->lr = 1;
		else if (slice_ieq(n, "ttl") && parse_ttl(v, &u->ttl) < 0)
			return -EINVAL;
		if ((slice_ieq(n, "transport") || slice_ieq(n, "maddr") || slice_ieq(n, "user") ||
		     slice_ieq(n, "method")) && !v.p)
			return -EINVAL;
	}
	return r;
}

/* headers = "?" header *( "&" header ), header = hname "=" hvalue. */
static int uri_headers(cm_slice h)
{
	const char *s = h.p, *e = s + h.len;

	if (s == e)
		return -EINVAL;
	while (s < e) {
		const char *amp = memchr(s, '&', (size_t)(e - s)), *end = amp ? amp : e;
		const char *eq = memchr(s, '=', (size_t)(end - s));

		if (!eq || eq == s || !escaped_run(s, eq, SIP_C_UNRES, "[]/?:+$") ||
		    !escaped_run(eq + 1, end, SIP_C_UNRES, "[]/?:+$"))
			return -EINVAL;
		if (amp && amp + 1 == e)
			return -EINVAL;
		s = amp ? amp + 1 : e;
	}
	return 0;
}

static int tel_uri(const char *s, const char *e, struct sip_uri *u)
{
	const char *semi = memchr(s, ';', (size_t)(e - s)), *ne = semi ? semi : e;

	if (s == ne)
		return -EINVAL;
	for (const char *q = s; q < ne; q++)
		if (!sip_cis(*q, SIP_C_HEX) && !strchr("*#+-.()pPwW", *q))
			return -EINVAL;
	u->user = mk(s, ne);
	if (semi)
		u->params = mk(semi + 1, e);
	return uri_params(u);
}

int sip_uri_parse(cm_slice str, struct sip_uri *u)
{
	const char *s = str.p, *e = s ? s + str.len : s, *colon, *at, *h, *he, *q;

	memset(u, 0, sizeof(*u));
	u->ttl = -1;
	if (!s || str.len == 0)
		return -EINVAL;
	colon = memchr(s, ':', (size_t)(e - s));
	if (!colon)
		return -EINVAL;
	if (slice_ieq(mk(s, colon), "sip"))
		u->scheme = SIP_SCHEME_SIP;
	else if (slice_ieq(mk(s, colon), "sips"))
		u->scheme = SIP_SCHEME_SIPS;
	else if (slice_ieq(mk(s, colon), "tel")) {
		u->scheme = SIP_SCHEME_TEL;
		return tel_uri(colon + 1, e, u);
	} else
		return -EINVAL;
	s = colon + 1;
	at = memchr(s, '@', (size_t)(e - s));
	if (at) {
		/* userinfo: user [":" password] "@"; no '@' in it unescaped */
		const char *pc = memchr(s, ':', (size_t)(at - s));
		const char *ue = pc ? pc : at;

		if (ue == s || !escaped_run(s, ue, SIP_C_UNRES, "&=+$,;?/"))
			return -EINVAL;
		if (pc && !escaped_run(pc + 1, at, SIP_C_UNRES, "&=+$,"))
			return -EINVAL;
		u->user = mk(s, ue);
		if (pc)
			u->password = mk(pc + 1, at);
		s = at + 1;
	}
	/* hostport, then ";params", then "?headers" */
	h = s;
	if (s < e && *s == '[') {
		const char *rb = memchr(s, ']', (size_t)(e - s));

		if (!rb)
			return -EINVAL;
		he = rb + 1;
	} else {
		for (he = s; he < e && *he != ':' && *he != ';' && *he != '?'; he++)
			;
	}
	if (parse_host(h, he, &u->host_type) < 0)
		return -EINVAL;
	u->host = mk(h, he);
	q = he;
	if (q < e && *q == ':') {
		const char *pe = q + 1;

		while (pe < e && *pe != ';' && *pe != '?')
			pe++;
		if (parse_port(q + 1, pe, &u->port) < 0)
			return -EINVAL;
		q = pe;
	}
	if (q < e && *q == ';') {
		const char *qm = memchr(q, '?', (size_t)(e - q));

		u->params = mk(q + 1, qm ? qm : e);
		q = qm ? qm : e;
	}
	if (q < e) {
		if (*q != '?')
			return -EINVAL;
		u->headers = mk(q + 1, e);
		if (uri_headers(u->headers) < 0)
			return -EINVAL;
	}
	return uri_params(u);
}

/* ---- name-addr / addr-spec ----------------------------------------------------------- */

/* The params after an address: [ LWS ] *( ";" param ), known ones set apart. */
static int addr_params(const char *s, const char *e, struct sip_addr *a)
{
	cm_slice rest, n, v;
	int r;

	s = skip_lws(s, e);
	if (s == e)
		return 0;
	if (*s != ';')
		return -EINVAL;
	a->params = rest = mk(s + 1, e);
	if (skip_lws(rest.p, e) == e)
		return -EINVAL;
	for (unsigned i = 0; (r = sip_param_next(&rest, &n, &v)) == 1; i++) {
		if (i >= 64)
			return -EINVAL;
		if (slice_ieq(n, "tag")) {
			if (!v.p || a->tag.p || skip_class(v.p, v.p + v.len, SIP_C_TOKEN) != v.p + v.len)
				return -EINVAL;
			a->tag = v;
		} else if (slice_ieq(n, "expires")) {
			a->expires = v;
		} else if (slice_ieq(n, "q")) {
			a->q = v;
		}
	}
	return r;
}

int sip_addr_parse(cm_slice v, struct sip_addr *a)
{
	const char *s = v.p, *e = s ? s + v.len : s, *q;

	memset(a, 0, sizeof(*a));
	s = skip_lws(s, e);
	e = trim_lws(s, e);
	if (s == e)
		return -EINVAL;
	if (*s == '*') {
		a->star = 1;
		return skip_lws(s + 1, e) == e ? 0 : addr_params(s + 1, e, a);
	}
	/* name-addr when a '<' comes after a quoted-string or tokens and blanks */
	q = s;
	if (*q == '"') {
		if (!(q = quoted_end(q, e)))
			return -EINVAL;
		a->display = mk(s + 1, q - 1);
		q = skip_lws(q, e);
		if (q == e || *q != '<')
			return -EINVAL;
	} else {
		while (q < e && (sip_cis(*q, SIP_C_TOKEN) || sip_cis(*q, SIP_C_LWS)))
			q++;
		if (q < e && *q == '<') {
			if (q > s)
				a->display = mk(s, trim_lws(s, q));
		} else {
			q = NULL;
		}
	}
	if (q) {
		const char *gt = memchr(q, '>', (size_t)(e - q));
		const char *u0 = q + 1;

		if (!gt || gt == u0 || !memchr(u0, ':', (size_t)(gt - u0)))
			return -EINVAL;
		for (const char *c = u0; c < gt; c++)
			if (sip_cis(*c, SIP_C_LWS | SIP_C_CTL) || *c == '<' || *c == '"')
				return -EINVAL;
		a->uri = mk(u0, gt);
		return addr_params(gt + 1, e, a);
	}
	/* addr-spec: the URI ends at ';' or a blank; it has a scheme */
	for (q = s; q < e && *q != ';' && !sip_cis(*q, SIP_C_LWS); q++)
		if (sip_cis(*q, SIP_C_CTL) || *q == '<' || *q == '>' || *q == '"' || *q == ',')
			return -EINVAL;
	if (!memchr(s, ':', (size_t)(q - s)) || !sip_cis(*s, SIP_C_ALPHA))
		return -EINVAL;
	a->uri = mk(s, q);
	return addr_params(q, e, a);
}

/* ---- Via ------------------------------------------------------------------------------ */

/* A token at <*s>, with LWS before it; *<s> moves past it. */
static int take_token(const char **s, const char *e, cm_slice *tok)
{
	const char *t = skip_lws(*s, e), *q = skip_class(t, e, SIP_C_TOKEN);

	if (q == t)
		return -EINVAL;
	*tok = mk(t, q);
	*s = q;
	return 0;
}

static int take_char(const char **s, const char *e, char c)
{
	const char *t = skip_lws(*s, e);

	if (t == e || *t != c)
		return -EINVAL;
	*s = t + 1;
	return 0;
}

int sip_via_parse(cm_slice elem, struct sip_via *out)
{
	const char *s = elem.p, *e = s ? s + elem.len : s, *h, *he;
	struct sip_via v;
	cm_slice rest, n, pv;
	int r;

	memset(&v, 0, sizeof(v));
	v.ttl = -1;
	v.rport_value = -1;
	if (take_token(&s, e, &v.proto_name) < 0 || take_char(&s, e, '/') < 0 ||
	    take_token(&s, e, &v.proto_version) < 0 || take_char(&s, e, '/') < 0 ||
	    take_token(&s, e, &v.transport) < 0)
		return -EINVAL;
	if (s == e || !sip_cis(*s, SIP_C_LWS))
		return -EINVAL;
	h = s = skip_lws(s, e);
	if (s < e && *s == '[') {
		const char *rb = memchr(s, ']', (size_t)(e - s));

		if (!rb)
			return -EINVAL;
		he = rb + 1;
	} else {
		he = s;
		while (he < e && (sip_cis(*he, SIP_C_ALPHA | SIP_C_DIGIT) || *he == '-' || *he == '.'))
			he++;
	}
	if (parse_host(h, he, &v.host_type) < 0)
		return -EINVAL;
	v.host = mk(h, he);
	s = skip_lws(he, e);
	if (s < e && *s == ':') {
		const char *p0 = skip_lws(s + 1, e), *pe = skip_class(p0, e, SIP_C_DIGIT);

		if (parse_port(p0, pe, &v.port) < 0)
			return -EINVAL;
		s = skip_lws(pe, e);
	}
	if (s < e) {
		if (*s != ';')
			return -EINVAL;
		v.params = rest = mk(s + 1, e);
		if (skip_lws(rest.p, e) == e)
			return -EINVAL;
		for (unsigned i = 0; (r = sip_param_next(&rest, &n, &pv)) == 1; i++) {
			if (i >= 64)
				return -EINVAL;
			if (slice_ieq(n, "branch")) {
				if (!pv.p || skip_class(pv.p, pv.p + pv.len, SIP_C_TOKEN) != pv.p + pv.len)
					return -EINVAL;
				v.branch = pv;
			} else if (slice_ieq(n, "received")) {
				enum sip_host_type t;
				const char *a = pv.p, *ae = a ? a + pv.len : a;

				if (!pv.p || (parse_host(a, ae, &t) < 0 &&
					      !(msrp_uri_ip6_parse(pv, (unsigned char[16]){ 0 }) == 0)))
					return -EINVAL;
				v.received = pv;
			} else if (slice_ieq(n, "maddr")) {
				if (!pv.p)
					return -EINVAL;
				v.maddr = pv;
			} else if (slice_ieq(n, "ttl")) {
				if (parse_ttl(pv, &v.ttl) < 0)
					return -EINVAL;
			} else if (slice_ieq(n, "rport")) {
				uint32_t port;

				v.rport = 1;
				if (pv.p) {
					if (sip_uint_parse(pv, 65535, &port) < 0)
						return -EINVAL;
					v.rport_value = (int32_t)port;
				}
			}
		}
		if (r < 0)
			return r;
	}
	*out = v;
	return 0;
}

/* ---- small values ---------------------------------------------------------------------- */

int sip_uint_parse(cm_slice v, uint32_t max, uint32_t *out)
{
	const char *s = v.p, *e = s ? s + v.len : s;
	uint64_t n = 0;

	s = skip_lws(s, e);
	e = trim_lws(s, e);
	if (s == e)
		return -EINVAL;
	for (; s < e; s++) {
		if (!sip_cis(*s, SIP_C_DIGIT))
			return -EINVAL;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > max)
			return -ERANGE;
	}
	*out = (uint32_t)n;
	return 0;
}

int sip_cseq_parse(cm_slice v, struct sip_cseq *out)
{
	const char *s = v.p, *e = s ? s + v.len : s, *d;
	cm_slice num, m;
	uint32_t seq;
	int r;

	s = skip_lws(s, e);
	d = skip_class(s, e, SIP_C_DIGIT);
	num = mk(s, d);
	if (d == s || d == e || !sip_cis(*d, SIP_C_LWS))
		return -EINVAL;
	if ((r = sip_uint_parse(num, 0x7fffffffu, &seq)) < 0)
		return r;
	if (take_token(&d, e, &m) < 0 || skip_lws(d, e) != e)
		return -EINVAL;
	out->seq = seq;
	out->method_name = m;
	out->method = sip_method_of(m.p, m.len);
	return 0;
}

int sip_callid_parse(cm_slice v, cm_slice *out)
{
	const char *s = v.p, *e = s ? s + v.len : s;
	int ats = 0;

	s = skip_lws(s, e);
	e = trim_lws(s, e);
	if (s == e)
		return -EINVAL;
	for (const char *q = s; q < e; q++) {
		/* word: token chars and ( ) < > : \ " / [ ] ? { } */
		if (*q == '@') {
			if (++ats > 1 || q == s || q + 1 == e)
				return -EINVAL;
		} else if (!sip_cis(*q, SIP_C_TOKEN) && !strchr("()<>:\\\"/[]?{}", *q)) {
			return -EINVAL;
		}
	}
	*out = mk(s, e);
	return 0;
}

int sip_ctype_parse(cm_slice v, struct sip_ctype *out)
{
	const char *s = v.p, *e = s ? s + v.len : s;
	cm_slice type, sub, rest = CM_SLICE_NULL, n, pv;
	int r;

	if (take_token(&s, e, &type) < 0 || take_char(&s, e, '/') < 0 ||
	    take_token(&s, e, &sub) < 0)
		return -EINVAL;
	s = skip_lws(s, e);
	if (s < e) {
		if (*s != ';')
			return -EINVAL;
		rest = mk(s + 1, e);
		out->params = rest;
		if (skip_lws(rest.p, e) == e)
			return -EINVAL;
		for (unsigned i = 0; (r = sip_param_next(&rest, &n, &pv)) == 1; i++)
			if (i >= 64 || !pv.p)
				return -EINVAL;
		if (r < 0)
			return r;
	} else {
		out->params = CM_SLICE_NULL;
	}
	out->type = type;
	out->subtype = sub;
	return 0;
}

int sip_token_next(cm_slice *rest, cm_slice *tok)
{
	cm_slice el;
	int r = sip_list_next(rest, &el);

	if (r <= 0)
		return r;
	if (skip_class(el.p, el.p + el.len, SIP_C_TOKEN) != el.p + el.len)
		return -EINVAL;
	*tok = el;
	return 1;
}

int sip_auth_parse(cm_slice v, struct msrp_auth_params *out)
{
	if (!v.p || memchr(v.p, '\r', v.len) || memchr(v.p, '\n', v.len))
		return -EINVAL;
	return msrp_auth_parse(v, out);
}
