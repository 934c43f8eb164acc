/* test_msrp_ua.c — the MSRP side of user-agent sessions, two of them on one worker talking
 * over loopback: an active one connects and binds, a passive one is bound by the first
 * request; messages in chunks both ways, reassembled whole, success REPORTs, 415 for a type
 * the receiver does not take, 481 once the receiver closed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "msrp/msrp_pool.h"
#include "msrp/msrp_reasm.h"
#include "msrp/msrp_ua.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/msrp_client.h"

static eng_engine *e;
static eng_worker *w;
static struct msrp_worker *mw;
static struct msrp_pool *pool;
static struct msrp_ua *ua;
static int port;

struct side {
	struct msrp_ua_sess *s;
	int ready, ended, nmsg;
	char last_ctype[64];
	size_t last_len;
	char last_body[8192];
	char report_id[64];
	int report_status, nreports;
	int64_t report_end, report_total; /* the REPORT's Byte-Range, -2 when none */
	uint64_t acked_end;                /* the highest chunk end answered 200 */
	int nacked;
};
static struct side pa, ac; /* passive and active */

static void ev_ready(struct msrp_ua_sess *s, void *arg) { (void)s; ((struct side *)arg)->ready = 1; }
static void ev_ended(struct msrp_ua_sess *s, void *arg, int err)
{
	(void)s;
	(void)err;
	((struct side *)arg)->ended = 1;
}
static void ev_message(struct msrp_ua_sess *s, void *arg, struct msrp_reasm_msg *m)
{
	struct side *d = arg;
	(void)s;
	d->nmsg++;
	d->last_len = m->len < sizeof(d->last_body) ? m->len : sizeof(d->last_body);
	memcpy(d->last_body, m->data, d->last_len);
	snprintf(d->last_ctype, sizeof(d->last_ctype), "%s", m->content_type ? m->content_type : "");
	msrp_reasm_msg_free(m);
}
static void ev_report(struct msrp_ua_sess *s, void *arg, const char *id, int status,
		      const struct msrp_range *range)
{
	struct side *d = arg;
	(void)s;
	snprintf(d->report_id, sizeof(d->report_id), "%s", id);
	d->report_status = status;
	d->report_end = range ? range->end : -2;
	d->report_total = range ? range->total : -2;
	d->nreports++;
}
/* the passive side takes text only */
static int accept_text(void *arg, cm_slice ct)
{
	(void)arg;
	return ct.len >= 5 && memcmp(ct.p, "text/", 5) == 0;
}
static void ev_acked(struct msrp_ua_sess *s, void *arg, const char *id, uint64_t start,
		     uint64_t end)
{
	struct side *d = arg;
	(void)s;
	(void)id;
	cr_assert_lt(start, end);
	if (end > d->acked_end)
		d->acked_end = end;
	d->nacked++;
}
static const struct msrp_ua_events ev_pa = { .ready = ev_ready, .message = ev_message,
					     .report = ev_report, .ended = ev_ended,
					     .accept = accept_text, .acked = ev_acked };
static const struct msrp_ua_events ev_ac = { .ready = ev_ready, .message = ev_message,
					     .report = ev_report, .ended = ev_ended,
					     .acked = ev_acked };

static void on_accept(eng_listener *l, eng_conn *c)
{
	msrp_conn_new(mw, c, msrp_ua_conn_ops(), l->udata);
}

/* The UA on the worker, listening; <arg>: a struct msrp_ua_cfg with hooks, or NULL. */
static void setup_job(void *arg)
{
	struct msrp_conn_cfg cc;
	struct msrp_ua_cfg uc = { .chunk_size = 1000 };
	int err;
	if (arg)
		uc = *(const struct msrp_ua_cfg *)arg;
	msrp_conn_cfg_default(&cc);
	msrp_reasm_cfg_defaults(&uc.reasm);
	mw = msrp_worker_new(w, &cc);
	pool = msrp_pool_new(mw, NULL, NULL, msrp_ua_conn_ops(), NULL);
	ua = msrp_ua_new(w, mw, pool, &uc);
	eng_listener *l = eng_listen(w, "127.0.0.1:0", 0, NULL, on_accept, ua, &err);
	port = l ? eng_listener_port(l) : 0;
}

static void teardown_job(void *arg)
{
	(void)arg;
	msrp_ua_free(ua);
	msrp_pool_free(pool);
}

static void setup_with(struct msrp_ua_cfg *uc)
{
	char err[256];
	e = eng_job_engine(0, err, sizeof(err));
	cr_assert_not_null(e, "%s", err);
	w = eng_worker_at(e, 0);
	cr_assert_eq(eng_job_run(w, setup_job, uc), 0);
	cr_assert_gt(port, 0);
	memset(&pa, 0, sizeof(pa));
	memset(&ac, 0, sizeof(ac));
}

static void setup(void)
{
	setup_with(NULL);
}

static void teardown(void)
{
	eng_job_run(w, teardown_job, NULL);
	eng_stop(e);
	eng_destroy(e);
	msrp_worker_free(mw);
}

TestSuite(msrp_ua, .init = setup, .fini = teardown, .timeout = 20);

static char uri_p[96], uri_a[96];

static void open_job(void *arg)
{
	int err;
	(void)arg;
	snprintf(uri_p, sizeof(uri_p), "msrp://127.0.0.1:%d/passive1;tcp", port);
	snprintf(uri_a, sizeof(uri_a), "msrp://127.0.0.1:9/active22;tcp");
	struct msrp_ua_sess_cfg p = { uri_p, uri_a, 0, 0 }, a = { uri_a, uri_p, 1, 0 };
	pa.s = msrp_ua_open(ua, &p, &ev_pa, &pa, &err);
	ac.s = msrp_ua_open(ua, &a, &ev_ac, &ac, &err);
}

static int both_ready(void *arg) { (void)arg; return pa.ready && ac.ready; }
static int pa_has(void *arg) { return pa.nmsg >= *(int *)arg; }
static int ac_has(void *arg) { return ac.nmsg >= *(int *)arg; }
static int ac_reports(void *arg) { return ac.nreports >= *(int *)arg; }
static int ac_acked(void *arg) { return ac.nacked >= *(int *)arg; }

static char big[3000];
static char sent_id[MSRP_ID_MSGID_LEN + 1];
static int send_rc;
struct send_req {
	struct side *from;
	const char *ctype;
	const char *body;
	size_t len;
	enum msrp_report sr;
};
static void send_job(void *arg)
{
	struct send_req *q = arg;
	sent_id[0] = '\0'; /* minted by msrp_ua_send */
	send_rc = msrp_ua_send(q->from->s, (cm_slice){ q->ctype, strlen(q->ctype) }, q->body,
			       q->len, q->sr, MSRP_REPORT_ABSENT, sent_id);
}

Test(msrp_ua, bind_then_messages_both_ways)
{
	int one = 1, two = 2;
	cr_assert_eq(eng_job_run(w, open_job, NULL), 0);
	cr_assert_not_null(pa.s);
	cr_assert_not_null(ac.s);
	cr_assert_eq(eng_job_wait(w, both_ready, NULL, 3000), 0, "not bound");

	/* 3000 bytes from the active side: three chunks of 1000, one message on arrival,
	 * with the success REPORT the sender asked for */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	struct send_req q = { &ac, "text/plain", big, sizeof(big), MSRP_REPORT_YES };
	cr_assert_eq(eng_job_run(w, send_job, &q), 0);
	cr_assert_eq(send_rc, 0);
	cr_assert_eq(eng_job_wait(w, pa_has, &one, 3000), 0, "no message");
	cr_assert_eq(pa.last_len, sizeof(big));
	cr_assert_eq(memcmp(pa.last_body, big, sizeof(big)), 0);
	cr_assert_str_eq(pa.last_ctype, "text/plain");
	cr_assert_eq(eng_job_wait(w, ac_reports, &one, 3000), 0, "no success report");
	cr_assert_eq(ac.report_status, 200);
	cr_assert_str_eq(ac.report_id, sent_id);
	cr_assert_eq(ac.report_end, (int64_t)sizeof(big), "the success REPORT covers it all");
	cr_assert_eq(ac.report_total, (int64_t)sizeof(big));

	/* and back, over the connection the active side opened */
	struct send_req r = { &pa, "text/plain", "pong", 4, MSRP_REPORT_ABSENT };
	cr_assert_eq(eng_job_run(w, send_job, &r), 0);
	cr_assert_eq(eng_job_wait(w, ac_has, &one, 3000), 0, "no message back");
	cr_assert_eq(ac.last_len, 4);
	cr_assert_eq(memcmp(ac.last_body, "pong", 4), 0);

	/* a type the passive side does not take: 415, a failure for the sender */
	struct send_req t = { &ac, "image/png", "\x89PNG", 4, MSRP_REPORT_ABSENT };
	cr_assert_eq(eng_job_run(w, send_job, &t), 0);
	cr_assert_eq(eng_job_wait(w, ac_reports, &two, 3000), 0, "no failure");
	cr_assert_eq(ac.report_status, 415);
	cr_assert_eq(pa.nmsg, 1);
}

/* Resuming (RFC 5547): the receiver's session begins with the first 1000 bytes kept from a
 * transfer that broke; the sender sends from byte 1001 (two chunks); the message is whole,
 * and each chunk's 200 told the sender how far the peer has it. */
static void resume_job(void *arg)
{
	(void)arg;
	char *seed = malloc(1000);
	memcpy(seed, big, 1000);
	send_rc = msrp_ua_seed(pa.s, seed, 1000, sizeof(big));
	if (send_rc == 0)
		send_rc = msrp_ua_send_from(ac.s, (cm_slice){ "text/plain", 10 }, big, sizeof(big),
					    1000, MSRP_REPORT_ABSENT, MSRP_REPORT_YES, sent_id);
}

Test(msrp_ua, a_resumed_message_starts_after_the_bytes_the_peer_has)
{
	int one = 1;
	cr_assert_eq(eng_job_run(w, open_job, NULL), 0);
	cr_assert_eq(eng_job_wait(w, both_ready, NULL, 3000), 0, "not bound");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	sent_id[0] = '\0';
	cr_assert_eq(eng_job_run(w, resume_job, NULL), 0);
	cr_assert_eq(send_rc, 0);
	cr_assert_eq(eng_job_wait(w, pa_has, &one, 3000), 0, "no message");
	cr_assert_eq(pa.last_len, sizeof(big));
	cr_assert_eq(memcmp(pa.last_body, big, sizeof(big)), 0);
	int two = 2;
	cr_assert_eq(eng_job_wait(w, ac_acked, &two, 3000), 0, "no 200s");
	cr_expect_eq(ac.nacked, 2, "two chunks went: bytes 1001-2000 and 2001-3000");
	cr_expect_eq(ac.acked_end, sizeof(big));
	cr_expect_eq(ac.nreports, 0, "no failure");
}

/* The active side binds before the passive side has the session (its SIP answer is still on
 * the way): 481, and the binding again a little later finds it. */
static void open_active_job(void *arg)
{
	int err;
	(void)arg;
	snprintf(uri_p, sizeof(uri_p), "msrp://127.0.0.1:%d/passive1;tcp", port);
	snprintf(uri_a, sizeof(uri_a), "msrp://127.0.0.1:9/active22;tcp");
	struct msrp_ua_sess_cfg a = { uri_a, uri_p, 1, 0 };
	ac.s = msrp_ua_open(ua, &a, &ev_ac, &ac, &err);
}

static void open_passive_job(void *arg)
{
	int err;
	(void)arg;
	struct msrp_ua_sess_cfg p = { uri_p, uri_a, 0, 0 };
	pa.s = msrp_ua_open(ua, &p, &ev_pa, &pa, &err);
}

Test(msrp_ua, a_binding_before_the_passive_side_knows_the_session_is_tried_again)
{
	cr_assert_eq(eng_job_run(w, open_active_job, NULL), 0);
	cr_assert_not_null(ac.s);
	usleep(30000); /* its first binding gets 481 */
	cr_assert_eq(eng_job_run(w, open_passive_job, NULL), 0);
	cr_assert_eq(eng_job_wait(w, both_ready, NULL, 3000), 0, "not bound");
	cr_expect_eq(ac.ended, 0);
}

static void close_pa_job(void *arg)
{
	(void)arg;
	msrp_ua_close(pa.s);
	pa.s = NULL;
}

Test(msrp_ua, a_closed_session_is_481)
{
	int two = 2;
	cr_assert_eq(eng_job_run(w, open_job, NULL), 0);
	cr_assert_eq(eng_job_wait(w, both_ready, NULL, 3000), 0, "not bound");
	struct send_req q = { &ac, "text/plain", "one", 3, MSRP_REPORT_YES };
	cr_assert_eq(eng_job_run(w, send_job, &q), 0);
	cr_assert_eq(eng_job_run(w, close_pa_job, NULL), 0);
	struct send_req r = { &ac, "text/plain", "two", 3, MSRP_REPORT_ABSENT };
	cr_assert_eq(eng_job_run(w, send_job, &r), 0);
	cr_assert_eq(eng_job_wait(w, ac_reports, &two, 3000), 0, "no 481");
	cr_assert_eq(ac.report_status, 481);
}

/* ---- SENDs held while their session is looked for (cfg.may_find / find) ---------------- */

static uint64_t token;                 /* the search asked for */
static int finds;
static char bodies[64];                /* the passive side's messages, in order */

static int may_find(void *arg, cm_slice sid)
{
	(void)arg;
	return sid.len == 8 && !memcmp(sid.p, "passive1", 8);
}

static void find(void *arg, const char *sid, uint64_t t)
{
	(void)arg;
	cr_expect_str_eq(sid, "passive1");
	token = t;
	finds++;
}

static void ev_message_kept(struct msrp_ua_sess *s, void *arg, struct msrp_reasm_msg *m)
{
	(void)s;
	(void)arg;
	size_t n = strlen(bodies);
	snprintf(bodies + n, sizeof(bodies) - n, "%.*s;", (int)m->len, m->data);
	msrp_reasm_msg_free(m);
}

static const struct msrp_ua_events ev_kept = { .message = ev_message_kept };

static void setup_held(void)
{
	static struct msrp_ua_cfg uc = { .chunk_size = 1000, .may_find = may_find, .find = find };
	token = 0;
	finds = 0;
	bodies[0] = '\0';
	setup_with(&uc);
}

TestSuite(msrp_ua_held, .init = setup_held, .fini = teardown, .timeout = 20);

static int found_asked(void *arg) { (void)arg; return finds > 0; }

static void open_passive_kept_job(void *arg)
{
	int err;
	(void)arg;
	snprintf(uri_p, sizeof(uri_p), "msrp://127.0.0.1:%d/passive1;tcp", port);
	struct msrp_ua_sess_cfg p = { uri_p, "msrp://127.0.0.1:9/phone;tcp", 0, 0 };
	pa.s = msrp_ua_open(ua, &p, &ev_kept, &pa, &err);
}

static void found_job(void *arg)
{
	msrp_ua_resume(ua, token, *(int *)arg);
}

/* The peer's SEND for a session not here, then the session — opened meanwhile by another
 * path (an adoption) — then a second SEND on the same connection: the second waits behind
 * the first, and both go on, in order, once the search says found. */
static void peer_sends(struct msrp_client *c, const char *tid, const char *body)
{
	char to[96];
	snprintf(to, sizeof(to), "msrp://127.0.0.1:%d/passive1;tcp", port);
	struct mc_send s = { .to_path = to, .from_path = "msrp://127.0.0.1:9/phone;tcp",
			     .message_id = tid, .content_type = "text/plain", .body = body,
			     .body_len = strlen(body) };
	cr_assert_eq(mc_send_send(c, tid, &s), 0);
}

Test(msrp_ua_held, sends_held_for_their_session_go_on_in_order)
{
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	cr_assert_eq(mc_connect(&c, hp, 2000), 0);
	peer_sends(&c, "t-one", "one");
	cr_assert_eq(eng_job_wait(w, found_asked, NULL, 2000), 0, "not looked for");
	cr_assert_eq(eng_job_run(w, open_passive_kept_job, NULL), 0); /* adopted meanwhile */
	cr_assert_not_null(pa.s);
	peer_sends(&c, "t-two", "two");
	cr_expect_eq(mc_read_frame(&c, f, 300), -ETIMEDOUT, "answered before its turn");
	int found = 1;
	cr_assert_eq(eng_job_run(w, found_job, &found), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(mc_read_frame(&c, f, 2000), 0, "no answer %d", i + 1);
		cr_expect(!f->is_request && f->status == 200, "answer %d: %d", i + 1, f->status);
		cr_expect_str_eq(f->tid, i ? "t-two" : "t-one");
	}
	cr_expect_str_eq(bodies, "one;two;");
	cr_expect_eq(finds, 1, "one search for the session");
	mc_close(&c);
	free(f);
}

Test(msrp_ua_held, a_send_whose_session_is_not_found_is_481)
{
	struct msrp_client c;
	struct mc_frame *f = malloc(sizeof(*f));
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	cr_assert_eq(mc_connect(&c, hp, 2000), 0);
	peer_sends(&c, "t-lost", "lost");
	cr_assert_eq(eng_job_wait(w, found_asked, NULL, 2000), 0, "not looked for");
	int found = 0;
	cr_assert_eq(eng_job_run(w, found_job, &found), 0);
	cr_assert_eq(mc_read_frame(&c, f, 2000), 0);
	cr_expect(!f->is_request && f->status == 481, "answered %d", f->status);
	mc_close(&c);
	free(f);
}

static int nothing_held(void *arg)
{
	(void)arg;
	return msrp_ua_stats(ua)->held == 1;
}

/* The connection goes while its SEND is held: the search's end finds nothing to answer. */
Test(msrp_ua_held, a_connection_gone_while_held_leaves_nothing)
{
	struct msrp_client c;
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	cr_assert_eq(mc_connect(&c, hp, 2000), 0);
	peer_sends(&c, "t-gone", "gone");
	cr_assert_eq(eng_job_wait(w, found_asked, NULL, 2000), 0, "not looked for");
	mc_close(&c);
	usleep(100 * 1000);
	int found = 1;
	cr_assert_eq(eng_job_run(w, open_passive_kept_job, NULL), 0);
	cr_assert_eq(eng_job_run(w, found_job, &found), 0);
	cr_expect_eq(eng_job_wait(w, nothing_held, NULL, 500), 0);
	cr_expect_str_eq(bodies, "", "a message from a connection that went");
}

/* Both ends of a session closed and opened again with the same URIs (a re-INVITE moving
 * the MSRP endpoint does that): the active end binds anew on a connection of its own, and
 * the old connection's close, due 2 s later, leaves the new one alone. */
static void reopen_job(void *arg)
{
	int err;
	(void)arg;
	msrp_ua_close(ac.s);
	msrp_ua_close(pa.s);
	memset(&ac, 0, sizeof(ac));
	memset(&pa, 0, sizeof(pa));
	struct msrp_ua_sess_cfg p = { uri_p, uri_a, 0, 0 }, a = { uri_a, uri_p, 1, 0 };
	pa.s = msrp_ua_open(ua, &p, &ev_pa, &pa, &err);
	ac.s = msrp_ua_open(ua, &a, &ev_ac, &ac, &err);
}

static int either_ended(void *arg)
{
	(void)arg;
	return ac.ended || pa.ended;
}

Test(msrp_ua, a_session_opened_again_keeps_its_new_connection)
{
	cr_assert_eq(eng_job_run(w, open_job, NULL), 0);
	cr_assert_eq(eng_job_wait(w, both_ready, NULL, 3000), 0, "not bound");
	cr_assert_eq(eng_job_run(w, reopen_job, NULL), 0);
	cr_assert(ac.s && pa.s);
	cr_assert_eq(eng_job_wait(w, both_ready, NULL, 3000), 0, "not bound again");
	cr_expect_neq(eng_job_wait(w, either_ended, NULL, 3500), 0,
		      "the session opened again lost its connection to the old one's close");
	int one = 1;
	struct send_req q = { &ac, "text/plain", "still here", 10, MSRP_REPORT_ABSENT };
	cr_assert_eq(eng_job_run(w, send_job, &q), 0);
	cr_expect_eq(send_rc, 0);
	cr_expect_eq(eng_job_wait(w, pa_has, &one, 3000), 0, "nothing crossed the new connection");
}
