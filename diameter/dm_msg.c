/* dm_msg.c — Diameter messages and AVPs, read in place and written (dm_msg.h). */
#include "diameter/dm_msg.h"

#include <errno.h>
#include <string.h>

/* ---- reading -------------------------------------------------------------------------- */

static uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static uint32_t max_message(const struct dm_limits *lim)
{
	uint32_t m = lim && lim->max_message ? lim->max_message : DM_DEFAULT_MAX_MESSAGE;
	return m > 0xffffff ? 0xffffff : m;
}

long dm_msg_length(const uint8_t *p, size_t len, const struct dm_limits *lim)
{
	if (len < 4)
		return 0;
	if (p[0] != DM_VERSION)
		return -EPROTO;
	uint32_t n = rd24(p + 1);
	if (n < DM_HDR_LEN || n % 4 || n > max_message(lim))
		return -EMSGSIZE;
	return (long)n;
}

int dm_hdr_parse(const uint8_t *p, size_t len, struct dm_hdr *h, uint32_t *rc)
{
	if (len < DM_HDR_LEN) {
		*rc = DM_RC_INVALID_MESSAGE_LENGTH;
		return -EBADMSG;
	}
	h->version = p[0];
	h->length = rd24(p + 1);
	h->flags = p[4];
	h->code = rd24(p + 5);
	h->app_id = rd32(p + 8);
	h->hop_by_hop = rd32(p + 12);
	h->end_to_end = rd32(p + 16);
	if (h->version != DM_VERSION) {
		*rc = DM_RC_UNSUPPORTED_VERSION;
		return -EBADMSG;
	}
	if (h->length < DM_HDR_LEN || h->length % 4 || h->length > len) {
		*rc = DM_RC_INVALID_MESSAGE_LENGTH;
		return -EBADMSG;
	}
	/* an error bit on a request (RFC 6733 §3; the reserved bits are ignored) */
	if ((h->flags & DM_FLAG_R) && (h->flags & DM_FLAG_E)) {
		*rc = DM_RC_INVALID_HDR_BITS;
		return -EBADMSG;
	}
	return 0;
}

void dm_avp_iter_init(struct dm_avp_iter *it, const uint8_t *p, uint32_t len)
{
	it->p = p;
	it->len = len;
	it->off = 0;
}

int dm_avp_next(struct dm_avp_iter *it, struct dm_avp *a, uint32_t *rc)
{
	uint32_t left = it->len - it->off;
	if (!left)
		return 0;
	const uint8_t *p = it->p + it->off;
	if (left < DM_AVP_HDR) {
		*rc = DM_RC_INVALID_AVP_LENGTH;
		return -EBADMSG;
	}
	a->code = rd32(p);
	a->flags = p[4];
	a->length = rd24(p + 5);
	a->off = it->off;
	uint32_t hl = (a->flags & DM_AVP_V) ? DM_AVP_HDR_V : DM_AVP_HDR;
	if (a->length < hl || a->length > left) {
		*rc = DM_RC_INVALID_AVP_LENGTH;
		return -EBADMSG;
	}
	/* padded to 4; the last AVP of a Grouped one may come without (some peers count the
	 * group's length so): its region ends there */
	uint32_t padded = (a->length + 3u) & ~3u; /* (a->length <= 2^24) */
	if (padded > left)
		padded = left;
	if (a->flags & 0x1f) {
		*rc = DM_RC_INVALID_AVP_BITS;
		return -EBADMSG;
	}
	a->vendor = (a->flags & DM_AVP_V) ? rd32(p + 8) : 0;
	a->data = p + hl;
	a->data_len = a->length - hl;
	it->off += padded;
	return 1;
}

struct walk {
	const struct dm_limits *lim;
	int (*is_grouped)(void *arg, uint32_t code, uint32_t vendor);
	void *arg;
	uint32_t navps, max_avps;
	unsigned max_depth;
	const uint8_t *base;           /* the message (offsets of Failed-AVP from there) */
	uint32_t *rc, *fail_off, *fail_len;
};

static int walk(struct walk *w, const uint8_t *p, uint32_t len, unsigned depth)
{
	struct dm_avp_iter it;
	struct dm_avp a;
	int r;
	dm_avp_iter_init(&it, p, len);
	while ((r = dm_avp_next(&it, &a, w->rc)) == 1) {
		if (++w->navps > w->max_avps) {
			*w->rc = DM_RC_UNABLE_TO_COMPLY;
			*w->fail_off = *w->fail_len = 0;
			return -EBADMSG;
		}
		if (w->is_grouped && w->is_grouped(w->arg, a.code, a.vendor)) {
			if (depth + 1 >= w->max_depth) {
				*w->rc = DM_RC_UNABLE_TO_COMPLY;
				*w->fail_off = (uint32_t)(p - w->base) + a.off;
				*w->fail_len = a.length;
				return -EBADMSG;
			}
			if (walk(w, a.data, a.data_len, depth + 1) < 0) {
				if (*w->rc == DM_RC_INVALID_AVP_LENGTH && !*w->fail_len) {
					/* a Grouped AVP whose inside does not add up: it is at fault */
					*w->fail_off = (uint32_t)(p - w->base) + a.off;
					*w->fail_len = a.length;
				}
				return -EBADMSG;
			}
		}
	}
	if (r < 0) {
		/* the AVP at fault, as much of it as there is */
		uint32_t left = len - it.off;
		*w->fail_off = (uint32_t)(p - w->base) + it.off;
		*w->fail_len = left < DM_AVP_HDR_V ? left : DM_AVP_HDR_V;
		if (*w->rc == DM_RC_INVALID_AVP_LENGTH && depth > 0)
			*w->fail_len = 0; /* named by the Grouped AVP around it (above) */
		return -EBADMSG;
	}
	return 0;
}

int dm_msg_check(const uint8_t *p, size_t len, const struct dm_limits *lim,
		 int (*is_grouped)(void *arg, uint32_t code, uint32_t vendor), void *arg,
		 uint32_t *rc, uint32_t *fail_off, uint32_t *fail_len, uint32_t *navps)
{
	struct dm_hdr h;
	*fail_off = *fail_len = 0;
	if (navps)
		*navps = 0;
	if (len > max_message(lim)) {
		*rc = DM_RC_INVALID_MESSAGE_LENGTH;
		return -EBADMSG;
	}
	if (dm_hdr_parse(p, len, &h, rc) < 0)
		return -EBADMSG;
	unsigned depth = lim && lim->max_depth ? lim->max_depth : DM_DEFAULT_MAX_DEPTH;
	struct walk w = {
		.lim = lim, .is_grouped = is_grouped, .arg = arg,
		.max_avps = lim && lim->max_avps ? lim->max_avps : DM_DEFAULT_MAX_AVPS,
		.max_depth = depth > DM_MAX_DEPTH ? DM_MAX_DEPTH : depth,
		.base = p, .rc = rc, .fail_off = fail_off, .fail_len = fail_len,
	};
	int r = walk(&w, p + DM_HDR_LEN, h.length - DM_HDR_LEN, 0);
	if (navps)
		*navps = w.navps;
	if (r == 0)
		*rc = DM_RC_SUCCESS;
	return r;
}

int dm_get_u32(const struct dm_avp *a, uint32_t *v)
{
	if (a->data_len != 4)
		return -EINVAL;
	*v = rd32(a->data);
	return 0;
}

int dm_get_u64(const struct dm_avp *a, uint64_t *v)
{
	if (a->data_len != 8)
		return -EINVAL;
	*v = rd64(a->data);
	return 0;
}

int dm_get_i32(const struct dm_avp *a, int32_t *v)
{
	uint32_t u;
	if (dm_get_u32(a, &u) < 0)
		return -EINVAL;
	memcpy(v, &u, sizeof(*v)); /* two's complement on the wire and here */
	return 0;
}

int dm_get_i64(const struct dm_avp *a, int64_t *v)
{
	uint64_t u;
	if (dm_get_u64(a, &u) < 0)
		return -EINVAL;
	memcpy(v, &u, sizeof(*v));
	return 0;
}

int dm_get_f32(const struct dm_avp *a, float *v)
{
	uint32_t u;
	_Static_assert(sizeof(float) == 4, "IEEE 754 binary32");
	if (dm_get_u32(a, &u) < 0)
		return -EINVAL;
	memcpy(v, &u, sizeof(*v));
	return 0;
}

int dm_get_f64(const struct dm_avp *a, double *v)
{
	uint64_t u;
	_Static_assert(sizeof(double) == 8, "IEEE 754 binary64");
	if (dm_get_u64(a, &u) < 0)
		return -EINVAL;
	memcpy(v, &u, sizeof(*v));
	return 0;
}

int dm_get_address(const struct dm_avp *a, uint16_t *family, const uint8_t **addr,
		   uint32_t *alen)
{
	if (a->data_len < 2)
		return -EINVAL;
	*family = (uint16_t)(a->data[0] << 8 | a->data[1]);
	*addr = a->data + 2;
	*alen = a->data_len - 2;
	if ((*family == 1 && *alen != 4) || (*family == 2 && *alen != 16) || *alen > 255)
		return -EINVAL;
	return 0;
}

/* Seconds between 1900-01-01 (NTP) and 1970-01-01 (Unix). */
#define NTP_UNIX_DELTA 2208988800LL

int dm_get_time(const struct dm_avp *a, int64_t *unix_s)
{
	uint32_t ntp;
	if (dm_get_u32(a, &ntp) < 0)
		return -EINVAL;
	/* RFC 5905 / RFC 6733 §4.3.1: a value with the top bit clear is in the era that
	 * begins in 2036 (the 32-bit field wraps on 7 February 2036) */
	int64_t s = (int64_t)ntp - NTP_UNIX_DELTA;
	if (!(ntp & 0x80000000u))
		s += (int64_t)1 << 32;
	*unix_s = s;
	return 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

static void wr24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	wr24(p + 1, v & 0xffffff);
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)(v >> 32));
	wr32(p + 4, (uint32_t)v);
}

void dm_w_init(struct dm_wbuf *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
}

/* Room for <n> more bytes, or the error sticks. */
static uint8_t *room(struct dm_wbuf *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > w->cap - w->len) {
		w->err = -ENOSPC;
		return NULL;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

void dm_w_hdr(struct dm_wbuf *w, uint8_t flags, uint32_t code, uint32_t app_id,
	      uint32_t hop_by_hop, uint32_t end_to_end)
{
	if (!w->err && (w->len || code > 0xffffff || (flags & 0x0f)))
		w->err = -EINVAL;
	uint8_t *p = room(w, DM_HDR_LEN);
	if (!p)
		return;
	p[0] = DM_VERSION;
	wr24(p + 1, 0); /* dm_w_finish */
	p[4] = flags;
	wr24(p + 5, code);
	wr32(p + 8, app_id);
	wr32(p + 12, hop_by_hop);
	wr32(p + 16, end_to_end);
}

/* The AVP header with a length of <len> data bytes (0 for a Grouped one, set at its end). */
static uint8_t *avp_head(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
			 size_t len)
{
	size_t hl = vendor ? DM_AVP_HDR_V : DM_AVP_HDR;
	if (!w->err && (w->len < DM_HDR_LEN || len > 0xffffff - hl))
		w->err = -EINVAL;
	uint8_t *p = room(w, hl);
	if (!p)
		return NULL;
	flags = (uint8_t)((flags & (DM_AVP_M | DM_AVP_P)) | (vendor ? DM_AVP_V : 0));
	wr32(p, code);
	p[4] = flags;
	wr24(p + 5, (uint32_t)(hl + len));
	if (vendor)
		wr32(p + 8, vendor);
	return p;
}

static void pad(struct dm_wbuf *w)
{
	size_t n = (4 - w->len % 4) % 4;
	uint8_t *p = room(w, n);
	if (p && n)
		memset(p, 0, n);
}

void dm_w_avp(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
	      const void *data, size_t len)
{
	if (!avp_head(w, code, flags, vendor, len))
		return;
	uint8_t *p = room(w, len);
	if (p && len)
		memcpy(p, data, len);
	pad(w);
}

void dm_w_raw(struct dm_wbuf *w, const void *avps, size_t len)
{
	if (len % 4) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	uint8_t *p = room(w, len);
	if (p && len)
		memcpy(p, avps, len);
}

void dm_w_u32(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, uint32_t v)
{
	uint8_t b[4];
	wr32(b, v);
	dm_w_avp(w, code, flags, vendor, b, 4);
}

void dm_w_u64(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, uint64_t v)
{
	uint8_t b[8];
	wr64(b, v);
	dm_w_avp(w, code, flags, vendor, b, 8);
}

void dm_w_f32(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	dm_w_u32(w, code, flags, vendor, u);
}

void dm_w_f64(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	dm_w_u64(w, code, flags, vendor, u);
}

void dm_w_str(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
	      const char *s)
{
	dm_w_avp(w, code, flags, vendor, s, strlen(s));
}

void dm_w_address(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
		  uint16_t family, const void *addr, size_t alen)
{
	uint8_t b[2 + 255];
	if (alen > 255) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	b[0] = (uint8_t)(family >> 8);
	b[1] = (uint8_t)family;
	if (alen)
		memcpy(b + 2, addr, alen);
	dm_w_avp(w, code, flags, vendor, b, 2 + alen);
}

void dm_w_time(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor,
	       int64_t unix_s)
{
	/* the 32-bit NTP seconds of <unix_s> (1968 to 2104, in two eras) */
	dm_w_u32(w, code, flags, vendor, (uint32_t)(uint64_t)(unix_s + NTP_UNIX_DELTA));
}

void dm_w_group_begin(struct dm_wbuf *w, uint32_t code, uint8_t flags, uint32_t vendor)
{
	if (!w->err && w->depth >= DM_MAX_DEPTH)
		w->err = -EINVAL;
	size_t at = w->len;
	if (avp_head(w, code, flags, vendor, 0))
		w->open[w->depth++] = at;
}

void dm_w_group_end(struct dm_wbuf *w)
{
	if (!w->err && !w->depth)
		w->err = -EINVAL;
	if (w->err)
		return;
	size_t at = w->open[--w->depth];
	size_t n = w->len - at; /* its AVPs are padded: its length needs none */
	if (n > 0xffffff) {
		w->err = -EINVAL;
		return;
	}
	wr24(w->buf + at + 5, (uint32_t)n);
}

long dm_w_finish(struct dm_wbuf *w)
{
	if (!w->err && (w->len < DM_HDR_LEN || w->depth || w->len > 0xffffff))
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	wr24(w->buf + 1, (uint32_t)w->len);
	return (long)w->len;
}
