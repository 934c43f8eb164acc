/* api.h — the control plane: REST over libmicrohttpd, JSON by jansson, under /v1.
 *
 *   GET /v1/status        version, uptime, subsystems' statuses, engine and workers
 *   GET /v1/status/{group}, /v1/reports/{group}   one subsystem's status, its reports
 *   GET /healthz, /readyz  alive (every worker answers), ready (no group not ready); public
 *   GET /v1/connections[/{id}], DELETE /v1/connections/{id}   the engine's TCP connections
 *   GET /metrics          Prometheus text exposition 0.0.4
 *   GET /v1/openapi.yaml  the OpenAPI document of all this (public: no token needed)
 *   GET /v1/events        Server-Sent Events stream of the events (api_events.h)
 *
 * Threads: one api thread runs every listener and every HTTP callback. It never touches a
 * worker's state: it asks workers through their mailboxes (api_gather(), api_ask()) and
 * keeps the HTTP connection suspended until the answers are in, or until
 * API_GATHER_TIMEOUT_MS passed (then 503). Errors are always JSON:
 * {"error":{"code":<status>,"message":"..."}}.
 *
 * Authentication: when api.tokens is not empty every route but the public ones wants
 * "Authorization: Bearer <token>" with one of them (compared in constant time), else 401
 * with WWW-Authenticate: Bearer realm="rcsgw". /metrics is protected like the rest.
 *
 * Order in the daemon: eng_start(), then api_start(); api_stop(), then eng_destroy().
 *
 * Return convention: 0 on success, -errno on failure. */
#ifndef API_H
#define API_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "api/api-t.h"
#include "common/cm_config-t.h"

#ifndef RCSGW_VERSION
#if defined(__has_include)
#if __has_include("common/cm_version.h")
#include "common/cm_version.h"
#endif
#endif
#endif
#ifndef RCSGW_VERSION
#define RCSGW_VERSION "0.1.0"
#endif

#define API_BODY_MAX          (1u << 20) /* bytes of a request body; more is 413 */
#define API_GATHER_TIMEOUT_MS 2000       /* workers that have not answered by then: 503 */
#define API_CONN_LIMIT        256        /* HTTP connections per listen address */
#define API_CONN_TIMEOUT_S    30         /* idle HTTP connection closed after it */
#define API_CONN_MEMORY       (64u << 10) /* libmicrohttpd's memory per connection (headers) */
#define API_LISTEN_MAX        16         /* addresses in api.listen */
#define API_STATUS_POLL_MS    500        /* the groups' probes are polled this often */
#define API_IDEM_TTL_S        86400      /* an Idempotency-Key is remembered this long */
#define API_IDEM_MAX          65536      /* Idempotency-Keys remembered; the oldest go first */
#define API_IDEM_BYTES_MAX    (64u << 20) /* bytes of them (keys and answers); the same */

/* ---- life cycle (main thread) ---------------------------------------------------------- */

/* Listens on every "host:port" of <cfg>->api.listen ("127.0.0.1:8080", "[::1]:8080",
 * "*:8080"; port 0 picks a free one, see api_listen_port()) and starts the api thread.
 * <cfg> is read during the call only (the tokens are copied); <e> must be started and
 * outlive api_stop(). One instance per process. 0, or -errno with one line in <err>. */
int api_start(const struct cm_config *cfg, eng_engine *e, char *err, size_t errlen);

/* Answers what is still waiting for workers with 503, closes the listeners and the
 * connections, joins the api thread. Safe when not started. */
void api_stop(void);

/* The port bound for the <i>-th address of api.listen, or -ENOENT. Any thread after
 * api_start(). */
int api_listen_port(unsigned i);

/* ---- routes from other files (main thread, before api_start) ----------------------------- */

/* Adds the <n> rows of <routes> to the router, after api_http.c's own and those registered
 * before, and keeps them by pointer: <routes> (and the strings it points to) must stay as
 * they are until the process ends (a static const table). A path that some row has and the
 * request's method has not is 405 with Allow listing the methods of all rows; a path that
 * no row has is 404, message "no such resource: no route for <path>". A row with
 * API_RF_IDEMPOTENT honours Idempotency-Key (below). Registrations stay for
 * the life of the process, across api_stop and api_start.
 * 0; -EBUSY (the API is running); -EINVAL (a method that is not 1..16 capital letters, a
 * pattern that does not start with '/', has an empty segment, more than 16 segments or 4
 * parameters, or braces that are not a whole segment; a NULL fn); -EEXIST (a row has this
 * method and a pattern that matches the same paths, parameter names aside); -ENOSPC (15
 * tables registered already). Nothing is added on failure. */
int api_routes_register(const struct api_route *routes, unsigned n);

/* Writes every row of the router to <out>, one "<METHOD> <pattern>" line each, in the order
 * they are matched (GET rows answer HEAD too, not listed), then flushes <out>. For
 * `rcsgw --list-routes`. */
void api_routes_print(FILE *out);

/* Idempotency-Key on API_RF_IDEMPOTENT routes (api_idem.h has the store):
 *   - "Idempotency-Key: <1..255 characters %x21-7E>" once, else 400 naming the header (the
 *     header is checked with the token, before the body is read);
 *   - the key is per bearer token (two tokens may use one key) and is remembered
 *     API_IDEM_TTL_S from its first request, with the SHA-256 of method, path and body;
 *   - the same key and request again: the first answer (status, body, Content-Type and
 *     Location) with "Idempotent-Replayed: true", the handler not run;
 *   - the same key with another method, path or body: 422; while the first request has
 *     not been answered: 409 (both JSON errors naming the header);
 *   - only 2xx and 4xx answers are kept; after a 5xx (a 503 of a silent worker included),
 *     a streamed answer, or a client gone before its answer, the key is forgotten and the
 *     request may be sent again;
 *   - API_IDEM_MAX keys and API_IDEM_BYTES_MAX bytes at most; beyond, the oldest keys go,
 *     counted in rcsgw_api_idempotency_evicted_total.
 * The answer is taken where it goes out, so a renderer's answer counts as the handler's. */

/* ---- registrations by other subsystems (any thread, any time) --------------------------- */

/* Subsystems publish their status and reports through common/cm_sr.h: GET /v1/status
 * lists the groups, /v1/status/{group} and /v1/reports/{group} show one, /readyz is 503
 * while one is not ready, and every change of status is the event "status.changed". The
 * api thread polls the groups' probes (cm_sr_poll) every API_STATUS_POLL_MS and at each of
 * those requests. */

/* Adds <n> families whose values <collect> reads on each worker at each scrape (label
 * worker="<index>"). <defs> and <arg> must outlive api_stop(); names are checked against
 * the Prometheus grammar. 0, -EINVAL, -ENOSPC. */
int api_metrics_register_worker(const struct api_metric_def *defs, unsigned n,
				api_metrics_worker_fn collect, void *arg);

/* The same with labeled series (<n> rows of <series>, one value each, in order). 0,
 * -EINVAL (a name outside the grammar, or rows of one name not next to each other), -ENOSPC. */
int api_metrics_register_worker_series(const struct api_metric_series *series, unsigned n,
				       api_metrics_worker_fn collect, void *arg);

/* Makes rows for api_metrics_register_worker_series, kept by the API for the life of the
 * process: those of family <name> (<type>, <help>), for each value <o> of <outer> (NULL-
 * ended; NULL: no such label) one per value of <vals> (<nvals>), labelled
 * [<outer_key>="<o>",]<key>="<value>", outer-major. Consecutive calls make consecutive
 * rows (one array to register). The first row, or NULL when the API's table (1024 rows)
 * is full. Main thread, before api_start(). */
struct api_metric_series *api_metrics_rows(const char *name, const char *type, const char *help,
					   const char *outer_key, const char *const *outer,
					   const char *key, const char *const *vals,
					   unsigned nvals);

/* Adds <n> histograms (rows of <hist>) whose struct cm_hist <collect> copies on each worker
 * at each scrape (API_HIST_VALS values per row, in order: api_metrics_hist_put), written
 * summed over the workers. 0, -EINVAL (as for series), -ENOSPC. */
int api_metrics_register_worker_hist(const struct api_metric_hist *hist, unsigned n,
				     api_metrics_worker_fn collect, void *arg);
/* For such a collect: <h> as the API_HIST_VALS values at <vals>. */
void api_metrics_hist_put(uint64_t *vals, const struct cm_hist *h);

/* HTTP connections cut off at api.head_timeout, with their request's head or its body not
 * all in (slowloris); any thread (relaxed). */
void api_slow_closed(uint64_t *head, uint64_t *body);

/* Adds <emit>, called on the api thread at each scrape to append families of process-wide
 * state. 0, -EINVAL, -ENOSPC. */
int api_metrics_register(api_metrics_emit_fn emit, void *arg);

/* For emitters: starts family <name> of <type> ("counter", "gauge", "histogram" — its
 * samples then <name>_bucket with "le", <name>_sum, <name>_count —, "untyped") with its HELP
 * line. A name outside the Prometheus grammar is dropped (with its samples). */
void api_metrics_family(struct api_metrics_out *out, const char *name, const char *type,
			const char *help);
/* For emitters: one sample of the family just started. <labels> is NULL or a NULL-
 * terminated list of name, value, name, value... (values escaped here). */
void api_metrics_sample(struct api_metrics_out *out, const char *name,
			const char *const *labels, double value);

/* ---- for route handlers (api thread) ----------------------------------------------------- */

/* The value of path parameter "{<name>}" of the matched route, or NULL. */
const char *api_req_param(const struct api_req *r, const char *name);
/* The value of query argument <key> (already unescaped), or NULL. */
const char *api_req_query(const struct api_req *r, const char *key);
/* Query argument <key> as a decimal integer in [0, <max>] into *<v> (left as it is when
 * absent): 0, or -1 with a 400 answered that names the key and the range. */
int api_query_uint(struct api_req *r, const char *key, uint64_t max, uint64_t *v);
/* The request body (NUL-terminated, <*len> bytes without the NUL; "" when none). */
const char *api_req_body(const struct api_req *r, size_t *len);
/* The value of request header <name> (case-insensitive), or NULL. */
const char *api_req_header(const struct api_req *r, const char *name);
const char *api_req_method(const struct api_req *r);
/* Who authenticated the request: 1 + the index of its token in api.tokens, 0 without
 * tokens. */
uint32_t api_req_owner(const struct api_req *r);
/* The URL's path as it came (not decoded), "/v1/...". */
const char *api_req_url(const struct api_req *r);
/* The query arguments again, "k=v&k2=v2" percent-encoded (without '?'), into <buf>. 0, or
 * -1 when they do not fit in <len>. */
int api_req_query_string(const struct api_req *r, char *buf, size_t len);

/* Answers <status> with <body> as JSON (takes the reference to <body>). */
void api_reply_json(struct api_req *r, unsigned status, json_t *body);
/* Answers <status> with <len> bytes of <text> (malloc'ed, ownership taken) as <ctype>
 * (a static string). */
void api_reply_text(struct api_req *r, unsigned status, const char *ctype, char *text,
		    size_t len);
/* api_reply_text() with a type of the caller's (copied: a file's, for a download). */
void api_reply_typed(struct api_req *r, unsigned status, const char *ctype, char *text,
		     size_t len);
/* Answers <status> with {"error":{"code":<status>,"message":<fmt...>}}. */
void api_reply_error(struct api_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The body of <r> as a JSON object (duplicate keys refused; an empty body is {} when
 * <empty_ok>), or NULL with a 400 answered (415: it came with a Content-Type that is not
 * JSON; none is taken for JSON). */
json_t *api_body_object(struct api_req *r, int empty_ok);
/* -1 with a 400 answered when <o> has a member not in <allowed> (NULL-terminated), else 0. */
int api_only_fields(struct api_req *r, json_t *o, const char *const *allowed);
/* Adds a header to the answer (<name> static, <value> copied). Up to 4. */
void api_reply_header(struct api_req *r, const char *name, const char *value);

/* Asks every worker to run <collect>(worker, slot, <arg>) on its own thread, each into its
 * own zeroed slot of <slot_size> bytes; when all have, <render>(r, g) answers on the api
 * thread. A full mailbox answers 503 at once; workers silent past API_GATHER_TIMEOUT_MS,
 * 503 then. The gather takes <arg>: <cleanup> (may be NULL) runs when the last worker that
 * got the message is done with it, which may be after the answer. Returns 0 (the answer is
 * on its way), or -ENOMEM with a 500 answered and <arg> still the caller's. */
int api_gather(struct api_req *r, size_t slot_size, api_collect_fn collect,
	       api_render_fn render, api_cleanup_fn cleanup, void *arg);
/* The same with one worker: <fn>(worker <worker>, slot, <arg>) on that worker's thread,
 * then <render>, which sees api_gather_n() == 1 and the answer in slot 0. Same 503s (full
 * mailbox at once, silence past API_GATHER_TIMEOUT_MS), same ownership of <arg>. 0, or
 * -ENOMEM or -EINVAL (<worker> >= the number of workers) with a 500 answered and <arg>
 * still the caller's. */
int api_ask(struct api_req *r, unsigned worker, size_t slot_size, api_collect_fn fn,
	    api_render_fn render, api_cleanup_fn cleanup, void *arg);
/* The same where the worker answers later (after a network round trip): <fn>(worker, slot,
 * <arg>, <t>) runs on worker <worker>'s thread and keeps <t>; the worker fills the slot when
 * it can and then calls api_later_done(<t>) on its thread, exactly once (also when it stops:
 * the slot says so; a message still in the mailbox of a worker that stops is dropped, as
 * with api_ask: the gather is then the process's last leak). The api waits <timeout_ms> (0: API_GATHER_TIMEOUT_MS), then answers 503;
 * a later api_later_done() is harmless then (the slot stays the worker's until it is called).
 * Same returns as api_ask(). */
struct api_later;
typedef void (*api_later_fn)(eng_worker *w, void *slot, void *arg, struct api_later *t);
int api_ask_later(struct api_req *r, unsigned worker, size_t slot_size, unsigned timeout_ms,
		  api_later_fn fn, api_render_fn render, api_cleanup_fn cleanup, void *arg);
void api_later_done(struct api_later *t);
/* The body limit of API_RF_LARGE_BODY routes (default API_BODY_MAX). Before api_start. */
void api_set_large_body_max(size_t max);

unsigned api_gather_n(const struct api_gather *g);
void *api_gather_slot(struct api_gather *g, unsigned i);
void *api_gather_arg(const struct api_gather *g);

/* ---- between the files of api/ only ------------------------------------------------------- */

/* Route handlers (rows of the router table in api_http.c). */
void api__h_status(struct api_req *r);
void api__h_status_group(struct api_req *r);
void api__h_reports(struct api_req *r);
void api__h_healthz(struct api_req *r);
void api__h_readyz(struct api_req *r);
void api__h_conns(struct api_req *r);       /* api_conns.c */
void api__h_conn(struct api_req *r);
void api__h_conn_delete(struct api_req *r);
/* api_status.c's hook for status changes (the event), set at api_start, off at api_stop. */
void api__status_start(void);
void api__status_stop(void);
void api__h_metrics(struct api_req *r);
void api__h_openapi(struct api_req *r);

/* For streamed answers (GET /v1/events, api_events.c): answers <status> with <resp>, a
 * libmicrohttpd response the caller built (its reference is taken), as <ctype> (static). */
struct MHD_Response;
struct MHD_Connection;
void api__reply_stream(struct api_req *r, unsigned status, const char *ctype,
		       struct MHD_Response *resp);
/* The libmicrohttpd connection of <r> (to suspend and resume a stream). */
struct MHD_Connection *api__req_conn(const struct api_req *r);

/* One field of struct eng_stats, as GET /v1/status and /metrics name it. */
struct api__stat_field {
	const char *json;          /* key in "counters" (the struct field's name) */
	size_t off;                /* offsetof(struct eng_stats, field) */
	const char *metric;        /* Prometheus name */
	const char *type;          /* "counter" or "gauge" */
	const char *help;
};
const struct api__stat_field *api__stat_fields(size_t *n);

/* Upper bounds (seconds) of the buckets of rcsgw_api_request_duration_seconds. */
#define API_LAT_BUCKETS 11
extern const double api__lat_bounds[API_LAT_BUCKETS];

/* The api thread's own counters (read on the api thread only). */
struct api__counters {
	uint64_t by_code[600];     /* answers by HTTP status */
	uint64_t lat_bucket[API_LAT_BUCKETS + 1]; /* answers by time taken (the last: +Inf) */
	uint64_t lat_count;
	double lat_sum;            /* seconds */
	uint64_t gather_timeouts;  /* gathers answered 503 because a worker was silent */
	uint64_t gather_refused;   /* gathers answered 503 because a mailbox was full */
	uint64_t conns_refused;    /* HTTP connections closed at once: over the limits */
};
const struct api__counters *api__counters(void);
struct api_idem_stats;
void api__idem_stats(struct api_idem_stats *st); /* the api thread's Idempotency-Keys */
eng_engine *api__engine(void);
uint64_t api__uptime_ms(void);
unsigned api__connections(void); /* HTTP connections open now */

#endif
