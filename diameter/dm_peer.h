/* dm_peer.h — one Diameter peer connection on a worker (issue 9): the capabilities exchange
 * (RFC 6733 §5.3), the watchdog (RFC 3539: a DWR after Tw of silence, Tw with ±2 s of
 * jitter; no answer within Tw: suspect, the requests that have another peer to go to given
 * back for failover; another Tw of silence: down, the connection closed), the
 * disconnection (§5.4: DPR, DPA), requests sent and their answers matched by Hop-by-Hop
 * Identifier (each with its deadline), requests received handed to the owner, and any
 * malformed message answered as dm_check says (a stream that can no longer be framed is
 * closed). The routing over several peers, failover and reconnection sit above it
 * (diameter/dm_node.h).
 *
 * On its worker's thread. */
#ifndef DM_PEER_H
#define DM_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_hist-t.h"
#include "diameter/dm_dict.h"
#include "diameter/dm_msg.h"
#include "engine/eng.h"

enum dm_peer_state {
	DM_PEER_CONNECTING = 0,        /* initiator: the TCP connection opening */
	DM_PEER_WAIT_CEA,              /* initiator: CER sent */
	DM_PEER_WAIT_CER,              /* responder: the connection accepted */
	DM_PEER_OPEN,
	DM_PEER_SUSPECT,               /* RFC 3539: a DWR unanswered for Tw (its requests given
	                                * back for failover, cfg.failover); any message from it:
	                                * open again, another Tw of silence: closed */
	DM_PEER_CLOSING,               /* DPR sent, waiting for its DPA */
	DM_PEER_CLOSED,                /* the connection is gone (the owner frees the peer) */
};
const char *dm_peer_state_name(enum dm_peer_state s);

struct dm_peer;

/* Messages by command and by Result-Code, each way, and the round trips of requests, for
 * /metrics: one set kept by the owner of the peers (the node), counted by each peer
 * (dm_peer_cfg.traffic). Commands: the built-in dictionary's (dm_dict_builtin_cmd), then
 * any other; answers' results by class: 1xxx ... 5xxx, an Experimental-Result, none. */
#define DM_TRAFFIC_CMDS (DM_DICT_BUILTIN_CMDS + 1)
#define DM_TRAFFIC_RESULTS 7
extern const char *const dm_traffic_result_names[DM_TRAFFIC_RESULTS]; /* "1xxx" ... "none" */
/* The slot of command <code> (DM_TRAFFIC_CMDS - 1: other). */
unsigned dm_traffic_cmd_slot(uint32_t code);
struct dm_traffic {
	uint64_t requests[2][DM_TRAFFIC_CMDS];   /* [0]: received, [1]: sent */
	uint64_t answers[2][DM_TRAFFIC_CMDS];
	uint64_t results[2][DM_TRAFFIC_RESULTS]; /* the answers by their Result-Code */
	struct cm_hist rtt;    /* requests sent (dm_peer_request, _resend) to their answers */
};

struct dm_peer_cfg {
	const char *origin_host, *origin_realm;
	const char *product;           /* Product-Name */
	uint32_t vendor_id;
	const uint32_t *auth_apps;     /* Auth-Application-Ids advertised */
	unsigned nauth;
	uint32_t tw_ms;                /* watchdog: 0 is 30 000 (RFC 3539's default) */
	uint32_t cer_timeout_ms;       /* CEA / CER wait: 0 is 10 000 */
	const struct dm_dict *dict;
	const struct dm_limits *lim;   /* NULL: the defaults */
	/* the peer's state changed (CLOSED last: then free it, not inside the call) */
	void (*state)(void *arg, struct dm_peer *p, enum dm_peer_state st);
	/* a CER came (its Origin-Host in dm_peer_host(), Origin-Realm in dm_peer_realm()): the
	 * Result-Code of the CEA, DM_RC_SUCCESS to let it in, 3010 (DIAMETER_UNKNOWN_PEER)
	 * or another to refuse it (then closed). NULL: every peer is let in */
	uint32_t (*admit)(void *arg, struct dm_peer *p);
	/* the peer turned suspect: 1 when the request sent with <req_arg> (dm_peer_request's
	 * <arg>) has another peer to go to — it is then ended with -ECONNRESET; 0 keeps it
	 * waiting here for its answer. NULL: every request is ended */
	int (*failover)(void *arg, struct dm_peer *p, void *req_arg);
	/* an application request, well formed (the owner answers it with dm_peer_send) */
	void (*request)(void *arg, struct dm_peer *p, const uint8_t *msg, size_t len);
	void *arg;
	/* where messages are counted: every one sent, every one received well formed (the
	 * malformed are counted apart), control messages included. NULL: not counted */
	struct dm_traffic *traffic;
	/* where connections cut off at the engine's frame deadline (a message begun and not
	 * whole after engine.frame_timeout: a slowloris) are counted; the owner's, on the
	 * peer's worker, outliving the peer. NULL: not counted */
	uint64_t *slow_frames;
};

/* Connects to <hostport> as initiator; the CER goes once connected. NULL: out of memory,
 * or the address is not numeric. */
struct dm_peer *dm_peer_connect(eng_worker *w, const char *hostport, const struct dm_peer_cfg *cfg);
/* Takes accepted connection <c> as responder (it waits for the CER). */
struct dm_peer *dm_peer_accept(eng_conn *c, const struct dm_peer_cfg *cfg);

/* The answer to a request sent: <status> 0 with the answer's bytes, or -ETIMEDOUT (none by
 * its deadline), -ECONNRESET (the connection went first, or the peer became suspect: the
 * request may be sent again elsewhere), -ECANCELED (freed). Once. */
typedef void (*dm_answer_fn)(void *arg, int status, const uint8_t *ans, size_t len);
/* Sends request <msg> (<len> bytes, written: its Hop-by-Hop and End-to-End Identifiers are
 * set here); its answer or its end comes to <fn>. 0, or -ENOTCONN (not open), -EINVAL (not
 * a request), -ENOMEM. */
int dm_peer_request(struct dm_peer *p, uint8_t *msg, size_t len, uint32_t timeout_ms,
		    dm_answer_fn fn, void *arg);
/* The same for a request sent before through another peer (failover, RFC 6733 §5.5.4): its
 * End-to-End Identifier kept, a new Hop-by-Hop one, the T flag set. */
int dm_peer_resend(struct dm_peer *p, uint8_t *msg, size_t len, uint32_t timeout_ms,
		   dm_answer_fn fn, void *arg);
/* Sends <msg> as it is (an answer). 0 or -errno. */
int dm_peer_send(struct dm_peer *p, const uint8_t *msg, size_t len);
/* Ends the connection politely: a DPR with <cause> (Disconnect-Cause), the close when its
 * DPA comes (or after the CER timeout). */
void dm_peer_disconnect(struct dm_peer *p, uint32_t cause);
/* Frees <p>, its connection closed now; requests waiting told -ECANCELED. */
void dm_peer_free(struct dm_peer *p);

enum dm_peer_state dm_peer_state(const struct dm_peer *p);
/* The peer's Origin-Host and Origin-Realm from its CER or CEA ("" before). */
const char *dm_peer_host(const struct dm_peer *p);
const char *dm_peer_realm(const struct dm_peer *p);
/* 1 when the peer advertised application <app_id> (or is a relay, or named none). */
int dm_peer_has_app(const struct dm_peer *p, uint32_t app_id);
/* Requests of ours waiting for their answers. */
unsigned dm_peer_pending(const struct dm_peer *p);

struct dm_peer_stats {
	uint64_t requests_out, answers_in, timeouts, requests_in, answers_out;
	uint64_t dwr_out, dwa_in, dwr_in, malformed, unanswered_closes, suspects;
};
void dm_peer_stats(const struct dm_peer *p, struct dm_peer_stats *out);

#endif
