/* msrp_report.c — Success-Report / Failure-Report decisions (RFC 4975 §7.1.1–§7.2).
 * See msrp_report.h for the rules. */
#include "msrp/msrp_report.h"

#include <string.h>

enum msrp_report msrp_report_failure_eff(enum msrp_report failure_report)
{
	switch (failure_report) {
	case MSRP_REPORT_NO:
		return MSRP_REPORT_NO;
	case MSRP_REPORT_PARTIAL:
		return MSRP_REPORT_PARTIAL;
	default:
		return MSRP_REPORT_YES;     /* absent: "yes" */
	}
}

enum msrp_report msrp_report_success_eff(enum msrp_report success_report)
{
	/* absent: "no"; "partial" is no Success-Report value: taken as "no" */
	return success_report == MSRP_REPORT_YES ? MSRP_REPORT_YES : MSRP_REPORT_NO;
}

static int is_success(int code)
{
	return code >= 200 && code <= 299;
}

int msrp_report_respond(enum msrp_method method, enum msrp_report failure_report, int code)
{
	if (method == MSRP_M_REPORT)
		return 0;
	switch (msrp_report_failure_eff(failure_report)) {
	case MSRP_REPORT_NO:
		return 0;
	case MSRP_REPORT_PARTIAL:
		return !is_success(code);
	default:
		return 1;
	}
}

int msrp_report_expect_response(enum msrp_method method, enum msrp_report failure_report)
{
	if (method == MSRP_M_REPORT)
		return 0;
	return msrp_report_failure_eff(failure_report) == MSRP_REPORT_YES;
}

/* A request we sent or forwarded failed with <code>. */
static void failed(const struct msrp_report_in *in, int code, struct msrp_report_out *out)
{
	out->code = code;
	if (in->forwarded) {
		out->failure_report = msrp_report_failure_eff(in->failure_report) != MSRP_REPORT_NO;
	} else {
		out->failed = 1;
		out->stop_message = code == 413 && in->method == MSRP_M_SEND;
	}
}

void msrp_report_decide(const struct msrp_report_in *in, struct msrp_report_out *out)
{
	memset(out, 0, sizeof(*out));
	if (in->method == MSRP_M_REPORT)
		return;
	switch (in->event) {
	case MSRP_REV_RECEIVED:
		out->code = in->code;
		out->respond = msrp_report_respond(in->method, in->failure_report, in->code);
		out->success_report = in->method == MSRP_M_SEND && in->code == 200 && in->complete &&
				      msrp_report_success_eff(in->success_report) == MSRP_REPORT_YES;
		break;
	case MSRP_REV_RESPONSE:
		if (is_success(in->code)) {
			out->code = in->code;
			break;
		}
		failed(in, in->code, out);
		break;
	case MSRP_REV_TIMEOUT:
		if (!msrp_report_expect_response(in->method, in->failure_report))
			break;          /* no timer should have run */
		failed(in, 408, out);
		break;
	default:
		break;
	}
}
