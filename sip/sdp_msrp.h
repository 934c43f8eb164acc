/* sdp_msrp.h — the MSRP media description in SDP and its offer/answer (RFC 4975 §8,
 * RFC 3264, RFC 6135 with RFC 4145, RFC 6714).
 *
 *   m=message <port> TCP/MSRP *            (TCP/TLS/MSRP for msrps: URIs)
 *   c=IN IP4 <address>
 *   a=path:<msrp-uri> *( SP <msrp-uri> )   first URI: next hop; last: the endpoint itself
 *   a=accept-types:<entry> *( SP <entry> ) entry: "*" / type "/" "*" / type "/" subtype
 *   a=accept-wrapped-types:<same list>
 *   a=max-size:<bytes>
 *   a=setup:active|passive|actpass|holdconn     a=connection:new|existing
 *   a=msrp-cema                                 a=sendrecv|sendonly|recvonly|inactive
 *
 * Decisions (each with the text it rests on):
 *  - Reading. The m= format list must be "*" (RFC 4975 §8.1: the formats are in
 *    accept-types). a=path and a=accept-types are mandatory in an accepted stream (§8.1,
 *    §8.2); each URI of a=path must pass msrp_uri_parse(). A stream with port 0 is rejected
 *    (RFC 3264 §6) and is taken with whatever attributes it has, none checked. The first
 *    TCP/MSRP or TCP/TLS/MSRP "message" section with a port other than 0 is the one used;
 *    when all are rejected, the first one. Attribute names are compared case-insensitively,
 *    media types too (RFC 6838 §4.2).
 *  - Who connects. With a=setup (RFC 6135 §4, the RFC 4145 §4.1 table): active connects,
 *    passive waits; an answer says active or passive (or holdconn), never actpass. Without
 *    a=setup in the offer, the offerer connects (RFC 4975 §5.4: the endpoint that sent the
 *    offer opens the connection) and an answer without a=setup is passive; an answer that
 *    omits a=setup to an offer saying passive is taken as active (RFC 4145 §4.1: absent
 *    means active). An answer contradicting its offer (active/active, passive/passive,
 *    actpass) is refused. holdconn on either side: no connection until a new offer.
 *  - Our answer's a=setup (RFC 6135 §4.1, RFC 4145 §4.1): offer actpass → our configured
 *    preference, active or passive (active by default: behind a NAT the side that connects
 *    out is the one that gets through); offer active → passive; offer passive → active;
 *    offer without a=setup → passive (the offerer connects, RFC 4975 §5.4); holdconn →
 *    holdconn. Our offer says actpass unless configured active or passive.
 *  - a=connection: we always write "new", and when we connect straight to the peer, the
 *    session gets a connection of its own (RFC 4145); "existing" from a peer is reported
 *    (reuse): a connection open to the same authority is shared then (RFC 4975 §5.4), as
 *    it is toward a relay.
 *  - Where to connect: the first URI of the peer's a=path (RFC 4975 §5.4, RFC 4976 §5);
 *    with CEMA negotiated (a=msrp-cema in the offer and in the answer, RFC 6714 §4) the
 *    address of the c= line and the port of the m= line instead (RFC 6714 §4.2, so that
 *    a NAT or an SBC that rewrote c=/m= is honoured).
 *  - Our answer's accept-types is the intersection of ours and the offer's, wildcards
 *    resolved to the narrower entry ("*" with "text/plain" → "text/plain", "text/ *" with
 *    "text/html" → "text/html"), in our order, without repeats; the same for
 *    accept-wrapped-types (empty when either side has none). An empty intersection of
 *    accept-types rejects the stream (port 0) and the caller learns it
 *    (SDP_MSRP_NO_COMMON_TYPE: SIP 415, or a 200 with the stream rejected, is the caller's
 *    choice — RFC 4975 §8.1 leaves it to the answerer). No MSRP stream at all:
 *    SDP_MSRP_NO_MEDIA (SIP 488, RFC 3261 §13.3.1.3); a malformed MSRP stream:
 *    SDP_MSRP_BAD_OFFER (SIP 488 too, with the reason in struct sdp_msrp_media.bad).
 *  - The answer has as many m= lines as the offer, in order (RFC 3264 §6); every m= other
 *    than the accepted MSRP stream is answered with port 0 and the offer's media, proto
 *    and formats. t= is the offer's (RFC 3264 §6). Direction: sendonly ↔ recvonly, inactive
 *    stays inactive, sendrecv takes our configured direction (RFC 3264 §6.1).
 *  - What we may send (RFC 4975 §8.1, §8.6, §7.1): a type matching the peer's
 *    accept-types at top level; inside a wrapper (message/cpim) a type matching its
 *    accept-wrapped-types or its accept-types; never a message larger than its max-size;
 *    nothing when the peer said sendonly or inactive.
 *
 * Everything is reentrant and allocates nothing. */
#ifndef SDP_MSRP_H
#define SDP_MSRP_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "sip/sdp-t.h"

/* Parses the media-type list <v> (an accept-types or accept-wrapped-types value) into
 * <out>[0 .. *<n>), at most <max> entries, each "*", "type/ *" or "type/subtype" with
 * token characters (RFC 4975 §9 format-list, RFC 4566 tokens), split by one or more SP.
 * 0, -EINVAL (malformed or empty) or -E2BIG (more than <max>). */
int sdp_msrp_types_parse(cm_slice v, cm_slice *out, unsigned max, unsigned *n);

/* 1 when the media type <type> (type/subtype, parameters after ';' ignored, blanks around
 * allowed) matches the list entry <pattern> ("*", "type/ *" or "type/subtype"), else 0.
 * Case-insensitive. */
int sdp_msrp_type_match(cm_slice pattern, cm_slice type);

/* Finds and reads the MSRP stream of <s> (see the decisions above) into <out>.
 * 0: found and valid (or rejected with port 0: out->port == 0). -ENOENT: no "message"
 * m= with TCP/MSRP or TCP/TLS/MSRP. -EINVAL: the stream is malformed, out->bad says
 * which attribute. Slices point into the text <s> was parsed from. */
int sdp_msrp_find(const struct sdp *s, struct sdp_msrp_media *out);

/* Our side of a session, for an offer or an answer. Slices stay the caller's. */
struct sdp_msrp_local {
	cm_slice username;         /* o= username; empty: "-" */
	cm_slice sess_id;          /* o= sess-id, digits */
	cm_slice sess_version;     /* o= sess-version, digits */
	cm_slice addr;             /* o= and c= address; IP6 when it holds ':', else IP4 */
	uint16_t port;             /* m= port, not 0 */
	int tls;                   /* TCP/TLS/MSRP */
	const cm_slice *path;      /* a=path: a relay's Use-Path first, our own URI last */
	unsigned npath;
	const cm_slice *types;     /* a=accept-types entries, at least one */
	unsigned ntypes;
	const cm_slice *wrapped;   /* a=accept-wrapped-types entries, may be none */
	unsigned nwrapped;
	uint64_t max_size;         /* a=max-size; 0: not written */
	enum sdp_setup setup;      /* offer: ACTPASS (also for ABSENT), ACTIVE or PASSIVE;
				    * answer to actpass: ACTIVE (also for ABSENT) or PASSIVE */
	int cema;                  /* offer a=msrp-cema / accept it in an answer */
	enum sdp_dir dir;          /* what we want: SENDRECV by default */
	const cm_slice *attrs;     /* further media attributes, "name" or "name:value" each
				    * (RFC 5547 file-selector ...), written as they are */
	unsigned nattrs;
};

/* Writes our offer for <l> into <buf> (sdp_write()'s contract; *<n> gets the whole length).
 * 0; -EINVAL when <l> lacks a path, a type or a port, or one of them is malformed (every
 * path URI must pass msrp_uri_parse(), every type sdp_msrp_types_parse()); -ENOSPC when
 * the text did not fit in <len> (*<n> says how much is needed, NUL excluded). */
int sdp_msrp_offer(const struct sdp_msrp_local *l, char *buf, size_t len, size_t *n);

/* What sdp_msrp_answer() made of an offer. */
enum sdp_msrp_verdict {
	SDP_MSRP_OK = 0,           /* the MSRP stream is accepted */
	SDP_MSRP_NO_MEDIA,         /* no MSRP stream (or only rejected ones): SIP 488 */
	SDP_MSRP_BAD_OFFER,        /* the MSRP stream is malformed: SIP 488 */
	SDP_MSRP_NO_COMMON_TYPE,   /* no accept-types in common: SIP 415 (or reject it) */
};

struct sdp_msrp_answer_res {
	enum sdp_msrp_verdict verdict;
	int sip_code;              /* 0 when OK, else the SIP response the verdict suggests */
	int index;                 /* the m= index of the MSRP stream, -1 when none */
	enum sdp_setup setup;      /* what our answer says */
	int we_connect;            /* our answer makes us the active side */
	int cema;                  /* CEMA negotiated */
	enum sdp_msrp_bad bad;     /* SDP_MSRP_BAD_OFFER: which attribute */
};

/* Writes our answer to the parsed offer <offer> with our side <l> into <buf> (contract
 * of sdp_msrp_offer()), and says in <res> what it decided. An answer is written for
 * every verdict (streams rejected with port 0 when not OK), so that a caller that answers
 * 200 with the stream rejected has it. 0, -EINVAL (<l> unusable) or -ENOSPC. */
int sdp_msrp_answer(const struct sdp *offer, const struct sdp_msrp_local *l, char *buf,
		    size_t len, size_t *n, struct sdp_msrp_answer_res *res);

/* The session an offer and its answer agreed on, from our point of view. */
struct sdp_msrp_session {
	int we_connect;            /* 1: we open the TCP/TLS connection; 0: we wait for it */
	int hold;                  /* holdconn: no connection now */
	int cema;                  /* connect to cema_addr:cema_port, not to the URI */
	int reuse;                 /* the peer said a=connection:existing */
	int tls;                   /* TCP/TLS/MSRP */
	const struct sdp_msrp_media *peer; /* the peer's stream (the caller's memory) */
	const struct msrp_uri *connect_to; /* first URI of the peer's path */
	cm_slice cema_addr;        /* c= address of the peer's stream (CEMA) */
	uint16_t cema_port;        /* m= port of the peer's stream (CEMA) */
};

/* Decides from the offer's and the answer's streams (both from sdp_msrp_find()) who
 * connects and where; <we_offered> says which of the two is ours. 0 with <out> filled
 * (out->peer points at <offer> or <answer>, and the To-Path of our requests is the peer's
 * path, out->peer->path[0 .. npath), preceded by our relay's URIs if we use one).
 * -ECONNREFUSED: the answer rejected the stream (port 0, or the offer had port 0);
 * -EPROTO: the a=setup values contradict each other. */
int sdp_msrp_negotiate(const struct sdp_msrp_media *offer,
		       const struct sdp_msrp_media *answer, int we_offered,
		       struct sdp_msrp_session *out);

/* Whether we may send a message of <content_type> and <size> bytes (size unknown: 0) to
 * the peer whose stream is <peer>.  */
enum sdp_msrp_send {
	SDP_MSRP_SEND_OK = 0,
	SDP_MSRP_SEND_TYPE,        /* not in its accept-types (its MSRP answer would be 415) */
	SDP_MSRP_SEND_SIZE,        /* larger than its max-size */
	SDP_MSRP_SEND_DIR,         /* it does not receive (sendonly / inactive) */
};
enum sdp_msrp_send sdp_msrp_may_send(const struct sdp_msrp_media *peer, cm_slice content_type,
				     uint64_t size);

/* The same for a type carried inside a wrapper such as message/cpim (<inner>): it must
 * match the peer's accept-wrapped-types or accept-types (RFC 4975 §8.6). The wrapper's own
 * type goes through sdp_msrp_may_send(). */
enum sdp_msrp_send sdp_msrp_may_send_wrapped(const struct sdp_msrp_media *peer,
					     cm_slice inner);

/* The a=setup token of <v> ("actpass"), "" for SDP_SETUP_ABSENT. */
const char *sdp_setup_name(enum sdp_setup v);

#endif
