/* eng_http.c — libcurl multi driven by the worker's loop.
 *
 * libcurl tells which sockets to watch (socket callback) and when to wake it (timer
 * callback); each socket becomes an eng_poll in a small fixed table, the wake-up is one
 * eng_timer. Readiness and the timer call curl_multi_socket_action(); finished transfers
 * are then collected from curl_multi_info_read() onto a done list and their callbacks run
 * after libcurl has returned, so user code never runs inside libcurl and may start,
 * cancel or free from its callback.
 *
 * A request is started at once (a socket_action on the timeout) rather than one timer tick
 * later; a transfer that ends during that start is delivered by a timer one tick later,
 * never inside eng_http_post_json() or eng_http_request(). Both build their easy handle in
 * req_launch(): a JSON post is a POST with the client's shared header list, a generic
 * request carries a header list of its own. */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_log.h"
#include "engine/eng.h"
#include "engine/eng_http.h"

#define HTTP_MAX_SOCKS  (ENG_HTTP_MAX_CONNS * 2 + 8) /* happy eyeballs: two per connect */
#define HTTP_DRAIN_MAX  16     /* extra socket_action rounds while a socket stays ready */
#define HTTP_BODY_FIRST 1024   /* first allocation of a response body */
#define HTTP_CTYPE      "Content-Type:" /* a header list naming it: no Content-Type made up */

#define HTTP_BUG_ON(cond)                                                                  \
	do {                                                                               \
		if (cond) {                                                                \
			CM_ERR("eng_http: BUG: %s (%s:%d)", #cond, __FILE__, __LINE__);    \
			abort();                                                           \
		}                                                                          \
	} while (0)

enum req_state {
	REQ_RUNNING = 1,           /* in libcurl, on h->running */
	REQ_DONE,                  /* out of libcurl, on h->done, callback owed */
};

struct eng_http_req {
	eng_http *h;
	CURL *e;
	eng_http_cb cb;            /* eng_http_post_json()'s callback, or NULL */
	eng_http_resp_cb rcb;      /* eng_http_request()'s callback, or NULL */
	void *arg;
	struct curl_slist *hdrs;   /* headers of this request alone, or NULL (h->hdrs) */
	char *ctype;               /* the response's Content-Type for rcb, or NULL */
	eng_http_req *prev, *next; /* h->running or h->done */
	enum req_state state;
	int status;
	int overflow;              /* body longer than ENG_HTTP_BODY_MAX */
	char *body;
	size_t len, cap;
};

struct req_list {
	eng_http_req *head, *tail;
};

struct http_sock {
	eng_poll p;
	eng_http *h;
	curl_socket_t fd;          /* CURL_SOCKET_BAD when the slot is free */
	uint32_t gen;              /* bumped when the slot is taken */
	uint32_t events;           /* POLLIN | POLLOUT watched; 0: not watched */
};

struct eng_http {
	eng_worker *w;
	CURLM *m;
	eng_timer tmo;             /* libcurl's timeout */
	eng_timer ready;           /* delivers transfers that ended while being started */
	struct curl_slist *hdrs;   /* shared by every request */
	struct req_list running, done;
	unsigned pending;
	unsigned busy;             /* depth of our handlers on the stack */
	int dead;                  /* eng_http_free() asked while busy */
	struct http_sock socks[HTTP_MAX_SOCKS];
};

/* ---- lists -------------------------------------------------------------------------------- */

static void list_add(struct req_list *l, eng_http_req *r)
{
	r->next = NULL;
	r->prev = l->tail;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
}

static void list_del(struct req_list *l, eng_http_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = NULL;
}

/* ---- requests ---------------------------------------------------------------------------- */

/* Frees <r> and what it owns; its easy handle must be gone (req_detach()). */
static void req_release(eng_http_req *r)
{
	curl_slist_free_all(r->hdrs);
	free(r->ctype);
	free(r->body);
	free(r);
}

/* Takes <r> out of libcurl (never called from inside a libcurl callback). */
static void req_detach(eng_http_req *r)
{
	if (r->e) {
		curl_multi_remove_handle(r->h->m, r->e);
		curl_easy_cleanup(r->e);
		r->e = NULL;
	}
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	eng_http_req *r = arg;
	size_t n = size * nmemb;

	if (n > ENG_HTTP_BODY_MAX - r->len) {
		r->overflow = 1;
		return 0;          /* libcurl ends the transfer with CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : HTTP_BODY_FIRST;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > ENG_HTTP_BODY_MAX + 1)
			cap = ENG_HTTP_BODY_MAX + 1;
		char *nb = realloc(r->body, cap);
		if (!nb)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* The status of a transfer that libcurl ended with <rc>. */
static int req_status(eng_http_req *r, CURLcode rc)
{
	long v = 0;

	if (r->overflow)
		return -EMSGSIZE;
	switch (rc) {
	case CURLE_OK:
		if (curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, &v) != CURLE_OK || v <= 0 ||
		    v > 999)
			return -EIO;
		return (int)v;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		if (curl_easy_getinfo(r->e, CURLINFO_OS_ERRNO, &v) == CURLE_OK) {
			if (v == ECONNREFUSED)
				return -ECONNREFUSED;
			if (v == ETIMEDOUT)
				return -ETIMEDOUT;
		}
		return -EIO;
	default:
		return -EIO;
	}
}

/* Copies the response's Content-Type for an eng_http_request() callback, while the easy
 * handle that owns the string still exists. Out of memory: the status becomes -EIO. */
static void req_keep_ctype(eng_http_req *r)
{
	char *ct = NULL;

	if (!r->rcb || r->status <= 0)
		return;
	if (curl_easy_getinfo(r->e, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK || !ct)
		return;
	r->ctype = strdup(ct);
	if (!r->ctype)
		r->status = -EIO;
}

/* Moves the transfers libcurl has finished onto the done list. */
static void collect(eng_http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		eng_http_req *r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		HTTP_BUG_ON(!r || r->state != REQ_RUNNING);
		r->status = req_status(r, msg->data.result);
		req_keep_ctype(r);
		req_detach(r);
		list_del(&h->running, r);
		r->state = REQ_DONE;
		list_add(&h->done, r);
	}
}

/* Runs the callbacks of the done list (stops when a callback frees the client). */
static void deliver(eng_http *h)
{
	eng_http_req *r;

	while (!h->dead && (r = h->done.head)) {
		list_del(&h->done, r);
		h->pending--;
		const char *body = r->body ? r->body : "";
		if (r->rcb)
			r->rcb(r->arg, r->status, r->ctype, body, r->len);
		else
			r->cb(r->arg, r->status, body, r->len);
		req_release(r);
	}
}

static void destroy(eng_http *h);

static void enter(eng_http *h)
{
	h->busy++;
}

static void leave(eng_http *h)
{
	HTTP_BUG_ON(h->busy == 0);
	if (--h->busy == 0 && h->dead)
		destroy(h);
}

/* ---- libcurl's sockets and timer --------------------------------------------------------- */

static void arm(eng_http *h, eng_timer *t, uint64_t ms)
{
	/* at least one tick: a timer armed for the current tick from a timer callback would
	 * wait a whole turn of the wheel */
	uint64_t tick = eng_cfg(eng_of(h->w))->timer_tick_ms;
	eng_timer_arm(h->w, t, ms < tick ? tick : ms);
}

/* libcurl's CURL_CSELECT_* for poll's <revents>. */
static int sock_flags(uint32_t revents)
{
	int flags = 0;

	if (revents & (POLLIN | POLLHUP))
		flags |= CURL_CSELECT_IN;
	if (revents & POLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & POLLERR)
		flags |= CURL_CSELECT_ERR;
	return flags;
}

/* The CURL_CSELECT_* of <s> ready now in the directions libcurl waits for, while <s> is
 * still libcurl's socket <fd> of generation <gen>; 0 otherwise. */
static int sock_ready(const struct http_sock *s, curl_socket_t fd, uint32_t gen)
{
	if (s->fd != fd || s->gen != gen || !s->events)
		return 0;
	struct pollfd pfd = { .fd = fd, .events = (short)s->events };
	return poll(&pfd, 1, 0) == 1 ? sock_flags((uint32_t)pfd.revents) : 0;
}

static void on_sock(eng_poll *p, uint32_t revents);

/* Watches <s> afresh, so that the backend checks it anew and reports it from its loop (a
 * new io_uring poll fires at once on a ready socket). Failing: its transfer times out. */
static void sock_rewatch(eng_http *h, struct http_sock *s)
{
	uint32_t events = s->events;

	eng_poll_stop(&s->p);
	s->events = 0;
	int rc = eng_poll_start(h->w, &s->p, s->fd, events, on_sock, s);
	if (rc < 0) {
		CM_LOG_RL(CM_LOG_ERROR, "http: watch fd %d again: %s (its transfer will time out)",
			  (int)s->fd, strerror(-rc));
		return;
	}
	s->events = events;
}

static void on_sock(eng_poll *p, uint32_t revents)
{
	struct http_sock *s = p->arg;
	eng_http *h = s->h;
	curl_socket_t fd = s->fd;
	uint32_t gen = s->gen;
	int flags = sock_flags(revents), running, round = 0;

	if (fd == CURL_SOCKET_BAD || h->dead)
		return;
	enter(h);
	curl_multi_socket_action(h->m, fd, flags, &running);
	/* io_uring's multishot poll reports edges, and libcurl stops before the socket would
	 * block (one upload buffer a call): go on while the socket, still the same one of
	 * libcurl, is ready the way libcurl waits for it. Past HTTP_DRAIN_MAX rounds the loop
	 * hands it back to the backend, ready, rather than leave it unwatched. */
	while ((flags = sock_ready(s, fd, gen)) && round++ < HTTP_DRAIN_MAX)
		curl_multi_socket_action(h->m, fd, flags, &running);
	if (flags)
		sock_rewatch(h, s);
	collect(h);
	deliver(h);
	leave(h);
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	eng_http *h = arg;
	struct http_sock *s = sockp;
	uint32_t events = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			if (s->events)
				eng_poll_stop(&s->p);
			s->fd = CURL_SOCKET_BAD;
			s->events = 0;
			curl_multi_assign(h->m, fd, NULL);
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= POLLOUT;
	if (!s) {
		for (unsigned i = 0; i < HTTP_MAX_SOCKS && !s; i++)
			if (h->socks[i].fd == CURL_SOCKET_BAD)
				s = &h->socks[i];
		if (!s) {
			/* cannot happen with ENG_HTTP_MAX_CONNS; the transfer times out */
			CM_LOG_RL(CM_LOG_ERROR, "http: more than %d sockets, fd %d not watched",
				  HTTP_MAX_SOCKS, (int)fd);
			return 0;
		}
		s->fd = fd;
		s->gen++;
		s->events = 0;
		curl_multi_assign(h->m, fd, s);
	}
	if (events == s->events)
		return 0;
	if (!events) {
		eng_poll_stop(&s->p);
		s->events = 0;
		return 0;
	}
	int rc;
	if (!s->events)
		rc = eng_poll_start(h->w, &s->p, fd, events, on_sock, s);
	else
		rc = eng_poll_update(&s->p, events);
	if (rc < 0) {
		CM_LOG_RL(CM_LOG_ERROR, "http: watch fd %d: %s (its transfer will time out)",
			  (int)fd, strerror(-rc));
		if (s->events)
			eng_poll_stop(&s->p);
		s->events = 0;
		return 0;
	}
	s->events = events;
	return 0;
}

static void on_timeout(eng_timer *t)
{
	eng_http *h = t->arg;
	int running;

	enter(h);
	curl_multi_socket_action(h->m, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(h);
	deliver(h);
	leave(h);
}

static int on_curl_timer(CURLM *m, long ms, void *arg)
{
	eng_http *h = arg;

	(void)m;
	if (ms < 0)
		eng_timer_cancel(&h->tmo);
	else
		arm(h, &h->tmo, (uint64_t)ms);
	return 0;
}

static void on_ready(eng_timer *t)
{
	eng_http *h = t->arg;

	enter(h);
	deliver(h);
	leave(h);
}

/* ---- API ------------------------------------------------------------------------------------ */

int eng_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

eng_http *eng_http_new(eng_worker *w)
{
	eng_http *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->w = w;
	for (unsigned i = 0; i < HTTP_MAX_SOCKS; i++) {
		h->socks[i].fd = CURL_SOCKET_BAD;
		h->socks[i].h = h;
	}
	eng_timer_init(&h->tmo, on_timeout, h);
	eng_timer_init(&h->ready, on_ready, h);
	h->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *l = h->hdrs ? curl_slist_append(h->hdrs, "Expect:") : NULL;
	h->m = curl_multi_init();
	if (!l || !h->m) {
		curl_slist_free_all(l ? l : h->hdrs);
		if (h->m)
			curl_multi_cleanup(h->m);
		free(h);
		return NULL;
	}
	h->hdrs = l;
	if (curl_multi_setopt(h->m, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(h->m, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
	    curl_multi_setopt(h->m, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(h->m, CURLMOPT_TIMERDATA, h) != CURLM_OK ||
	    curl_multi_setopt(h->m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)ENG_HTTP_MAX_CONNS) !=
		    CURLM_OK) {
		curl_multi_cleanup(h->m);
		curl_slist_free_all(h->hdrs);
		free(h);
		return NULL;
	}
	return h;
}

static int no_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	(void)e, (void)fd, (void)what, (void)arg, (void)sockp;
	return 0;
}

static int no_timer(CURLM *m, long ms, void *arg)
{
	(void)m, (void)ms, (void)arg;
	return 0;
}

/* Drops every request silently and lets go of libcurl. */
static void destroy(eng_http *h)
{
	eng_http_req *r;

	while ((r = h->running.head)) {
		list_del(&h->running, r);
		req_detach(r);
		req_release(r);
	}
	while ((r = h->done.head)) {
		list_del(&h->done, r);
		req_release(r);
	}
	eng_timer_cancel(&h->tmo);
	eng_timer_cancel(&h->ready);
	for (unsigned i = 0; i < HTTP_MAX_SOCKS; i++) {
		if (h->socks[i].fd != CURL_SOCKET_BAD && h->socks[i].events)
			eng_poll_stop(&h->socks[i].p);
		h->socks[i].fd = CURL_SOCKET_BAD;
		h->socks[i].events = 0;
	}
	/* the cached connections close inside curl_multi_cleanup(): nothing to watch now */
	curl_multi_setopt(h->m, CURLMOPT_SOCKETFUNCTION, no_socket);
	curl_multi_setopt(h->m, CURLMOPT_TIMERFUNCTION, no_timer);
	curl_multi_cleanup(h->m);
	curl_slist_free_all(h->hdrs);
	free(h);
}

void eng_http_free(eng_http *h)
{
	if (!h || h->dead)
		return;
	if (h->busy) {
		h->dead = 1;       /* leave() finishes it */
		return;
	}
	destroy(h);
}

/* ---- starting a request ------------------------------------------------------------------ */

/* What eng_http_post_json() and eng_http_request() hand to req_launch(). */
struct req_spec {
	const char *url;
	const char *method;        /* one of http_methods[] */
	struct curl_slist *hdrs;   /* the headers to send */
	int own_hdrs;              /* <hdrs> goes to the request, freed with it (also on failure) */
	const void *body;          /* <len> bytes; NULL when <len> is 0 */
	size_t len;
	uint32_t timeout_ms;
	eng_http_cb cb;            /* exactly one of <cb> and <rcb> */
	eng_http_resp_cb rcb;
	void *arg;
};

/* The methods of eng_http_request(). <body>: a body always goes out, empty when there is
 * none (Content-Length: 0, which servers expect of these). */
static const struct http_method {
	const char *name;
	int body;
} http_methods[] = {
	{ "GET", 0 }, { "POST", 1 }, { "PUT", 1 }, { "PATCH", 1 }, { "DELETE", 0 },
};

static const struct http_method *method_find(const char *name)
{
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (!strcmp(http_methods[i].name, name))
			return &http_methods[i];
	return NULL;
}

/* The method and body of <s> on <e>. A body is copied with its length given first, so that
 * NUL bytes are kept; a method other than POST goes in as a custom request (libcurl then
 * sends the body, if any, with it). */
static int req_set_method(CURL *e, const struct req_spec *s)
{
	const struct http_method *m = method_find(s->method);

	HTTP_BUG_ON(!m);
	if (s->len || m->body) {
		if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->len) !=
			    CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, s->len ? s->body : "") != CURLE_OK)
			return -1;
	}
	if (strcmp(m->name, "POST") &&
	    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m->name) != CURLE_OK)
		return -1;
	return 0;
}

/* Every option of <r>'s easy handle <e> for <s>. 0, or -1 when libcurl refuses one. */
static int req_set_options(eng_http_req *r, CURL *e, const struct req_spec *s)
{
	long tmo = s->timeout_ms ? (long)s->timeout_ms : 1;

	if (curl_easy_setopt(e, CURLOPT_URL, s->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs) != CURLE_OK ||
	    req_set_method(e, s) < 0 ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "rcsgw") != CURLE_OK)
		return -1;
	return 0;
}

/* Starts what was just added to h->running at once; a transfer that already ended is
 * delivered by the ready timer, never from here (so never inside the caller's call). */
static void req_kick(eng_http *h)
{
	int running;

	enter(h);
	curl_multi_socket_action(h->m, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(h);
	if (h->done.head && !eng_timer_armed(&h->ready))
		arm(h, &h->ready, 0);
	leave(h);
}

/* The one place that builds a request and its easy handle. The request, or NULL (with
 * <s>'s own header list freed). */
static eng_http_req *req_launch(eng_http *h, const struct req_spec *s)
{
	struct curl_slist *own = s->own_hdrs ? s->hdrs : NULL;
	eng_http_req *r = calloc(1, sizeof(*r));
	CURL *e = r ? curl_easy_init() : NULL;

	if (!e || req_set_options(r, e, s) < 0 || curl_multi_add_handle(h->m, e) != CURLM_OK) {
		if (e)
			curl_easy_cleanup(e);
		curl_slist_free_all(own);
		free(r);
		return NULL;
	}
	r->h = h;
	r->e = e;
	r->cb = s->cb;
	r->rcb = s->rcb;
	r->arg = s->arg;
	r->hdrs = own;
	r->state = REQ_RUNNING;
	list_add(&h->running, r);
	h->pending++;
	req_kick(h);
	return r;
}

eng_http_req *eng_http_post_json(eng_http *h, const char *url, const char *json,
				 uint32_t timeout_ms, eng_http_cb cb, void *arg)
{
	if (!h || h->dead || !url || !json || !cb)
		return NULL;
	struct req_spec s = {
		.url = url, .method = "POST", .hdrs = h->hdrs, .body = json,
		.len = strlen(json), .timeout_ms = timeout_ms, .cb = cb, .arg = arg,
	};
	return req_launch(h, &s);
}

/* 1 when <line> is one "Name: value" header line (a name, a colon, no CR or LF). */
static int hdr_line_ok(const char *line)
{
	size_t name = strcspn(line, ":\r\n");
	return name > 0 && line[name] == ':' && !line[name + strcspn(line + name, "\r\n")];
}

/* The header list of one eng_http_request(): "Expect:" (no 100-continue wait on a body),
 * <hdrs> as given, then "Content-Type:" when <hdrs> names none, so that libcurl does not
 * invent a form type for a body. NULL when out of memory or a line is malformed. */
static struct curl_slist *hdrs_build(const char *const *hdrs)
{
	struct curl_slist *l = curl_slist_append(NULL, "Expect:"), *n;
	int ctype = 0;

	for (size_t i = 0; l && hdrs && hdrs[i]; i++) {
		if (!hdr_line_ok(hdrs[i]))
			goto fail;
		ctype |= !strncasecmp(hdrs[i], HTTP_CTYPE, sizeof(HTTP_CTYPE) - 1);
		if (!(n = curl_slist_append(l, hdrs[i])))
			goto fail;
		l = n;
	}
	if (l && !ctype && !(n = curl_slist_append(l, HTTP_CTYPE)))
		goto fail;
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

eng_http_req *eng_http_request(eng_http *h, const char *method, const char *url,
			       const char *const *hdrs, const void *body, size_t len,
			       uint32_t timeout_ms, eng_http_resp_cb cb, void *arg)
{
	if (!h || h->dead || !method || !method_find(method) || !url || !cb || (len && !body))
		return NULL;
	struct req_spec s = {
		.url = url, .method = method, .hdrs = hdrs_build(hdrs), .own_hdrs = 1,
		.body = body, .len = len, .timeout_ms = timeout_ms, .rcb = cb, .arg = arg,
	};
	if (!s.hdrs)
		return NULL;
	return req_launch(h, &s);
}

void eng_http_cancel(eng_http_req *r)
{
	if (!r)
		return;
	eng_http *h = r->h;
	if (r->state == REQ_RUNNING) {
		list_del(&h->running, r);
		req_detach(r);
	} else {
		list_del(&h->done, r);
	}
	h->pending--;
	req_release(r);
}

unsigned eng_http_pending(const eng_http *h)
{
	return h ? h->pending : 0;
}
