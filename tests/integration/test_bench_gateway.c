/* test_bench_gateway.c — `rcsbench ua-sink` (bench/lib/bench_ua.c) behind the real daemon's
 * SIP MESSAGE gateway, as bench/gateway.sh runs it, on a tiny load: sipp uac_message.xml
 * sends MESSAGEs through rcsgw, the sink answers the INVITE and the SENDs and must count
 * every message once; messages that never come are reported missing (exit 3). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"
#include "tests/lib/sipp.h"

#define HOST "127.0.0.1"

static struct {
	pid_t gw, sink;
	int sip, api;
	int out_fd, err_fd;
	int sink_sip;              /* the sink's SIP port, from its ready line */
	char dir[256];
} g = { .gw = -1, .sink = -1, .out_fd = -1, .err_fd = -1 };

static void up(void)
{
	char a[64], m[64], s[64];
	if (!sipp_available())
		cr_skip_test("sipp (package sip-tester) is not installed");
	g.api = free_tcp_port();
	int msrp = free_tcp_port();
	g.sip = sipp_free_port();
	cr_assert(g.api > 0 && msrp > 0 && g.sip > 0);
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=" HOST ":%d", g.api);
	snprintf(m, sizeof(m), "RCSGW_MSRP_LISTEN=" HOST ":%d", msrp);
	snprintf(s, sizeof(s), "RCSGW_SIP_LISTEN=udp:" HOST ":%d", g.sip);
	const char *env[] = { a, m, s, "RCSGW_ENGINE_WORKERS=1", "RCSGW_GATEWAY_ENABLED=true",
			      "RCSGW_LOG_LEVEL=warn", NULL };
	g.gw = rcsgw_spawn(env, NULL, NULL);
	cr_assert_gt(g.gw, 0);
	cr_assert_eq(wait_port(HOST, g.api, 5000), 0, "the API did not come up");
	cr_assert_eq(sipp_logdir_new(g.dir, sizeof(g.dir)), 0);
}

static void down(void)
{
	if (g.sink > 0)
		proc_stop(g.sink, SIGKILL, 1000);
	if (g.out_fd >= 0)
		close(g.out_fd);
	if (g.err_fd >= 0)
		close(g.err_fd);
	g.sink = g.out_fd = g.err_fd = -1;
	sipp_logdir_remove(g.dir);
	if (g.gw > 0) {
		int rc = rcsgw_stop(g.gw, SIGTERM, 5000);
		cr_expect_eq(rc, 0, "rcsgw exited with %d", rc);
	}
	g.gw = -1;
}

/* Starts the sink with <args> (NULL-terminated) after the common ones and waits for its
 * ready line. */
static void sink_start(const char *const *args)
{
	char sut[16], line[256];
	const char *argv[32];
	int n = 0;
	snprintf(sut, sizeof(sut), "%d", (int)g.gw);
	argv[n++] = proc_bin("rcsbench");
	cr_assert_eq(access(argv[0], X_OK), 0, "%s is not built", argv[0]);
	const char *common[] = { "ua-sink", "--sip-listen", HOST ":0", "--msrp-listen", HOST ":0",
				 "--sut-pid", sut, "--json", "--no-pin", NULL };
	for (int i = 0; common[i]; i++)
		argv[n++] = common[i];
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	g.sink = proc_spawn((char *const *)argv, NULL, &g.out_fd, &g.err_fd, NULL);
	cr_assert_gt(g.sink, 0);
	g.sink_sip = 0;
	while (!g.sink_sip && proc_read_line(g.err_fd, line, sizeof(line), 5000) >= 0) {
		const char *at = strstr(line, "ready sip=" HOST ":");
		if (at)
			g.sink_sip = atoi(at + strlen("ready sip=" HOST ":"));
	}
	cr_assert_gt(g.sink_sip, 0, "no ready line from the sink");
}

/* The page-mode client: <calls> MESSAGEs at <rate>/s through rcsgw to the sink, each
 * expected to get a 202. Returns sipp's exit status. */
static int client(const char *calls, const char *rate)
{
	char remote[64], to_host[64];
	snprintf(remote, sizeof(remote), HOST ":%d", g.sip);
	snprintf(to_host, sizeof(to_host), HOST ":%d", g.sink_sip);
	const char *keys[] = { "-s", "s0", "$to_host", to_host, "$from_user", "legacy",
			       "-m", calls, "-r", rate, "$size", "100", NULL };
	pid_t p = sipp_start("uac_message.xml", remote, 0, keys, g.dir, NULL);
	cr_assert_gt(p, 0, "sipp: %d", p);
	int rc = sipp_wait(p, 8000);
	if (rc)
		sipp_log_report(g.dir, "page-mode client");
	return rc;
}

/* Waits for the sink to end; checks its exit status is <want> and returns its JSON line. */
static json_t *sink_result(int want)
{
	char out[8192];
	proc_read_all(g.out_fd, out, sizeof(out), 8000);
	int st = proc_wait(g.sink, 3000);
	if (st == -1)
		proc_stop(g.sink, SIGKILL, 1000);
	g.sink = -1;
	cr_assert(st != -1 && WIFEXITED(st), "the sink did not end (%d):\n%s", st, out);
	cr_assert_eq(WEXITSTATUS(st), want, "the sink exited with %d, %d expected:\n%s",
		     WEXITSTATUS(st), want, out);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", out);
	cr_assert_str_eq(json_string_value(json_object_get(j, "mode")), "ua-sink");
	return j;
}

static json_int_t ji(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "no integer %s", k);
	return json_integer_value(v);
}

TestSuite(bench_gateway, .init = up, .fini = down, .timeout = 20);

Test(bench_gateway, every_message_arrives_once_in_one_session)
{
	const char *args[] = { "--count", "50", "--duration", "5", "--warmup", "0", NULL };
	sink_start(args);
	cr_assert_eq(client("50", "100"), 0, "not every MESSAGE got its 202");
	json_t *j = sink_result(0);
	cr_expect_eq(ji(j, "msgs_total"), 50);
	cr_expect_eq(ji(j, "bytes_total"), 50 * 100);
	cr_expect_eq(ji(j, "missing"), 0);
	cr_expect_eq(ji(j, "extra"), 0);
	cr_expect_eq(ji(j, "errors"), 0);
	cr_expect_eq(ji(j, "sessions"), 1, "one (From, To) pair is one MSRP session");
	cr_expect_eq(ji(j, "invites"), 1);
	cr_expect_eq(ji(j, "acks"), 1);
	cr_expect_eq(ji(j, "msrp_conns"), 1);
	/* the window opened at the first message and closed at the 50th */
	cr_expect_gt(ji(j, "msgs"), 40);
	cr_expect_gt(json_number_value(json_object_get(j, "msgs_per_s")), 0);
	cr_expect_gt(json_number_value(json_object_get(j, "sut_cpu_us_per_msg")), 0);
	json_decref(j);
}

Test(bench_gateway, messages_that_never_come_are_missing)
{
	const char *args[] = { "--count", "15", "--duration", "0.2", "--warmup", "0", "--idle",
			       "0.3", NULL };
	sink_start(args);
	cr_assert_eq(client("10", "100"), 0);
	json_t *j = sink_result(3);
	cr_expect_eq(ji(j, "msgs_total"), 10);
	cr_expect_eq(ji(j, "missing"), 5);
	cr_expect_eq(ji(j, "errors"), 0);
	json_decref(j);
}
