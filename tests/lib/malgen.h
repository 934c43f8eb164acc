/* malgen.h — a deterministic generator of malformed frames for the fault tests (issue 12).
 *
 * From a few valid templates per protocol (MSRP, SIP, HTTP/1.1 for the REST API, WebSocket
 * client frames, Diameter, CPIM bodies) it makes mutated frames: truncations, oversize lines,
 * heads, bodies and frames, lying lengths, bad UTF-8 and control bytes, header floods and
 * repeated headers, bad start lines, bad numbers, missing mandatory headers, CR/LF variants.
 * Written apart from rcsgw's parsers (it includes none of msrp/, sip/, diameter/): what it
 * makes follows the RFCs' grammar and then breaks it. The same seed gives the same frames.
 *
 * The caller owns struct mg_frame's buffer (mg_frame_free). Nothing here asserts. */
#ifndef TESTS_LIB_MALGEN_H
#define TESTS_LIB_MALGEN_H

#include <stddef.h>
#include <stdint.h>

enum mg_proto {
	MG_MSRP,      /* an MSRP request (SEND, AUTH, NICKNAME) on a stream */
	MG_SIP,       /* a SIP request (MESSAGE, OPTIONS, INVITE) */
	MG_HTTP,      /* an HTTP/1.1 request to the REST API (JSON bodies) */
	MG_WS,        /* one WebSocket frame of a client (after the upgrade) */
	MG_DIAMETER,  /* a Diameter request from a peer (after CER/CEA) */
	MG_CPIM,      /* a message/cpim body (IMDN or isComposing inside sometimes) */
	MG_PROTOS
};

enum mg_kind {
	MG_TRUNCATE,     /* cut at a start line, a header name or value, a body, an end line */
	MG_OVER_LINE,    /* one header line over the limit */
	MG_OVER_HEAD,    /* a head over the limit made of lines under it */
	MG_OVER_BODY,    /* a body (or a whole frame) over the limit, its length told right */
	MG_BAD_LENGTH,   /* a length field lying either way */
	MG_BAD_UTF8,     /* invalid UTF-8 in a header value or the body */
	MG_CTRL,         /* control bytes: NUL, DEL, bare CR or LF inside a line */
	MG_FLOOD,        /* thousands of headers (AVPs) */
	MG_REPEAT,       /* a mandatory header (AVP) twice, with two values */
	MG_BAD_START,    /* a broken start line (header, opcode) */
	MG_BAD_NUMBER,   /* a number that overflows, is negative or has junk */
	MG_MISSING,      /* a mandatory header (AVP) left out */
	MG_CRLF,         /* LF, CR or CRCRLF instead of CRLF, blank lines in front */
	MG_KINDS
};

/* Limits the oversize kinds go past: those of the daemon under test. */
struct mg_limits {
	size_t max_line;     /* msrp.max_line */
	size_t max_head;     /* msrp.max_head; also the head of SIP/HTTP in the oversize kinds */
	size_t max_body;     /* msrp.max_chunk, sip.max_message, the API's body limit */
	size_t max_message;  /* msrp.ws_max_message; Diameter: bytes of a message */
	int max_headers;     /* msrp.max_headers; Diameter: AVPs in a message */
};

struct malgen {
	uint64_t s;              /* xorshift64* state */
	struct mg_limits lim;
	char host[64];           /* "127.0.0.1:port" the frames are addressed to */
	char path_to[256];       /* MSRP To-Path of valid frames; "" makes one up */
	char path_from[256];     /* MSRP From-Path; "" makes one up */
	char transport[8];       /* SIP Via transport ("UDP" when "") */
	char via[64];            /* SIP Via sent-by ("127.0.0.1:9" when "") */
	unsigned long seq;       /* frames made */
};

struct mg_frame {
	uint8_t *p;
	size_t len, cap;
	enum mg_kind kind;
	int variant;             /* which form of <kind> (for the logs) */
	int incomplete;          /* the frame ends before its framing says: on a stream the
				  * receiver waits for more (the sender should end its side) */
	char id[40];             /* the transaction id / Call-ID / hop-by-hop id in text */
};

void mg_init(struct malgen *g, uint64_t seed, const struct mg_limits *lim, const char *host);
uint32_t mg_rand(struct malgen *g);
/* A number in [0, n). */
uint32_t mg_below(struct malgen *g, uint32_t n);

/* Makes the next malformed frame of <proto> into <f> (its buffer grown as needed), of kind
 * <kind> (MG_KINDS: one drawn at random). 0, or -ENOMEM. */
int mg_make(struct malgen *g, enum mg_proto proto, enum mg_kind kind, struct mg_frame *f);

/* A valid frame of <proto> (no mutation): for the checks that the daemon still works. */
int mg_valid(struct malgen *g, enum mg_proto proto, struct mg_frame *f);

/* WebSocket helper: a masked client frame with <opcode>, <fin>, payload <p>/<n> into <f>
 * (appended). */
int mg_ws_frame(struct mg_frame *f, int fin, int opcode, const void *p, size_t n,
		uint32_t mask);

/* Diameter: a valid CER (the connection's first message) from Origin-Host malgen.host. */
int mg_dm_cer(struct malgen *g, struct mg_frame *f);

/* Sets <f> to the <n> bytes of <p> (a frame of the caller's). 0 or -ENOMEM. */
int mg_frame_set(struct mg_frame *f, const void *p, size_t n);

void mg_frame_free(struct mg_frame *f);
const char *mg_kind_name(enum mg_kind k);

#endif
