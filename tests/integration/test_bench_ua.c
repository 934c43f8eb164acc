/* test_bench_ua.c — `rcsbench ua-setup` and `rcsbench ua-send` (bench/lib/bench_ua.c) end to
 * end on a tiny load against the real daemon: every session up, deleted and its BYE
 * answered, messages delivered byte-exact with nothing lost, and refusals counted (the
 * daemon's ua.max_sessions makes 503s: the bench must report them and exit 3). */
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

#define HOST "127.0.0.1"

static pid_t gw = -1;
static int api_port;

static void up_with(const char *extra)
{
	char a[64], m[64];
	int msrp = free_tcp_port();
	api_port = free_tcp_port();
	cr_assert(msrp > 0 && api_port > 0);
	snprintf(a, sizeof(a), "RCSGW_API_LISTEN=" HOST ":%d", api_port);
	snprintf(m, sizeof(m), "RCSGW_MSRP_LISTEN=" HOST ":%d", msrp);
	/* rcsgw's SIP port is never needed: the bench is the UAS and answers where INVITEs
	 * come from */
	const char *env[] = { a, m, "RCSGW_SIP_LISTEN=udp:" HOST ":0", "RCSGW_ENGINE_WORKERS=1",
			      "RCSGW_LOG_LEVEL=warn", extra, NULL };
	gw = rcsgw_spawn(env, NULL, NULL);
	cr_assert_gt(gw, 0);
	cr_assert_eq(wait_port(HOST, api_port, 5000), 0, "the API did not come up");
	cr_assert_eq(wait_port(HOST, msrp, 5000), 0, "MSRP did not come up");
}

static void up(void)
{
	up_with(NULL);
}

static void up_max5(void)
{
	up_with("RCSGW_UA_MAX_SESSIONS=5");
}

static void down(void)
{
	int rc = rcsgw_stop(gw, SIGTERM, 5000);
	gw = -1;
	cr_expect_eq(rc, 0, "rcsgw exited with %d", rc);
}

/* Runs rcsbench <mode> with <args> (NULL-terminated) plus the addresses, --sut-pid and
 * --json; checks its exit status is <want> and returns its JSON line. */
static json_t *bench(const char *mode, const char *const *args, int want)
{
	char api[32], sut[16], out[16384];
	const char *argv[40];
	int n = 0, fd = -1;

	snprintf(api, sizeof(api), HOST ":%d", api_port);
	snprintf(sut, sizeof(sut), "%d", (int)gw);
	argv[n++] = proc_bin("rcsbench");
	cr_assert_eq(access(argv[0], X_OK), 0, "%s is not built", argv[0]);
	argv[n++] = mode;
	const char *common[] = { "--api", api, "--sip-listen", HOST ":0", "--msrp-listen",
				 HOST ":0", "--sut-pid", sut, "--json", "--no-pin", NULL };
	for (int i = 0; common[i]; i++)
		argv[n++] = common[i];
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t p = proc_spawn((char *const *)argv, NULL, &fd, NULL, NULL);
	cr_assert_gt(p, 0);
	proc_read_all(fd, out, sizeof(out), 15000);
	close(fd);
	int st = proc_wait(p, 5000);
	if (st == -1)
		proc_stop(p, SIGKILL, 1000);
	cr_assert(st != -1 && WIFEXITED(st), "rcsbench %s did not end (%d):\n%s", mode, st, out);
	cr_assert_eq(WEXITSTATUS(st), want, "rcsbench %s exited with %d, %d expected:\n%s", mode,
		     WEXITSTATUS(st), want, out);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", out);
	return j;
}

static json_int_t ji(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "no integer %s", k);
	return json_integer_value(v);
}

static double jr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_number(v), "no number %s", k);
	return json_number_value(v);
}

/* Integer fields that must have these values. */
struct want {
	const char *key;
	json_int_t v;
};

static void expect_ints(json_t *o, const struct want *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(ji(o, w[i].key), w[i].v, "%s: %lld, %lld expected", w[i].key,
			     (long long)ji(o, w[i].key), (long long)w[i].v);
}

#define EXPECT_INTS(o, ...)                                                                  \
	do {                                                                                  \
		const struct want w_[] = { __VA_ARGS__ };                                      \
		expect_ints((o), w_, sizeof(w_) / sizeof(w_[0]));                              \
	} while (0)

TestSuite(bench_ua, .init = up, .fini = down, .timeout = 30);

Test(bench_ua, setup_all_up_deleted_and_byes_answered)
{
	const char *args[] = { "--sessions", "20", "--concurrency", "4", NULL };
	json_t *j = bench("ua-setup", args, 0);
	cr_assert_str_eq(json_string_value(json_object_get(j, "mode")), "ua-setup");
	EXPECT_INTS(j, { "established", 20 }, { "established_total", 20 }, { "failures", 0 },
		    { "invites", 20 }, { "acks", 20 }, { "deleted", 20 }, { "byes", 20 },
		    { "bye_missing", 0 }, { "sip_stray", 0 }, { "unknown_session", 0 });
	cr_assert_gt(jr(j, "sessions_per_s"), 0);
	cr_assert_gt(jr(j, "setup_p50_us"), 0);
	cr_assert_geq(jr(j, "setup_max_us"), jr(j, "setup_p50_us"));
	cr_assert_gt(jr(j, "sut_cpu_us_per_session"), 0);
	json_decref(j);

	/* the daemon holds none of them any more: every one is "ended" */
	int status = 0;
	char *body = NULL;
	cr_assert_eq(http_request(HOST, api_port, "GET", "/v1/sessions?state=established", NULL,
				  NULL, &status, NULL, &body, 5000), 0);
	cr_assert_eq(status, 200);
	json_t *list = json_loads(body, 0, NULL);
	free(body);
	json_t *items = json_is_array(list) ? list : json_object_get(list, "sessions");
	cr_assert(json_is_array(items), "no session list");
	cr_assert_eq(json_array_size(items), 0, "sessions still established after the run");
	json_decref(list);
}

Test(bench_ua, setup_hold_reports_memory_per_session)
{
	const char *args[] = { "--sessions", "20", "--concurrency", "8", "--hold", NULL };
	json_t *j = bench("ua-setup", args, 0);
	cr_assert(json_is_true(json_object_get(j, "hold")));
	/* held sessions are deleted at the end */
	EXPECT_INTS(j, { "established", 20 }, { "failures", 0 }, { "deleted", 20 },
		    { "byes", 20 });
	cr_assert_gt(ji(j, "sut_rss_kib"), 0);
	json_t *per = json_object_get(j, "sut_rss_per_session_b");
	cr_assert(json_is_null(per) || json_number_value(per) >= 0);
	json_decref(j);
}

Test(bench_ua, send_delivers_every_body_exactly)
{
	const char *sizes[] = { "100", "2k" };
	for (int i = 0; i < 2; i++) {
		const char *args[] = { "--sessions", "4", "--concurrency", "4", "--size", sizes[i],
				       "--duration", "0.6", "--warmup", "0.2", NULL };
		json_t *j = bench("ua-send", args, 0);
		cr_assert_str_eq(json_string_value(json_object_get(j, "mode")), "ua-send");
		cr_assert_gt(ji(j, "msgs"), 0, "size %s: nothing delivered", sizes[i]);
		cr_assert_gt(jr(j, "msgs_per_s"), 0);
		EXPECT_INTS(j, { "live", 4 }, { "verify_errors", 0 }, { "duplicates", 0 },
			    { "lost", 0 }, { "api_other", 0 }, { "byes", 4 },
			    { "posted", ji(j, "api_202") }, { "delivered_total", ji(j, "api_202") });
		cr_assert_gt(jr(j, "lat_p50_us"), 0);
		cr_assert_gt(jr(j, "sut_cpu_us_per_msg"), 0);
		json_decref(j);
	}
}

/* ua.max_sessions = 5: held sessions beyond get 503, which the bench counts (exit 3). */
Test(bench_ua, refusals_are_counted, .init = up_max5)
{
	const char *args[] = { "--sessions", "8", "--concurrency", "2", "--hold", NULL };
	json_t *j = bench("ua-setup", args, 3);
	EXPECT_INTS(j, { "established", 5 }, { "non_201", 3 }, { "first_status", 503 },
		    { "failures", 3 }, { "deleted", 5 }, { "byes", 5 });
	json_decref(j);
}
