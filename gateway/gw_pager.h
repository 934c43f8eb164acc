/* gw_pager.h — RCS standalone messaging (GSMA RCC.07 §3.2, OMA CPM standalone messages):
 * one-off messages to a URI, without a chat session.
 *
 * Out (POST /v1/messages): the message goes in message/cpim (From, To, DateTime,
 * imdn.Message-ID, the IMDNs asked for), by pager mode — one SIP MESSAGE, Accept-Contact the
 * CPM standalone-message ICSI — when the CPIM body is at most GW_PAGER_MAX bytes, else by
 * large-message mode — an MSRP session of its own (Accept-Contact the large-message ICSI)
 * that carries it and ends once its success REPORT (or failure) came. The outcome is an
 * event: message.sent {"message_id", "mode", "to", "sip_code" | "msrp_status"}, or
 * message.failed {"message_id", "mode", "to", "reason": sip|msrp|no_report, codes}.
 *
 * In: MESSAGEs whose Request-URI is rcsgw itself are answered 200 and published without a
 * session: message.received {"mode": "pager", "from", "to", ...rcs_msg_event()}, IMDNs as
 * message.delivered / .displayed / .processed / .failed, isComposing as composing; a
 * positive-delivery request is answered by a delivery IMDN in a MESSAGE to its CPIM From
 * (rcs.delivery_notifications) — through sip.outbound_proxy, or without one only when that is
 * where the MESSAGE came from (no reflection). Large messages come as sessions. When the
 * gateway runs, its rules see such MESSAGEs first (gw_ua_pager_take). 
 *
 * One gw_pager_shared for the process; its functions run on the worker of the <ua> given. */
#ifndef GW_PAGER_H
#define GW_PAGER_H

#include "common/cm_config-t.h"
#include "gateway/gw_ua.h"

#define GW_PAGER_MAX 1300          /* bytes of CPIM that still go by pager mode (RFC 3428 §6) */

enum gw_pager_mode {
	GW_PAGER_AUTO = 0,         /* by size */
	GW_PAGER_PAGER,            /* one MESSAGE, whatever the size (up to sip.max_message) */
	GW_PAGER_LARGE,            /* an MSRP session, whatever the size */
};

struct gw_pager_shared;

/* On the main thread, before the workers start: takes the MESSAGEs for rcsgw itself on every
 * worker of <ua> (gw_ua_set_pager). NULL when out of memory. */
struct gw_pager_shared *gw_pager_shared_new(const struct cm_config *cfg, struct gw_ua_shared *ua,
					    gw_publish_fn publish);
/* After the engine is gone. Large messages still on their way are forgotten (their sessions
 * were freed with the user agent). */
void gw_pager_shared_free(struct gw_pager_shared *sh);

/* One standalone message. Strings are the caller's (copied as needed). */
struct gw_pager_msg {
	const char *from, *to;         /* SIP (or tel:) URIs: our side, the addressee */
	const char *content_type;
	const void *body;
	size_t len;
	unsigned dn;                   /* RCS_DN_* asked of the recipient */
	const char *subject;           /* CPIM Subject, NULL: none */
	const char *conversation_id;   /* NULL: a UUID is minted */
	enum gw_pager_mode mode;
	char message_id[MSRP_ID_MSGID_LEN + 1]; /* in: the application's, or empty; out: its id */
	enum gw_pager_mode used;       /* out: pager or large */
};

/* Sends <m> from worker <ua>'s thread. 0 (the outcome comes as an event), or an HTTP status
 * with <msg>: 400 (what CPIM or SIP cannot carry), 413 (pager mode asked for and the
 * message is too large for a MESSAGE), 502 (no route to <to>), 503 (no room). */
int gw_pager_send(struct gw_pager_shared *sh, struct gw_ua *ua, struct gw_pager_msg *m,
		  char *msg, size_t len);

/* A file to send to the peer of a chat session (RFC 5547 over MSRP). */
struct gw_pager_file {
	const char *name;              /* the file's name (a=file-selector name) */
	const char *content_type;
	const char *disposition;       /* "render" / "attachment"; NULL: render */
	const void *data;
	size_t len;
	char transfer_id[MSRP_ID_MSGID_LEN + 1];      /* out: a=file-transfer-id */
	char transfer_session[GW_UA_ID_LEN + 1];      /* out: the transfer's own session */
	char message_id[MSRP_ID_MSGID_LEN + 1];       /* out: the file's MSRP Message-ID */
	char hash[3 * 20];                            /* out: its sha-1, "AB:CD:..." */
};

/* Sends <f> to the peer of chat session <chat> in a session of its own (RCC.07 §3.2.5 over
 * MSRP, RFC 5547 §5): an INVITE to the chat's peer with the file-transfer ICSI, the chat's
 * Conversation-ID, a sendonly offer whose a=file-selector says the name, type, size and
 * sha-1 hash, a=file-transfer-id and a=file-disposition; once bound, the file as one message
 * (chunked), Success-Report yes; the whole success REPORT ends it (BYE). The outcome is an
 * event: file.sent / file.failed {"session_id" (the chat), "transfer_session_id",
 * "transfer_id", "name", "size", "msrp_status" | "sip_code", "reason"?}. From <ua>'s worker,
 * the chat's. 0, or an HTTP status with <msg>: 404/409 (the chat), 400, 503. */
int gw_pager_send_file(struct gw_pager_shared *sh, struct gw_ua *ua, const char *chat,
		       struct gw_pager_file *f, char *msg, size_t len);

/* Resumes transfer <transfer_id> of chat <chat> that broke (RFC 5547 §8.4): when a transfer
 * fails before the peer's success REPORT, file.failed says "resumable" and the file stays
 * kept (rcs.file_ttl, within rcs.file_store_max) with how far the peer took it (its 200s,
 * "bytes_acked"). This offers the same file again (same a=file-selector, a new
 * a=file-transfer-id) with a=file-range from the byte after those, and sends the rest:
 * *<out> gets the new transfer as JSON (session_id, transfer_id, transfer_session_id,
 * resumes, name, size, content_type, sha1, range {start, stop}; the caller's reference). The
 * outcome comes as for gw_pager_send_file(), with "resumed_bytes". The chat session itself
 * may be over. 0, or an HTTP status with <msg>: 404 (no such transfer kept for <chat>),
 * 400, 503. */
int gw_pager_resume_file(struct gw_pager_shared *sh, struct gw_ua *ua, const char *chat,
			 const char *transfer_id, json_t **out, char *msg, size_t len);

struct gw_pager_stats {
	uint64_t sent_pager, sent_large, delivered, failed, received, imdn_sent;
	uint64_t files_started, files_sent, files_failed;
	uint64_t files_resumed, files_parts_kept;      /* resumptions started; broken, kept */
};
/* Counters of all workers (relaxed atomics: any thread). */
void gw_pager_stats(const struct gw_pager_shared *sh, struct gw_pager_stats *out);

#endif
