/* test_dm_msg.c — the Diameter codec (diameter/dm_msg.c): a message written and compared
 * byte by byte with what RFC 6733 §3 and §4 lay out (hand-made bytes, not the writer's own
 * idea of them), read back AVP by AVP with every base type, and one malformed input per
 * rule with the Result-Code and the Failed-AVP it must give. Inputs are read from copies
 * that end right before a PROT_NONE page (tests/lib/guard.h): a read past them crashes. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "diameter/dm_msg.h"
#include "tests/lib/guard.h"

static int grouped_260(void *arg, uint32_t code, uint32_t vendor)
{
	(void)arg;
	return vendor == 0 && (code == 260 || code == 279); /* Vendor-Specific-Application-Id,
							    * Failed-AVP */
}

/* A CER as a peer would send it, built with the writer. */
static long build_cer(uint8_t *buf, size_t cap)
{
	struct dm_wbuf w;
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	dm_w_init(&w, buf, cap);
	dm_w_hdr(&w, DM_FLAG_R, 257, 0, 0x11223344, 0x55667788);
	dm_w_str(&w, 264, DM_AVP_M, 0, "a.b");              /* Origin-Host */
	dm_w_str(&w, 296, DM_AVP_M, 0, "b");                /* Origin-Realm */
	dm_w_address(&w, 257, DM_AVP_M, 0, 1, lo, 4);       /* Host-IP-Address */
	dm_w_u32(&w, 266, DM_AVP_M, 0, 0);                  /* Vendor-Id */
	dm_w_str(&w, 269, 0, 0, "rcsgw");                   /* Product-Name */
	dm_w_group_begin(&w, 260, DM_AVP_M, 0);             /* Vendor-Specific-Application-Id */
	dm_w_u32(&w, 266, DM_AVP_M, 0, 10415);
	dm_w_u32(&w, 258, DM_AVP_M, 0, 16777217);          /* Auth-Application-Id: Sh */
	dm_w_group_end(&w);
	dm_w_u64(&w, 701, DM_AVP_M, 10415, 0x0102030405060708ull); /* a vendor's AVP */
	dm_w_time(&w, 55, 0, 0, 1700000000);                /* Event-Timestamp */
	dm_w_f64(&w, 1000, 0, 0, 2.5);
	return dm_w_finish(&w);
}

Test(dm_msg, written_as_rfc_6733_lays_it_out)
{
	uint8_t buf[512];
	long n = build_cer(buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_expect_eq(n % 4, 0);
	const uint8_t head[] = {
		0x01, 0x00, 0x00, (uint8_t)n,            /* version, length */
		0x80, 0x00, 0x01, 0x01,                  /* R, code 257 */
		0x00, 0x00, 0x00, 0x00,                  /* application 0 */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		/* Origin-Host: code 264, M, length 8 + 3, "a.b", one byte of padding */
		0x00, 0x00, 0x01, 0x08, 0x40, 0x00, 0x00, 0x0b, 'a', '.', 'b', 0x00,
		/* Origin-Realm "b": length 9, three bytes of padding */
		0x00, 0x00, 0x01, 0x28, 0x40, 0x00, 0x00, 0x09, 'b', 0x00, 0x00, 0x00,
		/* Host-IP-Address: family 1, 127.0.0.1 (length 8 + 6, two of padding) */
		0x00, 0x00, 0x01, 0x01, 0x40, 0x00, 0x00, 0x0e, 0x00, 0x01, 127, 0, 0, 1, 0, 0,
		/* Vendor-Id 0 */
		0x00, 0x00, 0x01, 0x0a, 0x40, 0x00, 0x00, 0x0c, 0, 0, 0, 0,
		/* Product-Name, no flags */
		0x00, 0x00, 0x01, 0x0d, 0x00, 0x00, 0x00, 0x0d, 'r', 'c', 's', 'g', 'w', 0, 0, 0,
		/* Vendor-Specific-Application-Id: 8 + two AVPs of 12 */
		0x00, 0x00, 0x01, 0x04, 0x40, 0x00, 0x00, 0x20,
		0x00, 0x00, 0x01, 0x0a, 0x40, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x28, 0xaf,
		0x00, 0x00, 0x01, 0x02, 0x40, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x01,
		/* code 701, V and M, length 12 + 8, vendor 10415 */
		0x00, 0x00, 0x02, 0xbd, 0xc0, 0x00, 0x00, 0x14, 0x00, 0x00, 0x28, 0xaf,
		1, 2, 3, 4, 5, 6, 7, 8,
		/* Event-Timestamp: 1700000000 + 2208988800 = 3908988800 = 0xe8fe6f80 */
		0x00, 0x00, 0x00, 0x37, 0x00, 0x00, 0x00, 0x0c, 0xe8, 0xfe, 0x6f, 0x80,
		/* 2.5 as binary64: 0x4004000000000000 */
		0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x10, 0x40, 0x04, 0, 0, 0, 0, 0, 0,
	};
	cr_assert_eq((size_t)n, sizeof(head), "length %ld, expected %zu", n, sizeof(head));
	for (size_t i = 0; i < sizeof(head); i++)
		cr_assert_eq(buf[i], head[i], "byte %zu: %02x, expected %02x", i, buf[i], head[i]);
}

Test(dm_msg, read_back_with_every_type)
{
	uint8_t buf[512];
	long n = build_cer(buf, sizeof(buf));
	const uint8_t *g = (const uint8_t *)guard_copy((const char *)buf, (size_t)n);
	uint32_t rc, fo, fl, navps;
	cr_assert_eq(dm_msg_check(g, (size_t)n, NULL, grouped_260, NULL, &rc, &fo, &fl, &navps), 0);
	cr_expect_eq(rc, DM_RC_SUCCESS);
	cr_expect_eq(navps, 11, "AVPs, the grouped ones' inside too: %u", navps);
	cr_expect_eq(dm_msg_length(g, 4, NULL), n);

	struct dm_hdr h;
	cr_assert_eq(dm_hdr_parse(g, (size_t)n, &h, &rc), 0);
	cr_expect(h.version == 1 && h.flags == DM_FLAG_R && h.code == 257 && h.app_id == 0 &&
		  h.hop_by_hop == 0x11223344 && h.end_to_end == 0x55667788 &&
		  h.length == (uint32_t)n);

	struct dm_avp_iter it;
	struct dm_avp a;
	dm_avp_iter_init(&it, g + DM_HDR_LEN, (uint32_t)n - DM_HDR_LEN);
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
	cr_expect(a.code == 264 && a.flags == DM_AVP_M && a.vendor == 0 && a.data_len == 3 &&
		  !memcmp(a.data, "a.b", 3));
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
	uint16_t fam;
	const uint8_t *ad;
	uint32_t al;
	cr_assert_eq(dm_get_address(&a, &fam, &ad, &al), 0);
	cr_expect(fam == 1 && al == 4 && ad[0] == 127 && ad[3] == 1);
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
	uint32_t u;
	cr_assert_eq(dm_get_u32(&a, &u), 0);
	cr_expect_eq(u, 0);
	cr_expect_eq(dm_get_u64(&a, &(uint64_t){ 0 }), -EINVAL, "4 bytes are no Unsigned64");
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1); /* Product-Name */
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1); /* the group */
	cr_expect(a.code == 260 && a.data_len == 24);
	struct dm_avp_iter in;
	struct dm_avp b;
	dm_avp_iter_init(&in, a.data, a.data_len);
	cr_assert_eq(dm_avp_next(&in, &b, &rc), 1);
	cr_assert_eq(dm_get_u32(&b, &u), 0);
	cr_expect_eq(u, 10415);
	cr_assert_eq(dm_avp_next(&in, &b, &rc), 1);
	cr_assert_eq(dm_get_u32(&b, &u), 0);
	cr_expect_eq(u, 16777217);
	cr_expect_eq(dm_avp_next(&in, &b, &rc), 0);
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
	uint64_t v64;
	int64_t i64;
	cr_expect(a.code == 701 && a.vendor == 10415 && (a.flags & DM_AVP_V));
	cr_assert_eq(dm_get_u64(&a, &v64), 0);
	cr_expect_eq(v64, 0x0102030405060708ull);
	cr_assert_eq(dm_get_i64(&a, &i64), 0);
	cr_expect_eq(i64, 0x0102030405060708ll);
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
	int64_t t;
	cr_assert_eq(dm_get_time(&a, &t), 0);
	cr_expect_eq(t, 1700000000);
	cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
	double d;
	float f;
	cr_assert_eq(dm_get_f64(&a, &d), 0);
	cr_expect(d == 2.5);
	cr_expect_eq(dm_get_f32(&a, &f), -EINVAL);
	cr_expect_eq(dm_avp_next(&it, &a, &rc), 0);
	guard_release((const char *)g);
}

Test(dm_msg, times_after_2036_wrap_into_the_next_era)
{
	uint8_t buf[64];
	struct dm_wbuf w;
	const int64_t cases[] = { 0, 1700000000, 2085978495, 2085978496, 2085978497, 3000000000LL };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dm_w_init(&w, buf, sizeof(buf));
		dm_w_hdr(&w, 0, 280, 0, 1, 1);
		dm_w_time(&w, 55, 0, 0, cases[i]);
		cr_assert_gt(dm_w_finish(&w), 0);
		struct dm_avp_iter it;
		struct dm_avp a;
		uint32_t rc;
		int64_t t;
		dm_avp_iter_init(&it, buf + DM_HDR_LEN, 12);
		cr_assert_eq(dm_avp_next(&it, &a, &rc), 1);
		cr_assert_eq(dm_get_time(&a, &t), 0);
		cr_expect_eq(t, cases[i], "%lld came back as %lld", (long long)cases[i], (long long)t);
	}
	/* 2036-02-07 06:28:16 UTC is NTP second 0 of era 1 */
	dm_w_init(&w, buf, sizeof(buf));
	dm_w_hdr(&w, 0, 280, 0, 1, 1);
	dm_w_time(&w, 55, 0, 0, 2085978496);
	cr_assert_gt(dm_w_finish(&w), 0);
	cr_expect(!memcmp(buf + DM_HDR_LEN + 8, "\0\0\0\0", 4));
}

/* The message <bytes> (<n>) checked: its Result-Code, and the Failed-AVP's place. */
static uint32_t check(const uint8_t *bytes, size_t n, const struct dm_limits *lim,
		      uint32_t *fo, uint32_t *fl)
{
	const uint8_t *g = (const uint8_t *)guard_copy((const char *)bytes, n);
	uint32_t rc = 0, navps;
	int r = dm_msg_check(g, n, lim, grouped_260, NULL, &rc, fo, fl, &navps);
	cr_assert((r == 0) == (rc == DM_RC_SUCCESS), "r %d rc %u", r, rc);
	guard_release((const char *)g);
	return rc;
}

Test(dm_msg, malformed_input_gets_its_result_code_and_failed_avp)
{
	uint8_t m[512];
	long n = build_cer(m, sizeof(m));
	uint8_t b[512];
	uint32_t fo, fl;

	memcpy(b, m, (size_t)n);
	b[0] = 2;
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_UNSUPPORTED_VERSION);
	cr_expect_eq(dm_msg_length(b, (size_t)n, NULL), -EPROTO);

	memcpy(b, m, (size_t)n);
	b[3] = (uint8_t)(n - 2); /* not a multiple of 4 */
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_INVALID_MESSAGE_LENGTH);
	cr_expect_eq(dm_msg_length(b, (size_t)n, NULL), -EMSGSIZE);
	b[3] = (uint8_t)(n + 4); /* more than came */
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_INVALID_MESSAGE_LENGTH);
	cr_expect_eq(check(m, 12, NULL, &fo, &fl), DM_RC_INVALID_MESSAGE_LENGTH, "a header cut");

	memcpy(b, m, (size_t)n);
	b[4] |= 0x01; /* a reserved header bit: ignored (RFC 6733 §3) */
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_SUCCESS);
	b[4] = DM_FLAG_R | DM_FLAG_E; /* an error bit on a request */
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_INVALID_HDR_BITS);

	/* the second AVP (Origin-Realm, at 32) with a length below its header */
	memcpy(b, m, (size_t)n);
	b[32 + 7] = 4;
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_INVALID_AVP_LENGTH);
	cr_expect(fo == 32 && fl == DM_AVP_HDR_V, "Failed-AVP at %u (%u bytes)", fo, fl);
	/* ... and one past the end of the message */
	b[32 + 6] = 0x10;
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_INVALID_AVP_LENGTH);
	cr_expect_eq(fo, 32);
	/* ... with a reserved flag bit */
	memcpy(b, m, (size_t)n);
	b[32 + 4] |= 0x04;
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_INVALID_AVP_BITS);
	cr_expect_eq(fo, 32);

	/* the group (at 88) whose second AVP claims more than the group holds: the group is
	 * named */
	memcpy(b, m, (size_t)n);
	b[88 + 20 + 7] = 0x20;
	cr_expect_eq(check(b, (size_t)n, NULL, &fo, &fl), DM_RC_INVALID_AVP_LENGTH);
	cr_expect(fo == 88 && fl == 32, "Failed-AVP at %u (%u bytes)", fo, fl);

	/* limits: AVPs counted at every level, depth of groups */
	struct dm_limits few = { .max_avps = 10 };
	cr_expect_eq(check(m, (size_t)n, &few, &fo, &fl), DM_RC_UNABLE_TO_COMPLY);
	struct dm_limits shallow = { .max_depth = 1 };
	cr_expect_eq(check(m, (size_t)n, &shallow, &fo, &fl), DM_RC_UNABLE_TO_COMPLY);
	cr_expect_eq(fo, 88);
	struct dm_limits small = { .max_message = 64 };
	cr_expect_eq(check(m, (size_t)n, &small, &fo, &fl), DM_RC_INVALID_MESSAGE_LENGTH);
	cr_expect_eq(dm_msg_length(m, (size_t)n, &small), -EMSGSIZE);
	cr_expect_eq(dm_msg_length(m, 3, NULL), 0, "three bytes say nothing yet");

	/* the last AVP of a group without its padding is taken */
	struct dm_wbuf w;
	dm_w_init(&w, b, sizeof(b));
	dm_w_hdr(&w, 0, 257, 0, 1, 1);
	dm_w_group_begin(&w, 279, DM_AVP_M, 0);
	dm_w_str(&w, 264, DM_AVP_M, 0, "x"); /* 9 bytes and 3 of padding */
	dm_w_group_end(&w);
	long gn = dm_w_finish(&w);
	cr_assert_eq(gn, 40);
	b[DM_HDR_LEN + 7] = 8 + 9; /* the group's length without the inner padding */
	cr_expect_eq(check(b, (size_t)gn, NULL, &fo, &fl), DM_RC_SUCCESS);
}

Test(dm_msg, writer_errors_stick)
{
	uint8_t b[64];
	struct dm_wbuf w;
	dm_w_init(&w, b, sizeof(b));
	dm_w_u32(&w, 1, 0, 0, 1); /* an AVP before the header */
	cr_expect_eq(dm_w_finish(&w), -EINVAL);

	dm_w_init(&w, b, sizeof(b));
	dm_w_hdr(&w, 0, 257, 0, 1, 1);
	dm_w_group_begin(&w, 260, 0, 0);
	cr_expect_eq(dm_w_finish(&w), -EINVAL, "a group left open");
	dm_w_init(&w, b, sizeof(b));
	dm_w_hdr(&w, 0, 257, 0, 1, 1);
	dm_w_group_end(&w);
	cr_expect_eq(dm_w_finish(&w), -EINVAL, "a group ended that never began");

	dm_w_init(&w, b, sizeof(b));
	dm_w_hdr(&w, 0, 257, 0, 1, 1);
	dm_w_str(&w, 1, 0, 0, "this is more than the forty-four bytes that are left here");
	dm_w_u32(&w, 2, 0, 0, 2);
	cr_expect_eq(dm_w_finish(&w), -ENOSPC);

	dm_w_init(&w, b, sizeof(b));
	dm_w_hdr(&w, 0x01, 257, 0, 1, 1); /* a reserved flag */
	cr_expect_eq(dm_w_finish(&w), -EINVAL);
	dm_w_init(&w, b, sizeof(b));
	dm_w_hdr(&w, 0, 0x1000000, 0, 1, 1); /* a code of 25 bits */
	cr_expect_eq(dm_w_finish(&w), -EINVAL);
}
