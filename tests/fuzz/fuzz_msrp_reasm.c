/* fuzz_msrp_reasm.c — libFuzzer target for the reassembler of incoming chunks
 * (msrp/msrp_reasm.c) under hostile sequences: chunks of four Message-IDs whose Byte-Ranges
 * (start, end or '*', total or '*') come from the input, bodies of any length, any flag, the
 * kept bytes of a message that broke taken and seeded into the next (RFC 5547 resumption),
 * expiry. Small bounds (4 KiB a message, 64 chunks, 2 at once, 8 KiB in all) so that every
 * limit is reached.
 *
 * Input: operations, each led by a byte (its value modulo 6 picks it):
 *   0 begin   msgid (1 byte, of 4), start, end, total (2 bytes each; end and total 0xffff
 *             mean '*'; start 0 is kept: refused), content type or none
 *   1 data    length (1 byte) more body bytes of the open chunk
 *   2 end     flag byte: '$', '+', '#' or anything else
 *   3 take    the longest run from byte 1 of a broken message
 *   4 seed    what take gave (or nothing)
 *   5 expire  time moves on by (1 byte) x 100 ms
 * Every body byte is f(its 0-based offset), so a whole message must hold f(p) at every p
 * (and a taken run too): a byte put anywhere but where its Byte-Range says, or a seed given
 * to the wrong message, breaks it. A chunk cursor is kept open across take and expiry: a
 * message dropped under it must be refused cleanly, not written into. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_reasm.h"

#include "tests/fuzz/fuzz_check.h"

static uint8_t f(uint64_t p)
{
	return (uint8_t)(p * 7 + 3);
}

static int bytes_ok(const char *d, uint64_t n)
{
	for (uint64_t p = 0; p < n; p++)
		if ((uint8_t)d[p] != f(p))
			return 0;
	return 1;
}

struct in {
	const uint8_t *p;
	size_t n;
};

static int take(struct in *in, unsigned k, uint32_t *v)
{
	if (in->n < k)
		return -1;
	*v = 0;
	for (unsigned i = 0; i < k; i++)
		*v = (*v << 8) | in->p[i];
	in->p += k;
	in->n -= k;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = { "m0", "m1", "msg-two", "m3" };
	struct msrp_reasm_cfg cfg = { .max_message = 4096, .max_chunks = 64, .max_partial = 2,
				      .timeout_ms = 1000, .grow_step = 512, .max_buffered = 8192 };
	struct msrp_reasm *r = msrp_reasm_create(&cfg);
	struct msrp_reasm_chunk ck;
	struct msrp_reasm_msg m, kept = { 0 };
	uint64_t now = 0, kept_total = 0;
	int open = 0;
	char body[256];
	struct in in = { data, size };
	uint32_t op;
	CHECK(r);
	while (take(&in, 1, &op) == 0) {
		uint32_t a, b, c, d, e;
		switch (op % 6) {
		case 0:
			if (take(&in, 1, &a) || take(&in, 2, &b) || take(&in, 2, &c) ||
			    take(&in, 2, &d) || take(&in, 1, &e))
				goto out;
			a %= 4;
			{
				struct msrp_range br = { .start = b, .end = c == 0xffff ? -1 : (int64_t)c,
							 .total = d == 0xffff ? -1 : (int64_t)d };
				cm_slice ct = e & 1 ? (cm_slice){ "application/pdf", 15 }
						    : (cm_slice){ NULL, 0 };
				msrp_reasm_begin(r, (cm_slice){ ids[a], strlen(ids[a]) }, &br, ct, now,
						 &ck);
			}
			open = 1;
			break;
		case 1:
			if (take(&in, 1, &a))
				goto out;
			if (!open)
				break;
			for (uint32_t i = 0; i < a; i++)
				body[i] = (char)f(ck.pos + i);
			msrp_reasm_data(r, &ck, body, a);
			break;
		case 2: {
			if (take(&in, 1, &a))
				goto out;
			if (!open)
				break;
			enum msrp_flag fl = a % 4 == 0 ? MSRP_FLAG_END : a % 4 == 1 ? MSRP_FLAG_MORE
					  : a % 4 == 2 ? MSRP_FLAG_ABORT : (enum msrp_flag)'x';
			int v = msrp_reasm_end(r, &ck, fl, &m);
			open = 0;
			if (v == MSRP_REASM_COMPLETE) {
				CHECK(m.len <= cfg.max_message);
				CHECK(bytes_ok(m.data, m.len));
				CHECK(m.message_id_len && m.message_id[m.message_id_len] == '\0');
				msrp_reasm_msg_free(&m);
			}
			break;
		}
		case 3:
			msrp_reasm_msg_free(&kept);
			if (msrp_reasm_take_prefix(r, &kept, &kept_total) == 1) {
				CHECK(kept.len > 0 && kept.len <= kept_total);
				CHECK(bytes_ok(kept.data, kept.len));
			} else {
				kept_total = 0;
			}
			break;
		case 4:
			if (kept.data && kept.len < kept_total) {
				CHECK(msrp_reasm_seed(r, kept.data, kept.len, kept_total) == 0);
				kept.data = NULL;
			}
			msrp_reasm_msg_free(&kept);
			break;
		case 5:
			if (take(&in, 1, &a))
				goto out;
			now += (uint64_t)a * 100;
			msrp_reasm_expire(r, now, NULL, NULL);
			break;
		}
	}
out:
	msrp_reasm_msg_free(&kept);
	msrp_reasm_destroy(r);
	return 0;
}
