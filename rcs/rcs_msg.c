/* rcs_msg.c — CPIM envelopes, IMDNs and isComposing bodies of RCS chat (rcs_msg.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>

#include "rcs/rcs_msg.h"

#define URI_MAX 1024                   /* bytes of a From or To URI we write */

static cm_slice sl(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

static int eq_ci(cm_slice a, const char *b)
{
	size_t n = strlen(b);
	return a.len == n && !strncasecmp(a.p, b, n);
}

/* The type/subtype of a Content-Type value: parameters and surrounding blanks dropped. */
static cm_slice media_type(cm_slice v)
{
	size_t i = 0, e;
	while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
		i++;
	e = i;
	while (e < v.len && v.p[e] != ';')
		e++;
	while (e > i && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
		e--;
	return (cm_slice){ v.p + i, e - i };
}

/* "<uri>" into <buf>: -EINVAL when <uri> is empty, too long or holds what an address cannot. */
static int angle(cm_slice uri, char *buf, size_t cap)
{
	if (!uri.len || uri.len + 3 > cap)
		return -EINVAL;
	for (size_t i = 0; i < uri.len; i++)
		if (uri.p[i] == '<' || uri.p[i] == '>' || uri.p[i] == '\r' || uri.p[i] == '\n')
			return -EINVAL;
	buf[0] = '<';
	memcpy(buf + 1, uri.p, uri.len);
	buf[uri.len + 1] = '>';
	buf[uri.len + 2] = '\0';
	return 0;
}

/* Writes <co> into a fresh buffer. */
static long cpim_alloc(const struct rcs_cpim_out *co, char **out)
{
	long n = rcs_cpim_write(NULL, 0, co);
	if (n < 0)
		return n;
	char *b = malloc((size_t)n + 1);
	if (!b)
		return -ENOMEM;
	long w = rcs_cpim_write(b, (size_t)n + 1, co);
	if (w < 0) {
		free(b);
		return w;
	}
	*out = b;
	return w;
}

long rcs_msg_wrap(const struct rcs_msg_out *o, char **out)
{
	char from[URI_MAX], to[URI_MAX], dt[32], dn[96];
	struct rcs_cpim_ns ns[1 + RCS_MSG_MAX_EXTRA];
	struct rcs_cpim_hdr h[2 + RCS_MSG_MAX_EXTRA];
	unsigned nns = 0, nh = 0;
	if (o->nextra > RCS_MSG_MAX_EXTRA || !o->message_id.len)
		return -EINVAL;
	if (angle(o->from, from, sizeof(from)) < 0 || angle(o->to, to, sizeof(to)) < 0)
		return -EINVAL;
	rcs_cpim_datetime(o->now_ms, dt);
	ns[nns++] = (struct rcs_cpim_ns){ CM_SLICE_LIT("imdn"), CM_SLICE_LIT(RCS_NS_IMDN) };
	h[nh++] = (struct rcs_cpim_hdr){ .prefix = CM_SLICE_LIT("imdn"),
					 .name = CM_SLICE_LIT("Message-ID"),
					 .value = o->message_id };
	if (o->dn) {
		long n = rcs_imdn_dn_write(dn, sizeof(dn), o->dn);
		if (n < 0)
			return n;
		h[nh++] = (struct rcs_cpim_hdr){ .prefix = CM_SLICE_LIT("imdn"),
						 .name = CM_SLICE_LIT("Disposition-Notification"),
						 .value = { dn, (size_t)n } };
	}
	for (unsigned i = 0; i < o->nextra; i++) {
		const struct rcs_msg_extra *x = &o->extra[i];
		unsigned k = 0;
		while (k < nns && !(ns[k].prefix.len == x->prefix.len &&
				    !memcmp(ns[k].prefix.p, x->prefix.p, x->prefix.len)))
			k++;
		if (k == nns) {
			if (!x->ns_uri.len)
				return -EINVAL;
			ns[nns++] = (struct rcs_cpim_ns){ x->prefix, x->ns_uri };
		} else if (x->ns_uri.len && (ns[k].uri.len != x->ns_uri.len ||
					     memcmp(ns[k].uri.p, x->ns_uri.p, x->ns_uri.len))) {
			return -EINVAL; /* one prefix, two namespaces */
		}
		h[nh++] = (struct rcs_cpim_hdr){ .prefix = x->prefix, .name = x->name,
						 .value = x->value };
	}
	struct rcs_cpim_out co = {
		.from = sl(from), .to = sl(to), .datetime = sl(dt), .subject = o->subject,
		.ns = ns, .nns = nns, .hdrs = h, .nhdrs = nh,
		.content_type = o->content_type,
		.body = { o->body, o->len },
	};
	return cpim_alloc(&co, out);
}

/* An XML body written by <wr> (rcs_imdn_write()'s contract) into a fresh buffer. */
static long xml_alloc(long (*wr)(char *, size_t, const void *), const void *arg, char **out)
{
	long n = wr(NULL, 0, arg);
	if (n < 0)
		return n;
	char *x = malloc((size_t)n + 1);
	if (!x)
		return -ENOMEM;
	if ((n = wr(x, (size_t)n + 1, arg)) < 0) {
		free(x);
		return n;
	}
	*out = x;
	return n;
}

static long imdn_wr(char *buf, size_t cap, const void *arg)
{
	return rcs_imdn_write(buf, cap, arg);
}

static long composing_wr(char *buf, size_t cap, const void *arg)
{
	return rcs_composing_write(buf, cap, arg);
}

long rcs_msg_imdn(cm_slice from, cm_slice to, cm_slice notification_id, const struct rcs_imdn *n,
		  long long now_ms, char **out)
{
	char f[URI_MAX], t[URI_MAX], dt[32];
	if (angle(from, f, sizeof(f)) < 0 || angle(to, t, sizeof(t)) < 0 || !notification_id.len)
		return -EINVAL;
	char *x;
	long xl = xml_alloc(imdn_wr, n, &x);
	if (xl < 0)
		return xl;
	rcs_cpim_datetime(now_ms, dt);
	struct rcs_cpim_ns ns = { CM_SLICE_LIT("imdn"), CM_SLICE_LIT(RCS_NS_IMDN) };
	struct rcs_cpim_hdr h = { .prefix = CM_SLICE_LIT("imdn"), .name = CM_SLICE_LIT("Message-ID"),
				  .value = notification_id };
	/* RFC 5438 §7.1.2: the IMDN says it is one */
	struct rcs_cpim_hdr mime = { .name = CM_SLICE_LIT("Content-Disposition"),
				     .value = CM_SLICE_LIT("notification") };
	struct rcs_cpim_out co = {
		.from = sl(f), .to = sl(t), .datetime = sl(dt), .ns = &ns, .nns = 1, .hdrs = &h,
		.nhdrs = 1, .content_type = CM_SLICE_LIT(RCS_CT_IMDN), .mime = &mime, .nmime = 1,
		.body = { x, (size_t)xl },
	};
	long rc = cpim_alloc(&co, out);
	free(x);
	return rc;
}

long rcs_msg_composing(const struct rcs_composing *c, int wrap, cm_slice from, cm_slice to,
		       cm_slice message_id, long long now_ms, char **out)
{
	char *x;
	long xl = xml_alloc(composing_wr, c, &x);
	if (xl < 0)
		return xl;
	if (!wrap) {
		*out = x;
		return xl;
	}
	struct rcs_msg_out o = { .from = from, .to = to, .message_id = message_id,
				 .content_type = CM_SLICE_LIT(RCS_CT_COMPOSING), .body = x,
				 .len = (size_t)xl, .now_ms = now_ms };
	long rc = rcs_msg_wrap(&o, out);
	free(x);
	return rc;
}

/* The URI of the first core header <name> of <m>, empty when none or unusable. */
static cm_slice addr_of(const struct rcs_cpim_msg *m, const char *name)
{
	cm_slice d, u;
	const struct rcs_cpim_hdr *h = rcs_cpim_get(m, CM_SLICE_NULL, name, NULL);
	if (!h || rcs_cpim_addr(h->value, &d, &u) < 0)
		return CM_SLICE_NULL;
	return u;
}

void rcs_msg_parse(cm_slice ctype, const char *body, size_t len, struct rcs_msg_in *in)
{
	memset(in, 0, sizeof(*in));
	in->content_type = ctype;
	in->body = (cm_slice){ body, len };
	if (eq_ci(media_type(ctype), RCS_CT_CPIM)) {
		struct rcs_cpim_msg *m = &in->cpim;
		int rc = rcs_cpim_parse(body, len, m);
		if (rc < 0) {
			memset(m, 0, sizeof(*m));
			in->bad = rc;
			return;
		}
		in->wrapped = 1;
		in->content_type = m->content_type;
		in->body = m->body;
		in->from_uri = addr_of(m, "From");
		in->to_uri = addr_of(m, "To");
		const struct rcs_cpim_hdr *h = rcs_cpim_get(m, CM_SLICE_NULL, "DateTime", NULL);
		if (h)
			in->datetime = h->value;
		if ((h = rcs_cpim_get(m, CM_SLICE_LIT(RCS_NS_IMDN), "Message-ID", NULL)))
			in->imdn_id = h->value;
		if ((h = rcs_cpim_get(m, CM_SLICE_LIT(RCS_NS_IMDN), "Disposition-Notification",
				      NULL)))
			in->dn = rcs_imdn_dn_parse(h->value.p, h->value.len);
	}
	cm_slice t = media_type(in->content_type);
	if (eq_ci(t, RCS_CT_IMDN)) {
		int rc = rcs_imdn_parse(in->body.p, in->body.len, &in->imdn);
		if (rc < 0)
			in->bad = rc;
		else
			in->kind = RCS_IN_IMDN;
	} else if (eq_ci(t, RCS_CT_COMPOSING)) {
		int rc = rcs_composing_parse(in->body.p, in->body.len, &in->comp);
		if (rc < 0)
			in->bad = rc;
		else
			in->kind = RCS_IN_COMPOSING;
	} else if (eq_ci(t, RCS_CT_FTHTTP)) { /* a message all the same, its descriptor read */
		int rc = rcs_fthttp_parse(in->body.p, in->body.len, &in->ft);
		if (rc < 0)
			in->bad = rc;
		else
			in->has_ft = 1;
	}
}

/* 1 when <p>[0..<n>) is UTF-8 that a JSON string can hold as it is (no NUL). */
static int utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i], k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2
						       : (c >> 3) == 30 ? 3 : 4;
		if (k == 4 || i + k >= n + (k ? 0 : 1))
			return 0;
		for (unsigned j = 1; j <= k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
		if (c == 0)
			return 0;
		i += k + 1;
	}
	return 1;
}

/* <s> as a JSON string; bytes that are not UTF-8 (peers send anything) become '?', so that
 * an event is never lost to one bad byte. */
static json_t *js(cm_slice s)
{
	if (utf8_valid((const unsigned char *)s.p, s.len))
		return json_stringn(s.p ? s.p : "", s.len);
	char *c = malloc(s.len + 1);
	if (!c)
		return NULL;
	for (size_t i = 0; i < s.len;) {
		unsigned char b = (unsigned char)s.p[i];
		size_t k = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
		if (k && i + k <= s.len && utf8_valid((const unsigned char *)s.p + i, k)) {
			memcpy(c + i, s.p + i, k);
			i += k;
		} else {
			c[i++] = '?';
		}
	}
	json_t *j = json_stringn(c, s.len);
	free(c);
	return j;
}

json_t *rcs_msg_cpim_json(const struct rcs_msg_in *in)
{
	if (!in->wrapped)
		return NULL;
	const struct rcs_cpim_msg *m = &in->cpim;
	json_t *o = json_object(), *hdrs = json_object(), *ns = json_object(), *cc = json_array();
	if (!o || !hdrs || !ns || !cc) {
		json_decref(o);
		json_decref(hdrs);
		json_decref(ns);
		json_decref(cc);
		return NULL;
	}
	if (in->from_uri.len)
		json_object_set_new(o, "from", js(in->from_uri));
	if (in->to_uri.len)
		json_object_set_new(o, "to", js(in->to_uri));
	if (in->datetime.len)
		json_object_set_new(o, "datetime", js(in->datetime));
	for (unsigned i = 0; i < m->nns; i++) {
		char k[128];
		snprintf(k, sizeof(k), "%.*s", (int)m->ns[i].prefix.len, m->ns[i].prefix.p);
		if (!json_object_get(ns, k))
			json_object_set_new(ns, k, js(m->ns[i].uri));
	}
	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct rcs_cpim_hdr *h = &m->hdrs[i];
		char k[256];
		if (!h->prefix.len) {
			if (eq_ci(h->name, "From") || eq_ci(h->name, "To") ||
			    eq_ci(h->name, "DateTime") || eq_ci(h->name, "NS"))
				continue;
			if (eq_ci(h->name, "cc")) {
				cm_slice d, u;
				if (rcs_cpim_addr(h->value, &d, &u) == 0)
					json_array_append_new(cc, js(u));
				continue;
			}
			if (eq_ci(h->name, "Subject")) {
				if (!json_object_get(o, "subject"))
					json_object_set_new(o, "subject", js(h->value));
				continue;
			}
			snprintf(k, sizeof(k), "%.*s", (int)h->name.len, h->name.p);
		} else {
			snprintf(k, sizeof(k), "%.*s.%.*s", (int)h->prefix.len, h->prefix.p,
				 (int)h->name.len, h->name.p);
		}
		if (!json_object_get(hdrs, k))
			json_object_set_new(hdrs, k, js(h->value));
	}
	if (json_array_size(cc))
		json_object_set_new(o, "cc", cc);
	else
		json_decref(cc);
	json_object_set_new(o, "headers", hdrs);
	json_object_set_new(o, "ns", ns);
	return o;
}

json_t *rcs_msg_dn_json(unsigned dn)
{
	static const struct {
		unsigned bit;
		const char *name;
	} t[] = {
		{ RCS_DN_POSITIVE_DELIVERY, "positive-delivery" },
		{ RCS_DN_NEGATIVE_DELIVERY, "negative-delivery" },
		{ RCS_DN_DISPLAY, "display" },
		{ RCS_DN_PROCESSING, "processing" },
	};
	json_t *a = json_array();
	for (size_t i = 0; a && i < sizeof(t) / sizeof(t[0]); i++)
		if (dn & t[i].bit)
			json_array_append_new(a, json_string(t[i].name));
	return a;
}


/* 1 for the types an application reads as text: text/ *, application/json and the +json and
 * +xml suffixes (RFC 6839), which chatbot content (vnd.gsma.botmessage.v1.0+json) is. */
static int is_texty(cm_slice t)
{
	static const char *const sfx[] = { "+json", "+xml" };
	if (t.len >= 5 && !strncasecmp(t.p, "text/", 5))
		return 1;
	if (eq_ci(t, "application/json") || eq_ci(t, "application/xml"))
		return 1;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t n = strlen(sfx[i]);
		if (t.len > n && !strncasecmp(t.p + t.len - n, sfx[i], n))
			return 1;
	}
	return 0;
}

json_t *rcs_msg_event(const struct rcs_msg_in *in, const char *transport_id)
{
	cm_slice ct = in->content_type, body = in->body;
	cm_slice id = in->imdn_id.len ? in->imdn_id : sl(transport_id ? transport_id : "");
	json_t *ev = json_pack("{s:o, s:o, s:I}", "message_id", js(id), "content_type", js(ct),
			       "size", (json_int_t)body.len);
	if (!ev)
		return NULL;
	int text = is_texty(media_type(ct));
	json_t *tb = text && utf8_valid((const unsigned char *)body.p, body.len)
			     ? json_stringn(body.p ? body.p : "", body.len) : NULL;
	if (tb) {
		json_object_set_new(ev, "body", tb);
	} else { /* not text, or text jansson takes for no UTF-8: base64 */
		word32 n = (word32)((body.len + 2) / 3 * 4 + 1);
		char *b = malloc(n);
		if (b && (!body.len || Base64_Encode_NoNl((const byte *)body.p, (word32)body.len,
							  (byte *)b, &n) == 0))
			json_object_set_new(ev, "body_base64", json_stringn(b, body.len ? n : 0));
		free(b);
	}
	if (in->wrapped) {
		json_t *c = rcs_msg_cpim_json(in);
		if (c)
			json_object_set_new(ev, "cpim", c);
		if (in->dn)
			json_object_set_new(ev, "disposition_notification", rcs_msg_dn_json(in->dn));
	}
	if (in->has_ft)
		json_object_set_new(ev, "fthttp", rcs_msg_fthttp_json(&in->ft));
	return ev;
}

static json_t *ft_info_json(const struct rcs_ft_info *i)
{
	json_t *o = json_pack("{s:s, s:I}", "url", i->url, "size", (json_int_t)i->size);
	if (!o)
		return NULL;
	if (i->name[0])
		json_object_set_new(o, "name", json_string(i->name));
	if (i->content_type[0])
		json_object_set_new(o, "content_type", json_string(i->content_type));
	if (i->until[0])
		json_object_set_new(o, "until", json_string(i->until));
	if (i->disposition[0])
		json_object_set_new(o, "disposition", json_string(i->disposition));
	if (i->playing_length)
		json_object_set_new(o, "playing_length", json_integer(i->playing_length));
	return o;
}

json_t *rcs_msg_fthttp_json(const struct rcs_fthttp *f)
{
	json_t *o = json_object();
	if (o && f->file.present)
		json_object_set_new(o, "file", ft_info_json(&f->file));
	if (o && f->thumbnail.present)
		json_object_set_new(o, "thumbnail", ft_info_json(&f->thumbnail));
	return o;
}

/* One part of the descriptor from JSON <j> (named <what> in errors). */
static int ft_info_from(json_t *j, struct rcs_ft_info *i, int file, const char *what, char *err,
			size_t errlen)
{
	static const struct {
		const char *key;
		size_t off, cap;
		int file_only;
	} strs[] = {
		{ "url", offsetof(struct rcs_ft_info, url), sizeof(((struct rcs_ft_info *)0)->url), 0 },
		{ "name", offsetof(struct rcs_ft_info, name), sizeof(((struct rcs_ft_info *)0)->name), 1 },
		{ "content_type", offsetof(struct rcs_ft_info, content_type),
		  sizeof(((struct rcs_ft_info *)0)->content_type), 0 },
		{ "until", offsetof(struct rcs_ft_info, until), sizeof(((struct rcs_ft_info *)0)->until), 0 },
		{ "disposition", offsetof(struct rcs_ft_info, disposition),
		  sizeof(((struct rcs_ft_info *)0)->disposition), 1 },
	};
	const char *k;
	json_t *v;
	if (!json_is_object(j)) {
		snprintf(err, errlen, "field 'fthttp.%s' must be an object", what);
		return -EINVAL;
	}
	json_object_foreach(j, k, v) {
		size_t x = 0;
		while (x < sizeof(strs) / sizeof(strs[0]) && strcmp(k, strs[x].key))
			x++;
		if (x < sizeof(strs) / sizeof(strs[0]) && (file || !strs[x].file_only)) {
			const char *sv = json_string_value(v);
			if (!sv || strlen(sv) >= strs[x].cap) {
				snprintf(err, errlen, "field 'fthttp.%s.%s' must be a string of at most "
					 "%zu bytes", what, k, strs[x].cap - 1);
				return -EINVAL;
			}
			memcpy((char *)i + strs[x].off, sv, strlen(sv) + 1);
		} else if (!strcmp(k, "size") || (file && !strcmp(k, "playing_length"))) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    (k[0] == 'p' && json_integer_value(v) > 0x7fffffff)) {
				snprintf(err, errlen, "field 'fthttp.%s.%s' must be a whole number",
					 what, k);
				return -EINVAL;
			}
			if (k[0] == 's')
				i->size = (uint64_t)json_integer_value(v);
			else
				i->playing_length = (unsigned)json_integer_value(v);
		} else {
			snprintf(err, errlen, "unknown field 'fthttp.%s.%.64s'", what, k);
			return -EINVAL;
		}
	}
	if (!i->url[0]) {
		snprintf(err, errlen, "field 'fthttp.%s.url' is required", what);
		return -EINVAL;
	}
	i->present = 1;
	return 0;
}

int rcs_msg_fthttp_from_json(json_t *j, struct rcs_fthttp *f, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	memset(f, 0, sizeof(*f));
	if (!json_is_object(j) || !json_object_get(j, "file")) {
		snprintf(err, errlen, "field 'fthttp' must be an object with a 'file'");
		return -EINVAL;
	}
	json_object_foreach(j, k, v) {
		int file = !strcmp(k, "file");
		if (!file && strcmp(k, "thumbnail")) {
			snprintf(err, errlen, "unknown field 'fthttp.%.64s'", k);
			return -EINVAL;
		}
		if (ft_info_from(v, file ? &f->file : &f->thumbnail, file, k, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

json_t *rcs_msg_imdn_event(const struct rcs_msg_in *in, const char **type)
{
	const struct rcs_imdn *n = &in->imdn;
	switch (n->status) {
	case RCS_IMDN_DELIVERED:
		*type = "message.delivered";
		break;
	case RCS_IMDN_DISPLAYED:
		*type = "message.displayed";
		break;
	case RCS_IMDN_PROCESSED:
	case RCS_IMDN_STORED:
		*type = "message.processed";
		break;
	default:
		*type = "message.failed";
		break;
	}
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "message_id", n->message_id, "notification",
			       rcs_imdn_kind_name(n->kind), "status",
			       rcs_imdn_status_name(n->status), "datetime", n->datetime);
	if (!ev)
		return NULL;
	if (n->recipient_uri[0])
		json_object_set_new(ev, "recipient", json_string(n->recipient_uri));
	if (in->imdn_id.len)
		json_object_set_new(ev, "notification_id", js(in->imdn_id));
	if (!strcmp(*type, "message.failed"))
		json_object_set_new(ev, "reason", json_string("imdn"));
	return ev;
}

json_t *rcs_msg_composing_event(const struct rcs_msg_in *in)
{
	const struct rcs_composing *c = &in->comp;
	json_t *ev = json_pack("{s:s}", "state", c->active ? "active" : "idle");
	if (!ev)
		return NULL;
	if (c->refresh)
		json_object_set_new(ev, "refresh", json_integer(c->refresh));
	if (c->lastactive[0])
		json_object_set_new(ev, "last_active", json_string(c->lastactive));
	if (c->contenttype[0])
		json_object_set_new(ev, "content_type", json_string(c->contenttype));
	if (in->from_uri.len)
		json_object_set_new(ev, "from", js(in->from_uri));
	return ev;
}
