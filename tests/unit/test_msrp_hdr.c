/* test_msrp_hdr.c — MSRP header names and lazy value parsers (msrp/msrp_hdr.c).
 *
 * Every value is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end of a value crashes the test. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "msrp/msrp_hdr.h"
#include "msrp/msrp_parse.h"
#include "tests/lib/guard.h"

static int slice_is(cm_slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

#define SL(s) (int)(s).len, (s).p ? (s).p : ""

/* A guarded copy of <s> as a value slice (release with guard_release(v.p)). */
static cm_slice gv(const char *s)
{
	size_t n = strlen(s);

	return (cm_slice){ guard_copy(s, n), n };
}

/* ---- names -------------------------------------------------------------------------- */

Test(msrp_hdr, names_round_trip_any_case)
{
	for (int id = 1; id < MSRP_H__COUNT; id++) {
		const char *name = msrp_hdr_name((enum msrp_hid)id);
		size_t n = strlen(name);
		char up[32], low[32];
		cm_slice g;

		cr_assert(n > 0 && n < sizeof(up));
		for (size_t i = 0; i <= n; i++) {
			up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
			low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		}
		g = gv(name);
		cr_assert_eq((int)msrp_hdr_id(g.p, g.len), id, "%s", name);
		guard_release(g.p);
		g = gv(up);
		cr_assert_eq((int)msrp_hdr_id(g.p, g.len), id, "%s", up);
		guard_release(g.p);
		g = gv(low);
		cr_assert_eq((int)msrp_hdr_id(g.p, g.len), id, "%s", low);
		guard_release(g.p);
	}
	cr_assert_str_eq(msrp_hdr_name(MSRP_H_OTHER), "");
	cr_assert_str_eq(msrp_hdr_name(MSRP_H__COUNT), "");
	cr_assert_str_eq(msrp_hdr_name(MSRP_H_WWW_AUTHENTICATE), "WWW-Authenticate");
}

Test(msrp_hdr, unknown_names)
{
	static const char *const others[] = {
		"", "T", "To", "To-Pat", "To-Paths", "To_Path", "Tp-Path", "Xo-Path", "Statu",
		"Statuses", "Content-IX", "Content-Typf", "Content-Descriptiom",
		"Content-Dispositiom", "Authentication-Inf0", "Mix-Expires", "Mun-Expires",
		"Expired", "Byte-Rangf", "Message-IE", "Failure-Reporx", "Success_Report",
		"Use-Pat@", "WWW-Authenticatf", "Authorizatiom", "X-Custom", "To-P\rth",
		"Content-Type-Extra-Long-Name",
	};

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		cm_slice g = gv(others[i]);

		cr_assert_eq(msrp_hdr_id(g.p, g.len), MSRP_H_OTHER, "%s", others[i]);
		guard_release(g.p);
	}
}

Test(msrp_hdr, get_first_and_by_name)
{
	static const char head[] = "MSRP abcd SEND\r\n"
				   "To-Path: msrp://a/x;tcp\r\n"
				   "From-Path: msrp://b/y;tcp\r\n"
				   "X-One: 1\r\n"
				   "x-one: 2\r\n"
				   "Content-ID: <c1>\r\n"
				   "-------abcd$\r\n";
	struct msrp_parse_stats st = { 0 };
	struct msrp_parse_cfg cfg = { .stats = &st };
	struct msrp_parser p;
	struct msrp_ev ev;
	const char *g = guard_copy(head, sizeof(head) - 1);

	msrp_parse_limits_default(&cfg.limits);
	msrp_parser_init(&p, &cfg);
	msrp_parse(&p, g, sizeof(head) - 1, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD);
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_FROM_PATH), "msrp://b/y;tcp"));
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_OTHER), "1"));
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_CONTENT_ID), "<c1>"));
	cr_assert_null(msrp_hdr_get(&ev.msg, MSRP_H_BYTE_RANGE).p);
	cr_assert_null(msrp_hdr_get(&ev.msg, MSRP_H__COUNT).p);
	cr_assert(slice_is(msrp_hdr_get_name(&ev.msg, (cm_slice)CM_SLICE_LIT("X-ONE")), "1"));
	cr_assert(slice_is(msrp_hdr_get_name(&ev.msg, (cm_slice)CM_SLICE_LIT("content-id")),
			   "<c1>"));
	cr_assert_null(msrp_hdr_get_name(&ev.msg, (cm_slice)CM_SLICE_LIT("X-Two")).p);
	cr_assert_null(msrp_hdr_get_name(&ev.msg, (cm_slice)CM_SLICE_LIT("X-On")).p);
	msrp_parser_free(&p);
	guard_release(g);
}

/* ---- ident ---------------------------------------------------------------------------- */

Test(msrp_hdr, ident)
{
	static const char *const good[] = {
		"abcd", "1234", "a.-+", "Z%=9", "87652491", "12339sdqwer",
		"abcdefghijklmnopqrstuvwxyz012345",          /* 32 */
	};
	static const char *const bad[] = {
		"", "abc", ".abc", "-abc", "+abc", "%abc", "=abc", "ab c", "ab/c", "ab\rc",
		"abcdefghijklmnopqrstuvwxyz0123456",         /* 33 */
		"abc\xc3\xa9", "ab_c", "ab@cd",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cm_slice v = gv(good[i]);

		cr_assert_eq(msrp_hdr_ident(v), 0, "%s", good[i]);
		guard_release(v.p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cm_slice v = gv(bad[i]);

		cr_assert_eq(msrp_hdr_ident(v), -EINVAL, "%s", bad[i]);
		guard_release(v.p);
	}
}

/* ---- Byte-Range ----------------------------------------------------------------------- */

Test(msrp_hdr, byte_range)
{
	static const struct {
		const char *s;
		uint64_t start;
		int64_t end, total;
	} good[] = {
		{ "1-25/25", 1, 25, 25 },
		{ "1-*/*", 1, -1, -1 },
		{ "1-*/40", 1, -1, 40 },
		{ "24-40/40", 24, 40, 40 },
		{ "1-0/0", 1, 0, 0 },                        /* the empty SEND */
		{ "5-4/*", 5, 4, -1 },                       /* an empty range */
		{ "1-100/*", 1, 100, -1 },
		{ "100-*/100", 100, -1, 100 },
		{ "101-*/100", 101, -1, 100 },
		{ "9223372036854775807-*/*", INT64_MAX, -1, -1 },
		{ "1-9223372036854775807/9223372036854775807", 1, INT64_MAX, INT64_MAX },
		{ "007-010/011", 7, 10, 11 },
	};
	static const struct {
		const char *s;
		int rc;
	} bad[] = {
		{ "", -EINVAL }, { "1", -EINVAL }, { "1-", -EINVAL }, { "1-2", -EINVAL },
		{ "1-2/", -EINVAL }, { "0-1/1", -EINVAL }, { "2-0/5", -EINVAL },
		{ "3-1/5", -EINVAL }, { "1-5/4", -EINVAL }, { "*-5/5", -EINVAL },
		{ "1-5/5 ", -EINVAL }, { " 1-5/5", -EINVAL }, { "1 -5/5", -EINVAL },
		{ "1-5/5x", -EINVAL }, { "1--5/5", -EINVAL }, { "-1-5/5", -EINVAL },
		{ "1-**/5", -EINVAL }, { "1-5/**", -EINVAL }, { "+1-5/5", -EINVAL },
		{ "1-5//5", -EINVAL }, { "102-*/100", -EINVAL },
		{ "9223372036854775808-*/*", -ERANGE },
		{ "1-99999999999999999999/*", -ERANGE },
		{ "1-*/99999999999999999999", -ERANGE },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct msrp_range r;
		cm_slice v = gv(good[i].s);

		cr_assert_eq(msrp_hdr_range(v, &r), 0, "%s", good[i].s);
		cr_assert_eq(r.start, good[i].start, "%s", good[i].s);
		cr_assert_eq(r.end, good[i].end, "%s", good[i].s);
		cr_assert_eq(r.total, good[i].total, "%s", good[i].s);
		guard_release(v.p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct msrp_range r = { 77, 77, 77 };
		cm_slice v = gv(bad[i].s);

		cr_assert_eq(msrp_hdr_range(v, &r), bad[i].rc, "%s", bad[i].s);
		cr_assert_eq(r.start, 77, "untouched on failure");
		guard_release(v.p);
	}
}

/* ---- reports -------------------------------------------------------------------------- */

Test(msrp_hdr, reports)
{
	enum msrp_report r = MSRP_REPORT_PARTIAL;
	cm_slice v;

	cr_assert_eq(msrp_hdr_success_report(CM_SLICE_NULL, &r), 0);
	cr_assert_eq(r, MSRP_REPORT_ABSENT);
	r = MSRP_REPORT_YES;
	cr_assert_eq(msrp_hdr_failure_report(CM_SLICE_NULL, &r), 0);
	cr_assert_eq(r, MSRP_REPORT_ABSENT);

	v = gv("yes");
	cr_assert_eq(msrp_hdr_success_report(v, &r), 0);
	cr_assert_eq(r, MSRP_REPORT_YES);
	cr_assert_eq(msrp_hdr_failure_report(v, &r), 0);
	cr_assert_eq(r, MSRP_REPORT_YES);
	guard_release(v.p);
	v = gv("No");
	cr_assert_eq(msrp_hdr_success_report(v, &r), 0);
	cr_assert_eq(r, MSRP_REPORT_NO);
	cr_assert_eq(msrp_hdr_failure_report(v, &r), 0);
	cr_assert_eq(r, MSRP_REPORT_NO);
	guard_release(v.p);
	v = gv("PARTIAL");
	r = MSRP_REPORT_ABSENT;
	cr_assert_eq(msrp_hdr_success_report(v, &r), -EINVAL, "partial is Failure-Report only");
	cr_assert_eq(r, MSRP_REPORT_ABSENT);
	cr_assert_eq(msrp_hdr_failure_report(v, &r), 0);
	cr_assert_eq(r, MSRP_REPORT_PARTIAL);
	guard_release(v.p);

	static const char *const bad[] = { "", "y", "ye", "yess", "n", "nope", "partia",
					   "partials", "true", "1", "yes ", " no" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = gv(bad[i]);
		cr_assert_eq(msrp_hdr_success_report(v, &r), -EINVAL, "%s", bad[i]);
		cr_assert_eq(msrp_hdr_failure_report(v, &r), -EINVAL, "%s", bad[i]);
		guard_release(v.p);
	}
}

/* ---- Status --------------------------------------------------------------------------- */

Test(msrp_hdr, status)
{
	static const struct {
		const char *s;
		int ns, code;
		const char *comment;
	} good[] = {
		{ "000 200 OK", 0, 200, "OK" },
		{ "000 200", 0, 200, "" },
		{ "000 413 Message too large", 0, 413, "Message too large" },
		{ "123 999 ", 123, 999, "" },
		{ "000 408 caf\xc3\xa9\tand more", 0, 408, "caf\xc3\xa9\tand more" },
	};
	static const char *const bad[] = {
		"", "000", "000 ", "000 20", "00 200", "0000 200", "000  200", "000 2000",
		"000 099", "abc 200", "000 2x0", "000 200\x01", "000\t200", "000 200\tOK",
		"000 200 a\x7f",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct msrp_status st;
		cm_slice v = gv(good[i].s);

		cr_assert_eq(msrp_hdr_status(v, &st), 0, "%s", good[i].s);
		cr_assert_eq(st.ns, good[i].ns);
		cr_assert_eq(st.code, good[i].code);
		cr_assert(slice_is(st.comment, good[i].comment), "%s: [%.*s]", good[i].s,
			  SL(st.comment));
		guard_release(v.p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct msrp_status st;
		cm_slice v = gv(bad[i]);

		cr_assert_eq(msrp_hdr_status(v, &st), -EINVAL, "%s", bad[i]);
		guard_release(v.p);
	}
}

/* ---- Expires -------------------------------------------------------------------------- */

Test(msrp_hdr, expires)
{
	static const struct {
		const char *s;
		int rc;
		uint32_t n;
	} cases[] = {
		{ "900", 0, 900 }, { "0", 0, 0 }, { "4294967295", 0, UINT32_MAX },
		{ "0004294967295", 0, UINT32_MAX }, { "4294967296", -ERANGE, 0 },
		{ "99999999999999999999999", -ERANGE, 0 }, { "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 },
		{ "1s", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "1.5", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t n = 12345;
		cm_slice v = gv(cases[i].s);

		cr_assert_eq(msrp_hdr_expires(v, &n), cases[i].rc, "%s", cases[i].s);
		cr_assert_eq(n, cases[i].rc == 0 ? cases[i].n : 12345u, "%s", cases[i].s);
		guard_release(v.p);
	}
}

/* ---- Content-Type --------------------------------------------------------------------- */

Test(msrp_hdr, content_type)
{
	struct msrp_ctype ct;
	cm_slice v, rest, n, val;

	v = gv("text/plain");
	cr_assert_eq(msrp_hdr_ctype(v, &ct), 0);
	cr_assert(slice_is(ct.type, "text") && slice_is(ct.subtype, "plain"));
	cr_assert_eq(ct.params.len, 0);
	guard_release(v.p);

	v = gv("message/cpim");
	cr_assert_eq(msrp_hdr_ctype(v, &ct), 0);
	cr_assert(slice_is(ct.subtype, "cpim"));
	guard_release(v.p);

	v = gv("Text/HTML ; charset=UTF-8;format = flowed; name=\"a \\\"b\\\\ c;d\" ;x");
	cr_assert_eq(msrp_hdr_ctype(v, &ct), 0);
	cr_assert(slice_is(ct.type, "Text") && slice_is(ct.subtype, "HTML"));
	rest = ct.params;
	cr_assert_eq(msrp_ctype_param_next(&rest, &n, &val), 1);
	cr_assert(slice_is(n, "charset") && slice_is(val, "UTF-8"));
	cr_assert_eq(msrp_ctype_param_next(&rest, &n, &val), 1);
	cr_assert(slice_is(n, "format") && slice_is(val, "flowed"));
	cr_assert_eq(msrp_ctype_param_next(&rest, &n, &val), 1);
	cr_assert(slice_is(n, "name") && slice_is(val, "a \\\"b\\\\ c;d"), "[%.*s]", SL(val));
	cr_assert_eq(msrp_ctype_param_next(&rest, &n, &val), 1);
	cr_assert(slice_is(n, "x") && val.p == NULL);
	cr_assert_eq(msrp_ctype_param_next(&rest, &n, &val), 0);
	guard_release(v.p);

	static const char *const bad[] = {
		"", "text", "text/", "/plain", "te xt/plain", "text/pl ain", "text/plain;",
		"text/plain; ", "text/plain x", "text/plain;=x", "text/plain;a=", "text/plain;a=\"x",
		"text/plain;a=\"x\\\"", "text/plain;a=\"x\\y\"", "text/plain;a=b c",
		"text/plain;a=b;;c", "text(x)/plain", "text/plain;a=\"\x01\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = gv(bad[i]);
		cr_assert_eq(msrp_hdr_ctype(v, &ct), -EINVAL, "%s", bad[i]);
		guard_release(v.p);
	}
}

/* ---- paths ---------------------------------------------------------------------------- */

Test(msrp_hdr, path_split)
{
	cm_slice v = gv("msrps://intra.example.com:9000/jui787s2f;tcp "
			"msrps://extra.example.com:9000/mywdEe1233;tcp\t  "
			"msrps://bob.example.com:8145/foo;tcp  ");
	cm_slice rest = v, uri;
	const char *want[] = { "msrps://intra.example.com:9000/jui787s2f;tcp",
			       "msrps://extra.example.com:9000/mywdEe1233;tcp",
			       "msrps://bob.example.com:8145/foo;tcp" };

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(msrp_path_next(&rest, &uri), 1);
		cr_assert(slice_is(uri, want[i]), "[%.*s]", SL(uri));
	}
	cr_assert_eq(msrp_path_next(&rest, &uri), 0);
	cr_assert_eq(msrp_path_next(&rest, &uri), 0);
	guard_release(v.p);

	v = gv("msrp://one/x;tcp");
	rest = v;
	cr_assert_eq(msrp_path_next(&rest, &uri), 1);
	cr_assert(slice_is(uri, "msrp://one/x;tcp"));
	cr_assert_eq(msrp_path_next(&rest, &uri), 0);
	guard_release(v.p);

	v = gv("   ");
	rest = v;
	cr_assert_eq(msrp_path_next(&rest, &uri), 0);
	guard_release(v.p);
	rest = (cm_slice)CM_SLICE_NULL;
	cr_assert_eq(msrp_path_next(&rest, &uri), 0);
}

/* ---- character classes ---------------------------------------------------------------- */

Test(msrp_hdr, classes_follow_the_abnf)
{
	for (int c = 0; c < 256; c++) {
		int alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
		int tok = c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b ||
			  c == 0x2d || c == 0x2e || (c >= 0x30 && c <= 0x39) ||
			  (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e);

		cr_assert_eq(msrp_cis((char)c, MSRP_C_ALNUM), alnum, "%d", c);
		cr_assert_eq(msrp_cis((char)c, MSRP_C_IDENT), alnum || (c && strchr(".-+%=", c)),
			     "%d", c);
		cr_assert_eq(msrp_cis((char)c, MSRP_C_TOKEN), tok, "%d", c);
		cr_assert_eq(msrp_cis((char)c, MSRP_C_TEXT), c == 9 || (c >= 0x20 && c != 0x7f),
			     "%d", c);
		cr_assert_eq(msrp_cis((char)c, MSRP_C_UPALPHA), c >= 'A' && c <= 'Z', "%d", c);
		cr_assert_eq(msrp_cis((char)c, MSRP_C_DIGIT), c >= '0' && c <= '9', "%d", c);
		cr_assert_eq(msrp_cis((char)c, MSRP_C_WS), c == ' ' || c == '\t', "%d", c);
	}
}
