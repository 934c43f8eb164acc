/* msrp_ws-t.h — types of the WebSocket transport for MSRP (RFC 7977 over RFC 6455). No
 * prototypes here (see msrp_ws.h).
 *
 * One struct msrp_ws per connection, in storage that the layer above owns (embed it in its
 * connection object). It holds the HTTP upgrade state, the wslay context (frames) and, when
 * it rides an engine connection, the glue's state. */
#ifndef MSRP_WS_T_H
#define MSRP_WS_T_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "engine/eng-t.h"

#define MSRP_WS_SUBPROTOCOL "msrp"   /* RFC 7977 §4.1: the only subprotocol spoken here */
#define MSRP_WS_VERSION "13"         /* RFC 6455 §4.1: Sec-WebSocket-Version */
#define MSRP_WS_KEY_LEN 24           /* chars of a Sec-WebSocket-Key: base64 of 16 bytes */
#define MSRP_WS_ACCEPT_LEN 28        /* chars of a Sec-WebSocket-Accept: base64 of SHA-1 */
#define MSRP_WS_HEAD_MIN 256         /* smallest max_head accepted by msrp_ws_init() */
#define MSRP_WS_ERROR_MAX 512        /* bytes of any HTTP error answer built here */

/* Return values of the parsers and of msrp_ws_feed() (besides lengths and -errno). */
#define MSRP_WS_OK 0                 /* go on */
#define MSRP_WS_DONE 1               /* the transport should be closed once what is queued
				      * is written */
#define MSRP_WS_ERROR (-1)           /* a head was refused: see the status in the result */
#define MSRP_WS_AGAIN (-2)           /* a head is not complete yet */

/* Extra headers of an HTTP error answer (msrp_ws_build_error <hdrs>). */
#define MSRP_WS_EH_VERSION 0x1       /* Sec-WebSocket-Version: 13 (RFC 6455 §4.2.2, §4.4) */
#define MSRP_WS_EH_UPGRADE 0x2       /* Upgrade: websocket, with Connection: Upgrade (426) */
#define MSRP_WS_EH_ALLOW   0x4       /* Allow: GET (405) */

enum msrp_ws_role {
	MSRP_WS_SERVER = 0,          /* answers the upgrade; frames it sends are not masked */
	MSRP_WS_CLIENT,              /* asks for the upgrade; frames it sends are masked */
};

enum msrp_ws_state {
	MSRP_WS_S_HANDSHAKE = 0,     /* collecting the HTTP head (request or 101) */
	MSRP_WS_S_OPEN,              /* frames flow */
	MSRP_WS_S_CLOSING,           /* our close frame is out; waiting for the peer's */
	MSRP_WS_S_DONE,              /* nothing more is read or written */
};

/* Limits and timers. Shared read-only by every connection (and worker) that uses it; it
 * must outlive them. msrp_ws_cfg_defaults() fills the embedded defaults. */
struct msrp_ws_cfg {
	uint32_t max_head;           /* bytes of an HTTP head, blank line included (431 above) */
	uint32_t max_headers;        /* header lines in a head (431 above) */
	uint64_t max_msg;            /* bytes of one incoming WebSocket message (close 1009 above) */
	uint32_t handshake_timeout_ms; /* glue: the upgrade must be done within this (0: none) */
	uint32_t close_timeout_ms;   /* glue: the peer has this long to answer our close frame
				      * or to read what we owe it before the close (0: none) */
};

/* A valid upgrade request, as msrp_ws_parse_request() found it. The slices point into the
 * head that was parsed; on an error, <status>, <reason> and <err_hdrs> say what to answer. */
struct msrp_ws_req {
	cm_slice method;
	cm_slice target;             /* request-target as sent, e.g. "/msrp" */
	cm_slice host;
	cm_slice origin;             /* empty when absent (non-browser clients) */
	cm_slice key;                /* Sec-WebSocket-Key (validated) */
	unsigned nhdrs;              /* header lines seen */
	int status;                  /* MSRP_WS_ERROR: the HTTP status to answer */
	const char *reason;          /* MSRP_WS_ERROR: short static text, the answer's body */
	unsigned err_hdrs;           /* MSRP_WS_ERROR: MSRP_WS_EH_* to add to the answer */
};

/* An answer to our upgrade request, as msrp_ws_parse_response() found it. */
struct msrp_ws_resp {
	int status;                  /* the HTTP status received, 0 when the head is malformed */
	cm_slice reason_phrase;
	cm_slice accept;             /* Sec-WebSocket-Accept */
	cm_slice protocol;           /* Sec-WebSocket-Protocol */
	unsigned nhdrs;
	const char *reason;          /* MSRP_WS_ERROR: why it was refused (static text) */
};

/* What the layer above is told. <ctx> is the pointer given to msrp_ws_init / attach /
 * connect. All calls run on the thread that feeds the transport (the owning worker). */
struct msrp_ws_ops {
	/* Server: a valid upgrade request came (<req>'s slices are valid during the call).
	 * 0 accepts it; an HTTP status (e.g. 403 for an Origin refused by policy) refuses it
	 * with that status. NULL accepts every valid request. */
	int (*on_request)(void *ctx, const struct msrp_ws_req *req);
	/* The WebSocket is open: 101 sent (server) or a valid 101 received (client). */
	void (*on_open)(void *ctx);
	/* <len> (> 0) payload bytes of a text or binary message. Messages follow each other as
	 * one byte stream; <p> is valid during the call only. */
	void (*on_data)(void *ctx, const char *p, size_t len);
	/* The message whose bytes on_data delivered is complete (RFC 7977 §4.2: one MSRP chunk
	 * per WebSocket message, so this is where a chunk must end). May be NULL. */
	void (*on_msg_end)(void *ctx);
	/* Glue: the connection's send queue fell under its low watermark after passing its
	 * high one (see msrp_ws_send_msg). May be NULL. */
	void (*on_writable)(void *ctx);
	/* Glue: the transport is gone and will not call again; the storage of the msrp_ws may
	 * be freed by the callee. <code>: the close status (RFC 6455 §7.4) of whoever started
	 * the close: ours when we did (msrp_ws_close's code, 1009 message too big, 1002
	 * protocol error, 1007 invalid UTF-8 ...), else the peer's (1005 when its close frame
	 * carried none); 1006 when the connection ended without a close frame; 0 when the
	 * WebSocket never opened (msrp_ws_http_status() then tells the HTTP status sent or
	 * received, 0 if none). */
	void (*on_close)(void *ctx, int code);
};

/* Counters, per worker (the caller owns them and passes them to msrp_ws_init). Each limit
 * is counted when it is hit. */
struct msrp_ws_stats {
	uint64_t upgrades;           /* WebSockets opened */
	uint64_t refused;            /* upgrades refused (HTTP error sent, or a bad 101) */
	uint64_t head_too_big;       /* heads over max_head or max_headers (431) */
	uint64_t msg_too_big;        /* messages over max_msg (1009) */
	uint64_t proto_errors;       /* connections failed by the frame layer (1002, 1007) */
	uint64_t handshake_timeouts;
	uint64_t close_timeouts;
	uint64_t msgs_in, msgs_out;
	uint64_t bytes_in, bytes_out; /* message payload bytes */
};

struct wslay_event_context;

/* Sink of the bytes the transport writes (HTTP heads and frames): 0 written (queued), 1
 * written but the sink is above its high watermark, -errno when it cannot take them. */
typedef int (*msrp_ws_out_fn)(void *arg, const void *p, size_t len);

struct msrp_ws {
	/* set once */
	const struct msrp_ws_cfg *cfg;
	const struct msrp_ws_ops *ops;
	void *ctx;
	struct msrp_ws_stats *st;    /* NULL: not counted */
	msrp_ws_out_fn out;
	void *out_arg;
	uint8_t role;                /* enum msrp_ws_role */
	uint8_t state;               /* enum msrp_ws_state */
	uint8_t pressure;            /* the sink said "above high watermark" last time */
	uint8_t opened;              /* on_open was called */
	uint8_t rx_data;             /* the frame being read is a data frame */
	uint8_t rx_fin;              /* ... and the last of its message */
	uint8_t rx_drop;             /* deliver nothing more (failed, or closing) */
	uint8_t bad_close;           /* the peer's close frame had a 1-byte body (no code:
				      * wslay takes it for an empty one): a protocol error */
	uint8_t mask_used;           /* bytes of mask_rnd consumed */
	uint16_t fail_code;          /* close code of a failure wslay reported by an error */
	uint16_t close_pending;      /* close code to queue at the next flush (1009) */
	uint16_t own_close;          /* code of the close frame we started the close with */
	uint16_t http_status;        /* sent (server) or received (client) */
	uint16_t depth;              /* nesting of feed/flush: flushes wait for the outermost */
	/* handshake */
	char *head;                  /* malloc'ed max_head bytes while a head spans reads */
	uint32_t head_len;
	uint32_t head_match;         /* bytes of "\r\n\r\n" matched at the end of what was seen */
	uint32_t head_seen;          /* bytes of the head seen so far */
	char accept[MSRP_WS_ACCEPT_LEN + 1]; /* client: the Sec-WebSocket-Accept to expect */
	/* frames */
	struct wslay_event_context *wctx;
	const char *in_p;            /* bytes wslay may read during msrp_ws_feed */
	size_t in_len;
	uint64_t rx_msg_len;         /* payload bytes announced for the message being read */
	uint8_t mask_rnd[32];        /* client: random bytes for masking keys */
	/* engine glue (msrp_ws_attach / msrp_ws_connect) */
	eng_conn *c;                 /* NULL once the engine closed it */
	eng_worker *w;
	eng_timer timer;             /* handshake, then close deadline */
	uint8_t glue;                /* the glue drives this transport */
	uint8_t busy;                /* glue entry points on the stack */
	uint8_t gone;                /* the engine closed the connection: on_close owed */
	uint8_t timer_close;         /* the timer is the close deadline */
	uint8_t close_started;       /* the glue called eng_close */
	int conn_err;
};

#endif
