/* test_sip_resolve.c — RFC 3263 server location (sip/sip_resolve.c) on a real engine worker
 * and its c-ares resolver, against a dnsmasq on 127.0.0.1 that serves canned NAPTR, SRV, A
 * and AAAA records (tests/lib/dnsmasq.h): NAPTR -> SRV -> A/AAAA, SRV alone, A/AAAA alone
 * when the port is given, the fallback to the name's own addresses, NXDOMAIN, and
 * cancellation (before any answer, and with a server that never answers). Skips without
 * dnsmasq. Every wait is bounded and waits on a condition. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_dns.h"
#include "sip/sip_resolve.h"
#include "tests/lib/dnsmasq.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/wait.h"

static const char RECORDS[] =
	/* NAPTR -> SRV -> A: TCP before UDP by order; SCTP and a non-"s" record skipped */
	"naptr-record=n.test,10,50,s,SIP+D2T,,_sip._tcp.n.test\n"
	"naptr-record=n.test,20,50,s,SIP+D2U,,_sip._udp.n.test\n"
	"naptr-record=n.test,5,50,s,SIP+D2S,,_sip._sctp.n.test\n"
	"naptr-record=n.test,6,50,a,SIP+D2T,,pbx9.n.test\n"
	"srv-host=_sip._tcp.n.test,pbx1.n.test,5070,10,0\n"
	"srv-host=_sip._udp.n.test,pbx1.n.test,5071,10,0\n"
	"srv-host=_sip._sctp.n.test,pbx9.n.test,5072,10,0\n"
	"host-record=pbx1.n.test,127.0.0.11\n"
	"host-record=pbx9.n.test,127.0.0.99\n"
	/* TLS through NAPTR */
	"naptr-record=t.test,10,50,s,SIPS+D2T,,_sips._tcp.t.test\n"
	"srv-host=_sips._tcp.t.test,edge.t.test,5061,0,0\n"
	"host-record=edge.t.test,127.0.0.12\n"
	/* UDP first by NAPTR order, one SRV target for both */
	"naptr-record=p.test,10,50,s,SIP+D2U,,_sip._udp.p.test\n"
	"naptr-record=p.test,20,50,s,SIP+D2T,,_sip._tcp.p.test\n"
	"srv-host=_sip._udp.p.test,p1.p.test,5060,10,0\n"
	"srv-host=_sip._tcp.p.test,p1.p.test,5060,10,0\n"
	"host-record=p1.p.test,127.0.0.13\n"
	/* SRV without NAPTR */
	"srv-host=_sip._udp.s.test,a1.s.test,5060,10,0\n"
	"srv-host=_sip._udp.s.test,a2.s.test,5062,20,0\n"
	"srv-host=_sip._tcp.s.test,a1.s.test,5064,10,0\n"
	"host-record=a1.s.test,127.0.0.21\n"
	"host-record=a2.s.test,127.0.0.22,::22\n"
	/* addresses only */
	"host-record=v6.test,::1\n"
	"host-record=plain.test,127.0.0.31\n";

/* One resolution and what its callback saw. */
struct res {
	struct sip_resolve_req req;
	const char *uri;
	int prefer_tcp;
	unsigned max;
	int sync_rc;               /* sip_resolve()'s result */
	int calls;
	int err;
	unsigned n;
	int wrong_thread;
	int inside_call;           /* the callback ran inside sip_resolve(): forbidden */
	int in_free;               /* the callback ran inside eng_dns_free() */
	const char *again;         /* the callback starts this URI on the same request */
	struct sip_target t[SIP_RESOLVE_MAX];
	sem_t done;
};

static struct {
	eng_engine *e;
	eng_worker *w;
	eng_dns *d;
	struct dnsmasq dm;
	int hole_fd;               /* a DNS server that never answers */
	int in_call;
	int in_free;
} H = { .hole_fd = -1 };

static void on_resolved(void *arg, int err, const struct sip_target *t, unsigned n)
{
	struct res *r = arg;

	r->calls++;
	r->err = err;
	r->n = n;
	r->wrong_thread |= eng_self() != H.w;
	r->inside_call |= H.in_call;
	r->in_free = H.in_free;
	for (unsigned i = 0; t && i < n && i < SIP_RESOLVE_MAX; i++)
		r->t[i] = t[i];
	if (r->again) {
		const char *uri = r->again;
		r->again = NULL;
		r->sync_rc = sip_resolve(H.d, &r->req, (cm_slice){ uri, strlen(uri) }, 0,
					 on_resolved, r, r->t, r->max);
		if (r->sync_rc == 0)
			return;    /* the second callback posts */
	}
	sem_post(&r->done);
}

/* Resets <r> for a resolution of <uri>, keeping its request as the last one left it. */
static void res_init(struct res *r, const char *uri, int prefer_tcp, unsigned max)
{
	struct sip_resolve_req req = r->req;

	memset(r, 0, sizeof(*r));
	r->req = req;
	r->uri = uri;
	r->prefer_tcp = prefer_tcp;
	r->max = max;
	sem_init(&r->done, 0, 0);
}

static void job_start(void *arg)
{
	struct res *r = arg;
	H.in_call = 1;
	r->sync_rc = sip_resolve(H.d, &r->req, (cm_slice){ r->uri, strlen(r->uri) },
				 r->prefer_tcp, on_resolved, r, r->t, r->max);
	H.in_call = 0;
}

static void job_start_and_cancel(void *arg)
{
	struct res *r = arg;
	job_start(r);
	sip_resolve_cancel(&r->req);
}

static void job_cancel(void *arg)
{
	sip_resolve_cancel(&((struct res *)arg)->req);
}

static void job_new_dns(void *arg)
{
	struct eng_dns_config cfg;
	const char *servers[1] = { arg };
	char err[200];

	eng_dns_config_defaults(&cfg);
	cfg.servers = servers;
	cfg.nservers = 1;
	cfg.timeout_ms = 200;
	cfg.tries = 1;
	H.d = eng_dns_new(H.w, &cfg, err, sizeof(err));
	if (!H.d)
		fprintf(stderr, "eng_dns_new: %s\n", err);
}

static void job_free_dns(void *arg)
{
	(void)arg;
	H.in_free = 1;
	eng_dns_free(H.d);
	H.in_free = 0;
	H.d = NULL;
}

static void job_stats(void *arg)
{
	eng_dns_stats(H.d, arg);
}

static struct eng_dns_stats stats(void)
{
	struct eng_dns_stats st;
	memset(&st, 0, sizeof(st));
	cr_assert_eq(eng_job_run(H.w, job_stats, &st), 0);
	return st;
}

static int nothing_pending(void *arg)
{
	struct eng_dns_stats st;
	(void)arg;
	eng_dns_stats(H.d, &st);
	return st.pending == 0;
}

static int sent_one(void *arg)
{
	struct eng_dns_stats st;
	(void)arg;
	eng_dns_stats(H.d, &st);
	return st.sent >= 1;
}

static void start_engine(const char *server)
{
	char err[200];
	H.e = eng_job_engine(ENG_BACKEND_EPOLL, err, sizeof(err));
	cr_assert(H.e, "engine: %s", err);
	H.w = eng_worker_at(H.e, 0);
	cr_assert_eq(eng_job_run(H.w, job_new_dns, (void *)server), 0);
	cr_assert(H.d, "no resolver");
}

/* dnsmasq with RECORDS, an engine, a resolver that asks it. */
static void setup_dnsmasq(void)
{
	if (!dnsmasq_available())
		cr_skip_test("dnsmasq not found at %s (Debian package dnsmasq-base; "
			     "scripts/deps.sh installs it): SIP resolution tests skipped",
			     dnsmasq_path());
	cr_assert_eq(dnsmasq_start(&H.dm, RECORDS), 0, "dnsmasq did not start");
	start_engine(H.dm.addr);
}

/* A UDP socket that takes queries and never answers, an engine, a resolver that asks it. */
static void setup_silent(void)
{
	static char server[32];
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	H.hole_fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(H.hole_fd >= 0);
	cr_assert_eq(bind(H.hole_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(H.hole_fd, (struct sockaddr *)&a, &al), 0);
	snprintf(server, sizeof(server), "127.0.0.1:%d", ntohs(a.sin_port));
	start_engine(server);
}

static void teardown(void)
{
	if (H.e && H.d)
		eng_job_run(H.w, job_free_dns, NULL);
	if (H.e)
		eng_destroy(H.e);
	H.e = NULL;
	H.w = NULL;
	H.d = NULL;
	dnsmasq_stop(&H.dm);
	if (H.hole_fd >= 0)
		close(H.hole_fd);
	H.hole_fd = -1;
}

/* Resolves <uri> and waits for the callback; asserts the asynchronous contract. */
static void resolve(struct res *r, const char *uri, int prefer_tcp, unsigned max)
{
	res_init(r, uri, prefer_tcp, max);
	cr_assert_eq(eng_job_run(H.w, job_start, r), 0);
	cr_assert_eq(r->sync_rc, 0, "sip_resolve(%s): %d", uri, r->sync_rc);
	cr_assert_eq(sem_wait_ms(&r->done, 10000), 0, "%s: no callback", uri);
	cr_assert_eq(r->calls, 1);
	cr_assert_not(r->wrong_thread, "callback off the resolver's worker");
	cr_assert_not(r->inside_call, "callback from inside sip_resolve()");
	cr_assert_not(sip_resolve_busy(&r->req), "request still busy in its callback");
}

/* resolve(), then the outcome must be <err> with <n> targets. */
static void expect(struct res *r, const char *uri, int prefer_tcp, unsigned max, int err,
		   unsigned n)
{
	resolve(r, uri, prefer_tcp, max);
	cr_assert_eq(r->err, err, "%s: err %d, want %d", uri, r->err, err);
	cr_assert_eq(r->n, n, "%s: %u targets, want %u", uri, r->n, n);
}

static void check(const struct res *r, unsigned i, const char *addr, unsigned port,
		  unsigned kind, const char *host)
{
	char buf[INET6_ADDRSTRLEN];
	const struct sip_target *t = &r->t[i];
	unsigned got_port;

	cr_assert_lt(i, r->n, "%s: only %u targets", r->uri, r->n);
	if (t->dest.addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&t->dest.addr;
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		got_port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)&t->dest.addr;
		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
		got_port = ntohs(s4->sin_port);
	}
	cr_assert_str_eq(buf, addr, "%s target %u: %s, want %s", r->uri, i, buf, addr);
	cr_assert_eq(got_port, port, "%s target %u: port %u, want %u", r->uri, i, got_port, port);
	cr_assert_eq(t->dest.kind, kind, "%s target %u: kind %u, want %u", r->uri, i,
		     t->dest.kind, kind);
	cr_assert_str_eq(t->host, host);
}

/* ---- the tests ------------------------------------------------------------------------------ */

TestSuite(sip_resolve_dns, .timeout = 60);

Test(sip_resolve_dns, naptr_srv_a, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	expect(&r, "sip:alice@n.test", 0, SIP_RESOLVE_MAX, 0, 2);
	check(&r, 0, "127.0.0.11", 5070, SIP_TP_TCP, "n.test");
	check(&r, 1, "127.0.0.11", 5071, SIP_TP_UDP, "n.test");

	/* NAPTR for TLS; a sip: URI may use it too */
	expect(&r, "sips:t.test", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "127.0.0.12", 5061, SIP_TP_TLS, "t.test");
	expect(&r, "sip:t.test", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "127.0.0.12", 5061, SIP_TP_TLS, "t.test");

	/* a sips: URI takes no SIP+D2x record: n.test has no TLS anywhere */
	expect(&r, "sips:n.test", 0, SIP_RESOLVE_MAX, -ENOENT, 0);
}

Test(sip_resolve_dns, naptr_order_and_prefer_tcp, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	struct eng_dns_stats st0 = stats();
	expect(&r, "sip:p.test", 0, SIP_RESOLVE_MAX, 0, 2);
	check(&r, 0, "127.0.0.13", 5060, SIP_TP_UDP, "p.test");
	check(&r, 1, "127.0.0.13", 5060, SIP_TP_TCP, "p.test");
	/* NAPTR, 2 SRV, and one A + one AAAA for the target both SRV records name */
	struct eng_dns_stats st1 = stats();
	cr_assert_eq(st1.queries - st0.queries, 5, "%llu queries",
		     (unsigned long long)(st1.queries - st0.queries));

	expect(&r, "sip:p.test", 1, SIP_RESOLVE_MAX, 0, 2);
	check(&r, 0, "127.0.0.13", 5060, SIP_TP_TCP, "p.test");
	check(&r, 1, "127.0.0.13", 5060, SIP_TP_UDP, "p.test");
}

Test(sip_resolve_dns, srv_only, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	expect(&r, "sip:s.test", 0, SIP_RESOLVE_MAX, 0, 4);
	check(&r, 0, "127.0.0.21", 5060, SIP_TP_UDP, "s.test");
	check(&r, 1, "127.0.0.22", 5062, SIP_TP_UDP, "s.test");
	check(&r, 2, "::22", 5062, SIP_TP_UDP, "s.test");
	check(&r, 3, "127.0.0.21", 5064, SIP_TP_TCP, "s.test");

	/* bounded */
	expect(&r, "sip:s.test", 0, 2, 0, 2);
	check(&r, 1, "127.0.0.22", 5062, SIP_TP_UDP, "s.test");

	/* ;transport= asks that service's SRV only (no NAPTR) */
	struct eng_dns_stats st0 = stats();
	expect(&r, "sip:s.test;transport=tcp", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "127.0.0.21", 5064, SIP_TP_TCP, "s.test");
	struct eng_dns_stats st1 = stats();
	cr_assert_eq(st1.queries - st0.queries, 3);   /* SRV, A, AAAA */
}

Test(sip_resolve_dns, port_given_a_only, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	struct eng_dns_stats st0 = stats();
	expect(&r, "sip:bob@a1.s.test:5080", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "127.0.0.21", 5080, SIP_TP_UDP, "a1.s.test");
	struct eng_dns_stats st1 = stats();
	cr_assert_eq(st1.queries - st0.queries, 2);   /* A and AAAA, no NAPTR, no SRV */

	/* s.test has SRV records, but a port means no SRV lookup: it has no address */
	expect(&r, "sip:s.test:5060", 0, SIP_RESOLVE_MAX, -ENOENT, 0);
}

Test(sip_resolve_dns, aaaa, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	expect(&r, "sip:v6.test:5090;transport=tcp", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "::1", 5090, SIP_TP_TCP, "v6.test");
	cr_assert_eq(r.t[0].dest.addrlen, sizeof(struct sockaddr_in6));
}

Test(sip_resolve_dns, no_srv_falls_back_to_addresses, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	expect(&r, "sip:plain.test", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "127.0.0.31", 5060, SIP_TP_UDP, "plain.test");

	expect(&r, "sips:plain.test", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "127.0.0.31", 5061, SIP_TP_TLS, "plain.test");

	expect(&r, "sip:plain.test", 1, SIP_RESOLVE_MAX, 0, 2);
	check(&r, 0, "127.0.0.31", 5060, SIP_TP_TCP, "plain.test");
	check(&r, 1, "127.0.0.31", 5060, SIP_TP_UDP, "plain.test");
}

Test(sip_resolve_dns, nxdomain, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	expect(&r, "sip:nope.test", 0, SIP_RESOLVE_MAX, -ENOENT, 0);
	expect(&r, "sips:nope.test:5061", 0, SIP_RESOLVE_MAX, -ENOENT, 0);
}

Test(sip_resolve_dns, cancel_before_the_answer, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	/* started and cancelled in one go on the worker: no answer can be in yet */
	res_init(&r, "sip:n.test", 0, SIP_RESOLVE_MAX);
	cr_assert_eq(eng_job_run(H.w, job_start_and_cancel, &r), 0);
	cr_assert_eq(r.sync_rc, 0);
	cr_assert_not(sip_resolve_busy(&r.req));
	/* the answer comes and is dropped: the resolver owes nothing, no callback ran */
	cr_assert_eq(eng_job_wait(H.w, nothing_pending, NULL, 5000), 0);
	struct eng_dns_stats st = stats();
	cr_assert_geq(st.answers, 1);
	cr_assert_eq(r.calls, 0, "callback after cancel");

	/* the same request can be used again */
	expect(&r, "sip:plain.test", 0, SIP_RESOLVE_MAX, 0, 1);
	check(&r, 0, "127.0.0.31", 5060, SIP_TP_UDP, "plain.test");
}

Test(sip_resolve_dns, callback_may_start_again, .init = setup_dnsmasq, .fini = teardown)
{
	struct res r = { 0 };

	res_init(&r, "sip:nope.test", 0, SIP_RESOLVE_MAX);
	r.again = "sip:a1.s.test:5077";
	cr_assert_eq(eng_job_run(H.w, job_start, &r), 0);
	cr_assert_eq(r.sync_rc, 0);
	cr_assert_eq(sem_wait_ms(&r.done, 10000), 0);
	cr_assert_eq(r.calls, 2);
	cr_assert_eq(r.sync_rc, 0);
	cr_assert_eq(r.err, 0);
	check(&r, 0, "127.0.0.21", 5077, SIP_TP_UDP, "a1.s.test");
}

Test(sip_resolve_dns, cancel_while_the_server_is_silent, .init = setup_silent, .fini = teardown)
{
	struct res r = { 0 };

	res_init(&r, "sip:n.test", 0, SIP_RESOLVE_MAX);
	cr_assert_eq(eng_job_run(H.w, job_start, &r), 0);
	cr_assert_eq(r.sync_rc, 0);
	cr_assert_eq(eng_job_wait(H.w, sent_one, NULL, 5000), 0);
	cr_assert_eq(eng_job_run(H.w, job_cancel, &r), 0);
	/* the query times out inside the resolver (200 ms, one try); nothing reaches us */
	cr_assert_eq(eng_job_wait(H.w, nothing_pending, NULL, 5000), 0);
	struct eng_dns_stats st = stats();
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(r.calls, 0, "callback after cancel");
}

Test(sip_resolve_dns, silent_server_times_out, .init = setup_silent, .fini = teardown)
{
	struct res r = { 0 };

	/* NAPTR, then SRV, then A/AAAA, each timing out: the error is the time-out */
	expect(&r, "sip:n.test", 0, SIP_RESOLVE_MAX, -ETIMEDOUT, 0);
}

Test(sip_resolve_dns, resolver_freed_cancels, .init = setup_silent, .fini = teardown)
{
	struct res r = { 0 };

	res_init(&r, "sip:s.test;transport=udp", 0, SIP_RESOLVE_MAX);
	cr_assert_eq(eng_job_run(H.w, job_start, &r), 0);
	cr_assert_eq(r.sync_rc, 0);
	cr_assert_eq(eng_job_run(H.w, job_free_dns, NULL), 0);
	cr_assert_eq(r.calls, 1, "eng_dns_free() returned without the callback");
	cr_assert(r.in_free);
	cr_assert_eq(r.err, -ECANCELED);
	cr_assert_eq(r.n, 0);
	cr_assert_not(sip_resolve_busy(&r.req));
}
