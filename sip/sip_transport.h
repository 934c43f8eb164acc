/* sip_transport.h — the SIP transport of one worker (RFC 3261 §18), under sip_txn.
 *
 * Receives: UDP datagrams (eng_udp) parsed whole with sip_parse_msg(); TCP and TLS
 * connections, accepted (eng_listen) or opened by a send, framed by Content-Length with one
 * sip_stream each. Every message that parses goes up through on_msg with the bytes it was
 * parsed from and where it came from (kind SIP_TP_TLS for TLS connections). What does not
 * parse is counted and dropped: no 400 from here, the transaction layer or the TU decides.
 * A stream that cannot be trusted any more (§18.3) is closed and counted. Keep-alive CRLFs
 * (RFC 5626 §3.5.1) are counted and otherwise ignored.
 *
 * Sends: UDP from the first listening socket of the destination's family. TCP and TLS
 * (§18.1.1, §26.2) on the connection named by dst->conn_id while it is open, else on an
 * open (or still connecting) connection of the same kind to dst->addr, else on a new one
 * opened to dst->addr (eng_connect; TLS with the client context of sip_transport_set_tls).
 * Opening is asynchronous: the send returns 0 at once and the message waits, copied, until
 * the connection (and its handshake) is up, at most SIP_TP_PENDING_MAX messages and
 * SIP_TP_PENDING_BYTES bytes per connecting connection (-ENOBUFS past that). When the
 * connection fails instead, what waited is lost and the error callback says so, once per
 * connection (sip_transport_set_error_cb): the UA fails the transactions it sent there with
 * 503 (§17.1.4). A connection opened here is parsed like an accepted one and reused for later
 * sends to the same address; sip_transport_conn_for() names it at once.
 *
 * Idle connections (both directions) are closed after sip_transport_set_idle()'s time
 * without traffic; a connection still connecting after that time fails with -ETIMEDOUT.
 *
 * Connections are named by a per-transport (so per-worker) number, never reused, given in
 * struct sip_dest.conn_id. Threads: everything on the owning worker's thread. */
#ifndef SIP_TRANSPORT_H
#define SIP_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/eng-t.h"
#include "sip/sip-t.h"
#include "sip/sip_txn.h"

struct sip_transport;

#define SIP_TP_PENDING_MAX   16        /* messages waiting on one connecting connection */
#define SIP_TP_PENDING_BYTES (128 * 1024) /* ... and their bytes */

/* A message arrived: <m> parsed from exactly <raw>[0..<len>) (valid during the call only),
 * received from <src> (address, kind, conn_id). */
typedef void (*sip_transport_msg_fn)(void *arg, const char *raw, size_t len,
				     const struct sip_msg *m, const struct sip_dest *src);

/* A connection that a send opened failed (refused, unreachable, timed out, TLS handshake
 * failed: <err>, a -errno) before it was up — the messages that waited on it are lost —, or
 * went down once up (the peer closed or reset it: what was sent on it gets no answer
 * there). <dst> is the connection as sip_transport_conn_for() named it (address, kind,
 * conn_id). Once per connection. Must not free the transport; may send (a new
 * connection). */
typedef void (*sip_transport_error_fn)(void *arg, const struct sip_dest *dst, int err);

/* Messages by method and status, each way, for /metrics. Requests by method: slot
 * method - 1 (INVITE ... PUBLISH, then other); responses by code: the common codes of
 * sip_transport_code_names, the others by their class ("1xx" ... "6xx"). */
#define SIP_TP_METHODS (SIP_M__COUNT - 1)
#define SIP_TP_CODES 24
extern const char *const sip_transport_method_names[SIP_TP_METHODS]; /* "INVITE" ... "other" */
extern const char *const sip_transport_code_names[SIP_TP_CODES];     /* "100" ... "6xx" */
unsigned sip_transport_code_slot(int code);

/* Counters of one transport (plain integers: its worker writes them). */
struct sip_transport_stats {
	uint64_t udp_rx;           /* datagrams parsed and handed up */
	uint64_t udp_bad;          /* datagrams that did not parse: dropped */
	uint64_t tcp_rx;           /* stream messages handed up (TCP and TLS) */
	uint64_t keepalives;       /* keep-alive CRLFs (datagrams and stream reports) */
	uint64_t accepts;          /* TCP and TLS connections accepted */
	uint64_t accept_refused;   /* ... closed at once (no memory) */
	uint64_t closes;           /* connections gone, for any reason (failed connects too) */
	uint64_t stream_errors;    /* connections closed for a bad stream */
	uint64_t tx;               /* messages sent or queued */
	uint64_t tx_errors;        /* sends refused (the -errno went to the caller) */
	uint64_t tx_notconn;       /* ... of which no connection and no address to open one */
	uint64_t connects;         /* outbound connections up (TLS: handshake done) */
	uint64_t connect_failures; /* ... that failed before, refused at once included */
	uint64_t tls_accepts;      /* accepted TLS connections whose handshake is done */
	uint64_t idle_closed;      /* connections closed for lack of traffic */
	uint64_t slow_head;        /* ... cut off with a message's head unfinished at the
				    * engine's frame deadline (slowloris) */
	uint64_t slow_body;        /* ... with its body unfinished (Content-Length trickled) */
	/* [0]: received (parsed, handed up), [1]: sent (what tx counts: sent or queued), each
	 * message once: retransmissions count again, keep-alives and what did not parse not */
	uint64_t req_method[2][SIP_TP_METHODS];
	uint64_t resp_code[2][SIP_TP_CODES];
};

/* A transport on worker <w> with the worker's parser settings <pcfg> (which must outlive
 * it). <on_msg>(<arg>, ...) gets every message. NULL when out of memory. */
struct sip_transport *sip_transport_new(eng_worker *w, const struct sip_parse_cfg *pcfg,
					sip_transport_msg_fn on_msg, void *arg);

/* TLS contexts (eng_tls_ctx_new; owned by the caller, shared by the workers, outliving <t>):
 * <server> for "tls:" listeners, <client> for the TLS connections sends open. Either may
 * be NULL (then no TLS listener, resp. no outbound TLS: -EPROTONOSUPPORT). Call before
 * sip_transport_listen() and the first send. */
void sip_transport_set_tls(struct sip_transport *t, eng_tls_ctx *server, eng_tls_ctx *client);

/* <fn>(<arg>, ...) hears of failed outbound connections (see sip_transport_error_fn).
 * NULL: they are only counted. */
/* Messages that did not parse but can be answered (m->replyable: a request whose Via, From,
 * To, Call-ID and CSeq are usable) go to <fn> with m->err and m->err_status set, so that
 * the caller answers 400 (413, 505) statelessly; on a stream the connection closes after
 * it. The others are only counted. NULL: none (the default). */
void sip_transport_set_bad_cb(struct sip_transport *t, sip_transport_msg_fn fn, void *arg);
void sip_transport_set_error_cb(struct sip_transport *t, sip_transport_error_fn fn, void *arg);

/* Closes connections (accepted and opened) after <ms> milliseconds without a byte in
 * either direction (0, the default: never); bytes still waiting to go out count as
 * traffic. Applies to the connections open now too. */
void sip_transport_set_idle(struct sip_transport *t, uint32_t ms);

/* Listens on <spec>: "udp:host:port", "tcp:host:port" or "tls:host:port" (numeric host, as
 * eng_parse_hostport: "127.0.0.1:5060", "[::1]:0", "*:5060"; "tls:" needs the server context
 * of sip_transport_set_tls, else -EINVAL). <reuseport> asks for SO_REUSEPORT (one socket per
 * worker on one address). Returns the port bound (> 0, useful with port 0), or -errno with
 * <err> filled. */
int sip_transport_listen(struct sip_transport *t, const char *spec, int reuseport, char *err,
			 size_t errlen);

/* Sends <len> bytes of <buf> (copied before it returns) to <dst>: struct sip_tp's send,
 * with <t> the struct sip_transport. dst->kind says which transport; <reliable> is not
 * needed. TCP and TLS open a connection when none is open (see above; no SNI). 0 (sent, or
 * queued on a connection still connecting), or -errno: -ENOBUFS when the connecting
 * connection's queue is full (or the engine's buffers ran out: the connection is then
 * closed, as part of the message may have been queued), -ENOTCONN when no connection
 * is open and dst->addr is no address, -EAFNOSUPPORT when no UDP socket of dst's family
 * listens, -EPROTONOSUPPORT for WS and for TLS without a client context, or what
 * eng_connect() refused at once (the error callback is not called then). */
int sip_transport_send(void *t, const char *buf, size_t len, const struct sip_dest *dst,
		       int reliable);

/* The same, with <sni> (NULL: none) the server name a new TLS connection asks for and,
 * when the client context verifies, checks the certificate against (RFC 3261 §26.3.1: the
 * host of the SIPS URI). Not used when a connection is open already. */
int sip_transport_send_named(struct sip_transport *t, const char *buf, size_t len,
			     const struct sip_dest *dst, const char *sni);

/* The connection (open or connecting) a send to <dst> would use now: its conn_id, or 0
 * when the send would open one (or <dst> is UDP). */
uint32_t sip_transport_conn_for(const struct sip_transport *t, const struct sip_dest *dst);

/* 1 when connection <conn_id> is open (or still connecting). */
int sip_transport_conn_open(const struct sip_transport *t, uint32_t conn_id);

const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *t);

/* From a worker's stop hook: its TCP/TLS listeners are the engine's to close (a drain has
 * closed and freed them already; the stop closes them right after the hooks), so
 * sip_transport_free() must not touch them. */
void sip_transport_engine_owns_listeners(struct sip_transport *t);

/* Closes the sockets and the connections (no on_msg after it) and frees <t>. */
void sip_transport_free(struct sip_transport *t);

#endif
