/* fuzz_dm_msg.c — libFuzzer target for the Diameter codec (diameter/dm_msg.c). The input,
 * in an exact-size heap copy (ASan sees any read past it), is framed and checked as a
 * message (AVP codes 260, 279 and 284 taken as Grouped, as the base dictionary has them);
 * what the codec promises is checked: a framed length agrees with the header, a check that
 * passes walks the same AVPs again one by one with every value getter (none reads past
 * its AVP), a failure names a Result-Code of RFC 6733 and a Failed-AVP inside the message;
 * and every message that passes is written again with the writer and must come out as long,
 * with the same header and AVPs (AVPs unpadded at a group's end, and V with vendor 0,
 * excepted: the writer writes neither). A message that passes is also read as JSON with the
 * built-in dictionary (every type's reader on whatever bytes came), and that JSON written
 * again must give a message that passes when the first one passes with the dictionary's
 * Grouped AVPs. Any input with a header is also held against the dictionary (dm_check(), a
 * request with the sender AVPs required once, as dm_peer holds a peer's requests), and
 * the error answer to its fault must pass the codec's check. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diameter/dm_check.h"
#include "diameter/dm_dict.h"
#include "diameter/dm_json.h"
#include "diameter/dm_msg.h"

#include "tests/fuzz/fuzz_check.h"

static int grouped(void *arg, uint32_t code, uint32_t vendor)
{
	(void)arg;
	return vendor == 0 && (code == 260 || code == 279 || code == 284);
}

/* Every AVP of a region read with every getter; rewritten into <w>. 0, or -1 when a group's
 * last AVP came unpadded (the rewrite then differs, legitimately). */
static int visit(const uint8_t *p, uint32_t len, unsigned depth, struct dm_wbuf *w)
{
	struct dm_avp_iter it;
	struct dm_avp a;
	uint32_t rc;
	int r, same = 0;
	dm_avp_iter_init(&it, p, len);
	while ((r = dm_avp_next(&it, &a, &rc)) == 1) {
		CHECK(a.data >= p && a.data + a.data_len <= p + len);
		CHECK(a.data_len + (a.vendor || (a.flags & DM_AVP_V) ? 12u : 8u) == a.length);
		uint32_t u32;
		uint64_t u64;
		int32_t i32;
		int64_t i64;
		float f;
		double d;
		uint16_t fam;
		const uint8_t *ad;
		uint32_t al;
		CHECK((dm_get_u32(&a, &u32) == 0) == (a.data_len == 4));
		CHECK((dm_get_u64(&a, &u64) == 0) == (a.data_len == 8));
		CHECK((dm_get_i32(&a, &i32) == 0) == (a.data_len == 4));
		CHECK((dm_get_i64(&a, &i64) == 0) == (a.data_len == 8));
		CHECK((dm_get_f32(&a, &f) == 0) == (a.data_len == 4));
		CHECK((dm_get_f64(&a, &d) == 0) == (a.data_len == 8));
		if (dm_get_address(&a, &fam, &ad, &al) == 0)
			CHECK(ad == a.data + 2 && al + 2 == a.data_len);
		if (it.off - a.off < ((a.length + 3u) & ~3u))
			same = -1; /* unpadded at the region's end */
		uint32_t vendor = (a.flags & DM_AVP_V) ? a.vendor : 0;
		if ((a.flags & DM_AVP_V) && !a.vendor)
			same = -1; /* V with vendor 0: the writer writes no V for 0 */
		if (depth < 8 && grouped(NULL, a.code, vendor)) {
			dm_w_group_begin(w, a.code, a.flags, vendor);
			if (visit(a.data, a.data_len, depth + 1, w) < 0)
				same = -1;
			dm_w_group_end(w);
		} else {
			dm_w_avp(w, a.code, a.flags, vendor, a.data, a.data_len);
		}
	}
	CHECK(r == 0); /* the check passed: the walk does too */
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	long framed = dm_msg_length(copy, size, NULL);
	CHECK(framed == 0 || framed == -EPROTO || framed == -EMSGSIZE ||
	      (framed >= DM_HDR_LEN && framed % 4 == 0));
	uint32_t rc = 0, fo = 0, fl = 0, navps = 0;
	struct dm_limits lim = { .max_avps = 256, .max_depth = 8 };
	int r = dm_msg_check(copy, size, &lim, grouped, NULL, &rc, &fo, &fl, &navps);
	if (r == 0) {
		struct dm_hdr h;
		uint32_t hrc;
		CHECK(rc == DM_RC_SUCCESS);
		CHECK(dm_hdr_parse(copy, size, &h, &hrc) == 0);
		CHECK(framed == (long)h.length && h.length <= size);
		CHECK(navps <= 256);
		uint8_t *out = malloc(h.length);
		CHECK(out);
		struct dm_wbuf w;
		dm_w_init(&w, out, h.length);
		/* (reserved header bits are read and ignored; the writer writes none) */
		dm_w_hdr(&w, h.flags & 0xf0, h.code, h.app_id, h.hop_by_hop, h.end_to_end);
		int same = visit(copy + DM_HDR_LEN, h.length - DM_HDR_LEN, 0, &w);
		long n = dm_w_finish(&w);
		if (same == 0) {
			/* the same message: its length, header and AVPs (the padding, which a
			 * sender may have filled with anything, comes out zero) */
			uint32_t rc2, fo2, fl2, navps2;
			CHECK(n == (long)h.length);
			CHECK(!memcmp(out, copy, 4) && out[4] == (copy[4] & 0xf0) &&
			      !memcmp(out + 5, copy + 5, DM_HDR_LEN - 5));
			CHECK(dm_msg_check(out, (size_t)n, &lim, grouped, NULL, &rc2, &fo2, &fl2,
					   &navps2) == 0);
			CHECK(navps2 == navps);
		}
		free(out);
		static struct dm_dict *dict;
		if (!dict)
			CHECK((dict = dm_dict_new()) != NULL);
		uint32_t rcd, fod, fld;
		int dict_ok = dm_msg_check(copy, size, &lim, dm_dict_is_grouped, dict, &rcd, &fod,
					   &fld, NULL) == 0;
		json_t *j = dm_json_read(dict, copy + DM_HDR_LEN, h.length - DM_HDR_LEN);
		CHECK(j || !dict_ok); /* NULL only for a Grouped AVP of the dictionary whose
				       * inside is malformed */
		if (j) {
			uint8_t *again = malloc((size_t)h.length * 2 + 64);
			char err[256];
			CHECK(again);
			dm_w_init(&w, again, (size_t)h.length * 2 + 64);
			dm_w_hdr(&w, h.flags & 0xf0, h.code, h.app_id, h.hop_by_hop, h.end_to_end);
			if (dm_json_write(dict, j, &w, err, sizeof(err)) == 0) {
				long m = dm_w_finish(&w);
				uint32_t rc3, fo3, fl3;
				/* as well-formed as what came (by the dictionary's groups) */
				if (m > 0 && dict_ok)
					CHECK(dm_msg_check(again, (size_t)m, NULL, dm_dict_is_grouped,
							   dict, &rc3, &fo3, &fl3, NULL) == 0);
			}
			free(again);
			json_decref(j);
		}
	} else {
		CHECK(r == -EBADMSG);
		CHECK(rc == DM_RC_UNSUPPORTED_VERSION || rc == DM_RC_INVALID_MESSAGE_LENGTH ||
		      rc == DM_RC_INVALID_HDR_BITS || rc == DM_RC_INVALID_AVP_LENGTH ||
		      rc == DM_RC_INVALID_AVP_BITS || rc == DM_RC_UNABLE_TO_COMPLY);
		CHECK((uint64_t)fo + fl <= size);
		CHECK(!fl || fo >= DM_HDR_LEN);
	}
	/* any input with a header: held against the dictionary, and its error answer (every
	 * fault's) must be a well-formed message */
	if (size >= DM_HDR_LEN) {
		static struct dm_dict *cd;
		if (!cd)
			CHECK((cd = dm_dict_new()) != NULL);
		/* a request names its sender once (dm_peer.c's on_message) */
		static const char *const sender[] = { "Origin-Host", "Origin-Realm", NULL };
		struct dm_fault f;
		int cr = dm_check(cd, copy, size, &lim, (copy[4] & DM_FLAG_R) ? sender : NULL, &f);
		CHECK((cr == 0) == (f.rc == DM_RC_SUCCESS));
		CHECK(!f.len || (uint64_t)f.off + f.len <= size);
		uint8_t ans[4096];
		long an = dm_answer_error(copy, size, &f, "rcsgw.test", "test", ans, sizeof(ans));
		if (an > 0) {
			uint32_t arc, afo, afl;
			CHECK(dm_msg_check(ans, (size_t)an, NULL, dm_dict_is_grouped, cd, &arc, &afo,
					   &afl, NULL) == 0);
		} else {
			CHECK(an == -ENOSPC);
		}
	}
	free(copy);
	return 0;
}
