/* test_msrp_conn.c — MSRP over engine connections, both backends: requests and their
 * responses, Failure-Report rules, 501, local 408 and 503, broken streams, slow heads,
 * the transaction limit. A server and a client msrp_conn talk over loopback; a WebSocket
 * client (msrp_ws_connect) talks to the server's msrp_conn_new_ws side. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_hist.h"
#include "engine/eng.h"
#include "msrp/msrp_conn.h"
#include "msrp/msrp_hdr.h"
#include "msrp/msrp_ws.h"
#include "tests/lib/proc.h"
#include "tests/lib/wait.h"

static sem_t done;

static int wait_done(int ms) { return sem_wait_ms(&done, ms); }

/* ---- the server: answers SEND 200 (or nothing when told), records what it saw ------- */

static struct {
	_Atomic int port;
	_Atomic int ws_port;         /* the same server behind WebSocket (msrp_conn_new_ws) */
	int body_in_buf;             /* bodies came with an eng_buf */
	int body_copied;             /* bodies came with NULL (copy them) */
	struct msrp_worker *mw;
	eng_worker *w;
	int answer;                  /* 1: respond 200 at END, 0: stay silent */
	int close_on_head;           /* close the connection when a request arrives */
	int hold_ms;                 /* >0: the first body bytes pause reading for this long */
	eng_conn *held;              /* ... the connection paused */
	eng_timer hold_timer;
	char body[1 << 16];
	size_t body_len;
	char method[16];
	int heads, ends;
	enum msrp_flag flag;
	struct msrp_msg last;        /* copy for answering at END (slices invalid by then) */
	char head_copy[4096];
	_Atomic int closed;
	_Atomic int close_err;
	struct msrp_conn_stats st;
} srv;

static void srv_head(struct msrp_conn *mc, const struct msrp_msg *m)
{
	srv.heads++;
	snprintf(srv.method, sizeof(srv.method), "%.*s", (int)m->method_name.len, m->method_name.p);
	if (srv.close_on_head) {
		msrp_conn_close(mc);
		return;
	}
	/* answer right away for frames without a body, else at END: respond needs the
	 * request's slices, so answer from here and remember nothing */
	if (srv.answer)
		msrp_conn_respond(mc, m, 200, CM_SLICE_NULL, NULL, 0);
}

static void hold_end(eng_timer *t)
{
	(void)t;
	eng_read_resume(srv.held);
}

static void srv_body(struct msrp_conn *mc, eng_buf *b, cm_slice body)
{
	if (srv.hold_ms && !srv.held) {
		/* the owner stops reading (as the relay does for a slow destination) */
		srv.held = msrp_conn_eng(mc);
		eng_read_pause(srv.held);
		eng_timer_init(&srv.hold_timer, hold_end, NULL);
		eng_timer_arm(srv.w, &srv.hold_timer, (uint32_t)srv.hold_ms);
	}
	if (b)
		srv.body_in_buf++;
	else
		srv.body_copied++;
	if (srv.body_len + body.len <= sizeof(srv.body)) {
		memcpy(srv.body + srv.body_len, body.p, body.len);
		srv.body_len += body.len;
	}
}

static void srv_end(struct msrp_conn *mc, enum msrp_flag flag)
{
	(void)mc;
	srv.ends++;
	srv.flag = flag;
}

static void srv_close(struct msrp_conn *mc, int err)
{
	(void)mc;
	if (srv.held)
		eng_timer_cancel(&srv.hold_timer);
	srv.held = NULL;
	srv.hold_ms = 0;
	srv.close_err = err;
	srv.closed++;
	srv.st = *msrp_worker_stats(srv.mw);
}

static const struct msrp_conn_ops srv_ops = {
	.on_head = srv_head, .on_body = srv_body, .on_end = srv_end, .on_close = srv_close,
};

static void srv_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	cr_assert(msrp_conn_new(srv.mw, c, &srv_ops, NULL));
}

static struct msrp_conn_cfg ccfg;
static struct msrp_ws_cfg wcfg;

static void srv_accept_ws(eng_listener *l, eng_conn *c)
{
	(void)l;
	cr_assert(msrp_conn_new_ws(srv.mw, c, &wcfg, &srv_ops, NULL));
}

static void init(eng_worker *w, void *arg)
{
	int err;
	(void)arg;
	srv.w = w;
	srv.mw = msrp_worker_new(w, &ccfg);
	cr_assert(srv.mw);
	eng_listener *l = eng_listen(w, "127.0.0.1:0", 0, NULL, srv_accept, NULL, &err);
	cr_assert(l);
	eng_listener *lw = eng_listen(w, "127.0.0.1:0", 0, NULL, srv_accept_ws, NULL, &err);
	cr_assert(lw);
	srv.ws_port = eng_listener_port(lw);
	srv.port = eng_listener_port(l);
}

/* ---- the client ----------------------------------------------------------------------- */

static struct {
	struct msrp_conn *mc;
	int status[64];
	int nstatus;
	int rc;
	_Atomic int closed;
} cli;

static void cli_resp(struct msrp_conn *mc, void *arg, int status, const struct msrp_msg *resp)
{
	(void)mc; (void)resp;
	intptr_t i = (intptr_t)arg;
	if (i >= 0 && i < 64)
		cli.status[i] = status;
	cli.nstatus++;
	sem_post(&done);
}

static void cli_nop_head(struct msrp_conn *mc, const struct msrp_msg *m) { (void)mc; (void)m; }
static void cli_nop_body(struct msrp_conn *mc, eng_buf *b, cm_slice s) { (void)mc; (void)b; (void)s; }
static void cli_nop_end(struct msrp_conn *mc, enum msrp_flag f) { (void)mc; (void)f; }
static void cli_close(struct msrp_conn *mc, int err) { (void)mc; (void)err; cli.closed++; }
static const struct msrp_conn_ops cli_ops = {
	.on_head = cli_nop_head, .on_body = cli_nop_body, .on_end = cli_nop_end,
	.on_close = cli_close,
};

static void cli_connect(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg; (void)u;
	char hp[32];
	eng_conn *c = NULL;
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", (int)srv.port);
	cr_assert_eq(eng_connect(w, hp, NULL, NULL, NULL, NULL, &c), 0);
	cli.mc = msrp_conn_new(srv.mw, c, &cli_ops, NULL);
	cr_assert(cli.mc);
	sem_post(&done);
}

/* What to send: index i of a small table of request kinds. */
enum kind { K_SEND, K_SEND_FR_NO, K_OTHER, K_BIG };
static const char big_body[] = "hello\r\n-------notmytid$\r\n------- almost\r\nbye";

static void cli_send(eng_worker *w, void *arg, uint64_t i)
{
	(void)w;
	enum kind k = (enum kind)(intptr_t)arg;
	char tid[16];
	snprintf(tid, sizeof(tid), "tid%04u", (unsigned)i);
	struct msrp_out m = {
		.tid = { tid, strlen(tid) },
		.method = MSRP_M_SEND,
		.to_path = CM_SLICE_LIT("msrp://127.0.0.1:2855/srv123;tcp"),
		.from_path = CM_SLICE_LIT("msrp://127.0.0.1:2856/cli456;tcp"),
		.message_id = CM_SLICE_LIT("msg0001"),
		.content_type = CM_SLICE_LIT("text/plain"),
	};
	cm_slice body = CM_SLICE_LIT("Hi there");
	if (k == K_SEND_FR_NO)
		m.failure_report = MSRP_REPORT_NO;
	if (k == K_OTHER) {
		m.method = MSRP_M_OTHER;
		m.method_name = CM_SLICE_LIT("FROB");
		m.content_type = CM_SLICE_NULL;
	}
	if (k == K_BIG)
		body = (cm_slice){ big_body, sizeof(big_body) - 1 };
	cli.rc = msrp_conn_request(cli.mc, &m, &body, 1, MSRP_FLAG_END, cli_resp,
				   (void *)(intptr_t)i);
	if (k == K_SEND_FR_NO || cli.rc < 0)
		sem_post(&done);
}

static eng_engine *e;
static uint32_t body_timeout_ms, body_min_rate; /* the next start()'s, when not 0 */

static void start(enum eng_backend be)
{
	struct eng_config cfg;
	char err[128];
	memset(&srv, 0, sizeof(srv));
	memset(&cli, 0, sizeof(cli));
	srv.answer = 1;
	sem_init(&done, 0, 0);
	msrp_conn_cfg_default(&ccfg);
	msrp_ws_cfg_defaults(&wcfg);
	ccfg.txn_timeout_ms = 300;
	ccfg.head_timeout_ms = 300;
	ccfg.max_txns = 4;
	if (body_timeout_ms)
		ccfg.body_timeout_ms = body_timeout_ms;
	if (body_min_rate)
		ccfg.body_min_rate = body_min_rate;
	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = 1;
	cfg.pin = 0;
	e = eng_create(&cfg, err, sizeof(err));
	cr_assert(e, "%s", err);
	cr_assert_eq(eng_start(e, init, NULL), 0);
	for (int i = 0; i < 200 && !srv.port; i++)
		usleep(5000);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), cli_connect, NULL, 0), 0);
	cr_assert_eq(wait_done(5000), 0);
}

static void stop(void)
{
	eng_destroy(e);
	/* connections are closed by then; the worker context goes last */
	msrp_worker_free(srv.mw);
}

static void post_send(enum kind k, uint64_t i)
{
	cr_assert_eq(eng_post(eng_worker_at(e, 0), cli_send, (void *)(intptr_t)k, i), 0);
}

static void request_response(enum eng_backend be)
{
	start(be);
	post_send(K_SEND, 0);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect_eq(cli.status[0], 200);
	cr_expect_str_eq(srv.method, "SEND");
	cr_expect_eq(srv.body_len, 8);
	cr_expect(memcmp(srv.body, "Hi there", 8) == 0);
	cr_expect_eq(srv.flag, MSRP_FLAG_END);
	/* a body with lookalike end-lines comes through whole */
	srv.body_len = 0;
	post_send(K_BIG, 1);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect_eq(cli.status[1], 200);
	cr_expect_eq(srv.body_len, sizeof(big_body) - 1);
	cr_expect(memcmp(srv.body, big_body, sizeof(big_body) - 1) == 0);
	/* an unknown method gets 501 from the connection layer, the owner never sees it */
	int heads = srv.heads;
	post_send(K_OTHER, 2);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect_eq(cli.status[2], 501);
	cr_expect_eq(srv.heads, heads);
	stop();
}

Test(msrp_conn, request_response_io_uring, .timeout = 20) { request_response(ENG_BACKEND_IO_URING); }
Test(msrp_conn, request_response_epoll, .timeout = 20) { request_response(ENG_BACKEND_EPOLL); }

static void failure_report_no_and_timeout(enum eng_backend be)
{
	start(be);
	/* Failure-Report: no: the server must not answer, the client expects nothing */
	post_send(K_SEND_FR_NO, 0);
	cr_assert_eq(wait_done(5000), 0);
	usleep(500000);
	cr_expect_eq(cli.nstatus, 0, "a response came for Failure-Report: no");
	cr_expect_eq(srv.ends, 1);
	/* a silent server: the client's transaction ends with a local 408 */
	srv.answer = 0;
	post_send(K_SEND, 1);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect_eq(cli.status[1], 408);
	stop();
}

Test(msrp_conn, failure_report_no_and_timeout_io_uring, .timeout = 20)
{
	failure_report_no_and_timeout(ENG_BACKEND_IO_URING);
}
Test(msrp_conn, failure_report_no_and_timeout_epoll, .timeout = 20)
{
	failure_report_no_and_timeout(ENG_BACKEND_EPOLL);
}

static void limit_and_lost(enum eng_backend be)
{
	start(be);
	srv.answer = 0;
	/* max_txns = 4: the fifth waits for nothing and is refused */
	for (int i = 0; i < 4; i++)
		post_send(K_SEND, (uint64_t)i);
	usleep(100000);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), cli_send, (void *)K_SEND, 4), 0);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect_eq(cli.rc, -EAGAIN);
	/* the four time out */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(wait_done(5000), 0);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(cli.status[i], 408);
	/* a server that closes: the pending request ends with a local 503 */
	srv.close_on_head = 1;
	ccfg.txn_timeout_ms = 5000;
	post_send(K_SEND, 5);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect_eq(cli.status[5], 503);
	stop();
}

Test(msrp_conn, txn_limit_and_connection_lost_io_uring, .timeout = 20)
{
	limit_and_lost(ENG_BACKEND_IO_URING);
}
Test(msrp_conn, txn_limit_and_connection_lost_epoll, .timeout = 20)
{
	limit_and_lost(ENG_BACKEND_EPOLL);
}

/* ---- the counters by method and status, and the round trips ---------------------------- */

static struct msrp_conn_stats counted;

static void copy_stats(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	counted = *msrp_worker_stats(srv.mw);
	sem_post(&done);
}

/* The worker's counters, copied on its thread. */
static const struct msrp_conn_stats *stats_now(void)
{
	cr_assert_eq(eng_post(eng_worker_at(e, 0), copy_stats, NULL, 0), 0);
	cr_assert_eq(wait_done(5000), 0);
	return &counted;
}

static void by_method_and_status(enum eng_backend be)
{
	start(be);
	/* two SENDs answered 200 and an unknown method answered 501; client and server share
	 * the worker, so each frame counts once out and once in */
	post_send(K_SEND, 0);
	cr_assert_eq(wait_done(5000), 0);
	post_send(K_BIG, 1);
	cr_assert_eq(wait_done(5000), 0);
	post_send(K_OTHER, 2);
	cr_assert_eq(wait_done(5000), 0);
	const struct msrp_conn_stats *st = stats_now();
	unsigned s = msrp_conn_method_slot(MSRP_M_SEND), o = msrp_conn_method_slot(MSRP_M_OTHER);
	unsigned c200 = msrp_conn_code_slot(200), c501 = msrp_conn_code_slot(501);
	cr_expect_str_eq(msrp_conn_method_names[s], "SEND");
	cr_expect_str_eq(msrp_conn_method_names[o], "other");
	cr_expect_str_eq(msrp_conn_code_names[c501], "501");
	for (int d = 0; d < 2; d++) {
		cr_expect_eq(st->req_method[d][s], 2, "SENDs %s", d ? "out" : "in");
		cr_expect_eq(st->req_method[d][o], 1, "other requests %s", d ? "out" : "in");
		cr_expect_eq(st->resp_code[d][c200], 2, "200s %s", d ? "out" : "in");
		cr_expect_eq(st->resp_code[d][c501], 1, "501s %s", d ? "out" : "in");
	}
	cr_expect_eq(st->req_method[1][msrp_conn_method_slot(MSRP_M_REPORT)], 0);
	cr_expect_eq(cm_hist_count(&st->txn_rtt), 3, "three round trips");
	cr_expect_eq(st->txn_rtt.bucket[CM_HIST_BOUNDS], 0, "a loopback round trip over 10 s");

	/* a silent server: the local 408 is no response and no round trip */
	srv.answer = 0;
	post_send(K_SEND, 3);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect_eq(cli.status[3], 408);
	st = stats_now();
	cr_expect_eq(st->req_method[1][s], 3);
	cr_expect_eq(st->resp_code[0][msrp_conn_code_slot(408)], 0);
	cr_expect_eq(cm_hist_count(&st->txn_rtt), 3);
	stop();
}

Test(msrp_conn, counts_by_method_and_status_io_uring, .timeout = 20)
{
	by_method_and_status(ENG_BACKEND_IO_URING);
}
Test(msrp_conn, counts_by_method_and_status_epoll, .timeout = 20)
{
	by_method_and_status(ENG_BACKEND_EPOLL);
}

/* msrp_conn_count_frame_out reads a frame's start line (no connection needed beyond its
 * worker's counters). */
static void count_frames(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	static const char *const frames[] = {
		"MSRP abc 200 OK\r\nTo-Path: x\r\n", "MSRP abc 423 Interval-Out-Of-Bounds\r\n",
		"MSRP abc 299\r\n", "MSRP abc REPORT\r\n", "MSRP abc AUTH\r\n",
		"MSRP abc FROB\r\n", "MSRP abc SEND\r\n", "HTTP/1.1 200 OK\r\n", "MSRP x",
	};
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		msrp_conn_count_frame_out(cli.mc, frames[i], strlen(frames[i]));
	counted = *msrp_worker_stats(srv.mw);
	sem_post(&done);
}

Test(msrp_conn, frames_of_owners_counted_by_start_line, .timeout = 20)
{
	start(ENG_BACKEND_EPOLL);
	cr_assert_eq(eng_post(eng_worker_at(e, 0), count_frames, NULL, 0), 0);
	cr_assert_eq(wait_done(5000), 0);
	const uint64_t *rq = counted.req_method[1], *rs = counted.resp_code[1];
	cr_expect_eq(rs[msrp_conn_code_slot(200)], 1);
	cr_expect_eq(rs[msrp_conn_code_slot(423)], 1);
	cr_expect_eq(rs[msrp_conn_code_slot(299)], 1, "an unlisted code is other");
	cr_expect_eq(rq[msrp_conn_method_slot(MSRP_M_REPORT)], 1);
	cr_expect_eq(rq[msrp_conn_method_slot(MSRP_M_AUTH)], 1);
	cr_expect_eq(rq[msrp_conn_method_slot(MSRP_M_SEND)], 1);
	cr_expect_eq(rq[msrp_conn_method_slot(MSRP_M_OTHER)], 1, "FROB; not MSRP: nothing");
	stop();
}

/* ---- raw peers: a broken stream, a slow head ------------------------------------------ */

static int raw_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads until EOF; returns the bytes read (and -1 on timeout). */
static ssize_t read_to_eof(int fd, char *buf, size_t len)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + got, len - got - 1, 0);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Seconds since <t0> (proc_now_ms()). */
static double since(long long t0)
{
	return (double)(proc_now_ms() - t0) / 1e3;
}

static void broken_and_slow(enum eng_backend be)
{
	char buf[4096];
	start(be);
	int closed0 = srv.closed;
	int fd = raw_connect();
	const char junk[] = "HTTP/1.1 200 OK\r\n\r\n";
	cr_assert(send(fd, junk, sizeof(junk) - 1, 0) > 0);
	cr_expect_geq(read_to_eof(fd, buf, sizeof(buf)), 0, "a broken stream was not closed");
	close(fd);
	for (int i = 0; i < 200 && srv.closed == closed0; i++)
		usleep(5000);
	cr_expect_eq(srv.close_err, -EPROTO);
	cr_expect_geq(srv.st.stream_errors, 1);

	/* a head that never ends: closed after head_timeout (300 ms), not idle_timeout */
	fd = raw_connect();
	const char part[] = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://127.0.0.1:2855/x;tcp\r\n";
	long long t0 = proc_now_ms();
	cr_assert(send(fd, part, sizeof(part) - 1, 0) > 0);
	ssize_t rr = read_to_eof(fd, buf, sizeof(buf));
	cr_expect_geq(rr, 0, "a slow head was not cut off (%s, close_err %d)", strerror(errno), (int)srv.close_err);
	double s = since(t0);
	cr_expect(s >= 0.25 && s < 2.0, "closed after %.2f s", s);
	close(fd);
	usleep(50000);
	cr_expect_geq(srv.st.head_timeouts, 1);

	/* a peer that connects and says nothing: the first head is due within head_timeout
	 * too (RFC 4975 §5.4: who opens a connection sends a request at once) */
	fd = raw_connect();
	t0 = proc_now_ms();
	rr = read_to_eof(fd, buf, sizeof(buf));
	s = since(t0);
	cr_expect_geq(rr, 0, "a silent connection was not cut off");
	cr_expect(s >= 0.25 && s < 2.0, "silent connection closed after %.2f s", s);
	close(fd);
	stop();
}

Test(msrp_conn, broken_stream_and_slow_head_io_uring, .timeout = 20)
{
	broken_and_slow(ENG_BACKEND_IO_URING);
}
Test(msrp_conn, broken_stream_and_slow_head_epoll, .timeout = 20)
{
	broken_and_slow(ENG_BACKEND_EPOLL);
}

/* ---- a frame's body at a minimum rate (body_timeout_ms, body_min_rate) ---------------- */

#define SLOWB_HEAD "MSRP slowb001 SEND\r\nTo-Path: msrp://127.0.0.1:2855/x;tcp\r\n" \
		   "From-Path: msrp://127.0.0.1:2856/y;tcp\r\nMessage-ID: m1\r\n" \
		   "Byte-Range: 1-2000/2000\r\nContent-Type: text/plain\r\n\r\n"

/* Sends <n> body bytes ('b') on <fd>. */
static void body_bytes(int fd, size_t n)
{
	char b[2000];
	memset(b, 'b', sizeof(b));
	cr_assert(n <= sizeof(b));
	cr_assert_eq(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void slow_body(enum eng_backend be)
{
	char buf[4096];
	long long t0;
	body_timeout_ms = 300;
	body_min_rate = 1000;
	start(be);
	body_timeout_ms = body_min_rate = 0;
	/* the client start() made says nothing: its connection is cut at head_timeout first */
	for (int i = 0; i < 400 && !srv.closed; i++)
		usleep(5000);
	int closed = srv.closed;
	cr_assert_eq(closed, 1);

	/* 10 bytes a second: cut at body_timeout (300 ms and 10 ms for the bytes) */
	int fd = raw_connect();
	t0 = proc_now_ms();
	cr_assert(send(fd, SLOWB_HEAD "ab", sizeof(SLOWB_HEAD "ab") - 1, 0) > 0);
	int cut = 0;
	for (int i = 0; i < 30 && !cut; i++) {
		usleep(100000);
		cut = send(fd, "b", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ||
		      recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == 0;
	}
	double s = since(t0);
	cr_expect(cut, "a trickled body was not cut off");
	cr_expect(s >= 0.25 && s < 1.5, "a trickled body cut after %.2f s", s);
	close(fd);
	for (int i = 0; i < 400 && srv.closed == closed; i++)
		usleep(5000);
	cr_expect_eq(srv.closed, closed + 1);
	cr_expect_eq(srv.close_err, -ETIMEDOUT);
	cr_expect_eq(srv.st.body_timeouts, 1);

	/* 2000 bytes a second, twice the minimum, for 0.6 s (twice the timeout): whole */
	int ends = srv.ends;
	closed = srv.closed;
	fd = raw_connect();
	cr_assert(send(fd, SLOWB_HEAD, sizeof(SLOWB_HEAD) - 1, 0) > 0);
	for (int i = 0; i < 12; i++) {
		usleep(50000);
		body_bytes(fd, 100);
	}
	static const char tail[] = "\r\n-------slowb001$\r\n";
	cr_assert_eq(send(fd, tail, sizeof(tail) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(tail) - 1);
	for (int i = 0; i < 200 && srv.ends == ends; i++)
		usleep(5000);
	cr_expect_eq(srv.ends, ends + 1, "a body at twice the minimum rate did not end");
	cr_expect_eq(srv.closed, closed, "a body at twice the minimum rate was cut");
	close(fd);
	for (int i = 0; i < 200 && srv.closed == closed; i++)
		usleep(5000);

	/* the owner stops reading for 0.8 s with the body begun (back-pressure): that time
	 * does not count, the rest (in the kernel meanwhile) is read after it, the frame ends */
	ends = srv.ends, closed = srv.closed;
	srv.hold_ms = 800;
	fd = raw_connect();
	t0 = proc_now_ms();
	cr_assert(send(fd, SLOWB_HEAD "bb", sizeof(SLOWB_HEAD "bb") - 1, 0) > 0);
	usleep(100000);
	body_bytes(fd, 1998);
	cr_assert_eq(send(fd, tail, sizeof(tail) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(tail) - 1);
	for (int i = 0; i < 600 && srv.ends == ends; i++)
		usleep(5000);
	s = since(t0);
	cr_expect_eq(srv.ends, ends + 1, "a body held by its reader did not end");
	cr_expect_eq(srv.closed, closed, "a body held by its reader was cut");
	cr_expect(s >= 0.75, "the body ended after %.2f s, before its reader resumed", s);
	close(fd);
	stop();
}

Test(msrp_conn, slow_body_cut_fast_body_and_held_reading_not_io_uring, .timeout = 20)
{
	slow_body(ENG_BACKEND_IO_URING);
}
Test(msrp_conn, slow_body_cut_fast_body_and_held_reading_not_epoll, .timeout = 20)
{
	slow_body(ENG_BACKEND_EPOLL);
}

/* ---- over WebSocket: a client on msrp_ws_connect, the server on msrp_conn_new_ws ---- */

#define WS_TO "To-Path: msrp://127.0.0.1:2855/srv123;ws\r\n"
#define WS_FROM "From-Path: msrp://127.0.0.1:2856/cli456;ws\r\n"
static const char ws_send[] =
	"MSRP wstid001 SEND\r\n" WS_TO WS_FROM
	"Message-ID: m1\r\nByte-Range: 1-8/8\r\nContent-Type: text/plain\r\n\r\n"
	"Hi there\r\n-------wstid001$\r\n";
static const char ws_frob[] = "MSRP wstid002 FROB\r\n" WS_TO WS_FROM "-------wstid002$\r\n";
static const char ws_send_nobody[] = "MSRP wstid003 SEND\r\n" WS_TO WS_FROM "-------wstid003$\r\n";

static struct {
	struct msrp_ws ws;
	char cur[1024];
	size_t cur_len;
	char msg[8][1024];           /* each WebSocket message received, NUL-terminated */
	const char *on_open;         /* what to send once open; NULL: ws_send and ws_frob */
	_Atomic int nmsgs;
	_Atomic int opened, closed, code;
} W;

static void wc_send(const char *frame)
{
	struct iovec iov = { (void *)frame, strlen(frame) };
	cr_expect_eq(msrp_ws_send_msg(&W.ws, &iov, 1), 0);
}

static void wc_open(void *ctx)
{
	(void)ctx;
	W.opened = 1;
	if (W.on_open) {
		wc_send(W.on_open);
		return;
	}
	/* one MSRP frame per WebSocket message (RFC 7977 §4.2) */
	wc_send(ws_send);
	wc_send(ws_frob);
}

static void wc_data(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	if (W.cur_len + len < sizeof(W.cur)) {
		memcpy(W.cur + W.cur_len, p, len);
		W.cur_len += len;
	}
}

static void wc_msg_end(void *ctx)
{
	(void)ctx;
	int i = W.nmsgs;
	if (i < 8) {
		memcpy(W.msg[i], W.cur, W.cur_len);
		W.msg[i][W.cur_len] = '\0';
	}
	W.cur_len = 0;
	W.nmsgs = i + 1;
	sem_post(&done);
}

static void wc_close(void *ctx, int code)
{
	(void)ctx;
	W.code = code;
	W.closed = 1;
	sem_post(&done);
}

static const struct msrp_ws_ops wc_ops = {
	.on_open = wc_open, .on_data = wc_data, .on_msg_end = wc_msg_end, .on_close = wc_close,
};

static void wc_connect(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg; (void)u;
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", (int)srv.ws_port);
	cr_assert_eq(msrp_ws_connect(&W.ws, w, hp, NULL, NULL, CM_SLICE_LIT("127.0.0.1"),
				     CM_SLICE_LIT("/msrp"), CM_SLICE_NULL, &wcfg, &wc_ops, NULL,
				     NULL, NULL), 0);
}

static void wc_send_last(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	wc_send(ws_send_nobody);
}

static void over_websocket(enum eng_backend be)
{
	start(be);
	memset(&W, 0, sizeof(W));
	cr_assert_eq(eng_post(eng_worker_at(e, 0), wc_connect, NULL, 0), 0);
	/* two responses, each one WebSocket message holding one whole frame */
	cr_assert_eq(wait_done(5000), 0);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect(W.opened);
	cr_assert_eq(W.nmsgs, 2);
	cr_expect(!strncmp(W.msg[0], "MSRP wstid001 200 OK\r\n", 22), "got <%s>", W.msg[0]);
	cr_expect(strstr(W.msg[0], "To-Path: msrp://127.0.0.1:2856/cli456;ws\r\n") != NULL,
		  "got <%s>", W.msg[0]);
	cr_expect(strstr(W.msg[0], "-------wstid001$\r\n") != NULL, "got <%s>", W.msg[0]);
	cr_expect(!strncmp(W.msg[1], "MSRP wstid002 501 ", 18), "got <%s>", W.msg[1]);
	cr_expect(strstr(W.msg[1], "-------wstid002$\r\n") != NULL, "got <%s>", W.msg[1]);
	cr_expect_str_eq(srv.method, "SEND");
	cr_expect_eq(srv.heads, 1, "the 501'd FROB reached the owner");
	cr_expect_eq(srv.ends, 1);
	cr_expect_eq(srv.flag, MSRP_FLAG_END);
	cr_expect_eq(srv.body_len, 8);
	cr_expect(memcmp(srv.body, "Hi there", 8) == 0);
	cr_expect_eq(srv.body_in_buf, 0, "a WebSocket body came with an eng_buf");
	cr_expect_geq(srv.body_copied, 1);
	/* the server closes from its owner's callback: a close handshake with 1000, the
	 * owner's on_close once with 0 */
	srv.close_on_head = 1;
	cr_assert_eq(eng_post(eng_worker_at(e, 0), wc_send_last, NULL, 0), 0);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect(W.closed);
	cr_expect_eq(W.code, 1000);
	for (int i = 0; i < 200 && !srv.closed; i++)
		usleep(5000);
	usleep(50000);
	cr_expect_eq(srv.closed, 1);
	cr_expect_eq(srv.close_err, 0);
	/* both ends of start()'s TCP pair, and the WebSocket one */
	cr_expect_eq(srv.st.conns, 3, "conns %llu", (unsigned long long)srv.st.conns);
	cr_expect_eq(msrp_worker_ws_stats(srv.mw)->upgrades, 1);
	cr_expect_eq(srv.st.answered_501, 1);
	stop();
}

Test(msrp_conn, over_websocket_io_uring, .timeout = 20) { over_websocket(ENG_BACKEND_IO_URING); }
Test(msrp_conn, over_websocket_epoll, .timeout = 20) { over_websocket(ENG_BACKEND_EPOLL); }

static void websocket_broken_and_slow(enum eng_backend be)
{
	start(be);
	/* not MSRP inside the WebSocket: closed with 1008, the owner hears -EPROTO */
	memset(&W, 0, sizeof(W));
	W.on_open = "HTTP/1.1 200 OK\r\n\r\n";
	cr_assert_eq(eng_post(eng_worker_at(e, 0), wc_connect, NULL, 0), 0);
	cr_assert_eq(wait_done(5000), 0);
	cr_expect(W.opened);
	cr_expect(W.closed);
	cr_expect_eq(W.code, 1008);
	for (int i = 0; i < 200 && srv.closed < 1; i++)
		usleep(5000);
	cr_expect_eq(srv.closed, 1);
	cr_expect_eq(srv.close_err, -EPROTO);
	cr_expect_geq(srv.st.stream_errors, 1);

	/* a WebSocket message that ends inside a frame (RFC 7977: one message carries whole
	 * frames): closed with 1008 at once, not left to wait for the rest */
	memset(&W, 0, sizeof(W));
	W.on_open = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://127.0.0.1:2855/x;ws\r\n";
	long long t0 = proc_now_ms();
	cr_assert_eq(eng_post(eng_worker_at(e, 0), wc_connect, NULL, 0), 0);
	cr_assert_eq(wait_done(5000), 0);
	double sec = since(t0);
	cr_expect(W.opened);
	cr_expect(W.closed);
	cr_expect_eq(W.code, 1008);
	cr_expect(sec < 0.25, "closed after %.2f s", sec);
	for (int i = 0; i < 200 && srv.closed < 2; i++)
		usleep(5000);
	cr_expect_eq(srv.closed, 2);
	cr_expect_eq(srv.close_err, -EPROTO);
	cr_expect_geq(srv.st.ws_split_frames, 1);
	stop();
}

Test(msrp_conn, websocket_broken_stream_and_split_frame_io_uring, .timeout = 20)
{
	websocket_broken_and_slow(ENG_BACKEND_IO_URING);
}
Test(msrp_conn, websocket_broken_stream_and_split_frame_epoll, .timeout = 20)
{
	websocket_broken_and_slow(ENG_BACKEND_EPOLL);
}
