/* dm_check.c — received messages against the dictionary, and error answers (dm_check.h). */
#include "diameter/dm_check.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int fault(struct dm_fault *f, uint32_t rc, uint32_t off, uint32_t len, const char *what,
		 const char *name)
{
	f->rc = rc;
	f->off = off;
	f->len = len;
	snprintf(f->what, sizeof(f->what), "%s%s%s", name ? name : "", name ? ": " : "", what);
	return -EBADMSG;
}

/* 1 when <p> (<n>) is UTF-8 (jansson knows it). */
static int utf8_ok(const uint8_t *p, uint32_t n)
{
	json_t *j = json_stringn((const char *)p, n);
	int ok = j != NULL;
	json_decref(j);
	return ok;
}

/* 1 when <p> (<n>) is a DiameterIdentity or DiameterURI's text: not empty, visible ASCII. */
static int ascii_ok(const uint8_t *p, uint32_t n)
{
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

/* A fault of a whole, well-formed AVP (its value or its length for its type). */
static int vfault(struct dm_fault *f, uint32_t rc, uint32_t off, uint32_t len, const char *what,
		  const char *name)
{
	fault(f, rc, off, len, what, name);
	f->whole = 1;
	return -EBADMSG;
}

static int check_region(const struct dm_dict *d, const uint8_t *base, const uint8_t *p,
			uint32_t len, unsigned depth, unsigned max_depth, struct dm_fault *f)
{
	struct dm_avp_iter it;
	struct dm_avp a;
	uint32_t rc;
	int r;
	dm_avp_iter_init(&it, p, len);
	while ((r = dm_avp_next(&it, &a, &rc)) == 1) {
		uint32_t off = (uint32_t)(p - base) + a.off;
		const struct dm_avp_def *def = dm_dict_avp(d, a.code, a.vendor);
		if (!def) {
			if (a.flags & DM_AVP_M)
				return vfault(f, DM_RC_AVP_UNSUPPORTED, off, a.length,
					     "an AVP with M set that this node does not know", NULL);
			continue;
		}
		uint32_t need = 0;
		switch (def->type) {
		case DM_T_I32: case DM_T_U32: case DM_T_F32: case DM_T_TIME: case DM_T_ENUM:
			need = 4;
			break;
		case DM_T_I64: case DM_T_U64: case DM_T_F64:
			need = 8;
			break;
		default:
			break;
		}
		if (need && a.data_len != need)
			return vfault(f, DM_RC_INVALID_AVP_LENGTH, off, a.length,
				     "not the length of its type", def->name);
		uint16_t fam;
		const uint8_t *ad;
		uint32_t al;
		int32_t v;
		switch (def->type) {
		case DM_T_ENUM:
			if (def->vals && dm_get_i32(&a, &v) == 0 && !dm_dict_enum_name(def, v))
				return vfault(f, DM_RC_INVALID_AVP_VALUE, off, a.length,
					     "a value it does not have", def->name);
			break;
		case DM_T_UTF8:
			if (!utf8_ok(a.data, a.data_len))
				return vfault(f, DM_RC_INVALID_AVP_VALUE, off, a.length, "not UTF-8",
					     def->name);
			break;
		case DM_T_IDENTITY: /* an FQDN or realm, in ASCII (IDNs as punycode) */
		case DM_T_URI:      /* "aaa://" FQDN ...: ASCII too (RFC 6733 §4.3.1) */
			if (!ascii_ok(a.data, a.data_len))
				return vfault(f, DM_RC_INVALID_AVP_VALUE, off, a.length,
					     "not a printable ASCII name", def->name);
			break;
		case DM_T_ADDRESS:
			if (dm_get_address(&a, &fam, &ad, &al) < 0)
				return vfault(f, DM_RC_INVALID_AVP_VALUE, off, a.length,
					     "an address of the wrong length for its family",
					     def->name);
			break;
		case DM_T_GROUPED:
			if (depth + 1 >= max_depth)
				return fault(f, DM_RC_UNABLE_TO_COMPLY, off, a.length,
					     "Grouped AVPs nested too deep", def->name);
			if (check_region(d, base, a.data, a.data_len, depth + 1, max_depth, f) < 0)
				return -EBADMSG;
			break;
		default:
			break;
		}
	}
	return r < 0 ? fault(f, rc, (uint32_t)(p - base) + it.off, 0, "malformed AVP", NULL) : 0;
}

int dm_check(const struct dm_dict *d, const uint8_t *p, size_t len, const struct dm_limits *lim,
	     const char *const *required, struct dm_fault *f)
{
	memset(f, 0, sizeof(*f));
	f->rc = DM_RC_SUCCESS;
	uint32_t rc, fo, fl;
	if (dm_msg_check(p, len, lim, dm_dict_is_grouped, (void *)d, &rc, &fo, &fl, NULL) < 0)
		return fault(f, rc, fo, fl, "malformed message", NULL);
	struct dm_hdr h;
	(void)dm_hdr_parse(p, len, &h, &rc);
	if ((h.flags & DM_FLAG_R) && !dm_dict_cmd(d, h.code, h.app_id))
		return fault(f, DM_RC_COMMAND_UNSUPPORTED, 0, 0,
			     "a command of an application this node does not know", NULL);
	unsigned md = lim && lim->max_depth ? lim->max_depth : DM_DEFAULT_MAX_DEPTH;
	if (check_region(d, p, p + DM_HDR_LEN, h.length - DM_HDR_LEN, 0,
			 md > DM_MAX_DEPTH ? DM_MAX_DEPTH : md, f) < 0)
		return -EBADMSG;
	for (size_t i = 0; required && required[i]; i++) {
		const struct dm_avp_def *def = dm_dict_avp_named(d, required[i]);
		if (!def)
			continue;
		struct dm_avp_iter it;
		struct dm_avp a;
		int found = 0;
		dm_avp_iter_init(&it, p + DM_HDR_LEN, h.length - DM_HDR_LEN);
		while (dm_avp_next(&it, &a, &rc) == 1) {
			if (a.code != def->code || a.vendor != def->vendor)
				continue;
			if (found++) { /* required AVPs are single ones (Origin-Host, ...) */
				f->whole = 1;
				return fault(f, DM_RC_AVP_OCCURS_TOO_MANY_TIMES,
					     (uint32_t)DM_HDR_LEN + a.off, a.length,
					     "occurs more than once", def->name);
			}
		}
		if (!found) {
			f->missing_code = def->code;
			f->missing_vendor = def->vendor;
			return fault(f, DM_RC_MISSING_AVP, 0, 0, "missing", def->name);
		}
	}
	return 0;
}

long dm_answer_error(const uint8_t *req, size_t req_len, const struct dm_fault *f,
		     const char *origin_host, const char *origin_realm, uint8_t *out, size_t cap)
{
	struct dm_hdr h;
	uint32_t hrc;
	if (req_len < DM_HDR_LEN)
		return -EINVAL;
	(void)dm_hdr_parse(req, req_len, &h, &hrc); /* a broken header still has its fields */
	uint8_t flags = h.flags & DM_FLAG_P;
	if (f->rc >= 3000 && f->rc < 4000)
		flags |= DM_FLAG_E;
	struct dm_wbuf w;
	dm_w_init(&w, out, cap);
	dm_w_hdr(&w, flags, h.code, h.app_id, h.hop_by_hop, h.end_to_end);
	/* its Session-Id first (RFC 6733 §8.8), when its AVPs can be read that far */
	struct dm_avp_iter it;
	struct dm_avp a;
	uint32_t rc;
	uint32_t body = req_len >= DM_HDR_LEN ? (uint32_t)(req_len - DM_HDR_LEN) : 0;
	dm_avp_iter_init(&it, req + DM_HDR_LEN, body);
	if (dm_avp_next(&it, &a, &rc) == 1 && a.code == 263 && a.vendor == 0)
		dm_w_avp(&w, 263, DM_AVP_M, 0, a.data, a.data_len);
	dm_w_str(&w, 264, DM_AVP_M, 0, origin_host);
	dm_w_str(&w, 296, DM_AVP_M, 0, origin_realm);
	dm_w_u32(&w, 268, DM_AVP_M, 0, f->rc);
	if (f->what[0])
		dm_w_str(&w, 281, 0, 0, f->what);
	if (f->rc == DM_RC_MISSING_AVP && f->missing_code) {
		dm_w_group_begin(&w, 279, DM_AVP_M, 0);
		dm_w_avp(&w, f->missing_code, DM_AVP_M, f->missing_vendor, NULL, 0);
		dm_w_group_end(&w);
	} else if (f->len && (uint64_t)f->off + f->len <= req_len && f->len >= DM_AVP_HDR &&
		   f->rc != DM_RC_UNABLE_TO_COMPLY) {
		/* the AVP at fault inside Failed-AVP: whole when it is well formed (a value
		 * refused), else (its length lied, or its inside did: 5014, 3009) its header
		 * alone, told as that long; its reserved flag bits cleared */
		const uint8_t *fa = req + f->off;
		uint32_t claimed = (uint32_t)fa[5] << 16 | (uint32_t)fa[6] << 8 | fa[7];
		uint32_t hl = (fa[4] & DM_AVP_V) && f->len >= DM_AVP_HDR_V ? DM_AVP_HDR_V : DM_AVP_HDR;
		size_t n = f->whole && claimed == f->len ? f->len : hl;
		dm_w_group_begin(&w, 279, DM_AVP_M, 0);
		size_t at = w.len;
		if (!w.err && n + 3 <= w.cap - w.len) {
			memcpy(w.buf + w.len, fa, n);
			w.len += n;
			while (w.len % 4)
				w.buf[w.len++] = 0;
			w.buf[at + 4] &= (uint8_t)(DM_AVP_M | (hl == DM_AVP_HDR_V ? DM_AVP_V : 0));
			w.buf[at + 5] = (uint8_t)(n >> 16);
			w.buf[at + 6] = (uint8_t)(n >> 8);
			w.buf[at + 7] = (uint8_t)n;
		} else if (!w.err) {
			w.err = -ENOSPC;
		}
		dm_w_group_end(&w);
	}
	return dm_w_finish(&w);
}

uint32_t dm_answer_result(const uint8_t *m, size_t n)
{
	struct dm_avp_iter it, in;
	struct dm_avp a, b;
	uint32_t rc, v = 0, exp = 0;
	if (n < DM_HDR_LEN)
		return 0;
	dm_avp_iter_init(&it, m + DM_HDR_LEN, (uint32_t)n - DM_HDR_LEN);
	while (dm_avp_next(&it, &a, &rc) == 1) {
		if (a.vendor)
			continue;
		if (a.code == 268 && dm_get_u32(&a, &v) == 0)
			return v;
		if (a.code == 297) { /* Experimental-Result: its Experimental-Result-Code */
			dm_avp_iter_init(&in, a.data, a.data_len);
			while (dm_avp_next(&in, &b, &rc) == 1)
				if (b.code == 298 && !b.vendor)
					dm_get_u32(&b, &exp);
		}
	}
	return exp;
}
