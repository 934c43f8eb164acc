/* test_metrics_traffic.c — the labeled families of /metrics against traffic of known shape
 * (issue 11): the real daemon with the user agent's fixture (tests/lib/ua_fx.h), a sipp
 * phone, and this test as the phone's MSRP endpoint. Each test drives a few messages of
 * each kind and checks that the counters by method and status, and the latency
 * histograms, moved by those amounts (a fresh daemon per test: they start at 0).
 * Retransmissions (SIP over UDP) may add to a message count, never to a transaction's
 * latency count: where sipp could retransmit, the message counts are bounded, not exact.
 * Run with --jobs 1 (the fixture's ports). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/msrp_client.h"
#include "tests/lib/ua_fx.h"

#define HOST "127.0.0.1"

TestSuite(metrics_traffic, .init = ufx_up, .fini = ufx_down, .timeout = 60);

/* The counter <name> summed over the workers for the label pairs <labels>. */
static unsigned long m(const char *name, const char *labels)
{
	return ufx_metric_where(name, labels);
}

Test(metrics_traffic, msrp_and_sip_by_method_and_status)
{
	ufx_need_sipp();
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);

	/* INVITE out, 180 and 200 in, ACK out; MSRP: the binding SEND out, our 200 in */
	json_t *s = ufx_session_up("uas_msrp.xml", NULL, NULL, NULL, &c, f);
	const char *id = ufx_jstr(s, "id");
	char from_path[256], path[128];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));

	/* a message from the API: a SEND out, answered 200 by us */
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"hi\"}",
			     NULL, NULL), 202);
	ufx_read_send(&c, f);

	/* from the phone: a SEND in (200 out) and a method nobody knows (501 out) */
	char fp[128], raw[1024];
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/phone1sid;tcp", ufx.ml_port);
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "pm-1",
			       .content_type = "text/plain", .body = "yo", .body_len = 2 };
	cr_assert_eq(mc_send_send(&c, "t0001abc", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_assert(!f->is_request && f->status == 200, "SEND answered %d", f->status);
	int n = snprintf(raw, sizeof(raw), "MSRP frob0001 FROB\r\nTo-Path: %s\r\nFrom-Path: %s\r\n"
			 "-------frob0001$\r\n", from_path, fp);
	cr_assert_eq(mc_send_raw(&c, raw, (size_t)n), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_assert(!f->is_request && f->status == 501, "FROB answered %d", f->status);
	json_decref(ufx_event("message.received", id, 5000));

	/* BYE out, its 200 in */
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	json_decref(ufx_event("session.ended", id, 5000));
	ufx_sipp_done(0);

	const char *mreq = "rcsgw_msrp_requests_total", *mresp = "rcsgw_msrp_responses_total";
	cr_expect_eq(m(mreq, "direction=\"out\",method=\"SEND\""), 2, "the binding SEND and one");
	cr_expect_eq(m(mreq, "direction=\"out\""), 2);
	cr_expect_eq(m(mreq, "direction=\"in\",method=\"SEND\""), 1);
	cr_expect_eq(m(mreq, "direction=\"in\",method=\"other\""), 1, "FROB");
	cr_expect_eq(m(mreq, "direction=\"in\""), 2);
	cr_expect_eq(m(mresp, "direction=\"in\",code=\"200\""), 2);
	cr_expect_eq(m(mresp, "direction=\"out\",code=\"200\""), 1);
	cr_expect_eq(m(mresp, "direction=\"out\",code=\"501\""), 1);
	cr_expect_eq(m(mresp, "direction=\"out\""), 2);
	cr_expect_eq(m("rcsgw_msrp_transaction_duration_seconds_count", NULL), 2);
	cr_expect_eq(m("rcsgw_msrp_transaction_duration_seconds_bucket", "le=\"+Inf\""), 2);
	cr_expect_eq(m("rcsgw_msrp_transaction_duration_seconds_bucket", "le=\"10\""), 2,
		     "a loopback round trip over 10 s");

	const char *sreq = "rcsgw_sip_requests_total", *sresp = "rcsgw_sip_responses_total";
	unsigned long inv = m(sreq, "direction=\"out\",method=\"INVITE\"");
	cr_expect(inv >= 1 && inv <= 2, "INVITEs out: %lu", inv);
	cr_expect_geq(m(sreq, "direction=\"out\",method=\"ACK\""), 1);
	cr_expect_geq(m(sreq, "direction=\"out\",method=\"BYE\""), 1);
	cr_expect_eq(m(sreq, "direction=\"out\",method=\"MESSAGE\""), 0);
	cr_expect_eq(m(sreq, "direction=\"in\""), 0, "the phone sent no request");
	cr_expect_geq(m(sresp, "direction=\"in\",code=\"180\""), 1);
	cr_expect_geq(m(sresp, "direction=\"in\",code=\"200\""), 2, "the INVITE's and the BYE's");
	cr_expect_eq(m(sresp, "direction=\"out\""), 0, "rcsgw answered nothing");
	/* as many as the parser handed up and the transport sent */
	cr_expect_eq(m(sreq, "direction=\"in\"") + m(sresp, "direction=\"in\""),
		     ufx_metric_sum("rcsgw_sip_messages_in_total"));
	const char *sdur = "rcsgw_sip_transaction_duration_seconds_count";
	cr_expect_eq(m(sdur, "kind=\"invite\""), 1, "one call set-up");
	cr_expect_eq(m(sdur, "kind=\"non_invite\""), 1, "the BYE");
	mc_close(&c);
	free(f);
	json_decref(s);
}
