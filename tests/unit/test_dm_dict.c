/* test_dm_dict.c — the Diameter dictionary (diameter/dm_dict.c) and JSON by AVP name
 * (diameter/dm_json.c): built-in base, Ro, Sh and Cx definitions found by name and by code
 * (their codes as RFC 6733, RFC 4006 and TS 29.329/29.229 give them), a dictionary file
 * loaded and its mistakes named, a Ro CCR and an Sh UDR written from JSON, checked as
 * messages and read back to the same JSON, and JSON that does not fit its AVPs refused with
 * the AVP named. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "diameter/dm_dict.h"
#include "diameter/dm_json.h"
#include "diameter/dm_msg.h"
#include "tests/lib/dm_samples.h"

static struct dm_dict *d;

static void setup(void)
{
	d = dm_dict_new();
	cr_assert_not_null(d);
}

static void teardown(void)
{
	dm_dict_free(d);
}

TestSuite(dm_dict, .init = setup, .fini = teardown);

Test(dm_dict, built_in_definitions)
{
	const struct dm_avp_def *a = dm_dict_avp_named(d, "Origin-Host");
	cr_assert_not_null(a);
	cr_expect(a->code == 264 && a->vendor == 0 && a->type == DM_T_IDENTITY && a->mandatory);
	cr_expect_eq(dm_dict_avp(d, 264, 0), a);
	cr_expect_null(dm_dict_avp(d, 264, DM_VENDOR_3GPP), "the vendor is part of the key");
	a = dm_dict_avp(d, 700, DM_VENDOR_3GPP);
	cr_assert_not_null(a);
	cr_expect_str_eq(a->name, "User-Identity");
	cr_expect_eq(a->type, DM_T_GROUPED);
	cr_expect(dm_dict_is_grouped(d, 700, DM_VENDOR_3GPP) && !dm_dict_is_grouped(d, 701, 0));
	a = dm_dict_avp_named(d, "CC-Request-Type");
	int32_t v;
	cr_assert_eq(dm_dict_enum_value(a, "EVENT_REQUEST", &v), 0);
	cr_expect_eq(v, 4);
	cr_expect_str_eq(dm_dict_enum_name(a, 1), "INITIAL_REQUEST");
	cr_expect_eq(dm_dict_enum_value(a, "NOPE", &v), -ENOENT);

	const struct dm_cmd_def *c = dm_dict_cmd_named(d, "CCR");
	cr_assert_not_null(c);
	cr_expect(c->code == 272 && c->app_id == 4);
	cr_expect_eq(dm_dict_cmd_named(d, "Credit-Control-Request"), c);
	cr_expect_eq(dm_dict_cmd_named(d, "Credit-Control-Answer"), c);
	cr_expect_eq(dm_dict_cmd_named(d, "cca"), c);
	c = dm_dict_cmd_named(d, "UDR");
	cr_expect(c && c->code == 306 && c->app_id == 16777217);
	cr_expect_eq(dm_dict_cmd(d, 306, 16777217), c);
	cr_expect_eq(dm_dict_cmd(d, 280, 16777217), dm_dict_cmd_named(d, "DWR"),
		     "a base command in another application");
	cr_expect_null(dm_dict_cmd(d, 306, 4));
	const struct dm_app_def *ap = dm_dict_app_named(d, "sh");
	cr_expect(ap && ap->id == 16777217 && ap->vendor == DM_VENDOR_3GPP);
	cr_expect_eq(dm_dict_app(d, 16777216), dm_dict_app_named(d, "Cx"));
	size_t na, nc, np;
	dm_dict_counts(d, &na, &nc, &np);
	cr_expect(na >= 140 && nc == 18 && np == 5, "%zu AVPs, %zu commands, %zu apps", na, nc, np);
}

Test(dm_dict, a_dictionary_file_adds_and_its_mistakes_are_named)
{
	char err[256] = "";
	const char *ok = "{\"vendors\": [{\"id\": 99999, \"name\": \"Acme\"}],"
			 " \"applications\": [{\"id\": 4294967040, \"name\": \"Acme-App\","
			 "   \"vendor\": \"Acme\"}],"
			 " \"avps\": [{\"name\": \"Acme-Grade\", \"code\": 1, \"vendor\": \"Acme\","
			 "   \"type\": \"Enumerated\", \"values\": {\"GOLD\": 1, \"TIN\": 9}},"
			 "  {\"name\": \"Acme-Box\", \"code\": 2, \"vendor\": 99999,"
			 "   \"type\": \"Grouped\", \"mandatory\": false}],"
			 " \"commands\": [{\"name\": \"Acme-Ping\", \"code\": 16000000,"
			 "   \"application\": \"Acme-App\", \"request\": \"APR\", \"answer\": \"APA\"}]}";
	cr_assert_eq(dm_dict_load_text(d, ok, "acme.json", err, sizeof(err)), 0, "%s", err);
	const struct dm_avp_def *a = dm_dict_avp(d, 1, 99999);
	cr_assert_not_null(a);
	cr_expect_str_eq(a->name, "Acme-Grade");
	int32_t v;
	cr_expect(dm_dict_enum_value(a, "TIN", &v) == 0 && v == 9);
	cr_expect(!dm_dict_avp_named(d, "Acme-Box")->mandatory);
	const struct dm_cmd_def *c = dm_dict_cmd_named(d, "APR");
	cr_expect(c && c->code == 16000000 && c->app_id == 4294967040u);
	cr_expect_not_null(dm_dict_avp_named(d, "Origin-Host"), "the built-in ones stay");

	struct {
		const char *json, *says;
	} bad[] = {
		{ "{\"avps\": [{\"name\": \"Origin-Host\", \"code\": 5, \"type\": \"UTF8String\"}]}",
		  "Origin-Host (code 5, vendor 0) is there already" },
		{ "{\"avps\": [{\"name\": \"X\", \"code\": 264, \"type\": \"UTF8String\"}]}",
		  "is there already" },
		{ "{\"avps\": [{\"name\": \"X\", \"code\": 7000, \"type\": \"String\"}]}",
		  "AVP X: \"type\"" },
		{ "{\"avps\": [{\"name\": \"X\", \"code\": 7000, \"vendor\": \"Nobody\","
		  " \"type\": \"Unsigned32\"}]}", "neither a number nor a known vendor" },
		{ "{\"avps\": [{\"name\": \"X\", \"code\": 7000, \"type\": \"Unsigned32\","
		  " \"values\": {\"A\": 1}}]}", "only for Enumerated" },
		{ "{\"commands\": [{\"name\": \"Y\", \"code\": 99, \"application\": \"Nope\"}]}",
		  "commands[0]" },
		{ "{\"avps\": [", "bad.json:1:" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(dm_dict_load_text(d, bad[i].json, "bad.json", err, sizeof(err)), -EINVAL,
			     "%s", bad[i].json);
		cr_expect(strstr(err, bad[i].says), "%zu: \"%s\" does not say \"%s\"", i, err,
			  bad[i].says);
	}
	cr_expect_eq(dm_dict_load(d, "/nonexistent/dict.json", err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "/nonexistent/dict.json"));
}

/* Writes <avps> (JSON text) into a message of <cmd> and checks it; its length. */
static long write_msg(const char *cmd, const char *avps_json, uint8_t *buf, size_t cap)
{
	json_error_t je;
	json_t *avps = json_loads(avps_json, 0, &je);
	cr_assert_not_null(avps, "test JSON: %s", je.text);
	const struct dm_cmd_def *c = dm_dict_cmd_named(d, cmd);
	cr_assert_not_null(c);
	struct dm_wbuf w;
	char err[256] = "";
	dm_w_init(&w, buf, cap);
	dm_w_hdr(&w, DM_FLAG_R | (c->proxiable ? DM_FLAG_P : 0), c->code, c->app_id, 7, 8);
	cr_assert_eq(dm_json_write(d, avps, &w, err, sizeof(err)), 0, "%s", err);
	long n = dm_w_finish(&w);
	cr_assert_gt(n, 0);
	uint32_t rc, fo, fl;
	cr_assert_eq(dm_msg_check(buf, (size_t)n, NULL, dm_dict_is_grouped, d, &rc, &fo, &fl,
				  NULL), 0, "rc %u", rc);
	json_decref(avps);
	return n;
}

static void round_trip(const char *cmd, const char *avps_json)
{
	uint8_t buf[4096];
	long n = write_msg(cmd, avps_json, buf, sizeof(buf));
	json_t *back = dm_json_read(d, buf + DM_HDR_LEN, (uint32_t)n - DM_HDR_LEN);
	json_t *want = json_loads(avps_json, 0, NULL);
	cr_assert_not_null(back);
	char *a = json_dumps(back, JSON_COMPACT), *b = json_dumps(want, JSON_COMPACT);
	cr_expect(json_equal(back, want), "read back:\n%s\nwritten:\n%s", a, b);
	free(a);
	free(b);
	json_decref(back);
	json_decref(want);
}

Test(dm_dict, a_ro_ccr_from_json_and_back)
{
	round_trip("CCR",
		   "[{\"Session-Id\": \"rcsgw.test;1;42\"},"
		   " {\"Origin-Host\": \"rcsgw.test\"}, {\"Origin-Realm\": \"test\"},"
		   " {\"Destination-Realm\": \"ocs.test\"}, {\"Auth-Application-Id\": 4},"
		   " {\"Service-Context-Id\": \"32274@3gpp.org\"},"
		   " {\"CC-Request-Type\": \"EVENT_REQUEST\"}, {\"CC-Request-Number\": 0},"
		   " {\"Requested-Action\": \"DIRECT_DEBITING\"},"
		   " {\"Event-Timestamp\": \"2026-11-27T08:00:00Z\"},"
		   " {\"Subscription-Id\": [{\"Subscription-Id-Type\": \"END_USER_SIP_URI\"},"
		   "                       {\"Subscription-Id-Data\": \"sip:alice@ims.test\"}]},"
		   " {\"Requested-Service-Unit\": [{\"CC-Service-Specific-Units\": 1}]},"
		   " {\"Host-IP-Address\": \"2001:db8::1\"},"
		   " {\"CC-Sub-Session-Id\": \"18446744073709551615\"},"
		   " {\"Value-Digits\": -5},"
		   " {\"Class\": {\"hex\": \"00ff10\"}},"
		   " {\"code\": 99999, \"vendor\": 12345, \"mandatory\": false, \"hex\": \"cafe\"}]");
}

Test(dm_dict, an_sh_udr_from_json_and_back)
{
	round_trip("UDR", DM_SAMPLE_UDR_JSON);
	/* the 3GPP AVPs go with V and the vendor, the base ones without */
	uint8_t buf[1024];
	long n = write_msg("UDR", "[{\"User-Identity\": [{\"MSISDN\": \"4912345\"}]}]", buf,
			   sizeof(buf));
	cr_assert_eq(n, DM_HDR_LEN + 12 + 12 + 8);
	cr_expect(buf[DM_HDR_LEN + 4] == (DM_AVP_V | DM_AVP_M) && buf[DM_HDR_LEN + 11] == 0xaf);
}

Test(dm_dict, json_that_does_not_fit_names_the_avp)
{
	struct {
		const char *json, *says;
	} bad[] = {
		{ "[{\"No-Such-AVP\": 1}]", "No-Such-AVP: no such AVP" },
		{ "[{\"Result-Code\": -1}]", "Result-Code: Unsigned32" },
		{ "[{\"Result-Code\": \"2001\"}]", "Result-Code: Unsigned32" },
		{ "[{\"CC-Request-Type\": \"SOMETIMES\"}]", "CC-Request-Type: no value named" },
		{ "[{\"Host-IP-Address\": \"localhost\"}]", "Host-IP-Address: Address" },
		{ "[{\"Event-Timestamp\": \"yesterday\"}]", "Event-Timestamp: Time" },
		{ "[{\"Subscription-Id\": {\"Subscription-Id-Data\": \"x\"}}]", "Subscription-Id: Grouped" },
		{ "[{\"Subscription-Id\": [{\"Subscription-Id-Type\": []}]}]", "Subscription-Id-Type" },
		{ "[{\"Class\": {\"hex\": \"abc\"}}]", "Class: OctetString" },
		{ "[{\"Origin-Host\": \"a\", \"Origin-Realm\": \"b\"}]", "one AVP per object" },
		{ "[{\"code\": 1}]", "an AVP by number" },
		{ "{\"Origin-Host\": \"a\"}", "an array" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i].json, 0, NULL);
		cr_assert_not_null(j, "%s", bad[i].json);
		uint8_t buf[512];
		struct dm_wbuf w;
		char err[256] = "";
		dm_w_init(&w, buf, sizeof(buf));
		dm_w_hdr(&w, DM_FLAG_R, 272, 4, 1, 1);
		cr_expect_eq(dm_json_write(d, j, &w, err, sizeof(err)), -EINVAL, "%s", bad[i].json);
		cr_expect(strstr(err, bad[i].says), "%zu: \"%s\" does not say \"%s\"", i, err,
			  bad[i].says);
		json_decref(j);
	}
}
