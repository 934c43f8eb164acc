/* test_http.c — the worker's HTTP client (engine/eng_http.c) against a libmicrohttpd server
 * on 127.0.0.1 (tests/lib/http_srv.c), on both backends: answers and statuses, a slow
 * answer that times out, a refused port, a body over the bound, cancellation, 100 requests
 * in flight, and freeing the client with requests pending (from outside and from inside a
 * callback). Every object of the client is touched on the worker's thread only
 * (tests/lib/eng_job.h); every wait is bounded. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_http.h"
#include "tests/lib/eng_job.h"
#include "tests/lib/http_srv.h"

#define NPAR 100

/* What one request saw. */
struct hq {
	eng_http_req *r;
	int calls;
	int status;
	int inside;                /* the callback ran inside eng_http_post_json() */
	int free_in_cb;            /* the callback frees the client */
	size_t len;
	char body[256];
	char url[128];
	char json[128];
	uint32_t timeout_ms;
	uint64_t t0, t1;
};

static struct {
	eng_engine *e;
	eng_worker *w;
	eng_http *h;
	struct http_srv srv;
	int in_post;
	struct hq q[NPAR];
} T;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_answer(void *arg, int status, const char *body, size_t len)
{
	struct hq *q = arg;

	q->calls++;
	q->status = status;
	q->inside |= T.in_post;
	q->t1 = mono_ms();
	q->len = len;
	snprintf(q->body, sizeof(q->body), "%.*s", (int)(len < 255 ? len : 255), body);
	if (q->free_in_cb) {
		eng_http_free(T.h);
		T.h = NULL;
	}
}

static void job_new(void *arg)
{
	(void)arg;
	T.h = eng_http_new(T.w);
}

static void job_free(void *arg)
{
	(void)arg;
	eng_http_free(T.h);
	T.h = NULL;
}

/* Posts every T.q[i] for i < *(unsigned *)arg with a url set. */
static void job_post(void *arg)
{
	unsigned n = *(unsigned *)arg;
	for (unsigned i = 0; i < n; i++) {
		struct hq *q = &T.q[i];
		if (!q->url[0])
			continue;
		q->t0 = mono_ms();
		T.in_post = 1;
		q->r = eng_http_post_json(T.h, q->url, q->json[0] ? q->json : "{}",
					  q->timeout_ms ? q->timeout_ms : 3000, on_answer, q);
		T.in_post = 0;
	}
}

static int all_called(void *arg)
{
	unsigned n = *(unsigned *)arg;
	for (unsigned i = 0; i < n; i++)
		if (T.q[i].url[0] && T.q[i].calls == 0)
			return 0;
	return 1;
}

static void post_and_wait(unsigned n, int ms)
{
	cr_assert_eq(eng_job_run(T.w, job_post, &n), 0);
	for (unsigned i = 0; i < n; i++)
		cr_assert(!T.q[i].url[0] || T.q[i].r, "request %u did not start", i);
	cr_assert_eq(eng_job_wait(T.w, all_called, &n, ms), 0, "callbacks missing after %d ms",
		     ms);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_leq(T.q[i].calls, 1, "request %u: %d callbacks", i, T.q[i].calls);
		cr_assert_eq(T.q[i].inside, 0, "request %u: callback inside the post", i);
	}
}

static void url(unsigned i, const char *path)
{
	snprintf(T.q[i].url, sizeof(T.q[i].url), "%s%s", T.srv.base, path);
}

static void setup_be(enum eng_backend be)
{
	char err[200];

	memset(&T, 0, sizeof(T));
	cr_assert_eq(eng_http_global_init(), 0);
	cr_assert_eq(http_srv_start(&T.srv), 0, "libmicrohttpd did not start");
	T.e = eng_job_engine(be, err, sizeof(err));
	if (!T.e && be == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring unavailable here: %s", err);
	cr_assert(T.e, "engine: %s", err);
	T.w = eng_worker_at(T.e, 0);
	cr_assert_eq(eng_job_run(T.w, job_new, NULL), 0);
	cr_assert(T.h);
}

static void setup_epoll(void) { setup_be(ENG_BACKEND_EPOLL); }
static void setup_uring(void) { setup_be(ENG_BACKEND_IO_URING); }

static void teardown(void)
{
	if (T.e && T.h)
		eng_job_run(T.w, job_free, NULL);
	if (T.e)
		eng_destroy(T.e);
	T.e = NULL;
	http_srv_stop(&T.srv);
}

/* ---- the tests, run on each backend -------------------------------------------------------- */

static void t_answers(void)
{
	url(0, "/echo");
	snprintf(T.q[0].json, sizeof(T.q[0].json), "{\"user\": \"alice\"}");
	url(1, "/status/404");
	url(2, "/status/503");
	url(3, "/nowhere");
	post_and_wait(4, 5000);
	cr_assert_eq(T.q[0].status, 200);
	cr_assert_str_eq(T.q[0].body, "{\"user\": \"alice\"}");
	cr_assert_eq(T.q[1].status, 404);
	cr_assert_eq(T.q[1].len, 0);
	cr_assert_eq(T.q[2].status, 503);
	cr_assert_eq(T.q[3].status, 404);

	/* the same client again: the kept connection is reused */
	memset(T.q, 0, sizeof(T.q));
	url(0, "/echo");
	snprintf(T.q[0].json, sizeof(T.q[0].json), "{\"n\": 2}");
	post_and_wait(1, 5000);
	cr_assert_eq(T.q[0].status, 200);
	cr_assert_str_eq(T.q[0].body, "{\"n\": 2}");
}

static void t_timeout(void)
{
	url(0, "/slow/3000");
	T.q[0].timeout_ms = 300;
	post_and_wait(1, 3000);
	cr_assert_eq(T.q[0].status, -ETIMEDOUT);
	uint64_t took = T.q[0].t1 - T.q[0].t0;
	cr_assert(took >= 250 && took < 1500, "timed out after %llu ms",
		  (unsigned long long)took);
}

/* A port with nothing listening on 127.0.0.1. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(s >= 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	return ntohs(a.sin_port);
}

static void t_refused(void)
{
	snprintf(T.q[0].url, sizeof(T.q[0].url), "http://127.0.0.1:%d/creds", closed_port());
	post_and_wait(1, 3000);
	cr_assert_eq(T.q[0].status, -ECONNREFUSED);
	/* not an http(s) URL: refused by libcurl, reported later as -EIO */
	memset(T.q, 0, sizeof(T.q));
	snprintf(T.q[0].url, sizeof(T.q[0].url), "file:///etc/passwd");
	post_and_wait(1, 3000);
	cr_assert_eq(T.q[0].status, -EIO);
}

static void t_big(void)
{
	url(0, "/big");
	post_and_wait(1, 5000);
	cr_assert_eq(T.q[0].status, -EMSGSIZE);
}

static void job_cancel_all(void *arg)
{
	unsigned n = *(unsigned *)arg;
	for (unsigned i = 0; i < n; i++)
		if (T.q[i].r)
			eng_http_cancel(T.q[i].r);
}

static unsigned pending_now;

static void job_pending(void *arg)
{
	(void)arg;
	pending_now = eng_http_pending(T.h);
}

/* Posts T.q[0..n-1] and runs <after> in the same job (no answer can come in between),
 * then checks that none of them is called back within <quiet_ms>. */
static void (*after_post)(void *arg);

static void job_post_then(void *arg)
{
	job_post(arg);
	after_post(arg);
}

static void post_then_quiet(unsigned n, void (*after)(void *arg), int quiet_ms)
{
	after_post = after;
	cr_assert_eq(eng_job_run(T.w, job_post_then, &n), 0);
	usleep((useconds_t)quiet_ms * 1000);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(T.q[i].calls, 0, "request %u was called back", i);
}

static void t_cancel(void)
{
	url(0, "/slow/300");
	url(1, "/echo");
	url(2, "/status/404");
	post_then_quiet(3, job_cancel_all, 700);
	cr_assert_eq(eng_job_run(T.w, job_pending, NULL), 0);
	cr_assert_eq(pending_now, 0);
	/* a later request still works on the same client */
	memset(T.q, 0, sizeof(T.q));
	url(0, "/status/204");
	post_and_wait(1, 3000);
	cr_assert_eq(T.q[0].status, 204);
}

static void t_parallel(void)
{
	for (unsigned i = 0; i < NPAR; i++) {
		url(i, "/echo");
		snprintf(T.q[i].json, sizeof(T.q[i].json), "{\"i\": %u}", i);
	}
	post_and_wait(NPAR, 10000);
	for (unsigned i = 0; i < NPAR; i++) {
		char want[32];
		snprintf(want, sizeof(want), "{\"i\": %u}", i);
		cr_assert_eq(T.q[i].status, 200, "request %u: %d", i, T.q[i].status);
		cr_assert_str_eq(T.q[i].body, want);
	}
}

static void t_free_pending(void)
{
	url(0, "/slow/200");
	url(1, "/slow/200");
	url(2, "/echo");
	post_then_quiet(3, job_free, 500);
}

static int first_called(void *arg)
{
	(void)arg;
	return T.q[0].calls > 0;
}

static void t_free_in_callback(void)
{
	unsigned n = 2;
	url(0, "/status/200");
	T.q[0].free_in_cb = 1;
	url(1, "/slow/400");
	cr_assert_eq(eng_job_run(T.w, job_post, &n), 0);
	cr_assert_eq(eng_job_wait(T.w, first_called, NULL, 3000), 0);
	cr_assert_eq(T.q[0].status, 200);
	cr_assert_null(T.h);
	usleep(600 * 1000);
	cr_assert_eq(T.q[1].calls, 0);
}

#define BOTH(name)                                                                         \
	Test(http_epoll, name, .init = setup_epoll, .fini = teardown, .timeout = 30)      \
	{                                                                                  \
		t_##name();                                                                \
	}                                                                                  \
	Test(http_uring, name, .init = setup_uring, .fini = teardown, .timeout = 30)      \
	{                                                                                  \
		t_##name();                                                                \
	}

BOTH(answers)
BOTH(timeout)
BOTH(refused)
BOTH(big)
BOTH(cancel)
BOTH(parallel)
BOTH(free_pending)
BOTH(free_in_callback)
