/* msrp_relay.h — the MSRP relay of RFC 4976 on one worker: AUTH with HTTP Digest, the
 * sessions it hands out (Use-Path), and the forwarding of SEND and REPORT between clients,
 * other relays and endpoints.
 *
 * Who talks to whom. A client opens a connection to the relay and AUTHs; the 200 carries a
 * Use-Path "msrp://<relay>:<port>/<session-id>;tcp" whose session-id is minted on this
 * worker (it carries the shard, msrp_id.h). The client puts that URI in front of its own in
 * its SDP path. Then, for a request whose To-Path starts with one of our session URIs:
 *
 *   - it came on the connection that AUTHed that session: outbound, from our client. The
 *     next URI of To-Path is the next hop: another session of ours (the same relay on both
 *     sides: handled in place), or a peer reached through the connection pool;
 *   - it came on any other connection: inbound, for our client. Exactly one URI must be
 *     left after ours (the client's); it goes over the connection the client AUTHed on
 *     (RFC 4976: the client may sit behind a NAT). More URIs: 403 (only the authenticated
 *     connection may send on through its session).
 *
 * The relay takes its URI off the front of To-Path and puts it at the front of From-Path,
 * touches nothing else, answers the previous hop itself (Failure-Report rules), and turns
 * an error or a timeout of the next hop into a failure REPORT back to the From-Path (RFC
 * 4975 §7.1.2, Status "000 <code>"). Unknown session: 481. Chunks with bodies above
 * max_fwd_chunk are re-chunked (same Message-ID, Byte-Ranges that add up, '+' on all but the
 * last piece, which keeps the original flag).
 *
 * Bodies are not copied on the way from a TCP/TLS connection to another TCP/TLS connection
 * of the same worker (the receive buffers are referenced by the send queue). A request for a
 * session of another worker crosses to it through its mailbox (copied once). Frames to
 * WebSocket clients are assembled into one WebSocket message each (RFC 7977). */
#ifndef MSRP_RELAY_H
#define MSRP_RELAY_H

#include <stdint.h>

#include "common/cm_slice-t.h"
#include "engine/eng.h"
#include "msrp/msrp_auth.h"
#include "msrp/msrp_conn.h"
#include "msrp/msrp_sess.h"

struct msrp_relay_shared;
struct msrp_relay;
struct msrp_pool;
struct msrp_creds_src;
struct msrp_egress;

struct msrp_relay_cfg {
	const char *realm;
	uint32_t nonce_ttl_s;
	const struct msrp_creds *creds;    /* the credentials file (may be empty) */
	int have_creds;                    /* some source of credentials is configured */
	uint32_t max_auth_failures;
	uint32_t min_expires_s, max_expires_s, default_expires_s;
	const char *public_host;           /* "" = the local address of the connection */
	uint32_t max_sessions;             /* per worker */
	uint32_t max_per_user, max_per_ip; /* all workers */
	uint64_t max_fwd_chunk;            /* 0: never re-chunk */
};

struct msrp_relay_stats {
	uint64_t auth_challenged, auth_ok, auth_failed, auth_stale, auth_bad, auth_refused,
		auth_423, auth_limited, auth_no_creds, auth_forwarded;
	/* auth_limited by the limit that refused: max_sessions (of the worker), per user, per IP */
	uint64_t limited_sessions, limited_user, limited_ip;
	uint64_t sessions, sessions_expired;
	uint64_t fwd_requests, fwd_local, fwd_cross_out, fwd_cross_in, fwd_pool, fwd_bytes;
	uint64_t rechunked;                /* pieces beyond the first of split chunks */
	uint64_t refused_481, refused_403, refused_400;
	uint64_t next_hop_errors, next_hop_timeouts, reports_sent, reports_lost;
	uint64_t queued;                   /* frames that waited for a busy destination */
	uint64_t cross_dropped;            /* mailbox full: the request failed (REPORT) */
	uint64_t handed_out, handed_in;    /* connections moved to their session's worker */
	uint64_t resumed, resume_refused;  /* sessions bound again after their node died (issue 8) */
	/* pieces sent to the node that owns their session, taken from other nodes, that came
	 * to nothing (no answer, no such session there, not sent), that did not decode */
	uint64_t fwd_node_out, fwd_node_in, node_failed, node_malformed;
	uint64_t aborted;                  /* frames cut by their sender's going: ended '#' */
};

/* Process-wide part (read-only after creation, plus the per-user / per-IP counters):
 * made by main before the workers start, freed after they stop. */
struct msrp_relay_shared *msrp_relay_shared_new(const struct msrp_relay_cfg *cfg,
						eng_engine *e, char *err, size_t errlen);
void msrp_relay_shared_free(struct msrp_relay_shared *sh);

/* A port the relay listens on (its URIs carry it): the endpoint tells each one it bound.
 * Any thread. */
void msrp_relay_note_port(struct msrp_relay_shared *sh, int port);

/* The worker's relay, on its thread: <mw> is the worker's MSRP context (shared with the
 * endpoint's listeners), <pool> its outbound connections (opened with msrp_relay_ops() and
 * the relay as udata; may be NULL: no forwarding to peers), <creds> its credential
 * sources (may be NULL: the file of the config alone). */
struct msrp_relay *msrp_relay_new(struct msrp_relay_shared *sh, eng_worker *w,
				  struct msrp_worker *mw);
void msrp_relay_set_pool(struct msrp_relay *r, struct msrp_pool *pool);
void msrp_relay_set_creds(struct msrp_relay *r, struct msrp_creds_src *creds);
/* A reload (SIGHUP): the credentials file is <file> from now on (its sources' too), and
 * <have> says whether any source is configured. <file> must stay until the next call. */
void msrp_relay_set_file(struct msrp_relay *r, const struct msrp_creds *file, int have);
/* Next hops of peers chosen by <egress> (rules, hook); NULL: every URI's own host. */
void msrp_relay_set_egress(struct msrp_relay *r, struct msrp_egress *egress);
/* The worker's user agent: requests whose To-Path is one URI naming one of its sessions go to
 * it (msrp_ua_head/_body/_end), on the connection they came on; a connection whose first frame
 * is for a user-agent session of another worker is handed to that worker. NULL: none. */
struct msrp_ua;
void msrp_relay_set_ua(struct msrp_relay *r, struct msrp_ua *ua);
/* The cluster (issue 8): the relay's sessions (bindings) are told to the node's
 * replication, which writes them to Redis while they live (so that another node can take
 * one over) and lets them go when they end.
 *
 * A client whose connection went with its node (killed) binds again on another node of the
 * cluster by AUTHing there with To-Path naming the URI it was given (the session-id in it):
 * once the Digest is good, <resume> is asked to take that session over from Redis (its
 * owner dead, the same user); when it says yes, the session is this connection's with the
 * same URI, so the paths in the peers' SDP stay good (the nodes share relay.public_host).
 * Otherwise the client gets a new session, as on any AUTH (RFC 4976). */
struct msrp_relay_binding {
	char sid[MSRP_SESS_ID_MAX + 1];
	const char *user;              /* valid until the relay next runs */
	uint64_t expires_ms;           /* wall clock */
};
typedef void (*msrp_relay_resumed_fn)(struct msrp_relay *r, uint64_t token, int ok);
struct msrp_relay_repl {
	void (*changed)(void *arg, const char *sid);   /* a session made (or made again) */
	void (*over)(void *arg, const char *sid);      /* a session gone (expired, closed) */
	/* take <sid> of <user> over: 0, then msrp_relay_resumed(r, <token>, ok) once, later
	 * (never inside this call); -errno: not tried (a new session is made) */
	int (*resume)(void *arg, const char *sid, const char *user, uint64_t token);
	void *arg;                     /* NULL: none */
};
/* On the worker's thread; NULL unplugs (before the replication goes). */
void msrp_relay_set_repl(struct msrp_relay *r, const struct msrp_relay_repl *h);
/* What the record of session <sid> holds. 0, or -ENOENT (not a session of this worker). */
int msrp_relay_binding(const struct msrp_relay *r, const char *sid,
		       struct msrp_relay_binding *out);
/* Session <sid> is another node's now (the cluster's write of it was fenced): dropped here
 * (its client binds again where it is). 0 or -ENOENT. */
int msrp_relay_drop(struct msrp_relay *r, const char *sid);
/* The answer to <resume>. */
void msrp_relay_resumed(struct msrp_relay *r, uint64_t token, int ok);

/* Cross-node routing (issue 8): a request for the client of a session of the cluster that
 * no worker here holds (its peer reached this node, its client another) goes to the node
 * that owns it, in pieces of at most 64 KiB, each a request to that node's worker of the
 * same index (the nodes run as many workers); the previous hop's 200 waits for the first
 * piece's answer, and the source is paused while its pieces wait (as across workers).
 * Failure REPORTs that the owner sends later come back to the connection the request came
 * on. Nodes of a cluster run the same build (the pieces are this relay's own layout). */
#define MSRP_RELAY_NODE_MAX 64
struct msrp_relay_fwd {
	/* piece <data> (<len> bytes, valid during the call) for session <sid> to the node
	 * that owns it, its worker <worker>: 0, then msrp_relay_piece_done(r, <token>,
	 * status) once, later — 200 (taken there), 481 (no such session: nobody owns it, its
	 * node is dead, or it is not there), 408 (no answer in time), 503 (it could not go);
	 * -errno: not sent (not called) */
	int (*piece)(void *arg, const char *sid, unsigned worker, const void *data, size_t len,
		     uint64_t token);
	/* <data> (<len> bytes) for worker <worker> of node <node>: msrp_relay_report_in()
	 * there. 0 or -errno. */
	int (*report)(void *arg, const char *node, unsigned worker, const void *data,
		      size_t len);
	void *arg;                     /* NULL: none (481 for such requests) */
};
void msrp_relay_set_fwd(struct msrp_relay *r, const struct msrp_relay_fwd *h);
void msrp_relay_piece_done(struct msrp_relay *r, uint64_t token, int status);
/* On the owner: a piece from node <node>. 200 (taken for its session's client), 481 (no
 * such session here), 400 (it does not decode), 503 (out of memory). */
int msrp_relay_piece_in(struct msrp_relay *r, const char *node, const void *data, size_t len);
/* On the origin: what the owner's <report> sent. */
void msrp_relay_report_in(struct msrp_relay *r, const void *data, size_t len);

/* The worker stops: the relay's state of the pool's connections goes (call it before the
 * pool is freed, on the worker's thread). */
void msrp_relay_stop(struct msrp_relay *r);
/* Frees what is left once the worker's connections are gone. */
void msrp_relay_free(struct msrp_relay *r);

/* Ops of the connections the relay serves: accepted ones are made with them and the relay
 * as udata; the pool is made with them too (its connections carry the pool as udata and
 * get their relay state when they open). */
const struct msrp_conn_ops *msrp_relay_ops(void);

const struct msrp_relay_stats *msrp_relay_stats(const struct msrp_relay *r);
/* Sessions alive on this worker. */
uint32_t msrp_relay_sessions(const struct msrp_relay *r);

#endif
