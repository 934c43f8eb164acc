/* sdp_msrp.c — the MSRP stream of an SDP description: reading it, our offer, our answer,
 * and what an offer/answer pair decided. The decisions and the RFC text they rest on are
 * in sdp_msrp.h. */
#include <errno.h>
#include <string.h>

#include "msrp/msrp_hdr.h"
#include "msrp/msrp_uri.h"
#include "sip/sdp.h"
#include "sip/sdp_msrp.h"

#define JOIN_MAX 1024          /* bytes of one list we write (a=path, accept-types) */

static const char *const setup_names[] = {
	[SDP_SETUP_ABSENT] = "",
	[SDP_SETUP_ACTIVE] = "active",
	[SDP_SETUP_PASSIVE] = "passive",
	[SDP_SETUP_ACTPASS] = "actpass",
	[SDP_SETUP_HOLDCONN] = "holdconn",
};

static const char *const dir_names[] = {
	[SDP_DIR_SENDRECV] = "sendrecv",
	[SDP_DIR_SENDONLY] = "sendonly",
	[SDP_DIR_RECVONLY] = "recvonly",
	[SDP_DIR_INACTIVE] = "inactive",
};

const char *sdp_setup_name(enum sdp_setup v)
{
	if ((unsigned)v > SDP_SETUP_HOLDCONN)
		return "";
	return setup_names[v];
}

static unsigned char lc(char c)
{
	unsigned char u = (unsigned char)c;

	return (u >= 'A' && u <= 'Z') ? (unsigned char)(u | 0x20) : u;
}

static int ci_eq(cm_slice a, cm_slice b)
{
	if (a.len != b.len)
		return 0;
	for (size_t i = 0; i < a.len; i++)
		if (lc(a.p[i]) != lc(b.p[i]))
			return 0;
	return 1;
}

static int ci_is(cm_slice a, const char *z)
{
	return ci_eq(a, (cm_slice){ z, strlen(z) });
}

/* RFC 4566 §9 token-char: also what a media type's type and subtype are made of here. */
static int tokenc(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D ||
	       c == 0x2E || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) ||
	       (c >= 0x5E && c <= 0x7E);
}

static int token_ok(cm_slice s)
{
	if (s.len == 0)
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (!tokenc(s.p[i]))
			return 0;
	return 1;
}

/* Splits "type/subtype" at its '/'. 0, or -1 when there is no '/'. */
static int split_type(cm_slice v, cm_slice *type, cm_slice *sub)
{
	const char *slash = v.len ? memchr(v.p, '/', v.len) : NULL;

	if (!slash)
		return -1;
	*type = (cm_slice){ v.p, (size_t)(slash - v.p) };
	*sub = (cm_slice){ slash + 1, v.len - type->len - 1 };
	return 0;
}

static int is_star(cm_slice s)
{
	return s.len == 1 && s.p[0] == '*';
}

/* One list entry: "*", "type/ *" or "type/subtype". */
static int entry_ok(cm_slice e)
{
	cm_slice t, s;

	if (is_star(e))
		return 1;
	if (split_type(e, &t, &s) < 0 || !token_ok(t) || !token_ok(s) || is_star(t))
		return 0;
	return 1;
}

int sdp_msrp_types_parse(cm_slice v, cm_slice *out, unsigned max, unsigned *n)
{
	size_t i = 0;
	unsigned k = 0;

	while (i < v.len) {
		size_t j;

		if (v.p[i] == ' ') {
			i++;
			continue;
		}
		j = i;
		while (j < v.len && v.p[j] != ' ')
			j++;
		cm_slice e = { v.p + i, j - i };

		if (!entry_ok(e))
			return -EINVAL;
		if (k >= max)
			return -E2BIG;
		out[k++] = e;
		i = j;
	}
	if (k == 0)
		return -EINVAL;
	*n = k;
	return 0;
}

int sdp_msrp_type_match(cm_slice pattern, cm_slice type)
{
	cm_slice pt, ps, tt, ts;
	size_t a = 0, b = type.len;
	const char *semi = type.len ? memchr(type.p, ';', type.len) : NULL;

	if (semi)
		b = (size_t)(semi - type.p);
	while (a < b && (type.p[a] == ' ' || type.p[a] == '\t'))
		a++;
	while (b > a && (type.p[b - 1] == ' ' || type.p[b - 1] == '\t'))
		b--;
	type = (cm_slice){ type.p + a, b - a };
	if (split_type(type, &tt, &ts) < 0 || !token_ok(tt) || !token_ok(ts))
		return 0;
	if (is_star(pattern))
		return 1;
	if (split_type(pattern, &pt, &ps) < 0 || !ci_eq(pt, tt))
		return 0;
	return is_star(ps) || ci_eq(ps, ts);
}

static int match_any(const cm_slice *list, unsigned n, cm_slice type)
{
	for (unsigned i = 0; i < n; i++)
		if (sdp_msrp_type_match(list[i], type))
			return 1;
	return 0;
}

/* ---- reading a stream --------------------------------------------------------------- */

static int is_msrp(const struct sdp_media *m, int *tls)
{
	if (!ci_is(m->media, "message"))
		return 0;
	if (ci_is(m->proto, "TCP/MSRP")) {
		*tls = 0;
		return 1;
	}
	if (ci_is(m->proto, "TCP/TLS/MSRP")) {
		*tls = 1;
		return 1;
	}
	return 0;
}

/* The one a=<name> of level <m>: 1 with *<a> when there is one, 0 when none, -1 when
 * there are several. */
static int single(const struct sdp *s, int m, const char *name, const struct sdp_attr **a)
{
	unsigned k = sdp_attr_count(s, m, name);

	if (k > 1)
		return -1;
	*a = k ? sdp_attr_get(s, m, name) : NULL;
	return (int)k;
}

static int read_path(cm_slice v, struct sdp_msrp_media *out)
{
	cm_slice rest = v, uri;

	out->npath = 0;
	while (msrp_path_next(&rest, &uri)) {
		if (out->npath >= SDP_MSRP_PATH_MAX)
			return SDP_MSRP_BAD_PATH_LONG;
		if (msrp_uri_parse(uri, &out->path[out->npath]) < 0)
			return SDP_MSRP_BAD_PATH;
		out->npath++;
	}
	return out->npath ? SDP_MSRP_BAD_NONE : SDP_MSRP_BAD_PATH;
}

static int read_u64(cm_slice v, uint64_t *out)
{
	uint64_t x = 0;

	if (v.len == 0)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		unsigned d = (unsigned)(unsigned char)v.p[i] - '0';

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* The direction of level <m>: 0 with *<d> (SENDRECV when none), -1 when several. */
static int read_dir(const struct sdp *s, int m, enum sdp_dir *d)
{
	int found = 0;

	for (unsigned k = 0; k < 4; k++) {
		unsigned c = sdp_attr_count(s, m, dir_names[k]);

		if (c)
			*d = (enum sdp_dir)k;
		found += (int)c;
	}
	if (!found)
		*d = SDP_DIR_SENDRECV;
	return found > 1 ? -1 : found;
}

/* The attributes of the accepted stream <out> (index set) of <s>. */
static enum sdp_msrp_bad read_attrs(const struct sdp *s, struct sdp_msrp_media *out)
{
	const struct sdp_attr *a;
	int m = out->index, k;

	if (!is_star(s->media[m].fmts))
		return SDP_MSRP_BAD_FMT;

	if (single(s, m, "path", &a) != 1 || !a->has_value)
		return SDP_MSRP_BAD_PATH;
	out->path_text = a->value;
	k = read_path(a->value, out);
	if (k != SDP_MSRP_BAD_NONE)
		return (enum sdp_msrp_bad)k;

	if (single(s, m, "accept-types", &a) != 1 || !a->has_value)
		return SDP_MSRP_BAD_ACCEPT;
	k = sdp_msrp_types_parse(a->value, out->types, SDP_MSRP_TYPES_MAX, &out->ntypes);
	if (k == -E2BIG)
		return SDP_MSRP_BAD_TYPES_LONG;
	if (k < 0)
		return SDP_MSRP_BAD_ACCEPT;

	k = single(s, m, "accept-wrapped-types", &a);
	if (k < 0 || (k == 1 && !a->has_value))
		return SDP_MSRP_BAD_WRAPPED;
	if (k == 1) {
		k = sdp_msrp_types_parse(a->value, out->wrapped, SDP_MSRP_TYPES_MAX,
					 &out->nwrapped);
		if (k == -E2BIG)
			return SDP_MSRP_BAD_TYPES_LONG;
		if (k < 0)
			return SDP_MSRP_BAD_WRAPPED;
	}

	k = single(s, m, "max-size", &a);
	if (k < 0 || (k == 1 && read_u64(a->value, &out->max_size) < 0))
		return SDP_MSRP_BAD_MAX_SIZE;
	out->has_max_size = k == 1;

	k = single(s, m, "setup", &a);
	if (k < 0)
		return SDP_MSRP_BAD_SETUP;
	if (k == 1) {
		for (unsigned v = SDP_SETUP_ACTIVE; v <= SDP_SETUP_HOLDCONN; v++)
			if (ci_is(a->value, setup_names[v]))
				out->setup = (enum sdp_setup)v;
		if (out->setup == SDP_SETUP_ABSENT)
			return SDP_MSRP_BAD_SETUP;
	}

	k = single(s, m, "connection", &a);
	if (k < 0)
		return SDP_MSRP_BAD_CONNECTION;
	if (k == 1) {
		if (ci_is(a->value, "new"))
			out->connection = SDP_CONNECTION_NEW;
		else if (ci_is(a->value, "existing"))
			out->connection = SDP_CONNECTION_EXISTING;
		else
			return SDP_MSRP_BAD_CONNECTION;
	}

	/* RFC 4566 §6: a session-level direction applies where a stream has none */
	k = read_dir(s, m, &out->dir);
	if (k < 0 || (k == 0 && read_dir(s, -1, &out->dir) < 0))
		return SDP_MSRP_BAD_DIR;

	k = single(s, m, "msrp-cema", &a);
	if (k < 0 || (k == 1 && (a->has_value || !out->conn.present)))
		return SDP_MSRP_BAD_CEMA;
	out->cema = k == 1;
	return SDP_MSRP_BAD_NONE;
}

int sdp_msrp_find(const struct sdp *s, struct sdp_msrp_media *out)
{
	int first = -1, pick = -1, tls = 0;

	for (unsigned i = 0; i < s->nmedia && pick < 0; i++) {
		if (!is_msrp(&s->media[i], &tls))
			continue;
		if (first < 0)
			first = (int)i;
		if (s->media[i].port != 0)
			pick = (int)i;
	}
	if (pick < 0)
		pick = first;
	if (pick < 0)
		return -ENOENT;

	const struct sdp_media *m = &s->media[pick];

	memset(out, 0, offsetof(struct sdp_msrp_media, path));
	out->ntypes = out->nwrapped = 0;
	out->has_max_size = 0;
	out->max_size = 0;
	out->setup = SDP_SETUP_ABSENT;
	out->connection = SDP_CONNECTION_ABSENT;
	out->cema = 0;
	out->dir = SDP_DIR_SENDRECV;
	out->bad = SDP_MSRP_BAD_NONE;
	out->index = pick;
	is_msrp(m, &out->tls);
	out->port = m->port;
	out->conn = m->conn.present ? m->conn : s->conn;
	if (m->port == 0)
		return 0;
	out->bad = read_attrs(s, out);
	return out->bad == SDP_MSRP_BAD_NONE ? 0 : -EINVAL;
}

/* ---- may we send -------------------------------------------------------------------- */

static enum sdp_msrp_send may_receive(const struct sdp_msrp_media *peer)
{
	if (peer->port == 0 || peer->dir == SDP_DIR_SENDONLY || peer->dir == SDP_DIR_INACTIVE)
		return SDP_MSRP_SEND_DIR;
	return SDP_MSRP_SEND_OK;
}

enum sdp_msrp_send sdp_msrp_may_send(const struct sdp_msrp_media *peer, cm_slice content_type,
				     uint64_t size)
{
	if (may_receive(peer) != SDP_MSRP_SEND_OK)
		return SDP_MSRP_SEND_DIR;
	if (!match_any(peer->types, peer->ntypes, content_type))
		return SDP_MSRP_SEND_TYPE;
	if (peer->has_max_size && size > peer->max_size)
		return SDP_MSRP_SEND_SIZE;
	return SDP_MSRP_SEND_OK;
}

enum sdp_msrp_send sdp_msrp_may_send_wrapped(const struct sdp_msrp_media *peer,
					     cm_slice inner)
{
	if (may_receive(peer) != SDP_MSRP_SEND_OK)
		return SDP_MSRP_SEND_DIR;
	if (!match_any(peer->wrapped, peer->nwrapped, inner) &&
	    !match_any(peer->types, peer->ntypes, inner))
		return SDP_MSRP_SEND_TYPE;
	return SDP_MSRP_SEND_OK;
}

/* ---- writing offers and answers ----------------------------------------------------- */

/* The narrower of list entries <a> and <b> when one covers the other (see sdp_msrp.h). */
static int meet(cm_slice a, cm_slice b, cm_slice *r)
{
	cm_slice at, as, bt, bs;

	if (is_star(a) || is_star(b)) {
		*r = is_star(a) ? b : a;
		return 1;
	}
	if (split_type(a, &at, &as) < 0 || split_type(b, &bt, &bs) < 0 || !ci_eq(at, bt))
		return 0;
	if (is_star(as) || is_star(bs)) {
		*r = is_star(as) ? b : a;
		return 1;
	}
	if (!ci_eq(as, bs))
		return 0;
	*r = a;
	return 1;
}

static unsigned intersect(const cm_slice *ours, unsigned no, const cm_slice *theirs,
			  unsigned nt, cm_slice *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < no; i++)
		for (unsigned j = 0; j < nt; j++) {
			cm_slice r;
			unsigned d;

			if (!meet(ours[i], theirs[j], &r))
				continue;
			for (d = 0; d < k && !ci_eq(out[d], r); d++)
				;
			if (d == k && k < SDP_MSRP_TYPES_MAX)
				out[k++] = r;
		}
	return k;
}

/* <v>[0 .. <n>) joined by one SP into <buf> of JOIN_MAX bytes. When they do not all fit:
 * with <partial>, those that fit (a peer's long list must not stop our answer), else a
 * slice with p NULL. */
static cm_slice join(const cm_slice *v, unsigned n, char *buf, int partial)
{
	size_t pos = 0;

	for (unsigned i = 0; i < n; i++) {
		if (v[i].len + 1 > JOIN_MAX - pos) {
			if (partial)
				continue;
			return CM_SLICE_NULL;
		}
		if (pos)
			buf[pos++] = ' ';
		memcpy(buf + pos, v[i].p, v[i].len);
		pos += v[i].len;
	}
	return (cm_slice){ buf, pos };
}

/* What our side writes, its lists joined and checked. */
struct local_text {
	cm_slice path, types, wrapped, max_size;
	char path_buf[JOIN_MAX], types_buf[JOIN_MAX], wrapped_buf[JOIN_MAX];
	char size_buf[24];
};

/* A field we write between SPs: printable, no SP (RFC 4566 §9 non-ws-string). */
static int field_ok(cm_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] <= 0x20 || (unsigned char)s.p[i] == 0x7f)
			return 0;
	return 1;
}

static int digits_or_empty(cm_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
	return s.len <= 20;
}

/* Checks <l> and joins its path and max-size into <t> (the type lists are joined by the
 * caller: an answer writes the intersection). 0 or -EINVAL. */
static int local_check(const struct sdp_msrp_local *l, struct local_text *t)
{
	struct msrp_uri u;
	cm_slice e;
	unsigned one;

	if (!l->port || !l->addr.len || !l->npath || l->npath > SDP_MSRP_PATH_MAX ||
	    !l->ntypes || l->ntypes > SDP_MSRP_TYPES_MAX || l->nwrapped > SDP_MSRP_TYPES_MAX ||
	    !digits_or_empty(l->sess_id) || !digits_or_empty(l->sess_version) ||
	    !field_ok(l->addr) || !field_ok(l->username) || l->nattrs > SDP_MSRP_ATTRS_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < l->nattrs; i++) /* one line each: no CR, LF or NUL */
		if (!l->attrs[i].len || memchr(l->attrs[i].p, '\r', l->attrs[i].len) ||
		    memchr(l->attrs[i].p, '\n', l->attrs[i].len) ||
		    memchr(l->attrs[i].p, '\0', l->attrs[i].len))
			return -EINVAL;
	for (unsigned i = 0; i < l->npath; i++)
		if (msrp_uri_parse(l->path[i], &u) < 0)
			return -EINVAL;
	for (unsigned i = 0; i < l->ntypes + l->nwrapped; i++) {
		cm_slice v = i < l->ntypes ? l->types[i] : l->wrapped[i - l->ntypes];

		if (sdp_msrp_types_parse(v, &e, 1, &one) < 0 || e.len != v.len)
			return -EINVAL;
	}
	t->path = join(l->path, l->npath, t->path_buf, 0);
	if (!t->path.p)
		return -EINVAL;
	t->max_size = CM_SLICE_NULL;
	if (l->max_size) {
		char d[24];
		int k = 0;
		uint64_t x = l->max_size;

		while (x) {
			d[k++] = (char)('0' + x % 10);
			x /= 10;
		}
		for (int i = 0; i < k; i++)
			t->size_buf[i] = d[k - 1 - i];
		t->max_size = (cm_slice){ t->size_buf, (size_t)k };
	}
	return 0;
}

static cm_slice or_default(cm_slice s, const char *d)
{
	return s.len ? s : (cm_slice){ d, strlen(d) };
}

/* The session part of our description. */
static void base(struct sdp *s, const struct sdp_msrp_local *l, cm_slice time)
{
	int v6 = memchr(l->addr.p, ':', l->addr.len) != NULL;
	cm_slice in = CM_SLICE_LIT("IN"), at = v6 ? CM_SLICE_LIT("IP6") : CM_SLICE_LIT("IP4");

	sdp_init(s);
	s->origin = (struct sdp_origin){ or_default(l->username, "-"),
					 or_default(l->sess_id, "0"),
					 or_default(l->sess_version, "0"), in, at, l->addr };
	s->session_name = CM_SLICE_LIT("-");
	s->conn = (struct sdp_conn){ 1, in, at, l->addr };
	s->time = time;
}

/* Our MSRP m= section and its attributes; 0 or -E2BIG. */
static int add_stream(struct sdp *s, const struct sdp_msrp_local *l, cm_slice proto,
		      const struct local_text *t, enum sdp_setup setup, int cema,
		      enum sdp_dir dir)
{
	int m = sdp_add_media(s, CM_SLICE_LIT("message"), l->port, proto, CM_SLICE_LIT("*"));
	int rc = m < 0 ? m : 0;

#define ATTR(name, value, has)                                                             \
	do {                                                                               \
		if (rc == 0)                                                               \
			rc = sdp_add_attr(s, m, (name), (value), (has));        \
	} while (0)
	ATTR(CM_SLICE_LIT("accept-types"), t->types, 1);
	if (t->wrapped.len)
		ATTR(CM_SLICE_LIT("accept-wrapped-types"), t->wrapped, 1);
	if (t->max_size.len)
		ATTR(CM_SLICE_LIT("max-size"), t->max_size, 1);
	ATTR(CM_SLICE_LIT("path"), t->path, 1);
	if (setup != SDP_SETUP_ABSENT) {
		const char *sn = setup_names[setup];

		ATTR(CM_SLICE_LIT("setup"), ((cm_slice){ sn, strlen(sn) }), 1);
		ATTR(CM_SLICE_LIT("connection"), CM_SLICE_LIT("new"), 1);
	}
	if (cema)
		ATTR(CM_SLICE_LIT("msrp-cema"), CM_SLICE_NULL, 0);
	for (unsigned i = 0; i < l->nattrs; i++) {
		const char *c = memchr(l->attrs[i].p, ':', l->attrs[i].len);
		size_t nl = c ? (size_t)(c - l->attrs[i].p) : l->attrs[i].len;
		ATTR(((cm_slice){ l->attrs[i].p, nl }),
		     c ? ((cm_slice){ c + 1, l->attrs[i].len - nl - 1 }) : CM_SLICE_NULL, c != NULL);
	}
	if (dir != SDP_DIR_SENDRECV) {
		const char *dn = dir_names[dir];

		ATTR(((cm_slice){ dn, strlen(dn) }), CM_SLICE_NULL, 0);
	}
#undef ATTR
	return rc;
}

/* Writes <s> into <buf>: 0 or -ENOSPC, *<n> the whole length. */
static int emit(const struct sdp *s, char *buf, size_t len, size_t *n)
{
	*n = sdp_write(s, buf, len);
	return *n < len ? 0 : -ENOSPC;
}

/* Everything an offer or an answer is built in. */
struct build {
	struct sdp s;
	struct local_text t;
	struct sdp_msrp_media peer;
	cm_slice types[SDP_MSRP_TYPES_MAX], wrapped[SDP_MSRP_TYPES_MAX];
};

int sdp_msrp_offer(const struct sdp_msrp_local *l, char *buf, size_t len, size_t *n)
{
	struct build b;
	enum sdp_setup setup = l->setup;

	*n = 0;
	if (local_check(l, &b.t) < 0 || (unsigned)l->dir > SDP_DIR_INACTIVE)
		return -EINVAL;
	b.t.types = join(l->types, l->ntypes, b.t.types_buf, 0);
	b.t.wrapped = join(l->wrapped, l->nwrapped, b.t.wrapped_buf, 0);
	if (!b.t.types.p || (l->nwrapped && !b.t.wrapped.p))
		return -EINVAL;
	if (setup != SDP_SETUP_ACTIVE && setup != SDP_SETUP_PASSIVE)
		setup = SDP_SETUP_ACTPASS;
	base(&b.s, l, CM_SLICE_LIT("0 0"));
	if (add_stream(&b.s, l, l->tls ? CM_SLICE_LIT("TCP/TLS/MSRP") : CM_SLICE_LIT("TCP/MSRP"),
		       &b.t, setup, l->cema, l->dir) < 0)
		return -EINVAL;
	return emit(&b.s, buf, len, n);
}

/* Our a=setup in answer to <offered>, and whether it makes us connect. */
static enum sdp_setup answer_setup(enum sdp_setup offered, enum sdp_setup pref)
{
	switch (offered) {
	case SDP_SETUP_ACTPASS:
		return pref == SDP_SETUP_PASSIVE ? SDP_SETUP_PASSIVE : SDP_SETUP_ACTIVE;
	case SDP_SETUP_ACTIVE:
	case SDP_SETUP_ABSENT:
		return SDP_SETUP_PASSIVE;
	case SDP_SETUP_PASSIVE:
		return SDP_SETUP_ACTIVE;
	case SDP_SETUP_HOLDCONN:
	default:
		return SDP_SETUP_HOLDCONN;
	}
}

static enum sdp_dir answer_dir(enum sdp_dir offered, enum sdp_dir ours)
{
	switch (offered) {
	case SDP_DIR_SENDONLY:
		return ours == SDP_DIR_SENDRECV || ours == SDP_DIR_RECVONLY ? SDP_DIR_RECVONLY :
									     SDP_DIR_INACTIVE;
	case SDP_DIR_RECVONLY:
		return ours == SDP_DIR_SENDRECV || ours == SDP_DIR_SENDONLY ? SDP_DIR_SENDONLY :
									     SDP_DIR_INACTIVE;
	case SDP_DIR_INACTIVE:
		return SDP_DIR_INACTIVE;
	case SDP_DIR_SENDRECV:
	default:
		return ours;
	}
}

int sdp_msrp_answer(const struct sdp *offer, const struct sdp_msrp_local *l, char *buf,
		    size_t len, size_t *n, struct sdp_msrp_answer_res *res)
{
	struct build b;
	const struct sdp_msrp_media *om = &b.peer;
	int rc;

	*n = 0;
	memset(res, 0, sizeof(*res));
	res->index = -1;
	if (local_check(l, &b.t) < 0 || (unsigned)l->dir > SDP_DIR_INACTIVE)
		return -EINVAL;

	rc = sdp_msrp_find(offer, &b.peer);
	if (rc == -ENOENT || (rc == 0 && om->port == 0)) {
		res->verdict = SDP_MSRP_NO_MEDIA;
	} else if (rc < 0) {
		res->verdict = SDP_MSRP_BAD_OFFER;
		res->bad = om->bad;
	} else {
		unsigned nt = intersect(l->types, l->ntypes, om->types, om->ntypes, b.types);
		unsigned nw = intersect(l->wrapped, l->nwrapped, om->wrapped, om->nwrapped,
					b.wrapped);

		b.t.types = join(b.types, nt, b.t.types_buf, 1);
		b.t.wrapped = join(b.wrapped, nw, b.t.wrapped_buf, 1);
		res->verdict = b.t.types.len ? SDP_MSRP_OK : SDP_MSRP_NO_COMMON_TYPE;
	}
	if (rc != -ENOENT)
		res->index = om->index;
	res->sip_code = res->verdict == SDP_MSRP_OK ? 0 :
			res->verdict == SDP_MSRP_NO_COMMON_TYPE ? 415 : 488;

	base(&b.s, l, offer->time.len ? offer->time : CM_SLICE_LIT("0 0"));
	for (unsigned i = 0; i < offer->nmedia; i++) {
		const struct sdp_media *m = &offer->media[i];

		if (res->verdict == SDP_MSRP_OK && (int)i == om->index) {
			res->setup = answer_setup(om->setup, l->setup);
			res->we_connect = res->setup == SDP_SETUP_ACTIVE;
			res->cema = l->cema && om->cema;
			rc = add_stream(&b.s, l, m->proto, &b.t, res->setup, res->cema,
					answer_dir(om->dir, l->dir));
		} else {
			rc = sdp_add_media(&b.s, m->media, 0, m->proto, m->fmts);
		}
		if (rc < 0)
			return -EINVAL;
	}
	return emit(&b.s, buf, len, n);
}

/* ---- what an offer and its answer decided ------------------------------------------- */

int sdp_msrp_negotiate(const struct sdp_msrp_media *offer,
		       const struct sdp_msrp_media *answer, int we_offered,
		       struct sdp_msrp_session *out)
{
	enum sdp_setup os = offer->setup, as = answer->setup;
	int offerer_active = 0;
	const struct sdp_msrp_media *peer = we_offered ? answer : offer;

	memset(out, 0, sizeof(*out));
	if (offer->port == 0 || answer->port == 0)
		return -ECONNREFUSED;
	if (as == SDP_SETUP_ACTPASS)
		return -EPROTO;
	if (os == SDP_SETUP_HOLDCONN || as == SDP_SETUP_HOLDCONN) {
		out->hold = 1;
	} else if (as == SDP_SETUP_ABSENT) {
		offerer_active = os != SDP_SETUP_PASSIVE;
	} else if (as == SDP_SETUP_ACTIVE) {
		if (os == SDP_SETUP_ACTIVE)
			return -EPROTO;
		offerer_active = 0;
	} else {
		if (os == SDP_SETUP_PASSIVE)
			return -EPROTO;
		offerer_active = 1;
	}
	out->we_connect = out->hold ? 0 : (we_offered ? offerer_active : !offerer_active);
	out->cema = offer->cema && answer->cema;
	out->reuse = peer->connection == SDP_CONNECTION_EXISTING;
	out->tls = peer->tls;
	out->peer = peer;
	out->connect_to = peer->npath ? &peer->path[0] : NULL;
	out->cema_addr = peer->conn.addr;
	out->cema_port = peer->port;
	return 0;
}
