/* test_msrp_write.c — msrp/msrp_write: frames byte for byte against the examples of
 * RFC 4975 (§4, §5.1, §10.1, §10.5) and RFC 4976 (§7.1), snprintf-like length semantics,
 * refusal of invalid input, the end-line-in-body check and the tid chooser; what it writes
 * is read back by the frame parser (msrp_parse).
 *
 * The RFC texts indent their examples and leave CRLFs implicit; the expected frames below
 * are those examples with the indentation removed and CRLF line ends, as on the wire. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msrp/msrp_hdr.h"
#include "msrp/msrp_parse.h"
#include "msrp/msrp_write.h"

#define S(lit) CM_SLICE_LIT(lit)

static cm_slice sl(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

/* Writes <m> with <body> as one frame and compares it with <want>. */
static void frame_is(const struct msrp_out *m, const char *body, enum msrp_flag flag,
		     const char *want)
{
	char buf[4096];
	cm_slice b = body ? sl(body) : CM_SLICE_NULL;
	ssize_t n = msrp_write_frame(buf, sizeof(buf), m, &b, body ? 1 : 0, flag);

	cr_assert_gt(n, 0, "rc %zd", n);
	cr_assert_eq((size_t)n, strlen(want), "length %zd, want %zu:\n%.*s", n, strlen(want),
		     (int)n, buf);
	cr_assert(!memcmp(buf, want, (size_t)n), "got:\n%.*s\nwant:\n%s", (int)n, buf, want);
}

/* RFC 4975 §4: the first SEND of the overview and its 200 OK. */
Test(msrp_write, rfc4975_s4_send_and_ok)
{
	struct msrp_range br = { 1, 25, 25 };
	struct msrp_out send = {
		.tid = S("a786hjs2"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"),
		.from_path = S("msrp://atlanta.example.com:7654/jshA7weztas;tcp"),
		.message_id = S("87652491"),
		.byte_range = &br,
		.content_type = S("text/plain"),
	};
	char buf[512];
	ssize_t n;

	frame_is(&send, "Hey Bob, are you there?", MSRP_FLAG_END,
		 "MSRP a786hjs2 SEND\r\n"
		 "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
		 "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
		 "Message-ID: 87652491\r\n"
		 "Byte-Range: 1-25/25\r\n"
		 "Content-Type: text/plain\r\n"
		 "\r\n"
		 "Hey Bob, are you there?\r\n"
		 "-------a786hjs2$\r\n");

	/* §7.2: the response goes back to the first URI of the request's From-Path */
	n = msrp_write_response(buf, sizeof(buf), S("a786hjs2"), 200, S("OK"), send.to_path,
				send.from_path, NULL, 0);
	cr_assert_gt(n, 0);
	cr_assert_str_eq((buf[n] = '\0', buf),
			 "MSRP a786hjs2 200 OK\r\n"
			 "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
			 "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
			 "-------a786hjs2$\r\n");
}

/* RFC 4975 §5.1: a message in two chunks, the first one interruptible ("1-*"). The RFC
 * leaves To-Path and From-Path out of that illustration; the frames here carry them. */
Test(msrp_write, rfc4975_s5_1_two_chunks)
{
	struct msrp_range r1 = { 1, -1, 8 }, r2 = { 5, 8, 8 };
	struct msrp_out c1 = {
		.tid = S("dkei38sd"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://alice.example.com:7777/iau39soe2843z;tcp"),
		.from_path = S("msrp://bob.example.com:8888/9di4eae923wzd;tcp"),
		.message_id = S("4564dpWd"),
		.byte_range = &r1,
		.content_type = S("text/plain"),
	};
	struct msrp_out c2 = c1;

	c2.tid = S("dkei38ia");
	c2.byte_range = &r2;
	frame_is(&c1, "abcd", MSRP_FLAG_MORE,
		 "MSRP dkei38sd SEND\r\n"
		 "To-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\n"
		 "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		 "Message-ID: 4564dpWd\r\n"
		 "Byte-Range: 1-*/8\r\n"
		 "Content-Type: text/plain\r\n"
		 "\r\n"
		 "abcd\r\n"
		 "-------dkei38sd+\r\n");
	frame_is(&c2, "EFGH", MSRP_FLAG_END,
		 "MSRP dkei38ia SEND\r\n"
		 "To-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\n"
		 "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		 "Message-ID: 4564dpWd\r\n"
		 "Byte-Range: 5-8/8\r\n"
		 "Content-Type: text/plain\r\n"
		 "\r\n"
		 "EFGH\r\n"
		 "-------dkei38ia$\r\n");
}

/* RFC 4975 §10.1 (basic IM session): Alice's SEND and Bob's 200 OK. */
Test(msrp_write, rfc4975_s10_1_basic_session)
{
	struct msrp_range br = { 1, 16, 16 };
	struct msrp_out send = {
		.tid = S("d93kswow"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://bob.example.com:8888/9di4eae923wzd;tcp"),
		.from_path = S("msrp://alicepc.example.com:7777/iau39soe2843z;tcp"),
		.message_id = S("12339sdqwer"),
		.byte_range = &br,
		.content_type = S("text/plain"),
	};
	char buf[512];
	ssize_t n;

	frame_is(&send, "Hi, I'm Alice!", MSRP_FLAG_END,
		 "MSRP d93kswow SEND\r\n"
		 "To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		 "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
		 "Message-ID: 12339sdqwer\r\n"
		 "Byte-Range: 1-16/16\r\n"
		 "Content-Type: text/plain\r\n"
		 "\r\n"
		 "Hi, I'm Alice!\r\n"
		 "-------d93kswow$\r\n");
	n = msrp_write_response(buf, sizeof(buf), S("d93kswow"), 200, S("OK"), send.to_path,
				send.from_path, NULL, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "MSRP d93kswow 200 OK\r\n"
			      "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
			      "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
			      "-------d93kswow$\r\n");
}

/* RFC 4975 §10.5 (positive report): the SEND asks for a success report and no failure
 * report; the REPORT goes to the SEND's From-Path. The head and the REPORT are the RFC's;
 * the 106-byte HTML body is a stand-in of ours of the same length. */
Test(msrp_write, rfc4975_s10_5_positive_report)
{
	static const char body[] =
		"<html><body>\r\n<p>Here is the link:\r\n"
		"<a href=\"http://www.example.com/foobar\">foobar</a></p>\r\n</body></html>";
	struct msrp_range br = { 1, 106, 106 };
	struct msrp_out send = {
		.tid = S("d93kswow"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://bob.example.com:8888/9di4eae923wzd;tcp"),
		.from_path = S("msrp://alicepc.example.com:7777/iau39soe2843z;tcp"),
		.message_id = S("12339sdqwer"),
		.byte_range = &br,
		.success_report = MSRP_REPORT_YES,
		.failure_report = MSRP_REPORT_NO,
		.content_type = S("text/html"),
	};
	struct msrp_status ok = { 0, 200, S("OK") };
	char buf[1024], want[1024];
	ssize_t n;

	cr_assert_eq(strlen(body), 106);
	snprintf(want, sizeof(want),
		 "MSRP d93kswow SEND\r\n"
		 "To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		 "From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
		 "Message-ID: 12339sdqwer\r\n"
		 "Byte-Range: 1-106/106\r\n"
		 "Success-Report: yes\r\n"
		 "Failure-Report: no\r\n"
		 "Content-Type: text/html\r\n"
		 "\r\n"
		 "%s\r\n"
		 "-------d93kswow$\r\n", body);
	frame_is(&send, body, MSRP_FLAG_END, want);

	n = msrp_write_report(buf, sizeof(buf), S("dkei38sd"), send.from_path, send.to_path,
			      send.message_id, &br, &ok);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "MSRP dkei38sd REPORT\r\n"
			      "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
			      "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
			      "Message-ID: 12339sdqwer\r\n"
			      "Byte-Range: 1-106/106\r\n"
			      "Status: 000 200 OK\r\n"
			      "-------dkei38sd$\r\n");
}

/* RFC 4976 §7.1: AUTH, the relay's 401 challenge, the second AUTH with credentials (the
 * RFC folds the long headers for print; on the wire each is one line). */
Test(msrp_write, rfc4976_s7_1_auth_exchange)
{
	static const struct msrp_hdr chal[] = { {
		.name = S("WWW-Authenticate"),
		.value = S("Digest realm=\"intra.example.com\", qop=\"auth\", "
			   "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\""),
	} };
	static const struct msrp_hdr cred[] = { {
		.name = S("Authorization"),
		.value = S("Digest username=\"Alice\", realm=\"intra.example.com\", "
			   "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", qop=auth, "
			   "nc=00000001, cnonce=\"0a4f113b\", "
			   "response=\"6629fae49393a05397450978507c4ef1\""),
	} };
	struct msrp_out auth = {
		.tid = S("49fh"),
		.method = MSRP_M_AUTH,
		.to_path = S("msrps://alice@intra.example.com;tcp"),
		.from_path = S("msrps://alice.example.com:9892/98cjs;tcp"),
	};
	char buf[1024], want[1024];
	ssize_t n;

	frame_is(&auth, NULL, MSRP_FLAG_END,
		 "MSRP 49fh AUTH\r\n"
		 "To-Path: msrps://alice@intra.example.com;tcp\r\n"
		 "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
		 "-------49fh$\r\n");

	n = msrp_write_response(buf, sizeof(buf), S("49fh"), 401, S("Unauthorized"),
				auth.to_path, auth.from_path, chal, 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	snprintf(want, sizeof(want),
		 "MSRP 49fh 401 Unauthorized\r\n"
		 "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
		 "From-Path: msrps://alice@intra.example.com;tcp\r\n"
		 "WWW-Authenticate: %.*s\r\n"
		 "-------49fh$\r\n", (int)chal[0].value.len, chal[0].value.p);
	cr_assert_str_eq(buf, want);

	auth.tid = S("49fi");
	auth.extra = cred;
	auth.nextra = 1;
	snprintf(want, sizeof(want),
		 "MSRP 49fi AUTH\r\n"
		 "To-Path: msrps://alice@intra.example.com;tcp\r\n"
		 "From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
		 "Authorization: %.*s\r\n"
		 "-------49fi$\r\n", (int)cred[0].value.len, cred[0].value.p);
	frame_is(&auth, NULL, MSRP_FLAG_END, want);
}

/* RFC 4976 §7.1, the relay's answer to the authenticated AUTH: Use-Path and Expires. */
Test(msrp_write, rfc4976_auth_ok_use_path_expires)
{
	struct msrp_out ok = {
		.tid = S("49fi"),
		.method = MSRP_M_NONE,
		.status = 200,
		.comment = S("OK"),
		.to_path = S("msrps://alice.example.com:9892/98cjs;tcp"),
		.from_path = S("msrps://alice@intra.example.com;tcp"),
		.use_path = S("msrps://intra.example.com:9000/jui787s2f;tcp"),
		.expires = S("900"),
	};

	frame_is(&ok, NULL, MSRP_FLAG_END,
		 "MSRP 49fi 200 OK\r\n"
		 "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
		 "From-Path: msrps://alice@intra.example.com;tcp\r\n"
		 "Use-Path: msrps://intra.example.com:9000/jui787s2f;tcp\r\n"
		 "Expires: 900\r\n"
		 "-------49fi$\r\n");
}

/* RFC 4976: a SEND through relays carries the whole route in To-Path; the first relay's
 * response goes to the previous hop only, from the relay's own URI. */
Test(msrp_write, response_through_relay_paths)
{
	char buf[512];
	ssize_t n;

	n = msrp_write_response(buf, sizeof(buf), S("6aef"), 200, S("OK"),
				S("msrps://intra.example.com:9000/jui787s2f;tcp "
				  "msrps://relay.example.net:9000/kwjks9;tcp "
				  "msrps://bob.example.net:8145/foo;tcp"),
				S("msrps://alice.example.com:9892/98cjs;tcp"), NULL, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "MSRP 6aef 200 OK\r\n"
			      "To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
			      "From-Path: msrps://intra.example.com:9000/jui787s2f;tcp\r\n"
			      "-------6aef$\r\n");
}

/* Head, body and tail written apart give the same bytes as the whole frame. */
Test(msrp_write, head_body_tail_pieces)
{
	struct msrp_range br = { 1, 5, 5 };
	static const struct msrp_hdr mime[] = {
		{ .name = S("Content-ID"), .value = S("<x@example.com>") },
		{ .name = S("Content-Disposition"), .value = S("inline") },
	};
	static const struct msrp_hdr extra[] = { { .name = S("X-Trace"), .value = S("42") } };
	struct msrp_out m = {
		.tid = S("abcd1234"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://b.example.com/s;tcp"),
		.from_path = S("msrp://a.example.com/s;tcp"),
		.message_id = S("m1"),
		.byte_range = &br,
		.success_report = MSRP_REPORT_NO,
		.failure_report = MSRP_REPORT_PARTIAL,
		.extra = extra,
		.nextra = 1,
		.mime = mime,
		.nmime = 2,
		.content_type = S("text/plain"),
	};
	char whole[1024], parts[1024];
	ssize_t n, h, t;

	n = msrp_write_frame(whole, sizeof(whole), &m, (cm_slice[]){ S("he"), S("llo") }, 2,
			     MSRP_FLAG_END);
	cr_assert_gt(n, 0);
	h = msrp_write_head(parts, sizeof(parts), &m, MSRP_FLAG_END);
	cr_assert_gt(h, 0);
	memcpy(parts + h, "hello", 5);
	t = msrp_write_tail(parts + h + 5, sizeof(parts) - (size_t)h - 5, m.tid, MSRP_FLAG_END);
	cr_assert_eq(t, (ssize_t)strlen("\r\n-------abcd1234$\r\n"));
	cr_assert_eq(h + 5 + t, n);
	cr_assert(!memcmp(whole, parts, (size_t)n));
	whole[n] = '\0';
	cr_assert_str_eq(whole, "MSRP abcd1234 SEND\r\n"
				"To-Path: msrp://b.example.com/s;tcp\r\n"
				"From-Path: msrp://a.example.com/s;tcp\r\n"
				"Message-ID: m1\r\n"
				"Byte-Range: 1-5/5\r\n"
				"Success-Report: no\r\n"
				"Failure-Report: partial\r\n"
				"X-Trace: 42\r\n"
				"Content-ID: <x@example.com>\r\n"
				"Content-Disposition: inline\r\n"
				"Content-Type: text/plain\r\n"
				"\r\n"
				"hello\r\n"
				"-------abcd1234$\r\n");
}

/* A SEND without body (an empty message, §7.1.1 "1-0/0") ends right after its headers. */
Test(msrp_write, bodiless_send)
{
	struct msrp_range br = { 1, 0, 0 };
	struct msrp_out m = {
		.tid = S("ka123abc"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://b/s;tcp"),
		.from_path = S("msrp://a/s;tcp"),
		.message_id = S("ka-msg-1"),
		.byte_range = &br,
		.success_report = MSRP_REPORT_YES,
	};

	frame_is(&m, NULL, MSRP_FLAG_END,
		 "MSRP ka123abc SEND\r\n"
		 "To-Path: msrp://b/s;tcp\r\n"
		 "From-Path: msrp://a/s;tcp\r\n"
		 "Message-ID: ka-msg-1\r\n"
		 "Byte-Range: 1-0/0\r\n"
		 "Success-Report: yes\r\n"
		 "-------ka123abc$\r\n");
}

Test(msrp_write, response_without_comment_and_unknown_method)
{
	struct msrp_out m = {
		.tid = S("tid4"),
		.method = MSRP_M_OTHER,
		.method_name = S("FOO"),
		.to_path = S("msrp://b/s;tcp"),
		.from_path = S("msrp://a/s;tcp"),
	};
	char buf[256];
	ssize_t n;

	frame_is(&m, NULL, MSRP_FLAG_END,
		 "MSRP tid4 FOO\r\nTo-Path: msrp://b/s;tcp\r\nFrom-Path: msrp://a/s;tcp\r\n"
		 "-------tid4$\r\n");
	n = msrp_write_response(buf, sizeof(buf), S("tid4"), 501, CM_SLICE_NULL, m.to_path,
				m.from_path, NULL, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "MSRP tid4 501\r\nTo-Path: msrp://a/s;tcp\r\nFrom-Path: "
			      "msrp://b/s;tcp\r\n-------tid4$\r\n");
}

/* snprintf semantics: the same count whatever <len>, a prefix written, never past <len>. */
Test(msrp_write, length_semantics)
{
	struct msrp_range br = { 1, 3, 3 };
	struct msrp_out m = {
		.tid = S("abcd"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://b/s;tcp"),
		.from_path = S("msrp://a/s;tcp"),
		.message_id = S("mid"),
		.byte_range = &br,
		.content_type = S("text/plain"),
	};
	cm_slice body = S("xyz");
	char full[512], buf[512 + 16];
	ssize_t need = msrp_write_frame(full, sizeof(full), &m, &body, 1, MSRP_FLAG_END);

	cr_assert_gt(need, 0);
	cr_assert_eq(msrp_write_frame(NULL, 0, &m, &body, 1, MSRP_FLAG_END), need);
	for (size_t len = 0; len <= (size_t)need; len++) {
		memset(buf, 0x5a, sizeof(buf));
		cr_assert_eq(msrp_write_frame(buf, len, &m, &body, 1, MSRP_FLAG_END), need);
		cr_assert(!memcmp(buf, full, len), "prefix at len %zu", len);
		for (size_t i = len; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], 0x5a, "byte %zu written with len %zu", i, len);
	}
	/* the tail alone, too */
	for (size_t len = 0; len < 20; len++) {
		memset(buf, 0x5a, sizeof(buf));
		cr_assert_eq(msrp_write_tail(buf, len, S("abcd"), MSRP_FLAG_MORE), 16);
		for (size_t i = len; i < 32; i++)
			cr_assert_eq(buf[i], 0x5a);
	}
}

Test(msrp_write, invalid_input_refused)
{
	struct msrp_range br = { 1, 3, 3 };
	struct msrp_out ok = {
		.tid = S("abcd"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://b/s;tcp"),
		.from_path = S("msrp://a/s;tcp"),
		.message_id = S("mid"),
		.byte_range = &br,
		.content_type = S("text/plain"),
	};
	struct msrp_out m;
	char buf[512];
	struct msrp_hdr bad_name[] = { { .name = S("X:Y"), .value = S("v") } };
	struct msrp_hdr bad_value[] = { { .name = S("X-Y"), .value = S("v\r\nInjected: 1") } };
	struct msrp_status st = { 0, 200, S("OK\n") };
	struct msrp_range bad_ranges[] = { { 0, 3, 3 }, { 5, 3, 9 }, { 1, 4, 3 }, { 9, -1, 3 } };

	cr_assert_gt(msrp_write_head(buf, sizeof(buf), &ok, MSRP_FLAG_END), 0);

	static const char *bad_tids[] = { "abc", ".abcd", "ab cd", "ab/cd",
					  "a23456789012345678901234567890123", "" };
	for (size_t i = 0; i < sizeof(bad_tids) / sizeof(bad_tids[0]); i++) {
		m = ok;
		m.tid = sl(bad_tids[i]);
		cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL,
			     "tid %s", bad_tids[i]);
	}
	m = ok;
	m.tid = S("a23456789012345678901234567890.z"); /* 32: the longest */
	cr_assert_gt(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), 0);

	m = ok;
	m.to_path = CM_SLICE_NULL;
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.from_path = S("msrp://a/s;tcp\r\nX: y");
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.message_id = S("a\nb");
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.extra = bad_name;
	m.nextra = 1;
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m.extra = bad_value;
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.method = MSRP_M_REPORT;
	m.report_status = &st;
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]); i++) {
		m = ok;
		m.byte_range = &bad_ranges[i];
		cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL,
			     "range %zu", i);
	}
	m = ok;
	m.success_report = MSRP_REPORT_PARTIAL;  /* Success-Report is yes or no */
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.method = MSRP_M_REPORT;
	m.report_status = &(struct msrp_status){ 0, 200, S("OK") };
	cr_assert_gt(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), 0);
	m.failure_report = MSRP_REPORT_YES;      /* §7.1.2: not on a REPORT */
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.method = MSRP_M_NONE;
	m.status = 99;
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m.status = 1000;
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.method = MSRP_M_OTHER;
	m.method_name = S("send");      /* methods are upper case */
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_END), -EINVAL);
	m = ok;
	m.content_type = CM_SLICE_NULL; /* no body: the end-line needs a valid flag */
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, MSRP_FLAG_NONE), -EINVAL);
	cr_assert_eq(msrp_write_head(buf, sizeof(buf), &m, (enum msrp_flag)'x'), -EINVAL);
	/* a body without Content-Type */
	cr_assert_eq(msrp_write_frame(buf, sizeof(buf), &m, (cm_slice[]){ S("x") }, 1,
				      MSRP_FLAG_END), -EINVAL);
	cr_assert_eq(msrp_write_tail(buf, sizeof(buf), S("abcd"), MSRP_FLAG_NONE), -EINVAL);
	cr_assert_eq(msrp_write_tail(buf, sizeof(buf), S("ab"), MSRP_FLAG_END), -EINVAL);
	/* a REPORT needs Message-ID and Status */
	cr_assert_eq(msrp_write_report(buf, sizeof(buf), S("abcd"), S("msrp://a/s;tcp"),
				       S("msrp://b/s;tcp"), CM_SLICE_NULL, NULL, &st), -EINVAL);
}

Test(msrp_write, byte_range_forms)
{
	char buf[64];
	struct {
		struct msrp_range r;
		const char *want;
	} cases[] = {
		{ { 1, -1, -1 }, "1-*/*" },
		{ { 1, -1, 8 }, "1-*/8" },
		{ { 5, 8, 8 }, "5-8/8" },
		{ { 1, 0, 0 }, "1-0/0" },
		{ { 2049, 4096, -1 }, "2049-4096/*" },
		{ { 18446744073709551615u, 9223372036854775807, 9223372036854775807 },
		  "18446744073709551615-9223372036854775807/9223372036854775807" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = msrp_write_range(buf, sizeof(buf), &cases[i].r);

		cr_assert_eq(n, strlen(cases[i].want));
		cr_assert(!memcmp(buf, cases[i].want, n), "%s", cases[i].want);
	}
	cr_assert_eq(msrp_write_range(NULL, 0, &cases[2].r), 5);
}

Test(msrp_write, path_first)
{
	cm_slice f = msrp_write_path_first(S("  msrp://a/1;tcp msrp://b/2;tcp"));

	cr_assert_eq(f.len, strlen("msrp://a/1;tcp"));
	cr_assert(!memcmp(f.p, "msrp://a/1;tcp", f.len));
	f = msrp_write_path_first(S("msrp://only;tcp"));
	cr_assert_eq(f.len, strlen("msrp://only;tcp"));
	cr_assert_eq(msrp_write_path_first(S("   ")).len, 0);
	cr_assert_eq(msrp_write_path_first(CM_SLICE_NULL).len, 0);
}

Test(msrp_write, tid_ok_and_reasons)
{
	cr_assert(msrp_write_tid_ok(S("a786hjs2")));
	cr_assert(msrp_write_tid_ok(S("a1.-+%=")));
	cr_assert(!msrp_write_tid_ok(S("-abc")));
	cr_assert(!msrp_write_tid_ok(S("ab$c")));
	cr_assert_str_eq(msrp_write_reason(200), "OK");
	cr_assert_str_eq(msrp_write_reason(401), "Unauthorized");
	cr_assert_str_eq(msrp_write_reason(299), "");
}

/* §7.1: "-------<tid>" found anywhere, including across every split between pieces. */
Test(msrp_write, body_endline_detection)
{
	static const char body[] = "line one\r\n-------tid12345$\r\nline three";
	size_t len = strlen(body);
	cm_slice tid = S("tid12345");

	cr_assert(msrp_write_body_has_endline(tid, (cm_slice[]){ sl(body) }, 1));
	cr_assert(!msrp_write_body_has_endline(S("tid1234"), (cm_slice[]){ S("x-------tid123x") },
					      1));
	cr_assert(!msrp_write_body_has_endline(tid, (cm_slice[]){ S("------tid12345") }, 1));
	cr_assert(!msrp_write_body_has_endline(tid, NULL, 0));
	/* two cuts anywhere: three pieces, some empty */
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			cm_slice p[3] = { { body, i }, { body + i, j - i }, { body + j, len - j } };

			cr_assert(msrp_write_body_has_endline(tid, p, 3), "cuts %zu %zu", i, j);
		}
	}
	/* one byte per piece */
	cm_slice bytes[64];

	for (size_t i = 0; i < len; i++)
		bytes[i] = (cm_slice){ body + i, 1 };
	cr_assert(msrp_write_body_has_endline(tid, bytes, (unsigned)len));
	cr_assert(!msrp_write_body_has_endline(S("other123"), bytes, (unsigned)len));
}

struct gen {
	const char *const *tids;
	unsigned n, next;
};

static int gen_list(void *arg, char *buf, size_t len)
{
	struct gen *g = arg;
	const char *t = g->tids[g->next < g->n ? g->next : g->n - 1];
	size_t l = strlen(t);

	g->next++;
	if (l + 1 > len)
		return -ENOSPC;
	memcpy(buf, t, l + 1);
	return (int)l;
}

static int gen_fail(void *arg, char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return -EIO;
}

Test(msrp_write, pick_tid_avoids_body)
{
	static const char *const list[] = { "aaaa1111", "bbbb2222", "cccc3333" };
	struct gen g = { list, 3, 0 };
	cm_slice body[] = { S("xx-------aaa"), S("a1111+ and -------bbbb2222$ here") };
	char tid[MSRP_TID_MAX + 1];

	cr_assert_eq(msrp_write_pick_tid(gen_list, &g, body, 2, tid, sizeof(tid)), 8);
	cr_assert_str_eq(tid, "cccc3333");
	cr_assert_eq(g.next, 3);

	static const char *const same[] = { "aaaa1111" };
	struct gen g2 = { same, 1, 0 };

	cr_assert_eq(msrp_write_pick_tid(gen_list, &g2, body, 2, tid, sizeof(tid)), -EEXIST);
	cr_assert_eq(g2.next, MSRP_TID_TRIES);

	static const char *const bad[] = { "no" };
	struct gen g3 = { bad, 1, 0 };

	cr_assert_eq(msrp_write_pick_tid(gen_list, &g3, NULL, 0, tid, sizeof(tid)), -EINVAL);
	cr_assert_eq(msrp_write_pick_tid(gen_fail, NULL, NULL, 0, tid, sizeof(tid)), -EIO);
	cr_assert_eq(msrp_write_pick_tid(gen_list, &g, NULL, 0, tid, 8), -EINVAL);
}

/* Parses the one frame in <f>[0..<len>): HEAD into <msg> (slices into <f>), the body
 * concatenated into <body>, the flag. */
static void parse_one(const char *f, size_t len, struct msrp_msg *msg, char *body,
		      size_t *blen, enum msrp_flag *flag)
{
	struct msrp_parse_stats st = { 0 };
	struct msrp_parse_cfg cfg = { .stats = &st };
	struct msrp_parser p;
	struct msrp_ev ev;
	int heads = 0, ends = 0;

	msrp_parse_limits_default(&cfg.limits);
	msrp_parser_init(&p, &cfg);
	*blen = 0;
	for (;;) {
		size_t n = msrp_parse(&p, f, len, &ev);

		f += n;
		len -= n;
		if (ev.type == MSRP_EV_NEED_MORE)
			break;
		cr_assert_neq(ev.type, MSRP_EV_ERROR, "parser: %s", ev.reason);
		if (ev.type == MSRP_EV_HEAD) {
			*msg = ev.msg;
			heads++;
		} else if (ev.type == MSRP_EV_BODY) {
			memcpy(body + *blen, ev.body.p, ev.body.len);
			*blen += ev.body.len;
		} else if (ev.type == MSRP_EV_END) {
			*flag = ev.flag;
			ends++;
		}
	}
	cr_assert_eq(heads, 1);
	cr_assert_eq(ends, 1);
	cr_assert(msrp_parser_idle(&p));
	msrp_parser_free(&p);
}

static void hdr_is(const struct msrp_msg *m, enum msrp_hid id, const char *want)
{
	cm_slice v = msrp_hdr_get(m, id);

	cr_assert(v.p, "header %d missing", id);
	cr_assert_eq(v.len, strlen(want), "header %d: %.*s", id, (int)v.len, v.p);
	cr_assert(!memcmp(v.p, want, v.len));
}

/* Everything the writer makes is a frame the parser takes, with the same values. */
Test(msrp_write, frames_parse_back)
{
	struct msrp_range br = { 3, 7, -1 }, got;
	static const struct msrp_hdr mime[] = { { .name = S("Content-ID"), .value = S("<c1>") } };
	static const struct msrp_hdr extra[] = { { .name = S("X-Other"), .value = S("v") } };
	struct msrp_status status = { 0, 413, S("too big") }, gst;
	struct msrp_out send = {
		.tid = S("Tid.-+%=9"),
		.method = MSRP_M_SEND,
		.to_path = S("msrp://r1.example.com:9000/a;tcp msrp://bob.example.com:8888/b;tcp"),
		.from_path = S("msrp://alice.example.com:7777/c;tcp"),
		.message_id = S("msg0001"),
		.byte_range = &br,
		.success_report = MSRP_REPORT_YES,
		.failure_report = MSRP_REPORT_PARTIAL,
		.extra = extra,
		.nextra = 1,
		.mime = mime,
		.nmime = 1,
		.content_type = S("text/plain; charset=utf-8"),
	};
	/* a body that holds the end-line of another tid and a near miss of its own */
	static const char body[] = "ab\r\n-------Tid.-+%=8$\r\n-------Tid.-+%=9 x\r\ncd";
	char f[2048], b[256];
	size_t blen;
	struct msrp_msg m;
	enum msrp_flag flag = MSRP_FLAG_NONE;
	enum msrp_report rep;
	ssize_t n;

	/* the check is stricter than the framing: the near miss counts, the parser takes it */
	cr_assert(msrp_write_body_has_endline(send.tid, (cm_slice[]){ sl(body) }, 1));
	n = msrp_write_frame(f, sizeof(f), &send, (cm_slice[]){ sl(body) }, 1, MSRP_FLAG_MORE);
	cr_assert_gt(n, 0);
	parse_one(f, (size_t)n, &m, b, &blen, &flag);
	cr_assert(m.is_request && m.method == MSRP_M_SEND && m.has_body);
	cr_assert_eq(m.tid.len, send.tid.len);
	cr_assert_eq(flag, MSRP_FLAG_MORE);
	cr_assert_eq(blen, strlen(body));
	cr_assert(!memcmp(b, body, blen));
	hdr_is(&m, MSRP_H_TO_PATH, "msrp://r1.example.com:9000/a;tcp msrp://bob.example.com:8888/b;tcp");
	hdr_is(&m, MSRP_H_FROM_PATH, "msrp://alice.example.com:7777/c;tcp");
	hdr_is(&m, MSRP_H_MESSAGE_ID, "msg0001");
	hdr_is(&m, MSRP_H_CONTENT_TYPE, "text/plain; charset=utf-8");
	hdr_is(&m, MSRP_H_CONTENT_ID, "<c1>");
	cr_assert_eq(msrp_hdr_range(msrp_hdr_get(&m, MSRP_H_BYTE_RANGE), &got), 0);
	cr_assert(got.start == 3 && got.end == 7 && got.total == -1);
	cr_assert_eq(msrp_hdr_success_report(msrp_hdr_get(&m, MSRP_H_SUCCESS_REPORT), &rep), 0);
	cr_assert_eq(rep, MSRP_REPORT_YES);
	cr_assert_eq(msrp_hdr_failure_report(msrp_hdr_get(&m, MSRP_H_FAILURE_REPORT), &rep), 0);
	cr_assert_eq(rep, MSRP_REPORT_PARTIAL);
	cr_assert(msrp_hdr_get_name(&m, S("X-Other")).p);

	/* its response, hop by hop */
	n = msrp_write_response(f, sizeof(f), send.tid, 413, S("Stop"), send.to_path,
				send.from_path, NULL, 0);
	cr_assert_gt(n, 0);
	parse_one(f, (size_t)n, &m, b, &blen, &flag);
	cr_assert(!m.is_request && m.status == 413 && !m.has_body);
	hdr_is(&m, MSRP_H_TO_PATH, "msrp://alice.example.com:7777/c;tcp");
	hdr_is(&m, MSRP_H_FROM_PATH, "msrp://r1.example.com:9000/a;tcp");

	/* a failure REPORT back to the sender */
	n = msrp_write_report(f, sizeof(f), S("rep00001"), send.from_path,
			      S("msrp://r1.example.com:9000/a;tcp"), send.message_id, &br, &status);
	cr_assert_gt(n, 0);
	parse_one(f, (size_t)n, &m, b, &blen, &flag);
	cr_assert(m.is_request && m.method == MSRP_M_REPORT && !m.has_body);
	cr_assert_eq(flag, MSRP_FLAG_END);
	cr_assert_eq(msrp_hdr_status(msrp_hdr_get(&m, MSRP_H_STATUS), &gst), 0);
	cr_assert(gst.ns == 0 && gst.code == 413 && gst.comment.len == 7);

	/* RFC 4976: 200 to AUTH with Use-Path and Expires */
	struct msrp_out ok = {
		.tid = S("49fi"),
		.status = 200,
		.comment = S("OK"),
		.to_path = S("msrps://alice.example.com:9892/98cjs;tcp"),
		.from_path = S("msrps://alice@intra.example.com;tcp"),
		.use_path = S("msrps://intra.example.com:9000/jui787s2f;tcp"),
		.expires = S("900"),
		.min_expires = S("60"),
		.max_expires = S("3600"),
	};
	uint32_t e;

	n = msrp_write_head(f, sizeof(f), &ok, MSRP_FLAG_END);
	cr_assert_gt(n, 0);
	parse_one(f, (size_t)n, &m, b, &blen, &flag);
	hdr_is(&m, MSRP_H_USE_PATH, "msrps://intra.example.com:9000/jui787s2f;tcp");
	cr_assert_eq(msrp_hdr_expires(msrp_hdr_get(&m, MSRP_H_MAX_EXPIRES), &e), 0);
	cr_assert_eq(e, 3600);
}
