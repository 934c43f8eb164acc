/* test_ua.c — the MSRP user agent end to end: the real daemon, sipp (tests/peers/sipp/) as
 * the phone on the SIP side, and this test as the phone's MSRP endpoint (the fixture of
 * tests/lib/ua_fx.h). Run with --jobs 1 (fixed ports for the time of a test). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/dnsmasq.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/sipp.h"
#include "tests/lib/sse.h"
#include "tests/lib/tls_certs.h"
#include "tests/lib/tshark.h"
#include "tests/lib/dm_ocs.h"
#include "tests/lib/ua_fx.h"

#define HOST "127.0.0.1"

TestSuite(ua, .init = ufx_up, .fini = ufx_down, .timeout = 60);

/* ---- outgoing sessions ---------------------------------------------------------------------- */

Test(ua, outgoing_session_messages_both_ways_and_end)
{
	ufx_need_sipp();
	const char *to = ufx_start_uas("uas_msrp.xml", NULL);
	json_t *s = ufx_create(to, ",\"headers\":{\"Subject\":\"support\"}");
	const char *id = ufx_jstr(s, "id");
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);

	/* setup passive on the phone's side: rcsgw connects and binds with an empty SEND */
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f);
	cr_expect_eq(f->body_len, 0, "the binding SEND has a body");
	cr_expect(strstr(mc_header(f, "To-Path"), "/phone1sid;tcp") != NULL);
	char from_path[256];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	cr_expect(strstr(from_path, id) != NULL, "our MSRP URI carries the session id");
	json_decref(ufx_event("session.established", id, 5000));

	/* API -> phone, text then binary, byte-exact */
	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"h\\u00e9llo\","
				  "\"success_report\":true}", &r, NULL), 202);
	char mid[64];
	snprintf(mid, sizeof(mid), "%s", ufx_jstr(r, "message_id"));
	json_decref(r);
	ufx_read_send(&c, f);
	cr_expect_eq(f->body_len, 6);
	cr_expect(f->body && !memcmp(f->body, "h\xc3\xa9llo", 6));
	cr_expect_str_eq(mc_header(f, "Message-ID"), mid);
	cr_expect_str_eq(mc_header(f, "Content-Type"), "text/plain");
	/* its success report, as the phone would send it */
	char rep[1024];
	int rn = snprintf(rep, sizeof(rep),
			  "MSRP rep1 REPORT\r\nTo-Path: %s\r\nFrom-Path: msrp://" HOST
			  ":%d/phone1sid;tcp\r\nMessage-ID: %s\r\nByte-Range: 1-6/6\r\n"
			  "Status: 000 200 OK\r\n-------rep1$\r\n", from_path, ufx.ml_port, mid);
	cr_assert_eq(mc_send_raw(&c, rep, (size_t)rn), 0);
	json_t *ev = ufx_event("message.report", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), mid);
	cr_expect_eq(json_integer_value(json_object_get(ev, "status")), 200);
	json_t *br = json_object_get(ev, "byte_range");
	cr_expect_eq(json_integer_value(json_object_get(br, "start")), 1);
	cr_expect_eq(json_integer_value(json_object_get(br, "end")), 6);
	cr_expect_eq(json_integer_value(json_object_get(br, "total")), 6);
	json_decref(ev);

	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"application/octet-stream\","
				  "\"body_base64\":\"AAH/fg0K\",\"message_id\":\"bin-0001\"}", &r, NULL),
		     415, "the phone did not offer application/octet-stream");
	json_decref(r);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"message/cpim\","
				  "\"body_base64\":\"AAH/fg0K\",\"message_id\":\"bin-0001\"}", &r, NULL),
		     202);
	cr_expect_str_eq(ufx_jstr(r, "message_id"), "bin-0001");
	json_decref(r);
	ufx_read_send(&c, f);
	cr_expect_eq(f->body_len, 6);
	cr_expect(f->body && !memcmp(f->body, "\x00\x01\xff\x7e\r\n", 6));

	/* phone -> API */
	struct mc_send snd = {
		.to_path = from_path, .from_path = "msrp://" HOST ":0/phone1sid;tcp",
		.message_id = "pm-1", .content_type = "text/plain", .body = "world\r\n-------x",
		.body_len = 15,
	};
	char fp[128];
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/phone1sid;tcp", ufx.ml_port);
	snd.from_path = fp;
	cr_assert_eq(mc_send_send(&c, "t0001abc", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200, "SEND answered %d", f->status);
	ev = ufx_event("message.received", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "body"), "world\r\n-------x");
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), "pm-1");
	cr_expect_str_eq(ufx_jstr(ev, "content_type"), "text/plain");
	json_decref(ev);

	/* the state as the API shows it */
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
	cr_expect_str_eq(ufx_jstr(r, "state"), "established");
	cr_expect_eq(json_integer_value(json_object_get(r, "messages_sent")), 2);
	cr_expect_eq(json_integer_value(json_object_get(r, "messages_received")), 1);
	json_decref(r);

	/* DELETE: BYE; the phone answers 200 and its scenario ends well */
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	ev = ufx_event("session.ended", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "by"), "local");
	json_decref(ev);
	ufx_sipp_done(0);
	cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
	cr_expect_str_eq(ufx_jstr(r, "state"), "ended");
	json_decref(r);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 409, "ending twice");
	mc_close(&c);
	free(f);
	json_decref(s);
}

Test(ua, outgoing_session_ended_by_the_phone)
{
	ufx_need_sipp();
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	json_t *s = ufx_session_up("uas_msrp.xml", (const char *[]){ "$uas_bye_after_ms", "300", NULL },
			       NULL, NULL, &c, f);
	const char *id = ufx_jstr(s, "id");
	json_t *ev = ufx_event("session.ended", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "by"), "remote");
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "bye");
	json_decref(ev);
	ufx_sipp_done(0);
	char path[128];
	json_t *r;
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_expect_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"late\"}", &r,
			 NULL), 409);
	json_decref(r);
	mc_close(&c);
	free(f);
	json_decref(s);
}

Test(ua, outgoing_session_where_the_phone_connects)
{
	ufx_need_sipp();
	/* the phone answers a=setup:active: it opens the MSRP connection to rcsgw's listener and
	 * binds with its first SEND (through the relay's dispatch, maybe to another worker) */
	const char *to = ufx_start_uas("uas_msrp.xml", (const char *[]){ "$setup", "active", NULL });
	json_t *s = ufx_create(to, NULL);
	const char *id = ufx_jstr(s, "id");
	char offer[512], hp[64], fp[128];
	cr_assert_geq(sipp_log_wait(ufx.logdir, "offer_path=(.*)", offer, sizeof(offer), 5000), 0);
	cr_expect(strstr(offer, id) != NULL, "%s", offer);
	/* the phone connects once it has our ACK (before it, rcsgw may not have the answer) */
	char msgs[16384];
	for (int i = 0; i < 250; i++) {
		sipp_log_tail(ufx.logdir, SIPP_LOG_MESSAGES, msgs, sizeof(msgs));
		if (strstr(msgs, "\nACK sip:"))
			break;
		usleep(20000);
	}
	cr_assert(strstr(msgs, "\nACK sip:") != NULL, "no ACK:\n%s", msgs);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	snprintf(hp, sizeof(hp), HOST ":%d", ufx.msrp);
	cr_assert_eq(mc_connect(&c, hp, 3000), 0);
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/phone1sid;tcp", ufx.ml_port);
	struct mc_send snd = { .to_path = offer, .from_path = fp, .message_id = "bind-1",
			       .content_type = "text/plain", .body = "hi gw", .body_len = 5 };
	cr_assert_eq(mc_send_send(&c, "tbind001", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200, "bind SEND answered %d", f->status);
	json_decref(ufx_event("session.established", id, 5000));
	json_t *ev = ufx_event("message.received", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "body"), "hi gw");
	json_decref(ev);
	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"back\"}", &r,
			 NULL), 202);
	json_decref(r);
	ufx_read_send(&c, f); /* on the phone's connection */
	cr_expect_eq(f->body_len, 4);
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
	json_decref(s);
}

static void outgoing_refused(const char *scenario, int code)
{
	const char *to = ufx_start_uas(scenario, NULL);
	json_t *s = ufx_create(to, NULL);
	const char *id = ufx_jstr(s, "id");
	json_t *ev = ufx_event("session.failed", id, 8000);
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), code);
	json_decref(ev);
	char path[128];
	json_t *r;
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
	cr_expect_str_eq(ufx_jstr(r, "state"), "failed");
	cr_expect_eq(json_integer_value(json_object_get(r, "sip_code")), code);
	json_decref(r);
	json_decref(s);
}

Test(ua, outgoing_busy_486)
{
	ufx_need_sipp();
	outgoing_refused("uas_486.xml", 486);
	ufx_sipp_done(0);
}

Test(ua, outgoing_wrong_accept_types_415)
{
	ufx_need_sipp();
	outgoing_refused("uas_415.xml", 415);
	ufx_sipp_done(0);
}

Test(ua, outgoing_unanswered_is_cancelled_408)
{
	ufx_need_sipp();
	/* the phone rings and never answers: ua.invite_timeout (3 s here) sends CANCEL */
	outgoing_refused("uas_noanswer.xml", 408);
	ufx_sipp_done(0);
}

Test(ua, outgoing_cancelled_by_the_api)
{
	ufx_need_sipp();
	const char *to = ufx_start_uas("uas_noanswer.xml", NULL);
	json_t *s = ufx_create(to, NULL);
	const char *id = ufx_jstr(s, "id");
	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	for (int i = 0; i < 100; i++) { /* a CANCEL waits for the 180 (RFC 3261 §9.1) */
		ufx_api("GET", path, NULL, &r, NULL);
		int ringing = !strcmp(ufx_jstr(r, "state"), "ringing");
		json_decref(r);
		if (ringing)
			break;
		usleep(20000);
	}
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	json_t *ev = ufx_event("session.ended", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "cancelled");
	json_decref(ev);
	ufx_sipp_done(0);
	json_decref(s);
}

/* ---- incoming sessions ---------------------------------------------------------------------- */

Test(ua, incoming_session_answered_messages_and_bye_from_the_phone)
{
	ufx_need_sipp();
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "$hold_ms", "1500", NULL });
	json_t *ev = ufx_event("session.incoming", NULL, 5000);
	char id[64];
	snprintf(id, sizeof(id), "%s", ufx_jstr(ev, "session_id"));
	cr_expect(strstr(ufx_jstr(ev, "from"), "sip:") == ufx_jstr(ev, "from"));
	json_t *types = json_object_get(ev, "accept_types");
	cr_expect_eq(json_array_size(types), 2);
	json_decref(ev);

	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
	cr_expect_str_eq(ufx_jstr(r, "state"), "ringing");
	cr_expect_str_eq(ufx_jstr(r, "direction"), "incoming");
	json_decref(r);
	snprintf(path, sizeof(path), "/v1/sessions/%s/answer", id);
	cr_assert_eq(ufx_api("POST", path, "{\"accept_types\":[\"text/plain\"]}", &r, NULL), 200);
	json_decref(r);

	/* the offer said actpass: rcsgw takes active (ua.setup) and connects to the phone */
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f);
	cr_expect(strstr(mc_header(f, "To-Path"), "/phone2sid;tcp") != NULL);
	char from_path[256];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	json_decref(ufx_event("session.established", id, 5000));
	char answer_path[256];
	cr_expect_geq(sipp_log_wait(ufx.logdir, "answer_path=(.*)", answer_path,
				    sizeof(answer_path), 3000), 0);
	cr_expect_str_eq(answer_path, from_path, "a=path of the answer is the From-Path used");

	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"hi phone\"}", &r,
			 NULL), 202);
	json_decref(r);
	ufx_read_send(&c, f);
	cr_expect_eq(f->body_len, 8);
	cr_expect(f->body && !memcmp(f->body, "hi phone", 8));
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"image/png\",\"body\":\"x\"}", &r, NULL),
		     415, "we answered text/plain only, the phone may send that only; we send what "
			  "it accepts");
	json_decref(r);

	/* the phone hangs up (BYE after hold_ms) */
	ev = ufx_event("session.ended", id, 8000);
	cr_expect_str_eq(ufx_jstr(ev, "by"), "remote");
	json_decref(ev);
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
}

Test(ua, incoming_session_rejected_by_the_api)
{
	ufx_need_sipp();
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "$expect_code", "486", NULL });
	json_t *ev = ufx_event("session.incoming", NULL, 5000);
	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s/reject", ufx_jstr(ev, "session_id"));
	cr_assert_eq(ufx_api("POST", path, "{\"code\":486}", &r, NULL), 200);
	cr_expect_str_eq(ufx_jstr(r, "state"), "failed");
	json_decref(r);
	json_decref(ev);
	ufx_sipp_done(0);
	char code[16];
	cr_expect_geq(sipp_log_find(ufx.logdir, "final_code=([0-9]+)", code, sizeof(code)), 0);
	cr_expect_str_eq(code, "486");
}

Test(ua, incoming_session_without_common_type_gets_415)
{
	ufx_need_sipp();
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "$expect_code", "415", "$accept_types",
						    "image/png", NULL });
	json_t *ev = ufx_event("session.incoming", NULL, 5000);
	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s/answer", ufx_jstr(ev, "session_id"));
	cr_assert_eq(ufx_api("POST", path, "{\"accept_types\":[\"text/plain\"]}", &r, NULL), 415);
	json_decref(r);
	json_decref(ev);
	ufx_sipp_done(0);
}

/* ---- the API's refusals ----------------------------------------------------------------------- */

static void expect_error(const char *method, const char *path, const char *body, int code,
			 const char *words)
{
	json_t *r = NULL;
	int st = ufx_api(method, path, body, &r, NULL);
	cr_expect_eq(st, code, "%s %s %s: %d, %d expected", method, path, body ? body : "", st,
		     code);
	const char *msg = json_string_value(json_object_get(json_object_get(r, "error"),
							    "message"));
	cr_expect(msg && strstr(msg, words), "%s %s: message '%s' lacks '%s'", method, path,
		  msg ? msg : "(none)", words);
	json_decref(r);
}

Test(ua, api_refusals_name_the_field)
{
	expect_error("POST", "/v1/sessions", "nope", 400, "JSON");
	expect_error("POST", "/v1/sessions", "{\"to\":\"sip:a@" HOST "\"}", 400, "'from'");
	expect_error("POST", "/v1/sessions", "{\"from\":\"sip:a@b\",\"to\":\"mailto:x\"}", 400,
		     "'to'");
	expect_error("POST", "/v1/sessions", "{\"from\":\"sip:a@b\",\"to\":\"sip:c@" HOST "\","
		     "\"colour\":1}", 400, "'colour'");
	expect_error("POST", "/v1/sessions", "{\"from\":\"sip:a@b\",\"to\":\"sip:c@" HOST "\","
		     "\"accept_types\":[\"text\"]}", 400, "'accept_types'");
	expect_error("POST", "/v1/sessions", "{\"from\":\"sip:a@b\",\"to\":\"sip:c@" HOST "\","
		     "\"headers\":{\"Via\":\"x\"}}", 400, "'headers'");
	expect_error("POST", "/v1/sessions", "{\"from\":\"sip:a@b\",\"to\":\"sip:c@" HOST "\","
		     "\"headers\":{\"X-A\":\"a\\r\\nVia: x\"}}", 400, "'headers'");
	expect_error("POST", "/v1/sessions", "{\"from\":\"sip:a@b\",\"to\":\"sip:c@" HOST
		     ";transport=sctp\"}", 400, "'ruri'");
	expect_error("GET", "/v1/sessions/nope", NULL, 404, "no such session");
	expect_error("GET", "/v1/sessions/raaaaaaaaaaaaaaaaaaaaaaa", NULL, 404, "no such session");
	expect_error("DELETE", "/v1/sessions/nope", NULL, 404, "no such session");
	expect_error("POST", "/v1/sessions/nope/messages",
		     "{\"content_type\":\"text/plain\",\"body\":\"x\"}", 404, "no such session");
	expect_error("GET", "/v1/sessions?state=sleeping", NULL, 400, "'state'");
	/* accept-types that add up to more than a session keeps */
	char big[2048];
	int o = snprintf(big, sizeof(big), "{\"from\":\"sip:a@b\",\"to\":\"sip:c@" HOST
			 "\",\"accept_types\":[");
	for (int i = 0; i < 4; i++)
		o += snprintf(big + o, sizeof(big) - (size_t)o, "%s\"text/%0200d\"", i ? "," : "", i);
	snprintf(big + o, sizeof(big) - (size_t)o, "]}");
	expect_error("POST", "/v1/sessions", big, 400, "'accept_types'");
	expect_error("GET", "/v1/sessions?limit=0", NULL, 400, "'limit'");

	/* a session to send to: a phone that never answers (no sipp needed: nobody listens) */
	json_t *s = ufx_create("sip:nobody@" HOST ":9", NULL);
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", ufx_jstr(s, "id"));
	expect_error("POST", path, "{\"body\":\"x\"}", 400, "'content_type'");
	expect_error("POST", path, "{\"content_type\":\"text\",\"body\":\"x\"}", 400,
		     "'content_type'");
	expect_error("POST", path, "{\"content_type\":\"text/plain\"}", 400, "'body'");
	expect_error("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"x\","
		     "\"body_base64\":\"eA==\"}", 400, "'body'");
	expect_error("POST", path, "{\"content_type\":\"text/plain\",\"body_base64\":\"!!\"}", 400,
		     "'body_base64'");
	expect_error("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"x\","
		     "\"success_report\":\"maybe\"}", 400, "'success_report'");
	expect_error("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"x\","
		     "\"message_id\":\"a b\"}", 400, "'message_id'");
	/* queued while connecting */
	json_t *r = NULL;
	cr_expect_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"x\"}", &r, NULL),
		     202);
	json_decref(r);
	snprintf(path, sizeof(path), "/v1/sessions/%s/answer", ufx_jstr(s, "id"));
	expect_error("POST", path, NULL, 409, "not an incoming session");
	snprintf(path, sizeof(path), "/v1/sessions/%s/reject", ufx_jstr(s, "id"));
	expect_error("POST", path, "{\"code\":302}", 400, "'code'");
	snprintf(path, sizeof(path), "/v1/sessions/%sx", ufx_jstr(s, "id"));
	expect_error("GET", path, NULL, 404, "no such session");
	json_decref(s);
}

Test(ua, list_pages_by_id_and_filters_by_state)
{
	char ids[5][64];
	for (int i = 0; i < 5; i++) {
		json_t *s = ufx_create("sip:nobody@" HOST ":9", NULL);
		snprintf(ids[i], sizeof(ids[i]), "%s", ufx_jstr(s, "id"));
		json_decref(s);
	}
	json_t *r = NULL;
	cr_assert_eq(ufx_api("GET", "/v1/sessions?limit=2", NULL, &r, NULL), 200);
	json_t *page = json_object_get(r, "sessions");
	cr_assert_eq(json_array_size(page), 2);
	char next[64], seen[5][64];
	int n = 0;
	snprintf(next, sizeof(next), "%s", ufx_jstr(r, "next"));
	for (size_t i = 0; i < 2; i++)
		snprintf(seen[n++], 64, "%s", ufx_jstr(json_array_get(page, i), "id"));
	json_decref(r);
	while (next[0]) {
		char path[128];
		snprintf(path, sizeof(path), "/v1/sessions?limit=2&after=%s", next);
		cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
		page = json_object_get(r, "sessions");
		for (size_t i = 0; i < json_array_size(page) && n < 5; i++)
			snprintf(seen[n++], 64, "%s", ufx_jstr(json_array_get(page, i), "id"));
		snprintf(next, sizeof(next), "%s", ufx_jstr(r, "next"));
		json_decref(r);
	}
	cr_assert_eq(n, 5, "all five, once");
	for (int i = 1; i < n; i++)
		cr_expect_lt(strcmp(seen[i - 1], seen[i]), 0, "in id order");
	for (int k = 0; k < 5; k++) {
		int found = 0;
		for (int i = 0; i < n; i++)
			found |= !strcmp(seen[i], ids[k]);
		cr_expect(found, "%s listed", ids[k]);
	}
	cr_assert_eq(ufx_api("GET", "/v1/sessions?state=established", NULL, &r, NULL), 200);
	cr_expect_eq(json_array_size(json_object_get(r, "sessions")), 0);
	json_decref(r);
}

Test(ua, idempotency_key_replays_the_first_answer)
{
	const char *body = "{\"from\":\"sip:bot@" HOST "\",\"to\":\"sip:nobody@" HOST ":9\"}";
	int st1 = 0, st2 = 0, st3 = 0;
	char *h1 = NULL, *h2 = NULL, *b1 = NULL, *b2 = NULL, *b3 = NULL;
	const char *hk = "Content-Type: application/json\r\nIdempotency-Key: k-123\r\n";
	cr_assert_eq(http_request(HOST, ufx.api, "POST", "/v1/sessions", hk, body, &st1, &h1, &b1,
				  5000), 0);
	cr_assert_eq(http_request(HOST, ufx.api, "POST", "/v1/sessions", hk, body, &st2, &h2, &b2,
				  5000), 0);
	cr_expect_eq(st1, 201);
	cr_expect_eq(st2, 201);
	cr_expect_str_eq(b2, b1, "the same session");
	char *rep = http_header(h2, "Idempotent-Replayed");
	cr_expect(rep && !strcmp(rep, "true"));
	free(rep);
	cr_assert_eq(http_request(HOST, ufx.api, "POST", "/v1/sessions", hk,
				  "{\"from\":\"sip:other@" HOST "\",\"to\":\"sip:nobody@" HOST ":9\"}",
				  &st3, NULL, &b3, 5000), 0);
	cr_expect_eq(st3, 422);
	free(h1);
	free(h2);
	free(b1);
	free(b2);
	free(b3);
}

/* ---- more of SIP ------------------------------------------------------------------------------ */

Test(ua, outgoing_answers_a_digest_challenge)
{
	ufx_need_sipp();
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	json_t *s = ufx_session_up("uas_auth.xml", NULL, NULL, NULL, &c, f);
	const char *id = ufx_jstr(s, "id");
	char ok[16];
	cr_expect_geq(sipp_log_find(ufx.logdir, "auth_ok=([a-z]+)", ok, sizeof(ok)), 0);
	cr_expect_str_eq(ok, "true", "sipp checked our Authorization");
	ufx_end_session(id);
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
	json_decref(s);
}

/* A second listener of the phone: where its re-INVITE moves the MSRP session. */
static int listener2(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

Test(ua, reinvite_moves_the_msrp_session)
{
	ufx_need_sipp();
	int port2, l2 = listener2(&port2);
	char p2[16];
	snprintf(p2, sizeof(p2), "%d", port2);
	ufx_start_uac("uac_reinvite.xml", (const char *[]){ "msrp_port2", p2, "msrp_sid2", "moved1",
						       "$hold_ms", "1500", NULL });
	json_t *ev = ufx_event("session.incoming", NULL, 5000);
	char id[64], path[128];
	snprintf(id, sizeof(id), "%s", ufx_jstr(ev, "session_id"));
	json_decref(ev);
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s/answer", id);
	cr_assert_eq(ufx_api("POST", path, NULL, &r, NULL), 200);
	json_decref(r);
	/* the offer said passive: we connect to its first endpoint */
	struct msrp_client c, c2;
	struct mc_frame *f = malloc(sizeof(*f));
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f);
	json_decref(ufx_event("session.established", id, 5000));
	/* the re-INVITE names another endpoint: the session moves there and binds again */
	int fd2 = -1;
	struct pollfd p = { l2, POLLIN, 0 };
	cr_assert_eq(poll(&p, 1, 6000), 1, "rcsgw did not connect to the endpoint of the re-INVITE");
	fd2 = accept(l2, NULL, NULL);
	cr_assert(fd2 >= 0);
	memset(&c2, 0, sizeof(c2));
	c2.fd = fd2;
	ufx_read_send(&c2, f);
	cr_expect(strstr(mc_header(f, "To-Path"), "/moved1;tcp") != NULL, "%s",
		  mc_header(f, "To-Path"));
	char rp[256];
	cr_expect_geq(sipp_log_wait(ufx.logdir, "reanswer_path=(.*)", rp, sizeof(rp), 3000), 0);
	cr_expect(strstr(rp, id) != NULL, "our a=path stays ours: %s", rp);
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"moved\"}",
			 &r, NULL), 202);
	json_decref(r);
	ufx_read_send(&c2, f);
	cr_expect_eq(f->body_len, 5);
	json_decref(ufx_event("session.ended", id, 8000));
	ufx_sipp_done(0);
	mc_close(&c);
	mc_close(&c2);
	close(l2);
	free(f);
}

/* One datagram to rcsgw's SIP port, and the answer to it. */
static int sip_udp(const char *msg, char *out, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ufx.sip) };
	inet_pton(AF_INET, HOST, &a.sin_addr);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(u >= 0);
	cr_assert_eq(sendto(u, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)),
		     (ssize_t)strlen(msg));
	struct pollfd p = { u, POLLIN, 0 };
	ssize_t n = poll(&p, 1, 3000) == 1 ? recv(u, out, len - 1, 0) : -1;
	close(u);
	if (n >= 0)
		out[n] = '\0';
	return (int)n;
}

#define SIP_REQ(method, extra)                                                      \
	method " sip:gw@127.0.0.1 SIP/2.0\r\n"                                      \
	"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK" method "1\r\n"                \
	"Max-Forwards: 70\r\n"                                                      \
	"From: <sip:a@127.0.0.1>;tag=a1\r\n"                                        \
	"To: <sip:gw@127.0.0.1>" extra "\r\n"                                       \
	"Call-ID: " method "-c1@127.0.0.1\r\n"                                      \
	"CSeq: 1 " method "\r\n"                                                    \
	"Content-Length: 0\r\n\r\n"

Test(ua, sip_requests_outside_sessions)
{
	char buf[4096];
	cr_assert_gt(sip_udp(SIP_REQ("OPTIONS", ""), buf, sizeof(buf)), 0);
	cr_expect(!strncmp(buf, "SIP/2.0 200 ", 12), "%s", buf);
	cr_expect(strstr(buf, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS") != NULL, "%s", buf);
	/* capability discovery (RCC.07): the Contact says the services of rcs.services */
	cr_expect(strstr(buf, "Contact: <sip:rcsgw@127.0.0.1:") != NULL, "%s", buf);
	cr_expect(strstr(buf, ";+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm."
			      "session\"") != NULL, "%s", buf);
	cr_assert_gt(sip_udp(SIP_REQ("BYE", ";tag=raaaaaaaaaaaaaaaaaaaaaaa"), buf, sizeof(buf)), 0);
	cr_expect(!strncmp(buf, "SIP/2.0 481 ", 12), "%s", buf);
	cr_assert_gt(sip_udp(SIP_REQ("MESSAGE", ""), buf, sizeof(buf)), 0);
	cr_expect(!strncmp(buf, "SIP/2.0 405 ", 12), "%s", buf);
	cr_assert_gt(sip_udp(SIP_REQ("FOOBAR", ""), buf, sizeof(buf)), 0);
	cr_expect(!strncmp(buf, "SIP/2.0 501 ", 12), "%s", buf);
	/* an INVITE without SDP: 488 */
	cr_assert_gt(sip_udp(SIP_REQ("INVITE", ""), buf, sizeof(buf)), 0);
	if (!strncmp(buf, "SIP/2.0 100 ", 12))
		cr_assert_gt(sip_udp(SIP_REQ("INVITE", ""), buf, sizeof(buf)), 0);
	cr_expect(strstr(buf, "SIP/2.0 488 ") == buf || strstr(buf, "SIP/2.0 100 ") == buf, "%s", buf);
	/* malformed but answerable: 400, counted; garbage: dropped, the daemon goes on */
	cr_assert_gt(sip_udp("OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\n"
			     "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad1\r\n"
			     "Max-Forwards: lots\r\nFrom: <sip:a@127.0.0.1>;tag=a1\r\n"
			     "To: <sip:gw@127.0.0.1>\r\nCall-ID: bad@127.0.0.1\r\n"
			     "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", buf, sizeof(buf)), 0);
	cr_expect(!strncmp(buf, "SIP/2.0 400 ", 12), "%s", buf);
	cr_expect_eq(sip_udp("\x01\x02 not SIP at all\r\n\r\n", buf, sizeof(buf)), -1);
	char *m = NULL;
	int st = 0;
	cr_assert_eq(http_request(HOST, ufx.api, "GET", "/metrics", NULL, NULL, &st, NULL, &m, 5000),
		     0);
	cr_expect(strstr(m, "rcsgw_sip_answered_400_total{worker=") != NULL);
	double total = 0;
	for (const char *p = m; (p = strstr(p, "\nrcsgw_sip_answered_400_total{")); p++)
		total += strtod(strchr(p, '}') + 1, NULL);
	cr_expect_geq(total, 1, "the 400 is counted");
	free(m);
	cr_expect_geq(ufx_metric_sum("rcsgw_sip_unparsable_datagrams_total"), 2,
		      "the datagrams that did not parse are counted, the dropped one too");
	cr_assert_eq(ufx_api("GET", "/v1/status", NULL, NULL, NULL), 200, "alive");
}

Test(ua, wire_decodes_cleanly)
{
	ufx_need_sipp();
	struct tshark_cap cap;
	char dec[256];
	ufx_capture(&cap, dec, sizeof(dec));
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	json_t *s = ufx_session_up("uas_msrp.xml", NULL, NULL, NULL, &c, f);
	const char *id = ufx_jstr(s, "id");
	char path[128];
	json_t *r;
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"over the wire\"}",
			 &r, NULL), 202);
	json_decref(r);
	ufx_read_send(&c, f);
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	ufx_sipp_done(0);
	mc_close(&c);
	usleep(200000);
	cr_assert_eq(tshark_stop(&cap), 0);
	char sum[8192];
	int bad = tshark_summary(&cap, dec, TSHARK_BAD, sum, sizeof(sum));
	cr_expect_eq(bad, 0, "malformed frames:\n%s", sum);
	cr_expect_geq(tshark_count(&cap, dec, "sip.Method == \"INVITE\""), 1);
	cr_expect_geq(tshark_count(&cap, dec, "sip.Method == \"ACK\""), 1);
	cr_expect_geq(tshark_count(&cap, dec, "sip.Method == \"BYE\""), 1);
	cr_expect_geq(tshark_count(&cap, dec, "sdp"), 2, "offer and answer");
	int msrp = tshark_count(&cap, dec, "msrp.method == \"SEND\"");
	cr_expect_geq(msrp, 2, "the binding SEND and the message");
	free(f);
	json_decref(s);
}

/* ---- configuration: auto-answer, answer timeout, outbound proxy ------------------------------ */

TestSuite(ua_cfg, .timeout = 60);

Test(ua_cfg, auto_answer_rule_answers_without_the_api)
{
	ufx_need_sipp();
	ufx_up_with((const char *[]){ "RCSGW_UA_AUTO_ANSWER=sip:bot*@*", NULL });
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "-s", "bot7", "$hold_ms", "1000", NULL });
	json_t *ev = ufx_event("session.incoming", NULL, 5000);
	char id[64];
	snprintf(id, sizeof(id), "%s", ufx_jstr(ev, "session_id"));
	json_decref(ev);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f);
	json_decref(ufx_event("session.established", id, 5000));
	json_decref(ufx_event("session.ended", id, 8000));
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
	ufx_down();
}

Test(ua_cfg, unanswered_incoming_session_gets_480)
{
	ufx_need_sipp();
	ufx_up_with((const char *[]){ "RCSGW_UA_ANSWER_TIMEOUT=1s", NULL });
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "$expect_code", "480", NULL });
	json_t *ev = ufx_event("session.incoming", NULL, 5000);
	char id[64];
	snprintf(id, sizeof(id), "%s", ufx_jstr(ev, "session_id"));
	json_decref(ev);
	ev = ufx_event("session.failed", id, 5000);
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 480);
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "answer_timeout");
	json_decref(ev);
	ufx_sipp_done(0);
	ufx_down();
}

Test(ua_cfg, outbound_proxy_takes_the_invite)
{
	ufx_need_sipp();
	int proxy = sipp_free_port();
	char env[96];
	snprintf(env, sizeof(env), "RCSGW_SIP_OUTBOUND_PROXY=sip:" HOST ":%d", proxy);
	ufx_up_with((const char *[]){ env, NULL });
	ufx.uas_port = proxy; /* the phone stands in for the proxy */
	/* a Request-URI nobody listens at: only the proxy route gets it there */
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	json_t *s = ufx_session_up("uas_msrp.xml", NULL, "sip:phone@192.0.2.7", NULL, &c, f);
	const char *id = ufx_jstr(s, "id");
	char path[128], msgs[16384];
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	ufx_sipp_done(0);
	sipp_log_tail(ufx.logdir, SIPP_LOG_MESSAGES, msgs, sizeof(msgs));
	char route[96];
	snprintf(route, sizeof(route), "Route: <sip:" HOST ":%d;lr>", proxy);
	cr_expect(strstr(msgs, route) != NULL, "the INVITE carried %s:\n%s", route, msgs);
	cr_expect(strstr(msgs, "INVITE sip:phone@192.0.2.7 SIP/2.0") != NULL,
		  "the Request-URI is the application's");
	mc_close(&c);
	free(f);
	json_decref(s);
	ufx_down();
}

/* ---- through an MSRP relay (ua.relay): a second rcsgw is the relay ------------------------- */

Test(ua_cfg, sessions_go_through_the_configured_relay)
{
	ufx_need_sipp();
	/* the relay: rcsgw with credentials gw / s3cret in realm rcsgw */
	char ht[64], cmd[256], e_ht[96], e_ml[64], e_api[64], e_relay[96];
	snprintf(ht, sizeof(ht), "/tmp/rcsgw-ua-relay-%d.htdigest", (int)getpid());
	snprintf(cmd, sizeof(cmd), "printf 'gw:rcsgw:%%s\\n' $(printf '%%s' 'gw:rcsgw:s3cret' | "
		 "md5sum | cut -d' ' -f1) > %s", ht);
	cr_assert_eq(system(cmd), 0);
	int rport = free_tcp_port(), rapi = free_tcp_port();
	snprintf(e_ht, sizeof(e_ht), "RCSGW_RELAY_CREDENTIALS_FILE=%s", ht);
	snprintf(e_ml, sizeof(e_ml), "RCSGW_MSRP_LISTEN=" HOST ":%d", rport);
	snprintf(e_api, sizeof(e_api), "RCSGW_API_LISTEN=" HOST ":%d", rapi);
	const char *renv[] = { e_ht, e_ml, e_api, "RCSGW_SIP_LISTEN=", "RCSGW_ENGINE_WORKERS=1",
			       "RCSGW_LOG_LEVEL=warn", NULL };
	pid_t relay = rcsgw_spawn(renv, NULL, NULL);
	cr_assert(relay > 0);
	cr_assert_eq(wait_port(HOST, rport, 5000), 0);
	/* the user agent, through it */
	snprintf(e_relay, sizeof(e_relay), "RCSGW_UA_RELAY=msrp://" HOST ":%d;tcp", rport);
	/* the AUTHed connection to the relay stays open: a short drain at the end */
	ufx_up_with((const char *[]){ e_relay, "RCSGW_UA_RELAY_USER=gw", "RCSGW_UA_RELAY_PASSWORD=s3cret",
				  "RCSGW_ENGINE_DRAIN_TIMEOUT=500ms", NULL });
	const char *to = ufx_start_uas("uas_msrp.xml", NULL);
	json_t *s = ufx_create(to, NULL);
	const char *id = ufx_jstr(s, "id");
	char offer[512], want[64];
	cr_assert_geq(sipp_log_wait(ufx.logdir, "offer_path=(.*)", offer, sizeof(offer), 5000), 0);
	snprintf(want, sizeof(want), "msrp://" HOST ":%d/", rport);
	cr_expect(strstr(offer, want) == offer, "the relay's Use-Path first in a=path: %s", offer);
	cr_expect(strstr(offer, id) != NULL, "then our own URI: %s", offer);

	/* our binding SEND reaches the phone through the relay */
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f);
	char from[512];
	snprintf(from, sizeof(from), "%s", mc_header(f, "From-Path"));
	cr_expect(strstr(from, want) == from && strstr(from, id), "From-Path: %s", from);
	json_decref(ufx_event("session.established", id, 5000));

	/* and the phone's SEND comes back the same way */
	char fp[128];
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/phone1sid;tcp", ufx.ml_port);
	struct mc_send snd = { .to_path = from, .from_path = fp, .message_id = "via-relay-1",
			       .content_type = "text/plain", .body = "relayed", .body_len = 7 };
	cr_assert_eq(mc_send_send(&c, "t0002abc", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200, "SEND answered %d", f->status);
	json_t *ev = ufx_event("message.received", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "body"), "relayed");
	json_decref(ev);
	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"out\"}", &r, NULL),
		     202);
	json_decref(r);
	ufx_read_send(&c, f);
	cr_expect_eq(f->body_len, 3);
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
	json_decref(s);
	ufx_down();
	cr_expect_eq(rcsgw_stop(relay, SIGTERM, 5000), 0);
	unlink(ht);
}

/* ---- RFC 3263: a Request-URI with a host name, found by SRV ---------------------------------- */

Test(ua_cfg, request_uri_found_by_srv)
{
	ufx_need_sipp();
	if (!dnsmasq_available())
		cr_skip_test("dnsmasq is not installed");
	int phone = sipp_free_port();
	char recs[256], e_dns[96];
	snprintf(recs, sizeof(recs), "srv-host=_sip._udp.phones.test,pbx.phones.test,%d,10,0\n"
		 "host-record=pbx.phones.test,127.0.0.1", phone);
	struct dnsmasq dm;
	cr_assert_eq(dnsmasq_start(&dm, recs), 0);
	snprintf(e_dns, sizeof(e_dns), "RCSGW_DNS_SERVERS=%s", dm.addr);
	ufx_up_with((const char *[]){ e_dns, NULL });
	ufx.uas_port = phone;
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	json_t *s = ufx_session_up("uas_msrp.xml", NULL, "sip:bob@phones.test", NULL, &c, f);
	char path[128], msgs[16384];
	snprintf(path, sizeof(path), "/v1/sessions/%s", ufx_jstr(s, "id"));
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	ufx_sipp_done(0);
	sipp_log_tail(ufx.logdir, SIPP_LOG_MESSAGES, msgs, sizeof(msgs));
	cr_expect(strstr(msgs, "INVITE sip:bob@phones.test SIP/2.0") != NULL, "%s", msgs);
	/* a name that does not exist: the session fails, 503 unresolvable */
	json_t *n = ufx_create("sip:nobody@nowhere.test", NULL);
	json_t *ev = ufx_event("session.failed", ufx_jstr(n, "id"), 8000);
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "unresolvable");
	json_decref(ev);
	json_decref(n);
	mc_close(&c);
	free(f);
	json_decref(s);
	ufx_down();
	dnsmasq_stop(&dm);
}

/* ---- two rcsgw user agents talking SIP over TLS (sipp here has no TLS) ---------------------- */

Test(ua_cfg, rcsgw_to_rcsgw_over_sip_tls)
{
	struct tls_certs tc;
	char err[256];
	cr_assert_eq(tls_certs_make(&tc, err, sizeof(err)), 0, "%s", err);
	/* B: listens on tls: only, answers sip:bot@ at once, connects (ua.setup active) */
	int bsip = free_tcp_port(), bapi = free_tcp_port(), bmsrp = free_tcp_port();
	char b_sip[96], b_api[64], b_msrp[64], b_cert[256], b_key[256], a_ca[256];
	snprintf(b_sip, sizeof(b_sip), "RCSGW_SIP_LISTEN=tls:" HOST ":%d", bsip);
	snprintf(b_api, sizeof(b_api), "RCSGW_API_LISTEN=" HOST ":%d", bapi);
	snprintf(b_msrp, sizeof(b_msrp), "RCSGW_MSRP_LISTEN=" HOST ":%d", bmsrp);
	snprintf(b_cert, sizeof(b_cert), "RCSGW_SIP_TLS_CERT=%s", tc.server_cert);
	snprintf(b_key, sizeof(b_key), "RCSGW_SIP_TLS_KEY=%s", tc.server_key);
	const char *benv[] = { b_sip, b_api, b_msrp, b_cert, b_key, "RCSGW_UA_AUTO_ANSWER=sip:bot@*",
			       "RCSGW_ENGINE_WORKERS=2", "RCSGW_LOG_LEVEL=warn", NULL };
	pid_t b = rcsgw_spawn(benv, NULL, NULL);
	cr_assert(b > 0);
	cr_assert_eq(wait_port(HOST, bapi, 5000), 0);
	cr_assert_eq(wait_port(HOST, bsip, 5000), 0);
	struct sse_cli bsse;
	cr_assert_eq(sse_open(&bsse, HOST, bapi, NULL), 0);
	cr_assert(sse_read_until(&bsse, "retry:", 3000));
	/* A: the fixture's daemon, trusting the test CA */
	snprintf(a_ca, sizeof(a_ca), "RCSGW_SIP_TLS_CA=%s", tc.ca);
	/* its TLS connection to B stays open: a short drain at the end */
	ufx_up_with((const char *[]){ a_ca, "RCSGW_ENGINE_DRAIN_TIMEOUT=500ms", NULL });
	char to[96];
	snprintf(to, sizeof(to), "sip:bot@" HOST ":%d;transport=tls", bsip);
	json_t *s = ufx_create(to, NULL);
	const char *id = ufx_jstr(s, "id");
	json_decref(ufx_event("session.established", id, 8000));
	char data[8192];
	cr_assert_eq(sse_next_event(&bsse, "session.established", NULL, data, sizeof(data), 5000), 0,
		     "B: %s", bsse.buf);
	char path[128];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	cr_assert_eq(ufx_api("POST", path, "{\"content_type\":\"text/plain\",\"body\":\"over tls\"}", &r,
			 NULL), 202);
	json_decref(r);
	cr_assert_eq(sse_next_event(&bsse, "message.received", "over tls", data, sizeof(data), 5000),
		     0, "B got no message: %s", bsse.buf);
	ufx_end_session(id);
	cr_assert_eq(sse_next_event(&bsse, "session.ended", "\"remote\"", data, sizeof(data), 5000),
		     0, "B: %s", bsse.buf);
	json_decref(s);
	sse_close(&bsse);
	ufx_down();
	cr_expect_eq(rcsgw_stop(b, SIGINT, 5000), 0);
	tls_certs_remove(&tc);
}

/* diameter.sh_check (issue 9): an incoming INVITE's caller is asked of Sh after the 180;
 * refused: 403 and no session.incoming; let through: announced as usual. */
Test(ua_cfg, incoming_caller_checked_by_sh)
{
	static struct dm_ocs ocs = DM_OCS_INIT;
	char peers[128];
	ufx_need_sipp();
	cr_assert_eq(dm_ocs_start(&ocs), 0, "the Diameter server did not start");
	ocs.sh_rc = 5001; /* DIAMETER_ERROR_USER_UNKNOWN */
	ufx_up_with((const char *[]){ "RCSGW_DIAMETER_ORIGIN_HOST=ua.test.local",
				      dm_ocs_peer_env(&ocs, peers, sizeof(peers)),
				      "RCSGW_DIAMETER_SH_CHECK=true", NULL });
	cr_assert(dm_ocs_wait_open(ufx.api, 5000), "the Diameter peer did not open");
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "$expect_code", "403", NULL });
	json_t *ev = ufx_event("session.failed", NULL, 5000);
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 403);
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "refused_by_sh");
	json_decref(ev);
	ufx_sipp_done(0);
	cr_expect_eq(ocs.udrs, 1);
	cr_expect_eq(ufx_metric_sum("rcsgw_ua_sh_denied_total"), 1);
	/* let through: session.incoming, answered by the API */
	ocs.sh_rc = 2001;
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "$expect_code", "486", NULL });
	ev = ufx_event("session.incoming", NULL, 5000);
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s/reject", ufx_jstr(ev, "session_id"));
	cr_expect_eq(ufx_api("POST", path, "{\"code\":486}", NULL, NULL), 200);
	json_decref(ev);
	ufx_sipp_done(0);
	cr_expect_eq(ocs.udrs, 2);
	/* the Sh server gone: no verdict, 503 (diameter.hook_failure = deny) */
	dm_ocs_stop(&ocs);
	ufx_start_uac("uac_msrp.xml", (const char *[]){ "$expect_code", "503", NULL });
	ufx_sipp_done(0);
	cr_expect_geq(ufx_metric_sum("rcsgw_ua_sh_failed_total"), 1);
	ufx_down();
}
