/* test_faults.c — the fault campaign of issue 12 (tests/integration/FAULTS.md lists every
 * fault, its expected outcome and the test that proves it; faults proven elsewhere are only
 * named there). Here: peers gone in the middle of a chunk or of a transaction, on the relay,
 * on the user agent's MSRP leg and on its SIP side; the Diameter peer killed with a request
 * on it; the webhook receiver away and back. Each test ends with the daemon alive (a clean
 * exit at the end), its counters telling what happened, and every message it accepted
 * either delivered or reported failed (REPORT, event, counter). The real daemon through the
 * user agent's fixture (tests/lib/ua_fx.h), whose MSRP listener also runs the relay when
 * credentials are given. Run with --jobs 1. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/dm_ocs.h"
#include "tests/lib/dm_samples.h"
#include "tests/lib/http_srv.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/ua_fx.h"

#define HOST "127.0.0.1"
#define IO_MS 3000
#define USER "alice"
#define PASS "wonderland"
#define REALM "faults.test"
#define URI_B "msrp://127.0.0.1:40002/bbbb2;tcp"
#define URI_C "msrp://127.0.0.1:40003/cccc3;tcp"

static char htfile[64];
static int up_done;

static void down(void)
{
	if (up_done)
		ufx_down();
	up_done = 0;
	if (htfile[0])
		unlink(htfile);
	htfile[0] = '\0';
}

TestSuite(faults, .fini = down, .timeout = 40);


/* The fixture's daemon with <extra> settings (NULL-terminated, may be NULL). */
static void up(const char *const *extra)
{
	ufx_up_with(extra);
	up_done = 1;
}

/* The fixture's daemon with the relay on (credentials of USER in an htdigest file, the hash
 * by md5sum), one worker (the frames' fate is the same across workers: test_relay proves
 * the crossing), and <more> settings. */
static void up_relay(const char *more)
{
	static char e_creds[128];
	char cmd[256];
	snprintf(htfile, sizeof(htfile), "/tmp/rcsgw-faults-%d.htdigest", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "printf '%%s:%%s:%%s\\n' " USER " " REALM " $(printf '%%s' '" USER ":" REALM
		 ":" PASS "' | md5sum | cut -d' ' -f1) > %s", htfile);
	cr_assert_eq(system(cmd), 0, "cannot write %s", htfile);
	snprintf(e_creds, sizeof(e_creds), "RCSGW_RELAY_CREDENTIALS_FILE=%s", htfile);
	up((const char *[]){ e_creds, "RCSGW_RELAY_REALM=" REALM, "RCSGW_ENGINE_WORKERS=1",
			     more, NULL });
}

static void relay_connect(struct msrp_client *c)
{
	char hp[32];
	snprintf(hp, sizeof(hp), HOST ":%d", ufx.msrp);
	int rc = mc_connect(c, hp, IO_MS);
	cr_assert_eq(rc, 0, "connect %s: %s", hp, strerror(-rc));
}

/* <c> connected and AUTHed at the relay as <uri>: its Use-Path into <up>. */
static void relay_client(struct msrp_client *c, const char *uri, char *upath, size_t len)
{
	char ruri[64];
	snprintf(ruri, sizeof(ruri), "msrp://" HOST ":%d;tcp", ufx.msrp);
	relay_connect(c);
	struct mc_auth a = { ruri, uri, USER, PASS, 0 };
	struct mc_auth_result r;
	cr_assert_eq(mc_auth(c, &a, &r, IO_MS), 0);
	cr_assert_eq(r.status, 200, "AUTH: %d", r.status);
	snprintf(upath, len, "%s", r.use_path);
}

static void send_text(struct msrp_client *c, const char *tid, const char *to, const char *msgid,
		      const char *text)
{
	struct mc_send s = { .to_path = to, .from_path = URI_C, .message_id = msgid,
			     .content_type = "text/plain", .body = text, .body_len = strlen(text) };
	cr_assert_eq(mc_send_send(c, tid, &s), 0);
}

/* The next frame on <c> into <f>, asserted. */
static void next_frame(struct msrp_client *c, struct mc_frame *f, const char *what)
{
	int rc = mc_read_frame(c, f, IO_MS);
	cr_assert_eq(rc, 0, "%s: no frame (%s)", what, strerror(-rc));
}

/* C sends <msgid> to B through B's session; B gets it whole and answers 200. */
static void relay_one(struct msrp_client *cc, struct msrp_client *cb, const char *to,
		      const char *tid, const char *msgid, struct mc_frame *f)
{
	send_text(cc, tid, to, msgid, "hello");
	next_frame(cc, f, "the relay's 200");
	cr_assert(!f->is_request && f->status == 200, "%s: %d", msgid, f->status);
	next_frame(cb, f, "the message at B");
	cr_assert_str_eq(mc_header(f, "Message-ID"), msgid);
	cr_assert_eq(f->flag, '$');
	cr_assert(f->body_len == 5 && !memcmp(f->body, "hello", 5));
	cr_assert_eq(mc_send_response(cb, f, 200, "OK"), 0);
}

/* RFC 4975 §7.1 (and RFC 4976 §7.1 for relays): a chunk whose sender goes before its end
 * line cannot be completed; a relay that has begun forwarding it ends it with the '#' flag
 * ("aborted"), so that the receiver knows the chunk is incomplete and does not wait for the
 * rest. The relay goes on serving; the abort is counted. */
Test(faults, relay_sender_gone_mid_chunk)
{
	char upb[1024], to[2200], head[1400];
	struct msrp_client cb = { .fd = -1 }, cc = { .fd = -1 }, c2 = { .fd = -1 };
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);
	up_relay(NULL);
	relay_client(&cb, URI_B, upb, sizeof(upb));
	snprintf(to, sizeof(to), "%s " URI_B, upb);
	relay_connect(&cc);
	relay_one(&cc, &cb, to, "tfault01", "before", f);
	unsigned long fwd0 = ufx_metric_sum("rcsgw_relay_forwarded_total");

	int hn = snprintf(head, sizeof(head),
			  "MSRP tfault02 SEND\r\nTo-Path: %s\r\nFrom-Path: " URI_C "\r\n"
			  "Message-ID: half\r\nByte-Range: 1-20/20\r\nContent-Type: text/plain\r\n\r\n"
			  "0123456789", to);
	cr_assert_eq(mc_send_raw(&cc, head, (size_t)hn), 0);
	usleep(100 * 1000); /* the head and the first bytes are on their way to B */
	mc_close(&cc);
	next_frame(&cb, f, "the aborted chunk");
	cr_expect_str_eq(mc_header(f, "Message-ID"), "half");
	cr_expect_eq(f->flag, '#', "the chunk ends with '%c', not '#'", f->flag);
	cr_expect(f->body_len == 10 && !memcmp(f->body, "0123456789", 10),
		  "B got %zu bytes of it", f->body_len);
	cr_assert_eq(mc_send_response(&cb, f, 200, "OK"), 0);

	/* the relay serves on: a new sender reaches B */
	relay_connect(&c2);
	relay_one(&c2, &cb, to, "tfault03", "after", f);
	cr_expect_eq(ufx_metric_sum("rcsgw_relay_aborted_total"), 1, "the abort not counted");
	cr_expect_eq(ufx_metric_sum("rcsgw_relay_forwarded_total"), fwd0 + 2);
	cr_expect_eq(ufx_metric_sum("rcsgw_relay_reports_sent_total"), 0,
		     "the sender is gone: nobody to report to");
	mc_close(&c2);
	mc_close(&cb);
	free(f);
}

/* A receiver that goes with transactions open: the relay has answered each SEND 200 hop by
 * hop (RFC 4976 §7.1), so the sender learns of the failure by a REPORT for each message
 * (RFC 4975 §7.1.2: Failure-Report absent means yes; 403 here) — at once, not after the
 * transaction time-out (set long here) — and requests for the session after that get 481
 * (the session ended with its connection). A receiver that stays connected and silent gets
 * the 408 REPORT at the time-out instead (test_relay, failure_report_408_...). */
Test(faults, relay_receiver_gone_with_transactions_open)
{
	char upb[1024], to[2200];
	struct msrp_client cb = { .fd = -1 }, cc = { .fd = -1 };
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);
	up_relay("RCSGW_MSRP_TRANSACTION_TIMEOUT=20s");
	relay_client(&cb, URI_B, upb, sizeof(upb));
	snprintf(to, sizeof(to), "%s " URI_B, upb);
	relay_connect(&cc);
	static const char *const ids[] = { "open1", "open2", "open3" };
	for (int i = 0; i < 3; i++) {
		char tid[24];
		snprintf(tid, sizeof(tid), "topen%03d", i);
		send_text(&cc, tid, to, ids[i], "unanswered");
		next_frame(&cc, f, "the relay's 200");
		cr_assert(!f->is_request && f->status == 200);
		next_frame(&cb, f, "the SEND at B");
		cr_assert_str_eq(mc_header(f, "Message-ID"), ids[i]);
	}
	long long t0 = proc_now_ms();
	mc_close(&cb); /* none answered */
	int seen[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		next_frame(&cc, f, "a failure REPORT");
		cr_assert(f->is_request && !strcmp(f->method, "REPORT"), "%s", f->buf);
		const char *mid = mc_header(f, "Message-ID");
		const char *stl = mc_header(f, "Status");
		for (int k = 0; k < 3; k++)
			seen[k] += mid && !strcmp(mid, ids[k]);
		/* 403: the relay's code for a forwarding lost with its connection (MSRP has no
		 * 503, and RFC 4975/4976 name no code for it: FWD_FAILED in msrp_relay.c) */
		cr_expect(stl && !strncmp(stl, "000 403", 7), "Status: %s", stl ? stl : "none");
	}
	cr_expect_lt(proc_now_ms() - t0, 2500, "the REPORTs waited for the time-out");
	for (int k = 0; k < 3; k++)
		cr_expect_eq(seen[k], 1, "REPORTs for %s: %d", ids[k], seen[k]);
	cr_expect_eq(ufx_metric_sum("rcsgw_relay_reports_sent_total"), 3);
	cr_expect_eq(ufx_metric_sum("rcsgw_relay_next_hop_errors_total"), 3,
		     "the lost forwardings not counted");
	cr_expect_eq(ufx_metric_sum("rcsgw_relay_next_hop_timeouts_total"), 0);
	send_text(&cc, "tafter01", to, "late", "anyone?");
	next_frame(&cc, f, "the answer for a session gone");
	cr_expect(!f->is_request && f->status == 481, "%d", f->status);
	cr_expect_eq(ufx_metric_sum("rcsgw_relay_refused_481_total"), 1);
	cr_expect_eq(mc_read_frame(&cc, f, 300), -ETIMEDOUT, "more came: %s", f->buf);
	mc_close(&cc);
	free(f);
}

/* ---- the user agent's MSRP leg ----------------------------------------------------------- */

/* Events of <type> in the fixture's stream so far (the daemon's whole life). */
static int count_events(const char *type)
{
	char needle[64];
	int n = 0;
	snprintf(needle, sizeof(needle), "\"type\":\"%s\"", type);
	sse_drain(&ufx.sse);
	for (const char *p = ufx.sse.buf; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Waits up to <ms> for <n> events of <type> in the stream: how many there are. */
static int wait_events(const char *type, int n, int ms)
{
	int k = 0;
	for (long long end = proc_now_ms() + ms; (k = count_events(type)) < n && proc_now_ms() < end;)
		usleep(20 * 1000);
	return k;
}

/* POSTs a message of <len> bytes of <c> to session <id>: 202; its message_id into <mid>. */
static void post_message(const char *id, size_t len, char c, char *mid, size_t mlen)
{
	char path[128];
	char *js = malloc(len + 64);
	cr_assert(js);
	int n = snprintf(js, 64, "{\"content_type\":\"text/plain\",\"body\":\"");
	memset(js + n, c, len);
	snprintf(js + n + len, 64, "\"}");
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", id);
	json_t *r = NULL;
	cr_assert_eq(ufx_api("POST", path, js, &r, NULL), 202);
	snprintf(mid, mlen, "%s", ufx_jstr(r, "message_id"));
	json_decref(r);
	free(js);
}

/* The far end goes while the user agent sends a message in many chunks (the phone takes the
 * first chunk and drops the connection): the message was accepted (202) and not delivered,
 * so it is reported failed — message.report with outcome "failed" and message.failed —, the
 * session ends (msrp_connection_lost, BYE), and a message sent in a new session to the phone
 * back again is delivered whole. */
Test(faults, ua_far_end_gone_mid_message)
{
	enum { BIG = 64 * 1024 };
	ufx_need_sipp();
	up((const char *[]){ "RCSGW_MSRP_CHUNK_SIZE=2k", NULL });
	struct msrp_client mc;
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);
	json_t *sj = ufx_session_up("uas_msrp.xml", NULL, NULL, NULL, &mc, f);
	char id[64], mid[64];
	snprintf(id, sizeof(id), "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	unsigned long failed0 = ufx_metric_sum("rcsgw_ua_reports_total");

	post_message(id, BIG, 'x', mid, sizeof(mid));
	next_frame(&mc, f, "the first chunk");
	cr_assert_str_eq(mc_header(f, "Message-ID"), mid);
	cr_assert_eq(f->flag, '+', "not the first of many chunks: %c", f->flag);
	mc_close(&mc); /* unanswered, the rest never taken */

	json_t *ev = ufx_event("message.failed", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "message_id"), mid);
	json_decref(ev);
	ev = ufx_event("session.ended", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "msrp_connection_lost");
	json_decref(ev);
	ufx_sipp_done(0); /* the phone got its BYE */
	cr_expect_eq(ufx_metric_sum("rcsgw_ua_reports_total"), failed0 + 1,
		     "one failure, counted once: %lu", ufx_metric_sum("rcsgw_ua_reports_total"));
	cr_expect_eq(count_events("message.failed"), 1, "the failure told more than once");

	/* the phone back: a new session, the same message delivered whole */
	sj = ufx_session_up("uas_msrp.xml", NULL, NULL, NULL, &mc, f);
	snprintf(id, sizeof(id), "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	post_message(id, BIG, 'y', mid, sizeof(mid));
	size_t got = 0;
	while (got < BIG) {
		ufx_read_send(&mc, f);
		cr_assert_str_eq(mc_header(f, "Message-ID"), mid);
		got += f->body_len;
		if (f->flag == '$')
			break;
	}
	cr_expect_eq(got, BIG, "delivered %zu of %d bytes", got, BIG);
	cr_expect_eq(mc_read_frame(&mc, f, 200), -ETIMEDOUT, "more came");
	ufx_end_session(id);
	ufx_sipp_done(0);
	mc_close(&mc);
	free(f);
}

/* The phone goes in the middle of a chunked message to us: the first chunk was taken (200),
 * the second breaks off. No message.received for the partial body (RFC 4975 §7.3.1: a
 * message is whole only with its last chunk); the session ends; the counters have no
 * received message. */
Test(faults, ua_peer_gone_mid_incoming_message)
{
	ufx_need_sipp();
	up(NULL);
	struct msrp_client mc;
	struct mc_frame *f = malloc(sizeof(*f));
	cr_assert(f);
	json_t *sj = ufx_session_up("uas_msrp.xml", NULL, NULL, NULL, &mc, f);
	char id[64], to[512], fp[128], raw[1024];
	snprintf(id, sizeof(id), "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	snprintf(to, sizeof(to), "%s", mc_header(f, "From-Path"));
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/phone1sid;tcp", ufx.ml_port);
	unsigned long rcv0 = ufx_metric_sum("rcsgw_ua_messages_received_total");

	struct mc_send one = { .to_path = to, .from_path = fp, .message_id = "cut-1",
			       .byte_range = "1-10/30", .content_type = "text/plain",
			       .body = "0123456789", .body_len = 10, .flag = '+' };
	cr_assert_eq(mc_send_send(&mc, "tcut0001", &one), 0);
	next_frame(&mc, f, "the first chunk's 200");
	cr_assert(!f->is_request && f->status == 200, "%d", f->status);
	int n = snprintf(raw, sizeof(raw),
			 "MSRP tcut0002 SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: cut-1\r\n"
			 "Byte-Range: 11-30/30\r\nContent-Type: text/plain\r\n\r\nabcde", to, fp);
	cr_assert_eq(mc_send_raw(&mc, raw, (size_t)n), 0);
	usleep(100 * 1000);
	mc_close(&mc);

	json_t *ev = ufx_event("session.ended", id, 5000);
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "msrp_connection_lost");
	json_decref(ev);
	char data[4096];
	cr_expect_neq(sse_next_event(&ufx.sse, "message.received", NULL, data, sizeof(data), 300),
		      0, "a partial message was passed on: %s", data);
	cr_expect_eq(ufx_metric_sum("rcsgw_ua_messages_received_total"), rcv0);
	cr_expect_eq(ufx_metric_sum("rcsgw_ua_messages_incomplete_total"), 1,
		     "the dropped partial message not counted");
	ufx_sipp_done(0);
	free(f);
}

/* Messages accepted (202) while the session is still being set up wait for it; when the set-up
 * fails (the phone never answers: CANCEL, 408) each of them is reported failed, not dropped
 * with the session. */
Test(faults, ua_messages_waiting_for_a_failed_setup_are_reported)
{
	ufx_need_sipp();
	up((const char *[]){ "RCSGW_UA_INVITE_TIMEOUT=1s", NULL });
	const char *to = ufx_start_uas("uas_noanswer.xml", NULL);
	json_t *sj = ufx_create(to, NULL);
	char id[64], mid[2][64];
	snprintf(id, sizeof(id), "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	for (int i = 0; i < 2; i++)
		post_message(id, 10, 'q', mid[i], sizeof(mid[i]));
	json_t *ev = ufx_event("session.failed", id, 5000);
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 408);
	json_decref(ev);
	cr_expect_eq(wait_events("message.failed", 2, 2000), 2, "the accepted messages not told");
	const char *a = strstr(ufx.sse.buf, mid[0]), *b = strstr(ufx.sse.buf, mid[1]);
	cr_expect(a && b && a < b, "not told in the order accepted");
	cr_expect_eq(ufx_metric_sum("rcsgw_ua_reports_total"), 2);
	ufx_sipp_done(0);
}

/* ---- the webhook receiver away and back ------------------------------------------------- */

/* A session to a SIP port where nobody listens over TCP: it fails at once (503), an event
 * (session.failed) to publish. Its id into <id>. */
static void failing_session(int dead_port, char *id, size_t len)
{
	char to[96];
	snprintf(to, sizeof(to), "sip:nobody@" HOST ":%d;transport=tcp", dead_port);
	json_t *sj = ufx_create(to, NULL);
	snprintf(id, len, "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	json_decref(ufx_event("session.failed", id, 5000));
}

/* The webhook receiver is down (connection refused) while 20 events are published, then
 * comes back on its port. The oldest event is retried with back-off (counted) while the
 * others wait behind it, up to api.event_queue (16 here): the 4 beyond are dropped and
 * counted. Once the receiver is there each of the 16 kept arrives once, in the order
 * published; the group "webhooks" is degraded meanwhile and ready again after. */
Test(faults, webhook_receiver_down_then_back)
{
	enum { N = 6, MORE = 14, QUEUE = 16 };
	static struct http_srv hs;
	char url[96], id[N][64];
	int port = free_tcp_port(), dead = free_tcp_port();
	cr_assert(port > 0 && dead > 0);
	snprintf(url, sizeof(url), "RCSGW_API_WEBHOOKS=http://" HOST ":%d/hook", port);
	up((const char *[]){ url, "RCSGW_API_WEBHOOK_TIMEOUT=500ms", "RCSGW_API_EVENT_QUEUE=16",
			     NULL });
	for (int i = 0; i < N; i++)
		failing_session(dead, id[i], sizeof(id[i]));
	json_t *st = NULL;
	cr_assert_eq(ufx_api("GET", "/v1/status/webhooks", NULL, &st, NULL), 200);
	cr_expect_str_eq(ufx_jstr(st, "status"), "degraded", "%s", ufx_jstr(st, "details"));
	json_decref(st);
	/* more than the queue holds (their events dropped are neither streamed: not waited) */
	for (int i = 0; i < MORE; i++) {
		char to[96];
		snprintf(to, sizeof(to), "sip:nobody@" HOST ":%d;transport=tcp", dead);
		json_decref(ufx_create(to, NULL));
	}
	unsigned long pub = 0, drop = 0;
	for (long long end = proc_now_ms() + 5000; proc_now_ms() < end; usleep(50 * 1000)) {
		pub = ufx_metric_sum("rcsgw_events_published_total");
		drop = ufx_metric_sum("rcsgw_events_dropped_total");
		if (pub + drop >= N + MORE)
			break;
	}
	cr_expect_eq(pub, QUEUE, "events kept for the receiver");
	cr_expect_eq(drop, N + MORE - QUEUE, "events beyond api.event_queue not counted dropped");
	cr_expect_eq(ufx_metric_sum("rcsgw_webhook_delivered_total"), 0);

	cr_assert_eq(http_srv_start_at(&hs, port), 0, "the receiver did not come back");
	int got = 0;
	for (long long end = proc_now_ms() + 10000;
	     (got = atomic_load(&hs.nhook)) < QUEUE && proc_now_ms() < end;)
		usleep(50 * 1000);
	usleep(300 * 1000); /* a late duplicate would come now */
	got = atomic_load(&hs.nhook);
	cr_expect_eq(got, QUEUE, "the receiver got %d events, %d kept", got, QUEUE);
	long long prev = 0;
	for (int i = 0; i < got && i < HTTP_SRV_HOOK_MAX; i++) {
		if (i < N)
			cr_expect(strstr(hs.hook[i], id[i]) != NULL, "event %d is not session %s's: "
				  "%s", i, id[i], hs.hook[i]);
		json_t *j = json_loads(hs.hook[i], 0, NULL);
		long long evid = atoll(ufx_jstr(j, "id"));
		json_decref(j);
		cr_expect_gt(evid, prev, "event %d came out of order (or twice): %s", i, hs.hook[i]);
		prev = evid;
	}
	unsigned long retries = ufx_metric_sum("rcsgw_webhook_retries_total");
	cr_expect_geq(retries, 1, "no retry counted");
	cr_expect_eq(ufx_metric_sum("rcsgw_webhook_delivered_total"), QUEUE);
	cr_expect_eq(ufx_metric_sum("rcsgw_webhook_failed_total"), 0);
	cr_expect_eq(ufx_metric_sum("rcsgw_events_held"), 0);
	cr_assert_eq(ufx_api("GET", "/v1/status/webhooks", NULL, &st, NULL), 200);
	cr_expect_str_eq(ufx_jstr(st, "status"), "ready", "%s", ufx_jstr(st, "details"));
	json_decref(st);
	/* rcsgw stops first: its drain delivers the status.changed it publishes at SIGTERM to
	 * the receiver still there, instead of retrying a stopped one until it gives up */
	down();
	http_srv_stop(&hs);
	http_srv_hooks_free(&hs);
}

/* ---- the SIP far end gone mid-transaction ----------------------------------------------- */

/* A socket of the test on 127.0.0.1 (<type> SOCK_DGRAM or SOCK_STREAM, listening), its port
 * into <port>. */
static int sock_on(int type, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	cr_assert(type != SOCK_STREAM || listen(fd, 4) == 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Accepts a connection on <lfd>, reads the head of the request that comes on it (up to its
 * blank line), and closes it: a far end gone in the middle of the transaction. The request's
 * method into <method>. */
static void take_and_drop(int lfd, char *method, size_t len)
{
	struct pollfd p = { lfd, POLLIN, 0 };
	cr_assert_eq(poll(&p, 1, 5000), 1, "rcsgw did not connect");
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(fd >= 0);
	char buf[8192];
	size_t n = 0;
	struct pollfd q = { fd, POLLIN, 0 };
	while (n < sizeof(buf) - 1 && poll(&q, 1, 3000) == 1) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	buf[n] = '\0';
	snprintf(method, len, "%.*s", (int)strcspn(buf, " "), buf);
	struct linger l = { 1, 0 }; /* RST: gone, not a polite close */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* The SIP far end vanishes in the middle of a transaction, for a session (INVITE) and for a
 * standalone message (MESSAGE): over UDP it never answers — the client transaction's
 * retransmissions (T1 50 ms here) then Timer B/F (64*T1) end it: 408 —, over TCP it takes the
 * request and drops the connection — a transport error, 503 at once (RFC 3261 §8.1.3.1).
 * Each outcome is an event with its code, and the counters have the failures. */
Test(faults, sip_far_end_silent_or_gone_mid_transaction)
{
	char to[128], body[256], method[16];
	up((const char *[]){ "RCSGW_SIP_T1=50ms", "RCSGW_UA_INVITE_TIMEOUT=20s", NULL });
	int uport, tport;
	int ufd = sock_on(SOCK_DGRAM, &uport), lfd = sock_on(SOCK_STREAM, &tport);
	unsigned long inv0 = ufx_metric_where("rcsgw_sip_requests_total",
					      "direction=\"out\",method=\"INVITE\"");

	/* UDP: nobody answers */
	snprintf(to, sizeof(to), "sip:silent@" HOST ":%d", uport);
	json_t *sj = ufx_create(to, NULL);
	char sid_udp[64], sid_tcp[64];
	snprintf(sid_udp, sizeof(sid_udp), "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	json_t *r = NULL;
	snprintf(body, sizeof(body), "{\"from\":\"sip:bot@" HOST "\",\"to\":\"%s\",\"mode\":"
		 "\"pager\",\"content_type\":\"text/plain\",\"body\":\"anyone?\"}", to);
	cr_assert_eq(ufx_api("POST", "/v1/messages", body, &r, NULL), 202);
	char mid_udp[64], mid_tcp[64];
	snprintf(mid_udp, sizeof(mid_udp), "%s", ufx_jstr(r, "message_id"));
	json_decref(r);

	/* TCP: taken, then the connection drops */
	snprintf(to, sizeof(to), "sip:gone@" HOST ":%d;transport=tcp", tport);
	long long t0 = proc_now_ms();
	sj = ufx_create(to, NULL);
	snprintf(sid_tcp, sizeof(sid_tcp), "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	take_and_drop(lfd, method, sizeof(method));
	cr_expect_str_eq(method, "INVITE");
	json_t *ev = ufx_event("session.failed", sid_tcp, 3000);
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 503, "INVITE over TCP");
	cr_expect_str_eq(ufx_jstr(ev, "by"), "local");
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "transport_error");
	json_decref(ev);
	snprintf(body, sizeof(body), "{\"from\":\"sip:bot@" HOST "\",\"to\":\"%s\",\"mode\":"
		 "\"pager\",\"content_type\":\"text/plain\",\"body\":\"still there?\"}", to);
	cr_assert_eq(ufx_api("POST", "/v1/messages", body, &r, NULL), 202);
	snprintf(mid_tcp, sizeof(mid_tcp), "%s", ufx_jstr(r, "message_id"));
	json_decref(r);
	take_and_drop(lfd, method, sizeof(method));
	cr_expect_str_eq(method, "MESSAGE");
	cr_expect_lt(proc_now_ms() - t0, 2500, "TCP failures waited for a timer");

	/* TCP: nobody listens, the connection is refused before it is up: the same, at once */
	int cport;
	close(sock_on(SOCK_STREAM, &cport));
	snprintf(to, sizeof(to), "sip:nobody@" HOST ":%d;transport=tcp", cport);
	t0 = proc_now_ms();
	sj = ufx_create(to, NULL);
	char sid_ref[64];
	snprintf(sid_ref, sizeof(sid_ref), "%s", ufx_jstr(sj, "id"));
	json_decref(sj);
	ev = ufx_event("session.failed", sid_ref, 3000);
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 503, "refused");
	cr_expect_str_eq(ufx_jstr(ev, "reason"), "transport_error");
	json_decref(ev);
	cr_expect_lt(proc_now_ms() - t0, 1500, "a refused connection waited for a timer");

	/* then the UDP ones time out: 64*T1 = 3.2 s after their first send */
	cr_expect_eq(wait_events("message.failed", 2, 6000), 2, "the MESSAGEs not both failed");
	ev = ufx_event("session.failed", sid_udp, 3000);
	cr_expect_eq(json_integer_value(json_object_get(ev, "sip_code")), 408, "INVITE over UDP");
	json_decref(ev);
	char *a = strstr(ufx.sse.buf, mid_udp), *b = strstr(ufx.sse.buf, mid_tcp);
	cr_assert(a && b, "no event names the messages");
	cr_expect(strstr(a, "\"sip_code\":408") && strstr(b, "\"sip_code\":503"),
		  "codes: %.300s / %.300s", a, b);
	/* the retransmissions went out and came (Timer A doubling from 50 ms) */
	char dg[2048];
	int got = 0;
	while (recv(ufd, dg, sizeof(dg), MSG_DONTWAIT) > 0)
		got++;
	cr_expect_geq(got, 10, "INVITE and MESSAGE sent %d times in all", got);
	cr_expect_geq(ufx_metric_where("rcsgw_sip_requests_total",
				       "direction=\"out\",method=\"INVITE\"") - inv0, 6);
	cr_expect_eq(ufx_metric_sum("rcsgw_ua_sessions_failed_total"), 3);
	cr_expect_eq(ufx_metric_sum("rcsgw_rcs_standalone_failed_total"), 2);
	close(ufd);
	close(lfd);
}

/* ---- the Diameter peer gone and back ------------------------------------------------------ */

struct post {
	pthread_t t;
	int api, status;
	char *body;                    /* the answer */
	long long ms;                  /* how long it took */
};

static void *post_ccr(void *arg)
{
	struct post *p = arg;
	long long t0 = proc_now_ms();
	if (http_request(HOST, p->api, "POST", "/v1/diameter/requests",
			 "Content-Type: application/json\r\n", DM_SAMPLE_CCR_API_JSON, &p->status,
			 NULL, &p->body, 15000) < 0)
		p->status = -1;
	p->ms = proc_now_ms() - t0;
	return NULL;
}

/* An API answer <st>/<body> that is an error in JSON with a message. */
static void expect_json_error(int st, const char *body, const char *what)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	cr_expect(json_is_string(json_object_get(json_object_get(j, "error"), "message")),
		  "%s: %d without a JSON error: %s", what, st, body ? body : "(none)");
	json_decref(j);
}

/* Waits up to <ms> for the group diameter to say <want>. */
static int diameter_is(const char *want, int ms)
{
	for (long long end = proc_now_ms() + ms;; usleep(50 * 1000)) {
		json_t *st = NULL;
		cr_assert_eq(ufx_api("GET", "/v1/status/diameter", NULL, &st, NULL), 200);
		int is = !strcmp(ufx_jstr(st, "status"), want);
		json_decref(st);
		if (is)
			return 1;
		if (proc_now_ms() > end)
			return 0;
	}
}

/* A CCR posted in a thread of its own, the peer <o> holding it unanswered. */
static void ccr_pending(struct post *p, struct dm_ocs *o)
{
	int before = o->ccrs;
	o->ro_rc = 0;
	p->api = ufx.api;
	cr_assert_eq(pthread_create(&p->t, NULL, post_ccr, p), 0);
	for (int i = 0; i < 100 && o->ccrs == before; i++)
		usleep(20 * 1000);
	cr_assert_eq(o->ccrs, before + 1, "the request did not reach the peer");
}

/* The one Diameter peer (another rcsgw as an OCS) is killed with -9 while a request of the
 * API waits on it. The request is kept (dm_node parks it until its deadline: its answer may
 * still come from a peer back in time); meanwhile the group diameter is not_ready, /readyz
 * says so, and new requests are refused 503 with a JSON error. The peer back on its port,
 * rcsgw connects again by itself (diameter.reconnect) and the kept request goes to it again
 * and is answered. Killed again and not back: the request waiting then gets 504 with a JSON
 * error at its deadline (diameter.request_timeout). The counters have the connections, the
 * resend and the time-out. */
Test(faults, diameter_peer_killed_with_a_request_on_it_then_back)
{
	static struct dm_ocs o = DM_OCS_INIT;
	char peers[128];
	cr_assert_eq(dm_ocs_start(&o), 0, "the OCS did not start");
	up((const char *[]){ dm_ocs_peer_env(&o, peers, sizeof(peers)),
			     "RCSGW_DIAMETER_ORIGIN_HOST=gw.test.local",
			     "RCSGW_DIAMETER_ORIGIN_REALM=test.local",
			     "RCSGW_DIAMETER_RECONNECT=300ms", "RCSGW_DIAMETER_WATCHDOG=1s",
			     "RCSGW_DIAMETER_REQUEST_TIMEOUT=2500ms", NULL });
	cr_assert(dm_ocs_wait_open(ufx.api, 5000), "the peer never opened");
	int api = o.api, dport = o.dport;

	struct post p = { 0 };
	ccr_pending(&p, &o);
	dm_ocs_stop(&o); /* SIGKILL */
	cr_expect(diameter_is("not_ready", 3000), "diameter still ready with its peer dead");
	cr_expect_eq(ufx_api("GET", "/readyz", NULL, NULL, NULL), 503);
	struct post q = { .api = ufx.api };
	post_ccr(&q);
	cr_expect_eq(q.status, 503, "a request with no peer: %d", q.status);
	cr_expect_lt(q.ms, 1000, "refused late: %lld ms", q.ms);
	expect_json_error(q.status, q.body, "a request with no peer");
	free(q.body);

	/* back on its port: connected again, the kept request answered by it */
	cr_assert_eq(dm_ocs_start_at(&o, api, dport), 0, "the OCS did not come back");
	pthread_join(p.t, NULL);
	cr_expect_eq(p.status, 200, "the kept request: %d %s", p.status, p.body ? p.body : "");
	json_t *j = p.body ? json_loads(p.body, 0, NULL) : NULL;
	cr_expect_eq(json_integer_value(json_object_get(j, "result_code")), 2001);
	json_decref(j);
	free(p.body);
	cr_expect(diameter_is("ready", 3000));
	cr_expect_eq(ufx_api("GET", "/readyz", NULL, NULL, NULL), 200);
	cr_expect_eq(ufx_metric_sum("rcsgw_diameter_failovers_total"), 1, "the resend not counted");

	/* gone again, for good: the request waiting gets 504 at its deadline */
	ccr_pending(&p, &o);
	dm_ocs_stop(&o);
	pthread_join(p.t, NULL);
	cr_expect_eq(p.status, 504, "the request left waiting: %d", p.status);
	cr_expect(p.ms >= 2000 && p.ms < 4500, "answered after %lld ms, not at its deadline", p.ms);
	expect_json_error(p.status, p.body, "the request left waiting");
	free(p.body);
	cr_expect_geq(ufx_metric_sum("rcsgw_diameter_connects_total"), 2);
	cr_expect_eq(ufx_metric_sum("rcsgw_diameter_peers_open"), 0);
	cr_expect_eq(ufx_metric_sum("rcsgw_diameter_timeouts_total"), 1, "the 504 not counted");
	cr_expect_eq(ufx_metric_where("rcsgw_diameter_requests_total",
				      "direction=\"out\",command=\"Credit-Control\""), 3,
		     "the CCRs sent: two, one of them twice");
}
