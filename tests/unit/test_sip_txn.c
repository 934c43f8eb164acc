/* test_sip_txn.c — the SIP transaction layer on a real engine worker (epoll) with a fake
 * transport that records what is sent and when. T1 is 20 ms so that 64*T1 is 1.28 s.
 * Spacings are checked against the timer wheel's 10 ms tick: never early, at most one
 * tick and some scheduling late. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cm_hist.h"
#include "engine/eng.h"
#include "sip/sip_parse.h"
#include "sip/sip_txn.h"
#include "tests/lib/eng_job.h"

#define T1 20

struct sent {
	char buf[2048];
	size_t len;
	uint64_t at_ms;
	int reliable;
};

static struct {
	eng_engine *e;
	eng_worker *w;
	struct sip_txn_layer *l;
	struct sip_txn_cfg cfg;
	struct sent sent[64];
	_Atomic int nsent;
	_Atomic int fail_send;
	/* what the TU saw */
	_Atomic int nreq, nresp, nerr, nack, nnull;
	int last_status, err_status;
	enum sip_method resp_method[16];   /* of the client transactions answered, in order */
	int resend_on_503;           /* on_response sends that many new MESSAGEs on 503s */
	const struct sip_dest *resend_to;
	struct sip_txn *st;          /* last server transaction */
	int answer;                  /* on_request answers this at once (0: no) */
	int refuse_with;             /* on_request with NULL answers this statelessly */
	struct sip_parse_stats ps;
	struct sip_parse_cfg pcfg;
} T;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int fake_send(void *arg, const char *buf, size_t len, const struct sip_dest *dst,
		     int reliable)
{
	(void)arg; (void)dst;
	if (T.fail_send)
		return -ECONNRESET;
	if (T.nsent < 64 && len < sizeof(T.sent[0].buf)) {
		struct sent *s = &T.sent[T.nsent];
		memcpy(s->buf, buf, len);
		s->buf[len] = 0;
		s->len = len;
		s->at_ms = now_ms();
		s->reliable = reliable;
	}
	T.nsent++;
	return 0;
}

static void tu_request(void *arg, struct sip_txn *st, const struct sip_msg *req,
		       const struct sip_dest *src)
{
	(void)arg;
	if (!st) {
		T.nnull++;
		sip_txn_reply_stateless(T.l, req, src, T.refuse_with, CM_SLICE_LIT("r1"));
		return;
	}
	T.nreq++;
	T.st = st;
	if (T.answer)
		cr_assert_eq(sip_txn_respond(st, T.answer, CM_SLICE_NULL, CM_SLICE_LIT("s1"),
					     NULL, 0, CM_SLICE_NULL), 0);
}

static int req(char *buf, size_t cap, const char *method, const char *branch,
	       const char *host);

static void tu_response(void *arg, struct sip_txn *ct, void *ctx, int status,
			const struct sip_msg *resp)
{
	(void)arg; (void)ctx; (void)resp;
	if (!ct)
		T.nnull++;
	else if (T.nresp < 16)
		T.resp_method[T.nresp] = sip_txn_method(ct);
	T.nresp++;
	T.last_status = status;
	if (status == 503 && T.resend_on_503) {
		char buf[2048], branch[32];
		snprintf(branch, sizeof(branch), "z9hG4bKagain%d", T.resend_on_503--);
		int n = req(buf, sizeof(buf), "MESSAGE", branch, "10.0.0.1");
		cr_assert_eq(sip_txn_request(T.l, buf, (size_t)n, T.resend_to, NULL, NULL), 0);
	}
}

static void tu_error(void *arg, struct sip_txn *st, void *ctx, int status)
{
	(void)arg; (void)st; (void)ctx;
	T.nerr++;
	T.err_status = status;
}

static void tu_ack(void *arg, const struct sip_msg *ack, const struct sip_dest *src)
{
	(void)arg; (void)ack; (void)src;
	T.nack++;
}

static void make_layer(void *arg)
{
	(void)arg;
	struct sip_tp tp = { .send = fake_send };
	struct sip_tu tu = { .on_request = tu_request, .on_response = tu_response,
			     .on_server_error = tu_error, .on_ack = tu_ack };
	T.l = sip_txn_layer_new(T.w, &T.cfg, &tp, &tu);
}

static void free_layer(void *arg)
{
	(void)arg;
	sip_txn_layer_free(T.l);
}

static void setup(void)
{
	char err[256];
	memset(&T, 0, sizeof(T));
	T.e = eng_job_engine(ENG_BACKEND_EPOLL, err, sizeof(err));
	cr_assert(T.e, "%s", err);
	T.w = eng_worker_at(T.e, 0);
	sip_txn_cfg_default(&T.cfg);
	T.cfg.t1_ms = T1;
	T.cfg.t2_ms = 4 * T1;
	T.cfg.t4_ms = 5 * T1;
	T.cfg.timer_d_ms = 5 * T1;
	T.cfg.trying_ms = 50;
	T.cfg.max_txns = 4;
	sip_parse_limits_default(&T.pcfg.limits);
	T.pcfg.stats = &T.ps;
}

static void start(void)
{
	cr_assert_eq(eng_job_run(T.w, make_layer, NULL), 0);
	cr_assert(T.l);
}

static void teardown(void)
{
	if (T.l)
		eng_job_run(T.w, free_layer, NULL);
	eng_stop(T.e);
	eng_destroy(T.e);
}

TestSuite(sip_txn, .init = setup, .fini = teardown, .timeout = 20);

/* ---- messages ---------------------------------------------------------------------------- */

static const struct sip_dest UDP = { .kind = SIP_TP_UDP };
static const struct sip_dest TCP = { .kind = SIP_TP_TCP, .conn_id = 7 };

static int req(char *buf, size_t cap, const char *method, const char *branch, const char *host)
{
	return snprintf(buf, cap,
		"%s sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP %s:5060;branch=%s\r\n"
		"Max-Forwards: 70\r\n"
		"Route: <sip:proxy.example.com;lr>\r\n"
		"From: <sip:alice@example.com>;tag=a1\r\n"
		"To: <sip:bob@example.com>\r\n"
		"Call-ID: c1@example.com\r\n"
		"CSeq: 1 %s\r\n"
		"Content-Length: 0\r\n\r\n", method, host, branch, method);
}

static int resp(char *buf, size_t cap, int status, const char *method, const char *branch)
{
	return snprintf(buf, cap,
		"SIP/2.0 %d X\r\n"
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=%s\r\n"
		"From: <sip:alice@example.com>;tag=a1\r\n"
		"To: <sip:bob@example.com>;tag=b9\r\n"
		"Call-ID: c1@example.com\r\n"
		"CSeq: 1 %s\r\n"
		"Content-Length: 0\r\n\r\n", status, branch, method);
}

struct input { char buf[2048]; int len; struct sip_dest src; int rc; };

static void input_job(void *arg)
{
	struct input *in = arg;
	struct sip_msg m;
	cr_assert_eq(sip_parse_msg(&T.pcfg, in->buf, (size_t)in->len, &m), 0);
	in->rc = sip_txn_input(T.l, in->buf, (size_t)in->len, &m, &in->src);
}

static void feed_req(const char *method, const char *branch, const char *host,
		     const struct sip_dest *src)
{
	struct input in = { .src = *src };
	in.len = req(in.buf, sizeof(in.buf), method, branch, host);
	cr_assert_eq(eng_job_run(T.w, input_job, &in), 0);
	cr_assert_eq(in.rc, 0);
}

static void feed_resp(int status, const char *method, const char *branch)
{
	struct input in = { .src = UDP };
	in.len = resp(in.buf, sizeof(in.buf), status, method, branch);
	cr_assert_eq(eng_job_run(T.w, input_job, &in), 0);
	cr_assert_eq(in.rc, 0);
}

struct creq { const char *method; const char *branch; struct sip_dest dst; int rc; };

static void creq_job(void *arg)
{
	struct creq *c = arg;
	char buf[2048];
	int n = req(buf, sizeof(buf), c->method, c->branch, "10.0.0.1");
	c->rc = sip_txn_request(T.l, buf, (size_t)n, &c->dst, NULL, NULL);
}

static int client(const char *method, const char *branch, const struct sip_dest *dst)
{
	struct creq c = { method, branch, *dst, 0 };
	cr_assert_eq(eng_job_run(T.w, creq_job, &c), 0);
	return c.rc;
}

struct respond { int status; int rc; };

static void respond_job(void *arg)
{
	struct respond *r = arg;
	r->rc = sip_txn_respond(T.st, r->status, CM_SLICE_NULL, CM_SLICE_LIT("s1"), NULL, 0,
				CM_SLICE_NULL);
}

static struct sip_txn_stats stats;
static void stats_job(void *arg) { (void)arg; stats = *sip_txn_layer_stats(T.l); }
static void get_stats(void) { cr_assert_eq(eng_job_run(T.w, stats_job, NULL), 0); }

static int ck_nresp(void *arg) { return T.nresp >= *(int *)arg; }
static int ck_nerr(void *arg) { return T.nerr >= *(int *)arg; }
static int ck_nsent(void *arg) { return T.nsent >= *(int *)arg; }
static int ck_idle(void *arg) { (void)arg; return sip_txn_layer_stats(T.l)->active == 0; }

static void wait_for(int (*ck)(void *), int v, int ms)
{
	cr_assert_eq(eng_job_wait(T.w, ck, &v, ms), 0, "condition not met within %d ms", ms);
}

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- client transactions ---------------------------------------------------------------- */

Test(sip_txn, non_invite_client_udp_retransmits_doubling_to_t2_then_408)
{
	start();
	cr_assert_eq(client("MESSAGE", "z9hG4bKm1", &UDP), 0);
	wait_for(ck_nresp, 1, 3000);
	cr_assert_eq(T.last_status, 408);
	/* E: T1, 2T1, 4T1 = T2, then T2 until F = 64*T1: 0, 20, 60, 140, 220 ... 1260 */
	cr_assert(T.nsent >= 15 && T.nsent <= 19, "sent %d", T.nsent);
	int want[] = { T1, 2 * T1, 4 * T1, 4 * T1, 4 * T1 };
	for (int i = 0; i < 5; i++) {
		int gap = (int)(T.sent[i + 1].at_ms - T.sent[i].at_ms);
		cr_assert(gap >= want[i] - 2 && gap <= want[i] + 25, "gap %d: %d ms", i, gap);
	}
	cr_assert_eq(T.sent[0].len, T.sent[3].len);
	cr_assert_eq(memcmp(T.sent[0].buf, T.sent[3].buf, T.sent[0].len), 0);
	wait_for(ck_idle, 0, 500);
	get_stats();
	cr_assert_eq(stats.timeouts, 1);
}

Test(sip_txn, reliable_client_no_retransmission_and_timeout)
{
	start();
	cr_assert_eq(client("OPTIONS", "z9hG4bKo1", &TCP), 0);
	wait_for(ck_nresp, 1, 3000);
	cr_assert_eq(T.last_status, 408);
	cr_assert_eq(T.nsent, 1);
	cr_assert_eq(T.sent[0].reliable, 1);
}

Test(sip_txn, invite_client_486_gets_ack_and_absorbs_retransmission)
{
	start();
	cr_assert_eq(client("INVITE", "z9hG4bKi1", &UDP), 0);
	wait_for(ck_nsent, 3, 1000);              /* A fired twice */
	int gap = (int)(T.sent[2].at_ms - T.sent[1].at_ms);
	cr_assert(gap >= 2 * T1 - 2 && gap <= 2 * T1 + 25, "A doubles: %d ms", gap);
	feed_resp(180, "INVITE", "z9hG4bKi1");
	cr_assert_eq(T.last_status, 180);
	int before = T.nsent;
	nap(150);
	cr_assert_eq(T.nsent, before, "no retransmission in Proceeding");
	feed_resp(486, "INVITE", "z9hG4bKi1");
	cr_assert_eq(T.last_status, 486);
	cr_assert_eq(T.nsent, before + 1);
	const char *ack = T.sent[before].buf;
	cr_assert(strncmp(ack, "ACK sip:bob@example.com SIP/2.0\r\n", 33) == 0, "%s", ack);
	cr_assert(strstr(ack, "branch=z9hG4bKi1\r\n"));
	cr_assert(strstr(ack, "To: <sip:bob@example.com>;tag=b9\r\n"));
	cr_assert(strstr(ack, "CSeq: 1 ACK\r\n"));
	cr_assert(strstr(ack, "Route: <sip:proxy.example.com;lr>\r\n"));
	cr_assert(strstr(ack, "Call-ID: c1@example.com\r\n"));
	feed_resp(486, "INVITE", "z9hG4bKi1");    /* retransmitted: ACK again, TU not told */
	cr_assert_eq(T.nresp, 2);
	cr_assert_eq(T.nsent, before + 2);
	cr_assert_eq(strcmp(T.sent[before + 1].buf, ack), 0);
	wait_for(ck_idle, 0, 1000);               /* D */
	get_stats();
	cr_assert_eq(stats.acks_sent, 1);
	cr_assert_eq(stats.absorbed, 1);
}

Test(sip_txn, invite_client_2xx_ends_the_transaction)
{
	start();
	cr_assert_eq(client("INVITE", "z9hG4bKi2", &UDP), 0);
	feed_resp(200, "INVITE", "z9hG4bKi2");
	cr_assert_eq(T.last_status, 200);
	cr_assert_eq(T.nsent, 1, "no ACK from the transaction");
	get_stats();
	cr_assert_eq(stats.active, 0);
	feed_resp(200, "INVITE", "z9hG4bKi2");    /* retransmitted 2xx: the TU's, no txn */
	cr_assert_eq(T.nnull, 1);
	nap(100);
	cr_assert_eq(T.nsent, 1, "no retransmission after the 2xx");
}

Test(sip_txn, client_latencies_by_kind)
{
	start();
	/* an INVITE answered 180 then 486 after some 60 ms: one set-up of at least 50 ms, the
	 * provisional not counted; a MESSAGE answered at once; an OPTIONS that times out is no
	 * latency */
	cr_assert_eq(client("INVITE", "z9hG4bKl1", &TCP), 0);
	feed_resp(180, "INVITE", "z9hG4bKl1");
	nap(60);
	feed_resp(486, "INVITE", "z9hG4bKl1");
	cr_assert_eq(client("MESSAGE", "z9hG4bKl2", &TCP), 0);
	feed_resp(200, "MESSAGE", "z9hG4bKl2");
	cr_assert_eq(client("OPTIONS", "z9hG4bKl3", &TCP), 0);
	wait_for(ck_nresp, 4, 3000);
	cr_assert_eq(T.last_status, 408);
	get_stats();
	cr_expect_eq(cm_hist_count(&stats.invite_setup), 1);
	cr_expect_eq(cm_hist_count(&stats.non_invite), 1, "the MESSAGE; the 408 is none");
	cr_expect_geq(stats.invite_setup.sum_us, 50000, "set-up %llu us",
		      (unsigned long long)stats.invite_setup.sum_us);
	cr_expect_lt(stats.invite_setup.sum_us, 2000000);
	unsigned b = 0;
	while (b < CM_HIST_BOUNDS && !stats.invite_setup.bucket[b])
		b++;
	cr_expect(b < CM_HIST_BOUNDS && cm_hist_le_us(b) >= 50000, "in the bucket of %llu us",
		  (unsigned long long)cm_hist_le_us(b));
	cr_expect_lt(stats.non_invite.sum_us, 1000000);
}

Test(sip_txn, matching_by_branch_and_method)
{
	start();
	cr_assert_eq(client("MESSAGE", "z9hG4bKx1", &TCP), 0);
	feed_resp(200, "OPTIONS", "z9hG4bKx1");   /* same branch, other method */
	feed_resp(200, "MESSAGE", "z9hG4bKx2");   /* other branch */
	cr_assert_eq(T.nnull, 2);
	feed_resp(200, "MESSAGE", "z9hG4bKx1");
	cr_assert_eq(T.nnull, 2);
	cr_assert_eq(T.last_status, 200);
	cr_assert_eq(client("MESSAGE", "z9hG4bKx3", &UDP), 0);
	cr_assert_eq(client("MESSAGE", "z9hG4bKx3", &UDP), -EINVAL, "branch in use");
}

/* ---- server transactions ---------------------------------------------------------------- */

Test(sip_txn, invite_server_trying_g_retransmits_until_ack_then_i)
{
	start();
	feed_req("INVITE", "z9hG4bKs1", "10.0.0.9", &UDP);
	cr_assert_eq(T.nreq, 1);
	cr_assert_eq(T.nsent, 0);
	wait_for(ck_nsent, 1, 1000);              /* the TU is slow: 100 Trying */
	cr_assert(strncmp(T.sent[0].buf, "SIP/2.0 100 ", 12) == 0);
	cr_assert_null(strstr(T.sent[0].buf, "tag=s1"));
	feed_req("INVITE", "z9hG4bKs1", "10.0.0.9", &UDP);   /* retransmission */
	cr_assert_eq(T.nreq, 1);
	cr_assert_eq(T.nsent, 2);
	cr_assert_eq(strcmp(T.sent[1].buf, T.sent[0].buf), 0);
	struct respond r = { 486, 0 };
	cr_assert_eq(eng_job_run(T.w, respond_job, &r), 0);
	cr_assert_eq(r.rc, 0);
	cr_assert(strncmp(T.sent[2].buf, "SIP/2.0 486 ", 12) == 0);
	cr_assert(strstr(T.sent[2].buf, ";tag=s1"));
	wait_for(ck_nsent, 6, 1000);              /* G: T1, 2T1, 4T1 */
	for (int i = 2; i < 5; i++) {
		int gap = (int)(T.sent[i + 1].at_ms - T.sent[i].at_ms);
		int want = T1 << (i - 2);
		cr_assert(gap >= want - 2 && gap <= want + 25, "G gap %d: %d ms", i, gap);
		cr_assert_eq(strcmp(T.sent[i + 1].buf, T.sent[2].buf), 0);
	}
	feed_req("ACK", "z9hG4bKs1", "10.0.0.9", &UDP);
	int n = T.nsent;
	nap(200);
	cr_assert_eq(T.nsent, n, "no G after ACK");
	cr_assert_eq(T.nack, 0);
	wait_for(ck_idle, 0, 1000);               /* I */
	cr_assert_eq(T.nerr, 0);
}

Test(sip_txn, invite_server_no_ack_h_fires)
{
	T.answer = 603;
	start();
	feed_req("INVITE", "z9hG4bKs2", "10.0.0.9", &UDP);
	wait_for(ck_nerr, 1, 3000);
	cr_assert_eq(T.err_status, 408);
	/* G: 0, 20, 60, 140, 220, ... up to H = 1280 */
	cr_assert(T.nsent >= 15 && T.nsent <= 19, "sent %d", T.nsent);
	get_stats();
	cr_assert_eq(stats.active, 0);
}

Test(sip_txn, invite_server_immediate_trying_and_reliable_final)
{
	T.cfg.trying_ms = 0;
	start();
	feed_req("INVITE", "z9hG4bKs3", "10.0.0.9", &TCP);
	cr_assert_eq(T.nsent, 1, "100 Trying before the TU is asked");
	cr_assert(strncmp(T.sent[0].buf, "SIP/2.0 100 ", 12) == 0);
	struct respond r = { 480, 0 };
	cr_assert_eq(eng_job_run(T.w, respond_job, &r), 0);
	nap(150);
	cr_assert_eq(T.nsent, 2, "no G on TCP");
	feed_req("ACK", "z9hG4bKs3", "10.0.0.9", &TCP);
	wait_for(ck_idle, 0, 200);                /* I = 0 on TCP */
}

Test(sip_txn, non_invite_server_absorbs_and_j)
{
	T.answer = 200;
	start();
	feed_req("MESSAGE", "z9hG4bKn1", "10.0.0.9", &UDP);
	cr_assert_eq(T.nreq, 1);
	cr_assert_eq(T.nsent, 1);
	feed_req("MESSAGE", "z9hG4bKn1", "10.0.0.9", &UDP);
	cr_assert_eq(T.nreq, 1);
	cr_assert_eq(T.nsent, 2);
	cr_assert_eq(strcmp(T.sent[0].buf, T.sent[1].buf), 0);
	/* the same branch from another sent-by is another transaction (§17.2.3) */
	feed_req("MESSAGE", "z9hG4bKn1", "10.0.0.10", &UDP);
	cr_assert_eq(T.nreq, 2);
	get_stats();
	cr_assert_eq(stats.active, 2);
	wait_for(ck_idle, 0, 3000);               /* J = 64*T1 */
	/* over TCP the transaction ends with the final response */
	feed_req("MESSAGE", "z9hG4bKn2", "10.0.0.9", &TCP);
	get_stats();
	cr_assert_eq(stats.active, 0);
}

Test(sip_txn, unanswered_non_invite_server_ends_with_408)
{
	start();
	feed_req("OPTIONS", "z9hG4bKu1", "10.0.0.9", &UDP);
	feed_req("OPTIONS", "z9hG4bKu1", "10.0.0.9", &UDP);   /* absorbed, nothing to resend */
	cr_assert_eq(T.nreq, 1);
	cr_assert_eq(T.nsent, 0);
	wait_for(ck_nerr, 1, 3000);
	cr_assert_eq(T.err_status, 408);
	get_stats();
	cr_assert(stats.active == 0 && stats.absorbed == 1 && stats.timeouts == 1);
}

Test(sip_txn, stray_ack_goes_to_the_tu_and_cancel_finds_invite)
{
	start();
	feed_req("ACK", "z9hG4bKa1", "10.0.0.9", &UDP);
	cr_assert_eq(T.nack, 1);
	feed_req("INVITE", "z9hG4bKc1", "10.0.0.9", &UDP);
	struct sip_txn *inv = T.st;
	feed_req("CANCEL", "z9hG4bKc1", "10.0.0.9", &UDP);
	cr_assert_eq(T.nreq, 2);
	cr_assert_neq(T.st, inv);
	cr_assert_eq(sip_txn_method(T.st), SIP_M_CANCEL);
	cr_assert_eq(sip_txn_find_invite(T.l, T.st), inv);
}

/* ---- limits ----------------------------------------------------------------------------- */

Test(sip_txn, limit_refuses_and_free_with_pending)
{
	T.cfg.max_txns = 2;
	T.refuse_with = 503;
	start();
	cr_assert_eq(client("INVITE", "z9hG4bKl1", &UDP), 0);
	feed_req("MESSAGE", "z9hG4bKl2", "10.0.0.9", &UDP);
	cr_assert_eq(T.nreq, 1);
	int n = T.nsent;
	feed_req("MESSAGE", "z9hG4bKl3", "10.0.0.9", &UDP);
	cr_assert_eq(T.nnull, 1);
	cr_assert(strncmp(T.sent[n].buf, "SIP/2.0 503 ", 12) == 0);
	cr_assert_eq(client("OPTIONS", "z9hG4bKl4", &UDP), -EBUSY);
	get_stats();
	cr_assert(stats.refused == 2 && stats.active == 2, "refused %llu, active %u",
		  (unsigned long long)stats.refused, stats.active);
	/* teardown frees the layer with both transactions and their timers pending */
}

Test(sip_txn, transport_error_on_retransmission)
{
	start();
	cr_assert_eq(client("MESSAGE", "z9hG4bKe1", &UDP), 0);
	T.fail_send = 1;                          /* read on the worker after the job: fine */
	wait_for(ck_nresp, 1, 1000);
	cr_assert_eq(T.last_status, 503);
	get_stats();
	cr_assert_eq(stats.tp_errors, 1);
	cr_assert_eq(stats.active, 0);
}

/* An INVITE server transaction its TU keeps answering with provisionals lives on past
 * proceeding_ms from its start (a queued call: 182 every minute); one left silent ends. */
Test(sip_txn, provisionals_keep_an_invite_server_transaction_alive)
{
	T.cfg.proceeding_ms = 300;
	start();
	feed_req("INVITE", "z9hG4bKq1", "10.0.0.9", &UDP);
	cr_assert_eq(T.nreq, 1);
	struct respond r = { 182, -1 };
	for (int i = 0; i < 4; i++) { /* 4 x 200 ms: past 300 ms from the start */
		nap(200);
		cr_assert_eq(eng_job_run(T.w, respond_job, &r), 0);
		cr_assert_eq(r.rc, 0, "the 182 of round %d: %d", i, r.rc);
	}
	cr_expect_eq(T.nerr, 0, "ended while its TU still answered");
	wait_for(ck_nerr, 1, 2000); /* silent now: proceeding_ms after the last 182 */
	cr_expect_eq(T.err_status, 408);
}

/* A request whose Via has no RFC 3261 branch (RFC 2543) is not served: answered 400, counted as
 * dropped, no transaction. */
Test(sip_txn, request_without_branch_answered_400)
{
	start();
	struct input in = { .src = UDP };
	in.len = snprintf(in.buf, sizeof(in.buf),
			  "MESSAGE sip:bob@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 10.0.0.1:5060\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:alice@example.com>;tag=a1\r\n"
			  "To: <sip:bob@example.com>\r\n"
			  "Call-ID: nobranch@example.com\r\n"
			  "CSeq: 1 MESSAGE\r\n"
			  "Content-Length: 0\r\n\r\n");
	cr_assert_eq(eng_job_run(T.w, input_job, &in), 0);
	cr_assert_eq(in.rc, -EINVAL);
	cr_assert_eq(T.nsent, 1, "the 400");
	cr_assert(!strncmp(T.sent[0].buf, "SIP/2.0 400 ", 12), "%s", T.sent[0].buf);
	cr_assert(strstr(T.sent[0].buf, "Call-ID: nobranch@example.com\r\n"));
	get_stats();
	cr_assert_eq(stats.dropped, 1);
	cr_assert_eq(stats.server_created, 0);
	cr_assert_eq(T.nreq, 0, "not given to the TU");
	/* a branch without the magic cookie: the same (two such requests would be taken for
	 * one transaction) */
	in.len = req(in.buf, sizeof(in.buf), "MESSAGE", "1234", "10.0.0.1");
	cr_assert_eq(eng_job_run(T.w, input_job, &in), 0);
	cr_assert_eq(in.rc, -EINVAL);
	cr_assert_eq(T.nsent, 2);
	cr_assert(!strncmp(T.sent[1].buf, "SIP/2.0 400 ", 12), "%s", T.sent[1].buf);
	cr_assert_eq(T.nreq, 0);
}

static unsigned tp_failed;
static void tp_failed_job(void *arg) { tp_failed = sip_txn_transport_failed(T.l, arg); }

/* The connection to a peer failed or went down: the client transactions sent over it that
 * heard nothing end with 503 at once; one that had a provisional and one over another
 * connection are left to their timers (max_txns is 4 here). */
Test(sip_txn, transport_failure_ends_the_client_transactions_that_heard_nothing)
{
	start();
	struct sip_dest other = TCP;
	other.conn_id = 8;
	cr_assert_eq(client("INVITE", "z9hG4bKf1", &TCP), 0);
	cr_assert_eq(client("MESSAGE", "z9hG4bKf2", &TCP), 0);
	cr_assert_eq(client("INVITE", "z9hG4bKf3", &TCP), 0);
	feed_resp(180, "INVITE", "z9hG4bKf3");
	cr_assert_eq(client("MESSAGE", "z9hG4bKf4", &other), 0);
	int before = T.nresp;
	cr_assert_eq(eng_job_run(T.w, tp_failed_job, (void *)&TCP), 0);
	cr_assert_eq(tp_failed, 2);
	cr_assert_eq(T.nresp, before + 2);
	cr_assert_eq(T.last_status, 503);
	cr_assert_eq(T.resp_method[before], SIP_M_INVITE, "failed in the order sent");
	cr_assert_eq(T.resp_method[before + 1], SIP_M_MESSAGE);
	get_stats();
	cr_assert_eq(stats.tp_errors, 2);
	cr_assert_eq(stats.active, 2);
	/* again: the two left were not on the list of those waiting (nothing more to fail) */
	cr_assert_eq(eng_job_run(T.w, tp_failed_job, (void *)&TCP), 0);
	cr_assert_eq(tp_failed, 0);
}

/* What the TU sends from the callback of a failure (the next try, here over the same
 * address) is not failed with the transactions of the connection that went down. */
Test(sip_txn, transport_failure_spares_what_the_tu_sends_from_its_callback)
{
	start();
	cr_assert_eq(client("MESSAGE", "z9hG4bKg1", &TCP), 0);
	cr_assert_eq(client("MESSAGE", "z9hG4bKg2", &TCP), 0);
	T.resend_on_503 = 2;
	T.resend_to = &TCP;
	cr_assert_eq(eng_job_run(T.w, tp_failed_job, (void *)&TCP), 0);
	cr_assert_eq(tp_failed, 2);
	get_stats();
	cr_assert_eq(stats.active, 2, "both resends are alive");
	cr_assert_eq(stats.client_created, 4);
	cr_assert_eq(eng_job_run(T.w, tp_failed_job, (void *)&TCP), 0);
	cr_assert_eq(tp_failed, 2, "the resends were on the waiting list");
}
