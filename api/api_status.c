/* api_status.c — GET /v1/status: version, uptime, subsystems' readiness, and the engine's
 * workers with their counters, read by each worker on its own thread (api_gather). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "engine/eng.h"

/* ---- the counters of struct eng_stats, named once for /v1/status and /metrics ------------- */

#define F(field, metric, type, help) \
	{ #field, offsetof(struct eng_stats, field), metric, type, help }

static const struct api__stat_field stat_fields[] = {
	F(conns, "rcsgw_engine_connections", "gauge", "Connections open on the worker."),
	F(accepts, "rcsgw_engine_accepts_total", "counter", "Connections accepted."),
	F(connects, "rcsgw_engine_connects_total", "counter", "Outbound connections started."),
	F(closes, "rcsgw_engine_closes_total", "counter", "Connections closed."),
	F(recv_bytes, "rcsgw_engine_recv_bytes_total", "counter", "Bytes received."),
	F(send_bytes, "rcsgw_engine_send_bytes_total", "counter", "Bytes sent."),
	F(recv_ops, "rcsgw_engine_recv_ops_total", "counter", "Receive completions."),
	F(send_ops, "rcsgw_engine_send_ops_total", "counter", "Send completions."),
	F(submits, "rcsgw_engine_submits_total", "counter", "Batches submitted to the kernel."),
	F(loops, "rcsgw_engine_loops_total", "counter", "Iterations of the worker loop."),
	F(enobufs, "rcsgw_engine_enobufs_total", "counter",
	  "Receives that found no free buffer."),
	F(paused, "rcsgw_engine_backpressure_pauses_total", "counter",
	  "Reads paused by back-pressure."),
	F(mailbox_in, "rcsgw_engine_mailbox_messages_total", "counter",
	  "Mailbox messages run by the worker."),
	F(mailbox_full, "rcsgw_engine_mailbox_full_total", "counter",
	  "Posts refused because the worker's mailbox was full."),
	F(handovers_in, "rcsgw_engine_handovers_in_total", "counter",
	  "Connections adopted from other workers."),
	F(handovers_out, "rcsgw_engine_handovers_out_total", "counter",
	  "Connections handed to other workers."),
	F(bufs_total, "rcsgw_engine_buffers", "gauge", "Pool buffers allocated."),
	F(bufs_free, "rcsgw_engine_buffers_free", "gauge", "Pool buffers free."),
	F(bufs_posted, "rcsgw_engine_buffers_posted", "gauge",
	  "Pool buffers lent to the kernel's provided-buffer ring."),
	F(conn_limit, "rcsgw_engine_conn_limit_refused_total", "counter",
	  "Accepts refused at engine.max_conns."),
	F(tls_handshakes, "rcsgw_engine_tls_handshakes_total", "counter",
	  "TLS handshakes completed."),
	F(tls_failures, "rcsgw_engine_tls_failures_total", "counter", "TLS handshakes failed."),
};

#undef F

/* Every field of struct eng_stats is in the table (all are uint64_t). */
_Static_assert(sizeof(stat_fields) / sizeof(stat_fields[0]) ==
	       sizeof(struct eng_stats) / sizeof(uint64_t),
	       "a field of struct eng_stats is missing from stat_fields");

const struct api__stat_field *api__stat_fields(size_t *n)
{
	*n = sizeof(stat_fields) / sizeof(stat_fields[0]);
	return stat_fields;
}

/* ---- subsystems' readiness ------------------------------------------------------------------ */

#define SUBSYS_MAX 32
#define SUBSYS_NAME 32

struct subsys {
	char name[SUBSYS_NAME];
	api_ready_fn ready;
	void *arg;
};

static pthread_mutex_t subsys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct subsys subsys[SUBSYS_MAX];
static unsigned nsubsys;

int api_status_register(const char *name, api_ready_fn ready, void *arg)
{
	size_t len = name ? strlen(name) : 0;
	int rc = 0;

	if (len == 0 || len >= SUBSYS_NAME || strcmp(name, "engine") == 0 ||
	    strcmp(name, "api") == 0)
		return -EINVAL;
	pthread_mutex_lock(&subsys_lock);
	unsigned i = 0;
	while (i < nsubsys && strcmp(subsys[i].name, name) != 0)
		i++;
	if (!ready) {
		if (i < nsubsys)
			subsys[i] = subsys[--nsubsys];
	} else if (i == nsubsys && nsubsys == SUBSYS_MAX) {
		rc = -ENOSPC;
	} else {
		if (i == nsubsys)
			nsubsys++;
		memcpy(subsys[i].name, name, len + 1);
		subsys[i].ready = ready;
		subsys[i].arg = arg;
	}
	pthread_mutex_unlock(&subsys_lock);
	return rc;
}

/* Fills <obj> with "name": "ready"|"degraded"|"not_ready" for the registered subsystems;
 * returns 1 when none is not ready, and sets *<degraded> when one is. The callbacks run
 * outside the lock (one may register). */
static int subsys_json(json_t *obj, int *degraded)
{
	struct subsys copy[SUBSYS_MAX];
	unsigned n;
	int all = 1;

	pthread_mutex_lock(&subsys_lock);
	n = nsubsys;
	memcpy(copy, subsys, n * sizeof(copy[0]));
	pthread_mutex_unlock(&subsys_lock);
	*degraded = 0;
	for (unsigned i = 0; i < n; i++) {
		int v = copy[i].ready(copy[i].arg);
		all &= v != 0;
		*degraded |= v == API_DEGRADED;
		json_object_set_new(obj, copy[i].name,
				    json_string(v == API_DEGRADED ? "degraded" : v ? "ready"
										 : "not_ready"));
	}
	return all;
}

/* ---- GET /v1/status ------------------------------------------------------------------------ */

struct status_slot {
	struct eng_stats st;
	int cpu;
};

static void status_collect(eng_worker *w, void *slot, void *arg)
{
	struct status_slot *s = slot;
	(void)arg;
	eng_worker_stats(w, &s->st);
	s->cpu = eng_worker_cpu(w);
}

static void status_render(struct api_req *r, struct api_gather *g)
{
	eng_engine *e = api__engine();
	size_t nf;
	const struct api__stat_field *f = api__stat_fields(&nf);
	json_t *workers = json_array();
	json_t *subs = json_object();

	for (unsigned i = 0; i < api_gather_n(g); i++) {
		const struct status_slot *s = api_gather_slot(g, i);
		json_t *counters = json_object();
		for (size_t k = 0; k < nf; k++) {
			uint64_t v;
			memcpy(&v, (const char *)&s->st + f[k].off, sizeof(v));
			json_object_set_new(counters, f[k].json, json_integer((json_int_t)v));
		}
		json_array_append_new(workers,
				      json_pack("{s:i,s:o,s:I,s:o}", "index", (int)i, "cpu",
						s->cpu >= 0 ? json_integer(s->cpu) : json_null(),
						"connections", (json_int_t)s->st.conns,
						"counters", counters));
	}
	/* the engine answered on every worker, or this would be a 503 */
	json_object_set_new(subs, "engine", json_string("ready"));
	json_object_set_new(subs, "api", json_string("ready"));
	int degraded;
	int ready = subsys_json(subs, &degraded);

	api_reply_json(r, 200,
		       json_pack("{s:s,s:I,s:b,s:b,s:o,s:{s:s,s:s,s:o}}",
				 "version", RCSGW_VERSION,
				 "uptime_s", (json_int_t)(api__uptime_ms() / 1000),
				 "ready", ready, "degraded", degraded,
				 "subsystems", subs,
				 "engine",
				 "backend", eng_backend_name(e),
				 "backend_reason", eng_backend_reason(e),
				 "workers", workers));
}

void api__h_status(struct api_req *r)
{
	api_gather(r, sizeof(struct status_slot), status_collect, status_render, NULL, NULL);
}
