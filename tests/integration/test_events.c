/* test_events.c — the event pipe of api/api_events.h in-process: an engine of one worker,
 * api_start on 127.0.0.1 port 0 with api.webhooks pointing at a webhook receiver run here
 * (libmicrohttpd, a thread per connection, answers scripted per request), events published
 * with api_event_publish() from the test's thread (as a worker would), and GET /v1/events
 * read over a plain socket. Signatures are checked with wolfSSL's HMAC. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "api/api.h"
#include "api/api_events.h"
#include "common/cm_config.h"
#include "engine/eng.h"
#include "tests/lib/proc.h"
#include "tests/lib/rcsgw_proc.h"

#define HOST "127.0.0.1"
#define TMO  5000                   /* ms: bound of every HTTP exchange and wait */
#define SECRET "test-secret-0123456789"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the webhook receiver ------------------------------------------------------------------- */

#define HOOK_MAX 64

struct hook_hit {
	char *body;
	char *ctype, *sig, *id, *ts;
	long long at_ms;
};

static struct {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	int script[16];            /* answer of request i: status, or -ms: wait, then 200 */
	int nscript;
	struct hook_hit hit[HOOK_MAX];
	int nhit;                  /* requests seen (answered or not) */
	volatile int quit;
} hk = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct hook_body {
	size_t len;
	char buf[65536];
};

static char *dup_hdr(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	return v ? strdup(v) : NULL;
}

static enum MHD_Result hook_req(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version, const char *data,
				size_t *size, void **con_cls)
{
	struct hook_body *b = *con_cls;
	(void)cls;
	(void)url;
	(void)method;
	(void)version;

	if (!b) {
		b = calloc(1, sizeof(*b));
		*con_cls = b;
		return b ? MHD_YES : MHD_NO;
	}
	if (*size) {
		size_t n = *size < sizeof(b->buf) - 1 - b->len ? *size : sizeof(b->buf) - 1 - b->len;
		memcpy(b->buf + b->len, data, n);
		b->len += n;
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&hk.mu);
	int i = hk.nhit++;
	int act = i < hk.nscript ? hk.script[i] : 200;
	if (i < HOOK_MAX) {
		struct hook_hit *h = &hk.hit[i];
		h->body = strndup(b->buf, b->len);
		h->ctype = dup_hdr(c, "Content-Type");
		h->sig = dup_hdr(c, "X-Rcsgw-Signature");
		h->id = dup_hdr(c, "X-Rcsgw-Event-Id");
		h->ts = dup_hdr(c, "X-Rcsgw-Timestamp");
		h->at_ms = proc_now_ms();
	}
	pthread_mutex_unlock(&hk.mu);
	if (act < 0) {
		for (int left = -act; left > 0 && !hk.quit; left -= 10)
			sleep_ms(10);
		act = 200;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"ok",
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)act, r);
	MHD_destroy_response(r);
	return rc;
}

static void hook_done(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static void hook_start(const int *script, int n)
{
	if (n)
		memcpy(hk.script, script, sizeof(int) * (size_t)n);
	hk.nscript = n;
	hk.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, hook_req, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, hook_done, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	cr_assert(hk.d);
	hk.port = MHD_get_daemon_info(hk.d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static int hook_count(void)
{
	pthread_mutex_lock(&hk.mu);
	int n = hk.nhit;
	pthread_mutex_unlock(&hk.mu);
	return n;
}

static void hook_wait(int n, int ms)
{
	long long until = proc_now_ms() + ms;
	while (hook_count() < n && proc_now_ms() < until)
		sleep_ms(10);
	cr_assert_geq(hook_count(), n, "the webhook got %d requests, %d expected", hook_count(),
		      n);
}

static void hook_stop(void)
{
	hk.quit = 1;
	if (hk.d)
		MHD_stop_daemon(hk.d);
	for (int i = 0; i < hk.nhit && i < HOOK_MAX; i++) {
		struct hook_hit *h = &hk.hit[i];
		free(h->body);
		free(h->ctype);
		free(h->sig);
		free(h->id);
		free(h->ts);
	}
}

/* ---- the daemon side: engine + api ----------------------------------------------------------- */

static struct {
	eng_engine *e;
	struct cm_config cfg;
	int port;
} fx;

struct opts {
	int hooks;                 /* point api.webhooks at the receiver */
	const char *secret;
	const char *token;
	long long timeout_ms;
	int retries;
	int queue;
	int sse_max;               /* 0: the default */
	const char *hook_url;      /* instead of the receiver's */
	long long keepalive_ms;    /* api.sse_keepalive; 0: the default */
};

/* Engine of one epoll worker; the API on 127.0.0.1:0 configured through the RCSGW_API_*
 * variables, as an operator would. */
static int up_rc(const struct opts *o, char *err, size_t errlen)
{
	struct eng_config ec;
	char v[8][160];
	char *env[11];
	int n = 0;

	eng_config_defaults(&ec);
	ec.backend = ENG_BACKEND_EPOLL;
	ec.workers = 1;
	ec.pin = 0;
	ec.bufs_max = 256;
	ec.buf_ring_entries = 64;
	ec.ring_entries = 64;
	fx.e = eng_create(&ec, err, errlen);
	cr_assert(fx.e, "eng_create: %s", err);
	cr_assert_eq(eng_start(fx.e, NULL, NULL), 0);

	env[n++] = "RCSGW_API_LISTEN=" HOST ":0";
	if (o->hook_url)
		snprintf(v[0], sizeof(v[0]), "RCSGW_API_WEBHOOKS=%s", o->hook_url);
	else
		snprintf(v[0], sizeof(v[0]), "RCSGW_API_WEBHOOKS=http://" HOST ":%d/hook", hk.port);
	snprintf(v[1], sizeof(v[1]), "RCSGW_API_WEBHOOK_SECRET=%s", o->secret ? o->secret : "");
	snprintf(v[2], sizeof(v[2]), "RCSGW_API_TOKENS=%s", o->token ? o->token : "");
	snprintf(v[3], sizeof(v[3]), "RCSGW_API_WEBHOOK_TIMEOUT=%lldms",
		 o->timeout_ms ? o->timeout_ms : 5000);
	snprintf(v[4], sizeof(v[4]), "RCSGW_API_WEBHOOK_RETRIES=%d", o->retries);
	snprintf(v[5], sizeof(v[5]), "RCSGW_API_EVENT_QUEUE=%d", o->queue ? o->queue : 10000);
	snprintf(v[6], sizeof(v[6]), "RCSGW_API_SSE_MAX_CLIENTS=%d",
		 o->sse_max ? o->sse_max : 100);
	snprintf(v[7], sizeof(v[7]), "RCSGW_API_SSE_KEEPALIVE=%lldms",
		 o->keepalive_ms ? o->keepalive_ms : 15000);
	for (int i = o->hooks ? 0 : 1; i < 8; i++)
		env[n++] = v[i];
	env[n] = NULL;
	cr_assert_eq(cm_config_load_env(&fx.cfg, NULL, env, err, errlen), 0, "%s", err);
	return api_start(&fx.cfg, fx.e, err, errlen);
}

static void up(const struct opts *o)
{
	char err[256];
	cr_assert_eq(up_rc(o, err, sizeof(err)), 0, "api_start: %s", err);
	fx.port = api_listen_port(0);
	cr_assert(fx.port > 0);
}

static void down(void)
{
	api_stop();
	eng_destroy(fx.e);
	cm_config_free(&fx.cfg);
	memset(&fx, 0, sizeof(fx));
	hook_stop();
}

static int publish(const char *type, int n)
{
	return api_event_publish(json_pack("{s:s,s:s,s:i}", "type", type, "session_id", "s-1",
					   "n", n));
}

/* The value of sample <name> in GET /metrics, or -1. */
static double metric(const char *name, const char *token)
{
	char hdr[128] = "";
	int status;
	char *body = NULL;
	double v = -1;

	if (token)
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
	int rc = http_request(HOST, fx.port, "GET", "/metrics", token ? hdr : NULL, NULL,
			      &status, NULL, &body, TMO);
	cr_assert_eq(rc, 0);
	cr_assert_eq(status, 200);
	size_t len = strlen(name);
	for (char *p = body; p && *p;) {
		if (strncmp(p, name, len) == 0 && p[len] == ' ') {
			v = strtod(p + len + 1, NULL);
			break;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	free(body);
	return v;
}

static void metric_wait(const char *name, double want, int ms)
{
	long long until = proc_now_ms() + ms;
	double v;
	while ((v = metric(name, NULL)) != want && proc_now_ms() < until)
		sleep_ms(20);
	cr_assert_eq(v, want, "%s is %g, %g expected", name, v, want);
}

/* ---- an SSE reader over a plain socket (HTTP/1.0: no chunked framing) ------------------------ */

struct sse_cli {
	int fd;
	char *buf;
	size_t len, cap;
	int eof;
};

static void sse_open(struct sse_cli *c, const char *extra_headers)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port) };
	char req[512];

	memset(c, 0, sizeof(*c));
	inet_pton(AF_INET, HOST, &a.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(c->fd >= 0);
	cr_assert_eq(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	int n = snprintf(req, sizeof(req), "GET /v1/events HTTP/1.0\r\nHost: " HOST "\r\n%s\r\n",
			 extra_headers ? extra_headers : "");
	cr_assert_eq(write(c->fd, req, (size_t)n), n);
	c->cap = 1 << 16;
	c->buf = calloc(1, c->cap);
	cr_assert(c->buf);
}

/* Reads until <want> is in the buffer, EOF, or <ms>. */
static int sse_read_until(struct sse_cli *c, const char *want, int ms)
{
	long long until = proc_now_ms() + ms;

	while (!strstr(c->buf, want) && !c->eof) {
		long long left = until - proc_now_ms();
		struct pollfd p = { c->fd, POLLIN, 0 };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		if (c->len + 4096 + 1 > c->cap) {
			c->cap *= 2;
			c->buf = realloc(c->buf, c->cap);
			cr_assert(c->buf);
		}
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (n <= 0) {
			c->eof = 1;
			break;
		}
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
	return strstr(c->buf, want) != NULL;
}

/* Reads until the stream holds <n> events (data lines), EOF, or <ms>. */
static int sse_wait_events(struct sse_cli *c, int n, int ms)
{
	long long until = proc_now_ms() + ms;
	for (;;) {
		int k = 0;
		for (const char *p = c->buf; (p = strstr(p, "\ndata: ")); p++)
			k++;
		if (k >= n)
			return 1;
		if (c->eof || proc_now_ms() >= until)
			return 0;
		/* a marker that never comes: returns at the next read or after 50 ms */
		sse_read_until(c, "\x01", 50);
	}
}

static void sse_close(struct sse_cli *c)
{
	close(c->fd);
	free(c->buf);
}

/* The events of the stream so far: up to <max> of id, type, data (pointers into a copy the
 * caller frees, *<copy>). Returns how many. */
struct sse_ev {
	const char *id, *type, *data;
};

static int sse_events(const struct sse_cli *c, struct sse_ev *out, int max, char **copy)
{
	char *s = strdup(c->buf), *body = strstr(s, "\r\n\r\n");
	int n = 0;

	*copy = s;
	if (!body)
		return 0;
	for (char *blk = body + 4, *end; n < max && (end = strstr(blk, "\n\n")); blk = end + 2) {
		*end = '\0';
		struct sse_ev e = { 0 };
		for (char *line = blk, *nl; line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			if (strncmp(line, "id: ", 4) == 0)
				e.id = line + 4;
			else if (strncmp(line, "event: ", 7) == 0)
				e.type = line + 7;
			else if (strncmp(line, "data: ", 6) == 0)
				e.data = line + 6;
		}
		if (e.data)
			out[n++] = e;
	}
	return n;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void hmac_hex(const char *body, char *out)
{
	unsigned char mac[WC_SHA256_DIGEST_SIZE];
	Hmac h;

	cr_assert_eq(wc_HmacInit(&h, NULL, INVALID_DEVID), 0);
	cr_assert_eq(wc_HmacSetKey(&h, WC_SHA256, (const byte *)SECRET, sizeof(SECRET) - 1), 0);
	cr_assert_eq(wc_HmacUpdate(&h, (const byte *)body, (word32)strlen(body)), 0);
	cr_assert_eq(wc_HmacFinal(&h, mac), 0);
	wc_HmacFree(&h);
	strcpy(out, "sha256=");
	for (size_t i = 0; i < sizeof(mac); i++)
		sprintf(out + 7 + 2 * i, "%02x", mac[i]);
}

Test(events, webhook_signed_in_order, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ .hooks = 1, .secret = SECRET, .retries = 2 });
	for (int i = 0; i < 5; i++)
		cr_assert_eq(publish("message.received", i), 0);
	hook_wait(5, TMO);
	long long prev = 0;
	for (int i = 0; i < 5; i++) {
		struct hook_hit *h = &hk.hit[i];
		char want[80];
		cr_expect_str_eq(h->ctype, "application/json");
		hmac_hex(h->body, want);
		cr_assert(h->sig, "no X-Rcsgw-Signature");
		cr_expect_str_eq(h->sig, want, "signature of %s", h->body);
		json_t *j = json_loads(h->body, 0, NULL);
		cr_assert(j, "%s", h->body);
		cr_expect_str_eq(json_string_value(json_object_get(j, "type")), "message.received");
		cr_expect_eq(json_integer_value(json_object_get(j, "n")), i, "order: %s", h->body);
		const char *id = json_string_value(json_object_get(j, "id"));
		const char *ts = json_string_value(json_object_get(j, "timestamp"));
		cr_assert(id && ts, "%s", h->body);
		cr_expect_str_eq(h->id, id);
		cr_expect_str_eq(h->ts, ts);
		unsigned Y, M, D, hh, mm, ss, ms;
		char z = 0;
		cr_expect_eq(sscanf(ts, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c", &Y, &M, &D, &hh, &mm, &ss,
				    &ms, &z), 8, "timestamp %s", ts);
		cr_expect_eq(z, 'Z');
		long long v = atoll(id);
		cr_expect_gt(v, prev, "ids increase: %s after %lld", id, prev);
		prev = v;
		json_decref(j);
	}
	metric_wait("rcsgw_webhook_delivered_total", 5, TMO);
	cr_expect_eq(metric("rcsgw_events_published_total", NULL), 5);
	cr_expect_eq(metric("rcsgw_webhook_retries_total", NULL), 0);
	metric_wait("rcsgw_events_held", 0, TMO);
	down();
}

Test(events, webhook_unsigned_without_secret, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ .hooks = 1 });
	cr_assert_eq(publish("session.incoming", 1), 0);
	hook_wait(1, TMO);
	cr_expect_null(hk.hit[0].sig);
	cr_expect(hk.hit[0].id && hk.hit[0].ts);
	down();
}

Test(events, webhook_retries_after_500, .timeout = 30)
{
	static const int script[] = { 500, 503 };
	hook_start(script, 2);
	up(&(struct opts){ .hooks = 1, .retries = 3 });
	long long t0 = proc_now_ms();
	cr_assert_eq(publish("session.failed", 7), 0);
	hook_wait(3, 8000);
	/* back-off: ~1 s then ~2 s (±20 %) */
	long long d1 = hk.hit[1].at_ms - hk.hit[0].at_ms, d2 = hk.hit[2].at_ms - hk.hit[1].at_ms;
	cr_expect(d1 >= 750 && d1 <= 2000, "first retry after %lld ms", d1);
	cr_expect(d2 >= 1550 && d2 <= 3500, "second retry after %lld ms", d2);
	cr_expect(hk.hit[0].at_ms - t0 < 1000);
	for (int i = 1; i < 3; i++) {
		cr_expect_str_eq(hk.hit[i].body, hk.hit[0].body, "a retry sends the same body");
		cr_expect_str_eq(hk.hit[i].id, hk.hit[0].id);
	}
	metric_wait("rcsgw_webhook_delivered_total", 1, TMO);
	cr_expect_eq(metric("rcsgw_webhook_retries_total", NULL), 2);
	cr_expect_eq(metric("rcsgw_webhook_failed_total", NULL), 0);
	sleep_ms(300);
	cr_expect_eq(hook_count(), 3, "no attempt after the success");
	down();
}

Test(events, webhook_timeout_then_success, .timeout = 30)
{
	static const int script[] = { -2000 };
	hook_start(script, 1);
	up(&(struct opts){ .hooks = 1, .retries = 1, .timeout_ms = 300 });
	cr_assert_eq(publish("session.ended", 1), 0);
	hook_wait(2, 5000);
	long long d = hk.hit[1].at_ms - hk.hit[0].at_ms;
	/* 300 ms timeout, then ~1 s back-off */
	cr_expect(d >= 300 + 750 && d < 3000, "retry %lld ms after the first attempt", d);
	metric_wait("rcsgw_webhook_delivered_total", 1, TMO);
	cr_expect_eq(metric("rcsgw_webhook_retries_total", NULL), 1);
	down();
}

Test(events, webhook_given_up, .timeout = 30)
{
	static const int script[] = { 500, 500 };
	hook_start(script, 2);
	up(&(struct opts){ .hooks = 1, .retries = 1 });
	cr_assert_eq(publish("message.report", 1), 0);
	metric_wait("rcsgw_webhook_failed_total", 1, 5000);
	cr_expect_eq(hook_count(), 2);
	cr_expect_eq(metric("rcsgw_webhook_delivered_total", NULL), 0);
	metric_wait("rcsgw_events_held", 0, TMO);
	/* the next event goes through */
	cr_assert_eq(publish("message.report", 2), 0);
	metric_wait("rcsgw_webhook_delivered_total", 1, TMO);
	down();
}

Test(events, queue_full_drops_counted, .timeout = 30)
{
	static const int script[] = { -3000 };
	hook_start(script, 1);
	up(&(struct opts){ .hooks = 1, .queue = 16, .timeout_ms = 10000 });
	int ok = 0, full = 0;
	for (int i = 0; i < 40; i++) {
		int rc = publish("message.received", i);
		if (rc == 0)
			ok++;
		else if (rc == -EAGAIN)
			full++;
	}
	cr_expect_eq(ok, 16);
	cr_expect_eq(full, 24);
	cr_expect_eq(metric("rcsgw_events_dropped_total", NULL), 24);
	cr_expect_eq(metric("rcsgw_events_published_total", NULL), 16);
	cr_expect_eq(metric("rcsgw_events_held", NULL), 16);
	/* the slow answer comes, the rest flows, room again */
	metric_wait("rcsgw_webhook_delivered_total", 16, 8000);
	metric_wait("rcsgw_events_held", 0, TMO);
	cr_expect_eq(publish("message.received", 99), 0);
	down();
}

Test(events, publish_contract, .timeout = 30)
{
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "x")), -ENOTCONN);
	hook_start(NULL, 0);
	up(&(struct opts){ 0 });
	cr_expect_eq(api_event_publish(json_pack("{s:i}", "type", 1)), -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "session_id", "a")), -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "a\nb")), -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("{s:s,s:s}", "type", "a", "id", "x\r\n")),
		     -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("[s]", "type")), -EINVAL);
	cr_expect_eq(api_event_publish(NULL), -EINVAL);
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "ok")), 0);
	cr_expect_eq(metric("rcsgw_events_published_total", NULL), 1);
	down();
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "x")), -ENOTCONN);
}

/* Publishes from <n> threads at once: every event arrives once, ids unique. */
struct pub_arg {
	int base, n;
};

static void *pub_thread(void *p)
{
	struct pub_arg *a = p;
	for (int i = 0; i < a->n; i++)
		publish("message.received", a->base + i);
	return NULL;
}

Test(events, sse_many_producers, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ .queue = 1000 });
	struct sse_cli c;
	sse_open(&c, NULL);
	cr_assert(sse_read_until(&c, "retry: ", TMO));
	pthread_t t[4];
	struct pub_arg a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct pub_arg){ i * 1000, 50 };
		pthread_create(&t[i], NULL, pub_thread, &a[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert(sse_wait_events(&c, 200, TMO));
	char *copy;
	struct sse_ev e[256];
	int n = sse_events(&c, e, 256, &copy);
	cr_expect_eq(n, 200);
	unsigned char seen[4][50] = { { 0 } };
	long long prev = 0;
	for (int i = 0; i < n; i++) {
		json_t *j = json_loads(e[i].data, 0, NULL);
		int v = (int)json_integer_value(json_object_get(j, "n"));
		cr_assert(v / 1000 < 4 && v % 1000 < 50);
		seen[v / 1000][v % 1000]++;
		long long id = atoll(e[i].id);
		cr_expect_gt(id, prev);
		prev = id;
		json_decref(j);
	}
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 50; k++)
			cr_expect_eq(seen[i][k], 1);
	free(copy);
	sse_close(&c);
	down();
}

Test(events, sse_stream_in_order, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ 0 });
	struct sse_cli c;
	sse_open(&c, NULL);
	cr_assert(sse_read_until(&c, "retry: ", TMO), "%s", c.buf);
	cr_expect(strstr(c.buf, "HTTP/1.1 200"), "%s", c.buf);
	cr_expect(strcasestr(c.buf, "Content-Type: text/event-stream"), "%s", c.buf);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(publish(i % 2 ? "message.received" : "session.established", i), 0);
	cr_assert(sse_read_until(&c, "\"n\":4", TMO), "%s", c.buf);
	char *copy;
	struct sse_ev e[8];
	int n = sse_events(&c, e, 8, &copy);
	cr_assert_eq(n, 5, "%s", c.buf);
	for (int i = 0; i < 5; i++) {
		json_t *j = json_loads(e[i].data, 0, NULL);
		cr_assert(j, "%s", e[i].data);
		cr_expect_str_eq(e[i].type, i % 2 ? "message.received" : "session.established");
		cr_expect_str_eq(e[i].id, json_string_value(json_object_get(j, "id")));
		cr_expect_eq(json_integer_value(json_object_get(j, "n")), i);
		if (i)
			cr_expect_eq(atoll(e[i].id), atoll(e[i - 1].id) + 1);
		json_decref(j);
	}
	free(copy);
	cr_expect_eq(metric("rcsgw_sse_clients", NULL), 1);
	sse_close(&c);
	metric_wait("rcsgw_sse_clients", 0, TMO);
	down();
}

Test(events, sse_last_event_id_replay, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ 0 });
	struct sse_cli c;
	sse_open(&c, NULL);
	cr_assert(sse_read_until(&c, "retry: ", TMO));
	for (int i = 0; i < 5; i++)
		cr_assert_eq(publish("message.received", i), 0);
	cr_assert(sse_read_until(&c, "\"n\":4", TMO), "%s", c.buf);
	char *copy, hdr[96];
	struct sse_ev e[8];
	cr_assert_eq(sse_events(&c, e, 8, &copy), 5);
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s\r\n", e[1].id);
	long long id1 = atoll(e[1].id);
	free(copy);
	sse_close(&c);
	for (int i = 5; i < 7; i++)
		cr_assert_eq(publish("message.received", i), 0);

	/* resumes after the second: 2..6 at once */
	sse_open(&c, hdr);
	cr_assert(sse_read_until(&c, "\"n\":6", TMO), "%s", c.buf);
	int n = sse_events(&c, e, 8, &copy);
	cr_assert_eq(n, 5, "%s", c.buf);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(atoll(e[i].id), id1 + 1 + i);
	free(copy);
	/* and goes on live */
	cr_assert_eq(publish("message.received", 7), 0);
	cr_assert(sse_read_until(&c, "\"n\":7", TMO), "%s", c.buf);
	sse_close(&c);

	/* an id from an earlier process: the whole ring */
	sse_open(&c, "Last-Event-ID: 12\r\n");
	cr_assert(sse_read_until(&c, "\"n\":7", TMO), "%s", c.buf);
	cr_expect_eq(sse_events(&c, e, 8, &copy), 8);
	free(copy);
	sse_close(&c);

	/* junk: live only */
	sse_open(&c, "Last-Event-ID: nope\r\n");
	cr_assert(sse_read_until(&c, "retry: ", TMO));
	cr_assert_eq(publish("message.received", 8), 0);
	cr_assert(sse_read_until(&c, "\"n\":8", TMO), "%s", c.buf);
	cr_expect_eq(sse_events(&c, e, 8, &copy), 1);
	free(copy);
	sse_close(&c);
	down();
}

Test(events, sse_max_clients_503, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ .sse_max = 2 });
	struct sse_cli a, b, c;
	sse_open(&a, NULL);
	sse_open(&b, NULL);
	cr_assert(sse_read_until(&a, "retry: ", TMO));
	cr_assert(sse_read_until(&b, "retry: ", TMO));
	int status;
	char *body = NULL;
	cr_assert_eq(http_request(HOST, fx.port, "GET", "/v1/events", NULL, NULL, &status, NULL,
				  &body, TMO), 0);
	cr_expect_eq(status, 503);
	json_t *j = json_loads(body, 0, NULL);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
		     503, "%s", body);
	json_decref(j);
	free(body);
	cr_expect_eq(metric("rcsgw_sse_refused_total", NULL), 1);
	sse_close(&a);
	metric_wait("rcsgw_sse_clients", 1, TMO);
	sse_open(&c, NULL);
	cr_assert(sse_read_until(&c, "retry: ", TMO), "%s", c.buf);
	cr_expect(strstr(c.buf, "HTTP/1.1 200"));
	sse_close(&b);
	sse_close(&c);
	down();
}

Test(events, sse_needs_token, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ .token = "t0k" });
	int status;
	char *body = NULL;
	cr_assert_eq(http_request(HOST, fx.port, "GET", "/v1/events", NULL, NULL, &status, NULL,
				  &body, TMO), 0);
	cr_expect_eq(status, 401);
	free(body);
	cr_assert_eq(http_request(HOST, fx.port, "GET", "/v1/events",
				  "Authorization: Bearer wrong\r\n", NULL, &status, NULL, &body,
				  TMO), 0);
	cr_expect_eq(status, 401);
	free(body);
	struct sse_cli c;
	sse_open(&c, "Authorization: Bearer t0k\r\n");
	cr_assert(sse_read_until(&c, "retry: ", TMO), "%s", c.buf);
	cr_assert_eq(publish("session.incoming", 1), 0);
	cr_assert(sse_read_until(&c, "event: session.incoming", TMO), "%s", c.buf);
	sse_close(&c);
	down();
}

Test(events, sse_slow_client_cut_off, .timeout = 60)
{
	hook_start(NULL, 0);
	up(&(struct opts){ .queue = 100000 });
	struct sse_cli c;
	int sz = 1;
	sse_open(&c, NULL);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	cr_assert(sse_read_until(&c, "retry: ", TMO));
	/* 2000 events of 4 KiB: far more than the ring (256) and the socket buffers hold */
	char *pad = malloc(4097);
	memset(pad, 'x', 4096);
	pad[4096] = '\0';
	for (int i = 0; i < 2000; i++)
		cr_assert_eq(api_event_publish(json_pack("{s:s,s:i,s:s}", "type", "big", "n", i,
							 "pad", pad)), 0);
	free(pad);
	metric_wait("rcsgw_events_held", 0, TMO);
	sleep_ms(200);
	/* now read: the stream ends early, cut off */
	cr_expect_not(sse_read_until(&c, "\"n\":1999,", 10000), "the slow stream got it all");
	cr_expect(c.eof, "the stream was not closed");
	metric_wait("rcsgw_sse_dropped_total", 1, TMO);
	sse_close(&c);
	down();
}

Test(events, stop_ends_open_streams, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ .hooks = 1 });
	struct sse_cli a, b;
	sse_open(&a, NULL);
	sse_open(&b, NULL);
	cr_assert(sse_read_until(&a, "retry: ", TMO));
	cr_assert(sse_read_until(&b, "retry: ", TMO));
	cr_assert_eq(publish("session.incoming", 1), 0);
	cr_assert(sse_read_until(&a, "\"n\":1", TMO));
	long long t0 = proc_now_ms();
	api_stop();
	cr_expect_lt(proc_now_ms() - t0, 2000, "api_stop took %lld ms", proc_now_ms() - t0);
	sse_read_until(&a, "\x01", TMO);
	sse_read_until(&b, "\x01", TMO);
	cr_expect(a.eof && b.eof, "the streams were not ended");
	sse_close(&a);
	sse_close(&b);
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "late")), -ENOTCONN);
	down();
}

Test(events, openapi_lists_events, .timeout = 30)
{
	hook_start(NULL, 0);
	up(&(struct opts){ 0 });
	int status;
	char *body = NULL;
	cr_assert_eq(http_request(HOST, fx.port, "GET", "/v1/openapi.yaml", NULL, NULL, &status,
				  NULL, &body, TMO), 0);
	cr_expect_eq(status, 200);
	cr_expect(strstr(body, "\n  /v1/events:\n    get:\n"));
	free(body);
	down();
}

Test(events, sse_keepalive, .timeout = 40)
{
	const long long ka = 1500; /* api.sse_keepalive (15 s by default) */
	hook_start(NULL, 0);
	up(&(struct opts){ .keepalive_ms = ka });
	struct sse_cli c;
	sse_open(&c, NULL);
	cr_assert(sse_read_until(&c, "retry: ", TMO));
	long long t0 = proc_now_ms();
	cr_assert(sse_read_until(&c, "\n: keep-alive\n\n", (int)ka + 3000), "%s", c.buf);
	long long d = proc_now_ms() - t0;
	cr_expect(d >= ka - 500, "keep-alive after %lld ms", d);
	/* and again, as long as the stream is idle */
	t0 = proc_now_ms();
	size_t at = strlen(c.buf);
	cr_assert(sse_read_until(&c, "\n: keep-alive\n\n: keep-alive\n\n", (int)ka + 3000), "%s",
		  c.buf + at);
	cr_expect(proc_now_ms() - t0 >= ka - 500);
	cr_assert_eq(publish("session.incoming", 1), 0);
	cr_assert(sse_read_until(&c, "event: session.incoming", TMO), "%s", c.buf);
	sse_close(&c);
	down();
}

Test(events, bad_webhook_url, .timeout = 30)
{
	char err[256];
	int rc = up_rc(&(struct opts){ .hooks = 1, .hook_url = "ftp://example.org/x" }, err,
		       sizeof(err));
	cr_expect_eq(rc, -EINVAL);
	cr_expect(strstr(err, "ftp://example.org/x"), "%s", err);
	cr_expect_eq(api_event_publish(json_pack("{s:s}", "type", "x")), -ENOTCONN);
	down();
}
