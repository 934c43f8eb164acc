/* test_rcs_msg.c — RCS chat content (rcs/rcs_msg.c): the CPIM envelope of a message we send,
 * the IMDNs and isComposing bodies we write, and what a received message holds once
 * unwrapped. Round trips go through the codecs' parsers; received bodies are written here
 * by hand after the RFC 3862 / 5438 / 3994 examples and read from guard-page copies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rcs/rcs_msg.h"
#include "tests/lib/guard.h"

#define SL(s) ((cm_slice){ (s), strlen(s) })
#define T0 1764151200123LL /* 2025-11-26T10:00:00.123Z */

static int val_is(const struct rcs_cpim_msg *m, cm_slice ns, const char *name, const char *v)
{
	const struct rcs_cpim_hdr *h = rcs_cpim_get(m, ns, name, NULL);
	return h && h->value.len == strlen(v) && !memcmp(h->value.p, v, h->value.len);
}

Test(rcs_msg, wrap_writes_the_envelope_rcs_clients_expect)
{
	struct rcs_msg_out o = {
		.from = SL("sip:bot@example.com"), .to = SL("tel:+15551234"),
		.message_id = SL("Msg-0001"), .dn = RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY,
		.subject = SL("hi"), .content_type = SL("text/plain;charset=UTF-8"),
		.body = "h\xc3\xa9", .len = 3, .now_ms = T0,
		.extra = { { SL("rcs"), SL("Service"), SL("chat"), SL("http://www.gsma.com/rcs") } },
		.nextra = 1,
	};
	char *b = NULL;
	long n = rcs_msg_wrap(&o, &b);
	cr_assert_gt(n, 0);
	struct rcs_cpim_msg m;
	cr_assert_eq(rcs_cpim_parse(b, (size_t)n, &m), 0, "%.*s", (int)n, b);
	cr_expect(val_is(&m, CM_SLICE_NULL, "From", "<sip:bot@example.com>"));
	cr_expect(val_is(&m, CM_SLICE_NULL, "To", "<tel:+15551234>"));
	cr_expect(val_is(&m, CM_SLICE_NULL, "DateTime", "2025-11-26T10:00:00.123Z"));
	cr_expect(val_is(&m, CM_SLICE_NULL, "Subject", "hi"));
	cr_expect(val_is(&m, SL(RCS_NS_IMDN), "Message-ID", "Msg-0001"));
	const struct rcs_cpim_hdr *h = rcs_cpim_get(&m, SL(RCS_NS_IMDN), "Disposition-Notification",
						    NULL);
	cr_assert(h);
	cr_expect_eq(rcs_imdn_dn_parse(h->value.p, h->value.len),
		     RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY);
	cr_expect(val_is(&m, SL("http://www.gsma.com/rcs"), "Service", "chat"));
	cr_expect(m.content_type.len == 24 && !memcmp(m.content_type.p, "text/plain;charset=UTF-8", 24));
	cr_expect(m.body.len == 3 && !memcmp(m.body.p, "h\xc3\xa9", 3));
	free(b);

	/* nothing asked: no Disposition-Notification, the message id all the same */
	o.dn = 0;
	o.nextra = 0;
	o.subject = CM_SLICE_NULL;
	cr_assert_gt(n = rcs_msg_wrap(&o, &b), 0);
	cr_assert_eq(rcs_cpim_parse(b, (size_t)n, &m), 0);
	cr_expect_null(rcs_cpim_get(&m, SL(RCS_NS_IMDN), "Disposition-Notification", NULL));
	cr_expect_null(rcs_cpim_get(&m, CM_SLICE_NULL, "Subject", NULL));
	cr_expect(val_is(&m, SL(RCS_NS_IMDN), "Message-ID", "Msg-0001"));
	free(b);
}

Test(rcs_msg, wrap_refuses_what_the_envelope_cannot_hold)
{
	struct rcs_msg_out o = {
		.from = SL("sip:a@b"), .to = SL("sip:c@d"), .message_id = SL("m1"),
		.content_type = SL("text/plain"), .body = "x", .len = 1,
	};
	char *b = NULL;
	struct rcs_msg_out bad = o;
	bad.from = SL("sip:a@b>\r\nTo: <sip:evil@x");
	cr_expect_eq(rcs_msg_wrap(&bad, &b), -EINVAL, "a header through the From");
	bad = o;
	bad.to = CM_SLICE_NULL;
	cr_expect_eq(rcs_msg_wrap(&bad, &b), -EINVAL);
	bad = o;
	bad.message_id = CM_SLICE_NULL;
	cr_expect_eq(rcs_msg_wrap(&bad, &b), -EINVAL);
	bad = o;
	bad.subject = SL("two\r\nlines");
	cr_expect_lt(rcs_msg_wrap(&bad, &b), 0);
	bad = o;
	bad.extra[0] = (struct rcs_msg_extra){ SL("p"), SL("N"), SL("v"), CM_SLICE_NULL };
	bad.nextra = 1;
	cr_expect_eq(rcs_msg_wrap(&bad, &b), -EINVAL, "a prefix without its namespace");
	bad.extra[0].ns_uri = SL("urn:a");
	bad.extra[1] = (struct rcs_msg_extra){ SL("p"), SL("M"), SL("v"), SL("urn:b") };
	bad.nextra = 2;
	cr_expect_eq(rcs_msg_wrap(&bad, &b), -EINVAL, "one prefix, two namespaces");
	bad.extra[1].ns_uri = SL("urn:a");
	long n = rcs_msg_wrap(&bad, &b);
	cr_assert_gt(n, 0, "the same namespace twice is one NS line");
	struct rcs_cpim_msg m;
	cr_assert_eq(rcs_cpim_parse(b, (size_t)n, &m), 0);
	cr_expect(val_is(&m, SL("urn:a"), "N", "v"));
	cr_expect(val_is(&m, SL("urn:a"), "M", "v"));
	cr_expect_eq(m.nns, 2, "imdn and p");
	free(b);
}

Test(rcs_msg, imdn_is_a_notification_in_cpim_that_parses_back)
{
	struct rcs_imdn n = { .kind = RCS_IMDN_DISPLAY, .status = RCS_IMDN_DISPLAYED };
	strcpy(n.message_id, "34jk324j");
	strcpy(n.datetime, "2008-04-04T12:16:49-05:00");
	strcpy(n.recipient_uri, "im:bob@example.com");
	char *b = NULL;
	long len = rcs_msg_imdn(SL("im:bob@example.com"), SL("im:alice@example.com"), SL("dd0001"), &n,
				T0, &b);
	cr_assert_gt(len, 0);
	struct rcs_msg_in in;
	rcs_msg_parse(SL("message/cpim"), b, (size_t)len, &in);
	cr_expect_eq(in.bad, 0);
	cr_expect_eq(in.wrapped, 1);
	cr_assert_eq(in.kind, RCS_IN_IMDN);
	cr_expect_str_eq(in.imdn.message_id, "34jk324j");
	cr_expect_eq(in.imdn.kind, RCS_IMDN_DISPLAY);
	cr_expect_eq(in.imdn.status, RCS_IMDN_DISPLAYED);
	cr_expect(in.imdn_id.len == 6 && !memcmp(in.imdn_id.p, "dd0001", 6));
	cr_expect_eq(in.dn, 0, "an IMDN asks for none");
	cr_expect(in.to_uri.len == 20 && !memcmp(in.to_uri.p, "im:alice@example.com", 20));
	cr_expect(val_is(&in.cpim, CM_SLICE_NULL, "From", "<im:bob@example.com>"));
	int disp = 0;
	for (unsigned i = 0; i < in.cpim.nmime; i++)
		disp |= in.cpim.mime[i].value.len == 12 &&
			!memcmp(in.cpim.mime[i].value.p, "notification", 12);
	cr_expect(disp, "Content-Disposition: notification");
	free(b);
}

Test(rcs_msg, composing_as_it_is_or_wrapped)
{
	struct rcs_composing c = { .active = 1, .refresh = 90 };
	strcpy(c.contenttype, "text/plain");
	char *b = NULL;
	long len = rcs_msg_composing(&c, 0, SL("sip:a@b"), SL("sip:c@d"), SL("c1"), T0, &b);
	cr_assert_gt(len, 0);
	struct rcs_msg_in in;
	rcs_msg_parse(SL(RCS_CT_COMPOSING), b, (size_t)len, &in);
	cr_expect_eq(in.wrapped, 0);
	cr_assert_eq(in.kind, RCS_IN_COMPOSING);
	cr_expect_eq(in.comp.active, 1);
	cr_expect_eq(in.comp.refresh, 90);
	free(b);
	len = rcs_msg_composing(&c, 1, SL("sip:a@b"), SL("sip:c@d"), SL("c2"), T0, &b);
	cr_assert_gt(len, 0);
	rcs_msg_parse(SL("Message/CPIM"), b, (size_t)len, &in);
	cr_expect_eq(in.wrapped, 1, "media types compare without case");
	cr_assert_eq(in.kind, RCS_IN_COMPOSING);
	cr_expect_str_eq(in.comp.contenttype, "text/plain");
	free(b);
}

Test(rcs_msg, a_received_message_unwrapped)
{
	static const char body[] =
		"From: MR SANDERS <im:piglet@100akerwood.com>\r\n"
		"To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"
		"cc: <im:pooh@100akerwood.com>\r\n"
		"DateTime: 2000-12-13T13:40:00-08:00\r\n"
		"Subject: the weather will be fine today\r\n"
		"NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n"
		"Require: MyFeatures.VitalMessageOption\r\n"
		"MyFeatures.VitalMessageOption: Confirmation-requested\r\n"
		"NS: imdn <urn:ietf:params:imdn>\r\n"
		"imdn.Message-ID: 34jk324j\r\n"
		"imdn.Disposition-Notification: positive-delivery, Display, frobnicate\r\n"
		"\r\n"
		"Content-type: text/xml; charset=utf-8\r\n"
		"Content-ID: <1234567890@foo.com>\r\n"
		"\r\n"
		"<body>Here is the text of my message.</body>";
	const char *g = guard_copy(body, sizeof(body) - 1);
	struct rcs_msg_in in;
	rcs_msg_parse(SL("message/cpim ; x=y"), g, sizeof(body) - 1, &in);
	cr_assert_eq(in.bad, 0);
	cr_assert_eq(in.wrapped, 1);
	cr_expect_eq(in.kind, RCS_IN_MESSAGE);
	cr_expect(in.content_type.len == 23 && !memcmp(in.content_type.p, "text/xml; charset=utf-8", 23));
	cr_expect(in.body.len == 44);
	cr_expect_eq(in.dn, RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY, "unknown tokens ignored");
	cr_expect(in.imdn_id.len == 8 && !memcmp(in.imdn_id.p, "34jk324j", 8));
	cr_expect(in.datetime.len == 25);
	json_t *j = rcs_msg_cpim_json(&in);
	cr_assert(j);
	cr_expect_str_eq(json_string_value(json_object_get(j, "from")), "im:piglet@100akerwood.com");
	cr_expect_str_eq(json_string_value(json_object_get(j, "to")), "im:eeyore@100akerwood.com");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(j, "cc"), 0)),
			 "im:pooh@100akerwood.com");
	cr_expect_str_eq(json_string_value(json_object_get(j, "subject")),
			 "the weather will be fine today");
	json_t *h = json_object_get(j, "headers");
	cr_expect_str_eq(json_string_value(json_object_get(h, "MyFeatures.VitalMessageOption")),
			 "Confirmation-requested");
	cr_expect_str_eq(json_string_value(json_object_get(h, "Require")),
			 "MyFeatures.VitalMessageOption");
	cr_expect_str_eq(json_string_value(json_object_get(h, "imdn.Message-ID")), "34jk324j");
	cr_expect_null(json_object_get(h, "From"));
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "ns"), "MyFeatures")),
			 "mid:MessageFeatures@id.foo.com");
	json_decref(j);
	json_t *dn = rcs_msg_dn_json(in.dn);
	cr_expect_eq(json_array_size(dn), 2);
	cr_expect_str_eq(json_string_value(json_array_get(dn, 0)), "positive-delivery");
	cr_expect_str_eq(json_string_value(json_array_get(dn, 1)), "display");
	json_decref(dn);
	guard_release(g);
}

Test(rcs_msg, what_does_not_parse_is_taken_as_it_came)
{
	struct rcs_msg_in in;
	static const char junk[] = "not a CPIM message at all";
	const char *g = guard_copy(junk, sizeof(junk) - 1);
	rcs_msg_parse(SL("message/cpim"), g, sizeof(junk) - 1, &in);
	cr_expect_lt(in.bad, 0);
	cr_expect_eq(in.wrapped, 0);
	cr_expect_eq(in.kind, RCS_IN_MESSAGE);
	cr_expect(in.body.p == g && in.body.len == sizeof(junk) - 1);
	cr_expect(in.content_type.len == 12);
	cr_expect_null(rcs_msg_cpim_json(&in));
	guard_release(g);
	/* an IMDN body that is no IMDN, inside good CPIM */
	static const char bad_imdn[] = "From: <sip:a@b>\r\nTo: <sip:c@d>\r\n\r\n"
				       "Content-Type: message/imdn+xml\r\n\r\n<imdn>";
	g = guard_copy(bad_imdn, sizeof(bad_imdn) - 1);
	rcs_msg_parse(SL("message/cpim"), g, sizeof(bad_imdn) - 1, &in);
	cr_expect_lt(in.bad, 0);
	cr_expect_eq(in.wrapped, 1);
	cr_expect_eq(in.kind, RCS_IN_MESSAGE);
	guard_release(g);
	/* plain text is plain text */
	rcs_msg_parse(SL("text/plain"), "hi", 2, &in);
	cr_expect_eq(in.bad, 0);
	cr_expect_eq(in.wrapped, 0);
	cr_expect_eq(in.kind, RCS_IN_MESSAGE);
}

Test(rcs_msg, fthttp_json_round_trip_and_refusals)
{
	json_error_t je;
	json_t *j = json_loads("{\"file\":{\"url\":\"https://x/f?a&b\",\"size\":12,\"name\":\"a<b>.txt\","
			       "\"content_type\":\"text/plain\",\"until\":\"2026-12-01T00:00:00Z\","
			       "\"disposition\":\"attachment\",\"playing_length\":7},"
			       "\"thumbnail\":{\"url\":\"https://x/t\",\"size\":3}}", 0, &je);
	cr_assert(j, "%s", je.text);
	struct rcs_fthttp f, g;
	char err[160];
	cr_assert_eq(rcs_msg_fthttp_from_json(j, &f, err, sizeof(err)), 0, "%s", err);
	char xml[4096];
	long n = rcs_fthttp_write(xml, sizeof(xml), &f);
	cr_assert_gt(n, 0);
	cr_assert_eq(rcs_fthttp_parse(xml, (size_t)n, &g), 0, "%s", xml);
	json_t *back = rcs_msg_fthttp_json(&g);
	cr_expect(json_equal(back, j), "%s", json_dumps(back, 0));
	json_decref(back);
	json_decref(j);
	static const char *const bad[] = {
		"{}", "{\"file\":{}}", "{\"file\":{\"url\":1}}", "{\"file\":{\"url\":\"u\",\"x\":1}}",
		"{\"file\":{\"url\":\"u\"},\"other\":{}}", "{\"file\":{\"url\":\"u\",\"size\":-1}}",
		"{\"file\":{\"url\":\"u\"},\"thumbnail\":{\"url\":\"t\",\"name\":\"n\"}}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], 0, &je);
		cr_assert(j, "%s", bad[i]);
		err[0] = '\0';
		cr_expect_eq(rcs_msg_fthttp_from_json(j, &f, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_expect(err[0], "no reason for %s", bad[i]);
		json_decref(j);
	}
}
