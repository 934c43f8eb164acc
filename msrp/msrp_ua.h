/* msrp_ua.h — the MSRP side of a user agent's session (RFC 4975 endpoint): one session per
 * SIP call, bound to one connection, sending whole messages in chunks and handing whole
 * received messages to its owner.
 *
 * What SIP and SDP decide is given: our URI (From-Path: a=path's last URI on our side, with
 * the session-id), the To-Path (our relays' Use-Paths, then the peer's a=path), and who
 * connects (RFC 6135 a=setup: active connects to the first URI of the To-Path, through the
 * worker's pool, and binds the session with an empty SEND; passive waits for the peer's
 * first request). Content types are the owner's: <accept> says what may come in (else 415).
 *
 * Receiving: the worker's MSRP connections hand requests whose To-Path ends at one of our
 * sessions to msrp_ua_head()/_body()/_end(): connections given wholly to the UA
 * (msrp_ua_conn_ops(), its pool's too), or — once the daemon runs user agents (issue 5) —
 * the relay's, which will dispatch to it. Chunks are reassembled
 * (msrp_reasm: out of order, duplicates, bounds → 413), answered hop by hop, Success-Report
 * honoured, REPORTs turned into <report> events.
 *
 * One worker's sessions, on its thread; no locks. The pool given to msrp_ua_new() carries
 * the UA as its udata (connections find their UA through it). Not in the daemon yet: a
 * library for the user agent to come. */
#ifndef MSRP_UA_H
#define MSRP_UA_H

#include "engine/eng.h"
#include "msrp/msrp-t.h"
#include "msrp/msrp_conn.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_sess.h"

struct msrp_ua;
struct msrp_ua_sess;
struct msrp_ua_in;
struct msrp_pool;

struct msrp_ua_cfg {
	uint32_t chunk_size;           /* body bytes per chunk sent (msrp.chunk_size) */
	struct msrp_reasm_cfg reasm;   /* bounds of what is reassembled (msrp.max_message ...) */
	/* A session that is not here may be found elsewhere (a cluster's takeover, issue 8):
	 * <may_find>(arg, id) says whether to look; then a SEND for it (a peer binding anew)
	 * is held (its body kept, up to MSRP_UA_HELD_MAX bytes) while <find>(arg, id, token)
	 * looks, and answered once msrp_ua_resume(token) says. NULL: 481 at once. */
	int (*may_find)(void *arg, cm_slice session_id);
	void (*find)(void *arg, const char *session_id, uint64_t token);
	void *find_arg;
};
#define MSRP_UA_HELD_MAX 65536
#define MSRP_UA_HELD_COUNT 1024        /* SENDs held at once, a worker (beyond: 481) */

struct msrp_ua_events {
	/* The session is bound to its connection: msrp_ua_send() goes out at once. */
	void (*ready)(struct msrp_ua_sess *s, void *arg);
	/* A whole message came; <m> is the callee's (msrp_reasm_msg_free()). */
	void (*message)(struct msrp_ua_sess *s, void *arg, struct msrp_reasm_msg *m);
	/* What became of a message we sent: 200 (the peer's success REPORT) or a failure
	 * code (an error response, a failure REPORT, 408 for a timeout, 503 for a lost
	 * connection). At most one failure per message. <range>: the REPORT's Byte-Range (the
	 * bytes it speaks of), NULL when the outcome came from no REPORT. */
	void (*report)(struct msrp_ua_sess *s, void *arg, const char *message_id, int status,
		       const struct msrp_range *range);
	/* The connection went, or binding failed (<err> -errno); the session is dead: close
	 * it. Never called from msrp_ua_close(). */
	void (*ended)(struct msrp_ua_sess *s, void *arg, int err);
	/* 1 when an incoming message of <content_type> is welcome (else 415); NULL: all. */
	int (*accept)(void *arg, cm_slice content_type);
	/* A chunk of message <message_id>, bytes <start>..<end> (1-based), was taken by the
	 * next hop (its 200; hop by hop: with a relay on the path, the relay's word). NULL:
	 * not told. */
	void (*acked)(struct msrp_ua_sess *s, void *arg, const char *message_id, uint64_t start,
		      uint64_t end);
	/* Message <message_id> was taken whole by the next hop: the 200 of its last chunk came
	 * (or, with Failure-Report: no, its last chunk went). Once per message, never with a
	 * failure report() for it before. NULL: not told. */
	void (*done)(struct msrp_ua_sess *s, void *arg, const char *message_id);
};

struct msrp_ua_sess_cfg {
	const char *local_uri;         /* ours, with the session-id; it goes in From-Path */
	const char *to_path;           /* URIs separated by one space, next hop first */
	int active;                    /* connect and bind (1), or wait for the peer (0) */
	/* active: 1 shares a connection open to the same authority (the peer said
	 * a=connection:existing), 0 opens one of the session's own (RFC 4145 "new"), closed
	 * with it — so that a peer that spreads sessions over workers or nodes, as rcsgw does,
	 * gets each on a connection it can hand to the session's owner */
	int share;
};

/* What a connection of the endpoint keeps for the UA (embedded by its owner, zeroed). */
struct msrp_ua_conn {
	struct msrp_sess_list sess;    /* our sessions bound to the connection */
	struct msrp_ua_in *in;         /* the request being received for one of them */
};

/* A worker's UA, on its thread. <pool> opens the connections of active sessions (its
 * connections' frames must reach msrp_ua_head() too: the relay's ops do that). */
struct msrp_ua *msrp_ua_new(eng_worker *w, struct msrp_worker *mw, struct msrp_pool *pool,
			    const struct msrp_ua_cfg *cfg);
/* Frees the UA; its sessions are closed (no events). */
void msrp_ua_free(struct msrp_ua *ua);
/* Closes the sessions (no events) and lets go of the connections (their owner pointers
 * cleared) but keeps <ua>: for a worker's stop, before its pool is freed (which calls back
 * the waiters and may fail transactions into <ua>); msrp_ua_free() once the worker is gone. */
void msrp_ua_stop(struct msrp_ua *ua);

/* Opens a session. NULL with *<err>: -EINVAL (a URI that does not parse, no session-id in
 * <local_uri>, empty To-Path), -EEXIST (that session-id is open), -ENOMEM. An active
 * session starts connecting at once; events come later from the loop. */
struct msrp_ua_sess *msrp_ua_open(struct msrp_ua *ua, const struct msrp_ua_sess_cfg *cfg,
				  const struct msrp_ua_events *ev, void *arg, int *err);
/* Sends a message (the body is copied). Queued until the session is ready. Its Message-ID:
 * <message_id> when it is not empty (an ident of at most MSRP_ID_MSGID_LEN characters, which
 * the caller checked), else one minted here and written into <message_id>. 0, -EINVAL (no content type for a body), -EPIPE (the
 * session ended), -ENOMEM. */
int msrp_ua_send(struct msrp_ua_sess *s, cm_slice content_type, const void *body, size_t len,
		 enum msrp_report success_report, enum msrp_report failure_report,
		 char message_id[MSRP_ID_MSGID_LEN + 1]);
/* msrp_ua_send() resuming (RFC 5547 a=file-range): <body> is the whole message of <len>
 * bytes, of which the first <skip> are the peer's already; its chunks start at byte <skip>
 * + 1 (-EINVAL when <skip> is <len> or more). */
int msrp_ua_send_from(struct msrp_ua_sess *s, cm_slice content_type, const void *body,
		      size_t len, uint64_t skip, enum msrp_report success_report,
		      enum msrp_report failure_report, char message_id[MSRP_ID_MSGID_LEN + 1]);
/* A message of the session that did not come whole (its connection broke): its bytes from
 * the first on, for a resumed transfer (msrp_reasm_take_prefix()). 1 (in <out>, *<total>
 * its announced size), 0 (none). */
int msrp_ua_take_partial(struct msrp_ua_sess *s, struct msrp_reasm_msg *out, uint64_t *total);
/* The next message of <s> of <total> bytes begins with the <len> bytes at <data> (taken):
 * msrp_reasm_seed(). */
int msrp_ua_seed(struct msrp_ua_sess *s, void *data, uint64_t len, uint64_t total);
/* A seed no message took (msrp_reasm_take_seed()): 1 or 0. */
int msrp_ua_take_seed(struct msrp_ua_sess *s, void **data, uint64_t *len, uint64_t *total);
/* 1 when the session connects and binds (a=setup active for us), 0 when it waits. */
int msrp_ua_active(const struct msrp_ua_sess *s);
/* 1 when bound. */
int msrp_ua_ready(const struct msrp_ua_sess *s);
/* A failure REPORT (RFC 4975 §7.1.2) for message <message_id> of <len> bytes that <s>
 * received and took (200) but could not deliver further (a gateway's onward hop failed):
 * Status 000 <code>, along the session's To-Path; nothing when <failure_report> (what the
 * sender asked) says no. 0 or -errno (-EPIPE: the session is over or unbound). */
int msrp_ua_report_failure(struct msrp_ua_sess *s, const char *message_id, uint64_t len,
			   enum msrp_report failure_report, int code);
/* Messages of <s> not handed to the connection yet (waiting for the binding), or -EBUSY when
 * the connection's send queue is above the engine's high watermark (the peer does not keep
 * up): what a caller that accepts messages checks before taking one more. */
int msrp_ua_backlog(const struct msrp_ua_sess *s);
/* Closes the session: messages not yet sent (it never became ready) are told failed with
 * 503 through the report event when their Failure-Report asks for failures, then dropped;
 * the connection stays for others. */
void msrp_ua_close(struct msrp_ua_sess *s);

/* ---- dispatch from the endpoint's connections ---------------------------------------- */

/* 1 when <session_id> is one of our sessions, or one cfg.may_find wants looked for. */
int msrp_ua_owns(const struct msrp_ua *ua, cm_slice session_id);
/* The search for the session of held SEND <token> is over: <found> 1 when the session is
 * here now (opened passive, waiting for its connection: the SEND's connection becomes its
 * own and the SEND goes on as if it had just come), else 481. A token whose connection
 * went meanwhile is nothing. */
void msrp_ua_resume(struct msrp_ua *ua, uint64_t token, int found);
/* A request on <mc> (whose UA state is <uc>) whose To-Path is one URI of ours: answered
 * here (481, 506, 415 …) or taken (its body and end must follow with the same <uc>). */
void msrp_ua_head(struct msrp_ua *ua, struct msrp_conn *mc, struct msrp_ua_conn *uc,
		  const struct msrp_msg *m);
void msrp_ua_body(struct msrp_ua_conn *uc, cm_slice body);
void msrp_ua_end(struct msrp_ua_conn *uc, enum msrp_flag flag);
/* <mc> is gone: its sessions end (<ended> events), the request being received is dropped. */
void msrp_ua_conn_closed(struct msrp_ua *ua, struct msrp_ua_conn *uc, int err);

/* Ops for connections given wholly to the UA (no relay): udata = the UA. */
const struct msrp_conn_ops *msrp_ua_conn_ops(void);

struct msrp_ua_stats {
	uint64_t opened, closed, ended, bound;
	uint64_t msgs_out, chunks_out, msgs_in, chunks_in;
	uint64_t answered_415, answered_413, answered_400, answered_481, answered_506;
	uint64_t held;                 /* SENDs held while their session was looked for */
	uint64_t reports_in, success_reports_out, failures;
	/* messages refused 413 by a bound of the reassembly: max_message, max_chunks */
	uint64_t too_big, too_many_chunks;
	uint64_t incomplete;           /* messages to us begun and never finished: dropped with
					* their session (its connection went mid-message) */
};
const struct msrp_ua_stats *msrp_ua_stats(const struct msrp_ua *ua);

#endif
