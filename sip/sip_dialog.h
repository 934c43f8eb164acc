/* sip_dialog.h — SIP dialogs (RFC 3261 §12, §13.2.2.4): a pure library, no I/O.
 *
 * The user agent keeps a struct sip_dialog (sip_dialog-t.h) per call, makes it from the
 * dialog-creating exchange (sip_dialog_uac() / sip_dialog_uas()), asks whether a message
 * belongs to it (sip_dialog_matches()), checks the CSeq of requests it receives
 * (sip_dialog_rx_request()), takes target refreshes (sip_dialog_update()) and writes the
 * requests it sends inside it (sip_dialog_request(), sip_dialog_ack()); the transaction
 * layer (sip_txn.h) sends those bytes.
 *
 * Messages in: a struct sip_msg from sip_parse.h that parsed without error. Nothing of it
 * is kept: what the dialog needs is copied, CR and LF of folded values dropped. A
 * function that fails leaves *<d> as it was (the makers leave it in state NONE).
 *
 * Comparisons: Call-IDs byte by byte (§8.1.1.4: "Call-IDs are case-sensitive and are
 * simply compared byte-by-byte"). Tags without regard to case: §19.3 gives no rule of its
 * own, so §7.3.1 applies ("parameter values are case-insensitive. Tokens are always
 * case-insensitive"), and a tag is a token (§25.1 tag-param).
 *
 * Secure flag: set when the dialog-creating Request-URI is sips: (§12.1.1, §12.1.2 also
 * ask for TLS, which a sips: Request-URI requires of the sender; the library cannot see
 * the transport).
 *
 * Errors: -EINVAL (a message or value that is missing or malformed, a call in the wrong
 * state), -E2BIG (a value over the bounds of sip_dialog-t.h), -ENOSPC (output buffer). */
#ifndef SIP_DIALOG_H
#define SIP_DIALOG_H

#include <stdint.h>
#include <sys/types.h>

#include "sip/sip-t.h"
#include "sip/sip_dialog-t.h"

/* UAC side: from the request <req> we sent (parsed from our own bytes; INVITE, or another
 * dialog-creating method) and a response <resp> to it that carries a To tag: 101..199
 * make an EARLY dialog, 2xx a CONFIRMED one (§12.1.2). Call-ID, local tag (From tag),
 * local URI (From without tag) and local CSeq come from <req>; remote tag (To tag), remote
 * URI (To without tag), remote target (the Contact URI) and the route set (Record-Route
 * in reverse order) from <resp>; the remote CSeq is empty. <resp> must answer <req> (same
 * Call-ID, From tag and CSeq number). -EINVAL: a status out of those ranges, no To tag, no
 * From tag in <req>, no Contact in a 2xx (a 1xx may lack one: no remote target yet), a
 * Contact that is "*", not one sip:/sips: URI, or a Record-Route that is not a name-addr
 * with a sip:/sips: URI; -E2BIG. */
int sip_dialog_uac(struct sip_dialog *d, const struct sip_msg *req, const struct sip_msg *resp);

/* UAS side: from the dialog-creating request <req> (no To tag; not ACK or CANCEL) that we
 * answer with To tag <local_tag> (a token). Route set: <req>'s Record-Route in order;
 * remote target: its Contact URI (required); remote CSeq: its CSeq; local CSeq:
 * <local_cseq> (< 2**31, e.g. random: the first request we write gets <local_cseq> + 1);
 * local URI: To of <req>; remote URI and remote tag: From of <req> (the tag may be absent,
 * RFC 2543). State CONFIRMED: call it when the 2xx goes out, or call
 * sip_dialog_set_state(d, SIP_DLG_EARLY) after it for a 1xx. -EINVAL, -E2BIG. */
int sip_dialog_uas(struct sip_dialog *d, const struct sip_msg *req, cm_slice local_tag,
		   uint32_t local_cseq);

void sip_dialog_set_state(struct sip_dialog *d, enum sip_dialog_state st);

/* A dialog as another node wrote it down (issue 8: a session taken over): its parts as
 * strings, the routes as their header values ("<sip:p1.example.net;lr>") in the order
 * requests use them. */
struct sip_dialog_saved {
	cm_slice call_id, local_tag, remote_tag, local_uri, remote_uri, target;
	const cm_slice *routes;
	unsigned nroutes;
	uint32_t local_cseq, remote_cseq;
	int has_remote_cseq, secure;
};
/* Rebuilds <d> (state CONFIRMED) from <s>. 0, -EINVAL (no Call-ID, local tag or target, a
 * route that is not a name-addr with a sip:/sips: URI), -E2BIG (a part too long, too many
 * routes). On failure <d> is left in state NONE. */
int sip_dialog_restore(struct sip_dialog *d, const struct sip_dialog_saved *s);

/* A message <m> of dialog <d> (state EARLY or CONFIRMED) that may change it:
 *
 * <is_uac_2xx> 0 — a target refresh (§12.2.1.2, §12.2.2): a re-INVITE or UPDATE received
 * or the 2xx to one we sent. <m> must match <d> (sip_dialog_matches()). Its Contact, when
 * it has one, becomes the remote target; nothing else changes (the route set of a dialog
 * never changes after it is confirmed, §12.2.1.2).
 *
 * <is_uac_2xx> 1 — a 2xx to the request that made the dialog on the UAC side (same
 * Call-ID and From tag, a To tag, a Contact):
 *   - EARLY, same remote tag: the dialog is CONFIRMED and, as §13.2.2.4 asks, the route
 *     set is recomputed from the 2xx's Record-Route (reversed); the remote target is its
 *     Contact; the CSeqs stay.
 *   - EARLY, another remote tag (the 2xx of another fork): <d> becomes that fork's
 *     dialog (§12.1.2 from the 2xx): remote tag, remote URI, route set and remote target
 *     from it, remote CSeq empty; the local CSeq stays (it only grows).
 *   - CONFIRMED, same remote tag (a 2xx to a re-INVITE or a retransmission): the route set
 *     is kept, the remote target taken from the Contact.
 *   - CONFIRMED, another remote tag: -EEXIST, <d> unchanged: a second dialog, which the
 *     UA makes with sip_dialog_uac() on a struct of its own (to ACK and BYE it, §13.2.2.4).
 * 0, -EINVAL (state, no match, malformed values), -E2BIG, -EEXIST. */
int sip_dialog_update(struct sip_dialog *d, const struct sip_msg *m, int is_uac_2xx);

/* 1 when <m> belongs to <d> (state other than NONE), 0 otherwise: the same Call-ID; for a
 * request (one we received) To tag == local tag and From tag == remote tag (both absent
 * when the remote tag is); for a response (to one we sent) From tag == local tag and, when
 * <d> has a remote tag, To tag == remote tag. Comparisons: see the top of this file. */
int sip_dialog_matches(const struct sip_dialog *d, const struct sip_msg *m);

/* A request <req> received inside <d> (§12.2.2), after sip_dialog_matches(): ACK and
 * CANCEL carry the CSeq number of their INVITE and are let through (0, nothing recorded).
 * Others: when a remote CSeq was seen and <req>'s is lower or equal (RFC 3261 only
 * calls a greater one "in order"; retransmissions are the transaction layer's), 500: the
 * UAS answers 500. Else its CSeq becomes the remote CSeq and 0. -EINVAL when <req> is not
 * a request or its CSeq does not parse. Not for the request that made the dialog (the
 * UAS maker records it). */
int sip_dialog_rx_request(struct sip_dialog *d, const struct sip_msg *req);

/* Writes a request inside <d> (§12.2.1.1) into <buf>[0..<cap>): method <method> (a token
 * of at most SIP_DIALOG_MAX_METHOD bytes, not ACK or CANCEL). Request-URI and Route:
 * loose routing (no route, or the first has ";lr"): Request-URI = the remote target,
 * a Route line per route in order; strict: Request-URI = the first route's URI, Route
 * lines = the other routes then "<remote target>". A "method" parameter and "?headers"
 * are taken off the Request-URI (§19.1.1). Headers in this order: "Via: <via>" (the
 * caller's whole Via value), "Max-Forwards: 70", From (local URI;tag=local tag), To
 * (remote URI[;tag=remote tag]), Call-ID, CSeq (local CSeq + 1, kept in <d> when the
 * request is written), the Route lines, "Contact: <contact>" when <contact> is not empty
 * (the caller's whole value, "<sip:...>"), the <n> headers of <extra> (at most
 * SIP_DIALOG_MAX_EXTRA, none of the above), Content-Length, <body> (sip_write_request()).
 * *<next_hop> (may be NULL) gets the URI where the request goes first, without < >: the
 * first route's, else the remote target; a slice into <d>.
 * Bytes written, -ENOSPC, -EINVAL (state NONE or TERMINATED, no remote target, empty
 * <via>, a bad method), -E2BIG (<n>), -ERANGE (the local CSeq would reach 2**31). */
ssize_t sip_dialog_request(struct sip_dialog *d, char *buf, size_t cap, cm_slice method,
			   cm_slice via, cm_slice contact, const struct sip_hdr *extra,
			   unsigned n, cm_slice body, cm_slice *next_hop);

/* The ACK of a 2xx to our INVITE number <invite_cseq> (§13.2.2.4): written as by
 * sip_dialog_request() with method ACK, "CSeq: <invite_cseq> ACK" (the local CSeq is not
 * changed), the new <via> of the caller (a branch of its own), no Contact, <body> may hold
 * an offer when the INVITE had none. Same results; -EINVAL also for <invite_cseq> >=
 * 2**31. */
ssize_t sip_dialog_ack(struct sip_dialog *d, char *buf, size_t cap, uint32_t invite_cseq,
		       cm_slice via, const struct sip_hdr *extra, unsigned n, cm_slice body,
		       cm_slice *next_hop);

/* ---- accessors: slices into <d>, valid while it is not changed ------------------------ */

static inline cm_slice sip_dialog_call_id(const struct sip_dialog *d)
{
	return (cm_slice){ d->call_id, d->call_id_len };
}

static inline cm_slice sip_dialog_local_tag(const struct sip_dialog *d)
{
	return (cm_slice){ d->local_tag, d->local_tag_len };
}

/* Empty (len 0) when the peer gave none. */
static inline cm_slice sip_dialog_remote_tag(const struct sip_dialog *d)
{
	return (cm_slice){ d->remote_tag, d->remote_tag_len };
}

/* Our From (UAC) / To (UAS) value without its tag, as written ("Alice <sip:a@b>"). */
static inline cm_slice sip_dialog_local_uri(const struct sip_dialog *d)
{
	return (cm_slice){ d->local_uri, d->local_uri_len };
}

/* Their To (UAC) / From (UAS) value without its tag. */
static inline cm_slice sip_dialog_remote_uri(const struct sip_dialog *d)
{
	return (cm_slice){ d->remote_uri, d->remote_uri_len };
}

/* The remote target URI (no < >); empty when none yet. */
static inline cm_slice sip_dialog_remote_target(const struct sip_dialog *d)
{
	return (cm_slice){ d->target, d->target_len };
}

static inline unsigned sip_dialog_nroutes(const struct sip_dialog *d)
{
	return d->nroutes;
}

/* Route <i> (0 first) as a whole Route value, empty when out of range. */
static inline cm_slice sip_dialog_route(const struct sip_dialog *d, unsigned i)
{
	if (i >= d->nroutes)
		return (cm_slice){ d->routes, 0 };
	return (cm_slice){ d->routes + d->route[i].off, d->route[i].len };
}

static inline uint32_t sip_dialog_local_cseq(const struct sip_dialog *d)
{
	return d->local_cseq;
}

/* 1 with *<seq> when a remote CSeq was seen, 0 when it is still empty. */
static inline int sip_dialog_remote_cseq(const struct sip_dialog *d, uint32_t *seq)
{
	if (d->has_remote_cseq)
		*seq = d->remote_cseq;
	return d->has_remote_cseq;
}

static inline enum sip_dialog_state sip_dialog_state(const struct sip_dialog *d)
{
	return d->state;
}

static inline int sip_dialog_secure(const struct sip_dialog *d)
{
	return d->secure;
}

#endif
