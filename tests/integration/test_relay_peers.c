/* test_relay_peers.c — rcsgw's MSRP relay (RFC 4976) with real peers and transports (issue
 * 4): a chain through Kamailio's msrp relay in both orders, a chain through two rcsgw
 * daemons with an AUTH forwarded end to end, clients over TLS and over WebSocket (RFC 7977)
 * relayed to TCP clients, egress rules (a name sent to a chosen hop, a hop nobody answers
 * on: failure REPORT), and credentials from Redis and from an HTTP hook with the daemon.
 *
 * The clients are the independent test client (tests/lib/msrp_client) and, for WebSocket,
 * a small hand-made client in this file (its own HTTP upgrade and frames, none of rcsgw's
 * msrp_ws code). HA1 values are computed here with wolfCrypt's MD5. Every peer runs on
 * 127.0.0.1 on a free port and is stopped by pid, on failure too (the suite's fini). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/md5.h>

#include "tests/lib/kamailio.h"
#include "tests/lib/mc_expect.h"
#include "tests/lib/msrp_client.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/redis_srv.h"
#include "tests/lib/tls_certs.h"

#define IO_MS 3000

/* rcsgw1 and rcsgw2: their realms and users */
#define REALM1 "relay1.test"
#define USER1 "alice"
#define PASS1 "wonderland"
#define REALM2 "relay2.test"
#define USER2 "bob"
#define PASS2 "builder"
/* Kamailio (tests/peers/kamailio-msrp.cfg) */
#define KREALM "kam.test"
#define KUSER "kbob"
#define KPASS "kamsecret"

/* the clients' own URIs (they listen nowhere: relays use their connections) */
#define URI_A "msrp://127.0.0.1:40001/aaaa1;tcp"
#define URI_B "msrp://127.0.0.1:40002/bbbb2;tcp"
#define URI_C "msrp://127.0.0.1:40003/cccc3;tcp"
#define URI_AS "msrps://127.0.0.1:40004/tlsaa4;tcp"
#define URI_W "msrp://w1x.invalid:9/wwww5;ws"

#define PATH_LEN 4096

/* One rcsgw daemon. */
struct rd {
	pid_t pid;
	int port, api_port, tls_port, ws_port;   /* tls, ws: 0 when not listening */
	char hostport[32], uri[64];               /* uri: the relay URI over TCP (AUTH) */
	char htfile[96];
};

/* The credentials hook of test 6: POST {"user", "realm"} -> 200 {"ha1"} or 404. */
struct hook {
	struct MHD_Daemon *d;
	int port;
	char url[64];
	atomic_int asks, found, not_found;
	char last_realm[64];
};

/* A WebSocket client on a blocking socket, hand-made frames (RFC 6455). */
struct wsc {
	int fd;
	size_t len;                  /* bytes waiting in <buf> */
	char buf[MC_FRAME_MAX + 64];
	size_t msg_len;
	char msg[MC_FRAME_MAX + 1];  /* the last whole message, NUL-terminated */
};

static struct rd d1 = { .pid = -1 }, d2 = { .pid = -1 };
static struct kam_peer kam = { .pid = -1 };
static struct redis_srv redis = { .pid = -1 };
static struct hook hook;
static struct tls_certs certs;
static int have_certs;
static struct msrp_client ca = { .fd = -1 }, cb = { .fd = -1 }, cc = { .fd = -1 };
static struct wsc ws = { .fd = -1 };
static struct mc_frame fr;

static void rd_stop(struct rd *d)
{
	if (d->pid > 0)
		rcsgw_stop(d->pid, SIGINT, 5000);
	d->pid = -1;
	if (d->htfile[0])
		unlink(d->htfile);
	d->htfile[0] = '\0';
}

static void hook_stop(void)
{
	if (hook.d)
		MHD_stop_daemon(hook.d);
	hook.d = NULL;
}

static void fini(void)
{
	mc_close(&ca);
	mc_close(&cb);
	mc_close(&cc);
	if (ws.fd >= 0)
		close(ws.fd);
	ws.fd = -1;
	rd_stop(&d1);
	rd_stop(&d2);
	kam_stop(&kam, 3000);
	if (redis.pid > 0)
		redis_srv_stop(&redis);
	redis.pid = -1;
	hook_stop();
	if (have_certs)
		tls_certs_remove(&certs);
	have_certs = 0;
}

TestSuite(relay_peers, .fini = fini, .timeout = 30);

/* ---- helpers -------------------------------------------------------------------------- */

/* MD5(<s>) in lowercase hex into <out>. */
static void md5_hex(const char *s, char out[33])
{
	wc_Md5 m;
	unsigned char d[16];
	wc_InitMd5(&m);
	wc_Md5Update(&m, (const unsigned char *)s, (word32)strlen(s));
	wc_Md5Final(&m, d);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void ha1_hex(const char *user, const char *realm, const char *pass, char out[33])
{
	char s[256];
	snprintf(s, sizeof(s), "%s:%s:%s", user, realm, pass);
	md5_hex(s, out);
}

/* Starts rcsgw <d>: relay on, realm <realm>, a credentials file with <user>/<pass> (none
 * when <user> is NULL), plus <extra> ("NAME=value", NULL-ended; later ones win). Listens on
 * TLS / WebSocket too when <d>->tls_port / ws_port are set by the caller. */
static void rd_start(struct rd *d, const char *realm, const char *user, const char *pass,
		     const char *const *extra)
{
	static char e_listen[2][64], e_creds[2][160], e_api[2][64], e_realm[2][64];
	int k = d == &d1 ? 0 : 1;
	const char *env[32];
	int n = 0;

	d->port = free_tcp_port();
	d->api_port = free_tcp_port();
	cr_assert(d->port > 0 && d->api_port > 0);
	snprintf(d->hostport, sizeof(d->hostport), "127.0.0.1:%d", d->port);
	snprintf(d->uri, sizeof(d->uri), "msrp://127.0.0.1:%d;tcp", d->port);
	d->htfile[0] = '\0';
	if (user) {
		char ha1[33];
		snprintf(d->htfile, sizeof(d->htfile), "/tmp/rcsgw-relay-peers-%d-%d.htdigest",
			 (int)getpid(), k);
		FILE *f = fopen(d->htfile, "w");
		cr_assert_not_null(f, "cannot write %s", d->htfile);
		ha1_hex(user, realm, pass, ha1);
		fprintf(f, "%s:%s:%s\n", user, realm, ha1);
		fclose(f);
	}
	snprintf(e_listen[k], sizeof(e_listen[k]), "RCSGW_MSRP_LISTEN=%s", d->hostport);
	snprintf(e_creds[k], sizeof(e_creds[k]), "RCSGW_RELAY_CREDENTIALS_FILE=%s", d->htfile);
	snprintf(e_api[k], sizeof(e_api[k]), "RCSGW_API_LISTEN=127.0.0.1:%d", d->api_port);
	snprintf(e_realm[k], sizeof(e_realm[k]), "RCSGW_RELAY_REALM=%s", realm);
	const char *const own[] = { e_listen[k], e_creds[k], e_api[k], e_realm[k],
				    "RCSGW_SIP_LISTEN=", "RCSGW_ENGINE_PIN=false",
				    "RCSGW_LOG_LEVEL=warn", NULL };
	const char *const *lists[] = { own, extra };
	for (int l = 0; l < 2; l++)
		for (int i = 0; lists[l] && lists[l][i] && n < 31; i++)
			env[n++] = lists[l][i];
	env[n] = NULL;
	d->pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(d->pid > 0, "spawn: %s", strerror(-(int)d->pid));
	cr_assert_eq(wait_port("127.0.0.1", d->port, 5000), 0, "rcsgw does not listen");
	cr_assert_eq(wait_port("127.0.0.1", d->api_port, 5000), 0, "no API");
	if (d->tls_port)
		cr_assert_eq(wait_port("127.0.0.1", d->tls_port, 5000), 0, "no msrps listener");
	if (d->ws_port)
		cr_assert_eq(wait_port("127.0.0.1", d->ws_port, 5000), 0, "no ws listener");
}

/* Stops <d> at the end of a test: it must exit cleanly (a sanitizer report makes the
 * exit status non-zero under ASan/UBSan). */
static void rd_finish(struct rd *d)
{
	pid_t pid = d->pid;
	d->pid = -1;
	int st = rcsgw_stop(pid, SIGINT, 5000);
	cr_expect_eq(st, 0, "rcsgw (pid %d) exited with %d", (int)pid, st);
}

static void need_kamailio(void)
{
	const char *defs[] = { "MSRP_REALM=\"" KREALM "\"", "MSRP_USER=\"" KUSER "\"",
			       "MSRP_PASSWORD=\"" KPASS "\"", "MSRP_CHILDREN=2", NULL };
	if (!kam_available())
		cr_skip_test("kamailio or tests/peers/kamailio-msrp.cfg missing (make deps)");
	int rc = kam_start(&kam, defs, 5000);
	cr_assert_eq(rc, 0, "kamailio did not start: %s", strerror(-rc));
}

#define connect_to(c, hostport) MC_EXPECT_CONNECT(c, hostport, IO_MS)
#define read_frame(c) MC_EXPECT_FRAME(c, &fr, IO_MS)
#define expect_silence(c, ms) MC_EXPECT_SILENCE(c, &fr, ms)

/* AUTHs <c> at <relay_uri> as <client_uri> (no Expires) and checks that it ends with
 * <status> after a Digest challenge; for 200, the Use-Path goes into <up>. */
static void auth_as(struct msrp_client *c, const char *relay_uri, const char *client_uri,
		    const char *user, const char *pass, int status, char *up, size_t len)
{
	struct mc_auth a = { relay_uri, client_uri, user, pass, 0 };
	struct mc_auth_result r;
	int rc = mc_auth(c, &a, &r, IO_MS);

	cr_assert_eq(rc, 0, "AUTH of %s at %s: %s", user, relay_uri, strerror(-rc));
	cr_assert(r.challenged, "no Digest challenge first from %s", relay_uri);
	cr_assert_eq(r.status, status, "AUTH of %s at %s ended with %d", user, relay_uri,
		     r.status);
	if (status == 200) {
		cr_assert(r.use_path[0], "a 200 without Use-Path");
		snprintf(up, len, "%s", r.use_path);
	} else {
		cr_assert_str_empty(r.use_path);
	}
}

#define auth_ok(c, relay_uri, client_uri, user, pass, up, len)                              \
	auth_as(c, relay_uri, client_uri, user, pass, 200, up, len)
#define auth_fails(c, relay_uri, client_uri, user, pass, status)                            \
	auth_as(c, relay_uri, client_uri, user, pass, status, NULL, 0)

/* A SEND of <len> bytes of <body> as one chunk with <flag> (0: '$') and <range> (NULL:
 * the whole body). */
static void send_body(struct msrp_client *c, const char *tid, const char *to, const char *from,
		      const char *msgid, const void *body, size_t len, const char *range,
		      char flag)
{
	struct mc_send s = { .to_path = to, .from_path = from, .message_id = msgid,
			     .byte_range = range, .failure_report = "yes",
			     .content_type = "application/octet-stream", .body = body,
			     .body_len = len, .flag = flag };
	cr_assert_eq(mc_send_send(c, tid, &s), 0);
}

static void send_text(struct msrp_client *c, const char *tid, const char *to, const char *from,
		      const char *msgid, const char *text)
{
	send_body(c, tid, to, from, msgid, text, strlen(text), NULL, 0);
}

/* The sender's hop-by-hop 200 for <tid>. */
#define expect_200(c, tid_)                                                                \
	do {                                                                               \
		read_frame(c);                                                             \
		cr_assert_not(fr.is_request, "a %s instead of the 200", fr.method);        \
		cr_assert_str_eq(fr.tid, (tid_));                                          \
		cr_assert_eq(fr.status, 200, "%s: %d %s", (tid_), fr.status, fr.comment);  \
	} while (0)

/* The next frame on <c> must be a SEND with these paths, Message-ID, body and flag; it is
 * answered 200. */
#define expect_send(c, to_, from_, msgid_, body_, len_, flag_)                             \
	do {                                                                               \
		read_frame(c);                                                             \
		cr_assert(fr.is_request, "a response %d instead of a SEND", fr.status);    \
		cr_assert_str_eq(fr.method, "SEND");                                       \
		cr_assert_str_eq(mc_header(&fr, "To-Path"), (to_));                        \
		cr_assert_str_eq(mc_header(&fr, "From-Path"), (from_));                    \
		cr_assert_str_eq(mc_header(&fr, "Message-ID"), (msgid_));                  \
		cr_assert_eq(fr.body_len, (size_t)(len_), "body of %zu bytes", fr.body_len); \
		cr_assert_eq(memcmp(fr.body, (body_), (len_)), 0, "the body changed");     \
		cr_assert_eq(fr.flag, (flag_));                                            \
		cr_assert_eq(mc_send_response((c), &fr, 200, "OK"), 0);                    \
	} while (0)

/* <n> bytes of binary with CRLFs and a false end-line in it (of another transaction than
 * <tid>, whose end-line would really end the frame). */
static void fill_binary(char *p, size_t n, const char *tid)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i * 131 + 7);
	if (n > 200)
		snprintf(p + 100, 60, "\r\n-------zz%s$\r\n", tid);
}

/* The value of a quoted Digest parameter <name> in <hdr> into <out>. */
static void digest_param(const char *hdr, const char *name, char *out, size_t len)
{
	char key[32];
	snprintf(key, sizeof(key), "%s=\"", name);
	const char *p = hdr ? strstr(hdr, key) : NULL;
	cr_assert_not_null(p, "no %s in \"%s\"", name, hdr ? hdr : "");
	p += strlen(key);
	snprintf(out, len, "%.*s", (int)strcspn(p, "\""), p);
}

/* The Authorization value for AUTH at <uri> with the challenge's <nonce>. */
static void authorization(const char *user, const char *realm, const char *pass,
			  const char *uri, const char *nonce, char *out, size_t len)
{
	char resp[33];
	mc_digest_response(user, realm, pass, "AUTH", uri, nonce, "00000001", "5ca1ab1e", resp);
	snprintf(out, len, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
		 "response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"5ca1ab1e\"",
		 user, realm, nonce, uri, resp);
}

/* An AUTH frame: To-Path <to>, From-Path <from>, Authorization <authz> (NULL: none). */
static int auth_frame(char *buf, size_t len, const char *tid, const char *to, const char *from,
		      const char *authz)
{
	int n = snprintf(buf, len, "MSRP %s AUTH\r\nTo-Path: %s\r\nFrom-Path: %s\r\n%s%s%s"
			 "-------%s$\r\n", tid, to, from, authz ? "Authorization: " : "",
			 authz ? authz : "", authz ? "\r\n" : "", tid);
	cr_assert(n > 0 && (size_t)n < len);
	return n;
}

/* <src> (its URI <src_uri>) sends a text, then <big_len> bytes of binary (≤ 30000), To-Path
 * "<p1> <p2> <dst_uri>": it gets a 200 for each, and <dst> gets each with To-Path <dst_uri>
 * and From-Path "<p2> <p1> <src_uri>", Message-ID and body unchanged. <tag> (4 characters)
 * names the transactions and messages. */
static void relay_two(struct msrp_client *src, const char *src_uri, const char *p1,
		      const char *p2, struct msrp_client *dst, const char *dst_uri,
		      const char *tag, size_t big_len)
{
	static char big[30000];
	char to[PATH_LEN], from[PATH_LEN], tid[16], msgid[16], text[64];

	cr_assert_leq(big_len, sizeof(big));
	snprintf(to, sizeof(to), "%s %s %s", p1, p2, dst_uri);
	snprintf(from, sizeof(from), "%s %s %s", p2, p1, src_uri);
	snprintf(tid, sizeof(tid), "t%s0001", tag);
	snprintf(msgid, sizeof(msgid), "m%s1", tag);
	snprintf(text, sizeof(text), "hello %s from %s", dst_uri, tag);
	send_text(src, tid, to, src_uri, msgid, text);
	expect_200(src, tid);
	cr_assert_str_eq(mc_header(&fr, "To-Path"), src_uri);
	cr_assert_str_eq(mc_header(&fr, "From-Path"), p1);
	expect_send(dst, dst_uri, from, msgid, text, strlen(text), '$');

	snprintf(tid, sizeof(tid), "t%s0002", tag);
	snprintf(msgid, sizeof(msgid), "m%s2", tag);
	fill_binary(big, big_len, tid);
	send_body(src, tid, to, src_uri, msgid, big, big_len, NULL, 0);
	expect_200(src, tid);
	expect_send(dst, dst_uri, from, msgid, big, big_len, '$');
}

/* ---- 1. rcsgw -> Kamailio and Kamailio -> rcsgw ------------------------------------- */

Test(relay_peers, chain_through_kamailio_both_ways)
{
	char ua[1024], ub[1024], to[PATH_LEN], from[PATH_LEN];
	static char part1[6000], part2[5000];

	need_kamailio();
	rd_start(&d1, REALM1, USER1, PASS1, NULL);
	connect_to(&ca, d1.hostport);
	connect_to(&cb, kam.hostport);
	auth_ok(&ca, d1.uri, URI_A, USER1, PASS1, ua, sizeof(ua));
	auth_ok(&cb, kam.uri, URI_B, KUSER, KPASS, ub, sizeof(ub)); /* no Expires: PEERS.md */

	/* A -> rcsgw (A's session) -> Kamailio (B's session) -> B: rcsgw opens a connection to
	 * the next hop's host:port through its pool; 8000 bytes at most across Kamailio */
	relay_two(&ca, URI_A, ua, ub, &cb, URI_B, "kab", 8000);

	/* a message in two chunks of ≤ 8 KiB */
	snprintf(to, sizeof(to), "%s %s " URI_B, ua, ub);
	snprintf(from, sizeof(from), "%s %s " URI_A, ub, ua);
	fill_binary(part1, sizeof(part1), "tkam0003");
	fill_binary(part2, sizeof(part2), "tkam0004");
	send_body(&ca, "tkam0003", to, URI_A, "mk3", part1, sizeof(part1), "1-6000/11000", '+');
	expect_200(&ca, "tkam0003");
	expect_send(&cb, URI_B, from, "mk3", part1, sizeof(part1), '+');
	cr_assert_str_eq(mc_header(&fr, "Byte-Range"), "1-6000/11000");
	send_body(&ca, "tkam0004", to, URI_A, "mk3", part2, sizeof(part2), "6001-11000/11000", '$');
	expect_200(&ca, "tkam0004");
	expect_send(&cb, URI_B, from, "mk3", part2, sizeof(part2), '$');
	cr_assert_str_eq(mc_header(&fr, "Byte-Range"), "6001-11000/11000");
	/* B's 200s were swallowed by Kamailio, and rcsgw turned nothing into a REPORT */
	expect_silence(&ca, 300);

	/* the other order: B -> Kamailio -> rcsgw (A's session) -> A over A's AUTH connection */
	relay_two(&cb, URI_B, ub, ua, &ca, URI_A, "kba", 8000);
	expect_silence(&cb, 300);
	expect_silence(&ca, 200);

	mc_close(&ca);
	mc_close(&cb);
	rd_finish(&d1);
}

/* ---- 2. rcsgw1 -> rcsgw2, and an AUTH forwarded to rcsgw2 ---------------------------- */

Test(relay_peers, chain_through_two_rcsgw_and_forwarded_auth)
{
	char ua[1024], ub[1024], uc[1024], to[PATH_LEN], from[PATH_LEN];

	rd_start(&d1, REALM1, USER1, PASS1, NULL);
	rd_start(&d2, REALM2, USER2, PASS2, NULL);
	connect_to(&ca, d1.hostport);
	connect_to(&cb, d2.hostport);
	auth_ok(&ca, d1.uri, URI_A, USER1, PASS1, ua, sizeof(ua));
	auth_ok(&cb, d2.uri, URI_B, USER2, PASS2, ub, sizeof(ub));

	/* A -> rcsgw1 -> rcsgw2 -> B */
	relay_two(&ca, URI_A, ua, ub, &cb, URI_B, "2ab", 20000);

	/* B's error comes back as a failure REPORT through both relays */
	snprintf(to, sizeof(to), "%s %s " URI_B, ua, ub);
	send_text(&ca, "t2rc0003", to, URI_A, "m23", "refuse me");
	expect_200(&ca, "t2rc0003");
	read_frame(&cb);
	cr_assert_str_eq(mc_header(&fr, "Message-ID"), "m23");
	cr_assert_eq(mc_send_response(&cb, &fr, 415, "Unsupported Media Type"), 0);
	read_frame(&ca);
	cr_assert(fr.is_request, "a response %d instead of the REPORT", fr.status);
	cr_assert_str_eq(fr.method, "REPORT");
	cr_assert_str_eq(mc_header(&fr, "To-Path"), URI_A);
	snprintf(from, sizeof(from), "%s %s", ua, ub);
	cr_assert_str_eq(mc_header(&fr, "From-Path"), from);
	cr_assert_str_eq(mc_header(&fr, "Message-ID"), "m23");
	cr_assert_eq(strncmp(mc_header(&fr, "Status"), "000 415", 7), 0, "Status %s",
		     mc_header(&fr, "Status"));
	expect_silence(&ca, 200);

	/* B -> rcsgw2 -> rcsgw1 -> A */
	relay_two(&cb, URI_B, ub, ua, &ca, URI_A, "2ba", 20000);
	expect_silence(&cb, 200);

	/* C, a client of rcsgw1, AUTHs at rcsgw2 through its session on rcsgw1 (RFC 4976 §5):
	 * rcsgw2's 401 and 200 come back end to end */
	char buf[2048], authz[1024], nonce[256], realm[64];
	connect_to(&cc, d1.hostport);
	auth_ok(&cc, d1.uri, URI_C, USER1, PASS1, uc, sizeof(uc));
	snprintf(to, sizeof(to), "%s %s", uc, d2.uri);
	int n = auth_frame(buf, sizeof(buf), "tfwa0001", to, URI_C, NULL);
	cr_assert_eq(mc_send_raw(&cc, buf, (size_t)n), 0);
	read_frame(&cc);
	cr_assert_not(fr.is_request);
	cr_assert_str_eq(fr.tid, "tfwa0001");
	cr_assert_eq(fr.status, 401, "forwarded AUTH: %d %s", fr.status, fr.comment);
	cr_assert_str_eq(mc_header(&fr, "To-Path"), URI_C);
	const char *ch = mc_header(&fr, "WWW-Authenticate");
	digest_param(ch, "realm", realm, sizeof(realm));
	cr_assert_str_eq(realm, REALM2, "the challenge is not rcsgw2's");
	digest_param(ch, "nonce", nonce, sizeof(nonce));

	/* rcsgw1's own credentials do not pass at rcsgw2 */
	authorization(USER1, REALM2, PASS1, d2.uri, nonce, authz, sizeof(authz));
	n = auth_frame(buf, sizeof(buf), "tfwa0002", to, URI_C, authz);
	cr_assert_eq(mc_send_raw(&cc, buf, (size_t)n), 0);
	read_frame(&cc);
	cr_assert_str_eq(fr.tid, "tfwa0002");
	cr_assert_eq(fr.status, 401, "wrong credentials at rcsgw2: %d", fr.status);
	digest_param(mc_header(&fr, "WWW-Authenticate"), "nonce", nonce, sizeof(nonce));

	authorization(USER2, REALM2, PASS2, d2.uri, nonce, authz, sizeof(authz));
	n = auth_frame(buf, sizeof(buf), "tfwa0003", to, URI_C, authz);
	cr_assert_eq(mc_send_raw(&cc, buf, (size_t)n), 0);
	read_frame(&cc);
	cr_assert_str_eq(fr.tid, "tfwa0003");
	cr_assert_eq(fr.status, 200, "forwarded AUTH: %d %s", fr.status, fr.comment);
	cr_assert_str_eq(mc_header(&fr, "To-Path"), URI_C);
	const char *up = mc_header(&fr, "Use-Path");
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "msrp://127.0.0.1:%d/", d2.port);
	cr_assert_not_null(up, "rcsgw2's 200 lost its Use-Path");
	cr_assert_eq(strncmp(up, prefix, strlen(prefix)), 0, "Use-Path %s", up);
	cr_assert_str_eq(up + strlen(up) - 4, ";tcp");
	cr_assert_not_null(mc_header(&fr, "Expires"));
	cr_assert_not_null(mc_header(&fr, "Authentication-Info"));

	mc_close(&ca);
	mc_close(&cb);
	mc_close(&cc);
	rd_finish(&d1);
	rd_finish(&d2);
}

/* ---- 3. TLS between a client and rcsgw -------------------------------------------------- */

Test(relay_peers, tls_client_and_tcp_client)
{
	char ua[1024], ub[1024], tls_hp[32], tls_uri[64];
	static char e_tls[64], e_cert[256], e_key[256];
	char err[256];

	cr_assert_eq(tls_certs_make(&certs, err, sizeof(err)), 0, "%s", err);
	have_certs = 1;
	d1.tls_port = free_tcp_port();
	snprintf(e_tls, sizeof(e_tls), "RCSGW_MSRPS_LISTEN=127.0.0.1:%d", d1.tls_port);
	snprintf(e_cert, sizeof(e_cert), "RCSGW_MSRPS_CERT=%s", certs.server_cert);
	snprintf(e_key, sizeof(e_key), "RCSGW_MSRPS_KEY=%s", certs.server_key);
	const char *env[] = { e_tls, e_cert, e_key, NULL };
	rd_start(&d1, REALM1, USER1, PASS1, env);
	snprintf(tls_hp, sizeof(tls_hp), "127.0.0.1:%d", d1.tls_port);
	snprintf(tls_uri, sizeof(tls_uri), "msrps://127.0.0.1:%d;tcp", d1.tls_port);

	int rc = mc_connect_tls(&ca, tls_hp, certs.ca, TLS_CERTS_SERVER_CN, IO_MS);
	cr_assert_eq(rc, 0, "TLS connect: %s", strerror(-rc));
	connect_to(&cb, d1.hostport);
	auth_ok(&ca, tls_uri, URI_AS, USER1, PASS1, ua, sizeof(ua));
	auth_ok(&cb, d1.uri, URI_B, USER1, PASS1, ub, sizeof(ub));
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "msrps://127.0.0.1:%d/", d1.tls_port);
	cr_assert_eq(strncmp(ua, prefix, strlen(prefix)), 0, "TLS Use-Path %s", ua);
	cr_assert_str_eq(ua + strlen(ua) - 4, ";tcp");
	snprintf(prefix, sizeof(prefix), "msrp://127.0.0.1:%d/", d1.port);
	cr_assert_eq(strncmp(ub, prefix, strlen(prefix)), 0, "TCP Use-Path %s", ub);

	/* A (TLS) -> B (TCP), and B -> A */
	relay_two(&ca, URI_AS, ua, ub, &cb, URI_B, "tab", 30000);
	relay_two(&cb, URI_B, ub, ua, &ca, URI_AS, "tba", 30000);
	expect_silence(&ca, 200);
	expect_silence(&cb, 200);

	mc_close(&ca);
	mc_close(&cb);
	rd_finish(&d1);
}

/* ---- 4. MSRP over WebSocket (RFC 7977) -------------------------------------------------- */

static int ws_write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads more bytes into ws.buf within <ms>. 0, or -1 (time-out, EOF, full). */
static int ws_fill(int ms)
{
	struct pollfd p = { .fd = ws.fd, .events = POLLIN };
	if (ws.len == sizeof(ws.buf) || poll(&p, 1, ms) <= 0)
		return -1;
	ssize_t r = recv(ws.fd, ws.buf + ws.len, sizeof(ws.buf) - ws.len, 0);
	if (r <= 0)
		return -1;
	ws.len += (size_t)r;
	return 0;
}

/* Connects and upgrades to WebSocket with subprotocol "msrp" (the key and accept value of
 * RFC 6455 §1.3). */
static void ws_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[512];
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ws.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(ws.fd, 0);
	cr_assert_eq(connect(ws.fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "ws connect");
	setsockopt(ws.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ws.len = 0;
	int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: msrp\r\n\r\n", port);
	cr_assert_eq(ws_write_all(ws.fd, req, (size_t)n), 0);
	char *end;
	while (!(end = memmem(ws.buf, ws.len, "\r\n\r\n", 4)))
		cr_assert_eq(ws_fill(IO_MS), 0, "no answer to the upgrade");
	size_t hl = (size_t)(end + 4 - ws.buf);
	char head[1024];
	cr_assert_lt(hl, sizeof(head));
	memcpy(head, ws.buf, hl);
	head[hl] = '\0';
	cr_assert_eq(strncmp(head, "HTTP/1.1 101", 12), 0, "upgrade answered: %s", head);
	cr_assert_not_null(strcasestr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
			   "%s", head);
	cr_assert_not_null(strcasestr(head, "Sec-WebSocket-Protocol: msrp\r\n"), "%s", head);
	memmove(ws.buf, ws.buf + hl, ws.len - hl);
	ws.len -= hl;
}

/* Sends <len> bytes as one masked text frame. */
static void ws_send(const char *p, size_t len)
{
	static char f[MC_FRAME_MAX + 16];
	static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t h = 0;

	cr_assert_lt(len, sizeof(f) - 16);
	f[h++] = (char)0x81;                 /* FIN, text */
	if (len < 126) {
		f[h++] = (char)(0x80 | len);
	} else if (len < 65536) {
		f[h++] = (char)(0x80 | 126);
		f[h++] = (char)(len >> 8);
		f[h++] = (char)len;
	} else {
		f[h++] = (char)(0x80 | 127);
		for (int i = 7; i >= 0; i--)
			f[h++] = (char)((uint64_t)len >> (8 * i));
	}
	memcpy(f + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		f[h + i] = (char)(p[i] ^ mask[i & 3]);
	cr_assert_eq(ws_write_all(ws.fd, f, h + len), 0, "ws send");
}

/* The next whole message (continuations joined; pings answered) into ws.msg. 0, or -1. */
static int ws_recv(int ms)
{
	ws.msg_len = 0;
	for (;;) {
		while (ws.len < 2)
			if (ws_fill(ms) < 0)
				return -1;
		const unsigned char *b = (const unsigned char *)ws.buf;
		size_t h = 2;
		uint64_t plen = b[1] & 0x7f;
		if (b[1] & 0x80)
			return -1;             /* a server never masks */
		if (plen == 126)
			h = 4;
		else if (plen == 127)
			h = 10;
		while (ws.len < h)
			if (ws_fill(ms) < 0)
				return -1;
		b = (const unsigned char *)ws.buf;
		if (plen == 126) {
			plen = (uint64_t)b[2] << 8 | b[3];
		} else if (plen == 127) {
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | b[2 + i];
		}
		if (plen > sizeof(ws.buf) - h || ws.msg_len + plen > sizeof(ws.msg) - 1)
			return -1;
		while (ws.len < h + plen)
			if (ws_fill(ms) < 0)
				return -1;
		int op = ws.buf[0] & 0x0f, fin = (ws.buf[0] & 0x80) != 0;
		if (op == 0x8)
			return -1;             /* close */
		if (op == 0x9) {               /* ping: pong with the same payload */
			static char pong[140];
			if (plen <= 125) {
				char pl[126];
				memcpy(pl, ws.buf + h, plen);
				memmove(ws.buf, ws.buf + h + plen, ws.len - h - plen);
				ws.len -= h + plen;
				pong[0] = (char)0x8a;
				pong[1] = (char)(0x80 | plen);
				memset(pong + 2, 0, 4);
				memcpy(pong + 6, pl, plen);
				ws_write_all(ws.fd, pong, 6 + plen);
				continue;
			}
			return -1;
		}
		if (op < 0x8) {
			memcpy(ws.msg + ws.msg_len, ws.buf + h, plen);
			ws.msg_len += plen;
		}
		memmove(ws.buf, ws.buf + h + plen, ws.len - h - plen);
		ws.len -= h + plen;
		if (op < 0x8 && fin) {
			ws.msg[ws.msg_len] = '\0';
			return 0;
		}
	}
}

/* The value of header <name> in the MSRP frame of ws.msg into <out> ("" when none). */
static const char *ws_header(const char *name, char *out, size_t len)
{
	char key[64];
	int kl = snprintf(key, sizeof(key), "\r\n%s: ", name);
	const char *end = strstr(ws.msg, "\r\n\r\n");
	const char *p = strstr(ws.msg, key);
	out[0] = '\0';
	if (p && (!end || p < end + 2)) {
		p += kl;
		snprintf(out, len, "%.*s", (int)strcspn(p, "\r"), p);
	}
	return out;
}

/* The next message must be the MSRP frame "MSRP <tid> <what>..." (a whole frame). */
#define ws_expect(what_)                                                                   \
	do {                                                                               \
		cr_assert_eq(ws_recv(IO_MS), 0, "no WebSocket message");                   \
		const char *sp_ = strchr(ws.msg + 5, ' ');                                 \
		cr_assert(strncmp(ws.msg, "MSRP ", 5) == 0 && sp_ &&                       \
			  strncmp(sp_ + 1, (what_), strlen(what_)) == 0,                   \
			  "expected %s, got: %.200s", (what_), ws.msg);                    \
	} while (0)

Test(relay_peers, websocket_client_through_the_relay)
{
	char uw[1024], ub[1024], to[PATH_LEN], from[PATH_LEN], frame[4096], ws_uri[64];
	char authz[1024], nonce[256], v[PATH_LEN], tid[40];

	d1.ws_port = free_tcp_port();
	char e_ws[64];
	snprintf(e_ws, sizeof(e_ws), "RCSGW_MSRP_WS_LISTEN=127.0.0.1:%d", d1.ws_port);
	const char *env[] = { e_ws, NULL };
	rd_start(&d1, REALM1, USER1, PASS1, env);
	snprintf(ws_uri, sizeof(ws_uri), "msrp://127.0.0.1:%d;ws", d1.ws_port);

	/* W: upgrade, then AUTH by hand (401, then the Digest) */
	ws_open(d1.ws_port);
	int n = auth_frame(frame, sizeof(frame), "twsa0001", ws_uri, URI_W, NULL);
	ws_send(frame, (size_t)n);
	ws_expect("401");
	cr_assert_eq(strncmp(ws.msg, "MSRP twsa0001 401", 17), 0, "%s", ws.msg);
	digest_param(ws_header("WWW-Authenticate", v, sizeof(v)), "nonce", nonce, sizeof(nonce));
	authorization(USER1, REALM1, PASS1, ws_uri, nonce, authz, sizeof(authz));
	n = auth_frame(frame, sizeof(frame), "twsa0002", ws_uri, URI_W, authz);
	ws_send(frame, (size_t)n);
	ws_expect("200");
	cr_assert_eq(strncmp(ws.msg, "MSRP twsa0002 200", 17), 0, "%s", ws.msg);
	ws_header("Use-Path", uw, sizeof(uw));
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "msrp://127.0.0.1:%d/", d1.ws_port);
	cr_assert_eq(strncmp(uw, prefix, strlen(prefix)), 0, "ws Use-Path \"%s\"", uw);
	cr_assert_str_eq(uw + strlen(uw) - 3, ";ws", "ws Use-Path %s", uw);

	/* B over TCP */
	connect_to(&cb, d1.hostport);
	auth_ok(&cb, d1.uri, URI_B, USER1, PASS1, ub, sizeof(ub));

	/* B -> relay -> W: one WebSocket message holding the whole frame */
	snprintf(to, sizeof(to), "%s %s " URI_W, ub, uw);
	send_text(&cb, "twsb0001", to, URI_B, "mw1", "hello WebSocket");
	expect_200(&cb, "twsb0001");
	ws_expect("SEND");
	cr_assert_str_eq(ws_header("To-Path", v, sizeof(v)), URI_W);
	snprintf(from, sizeof(from), "%s %s " URI_B, uw, ub);
	cr_assert_str_eq(ws_header("From-Path", v, sizeof(v)), from);
	cr_assert_str_eq(ws_header("Message-ID", v, sizeof(v)), "mw1");
	const char *body = strstr(ws.msg, "\r\n\r\n");
	cr_assert_not_null(body);
	snprintf(tid, sizeof(tid), "%.*s", (int)strcspn(ws.msg + 5, " "), ws.msg + 5);
	char tail[128];
	snprintf(tail, sizeof(tail), "\r\n\r\nhello WebSocket\r\n-------%s$\r\n", tid);
	cr_assert_str_eq(body, tail, "the frame: %s", ws.msg);
	/* W answers hop by hop */
	n = snprintf(frame, sizeof(frame), "MSRP %s 200 OK\r\nTo-Path: %s\r\nFrom-Path: " URI_W
		     "\r\n-------%s$\r\n", tid, uw, tid);
	ws_send(frame, (size_t)n);

	/* W -> relay -> B */
	snprintf(to, sizeof(to), "%s %s " URI_B, uw, ub);
	n = snprintf(frame, sizeof(frame), "MSRP twsw0001 SEND\r\nTo-Path: %s\r\nFrom-Path: " URI_W
		     "\r\nMessage-ID: mw2\r\nByte-Range: 1-13/13\r\nContent-Type: text/plain\r\n\r\n"
		     "hello TCP too\r\n-------twsw0001$\r\n", to);
	ws_send(frame, (size_t)n);
	ws_expect("200");
	cr_assert_eq(strncmp(ws.msg, "MSRP twsw0001 200", 17), 0, "%s", ws.msg);
	cr_assert_str_eq(ws_header("To-Path", v, sizeof(v)), URI_W);
	snprintf(from, sizeof(from), "%s %s " URI_W, ub, uw);
	read_frame(&cb);
	cr_assert(fr.is_request);
	cr_assert_str_eq(fr.method, "SEND");
	cr_assert_str_eq(mc_header(&fr, "To-Path"), URI_B);
	cr_assert_str_eq(mc_header(&fr, "From-Path"), from);
	cr_assert_str_eq(mc_header(&fr, "Message-ID"), "mw2");
	cr_assert_eq(fr.body_len, 13);
	cr_assert_eq(memcmp(fr.body, "hello TCP too", 13), 0);
	cr_assert_eq(mc_send_response(&cb, &fr, 200, NULL), 0);
	cr_assert_eq(ws_recv(300), -1, "W got more: %.200s", ws.msg);

	close(ws.fd);
	ws.fd = -1;
	mc_close(&cb);
	rd_finish(&d1);
}

/* ---- 5. egress rules ---------------------------------------------------------------------- */

/* fr must be a failure REPORT for <msgid> with status code <code>, from <from> (the relay). */
static void expect_report(const char *to, const char *from, const char *msgid,
			  const char *code)
{
	cr_assert(fr.is_request, "a response %d instead of the REPORT", fr.status);
	cr_assert_str_eq(fr.method, "REPORT");
	cr_assert_str_eq(mc_header(&fr, "To-Path"), to);
	cr_assert_str_eq(mc_header(&fr, "From-Path"), from);
	cr_assert_str_eq(mc_header(&fr, "Message-ID"), msgid);
	const char *st = mc_header(&fr, "Status");
	cr_assert_not_null(st);
	cr_assert_eq(strncmp(st, code, strlen(code)), 0, "Status %s", st);
}

/* A SEND to <to> that nobody can take: the sender gets its 200 (the relay took it) and a
 * failure REPORT 403, in whichever order they come. */
static void send_unreachable(const char *to, const char *ua, const char *tid, const char *msgid)
{
	int got_200 = 0, got_report = 0;
	send_text(&ca, tid, to, URI_A, msgid, "nobody there");
	for (int i = 0; i < 2; i++) {
		read_frame(&ca);
		if (!fr.is_request) {
			cr_assert_str_eq(fr.tid, tid);
			cr_assert_eq(fr.status, 200, "%d %s", fr.status, fr.comment);
			got_200++;
		} else {
			expect_report(URI_A, ua, msgid, "000 403");
			got_report++;
		}
	}
	cr_assert(got_200 == 1 && got_report == 1);
}

Test(relay_peers, egress_rules_and_unreachable_next_hops)
{
	char ua[1024], ub[1024], to[PATH_LEN], sid[128];
	static char e_egress[192];

	need_kamailio();
	int closed = free_tcp_port();
	cr_assert_gt(closed, 0);
	snprintf(e_egress, sizeof(e_egress),
		 "RCSGW_RELAY_EGRESS=some-name.test tcp:127.0.0.1:%d,.nowhere.test tcp:127.0.0.1:%d",
		 kam.port, closed);
	const char *env[] = { e_egress, NULL };
	rd_start(&d1, REALM1, USER1, PASS1, env);
	connect_to(&ca, d1.hostport);
	connect_to(&cb, kam.hostport);
	auth_ok(&ca, d1.uri, URI_A, USER1, PASS1, ua, sizeof(ua));
	auth_ok(&cb, kam.uri, URI_B, KUSER, KPASS, ub, sizeof(ub));

	/* B's session at Kamailio named msrp://some-name.test:9/<its id>: port 9 answers
	 * nothing and the name resolves nowhere, only the rule can bring it to Kamailio
	 * (which finds sessions by their id alone) */
	const char *slash = strrchr(ub, '/');
	cr_assert_not_null(slash);
	snprintf(sid, sizeof(sid), "%.*s", (int)strcspn(slash + 1, ";"), slash + 1);
	char named[192];
	snprintf(named, sizeof(named), "msrp://some-name.test:9/%s;tcp", sid);
	snprintf(to, sizeof(to), "%s %s " URI_B, ua, named);
	send_text(&ca, "tegr0001", to, URI_A, "me1", "by the egress rule");
	expect_200(&ca, "tegr0001");
	read_frame(&cb);
	cr_assert(fr.is_request, "a response %d instead of the SEND", fr.status);
	cr_assert_str_eq(fr.method, "SEND");
	cr_assert_str_eq(mc_header(&fr, "To-Path"), URI_B);
	const char *fp = mc_header(&fr, "From-Path");
	char want_tail[PATH_LEN];
	snprintf(want_tail, sizeof(want_tail), " %s " URI_A, ua);
	cr_assert(strlen(fp) > strlen(want_tail) &&
		  strcmp(fp + strlen(fp) - strlen(want_tail), want_tail) == 0, "From-Path %s", fp);
	cr_assert_str_eq(mc_header(&fr, "Message-ID"), "me1");
	cr_assert_eq(fr.body_len, 18);
	cr_assert_eq(memcmp(fr.body, "by the egress rule", 18), 0);
	/* B does not answer: Kamailio 5.6 swallows an endpoint's 200 only when its To-Path
	 * names Kamailio's own address; to this one (To-Path msrp://some-name.test:9/...) it
	 * answers "501 Request-method-not-understood" (seen here). Kamailio answered rcsgw
	 * hop by hop already. */
	expect_silence(&ca, 300);

	/* a rule whose hop is a closed port: REPORT 403 back to A */
	snprintf(to, sizeof(to), "%s msrp://relay.nowhere.test:9/x1y2z3;tcp " URI_B, ua);
	send_unreachable(to, ua, "tegr0002", "me2");
	/* no rule, the URI's own host:port, closed: the same */
	snprintf(to, sizeof(to), "%s msrp://127.0.0.1:%d/x1y2z3;tcp " URI_B, ua, closed);
	send_unreachable(to, ua, "tegr0003", "me3");
	/* and Kamailio (B) got none of them */
	expect_silence(&cb, 200);
	expect_silence(&ca, 200);

	mc_close(&ca);
	mc_close(&cb);
	rd_finish(&d1);
}

/* ---- 6. credentials from Redis and from the HTTP hook ------------------------------------ */

struct hook_req {
	size_t len;
	char body[2048];
};

static enum MHD_Result hook_reply(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* POST /ha1 {"user": U, "realm": R}: "hookuser" in REALM1 -> 200 {"ha1": ...}, else 404. */
static enum MHD_Result hook_request(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version, const char *data,
				    size_t *data_size, void **state)
{
	struct hook *h = cls;
	struct hook_req *q = *state;
	(void)version;
	if (!q) {
		if (!(q = calloc(1, sizeof(*q))))
			return MHD_NO;
		*state = q;
		return MHD_YES;
	}
	if (*data_size) {
		size_t n = *data_size;
		if (n > sizeof(q->body) - 1 - q->len)
			n = sizeof(q->body) - 1 - q->len;
		memcpy(q->body + q->len, data, n);
		q->len += n;
		*data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0 || strcmp(url, "/ha1") != 0)
		return hook_reply(c, 400, "{}");
	atomic_fetch_add(&h->asks, 1);
	json_t *j = json_loadb(q->body, q->len, 0, NULL);
	const char *user = j ? json_string_value(json_object_get(j, "user")) : NULL;
	const char *realm = j ? json_string_value(json_object_get(j, "realm")) : NULL;
	enum MHD_Result rc;
	if (realm)
		snprintf(h->last_realm, sizeof(h->last_realm), "%s", realm);
	if (user && realm && !strcmp(user, "hookuser") && !strcmp(realm, REALM1)) {
		char ha1[33], out[64];
		ha1_hex("hookuser", REALM1, "hookpass", ha1);
		snprintf(out, sizeof(out), "{\"ha1\": \"%s\"}", ha1);
		atomic_fetch_add(&h->found, 1);
		rc = hook_reply(c, 200, out);
	} else if (user && realm) {
		atomic_fetch_add(&h->not_found, 1);
		rc = hook_reply(c, 404, "{}");
	} else {
		rc = hook_reply(c, 400, "{}");
	}
	json_decref(j);
	return rc;
}

static void hook_done(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	free(*state);
	*state = NULL;
}

static void hook_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	hook.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				  NULL, hook_request, &hook, MHD_OPTION_SOCK_ADDR, &a,
				  MHD_OPTION_NOTIFY_COMPLETED, hook_done, NULL,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5, MHD_OPTION_END);
	cr_assert_not_null(hook.d, "the hook server did not start");
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(hook.d, MHD_DAEMON_INFO_BIND_PORT);
	cr_assert(info && info->port, "no hook port");
	hook.port = info->port;
	snprintf(hook.url, sizeof(hook.url), "http://127.0.0.1:%d/ha1", hook.port);
}

Test(relay_peers, credentials_from_redis)
{
	char ua[1024], ub[1024], to[PATH_LEN], from[PATH_LEN], e_redis[64], ha1[33], ha1b[33];

	if (!redis_srv_available())
		cr_skip_test("no redis-server (make deps)");
	cr_assert_eq(redis_srv_start(&redis, 0), 0, "redis-server did not start");
	ha1_hex("ruser", REALM1, "rpass", ha1);
	ha1_hex("ruser2", REALM1, "rpass2", ha1b);
	const char *hset[] = { "HSET", "rcsgw:relay:ha1", "ruser", ha1, "ruser2", ha1b };
	cr_assert_eq(redis_srv_cmd(&redis, 6, hset), 0);
	snprintf(e_redis, sizeof(e_redis), "RCSGW_RELAY_CREDENTIALS_REDIS=%s", redis.addr);
	const char *env[] = { e_redis, NULL };
	rd_start(&d1, REALM1, NULL, NULL, env); /* no credentials file */

	connect_to(&ca, d1.hostport);
	connect_to(&cb, d1.hostport);
	connect_to(&cc, d1.hostport);
	auth_fails(&cc, d1.uri, URI_C, "ruser", "wrong", 401);
	auth_fails(&cc, d1.uri, URI_C, "nosuchuser", "rpass", 401);
	auth_ok(&ca, d1.uri, URI_A, "ruser", "rpass", ua, sizeof(ua));
	auth_ok(&cb, d1.uri, URI_B, "ruser2", "rpass2", ub, sizeof(ub));

	/* the sessions work */
	snprintf(to, sizeof(to), "%s %s " URI_B, ua, ub);
	snprintf(from, sizeof(from), "%s %s " URI_A, ub, ua);
	send_text(&ca, "tred0001", to, URI_A, "mr1", "Redis users");
	expect_200(&ca, "tred0001");
	expect_send(&cb, URI_B, from, "mr1", "Redis users", 11, '$');

	mc_close(&ca);
	mc_close(&cb);
	mc_close(&cc);
	rd_finish(&d1);
}

Test(relay_peers, credentials_from_the_http_hook)
{
	char ua[1024], e_hook[96];

	hook_start();
	snprintf(e_hook, sizeof(e_hook), "RCSGW_RELAY_CREDENTIALS_HOOK=%s", hook.url);
	const char *env[] = { e_hook, "RCSGW_ENGINE_WORKERS=1", NULL }; /* one worker: one cache */
	rd_start(&d1, REALM1, NULL, NULL, env);

	connect_to(&ca, d1.hostport);
	connect_to(&cc, d1.hostport);
	auth_fails(&cc, d1.uri, URI_C, "nobody", "x", 401);
	cr_assert_eq(atomic_load(&hook.not_found), 1, "the hook was asked %d times for nobody",
		     atomic_load(&hook.not_found));
	auth_fails(&cc, d1.uri, URI_C, "hookuser", "wrong", 401);
	auth_ok(&ca, d1.uri, URI_A, "hookuser", "hookpass", ua, sizeof(ua));
	cr_assert_str_eq(hook.last_realm, REALM1);
	/* the answer is cached: a second AUTH does not ask again */
	auth_ok(&ca, d1.uri, URI_A, "hookuser", "hookpass", ua, sizeof(ua));
	cr_assert_eq(atomic_load(&hook.found), 1, "asked %d times", atomic_load(&hook.found));

	mc_close(&ca);
	mc_close(&cc);
	rd_finish(&d1);
}
