/* sip_dialog.c — SIP dialogs (see sip_dialog.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sip/sip_dialog.h"
#include "sip/sip_hdr.h"
#include "sip/sip_write.h"

#define CSEQ_MAX 0x7fffffffu       /* CSeq numbers stay below 2**31 (§8.1.1.5) */

_Static_assert(sizeof(struct sip_dialog) <= 6144, "a dialog is embedded in every call");
_Static_assert(SIP_DIALOG_ROUTE_BYTES <= UINT16_MAX, "route offsets are 16-bit");

/* ---- bounded copies ----------------------------------------------------------------- */

/* An output that refuses, and remembers it, what does not fit. CR and LF are dropped on
 * the way in: the values copied are header values whose only CR LF are folds, and a fold
 * without its CR LF is the blanks that stand for it (§7.3.1). */
struct sbuf {
	char *p;
	size_t cap, len;
	int over;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !b->over; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (b->len == b->cap)
			b->over = 1;
		else
			b->p[b->len++] = s[i];
	}
}

static void sb_slice(struct sbuf *b, cm_slice s)
{
	sb_put(b, s.p, s.len);
}

static cm_slice sb_out(const struct sbuf *b)
{
	return (cm_slice){ b->p, b->len };
}

/* <s> into <dst>[0..<cap>), its length in *<len>; -E2BIG when it does not fit. */
static int set_str(char *dst, size_t cap, uint16_t *len, cm_slice s)
{
	struct sbuf b = { dst, cap, 0, 0 };

	sb_slice(&b, s);
	if (b.over)
		return -E2BIG;
	*len = (uint16_t)b.len;
	return 0;
}

#define SET_STR(field, lenfield, s) set_str((field), sizeof(field), &(lenfield), (s))

/* Writes the name-addr / addr-spec <v> (parsed into <a>) without its tag parameter: the
 * address as written, then each other header parameter as written. */
static void sb_addr_untagged(struct sbuf *b, cm_slice v, const struct sip_addr *a)
{
	const char *s = v.p, *e = a->params.p ? a->params.p - 1 : v.p + v.len;
	cm_slice rest = a->params, n, pv;

	while (s < e && sip_cis(*s, SIP_C_LWS))
		s++;
	while (e > s && sip_cis(e[-1], SIP_C_LWS))
		e--;
	sb_put(b, s, (size_t)(e - s));
	while (rest.p && sip_param_next(&rest, &n, &pv) == 1) {
		const char *pe = pv.p ? pv.p + pv.len : n.p + n.len;

		if (n.len == 3 && strncasecmp(n.p, "tag", 3) == 0)
			continue;
		sb_put(b, ";", 1);
		sb_put(b, n.p, (size_t)(pe - n.p));
	}
}

static int set_addr(char *dst, size_t cap, uint16_t *len, cm_slice v, const struct sip_addr *a)
{
	struct sbuf b = { dst, cap, 0, 0 };

	sb_addr_untagged(&b, v, a);
	if (b.over)
		return -E2BIG;
	*len = (uint16_t)b.len;
	return 0;
}

/* ---- reading messages ------------------------------------------------------------------ */

static int slice_eq(cm_slice a, const char *b, size_t blen)
{
	return a.len == blen && (blen == 0 || memcmp(a.p, b, blen) == 0);
}

/* Tags compare without regard to case (sip_dialog.h); an absent tag equals an empty one. */
static int tag_eq(cm_slice a, const char *b, size_t blen)
{
	return a.len == blen && (blen == 0 || strncasecmp(a.p, b, blen) == 0);
}

static int is_token(cm_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!sip_cis(s.p[i], SIP_C_TOKEN))
			return 0;
	return s.len > 0;
}

/* From or To of <m>: its value in *<v>, parsed in *<a>. */
static int addr_of(const struct sip_msg *m, enum sip_hid id, cm_slice *v, struct sip_addr *a)
{
	*v = sip_msg_hdr(m, id);
	if (!v->p || sip_addr_parse(*v, a) < 0 || a->star)
		return -EINVAL;
	return 0;
}

static int callid_of(const struct sip_msg *m, cm_slice *cid)
{
	cm_slice v = sip_msg_hdr(m, SIP_H_CALL_ID);

	return v.p && sip_callid_parse(v, cid) == 0 ? 0 : -EINVAL;
}

static int cseq_of(const struct sip_msg *m, struct sip_cseq *cs)
{
	cm_slice v = sip_msg_hdr(m, SIP_H_CSEQ);

	return v.p && sip_cseq_parse(v, cs) == 0 ? 0 : -EINVAL;
}

/* A sip: or sips: URI (what a remote target or a route may be). */
static int sip_uri_ok(cm_slice s, struct sip_uri *u)
{
	return sip_uri_parse(s, u) == 0 && u->scheme != SIP_SCHEME_TEL;
}

static int ruri_secure(cm_slice ruri)
{
	struct sip_uri u;

	return sip_uri_parse(ruri, &u) == 0 && u.scheme == SIP_SCHEME_SIPS;
}

/* The remote target from the Contact of <m>: 1 when set, 0 when <m> has none and
 * <required> is 0. One Contact element with a sip:/sips: URI, else -EINVAL. */
static int take_target(struct sip_dialog *d, const struct sip_msg *m, int required)
{
	struct sip_hdr_iter it;
	struct sip_addr a;
	struct sip_uri u;
	cm_slice el, more;
	int r;

	sip_hdr_iter_init(&it, m, SIP_H_CONTACT);
	r = sip_hdr_iter_next(&it, &el);
	if (r < 0 || (r == 0 && required))
		return -EINVAL;
	if (r == 0)
		return 0;
	if (sip_hdr_iter_next(&it, &more) != 0 || sip_addr_parse(el, &a) < 0 || a.star ||
	    !sip_uri_ok(a.uri, &u))
		return -EINVAL;
	r = SET_STR(d->target, d->target_len, a.uri);
	return r < 0 ? r : 1;
}

/* Appends the Record-Route element <el> to the route set of <d>. It must be a name-addr
 * (rec-route, §25.1) with a sip:/sips: URI. */
static int add_route(struct sip_dialog *d, cm_slice el)
{
	size_t room = SIP_DIALOG_ROUTE_BYTES - d->routes_len;
	struct sbuf b = { d->routes + d->routes_len,
			  room < SIP_DIALOG_MAX_URI ? room : SIP_DIALOG_MAX_URI, 0, 0 };
	struct sip_dialog_route *rt = &d->route[d->nroutes];
	const char *ue;
	struct sip_addr a;
	struct sip_uri u;

	if (sip_addr_parse(el, &a) < 0 || a.star || a.uri.p == el.p || a.uri.p[-1] != '<' ||
	    !sip_uri_ok(a.uri, &u))
		return -EINVAL;
	if (d->nroutes == SIP_DIALOG_MAX_ROUTES)
		return -E2BIG;
	ue = a.uri.p + a.uri.len;
	sb_put(&b, el.p, (size_t)(a.uri.p - el.p));
	rt->uri_off = (uint16_t)(d->routes_len + b.len);
	rt->uri_len = (uint16_t)a.uri.len;
	sb_slice(&b, a.uri);
	sb_put(&b, ue, (size_t)(el.p + el.len - ue));
	if (b.over)
		return -E2BIG;
	rt->off = d->routes_len;
	rt->len = (uint16_t)b.len;
	d->routes_len = (uint16_t)(d->routes_len + b.len);
	if (d->nroutes++ == 0)
		d->strict = !u.lr;
	return 0;
}

/* The route set of <d> from the Record-Route of <m>, in order or reversed. */
static int take_routes(struct sip_dialog *d, const struct sip_msg *m, int reverse)
{
	cm_slice els[SIP_DIALOG_MAX_ROUTES], el;
	struct sip_hdr_iter it;
	unsigned n = 0;
	int r;

	sip_hdr_iter_init(&it, m, SIP_H_RECORD_ROUTE);
	while ((r = sip_hdr_iter_next(&it, &el)) == 1) {
		if (n == SIP_DIALOG_MAX_ROUTES)
			return -E2BIG;
		els[n++] = el;
	}
	if (r < 0)
		return -EINVAL;
	d->nroutes = 0;
	d->routes_len = 0;
	d->strict = 0;
	for (unsigned i = 0; i < n; i++)
		if ((r = add_route(d, els[reverse ? n - 1 - i : i])) < 0)
			return r;
	return 0;
}

/* ---- making dialogs -------------------------------------------------------------------- */

int sip_dialog_restore(struct sip_dialog *d, const struct sip_dialog_saved *s)
{
	struct sip_dialog t;
	int r;

	d->state = SIP_DLG_NONE;
	if (!s->call_id.len || !s->local_tag.len || !s->target.len)
		return -EINVAL;
	if (s->nroutes > SIP_DIALOG_MAX_ROUTES)
		return -E2BIG;
	memset(&t, 0, sizeof(t));
	if ((r = SET_STR(t.call_id, t.call_id_len, s->call_id)) < 0 ||
	    (r = SET_STR(t.local_tag, t.local_tag_len, s->local_tag)) < 0 ||
	    (r = SET_STR(t.remote_tag, t.remote_tag_len, s->remote_tag)) < 0 ||
	    (r = SET_STR(t.local_uri, t.local_uri_len, s->local_uri)) < 0 ||
	    (r = SET_STR(t.remote_uri, t.remote_uri_len, s->remote_uri)) < 0 ||
	    (r = SET_STR(t.target, t.target_len, s->target)) < 0)
		return r;
	for (unsigned i = 0; i < s->nroutes; i++)
		if ((r = add_route(&t, s->routes[i])) < 0)
			return r;
	t.local_cseq = s->local_cseq;
	t.remote_cseq = s->remote_cseq;
	t.has_remote_cseq = !!s->has_remote_cseq;
	t.secure = !!s->secure;
	t.state = SIP_DLG_CONFIRMED;
	*d = t;
	return 0;
}

int sip_dialog_uac(struct sip_dialog *d, const struct sip_msg *req, const struct sip_msg *resp)
{
	struct sip_addr from, rfrom, to;
	cm_slice fromv, rfromv, tov, cid, rcid;
	struct sip_cseq cs, rcs;
	struct sip_dialog t;
	int r;

	d->state = SIP_DLG_NONE;
	if (req->kind != SIP_KIND_REQUEST || req->method == SIP_M_ACK ||
	    req->method == SIP_M_CANCEL || resp->kind != SIP_KIND_RESPONSE ||
	    resp->status < 101 || resp->status > 299)
		return -EINVAL;
	if (callid_of(req, &cid) < 0 || callid_of(resp, &rcid) < 0 ||
	    !slice_eq(cid, rcid.p, rcid.len) || cseq_of(req, &cs) < 0 ||
	    cseq_of(resp, &rcs) < 0 || cs.seq != rcs.seq ||
	    addr_of(req, SIP_H_FROM, &fromv, &from) < 0 ||
	    addr_of(resp, SIP_H_FROM, &rfromv, &rfrom) < 0 ||
	    addr_of(resp, SIP_H_TO, &tov, &to) < 0 || !from.tag.len || !to.tag.len ||
	    !tag_eq(rfrom.tag, from.tag.p, from.tag.len))
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	if ((r = SET_STR(t.call_id, t.call_id_len, cid)) < 0 ||
	    (r = SET_STR(t.local_tag, t.local_tag_len, from.tag)) < 0 ||
	    (r = SET_STR(t.remote_tag, t.remote_tag_len, to.tag)) < 0 ||
	    (r = set_addr(t.local_uri, sizeof(t.local_uri), &t.local_uri_len, fromv, &from)) < 0 ||
	    (r = set_addr(t.remote_uri, sizeof(t.remote_uri), &t.remote_uri_len, tov, &to)) < 0 ||
	    (r = take_target(&t, resp, resp->status >= 200)) < 0 ||
	    (r = take_routes(&t, resp, 1)) < 0)
		return r;
	t.local_cseq = cs.seq;
	t.secure = (uint8_t)ruri_secure(req->ruri);
	t.state = resp->status < 200 ? SIP_DLG_EARLY : SIP_DLG_CONFIRMED;
	*d = t;
	return 0;
}

int sip_dialog_uas(struct sip_dialog *d, const struct sip_msg *req, cm_slice local_tag,
		   uint32_t local_cseq)
{
	struct sip_addr from, to;
	cm_slice fromv, tov, cid;
	struct sip_cseq cs;
	struct sip_dialog t;
	int r;

	d->state = SIP_DLG_NONE;
	if (req->kind != SIP_KIND_REQUEST || req->method == SIP_M_ACK ||
	    req->method == SIP_M_CANCEL || !is_token(local_tag) || local_cseq > CSEQ_MAX)
		return -EINVAL;
	if (callid_of(req, &cid) < 0 || cseq_of(req, &cs) < 0 ||
	    addr_of(req, SIP_H_FROM, &fromv, &from) < 0 ||
	    addr_of(req, SIP_H_TO, &tov, &to) < 0 || to.tag.p)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	if ((r = SET_STR(t.call_id, t.call_id_len, cid)) < 0 ||
	    (r = SET_STR(t.local_tag, t.local_tag_len, local_tag)) < 0 ||
	    (r = SET_STR(t.remote_tag, t.remote_tag_len, from.tag)) < 0 ||
	    (r = set_addr(t.local_uri, sizeof(t.local_uri), &t.local_uri_len, tov, &to)) < 0 ||
	    (r = set_addr(t.remote_uri, sizeof(t.remote_uri), &t.remote_uri_len, fromv, &from)) < 0 ||
	    (r = take_target(&t, req, 1)) < 0 ||
	    (r = take_routes(&t, req, 0)) < 0)
		return r;
	t.local_cseq = local_cseq;
	t.remote_cseq = cs.seq;
	t.has_remote_cseq = 1;
	t.secure = (uint8_t)ruri_secure(req->ruri);
	t.state = SIP_DLG_CONFIRMED;
	*d = t;
	return 0;
}

void sip_dialog_set_state(struct sip_dialog *d, enum sip_dialog_state st)
{
	d->state = st;
}

static int live(const struct sip_dialog *d)
{
	return d->state == SIP_DLG_EARLY || d->state == SIP_DLG_CONFIRMED;
}

/* ---- messages inside a dialog ------------------------------------------------------------ */

int sip_dialog_matches(const struct sip_dialog *d, const struct sip_msg *m)
{
	struct sip_addr from, to;
	cm_slice fromv, tov, cid;

	if (d->state == SIP_DLG_NONE || callid_of(m, &cid) < 0 ||
	    !slice_eq(cid, d->call_id, d->call_id_len) ||
	    addr_of(m, SIP_H_FROM, &fromv, &from) < 0 || addr_of(m, SIP_H_TO, &tov, &to) < 0)
		return 0;
	if (m->kind == SIP_KIND_REQUEST)
		return tag_eq(to.tag, d->local_tag, d->local_tag_len) &&
		       tag_eq(from.tag, d->remote_tag, d->remote_tag_len);
	if (m->kind == SIP_KIND_RESPONSE)
		return tag_eq(from.tag, d->local_tag, d->local_tag_len) &&
		       (!d->remote_tag_len || tag_eq(to.tag, d->remote_tag, d->remote_tag_len));
	return 0;
}

int sip_dialog_update(struct sip_dialog *d, const struct sip_msg *m, int is_uac_2xx)
{
	struct sip_addr from, to;
	cm_slice fromv, tov, cid;
	struct sip_dialog t;
	int r, same;

	if (!live(d))
		return -EINVAL;
	t = *d;
	if (!is_uac_2xx) {
		if (!sip_dialog_matches(d, m))
			return -EINVAL;
		if ((r = take_target(&t, m, 0)) < 0)
			return r;
		*d = t;
		return 0;
	}
	if (m->kind != SIP_KIND_RESPONSE || m->status < 200 || m->status > 299 ||
	    callid_of(m, &cid) < 0 || !slice_eq(cid, d->call_id, d->call_id_len) ||
	    addr_of(m, SIP_H_FROM, &fromv, &from) < 0 ||
	    !tag_eq(from.tag, d->local_tag, d->local_tag_len) ||
	    addr_of(m, SIP_H_TO, &tov, &to) < 0 || !to.tag.len)
		return -EINVAL;
	same = tag_eq(to.tag, d->remote_tag, d->remote_tag_len);
	if (!same && d->state == SIP_DLG_CONFIRMED)
		return -EEXIST;
	if ((r = take_target(&t, m, 1)) < 0)
		return r;
	if (d->state == SIP_DLG_EARLY && (r = take_routes(&t, m, 1)) < 0)
		return r;
	if (!same) {
		if ((r = SET_STR(t.remote_tag, t.remote_tag_len, to.tag)) < 0 ||
		    (r = set_addr(t.remote_uri, sizeof(t.remote_uri), &t.remote_uri_len, tov,
				  &to)) < 0)
			return r;
		t.has_remote_cseq = 0;
		t.remote_cseq = 0;
	}
	t.state = SIP_DLG_CONFIRMED;
	*d = t;
	return 0;
}

int sip_dialog_rx_request(struct sip_dialog *d, const struct sip_msg *req)
{
	struct sip_cseq cs;

	if (req->kind != SIP_KIND_REQUEST || cseq_of(req, &cs) < 0)
		return -EINVAL;
	if (req->method == SIP_M_ACK || req->method == SIP_M_CANCEL)
		return 0;
	if (d->has_remote_cseq && cs.seq <= d->remote_cseq)
		return 500;
	d->remote_cseq = cs.seq;
	d->has_remote_cseq = 1;
	return 0;
}

/* ---- writing requests ---------------------------------------------------------------------- */

static cm_slice route_uri(const struct sip_dialog *d, unsigned i)
{
	return (cm_slice){ d->routes + d->route[i].uri_off, d->route[i].uri_len };
}

/* <uri> made fit for a Request-URI (§19.1.1: no "method" parameter, no headers): <uri>
 * itself when it has neither, else a copy without them in <buf>[0..<cap>). */
static int ruri_of(cm_slice uri, char *buf, size_t cap, cm_slice *out)
{
	struct sbuf b = { buf, cap, 0, 0 };
	struct sip_uri u;
	cm_slice rest, n, v;

	if (sip_uri_parse(uri, &u) < 0)
		return -EINVAL;
	if (!u.method.p && !u.headers.p) {
		*out = uri;
		return 0;
	}
	sb_put(&b, uri.p, (size_t)((u.params.p ? u.params.p : u.headers.p) - 1 - uri.p));
	for (rest = u.params; rest.p && sip_param_next(&rest, &n, &v) == 1;) {
		const char *e = v.p ? v.p + v.len : n.p + n.len;

		if (n.len == 6 && strncasecmp(n.p, "method", 6) == 0)
			continue;
		sb_put(&b, ";", 1);
		sb_put(&b, n.p, (size_t)(e - n.p));
	}
	if (b.over)
		return -E2BIG;
	*out = sb_out(&b);
	return 0;
}

/* "<addr>[;tag=<tag>]" into <b>. */
static cm_slice tagged(struct sbuf *b, const char *addr, size_t alen, const char *tag,
		       size_t tlen)
{
	sb_put(b, addr, alen);
	if (tlen) {
		sb_put(b, ";tag=", 5);
		sb_put(b, tag, tlen);
	}
	return sb_out(b);
}

static struct sip_hdr hdr(enum sip_hid id, cm_slice v)
{
	return (struct sip_hdr){ id, CM_SLICE_NULL, v };
}

/* Both writers: <method>, CSeq <cseq>, <contact> (empty: none). */
static ssize_t write_req(struct sip_dialog *d, char *buf, size_t cap, cm_slice method,
			 uint32_t cseq, cm_slice via, cm_slice contact,
			 const struct sip_hdr *extra, unsigned n, cm_slice body,
			 cm_slice *next_hop)
{
	char from[SIP_DIALOG_MAX_URI + 5 + SIP_DIALOG_MAX_TAG];
	char to[SIP_DIALOG_MAX_URI + 5 + SIP_DIALOG_MAX_TAG];
	char csv[12 + SIP_DIALOG_MAX_METHOD], ruri[SIP_DIALOG_MAX_URI];
	char last[SIP_DIALOG_MAX_URI + 2];
	struct sip_hdr h[7 + SIP_DIALOG_MAX_ROUTES + SIP_DIALOG_MAX_EXTRA];
	struct sbuf fb = { from, sizeof(from), 0, 0 }, tb = { to, sizeof(to), 0, 0 };
	struct sbuf lb = { last, sizeof(last), 0, 0 };
	cm_slice target = sip_dialog_remote_target(d), ru, csl = { csv, 0 };
	unsigned k = 0;
	ssize_t w;
	int r;

	if (!live(d) || !d->target_len || !via.len || !is_token(method) ||
	    method.len > SIP_DIALOG_MAX_METHOD || (n && !extra))
		return -EINVAL;
	if (n > SIP_DIALOG_MAX_EXTRA)
		return -E2BIG;
	if ((r = ruri_of(d->strict ? route_uri(d, 0) : target, ruri, sizeof(ruri), &ru)) < 0)
		return r;
	csl.len = (size_t)snprintf(csv, sizeof(csv), "%" PRIu32 " %.*s", cseq, (int)method.len,
				   method.p);
	h[k++] = hdr(SIP_H_VIA, via);
	h[k++] = hdr(SIP_H_MAX_FORWARDS, CM_SLICE_LIT("70"));
	h[k++] = hdr(SIP_H_FROM, tagged(&fb, d->local_uri, d->local_uri_len, d->local_tag,
					d->local_tag_len));
	h[k++] = hdr(SIP_H_TO, tagged(&tb, d->remote_uri, d->remote_uri_len, d->remote_tag,
				      d->remote_tag_len));
	h[k++] = hdr(SIP_H_CALL_ID, sip_dialog_call_id(d));
	h[k++] = hdr(SIP_H_CSEQ, csl);
	for (unsigned i = d->strict; i < d->nroutes; i++)
		h[k++] = hdr(SIP_H_ROUTE, sip_dialog_route(d, i));
	if (d->strict) {
		sb_put(&lb, "<", 1);
		sb_slice(&lb, target);
		sb_put(&lb, ">", 1);
		h[k++] = hdr(SIP_H_ROUTE, sb_out(&lb));
	}
	if (contact.len)
		h[k++] = hdr(SIP_H_CONTACT, contact);
	if (n)
		memcpy(h + k, extra, n * sizeof(*extra));
	k += n;
	if (fb.over || tb.over || lb.over)
		return -E2BIG;     /* cannot happen: the buffers hold the largest values */
	if ((w = sip_write_request(buf, cap, method, ru, h, k, body)) < 0)
		return w;
	if (next_hop)
		*next_hop = d->nroutes ? route_uri(d, 0) : target;
	return w;
}

ssize_t sip_dialog_request(struct sip_dialog *d, char *buf, size_t cap, cm_slice method,
			   cm_slice via, cm_slice contact, const struct sip_hdr *extra,
			   unsigned n, cm_slice body, cm_slice *next_hop)
{
	ssize_t r;

	if (slice_eq(method, "ACK", 3) || slice_eq(method, "CANCEL", 6))
		return -EINVAL;
	if (live(d) && d->local_cseq >= CSEQ_MAX)
		return -ERANGE;
	r = write_req(d, buf, cap, method, d->local_cseq + 1, via, contact, extra, n, body,
		      next_hop);
	if (r >= 0)
		d->local_cseq++;
	return r;
}

ssize_t sip_dialog_ack(struct sip_dialog *d, char *buf, size_t cap, uint32_t invite_cseq,
		       cm_slice via, const struct sip_hdr *extra, unsigned n, cm_slice body,
		       cm_slice *next_hop)
{
	if (invite_cseq > CSEQ_MAX)
		return -EINVAL;
	return write_req(d, buf, cap, CM_SLICE_LIT("ACK"), invite_cseq, via, CM_SLICE_NULL,
			 extra, n, body, next_hop);
}
