/* test_sip_resolve.c — the parts of RFC 3263 server location that need no DNS: what the
 * URI alone decides (sip_resolve_plan: transport, port, which lookups) and the targets of
 * numeric hosts, which sip_resolve() returns at once without a resolver. The DNS paths are
 * in tests/integration/test_sip_resolve.c. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sip/sip_resolve.h"

static cm_slice S(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

static void never_called(void *arg, int err, const struct sip_target *t, unsigned n)
{
	(void)arg; (void)err; (void)t; (void)n;
	cr_assert_fail("the callback ran for a numeric host");
}

/* Resolves numeric <uri>: asserts the synchronous path and returns how many targets. */
static int numeric(const char *uri, int prefer_tcp, struct sip_target *out, unsigned max)
{
	struct sip_resolve_req req;
	memset(&req, 0, sizeof(req));
	memset(out, 0xa5, sizeof(*out) * max);
	int n = sip_resolve(NULL, &req, S(uri), prefer_tcp, never_called, NULL, out, max);
	cr_assert_not(sip_resolve_busy(&req), "%s: the request was left busy", uri);
	return n;
}

/* ---- numeric hosts: no DNS, answered at once -------------------------------------------- */

struct want {
	const char *addr;          /* address text, as inet_ntop writes it */
	unsigned port;
	unsigned kind;
};

static const struct {
	const char *uri;
	int prefer_tcp;
	unsigned max;
	const char *host;          /* expected sip_target.host */
	unsigned n;
	struct want t[2];
} numeric_cases[] = {
	/* default transport and port */
	{ "sip:alice@192.0.2.10", 0, 4, "192.0.2.10", 1, { { "192.0.2.10", 5060, SIP_TP_UDP } } },
	{ "sip:192.0.2.10:5070;lr", 0, 4, "192.0.2.10", 1,
	  { { "192.0.2.10", 5070, SIP_TP_UDP } } },
	{ "sip:[2001:db8::1]", 0, 4, "2001:db8::1", 1, { { "2001:db8::1", 5060, SIP_TP_UDP } } },
	{ "sip:bob@[2001:db8::1]:5080;transport=tcp", 0, 4, "2001:db8::1", 1,
	  { { "2001:db8::1", 5080, SIP_TP_TCP } } },
	/* sips: TLS on 5061; ;transport=tcp there means TLS over TCP (RFC 3261 §26.2.2) */
	{ "sips:192.0.2.10", 0, 4, "192.0.2.10", 1, { { "192.0.2.10", 5061, SIP_TP_TLS } } },
	{ "sips:[2001:db8::2]:5071", 1, 4, "2001:db8::2", 1,
	  { { "2001:db8::2", 5071, SIP_TP_TLS } } },
	{ "sips:192.0.2.10;transport=tcp", 0, 4, "192.0.2.10", 1,
	  { { "192.0.2.10", 5061, SIP_TP_TLS } } },
	/* ;transport= wins, TLS with its own default port; an explicit UDP stays UDP even for a
	 * large request */
	{ "sip:192.0.2.10;transport=TCP", 0, 4, "192.0.2.10", 1,
	  { { "192.0.2.10", 5060, SIP_TP_TCP } } },
	{ "sip:192.0.2.10;transport=tls", 0, 4, "192.0.2.10", 1,
	  { { "192.0.2.10", 5061, SIP_TP_TLS } } },
	{ "sip:192.0.2.10;transport=udp", 1, 4, "192.0.2.10", 1,
	  { { "192.0.2.10", 5060, SIP_TP_UDP } } },
	/* prefer_tcp: TCP first, UDP after; bounded by max */
	{ "sip:192.0.2.10:5090", 1, 4, "192.0.2.10", 2,
	  { { "192.0.2.10", 5090, SIP_TP_TCP }, { "192.0.2.10", 5090, SIP_TP_UDP } } },
	{ "sip:192.0.2.10:5090", 1, 1, "192.0.2.10", 1, { { "192.0.2.10", 5090, SIP_TP_TCP } } },
	/* maddr replaces the host as the destination, not as the name of the server */
	{ "sips:proxy.example.com;maddr=192.0.2.99", 0, 4, "proxy.example.com", 1,
	  { { "192.0.2.99", 5061, SIP_TP_TLS } } },
	{ "sip:example.com:5099;maddr=[2001:db8::9]", 0, 4, "example.com", 1,
	  { { "2001:db8::9", 5099, SIP_TP_UDP } } },
};

Test(sip_resolve, numeric_hosts)
{
	for (size_t c = 0; c < sizeof(numeric_cases) / sizeof(numeric_cases[0]); c++) {
		const char *uri = numeric_cases[c].uri;
		struct sip_target t[4];
		int n = numeric(uri, numeric_cases[c].prefer_tcp, t, numeric_cases[c].max);
		cr_assert_eq(n, (int)numeric_cases[c].n, "%s: %d targets", uri, n);
		for (int i = 0; i < n; i++) {
			const struct want *w = &numeric_cases[c].t[i];
			const struct sockaddr_in *s4 = (const void *)&t[i].dest.addr;
			const struct sockaddr_in6 *s6 = (const void *)&t[i].dest.addr;
			int v6 = strchr(w->addr, ':') != NULL;
			char buf[INET6_ADDRSTRLEN];

			cr_assert_eq(t[i].dest.addr.ss_family, v6 ? AF_INET6 : AF_INET, "%s", uri);
			cr_assert_eq(t[i].dest.addrlen, v6 ? sizeof(*s6) : sizeof(*s4), "%s", uri);
			inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? (const void *)&s6->sin6_addr
							      : (const void *)&s4->sin_addr,
				  buf, sizeof(buf));
			cr_assert_str_eq(buf, w->addr, "%s: %s", uri, buf);
			cr_assert_eq(ntohs(v6 ? s6->sin6_port : s4->sin_port), w->port, "%s", uri);
			cr_assert_eq(t[i].dest.kind, w->kind, "%s: target %d kind %u", uri, i,
				     t[i].dest.kind);
			cr_assert_eq(t[i].dest.conn_id, 0);
			cr_assert_str_eq(t[i].host, numeric_cases[c].host, "%s", uri);
		}
	}
}

Test(sip_resolve, refusals)
{
	struct sip_target t[2];
	struct sip_resolve_req req;

	memset(&req, 0, sizeof(req));
	cr_assert_eq(numeric("tel:+15551234", 0, t, 2), -EINVAL);
	cr_assert_eq(numeric("http://192.0.2.1/", 0, t, 2), -EINVAL);
	cr_assert_eq(numeric("sip:", 0, t, 2), -EINVAL);
	cr_assert_eq(numeric("sip:192.0.2.1 ", 0, t, 2), -EINVAL);
	cr_assert_eq(numeric("<sip:192.0.2.1>", 0, t, 2), -EINVAL);
	cr_assert_eq(numeric("sips:192.0.2.1;transport=udp", 0, t, 2), -EINVAL);
	cr_assert_eq(numeric("sip:192.0.2.1;transport=sctp", 0, t, 2), -EPROTONOSUPPORT);
	cr_assert_eq(numeric("sip:192.0.2.1;transport=ws", 0, t, 2), -EPROTONOSUPPORT);
	cr_assert_eq(numeric("sip:x.example.com;maddr=%31.2.3.4", 0, t, 2), -EINVAL);
	cr_assert_eq(numeric("sip:x.example.com;maddr=[nope]", 0, t, 2), -EINVAL);
	/* max 0, no request */
	cr_assert_eq(sip_resolve(NULL, &req, S("sip:192.0.2.1"), 0, never_called, NULL, t, 0),
		     -EINVAL);
	cr_assert_eq(sip_resolve(NULL, NULL, S("sip:192.0.2.1"), 0, never_called, NULL, t, 2),
		     -EINVAL);
	/* a name needs a resolver */
	cr_assert_eq(sip_resolve(NULL, &req, S("sip:example.com"), 0, never_called, NULL, t, 2),
		     -EINVAL);
	cr_assert_not(sip_resolve_busy(&req));
	/* a busy request is refused, and not touched */
	req.job = (struct sip_resolve_job *)&req;
	cr_assert_eq(sip_resolve(NULL, &req, S("sip:192.0.2.1"), 0, never_called, NULL, t, 2),
		     -EBUSY);
	cr_assert_eq(req.job, (struct sip_resolve_job *)&req);
	req.job = NULL;
	/* cancel of an idle request (and of none) is a no-op */
	sip_resolve_cancel(&req);
	sip_resolve_cancel(NULL);
	cr_assert_not(sip_resolve_busy(&req));
}


/* ---- names: which lookups the URI asks for ------------------------------------------------ */

static const struct {
	const char *uri;
	int prefer_tcp;
	enum sip_resolve_step step;
	unsigned nkinds, ndefault;
	uint8_t kinds[2];
	uint16_t port;
	const char *name, *host;
} plan_cases[] = {
	/* a name alone: NAPTR; SRV of UDP then TCP when NAPTR says nothing; UDP alone when DNS
	 * has no SRV either (TCP first and UDP after for a large request) */
	{ "sip:alice@Example.COM", 0, SIP_RESOLVE_NAPTR, 2, 1, { SIP_TP_UDP, SIP_TP_TCP }, 0,
	  "Example.COM", "Example.COM" },
	{ "sip:example.com", 1, SIP_RESOLVE_NAPTR, 2, 2, { SIP_TP_TCP, SIP_TP_UDP }, 0,
	  "example.com", "example.com" },
	{ "sips:example.com", 1, SIP_RESOLVE_NAPTR, 1, 1, { SIP_TP_TLS }, 0, "example.com",
	  "example.com" },
	/* a port: A/AAAA only, the transport as given or the default */
	{ "sip:example.com:5070", 0, SIP_RESOLVE_ADDRS, 2, 1, { SIP_TP_UDP, SIP_TP_TCP }, 5070,
	  "example.com", "example.com" },
	{ "sips:example.com:5062", 0, SIP_RESOLVE_ADDRS, 1, 1, { SIP_TP_TLS }, 5062,
	  "example.com", "example.com" },
	{ "sip:example.com:5070;transport=tcp", 1, SIP_RESOLVE_ADDRS, 1, 1, { SIP_TP_TCP }, 5070,
	  "example.com", "example.com" },
	/* ;transport= without a port: that service's SRV only */
	{ "sip:example.com;transport=TCP;lr", 0, SIP_RESOLVE_SRV, 1, 1, { SIP_TP_TCP }, 0,
	  "example.com", "example.com" },
	{ "sip:example.com;transport=udp", 1, SIP_RESOLVE_SRV, 1, 1, { SIP_TP_UDP }, 0,
	  "example.com", "example.com" },
	{ "sip:example.com;transport=tls", 0, SIP_RESOLVE_SRV, 1, 1, { SIP_TP_TLS }, 0,
	  "example.com", "example.com" },
	/* maddr is what gets resolved */
	{ "sip:192.0.2.1;maddr=proxy.example.net", 0, SIP_RESOLVE_NAPTR, 2, 1,
	  { SIP_TP_UDP, SIP_TP_TCP }, 0, "proxy.example.net", "192.0.2.1" },
	{ "sip:[2001:db8::1]", 0, SIP_RESOLVE_NUMERIC, 2, 1, { SIP_TP_UDP, SIP_TP_TCP }, 0,
	  "2001:db8::1", "2001:db8::1" },
};

Test(sip_resolve, plans)
{
	for (size_t c = 0; c < sizeof(plan_cases) / sizeof(plan_cases[0]); c++) {
		const char *uri = plan_cases[c].uri;
		struct sip_resolve_plan p;
		int rc = sip_resolve_plan(S(uri), plan_cases[c].prefer_tcp, &p);

		cr_assert_eq(rc, 0, "%s: %d", uri, rc);
		cr_assert_eq(p.step, plan_cases[c].step, "%s: step %d", uri, p.step);
		cr_assert_eq(p.nkinds, plan_cases[c].nkinds, "%s", uri);
		cr_assert_eq(p.ndefault, plan_cases[c].ndefault, "%s", uri);
		for (unsigned i = 0; i < p.nkinds; i++)
			cr_assert_eq(p.kinds[i], plan_cases[c].kinds[i], "%s: kinds[%u] %u", uri, i,
				     p.kinds[i]);
		cr_assert_eq(p.port, plan_cases[c].port, "%s", uri);
		cr_assert_str_eq(p.name, plan_cases[c].name, "%s", uri);
		cr_assert_str_eq(p.host, plan_cases[c].host, "%s", uri);
		cr_assert_eq(p.secure, strncmp(uri, "sips:", 5) == 0, "%s", uri);
		cr_assert_eq(p.fixed, strstr(uri, "transport=") != NULL, "%s", uri);
		if (p.step == SIP_RESOLVE_NUMERIC)
			cr_assert_eq(p.addr.family, strchr(p.name, ':') ? AF_INET6 : AF_INET);
	}
}

Test(sip_resolve, name_too_long_for_dns)
{
	char uri[400], label[64];
	struct sip_resolve_plan p;

	memset(label, 'a', 63);
	label[63] = '\0';
	/* 4 labels of 63 + 3 dots = 255 bytes: over the 253 of a DNS name */
	snprintf(uri, sizeof(uri), "sip:%s.%s.%s.%s", label, label, label, label);
	cr_assert_eq(sip_resolve_plan(S(uri), 0, &p), -EINVAL);
	/* 61 in the last label: 253, fine; a trailing dot does not count */
	snprintf(uri, sizeof(uri), "sip:%s.%s.%s.%.61s.", label, label, label, label);
	cr_assert_eq(sip_resolve_plan(S(uri), 0, &p), 0);
	cr_assert_eq(p.step, SIP_RESOLVE_NAPTR);
}
