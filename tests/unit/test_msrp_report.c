/* test_msrp_report.c — msrp/msrp_report: the Success-Report / Failure-Report decisions of
 * RFC 4975 §7.1.1–§7.2 (and RFC 4976 for relays) as one table, row by row. */
#include <criterion/criterion.h>

#include "msrp/msrp_report.h"

#define ABS MSRP_REPORT_ABSENT
#define YES MSRP_REPORT_YES
#define NO MSRP_REPORT_NO
#define PART MSRP_REPORT_PARTIAL
#define SEND MSRP_M_SEND
#define REPORT MSRP_M_REPORT
#define AUTH MSRP_M_AUTH
#define RECV MSRP_REV_RECEIVED
#define RESP MSRP_REV_RESPONSE
#define TOUT MSRP_REV_TIMEOUT

struct row {
	const char *why;
	struct msrp_report_in in;
	struct msrp_report_out want;
};

/*              event method SR   FR    code fwd complete    respond code frep srep failed stop */
#define ROW(why, ev, m, sr, fr, code, fwd, cpl, rs, oc, fre, sre, fa, st)                          \
	{ why, { ev, m, sr, fr, code, fwd, cpl }, { rs, oc, fre, sre, fa, st } }

static const struct row table[] = {
	/* the receiver of a SEND answers per Failure-Report (absent = yes) */
	ROW("FR absent, 200: answered", RECV, SEND, ABS, ABS, 200, 0, 0, 1, 200, 0, 0, 0, 0),
	ROW("FR yes, 200: answered", RECV, SEND, ABS, YES, 200, 0, 0, 1, 200, 0, 0, 0, 0),
	ROW("FR yes, 415: answered", RECV, SEND, ABS, YES, 415, 0, 0, 1, 415, 0, 0, 0, 0),
	ROW("FR partial, 200: silent", RECV, SEND, ABS, PART, 200, 0, 0, 0, 200, 0, 0, 0, 0),
	ROW("FR partial, 413: answered", RECV, SEND, ABS, PART, 413, 0, 0, 1, 413, 0, 0, 0, 0),
	ROW("FR no, 200: silent", RECV, SEND, ABS, NO, 200, 0, 0, 0, 200, 0, 0, 0, 0),
	ROW("FR no, 400: silent", RECV, SEND, ABS, NO, 400, 0, 0, 0, 400, 0, 0, 0, 0),
	/* success reports: Success-Report yes (absent = no), whole message, accepted */
	ROW("SR yes, last chunk: REPORT", RECV, SEND, YES, ABS, 200, 0, 1, 1, 200, 0, 1, 0, 0),
	ROW("SR yes, not complete: none yet", RECV, SEND, YES, ABS, 200, 0, 0, 1, 200, 0, 0, 0, 0),
	ROW("SR absent, complete: none", RECV, SEND, ABS, ABS, 200, 0, 1, 1, 200, 0, 0, 0, 0),
	ROW("SR no, complete: none", RECV, SEND, NO, ABS, 200, 0, 1, 1, 200, 0, 0, 0, 0),
	ROW("SR yes FR no (§10.5): REPORT, no 200", RECV, SEND, YES, NO, 200, 0, 1, 0, 200, 0, 1,
	    0, 0),
	ROW("SR yes FR partial: REPORT, no 200", RECV, SEND, YES, PART, 200, 0, 1, 0, 200, 0, 1,
	    0, 0),
	ROW("SR yes, refused (413): no success", RECV, SEND, YES, ABS, 413, 0, 1, 1, 413, 0, 0, 0,
	    0),
	/* a REPORT is never answered, never reported on */
	ROW("REPORT received", RECV, REPORT, ABS, ABS, 200, 0, 1, 0, 0, 0, 0, 0, 0),
	ROW("REPORT received, bad", RECV, REPORT, YES, YES, 400, 0, 0, 0, 0, 0, 0, 0, 0),
	ROW("REPORT: no timeout", TOUT, REPORT, ABS, ABS, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	/* AUTH (RFC 4976) carries no Failure-Report: always answered */
	ROW("AUTH received, 401", RECV, AUTH, ABS, ABS, 401, 0, 0, 1, 401, 0, 0, 0, 0),
	ROW("AUTH sent, 401 back", RESP, AUTH, ABS, ABS, 401, 0, 0, 0, 401, 0, 0, 1, 0),
	/* the sender learns of failures from responses and its own timer */
	ROW("sent, 200", RESP, SEND, ABS, ABS, 200, 0, 0, 0, 200, 0, 0, 0, 0),
	ROW("sent, 481", RESP, SEND, ABS, ABS, 481, 0, 0, 0, 481, 0, 0, 1, 0),
	ROW("sent, 413: stop the message", RESP, SEND, ABS, YES, 413, 0, 0, 0, 413, 0, 0, 1, 1),
	ROW("sent FR partial, 413", RESP, SEND, ABS, PART, 413, 0, 0, 0, 413, 0, 0, 1, 1),
	ROW("sent FR yes, timeout: local 408", TOUT, SEND, ABS, YES, 0, 0, 0, 0, 408, 0, 0, 1, 0),
	ROW("sent FR absent, timeout: local 408", TOUT, SEND, ABS, ABS, 0, 0, 0, 0, 408, 0, 0, 1,
	    0),
	ROW("sent FR partial: no timer, nothing", TOUT, SEND, ABS, PART, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	ROW("sent FR no: no timer, nothing", TOUT, SEND, ABS, NO, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	/* a relay that forwarded the request turns failures into failure REPORTs */
	ROW("relayed, 200", RESP, SEND, ABS, YES, 200, 1, 0, 0, 200, 0, 0, 0, 0),
	ROW("relayed FR yes, 481: failure REPORT", RESP, SEND, ABS, YES, 481, 1, 0, 0, 481, 1, 0,
	    0, 0),
	ROW("relayed FR absent, 413: failure REPORT", RESP, SEND, ABS, ABS, 413, 1, 0, 0, 413, 1,
	    0, 0, 0),
	ROW("relayed FR partial, 415: failure REPORT", RESP, SEND, ABS, PART, 415, 1, 0, 0, 415, 1,
	    0, 0, 0),
	ROW("relayed FR no, 481: nothing", RESP, SEND, ABS, NO, 481, 1, 0, 0, 481, 0, 0, 0, 0),
	ROW("relayed FR yes, timeout: REPORT 408", TOUT, SEND, ABS, YES, 0, 1, 0, 0, 408, 1, 0, 0,
	    0),
	ROW("relayed FR partial, timeout: no timer", TOUT, SEND, ABS, PART, 0, 1, 0, 0, 0, 0, 0, 0,
	    0),
};

Test(msrp_report, decision_table)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *r = &table[i];
		struct msrp_report_out got;

		msrp_report_decide(&r->in, &got);
		cr_expect_eq(got.respond, r->want.respond, "%s: respond", r->why);
		cr_expect_eq(got.code, r->want.code, "%s: code %d", r->why, got.code);
		cr_expect_eq(got.failure_report, r->want.failure_report, "%s: failure REPORT", r->why);
		cr_expect_eq(got.success_report, r->want.success_report, "%s: success REPORT", r->why);
		cr_expect_eq(got.failed, r->want.failed, "%s: failed", r->why);
		cr_expect_eq(got.stop_message, r->want.stop_message, "%s: stop", r->why);
	}
}

Test(msrp_report, defaults_and_helpers)
{
	cr_assert_eq(msrp_report_failure_eff(ABS), YES);
	cr_assert_eq(msrp_report_failure_eff(YES), YES);
	cr_assert_eq(msrp_report_failure_eff(NO), NO);
	cr_assert_eq(msrp_report_failure_eff(PART), PART);
	cr_assert_eq(msrp_report_success_eff(ABS), NO);
	cr_assert_eq(msrp_report_success_eff(YES), YES);
	cr_assert_eq(msrp_report_success_eff(NO), NO);

	cr_assert(msrp_report_expect_response(SEND, ABS));
	cr_assert(msrp_report_expect_response(SEND, YES));
	cr_assert(!msrp_report_expect_response(SEND, PART));
	cr_assert(!msrp_report_expect_response(SEND, NO));
	cr_assert(!msrp_report_expect_response(REPORT, YES));
	cr_assert(msrp_report_expect_response(AUTH, ABS));

	cr_assert(msrp_report_respond(SEND, ABS, 200));
	cr_assert(!msrp_report_respond(SEND, PART, 200));
	cr_assert(msrp_report_respond(SEND, PART, 400));
	cr_assert(!msrp_report_respond(SEND, NO, 413));
	cr_assert(!msrp_report_respond(REPORT, YES, 400));
	cr_assert(msrp_report_respond(MSRP_M_OTHER, ABS, 501));
}
