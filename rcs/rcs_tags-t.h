/* rcs_tags-t.h — the RCS services a SIP Contact or Accept-Contact advertises (types).
 *
 * Each bit is one feature-tag value (RFC 3840 §9; GSMA RCC.07 and the 3GPP ICSI/IARI
 * URNs of TS 24.229) as RCS clients send it. The bit order is stable: values may be
 * stored. ICSI values are "urn:urn-7:3gpp-service.ims.icsi.<rest>" in +g.3gpp.icsi-ref,
 * IARI values "urn:urn-7:3gpp-application.ims.iari.<rest>" in +g.3gpp.iari-ref. */
#ifndef RCS_TAGS_T_H
#define RCS_TAGS_T_H

#define RCS_SVC_CHAT        0x00001u /* icsi oma.cpm.session (1-to-1 chat) */
#define RCS_SVC_STANDALONE  0x00002u /* icsi oma.cpm.msg (standalone pager mode) */
#define RCS_SVC_LARGEMSG    0x00004u /* icsi oma.cpm.largemsg (standalone large mode) */
#define RCS_SVC_FT          0x00008u /* icsi oma.cpm.filetransfer (FT over MSRP) */
#define RCS_SVC_FTHTTP      0x00010u /* iari rcs.fthttp */
#define RCS_SVC_CHATBOT     0x00020u /* iari rcs.chatbot (chatbot in a session), or the
				      * +g.gsma.rcs.isbot flag (written as the iari) */
#define RCS_SVC_GEOPUSH     0x00040u /* iari rcs.geopush */
#define RCS_SVC_DEFERRED    0x00080u /* icsi oma.cpm.deferred (deferred messaging) */
#define RCS_SVC_GROUPCHAT   0x00100u /* icsi oma.cpm.session.group */
#define RCS_SVC_SYSTEMMSG   0x00200u /* icsi oma.cpm.systemmsg */
#define RCS_SVC_MMTEL       0x00400u /* icsi mmtel (IP voice call) */
#define RCS_SVC_RCSE_IM     0x00800u /* iari rcse.im (RCS-e chat, older clients) */
#define RCS_SVC_RCSE_FT     0x01000u /* iari rcse.ft (RCS-e file transfer) */
#define RCS_SVC_FTTHUMB     0x02000u /* iari rcs.ftthumb (FT thumbnails) */
#define RCS_SVC_FTSTANDFW   0x04000u /* iari rcs.ftstandfw (FT store and forward) */
#define RCS_SVC_FTSMS       0x08000u /* iari rcs.ftsms (FT link by SMS) */
#define RCS_SVC_GEOSMS      0x10000u /* iari rcs.geosms (geolocation by SMS) */
#define RCS_SVC_CHATBOT_SA  0x20000u /* iari rcs.chatbot.sa (chatbot by standalone msg) */
#define RCS_SVC_PAGER_LARGE 0x40000u /* +g.gsma.rcs.cpm.pager-large flag */
#define RCS_SVC_ALL         0x7ffffu /* every bit above */

/* What one Contact or Accept-Contact value advertises (rcs_tags_parse()). */
struct rcs_tags {
	unsigned services;      /* RCS_SVC_* found */
	char botversion[32];    /* value of +g.gsma.rcs.botversion without quotes, e.g. "#=1,#=2";
				 * empty when absent */
	unsigned nother;        /* count of icsi/iari URNs not recognised */
};

#endif
