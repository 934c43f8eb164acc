/* test_dm_peer.c — two Diameter peers of rcsgw's on one engine (diameter/dm_peer.c), over
 * TCP on loopback: the capabilities exchange opens both, a request goes and its answer
 * comes back matched by Hop-by-Hop Identifier, a request with an AVP the responder does not
 * know (M set) is answered 5001 by the peer layer itself, an unanswered request ends by its
 * deadline, the watchdog exchanges DWR/DWA on an idle connection, and DPR/DPA close both
 * ends. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_hist.h"
#include "diameter/dm_check.h"
#include "diameter/dm_dict.h"
#include "diameter/dm_json.h"
#include "diameter/dm_peer.h"
#include "engine/eng.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/wait.h"

static sem_t ev;                       /* state changes */
static sem_t done;                     /* answers, stats, free */
static eng_engine *e;
static struct dm_dict *dict;
static eng_listener *ls;
static _Atomic int port;
static struct dm_peer *cli, *srv;
static _Atomic int cli_state = -1, srv_state = -1;
static int last_status;
static uint32_t last_rc;
static struct dm_peer_stats cs, ss;
static struct dm_traffic ctraf, straf;  /* what each side counts (its worker writes) */
static struct dm_traffic ct, rt;        /* copies taken by do_stats */

static void on_state(void *arg, struct dm_peer *p, enum dm_peer_state st)
{
	(void)p;
	if (arg == &cli)
		cli_state = (int)st;
	else
		srv_state = (int)st;
	sem_post(&ev);
}

/* The responder answers each request 2001, except Session-Id "ignore-me". */
static void on_request(void *arg, struct dm_peer *p, const uint8_t *m, size_t n)
{
	(void)arg;
	struct dm_avp_iter it;
	struct dm_avp a;
	uint32_t rc;
	dm_avp_iter_init(&it, m + DM_HDR_LEN, (uint32_t)n - DM_HDR_LEN);
	if (dm_avp_next(&it, &a, &rc) == 1 && a.code == 263 && a.data_len == 9 &&
	    !memcmp(a.data, "ignore-me", 9))
		return;
	uint8_t b[512];
	struct dm_wbuf w;
	dm_w_init(&w, b, sizeof(b));
	dm_w_hdr(&w, m[4] & DM_FLAG_P, (uint32_t)m[5] << 16 | m[6] << 8 | m[7],
		 (uint32_t)m[8] << 24 | (uint32_t)m[9] << 16 | m[10] << 8 | m[11], 0, 0);
	memcpy(b + 12, m + 12, 8); /* its identifiers */
	dm_w_u32(&w, 268, DM_AVP_M, 0, 2001);
	dm_w_str(&w, 264, DM_AVP_M, 0, "hss.test");
	dm_w_str(&w, 296, DM_AVP_M, 0, "test");
	long an = dm_w_finish(&w);
	cr_assert_gt(an, 0);
	dm_peer_send(p, b, (size_t)an);
}

static const uint32_t sh_app[] = { 16777217 };

static struct dm_peer_cfg cfg_for(int client)
{
	struct dm_peer_cfg c = {
		.origin_host = client ? "rcsgw.test" : "hss.test", .origin_realm = "test",
		.product = "rcsgw", .auth_apps = sh_app, .nauth = 1, .tw_ms = 1000,
		.cer_timeout_ms = 3000, .dict = dict, .state = on_state,
		.request = client ? NULL : on_request, .arg = client ? (void *)&cli : (void *)&srv,
		.traffic = client ? &ctraf : &straf,
	};
	return c;
}

static void on_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	struct dm_peer_cfg c2 = cfg_for(0);
	srv = dm_peer_accept(c, &c2);
	cr_assert_not_null(srv);
}

static void init_job(void *arg)
{
	int err;
	(void)arg;
	dict = dm_dict_new();
	ls = eng_listen(eng_self(), "127.0.0.1:0", 0, NULL, on_accept, NULL, &err);
	port = eng_listener_port(ls);
}

static void do_connect(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg; (void)u;
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	struct dm_peer_cfg c = cfg_for(1);
	cli = dm_peer_connect(w, hp, &c);
	cr_assert_not_null(cli);
}

static _Atomic int free_in_answer;     /* the answer's callback frees the initiator */

static void on_answer(void *arg, int status, const uint8_t *m, size_t n)
{
	(void)arg;
	last_status = status;
	last_rc = status == 0 ? dm_answer_result(m, n) : 0;
	if (free_in_answer) { /* inside the peer's own reading: it must outlive the call */
		dm_peer_free(cli);
		cli = NULL;
	}
	sem_post(&done);
}

/* u: 0 a UDR, 1 one with an unknown M AVP, 2 one the responder ignores */
static void do_request(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg;
	static uint8_t b[1024];
	const char *avps = u == 2 ? "[{\"Session-Id\": \"ignore-me\"}, {\"Origin-Host\": \"rcsgw.test\"},"
				    " {\"Origin-Realm\": \"test\"}]" :
			   "[{\"Session-Id\": \"rcsgw.test;1;1\"}, {\"Origin-Host\": \"rcsgw.test\"},"
			   " {\"Origin-Realm\": \"test\"}, {\"Destination-Realm\": \"test\"},"
			   " {\"User-Identity\": [{\"Public-Identity\": \"sip:a@test\"}]},"
			   " {\"Data-Reference\": \"RepositoryData\"}]";
	json_t *j = json_loads(avps, 0, NULL);
	struct dm_wbuf wb;
	char err[128];
	dm_w_init(&wb, b, sizeof(b));
	dm_w_hdr(&wb, DM_FLAG_R | DM_FLAG_P, 306, 16777217, 0, 0);
	cr_assert_eq(dm_json_write(dict, j, &wb, err, sizeof(err)), 0, "%s", err);
	json_decref(j);
	if (u == 1)
		dm_w_u32(&wb, 100000, DM_AVP_M, 0, 1);
	long n = dm_w_finish(&wb);
	cr_assert_gt(n, 0);
	cr_assert_eq(dm_peer_request(cli, b, (size_t)n, 500, on_answer, NULL), 0);
}

static void do_stats(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	if (cli)
		dm_peer_stats(cli, &cs);
	if (srv)
		dm_peer_stats(srv, &ss);
	ct = ctraf;
	rt = straf;
	sem_post(&done);
}

static void do_disconnect(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	dm_peer_disconnect(cli, 0);
}

static void do_free(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	dm_peer_free(cli);
	dm_peer_free(srv);
	cli = srv = NULL;
	eng_listener_close(ls);
	sem_post(&done);
}

static void post(eng_msg_fn fn, uint64_t u)
{
	cr_assert_eq(eng_post(eng_worker_at(e, 0), fn, NULL, u), 0);
}

/* Waits until <st> says <want> (events come by the semaphore). */
static int wait_state(_Atomic int *st, int want)
{
	for (int i = 0; i < 50 && *st != want; i++)
		sem_wait_ms(&ev, 100);
	return *st == want;
}

/* An engine, the responder listening, the initiator connected: both open. */
static void open_pair(void)
{
	char err[128];
	sem_init(&ev, 0, 0);
	sem_init(&done, 0, 0);
	cli_state = srv_state = -1;
	memset(&ctraf, 0, sizeof(ctraf));
	memset(&straf, 0, sizeof(straf));
	e = eng_job_engine(ENG_BACKEND_AUTO, err, sizeof(err));
	cr_assert(e, "%s", err);
	cr_assert_eq(eng_job_run(eng_worker_at(e, 0), init_job, NULL), 0);
	post(do_connect, 0);
	cr_assert(wait_state(&cli_state, DM_PEER_OPEN), "initiator: %d", cli_state);
	cr_assert(wait_state(&srv_state, DM_PEER_OPEN), "responder: %d", srv_state);
}

/* Both peers freed, the engine and the dictionary gone. */
static void close_pair(void)
{
	post(do_free, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	usleep(50000);
	eng_destroy(e);
	dm_dict_free(dict);
}

Test(dm_peer, open_request_watchdog_errors_and_close, .timeout = 30)
{
	open_pair();

	post(do_request, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	cr_expect_eq(last_status, 0);
	cr_expect_eq(last_rc, 2001);

	post(do_request, 1); /* the responder's peer layer answers it, not its owner */
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	cr_expect_eq(last_status, 0);
	cr_expect_eq(last_rc, 5001);

	post(do_request, 2); /* nobody answers: its deadline */
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	cr_expect_eq(last_status, -ETIMEDOUT);

	usleep(2600 * 1000); /* idle for more than two Tw: watchdogs both ways, answered */
	post(do_stats, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	/* whichever side's Tw ends first asks; the other hears traffic and waits again */
	cr_expect(cs.dwr_out + ss.dwr_out >= 1, "no watchdog in 2.6 s of silence");
	cr_expect(cs.dwa_in + 1 >= cs.dwr_out && ss.dwa_in + 1 >= ss.dwr_out &&
		  ss.dwr_in + 1 >= cs.dwr_out, "DWRs unanswered: %llu/%llu and %llu/%llu",
		  (unsigned long long)cs.dwa_in, (unsigned long long)cs.dwr_out,
		  (unsigned long long)ss.dwa_in, (unsigned long long)ss.dwr_out);
	cr_expect(cs.requests_out == 3 && cs.answers_in == 2 && cs.timeouts == 1);
	cr_expect(ss.malformed == 1 && ss.requests_in == 2);
	cr_expect_eq(cli_state, DM_PEER_OPEN, "still open after the watchdogs");

	post(do_disconnect, 0);
	cr_expect(wait_state(&cli_state, DM_PEER_CLOSED), "initiator: %d", cli_state);
	cr_expect(wait_state(&srv_state, DM_PEER_CLOSED), "responder: %d", srv_state);

	close_pair();
}

/* The owner frees the initiator inside the callback of an answer (the peer is reading):
 * nothing of it is touched after (ASan would say), and the responder sees it go. */
Test(dm_peer, freed_inside_its_own_callback, .timeout = 30)
{
	open_pair();
	free_in_answer = 1;
	post(do_request, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	cr_expect_eq(last_rc, 2001);
	cr_expect(wait_state(&srv_state, DM_PEER_CLOSED), "responder: %d", srv_state);
	close_pair();
}

/* Messages by command and result, each way, and the round trips: the CER/CEA, a UDR answered
 * 2001 by the owner, one answered 5001 by the responder's peer layer (malformed for it: not
 * counted in, its error answer counted out). */
Test(dm_peer, counts_by_command_and_result, .timeout = 30)
{
	open_pair();
	post(do_request, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	post(do_request, 1);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	cr_expect_eq(last_rc, 5001);
	post(do_stats, 0);
	cr_assert_eq(sem_wait_ms(&done, 3000), 0);
	unsigned ce = dm_traffic_cmd_slot(257), ud = dm_traffic_cmd_slot(306);
	cr_expect_str_eq(dm_dict_builtin_cmd(ce)->name, "Capabilities-Exchange");
	cr_expect_str_eq(dm_dict_builtin_cmd(ud)->name, "User-Data");
	cr_expect_eq(dm_traffic_cmd_slot(999), DM_TRAFFIC_CMDS - 1, "an unknown code: other");
	/* the initiator: [1] sent, [0] received */
	cr_expect_eq(ct.requests[1][ce], 1);
	cr_expect_eq(ct.requests[1][ud], 2);
	cr_expect_eq(ct.answers[0][ce], 1);
	cr_expect_eq(ct.answers[0][ud], 2);
	cr_expect_eq(ct.results[0][1], 2, "the CEA's and the UDA's 2001");
	cr_expect_eq(ct.results[0][4], 1, "the 5001");
	cr_expect_str_eq(dm_traffic_result_names[4], "5xxx");
	cr_expect_eq(cm_hist_count(&ct.rtt), 2, "both UDRs; the CER is no request of the owner's");
	/* the responder */
	cr_expect_eq(rt.requests[0][ce], 1);
	cr_expect_eq(rt.requests[0][ud], 1, "the malformed one is not counted in");
	cr_expect_eq(rt.answers[1][ce], 1);
	cr_expect_eq(rt.answers[1][ud], 2, "its owner's answer and the peer layer's 5001");
	cr_expect_eq(rt.results[1][1], 2);
	cr_expect_eq(rt.results[1][4], 1);
	cr_expect_eq(cm_hist_count(&rt.rtt), 0);
	close_pair();
}
