/* msrp_ws.h — MSRP over WebSocket (RFC 7977): the HTTP/1.1 upgrade (RFC 6455 §4), frames
 * by wslay's event API, and the glue that lets an engine connection carry it.
 *
 * Three layers, usable apart:
 *   1. pure functions: parse / build the upgrade heads (no state, no allocation, any thread;
 *      the fuzz target drives these);
 *   2. the transport core (msrp_ws_init / feed / send_msg / close / fini): bytes in through
 *      msrp_ws_feed(), bytes out through an msrp_ws_out_fn sink, upcalls through
 *      struct msrp_ws_ops. It knows nothing of the engine;
 *   3. the engine glue (msrp_ws_attach / msrp_ws_connect): the core on an eng_conn (plain
 *      TCP for ws, TLS for wss: the engine's TLS is below and transparent), with the
 *      handshake and close deadlines on the worker's timer wheel.
 *
 * What goes up is a byte stream: the payloads of the text and binary messages, in order,
 * through on_data; on_msg_end marks where each message ended. The MSRP parser runs above
 * and finds frame boundaries itself. What comes down is one MSRP frame (chunk) per
 * WebSocket message (RFC 7977 §4.2), sent as a text message when it is valid UTF-8 and as
 * a binary message otherwise.
 *
 * Return convention: 0 or a positive count on success, -errno on failure; the parsers say
 * theirs. */
#ifndef MSRP_WS_H
#define MSRP_WS_H

#include <stddef.h>
#include <sys/uio.h>

#include "common/cm_slice-t.h"
#include "engine/eng-t.h"
#include "msrp/msrp_ws-t.h"

/* ---- the upgrade heads (pure) --------------------------------------------------------- */

/* Fills <cfg> with the embedded defaults: max_head 8192, max_headers 64, max_msg 1 MiB,
 * handshake_timeout_ms 10000, close_timeout_ms 5000. */
void msrp_ws_cfg_defaults(struct msrp_ws_cfg *cfg);

/* Parses the HTTP/1.1 upgrade request at <p> (<len> bytes, of which the head may be a
 * prefix: bytes after the blank line are not looked at). Reads p[0 .. len-1], never
 * beyond. Limits: <cfg>'s max_head and max_headers.
 *
 * Returns the length of the head, blank line included (> 0): it is a valid WebSocket
 * upgrade offering the "msrp" subprotocol, and <out> is filled (its slices point into
 * <p>). MSRP_WS_AGAIN: no blank line yet within <len> bytes (and <len> < max_head).
 * MSRP_WS_ERROR: refused; out->status, out->reason and out->err_hdrs say what to answer:
 *   400  malformed request line or header (bare CR or LF, obs-fold, blank before the
 *        colon, control characters), a Host that is missing, repeated or empty, a
 *        Connection without the "upgrade" token, a Sec-WebSocket-Key that is missing,
 *        repeated or not base64 of 16 bytes, no "msrp" in Sec-WebSocket-Protocol (RFC 7977
 *        §4.1: the only subprotocol here), a body (Transfer-Encoding, or a Content-Length
 *        other than 0: what follows the head must be frames);
 *   400 + Sec-WebSocket-Version: 13  version missing or not 13 (RFC 6455 §4.2.2, §4.4);
 *   405 + Allow: GET  a method other than GET;
 *   426 + Upgrade: websocket  no "websocket" token in Upgrade (a plain HTTP request);
 *   431  head longer than max_head or more than max_headers header lines;
 *   505  an HTTP version other than 1.1 or a later 1.x.
 * Names of headers are compared case-insensitively, so are the tokens of Upgrade and
 * Connection; "msrp" is compared exactly (browsers compare subprotocols byte for byte). */
int msrp_ws_parse_request(const char *p, size_t len, const struct msrp_ws_cfg *cfg,
			  struct msrp_ws_req *out);

/* Writes into <out> (MSRP_WS_ACCEPT_LEN chars and a NUL) the Sec-WebSocket-Accept of
 * <key>: base64(SHA-1(key + the RFC 6455 GUID)). 0, or -EINVAL when <key> is longer than
 * 64 bytes, -EIO when wolfCrypt fails. */
int msrp_ws_accept_of(cm_slice key, char out[MSRP_WS_ACCEPT_LEN + 1]);

/* Writes the 101 Switching Protocols answer to the request whose key is <key>, choosing
 * the "msrp" subprotocol, into <buf> (snprintf's contract: at most <len> - 1 chars and a
 * NUL). Returns the length of the whole answer (>= <len> means it was cut), or -errno from
 * msrp_ws_accept_of(). */
int msrp_ws_build_101(cm_slice key, char *buf, size_t len);

/* Writes an HTTP error answer into <buf> (snprintf's contract): status line, "Connection:
 * close", the extra headers <hdrs> (MSRP_WS_EH_*), a text/plain body made of <text> (a
 * short line; NULL: the reason phrase) and a newline. Returns the length of the whole
 * answer; MSRP_WS_ERROR_MAX bytes hold any answer whose <text> is under 200 chars. */
int msrp_ws_build_error(int status, unsigned hdrs, const char *text, char *buf, size_t len);

/* Makes a Sec-WebSocket-Key: base64 of 16 bytes from getrandom(2), MSRP_WS_KEY_LEN chars
 * and a NUL into <key>. 0 or -errno. */
int msrp_ws_make_key(char key[MSRP_WS_KEY_LEN + 1]);

/* Writes the client's upgrade request into <buf> (snprintf's contract): GET <target>
 * HTTP/1.1 with Host <host>, Upgrade, Connection, Sec-WebSocket-Key <key>,
 * Sec-WebSocket-Version 13, Sec-WebSocket-Protocol msrp, and Origin <origin> when it is
 * not empty. Returns the length of the whole request, or -EINVAL when <host> or <target>
 * is empty or any of them holds a character that cannot appear there (CTLs, blanks in
 * <target>: no header injection). */
int msrp_ws_build_request(cm_slice host, cm_slice target, cm_slice origin,
			  const char key[MSRP_WS_KEY_LEN], char *buf, size_t len);

/* Parses the server's answer to our upgrade request, like msrp_ws_parse_request (same
 * bounds, same framing rules). <accept> is the MSRP_WS_ACCEPT_LEN chars expected
 * (msrp_ws_accept_of of the key sent). Returns the head length when it is a 101 with
 * Upgrade websocket, Connection upgrade, the expected Sec-WebSocket-Accept, the subprotocol
 * "msrp" (RFC 7977 §4.1: the 101 MUST carry it) and no Sec-WebSocket-Extensions (none was
 * offered). MSRP_WS_AGAIN: not complete. MSRP_WS_ERROR: out->status is the status
 * received (0 when the head is malformed or too big), out->reason says why. */
int msrp_ws_parse_response(const char *p, size_t len, const struct msrp_ws_cfg *cfg,
			   const char accept[MSRP_WS_ACCEPT_LEN], struct msrp_ws_resp *out);

/* 1 when <len> bytes at <p> are valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), else 0. */
int msrp_ws_utf8_valid(const char *p, size_t len);

/* ---- the transport core ----------------------------------------------------------------- */

/* Prepares <ws> (the caller's storage) for <role>. <cfg> must outlive <ws>; <ops> and
 * <ctx> get the upcalls; <st> gets the counters (NULL: not counted); <out>(<out_arg>, ...)
 * takes every byte written. Allocates nothing yet (the head buffer and the wslay context
 * come when needed). 0, or -EINVAL when cfg->max_head < MSRP_WS_HEAD_MIN or a mandatory
 * op (on_data) is missing. */
int msrp_ws_init(struct msrp_ws *ws, enum msrp_ws_role role, const struct msrp_ws_cfg *cfg,
		 const struct msrp_ws_ops *ops, void *ctx, struct msrp_ws_stats *st,
		 msrp_ws_out_fn out, void *out_arg);

/* Client: writes the upgrade request (a fresh key) to the sink and remembers the accept
 * value to expect. <host>, <target>, <origin> as for msrp_ws_build_request. 0, -EINVAL,
 * -ENOSPC (request over max_head), -EALREADY (not a client at the start), or the sink's
 * -errno. */
int msrp_ws_client_start(struct msrp_ws *ws, cm_slice host, cm_slice target, cm_slice origin);

/* Gives the transport <len> bytes read from the peer. During the handshake they go to the
 * head (kept in a buffer only when the head spans reads); what follows the head in the same
 * call (a client may pipeline its first frame with the request) goes to the frame layer.
 * Upcalls (on_request, on_open, on_data, on_msg_end) run from inside this call; they may
 * call msrp_ws_send_msg / msrp_ws_close, whose bytes are written when the outermost feed
 * returns. Returns MSRP_WS_OK, or MSRP_WS_DONE when the transport is finished (upgrade
 * refused and answered, close handshake complete, connection failed with its close frame
 * queued, sink error): the caller closes the connection after writing what is queued and
 * feeds nothing more. Bytes fed after DONE are ignored. */
int msrp_ws_feed(struct msrp_ws *ws, const char *p, size_t len);

/* Sends the <n> pieces of <iov> as one WebSocket message: a text message when the bytes
 * are valid UTF-8, else a binary one (RFC 7977 §4.2). Copies: the pieces are gathered into
 * one buffer when n > 1, wslay_event_queue_msg() copies the message into its queue, and
 * the sink copies the frame again (eng_send) — the caller's memory is free on return.
 * Written at once, unless called from inside msrp_ws_feed (then when it returns). Returns
 * 0, 1 when the sink reported itself above its high watermark (pause what feeds this
 * connection until on_writable), -EPIPE when not open (handshake, closing, done), -EINVAL
 * (n < 0, n > IOV_MAX), -ENOMEM. */
int msrp_ws_send_msg(struct msrp_ws *ws, const struct iovec *iov, int n);

/* Sends a ping with <len> (<= 125) bytes of <p> (keep-alive; the pong is absorbed).
 * 0, -EPIPE, -EINVAL, -ENOMEM. */
int msrp_ws_ping(struct msrp_ws *ws, const void *p, size_t len);

/* Starts the close handshake with <code> (1000 normal, 1001 going away, 1008 policy, ...)
 * and an optional <reason> (<= 123 bytes, UTF-8). Nothing is delivered upward after this
 * call. Before the upgrade is done there is no WebSocket to close: the state becomes DONE.
 * Returns MSRP_WS_OK (wait for the peer's close frame; the glue arms close_timeout_ms),
 * MSRP_WS_DONE (close the connection now), or -EINVAL for a bad code or reason. */
int msrp_ws_close(struct msrp_ws *ws, int code, const char *reason);

/* The state (enum msrp_ws_state), the close code as on_close reports it, the HTTP status
 * sent or received during the upgrade (0 if none). */
int msrp_ws_state(const struct msrp_ws *ws);
int msrp_ws_close_code(const struct msrp_ws *ws);
int msrp_ws_http_status(const struct msrp_ws *ws);

/* Frees what the transport allocated (head buffer, wslay context). Idempotent. The glue
 * calls it itself before on_close. */
void msrp_ws_fini(struct msrp_ws *ws);

/* ---- the engine glue ---------------------------------------------------------------------- */

/* Server: makes the accepted (not yet started) connection <c> carry WebSocket for <ws>
 * (the caller's storage, which must stay valid until ops->on_close). Calls
 * eng_conn_start(c) with the glue's callbacks (c->udata becomes <ws>) and arms the
 * handshake deadline. Call it from the listener's on_accept (ws_listen and wss_listen
 * alike: the engine's TLS is below). 0, or -errno from msrp_ws_init (then <c> is closed
 * and no upcall comes). */
int msrp_ws_attach(struct msrp_ws *ws, eng_conn *c, const struct msrp_ws_cfg *cfg,
		   const struct msrp_ws_ops *ops, void *ctx, struct msrp_ws_stats *st);

/* Client: connects to <hostport> (numeric, see eng_connect; with <tls> and <sni> for
 * wss), queues the upgrade request (Host <host>, GET <target>, Origin <origin>) and arms
 * the handshake deadline. The outcome comes as on_open, or as on_close with code 0.
 * 0 (<*out>, when not NULL, gets the connection), or -errno (no upcall comes). */
int msrp_ws_connect(struct msrp_ws *ws, eng_worker *w, const char *hostport, eng_tls_ctx *tls,
		    const char *sni, cm_slice host, cm_slice target, cm_slice origin,
		    const struct msrp_ws_cfg *cfg, const struct msrp_ws_ops *ops, void *ctx,
		    struct msrp_ws_stats *st, eng_conn **out);

/* Glue: the connection under <ws> (for eng_conn_wait_writable, peer address, stats); NULL
 * once it is gone. */
eng_conn *msrp_ws_conn(const struct msrp_ws *ws);

/* Glue: closes the connection now, without a close handshake (what is queued is
 * dropped). on_close follows with 1006 (or 0 before the upgrade), never from inside this
 * call: the glue calls on_close only from engine callbacks and timers, never from inside
 * an msrp_ws_* call made by the layer above. */
void msrp_ws_abort(struct msrp_ws *ws);

#endif
