/* sip_txn.h — the SIP transaction layer (RFC 3261 §17), one per engine worker.
 *
 * It sits between a transport (below, given as struct sip_tp) and the transaction user
 * (above, struct sip_tu): it matches messages to transactions by the top Via branch
 * (§17.1.3, §17.2.3; only branches with the magic cookie "z9hG4bK" are compared as
 * RFC 3261 asks, the RFC 2543 fallback of §17.2.3 is not done: a request with an old-style
 * branch is matched by that branch string alone, and one with no branch never matches),
 * runs the four state machines of §17.1.1, §17.1.2, §17.2.1 and §17.2.2 with their timers
 * on the worker's wheel, retransmits on unreliable transports only (§17.1.1.2: timer A
 * doubles without bound, E and G up to T2) and absorbs retransmissions.
 *
 * Not done here: CANCEL (§9.2) is an ordinary non-INVITE server transaction of its own; the
 * TU finds the INVITE with sip_txn_find_invite(). The RFC 6026 "Accepted" states are not
 * kept: a 2xx ends an INVITE transaction on both sides, as RFC 3261 says, and the 2xx's
 * retransmissions and its ACK belong to the TU (on_response with no transaction, on_ack).
 * Responses go back to the destination the request came from (the transport applies
 * §18.2.2 / RFC 3581 when it fills struct sip_dest).
 *
 * Threads: everything is called on the owning worker's thread. Callbacks are never made
 * from inside a call the TU made (sip_txn_request, sip_txn_respond): those report by their
 * return value. */
#ifndef SIP_TXN_H
#define SIP_TXN_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/cm_hist-t.h"
#include "engine/eng-t.h"
#include "sip/sip-t.h"

/* ---- the transport below -------------------------------------------------------------- */

enum sip_tp_kind {
	SIP_TP_UDP = 0,            /* unreliable: the transaction layer retransmits */
	SIP_TP_TCP,
	SIP_TP_TLS,
	SIP_TP_WS,                 /* RFC 7118 (WS and WSS) */
};

/* Where a message goes or came from, as the transport knows it. Copied by value into
 * each transaction; the transaction layer reads kind only. */
struct sip_dest {
	struct sockaddr_storage addr;  /* the peer */
	socklen_t addrlen;
	uint8_t kind;              /* enum sip_tp_kind */
	uint32_t conn_id;          /* reliable transports: the connection (0: any / open one) */
	uint16_t worker;           /* the worker whose transport holds conn_id (set by the TU
				    * that routes messages between workers; transports ignore it) */
};

/* The kind proper, in the low bits: the TU may flag a dest in the others (how it goes). */
#define SIP_TP_KIND_MASK 0x0f

static inline int sip_dest_reliable(const struct sip_dest *d)
{
	return (d->kind & SIP_TP_KIND_MASK) != SIP_TP_UDP;
}

struct sip_tp {
	/* Sends <len> bytes of <buf> (copied before it returns) to <dst>; <reliable> says
	 * whether the transport is one. 0, or -errno: the transaction ends with a transport
	 * error (§17.1.4, §17.2.4). */
	int (*send)(void *arg, const char *buf, size_t len, const struct sip_dest *dst,
		    int reliable);
	void *arg;
};

/* ---- the transaction user above ------------------------------------------------------ */

struct sip_txn;

struct sip_tu {
	/* A new request made server transaction <st> (not ACK). The TU answers through
	 * sip_txn_respond(), now or later. <st> is NULL when the layer is full (counted in
	 * refused): the TU answers with sip_txn_reply_stateless(), 503 by choice. <req> and
	 * its slices are valid during the call only. */
	void (*on_request)(void *arg, struct sip_txn *st, const struct sip_msg *req,
			   const struct sip_dest *src);
	/* A response for client transaction <ct> (whose TU context is <ctx>): provisional
	 * (then more may come) or final (then <ct> is gone for the TU: it must not use it
	 * again). <resp> NULL with <status> 408 when timer B or F fired, 503 on a transport
	 * error. A response that matches no transaction (retransmitted 2xx to an INVITE, for
	 * one) comes with <ct> and <ctx> NULL. */
	void (*on_response)(void *arg, struct sip_txn *ct, void *ctx, int status,
			    const struct sip_msg *resp);
	/* Server transaction <st> ended without the peer: 408 when timer H fired (no ACK
	 * for a final non-2xx response to an INVITE) or when the TU gave no final response
	 * within 64*T1 (non-INVITE: the client gave up by then) or proceeding_ms (INVITE);
	 * 503 on a transport error of a retransmission or of the 100 Trying. <st> is gone
	 * after the call. May be NULL. */
	void (*on_server_error)(void *arg, struct sip_txn *st, void *ctx, int status);
	/* An ACK that matches no transaction: the ACK of a 2xx, which belongs to its dialog. */
	void (*on_ack)(void *arg, const struct sip_msg *ack, const struct sip_dest *src);
	void *arg;
};

/* ---- configuration and counters ------------------------------------------------------ */

struct sip_txn_cfg {
	uint32_t t1_ms;            /* RTT estimate, 500 */
	uint32_t t2_ms;            /* longest retransmission interval, 4000 */
	uint32_t t4_ms;            /* a message's lifetime in the network, 5000 */
	uint32_t timer_d_ms;       /* INVITE client Completed on unreliable transports,
				    * 32000 (at least 32 s by §17.1.1.2) */
	uint32_t trying_ms;        /* INVITE server: 100 Trying when the TU has not answered
				    * within this, 200 (§17.2.1); 0: at once, before on_request */
	uint32_t proceeding_ms;    /* INVITE client in Proceeding and INVITE server before its
				    * final response: the longest wait (a bound of ours,
				    * 180000), then 408 */
	uint32_t max_txns;         /* transactions of this worker, client and server */
	uint32_t max_msg;          /* largest message kept or written, 65535 */
};

struct sip_txn_stats {
	uint64_t client_created;
	uint64_t server_created;
	uint64_t refused;          /* no room: requests the TU answered statelessly, and
				    * sip_txn_request() calls that got -EBUSY */
	uint64_t retransmitted;    /* requests (A, E) and responses (G, retransmitted requests
				    * answered) sent again */
	uint64_t absorbed;         /* retransmissions received and not passed to the TU */
	uint64_t timeouts;         /* B, F, H and the Proceeding bound */
	uint64_t tp_errors;
	uint64_t acks_sent;        /* ACKs to non-2xx final responses (§17.1.1.3) */
	uint64_t stray_acks;       /* ACKs given to the TU (on_ack) */
	uint64_t stray_responses;  /* responses matching no transaction */
	uint64_t dropped;          /* messages without a usable top Via or CSeq (requests
				    * whose Via has no RFC 3261 branch among them: answered
				    * 400) */
	uint32_t active;           /* transactions alive now */
	/* client transactions from their request's first send to its first final response
	 * (time-outs and transport errors left out): INVITEs (call set-up), the others */
	struct cm_hist invite_setup, non_invite;
};

struct sip_txn_layer;

/* Fills <cfg> with the RFC 3261 defaults and 4096 transactions. */
void sip_txn_cfg_default(struct sip_txn_cfg *cfg);

/* A layer for worker <w> with copies of <cfg>, <tp> and <tu>; every transaction slot is
 * allocated now (no allocation per transaction but the copies of its messages). NULL on
 * ENOMEM or a bad config (t1 0, t2 < t1, max_txns 0). Owner's thread only. */
struct sip_txn_layer *sip_txn_layer_new(eng_worker *w, const struct sip_txn_cfg *cfg,
					const struct sip_tp *tp, const struct sip_tu *tu);

/* Frees <l> and every transaction still alive (their timers cancelled, no callback). */
void sip_txn_layer_free(struct sip_txn_layer *l);

const struct sip_txn_stats *sip_txn_layer_stats(const struct sip_txn_layer *l);

/* ---- input from the transport --------------------------------------------------------- */

/* Gives the layer a message that the transport parsed without error: <m> parsed from
 * exactly <raw>[0..<rawlen>) (a datagram, or the bytes sip_stream_parse() consumed),
 * received from <src>. Requests: a retransmission is absorbed (the last response sent
 * again), an ACK goes to its INVITE transaction or to on_ack, a new request opens a server
 * transaction and goes to on_request. Responses go to their client transaction, or to
 * on_response without one. 0 when handled, -EINVAL when dropped (no top Via or CSeq). */
int sip_txn_input(struct sip_txn_layer *l, const char *raw, size_t rawlen,
		  const struct sip_msg *m, const struct sip_dest *src);

/* ---- client transactions -------------------------------------------------------------- */

/* Writes a new branch ("z9hG4bK" and 80 random bits) into <buf> with a NUL. Its length,
 * -ENOSPC, or -errno of getrandom(2). */
int sip_txn_branch(char *buf, size_t cap);

/* Starts a client transaction for the request <buf>[0..<len>) (written by the TU, its top
 * Via carrying a branch of sip_txn_branch()), copies it and sends it to <dst>. <ctx> comes
 * back in on_response. 0 with *<out> (may be NULL), or -EINVAL (not a request, ACK, no
 * branch, a branch already in use), -EBUSY (max_txns, counted in refused), -ENOMEM, or
 * the transport's -errno (no transaction then). */
int sip_txn_request(struct sip_txn_layer *l, const char *buf, size_t len,
		    const struct sip_dest *dst, void *ctx, struct sip_txn **out);

/* The connection to <dst> failed or went down (the transport's error callback): each
 * client transaction sent that way and still without any response ends now with a 503 to
 * the TU (RFC 3261 §8.1.3.1, §17.1.4: a transport error), not at timer B or F. A
 * transaction bound to another connection (dst conn_id) is left alone. How many ended. */
unsigned sip_txn_transport_failed(struct sip_txn_layer *l, const struct sip_dest *dst);

/* ---- server transactions -------------------------------------------------------------- */

/* Sends response <status> to the request of server transaction <st> (built by
 * sip_write_response_from(): <reason> empty for the standard phrase, <to_tag> added to To
 * when it has none and status > 100, <extra> headers, <body>). A final response moves
 * <st> on (Completed, or ended for a 2xx to an INVITE or on reliable transports); the TU
 * must not use <st> after a final response. 0, -EINVAL (<st> already answered finally,
 * status out of range), -ENOSPC (bigger than max_msg), or the transport's -errno (then
 * <st> is gone, counted in tp_errors). */
int sip_txn_respond(struct sip_txn *st, int status, cm_slice reason, cm_slice to_tag,
		    const struct sip_hdr *extra, unsigned n, cm_slice body);

/* Answers <req> from <src> without a transaction (the refusal of on_request with NULL,
 * a 400 to a malformed request that is m->replyable). 0 or -errno. */
int sip_txn_reply_stateless(struct sip_txn_layer *l, const struct sip_msg *req,
			    const struct sip_dest *src, int status, cm_slice to_tag);

/* The server INVITE transaction that a CANCEL server transaction <cancel_st> targets
 * (§9.2: the same branch and sent-by), or NULL (then the TU answers the CANCEL 481). */
struct sip_txn *sip_txn_find_invite(struct sip_txn_layer *l, const struct sip_txn *cancel_st);

/* ---- both ------------------------------------------------------------------------------ */

void sip_txn_set_ctx(struct sip_txn *t, void *ctx);
void *sip_txn_ctx(const struct sip_txn *t);
enum sip_method sip_txn_method(const struct sip_txn *t);

#endif
