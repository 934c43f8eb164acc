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

/* ---- serializer, chunker, reassembly, report decisions --------------------------------
 * (msrp_write.c, msrp_chunk.c, msrp_reasm.c, msrp_report.c) */

/* Mints a transaction id into <buf> of <len> bytes: 4..MSRP_TID_MAX ident characters (a NUL
 * after them is allowed, not needed). Returns their count, or -errno. msrp_id_tid() behind a
 * two-line wrapper fits; tests pass a deterministic one. */
typedef int (*msrp_tid_fn)(void *arg, char *buf, size_t len);

#define MSRP_TAIL_MAX 44           /* "\r\n-------" tid flag "\r\n" with the longest tid */
#define MSRP_TID_TRIES 8           /* fresh tids tried for a body before giving up */

/* One frame to serialize (msrp_write_head()). A field left zero is left out of the frame, so
 * a designated initializer names only what the frame carries. Headers come out in the order
 * of the RFC 4975 §10 / RFC 4976 §7 examples: To-Path, From-Path, Message-ID, Byte-Range,
 * Success-Report, Failure-Report, Status, Use-Path, Expires, Min-Expires, Max-Expires,
 * <extra> in their order, then, with a body, <mime> and Content-Type last (§9 content-stuff).
 * Every slice stays the caller's. */
struct msrp_out {
	cm_slice tid;
	enum msrp_method method;   /* MSRP_M_NONE: a response */
	cm_slice method_name;      /* MSRP_M_OTHER: the method token */
	int status;                /* responses: 100..999 */
	cm_slice comment;          /* responses: text after the code; empty: none */
	cm_slice to_path;          /* URIs separated by one space, as they go on the wire */
	cm_slice from_path;
	cm_slice message_id;
	const struct msrp_range *byte_range;
	enum msrp_report success_report; /* MSRP_REPORT_ABSENT: header left out */
	enum msrp_report failure_report;
	const struct msrp_status *report_status; /* REPORT: the Status header */
	cm_slice use_path;         /* RFC 4976 */
	cm_slice expires;
	cm_slice min_expires;
	cm_slice max_expires;
	const struct msrp_hdr *extra; /* other headers, "name: value" (id unused) */
	unsigned nextra;
	const struct msrp_hdr *mime;  /* Content-ID, Content-Description, Content-Disposition */
	unsigned nmime;
	cm_slice content_type;     /* not empty: a body follows the head */
};

/* Chunker (msrp_chunk.c). */
#define MSRP_CHUNK_SIZE_DEFAULT 2048 /* body bytes per chunk when the caller says 0 */
#define MSRP_CHUNK_F_END_STAR 0x1  /* range-end '*' on chunks before the last (§7.1: interruptible) */

/* What msrp_chunk_init() needs to know of one outgoing message. */
struct msrp_chunk_msg {
	cm_slice to_path;
	cm_slice from_path;
	cm_slice message_id;
	cm_slice content_type;     /* required unless the message is empty */
	const struct msrp_hdr *mime;
	unsigned nmime;
	enum msrp_report success_report; /* the same in every chunk (§7.1.1) */
	enum msrp_report failure_report;
	int64_t total;             /* body bytes; -1: not known yet ('*', streaming) */
	const cm_slice *body;      /* the body's pieces (all of them, or the first ones) */
	unsigned nbody;
	int body_final;            /* no piece will be added (implied when total >= 0 and given) */
	uint32_t chunk_size;       /* body bytes per chunk at most; 0: MSRP_CHUNK_SIZE_DEFAULT */
	unsigned flags;            /* MSRP_CHUNK_F_* */
	msrp_tid_fn tid_fn;
	void *tid_arg;
};

enum msrp_chunk_state {
	MSRP_CHUNK_ACTIVE = 0,
	MSRP_CHUNK_ABORTING,       /* msrp_chunk_abort(): a '#' chunk is owed */
	MSRP_CHUNK_DONE,           /* the last chunk ('$' or '#') was produced */
};

/* One outgoing message being chunked. It lives with the message: no allocation. */
struct msrp_chunker {
	struct msrp_chunk_msg m;   /* the description; body/nbody/body_final move with feeds */
	unsigned idx;              /* piece of m.body the next chunk starts in */
	size_t off;                /* offset in that piece */
	uint64_t sent;             /* body bytes handed out in chunks */
	uint32_t nchunks;          /* chunks produced */
	enum msrp_chunk_state state;
};

/* One chunk from msrp_chunk_next(): send head, the body slices, then tail. */
struct msrp_chunk_out {
	char tid[MSRP_TID_MAX + 1]; /* NUL-terminated */
	size_t tid_len;
	struct msrp_range range;   /* as written in Byte-Range */
	enum msrp_flag flag;
	cm_slice head;             /* in the caller's buffer */
	cm_slice tail;             /* in the caller's buffer, right after head */
	unsigned nbody;            /* slices filled in the caller's array (the body's memory) */
	uint64_t body_len;
};

/* Reassembly (msrp_reasm.c). */
#define MSRP_REASM_RANGES 256      /* disjoint byte ranges per message, at most (413 beyond) */
#define MSRP_REASM_DEAD 16         /* recently finished Message-IDs remembered per reassembler */
#define MSRP_REASM_PARTIAL_MAX 4096 /* ceiling of msrp_reasm_cfg.max_partial */

struct msrp_reasm;                 /* opaque: msrp_reasm.c */

struct msrp_reasm_cfg {
	uint64_t max_message;      /* bytes of one message; 413 beyond */
	uint32_t max_chunks;       /* chunks of one message; 413 beyond */
	uint32_t max_partial;      /* messages being reassembled at once; 413 to a new one beyond */
	uint32_t timeout_ms;       /* a message with no chunk for this long is dropped */
	uint32_t grow_step;        /* '*' totals: the buffer grows by at most this much at once */
	uint64_t max_buffered;     /* bytes held by all its partial messages together; 413 beyond */
};

#define MSRP_REASM_MAX_MESSAGE_DEFAULT (16u << 20) /* bytes */
#define MSRP_REASM_MAX_CHUNKS_DEFAULT 16384 /* max_message in 1 KiB chunks */
#define MSRP_REASM_MAX_PARTIAL_DEFAULT 16
#define MSRP_REASM_TIMEOUT_DEFAULT 120000 /* ms */
#define MSRP_REASM_GROW_STEP_DEFAULT (256u << 10) /* bytes */
#define MSRP_REASM_MAX_BUFFERED_DEFAULT (64u << 20) /* bytes */

/* Cursor over one incoming chunk, from msrp_reasm_begin() to msrp_reasm_end(). */
struct msrp_reasm_chunk {
	uint32_t slot;
	uint32_t gen;              /* the slot's generation: a dropped message is seen */
	uint64_t start0;           /* 0-based offset of the chunk's first byte */
	uint64_t pos;              /* 0-based offset of the next byte */
	int64_t end;               /* range-end as received (1-based), -1: '*' */
	int verdict;               /* set early: the body is skipped, msrp_reasm_end() says it */
};

/* A whole message; the caller owns it (msrp_reasm_msg_free()). */
struct msrp_reasm_msg {
	char *data;                /* malloc'd, <len> bytes; NULL when len is 0 */
	uint64_t len;
	char *content_type;        /* malloc'd, NUL-terminated; NULL when no chunk had one */
	size_t content_type_len;
	char message_id[MSRP_TID_MAX + 1]; /* Message-ID is an ident too; NUL-terminated */
	size_t message_id_len;
	enum msrp_report failure_report; /* what the sender asked (set by msrp_ua; else ABSENT) */
};

/* Counted when it happens (msrp_reasm_stats()). */
struct msrp_reasm_stats {
	uint64_t complete;         /* messages delivered */
	uint64_t aborted;          /* '#' received */
	uint64_t expired;          /* dropped by msrp_reasm_expire() */
	uint64_t too_big;          /* max_message (413) */
	uint64_t too_many_chunks;  /* max_chunks or MSRP_REASM_RANGES (413) */
	uint64_t too_many_partial; /* max_partial (413) */
	uint64_t bad_range;        /* inconsistent Byte-Range / body (400) */
	uint64_t no_memory;        /* malloc failed or max_buffered reached (413) */
	uint64_t late;             /* chunks of finished messages, ignored */
};

/* Report decisions (msrp_report.c): what happens to a request, RFC 4975 §7.1.1–§7.2. */
enum msrp_report_event {
	MSRP_REV_RECEIVED = 0,     /* we received the request and settled on <code> for it */
	MSRP_REV_RESPONSE,         /* response <code> came for a request we sent or forwarded */
	MSRP_REV_TIMEOUT,          /* no response in time: a local 408 */
};

struct msrp_report_in {
	enum msrp_report_event event;
	enum msrp_method method;
	enum msrp_report success_report; /* as the request carried them (ABSENT: absent) */
	enum msrp_report failure_report;
	int code;                  /* RECEIVED, RESPONSE: 200..999 */
	int forwarded;             /* RESPONSE, TIMEOUT: we relayed the request, not sent it */
	int complete;              /* RECEIVED: this chunk completed the whole message */
};

struct msrp_report_out {
	int respond;               /* send response <code> to the previous hop */
	int code;                  /* of the response, the failure REPORT, or the failure */
	int failure_report;        /* send REPORT Status "000 <code>" to the request's From-Path */
	int success_report;        /* send REPORT Status "000 200" covering the whole message */
	int failed;                /* tell the sending application: the request failed (<code>) */
	int stop_message;          /* stop sending the rest of this message (413) */
};

#endif
