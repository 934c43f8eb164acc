/* test_gateway.c — the SIP MESSAGE ⇄ MSRP gateway end to end: the real daemon with
 * gateway.enabled, sipp as the page-mode client (uac_message.xml) and the page-mode user
 * (uas_message.xml), sipp as the RCS phone's signalling (uas_msrp.xml ...) with this test as
 * its MSRP endpoint. Run with --jobs 1. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/dm_ocs.h"
#include "tests/lib/dnsmasq.h"
#include "tests/lib/msrp_client.h"
#include "rcs/rcs_cpim.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/redis_srv.h"
#include "tests/lib/sipp.h"
#include "tests/lib/sse.h"
#include "tests/lib/tshark.h"

#define HOST "127.0.0.1"

static struct {
	pid_t pid;
	int api, sip, msrp, phone, page;
	int ml_fd, ml_port;
	struct sse_cli sse;
	char dir_phone[256], dir_page[256], dir_client[256];
	pid_t sipp_phone, sipp_page;
} g;

static void start(const char *const *extra)
{
	char a[64], m[64], s[96];
	const char *env[20];
	int n = 0;
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
	g.api = free_tcp_port();
	g.msrp = free_tcp_port();
	g.sip = sipp_free_port();
	g.phone = sipp_free_port();
	g.page = sipp_free_port();
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=" HOST ":%d", g.api);
	snprintf(m, sizeof(m), "RCSGW_MSRP_LISTEN=" HOST ":%d", g.msrp);
	snprintf(s, sizeof(s), "RCSGW_SIP_LISTEN=udp:" HOST ":%d,tcp:" HOST ":%d", g.sip, g.sip);
	env[n++] = a;
	env[n++] = m;
	env[n++] = s;
	env[n++] = "RCSGW_ENGINE_WORKERS=2";
	env[n++] = "RCSGW_GATEWAY_ENABLED=true";
	env[n++] = "RCSGW_LOG_LEVEL=warn";
	for (int i = 0; extra && extra[i] && n < 19; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	g.pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(g.pid > 0);
	cr_assert_eq(wait_port(HOST, g.api, 5000), 0);
	cr_assert_eq(sse_open(&g.sse, HOST, g.api, NULL), 0);
	cr_assert(sse_read_until(&g.sse, "retry:", 3000));
	cr_assert_eq(sipp_logdir_new(g.dir_phone, sizeof(g.dir_phone)), 0);
	cr_assert_eq(sipp_logdir_new(g.dir_page, sizeof(g.dir_page)), 0);
	cr_assert_eq(sipp_logdir_new(g.dir_client, sizeof(g.dir_client)), 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	g.ml_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(g.ml_fd >= 0);
	cr_assert_eq(bind(g.ml_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(g.ml_fd, 8), 0);
	cr_assert_eq(getsockname(g.ml_fd, (struct sockaddr *)&sa, &sl), 0);
	g.ml_port = ntohs(sa.sin_port);
}

static struct redis_srv R = { .pid = -1 };
static pid_t node_b = -1;

static void ocs_stop(void);

static void stop(void)
{
	ocs_stop();
	if (node_b > 0)
		rcsgw_stop(node_b, SIGKILL, 2000);
	node_b = -1;
	redis_srv_stop(&R);
	sipp_stop(g.sipp_phone, 2000);
	sipp_stop(g.sipp_page, 2000);
	g.sipp_phone = g.sipp_page = 0;
	sse_close(&g.sse);
	if (g.ml_fd > 0)
		close(g.ml_fd);
	int rc = rcsgw_stop(g.pid, SIGINT, 5000);
	sipp_logdir_remove(g.dir_phone);
	sipp_logdir_remove(g.dir_page);
	sipp_logdir_remove(g.dir_client);
	cr_expect_eq(rc, 0, "rcsgw exited with %d", rc);
}

TestSuite(gateway, .fini = stop, .timeout = 60);

/* The RCS phone: sipp answering the INVITE with its MSRP endpoint at the test. */
static void phone(const char *scenario, const char *const *more)
{
	char mp[16];
	const char *keys[16] = { "msrp_port", mp, "msrp_sid", "rcsphone1" };
	int n = 4;
	snprintf(mp, sizeof(mp), "%d", g.ml_port);
	for (int i = 0; more && more[i] && n < 14; i++)
		keys[n++] = more[i];
	keys[n] = NULL;
	g.sipp_phone = sipp_start(scenario, NULL, g.phone, keys, g.dir_phone, NULL);
	cr_assert(g.sipp_phone > 0, "sipp phone: %d", g.sipp_phone);
}

/* The page-mode client sends one MESSAGE through rcsgw to the phone; returns sipp's status. */
static int client_message(const char *body_or_size, int size, const char *expect)
{
	char remote[64], to_host[64], from_host[64], sz[16];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", g.phone);
	snprintf(from_host, sizeof(from_host), HOST ":%d", g.page);
	snprintf(sz, sizeof(sz), "%d", size);
	const char *keys[] = { "-s", "rcsphone", "$to_host", to_host, "$from_host", from_host,
			       "$from_user", "legacy", size ? "$size" : "$body",
			       size ? sz : body_or_size, "$expect_code", expect, NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, g.dir_client, NULL);
	cr_assert(p > 0, "sipp client: %d", p);
	int rc = sipp_wait(p, 10000);
	if (rc)
		sipp_log_report(g.dir_client, "page-mode client");
	return rc;
}

static void accept_msrp(struct msrp_client *c, struct mc_frame *f)
{
	struct pollfd p = { g.ml_fd, POLLIN, 0 };
	memset(c, 0, sizeof(*c));
	cr_assert_eq(poll(&p, 1, 5000), 1, "rcsgw did not connect to the phone's MSRP endpoint");
	c->fd = accept(g.ml_fd, NULL, NULL);
	cr_assert(c->fd >= 0);
	cr_assert_eq(mc_read_frame(c, f, 5000), 0);
	cr_assert(f->is_request && !strcmp(f->method, "SEND") && !f->body_len, "the binding SEND");
	cr_assert_eq(mc_send_response(c, f, 200, "OK"), 0);
}

static void read_send(struct msrp_client *c, struct mc_frame *f)
{
	cr_assert_eq(mc_read_frame(c, f, 5000), 0, "no SEND from rcsgw");
	cr_assert(f->is_request && !strcmp(f->method, "SEND"), "%s", f->buf);
	cr_assert_eq(mc_send_response(c, f, 200, "OK"), 0);
}

Test(gateway, messages_both_ways_and_the_session_listed_and_ended)
{
	start(NULL);
	phone("uas_msrp.xml", NULL);
	const char *pkeys[] = { "$count", "1", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	/* page -> RCS: the MESSAGE is 202'd and becomes a SEND, byte-exact */
	cr_assert_eq(client_message("hello from a legacy phone", 0, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_expect_eq(f->body_len, 25);
	cr_expect(f->body && !memcmp(f->body, "hello from a legacy phone", 25));
	cr_expect_str_eq(mc_header(f, "Content-Type"), "text/plain");
	char from_path[256];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	/* a second MESSAGE reuses the session */
	cr_assert_eq(client_message("second", 0, "202"), 0);
	read_send(&c, f);
	cr_expect_eq(f->body_len, 6);
	/* RCS -> page: a SEND becomes a MESSAGE to the page-mode user */
	char fp[128];
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/rcsphone1;tcp", g.ml_port);
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "rcs-1",
			       .content_type = "text/plain", .body = "answer from RCS",
			       .body_len = 15 };
	cr_assert_eq(mc_send_send(&c, "trcs0001", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200);
	char body[128];
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_body=(.*)", body, sizeof(body), 5000), 0,
		      "the page-mode user got no MESSAGE");
	cr_expect_str_eq(body, "answer from RCS");
	cr_assert_eq(sipp_wait(g.sipp_page, 5000), 0);
	g.sipp_page = 0;
	/* the API lists it and ends it: BYE to the phone */
	char *resp = NULL;
	int st = 0;
	cr_assert_eq(http_request(HOST, g.api, "GET", "/v1/gateway/sessions", NULL, NULL, &st, NULL,
				  &resp, 5000), 0);
	cr_assert_eq(st, 200);
	json_t *j = json_loads(resp, 0, NULL);
	free(resp);
	json_t *arr = json_object_get(j, "sessions");
	cr_assert_eq(json_array_size(arr), 1, "one pair");
	cr_expect_eq(http_metric_sum_where(g.api, NULL, "rcsgw_sessions",
					   "kind=\"gateway\",state=\"established\""), 1);
	json_t *s0 = json_array_get(arr, 0);
	cr_expect(strstr(json_string_value(json_object_get(s0, "page_user")), "legacy@"));
	cr_expect_eq(json_integer_value(json_object_get(s0, "messages_in")), 2);
	cr_expect_eq(json_integer_value(json_object_get(s0, "messages_out")), 1);
	/* by its key too ('|' percent-encoded) */
	char kpath[1200], *kp = kpath;
	kp += sprintf(kp, "/v1/gateway/sessions/");
	for (const char *k = json_string_value(json_object_get(s0, "key")); k && *k; k++)
		kp += *k == '|' ? sprintf(kp, "%%7C") : sprintf(kp, "%c", *k);
	resp = NULL;
	cr_assert_eq(http_request(HOST, g.api, "GET", kpath, NULL, NULL, &st, NULL, &resp, 5000), 0);
	cr_expect_eq(st, 200, "GET %s", kpath);
	json_t *byk = json_loads(resp ? resp : "", 0, NULL);
	free(resp);
	cr_expect_str_eq(json_string_value(json_object_get(byk, "id")),
			 json_string_value(json_object_get(s0, "id")));
	json_decref(byk);
	char path[128];
	snprintf(path, sizeof(path), "/v1/gateway/sessions/%s",
		 json_string_value(json_object_get(s0, "id")));
	json_decref(j);
	cr_assert_eq(http_request(HOST, g.api, "DELETE", path, NULL, NULL, &st, NULL, NULL, 5000), 0);
	cr_expect_eq(st, 204);
	cr_assert_eq(sipp_wait(g.sipp_phone, 5000), 0, "the phone got its BYE");
	g.sipp_phone = 0;
	cr_assert_eq(http_request(HOST, g.api, "GET", path, NULL, NULL, &st, NULL, NULL, 5000), 0);
	cr_expect_eq(st, 404, "gone once ended");
	mc_close(&c);
	free(f);
}

Test(gateway, large_messages_both_ways)
{
	start(NULL);
	phone("uas_msrp.xml", NULL);
	const char *pkeys[] = { "$count", "1", "-t", "t1", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	cr_assert_eq(client_message(NULL, 5000, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	/* 5000 bytes: the SENDs of its chunks add up to the pattern */
	size_t got = 0;
	static const char pat[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	int ok = 1;
	while (got < 5000) {
		read_send(&c, f);
		for (size_t i = 0; i < f->body_len; i++)
			ok &= f->body[i] == pat[(got + i) % 62];
		got += f->body_len;
	}
	cr_expect_eq(got, 5000);
	cr_expect(ok, "the body is the pattern");
	char from_path[256], fp[128];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/rcsphone1;tcp", g.ml_port);
	/* 3000 bytes back: over TCP (RFC 3428 §6), the page-mode user listens on TCP */
	char *big = malloc(3000);
	for (int i = 0; i < 3000; i++)
		big[i] = pat[i % 62];
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "rcs-big",
			       .content_type = "text/plain", .body = big, .body_len = 3000 };
	cr_assert_eq(mc_send_send(&c, "trcs0002", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	char len[16];
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_len=([0-9]+)", len, sizeof(len), 5000), 0,
		      "the page-mode user got no MESSAGE over TCP");
	cr_expect_str_eq(len, "3000");
	free(big);
	mc_close(&c);
	free(f);
}

Test(gateway, setup_failure_is_an_event_and_the_held_message_gets_its_code)
{
	start((const char *[]){ "RCSGW_GATEWAY_AWAIT_DELIVERY=true", NULL });
	phone("uas_486.xml", NULL);
	cr_assert_eq(client_message("nobody home", 0, "486"), 0,
		     "with await_delivery the MESSAGE gets the INVITE's 486");
	char data[4096];
	cr_assert_eq(sse_next_event(&g.sse, "gateway.setup_failed", "\"sip_code\":486", data,
				    sizeof(data), 5000), 0, "%s", g.sse.buf);
}

Test(gateway, await_delivery_answers_with_the_msrp_outcome)
{
	start((const char *[]){ "RCSGW_GATEWAY_AWAIT_DELIVERY=true",
				"RCSGW_GATEWAY_DELIVERY_TIMEOUT=1s", NULL });
	phone("uas_msrp.xml", NULL);
	/* the client waits for its answer while the test plays the phone */
	char remote[64], to_host[64], from_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", g.phone);
	snprintf(from_host, sizeof(from_host), HOST ":%d", g.page);
	const char *keys[] = { "-s", "rcsphone", "$to_host", to_host, "$from_host", from_host,
			       "$body", "confirm me", "$expect_code", "200", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, g.dir_client, NULL);
	cr_assert(p > 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_expect_str_eq(mc_header(f, "Success-Report"), "yes");
	char rep[1024];
	int n = snprintf(rep, sizeof(rep),
			 "MSRP rep1 REPORT\r\nTo-Path: %s\r\nFrom-Path: msrp://" HOST
			 ":%d/rcsphone1;tcp\r\nMessage-ID: %s\r\nByte-Range: 1-10/10\r\n"
			 "Status: 000 200 OK\r\n-------rep1$\r\n", mc_header(f, "From-Path"),
			 g.ml_port, mc_header(f, "Message-ID"));
	cr_assert_eq(mc_send_raw(&c, rep, (size_t)n), 0);
	int rc = sipp_wait(p, 10000);
	if (rc)
		sipp_log_report(g.dir_client, "client");
	cr_assert_eq(rc, 0, "the MESSAGE got 200 from the success REPORT");
	/* no report at all: 408 after the delivery timeout */
	cr_assert_eq(client_message("unconfirmed", 0, "408"), 0);
	read_send(&c, f);
	mc_close(&c);
	free(f);
}

Test(gateway, queue_full_is_503_with_retry_after)
{
	start((const char *[]){ "RCSGW_GATEWAY_MAX_QUEUED=1", NULL });
	phone("uas_noanswer.xml", NULL); /* rings: the session never comes up */
	cr_assert_eq(client_message("one", 0, "202"), 0);
	cr_assert_eq(client_message("two", 0, "503"), 0, "the second does not fit");
	cr_expect_eq(http_metric_sum_where(g.api, NULL, "rcsgw_limit_hits_total",
					   "limit=\"gateway.max_queued\""), 1);
	cr_expect_eq(http_metric_sum_where(g.api, NULL, "rcsgw_sessions",
					   "kind=\"gateway\",state=\"connecting\""), 1);
	char msgs[16384];
	sipp_log_tail(g.dir_client, SIPP_LOG_MESSAGES, msgs, sizeof(msgs));
	cr_expect(strstr(msgs, "Retry-After: 5") != NULL, "%s", msgs);
}

Test(gateway, inactivity_ends_the_session)
{
	start((const char *[]){ "RCSGW_GATEWAY_MESSAGE_TIMEOUT=1s", NULL });
	phone("uas_msrp.xml", NULL);
	cr_assert_eq(client_message("short-lived", 0, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_assert_eq(sipp_wait(g.sipp_phone, 6000), 0, "the phone got a BYE after 1 s");
	g.sipp_phone = 0;
	mc_close(&c);
	free(f);
}

/* A MESSAGE of a pair whose session is ending (its BYE sent for inactivity, the phone slow
 * to answer it) goes to a new session of the pair, answered 202 at once. It was answered
 * 503 (counted as queue full) for as long as the BYE went unanswered: up to 64*T1. */
Test(gateway, a_message_while_the_pair_is_ending_makes_a_new_session)
{
	start((const char *[]){ "RCSGW_GATEWAY_MESSAGE_TIMEOUT=1s", NULL });
	/* two calls: the first one's BYE answered 3 s late */
	phone("uas_msrp.xml", (const char *[]){ "$uas_bye_answer_ms", "3000", "-m", "2", NULL });
	cr_assert_eq(client_message("before-the-bye", 0, "202"), 0);
	struct msrp_client c1, c2;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c1, f);
	read_send(&c1, f);
	cr_assert(memmem(f->body, f->body_len, "before-the-bye", 14), "%s", f->buf);
	/* the BYE goes out after 1 s without a MESSAGE; the phone holds its answer */
	double byes = 0;
	for (int i = 0; i < 60 && byes < 1; i++) {
		usleep(50000);
		byes = http_metric_sum_where(g.api, NULL, "rcsgw_sip_requests_total",
					     "direction=\"out\",method=\"BYE\"");
	}
	cr_assert_eq(byes, 1, "no BYE for the idle pair within 3 s");
	cr_assert_eq(client_message("during-the-bye", 0, "202"), 0,
		     "a MESSAGE while the pair's session ends");
	accept_msrp(&c2, f); /* a new session: a new connection to the phone */
	read_send(&c2, f);
	cr_assert(memmem(f->body, f->body_len, "during-the-bye", 14), "%s", f->buf);
	cr_expect_eq(http_metric_sum_where(g.api, NULL, "rcsgw_sip_responses_total",
					   "direction=\"out\",code=\"503\""), 0);
	/* both calls end well: the first once its BYE is answered, the second idle too */
	cr_assert_eq(sipp_wait(g.sipp_phone, 10000), 0, "the phone's two calls");
	g.sipp_phone = 0;
	mc_close(&c1);
	mc_close(&c2);
	free(f);
}

/* A MESSAGE for rcsgw itself is not converted (no session, no INVITE): it is a standalone
 * message for the applications (gw_pager.c), answered 200. */
Test(gateway, messages_for_rcsgw_itself_are_not_converted)
{
	start(NULL);
	char remote[64], to_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", g.sip);
	const char *keys[] = { "-s", "gw", "$to_host", to_host, "$expect_code", "200", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, g.dir_client, NULL);
	cr_assert(p > 0);
	cr_assert_eq(sipp_wait(p, 10000), 0, "not answered 200");
	char data[4096];
	cr_assert_eq(sse_next_event(&g.sse, "message.received", "\"mode\":\"pager\"", data,
				    sizeof(data), 5000), 0, "no message.received");
	char *resp = NULL;
	int st = 0;
	cr_assert_eq(http_request(HOST, g.api, "GET", "/v1/gateway/sessions", NULL, NULL, &st, NULL,
				  &resp, 5000), 0);
	json_t *j = json_loads(resp ? resp : "", 0, NULL);
	free(resp);
	cr_expect_eq(json_array_size(json_object_get(j, "sessions")), 0, "no pair");
	json_decref(j);
}

Test(gateway, a_message_the_page_mode_user_refuses_is_a_failure_report)
{
	start(NULL);
	phone("uas_msrp.xml", NULL);
	const char *pkeys[] = { "$count", "1", "$answer_code", "486", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	cr_assert_eq(client_message("hi", 0, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	char from_path[256], fp[128];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/rcsphone1;tcp", g.ml_port);
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "rcs-refused",
			       .content_type = "text/plain", .body = "are you there", .body_len = 13 };
	cr_assert_eq(mc_send_send(&c, "trcs0003", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200, "taken hop by hop first");
	/* the MESSAGE gets 486: a failure REPORT comes back on the MSRP side */
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0, "no failure REPORT");
	cr_assert(f->is_request && !strcmp(f->method, "REPORT"), "%s", f->buf);
	cr_expect_str_eq(mc_header(f, "Message-ID"), "rcs-refused");
	cr_expect(strstr(mc_header(f, "Status"), "000 403") != NULL, "%s", mc_header(f, "Status"));
	cr_expect_str_eq(mc_header(f, "Byte-Range"), "1-13/13");
	cr_expect(strstr(mc_header(f, "To-Path"), "/rcsphone1;tcp") != NULL);
	mc_close(&c);
	free(f);
}

Test(gateway, an_rcs_phone_calling_a_page_mode_user_is_bridged)
{
	/* the page-mode user is reached through the outbound proxy, which is its sipp here */
	int page = sipp_free_port();
	char proxy[96];
	snprintf(proxy, sizeof(proxy), "RCSGW_SIP_OUTBOUND_PROXY=sip:" HOST ":%d", page);
	start((const char *[]){ "RCSGW_GATEWAY_PAGE_USERS=prefix:sip:legacy", proxy, NULL });
	g.page = page;
	const char *pkeys[] = { "$count", "1", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	/* the RCS phone calls legacy@ (rcsgw): answered at once, rcsgw connects (actpass) */
	char mp[16], remote[64];
	snprintf(mp, sizeof(mp), "%d", g.ml_port);
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	const char *keys[] = { "msrp_port", mp, "msrp_sid", "rcscaller", "-s", "legacy",
			       "$hold_ms", "1500", NULL };
	g.sipp_phone = sipp_start("uac_msrp.xml", remote, 0, keys, g.dir_phone, NULL);
	cr_assert(g.sipp_phone > 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	char from_path[256], fp[128];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/rcscaller;tcp", g.ml_port);
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "rcs-call-1",
			       .content_type = "text/plain", .body = "hello legacy", .body_len = 12 };
	cr_assert_eq(mc_send_send(&c, "trcs0004", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	char body[128];
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_body=(.*)", body, sizeof(body), 5000), 0,
		      "the page-mode user got no MESSAGE");
	cr_expect_str_eq(body, "hello legacy");
	char ruri[256];
	cr_assert_geq(sipp_log_find(g.dir_page, "message_ruri=(.*)", ruri, sizeof(ruri)), 0);
	cr_expect(strstr(ruri, "sip:legacy@") == ruri, "%s", ruri);
	/* the phone hangs up: the pair goes */
	cr_assert_eq(sipp_wait(g.sipp_phone, 8000), 0);
	g.sipp_phone = 0;
	mc_close(&c);
	free(f);
}

Test(gateway, a_failure_report_after_202_is_told_to_the_sender)
{
	start(NULL);
	phone("uas_msrp.xml", NULL);
	const char *pkeys[] = { "$count", "1", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	cr_assert_eq(client_message("will not arrive", 0, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	/* the phone reports that it could not take it after all */
	char rep[1024];
	int n = snprintf(rep, sizeof(rep),
			 "MSRP rep2 REPORT\r\nTo-Path: %s\r\nFrom-Path: msrp://" HOST
			 ":%d/rcsphone1;tcp\r\nMessage-ID: %s\r\nByte-Range: 1-15/15\r\n"
			 "Status: 000 413 Too big\r\n-------rep2$\r\n", mc_header(f, "From-Path"),
			 g.ml_port, mc_header(f, "Message-ID"));
	cr_assert_eq(mc_send_raw(&c, rep, (size_t)n), 0);
	char body[256];
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_body=(.*)", body, sizeof(body), 5000), 0,
		      "the sender got no notice");
	cr_expect(strstr(body, "not delivered: 413") != NULL, "%s", body);
	mc_close(&c);
	free(f);
}

Test(gateway, rules_choose_what_is_converted)
{
	/* only MESSAGEs with an X-Rcs header or to the domain rcs.test; the rest: 403 */
	start((const char *[]){ "RCSGW_GATEWAY_RULES=header:X-Rcs,domain:rcs.test",
				"RCSGW_GATEWAY_REJECT_CODE=403", NULL });
	cr_assert_eq(client_message("not for the gateway", 0, "403"), 0);
	char msgs[16384];
	sipp_log_tail(g.dir_client, SIPP_LOG_MESSAGES, msgs, sizeof(msgs));
	cr_expect(strstr(msgs, "SIP/2.0 403") != NULL, "%s", msgs);
	char *m = NULL;
	int st = 0;
	cr_assert_eq(http_request(HOST, g.api, "GET", "/metrics", NULL, NULL, &st, NULL, &m, 5000), 0);
	double rejected = 0;
	for (const char *p = m; (p = strstr(p, "\nrcsgw_gateway_rejected_total{")); p++)
		rejected += strtod(strchr(p, '}') + 1, NULL);
	cr_expect_eq(rejected, 1, "counted");
	free(m);
}

Test(gateway, unmatched_messages_can_be_proxied)
{
	start((const char *[]){ "RCSGW_GATEWAY_RULES=domain:rcs.test",
				"RCSGW_GATEWAY_UNMATCHED=proxy", NULL });
	const char *pkeys[] = { "$count", "1", "$answer_code", "200", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	/* a MESSAGE to a page-mode user (no rule takes it): forwarded to its Request-URI, the
	 * user's 200 comes back */
	char remote[64], to_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", g.page);
	const char *keys[] = { "-s", "legacy2", "$to_host", to_host, "$body", "just passing",
			       "$expect_code", "200", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, g.dir_client, NULL);
	cr_assert(p > 0);
	int rc = sipp_wait(p, 10000);
	if (rc)
		sipp_log_report(g.dir_client, "client");
	cr_assert_eq(rc, 0, "the forwarded MESSAGE's 200 came back");
	char body[128];
	cr_assert_geq(sipp_log_find(g.dir_page, "message_body=(.*)", body, sizeof(body)), 0);
	cr_expect_str_eq(body, "just passing");
	char msgs[16384];
	sipp_log_tail(g.dir_page, SIPP_LOG_MESSAGES, msgs, sizeof(msgs));
	cr_expect(strstr(msgs, "Max-Forwards: 69") != NULL, "one hop more: %s", msgs);
	cr_assert_eq(sipp_wait(g.sipp_page, 5000), 0);
	g.sipp_page = 0;
}

Test(gateway, a_domain_rule_takes_its_messages)
{
	if (!dnsmasq_available())
		cr_skip_test("dnsmasq is not installed");
	struct dnsmasq dm;
	cr_assert_eq(dnsmasq_start(&dm, "host-record=rcs.test,127.0.0.1"), 0);
	char e_dns[96];
	snprintf(e_dns, sizeof(e_dns), "RCSGW_DNS_SERVERS=%s", dm.addr);
	start((const char *[]){ "RCSGW_GATEWAY_RULES=prefix:sip:nobody,domain:rcs.test",
				"RCSGW_GATEWAY_REJECT_CODE=403", e_dns, NULL });
	phone("uas_msrp.xml", NULL);
	/* to rcs.test (the domain rule): converted, the INVITE found by DNS */
	char remote[64], to_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), "rcs.test:%d", g.phone);
	const char *keys[] = { "-s", "rcsphone", "$to_host", to_host, "$body", "by domain",
			       "$expect_code", "202", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, g.dir_client, NULL);
	cr_assert(p > 0);
	cr_assert_eq(sipp_wait(p, 10000), 0, "202");
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_expect_eq(f->body_len, 9);
	cr_expect(f->body && !memcmp(f->body, "by domain", 9));
	/* to 127.0.0.1 (no rule): refused */
	cr_assert_eq(client_message("no rule", 0, "403"), 0);
	mc_close(&c);
	free(f);
	dnsmasq_stop(&dm);
}

/* A MESSAGE with X-Rcs and the RCS chat feature tag: the header: and feature: rules. */
static void rcs_rule_case(const char *rule)
{
	char env[160];
	snprintf(env, sizeof(env), "RCSGW_GATEWAY_RULES=%s", rule);
	start((const char *[]){ env, "RCSGW_GATEWAY_REJECT_CODE=403", NULL });
	phone("uas_msrp.xml", NULL);
	char remote[64], to_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", g.phone);
	const char *keys[] = { "-s", "rcsphone", "$to_host", to_host, NULL };
	pid_t p = sipp_start("uac_message_rcs.xml", remote, 0, keys, g.dir_client, NULL);
	cr_assert(p > 0);
	int rc = sipp_wait(p, 10000);
	if (rc)
		sipp_log_report(g.dir_client, "client");
	cr_assert_eq(rc, 0, "rule %s took it (202)", rule);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_expect(f->body_len == 9 && !memcmp(f->body, "rcs hello", 9));
	/* the plain client carries neither: refused */
	cr_assert_eq(client_message("plain", 0, "403"), 0);
	mc_close(&c);
	free(f);
}

Test(gateway, a_header_rule_takes_its_messages)
{
	rcs_rule_case("header:X-Rcs");
}

Test(gateway, a_feature_rule_takes_its_messages)
{
	rcs_rule_case("feature:3gpp-service.ims.icsi.oma.cpm.session");
}

/* RCS between the two sides (RFC 5438 over RFC 3428 and RFC 4975): a page-mode client's
 * CPIM message asking for a delivery notification reaches the phone as it was, and the
 * phone's IMDN reaches the page-mode user as a MESSAGE of message/cpim. */
Test(gateway, imdns_cross_between_page_mode_and_the_session)
{
	start(NULL);
	phone("uas_msrp.xml", NULL);
	const char *pkeys[] = { "$count", "1", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	char remote[64], to_host[64], from_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", g.phone);
	snprintf(from_host, sizeof(from_host), HOST ":%d", g.page);
	static const char cpim[] =
		"From: <sip:legacy@" HOST ">\r\n"
		"To: <sip:rcsphone@" HOST ">\r\n"
		"NS: imdn <urn:ietf:params:imdn>\r\n"
		"imdn.Message-ID: page-imdn-01\r\n"
		"DateTime: 2026-11-26T11:00:00.000Z\r\n"
		"imdn.Disposition-Notification: positive-delivery\r\n"
		"\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"tell me when it arrives";
	const char *keys[] = { "-s", "rcsphone", "$to_host", to_host, "$from_host", from_host,
			       "$from_user", "legacy", "$ctype", "message/cpim", "$body", cpim,
			       "$expect_code", "202", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, g.dir_client, NULL);
	cr_assert(p > 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_assert_eq(sipp_wait(p, 10000), 0);
	cr_expect_str_eq(mc_header(f, "Content-Type"), "message/cpim");
	cr_expect_eq(f->body_len, sizeof(cpim) - 1, "the CPIM message as the client wrote it");
	cr_expect(f->body && !memcmp(f->body, cpim, sizeof(cpim) - 1));
	char from_path[256], fp[128];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/rcsphone1;tcp", g.ml_port);
	/* the phone's delivery notification */
	static const char imdn[] =
		"From: <sip:rcsphone@" HOST ">\r\n"
		"To: <sip:legacy@" HOST ">\r\n"
		"NS: imdn <urn:ietf:params:imdn>\r\n"
		"imdn.Message-ID: phone-imdn-01\r\n"
		"DateTime: 2026-11-26T11:00:01.000Z\r\n"
		"\r\n"
		"Content-Type: message/imdn+xml\r\n"
		"Content-Disposition: notification\r\n"
		"\r\n"
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>page-imdn-01</message-id>"
		"<datetime>2026-11-26T11:00:00.000Z</datetime><delivery-notification><status>"
		"<delivered/></status></delivery-notification></imdn>";
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "rcs-imdn-1",
			       .content_type = "message/cpim", .body = imdn,
			       .body_len = sizeof(imdn) - 1 };
	cr_assert_eq(mc_send_send(&c, "trcsimdn", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200);
	char v[256];
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_ctype=(.*)", v, sizeof(v), 5000), 0,
		      "the page-mode user got no MESSAGE");
	cr_expect_str_eq(v, "message/cpim");
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_len=(.*)", v, sizeof(v), 5000), 0);
	cr_expect_eq(atoi(v), (int)sizeof(imdn) - 1, "the IMDN as the phone wrote it");
	cr_expect_geq(sipp_log_wait(g.dir_page, "(<delivered/>)", v, sizeof(v), 5000), 0);
	cr_assert_eq(sipp_wait(g.sipp_page, 5000), 0);
	g.sipp_page = 0;
	mc_close(&c);
	free(f);
}

/* An RCS phone that takes text only inside CPIM (as RCS clients answer) gets the page-mode
 * client's text wrapped: From the page-mode user, To the phone, with an imdn.Message-ID. */
Test(gateway, text_goes_in_cpim_to_a_phone_that_takes_it_only_so)
{
	start(NULL);
	phone("uas_rcs.xml", NULL);
	cr_assert_eq(client_message("wrapped for RCS", 0, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_assert_str_eq(mc_header(f, "Content-Type"), "message/cpim");
	struct rcs_cpim_msg m;
	cr_assert_eq(rcs_cpim_parse(f->body, f->body_len, &m), 0);
	const struct rcs_cpim_hdr *h = rcs_cpim_get(&m, CM_SLICE_NULL, "From", NULL);
	cr_assert(h);
	cr_expect(h->value.len > 14 && !memcmp(h->value.p, "<sip:legacy@", 12), "%.*s",
		  (int)h->value.len, h->value.p);
	cr_expect(rcs_cpim_get(&m, CM_SLICE_LIT("urn:ietf:params:imdn"), "Message-ID", NULL));
	cr_expect(m.body.len == 15 && !memcmp(m.body.p, "wrapped for RCS", 15));
	mc_close(&c);
	free(f);
}

/* The number of entries of Redis stream <key>. */
static long long xlen(const char *key)
{
	redisContext *c = redisConnect(HOST, R.port);
	redisReply *r = c && !c->err ? redisCommand(c, "XLEN %s", key) : NULL;
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return n;
}

/* Durable delivery of the gateway's messages (issue 8): with a cluster, what a page-mode
 * client got a 202 for is kept in Redis until the phone confirms it. Node A converts two
 * MESSAGEs into SENDs that the phone never confirms, and dies (-9); node B, asked nothing,
 * finds the session among the dead node's, takes it over, connects to the phone again and
 * sends both again with their Message-IDs. The pair is the gateway's on B too: the phone's
 * answer becomes a MESSAGE to the page-mode user. */
Test(gateway, accepted_messages_outlive_their_node, .timeout = 90)
{
	if (!redis_srv_available())
		cr_skip_test("no redis-server (Debian package redis-server)");
	cr_assert_eq(redis_srv_start(&R, 0), 0, "redis-server did not start");
	char url[64];
	snprintf(url, sizeof(url), "RCSGW_REDIS_URL=redis://%s/0", R.addr);
	start((const char *[]){ url, "RCSGW_CLUSTER_NODE_ID=gw-a",
				"RCSGW_CLUSTER_HEARTBEAT_TTL=600ms", NULL });
	phone("uas_msrp.xml", NULL);
	cr_assert_eq(client_message("one", 0, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	char mid[2][64];
	for (int i = 0; i < 2; i++) {
		if (i)
			cr_assert_eq(client_message("two", 0, "202"), 0);
		cr_assert_eq(mc_read_frame(&c, f, 5000), 0, "no SEND from A");
		snprintf(mid[i], sizeof(mid[i]), "%s", mc_header(f, "Message-ID")); /* no 200 */
	}
	char *resp = NULL, key[128];
	int st = 0;
	cr_assert_eq(http_request(HOST, g.api, "GET", "/v1/gateway/sessions", NULL, NULL, &st, NULL,
				  &resp, 5000), 0);
	json_t *j = json_loads(resp ? resp : "", 0, NULL);
	free(resp);
	snprintf(key, sizeof(key), "rcsgw:msgs:%s", json_string_value(json_object_get(
		json_array_get(json_object_get(j, "sessions"), 0), "id")));
	json_decref(j);
	for (int i = 0; i < 100 && xlen(key) != 2; i++)
		usleep(20000);
	cr_expect_eq(xlen(key), 2, "the two accepted messages are not in Redis");

	char a[64], m[64], s[96];
	int bapi = free_tcp_port(), bmsrp = free_tcp_port(), bsip = sipp_free_port();
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=" HOST ":%d", bapi);
	snprintf(m, sizeof(m), "RCSGW_MSRP_LISTEN=" HOST ":%d", bmsrp);
	snprintf(s, sizeof(s), "RCSGW_SIP_LISTEN=udp:" HOST ":%d", bsip);
	node_b = rcsgw_spawn((const char *[]){ a, m, s, url, "RCSGW_ENGINE_WORKERS=2",
					       "RCSGW_GATEWAY_ENABLED=true", "RCSGW_LOG_LEVEL=warn",
					       "RCSGW_CLUSTER_NODE_ID=gw-b",
					       "RCSGW_CLUSTER_HEARTBEAT_TTL=600ms", NULL }, NULL, NULL);
	cr_assert(node_b > 0);
	cr_assert_eq(wait_port(HOST, bapi, 5000), 0);
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page,
				 (const char *[]){ "$count", "1", NULL }, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);
	cr_expect_eq(rcsgw_stop(g.pid, SIGKILL, 2000), 128 + SIGKILL);
	g.pid = node_b; /* the fixture stops B */
	node_b = -1;
	mc_close(&c);
	accept_msrp(&c, f); /* B, by itself: the dead node's session with messages pending */
	char from_path[256], fp[128];
	for (int i = 0; i < 2; i++) {
		read_send(&c, f);
		cr_expect_str_eq(mc_header(f, "Message-ID"), mid[i], "message %d", i + 1);
		cr_expect(f->body_len == 3 && !memcmp(f->body, i ? "two" : "one", 3));
	}
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/rcsphone1;tcp", g.ml_port);
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "rcs-b1",
			       .content_type = "text/plain", .body = "answer via B",
			       .body_len = 12 };
	cr_assert_eq(mc_send_send(&c, "trcsb001", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200);
	char body[128];
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_body=(.*)", body, sizeof(body), 5000), 0,
		      "the page-mode user got no MESSAGE from B");
	cr_expect_str_eq(body, "answer via B");
	cr_assert_eq(sipp_wait(g.sipp_page, 5000), 0);
	g.sipp_page = 0;
	for (int i = 0; i < 100 && xlen(key) > 0; i++)
		usleep(20000);
	cr_expect_eq(xlen(key), 0, "confirmed, yet still in Redis");
	mc_close(&c);
	free(f);
}

/* ---- Diameter hooks (issue 9): Sh before a session is made, Ro for each message ---------- */

static struct dm_ocs ocs = DM_OCS_INIT;
static struct tshark_cap dcap = TSHARK_CAP_INIT;
static char dcap_dir[64];

static void ocs_stop(void)
{
	dm_ocs_stop(&ocs);
	tshark_stop(&dcap);
	if (dcap_dir[0]) {
		char cmd[96];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dcap_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dcap_dir);
		dcap_dir[0] = '\0';
	}
}

static double gw_metric(const char *name)
{
	return http_metric_sum(g.api, NULL, name);
}

Test(gateway, diameter_sh_and_ro_refuse_or_let_messages_through)
{
	char peers[128], filter[64];
	cr_assert_eq(dm_ocs_start(&ocs), 0, "the Diameter server did not start");
	int capturing = 0; /* what the hooks send, decoded by tshark */
	if (tshark_available()) {
		snprintf(dcap_dir, sizeof(dcap_dir), "/tmp/rcsgw-gwdm.XXXXXX");
		cr_assert_not_null(mkdtemp(dcap_dir));
		snprintf(filter, sizeof(filter), "tcp port %d", ocs.dport);
		int rc = tshark_start(&dcap, filter, dcap_dir);
		cr_assert(rc == 0 || rc == -EPERM, "dumpcap: %s", strerror(-rc));
		capturing = rc == 0;
	}
	ocs.sh_rc = 5001; /* DIAMETER_ERROR_USER_UNKNOWN */
	start((const char *[]){ "RCSGW_DIAMETER_ORIGIN_HOST=gw.test.local",
				dm_ocs_peer_env(&ocs, peers, sizeof(peers)),
				"RCSGW_DIAMETER_SH_CHECK=true", "RCSGW_DIAMETER_RO_CHARGING=true",
				"RCSGW_DIAMETER_RECONNECT=200ms", NULL });
	cr_assert(dm_ocs_wait_open(g.api, 5000), "the gateway's Diameter peer did not open");
	phone("uas_msrp.xml", NULL);
	const char *pkeys[] = { "$count", "1", NULL };
	g.sipp_page = sipp_start("uas_message.xml", NULL, g.page, pkeys, g.dir_page, NULL);
	cr_assert(g.sipp_page > 0);

	/* Sh refuses the sender: 403, no session */
	cr_assert_eq(client_message("refused by Sh", 0, "403"), 0);
	cr_expect_eq(ocs.udrs, 1);
	cr_expect_eq(ocs.ccrs, 0, "no charge for what was refused");
	/* Sh lets it, Ro refuses the credit: 403 still */
	ocs.sh_rc = 2001;
	ocs.ro_rc = 4012; /* DIAMETER_CREDIT_LIMIT_REACHED */
	cr_assert_eq(client_message("refused by Ro", 0, "403"), 0);
	cr_expect_eq(ocs.udrs, 2);
	cr_expect_eq(ocs.ccrs, 1);
	/* both let it: 202, the phone gets it; the session's next MESSAGE asks Ro only */
	ocs.ro_rc = 2001;
	cr_assert_eq(client_message("charged", 0, "202"), 0);
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	accept_msrp(&c, f);
	read_send(&c, f);
	cr_expect(f->body_len == 7 && !memcmp(f->body, "charged", 7));
	cr_assert_eq(client_message("again", 0, "202"), 0);
	read_send(&c, f);
	cr_expect_eq(ocs.udrs, 3, "Sh only before the session is made");
	cr_expect_eq(ocs.ccrs, 3);

	/* RCS -> page: Ro refuses: the SEND is taken hop by hop, then a failure REPORT */
	char from_path[256], fp[128];
	snprintf(from_path, sizeof(from_path), "%s", mc_header(f, "From-Path"));
	snprintf(fp, sizeof(fp), "msrp://" HOST ":%d/rcsphone1;tcp", g.ml_port);
	ocs.ro_rc = 4012;
	struct mc_send snd = { .to_path = from_path, .from_path = fp, .message_id = "rcs-nocredit",
			       .content_type = "text/plain", .body = "no credit", .body_len = 9 };
	cr_assert_eq(mc_send_send(&c, "trcs0091", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	cr_expect(!f->is_request && f->status == 200, "taken hop by hop first");
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0, "no failure REPORT");
	cr_assert(f->is_request && !strcmp(f->method, "REPORT"), "%s", f->buf);
	cr_expect_str_eq(mc_header(f, "Message-ID"), "rcs-nocredit");
	cr_expect(strstr(mc_header(f, "Status"), "000 403") != NULL, "%s", mc_header(f, "Status"));
	/* Ro lets it: the page-mode user gets its MESSAGE */
	ocs.ro_rc = 2001;
	snd.message_id = "rcs-credit";
	snd.body = "with credit";
	snd.body_len = 11;
	cr_assert_eq(mc_send_send(&c, "trcs0092", &snd), 0);
	cr_assert_eq(mc_read_frame(&c, f, 5000), 0);
	char body[128];
	cr_assert_geq(sipp_log_wait(g.dir_page, "message_body=(.*)", body, sizeof(body), 5000), 0,
		      "the page-mode user got no MESSAGE");
	cr_expect_str_eq(body, "with credit");
	cr_expect_eq(ocs.ccrs, 5);

	/* the counters; then the Diameter side gone: no verdict is 503 (hook_failure deny) */
	cr_expect_eq(gw_metric("rcsgw_gateway_diameter_denied_total"), 3);
	if (capturing) {
		char as_d[64], buf[8192];
		cr_assert_eq(tshark_stop(&dcap), 0);
		snprintf(as_d, sizeof(as_d), "tcp.port==%d,diameter", ocs.dport);
		int bad = tshark_summary(&dcap, as_d, TSHARK_BAD, buf, sizeof(buf));
		cr_expect_eq(bad, 0, "malformed or in error:\n%s", buf);
		struct {
			const char *filter;
			int want;
		} fl[] = {
			{ "diameter.cmd.code == 306 && diameter.flags.request == 1 && "
			  "diameter.Data-Reference == 11 && diameter.Public-Identity", 3 },
			{ "diameter.cmd.code == 272 && diameter.flags.request == 1 && "
			  "diameter.CC-Request-Type == 4 && diameter.Requested-Action == 0 && "
			  "diameter.Subscription-Id-Data && diameter.Service-Context-Id == "
			  "\"32260@3gpp.org\"", 5 },
			{ "diameter.cmd.code == 272 && diameter.flags.request == 0 && "
			  "diameter.Result-Code == 4012", 2 },
		};
		for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
			int got = tshark_count(&dcap, as_d, fl[i].filter);
			cr_expect_eq(got, fl[i].want, "%s: %d frames, %d wanted", fl[i].filter, got,
				     fl[i].want);
		}
	}
	ocs_stop();
	cr_assert_eq(client_message("nobody to ask", 0, "503"), 0);
	cr_expect_geq(gw_metric("rcsgw_gateway_diameter_failed_total"), 1);
	mc_close(&c);
	free(f);
}

/* A verdict that comes too late: the MESSAGE is answered 503 within its transaction's life
 * (64*T1, here T1 = 50 ms: 3.2 s), not when the verdict comes (diameter.hook_timeout, here
 * 4 s, past the transaction's end), and the late verdict changes nothing. */
Test(gateway, a_diameter_verdict_too_late_is_503_within_the_transaction)
{
	char peers[128];
	cr_assert_eq(dm_ocs_start(&ocs), 0, "the Diameter server did not start");
	ocs.sh_rc = 0; /* never answers */
	start((const char *[]){ "RCSGW_DIAMETER_ORIGIN_HOST=gw.test.local",
				dm_ocs_peer_env(&ocs, peers, sizeof(peers)),
				"RCSGW_DIAMETER_SH_CHECK=true", "RCSGW_DIAMETER_HOOK_TIMEOUT=4s",
				"RCSGW_SIP_T1=50ms", "RCSGW_SIP_T2=400ms", NULL });
	cr_assert(dm_ocs_wait_open(g.api, 5000), "the gateway's Diameter peer did not open");
	uint64_t t0 = (uint64_t)time(NULL);
	cr_assert_eq(client_message("no verdict in time", 0, "503"), 0);
	cr_expect_leq((uint64_t)time(NULL) - t0, 3, "answered within the transaction's life");
	cr_expect_eq(ocs.udrs, 1);
	cr_expect_geq(gw_metric("rcsgw_gateway_diameter_failed_total"), 1);
	sleep(4); /* the late verdict (hook_timeout) comes and frees what waited for it */
	char *resp = NULL;
	int st = 0;
	cr_assert_eq(http_request(HOST, g.api, "GET", "/v1/status", NULL, NULL, &st, NULL, &resp,
				  3000), 0);
	cr_expect_eq(st, 200, "the daemon is alive");
	free(resp);
}
