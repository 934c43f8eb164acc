/* test_sipp_message.c — the page-mode peers of the SIP MESSAGE ⇄ MSRP gateway's tests
 * (issue 6), proven before rcsgw takes either side: tests/peers/sipp/uac_message.xml (a
 * client sending MESSAGE) against uas_message.xml (a user receiving them) over UDP and
 * TCP, directly and through Kamailio forwarding statelessly (tests/peers/kamailio-message.cfg,
 * skipped when kamailio is missing). Bodies are compared byte for byte with what the UAS
 * logged, final codes with what the UAC logged and how sipp exited. */
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

#include "tests/lib/kamailio.h"
#include "tests/lib/sipp.h"

#define RUN_MS 8000                        /* one sipp run, start to end */

/* the body uac_message.xml builds for -set size N: this pattern from its start, again and
 * again, cut after N bytes */
static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static char uas_dir[PATH_MAX], uac_dir[PATH_MAX];
static pid_t uas = -1, uac = -1;
static struct kam_peer kam = { .pid = -1 };
static int udp_fd = -1;

static void fini(void)
{
	sipp_stop(uac, 1000);
	sipp_stop(uas, 1000);
	kam_stop(&kam, 3000);
	if (udp_fd >= 0)
		close(udp_fd);
	sipp_logdir_remove(uas_dir);
	sipp_logdir_remove(uac_dir);
}

TestSuite(sipp_message, .fini = fini, .timeout = 10);

static void need_sipp(void)
{
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) or tests/peers/sipp/ missing (make deps)");
	cr_assert_eq(sipp_logdir_new(uas_dir, sizeof(uas_dir)), 0);
	cr_assert_eq(sipp_logdir_new(uac_dir, sizeof(uac_dir)), 0);
}

/* Starts uas_message.xml on a free port (returned) with the name/value pairs <keys>. */
static int uas_start(const char *const *keys)
{
	int port = sipp_free_port();

	cr_assert_gt(port, 0, "no free port: %s", strerror(-port));
	uas = sipp_start("uas_message.xml", NULL, port, keys, uas_dir, NULL);
	if (uas < 0)
		sipp_log_report(uas_dir, "UAS");
	cr_assert_gt(uas, 0, "uas_message.xml did not start: %s", strerror(-uas));
	return port;
}

/* Runs uac_message.xml against <remote> ("127.0.0.1:P") to its end; its exit status. */
static int uac_run(const char *remote, const char *const *keys)
{
	uac = sipp_start("uac_message.xml", remote, 0, keys, uac_dir, NULL);
	if (uac < 0)
		sipp_log_report(uac_dir, "UAC");
	cr_assert_gt(uac, 0, "uac_message.xml did not start: %s", strerror(-uac));
	int rc = sipp_wait(uac, RUN_MS);
	uac = -1;
	return rc;
}

/* Waits for the UAS to end by itself; its exit status. */
static int uas_end(void)
{
	int rc = sipp_wait(uas, RUN_MS);
	uas = -1;
	return rc;
}

/* Both sides exited as wanted; their logs on stderr otherwise. */
static void expect_exits(int uac_rc, int want_uac, int uas_rc, int want_uas)
{
	if (uac_rc != want_uac)
		sipp_log_report(uac_dir, "uac_message.xml");
	if (uas_rc != want_uas)
		sipp_log_report(uas_dir, "uas_message.xml");
	cr_expect_eq(uac_rc, want_uac, "UAC exited with %d", uac_rc);
	cr_expect_eq(uas_rc, want_uas, "UAS exited with %d", uas_rc);
}

/* The value logged as "<name>=..." (the first such line) by the side whose log dir is
 * <dir>. */
static const char *logged(const char *dir, const char *name)
{
	static char val[4][512];
	static int next;
	char re[64];
	char *out = val[next++ % 4];

	snprintf(re, sizeof(re), "^%s=(.*)$", name);
	int rc = sipp_log_find(dir, re, out, sizeof(val[0]));
	cr_assert_geq(rc, 0, "%s: no %s= line: %s", dir, name, strerror(-rc));
	return out;
}

/* How many lines of <dir>'s log start with <prefix>. */
static int count_lines(const char *dir, const char *prefix)
{
	char path[PATH_MAX + 16], line[256];
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, SIPP_LOG_ACTIONS);
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		n += strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(f);
	return n;
}

/* The UAS logged, as its first message_body, exactly <want> (<len> bytes) and nothing more
 * on that line, whatever its length: the log is read whole. */
static void expect_body(const void *want, size_t len)
{
	static const char key[] = "message_body=";
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", uas_dir, SIPP_LOG_ACTIONS);
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s: %s", path, strerror(errno));
	char *all = malloc(256 * 1024);
	cr_assert(all);
	size_t n = fread(all, 1, 256 * 1024 - 1, f);
	fclose(f);
	all[n] = '\0';
	char *at = strstr(all, key);
	cr_assert(at, "no %s line in %s", key, path);
	at += sizeof(key) - 1;
	size_t have = n - (size_t)(at - all);
	cr_expect(have > len && memcmp(at, want, len) == 0 && at[len] == '\n',
		  "logged body differs (%zu bytes wanted, %zu after the key): %.200s", len, have,
		  at);
	free(all);
}

/* <buf> gets <len> bytes of the pattern uac_message.xml fills with. */
static void fill_pattern(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern[i % (sizeof(pattern) - 1)];
}

static const char *remote_of(int port)
{
	static char remote[32];

	snprintf(remote, sizeof(remote), "127.0.0.1:%d", port);
	return remote;
}

/* (a) one MESSAGE over UDP with the text defaults: the UAS answers 202, the UAC expects it;
 * what the UAS saw is what the UAC said it sends. */
Test(sipp_message, text_over_udp)
{
	need_sipp();
	const char *uas_keys[] = { "$answer_code", "202", NULL };
	int port = uas_start(uas_keys);
	const char *uac_keys[] = { "-s", "bob", "$body", "hello, page mode", NULL };
	int uac_rc = uac_run(remote_of(port), uac_keys);
	expect_exits(uac_rc, 0, uas_end(), 0);

	cr_expect_str_eq(logged(uac_dir, "final_code"), "202");
	cr_expect_str_eq(logged(uas_dir, "answered"), "202");
	cr_expect_str_eq(logged(uas_dir, "message_body"), "hello, page mode");
	cr_expect_str_eq(logged(uas_dir, "message_len"), "16");
	cr_expect_str_eq(logged(uas_dir, "message_ctype"), "text/plain");
	char want[64];
	snprintf(want, sizeof(want), "sip:bob@127.0.0.1:%d", port);
	cr_expect_str_eq(logged(uas_dir, "message_ruri"), want);
	cr_expect(strncmp(logged(uas_dir, "message_from"), "<sip:legacy@127.0.0.1:", 22) == 0,
		  "From %s", logged(uas_dir, "message_from"));
	char to[80];
	snprintf(to, sizeof(to), "<%s>", want);
	cr_expect_str_eq(logged(uas_dir, "message_to"), to);
}

/* (b) a 3000-byte body of another type over TCP (RFC 3428 §6: above 1300 bytes), with
 * the addresses given: byte-exact at the UAS, 200 taken by "2xx". */
Test(sipp_message, sized_body_over_tcp)
{
	need_sipp();
	const char *uas_keys[] = { "-t", "t1", NULL };
	int port = uas_start(uas_keys);
	const char *uac_keys[] = { "-t", "t1", "-s", "+15551234", "$size", "3000", "$ctype",
				   "application/octet-stream", "$from_user", "alice", "$from_host",
				   "legacy.example", "$to_host", "rcs.example", "$expect_code",
				   "2xx", NULL };
	int uac_rc = uac_run(remote_of(port), uac_keys);
	expect_exits(uac_rc, 0, uas_end(), 0);

	cr_expect_str_eq(logged(uac_dir, "final_code"), "200");
	cr_expect_str_eq(logged(uas_dir, "message_len"), "3000");
	cr_expect_str_eq(logged(uas_dir, "message_ctype"), "application/octet-stream");
	cr_expect_str_eq(logged(uas_dir, "message_ruri"), "sip:+15551234@rcs.example");
	cr_expect(strncmp(logged(uas_dir, "message_from"), "<sip:alice@legacy.example>;tag=",
			  31) == 0, "From %s", logged(uas_dir, "message_from"));
	char body[3000];
	fill_pattern(body, sizeof(body));
	expect_body(body, sizeof(body));
	char buf[16384];
	sipp_log_tail(uac_dir, SIPP_LOG_MESSAGES, buf, sizeof(buf));
	cr_expect(strstr(buf, "TCP message sent") && !strstr(buf, "UDP message"), "%s", buf);
}

/* (c) a large body over UDP arrives whole too (one datagram on loopback). */
Test(sipp_message, large_body_over_udp)
{
	need_sipp();
	int port = uas_start(NULL);
	const char *uac_keys[] = { "$size", "20000", "$expect_code", "200", NULL };
	int uac_rc = uac_run(remote_of(port), uac_keys);
	expect_exits(uac_rc, 0, uas_end(), 0);

	static char body[20000];
	fill_pattern(body, sizeof(body));
	expect_body(body, sizeof(body));
	cr_expect_str_eq(logged(uas_dir, "message_len"), "20000");
}

/* (d) a final code the UAC does not expect fails its call, after logging it, and nothing
 * follows the MESSAGE (no ACK, no BYE: sipp's defaults on a failed call); "2xx" does not
 * take a 486. */
Test(sipp_message, unexpected_code_fails)
{
	need_sipp();
	const char *uas_keys[] = { "$answer_code", "486", NULL };
	int port = uas_start(uas_keys);
	const char *uac_keys[] = { "$expect_code", "2xx", NULL };
	int uac_rc = uac_run(remote_of(port), uac_keys);
	expect_exits(uac_rc, 1, uas_end(), 0);
	cr_expect_str_eq(logged(uac_dir, "final_code"), "486");

	char buf[8192];
	sipp_log_tail(uac_dir, SIPP_LOG_MESSAGES, buf, sizeof(buf));
	cr_expect(strstr(buf, "SIP/2.0 486 Busy Here"), "%s", buf);
	cr_expect(!strstr(buf, "ACK sip:") && !strstr(buf, "BYE sip:"), "%s", buf);
	sipp_log_tail(uac_dir, SIPP_LOG_ERRORS, buf, sizeof(buf));
	cr_expect(strstr(buf, "Failed regexp match"), "%s", buf);

	/* and a 486 expected is a success */
	sipp_logdir_remove(uac_dir);
	sipp_logdir_remove(uas_dir);
	need_sipp();
	port = uas_start(uas_keys);
	const char *uac_486[] = { "$expect_code", "486", NULL };
	uac_rc = uac_run(remote_of(port), uac_486);
	expect_exits(uac_rc, 0, uas_end(), 0);
}

/* (e) several MESSAGEs, each with its own Call-ID (one sipp call each), over TCP: the UAS
 * takes -m calls; each gets its answer. */
Test(sipp_message, several_calls_over_tcp)
{
	need_sipp();
	const char *uas_keys[] = { "-t", "t1", "-m", "3", "$answer_code", "202", NULL };
	int port = uas_start(uas_keys);
	const char *uac_keys[] = { "-t", "t1", "-m", "3", "-r", "50", NULL };
	int uac_rc = uac_run(remote_of(port), uac_keys);
	expect_exits(uac_rc, 0, uas_end(), 0);
	cr_expect_eq(count_lines(uac_dir, "final_code=202"), 3);
	cr_expect_eq(count_lines(uas_dir, "answered=202"), 3);
	cr_expect_eq(count_lines(uas_dir, "message_body=hello"), 3);
}

/* (e2) the load sink's quiet mode: answers as before, logs no message_* lines. */
Test(sipp_message, quiet_sink_answers_without_parsing)
{
	need_sipp();
	const char *uas_keys[] = { "-m", "2", "$quiet", "1", NULL };
	int port = uas_start(uas_keys);
	const char *uac_keys[] = { "-m", "2", "-r", "50", "$expect_code", "200", NULL };
	int uac_rc = uac_run(remote_of(port), uac_keys);
	expect_exits(uac_rc, 0, uas_end(), 0);
	cr_expect_eq(count_lines(uac_dir, "final_code=200"), 2);
	cr_expect_eq(count_lines(uas_dir, "answered=200"), 2);
	cr_expect_eq(count_lines(uas_dir, "message_"), 0);
}

/* Sends <msg> to 127.0.0.1:<port> from udp_fd and reads one response into <resp>. */
static void udp_exchange(int port, const char *msg, char *resp, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(sendto(udp_fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)),
		     (ssize_t)strlen(msg));
	struct pollfd p = { .fd = udp_fd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 3000), 1, "no response to:\n%s", msg);
	ssize_t n = recv(udp_fd, resp, len - 1, 0);
	cr_assert_gt(n, 0);
	resp[n] = '\0';
}

/* (f) MESSAGEs that share a Call-ID stay in one call: with count 3 the UAS answers three
 * (CSeq 1, 2, 3, bodies in order) and ends. The test is the sender. */
Test(sipp_message, one_call_id_count)
{
	need_sipp();
	const char *uas_keys[] = { "$count", "3", NULL };
	int port = uas_start(uas_keys);
	struct sockaddr_in me = { .sin_family = AF_INET };
	socklen_t sl = sizeof(me);
	udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(udp_fd, 0);
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(udp_fd, (struct sockaddr *)&me, sizeof(me)), 0);
	cr_assert_eq(getsockname(udp_fd, (struct sockaddr *)&me, &sl), 0);
	int my_port = ntohs(me.sin_port);

	for (int i = 1; i <= 3; i++) {
		char msg[1024], resp[2048], body[24], cseq[32];
		snprintf(body, sizeof(body), "part %d", i);
		snprintf(msg, sizeof(msg),
			 "MESSAGE sip:bob@127.0.0.1:%d SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-shared-%d\r\n"
			 "From: <sip:alice@127.0.0.1>;tag=al1\r\n"
			 "To: <sip:bob@127.0.0.1>\r\n"
			 "Call-ID: shared-call-id@127.0.0.1\r\n"
			 "CSeq: %d MESSAGE\r\n"
			 "Max-Forwards: 70\r\n"
			 "Content-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 port, my_port, i, i, strlen(body), body);
		udp_exchange(port, msg, resp, sizeof(resp));
		cr_expect(strncmp(resp, "SIP/2.0 200 OK\r\n", 16) == 0, "%s", resp);
		snprintf(cseq, sizeof(cseq), "CSeq: %d MESSAGE\r\n", i);
		cr_expect(strstr(resp, cseq), "%s", resp);
		cr_expect(strstr(resp, "Call-ID: shared-call-id@127.0.0.1\r\n"), "%s", resp);
	}
	cr_expect_eq(uas_end(), 0);
	cr_expect_eq(count_lines(uas_dir, "answered=200"), 3);
	cr_expect_eq(count_lines(uas_dir, "message_body=part "), 3);
	char out[32];
	cr_expect_gt(sipp_log_find(uas_dir, "^message_body=part 3$", out, sizeof(out)), 0);
}

/* Starts the stateless forwarder toward the UAS on <uas_port>. */
static void kam_toward(int uas_port)
{
	if (!kam_msg_available())
		cr_skip_test("kamailio or tests/peers/kamailio-message.cfg missing (make deps)");
	const char *defs[] = { "MSG_CHILDREN=1", NULL };
	int rc = kam_msg_start(&kam, remote_of(uas_port), defs, 5000);
	cr_assert_eq(rc, 0, "kamailio did not start: %s", strerror(-rc));
}

/* (g) through Kamailio forwarding statelessly: it adds its Via and takes one from
 * Max-Forwards, the body is untouched, each response comes back to the UAC; two MESSAGEs
 * with Call-IDs of their own. */
Test(sipp_message, through_kamailio_stateless)
{
	need_sipp();
	const char *uas_keys[] = { "-m", "2", "$answer_code", "202", NULL };
	int port = uas_start(uas_keys);
	kam_toward(port);
	const char *uac_keys[] = { "-m", "2", "-r", "50", "-s", "bob", "$size", "1200", NULL };
	int uac_rc = uac_run(kam.hostport, uac_keys);
	expect_exits(uac_rc, 0, uas_end(), 0);

	cr_expect_eq(count_lines(uac_dir, "final_code=202"), 2);
	cr_expect_eq(count_lines(uas_dir, "answered=202"), 2);
	static char body[1200];
	fill_pattern(body, sizeof(body));
	expect_body(body, sizeof(body));
	char want[64];
	snprintf(want, sizeof(want), "sip:bob@%s", kam.hostport);
	cr_expect_str_eq(logged(uas_dir, "message_ruri"), want);

	char buf[16384], via[64];
	sipp_log_tail(uas_dir, SIPP_LOG_MESSAGES, buf, sizeof(buf));
	snprintf(via, sizeof(via), "Via: SIP/2.0/UDP %s;branch=z9hG4bK", kam.hostport);
	cr_expect(strstr(buf, via), "no Via of Kamailio's in:\n%s", buf);
	cr_expect(strstr(buf, "Max-Forwards: 69\r\n"), "%s", buf);

	/* what Kamailio answers itself: a request that is not a MESSAGE */
	udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(udp_fd, 0);
	char resp[2048];
	udp_exchange(kam.port,
		     "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-opt1;rport\r\n"
		     "From: <sip:alice@127.0.0.1>;tag=o1\r\n"
		     "To: <sip:bob@127.0.0.1>\r\n"
		     "Call-ID: options-1@127.0.0.1\r\n"
		     "CSeq: 1 OPTIONS\r\n"
		     "Max-Forwards: 70\r\n"
		     "Content-Length: 0\r\n\r\n",
		     resp, sizeof(resp));
	cr_expect(strncmp(resp, "SIP/2.0 405 ", 12) == 0, "%s", resp);
}

/* (h) a final failure code travels back through Kamailio unchanged, and a MESSAGE out of
 * Max-Forwards is refused by Kamailio itself. */
Test(sipp_message, kamailio_relays_failures)
{
	need_sipp();
	const char *uas_keys[] = { "$answer_code", "415", NULL };
	int port = uas_start(uas_keys);
	kam_toward(port);
	const char *uac_keys[] = { "$expect_code", "415", NULL };
	int uac_rc = uac_run(kam.hostport, uac_keys);
	expect_exits(uac_rc, 0, uas_end(), 0);
	cr_expect_str_eq(logged(uac_dir, "final_code"), "415");

	udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(udp_fd, 0);
	char resp[2048];
	udp_exchange(kam.port,
		     "MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-mf0;rport\r\n"
		     "From: <sip:alice@127.0.0.1>;tag=m1\r\n"
		     "To: <sip:bob@127.0.0.1>\r\n"
		     "Call-ID: maxfwd-0@127.0.0.1\r\n"
		     "CSeq: 1 MESSAGE\r\n"
		     "Max-Forwards: 0\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: 2\r\n\r\nhi",
		     resp, sizeof(resp));
	cr_expect(strncmp(resp, "SIP/2.0 483 ", 12) == 0, "%s", resp);
}
