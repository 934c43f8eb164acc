/* msrp_parse-t.h — types of the incremental MSRP frame parser (msrp_parse.h) and of its
 * lazy header-value parsers (msrp_hdr.h).
 *
 * One struct msrp_parser lives in every connection: it is the resumable state of the
 * inbound byte stream. Everything the worker's connections share (limits, the head-buffer
 * allocator, the counters) is one struct msrp_parse_cfg that the parsers point to. */
#ifndef MSRP_PARSE_T_H
#define MSRP_PARSE_T_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

/* What one msrp_parse() call reports. */
enum msrp_ev_type {
	MSRP_EV_NEED_MORE = 0,     /* all of the data was consumed, nothing to report */
	MSRP_EV_HEAD,              /* start line and headers complete: ev.msg */
	MSRP_EV_BODY,              /* body bytes: ev.body */
	MSRP_EV_END,               /* end-line seen: ev.flag, ev.tid */
	MSRP_EV_ERROR,             /* the stream is broken: ev.status, ev.err, ev.reason */
};

/* Why a stream was refused; each kind has a counter in msrp_parse_stats.errors[]. */
enum msrp_perr {
	MSRP_PE_NONE = 0,
	MSRP_PE_SYNTAX,            /* 400: start line, header line or end-line malformed */
	MSRP_PE_SEMANTIC,          /* 400: To-Path/From-Path missing, duplicate header,
				    *      body without Content-Type, response with a body */
	MSRP_PE_LINE,              /* 400: a start or header line longer than max_line */
	MSRP_PE_HEADERS,           /* 400: more header lines than max_headers */
	MSRP_PE_HEAD,              /* 400: start line + headers longer than max_head */
	MSRP_PE_BODY,              /* 413: body longer than max_body */
	MSRP_PE_NOMEM,             /* 0:   no head buffer for a split head */
	MSRP_PE__COUNT
};

/* Counters of one worker's parsers (plain integers: one thread writes them). */
struct msrp_parse_stats {
	uint64_t heads;            /* HEAD events */
	uint64_t heads_split;      /* heads that arrived in pieces (copied to a head buffer) */
	uint64_t frames;           /* END events */
	uint64_t body_bytes;       /* bytes handed out in BODY events */
	uint64_t held_back;        /* BODY events made of held-back end-line lookalikes */
	uint64_t errors[MSRP_PE__COUNT];
};

/* Shared by the parsers of one worker; must outlive them. */
struct msrp_parse_cfg {
	struct msrp_limits limits;
	/* A head buffer of at least *<cap> bytes (the parser asks for limits.max_head); the
	 * allocator may raise *<cap>. NULL when none can be had (the stream then fails with
	 * MSRP_PE_NOMEM). Called only when a head is split across msrp_parse() calls. */
	void *(*alloc)(void *ctx, size_t *cap);
	void (*release)(void *ctx, void *p);
	void *ctx;
	struct msrp_parse_stats *stats;   /* required */
};

/* CRLF "-------" transact-id flag CRLF: the longest end-line with its leading CRLF. */
#define MSRP_ENDLINE_MAX (2 + 7 + MSRP_TID_MAX + 1 + 2)

/* One connection's inbound parser. Treat as opaque. 96 bytes on LP64. */
struct msrp_parser {
	const struct msrp_parse_cfg *cfg;
	char *hbuf;                /* split head: its bytes so far; NULL when none is held */
	uint64_t body_len;         /* body bytes of the current frame handed out so far */
	uint32_t hlen;             /* bytes in hbuf */
	uint32_t hline;            /* hbuf offset of the line not yet complete */
	uint32_t seen;             /* bit (1 << msrp_hid) per header of the current head */
	uint16_t status;           /* ERROR: the code to answer */
	uint8_t state;             /* msrp_parse.c: S_* */
	uint8_t flags;             /* msrp_parse.c: P_* */
	uint8_t m;                 /* bytes of pat matched so far (end-line search) */
	uint8_t plen;              /* bytes of pat before the flag: 9 + transact-id length */
	uint8_t nhdrs;             /* header lines of the current head */
	uint8_t method;            /* enum msrp_method of the current frame */
	uint8_t err;               /* ERROR: enum msrp_perr */
	uint8_t reason;            /* ERROR: index of the reason text */
	/* CRLF "-------" <transact-id> <flag> CRLF of the current frame: the pattern the body is
	 * searched for, and the bytes of a failed lookalike are handed out from here. */
	char pat[MSRP_ENDLINE_MAX];
};

/* One event. HEAD fills msg; the other members are set as their event says. */
struct msrp_ev {
	enum msrp_ev_type type;
	enum msrp_flag flag;       /* END: $, + or # */
	cm_slice body;             /* BODY: never empty */
	cm_slice tid;              /* END, ERROR: the frame's transact-id, empty when unknown */
	int status;                /* ERROR: 400, 413, or 0 (close without answering) */
	enum msrp_perr err;        /* ERROR */
	const char *reason;        /* ERROR: short static text */
	int is_request;            /* ERROR with a tid: the frame was a request */
	enum msrp_method method;   /* ERROR with a tid: its method */
	struct msrp_msg msg;       /* HEAD */
};

/* Content-Type value split by msrp_hdr_ctype(); slices into the value. */
struct msrp_ctype {
	cm_slice type;             /* "text" */
	cm_slice subtype;          /* "plain" */
	cm_slice params;           /* "charset=utf-8; x=\"y\"": after the first ';', or empty */
};

#endif
