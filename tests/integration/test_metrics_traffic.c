/* test_metrics_traffic.c — the labeled families of /metrics against traffic of known shape
 * (issue 11): the real daemon with the user agent's fixture (tests/lib/ua_fx.h), a sipp
 * phone, and this test as the phone's MSRP endpoint. Each test drives a few messages of
 * each kind and checks that the counters by method and status, and the latency
 * histograms, moved by those amounts (a fresh daemon per test: they start at 0).
 * Retransmissions (SIP over UDP) may add to a message count, never to a transaction's
 * latency count: where sipp could retransmit, the message counts are bounded, not exact.
 * The suite metrics_limits drives malformed MSRP and SIP and a limit of the user agent's
 * against rcsgw_parse_errors_total and rcsgw_limit_hits_total. Run with --jobs 1 (the
 * fixture's ports). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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
	cr_expect_eq(m("rcsgw_sessions", "kind=\"ua\",state=\"established\""), 1);
	cr_expect_eq(m("rcsgw_sessions", "kind=\"ua\""), 1);

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
	ufx_end_session(id);
	ufx_sipp_done(0);
	cr_expect_eq(m("rcsgw_sessions", "kind=\"ua\",state=\"ended\""), 1, "lingering");
	cr_expect_eq(m("rcsgw_sessions", "kind=\"ua\",state=\"established\""), 0);

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

/* ---- parse errors and limits ------------------------------------------------------------------ */

static void limits_up(void)
{
	static const char *const env[] = { "RCSGW_UA_MAX_SESSIONS=1", NULL };
	ufx_up_with(env);
}

TestSuite(metrics_limits, .init = limits_up, .fini = ufx_down, .timeout = 60);

/* Writes <len> bytes of <p> to a new TCP connection to <port> and waits for its end. */
static void tcp_junk(int port, const char *p, size_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, HOST, &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char b[512];
	while (recv(fd, b, sizeof(b), 0) > 0)
		;
	close(fd);
}

Test(metrics_limits, parse_errors_by_reason_and_limit_hits)
{
	const char *pe = "rcsgw_parse_errors_total", *lh = "rcsgw_limit_hits_total";
	/* MSRP: a start line that is none, and a header line over msrp.max_line (8k) */
	const char junk[] = "HTTP/1.1 200 OK\r\n\r\n";
	tcp_junk(ufx.msrp, junk, sizeof(junk) - 1);
	size_t n = 9000;
	char *big = malloc(n + 64);
	cr_assert(big);
	int h = snprintf(big, 64, "MSRP abcd1234 SEND\r\nTo-Path: ");
	memset(big + h, 'a', n);
	memcpy(big + h + n, "\r\n", 2);
	tcp_junk(ufx.msrp, big, (size_t)h + n + 2);
	free(big);
	/* SIP: a datagram that does not parse */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ufx.sip) };
	inet_pton(AF_INET, HOST, &a.sin_addr);
	cr_assert_eq(sendto(u, "HELLO\r\n\r\n", 9, 0, (struct sockaddr *)&a, sizeof(a)), 9);
	close(u);
	/* ua.max_sessions = 1 per worker, 2 workers: of three sessions one at least is 503 */
	int refused = 0;
	for (int i = 0; i < 3; i++) {
		json_t *j = NULL;
		int st = ufx_api("POST", "/v1/sessions",
				 "{\"from\":\"sip:bot@" HOST "\",\"to\":\"sip:nobody@" HOST ":9\"}", &j,
				 NULL);
		cr_assert(st == 201 || st == 503, "POST /v1/sessions: %d", st);
		refused += st == 503;
		json_decref(j);
	}
	cr_assert_geq(refused, 1);

	unsigned long sip_err = 0;
	for (int i = 0; i < 50 && !(sip_err = m(pe, "protocol=\"sip\"")); i++)
		usleep(20000); /* the datagram may still be on its way */
	cr_expect_eq(m(pe, "protocol=\"msrp\",reason=\"syntax\""), 1);
	cr_expect_eq(m(pe, "protocol=\"msrp\",reason=\"line_too_long\""), 1);
	cr_expect_eq(m(pe, "protocol=\"msrp\""), 2);
	cr_expect_eq(sip_err, 1);
	cr_expect_eq(m(pe, "protocol=\"diameter\""), 0);
	cr_expect_eq(m(lh, "limit=\"msrp.max_line\""), 1);
	cr_expect_eq(m(lh, "limit=\"ua.max_sessions\""), (unsigned long)refused);
	cr_expect_eq(m(lh, "limit=\"msrp.max_chunk\""), 0);
}
