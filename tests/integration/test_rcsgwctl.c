/* test_rcsgwctl.c — the built rcsgwctl ($RCSGW_BUILD/rcsgwctl) against the real daemon: its
 * exit codes (0 done, 1 the API's error or no answer, 2 usage), its tables and "key  value"
 * lines for people, --json that parses, and every command whose route the daemon has:
 * status (of a group too), reports, sessions (start, list, show, answer, reject, send, end)
 * and connections (list, filters, show, close) on sessions that rcsgw makes to itself (its
 * own SIP port the callee), gateway sessions (a page-mode MESSAGE from sipp to one node for
 * a user of a second node), cc agents, flows and queue, get, post, put (a body on stdin
 * too), delete, metrics. rcsgwctl finds the API and the token in RCSGW_API_LISTEN and
 * RCSGW_API_TOKENS, as an operator's shell would give them. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/sipp.h"

#define HOST "127.0.0.1"
#define TOKEN "t0k"
#define ARGS_MAX 24

/* The daemons of a test: node 0 is the one rcsgwctl talks to. */
static struct {
	pid_t pid[2];
	int api[2], sip[2];
	char env_api[64], env_token[64];   /* rcsgwctl's environment: node 0's API, TOKEN */
	char logdir[256];                  /* sipp's */
} T = { .pid = { -1, -1 } };

/* Starts node <n>: API, SIP (udp and tcp on one port) and MSRP on free loopback ports, two
 * workers, token TOKEN, and the settings <extra> ("RCSGW_...=...", NULL-terminated). */
static void node_up(int n, const char *const *extra)
{
	static char e[2][3][96];
	const char *env[20];
	unsigned k = 0;

	T.api[n] = free_tcp_port();
	T.sip[n] = sipp_free_port();
	int msrp = free_tcp_port();
	cr_assert(T.api[n] > 0 && T.sip[n] > 0 && msrp > 0);
	snprintf(e[n][0], sizeof(e[n][0]), "RCSGW_API_LISTEN=" HOST ":%d", T.api[n]);
	snprintf(e[n][1], sizeof(e[n][1]), "RCSGW_SIP_LISTEN=udp:" HOST ":%d,tcp:" HOST ":%d",
		 T.sip[n], T.sip[n]);
	snprintf(e[n][2], sizeof(e[n][2]), "RCSGW_MSRP_LISTEN=" HOST ":%d", msrp);
	env[k++] = e[n][0];
	env[k++] = e[n][1];
	env[k++] = e[n][2];
	env[k++] = "RCSGW_ENGINE_WORKERS=2";
	env[k++] = "RCSGW_ENGINE_PIN=false";
	env[k++] = "RCSGW_LOG_LEVEL=warn";
	env[k++] = "RCSGW_API_TOKENS=" TOKEN;
	env[k++] = "RCSGW_ENGINE_DRAIN_TIMEOUT=300ms";
	for (unsigned i = 0; extra && extra[i] && k < 19; i++)
		env[k++] = extra[i];
	env[k] = NULL;
	T.pid[n] = rcsgw_spawn(env, NULL, NULL);
	cr_assert_gt(T.pid[n], 0, "rcsgw_spawn: %d", (int)T.pid[n]);
	cr_assert_eq(wait_port(HOST, T.api[n], 10000), 0, "the API of node %d did not come up", n);
	if (n == 0) {
		snprintf(T.env_api, sizeof(T.env_api), "RCSGW_API_LISTEN=" HOST ":%d", T.api[0]);
		snprintf(T.env_token, sizeof(T.env_token), "RCSGW_API_TOKENS=" TOKEN);
	}
}

static void down(void)
{
	for (int n = 0; n < 2; n++) {
		if (T.pid[n] > 0)
			cr_expect_eq(rcsgw_stop(T.pid[n], SIGTERM, 10000), 0, "node %d did not stop cleanly",
				     n);
		T.pid[n] = -1;
	}
	sipp_logdir_remove(T.logdir);
	T.logdir[0] = '\0';
}

TestSuite(rcsgwctl, .fini = down, .timeout = 60);

/* One run of rcsgwctl: its exit code, stdout and stderr. */
struct run {
	int code;            /* the exit code; -1 when it did not exit within 10 s */
	char out[65536];
	char err[4096];
};

/* Runs argv[0] (a path) with <argv>, in the test's environment plus rcsgwctl's (node 0's
 * API and the token, when a node is up), into <r>. */
static void run_argv(struct run *r, char *const argv[])
{
	char *env[3] = { NULL, NULL, NULL };
	int out = -1, err = -1;

	if (T.env_api[0]) {
		env[0] = T.env_api;
		env[1] = T.env_token;
	}
	pid_t pid = proc_spawn(argv, env, &out, &err, NULL);
	cr_assert_gt(pid, 0, "could not start %s", argv[0]);
	proc_read_all(out, r->out, sizeof(r->out), 10000);
	proc_read_all(err, r->err, sizeof(r->err), 2000);
	close(out);
	close(err);
	int st = proc_wait(pid, 5000);
	if (st == -1) {
		proc_stop(pid, SIGKILL, 1000);
		r->code = -1;
	} else {
		r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

/* rcsgwctl with the arguments that follow (NULL-terminated), into <r>; its exit code. */
static int ctl(struct run *r, const char *arg, ...)
{
	char *argv[ARGS_MAX + 2];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)proc_bin("rcsgwctl");
	va_start(ap, arg);
	for (const char *a = arg; a && n < ARGS_MAX; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	run_argv(r, argv);
	return r->code;
}

/* The JSON rcsgwctl printed (asserts that it parses). */
static json_t *out_json(const struct run *r)
{
	json_error_t e;
	json_t *j = json_loads(r->out, 0, &e);
	cr_assert_not_null(j, "not JSON (%s):\n%s", e.text, r->out);
	return j;
}

/* Member <key> of <o> as a string, "" when absent. */
static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The line of <text> that starts with <start> and has <also> in it (a copy, static), or
 * NULL. */
static const char *line_of(const char *text, const char *start, const char *also)
{
	static char line[4096];
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		if (strncmp(line, start, strlen(start)) == 0 && (!also || strstr(line, also)))
			return line;
		p += n + (p[n] == '\n');
	}
	return NULL;
}

/* The column of <word> in <line>, -1 when it is not there. */
static int col_of(const char *line, const char *word)
{
	const char *p = line ? strstr(line, word) : NULL;
	return p ? (int)(p - line) : -1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Session <id> as `sessions show --json` gives it, once its state is <state> (asserts that
 * it comes within 5 s). */
static json_t *session_in_state(const char *id, const char *state)
{
	struct run r;
	json_t *s = NULL;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(ctl(&r, "sessions", "show", id, "--json", NULL), 0, "%s", r.err);
		json_decref(s);
		s = out_json(&r);
		if (strcmp(jstr(s, "state"), state) == 0)
			return s;
		sleep_ms(50);
	}
	cr_assert_fail("session %s is %s, not %s", id, jstr(s, "state"), state);
	return NULL;
}

/* The id of an incoming session still ringing, other than <not> (within 5 s), into <id>. */
static void incoming_ringing(const char *not, char *id, size_t len)
{
	struct run r;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(ctl(&r, "sessions", "list", "--state", "ringing", "--json", NULL), 0,
			     "%s", r.err);
		json_t *j = out_json(&r), *s;
		size_t k;
		json_array_foreach(json_object_get(j, "sessions"), k, s) {
			if (strcmp(jstr(s, "direction"), "incoming") == 0 &&
			    strcmp(jstr(s, "id"), not) != 0) {
				snprintf(id, len, "%s", jstr(s, "id"));
				json_decref(j);
				return;
			}
		}
		json_decref(j);
		sleep_ms(50);
	}
	cr_assert_fail("no incoming session rang");
}

/* ---- without a daemon ------------------------------------------------------------------------ */

Test(rcsgwctl, usage_errors_exit_2_and_help_exits_0)
{
	struct run r;

	cr_expect_eq(ctl(&r, "help", NULL), 0);
	cr_expect(strstr(r.out, "sessions [list]") && strstr(r.out, "cc agents show ID") &&
		  strstr(r.out, "connections close ID"), "help:\n%s", r.out);
	cr_expect_eq(ctl(&r, "-h", NULL), 0);
	cr_expect(strstr(r.out, "usage: rcsgwctl"));
	cr_expect_eq(ctl(&r, "sessions", "--help", NULL), 0, "--help after the command");
	cr_expect_eq(ctl(&r, "--version", NULL), 0);
	cr_expect(strncmp(r.out, "rcsgwctl ", 9) == 0, "%s", r.out);

	cr_expect_eq(ctl(&r, NULL), 2, "no command");
	cr_expect(strstr(r.err, "usage: rcsgwctl"), "%s", r.err);
	cr_expect_eq(ctl(&r, "frobnicate", NULL), 2);
	cr_expect(strstr(r.err, "unknown command 'frobnicate'"), "%s", r.err);
	cr_expect_eq(ctl(&r, "sessions", "frob", NULL), 2);
	cr_expect(strstr(r.err, "unknown command 'sessions frob'"), "%s", r.err);
	cr_expect_eq(ctl(&r, "sessions", "show", NULL), 2, "a missing ID");
	cr_expect(strstr(r.err, "usage: rcsgwctl sessions show ID"), "%s", r.err);
	cr_expect_eq(ctl(&r, "send", "id", "a", "b", NULL), 2, "one argument too many");
	cr_expect_eq(ctl(&r, "sessions", "show", "x", "--state", "ended", NULL), 2);
	cr_expect(strstr(r.err, "takes no --state"), "%s", r.err);
	cr_expect_eq(ctl(&r, "status", "--frob", NULL), 2);
	cr_expect(strstr(r.err, "unknown option --frob"), "%s", r.err);
	cr_expect_eq(ctl(&r, "sessions", "--limit", NULL), 2, "an option without its value");
	cr_expect_eq(ctl(&r, "get", "v1/status", NULL), 2, "a PATH without its '/'");
	cr_expect_eq(ctl(&r, "sessions", "reject", "id", "busy", NULL), 2, "a CODE not a number");
	cr_expect_eq(r.out[0], '\0', "usage errors print nothing on stdout");
}

Test(rcsgwctl, no_answer_exits_1)
{
	struct run r;
	char api[32];
	int port = free_tcp_port(); /* nobody listens there */
	snprintf(api, sizeof(api), HOST ":%d", port);
	cr_expect_eq(ctl(&r, "-a", api, "status", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: no answer from http://") && strstr(r.err, api), "%s",
		  r.err);
	cr_expect_eq(ctl(&r, "--api", api, "sessions", "end", "x", NULL), 1);
}

/* ---- status, errors, generic routes ---------------------------------------------------------- */

Test(rcsgwctl, status_metrics_get_and_the_apis_errors)
{
	struct run r;
	node_up(0, NULL);

	/* a headline, the subsystems, a table of the two workers */
	cr_assert_eq(ctl(&r, "status", NULL), 0, "%s", r.err);
	cr_expect(strncmp(r.out, "rcsgw ", 6) == 0 && line_of(r.out, "rcsgw ", ", ready"), "%s",
		  r.out);
	cr_expect(line_of(r.out, "engine: ", NULL), "%s", r.out);
	const char *head = line_of(r.out, "SUBSYSTEM", "STATUS");
	cr_assert(head, "%s", r.out);
	int at = col_of(head, "STATUS");
	cr_expect_eq(col_of(line_of(r.out, "engine ", "ready"), "ready"), at, "%s", r.out);
	cr_expect_eq(col_of(line_of(r.out, "sip ", "ready"), "ready"), at, "%s", r.out);
	cr_expect(line_of(r.out, "WORKER", "CONNECTIONS"), "%s", r.out);
	cr_expect(line_of(r.out, "     0  ", NULL) && line_of(r.out, "     1  ", NULL),
		  "the workers' indices, to the right under WORKER:\n%s", r.out);

	/* --json: the API's JSON, before or after the command */
	cr_assert_eq(ctl(&r, "status", "--json", NULL), 0);
	json_t *j = out_json(&r);
	cr_expect_eq(json_array_size(json_object_get(json_object_get(j, "engine"), "workers")), 2);
	cr_expect_str_eq(jstr(json_object_get(j, "subsystems"), "api"), "ready");
	json_decref(j);
	cr_assert_eq(ctl(&r, "-j", "status", NULL), 0);
	json_decref(out_json(&r));

	/* get: the body as it came (compact JSON); metrics: the Prometheus text */
	cr_assert_eq(ctl(&r, "get", "/v1/status", NULL), 0);
	cr_expect_eq(r.out[0], '{');
	cr_expect(!strchr(r.out, '\n'), "as the API sent it, not indented");
	json_decref(out_json(&r));
	cr_assert_eq(ctl(&r, "get", "/healthz", NULL), 0, "the image's health check: %s", r.err);
	cr_expect(strstr(r.out, "\"alive\""), "%s", r.out);
	cr_assert_eq(ctl(&r, "metrics", NULL), 0);
	cr_expect(strstr(r.out, "rcsgw_build_info{"), "%.300s", r.out);
	cr_assert_eq(ctl(&r, "get", "/v1/sessions?limit=1", NULL), 0, "%s", r.err);
	json_decref(out_json(&r));

	/* the API's errors: "rcsgwctl: <code> <message>", exit 1, nothing on stdout */
	cr_expect_eq(ctl(&r, "get", "/v1/nope", NULL), 1);
	cr_expect(strncmp(r.err, "rcsgwctl: 404 no such resource", 30) == 0, "%s", r.err);
	cr_expect_eq(r.out[0], '\0');
	cr_expect_eq(ctl(&r, "sessions", "show", "nosuchsession", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 404 "), "%s", r.err);
	cr_expect_eq(ctl(&r, "--json", "sessions", "end", "nosuchsession", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 404 "), "%s", r.err);
	cr_expect_eq(ctl(&r, "gateway", "sessions", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 503 the gateway is off"), "%s", r.err);
	cr_expect_eq(ctl(&r, "cc", "agents", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 503 "), "%s", r.err);
	cr_expect_eq(ctl(&r, "sessions", "--state", "sleeping", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 400 "), "a bad query parameter: %s", r.err);
	cr_expect_eq(ctl(&r, "post", "/v1/sessions", "{\"from\":", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 400 "), "%s", r.err);

	/* the token: -t over RCSGW_API_TOKENS, and a wrong one */
	cr_expect_eq(ctl(&r, "-t", "wrong", "status", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 401 "), "%s", r.err);
	char api[32];
	snprintf(api, sizeof(api), HOST ":%d", T.api[0]);
	cr_expect_eq(ctl(&r, "status", "--token=" TOKEN, "--api", api, NULL), 0, "%s", r.err);
}

/* GET /v1/status/{group} and /v1/reports/{group}: the engine's group is ready from the
 * start, with a report that says so. */
Test(rcsgwctl, status_of_a_group_and_its_reports)
{
	struct run r;
	node_up(0, NULL);

	cr_assert_eq(ctl(&r, "status", "engine", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "group ", "engine") && line_of(r.out, "status ", "ready") &&
		  line_of(r.out, "since ", NULL), "%s", r.out);
	cr_assert_eq(ctl(&r, "status", "engine", "--json", NULL), 0, "%s", r.err);
	json_t *j = out_json(&r);
	cr_expect_str_eq(jstr(j, "group"), "engine");
	cr_expect_str_eq(jstr(j, "status"), "ready");
	json_decref(j);
	cr_expect_eq(ctl(&r, "status", "nosuchgroup", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 404 "), "%s", r.err);

	cr_assert_eq(ctl(&r, "reports", "engine", NULL), 0, "%s", r.err);
	const char *head = line_of(r.out, "TIMESTAMP ", "MESSAGE");
	cr_assert(head, "%s", r.out);
	int level_at = col_of(head, "LEVEL");
	cr_expect_eq(col_of(line_of(r.out, "20", " info "), "info"), level_at, "%s", r.out);
	cr_assert_eq(ctl(&r, "reports", "engine", "--json", NULL), 0, "%s", r.err);
	j = out_json(&r);
	cr_expect_geq(json_array_size(json_object_get(j, "reports")), 1);
	json_decref(j);
	cr_expect_eq(ctl(&r, "reports", "nosuchgroup", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 404 "), "%s", r.err);
}

/* ---- sessions ----------------------------------------------------------------------------------- */

Test(rcsgwctl, sessions_start_list_answer_send_reject_and_end)
{
	struct run r;
	char to[64], out_id[64], in_id[64], in2[64];
	node_up(0, NULL);
	snprintf(to, sizeof(to), "sip:bot@" HOST ":%d", T.sip[0]);

	/* rcsgw calls itself: an outgoing session and its incoming twin (which takes only
	 * text/plain of the two types offered, and no CPIM) */
	cr_assert_eq(ctl(&r, "sessions", "start", "sip:me@" HOST, to, "--accept-types",
			 "text/plain,text/html", "--json", NULL), 0, "%s", r.err);
	json_t *s = out_json(&r);
	snprintf(out_id, sizeof(out_id), "%s", jstr(s, "id"));
	cr_expect_str_eq(jstr(s, "state"), "connecting");
	cr_expect_eq(json_array_size(json_object_get(s, "accept_types")), 2);
	json_decref(s);
	incoming_ringing("", in_id, sizeof(in_id));

	/* the table: both, columns aligned under their headers */
	cr_assert_eq(ctl(&r, "sessions", NULL), 0, "%s", r.err);
	const char *head = line_of(r.out, "ID ", "STATE");
	cr_assert(head, "%s", r.out);
	int state_at = col_of(head, "STATE"), to_at = col_of(head, "TO ");
	char h[4096];
	snprintf(h, sizeof(h), "%s", head);
	const char *row = line_of(r.out, out_id, "outgoing");
	cr_assert(row, "%s", r.out);
	cr_expect_eq(col_of(row, "ringing"), state_at, "%s\n%s", h, row);
	cr_expect_eq(col_of(row, to), to_at, "%s\n%s", h, row);
	cr_expect(line_of(r.out, in_id, "incoming"), "%s", r.out);
	/* a page of one, and where the next begins */
	cr_assert_eq(ctl(&r, "sessions", "list", "--limit", "1", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "more: --after ", NULL), "%s", r.out);

	/* answered by rcsgwctl: both up */
	cr_assert_eq(ctl(&r, "sessions", "answer", in_id, NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "id ", in_id), "key  value lines: %s", r.out);
	cr_expect(line_of(r.out, "direction ", "incoming"), "%s", r.out);
	json_decref(session_in_state(out_id, "established"));
	json_decref(session_in_state(in_id, "established"));

	/* a message each way round the loop: sent on one, received on the other */
	cr_assert_eq(ctl(&r, "send", out_id, "hello from rcsgwctl", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "message_id ", NULL) && line_of(r.out, "session_id ", out_id),
		  "%s", r.out);
	cr_assert_eq(ctl(&r, "send", out_id, "--json", "--", "-starts with a dash", NULL), 0, "%s",
		     r.err);
	s = out_json(&r);
	cr_expect_str_eq(jstr(s, "session_id"), out_id);
	json_decref(s);
	cr_expect_eq(ctl(&r, "send", out_id, "<b/>", "--type", "application/x-nothing", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 415 "), "a type the peer does not take: %s", r.err);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(ctl(&r, "sessions", "show", in_id, NULL), 0);
		if (line_of(r.out, "messages_received ", " 2"))
			break;
		sleep_ms(50);
	}
	cr_expect(line_of(r.out, "messages_received ", " 2"), "%s", r.out);
	cr_expect(line_of(r.out, "state ", "established"), "%s", r.out);

	/* a second call, refused with 603 */
	cr_assert_eq(ctl(&r, "sessions", "start", "sip:me@" HOST, to, NULL), 0, "%s", r.err);
	incoming_ringing(in_id, in2, sizeof(in2));
	cr_assert_eq(ctl(&r, "sessions", "reject", in2, "603", "--json", NULL), 0, "%s", r.err);
	s = out_json(&r);
	cr_expect_str_eq(jstr(s, "state"), "failed");
	json_decref(s);

	/* ended: "ending" said, then over; ending again is the API's 409 */
	cr_assert_eq(ctl(&r, "sessions", "end", out_id, NULL), 0, "%s", r.err);
	char said[128];
	snprintf(said, sizeof(said), "session %s: ending\n", out_id);
	cr_expect_str_eq(r.out, said);
	json_decref(session_in_state(out_id, "ended"));
	json_decref(session_in_state(in_id, "ended"));
	cr_expect_eq(ctl(&r, "sessions", "end", out_id, NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 409 "), "%s", r.err);
	cr_assert_eq(ctl(&r, "sessions", "--state", "ended", NULL), 0);
	cr_expect(line_of(r.out, out_id, "ended") && line_of(r.out, in_id, "ended"), "%s", r.out);
}

/* ---- connections ----------------------------------------------------------------------------- */

Test(rcsgwctl, connections_list_filter_show_and_close)
{
	struct run r;
	char to[64], out_conn[32] = "", peer[64] = "";
	int worker = -1;
	node_up(0, (const char *[]){ "RCSGW_UA_AUTO_ANSWER=sip:bot@*", NULL });
	snprintf(to, sizeof(to), "sip:bot@" HOST ":%d", T.sip[0]);

	/* a session to itself: its MSRP connection, out on one side and in on the other */
	cr_assert_eq(ctl(&r, "sessions", "start", "sip:me@" HOST, to, "--json", NULL), 0, "%s",
		     r.err);
	json_t *s = out_json(&r);
	json_decref(session_in_state(jstr(s, "id"), "established"));
	json_decref(s);
	cr_assert_eq(ctl(&r, "connections", "--json", NULL), 0, "%s", r.err);
	json_t *j = out_json(&r), *c;
	size_t i;
	json_array_foreach(json_object_get(j, "connections"), i, c) {
		if (!strcmp(jstr(c, "protocol"), "msrp") && !strcmp(jstr(c, "direction"), "out")) {
			snprintf(out_conn, sizeof(out_conn), "%s", jstr(c, "id"));
			snprintf(peer, sizeof(peer), "%s", jstr(c, "remote"));
			worker = (int)json_integer_value(json_object_get(c, "worker"));
		}
	}
	json_decref(j);
	cr_assert(out_conn[0], "no outgoing MSRP connection: %s", r.out);

	cr_assert_eq(ctl(&r, "connections", NULL), 0, "%s", r.err);
	const char *head = line_of(r.out, "ID ", "PROTOCOL");
	cr_assert(head, "%s", r.out);
	int proto_at = col_of(head, "PROTOCOL"), state_at = col_of(head, "STATE");
	const char *row = line_of(r.out, out_conn, "msrp");
	cr_expect(row && col_of(row, "msrp") == proto_at && col_of(row, " open") + 1 == state_at,
		  "%s", r.out);

	/* the filters, as query parameters */
	char w[16];
	snprintf(w, sizeof(w), "%d", worker);
	cr_assert_eq(ctl(&r, "connections", "list", "--transport", "tcp", "--worker", w, "--json",
			 NULL), 0, "%s", r.err);
	j = out_json(&r);
	cr_expect_geq(json_array_size(json_object_get(j, "connections")), 1);
	json_array_foreach(json_object_get(j, "connections"), i, c)
		cr_expect_eq(json_integer_value(json_object_get(c, "worker")), worker);
	json_decref(j);
	cr_assert_eq(ctl(&r, "connections", "--peer", peer, NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, out_conn, peer), "%s", r.out);
	cr_expect_eq(ctl(&r, "connections", "--transport", "carrier-pigeon", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 400 "), "%s", r.err);

	cr_assert_eq(ctl(&r, "connections", "show", out_conn, NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "id ", out_conn) && line_of(r.out, "protocol ", "msrp"), "%s",
		  r.out);
	cr_assert_eq(ctl(&r, "connections", "close", out_conn, NULL), 0, "%s", r.err);
	char said[64];
	snprintf(said, sizeof(said), "connection %s: closing\n", out_conn);
	cr_expect_str_eq(r.out, said);
	for (int k = 0; k < 100 && ctl(&r, "connections", "show", out_conn, NULL) == 0; k++)
		sleep_ms(50);
	cr_expect_eq(r.code, 1, "still there: %s", r.out);
	cr_expect(strstr(r.err, "rcsgwctl: 404 "), "%s", r.err);
	cr_expect_eq(ctl(&r, "connections", "close", "9-9-9", NULL), 1);
}

/* ---- the gateway ------------------------------------------------------------------------------ */

Test(rcsgwctl, gateway_sessions_list_show_and_end)
{
	struct run r;
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
	/* node 1 the RCS user's (answers at once), node 0 the gateway */
	node_up(1, (const char *[]){ "RCSGW_UA_AUTO_ANSWER=sip:bot@*", NULL });
	node_up(0, (const char *[]){ "RCSGW_GATEWAY_ENABLED=true", NULL });
	cr_assert_eq(ctl(&r, "gateway", "sessions", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "ID ", "PAGE_USER") && !strchr(strchr(r.out, '\n') + 1, '\n'),
		  "a header, no rows:\n%s", r.out);

	/* a page-mode MESSAGE to node 0 for sip:bot@<node 1> */
	char remote[32], to_host[32];
	snprintf(remote, sizeof(remote), HOST ":%d", T.sip[0]);
	snprintf(to_host, sizeof(to_host), HOST ":%d", T.sip[1]);
	cr_assert_eq(sipp_logdir_new(T.logdir, sizeof(T.logdir)), 0);
	const char *keys[] = { "-s", "bot", "$to_host", to_host, "$from_user", "legacy",
			       "$body", "hello through the gateway", "$expect_code", "202", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, T.logdir, NULL);
	cr_assert_gt(p, 0, "sipp: %d", (int)p);
	int rc = sipp_wait(p, 10000);
	if (rc)
		sipp_log_report(T.logdir, "page-mode client");
	cr_assert_eq(rc, 0);

	json_t *j = NULL, *pair = NULL;
	for (int i = 0; i < 100 && !pair; i++) {
		cr_assert_eq(ctl(&r, "gateway", "sessions", "list", "--json", NULL), 0, "%s", r.err);
		json_decref(j);
		j = out_json(&r);
		pair = json_array_get(json_object_get(j, "sessions"), 0);
		if (pair && !json_is_true(json_object_get(pair, "up")))
			pair = NULL;
		if (!pair)
			sleep_ms(50);
	}
	cr_assert(pair, "no pair up: %s", r.out);
	char id[64], key[512];
	snprintf(id, sizeof(id), "%s", jstr(pair, "id"));
	snprintf(key, sizeof(key), "%s", jstr(pair, "key"));
	json_decref(j);

	cr_assert_eq(ctl(&r, "gateway", "sessions", NULL), 0, "%s", r.err);
	const char *row = line_of(r.out, id, "yes");
	cr_expect(row && strstr(row, "legacy@") && strstr(row, "established"), "%s", r.out);
	/* by its key: '|', ':' and '@' percent-encoded in the path */
	cr_assert_eq(ctl(&r, "gateway", "sessions", "show", key, NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "id ", id), "%s", r.out);
	cr_expect(line_of(r.out, "session.state ", "established"), "nested objects' members: %s",
		  r.out);
	cr_assert_eq(ctl(&r, "gateway", "sessions", "end", id, NULL), 0, "%s", r.err);
	char said[128];
	snprintf(said, sizeof(said), "gateway session %s: ending\n", id);
	cr_expect_str_eq(r.out, said);
	cr_expect_eq(ctl(&r, "gateway", "sessions", "show", "nosuchpair", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 404 "), "%s", r.err);
}

/* ---- the contact centre --------------------------------------------------------------------- */

Test(rcsgwctl, cc_agents_flows_and_queue)
{
	struct run r;
	node_up(0, (const char *[]){ "RCSGW_CC_ENABLED=true", NULL });

	/* made by the generic commands: post with the body as an argument, put from stdin */
	cr_assert_eq(ctl(&r, "post", "/v1/cc/agents",
			 "{\"id\":\"alice\",\"skills\":[\"sales\",\"support\"],"
			 "\"chat_location\":\"sip:alice@" HOST ":5999\"}", NULL), 0, "%s", r.err);
	json_t *a = out_json(&r);
	cr_expect_str_eq(jstr(a, "state"), "offline");
	json_decref(a);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "printf '%%s' '{\"skills\":[\"billing\"],\"voice_location\":\"sip:bob@" HOST
		 ":5998\"}' | '%s' put /v1/cc/agents/bob -", proc_bin("rcsgwctl"));
	char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	run_argv(&r, sh);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert_eq(ctl(&r, "put", "/v1/cc/flows/f1",
			 "{\"skill\":\"sales\",\"uri\":\"sip:sales@" HOST "\"}", NULL), 0, "%s", r.err);

	cr_assert_eq(ctl(&r, "cc", "agents", NULL), 0, "%s", r.err);
	const char *head = line_of(r.out, "ID ", "SKILLS");
	cr_assert(head, "%s", r.out);
	int skills_at = col_of(head, "SKILLS");
	cr_expect_eq(col_of(line_of(r.out, "alice ", "offline"), "sales,support"), skills_at, "%s",
		     r.out);
	cr_expect_eq(col_of(line_of(r.out, "bob ", "offline"), "billing"), skills_at, "%s", r.out);

	cr_assert_eq(ctl(&r, "cc", "agents", "login", "alice", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "state ", "free"), "%s", r.out);
	cr_assert_eq(ctl(&r, "cc", "agents", "show", "alice", "--json", NULL), 0, "%s", r.err);
	a = out_json(&r);
	cr_expect_str_eq(jstr(a, "state"), "free");
	json_decref(a);
	cr_assert_eq(ctl(&r, "cc", "agents", "list", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "alice ", "free"), "%s", r.out);
	cr_assert_eq(ctl(&r, "cc", "agents", "logout", "alice", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "state ", "offline"), "%s", r.out);
	cr_expect_eq(ctl(&r, "cc", "agents", "show", "carol", NULL), 1);
	cr_expect(strstr(r.err, "rcsgwctl: 404 "), "%s", r.err);

	cr_assert_eq(ctl(&r, "cc", "flows", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "f1 ", "sip:sales@" HOST), "%s", r.out);
	cr_assert_eq(ctl(&r, "cc", "flows", "show", "f1", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "skill ", "sales"), "%s", r.out);
	cr_assert_eq(ctl(&r, "cc", "queue", NULL), 0, "%s", r.err);
	cr_expect(line_of(r.out, "ITEM ", "FLOW"), "%s", r.out);
	cr_assert_eq(ctl(&r, "cc", "queue", "--json", NULL), 0, "%s", r.err);
	json_t *q = out_json(&r);
	cr_expect_eq(json_array_size(json_object_get(q, "items")), 0);
	json_decref(q);

	/* delete: a 204, nothing printed */
	cr_assert_eq(ctl(&r, "delete", "/v1/cc/agents/bob", NULL), 0, "%s", r.err);
	cr_expect_eq(r.out[0], '\0');
	cr_expect_eq(ctl(&r, "cc", "agents", "show", "bob", NULL), 1);
}
