/* rcs_msg.h — chat content as RCS carries it in an MSRP session (RCC.07 on RFC 3862, RFC 5438,
 * RFC 3994): the CPIM envelope of a message we send (with its IMDN request), the IMDNs and
 * isComposing indications we send, and what a received MSRP message holds once unwrapped.
 *
 * Pure functions over the codecs (rcs_cpim, rcs_imdn, rcs_composing): no session state, no
 * I/O. The user agent (gateway/gw_ua.c) decides when to wrap and what to do with the result.
 *
 * Conventions: builders return a malloc'ed body in *<out> (the caller frees it) and its
 * length, or -errno (-EINVAL: a value the envelope cannot hold, -ENOMEM). */
#ifndef RCS_MSG_H
#define RCS_MSG_H

#include <jansson.h>
#include <stddef.h>

#include "common/cm_slice-t.h"
#include "rcs/rcs_composing.h"
#include "rcs/rcs_cpim.h"
#include "rcs/rcs_fthttp.h"
#include "rcs/rcs_imdn.h"

#define RCS_NS_IMDN "urn:ietf:params:imdn"   /* RFC 5438 §6 */
#define RCS_CT_CPIM "message/cpim"
#define RCS_CT_IMDN "message/imdn+xml"
#define RCS_CT_COMPOSING "application/im-iscomposing+xml"
#define RCS_CT_FTHTTP "application/vnd.gsma.rcs-ft-http+xml"
#define RCS_MSG_MAX_EXTRA 8                  /* application CPIM headers of one message */

/* A message to wrap in CPIM. */
struct rcs_msg_out {
	cm_slice from, to;             /* URIs of the CPIM From and To (written inside <>) */
	cm_slice message_id;           /* imdn.Message-ID (always written: receivers dedup by it) */
	unsigned dn;                   /* RCS_DN_* notifications asked for; 0: none */
	cm_slice subject;              /* may be empty */
	cm_slice content_type;
	const void *body;
	size_t len;
	long long now_ms;              /* DateTime */
	/* the application's own headers: "Prefix.Name" with the namespace URI of Prefix */
	struct rcs_msg_extra {
		cm_slice prefix, name, value, ns_uri;
	} extra[RCS_MSG_MAX_EXTRA];
	unsigned nextra;
};
long rcs_msg_wrap(const struct rcs_msg_out *o, char **out);

/* An IMDN for a message we received: a message/cpim whose content is message/imdn+xml
 * (RFC 5438 §7.1), From <from> (us) To <to> (the message's sender), with its own
 * imdn.Message-ID <notification_id> and no request of notification. */
long rcs_msg_imdn(cm_slice from, cm_slice to, cm_slice notification_id, const struct rcs_imdn *n,
		  long long now_ms, char **out);

/* An isComposing indication (RFC 3994), wrapped in CPIM From <from> To <to> when <wrap>. */
long rcs_msg_composing(const struct rcs_composing *c, int wrap, cm_slice from, cm_slice to,
		       cm_slice message_id, long long now_ms, char **out);

/* What a received message holds. */
enum rcs_in_kind {
	RCS_IN_MESSAGE = 0,            /* content for the user */
	RCS_IN_IMDN,                   /* a disposition notification about a message we sent */
	RCS_IN_COMPOSING,              /* an isComposing indication */
};
struct rcs_msg_in {
	enum rcs_in_kind kind;
	int wrapped;                   /* it came in message/cpim (cpim is filled) */
	int bad;                       /* message/cpim or an IMDN/isComposing body that did not parse:
					* -errno of the codec; the message is taken as it came */
	struct rcs_cpim_msg cpim;
	cm_slice content_type, body;   /* the content: inside CPIM when wrapped */
	cm_slice imdn_id;              /* imdn.Message-ID, empty when none */
	unsigned dn;                   /* RCS_DN_* asked for by imdn.Disposition-Notification */
	cm_slice from_uri, to_uri;     /* of the CPIM From and To, empty when unwrapped */
	cm_slice datetime;             /* CPIM DateTime, empty when none */
	struct rcs_imdn imdn;          /* RCS_IN_IMDN */
	struct rcs_composing comp;     /* RCS_IN_COMPOSING */
	int has_ft;                    /* a message whose content is an FT-over-HTTP descriptor */
	struct rcs_fthttp ft;          /* ... read (has_ft) */
};
/* Reads a received message of type <ctype> (<len> bytes at <body>) into *<in>; every slice points
 * into <ctype> or <body>. Never fails: what does not parse is a plain message (in->bad says why). */
void rcs_msg_parse(cm_slice ctype, const char *body, size_t len, struct rcs_msg_in *in);

/* The CPIM envelope of <in> as JSON, NULL when it was not wrapped:
 *   {"from": URI, "to": URI, "cc": [URI], "datetime", "subject",
 *    "headers": {"Prefix.Name": value, ...},   every other message header, as written
 *    "ns": {"Prefix": namespace URI, ...}}
 * Absent headers are absent members; a header written twice keeps its first value. */
json_t *rcs_msg_cpim_json(const struct rcs_msg_in *in);

/* The RCS_DN_* flags as a JSON array of their tokens ("positive-delivery", ...). */
json_t *rcs_msg_dn_json(unsigned dn);

/* The event of a received message (RCS_IN_MESSAGE), without "type":
 *   {"message_id": its imdn.Message-ID, else <transport_id>, "content_type", "size",
 *    "body" (text/ types in UTF-8) or "body_base64", "cpim"?, "disposition_notification"?}
 * The caller's reference; NULL when out of memory. */
json_t *rcs_msg_event(const struct rcs_msg_in *in, const char *transport_id);

/* An FT-over-HTTP descriptor as JSON: {"file": {"url", "size", "name"?, "content_type"?,
 * "until"?, "disposition"?, "playing_length"?}, "thumbnail"?: {"url", "size",
 * "content_type"?, "until"?}}. The caller's reference. */
json_t *rcs_msg_fthttp_json(const struct rcs_fthttp *f);
/* The same JSON (from an application) into *<f>: 0, or -EINVAL with <err> naming the member
 * (unknown member, wrong type, a value too long for its field, no file url). */
int rcs_msg_fthttp_from_json(json_t *j, struct rcs_fthttp *f, char *err, size_t errlen);

/* The event of a received IMDN (RCS_IN_IMDN), and its type in *<type>: message.delivered
 * (delivered), message.displayed (displayed), message.processed (processed, stored),
 * message.failed (failed, forbidden, error, with "reason": "imdn"):
 *   {"message_id": the message it is about, "notification": delivery|display|processing,
 *    "status", "datetime", "recipient"?, "notification_id"?} */
json_t *rcs_msg_imdn_event(const struct rcs_msg_in *in, const char **type);

/* The event of a received isComposing (RCS_IN_COMPOSING), type "composing":
 *   {"state": active|idle, "refresh"?, "last_active"?, "content_type"?, "from"?} */
json_t *rcs_msg_composing_event(const struct rcs_msg_in *in);

#endif
