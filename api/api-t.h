/* api-t.h — types of the control plane (no prototypes here, see api.h).
 *
 * The REST API runs on one thread of its own, the api thread. Everything in these types that
 * a handler or a renderer touches belongs to that thread, except what a gather's collect
 * callback writes: its own slot, on its worker's thread. */
#ifndef API_T_H
#define API_T_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_hist-t.h"
#include "engine/eng-t.h"

/* One HTTP request being served (opaque; see the api_req_* and api_reply_* functions). */
struct api_req;

/* A question asked to every worker through its mailbox, with one answer slot per worker
 * (opaque; see api_gather()). */
struct api_gather;

/* A route handler, on the api thread. It either answers (api_reply_*) or starts a gather
 * (api_gather()) whose renderer answers later. Returning without doing either is a bug,
 * answered 500. */
typedef void (*api_handler_fn)(struct api_req *r);

#define API_RF_PUBLIC     0x1u /* served without a bearer token even when tokens are set */
#define API_RF_IDEMPOTENT 0x2u /* honours Idempotency-Key (POST routes; see api_routes_register) */
#define API_RF_LARGE_BODY 0x4u /* a body up to api_set_large_body_max(), not API_BODY_MAX (uploads) */

/* One row of the router table (api_http.c's own rows, then api_routes_register()'s).
 * <pattern> is an absolute path whose segments are literals or "{name}" (any one non-empty
 * segment, read back with api_req_param()). */
struct api_route {
	const char *method;        /* "GET", "POST", ...; a GET route answers HEAD too */
	const char *pattern;       /* "/v1/status", "/v1/connections/{id}" */
	api_handler_fn fn;
	unsigned flags;            /* API_RF_* */
};

/* Runs on worker <w>'s own thread: fills <slot> (zeroed, of the size given to api_gather)
 * from state only <w> may read. <arg> is shared read-only by all workers. */
typedef void (*api_collect_fn)(eng_worker *w, void *slot, void *arg);

/* Runs on the api thread once every worker has filled its slot: answers <r>. */
typedef void (*api_render_fn)(struct api_req *r, struct api_gather *g);

/* Runs once, when the last reference to <g> goes (on the api thread or on a worker's, after
 * its collect): frees what the slots or the gather's arg hold. May be NULL. */
typedef void (*api_cleanup_fn)(struct api_gather *g);

/* A metric family whose samples come from every worker (label worker="<index>"). */
struct api_metric_def {
	const char *name;          /* Prometheus name; counters end in _total */
	const char *type;          /* "counter" or "gauge" */
	const char *help;          /* one line */
};

/* One labeled series of a per-worker family (api_metrics_register_worker_series): rows
 * with the same <name> next to each other make one family (its type and help from the
 * first); <labels> is written as it is, before worker="<index>": 'method="SEND"'. */
struct api_metric_series {
	const char *name;
	const char *type;
	const char *help;
	const char *labels;        /* "" for none; values must need no escaping */
};

/* One histogram of per-worker latencies, summed over the workers at each scrape
 * (api_metrics_register_worker_hist): rows with the same <name> next to each other make one
 * family of type histogram (its help from the first). Its samples: <name>_bucket with
 * <labels> and le (the bounds of cm_hist-t.h, in seconds, cumulative), <name>_sum
 * (seconds) and <name>_count. */
struct api_metric_hist {
	const char *name;
	const char *help;
	const char *labels;        /* "" for none, or 'kind="invite"'; no escaping needed */
};

/* Values a collect writes per histogram row: a struct cm_hist as it is (its buckets, not
 * cumulative, then its sum in microseconds). */
#define API_HIST_VALS (CM_HIST_BOUNDS + 2)

/* Runs on worker <w>'s own thread at each scrape: writes one value per family of its
 * registration into <vals>, in the order of its <defs> (API_HIST_VALS per histogram). */
typedef void (*api_metrics_worker_fn)(eng_worker *w, uint64_t *vals, void *arg);

/* The text exposition being written by a scrape (opaque; see api_metrics_family()). */
struct api_metrics_out;

/* Runs on the api thread at each scrape: appends whole families (api_metrics_family(), then
 * its samples) from state that is safe to read from another thread. */
typedef void (*api_metrics_emit_fn)(struct api_metrics_out *out, void *arg);

#endif
