/* test_sip_dialog.c — SIP dialogs (sip/sip_dialog.c): made on both sides from RFC 3261
 * style exchanges (§24.2 names, the §12.2.1.1 strict-routing example, the §16.12.1.2
 * route set), requests written inside them byte for byte and parsed back, matching,
 * CSeq rules, target refreshes, forks, bounds, compact and folded input.
 *
 * Every message is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h); the copies live until the test ends. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sip/sip_dialog.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "tests/lib/guard.h"

static struct sip_parse_stats stats;
static const char *guards[32];
static unsigned nguards;

static void teardown(void)
{
	for (unsigned i = 0; i < nguards; i++)
		guard_release(guards[i]);
	nguards = 0;
}

TestSuite(sip_dialog, .fini = teardown);

/* Parses <len> bytes of <txt> from a guarded copy into *<m>; must succeed. */
static void parse_n(const char *txt, size_t len, struct sip_msg *m)
{
	struct sip_parse_cfg cfg = { .stats = &stats };
	const char *g = guard_copy(txt, len);

	cr_assert_lt(nguards, 32);
	guards[nguards++] = g;
	sip_parse_limits_default(&cfg.limits);
	cr_assert_eq(sip_parse_msg(&cfg, g, len, m), 0, "%s:\n%.*s", m->reason_text, (int)len, txt);
}

static void parse(const char *txt, struct sip_msg *m)
{
	parse_n(txt, strlen(txt), m);
}

static int slice_is(cm_slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

static int contains(const char *buf, size_t n, const char *want)
{
	return memmem(buf, n, want, strlen(want)) != NULL;
}

#define assert_slice(s, want)                                                              \
	cr_assert(slice_is((s), (want)), "got '%.*s', want '%s'", (int)(s).len,            \
		  (s).p ? (s).p : "", (want))

/* The identity of <d>: Call-ID, tags, URIs (without tags) and remote target. */
struct ids {
	const char *call_id, *local_tag, *remote_tag, *local_uri, *remote_uri, *target;
};

static void assert_ids(const struct sip_dialog *d, struct ids w)
{
	assert_slice(sip_dialog_call_id(d), w.call_id);
	assert_slice(sip_dialog_local_tag(d), w.local_tag);
	assert_slice(sip_dialog_remote_tag(d), w.remote_tag);
	assert_slice(sip_dialog_local_uri(d), w.local_uri);
	assert_slice(sip_dialog_remote_uri(d), w.remote_uri);
	assert_slice(sip_dialog_remote_target(d), w.target);
}

#define assert_written(n, buf, want)                                                       \
	do {                                                                               \
		cr_assert_eq((n), (ssize_t)strlen(want), "%zd:\n%.*s", (n),                \
			     (int)((n) > 0 ? (n) : 0), (buf));                             \
		cr_assert_eq(memcmp((buf), (want), strlen(want)), 0, "got:\n%.*s",         \
			     (int)(n), (buf));                                             \
	} while (0)

/* ---- the atlanta / biloxi call (RFC 3261 §24.2 names) ------------------------------ */

#define END "Content-Length: 0\r\n\r\n"
#define INV_HEAD                                                                           \
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"                                    \
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"              \
	"Max-Forwards: 70\r\n"
#define INV_IDS                                                                            \
	"To: Bob <sip:bob@biloxi.example.com>\r\n"                                         \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                   \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                             \
	"CSeq: 314159 INVITE\r\n"                                                          \
	"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
/* what Alice sent, and what Bob received through p1 and p2 */
#define INVITE_A INV_HEAD INV_IDS END
#define INVITE_B                                                                           \
	INV_HEAD "Record-Route: <sip:p2.biloxi.example.com;lr>\r\n"                        \
		 "Record-Route: <sip:p1.atlanta.example.com;lr>\r\n" INV_IDS END
#define RESP_HEAD(status)                                                                  \
	"SIP/2.0 " status "\r\n"                                                           \
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8;received=192.0.2.1\r\n"
#define RESP_IDS(totag)                                                                    \
	"To: Bob <sip:bob@biloxi.example.com>;tag=" totag "\r\n"                           \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                   \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                             \
	"CSeq: 314159 INVITE\r\n"
#define RR_P2_P1                                                                           \
	"Record-Route: <sip:p2.biloxi.example.com;lr>\r\n"                                 \
	"Record-Route: <sip:p1.atlanta.example.com;lr>\r\n"
#define CONTACT_BOB "Contact: <sip:bob@192.0.2.4>\r\n"

static const char r180[] = RESP_HEAD("180 Ringing") RR_P2_P1 RESP_IDS("a6c85cf") CONTACT_BOB END;
/* the same Record-Route values on one line */
static const char r200[] =
	RESP_HEAD("200 OK")
	"Record-Route: <sip:p2.biloxi.example.com;lr>, <sip:p1.atlanta.example.com;lr>\r\n"
	RESP_IDS("a6c85cf") CONTACT_BOB END;

/* Alice's confirmed dialog with Bob through p1, p2. */
static void alice_confirmed(struct sip_dialog *d)
{
	struct sip_msg inv, resp;

	parse(INVITE_A, &inv);
	parse(r200, &resp);
	cr_assert_eq(sip_dialog_uac(d, &inv, &resp), 0);
}

#define VIA_A "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKbye1"
#define BYE_A_LOOSE                                                                        \
	"BYE sip:bob@192.0.2.4 SIP/2.0\r\n"                                                \
	"Via: " VIA_A "\r\n"                                                               \
	"Max-Forwards: 70\r\n"                                                             \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                   \
	"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"                             \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                             \
	"CSeq: 314160 BYE\r\n"                                                             \
	"Route: <sip:p1.atlanta.example.com;lr>\r\n"                                       \
	"Route: <sip:p2.biloxi.example.com;lr>\r\n"                                        \
	"Reason: SIP;cause=200\r\n"                                                        \
	"Content-Length: 0\r\n\r\n"

/* A BYE with Via VIA_A, no Contact, no extra header, no body. */
static ssize_t bye_a(struct sip_dialog *d, char *buf, size_t cap, cm_slice *hop)
{
	return sip_dialog_request(d, buf, cap, CM_SLICE_LIT("BYE"), CM_SLICE_LIT(VIA_A),
				  CM_SLICE_NULL, NULL, 0, CM_SLICE_NULL, hop);
}

Test(sip_dialog, uac_early_then_confirmed_bye_and_ack)
{
	static const struct sip_hdr reason[] = {
		{ SIP_H_OTHER, CM_SLICE_LIT("Reason"), CM_SLICE_LIT("SIP;cause=200") },
	};
	static const char want_ack[] =
		"ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKack1\r\n"
		"Max-Forwards: 70\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
		"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		"CSeq: 314159 ACK\r\n"
		"Route: <sip:p1.atlanta.example.com;lr>\r\n"
		"Route: <sip:p2.biloxi.example.com;lr>\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_msg inv, ring, ok, bye;
	struct sip_dialog d;
	struct sip_hdr_iter it;
	struct sip_addr a;
	struct sip_cseq cs;
	cm_slice hop = CM_SLICE_NULL, el;
	uint32_t seq;
	char buf[2048];
	ssize_t n;

	parse(INVITE_A, &inv);
	parse(r180, &ring);
	parse(r200, &ok);
	cr_assert_eq(sip_dialog_uac(&d, &inv, &ring), 0);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_EARLY);
	assert_ids(&d, (struct ids){ "a84b4c76e66710@pc33.atlanta.example.com", "1928301774",
				     "a6c85cf", "Alice <sip:alice@atlanta.example.com>",
				     "Bob <sip:bob@biloxi.example.com>", "sip:bob@192.0.2.4" });
	/* Record-Route reversed: p1 (Alice's side) first */
	cr_assert_eq(sip_dialog_nroutes(&d), 2);
	assert_slice(sip_dialog_route(&d, 0), "<sip:p1.atlanta.example.com;lr>");
	assert_slice(sip_dialog_route(&d, 1), "<sip:p2.biloxi.example.com;lr>");
	assert_slice(sip_dialog_route(&d, 2), "");
	cr_assert_eq(sip_dialog_local_cseq(&d), 314159);
	cr_assert_eq(sip_dialog_remote_cseq(&d, &seq), 0);
	cr_assert_eq(sip_dialog_secure(&d), 0);
	cr_assert_eq(d.strict, 0);

	cr_assert_eq(sip_dialog_update(&d, &ok, 1), 0);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_CONFIRMED);
	cr_assert_eq(sip_dialog_nroutes(&d), 2);
	assert_slice(sip_dialog_route(&d, 0), "<sip:p1.atlanta.example.com;lr>");

	/* the ACK of the 2xx keeps the INVITE's number and does not move the local CSeq */
	n = sip_dialog_ack(&d, buf, sizeof(buf), 314159,
			   CM_SLICE_LIT("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKack1"),
			   NULL, 0, CM_SLICE_NULL, &hop);
	assert_written(n, buf, want_ack);
	assert_slice(hop, "sip:p1.atlanta.example.com;lr");
	cr_assert_eq(sip_dialog_local_cseq(&d), 314159);

	hop = CM_SLICE_NULL;
	n = sip_dialog_request(&d, buf, sizeof(buf), CM_SLICE_LIT("BYE"), CM_SLICE_LIT(VIA_A),
			       CM_SLICE_NULL, reason, 1, CM_SLICE_NULL, &hop);
	assert_written(n, buf, BYE_A_LOOSE);
	assert_slice(hop, "sip:p1.atlanta.example.com;lr");
	cr_assert_eq(sip_dialog_local_cseq(&d), 314160);

	/* parsed back, header by header */
	parse_n(buf, (size_t)n, &bye);
	cr_assert_eq(bye.method, SIP_M_BYE);
	assert_slice(bye.ruri, "sip:bob@192.0.2.4");
	assert_slice(sip_msg_hdr(&bye, SIP_H_MAX_FORWARDS), "70");
	assert_slice(sip_msg_hdr(&bye, SIP_H_CALL_ID), "a84b4c76e66710@pc33.atlanta.example.com");
	cr_assert_eq(sip_cseq_parse(sip_msg_hdr(&bye, SIP_H_CSEQ), &cs), 0);
	cr_assert_eq(cs.seq, 314160);
	cr_assert_eq(cs.method, SIP_M_BYE);
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&bye, SIP_H_FROM), &a), 0);
	assert_slice(a.tag, "1928301774");
	assert_slice(a.uri, "sip:alice@atlanta.example.com");
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&bye, SIP_H_TO), &a), 0);
	assert_slice(a.tag, "a6c85cf");
	sip_hdr_iter_init(&it, &bye, SIP_H_ROUTE);
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 1);
	assert_slice(el, "<sip:p1.atlanta.example.com;lr>");
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 1);
	assert_slice(el, "<sip:p2.biloxi.example.com;lr>");
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 0);
	cr_assert_eq(bye.first[SIP_H_CONTACT], -1);

	/* Bob, who answered with To tag a6c85cf, takes it as his dialog's and in order */
	{
		struct sip_msg binv;
		struct sip_dialog b;

		parse(INVITE_B, &binv);
		cr_assert_eq(sip_dialog_uas(&b, &binv, CM_SLICE_LIT("a6c85cf"), 1), 0);
		cr_assert_eq(sip_dialog_matches(&b, &bye), 1);
		cr_assert_eq(sip_dialog_rx_request(&b, &bye), 0);
		cr_assert_eq(sip_dialog_remote_cseq(&b, &seq), 1);
		cr_assert_eq(seq, 314160);
		/* ... and it is not Alice's: a request she receives has her tag in To */
		cr_assert_eq(sip_dialog_matches(&d, &bye), 0);
	}
}

Test(sip_dialog, request_fails_whole_on_a_short_buffer)
{
	struct sip_dialog d;
	char buf[1024];
	ssize_t n;

	alice_confirmed(&d);
	n = bye_a(&d, buf, sizeof(buf), NULL);
	cr_assert_gt(n, 0);
	cr_assert_eq(sip_dialog_local_cseq(&d), 314160);
	for (size_t cap = 0; cap < (size_t)n; cap++)
		cr_assert_eq(sip_dialog_request(&d, buf, cap, CM_SLICE_LIT("BYE"),
						CM_SLICE_LIT(VIA_A), CM_SLICE_NULL, NULL, 0,
						CM_SLICE_NULL, NULL), -ENOSPC);
	/* none of the failures took a number */
	cr_assert_eq(sip_dialog_local_cseq(&d), 314160);
	/* "INFO" is one byte longer than "BYE", in the start line and in CSeq */
	cr_assert_eq(sip_dialog_request(&d, buf, sizeof(buf), CM_SLICE_LIT("INFO"),
					CM_SLICE_LIT(VIA_A), CM_SLICE_NULL, NULL, 0,
					CM_SLICE_NULL, NULL), n + 2);
	cr_assert_eq(sip_dialog_local_cseq(&d), 314161);
}

/* §12.2.1.1: remote target sip:user@remoteua, route set <sip:proxy1>, <sip:proxy2>,
 * <sip:proxy3;lr>, <sip:proxy4>. */
Test(sip_dialog, strict_routing)
{
	static const char ok[] =
		RESP_HEAD("200 OK")
		"Record-Route: <sip:proxy4>, <sip:proxy3;lr>, <sip:proxy2>, <sip:proxy1>\r\n"
		RESP_IDS("x1") "Contact: <sip:user@remoteua>\r\n" END;
	static const char want[] =
		"BYE sip:proxy1 SIP/2.0\r\n"
		"Via: " VIA_A "\r\n"
		"Max-Forwards: 70\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"To: Bob <sip:bob@biloxi.example.com>;tag=x1\r\n"
		"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		"CSeq: 314160 BYE\r\n"
		"Route: <sip:proxy2>\r\n"
		"Route: <sip:proxy3;lr>\r\n"
		"Route: <sip:proxy4>\r\n"
		"Route: <sip:user@remoteua>\r\n"
		"Content-Length: 0\r\n\r\n";
	/* no route: a "method" parameter and headers are taken off the Request-URI */
	static const char ok2[] =
		RESP_HEAD("200 OK") RESP_IDS("x2")
		"Contact: <sip:user@remoteua;method=INVITE;transport=tcp?Subject=hi>\r\n" END;
	struct sip_msg inv, resp, bye;
	struct sip_dialog d;
	cm_slice hop;
	char buf[2048];
	ssize_t n;

	parse(INVITE_A, &inv);
	parse(ok, &resp);
	cr_assert_eq(sip_dialog_uac(&d, &inv, &resp), 0);
	cr_assert_eq(d.strict, 1);
	cr_assert_eq(sip_dialog_nroutes(&d), 4);
	n = bye_a(&d, buf, sizeof(buf), &hop);
	assert_written(n, buf, want);
	assert_slice(hop, "sip:proxy1");
	parse_n(buf, (size_t)n, &bye);
	assert_slice(bye.ruri, "sip:proxy1");

	parse(ok2, &resp);
	cr_assert_eq(sip_dialog_uac(&d, &inv, &resp), 0);
	cr_assert_eq(d.strict, 0);
	n = bye_a(&d, buf, sizeof(buf), &hop);
	cr_assert_gt(n, 0);
	parse_n(buf, (size_t)n, &bye);
	assert_slice(bye.ruri, "sip:user@remoteua;transport=tcp");
	assert_slice(hop, "sip:user@remoteua;method=INVITE;transport=tcp?Subject=hi");
	cr_assert_eq(bye.first[SIP_H_ROUTE], -1);
}

/* The INVITE of RFC 3261 §16.12.1.2 as U2 receives it, and U2's BYE. */
#define INVITE_U2                                                                          \
	"INVITE sip:callee@u2.domain.com SIP/2.0\r\n"                                      \
	"Via: SIP/2.0/UDP p4.domain.com;branch=z9hG4bKp4x\r\n"                             \
	"Max-Forwards: 66\r\n"                                                             \
	"To: Callee <sip:callee@domain.com>\r\n"                                           \
	"From: Caller <sip:caller@example.com>;tag=c4ll3r\r\n"                             \
	"Call-ID: strict.example@u1.example.com\r\n"                                       \
	"CSeq: 101 INVITE\r\n"                                                             \
	"Contact: sip:caller@u1.example.com\r\n"                                           \
	"Record-Route: <sip:p4.domain.com;lr>\r\n"                                         \
	"Record-Route: <sip:p3.middle.com>\r\n"                                            \
	"Record-Route: <sip:p2.example.com;lr>\r\n"                                        \
	"Record-Route: <sip:p1.example.com;lr>\r\n" END

static void u2_dialog(struct sip_dialog *d)
{
	struct sip_msg inv;

	parse(INVITE_U2, &inv);
	cr_assert_eq(sip_dialog_uas(d, &inv, CM_SLICE_LIT("u2t4g"), 7000), 0);
}

Test(sip_dialog, uas_keeps_record_route_order)
{
	static const char want[] =
		"BYE sip:caller@u1.example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP u2.domain.com;branch=z9hG4bKbye2\r\n"
		"Max-Forwards: 70\r\n"
		"From: Callee <sip:callee@domain.com>;tag=u2t4g\r\n"
		"To: Caller <sip:caller@example.com>;tag=c4ll3r\r\n"
		"Call-ID: strict.example@u1.example.com\r\n"
		"CSeq: 7001 BYE\r\n"
		"Route: <sip:p4.domain.com;lr>\r\n"
		"Route: <sip:p3.middle.com>\r\n"
		"Route: <sip:p2.example.com;lr>\r\n"
		"Route: <sip:p1.example.com;lr>\r\n"
		"Contact: <sip:callee@192.0.2.7>\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_dialog d;
	struct sip_msg bye;
	cm_slice hop;
	uint32_t seq = 0;
	char buf[2048];
	ssize_t n;

	u2_dialog(&d);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_CONFIRMED);
	assert_ids(&d, (struct ids){ "strict.example@u1.example.com", "u2t4g", "c4ll3r",
				     "Callee <sip:callee@domain.com>",
				     "Caller <sip:caller@example.com>", "sip:caller@u1.example.com" });
	cr_assert_eq(sip_dialog_remote_cseq(&d, &seq), 1);
	cr_assert_eq(seq, 101);
	cr_assert_eq(sip_dialog_local_cseq(&d), 7000);
	cr_assert_eq(sip_dialog_nroutes(&d), 4);
	assert_slice(sip_dialog_route(&d, 1), "<sip:p3.middle.com>");
	cr_assert_eq(d.strict, 0);

	sip_dialog_set_state(&d, SIP_DLG_EARLY);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_EARLY);
	sip_dialog_set_state(&d, SIP_DLG_CONFIRMED);
	n = sip_dialog_request(&d, buf, sizeof(buf), CM_SLICE_LIT("BYE"),
			       CM_SLICE_LIT("SIP/2.0/UDP u2.domain.com;branch=z9hG4bKbye2"),
			       CM_SLICE_LIT("<sip:callee@192.0.2.7>"), NULL, 0, CM_SLICE_NULL,
			       &hop);
	assert_written(n, buf, want);
	assert_slice(hop, "sip:p4.domain.com;lr");
	parse_n(buf, (size_t)n, &bye);
	cr_assert_eq(bye.method, SIP_M_BYE);

	/* a terminated dialog writes nothing */
	sip_dialog_set_state(&d, SIP_DLG_TERMINATED);
	cr_assert_eq(sip_dialog_request(&d, buf, sizeof(buf), CM_SLICE_LIT("BYE"),
					CM_SLICE_LIT(VIA_A), CM_SLICE_NULL, NULL, 0,
					CM_SLICE_NULL, NULL), -EINVAL);
	cr_assert_eq(sip_dialog_local_cseq(&d), 7001);
}

/* ---- matching and CSeq ------------------------------------------------------------- */

#define REQ_U1(method, cid, totag, fromtag, cseq)                                         \
	method " sip:callee@u2.domain.com SIP/2.0\r\n"                                    \
	"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bKu1" cseq "\r\n"                     \
	"Max-Forwards: 70\r\n"                                                             \
	"To: Callee <sip:callee@domain.com>" totag "\r\n"                                  \
	"From: Caller <sip:caller@example.com>" fromtag "\r\n"                             \
	"Call-ID: " cid "\r\n"                                                             \
	"CSeq: " cseq " " method "\r\n" END
#define CID_U "strict.example@u1.example.com"
#define IN_DLG(method, cseq) REQ_U1(method, CID_U, ";tag=u2t4g", ";tag=c4ll3r", cseq)

static int matches_txt(const struct sip_dialog *d, const char *txt)
{
	struct sip_msg m;

	parse(txt, &m);
	return sip_dialog_matches(d, &m);
}

Test(sip_dialog, matches)
{
	struct sip_dialog d, none;

	u2_dialog(&d);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=u2t4g", ";tag=c4ll3r", "102")), 1);
	/* tags without regard to case (§7.3.1), the Call-ID byte by byte (§8.1.1.4) */
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=U2T4G", ";tag=C4LL3R", "102")), 1);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", "Strict.example@u1.example.com",
					    ";tag=u2t4g", ";tag=c4ll3r", "102")), 0);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", "other@u1.example.com", ";tag=u2t4g",
					    ";tag=c4ll3r", "102")), 0);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=u2t4h", ";tag=c4ll3r", "102")), 0);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=u2t4g", ";tag=c4ll3", "102")), 0);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, "", ";tag=c4ll3r", "102")), 0);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=u2t4g", "", "102")), 0);
	/* the answer to our BYE: our tag in From, theirs in To */
	cr_assert_eq(matches_txt(&d, "SIP/2.0 200 OK\r\n"
				     "Via: SIP/2.0/UDP u2.domain.com;branch=z9hG4bKbye2\r\n"
				     "From: Callee <sip:callee@domain.com>;tag=u2t4g\r\n"
				     "To: Caller <sip:caller@example.com>;tag=c4ll3r\r\n"
				     "Call-ID: " CID_U "\r\nCSeq: 7001 BYE\r\n" END), 1);
	cr_assert_eq(matches_txt(&d, "SIP/2.0 200 OK\r\n"
				     "Via: SIP/2.0/UDP u2.domain.com;branch=z9hG4bKbye2\r\n"
				     "From: Caller <sip:caller@example.com>;tag=c4ll3r\r\n"
				     "To: Callee <sip:callee@domain.com>;tag=u2t4g\r\n"
				     "Call-ID: " CID_U "\r\nCSeq: 7001 BYE\r\n" END), 0);
	/* an ended dialog still matches (its BYE's retransmissions); no dialog never does */
	sip_dialog_set_state(&d, SIP_DLG_TERMINATED);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=u2t4g", ";tag=c4ll3r", "102")), 1);
	memset(&none, 0, sizeof(none));
	cr_assert_eq(matches_txt(&none, IN_DLG("BYE", "1")), 0);
}

Test(sip_dialog, matches_a_peer_without_from_tag)
{
	static const char inv[] =
		"INVITE sip:callee@u2.domain.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bKold\r\n"
		"To: <sip:callee@domain.com>\r\n"
		"From: <sip:caller@example.com>\r\n"
		"Call-ID: " CID_U "\r\nCSeq: 1 INVITE\r\n"
		"Contact: <sip:caller@u1.example.com>\r\n" END;
	struct sip_dialog d;
	struct sip_msg m;
	char buf[1024];
	ssize_t n;

	parse(inv, &m);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("u2t4g"), 1), 0);
	assert_slice(sip_dialog_remote_tag(&d), "");
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=u2t4g", "", "2")), 1);
	cr_assert_eq(matches_txt(&d, REQ_U1("BYE", CID_U, ";tag=u2t4g", ";tag=x", "2")), 0);
	n = bye_a(&d, buf, sizeof(buf), NULL);
	cr_assert_gt(n, 0);
	cr_assert(contains(buf, (size_t)n, "\r\nTo: <sip:caller@example.com>\r\n"), "%.*s",
		  (int)n, buf);
}

static int rx_txt(struct sip_dialog *d, const char *txt)
{
	struct sip_msg m;

	parse(txt, &m);
	return sip_dialog_rx_request(d, &m);
}

Test(sip_dialog, rx_request_cseq)
{
	struct sip_dialog d, a;
	struct sip_msg m;
	uint32_t seq = 0;

	u2_dialog(&d);                                  /* remote CSeq 101 */
	cr_assert_eq(rx_txt(&d, IN_DLG("INFO", "101")), 500);
	cr_assert_eq(rx_txt(&d, IN_DLG("INFO", "100")), 500);
	cr_assert_eq(rx_txt(&d, IN_DLG("ACK", "101")), 0);
	cr_assert_eq(rx_txt(&d, IN_DLG("CANCEL", "101")), 0);
	cr_assert_eq(sip_dialog_remote_cseq(&d, &seq), 1);
	cr_assert_eq(seq, 101);
	cr_assert_eq(rx_txt(&d, IN_DLG("INFO", "102")), 0);
	cr_assert_eq(rx_txt(&d, IN_DLG("BYE", "102")), 500);
	cr_assert_eq(rx_txt(&d, IN_DLG("BYE", "2000")), 0);
	cr_assert_eq(sip_dialog_remote_cseq(&d, &seq), 1);
	cr_assert_eq(seq, 2000);
	cr_assert_eq(rx_txt(&d, IN_DLG("ACK", "5")), 0);       /* never judged */
	cr_assert_eq(sip_dialog_remote_cseq(&d, &seq), 1);
	cr_assert_eq(seq, 2000);

	/* on the UAC side the remote CSeq starts empty: any first number is in order */
	alice_confirmed(&a);
	cr_assert_eq(sip_dialog_remote_cseq(&a, &seq), 0);
	cr_assert_eq(rx_txt(&a, IN_DLG("INFO", "1")), 0);
	cr_assert_eq(sip_dialog_remote_cseq(&a, &seq), 1);
	cr_assert_eq(seq, 1);
	parse(r200, &m);
	cr_assert_eq(sip_dialog_rx_request(&a, &m), -EINVAL);
}

/* ---- target refresh and forks ------------------------------------------------------- */

#define REINVITE_B(contact)                                                                \
	"INVITE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"                            \
	"Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKre1\r\n"                                 \
	"Max-Forwards: 70\r\n"                                                             \
	"To: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                     \
	"From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"                           \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                             \
	"CSeq: 1 INVITE\r\n" contact END

Test(sip_dialog, target_refresh)
{
	struct sip_msg m, bye;
	struct sip_dialog d;
	cm_slice hop;
	char buf[2048];
	ssize_t n;

	alice_confirmed(&d);
	parse(REINVITE_B("m: <sip:bob@192.0.2.99:5070;transport=tcp>\r\n"), &m);
	cr_assert_eq(sip_dialog_matches(&d, &m), 1);
	cr_assert_eq(sip_dialog_rx_request(&d, &m), 0);
	cr_assert_eq(sip_dialog_update(&d, &m, 0), 0);
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.99:5070;transport=tcp");
	cr_assert_eq(sip_dialog_nroutes(&d), 2);
	n = bye_a(&d, buf, sizeof(buf), &hop);
	cr_assert_gt(n, 0);
	parse_n(buf, (size_t)n, &bye);
	assert_slice(bye.ruri, "sip:bob@192.0.2.99:5070;transport=tcp");
	assert_slice(hop, "sip:p1.atlanta.example.com;lr");

	/* no Contact: the target stays; not of this dialog: refused, nothing changes */
	parse(REINVITE_B(""), &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 0), 0);
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.99:5070;transport=tcp");
	parse(INVITE_A, &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 0), -EINVAL);
	parse(REINVITE_B("Contact: *\r\n"), &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 0), -EINVAL);
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.99:5070;transport=tcp");

	/* the 2xx to our re-INVITE: new target, the route set of a confirmed dialog stays */
	parse(RESP_HEAD("200 OK") RESP_IDS("a6c85cf") "Contact: <sip:bob@192.0.2.5>\r\n" END, &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 1), 0);
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.5");
	cr_assert_eq(sip_dialog_nroutes(&d), 2);
	parse(RESP_HEAD("200 OK") RESP_IDS("a6c85cf") "Contact: <sip:bob@192.0.2.6>\r\n" END, &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 0), 0);
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.6");
}

Test(sip_dialog, forks)
{
	static const char ring_a[] =
		RESP_HEAD("183 Session Progress")
		"Record-Route: <sip:pa.example.com;lr>\r\n"
		RESP_IDS("forkA") "Contact: <sip:bob@192.0.2.10>\r\n" END;
	static const char ok_a[] =
		RESP_HEAD("200 OK")
		"Record-Route: <sip:pa2.example.com;lr>, <sip:pa.example.com;lr>\r\n"
		RESP_IDS("forkA") "Contact: <sip:bob@192.0.2.11>\r\n" END;
	static const char ok_b[] =
		RESP_HEAD("200 OK")
		"Record-Route: <sip:pb.example.com;lr>\r\n"
		RESP_IDS("forkB") "Contact: <sip:bob@192.0.2.20>\r\n" END;
	static const char ok_c[] =
		RESP_HEAD("200 OK") RESP_IDS("forkC") "Contact: <sip:bob@192.0.2.30>\r\n" END;
	struct sip_msg inv, m;
	struct sip_dialog d, c;
	uint32_t seq;

	parse(INVITE_A, &inv);
	parse(ring_a, &m);

	/* the same fork: confirmed, route set recomputed from the 2xx (§13.2.2.4) */
	cr_assert_eq(sip_dialog_uac(&d, &inv, &m), 0);
	cr_assert_eq(sip_dialog_nroutes(&d), 1);
	parse(ok_a, &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 1), 0);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_CONFIRMED);
	cr_assert_eq(sip_dialog_nroutes(&d), 2);
	assert_slice(sip_dialog_route(&d, 0), "<sip:pa.example.com;lr>");
	assert_slice(sip_dialog_route(&d, 1), "<sip:pa2.example.com;lr>");
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.11");

	/* early with fork A, the 2xx from fork B: the dialog becomes B's */
	parse(ring_a, &m);
	cr_assert_eq(sip_dialog_uac(&d, &inv, &m), 0);
	cr_assert_eq(rx_txt(&d, REINVITE_B("")), 0);   /* any request: a remote CSeq */
	parse(ok_b, &m);
	cr_assert_eq(sip_dialog_matches(&d, &m), 0);
	cr_assert_eq(sip_dialog_update(&d, &m, 1), 0);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_CONFIRMED);
	assert_slice(sip_dialog_remote_tag(&d), "forkB");
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.20");
	cr_assert_eq(sip_dialog_nroutes(&d), 1);
	assert_slice(sip_dialog_route(&d, 0), "<sip:pb.example.com;lr>");
	cr_assert_eq(sip_dialog_remote_cseq(&d, &seq), 0);
	cr_assert_eq(sip_dialog_matches(&d, &m), 1);

	/* confirmed, a 2xx from fork C: a dialog of its own */
	parse(ok_c, &m);
	c = d;
	cr_assert_eq(sip_dialog_update(&d, &m, 1), -EEXIST);
	cr_assert_eq(memcmp(&c, &d, sizeof(d)), 0);
	cr_assert_eq(sip_dialog_uac(&c, &inv, &m), 0);
	assert_slice(sip_dialog_remote_tag(&c), "forkC");

	/* not a 2xx, not ours */
	parse(r180, &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 1), -EINVAL);
	parse(ok_b, &m);
	sip_dialog_set_state(&d, SIP_DLG_TERMINATED);
	cr_assert_eq(sip_dialog_update(&d, &m, 1), -EINVAL);
}

/* ---- refusals and bounds ---------------------------------------------------------------- */

static int uac_txt(struct sip_dialog *d, const char *inv, const char *resp)
{
	struct sip_msg a, b;

	parse(inv, &a);
	parse(resp, &b);
	return sip_dialog_uac(d, &a, &b);
}

Test(sip_dialog, uac_refusals)
{
	struct sip_dialog d;
	char buf[1024];

	memset(&d, 0x5a, sizeof(d));
	cr_assert_eq(uac_txt(&d, INVITE_A, RESP_HEAD("100 Trying") RESP_IDS("t") END), -EINVAL);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_NONE);
	cr_assert_eq(uac_txt(&d, INVITE_A, RESP_HEAD("486 Busy Here") RESP_IDS("t") END), -EINVAL);
	cr_assert_eq(uac_txt(&d, INVITE_A,
			     RESP_HEAD("180 Ringing")
			     "To: Bob <sip:bob@biloxi.example.com>\r\n"
			     "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
			     "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
			     "CSeq: 314159 INVITE\r\n" END), -EINVAL);
	cr_assert_eq(uac_txt(&d, INVITE_A, RESP_HEAD("200 OK") RESP_IDS("t") END), -EINVAL);
	cr_assert_eq(uac_txt(&d, INVITE_A, RESP_HEAD("200 OK") RESP_IDS("t")
			     "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.1>\r\n" END), -EINVAL);
	cr_assert_eq(uac_txt(&d, INVITE_A, RESP_HEAD("200 OK") RESP_IDS("t")
			     "Contact: <tel:+15551234>\r\n" END), -EINVAL);
	cr_assert_eq(uac_txt(&d, INVITE_A, RESP_HEAD("200 OK") RESP_IDS("t") CONTACT_BOB
			     "Record-Route: sip:p1.example.com;lr\r\n" END), -EINVAL);
	cr_assert_eq(uac_txt(&d, INVITE_A,
			     RESP_HEAD("200 OK")
			     "To: Bob <sip:bob@biloxi.example.com>;tag=t\r\n"
			     "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
			     "Call-ID: other@pc33.atlanta.example.com\r\n"
			     "CSeq: 314159 INVITE\r\n" CONTACT_BOB END), -EINVAL);
	cr_assert_eq(uac_txt(&d, INVITE_A,
			     RESP_HEAD("200 OK")
			     "To: Bob <sip:bob@biloxi.example.com>;tag=t\r\n"
			     "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
			     "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
			     "CSeq: 314158 INVITE\r\n" CONTACT_BOB END), -EINVAL);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_NONE);

	/* a 1xx without Contact: early, but nowhere to send yet */
	cr_assert_eq(uac_txt(&d, INVITE_A, RESP_HEAD("180 Ringing") RESP_IDS("t") END), 0);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_EARLY);
	cr_assert_eq(sip_dialog_remote_target(&d).len, 0);
	cr_assert_eq(sip_dialog_request(&d, buf, sizeof(buf), CM_SLICE_LIT("PRACK"),
					CM_SLICE_LIT(VIA_A), CM_SLICE_NULL, NULL, 0,
					CM_SLICE_NULL, NULL), -EINVAL);
}

Test(sip_dialog, request_refusals)
{
	struct sip_hdr extra[SIP_DIALOG_MAX_EXTRA + 1];
	struct sip_dialog d;
	char buf[4096];

	alice_confirmed(&d);
	for (unsigned i = 0; i <= SIP_DIALOG_MAX_EXTRA; i++)
		extra[i] = (struct sip_hdr){ SIP_H_OTHER, CM_SLICE_LIT("X-A"), CM_SLICE_LIT("1") };
#define REQ(m, v, x, nx) \
	sip_dialog_request(&d, buf, sizeof(buf), CM_SLICE_LIT(m), CM_SLICE_LIT(v), \
			   CM_SLICE_NULL, (x), (nx), CM_SLICE_NULL, NULL)
	cr_assert_eq(REQ("ACK", VIA_A, NULL, 0), -EINVAL);
	cr_assert_eq(REQ("CANCEL", VIA_A, NULL, 0), -EINVAL);
	cr_assert_eq(REQ("BY E", VIA_A, NULL, 0), -EINVAL);
	cr_assert_eq(REQ("", VIA_A, NULL, 0), -EINVAL);
	cr_assert_eq(REQ("BYE", "", NULL, 0), -EINVAL);
	cr_assert_eq(REQ("BYE", VIA_A, extra, SIP_DIALOG_MAX_EXTRA + 1), -E2BIG);
	cr_assert_gt(REQ("BYE", VIA_A, extra, SIP_DIALOG_MAX_EXTRA), 0);
	cr_assert_eq(sip_dialog_local_cseq(&d), 314160);
	d.local_cseq = 0x7ffffffe;
	cr_assert_gt(REQ("INFO", VIA_A, NULL, 0), 0);
	cr_assert_eq(REQ("INFO", VIA_A, NULL, 0), -ERANGE);
	cr_assert_eq(sip_dialog_local_cseq(&d), 0x7fffffff);
#undef REQ
	cr_assert_eq(sip_dialog_ack(&d, buf, sizeof(buf), 0x80000000u, CM_SLICE_LIT(VIA_A),
				    NULL, 0, CM_SLICE_NULL, NULL), -EINVAL);
	/* an offer in the ACK */
	cr_assert_gt(sip_dialog_ack(&d, buf, sizeof(buf), 314159, CM_SLICE_LIT(VIA_A), NULL, 0,
				    CM_SLICE_LIT("v=0\r\n"), NULL), 0);
	cr_assert(contains(buf, sizeof(buf), "CSeq: 314159 ACK\r\n"));
	cr_assert(contains(buf, sizeof(buf), "Content-Length: 5\r\n\r\nv=0\r\n"));
}

Test(sip_dialog, uas_refusals)
{
	struct sip_dialog d;
	struct sip_msg m;

	parse(INVITE_U2, &m);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("a b"), 1), -EINVAL);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_NULL, 1), -EINVAL);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("t"), 0x80000000u), -EINVAL);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_NONE);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("t"), 0x7fffffff), 0);
	/* the dialog's first request would need 2**31 */
	cr_assert_eq(sip_dialog_request(&d, (char[512]){ 0 }, 512, CM_SLICE_LIT("BYE"),
					CM_SLICE_LIT(VIA_A), CM_SLICE_NULL, NULL, 0,
					CM_SLICE_NULL, NULL), -ERANGE);
	/* already in a dialog: a To tag */
	parse(IN_DLG("INVITE", "5"), &m);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("t"), 1), -EINVAL);
	/* no Contact */
	parse(REQ_U1("INVITE", CID_U, "", ";tag=c4ll3r", "5"), &m);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("t"), 1), -EINVAL);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_NONE);
	/* ACK makes no dialog */
	parse(REQ_U1("ACK", CID_U, "", ";tag=c4ll3r", "5"), &m);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("t"), 1), -EINVAL);
}

/* <n> Record-Route lines of <len>-byte values into <out>, after a 200 to INVITE_A. */
static void resp_with_routes(char *out, size_t cap, unsigned n, size_t len, const char *contact)
{
	size_t off = (size_t)snprintf(out, cap, "%s", RESP_HEAD("200 OK") RESP_IDS("t"));

	for (unsigned i = 0; i < n; i++) {
		/* "<sip:" host ";lr>" where host is r<i>-aaa...: <len> bytes in all */
		off += (size_t)snprintf(out + off, cap - off, "Record-Route: <sip:r%u-", i);
		for (size_t k = 0; k < len - 15; k++)
			out[off++] = 'a';
		off += (size_t)snprintf(out + off, cap - off, ".ex;lr>\r\n");
	}
	snprintf(out + off, cap - off, "%s%s", contact, END);
}

Test(sip_dialog, bounds)
{
	static char resp[16384], inv[2048];
	char contact[700];
	struct sip_dialog d;
	struct sip_msg m;

	/* 8 routes are the most */
	resp_with_routes(resp, sizeof(resp), 8, 40, CONTACT_BOB);
	cr_assert_eq(uac_txt(&d, INVITE_A, resp), 0);
	cr_assert_eq(sip_dialog_nroutes(&d), 8);
	cr_assert_eq(sip_dialog_route(&d, 0).len, 40);
	cr_assert_eq(sip_dialog_route(&d, 0).p[6], '7', "reversed: the last Record-Route first");
	resp_with_routes(resp, sizeof(resp), 9, 40, CONTACT_BOB);
	cr_assert_eq(uac_txt(&d, INVITE_A, resp), -E2BIG);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_NONE);

	/* one route of 512 bytes fits, 600 do not; 8 of 300 overflow the route set */
	resp_with_routes(resp, sizeof(resp), 1, SIP_DIALOG_MAX_URI, CONTACT_BOB);
	cr_assert_eq(uac_txt(&d, INVITE_A, resp), 0);
	cr_assert_eq(sip_dialog_route(&d, 0).len, SIP_DIALOG_MAX_URI);
	resp_with_routes(resp, sizeof(resp), 1, 600, CONTACT_BOB);
	cr_assert_eq(uac_txt(&d, INVITE_A, resp), -E2BIG);
	resp_with_routes(resp, sizeof(resp), 6, 300, CONTACT_BOB);
	cr_assert_eq(uac_txt(&d, INVITE_A, resp), 0);
	resp_with_routes(resp, sizeof(resp), 8, 300, CONTACT_BOB);
	cr_assert_eq(uac_txt(&d, INVITE_A, resp), -E2BIG);

	/* a 600-byte remote target */
	snprintf(contact, sizeof(contact), "Contact: <sip:%0590d@example.com>\r\n", 7);
	resp_with_routes(resp, sizeof(resp), 0, 0, contact);
	cr_assert_eq(uac_txt(&d, INVITE_A, resp), -E2BIG);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_NONE);

	/* ... and in a target refresh: refused, the old target kept */
	alice_confirmed(&d);
	snprintf(inv, sizeof(inv), REINVITE_B("%s"), contact);
	parse(inv, &m);
	cr_assert_eq(sip_dialog_update(&d, &m, 0), -E2BIG);
	assert_slice(sip_dialog_remote_target(&d), "sip:bob@192.0.2.4");

	/* a 600-byte From on the UAS side */
	snprintf(inv, sizeof(inv),
		 "INVITE sip:callee@u2.domain.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bKbig\r\n"
		 "To: <sip:callee@domain.com>\r\n"
		 "From: <sip:%0590d@example.com>;tag=1\r\n"
		 "Call-ID: big@u1\r\nCSeq: 1 INVITE\r\n"
		 "Contact: <sip:caller@u1.example.com>\r\n" END, 7);
	parse(inv, &m);
	cr_assert_eq(sip_dialog_uas(&d, &m, CM_SLICE_LIT("t"), 1), -E2BIG);
	cr_assert_eq(sip_dialog_state(&d), SIP_DLG_NONE);
}

/* ---- input forms ------------------------------------------------------------------------ */

Test(sip_dialog, compact_and_folded_input)
{
	static const char inv[] =
		"INVITE sips:bob@biloxi.example.com SIP/2.0\r\n"
		"v: SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bKc1\r\n"
		"t: Bob <sips:bob@biloxi.example.com>\r\n"
		"f: Alice\r\n <sips:alice@atlanta.example.com>\r\n ;tag=1928301774\r\n"
		"i: c0mpact@pc33\r\n"
		"CSeq: 8 INVITE\r\n"
		"m: <sips:alice@pc33.atlanta.example.com>\r\n" END;
	static const char ok[] =
		"SIP/2.0 200 OK\r\n"
		"v: SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bKc1\r\n"
		"t: Bob <sips:bob@biloxi.example.com>;tag=b0b\r\n"
		"f: Alice <sips:alice@atlanta.example.com>;tag=1928301774\r\n"
		"i: c0mpact@pc33\r\n"
		"CSeq: 8 INVITE\r\n"
		"Record-Route: <sips:p1.example.com;lr>\r\n"
		"m: Bob\r\n\t<sips:bob@192.0.2.4>;expires=60\r\n" END;
	struct sip_dialog d;
	struct sip_msg bye;
	char buf[2048];
	ssize_t n;

	cr_assert_eq(uac_txt(&d, inv, ok), 0);
	assert_ids(&d, (struct ids){ "c0mpact@pc33", "1928301774", "b0b",
				     "Alice <sips:alice@atlanta.example.com>",
				     "Bob <sips:bob@biloxi.example.com>", "sips:bob@192.0.2.4" });
	cr_assert_eq(sip_dialog_local_cseq(&d), 8);
	cr_assert_eq(sip_dialog_secure(&d), 1);
	n = sip_dialog_request(&d, buf, sizeof(buf), CM_SLICE_LIT("BYE"),
			       CM_SLICE_LIT("SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bKc2"),
			       CM_SLICE_NULL, NULL, 0, CM_SLICE_NULL, NULL);
	cr_assert_gt(n, 0);
	parse_n(buf, (size_t)n, &bye);
	assert_slice(sip_msg_hdr(&bye, SIP_H_FROM), "Alice <sips:alice@atlanta.example.com>;tag=1928301774");
	assert_slice(bye.ruri, "sips:bob@192.0.2.4");
}

Test(sip_dialog, quoted_display_name_with_semicolon)
{
	static const char inv[] =
		INV_HEAD
		"To: \"Bob; \\\"the\\\" boss\" <sip:bob@biloxi.example.com;transport=tcp>\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		"CSeq: 314159 INVITE\r\n" END;
	static const char ok[] =
		RESP_HEAD("200 OK")
		"To: \"Bob; \\\"the\\\" boss\" <sip:bob@biloxi.example.com;transport=tcp> ;tag=a6c85cf;x=1\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		"CSeq: 314159 INVITE\r\n" CONTACT_BOB END;
	struct sip_dialog d;
	struct sip_msg bye;
	struct sip_addr a;
	char buf[2048];
	ssize_t n;

	cr_assert_eq(uac_txt(&d, inv, ok), 0);
	assert_slice(sip_dialog_remote_tag(&d), "a6c85cf");
	assert_slice(sip_dialog_remote_uri(&d),
		     "\"Bob; \\\"the\\\" boss\" <sip:bob@biloxi.example.com;transport=tcp>;x=1");
	n = bye_a(&d, buf, sizeof(buf), NULL);
	cr_assert_gt(n, 0);
	parse_n(buf, (size_t)n, &bye);
	assert_slice(sip_msg_hdr(&bye, SIP_H_TO),
		     "\"Bob; \\\"the\\\" boss\" <sip:bob@biloxi.example.com;transport=tcp>;x=1;tag=a6c85cf");
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&bye, SIP_H_TO), &a), 0);
	assert_slice(a.display, "Bob; \\\"the\\\" boss");
	assert_slice(a.uri, "sip:bob@biloxi.example.com;transport=tcp");
	assert_slice(a.tag, "a6c85cf");
}

/* A dialog written down by another node and restored from its parts (issue 8: a session
 * taken over) writes the same BYE, byte for byte, as the original; missing parts and
 * routes that are not name-addrs are refused. */
Test(sip_dialog, restored_from_its_parts_writes_the_same_requests)
{
	struct sip_dialog d, r;
	char a[2048], b[2048];
	cm_slice hop_a, hop_b, routes[SIP_DIALOG_MAX_ROUTES];
	alice_confirmed(&d);
	for (unsigned i = 0; i < sip_dialog_nroutes(&d); i++)
		routes[i] = (cm_slice){ d.routes + d.route[i].off, d.route[i].len };
	uint32_t rcs = 0;
	struct sip_dialog_saved s = {
		.call_id = sip_dialog_call_id(&d), .local_tag = sip_dialog_local_tag(&d),
		.remote_tag = sip_dialog_remote_tag(&d), .local_uri = sip_dialog_local_uri(&d),
		.remote_uri = sip_dialog_remote_uri(&d), .target = sip_dialog_remote_target(&d),
		.routes = routes, .nroutes = sip_dialog_nroutes(&d),
		.local_cseq = sip_dialog_local_cseq(&d),
		.has_remote_cseq = sip_dialog_remote_cseq(&d, &rcs) == 0, .remote_cseq = rcs,
		.secure = sip_dialog_secure(&d),
	};
	cr_assert_eq(sip_dialog_restore(&r, &s), 0);
	cr_expect_eq(sip_dialog_state(&r), SIP_DLG_CONFIRMED);
	ssize_t na = bye_a(&d, a, sizeof(a), &hop_a), nb = bye_a(&r, b, sizeof(b), &hop_b);
	cr_assert_gt(na, 0);
	cr_assert_eq(nb, na);
	cr_expect(!memcmp(a, b, (size_t)na), "%.*s\n---\n%.*s", (int)na, a, (int)nb, b);
	cr_expect(hop_a.len == hop_b.len && !memcmp(hop_a.p, hop_b.p, hop_a.len));
	cr_expect(contains(b, (size_t)nb, BYE_A_LOOSE) || contains(b, (size_t)nb, "CSeq: 314160 BYE"));

	struct sip_dialog_saved bad = s;
	bad.call_id = CM_SLICE_NULL;
	cr_expect_eq(sip_dialog_restore(&r, &bad), -EINVAL);
	cr_expect_eq(sip_dialog_state(&r), SIP_DLG_NONE);
	bad = s;
	cm_slice junk[1] = { CM_SLICE_LIT("not a route") };
	bad.routes = junk;
	bad.nroutes = 1;
	cr_expect_lt(sip_dialog_restore(&r, &bad), 0);
}
