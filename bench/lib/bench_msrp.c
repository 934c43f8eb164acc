/* bench_msrp.c — frame splitting, header look-up and Digest AUTH for the load generator. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/md5.h>

#include "bench/lib/bench_msrp.h"

static const char hexd[] = "0123456789abcdef";

/* hex_pair[b] = the two digits of byte b; hex_val[c] = digit c's value, or 0xff. */
static char hex_pair[256][2];
static uint8_t hex_val[256];

static void __attribute__((constructor)) hex_tables(void)
{
	memset(hex_val, 0xff, sizeof(hex_val));
	for (unsigned i = 0; i < 256; i++) {
		hex_pair[i][0] = hexd[i >> 4];
		hex_pair[i][1] = hexd[i & 15];
	}
	for (unsigned i = 0; i < 16; i++) {
		hex_val[(unsigned char)hexd[i]] = (uint8_t)i;
		if (i >= 10)
			hex_val[(unsigned char)("ABCDEF"[i - 10])] = (uint8_t)i;
	}
}

void bm_put_hex(char *d, uint64_t v, unsigned n)
{
	if (n & 1) {
		d[--n] = hexd[v & 15];
		v >>= 4;
	}
	while (n) {
		n -= 2;
		memcpy(d + n, hex_pair[v & 255], 2);
		v >>= 8;
	}
}

int bm_get_hex(const char *s, unsigned n, uint64_t *out)
{
	uint64_t v = 0;
	uint8_t bad = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t d = hex_val[(unsigned char)s[i]];
		bad |= d;
		v = v << 4 | (d & 15);
	}
	if (bad & 0xf0)
		return -1;
	*out = v;
	return 0;
}

/* Is there an end-line for <tid> at <q> (which starts with "-------")? Its length, 0 when
 * more bytes are needed, -1 when it is not one. */
static int end_line(const char *q, size_t avail, const char *tid, uint32_t tid_len, char *flag)
{
	size_t need = 7 + tid_len + 3;
	if (avail < need)
		return memcmp(q, "-------", avail < 7 ? avail : 7) == 0 ? 0 : -1;
	if (memcmp(q, "-------", 7) != 0 || memcmp(q + 7, tid, tid_len) != 0)
		return -1;
	char fl = q[7 + tid_len];
	if ((fl != '$' && fl != '+' && fl != '#') || q[8 + tid_len] != '\r' ||
	    q[9 + tid_len] != '\n')
		return -1;
	*flag = fl;
	return (int)need;
}

int bm_frame_split(const char *p, size_t len, struct bm_frame *f, uint32_t *hint)
{
	size_t lim = len < BM_HEAD_MAX ? len : BM_HEAD_MAX;
	const char *nl = memchr(p, '\n', lim);

	if (len < 5)
		return memcmp(p, "MSRP ", len) == 0 ? 0 : -1;
	if (memcmp(p, "MSRP ", 5) != 0)
		return -1;
	if (!nl)
		return len >= BM_HEAD_MAX ? -1 : 0;
	if (nl == p || nl[-1] != '\r')
		return -1;
	/* start line: MSRP SP tid SP (method | code [SP comment]) CRLF */
	const char *s = p + 5, *eol = nl - 1;
	const char *sp = memchr(s, ' ', (size_t)(eol - s));
	if (!sp || sp == s)
		return -1;
	f->tid = s;
	f->tid_len = (uint32_t)(sp - s);
	s = sp + 1;
	if (eol - s >= 3 && s[0] >= '1' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9' && (eol - s == 3 || s[3] == ' ')) {
		f->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		f->method = NULL;
		f->method_len = 0;
	} else {
		if (eol == s)
			return -1;
		f->code = 0;
		f->method = s;
		f->method_len = (uint32_t)(eol - s);
	}
	/* header lines, until an empty line (a body follows) or the end-line (none) */
	const char *h = nl + 1, *end = p + len;
	f->hdrs = h;
	f->body = NULL;
	f->body_len = 0;
	for (;;) {
		if ((size_t)(h - p) >= BM_HEAD_MAX)
			return -1;
		if (h >= end)
			return 0;
		if (*h == '-') {
			int n = end_line(h, (size_t)(end - h), f->tid, f->tid_len, &f->flag);
			if (n < 0)
				return -1;
			if (n == 0)
				return 0;
			f->hdrs_len = (uint32_t)(h - f->hdrs);
			return (int)(h + n - p);
		}
		nl = memchr(h, '\n', (size_t)(end - h));
		if (!nl)
			return 0;
		if (nl == h || nl[-1] != '\r')
			return -1;
		if (nl == h + 1) { /* empty line */
			f->hdrs_len = (uint32_t)(h - f->hdrs);
			h = nl + 1;
			break;
		}
		h = nl + 1;
	}
	/* body: up to CRLF + end-line. <*hint> is an offset from the body's start. */
	const char *b = h;
	size_t i = *hint;
	while (b + i < end) {
		const char *q = memchr(b + i, '\r', (size_t)(end - (b + i)));
		if (!q)
			break;
		size_t avail = (size_t)(end - q);
		if (avail < 2) {
			*hint = (uint32_t)(q - b);
			return 0;
		}
		if (q[1] == '\n') {
			int n = avail > 2 ? end_line(q + 2, avail - 2, f->tid, f->tid_len, &f->flag) : 0;
			if (n == 0) {
				*hint = (uint32_t)(q - b);
				return 0;
			}
			if (n > 0) {
				f->body = b;
				f->body_len = (uint32_t)(q - b);
				*hint = 0;
				return (int)(q + 2 + n - p);
			}
		}
		i = (size_t)(q - b) + 1;
	}
	*hint = (uint32_t)(end - b);
	return 0;
}

int bm_header(const struct bm_frame *f, const char *name, const char **v, uint32_t *vlen)
{
	size_t nlen = strlen(name);
	const char *h = f->hdrs, *end = f->hdrs + f->hdrs_len;

	while (h < end) {
		const char *nl = memchr(h, '\n', (size_t)(end - h));
		if (!nl)
			return -1;
		if ((size_t)(nl - h) > nlen + 1 && h[nlen] == ':' &&
		    strncasecmp(h, name, nlen) == 0) {
			const char *s = h + nlen + 1, *e = nl - 1; /* before CR */
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			*v = s;
			*vlen = (uint32_t)(e - s);
			return 0;
		}
		h = nl + 1;
	}
	return -1;
}

uint32_t bm_first_uri(const char *v, uint32_t vlen)
{
	const char *sp = memchr(v, ' ', vlen);
	return sp ? (uint32_t)(sp - v) : vlen;
}

/* ---- Digest (RFC 2617, qop=auth) -------------------------------------------------------- */

/* MD5 of the <n> pieces as 32 lower-case hex digits (+ NUL) into <hex>. */
static void md5_hex(char hex[33], const char *const *parts, unsigned n)
{
	wc_Md5 md5;
	unsigned char d[WC_MD5_DIGEST_SIZE];

	wc_InitMd5(&md5);
	for (unsigned i = 0; i < n; i++)
		wc_Md5Update(&md5, (const unsigned char *)parts[i], (unsigned)strlen(parts[i]));
	wc_Md5Final(&md5, d);
	for (unsigned i = 0; i < WC_MD5_DIGEST_SIZE; i++) {
		hex[2 * i] = hexd[d[i] >> 4];
		hex[2 * i + 1] = hexd[d[i] & 15];
	}
	hex[32] = 0;
}

/* Copies parameter <name> of a Digest challenge (quoted or token) into <out>. 0, or -1. */
static int digest_param(const char *c, uint32_t clen, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *s = c, *end = c + clen;

	while (s < end) {
		while (s < end && (*s == ' ' || *s == ','))
			s++;
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (!eq)
			return -1;
		const char *v = eq + 1, *ve;
		if (v < end && *v == '"') {
			v++;
			ve = memchr(v, '"', (size_t)(end - v));
			if (!ve)
				return -1;
		} else {
			ve = memchr(v, ',', (size_t)(end - v));
			if (!ve)
				ve = end;
		}
		if ((size_t)(eq - s) == nlen && strncasecmp(s, name, nlen) == 0) {
			if ((size_t)(ve - v) >= cap)
				return -1;
			memcpy(out, v, (size_t)(ve - v));
			out[ve - v] = 0;
			return 0;
		}
		s = ve < end && *ve == '"' ? ve + 1 : ve;
	}
	return -1;
}

int bm_auth_request(char *out, size_t cap, const struct bm_auth *a, const char *own_uri,
		    uint64_t tid, const char *challenge, uint32_t clen)
{
	char t[BM_TID_LEN + 1], authz[1024] = "";
	int n;

	bm_put_hex(t, tid, BM_TID_LEN);
	t[BM_TID_LEN] = 0;
	if (challenge) {
		char realm[128], nonce[256], qop[64] = "", alg[32] = "MD5", opaque[256] = "";
		char ha1[33], ha2[33], resp[33], cnonce[17];
		if (clen < 7 || strncasecmp(challenge, "Digest ", 7) != 0)
			return -1;
		challenge += 7;
		clen -= 7;
		if (digest_param(challenge, clen, "realm", realm, sizeof(realm)) < 0 ||
		    digest_param(challenge, clen, "nonce", nonce, sizeof(nonce)) < 0)
			return -1;
		digest_param(challenge, clen, "qop", qop, sizeof(qop));
		digest_param(challenge, clen, "algorithm", alg, sizeof(alg));
		digest_param(challenge, clen, "opaque", opaque, sizeof(opaque));
		if (strcasecmp(alg, "MD5") != 0 || (qop[0] && !strstr(qop, "auth")))
			return -1;
		if (a->realm && strcmp(a->realm, realm) != 0)
			return -1;
		bm_put_hex(cnonce, tid * 0x9e3779b97f4a7c15ull + 1, 16);
		cnonce[16] = 0;
		md5_hex(ha1, (const char *const[]){ a->user, ":", realm, ":", a->password }, 5);
		md5_hex(ha2, (const char *const[]){ "AUTH:", a->relay_uri }, 2);
		if (qop[0])
			md5_hex(resp, (const char *const[]){ ha1, ":", nonce, ":00000001:", cnonce,
							     ":auth:", ha2 }, 7);
		else
			md5_hex(resp, (const char *const[]){ ha1, ":", nonce, ":", ha2 }, 5);
		n = snprintf(authz, sizeof(authz),
			     "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
			     "uri=\"%s\", response=\"%s\", algorithm=MD5%s%s%s%s%s%s\r\n",
			     a->user, realm, nonce, a->relay_uri, resp,
			     qop[0] ? ", qop=auth, nc=00000001, cnonce=\"" : "",
			     qop[0] ? cnonce : "", qop[0] ? "\"" : "",
			     opaque[0] ? ", opaque=\"" : "", opaque, opaque[0] ? "\"" : "");
		if (n < 0 || (size_t)n >= sizeof(authz))
			return -1;
	}
	n = snprintf(out, cap, "MSRP %s AUTH\r\nTo-Path: %s\r\nFrom-Path: %s\r\n%s-------%s$\r\n",
		     t, a->relay_uri, own_uri, authz, t);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}
