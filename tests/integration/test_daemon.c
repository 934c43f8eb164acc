/* test_daemon.c — the real rcsgw binary: backends (chosen, configured, and the fallback
 * when seccomp refuses io_uring as Docker's default profile does), pinned workers,
 * configuration errors (exit 2 naming file, line, key or variable), JSON logs, signals. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/dm_ocs.h"
#include "tests/lib/http_srv.h"
#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"

#define HOST "127.0.0.1"

static pid_t pid = -1;
static int efd = -1;
static int api_port, msrp_port;

static void stop_daemon(void)
{
	if (pid > 0)
		rcsgw_stop(pid, SIGKILL, 2000);
	pid = -1;
	if (efd >= 0)
		close(efd);
	efd = -1;
}

static char env_listen[64], env_msrp[64];

/* Starts the daemon with <extra> env ("K=V", NULL-terminated) and waits for its API. */
static void start_daemon(const char *const *extra, void (*pre_exec)(void))
{
	char *env[16];
	int n = 0;

	api_port = free_tcp_port();
	cr_assert_gt(api_port, 0);
	snprintf(env_listen, sizeof(env_listen), "RCSGW_API_LISTEN=127.0.0.1:%d", api_port);
	env[n++] = env_listen;
	msrp_port = free_tcp_port();
	snprintf(env_msrp, sizeof(env_msrp), "RCSGW_MSRP_LISTEN=127.0.0.1:%d", msrp_port);
	env[n++] = env_msrp;
	for (int i = 0; extra && extra[i]; i++)
		env[n++] = (char *)extra[i];
	env[n] = NULL;
	char *argv[] = { (char *)proc_bin("rcsgw"), NULL };
	pid = proc_spawn(argv, env, NULL, &efd, pre_exec);
	cr_assert_gt(pid, 0);
	if (wait_port(HOST, api_port, 10000) < 0) {
		char out[8192];
		proc_read_all(efd, out, sizeof(out), 200);
		stop_daemon();
		cr_assert_fail("the API did not come up; stderr:\n%s", out);
	}
}

static json_t *get_status(void)
{
	int status;
	char *body = NULL;
	int rc = http_request(HOST, api_port, "GET", "/v1/status", NULL, NULL, &status, NULL,
			      &body, 5000);
	cr_assert_eq(rc, 0, "GET /v1/status: %s", strerror(-rc));
	cr_assert_eq(status, 200, "%s", body);
	json_t *j = json_loads(body, 0, NULL);
	free(body);
	cr_assert(j);
	return j;
}

static const char *backend_of(json_t *j, const char **reason)
{
	json_t *eng = json_object_get(j, "engine");
	if (reason)
		*reason = json_string_value(json_object_get(eng, "backend_reason"));
	return json_string_value(json_object_get(eng, "backend"));
}

TestSuite(daemon, .fini = stop_daemon, .timeout = 60);

Test(daemon, defaults_io_uring_one_pinned_worker_per_core)
{
	start_daemon(NULL, NULL);
	json_t *j = get_status();
	const char *why;
	cr_expect_str_eq(backend_of(j, &why), "io_uring", "backend chosen because: %s", why);
	json_t *workers = json_object_get(json_object_get(j, "engine"), "workers");
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cr_expect_eq((long)json_array_size(workers), ncpu);
	unsigned long seen = 0;
	size_t i;
	json_t *w;
	json_array_foreach(workers, i, w) {
		json_int_t cpu = json_integer_value(json_object_get(w, "cpu"));
		cr_expect(json_is_integer(json_object_get(w, "cpu")), "worker %zu not pinned", i);
		cr_expect(cpu >= 0 && cpu < 64 && !(seen & (1ul << cpu)), "cpu %lld twice",
			  (long long)cpu);
		seen |= 1ul << (cpu & 63);
	}
	json_decref(j);
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0, "SIGTERM: clean exit 0");
	pid = -1;
}

Test(daemon, epoll_by_config)
{
	const char *env[] = { "RCSGW_ENGINE_BACKEND=epoll", "RCSGW_ENGINE_WORKERS=1", NULL };
	start_daemon(env, NULL);
	json_t *j = get_status();
	const char *why;
	cr_expect_str_eq(backend_of(j, &why), "epoll");
	cr_expect(why && strstr(why, "engine.backend"), "reason: %s", why);
	cr_expect_eq(json_array_size(json_object_get(json_object_get(j, "engine"), "workers")), 1);
	json_decref(j);
	cr_expect_eq(rcsgw_stop(pid, SIGINT, 15000), 0, "SIGINT: clean exit 0");
	pid = -1;
}

/* The default Docker/Kubernetes seccomp profiles answer io_uring_setup with EPERM. */
static void deny_io_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		_exit(126);
}

Test(daemon, falls_back_to_epoll_when_seccomp_refuses_io_uring)
{
	start_daemon(NULL, deny_io_uring);
	json_t *j = get_status();
	const char *why;
	cr_expect_str_eq(backend_of(j, &why), "epoll");
	cr_expect(why && strstr(why, "io_uring_setup") && strstr(why, "not permitted"),
		  "reason: %s", why);
	json_decref(j);
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0);
	pid = -1;
	char out[8192];
	proc_read_all(efd, out, sizeof(out), 1000);
	cr_expect(strstr(out, "epoll backend (io_uring unavailable"), "start-up log:\n%s", out);
}

Test(daemon, io_uring_required_but_refused_exits)
{
	const char *env[] = { "RCSGW_ENGINE_BACKEND=io_uring", NULL };
	char *argv[] = { (char *)proc_bin("rcsgw"), NULL };
	pid = proc_spawn(argv, (char *const *)env, NULL, &efd, deny_io_uring);
	int st = proc_wait(pid, 10000);
	pid = -1;
	cr_assert(st != -1 && WIFEXITED(st), "did not exit");
	cr_expect_eq(WEXITSTATUS(st), 1);
	char out[4096];
	proc_read_all(efd, out, sizeof(out), 1000);
	cr_expect(strstr(out, "engine.backend = io_uring, but io_uring_setup"), "%s", out);
}

/* Runs rcsgw with <args> and <env>, expects exit <code>, returns its stderr (static). */
static const char *run_expect(char *const args[], const char *const *env, int code)
{
	static char out[8192];
	char *argv[8];
	int n = 0, fd;
	argv[n++] = (char *)proc_bin("rcsgw");
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t p = proc_spawn(argv, (char *const *)env, NULL, &fd, NULL);
	proc_read_all(fd, out, sizeof(out), 10000);
	close(fd);
	int st = proc_wait(p, 10000);
	cr_assert(st != -1 && WIFEXITED(st), "rcsgw did not exit");
	cr_expect_eq(WEXITSTATUS(st), code, "exit %d, stderr: %s", WEXITSTATUS(st), out);
	return out;
}

Test(daemon, bad_config_file_names_file_line_key)
{
	char path[] = "/tmp/rcsgw-test-XXXXXX.conf";
	int fd = mkstemps(path, 5);
	const char text[] = "engine: {\n  backend = \"epoll\";\n  workers = \"lots\";\n};\n";
	cr_assert(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	char *args[] = { "-c", path, NULL };
	const char *out = run_expect(args, NULL, 2);
	cr_expect(strstr(out, ":3:") && strstr(out, "engine.workers") && strstr(out, "lots"),
		  "message: %s", out);
	cr_expect(strstr(out, strrchr(path, '/') + 1), "file not named: %s", out);
	unlink(path);
}

Test(daemon, bad_environment_names_the_variable)
{
	const char *env[] = { "RCSGW_ENGINE_SENDQ_HIGH=banana", NULL };
	const char *out = run_expect(NULL, env, 2);
	cr_expect(strstr(out, "RCSGW_ENGINE_SENDQ_HIGH"), "message: %s", out);
}

Test(daemon, check_config_and_version)
{
	char *args[] = { "-c", "etc/rcsgw.conf", "--check-config", NULL };
	run_expect(args, NULL, 0);
	char *v[] = { "--version", NULL };
	run_expect(v, NULL, 0);
	char *bad[] = { "--no-such-flag", NULL };
	run_expect(bad, NULL, 2);
}

Test(daemon, json_logs)
{
	const char *env[] = { "RCSGW_LOG_FORMAT=json", "RCSGW_ENGINE_WORKERS=1", NULL };
	start_daemon(env, NULL);
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0);
	pid = -1;
	char out[8192];
	proc_read_all(efd, out, sizeof(out), 1000);
	int lines = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *j = json_loads(line, 0, NULL);
		cr_expect(j && json_string_value(json_object_get(j, "msg")) &&
				  json_string_value(json_object_get(j, "level")),
			  "not a JSON log line: %s", line);
		json_decref(j);
		lines++;
	}
	cr_expect_geq(lines, 3, "start, listen and stop lines expected");
}

/* ---- SIGTERM drains: no new connections, open ones served until they end or the
 * deadline passes ------------------------------------------------------------------- */

static int msrp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)msrp_port) };
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static const char send_req[] =
	"MSRP d7a8c0e1 SEND\r\nTo-Path: msrp://127.0.0.1:2855/s9Kd03jfaQ;tcp\r\n"
	"From-Path: msrp://127.0.0.1:40000/c1x7yQ2;tcp\r\nMessage-ID: m1\r\n"
	"Content-Type: text/plain\r\n\r\nhi\r\n-------d7a8c0e1$\r\n";

/* Sends a SEND on <fd> and says whether its 481 came back. */
static int served(int fd)
{
	char buf[2048];
	size_t n = 0;
	if (send(fd, send_req, sizeof(send_req) - 1, MSG_NOSIGNAL) < 0)
		return 0;
	while (n < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "-------d7a8c0e1$\r\n"))
			return strncmp(buf, "MSRP d7a8c0e1 481", 17) == 0;
	}
	return 0;
}

Test(daemon, sigterm_drains_open_connections)
{
	const char *env[] = { "RCSGW_ENGINE_DRAIN_TIMEOUT=20s", NULL };
	start_daemon(env, NULL);
	int fd = msrp_connect();
	cr_assert_geq(fd, 0);
	cr_expect(served(fd), "not served before the drain");
	kill(pid, SIGTERM);
	/* the listeners close: new connections are refused */
	int refused = 0;
	for (int i = 0; i < 100 && !refused; i++) {
		int nfd = msrp_connect();
		refused = nfd < 0;
		if (nfd >= 0) {
			close(nfd);
			usleep(20000);
		}
	}
	cr_expect(refused, "new MSRP connections still accepted while draining");
	/* the open connection is still served */
	cr_expect(served(fd), "the open connection was not served during the drain");
	/* when it ends, the daemon ends long before the 20 s deadline */
	long long t0 = proc_now_ms();
	close(fd);
	int st = proc_wait(pid, 10000);
	pid = -1;
	cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
	cr_expect_lt(proc_now_ms() - t0, 5000, "the drain did not end with the last connection");
}

Test(daemon, drain_deadline_closes_what_is_left)
{
	const char *env[] = { "RCSGW_ENGINE_DRAIN_TIMEOUT=1s", NULL };
	start_daemon(env, NULL);
	int fd = msrp_connect();
	cr_assert_geq(fd, 0);
	cr_expect(served(fd));
	long long t0 = proc_now_ms();
	kill(pid, SIGTERM);
	int st = proc_wait(pid, 10000);
	pid = -1;
	long long took = proc_now_ms() - t0;
	cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
	cr_expect(took >= 900 && took < 5000, "stopped after %lld ms with a 1 s deadline", took);
	/* the connection was closed by the daemon */
	char b;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	cr_expect(poll(&p, 1, 2000) == 1 && recv(fd, &b, 1, 0) <= 0, "connection left open");
	close(fd);
}

/* engine.drain_timeout bounds the whole stop, the Diameter peers' DPR answers included: a
 * peer that never answers the DPR (stopped) costs the deadline, not 2 s more before it. */
Test(daemon, drain_deadline_bounds_the_dpr_too)
{
	static struct dm_ocs o = DM_OCS_INIT;
	char peers[128];
	cr_assert_eq(dm_ocs_start(&o), 0, "the Diameter peer did not start");
	const char *env[] = { dm_ocs_peer_env(&o, peers, sizeof(peers)),
			      "RCSGW_DIAMETER_ORIGIN_HOST=gw.test.local",
			      "RCSGW_DIAMETER_ORIGIN_REALM=test.local",
			      "RCSGW_ENGINE_DRAIN_TIMEOUT=1s", NULL };
	start_daemon(env, NULL);
	cr_assert(dm_ocs_wait_open(api_port, 5000), "the peer never opened");
	kill(o.pid, SIGSTOP); /* takes the DPR, never answers it */
	long long t0 = proc_now_ms();
	kill(pid, SIGTERM);
	int st = proc_wait(pid, 10000);
	pid = -1;
	long long took = proc_now_ms() - t0;
	kill(o.pid, SIGCONT);
	dm_ocs_stop(&o);
	cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
	cr_expect(took >= 900 && took < 1800, "stopped after %lld ms with a 1 s deadline", took);
}

/* ---- SIGTERM drains the events held for webhooks too --------------------------------- */

/* The daemon of start_daemon() with its user agent on a free SIP port, webhooks to <hook>
 * and the settings <more> (NULL-terminated). */
static void start_with_hook(const char *hook, const char *const *more)
{
	static char e_sip[64], e_hook[128];
	const char *env[12];
	int n = 0, sip = free_tcp_port();
	cr_assert_gt(sip, 0);
	snprintf(e_sip, sizeof(e_sip), "RCSGW_SIP_LISTEN=tcp:" HOST ":%d", sip);
	snprintf(e_hook, sizeof(e_hook), "RCSGW_API_WEBHOOKS=%s", hook);
	env[n++] = e_sip;
	env[n++] = e_hook;
	env[n++] = "RCSGW_ENGINE_WORKERS=1";
	for (int i = 0; more[i]; i++)
		env[n++] = more[i];
	env[n] = NULL;
	start_daemon(env, NULL);
}

/* The same with a receiver that is down (connection refused), retried 50 times (more than
 * a test lasts), and <drain> (an RCSGW_ENGINE_DRAIN_TIMEOUT setting). */
static void start_with_dead_hook(const char *drain)
{
	char url[96];
	int dead = free_tcp_port();
	cr_assert_gt(dead, 0);
	snprintf(url, sizeof(url), "http://" HOST ":%d/hook", dead);
	start_with_hook(url, (const char *[]){ drain, "RCSGW_API_WEBHOOK_RETRIES=50", NULL });
}

static double metric_of(const char *name)
{
	return http_metric_sum(api_port, NULL, name);
}

/* <n> sessions to a SIP port where nobody listens over TCP: each fails at once and
 * publishes session.failed; returns when the <n> events are published. */
static void failing_sessions(int n)
{
	char body[256];
	int dead = free_tcp_port();
	cr_assert_gt(dead, 0);
	snprintf(body, sizeof(body), "{\"from\":\"sip:bot@" HOST "\",\"to\":\"sip:nobody@" HOST
		 ":%d;transport=tcp\"}", dead);
	double base = metric_of("rcsgw_events_published_total");
	cr_assert_geq(base, 0);
	for (int i = 0; i < n; i++) {
		int st = 0;
		int rc = http_request(HOST, api_port, "POST", "/v1/sessions",
				      "Content-Type: application/json\r\n", body, &st, NULL, NULL,
				      5000);
		cr_assert(rc == 0 && st == 201, "POST /v1/sessions: %d %d", rc, st);
	}
	for (long long end = proc_now_ms() + 5000;
	     metric_of("rcsgw_events_published_total") < base + n && proc_now_ms() < end;)
		usleep(20000);
	cr_assert_geq(metric_of("rcsgw_events_published_total"), base + n,
		      "the sessions' events were not published");
}

/* SIGTERM to the daemon, which is expected to exit with 0 (within 15 s); its stderr into
 * <out>. The milliseconds it took. */
static long long term_and_wait(char *out, size_t len)
{
	long long t0 = proc_now_ms();
	kill(pid, SIGTERM);
	int st = proc_wait(pid, 15000);
	long long took = proc_now_ms() - t0;
	pid = -1;
	cr_log_info("rcsgw exited %lld ms after SIGTERM", took);
	proc_read_all(efd, out, len, 1000);
	cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
	return took;
}

/* <got> webhook POSTs on <hs> (stopped and emptied here): the 5 session.failed of
 * failing_sessions() and the drain's status.changed among them, in the order published. */
static void expect_all_delivered(struct http_srv *hs, int got)
{
	int failed = 0, draining = 0;
	long long prev = 0;
	for (int i = 0; i < got && i < HTTP_SRV_HOOK_MAX; i++) {
		json_t *j = json_loads(hs->hook[i], 0, NULL);
		const char *type = json_string_value(json_object_get(j, "type"));
		const char *det = json_string_value(json_object_get(j, "details"));
		failed += type && !strcmp(type, "session.failed");
		draining += type && !strcmp(type, "status.changed") && det && strstr(det, "draining");
		const char *id_s = json_string_value(json_object_get(j, "id"));
		long long id = id_s ? atoll(id_s) : 0;
		cr_expect_gt(id, prev, "event %d out of order (or twice): %s", i, hs->hook[i]);
		prev = id;
		json_decref(j);
	}
	http_srv_stop(hs);
	http_srv_hooks_free(hs);
	cr_expect_eq(failed, 5, "%d of the 5 session.failed delivered (%d events)", failed, got);
	cr_expect_eq(draining, 1, "the drain's status.changed not delivered (%d events)", got);
}

/* A receiver that answers each POST after 300 ms: the 5 events held at SIGTERM, and the
 * status.changed of the drain, are all delivered, in order, before rcsgw exits, and it
 * exits when they are (not at the 10 s deadline); nothing is reported lost. */
Test(daemon, sigterm_delivers_the_events_held_for_webhooks)
{
	static struct http_srv hs;
	char url[96];
	cr_assert_eq(http_srv_start(&hs), 0);
	snprintf(url, sizeof(url), "%s/hook/300", hs.base);
	start_with_hook(url, (const char *[]){ "RCSGW_ENGINE_DRAIN_TIMEOUT=10s", NULL });
	failing_sessions(5);
	char out[16384];
	long long took = term_and_wait(out, sizeof(out));
	int got = atomic_load(&hs.nhook);
	cr_expect_lt(took, 6000, "the drain took %lld ms for the events held", took);
	cr_expect(!strstr(out, "not delivered to webhooks"), "events reported lost:\n%s", out);
	expect_all_delivered(&hs, got);
}

/* The receiver is down while the events are published: the oldest waits for its second
 * retry (2 s of back-off, ±20 %), the others behind it. It comes back and SIGTERM comes:
 * the retry is made at once, not after its back-off, and everything goes out in order. */
Test(daemon, sigterm_retries_at_once)
{
	static struct http_srv hs;
	char url[96];
	int port = free_tcp_port();
	cr_assert_gt(port, 0);
	snprintf(url, sizeof(url), "http://" HOST ":%d/hook", port);
	start_with_hook(url, (const char *[]){ "RCSGW_ENGINE_DRAIN_TIMEOUT=10s", NULL });
	failing_sessions(5);
	for (long long end = proc_now_ms() + 5000;
	     metric_of("rcsgw_webhook_retries_total") < 2 && proc_now_ms() < end;)
		usleep(20000);
	cr_assert_geq(metric_of("rcsgw_webhook_retries_total"), 2);
	cr_assert_eq(http_srv_start_at(&hs, port), 0, "the receiver did not come back");
	char out[16384];
	long long took = term_and_wait(out, sizeof(out));
	int got = atomic_load(&hs.nhook);
	cr_expect_lt(took, 1000, "the drain took %lld ms: the retry waited for its back-off",
		     took);
	cr_expect(!strstr(out, "not delivered to webhooks"), "events reported lost:\n%s", out);
	expect_all_delivered(&hs, got);
}

/* The receiver is down: the drain waits for the held events up to engine.drain_timeout
 * (1 s) only, and says how many it could not deliver: those held before SIGTERM and the
 * drain's status.changed. */
Test(daemon, sigterm_counts_the_events_left_for_webhooks)
{
	start_with_dead_hook("RCSGW_ENGINE_DRAIN_TIMEOUT=1s");
	failing_sessions(5);
	double held = metric_of("rcsgw_events_held");
	cr_assert_geq(held, 5, "%.0f events held", held);
	char out[16384], want[96];
	long long took = term_and_wait(out, sizeof(out));
	cr_expect(took >= 900 && took < 2000, "stopped after %lld ms with a 1 s deadline", took);
	snprintf(want, sizeof(want), "api: %.0f events not delivered to webhooks at stop",
		 held + 1);
	cr_expect(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want, out);
}

/* The receiver is down and the deadline 10 s away: a second SIGTERM ends the wait for the
 * webhooks at once, and what was held is reported. */
Test(daemon, second_sigterm_cuts_the_wait_for_webhooks)
{
	start_with_dead_hook("RCSGW_ENGINE_DRAIN_TIMEOUT=10s");
	failing_sessions(1);
	kill(pid, SIGTERM);
	usleep(300 * 1000);
	char out[16384];
	long long took = term_and_wait(out, sizeof(out));
	cr_expect_lt(took, 1000, "the second SIGTERM did not cut the drain short");
	cr_expect(strstr(out, "events not delivered to webhooks at stop") != NULL, "%s", out);
}
