/* gw_ua.h — the MSRP user agent (DESIGN.md §4): chat sessions that are SIP calls carrying
 * MSRP media, started, fed and ended by applications (REST, api/api_sessions.c), and
 * INVITEs from phones that become sessions offered to applications (events).
 *
 * One struct gw_ua per worker, on its thread: it owns the worker's SIP transport (sip.listen)
 * and transaction layer, and an MSRP user agent (msrp_ua) whose requests arrive through the
 * MSRP listeners (msrp_svc_set_ua). A session lives on one worker, named by an id minted for
 * that worker (msrp_id_session): the same id is the REST id, the MSRP session-id of our URI,
 * our SIP tag, and is inside our Call-IDs and Via branches, so that any SIP message about a
 * session is routed to its worker without a table (a message that reached another worker
 * crosses through the mailbox, once).
 *
 * Session states (the REST "state"):
 *   connecting   outgoing: INVITE sent, nothing heard yet; incoming: answered, MSRP not bound
 *   ringing      outgoing: a 180/183 came; incoming: offered to applications, not answered
 *   established  the MSRP session is bound: messages flow
 *   ending       BYE or CANCEL sent, waiting for its answer
 *   ended        over after being up (or cancelled): "ended_by" and "reason" say how
 *   failed       never came up: "sip_code" says why
 * Sessions that are over stay readable for GW_UA_LINGER_MS, then go.
 *
 * Events (through the publish callback, JSON objects with "type" and "session_id"):
 *   session.incoming, session.established, session.failed, session.ended,
 *   message.received, message.report, and from the RCS layer message.delivered,
 *   message.displayed, message.processed, message.failed (IMDNs, and failure REPORTs),
 *   composing.
 *
 * Return convention: operations for the API return 0 or an HTTP status (404, 409, 413, 415,
 * 503) with a message; everything else 0 or -errno. */
#ifndef GW_UA_H
#define GW_UA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_config-t.h"
#include "engine/eng.h"
#include "msrp/msrp_id.h"
#include "rcs/rcs_msg.h"

#define GW_UA_LINGER_MS 300000     /* an ended or failed session stays readable this long */
#define GW_UA_MAX_TYPES 16         /* accept-types of one session */
#define GW_UA_MAX_TYPES_LEN 511    /* bytes of them, joined by spaces */
#define GW_UA_MAX_URI 512          /* bytes of a From, To or Request-URI */
#define GW_UA_MAX_HDRS 2048        /* bytes of the extra headers of one INVITE */
#define GW_UA_MAX_HELD 1024        /* in-dialog requests held for takeovers at once, a worker */
#define GW_UA_ID_LEN MSRP_ID_SESSION_LEN

struct gw_ua;
struct gw_ua_shared;
struct msrp_svc;

/* Where events go: takes the reference to <ev> (api_event_publish). Any thread. */
typedef int (*gw_publish_fn)(json_t *ev);

/* The process-wide part, made on the main thread once the engine exists (before its
 * workers start): the configuration read into what the workers share (copied, but for the
 * dns.servers strings, which <cfg> must keep until the workers have started), the SIP
 * credentials, the TLS contexts. NULL with <err> filled. */
struct gw_ua_shared *gw_ua_shared_new(const struct cm_config *cfg, eng_engine *e,
				      gw_publish_fn publish, char *err, size_t errlen);
/* After the engine is destroyed and every gw_ua freed. */
void gw_ua_shared_free(struct gw_ua_shared *sh);

/* On worker <w>'s thread (its init): the SIP listeners of sip.listen, the transaction layer,
 * the MSRP user agent on <svc>'s connections. NULL with <err> filled. */
struct gw_ua *gw_ua_start(struct gw_ua_shared *sh, eng_worker *w, struct msrp_svc *svc,
			  char *err, size_t errlen);
/* After the worker stopped. */
void gw_ua_free(struct gw_ua *ua);

/* The user agent of worker <i> (any thread, for the API's routing); NULL before it started. */
struct gw_ua *gw_ua_at(struct gw_ua_shared *sh, unsigned i);
unsigned gw_ua_nworkers(const struct gw_ua_shared *sh);
/* The worker that owns session <id>, or -1 when <id> is not one of our ids. */
int gw_ua_worker_of(const struct gw_ua_shared *sh, const char *id);
/* 1 when the user agent runs (ua.enabled). */
int gw_ua_enabled(const struct gw_ua_shared *sh);
/* The SIP port bound for the first listener of <kind> ("udp", "tcp", "tls") on worker 0
 * (tests listen on port 0), or 0. Any thread after start. */
int gw_ua_sip_port(const struct gw_ua_shared *sh, const char *kind);

/* ---- operations, on the owning worker's thread (the API asks through the mailbox) ---- */

/* A new outgoing session, as POST /v1/sessions asks. Strings are the caller's (copied). */
struct gw_ua_new {
	char id[GW_UA_ID_LEN + 1];     /* minted for this worker by the caller (gw_ua_mint) */
	const char *from, *to, *ruri;  /* SIP URIs (ruri NULL: <to>) */
	const char *types[GW_UA_MAX_TYPES]; /* accept-types; none: ua.accept_types */
	unsigned ntypes;
	const char *hdr_names[32], *hdr_values[32]; /* extra INVITE headers */
	unsigned nhdrs;
	const char *sdp_attrs;         /* further a= lines of our offer, "name:value\n"...
					* (RFC 5547 file-selector ...), NULL: none */
	int sendonly;                  /* our offer says a=sendonly (a file we send) */
	/* a call (signalling only, the contact centre's): this SDP is the offer as it is, no
	 * MSRP; up at the 2xx (its answer: gw_ua_peer_sdp) */
	const char *call_sdp;
	size_t call_sdp_len;
};

/* 1 when <s> is an MSRP ident as a message id must be (RFC 4975 §9: 4 to MSRP_ID_MSGID_LEN
 * letters, digits and . - + % =, the first alphanumeric). Any thread. */
int gw_ua_ident_ok(const char *s);

/* A random (version 4) UUID, RFC 4122 §4.4 (OMA CPM Conversation-ID, Contribution-ID). Any
 * thread. */
void gw_ua_uuid(char out[37]);

/* Mints a session id for worker <worker> into <id>. 0 or -errno. Any thread. */
int gw_ua_mint(unsigned worker, char id[GW_UA_ID_LEN + 1]);

/* Checks what the API can check before any worker is asked: URIs that parse, header names
 * that are tokens and may be set by applications, values without CR/LF, types that parse.
 * 0, or 400 with <msg> naming the field. Any thread. */
int gw_ua_new_check(const struct gw_ua_new *n, char *msg, size_t len);

/* Starts the session (INVITE sent). 0 with *<out> its JSON (the caller's reference), or a
 * status with <msg>: 503 (ua.max_sessions, SIP layer full, user agent off), 409 (the id is
 * taken), 502 (no route to the Request-URI: not an IP address and no resolver). */
int gw_ua_create(struct gw_ua *ua, const struct gw_ua_new *n, json_t **out, char *msg,
		 size_t len);

/* One message to send in session <id>. */
struct gw_ua_msg {
	const char *content_type;
	const void *body;
	size_t len;
	int success_report, failure_report; /* 1 yes, 0 no, -1 absent (RFC 4975 defaults) */
	int failure_partial;           /* Failure-Report: partial */
	/* RCS (rcs/rcs_msg.h): the CPIM envelope. With <dn>, <subject> or <extra>, or <cpim> 1,
	 * the message goes in message/cpim (From us, To the peer, DateTime, imdn.Message-ID =
	 * <message_id>); with <cpim> -1 only when the peer takes <content_type> only wrapped. */
	int cpim;                      /* 1 wrap, 0 never, -1 when needed */
	unsigned dn;                   /* RCS_DN_* notifications asked of the recipient */
	const char *subject;           /* CPIM Subject, NULL: none */
	struct rcs_msg_extra extra[RCS_MSG_MAX_EXTRA]; /* the application's CPIM headers */
	unsigned nextra;
	uint64_t skip;                 /* a resumed file (RFC 5547 a=file-range): the first <skip>
					* bytes are the peer's already, the chunks start after */
	char message_id[MSRP_ID_MSGID_LEN + 1]; /* out */
};
/* Sends (or queues while the session is not established yet, up to ua.max_queued).
 * 0, or 404 (no such session), 409 (over, or the queue is full), 415 (a type the peer does
 * not accept, or CPIM asked of a peer that does not take message/cpim), 413 (larger than
 * its a=max-size), 400 (an envelope CPIM cannot hold). */
int gw_ua_send(struct gw_ua *ua, const char *id, struct gw_ua_msg *m, char *msg, size_t len);

/* The display notification (RFC 5438 IMDN "displayed") of message <message_id> received in
 * session <id> (its imdn.Message-ID, as in message.received), which asked for one. 0 with
 * <notification_id> (the IMDN's own Message-ID), or 404 (no such session, or no message of
 * that id waiting: unknown, it asked for no display notification, forgotten beyond
 * rcs.max_display_pending, or the session is over), 409 (sent already, or the session is
 * not established yet), 415 (the peer does not take message/cpim). */
int gw_ua_displayed(struct gw_ua *ua, const char *id, const char *message_id,
		    char notification_id[MSRP_ID_MSGID_LEN + 1], char *msg, size_t len);

/* An isComposing indication (RFC 3994) in session <id>, in CPIM when the peer takes it only so.
 * 0 with <message_id>, or 404, 409 (not established), 415 (the peer takes neither form). */
int gw_ua_composing(struct gw_ua *ua, const char *id, const struct rcs_composing *c,
		    char message_id[MSRP_ID_MSGID_LEN + 1], char *msg, size_t len);

/* Ends session <id>: BYE when up, CANCEL while the INVITE is pending, 603 for an incoming
 * session not answered yet. 0, 404, 409 (already over). */
int gw_ua_end(struct gw_ua *ua, const char *id, char *msg, size_t len);

/* Answers incoming session <id> with <types> (none: ua.accept_types). 0, 404, 409 (not an
 * incoming session waiting for an answer), 415 (no type in common: the INVITE got 415 and the
 * session failed). */
int gw_ua_answer(struct gw_ua *ua, const char *id, const char *const *types, unsigned ntypes,
		 char *msg, size_t len);
/* Rejects incoming session <id> with SIP <code> (400..699). 0, 404, 409. */
int gw_ua_reject(struct gw_ua *ua, const char *id, int code, char *msg, size_t len);

/* Where received files go (RFC 5547 transfers offered to us, gateway/gw_files.h); NULL: none
 * kept (file offers are then refused 488). Before the workers start. */
struct gw_files;
void gw_ua_set_files(struct gw_ua_shared *sh, struct gw_files *fs);
/* diameter.sh_check (issue 9): an incoming INVITE's caller is asked of Sh (a UDR) after
 * its 180, before the session is announced or claimed by the gateway; refused: 403, no
 * verdict: 503 (diameter.hook_failure = deny). NULL or Sh off: none. Before the start. */
struct dm_svc;
void gw_ua_set_diameter(struct gw_ua_shared *sh, struct dm_svc *dm);

/* What a file transfer toward the peer of session <id> needs of it: our URI, the peer's, the
 * Request-URI to reach it and the session's Conversation-ID (each NUL-terminated, at most
 * GW_UA_MAX_URI bytes; conv empty when none). 0, 404, 409 (the session is over). */
int gw_ua_session_peer(struct gw_ua *ua, const char *id, char *local, char *peer, char *ruri,
		       char *conv);

/* What the cluster's replication plugs into a worker's user agent (issue 8): told, on the
 * worker's thread, when a session came or changed state (<changed>: its record is to be
 * written behind) and when it is over (<over>: its record is to go); of the API's sessions
 * (not the gateway's), each message gw_ua_send() accepted (<kept>: <m> as it goes to MSRP —
 * its content type and body after any CPIM envelope, its Message-ID, its report asks —, to
 * be kept until <done>) and what became of it (<done>: taken whole by the next hop, or
 * failed and told so; also said of messages never <kept>). Members NULL: none. */
struct gw_ua_repl {
	void (*changed)(void *arg, const char *id);
	void (*over)(void *arg, const char *id);
	void (*kept)(void *arg, const char *id, const struct gw_ua_msg *m);
	void (*done)(void *arg, const char *id, const char *message_id);
	void *arg;
};
void gw_ua_set_repl(struct gw_ua *ua, const struct gw_ua_repl *r);

/* The cluster's takeover (issue 8): an in-dialog SIP request (not ACK or CANCEL) whose To
 * tag names a session of this worker that is not in memory is held, <fn>(w, ua, id, done,
 * ctx) asked to take the session over from a dead node, and taken in again when it calls
 * <done>(ctx, here, owner) (exactly once; not here: 481 as without a cluster; <owner> the
 * live node that owns it, or NULL). <fn> returns 0, or -errno when it did not try (the
 * request is then taken in at once). Before the workers start; NULL: none. */
typedef int (*gw_ua_takeover_fn)(eng_worker *w, struct gw_ua *ua, const char *id,
				 void (*done)(void *ctx, int here, const char *owner),
				 void *ctx);
void gw_ua_set_takeover(struct gw_ua_shared *sh, gw_ua_takeover_fn fn);
/* ... and when the owner lives and the session's MSRP peer bound again here (a SEND on a new
 * connection: the old one is gone to it), <fn>(w, ua, id, owner, done, ctx) asks <owner> to
 * hand the session on; <done>(ctx, status) once, later (sh_cluster_handoff's statuses) —
 * then it is taken over (<takeover>). 0, or -errno (not asked). Before the workers start;
 * NULL: none (481 then). */
typedef int (*gw_ua_handoff_fn)(eng_worker *w, struct gw_ua *ua, const char *id,
				const char *owner, void (*done)(void *ctx, int status),
				void *ctx);
void gw_ua_set_handoff(struct gw_ua_shared *sh, gw_ua_handoff_fn fn);

/* Cross-node routing of SIP (issue 8). An in-dialog request held for a takeover whose
 * session another live node owns is passed on to it: <fwd>(w, owner, worker, raw, len, src)
 * (0: gone; else it gets its 481 here). The owner takes it in with gw_ua_take_forwarded()
 * as if it had come from <src>, its transaction answering through <send>(w, ref, buf, len)
 * — which carries each response back to the node it came through, which sends it with
 * gw_ua_send_to() to where the request came from. Before the workers start; NULL: none. */
#define GW_UA_TP_REMOTE 0x40           /* a flag of a sip_dest kind: through another node
					* (the kind in SIP_TP_KIND_MASK: as it came there) */
struct sip_dest;
typedef int (*gw_ua_forward_fn)(eng_worker *w, const char *owner, unsigned worker,
				const char *raw, size_t len, const struct sip_dest *src);
typedef int (*gw_ua_remote_send_fn)(eng_worker *w, uint32_t ref, const char *buf, size_t len);
void gw_ua_set_forward(struct gw_ua_shared *sh, gw_ua_forward_fn fwd,
		       gw_ua_remote_send_fn send);
/* A request another node passed on (<src>: where it came from there; <ref>: what <send>
 * is given for its responses). On its session's worker. 0, or -EINVAL (not a request). */
int gw_ua_take_forwarded(struct gw_ua *ua, const char *raw, size_t len,
			 const struct sip_dest *src, uint32_t ref);
/* Sends <raw> (a response the owner made) to <dst> as a request came from there. 0 or
 * -errno. */
int gw_ua_send_to(struct gw_ua *ua, const char *raw, size_t len, const struct sip_dest *dst);

/* Sends again, in session <id> taken over from a dead node, a message that node accepted
 * and that was not confirmed: <ctype>/<body> as it went (envelope included), the same
 * <message_id> (the receiver knows it again: gw_ua's own sessions pass it on once) and
 * report asks (1 yes, 0 no, -1 absent; <fr> 2: partial). Not <kept> again. 0 or a status
 * as gw_ua_send(). */
int gw_ua_resend(struct gw_ua *ua, const char *id, const char *ctype, const void *body,
		 size_t len, int sr, int fr, const char *message_id, char *msg, size_t mlen);

/* The cluster is asked to hand session <id> on to the node its MSRP peer went to: <on> 1
 * marks it being handed on (sends and ends are answered 503 meanwhile, the rebind timeout
 * waits) if it may be — up, its peer's connection broken and waited for —, 0 unmarks it
 * (the hand-on failed). 0, -ENOENT (not here), -EBUSY (it may not be handed on). */
int gw_ua_handing(struct gw_ua *ua, const char *id, int on);
/* The cluster fenced a write of session <id>: node <owner> took it over while this one
 * looked dead (paused, cut off). It is let go here without a word to the peer (no BYE: the
 * call goes on from <owner>), its MSRP leg closed, event session.moved {owner}; it does not
 * linger (requests for it here are passed on to its owner). 0, or -ENOENT (not live here). */
int gw_ua_fenced(struct gw_ua *ua, const char *id, const char *owner);
/* 1 when session <id> is in memory here and not over. On the session's worker. */
int gw_ua_has(struct gw_ua *ua, const char *id);

/* The record of session <id> (shards/session.proto: a UaSession with its dialog and MSRP
 * leg), packed into *<buf> (malloc'd: the caller frees it). 0, 404 (no such session or over),
 * 503 (out of memory). On the session's worker. */
int gw_ua_snapshot(struct gw_ua *ua, const char *id, uint8_t **buf, size_t *len);

/* Takes up session <record> (<len> bytes of a shards/session.proto record another node wrote,
 * now ours: issue 8's takeover) on this worker: its SIP dialog restored (in-dialog requests
 * go on with the same Call-ID, tags and CSeq), its MSRP session opened again with the same
 * URIs (connecting and binding when we were the active side, else waiting for the peer's
 * new connection), state established, event session.adopted. 0, 400 (a record that does
 * not parse, is not session <id>'s or not of this worker, is not established, holds no
 * dialog), 409 (the session is here already), 503. */
int gw_ua_adopt(struct gw_ua *ua, const char *id, const uint8_t *record, size_t len,
		uint64_t epoch, char *msg, size_t mlen);

/* The store of files (received, and parts kept for resumptions), or NULL: gw_ua_set_files. */
struct gw_files *gw_ua_files(const struct gw_ua *ua);

/* The JSON of session <id> (the caller's reference), or NULL when there is none. */
json_t *gw_ua_session_json(struct gw_ua *ua, const char *id);
/* Appends to <arr> the JSON of this worker's sessions in state <state> (NULL: all) whose id is
 * above <after> (NULL: from the start), in id order, at most <max>. Returns how many more
 * there were beyond (0 when this is the last page). */
unsigned gw_ua_list(struct gw_ua *ua, const char *state, const char *after, unsigned max,
		    json_t *arr);

/* ---- sessions of the page-mode gateway (gw_page.c), on the owning worker's thread ------- */

struct msrp_reasm_msg;
struct sip_msg;
struct sip_txn;
struct sip_dest;

/* Who a session reports to instead of publishing events (the gateway's sessions). */
struct gw_ua_owner {
	const char *name;              /* what the session's record says owns it ("gateway"):
					* its messages durable, the session adoptable by it; NULL:
					* neither (large-mode messages, files) */
	void (*up)(void *arg, const char *id);                 /* MSRP bound */
	/* over: <failed> when it never came up; <sip_code> what failed or ended it */
	void (*over)(void *arg, const char *id, int failed, int sip_code, const char *reason);
	void (*message)(void *arg, const char *id, const struct msrp_reasm_msg *m); /* not kept */
	/* <range>: the bytes a REPORT speaks of (a success REPORT may cover part of a
	 * message, RFC 4975 §7.1.2), NULL when the outcome came from no REPORT */
	void (*report)(void *arg, const char *id, const char *message_id, int status,
		       const struct msrp_range *range);
	/* a chunk of <message_id>, bytes <start>..<end>, was taken by the next hop (NULL: not
	 * told) */
	void (*acked)(void *arg, const char *id, const char *message_id, uint64_t start,
		      uint64_t end);
};

/* What the gateway and the contact centre plug into every worker's SIP handling (added before
 * the workers start; asked in the order they were added: the first route >= 0, the first
 * message hook, the first claim or adopt that takes the session). */
struct gw_ua_hooks {
	/* The worker that must handle the new request <m> (a MESSAGE, an INVITE without To tag),
	 * or -1 to leave it where it arrived. Any worker's thread. */
	int (*route)(void *arg, const struct sip_msg *m);
	/* A MESSAGE outside any dialog: answered by the hook (through <st>). */
	void (*message)(void *arg, struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req,
			const struct sip_dest *src);
	/* A new INVITE with MSRP media that became session <id> (ringing): 1 when the gateway
	 * takes it (it answers it with gw_ua_answer and gets its events through *<owner>), 0 to
	 * leave it to the applications. */
	int (*claim)(void *arg, struct gw_ua *ua, const char *id, const char *from, const char *to,
		     const struct gw_ua_owner **owner, void **owner_arg);
	/* Session <id> (established, <incoming> or not, <from> to <to>), taken over from a
	 * dead node whose record says the gateway owned it: 1 when the gateway takes it again
	 * (its pair made anew, its events through *<owner>), else 0 (the applications'). */
	int (*adopt)(void *arg, struct gw_ua *ua, const char *id, int incoming, const char *from,
		     const char *to, const struct gw_ua_owner **owner, void **owner_arg);
	/* A new INVITE from <from> to <to> whose SDP has no MSRP stream: 1 when it is taken as
	 * a call (signalling only: gw_ua_is_call), which then goes to claim() as any session
	 * does; else 0 (488 as before). */
	int (*call)(void *arg, struct gw_ua *ua, const char *from, const char *to);
};
#define GW_UA_MAX_HOOKS 4
/* 0, or -ENOSPC (GW_UA_MAX_HOOKS added already). */
int gw_ua_add_hooks(struct gw_ua_shared *sh, const struct gw_ua_hooks *h, void *arg);

/* gw_ua_create() for a session that reports to <owner>(<owner_arg>) instead of events. */
int gw_ua_create_owned(struct gw_ua *ua, const struct gw_ua_new *n, const struct gw_ua_owner *o,
		       void *owner_arg, char *msg, size_t len);

/* Sends a MESSAGE (RFC 3428) from <from> to <to> (SIP URIs; the Request-URI is <to>, its
 * host an IP address, through sip.outbound_proxy when set) with <ctype> and <body> (copied),
 * over TCP when the request passes 1300 bytes (RFC 3428 §6) and <to> says UDP; <done>(<arg>,
 * status) gets the final status (408 timeout, 503 transport error). 0, or -errno (no
 * callback then): -EHOSTUNREACH (no IP address), -EINVAL, -ENOSPC, -EBUSY. */
int gw_ua_send_message(struct gw_ua *ua, const char *from, const char *to, const char *ctype,
		       const void *body, size_t len, void (*done)(void *arg, int status),
		       void *arg);
/* gw_ua_send_message() with <extra> header lines ("Name: value\n"..., NULL: none) and the
 * final response (NULL when none came: 408, 503) to <done>. Same returns. */
int gw_ua_send_message_ex(struct gw_ua *ua, const char *from, const char *to, const char *ctype,
			  const void *body, size_t len, const char *extra,
			  void (*done)(void *arg, int status, const struct sip_msg *resp), void *arg);

/* Who takes the MESSAGEs outside dialogs whose Request-URI is rcsgw itself (standalone
 * messages for the applications, gw_pager.c), before the gateway's hook: it answers them
 * through <st>. Set before the workers start. */
typedef void (*gw_ua_pager_fn)(void *arg, struct gw_ua *ua, struct sip_txn *st,
			       const struct sip_msg *req, const struct sip_dest *src);
void gw_ua_set_pager(struct gw_ua_shared *sh, gw_ua_pager_fn fn, void *arg);
/* For the gateway's MESSAGE hook, with a MESSAGE that no rule converts: 0 when the pager took
 * it (its Request-URI is rcsgw itself and a pager is set; it is answered), -1 otherwise. */
int gw_ua_pager_take(struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req,
		     const struct sip_dest *src);
/* 1 when a request to <uri> would go to the address <src> came from (or through
 * sip.outbound_proxy, which is trusted to route): what may be answered by a new request
 * without reflecting it to a third party. */
int gw_ua_may_answer_to(struct gw_ua *ua, const char *uri, const struct sip_dest *src);

/* Sends an OPTIONS (capability discovery, RCC.07 §2.6) from sip:rcsgw@us, with our feature
 * tags in its Contact, to <to> (as gw_ua_send_message() routes); <done>(<arg>, status, the
 * final response or NULL when none came: 408, 503). Same returns. */
struct sip_msg;
int gw_ua_options(struct gw_ua *ua, const char *to,
		  void (*done)(void *arg, int status, const struct sip_msg *resp), void *arg);
/* Calls (signalling only): 1 when session <id> is one. */
int gw_ua_is_call(struct gw_ua *ua, const char *id);
/* A provisional answer <code> (101..199, e.g. 182 "Queued") to incoming call <id>, with
 * an Alert-Info of URI <alert_info> (NULL or "": none; RFC 3261 §20.4: what the caller's
 * phone may play instead of its ringback). 0 or -errno (-ENOENT: not one waiting for its
 * answer). */
int gw_ua_provisional(struct gw_ua *ua, const char *id, int code, const char *reason,
		      const char *alert_info);
/* Answers incoming call <id> with 200 and <sdp> as it is; up (owner's up) at the ACK. 0, or
 * 404, 409 (not a call waiting for its answer), 503. */
int gw_ua_answer_sdp(struct gw_ua *ua, const char *id, const void *sdp, size_t sdp_len,
		     char *msg, size_t len);
/* The peer's SDP of session <id> as it came (a call's offer, or the answer to ours): valid
 * until the session changes. 0 or -ENOENT. */
int gw_ua_peer_sdp(struct gw_ua *ua, const char *id, const char **sdp, size_t *sdp_len);

/* A failure REPORT on session <id> for a message it received (msrp_ua_report_failure): the
 * gateway's onward MESSAGE failed with SIP <sip_code>, mapped to MSRP (408: 408, 480, 503,
 * 504; 413: 413, 513; 415: 415; else 403). 0 or -errno. */
int gw_ua_report_failure(struct gw_ua *ua, const char *id, const char *message_id, uint64_t len,
			 int failure_report, int sip_code);
/* Forwards request <req> (a MESSAGE no rule of the gateway takes) as a proxy would, to
 * sip.outbound_proxy when set, else to its Request-URI (an IP address): our Via on top,
 * Max-Forwards one less, the rest as it came; <done>(<arg>, status) gets the final status
 * (408 timeout, 503 transport). 0, or -errno (no callback then): -ELOOP (Max-Forwards 0),
 * -EHOSTUNREACH, -ENOSPC, -EBUSY. */
int gw_ua_forward(struct gw_ua *ua, const struct sip_msg *req, void (*done)(void *arg, int status),
		  void *arg);
/* The index of the worker <ua> runs on. */
unsigned gw_ua_index(const struct gw_ua *ua);
eng_worker *gw_ua_worker(const struct gw_ua *ua);
/* 1 when URI <u> names rcsgw itself: one of its SIP ports (5060 when absent) at
 * sip.advertise's host or a listen address (a wildcard listener: any host). */
struct sip_uri;
int gw_ua_is_self(const struct gw_ua *ua, const struct sip_uri *u);

/* Counters of one worker (its thread), for /metrics. */
struct gw_ua_stats {
	uint64_t sessions_out, sessions_in;    /* created */
	uint64_t established, failed, ended;
	uint64_t msgs_sent, msgs_received, reports;
	uint64_t msgs_duplicate;       /* received again (same Message-ID): not passed on */
	uint64_t sip_held;             /* in-dialog requests held for a takeover */
	uint64_t sip_held_refused;     /* ... beyond GW_UA_MAX_HELD at once: answered 503 */
	uint64_t sip_forwarded;        /* in-dialog requests passed on to the live owner */
	uint64_t sip_remote_in;        /* requests other nodes passed on to us */
	uint64_t msrp_held;            /* MSRP SENDs held while their session was taken over */
	uint64_t sip_unparsable;       /* datagrams that did not parse and could not be answered */
	uint64_t sip_stream_errors;    /* TCP/TLS connections closed for a bad stream */
	uint64_t sip_in, sip_out, sip_bad, sip_crossed, sip_cross_dropped;
	uint64_t answered_400, answered_481, answered_488, answered_415, answered_503;
	uint64_t sh_denied, sh_failed;  /* incoming INVITEs refused by Sh, or without a verdict */
	uint64_t auth_retries;
	uint64_t cpim_sent, cpim_received, cpim_bad;   /* messages wrapped / unwrapped / unparsable */
	uint64_t imdn_sent, imdn_received, imdn_bad;   /* disposition notifications */
	uint64_t composing_sent, composing_received;
	uint64_t files_received;                       /* RFC 5547 transfers to us completed */
	uint64_t files_parts_kept;                     /* ... broken, their bytes kept */
	uint64_t files_resumed_in;                     /* ... resumed from kept bytes */
	uint64_t limited_sessions;     /* sessions refused at ua.max_sessions (503) */
	uint64_t limited_queued;       /* messages refused at ua.max_queued (409) */
	uint64_t msrp_too_big;         /* MSRP messages over msrp.max_message (413) */
	uint64_t msrp_too_many_chunks; /* ... over msrp.max_chunks (413) */
	uint64_t msrp_incomplete;      /* messages to us begun, never finished (connection gone) */
	uint32_t alive;                        /* sessions not yet freed */
};
void gw_ua_stats(const struct gw_ua *ua, struct gw_ua_stats *out);
/* The sessions of this worker (the API's, the gateway's, the contact centre's; those over
 * and lingering included) by state, in the order of gw_ua_state_names ("connecting" ...
 * "failed", the REST "state"). Walks the table: for /metrics, not the message path. */
#define GW_UA_STATES 6
extern const char *const gw_ua_state_names[GW_UA_STATES];
void gw_ua_count_states(const struct gw_ua *ua, uint32_t out[GW_UA_STATES]);
/* The counters of the worker's SIP transport (messages by method and status) and
 * transactions (their latencies), on its thread; NULL while it has none. */
struct sip_transport_stats;
struct sip_txn_stats;
const struct sip_transport_stats *gw_ua_sip_transport_stats(const struct gw_ua *ua);
const struct sip_txn_stats *gw_ua_sip_txn_stats(const struct gw_ua *ua);
/* Its SIP parser's counters (errors by reason), on its thread; NULL while it has none. */
struct sip_parse_stats;
const struct sip_parse_stats *gw_ua_sip_parse_stats(const struct gw_ua *ua);

#endif
