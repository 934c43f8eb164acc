/* fuzz_sip_dialog.c — libFuzzer target for SIP dialogs (sip/sip_dialog.c) over the parser
 * (sip/sip_parse.c) and the serializer (sip/sip_write.c).
 *
 * Input: two SIP messages separated by the line "=====" (MARK below, right after the
 * first message's last CRLF): a dialog-creating
 * request and a response to it. Each goes to an exact-size heap copy (ASan sees a read
 * past it). Then, for what parses:
 *   - UAS: a dialog from the request with our tag; the request itself is not "in" it
 *     (no To tag) and its CSeq is not in order again (500); a BYE is written, must parse,
 *     carry the dialog's Call-ID, tags and next CSeq, and the 200 built from it
 *     (sip_write_response_from) must match the dialog.
 *   - UAC: a dialog from request + response; the response matches it and an update with
 *     it succeeds; BYE and ACK are written and must parse; the peer's dialog (UAS from the
 *     same request with the response's To tag) must match our BYE and take its CSeq. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_dialog.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "sip/sip_write.h"
#include "tests/fuzz/fuzz_check.h"

#define MARK "=====\r\n"

static struct sip_parse_stats stats;
static struct sip_parse_cfg cfg;
static char out[70000], out2[70000];
static struct sip_msg req, resp, w, w2;  /* large: kept off the stack */

static int slice_eq(cm_slice a, cm_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The tag of From or To of <m> (which parsed: they are well-formed). */
static cm_slice tag_of(const struct sip_msg *m, enum sip_hid id)
{
	struct sip_addr a;

	CHECK(sip_addr_parse(sip_msg_hdr(m, id), &a) == 0);
	return a.tag;
}

/* <buf>[0..<n>) was written by <d> as <method> with CSeq <seq>: it parses and says so. */
static void written(const struct sip_dialog *d, const char *buf, ssize_t n, const char *method,
		    uint32_t seq, struct sip_msg *m)
{
	struct sip_cseq cs;
	cm_slice cid;

	CHECK(n > 0);
	CHECK(sip_parse_msg(&cfg, buf, (size_t)n, m) == 0);
	CHECK(m->kind == SIP_KIND_REQUEST);
	CHECK(slice_eq(m->method_name, (cm_slice){ method, strlen(method) }));
	CHECK(sip_callid_parse(sip_msg_hdr(m, SIP_H_CALL_ID), &cid) == 0);
	CHECK(slice_eq(cid, sip_dialog_call_id(d)));
	CHECK(sip_cseq_parse(sip_msg_hdr(m, SIP_H_CSEQ), &cs) == 0 && cs.seq == seq);
	CHECK(slice_eq(tag_of(m, SIP_H_FROM), sip_dialog_local_tag(d)));
	CHECK(slice_eq(tag_of(m, SIP_H_TO), sip_dialog_remote_tag(d)));
}

static const cm_slice via = CM_SLICE_LIT("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfz");

static ssize_t bye(struct sip_dialog *d, char *buf, cm_slice *hop)
{
	return sip_dialog_request(d, buf, sizeof(out), CM_SLICE_LIT("BYE"), via,
				  CM_SLICE_LIT("<sip:fz@192.0.2.1>"), NULL, 0, CM_SLICE_NULL, hop);
}

static void uas(void)
{
	struct sip_dialog d;
	cm_slice hop;
	ssize_t n;

	if (sip_dialog_uas(&d, &req, CM_SLICE_LIT("fz1tag"), 1000) != 0)
		return;
	CHECK(sip_dialog_state(&d) == SIP_DLG_CONFIRMED);
	CHECK(sip_dialog_matches(&d, &req) == 0);
	CHECK(sip_dialog_rx_request(&d, &req) == 500);
	n = bye(&d, out, &hop);
	written(&d, out, n, "BYE", 1001, &w);
	CHECK(sip_dialog_local_cseq(&d) == 1001);
	CHECK(hop.len > 0 && hop.p >= (const char *)&d && hop.p + hop.len <= (const char *)(&d + 1));
	n = sip_write_response_from(out2, sizeof(out2), &w, 200, CM_SLICE_NULL,
				    CM_SLICE_LIT("peer"), NULL, 0, CM_SLICE_NULL);
	CHECK(n > 0);
	CHECK(sip_parse_msg(&cfg, out2, (size_t)n, &w2) == 0);
	CHECK(sip_dialog_matches(&d, &w2) == 1);
}

static void uac(void)
{
	struct sip_dialog d, peer;
	uint32_t seq;
	ssize_t n;
	int r;

	if (sip_dialog_uac(&d, &req, &resp) != 0)
		return;
	CHECK(sip_dialog_state(&d) == (resp.status < 200 ? SIP_DLG_EARLY : SIP_DLG_CONFIRMED));
	CHECK(sip_dialog_matches(&d, &resp) == 1);
	CHECK(sip_dialog_remote_cseq(&d, &seq) == 0);
	r = sip_dialog_update(&d, &resp, resp.status >= 200);
	CHECK(r == 0);
	if (!sip_dialog_remote_target(&d).len)
		return;
	seq = sip_dialog_local_cseq(&d);
	n = sip_dialog_ack(&d, out, sizeof(out), seq, via, NULL, 0, CM_SLICE_LIT("v=0\r\n"), NULL);
	written(&d, out, n, "ACK", seq, &w);
	CHECK(sip_dialog_local_cseq(&d) == seq);
	n = bye(&d, out, NULL);
	if (n == -ERANGE)
		return;
	written(&d, out, n, "BYE", seq + 1, &w);
	if (sip_dialog_uas(&peer, &req, tag_of(&resp, SIP_H_TO), 1) != 0)
		return;
	CHECK(sip_dialog_matches(&peer, &w) == 1);
	CHECK(sip_dialog_rx_request(&peer, &w) == 0);
}

/* A heap copy of exactly <n> bytes (1 when <n> is 0). */
static char *dup_exact(const uint8_t *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	CHECK(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *mark = memmem(data, size, MARK, sizeof(MARK) - 1);
	size_t la, off;
	char *a, *b;
	int ra, rb;

	if (!cfg.stats) {
		cfg.stats = &stats;
		sip_parse_limits_default(&cfg.limits);
	}
	if (!mark)
		return 0;
	la = (size_t)(mark - data);
	off = la + sizeof(MARK) - 1;
	a = dup_exact(data, la);
	b = dup_exact(data + off, size - off);
	ra = sip_parse_msg(&cfg, a, la, &req);
	rb = sip_parse_msg(&cfg, b, size - off, &resp);
	if (ra == 0 && req.kind == SIP_KIND_REQUEST) {
		uas();
		if (rb == 0 && resp.kind == SIP_KIND_RESPONSE)
			uac();
	}
	free(a);
	free(b);
	return 0;
}
