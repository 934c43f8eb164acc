/* sdp-t.h — SDP (RFC 4566) types: the parsed description, its limits and counters, and the
 * MSRP media description (RFC 4975 §8, RFC 6135, RFC 6714). No prototypes here.
 *
 * Everything the parser hands out is a cm_slice into the text that was parsed (the SIP
 * body); it is valid as long as that text is. */
#ifndef SDP_T_H
#define SDP_T_H

#include <stdint.h>

#include "common/cm_slice-t.h"
#include "msrp/msrp-t.h"

/* Hard ceilings of the arrays in struct sdp; struct sdp_limits may only lower them. */
#define SDP_MEDIA_MAX 16           /* m= sections */
#define SDP_ATTR_MAX 128           /* a= lines, session and media levels together */
#define SDP_OTHER_MAX 64           /* lines kept as they came (t= b= i= k= unknown ...) */

/* Defaults of struct sdp_limits (sdp_limits_default()). */
#define SDP_SIZE_DEFAULT 16384     /* bytes of a whole description */
#define SDP_LINES_DEFAULT 256      /* lines */
#define SDP_LINE_DEFAULT 2048      /* bytes of one line, line end excluded */

/* Why a description was refused (struct sdp.err.code; sdp_strerror()). */
enum sdp_err {
	SDP_E_NONE = 0,
	SDP_E_SIZE,                /* longer than max_size */
	SDP_E_LINES,               /* more than max_lines lines */
	SDP_E_LINE_LEN,            /* a line longer than max_line */
	SDP_E_MEDIA,               /* more than max_media m= sections */
	SDP_E_ATTRS,               /* more than max_attrs a= lines */
	SDP_E_OTHERS,              /* more than SDP_OTHER_MAX kept lines */
	SDP_E_SYNTAX,              /* not <letter>=<value>, or a byte a line may not hold */
	SDP_E_EMPTY_LINE,          /* an empty line before the end */
	SDP_E_VERSION,             /* first line not "v=0" */
	SDP_E_ORDER,               /* o= / s= not where RFC 4566 §5 puts them, or repeated */
	SDP_E_MISSING,             /* no o=, s= or t= in the session part */
	SDP_E_ORIGIN,              /* malformed o= */
	SDP_E_CONN,                /* malformed or repeated c= */
	SDP_E_TIME,                /* malformed t= */
	SDP_E_MLINE,               /* malformed m= */
	SDP_E_ATTR,                /* malformed a= (name not a token) */
	SDP_E__COUNT
};

/* Bounds of the parser; each is counted when hit (struct sdp_stats). 0 in a field means
 * its default; a value above the matching ceiling is taken as the ceiling. */
struct sdp_limits {
	uint32_t max_size;         /* bytes of the whole input */
	uint32_t max_lines;        /* lines */
	uint32_t max_line;         /* bytes of one line without its line end */
	uint32_t max_media;        /* m= sections, at most SDP_MEDIA_MAX */
	uint32_t max_attrs;        /* a= lines, at most SDP_ATTR_MAX */
};

/* Counters one owner (a worker) keeps across parses; sdp_parse() adds to them. */
struct sdp_stats {
	uint64_t parsed;           /* descriptions taken */
	uint64_t malformed;        /* refused for their syntax (every code but the limits) */
	uint64_t too_big;          /* SDP_E_SIZE */
	uint64_t too_many_lines;   /* SDP_E_LINES and SDP_E_OTHERS */
	uint64_t line_too_long;    /* SDP_E_LINE_LEN */
	uint64_t too_many_media;   /* SDP_E_MEDIA */
	uint64_t too_many_attrs;   /* SDP_E_ATTRS */
};

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
struct sdp_origin {
	cm_slice username;
	cm_slice sess_id;
	cm_slice sess_version;
	cm_slice nettype;
	cm_slice addrtype;
	cm_slice addr;
};

/* c=<nettype> <addrtype> <connection-address>; present == 0 when there is none. */
struct sdp_conn {
	int present;
	cm_slice nettype;          /* "IN" */
	cm_slice addrtype;         /* "IP4" / "IP6" */
	cm_slice addr;             /* as written (a multicast "/ttl" suffix kept) */
};

/* a=<name>[:<value>] */
struct sdp_attr {
	cm_slice name;
	cm_slice value;            /* after the first ':'; empty when none */
	int has_value;             /* a ':' was there (the value may still be empty) */
	int media;                 /* index of its m= section, -1 at session level */
};

/* A line that has no field of its own in struct sdp (t= i= u= e= p= b= r= z= k=, unknown
 * letters), kept in order so that sdp_write() can write it again. */
struct sdp_line {
	char type;                 /* the letter */
	cm_slice value;            /* after "=" */
	int media;                 /* index of its m= section, -1 at session level */
};

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
struct sdp_media {
	cm_slice media;            /* "message", "audio", ... */
	uint16_t port;             /* 0: a rejected stream (RFC 3264 §6) */
	uint16_t nports;           /* the "/<number>" part, 0 when absent */
	cm_slice proto;            /* "TCP/MSRP", "RTP/AVP", ... */
	cm_slice fmts;             /* the format list as written, one SP between them or more */
	struct sdp_conn conn;      /* media-level c= */
	unsigned attr0, nattr;     /* its a= lines: sdp.attrs[attr0 .. attr0 + nattr) */
	unsigned other0, nother;   /* its kept lines: sdp.others[other0 .. other0 + nother) */
};

/* A parsed description (sdp_parse()) or one being built for sdp_write(). */
struct sdp {
	struct sdp_origin origin;
	cm_slice session_name;     /* s= */
	struct sdp_conn conn;      /* session-level c= */
	cm_slice time;             /* the first t= value ("0 0"); sdp_write() writes it */
	unsigned ntime;            /* t= lines (the others are in others[] too) */
	unsigned nattr;            /* session-level a= lines: attrs[0 .. nattr) */
	unsigned nother;           /* session-level kept lines: others[0 .. nother) */
	unsigned nmedia;
	unsigned nattrs_all;       /* a= lines in attrs[], all levels */
	unsigned nothers_all;      /* lines in others[], all levels */
	struct sdp_media media[SDP_MEDIA_MAX];
	struct sdp_attr attrs[SDP_ATTR_MAX];
	struct sdp_line others[SDP_OTHER_MAX];
	struct {
		enum sdp_err code; /* SDP_E_NONE after a success */
		uint32_t line;     /* 1-based line of the fault, 0 when it is the whole input */
	} err;
};

/* ---- MSRP media (sdp_msrp.c) -------------------------------------------------------- */

#define SDP_MSRP_PATH_MAX 8        /* URIs in one a=path */
#define SDP_MSRP_TYPES_MAX 32      /* entries of one accept-types / accept-wrapped-types */
#define SDP_MSRP_ATTRS_MAX 8       /* further attributes of our MSRP stream (sdp_msrp_local) */

/* a=setup (RFC 4145 §4, for MSRP RFC 6135). */
enum sdp_setup {
	SDP_SETUP_ABSENT = 0,
	SDP_SETUP_ACTIVE,          /* opens the TCP connection */
	SDP_SETUP_PASSIVE,         /* waits for it */
	SDP_SETUP_ACTPASS,         /* either: offers only */
	SDP_SETUP_HOLDCONN,        /* no connection for now */
};

/* a=connection (RFC 4145 §5). */
enum sdp_connection {
	SDP_CONNECTION_ABSENT = 0,
	SDP_CONNECTION_NEW,
	SDP_CONNECTION_EXISTING,
};

/* Direction attributes (RFC 3264 §5.1, RFC 4566 §6), from the writer's point of view. */
enum sdp_dir {
	SDP_DIR_SENDRECV = 0,      /* the default when none is written */
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE,
};

/* Which attribute of an MSRP m= section was wrong (struct sdp_msrp_media.bad). */
enum sdp_msrp_bad {
	SDP_MSRP_BAD_NONE = 0,
	SDP_MSRP_BAD_FMT,          /* the m= format list is not "*" (RFC 4975 §8.1) */
	SDP_MSRP_BAD_PATH,         /* a=path missing, repeated, empty, or a URI that fails */
	SDP_MSRP_BAD_PATH_LONG,    /* more than SDP_MSRP_PATH_MAX URIs */
	SDP_MSRP_BAD_ACCEPT,       /* a=accept-types missing, repeated or malformed */
	SDP_MSRP_BAD_WRAPPED,      /* a=accept-wrapped-types repeated or malformed */
	SDP_MSRP_BAD_TYPES_LONG,   /* more than SDP_MSRP_TYPES_MAX entries in a list */
	SDP_MSRP_BAD_MAX_SIZE,     /* a=max-size repeated, not digits, or above UINT64_MAX */
	SDP_MSRP_BAD_SETUP,        /* a=setup repeated or an unknown value */
	SDP_MSRP_BAD_CONNECTION,   /* a=connection repeated or an unknown value */
	SDP_MSRP_BAD_DIR,          /* more than one direction attribute */
	SDP_MSRP_BAD_CEMA,         /* a=msrp-cema with a value, or no c= to use with it */
};

/* The MSRP m= section of a description, its attributes parsed. Slices and URIs point into
 * the description's text. */
struct sdp_msrp_media {
	int index;                 /* index of the m= section in struct sdp */
	int tls;                   /* TCP/TLS/MSRP (else TCP/MSRP) */
	uint16_t port;             /* 0: the stream is rejected; nothing below need be set */
	cm_slice path_text;        /* the a=path value */
	unsigned npath;
	struct msrp_uri path[SDP_MSRP_PATH_MAX]; /* first: the next hop; last: the endpoint */
	unsigned ntypes;
	cm_slice types[SDP_MSRP_TYPES_MAX]; /* accept-types: "*", "type/ *", "type/subtype" */
	unsigned nwrapped;
	cm_slice wrapped[SDP_MSRP_TYPES_MAX]; /* accept-wrapped-types */
	int has_max_size;
	uint64_t max_size;         /* a=max-size in bytes */
	enum sdp_setup setup;
	enum sdp_connection connection;
	int cema;                  /* a=msrp-cema (RFC 6714) */
	enum sdp_dir dir;
	struct sdp_conn conn;      /* the c= that applies: media level, else session level */
	enum sdp_msrp_bad bad;     /* why sdp_msrp_find() refused the section */
};

#endif
