/* api_http.c — the api thread: listeners, libmicrohttpd, router, auth, replies, gathers.
 *
 * libmicrohttpd runs in external-polling mode, one daemon per listen address, all driven by
 * the one api thread we start: it waits on the daemons' epoll fds and on an eventfd that
 * workers signal, and keeps the deadlines of the requests waiting for workers. Every MHD
 * call happens on this thread (api_stop's MHD_stop_daemon comes after it is joined), so a
 * reply that races a deadline, or a shutdown, needs no lock: a worker only fills its slot,
 * counts down and, when it is the last, signals the eventfd.
 *
 * A request's life: the first callback (headers in) checks the route, the token and the
 * announced body size, and answers errors at once, without reading the body. Body chunks
 * are kept up to API_BODY_MAX; past it (a chunked body) the answer is 413, sent when the
 * body ends, the client being cut off if it sends another API_BODY_MAX. The last callback
 * runs the handler: it answers, or starts a gather; then the connection is suspended until
 * the api thread resumes it with the answer (all replies in, or 503 at the deadline), and
 * the next callback queues that answer. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_events.h"
#include "api/api_idem.h"
#include "common/cm_log.h"
#include "common/cm_sr.h"
#include "engine/eng.h"

#define API_MAX_PARAMS  4
#define API_MAX_HEADERS 4
#define API_OPENAPI_MAX (1u << 20)

/* ---- the router table: the rows of this file, then the tables registered ------------------ */

static const struct api_route api_routes[] = {
	{ "GET", "/v1/status", api__h_status, 0 },
	{ "GET", "/v1/status/{group}", api__h_status_group, 0 },
	{ "GET", "/v1/reports/{group}", api__h_reports, 0 },
	{ "GET", "/healthz", api__h_healthz, API_RF_PUBLIC },
	{ "GET", "/readyz", api__h_readyz, API_RF_PUBLIC },
	{ "GET", "/v1/connections", api__h_conns, 0 },
	{ "GET", "/v1/connections/{id}", api__h_conn, 0 },
	{ "DELETE", "/v1/connections/{id}", api__h_conn_delete, 0 },
	{ "GET", "/metrics", api__h_metrics, 0 },
	{ "GET", "/v1/openapi.yaml", api__h_openapi, API_RF_PUBLIC },
	{ "GET", "/v1/events", api__h_events, 0 },
};

#define API_ROUTE_TABS 16 /* tables: this file's and up to 15 registered */

/* Tables by pointer, in the order they came; written by the main thread before api_start,
 * read by the api thread (pthread_create orders the two). */
static struct {
	const struct api_route *v;
	unsigned n;
} route_tabs[API_ROUTE_TABS] = { { api_routes, sizeof(api_routes) / sizeof(api_routes[0]) } };
static unsigned route_ntabs = 1;
static size_t large_body_max = API_BODY_MAX; /* API_RF_LARGE_BODY routes */

/* ---- types ------------------------------------------------------------------------------ */

/* The eventfd that workers signal when a gather is complete. Gathers hold a reference, so
 * that a worker that answers late (after api_stop) never writes to a closed, or reused, fd. */
struct api_wake {
	_Atomic unsigned refs;
	int fd;
};

struct api_gather {
	_Atomic unsigned refs;     /* the api's (until answered) + one per accepted post */
	_Atomic unsigned left;     /* workers yet to answer */
	unsigned n;
	unsigned first;            /* slot i is worker first + i */
	size_t stride;             /* slot size, rounded up to max_align_t */
	api_collect_fn collect;
	api_later_fn later;        /* api_ask_later(): the worker answers with api_later_done() */
	unsigned timeout_ms;       /* how long the api waits for the workers */
	api_render_fn render;
	api_cleanup_fn cleanup;
	void *arg;
	struct api_wake *wake;
	_Atomic unsigned char *answered; /* [n]: worker i has filled its slot */
	unsigned char *slots;      /* [n * stride] */
};

enum api_req_state {
	RS_NEW = 0,                /* headers checked, body coming */
	RS_WAIT,                   /* suspended, a gather is out */
	RS_READY,                  /* the answer is set, not yet queued */
	RS_QUEUED,                 /* handed to libmicrohttpd */
};

struct api_req {
	struct MHD_Connection *conn;
	const char *method;        /* libmicrohttpd's, valid for the request */
	const struct api_route *route;
	enum api_req_state state;

	char *path;                /* copy of the URL cut into segments; params point in it */
	char *url;                 /* the URL's path as it came */
	const char *pname[API_MAX_PARAMS];
	size_t pname_len[API_MAX_PARAMS];
	const char *pval[API_MAX_PARAMS];
	unsigned nparams;

	char *body;                /* NUL-terminated */
	size_t body_len, body_cap;
	uint8_t body_not_json;     /* a Content-Type came and says no JSON (api_body_object:
				    * 415) */
	size_t dropped;            /* body bytes received after the answer was set */

	unsigned status;           /* the answer */
	char *resp;
	size_t resp_len;
	const char *ctype;
	char ctype_buf[128];        /* api_reply_typed()'s type, copied */
	struct MHD_Response *stream; /* a streamed answer (api__reply_stream), or NULL */
	const char *hname[API_MAX_HEADERS];
	char *hval[API_MAX_HEADERS];
	unsigned nhdr;

	struct api_gather *gather; /* out, while RS_WAIT */
	uint64_t deadline_ms;
	uint64_t start_us;         /* when its first callback came (the latency histogram) */
	struct api_req *pnext, *pprev; /* list of requests waiting for workers */

	uint32_t owner;            /* who authenticated: 1 + token index, 0 without tokens */
	int idem_key;              /* a valid Idempotency-Key came (API_RF_IDEMPOTENT routes) */
	struct api_idem_ent *idem; /* its entry while the answer is not out */
};

struct api_token {
	char *s;
	size_t len;
};

struct api_srv {
	eng_engine *e;
	struct MHD_Daemon *d[API_LISTEN_MAX];
	int port[API_LISTEN_MAX];
	unsigned nd;
	int epfd;
	struct api_wake *wake;
	pthread_t thread;
	int thread_up;
	_Atomic int stop;
	uint64_t started_ms;

	struct api_token *tokens;
	size_t ntokens;

	char *openapi;             /* the document, or NULL */
	size_t openapi_len;
	char openapi_from[128];    /* where it came from, for the 404 message */

	struct api_req *pending;   /* requests waiting for workers (api thread) */
	struct api_sock *socks;    /* HTTP connections, for the request deadline (api thread) */
	uint64_t head_timeout_ms;  /* api.head_timeout, 0: none */
	uint64_t swept_ms;         /* the deadline's last sweep */
	_Atomic uint64_t slow[2];  /* connections cut off at the deadline: [API_SLOW_HEAD/BODY] */
	struct api__counters cnt;  /* api thread */
	struct api_idem *idem;     /* Idempotency-Keys (api thread) */
};

static struct api_srv *srv;

/* An HTTP connection as the request deadline (api.head_timeout) sees it: libmicrohttpd's
 * socket context, from its start to its close. libmicrohttpd's own timeout is an idle
 * timer, reset by every byte: a client that sends its request a byte at a time would hold
 * its connection for ever. So the whole request (head, then the body it announces) must be
 * in within head_timeout of its first byte's chance: the connection's start, or the end
 * of the previous request plus API_CONN_TIMEOUT_S (which is then the idle allowance). */
struct api_sock {
	struct api_sock *next, *prev;
	int fd;
	uint64_t due_ms;           /* cut off then unless the request is in; 0: none running */
	int phase;                 /* API_SLOW_HEAD, API_SLOW_BODY */
};
#define API_SLOW_HEAD  0           /* the request line and headers are not all in */
#define API_SLOW_BODY  1           /* the body its Content-Length (or chunks) announce */
#define API_SWEEP_MS   250         /* how often the deadlines are looked at */

/* ---- small helpers ------------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const double api__lat_bounds[API_LAT_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						   0.1,   0.25,   0.5,   1,    2.5 };

/* Counts an answer that took <us> microseconds in the latency histogram. */
static void lat_count(uint64_t us)
{
	double s = (double)us / 1e6;
	unsigned b = 0;
	while (b < API_LAT_BUCKETS && s > api__lat_bounds[b])
		b++;
	srv->cnt.lat_bucket[b]++;
	srv->cnt.lat_count++;
	srv->cnt.lat_sum += s;
}

static char *memdup0(const char *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s) {
		memcpy(s, p, len);
		s[len] = '\0';
	}
	return s;
}

__attribute__((format(printf, 3, 4)))
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/* ---- wake-ups from workers ----------------------------------------------------------------- */

static void wake_release(struct api_wake *wk)
{
	if (atomic_fetch_sub_explicit(&wk->refs, 1, memory_order_acq_rel) == 1) {
		close(wk->fd);
		free(wk);
	}
}

static void wake_signal(struct api_wake *wk)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the api thread will look anyway */
	ssize_t rc = write(wk->fd, &one, sizeof(one));
	(void)rc;
}

/* ---- gathers ------------------------------------------------------------------------------- */

unsigned api_gather_n(const struct api_gather *g) { return g->n; }
void *api_gather_slot(struct api_gather *g, unsigned i) { return g->slots + (size_t)i * g->stride; }
void *api_gather_arg(const struct api_gather *g) { return g->arg; }

static void gather_release(struct api_gather *g)
{
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (g->cleanup)
		g->cleanup(g);
	wake_release(g->wake);
	free(g);
}

/* Mailbox message: on worker <w>, fill slot <i>. */
static void gather_on_worker(eng_worker *w, void *arg, uint64_t i)
{
	struct api_gather *g = arg;

	if (g->later) { /* its reference is the worker's until api_later_done() */
		g->later(w, api_gather_slot(g, 0), g->arg, (struct api_later *)g);
		return;
	}
	g->collect(w, api_gather_slot(g, (unsigned)i), g->arg);
	atomic_store_explicit(&g->answered[i], 1, memory_order_relaxed);
	if (atomic_fetch_sub_explicit(&g->left, 1, memory_order_acq_rel) == 1)
		wake_signal(g->wake);
	gather_release(g);
}

void api_later_done(struct api_later *t)
{
	struct api_gather *g = (struct api_gather *)t;
	atomic_store_explicit(&g->answered[0], 1, memory_order_relaxed);
	if (atomic_fetch_sub_explicit(&g->left, 1, memory_order_acq_rel) == 1)
		wake_signal(g->wake);
	gather_release(g);
}

/* Asks workers <first> to <first> + <n> - 1 (slots 0 to <n> - 1): api_gather(), api_ask()
 * and api_ask_later(). */
static int gather_start(struct api_req *r, unsigned first, unsigned n, size_t slot_size,
			api_collect_fn collect, api_later_fn later, unsigned timeout_ms,
			api_render_fn render, api_cleanup_fn cleanup, void *arg)
{
	size_t al = _Alignof(max_align_t);
	size_t stride = slot_size ? (slot_size + al - 1) / al * al : al;
	size_t head = (sizeof(struct api_gather) + n + al - 1) / al * al;

	if (stride > (SIZE_MAX - head) / (n ? n : 1)) {
		api_reply_error(r, 500, "out of memory");
		return -ENOMEM;
	}
	struct api_gather *g = calloc(1, head + stride * n);
	if (!g) {
		api_reply_error(r, 500, "out of memory");
		return -ENOMEM;
	}
	g->n = n;
	g->first = first;
	g->stride = stride;
	g->collect = collect;
	g->later = later;
	g->timeout_ms = timeout_ms ? timeout_ms : API_GATHER_TIMEOUT_MS;
	g->render = render;
	g->cleanup = cleanup;
	g->arg = arg;
	g->answered = (_Atomic unsigned char *)(g + 1);
	g->slots = (unsigned char *)g + head;
	for (unsigned i = 0; i < n; i++)
		atomic_init(&g->answered[i], 0);
	atomic_init(&g->refs, 1);
	atomic_init(&g->left, n);
	g->wake = srv->wake;
	atomic_fetch_add_explicit(&g->wake->refs, 1, memory_order_relaxed);

	for (unsigned i = 0; i < n; i++) {
		atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
		if (eng_post(eng_worker_at(srv->e, first + i), gather_on_worker, g, i) < 0) {
			atomic_fetch_sub_explicit(&g->refs, 1, memory_order_relaxed);
			srv->cnt.gather_refused++;
			CM_LOG_RL(CM_LOG_WARN, "api: worker %u mailbox full, %s answered 503",
				  first + i, r->route ? r->route->pattern : "request");
			api_reply_error(r, 503, "worker %u is overloaded (mailbox full); retry later",
					first + i);
			gather_release(g); /* the workers that got it still hold theirs */
			return 0;
		}
	}
	r->gather = g;
	r->deadline_ms = mono_ms() + g->timeout_ms;
	return 0;
}

int api_gather(struct api_req *r, size_t slot_size, api_collect_fn collect,
	       api_render_fn render, api_cleanup_fn cleanup, void *arg)
{
	return gather_start(r, 0, eng_nworkers(srv->e), slot_size, collect, NULL, 0, render,
			    cleanup, arg);
}

int api_ask(struct api_req *r, unsigned worker, size_t slot_size, api_collect_fn fn,
	    api_render_fn render, api_cleanup_fn cleanup, void *arg)
{
	if (worker >= eng_nworkers(srv->e)) {
		api_reply_error(r, 500, "internal error: no worker %u", worker);
		return -EINVAL;
	}
	return gather_start(r, worker, 1, slot_size, fn, NULL, 0, render, cleanup, arg);
}

int api_ask_later(struct api_req *r, unsigned worker, size_t slot_size, unsigned timeout_ms,
		  api_later_fn fn, api_render_fn render, api_cleanup_fn cleanup, void *arg)
{
	if (worker >= eng_nworkers(srv->e)) {
		api_reply_error(r, 500, "internal error: no worker %u", worker);
		return -EINVAL;
	}
	return gather_start(r, worker, 1, slot_size, NULL, fn, timeout_ms, render, cleanup, arg);
}

/* ---- requests waiting for workers ---------------------------------------------------------- */

static void pending_add(struct api_req *r)
{
	r->pprev = NULL;
	r->pnext = srv->pending;
	if (r->pnext)
		r->pnext->pprev = r;
	srv->pending = r;
}

static void pending_del(struct api_req *r)
{
	if (r->pprev)
		r->pprev->pnext = r->pnext;
	else if (srv->pending == r)
		srv->pending = r->pnext;
	if (r->pnext)
		r->pnext->pprev = r->pprev;
	r->pnext = r->pprev = NULL;
}

/* Milliseconds until pending_run() has something to do: 0 when a gather is complete, else
 * until the nearest deadline; -1 when nothing waits. */
static int pending_timeout(void)
{
	uint64_t now = mono_ms();
	int next = -1;

	for (struct api_req *r = srv->pending; r; r = r->pnext) {
		if (atomic_load_explicit(&r->gather->left, memory_order_relaxed) == 0 ||
		    now >= r->deadline_ms)
			return 0;
		int left = (int)(r->deadline_ms - now);
		if (next < 0 || left < next)
			next = left;
	}
	return next;
}

/* Answers every waiting request whose workers all replied, or whose deadline passed (all of
 * them when <force>), and resumes its connection; the daemons must run next, to take the
 * resumed connections in (in external polling, libmicrohttpd 0.9.75 was seen not to
 * wake its epoll fd for a resume: the next MHD_run came only at the next timeout). */
static void pending_run(int force)
{
	uint64_t now = mono_ms();
	struct api_req *r = srv->pending, *nx;

	for (; r; r = nx) {
		nx = r->pnext;
		struct api_gather *g = r->gather;
		if (atomic_load_explicit(&g->left, memory_order_acquire) == 0) {
			g->render(r, g);
			if (r->state != RS_READY)
				api_reply_error(r, 500, "internal error: no answer rendered");
		} else if (force) {
			api_reply_error(r, 503, "shutting down");
		} else if (now >= r->deadline_ms) {
			char who[96];
			size_t off = 0;
			who[0] = '\0';
			for (unsigned i = 0; i < g->n && off + 12 < sizeof(who); i++)
				if (!atomic_load_explicit(&g->answered[i], memory_order_relaxed))
					off += (size_t)snprintf(who + off, sizeof(who) - off, "%s%u",
								off ? "," : "", g->first + i);
			srv->cnt.gather_timeouts++;
			CM_LOG_RL(CM_LOG_WARN, "api: workers %s did not answer within %u ms", who,
				  g->timeout_ms);
			api_reply_error(r, 503, "workers %s did not answer within %u ms", who,
					g->timeout_ms);
		} else {
			continue;
		}
		pending_del(r);
		r->gather = NULL;
		gather_release(g);
		MHD_resume_connection(r->conn);
	}
}

/* ---- replies ------------------------------------------------------------------------------- */

static void reply_set(struct api_req *r, unsigned status, const char *ctype, char *text,
		      size_t len)
{
	free(r->resp);
	if (r->stream) {
		MHD_destroy_response(r->stream);
		r->stream = NULL;
	}
	r->status = status;
	r->ctype = ctype;
	r->resp = text;
	r->resp_len = len;
	r->state = RS_READY;
}

void api_reply_text(struct api_req *r, unsigned status, const char *ctype, char *text,
		    size_t len)
{
	if (!text) {
		api_reply_error(r, 500, "out of memory");
		return;
	}
	reply_set(r, status, ctype, text, len);
}

void api_reply_typed(struct api_req *r, unsigned status, const char *ctype, char *text,
		     size_t len)
{
	snprintf(r->ctype_buf, sizeof(r->ctype_buf), "%s", ctype);
	api_reply_text(r, status, r->ctype_buf, text, len);
}

void api_reply_json(struct api_req *r, unsigned status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!s) {
		/* a fixed text: this path must not need memory that just ran out */
		static const char oom[] = "{\"error\":{\"code\":500,\"message\":\"out of memory\"}}";
		char *t = memdup0(oom, sizeof(oom) - 1);
		reply_set(r, 500, "application/json", t, t ? sizeof(oom) - 1 : 0);
		return;
	}
	reply_set(r, status, "application/json", s, strlen(s));
}

/* 1 when media type <ct> is JSON: application/json or application/<x>+json, parameters
 * after ';' allowed (RFC 6838 §4.2.8). */
static int media_is_json(const char *ct)
{
	size_t n = strcspn(ct, "; \t");
	static const char app[] = "application/";
	if (n < sizeof(app) - 1 || strncasecmp(ct, app, sizeof(app) - 1) != 0)
		return 0;
	return (n == 16 && !strncasecmp(ct + 12, "json", 4)) ||
	       (n > 17 && !strncasecmp(ct + n - 5, "+json", 5));
}

/* The body of <r> as a JSON object (an empty body is {} when <empty_ok>), or NULL with a 400
 * (or a 415: a Content-Type that is not JSON) answered. */
json_t *api_body_object(struct api_req *r, int empty_ok)
{
	size_t len;
	const char *b = api_req_body(r, &len);
	if (!len && empty_ok)
		return json_object();
	if (r->body_not_json) {
		api_reply_error(r, 415, "the body must be application/json");
		return NULL;
	}
	json_error_t e;
	json_t *j = json_loadb(b, len, JSON_REJECT_DUPLICATES, &e);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		api_reply_error(r, 400, "the body is not a JSON object%s%s", j ? "" : ": ",
				j ? "" : e.text);
		return NULL;
	}
	return j;
}

/* Fails with 400 when <o> has a member not in <allowed> (NULL-terminated). */
int api_only_fields(struct api_req *r, json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		int ok = 0;
		for (unsigned i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(k, allowed[i]);
		if (!ok) {
			api_reply_error(r, 400, "unknown field '%.64s'", k);
			return -1;
		}
	}
	return 0;
}

void api_reply_error(struct api_req *r, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a message that quotes the request (a path, a query value) may not be UTF-8, or be
	 * cut inside a character: then every non-ASCII byte becomes '?' (JSON wants UTF-8) */
	json_t *text = json_string(msg);
	if (!text) {
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		text = json_string(msg);
	}
	api_reply_json(r, status, json_pack("{s:{s:i,s:o}}", "error", "code", (int)status,
					    "message", text));
}

void api__reply_stream(struct api_req *r, unsigned status, const char *ctype,
		       struct MHD_Response *resp)
{
	reply_set(r, status, ctype, NULL, 0);
	r->stream = resp;
}

struct MHD_Connection *api__req_conn(const struct api_req *r) { return r->conn; }

void api_reply_header(struct api_req *r, const char *name, const char *value)
{
	if (r->nhdr >= API_MAX_HEADERS)
		return;
	char *v = strdup(value);
	if (!v)
		return;
	r->hname[r->nhdr] = name;
	r->hval[r->nhdr++] = v;
}

/* ---- Idempotency-Key ---------------------------------------------------------------------- */

#define API_IDEM_HEADER "Idempotency-Key"

static enum MHD_Result count_key(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	(void)value;
	if (strcasecmp(key, API_IDEM_HEADER) == 0)
		(*(unsigned *)cls)++;
	return MHD_YES;
}

/* First callback, on an API_RF_IDEMPOTENT route: notes a valid key in <r>, or answers 400
 * for a bad one (or several) and returns -1. */
static int idem_header(struct api_req *r)
{
	unsigned n = 0;

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_key, &n);
	if (n == 0)
		return 0;
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, API_IDEM_HEADER);
	if (n > 1 || !v || !api_idem_key_ok((cm_slice){ v, strlen(v) })) {
		api_reply_error(r, 400, API_IDEM_HEADER " must be given once, with 1 to %u visible "
				"US-ASCII characters", API_IDEM_KEY_MAX);
		return -1;
	}
	r->idem_key = 1;
	return 0;
}

/* Last callback, before the handler of a request with a key: 0 to run the handler (the key
 * is then in progress, in r->idem), 1 when answered here (a replay, or a refusal). */
static int idem_check(struct api_req *r, const char *url)
{
	const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, API_IDEM_HEADER);
	unsigned char h[API_IDEM_HASH_LEN];
	struct api_idem_ent *e = NULL;
	struct api_idem_answer a;
	int v = api_idem_hash(r->method, url, (cm_slice){ r->body, r->body_len }, h);

	if (v == 0)
		v = api_idem_begin(srv->idem, r->owner, (cm_slice){ key, strlen(key) }, h, mono_ms(),
				   &e);
	switch (v) {
	case API_IDEM_NEW:
		r->idem = e;
		return 0;
	case API_IDEM_REPLAY:
		api_idem_answer(e, &a);
		api_reply_text(r, a.status, a.ctype, memdup0(a.body, a.len), a.len);
		if (a.location)
			api_reply_header(r, MHD_HTTP_HEADER_LOCATION, a.location);
		api_reply_header(r, "Idempotent-Replayed", "true");
		return 1;
	case API_IDEM_MISMATCH:
		api_reply_error(r, 422, API_IDEM_HEADER " \"%s\" was used with another request "
				"(method, path or body differ)", key);
		return 1;
	case API_IDEM_BUSY:
		api_reply_error(r, 409, "the request with " API_IDEM_HEADER " \"%s\" is still in "
				"progress; retry later", key);
		return 1;
	default:
		api_reply_error(r, 500, API_IDEM_HEADER ": %s",
				v == -ENOMEM ? "out of memory" : "cannot hash the request");
		return 1;
	}
}

/* The answer of <r> goes out: its key keeps it (2xx, 4xx) or is forgotten. */
static void idem_record(struct api_req *r)
{
	const char *loc = NULL;

	for (unsigned i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hname[i], MHD_HTTP_HEADER_LOCATION) == 0)
			loc = r->hval[i];
	if (r->stream)
		api_idem_drop(srv->idem, r->idem);
	else
		api_idem_finish(srv->idem, r->idem, r->status, r->ctype, r->resp, r->resp_len,
				loc);
	r->idem = NULL;
}

/* Hands the answer of <r> to libmicrohttpd; every answer passes here, the ones that
 * renderers make later included. */
static enum MHD_Result reply_queue(struct api_req *r)
{
	struct MHD_Response *resp = r->stream;
	int resp_streamed = resp != NULL; /* an event stream's time is not an answer's */

	if (r->idem)
		idem_record(r);
	if (!resp)
		resp = MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	r->stream = NULL;
	r->resp = NULL; /* the response owns it now */
	r->state = RS_QUEUED;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (unsigned i = 0; i < r->nhdr; i++)
		MHD_add_response_header(resp, r->hname[i], r->hval[i]);
	enum MHD_Result rc = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	if (rc == MHD_YES && r->status < 600)
		srv->cnt.by_code[r->status]++;
	if (rc == MHD_YES && !resp_streamed)
		lat_count(mono_us() - r->start_us);
	return rc;
}

/* ---- request accessors --------------------------------------------------------------------- */

int api_query_uint(struct api_req *r, const char *key, uint64_t max, uint64_t *v)
{
	const char *s = api_req_query(r, key);
	char *end;

	if (!s)
		return 0;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || x > max) {
		api_reply_error(r, 400, "query %s: expected an integer 0..%llu, got \"%.32s\"", key,
				(unsigned long long)max, s);
		return -1;
	}
	*v = x;
	return 0;
}

const char *api_req_param(const struct api_req *r, const char *name)
{
	size_t len = strlen(name);
	for (unsigned i = 0; i < r->nparams; i++)
		if (r->pname_len[i] == len && memcmp(r->pname[i], name, len) == 0)
			return r->pval[i];
	return NULL;
}

const char *api_req_query(const struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *api_req_header(const struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *api_req_body(const struct api_req *r, size_t *len)
{
	if (len)
		*len = r->body_len;
	return r->body ? r->body : "";
}

const char *api_req_method(const struct api_req *r) { return r->method; }

const char *api_req_url(const struct api_req *r) { return r->url ? r->url : ""; }

uint32_t api_req_owner(const struct api_req *r) { return r->owner; }

struct qs {
	char *out;
	size_t len, at;
	int over;
};

/* key=value&... again, percent-encoded (RFC 3986 §2.3: unreserved characters stay). */
static void qs_put(struct qs *q, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			    *p == '~';
		if (q->at + 4 > q->len) {
			q->over = 1;
			return;
		}
		if (plain) {
			q->out[q->at++] = (char)*p;
		} else {
			q->out[q->at++] = '%';
			q->out[q->at++] = hex[*p >> 4];
			q->out[q->at++] = hex[*p & 15];
		}
	}
}

static enum MHD_Result qs_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			      const char *value)
{
	struct qs *q = cls;
	(void)kind;
	if (q->at && q->at + 2 < q->len)
		q->out[q->at++] = '&';
	qs_put(q, key);
	if (value && q->at + 2 < q->len) {
		q->out[q->at++] = '=';
		qs_put(q, value);
	}
	return MHD_YES;
}

int api_req_query_string(const struct api_req *r, char *buf, size_t len)
{
	struct qs q = { buf, len, 0, 0 };
	if (!len)
		return -1;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, qs_arg, &q);
	buf[q.at < len ? q.at : len - 1] = '\0';
	return q.over ? -1 : 0;
}

/* ---- routing ------------------------------------------------------------------------------- */

/* Does <pattern> match the segments of <path> (cut by NULs, <nseg> of them)? Fills the
 * parameters of <r> when it does. */
static int route_match(const char *pattern, char *const *seg, unsigned nseg, struct api_req *r)
{
	const char *p = pattern + 1;
	unsigned i = 0, np = 0;

	for (;; i++) {
		size_t plen = strcspn(p, "/");
		if (i == nseg)
			return 0;
		if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
			if (seg[i][0] == '\0' || np >= API_MAX_PARAMS)
				return 0;
			if (r) {
				r->pname[np] = p + 1;
				r->pname_len[np] = plen - 2;
				r->pval[np] = seg[i];
			}
			np++;
		} else if (strlen(seg[i]) != plen || memcmp(seg[i], p, plen) != 0) {
			return 0;
		}
		if (p[plen] == '\0')
			break;
		p += plen + 1;
	}
	if (i + 1 != nseg)
		return 0;
	if (r)
		r->nparams = np;
	return 1;
}

#define API_MAX_SEGS 16

/* Finds the route of <url> for <method>: the row, or NULL with *<path_known> telling
 * whether some other method has it (405 then, with <allow> listing them). *<public> tells
 * whether a public route has this path. */
static const struct api_route *route_find(struct api_req *r, const char *url,
					  const char *method, int *path_known, int *public,
					  char *allow, size_t allowlen)
{
	char *seg[API_MAX_SEGS];
	unsigned nseg = 0;
	const struct api_route *hit = NULL;
	int is_head = strcmp(method, "HEAD") == 0;

	*path_known = 0;
	*public = 0;
	allow[0] = '\0';
	if (url[0] != '/')
		return NULL;
	free(r->path);
	free(r->url);
	r->path = strdup(url + 1);
	r->url = strdup(url);
	if (!r->path || !r->url)
		return NULL;
	for (char *s = r->path;;) {
		if (nseg == API_MAX_SEGS)
			return NULL;
		seg[nseg++] = s;
		char *sl = strchr(s, '/');
		if (!sl)
			break;
		*sl = '\0';
		s = sl + 1;
	}
	for (unsigned t = 0; t < route_ntabs; t++)
		for (unsigned k = 0; k < route_tabs[t].n; k++) {
			const struct api_route *rt = &route_tabs[t].v[k];
			if (!route_match(rt->pattern, seg, nseg, NULL))
				continue;
			*path_known = 1;
			if (rt->flags & API_RF_PUBLIC)
				*public = 1;
			size_t used = strlen(allow);
			snprintf(allow + used, allowlen - used, "%s%s%s", used ? ", " : "",
				 rt->method, strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
			if (!hit && (strcmp(rt->method, method) == 0 ||
				     (is_head && strcmp(rt->method, "GET") == 0))) {
				route_match(rt->pattern, seg, nseg, r);
				hit = rt;
			}
		}
	return hit;
}

/* Can route_match() serve <pattern>: "/" and 1..API_MAX_SEGS non-empty segments, each a
 * literal without braces or a whole "{name}", API_MAX_PARAMS of those at most? */
static int pattern_ok(const char *pattern)
{
	unsigned nseg = 0, np = 0;

	if (!pattern || pattern[0] != '/')
		return 0;
	for (const char *p = pattern + 1;;) {
		size_t len = strcspn(p, "/");
		size_t braces = strcspn(p, "{}");
		if (len == 0 || ++nseg > API_MAX_SEGS)
			return 0;
		if (braces < len) {
			if (len < 3 || p[0] != '{' || p[len - 1] != '}' ||
			    strcspn(p + 1, "{}") != len - 2 || ++np > API_MAX_PARAMS)
				return 0;
		}
		if (p[len] == '\0')
			return 1;
		p += len + 1;
	}
}

/* Do patterns <a> and <b> (both pattern_ok) match the same paths? Parameters match each
 * other whatever their names. */
static int pattern_same(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a + 1, "/"), lb = strcspn(b + 1, "/");
		int pa = a[1] == '{', pb = b[1] == '{';
		if (pa != pb || (!pa && (la != lb || memcmp(a + 1, b + 1, la) != 0)))
			return 0;
		a += 1 + la;
		b += 1 + lb;
		if (!*a || !*b)
			return !*a && !*b;
	}
}

static int method_ok(const char *m)
{
	size_t n = m ? strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") : 0;
	return n > 0 && n <= 16 && m[n] == '\0';
}

/* A row of the router with <method> and a pattern that matches what <pattern> does, or
 * NULL. Among the first <n> rows of <extra> as well when it is not NULL. */
static const struct api_route *route_twin(const char *method, const char *pattern,
					  const struct api_route *extra, unsigned n)
{
	for (unsigned t = 0; t <= route_ntabs; t++) {
		const struct api_route *v = t < route_ntabs ? route_tabs[t].v : extra;
		unsigned nv = t < route_ntabs ? route_tabs[t].n : n;
		for (unsigned k = 0; v && k < nv; k++)
			if (strcmp(v[k].method, method) == 0 && pattern_same(v[k].pattern, pattern))
				return &v[k];
	}
	return NULL;
}

int api_routes_register(const struct api_route *routes, unsigned n)
{
	if (srv)
		return -EBUSY;
	if (!routes || n == 0)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!method_ok(routes[i].method) || !pattern_ok(routes[i].pattern) ||
		    !routes[i].fn)
			return -EINVAL;
		if (route_twin(routes[i].method, routes[i].pattern, routes, i))
			return -EEXIST;
	}
	if (route_ntabs == API_ROUTE_TABS)
		return -ENOSPC;
	route_tabs[route_ntabs].v = routes;
	route_tabs[route_ntabs].n = n;
	route_ntabs++;
	return 0;
}

void api_routes_print(FILE *out)
{
	for (unsigned t = 0; t < route_ntabs; t++)
		for (unsigned k = 0; k < route_tabs[t].n; k++)
			fprintf(out, "%s %s\n", route_tabs[t].v[k].method,
				route_tabs[t].v[k].pattern);
	fflush(out);
}

/* ---- authentication ------------------------------------------------------------------------ */

/* Compares <given> with <tok> in time that depends on the token's length only. */
static int token_equal(const char *given, size_t glen, const struct api_token *tok)
{
	volatile unsigned char diff = (unsigned char)(glen != tok->len);
	for (size_t i = 0; i < tok->len; i++)
		diff |= (unsigned char)((i < glen ? given[i] : 0) ^ tok->s[i]);
	return diff == 0;
}

/* 0 when <r> may go on, else answers 401 and returns -1. */
static int auth_check(struct api_req *r)
{
	const char *h, *t;
	int ok = 0;

	if (!srv->ntokens)
		return 0;
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h) {
		api_reply_error(r, 401, "authentication required: Authorization: Bearer <token>");
		api_reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"rcsgw\"");
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		t = h + 7;
		while (*t == ' ')
			t++;
		size_t len = strlen(t);
		while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
			len--;
		/* every token is compared, and which one matched is taken without a branch */
		if (len)
			for (size_t i = 0; i < srv->ntokens; i++) {
				int eq = token_equal(t, len, &srv->tokens[i]);
				ok |= eq;
				r->owner |= (uint32_t)(i + 1) & -(uint32_t)eq;
			}
	}
	if (ok)
		return 0;
	api_reply_error(r, 401, "invalid bearer token");
	api_reply_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			 "Bearer realm=\"rcsgw\", error=\"invalid_token\"");
	return -1;
}

/* ---- libmicrohttpd callbacks ---------------------------------------------------------------- */

/* First callback of a request: route, token, announced size. Answers errors now (the body,
 * if any, is then not read). */
static void req_first(struct api_req *r, const char *url)
{
	char allow[192];
	int path_known, public;
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	r->body_not_json = ct && !media_is_json(ct);
	if (url[0] != '/') { /* "GET junk", "OPTIONS *": no route can match */
		api_reply_error(r, 400, "the request target is not an absolute path");
		return;
	}
	const struct api_route *rt = route_find(r, url, r->method, &path_known, &public, allow,
						sizeof(allow));

	if (!r->path) {
		api_reply_error(r, 500, "out of memory");
		return;
	}
	/* the path of a public route needs no token, whatever the method; any other does */
	if (!public && auth_check(r) < 0)
		return;

	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(cl, &end, 10);
		size_t max = rt && (rt->flags & API_RF_LARGE_BODY) ? large_body_max : API_BODY_MAX;
		if (errno || end == cl || v > max) {
			api_reply_error(r, 413, "request body larger than %zu bytes", max);
			return;
		}
	}
	if (!rt && path_known) {
		api_reply_error(r, 405, "method %s not allowed on %s", r->method, url);
		api_reply_header(r, MHD_HTTP_HEADER_ALLOW, allow);
		return;
	}
	if (!rt) {
		api_reply_error(r, 404, "no such resource: no route for %s", url);
		return;
	}
	if ((rt->flags & API_RF_IDEMPOTENT) && idem_header(r) < 0)
		return;
	r->route = rt;
}

/* The body limit of <r>'s route. */
static size_t body_max(const struct api_req *r)
{
	return r->route && (r->route->flags & API_RF_LARGE_BODY) ? large_body_max : API_BODY_MAX;
}

void api_set_large_body_max(size_t max)
{
	large_body_max = max > API_BODY_MAX ? max : API_BODY_MAX;
}

/* Appends <n> bytes to the body of <r>: 0, 1 when the body would pass its limit (nothing
 * kept then), -1 when out of memory. */
static int body_append(struct api_req *r, const char *p, size_t n)
{
	if (n > body_max(r) - r->body_len) {
		free(r->body);
		r->body = NULL;
		r->body_len = r->body_cap = 0;
		return 1;
	}
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		while (cap < r->body_len + n + 1)
			cap *= 2;
		char *nb = realloc(r->body, cap);
		if (!nb)
			return -1;
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

/* libmicrohttpd's connection start and end: the deadline's bookkeeping. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct api_sock *k = *socket_context;
	(void)cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		k = calloc(1, sizeof(*k));
		if (!k)
			return; /* not followed: libmicrohttpd's idle timeout alone */
		k->fd = ci ? ci->connect_fd : -1;
		if (srv->head_timeout_ms)
			k->due_ms = mono_ms() + srv->head_timeout_ms;
		k->next = srv->socks;
		if (srv->socks)
			srv->socks->prev = k;
		srv->socks = k;
		*socket_context = k;
		return;
	}
	if (!k)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		srv->socks = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k);
	*socket_context = NULL;
}

static struct api_sock *sock_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* The request on <conn> is in (its head, and the body it announced): no deadline until
 * the next one. */
static void sock_request_in(struct MHD_Connection *conn)
{
	struct api_sock *k = sock_of(conn);
	if (k)
		k->due_ms = 0;
}

/* Cuts off the connections past their deadline: a shutdown() that libmicrohttpd sees as
 * the client gone, at its next run (it closes and frees the connection itself). */
static void sock_sweep(uint64_t now)
{
	if (!srv->head_timeout_ms || now - srv->swept_ms < API_SWEEP_MS)
		return;
	srv->swept_ms = now;
	for (struct api_sock *k = srv->socks; k; k = k->next) {
		if (!k->due_ms || now < k->due_ms || k->fd < 0)
			continue;
		atomic_fetch_add_explicit(&srv->slow[k->phase], 1, memory_order_relaxed);
		CM_LOG_RL(CM_LOG_INFO, "api: an HTTP request not in after api.head_timeout "
			  "(%s): connection closed", k->phase == API_SLOW_BODY ? "body" : "head");
		k->due_ms = 0;
		shutdown(k->fd, SHUT_RDWR);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct api_req *r = *con_cls;
	(void)cls;
	(void)version;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->start_us = mono_us();
		*con_cls = r;
		r->conn = conn;
		r->method = method;
		/* the head is in; a body announced has what is left of the deadline */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_TRANSFER_ENCODING);
		struct api_sock *k = sock_of(conn);
		if (k && ((cl && strtoull(cl, NULL, 10) > 0) || te))
			k->phase = API_SLOW_BODY;
		else if (k)
			k->due_ms = 0;
		req_first(r, url);
		if (r->state == RS_READY)
			return reply_queue(r);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->state != RS_NEW) {
			/* bytes after an early answer are dropped; a client that goes on past
			 * another API_BODY_MAX is cut off */
			r->dropped += n;
			return r->dropped > API_BODY_MAX ? MHD_NO : MHD_YES;
		}
		int rc = body_append(r, upload_data, n);
		if (rc < 0)
			return MHD_NO;
		/* too big: answered at the body's end (libmicrohttpd 0.9.75 takes no answer
		 * in the middle of a body) */
		if (rc > 0)
			api_reply_error(r, 413, "request body larger than %zu bytes", body_max(r));
		return MHD_YES;
	}
	sock_request_in(conn); /* the body's end */
	switch (r->state) {
	case RS_NEW:
		break;
	case RS_READY:
		return reply_queue(r);
	case RS_WAIT:   /* cannot be: resumed only with an answer set */
	case RS_QUEUED:
		return MHD_YES;
	}
	if (r->idem_key && idem_check(r, url))
		return reply_queue(r);
	r->route->fn(r);
	if (r->state == RS_READY)
		return reply_queue(r);
	if (!r->gather) {
		api_reply_error(r, 500, "internal error: %s gave no answer", r->route->pattern);
		return reply_queue(r);
	}
	r->state = RS_WAIT;
	pending_add(r);
	MHD_suspend_connection(conn);
	return MHD_YES;
}

static void on_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			    enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *con_cls;
	(void)cls;
	(void)toe;

	/* the next request on a kept-alive connection: its head is due after the idle
	 * allowance plus the head's own */
	struct api_sock *k = sock_of(conn);
	if (k && srv->head_timeout_ms) {
		k->phase = API_SLOW_HEAD;
		k->due_ms = mono_ms() + (uint64_t)API_CONN_TIMEOUT_S * 1000u + srv->head_timeout_ms;
	}
	if (!r)
		return;
	*con_cls = NULL;
	if (r->gather) {
		pending_del(r);
		gather_release(r->gather);
	}
	if (r->idem)
		api_idem_drop(srv->idem, r->idem);
	for (unsigned i = 0; i < r->nhdr; i++)
		free(r->hval[i]);
	if (r->stream)
		MHD_destroy_response(r->stream);
	free(r->resp);
	free(r->body);
	free(r->path);
	free(r->url);
	free(r);
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	(void)cls;
	/* libmicrohttpd says nothing else of a connection it closes at once, over
	 * api.per_ip_limit or API_CONN_LIMIT (0.9.75: before the accept policy is asked) */
	if (srv && !strncmp(fmt, "Server reached connection limit", 31))
		srv->cnt.conns_refused++;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	/* the requests libmicrohttpd refuses itself (a request line or head it cannot parse:
	 * 400, 431, 505 ...) never reach on_request: this line is their one trace, counted
	 * with the others by code (it runs on the api thread, like the other counts) */
	static const char said[] = "HTTP response code is ";
	const char *k = strstr(line, said);
	if (k && srv) {
		unsigned code = (unsigned)strtoul(k + sizeof(said) - 1, NULL, 10);
		if (code >= 100 && code < 600)
			srv->cnt.by_code[code]++;
	}
	CM_LOG_RL(CM_LOG_WARN, "api: libmicrohttpd: %s", line);
}

/* ---- the api thread ------------------------------------------------------------------------ */

static void *api_main(void *arg)
{
	struct epoll_event ev[16];
	uint64_t polled = 0;
	(void)arg;

	cm_log_thread_name("api");
	pthread_setname_np(pthread_self(), "api");
	while (!atomic_load_explicit(&srv->stop, memory_order_acquire)) {
		int timeout = pending_timeout();
		for (unsigned i = 0; i < srv->nd; i++) {
			MHD_UNSIGNED_LONG_LONG t;
			if (MHD_get_timeout(srv->d[i], &t) == MHD_YES &&
			    (timeout < 0 || t < (MHD_UNSIGNED_LONG_LONG)timeout))
				timeout = (int)t;
		}
		int et = api__events_timeout();
		if (et >= 0 && (timeout < 0 || et < timeout))
			timeout = et;
		if (timeout < 0 || timeout > API_STATUS_POLL_MS)
			timeout = API_STATUS_POLL_MS;
		if (srv->socks && srv->head_timeout_ms && timeout > API_SWEEP_MS)
			timeout = API_SWEEP_MS;
		int n = epoll_wait(srv->epfd, ev, 16, timeout);
		for (int i = 0; i < n; i++)
			if (ev[i].data.u32 == API_LISTEN_MAX) {
				uint64_t v;
				ssize_t rc = read(srv->wake->fd, &v, sizeof(v));
				(void)rc;
			}
		pending_run(0);
		if (mono_ms() - polled >= API_STATUS_POLL_MS) {
			polled = mono_ms();
			cm_sr_poll(); /* changes become events, taken in just below */
		}
		api__events_run();
		sock_sweep(mono_ms());
		for (unsigned i = 0; i < srv->nd; i++)
			MHD_run(srv->d[i]);
	}
	/* what still waits for workers is answered now; the answers go out if they can; the
	 * event streams end */
	api__events_shutdown();
	pending_run(1);
	for (unsigned i = 0; i < srv->nd; i++)
		MHD_run(srv->d[i]);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------ */

/* A bound, listening, non-blocking socket for <hostport>, its port in *<port>; or -errno
 * with <err> filled. */
static int listen_socket(const char *hostport, int *port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, e;

	if (eng_parse_hostport(hostport, &ss, &len) < 0) {
		fail(err, errlen, "api.listen \"%s\": expected a numeric host:port", hostport);
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		fail(err, errlen, "api.listen %s: socket: %s", hostport, strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		e = errno;
		close(fd);
		fail(err, errlen, "api.listen %s: %s", hostport, strerror(e));
		return -e;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* The OpenAPI document, from the first of: $RCSGW_OPENAPI, ./api/openapi.yaml,
 * /usr/share/rcsgw/openapi.yaml; else the copy built into the binary. */
#ifndef API_NO_EMBEDDED_OPENAPI
/* The assembler runs from the repository root (as the Makefile does) to find the file. */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	"api_openapi_embedded:\n"
	".incbin \"api/openapi.yaml\"\n"
	"api_openapi_embedded_end:\n"
	".byte 0\n"
	".popsection\n");
extern const char api_openapi_embedded[], api_openapi_embedded_end[];
#endif

static void openapi_load(void)
{
	const char *paths[3] = { getenv("RCSGW_OPENAPI"), "api/openapi.yaml",
				 "/usr/share/rcsgw/openapi.yaml" };

	for (unsigned i = 0; i < 3; i++) {
		if (!paths[i] || !*paths[i])
			continue;
		FILE *f = fopen(paths[i], "rb");
		if (!f)
			continue;
		char *buf = malloc(API_OPENAPI_MAX + 1);
		size_t n = buf ? fread(buf, 1, API_OPENAPI_MAX + 1, f) : 0;
		int bad = ferror(f) || n == 0 || n > API_OPENAPI_MAX;
		fclose(f);
		if (bad) {
			CM_WARN("api: %s: unreadable, empty or larger than %u bytes", paths[i],
				API_OPENAPI_MAX);
			free(buf);
			continue;
		}
		srv->openapi = buf;
		srv->openapi_len = n;
		snprintf(srv->openapi_from, sizeof(srv->openapi_from), "%s", paths[i]);
		return;
	}
#ifndef API_NO_EMBEDDED_OPENAPI
	srv->openapi_len = (size_t)(api_openapi_embedded_end - api_openapi_embedded);
	srv->openapi = memdup0(api_openapi_embedded, srv->openapi_len);
	snprintf(srv->openapi_from, sizeof(srv->openapi_from), "(built in)");
#endif
}

void api__h_openapi(struct api_req *r)
{
	if (!srv->openapi) {
		api_reply_error(r, 404, "OpenAPI document not found (looked at $RCSGW_OPENAPI, "
				"api/openapi.yaml, /usr/share/rcsgw/openapi.yaml)");
		return;
	}
	api_reply_text(r, 200, "application/yaml", memdup0(srv->openapi, srv->openapi_len),
		       srv->openapi_len);
}

static void srv_free(struct api_srv *s)
{
	for (unsigned i = 0; i < s->nd; i++)
		MHD_stop_daemon(s->d[i]);
	api__status_stop();
	api__events_stop(); /* after the daemons: their streams' callbacks need it */
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wake)
		wake_release(s->wake);
	for (size_t i = 0; i < s->ntokens; i++)
		free(s->tokens[i].s);
	free(s->tokens);
	free(s->openapi);
	api_idem_free(s->idem); /* after the daemons: their requests drop their keys */
	free(s);
}

int api_start(const struct cm_config *cfg, eng_engine *e, char *err, size_t errlen)
{
	const struct cm_strlist *ls = &cfg->api.listen;
	struct epoll_event ev;
	int rc = -ENOMEM;

	if (srv) {
		fail(err, errlen, "api already started");
		return -EALREADY;
	}
	if (ls->n == 0 || ls->n > API_LISTEN_MAX) {
		fail(err, errlen, "api.listen: between 1 and %d addresses, got %zu",
		     API_LISTEN_MAX, ls->n);
		return -EINVAL;
	}
	struct api_srv *s = calloc(1, sizeof(*s));
	if (!s) {
		fail(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->epfd = -1;
	s->e = e;
	s->started_ms = mono_ms();
	s->head_timeout_ms = (uint64_t)cfg->api.head_timeout_ms;
	srv = s;

	s->tokens = calloc(cfg->api.tokens.n ? cfg->api.tokens.n : 1, sizeof(*s->tokens));
	s->wake = calloc(1, sizeof(*s->wake));
	s->idem = api_idem_new(API_IDEM_MAX, API_IDEM_BYTES_MAX, (uint64_t)API_IDEM_TTL_S * 1000u);
	if (!s->tokens || !s->wake || !s->idem)
		goto oom;
	s->wake->fd = -1;
	atomic_init(&s->wake->refs, 1);
	for (size_t i = 0; i < cfg->api.tokens.n; i++) {
		s->tokens[i].len = strlen(cfg->api.tokens.v[i]);
		s->tokens[i].s = memdup0(cfg->api.tokens.v[i], s->tokens[i].len);
		if (!s->tokens[i].s)
			goto oom;
		s->ntokens++;
	}
	s->wake->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.u32 = API_LISTEN_MAX;
	if (s->wake->fd < 0 || s->epfd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake->fd, &ev) < 0) {
		rc = -errno;
		fail(err, errlen, "eventfd/epoll: %s", strerror(errno));
		goto fail;
	}

	for (size_t i = 0; i < ls->n; i++) {
		int fd = listen_socket(ls->v[i], &s->port[i], err, errlen);
		if (fd < 0) {
			rc = fd;
			goto fail;
		}
		/* external polling: api_main drives it; MHD_stop_daemon closes <fd> */
		s->d[i] = MHD_start_daemon(
			MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			on_request, NULL,
			MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first, to catch all */
			MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->api.per_ip_limit,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT_S,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
			MHD_OPTION_NOTIFY_COMPLETED, on_request_done, NULL,
			MHD_OPTION_END);
		if (!s->d[i]) {
			close(fd);
			rc = -EIO;
			fail(err, errlen, "api.listen %s: libmicrohttpd would not start", ls->v[i]);
			goto fail;
		}
		s->nd++;
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d[i],
								     MHD_DAEMON_INFO_EPOLL_FD);
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (!di || epoll_ctl(s->epfd, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0) {
			rc = -EIO;
			fail(err, errlen, "api.listen %s: cannot watch libmicrohttpd's epoll fd",
			     ls->v[i]);
			goto fail;
		}
	}
	int efd = api__events_start(cfg, err, errlen);
	ev.events = EPOLLIN;
	ev.data.u32 = API_LISTEN_MAX + 1;
	if (efd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, efd, &ev) < 0) {
		rc = efd < 0 ? efd : -errno;
		if (efd >= 0)
			fail(err, errlen, "events: epoll: %s", strerror(errno));
		goto fail;
	}
	api__status_start();
	openapi_load();
	if (!s->openapi)
		CM_WARN("api: no OpenAPI document found: GET /v1/openapi.yaml will answer 404");
	int prc = pthread_create(&s->thread, NULL, api_main, NULL);
	if (prc != 0) {
		rc = -prc;
		fail(err, errlen, "pthread_create: %s", strerror(prc));
		goto fail;
	}
	s->thread_up = 1;
	return 0;
oom:
	fail(err, errlen, "out of memory");
fail:
	srv = NULL;
	srv_free(s);
	return rc;
}

void api_stop(void)
{
	struct api_srv *s = srv;

	if (!s)
		return;
	if (s->thread_up) {
		atomic_store_explicit(&s->stop, 1, memory_order_release);
		wake_signal(s->wake);
		pthread_join(s->thread, NULL);
	}
	/* the daemons close their connections now: on_request_done runs here */
	for (unsigned i = 0; i < s->nd; i++)
		MHD_stop_daemon(s->d[i]);
	s->nd = 0;
	srv = NULL;
	srv_free(s);
}

int api_listen_port(unsigned i)
{
	return srv && i < srv->nd ? srv->port[i] : -ENOENT;
}

/* ---- for api_status.c and api_metrics.c --------------------------------------------------- */

const struct api__counters *api__counters(void) { return &srv->cnt; }
void api__idem_stats(struct api_idem_stats *st) { api_idem_stats(srv->idem, st); }
eng_engine *api__engine(void) { return srv->e; }
uint64_t api__uptime_ms(void) { return mono_ms() - srv->started_ms; }

void api_slow_closed(uint64_t *head, uint64_t *body)
{
	*head = srv ? atomic_load_explicit(&srv->slow[API_SLOW_HEAD], memory_order_relaxed) : 0;
	*body = srv ? atomic_load_explicit(&srv->slow[API_SLOW_BODY], memory_order_relaxed) : 0;
}

unsigned api__connections(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < srv->nd; i++) {
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d[i],
								     MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (di)
			n += di->num_connections;
	}
	return n;
}
