/* sip_digest.c — HTTP Digest as a SIP UAC: credentials per realm, the choice of a challenge,
 * the request-digest and the Authorization / Proxy-Authorization value. See sip_digest.h
 * for the forms and the contracts. Hashes from wolfSSL (its generic wc_Hash* front of MD5
 * and SHA-256), cnonces from getrandom(2); challenges parsed by sip_auth_parse(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "msrp/msrp_auth.h"
#include "sip/sip_digest.h"
#include "sip/sip_hdr.h"

static const char hexd[16] = "0123456789abcdef";

static const char *const alg_names[SIP_DIGEST__COUNT] = {
	[SIP_DIGEST_MD5] = "MD5",
	[SIP_DIGEST_MD5_SESS] = "MD5-sess",
	[SIP_DIGEST_SHA256] = "SHA-256",
	[SIP_DIGEST_SHA256_SESS] = "SHA-256-sess",
};

const char *sip_digest_alg_name(enum sip_digest_alg alg)
{
	return (unsigned)alg < SIP_DIGEST__COUNT ? alg_names[alg] : "";
}

static int slice_ieq(cm_slice a, const char *lit)
{
	size_t n = strlen(lit);

	return a.len == n && (n == 0 || strncasecmp(a.p, lit, n) == 0);
}

static int has_ctl(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 1;
	return 0;
}

/* <nc> as the 8 lower-case hex digits of a nonce-count (RFC 7616 §3.4) into <x>. */
static void nc_hex(uint32_t nc, char x[8])
{
	for (int i = 0; i < 8; i++)
		x[i] = hexd[(nc >> (28 - 4 * i)) & 15];
}

/* ---- credentials ---------------------------------------------------------------------- */

/* Splits <s> into <e>: NULL, or why it cannot. */
static const char *cred_parse(const char *s, struct sip_digest_cred *e)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t rlen, ulen, plen;

	if (!c2)
		return "expected realm:user:password";
	rlen = (size_t)(c1 - s);
	ulen = (size_t)(c2 - c1 - 1);
	plen = strlen(c2 + 1);
	if (rlen == 0 || rlen > SIP_DIGEST_REALM_MAX)
		return "realm empty or too long";
	if (ulen == 0 || ulen > SIP_DIGEST_USER_MAX)
		return "user empty or too long";
	if (plen > SIP_DIGEST_PASS_MAX)
		return "password too long";
	if (has_ctl(s, rlen + 1 + ulen))
		return "control character in realm or user";
	memcpy(e->realm, s, rlen);
	e->realm[rlen] = '\0';
	memcpy(e->user, c1 + 1, ulen);
	e->user[ulen] = '\0';
	memcpy(e->password, c2 + 1, plen + 1);
	e->rlen = (uint16_t)rlen;
	e->ulen = (uint16_t)ulen;
	e->plen = (uint16_t)plen;
	return NULL;
}

/* The entry of <c> whose realm is exactly <realm>, or NULL. */
static const struct sip_digest_cred *cred_exact(const struct sip_digest_creds *c,
						cm_slice realm)
{
	for (unsigned i = 0; i < c->n && i < SIP_DIGEST_MAX_CREDS; i++) {
		const struct sip_digest_cred *e = &c->v[i];

		if (e->rlen == realm.len && (realm.len == 0 || memcmp(e->realm, realm.p, realm.len) == 0))
			return e;
	}
	return NULL;
}

int sip_digest_creds_parse(struct sip_digest_creds *c, const char *const *items, size_t n,
			   char *err, size_t errlen)
{
	const char *why = NULL;
	size_t i;

	c->n = 0;
	for (i = 0; i < n && !why; i++) {
		struct sip_digest_cred *e = &c->v[c->n];

		if (!items[i])
			why = "missing";
		else if (!(why = cred_parse(items[i], e)) &&
			 cred_exact(c, (cm_slice){ e->realm, e->rlen }))
			why = "realm repeated";
		if (!why && ++c->n == SIP_DIGEST_MAX_CREDS && i + 1 < n) {
			i++;
			why = "more than 64 credentials";
		}
	}
	if (!why)
		return 0;
	c->n = 0;
	if (errlen)
		snprintf(err, errlen, "item %zu: %s", i, why);
	return -EINVAL;
}

const struct sip_digest_cred *sip_digest_creds_find(const struct sip_digest_creds *c,
						    cm_slice realm)
{
	const struct sip_digest_cred *e;

	if (!c || (realm.len && !realm.p))
		return NULL;
	e = cred_exact(c, realm);
	return e ? e : cred_exact(c, CM_SLICE_LIT("*"));
}

/* ---- digests -------------------------------------------------------------------------- */

static enum wc_HashType hash_type(enum sip_digest_alg alg)
{
	return alg == SIP_DIGEST_SHA256 || alg == SIP_DIGEST_SHA256_SESS ? WC_HASH_TYPE_SHA256
									  : WC_HASH_TYPE_MD5;
}

/* H(<parts> joined by ':') of <alg> in lower-case hex into <hex> (SIP_DIGEST_HEX_MAX + 1
 * bytes, NUL added). The hex length, or -EIO. */
static int hash_hex(enum sip_digest_alg alg, const cm_slice *parts, unsigned n, char *hex)
{
	enum wc_HashType t = hash_type(alg);
	int dlen = wc_HashGetDigestSize(t);
	uint8_t d[WC_MAX_DIGEST_SIZE];
	wc_HashAlg h;
	int rc;

	if (dlen <= 0 || 2 * dlen > SIP_DIGEST_HEX_MAX)
		return -EIO;
	rc = wc_HashInit(&h, t);
	if (rc != 0)
		return -EIO;
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = wc_HashUpdate(&h, t, (const byte *)":", 1);
		if (rc == 0 && parts[i].len)
			rc = wc_HashUpdate(&h, t, (const byte *)parts[i].p, (word32)parts[i].len);
	}
	if (rc == 0)
		rc = wc_HashFinal(&h, t, d);
	wc_HashFree(&h, t);
	if (rc != 0)
		return -EIO;
	for (int i = 0; i < dlen; i++) {
		hex[2 * i] = hexd[d[i] >> 4];
		hex[2 * i + 1] = hexd[d[i] & 15];
	}
	hex[2 * dlen] = '\0';
	return 2 * dlen;
}

int sip_digest_response(enum sip_digest_alg alg, cm_slice user, cm_slice realm,
			cm_slice password, cm_slice method, cm_slice uri, cm_slice nonce,
			cm_slice cnonce, uint32_t nc, cm_slice qop, cm_slice body, char *hex,
			size_t cap)
{
	char ha1[SIP_DIGEST_HEX_MAX + 1], ha2[SIP_DIGEST_HEX_MAX + 1], hb[SIP_DIGEST_HEX_MAX + 1];
	char ncx[8], resp[SIP_DIGEST_HEX_MAX + 1];
	int auth_int = slice_ieq(qop, "auth-int"), n;

	if ((unsigned)alg >= SIP_DIGEST__COUNT || (qop.len && !auth_int && !slice_ieq(qop, "auth")))
		return -EINVAL;
	{
		cm_slice a1[3] = { user, realm, password };

		n = hash_hex(alg, a1, 3, ha1);
	}
	if (n > 0 && (alg == SIP_DIGEST_MD5_SESS || alg == SIP_DIGEST_SHA256_SESS)) {
		cm_slice s[3] = { { ha1, (size_t)n }, nonce, cnonce };

		n = hash_hex(alg, s, 3, ha1);
	}
	if (n > 0 && auth_int)
		n = hash_hex(alg, &body, 1, hb);
	if (n > 0) {
		cm_slice a2[3] = { method, uri, { hb, (size_t)n } };

		n = hash_hex(alg, a2, auth_int ? 3 : 2, ha2);
	}
	if (n > 0 && qop.len) {
		cm_slice kd[6] = { { ha1, (size_t)n }, nonce, { ncx, 8 }, cnonce, qop,
				   { ha2, (size_t)n } };

		nc_hex(nc, ncx);
		n = hash_hex(alg, kd, 6, resp);
	} else if (n > 0) {
		cm_slice kd[3] = { { ha1, (size_t)n }, nonce, { ha2, (size_t)n } };

		n = hash_hex(alg, kd, 3, resp);
	}
	if (n < 0)
		return n;
	if (cap < (size_t)n + 1)
		return -ENOSPC;
	memcpy(hex, resp, (size_t)n + 1);
	return n;
}

/* ---- choosing a challenge ------------------------------------------------------------- */

enum qop { QOP_NONE, QOP_AUTH, QOP_AUTH_INT };

/* The algorithm of a challenge's "algorithm" value (absent: MD5), -1 when unknown. */
static int alg_of(cm_slice v)
{
	if (!v.p)
		return SIP_DIGEST_MD5;
	for (int a = 0; a < SIP_DIGEST__COUNT; a++)
		if (slice_ieq(v, alg_names[a]))
			return a;
	return -1;
}

/* The qop we answer to a challenge's "qop" list (quoted "auth,auth-int"): "auth" first,
 * else "auth-int"; QOP_NONE when absent; -1 when it offers neither. */
static int qop_of(cm_slice v)
{
	int best = -1;
	size_t i = 0;

	if (!v.p)
		return QOP_NONE;
	while (i < v.len) {
		size_t s;

		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		s = i;
		while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t' && v.p[i] != ',')
			i++;
		if (i == s)
			break;
		if (slice_ieq((cm_slice){ v.p + s, i - s }, "auth"))
			return QOP_AUTH;
		if (slice_ieq((cm_slice){ v.p + s, i - s }, "auth-int"))
			best = QOP_AUTH_INT;
	}
	return best;
}

/* Whether the parsed challenge <ap> is one we can answer: 0 with *<alg> and *<qop>, or -1. */
static int judge(const struct msrp_auth_params *ap, int *alg, int *qop)
{
	if (!slice_ieq(ap->scheme, "Digest") || !ap->realm.p || !ap->nonce.p)
		return -1;
	*alg = alg_of(ap->algorithm);
	*qop = qop_of(ap->qop);
	if (*alg < 0 || *qop < 0)
		return -1;
	if (*qop == QOP_NONE && (*alg == SIP_DIGEST_MD5_SESS || *alg == SIP_DIGEST_SHA256_SESS))
		return -1;   /* -sess needs a cnonce, which only goes with qop */
	return 0;
}

/* The challenge header of <resp> (401 or 407), SIP_H_OTHER when it is neither. */
static enum sip_hid challenge_hid(const struct sip_msg *resp)
{
	if (!resp || resp->kind != SIP_KIND_RESPONSE)
		return SIP_H_OTHER;
	return resp->status == 401 ? SIP_H_WWW_AUTHENTICATE
	       : resp->status == 407 ? SIP_H_PROXY_AUTHENTICATE : SIP_H_OTHER;
}

/* The index in resp->hdrs of the challenge to answer: >= 0, -ENOENT or -EINVAL (see
 * sip_digest.h). <ap> is scratch. */
static int choose(const struct sip_msg *resp, const struct sip_digest_creds *c,
		  struct msrp_auth_params *ap)
{
	enum sip_hid id = challenge_hid(resp);
	int best = -1, best_rank = 0, nocred = 0;

	if (id == SIP_H_OTHER)
		return -EINVAL;
	for (unsigned i = 0; i < resp->nhdrs && i < SIP_MAX_HEADERS; i++) {
		int alg, qop, rank;

		if (resp->hdrs[i].id != id || sip_auth_parse(resp->hdrs[i].value, ap) < 0 ||
		    judge(ap, &alg, &qop) < 0)
			continue;
		if (!sip_digest_creds_find(c, ap->realm)) {
			nocred = 1;
			continue;
		}
		rank = alg == SIP_DIGEST_SHA256 || alg == SIP_DIGEST_SHA256_SESS ? 2 : 1;
		if (rank > best_rank) {
			best = (int)i;
			best_rank = rank;
		}
	}
	return best >= 0 ? best : nocred ? -ENOENT : -EINVAL;
}

int sip_digest_stale(const struct sip_msg *resp)
{
	enum sip_hid id = challenge_hid(resp);
	struct msrp_auth_params ap;

	if (id == SIP_H_OTHER)
		return 0;
	for (unsigned i = 0; i < resp->nhdrs && i < SIP_MAX_HEADERS; i++)
		if (resp->hdrs[i].id == id && sip_auth_parse(resp->hdrs[i].value, &ap) == 0 &&
		    slice_ieq(ap.scheme, "Digest") && slice_ieq(ap.stale, "true"))
			return 1;
	return 0;
}

/* ---- writing the answer --------------------------------------------------------------- */

/* An output buffer that counts what did not fit (len may pass cap). */
struct wbuf {
	char *p;
	size_t cap, len;
};

static void w_put(struct wbuf *w, const char *s, size_t n)
{
	if (n && w->len < w->cap && n < w->cap - w->len)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void w_str(struct wbuf *w, const char *s)
{
	w_put(w, s, strlen(s));
}

/* ", <name>=\"<v>\"" with '"' and '\' of <v> escaped (RFC 3261 §25.1 quoted-pair); the
 * first parameter goes without the comma. */
static void w_quoted(struct wbuf *w, const char *name, cm_slice v)
{
	size_t s = 0;

	if (w->len > strlen("Digest "))
		w_str(w, ", ");
	w_str(w, name);
	w_str(w, "=\"");
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] != '"' && v.p[i] != '\\')
			continue;
		w_put(w, v.p + s, i - s);
		w_put(w, "\\", 1);
		s = i;
	}
	w_put(w, v.p + s, v.len - s);
	w_str(w, "\"");
}

/* 1 when <s> is a method: a non-empty token. */
static int is_method(cm_slice s)
{
	if (!s.p || !s.len)
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (!sip_cis(s.p[i], SIP_C_TOKEN))
			return 0;
	return 1;
}

/* 1 when <s> may be a Request-URI: not empty, no blank, no control character. */
static int is_ruri(cm_slice s)
{
	if (!s.p || !s.len || has_ctl(s.p, s.len))
		return 0;
	return memchr(s.p, ' ', s.len) == NULL;
}

int sip_digest_answer_cnonce(const struct sip_msg *resp, const struct sip_digest_creds *c,
			     cm_slice method, cm_slice uri, cm_slice body, uint32_t nc,
			     cm_slice cnonce, char *out, size_t cap, enum sip_hid *hdr)
{
	static const char *const qops[] = { "", "auth", "auth-int" };
	struct msrp_auth_params ap;
	const struct sip_digest_cred *cr;
	struct wbuf w = { out, cap, 0 };
	char rsp[SIP_DIGEST_HEX_MAX + 1], ncx[8];
	int i, alg, qop, n;

	if (cap)
		out[0] = '\0';
	if (!is_method(method) || !is_ruri(uri) || nc == 0 ||
	    !cnonce.p || !cnonce.len || has_ctl(cnonce.p, cnonce.len) || (body.len && !body.p))
		return -EINVAL;
	i = choose(resp, c, &ap);
	if (i < 0)
		return i;
	if (sip_auth_parse(resp->hdrs[i].value, &ap) < 0 || judge(&ap, &alg, &qop) < 0)
		return -EINVAL;   /* cannot be: choose() took it */
	cr = sip_digest_creds_find(c, ap.realm);
	if (!cr)
		return -ENOENT;
	n = sip_digest_response((enum sip_digest_alg)alg, (cm_slice){ cr->user, cr->ulen },
				ap.realm, (cm_slice){ cr->password, cr->plen }, method, uri,
				ap.nonce, cnonce, nc,
				(cm_slice){ qops[qop], strlen(qops[qop]) }, body, rsp, sizeof(rsp));
	if (n < 0)
		return n == -ENOSPC ? -EIO : n;
	w_str(&w, "Digest ");
	w_quoted(&w, "username", (cm_slice){ cr->user, cr->ulen });
	w_quoted(&w, "realm", ap.realm);
	w_quoted(&w, "nonce", ap.nonce);
	w_quoted(&w, "uri", uri);
	w_quoted(&w, "response", (cm_slice){ rsp, (size_t)n });
	w_str(&w, ", algorithm=");
	w_str(&w, alg_names[alg]);
	if (qop != QOP_NONE) {
		nc_hex(nc, ncx);
		w_quoted(&w, "cnonce", cnonce);
		w_str(&w, ", qop=");
		w_str(&w, qops[qop]);
		w_str(&w, ", nc=");
		w_put(&w, ncx, sizeof(ncx));
	}
	if (ap.opaque.p)
		w_quoted(&w, "opaque", ap.opaque);
	if (w.len >= cap || w.len > INT32_MAX) {
		if (cap)
			out[0] = '\0';
		return -ENOSPC;
	}
	out[w.len] = '\0';
	*hdr = challenge_hid(resp) == SIP_H_WWW_AUTHENTICATE ? SIP_H_AUTHORIZATION
							     : SIP_H_PROXY_AUTHORIZATION;
	return (int)w.len;
}

int sip_digest_answer(const struct sip_msg *resp, const struct sip_digest_creds *c,
		      cm_slice method, cm_slice uri, cm_slice body, uint32_t nc,
		      char *out, size_t cap, enum sip_hid *hdr)
{
	uint8_t rnd[SIP_DIGEST_CNONCE_LEN / 2];
	char cn[SIP_DIGEST_CNONCE_LEN];
	size_t got = 0;

	for (int tries = 0; got < sizeof(rnd) && tries < 16; tries++) {
		ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			got += (size_t)r;
	}
	if (got < sizeof(rnd)) {
		if (cap)
			out[0] = '\0';
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		cn[2 * i] = hexd[rnd[i] >> 4];
		cn[2 * i + 1] = hexd[rnd[i] & 15];
	}
	return sip_digest_answer_cnonce(resp, c, method, uri, body, nc,
					(cm_slice){ cn, sizeof(cn) }, out, cap, hdr);
}
