/* test_msrp_sess.c — sessions by id, binding to one connection (506 from another), the
 * session a request names, unbinding when a connection goes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msrp/msrp_id.h"
#include "msrp/msrp_parse.h"
#include "msrp/msrp_sess.h"

static struct msrp_sess_table t;

static void setup(void)
{
	cr_assert_eq(msrp_id_init(), 0);
	cr_assert_eq(msrp_sess_table_init(&t, 100), 0);
}

static void teardown(void)
{
	msrp_sess_table_fini(&t);
}

TestSuite(msrp_sess, .init = setup, .fini = teardown);

Test(msrp_sess, add_find_remove)
{
	static struct msrp_sess s[1000];
	char id[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "sess%d", i);
		cr_assert_eq(msrp_sess_add(&t, &s[i], (cm_slice){ id, strlen(id) }), 0);
	}
	cr_expect_eq(t.count, 1000);
	cr_expect_eq(msrp_sess_add(&t, &s[0], CM_SLICE_LIT("sess7")), -EEXIST);
	cr_expect_eq(msrp_sess_add(&t, &s[0], CM_SLICE_NULL), -EINVAL);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "sess%d", i);
		cr_expect_eq(msrp_sess_find(&t, (cm_slice){ id, strlen(id) }), &s[i]);
	}
	cr_expect_null(msrp_sess_find(&t, CM_SLICE_LIT("sess1000")));
	cr_expect_null(msrp_sess_find(&t, CM_SLICE_LIT("Sess1"))); /* case-sensitive (§6.1) */
	for (int i = 0; i < 1000; i += 2)
		msrp_sess_remove(&t, &s[i]);
	cr_expect_eq(t.count, 500);
	cr_expect_null(msrp_sess_find(&t, CM_SLICE_LIT("sess10")));
	cr_expect_eq(msrp_sess_find(&t, CM_SLICE_LIT("sess11")), &s[11]);
}

Test(msrp_sess, bind_and_506)
{
	struct msrp_sess a, b;
	struct msrp_conn *c1 = (struct msrp_conn *)0x1000, *c2 = (struct msrp_conn *)0x2000;
	struct msrp_sess_list l1 = { 0 }, l2 = { 0 };
	cr_assert_eq(msrp_sess_add(&t, &a, CM_SLICE_LIT("aaaa")), 0);
	cr_assert_eq(msrp_sess_add(&t, &b, CM_SLICE_LIT("bbbb")), 0);
	cr_expect_eq(msrp_sess_bind(&a, c1, &l1), 0);
	cr_expect_eq(msrp_sess_bind(&a, c1, &l1), 0);  /* again, same connection */
	cr_expect_eq(msrp_sess_bind(&a, c2, &l2), 506); /* from another: 506 */
	cr_expect_eq(msrp_sess_bind(&b, c1, &l1), 0);
	/* the connection goes: both unbound, and may bind elsewhere */
	cr_expect_eq(msrp_sess_unbind_all(&l1), 2);
	cr_expect_null(l1.head);
	cr_expect_eq(msrp_sess_bind(&a, c2, &l2), 0);
	/* removing a bound session unbinds it */
	msrp_sess_remove(&t, &a);
	cr_expect_null(l2.head);
	cr_expect_eq(msrp_sess_unbind_all(&l2), 0);
}

static void head_of(const char *frame, struct msrp_ev *ev, struct msrp_parser *p,
		    struct msrp_parse_cfg *cfg, struct msrp_parse_stats *st)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->stats = st;
	msrp_parse_limits_default(&cfg->limits);
	msrp_parser_init(p, cfg);
	msrp_parse(p, frame, strlen(frame), ev);
	cr_assert_eq(ev->type, MSRP_EV_HEAD);
}

Test(msrp_sess, session_of_request)
{
	static struct msrp_ev ev;
	struct msrp_parser p;
	struct msrp_parse_cfg cfg;
	struct msrp_parse_stats st = { 0 };
	struct msrp_sess s;
	char id[32];
	cr_assert_eq(msrp_id_session(3, id, sizeof(id)), 24);
	cr_assert_eq(msrp_sess_add(&t, &s, (cm_slice){ id, strlen(id) }), 0);
	char frame[512];
	snprintf(frame, sizeof(frame),
		 "MSRP a786hjs2 SEND\r\nTo-Path: msrp://relay.example.com:2855/%s;tcp "
		 "msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		 "From-Path: msrp://alice.example.com:7654/iau39soe2843z;tcp\r\n"
		 "-------a786hjs2$\r\n", id);
	head_of(frame, &ev, &p, &cfg, &st);
	cr_expect_eq(msrp_sess_of_request(&t, &ev.msg), &s);
	msrp_parser_free(&p);
	/* a To-Path naming no session of ours, and one whose first URI has no session-id */
	head_of("MSRP a786hjs2 SEND\r\nTo-Path: msrp://relay.example.com:2855/nosuch;tcp\r\n"
		"From-Path: msrp://alice.example.com:7654/iau39soe2843z;tcp\r\n-------a786hjs2$\r\n",
		&ev, &p, &cfg, &st);
	cr_expect_null(msrp_sess_of_request(&t, &ev.msg));
	msrp_parser_free(&p);
	head_of("MSRP a786hjs2 SEND\r\nTo-Path: msrp://relay.example.com:2855;tcp\r\n"
		"From-Path: msrp://alice.example.com:7654/iau39soe2843z;tcp\r\n-------a786hjs2$\r\n",
		&ev, &p, &cfg, &st);
	cr_expect_null(msrp_sess_of_request(&t, &ev.msg));
	msrp_parser_free(&p);
}
