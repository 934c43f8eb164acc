/* test_sip_hdr.c — SIP header names and lazy value parsers (sip/sip_hdr.c).
 *
 * Every value is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end of a value crashes the test. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "tests/lib/guard.h"

static int slice_is(cm_slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

/* A guarded copy of <s> as a value slice (release with guard_release(v.p)). */
static cm_slice gv(const char *s)
{
	size_t n = strlen(s);

	return (cm_slice){ guard_copy(s, n), n };
}

/* Each of <bad>[0..<n>) is refused by the parser <which> with -EINVAL. */
enum which { P_URI, P_ADDR, P_VIA };

static void refused(enum which w, const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cm_slice g = gv(bad[i]);
		struct sip_uri u;
		struct sip_addr a;
		struct sip_via v;
		int r = w == P_URI ? sip_uri_parse(g, &u)
			: w == P_ADDR ? sip_addr_parse(g, &a) : sip_via_parse(g, &v);

		cr_assert_eq(r, -EINVAL, "%s", bad[i]);
		guard_release(g.p);
	}
}

/* ---- names -------------------------------------------------------------------------- */

Test(sip_hdr, names_any_case_and_compact_forms)
{
	static const struct {
		const char *name;
		enum sip_hid id;
	} c[] = {
		{ "i", SIP_H_CALL_ID }, { "M", SIP_H_CONTACT }, { "e", SIP_H_CONTENT_ENCODING },
		{ "l", SIP_H_CONTENT_LENGTH }, { "f", SIP_H_FROM }, { "t", SIP_H_TO },
		{ "v", SIP_H_VIA }, { "c", SIP_H_CONTENT_TYPE }, { "k", SIP_H_SUPPORTED },
		{ "s", SIP_H_SUBJECT }, { "o", SIP_H_EVENT }, { "r", SIP_H_REFER_TO },
		{ "u", SIP_H_ALLOW_EVENTS }, { "y", SIP_H_IDENTITY }, { "b", SIP_H_REFERRED_BY },
		{ "a", SIP_H_ACCEPT_CONTACT }, { "j", SIP_H_REJECT_CONTACT },
		{ "d", SIP_H_REQUEST_DISPOSITION }, { "x", SIP_H_SESSION_EXPIRES },
		{ "n", SIP_H_IDENTITY_INFO }, { "q", SIP_H_OTHER }, { "call-id", SIP_H_CALL_ID },
		{ "CSEQ", SIP_H_CSEQ }, { "record-ROUTE", SIP_H_RECORD_ROUTE },
		{ "Via-X", SIP_H_OTHER },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cm_slice g = gv(c[i].name);

		cr_assert_eq(sip_hdr_id(g.p, g.len), c[i].id, "%s", c[i].name);
		guard_release(g.p);
	}
	for (int id = 1; id < SIP_H__COUNT; id++) {
		const char *name = sip_hdr_name((enum sip_hid)id);

		cr_assert_eq((int)sip_hdr_id(name, strlen(name)), id, "%s", name);
	}
	cr_assert_str_eq(sip_hdr_name(SIP_H__COUNT), "");
	cr_assert_eq(sip_method_of("INVITE", 6), SIP_M_INVITE);
	cr_assert_eq(sip_method_of("invite", 6), SIP_M_OTHER);
	cr_assert_str_eq(sip_method_name(SIP_M_PUBLISH), "PUBLISH");
}

/* ---- URIs --------------------------------------------------------------------------- */

Test(sip_hdr, uri_rfc3261_examples)
{
	struct sip_uri u;
	cm_slice g = gv("sip:alice:secretword@atlanta.com;transport=tcp");

	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert_eq(u.scheme, SIP_SCHEME_SIP);
	cr_assert(slice_is(u.user, "alice"));
	cr_assert(slice_is(u.password, "secretword"));
	cr_assert(slice_is(u.host, "atlanta.com"));
	cr_assert(slice_is(u.transport, "tcp"));
	cr_assert_eq(u.port, 0);
	guard_release(g.p);

	g = gv("SIPS:alice@atlanta.com?subject=project%20x&priority=urgent");
	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert_eq(u.scheme, SIP_SCHEME_SIPS);
	cr_assert(slice_is(u.headers, "subject=project%20x&priority=urgent"));
	guard_release(g.p);

	g = gv("sip:+1-212-555-1212:1234@gateway.com;user=phone");
	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert(slice_is(u.user, "+1-212-555-1212"));
	cr_assert(slice_is(u.password, "1234"));
	cr_assert(slice_is(u.user_param, "phone"));
	guard_release(g.p);

	g = gv("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert(slice_is(u.method, "REGISTER"));
	cr_assert_eq(u.user.p, NULL);
	guard_release(g.p);

	g = gv("sip:p2.domain.com;lr;maddr=239.255.255.1;ttl=15");
	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert_eq(u.lr, 1);
	cr_assert(slice_is(u.maddr, "239.255.255.1"));
	cr_assert_eq(u.ttl, 15);
	guard_release(g.p);

	g = gv("sip:[2001:db8::10]:5070");
	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert_eq(u.host_type, SIP_HOST_IPV6);
	cr_assert_eq(u.port, 5070);
	guard_release(g.p);

	g = gv("sip:alice@192.0.2.4");
	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert_eq(u.host_type, SIP_HOST_IPV4);
	guard_release(g.p);

	g = gv("tel:+358-555-1234567;postd=pp22");
	cr_assert_eq(sip_uri_parse(g, &u), 0);
	cr_assert_eq(u.scheme, SIP_SCHEME_TEL);
	cr_assert(slice_is(u.user, "+358-555-1234567"));
	cr_assert(slice_is(u.params, "postd=pp22"));
	guard_release(g.p);
}

Test(sip_hdr, uri_refused)
{
	static const char *const bad[] = {
		"", "sip:", "sip:@example.com", "http://example.com", "sip:user@", "sip:a b@x",
		"sip:x@[2001:db8::10:5070", "sip:x@[2001:db8::g]", "sip:x@example.com:0",
		"sip:x@example.com:65536", "sip:x@example.com:", "sip:x@-bad.com",
		"sip:x@example.com;ttl=256", "sip:x@example.com;", "sip:x@example.com?",
		"sip:x@example.com?a", "sip:x%4@example.com", "sip:x@exa_mple.com",
		"<sip:user@example.com>", "sip:x@example.com;transport", "tel:", "tel:12a;x=",
		"nobodyknowsthisscheme:totallyopaquecontent", "sip:x@1.2.3.4.5..",
	};

	refused(P_URI, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(sip_hdr, params)
{
	cm_slice g = gv("a=1 ; b ;c = \"x;y\";d=[::1]"), rest = g, n, v;

	cr_assert_eq(sip_param_next(&rest, &n, &v), 1);
	cr_assert(slice_is(n, "a") && slice_is(v, "1"));
	cr_assert_eq(sip_param_next(&rest, &n, &v), 1);
	cr_assert(slice_is(n, "b") && v.p == NULL);
	cr_assert_eq(sip_param_next(&rest, &n, &v), 1);
	cr_assert(slice_is(n, "c") && slice_is(v, "\"x;y\""));
	cr_assert_eq(sip_param_next(&rest, &n, &v), 1);
	cr_assert(slice_is(n, "d") && slice_is(v, "[::1]"));
	cr_assert_eq(sip_param_next(&rest, &n, &v), 0);
	guard_release(g.p);
	g = gv("a=\"open");
	rest = g;
	cr_assert_eq(sip_param_next(&rest, &n, &v), -EINVAL);
	guard_release(g.p);
}

/* ---- addresses ------------------------------------------------------------------------ */

Test(sip_hdr, addresses)
{
	struct sip_addr a;
	cm_slice g = gv("\"A. G. Bell\" <sip:agb@bell-telephone.com> ;tag=a48s");

	cr_assert_eq(sip_addr_parse(g, &a), 0);
	cr_assert(slice_is(a.display, "A. G. Bell"));
	cr_assert(slice_is(a.uri, "sip:agb@bell-telephone.com"));
	cr_assert(slice_is(a.tag, "a48s"));
	guard_release(g.p);

	g = gv("sip:+12125551212@server.phone2net.com;tag=887s");
	cr_assert_eq(sip_addr_parse(g, &a), 0);
	cr_assert_eq(a.display.p, NULL);
	cr_assert(slice_is(a.uri, "sip:+12125551212@server.phone2net.com"));
	cr_assert(slice_is(a.tag, "887s"));
	guard_release(g.p);

	g = gv("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8");
	cr_assert_eq(sip_addr_parse(g, &a), 0);
	cr_assert(slice_is(a.display, "Anonymous"));
	guard_release(g.p);

	g = gv("<sip:alice@pc33.atlanta.com>;expires=3600;q=0.7");
	cr_assert_eq(sip_addr_parse(g, &a), 0);
	cr_assert(slice_is(a.expires, "3600"));
	cr_assert(slice_is(a.q, "0.7"));
	cr_assert(slice_is(a.params, "expires=3600;q=0.7"));
	guard_release(g.p);

	g = gv("*");
	cr_assert_eq(sip_addr_parse(g, &a), 0);
	cr_assert_eq(a.star, 1);
	guard_release(g.p);

	/* folded, as the message parser hands it out */
	g = gv("\"Bob\"\r\n <sip:bob@biloxi.example.com>\r\n ;tag=1");
	cr_assert_eq(sip_addr_parse(g, &a), 0);
	cr_assert(slice_is(a.tag, "1"));
	guard_release(g.p);

	static const char *const bad[] = {
		"", "\"open <sip:a@b>", "<sip:a@b", "<>", "<nocolon>", "Bell, Alexander <sip:a@b>",
		"sip:a@b;tag", "sip:a@b;tag=1;tag=2", "<sip:a@b> junk", "sip:a@b;", "<sip:a b@c>",
	};
	refused(P_ADDR, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(sip_hdr, lists)
{
	cm_slice g = gv("<sip:a@b;x=1,2>, \"Doe, J\" <sip:c@d> ,, sip:e@f"), rest = g, el;

	cr_assert_eq(sip_list_next(&rest, &el), 1);
	cr_assert(slice_is(el, "<sip:a@b;x=1,2>"));
	cr_assert_eq(sip_list_next(&rest, &el), 1);
	cr_assert(slice_is(el, "\"Doe, J\" <sip:c@d>"));
	cr_assert_eq(sip_list_next(&rest, &el), 1);
	cr_assert(slice_is(el, "sip:e@f"));
	cr_assert_eq(sip_list_next(&rest, &el), 0);
	guard_release(g.p);

	g = gv("INVITE, ACK ,OPTIONS");
	rest = g;
	cr_assert_eq(sip_token_next(&rest, &el), 1);
	cr_assert(slice_is(el, "INVITE"));
	cr_assert_eq(sip_token_next(&rest, &el), 1);
	cr_assert(slice_is(el, "ACK"));
	cr_assert_eq(sip_token_next(&rest, &el), 1);
	cr_assert(slice_is(el, "OPTIONS"));
	cr_assert_eq(sip_token_next(&rest, &el), 0);
	guard_release(g.p);

	g = gv("100rel, not a token");
	rest = g;
	cr_assert_eq(sip_token_next(&rest, &el), 1);
	cr_assert_eq(sip_token_next(&rest, &el), -EINVAL);
	guard_release(g.p);

	g = gv("\"unterminated, x");
	rest = g;
	cr_assert_eq(sip_list_next(&rest, &el), -EINVAL);
	guard_release(g.p);
}

/* ---- Via, CSeq, Call-ID, numbers, Content-Type, auth ---------------------------------- */

Test(sip_hdr, via)
{
	struct sip_via v;
	cm_slice g = gv("SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7");

	cr_assert_eq(sip_via_parse(g, &v), 0);
	cr_assert(slice_is(v.proto_name, "SIP"));
	cr_assert(slice_is(v.proto_version, "2.0"));
	cr_assert(slice_is(v.transport, "UDP"));
	cr_assert(slice_is(v.host, "erlang.bell-telephone.com"));
	cr_assert_eq(v.port, 5060);
	cr_assert(slice_is(v.branch, "z9hG4bK87asdks7"));
	cr_assert_eq(v.rport, 0);
	cr_assert_eq(v.ttl, -1);
	guard_release(g.p);

	g = gv("SIP / 2.0 / TCP 192.0.2.1 : 5061 ; received = 192.0.2.207 ; rport ; ttl=16 ; maddr=224.2.0.1");
	cr_assert_eq(sip_via_parse(g, &v), 0);
	cr_assert_eq(v.host_type, SIP_HOST_IPV4);
	cr_assert_eq(v.port, 5061);
	cr_assert(slice_is(v.received, "192.0.2.207"));
	cr_assert_eq(v.rport, 1);
	cr_assert_eq(v.rport_value, -1);
	cr_assert_eq(v.ttl, 16);
	cr_assert(slice_is(v.maddr, "224.2.0.1"));
	guard_release(g.p);

	static const char *const bad[] = {
		"SIP/2.0 host", "SIP/2.0/UDP", "SIP/2.0/UDP host:99999", "SIP/2.0/UDP host;ttl=300",
		"SIP/2.0/UDP host;branch", "SIP/2.0/UDP host;rport=x", "SIP/2.0/UDP [::1",
		"SIP/2.0/UDPhost", "SIP/2.0/UDP host junk",
	};
	refused(P_VIA, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(sip_hdr, cseq_callid_numbers)
{
	struct sip_cseq cs;
	cm_slice out, g = gv("4711 INVITE");
	uint32_t n;

	cr_assert_eq(sip_cseq_parse(g, &cs), 0);
	cr_assert_eq(cs.seq, 4711);
	cr_assert_eq(cs.method, SIP_M_INVITE);
	guard_release(g.p);
	g = gv("2147483648 INVITE");
	cr_assert_eq(sip_cseq_parse(g, &cs), -ERANGE);
	guard_release(g.p);
	g = gv("1INVITE");
	cr_assert_eq(sip_cseq_parse(g, &cs), -EINVAL);
	guard_release(g.p);
	g = gv("1 INVITE x");
	cr_assert_eq(sip_cseq_parse(g, &cs), -EINVAL);
	guard_release(g.p);

	g = gv("f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com");
	cr_assert_eq(sip_callid_parse(g, &out), 0);
	guard_release(g.p);
	g = gv("a b");
	cr_assert_eq(sip_callid_parse(g, &out), -EINVAL);
	guard_release(g.p);
	g = gv("a@b@c");
	cr_assert_eq(sip_callid_parse(g, &out), -EINVAL);
	guard_release(g.p);

	g = gv("0070");
	cr_assert_eq(sip_uint_parse(g, 255, &n), 0);
	cr_assert_eq(n, 70);
	guard_release(g.p);
	g = gv("256");
	cr_assert_eq(sip_uint_parse(g, 255, &n), -ERANGE);
	guard_release(g.p);
	g = gv("-1");
	cr_assert_eq(sip_uint_parse(g, 255, &n), -EINVAL);
	guard_release(g.p);
}

Test(sip_hdr, content_type_and_auth)
{
	struct sip_ctype ct;
	struct msrp_auth_params ap;
	cm_slice g = gv("multipart/mixed ; boundary=\"7a9cbec02ceef655\" ; x=y");

	cr_assert_eq(sip_ctype_parse(g, &ct), 0);
	cr_assert(slice_is(ct.type, "multipart"));
	cr_assert(slice_is(ct.subtype, "mixed"));
	guard_release(g.p);
	g = gv("text/");
	cr_assert_eq(sip_ctype_parse(g, &ct), -EINVAL);
	guard_release(g.p);

	g = gv("Digest realm=\"atlanta.com\", domain=\"sip:boxesbybob.com\", qop=\"auth\", "
	       "nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", opaque=\"\", stale=FALSE, algorithm=MD5");
	cr_assert_eq(sip_auth_parse(g, &ap), 0);
	cr_assert(slice_is(ap.scheme, "Digest"));
	cr_assert(slice_is(ap.realm, "atlanta.com"));
	cr_assert(slice_is(ap.nonce, "f84f1cec41e6cbe5aea9c8e88d359"));
	cr_assert(slice_is(ap.algorithm, "MD5"));
	guard_release(g.p);
	g = gv("Digest realm=\"a\",\r\n nonce=\"b\"");
	cr_assert_eq(sip_auth_parse(g, &ap), -EINVAL);
	guard_release(g.p);
}

/* Headers of one id over several lines iterate as one list. */
Test(sip_hdr, iterate_across_lines)
{
	static const char in[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n"
		"Record-Route: <sip:p1.example.com;lr>\r\n"
		"v: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n"
		"Record-Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n"
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
		"Call-ID: it@example.com\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	static const char *const hosts[] = { "a.example.com", "b.example.com", "c.example.com" };
	struct sip_parse_stats st = { 0 };
	struct sip_parse_cfg cfg = { .stats = &st };
	struct sip_msg m;
	struct sip_hdr_iter it;
	struct sip_via v;
	struct sip_addr a;
	cm_slice el;
	const char *g = guard_copy(in, sizeof(in) - 1);
	unsigned k = 0;

	sip_parse_limits_default(&cfg.limits);
	cr_assert_eq(sip_parse_msg(&cfg, g, sizeof(in) - 1, &m), 0, "%s", m.reason_text);
	sip_hdr_iter_init(&it, &m, SIP_H_VIA);
	for (; sip_hdr_iter_next(&it, &el) == 1; k++) {
		cr_assert_eq(sip_via_parse(el, &v), 0);
		cr_assert(slice_is(v.host, hosts[k]));
	}
	cr_assert_eq(k, 3);
	sip_hdr_iter_init(&it, &m, SIP_H_RECORD_ROUTE);
	for (k = 0; sip_hdr_iter_next(&it, &el) == 1; k++) {
		struct sip_uri u;

		cr_assert_eq(sip_addr_parse(el, &a), 0);
		cr_assert_eq(sip_uri_parse(a.uri, &u), 0);
		cr_assert_eq(u.lr, 1);
		cr_assert_eq(u.host.p[1], (char)('1' + k));
	}
	cr_assert_eq(k, 3);
	sip_hdr_iter_init(&it, &m, SIP_H_ROUTE);
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 0);
	guard_release(g);
}
