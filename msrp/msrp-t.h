/* msrp-t.h — MSRP (RFC 4975, RFC 4976) types shared by the parser, the serializer, the
 * chunker and the layers above. No prototypes here.
 *
 * Everything a parser hands out is a cm_slice into memory that someone else owns (the
 * receive buffer, or the parser's head buffer when a head was split across reads); its
 * validity is stated where it is produced. */
#ifndef MSRP_T_H
#define MSRP_T_H

#include <stdint.h>

#include "common/cm_slice-t.h"

enum msrp_method {
	MSRP_M_NONE = 0,           /* a response */
	MSRP_M_SEND,
	MSRP_M_REPORT,
	MSRP_M_AUTH,               /* RFC 4976 */
	MSRP_M_OTHER,              /* well-formed but unknown: answered 501 */
};

/* Header ids. Known headers are found by a table (case-insensitive names); others are
 * kept as MSRP_H_OTHER with their name. */
enum msrp_hid {
	MSRP_H_OTHER = 0,
	MSRP_H_TO_PATH,
	MSRP_H_FROM_PATH,
	MSRP_H_MESSAGE_ID,
	MSRP_H_BYTE_RANGE,
	MSRP_H_SUCCESS_REPORT,
	MSRP_H_FAILURE_REPORT,
	MSRP_H_STATUS,
	MSRP_H_CONTENT_TYPE,
	MSRP_H_CONTENT_ID,
	MSRP_H_CONTENT_DESCRIPTION,
	MSRP_H_CONTENT_DISPOSITION,
	MSRP_H_USE_PATH,           /* RFC 4976 */
	MSRP_H_WWW_AUTHENTICATE,
	MSRP_H_AUTHORIZATION,
	MSRP_H_AUTHENTICATION_INFO,
	MSRP_H_EXPIRES,
	MSRP_H_MIN_EXPIRES,
	MSRP_H_MAX_EXPIRES,
	MSRP_H__COUNT
};

#define MSRP_MAX_HEADERS 64    /* hard ceiling of msrp_limits.max_headers */
#define MSRP_TID_MAX 32        /* transact-id = ident = 4..32 characters */

struct msrp_hdr {
	enum msrp_hid id;
	cm_slice name;             /* as received */
	cm_slice value;            /* leading/trailing blanks removed */
};

/* The continuation flag of an end-line. */
enum msrp_flag {
	MSRP_FLAG_NONE = 0,
	MSRP_FLAG_END = '$',       /* last chunk of the message */
	MSRP_FLAG_MORE = '+',      /* more chunks follow */
	MSRP_FLAG_ABORT = '#',     /* the sender gave up on the message */
};

/* A frame's start line and headers. */
struct msrp_msg {
	int is_request;
	cm_slice tid;              /* transaction id */
	enum msrp_method method;   /* requests */
	cm_slice method_name;      /* requests, as received */
	int status;                /* responses: 100..999 */
	cm_slice comment;          /* responses: optional text after the code */
	unsigned nhdrs;
	struct msrp_hdr hdrs[MSRP_MAX_HEADERS];
	int8_t first[MSRP_H__COUNT]; /* index in hdrs of the first header of each id, -1 */
	int has_body;              /* a Content-Type and a body follow the headers */
};

/* Bounds of the parser; every one is counted when hit (msrp_parser stats). */
struct msrp_limits {
	uint32_t max_line;         /* bytes of one start or header line (CRLF included) */
	uint32_t max_headers;      /* header lines per frame, at most MSRP_MAX_HEADERS */
	uint32_t max_head;         /* bytes of start line + headers + blank line */
	uint64_t max_body;         /* bytes of one frame's body (one chunk) */
};

/* Byte-Range: start-end/total; end and total may be '*' (-1). */
struct msrp_range {
	uint64_t start;            /* 1-based */
	int64_t end;               /* -1: '*' */
	int64_t total;             /* -1: '*' */
};

/* Success-Report / Failure-Report values. */
enum msrp_report {
	MSRP_REPORT_ABSENT = 0,
	MSRP_REPORT_YES,
	MSRP_REPORT_NO,
	MSRP_REPORT_PARTIAL,       /* Failure-Report only */
};

/* Status header of a REPORT: namespace (000) code [comment]. */
struct msrp_status {
	int ns;
	int code;
	cm_slice comment;
};

/* An MSRP URI (RFC 4975 §9, with RFC 7977's ;ws transport). Slices point into the
 * string that was parsed. */
enum msrp_transport {
	MSRP_TP_TCP = 0,
	MSRP_TP_WS,                /* RFC 7977 */
	MSRP_TP_OTHER,
};

enum msrp_host_type {
	MSRP_HOST_IPV4 = 0,
	MSRP_HOST_IPV6,            /* host slice without the brackets */
	MSRP_HOST_NAME,
};

struct msrp_uri {
	int secure;                /* msrps */
	cm_slice userinfo;         /* empty when absent */
	cm_slice host;
	enum msrp_host_type host_type;
	uint16_t port;             /* 0 when absent */
	cm_slice session_id;       /* empty when absent (relay URIs) */
	enum msrp_transport transport;
	cm_slice transport_name;   /* as written */
	cm_slice params;           /* ";..." after the transport, uninterpreted */
};

/* Sizes of URIs and of the identifiers rcsgw mints (msrp_uri.c, msrp_id.c). */
#define MSRP_URI_DEFAULT_PORT 2855 /* IANA's MSRP port (RFC 4975 §15), authority keys only */
#define MSRP_URI_HOST_MAX 255      /* characters of a DNS name in a URI */
#define MSRP_URI_TRANSPORT_MAX 16  /* characters of a transport token ("tcp", "ws") */
#define MSRP_URI_KEY_MAX 288       /* bytes that hold any authority key, NUL included */
#define MSRP_ID_SESSION_LEN 24     /* characters of a session-id minted here */
#define MSRP_ID_TID_LEN 16         /* characters of a transaction id minted here */
#define MSRP_ID_MSGID_LEN 24       /* characters of a Message-ID minted here */

#endif
