/* test_msrp_ws.c — MSRP over WebSocket (msrp/msrp_ws.c).
 *
 *   - the upgrade parsers and builders, inputs placed against a guard page;
 *   - two transport cores wired back to back in memory (no engine), bytes delivered in
 *     pieces of every size;
 *   - the engine glue on both backends: an engine server that upgrades and echoes each
 *     WebSocket message, driven by a test client made of plain sockets, our own client
 *     handshake and a wslay client context (masking, fragments, pings, close); raw bad
 *     requests; the engine client (msrp_ws_connect) over ws and wss.
 *
 * The test thread talks to the worker only through eng_post() and the callbacks; every
 * wait has a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <wslay/wslay.h>

#include "engine/eng.h"
#include "engine/eng_tls.h"
#include "msrp/msrp_ws.h"
#include "tests/lib/guard.h"
#include "tests/lib/tls_certs.h"

#define WAIT_MS 10000

static const char *const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";     /* RFC 6455 §1.3 */
static const char *const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static struct msrp_ws_cfg def_cfg(void)
{
	struct msrp_ws_cfg c;
	msrp_ws_cfg_defaults(&c);
	return c;
}

/* ---- guard page ------------------------------------------------------------------------ */

static const char *guard_last;

/* A copy of <s> (<len> bytes) that ends where a PROT_NONE page begins (tests/lib/guard);
 * valid until the next call. */
static const char *guarded(const char *s, size_t len)
{
	guard_release(guard_last);
	guard_last = guard_copy(s, len);
	return guard_last;
}

static int parse_req(const char *s, struct msrp_ws_req *out)
{
	struct msrp_ws_cfg cfg = def_cfg();
	return msrp_ws_parse_request(guarded(s, strlen(s)), strlen(s), &cfg, out);
}

#define REQ_HEAD "GET /msrp HTTP/1.1\r\nHost: relay.example.com\r\n"
#define REQ_WS   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define REQ_KEY  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define REQ_VER  "Sec-WebSocket-Version: 13\r\n"
#define REQ_PROTO "Sec-WebSocket-Protocol: msrp\r\n"
#define GOOD_REQ REQ_HEAD REQ_WS REQ_KEY REQ_VER REQ_PROTO "Origin: https://web.example.com\r\n\r\n"

/* ---- pure: accept, requests --------------------------------------------------------------- */

Test(msrp_ws, accept_value_of_rfc6455_example)
{
	char out[MSRP_WS_ACCEPT_LEN + 1];
	cr_assert_eq(msrp_ws_accept_of((cm_slice){ RFC_KEY, strlen(RFC_KEY) }, out), 0);
	cr_expect_str_eq(out, RFC_ACCEPT);
}

Test(msrp_ws, good_request)
{
	struct msrp_ws_req r;
	int n = parse_req(GOOD_REQ, &r);
	cr_assert_eq(n, (int)strlen(GOOD_REQ), "got %d (%d %s)", n, r.status, r.reason);
	cr_expect_eq(r.target.len, 5);
	cr_expect_eq(memcmp(r.target.p, "/msrp", 5), 0);
	cr_expect_eq(r.host.len, strlen("relay.example.com"));
	cr_expect_eq(memcmp(r.origin.p, "https://web.example.com", r.origin.len), 0);
	cr_expect_eq(memcmp(r.key.p, RFC_KEY, 24), 0);
	cr_expect_eq(r.nhdrs, 7);
}

Test(msrp_ws, request_variants_accepted)
{
	static const char *const ok[] = {
		/* browsers: lists, case, blanks, no Origin, several protocols */
		"GET / HTTP/1.1\r\nhost:h\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
		"sec-websocket-key:   " "dGhlIHNhbXBsZSBub25jZQ==" "  \r\nSEC-WEBSOCKET-VERSION: 13\r\n"
		"Sec-WebSocket-Protocol: sip, msrp\r\n\r\n",
		/* the protocol offered on a second header line, an absolute-form target */
		"GET ws://h/x HTTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER
		"Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Protocol: msrp\r\n"
		"Sec-WebSocket-Extensions: permessage-deflate\r\nContent-Length: 0\r\n\r\n",
		/* HTTP/1.2 is a later 1.x; empty list elements */
		"GET /a?b=c HTTP/1.2\r\nHost: h\r\nUpgrade: ,websocket,\r\nConnection: ,upgrade\r\n"
		REQ_KEY REQ_VER "Sec-WebSocket-Protocol: ,msrp,\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct msrp_ws_req r;
		int n = parse_req(ok[i], &r);
		cr_expect_eq(n, (int)strlen(ok[i]), "case %zu: %d %d %s", i, n, r.status,
			     r.reason ? r.reason : "");
	}
}

Test(msrp_ws, request_split_anywhere_is_again)
{
	const char *s = GOOD_REQ;
	size_t len = strlen(s);
	struct msrp_ws_cfg cfg = def_cfg();
	for (size_t k = 0; k < len; k++) {
		struct msrp_ws_req r;
		int n = msrp_ws_parse_request(guarded(s, k), k, &cfg, &r);
		cr_expect_eq(n, MSRP_WS_AGAIN, "prefix %zu: %d", k, n);
	}
	/* bytes after the head (a pipelined frame) are not looked at */
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s\x81\x85garbage", s);
	struct msrp_ws_req r;
	cr_expect_eq(parse_req(buf, &r), (int)len);
}

struct bad_case {
	const char *req;
	int status;
	unsigned hdrs;
};

Test(msrp_ws, request_errors)
{
	static const struct bad_case bad[] = {
		/* not a WebSocket request at all */
		{ "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 426, MSRP_WS_EH_UPGRADE | MSRP_WS_EH_VERSION },
		{ REQ_HEAD "Upgrade: h2c\r\nConnection: Upgrade\r\n" REQ_KEY REQ_VER REQ_PROTO "\r\n",
		  426, MSRP_WS_EH_UPGRADE | MSRP_WS_EH_VERSION },
		/* version */
		{ REQ_HEAD REQ_WS REQ_KEY "Sec-WebSocket-Version: 8\r\n" REQ_PROTO "\r\n", 400,
		  MSRP_WS_EH_VERSION },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_PROTO "\r\n", 400, MSRP_WS_EH_VERSION },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER REQ_VER REQ_PROTO "\r\n", 400, MSRP_WS_EH_VERSION },
		/* subprotocol (RFC 7977: msrp, exactly) */
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER "\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER "Sec-WebSocket-Protocol: sip\r\n\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER "Sec-WebSocket-Protocol: MSRP\r\n\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER "Sec-WebSocket-Protocol: msrpx\r\n\r\n", 400, 0 },
		/* key */
		{ REQ_HEAD REQ_WS REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" REQ_VER REQ_PROTO
		  "\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n" REQ_VER REQ_PROTO
		  "\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" REQ_VER REQ_PROTO
		  "\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n" REQ_VER
		  REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		/* Connection, Host */
		{ REQ_HEAD "Upgrade: websocket\r\nConnection: keep-alive\r\n" REQ_KEY REQ_VER
		  REQ_PROTO "\r\n", 400, 0 },
		{ "GET / HTTP/1.1\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ "GET / HTTP/1.1\r\nHost:\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD "Host: again\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		/* method, version */
		{ "POST /msrp HTTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 405,
		  MSRP_WS_EH_ALLOW },
		{ "get /msrp HTTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 405,
		  MSRP_WS_EH_ALLOW },
		{ "GET /msrp HTTP/1.0\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 505, 0 },
		{ "GET /msrp HTTP/2.0\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 505, 0 },
		/* framing */
		{ "GET /msrp HTTP/1.1\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ "GET /msrp  HTTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ "GET msrp HTTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ "GET /msrp HTTP/1.1 \r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ "GET /msrp HTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ "GET /m\x01srp HTTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD "X-A: b\nc\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD "X-A: b\rc\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD "X-A: b\x7f\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD "X-A: b\r\n folded\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD "Upgrade : websocket\r\nConnection: Upgrade\r\n" REQ_KEY REQ_VER REQ_PROTO
		  "\r\n", 400, 0 },
		{ REQ_HEAD "no colon\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD ": empty name\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER REQ_PROTO "Origin: a\r\nOrigin: b\r\n\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER REQ_PROTO "Content-Length: 5\r\n\r\n", 400, 0 },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER REQ_PROTO "Transfer-Encoding: chunked\r\n\r\n", 400,
		  0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct msrp_ws_req r;
		int n = parse_req(bad[i].req, &r);
		cr_expect_eq(n, MSRP_WS_ERROR, "case %zu: %d", i, n);
		cr_expect_eq(r.status, bad[i].status, "case %zu: status %d, want %d (%s)", i,
			     r.status, bad[i].status, r.reason ? r.reason : "");
		cr_expect_eq(r.err_hdrs, bad[i].hdrs, "case %zu: hdrs %#x", i, r.err_hdrs);
		cr_expect_not_null(r.reason, "case %zu", i);
	}
}

Test(msrp_ws, request_limits)
{
	struct msrp_ws_cfg cfg = def_cfg();
	struct msrp_ws_req r;
	char big[20000];

	/* more header lines than max_headers */
	cfg.max_headers = 8;
	int n = msrp_ws_parse_request(GOOD_REQ, strlen(GOOD_REQ), &cfg, &r);
	cr_expect_eq(n, (int)strlen(GOOD_REQ), "7 lines under 8");
	cfg.max_headers = 6;
	n = msrp_ws_parse_request(GOOD_REQ, strlen(GOOD_REQ), &cfg, &r);
	cr_expect_eq(n, MSRP_WS_ERROR);
	cr_expect_eq(r.status, 431);

	/* a head exactly max_head long passes, one byte more is 431, and so is an unfinished
	 * head that already fills max_head */
	cfg = def_cfg();
	size_t base = strlen(GOOD_REQ);
	cfg.max_head = (uint32_t)base;
	cr_expect_eq(msrp_ws_parse_request(guarded(GOOD_REQ, base), base, &cfg, &r), (int)base);
	cfg.max_head = (uint32_t)base - 1;
	cr_expect_eq(msrp_ws_parse_request(guarded(GOOD_REQ, base), base, &cfg, &r), MSRP_WS_ERROR);
	cr_expect_eq(r.status, 431);
	cfg.max_head = 300;
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	cr_expect_eq(msrp_ws_parse_request(guarded(big, 299), 299, &cfg, &r), MSRP_WS_AGAIN);
	cr_expect_eq(msrp_ws_parse_request(guarded(big, 300), 300, &cfg, &r), MSRP_WS_ERROR);
	cr_expect_eq(r.status, 431);
}

Test(msrp_ws, error_answers)
{
	char buf[MSRP_WS_ERROR_MAX];
	int n = msrp_ws_build_error(400, MSRP_WS_EH_VERSION, "WebSocket version 13 required", buf,
				    sizeof(buf));
	cr_assert(n > 0 && (size_t)n < sizeof(buf));
	cr_expect(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", buf);
	cr_expect(strstr(buf, "\r\nSec-WebSocket-Version: 13\r\n"));
	cr_expect(strstr(buf, "\r\nConnection: close\r\n"));
	cr_expect(strstr(buf, "\r\nContent-Length: 30\r\n\r\nWebSocket version 13 required\n"));
	n = msrp_ws_build_error(426, MSRP_WS_EH_UPGRADE, NULL, buf, sizeof(buf));
	cr_expect(strncmp(buf, "HTTP/1.1 426 Upgrade Required\r\n", 31) == 0, "%s", buf);
	cr_expect(strstr(buf, "\r\nUpgrade: websocket\r\n"));
	cr_expect(strstr(buf, "\r\nConnection: Upgrade, close\r\n"));
	n = msrp_ws_build_error(405, MSRP_WS_EH_ALLOW, NULL, buf, sizeof(buf));
	cr_expect(strstr(buf, "\r\nAllow: GET\r\n"));
	/* a long text is cut; any status lands in 4xx/5xx */
	char text[1000];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	n = msrp_ws_build_error(200, 7, text, buf, sizeof(buf));
	cr_expect(n > 0 && (size_t)n < sizeof(buf), "%d", n);
	cr_expect(strncmp(buf, "HTTP/1.1 500 ", 13) == 0);
}

/* ---- pure: the client's side --------------------------------------------------------------- */

Test(msrp_ws, client_request_roundtrip)
{
	char key[MSRP_WS_KEY_LEN + 1], key2[MSRP_WS_KEY_LEN + 1], buf[1024];
	cr_assert_eq(msrp_ws_make_key(key), 0);
	cr_assert_eq(msrp_ws_make_key(key2), 0);
	cr_expect_eq(strlen(key), MSRP_WS_KEY_LEN);
	cr_expect_neq(strcmp(key, key2), 0, "two keys alike");
	int n = msrp_ws_build_request(CM_SLICE_LIT("relay.example.com:443"), CM_SLICE_LIT("/msrp"),
				      CM_SLICE_LIT("https://a.example"), key, buf, sizeof(buf));
	cr_assert(n > 0 && (size_t)n < sizeof(buf));
	struct msrp_ws_req r;
	cr_assert_eq(parse_req(buf, &r), n, "%d %s", r.status, r.reason ? r.reason : "");
	cr_expect_eq(memcmp(r.key.p, key, MSRP_WS_KEY_LEN), 0);
	cr_expect_eq(r.origin.len, strlen("https://a.example"));
	/* no Origin when none is given */
	n = msrp_ws_build_request(CM_SLICE_LIT("h"), CM_SLICE_LIT("/"), CM_SLICE_NULL, key, buf,
				  sizeof(buf));
	cr_assert_eq(parse_req(buf, &r), n);
	cr_expect_eq(r.origin.len, 0);
	cr_expect_null(strstr(buf, "Origin"));
	/* the length is known with no buffer; header injection is refused */
	cr_expect_eq(msrp_ws_build_request(CM_SLICE_LIT("h"), CM_SLICE_LIT("/"), CM_SLICE_NULL, key,
					   NULL, 0), n);
	cr_expect_eq(msrp_ws_build_request(CM_SLICE_LIT("h\r\nX: y"), CM_SLICE_LIT("/"),
					   CM_SLICE_NULL, key, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(msrp_ws_build_request(CM_SLICE_LIT("h"), CM_SLICE_LIT("/a b"), CM_SLICE_NULL,
					   key, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(msrp_ws_build_request(CM_SLICE_LIT("h"), CM_SLICE_NULL, CM_SLICE_NULL, key,
					   buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(msrp_ws_build_request(CM_SLICE_LIT("h"), CM_SLICE_LIT("/"),
					   CM_SLICE_LIT("o\n"), key, buf, sizeof(buf)), -EINVAL);
}

static int parse_resp(const char *s, struct msrp_ws_resp *out)
{
	struct msrp_ws_cfg cfg = def_cfg();
	return msrp_ws_parse_response(guarded(s, strlen(s)), strlen(s), &cfg, RFC_ACCEPT, out);
}

#define R101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"

Test(msrp_ws, responses)
{
	char buf[512];
	struct msrp_ws_resp r;
	int n = msrp_ws_build_101((cm_slice){ RFC_KEY, 24 }, buf, sizeof(buf));
	cr_assert(n > 0 && (size_t)n < sizeof(buf));
	cr_expect(strstr(buf, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	cr_expect(strstr(buf, "\r\nSec-WebSocket-Protocol: msrp\r\n"));
	cr_expect_eq(parse_resp(buf, &r), n);
	cr_expect_eq(r.status, 101);
	for (int k = 0; k < n; k++) {
		struct msrp_ws_cfg cfg = def_cfg();
		cr_expect_eq(msrp_ws_parse_response(guarded(buf, (size_t)k), (size_t)k, &cfg,
						    RFC_ACCEPT, &r), MSRP_WS_AGAIN, "prefix %d", k);
	}
	/* a 101 without a reason phrase is taken */
	cr_expect_gt(parse_resp("HTTP/1.1 101\r\nupgrade: WebSocket\r\nconnection: upgrade\r\n"
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				"Sec-WebSocket-Protocol: msrp\r\n\r\n", &r), 0);

	static const char *const bad[] = {
		R101 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOX=\r\n"
		"Sec-WebSocket-Protocol: msrp\r\n\r\n",
		R101 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		R101 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: sip\r\n\r\n",
		R101 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: msrp\r\nSec-WebSocket-Extensions: x\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: msrp\r\n\r\n",
		"HTTP/1.0 101 Switching Protocols\r\n\r\n",
		"HTTP/1.1 1O1 x\r\n\r\n",
		"HTTP/1.1 101x\r\n\r\n",
		"garbage\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse_resp(bad[i], &r), MSRP_WS_ERROR, "case %zu", i);
		cr_expect_not_null(r.reason, "case %zu", i);
	}
	cr_expect_eq(parse_resp("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", &r),
		     MSRP_WS_ERROR);
	cr_expect_eq(r.status, 403);
}

Test(msrp_ws, utf8)
{
	static const struct { const char *s; int ok; } v[] = {
		{ "", 1 }, { "MSRP a786hjs2 SEND\r\n", 1 }, { "h\xc3\xa9llo", 1 },
		{ "\xe2\x82\xac", 1 }, { "\xf0\x9f\x98\x80", 1 }, { "\xf4\x8f\xbf\xbf", 1 },
		{ "\xed\x9f\xbf", 1 }, { "\xef\xbf\xbf", 1 },
		{ "\xc0\xaf", 0 }, { "\xc1\xbf", 0 }, { "\xe0\x80\xaf", 0 }, { "\xf0\x80\x80\xaf", 0 },
		{ "\xed\xa0\x80", 0 }, { "\xf4\x90\x80\x80", 0 }, { "\xf5\x80\x80\x80", 0 },
		{ "\xff", 0 }, { "\x80", 0 }, { "\xc3", 0 }, { "\xe2\x82", 0 }, { "a\xc3(", 0 },
		{ "0123456789abcdef\xc3\xa9", 1 }, { "0123456789abcdef\xc3", 0 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_expect_eq(msrp_ws_utf8_valid(v[i].s, strlen(v[i].s)), v[i].ok, "case %zu", i);
}

/* ---- two cores back to back ------------------------------------------------------------ */

struct side {
	struct msrp_ws ws;
	char *out;                 /* what this side wrote, not yet delivered */
	size_t out_len, out_cap;
	char *rx;                  /* payload bytes received */
	size_t rx_len, rx_cap;
	int opened, msgs, closed_code;
	size_t msg_ends[64];
	int echo;                  /* send each message back */
	struct msrp_ws_stats st;
};

static void buf_add(char **b, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		*cap = (*len + n) * 2 + 64;
		*b = realloc(*b, *cap);
		cr_assert_not_null(*b);
	}
	memcpy(*b + *len, p, n);
	*len += n;
}

static int side_out(void *arg, const void *p, size_t len)
{
	struct side *s = arg;
	buf_add(&s->out, &s->out_len, &s->out_cap, p, len);
	return 0;
}

static void side_open(void *ctx) { ((struct side *)ctx)->opened++; }
static void side_data(void *ctx, const char *p, size_t len)
{
	struct side *s = ctx;
	buf_add(&s->rx, &s->rx_len, &s->rx_cap, p, len);
}
static void side_msg_end(void *ctx)
{
	struct side *s = ctx;
	if (s->msgs < 64)
		s->msg_ends[s->msgs] = s->rx_len;
	s->msgs++;
	if (s->echo) {
		size_t start = s->msgs > 1 ? s->msg_ends[s->msgs - 2] : 0;
		struct iovec iov[2] = {
			{ s->rx + start, (s->rx_len - start) / 2 },
			{ s->rx + start + (s->rx_len - start) / 2, s->rx_len - start - (s->rx_len - start) / 2 },
		};
		cr_expect_geq(msrp_ws_send_msg(&s->ws, iov, 2), 0);
	}
}

static const struct msrp_ws_ops side_ops = {
	.on_open = side_open, .on_data = side_data, .on_msg_end = side_msg_end,
};

/* Delivers what <from> wrote to <to> in pieces of <step> bytes (0: random sizes). */
static int pass(struct side *from, struct side *to, size_t step)
{
	int rc = MSRP_WS_OK;
	size_t off = 0;
	while (off < from->out_len && rc == MSRP_WS_OK) {
		size_t n = step ? step : (size_t)(rand() % 700) + 1;
		if (n > from->out_len - off)
			n = from->out_len - off;
		rc = msrp_ws_feed(&to->ws, guarded(from->out + off, n), n);
		off += n;
	}
	memmove(from->out, from->out + off, from->out_len - off);
	from->out_len -= off;
	return rc;
}

static void sides_init(struct side *srv, struct side *cli, const struct msrp_ws_cfg *cfg)
{
	memset(srv, 0, sizeof(*srv));
	memset(cli, 0, sizeof(*cli));
	cr_assert_eq(msrp_ws_init(&srv->ws, MSRP_WS_SERVER, cfg, &side_ops, srv, &srv->st,
				  side_out, srv), 0);
	cr_assert_eq(msrp_ws_init(&cli->ws, MSRP_WS_CLIENT, cfg, &side_ops, cli, &cli->st,
				  side_out, cli), 0);
}

static void sides_fini(struct side *srv, struct side *cli)
{
	msrp_ws_fini(&srv->ws);
	msrp_ws_fini(&cli->ws);
	free(srv->out);
	free(srv->rx);
	free(cli->out);
	free(cli->rx);
}

Test(msrp_ws, cores_back_to_back)
{
	struct msrp_ws_cfg cfg = def_cfg();
	struct side srv, cli;
	static char big[200000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	for (size_t step = 0; step <= 3; step++) {
		sides_init(&srv, &cli, &cfg);
		srv.echo = 1;
		cr_assert_eq(msrp_ws_client_start(&cli.ws, CM_SLICE_LIT("h"), CM_SLICE_LIT("/"),
						  CM_SLICE_NULL), 0);
		/* the request one byte at a time (or in pieces), then the 101 */
		cr_assert_eq(pass(&cli, &srv, step), MSRP_WS_OK);
		cr_assert_eq(srv.opened, 1);
		cr_assert_eq(pass(&srv, &cli, step), MSRP_WS_OK);
		cr_assert_eq(cli.opened, 1);
		cr_expect_eq(msrp_ws_http_status(&cli.ws), 101);

		/* text, binary, empty, large: echoed whole, in order */
		const char *t = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://h/s;ws\r\n-------a786hjs2$\r\n";
		struct iovec iov[3] = {
			{ (void *)t, strlen(t) }, { big, 1000 }, { big, sizeof(big) },
		};
		cr_expect_eq(msrp_ws_send_msg(&cli.ws, &iov[0], 1), 0);
		cr_expect_eq(msrp_ws_send_msg(&cli.ws, &iov[1], 1), 0);
		cr_expect_eq(msrp_ws_send_msg(&cli.ws, NULL, 0), 0);
		cr_expect_eq(msrp_ws_send_msg(&cli.ws, &iov[2], 1), 0);
		cr_assert_eq(pass(&cli, &srv, step ? step * 97 : 0), MSRP_WS_OK);
		cr_assert_eq(pass(&srv, &cli, 0), MSRP_WS_OK);
		cr_assert_eq(cli.msgs, 4);
		cr_expect_eq(cli.msg_ends[0], strlen(t));
		cr_expect_eq(cli.msg_ends[1], strlen(t) + 1000);
		cr_expect_eq(cli.msg_ends[2], strlen(t) + 1000);
		cr_expect_eq(cli.rx_len, strlen(t) + 1000 + sizeof(big));
		cr_expect_eq(memcmp(cli.rx, t, strlen(t)), 0);
		cr_expect_eq(memcmp(cli.rx + strlen(t), big, 1000), 0);
		cr_expect_eq(memcmp(cli.rx + strlen(t) + 1000, big, sizeof(big)), 0);
		cr_expect_eq(srv.st.msgs_in, 4);
		cr_expect_eq(srv.st.msgs_out, 4);

		/* the client closes: the server echoes the close and is done, so is the client */
		cr_expect_eq(msrp_ws_close(&cli.ws, 1005, NULL), -EINVAL);
		cr_expect_eq(msrp_ws_close(&cli.ws, 1000, "\xc3("), -EINVAL);
		cr_expect_eq(msrp_ws_close(&cli.ws, 1000, "bye"), MSRP_WS_OK);
		cr_expect_eq(msrp_ws_state(&cli.ws), MSRP_WS_S_CLOSING);
		cr_expect_eq(msrp_ws_send_msg(&cli.ws, &iov[0], 1), -EPIPE);
		cr_expect_eq(pass(&cli, &srv, step), MSRP_WS_DONE);
		cr_expect_eq(msrp_ws_close_code(&srv.ws), 1000);
		cr_expect_eq(pass(&srv, &cli, step), MSRP_WS_DONE);
		cr_expect_eq(msrp_ws_close_code(&cli.ws), 1000);
		sides_fini(&srv, &cli);
	}
}

Test(msrp_ws, core_server_refuses_and_limits)
{
	struct msrp_ws_cfg cfg = def_cfg();
	struct side srv, cli;

	/* a client that offers no msrp is answered 400 and the transport is done */
	sides_init(&srv, &cli, &cfg);
	const char *req = REQ_HEAD REQ_WS REQ_KEY REQ_VER "Sec-WebSocket-Protocol: sip\r\n\r\n";
	cr_expect_eq(msrp_ws_feed(&srv.ws, req, strlen(req)), MSRP_WS_DONE);
	cr_expect_eq(msrp_ws_http_status(&srv.ws), 400);
	cr_expect_eq(srv.out_len > 12 && memcmp(srv.out, "HTTP/1.1 400", 12) == 0, 1);
	cr_expect_eq(srv.opened, 0);
	cr_expect_eq(msrp_ws_close_code(&srv.ws), 0);
	cr_expect_eq(msrp_ws_feed(&srv.ws, "x", 1), MSRP_WS_DONE);
	cr_expect_eq(srv.st.refused, 1);
	sides_fini(&srv, &cli);

	/* a head that never ends: 431 once max_head bytes came without its end */
	cfg.max_head = 1024;
	sides_init(&srv, &cli, &cfg);
	char junk[100];
	memset(junk, 'a', sizeof(junk));
	int rc = MSRP_WS_OK, fed = 0;
	while (rc == MSRP_WS_OK && fed < 5000) {
		rc = msrp_ws_feed(&srv.ws, junk, sizeof(junk));
		fed += (int)sizeof(junk);
	}
	cr_expect_eq(rc, MSRP_WS_DONE);
	cr_expect_eq(fed, 1100);
	cr_expect_eq(msrp_ws_http_status(&srv.ws), 431);
	cr_expect_eq(srv.st.head_too_big, 1);
	sides_fini(&srv, &cli);

	/* a message over max_msg fails the connection with 1009 */
	cfg = def_cfg();
	cfg.max_msg = 1000;
	sides_init(&srv, &cli, &cfg);
	cr_assert_eq(msrp_ws_client_start(&cli.ws, CM_SLICE_LIT("h"), CM_SLICE_LIT("/"),
					  CM_SLICE_NULL), 0);
	cr_assert_eq(pass(&cli, &srv, 0), MSRP_WS_OK);
	cr_assert_eq(pass(&srv, &cli, 0), MSRP_WS_OK);
	char m[1001];
	memset(m, 'm', sizeof(m));
	struct iovec iov = { m, 1000 };
	cr_expect_eq(msrp_ws_send_msg(&cli.ws, &iov, 1), 0);
	iov.iov_len = 1001;
	cr_expect_eq(msrp_ws_send_msg(&cli.ws, &iov, 1), 0);
	iov.iov_len = 10;
	cr_expect_eq(msrp_ws_send_msg(&cli.ws, &iov, 1), 0);
	/* the server sends 1009 and reads on (dropping) until the client's close frame */
	cr_expect_eq(pass(&cli, &srv, 0), MSRP_WS_OK);
	cr_expect_eq(msrp_ws_state(&srv.ws), MSRP_WS_S_CLOSING);
	cr_expect_eq(srv.msgs, 1);
	cr_expect_eq(srv.rx_len, 1000);
	cr_expect_eq(srv.st.msg_too_big, 1);
	cr_expect_eq(pass(&srv, &cli, 0), MSRP_WS_DONE);
	cr_expect_eq(msrp_ws_close_code(&cli.ws), 1009);
	cr_expect_eq(pass(&cli, &srv, 0), MSRP_WS_DONE);
	cr_expect_eq(msrp_ws_close_code(&srv.ws), 1009);
	cr_expect_eq(srv.msgs, 1);
	sides_fini(&srv, &cli);
}

Test(msrp_ws, core_client_checks_the_101)
{
	struct msrp_ws_cfg cfg = def_cfg();
	struct side srv, cli;

	sides_init(&srv, &cli, &cfg);
	cr_assert_eq(msrp_ws_client_start(&cli.ws, CM_SLICE_LIT("h"), CM_SLICE_LIT("/"),
					  CM_SLICE_NULL), 0);
	cr_expect_eq(msrp_ws_client_start(&cli.ws, CM_SLICE_LIT("h"), CM_SLICE_LIT("/"),
					  CM_SLICE_NULL), -EALREADY);
	/* a 101 for somebody else's key */
	const char *r = R101 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
			"Sec-WebSocket-Protocol: msrp\r\n\r\n";
	cr_expect_eq(msrp_ws_feed(&cli.ws, r, strlen(r)), MSRP_WS_DONE);
	cr_expect_eq(cli.opened, 0);
	cr_expect_eq(msrp_ws_http_status(&cli.ws), 101);
	cr_expect_eq(cli.st.refused, 1);
	sides_fini(&srv, &cli);

	sides_init(&srv, &cli, &cfg);
	cr_assert_eq(msrp_ws_client_start(&cli.ws, CM_SLICE_LIT("h"), CM_SLICE_LIT("/"),
					  CM_SLICE_NULL), 0);
	r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	cr_expect_eq(msrp_ws_feed(&cli.ws, r, strlen(r)), MSRP_WS_DONE);
	cr_expect_eq(msrp_ws_http_status(&cli.ws), 404);
	sides_fini(&srv, &cli);
}

/* ---- the engine glue: an echo server ------------------------------------------------------ */

struct echo_conn {
	struct msrp_ws ws;
	char *buf;
	size_t len, cap;
};

static struct {
	_Atomic int port;
	_Atomic int tls_port;
	_Atomic int closes;
	_Atomic int last_code;
	_Atomic int last_http;
	_Atomic int opens;
	struct msrp_ws_cfg cfg;
	struct msrp_ws_stats st;   /* the worker's; read after eng_destroy */
	eng_tls_ctx *sctx, *cctx;
	struct tls_certs certs;
	int certs_ok;
} E;

static void echo_open(void *ctx) { (void)ctx; E.opens++; }

static void echo_data(void *ctx, const char *p, size_t len)
{
	struct echo_conn *ec = ctx;
	buf_add(&ec->buf, &ec->len, &ec->cap, p, len);
}

static void echo_msg_end(void *ctx)
{
	struct echo_conn *ec = ctx;
	if (ec->len == 8 && memcmp(ec->buf, "close-me", 8) == 0) {
		msrp_ws_close(&ec->ws, 1000, "asked");
	} else if (ec->len == 8 && memcmp(ec->buf, "abort-me", 8) == 0) {
		msrp_ws_abort(&ec->ws);
	} else {
		struct iovec iov = { ec->buf, ec->len };
		msrp_ws_send_msg(&ec->ws, &iov, 1);
	}
	ec->len = 0;
}

static int echo_request(void *ctx, const struct msrp_ws_req *req)
{
	(void)ctx;
	/* the Origin policy hook */
	static const char evil[] = "https://evil.example";
	if (req->origin.len == sizeof(evil) - 1 && memcmp(req->origin.p, evil, sizeof(evil) - 1) == 0)
		return 403;
	return 0;
}

static void echo_close(void *ctx, int code)
{
	struct echo_conn *ec = ctx;
	E.last_http = msrp_ws_http_status(&ec->ws);
	E.last_code = code;
	free(ec->buf);
	free(ec);
	E.closes++;
}

static const struct msrp_ws_ops echo_ops = {
	.on_request = echo_request, .on_open = echo_open, .on_data = echo_data,
	.on_msg_end = echo_msg_end, .on_close = echo_close,
};

static void echo_accept(eng_listener *l, eng_conn *c)
{
	(void)l;
	struct echo_conn *ec = calloc(1, sizeof(*ec));
	cr_assert_not_null(ec);
	cr_assert_eq(msrp_ws_attach(&ec->ws, c, &E.cfg, &echo_ops, ec, &E.st), 0);
}

static void echo_init(eng_worker *w, void *arg)
{
	int err;
	(void)arg;
	eng_listener *l = eng_listen(w, "127.0.0.1:0", 0, NULL, echo_accept, NULL, &err);
	cr_assert(l, "listen: %d", err);
	if (E.sctx) {
		eng_listener *t = eng_listen(w, "127.0.0.1:0", 0, E.sctx, echo_accept, NULL, &err);
		cr_assert(t, "listen tls: %d", err);
		E.tls_port = eng_listener_port(t);
	}
	E.port = eng_listener_port(l);
}

static eng_engine *start(enum eng_backend be)
{
	struct eng_config cfg;
	char err[200];

	eng_config_defaults(&cfg);
	cfg.backend = be;
	cfg.workers = 1;
	cfg.pin = 0;
	eng_engine *e = eng_create(&cfg, err, sizeof(err));
	if (!e && be == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring unavailable: %s", err);
	cr_assert(e, "eng_create: %s", err);
	cr_assert_eq(eng_start(e, echo_init, NULL), 0);
	for (int i = 0; i < 400 && !E.port; i++)
		usleep(5000);
	cr_assert(E.port);
	return e;
}

static void reset(void)
{
	memset(&E, 0, sizeof(E));
	msrp_ws_cfg_defaults(&E.cfg);
	E.cfg.max_msg = 256 * 1024;
	srand((unsigned)time(NULL));
}

static int wait_until(_Atomic int *v, int want, int ms)
{
	for (int i = 0; i < ms && *v < want; i++)
		usleep(1000);
	return *v >= want;
}

#define WS_TEST(name)                                                                      \
	static void name(enum eng_backend be);                                             \
	Test(msrp_ws, name##_io_uring, .timeout = 30) { name(ENG_BACKEND_IO_URING); }      \
	Test(msrp_ws, name##_epoll, .timeout = 30) { name(ENG_BACKEND_EPOLL); }            \
	static void name(enum eng_backend be)

/* ---- the test client: a socket, our handshake, a wslay client context ------------------------ */

struct rmsg {
	int opcode;
	char *data;
	size_t len;
	int code;                  /* close */
};

struct cli {
	int fd;
	wslay_event_context_ptr ctx;
	char *pre;                 /* bytes read after the 101, for wslay first */
	size_t pre_len, pre_off;
	int eof;
	int capture;               /* send callback appends to <cap> instead of sending */
	char *cap;
	size_t cap_len, cap_cap;
	struct rmsg msgs[64];
	int nmsgs;
	int closed;                /* a close frame came */
	int err;                   /* errno of a failed recv */
	int close_code;
};

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

static void send_all(int fd, const void *p, size_t len)
{
	const char *s = p;
	while (len) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		poll(&pf, 1, WAIT_MS);
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		cr_assert(n > 0, "send: %s", strerror(errno));
		s += n;
		len -= (size_t)n;
	}
}

/* Reads until the peer closes (or <cap> bytes); returns the bytes read. */
static size_t read_to_eof(int fd, char *buf, size_t cap, int *eof)
{
	size_t got = 0;
	*eof = 0;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, WAIT_MS) <= 0)
			break;
		ssize_t n = recv(fd, buf + got, cap - got, 0);
		if (n == 0) {
			*eof = 1;
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			*eof = errno == ECONNRESET;
			break;
		}
		got += (size_t)n;
		if (got == cap)
			break;
	}
	return got;
}

static ssize_t cli_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
			   void *ud)
{
	struct cli *k = ud;
	(void)flags;
	if (k->pre_off < k->pre_len) {
		size_t n = k->pre_len - k->pre_off < len ? k->pre_len - k->pre_off : len;
		memcpy(buf, k->pre + k->pre_off, n);
		k->pre_off += n;
		return (ssize_t)n;
	}
	ssize_t n = recv(k->fd, buf, len, MSG_DONTWAIT);
	if (n > 0)
		return n;
	if (n == 0)
		k->eof = 1;
	wslay_event_set_error(ctx, n < 0 && (errno == EAGAIN || errno == EINTR) ?
			      WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		k->err = errno;
		k->eof = 1;
	}
	return -1;
}

static ssize_t cli_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
			   int flags, void *ud)
{
	struct cli *k = ud;
	(void)flags;
	if (k->capture) {
		buf_add(&k->cap, &k->cap_len, &k->cap_cap, data, len);
		return (ssize_t)len;
	}
	ssize_t n = send(k->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK :
			      WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

static int cli_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
	(void)ctx;
	(void)ud;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rand();
	return 0;
}

static void cli_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
		    void *ud)
{
	struct cli *k = ud;
	(void)ctx;
	if (a->opcode == WSLAY_CONNECTION_CLOSE) {
		k->closed = 1;
		k->close_code = a->status_code;
	}
	if (k->nmsgs < 64) {
		struct rmsg *m = &k->msgs[k->nmsgs++];
		m->opcode = a->opcode;
		m->len = a->msg_length;
		m->code = a->status_code;
		m->data = malloc(a->msg_length + 1);
		if (a->msg_length)
			memcpy(m->data, a->msg, a->msg_length);
	}
}

static const struct wslay_event_callbacks cli_cbs = {
	.recv_callback = cli_recv_cb, .send_callback = cli_send_cb,
	.genmask_callback = cli_genmask, .on_msg_recv_callback = cli_msg,
};

/* Connects and sends our upgrade request followed by <extra> bytes (a pipelined frame),
 * reads the 101 and checks it with msrp_ws_parse_response. */
static void cli_open_with(struct cli *k, int port, const char *extra, size_t extra_len)
{
	char key[MSRP_WS_KEY_LEN + 1], acc[MSRP_WS_ACCEPT_LEN + 1], req[1024];
	struct msrp_ws_cfg cfg = def_cfg();

	k->fd = tcp_connect(port);
	cr_assert_eq(msrp_ws_make_key(key), 0);
	cr_assert_eq(msrp_ws_accept_of((cm_slice){ key, MSRP_WS_KEY_LEN }, acc), 0);
	int n = msrp_ws_build_request(CM_SLICE_LIT("127.0.0.1"), CM_SLICE_LIT("/msrp"),
				      CM_SLICE_LIT("https://web.example"), key, req, sizeof(req));
	cr_assert(n > 0 && (size_t)n < sizeof(req));
	char *all = malloc((size_t)n + extra_len);
	memcpy(all, req, (size_t)n);
	if (extra_len)
		memcpy(all + n, extra, extra_len);
	send_all(k->fd, all, (size_t)n + extra_len);
	free(all);

	char buf[8192];
	size_t got = 0;
	struct msrp_ws_resp resp;
	int r = MSRP_WS_AGAIN;
	while (r == MSRP_WS_AGAIN) {
		struct pollfd pf = { .fd = k->fd, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "no 101");
		ssize_t m = recv(k->fd, buf + got, sizeof(buf) - got, 0);
		cr_assert_gt(m, 0, "closed before the 101");
		got += (size_t)m;
		r = msrp_ws_parse_response(buf, got, &cfg, acc, &resp);
	}
	cr_assert_gt(r, 0, "bad 101: %s (%d)", resp.reason, resp.status);
	k->pre_len = got - (size_t)r;
	k->pre = malloc(k->pre_len + 1);
	memcpy(k->pre, buf + r, k->pre_len);
	cr_assert_eq(wslay_event_context_client_init(&k->ctx, &cli_cbs, k), 0);
}

static void cli_open(struct cli *k, int port) { cli_open_with(k, port, NULL, 0); }

/* Pumps the client until <nmsgs> messages came (or a close, or EOF, or the deadline). */
static void cli_pump(struct cli *k, int nmsgs)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int wfail = 0;             /* the server may close while we still send: read on */
	while (k->nmsgs < nmsgs && !k->eof) {
		if (!wfail && wslay_event_want_write(k->ctx) && wslay_event_send(k->ctx) < 0)
			wfail = 1;
		if (k->pre_off < k->pre_len) {
			wslay_event_recv(k->ctx);
			continue;
		}
		struct pollfd pf = {
			.fd = k->fd,
			.events = POLLIN | (!wfail && wslay_event_want_write(k->ctx) ? POLLOUT : 0),
		};
		poll(&pf, 1, 100);
		if ((pf.revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(k->ctx) < 0)
			break;
		if (!wslay_event_want_read(k->ctx) && (wfail || !wslay_event_want_write(k->ctx)))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > WAIT_MS)
			break;
	}
	if (!wfail && wslay_event_want_write(k->ctx))
		wslay_event_send(k->ctx);
}

/* 1 when the server closed the TCP connection (EOF) within the deadline; what wslay still
 * has to send (our answer to a close) is written meanwhile, what comes is dropped. */
static int cli_eof(struct cli *k)
{
	char b[4096];
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!k->eof) {
		int ww = wslay_event_want_write(k->ctx);
		if (ww && wslay_event_send(k->ctx) < 0)
			ww = 0;
		struct pollfd pf = { .fd = k->fd, .events = POLLIN | (ww ? POLLOUT : 0) };
		poll(&pf, 1, 100);
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(k->fd, b, sizeof(b), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				k->eof = 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > WAIT_MS)
			break;
	}
	return k->eof;
}

static void cli_free(struct cli *k)
{
	for (int i = 0; i < k->nmsgs; i++)
		free(k->msgs[i].data);
	if (k->ctx)
		wslay_event_context_free(k->ctx);
	free(k->pre);
	free(k->cap);
	if (k->fd > 0)
		close(k->fd);
	memset(k, 0, sizeof(*k));
}

static void cli_send(struct cli *k, int opcode, const void *p, size_t len)
{
	struct wslay_event_msg m = { .opcode = (uint8_t)opcode, .msg = p, .msg_length = len };
	cr_assert_eq(wslay_event_queue_msg(k->ctx, &m), 0);
}

struct frag_src {
	const char *p;
	size_t len, off;
	const size_t *pieces;
	int npieces, next;
};

static ssize_t frag_read(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
			 const union wslay_event_msg_source *source, int *eof, void *ud)
{
	struct frag_src *f = source->data;
	(void)ctx;
	(void)ud;
	size_t n = f->next < f->npieces ? f->pieces[f->next++] : f->len - f->off;
	if (n > len)
		n = len;
	if (n > f->len - f->off)
		n = f->len - f->off;
	memcpy(buf, f->p + f->off, n);
	f->off += n;
	if (f->off == f->len)
		*eof = 1;
	return (ssize_t)n;
}

/* ---- engine tests ------------------------------------------------------------------------- */

static char *rnd_bytes(size_t n, int text)
{
	char *p = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		p[i] = text ? (char)('a' + rand() % 26) : (char)rand();
	if (!text && n)
		p[0] = (char)0xff; /* never valid UTF-8 */
	return p;
}

WS_TEST(echo_text_and_binary)
{
	reset();
	eng_engine *e = start(be);
	struct cli k = { 0 };
	cli_open(&k, E.port);
	static const size_t sizes[] = { 0, 1, 125, 126, 4095, 4096, 65535, 65536, 200000 };
	const int ns = (int)(sizeof(sizes) / sizeof(sizes[0]));
	char *sent[2 * 9];
	for (int i = 0; i < ns; i++) {
		sent[2 * i] = rnd_bytes(sizes[i], 1);
		sent[2 * i + 1] = rnd_bytes(sizes[i], 0);
		cli_send(&k, WSLAY_TEXT_FRAME, sent[2 * i], sizes[i]);
		cli_send(&k, WSLAY_BINARY_FRAME, sent[2 * i + 1], sizes[i]);
	}
	cli_pump(&k, 2 * ns);
	cr_assert_eq(k.nmsgs, 2 * ns, "got %d messages", k.nmsgs);
	for (int i = 0; i < 2 * ns; i++) {
		size_t len = sizes[i / 2];
		/* the echo picks text for valid UTF-8 (all of ours but the binary ones) */
		int want = (i % 2 == 0 || len == 0) ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME;
		cr_expect_eq(k.msgs[i].opcode, want, "msg %d opcode %d", i, k.msgs[i].opcode);
		cr_expect_eq(k.msgs[i].len, len, "msg %d len %zu", i, k.msgs[i].len);
		cr_expect(len == 0 || memcmp(k.msgs[i].data, sent[i], len) == 0, "msg %d differs", i);
		free(sent[i]);
	}
	/* close from the client: the server echoes 1000 and closes the TCP connection */
	cr_assert_eq(wslay_event_queue_close(k.ctx, 1000, (const uint8_t *)"done", 4), 0);
	cli_pump(&k, k.nmsgs + 1);
	cr_expect(k.closed);
	cr_expect_eq(k.close_code, 1000);
	cr_expect(cli_eof(&k), "the server kept the connection");
	cr_expect(wait_until(&E.closes, 1, WAIT_MS));
	cr_expect_eq(E.last_code, 1000);
	cli_free(&k);
	eng_destroy(e);
	cr_expect_eq(E.st.upgrades, 1);
	cr_expect_eq(E.st.msgs_in, 2 * ns);
	cr_expect_eq(E.st.msgs_out, 2 * ns);
}

WS_TEST(fragments_pings_and_pipelining)
{
	reset();
	eng_engine *e = start(be);
	struct cli k = { 0 };

	/* the first frame rides with the upgrade request */
	cr_assert_eq(wslay_event_context_client_init(&k.ctx, &cli_cbs, &k), 0);
	k.capture = 1;
	cli_send(&k, WSLAY_TEXT_FRAME, "first", 5);
	wslay_event_send(k.ctx);
	wslay_event_context_free(k.ctx);
	k.capture = 0;
	char *extra = k.cap;
	size_t extra_len = k.cap_len;
	k.cap = NULL;
	cli_open_with(&k, E.port, extra, extra_len);
	free(extra);
	cli_pump(&k, 1);
	cr_assert_eq(k.nmsgs, 1);
	cr_expect_eq(k.msgs[0].len, 5);
	cr_expect_eq(memcmp(k.msgs[0].data, "first", 5), 0);

	/* a fragmented message (pieces of 1, 0, 3000, 1, 4096 and the rest), with a ping
	 * between its fragments: one pong, one message back */
	char *big = rnd_bytes(20000, 0);
	static const size_t pieces[] = { 1, 0, 3000, 1, 4096 };
	struct frag_src f = { big, 20000, 0, pieces, 5, 0 };
	struct wslay_event_fragmented_msg fm = {
		.opcode = WSLAY_BINARY_FRAME, .source.data = &f, .read_callback = frag_read,
	};
	cr_assert_eq(wslay_event_queue_fragmented_msg(k.ctx, &fm), 0);
	cli_send(&k, WSLAY_PING, "ping!", 5);
	cli_pump(&k, 3);
	cr_assert_eq(k.nmsgs, 3);
	int pong = k.msgs[1].opcode == WSLAY_PONG ? 1 : 2;
	cr_expect_eq(k.msgs[pong].opcode, WSLAY_PONG);
	cr_expect_eq(k.msgs[pong].len, 5);
	cr_expect_eq(memcmp(k.msgs[pong].data, "ping!", 5), 0);
	struct rmsg *m = &k.msgs[3 - pong];
	cr_expect_eq(m->opcode, WSLAY_BINARY_FRAME);
	cr_expect_eq(m->len, 20000);
	cr_expect_eq(memcmp(m->data, big, 20000), 0);
	free(big);

	/* a server-initiated close: the client answers and the server closes */
	cli_send(&k, WSLAY_TEXT_FRAME, "close-me", 8);
	cli_pump(&k, 4);
	cr_expect(k.closed);
	cr_expect_eq(k.close_code, 1000);
	cli_pump(&k, 5); /* sends our close back */
	cr_expect(cli_eof(&k));
	cr_expect(wait_until(&E.closes, 1, WAIT_MS));
	cr_expect_eq(E.last_code, 1000);
	cli_free(&k);
	eng_destroy(e);
}

WS_TEST(oversize_is_1009)
{
	reset();
	E.cfg.max_msg = 65536;
	eng_engine *e = start(be);
	struct cli k = { 0 };

	/* one frame over the limit */
	cli_open(&k, E.port);
	char *big = rnd_bytes(65537, 1);
	cli_send(&k, WSLAY_TEXT_FRAME, big, 65536); /* exactly the limit: echoed */
	cli_send(&k, WSLAY_TEXT_FRAME, big, 65537);
	cli_pump(&k, 2);
	cr_assert_eq(k.nmsgs, 2, "got %d messages (eof %d, close %d, errno %d)", k.nmsgs, k.eof,
		     k.close_code, k.err);
	cr_expect_eq(k.msgs[0].len, 65536);
	cr_expect(k.closed);
	cr_expect_eq(k.close_code, 1009);
	cr_expect(cli_eof(&k));
	cr_expect(wait_until(&E.closes, 1, WAIT_MS));
	cr_expect_eq(E.last_code, 1009);
	cli_free(&k);

	/* a fragmented message whose frames are each under the limit but not their sum */
	cli_open(&k, E.port);
	static const size_t pieces[] = { 30000, 30000, 30000 };
	struct frag_src f = { big, 65537, 0, pieces, 3, 0 };
	struct wslay_event_fragmented_msg fm = {
		.opcode = WSLAY_TEXT_FRAME, .source.data = &f, .read_callback = frag_read,
	};
	cr_assert_eq(wslay_event_queue_fragmented_msg(k.ctx, &fm), 0);
	cli_pump(&k, 1);
	cr_expect(k.closed);
	cr_expect_eq(k.close_code, 1009);
	cr_expect(cli_eof(&k));
	cr_expect(wait_until(&E.closes, 2, WAIT_MS));
	cr_expect_eq(E.last_code, 1009);
	cli_free(&k);
	free(big);
	eng_destroy(e);
	cr_expect_eq(E.st.msg_too_big, 2);
}

WS_TEST(protocol_errors_fail_the_connection)
{
	reset();
	eng_engine *e = start(be);
	struct cli k = { 0 };

	/* an unmasked frame from a client (RFC 6455 §5.1): 1002 */
	cli_open(&k, E.port);
	send_all(k.fd, "\x81\x02hi", 4);
	cli_pump(&k, 1);
	cr_expect(k.closed);
	cr_expect_eq(k.close_code, 1002);
	cr_expect(cli_eof(&k));
	cr_expect(wait_until(&E.closes, 1, WAIT_MS));
	cr_expect_eq(E.last_code, 1002);
	cli_free(&k);

	/* a text message that is not UTF-8: 1007 */
	cli_open(&k, E.port);
	cli_send(&k, WSLAY_TEXT_FRAME, "\xc3(", 2);
	cli_pump(&k, 1);
	cr_expect_eq(k.close_code, 1007);
	cr_expect(cli_eof(&k));
	cr_expect(wait_until(&E.closes, 2, WAIT_MS));
	cli_free(&k);

	/* the peer vanishes without a close frame: 1006; the server aborts on request: 1006 */
	cli_open(&k, E.port);
	cli_free(&k);
	cr_expect(wait_until(&E.closes, 3, WAIT_MS));
	cr_expect_eq(E.last_code, 1006);
	cli_open(&k, E.port);
	cli_send(&k, WSLAY_TEXT_FRAME, "abort-me", 8);
	cli_pump(&k, 1);
	cr_expect(cli_eof(&k));
	cr_expect(wait_until(&E.closes, 4, WAIT_MS));
	cr_expect_eq(E.last_code, 1006);
	cli_free(&k);
	eng_destroy(e);
	cr_expect_eq(E.st.proto_errors, 2);
}

struct raw_case {
	const char *req;
	const char *status;        /* status line prefix */
	const char *hdr;           /* a header line the answer must hold, or NULL */
};

WS_TEST(bad_upgrades_get_http_errors)
{
	reset();
	E.cfg.max_head = 2048;
	eng_engine *e = start(be);
	static char big[4096];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
	static const struct raw_case cases[] = {
		{ "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 426 ", "Upgrade: websocket" },
		{ REQ_HEAD REQ_WS REQ_KEY "Sec-WebSocket-Version: 8\r\n" REQ_PROTO "\r\n",
		  "HTTP/1.1 400 ", "Sec-WebSocket-Version: 13" },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER "Sec-WebSocket-Protocol: sip\r\n\r\n",
		  "HTTP/1.1 400 ", NULL },
		{ "POST / HTTP/1.1\r\nHost: h\r\n" REQ_WS REQ_KEY REQ_VER REQ_PROTO "\r\n",
		  "HTTP/1.1 405 ", "Allow: GET" },
		{ REQ_HEAD REQ_WS REQ_KEY REQ_VER REQ_PROTO "Origin: https://evil.example\r\n\r\n",
		  "HTTP/1.1 403 ", NULL },
		{ big, "HTTP/1.1 431 ", NULL },
		{ "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\r\n\r\n", "HTTP/1.1 400 ", NULL },
	};
	int n = (int)(sizeof(cases) / sizeof(cases[0]));
	for (int i = 0; i < n; i++) {
		int fd = tcp_connect(E.port);
		send_all(fd, cases[i].req, strlen(cases[i].req));
		char buf[4096];
		int eof;
		size_t got = read_to_eof(fd, buf, sizeof(buf) - 1, &eof);
		buf[got] = 0;
		cr_expect(eof, "case %d: not closed", i);
		cr_expect(strncmp(buf, cases[i].status, strlen(cases[i].status)) == 0,
			  "case %d: got '%.40s'", i, buf);
		if (cases[i].hdr)
			cr_expect(strstr(buf, cases[i].hdr), "case %d: no %s", i, cases[i].hdr);
		char *body = strstr(buf, "\r\n\r\n");
		cr_expect(body && strlen(body + 4) > 1, "case %d: no body", i);
		close(fd);
	}
	cr_expect(wait_until(&E.closes, n, WAIT_MS));
	cr_expect_eq(E.last_code, 0, "never opened: code 0");
	eng_destroy(e);
	cr_expect_eq(E.st.refused, (uint64_t)n);
	cr_expect_eq(E.st.head_too_big, 1);
	cr_expect_eq(E.st.upgrades, 0);
}

WS_TEST(deadlines)
{
	reset();
	E.cfg.handshake_timeout_ms = 200;
	E.cfg.close_timeout_ms = 200;
	eng_engine *e = start(be);

	/* half a request, then silence: dropped at the handshake deadline */
	int fd = tcp_connect(E.port);
	send_all(fd, "GET / HTTP/1.1\r\n", 16);
	char buf[256];
	int eof;
	cr_expect_eq(read_to_eof(fd, buf, sizeof(buf), &eof), 0);
	cr_expect(eof);
	close(fd);
	cr_expect(wait_until(&E.closes, 1, WAIT_MS));

	/* a server close that the client never answers: dropped at the close deadline */
	struct cli k = { 0 };
	cli_open(&k, E.port);
	cli_send(&k, WSLAY_TEXT_FRAME, "close-me", 8);
	wslay_event_send(k.ctx);
	cr_expect(cli_eof(&k));
	cr_expect(wait_until(&E.closes, 2, WAIT_MS));
	cr_expect_eq(E.last_code, 1000);
	cli_free(&k);
	eng_destroy(e);
	cr_expect_eq(E.st.handshake_timeouts, 1);
	cr_expect_eq(E.st.close_timeouts, 1);
}

/* ---- the engine client: msrp_ws_connect ------------------------------------------------ */

static struct {
	struct msrp_ws ws;
	char rx[256];
	size_t rx_len;
	_Atomic int code;
	_Atomic int closed;
	_Atomic int opened;
	int http;
	int tls;
} C;

static void cc_open(void *ctx)
{
	(void)ctx;
	C.opened = 1;
	struct iovec iov[2] = { { "hello ", 6 }, { "over ws", 7 } };
	msrp_ws_send_msg(&C.ws, iov, 2);
}

static void cc_data(void *ctx, const char *p, size_t len)
{
	(void)ctx;
	if (C.rx_len + len <= sizeof(C.rx)) {
		memcpy(C.rx + C.rx_len, p, len);
		C.rx_len += len;
	}
}

static void cc_msg_end(void *ctx)
{
	(void)ctx;
	msrp_ws_close(&C.ws, 1000, NULL);
}

static void cc_close(void *ctx, int code)
{
	(void)ctx;
	C.http = msrp_ws_http_status(&C.ws);
	C.code = code;
	C.closed = 1;
}

static const struct msrp_ws_ops cc_ops = {
	.on_open = cc_open, .on_data = cc_data, .on_msg_end = cc_msg_end, .on_close = cc_close,
};

static void cc_start(eng_worker *w, void *arg, uint64_t port)
{
	(void)arg;
	char hp[64];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", (int)port);
	int r = msrp_ws_connect(&C.ws, w, hp, C.tls ? E.cctx : NULL, C.tls ? "localhost" : NULL,
				CM_SLICE_LIT("localhost"), CM_SLICE_LIT("/msrp"), CM_SLICE_NULL,
				&E.cfg, &cc_ops, NULL, NULL, NULL);
	if (r < 0) {
		C.code = r;
		C.closed = 1;
	}
}

static void engine_client(enum eng_backend be, int tls)
{
	reset();
	memset(&C, 0, sizeof(C));
	C.tls = tls;
	if (tls) {
		char err[256];
		E.certs_ok = tls_certs_make(&E.certs, err, sizeof(err)) == 0;
		if (!E.certs_ok)
			cr_skip_test("no test certificates: %s", err);
		struct eng_tls_config s = {
			.cert_file = E.certs.server_cert, .key_file = E.certs.server_key,
			.min_version = ENG_TLS_V12,
		};
		struct eng_tls_config c = {
			.ca_file = E.certs.ca, .verify_peer = 1, .min_version = ENG_TLS_V12,
		};
		E.sctx = eng_tls_ctx_new(&s, 1, err, sizeof(err));
		cr_assert_not_null(E.sctx, "%s", err);
		E.cctx = eng_tls_ctx_new(&c, 0, err, sizeof(err));
		cr_assert_not_null(E.cctx, "%s", err);
	}
	eng_engine *e = start(be);
	int port = tls ? E.tls_port : E.port;
	cr_assert_eq(eng_post(eng_worker_at(e, 0), cc_start, NULL, (uint64_t)port), 0);
	cr_expect(wait_until(&C.closed, 1, WAIT_MS));
	cr_expect(C.opened);
	cr_expect_eq(C.code, 1000, "code %d", C.code);
	cr_expect_eq(C.http, 101);
	cr_expect_eq(C.rx_len, 13);
	cr_expect_eq(memcmp(C.rx, "hello over ws", 13), 0);
	cr_expect(wait_until(&E.closes, 1, WAIT_MS));
	cr_expect_eq(E.last_code, 1000);

	/* nobody listening: on_close with code 0 */
	memset(&C, 0, sizeof(C));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd); /* a port that was free a moment ago */
	cr_assert_eq(eng_post(eng_worker_at(e, 0), cc_start, NULL, ntohs(sa.sin_port)), 0);
	cr_expect(wait_until(&C.closed, 1, WAIT_MS));
	cr_expect(!C.opened);
	cr_expect(C.code == 0 || C.code < 0, "code %d", C.code);
	eng_destroy(e);
	eng_tls_ctx_free(E.sctx);
	eng_tls_ctx_free(E.cctx);
	if (E.certs_ok)
		tls_certs_remove(&E.certs);
}

Test(msrp_ws, engine_client_ws_io_uring, .timeout = 30) { engine_client(ENG_BACKEND_IO_URING, 0); }
Test(msrp_ws, engine_client_ws_epoll, .timeout = 30) { engine_client(ENG_BACKEND_EPOLL, 0); }
Test(msrp_ws, engine_client_wss_io_uring, .timeout = 30) { engine_client(ENG_BACKEND_IO_URING, 1); }
Test(msrp_ws, engine_client_wss_epoll, .timeout = 30) { engine_client(ENG_BACKEND_EPOLL, 1); }

/* A client's close frame with a 1-byte body (no room for its code, RFC 6455 §5.5.1) is a
 * protocol error, counted; an empty one is a plain close. */
Test(msrp_ws, close_with_one_byte_body_is_a_protocol_error)
{
	struct msrp_ws_cfg cfg = def_cfg();
	for (int len = 0; len <= 1; len++) {
		struct side srv, cli;
		sides_init(&srv, &cli, &cfg);
		cr_assert_eq(msrp_ws_client_start(&cli.ws, CM_SLICE_LIT("h"), CM_SLICE_LIT("/"),
						  CM_SLICE_NULL), 0);
		cr_assert_eq(pass(&cli, &srv, 0), MSRP_WS_OK);
		cr_assert_eq(pass(&srv, &cli, 0), MSRP_WS_OK);
		cr_assert_eq(srv.opened, 1);
		/* FIN|close, masked, <len> bytes of body (masked with 0x01020304) */
		const char f[] = { (char)0x88, (char)(0x80 | len), 1, 2, 3, 4, 'x' ^ 1 };
		msrp_ws_feed(&srv.ws, f, 6 + (size_t)len);
		pass(&srv, &cli, 0);
		cr_expect_eq(msrp_ws_state(&srv.ws), MSRP_WS_S_DONE, "len %d", len);
		cr_expect_eq(srv.st.proto_errors, (uint64_t)len, "len %d", len);
		sides_fini(&srv, &cli);
	}
}
