/* test_msrp_egress.c — relay.egress rules (parsing, messages, matching order) and the
 * egress hook against a libmicrohttpd server in the test: answers, 404, 500, bad bodies,
 * time-outs, the per-host cache (hits, TTL, bound), asks in flight shared, cancel, free. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_http.h"
#include "msrp/msrp_egress.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_uri.h"
#include "tests/lib/wait.h"

/* ---- rules ---------------------------------------------------------------------------- */

static struct msrp_egress_rules *parse(const char *const *v, size_t n, char *err, size_t el,
				       int *rc)
{
	struct cm_strlist l = { (char **)v, n };
	struct msrp_egress_rules *r = NULL;
	*rc = msrp_egress_rules_parse(&l, &r, err, el);
	return r;
}

Test(msrp_egress, rules_good)
{
	static const char *const v[] = {
		"relay.example.net tls:relay.example.net:2855",
		".example.org tcp:10.0.0.1:2855 src=127.0.0.2",
		"*.example.com   tcp:[2001:db8::1]:9000\tsrc=[::1]",
		"192.0.2.7 direct src=127.0.0.3",
		"[2001:db8::7] TLS:Relay-1.Example:1",
		"2001:db8::8 direct",
		"* direct",
	};
	char err[256];
	int rc;
	struct msrp_egress_rules *r = parse(v, 7, err, sizeof(err), &rc);
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_eq(msrp_egress_rules_count(r), 7);
	msrp_egress_rules_free(r);

	/* no rules at all */
	r = NULL;
	cr_assert_eq(msrp_egress_rules_parse(NULL, &r, err, sizeof(err)), 0);
	cr_expect_eq(msrp_egress_rules_count(r), 0);
	msrp_egress_rules_free(r);
}

Test(msrp_egress, rules_bad_with_messages)
{
	static const struct {
		const char *rule;
		const char *msg;
	} bad[] = {
		{ "example.net", "relay.egress[1] \"example.net\": expected \"MATCH NEXTHOP [src=IP]\"" },
		{ "a b c d", "expected \"MATCH NEXTHOP [src=IP]\"" },
		{ "   ", "expected \"MATCH NEXTHOP [src=IP]\"" },
		{ "ex..net direct", "match \"ex..net\" is neither a host name, .domain, *.domain, an address nor *" },
		{ "-a.net direct", "match \"-a.net\"" },
		{ "a_b.net direct", "match \"a_b.net\"" },
		{ "**.net direct", "match \"**.net\"" },
		{ ". direct", "match \".\"" },
		{ "1.2.3.4 udp:r:1", "next hop \"udp:r:1\" is not direct, tcp:HOST:PORT or tls:HOST:PORT" },
		{ "* tcp:relay", "next hop \"tcp:relay\" is not direct" },
		{ "* tcp:relay:0", "next hop \"tcp:relay:0\" has no port 1..65535" },
		{ "* tcp:relay:65536", "has no port 1..65535" },
		{ "* tcp:relay:", "has no port 1..65535" },
		{ "* tcp:relay:12a", "has no port 1..65535" },
		{ "* tcp:2001:db8::1:5", "next hop \"tcp:2001:db8::1:5\" has a host that is neither a name, an IPv4 address nor an IPv6 address in brackets" },
		{ "* tls::5", "has a host that is neither" },
		{ "* tcp:[1.2.3.4]:5", "has a host that is neither" },
		{ "* direct source=1.2.3.4", "\"source=1.2.3.4\" after the next hop is not src=IP" },
		{ "* direct src=host.example", "src \"host.example\" is not an IPv4 or IPv6 address" },
		{ "* direct src=", "src \"\" is not an IPv4 or IPv6 address" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *v[2] = { "* direct", bad[i].rule };
		char err[256];
		int rc;
		struct msrp_egress_rules *r = parse(v, 2, err, sizeof(err), &rc);
		cr_expect_eq(rc, -EINVAL, "%s: accepted", bad[i].rule);
		cr_expect_null(r);
		cr_expect(strstr(err, bad[i].msg), "%s: message \"%s\"", bad[i].rule, err);
		cr_expect_eq(strncmp(err, "relay.egress[1] \"", 17), 0, "%s", err);
	}
	/* a short buffer: the message is cut, never overrun */
	const char *v[1] = { "zz" };
	char small[8];
	int rc;
	parse(v, 1, small, sizeof(small), &rc);
	cr_expect_eq(rc, -EINVAL);
	cr_expect_eq(strlen(small), 7);
}

/* Routes <uri> through <e> and returns the result; the hop goes to <hop>. */
static int route_now(struct msrp_egress *e, const char *uri, struct msrp_hop *hop)
{
	struct msrp_uri u;
	struct msrp_egress_req req;
	cr_assert_eq(msrp_uri_parse((cm_slice){ uri, strlen(uri) }, &u), 0, "%s", uri);
	memset(hop, 0, sizeof(*hop));
	return msrp_egress_route(e, &u, &req, NULL, NULL, hop);
}

static void expect_hop(const struct msrp_hop *h, const char *host, int port, int tls,
		       const char *src)
{
	cr_expect_str_eq(h->host, host);
	cr_expect_eq(h->port, port, "%s: port %u", host, h->port);
	cr_expect_eq(h->tls, tls, "%s: tls %d", host, h->tls);
	cr_expect_str_eq(h->src, src);
}

Test(msrp_egress, matching_order)
{
	static const char *const v[] = {
		"exact.example.net tls:relay-a.example:9001",         /* 0 */
		".example.net tcp:10.0.0.1:9002 src=127.0.0.2",       /* 1 */
		"*.example.org tcp:[2001:DB8::1]:9003",               /* 2 */
		"192.0.2.7 direct src=127.0.0.3",                     /* 3 */
		"[2001:db8::7] tls:10.0.0.9:9005",                    /* 4 */
		"Example.COM tcp:relay-b:9006",                       /* 5 */
		"* direct src=127.0.0.4",                             /* 6 */
	};
	char err[256];
	int rc;
	struct msrp_egress_rules *r = parse(v, 7, err, sizeof(err), &rc);
	cr_assert_eq(rc, 0, "%s", err);
	struct msrp_egress *e = msrp_egress_new(NULL, r, NULL, 1000, 1000);
	cr_assert(e);
	static const struct {
		const char *uri;
		int rc;
		const char *host;
		int port, tls;
		const char *src;
	} cases[] = {
		/* the exact host comes first, though the suffix rule matches it too */
		{ "msrp://EXACT.example.net:1/s;tcp", 0, "relay-a.example", 9001, 1, "" },
		{ "msrps://x.y.example.net:2/s;tcp", 0, "10.0.0.1", 9002, 0, "127.0.0.2" },
		/* the domain itself is not below it: the catch-all takes it, direct from its src */
		{ "msrp://example.net:3/s;tcp", 0, "example.net", 3, 0, "127.0.0.4" },
		{ "msrp://a.example.org:4/s;tcp", 0, "2001:DB8::1", 9003, 0, "" },
		/* "anexample.net" ends with "example.net" but is not below it */
		{ "msrps://anexample.net/s;tcp", 0, "anexample.net", 2855, 1, "127.0.0.4" },
		/* addresses: direct keeps the URI's host and port, with the rule's src */
		{ "msrp://192.0.2.7:5/s;tcp", 0, "192.0.2.7", 5, 0, "127.0.0.3" },
		{ "msrp://[2001:0db8:0:0::7]:6/s;tcp", 0, "10.0.0.9", 9005, 1, "" },
		{ "msrp://example.com:7/s;tcp", 0, "relay-b", 9006, 0, "" },
		/* another address is not the address rule's: the catch-all */
		{ "msrp://192.0.2.8:8/s;tcp", 0, "192.0.2.8", 8, 0, "127.0.0.4" },
		/* direct to a WebSocket URI cannot be; a rule with a next hop can */
		{ "msrp://ws.example.net:9/s;ws", 0, "10.0.0.1", 9002, 0, "127.0.0.2" },
		{ "msrp://ws.invalid:9/s;ws", -EINVAL, NULL, 0, 0, NULL },
	};
	struct msrp_hop h;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(route_now(e, cases[i].uri, &h), cases[i].rc, "%s", cases[i].uri);
		if (cases[i].host)
			expect_hop(&h, cases[i].host, cases[i].port, cases[i].tls, cases[i].src);
	}

	struct msrp_egress_stats st;
	msrp_egress_stats(e, &st);
	cr_expect_eq(st.routes, 11);
	cr_expect_eq(st.rule_hits, 11);
	cr_expect_eq(st.direct, 0);
	cr_expect_eq(msrp_egress_rule_hits(e, 0), 1);
	cr_expect_eq(msrp_egress_rule_hits(e, 1), 2);
	cr_expect_eq(msrp_egress_rule_hits(e, 6), 4);
	cr_expect_eq(msrp_egress_rule_hits(e, 7), 0);
	msrp_egress_free(e);
	msrp_egress_rules_free(r);

	/* no rules and no hook: direct, TLS for msrps */
	e = msrp_egress_new(NULL, NULL, "", 1000, 1000);
	cr_assert(e);
	cr_expect_eq(route_now(e, "msrps://Bob.Example:8888/s;tcp", &h), 0);
	expect_hop(&h, "Bob.Example", 8888, 1, "");
	cr_expect_eq(route_now(e, "msrp://[::1]:2/s;tcp", &h), 0);
	expect_hop(&h, "::1", 2, 0, "");
	msrp_egress_stats(e, &st);
	cr_expect_eq(st.direct, 2);
	msrp_egress_free(e);
}

/* ---- the hook ------------------------------------------------------------------------- */

/* The hook's answers, by the host asked about:
 *   a.example   200 {"next_hop": "tls:relay.example:9000", "src": "127.0.0.2"}
 *   v.example   200 {"next_hop": "direct", "src": "127.0.0.5"}
 *   n*          404 (n.example, n17.example, ...)
 *   f.example   500
 *   b.example   200 {"next_hop": "udp:x:1"};  j.example 200 "not json"
 *   s.example   answers 200 like a.example after 1.5 s (beyond the time-out)
 *   w.example   answers like a.example after 300 ms
 * A request that is not {"uri": S, "host": S, "port": N} gets 400. */
struct hsrv_conn {
	char *body;
	size_t len;
};

static struct MHD_Daemon *hsrv;
static int hsrv_port;
static atomic_int asks_a, asks_n, asks_w, asks_s, asks_all;
static char last_ask[512];

static enum MHD_Result hsrv_answer(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result hsrv_handler(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version,
				    const char *upload, size_t *upload_size, void **state)
{
	static const char ok_a[] = "{\"next_hop\": \"tls:relay.example:9000\", \"src\": \"127.0.0.2\"}";
	struct hsrv_conn *hc = *state;
	(void)cls; (void)url; (void)method; (void)version;

	if (!hc) {
		*state = calloc(1, sizeof(*hc));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		char *nb = realloc(hc->body, hc->len + *upload_size + 1);
		if (!nb)
			return MHD_NO;
		memcpy(nb + hc->len, upload, *upload_size);
		hc->body = nb;
		hc->len += *upload_size;
		hc->body[hc->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	asks_all++;
	json_t *o = hc->body ? json_loads(hc->body, 0, NULL) : NULL;
	const char *host = o ? json_string_value(json_object_get(o, "host")) : NULL;
	const char *uri = o ? json_string_value(json_object_get(o, "uri")) : NULL;
	json_t *port = o ? json_object_get(o, "port") : NULL;
	enum MHD_Result ret;
	if (!host || !uri || !json_is_integer(port)) {
		ret = hsrv_answer(c, 400, "");
	} else {
		snprintf(last_ask, sizeof(last_ask), "%s", hc->body);
		if (strcmp(host, "a.example") == 0) {
			asks_a++;
			ret = hsrv_answer(c, 200, ok_a);
		} else if (strcmp(host, "v.example") == 0) {
			ret = hsrv_answer(c, 200, "{\"next_hop\": \"direct\", \"src\": \"127.0.0.5\"}");
		} else if (host[0] == 'n') {
			asks_n++;
			ret = hsrv_answer(c, 404, "");
		} else if (strcmp(host, "b.example") == 0) {
			ret = hsrv_answer(c, 200, "{\"next_hop\": \"udp:x:1\"}");
		} else if (strcmp(host, "j.example") == 0) {
			ret = hsrv_answer(c, 200, "not json");
		} else if (strcmp(host, "s.example") == 0 || strcmp(host, "w.example") == 0) {
			int slow = host[0] == 's';
			(slow ? &asks_s : &asks_w)[0]++;
			usleep(slow ? 1500000 : 300000);
			ret = hsrv_answer(c, 200, ok_a);
		} else {
			ret = hsrv_answer(c, 500, "");
		}
	}
	json_decref(o);
	return ret;
}

static void hsrv_done(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode tc)
{
	struct hsrv_conn *hc = *state;
	(void)cls; (void)c; (void)tc;
	if (hc)
		free(hc->body);
	free(hc);
	*state = NULL;
}

static void hsrv_start(void)
{
	hsrv = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, hsrv_handler, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, hsrv_done, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
	cr_assert(hsrv);
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(hsrv, MHD_DAEMON_INFO_BIND_PORT);
	cr_assert(i);
	hsrv_port = i->port;
}

/* The worker side: one egress, requests in slots, callbacks counted. */
struct slot {
	struct msrp_egress_req req;
	char uri[128];
	int rc_now;
	struct msrp_hop hop_now;
	atomic_int called;
	int cb_rc;
	struct msrp_hop cb_hop;
};

static eng_engine *eng;
static struct msrp_egress *eg;
static struct slot slots[32];
static sem_t ran, cbs;
static char hook_url[128];
static uint32_t ttl_ms;
static uint32_t timeout_ms = 500;
static struct msrp_egress_stats stats;
static int free_in_cb;          /* the next callback frees the egress */

static void on_route(struct msrp_egress_req *req, void *arg, int rc, const struct msrp_hop *hop)
{
	struct slot *s = arg;
	cr_assert_eq(req, &s->req);
	s->cb_rc = rc;
	if (hop)
		s->cb_hop = *hop;
	s->called++;
	if (free_in_cb) {
		free_in_cb = 0;
		msrp_egress_free(eg);
		eg = NULL;
	}
	sem_post(&cbs);
}

static void job_route(eng_worker *w, void *arg, uint64_t i)
{
	struct msrp_uri u;
	struct slot *s = &slots[i];
	(void)w; (void)arg;
	cr_assert_eq(msrp_uri_parse((cm_slice){ s->uri, strlen(s->uri) }, &u), 0, "%s", s->uri);
	s->called = 0;
	s->rc_now = msrp_egress_route(eg, &u, &s->req, on_route, s, &s->hop_now);
	sem_post(&ran);
}

static void job_cancel(eng_worker *w, void *arg, uint64_t i)
{
	(void)w; (void)arg;
	msrp_egress_cancel(&slots[i].req);
	sem_post(&ran);
}

static void job_new(eng_worker *w, void *arg, uint64_t u)
{
	(void)arg; (void)u;
	eg = msrp_egress_new(w, NULL, hook_url, timeout_ms, ttl_ms);
	sem_post(&ran);
}

static void job_free(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	msrp_egress_free(eg);
	eg = NULL;
	sem_post(&ran);
}

static void job_stats(eng_worker *w, void *arg, uint64_t u)
{
	(void)w; (void)arg; (void)u;
	msrp_egress_stats(eg, &stats);
	sem_post(&ran);
}

static void run_job(eng_msg_fn fn, uint64_t u)
{
	cr_assert_eq(eng_post(eng_worker_at(eng, 0), fn, NULL, u), 0);
	cr_assert_eq(sem_wait_ms(&ran, 5000), 0);
}

/* Routes slots[<i>] to <uri>; returns what msrp_egress_route() said. */
static int route(int i, const char *uri)
{
	snprintf(slots[i].uri, sizeof(slots[i].uri), "%s", uri);
	run_job(job_route, (uint64_t)i);
	return slots[i].rc_now;
}

/* Waits for the callback of slots[<i>] (others may come first: they are counted too). */
static void wait_cb(int i)
{
	for (int n = 0; n < 32 && !slots[i].called; n++)
		cr_assert_eq(sem_wait_ms(&cbs, 5000), 0, "no callback for slot %d", i);
	cr_assert_eq(slots[i].called, 1, "slot %d called %d times", i, (int)slots[i].called);
}

static void setup_engine(uint32_t ttl)
{
	struct eng_config cfg;
	char err[200];

	sem_init(&ran, 0, 0);
	sem_init(&cbs, 0, 0);
	cr_assert_eq(msrp_id_init(), 0);
	cr_assert_eq(eng_http_global_init(), 0);
	hsrv_start();
	snprintf(hook_url, sizeof(hook_url), "http://127.0.0.1:%d/egress", hsrv_port);
	eng_config_defaults(&cfg);
	cfg.backend = ENG_BACKEND_EPOLL;
	cfg.workers = 1;
	cfg.pin = 0;
	eng = eng_create(&cfg, err, sizeof(err));
	cr_assert(eng, "%s", err);
	cr_assert_eq(eng_start(eng, NULL, NULL), 0);
	ttl_ms = ttl;
	run_job(job_new, 0);
	cr_assert(eg);
}

static void teardown_engine(void)
{
	if (eg)
		run_job(job_free, 0);
	eng_destroy(eng);
	MHD_stop_daemon(hsrv);
}

Test(msrp_egress, hook_answers_and_cache, .timeout = 30)
{
	setup_engine(60000);

	/* 200: the hook's hop, src included; the second ask for the host is a cache hit */
	cr_assert_eq(route(0, "msrp://a.example:7000/s1;tcp"), 1);
	wait_cb(0);
	cr_expect_eq(slots[0].cb_rc, 0);
	expect_hop(&slots[0].cb_hop, "relay.example", 9000, 1, "127.0.0.2");
	json_t *ask = json_loads(last_ask, 0, NULL);
	cr_assert(ask, "%s", last_ask);
	cr_expect_str_eq(json_string_value(json_object_get(ask, "uri")),
			 "msrp://a.example:7000/s1;tcp");
	cr_expect_str_eq(json_string_value(json_object_get(ask, "host")), "a.example");
	cr_expect_eq(json_integer_value(json_object_get(ask, "port")), 7000);
	json_decref(ask);
	cr_expect_eq(route(1, "msrps://A.Example/other;tcp"), 0);
	expect_hop(&slots[1].hop_now, "relay.example", 9000, 1, "127.0.0.2");
	cr_expect_eq(asks_a, 1);

	/* 404: direct, the URI's own host and port; cached, each URI its own port */
	cr_assert_eq(route(2, "msrps://n.example:7001/s;tcp"), 1);
	wait_cb(2);
	cr_expect_eq(slots[2].cb_rc, 0);
	expect_hop(&slots[2].cb_hop, "n.example", 7001, 1, "");
	cr_expect_eq(route(3, "msrp://n.example:7002/s;tcp"), 0);
	expect_hop(&slots[3].hop_now, "n.example", 7002, 0, "");
	cr_expect_eq(asks_n, 1);
	/* a direct answer to a ;ws URI: that URI cannot be reached directly */
	cr_expect_eq(route(4, "msrp://n.example:7003/s;ws"), -EINVAL);

	/* 200 "direct" with a src */
	cr_assert_eq(route(5, "msrp://v.example:7004/s;tcp"), 1);
	wait_cb(5);
	expect_hop(&slots[5].cb_hop, "v.example", 7004, 0, "127.0.0.5");

	/* failures, not cached: 500 (twice: asked again), a next hop that is not one, a body
	 * that is not JSON, no answer within hook_timeout (500 ms) */
	static const struct {
		const char *uri;
		int rc;
	} fails[] = {
		{ "msrp://f.example:1/s;tcp", -EIO },
		{ "msrp://f.example:1/s;tcp", -EIO },
		{ "msrp://b.example:1/s;tcp", -EBADMSG },
		{ "msrp://j.example:1/s;tcp", -EBADMSG },
		{ "msrp://s.example:1/s;tcp", -ETIMEDOUT },
	};
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(route(6 + i, fails[i].uri), 1, "%s", fails[i].uri);
		wait_cb(6 + i);
		cr_expect_eq(slots[6 + i].cb_rc, fails[i].rc, "%s: %d", fails[i].uri,
			     slots[6 + i].cb_rc);
	}

	run_job(job_stats, 0);
	cr_expect_eq(stats.routes, 11);
	cr_expect_eq(stats.hook_asks, 8);
	cr_expect_eq(stats.hook_failures, 5);
	cr_expect_eq(stats.cache_hits, 3);
	cr_expect_eq(stats.cache_size, 3); /* a, n, v */
	teardown_engine();
}

Test(msrp_egress, hook_shared_ask_cancel_free, .timeout = 30)
{
	setup_engine(60000);

	/* three requests for one host while the hook thinks: one ask; one is cancelled */
	cr_assert_eq(route(0, "msrp://w.example:1/s;tcp"), 1);
	cr_assert_eq(route(1, "msrp://W.EXAMPLE:2/s;tcp"), 1);
	cr_assert_eq(route(2, "msrp://w.example:3/s;tcp"), 1);
	run_job(job_cancel, 1);
	run_job(job_cancel, 1); /* twice: a no-op */
	wait_cb(0);
	wait_cb(2);
	usleep(100000);
	cr_expect_eq(slots[1].called, 0, "a cancelled request was called back");
	cr_expect_eq(asks_w, 1);
	expect_hop(&slots[2].cb_hop, "relay.example", 9000, 1, "127.0.0.2");
	run_job(job_stats, 0);
	cr_expect_eq(stats.hook_waits, 2);
	cr_expect_eq(stats.hook_asks, 1);

	/* every waiter cancelled: the answer still lands in the cache */
	asks_s = 0;
	cr_assert_eq(route(3, "msrp://s.example:1/s;tcp"), 1);
	run_job(job_cancel, 3);
	usleep(700000); /* the time-out passes: a failure, nobody to tell */
	cr_expect_eq(slots[3].called, 0);
	cr_assert_eq(route(4, "msrp://w.example:9/s;tcp"), 0); /* cached from before */

	/* the egress freed with requests waiting: they hear -ECANCELED at once */
	cr_assert_eq(route(5, "msrp://s.example:1/s;tcp"), 1);
	cr_assert_eq(route(6, "msrp://s.example:2/s;tcp"), 1);
	run_job(job_free, 0);
	cr_expect_eq(slots[5].called, 1);
	cr_expect_eq(slots[5].cb_rc, -ECANCELED);
	cr_expect_eq(slots[6].called, 1);
	cr_expect_eq(slots[6].cb_rc, -ECANCELED);

	/* freed from inside a callback, with another request of the same host still waiting */
	run_job(job_new, 0);
	cr_assert(eg);
	cr_assert_eq(route(7, "msrp://w.example:1/s;tcp"), 1);
	cr_assert_eq(route(8, "msrp://w.example:2/s;tcp"), 1);
	free_in_cb = 1;
	wait_cb(7);
	wait_cb(8);
	/* the later waiter is first in the list: it got the answer; the other -ECANCELED */
	cr_expect((slots[7].cb_rc == 0) != (slots[8].cb_rc == 0), "%d %d", slots[7].cb_rc,
		  slots[8].cb_rc);
	cr_expect(slots[7].cb_rc == -ECANCELED || slots[8].cb_rc == -ECANCELED);
	cr_expect_null(eg);
	teardown_engine();
}

Test(msrp_egress, hook_cache_ttl, .timeout = 30)
{
	setup_engine(200);
	cr_assert_eq(route(0, "msrp://a.example:1/s;tcp"), 1);
	wait_cb(0);
	cr_expect_eq(route(1, "msrp://a.example:1/s;tcp"), 0);
	usleep(400000);
	cr_expect_eq(route(2, "msrp://a.example:1/s;tcp"), 1, "the answer outlived its TTL");
	wait_cb(2);
	cr_expect_eq(asks_a, 2);
	run_job(job_free, 0);

	/* TTL 0: asked every time */
	ttl_ms = 0;
	run_job(job_new, 0);
	cr_assert_eq(route(3, "msrp://n.example:1/s;tcp"), 1);
	wait_cb(3);
	cr_assert_eq(route(4, "msrp://n.example:1/s;tcp"), 1);
	wait_cb(4);
	cr_expect_eq(asks_n, 2);
	run_job(job_stats, 0);
	cr_expect_eq(stats.cache_size, 0);
	teardown_engine();
}

/* The cache's bound: as many hosts as it holds asked at once, one more refused; once they
 * are answered, a new host pushes the oldest answer out. */
#define MANY MSRP_EGRESS_CACHE_MAX
static struct msrp_egress_req many_req[MANY + 2];
static int many_rc[MANY + 2];
static int many_from, many_n;
static atomic_int many_done, many_ok;

static void on_many(struct msrp_egress_req *req, void *arg, int rc, const struct msrp_hop *hop)
{
	(void)req; (void)arg; (void)hop;
	if (rc == 0)
		many_ok++;
	many_done++;
}

static void job_many(eng_worker *w, void *arg, uint64_t u)
{
	char uri[64];
	struct msrp_uri mu;
	struct msrp_hop hop;
	(void)w; (void)arg; (void)u;
	for (int i = many_from; i < many_from + many_n; i++) {
		snprintf(uri, sizeof(uri), "msrp://n%d.example:1/s;tcp", i);
		cr_assert_eq(msrp_uri_parse((cm_slice){ uri, strlen(uri) }, &mu), 0);
		many_rc[i] = msrp_egress_route(eg, &mu, &many_req[i], on_many, NULL, &hop);
	}
	sem_post(&ran);
}

static int many(int from, int n)
{
	many_from = from;
	many_n = n;
	run_job(job_many, 0);
	return many_rc[from];
}

static void many_wait(int n)
{
	for (int i = 0; i < 2000 && many_done < n; i++)
		usleep(10000);
	cr_assert_eq(many_done, n);
}

Test(msrp_egress, hook_cache_bound, .timeout = 60)
{
	timeout_ms = 30000; /* thousands of asks queue behind the client's connections */
	setup_engine(60000);
	many(0, MANY + 1); /* in one go: no answer can come in between */
	for (int i = 0; i < MANY; i++)
		cr_assert_eq(many_rc[i], 1, "host %d: %d", i, many_rc[i]);
	cr_expect_eq(many_rc[MANY], -EAGAIN, "more asks in flight than the cache holds");
	many_wait(MANY);
	cr_expect_eq(many_ok, MANY);
	run_job(job_stats, 0);
	cr_expect_eq(stats.cache_size, MANY);
	cr_expect_eq(stats.hook_asks, MANY);

	/* full of answers: a new host evicts the oldest, which is then asked again */
	cr_expect_eq(many(MANY, 1), 1);
	many_wait(MANY + 1);
	cr_expect_eq(many(MANY - 1, 1), 0, "a recent answer was evicted");
	cr_expect_eq(many(0, 1), 1, "the oldest answer was not evicted");
	many_wait(MANY + 2);
	run_job(job_stats, 0);
	cr_expect_eq(stats.cache_evictions, 2);
	cr_expect_eq(stats.cache_size, MANY);
	teardown_engine();
}
