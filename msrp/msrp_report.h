/* msrp_report.h — what a request's Success-Report / Failure-Report ask for, as pure
 * decisions (RFC 4975 §5.3, §7.1.1–§7.2, RFC 4976 for relays).
 *
 * The rules, in one place:
 *
 *   - Failure-Report absent means "yes"; Success-Report absent means "no".
 *   - Transaction responses go hop by hop. The receiver of a request sends:
 *       Failure-Report yes   every response (200 and errors);
 *       Failure-Report partial  error responses only, never a 200;
 *       Failure-Report no    no response at all.
 *     A REPORT is never answered, whatever it carries; REPORTs carry neither header.
 *   - Hence the sender of a request expects a response, and runs the transaction timer
 *     (local 408 when it fires), only for Failure-Report yes: with "partial" silence is
 *     what success looks like, with "no" nothing ever comes.
 *   - A failure that the previous hop cannot learn from a response — a relay that
 *     forwarded the request and then got an error response or a timeout from the next hop
 *     (it already answered upstream) — becomes a failure REPORT to the request's
 *     From-Path when Failure-Report is yes or partial, Status "000 <code>".
 *     The endpoint that sent the request learns of the failure locally instead.
 *   - The endpoint that receives a message with Success-Report yes sends a success REPORT
 *     ("000 200", Byte-Range 1-<total>/<total>) once the whole message has arrived, whatever
 *     Failure-Report says.
 *   - A 413 response tells the sender to stop sending that message (its further chunks).
 *
 * Nothing here touches the wire: msrp_write_response() and msrp_write_report() do. */
#ifndef MSRP_REPORT_H
#define MSRP_REPORT_H

#include "msrp/msrp-t.h"

/* Failure-Report / Success-Report with their defaults applied: YES, NO or PARTIAL. */
enum msrp_report msrp_report_failure_eff(enum msrp_report failure_report);
enum msrp_report msrp_report_success_eff(enum msrp_report success_report);

/* 1 when the receiver of a <method> request with <failure_report> answers it with <code>,
 * else 0. */
int msrp_report_respond(enum msrp_method method, enum msrp_report failure_report, int code);

/* 1 when the sender of a <method> request with <failure_report> waits for a response (and
 * arms the transaction timer), else 0. */
int msrp_report_expect_response(enum msrp_method method, enum msrp_report failure_report);

/* Everything that follows from the event <in> into <out> (zeroed first):
 *   RECEIVED  respond (with code) by the rule above; success_report when a SEND with
 *             Success-Report yes was accepted (200) and <complete>.
 *   RESPONSE  code 200: nothing. An error: failed (the sender's application is told) when
 *             we sent the request, failure_report when we <forwarded> it and Failure-Report
 *             is yes or partial; stop_message on 413 for the sender.
 *   TIMEOUT   as RESPONSE with 408, when a response was expected at all (else nothing).
 * A REPORT never leads anywhere: all zero. */
void msrp_report_decide(const struct msrp_report_in *in, struct msrp_report_out *out);

#endif
