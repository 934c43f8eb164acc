/* fuzz_msrp_ws_upgrade.c — libFuzzer target for the WebSocket upgrade of msrp/msrp_ws.c.
 *
 * Input: byte 0 is a piece size (0: everything at once), the rest is what a peer sends.
 *   1. msrp_ws_parse_request() and msrp_ws_parse_response() on the whole rest (pure);
 *      their results are checked against each other's invariants;
 *   2. a server transport core is fed the rest in pieces of that size: the head is
 *      collected (in place or in its buffer), answered, and the bytes after it (a client
 *      pipelines frames) go through wslay's server context; the layer above echoes every
 *      message and closes on the third, so that the send and close paths run too.
 * Checked: what the core writes starts with a 101 exactly when the WebSocket opened, and
 * with a 4xx/5xx answer when the upgrade was refused; payload bytes only go up once open;
 * the message size bound holds; everything allocated is freed (LeakSanitizer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "msrp/msrp_ws.h"

#define MAX_MSG 4096

struct fz {
	struct msrp_ws ws;
	size_t out_len;
	char first[16];            /* the first bytes written */
	size_t first_len;
	size_t msg_len;            /* payload bytes of the message being received */
	char msg[MAX_MSG];
	unsigned msgs;
	int opened;
	int data_before_open;
};

static int fz_out(void *arg, const void *p, size_t len)
{
	struct fz *f = arg;
	size_t n = sizeof(f->first) - f->first_len;
	if (n > len)
		n = len;
	memcpy(f->first + f->first_len, p, n);
	f->first_len += n;
	f->out_len += len;
	return 0;
}

static void fz_open(void *ctx) { ((struct fz *)ctx)->opened = 1; }

static void fz_data(void *ctx, const char *p, size_t len)
{
	struct fz *f = ctx;
	if (!f->opened)
		f->data_before_open = 1;
	if (len > MAX_MSG - f->msg_len)
		__builtin_trap(); /* more than max_msg went up for one message */
	memcpy(f->msg + f->msg_len, p, len);
	f->msg_len += len;
}

static void fz_msg_end(void *ctx)
{
	struct fz *f = ctx;
	if (++f->msgs == 3) {
		msrp_ws_close(&f->ws, 1000, "enough");
	} else {
		struct iovec iov[2] = {
			{ f->msg, f->msg_len / 2 }, { f->msg + f->msg_len / 2, f->msg_len - f->msg_len / 2 },
		};
		msrp_ws_send_msg(&f->ws, iov, 2);
	}
	f->msg_len = 0;
}

static int fz_request(void *ctx, const struct msrp_ws_req *req)
{
	(void)ctx;
	/* a policy that refuses one origin, to run the refusal path */
	return req->origin.len == 1 && req->origin.p[0] == 'x' ? 403 : 0;
}

static const struct msrp_ws_ops fz_ops = {
	.on_request = fz_request, .on_open = fz_open, .on_data = fz_data,
	.on_msg_end = fz_msg_end,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; /* RFC 6455 §1.3 */
	struct msrp_ws_cfg cfg;
	struct msrp_ws_req req;
	struct msrp_ws_resp resp;
	static struct fz f;

	if (size < 1)
		return 0;
	size_t piece = data[0] ? data[0] : size;
	const char *p = (const char *)data + 1;
	size_t len = size - 1;

	msrp_ws_cfg_defaults(&cfg);
	cfg.max_head = 2048;
	cfg.max_headers = 16;
	cfg.max_msg = MAX_MSG;

	/* the pure parsers: a head length is within bounds, an error says what to answer */
	int n = msrp_ws_parse_request(p, len, &cfg, &req);
	if (n > 0 && ((size_t)n > len || (size_t)n > cfg.max_head || !req.key.len ||
		      !req.host.len))
		__builtin_trap();
	if (n == MSRP_WS_ERROR && (req.status < 400 || req.status > 599 || !req.reason))
		__builtin_trap();
	if (n == MSRP_WS_AGAIN && len >= cfg.max_head)
		__builtin_trap();
	int m = msrp_ws_parse_response(p, len, &cfg, accept, &resp);
	if (m > 0 && ((size_t)m > len || resp.status != 101))
		__builtin_trap();
	if (n > 0 && m > 0)
		__builtin_trap(); /* a head cannot be a request and a status line at once */

	/* the server core, fed in pieces */
	memset(&f, 0, sizeof(f));
	if (msrp_ws_init(&f.ws, MSRP_WS_SERVER, &cfg, &fz_ops, &f, NULL, fz_out, &f) != 0)
		__builtin_trap();
	int rc = MSRP_WS_OK;
	for (size_t off = 0; off < len && rc == MSRP_WS_OK; off += piece) {
		size_t k = len - off < piece ? len - off : piece;
		rc = msrp_ws_feed(&f.ws, p + off, k);
	}
	if (f.data_before_open)
		__builtin_trap();
	if (f.opened) {
		if (f.first_len < 12 || memcmp(f.first, "HTTP/1.1 101", 12) != 0)
			__builtin_trap();
		if (n <= 0 && piece >= len)
			__builtin_trap(); /* opened on a head the parser refuses */
	} else if (rc == MSRP_WS_DONE) {
		int st = msrp_ws_http_status(&f.ws);
		if (st < 400 || st > 599 || f.first_len < 10 ||
		    memcmp(f.first, "HTTP/1.1 ", 9) != 0 || (f.first[9] != '4' && f.first[9] != '5'))
			__builtin_trap();
	} else if (f.out_len) {
		__builtin_trap(); /* nothing is written before the head is complete */
	}
	if (msrp_ws_state(&f.ws) == MSRP_WS_S_OPEN)
		msrp_ws_close(&f.ws, 1001, NULL);
	msrp_ws_fini(&f.ws);
	return 0;
}
