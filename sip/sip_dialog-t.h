/* sip_dialog-t.h — the state of one SIP dialog (RFC 3261 §12), for sip_dialog.h.
 *
 * A user agent keeps one struct sip_dialog per call, by value. Everything in it is copied
 * into the fixed-size storage below (nothing points outside the struct, nothing is
 * allocated), so it may be moved with memcpy. Values over a bound are refused with -E2BIG
 * when the dialog is made or updated. Read it through the accessors of sip_dialog.h. */
#ifndef SIP_DIALOG_T_H
#define SIP_DIALOG_T_H

#include <stdint.h>

#define SIP_DIALOG_MAX_URI     512  /* bytes of one URI or name-addr value: local URI,
				     * remote URI, remote target, one route */
#define SIP_DIALOG_MAX_ROUTES  8    /* entries of the route set */
#define SIP_DIALOG_ROUTE_BYTES 2048 /* bytes of the whole route set */
#define SIP_DIALOG_MAX_CALLID  256  /* bytes of the Call-ID */
#define SIP_DIALOG_MAX_TAG     128  /* bytes of a tag */
#define SIP_DIALOG_MAX_EXTRA   32   /* caller's extra headers in one written request */
#define SIP_DIALOG_MAX_METHOD  32   /* bytes of a method name written */

enum sip_dialog_state {
	SIP_DLG_NONE = 0,          /* no dialog: nothing may be written or matched */
	SIP_DLG_EARLY,             /* made by a 101..199 response with a To tag */
	SIP_DLG_CONFIRMED,         /* made or confirmed by a 2xx */
	SIP_DLG_TERMINATED,        /* ended (BYE): matched, but nothing written */
};

/* One route of the route set: a whole Route value ("<sip:p1.example.com;lr>;x=1"). */
struct sip_dialog_route {
	uint16_t off, len;         /* the value in sip_dialog.routes[] */
	uint16_t uri_off, uri_len; /* its URI (between < >) in sip_dialog.routes[] */
};

struct sip_dialog {
	enum sip_dialog_state state;
	uint32_t local_cseq;       /* CSeq of the last request we sent (the next is + 1) */
	uint32_t remote_cseq;      /* CSeq of the last request received, if has_remote_cseq */
	uint8_t has_remote_cseq;   /* 0: "empty" (§12.1.2), no request received yet */
	uint8_t secure;            /* the dialog-creating Request-URI was sips: (§12.1.1) */
	uint8_t strict;            /* the first route lacks ";lr": strict routing (§12.2.1.1) */
	uint8_t nroutes;
	uint16_t call_id_len;
	uint16_t local_tag_len;
	uint16_t remote_tag_len;   /* 0: none (a UAS facing a peer that sent no From tag) */
	uint16_t local_uri_len;
	uint16_t remote_uri_len;
	uint16_t target_len;       /* 0: no remote target yet (an early dialog from a 1xx
				    * without Contact) */
	uint16_t routes_len;       /* bytes of routes[] in use */
	struct sip_dialog_route route[SIP_DIALOG_MAX_ROUTES];
	char call_id[SIP_DIALOG_MAX_CALLID];
	char local_tag[SIP_DIALOG_MAX_TAG];
	char remote_tag[SIP_DIALOG_MAX_TAG];
	char local_uri[SIP_DIALOG_MAX_URI];   /* our From (To) value without its tag */
	char remote_uri[SIP_DIALOG_MAX_URI];  /* their From (To) value without its tag */
	char target[SIP_DIALOG_MAX_URI];      /* the remote target URI, without < > */
	char routes[SIP_DIALOG_ROUTE_BYTES];  /* the route values, one after the other */
};

#endif
