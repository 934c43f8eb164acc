/* msrp_conn.h — MSRP over one engine connection (TCP, TLS, or WebSocket over either): the
 * inbound frame stream, transactions (responses matched by transaction id, local 408 on
 * timeout), hop-by-hop responses with the Failure-Report rules, 501 for unknown methods,
 * limits and timeouts.
 *
 * Everything runs on the connection's worker. One struct msrp_worker per worker holds what
 * its connections share (parser limits and counters, the transaction table, head buffers).
 *
 * The owner sees requests as HEAD, BODY..., END calls (bodies zero-copy: a BODY slice lies
 * in <b> when <b> is not NULL, and the owner may eng_buf_ref(<b>) to keep it). Responses
 * never reach the owner through these: they go to the callback of the request they answer. */
#ifndef MSRP_CONN_H
#define MSRP_CONN_H

#include <sys/uio.h>

#include "common/cm_hist-t.h"
#include "engine/eng.h"
#include "msrp/msrp-t.h"
#include "msrp/msrp_parse-t.h"
#include "msrp/msrp_ws-t.h"

struct msrp_conn;

struct msrp_conn_ops {
	/* A request's start line and headers. <m>'s slices are valid during the call only. */
	void (*on_head)(struct msrp_conn *mc, const struct msrp_msg *m);
	/* Body bytes of the current request; <b> holds them, or is NULL (then copy them). */
	void (*on_body)(struct msrp_conn *mc, eng_buf *b, cm_slice body);
	/* The current request ended with <flag>. */
	void (*on_end)(struct msrp_conn *mc, enum msrp_flag flag);
	/* The connection is gone (<err> 0: the peer closed, else -errno / -EPROTO for a broken
	 * stream / -ETIMEDOUT for an idle or slow one). <mc> is freed after the call. */
	void (*on_close)(struct msrp_conn *mc, int err);
	/* For listings: the sessions bound to <mc>. May be NULL (none known). */
	uint32_t (*sessions)(struct msrp_conn *mc);
};

/* The answer to a request: <status> from the peer's response (<resp> its head, valid during
 * the call), or a local one with <resp> NULL: 408 timeout, 503 connection lost. */
typedef void (*msrp_resp_fn)(struct msrp_conn *mc, void *arg, int status,
			     const struct msrp_msg *resp);

struct msrp_conn_cfg {
	struct msrp_limits limits;
	uint32_t txn_timeout_ms;   /* a request without response fails with 408 (§7.1.1: 30 s) */
	uint32_t max_txns;         /* requests awaiting a response per connection */
	uint32_t idle_timeout_ms;  /* no byte either way for this long: close (0: never) */
	uint32_t head_timeout_ms;  /* a frame head still incomplete after this long: close */
	/* A frame's body (head whole, end-line not yet) must come at body_min_rate bytes/s at
	 * least: it is due body_timeout_ms after its head, and every body_min_rate bytes
	 * received move that by a second, to at most body_timeout_ms after the last bytes.
	 * Past it: closed (a lingering close). 0 in either: no such rule. */
	uint32_t body_timeout_ms;
	uint32_t body_min_rate;
};

/* Requests by method and responses by status code, counted each way for /metrics. */
#define MSRP_CONN_METHODS 4        /* SEND, REPORT, AUTH, any other: msrp_conn_method_slot() */
#define MSRP_CONN_CODES 11         /* the codes of msrp_conn_code_names, then any other */
extern const char *const msrp_conn_method_names[MSRP_CONN_METHODS]; /* "SEND" ... "other" */
extern const char *const msrp_conn_code_names[MSRP_CONN_CODES];     /* "200" ... "other" */
/* The slot of <m> in those counters (a request's method; MSRP_M_NONE is no request). */
unsigned msrp_conn_method_slot(enum msrp_method m);
/* The slot of status <code>: 200, 400, 403, 408, 413, 415, 423, 481, 501, 506, else other. */
unsigned msrp_conn_code_slot(int code);

struct msrp_conn_stats {
	uint64_t conns, closed;
	uint64_t requests_in, responses_in, requests_out, responses_out;
	uint64_t responses_unmatched;  /* for no transaction of ours (late, or bogus) */
	uint64_t answered_501;
	uint64_t txn_timeouts;         /* local 408 */
	uint64_t txn_limit;            /* requests refused at max_txns */
	uint64_t idle_closed, head_timeouts;
	uint64_t body_timeouts;        /* cut off for a body under body_min_rate */
	uint64_t stream_errors;        /* broken streams closed (parser errors) */
	uint64_t ws_split_frames;      /* WebSocket messages that ended inside a frame */
	uint64_t handovers;            /* connections handed to another worker */
	/* [0]: received, [1]: sent. Requests by method, each frame once (the relay's pieces
	 * and the user agent's chunks one by one); responses by status (local 408 and 503
	 * are not responses) */
	uint64_t req_method[2][MSRP_CONN_METHODS];
	uint64_t resp_code[2][MSRP_CONN_CODES];
	/* our requests (msrp_conn_request, msrp_conn_txn_open) from their send to their
	 * response, the ones answered by the peer only */
	struct cm_hist txn_rtt;
};

struct msrp_worker;

/* Defaults: RFC-sized limits, 30 s transactions, 256 per connection, 10 min idle,
 * 30 s for a head, 30 s for a body at 512 bytes/s at least. */
void msrp_conn_cfg_default(struct msrp_conn_cfg *cfg);

/* The per-worker context, made on <w>'s thread. NULL on failure. */
struct msrp_worker *msrp_worker_new(eng_worker *w, const struct msrp_conn_cfg *cfg);
/* Frees it; every msrp_conn of the worker must be gone. */
void msrp_worker_free(struct msrp_worker *mw);
const struct msrp_conn_stats *msrp_worker_stats(const struct msrp_worker *mw);
const struct msrp_parse_stats *msrp_worker_parse_stats(const struct msrp_worker *mw);
/* Counters of the WebSocket transports of the worker's msrp_conn_new_ws connections. */
const struct msrp_ws_stats *msrp_worker_ws_stats(const struct msrp_worker *mw);

/* Takes over <c> (accepted or connected, on <mw>'s worker): starts reading. NULL when out
 * of memory (then <c> is closed). */
struct msrp_conn *msrp_conn_new(struct msrp_worker *mw, eng_conn *c,
				const struct msrp_conn_ops *ops, void *udata);
/* Server side over WebSocket (RFC 7977): attaches the WebSocket glue (msrp_ws_attach) to
 * the accepted, not yet started <c> with the limits of <wcfg> (which must outlive the
 * connection). The MSRP layer starts when the WebSocket opens; until then nothing can be
 * sent. Each frame goes out as one WebSocket message; received bodies come with <b> NULL
 * (the owner copies them). A WebSocket that ends (close handshake, failure, never opened)
 * ends the msrp_conn like a closed connection: on_close once, with 0 after a close
 * handshake, -EPROTO when the WebSocket or the MSRP stream broke, else the connection's
 * error. NULL when out of memory or <wcfg> is unusable (then <c> is closed). */
struct msrp_conn *msrp_conn_new_ws(struct msrp_worker *mw, eng_conn *c,
				   const struct msrp_ws_cfg *wcfg,
				   const struct msrp_conn_ops *ops, void *udata);
void *msrp_conn_udata(const struct msrp_conn *mc);
/* For the engine's listings (eng_conn_ops.describe) of a connection that carries <mc>, or
 * NULL while it has none yet: "msrp" and its sessions. */
void msrp_conn_describe(struct msrp_conn *mc, struct eng_conn_desc *d);
/* The engine connection under <mc> (over WebSocket: NULL once it is gone). */
eng_conn *msrp_conn_eng(const struct msrp_conn *mc);

/* Sends request <m> (its tid unique on this connection: msrp_id_tid) with <nbody> body
 * pieces. When <m> asks for a response (Failure-Report yes or absent), <fn>(<arg>) gets it
 * or a local 408 / 503; otherwise <fn> is not called. Returns 0 (or 1: the send queue is
 * above its high watermark), -EAGAIN at max_txns, -EINVAL for a bad frame, -EPIPE when
 * closing, -ENOBUFS. */
int msrp_conn_request(struct msrp_conn *mc, const struct msrp_out *m, const cm_slice *body,
		      unsigned nbody, enum msrp_flag flag, msrp_resp_fn fn, void *arg);

/* Answers request <req> with <status> (comment: the usual one when empty; <extra> headers
 * such as WWW-Authenticate), unless the Failure-Report rules say no response goes out (then
 * 0 and nothing is sent). Same returns as eng_send. */
int msrp_conn_respond(struct msrp_conn *mc, const struct msrp_msg *req, int status,
		      cm_slice comment, const struct msrp_hdr *extra, unsigned nextra);

/* A pointer of the application's own next to udata (which a pool keeps for itself): the
 * relay's per-connection state. NULL until set. */
void *msrp_conn_owner(const struct msrp_conn *mc);
void msrp_conn_set_owner(struct msrp_conn *mc, void *owner);
int msrp_conn_is_ws(const struct msrp_conn *mc);
const struct msrp_conn_ops *msrp_conn_ops_of(const struct msrp_conn *mc);
struct msrp_worker *msrp_conn_worker(const struct msrp_conn *mc);

/* Forwarding (a relay writes the frames itself, piece by piece):
 * msrp_conn_send_frame() sends the <n> pieces of <iov> (copied) as one frame or part of one:
 * over WebSocket they must be a whole frame (one message). msrp_conn_send_buf() queues
 * <piece> of <b> without a copy (TCP/TLS only: -EINVAL over WebSocket). Both return as
 * eng_send. msrp_conn_txn_open() waits for the response to <tid> (the callback as for
 * msrp_conn_request, local 408 on timeout and 503 when the connection goes): 0, -EAGAIN at
 * max_txns, -EEXIST, -ENOMEM, -EPIPE; msrp_conn_txn_cancel() forgets it (no callback). */
int msrp_conn_send_frame(struct msrp_conn *mc, const struct iovec *iov, unsigned n);
/* For the counters of frames an owner writes itself (msrp_conn_send_frame, _send_buf):
 * a request of <method> (one call per frame, at its head) or a response with <status> went
 * out on <mc>. msrp_conn_request and msrp_conn_respond count their own. */
void msrp_conn_count_request_out(struct msrp_conn *mc, enum msrp_method method);
void msrp_conn_count_response_out(struct msrp_conn *mc, int status);
/* The same for a whole frame of ours, <len> bytes at <frame> (its start line at least):
 * counted as its start line says ("MSRP <tid> <method>" or "MSRP <tid> <code> ..."). */
void msrp_conn_count_frame_out(struct msrp_conn *mc, const char *frame, size_t len);
int msrp_conn_send_buf(struct msrp_conn *mc, eng_buf *b, cm_slice piece);
int msrp_conn_txn_open(struct msrp_conn *mc, cm_slice tid, msrp_resp_fn fn, void *arg);
void msrp_conn_txn_cancel(struct msrp_conn *mc, cm_slice tid);

/* From on_head only: hands the connection, from the first byte of this frame on, to worker
 * <to>, whose <adopt>(<c>, <arg>) takes it (makes its own msrp_conn). The frame must have
 * begun in the bytes being parsed, nothing may await a response on <mc>, and it must be
 * TCP or TLS (not WebSocket). 0: once on_head returns, <mc> is gone — no more callbacks,
 * no on_close (the owner lets go of it now); -EINVAL: not possible, carry on as usual. */
int msrp_conn_handover(struct msrp_conn *mc, eng_worker *to,
		       void (*adopt)(eng_conn *c, void *arg), void *arg);

/* Sends what is queued, then closes (over WebSocket: the close handshake with 1000);
 * on_close follows. */
void msrp_conn_close(struct msrp_conn *mc);

#endif
