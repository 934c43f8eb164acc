/* test_http.c — the worker's HTTP client (engine/eng_http.c) against a libmicrohttpd server
 * on 127.0.0.1 (tests/lib/http_srv.c), on both backends: answers and statuses, a slow
 * answer that times out, a refused port, a body over the bound, cancellation, 100 requests
 * in flight, and freeing the client with requests pending (from outside and from inside a
 * callback). Every object of the client is touched on the worker's thread only
 * (tests/lib/eng_job.h); every wait is bounded.
 *
 * eng_http_request() is checked against a second, recording server defined here (http_srv
 * neither records methods and headers nor takes other bodies than JSON): the method, the
 * headers and the body the server saw, NUL bytes included, no Expect even for a body of
 * more than a megabyte, the response's Content-Type in the callback, the arguments it
 * refuses, and cancelling or freeing the client with such requests pending. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
	const char *method;        /* set: eng_http_request() with what follows; else a post */
	const char *const *hdrs;
	const void *req_body;
	size_t req_len;
	int calls;
	int status;
	int has_ctype;             /* the eng_http_request() callback had a Content-Type */
	char ctype[64];
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

static void on_resp(void *arg, int status, const char *ctype, const char *body, size_t len)
{
	struct hq *q = arg;

	q->has_ctype = ctype != NULL;
	snprintf(q->ctype, sizeof(q->ctype), "%s", ctype ? ctype : "");
	on_answer(arg, status, body, len);
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
		uint32_t tmo = q->timeout_ms ? q->timeout_ms : 3000;
		T.in_post = 1;
		if (q->method)
			q->r = eng_http_request(T.h, q->method, q->url, q->hdrs, q->req_body,
						q->req_len, tmo, on_resp, q);
		else
			q->r = eng_http_post_json(T.h, q->url, q->json[0] ? q->json : "{}", tmo,
						  on_answer, q);
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

/* ---- a recording server for eng_http_request() ------------------------------------------- */

#define REC_SLOTS    4
#define REC_BODY_MAX (2u << 20)    /* request body bytes kept; more: 413 */
#define REC_CTYPE    "text/plain; charset=utf-8" /* type of every answer of the server */

/* What the recording server saw of the last request to /rec/SLOT/STATUS, which it answers
 * with STATUS and the body "rec" typed REC_CTYPE. */
struct rec_seen {
	int n;                     /* requests seen */
	char method[16];
	char xtest[64];            /* X-Rcsgw-Test, "" when absent */
	char ctype[64];            /* Content-Type, "" when absent */
	int has_ctype;
	int has_expect;            /* an Expect header came */
	char clen[24];             /* Content-Length, "" when absent */
	unsigned char *body;       /* <len> bytes (malloc) */
	size_t len;
};

/* One request being read. */
struct rec_conn {
	unsigned char *buf;
	size_t len;
	int too_big;
};

static struct {
	struct MHD_Daemon *d;
	char base[64];
	pthread_mutex_t mu;        /* the server's threads write seen[], the test reads it */
	struct rec_seen seen[REC_SLOTS];
} R;

static void rec_copy_hdr(struct MHD_Connection *c, const char *name, char *out, size_t n,
			 int *has)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	snprintf(out, n, "%s", v ? v : "");
	if (has)
		*has = v != NULL;
}

/* Records the finished request <q> (its body handed over) into its slot. */
static void rec_note(struct MHD_Connection *c, unsigned slot, const char *method,
		     struct rec_conn *q)
{
	pthread_mutex_lock(&R.mu);
	struct rec_seen *v = &R.seen[slot];
	v->n++;
	snprintf(v->method, sizeof(v->method), "%s", method);
	rec_copy_hdr(c, "X-Rcsgw-Test", v->xtest, sizeof(v->xtest), NULL);
	rec_copy_hdr(c, "Content-Type", v->ctype, sizeof(v->ctype), &v->has_ctype);
	rec_copy_hdr(c, "Content-Length", v->clen, sizeof(v->clen), NULL);
	v->has_expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect") != NULL;
	free(v->body);
	v->body = q->buf;
	v->len = q->len;
	q->buf = NULL;
	pthread_mutex_unlock(&R.mu);
}

static enum MHD_Result rec_reply(struct MHD_Connection *c, unsigned status)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(3, (void *)"rec", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", REC_CTYPE);
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result rec_append(struct rec_conn *q, const char *p, size_t n)
{
	if (n > REC_BODY_MAX - q->len) {
		q->too_big = 1;
		return MHD_YES;
	}
	unsigned char *nb = realloc(q->buf, q->len + n);
	if (!nb)
		return MHD_NO;
	memcpy(nb + q->len, p, n);
	q->buf = nb;
	q->len += n;
	return MHD_YES;
}

static enum MHD_Result rec_request(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *upload,
				   size_t *upload_len, void **state)
{
	struct rec_conn *q = *state;
	unsigned slot, status;

	(void)cls;
	(void)version;
	if (!q) {
		*state = calloc(1, sizeof(*q));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*upload_len) {
		enum MHD_Result rc = rec_append(q, upload, *upload_len);
		*upload_len = 0;
		return rc;
	}
	if (q->too_big)
		return rec_reply(c, 413);
	if (sscanf(url, "/rec/%u/%u", &slot, &status) != 2 || slot >= REC_SLOTS)
		return rec_reply(c, 404);
	rec_note(c, slot, method, q);
	return rec_reply(c, status);
}

static void rec_done(void *cls, struct MHD_Connection *c, void **state,
		     enum MHD_RequestTerminationCode why)
{
	struct rec_conn *q = *state;

	(void)cls;
	(void)c;
	(void)why;
	if (q)
		free(q->buf);
	free(q);
	*state = NULL;
}

static int rec_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	pthread_mutex_init(&R.mu, NULL);
	R.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				       MHD_USE_ERROR_LOG,
			       0, NULL, NULL, rec_request, NULL, MHD_OPTION_SOCK_ADDR, &a,
			       MHD_OPTION_NOTIFY_COMPLETED, rec_done, NULL,
			       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!R.d)
		return -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(R.d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		return -1;
	snprintf(R.base, sizeof(R.base), "http://127.0.0.1:%d", info->port);
	return 0;
}

static void rec_stop(void)
{
	if (R.d)
		MHD_stop_daemon(R.d);
	R.d = NULL;
	for (unsigned i = 0; i < REC_SLOTS; i++)
		free(R.seen[i].body);
	pthread_mutex_destroy(&R.mu);
	memset(&R, 0, sizeof(R));
}

/* A copy of what slot <i> saw (the body pointer stays the server's). */
static struct rec_seen rec_seen(unsigned i)
{
	pthread_mutex_lock(&R.mu);
	struct rec_seen v = R.seen[i];
	pthread_mutex_unlock(&R.mu);
	return v;
}

/* T.q[i] as eng_http_request(<method>) to the recording server's slot <slot>, answered
 * with <status>. */
static void rec_url(unsigned i, const char *method, unsigned slot, unsigned status)
{
	T.q[i].method = method;
	snprintf(T.q[i].url, sizeof(T.q[i].url), "%s/rec/%u/%u", R.base, slot, status);
}

static void setup_be(enum eng_backend be)
{
	char err[200];

	memset(&T, 0, sizeof(T));
	cr_assert_eq(eng_http_global_init(), 0);
	cr_assert_eq(http_srv_start(&T.srv), 0, "libmicrohttpd did not start");
	cr_assert_eq(rec_start(), 0, "the recording server did not start");
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
	rec_stop();
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

/* ---- eng_http_request() ------------------------------------------------------------------ */

static const char *const hdrs_x[] = { "X-Rcsgw-Test: one two", "Accept: text/plain", NULL };

static void t_request_methods(void)
{
	rec_url(0, "DELETE", 0, 204);
	T.q[0].hdrs = hdrs_x;
	rec_url(1, "GET", 1, 200);
	T.q[1].hdrs = hdrs_x;
	rec_url(2, "PATCH", 2, 202);
	post_and_wait(3, 5000);

	cr_assert_eq(T.q[0].status, 204);
	struct rec_seen v = rec_seen(0);
	cr_assert_eq(v.n, 1);
	cr_assert_str_eq(v.method, "DELETE");
	cr_assert_str_eq(v.xtest, "one two");
	cr_assert_eq(v.len, 0);
	cr_assert_eq(v.has_ctype, 0, "DELETE came with Content-Type %s", v.ctype);

	cr_assert_eq(T.q[1].status, 200);
	cr_assert_str_eq(T.q[1].body, "rec");
	v = rec_seen(1);
	cr_assert_str_eq(v.method, "GET");
	cr_assert_str_eq(v.xtest, "one two");
	cr_assert_eq(v.len, 0);

	/* a PATCH without a body still says so, and invents no Content-Type */
	cr_assert_eq(T.q[2].status, 202);
	v = rec_seen(2);
	cr_assert_str_eq(v.method, "PATCH");
	cr_assert_str_eq(v.xtest, "");
	cr_assert_str_eq(v.clen, "0");
	cr_assert_eq(v.has_ctype, 0, "PATCH came with Content-Type %s", v.ctype);
}

static void t_request_binary(void)
{
	static const unsigned char bin[] = { 'a', 0, 'b', 0, 0, 0xff, 0x80, 0, '\r', '\n', 0 };
	static const char *const hdrs[] = { "Content-Type: application/octet-stream",
					    "X-Rcsgw-Test: bin", NULL };
	rec_url(0, "POST", 0, 201);
	T.q[0].hdrs = hdrs;
	T.q[0].req_body = bin;
	T.q[0].req_len = sizeof(bin);
	/* an empty POST: Content-Length 0, and no form type made up by libcurl */
	rec_url(1, "POST", 1, 200);
	post_and_wait(2, 5000);

	cr_assert_eq(T.q[0].status, 201);
	struct rec_seen v = rec_seen(0);
	cr_assert_str_eq(v.method, "POST");
	cr_assert_str_eq(v.ctype, "application/octet-stream");
	cr_assert_str_eq(v.xtest, "bin");
	cr_assert_eq(v.has_expect, 0);
	cr_assert_eq(v.len, sizeof(bin), "body of %zu bytes arrived", v.len);
	cr_assert_eq(memcmp(v.body, bin, sizeof(bin)), 0, "the body changed on the way");

	cr_assert_eq(T.q[1].status, 200);
	v = rec_seen(1);
	cr_assert_str_eq(v.method, "POST");
	cr_assert_str_eq(v.clen, "0");
	cr_assert_eq(v.len, 0);
	cr_assert_eq(v.has_ctype, 0, "empty POST came with Content-Type %s", v.ctype);
}

/* A body past libcurl's threshold for "Expect: 100-continue" (1 MiB in 7.88) goes without
 * it, in one go. */
static void t_request_no_expect(void)
{
	size_t n = (3u << 20) / 2;
	unsigned char *big = malloc(n);
	cr_assert(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 7u);
	rec_url(0, "PUT", 0, 200);
	T.q[0].req_body = big;
	T.q[0].req_len = n;
	T.q[0].timeout_ms = 10000;
	post_and_wait(1, 10000);
	free(big);             /* the request kept its own copy; compared below via i * 7 */

	cr_assert_eq(T.q[0].status, 200);
	struct rec_seen v = rec_seen(0);
	cr_assert_str_eq(v.method, "PUT");
	cr_assert_eq(v.has_expect, 0, "an Expect header went");
	cr_assert_eq(v.len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(v.body[i], (unsigned char)(i * 7u), "byte %zu differs", i);
}

static void t_request_ctype(void)
{
	rec_url(0, "GET", 0, 200);
	T.q[1].method = "GET";
	url(1, "/status/204");         /* http_srv gives no Content-Type */
	rec_url(2, "GET", 1, 404);
	post_and_wait(3, 5000);
	cr_assert_eq(T.q[0].status, 200);
	cr_assert_eq(T.q[0].has_ctype, 1);
	cr_assert_str_eq(T.q[0].ctype, REC_CTYPE);
	cr_assert_eq(T.q[1].status, 204);
	cr_assert_eq(T.q[1].has_ctype, 0, "Content-Type %s", T.q[1].ctype);
	cr_assert_eq(T.q[2].status, 404);
	cr_assert_str_eq(T.q[2].ctype, REC_CTYPE);

	/* no answer: no type */
	memset(T.q, 0, sizeof(T.q));
	T.q[0].method = "GET";
	snprintf(T.q[0].url, sizeof(T.q[0].url), "http://127.0.0.1:%d/", closed_port());
	post_and_wait(1, 3000);
	cr_assert_eq(T.q[0].status, -ECONNREFUSED);
	cr_assert_eq(T.q[0].has_ctype, 0);
}

static eng_http_req *refused[8];

static void job_refused(void *arg)
{
	static const char *const no_colon[] = { "X-Rcsgw-Test", NULL };
	static const char *const crlf[] = { "X-A: 1\r\nX-B: 2", NULL };
	static const char *const no_name[] = { ": v", NULL };
	const char *u = arg;
	struct hq *q = &T.q[0];

	refused[0] = eng_http_request(T.h, "HEAD", u, NULL, NULL, 0, 1000, on_resp, q);
	refused[1] = eng_http_request(T.h, "get", u, NULL, NULL, 0, 1000, on_resp, q);
	refused[2] = eng_http_request(T.h, "POSTX", u, NULL, NULL, 0, 1000, on_resp, q);
	refused[3] = eng_http_request(T.h, NULL, u, NULL, NULL, 0, 1000, on_resp, q);
	refused[4] = eng_http_request(T.h, "GET", u, no_colon, NULL, 0, 1000, on_resp, q);
	refused[5] = eng_http_request(T.h, "GET", u, crlf, NULL, 0, 1000, on_resp, q);
	refused[6] = eng_http_request(T.h, "GET", u, no_name, NULL, 0, 1000, on_resp, q);
	refused[7] = eng_http_request(T.h, "POST", u, NULL, NULL, 5, 1000, on_resp, q);
	pending_now = eng_http_pending(T.h);
}

static void t_request_refused(void)
{
	char u[128];
	snprintf(u, sizeof(u), "%s/rec/0/200", R.base);
	cr_assert_eq(eng_job_run(T.w, job_refused, u), 0);
	for (unsigned i = 0; i < 8; i++)
		cr_assert_null(refused[i], "case %u started", i);
	cr_assert_eq(pending_now, 0);
	usleep(200 * 1000);
	cr_assert_eq(T.q[0].calls, 0);
	cr_assert_eq(rec_seen(0).n, 0);
}

static void t_request_cancel(void)
{
	static const unsigned char body[] = { 1, 0, 2 };
	T.q[0].method = "GET";
	url(0, "/slow/300");
	T.q[0].hdrs = hdrs_x;
	rec_url(1, "PUT", 0, 200);
	T.q[1].hdrs = hdrs_x;
	T.q[1].req_body = body;
	T.q[1].req_len = sizeof(body);
	rec_url(2, "DELETE", 1, 204);
	post_then_quiet(3, job_cancel_all, 700);
	cr_assert_eq(eng_job_run(T.w, job_pending, NULL), 0);
	cr_assert_eq(pending_now, 0);
	/* the client goes on */
	memset(T.q, 0, sizeof(T.q));
	rec_url(0, "DELETE", 2, 204);
	T.q[0].hdrs = hdrs_x;
	post_and_wait(1, 3000);
	cr_assert_eq(T.q[0].status, 204);
	cr_assert_str_eq(rec_seen(2).xtest, "one two");
}

/* The client freed with requests of their own headers pending (LeakSanitizer checks that
 * the lists went with them). */
static void t_request_free_pending(void)
{
	T.q[0].method = "GET";
	url(0, "/slow/200");
	T.q[0].hdrs = hdrs_x;
	rec_url(1, "POST", 0, 200);
	T.q[1].hdrs = hdrs_x;
	T.q[1].req_body = "x";
	T.q[1].req_len = 1;
	post_then_quiet(2, job_free, 500);
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
BOTH(request_methods)
BOTH(request_binary)
BOTH(request_no_expect)
BOTH(request_ctype)
BOTH(request_refused)
BOTH(request_cancel)
BOTH(request_free_pending)
