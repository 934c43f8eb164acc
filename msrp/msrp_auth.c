/* msrp_auth.c — Digest for MSRP AUTH: credentials, nonces, challenge, verification.
 * See msrp_auth.h for the forms and the contracts. MD5 and HMAC-SHA256 come from wolfSSL;
 * randomness from getrandom(2), as in msrp_id.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/md5.h>

#include "common/cm_hex.h"
#include "msrp/msrp_auth.h"
#include "msrp/msrp_id.h"

#define NONCE_RAW   32         /* time(8) random(8) mac(16) */
#define NONCE_MAC   16
#define NONCE_SKEW  5          /* seconds a nonce may seem to come from the future */

static const char hexd[16] = "0123456789abcdef";


static void to_hex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[in[i] >> 4];
		out[2 * i + 1] = hexd[in[i] & 15];
	}
}

/* Decodes exactly 2 x <n> hex characters of <s> into <out>. 0 or -1. */
static int from_hex(cm_slice s, uint8_t *out, size_t n)
{
	if (s.len != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int h = cm_hexval((unsigned char)s.p[2 * i]), l = cm_hexval((unsigned char)s.p[2 * i + 1]);

		if (h < 0 || l < 0)
			return -1;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

/* 1 when <a> and <b> (<n> bytes) are equal; time independent of where they differ. */
static int ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int slice_eq(cm_slice a, const char *b, size_t blen)
{
	return a.len == blen && (blen == 0 || memcmp(a.p, b, blen) == 0);
}

static int slice_ieq(cm_slice a, const char *lit)
{
	size_t n = strlen(lit);

	return a.len == n && strncasecmp(a.p, lit, n) == 0;
}

/* ---- credentials ---- */

static uint64_t cred_hash(cm_slice user, cm_slice realm)
{
	return msrp_id_hash(user) ^ (msrp_id_hash(realm) * 0x9E3779B97F4A7C15ull);
}

void msrp_creds_free(struct msrp_creds *c)
{
	free(c->v);
	free(c->bucket);
	memset(c, 0, sizeof(*c));
}

const uint8_t *msrp_creds_ha1(const struct msrp_creds *c, cm_slice user, cm_slice realm)
{
	uint32_t i;

	if (!c->bucket || (user.len && !user.p) || (realm.len && !realm.p))
		return NULL;
	for (i = c->bucket[cred_hash(user, realm) & c->mask]; i; i = c->v[i - 1].next) {
		const struct msrp_cred *e = &c->v[i - 1];

		if (slice_eq(user, e->user, e->ulen) && slice_eq(realm, e->realm, e->rlen))
			return e->ha1;
	}
	return NULL;
}

/* Splits one line "user:realm:HA1" (no end of line) into <e>. NULL or the reason. */
static const char *cred_parse(const char *l, size_t n, struct msrp_cred *e)
{
	const char *c1 = memchr(l, ':', n), *c2;
	size_t ulen, rlen;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)l[i] < 0x20 || l[i] == 0x7f)
			return "control character";
	if (!c1)
		return "expected user:realm:HA1";
	c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - l));
	if (!c2)
		return "expected user:realm:HA1";
	ulen = (size_t)(c1 - l);
	rlen = (size_t)(c2 - c1 - 1);
	if (ulen == 0 || ulen > MSRP_AUTH_NAME_MAX)
		return "user empty or too long";
	if (rlen == 0 || rlen > MSRP_AUTH_REALM_MAX)
		return "realm empty or too long";
	if (from_hex((cm_slice){ c2 + 1, n - (size_t)(c2 + 1 - l) }, e->ha1, 16) < 0)
		return "HA1 is not 32 hex digits";
	memcpy(e->user, l, ulen);
	e->user[ulen] = '\0';
	memcpy(e->realm, c1 + 1, rlen);
	e->realm[rlen] = '\0';
	e->ulen = (uint8_t)ulen;
	e->rlen = (uint8_t)rlen;
	e->next = 0;
	return NULL;
}

/* Reads one line into <buf> (MSRP_CREDS_LINE_MAX + 1 bytes). Its length, -1 at end of file,
 * -2 too long, -3 NUL byte, -4 read error. */
static long read_line(FILE *f, char *buf)
{
	long n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return -3;
		if (n == MSRP_CREDS_LINE_MAX)
			return -2;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && ferror(f))
		return -4;
	if (ch == EOF && n == 0)
		return -1;
	if (n && buf[n - 1] == '\r')
		n--;
	return n;
}

int msrp_creds_load(struct msrp_creds *c, const char *path, char *err, size_t errlen)
{
	char line[MSRP_CREDS_LINE_MAX + 1];
	struct msrp_creds nc = { 0 };
	uint32_t cap = 0, lineno = 0, *lines = NULL;   /* line of each entry, for errors */
	const char *why = NULL;
	int rc = -EINVAL;
	FILE *f;
	long n;

	memset(c, 0, sizeof(*c));
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		if (errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	while (!why) {
		size_t s = 0;

		lineno++;
		n = read_line(f, line);
		if (n == -1)
			break;
		if (n < -1) {
			why = n == -2 ? "line too long" : n == -3 ? "NUL byte" : "read error";
			rc = n == -4 ? -EIO : -EINVAL;
			break;
		}
		while (s < (size_t)n && (line[s] == ' ' || line[s] == '\t'))
			s++;
		while ((size_t)n > s && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (s == (size_t)n || line[s] == '#')
			continue;
		if (nc.n == MSRP_CREDS_MAX_USERS) {
			why = "too many users";
			rc = -ENOSPC;
			break;
		}
		if (nc.n == cap) {
			uint32_t ncap = cap ? cap * 2 : 64;
			struct msrp_cred *v;

			if (ncap > MSRP_CREDS_MAX_USERS)
				ncap = MSRP_CREDS_MAX_USERS;
			uint32_t *ln;

			v = realloc(nc.v, ncap * sizeof(*v));
			if (v)
				nc.v = v;
			ln = v ? realloc(lines, ncap * sizeof(*ln)) : NULL;
			if (!ln) {
				why = "out of memory";
				rc = -ENOMEM;
				break;
			}
			lines = ln;
			cap = ncap;
		}
		why = cred_parse(line + s, (size_t)n - s, &nc.v[nc.n]);
		if (why)
			break;
		lines[nc.n++] = lineno;   /* duplicates are found while the table is built */
	}
	fclose(f);
	if (!why) {
		uint32_t nb = 16;

		while (nb < 2 * nc.n)
			nb *= 2;
		nc.bucket = calloc(nb, sizeof(*nc.bucket));
		if (!nc.bucket) {
			why = "out of memory";
			rc = -ENOMEM;
			lineno = 0;
		} else {
			nc.mask = nb - 1;
			for (uint32_t i = 0; i < nc.n; i++) {
				struct msrp_cred *e = &nc.v[i];
				cm_slice u = { e->user, e->ulen }, r = { e->realm, e->rlen };
				uint32_t *h = &nc.bucket[cred_hash(u, r) & nc.mask];

				if (msrp_creds_ha1(&nc, u, r)) {
					why = "duplicate user and realm";
					lineno = lines[i];
					break;
				}
				e->next = *h;
				*h = i + 1;
			}
		}
	}
	free(lines);
	if (why) {
		if (errlen) {
			if (lineno)
				snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			else
				snprintf(err, errlen, "%s: %s", path, why);
		}
		msrp_creds_free(&nc);
		return rc;
	}
	*c = nc;
	return 0;
}

/* ---- digests ---- */

int msrp_auth_ha1(cm_slice user, cm_slice realm, cm_slice password, uint8_t ha1[16])
{
	wc_Md5 m;
	int rc = wc_InitMd5(&m);

	if (rc == 0)
		rc = wc_Md5Update(&m, (const byte *)user.p, (word32)user.len);
	if (rc == 0)
		rc = wc_Md5Update(&m, (const byte *)":", 1);
	if (rc == 0)
		rc = wc_Md5Update(&m, (const byte *)realm.p, (word32)realm.len);
	if (rc == 0)
		rc = wc_Md5Update(&m, (const byte *)":", 1);
	if (rc == 0)
		rc = wc_Md5Update(&m, (const byte *)password.p, (word32)password.len);
	if (rc == 0)
		rc = wc_Md5Final(&m, ha1);
	wc_Md5Free(&m);
	return rc == 0 ? 0 : -EIO;
}

/* MD5 of the parts joined by ':' into <out>. */
static int md5_join(const cm_slice *parts, unsigned n, uint8_t out[16])
{
	wc_Md5 m;
	int rc = wc_InitMd5(&m);

	for (unsigned i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = wc_Md5Update(&m, (const byte *)":", 1);
		if (rc == 0 && parts[i].len)
			rc = wc_Md5Update(&m, (const byte *)parts[i].p, (word32)parts[i].len);
	}
	if (rc == 0)
		rc = wc_Md5Final(&m, out);
	wc_Md5Free(&m);
	return rc == 0 ? 0 : -EIO;
}

int msrp_auth_digest(const uint8_t ha1[16], cm_slice method, cm_slice uri, cm_slice nonce,
		     cm_slice nc, cm_slice cnonce, cm_slice qop, char hex[33])
{
	char ha1x[32], ha2x[32];
	uint8_t h[16];
	cm_slice a2[2] = { method, uri };

	if (md5_join(a2, 2, h) < 0)
		return -EIO;
	to_hex(h, 16, ha2x);
	to_hex(ha1, 16, ha1x);
	{
		cm_slice kd[6] = { { ha1x, 32 }, nonce, nc, cnonce, qop, { ha2x, 32 } };

		if (md5_join(kd, 6, h) < 0)
			return -EIO;
	}
	to_hex(h, 16, hex);
	hex[32] = '\0';
	return 0;
}

/* ---- nonces ---- */

uint64_t msrp_auth_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

int msrp_auth_cfg_init(struct msrp_auth_cfg *cfg, cm_slice realm, uint32_t nonce_ttl_s)
{
	size_t got = 0;

	if (!realm.p || realm.len == 0 || realm.len > MSRP_AUTH_REALM_MAX)
		return -EINVAL;
	for (size_t i = 0; i < realm.len; i++) {
		unsigned char ch = (unsigned char)realm.p[i];

		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			return -EINVAL;
	}
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->realm, realm.p, realm.len);
	cfg->realm_len = realm.len;
	cfg->nonce_ttl_s = nonce_ttl_s ? nonce_ttl_s : MSRP_AUTH_DEFAULT_TTL;
	for (int tries = 0; got < sizeof(cfg->key) && tries < 64; tries++) {
		ssize_t r = getrandom(cfg->key + got, sizeof(cfg->key) - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return got == sizeof(cfg->key) ? 0 : -EAGAIN;
}

/* The MAC of a nonce's first 16 bytes (time, random) and the realm into <mac>. */
static int nonce_mac(const struct msrp_auth_cfg *cfg, const uint8_t head[16],
		     uint8_t mac[NONCE_MAC])
{
	uint8_t full[WC_SHA256_DIGEST_SIZE];
	Hmac h;
	int rc = wc_HmacInit(&h, NULL, INVALID_DEVID);

	if (rc != 0)
		return -EIO;
	rc = wc_HmacSetKey(&h, WC_SHA256, cfg->key, sizeof(cfg->key));
	if (rc == 0)
		rc = wc_HmacUpdate(&h, head, 16);
	if (rc == 0)
		rc = wc_HmacUpdate(&h, (const byte *)cfg->realm, (word32)cfg->realm_len);
	if (rc == 0)
		rc = wc_HmacFinal(&h, full);
	wc_HmacFree(&h);
	if (rc != 0)
		return -EIO;
	memcpy(mac, full, NONCE_MAC);
	return 0;
}

/* A nonce issued at <now_s>: MSRP_AUTH_NONCE_LEN hex characters into <out>. */
static int nonce_make(const struct msrp_auth_cfg *cfg, uint64_t now_s, char *out)
{
	uint8_t raw[NONCE_RAW];
	ssize_t r;

	for (int i = 0; i < 8; i++)
		raw[i] = (uint8_t)(now_s >> (56 - 8 * i));
	do
		r = getrandom(raw + 8, 8, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r != 8)
		return -EAGAIN;
	if (nonce_mac(cfg, raw, raw + 16) < 0)
		return -EIO;
	to_hex(raw, NONCE_RAW, out);
	return 0;
}

/* Checks <nonce>: 0 authentic (issue time in <*issued>, MAC in <mac>), -1 not ours. */
static int nonce_check(const struct msrp_auth_cfg *cfg, cm_slice nonce, uint64_t *issued,
		       uint8_t mac[NONCE_MAC])
{
	uint8_t raw[NONCE_RAW], want[NONCE_MAC];
	uint64_t t = 0;

	if (from_hex(nonce, raw, NONCE_RAW) < 0 || nonce_mac(cfg, raw, want) < 0)
		return -1;
	if (!ct_equal(raw + 16, want, NONCE_MAC))
		return -1;
	for (int i = 0; i < 8; i++)
		t = t << 8 | raw[i];
	*issued = t;
	memcpy(mac, want, NONCE_MAC);
	return 0;
}

int msrp_auth_challenge_at(const struct msrp_auth_cfg *cfg, int stale, uint64_t now_s,
			   char *buf, size_t len)
{
	char nonce[MSRP_AUTH_NONCE_LEN + 1];
	int rc = nonce_make(cfg, now_s, nonce), n;

	if (rc < 0)
		return rc;
	nonce[MSRP_AUTH_NONCE_LEN] = '\0';
	n = snprintf(buf, len, "Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=MD5%s",
		     cfg->realm, nonce, stale ? ", stale=true" : "");
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

int msrp_auth_challenge(const struct msrp_auth_cfg *cfg, int stale, char *buf, size_t len)
{
	return msrp_auth_challenge_at(cfg, stale, msrp_auth_now(), buf, len);
}

/* ---- header parsing ---- */

/* token characters (RFC 7230 §3.2.6) */
static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* qdtext and the second character of a quoted-pair, '"' and '\' aside */
static int is_qtext(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

#define IS_WS(c) ((c) == ' ' || (c) == '\t')

int msrp_auth_parse(cm_slice value, struct msrp_auth_params *out)
{
	const char *p = value.p;
	size_t n = value.len, i = 0, s;
	unsigned nparams = 0;

	memset(out, 0, offsetof(struct msrp_auth_params, buf));
	if (!p || n == 0 || n > MSRP_AUTH_HDR_MAX)
		return -EINVAL;
	while (i < n && IS_WS(p[i]))
		i++;
	s = i;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == s || i == n || !IS_WS(p[i]))
		return -EINVAL;
	out->scheme = (cm_slice){ p + s, i - s };
	for (;;) {
		cm_slice name, val, *slot = NULL;
		char *dst = out->buf + out->used;
		size_t vlen = 0;

		while (i < n && (IS_WS(p[i]) || p[i] == ','))
			i++;
		if (i == n)
			break;
		if (++nparams > MSRP_AUTH_MAX_PARAMS)
			return -EINVAL;
		s = i;
		while (i < n && is_tchar((unsigned char)p[i]))
			i++;
		if (i == s)
			return -EINVAL;
		name = (cm_slice){ p + s, i - s };
		while (i < n && IS_WS(p[i]))
			i++;
		if (i == n || p[i] != '=')
			return -EINVAL;
		i++;
		while (i < n && IS_WS(p[i]))
			i++;
		if (i == n)
			return -EINVAL;
		if (p[i] == '"') {
			for (i++;; i++) {
				unsigned char ch;

				if (i == n)
					return -EINVAL;   /* unterminated */
				ch = (unsigned char)p[i];
				if (ch == '"')
					break;
				if (ch == '\\') {
					if (++i == n || !is_qtext((unsigned char)p[i]))
						return -EINVAL;
					ch = (unsigned char)p[i];
				} else if (!is_qtext(ch)) {
					return -EINVAL;
				}
				if (vlen == MSRP_AUTH_VALUE_MAX ||
				    out->used + vlen == sizeof(out->buf))
					return -EINVAL;
				dst[vlen++] = (char)ch;
			}
			i++;
		} else {
			s = i;
			while (i < n && is_tchar((unsigned char)p[i]))
				i++;
			if (i == s)
				return -EINVAL;
			vlen = i - s;
			if (vlen > MSRP_AUTH_VALUE_MAX || out->used + vlen > sizeof(out->buf))
				return -EINVAL;
			memcpy(dst, p + s, vlen);
		}
		out->used += vlen;
		val = (cm_slice){ dst, vlen };
		while (i < n && IS_WS(p[i]))
			i++;
		if (i < n && p[i] != ',')
			return -EINVAL;
		if (slice_ieq(name, "username"))
			slot = &out->username;
		else if (slice_ieq(name, "realm"))
			slot = &out->realm;
		else if (slice_ieq(name, "nonce"))
			slot = &out->nonce;
		else if (slice_ieq(name, "uri"))
			slot = &out->uri;
		else if (slice_ieq(name, "response"))
			slot = &out->response;
		else if (slice_ieq(name, "algorithm"))
			slot = &out->algorithm;
		else if (slice_ieq(name, "cnonce"))
			slot = &out->cnonce;
		else if (slice_ieq(name, "opaque"))
			slot = &out->opaque;
		else if (slice_ieq(name, "qop"))
			slot = &out->qop;
		else if (slice_ieq(name, "nc"))
			slot = &out->nc;
		else if (slice_ieq(name, "stale"))
			slot = &out->stale;
		if (slot) {
			if (slot->p)
				return -EINVAL;   /* repeated */
			*slot = val;
		}
	}
	if (nparams == 0)
		return -EINVAL;
	return 0;
}

/* ---- replay ---- */

static _Thread_local struct {
	uint8_t tag[NONCE_MAC];
	uint32_t nc;
} nc_seen[MSRP_AUTH_NC_SLOTS];

/* ---- verification ---- */

static void copy_cstr(char *dst, size_t cap, cm_slice s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/* The thread's parsed Authorization (2 KiB: off the stack); valid until the next parse. */
static _Thread_local struct msrp_auth_params auth_ap;

/* Parses <authorization> into auth_ap and checks what every verification needs: 0 or
 * MSRP_AUTH_BAD. */
static int parse_authorization(cm_slice authorization)
{
	struct msrp_auth_params *ap = &auth_ap;

	if (msrp_auth_parse(authorization, ap) < 0 || !slice_ieq(ap->scheme, "Digest"))
		return MSRP_AUTH_BAD;
	if (!ap->username.p || !ap->realm.p || !ap->nonce.p || !ap->response.p ||
	    !ap->qop.p || !ap->nc.p || !ap->cnonce.p)
		return MSRP_AUTH_BAD;
	if (ap->username.len > MSRP_AUTH_NAME_MAX || (ap->uri.p && ap->uri.len == 0) ||
	    ap->cnonce.len == 0)
		return MSRP_AUTH_BAD;
	if (ap->response.len != 32 || ap->nc.len != 8)
		return MSRP_AUTH_BAD;
	return 0;
}

/* Verifies auth_ap (parse_authorization() passed) against <ha1> (NULL: unknown user);
 * <uri> is the digest-uri when the header has none. */
static int verify_parsed(const struct msrp_auth_cfg *cfg, const uint8_t *ha1, cm_slice method,
			 cm_slice uri, uint64_t now_s, struct msrp_auth_result *out)
{
	struct msrp_auth_params *ap = &auth_ap;
	uint8_t resp[16], want_b[16], mac[NONCE_MAC];
	char want[33];
	uint64_t issued;
	uint32_t ncv = 0;
	unsigned slot;

	if (from_hex(ap->response, resp, 16) < 0)
		return MSRP_AUTH_BAD;
	for (int i = 0; i < 8; i++) {
		int v = cm_hexval((unsigned char)ap->nc.p[i]);

		if (v < 0)
			return MSRP_AUTH_BAD;
		ncv = ncv << 4 | (uint32_t)v;
	}
	if (ap->algorithm.p && !slice_ieq(ap->algorithm, "MD5"))
		return MSRP_AUTH_FAIL;
	if (!slice_ieq(ap->qop, "auth"))
		return MSRP_AUTH_FAIL;
	if (!slice_eq(ap->realm, cfg->realm, cfg->realm_len))
		return MSRP_AUTH_FAIL;
	if (nonce_check(cfg, ap->nonce, &issued, mac) < 0 || issued > now_s + NONCE_SKEW)
		return MSRP_AUTH_FAIL;
	if (!ha1)
		return MSRP_AUTH_FAIL;
	if (!ap->uri.p)
		ap->uri = uri;
	if (!ap->uri.len || ap->uri.len > MSRP_AUTH_VALUE_MAX)
		return MSRP_AUTH_BAD;
	/* the digest uses the qop the client sent ("auth" up to case) */
	if (msrp_auth_digest(ha1, method, ap->uri, ap->nonce, ap->nc, ap->cnonce, ap->qop,
			     want) < 0)
		return MSRP_AUTH_FAIL;
	from_hex((cm_slice){ want, 32 }, want_b, 16);
	if (!ct_equal(resp, want_b, 16))
		return MSRP_AUTH_FAIL;
	if (now_s > issued && now_s - issued > cfg->nonce_ttl_s)
		return MSRP_AUTH_STALE;
	slot = (unsigned)(((uint32_t)mac[0] << 8 | mac[1]) % MSRP_AUTH_NC_SLOTS);
	if (memcmp(nc_seen[slot].tag, mac, NONCE_MAC) == 0) {
		if (ncv <= nc_seen[slot].nc)
			return MSRP_AUTH_FAIL;
	} else if (ncv == 0) {
		return MSRP_AUTH_FAIL;
	}
	memcpy(nc_seen[slot].tag, mac, NONCE_MAC);
	nc_seen[slot].nc = ncv;

	copy_cstr(out->user_buf, sizeof(out->user_buf), ap->username);
	out->user = (cm_slice){ out->user_buf, ap->username.len };
	copy_cstr(out->uri, sizeof(out->uri), ap->uri);
	copy_cstr(out->nonce, sizeof(out->nonce), ap->nonce);
	copy_cstr(out->cnonce, sizeof(out->cnonce), ap->cnonce);
	copy_cstr(out->nc, sizeof(out->nc), ap->nc);
	memcpy(out->ha1, ha1, 16);
	return MSRP_AUTH_OK;
}

int msrp_auth_username(cm_slice authorization, char *buf, size_t len)
{
	if (parse_authorization(authorization) != 0 || len <= auth_ap.username.len)
		return -EINVAL;
	copy_cstr(buf, len, auth_ap.username);
	return (int)auth_ap.username.len;
}

int msrp_auth_verify_ha1(const struct msrp_auth_cfg *cfg, const uint8_t *ha1,
			 cm_slice authorization, cm_slice method, cm_slice uri, uint64_t now_s,
			 struct msrp_auth_result *out)
{
	int rc = parse_authorization(authorization);

	return rc ? rc : verify_parsed(cfg, ha1, method, uri, now_s, out);
}

int msrp_auth_verify(const struct msrp_auth_cfg *cfg, const struct msrp_creds *creds,
		     cm_slice authorization, cm_slice method, uint64_t now_s,
		     struct msrp_auth_result *out)
{
	int rc = parse_authorization(authorization);

	if (rc)
		return rc;
	return verify_parsed(cfg, msrp_creds_ha1(creds, auth_ap.username, auth_ap.realm), method,
			     CM_SLICE_NULL, now_s, out);
}

int msrp_auth_info(const struct msrp_auth_result *r, char *buf, size_t len)
{
	char rsp[33], q[2 * MSRP_AUTH_VALUE_MAX + 1];
	size_t k = 0;
	int n;

	if (msrp_auth_digest(r->ha1, CM_SLICE_NULL, (cm_slice){ r->uri, strlen(r->uri) },
			     (cm_slice){ r->nonce, strlen(r->nonce) },
			     (cm_slice){ r->nc, strlen(r->nc) },
			     (cm_slice){ r->cnonce, strlen(r->cnonce) }, CM_SLICE_LIT("auth"),
			     rsp) < 0)
		return -EIO;
	for (const char *c = r->cnonce; *c; c++) {
		if (*c == '"' || *c == '\\')
			q[k++] = '\\';
		q[k++] = *c;
	}
	q[k] = '\0';
	n = snprintf(buf, len, "rspauth=\"%s\", qop=auth, nc=%s, cnonce=\"%s\"", rsp, r->nc, q);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}
