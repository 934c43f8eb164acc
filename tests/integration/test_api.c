/* test_api.c — the REST control plane in-process: an engine of two workers (epoll and
 * io_uring), api_start on 127.0.0.1 port 0, and HTTP through tests/lib's small client.
 * Also the helpers of tests/lib/rcsgw_proc.c, and the real daemon when it is built: its
 * router and its OpenAPI document must list the same operations. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "common/cm_config.h"
#include "common/cm_sr.h"
#include "engine/eng.h"
#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"

#define HOST "127.0.0.1"
#define TMO  5000 /* ms: bound of every HTTP exchange */

static struct {
	eng_engine *e;
	struct cm_config cfg;
	int port;
} fx;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void strlist_set(struct cm_strlist *l, const char *const *v)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	while (v && v[l->n])
		l->n++;
	if (!l->n)
		return;
	l->v = calloc(l->n, sizeof(*l->v));
	cr_assert(l->v);
	for (size_t i = 0; i < l->n; i++)
		cr_assert((l->v[i] = strdup(v[i])));
}

static void engine_up(enum eng_backend be, uint32_t mailbox)
{
	struct eng_config ec;
	char err[256];

	eng_config_defaults(&ec);
	ec.backend = be;
	ec.workers = 2;
	ec.pin = 0;
	ec.bufs_max = 512;
	ec.buf_ring_entries = 64;
	ec.ring_entries = 64;
	if (mailbox)
		ec.mailbox_size = mailbox;
	fx.e = eng_create(&ec, err, sizeof(err));
	if (!fx.e && be == ENG_BACKEND_IO_URING)
		cr_skip_test("io_uring is not available here: %s", err);
	cr_assert(fx.e, "eng_create: %s", err);
	cr_assert_eq(eng_start(fx.e, NULL, NULL), 0);
}

/* Engine with 2 workers on <be>, api on 127.0.0.1:0 with <tokens> (NULL: none). */
static void up(enum eng_backend be, const char *const *tokens, uint32_t mailbox)
{
	static const char *const listen[] = { HOST ":0", NULL };
	char err[256];

	engine_up(be, mailbox);
	cm_config_defaults(&fx.cfg);
	strlist_set(&fx.cfg.api.listen, listen);
	strlist_set(&fx.cfg.api.tokens, tokens);
	int rc = api_start(&fx.cfg, fx.e, err, sizeof(err));
	cr_assert_eq(rc, 0, "api_start: %s", err);
	fx.port = api_listen_port(0);
	cr_assert_gt(fx.port, 0);
}

static void down(void)
{
	api_stop();
	eng_destroy(fx.e);
	cm_config_free(&fx.cfg);
	memset(&fx, 0, sizeof(fx));
}

struct resp {
	int status;
	char *hdr;
	char *body;
	long long ms;              /* how long the exchange took */
};

static struct resp req_len(const char *method, const char *path, const char *headers,
			   const char *body, size_t len)
{
	struct resp r = { 0 };
	long long t0 = proc_now_ms();
	int rc = http_request_len(HOST, fx.port, method, path, headers, body, len, &r.status,
				  &r.hdr, &r.body, TMO);
	r.ms = proc_now_ms() - t0;
	cr_assert_eq(rc, 0, "%s %s: http_request: %s", method, path, strerror(-rc));
	return r;
}

static struct resp req(const char *method, const char *path, const char *headers)
{
	return req_len(method, path, headers, NULL, 0);
}

static void resp_free(struct resp *r)
{
	free(r->hdr);
	free(r->body);
}

static void expect_header(const struct resp *r, const char *name, const char *value)
{
	char *v = http_header(r->hdr, name);
	cr_assert(v, "no %s header in:\n%s", name, r->hdr);
	cr_expect_str_eq(v, value, "%s: %s", name, v);
	free(v);
}

/* The answer is a JSON error with <status>; returns its message (owned by <r>'s body...
 * copied into <msg>). */
static void expect_error(const struct resp *r, int status, char *msg, size_t msglen)
{
	json_error_t je;

	cr_assert_eq(r->status, status, "status %d, want %d: %s", r->status, status, r->body);
	expect_header(r, "Content-Type", "application/json");
	json_t *j = json_loads(r->body, 0, &je);
	cr_assert(j, "error body is not JSON (%s): %s", je.text, r->body);
	json_t *e = json_object_get(j, "error");
	cr_assert(json_is_object(e), "%s", r->body);
	cr_expect_eq(json_integer_value(json_object_get(e, "code")), status);
	const char *m = json_string_value(json_object_get(e, "message"));
	cr_assert(m && *m, "%s", r->body);
	if (msg)
		snprintf(msg, msglen, "%s", m);
	json_decref(j);
}

/* ---- GET /v1/status ------------------------------------------------------------------------ */

/* Counters the engine has had from the start; the full list is api__stat_fields(), which a
 * static assertion of api_status.c keeps in step with struct eng_stats. */
static const char *const stat_names[] = {
	"conns", "accepts", "connects", "closes", "recv_bytes", "send_bytes", "recv_ops",
	"send_ops", "submits", "loops", "enobufs", "paused", "mailbox_in", "mailbox_full",
	"handovers_in", "handovers_out", "bufs_total", "bufs_free", "conn_limit",
	"tls_handshakes", "tls_failures", NULL,
};

static json_t *get_status(void)
{
	json_error_t je;
	struct resp r = req("GET", "/v1/status", NULL);
	cr_assert_eq(r.status, 200, "%d: %s", r.status, r.body);
	expect_header(&r, "Content-Type", "application/json");
	json_t *j = json_loads(r.body, 0, &je);
	cr_assert(j, "not JSON (%s): %s", je.text, r.body);
	resp_free(&r);
	return j;
}

static void status_shape(enum eng_backend be)
{
	up(be, NULL, 0);
	json_decref(get_status()); /* the second one sees the first's mailbox message */
	json_t *j = get_status();

	cr_expect_str_eq(json_string_value(json_object_get(j, "version")), RCSGW_VERSION);
	json_t *up_s = json_object_get(j, "uptime_s");
	cr_expect(json_is_integer(up_s) && json_integer_value(up_s) >= 0);
	cr_expect(json_is_true(json_object_get(j, "ready")));
	json_t *subs = json_object_get(j, "subsystems");
	cr_expect_str_eq(json_string_value(json_object_get(subs, "engine")), "ready");
	cr_expect_str_eq(json_string_value(json_object_get(subs, "api")), "ready");

	json_t *eng = json_object_get(j, "engine");
	cr_assert(json_is_object(eng));
	cr_expect_str_eq(json_string_value(json_object_get(eng, "backend")),
			 be == ENG_BACKEND_EPOLL ? "epoll" : "io_uring");
	const char *why = json_string_value(json_object_get(eng, "backend_reason"));
	cr_expect(why && *why);
	json_t *ws = json_object_get(eng, "workers");
	cr_assert(json_is_array(ws));
	cr_assert_eq(json_array_size(ws), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *w = json_array_get(ws, i);
		cr_expect_eq(json_integer_value(json_object_get(w, "index")), (json_int_t)i);
		json_t *cpu = json_object_get(w, "cpu");
		cr_expect(json_is_null(cpu) || json_is_integer(cpu), "cpu of worker %zu", i);
		cr_expect(json_is_integer(json_object_get(w, "connections")));
		json_t *c = json_object_get(w, "counters");
		cr_assert(json_is_object(c));
		for (const char *const *s = stat_names; *s; s++)
			cr_expect(json_is_integer(json_object_get(c, *s)), "counter %s", *s);
		size_t nf;
		const struct api__stat_field *f = api__stat_fields(&nf);
		for (size_t k = 0; k < nf; k++)
			cr_expect(json_is_integer(json_object_get(c, f[k].json)), "counter %s",
				  f[k].json);
		cr_expect_eq(nf, sizeof(struct eng_stats) / sizeof(uint64_t));
		cr_expect_eq(json_object_size(c), nf, "counters: %zu keys", json_object_size(c));
		cr_expect_geq(json_integer_value(json_object_get(c, "mailbox_in")), 1);
		cr_expect_geq(json_integer_value(json_object_get(c, "loops")), 1);
	}
	json_decref(j);
	down();
}

Test(api, status_epoll, .timeout = 30) { status_shape(ENG_BACKEND_EPOLL); }
Test(api, status_io_uring, .timeout = 30) { status_shape(ENG_BACKEND_IO_URING); }

/* ---- GET /metrics ----------------------------------------------------------------------------- */

struct family {
	char name[128];
	int help, type;
	int samples;
};

/* Checks <text> line by line against the text exposition format 0.0.4: every sample line
 * matches the grammar and belongs to a family announced by HELP and TYPE just before, each
 * family once. Returns the number of samples. */
static int check_exposition(const char *text)
{
	regex_t sample, help, type;
	const char *name_re = "[a-zA-Z_:][a-zA-Z0-9_:]*";
	const char *label_re = "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\"";
	const char *value_re = "([-+]?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)";
	char re[1024];
	static struct family fam[256];
	int nfam = 0, nsamples = 0, cur = -1;

	snprintf(re, sizeof(re), "^(%s)(\\{%s(,%s)*\\})? %s( -?[0-9]+)?$", name_re, label_re,
		 label_re, value_re);
	cr_assert_eq(regcomp(&sample, re, REG_EXTENDED), 0);
	snprintf(re, sizeof(re), "^# HELP (%s) .*$", name_re);
	cr_assert_eq(regcomp(&help, re, REG_EXTENDED), 0);
	snprintf(re, sizeof(re), "^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$",
		 name_re);
	cr_assert_eq(regcomp(&type, re, REG_EXTENDED), 0);

	cr_assert(text[0] && text[strlen(text) - 1] == '\n', "must end with a newline");
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		cr_assert(eol);
		char line[2048], name[128];
		size_t len = (size_t)(eol - p);
		cr_assert_lt(len, sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = eol + 1;
		regmatch_t m[2];

		if (regexec(&help, line, 2, m, 0) == 0 || regexec(&type, line, 2, m, 0) == 0) {
			int is_help = line[2] == 'H';
			snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
				 line + m[1].rm_so);
			if (cur < 0 || strcmp(fam[cur].name, name) != 0) {
				for (int i = 0; i < nfam; i++)
					cr_assert_str_neq(fam[i].name, name, "family %s twice", name);
				cr_assert_lt(nfam, 256);
				cur = nfam++;
				snprintf(fam[cur].name, sizeof(fam[cur].name), "%s", name);
			}
			cr_assert_eq(fam[cur].samples, 0, "%s: HELP/TYPE after samples", name);
			if (is_help)
				fam[cur].help++;
			else
				fam[cur].type++;
			continue;
		}
		cr_assert_neq(line[0], '#', "bad comment line: %s", line);
		cr_assert_eq(regexec(&sample, line, 2, m, 0), 0, "bad sample line: '%s'", line);
		snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
			 line + m[1].rm_so);
		/* a histogram's samples are <family>_bucket, _sum and _count */
		size_t fl = cur >= 0 ? strlen(fam[cur].name) : 0;
		int of_hist = cur >= 0 && !strncmp(fam[cur].name, name, fl) &&
			      (!strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
			       !strcmp(name + fl, "_count"));
		cr_assert(cur >= 0 && (strcmp(fam[cur].name, name) == 0 || of_hist),
			  "sample %s outside of its family", name);
		fam[cur].samples++;
		nsamples++;
	}
	for (int i = 0; i < nfam; i++)
		cr_expect(fam[i].help == 1 && fam[i].type == 1, "%s: %d HELP, %d TYPE lines",
			  fam[i].name, fam[i].help, fam[i].type);
	regfree(&sample);
	regfree(&help);
	regfree(&type);
	return nsamples;
}

static void expect_line(const char *text, const char *line)
{
	char pat[512];
	snprintf(pat, sizeof(pat), "\n%s\n", line);
	cr_expect(strstr(text, pat), "no line '%s' in:\n%s", line, text);
}

static char *get_metrics(const char *headers)
{
	struct resp r = req("GET", "/metrics", headers);
	cr_assert_eq(r.status, 200, "%d: %s", r.status, r.body);
	char *ct = http_header(r.hdr, "Content-Type");
	cr_assert(ct && strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "%s", ct);
	free(ct);
	free(r.hdr);
	return r.body;
}

/* The value of metric line "<name> " in <t>, -1 when missing. */
static long metric(const char *t, const char *name)
{
	char pat[160];
	snprintf(pat, sizeof(pat), "\n%s ", name);
	const char *p = strstr(t, pat);
	return p ? atol(p + strlen(pat)) : -1;
}

static void metrics_text(enum eng_backend be)
{
	char line[256];

	up(be, NULL, 0);
	json_decref(get_status());
	char *t = get_metrics(NULL);
	cr_assert_gt(check_exposition(t), 40);
	snprintf(line, sizeof(line), "rcsgw_build_info{version=\"%s\",backend=\"%s\"} 1",
		 RCSGW_VERSION, be == ENG_BACKEND_EPOLL ? "epoll" : "io_uring");
	expect_line(t, line);
	expect_line(t, "# TYPE rcsgw_engine_connections gauge");
	expect_line(t, "rcsgw_engine_connections{worker=\"0\"} 0");
	expect_line(t, "rcsgw_engine_connections{worker=\"1\"} 0");
	expect_line(t, "# TYPE rcsgw_engine_recv_bytes_total counter");
	cr_expect(strstr(t, "\nrcsgw_engine_recv_bytes_total{worker=\"1\"} "));
	cr_expect(strstr(t, "\nrcsgw_uptime_seconds "));
	expect_line(t, "rcsgw_engine_workers 2");
	expect_line(t, "rcsgw_api_requests_total{code=\"200\"} 1");
	expect_line(t, "rcsgw_api_worker_timeouts_total 0");
	/* every counter family ends in _total, every name is distinct */
	for (const char *p = strstr(t, "# TYPE "); p; p = strstr(p + 1, "# TYPE ")) {
		const char *sp = strchr(p + 7, ' ');
		if (strncmp(sp + 1, "counter", 7) == 0)
			cr_expect(sp - p - 7 > 6 && strncmp(sp - 6, "_total", 6) == 0,
				  "counter without _total: %.*s", (int)(sp - p - 7), p + 7);
	}
	free(t);
	down();
}

Test(api, metrics_epoll, .timeout = 30) { metrics_text(ENG_BACKEND_EPOLL); }
Test(api, metrics_io_uring, .timeout = 30) { metrics_text(ENG_BACKEND_IO_URING); }

/* ---- authentication ------------------------------------------------------------------------ */

Test(api, no_tokens_is_open, .timeout = 30)
{
	up(ENG_BACKEND_EPOLL, NULL, 0);
	json_decref(get_status());
	free(get_metrics(NULL));
	struct resp r = req("GET", "/v1/status", "Authorization: Bearer anything\r\n");
	cr_expect_eq(r.status, 200);
	resp_free(&r);
	down();
}

Test(api, bearer_tokens, .timeout = 30)
{
	static const char *const tokens[] = { "s3cret-token", "second", NULL };
	struct resp r;

	up(ENG_BACKEND_EPOLL, tokens, 0);

	r = req("GET", "/v1/status", NULL);
	expect_error(&r, 401, NULL, 0);
	expect_header(&r, "WWW-Authenticate", "Bearer realm=\"rcsgw\"");
	resp_free(&r);

	static const char *const wrong[] = {
		"Authorization: Bearer s3cret-tokeX\r\n", /* same length, last byte */
		"Authorization: Bearer s3cret\r\n",       /* a prefix */
		"Authorization: Bearer s3cret-token2\r\n",/* longer */
		"Authorization: Bearer \r\n",
		"Authorization: Basic czNjcmV0LXRva2Vu\r\n",
		"Authorization: s3cret-token\r\n",
		NULL,
	};
	for (const char *const *h = wrong; *h; h++) {
		r = req("GET", "/v1/status", *h);
		expect_error(&r, 401, NULL, 0);
		char *v = http_header(r.hdr, "WWW-Authenticate");
		cr_expect(v && strncmp(v, "Bearer realm=\"rcsgw\"", 20) == 0, "%s: %s", *h, v);
		free(v);
		resp_free(&r);
	}

	r = req("GET", "/v1/status", "Authorization: Bearer s3cret-token\r\n");
	cr_expect_eq(r.status, 200, "%s", r.body);
	resp_free(&r);
	r = req("GET", "/v1/status", "Authorization: bearer second");
	cr_expect_eq(r.status, 200, "%s", r.body);
	resp_free(&r);

	/* /metrics is protected too */
	r = req("GET", "/metrics", NULL);
	expect_error(&r, 401, NULL, 0);
	resp_free(&r);
	free(get_metrics("Authorization: Bearer second\r\n"));

	/* the OpenAPI document is public */
	r = req("GET", "/v1/openapi.yaml", NULL);
	cr_expect_eq(r.status, 200);
	resp_free(&r);

	/* unknown routes are hidden behind the token */
	r = req("GET", "/v1/nope", NULL);
	expect_error(&r, 401, NULL, 0);
	resp_free(&r);
	r = req("GET", "/v1/nope", "Authorization: Bearer second\r\n");
	expect_error(&r, 404, NULL, 0);
	resp_free(&r);
	down();
}

/* ---- errors -------------------------------------------------------------------------------- */

/* <method> <path> is a JSON 405 whose Allow header is <allow>. */
static void expect_405(const char *method, const char *path, const char *allow)
{
	struct resp r = req(method, path, NULL);
	expect_error(&r, 405, NULL, 0);
	expect_header(&r, "Allow", allow);
	resp_free(&r);
}

Test(api, not_found_and_bad_method, .timeout = 30)
{
	char msg[256];
	struct resp r;

	up(ENG_BACKEND_EPOLL, NULL, 0);
	static const char *const missing[] = { "/v1/nope", "/", "/v1/status/", "/v1",
					       "/v2/status", "/metrics/x", NULL };
	for (const char *const *p = missing; *p; p++) {
		r = req("GET", *p, NULL);
		expect_error(&r, 404, msg, sizeof(msg));
		cr_expect(strstr(msg, "no such resource"), "%s", msg);
		resp_free(&r);
	}

	expect_405("POST", "/v1/status", "GET, HEAD");
	expect_405("DELETE", "/metrics", "GET, HEAD");

	r = req("HEAD", "/v1/status", NULL);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "");
	resp_free(&r);

	char *t = get_metrics(NULL);
	expect_line(t, "rcsgw_api_requests_total{code=\"404\"} 6");
	expect_line(t, "rcsgw_api_requests_total{code=\"405\"} 2");
	free(t);
	down();
}

Test(api, body_limit, .timeout = 30)
{
	char msg[256];
	size_t big = 2u << 20;
	char *body = malloc(big + 64);
	struct resp r;

	cr_assert(body);
	memset(body, 'x', big);
	up(ENG_BACKEND_EPOLL, NULL, 0);

	/* announced too large: refused before the body is read */
	r = req_len("POST", "/v1/status", NULL, body, big);
	expect_error(&r, 413, msg, sizeof(msg));
	resp_free(&r);

	/* exactly the limit goes through (GET with a body: the route ignores it) */
	r = req_len("GET", "/v1/status", NULL, body, API_BODY_MAX);
	cr_expect_eq(r.status, 200, "%d: %s", r.status, r.body);
	resp_free(&r);

	/* chunked, one byte over the limit: found while reading */
	size_t n = API_BODY_MAX + 1;
	char head[32];
	int hl = snprintf(head, sizeof(head), "%zx\r\n", n);
	char *chunked = malloc(n + 64);
	cr_assert(chunked);
	memcpy(chunked, head, (size_t)hl);
	memset(chunked + hl, 'y', n);
	memcpy(chunked + hl + n, "\r\n0\r\n\r\n", 7);
	r = req_len("GET", "/v1/status", "Transfer-Encoding: chunked\r\n", chunked,
		    (size_t)hl + n + 7);
	expect_error(&r, 413, NULL, 0);
	resp_free(&r);
	free(chunked);

	/* a chunked body that never ends is cut off, not read forever */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	const char head2[] = "GET /v1/status HTTP/1.1\r\nHost: x\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n";
	cr_assert_eq(send(fd, head2, sizeof(head2) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(head2) - 1);
	hl = snprintf(head, sizeof(head), "%x\r\n", 65536);
	memcpy(body, head, (size_t)hl);
	memset(body + hl, 'z', 65536);
	memcpy(body + hl + 65536, "\r\n", 2);
	size_t sent = 0;
	int closed = 0;
	long long until = proc_now_ms() + 8000;
	while (!closed && proc_now_ms() < until) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (pf.revents & (POLLERR | POLLHUP)) {
			closed = 1;
			break;
		}
		ssize_t w = send(fd, body, (size_t)hl + 65538, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN)
			closed = 1;
		else if (w > 0)
			sent += (size_t)w;
	}
	close(fd);
	cr_expect(closed, "still reading after %zu bytes", sent);
	cr_expect_lt(sent, 64u << 20, "%zu bytes taken before the cut", sent);

	/* the API is fine afterwards */
	json_decref(get_status());
	free(body);
	down();
}

/* ---- OpenAPI document ---------------------------------------------------------------------- */

Test(api, openapi_served, .timeout = 30)
{
	up(ENG_BACKEND_EPOLL, NULL, 0);
	struct resp r = req("GET", "/v1/openapi.yaml", NULL);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "application/yaml");
	cr_expect(strncmp(r.body, "openapi: 3.0", 12) == 0);
	cr_expect(strstr(r.body, "\n  /v1/status:\n"));
	cr_expect(strstr(r.body, "\n  /metrics:\n"));
	cr_expect(strstr(r.body, "\n  /v1/openapi.yaml:\n"));
	cr_expect(strstr(r.body, "scheme: bearer"));
	resp_free(&r);
	down();
}

Test(api, openapi_from_env, .timeout = 30)
{
	char path[] = "/tmp/rcsgw-openapi-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	const char doc[] = "openapi: 3.0.3\n# the copy of this test\n";
	cr_assert_eq(write(fd, doc, sizeof(doc) - 1), (ssize_t)sizeof(doc) - 1);
	close(fd);
	setenv("RCSGW_OPENAPI", path, 1);
	up(ENG_BACKEND_EPOLL, NULL, 0);
	struct resp r = req("GET", "/v1/openapi.yaml", NULL);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, doc);
	resp_free(&r);
	down();
	unlink(path);
	unsetenv("RCSGW_OPENAPI");
}

/* ---- workers that do not answer ------------------------------------------------------------ */

static _Atomic int sleeping;

static void msg_sleep(eng_worker *w, void *arg, uint64_t ms)
{
	(void)w;
	(void)arg;
	atomic_store(&sleeping, 1);
	sleep_ms((int)ms);
	atomic_store(&sleeping, 0);
}

static void msg_noop(eng_worker *w, void *arg, uint64_t u)
{
	(void)w;
	(void)arg;
	(void)u;
}

static void wait_sleeping(void)
{
	long long until = proc_now_ms() + 2000;
	while (!atomic_load(&sleeping) && proc_now_ms() < until)
		sleep_ms(1);
	cr_assert(atomic_load(&sleeping), "the worker did not pick up the sleeper");
}

/* Waits up to 5 s for the sleeper of wait_sleeping() to wake up. */
static void wait_awake(void)
{
	long long until = proc_now_ms() + 5000;
	while (atomic_load(&sleeping) && proc_now_ms() < until)
		sleep_ms(5);
	cr_assert(!atomic_load(&sleeping), "the worker is still asleep");
}

/* Retries GET /v1/status until 200, for up to <ms>. */
static void status_recovers(int ms)
{
	long long until = proc_now_ms() + ms;
	for (;;) {
		struct resp r = req("GET", "/v1/status", NULL);
		int st = r.status;
		resp_free(&r);
		if (st == 200)
			return;
		cr_assert(proc_now_ms() < until, "still %d after %d ms", st, ms);
		sleep_ms(100);
	}
}

static void *status_thread(void *arg)
{
	struct resp *r = arg;
	long long t0 = proc_now_ms();
	int rc = http_request(HOST, fx.port, "GET", "/v1/status", NULL, NULL, &r->status, &r->hdr,
			      &r->body, TMO);
	r->ms = proc_now_ms() - t0;
	if (rc < 0)
		r->status = rc;
	return NULL;
}

static void stuck_worker(enum eng_backend be)
{
	struct resp st = { 0 };
	pthread_t th;
	char msg[256];

	up(be, NULL, 0);
	json_decref(get_status());
	cr_assert_eq(eng_post(eng_worker_at(fx.e, 0), msg_sleep, NULL, 3000), 0);
	wait_sleeping();
	cr_assert_eq(pthread_create(&th, NULL, status_thread, &st), 0);

	/* the api thread is not blocked meanwhile */
	sleep_ms(200);
	struct resp o = req("GET", "/v1/openapi.yaml", NULL);
	cr_expect_eq(o.status, 200);
	cr_expect_lt(o.ms, 1000, "openapi took %lld ms during the stall", o.ms);
	resp_free(&o);

	pthread_join(th, NULL);
	expect_error(&st, 503, msg, sizeof(msg));
	cr_expect(st.ms >= API_GATHER_TIMEOUT_MS - 100 && st.ms <= API_GATHER_TIMEOUT_MS + 600,
		  "503 after %lld ms", st.ms);
	cr_expect(strstr(msg, "workers 0 did not answer"), "%s", msg);
	resp_free(&st);

	/* once the worker is back the late answer is dropped and the next one is fine */
	status_recovers(3000);
	char *t = get_metrics(NULL);
	expect_line(t, "rcsgw_api_worker_timeouts_total 1");
	expect_line(t, "rcsgw_api_requests_total{code=\"503\"} 1");
	free(t);
	down();
}

Test(api, stuck_worker_epoll, .timeout = 30) { stuck_worker(ENG_BACKEND_EPOLL); }
Test(api, stuck_worker_io_uring, .timeout = 30) { stuck_worker(ENG_BACKEND_IO_URING); }

/* Puts worker <w> to sleep for 1.5 s and fills its mailbox behind; how many messages it
 * took. */
static int mailbox_fill(eng_worker *w)
{
	int n = 0;
	cr_assert_eq(eng_post(w, msg_sleep, NULL, 1500), 0);
	wait_sleeping();
	while (eng_post(w, msg_noop, NULL, 0) == 0)
		cr_assert_lt(++n, 100000);
	return n;
}

static void mailbox_full(enum eng_backend be)
{
	char msg[256];

	up(be, NULL, 64);
	cr_expect_eq(mailbox_fill(eng_worker_at(fx.e, 0)), 64);

	struct resp r = req("GET", "/v1/status", NULL);
	expect_error(&r, 503, msg, sizeof(msg));
	cr_expect_lt(r.ms, 1000, "503 took %lld ms", r.ms);
	cr_expect(strstr(msg, "mailbox full"), "%s", msg);
	resp_free(&r);
	r = req("GET", "/metrics", NULL);
	expect_error(&r, 503, NULL, 0);
	resp_free(&r);

	status_recovers(4000);
	char *t = get_metrics(NULL);
	const char *m = strstr(t, "\nrcsgw_api_mailbox_full_total ");
	cr_expect(m && atoi(m + 30) >= 2, "%s", t);
	free(t);
	down();
}

Test(api, mailbox_full_epoll, .timeout = 30) { mailbox_full(ENG_BACKEND_EPOLL); }
Test(api, mailbox_full_io_uring, .timeout = 30) { mailbox_full(ENG_BACKEND_IO_URING); }

/* api_stop while a request waits for a stuck worker: it answers or closes, does not hang,
 * and the worker's late answer after the stop touches nothing freed (ASan run). */
static void stop_while_waiting(enum eng_backend be)
{
	struct resp st = { 0 };
	pthread_t th;

	up(be, NULL, 0);
	cr_assert_eq(eng_post(eng_worker_at(fx.e, 0), msg_sleep, NULL, 1500), 0);
	wait_sleeping();
	cr_assert_eq(pthread_create(&th, NULL, status_thread, &st), 0);
	sleep_ms(300);
	long long t0 = proc_now_ms();
	api_stop();
	cr_expect_lt(proc_now_ms() - t0, 1000, "api_stop took %lld ms", proc_now_ms() - t0);
	pthread_join(th, NULL);
	cr_expect(st.status == 503 || st.status < 0, "status %d", st.status);
	cr_expect_lt(st.ms, 2000);
	free(st.hdr);
	free(st.body);
	eng_destroy(fx.e); /* runs the sleeper's end and the late gather */
	cm_config_free(&fx.cfg);
}

Test(api, stop_while_waiting_epoll, .timeout = 30) { stop_while_waiting(ENG_BACKEND_EPOLL); }
Test(api, stop_while_waiting_io_uring, .timeout = 30)
{
	stop_while_waiting(ENG_BACKEND_IO_URING);
}

/* ---- concurrency --------------------------------------------------------------------------- */

static _Atomic int conc_bad;

static void *conc_client(void *arg)
{
	(void)arg;
	for (int i = 0; i < 25; i++) {
		int status;
		char *body = NULL;
		const char *path = i % 5 == 4 ? "/metrics" : "/v1/status";
		int rc = http_request(HOST, fx.port, "GET", path, NULL, NULL, &status, NULL, &body,
				      TMO);
		if (rc < 0 || status != 200)
			atomic_fetch_add(&conc_bad, 1);
		free(body);
	}
	return NULL;
}

static void concurrent(enum eng_backend be)
{
	pthread_t th[6];

	up(be, NULL, 0);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, conc_client, NULL), 0);
	for (int i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	cr_expect_eq(atomic_load(&conc_bad), 0);
	char *t = get_metrics(NULL);
	expect_line(t, "rcsgw_api_requests_total{code=\"200\"} 150");
	free(t);
	down();
}

Test(api, concurrent_epoll, .timeout = 60) { concurrent(ENG_BACKEND_EPOLL); }
Test(api, concurrent_io_uring, .timeout = 60) { concurrent(ENG_BACKEND_IO_URING); }

/* ---- listening -------------------------------------------------------------------------------- */

Test(api, listen_several, .timeout = 30)
{
	static const char *const listen[] = { HOST ":0", HOST ":0", NULL };
	char err[256];

	engine_up(ENG_BACKEND_EPOLL, 0);
	cm_config_defaults(&fx.cfg);
	strlist_set(&fx.cfg.api.listen, listen);
	cr_assert_eq(api_start(&fx.cfg, fx.e, err, sizeof(err)), 0, "%s", err);
	int p0 = api_listen_port(0), p1 = api_listen_port(1);
	cr_assert(p0 > 0 && p1 > 0 && p0 != p1);
	cr_expect_eq(api_listen_port(2), -ENOENT);
	for (int i = 0; i < 2; i++) {
		fx.port = i ? p1 : p0;
		json_decref(get_status());
	}
	down();
}

Test(api, listen_errors, .timeout = 30)
{
	char err[256];
	int rc;

	engine_up(ENG_BACKEND_EPOLL, 0);
	cm_config_defaults(&fx.cfg);

	static const char *const bad[] = { "localhost:80", NULL };
	strlist_set(&fx.cfg.api.listen, bad);
	rc = api_start(&fx.cfg, fx.e, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL);
	cr_expect(strstr(err, "api.listen \"localhost:80\""), "%s", err);

	/* a port in use */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	char addr[64];
	snprintf(addr, sizeof(addr), HOST ":%d", ntohs(sa.sin_port));
	const char *const busy[] = { HOST ":0", addr, NULL };
	strlist_set(&fx.cfg.api.listen, busy);
	rc = api_start(&fx.cfg, fx.e, err, sizeof(err));
	cr_expect_eq(rc, -EADDRINUSE, "%d: %s", rc, err);
	cr_expect(strstr(err, "in use"), "%s", err);
	close(fd);

	static const char *const none[] = { NULL };
	strlist_set(&fx.cfg.api.listen, none);
	cr_expect_eq(api_start(&fx.cfg, fx.e, err, sizeof(err)), -EINVAL);

	/* after failures a start works, a second one does not */
	static const char *const ok[] = { HOST ":0", NULL };
	strlist_set(&fx.cfg.api.listen, ok);
	cr_assert_eq(api_start(&fx.cfg, fx.e, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(api_start(&fx.cfg, fx.e, err, sizeof(err)), -EALREADY);
	fx.port = api_listen_port(0);
	json_decref(get_status());
	down();
	api_stop(); /* twice is fine */
}

/* ---- status and reports of the groups, /healthz, /readyz ----------------------------------- */

Test(api, status_groups_and_reports, .timeout = 30)
{
	static const char *const tokens[] = { "s3cret", NULL };
	char msg[256];

	cr_assert_eq(cm_sr_set("redis", CM_SR_READY, "connected to %s", "127.0.0.1:6379"), 0);
	cr_assert_eq(cm_sr_set("relay", CM_SR_DISABLED, NULL), 0);
	up(ENG_BACKEND_EPOLL, tokens, 0);
	const char *auth = "Authorization: Bearer s3cret\r\n";

	/* orchestrators' probes need no token */
	struct resp r = req("GET", "/healthz", NULL);
	cr_expect_eq(r.status, 200, "%d: %s", r.status, r.body);
	cr_expect(strstr(r.body, "\"alive\""), "%s", r.body);
	resp_free(&r);
	r = req("GET", "/readyz", NULL);
	cr_expect_eq(r.status, 200, "%d: %s", r.status, r.body);
	resp_free(&r);
	r = req("GET", "/v1/status/redis", NULL);
	expect_error(&r, 401, NULL, 0);
	resp_free(&r);

	/* a change: status, reports, readiness */
	cm_sr_set("redis", CM_SR_NOT_READY, "lost 127.0.0.1:6379");
	cm_sr_report("redis", CM_LOG_ERROR, "a report with \"quotes\"");
	r = req("GET", "/readyz", NULL);
	expect_error(&r, 503, msg, sizeof(msg));
	cr_expect_str_eq(msg, "not ready: redis");
	resp_free(&r);

	r = req("GET", "/v1/status/redis", auth);
	cr_assert_eq(r.status, 200, "%d: %s", r.status, r.body);
	json_t *j = json_loads(r.body, 0, NULL);
	resp_free(&r);
	cr_assert(j);
	cr_expect_str_eq(json_string_value(json_object_get(j, "group")), "redis");
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "not_ready");
	cr_expect_str_eq(json_string_value(json_object_get(j, "details")), "lost 127.0.0.1:6379");
	cr_expect_eq(json_integer_value(json_object_get(j, "changes")), 2);
	cr_expect_eq(strlen(json_string_value(json_object_get(j, "since"))), 24);
	json_decref(j);

	r = req("GET", "/v1/reports/redis", auth);
	cr_assert_eq(r.status, 200, "%d: %s", r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	resp_free(&r);
	json_t *a = json_object_get(j, "reports");
	cr_assert_eq(json_array_size(a), 3, "%s", json_dumps(j, 0));
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "message")),
			 "ready: connected to 127.0.0.1:6379");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "message")),
			 "ready -> not_ready: lost 127.0.0.1:6379");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "level")),
			 "warning");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 2), "level")),
			 "error");
	json_int_t seq = json_integer_value(json_object_get(json_array_get(a, 1), "seq"));
	json_decref(j);

	/* after=, limit= */
	char path[96];
	snprintf(path, sizeof(path), "/v1/reports/redis?after=%lld", (long long)seq);
	r = req("GET", path, auth);
	j = json_loads(r.body, 0, NULL);
	resp_free(&r);
	cr_expect_eq(json_array_size(json_object_get(j, "reports")), 1);
	json_decref(j);
	r = req("GET", "/v1/reports/redis?limit=1", auth);
	j = json_loads(r.body, 0, NULL);
	resp_free(&r);
	a = json_object_get(j, "reports");
	cr_expect_eq(json_array_size(a), 1);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "level")),
			 "error");
	json_decref(j);
	r = req("GET", "/v1/reports/redis?limit=-1", auth);
	expect_error(&r, 400, msg, sizeof(msg));
	cr_expect(strstr(msg, "limit"), "%s", msg);
	resp_free(&r);
	r = req("GET", "/v1/status/nope", auth);
	expect_error(&r, 404, msg, sizeof(msg));
	cr_expect_str_eq(msg, "no such group: nope");
	resp_free(&r);
	r = req("GET", "/v1/reports/nope", auth);
	expect_error(&r, 404, NULL, 0);
	resp_free(&r);
	/* a name that is not UTF-8 is quoted with '?' in the message, still JSON */
	r = req("GET", "/v1/status/%FF%C3", auth);
	expect_error(&r, 404, msg, sizeof(msg));
	cr_expect_str_eq(msg, "no such group: ??");
	resp_free(&r);

	/* the ring keeps the last CM_SR_REPORTS */
	for (int i = 0; i < CM_SR_REPORTS + 10; i++)
		cm_sr_report("relay", CM_LOG_INFO, "report %d", i);
	r = req("GET", "/v1/reports/relay", auth);
	j = json_loads(r.body, 0, NULL);
	resp_free(&r);
	a = json_object_get(j, "reports");
	cr_expect_eq(json_array_size(a), CM_SR_REPORTS);
	snprintf(msg, sizeof(msg), "report %d", CM_SR_REPORTS + 9);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, CM_SR_REPORTS - 1),
							   "message")), msg);
	json_decref(j);

	/* /v1/status lists every group, disabled ones do not make it unready */
	cm_sr_set("redis", CM_SR_READY, NULL);
	r = req("GET", "/v1/status", auth);
	j = json_loads(r.body, 0, NULL);
	resp_free(&r);
	cr_expect(json_is_true(json_object_get(j, "ready")));
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "subsystems"),
							   "relay")), "disabled");
	/* redis, relay and the API's own webhooks (disabled: none configured) */
	cr_expect_eq(json_array_size(json_object_get(j, "groups")), 3);
	json_decref(j);
	down();
}

/* ---- registrations by other subsystems ---------------------------------------------------- */

static enum cm_sr_state probe_state = CM_SR_NOT_READY;

static enum cm_sr_state probe_redis(void *arg, char *details, size_t len)
{
	(void)arg;
	snprintf(details, len, "probed");
	return probe_state;
}

static const struct api_metric_def test_defs[] = {
	{ "rcsgw_test_widgets_total", "counter", "Widgets made by the test." },
	{ "rcsgw_test_level", "gauge", "A level." },
};

static void test_collect(eng_worker *w, uint64_t *vals, void *arg)
{
	vals[0] = 10 + eng_worker_index(w);
	vals[1] = (uint64_t)(uintptr_t)arg;
}

static void test_collect3(eng_worker *w, uint64_t *vals, void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < 3; i++)
		vals[i] = 100 * (i + 1) + eng_worker_index(w);
}

static void test_emit(struct api_metrics_out *o, void *arg)
{
	(void)arg;
	api_metrics_family(o, "rcsgw_test_process", "gauge", "Help with \\ and\nnewline.");
	api_metrics_sample(o, "rcsgw_test_process",
			   (const char *const[]){ "kind", "a\"b\\c\nd", "n", "2", NULL }, 1.5);
	api_metrics_sample(o, "rcsgw_test_process", NULL, -3);
	api_metrics_family(o, "bad name", "gauge", "dropped");
	api_metrics_sample(o, "bad name", NULL, 1);
}

Test(api, registrations, .timeout = 30)
{
	static const struct api_metric_def bad_defs[] = { { "9lives", "counter", "x" } };

	cr_expect_eq(cm_sr_probe("", probe_redis, NULL), -EINVAL);
	cr_expect_eq(cm_sr_probe("Bad-Name", probe_redis, NULL), -EINVAL);
	cr_expect_eq(cm_sr_probe("redis", probe_redis, NULL), 0);
	cr_expect_eq(cm_sr_set("sip", CM_SR_READY, "listening"), 0);
	cr_expect_eq(api_metrics_register_worker(bad_defs, 1, test_collect, NULL), -EINVAL);
	cr_expect_eq(api_metrics_register_worker(test_defs, 2, test_collect, (void *)7), 0);
	cr_expect_eq(api_metrics_register(test_emit, NULL), 0);
	static const struct api_metric_series series[] = {
		{ "rcsgw_test_frames_total", "counter", "Frames by method.", "method=\"SEND\"" },
		{ "rcsgw_test_frames_total", "counter", "", "method=\"REPORT\"" },
		{ "rcsgw_test_depth", "gauge", "A depth.", "" },
	};
	static const struct api_metric_series apart[] = {
		{ "rcsgw_test_a", "gauge", "", "" },
		{ "rcsgw_test_b", "gauge", "", "" },
		{ "rcsgw_test_a", "gauge", "", "x=\"1\"" },
	};
	static const struct api_metric_series braces[] = {
		{ "rcsgw_test_c", "gauge", "", "x=\"}\"" },
	};
	cr_expect_eq(api_metrics_register_worker_series(apart, 3, test_collect3, NULL), -EINVAL);
	cr_expect_eq(api_metrics_register_worker_series(braces, 1, test_collect3, NULL), -EINVAL);
	cr_expect_eq(api_metrics_register_worker_series(series, 3, test_collect3, NULL), 0);

	up(ENG_BACKEND_EPOLL, NULL, 0);
	json_t *j = get_status();
	json_t *subs = json_object_get(j, "subsystems");
	cr_expect_str_eq(json_string_value(json_object_get(subs, "redis")), "not_ready");
	cr_expect_str_eq(json_string_value(json_object_get(subs, "sip")), "ready");
	cr_expect(json_is_false(json_object_get(j, "ready")));
	json_decref(j);

	probe_state = CM_SR_DEGRADED;
	j = get_status();
	subs = json_object_get(j, "subsystems");
	cr_expect_str_eq(json_string_value(json_object_get(subs, "redis")), "degraded");
	cr_expect_str_eq(json_string_value(json_object_get(subs, "sip")), "ready");
	cr_expect(json_is_true(json_object_get(j, "ready")));
	cr_expect(json_is_true(json_object_get(j, "degraded")));
	json_decref(j);

	char *t = get_metrics(NULL);
	check_exposition(t);
	expect_line(t, "# TYPE rcsgw_test_widgets_total counter");
	expect_line(t, "rcsgw_test_widgets_total{worker=\"0\"} 10");
	expect_line(t, "rcsgw_test_widgets_total{worker=\"1\"} 11");
	expect_line(t, "rcsgw_test_level{worker=\"1\"} 7");
	expect_line(t, "# TYPE rcsgw_test_frames_total counter");
	expect_line(t, "rcsgw_test_frames_total{method=\"SEND\",worker=\"1\"} 101");
	expect_line(t, "rcsgw_test_frames_total{method=\"REPORT\",worker=\"0\"} 200");
	expect_line(t, "rcsgw_test_depth{worker=\"1\"} 301");
	expect_line(t, "# HELP rcsgw_test_process Help with \\\\ and\\nnewline.");
	expect_line(t, "rcsgw_test_process{kind=\"a\\\"b\\\\c\\nd\",n=\"2\"} 1.5");
	expect_line(t, "rcsgw_test_process -3");
	cr_expect_null(strstr(t, "bad name"));
	free(t);
	down();
}

/* ---- tests/lib/rcsgw_proc.c ------------------------------------------------------------------- */

Test(rcsgw_proc, ports, .timeout = 30)
{
	int p = free_tcp_port();
	cr_assert_gt(p, 0);
	cr_expect_eq(wait_port(HOST, p, 0), -ETIMEDOUT);
	long long t0 = proc_now_ms();
	cr_expect_eq(wait_port(HOST, p, 200), -ETIMEDOUT);
	cr_expect_geq(proc_now_ms() - t0, 190);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_expect_eq(wait_port(HOST, p, 1000), 0);
	close(fd);
	cr_expect_eq(wait_port("not-an-address", p, 100), -EINVAL);
}

/* A stand-in daemon: a shell script that says what it got and exits 3 on SIGTERM. */
static void fake_daemon(char *dir, size_t len, const char *script)
{
	char path[256];
	snprintf(dir, len, "/tmp/rcsgw-fake-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rcsgw", dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(script, f);
	fclose(f);
	chmod(path, 0700);
	setenv("RCSGW_BUILD", dir, 1);
}

static void fake_cleanup(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/rcsgw", dir);
	unlink(path);
	rmdir(dir);
}

/* Reads <fd> until <want> was seen or <ms> passed; returns what was read (malloc'ed). */
static char *read_until(int fd, const char *want, int ms)
{
	long long until = proc_now_ms() + ms;
	size_t len = 0;
	char *s = calloc(1, 8192);
	cr_assert(s);
	while (!strstr(s, want) && len < 8191) {
		long long left = until - proc_now_ms();
		struct pollfd p = { fd, POLLIN, 0 };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = read(fd, s + len, 8191 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return s;
}

Test(rcsgw_proc, spawn_and_stop, .timeout = 30)
{
	char dir[64];
	int efd = -1, rc;

	fake_daemon(dir, sizeof(dir),
		    "#!/bin/sh\n"
		    "trap 'exit 3' TERM\n"
		    "echo \"args: $*\" >&2\n"
		    "echo \"env: [$RCSGW_TEST_X] [$RCSGW_TEST_EMPTY] ready\" >&2\n"
		    "while :; do sleep 0.05; done\n");
	static const char *const env[] = { "RCSGW_TEST_X=hello world", "RCSGW_TEST_EMPTY=", NULL };
	setenv("RCSGW_TEST_EMPTY", "not empty", 1);
	pid_t pid = rcsgw_spawn(env, "/some/rcsgw.conf", &efd);
	cr_assert_gt(pid, 0, "rcsgw_spawn: %s", strerror(-pid));
	cr_assert_geq(efd, 0);
	char *out = read_until(efd, "ready", 5000);
	cr_expect(strstr(out, "args: -c /some/rcsgw.conf\n"), "%s", out);
	cr_expect(strstr(out, "env: [hello world] [] ready"), "%s", out);
	free(out);
	rc = rcsgw_stop(pid, SIGTERM, 3000);
	cr_expect_eq(rc, 3, "rcsgw_stop: %d", rc);
	close(efd);

	/* no config, stderr inherited, killed by a signal it does not catch */
	pid = rcsgw_spawn(NULL, NULL, NULL);
	cr_assert_gt(pid, 0);
	cr_expect_eq(rcsgw_stop(pid, SIGKILL, 3000), 128 + SIGKILL);
	fake_cleanup(dir);

	/* a daemon that ignores SIGTERM is killed after the timeout */
	fake_daemon(dir, sizeof(dir),
		    "#!/bin/sh\ntrap '' TERM\necho ready >&2\nwhile :; do sleep 0.05; done\n");
	pid = rcsgw_spawn(NULL, NULL, &efd);
	cr_assert_gt(pid, 0);
	free(read_until(efd, "ready", 5000));
	close(efd);
	long long t0 = proc_now_ms();
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 300), -ETIMEDOUT);
	cr_expect_lt(proc_now_ms() - t0, 2000);
	fake_cleanup(dir);

	setenv("RCSGW_BUILD", "/nonexistent-dir", 1);
	cr_expect_eq(rcsgw_spawn(NULL, NULL, NULL), -ENOENT);
}

/* How the real daemon runs in these tests: its binary, free ports for the API and MSRP, no
 * SIP, two workers, token "t0k". */
struct daemon {
	char bin[512], listen[64], msrp[64];
	const char *env[7];
	int port;                  /* the API's */
};

/* Fills <d>; skips the test when the daemon is not built. */
static void daemon_env(struct daemon *d)
{
	const char *build = getenv("RCSGW_BUILD");
	struct stat sb;

	snprintf(d->bin, sizeof(d->bin), "%s/rcsgw", build && *build ? build : "build");
	if (stat(d->bin, &sb) != 0)
		cr_skip_test("%s is not built", d->bin);
	d->port = free_tcp_port();
	int mport = free_tcp_port();
	cr_assert(d->port > 0 && mport > 0);
	snprintf(d->listen, sizeof(d->listen), "RCSGW_API_LISTEN=127.0.0.1:%d", d->port);
	snprintf(d->msrp, sizeof(d->msrp), "RCSGW_MSRP_LISTEN=127.0.0.1:%d", mport);
	const char *const env[] = { d->listen, d->msrp, "RCSGW_SIP_LISTEN=",
				    "RCSGW_ENGINE_WORKERS=2", "RCSGW_ENGINE_PIN=false",
				    "RCSGW_API_TOKENS=t0k", NULL };
	memcpy(d->env, env, sizeof(env));
}

/* Starts the daemon of <d> and waits for its API; its stderr's read end in *<efd>. */
static pid_t daemon_up(const struct daemon *d, int *efd)
{
	pid_t pid = rcsgw_spawn(d->env, NULL, efd);
	cr_assert_gt(pid, 0, "rcsgw_spawn: %s", strerror(-pid));
	if (wait_port(HOST, d->port, 10000) < 0) {
		char *out = read_until(*efd, "\x01", 200);
		rcsgw_stop(pid, SIGKILL, 1000);
		cr_assert_fail("the daemon's API did not come up; its stderr:\n%s", out);
	}
	return pid;
}

/* The real daemon, when it is built: env overrides, API up, status, clean stop. */
Test(rcsgw_proc, real_daemon, .timeout = 60)
{
	struct daemon d;
	int efd = -1, rc, port;

	daemon_env(&d);
	port = d.port;
	pid_t pid = daemon_up(&d, &efd);
	int status;
	char *body = NULL;
	rc = http_request(HOST, port, "GET", "/v1/status", "Authorization: Bearer t0k\r\n", NULL,
			  &status, NULL, &body, TMO);
	cr_expect_eq(rc, 0);
	cr_expect_eq(status, 200, "%s", body);
	json_t *j = json_loads(body ? body : "", 0, NULL);
	cr_expect_eq(json_array_size(json_object_get(json_object_get(j, "engine"), "workers")), 2);
	json_decref(j);
	free(body);
	rc = http_request(HOST, port, "GET", "/metrics", NULL, NULL, &status, NULL, NULL, TMO);
	cr_expect(rc == 0 && status == 401);
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0);
	close(efd);
}

/* ---- routes from other files (api_routes_register) and api_ask ---------------------------- */

static _Atomic int things_calls; /* h_things runs */
static _Atomic int ask_calls;    /* h_ask runs */

/* POST /v1/test/things: 201 {"n":<calls>,"body":<body>} with a Location; body "fail": 503,
 * body "bad": 400. Its other rows answer the same way. */
static void h_things(struct api_req *r)
{
	char loc[64];
	size_t len;
	const char *body = api_req_body(r, &len);
	int n = atomic_fetch_add(&things_calls, 1) + 1;

	if (strcmp(body, "fail") == 0) {
		api_reply_error(r, 503, "failing as asked");
		return;
	}
	if (strcmp(body, "bad") == 0) {
		api_reply_error(r, 400, "bad as asked (%d)", n);
		return;
	}
	snprintf(loc, sizeof(loc), "/v1/test/things/%d", n);
	api_reply_header(r, "Location", loc);
	api_reply_json(r, 201, json_pack("{s:i,s:s%}", "n", n, "body", body, len));
}

struct ask_arg {
	char method[8];
	int n;
};

static void ask_collect(eng_worker *w, void *slot, void *arg)
{
	(void)arg;
	*(unsigned *)slot = eng_worker_index(w) + 1;
}

/* Answers {"n":<slots>,"worker":<who filled slot 0>,"call":<h_ask run>}; 201 with a Location
 * for a POST: an answer made later than the handler, for Idempotency-Key. */
static void ask_render(struct api_req *r, struct api_gather *g)
{
	const struct ask_arg *a = api_gather_arg(g);
	unsigned filled = *(unsigned *)api_gather_slot(g, 0);
	int post = strcmp(a->method, "POST") == 0;

	if (post)
		api_reply_header(r, "Location", "/v1/test/asked");
	api_reply_json(r, post ? 201 : 200,
		       json_pack("{s:i,s:i,s:i}", "n", (int)api_gather_n(g), "worker",
				 (int)filled - 1, "call", a->n));
}

static void ask_cleanup(struct api_gather *g)
{
	free(api_gather_arg(g));
}

static void h_ask(struct api_req *r)
{
	struct ask_arg *a = calloc(1, sizeof(*a));
	cr_assert(a);
	snprintf(a->method, sizeof(a->method), "%s", api_req_method(r));
	a->n = atomic_fetch_add(&ask_calls, 1) + 1;
	if (api_ask(r, (unsigned)atoi(api_req_param(r, "w")), sizeof(unsigned), ask_collect,
		    ask_render, ask_cleanup, a) < 0)
		free(a);
}

static const struct api_route test_routes[] = {
	{ "GET", "/v1/test/ask/{w}", h_ask, 0 },
	{ "POST", "/v1/test/ask/{w}", h_ask, API_RF_IDEMPOTENT },
	{ "POST", "/v1/test/things", h_things, API_RF_IDEMPOTENT },
	{ "DELETE", "/v1/test/things/{id}", h_things, 0 },
	{ "POST", "/v1/test/plain", h_things, 0 },
};

static void test_routes_up(void)
{
	cr_assert_eq(api_routes_register(test_routes, sizeof(test_routes) / sizeof(test_routes[0])),
		     0);
}

Test(api_routes, register_rules, .timeout = 30)
{
	static const struct api_route bad[] = {
		{ "get", "/v1/x", h_things, 0 },
		{ "", "/v1/x", h_things, 0 },
		{ "GET", "v1/x", h_things, 0 },
		{ "GET", "/v1//x", h_things, 0 },
		{ "GET", "/v1/x/", h_things, 0 },
		{ "GET", "/v1/{}", h_things, 0 },
		{ "GET", "/v1/{a}b", h_things, 0 },
		{ "GET", "/v1/a{b}", h_things, 0 },
		{ "GET", "/v1/{a{b}", h_things, 0 },
		{ "GET", "/{a}/{b}/{c}/{d}/{e}", h_things, 0 },
		{ "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", h_things, 0 },
		{ "GET", "/v1/x", NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(api_routes_register(&bad[i], 1), -EINVAL, "row %zu: %s %s", i,
			     bad[i].method, bad[i].pattern);
	cr_expect_eq(api_routes_register(test_routes, 0), -EINVAL);
	cr_expect_eq(api_routes_register(NULL, 1), -EINVAL);

	static const struct api_route twins[] = {
		{ "GET", "/v1/status", h_things, 0 },        /* a row of api_http.c */
		{ "DELETE", "/v1/test/things/{other}", h_things, 0 },
	};
	static const struct api_route self_twin[] = {
		{ "PUT", "/v1/test/{a}", h_things, 0 },
		{ "PUT", "/v1/test/{b}", h_things, 0 },
	};
	static const struct api_route ok[] = {
		{ "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/{p}", h_things, 0 },
		{ "PUT", "/v1/test/{a}/{b}/{c}/{d}", h_things, 0 },
	};
	cr_expect_eq(api_routes_register(&twins[0], 1), -EEXIST);
	cr_expect_eq(api_routes_register(self_twin, 2), -EEXIST);
	test_routes_up();
	cr_expect_eq(api_routes_register(test_routes, 1), -EEXIST);
	cr_expect_eq(api_routes_register(&twins[1], 1), -EEXIST);
	cr_expect_eq(api_routes_register(ok, 2), 0);
	cr_expect_eq(api_routes_register(&self_twin[0], 1), 0);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert(f);
	api_routes_print(f);
	fclose(f);
	cr_expect_str_eq(text, "GET /v1/status\n"
			       "GET /v1/status/{group}\n"
			       "GET /v1/reports/{group}\n"
			       "GET /healthz\n"
			       "GET /readyz\n"
			       "GET /v1/connections\n"
			       "GET /v1/connections/{id}\n"
			       "DELETE /v1/connections/{id}\n"
			       "GET /metrics\n"
			       "GET /v1/openapi.yaml\n"
			       "GET /v1/events\n"
			       "GET /v1/test/ask/{w}\n"
			       "POST /v1/test/ask/{w}\n"
			       "POST /v1/test/things\n"
			       "DELETE /v1/test/things/{id}\n"
			       "POST /v1/test/plain\n"
			       "GET /1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/{p}\n"
			       "PUT /v1/test/{a}/{b}/{c}/{d}\n"
			       "PUT /v1/test/{a}\n");
	free(text);

	/* room for 15 tables besides api_http.c's: 3 taken */
	static struct api_route many[16];
	static char pat[16][32];
	int rc = 0, added = 0;
	for (int i = 0; i < 16 && rc == 0; i++) {
		snprintf(pat[i], sizeof(pat[i]), "/v1/many/%d", i);
		many[i] = (struct api_route){ "GET", pat[i], h_things, 0 };
		rc = api_routes_register(&many[i], 1);
		added += rc == 0;
	}
	cr_expect_eq(rc, -ENOSPC);
	cr_expect_eq(added, 12);

	up(ENG_BACKEND_EPOLL, NULL, 0);
	cr_expect_eq(api_routes_register(&twins[1], 1), -EBUSY, "registered while running");
	struct resp r = req("GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/x", NULL);
	cr_expect_eq(r.status, 201, "%d %s", r.status, r.body);
	resp_free(&r);
	r = req("GET", "/v1/many/10", NULL);
	cr_expect_eq(r.status, 201, "%d %s", r.status, r.body);
	resp_free(&r);
	down();
}

Test(api_routes, served_with_404_and_405, .timeout = 30)
{
	char msg[256];
	struct resp r;

	test_routes_up();
	up(ENG_BACKEND_EPOLL, NULL, 0);
	r = req_len("POST", "/v1/test/things", NULL, "{}", 2);
	cr_expect_eq(r.status, 201, "%d %s", r.status, r.body);
	expect_header(&r, "Location", "/v1/test/things/1");
	resp_free(&r);
	r = req("DELETE", "/v1/test/things/abc", NULL);
	cr_expect_eq(r.status, 201, "%d %s", r.status, r.body);
	resp_free(&r);
	r = req("HEAD", "/v1/test/ask/1", NULL);
	cr_expect_eq(r.status, 200);
	resp_free(&r);

	/* a known path with another method: 405 with every method of its rows */
	expect_405("PUT", "/v1/test/things", "POST");
	expect_405("DELETE", "/v1/test/ask/0", "GET, HEAD, POST");
	expect_405("POST", "/v1/test/things/7", "DELETE");
	expect_405("POST", "/v1/status", "GET, HEAD");

	/* paths no row has: the router's own 404, which says so */
	static const char *const missing[] = { "/v1/test", "/v1/test/things/7/x", "/v1/test/ask",
					       "/v1/test/ask/", "/v1/tests/things", NULL };
	for (const char *const *p = missing; *p; p++) {
		r = req("POST", *p, NULL);
		expect_error(&r, 404, msg, sizeof(msg));
		cr_expect(strstr(msg, "no route"), "%s: %s", *p, msg);
		resp_free(&r);
	}
	down();
}

/* Asks worker 0, worker 1 and a worker that does not exist; a stuck worker 1 delays only
 * what asks it (503 past the timeout, naming it); a full mailbox of worker 0 is 503 at once
 * for what asks worker 0 only. */
static void ask_one(enum eng_backend be)
{
	char msg[256];
	json_error_t je;
	struct resp r;

	test_routes_up();
	up(be, NULL, 64);
	for (int w = 0; w < 2; w++) {
		char path[64];
		snprintf(path, sizeof(path), "/v1/test/ask/%d", w);
		r = req("GET", path, NULL);
		cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
		json_t *j = json_loads(r.body, 0, &je);
		cr_assert(j, "%s", r.body);
		cr_expect_eq(json_integer_value(json_object_get(j, "n")), 1);
		cr_expect_eq(json_integer_value(json_object_get(j, "worker")), w);
		json_decref(j);
		resp_free(&r);
	}
	r = req("GET", "/v1/test/ask/2", NULL);
	expect_error(&r, 500, msg, sizeof(msg));
	cr_expect(strstr(msg, "no worker 2"), "%s", msg);
	resp_free(&r);

	/* worker 1 stuck: worker 0 answers at once, worker 1's question times out */
	cr_assert_eq(eng_post(eng_worker_at(fx.e, 1), msg_sleep, NULL, 3000), 0);
	wait_sleeping();
	r = req("GET", "/v1/test/ask/0", NULL);
	cr_expect_eq(r.status, 200);
	cr_expect_lt(r.ms, 1000, "%lld ms", r.ms);
	resp_free(&r);
	r = req("GET", "/v1/test/ask/1", NULL);
	expect_error(&r, 503, msg, sizeof(msg));
	cr_expect(strstr(msg, "workers 1 did not answer"), "%s", msg);
	cr_expect(r.ms >= API_GATHER_TIMEOUT_MS - 100 && r.ms <= API_GATHER_TIMEOUT_MS + 600,
		  "503 after %lld ms", r.ms);
	resp_free(&r);
	wait_awake();

	/* worker 0's mailbox full: 503 at once for it, worker 1 fine */
	mailbox_fill(eng_worker_at(fx.e, 0));
	r = req("GET", "/v1/test/ask/0", NULL);
	expect_error(&r, 503, msg, sizeof(msg));
	cr_expect(strstr(msg, "worker 0 is overloaded (mailbox full)"), "%s", msg);
	cr_expect_lt(r.ms, 1000, "%lld ms", r.ms);
	resp_free(&r);
	r = req("GET", "/v1/test/ask/1", NULL);
	cr_expect_eq(r.status, 200, "%d %s", r.status, r.body);
	resp_free(&r);

	status_recovers(4000);
	char *t = get_metrics(NULL);
	cr_expect_eq(metric(t, "rcsgw_api_worker_timeouts_total"), 1);
	cr_expect_geq(metric(t, "rcsgw_api_mailbox_full_total"), 1);
	free(t);
	down();
}

Test(api_routes, ask_one_worker_epoll, .timeout = 30) { ask_one(ENG_BACKEND_EPOLL); }
Test(api_routes, ask_one_worker_io_uring, .timeout = 30) { ask_one(ENG_BACKEND_IO_URING); }

/* ---- Idempotency-Key ------------------------------------------------------------------------ */

static struct resp post(const char *path, const char *headers, const char *body)
{
	return req_len("POST", path, headers, body, strlen(body));
}

Test(api_idempotency, replay_over_http, .timeout = 30)
{
	char msg[256];
	struct resp r, r2;
	const char *k1 = "Idempotency-Key: 8e03978e-40d5-43e8-bc93-6894a57f9324\r\n";

	test_routes_up();
	up(ENG_BACKEND_EPOLL, NULL, 0);

	/* without a key every POST runs */
	r = post("/v1/test/things", NULL, "{\"a\":1}");
	cr_expect_eq(r.status, 201);
	resp_free(&r);
	r = post("/v1/test/things", NULL, "{\"a\":1}");
	cr_expect_eq(r.status, 201);
	resp_free(&r);
	cr_expect_eq(atomic_load(&things_calls), 2);

	/* with one: the first runs, the same again gets the first answer back */
	r = post("/v1/test/things", k1, "{\"a\":1}");
	cr_assert_eq(r.status, 201, "%s", r.body);
	expect_header(&r, "Location", "/v1/test/things/3");
	cr_expect_null(http_header(r.hdr, "Idempotent-Replayed"));
	for (int i = 0; i < 2; i++) {
		r2 = post("/v1/test/things", k1, "{\"a\":1}");
		cr_expect_eq(r2.status, 201);
		cr_expect_str_eq(r2.body, r.body);
		expect_header(&r2, "Location", "/v1/test/things/3");
		expect_header(&r2, "Idempotent-Replayed", "true");
		expect_header(&r2, "Content-Type", "application/json");
		resp_free(&r2);
	}
	resp_free(&r);
	cr_expect_eq(atomic_load(&things_calls), 3);

	/* the same key with another body, path or method: 422 naming the header */
	r = post("/v1/test/things", k1, "{\"a\":2}");
	expect_error(&r, 422, msg, sizeof(msg));
	cr_expect(strstr(msg, "Idempotency-Key"), "%s", msg);
	resp_free(&r);
	r = post("/v1/test/ask/0", k1, "{\"a\":1}");
	expect_error(&r, 422, NULL, 0);
	resp_free(&r);
	cr_expect_eq(atomic_load(&things_calls), 3);
	cr_expect_eq(atomic_load(&ask_calls), 0);

	/* a 4xx is kept, a 5xx is not (the client may try again) */
	r = post("/v1/test/things", "Idempotency-Key: bad-1\r\n", "bad");
	expect_error(&r, 400, msg, sizeof(msg));
	cr_expect_str_eq(msg, "bad as asked (4)");
	resp_free(&r);
	r = post("/v1/test/things", "Idempotency-Key: bad-1\r\n", "bad");
	expect_error(&r, 400, msg, sizeof(msg));
	cr_expect_str_eq(msg, "bad as asked (4)");
	expect_header(&r, "Idempotent-Replayed", "true");
	resp_free(&r);
	for (int i = 0; i < 2; i++) {
		r = post("/v1/test/things", "Idempotency-Key: fail-1\r\n", "fail");
		expect_error(&r, 503, NULL, 0);
		cr_expect_null(http_header(r.hdr, "Idempotent-Replayed"));
		resp_free(&r);
	}
	cr_expect_eq(atomic_load(&things_calls), 6);

	/* a route that did not opt in ignores the header, even a bad one */
	for (int i = 0; i < 2; i++) {
		r = post("/v1/test/plain", "Idempotency-Key: two words\r\n", "x");
		cr_expect_eq(r.status, 201, "%d %s", r.status, r.body);
		resp_free(&r);
	}
	cr_expect_eq(atomic_load(&things_calls), 8);

	char *t = get_metrics(NULL);
	cr_expect_eq(metric(t, "rcsgw_api_idempotent_replays_total"), 3);
	cr_expect_eq(metric(t, "rcsgw_api_idempotency_conflicts_total"), 2);
	cr_expect_eq(metric(t, "rcsgw_api_idempotency_evicted_total"), 0);
	cr_expect_eq(metric(t, "rcsgw_api_idempotency_keys"), 2);
	free(t);
	down();
}

Test(api_idempotency, bad_keys, .timeout = 30)
{
	char msg[256], big[400];
	struct resp r;

	test_routes_up();
	up(ENG_BACKEND_EPOLL, NULL, 0);
	snprintf(big, sizeof(big), "Idempotency-Key: %0256d\r\n", 0);
	const char *const bad[] = {
		big,
		"Idempotency-Key:\r\n",
		"Idempotency-Key: two words\r\n",
		"Idempotency-Key: caf\xc3\xa9\r\n",
		"Idempotency-Key: a\r\nIdempotency-Key: a\r\n",
		NULL,
	};
	for (const char *const *h = bad; *h; h++) {
		r = post("/v1/test/things", *h, "{}");
		expect_error(&r, 400, msg, sizeof(msg));
		cr_expect(strstr(msg, "Idempotency-Key"), "%s: %s", *h, msg);
		resp_free(&r);
	}
	cr_expect_eq(atomic_load(&things_calls), 0);
	/* 255 characters are fine */
	snprintf(big, sizeof(big), "Idempotency-Key: %0255d\r\n", 0);
	r = post("/v1/test/things", big, "{}");
	cr_expect_eq(r.status, 201, "%d %s", r.status, r.body);
	resp_free(&r);
	down();
}

Test(api_idempotency, per_token, .timeout = 30)
{
	static const char *const tokens[] = { "tok-a", "tok-b", NULL };
	const char *a = "Authorization: Bearer tok-a\r\nIdempotency-Key: same\r\n";
	const char *b = "Authorization: Bearer tok-b\r\nIdempotency-Key: same\r\n";
	struct resp r;
	json_t *j;

	test_routes_up();
	up(ENG_BACKEND_EPOLL, tokens, 0);
	/* no token: 401 before the key is looked at */
	r = post("/v1/test/things", "Idempotency-Key: same\r\n", "{}");
	expect_error(&r, 401, NULL, 0);
	resp_free(&r);
	for (int round = 0; round < 2; round++) {
		r = post("/v1/test/things", a, "{}");
		cr_assert_eq(r.status, 201, "%s", r.body);
		j = json_loads(r.body, 0, NULL);
		cr_expect_eq(json_integer_value(json_object_get(j, "n")), 1, "%s", r.body);
		json_decref(j);
		resp_free(&r);
		r = post("/v1/test/things", b, "{}");
		cr_assert_eq(r.status, 201, "%s", r.body);
		j = json_loads(r.body, 0, NULL);
		cr_expect_eq(json_integer_value(json_object_get(j, "n")), 2, "%s", r.body);
		json_decref(j);
		resp_free(&r);
	}
	cr_expect_eq(atomic_load(&things_calls), 2);
	down();
}

static void *post_thread(void *arg)
{
	struct resp *r = arg;
	long long t0 = proc_now_ms();
	int rc = http_request(HOST, fx.port, "POST", "/v1/test/ask/0",
			      "Idempotency-Key: slow\r\n", "{}", &r->status, &r->hdr, &r->body, TMO);
	r->ms = proc_now_ms() - t0;
	if (rc < 0)
		r->status = rc;
	return NULL;
}

/* The answer of a renderer (api_ask) is what the key keeps; while it is awaited the key is
 * busy (409); a 503 of a silent worker is not kept. */
static void idem_later(enum eng_backend be)
{
	char msg[256];
	struct resp first = { 0 }, r;
	pthread_t th;

	test_routes_up();
	up(be, NULL, 0);
	cr_assert_eq(eng_post(eng_worker_at(fx.e, 0), msg_sleep, NULL, 1200), 0);
	wait_sleeping();
	cr_assert_eq(pthread_create(&th, NULL, post_thread, &first), 0);
	long long until = proc_now_ms() + 3000;
	while (atomic_load(&ask_calls) == 0 && proc_now_ms() < until)
		sleep_ms(1);
	cr_assert_eq(atomic_load(&ask_calls), 1, "the first POST did not reach its handler");

	r = post("/v1/test/ask/0", "Idempotency-Key: slow\r\n", "{}");
	expect_error(&r, 409, msg, sizeof(msg));
	cr_expect(strstr(msg, "Idempotency-Key \"slow\" is still in progress"), "%s", msg);
	cr_expect_lt(r.ms, 1000, "409 after %lld ms", r.ms);
	resp_free(&r);

	pthread_join(th, NULL);
	cr_assert_eq(first.status, 201, "%d %s", first.status, first.body);
	expect_header(&first, "Location", "/v1/test/asked");
	r = post("/v1/test/ask/0", "Idempotency-Key: slow\r\n", "{}");
	cr_expect_eq(r.status, 201);
	cr_expect_str_eq(r.body, first.body);
	expect_header(&r, "Location", "/v1/test/asked");
	expect_header(&r, "Idempotent-Replayed", "true");
	resp_free(&r);
	resp_free(&first);
	cr_expect_eq(atomic_load(&ask_calls), 1);

	/* worker 1 silent past the timeout: 503, not kept; the retry runs */
	cr_assert_eq(eng_post(eng_worker_at(fx.e, 1), msg_sleep, NULL, 2500), 0);
	wait_sleeping();
	r = post("/v1/test/ask/1", "Idempotency-Key: retry-me\r\n", "{}");
	expect_error(&r, 503, NULL, 0);
	resp_free(&r);
	wait_awake();
	r = post("/v1/test/ask/1", "Idempotency-Key: retry-me\r\n", "{}");
	cr_expect_eq(r.status, 201, "%d %s", r.status, r.body);
	cr_expect_null(http_header(r.hdr, "Idempotent-Replayed"));
	resp_free(&r);
	cr_expect_eq(atomic_load(&ask_calls), 3);

	char *t = get_metrics(NULL);
	cr_expect_eq(metric(t, "rcsgw_api_idempotent_replays_total"), 1);
	cr_expect_eq(metric(t, "rcsgw_api_idempotency_conflicts_total"), 1);
	free(t);
	down();
}

Test(api_idempotency, renderer_answer_epoll, .timeout = 30) { idem_later(ENG_BACKEND_EPOLL); }
Test(api_idempotency, renderer_answer_io_uring, .timeout = 30)
{
	idem_later(ENG_BACKEND_IO_URING);
}

/* ---- the router and the OpenAPI document agree (the real daemon) -------------------------- */

#define OPS_MAX 256

struct op {
	char method[16];
	char path[256];
};

/* The operations of the "paths:" block of <doc> into <ops>: each "  <path>:" line, then the
 * "    <method>:" lines under it. A minimal reading of YAML in the block style that
 * api/openapi.yaml is written in (two-space indents; a quoted path is unquoted; comments
 * and blank lines skipped). Returns how many. */
static int openapi_ops(const char *doc, struct op *ops, int max)
{
	static const char *const methods[] = { "get", "put", "post", "delete", "options",
					       "head", "patch", "trace", NULL };
	char line[512], path[256] = "";
	int n = 0, in_paths = 0;

	for (const char *p = doc; *p;) {
		size_t len = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		p += len + (p[len] == '\n');
		size_t l = strlen(line);
		while (l && (line[l - 1] == ' ' || line[l - 1] == '\r'))
			line[--l] = '\0';
		size_t ind = strspn(line, " ");
		if (l == ind || line[ind] == '#')
			continue;
		if (ind == 0) {
			in_paths = strcmp(line, "paths:") == 0;
			continue;
		}
		if (!in_paths || line[l - 1] != ':')
			continue;
		line[--l] = '\0';
		char *key = line + ind;
		size_t kl = l - ind;
		if (kl >= 2 && (key[0] == '"' || key[0] == '\'') && key[kl - 1] == key[0]) {
			key[kl - 1] = '\0';
			key++;
		}
		if (ind == 2) {
			snprintf(path, sizeof(path), "%s", key);
		} else if (ind == 4 && path[0]) {
			for (const char *const *m = methods; *m; m++)
				if (strcmp(key, *m) == 0) {
					cr_assert_lt(n, max);
					for (size_t i = 0; key[i] && i + 1 < sizeof(ops[n].method); i++)
						ops[n].method[i] = (char)toupper((unsigned char)key[i]);
					snprintf(ops[n].path, sizeof(ops[n].path), "%s", path);
					n++;
				}
		}
	}
	return n;
}

/* <path> with every "{...}" replaced by <with> ("{}" to compare templates whatever their
 * parameters' names, a made-up id to call them). */
static void fill_params(const char *path, const char *with, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = path; *p && o + 1 < len;) {
		if (*p == '{' && strchr(p, '}')) {
			o += (size_t)snprintf(out + o, len - o, "%s", with);
			p = strchr(p, '}') + 1;
		} else {
			out[o++] = *p++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

/* Sends "<method> <path>" (with a token, and "{}" as a JSON body for the methods that take
 * one) and reads the answer head; a 404's body too, into <body>. A stream (GET /v1/events)
 * is left after its head. Returns the status, or -errno. */
static int probe(int port, const char *method, const char *path, char *body, size_t blen)
{
	char rq[1024], buf[16384];
	int with_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
			strcmp(method, "PATCH") == 0;
	int n = snprintf(rq, sizeof(rq),
			 "%s %s HTTP/1.1\r\nHost: " HOST "\r\nAuthorization: Bearer t0k\r\n"
			 "Connection: close\r\n%s\r\n%s",
			 method, path,
			 with_body ? "Content-Type: application/json\r\nContent-Length: 2\r\n" : "",
			 with_body ? "{}" : "");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, rq, (size_t)n, MSG_NOSIGNAL) != n) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	size_t len = 0;
	int status = -ETIMEDOUT;
	const char *head_end = NULL;
	long long until = proc_now_ms() + TMO;
	body[0] = '\0';
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		long long left = until - proc_now_ms();
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		ssize_t got = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (got <= 0)
			break;
		len += (size_t)got;
		buf[len] = '\0';
		if (!head_end && (head_end = strstr(buf, "\r\n\r\n"))) {
			if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				status = -EPROTO;
			if (status != 404)
				break;
		}
		if (len == sizeof(buf) - 1)
			break;
	}
	if (head_end && status == 404)
		snprintf(body, blen, "%s", head_end + 4);
	close(fd);
	return status;
}

Test(openapi, router_and_document_agree, .timeout = 60)
{
	char list[16384], body[2048];
	static struct op ops[OPS_MAX], rows[OPS_MAX];
	struct daemon d;

	daemon_env(&d);
	int port = d.port;

	/* the router's rows, as the daemon has them with this environment */
	char *const argv[] = { d.bin, "--list-routes", NULL };
	int out = -1;
	pid_t lp = proc_spawn(argv, (char *const *)d.env, &out, NULL, NULL);
	cr_assert_gt(lp, 0);
	proc_read_all(out, list, sizeof(list), 10000);
	close(out);
	int st = proc_wait(lp, 5000);
	if (st == -1)
		proc_stop(lp, SIGKILL, 1000);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "--list-routes: %d", st);
	int nrows = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, "\n");
		cr_assert_lt(nrows, OPS_MAX);
		int k = sscanf(p, "%15[A-Z] %255[^\n]", rows[nrows].method, rows[nrows].path);
		cr_assert_eq(k, 2, "--list-routes line: %.*s", (int)len, p);
		nrows++;
		p += len + (p[len] == '\n');
	}
	cr_assert(strstr(list, "GET /v1/status\n"), "%s", list);
	cr_assert_geq(nrows, 4, "%s", list);

	int efd = -1;
	pid_t pid = daemon_up(&d, &efd);
	int status;
	char *doc = NULL;
	int rc = http_request(HOST, port, "GET", "/v1/openapi.yaml", NULL, NULL, &status, NULL,
			      &doc, TMO);
	cr_assert(rc == 0 && status == 200, "GET /v1/openapi.yaml: %d %d", rc, status);
	int nops = openapi_ops(doc, ops, OPS_MAX);
	free(doc);
	cr_assert_geq(nops, 4);

	/* every row of the router is documented */
	for (int i = 0; i < nrows; i++) {
		char a[256], b[256];
		int found = 0;
		fill_params(rows[i].path, "{}", a, sizeof(a));
		for (int k = 0; k < nops && !found; k++) {
			fill_params(ops[k].path, "{}", b, sizeof(b));
			found = strcmp(rows[i].method, ops[k].method) == 0 && strcmp(a, b) == 0;
		}
		cr_expect(found, "router row %s %s is not in openapi.yaml", rows[i].method,
			  rows[i].path);
	}
	/* every documented operation has a route: not the router's 404, not 405 */
	for (int k = 0; k < nops; k++) {
		char path[256];
		fill_params(ops[k].path, "no-such-id-0", path, sizeof(path));
		int s = probe(port, ops[k].method, path, body, sizeof(body));
		cr_expect_gt(s, 0, "%s %s: %s", ops[k].method, path, strerror(-s));
		cr_expect_neq(s, 405, "%s %s: 405, openapi.yaml has it", ops[k].method, path);
		cr_expect(!(s == 404 && strstr(body, "no route")),
			  "%s %s: no route, openapi.yaml has it: %s", ops[k].method, path, body);
	}
	cr_expect_eq(rcsgw_stop(pid, SIGTERM, 15000), 0);
	close(efd);
}

/* The document is YAML that parses (yamllint: syntax errors and duplicate keys fail, style
 * does not): what /v1/openapi.yaml serves can be loaded by clients' generators. */
Test(openapi, document_is_valid_yaml)
{
	if (system("command -v yamllint >/dev/null 2>&1") != 0)
		cr_skip_test("yamllint is not installed (make deps)");
	int rc = system("yamllint -f parsable -d '{extends: relaxed, rules: {line-length: disable}}' "
			"api/openapi.yaml >&2");
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "yamllint found errors in api/openapi.yaml");
}
