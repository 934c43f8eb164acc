/* test_rcs.c — the RCS layer of the user agent's sessions end to end (CPIM RFC 3862, IMDN
 * RFC 5438, isComposing RFC 3994): the real daemon, sipp as an RCS phone that answers the way
 * RCS clients do (tests/peers/sipp/uas_rcs.xml: accept-types message/cpim and
 * application/im-iscomposing+xml, text/plain and message/imdn+xml only inside CPIM), and
 * this test as the phone's MSRP endpoint (tests/lib/ua_fx.h). What the phone sends is
 * written here by hand after the RFCs' examples; what rcsgw sends is read back with the
 * project's parsers (unit-tested on their own against the RFCs). Run with --jobs 1. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rcs/rcs_composing.h"
#include "rcs/rcs_cpim.h"
#include "rcs/rcs_fthttp.h"
#include "rcs/rcs_imdn.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/sipp.h"
#include "tests/lib/sse.h"
#include "tests/lib/tshark.h"
#include "tests/lib/ua_fx.h"

#define HOST "127.0.0.1"
#define NS_IMDN CM_SLICE_LIT("urn:ietf:params:imdn")

TestSuite(rcs, .init = ufx_up, .fini = ufx_down, .timeout = 60);

/* One session up with the RCS phone: its MSRP connection <c>, rcsgw's From-Path in <from>
 * (where the phone's requests go), the phone's own path in <fp>. The session's id. */
struct phone {
	struct msrp_client c;
	struct mc_frame *f;
	char from[256], fp[128], id[64];
	json_t *s;
	unsigned tid;
};

static void phone_up_with(struct phone *p, const char *const *more, const char *extra)
{
	memset(p, 0, sizeof(*p));
	ufx_need_sipp();
	p->f = malloc(sizeof(*p->f));
	cr_assert(p->f);
	p->s = ufx_session_up("uas_rcs.xml", more, NULL, extra, &p->c, p->f);
	snprintf(p->id, sizeof(p->id), "%s", ufx_jstr(p->s, "id"));
	snprintf(p->from, sizeof(p->from), "%s", mc_header(p->f, "From-Path"));
	snprintf(p->fp, sizeof(p->fp), "msrp://" HOST ":%d/phone1sid;tcp", ufx.ml_port);
}

static void phone_up(struct phone *p, const char *const *more)
{
	phone_up_with(p, more, NULL);
}

static void phone_down(struct phone *p)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s", p->id);
	cr_expect_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	json_decref(ufx_event("session.ended", p->id, 5000));
	ufx_sipp_done(0);
	mc_close(&p->c);
	free(p->f);
	json_decref(p->s);
}

/* The phone sends <body> as <ctype>; rcsgw answers 200. */
static void phone_send(struct phone *p, const char *ctype, const char *body, const char *msgid)
{
	char tid[16];
	snprintf(tid, sizeof(tid), "ph%06u", ++p->tid);
	struct mc_send snd = {
		.to_path = p->from, .from_path = p->fp, .message_id = msgid,
		.content_type = ctype, .body = body, .body_len = strlen(body),
	};
	cr_assert_eq(mc_send_send(&p->c, tid, &snd), 0);
	cr_assert_eq(mc_read_frame(&p->c, p->f, 5000), 0, "no answer to the phone's SEND");
	cr_assert(!p->f->is_request && p->f->status == 200, "the phone's SEND got %d",
		  p->f->status);
}

/* POST <json> to /v1/sessions/<id><sub>; the status, and the answer in *<out> (may be NULL). */
static int post(struct phone *p, const char *sub, const char *json, json_t **out)
{
	char path[192];
	snprintf(path, sizeof(path), "/v1/sessions/%s%s", p->id, sub);
	json_t *r = NULL;
	int st = ufx_api("POST", path, json, &r, NULL);
	if (out)
		*out = r;
	else
		json_decref(r);
	return st;
}

/* The next SEND rcsgw sends the phone, parsed as CPIM into <m> (slices into p->f). */
static void read_cpim(struct phone *p, struct rcs_cpim_msg *m)
{
	ufx_read_send(&p->c, p->f);
	cr_assert_str_eq(mc_header(p->f, "Content-Type"), "message/cpim");
	cr_assert_eq(rcs_cpim_parse(p->f->body, p->f->body_len, m), 0, "not CPIM: %.*s",
		     (int)p->f->body_len, p->f->body);
}

static int hdr_is(const struct rcs_cpim_msg *m, cm_slice ns, const char *name, const char *v)
{
	const struct rcs_cpim_hdr *h = rcs_cpim_get(m, ns, name, NULL);
	return h && h->value.len == strlen(v) && !memcmp(h->value.p, v, h->value.len);
}

/* An IMDN as an RCS phone writes it (RFC 5438 §7.1.2 / §7.2.1): about message <mid>, with
 * <kind> ("delivery-notification") and <status> ("delivered"). */
static void phone_imdn(struct phone *p, const char *nid, const char *mid, const char *kind,
		       const char *status)
{
	char xml[1024], cpim[2048];
	snprintf(xml, sizeof(xml),
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		 "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\r\n"
		 "  <message-id>%s</message-id>\r\n"
		 "  <datetime>2026-11-26T10:00:00.000Z</datetime>\r\n"
		 "  <recipient-uri>%s</recipient-uri>\r\n"
		 "  <%s><status><%s/></status></%s>\r\n"
		 "</imdn>\r\n", mid, "sip:phone@" HOST, kind, status, kind);
	snprintf(cpim, sizeof(cpim),
		 "From: <sip:phone@" HOST ">\r\n"
		 "To: <sip:bot@" HOST ">\r\n"
		 "NS: imdn <urn:ietf:params:imdn>\r\n"
		 "imdn.Message-ID: %s\r\n"
		 "DateTime: 2026-11-26T10:00:01.000Z\r\n"
		 "\r\n"
		 "Content-Type: message/imdn+xml\r\n"
		 "Content-Disposition: notification\r\n"
		 "\r\n"
		 "%s", nid, xml);
	phone_send(p, "message/cpim", cpim, nid);
}

Test(rcs, a_message_asking_for_imdns_goes_in_cpim_and_its_notifications_become_events)
{
	struct phone p;
	struct rcs_cpim_msg m;
	json_t *r, *ev;
	phone_up(&p, NULL);

	cr_assert_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"hello\","
			  "\"disposition_notification\":[\"positive-delivery\",\"display\"],"
			  "\"cpim\":{\"subject\":\"greetings\",\"headers\":{\"rcs.Service\":\"chat\"},"
			  "\"ns\":{\"rcs\":\"http://www.gsma.com/rcs\"}}}", &r), 202);
	char mid[64];
	snprintf(mid, sizeof(mid), "%s", ufx_jstr(r, "message_id"));
	json_decref(r);
	read_cpim(&p, &m);
	cr_expect_str_eq(mc_header(p.f, "Message-ID"), mid);
	cr_expect(hdr_is(&m, CM_SLICE_NULL, "From", "<sip:bot@" HOST ">"));
	cr_expect(rcs_cpim_get(&m, CM_SLICE_NULL, "To", NULL) != NULL);
	cr_expect(rcs_cpim_get(&m, CM_SLICE_NULL, "DateTime", NULL) != NULL);
	cr_expect(hdr_is(&m, CM_SLICE_NULL, "Subject", "greetings"));
	cr_expect(hdr_is(&m, NS_IMDN, "Message-ID", mid), "imdn.Message-ID is the message_id");
	const struct rcs_cpim_hdr *dn = rcs_cpim_get(&m, NS_IMDN, "Disposition-Notification", NULL);
	cr_assert(dn);
	cr_expect_eq(rcs_imdn_dn_parse(dn->value.p, dn->value.len),
		     RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY);
	cr_expect(hdr_is(&m, CM_SLICE_LIT("http://www.gsma.com/rcs"), "Service", "chat"));
	cr_expect(m.content_type.len == 10 && !memcmp(m.content_type.p, "text/plain", 10));
	cr_expect(m.body.len == 5 && !memcmp(m.body.p, "hello", 5));

	/* the phone's notifications: delivered, displayed, and one for another message failed */
	phone_imdn(&p, "imdn-d1", mid, "delivery-notification", "delivered");
	ev = ufx_event("message.delivered", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), mid);
	cr_expect_str_eq(ufx_jstr(ev, "notification"), "delivery");
	cr_expect_str_eq(ufx_jstr(ev, "status"), "delivered");
	cr_expect_str_eq(ufx_jstr(ev, "notification_id"), "imdn-d1");
	cr_expect_str_eq(ufx_jstr(ev, "recipient"), "sip:phone@" HOST);
	json_decref(ev);
	phone_imdn(&p, "imdn-d2", mid, "display-notification", "displayed");
	ev = ufx_event("message.displayed", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), mid);
	cr_expect_str_eq(ufx_jstr(ev, "notification"), "display");
	json_decref(ev);
	phone_imdn(&p, "imdn-d3", "other-msg-1", "delivery-notification", "failed");
	ev = ufx_event("message.failed", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), "other-msg-1");
	cr_expect_str_eq(ufx_jstr(ev, "status"), "failed");
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "imdn");
	json_decref(ev);

	/* none of them is a message for the application */
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s", p.id);
	cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
	cr_expect_eq(json_integer_value(json_object_get(r, "messages_received")), 3);
	json_decref(r);
	phone_down(&p);
}

Test(rcs, plain_text_goes_in_cpim_when_the_phone_takes_it_only_so)
{
	struct phone p;
	struct rcs_cpim_msg m;
	json_t *r;
	phone_up(&p, NULL);
	/* nothing asked: the phone's SDP decides (text/plain is in its accept-wrapped-types) */
	cr_assert_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"hi\"}",
			  &r), 202);
	char mid[64];
	snprintf(mid, sizeof(mid), "%s", ufx_jstr(r, "message_id"));
	json_decref(r);
	read_cpim(&p, &m);
	cr_expect(hdr_is(&m, NS_IMDN, "Message-ID", mid));
	cr_expect_null(rcs_cpim_get(&m, NS_IMDN, "Disposition-Notification", NULL),
		       "no notification asked");
	cr_expect(m.body.len == 2 && !memcmp(m.body.p, "hi", 2));
	/* refusals: CPIM forbidden, a type it takes in no form, CPIM headers that are ours */
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"hi\","
			  "\"cpim\":false}", NULL), 415);
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"image/png\",\"body_base64\":\"AA==\"}",
			  NULL), 415);
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"x\","
			  "\"cpim\":false,\"disposition_notification\":[\"display\"]}", NULL), 400);
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"x\","
			  "\"disposition_notification\":[\"sometimes\"]}", NULL), 400);
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"x\","
			  "\"cpim\":{\"headers\":{\"imdn.Message-ID\":\"x\"},\"ns\":{\"imdn\":\"u\"}}}",
			  NULL), 400);
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"x\","
			  "\"cpim\":{\"headers\":{\"From\":\"<sip:x@y>\"}}}", NULL), 400);
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"x\","
			  "\"cpim\":{\"headers\":{\"my.Key\":\"v\"}}}", NULL), 400, "no ns for my");
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"x\","
			  "\"cpim\":{\"headers\":{\"x.Message-ID\":\"v\"},\"ns\":{\"x\":"
			  "\"urn:ietf:params:IMDN\"}}}", NULL), 400, "the imdn namespace by another prefix");
	cr_expect_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"x\","
			  "\"cpim\":{\"subject\":\"a\\u0001b\"}}", NULL), 400, "a control character");
	phone_down(&p);
}

Test(rcs, a_received_message_gets_its_delivery_imdn_and_its_display_imdn_on_request)
{
	struct phone p;
	struct rcs_cpim_msg m;
	struct rcs_imdn n;
	json_t *r, *ev;
	phone_up(&p, NULL);
	phone_send(&p, "message/cpim",
		   "From: Phone <sip:phone@" HOST ">\r\n"
		   "To: <sip:bot@" HOST ">\r\n"
		   "NS: imdn <urn:ietf:params:imdn>\r\n"
		   "imdn.Message-ID: pm-imdn-0001\r\n"
		   "DateTime: 2026-11-26T10:00:00.000Z\r\n"
		   "imdn.Disposition-Notification: positive-delivery, display\r\n"
		   "Subject: hi there\r\n"
		   "\r\n"
		   "Content-Type: text/plain; charset=utf-8\r\n"
		   "\r\n"
		   "hello bot",
		   "msrp-pm-1");
	ev = ufx_event("message.received", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), "pm-imdn-0001");
	cr_expect_str_eq(ufx_jstr(ev, "msrp_message_id"), "msrp-pm-1");
	cr_expect_str_eq(ufx_jstr(ev, "content_type"), "text/plain; charset=utf-8");
	cr_expect_str_eq(ufx_jstr(ev, "body"), "hello bot");
	json_t *cp = json_object_get(ev, "cpim");
	cr_expect_str_eq(ufx_jstr(cp, "from"), "sip:phone@" HOST);
	cr_expect_str_eq(ufx_jstr(cp, "subject"), "hi there");
	cr_expect_str_eq(ufx_jstr(cp, "datetime"), "2026-11-26T10:00:00.000Z");
	json_t *dn = json_object_get(ev, "disposition_notification");
	cr_expect_eq(json_array_size(dn), 2);
	cr_expect_str_eq(ufx_jstr(ev, "delivery_notification"), "sent");
	json_decref(ev);

	/* the delivery notification came by itself */
	read_cpim(&p, &m);
	cr_expect(hdr_is(&m, CM_SLICE_NULL, "To", "<sip:phone@" HOST ">"));
	cr_expect(hdr_is(&m, CM_SLICE_NULL, "From", "<sip:bot@" HOST ">"));
	cr_expect_null(rcs_cpim_get(&m, NS_IMDN, "Disposition-Notification", NULL),
		       "an IMDN asks for no IMDN (RFC 5438 §7.1.2)");
	cr_expect(m.content_type.len == 16 && !memcmp(m.content_type.p, "message/imdn+xml", 16));
	cr_assert_eq(rcs_imdn_parse(m.body.p, m.body.len, &n), 0, "%.*s", (int)m.body.len, m.body.p);
	cr_expect_str_eq(n.message_id, "pm-imdn-0001");
	cr_expect_eq(n.kind, RCS_IMDN_DELIVERY);
	cr_expect_eq(n.status, RCS_IMDN_DELIVERED);
	cr_expect_str_eq(n.datetime, "2026-11-26T10:00:00.000Z");

	/* the application says it was displayed: once */
	cr_assert_eq(post(&p, "/messages/pm-imdn-0001/displayed", NULL, &r), 202);
	char nid[64];
	snprintf(nid, sizeof(nid), "%s", ufx_jstr(r, "notification_id"));
	json_decref(r);
	read_cpim(&p, &m);
	cr_expect(hdr_is(&m, NS_IMDN, "Message-ID", nid));
	cr_assert_eq(rcs_imdn_parse(m.body.p, m.body.len, &n), 0);
	cr_expect_str_eq(n.message_id, "pm-imdn-0001");
	cr_expect_eq(n.kind, RCS_IMDN_DISPLAY);
	cr_expect_eq(n.status, RCS_IMDN_DISPLAYED);
	cr_expect_eq(post(&p, "/messages/pm-imdn-0001/displayed", NULL, NULL), 409, "twice");
	cr_expect_eq(post(&p, "/messages/nope-0001/displayed", NULL, NULL), 404);
	cr_expect_eq(post(&p, "/messages/pm-imdn-0001/displayed", "{\"x\":1}", NULL), 400);

	/* a message that asks for nothing: no notification, nothing to display */
	phone_send(&p, "message/cpim",
		   "From: <sip:phone@" HOST ">\r\nTo: <sip:bot@" HOST ">\r\n"
		   "NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: pm-plain-01\r\n\r\n"
		   "Content-Type: text/plain\r\n\r\nquiet", "msrp-pm-2");
	ev = ufx_event("message.received", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "body"), "quiet");
	cr_expect_null(json_object_get(ev, "delivery_notification"));
	json_decref(ev);
	cr_expect_eq(post(&p, "/messages/pm-plain-01/displayed", NULL, NULL), 404);

	/* CPIM that does not parse is passed on as it came, and counted */
	phone_send(&p, "message/cpim", "no headers and no blank line", "msrp-pm-3");
	ev = ufx_event("message.received", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "content_type"), "message/cpim");
	cr_expect_null(json_object_get(ev, "cpim"));
	json_decref(ev);
	phone_down(&p);
}

Test(rcs, is_composing_both_ways)
{
	struct phone p;
	struct rcs_composing c;
	struct rcs_cpim_msg m;
	json_t *ev;
	phone_up(&p, NULL);
	/* the phone takes application/im-iscomposing+xml as it is */
	cr_assert_eq(post(&p, "/composing", "{\"state\":\"active\",\"refresh\":90,"
			  "\"content_type\":\"text/plain\"}", NULL), 202);
	ufx_read_send(&p.c, p.f);
	cr_assert_str_eq(mc_header(p.f, "Content-Type"), "application/im-iscomposing+xml");
	cr_expect_str_eq(mc_header(p.f, "Success-Report"), "no");
	cr_expect_str_eq(mc_header(p.f, "Failure-Report"), "no");
	cr_assert_eq(rcs_composing_parse(p.f->body, p.f->body_len, &c), 0);
	cr_expect_eq(c.active, 1);
	cr_expect_eq(c.refresh, 90);
	cr_expect_str_eq(c.contenttype, "text/plain");
	cr_expect_eq(post(&p, "/composing", "{\"state\":\"typing\"}", NULL), 400);
	cr_expect_eq(post(&p, "/composing", "{\"state\":\"idle\",\"refresh\":60}", NULL), 400);

	/* RFC 3994 §6's idle indication, as it is and in CPIM */
	static const char idle[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		"<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"\r\n"
		"  xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\r\n"
		"  xsi:schemaLocation=\"urn:ietf:params:xml:ns:im-composing iscomposing.xsd\">\r\n"
		"  <state>idle</state>\r\n"
		"  <lastactive>2003-01-27T10:43:00Z</lastactive>\r\n"
		"  <contenttype>audio</contenttype>\r\n"
		"</isComposing>\r\n";
	phone_send(&p, "application/im-iscomposing+xml", idle, "comp-1");
	ev = ufx_event("composing", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "state"), "idle");
	cr_expect_str_eq(ufx_jstr(ev, "last_active"), "2003-01-27T10:43:00Z");
	cr_expect_str_eq(ufx_jstr(ev, "content_type"), "audio");
	json_decref(ev);
	char cpim[2048];
	snprintf(cpim, sizeof(cpim),
		 "From: <sip:phone@" HOST ">\r\nTo: <sip:bot@" HOST ">\r\n\r\n"
		 "Content-Type: application/im-iscomposing+xml\r\n\r\n"
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		 "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">"
		 "<state>active</state><refresh>60</refresh></isComposing>");
	phone_send(&p, "message/cpim", cpim, "comp-2");
	ev = ufx_event("composing", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "state"), "active");
	cr_expect_eq(json_integer_value(json_object_get(ev, "refresh")), 60);
	cr_expect_str_eq(ufx_jstr(ev, "from"), "sip:phone@" HOST);
	json_decref(ev);
	(void)m;
	phone_down(&p);
}

Test(rcs, a_phone_that_takes_composing_only_in_cpim_gets_it_wrapped)
{
	struct phone p;
	struct rcs_cpim_msg m;
	struct rcs_composing c;
	phone_up(&p, (const char *[]){ "$accept_types", "message/cpim", NULL });
	cr_assert_eq(post(&p, "/composing", "{\"state\":\"active\"}", NULL), 202);
	read_cpim(&p, &m);
	cr_expect(m.content_type.len == 30 &&
		  !memcmp(m.content_type.p, "application/im-iscomposing+xml", 30));
	cr_assert_eq(rcs_composing_parse(m.body.p, m.body.len, &c), 0);
	cr_expect_eq(c.active, 1);
	phone_down(&p);
}

/* tshark decodes the RCS exchange (offer with accept-wrapped-types, CPIM messages, IMDNs,
 * isComposing) with no malformed frame. This tshark reads the first MSRP frame of a segment
 * only (PEERS.md), so each step waits for its answer. */
/* Stops <cap> once what was sent is in, and expects no malformed frame in it. */
static void capture_clean(struct tshark_cap *cap, const char *dec)
{
	usleep(200000);
	cr_assert_eq(tshark_stop(cap), 0);
	char sum[8192];
	int bad = tshark_summary(cap, dec, TSHARK_BAD, sum, sizeof(sum));
	cr_expect_eq(bad, 0, "malformed frames:\n%s", sum);
}

Test(rcs, wire_decodes_cleanly)
{
	ufx_need_sipp();
	struct tshark_cap cap;
	char dec[256];
	ufx_capture(&cap, dec, sizeof(dec));
	struct phone p;
	struct rcs_cpim_msg m;
	json_t *r;
	phone_up(&p, NULL);
	cr_assert_eq(post(&p, "/messages", "{\"content_type\":\"text/plain\",\"body\":\"on the wire\","
			  "\"disposition_notification\":[\"positive-delivery\"]}", &r), 202);
	char mid[64];
	snprintf(mid, sizeof(mid), "%s", ufx_jstr(r, "message_id"));
	json_decref(r);
	read_cpim(&p, &m);
	phone_imdn(&p, "imdn-w1", mid, "delivery-notification", "delivered");
	json_decref(ufx_event("message.delivered", p.id, 5000));
	phone_send(&p, "message/cpim",
		   "From: <sip:phone@" HOST ">\r\nTo: <sip:bot@" HOST ">\r\n"
		   "NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: pm-w-0001\r\n"
		   "imdn.Disposition-Notification: positive-delivery\r\n\r\n"
		   "Content-Type: text/plain\r\n\r\nback", "msrp-w-1");
	json_decref(ufx_event("message.received", p.id, 5000));
	read_cpim(&p, &m); /* its delivery notification */
	cr_assert_eq(post(&p, "/composing", "{\"state\":\"active\"}", NULL), 202);
	ufx_read_send(&p.c, p.f);
	phone_down(&p);
	capture_clean(&cap, dec);
	int n = tshark_count(&cap, dec, "sdp.media_attr contains \"accept-wrapped-types\"");
	cr_expect_geq(n, 2, "offer and answer say what they take inside CPIM: %d", n);
	n = tshark_count(&cap, dec, "msrp.content.type contains \"message/cpim\"");
	/* message, IMDN, message, (IMDN: it leaves in the segment of the 200 to the message, where
	 * this tshark does not look) */
	cr_expect_geq(n, 3, "message, IMDN, message: %d", n);
	n = tshark_count(&cap, dec, "msrp.content.type contains \"application/im-iscomposing+xml\"");
	cr_expect_geq(n, 1, "isComposing: %d", n);
}

/* RCS signalling of an outgoing chat (RCC.07): the CPM session feature tag in Contact and
 * Accept-Contact, a Conversation-ID (the application's) and a Contribution-ID (minted). */
Test(rcs, an_outgoing_chat_says_so_in_its_invite)
{
	struct phone p;
	char v[512];
	json_t *r;
	phone_up_with(&p, NULL, ",\"conversation_id\":\"conv-out-0001\"");
	cr_assert_geq(sipp_log_wait(ufx.logdir, "invite_accept_contact=(.*)", v, sizeof(v), 3000), 0);
	cr_expect(strstr(v, "3gpp-service.ims.icsi.oma.cpm.session"), "%s", v);
	cr_assert_geq(sipp_log_wait(ufx.logdir, "invite_contact=(.*)", v, sizeof(v), 3000), 0);
	cr_expect(strstr(v, ";+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\""),
		  "%s", v);
	cr_assert_geq(sipp_log_wait(ufx.logdir, "invite_conversation_id=(.*)", v, sizeof(v), 3000), 0);
	cr_expect_str_eq(v, "conv-out-0001");
	cr_assert_geq(sipp_log_wait(ufx.logdir, "invite_contribution_id=(.*)", v, sizeof(v), 3000), 0);
	cr_expect_eq(strlen(v), 36, "a UUID: %s", v);
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s", p.id);
	cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
	cr_expect_str_eq(ufx_jstr(r, "conversation_id"), "conv-out-0001");
	cr_expect_str_eq(ufx_jstr(r, "contribution_id"), v);
	json_decref(r);
	phone_down(&p);
	/* the ids are checked like headers */
	cr_expect_eq(ufx_api("POST", "/v1/sessions", "{\"from\":\"sip:bot@127.0.0.1\",\"to\":"
			     "\"sip:x@127.0.0.1\",\"conversation_id\":\"a b\"}", NULL, NULL), 400);
	cr_expect_eq(ufx_api("POST", "/v1/sessions", "{\"from\":\"sip:bot@127.0.0.1\",\"to\":"
			     "\"sip:x@127.0.0.1\",\"contribution_id\":\"c1\",\"headers\":"
			     "{\"Contribution-ID\":\"c2\"}}", NULL, NULL), 400);
}

/* An RCS phone's chat INVITE: its ids and services in session.incoming, its ids echoed in
 * our 200 with our own feature tags. */
Test(rcs, an_incoming_chat_shows_its_ids_and_services_and_the_answer_echoes_them)
{
	ufx_need_sipp();
	ufx_start_uac("uac_rcs.xml", (const char *[]){ "$conv_id", "conv-in-4711", "$contrib_id",
						      "contrib-in-4711", NULL });
	json_t *ev = ufx_event("session.incoming", NULL, 5000);
	char id[64], path[128], v[512];
	snprintf(id, sizeof(id), "%s", ufx_jstr(ev, "session_id"));
	cr_expect_str_eq(ufx_jstr(ev, "conversation_id"), "conv-in-4711");
	cr_expect_str_eq(ufx_jstr(ev, "contribution_id"), "contrib-in-4711");
	json_t *sv = json_object_get(ev, "services");
	cr_assert_eq(json_array_size(sv), 3, "chat, ft, fthttp");
	cr_expect_str_eq(json_string_value(json_array_get(sv, 0)), "chat");
	cr_expect_str_eq(json_string_value(json_array_get(sv, 1)), "ft");
	cr_expect_str_eq(json_string_value(json_array_get(sv, 2)), "fthttp");
	json_decref(ev);
	snprintf(path, sizeof(path), "/v1/sessions/%s/answer", id);
	cr_assert_eq(ufx_api("POST", path, NULL, NULL, NULL), 200);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f);
	json_decref(ufx_event("session.established", id, 5000));
	cr_assert_geq(sipp_log_wait(ufx.logdir, "answer_contribution_id=(.*)", v, sizeof(v), 3000), 0);
	cr_expect_str_eq(v, "contrib-in-4711");
	cr_assert_geq(sipp_log_wait(ufx.logdir, "answer_conversation_id=(.*)", v, sizeof(v), 3000), 0);
	cr_expect_str_eq(v, "conv-in-4711");
	cr_assert_geq(sipp_log_wait(ufx.logdir, "answer_contact=(.*)", v, sizeof(v), 3000), 0);
	cr_expect(strstr(v, "oma.cpm.session"), "%s", v);
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	json_t *r;
	cr_assert_eq(ufx_api("GET", path, NULL, &r, NULL), 200);
	cr_expect_str_eq(ufx_jstr(r, "conversation_id"), "conv-in-4711");
	json_decref(r);
	cr_assert_eq(ufx_api("DELETE", path, NULL, NULL, NULL), 204);
	ufx_sipp_done(0);
	mc_close(&c);
	free(f);
}

/* ---- capability discovery (RCC.07 by OPTIONS) --------------------------------------------- */

TestSuite(rcs_caps, .fini = ufx_down, .timeout = 60);

static json_t *caps(const char *uri, const char *query, int want)
{
	char path[600];
	json_t *r = NULL;
	snprintf(path, sizeof(path), "/v1/capabilities/%s%s", uri, query ? query : "");
	int st = ufx_api("GET", path, NULL, &r, NULL);
	cr_assert_eq(st, want, "GET %s: %d", path, st);
	return r;
}

Test(rcs_caps, options_answer_services_cached_then_refreshed)
{
	ufx_up_with((const char *[]){ "RCSGW_RCS_CAPABILITY_TIMEOUT=1s", NULL });
	ufx_need_sipp();
	char *phone = ufx_start_uas("uas_options.xml", NULL);
	json_t *r = caps(phone, NULL, 200);
	cr_expect_eq(json_is_true(json_object_get(r, "reachable")), 1);
	cr_expect_eq(json_integer_value(json_object_get(r, "sip_code")), 200);
	cr_expect_eq(json_is_false(json_object_get(r, "cached")), 1);
	json_t *sv = json_object_get(r, "services");
	cr_assert_eq(json_array_size(sv), 3, "chat, ft, fthttp");
	cr_expect_str_eq(json_string_value(json_array_get(sv, 0)), "chat");
	cr_expect_str_eq(json_string_value(json_array_get(sv, 1)), "ft");
	cr_expect_str_eq(json_string_value(json_array_get(sv, 2)), "fthttp");
	cr_expect_str_eq(ufx_jstr(r, "botversion"), "#=1");
	cr_expect_str_eq(ufx_jstr(r, "uri"), phone);
	json_decref(r);
	char v[512];
	cr_assert_geq(sipp_log_wait(ufx.logdir, "options_contact=(.*)", v, sizeof(v), 3000), 0);
	cr_expect(strstr(v, "oma.cpm.session"), "the query says our services: %s", v);
	ufx_sipp_done(0);

	/* again: from the cache (the device is gone, nothing would answer) */
	r = caps(phone, NULL, 200);
	cr_expect_eq(json_is_true(json_object_get(r, "cached")), 1);
	cr_expect_eq(json_array_size(json_object_get(r, "services")), 3);
	json_decref(r);
	/* refreshed: an OPTIONS that nobody answers is 408 after rcs.capability_timeout */
	r = caps(phone, "?refresh=true", 200);
	cr_expect_eq(json_is_false(json_object_get(r, "reachable")), 1);
	cr_expect_eq(json_integer_value(json_object_get(r, "sip_code")), 408);
	cr_expect_eq(json_array_size(json_object_get(r, "services")), 0);
	json_decref(r);
	/* a device that does not exist */
	phone = ufx_start_uas("uas_options.xml", (const char *[]){ "$answer_code", "404", NULL });
	r = caps(phone, "?refresh=true", 200);
	cr_expect_eq(json_integer_value(json_object_get(r, "sip_code")), 404);
	cr_expect_eq(json_is_false(json_object_get(r, "reachable")), 1);
	json_decref(r);
	ufx_sipp_done(0);
	/* what cannot be asked */
	json_decref(caps("http:example.com", NULL, 400));
	json_decref(caps("sip:someone@unresolvable.invalid", NULL, 502));
	json_decref(caps("sip:a@127.0.0.1", "?refresh=maybe", 400));
	json_decref(caps("sip:a@127.0.0.1%3Fsubject=x", NULL, 400)); /* no URI headers */
	json_decref(caps("tel:+15551234", NULL, 502));         /* a number needs a proxy */
}

/* Two queries for one URI at once: one OPTIONS answers both (the second waits for it, or
 * finds its answer cached), and the counters say so. */
struct caps_q {
	const char *uri;
	json_t *r;
};

static void *caps_thread(void *arg)
{
	struct caps_q *q = arg;
	char path[600];
	int status = 0;
	char *body = NULL;
	snprintf(path, sizeof(path), "/v1/capabilities/%s", q->uri);
	if (http_request(HOST, ufx.api, "GET", path, NULL, NULL, &status, NULL, &body, 5000) == 0 &&
	    status == 200)
		q->r = json_loads(body ? body : "", 0, NULL);
	free(body);
	return NULL;
}

Test(rcs_caps, queries_at_once_share_one_options)
{
	ufx_up();
	ufx_need_sipp();
	char *phone = ufx_start_uas("uas_options.xml", NULL);
	struct caps_q q[2] = { { phone, NULL }, { phone, NULL } };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, caps_thread, &q[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		cr_assert(q[i].r, "query %d got no 200", i);
		cr_expect_eq(json_integer_value(json_object_get(q[i].r, "sip_code")), 200);
		cr_expect_eq(json_array_size(json_object_get(q[i].r, "services")), 3);
		json_decref(q[i].r);
	}
	ufx_sipp_done(0); /* it answered one OPTIONS (sipp -m 1): the second would be unexpected */
	cr_expect_eq(ufx_metric_sum("rcsgw_rcs_capability_options_sent_total"), 1);
	cr_expect_eq(ufx_metric_sum("rcsgw_rcs_capability_queries_total"), 2);
	json_decref(caps(phone, NULL, 200));
	cr_expect_geq(ufx_metric_sum("rcsgw_rcs_capability_hits_total"), 1);
	cr_expect_eq(ufx_metric_sum("rcsgw_rcs_capability_entries"), 1);
}

/* ---- standalone messaging (RCC.07 §3.2: pager and large-message modes) ------------------- */

TestSuite(rcs_standalone, .init = ufx_up, .fini = ufx_down, .timeout = 60);

static json_t *standalone(const char *to, const char *extra, int want)
{
	char *body = NULL;
	json_t *r = NULL;
	cr_assert_gt(asprintf(&body, "{\"from\":\"sip:bot@" HOST "\",\"to\":\"%s\"%s}", to, extra),
		     0);
	int st = ufx_api("POST", "/v1/messages", body, &r, NULL);
	cr_assert_eq(st, want, "POST /v1/messages %.200s: %d", body, st);
	free(body);
	return r;
}

Test(rcs_standalone, pager_mode_message_in_cpim_and_its_outcome)
{
	ufx_need_sipp();
	char to[64], v[512];
	snprintf(to, sizeof(to), "sip:phone@" HOST ":%d", ufx.uas_port);
	ufx.sipp = sipp_start("uas_message.xml", NULL, ufx.uas_port, NULL, ufx.logdir, NULL);
	cr_assert(ufx.sipp > 0);
	json_t *r = standalone(to, ",\"content_type\":\"text/plain\",\"body\":\"one-off\","
			       "\"disposition_notification\":[\"positive-delivery\"],"
			       "\"conversation_id\":\"conv-sa-1\"", 202);
	char mid[64];
	snprintf(mid, sizeof(mid), "%s", ufx_jstr(r, "message_id"));
	cr_expect_str_eq(ufx_jstr(r, "mode"), "pager");
	json_decref(r);
	json_t *ev = ufx_event("message.sent", NULL, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), mid);
	cr_expect_str_eq(ufx_jstr(ev, "mode"), "pager");
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 200);
	json_decref(ev);
	cr_assert_geq(sipp_log_wait(ufx.logdir, "message_ctype=(.*)", v, sizeof(v), 3000), 0);
	cr_expect_str_eq(v, "message/cpim");
	cr_assert_geq(sipp_log_wait(ufx.logdir, "message_accept_contact=(.*)", v, sizeof(v), 3000), 0);
	cr_expect(strstr(v, "oma.cpm.msg"), "the standalone-message ICSI: %s", v);
	char re[96];
	snprintf(re, sizeof(re), "(imdn.Message-ID: %s)", mid);
	cr_expect_geq(sipp_log_wait(ufx.logdir, re, v, sizeof(v), 3000), 0, "its CPIM names it");
	cr_expect_geq(sipp_log_wait(ufx.logdir, "(imdn.Disposition-Notification: positive-delivery)",
				    v, sizeof(v), 3000), 0);
	ufx_sipp_done(0);

	/* a device that does not exist */
	ufx.sipp = sipp_start("uas_message.xml", NULL, ufx.uas_port,
			      (const char *[]){ "$answer_code", "404", NULL }, ufx.logdir, NULL);
	r = standalone(to, ",\"content_type\":\"text/plain\",\"body\":\"lost\",\"mode\":\"pager\"", 202);
	json_decref(r);
	ev = ufx_event("message.failed", NULL, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "sip");
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 404);
	json_decref(ev);
	ufx_sipp_done(0);
	/* refusals */
	json_decref(standalone(to, ",\"content_type\":\"text/plain\"", 400));
	json_decref(standalone(to, ",\"content_type\":\"text/plain\",\"body\":\"x\",\"mode\":\"fast\"",
			       400));
	json_decref(standalone("nope", ",\"content_type\":\"text/plain\",\"body\":\"x\"", 400));
	json_decref(standalone("sip:a@host.invalid", ",\"content_type\":\"text/plain\",\"body\":\"x\"",
			       502));
	json_decref(standalone(to, ",\"content_type\":\"text/plain\",\"body\":\"x\","
			       "\"message_id\":\"ab cd<x>\"", 400));
	json_decref(standalone(to, ",\"content_type\":\"text/plain\",\"body\":\"x\","
			       "\"conversation_id\":\"c\\u0001x\"", 400));
}

Test(rcs_standalone, large_message_mode_is_a_session_of_its_own)
{
	ufx_need_sipp();
	char *to = ufx_start_uas("uas_rcs.xml", NULL);
	char big[4096], extra[4200];
	memset(big, 'L', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(extra, sizeof(extra), ",\"content_type\":\"text/plain\",\"body\":\"%s\"", big);
	json_t *r = standalone(to, extra, 202);
	cr_expect_str_eq(ufx_jstr(r, "mode"), "large", "over 1300 bytes: auto takes large");
	char mid[64];
	snprintf(mid, sizeof(mid), "%s", ufx_jstr(r, "message_id"));
	json_decref(r);
	char v[512];
	cr_assert_geq(sipp_log_wait(ufx.logdir, "invite_accept_contact=(.*)", v, sizeof(v), 3000), 0);
	cr_expect(strstr(v, "oma.cpm.largemsg"), "the large-message ICSI: %s", v);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	ufx_ml_accept(&c, 5000);
	ufx_read_send(&c, f); /* the binding SEND */
	char from_path[256];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	ufx_read_send(&c, f);
	cr_assert_str_eq(mc_header(f, "Content-Type"), "message/cpim");
	cr_expect_str_eq(mc_header(f, "Success-Report"), "yes");
	cr_expect_str_eq(mc_header(f, "Message-ID"), mid);
	struct rcs_cpim_msg m;
	cr_assert_eq(rcs_cpim_parse(f->body, f->body_len, &m), 0);
	cr_expect_eq(m.body.len, sizeof(big) - 1);
	/* the device's success report: the message is sent, the session ends (BYE) */
	char rep[1024];
	int rn = snprintf(rep, sizeof(rep),
			  "MSRP rep9 REPORT\r\nTo-Path: %s\r\nFrom-Path: msrp://" HOST
			  ":%d/phone1sid;tcp\r\nMessage-ID: %s\r\nByte-Range: 1-%zu/%zu\r\n"
			  "Status: 000 200 OK\r\n-------rep9$\r\n", from_path, ufx.ml_port, mid,
			  f->body_len, f->body_len);
	cr_assert_eq(mc_send_raw(&c, rep, (size_t)rn), 0);
	json_t *ev = ufx_event("message.sent", NULL, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), mid);
	cr_expect_str_eq(ufx_jstr(ev, "mode"), "large");
	cr_expect_eq(json_integer_value(json_object_get(ev, "msrp_status")), 200);
	json_decref(ev);
	ufx_sipp_done(0); /* it got its BYE */
	mc_close(&c);
	free(f);
}

TestSuite(rcs_pager_in, .fini = ufx_down, .timeout = 60);

/* The page-mode client (uac_message.xml) sends <cpim> to rcsgw itself; 200 expected. */
static void page_rcsgw(const char *cpim, int back)
{
	char remote[64], to_host[64], from_host[64], dir[256];
	snprintf(remote, sizeof(remote), HOST ":%d", ufx.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", ufx.sip);
	snprintf(from_host, sizeof(from_host), HOST ":%d", back);
	cr_assert_eq(sipp_logdir_new(dir, sizeof(dir)), 0);
	const char *keys[] = { "-s", "rcsgw", "$to_host", to_host, "$from_host", from_host,
			       "$from_user", "legacy", "$ctype", "message/cpim", "$body", cpim,
			       "$expect_code", "200", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, dir, NULL);
	cr_assert(p > 0);
	int rc = sipp_wait(p, 10000);
	if (rc)
		sipp_log_report(dir, "client");
	sipp_logdir_remove(dir);
	cr_assert_eq(rc, 0, "the MESSAGE was not answered 200");
}

/* With sip.outbound_proxy (here the sender's own UAS, standing in for the S-CSCF) the delivery
 * IMDN goes back in a MESSAGE to the CPIM From. */
Test(rcs_pager_in, a_message_for_rcsgw_is_an_event_and_gets_its_delivery_imdn)
{
	ufx_need_sipp();
	int back = sipp_free_port();
	char proxy[64];
	snprintf(proxy, sizeof(proxy), "RCSGW_SIP_OUTBOUND_PROXY=sip:" HOST ":%d;transport=tcp",
		 back);
	ufx_up_with((const char *[]){ proxy, NULL });
	/* over TCP: an IMDN in CPIM passes RFC 3428's 1300 bytes once rcsgw's headers are in */
	ufx.sipp = sipp_start("uas_message.xml", NULL, back, (const char *[]){ "-t", "t1", NULL },
			      ufx.logdir, NULL);
	cr_assert(ufx.sipp > 0);
	page_rcsgw("From: <sip:legacy@" HOST ">\r\n"
		   "To: <sip:rcsgw@" HOST ">\r\n"
		   "NS: imdn <urn:ietf:params:imdn>\r\n"
		   "imdn.Message-ID: sa-in-0001\r\n"
		   "DateTime: 2026-11-26T12:00:00.000Z\r\n"
		   "imdn.Disposition-Notification: positive-delivery\r\n"
		   "\r\n"
		   "Content-Type: text/plain\r\n"
		   "\r\n"
		   "hello gateway", back);
	json_t *ev = ufx_event("message.received", NULL, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "mode"), "pager");
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), "sa-in-0001");
	cr_expect_str_eq(ufx_jstr(ev, "body"), "hello gateway");
	cr_expect(strstr(ufx_jstr(ev, "from"), "sip:legacy@") == ufx_jstr(ev, "from"));
	cr_expect_str_eq(ufx_jstr(ev, "delivery_notification"), "sent");
	json_decref(ev);
	char v[512];
	cr_assert_geq(sipp_log_wait(ufx.logdir, "message_ruri=(.*)", v, sizeof(v), 5000), 0,
		      "no IMDN came back");
	cr_expect_str_eq(v, "sip:legacy@" HOST, "to the CPIM From");
	cr_assert_geq(sipp_log_wait(ufx.logdir, "message_ctype=(.*)", v, sizeof(v), 3000), 0);
	cr_expect_str_eq(v, "message/cpim");
	cr_expect_geq(sipp_log_wait(ufx.logdir, "(<delivered/>)", v, sizeof(v), 3000), 0);
	cr_expect_geq(sipp_log_wait(ufx.logdir, "(<message-id>sa-in-0001</message-id>)", v,
				    sizeof(v), 3000), 0);
	ufx_sipp_done(0);
}

/* Without a proxy, an IMDN would go straight to the address the CPIM From names: only when
 * that is where the MESSAGE came from (no reflection to a third party); the message itself
 * is delivered all the same, and bytes that are not UTF-8 do not lose its event. */
Test(rcs_pager_in, no_imdn_to_a_third_party_and_bad_bytes_keep_the_event)
{
	ufx_need_sipp();
	ufx_up();
	page_rcsgw("From: <sip:victim@" HOST ":9>\r\n"
		   "To: <sip:rcsgw@" HOST ">\r\n"
		   "NS: imdn <urn:ietf:params:imdn>\r\n"
		   "imdn.Message-ID: sa\xff-0002\r\n"
		   "imdn.Disposition-Notification: positive-delivery\r\n"
		   "\r\n"
		   "Content-Type: text/plain\r\n"
		   "\r\n"
		   "reflect me", ufx.uas_port);
	json_t *ev = ufx_event("message.received", NULL, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), "sa?-0002", "the bad byte as '?'");
	cr_expect_str_eq(ufx_jstr(ev, "body"), "reflect me");
	cr_expect_str_eq(ufx_jstr(ev, "delivery_notification"), "not_sent");
	json_decref(ev);
}

/* FT over HTTP (RCC.07 §3.2.5): a descriptor built from JSON goes to the phone; the phone's
 * descriptor comes back parsed. Chatbot content (RCC.07 §3.6.10) crosses intact both ways,
 * as text for the application. */
Test(rcs, fthttp_descriptors_and_chatbot_content)
{
	struct phone p;
	struct rcs_cpim_msg m;
	json_t *r, *ev;
	phone_up(&p, (const char *[]){ "$wrapped_types", "*", NULL });
	cr_assert_eq(post(&p, "/messages", "{\"fthttp\":{\"file\":{\"url\":\"https://ft.example.com/"
			  "f/1?a=1&b=2\",\"size\":10485760,\"name\":\"holiday.jpg\",\"content_type\":"
			  "\"image/jpeg\",\"until\":\"2026-12-03T10:00:00Z\",\"disposition\":\"render\"},"
			  "\"thumbnail\":{\"url\":\"https://ft.example.com/t/1\",\"size\":4096,"
			  "\"content_type\":\"image/jpeg\"}}}", &r), 202);
	json_decref(r);
	read_cpim(&p, &m);
	cr_assert(m.content_type.len == 36 &&
		  !memcmp(m.content_type.p, "application/vnd.gsma.rcs-ft-http+xml", 36));
	struct rcs_fthttp ft;
	cr_assert_eq(rcs_fthttp_parse(m.body.p, m.body.len, &ft), 0, "%.*s", (int)m.body.len,
		     m.body.p);
	cr_expect_str_eq(ft.file.url, "https://ft.example.com/f/1?a=1&b=2");
	cr_expect_eq(ft.file.size, 10485760);
	cr_expect_str_eq(ft.file.name, "holiday.jpg");
	cr_expect_eq(ft.thumbnail.present, 1);
	cr_expect_eq(post(&p, "/messages", "{\"fthttp\":{\"file\":{\"size\":1}}}", NULL), 400,
		     "a file needs its url");
	cr_expect_eq(post(&p, "/messages", "{\"fthttp\":{\"file\":{\"url\":\"u\"}},\"content_type\":"
			  "\"text/plain\",\"body\":\"x\"}", NULL), 400);

	/* the phone's descriptor */
	phone_send(&p, "message/cpim",
		   "From: <sip:phone@" HOST ">\r\nTo: <sip:bot@" HOST ">\r\n\r\n"
		   "Content-Type: application/vnd.gsma.rcs-ft-http+xml\r\n\r\n"
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		   "<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">\r\n"
		   " <file-info type=\"file\">\r\n"
		   "  <file-size>2048</file-size>\r\n"
		   "  <file-name>notes.txt</file-name>\r\n"
		   "  <content-type>text/plain</content-type>\r\n"
		   "  <data url=\"https://ft.example.com/f/2\" until=\"2026-12-01T00:00:00Z\"/>\r\n"
		   " </file-info>\r\n"
		   "</file>\r\n", "ft-in-1");
	ev = ufx_event("message.received", p.id, 5000);
	json_t *f = json_object_get(json_object_get(ev, "fthttp"), "file");
	cr_expect_str_eq(ufx_jstr(f, "url"), "https://ft.example.com/f/2");
	cr_expect_eq(json_integer_value(json_object_get(f, "size")), 2048);
	cr_expect_str_eq(ufx_jstr(f, "name"), "notes.txt");
	json_decref(ev);

	/* chatbot content, as it is */
	static const char bot[] = "{\"message\":{\"generalPurposeCard\":{\"content\":"
				  "{\"title\":\"Hi\",\"description\":\"\\u00e9t\\u00e9\"}}}}";
	char req[512];
	snprintf(req, sizeof(req), "{\"content_type\":\"application/vnd.gsma.botmessage.v1.0+json\","
		 "\"body\":\"%s\"}", "{\\\"message\\\":{\\\"generalPurposeCard\\\":{\\\"content\\\":"
		 "{\\\"title\\\":\\\"Hi\\\",\\\"description\\\":\\\"\\\\u00e9t\\\\u00e9\\\"}}}}");
	cr_assert_eq(post(&p, "/messages", req, NULL), 202);
	read_cpim(&p, &m);
	cr_expect(m.body.len == sizeof(bot) - 1 && !memcmp(m.body.p, bot, sizeof(bot) - 1),
		  "%.*s", (int)m.body.len, m.body.p);
	char cpim[512];
	snprintf(cpim, sizeof(cpim), "From: <sip:phone@" HOST ">\r\nTo: <sip:bot@" HOST ">\r\n\r\n"
		 "Content-Type: application/vnd.gsma.botsuggestion.v1.0+json\r\n\r\n%s", bot);
	phone_send(&p, "message/cpim", cpim, "bot-in-1");
	ev = ufx_event("message.received", p.id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "content_type"), "application/vnd.gsma.botsuggestion.v1.0+json");
	cr_expect_str_eq(ufx_jstr(ev, "body"), bot, "as text, byte for byte");
	json_decref(ev);
	phone_down(&p);
}

/* Resumptions rcsgw cannot take are refused with 488 (RFC 5547 a=file-range): nothing kept
 * of that file from that peer, no hash to say that the rest belongs to the bytes kept, a
 * range that does not parse; none is offered to the applications. */
Test(rcs, a_resumption_of_nothing_kept_is_refused)
{
	ufx_need_sipp();
	static const char *const cases[][2] = {
		{ "name:\"a.bin\" type:application/octet-stream size:4000 "
		  "hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E", "1001-4000" },
		{ "name:\"a.bin\" type:application/octet-stream size:4000", "1001-4000" },
		{ "name:\"a.bin\" size:4000", "0-4000" },
		{ "name:\"a.bin\" size:4000", "99999999999999999999999-*" },
		{ "name:\"a.bin\" size:4000", "30-20" },
	};
	unsigned long before = ufx_metric_sum("rcsgw_sip_answered_488_total");
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ufx_start_uac("uac_ft_resume.xml", (const char *[]){ "$selector", cases[i][0],
								     "$range", cases[i][1], NULL });
		ufx_sipp_done(0); /* it got its 488 */
	}
	cr_expect_eq(ufx_metric_sum("rcsgw_sip_answered_488_total") - before, 5);
	char data[4096];
	cr_expect_neq(sse_next_event(&ufx.sse, "session.incoming", NULL, data, sizeof(data), 300),
		      0, "no offer reached the applications: %s", data);
}

/* ---- file transfer over MSRP (RFC 5547), rcsgw to rcsgw ----------------------------------- */

static struct {
	pid_t pid;
	int api, sip, msrp;
	struct sse_cli sse;
} b;

static void b_down(void)
{
	ufx_down();
	sse_close(&b.sse);
	if (b.pid > 0)
		cr_expect_eq(rcsgw_stop(b.pid, SIGTERM, 5000), 0, "the second rcsgw did not exit well");
	b.pid = 0;
}

TestSuite(rcs_ft, .fini = b_down, .timeout = 90);

/* rcsgw A (the fixture, its environment with <extra>: NULL or one "RCSGW_...=..." string)
 * and rcsgw B (answers sip:bob@* by itself), B's event stream open. */
static void a_and_b_up(const char *extra)
{
	/* each holds MSRP connections to the other: SIGTERM's drain must not wait long */
	ufx_up_with((const char *[]){ "RCSGW_ENGINE_DRAIN_TIMEOUT=500ms", extra, NULL });
	char a[64], m[64], s[96];
	b.api = free_tcp_port();
	b.msrp = free_tcp_port();
	b.sip = sipp_free_port();
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=" HOST ":%d", b.api);
	snprintf(m, sizeof(m), "RCSGW_MSRP_LISTEN=" HOST ":%d", b.msrp);
	snprintf(s, sizeof(s), "RCSGW_SIP_LISTEN=udp:" HOST ":%d,tcp:" HOST ":%d", b.sip, b.sip);
	const char *env[] = { a, m, s, "RCSGW_ENGINE_WORKERS=2", "RCSGW_LOG_LEVEL=warn",
			      "RCSGW_UA_AUTO_ANSWER=sip:bob@*", "RCSGW_ENGINE_DRAIN_TIMEOUT=500ms",
			      NULL };
	b.pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(b.pid > 0);
	cr_assert_eq(wait_port(HOST, b.api, 5000), 0);
	cr_assert_eq(wait_port(HOST, b.msrp, 5000), 0);
	cr_assert_eq(sse_open(&b.sse, HOST, b.api, NULL), 0);
	cr_assert(sse_read_until(&b.sse, "retry:", 3000));
}

/* A chat from A to B, established: its id into <id>. */
static void chat_a_to_b(char *id, size_t len)
{
	char to[64];
	snprintf(to, sizeof(to), "sip:bob@" HOST ":%d", b.sip);
	json_t *chat = ufx_create(to, NULL);
	snprintf(id, len, "%s", ufx_jstr(chat, "id"));
	json_decref(chat);
	json_decref(ufx_event("session.established", id, 5000));
}

/* <n> bytes of noise without NUL (the test's HTTP client reads bodies as strings). */
static char *noise(size_t n, uint32_t x)
{
	char *file = malloc(n + 1);
	cr_assert(file);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		file[i] = (char)(1 + x % 255);
	}
	file[n] = '\0';
	return file;
}

/* A chat from rcsgw A to rcsgw B (which answers sip:bob@* by itself); A sends 10 MiB through
 * POST /v1/sessions/{id}/files; B checks its sha-1 against the offer's a=file-selector, keeps
 * it, says file.received; the bytes downloaded from B are the bytes uploaded to A. */
Test(rcs_ft, a_10_mib_file_crosses_with_its_hash_checked)
{
	a_and_b_up(NULL);
	char id[64], path[160];
	chat_a_to_b(id, sizeof(id));

	/* 10 MiB */
	size_t n = 10u << 20;
	char *file = noise(n, 2463534242u);
	snprintf(path, sizeof(path), "/v1/sessions/%s/files?name=holiday%%20video.bin", id);
	int st = 0;
	char *resp = NULL;
	cr_assert_eq(http_request_len(HOST, ufx.api, "POST", path,
				      "Content-Type: application/octet-stream\r\n", file, n, &st,
				      NULL, &resp, 20000), 0);
	cr_assert_eq(st, 202, "%s", resp ? resp : "");
	json_t *r = json_loads(resp, 0, NULL);
	free(resp);
	cr_expect_str_eq(ufx_jstr(r, "name"), "holiday video.bin");
	cr_expect_eq(strlen(ufx_jstr(r, "sha1")), 59);
	char tid[64];
	snprintf(tid, sizeof(tid), "%s", ufx_jstr(r, "transfer_id"));
	json_decref(r);

	/* B: the offer, then the file */
	char data[65536];
	cr_assert_eq(sse_next_event(&b.sse, "session.incoming", "\"file\"", data, sizeof(data),
				    10000), 0, "B saw no file offer");
	json_t *inc = json_loads(data, 0, NULL);
	json_t *fo = json_object_get(inc, "file");
	cr_expect_str_eq(ufx_jstr(fo, "name"), "holiday video.bin");
	cr_expect_eq(json_integer_value(json_object_get(fo, "size")), (json_int_t)n);
	cr_expect_str_eq(ufx_jstr(fo, "transfer_id"), tid);
	cr_expect_str_eq(ufx_jstr(json_object_get(fo, "hash"), "algorithm"), "sha-1");
	json_decref(inc);
	cr_assert_eq(sse_next_event(&b.sse, "file.received", NULL, data, sizeof(data), 30000), 0,
		     "B got no file");
	json_t *fr = json_loads(data, 0, NULL);
	cr_expect_str_eq(ufx_jstr(fr, "hash"), "ok", "the sha-1 of the offer");
	cr_expect_eq(json_is_true(json_object_get(fr, "size_ok")), 1);
	cr_expect_eq(json_integer_value(json_object_get(fr, "size")), (json_int_t)n);
	cr_expect_str_eq(ufx_jstr(fr, "content_type"), "application/octet-stream");
	char url[96];
	snprintf(url, sizeof(url), "%s", ufx_jstr(fr, "url"));
	json_decref(fr);

	/* A: sent (the whole success REPORT came) */
	json_t *ev = ufx_event("file.sent", id, 30000);
	cr_expect_str_eq(ufx_jstr(ev, "transfer_id"), tid);
	cr_expect_eq(json_integer_value(json_object_get(ev, "msrp_status")), 200);
	json_decref(ev);

	/* B: the download, byte for byte, then gone once deleted */
	char *hdrs = NULL;
	resp = NULL;
	cr_assert_eq(http_request(HOST, b.api, "GET", url, NULL, NULL, &st, &hdrs, &resp, 20000), 0);
	cr_assert_eq(st, 200);
	char *cl = http_header(hdrs, "Content-Length"), *cd = http_header(hdrs, "Content-Disposition");
	cr_expect(cl && strtoull(cl, NULL, 10) == n, "Content-Length %s", cl ? cl : "-");
	cr_expect(cd && strstr(cd, "filename=\"holiday video.bin\""), "%s", cd ? cd : "-");
	cr_expect(resp && strlen(resp) == n && !memcmp(resp, file, n), "not the bytes sent");
	free(cl);
	free(cd);
	free(hdrs);
	free(resp);
	cr_expect_eq(http_request(HOST, b.api, "DELETE", url, NULL, NULL, &st, NULL, NULL, 5000), 0);
	cr_expect_eq(st, 204);
	cr_expect_eq(http_request(HOST, b.api, "GET", url, NULL, NULL, &st, NULL, NULL, 5000), 0);
	cr_expect_eq(st, 404);

	/* refusals: no name, an empty file, an unknown session */
	snprintf(path, sizeof(path), "/v1/sessions/%s/files", id);
	cr_expect_eq(http_request_len(HOST, ufx.api, "POST", path, NULL, "x", 1, &st, NULL, NULL,
				      5000), 0);
	cr_expect_eq(st, 400);
	snprintf(path, sizeof(path), "/v1/sessions/%s/files?name=e", id);
	cr_expect_eq(http_request_len(HOST, ufx.api, "POST", path, NULL, NULL, 0, &st, NULL, NULL,
				      5000), 0);
	cr_expect_eq(st, 400);
	cr_expect_eq(http_request_len(HOST, ufx.api, "POST",
				      "/v1/sessions/rabjzl2bq7fcpgh6vkvtni3x/files?name=e", NULL, "x",
				      1, &st, NULL, NULL, 5000), 0);
	cr_expect_eq(st, 404);
	free(file);
}

/* ---- a transfer that breaks, resumed (RFC 5547 a=file-range) ---------------------------- */

/* A TCP proxy in front of A's MSRP listener (A advertises it in a=path: ua.msrp_advertise
 * host:port; B, the answerer, connects: a=setup active), which cuts the connection that has
 * carried <cut_after> bytes from A, in the middle of whatever chunk that is, once: nothing
 * more goes toward B, what B says still reaches A for 300 ms (the 200s on their way), then
 * both ends are closed. */
#define PX_PAIRS 16
static struct {
	int lfd, port;
	_Atomic int target;
	pthread_t th;
	int running;
	volatile int stop;
	_Atomic uint64_t cut_after;
	_Atomic int cuts;
	_Atomic uint64_t after_cut;    /* bytes from A on connections opened after the cut */
	struct { int a, b; uint64_t b2a; int late; uint64_t cut_ms; } p[PX_PAIRS]; /* a: B's, b: A */
} px;

static void px_close(int i)
{
	close(px.p[i].a);
	close(px.p[i].b);
	px.p[i].a = px.p[i].b = -1;
}

/* Writes all of <buf> to <fd>: 0 or -1. */
static int px_write(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *px_run(void *arg)
{
	(void)arg;
	static char buf[65536];
	for (int i = 0; i < PX_PAIRS; i++)
		px.p[i].a = px.p[i].b = -1;
	while (!px.stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		for (int i = 0; i < PX_PAIRS; i++)
			if (px.p[i].a >= 0 && px.p[i].cut_ms && now - px.p[i].cut_ms >= 300)
				px_close(i);
		struct pollfd fds[1 + 2 * PX_PAIRS];
		int map[1 + 2 * PX_PAIRS], nf = 0;
		fds[nf] = (struct pollfd){ .fd = px.lfd, .events = POLLIN };
		map[nf++] = -1;
		for (int i = 0; i < PX_PAIRS; i++) {
			if (px.p[i].a < 0)
				continue;
			/* B's side first: its 200s reach A before more goes toward B */
			fds[nf] = (struct pollfd){ .fd = px.p[i].a, .events = POLLIN };
			map[nf++] = 2 * i;
			if (px.p[i].cut_ms)
				continue; /* cut: nothing more from A */
			fds[nf] = (struct pollfd){ .fd = px.p[i].b, .events = POLLIN };
			map[nf++] = 2 * i + 1;
		}
		if (poll(fds, (nfds_t)nf, 100) <= 0)
			continue;
		for (int k = 0; k < nf; k++) {
			if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (map[k] < 0) {
				int a = accept(px.lfd, NULL, NULL), slot = -1;
				for (int i = 0; i < PX_PAIRS && slot < 0; i++)
					if (px.p[i].a < 0)
						slot = i;
				struct sockaddr_in sa = { .sin_family = AF_INET,
							  .sin_port = htons((uint16_t)px.target) };
				sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
				int bf = socket(AF_INET, SOCK_STREAM, 0);
				if (a < 0 || slot < 0 || bf < 0 ||
				    connect(bf, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
					if (a >= 0)
						close(a);
					if (bf >= 0)
						close(bf);
					continue;
				}
				px.p[slot].a = a;
				px.p[slot].b = bf;
				px.p[slot].b2a = 0;
				px.p[slot].cut_ms = 0;
				px.p[slot].late = px.cuts > 0;
				break; /* the fds changed */
			}
			int i = map[k] / 2, from_b = map[k] & 1;
			if (px.p[i].a < 0)
				continue;
			int src = from_b ? px.p[i].b : px.p[i].a, dst = from_b ? px.p[i].a : px.p[i].b;
			ssize_t n = read(src, buf, sizeof(buf));
			if (n <= 0) {
				px_close(i);
				continue;
			}
			size_t give = (size_t)n;
			int cut = 0;
			if (from_b && px.cut_after && !px.cuts &&
			    px.p[i].b2a + (uint64_t)n >= px.cut_after) {
				give = (size_t)(px.cut_after - px.p[i].b2a);
				cut = 1;
			}
			if (px_write(dst, buf, give) < 0) {
				px_close(i);
				continue;
			}
			if (from_b) {
				px.p[i].b2a += give;
				if (px.p[i].late)
					px.after_cut += give;
			}
			if (cut) {
				px.cuts++;
				px.p[i].cut_ms = now ? now : 1;
			}
		}
	}
	for (int i = 0; i < PX_PAIRS; i++)
		if (px.p[i].a >= 0)
			px_close(i);
	return NULL;
}

static void px_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	px.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(px.lfd >= 0);
	setsockopt(px.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(px.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(px.lfd, 16), 0);
	cr_assert_eq(getsockname(px.lfd, (struct sockaddr *)&sa, &sl), 0);
	px.port = ntohs(sa.sin_port);
	px.stop = 0;
	px.cuts = 0;
	px.after_cut = 0;
	cr_assert_eq(pthread_create(&px.th, NULL, px_run, NULL), 0);
	px.running = 1;
}

static void px_b_down(void)
{
	if (px.running) {
		px.stop = 1;
		pthread_join(px.th, NULL);
		close(px.lfd);
		px.running = 0;
	}
	b_down();
}

TestSuite(rcs_ft_resume, .fini = px_b_down, .timeout = 90);

/* A sends 4 MiB to B through the proxy, which cuts the connection after 1.5 MiB: B keeps
 * the bytes it has (file.partial), A says how far B took it (file.failed, resumable,
 * bytes_acked). The application resumes: A offers the same file with a=file-range from the
 * next byte, sends only the rest, B puts its kept bytes in front, checks the sha-1 of the
 * whole and has the file byte for byte. tshark decodes the resumed transfer cleanly. */
Test(rcs_ft_resume, a_broken_transfer_resumes_after_the_bytes_the_peer_took)
{
	px_start();
	char adv[80];
	snprintf(adv, sizeof(adv), "RCSGW_UA_MSRP_ADVERTISE=" HOST ":%d", px.port);
	a_and_b_up(adv);
	px.target = ufx.msrp;
	char id[64], path[200], data[65536];
	chat_a_to_b(id, sizeof(id));

	size_t n = 4u << 20;
	char *file = noise(n, 88172645u);
	px.cut_after = 3u << 19; /* 1.5 MiB */
	snprintf(path, sizeof(path), "/v1/sessions/%s/files?name=report.pdf", id);
	int st = 0;
	char *resp = NULL;
	cr_assert_eq(http_request_len(HOST, ufx.api, "POST", path, "Content-Type: application/pdf\r\n",
				      file, n, &st, NULL, &resp, 20000), 0);
	cr_assert_eq(st, 202, "%s", resp ? resp : "");
	json_t *r = json_loads(resp, 0, NULL);
	free(resp);
	char tid[64];
	snprintf(tid, sizeof(tid), "%s", ufx_jstr(r, "transfer_id"));
	json_decref(r);

	/* the cut: B keeps what it has, A knows what B took */
	cr_assert_eq(sse_next_event(&b.sse, "file.partial", NULL, data, sizeof(data), 10000), 0,
		     "B kept nothing (cuts %d)", px.cuts);
	json_t *part = json_loads(data, 0, NULL);
	json_int_t kept = json_integer_value(json_object_get(part, "received"));
	cr_expect_eq(json_integer_value(json_object_get(part, "size")), (json_int_t)n);
	cr_expect_str_eq(ufx_jstr(part, "transfer_id"), tid);
	json_decref(part);
	cr_expect_gt(kept, 1 << 20, "B has the 1.5 MiB but the chunk cut: %lld", (long long)kept);
	cr_expect_leq(kept, 3 << 19);
	json_t *ev = ufx_event("file.failed", id, 10000);
	cr_assert_str_eq(ufx_jstr(ev, "transfer_id"), tid);
	cr_expect(json_is_true(json_object_get(ev, "resumable")));
	json_int_t acked = json_integer_value(json_object_get(ev, "bytes_acked"));
	json_decref(ev);
	cr_expect_gt(acked, 0, "B's 200s came back before the cut");
	cr_expect_leq(acked, kept, "A knows no more than B has: %lld > %lld", (long long)acked,
		      (long long)kept);

	/* the resumption, captured */
	struct tshark_cap cap = TSHARK_CAP_INIT;
	char dec[256] = "", filter[160];
	int captured = tshark_available();
	if (captured) {
		snprintf(filter, sizeof(filter), "port %d or port %d or port %d or port %d", ufx.sip,
			 b.sip, px.port, ufx.msrp);
		captured = tshark_start(&cap, filter, ufx.logdir) == 0;
		snprintf(dec, sizeof(dec), "tcp.port==%d,msrp tcp.port==%d,msrp udp.port==%d,sip "
			 "udp.port==%d,sip", px.port, ufx.msrp, ufx.sip, b.sip);
	}
	snprintf(path, sizeof(path), "/v1/sessions/%s/files/%s/resume", id, tid);
	cr_assert_eq(ufx_api("POST", path, NULL, &r, NULL), 202);
	cr_expect_str_eq(ufx_jstr(r, "resumes"), tid);
	cr_expect_str_eq(ufx_jstr(r, "name"), "report.pdf");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(r, "range"), "start")),
		     acked + 1);
	char tid2[64];
	snprintf(tid2, sizeof(tid2), "%s", ufx_jstr(r, "transfer_id"));
	cr_expect_str_neq(tid2, tid, "a new a=file-transfer-id (RFC 5547 §8.1)");
	json_decref(r);

	cr_assert_eq(sse_next_event(&b.sse, "session.incoming", "\"resumed_bytes\"", data,
				    sizeof(data), 10000), 0, "B saw no resumed offer");
	json_t *inc = json_loads(data, 0, NULL);
	json_t *fo = json_object_get(inc, "file");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(fo, "range"), "start")),
		     acked + 1);
	cr_expect_eq(json_integer_value(json_object_get(fo, "resumed_bytes")), acked);
	json_decref(inc);
	cr_assert_eq(sse_next_event(&b.sse, "file.received", NULL, data, sizeof(data), 30000), 0,
		     "B got no file");
	json_t *fr = json_loads(data, 0, NULL);
	cr_expect_str_eq(ufx_jstr(fr, "hash"), "ok", "the sha-1 of the whole file");
	cr_expect_eq(json_integer_value(json_object_get(fr, "size")), (json_int_t)n);
	char url[96];
	snprintf(url, sizeof(url), "%s", ufx_jstr(fr, "url"));
	json_decref(fr);
	ev = ufx_event("file.sent", id, 30000);
	cr_expect_str_eq(ufx_jstr(ev, "transfer_id"), tid2);
	cr_expect_eq(json_integer_value(json_object_get(ev, "resumed_bytes")), acked);
	json_decref(ev);
	/* the rest, and its chunks' headers (some 3 %) */
	cr_expect_lt(px.after_cut, (n - (size_t)acked) * 105 / 100 + 4096,
		     "only the rest crossed again: %llu bytes of %zu after %lld",
		     (unsigned long long)px.after_cut, n, (long long)acked);
	cr_expect_geq(px.after_cut, n - (size_t)acked);

	resp = NULL;
	cr_assert_eq(http_request(HOST, b.api, "GET", url, NULL, NULL, &st, NULL, &resp, 20000), 0);
	cr_assert_eq(st, 200);
	cr_expect(resp && strlen(resp) == n && !memcmp(resp, file, n), "not the bytes sent");
	free(resp);

	/* done: nothing left to resume; unknown transfers are 404 */
	cr_expect_eq(ufx_api("POST", path, NULL, NULL, NULL), 404);
	snprintf(path, sizeof(path), "/v1/sessions/%s/files/nosuchtransfer/resume", id);
	cr_expect_eq(ufx_api("POST", path, NULL, NULL, NULL), 404);
	cr_expect_eq(ufx_metric_sum("rcsgw_rcs_files_resumed_total"), 1);
	cr_expect_geq(ufx_metric_sum("rcsgw_rcs_files_out_kept_total"), 1);

	if (captured) {
		capture_clean(&cap, dec);
		int c = tshark_count(&cap, dec, "sdp.media_attr contains \"file-range\"");
		cr_expect_geq(c, 2, "offer and answer say the range: %d", c);
		char flt[96];
		snprintf(flt, sizeof(flt), "msrp.byte.range contains \"%lld-\"", (long long)acked + 1);
		c = tshark_count(&cap, dec, flt);
		cr_expect_geq(c, 1, "the first SEND starts after the acked bytes: %d", c);
		/* (this tshark finds a chunk only where a TCP segment starts with it) */
		c = tshark_count(&cap, dec, "msrp.method == \"SEND\"");
		cr_expect_geq(c, 1, "the rest in chunks: %d", c);
	}
	free(file);
}
