/* test_msrp_uri.c — MSRP URIs (msrp/msrp_uri.c): the RFC 4975 and RFC 7977 examples, one
 * invalid input per rule, §6.1 equality rule by rule, format round trips, authority keys.
 *
 * Every input is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end crashes the test. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "msrp/msrp_uri.h"
#include "tests/lib/guard.h"

/* A parsed URI and the guarded copy its slices point into. */
struct pu {
	const char *g;
	struct msrp_uri u;
	int rc;
};

static struct pu parse_n(const char *s, size_t n)
{
	struct pu r;

	r.g = guard_copy(s, n);
	cr_assert(r.g != NULL);
	r.rc = msrp_uri_parse((cm_slice){ r.g, n }, &r.u);
	return r;
}

static struct pu parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static void done(struct pu *r)
{
	guard_release(r->g);
}

static int slice_is(cm_slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

static int slices_eq(cm_slice a, cm_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

#define assert_slice(s, want)                                                              \
	cr_assert(slice_is((s), (want)), "%s: got '%.*s', want '%s'", #s, (int)(s).len,    \
		  (s).p ? (s).p : "", (want))

/* ---- valid URIs ---------------------------------------------------------------------- */

Test(msrp_uri, rfc4975_examples)
{
	struct pu r = parse("msrp://atlanta.example.com:7654/jshA7weztas;tcp");

	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.secure, 0);
	cr_assert_eq(r.u.userinfo.len, 0);
	assert_slice(r.u.host, "atlanta.example.com");
	cr_assert_eq(r.u.host_type, MSRP_HOST_NAME);
	cr_assert_eq(r.u.port, 7654);
	assert_slice(r.u.session_id, "jshA7weztas");
	cr_assert_eq(r.u.transport, MSRP_TP_TCP);
	assert_slice(r.u.transport_name, "tcp");
	cr_assert_eq(r.u.params.len, 0);
	done(&r);

	r = parse("msrps://bob.example.com:8888/9di4eae923wzd;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.secure, 1);
	assert_slice(r.u.host, "bob.example.com");
	cr_assert_eq(r.u.port, 8888);
	assert_slice(r.u.session_id, "9di4eae923wzd");
	done(&r);

	/* §6: the "typical" example */
	r = parse("msrp://host.example.com:8493/asfd34;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.port, 8493);
	done(&r);
}

Test(msrp_uri, relay_without_session_id)
{
	struct pu r = parse("msrps://relay.example.com;tcp");

	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.secure, 1);
	assert_slice(r.u.host, "relay.example.com");
	cr_assert_eq(r.u.port, 0);
	cr_assert_eq(r.u.session_id.len, 0);
	cr_assert_eq(r.u.transport, MSRP_TP_TCP);
	done(&r);

	r = parse("msrps://relay.example.net:2855;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.port, 2855);
	cr_assert_eq(r.u.session_id.len, 0);
	done(&r);
}

Test(msrp_uri, ip_hosts)
{
	struct pu r = parse("msrp://192.0.2.1:12763/kjhd37s2s20w2a;tcp");

	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.host_type, MSRP_HOST_IPV4);
	assert_slice(r.u.host, "192.0.2.1");
	done(&r);

	r = parse("msrp://[2001:db8::1]:2855/abc;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.host_type, MSRP_HOST_IPV6);
	assert_slice(r.u.host, "2001:db8::1");
	cr_assert_eq(r.u.port, 2855);
	assert_slice(r.u.session_id, "abc");
	done(&r);

	static const char *const ok[] = {
		"msrp://[::1]:1/s;tcp",
		"msrp://[::]:1/s;tcp",
		"msrp://[::ffff:192.0.2.1]:80/x;tcp",
		"msrp://[::192.0.2.1]:80/x;tcp",
		"msrp://[1:2:3:4:5:6:7:8]:80/x;tcp",
		"msrp://[1:2:3:4:5:6:1.2.3.4]:80/x;tcp",
		"msrp://[1::]:80/x;tcp",
		"msrp://[1:2:3:4:5:6:7::]:80/x;tcp",
		"msrp://[::2:3:4:5:6:7:8]:80/x;tcp",
		"msrp://[FE80::aBcD]:80/x;tcp",
		"msrp://[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:80/x;tcp",
		"msrp://0.0.0.0:1/x;tcp",
		"msrp://255.255.255.255:1/x;tcp",
		"msrp://10.0.0.1/x;tcp",            /* no port: grammar allows it (§6.2 applies later) */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		r = parse(ok[i]);
		cr_assert_eq(r.rc, 0, "%s", ok[i]);
		cr_assert_neq(r.u.host_type, MSRP_HOST_NAME, "%s", ok[i]);
		done(&r);
	}
}

Test(msrp_uri, userinfo)
{
	struct pu r = parse("msrp://alice@atlanta.example.com:7654/jshA7weztas;tcp");

	cr_assert_eq(r.rc, 0);
	assert_slice(r.u.userinfo, "alice");
	assert_slice(r.u.host, "atlanta.example.com");
	cr_assert_eq(r.u.port, 7654);
	done(&r);

	r = parse("msrp://al%20ice.x_y~z!$&'()*+,=:@h.example:1/a;tcp");
	cr_assert_eq(r.rc, 0);
	assert_slice(r.u.userinfo, "al%20ice.x_y~z!$&'()*+,=:");
	done(&r);

	/* ';' is a sub-delim: the userinfo may hold one, the transport still follows */
	r = parse("msrp://a;b@h.example:1/s;tcp");
	cr_assert_eq(r.rc, 0);
	assert_slice(r.u.userinfo, "a;b");
	assert_slice(r.u.host, "h.example");
	done(&r);

	r = parse("msrp://+15551234567@[::1]:9/s;tcp");
	cr_assert_eq(r.rc, 0);
	assert_slice(r.u.userinfo, "+15551234567");
	cr_assert_eq(r.u.host_type, MSRP_HOST_IPV6);
	done(&r);

	/* userinfo = *( ... ): may be empty */
	r = parse("msrp://@h.example;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.userinfo.len, 0);
	done(&r);
}

Test(msrp_uri, websocket_rfc7977)
{
	struct pu r = parse("msrp://df7jal23ls0d.invalid:2855/98cjs;ws");

	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.transport, MSRP_TP_WS);
	assert_slice(r.u.transport_name, "ws");
	assert_slice(r.u.host, "df7jal23ls0d.invalid");
	done(&r);

	r = parse("msrps://df7jal23ls0d.invalid/98cjs;WS");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.secure, 1);
	cr_assert_eq(r.u.transport, MSRP_TP_WS);
	done(&r);
}

Test(msrp_uri, grammar_corners)
{
	struct pu r = parse("MSRPS://Bob.Example.COM:8888/9di;TCP");

	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.secure, 1);
	cr_assert_eq(r.u.transport, MSRP_TP_TCP);
	assert_slice(r.u.host, "Bob.Example.COM");
	done(&r);

	r = parse("msrp://h.example:1/a+b=c/d.e_f~g-h;tcp");
	cr_assert_eq(r.rc, 0);
	assert_slice(r.u.session_id, "a+b=c/d.e_f~g-h");
	done(&r);

	r = parse("msrp://h.example:1/s;sctp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.transport, MSRP_TP_OTHER);
	assert_slice(r.u.transport_name, "sctp");
	done(&r);

	r = parse("msrp://h.example:1/s;tcp;foo=bar;baz;x=!#$%&'*+-.^_`|~");
	cr_assert_eq(r.rc, 0);
	assert_slice(r.u.transport_name, "tcp");
	assert_slice(r.u.params, ";foo=bar;baz;x=!#$%&'*+-.^_`|~");
	done(&r);

	r = parse("msrp://h.example:00080/a;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.port, 80);
	done(&r);

	r = parse("msrp://h.example:65535/a;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.port, 65535);
	done(&r);

	r = parse("msrp://localhost:1;tcp");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.host_type, MSRP_HOST_NAME);
	done(&r);

	r = parse("msrp://a-b.9c.example-1.c0m;tcp");
	cr_assert_eq(r.rc, 0);
	done(&r);

	r = parse("msrp://h.example;abcdefghijklmnop");   /* MSRP_URI_TRANSPORT_MAX characters */
	cr_assert_eq(r.rc, 0);
	done(&r);
}

Test(msrp_uri, host_length_limits)
{
	char buf[400], l63[64];

	memset(l63, 'a', 63);
	l63[63] = '\0';
	/* 63-character label: ok; 64: no */
	snprintf(buf, sizeof(buf), "msrp://%s.example;tcp", l63);
	struct pu r = parse(buf);

	cr_assert_eq(r.rc, 0);
	done(&r);
	snprintf(buf, sizeof(buf), "msrp://a%s.example;tcp", l63);
	r = parse(buf);
	cr_assert_eq(r.rc, -EINVAL);
	done(&r);

	/* 4 x 63 + 3 dots = 255 characters: ok; 257: no */
	snprintf(buf, sizeof(buf), "msrp://%s.%s.%s.%s;tcp", l63, l63, l63, l63);
	r = parse(buf);
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.u.host.len, 255);
	done(&r);
	snprintf(buf, sizeof(buf), "msrp://%s.%s.%s.%s.a;tcp", l63, l63, l63, l63);
	r = parse(buf);
	cr_assert_eq(r.rc, -EINVAL);
	done(&r);
}

/* ---- invalid URIs: one per rule ------------------------------------------------------- */

Test(msrp_uri, invalid)
{
	static const char *const bad[] = {
		/* scheme and "://" */
		"", "m", "msrp:", "msrp://", "http://h.example;tcp", "msrp:/h.example;tcp",
		"msr://h.example;tcp", "msrpx://h.example;tcp", "msrp//h.example;tcp",
		"msrp:://h.example;tcp", " msrp://h.example;tcp", "msrps:/h.example;tcp",
		/* transport: mandatory, 1*ALPHANUM, bounded */
		"msrp://h.example:1/abc", "msrp://h.example", "msrp://h.example;",
		"msrp://h.example;t-cp", "msrp://h.example;tcp ", "msrp://h.example; tcp",
		"msrp://h.example;abcdefghijklmnopq",
		/* DNS names */
		"msrp://;tcp", "msrp://-h.example;tcp", "msrp://h-.example;tcp",
		"msrp://h..example;tcp", "msrp://.h;tcp", "msrp://h.example.;tcp",
		"msrp://h_x.example;tcp", "msrp://h%41.example;tcp", "msrp://h.example-;tcp",
		"msrp://1.2.3;tcp", "msrp://1.2.3.4.5;tcp", "msrp://123;tcp",
		/* IPv4 */
		"msrp://1.2.3.256;tcp", "msrp://01.2.3.4;tcp", "msrp://1.2.3.04;tcp",
		"msrp://1.2.3.4.;tcp", "msrp://1..3.4;tcp", "msrp://1234.1.1.1;tcp",
		/* IPv6 */
		"msrp://[;tcp", "msrp://[]:1;tcp", "msrp://[:]:1;tcp", "msrp://[:::]:1;tcp",
		"msrp://[1:2:3:4:5:6:7:8:9];tcp", "msrp://[1::2::3];tcp", "msrp://[12345::1];tcp",
		"msrp://[:1];tcp", "msrp://[1:];tcp", "msrp://[1:2:3:4:5:6:7];tcp",
		"msrp://[::1%25eth0];tcp", "msrp://[v1.x];tcp", "msrp://[::1.2.3.256];tcp",
		"msrp://[1:2:3:4:5:6:7:1.2.3.4];tcp", "msrp://[::g];tcp", "msrp://::1;tcp",
		"msrp://[::1]x;tcp", "msrp://[::1.2.3];tcp", "msrp://[::1.2.3.4:1];tcp",
		"msrp://[1:2:3:4:5:6:7:8::];tcp", "msrp://[::1:2:3:4:5:6:7:8];tcp",
		"msrp://[1.2.3.4];tcp", "msrp://[::01.2.3.4];tcp", "msrp://[::1];tcp]",
		"msrp://[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1];tcp",
		/* port */
		"msrp://h.example:;tcp", "msrp://h.example:0;tcp", "msrp://h.example:65536;tcp",
		"msrp://h.example:123456;tcp", "msrp://h.example:000080;tcp",
		"msrp://h.example:12a;tcp", "msrp://h.example:-1;tcp", "msrp://h.example:1:2;tcp",
		"msrp://[::1]:;tcp",
		/* session-id */
		"msrp://h.example:1/;tcp", "msrp://h.example:1/a b;tcp", "msrp://h.example:1/a@b;tcp",
		"msrp://h.example:1/a%20;tcp", "msrp://h.example:1/a?b;tcp", "msrp://h.example:1/a#;tcp",
		/* URI-parameters */
		"msrp://h.example;tcp;", "msrp://h.example;tcp;a=", "msrp://h.example;tcp;=b",
		"msrp://h.example;tcp;a=b=c", "msrp://h.example;tcp;a b", "msrp://h.example;tcp x",
		"msrp://h.example;tcp;;a", "msrp://h.example;tcp;a\"b", "msrp://h.example;tcp;a/b",
		"msrp://h.example;tcp;a@b",
		/* userinfo */
		"msrp://a%2@h.example;tcp", "msrp://a%zz@h.example;tcp", "msrp://a b@h.example;tcp",
		"msrp://a@b@h.example;tcp", "msrp://a/b@h.example;tcp", "msrp://a%@h.example;tcp",
		"msrp://a@;tcp",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pu r = parse(bad[i]);

		cr_assert_eq(r.rc, -EINVAL, "accepted: \"%s\"", bad[i]);
		done(&r);
	}

	/* bytes no text parser should take: NUL, CR LF, 8-bit */
	static const struct {
		const char *s;
		size_t n;
	} raw[] = {
		{ "msrp://h.example;tcp\0", 21 },
		{ "msrp://h.ex\0ample;tcp", 21 },
		{ "msrp://h.example;tcp\r\n", 22 },
		{ "msrp://h.ex\xc3\xa9mple;tcp", 22 },
		{ "msrp://h.example:1/\xff;tcp", 24 },
	};
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		struct pu r = parse_n(raw[i].s, raw[i].n);

		cr_assert_eq(r.rc, -EINVAL, "raw[%zu] accepted", i);
		done(&r);
	}
}

/* Every prefix of a URI is parsed at the end of a page: no read goes past it. */
Test(msrp_uri, prefixes_stay_in_bounds)
{
	static const char *const all[] = {
		"msrps://alice@[2001:db8::ffff:192.0.2.1]:2855/a+b=/c;tcp;x=y;z",
		"msrp://user%41@bob.example.com:8888/9di4eae923wzd;ws;p",
		"MSRP://192.0.2.1:65535/s;TCP",
	};
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		size_t n = strlen(all[k]);

		for (size_t i = 0; i <= n; i++) {
			struct pu r = parse_n(all[k], i);

			cr_assert(r.rc == 0 || r.rc == -EINVAL);
			done(&r);
		}
		struct pu r = parse_n(all[k], n);

		cr_assert_eq(r.rc, 0, "%s", all[k]);
		done(&r);
	}
	struct msrp_uri u;

	cr_assert_eq(msrp_uri_parse(CM_SLICE_NULL, &u), -EINVAL);
}

/* ---- §6.1 ------------------------------------------------------------------------------ */

static int eq(const char *a, const char *b)
{
	struct pu x = parse(a), y = parse(b);
	int e;

	cr_assert_eq(x.rc, 0, "%s", a);
	cr_assert_eq(y.rc, 0, "%s", b);
	e = msrp_uri_equal(&x.u, &y.u);
	cr_assert_eq(e, msrp_uri_equal(&y.u, &x.u), "not symmetric: %s %s", a, b);
	cr_assert_eq(msrp_uri_equal(&x.u, &x.u), 1);
	done(&x);
	done(&y);
	return e;
}

Test(msrp_uri, equal_rule1_scheme)
{
	cr_assert(eq("MSRP://h.example:1/s;tcp", "msrp://h.example:1/s;tcp"));
	cr_assert(eq("MsRpS://h.example:1/s;tcp", "msrps://h.example:1/s;tcp"));
	cr_assert_not(eq("msrp://h.example:1/s;tcp", "msrps://h.example:1/s;tcp"));
}

Test(msrp_uri, equal_rule2_authority)
{
	cr_assert(eq("msrp://atlanta.example.com:7654/jshA7weztas;tcp",
		     "msrp://ATLANTA.example.COM:7654/jshA7weztas;tcp"));
	/* userinfo is not considered */
	cr_assert(eq("msrp://alice@h.example:1/s;tcp", "msrp://bob@h.example:1/s;tcp"));
	cr_assert(eq("msrp://alice@h.example:1/s;tcp", "msrp://h.example:1/s;tcp"));
	/* IP addresses as addresses */
	cr_assert(eq("msrp://[::1]:1/s;tcp", "msrp://[0:0:0:0:0:0:0:1]:1/s;tcp"));
	cr_assert(eq("msrp://[2001:DB8::1]:1/s;tcp", "msrp://[2001:db8:0:0::0001]:1/s;tcp"));
	cr_assert(eq("msrp://[::ffff:192.0.2.1]:1/s;tcp", "msrp://[::FFFF:c000:201]:1/s;tcp"));
	cr_assert(eq("msrp://[1::]:1/s;tcp", "msrp://[1:0:0:0:0:0:0:0]:1/s;tcp"));
	cr_assert(eq("msrp://192.0.2.1:1/s;tcp", "msrp://192.0.2.1:1/s;tcp"));
	cr_assert_not(eq("msrp://[::1]:1/s;tcp", "msrp://[::2]:1/s;tcp"));
	cr_assert_not(eq("msrp://[1::2]:1/s;tcp", "msrp://[1:2::]:1/s;tcp"));
	cr_assert_not(eq("msrp://192.0.2.1:1/s;tcp", "msrp://192.0.2.10:1/s;tcp"));
	cr_assert_not(eq("msrp://127.0.0.1:1/s;tcp", "msrp://[::ffff:127.0.0.1]:1/s;tcp"));
	cr_assert_not(eq("msrp://127.0.0.1:1/s;tcp", "msrp://localhost:1/s;tcp"));
	cr_assert_not(eq("msrp://a.example:1/s;tcp", "msrp://b.example:1/s;tcp"));
	cr_assert_not(eq("msrp://a.example:1/s;tcp", "msrp://a.example.net:1/s;tcp"));
}

Test(msrp_uri, equal_rule3_port)
{
	cr_assert(eq("msrp://h.example:2855/s;tcp", "msrp://h.example:02855/s;tcp"));
	cr_assert_not(eq("msrp://h.example:2855/s;tcp", "msrp://h.example/s;tcp"));
	cr_assert_not(eq("msrp://h.example:1/s;tcp", "msrp://h.example:2/s;tcp"));
	cr_assert(eq("msrp://h.example/s;tcp", "msrp://H.EXAMPLE/s;tcp"));
}

Test(msrp_uri, equal_rule4_session_id)
{
	cr_assert_not(eq("msrp://h.example:1/abc;tcp", "msrp://h.example:1/ABC;tcp"));
	cr_assert_not(eq("msrp://h.example:1/abc;tcp", "msrp://h.example:1;tcp"));
	cr_assert_not(eq("msrp://h.example:1/abc;tcp", "msrp://h.example:1/abcd;tcp"));
	cr_assert(eq("msrp://h.example:1;tcp", "msrp://h.example:1;tcp"));
	cr_assert(eq("msrp://h.example:1/a/b=+;tcp", "msrp://h.example:1/a/b=+;tcp"));
}

Test(msrp_uri, equal_rule5_transport)
{
	cr_assert(eq("msrp://h.example:1/s;tcp", "msrp://h.example:1/s;TCP"));
	cr_assert(eq("msrp://h.example:1/s;Ws", "msrp://h.example:1/s;wS"));
	cr_assert(eq("msrp://h.example:1/s;sctp", "msrp://h.example:1/s;SCTP"));
	cr_assert_not(eq("msrp://h.example:1/s;tcp", "msrp://h.example:1/s;ws"));
	cr_assert_not(eq("msrp://h.example:1/s;tcp", "msrp://h.example:1/s;tcpx"));
	/* parameters are not part of the comparison */
	cr_assert(eq("msrp://h.example:1/s;tcp;a=b", "msrp://h.example:1/s;tcp"));
}

/* ---- format -------------------------------------------------------------------------- */

static void round_trip(const char *in, const char *want)
{
	struct pu r = parse(in);
	char buf[600];
	size_t n;

	cr_assert_eq(r.rc, 0, "%s", in);
	n = msrp_uri_format(&r.u, buf, sizeof(buf));
	cr_assert_str_eq(buf, want);
	cr_assert_eq(n, strlen(want));
	/* what fits, and the full length, for every buffer size */
	for (size_t len = 0; len <= n + 1; len++) {
		char small[600];

		memset(small, 'X', sizeof(small));
		cr_assert_eq(msrp_uri_format(&r.u, len ? small : NULL, len), n);
		if (len) {
			cr_assert_eq(small[len - 1 < n ? len - 1 : n], '\0');
			cr_assert_eq(memcmp(small, want, len - 1 < n ? len - 1 : n), 0);
			cr_assert_eq(small[len], 'X');
		}
	}
	struct pu r2 = parse(buf);

	cr_assert_eq(r2.rc, 0, "%s", buf);
	cr_assert(msrp_uri_equal(&r.u, &r2.u), "%s", buf);
	cr_assert(slices_eq(r2.u.userinfo, r.u.userinfo));
	cr_assert(slices_eq(r2.u.params, r.u.params));
	done(&r2);
	done(&r);
}

Test(msrp_uri, format_round_trip)
{
	round_trip("msrp://atlanta.example.com:7654/jshA7weztas;tcp",
		   "msrp://atlanta.example.com:7654/jshA7weztas;tcp");
	round_trip("MSRPS://Bob.Example.com:08888/9di4eae923wzd;TCP",
		   "msrps://Bob.Example.com:8888/9di4eae923wzd;TCP");
	round_trip("msrps://relay.example.com;tcp", "msrps://relay.example.com;tcp");
	round_trip("msrp://[2001:DB8::1]:2855/a+b=/c;ws;x=y;z",
		   "msrp://[2001:DB8::1]:2855/a+b=/c;ws;x=y;z");
	round_trip("msrp://192.0.2.1:1/s;tcp", "msrp://192.0.2.1:1/s;tcp");
	round_trip("msrp://al%41ce;x@h.example:1/s;tcp", "msrp://al%41ce;x@h.example:1/s;tcp");
	round_trip("msrp://h.example:65535/s;sctp;q", "msrp://h.example:65535/s;sctp;q");
}

/* ---- authority keys ------------------------------------------------------------------- */

static void key_is(const char *in, const char *want)
{
	struct pu r = parse(in);
	char buf[MSRP_URI_KEY_MAX];
	size_t n;

	cr_assert_eq(r.rc, 0, "%s", in);
	n = msrp_uri_authority_key(&r.u, buf, sizeof(buf));
	cr_assert_str_eq(buf, want, "%s", in);
	cr_assert_eq(n, strlen(want));
	cr_assert_eq(msrp_uri_authority_key(&r.u, NULL, 0), n);
	char small[8];

	cr_assert_eq(msrp_uri_authority_key(&r.u, small, sizeof(small)), n);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(memcmp(small, want, sizeof(small) - 1), 0);
	done(&r);
}

Test(msrp_uri, authority_key)
{
	key_is("msrps://Bob.Example.com:8888/9di4eae923wzd;TCP", "msrps:bob.example.com:8888;tcp");
	key_is("msrps://alice@bob.example.com:8888/other;tcp;x=y", "msrps:bob.example.com:8888;tcp");
	key_is("msrp://relay.example.com;tcp", "msrp:relay.example.com:2855;tcp");
	key_is("msrp://192.0.2.1:12763/kjhd37s2s20w2a;tcp", "msrp:192.0.2.1:12763;tcp");
	key_is("msrp://df7jal23ls0d.invalid:2855/98cjs;WS", "msrp:df7jal23ls0d.invalid:2855;ws");
	/* IPv6 in RFC 5952 form */
	key_is("msrp://[2001:DB8:0:0:0:0:0:1]:9/x;ws", "msrp:[2001:db8::1]:9;ws");
	key_is("msrp://[::ffff:192.0.2.1]:9/x;tcp", "msrp:[::ffff:192.0.2.1]:9;tcp");
	key_is("msrp://[0:0:0:0:0:ffff:c000:0201]:9/x;tcp", "msrp:[::ffff:192.0.2.1]:9;tcp");
	key_is("msrp://[1:0:0:1:0:0:0:1]:9/x;tcp", "msrp:[1:0:0:1::1]:9;tcp");
	key_is("msrp://[1:0:0:1:1:0:0:1]:9/x;tcp", "msrp:[1::1:1:0:0:1]:9;tcp");
	key_is("msrp://[1:2:3:4:5:6:7:0]:9/x;tcp", "msrp:[1:2:3:4:5:6:7:0]:9;tcp");
	key_is("msrp://[0:2:3:4:5:6:7:8]:9/x;tcp", "msrp:[0:2:3:4:5:6:7:8]:9;tcp");
	key_is("msrp://[::]:9/x;tcp", "msrp:[::]:9;tcp");
	key_is("msrp://[0:0:0:0:0:0:0:1]:9/x;tcp", "msrp:[::1]:9;tcp");
	key_is("msrp://[1::]:9/x;tcp", "msrp:[1::]:9;tcp");
	key_is("msrp://[00AB:0:0:0:0:0:0:0]:9/x;tcp", "msrp:[ab::]:9;tcp");
	key_is("msrp://[::192.0.2.1]:9/x;tcp", "msrp:[::c000:201]:9;tcp");
	key_is("msrp://[fe80::0:0:1]/x;tcp", "msrp:[fe80::1]:2855;tcp");
}

Test(msrp_uri, authority_key_max)
{
	char host[256], in[400], key[MSRP_URI_KEY_MAX];

	for (int i = 0; i < 255; i++)
		host[i] = (i % 64 == 63) ? '.' : 'A';
	host[255] = '\0';
	snprintf(in, sizeof(in), "msrps://%s:65535/s;abcdefghijklmnop", host);
	struct pu r = parse(in);

	cr_assert_eq(r.rc, 0);
	size_t n = msrp_uri_authority_key(&r.u, key, sizeof(key));

	cr_assert_lt(n, sizeof(key));
	cr_assert_eq(strlen(key), n);
	cr_assert_eq(key[8], 'a');
	done(&r);
}

Test(msrp_uri, ip6_parse)
{
	static const struct {
		const char *s;
		unsigned char a[16];
	} v[] = {
		{ "::", { 0 } },
		{ "::1", { [15] = 1 } },
		{ "1::", { [1] = 1 } },
		{ "2001:db8::ff00:42:8329",
		  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42, 0x83, 0x29 } },
		{ "::ffff:192.0.2.128",
		  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 128 } },
		{ "1:2:3:4:5:6:7:8", { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8 } },
		{ "1:2:3::7:8", { 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8 } },
		{ "1:2:3:4:5:6::8", { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 0, 0, 8 } },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned char a[16];
		size_t n = strlen(v[i].s);
		const char *g = guard_copy(v[i].s, n);

		memset(a, 0x5a, sizeof(a));
		cr_assert_eq(msrp_uri_ip6_parse((cm_slice){ g, n }, a), 0, "%s", v[i].s);
		cr_assert_eq(memcmp(a, v[i].a, 16), 0, "%s", v[i].s);
		guard_release(g);
	}
}
