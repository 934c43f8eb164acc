/* test_sipp_peers.c — the SIP peers of the user agent's tests, proven against each other
 * before rcsgw takes either side: the sipp scenarios of tests/peers/sipp/ (a UAC and a UAS
 * for MSRP sessions and their variants) run two sipp processes on 127.0.0.1 over UDP and
 * TCP, the values they log are read back with tests/lib/sipp.h, and tshark (tests/lib/
 * tshark.h) checks what went over the wire. Run with --jobs 1, as every integration test:
 * the capture test sees all of lo. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/msrp_client.h"
#include "tests/lib/sipp.h"
#include "tests/lib/tshark.h"

#define RUN_MS 8000                        /* one sipp call, start to end */

#define UAS_SID "uas7Kq2"
#define UAC_SID "uacP31x"

static char uas_dir[PATH_MAX], uac_dir[PATH_MAX], cap_dir[PATH_MAX];
static pid_t uas = -1, uac = -1;
static struct tshark_cap cap = TSHARK_CAP_INIT;
static int msrp_lfd = -1;
static struct msrp_client mc_from = { .fd = -1 }, mc_to = { .fd = -1 };
static struct mc_frame fr;

static void fini(void)
{
	sipp_stop(uac, 1000);
	sipp_stop(uas, 1000);
	tshark_stop(&cap);
	mc_close(&mc_from);
	mc_close(&mc_to);
	if (msrp_lfd >= 0)
		close(msrp_lfd);
	sipp_logdir_remove(uas_dir);
	sipp_logdir_remove(uac_dir);
	sipp_logdir_remove(cap_dir);
}

TestSuite(sipp_peers, .fini = fini, .timeout = 10);

static void need_sipp(void)
{
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) or tests/peers/sipp/ missing (make deps)");
	cr_assert_eq(sipp_logdir_new(uas_dir, sizeof(uas_dir)), 0);
	cr_assert_eq(sipp_logdir_new(uac_dir, sizeof(uac_dir)), 0);
}

/* One call between two sipp processes: the scenarios, the transport, and more name/value
 * pairs for each side (NULL-terminated, may be NULL). */
struct call {
	const char *uas_sf, *uac_sf;
	const char *transport;                 /* "u1" or "t1" */
	const char *const *uas_more;           /* more pairs for each side, or NULL */
	const char *const *uac_more;
	int uas_msrp_port, uac_msrp_port;      /* the ports of the a=path each side gives
						* (0: 2855 and 2856) */
	int uas_port;                          /* the UAS's SIP port (0: call_start picks) */
	int uas_rc, uac_rc;                    /* filled in: their exit statuses */
};

/* Appends the pairs of <more> to <keys> (which holds <n> strings); returns the new n. */
static int add_pairs(const char **keys, int n, const char *const *more)
{
	for (int i = 0; more && more[i]; i++) {
		cr_assert_lt(n, 2 * SIPP_MAX_PAIRS);
		keys[n++] = more[i];
	}
	keys[n] = NULL;
	return n;
}

/* Starts the UAS, then the UAC calling it. */
static void call_start(struct call *c)
{
	char remote[32], uas_mp[16], uac_mp[16];
	const char *keys[2 * SIPP_MAX_PAIRS + 1];

	if (!c->uas_msrp_port)
		c->uas_msrp_port = 2855;
	if (!c->uac_msrp_port)
		c->uac_msrp_port = 2856;
	if (!c->uas_port)
		c->uas_port = sipp_free_port();
	cr_assert_gt(c->uas_port, 0, "no free port: %s", strerror(-c->uas_port));
	snprintf(uas_mp, sizeof(uas_mp), "%d", c->uas_msrp_port);
	snprintf(uac_mp, sizeof(uac_mp), "%d", c->uac_msrp_port);

	const char *uas_keys[] = { "-t", c->transport, "msrp_port", uas_mp, "msrp_sid", UAS_SID,
				   NULL };
	add_pairs(keys, add_pairs(keys, 0, uas_keys), c->uas_more);
	uas = sipp_start(c->uas_sf, NULL, c->uas_port, keys, uas_dir, NULL);
	if (uas < 0)
		sipp_log_report(uas_dir, "UAS");
	cr_assert_gt(uas, 0, "UAS %s did not start: %s", c->uas_sf, strerror(-uas));

	const char *uac_keys[] = { "-t", c->transport, "msrp_port", uac_mp, "msrp_sid", UAC_SID,
				   NULL };
	add_pairs(keys, add_pairs(keys, 0, uac_keys), c->uac_more);
	snprintf(remote, sizeof(remote), "127.0.0.1:%d", c->uas_port);
	uac = sipp_start(c->uac_sf, remote, 0, keys, uac_dir, NULL);
	if (uac < 0)
		sipp_log_report(uac_dir, "UAC");
	cr_assert_gt(uac, 0, "UAC %s did not start: %s", c->uac_sf, strerror(-uac));
}

/* Waits for both ends; on a status other than the wanted ones their logs go to stderr. */
static void call_end(struct call *c, int want_uas, int want_uac)
{
	c->uac_rc = sipp_wait(uac, RUN_MS);
	uac = -1;
	c->uas_rc = sipp_wait(uas, RUN_MS);
	uas = -1;
	if (c->uas_rc != want_uas)
		sipp_log_report(uas_dir, c->uas_sf);
	if (c->uac_rc != want_uac)
		sipp_log_report(uac_dir, c->uac_sf);
	cr_expect_eq(c->uas_rc, want_uas, "UAS %s exited with %d", c->uas_sf, c->uas_rc);
	cr_expect_eq(c->uac_rc, want_uac, "UAC %s exited with %d", c->uac_sf, c->uac_rc);
}

static void call_run(struct call *c)
{
	call_start(c);
	call_end(c, 0, 0);
}

/* The value logged as "<name>=..." by the side whose log dir is <dir>. */
static const char *logged(const char *dir, const char *name)
{
	static char val[4][256];
	static int next;
	char re[64];
	char *out = val[next++ % 4];

	snprintf(re, sizeof(re), "^%s=(.*)$", name);
	int rc = sipp_log_find(dir, re, out, sizeof(val[0]));
	cr_assert_geq(rc, 0, "%s: no %s= line: %s", dir, name, strerror(-rc));
	return out;
}

static const char *msrp_uri(int port, const char *sid)
{
	static char uri[2][96];
	static int next;
	char *out = uri[next++ % 2];

	snprintf(out, sizeof(uri[0]), "msrp://127.0.0.1:%d/%s;tcp", port, sid);
	return out;
}

/* The SIP messages one side sent and received, as -trace_msg wrote them. */
static const char *messages(const char *dir)
{
	static char buf[16384];

	sipp_log_tail(dir, SIPP_LOG_MESSAGES, buf, sizeof(buf));
	return buf;
}

/* Each side logged the MSRP path the other gave and the a=setup roles (RFC 6135) of the
 * offer and the answer, and the messages went over the call's transport. */
static void expect_negotiated(const struct call *c, const char *offer_setup,
			      const char *answer_setup)
{
	int udp = strcmp(c->transport, "u1") == 0;

	cr_expect_str_eq(logged(uac_dir, "answer_path"), msrp_uri(c->uas_msrp_port, UAS_SID));
	cr_expect_str_eq(logged(uac_dir, "answer_setup"), answer_setup);
	cr_expect_str_eq(logged(uas_dir, "offer_path"), msrp_uri(c->uac_msrp_port, UAC_SID));
	cr_expect_str_eq(logged(uas_dir, "offer_setup"), offer_setup);
	const char *m = messages(uac_dir);
	cr_expect(strstr(m, udp ? "UDP message received" : "TCP message received") &&
		  !strstr(m, udp ? "TCP message" : "UDP message"), "%s", m);
}

/* (a) the UAC meets the UAS over UDP: both succeed with the defaults, each logs the path
 * the other gave, and the setup roles of RFC 6135 (actpass offered, passive answered). */
Test(sipp_peers, uac_meets_uas_over_udp)
{
	need_sipp();
	const char *hold[] = { "$hold_ms", "100", NULL };
	struct call c = { .uas_sf = "uas_msrp.xml", .uac_sf = "uac_msrp.xml", .transport = "u1",
			  .uac_more = hold };
	call_run(&c);

	expect_negotiated(&c, "actpass", "passive");
	cr_expect_str_eq(logged(uac_dir, "final_code"), "200");
	const char *m = messages(uac_dir);
	cr_expect(strstr(m, "a=accept-types:text/plain message/cpim"), "%s", m);
	cr_expect(strstr(m, "c=IN IP4 127.0.0.1"), "%s", m);

	/* what is not there is not found */
	char out[64];
	cr_expect_eq(sipp_log_find(uac_dir, "^no_such_name=", out, sizeof(out)), -ENOENT);
	cr_expect_eq(sipp_log_find(uac_dir, "(", out, sizeof(out)), -EINVAL);
	cr_expect_eq(sipp_log_find(uac_dir, "^answer_path=(.*)$", out, 8), -ENOSPC);
}

/* (b) the same over TCP, with the parameters that have defaults given: the SDP carries
 * them. */
Test(sipp_peers, uac_meets_uas_over_tcp)
{
	need_sipp();
	const char *uas_more[] = { "$setup", "active", "$accept_types", "message/cpim", NULL };
	const char *uac_more[] = { "$hold_ms", "100", "$setup", "passive", "$accept_types",
				   "text/plain", NULL };
	struct call c = { .uas_sf = "uas_msrp.xml", .uac_sf = "uac_msrp.xml", .transport = "t1",
			  .uas_more = uas_more, .uac_more = uac_more, .uas_msrp_port = 40001,
			  .uac_msrp_port = 40002 };
	call_run(&c);

	expect_negotiated(&c, "passive", "active");
	const char *m = messages(uac_dir);
	cr_expect(strstr(m, "a=accept-types:message/cpim\r\n"), "%s", m);
	cr_expect(strstr(m, "a=accept-types:text/plain\r\n"), "%s", m);
	cr_expect(strstr(m, "m=message 40001 TCP/MSRP *"), "%s", m);
}

/* A listening socket on 127.0.0.1, any port (returned in <port>). */
static int listen_any(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The test plays both MSRP endpoints of the session the two sipps set up: it connects to
 * the path the UAC learned from the answer (where the test listens, as the UAS said) and
 * sends one SEND from the UAC's path, which is answered with a 200. */
static void msrp_exchange(const char *answer_path, const char *offer_path)
{
	char hostport[64];
	int plen;

	cr_assert_eq(sscanf(answer_path, "msrp://%63[^/]/%n", hostport, &plen), 1, "%s",
		     answer_path);
	cr_assert_eq(mc_connect(&mc_from, hostport, 2000), 0, "connect %s", hostport);
	struct pollfd p = { .fd = msrp_lfd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 2000), 1, "no connection on the answer's port");
	mc_to.fd = accept4(msrp_lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(mc_to.fd, 0);
	mc_to.rlen = 0;

	static const char body[] = "hello over the path sipp set up";
	struct mc_send s = { .to_path = answer_path, .from_path = offer_path,
			     .message_id = "m1x9", .content_type = "text/plain", .body = body,
			     .body_len = sizeof(body) - 1 };
	cr_assert_eq(mc_send_send(&mc_from, "t7a1b2", &s), 0);
	cr_assert_eq(mc_read_frame(&mc_to, &fr, 2000), 0);
	cr_assert(fr.is_request);
	cr_assert_str_eq(fr.method, "SEND");
	cr_assert_eq(mc_send_response(&mc_to, &fr, 200, "OK"), 0);
	cr_assert_eq(mc_read_frame(&mc_from, &fr, 2000), 0);
	cr_assert_eq(fr.status, 200);
}

/* The number of frames matching <filter>, the capture's summary in the message when it is
 * not <want>. */
static void expect_frames(const char *decode_as, const char *filter, int want)
{
	static char summary[8192];
	int n = tshark_count(&cap, decode_as, filter);

	if (n != want)
		tshark_summary(&cap, decode_as, NULL, summary, sizeof(summary));
	cr_expect_eq(n, want, "%d frames match %s (want %d) in:\n%s", n, filter, want,
		     n != want ? summary : "");
}

/* (c) tshark sees the TCP call of (b) and an MSRP exchange on the path it negotiated:
 * every SIP message and both SDP bodies decode, nothing is malformed, and MSRP is found
 * only where the decode-as rule says. */
Test(sipp_peers, tshark_checks_a_tcp_call)
{
	need_sipp();
	if (!tshark_available())
		cr_skip_test("tshark/dumpcap missing (make deps)");
	cr_assert_eq(sipp_logdir_new(cap_dir, sizeof(cap_dir)), 0);

	int msrp_port;
	msrp_lfd = listen_any(&msrp_port);
	const char *uac_more[] = { "$hold_ms", "300", NULL };
	struct call c = { .uas_sf = "uas_msrp.xml", .uac_sf = "uac_msrp.xml", .transport = "t1",
			  .uac_more = uac_more, .uas_msrp_port = msrp_port,
			  .uac_msrp_port = 40003 };
	c.uas_port = sipp_free_port();
	cr_assert_gt(c.uas_port, 0);

	char filter[128];
	snprintf(filter, sizeof(filter), "tcp port %d or tcp port %d", c.uas_port, msrp_port);
	int rc = tshark_start(&cap, filter, cap_dir);
	if (rc == -EPERM)
		cr_skip_test("no permission to capture on lo (root or dumpcap with CAP_NET_RAW)");
	cr_assert_eq(rc, 0, "capture did not start: %s", strerror(-rc));
	call_start(&c);

	/* during the hold: the path the UAC learned, and the one the UAS learned */
	char answer_path[256], offer_path[256];
	rc = sipp_log_wait(uac_dir, "^answer_path=(.*)$", answer_path, sizeof(answer_path), 3000);
	cr_assert_gt(rc, 0, "the UAC logged no answer_path: %s", strerror(-rc));
	rc = sipp_log_wait(uas_dir, "^offer_path=(.*)$", offer_path, sizeof(offer_path), 3000);
	cr_assert_gt(rc, 0, "the UAS logged no offer_path: %s", strerror(-rc));
	msrp_exchange(answer_path, offer_path);
	call_end(&c, 0, 0);
	rc = tshark_stop(&cap);
	cr_assert_eq(rc, 0, "capture stopped with %s", strerror(-rc));

	char sip_rule[64], both[128];
	snprintf(sip_rule, sizeof(sip_rule), "tcp.port==%d,sip", c.uas_port);
	snprintf(both, sizeof(both), "%s tcp.port==%d,msrp", sip_rule, msrp_port);
	/* INVITE, 180, 200, ACK, BYE, 200, in at least four segments (the ACK, the BYE and
	 * its 200 go apart) */
	int sip = tshark_count(&cap, both, "sip");
	cr_expect_geq(sip, 4, "%d SIP frames", sip);
	expect_frames(both, "sip.Method == \"INVITE\"", 1);
	expect_frames(both, "sip.Status-Code == 200", 2);
	expect_frames(both, "sip.Method == \"ACK\"", 1);
	expect_frames(both, "sip.Method == \"BYE\"", 1);
	expect_frames(both, "sdp", 2);
	expect_frames(both, "sdp.media.media == \"message\"", 2);
	expect_frames(both, "msrp.method == \"SEND\"", 1);
	expect_frames(both, "msrp.status.code == 200", 1);
	expect_frames(both, TSHARK_BAD, 0);
	/* a filter tshark refuses is an error, not a count */
	cr_expect_eq(tshark_count(&cap, NULL, "sip.Method =="), -EINVAL);
}

/* (d) a busy phone: the default UAC fails on the 486, the one told to expect it succeeds;
 * both ACK it (the UAS would fail without). */
Test(sipp_peers, busy_486)
{
	need_sipp();
	struct call c = { .uas_sf = "uas_486.xml", .uac_sf = "uac_msrp.xml", .transport = "u1" };
	call_start(&c);
	call_end(&c, 0, 1);
	cr_expect_str_eq(logged(uac_dir, "final_code"), "486");
	cr_expect_str_eq(logged(uas_dir, "rejected"), "486");
	char out[8];
	cr_expect_eq(sipp_log_find(uac_dir, "^answer_path=", out, sizeof(out)), -ENOENT);

	sipp_logdir_remove(uas_dir);
	sipp_logdir_remove(uac_dir);
	need_sipp();
	const char *expect[] = { "$expect_code", "486", NULL };
	c.uac_more = expect;
	call_run(&c);
	cr_expect_str_eq(logged(uac_dir, "final_code"), "486");
}

/* A 415 with the Accept the test chose, over TCP; the UAC expects it. */
Test(sipp_peers, unsupported_415)
{
	need_sipp();
	const char *uas_more[] = { "$accept", "application/sdp, text/plain", NULL };
	const char *uac_more[] = { "$expect_code", "415", NULL };
	struct call c = { .uas_sf = "uas_415.xml", .uac_sf = "uac_msrp.xml", .transport = "t1",
			  .uas_more = uas_more, .uac_more = uac_more };
	call_run(&c);
	cr_expect_str_eq(logged(uac_dir, "final_code"), "415");
	const char *m = messages(uac_dir);
	cr_expect(strstr(m, "SIP/2.0 415 Unsupported Media Type"), "%s", m);
	cr_expect(strstr(m, "Accept: application/sdp, text/plain\r\n"), "%s", m);
}

/* The UAS ends the session: its BYE reaches the UAC that waits for one, inside the dialog
 * (Request-URI = the UAC's Contact, tags swapped). */
Test(sipp_peers, uas_hangs_up)
{
	need_sipp();
	const char *uas_more[] = { "$uas_bye_after_ms", "150", NULL };
	struct call c = { .uas_sf = "uas_msrp.xml", .uac_sf = "uac_msrp_wait_bye.xml",
			  .transport = "u1", .uas_more = uas_more };
	call_run(&c);
	expect_negotiated(&c, "actpass", "passive");
	char out[16];
	cr_expect_gt(sipp_log_find(uac_dir, "^bye_received$", out, sizeof(out)), 0);
	const char *m = messages(uas_dir);
	cr_expect(strstr(m, "BYE sip:sipp@127.0.0.1:"), "%s", m);
	cr_expect(strstr(m, "UDP message sent") && strstr(m, "CSeq: 1 BYE"), "%s", m);
}

/* The phone that never answers: the caller cancels after the 180, the UAS answers the
 * CANCEL with 200 and the INVITE with 487, the caller ACKs. */
Test(sipp_peers, noanswer_then_cancel)
{
	need_sipp();
	const char *uac_more[] = { "$cancel_after_ms", "100", NULL };
	struct call c = { .uas_sf = "uas_noanswer.xml", .uac_sf = "uac_cancel.xml",
			  .transport = "t1", .uac_more = uac_more };
	call_run(&c);
	char out[16];
	cr_expect_gt(sipp_log_find(uas_dir, "^cancelled$", out, sizeof(out)), 0);
	cr_expect_str_eq(logged(uac_dir, "final_code"), "487");
}

/* The runner's failures: a UAS whose port is taken, a scenario keyword nobody gave. */
Test(sipp_peers, start_failures)
{
	need_sipp();
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int port = sipp_free_port();
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_gt(port, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	uas = sipp_start("uas_486.xml", NULL, port, NULL, uas_dir, NULL);
	close(fd);
	cr_expect_eq(uas, -EADDRINUSE, "sipp_start gave %d", (int)uas);

	const char *no_sid[] = { "msrp_port", "2855", NULL };
	uas = sipp_start("uas_msrp.xml", NULL, sipp_free_port(), no_sid, uas_dir, NULL);
	cr_expect_eq(uas, -ECHILD, "sipp_start gave %d", (int)uas);
	char out[1024];
	cr_expect_gt(sipp_log_tail(uas_dir, SIPP_LOG_OUT, out, sizeof(out)), 0);
	cr_expect(strstr(out, "msrp_sid"), "sipp said: %s", out);

	cr_expect_eq(sipp_start("uas_486.xml", NULL, 0, NULL, uas_dir, NULL), -EINVAL);
	uas = -1;
}
