/* test_cc.c — the contact centre in the daemon (issue 10), chats end to end:
 *
 *   node C  rcsgw with cc.enabled: flows and agents made through its API;
 *   node P  a plain rcsgw, "the phones": its REST sessions are the customers (INVITEs to a
 *           flow's uri at C) and its incoming sessions are the agents' chat locations
 *           (sip:<agent>@P), answered, refused or left ringing by the test.
 *
 * Checked: a chat reaches an agent and messages cross both ways (what the customer says
 * before the agent answers is held and delivered), either side ending ends both; balancing
 * spreads chats across agents and full-load fills one first; an agent who does not answer
 * (refuses, or lets it ring past cc.offer_timeout) is passed over; an agent who logs out
 * mid-chat hands it back and the next agent gets it with the customer still there; a
 * customer who hangs up while queued is abandoned; external dispatch offers only when the
 * API says so; the API's errors; every agent free and the counters adding up afterwards.
 * Calls (sipp as the caller and as the agents' phones): 182 Queued, the agent that does not
 * answer passed over, each side's SDP reaching the other unchanged, the BYE across; a
 * caller giving up while queued.
 * Run with --jobs 1. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/sipp.h"
#include "tests/lib/sse.h"
#include "tests/lib/wait.h"

#define HOST "127.0.0.1"

struct node {
	pid_t pid;
	int api, sip, msrp;
	struct sse_cli sse;
};

static struct node C = { .pid = -1 }, P = { .pid = -1 };

/* Agent legs already seen ringing (each is returned once by ringing()). */
static char legs_seen[64][40];
static unsigned nlegs_seen;


static void stop_node(struct node *n)
{
	sse_close(&n->sse);
	if (n->pid > 0)
		cr_expect_eq(rcsgw_stop(n->pid, SIGTERM, 10000), 0, "rcsgw did not stop cleanly");
	n->pid = -1;
}

static void start_node(struct node *n, int cc, const char *const *extra)
{
	static char e[3][128];
	n->api = free_tcp_port();
	n->sip = free_tcp_port();
	n->msrp = free_tcp_port();
	snprintf(e[0], sizeof(e[0]), "RCSGW_API_LISTEN=" HOST ":%d", n->api);
	snprintf(e[1], sizeof(e[1]), "RCSGW_SIP_LISTEN=udp:" HOST ":%d,tcp:" HOST ":%d", n->sip,
		 n->sip);
	snprintf(e[2], sizeof(e[2]), "RCSGW_MSRP_LISTEN=" HOST ":%d", n->msrp);
	const char *env[24] = { e[0], e[1], e[2], "RCSGW_ENGINE_WORKERS=2",
				"RCSGW_ENGINE_PIN=false", "RCSGW_LOG_LEVEL=warn",
				"RCSGW_UA_INVITE_TIMEOUT=10s", "RCSGW_ENGINE_DRAIN_TIMEOUT=300ms",
				cc ? "RCSGW_CC_ENABLED=true" : "RCSGW_CC_ENABLED=false" };
	unsigned k = 9;
	for (unsigned i = 0; extra && extra[i] && k < 23; i++)
		env[k++] = extra[i];
	n->pid = rcsgw_spawn(env, NULL, NULL);
	cr_assert(n->pid > 0);
	cr_assert_eq(wait_port(HOST, n->api, 5000), 0, "the API does not listen");
	cr_assert_eq(sse_open(&n->sse, HOST, n->api, NULL), 0);
	cr_assert_eq(sse_read_until(&n->sse, "\n\n", 3000), 1, "no event stream");
}

/* The two nodes; <extra> for the centre. */
static void up_with(const char *const *extra)
{
	nlegs_seen = 0;
	start_node(&P, 0, NULL);
	start_node(&C, 1, extra);
}

static void up(void)
{
	static const char *const extra[] = { "RCSGW_CC_OFFER_TIMEOUT=1500ms", NULL };
	up_with(extra);
}

static void down(void)
{
	stop_node(&C);
	stop_node(&P);
}

TestSuite(cc, .fini = down, .timeout = 90);

/* ---- helpers ---------------------------------------------------------------------------- */

static int api(struct node *n, const char *method, const char *path, const char *body,
	       json_t **out)
{
	int st = 0;
	char *b = NULL;
	int rc = http_request(HOST, n->api, method, path, NULL, body, &st, NULL, &b, 10000);
	cr_assert_eq(rc, 0, "%s %s: %s", method, path, strerror(-rc));
	if (out) {
		*out = b && *b ? json_loads(b, 0, NULL) : NULL;
		cr_assert(!*b || *out, "%s %s: not JSON: %s", method, path, b);
	}
	free(b);
	return st;
}

/* api() expecting <want>; the body dropped. */
static void call(struct node *n, int want, const char *method, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void call(struct node *n, int want, const char *method, const char *path,
		 const char *fmt, ...)
{
	char body[2048];
	json_t *j = NULL;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(body, sizeof(body), fmt, ap);
		va_end(ap);
	}
	int st = api(n, method, path, fmt ? body : NULL, &j);
	char *dump = j ? json_dumps(j, 0) : NULL;
	cr_assert_eq(st, want, "%s %s: %d, not %d: %s", method, path, st, want,
		     dump ? dump : "");
	free(dump);
	json_decref(j);
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The next event <type> of <n> whose data holds <needle> (NULL: any), as JSON. */
static json_t *event(struct node *n, const char *type, const char *needle, int ms)
{
	static char data[65536];
	int rc = sse_next_event(&n->sse, type, needle, data, sizeof(data), ms);
	size_t from = n->sse.len > 4000 ? n->sse.len - 4000 : 0;
	cr_assert_eq(rc, 0, "no %s event (%s) within %d ms; the stream's end (cursor %zu of %zu):\n%s",
		     type, needle ? needle : "-", ms, n->sse.cursor, n->sse.len, n->sse.buf + from);
	json_t *j = json_loads(data, 0, NULL);
	cr_assert_not_null(j);
	return j;
}

/* No event <type> holding <needle> at <n> within <ms> (the cursor stays). */
static void no_event(struct node *n, const char *type, const char *needle, int ms)
{
	char data[8192];
	size_t cur = n->sse.cursor;
	int rc = sse_next_event(&n->sse, type, needle, data, sizeof(data), ms);
	cr_assert_neq(rc, 0, "unexpected %s event: %s", type, data);
	n->sse.cursor = cur;
}

static void flow(const char *id, const char *extra)
{
	call(&C, 201, "POST", "/v1/cc/flows",
	     "{\"id\":\"%s\",\"skill\":\"en\",\"uri\":\"sip:%s@" HOST "\"%s}", id, id,
	     extra ? extra : "");
}

static void agent(const char *id, const char *extra)
{
	char path[128];
	call(&C, 201, "POST", "/v1/cc/agents",
	     "{\"id\":\"%s\",\"skills\":[\"en\"],\"chat_location\":\"sip:%s@" HOST ":%d\"%s}", id,
	     id, P.sip, extra ? extra : "");
	snprintf(path, sizeof(path), "/v1/cc/agents/%s/login", id);
	call(&C, 200, "POST", path, NULL);
}

/* A customer <who> opens a chat to flow <f>: its session id at P (established) into <id>. */
static void customer(const char *who, const char *f, char *id)
{
	json_t *j = NULL;
	char body[256], needle[96];
	snprintf(body, sizeof(body),
		 "{\"from\":\"sip:%s@" HOST "\",\"to\":\"sip:%s@" HOST ":%d\"}", who, f, C.sip);
	cr_assert_eq(api(&P, "POST", "/v1/sessions", body, &j), 201);
	snprintf(id, 64, "%s", jstr(j, "id"));
	json_decref(j);
	snprintf(needle, sizeof(needle), "\"session_id\":\"%s\"", id);
	json_decref(event(&P, "session.established", needle, 5000));
}

/* Agent <a>'s next chat leg rings at P: its session id into <id>. (Looked for from the start
 * of the stream: it may have come before an event the cursor is past.) */
static void ringing(const char *a, char *id, int ms)
{
	char needle[96];
	snprintf(needle, sizeof(needle), "\"to\":\"sip:%s@" HOST ":%d\"", a, P.sip);
	size_t cur = P.sse.cursor;
	P.sse.cursor = 0;
	for (;;) {
		json_t *ev = event(&P, "session.incoming", needle, ms);
		snprintf(id, 40, "%s", jstr(ev, "session_id"));
		json_decref(ev);
		unsigned i = 0;
		while (i < nlegs_seen && strcmp(legs_seen[i], id))
			i++;
		if (i == nlegs_seen)
			break;
	}
	cr_assert_lt(nlegs_seen, 64);
	snprintf(legs_seen[nlegs_seen++], 40, "%s", id);
	P.sse.cursor = cur;
}

/* Agent <a> answers its ringing leg: up at P. Its id into <id>. */
static void answers(const char *a, char *id)
{
	char path[128], needle[96];
	ringing(a, id, 5000);
	snprintf(path, sizeof(path), "/v1/sessions/%s/answer", id);
	call(&P, 200, "POST", path, "{}");
	snprintf(needle, sizeof(needle), "\"session_id\":\"%s\"", id);
	json_decref(event(&P, "session.established", needle, 5000));
}

static void say(const char *sess, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s/messages", sess);
	call(&P, 202, "POST", path, "{\"content_type\":\"text/plain\",\"body\":\"%s\"}", text);
}

/* Session <sess> at P receives a message holding <text>. */
static void hears(const char *sess, const char *text)
{
	char needle[128];
	snprintf(needle, sizeof(needle), "\"session_id\":\"%s\"", sess);
	size_t cur = P.sse.cursor;
	P.sse.cursor = 0; /* (it may have come before the event the cursor is past) */
	for (;;) {
		json_t *ev = event(&P, "message.received", needle, 5000);
		char *d = json_dumps(ev, 0);
		int hit = d && strstr(d, text);
		free(d);
		json_decref(ev);
		if (hit)
			break;
	}
	P.sse.cursor = cur; /* other sessions' events stay readable */
}

static void ended(const char *sess)
{
	char needle[96];
	snprintf(needle, sizeof(needle), "\"session_id\":\"%s\"", sess);
	size_t cur = P.sse.cursor;
	P.sse.cursor = 0;
	json_decref(event(&P, "session.ended", needle, 5000));
	P.sse.cursor = cur;
}

static void end_session(const char *sess)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s", sess);
	int st = api(&P, "DELETE", path, NULL, NULL);
	cr_assert(st == 200 || st == 202 || st == 204, "DELETE %s: %d", path, st);
}

/* Agent <a>'s state and chats count. */
static void agent_is(const char *a, const char *state, int chats)
{
	char path[128];
	json_t *j = NULL;
	snprintf(path, sizeof(path), "/v1/cc/agents/%s", a);
	const char *st = "";
	int n = -1;
	for (int i = 0; i < 100; i++) { /* (home hears of the legs through the mailboxes) */
		json_decref(j);
		cr_assert_eq(api(&C, "GET", path, NULL, &j), 200);
		st = jstr(j, "state");
		n = (int)json_integer_value(json_object_get(j, "chats"));
		if (!strcmp(st, state) && n == chats)
			break;
		usleep(20000);
	}
	cr_expect_str_eq(st, state, "agent %s", a);
	cr_expect_eq(n, chats, "agent %s: %d chats, not %d", a, n, chats);
	json_decref(j);
}

static long metric(const char *name)
{
	return (long)http_metric_sum(C.api, NULL, name);
}

/* rcsgw_cc_<name> at C, once it equals <want> (the per-flow and per-agent ones come from a
 * snapshot at most CC_SVC_SNAP_MS old); its last value. */
static long metric_settles(const char *name, long want, int ms)
{
	long v = -1;
	for (int i = 0; i < ms / 50; i++) {
		if ((v = metric(name)) == want)
			break;
		usleep(50000);
	}
	return v;
}

/* sipp <p> ended well (else its logs in <dir> reported, as <who>'s). */
static void sipp_ok(pid_t p, const char *dir, const char *who)
{
	int rc = sipp_wait(p, 15000);
	if (rc)
		sipp_log_report(dir, who);
	cr_expect_eq(rc, 0, "%s: sipp exited %d", who, rc);
}

/* ---- tests ------------------------------------------------------------------------------ */

Test(cc, a_chat_reaches_an_agent_and_messages_cross_both_ways)
{
	char cust[64], leg[64];
	up();
	flow("support", ",\"queued_text\":\"Please wait for an agent\"");
	customer("alice", "support", cust);
	hears(cust, "Please wait for an agent");
	json_t *qev = event(&C, "cc.queued", "\"customer\":\"sip:alice@", 3000);
	char csess[64]; /* the customer's session at the centre */
	snprintf(csess, sizeof(csess), "%s", jstr(qev, "session"));
	json_decref(qev);
	cr_assert(csess[0], "cc.queued names the customer's session");
	/* nobody yet: it waits */
	json_t *q = NULL;
	cr_assert_eq(api(&C, "GET", "/v1/cc/queue", NULL, &q), 200);
	json_t *items = json_object_get(q, "items");
	cr_assert_eq(json_array_size(items), 1);
	cr_expect_str_eq(jstr(json_array_get(items, 0), "flow"), "support");
	cr_expect(strlen(jstr(json_array_get(items, 0), "session")) > 0);
	json_decref(q);
	say(cust, "hello, anyone there?"); /* held for the agent */
	agent("a1", NULL);
	json_t *ev = event(&C, "cc.dispatched", "\"agent\":\"a1\"", 3000);
	cr_expect(strlen(jstr(ev, "session")) > 0, "cc.dispatched names the customer's session");
	json_decref(ev);
	answers("a1", leg);
	hears(leg, "hello, anyone there?");
	agent_is("a1", "inchat", 1);
	/* cc.agent says the agent's state and its chats, with their sessions */
	json_t *aev = event(&C, "cc.agent", "\"state\":\"inchat\"", 3000);
	cr_expect_str_eq(jstr(aev, "agent"), "a1");
	json_t *it0 = json_array_get(json_object_get(aev, "items"), 0);
	cr_expect_str_eq(jstr(it0, "session"), csess);
	cr_expect_str_eq(jstr(it0, "flow"), "support");
	json_decref(aev);
	say(leg, "Hi Alice, how can I help?");
	hears(cust, "Hi Alice, how can I help?");
	say(cust, "my phone is broken");
	hears(leg, "my phone is broken");
	/* the customer ends: the agent's leg ends too, the agent is free again */
	end_session(cust);
	ended(leg);
	agent_is("a1", "free", 0);
	cr_expect_eq(metric("rcsgw_cc_queued_total"), 1);
	cr_expect_eq(metric("rcsgw_cc_answered_total"), 1);
	cr_expect_eq(metric("rcsgw_cc_ended_total"), 1);
	cr_expect_eq(metric("rcsgw_cc_waiting"), 0);
	cr_expect_eq(metric("rcsgw_cc_held_total"), 1);
	cr_expect_geq(metric("rcsgw_cc_forwarded_total"), 3);
}

Test(cc, the_agent_ending_ends_the_customers_session)
{
	char cust[64], leg[64];
	up();
	flow("support", NULL);
	agent("a1", ",\"wrapup_s\":1");
	customer("bob", "support", cust);
	answers("a1", leg);
	end_session(leg);
	ended(cust);
	agent_is("a1", "wrapup", 0); /* a second of wrap-up, then free */
	agent_is("a1", "free", 0);
}

/* Two chats for two agents of two slots each: balancing gives one each, full-load both to
 * one agent. */
static void two_chats(const char *policy, int same)
{
	char c1[64], c2[64], l1[64], l2[64], fl[96];
	up();
	snprintf(fl, sizeof(fl), ",\"chat_dispatch_policy\":\"%s\"", policy);
	flow("sales", fl);
	agent("a1", ",\"max_chats\":2");
	agent("a2", ",\"max_chats\":2");
	customer("c1", "sales", c1);
	json_t *ev = event(&C, "cc.dispatched", NULL, 3000);
	char first[64];
	snprintf(first, sizeof(first), "%s", jstr(ev, "agent"));
	json_decref(ev);
	answers(first, l1);
	agent_is(first, "inchat", 1);
	customer("c2", "sales", c2);
	ev = event(&C, "cc.dispatched", NULL, 3000);
	char second[64];
	snprintf(second, sizeof(second), "%s", jstr(ev, "agent"));
	json_decref(ev);
	if (same)
		cr_expect_str_eq(second, first, "full-load fills %s first", first);
	else
		cr_expect_str_neq(second, first, "balancing spreads");
	answers(second, l2);
	agent_is(first, "inchat", same ? 2 : 1);
	say(c2, "second chat");
	hears(l2, "second chat");
	end_session(c1);
	end_session(c2);
	ended(l1);
	ended(l2);
	agent_is("a1", "free", 0);
	agent_is("a2", "free", 0);
}

Test(cc, balancing_spreads_chats_across_agents) { two_chats("balancing", 0); }
Test(cc, full_load_fills_an_agent_first) { two_chats("full-load", 1); }

/* Who item offers go to, from the next cc.dispatched event at C. */
static void dispatched(char *agent_out, int ms)
{
	json_t *ev = event(&C, "cc.dispatched", NULL, ms);
	snprintf(agent_out, 64, "%s", jstr(ev, "agent"));
	json_decref(ev);
}

Test(cc, an_agent_who_does_not_answer_is_passed_over)
{
	char cust[64], leg[64], path[128], first[64], next[64], third[64];
	up();
	flow("support", NULL);
	agent("a1", NULL);
	agent("a2", NULL);
	agent("a3", NULL);
	customer("carol", "support", cust);
	dispatched(first, 3000);
	/* the first refuses (486): the centre offers it to the next one at once */
	ringing(first, leg, 5000);
	snprintf(path, sizeof(path), "/v1/sessions/%s/reject", leg);
	call(&P, 200, "POST", path, "{\"code\":486}");
	dispatched(next, 3000);
	cr_expect_str_neq(next, first);
	/* that one lets it ring past cc.offer_timeout (1.5 s): the third gets it */
	ringing(next, leg, 5000);
	dispatched(third, 5000);
	cr_expect(strcmp(third, first) && strcmp(third, next), "the third agent: %s", third);
	answers(third, leg);
	say(cust, "finally");
	hears(leg, "finally");
	cr_expect_eq(metric("rcsgw_cc_refused_total"), 2);
	cr_expect_eq(metric("rcsgw_cc_legs_timed_out_total"), 1);
	char apath[96];
	snprintf(apath, sizeof(apath), "/v1/cc/agents/%s", first);
	json_t *a = NULL;
	cr_assert_eq(api(&C, "GET", apath, NULL, &a), 200);
	cr_expect_eq(json_integer_value(json_object_get(a, "refused")), 1);
	json_decref(a);
	end_session(cust);
	ended(leg);
	agent_is(third, "free", 0);
}

Test(cc, external_dispatch_offers_only_what_the_application_says)
{
	char cust[64], leg[64], path[128];
	up();
	flow("support", ",\"dispatch\":\"external\"");
	agent("a1", NULL);
	agent("a2", NULL);
	customer("carol", "support", cust);
	json_t *ev = event(&C, "cc.queued", NULL, 3000);
	long long item = json_integer_value(json_object_get(ev, "item"));
	json_decref(ev);
	no_event(&C, "cc.dispatched", NULL, 500); /* free agents, yet nothing offered */
	snprintf(path, sizeof(path), "/v1/cc/queue/%lld/dispatch", item);
	call(&C, 404, "POST", path, "{\"agent\":\"nobody\"}");
	call(&C, 202, "POST", path, "{\"agent\":\"a1\"}");
	json_decref(event(&C, "cc.dispatched", "\"agent\":\"a1\"", 3000));
	call(&C, 409, "POST", path, "{\"agent\":\"a2\"}"); /* offered: not waiting now */
	/* a1 refuses: back in the queue, offered to nobody until the application says */
	ringing("a1", leg, 5000);
	snprintf(path, sizeof(path), "/v1/sessions/%s/reject", leg);
	call(&P, 200, "POST", path, "{\"code\":486}");
	no_event(&C, "cc.dispatched", NULL, 700);
	json_t *q = NULL;
	cr_assert_eq(api(&C, "GET", "/v1/cc/queue", NULL, &q), 200);
	cr_expect_eq(json_array_size(json_object_get(q, "items")), 1);
	json_decref(q);
	snprintf(path, sizeof(path), "/v1/cc/queue/%lld/dispatch", item);
	call(&C, 202, "POST", path, "{\"agent\":\"a2\"}");
	answers("a2", leg);
	say(cust, "hello a2");
	hears(leg, "hello a2");
	end_session(leg);
	ended(cust);
	agent_is("a2", "free", 0);
}

/* An agent whose leg cannot even be made (a transport rcsgw has not) refuses every offer at
 * once: a new round of offers waits CC_ROUND_PAUSE_MS (2 s), no loop. */
Test(cc, an_agent_refusing_at_once_is_not_offered_in_a_loop)
{
	char cust[64];
	up();
	flow("loop", NULL);
	call(&C, 201, "POST", "/v1/cc/agents",
	     "{\"id\":\"bad\",\"skills\":[\"en\"],\"chat_location\":"
	     "\"sip:bad@127.0.0.1;transport=sctp\"}");
	call(&C, 200, "POST", "/v1/cc/agents/bad/login", NULL);
	customer("zed", "loop", cust);
	usleep(2500000);
	long d = metric("rcsgw_cc_dispatched_total");
	cr_expect(d >= 2 && d <= 3, "offers in 2.5 s: %ld (one per round, a round every 2 s)", d);
	end_session(cust);
	json_decref(event(&C, "cc.abandoned", NULL, 3000));
	agent_is("bad", "free", 0);
}

/* The customer hangs up while its agent's leg rings: the leg is cancelled, the agent free;
 * an agent who logs out while its leg rings and logs in again gets the chat anew. */
Test(cc, legs_ringing_when_the_customer_goes_or_the_agent_logs_out)
{
	char c1[64], c2[64], leg[64];
	up();
	flow("sales", NULL);
	agent("a1", NULL);
	customer("ann", "sales", c1);
	say(c1, "held");
	ringing("a1", leg, 5000);
	end_session(c1);
	ended(c1);
	agent_is("a1", "free", 0);
	customer("bob", "sales", c2);
	ringing("a1", leg, 5000);
	call(&C, 200, "POST", "/v1/cc/agents/a1/logout", NULL);
	call(&C, 200, "POST", "/v1/cc/agents/a1/login", NULL);
	answers("a1", leg);
	say(c2, "after logging in again");
	hears(leg, "after logging in again");
	agent_is("a1", "inchat", 1);
	end_session(c2);
	agent_is("a1", "free", 0);
}

/* A flow deleted while one chat is bridged and one waits: the waiting one ends; the centre
 * stopped with the bridged one live exits cleanly. */
Test(cc, a_flow_deleted_and_the_centre_stopped_with_live_chats)
{
	char c1[64], c2[64], leg[64];
	up();
	flow("sales", NULL);
	agent("a1", ",\"max_chats\":1");
	customer("ann", "sales", c1);
	answers("a1", leg);
	say(c1, "hello");
	hears(leg, "hello");
	customer("bob", "sales", c2); /* waits: a1 is full */
	say(c2, "waiting 1");
	call(&C, 204, "DELETE", "/v1/cc/flows/sales", NULL);
	json_t *ev = event(&C, "cc.abandoned", NULL, 3000);
	cr_expect_str_eq(jstr(ev, "reason"), "flow_deleted");
	json_decref(ev);
	ended(c2);
	cr_expect_eq(rcsgw_stop(C.pid, SIGTERM, 10000), 0, "the centre did not stop cleanly");
	C.pid = -1;
	sse_close(&C.sse);
}

Test(cc, an_agent_logging_out_mid_chat_hands_it_to_the_next)
{
	char cust[64], l1[64], l2[64];
	up();
	flow("support", NULL);
	agent("a1", NULL);
	customer("dave", "support", cust);
	answers("a1", l1);
	say(cust, "first words");
	hears(l1, "first words");
	call(&C, 200, "POST", "/v1/cc/agents/a1/logout", NULL);
	ended(l1); /* a1's leg goes, the customer stays */
	agent_is("a1", "offline", 0);
	json_t *q = NULL;
	cr_assert_eq(api(&C, "GET", "/v1/cc/queue", NULL, &q), 200);
	cr_expect_eq(json_array_size(json_object_get(q, "items")), 1, "the chat waits again");
	json_decref(q);
	say(cust, "hello? still there?"); /* held again */
	agent("a2", NULL);
	answers("a2", l2);
	hears(l2, "hello? still there?");
	say(l2, "a2 here");
	hears(cust, "a2 here");
	end_session(cust);
	ended(l2);
	agent_is("a2", "free", 0);
}

Test(cc, a_customer_who_hangs_up_while_queued_is_abandoned)
{
	char cust[64];
	up();
	flow("support", NULL);
	customer("erin", "support", cust);
	json_decref(event(&C, "cc.queued", NULL, 3000));
	end_session(cust);
	json_t *ev = event(&C, "cc.abandoned", NULL, 3000);
	cr_expect_str_eq(jstr(ev, "reason"), "customer_gone");
	json_decref(ev);
	json_t *q = NULL;
	cr_assert_eq(api(&C, "GET", "/v1/cc/queue", NULL, &q), 200);
	cr_expect_eq(json_array_size(json_object_get(q, "items")), 0);
	json_decref(q);
	cr_expect_eq(metric("rcsgw_cc_abandoned_total"), 1);
	/* an agent logging in later gets nothing */
	agent("a1", NULL);
	no_event(&P, "session.incoming", NULL, 500);
}

Test(cc, a_chat_to_no_flow_is_the_applications)
{
	up();
	flow("support", NULL);
	json_t *j = NULL;
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"from\":\"sip:frank@" HOST "\",\"to\":\"sip:someone@" HOST ":%d\"}", C.sip);
	cr_assert_eq(api(&P, "POST", "/v1/sessions", body, &j), 201);
	json_decref(j);
	json_decref(event(&C, "session.incoming", "\"to\":\"sip:someone@", 5000));
	no_event(&C, "cc.queued", NULL, 300);
}

/* A page-mode (SMS-like) customer: its MESSAGE to the flow's address is taken by the centre
 * node's gateway (gateway.rules), whose MSRP session to that address is the chat the centre
 * queues; the agent's answer comes back to the customer as a MESSAGE. */
Test(cc, a_page_mode_customer_reaches_an_agent_through_the_gateway)
{
	char leg[64], dir_page[256], dir_client[256];
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
	int page = sipp_free_port();
	static const char *const cextra[] = { "RCSGW_GATEWAY_ENABLED=true",
					      "RCSGW_GATEWAY_RULES=prefix:sip:support@", NULL };
	nlegs_seen = 0;
	start_node(&P, 0, NULL);
	start_node(&C, 1, cextra);
	flow("support", NULL);
	agent("a1", NULL);
	cr_assert_eq(sipp_logdir_new(dir_page, sizeof(dir_page)), 0);
	cr_assert_eq(sipp_logdir_new(dir_client, sizeof(dir_client)), 0);
	const char *pkeys[] = { "$count", "1", NULL };
	pid_t user = sipp_start("uas_message.xml", NULL, page, pkeys, dir_page, NULL);
	cr_assert(user > 0);
	/* the customer's MESSAGE, to the flow's address at the centre */
	char remote[64], to_host[64], from_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", C.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", C.sip);
	snprintf(from_host, sizeof(from_host), HOST ":%d", page);
	const char *keys[] = { "-s", "support", "$to_host", to_host, "$from_host", from_host,
			       "$from_user", "legacy", "$body", "hello from a legacy phone",
			       "$expect_code", "202", NULL };
	pid_t client = sipp_start("uac_message.xml", remote, 0, keys, dir_client, NULL);
	cr_assert(client > 0);
	sipp_ok(client, dir_client, "page-mode client");
	json_t *ev = event(&C, "cc.queued", NULL, 5000);
	cr_expect(strstr(jstr(ev, "customer"), "legacy@") != NULL, "the customer: %s",
		  jstr(ev, "customer"));
	json_decref(ev);
	answers("a1", leg);
	hears(leg, "hello from a legacy phone");
	say(leg, "Hi, agent a1 here");
	char body[512];
	cr_assert_geq(sipp_log_wait(dir_page, "message_body=(.*)", body, sizeof(body), 5000), 0,
		      "no MESSAGE reached the page-mode customer");
	cr_expect(strstr(body, "Hi, agent a1 here") != NULL, "the customer got: %s", body);
	cr_expect_eq(sipp_wait(user, 5000), 0);
	end_session(leg);
	agent_is("a1", "free", 0);
	sipp_logdir_remove(dir_page);
	sipp_logdir_remove(dir_client);
}

/* cc.definitions: flows and agents made at start from a JSON file; a bad one stops rcsgw
 * with a message naming the file and the entry. */
Test(cc, flows_and_agents_come_from_a_definitions_file)
{
	char path[96], cust[64], leg[64];
	snprintf(path, sizeof(path), "/tmp/rcsgw-cc-defs-%d.json", (int)getpid());
	start_node(&P, 0, NULL);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"flows\": [{\"id\": \"sales\", \"skill\": \"en\", \"uri\": "
		   "\"sip:sales@" HOST "\", \"priority\": 3}],\n"
		   " \"agents\": [{\"id\": \"a1\", \"skills\": [\"en\"], \"chat_location\": "
		   "\"sip:a1@" HOST ":%d\", \"max_chats\": 2}]}\n", P.sip);
	fclose(f);
	char e[160];
	snprintf(e, sizeof(e), "RCSGW_CC_DEFINITIONS=%s", path);
	const char *extra[] = { e, NULL };
	nlegs_seen = 0;
	start_node(&C, 1, extra);
	json_t *j = NULL;
	cr_assert_eq(api(&C, "GET", "/v1/cc/flows/sales", NULL, &j), 200);
	cr_expect_eq(json_integer_value(json_object_get(j, "priority")), 3);
	json_decref(j);
	agent_is("a1", "offline", 0); /* agents start logged out */
	call(&C, 200, "POST", "/v1/cc/agents/a1/login", NULL);
	customer("gina", "sales", cust);
	answers("a1", leg);
	say(cust, "from the file");
	hears(leg, "from the file");
	end_session(cust);
	ended(leg);
	/* a bad entry: rcsgw does not start, and says where */
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"agents\": [{\"id\": \"a2\", \"skills\": []}]}\n", f);
	fclose(f);
	int efd = -1;
	char a[64];
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=" HOST ":%d", free_tcp_port());
	const char *env[] = { a, e, "RCSGW_CC_ENABLED=true", "RCSGW_SIP_LISTEN=",
			      "RCSGW_MSRP_LISTEN=", NULL };
	pid_t bad = rcsgw_spawn(env, NULL, &efd);
	cr_assert_gt(bad, 0);
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(efd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(efd);
	int st = rcsgw_stop(bad, SIGKILL, 5000);
	cr_expect(st != 0 && st != 128 + SIGKILL, "rcsgw started with a bad cc.definitions (%d)",
		  st);
	cr_expect(strstr(buf, path) && strstr(buf, "agents[0]") && strstr(buf, "skills"),
		  "the error names the file, the entry and the field: %s", buf);
	unlink(path);
}

/* ---- calls: rcsgw as a signalling B2BUA (sipp as the caller and as the agents' phones) ---- */

/* Agent <id>'s phone: sipp running <scenario> as a UAS on a port of its own, its logs in
 * <dir>; the agent made with that voice_location and logged in. The pid. */
static pid_t agent_phone(const char *id, const char *scenario, char *dir, size_t dlen)
{
	int port = sipp_free_port();
	cr_assert_eq(sipp_logdir_new(dir, dlen), 0);
	pid_t p = sipp_start(scenario, NULL, port, NULL, dir, NULL);
	cr_assert_gt(p, 0, "sipp agent phone: %d", p);
	char path[128];
	call(&C, 201, "POST", "/v1/cc/agents",
	     "{\"id\":\"%s\",\"skills\":[\"en\"],\"voice_location\":\"sip:%s@" HOST ":%d\"}",
	     id, id, port);
	snprintf(path, sizeof(path), "/v1/cc/agents/%s/login", id);
	call(&C, 200, "POST", path, NULL);
	return p;
}

/* The caller: sipp running uac_call.xml toward flow <flow> at C, with <more> keys. */
static pid_t caller(const char *flow_id, const char *const *more, char *dir, size_t dlen)
{
	char remote[64];
	const char *keys[16] = { "-s", flow_id, "$caller", "carl" };
	unsigned n = 4;
	for (unsigned i = 0; more && more[i] && n < 15; i++)
		keys[n++] = more[i];
	keys[n] = NULL;
	snprintf(remote, sizeof(remote), HOST ":%d", C.sip);
	cr_assert_eq(sipp_logdir_new(dir, dlen), 0);
	pid_t p = sipp_start("uac_call.xml", remote, 0, keys, dir, NULL);
	cr_assert_gt(p, 0, "sipp caller: %d", p);
	return p;
}

Test(cc, a_call_goes_to_an_agent_through_the_b2bua)
{
	char dc[256], da[256], dn[256], line[256];
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
	up();
	flow("support", ",\"announce_uri\":\"http://media.example.com/queue.wav\"");
	/* a1 rings and never answers (cc.offer_timeout 1.5 s); a2 answers */
	pid_t a1 = agent_phone("a1", "uas_noanswer.xml", dn, sizeof(dn));
	pid_t a2 = agent_phone("a2", "uas_call.xml", da, sizeof(da));
	const char *more[] = { "$hold_ms", "800", NULL };
	pid_t c = caller("support", more, dc, sizeof(dc));
	json_t *ev = event(&C, "cc.queued", NULL, 5000);
	cr_expect_str_eq(jstr(ev, "kind"), "call");
	json_decref(ev);
	sipp_ok(c, dc, "caller");
	sipp_ok(a2, da, "agent a2");
	sipp_ok(a1, dn, "agent a1 (no answer)");
	/* the caller was told it is queued, and got the agent's own answer; the agent got the
	 * caller's own offer: the media goes end to end */
	cr_expect_geq(sipp_log_find(dc, "queued", line, sizeof(line)), 0, "no 182 Queued");
	cr_expect_geq(sipp_log_find(dc, "alert_info=(.*)", line, sizeof(line)), 0);
	cr_expect_str_eq(line, "http://media.example.com/queue.wav", "the flow's announcement");
	cr_expect_geq(sipp_log_find(dc, "answer_o=(.*)", line, sizeof(line)), 0);
	cr_expect(strstr(line, "o=agent") != NULL, "the caller's answer: %s", line);
	cr_expect_geq(sipp_log_find(da, "offer_o=(.*)", line, sizeof(line)), 0);
	cr_expect(strstr(line, "o=customer") != NULL, "the agent's offer: %s", line);
	cr_expect_geq(sipp_log_find(da, "^bye", line, sizeof(line)), 0, "no BYE to the agent");
	agent_is("a2", "free", 0);
	cr_expect_eq(metric("rcsgw_cc_answered_total"), 1);
	cr_expect_eq(metric("rcsgw_cc_ended_total"), 1);
	cr_expect_geq(metric("rcsgw_cc_refused_total"), 1);
	cr_expect_eq(metric_settles("rcsgw_cc_agent_calls_answered_total", 1, 3000), 1);
	sipp_logdir_remove(dc);
	sipp_logdir_remove(da);
	sipp_logdir_remove(dn);
}

Test(cc, a_caller_who_gives_up_while_queued_is_abandoned)
{
	char dc[256], line[256];
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
	up();
	flow("support", NULL);
	const char *more[] = { "$cancel_after_ms", "1500", NULL };
	pid_t c = caller("support", more, dc, sizeof(dc));
	json_decref(event(&C, "cc.queued", NULL, 3000));
	cr_expect_eq(metric_settles("rcsgw_cc_flow_waiting_calls", 1, 1000), 1, "the call on hold");
	cr_expect_eq(metric("rcsgw_cc_flow_waiting_chats"), 0);
	sipp_ok(c, dc, "caller");
	cr_expect_geq(sipp_log_find(dc, "final_code=487", line, sizeof(line)), 0);
	json_t *ev = event(&C, "cc.abandoned", NULL, 3000);
	cr_expect_str_eq(jstr(ev, "kind"), "call");
	cr_expect_str_eq(jstr(ev, "reason"), "customer_gone");
	json_decref(ev);
	cr_expect_eq(metric_settles("rcsgw_cc_flow_waiting_calls", 0, 3000), 0);
	cr_expect_eq(metric("rcsgw_cc_waiting"), 0);
	sipp_logdir_remove(dc);
}

Test(cc, the_api_checks_what_it_is_given)
{
	up();
	call(&C, 400, "POST", "/v1/cc/flows", "{\"id\":\"x\"}"); /* no skill */
	call(&C, 400, "POST", "/v1/cc/flows", "{\"skill\":\"en\"}"); /* no id */
	call(&C, 400, "POST", "/v1/cc/flows", "{\"id\":\"x\",\"skill\":\"en\",\"uri\":\"nope\"}");
	call(&C, 400, "POST", "/v1/cc/flows",
	     "{\"id\":\"x\",\"skill\":\"en\",\"announce_uri\":\"http://a b\"}");
	call(&C, 400, "POST", "/v1/cc/flows",
	     "{\"id\":\"x\",\"skill\":\"en\",\"chat_dispatch_policy\":\"random\"}");
	call(&C, 400, "POST", "/v1/cc/flows", "{\"id\":\"x\",\"skill\":\"en\",\"max_wait_s\":-1}");
	call(&C, 400, "POST", "/v1/cc/flows", "{\"id\":\"x\",\"skill\":\"en\",\"colour\":1}");
	call(&C, 400, "POST", "/v1/cc/flows", "[1]");
	call(&C, 400, "PUT", "/v1/cc/flows/x", "{\"id\":\"y\",\"skill\":\"en\"}");
	call(&C, 201, "PUT", "/v1/cc/flows/x", "{\"skill\":\"en\"}");
	call(&C, 200, "PUT", "/v1/cc/flows/x", "{\"skill\":\"fr\",\"priority\":5}");
	call(&C, 201, "PUT", "/v1/cc/flows/y", "{\"skill\":\"en\",\"uri\":\"sip:help@example.com\"}");
	call(&C, 409, "PUT", "/v1/cc/flows/z", /* the same address as y's */
	     "{\"skill\":\"en\",\"uri\":\"sip:help@EXAMPLE.com:5070\"}");
	call(&C, 200, "PUT", "/v1/cc/flows/y", "{\"skill\":\"en\",\"uri\":\"sip:help@example.com\"}");
	call(&C, 400, "PUT", "/v1/cc/flows/"
	     "a123456789012345678901234567890123456789012345678901234567890123", "{\"skill\":\"en\"}");
	call(&C, 409, "POST", "/v1/cc/flows", "{\"id\":\"x\",\"skill\":\"en\"}");
	call(&C, 200, "GET", "/v1/cc/flows/x", NULL);
	call(&C, 404, "GET", "/v1/cc/flows/nope", NULL);
	call(&C, 400, "POST", "/v1/cc/agents", "{\"id\":\"a\",\"skills\":[]}");
	call(&C, 400, "POST", "/v1/cc/agents", "{\"id\":\"a\",\"skills\":[\"en\"]}"); /* nowhere */
	call(&C, 400, "POST", "/v1/cc/agents",
	     "{\"id\":\"a\",\"skills\":[\"en\"],\"chat_location\":\"sip:a@h\",\"max_chats\":0}");
	call(&C, 201, "POST", "/v1/cc/agents",
	     "{\"id\":\"a\",\"skills\":[\"en\"],\"chat_location\":\"sip:a@h\"}");
	call(&C, 404, "POST", "/v1/cc/agents/zz/login", NULL);
	call(&C, 200, "POST", "/v1/cc/agents/a/login", NULL);
	call(&C, 409, "DELETE", "/v1/cc/agents/a", NULL);
	call(&C, 200, "POST", "/v1/cc/agents/a/logout", NULL);
	call(&C, 204, "DELETE", "/v1/cc/agents/a", NULL);
	call(&C, 404, "DELETE", "/v1/cc/agents/a", NULL);
	call(&C, 404, "POST", "/v1/cc/queue/abc/dispatch", "{\"agent\":\"a\"}");
	call(&C, 404, "POST", "/v1/cc/queue/99/dispatch", "{\"agent\":\"a\"}");
	call(&C, 400, "POST", "/v1/cc/queue/99/dispatch", "{}");
	call(&C, 204, "DELETE", "/v1/cc/flows/x", NULL);
	call(&C, 404, "DELETE", "/v1/cc/flows/x", NULL);
	/* a node without the centre: 503 with a message */
	call(&P, 503, "GET", "/v1/cc/flows", NULL);
	call(&P, 503, "POST", "/v1/cc/agents/a/login", NULL);
	json_t *st = NULL;
	cr_assert_eq(api(&C, "GET", "/v1/status", NULL, &st), 200);
	cr_expect_str_eq(jstr(json_object_get(st, "subsystems"), "cc"), "ready");
	json_decref(st);
}

/* ---- load: many chats, few agents --------------------------------------------------------- */

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* "2026-11-27T13:23:17.321Z" (the events' timestamps) in ms since the epoch; -1 when not. */
static long long rfc3339_ms(const char *s)
{
	struct tm tm = { 0 };
	int ms = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000 + ms;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* CC_LOAD_CHATS customers (default 80) and CC_LOAD_CALLS callers (12, sipp) arrive over
 * CC_LOAD_SECONDS (12) at a flow (full-load: chats fill some agents, others stay wholly free
 * for calls) served by CC_LOAD_AGENTS agents (8) of 2 chat slots each, whose chat legs node
 * P answers at once (ua.auto_answer) and whose calls one sipp answers (uas_call.xml); each
 * says one thing (a call: none) and stays 0.5 to 1.5 times CC_LOAD_HOLD_S (4 s; a call:
 * that long), one chat in ten hangs up after 300 ms (queued, or just offered); two agents
 * log out a third of the way through and come back at two thirds. The defaults keep more
 * customers than slots, so that some wait. `make soak` runs 1000 chats and 200 calls over
 * 300 s across 50 agents, holding 40 s (about 130 chats at once for 100 slots).
 * Afterwards: every call was answered and hung up, nothing waits, every agent is free,
 * every customer's session is over on both nodes, and the counters add up. */
Test(cc, load_many_chats_across_few_agents, .timeout = 900)
{
	long nchats = env_long("CC_LOAD_CHATS", 80), secs = env_long("CC_LOAD_SECONDS", 12);
	long nagents = env_long("CC_LOAD_AGENTS", 8), hold = env_long("CC_LOAD_HOLD_S", 4);
	long ncalls = env_long("CC_LOAD_CALLS", 12);
	cr_assert(nchats > 0 && nchats <= 100000 && secs > 0 && nagents > 1 && nagents <= 1000 &&
		  hold > 1 && hold <= 3600 && ncalls >= 0 && ncalls <= 100000);
	if (ncalls && !sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
	static const char *const cextra[] = { "RCSGW_CC_OFFER_TIMEOUT=3s", NULL };
	static const char *const pextra[] = { "RCSGW_UA_AUTO_ANSWER=sip:agent*", NULL };
	nlegs_seen = 0;
	start_node(&P, 0, pextra);
	start_node(&C, 1, cextra);
	/* full-load: chats fill some agents, so that others are wholly free for calls */
	flow("support", ",\"queued_text\":\"Please wait\",\"chat_dispatch_policy\":\"full-load\"");
	char id[64], path[128], vextra[192], dphones[256] = "", dcallers[256] = "";
	/* the agents' phones: one sipp answering every agent's calls (uas_call.xml) */
	int vport = ncalls ? sipp_free_port() : 0;
	pid_t phones = -1, callers = -1;
	if (ncalls) {
		char m[16];
		snprintf(m, sizeof(m), "%ld", ncalls);
		const char *keys[] = { "-m", m, NULL };
		cr_assert_eq(sipp_logdir_new(dphones, sizeof(dphones)), 0);
		phones = sipp_start("uas_call.xml", NULL, vport, keys, dphones, NULL);
		cr_assert_gt(phones, 0, "sipp agents' phones: %d", phones);
	}
	for (long i = 0; i < nagents; i++) {
		snprintf(id, sizeof(id), "agent%ld", i);
		snprintf(vextra, sizeof(vextra),
			 ",\"max_chats\":2,\"voice_location\":\"sip:%s@" HOST ":%d\"", id, vport);
		agent(id, ncalls ? vextra : ",\"max_chats\":2");
	}
	if (ncalls) { /* the callers: ncalls over the same seconds, each holding ~hold s */
		char m[16], rp[16], hms[16], remote[64];
		snprintf(m, sizeof(m), "%ld", ncalls);
		snprintf(rp, sizeof(rp), "%ld", secs * 1000);
		snprintf(hms, sizeof(hms), "%ld", hold * 1000);
		snprintf(remote, sizeof(remote), HOST ":%d", C.sip);
		const char *keys[] = { "-s", "support", "-m", m, "-r", m, "-rp", rp, "-l", m,
				       "$hold_ms", hms, NULL }; /* (-l: as many at once as come) */
		cr_assert_eq(sipp_logdir_new(dcallers, sizeof(dcallers)), 0);
		callers = sipp_start("uac_call.xml", remote, 0, keys, dcallers, NULL);
		cr_assert_gt(callers, 0, "sipp callers: %d", callers);
	}
	struct cust {
		long start, hold;
		long long made_at;     /* wall clock, ms: what the events' timestamps say */
		char sess[40];
		int made, over;
	} *cs = calloc((size_t)nchats, sizeof(*cs));
	cr_assert_not_null(cs);
	unsigned seed = 42;
	for (long i = 0; i < nchats; i++) {
		cs[i].start = i * secs * 1000 / nchats;
		cs[i].hold = rand_r(&seed) % 10 == 0 ? 300
						     : hold * 500 + rand_r(&seed) % (hold * 1000);
	}
	long t0 = proc_now_ms(), made = 0, over = 0;
	int out = 0, back = 0;
	while (over < nchats) {
		long t = proc_now_ms() - t0;
		for (long i = 0; i < nchats; i++) {
			struct cust *c = &cs[i];
			if (!c->made && c->start <= t) {
				char body[256];
				json_t *j = NULL;
				snprintf(body, sizeof(body),
					 "{\"from\":\"sip:c%ld@" HOST "\",\"to\":\"sip:support@" HOST
					 ":%d\"}", i, C.sip);
				cr_assert_eq(api(&P, "POST", "/v1/sessions", body, &j), 201);
				snprintf(c->sess, sizeof(c->sess), "%s", jstr(j, "id"));
				json_decref(j);
				c->made = 1;
				c->made_at = wall_ms();
				made++;
				snprintf(path, sizeof(path), "/v1/sessions/%s/messages", c->sess);
				snprintf(body, sizeof(body),
					 "{\"content_type\":\"text/plain\",\"body\":\"m%ld\"}", i);
				int st = api(&P, "POST", path, body, NULL);
				cr_expect(st == 202, "customer %ld: message %d", i, st);
			} else if (c->made && !c->over && c->start + c->hold <= t) {
				snprintf(path, sizeof(path), "/v1/sessions/%s", c->sess);
				int st = api(&P, "DELETE", path, NULL, NULL);
				cr_expect(st == 200 || st == 202 || st == 204 || st == 409,
					  "customer %ld: DELETE %d", i, st);
				c->over = 1;
				over++;
			}
		}
		sse_drain(&P.sse); /* (read as it comes: the offers' times are measured below) */
		sse_drain(&C.sse);
		if (!out && t > secs * 1000 / 3) {
			call(&C, 200, "POST", "/v1/cc/agents/agent0/logout", NULL);
			call(&C, 200, "POST", "/v1/cc/agents/agent1/logout", NULL);
			out = 1;
		}
		if (!back && t > secs * 2000 / 3) {
			call(&C, 200, "POST", "/v1/cc/agents/agent0/login", NULL);
			call(&C, 200, "POST", "/v1/cc/agents/agent1/login", NULL);
			back = 1;
		}
		usleep(5000);
	}
	cr_expect_eq(made, nchats);
	if (ncalls) { /* every call answered by an agent and hung up */
		int rc = sipp_wait(callers, (int)(secs + 4 * hold + 60) * 1000);
		if (rc)
			sipp_log_report(dcallers, "callers");
		cr_expect_eq(rc, 0, "callers: sipp exited %d", rc);
		rc = sipp_wait(phones, 10000);
		if (rc)
			sipp_log_report(dphones, "agents' phones");
		cr_expect_eq(rc, 0, "agents' phones: sipp exited %d", rc);
	}
	/* everything settles: nothing waits, every agent free */
	cr_expect_eq(metric_settles("rcsgw_cc_waiting", 0, 10000), 0, "items still waiting");
	cr_expect_eq(metric_settles("rcsgw_cc_agents_free", nagents, 10000), nagents,
		     "agents not free");
	long queued = metric("rcsgw_cc_queued_total"), ended = metric("rcsgw_cc_ended_total");
	long abandoned = metric("rcsgw_cc_abandoned_total");
	long answered = metric("rcsgw_cc_answered_total");
	fprintf(stderr, "cc load: %ld chats and %ld calls over %ld s, %ld agents, holding ~%ld s: "
		"queued %ld, answered %ld, ended %ld, abandoned %ld (timed out %ld), refused offers "
		"%ld, held %ld, forwarded %ld, in %ld ms\n", nchats, ncalls, secs, nagents, hold,
		queued, answered, ended,
		abandoned, metric("rcsgw_cc_timed_out_total"), metric("rcsgw_cc_refused_total"),
		metric("rcsgw_cc_held_total"), metric("rcsgw_cc_forwarded_total"),
		(long)(proc_now_ms() - t0));
	cr_expect_eq(queued, nchats + ncalls, "every customer queued once: %ld of %ld + %ld", queued,
		     nchats, ncalls);
	cr_expect_eq(metric_settles("rcsgw_cc_agent_calls_answered_total", ncalls, 3000), ncalls,
		     "calls answered");
	cr_expect_eq(ended + abandoned, queued, "ended %ld + abandoned %ld != queued %ld", ended,
		     abandoned, queued);
	cr_expect_geq(answered, ended, "answered %ld < ended %ld", answered, ended);
	cr_expect_gt(ended, (nchats + ncalls) / 2, "most reached an agent: %ld", ended);
	/* each customer said one thing, held or not: every chat an agent had passed it on */
	cr_expect_geq(metric("rcsgw_cc_forwarded_total"), ended - ncalls);
	cr_expect_eq(metric("rcsgw_cc_held_overflow_total"), 0);
	cr_expect_eq(metric("rcsgw_cc_chats_refused_full_total"), 0);
	cr_expect_eq(metric_settles("rcsgw_cc_agent_chats", 0, 3000), 0);
	cr_expect_eq(metric_settles("rcsgw_cc_flow_waiting", 0, 3000), 0);
	cr_expect_eq(metric("rcsgw_cc_flow_waiting_calls"), 0);
	cr_expect_eq(metric_settles("rcsgw_cc_flow_chats_answered_total", answered - ncalls, 3000),
		     answered - ncalls, "the flow's chats answered (calls are answered once each)");
	cr_expect_eq(metric("rcsgw_cc_flow_calls_answered_total"), ncalls);
	/* no session left live on either node */
	for (int node = 0; node < 2; node++) {
		struct node *n = node ? &C : &P;
		long live = -1;
		for (int i = 0; i < 100 && live; i++) {
			json_t *j = NULL;
			cr_assert_eq(api(n, "GET", "/v1/sessions?state=established", NULL, &j), 200);
			live = (long)json_array_size(json_object_get(j, "sessions"));
			json_decref(j);
			if (live)
				usleep(100000);
		}
		cr_expect_eq(live, 0, "%s: %ld sessions still established", node ? "C" : "P", live);
	}
	sse_drain(&P.sse);
	/* how long a customer waited for an agent's leg to ring: its session made at P (the
	 * POST) to the leg's session.incoming there, both P's (wall) clock */
	long long *waits = calloc((size_t)nchats, sizeof(*waits));
	size_t nw = 0;
	cr_assert_not_null(waits);
	for (const char *p = P.sse.buf; (p = strstr(p, "\"type\":\"session.incoming\"")); p++) {
		const char *line = p;
		while (line > P.sse.buf && line[-1] != '\n')
			line--;
		long i;
		const char *from = strstr(line, "\"from\":\"sip:c"), *ts = strstr(line, "\"timestamp\":\"");
		const char *eol = strchr(line, '\n');
		if (!from || !ts || (eol && (from > eol || ts > eol)) ||
		    sscanf(from, "\"from\":\"sip:c%ld@", &i) != 1 || i < 0 || i >= nchats ||
		    !cs[i].made_at)
			continue;
		long long at = rfc3339_ms(ts + 13);
		if (at > 0)
			waits[nw++] = at - cs[i].made_at;
		cs[i].made_at = 0; /* its first offer only */
	}
	if (nw) {
		qsort(waits, nw, sizeof(*waits), cmp_ll);
		fprintf(stderr, "cc load: to an agent's leg ringing, %zu chats: p50 %lld ms, p90 %lld "
			"ms, p99 %lld ms, max %lld ms\n", nw, waits[nw / 2], waits[nw * 9 / 10],
			waits[nw * 99 / 100], waits[nw - 1]);
	}
	cr_expect_geq(nw, (size_t)(ended - ncalls), "offers seen for every chat that ended");
	free(waits);
	free(cs);
	if (ncalls) {
		sipp_logdir_remove(dphones);
		sipp_logdir_remove(dcallers);
	}
}
