/* api_status.c — GET /v1/status: version, uptime, the subsystems' statuses (cm_sr.h), and
 * the engine's workers with their counters, read by each worker on its own thread
 * (api_gather); GET /v1/status/{group} and /v1/reports/{group}; /healthz and /readyz for
 * orchestrators; the event "status.changed". */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_events.h"
#include "common/cm_sr.h"
#include "common/cm_time.h"
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
	F(tls_handshake_timeouts, "rcsgw_engine_tls_handshake_timeouts_total", "counter",
	  "Accepted TLS connections cut off at engine.tls_handshake_timeout."),
	F(send_stalls, "rcsgw_engine_send_stalls_total", "counter",
	  "Connections closed because their peer read nothing for engine.send_timeout."),
	F(lingers, "rcsgw_engine_lingering_closes_total", "counter",
	  "Connections given up on (a broken stream) that were closed by shutting their write "
	  "side once the answer was out and dropping what the peer still sent, for up to 1 s."),
	F(profile_refused, "rcsgw_engine_profile_refused_total", "counter",
	  "Connections refused by a per-peer profile's no_new (engine.tcp_profiles)."),
	F(profile_timeouts, "rcsgw_engine_profile_timeouts_total", "counter",
	  "Connections aborted by a per-peer profile's connect or read timeout."),
	F(completions, "rcsgw_engine_completions_total", "counter",
	  "Completions reaped (io_uring CQEs; epoll: readiness events)."),
	F(mailbox_depth, "rcsgw_engine_mailbox_depth", "gauge",
	  "Messages waiting in the worker's mailbox when it was read."),
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

/* {"group","status","details","since","changes"} */
static json_t *status_json(const struct cm_sr_status *st)
{
	char since[40];
	cm_rfc3339_ms(st->since_ms, since, sizeof(since));
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "group", st->group,
			 "status", cm_sr_state_name(st->state), "details", st->details,
			 "since", since, "changes", (json_int_t)st->changes);
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
	/* the engine answered on every worker, or this would be a 503; the daemon's "engine"
	 * group, when set, says more */
	json_object_set_new(subs, "engine", json_string("ready"));
	json_object_set_new(subs, "api", json_string("ready"));
	struct cm_sr_status st[CM_SR_GROUPS_MAX];
	unsigned n = cm_sr_list(st, CM_SR_GROUPS_MAX);
	int ready = 1, degraded = 0;
	json_t *groups = json_array();
	for (unsigned i = 0; i < n && i < CM_SR_GROUPS_MAX; i++) {
		json_object_set_new(subs, st[i].group, json_string(cm_sr_state_name(st[i].state)));
		json_array_append_new(groups, status_json(&st[i]));
		ready &= st[i].state != CM_SR_NOT_READY;
		degraded |= st[i].state == CM_SR_DEGRADED;
	}
	api_reply_json(r, 200,
		       json_pack("{s:s,s:I,s:b,s:b,s:o,s:o,s:{s:s,s:s,s:o}}",
				 "version", RCSGW_VERSION,
				 "uptime_s", (json_int_t)(api__uptime_ms() / 1000),
				 "ready", ready, "degraded", degraded,
				 "subsystems", subs, "groups", groups,
				 "engine",
				 "backend", eng_backend_name(e),
				 "backend_reason", eng_backend_reason(e),
				 "workers", workers));
}

void api__h_status(struct api_req *r)
{
	cm_sr_poll();
	api_gather(r, sizeof(struct status_slot), status_collect, status_render, NULL, NULL);
}

/* ---- GET /v1/status/{group}, GET /v1/reports/{group} ------------------------------------- */

void api__h_status_group(struct api_req *r)
{
	const char *name = api_req_param(r, "group");
	struct cm_sr_status st;

	cm_sr_poll();
	if (cm_sr_get(name, &st) < 0) {
		api_reply_error(r, 404, "no such group: %s", name);
		return;
	}
	api_reply_json(r, 200, status_json(&st));
}

void api__h_reports(struct api_req *r)
{
	const char *name = api_req_param(r, "group");
	struct cm_sr_report rep[CM_SR_REPORTS];
	uint64_t after = 0, limit = CM_SR_REPORTS;

	if (api_query_uint(r, "after", UINT64_MAX, &after) < 0 ||
	    api_query_uint(r, "limit", UINT64_MAX, &limit) < 0)
		return;
	cm_sr_poll();
	int n = cm_sr_reports(name, after, rep, limit < CM_SR_REPORTS ? (unsigned)limit
								  : CM_SR_REPORTS);
	if (n < 0) {
		api_reply_error(r, 404, "no such group: %s", name);
		return;
	}
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		char ts[40];
		cm_rfc3339_ms(rep[i].time_ms, ts, sizeof(ts));
		json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s}", "seq",
						   (json_int_t)rep[i].seq, "timestamp", ts,
						   "level", cm_sr_level_name(rep[i].level),
						   "message", rep[i].text));
	}
	api_reply_json(r, 200, json_pack("{s:s,s:o}", "group", name, "reports", a));
}

/* ---- /healthz, /readyz ------------------------------------------------------------------- */

static void alive_collect(eng_worker *w, void *slot, void *arg)
{
	(void)w;
	(void)slot;
	(void)arg;
}

static void alive_render(struct api_req *r, struct api_gather *g)
{
	(void)g;
	api_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "alive", "uptime_s",
					 (json_int_t)(api__uptime_ms() / 1000)));
}

/* Alive: every worker runs its loop (one that does not answer in API_GATHER_TIMEOUT_MS makes
 * it 503). */
void api__h_healthz(struct api_req *r)
{
	api_gather(r, 1, alive_collect, alive_render, NULL, NULL);
}

/* Ready: no group is not ready. 503 lists those that are not. */
void api__h_readyz(struct api_req *r)
{
	struct cm_sr_status st[CM_SR_GROUPS_MAX];
	char msg[256] = "";
	size_t len = 0;

	/* no poll here: the route is public, and the api thread polls every
	 * API_STATUS_POLL_MS anyway */
	unsigned n = cm_sr_list(st, CM_SR_GROUPS_MAX);
	json_t *not_ready = json_array();
	for (unsigned i = 0; i < n && i < CM_SR_GROUPS_MAX; i++)
		if (st[i].state == CM_SR_NOT_READY) {
			json_array_append_new(not_ready, json_string(st[i].group));
			if (len < sizeof(msg))
				len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s",
							len ? ", " : "", st[i].group);
		}
	if (json_array_size(not_ready) == 0) {
		json_decref(not_ready);
		api_reply_json(r, 200, json_pack("{s:b}", "ready", 1));
		return;
	}
	api_reply_json(r, 503, json_pack("{s:b,s:o,s:{s:i,s:s+}}", "ready", 0, "not_ready",
					 not_ready, "error", "code", 503, "message",
					 "not ready: ", msg));
}

/* ---- the event "status.changed" ------------------------------------------------------------ */

/* Not for the group "webhooks": the event would go to the failing URL itself, and each of
 * its flips would add to what it owes; its reports say it. */
static void on_change(const char *group, enum cm_sr_state from, enum cm_sr_state to,
		      const char *details, void *arg)
{
	(void)arg;
	if (strcmp(group, "webhooks") == 0)
		return;
	api_event_publish(json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "status.changed",
				    "group", group, "status", cm_sr_state_name(to),
				    "previous", cm_sr_state_name(from), "details", details));
}

void api__status_start(void)
{
	cm_sr_on_change(on_change, NULL);
}

void api__status_stop(void)
{
	cm_sr_on_change(NULL, NULL);
}
