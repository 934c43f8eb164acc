/* test_kamailio.c — Kamailio 5.6 with tests/peers/kamailio-msrp.cfg as an independent MSRP
 * relay (RFC 4976), driven by the test MSRP client: two clients AUTH with Digest and get
 * Use-Paths, SENDs cross it both ways with To-Path/From-Path rewritten and bodies intact,
 * and what it answers when things go wrong (unknown session, bad credentials, Expires,
 * unknown method). These record the peer's real behaviour that rcsgw's relay tests are
 * compared with (../shared/PEERS.md). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/kamailio.h"
#include "tests/lib/msrp_client.h"

#define USER "relay"
#define PASS "secret"
#define IO_MS 3000

static struct kam_peer kam = { .pid = -1 };
static struct msrp_client ca = { .fd = -1 }, cb = { .fd = -1 };
static struct mc_frame fr;

/* the clients' own URIs (they listen nowhere: the relay uses their connections) */
#define URI_A "msrp://127.0.0.1:40001/alice7;tcp"
#define URI_B "msrp://127.0.0.1:40002/bob9x;tcp"

static void fini(void)
{
	mc_close(&ca);
	mc_close(&cb);
	kam_stop(&kam, 3000);
}

TestSuite(kamailio, .fini = fini, .timeout = 10);

/* Starts Kamailio with our credentials, and Use-Path host:port <use_path> when not NULL. */
static void start_with(const char *use_path)
{
	static char d_use[128];
	const char *defs[] = { "MSRP_REALM=\"rcsgw.test\"", "MSRP_USER=\"" USER "\"",
			       "MSRP_PASSWORD=\"" PASS "\"", "MSRP_CHILDREN=2", NULL, NULL };

	if (!kam_available())
		cr_skip_test("kamailio or tests/peers/kamailio-msrp.cfg missing (make deps)");
	if (use_path) {
		snprintf(d_use, sizeof(d_use), "MSRP_USE_PATH=\"%s\"", use_path);
		defs[4] = d_use;
	}
	int rc = kam_start(&kam, defs, 5000);
	cr_assert_eq(rc, 0, "kamailio did not start: %s", strerror(-rc));
}

static void start(void) { start_with(NULL); }

static void connect_to(struct msrp_client *c)
{
	int rc = mc_connect(c, kam.hostport, IO_MS);
	cr_assert_eq(rc, 0, "connect %s: %s", kam.hostport, strerror(-rc));
}

/* AUTHs <c> as <client_uri>; the Use-Path into <use_path>. */
static void auth_ok(struct msrp_client *c, const char *client_uri, char *use_path, size_t len)
{
	struct mc_auth a = { kam.uri, client_uri, USER, PASS, 0 };
	struct mc_auth_result r;
	int rc = mc_auth(c, &a, &r, IO_MS);

	cr_assert_eq(rc, 0, "AUTH: %s", strerror(-rc));
	cr_assert(r.challenged, "no Digest challenge first");
	cr_assert_eq(r.status, 200, "AUTH ended with %d", r.status);
	cr_assert(r.use_path[0], "a 200 without Use-Path");
	snprintf(use_path, len, "%s", r.use_path);
}

static void read_frame(struct msrp_client *c)
{
	int rc = mc_read_frame(c, &fr, IO_MS);
	cr_assert_eq(rc, 0, "no frame: %s", strerror(-rc));
}

Test(kamailio, auth_gives_use_path_and_expires)
{
	start();
	connect_to(&ca);
	struct mc_auth a = { kam.uri, URI_A, USER, PASS, 0 };
	struct mc_auth_result r;
	cr_assert_eq(mc_auth(&ca, &a, &r, IO_MS), 0);
	/* the challenge: realm, nonce and qop="auth"; no algorithm, no stale */
	cr_expect(r.challenged);
	cr_expect_str_eq(r.realm, "rcsgw.test");
	cr_expect_str_eq(r.qop, "auth");
	cr_expect(strlen(r.nonce) > 8);
	cr_expect_str_empty(r.algorithm);
	cr_expect_eq(r.stale, 0);
	/* 200: Use-Path = the listen address + a new session id; Expires = auth_max_expires */
	cr_assert_eq(r.status, 200);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "msrp://127.0.0.1:%d/", kam.port);
	cr_expect(strncmp(r.use_path, prefix, strlen(prefix)) == 0, "Use-Path %s", r.use_path);
	cr_expect(strlen(r.use_path) > strlen(prefix) + 4 &&
		  strcmp(r.use_path + strlen(r.use_path) - 4, ";tcp") == 0, "Use-Path %s", r.use_path);
	cr_expect_eq(r.expires, 3600);

	/* a second client gets another session */
	char ub[1024];
	connect_to(&cb);
	auth_ok(&cb, URI_B, ub, sizeof(ub));
	cr_expect_str_neq(ub, r.use_path);
}

/* <from> sends a SEND through <relay_path> to <to_uri>; <to> must get it with the path
 * rewritten, the sender a 200 from the relay. */
static void relay_one(struct msrp_client *from, const char *from_uri, const char *relay_path,
		      struct msrp_client *to, const char *to_uri, const char *tid,
		      const void *body, size_t body_len, char flag)
{
	char to_path[2048], want_from[2048];
	snprintf(to_path, sizeof(to_path), "%s %s", relay_path, to_uri);
	struct mc_send s = { .to_path = to_path, .from_path = from_uri, .message_id = tid,
			     .success_report = "no", .failure_report = "yes",
			     .content_type = "application/octet-stream", .body = body,
			     .body_len = body_len, .flag = flag };
	cr_assert_eq(mc_send_send(from, tid, &s), 0);

	/* the relay answers the sender hop by hop */
	read_frame(from);
	cr_expect_not(fr.is_request);
	cr_expect_str_eq(fr.tid, tid);
	cr_expect_eq(fr.status, 200, "sender got %d", fr.status);
	cr_expect_str_eq(mc_header(&fr, "To-Path"), from_uri);
	cr_expect_str_eq(mc_header(&fr, "From-Path"), relay_path);

	/* the receiver: To-Path without the relay, the relay prepended to From-Path */
	read_frame(to);
	cr_assert(fr.is_request);
	cr_expect_str_eq(fr.method, "SEND");
	cr_expect_str_eq(fr.tid, tid);
	cr_expect_str_eq(mc_header(&fr, "To-Path"), to_uri);
	snprintf(want_from, sizeof(want_from), "%s %s", relay_path, from_uri);
	cr_expect_str_eq(mc_header(&fr, "From-Path"), want_from);
	cr_expect_str_eq(mc_header(&fr, "Message-ID"), tid);
	cr_expect_str_eq(mc_header(&fr, "Success-Report"), "no");
	cr_expect_str_eq(mc_header(&fr, "Failure-Report"), "yes");
	cr_expect_str_eq(mc_header(&fr, "Content-Type"), "application/octet-stream");
	cr_expect_eq(fr.flag, flag);
	cr_assert_eq(fr.body_len, body_len);
	cr_expect(memcmp(fr.body, body, body_len) == 0, "body changed on the way");
}

Test(kamailio, relays_send_both_ways)
{
	char ua[1024], ub[1024];
	static char big[8000];

	start();
	connect_to(&ca);
	connect_to(&cb);
	auth_ok(&ca, URI_A, ua, sizeof(ua));
	auth_ok(&cb, URI_B, ub, sizeof(ub));

	/* B -> A through A's Use-Path, then A -> B through B's */
	relay_one(&cb, URI_B, ua, &ca, URI_A, "tidBtoA1", "hello A", 7, '$');
	relay_one(&ca, URI_A, ub, &cb, URI_B, "tidAtoB1", "hello B\r\nline two", 17, '$');

	/* binary bytes, CRLFs and something that looks like an end-line, 8000 bytes in all */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	memcpy(big + 100, "\r\n-------tidbig01$\r\n", 20);
	relay_one(&cb, URI_B, ua, &ca, URI_A, "tidbig02", big, sizeof(big), '$');

	/* an endpoint's 200 for a relayed SEND is swallowed by Kamailio (it answered already) */
	cr_assert_eq(mc_send_response(&ca, &fr, 200, "OK"), 0);
	cr_expect_eq(mc_read_frame(&cb, &fr, 300), -ETIMEDOUT, "the 200 came through");

	/* chunks: '+' then '$' */
	relay_one(&ca, URI_A, ub, &cb, URI_B, "tidchunk1", "first", 5, '+');
	relay_one(&ca, URI_A, ub, &cb, URI_B, "tidchunk2", "second", 6, '$');
}

Test(kamailio, use_path_address_from_define)
{
	/* MSRP_USE_PATH names the relay in Use-Path (a relay behind NAT or on 0.0.0.0);
	 * Kamailio finds the session by its id alone */
	char ua[1024], ub[1024];

	start_with("relay.test:2855");
	connect_to(&ca);
	connect_to(&cb);
	auth_ok(&ca, URI_A, ua, sizeof(ua));
	auth_ok(&cb, URI_B, ub, sizeof(ub));
	cr_expect(strncmp(ua, "msrp://relay.test:2855/", 23) == 0, "Use-Path %s", ua);
	relay_one(&cb, URI_B, ua, &ca, URI_A, "tidnat01", "via the name", 12, '$');
}

Test(kamailio, send_for_unknown_session_gets_481)
{
	char ua[1024], to_path[1024];

	start();
	connect_to(&ca);
	auth_ok(&ca, URI_A, ua, sizeof(ua));
	connect_to(&cb);   /* B did not AUTH: it may still send into a session it knows */

	/* a session id Kamailio never gave out */
	char bogus[128];
	snprintf(bogus, sizeof(bogus), "msrp://127.0.0.1:%d/nosuchsession;tcp", kam.port);
	snprintf(to_path, sizeof(to_path), "%s %s", bogus, URI_A);
	struct mc_send s = { .to_path = to_path, .from_path = URI_B, .message_id = "m481",
			     .content_type = "text/plain", .body = "x", .body_len = 1 };
	cr_assert_eq(mc_send_send(&cb, "tid481a", &s), 0);
	read_frame(&cb);
	cr_expect_eq(fr.status, 481);
	cr_expect_str_eq(fr.comment, "Session-does-not-exist");
	cr_expect_str_eq(mc_header(&fr, "To-Path"), URI_B);
	cr_expect_str_eq(mc_header(&fr, "From-Path"), bogus);
	cr_expect_str_eq(mc_header(&fr, "Message-ID"), "m481");
	cr_expect_eq(mc_read_frame(&ca, &fr, 200), -ETIMEDOUT, "A got something");

	/* the same for a REPORT: no answer at all (RFC 4975 §7.1.2) */
	static const char report[] = "MSRP tidrep1 REPORT\r\nTo-Path: %s\r\nFrom-Path: " URI_B
				     "\r\nMessage-ID: m481\r\nByte-Range: 1-1/1\r\n"
				     "Status: 000 200 OK\r\n-------tidrep1$\r\n";
	char rep[2048];
	int n = snprintf(rep, sizeof(rep), report, to_path);
	cr_assert_eq(mc_send_raw(&cb, rep, (size_t)n), 0);
	cr_expect_eq(mc_read_frame(&cb, &fr, 300), -ETIMEDOUT, "a REPORT was answered");

	/* a method it does not know: 501 */
	static const char frob[] = "MSRP tidfrob1 FROB\r\nTo-Path: %s\r\nFrom-Path: " URI_B
				   "\r\n-------tidfrob1$\r\n";
	n = snprintf(rep, sizeof(rep), frob, kam.uri);
	cr_assert_eq(mc_send_raw(&cb, rep, (size_t)n), 0);
	read_frame(&cb);
	cr_expect_eq(fr.status, 501);
	cr_expect_str_eq(fr.comment, "Request-method-not-understood");
}

Test(kamailio, bad_credentials)
{
	start();
	/* wrong password: a second 401 with a fresh challenge */
	connect_to(&ca);
	struct mc_auth a = { kam.uri, URI_A, USER, "wrong", 0 };
	struct mc_auth_result r;
	cr_assert_eq(mc_auth(&ca, &a, &r, IO_MS), 0);
	cr_expect(r.challenged);
	cr_expect_eq(r.status, 401);
	cr_expect_str_empty(r.use_path);

	/* right password, other user: the config refuses with 403 */
	struct mc_auth b = { kam.uri, URI_A, "mallory", PASS, 0 };
	cr_assert_eq(mc_auth(&ca, &b, &r, IO_MS), 0);
	cr_expect(r.challenged);
	cr_expect_eq(r.status, 403);

	/* the connection is still good for a proper AUTH */
	char ua[1024];
	auth_ok(&ca, URI_A, ua, sizeof(ua));
}

Test(kamailio, auth_with_expires_gets_broken_423)
{
	/* Kamailio 5.6.3's msrp_cmap_save() refuses any Expires, even one inside
	 * [auth_min_expires, auth_max_expires], with "423 Interval Out Of Bounds" whose
	 * Min-Expires header is replaced by bytes of its stack: the client must see a 423 or
	 * reject the frame as malformed, never hang or read past it */
	start();
	long tries[] = { 30, 1800, 10000 };
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		connect_to(&ca);
		struct mc_auth a = { kam.uri, URI_A, USER, PASS, tries[i] };
		struct mc_auth_result r;
		int rc = mc_auth(&ca, &a, &r, IO_MS);
		cr_expect(r.challenged, "Expires %ld: no challenge first", tries[i]);
		if (rc == 0) {
			cr_expect_eq(r.status, 423, "Expires %ld: %d", tries[i], r.status);
		} else {
			cr_expect_eq(rc, -EPROTO, "Expires %ld: %s", tries[i], strerror(-rc));
			cr_expect(memmem(ca.rbuf, ca.rlen, " 423 Interval Out Of Bounds\r\n", 29),
				  "Expires %ld: not a 423", tries[i]);
		}
		mc_close(&ca);
	}
}
