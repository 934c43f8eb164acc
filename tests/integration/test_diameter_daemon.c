/* test_diameter_daemon.c — Diameter in the daemon (issue 9), through its REST API:
 *
 *   - against freeDiameterd (Debian's freediameter, tests/lib/fd_srv): the peer opens
 *     (GET /v1/diameter/peers, /v1/status "diameter"), a custom Sh request is answered
 *     (3002: Debian ships no Sh extension, PEERS.md), bad requests are 400 and a realm
 *     nobody serves 503, the watchdog runs; killed with -9 the peer is down (status not
 *     ready, requests 503), restarted it is connected again (diameter.reconnect); at
 *     SIGTERM the daemon sends its DPR; tshark decodes every message with no malformed
 *     one;
 *   - between two and three rcsgw nodes: a node's Sh (UDR) and Ro (CCR) requests become
 *     "diameter.request" events at the other, answered there through the API (the answer
 *     carries what the application gave); a request left unanswered is answered with
 *     diameter.unanswered_result; a peer that goes silent (SIGSTOP) becomes suspect and its
 *     request fails over to the next peer of the realm with the T flag, then comes back
 *     (failback); an application we do not serve is 3007; an unknown peer is refused.
 * Run with --jobs 1 (freeDiameterd binds 0.0.0.0:3868). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/dm_samples.h"
#include "tests/lib/fd_srv.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/sse.h"
#include "tests/lib/tshark.h"

struct dnode {
	pid_t pid;
	int api, dport;
	char host[64];
};

static struct fd_srv fd = { .pid = -1 };
static struct dnode NA = { .pid = -1 }, NB = { .pid = -1 }, NC = { .pid = -1 };
static struct tshark_cap cap = TSHARK_CAP_INIT;
static char cap_dir[64];

static void stop_node(struct dnode *n)
{
	if (n->pid > 0) {
		kill(n->pid, SIGCONT);
		rcsgw_stop(n->pid, SIGKILL, 2000);
	}
	n->pid = -1;
}

static void down(void)
{
	stop_node(&NA);
	stop_node(&NB);
	stop_node(&NC);
	fd_srv_stop(&fd);
	tshark_stop(&cap);
	if (cap_dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", cap_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", cap_dir);
		cap_dir[0] = '\0';
	}
}

TestSuite(diameter_daemon, .fini = down, .timeout = 90);

/* Starts node <n> as <host> (realm test.local) with the peers <peers> ("" none), a
 * listener when <listen>, and <extra> ("NAME=value" or NULL). */
static void start_node(struct dnode *n, const char *host, const char *peers, int listen,
		       const char *extra)
{
	static char e[6][256];
	snprintf(n->host, sizeof(n->host), "%s", host);
	n->api = free_tcp_port();
	n->dport = listen ? free_tcp_port() : 0;
	snprintf(e[0], sizeof(e[0]), "RCSGW_API_LISTEN=127.0.0.1:%d", n->api);
	snprintf(e[1], sizeof(e[1]), "RCSGW_DIAMETER_ORIGIN_HOST=%s", host);
	snprintf(e[2], sizeof(e[2]), "RCSGW_DIAMETER_PEERS=%s", peers);
	if (listen)
		snprintf(e[3], sizeof(e[3]), "RCSGW_DIAMETER_LISTEN=127.0.0.1:%d", n->dport);
	else
		snprintf(e[3], sizeof(e[3]), "RCSGW_DIAMETER_LISTEN=");
	snprintf(e[4], sizeof(e[4]), "%s", extra ? extra : "RCSGW_LOG_LEVEL=warn");
	const char *env[] = { e[0], e[1], e[2], e[3], e[4], "RCSGW_MSRP_LISTEN=",
			      "RCSGW_SIP_LISTEN=", "RCSGW_ENGINE_WORKERS=2",
			      "RCSGW_ENGINE_PIN=false", "RCSGW_DIAMETER_WATCHDOG=1s",
			      "RCSGW_DIAMETER_RECONNECT=300ms", "RCSGW_DIAMETER_ACCEPT=*.test.local",
			      "RCSGW_DIAMETER_ANSWER_TIMEOUT=1500ms", NULL };
	n->pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(n->pid > 0);
	cr_assert_eq(wait_port("127.0.0.1", n->api, 5000), 0, "the API of %s does not listen",
		     host);
	if (listen)
		cr_assert_eq(wait_port("127.0.0.1", n->dport, 5000), 0, "%s does not listen", host);
}

/* An HTTP request to <n>'s API: the status, the body as JSON into *<out> (may be NULL). */
static int api(const struct dnode *n, const char *method, const char *path, const char *body,
	       json_t **out)
{
	int st = 0;
	char *b = NULL;
	int rc = http_request("127.0.0.1", n->api, method, path, NULL, body, &st, NULL, &b, 15000);
	cr_assert_eq(rc, 0, "%s %s: %s", method, path, strerror(-rc));
	if (out)
		*out = b && *b ? json_loads(b, 0, NULL) : NULL;
	free(b);
	return st;
}

/* The state of <n>'s peer of Origin-Host (or address) <who>, into <st> ("" none). */
static void peer_state(const struct dnode *n, const char *who, char *st, size_t len)
{
	json_t *j = NULL, *p;
	size_t i;
	st[0] = '\0';
	cr_assert_eq(api(n, "GET", "/v1/diameter/peers", NULL, &j), 200, "GET peers of %s",
		     n->host);
	if (!j)
		goto out;
	json_array_foreach(json_object_get(j, "peers"), i, p) {
		const char *h = json_string_value(json_object_get(p, "host"));
		const char *u = json_string_value(json_object_get(p, "uri"));
		if ((h && !strcmp(h, who)) || (u && strstr(u, who))) {
			snprintf(st, len, "%s", json_string_value(json_object_get(p, "state")));
			break;
		}
	}
out:
	json_decref(j);
}

static int wait_peer(const struct dnode *n, const char *who, const char *want, int ms)
{
	char st[32];
	for (int t = 0; t < ms; t += 100) {
		peer_state(n, who, st, sizeof(st));
		if (!strcmp(st, want))
			return 1;
		usleep(100 * 1000);
	}
	peer_state(n, who, st, sizeof(st));
	fprintf(stderr, "peer %s of %s: %s, not %s\n", who, n->host, st, want);
	return 0;
}

/* The sum of metric <name>'s samples at <n>'s /metrics. */
static double metric(const struct dnode *n, const char *name)
{
	double v = http_metric_sum(n->api, NULL, name);
	cr_assert_geq(v, 0, "GET /metrics of %s", n->host);
	return v;
}

/* The same over the samples with the label pairs <labels>. */
static double metric_where(const struct dnode *n, const char *name, const char *labels)
{
	double v = http_metric_sum_where(n->api, NULL, name, labels);
	cr_assert_geq(v, 0, "GET /metrics of %s", n->host);
	return v;
}

static const char *diameter_status(const struct dnode *n, char *buf, size_t len)
{
	json_t *j = NULL;
	buf[0] = '\0';
	if (api(n, "GET", "/v1/status", NULL, &j) == 200 && j)
		snprintf(buf, len, "%s", json_string_value(json_object_get(
						 json_object_get(j, "subsystems"), "diameter")) ?: "");
	json_decref(j);
	return buf;
}

#define UDR_BODY \
	"{\"application\":\"Sh\",\"command\":\"UDR\",\"avps\":[" \
	"{\"Vendor-Specific-Application-Id\":[{\"Vendor-Id\":10415},{\"Auth-Application-Id\":16777217}]}," \
	"{\"Auth-Session-State\":\"NO_STATE_MAINTAINED\"}," \
	"{\"User-Identity\":[{\"Public-Identity\":\"sip:alice@test.local\"}]}," \
	"{\"Data-Reference\":\"RepositoryData\"}]}"

Test(diameter_daemon, against_freediameter_requests_reconnection_and_dpr)
{
	if (!fd_srv_available())
		cr_skip_test("freeDiameterd missing (Debian package freediameter: make deps)");
	int capturing = 0;
	if (tshark_available()) {
		snprintf(cap_dir, sizeof(cap_dir), "/tmp/rcsgw-dmd.XXXXXX");
		cr_assert_not_null(mkdtemp(cap_dir));
		int rc = tshark_start(&cap, "tcp port 3868", cap_dir);
		cr_assert(rc == 0 || rc == -EPERM, "dumpcap: %s", strerror(-rc));
		capturing = rc == 0;
	}
	cr_assert_eq(fd_srv_start(&fd, "fd.test.local", "test.local", "*.test.local"), 0,
		     "freeDiameterd did not start");
	start_node(&NA, "rcsgw.test.local", "aaa://127.0.0.1:3868;realm=test.local", 0, NULL);
	/* (within a CER timeout and a reconnection: freeDiameterd may leave the first CER
	 * unanswered just after it starts) */
	cr_assert(wait_peer(&NA, "fd.test.local", "open", 12000), "the peer did not open");
	char sb[32];
	cr_expect_str_eq(diameter_status(&NA, sb, sizeof(sb)), "ready");

	json_t *j = NULL;
	int st = api(&NA, "POST", "/v1/diameter/requests", UDR_BODY, &j);
	cr_assert_eq(st, 200, "UDR: %d", st);
	cr_expect_eq(json_integer_value(json_object_get(j, "result_code")), 3002,
		     "freeDiameterd has no Sh: 3002");
	cr_expect_str_eq(json_string_value(json_object_get(j, "command")), "UDA");
	cr_expect_str_eq(json_string_value(json_object_get(j, "peer")), "fd.test.local");
	json_decref(j);

	/* bad requests: 400 with a message; a realm nobody serves: 503 */
	struct {
		const char *body;
		int want;
	} bad[] = {
		{ "not json", 400 },
		{ "{\"application\":\"Nope\",\"command\":\"UDR\"}", 400 },
		{ "{\"application\":\"Sh\",\"command\":\"NOPE\"}", 400 },
		{ "{\"application\":\"Sh\",\"command\":\"UDR\",\"avps\":[{\"No-Such-AVP\":1}]}", 400 },
		{ "{\"application\":\"Sh\",\"command\":\"UDR\",\"avps\":[{\"Data-Reference\":\"x\"}]}", 400 },
		{ "{\"application\":\"Sh\",\"command\":\"UDR\",\"avps\":{}}", 400 },
		{ "{\"application\":\"Sh\",\"command\":\"UDR\",\"timeout_ms\":0}", 400 },
		{ "{\"application\":\"Sh\",\"command\":\"UDR\",\"destination_realm\":\"else.net\"}", 503 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = api(&NA, "POST", "/v1/diameter/requests", bad[i].body, &j);
		cr_expect_eq(st, bad[i].want, "%s: %d", bad[i].body, st);
		cr_expect(json_is_string(json_object_get(json_object_get(j, "error"), "message")),
			  "%s: a JSON error", bad[i].body);
		json_decref(j);
	}

	usleep(2600 * 1000); /* idle: the watchdog (Tw 1 s) asks, freeDiameterd answers */
	api(&NA, "GET", "/v1/diameter/peers", NULL, &j);
	json_t *p = json_array_get(json_object_get(j, "peers"), 0);
	cr_expect_geq(json_integer_value(json_object_get(p, "watchdog_answers")), 1);
	cr_expect_str_eq(json_string_value(json_object_get(p, "state")), "open");
	json_decref(j);

	/* killed: down, not ready, 503; back: connected again */
	fd_srv_kill(&fd);
	cr_expect(wait_peer(&NA, "127.0.0.1:3868", "down", 5000) ||
		  wait_peer(&NA, "127.0.0.1:3868", "connecting", 100), "the peer is still up");
	cr_expect_str_eq(diameter_status(&NA, sb, sizeof(sb)), "not_ready");
	/* ... with its details, reports, and the node not ready for orchestrators */
	cr_assert_eq(api(&NA, "GET", "/v1/status/diameter", NULL, &j), 200);
	cr_expect_str_eq(json_string_value(json_object_get(j, "details")), "0 of 1 peers open");
	json_decref(j);
	cr_assert_eq(api(&NA, "GET", "/v1/reports/diameter", NULL, &j), 200);
	char *reps = json_dumps(j, 0);
	cr_expect(strstr(reps, "peer fd.test.local (test.local) open"), "%s", reps);
	cr_expect(strstr(reps, "peer fd.test.local (test.local) closed"), "%s", reps);
	cr_expect(strstr(reps, "ready -> not_ready: 0 of 1 peers open"), "%s", reps);
	free(reps);
	json_decref(j);
	st = api(&NA, "GET", "/readyz", NULL, &j);
	cr_expect_eq(st, 503, "readyz with no Diameter peer: %d", st);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(j, "not_ready"), 0)),
			 "diameter");
	json_decref(j);
	st = api(&NA, "POST", "/v1/diameter/requests", UDR_BODY, NULL);
	cr_expect_eq(st, 503, "no peer: %d", st);
	cr_assert_eq(fd_srv_start(&fd, "fd.test.local", "test.local", "*.test.local"), 0);
	cr_assert(wait_peer(&NA, "fd.test.local", "open", 12000), "not connected again");
	st = api(&NA, "POST", "/v1/diameter/requests", UDR_BODY, NULL);
	cr_expect_eq(st, 200, "after the reconnection: %d", st);

	/* SIGTERM: a DPR first, then the daemon ends */
	int rc = rcsgw_stop(NA.pid, SIGTERM, 8000);
	NA.pid = -1;
	cr_expect_eq(rc, 0, "rcsgw exited with %d", rc);
	fd_srv_stop(&fd);
	if (!capturing)
		return;
	cr_assert_eq(tshark_stop(&cap), 0);
	char buf[8192];
	const char *as_d = "tcp.port==3868,diameter";
	int bad_n = tshark_summary(&cap, as_d, TSHARK_BAD, buf, sizeof(buf));
	cr_expect_eq(bad_n, 0, "malformed or in error:\n%s", buf);
	struct {
		const char *filter;
		int min;
	} f[] = {
		{ "diameter.cmd.code == 257 && diameter.flags.request == 1", 2 },
		{ "diameter.cmd.code == 257 && diameter.flags.request == 0", 2 },
		{ "diameter.cmd.code == 280 && diameter.flags.request == 1", 1 },
		{ "diameter.cmd.code == 280 && diameter.flags.request == 0", 1 },
		{ "diameter.cmd.code == 306 && diameter.flags.request == 1 && "
		  "diameter.Origin-Host == \"rcsgw.test.local\"", 2 },
		{ "diameter.cmd.code == 306 && diameter.flags.request == 0", 2 },
		{ "diameter.cmd.code == 282 && diameter.flags.request == 1 && "
		  "diameter.Origin-Host == \"rcsgw.test.local\" && diameter.Disconnect-Cause == 0", 1 },
		{ "diameter.cmd.code == 282 && diameter.flags.request == 0", 1 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int got = tshark_count(&cap, as_d, f[i].filter);
		cr_expect_geq(got, f[i].min, "%s: %d frames, %d at least", f[i].filter, got,
			      f[i].min);
	}
}

/* The "request" id and the data of the next diameter.request event on <c>. */
static json_t *next_request(struct sse_cli *c, const char *needle, char *id, size_t idlen)
{
	char data[16384];
	int rc = sse_next_event(c, "diameter.request", needle, data, sizeof(data), 8000);
	cr_assert_eq(rc, 0, "no diameter.request event (%s): %s", needle ? needle : "",
		     strerror(-rc));
	json_t *j = json_loads(data, 0, NULL);
	cr_assert(j, "event: %s", data);
	snprintf(id, idlen, "%s", json_string_value(json_object_get(j, "request")));
	return j;
}

/* POST /v1/diameter/requests <body> at <n> in a thread of its own: its status and answer. */
struct pending_post {
	pthread_t t;
	const struct dnode *n;
	const char *body;
	int status;
	json_t *ans;
};

static void *post_thread(void *arg)
{
	struct pending_post *pp = arg;
	int st = 0;
	char *b = NULL;
	if (http_request("127.0.0.1", pp->n->api, "POST", "/v1/diameter/requests", NULL, pp->body,
			 &st, NULL, &b, 20000) == 0) {
		pp->status = st;
		pp->ans = b ? json_loads(b, 0, NULL) : NULL;
	}
	free(b);
	return NULL;
}

static void post_start(struct pending_post *pp, const struct dnode *n, const char *body)
{
	memset(pp, 0, sizeof(*pp));
	pp->n = n;
	pp->body = body;
	cr_assert_eq(pthread_create(&pp->t, NULL, post_thread, pp), 0);
}

static void post_end(struct pending_post *pp)
{
	pthread_join(pp->t, NULL);
}

/* The value of AVP <name> at the top of the "avps" of <j>. */
static json_t *avp(json_t *j, const char *name)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(j, "avps"), i, a) {
		json_t *v = json_object_get(a, name);
		if (v)
			return v;
	}
	return NULL;
}

#define CCR_BODY DM_SAMPLE_CCR_API_JSON

Test(diameter_daemon, sh_and_ro_between_nodes_answers_timeouts_and_failover)
{
	start_node(&NB, "b.test.local", "", 1, NULL);
	start_node(&NC, "c.test.local", "", 1, NULL);
	char peers[256];
	snprintf(peers, sizeof(peers), "aaa://127.0.0.1:%d;realm=test.local,aaa://127.0.0.1:%d",
		 NB.dport, NC.dport);
	start_node(&NA, "a.test.local", peers, 0, NULL);
	cr_assert(wait_peer(&NA, "b.test.local", "open", 5000));
	cr_assert(wait_peer(&NA, "c.test.local", "open", 5000));
	cr_assert(wait_peer(&NB, "a.test.local", "open", 2000), "B lists A as accepted");
	struct sse_cli eb = { .fd = -1 }, ec = { .fd = -1 };
	cr_assert_eq(sse_open(&eb, "127.0.0.1", NB.api, NULL), 0);
	cr_assert_eq(sse_open(&ec, "127.0.0.1", NC.api, NULL), 0);
	cr_assert(sse_read_until(&eb, "retry:", 3000));
	cr_assert(sse_read_until(&ec, "retry:", 3000));

	/* Sh: A's UDR reaches B (the primary), B's application answers with User-Data */
	struct pending_post pp;
	char id[32], path[96];
	post_start(&pp, &NA, UDR_BODY);
	json_t *ev = next_request(&eb, "\"UDR\"", id, sizeof(id));
	cr_expect_str_eq(json_string_value(json_object_get(ev, "peer")), "a.test.local");
	cr_expect_str_eq(json_string_value(json_object_get(ev, "application")), "Sh");
	cr_expect_eq(json_is_false(json_object_get(ev, "retransmitted")), 1);
	json_t *ui = avp(ev, "User-Identity");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(ui, 0), "Public-Identity")),
			 "sip:alice@test.local");
	const char *sid = json_string_value(avp(ev, "Session-Id"));
	cr_assert(sid && !strncmp(sid, "a.test.local;", 13), "Session-Id: %s", sid ? sid : "none");
	char sid_copy[128];
	snprintf(sid_copy, sizeof(sid_copy), "%s", sid);
	json_decref(ev);
	snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer", id);
	int st = api(&NB, "POST", path, "{\"avps\":[{\"User-Data\":\"<Sh-Data><x/></Sh-Data>\"}]}",
		     NULL);
	cr_expect_eq(st, 204, "answer: %d", st);
	post_end(&pp);
	cr_assert_eq(pp.status, 200, "UDR at A: %d", pp.status);
	cr_expect_eq(json_integer_value(json_object_get(pp.ans, "result_code")), 2001);
	cr_expect_str_eq(json_string_value(json_object_get(pp.ans, "command")), "UDA");
	cr_expect_str_eq(json_string_value(avp(pp.ans, "User-Data")), "<Sh-Data><x/></Sh-Data>");
	cr_expect_str_eq(json_string_value(avp(pp.ans, "Session-Id")), sid_copy);
	cr_expect_str_eq(json_string_value(json_object_get(pp.ans, "peer")), "b.test.local");
	json_decref(pp.ans);
	st = api(&NB, "POST", path, "{}", NULL);
	cr_expect_eq(st, 404, "answered twice: %d", st);

	/* Sh's own outcome: an Experimental-Result (5001 USER_UNKNOWN), no Result-Code added;
	 * the Session-Id first; both outcomes at once are refused */
	post_start(&pp, &NA, UDR_BODY);
	ev = next_request(&eb, "\"UDR\"", id, sizeof(id));
	json_decref(ev);
	snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer", id);
	cr_expect_eq(api(&NB, "POST", path, "{\"result_code\":2001,\"avps\":[{\"Result-Code\":2001}]}",
			 NULL), 400);
	st = api(&NB, "POST", path,
		 "{\"avps\":[{\"Auth-Session-State\":\"NO_STATE_MAINTAINED\"},{\"Experimental-Result\":"
		 "[{\"Vendor-Id\":10415},{\"Experimental-Result-Code\":5001}]}]}", NULL);
	cr_expect_eq(st, 204);
	post_end(&pp);
	cr_assert_eq(pp.status, 200);
	cr_expect_eq(json_integer_value(json_object_get(pp.ans, "result_code")), 5001);
	cr_expect_null(avp(pp.ans, "Result-Code"), "no Result-Code beside the Experimental-Result");
	json_t *first = json_array_get(json_object_get(pp.ans, "avps"), 0);
	cr_expect(json_object_get(first, "Session-Id") != NULL, "the Session-Id first");
	json_decref(pp.ans);

	/* Ro: a CCR-Event, credit refused by the application (4012) */
	post_start(&pp, &NA, CCR_BODY);
	ev = next_request(&eb, "\"CCR\"", id, sizeof(id));
	cr_expect_str_eq(json_string_value(avp(ev, "CC-Request-Type")), "EVENT_REQUEST");
	json_decref(ev);
	snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer", id);
	st = api(&NB, "POST", path,
		 "{\"result_code\":4012,\"avps\":[{\"Auth-Application-Id\":4},"
		 "{\"CC-Request-Type\":\"EVENT_REQUEST\"},{\"CC-Request-Number\":0}]}", NULL);
	cr_expect_eq(st, 204);
	post_end(&pp);
	cr_assert_eq(pp.status, 200);
	cr_expect_eq(json_integer_value(json_object_get(pp.ans, "result_code")), 4012);
	cr_expect_str_eq(json_string_value(json_object_get(pp.ans, "command")), "CCA");
	json_decref(pp.ans);

	/* nobody answers at B: B answers 5012 for it after diameter.answer_timeout */
	post_start(&pp, &NA, UDR_BODY);
	ev = next_request(&eb, "\"UDR\"", id, sizeof(id));
	json_decref(ev);
	post_end(&pp);
	cr_assert_eq(pp.status, 200);
	cr_expect_eq(json_integer_value(json_object_get(pp.ans, "result_code")), 5012);
	json_decref(pp.ans);
	snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer", id);
	cr_expect_eq(api(&NB, "POST", path, "{}", NULL), 404, "too late");

	/* an application no peer advertised (Cx): nowhere to send it */
	st = api(&NA, "POST", "/v1/diameter/requests",
		 "{\"application\":\"Cx\",\"command\":\"UAR\",\"avps\":[{\"Auth-Session-State\":1}]}",
		 NULL);
	cr_expect_eq(st, 503, "Cx: %d", st);

	/* by command and result: A's three UDRs and a CCR, B's answers 2001, an Experimental-
	 * Result, 4012 and 5012 (the watchdog's DWR/DWA come and go: not counted here) */
	const char *rq = "rcsgw_diameter_requests_total", *an = "rcsgw_diameter_answers_total";
	const char *res = "rcsgw_diameter_answer_results_total";
	cr_expect_eq(metric_where(&NA, rq, "direction=\"out\",command=\"User-Data\""), 3);
	cr_expect_eq(metric_where(&NA, rq, "direction=\"out\",command=\"Credit-Control\""), 1);
	cr_expect_eq(metric_where(&NA, rq, "direction=\"out\",command=\"Capabilities-Exchange\""),
		     2, "a CER to B and to C");
	cr_expect_eq(metric_where(&NA, an, "direction=\"in\",command=\"User-Data\""), 3);
	cr_expect_eq(metric_where(&NA, res, "direction=\"in\",result=\"experimental\""), 1);
	cr_expect_eq(metric_where(&NA, res, "direction=\"in\",result=\"4xxx\""), 1);
	cr_expect_eq(metric_where(&NA, res, "direction=\"in\",result=\"5xxx\""), 1);
	cr_expect_geq(metric_where(&NA, res, "direction=\"in\",result=\"2xxx\""), 3,
		      "the UDA and both CEAs");
	cr_expect_eq(metric_where(&NB, rq, "direction=\"in\",command=\"User-Data\""), 3);
	cr_expect_eq(metric_where(&NB, an, "direction=\"out\",command=\"Credit-Control\""), 1);
	cr_expect_eq(metric_where(&NB, res, "direction=\"out\",result=\"5xxx\""), 1, "the 5012");
	cr_expect_eq(metric(&NA, "rcsgw_diameter_request_duration_seconds_count"), 4);
	cr_expect_eq(metric(&NB, "rcsgw_diameter_request_duration_seconds_count"), 0);

	/* B goes silent: suspect after a Tw without its DWA, the request waiting on it goes
	 * to C with the T flag; B back: open again, the primary again */
	kill(NB.pid, SIGSTOP);
	post_start(&pp, &NA, UDR_BODY);
	ev = next_request(&ec, "\"UDR\"", id, sizeof(id));
	cr_expect_eq(json_is_true(json_object_get(ev, "retransmitted")), 1, "the T flag");
	json_decref(ev);
	snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer", id);
	cr_expect_eq(api(&NC, "POST", path, "{\"avps\":[{\"User-Data\":\"from-c\"}]}", NULL), 204);
	post_end(&pp);
	cr_assert_eq(pp.status, 200);
	cr_expect_str_eq(json_string_value(json_object_get(pp.ans, "peer")), "c.test.local");
	cr_expect_eq(json_is_true(json_object_get(pp.ans, "retransmitted")), 0);
	json_decref(pp.ans);
	char s[32];
	peer_state(&NA, "b.test.local", s, sizeof(s));
	cr_expect(!strcmp(s, "suspect") || !strcmp(s, "down") || !strcmp(s, "connecting") ||
		  !strcmp(s, "wait_cea"), "B: %s", s);
	kill(NB.pid, SIGCONT);
	cr_expect(wait_peer(&NA, "b.test.local", "open", 6000), "B back");
	/* (B may take the request it held while stopped: a Session-Id of ours tells ours) */
	post_start(&pp, &NA,
		   "{\"application\":\"Sh\",\"command\":\"UDR\",\"avps\":["
		   "{\"Session-Id\":\"a.test.local;failback;1\"},"
		   "{\"User-Identity\":[{\"Public-Identity\":\"sip:alice@test.local\"}]},"
		   "{\"Data-Reference\":\"RepositoryData\"}]}");
	ev = next_request(&eb, "failback", id, sizeof(id));
	json_decref(ev);
	snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer", id);
	cr_expect_eq(api(&NB, "POST", path, "{}", NULL), 204);
	post_end(&pp);
	cr_expect_eq(pp.status, 200);
	cr_expect_str_eq(json_string_value(json_object_get(pp.ans, "peer")), "b.test.local",
			 "failback to the primary");
	cr_expect_str_eq(json_string_value(avp(pp.ans, "Session-Id")), "a.test.local;failback;1");
	json_decref(pp.ans);

	/* the counters say it */
	cr_expect_eq(metric(&NA, "rcsgw_diameter_failovers_total"), 1);
	cr_expect_eq(metric(&NA, "rcsgw_diameter_peers_open"), 2);
	cr_expect_eq(metric(&NB, "rcsgw_diameter_unanswered_total"), 1);
	cr_expect_geq(metric(&NB, "rcsgw_diameter_answers_out_total"), 4);
	/* no other peer (C gone): a suspect B keeps the request waiting on it, and its answer,
	 * when B speaks again, is the one A gets — no second copy with the T flag */
	stop_node(&NC);
	for (int i = 0; i < 30; i++) {
		char cs[32];
		peer_state(&NA, "c.test.local", cs, sizeof(cs));
		if (strcmp(cs, "open"))
			break;
		usleep(100 * 1000);
	}
	kill(NB.pid, SIGSTOP);
	post_start(&pp, &NA,
		   "{\"application\":\"Sh\",\"command\":\"UDR\",\"timeout_ms\":15000,\"avps\":["
		   "{\"Session-Id\":\"a.test.local;held;1\"},"
		   "{\"User-Identity\":[{\"Public-Identity\":\"sip:alice@test.local\"}]},"
		   "{\"Data-Reference\":\"RepositoryData\"}]}");
	cr_expect(wait_peer(&NA, "b.test.local", "suspect", 5000), "B suspect");
	kill(NB.pid, SIGCONT);
	ev = next_request(&eb, "held", id, sizeof(id));
	cr_expect_eq(json_is_false(json_object_get(ev, "retransmitted")), 1, "the original");
	json_decref(ev);
	snprintf(path, sizeof(path), "/v1/diameter/requests/%s/answer", id);
	cr_expect_eq(api(&NB, "POST", path, "{\"avps\":[{\"User-Data\":\"held\"}]}", NULL), 204);
	post_end(&pp);
	cr_expect_eq(pp.status, 200, "the held request: %d", pp.status);
	cr_expect_str_eq(json_string_value(avp(pp.ans, "User-Data")), "held");
	json_decref(pp.ans);
	char extra[4096];
	cr_expect_eq(sse_next_event(&eb, "diameter.request", "held", extra, sizeof(extra), 800),
		     -ETIMEDOUT, "a second copy reached B: %s", extra);
	cr_expect_eq(metric(&NA, "rcsgw_diameter_failovers_total"), 1);
	sse_close(&eb);
	sse_close(&ec);

	/* A stops: B and C hear its DPR (the accepted peer goes) */
	cr_expect_eq(rcsgw_stop(NA.pid, SIGTERM, 8000), 0);
	NA.pid = -1;
	char sb[32] = "?";
	for (int i = 0; i < 20 && sb[0]; i++) {
		peer_state(&NB, "a.test.local", sb, sizeof(sb));
		if (sb[0])
			usleep(100 * 1000);
	}
	cr_expect_str_eq(sb, "", "B still lists A: %s", sb);
}

Test(diameter_daemon, an_unknown_peer_is_refused)
{
	start_node(&NB, "b.test.local", "", 1, "RCSGW_LOG_LEVEL=error");
	char peers[128];
	snprintf(peers, sizeof(peers), "aaa://127.0.0.1:%d", NB.dport);
	/* other.example: not in diameter.accept (*.test.local): B answers its CER 3010 */
	start_node(&NA, "a.other.example", peers, 0, "RCSGW_LOG_LEVEL=error");
	for (int i = 0; i < 30 && (metric(&NB, "rcsgw_diameter_connect_failures_total") < 2 ||
				   metric(&NA, "rcsgw_diameter_connect_failures_total") < 2); i++)
		usleep(100 * 1000);
	cr_expect_geq(metric(&NB, "rcsgw_diameter_connect_failures_total"), 2,
		      "B refused A's connections");
	cr_expect_geq(metric(&NA, "rcsgw_diameter_connect_failures_total"), 2,
		      "A was refused, and tried again");
	cr_expect_eq(metric(&NA, "rcsgw_diameter_connects_total"), 0);
	cr_expect_eq(metric(&NB, "rcsgw_diameter_connects_total"), 0);
	char s[32];
	peer_state(&NA, "127.0.0.1", s, sizeof(s));
	cr_expect_str_neq(s, "open");
	cr_expect_str_neq(s, "");
}

/* diameter.max_pending: requests of ours waiting beyond it are refused at once (503). */
Test(diameter_daemon, requests_beyond_max_pending_are_503)
{
	start_node(&NB, "b.test.local", "", 1, NULL); /* nobody answers there: 5012 at 1.5 s */
	char peers[128];
	snprintf(peers, sizeof(peers), "aaa://127.0.0.1:%d;realm=test.local", NB.dport);
	start_node(&NA, "a.test.local", peers, 0, "RCSGW_DIAMETER_MAX_PENDING=1");
	cr_assert(wait_peer(&NA, "b.test.local", "open", 5000));
	struct pending_post pp;
	post_start(&pp, &NA, UDR_BODY);
	json_t *j = NULL;
	int st = 0;
	for (int i = 0; i < 20 && st != 503; i++) { /* once the first is on its way */
		usleep(50 * 1000);
		json_decref(j);
		j = NULL;
		st = api(&NA, "POST", "/v1/diameter/requests", UDR_BODY, &j);
	}
	cr_expect_eq(st, 503, "a second request: %d", st);
	cr_expect_geq(metric_where(&NA, "rcsgw_limit_hits_total", "limit=\"diameter.max_pending\""),
		      1);
	cr_expect(strstr(json_string_value(json_object_get(json_object_get(j, "error"),
							    "message")) ?: "", "max_pending"));
	json_decref(j);
	post_end(&pp);
	cr_expect_eq(pp.status, 200);
	cr_expect_eq(json_integer_value(json_object_get(pp.ans, "result_code")), 5012);
	json_decref(pp.ans);
	st = api(&NA, "POST", "/v1/diameter/requests", UDR_BODY, NULL);
	cr_expect_eq(st, 200, "room again: %d", st);
}
