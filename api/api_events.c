/* api_events.c — the event pipe of api_events.h: publication from any thread, webhooks and
 * Server-Sent Events on the api thread.
 *
 * The queue is a bounded multi-producer, single-consumer ring of json_t pointers in which
 * each cell carries a sequence number (a producer claims a position with one CAS on <head>,
 * fills the cell, then publishes it by storing the sequence; the consumer, the api thread,
 * reads cells in position order). Its capacity is a power of two not below api.event_queue,
 * and the <held> counter (events published and not yet done with every webhook) is checked
 * first, so a claimed cell is always free.
 *
 * Waking the api thread: before it drains, the consumer raises <need_wake>; a producer that
 * finds it raised (atomic exchange) after publishing writes the eventfd. Either the drain
 * sees the event or the producer sees the flag, so no event sleeps in the queue, and a
 * producer makes a system call only when the api thread may be asleep.
 *
 * Ownership: the queue owns the json_t until the drain turns it into a struct api_event
 * (text serialized once: the SSE frame, with the webhook body inside it). An api_event is
 * reference-counted on the api thread alone: one reference for its slot of the ring, one per
 * webhook delivery, one per SSE stream in the middle of sending it. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "api/api.h"
#include "api/api_events.h"
#include "common/cm_sr.h"
#include "common/cm_time.h"
#include "common/cm_log.h"

#define EV_TAG_WAKE UINT64_MAX    /* epoll data of our eventfd */
#define EV_TAG_SSE  (1ull << 63)  /* | a struct sse *: a suspended stream's socket hung up */
/* any other epoll data is a libcurl socket */

/* ---- counters (process-wide, read by the /metrics emitter) ---------------------------------- */

static struct {
	_Atomic uint64_t published;   /* accepted into the queue */
	_Atomic uint64_t dropped;     /* refused: queue full, API down, out of memory */
	_Atomic uint64_t queue_full;  /* ... of them: api.event_queue events held already */
	_Atomic uint64_t delivered;   /* webhook deliveries answered 2xx */
	_Atomic uint64_t failed;      /* webhook deliveries given up after the last retry */
	_Atomic uint64_t retried;     /* webhook attempts that failed and were scheduled again */
	_Atomic uint64_t sse_slow;    /* SSE streams cut off for lagging past the ring */
	_Atomic uint64_t sse_refused; /* SSE streams answered 503 (api.sse_max_clients) */
	_Atomic int64_t sse_clients;  /* SSE streams open now */
} cnt;

#define CNT_ADD(f, n) atomic_fetch_add_explicit(&cnt.f, (n), memory_order_relaxed)
#define CNT_GET(f)    atomic_load_explicit(&cnt.f, memory_order_relaxed)

/* ---- the queue (producers: any thread; consumer: the api thread) ----------------------------- */

struct evq_cell {
	_Atomic uint64_t seq;      /* == position: free for it; == position + 1: filled */
	json_t *ev;
};

static struct {
	_Alignas(64) _Atomic uint64_t head;  /* next position producers claim */
	_Alignas(64) _Atomic int64_t held;   /* events between publication and webhooks' end */
	_Atomic unsigned users;    /* producers inside api_event_publish() now */
	_Atomic int running;       /* publication accepted */
	_Atomic int need_wake;     /* the consumer may sleep: the next producer writes <efd> */
	_Atomic int draining;      /* api_events_drain() was called: retries at once */
	_Alignas(64) uint64_t tail; /* consumer: next position to read */
	struct evq_cell *cells;
	uint64_t mask;
	int64_t limit;             /* api.event_queue */
	int efd;                   /* eventfd that wakes the api thread */
} q = { .efd = -1 };

/* 0, or -EAGAIN when the cell of the next position is not free yet. */
static int q_push(json_t *j)
{
	uint64_t pos = atomic_load_explicit(&q.head, memory_order_relaxed);

	for (;;) {
		struct evq_cell *c = &q.cells[pos & q.mask];
		uint64_t s = atomic_load_explicit(&c->seq, memory_order_acquire);
		int64_t d = (int64_t)(s - pos);
		if (d == 0) {
			if (atomic_compare_exchange_weak_explicit(&q.head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				c->ev = j;
				atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
				return 0;
			}
		} else if (d < 0) {
			return -EAGAIN;
		} else {
			pos = atomic_load_explicit(&q.head, memory_order_relaxed);
		}
	}
}

/* The next event in order, or NULL (empty, or the next producer has not finished). */
static json_t *q_pop(void)
{
	struct evq_cell *c = &q.cells[q.tail & q.mask];

	if (atomic_load_explicit(&c->seq, memory_order_acquire) != q.tail + 1)
		return NULL;
	json_t *j = c->ev;
	c->ev = NULL;
	atomic_store_explicit(&c->seq, q.tail + q.mask + 1, memory_order_release);
	q.tail++;
	return j;
}

static void held_release(void)
{
	atomic_fetch_sub_explicit(&q.held, 1, memory_order_acq_rel);
}

/* ---- publication (any thread) ---------------------------------------------------------------- */

/* Does <s> hold a byte that must not reach an SSE field or an HTTP header? */
static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Is <key> of <j> absent, or a string fit for a header? */
static int opt_str_ok(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);
	return !v || (json_is_string(v) && !has_ctl(json_string_value(v)));
}

int api_event_publish(json_t *event)
{
	json_t *type = json_object_get(event, "type");

	if (!json_is_object(event) || !json_is_string(type) ||
	    !json_string_length(type) || has_ctl(json_string_value(type)) ||
	    !opt_str_ok(event, "id") || !opt_str_ok(event, "timestamp")) {
		json_decref(event);
		return -EINVAL;
	}
	/* <users> before <running>, both seq_cst: api__events_stop() stores <running> then reads
	 * <users>, so it waits for us or we see it stopped */
	atomic_fetch_add(&q.users, 1);
	int rc = 0;
	if (!atomic_load(&q.running)) {
		rc = -ENOTCONN;
		goto drop;
	}
	if (atomic_fetch_add_explicit(&q.held, 1, memory_order_acq_rel) >= q.limit) {
		atomic_fetch_sub_explicit(&q.held, 1, memory_order_acq_rel);
		CNT_ADD(queue_full, 1);
		rc = -EAGAIN;
		goto drop;
	}
	if (!json_object_get(event, "timestamp")) {
		char ts[40];
		cm_rfc3339_ms(cm_wall_ms(), ts, sizeof(ts));
		json_object_set_new(event, "timestamp", json_string(ts));
	}
	if (q_push(event) < 0) { /* cannot be while <held> bounds it; kept as a guard */
		held_release();
		rc = -EAGAIN;
		goto drop;
	}
	CNT_ADD(published, 1);
	if (atomic_exchange(&q.need_wake, 0)) {
		uint64_t one = 1;
		ssize_t w = write(q.efd, &one, sizeof(one)); /* EAGAIN: already signalled */
		(void)w;
	}
	atomic_fetch_sub(&q.users, 1);
	return 0;
drop:
	atomic_fetch_sub(&q.users, 1);
	CNT_ADD(dropped, 1);
	json_decref(event);
	return rc;
}

/* ---- api-thread state ------------------------------------------------------------------------ */

struct api_event {
	unsigned refs;             /* ring slot + deliveries + streams sending it */
	unsigned hooks_left;       /* webhook deliveries not over; at 0 <held> is released */
	uint64_t pos;              /* stream position: 1, 2, ... */
	char *text;                /* "id: <sse id>\nevent: <type>\ndata: <body>\n\n" */
	size_t text_len;
	const char *body;          /* the JSON inside <text>, not NUL-terminated */
	size_t body_len;
	struct curl_slist *hdrs;   /* webhook headers, shared by every attempt and URL */
};

/* One event on its way to one URL. */
struct delivery {
	struct api_event *ev;
	unsigned attempts;         /* made so far */
	uint64_t due_ms;           /* while waiting: when to try again */
	struct delivery *next;
};

struct hook {
	char *url;
	CURL *easy;                /* reused for each attempt: one request in flight */
	struct delivery *cur;      /* in flight */
	struct delivery *head, *tail; /* waiting for their turn, in publication order */
	struct delivery *backoff;  /* waiting for its retry time: the lane waits with it (one
				    * URL gets its events in the order published) */
	int failing;               /* its last attempt failed (the group "webhooks") */
};

/* One GET /v1/events stream. */
struct sse {
	struct sse *next, *prev;
	struct MHD_Connection *conn;
	uint64_t next_pos;         /* next event to send */
	struct api_event *cur;     /* being sent from <off> (a reference), or NULL */
	size_t off;
	char line[32];             /* a "retry:" or comment line being sent */
	size_t line_len, line_off;
	uint64_t last_write_ms;
	int fd;                    /* its socket, watched for a hang-up while suspended */
	int suspended;             /* by us, waiting for data */
	int closing;               /* ends at its next callback: SSE_END_* */
};

#define SSE_END_STOP 1             /* api stopping: the stream ends cleanly */
#define SSE_END_SLOW 2             /* cut off for lagging (counted) */
#define SSE_END_GONE 3             /* the client hung up while suspended */

static struct {
	int started;
	int epfd;                  /* our eventfd and libcurl's sockets */
	CURLM *multi;              /* NULL when no webhooks */
	uint64_t curl_due_ms;      /* libcurl's timeout, 0: none */
	struct hook *hooks;
	unsigned nhooks;
	uint64_t retry_due_ms;     /* earliest back-off end, 0: none */
	int draining;              /* the api thread has taken q.draining in */
	unsigned char *secret;
	size_t secret_len;
	long timeout_ms;
	unsigned retries;
	uint64_t id_base;          /* an event's id is id_base + its position */
	uint64_t last_pos;         /* position of the newest event (0: none yet) */
	struct api_event *ring[API_EVENTS_RING]; /* position p in [p % API_EVENTS_RING] */
	struct sse *streams;
	int64_t max_streams;
	uint64_t keepalive_ms;     /* api.sse_keepalive */
	uint64_t rnd;              /* xorshift state for the back-off jitter */
} ev = { .epfd = -1 };

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void event_unref(struct api_event *e)
{
	if (--e->refs)
		return;
	curl_slist_free_all(e->hdrs);
	free(e->text);
	free(e);
}

/* ---- turning a published json_t into an api_event -------------------------------------------- */

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* "sha256=<hex HMAC-SHA256 of body under the secret>" into <out> (at least 72 bytes). */
static int sign(const char *body, size_t len, char *out)
{
	unsigned char mac[WC_SHA256_DIGEST_SIZE];
	Hmac h;

	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return -EIO;
	int rc = wc_HmacSetKey(&h, WC_SHA256, ev.secret, (word32)ev.secret_len);
	if (rc == 0)
		rc = wc_HmacUpdate(&h, (const byte *)body, (word32)len);
	if (rc == 0)
		rc = wc_HmacFinal(&h, mac);
	wc_HmacFree(&h);
	if (rc != 0)
		return -EIO;
	memcpy(out, "sha256=", 7);
	hex(mac, sizeof(mac), out + 7);
	return 0;
}

static struct curl_slist *hdr_add(struct curl_slist *l, int *bad, const char *name,
				  const char *value)
{
	char line[512];
	if (*bad)
		return l;
	snprintf(line, sizeof(line), "%s: %s", name, value);
	struct curl_slist *n = curl_slist_append(l, line);
	if (!n) {
		*bad = 1;
		return l;
	}
	return n;
}

/* The event of position <pos> made of <j> (whose reference it takes), or NULL. */
static struct api_event *event_make(json_t *j, uint64_t pos)
{
	char sse_id[24], sig[80];
	struct api_event *e = calloc(1, sizeof(*e));
	char *body = NULL;

	snprintf(sse_id, sizeof(sse_id), "%" PRIu64, ev.id_base + pos);
	if (!json_is_string(json_object_get(j, "id")))
		json_object_set_new(j, "id", json_string(sse_id));
	if (e)
		body = json_dumps(j, JSON_COMPACT);
	const char *type = json_string_value(json_object_get(j, "type"));
	size_t blen = body ? strlen(body) : 0;
	size_t cap = blen + strlen(type) + sizeof(sse_id) + 32;
	if (!body || !(e->text = malloc(cap)))
		goto fail;
	int pre = snprintf(e->text, cap, "id: %s\nevent: %s\ndata: ", sse_id, type);
	memcpy(e->text + pre, body, blen);
	memcpy(e->text + pre + blen, "\n\n", 3);
	e->text_len = (size_t)pre + blen + 2;
	e->body = e->text + pre;
	e->body_len = blen;
	e->pos = pos;
	e->refs = 1;
	if (ev.nhooks) {
		int bad = 0;
		e->hdrs = hdr_add(e->hdrs, &bad, "Content-Type", "application/json");
		e->hdrs = hdr_add(e->hdrs, &bad, "Expect", ""); /* "Expect:" drops 100-continue */
		e->hdrs = hdr_add(e->hdrs, &bad, "X-Rcsgw-Event-Id",
				  json_string_value(json_object_get(j, "id")));
		e->hdrs = hdr_add(e->hdrs, &bad, "X-Rcsgw-Timestamp",
				  json_string_value(json_object_get(j, "timestamp")));
		if (ev.secret_len) {
			if (sign(e->body, e->body_len, sig) < 0)
				bad = 1;
			else
				e->hdrs = hdr_add(e->hdrs, &bad, "X-Rcsgw-Signature", sig);
		}
		if (bad) {
			event_unref(e);
			e = NULL;
		}
	}
	free(body);
	json_decref(j);
	return e;
fail:
	free(body);
	free(e);
	json_decref(j);
	return NULL;
}

/* ---- webhooks -------------------------------------------------------------------------------- */

static uint64_t rnd_next(void)
{
	ev.rnd ^= ev.rnd << 13;
	ev.rnd ^= ev.rnd >> 7;
	ev.rnd ^= ev.rnd << 17;
	return ev.rnd;
}

/* Wait before attempt <attempts> + 1: the base doubled per failure, capped, ±20 %. */
static uint64_t backoff_ms(unsigned attempts)
{
	uint64_t d = API_WEBHOOK_BACKOFF_MS;
	for (unsigned i = 1; i < attempts && d < API_WEBHOOK_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > API_WEBHOOK_BACKOFF_MAX_MS)
		d = API_WEBHOOK_BACKOFF_MAX_MS;
	return d * 8 / 10 + rnd_next() % (d * 4 / 10 + 1);
}

/* <d> is over (delivered or given up): its event may be released. */
static void delivery_end(struct delivery *d)
{
	struct api_event *e = d->ev;
	if (--e->hooks_left == 0)
		held_release();
	event_unref(e);
	free(d);
}

/* The group "webhooks": disabled without URLs, ready while every URL takes its events,
 * degraded while one does not (the events wait for it, up to api.event_queue). */
static void hooks_status(void)
{
	unsigned failing = 0;
	for (unsigned i = 0; i < ev.nhooks; i++)
		failing += ev.hooks[i].failing != 0;
	if (!ev.nhooks)
		cm_sr_set("webhooks", CM_SR_DISABLED, "api.webhooks is empty");
	else
		cm_sr_set("webhooks", failing ? CM_SR_DEGRADED : CM_SR_READY,
			  "%u URLs, %u failing", ev.nhooks, failing);
}

/* <h> starts or stops failing: reported, and the group's status follows. */
static void hook_failing(struct hook *h, int failing, const char *why)
{
	if (!h->failing == !failing)
		return;
	h->failing = failing;
	if (failing)
		cm_sr_report("webhooks", CM_LOG_WARN, "%s failing: %s", h->url, why);
	else
		cm_sr_report("webhooks", CM_LOG_INFO, "%s delivering again", h->url);
	hooks_status();
}

/* The attempt in flight on <h> ended: <ok>, or a failure described by <why>. */
static void hook_attempt_end(struct hook *h, int ok, const char *why)
{
	struct delivery *d = h->cur;

	h->cur = NULL;
	hook_failing(h, !ok, why);
	if (ok) {
		CNT_ADD(delivered, 1);
		delivery_end(d);
		return;
	}
	if (d->attempts <= ev.retries) {
		uint64_t wait = backoff_ms(d->attempts);
		if (ev.draining && wait > API_WEBHOOK_DRAIN_BACKOFF_MS)
			wait = API_WEBHOOK_DRAIN_BACKOFF_MS; /* the drain's deadline is near */
		CNT_ADD(retried, 1);
		d->due_ms = mono_ms() + wait;
		d->next = h->backoff;
		h->backoff = d;
		if (!ev.retry_due_ms || d->due_ms < ev.retry_due_ms)
			ev.retry_due_ms = d->due_ms;
		CM_LOG_RL(CM_LOG_INFO, "api: webhook %s: event %" PRIu64 " attempt %u: %s; retry in "
			  "%" PRIu64 " ms", h->url, d->ev->pos, d->attempts, why,
			  d->due_ms - mono_ms());
		return;
	}
	CNT_ADD(failed, 1);
	CM_LOG_RL(CM_LOG_WARN, "api: webhook %s: event %" PRIu64 " given up after %u attempts: %s",
		  h->url, d->ev->pos, d->attempts, why);
	delivery_end(d);
}

/* Starts the next delivery of <h> when none is in flight and none waits for its retry (the
 * events after a failed one wait for it: delivered in order, or after it is given up). */
static void hook_kick(struct hook *h)
{
	while (!h->cur && h->head && !h->backoff) {
		struct delivery *d = h->head;
		h->head = d->next;
		if (!h->head)
			h->tail = NULL;
		d->next = NULL;
		d->attempts++;
		h->cur = d;
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, d->ev->body);
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->ev->body_len);
		curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, d->ev->hdrs);
		if (curl_multi_add_handle(ev.multi, h->easy) != CURLM_OK)
			hook_attempt_end(h, 0, "libcurl would not start the request");
	}
}

static void hooks_collect(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(ev.multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode res = m->data.result;
		char *priv = NULL, why[128];
		long code = 0;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		struct hook *h = (struct hook *)priv;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(ev.multi, easy);
		if (res != CURLE_OK)
			snprintf(why, sizeof(why), "%s", curl_easy_strerror(res));
		else
			snprintf(why, sizeof(why), "HTTP %ld", code);
		hook_attempt_end(h, res == CURLE_OK && code >= 200 && code < 300, why);
	}
}

/* Puts the deliveries whose back-off has passed back at the front of their lanes, oldest
 * event first, and recomputes the next back-off end. */
static void retries_run(uint64_t now)
{
	if (!ev.retry_due_ms || now < ev.retry_due_ms)
		return;
	ev.retry_due_ms = 0;
	for (unsigned i = 0; i < ev.nhooks; i++) {
		struct hook *h = &ev.hooks[i];
		struct delivery *due = NULL, **pp = &h->backoff;
		while (*pp) {
			struct delivery *d = *pp;
			if (d->due_ms > now) {
				if (!ev.retry_due_ms || d->due_ms < ev.retry_due_ms)
					ev.retry_due_ms = d->due_ms;
				pp = &d->next;
				continue;
			}
			*pp = d->next;
			struct delivery **ins = &due; /* sorted by position */
			while (*ins && (*ins)->ev->pos < d->ev->pos)
				ins = &(*ins)->next;
			d->next = *ins;
			*ins = d;
		}
		if (!due)
			continue;
		struct delivery *last = due;
		while (last->next)
			last = last->next;
		last->next = h->head;
		if (!h->head)
			h->tail = last;
		h->head = due;
	}
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct epoll_event e = { 0 };
	(void)easy;
	(void)userp;
	(void)socketp;

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(ev.epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	e.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	e.data.u64 = (uint64_t)s;
	if (epoll_ctl(ev.epfd, EPOLL_CTL_MOD, s, &e) < 0 && errno == ENOENT)
		epoll_ctl(ev.epfd, EPOLL_CTL_ADD, s, &e);
	return 0;
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	ev.curl_due_ms = timeout_ms < 0 ? 0 : mono_ms() + (uint64_t)timeout_ms;
	return 0;
}

static size_t on_curl_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n; /* the answer's body does not matter, only its status */
}

/* ---- Server-Sent Events --------------------------------------------------------------------- */

static uint64_t ring_oldest(void)
{
	return ev.last_pos >= API_EVENTS_RING ? ev.last_pos - API_EVENTS_RING + 1 : 1;
}

static int sse_lagging(const struct sse *c)
{
	return c->next_pos <= ev.last_pos && c->next_pos < ring_oldest();
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *c = cls;
	uint64_t now = mono_ms();
	size_t n = 0;
	(void)pos;

	if (c->closing)
		return c->closing == SSE_END_STOP ? MHD_CONTENT_READER_END_OF_STREAM
						  : MHD_CONTENT_READER_END_WITH_ERROR;
	if (!c->cur && c->line_off == c->line_len && c->next_pos > ev.last_pos &&
	    now - c->last_write_ms >= ev.keepalive_ms) {
		c->line_len = (size_t)snprintf(c->line, sizeof(c->line), ": keep-alive\n\n");
		c->line_off = 0;
	}
	while (n < max) {
		if (c->line_off < c->line_len) {
			size_t k = c->line_len - c->line_off;
			if (k > max - n)
				k = max - n;
			memcpy(buf + n, c->line + c->line_off, k);
			c->line_off += k;
			n += k;
			continue;
		}
		if (c->cur) {
			size_t k = c->cur->text_len - c->off;
			if (k > max - n)
				k = max - n;
			memcpy(buf + n, c->cur->text + c->off, k);
			c->off += k;
			n += k;
			if (c->off == c->cur->text_len) {
				event_unref(c->cur);
				c->cur = NULL;
			}
			continue;
		}
		if (c->next_pos > ev.last_pos)
			break;
		if (sse_lagging(c)) {
			CNT_ADD(sse_slow, 1);
			c->closing = SSE_END_SLOW;
			CM_LOG_RL(CM_LOG_WARN, "api: /v1/events: a stream fell more than %d events "
				  "behind; cut off", API_EVENTS_RING);
			return n ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
		}
		c->cur = ev.ring[c->next_pos % API_EVENTS_RING];
		c->cur->refs++;
		c->off = 0;
		c->next_pos++;
	}
	if (n) {
		c->last_write_ms = now;
		return (ssize_t)n;
	}
	/* libmicrohttpd does not watch a suspended connection: we do, for a hang-up only */
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct epoll_event e = { .events = EPOLLRDHUP, .data.u64 = EV_TAG_SSE | (uintptr_t)c };
	c->fd = ci ? ci->connect_fd : -1;
	if (c->fd >= 0 && epoll_ctl(ev.epfd, EPOLL_CTL_ADD, c->fd, &e) < 0)
		c->fd = -1;
	c->suspended = 1;
	MHD_suspend_connection(c->conn);
	return 0;
}

static void sse_resume(struct sse *c)
{
	if (c->fd >= 0)
		epoll_ctl(ev.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->fd = -1;
	c->suspended = 0;
	MHD_resume_connection(c->conn);
}

static void sse_free(void *cls)
{
	struct sse *c = cls;

	if (c->closing != SSE_END_SLOW && sse_lagging(c))
		CNT_ADD(sse_slow, 1); /* stalled until libmicrohttpd's timeout closed it */
	if (c->prev)
		c->prev->next = c->next;
	else
		ev.streams = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->cur)
		event_unref(c->cur);
	CNT_ADD(sse_clients, -1);
	free(c);
}

/* Where a stream that sent "Last-Event-ID: <v>" starts (<v> NULL: live only). */
static uint64_t sse_start_pos(const char *v)
{
	uint64_t live = ev.last_pos + 1;
	char *end;

	if (!v)
		return live;
	errno = 0;
	unsigned long long id = strtoull(v, &end, 10);
	if (errno || end == v || *end || *v == '-')
		return live;
	if (id < ev.id_base) /* an id of an earlier process: everything here is newer */
		return ring_oldest();
	uint64_t p = id - ev.id_base + 1;
	if (p < ring_oldest())
		return ring_oldest();
	return p > live ? live : p;
}

void api__h_events(struct api_req *r)
{
	if (!ev.started) {
		api_reply_error(r, 503, "events are not running");
		return;
	}
	if (CNT_GET(sse_clients) >= ev.max_streams) {
		CNT_ADD(sse_refused, 1);
		api_reply_error(r, 503, "too many event streams (api.sse_max_clients = %" PRId64 ")",
				ev.max_streams);
		api_reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
		return;
	}
	struct sse *c = calloc(1, sizeof(*c));
	if (!c) {
		api_reply_error(r, 500, "out of memory");
		return;
	}
	c->conn = api__req_conn(r);
	c->fd = -1;
	c->next_pos = sse_start_pos(MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
								 "Last-Event-ID"));
	c->line_len = (size_t)snprintf(c->line, sizeof(c->line), "retry: %d\n\n",
				       API_SSE_RETRY_MS);
	c->last_write_ms = mono_ms();
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
								      sse_read, c, sse_free);
	if (!resp) {
		free(c);
		api_reply_error(r, 500, "out of memory");
		return;
	}
	c->next = ev.streams;
	if (c->next)
		c->next->prev = c;
	ev.streams = c;
	CNT_ADD(sse_clients, 1);
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	api__reply_stream(r, 200, "text/event-stream", resp);
}

/* Resumes the suspended streams that have something to send; returns the ms until the
 * next keep-alive of those still suspended, -1 if none. */
static int sse_wake(uint64_t now, int resume)
{
	int next = -1;

	for (struct sse *c = ev.streams; c; c = c->next) {
		if (!c->suspended)
			continue;
		uint64_t ka = c->last_write_ms + ev.keepalive_ms;
		if (c->closing || c->next_pos <= ev.last_pos || now >= ka) {
			if (!resume)
				return 0;
			sse_resume(c);
			continue;
		}
		int left = (int)(ka - now);
		if (next < 0 || left < next)
			next = left;
	}
	return next;
}

/* ---- the drain and the loop hooks (api thread) ----------------------------------------------- */

static void drain(void)
{
	json_t *j;

	atomic_store(&q.need_wake, 1);
	while ((j = q_pop())) {
		uint64_t pos = ev.last_pos + 1;
		struct api_event *e = event_make(j, pos);
		if (!e) {
			CNT_ADD(dropped, 1);
			held_release();
			CM_LOG_RL(CM_LOG_WARN, "api: an event was dropped: out of memory");
			continue;
		}
		ev.last_pos = pos;
		unsigned slot = (unsigned)(pos % API_EVENTS_RING);
		if (ev.ring[slot])
			event_unref(ev.ring[slot]);
		ev.ring[slot] = e; /* the reference of event_make() */
		e->hooks_left = 1; /* ours, until every delivery is queued */
		for (unsigned i = 0; i < ev.nhooks; i++) {
			struct delivery *d = calloc(1, sizeof(*d));
			if (!d) {
				CNT_ADD(failed, 1);
				continue;
			}
			d->ev = e;
			e->refs++;
			e->hooks_left++;
			struct hook *h = &ev.hooks[i];
			if (h->tail)
				h->tail->next = d;
			else
				h->head = d;
			h->tail = d;
		}
		if (--e->hooks_left == 0)
			held_release();
	}
}

static void reload_apply(void);

/* The drain began (api_events_drain()): every delivery waiting for its retry is due now.
 * retries_run() puts them back at the front of their lanes by position: the order per URL
 * stays. */
static void drain_begin(uint64_t now)
{
	ev.draining = 1;
	for (unsigned i = 0; i < ev.nhooks; i++)
		for (struct delivery *d = ev.hooks[i].backoff; d; d = d->next) {
			if (d->due_ms > now)
				d->due_ms = now;
			ev.retry_due_ms = now;
		}
}

void api__events_run(void)
{
	struct epoll_event evs[32];
	int running;

	if (!ev.started)
		return;
	int n = epoll_wait(ev.epfd, evs, 32, 0);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == EV_TAG_WAKE) {
			uint64_t v;
			ssize_t rc = read(q.efd, &v, sizeof(v));
			(void)rc;
			continue;
		}
		if (evs[i].data.u64 & EV_TAG_SSE) {
			struct sse *c = (struct sse *)(uintptr_t)(evs[i].data.u64 & ~EV_TAG_SSE);
			if (c->suspended) {
				c->closing = SSE_END_GONE;
				sse_resume(c);
			}
			continue;
		}
		int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			    (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			    (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
		curl_multi_socket_action(ev.multi, (curl_socket_t)evs[i].data.u64, flags, &running);
	}
	uint64_t now = mono_ms();
	if (ev.multi && ev.curl_due_ms && now >= ev.curl_due_ms) {
		ev.curl_due_ms = 0;
		curl_multi_socket_action(ev.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	if (ev.multi)
		hooks_collect();
	reload_apply();
	drain();
	if (!ev.draining && atomic_load(&q.draining))
		drain_begin(now);
	retries_run(now);
	for (unsigned i = 0; i < ev.nhooks; i++)
		hook_kick(&ev.hooks[i]);
	sse_wake(now, 1);
}

int api__events_timeout(void)
{
	if (!ev.started)
		return -1;
	uint64_t now = mono_ms();
	int t = sse_wake(now, 0);
	uint64_t due[2] = { ev.curl_due_ms, ev.retry_due_ms };
	for (unsigned i = 0; i < 2; i++) {
		if (!due[i])
			continue;
		int left = due[i] > now ? (int)(due[i] - now) : 0;
		if (t < 0 || left < t)
			t = left;
	}
	/* a cell claimed but not yet filled when we drained: look again soon */
	struct evq_cell *c = &q.cells[q.tail & q.mask];
	if (atomic_load_explicit(&q.head, memory_order_relaxed) != q.tail &&
	    atomic_load_explicit(&c->seq, memory_order_acquire) != q.tail + 1 && (t < 0 || t > 1))
		t = 1;
	return t;
}

void api__events_shutdown(void)
{
	for (struct sse *c = ev.streams; c; c = c->next) {
		if (!c->closing)
			c->closing = SSE_END_STOP;
		if (c->suspended)
			sse_resume(c);
	}
}

/* ---- metrics --------------------------------------------------------------------------------- */

/* The families of /metrics, each read from one counter. */
static const struct {
	const char *name, *type, *help;
	const void *val;           /* _Atomic uint64_t or _Atomic int64_t (the gauges) */
	int is_signed;
} ev_metrics[] = {
	{ "rcsgw_events_published_total", "counter",
	  "events accepted for delivery (webhooks and /v1/events)", &cnt.published, 0 },
	{ "rcsgw_events_dropped_total", "counter",
	  "events dropped: queue full (api.event_queue), API not running, out of memory, "
	  "still held for webhooks when the API stopped",
	  &cnt.dropped, 0 },
	{ "rcsgw_events_held", "gauge",
	  "events queued or waiting for a webhook delivery or retry", &q.held, 1 },
	{ "rcsgw_webhook_delivered_total", "counter", "webhook deliveries answered 2xx",
	  &cnt.delivered, 0 },
	{ "rcsgw_webhook_failed_total", "counter",
	  "webhook deliveries given up after api.webhook_retries retries", &cnt.failed, 0 },
	{ "rcsgw_webhook_retries_total", "counter",
	  "webhook attempts that failed (no 2xx, timeout) and were scheduled again",
	  &cnt.retried, 0 },
	{ "rcsgw_sse_clients", "gauge", "GET /v1/events streams open", &cnt.sse_clients, 1 },
	{ "rcsgw_sse_refused_total", "counter",
	  "GET /v1/events answered 503 because api.sse_max_clients streams were open",
	  &cnt.sse_refused, 0 },
	{ "rcsgw_sse_dropped_total", "counter",
	  "GET /v1/events streams cut off for falling behind the ring of recent events",
	  &cnt.sse_slow, 0 },
};

int64_t api_events_held(void)
{
	return atomic_load_explicit(&q.held, memory_order_acquire);
}

void api_events_drain(void)
{
	if (atomic_exchange(&q.draining, 1) || q.efd < 0)
		return;
	uint64_t one = 1;
	ssize_t w = write(q.efd, &one, sizeof(one)); /* the api thread takes it at once */
	(void)w;
}

void api_events_limit_hits(uint64_t *event_queue, uint64_t *sse_clients)
{
	*event_queue = CNT_GET(queue_full);
	*sse_clients = CNT_GET(sse_refused);
}

/* <url> as a label: without user information, query or fragment (they may hold secrets). */
static void url_label(const char *url, char *out, size_t len)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t scheme = (size_t)(host - url);
	size_t auth = strcspn(host, "/?#");
	const char *at = memchr(host, '@', auth);
	const char *rest = at ? at + 1 : host;
	snprintf(out, len, "%.*s%.*s", (int)scheme, url, (int)strcspn(rest, "?#"), rest);
}

static void events_emit(struct api_metrics_out *o, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof(ev_metrics) / sizeof(ev_metrics[0]); i++) {
		double v = ev_metrics[i].is_signed
			? (double)atomic_load_explicit((_Atomic int64_t *)ev_metrics[i].val,
						       memory_order_relaxed)
			: (double)atomic_load_explicit((_Atomic uint64_t *)ev_metrics[i].val,
						       memory_order_relaxed);
		api_metrics_family(o, ev_metrics[i].name, ev_metrics[i].type, ev_metrics[i].help);
		api_metrics_sample(o, ev_metrics[i].name, NULL, v);
	}
	/* each URL's queue (the api thread's own state: this runs there) */
	api_metrics_family(o, "rcsgw_webhook_queue", "gauge",
			   "Events waiting for one webhook URL: in line, in flight or waiting for "
			   "their retry.");
	for (unsigned i = 0; i < ev.nhooks; i++) {
		const struct hook *h = &ev.hooks[i];
		unsigned n = h->cur != NULL;
		for (const struct delivery *d = h->head; d; d = d->next)
			n++;
		for (const struct delivery *d = h->backoff; d; d = d->next)
			n++;
		char url[256];
		url_label(h->url, url, sizeof(url));
		api_metrics_sample(o, "rcsgw_webhook_queue", (const char *const[]){ "url", url, NULL },
				   n);
	}
}

static void metrics_once(void)
{
	if (api_metrics_register(events_emit, NULL) < 0)
		CM_WARN("api: events: cannot register metrics");
}

/* ---- start and stop (main thread) ------------------------------------------------------------ */

/* <h> (zeroed) for <url>: its libcurl handle set up. 0, or -errno with <err> filled and
 * nothing held. */
static int hook_init(struct hook *h, const char *url, char *err, size_t errlen)
{
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "api.webhooks \"%s\": not an http:// or https:// URL", url);
		return -EINVAL;
	}
	h->url = strdup(url);
	h->easy = curl_easy_init();
	CURL *c = h->easy;
	if (!h->url || !c) {
		free(h->url);
		curl_easy_cleanup(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (curl_easy_setopt(c, CURLOPT_URL, h->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		snprintf(err, errlen, "api.webhooks \"%s\": not an http(s) URL libcurl takes", url);
		free(h->url);
		curl_easy_cleanup(c);
		return -EINVAL;
	}
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ev.timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_curl_body);
	curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "rcsgw/" RCSGW_VERSION);
	return 0;
}

/* The libcurl multi handle, made the first time webhooks are set. 0 or -EIO. */
static int multi_start(char *err, size_t errlen)
{
	if (ev.multi)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "api.webhooks: libcurl cannot be initialised");
		return -EIO;
	}
	ev.multi = curl_multi_init();
	if (!ev.multi) {
		curl_global_cleanup();
		snprintf(err, errlen, "api.webhooks: libcurl cannot be initialised");
		return -EIO;
	}
	curl_multi_setopt(ev.multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(ev.multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	return 0;
}

/* ---- reload (SIGHUP): the main thread hands the new settings over, the api thread takes them */

static struct {
	pthread_mutex_t lock;
	int pending;
	struct cm_strlist urls;    /* copies */
	char *secret;
	long timeout_ms;
	unsigned retries;
} rl = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void strlist_drop(struct cm_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Ends every delivery of <h> (counted as failed when <count>: the URL is no longer
 * configured) and frees what it holds. */
static void hook_drop(struct hook *h, int count)
{
	if (h->cur) {
		curl_multi_remove_handle(ev.multi, h->easy);
		h->cur->next = h->head;
		h->head = h->cur;
		h->cur = NULL;
	}
	struct delivery *lists[2] = { h->head, h->backoff };
	for (unsigned k = 0; k < 2; k++)
		for (struct delivery *d = lists[k], *nx; d; d = nx) {
			nx = d->next;
			if (count)
				CNT_ADD(failed, 1);
			delivery_end(d);
		}
	curl_easy_cleanup(h->easy);
	free(h->url);
}

/* Api thread: the settings handed over by api_events_reload(), taken. A URL kept keeps its
 * queue and the attempt in flight; a new one gets the events published from now on; one
 * removed loses what it had not delivered (counted in rcsgw_webhook_failed_total). */
static void reload_apply(void)
{
	char err[256];
	unsigned kept = 0, added = 0, removed = 0;

	pthread_mutex_lock(&rl.lock);
	if (!rl.pending) {
		pthread_mutex_unlock(&rl.lock);
		return;
	}
	rl.pending = 0;
	struct cm_strlist urls = rl.urls;
	char *secret = rl.secret;
	rl.urls = (struct cm_strlist){ 0 };
	rl.secret = NULL;
	ev.timeout_ms = rl.timeout_ms;
	ev.retries = rl.retries;
	pthread_mutex_unlock(&rl.lock);

	free(ev.secret);
	ev.secret = (unsigned char *)secret;
	ev.secret_len = secret ? strlen(secret) : 0;
	struct hook *nh = urls.n ? calloc(urls.n, sizeof(*nh)) : NULL;
	if ((urls.n && !nh) || (urls.n && multi_start(err, sizeof(err)) < 0)) {
		cm_sr_report("webhooks", CM_LOG_ERROR, "reload: out of memory, URLs unchanged");
		free(nh);
		strlist_drop(&urls);
		return;
	}
	unsigned n = 0;
	for (size_t i = 0; i < urls.n; i++) {
		unsigned k = 0;
		while (k < ev.nhooks && (!ev.hooks[k].url || strcmp(ev.hooks[k].url, urls.v[i])))
			k++;
		if (k < ev.nhooks) {
			nh[n] = ev.hooks[k]; /* moved: its handle's private pointer follows */
			ev.hooks[k].url = NULL;
			curl_easy_setopt(nh[n].easy, CURLOPT_PRIVATE, (char *)&nh[n]);
			kept++;
		} else if (hook_init(&nh[n], urls.v[i], err, sizeof(err)) < 0) {
			cm_sr_report("webhooks", CM_LOG_ERROR, "reload: %s", err);
			continue;
		} else {
			added++;
		}
		curl_easy_setopt(nh[n].easy, CURLOPT_TIMEOUT_MS, ev.timeout_ms);
		n++;
	}
	for (unsigned k = 0; k < ev.nhooks; k++)
		if (ev.hooks[k].url) {
			hook_drop(&ev.hooks[k], 1);
			removed++;
		}
	free(ev.hooks);
	ev.hooks = nh;
	ev.nhooks = n;
	strlist_drop(&urls);
	cm_sr_report("webhooks", CM_LOG_INFO, "reloaded: %u URLs (%u kept, %u added, %u removed), "
		     "%s, %ld ms, %u retries", n, kept, added, removed,
		     ev.secret_len ? "signed" : "unsigned", ev.timeout_ms, ev.retries);
	hooks_status();
}

int api_events_reload(const struct cm_config *cfg, char *err, size_t errlen)
{
	const struct cm_config_api *a = &cfg->api;
	struct cm_strlist urls = { 0 };

	if (!ev.started) {
		snprintf(err, errlen, "events: the API is not running");
		return -ENOTCONN;
	}
	for (size_t i = 0; i < a->webhooks.n; i++)
		if (strncasecmp(a->webhooks.v[i], "http://", 7) != 0 &&
		    strncasecmp(a->webhooks.v[i], "https://", 8) != 0) {
			snprintf(err, errlen, "api.webhooks \"%s\": not an http:// or https:// URL",
				 a->webhooks.v[i]);
			return -EINVAL;
		}
	urls.v = calloc(a->webhooks.n ? a->webhooks.n : 1, sizeof(*urls.v));
	char *secret = strdup(a->webhook_secret);
	for (size_t i = 0; urls.v && i < a->webhooks.n; i++, urls.n++)
		if (!(urls.v[i] = strdup(a->webhooks.v[i])))
			break;
	if (!urls.v || !secret || urls.n < a->webhooks.n) {
		strlist_drop(&urls);
		free(secret);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&rl.lock);
	strlist_drop(&rl.urls);
	free(rl.secret);
	rl.urls = urls;
	rl.secret = secret;
	rl.timeout_ms = (long)a->webhook_timeout_ms;
	rl.retries = (unsigned)a->webhook_retries;
	rl.pending = 1;
	pthread_mutex_unlock(&rl.lock);
	uint64_t one = 1;
	ssize_t w = write(q.efd, &one, sizeof(one)); /* the api thread takes it at once */
	(void)w;
	return 0;
}

static int hooks_start(const struct cm_config_api *a, char *err, size_t errlen)
{
	ev.hooks = calloc(a->webhooks.n, sizeof(*ev.hooks));
	if (!ev.hooks) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = multi_start(err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < a->webhooks.n; i++) {
		if ((rc = hook_init(&ev.hooks[ev.nhooks], a->webhooks.v[i], err, errlen)) < 0)
			return rc;
		ev.nhooks++;
	}
	return 0;
}

int api__events_start(const struct cm_config *cfg, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const struct cm_config_api *a = &cfg->api;
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = EV_TAG_WAKE };
	struct timespec ts;
	int rc;

	if (ev.started) {
		snprintf(err, errlen, "events already started");
		return -EALREADY;
	}
	pthread_once(&once, metrics_once);
	uint64_t cap = 16;
	while (cap < (uint64_t)a->event_queue)
		cap *= 2;
	q.cells = calloc(cap, sizeof(*q.cells));
	if (!q.cells) {
		snprintf(err, errlen, "api.event_queue %" PRId64 ": out of memory", a->event_queue);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < cap; i++)
		atomic_init(&q.cells[i].seq, i);
	q.mask = cap - 1;
	q.limit = a->event_queue;
	q.tail = 0;
	atomic_store(&q.head, 0);
	atomic_store(&q.held, 0);
	atomic_store(&q.need_wake, 1);
	atomic_store(&q.draining, 0);
	ev.started = 1; /* from here api__events_stop() undoes what is done */
	ev.max_streams = a->sse_max_clients;
	ev.keepalive_ms = (uint64_t)a->sse_keepalive_ms;
	ev.timeout_ms = (long)a->webhook_timeout_ms;
	ev.retries = (unsigned)a->webhook_retries;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.id_base = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	ev.rnd = ev.id_base | 1;
	ev.secret_len = strlen(a->webhook_secret);
	ev.secret = (unsigned char *)strdup(a->webhook_secret);
	q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!ev.secret || q.efd < 0 || ev.epfd < 0 ||
	    epoll_ctl(ev.epfd, EPOLL_CTL_ADD, q.efd, &e) < 0) {
		rc = ev.secret ? -errno : -ENOMEM;
		snprintf(err, errlen, "events: %s", strerror(-rc));
		goto fail;
	}
	if (a->webhooks.n && (rc = hooks_start(a, err, errlen)) < 0)
		goto fail;
	atomic_store(&q.running, 1);
	hooks_status();
	CM_INFO("api: events: %u webhook%s (%s, %" PRId64 " ms, %u retries), queue of %" PRId64
		", up to %" PRId64 " streams on /v1/events", ev.nhooks, ev.nhooks == 1 ? "" : "s",
		ev.secret_len ? "signed" : "unsigned", a->webhook_timeout_ms, ev.retries,
		q.limit, ev.max_streams);
	return ev.epfd;
fail:
	api__events_stop();
	return rc;
}

void api__events_stop(void)
{
	if (!ev.started)
		return;
	atomic_store(&q.running, 0);
	while (atomic_load(&q.users))
		sched_yield();
	/* what is held now (queued, or not yet done with every webhook) is lost: said once */
	int64_t lost = atomic_load(&q.held);
	if (lost > 0) {
		CNT_ADD(dropped, (uint64_t)lost);
		CM_WARN("api: %" PRId64 " events not delivered to webhooks at stop", lost);
	}
	/* no stream is left: the daemons were stopped before us */
	for (json_t *j; (j = q_pop());) {
		json_decref(j);
		held_release();
	}
	for (unsigned i = 0; i < ev.nhooks; i++)
		hook_drop(&ev.hooks[i], 0);
	if (ev.multi) {
		curl_multi_cleanup(ev.multi);
		curl_global_cleanup();
	}
	free(ev.hooks);
	pthread_mutex_lock(&rl.lock);
	strlist_drop(&rl.urls);
	free(rl.secret);
	rl.secret = NULL;
	rl.pending = 0;
	pthread_mutex_unlock(&rl.lock);
	for (unsigned i = 0; i < API_EVENTS_RING; i++)
		if (ev.ring[i])
			event_unref(ev.ring[i]);
	if (ev.epfd >= 0)
		close(ev.epfd);
	if (q.efd >= 0)
		close(q.efd);
	free(ev.secret);
	free(q.cells);
	q.cells = NULL;
	q.efd = -1;
	memset(&ev, 0, sizeof(ev));
	ev.epfd = -1;
}
