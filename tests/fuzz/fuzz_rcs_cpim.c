/* fuzz_rcs_cpim.c — libFuzzer target of the message/cpim codec (rcs/rcs_cpim.c): the input
 * is a message/cpim body, as an MSRP SEND or a SIP MESSAGE carries it.
 *
 * Properties:
 *   - rcs_cpim_parse() returns 0, -EINVAL or -E2BIG; on failure *m holds nothing; on
 *     success every slice lies inside the input, the counts are within their limits, the
 *     NS count is that of the "NS" lines, the body ends at the end of the input;
 *   - rcs_cpim_get() of every header's name, in no namespace and in each declared one,
 *     gives NULL or a header of m with that name; rcs_cpim_addr() of every value gives
 *     -EINVAL or slices inside the value;
 *   - the message rebuilt with rcs_cpim_write() (its first From and To as from/to, or
 *     stand-ins, every other header as hdrs, its Content-Type and other content headers)
 *     is refused exactly when the parsed message cannot be written (no Content-Type, a
 *     folded content header, more headers than kept once stand-ins are added); otherwise
 *     it is written into an exact-size heap buffer with the length first measured, gives
 *     -ENOSPC with one byte less, and parses again to the same headers, content type and
 *     body;
 *   - rcs_cpim_datetime() of the first 8 bytes is 24 characters of RFC 3339 form. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rcs/rcs_cpim.h"
#include "tests/fuzz/fuzz_check.h"

static struct rcs_cpim_msg m, m2;
static struct rcs_cpim_hdr rest[RCS_CPIM_MAX_HDRS], rest_mime[RCS_CPIM_MAX_MIME];

static int inside(cm_slice s, const void *base, size_t n)
{
	uintptr_t p = (uintptr_t)s.p, b = (uintptr_t)base;

	if (!s.p)
		return s.len == 0;
	return p >= b && p <= b + n && s.len <= b + n - p;
}

static int sl_eq(cm_slice a, cm_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int has_crlf(cm_slice s)
{
	return s.len && (memchr(s.p, '\r', s.len) || memchr(s.p, '\n', s.len));
}

static int is_core(const struct rcs_cpim_hdr *h, const char *name)
{
	return h->prefix.len == 0 && h->name.len == strlen(name) &&
	       memcmp(h->name.p, name, h->name.len) == 0;
}

static int hdr_eq(const struct rcs_cpim_hdr *a, const struct rcs_cpim_hdr *b)
{
	return sl_eq(a->prefix, b->prefix) && sl_eq(a->name, b->name) &&
	       sl_eq(a->params, b->params) && sl_eq(a->value, b->value);
}

static void check_hdr(const struct rcs_cpim_hdr *h, const uint8_t *data, size_t size)
{
	cm_slice d, u;

	CHECK(inside(h->prefix, data, size) && inside(h->name, data, size) &&
	      inside(h->params, data, size) && inside(h->value, data, size));
	CHECK(h->name.len > 0);
	if (rcs_cpim_addr(h->value, &d, &u) == 0)
		CHECK(inside(d, h->value.p, h->value.len) && inside(u, h->value.p, h->value.len) &&
		      u.len > 0);
	else
		CHECK(d.len == 0 && u.len == 0);
}

/* rcs_cpim_get() of the name of <h> in no namespace and in each declared one. */
static void check_get(const struct rcs_cpim_hdr *h)
{
	char name[128];
	const struct rcs_cpim_hdr *r;

	if (h->name.len >= sizeof(name) || memchr(h->name.p, 0, h->name.len))
		return;
	memcpy(name, h->name.p, h->name.len);
	name[h->name.len] = '\0';
	for (unsigned k = 0; k <= m.nns; k++) {
		unsigned guard = 0;
		cm_slice uri = k == m.nns ? CM_SLICE_NULL : m.ns[k].uri;

		for (r = rcs_cpim_get(&m, uri, name, NULL); r; r = rcs_cpim_get(&m, uri, name, r)) {
			CHECK(r >= m.hdrs && r < m.hdrs + m.nhdrs && sl_eq(r->name, h->name));
			if (uri.len == 0)
				CHECK(r->prefix.len == 0);
			CHECK(++guard <= m.nhdrs);
		}
	}
}

static void check_datetime(const uint8_t *data, size_t size)
{
	long long t = 0;
	char out[32];

	memcpy(&t, data, size < sizeof(t) ? size : sizeof(t));
	rcs_cpim_datetime(t, out);
	CHECK(strlen(out) == 24 && out[4] == '-' && out[7] == '-' && out[10] == 'T' &&
	      out[13] == ':' && out[16] == ':' && out[19] == '.' && out[23] == 'Z');
}

static void rebuild(void)
{
	struct rcs_cpim_out o = { .from = CM_SLICE_LIT("<sip:fuzz-from@example.com>"),
				  .to = CM_SLICE_LIT("<sip:fuzz-to@example.com>") };
	int from_i = -1, to_i = -1, ct_i = -1, einval;
	unsigned nrest = 0, nrest_mime = 0;
	long need, n;
	char *buf;

	for (unsigned i = 0; i < m.nhdrs; i++) {
		const struct rcs_cpim_hdr *h = &m.hdrs[i];

		if (from_i < 0 && is_core(h, "From") && h->value.len)
			from_i = (int)i;
		else if (to_i < 0 && is_core(h, "To") && h->value.len)
			to_i = (int)i;
		else
			rest[nrest++] = *h;
	}
	if (from_i >= 0)
		o.from = m.hdrs[from_i].value;
	if (to_i >= 0)
		o.to = m.hdrs[to_i].value;
	einval = m.content_type.len == 0 || has_crlf(m.content_type);
	for (unsigned i = 0; i < m.nmime; i++) {
		if (ct_i < 0 && m.mime[i].value.p == m.content_type.p &&
		    m.mime[i].value.len == m.content_type.len && m.content_type.len) {
			ct_i = (int)i;
			continue;
		}
		einval |= has_crlf(m.mime[i].value);
		rest_mime[nrest_mime++] = m.mime[i];
	}
	o.hdrs = rest;
	o.nhdrs = nrest;
	o.content_type = m.content_type;
	o.mime = rest_mime;
	o.nmime = nrest_mime;
	o.body = m.body;

	need = rcs_cpim_write(NULL, 0, &o);
	if (einval) {
		CHECK(need == -EINVAL);
		return;
	}
	if (nrest + 2 > RCS_CPIM_MAX_HDRS) {
		CHECK(need == -E2BIG);
		return;
	}
	CHECK(need > 0);
	buf = malloc((size_t)need);
	CHECK(buf);
	n = rcs_cpim_write(buf, (size_t)need, &o);
	CHECK(n == need);
	CHECK(rcs_cpim_parse(buf, (size_t)n, &m2) == 0);
	CHECK(sl_eq(m2.content_type, m.content_type));
	CHECK(sl_eq(m2.body, m.body));
	CHECK(m2.nhdrs == nrest + 2 && m2.nns == m.nns && m2.nmime == nrest_mime + 1);
	CHECK(sl_eq(m2.hdrs[0].value, o.from) && sl_eq(m2.hdrs[1].value, o.to));
	for (unsigned i = 0; i < nrest; i++)
		CHECK(hdr_eq(&m2.hdrs[2 + i], &rest[i]));
	for (unsigned i = 0; i < nrest_mime; i++)
		CHECK(sl_eq(m2.mime[1 + i].name, rest_mime[i].name) &&
		      sl_eq(m2.mime[1 + i].value, rest_mime[i].value));
	free(buf);
	/* one byte less: -ENOSPC, nothing written */
	buf = malloc((size_t)need - 1 ? (size_t)need - 1 : 1);
	CHECK(buf);
	if (need > 1)
		memset(buf, 0x5a, (size_t)need - 1);
	CHECK(rcs_cpim_write(buf, (size_t)need - 1, &o) == -ENOSPC);
	for (long i = 0; i < need - 1; i++)
		CHECK((unsigned char)buf[i] == 0x5a);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact copy on the heap, so ASan sees any read past the end */
	char *in = malloc(size ? size : 1);
	unsigned nns = 0;
	int rc;

	CHECK(in);
	if (size)
		memcpy(in, data, size);
	check_datetime(data, size);
	rc = rcs_cpim_parse(in, size, &m);
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG);
	if (rc != 0) {
		CHECK(m.nhdrs == 0 && m.nns == 0 && m.nmime == 0 && m.body.len == 0 &&
		      m.content_type.len == 0);
		free(in);
		return 0;
	}
	CHECK(m.nhdrs <= RCS_CPIM_MAX_HDRS && m.nns <= RCS_CPIM_MAX_NS &&
	      m.nmime <= RCS_CPIM_MAX_MIME);
	for (unsigned i = 0; i < m.nhdrs; i++) {
		check_hdr(&m.hdrs[i], (const uint8_t *)in, size);
		nns += is_core(&m.hdrs[i], "NS");
	}
	CHECK(nns == m.nns);
	for (unsigned i = 0; i < m.nns; i++)
		CHECK(inside(m.ns[i].prefix, in, size) && inside(m.ns[i].uri, in, size) &&
		      m.ns[i].uri.len > 0);
	for (unsigned i = 0; i < m.nmime; i++)
		check_hdr(&m.mime[i], (const uint8_t *)in, size);
	CHECK(inside(m.content_type, in, size) && inside(m.body, in, size));
	CHECK(m.body.p + m.body.len == in + size);
	for (unsigned i = 0; i < m.nhdrs; i++)
		check_get(&m.hdrs[i]);
	rebuild();
	free(in);
	return 0;
}
