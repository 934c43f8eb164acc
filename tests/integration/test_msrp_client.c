/* test_msrp_client.c — the test MSRP client itself (tests/lib/msrp_client): frames cut right
 * however the bytes arrive, garbage and oversized input refused with the documented codes,
 * the bytes it writes, the Digest vector of RFC 2617, and TLS against the real daemon
 * (verified, unverified, wrong CA). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/msrp_client.h"
#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/tls_certs.h"

static struct msrp_client cl = { .fd = -1 };
static struct mc_frame fr;
static int srv = -1;     /* the accepted end the test writes into */
static pid_t daemon_pid = -1;
static struct tls_certs certs;
static int have_certs;

static void fini(void)
{
	mc_close(&cl);
	if (srv >= 0)
		close(srv);
	srv = -1;
	if (daemon_pid > 0)
		rcsgw_stop(daemon_pid, SIGKILL, 2000);
	daemon_pid = -1;
	if (have_certs)
		tls_certs_remove(&certs);
	have_certs = 0;
}

TestSuite(msrp_client, .fini = fini, .timeout = 10);

/* Connects the client to a listener of ours; srv is the server end. */
static void pair(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	char hp[32];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 1) == 0);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", ntohs(sa.sin_port));
	cr_assert_eq(mc_connect(&cl, hp, 2000), 0);
	srv = accept(lfd, NULL, NULL);
	close(lfd);
	cr_assert_geq(srv, 0);
}

static void put(const char *s)
{
	cr_assert_eq(send(srv, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

#define SEND1 "MSRP a786hjs2 SEND\r\nTo-Path: msrp://b.example:2855/s1;tcp\r\n" \
	      "From-Path: msrp://a.example:2855/c1;tcp\r\nMessage-ID: 87652491\r\n" \
	      "Byte-Range: 1-*/*\r\nContent-Type: text/plain\r\n\r\n" \
	      "Hi\r\n-------other99$\r\n-------a786hjs2\r\nend\r\n-------a786hjs2+\r\n"

Test(msrp_client, cuts_frames_however_they_arrive)
{
	pair();
	/* one byte at a time */
	for (const char *p = SEND1; *p; p++) {
		cr_assert_eq(send(srv, p, 1, 0), 1);
		if ((p - SEND1) % 40 == 0)
			usleep(500);
	}
	cr_assert_eq(mc_read_frame(&cl, &fr, 2000), 0);
	cr_expect(fr.is_request);
	cr_expect_str_eq(fr.tid, "a786hjs2");
	cr_expect_str_eq(fr.method, "SEND");
	cr_expect_eq(fr.nhdr, 5);
	cr_expect_str_eq(mc_header(&fr, "to-path"), "msrp://b.example:2855/s1;tcp");
	cr_expect_str_eq(mc_header(&fr, "Byte-Range"), "1-*/*");
	cr_expect_null(mc_header(&fr, "Expires"));
	/* the body holds things that look like end-lines but are not this frame's */
	cr_expect_str_eq(fr.body, "Hi\r\n-------other99$\r\n-------a786hjs2\r\nend");
	cr_expect_eq(fr.flag, '+');
	cr_expect_eq(fr.raw_len, strlen(SEND1));

	/* three frames in one write: a bodiless request, responses with and without comment */
	put("MSRP tid00001 REPORT\r\nTo-Path: msrp://x:1/a;tcp\r\nFrom-Path: msrp://y:1/b;tcp\r\n"
	    "Status: 000 200 OK\r\n-------tid00001$\r\n"
	    "MSRP tid00002 481 Session-does-not-exist\r\nTo-Path: msrp://y:1/b;tcp\r\n"
	    "From-Path: msrp://x:1/a;tcp\r\n-------tid00002$\r\n"
	    "MSRP tid00003 200\r\nTo-Path: msrp://y:1/b;tcp\r\nFrom-Path: msrp://x:1/a;tcp\r\n"
	    "-------tid00003#\r\n");
	cr_assert_eq(mc_read_frame(&cl, &fr, 2000), 0);
	cr_expect_str_eq(fr.method, "REPORT");
	cr_expect_null(fr.body);
	cr_expect_str_eq(mc_header(&fr, "Status"), "000 200 OK");
	cr_assert_eq(mc_read_frame(&cl, &fr, 2000), 0);
	cr_expect_not(fr.is_request);
	cr_expect_eq(fr.status, 481);
	cr_expect_str_eq(fr.comment, "Session-does-not-exist");
	cr_assert_eq(mc_read_frame(&cl, &fr, 2000), 0);
	cr_expect_eq(fr.status, 200);
	cr_expect_str_eq(fr.comment, "");
	cr_expect_eq(fr.flag, '#');

	/* half a frame: time-out, then the rest completes it */
	put("MSRP tid00004 SEND\r\nTo-Path: msrp://x:1/a;tcp\r\n");
	cr_expect_eq(mc_read_frame(&cl, &fr, 100), -ETIMEDOUT);
	put("From-Path: msrp://y:1/b;tcp\r\n-------tid00004$\r\n");
	cr_assert_eq(mc_read_frame(&cl, &fr, 2000), 0);
	cr_expect_str_eq(mc_header(&fr, "From-Path"), "msrp://y:1/b;tcp");

	/* the peer closes */
	close(srv);
	srv = -1;
	cr_expect_eq(mc_read_frame(&cl, &fr, 2000), -ECONNRESET);
}

Test(msrp_client, refuses_garbage_and_oversize)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"MSRP ab SEND\r\n-------ab$\r\n",                      /* tid too short */
		"MSRP abcd1234 send\r\n-------abcd1234$\r\n",           /* method not upper case */
		"MSRP abcd1234 20 OK\r\n-------abcd1234$\r\n",          /* two-digit status */
		"MSRP abcd1234 SEND\r\nTo-Path msrp://x;tcp\r\n",       /* no colon */
		"MSRP abcd1234 SEND\r\nTo-Path: x\n\r\n",               /* bare LF */
		"MSRP abcd1234 SEND\r\nTo Path: x\r\n",                 /* blank in the name */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pair();
		put(bad[i]);
		cr_expect_eq(mc_read_frame(&cl, &fr, 1000), -EPROTO, "input %zu", i);
		mc_close(&cl);
		close(srv);
		srv = -1;
	}

	/* a start line that never ends, a head too long, a body too long */
	static char big[MC_BODY_MAX + 4096];
	pair();
	memset(big, 'A', MC_HEAD_MAX + 10);
	memcpy(big, "MSRP abcd1234 SEND", 18);
	big[MC_HEAD_MAX + 10] = '\0';
	put(big);
	cr_expect_eq(mc_read_frame(&cl, &fr, 2000), -EMSGSIZE);
	mc_close(&cl);
	close(srv);

	pair();
	put("MSRP abcd1234 SEND\r\n");
	memset(big, 'B', MC_HEAD_MAX);
	memcpy(big, "X-Long: ", 8);
	memcpy(big + MC_HEAD_MAX - 2, "\r\n", 2);
	big[MC_HEAD_MAX] = '\0';
	put(big);
	cr_expect_eq(mc_read_frame(&cl, &fr, 2000), -EMSGSIZE);
	mc_close(&cl);
	close(srv);

	pair();
	put("MSRP abcd1234 SEND\r\nTo-Path: msrp://x:1/a;tcp\r\nContent-Type: text/plain\r\n\r\n");
	memset(big, 'C', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(big);
	cr_expect_eq(mc_read_frame(&cl, &fr, 2000), -EMSGSIZE);
}

/* Everything the server end received within <ms>, NUL-terminated (static). */
static const char *drain(int ms)
{
	static char buf[MC_FRAME_MAX + 1];
	size_t n = 0;
	struct pollfd p = { .fd = srv, .events = POLLIN };

	while (n < sizeof(buf) - 1 && poll(&p, 1, ms) > 0) {
		ssize_t r = recv(srv, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		ms = 50;
	}
	buf[n] = '\0';
	return buf;
}

Test(msrp_client, writes_send_and_response)
{
	pair();
	struct mc_send s = { .to_path = "msrp://r:1/x;tcp msrp://b:2/y;tcp",
			     .from_path = "msrp://a:3/z;tcp", .message_id = "m1",
			     .success_report = "yes", .content_type = "text/plain",
			     .body = "hello", .body_len = 5 };
	cr_assert_eq(mc_send_send(&cl, "tidw0001", &s), 0);
	cr_expect_str_eq(drain(1000),
			 "MSRP tidw0001 SEND\r\nTo-Path: msrp://r:1/x;tcp msrp://b:2/y;tcp\r\n"
			 "From-Path: msrp://a:3/z;tcp\r\nMessage-ID: m1\r\nByte-Range: 1-5/5\r\n"
			 "Success-Report: yes\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
			 "-------tidw0001$\r\n");

	/* our own parser takes it back, and the response goes to the previous hop */
	put("MSRP tidw0002 SEND\r\nTo-Path: msrp://me:1/q;tcp\r\n"
	    "From-Path: msrp://relay:2/r;tcp msrp://peer:3/p;tcp\r\nMessage-ID: m2\r\n"
	    "Byte-Range: 1-2/4\r\nContent-Type: text/plain\r\n\r\nab\r\n-------tidw0002+\r\n");
	cr_assert_eq(mc_read_frame(&cl, &fr, 2000), 0);
	cr_assert_eq(mc_send_response(&cl, &fr, 200, "OK"), 0);
	cr_expect_str_eq(drain(1000), "MSRP tidw0002 200 OK\r\nTo-Path: msrp://relay:2/r;tcp\r\n"
				      "From-Path: msrp://me:1/q;tcp\r\n-------tidw0002$\r\n");
	cr_expect_eq(mc_send_response(&cl, &fr, 99, NULL), -EINVAL);
}

Test(msrp_client, digest_rfc2617_vector)
{
	char out[33];
	mc_digest_response("Mufasa", "testrealm@host.com", "Circle Of Life", "GET",
			   "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001",
			   "0a4f113b", out);
	cr_expect_str_eq(out, "6629fae49393a05397450978507c4ef1");
}

Test(msrp_client, tls_against_the_daemon)
{
	static char e_api[64], e_msrp[64], e_msrps[64], e_cert[256], e_key[256];
	char err[256], hp[32];
	int api_port = free_tcp_port(), msrp_port = free_tcp_port(), msrps_port = free_tcp_port();

	cr_assert_eq(tls_certs_make(&certs, err, sizeof(err)), 0, "%s", err);
	have_certs = 1;
	snprintf(e_api, sizeof(e_api), "RCSGW_API_LISTEN=127.0.0.1:%d", api_port);
	snprintf(e_msrp, sizeof(e_msrp), "RCSGW_MSRP_LISTEN=127.0.0.1:%d", msrp_port);
	snprintf(e_msrps, sizeof(e_msrps), "RCSGW_MSRPS_LISTEN=127.0.0.1:%d", msrps_port);
	snprintf(e_cert, sizeof(e_cert), "RCSGW_MSRPS_CERT=%s", certs.server_cert);
	snprintf(e_key, sizeof(e_key), "RCSGW_MSRPS_KEY=%s", certs.server_key);
	const char *env[] = { e_api, e_msrp, e_msrps, e_cert, e_key, "RCSGW_ENGINE_WORKERS=1", NULL };
	daemon_pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert_gt(daemon_pid, 0);
	cr_assert_eq(wait_port("127.0.0.1", msrps_port, 8000), 0, "rcsgw does not listen");
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", msrps_port);

	struct mc_send s = { .to_path = "msrp://127.0.0.1:2855/nosession;tcp",
			     .from_path = "msrp://127.0.0.1:4000/me;tcp", .message_id = "t1",
			     .content_type = "text/plain", .body = "x", .body_len = 1 };
	/* verified against the test CA, by name */
	cr_assert_eq(mc_connect_tls(&cl, hp, certs.ca, TLS_CERTS_SERVER_CN, 3000), 0);
	cr_assert_eq(mc_send_send(&cl, "tidtls01", &s), 0);
	cr_assert_eq(mc_read_frame(&cl, &fr, 3000), 0);
	cr_expect_eq(fr.status, 481);
	mc_close(&cl);
	/* unverified */
	cr_assert_eq(mc_connect_tls(&cl, hp, NULL, NULL, 3000), 0);
	cr_assert_eq(mc_send_send(&cl, "tidtls02", &s), 0);
	cr_assert_eq(mc_read_frame(&cl, &fr, 3000), 0);
	cr_expect_eq(fr.status, 481);
	mc_close(&cl);
	/* a CA that did not sign it */
	cr_expect_eq(mc_connect_tls(&cl, hp, certs.rogue_ca, NULL, 3000), -EACCES);
	mc_close(&cl);
}
