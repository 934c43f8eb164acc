/* test_sip_write.c — the SIP serializer (sip/sip_write.c): requests and responses written,
 * parsed back by sip/sip_parse.c, and responses built from requests as RFC 3261 §8.2.6
 * asks (every Via in order, From, To with a tag added once, Call-ID, CSeq), including the
 * 400 to a malformed request that the parser calls replyable. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "sip/sip_write.h"
#include "tests/lib/guard.h"

static struct sip_parse_stats stats;

static int parse(const char *in, size_t len, struct sip_msg *m)
{
	struct sip_parse_cfg cfg = { .stats = &stats };

	sip_parse_limits_default(&cfg.limits);
	return sip_parse_msg(&cfg, in, len, m);
}

static int slice_is(cm_slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

#define H(n, v) { SIP_H_OTHER, CM_SLICE_LIT(n), CM_SLICE_LIT(v) }

Test(sip_write, request_round_trip)
{
	static const struct sip_hdr hdrs[] = {
		H("Via", "SIP/2.0/TCP client.example.com:5060;branch=z9hG4bK74bf9"),
		H("Max-Forwards", "70"),
		H("To", "<sip:bob@example.com>"),
		H("From", "<sip:alice@example.com>;tag=9fxced76sl"),
		H("Call-ID", "3848276298220188511@example.com"),
		H("CSeq", "1 MESSAGE"),
		H("Content-Length", "999"),           /* left out: computed */
		{ SIP_H_CONTENT_TYPE, CM_SLICE_NULL, CM_SLICE_LIT("text/plain") },
	};
	static const char want[] =
		"MESSAGE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/TCP client.example.com:5060;branch=z9hG4bK74bf9\r\n"
		"Max-Forwards: 70\r\n"
		"To: <sip:bob@example.com>\r\n"
		"From: <sip:alice@example.com>;tag=9fxced76sl\r\n"
		"Call-ID: 3848276298220188511@example.com\r\n"
		"CSeq: 1 MESSAGE\r\n"
		"Content-Type: text/plain\r\n"
		"Content-Length: 5\r\n"
		"\r\n"
		"hello";
	char buf[1024];
	struct sip_msg m;
	ssize_t n = sip_write_request(buf, sizeof(buf), CM_SLICE_LIT("MESSAGE"),
				      CM_SLICE_LIT("sip:bob@example.com"), hdrs, 8,
				      CM_SLICE_LIT("hello"));

	cr_assert_eq(n, (ssize_t)sizeof(want) - 1);
	cr_assert_eq(memcmp(buf, want, (size_t)n), 0, "%.*s", (int)n, buf);
	cr_assert_eq(parse(buf, (size_t)n, &m), 0);
	cr_assert_eq(m.method, SIP_M_MESSAGE);
	cr_assert(slice_is(m.body, "hello"));
	/* every buffer too small by one byte or more fails */
	for (size_t cap = 0; cap < (size_t)n; cap++)
		cr_assert_eq(sip_write_request(buf, cap, CM_SLICE_LIT("MESSAGE"),
					       CM_SLICE_LIT("sip:bob@example.com"), hdrs, 8,
					       CM_SLICE_LIT("hello")), -ENOSPC);
}

Test(sip_write, response_from_request)
{
	static const char req[] =
		"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
		"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1, SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\r\n"
		"Max-Forwards: 70\r\n"
		"To: Bob\r\n <sip:bob@biloxi.example.com>\r\n"
		"f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		"CSeq: 314159 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char want[] =
		"SIP/2.0 180 Ringing\r\n"
		"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
		"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1, SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"To: Bob\r\n <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
		"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		"CSeq: 314159 INVITE\r\n"
		"Contact: <sip:bob@192.0.2.4>\r\n"
		"Content-Length: 0\r\n\r\n";
	static const struct sip_hdr extra[] = { H("Contact", "<sip:bob@192.0.2.4>") };
	const char *g = guard_copy(req, sizeof(req) - 1);
	struct sip_msg m, r;
	struct sip_addr a;
	char buf[2048];
	ssize_t n;

	cr_assert_eq(parse(g, sizeof(req) - 1, &m), 0, "%s", m.reason_text);
	n = sip_write_response_from(buf, sizeof(buf), &m, 180, CM_SLICE_NULL,
				    CM_SLICE_LIT("a6c85cf"), extra, 1, CM_SLICE_NULL);
	cr_assert_eq(n, (ssize_t)sizeof(want) - 1, "%zd\n%.*s", n, (int)(n > 0 ? n : 0), buf);
	cr_assert_eq(memcmp(buf, want, (size_t)n), 0, "%.*s", (int)n, buf);
	cr_assert_eq(parse(buf, (size_t)n, &r), 0);
	cr_assert_eq(r.status, 180);
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&r, SIP_H_TO), &a), 0);
	cr_assert(slice_is(a.tag, "a6c85cf"));

	/* 100 Trying gets no tag (§8.2.6.1); a To with a tag keeps its own */
	n = sip_write_response_from(buf, sizeof(buf), &m, 100, CM_SLICE_NULL,
				    CM_SLICE_LIT("a6c85cf"), NULL, 0, CM_SLICE_NULL);
	cr_assert(n > 0);
	cr_assert_eq(parse(buf, (size_t)n, &r), 0);
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&r, SIP_H_TO), &a), 0);
	cr_assert_eq(a.tag.p, NULL);
	cr_assert(slice_is(r.reason, "Trying"));
	guard_release(g);
}

Test(sip_write, bad_request_answered)
{
	static const char req[] =
		"OPTIONS sip:user@example.com SIP/7.0\r\n"
		"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK7a8b\r\n"
		"To: <sip:j.user@example.com>;tag=existing\r\n"
		"From: <sip:caller@example.net>;tag=1341\r\n"
		"Call-ID: badvers.kdjf94@example.net\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n";
	const char *g = guard_copy(req, sizeof(req) - 1);
	struct sip_msg m, r;
	struct sip_addr a;
	char buf[1024];
	ssize_t n;

	cr_assert_eq(parse(g, sizeof(req) - 1, &m), SIP_ERROR);
	cr_assert_eq(m.replyable, 1);
	cr_assert_eq(m.err_status, 505);
	n = sip_write_response_from(buf, sizeof(buf), &m, m.err_status, CM_SLICE_NULL,
				    CM_SLICE_LIT("new"), NULL, 0, CM_SLICE_NULL);
	cr_assert(n > 0);
	cr_assert_eq(parse(buf, (size_t)n, &r), 0);
	cr_assert_eq(r.status, 505);
	cr_assert(slice_is(r.reason, "Version Not Supported"));
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&r, SIP_H_TO), &a), 0);
	cr_assert(slice_is(a.tag, "existing"));
	guard_release(g);

	cr_assert_eq(sip_write_response(buf, sizeof(buf), 99, CM_SLICE_NULL, NULL, 0,
					CM_SLICE_NULL), -EINVAL);
	cr_assert_eq(sip_write_response_from(buf, sizeof(buf), &r, 400, CM_SLICE_NULL,
					     CM_SLICE_NULL, NULL, 0, CM_SLICE_NULL), -EINVAL);
	n = sip_write_response(buf, sizeof(buf), 499, CM_SLICE_NULL, NULL, 0, CM_SLICE_NULL);
	cr_assert_eq(n, (ssize_t)strlen("SIP/2.0 499 Unknown\r\nContent-Length: 0\r\n\r\n"));
}
