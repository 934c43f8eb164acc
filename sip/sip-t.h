/* sip-t.h — SIP (RFC 3261) message types shared by the parser (sip_parse.h), the lazy
 * header-value parsers (sip_hdr.h) and the serializer (sip_write.h). No prototypes here.
 *
 * Everything the parsers hand out is a cm_slice into memory that the caller owns (the
 * datagram, or the connection's receive buffer); nothing is copied, nothing allocated. */
#ifndef SIP_T_H
#define SIP_T_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"

enum sip_method {
	SIP_M_NONE = 0,            /* a response */
	SIP_M_INVITE,
	SIP_M_ACK,
	SIP_M_BYE,
	SIP_M_CANCEL,
	SIP_M_OPTIONS,
	SIP_M_REGISTER,
	SIP_M_MESSAGE,             /* RFC 3428 */
	SIP_M_INFO,                /* RFC 6086 */
	SIP_M_PRACK,               /* RFC 3262 */
	SIP_M_UPDATE,              /* RFC 3311 */
	SIP_M_SUBSCRIBE,           /* RFC 6665 */
	SIP_M_NOTIFY,
	SIP_M_REFER,               /* RFC 3515 */
	SIP_M_PUBLISH,             /* RFC 3903 */
	SIP_M_OTHER,               /* a well-formed token we do not know: 501 for the UAS */
	SIP_M__COUNT
};

/* Header ids. Names are matched case-insensitively, compact forms included (RFC 3261
 * §7.3.3, RFC 3265, RFC 3515, RFC 3841, RFC 3892, RFC 4028, RFC 4474); others are
 * SIP_H_OTHER with their name. */
enum sip_hid {
	SIP_H_OTHER = 0,
	SIP_H_VIA,                 /* v */
	SIP_H_FROM,                /* f */
	SIP_H_TO,                  /* t */
	SIP_H_CALL_ID,             /* i */
	SIP_H_CSEQ,
	SIP_H_CONTACT,             /* m */
	SIP_H_MAX_FORWARDS,
	SIP_H_CONTENT_LENGTH,      /* l */
	SIP_H_CONTENT_TYPE,        /* c */
	SIP_H_CONTENT_ENCODING,    /* e */
	SIP_H_ROUTE,
	SIP_H_RECORD_ROUTE,
	SIP_H_EXPIRES,
	SIP_H_MIN_EXPIRES,
	SIP_H_ALLOW,
	SIP_H_SUPPORTED,           /* k */
	SIP_H_REQUIRE,
	SIP_H_PROXY_REQUIRE,
	SIP_H_UNSUPPORTED,
	SIP_H_WWW_AUTHENTICATE,
	SIP_H_PROXY_AUTHENTICATE,
	SIP_H_AUTHORIZATION,
	SIP_H_PROXY_AUTHORIZATION,
	SIP_H_AUTHENTICATION_INFO,
	SIP_H_SUBJECT,             /* s */
	SIP_H_USER_AGENT,
	SIP_H_SERVER,
	SIP_H_ACCEPT,
	SIP_H_RETRY_AFTER,
	SIP_H_EVENT,               /* o, RFC 3265 */
	SIP_H_ALLOW_EVENTS,        /* u, RFC 3265 */
	SIP_H_SUBSCRIPTION_STATE,  /* RFC 3265 */
	SIP_H_REFER_TO,            /* r, RFC 3515 */
	SIP_H_REFERRED_BY,         /* b, RFC 3892 */
	SIP_H_ACCEPT_CONTACT,      /* a, RFC 3841 */
	SIP_H_REJECT_CONTACT,      /* j, RFC 3841 */
	SIP_H_REQUEST_DISPOSITION, /* d, RFC 3841 */
	SIP_H_SESSION_EXPIRES,     /* x, RFC 4028 */
	SIP_H_IDENTITY,            /* y, RFC 4474 */
	SIP_H_IDENTITY_INFO,       /* n, RFC 4474 */
	SIP_H_PATH,                /* RFC 3327 */
	SIP_H_P_ASSERTED_IDENTITY, /* RFC 3325 */
	SIP_H__COUNT
};

#define SIP_MAX_HEADERS 128        /* hard ceiling of sip_limits.max_headers */

/* One header line (a folded line counts once). */
struct sip_hdr {
	enum sip_hid id;
	cm_slice name;             /* as received */
	cm_slice value;            /* blanks around it removed; a folded value keeps its inner
				    * CRLF + blanks, which every sip_hdr.h parser reads as LWS */
};

/* Why a message was refused; each kind has a counter in sip_parse_stats.errors[]. */
enum sip_perr {
	SIP_PE_NONE = 0,
	SIP_PE_START,              /* 400: start line malformed */
	SIP_PE_VERSION,            /* 505: a SIP-Version other than 2.0 */
	SIP_PE_HEADER,             /* 400: a header line malformed (no colon, bad name, CTL) */
	SIP_PE_MISSING,            /* 400: Via, From, To, Call-ID or CSeq missing */
	SIP_PE_DUP,                /* 400: From, To, Call-ID, CSeq, Max-Forwards,
				    *      Content-Length or Content-Type repeated */
	SIP_PE_VALUE,              /* 400: an essential value malformed (top Via, From, To,
				    *      Call-ID, CSeq, Content-Length, Max-Forwards) */
	SIP_PE_CSEQ_METHOD,        /* 400: CSeq method differs from the request method */
	SIP_PE_NO_LENGTH,          /* 400: no Content-Length on a stream */
	SIP_PE_BODY,               /* 400: fewer body bytes than Content-Length (datagram) */
	SIP_PE_LINE,               /* 400: a line longer than max_line (limit) */
	SIP_PE_HEADERS,            /* 400: more header lines than max_headers (limit) */
	SIP_PE_SIZE,               /* 400/413: message longer than max_msg (limit) */
	SIP_PE__COUNT
};

/* Bounds of the parser; each is counted in sip_parse_stats.errors[] when hit. */
struct sip_limits {
	uint32_t max_line;         /* bytes of one line, CRLF included (each line of a folded
				    * header counts on its own) */
	uint32_t max_headers;      /* header lines, at most SIP_MAX_HEADERS */
	uint32_t max_msg;          /* bytes of a whole message: head + body */
};

/* Counters of one worker's parsers (plain integers: one thread writes them). */
struct sip_parse_stats {
	uint64_t requests;         /* requests parsed */
	uint64_t responses;        /* responses parsed */
	uint64_t keepalives;       /* keep-alive reports on streams (RFC 5626 §3.5.1) */
	uint64_t pings;            /* ... of which double-CRLF pings */
	uint64_t partial;          /* stream calls that returned SIP_AGAIN */
	uint64_t errors[SIP_PE__COUNT];
};

/* Shared by the parsers of one worker; must outlive them. */
struct sip_parse_cfg {
	struct sip_limits limits;
	struct sip_parse_stats *stats;  /* required */
};

/* What one parse produced. */
enum sip_kind {
	SIP_KIND_NONE = 0,         /* nothing (error before the start line) */
	SIP_KIND_REQUEST,
	SIP_KIND_RESPONSE,
	SIP_KIND_KEEPALIVE,        /* streams: CRLFs between messages (msg.ping) */
};

/* A parsed message: start line, headers, body. All slices point into the parsed bytes. */
struct sip_msg {
	enum sip_kind kind;
	enum sip_method method;    /* requests */
	cm_slice method_name;      /* requests, as received */
	cm_slice ruri;             /* requests: the Request-URI, unparsed (sip_uri_parse) */
	cm_slice version;          /* "SIP/2.0" as received */
	int status;                /* responses: 100..699 */
	cm_slice reason;           /* responses: Reason-Phrase, may be empty */
	unsigned nhdrs;
	struct sip_hdr hdrs[SIP_MAX_HEADERS];
	int16_t first[SIP_H__COUNT]; /* index in hdrs of the first header of each id, -1 */
	cm_slice body;             /* empty (p NULL) when none */
	size_t len;                /* bytes of the message (keep-alive: of the CRLFs) */
	int ping;                  /* KEEPALIVE: a double CRLF was completed (answer CRLF) */
	/* Errors. A message with err != SIP_PE_NONE was refused; what was read is still here
	 * (start line, header lines up to the limits, a bad line skipped) so that a request
	 * can be answered: */
	enum sip_perr err;
	const char *reason_text;   /* short static text */
	int err_status;            /* the code to answer: 400, 413, 505 */
	int replyable;             /* a request other than ACK whose top Via, From, To, Call-ID
				    * and CSeq are present, single and parse: answer err_status
				    * (sip_write_response_from) instead of dropping it */
};

/* One stream's incremental parser (TCP, TLS). Treat as opaque. */
struct sip_stream {
	const struct sip_parse_cfg *cfg;
	uint32_t scan;             /* bytes of the head searched so far */
	uint32_t line;             /* offset of the line being scanned */
	uint32_t nlines;           /* lines of the head scanned so far */
	uint32_t need;             /* head found: bytes of the whole message, 0 before */
	uint32_t crlfs;            /* keep-alive CRLFs since the last message */
	uint8_t dead;              /* an error: every later call repeats it */
	uint8_t err;               /* enum sip_perr of that error */
};

/* ---- URIs and header values (sip_hdr.h) -------------------------------------------- */

enum sip_scheme {
	SIP_SCHEME_SIP = 0,
	SIP_SCHEME_SIPS,
	SIP_SCHEME_TEL,            /* RFC 3966 */
};

enum sip_host_type {
	SIP_HOST_NAME = 0,
	SIP_HOST_IPV4,
	SIP_HOST_IPV6,             /* the host slice keeps its brackets: "[2001:db8::1]" */
};

/* sip:, sips: or tel: URI. Absent parts are empty slices with p NULL. */
struct sip_uri {
	enum sip_scheme scheme;
	cm_slice user;             /* escaped as written; tel: the number */
	cm_slice password;
	cm_slice host;
	enum sip_host_type host_type;
	uint16_t port;             /* 0: absent */
	cm_slice params;           /* ";a=b;lr" after the host (or the tel number), without
				    * the first ';'; walk with sip_param_next() */
	cm_slice headers;          /* after '?', without it */
	cm_slice transport;        /* values of the well-known parameters, from params */
	cm_slice maddr;
	cm_slice user_param;       /* ";user=phone" */
	cm_slice method;           /* ";method=" */
	int lr;                    /* ";lr" present */
	int ttl;                   /* ";ttl=", -1 when absent */
};

/* name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route,
 * Refer-To, P-Asserted-Identity. */
struct sip_addr {
	cm_slice display;          /* display-name without quotes (escapes left), p NULL if none */
	cm_slice uri;              /* the URI text (between < > for name-addr) */
	int star;                  /* Contact: "*" */
	cm_slice params;           /* header params after the address, without the first ';' */
	cm_slice tag;              /* ";tag=" value */
	cm_slice expires;          /* ";expires=" (Contact) */
	cm_slice q;                /* ";q=" (Contact) */
};

/* One Via element. */
struct sip_via {
	cm_slice proto_name;       /* "SIP" */
	cm_slice proto_version;    /* "2.0" */
	cm_slice transport;        /* "UDP", "TCP", "TLS", "SCTP", "WS", ... */
	cm_slice host;             /* sent-by host (IPv6 with brackets) */
	enum sip_host_type host_type;
	uint16_t port;             /* 0: absent */
	cm_slice params;           /* without the first ';' */
	cm_slice branch;
	cm_slice received;
	cm_slice maddr;
	int rport;                 /* ";rport" present */
	int32_t rport_value;       /* its value, -1 when none */
	int ttl;                   /* -1 when absent */
};

struct sip_cseq {
	uint32_t seq;              /* < 2**31 (RFC 3261 §8.1.1.5) */
	enum sip_method method;
	cm_slice method_name;
};

struct sip_ctype {
	cm_slice type;             /* "application" */
	cm_slice subtype;          /* "sdp" */
	cm_slice params;           /* after the first ';', or empty */
};

#endif
