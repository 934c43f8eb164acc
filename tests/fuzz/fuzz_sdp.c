/* fuzz_sdp.c — libFuzzer target of the SDP parser (sip/sdp.c) and the MSRP stream on top
 * of it (sip/sdp_msrp.c).
 *
 * The input is the description, in libFuzzer's own buffer of exactly <size> bytes, so that
 * AddressSanitizer stops any read past its end. The limits are small (4 media, 16
 * attributes) so that they are hit often. When it parses:
 *   - sdp_write() says the same length for every buffer size and its output parses again
 *     (from a heap copy of exactly its length) to as many media, attributes and kept lines,
 *     and writes back to the same bytes;
 *   - sdp_msrp_find() returns 0, -ENOENT or -EINVAL, with a reason exactly when -EINVAL;
 *   - when the stream is accepted, every one of its types matches itself, and the peer may
 *     be sent a type from its list unless its direction forbids it;
 *   - sdp_msrp_answer() always answers (0), its answer parses, has as many m= lines as the
 *     offer, and when the verdict is OK its MSRP stream is found at the same index, valid,
 *     and sdp_msrp_negotiate() of offer and answer agrees with the answerer on who
 *     connects.
 * Any broken property aborts (a crash for libFuzzer). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sdp.h"
#include "sip/sdp_msrp.h"

#define CHECK(x)                                                                           \
	do {                                                                               \
		if (!(x))                                                                  \
			abort();                                                           \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sdp offer, again, ans;
static struct sdp_msrp_media om, am;
static char out[65536], out2[65536], abuf[16384];
static size_t out2_len;            /* what parse_copy() wrote into out2 */

static const cm_slice path[] = { CM_SLICE_LIT("msrp://relay.example.net:2855/r1;tcp"),
				 CM_SLICE_LIT("msrp://192.0.2.1:2855/fz1;tcp") };
static const cm_slice types[] = { CM_SLICE_LIT("message/cpim"), CM_SLICE_LIT("text/*"),
				  CM_SLICE_LIT("application/im-iscomposing+xml") };
static const cm_slice wrapped[] = { CM_SLICE_LIT("*") };

/* Parses a heap copy of exactly <n> bytes of <p> into <s> and, when it parses, writes it
 * into out2 (out2_len). The copy, which <s>'s slices point into, goes to *<keep>: the
 * caller frees it. */
static int parse_copy(const char *p, size_t n, struct sdp *s, char **keep)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	CHECK(copy);
	memcpy(copy, p, n);
	rc = sdp_parse((cm_slice){ copy, n }, NULL, s, NULL);
	if (rc == 0) {
		out2_len = sdp_write(s, out2, sizeof(out2));
		CHECK(out2_len < sizeof(out2));
	}
	*keep = copy;
	return rc;
}

/* The accepted stream of our answer (in ans) against the offer's (om). */
static void answer_stream_checks(const struct sdp_msrp_answer_res *res)
{
	struct sdp_msrp_session ss;

	CHECK(sdp_msrp_find(&ans, &am) == 0);
	CHECK(am.index == res->index && am.port == 2855 && am.npath == 2 && am.ntypes > 0);
	CHECK(am.setup == res->setup && am.cema == res->cema);
	CHECK(sdp_msrp_negotiate(&om, &am, 0, &ss) == 0);
	CHECK(ss.we_connect == res->we_connect);
}

static void answer_checks(void)
{
	struct sdp_msrp_local l = {
		.username = CM_SLICE_LIT("fz"), .sess_id = CM_SLICE_LIT("1"),
		.sess_version = CM_SLICE_LIT("1"), .addr = CM_SLICE_LIT("192.0.2.1"),
		.port = 2855, .path = path, .npath = 2, .types = types, .ntypes = 3,
		.wrapped = wrapped, .nwrapped = 1, .max_size = 1000,
		.setup = (offer.nattrs_all & 1) ? SDP_SETUP_PASSIVE : SDP_SETUP_ACTIVE,
		.cema = 1,
	};
	struct sdp_msrp_answer_res res;
	size_t n;
	char *keep;

	CHECK(sdp_msrp_answer(&offer, &l, abuf, sizeof(abuf), &n, &res) == 0);
	CHECK(n == strlen(abuf));
	CHECK(parse_copy(abuf, n, &ans, &keep) == 0);
	CHECK(ans.nmedia == offer.nmedia);
	CHECK((res.sip_code == 0) == (res.verdict == SDP_MSRP_OK));
	if (res.verdict == SDP_MSRP_OK)
		answer_stream_checks(&res);
	free(keep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_limits lim = { .max_size = 8192, .max_lines = 64, .max_line = 512,
				  .max_media = 4, .max_attrs = 16 };
	size_t n;
	char *keep;
	int rc;

	if (sdp_parse((cm_slice){ (const char *)data, size }, &lim, &offer, NULL) != 0) {
		CHECK(offer.err.code != SDP_E_NONE);
		return 0;
	}

	/* the writer: snprintf's contract, and a fixed point after one round */
	n = sdp_write(&offer, NULL, 0);
	CHECK(n < sizeof(out));
	CHECK(sdp_write(&offer, out, sizeof(out)) == n && strlen(out) == n);
	for (size_t len = 1; len <= n; len += 1 + len / 3) {
		CHECK(sdp_write(&offer, out2, len) == n);
		CHECK(strlen(out2) == len - 1 && memcmp(out2, out, len - 1) == 0);
	}
	CHECK(parse_copy(out, n, &again, &keep) == 0);
	free(keep);
	CHECK(again.nmedia == offer.nmedia && again.nattrs_all == offer.nattrs_all &&
	      again.nothers_all == offer.nothers_all && again.ntime == offer.ntime);
	CHECK(out2_len == n && memcmp(out2, out, n) == 0);

	/* the MSRP stream */
	rc = sdp_msrp_find(&offer, &om);
	CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
	CHECK((rc == -EINVAL) == (rc != -ENOENT && om.bad != SDP_MSRP_BAD_NONE));
	if (rc == 0 && om.port) {
		for (unsigned i = 0; i < om.ntypes; i++) {
			cm_slice t = om.types[i];

			if (t.len == 1 || t.p[t.len - 1] == '*')
				continue;
			CHECK(sdp_msrp_type_match(t, t));
			CHECK(sdp_msrp_may_send(&om, t, 0) ==
			      ((om.dir == SDP_DIR_SENDONLY || om.dir == SDP_DIR_INACTIVE) ?
				       SDP_MSRP_SEND_DIR :
				       SDP_MSRP_SEND_OK));
		}
	}
	answer_checks();
	return 0;
}
