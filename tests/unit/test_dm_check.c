/* test_dm_check.c — received Diameter messages held against the dictionary and their error
 * answers (diameter/dm_check.c): one request per fault of RFC 6733 §7 (3001, 5001, 5004,
 * 5005, 5014), the Result-Code found, and the answer built for it read back: the request's
 * identifiers, E only for protocol errors, its Session-Id first, Failed-AVP holding the AVP
 * at fault as it came (the missing one, empty, for 5005). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "diameter/dm_check.h"
#include "diameter/dm_dict.h"
#include "diameter/dm_json.h"
#include "diameter/dm_msg.h"

static struct dm_dict *d;
static const char *const ccr_required[] = { "Session-Id", "Origin-Host", "Origin-Realm",
					    "Destination-Realm", "CC-Request-Type", NULL };

static void setup(void)
{
	d = dm_dict_new();
	cr_assert_not_null(d);
}

static void teardown(void)
{
	dm_dict_free(d);
}

TestSuite(dm_check, .init = setup, .fini = teardown);

/* A CCR (application 4, or <code>/<app> when not 0) with <avps> (JSON) and, when <raw>,
 * <rawlen> more bytes of AVPs as they are. */
static long ccr(uint8_t *buf, size_t cap, uint32_t code, const char *avps, const void *raw,
		size_t rawlen)
{
	json_t *j = json_loads(avps, 0, NULL);
	struct dm_wbuf w;
	char err[256] = "";
	cr_assert(j, "%s", avps);
	dm_w_init(&w, buf, cap);
	dm_w_hdr(&w, DM_FLAG_R | DM_FLAG_P, code ? code : 272, 4, 0xaabbccdd, 0x11223344);
	cr_assert_eq(dm_json_write(d, j, &w, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
	if (raw && w.len + rawlen <= w.cap) {
		memcpy(w.buf + w.len, raw, rawlen);
		w.len += rawlen;
	}
	long n = dm_w_finish(&w);
	cr_assert_gt(n, 0);
	return n;
}

#define BASE "{\"Session-Id\": \"rcsgw.test;9;9\"}, {\"Origin-Host\": \"peer.test\"}," \
	     " {\"Origin-Realm\": \"test\"}, {\"Destination-Realm\": \"ocs.test\"}"

/* The answer to <req> for its fault: checked, and its JSON into *<j>. Its flags. */
static uint8_t answer(const uint8_t *req, long n, const struct dm_fault *f, json_t **j)
{
	uint8_t out[2048];
	long an = dm_answer_error(req, (size_t)n, f, "rcsgw.test", "test", out, sizeof(out));
	cr_assert_gt(an, 0, "%ld", an);
	uint32_t rc, fo, fl;
	cr_assert_eq(dm_msg_check(out, (size_t)an, NULL, dm_dict_is_grouped, d, &rc, &fo, &fl,
				  NULL), 0, "the answer is malformed: %u", rc);
	struct dm_hdr h;
	cr_assert_eq(dm_hdr_parse(out, (size_t)an, &h, &rc), 0);
	cr_expect(!(h.flags & DM_FLAG_R) && h.code == ((uint32_t)req[5] << 16 | req[6] << 8 | req[7]) &&
		  h.hop_by_hop == 0xaabbccdd && h.end_to_end == 0x11223344 && h.app_id == 4);
	*j = dm_json_read(d, out + DM_HDR_LEN, (uint32_t)an - DM_HDR_LEN);
	cr_assert_not_null(*j);
	return h.flags;
}

static const json_t *avp_in(const json_t *list, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		const json_t *v = json_object_get(o, name);
		if (v)
			return v;
	}
	return NULL;
}

Test(dm_check, a_good_request_holds)
{
	uint8_t b[1024];
	long n = ccr(b, sizeof(b), 0,
		     "[" BASE ", {\"CC-Request-Type\": \"EVENT_REQUEST\"}, {\"CC-Request-Number\": 0}]",
		     NULL, 0);
	struct dm_fault f;
	cr_expect_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), 0, "%u %s", f.rc, f.what);
	cr_expect_eq(f.rc, DM_RC_SUCCESS);
}

Test(dm_check, each_fault_its_result_code_and_failed_avp)
{
	uint8_t b[1024];
	struct dm_fault f;
	json_t *j;

	/* a command nobody defined: 3001, a protocol error (E), no Failed-AVP */
	long n = ccr(b, sizeof(b), 999, "[" BASE "]", NULL, 0);
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, NULL, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_COMMAND_UNSUPPORTED);
	cr_expect(answer(b, n, &f, &j) & DM_FLAG_E);
	cr_expect_eq(json_integer_value(avp_in(j, "Result-Code")), 3001);
	cr_expect_str_eq(json_string_value(avp_in(j, "Session-Id")), "rcsgw.test;9;9",
			 "the Session-Id comes back");
	cr_expect_null(avp_in(j, "Failed-AVP"));
	json_decref(j);

	/* an AVP with M that nobody defined: 5001, named in Failed-AVP as it came */
	static const uint8_t unknown_m[] = { 0x00, 0x01, 0x86, 0xa0, 0x40, 0x00, 0x00, 0x0c,
					     0xde, 0xad, 0xbe, 0xef };
	n = ccr(b, sizeof(b), 0, "[" BASE ", {\"CC-Request-Type\": 4}]", unknown_m,
		sizeof(unknown_m));
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_AVP_UNSUPPORTED);
	cr_expect(!(answer(b, n, &f, &j) & DM_FLAG_E), "not a protocol error");
	const json_t *fa = avp_in(j, "Failed-AVP");
	cr_assert(json_is_array(fa));
	const json_t *inner = json_array_get(fa, 0);
	cr_expect(json_integer_value(json_object_get(inner, "code")) == 100000 &&
		  !strcmp(json_string_value(json_object_get(inner, "hex")), "deadbeef"));
	json_decref(j);
	/* ... without M, it is passed over */
	static const uint8_t unknown[] = { 0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x0c,
					   0xde, 0xad, 0xbe, 0xef };
	n = ccr(b, sizeof(b), 0, "[" BASE ", {\"CC-Request-Type\": 4}]", unknown, sizeof(unknown));
	cr_expect_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), 0);

	/* an Enumerated value it does not have: 5004 */
	n = ccr(b, sizeof(b), 0, "[" BASE ", {\"CC-Request-Type\": 9}]", NULL, 0);
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_INVALID_AVP_VALUE);
	cr_expect(strstr(f.what, "CC-Request-Type"), "%s", f.what);
	answer(b, n, &f, &j);
	fa = avp_in(j, "Failed-AVP");
	cr_expect_eq(json_integer_value(avp_in(fa, "CC-Request-Type")), 9);
	cr_expect(strstr(json_string_value(avp_in(j, "Error-Message")), "CC-Request-Type"));
	json_decref(j);

	/* a Session-Id that is not UTF-8: 5004 */
	/* (as raw bytes: the JSON writer takes no bytes for a UTF8String) */
	static const uint8_t bad_sid[] = { 0x00, 0x00, 0x01, 0x07, 0x40, 0x00, 0x00, 0x0b,
					   0xff, 0xfe, 0x41, 0x00 };
	n = ccr(b, sizeof(b), 0, "[]", bad_sid, sizeof(bad_sid));
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, NULL, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_INVALID_AVP_VALUE);

	/* an Unsigned32 of 3 bytes: 5014 */
	static const uint8_t short_u32[] = { 0x00, 0x00, 0x01, 0x9f, 0x40, 0x00, 0x00, 0x0b,
					     0x00, 0x00, 0x01, 0x00 };
	n = ccr(b, sizeof(b), 0, "[" BASE ", {\"CC-Request-Type\": 4}]", short_u32,
		sizeof(short_u32));
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_INVALID_AVP_LENGTH);
	cr_expect(strstr(f.what, "CC-Request-Number"), "%s", f.what);
	answer(b, n, &f, &j);
	json_decref(j);

	/* an AVP whose length runs past the message: 5014 from the framing */
	static const uint8_t runaway[] = { 0x00, 0x00, 0x01, 0x9f, 0x40, 0x00, 0x01, 0x00,
					   0x00, 0x00, 0x00, 0x01 };
	n = ccr(b, sizeof(b), 0, "[" BASE "]", runaway, sizeof(runaway));
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, NULL, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_INVALID_AVP_LENGTH);
	cr_expect_gt(f.len, 0, "the AVP at fault is named");
	answer(b, n, &f, &j);
	cr_assert(json_is_array(avp_in(j, "Failed-AVP")));
	json_decref(j);

	/* a required AVP missing: 5005, named empty in Failed-AVP */
	n = ccr(b, sizeof(b), 0,
		"[{\"Session-Id\": \"s;1\"}, {\"Origin-Host\": \"peer.test\"},"
		" {\"Origin-Realm\": \"test\"}, {\"CC-Request-Type\": 4}]", NULL, 0);
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_MISSING_AVP);
	cr_expect(strstr(f.what, "Destination-Realm"), "%s", f.what);
	answer(b, n, &f, &j);
	fa = avp_in(j, "Failed-AVP");
	cr_expect_str_eq(json_string_value(avp_in(fa, "Destination-Realm")), "");
	json_decref(j);

	/* no room for the answer */
	uint8_t tiny[40];
	cr_expect_eq(dm_answer_error(b, (size_t)n, &f, "rcsgw.test", "test", tiny, sizeof(tiny)),
		     -ENOSPC);
	cr_expect_eq(dm_answer_error(b, 10, &f, "rcsgw.test", "test", tiny, sizeof(tiny)),
		     -EINVAL);
}

/* A required AVP twice (a second Origin-Host): 5009, the second one named in Failed-AVP. */
Test(dm_check, a_required_avp_twice_is_5009)
{
	uint8_t b[1024];
	struct dm_fault f;
	json_t *j;
	long n = ccr(b, sizeof(b), 0, "[" BASE ", {\"CC-Request-Type\": 4},"
		     " {\"Origin-Host\": \"other.test\"}]", NULL, 0);
	cr_assert_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), -EBADMSG);
	cr_expect_eq(f.rc, DM_RC_AVP_OCCURS_TOO_MANY_TIMES);
	cr_expect(strstr(f.what, "Origin-Host"), "%s", f.what);
	cr_expect(!(answer(b, n, &f, &j) & DM_FLAG_E), "not a protocol error");
	cr_expect_eq(json_integer_value(avp_in(j, "Result-Code")), 5009);
	cr_expect_str_eq(json_string_value(avp_in(avp_in(j, "Failed-AVP"), "Origin-Host")),
			 "other.test");
	json_decref(j);
	/* once: it holds */
	n = ccr(b, sizeof(b), 0, "[" BASE ", {\"CC-Request-Type\": 4}]", NULL, 0);
	cr_expect_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), 0);
}

/* A DiameterIdentity that is not visible ASCII (bad UTF-8, a blank): 5004. */
Test(dm_check, an_identity_not_ascii_is_5004)
{
	uint8_t b[1024];
	struct dm_fault f;
	static const char *const bad[] = { "\"h\\u00e9.test\"", "\"a b.test\"", "\"\"" };
	for (unsigned i = 0; i < 3; i++) {
		char avps[256];
		snprintf(avps, sizeof(avps), "[{\"Session-Id\": \"s;1\"}, {\"Origin-Host\": %s},"
			 " {\"Origin-Realm\": \"test\"}, {\"Destination-Realm\": \"ocs.test\"},"
			 " {\"CC-Request-Type\": 4}]", bad[i]);
		long n = ccr(b, sizeof(b), 0, avps, NULL, 0);
		cr_assert_eq(dm_check(d, b, (size_t)n, NULL, ccr_required, &f), -EBADMSG, "%s",
			     bad[i]);
		cr_expect_eq(f.rc, DM_RC_INVALID_AVP_VALUE, "%s", bad[i]);
		cr_expect(strstr(f.what, "Origin-Host"), "%s", f.what);
	}
}
