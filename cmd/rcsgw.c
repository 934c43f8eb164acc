/* rcsgw — the daemon: config, engine, control plane, signals.
 *
 *   rcsgw [-c FILE] [--check-config [-v]] [--version] [--help]
 *
 * Exit codes: 0 clean stop, 1 start-up failure, 2 bad command line or configuration. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_events.h"
#include "api/api_caps.h"
#include "api/api_gateway.h"
#include "api/api_cc.h"
#include "api/api_diameter.h"
#include "api/api_sessions.h"
#include "common/cm_config.h"
#include "common/cm_log.h"
#include "common/cm_sr.h"
#include "callcenter/cc_svc.h"
#include "diameter/dm_node.h"
#include "diameter/dm_svc.h"
#include "common/cm_version.h"
#include "engine/eng.h"
#include "engine/eng_hep.h"
#include "engine/eng_http.h"
#include "engine/eng_profile.h"
#include "engine/eng_tls.h"
#include "gateway/gw_caps.h"
#include "gateway/gw_files.h"
#include "gateway/gw_page.h"
#include "gateway/gw_pager.h"
#include "gateway/gw_ua.h"
#include "msrp/msrp_auth.h"
#include "msrp/msrp_conn.h"
#include "msrp/msrp_creds_src.h"
#include "msrp/msrp_egress.h"
#include "msrp/msrp_relay.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_parse.h"
#include "msrp/msrp_svc.h"
#include "shards/sh_bus.h"
#include "sip/sip_parse.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn.h"
#include "shards/sh_cluster.h"
#include "shards/sh_repl.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rcsgw [-c FILE] [--check-config [-v]] [--version] [--help]\n"
		"\n"
		"  -c, --config FILE   configuration file (libconfig syntax; see etc/rcsgw.conf).\n"
		"                      Without it rcsgw runs on its embedded defaults.\n"
		"      --check-config  load and validate the configuration, then exit\n"
		"                      (0 valid, 2 invalid); with -v print the effective config\n"
		"  -v, --verbose       with --check-config: print the effective configuration\n"
		"      --version       print the version and exit\n"
		"  -h, --help          this text\n"
		"\n"
		"Every key can be overridden by an environment variable RCSGW_<SECTION>_<KEY>,\n"
		"e.g. RCSGW_API_LISTEN=127.0.0.1:9000 or RCSGW_ENGINE_BACKEND=epoll.\n"
		"Signals: SIGTERM drains (stop accepting, let connections finish and the events\n"
		"held for webhooks go out, up to engine.drain_timeout), SIGINT stops at once\n"
		"(so does a second SIGTERM during the drain), SIGHUP reloads the logging, the\n"
		"relay's credentials and egress rules, the webhooks and cc.definitions, and names\n"
		"the changed keys that need a restart (GET /v1/reports/config).\n");
}

/* engine.tcp_profiles, parsed (read by eng_create, which copies them) */
static struct eng_profile profiles[ENG_PROFILES_MAX];

static int eng_config_from(struct eng_config *ec, const struct cm_config *cfg, char *err,
			   size_t errlen)
{
	eng_config_defaults(ec);
	switch (cfg->engine.backend) {
	case CM_BACKEND_IO_URING: ec->backend = ENG_BACKEND_IO_URING; break;
	case CM_BACKEND_EPOLL: ec->backend = ENG_BACKEND_EPOLL; break;
	default: ec->backend = ENG_BACKEND_AUTO; break;
	}
	ec->workers = (unsigned)cfg->engine.workers;
	ec->pin = cfg->engine.pin;
	ec->buf_size = (uint32_t)cfg->engine.buffer_size;
	ec->bufs_max = (uint32_t)cfg->engine.buffers_max;
	ec->buf_ring_entries = (uint32_t)cfg->engine.buffer_ring_entries;
	ec->ring_entries = (uint32_t)cfg->engine.ring_entries;
	ec->sendq_high = (uint32_t)cfg->engine.sendq_high;
	ec->sendq_low = (uint32_t)cfg->engine.sendq_low;
	ec->mailbox_size = (uint32_t)cfg->engine.mailbox_size;
	ec->timer_tick_ms = (uint32_t)cfg->engine.timer_tick_ms;
	ec->max_conns = (uint32_t)cfg->engine.max_conns;
	ec->tls_handshake_ms = (uint32_t)cfg->engine.tls_handshake_timeout_ms;
	ec->frame_ms = (uint32_t)cfg->engine.frame_timeout_ms;
	ec->send_stall_ms = (uint32_t)cfg->engine.send_timeout_ms;
	const struct cm_strlist *l = &cfg->engine.tcp_profiles;
	if (l->n > ENG_PROFILES_MAX) {
		snprintf(err, errlen, "engine.tcp_profiles: %zu rules, at most %d", l->n,
			 ENG_PROFILES_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n; i++) {
		char why[160];
		if (eng_profile_parse(l->v[i], &profiles[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "engine.tcp_profiles \"%s\": %s", l->v[i], why);
			return -EINVAL;
		}
	}
	ec->profiles = profiles;
	ec->nprofiles = (unsigned)l->n;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What each worker runs, filled on its own thread by worker_init. */
struct worker_ctx {
	struct msrp_svc *msrp;
	struct gw_ua *ua;
	struct gw_page *page;
	struct gw_caps *caps;
	int cluster_failed;
	int diameter_failed;
	int cc_failed;
	char err[256];
};

static struct {
	const struct cm_config *cfg;
	struct msrp_svc_cfg msrp;
	struct msrp_creds creds;            /* relay.credentials_file */
	struct msrp_creds *creds_now;       /* what the workers use: &creds, or a reload's */
	struct msrp_creds_src_cfg creds_cfg;
	struct msrp_relay_shared *relay;
	struct msrp_egress_rules *egress;
	struct gw_ua_shared *ua;
	struct gw_page_shared *page;
	struct gw_pager_shared *pager;
	struct gw_files *files;
	struct sh_cluster *cluster;         /* redis.url set: the node's link and heartbeat */
	struct dm_svc *dm;                  /* diameter.origin_host set: the Diameter node */
	struct cc_svc *cc;                  /* cc.enabled: the contact centre */
	_Atomic unsigned cluster_stopped;   /* workers that let their part go */
	struct worker_ctx *w;
	unsigned n;
	_Atomic unsigned inited;
	struct eng_hep_shared *hep;         /* trace.collector set: HEP tracing (not reloaded) */
	const char *path;                   /* -c FILE, NULL: the embedded defaults */
	int relay_keep_old;                 /* a reload a worker did not take in time: the
					     * relay's old credentials and rules are never freed */
} app;

static void worker_init(eng_worker *w, void *arg)
{
	struct worker_ctx *x = &app.w[eng_worker_index(w)];
	(void)arg;
	/* first: the protocol layers take the worker's tracer when they start */
	int hrc = app.hep ? eng_hep_start(w, app.hep) : 0;
	if (hrc < 0)
		CM_WARN("worker %u: trace: %s (no tracing there)", eng_worker_index(w),
			strerror(-hrc));
	x->msrp = msrp_svc_start(w, &app.msrp, x->err, sizeof(x->err));
	if (x->msrp && app.ua)
		x->ua = gw_ua_start(app.ua, w, x->msrp, x->err, sizeof(x->err));
	if (x->ua && app.page && !(x->page = gw_page_start(app.page, x->ua)))
		snprintf(x->err, sizeof(x->err), "gateway: out of memory");
	if (x->ua && gw_ua_enabled(app.ua) && !(x->caps = gw_caps_start(app.cfg, w, x->ua)))
		snprintf(x->err, sizeof(x->err), "capabilities: out of memory");
	if (app.cluster && sh_cluster_start(app.cluster, w,
					    x->ua && gw_ua_enabled(app.ua) ? x->ua : NULL,
					    x->msrp ? msrp_svc_relay_of(x->msrp) : NULL) < 0) {
		snprintf(x->err, sizeof(x->err), "cluster: out of memory");
		x->cluster_failed = 1;
	}
	if (app.dm && dm_svc_worker_start(app.dm, w, x->err, sizeof(x->err)) < 0)
		x->diameter_failed = 1;
	if (app.cc && x->ua && cc_svc_worker_start(app.cc, w, x->ua, x->err, sizeof(x->err)) < 0)
		x->cc_failed = 1;
	CM_DEBUG("worker %u up on cpu %d", eng_worker_index(w), eng_worker_cpu(w));
	atomic_fetch_add(&app.inited, 1);
}

/* The HEP tracing counters of each worker for /metrics (runs on the worker). */
static const struct api_metric_def hep_metrics[] = {
	{ "rcsgw_trace_hep_sent_total", "counter", "HEP packets sent to trace.collector." },
	{ "rcsgw_trace_hep_dropped_total", "counter", "HEP packets the kernel refused (lost)." },
	{ "rcsgw_trace_hep_filtered_total", "counter", "Messages not traced: peer outside trace.peers." },
	{ "rcsgw_trace_hep_cut_total", "counter", "Messages traced cut to fit one HEP packet." },
};

static void hep_collect(eng_worker *w, uint64_t *v, void *arg)
{
	eng_hep *h = eng_worker_hep(w);
	(void)arg;
	if (!h)
		return;
	const struct eng_hep_stats *st = eng_hep_stats(h);
	v[0] = st->sent;
	v[1] = st->dropped;
	v[2] = st->filtered;
	v[3] = st->cut;
}

/* The MSRP counters of each worker for /metrics (runs on the worker). */
static const struct api_metric_def msrp_metrics[] = {
	{ "rcsgw_msrp_connections_total", "counter", "MSRP connections opened." },
	{ "rcsgw_msrp_requests_in_total", "counter", "MSRP requests received." },
	{ "rcsgw_msrp_responses_out_total", "counter", "MSRP responses sent." },
	{ "rcsgw_msrp_answered_501_total", "counter", "Requests of unknown methods answered 501." },
	{ "rcsgw_msrp_stream_errors_total", "counter", "MSRP streams closed as malformed or over a limit." },
	{ "rcsgw_msrp_head_timeouts_total", "counter", "MSRP connections cut off for a slow frame head." },
	{ "rcsgw_msrp_idle_closed_total", "counter", "MSRP connections closed for inactivity." },
	{ "rcsgw_msrp_txn_timeouts_total", "counter", "MSRP requests that got no response in time (local 408)." },
	{ "rcsgw_msrp_frames_in_total", "counter", "MSRP frames parsed." },
	{ "rcsgw_msrp_parse_errors_syntax_total", "counter", "Frames refused as malformed (400)." },
	{ "rcsgw_msrp_parse_errors_limit_total", "counter", "Frames over a line, header or head limit." },
	{ "rcsgw_msrp_parse_errors_body_total", "counter", "Frames whose body passed msrp.max_chunk (413)." },
	{ "rcsgw_msrp_ws_upgrades_total", "counter", "WebSocket connections opened (RFC 7977)." },
	{ "rcsgw_msrp_ws_refused_total", "counter", "WebSocket upgrades refused with an HTTP error." },
	{ "rcsgw_msrp_ws_too_big_total", "counter", "WebSocket messages over msrp.ws_max_message (1009)." },
	{ "rcsgw_msrp_ws_protocol_errors_total", "counter", "WebSocket connections failed by the frame layer." },
	{ "rcsgw_msrp_ws_split_frames_total", "counter", "WebSocket messages that ended inside an MSRP frame." },
};

static void msrp_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	(void)arg;
	if (!x->msrp)
		return;
	const struct msrp_conn_stats *c = msrp_svc_conn_stats(x->msrp);
	const struct msrp_parse_stats *p = msrp_svc_parse_stats(x->msrp);
	v[0] = c->conns;
	v[1] = c->requests_in;
	v[2] = c->responses_out;
	v[3] = c->answered_501;
	v[4] = c->stream_errors;
	v[5] = c->head_timeouts;
	v[6] = c->idle_closed;
	v[7] = c->txn_timeouts;
	v[8] = p->frames;
	v[9] = p->errors[MSRP_PE_SYNTAX] + p->errors[MSRP_PE_SEMANTIC];
	v[10] = p->errors[MSRP_PE_LINE] + p->errors[MSRP_PE_HEADERS] + p->errors[MSRP_PE_HEAD];
	v[11] = p->errors[MSRP_PE_BODY];
	const struct msrp_ws_stats *ws = msrp_svc_ws_stats(x->msrp);
	v[12] = ws->upgrades;
	v[13] = ws->refused + ws->head_too_big;
	v[14] = ws->msg_too_big;
	v[15] = ws->proto_errors;
	v[16] = c->ws_split_frames;
}

/* ---- labeled per-worker families (issue 11): rows made at start from the layers' tables -- */

static const char *const dirs_in_out[] = { "in", "out", NULL };

/* The MSRP connection counters of worker <w> (on its thread), or NULL: no MSRP there. */
static const struct msrp_conn_stats *msrp_conn_stats_of(eng_worker *w)
{
	struct msrp_svc *m = app.w[eng_worker_index(w)].msrp;
	return m ? msrp_svc_conn_stats(m) : NULL;
}

/* MSRP requests by method and responses by status, each way (runs on the worker): the
 * rows' order of traffic_register. */
static void msrp_traffic_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct msrp_conn_stats *c = msrp_conn_stats_of(w);
	(void)arg;
	if (c) {
		memcpy(v, c->req_method, sizeof(c->req_method));
		memcpy(v + 2 * MSRP_CONN_METHODS, c->resp_code, sizeof(c->resp_code));
	}
}

/* SIP requests by method and responses by status, each way (runs on the worker), in the
 * rows' order of traffic_register. */
static void sip_traffic_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct sip_transport_stats *t = gw_ua_sip_transport_stats(app.w[eng_worker_index(w)].ua);
	(void)arg;
	if (t) {
		memcpy(v, t->req_method, sizeof(t->req_method));
		memcpy(v + 2 * SIP_TP_METHODS, t->resp_code, sizeof(t->resp_code));
	}
}

/* The two families of a protocol's messages, <name>[0] (requests by method) and <name>[1]
 * (responses by code), each way, with their <help>: <collect> writes the requests'
 * counters ([2][<nmethods>]), then the responses' ([2][<ncodes>]). */
static int traffic_register(const char *const name[2], const char *const help[2],
			    const char *const *methods, unsigned nmethods,
			    const char *const *codes, unsigned ncodes, api_metrics_worker_fn collect)
{
	struct api_metric_series *r = api_metrics_rows(name[0], "counter", help[0], "direction",
						       dirs_in_out, "method", methods, nmethods);
	if (!r || !api_metrics_rows(name[1], "counter", help[1], "direction", dirs_in_out, "code",
				    codes, ncodes))
		return -ENOSPC;
	return api_metrics_register_worker_series(r, 2 * (nmethods + ncodes), collect, NULL);
}

/* ---- parse errors by protocol and reason, limits that refused something ------------------- */

static const char *const ws_errors[] = { "protocol", "bad_upgrade" };
static const char *const dm_errors[] = { "malformed" };

/* The limits of rcsgw_limit_hits_total, in the order limits_collect writes them. */
enum {
	L_MAX_CONNS, L_MAILBOX, L_MSRP_LINE, L_MSRP_HEADERS, L_MSRP_HEAD, L_MSRP_CHUNK,
	L_MSRP_TXNS, L_WS_MESSAGE, L_MSRP_MESSAGE, L_MSRP_CHUNKS, L_SIP_MESSAGE, L_SIP_TXNS,
	L_UA_SESSIONS, L_UA_QUEUED, L_RELAY_SESSIONS, L_RELAY_USER, L_RELAY_IP, L_GW_QUEUED,
	L_DM_INCOMING, L_DM_PENDING, L_CC_WAITING, L_CC_HELD, L_EVENT_QUEUE, L_SSE_CLIENTS,
	L__COUNT
};
static const char *const limit_names[L__COUNT] = {
	"engine.max_conns", "engine.mailbox_size", "msrp.max_line", "msrp.max_headers",
	"msrp.max_head", "msrp.max_chunk", "msrp.max_transactions", "msrp.ws_max_message",
	"msrp.max_message", "msrp.max_chunks", "sip.max_message", "sip.max_transactions",
	"ua.max_sessions", "ua.max_queued", "relay.max_sessions", "relay.max_sessions_per_user",
	"relay.max_sessions_per_ip", "gateway.max_queued", "diameter.max_incoming",
	"diameter.max_pending", "cc.max_waiting", "cc.max_held", "api.event_queue",
	"api.sse_max_clients",
};
#define NPARSE_ERRORS (MSRP_PE__COUNT - 1 + SIP_PE__COUNT - 1 + 1 + 2)

/* Parse errors by protocol and reason, then the limits (runs on the worker; the process-
 * wide limits, the contact centre's and the API's, on worker 0 alone). */
static void limits_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	const struct msrp_parse_stats *mp = x->msrp ? msrp_svc_parse_stats(x->msrp) : NULL;
	const struct msrp_ws_stats *ws = x->msrp ? msrp_svc_ws_stats(x->msrp) : NULL;
	const struct msrp_conn_stats *mc = x->msrp ? msrp_svc_conn_stats(x->msrp) : NULL;
	const struct msrp_relay *r = x->msrp ? msrp_svc_relay(x->msrp) : NULL;
	const struct sip_parse_stats *sp = gw_ua_sip_parse_stats(x->ua);
	const struct sip_txn_stats *stx = gw_ua_sip_txn_stats(x->ua);
	struct dm_node *dn = app.dm && eng_worker_index(w) == DM_SVC_WORKER ? dm_svc_node(app.dm)
									  : NULL;
	struct dm_node_stats ds = { 0 };
	struct eng_stats es;
	struct gw_ua_stats us = { 0 };
	struct gw_page_stats ps = { 0 };
	uint64_t *l = v + NPARSE_ERRORS;
	(void)arg;
	if (mp)
		memcpy(v, mp->errors + 1, (MSRP_PE__COUNT - 1) * sizeof(*v));
	v += MSRP_PE__COUNT - 1;
	if (sp)
		memcpy(v, sp->errors + 1, (SIP_PE__COUNT - 1) * sizeof(*v));
	v += SIP_PE__COUNT - 1;
	if (dn)
		dm_node_stats(dn, &ds);
	*v++ = ds.malformed;
	*v++ = ws ? ws->proto_errors : 0;
	*v++ = ws ? ws->refused + ws->head_too_big : 0;

	eng_worker_stats(w, &es);
	if (x->ua)
		gw_ua_stats(x->ua, &us);
	if (x->page)
		gw_page_stats(x->page, &ps);
	l[L_MAX_CONNS] = es.conn_limit;
	l[L_MAILBOX] = es.mailbox_full;
	if (mp) {
		l[L_MSRP_LINE] = mp->errors[MSRP_PE_LINE];
		l[L_MSRP_HEADERS] = mp->errors[MSRP_PE_HEADERS];
		l[L_MSRP_HEAD] = mp->errors[MSRP_PE_HEAD];
		l[L_MSRP_CHUNK] = mp->errors[MSRP_PE_BODY];
		l[L_MSRP_TXNS] = mc->txn_limit;
		l[L_WS_MESSAGE] = ws->msg_too_big;
	}
	l[L_MSRP_MESSAGE] = us.msrp_too_big;
	l[L_MSRP_CHUNKS] = us.msrp_too_many_chunks;
	l[L_SIP_MESSAGE] = sp ? sp->errors[SIP_PE_SIZE] : 0;
	l[L_SIP_TXNS] = stx ? stx->refused : 0;
	l[L_UA_SESSIONS] = us.limited_sessions;
	l[L_UA_QUEUED] = us.limited_queued;
	if (r) {
		const struct msrp_relay_stats *rs = msrp_relay_stats(r);
		l[L_RELAY_SESSIONS] = rs->limited_sessions;
		l[L_RELAY_USER] = rs->limited_user;
		l[L_RELAY_IP] = rs->limited_ip;
	}
	l[L_GW_QUEUED] = ps.queue_limit;
	l[L_DM_INCOMING] = ds.too_busy_in;
	l[L_DM_PENDING] = ds.busy_out;
	if (eng_worker_index(w) == 0) {
		struct cc_svc_stats cs = { 0 };
		if (app.cc)
			cc_svc_stats(app.cc, &cs);
		l[L_CC_WAITING] = cs.chats_refused_max_waiting;
		l[L_CC_HELD] = cs.held_overflow;
		api_events_limit_hits(&l[L_EVENT_QUEUE], &l[L_SSE_CLIENTS]);
	}
}

static int limits_register(void)
{
	const char *help = "Messages and streams refused as malformed, by protocol and reason.";
	struct api_metric_series *r = api_metrics_rows(
		"rcsgw_parse_errors_total", "counter", help, "protocol",
		(const char *const[]){ "msrp", NULL }, "reason", msrp_perr_names + 1,
		MSRP_PE__COUNT - 1);
	if (!r ||
	    !api_metrics_rows("rcsgw_parse_errors_total", "counter", help, "protocol",
			      (const char *const[]){ "sip", NULL }, "reason", sip_perr_names + 1,
			      SIP_PE__COUNT - 1) ||
	    !api_metrics_rows("rcsgw_parse_errors_total", "counter", help, "protocol",
			      (const char *const[]){ "diameter", NULL }, "reason", dm_errors, 1) ||
	    !api_metrics_rows("rcsgw_parse_errors_total", "counter", help, "protocol",
			      (const char *const[]){ "websocket", NULL }, "reason", ws_errors, 2) ||
	    !api_metrics_rows("rcsgw_limit_hits_total", "counter",
			      "Things refused because a configured limit was reached, by limit.",
			      NULL, NULL, "limit", limit_names, L__COUNT))
		return -ENOSPC;
	return api_metrics_register_worker_series(r, NPARSE_ERRORS + L__COUNT, limits_collect,
						  NULL);
}

/* ---- slow peers (slowloris) cut off, by listener and phase ---------------------------------- */

/* The rows of rcsgw_slow_closed_total, in the order slow_collect writes them. */
static const struct {
	const char *listener;
	const char *phases[3];     /* NULL-ended */
} slow_rows[] = {
	{ "msrp", { "head", "body", NULL } },  /* msrp.head_timeout, msrp.body_timeout and
						* body_min_rate (TCP, TLS, WebSocket) */
	{ "msrp_ws", { "upgrade", NULL } },    /* the WebSocket upgrade's deadline */
	{ "sip", { "head", "body", NULL } },   /* engine.frame_timeout */
	{ "diameter", { "frame", NULL } },     /* engine.frame_timeout */
	{ "tls", { "handshake", NULL } },      /* engine.tls_handshake_timeout, any listener */
	{ "api", { "head", "body", NULL } },   /* api.head_timeout */
	{ "any", { "send", NULL } },           /* engine.send_timeout: a peer not reading */
};

static void slow_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	const struct msrp_conn_stats *mc = x->msrp ? msrp_svc_conn_stats(x->msrp) : NULL;
	const struct msrp_ws_stats *ws = x->msrp ? msrp_svc_ws_stats(x->msrp) : NULL;
	const struct sip_transport_stats *t = gw_ua_sip_transport_stats(x->ua);
	struct eng_stats es;
	(void)arg;
	v[0] = mc ? mc->head_timeouts : 0;
	v[1] = mc ? mc->body_timeouts : 0;
	v[2] = ws ? ws->handshake_timeouts : 0;
	v[3] = t ? t->slow_head : 0;
	v[4] = t ? t->slow_body : 0;
	if (app.dm && eng_worker_index(w) == DM_SVC_WORKER) {
		struct dm_node_stats ds;
		dm_node_stats(dm_svc_node(app.dm), &ds);
		v[5] = ds.slow_frames;
	}
	eng_worker_stats(w, &es);
	v[6] = es.tls_handshake_timeouts;
	if (eng_worker_index(w) == 0)
		api_slow_closed(&v[7], &v[8]); /* the api thread's, process-wide */
	v[9] = es.send_stalls;
}

static int slow_register(void)
{
	const char *help = "Connections cut off for being too slow (slowloris): a TLS handshake, "
			   "a frame's head or body, an upgrade not done within its deadline.";
	struct api_metric_series *first = NULL;
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(slow_rows) / sizeof(slow_rows[0]); i++) {
		unsigned k = 0;
		while (slow_rows[i].phases[k])
			k++;
		struct api_metric_series *r = api_metrics_rows(
			"rcsgw_slow_closed_total", "counter", help, "listener",
			(const char *const[]){ slow_rows[i].listener, NULL }, "phase",
			slow_rows[i].phases, k);
		if (!r)
			return -ENOSPC;
		if (!first)
			first = r;
		n += k;
	}
	return api_metrics_register_worker_series(first, n, slow_collect, NULL);
}

/* ---- sessions by kind and state (counted at each scrape, walking the workers' tables) ---- */

static const char *const relay_states[] = { "active" };
static const char *const pair_states[] = { "connecting", "established" };
static struct {
	int ua, relay, gateway;        /* the kinds registered, in this order */
} session_kinds;

static void sessions_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	uint32_t n[GW_UA_STATES] = { 0 };
	(void)arg;
	if (session_kinds.ua) {
		if (x->ua)
			gw_ua_count_states(x->ua, n);
		for (unsigned i = 0; i < GW_UA_STATES; i++)
			*v++ = n[i];
	}
	if (session_kinds.relay) {
		const struct msrp_relay *r = x->msrp ? msrp_svc_relay(x->msrp) : NULL;
		*v++ = r ? msrp_relay_sessions(r) : 0;
	}
	if (session_kinds.gateway) {
		n[0] = n[1] = 0;
		if (x->page)
			gw_page_count_pairs(x->page, &n[1], &n[0]);
		*v++ = n[0];
		*v++ = n[1];
	}
}

/* rcsgw_sessions: the rows of the kinds that run here, in sessions_collect's order. */
static int sessions_register(void)
{
	session_kinds.ua = app.ua != NULL;
	session_kinds.relay = app.relay != NULL;
	session_kinds.gateway = app.page != NULL;
	const struct {
		int on;
		const char *kind;
		const char *const *states;
		unsigned n;
	} k[] = {
		{ session_kinds.ua, "ua", gw_ua_state_names, GW_UA_STATES },
		{ session_kinds.relay, "relay", relay_states, 1 },
		{ session_kinds.gateway, "gateway", pair_states, 2 },
	};
	struct api_metric_series *first = NULL;
	unsigned n = 0;
	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (!k[i].on)
			continue;
		struct api_metric_series *r = api_metrics_rows(
			"rcsgw_sessions", "gauge", "Sessions now, by kind and state.", "kind",
			(const char *const[]){ k[i].kind, NULL }, "state", k[i].states, k[i].n);
		if (!r)
			return -ENOSPC;
		first = first ? first : r;
		n += k[i].n;
	}
	return n ? api_metrics_register_worker_series(first, n, sessions_collect, NULL) : 0;
}

/* The latency histograms of each worker, summed over the workers by the API. */
static const struct api_metric_hist latency_hists[] = {
	{ "rcsgw_msrp_transaction_duration_seconds",
	  "MSRP requests of ours from their send to their response.", "" },
	{ "rcsgw_sip_transaction_duration_seconds",
	  "SIP client transactions from the request's first send to its final response: "
	  "INVITE (call set-up) and the other methods.", "kind=\"invite\"" },
	{ "rcsgw_sip_transaction_duration_seconds", "", "kind=\"non_invite\"" },
};

static void latency_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct msrp_conn_stats *c = msrp_conn_stats_of(w);
	const struct sip_txn_stats *t = gw_ua_sip_txn_stats(app.w[eng_worker_index(w)].ua);
	(void)arg;
	if (c)
		api_metrics_hist_put(v, &c->txn_rtt);
	if (t) {
		api_metrics_hist_put(v + API_HIST_VALS, &t->invite_setup);
		api_metrics_hist_put(v + 2 * API_HIST_VALS, &t->non_invite);
	}
}

/* The relay's counters of each worker for /metrics (runs on the worker). */
static const struct api_metric_def relay_metrics[] = {
	{ "rcsgw_relay_auth_challenged_total", "counter", "AUTHs answered 401 with a Digest challenge." },
	{ "rcsgw_relay_auth_ok_total", "counter", "AUTHs accepted (200 with Use-Path)." },
	{ "rcsgw_relay_auth_failed_total", "counter", "AUTHs with wrong credentials." },
	{ "rcsgw_relay_auth_stale_total", "counter", "AUTHs with an expired nonce (401 stale=true)." },
	{ "rcsgw_relay_auth_bad_total", "counter", "AUTHs refused as malformed (400)." },
	{ "rcsgw_relay_auth_refused_total", "counter", "AUTHs refused after too many failures (403)." },
	{ "rcsgw_relay_auth_423_total", "counter", "AUTHs whose Expires was out of bounds (423)." },
	{ "rcsgw_relay_auth_limited_total", "counter", "AUTHs refused by a session limit (403)." },
	{ "rcsgw_relay_auth_no_credentials_total", "counter", "AUTHs refused for want of credentials (403)." },
	{ "rcsgw_relay_auth_forwarded_total", "counter", "AUTHs forwarded to a relay further out." },
	{ "rcsgw_relay_sessions", "gauge", "Relay sessions alive." },
	{ "rcsgw_relay_sessions_expired_total", "counter", "Relay sessions ended by their Expires." },
	{ "rcsgw_relay_forwarded_total", "counter", "Requests forwarded." },
	{ "rcsgw_relay_forwarded_cross_worker_total", "counter", "Request pieces sent to another worker." },
	{ "rcsgw_relay_forwarded_to_peers_total", "counter", "Requests forwarded to peers (pool)." },
	{ "rcsgw_relay_forwarded_bytes_total", "counter", "Body bytes forwarded." },
	{ "rcsgw_relay_rechunked_total", "counter", "Extra pieces made by re-chunking." },
	{ "rcsgw_relay_refused_481_total", "counter", "Requests for unknown sessions (481)." },
	{ "rcsgw_relay_refused_403_total", "counter", "Requests not allowed (403)." },
	{ "rcsgw_relay_refused_400_total", "counter", "Requests with unusable paths (400)." },
	{ "rcsgw_relay_next_hop_errors_total", "counter", "Error responses of next hops." },
	{ "rcsgw_relay_next_hop_timeouts_total", "counter", "Forwarded requests without response (408)." },
	{ "rcsgw_relay_reports_sent_total", "counter", "Failure REPORTs sent." },
	{ "rcsgw_relay_reports_lost_total", "counter", "Failure REPORTs whose connection was gone." },
	{ "rcsgw_relay_queued_total", "counter", "Frames that waited for a busy destination." },
	{ "rcsgw_relay_cross_dropped_total", "counter", "Pieces lost to a full mailbox (REPORT 403)." },
	{ "rcsgw_relay_handovers_out_total", "counter", "Connections handed to their session's worker." },
	{ "rcsgw_relay_handovers_in_total", "counter", "Connections taken over from another worker." },
	{ "rcsgw_relay_resumed_total", "counter", "Sessions of a dead node bound again by their client's AUTH here (same URI)." },
	{ "rcsgw_relay_resume_refused_total", "counter", "AUTHs naming a session that could not be resumed here (a new session was given)." },
	{ "rcsgw_relay_forwarded_to_nodes_total", "counter", "Request pieces sent to the node that owns their session (cluster)." },
	{ "rcsgw_relay_forwarded_from_nodes_total", "counter", "Request pieces taken from other nodes for sessions of this one." },
	{ "rcsgw_relay_node_failed_total", "counter", "Pieces sent to other nodes that came to nothing (no owner, no answer, not sent)." },
	{ "rcsgw_relay_node_malformed_total", "counter", "Pieces or REPORTs from other nodes that did not decode." },
	{ "rcsgw_relay_aborted_total", "counter", "Frames whose sender went before their end line: what was forwarded ended with '#'." },
};

static void relay_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	(void)arg;
	const struct msrp_relay *r = x->msrp ? msrp_svc_relay(x->msrp) : NULL;
	if (!r)
		return;
	const struct msrp_relay_stats *s = msrp_relay_stats(r);
	const uint64_t vals[] = {
		s->auth_challenged, s->auth_ok, s->auth_failed, s->auth_stale, s->auth_bad,
		s->auth_refused, s->auth_423, s->auth_limited, s->auth_no_creds, s->auth_forwarded,
		msrp_relay_sessions(r), s->sessions_expired, s->fwd_requests, s->fwd_cross_out,
		s->fwd_pool, s->fwd_bytes, s->rechunked, s->refused_481, s->refused_403,
		s->refused_400, s->next_hop_errors, s->next_hop_timeouts, s->reports_sent,
		s->reports_lost, s->queued, s->cross_dropped, s->handed_out, s->handed_in,
		s->resumed, s->resume_refused, s->fwd_node_out, s->fwd_node_in, s->node_failed,
		s->node_malformed, s->aborted,
	};
	_Static_assert(sizeof(vals) / sizeof(vals[0]) ==
		       sizeof(relay_metrics) / sizeof(relay_metrics[0]), "one value per metric");
	memcpy(v, vals, sizeof(vals));
}

/* The user agent's and SIP's counters of each worker for /metrics (runs on the worker). */
static const struct api_metric_def ua_metrics[] = {
	{ "rcsgw_ua_sessions", "gauge", "User-agent sessions not over yet (ended ones linger apart)." },
	{ "rcsgw_ua_sessions_outgoing_total", "counter", "Sessions started by the API (INVITE sent)." },
	{ "rcsgw_ua_sessions_incoming_total", "counter", "Sessions offered by INVITEs." },
	{ "rcsgw_ua_sessions_established_total", "counter", "Sessions whose MSRP session was bound." },
	{ "rcsgw_ua_sessions_failed_total", "counter", "Sessions that never came up." },
	{ "rcsgw_ua_sessions_ended_total", "counter", "Sessions ended after coming up (or cancelled)." },
	{ "rcsgw_ua_messages_sent_total", "counter", "Messages sent in sessions (MSRP)." },
	{ "rcsgw_ua_messages_received_total", "counter", "Whole messages received in sessions." },
	{ "rcsgw_ua_reports_total", "counter", "Outcomes of sent messages (message.report events)." },
	{ "rcsgw_ua_messages_duplicate_total", "counter", "Messages received again with a Message-ID the session had (a sender delivering at least once): answered, not passed on." },
	{ "rcsgw_ua_messages_incomplete_total", "counter", "Messages to us whose chunks stopped coming (the connection went mid-message): dropped, never passed on." },
	{ "rcsgw_sip_messages_in_total", "counter", "SIP messages received and parsed." },
	{ "rcsgw_sip_held_for_takeover_total", "counter", "In-dialog requests for a session not in memory, held while the cluster took it over from a dead node." },
	{ "rcsgw_sip_forwarded_total", "counter", "In-dialog requests for a session another live node owns, passed on to it through Redis (its responses come back the same way)." },
	{ "rcsgw_sip_forwarded_in_total", "counter", "In-dialog requests other nodes passed on to this one (the session's owner)." },
	{ "rcsgw_msrp_held_for_takeover_total", "counter", "MSRP SENDs for a session not in memory (a peer binding anew on this node), held while the cluster took it over from a dead node." },
	{ "rcsgw_sip_held_refused_total", "counter", "In-dialog requests that would have been held for a takeover beyond the bound (1024 per worker at once): answered 503." },
	{ "rcsgw_sip_messages_out_total", "counter", "SIP messages sent." },
	{ "rcsgw_sip_dropped_total", "counter", "SIP messages that did not parse or had no usable Via or CSeq (a request whose Via has no RFC 3261 branch is answered 400)." },
	{ "rcsgw_sip_unparsable_datagrams_total", "counter", "UDP datagrams that did not parse as SIP (answered 400 when Via, From, To, Call-ID and CSeq could be read, else dropped)." },
	{ "rcsgw_sip_stream_errors_total", "counter", "SIP TCP/TLS connections closed for a malformed or oversized stream." },
	{ "rcsgw_sip_crossed_total", "counter", "SIP messages passed to the worker of their session." },
	{ "rcsgw_sip_cross_dropped_total", "counter", "SIP messages lost between workers (full mailbox)." },
	{ "rcsgw_sip_answered_400_total", "counter", "Requests answered 400." },
	{ "rcsgw_sip_answered_481_total", "counter", "Requests for no dialog or transaction (481)." },
	{ "rcsgw_sip_answered_488_total", "counter", "INVITEs without usable MSRP media (488)." },
	{ "rcsgw_sip_answered_415_total", "counter", "INVITEs whose accept-types had none of ours (415)." },
	{ "rcsgw_sip_answered_503_total", "counter", "Requests refused for want of room (503)." },
	{ "rcsgw_sip_auth_retries_total", "counter", "Requests sent again with Digest credentials." },
	{ "rcsgw_rcs_cpim_sent_total", "counter", "Messages sent wrapped in message/cpim." },
	{ "rcsgw_rcs_cpim_received_total", "counter", "Messages received in message/cpim and unwrapped." },
	{ "rcsgw_rcs_cpim_bad_total", "counter", "message/cpim bodies that did not parse (passed on as they came)." },
	{ "rcsgw_rcs_imdn_sent_total", "counter", "Disposition notifications sent (delivered, displayed)." },
	{ "rcsgw_rcs_imdn_received_total", "counter", "Disposition notifications received (message.delivered/displayed/processed/failed)." },
	{ "rcsgw_rcs_imdn_bad_total", "counter", "IMDN, isComposing or FT-over-HTTP bodies that did not parse (passed on as they came)." },
	{ "rcsgw_rcs_composing_sent_total", "counter", "isComposing indications sent." },
	{ "rcsgw_rcs_composing_received_total", "counter", "isComposing indications received (composing events)." },
	{ "rcsgw_rcs_files_received_total", "counter", "Files received by RFC 5547 transfers (file.received)." },
	{ "rcsgw_rcs_files_partial_total", "counter", "Transfers to us that broke, their bytes kept for a resumption (file.partial)." },
	{ "rcsgw_rcs_files_resumed_in_total", "counter", "Transfers to us resumed (a=file-range) from bytes kept." },
	{ "rcsgw_ua_sh_denied_total", "counter", "Incoming INVITEs whose caller Sh refused (403; diameter.sh_check)." },
	{ "rcsgw_ua_sh_failed_total", "counter", "Incoming INVITEs whose Sh question got no verdict." },
};

static void ua_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	struct gw_ua_stats s;
	(void)arg;
	if (!x->ua)
		return;
	gw_ua_stats(x->ua, &s);
	const uint64_t vals[] = {
		s.alive, s.sessions_out, s.sessions_in, s.established, s.failed, s.ended,
		s.msgs_sent, s.msgs_received, s.reports, s.msgs_duplicate, s.msrp_incomplete,
		s.sip_in, s.sip_held,
		s.sip_forwarded, s.sip_remote_in, s.msrp_held, s.sip_held_refused, s.sip_out, s.sip_bad, s.sip_unparsable, s.sip_stream_errors, s.sip_crossed,
		s.sip_cross_dropped, s.answered_400, s.answered_481, s.answered_488,
		s.answered_415, s.answered_503, s.auth_retries, s.cpim_sent, s.cpim_received,
		s.cpim_bad, s.imdn_sent, s.imdn_received, s.imdn_bad, s.composing_sent,
		s.composing_received, s.files_received, s.files_parts_kept, s.files_resumed_in,
		s.sh_denied, s.sh_failed,
	};
	_Static_assert(sizeof(vals) / sizeof(vals[0]) == sizeof(ua_metrics) / sizeof(ua_metrics[0]),
		       "one value per metric");
	memcpy(v, vals, sizeof(vals));
}

/* The page-mode gateway's counters of each worker for /metrics (runs on the worker). */
static const struct api_metric_def page_metrics[] = {
	{ "rcsgw_gateway_sessions", "gauge", "Gateway pairs (page-mode user, RCS user) alive." },
	{ "rcsgw_gateway_messages_converted_total", "counter", "MESSAGEs sent on as MSRP messages." },
	{ "rcsgw_gateway_messages_out_total", "counter", "MSRP messages sent on as MESSAGEs." },
	{ "rcsgw_gateway_messages_out_failed_total", "counter", "MESSAGEs to page-mode users that failed." },
	{ "rcsgw_gateway_rejected_total", "counter", "MESSAGEs no rule converts (gateway.reject_code)." },
	{ "rcsgw_gateway_queue_full_total", "counter", "MESSAGEs refused 503: the session's queue was full." },
	{ "rcsgw_gateway_setup_failed_total", "counter", "Gateway sessions that never came up." },
	{ "rcsgw_gateway_delivered_total", "counter", "Held MESSAGEs answered 200 (await_delivery)." },
	{ "rcsgw_gateway_delivery_failed_total", "counter", "Held MESSAGEs answered with a failure or 408." },
	{ "rcsgw_gateway_failures_notified_total", "counter", "Failure notices sent to page-mode senders." },
	{ "rcsgw_gateway_proxied_total", "counter", "MESSAGEs no rule takes, forwarded (gateway.unmatched = proxy)." },
	{ "rcsgw_gateway_proxy_failed_total", "counter", "Forwarded MESSAGEs that failed or got no answer in time." },
	{ "rcsgw_gateway_queued", "gauge", "MESSAGEs waiting for their session to come up." },
	{ "rcsgw_gateway_adopted_total", "counter", "Pairs made anew for gateway sessions taken over from a dead node." },
	{ "rcsgw_gateway_diameter_denied_total", "counter", "Messages refused by Sh or Ro (403 on SIP, a failure REPORT on MSRP)." },
	{ "rcsgw_gateway_diameter_failed_total", "counter", "Messages whose Sh or Ro question got no verdict (503 unless diameter.hook_failure = allow)." },
};

static void page_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	struct gw_page_stats s;
	(void)arg;
	if (!x->page)
		return;
	gw_page_stats(x->page, &s);
	const uint64_t vals[] = {
		s.sessions, s.messages_in, s.messages_out, s.out_failed, s.rejected, s.queue_full,
		s.setup_failed, s.delivered, s.delivery_failed, s.notified, s.proxied,
		s.proxy_failed, s.queued, s.adopted, s.hook_denied, s.hook_failed,
	};
	_Static_assert(sizeof(vals) / sizeof(vals[0]) ==
		       sizeof(page_metrics) / sizeof(page_metrics[0]), "one value per metric");
	memcpy(v, vals, sizeof(vals));
}

/* The capability cache of worker <i>, for api_caps.c (called on that worker). */
static struct gw_caps *caps_at(unsigned i)
{
	return app.w && i < app.n ? app.w[i].caps : NULL;
}

/* Capability discovery's counters of each worker for /metrics (runs on the worker). */
static const struct api_metric_def caps_metrics[] = {
	{ "rcsgw_rcs_capability_queries_total", "counter", "GET /v1/capabilities queries." },
	{ "rcsgw_rcs_capability_hits_total", "counter", "Queries answered from the cache." },
	{ "rcsgw_rcs_capability_options_sent_total", "counter", "OPTIONS sent for capabilities." },
	{ "rcsgw_rcs_capability_answers_total", "counter", "Capability answers learnt (timeouts included)." },
	{ "rcsgw_rcs_capability_timeouts_total", "counter", "OPTIONS without a final answer within rcs.capability_timeout." },
	{ "rcsgw_rcs_capability_evicted_total", "counter", "Cached answers dropped for room (rcs.capability_cache)." },
	{ "rcsgw_rcs_capability_entries", "gauge", "URIs in the capability cache." },
};

static void caps_collect(eng_worker *w, uint64_t *v, void *arg)
{
	const struct worker_ctx *x = &app.w[eng_worker_index(w)];
	struct gw_caps_stats s;
	(void)arg;
	if (!x->caps)
		return;
	gw_caps_stats(x->caps, &s);
	const uint64_t vals[] = {
		s.queries, s.hits, s.options_sent, s.answered, s.timeouts, s.evicted, s.entries,
	};
	_Static_assert(sizeof(vals) / sizeof(vals[0]) ==
		       sizeof(caps_metrics) / sizeof(caps_metrics[0]), "one value per metric");
	memcpy(v, vals, sizeof(vals));
}

/* Standalone messaging's counters (process-wide) for /metrics. */
static void pager_emit(struct api_metrics_out *o, void *arg)
{
	struct gw_pager_stats s;
	(void)arg;
	gw_pager_stats(app.pager, &s);
	const struct {
		const char *name, *help;
		uint64_t v;
	} m[] = {
		{ "rcsgw_rcs_standalone_sent_pager_total", "Standalone messages sent in pager mode (MESSAGE).", s.sent_pager },
		{ "rcsgw_rcs_standalone_sent_large_total", "Standalone messages sent in large-message mode (MSRP session).", s.sent_large },
		{ "rcsgw_rcs_standalone_delivered_total", "Standalone messages the network or the device took (message.sent).", s.delivered },
		{ "rcsgw_rcs_standalone_failed_total", "Standalone messages that failed (message.failed).", s.failed },
		{ "rcsgw_rcs_standalone_received_total", "MESSAGEs for rcsgw itself published as message.received.", s.received },
		{ "rcsgw_rcs_standalone_imdn_sent_total", "Delivery notifications sent back in pager mode.", s.imdn_sent },
		{ "rcsgw_rcs_files_started_total", "File transfers to peers started (RFC 5547).", s.files_started },
		{ "rcsgw_rcs_files_sent_total", "File transfers whose whole success REPORT came (file.sent).", s.files_sent },
		{ "rcsgw_rcs_files_failed_total", "File transfers that failed (file.failed).", s.files_failed },
		{ "rcsgw_rcs_files_resumed_total", "File transfers resumed after the bytes the peer took (RFC 5547 a=file-range).", s.files_resumed },
		{ "rcsgw_rcs_files_out_kept_total", "File transfers to peers that broke and were kept for a resumption.", s.files_parts_kept },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		api_metrics_family(o, m[i].name, "counter", m[i].help);
		api_metrics_sample(o, m[i].name, NULL, (double)m[i].v);
	}
}

/* The group "redis": degraded while lost, not ready before first reached. */
static enum cm_sr_state redis_probe(void *arg, char *details, size_t len)
{
	(void)arg;
	enum sh_cluster_state st = sh_cluster_state(app.cluster);
	snprintf(details, len, "%s %s", st == SH_CLUSTER_READY ? "connected to"
				    : st == SH_CLUSTER_DEGRADED ? "lost" : "not reached yet:",
		 sh_cluster_where(app.cluster));
	return st == SH_CLUSTER_READY ? CM_SR_READY
	       : st == SH_CLUSTER_DEGRADED ? CM_SR_DEGRADED : CM_SR_NOT_READY;
}

static void cluster_emit(struct api_metrics_out *o, void *arg)
{
	(void)arg;
	api_metrics_family(o, "rcsgw_cluster_state", "gauge",
			   "The node's Redis: 1 starting, 2 ready, 3 degraded (Redis lost).");
	api_metrics_sample(o, "rcsgw_cluster_state", NULL, (double)sh_cluster_state(app.cluster));
	/* the replication lags of all workers, as one histogram per kind */
	struct sh_repl_lag all[2];
	sh_repl_lags(all);
	api_metrics_family(o, "rcsgw_cluster_replication_lag_seconds", "histogram",
			   "Replication lag: kind=record from a session's change to its record "
			   "written (ms resolution), kind=message from a message's acceptance to "
			   "its append to the session's stream acknowledged (what the 202 waits "
			   "for).");
	static const char *const kinds[2] = { "record", "message" };
	for (int k = 0; k < 2; k++) {
		uint64_t cum = 0;
		char le[32];
		for (int b = 0; b <= SH_REPL_LAG_BUCKETS; b++) {
			cum += all[k].bucket[b];
			if (b < SH_REPL_LAG_BUCKETS)
				snprintf(le, sizeof(le), "%g", (double)sh_repl_lag_le_us[b] / 1e6);
			else
				snprintf(le, sizeof(le), "+Inf");
			const char *lb[] = { "kind", kinds[k], "le", le, NULL };
			api_metrics_sample(o, "rcsgw_cluster_replication_lag_seconds_bucket", lb,
					   (double)cum);
		}
		const char *lk[] = { "kind", kinds[k], NULL };
		api_metrics_sample(o, "rcsgw_cluster_replication_lag_seconds_sum", lk,
				   (double)all[k].sum_us / 1e6);
		api_metrics_sample(o, "rcsgw_cluster_replication_lag_seconds_count", lk,
				   (double)cum); /* the +Inf bucket's, read in the same pass */
	}
}

/* A session this node lacks, maybe a dead node's: taken over from Redis (issue 8). */
struct takeover_ctx {
	struct gw_ua *ua;
	eng_worker *w;
	api_takeover_done done;
	void *ctx;
	char id[GW_UA_ID_LEN + 1];
};

static void on_taken(void *arg, int rc, uint64_t epoch, const char *owner, const char *record,
		     size_t len, const struct sh_node_pending *p, size_t np)
{
	struct takeover_ctx *t = arg;
	int here = 0;
	if (rc == 1) {
		char msg[256] = "no record";
		int code = len ? gw_ua_adopt(t->ua, t->id, (const uint8_t *)record, len, epoch, msg,
					     sizeof(msg)) : 400;
		here = code == 0 || code == 409;
		if (!here && np)
			sh_cluster_undeliverable(app.cluster, t->w, t->id, np);
		if (code == 0 && np) { /* what the dead node accepted and did not see confirmed */
			unsigned sent = sh_cluster_replay(app.cluster, t->w, t->id, p, np);
			CM_INFO("cluster: session %s taken over at epoch %llu, %u of %zu pending "
				"messages sent again", t->id, (unsigned long long)epoch, sent, np);
		}
		if (!here) { /* ours in Redis now, yet not here: let it go again */
			CM_WARN("cluster: session %s taken over could not be adopted: %s", t->id, msg);
			sh_cluster_release(app.cluster, t->w, t->id, epoch);
		}
	} else if (gw_ua_has(t->ua, t->id)) {
		here = 1; /* another takeover on this worker won the race: it is here now */
	}
	if (t->done)
		t->done(t->ctx, here, rc == 0 && !here ? owner : NULL);
	free(t);
}

static int takeover_session(eng_worker *w, struct gw_ua *ua, const char *id,
			    api_takeover_done done, void *ctx)
{
	struct takeover_ctx *t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct takeover_ctx){ .ua = ua, .w = w, .done = done, .ctx = ctx };
	snprintf(t->id, sizeof(t->id), "%s", id);
	int rc = sh_cluster_takeover(app.cluster, w, id, on_taken, t);
	if (rc < 0)
		free(t);
	return rc;
}

/* The MSRP peer of a session live node <owner> holds bound again here: <owner> is asked to
 * hand it on (then it is taken over here). */
static int handoff_session(eng_worker *w, struct gw_ua *ua, const char *id, const char *owner,
			   void (*done)(void *ctx, int status), void *ctx)
{
	(void)ua;
	return sh_cluster_handoff(app.cluster, w, owner, eng_worker_index(w), id, done, ctx);
}

/* A REST request for a session another node owns, alive: passed on to it (issue 8). */
static int forward_session(eng_worker *w, const char *owner, const char *id,
			   const struct api_fwd_req *req, uint32_t timeout_ms,
			   api_forward_done done, void *ctx)
{
	(void)id;
	if (!req->body && req->len)
		return -EMSGSIZE; /* the bus carries 1 MiB at most */
	char lines[3][1024];
	const char *hdrs[3];
	/* not the client's Authorization (this node checked it; no secret goes to Redis): the
	 * owner's API is asked with the same token of its own list (req->owner) */
	const char *names[2] = { "Content-Type", "Idempotency-Key" };
	const char *vals[2] = { req->ctype, req->idem_key };
	size_t n = 0;
	for (int i = 0; i < 2; i++)
		if (vals[i] && (size_t)snprintf(lines[n], sizeof(lines[n]), "%s: %s", names[i],
						 vals[i]) < sizeof(lines[n]))
			hdrs[n] = lines[n], n++;
	struct sh_cluster_http_req q = { .method = req->method, .path = req->path,
					 .query = req->query, .hdrs = hdrs, .nhdrs = n,
					 .body = req->body, .len = req->len, .owner = req->owner };
	return sh_cluster_forward(app.cluster, w, owner, eng_worker_index(w), &q, timeout_ms,
				  done, ctx);
}

/* SIP for a session another node owns, alive: passed on to it, its answers carried back. */
static int forward_sip(eng_worker *w, const char *owner, unsigned worker, const char *raw,
		       size_t len, const struct sip_dest *src)
{
	return sh_cluster_forward_sip(app.cluster, w, owner, worker, raw, len, src);
}

static int remote_send(eng_worker *w, uint32_t ref, const char *buf, size_t len)
{
	return sh_cluster_remote_send(app.cluster, w, ref, buf, len);
}

/* A session of a dead node with messages not confirmed, found by worker 0's sweep: on its
 * own worker, taken over (and its messages sent again). */
static void orphan_msg(eng_worker *w, void *arg, uint64_t u64)
{
	(void)u64;
	struct gw_ua *ua = app.w ? app.w[eng_worker_index(w)].ua : NULL;
	if (ua) /* a session of ours already: -ENOENT, nothing done */
		takeover_session(w, ua, arg, NULL, NULL);
	free(arg);
}

static void on_orphan(void *arg, const char *id)
{
	eng_engine *e = arg;
	int i = gw_ua_worker_of(app.ua, id);
	char *copy;
	if (i < 0 || (unsigned)i >= app.n || !(copy = strdup(id)))
		return; /* a session id of a worker this node does not have */
	if (eng_post(eng_worker_at(e, (unsigned)i), orphan_msg, copy, 0) < 0)
		free(copy); /* the next sweep finds it again */
}

/* A message the API accepted: in Redis yet? (durable delivery, issue 8) */
static int durable_message(eng_worker *w, const char *id, const char *mid,
			   api_durable_done done, void *ctx)
{
	return sh_cluster_durable(app.cluster, w, id, mid, done, ctx);
}

/* On each worker, before the engine goes: its part of the cluster lets go. */
static void cluster_stop_msg(eng_worker *w, void *arg, uint64_t u64)
{
	(void)arg;
	(void)u64;
	sh_cluster_stop(app.cluster, w);
	atomic_fetch_add(&app.cluster_stopped, 1);
}

/* 1 when every worker let its part go. */
static int cluster_stop(eng_engine *e)
{
	unsigned posted = 0;
	if (!app.cluster || !e || !app.w)
		return 0;
	for (unsigned i = 0; i < eng_nworkers(e); i++)
		posted += eng_post(eng_worker_at(e, i), cluster_stop_msg, NULL, 0) == 0;
	for (int i = 0; i < 400 && atomic_load(&app.cluster_stopped) < posted; i++)
		usleep(5000);
	return posted == eng_nworkers(e) && atomic_load(&app.cluster_stopped) == posted;
}

/* The replication counters of each worker for /metrics (runs on the worker). */
static const struct api_metric_def repl_metrics[] = {
	{ "rcsgw_cluster_writes_total", "counter", "Session records written to Redis." },
	{ "rcsgw_cluster_write_failures_total", "counter", "Session record writes that failed (retried)." },
	{ "rcsgw_cluster_fenced_total", "counter", "Session writes refused: another node owns the session now." },
	{ "rcsgw_cluster_claims_total", "counter", "Sessions claimed in Redis." },
	{ "rcsgw_cluster_releases_total", "counter", "Session records released (the session is over)." },
	{ "rcsgw_cluster_pending", "gauge", "Sessions with a record to write or release." },
	{ "rcsgw_cluster_replication_lag_ms", "gauge", "From a session's change to its record written, the last write." },
	{ "rcsgw_cluster_replication_lag_max_ms", "gauge", "The longest replication lag since start." },
	{ "rcsgw_cluster_messages_kept_total", "counter", "Accepted messages appended to their session's stream in Redis (durable delivery)." },
	{ "rcsgw_cluster_message_keep_failures_total", "counter", "Appends of accepted messages that failed (held in memory, appended again)." },
	{ "rcsgw_cluster_messages_unkept_total", "counter", "Stream entries removed: their message was confirmed (200 of its last chunk) or its failure told." },
	{ "rcsgw_cluster_messages_replayed_total", "counter", "Messages a dead node accepted and never saw confirmed, sent again after a takeover (same Message-ID)." },
	{ "rcsgw_cluster_messages_not_kept_total", "counter", "Accepted messages that could not be made durable (held-message bound, fenced, out of memory)." },
	{ "rcsgw_cluster_messages_pending", "gauge", "Accepted messages not confirmed yet, in Redis or held for it." },
	{ "rcsgw_cluster_messages_reappended_total", "counter", "Unconfirmed messages appended again after a new connection to Redis (which may have lost them; found by Message-ID when it did not)." },
	{ "rcsgw_cluster_refreshes_total", "counter", "Live sessions' records written again before their TTL ran out." },
	{ "rcsgw_cluster_messages_undeliverable_total", "counter", "Pending messages of a session taken over that could not be sent again: its record was lost or broken." },
	{ "rcsgw_cluster_sessions_let_go_total", "counter", "Sessions let go here because another node took them over while this one looked dead (a paused process, Redis out of reach): a write of theirs was fenced." },
	{ "rcsgw_cluster_sessions_handed_on_total", "counter", "Sessions handed on to the live node their MSRP peer bound again at (its last record written, its ownership passed on)." },
};

/* The cluster bus of each worker (cross-node routing, issue 8). */
static const struct api_metric_def bus_metrics[] = {
	{ "rcsgw_cluster_forwarded_total", "counter", "Requests for sessions other live nodes own, passed on to them through Redis." },
	{ "rcsgw_cluster_forward_answers_total", "counter", "Answers that came back for requests passed on." },
	{ "rcsgw_cluster_forward_timeouts_total", "counter", "Requests passed on that got no answer in time (answered 504)." },
	{ "rcsgw_cluster_forward_refused_total", "counter", "Requests not passed on: too big, too many waiting (4096 a worker), Redis away." },
	{ "rcsgw_cluster_forwards_received_total", "counter", "Requests other nodes passed on to this one." },
	{ "rcsgw_cluster_forwards_answered_total", "counter", "Answers this node sent back for them." },
	{ "rcsgw_cluster_forwards_expired_total", "counter", "Requests passed on to this node read after their deadline: dropped, not run." },
	{ "rcsgw_cluster_bus_malformed_total", "counter", "Entries of this node's inboxes that did not decode." },
	{ "rcsgw_cluster_forwards_waiting", "gauge", "Requests passed on, waiting for their answer now." },
};

static void bus_collect(eng_worker *w, uint64_t *v, void *arg)
{
	struct sh_bus_stats s;
	(void)arg;
	sh_cluster_bus_stats(app.cluster, eng_worker_index(w), &s);
	const uint64_t vals[] = { s.sent, s.answered, s.timeouts, s.refused, s.received,
				  s.replied, s.expired, s.malformed, s.waiting };
	_Static_assert(sizeof(vals) / sizeof(vals[0]) ==
			       sizeof(bus_metrics) / sizeof(bus_metrics[0]),
		       "one value per metric");
	memcpy(v, vals, sizeof(vals));
}

static void repl_collect(eng_worker *w, uint64_t *v, void *arg)
{
	struct sh_repl_stats s;
	(void)arg;
	sh_cluster_repl_stats(app.cluster, eng_worker_index(w), &s);
	const uint64_t vals[] = { s.writes, s.write_failures, s.fenced, s.claims, s.releases,
				  s.pending, s.lag_ms, s.lag_max_ms, s.kept, s.keep_failures,
				  s.unkept, s.replayed, s.not_kept, s.kept_now, s.reappended,
				  s.refreshes, s.undeliverable, s.moved, s.handed_on };
	_Static_assert(sizeof(vals) / sizeof(vals[0]) ==
			       sizeof(repl_metrics) / sizeof(repl_metrics[0]),
		       "one value per metric");
	memcpy(v, vals, sizeof(vals));
}

/* The group "sip": ready with a transport listening; disabled with sip.listen empty (<arg>,
 * the configuration). */
static enum cm_sr_state sip_probe(void *arg, char *details, size_t len)
{
	static const char *const kinds[] = { "udp", "tcp", "tls" };
	const struct cm_config *cfg = arg;
	size_t n = 0;
	if (!cfg->sip.listen.n) {
		snprintf(details, len, "sip.listen is empty");
		return CM_SR_DISABLED;
	}
	for (size_t i = 0; app.ua && i < 3; i++) {
		int port = gw_ua_sip_port(app.ua, kinds[i]);
		if (port > 0 && n < len)
			n += (size_t)snprintf(details + n, len - n, "%s%s %d", n ? ", " : "listening: ",
					      kinds[i], port);
	}
	return n ? CM_SR_READY : CM_SR_NOT_READY;
}

/* Appends "<kind> <addr>" for each of <l> to <buf> (<*n> bytes used of <len>). */
static void listen_list(char *buf, size_t len, size_t *n, const char *kind,
			const struct cm_strlist *l)
{
	for (size_t i = 0; i < l->n && *n < len; i++)
		*n += (size_t)snprintf(buf + *n, len - *n, "%s%s %s", *n ? ", " : "listening: ",
				       kind, l->v[i]);
}

/* The group "relay" (at start and after a reload, with <cfg> the configuration in force). */
static void relay_status(const struct cm_config *cfg)
{
	unsigned n = app.creds_now ? app.creds_now->n : 0;
	if (!app.relay)
		cm_sr_set("relay", CM_SR_DISABLED, "relay.enabled = false");
	else if (!n && !cfg->relay.credentials_redis[0] && !cfg->relay.credentials_hook[0])
		cm_sr_set("relay", CM_SR_DEGRADED, "no credentials configured: AUTH gets 403");
	else
		cm_sr_set("relay", CM_SR_READY, "realm %s, %u credentials from the file%s%s, %zu "
			  "egress rules", cfg->relay.realm, n,
			  cfg->relay.credentials_redis[0] ? ", Redis" : "",
			  cfg->relay.credentials_hook[0] ? ", hook" : "",
			  app.egress ? msrp_egress_rules_count(app.egress) : 0);
}

/* The groups whose status the daemon sets itself, once its workers run (the others: their
 * probes, api_diameter_started, api_cc_started, the API's webhooks). */
static void status_publish(const struct cm_config *cfg, eng_engine *e)
{
	char buf[CM_SR_TEXT_MAX] = "";
	size_t n = 0;

	cm_sr_set("engine", CM_SR_READY, "%s on %u workers (%s)", eng_backend_name(e),
		  eng_nworkers(e), eng_backend_reason(e));
	cm_sr_set("config", CM_SR_READY, "loaded from %s (SIGHUP reloads it)",
		  app.path ? app.path : "the embedded defaults");
	listen_list(buf, sizeof(buf), &n, "tcp", &cfg->msrp.listen);
	listen_list(buf, sizeof(buf), &n, "tls", &cfg->msrps.listen);
	listen_list(buf, sizeof(buf), &n, "ws", &cfg->msrp.ws_listen);
	listen_list(buf, sizeof(buf), &n, "wss", &cfg->msrp.wss_listen);
	cm_sr_set("msrp", n ? CM_SR_READY : CM_SR_DISABLED, "%s", n ? buf : "no listeners");
	relay_status(cfg);
	cm_sr_probe("sip", sip_probe, (void *)cfg);
	if (gw_ua_enabled(app.ua))
		cm_sr_set("ua", CM_SR_READY, "REST sessions and incoming INVITEs with MSRP%s",
			  cfg->ua.relay[0] ? " (through ua.relay)" : "");
	else
		cm_sr_set("ua", CM_SR_DISABLED, "ua.enabled = false");
	if (app.page)
		cm_sr_set("gateway", CM_SR_READY, "%zu rules", cfg->gateway.rules.n);
	else
		cm_sr_set("gateway", CM_SR_DISABLED, "gateway.enabled = false");
	if (app.cluster)
		cm_sr_probe("redis", redis_probe, NULL);
	else
		cm_sr_set("redis", CM_SR_DISABLED, "redis.url is empty: no cluster");
}

/* After the engine is gone: what the workers' MSRP endpoints and TLS context still hold. */
static void shutdown_msrp(void)
{
	for (unsigned i = 0; app.w && i < app.n; i++) {
		gw_page_free(app.w[i].page);
		gw_caps_free(app.w[i].caps);
		gw_ua_free(app.w[i].ua);
		msrp_svc_free(app.w[i].msrp);
	}
	gw_page_shared_free(app.page);
	app.page = NULL;
	gw_pager_shared_free(app.pager);
	app.pager = NULL;
	gw_files_free(app.files);
	app.files = NULL;
	gw_ua_shared_free(app.ua);
	app.ua = NULL;
	free(app.w);
	app.w = NULL;
	if (app.msrp.tls_ctx)
		eng_tls_ctx_free(app.msrp.tls_ctx);
	app.msrp.tls_ctx = NULL;
	if (app.msrp.client_tls)
		eng_tls_ctx_free(app.msrp.client_tls);
	app.msrp.client_tls = NULL;
	msrp_relay_shared_free(app.relay);
	app.relay = NULL;
	msrp_egress_rules_free(app.egress);
	app.egress = NULL;
	if (app.creds_now && app.creds_now != &app.creds) {
		msrp_creds_free(app.creds_now);
		free(app.creds_now);
	}
	app.creds_now = NULL;
	msrp_creds_free(&app.creds);
}

/* The relay's process-wide part (made once the engine exists: it shards by its workers):
 * credentials, Digest realm, limits, and the TLS client context of msrps next hops. */
static int relay_setup(const struct cm_config *cfg, eng_engine *e, char *err, size_t errlen)
{
	const struct cm_config_relay *rc = &cfg->relay;
	if (!rc->enabled) {
		CM_INFO("relay: off (relay.enabled = false): AUTH gets 403, SENDs for sessions this "
			"node does not hold get 481");
		return 0;
	}
	if (rc->credentials_file[0]) {
		if (msrp_creds_load(&app.creds, rc->credentials_file, err, errlen) < 0)
			return -1;
		CM_INFO("relay: %u credentials from %s", app.creds.n, rc->credentials_file);
	}
	app.creds_cfg = (struct msrp_creds_src_cfg){
		.file = &app.creds,
		.redis = rc->credentials_redis,
		.redis_key = rc->credentials_redis_key,
		.hook = rc->credentials_hook,
		.timeout_ms = (uint32_t)rc->hook_timeout_ms,
		.cache_ttl_ms = (uint32_t)rc->hook_cache_ttl_ms,
		.realm = rc->realm,
	};
	app.creds_now = &app.creds;
	int have = app.creds.n || rc->credentials_redis[0] || rc->credentials_hook[0];
	struct msrp_relay_cfg relay_cfg = {
		.realm = rc->realm,
		.nonce_ttl_s = (uint32_t)(rc->nonce_ttl_ms / 1000),
		.creds = &app.creds,
		.have_creds = have,
		.max_auth_failures = (uint32_t)rc->max_auth_failures,
		.min_expires_s = (uint32_t)(rc->min_expires_ms / 1000),
		.max_expires_s = (uint32_t)(rc->max_expires_ms / 1000),
		.default_expires_s = (uint32_t)(rc->default_expires_ms / 1000),
		.public_host = rc->public_host,
		.max_sessions = (uint32_t)rc->max_sessions,
		.max_per_user = (uint32_t)rc->max_sessions_per_user,
		.max_per_ip = (uint32_t)rc->max_sessions_per_ip,
		.max_fwd_chunk = (uint64_t)rc->max_forward_chunk,
	};
	app.relay = msrp_relay_shared_new(&relay_cfg, e, err, errlen);
	if (!app.relay)
		return -1;
	/* msrps next hops: our certificate when we have one (relay to relay is mutual TLS),
	 * servers verified against msrps.ca or the system's CAs */
	struct eng_tls_config tc = {
		.cert_file = cfg->msrps.cert[0] ? cfg->msrps.cert : NULL,
		.key_file = cfg->msrps.key[0] ? cfg->msrps.key : NULL,
		.ca_file = cfg->msrps.ca[0] ? cfg->msrps.ca : NULL,
		.verify_peer = 1,
		.min_version = cfg->tls.min_version == CM_TLS_1_3 ? ENG_TLS_V13 : ENG_TLS_V12,
	};
	char terr[256];
	app.msrp.client_tls = eng_tls_ctx_new(&tc, 0, terr, sizeof(terr));
	if (!app.msrp.client_tls)
		CM_WARN("relay: no TLS client context (%s): msrps next hops will fail", terr);
	app.msrp.relay = app.relay;
	app.msrp.creds = &app.creds_cfg;
	app.msrp.egress_rules = app.egress;
	app.msrp.egress_hook = rc->egress_hook;
	app.msrp.hook_timeout_ms = (uint32_t)rc->hook_timeout_ms;
	app.msrp.hook_cache_ttl_ms = (uint32_t)rc->hook_cache_ttl_ms;
	if (app.egress && msrp_egress_rules_count(app.egress))
		CM_INFO("relay: %zu egress rules", msrp_egress_rules_count(app.egress));
	if (!have)
		CM_WARN("relay: no credentials configured (relay.credentials_file, "
			"relay.credentials_redis, relay.credentials_hook): AUTH gets 403");
	return 0;
}

static eng_tls_ctx *msrps_ctx(const struct cm_config *cfg, char *err, size_t errlen)
{
	struct eng_tls_config tc = {
		.cert_file = cfg->msrps.cert,
		.key_file = cfg->msrps.key,
		.ca_file = cfg->msrps.ca[0] ? cfg->msrps.ca : NULL,
		.verify_peer = cfg->msrps.verify_client,
		.min_version = cfg->tls.min_version == CM_TLS_1_3 ? ENG_TLS_V13 : ENG_TLS_V12,
	};
	eng_tls_ctx *ctx = eng_tls_ctx_new(&tc, 1, err, errlen);
	/* msrps.sni_certs: "name:cert:key" (the format is checked at load) */
	for (size_t i = 0; ctx && i < cfg->msrps.sni_certs.n; i++) {
		char item[1024], e2[256];
		snprintf(item, sizeof(item), "%s", cfg->msrps.sni_certs.v[i]);
		char *cert = strchr(item, ':'), *key = cert ? strchr(cert + 1, ':') : NULL;
		if (!cert || !key) {
			snprintf(err, errlen, "msrps.sni_certs element %zu is malformed", i);
			eng_tls_ctx_free(ctx);
			return NULL;
		}
		*cert++ = '\0';
		*key++ = '\0';
		if (eng_tls_ctx_add_sni(ctx, item, cert, key, e2, sizeof(e2)) < 0) {
			snprintf(err, errlen, "msrps.sni_certs element %zu (%.200s): %.200s", i, item, e2);
			eng_tls_ctx_free(ctx);
			return NULL;
		}
		CM_INFO("msrps: certificate %s for SNI name %s", cert, item);
	}
	return ctx;
}

/* Waits for SIGTERM (drain) or SIGINT (stop). Returns the signal. */
/* ---- reload (SIGHUP) --------------------------------------------------------------------- */

/* The keys a reload applies; a change of any other is reported as needing a restart. Files
 * named by relay.credentials_file and cc.definitions are read again even when their name
 * did not change. */
static const char *const reloadable[] = {
	"log.level", "log.format", "log.rate_limit", "relay.credentials_file", "relay.egress",
	"api.webhooks", "api.webhook_secret", "api.webhook_timeout", "api.webhook_retries",
	"cc.definitions", NULL,
};

static int is_reloadable(const char *name)
{
	for (size_t i = 0; reloadable[i]; i++)
		if (!strcmp(reloadable[i], name))
			return 1;
	return 0;
}

/* Appends ", <s>" (or <s> first) to <buf>, cut at <len>. */
static void list_add(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);
	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s);
}

/* What a reload hands every worker: the relay's new credentials and egress rules. On the
 * heap, and each worker acks in it: one a worker took late can be neither freed under it nor
 * confused with the next reload's. */
struct relay_msg {
	struct msrp_creds *creds;
	struct msrp_egress_rules *rules;
	struct msrp_creds_src_cfg cc;
	struct msrp_svc_cfg mc;
	_Atomic unsigned acks;
};

/* A worker takes the relay's new credentials file and egress rules (<arg>). */
static void reload_worker(eng_worker *w, void *arg, uint64_t u)
{
	struct relay_msg *m = arg;
	struct worker_ctx *x = &app.w[eng_worker_index(w)];
	(void)u;
	if (x->msrp && msrp_svc_reload(x->msrp, &m->mc) < 0)
		CM_WARN("reload: worker %u kept its old egress rules (out of memory)",
			eng_worker_index(w));
	atomic_fetch_add(&m->acks, 1);
}

/* Every worker runs reload_worker with <m>: 0 when all took it within 5 s, -ETIMEDOUT
 * otherwise (then <m>, and what the workers used before, must stay: one may take it late). */
static int reload_workers(eng_engine *e, struct relay_msg *m)
{
	unsigned posted = 0;
	for (unsigned i = 0; i < app.n; i++) {
		int tries = 0;
		while (eng_post(eng_worker_at(e, i), reload_worker, m, 0) < 0 && ++tries < 500)
			usleep(10000); /* a full mailbox: again */
		posted += tries < 500;
	}
	for (int i = 0; i < 500 && atomic_load(&m->acks) < posted; i++)
		usleep(10000);
	return posted == app.n && atomic_load(&m->acks) == app.n ? 0 : -ETIMEDOUT;
}

/* The relay's part: the credentials file read again, the egress rules parsed, both handed
 * to the workers, the old ones freed once every worker has the new. */
static int reload_relay(const struct cm_config *nc, eng_engine *e, char *done, size_t dlen,
			char *err, size_t errlen)
{
	if (!app.relay)
		return 0;
	struct relay_msg *m = calloc(1, sizeof(*m));
	if (!m || !(m->creds = calloc(1, sizeof(*m->creds)))) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((nc->relay.credentials_file[0] &&
	     msrp_creds_load(m->creds, nc->relay.credentials_file, err, errlen) < 0) ||
	    (nc->relay.egress.n &&
	     msrp_egress_rules_parse(&nc->relay.egress, &m->rules, err, errlen) < 0)) {
		msrp_creds_free(m->creds);
		free(m->creds);
		free(m);
		return -EINVAL;
	}
	m->cc = app.creds_cfg;
	m->cc.file = m->creds;
	m->mc = app.msrp;
	m->mc.creds = &m->cc;
	m->mc.egress_rules = m->rules;
	int late = reload_workers(e, m) < 0;
	/* what the workers used until now, unless one may still use it */
	if (!late && !app.relay_keep_old) {
		if (app.creds_now != &app.creds) {
			msrp_creds_free(app.creds_now);
			free(app.creds_now);
		} else {
			msrp_creds_free(&app.creds);
		}
		msrp_egress_rules_free(app.egress);
	}
	app.creds_now = m->creds;
	app.egress = m->rules;
	app.msrp.egress_rules = m->rules;
	char what[96];
	snprintf(what, sizeof(what), "relay: %u credentials, %zu egress rules", m->creds->n,
		 m->rules ? msrp_egress_rules_count(m->rules) : (size_t)0);
	if (late) {
		/* kept for the process's life: a worker may take it, or still use the old */
		app.relay_keep_old = 1;
		snprintf(err, errlen, "a worker did not take the new credentials within 5 s (it "
			 "will when it gets to them)");
		return -ETIMEDOUT;
	}
	free(m);
	list_add(done, dlen, what);
	relay_status(app.cfg);
	return 0;
}

/* SIGHUP: the configuration (file and environment) is read again. What can change safely
 * changes; changed keys that cannot are named (they wait for a restart). A configuration
 * that does not load changes nothing. The group "config" says what happened. */
static void reload(eng_engine *e)
{
	struct cm_config nc;
	char err[512], done[512] = "", restart[512] = "";
	size_t nkeys;
	const struct cm_config_key *keys = cm_config_schema(&nkeys);

	memset(&nc, 0, sizeof(nc));
	if (cm_config_load(&nc, app.path, err, sizeof(err)) < 0) {
		cm_config_free(&nc);
		cm_sr_set("config", CM_SR_DEGRADED, "the last reload failed: %s", err);
		cm_sr_report("config", CM_LOG_ERROR, "SIGHUP: not reloaded: %s", err);
		return;
	}
	/* what cannot be reloaded is compared with what runs: the start's configuration */
	for (size_t i = 0; i < nkeys; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s.%s", keys[i].section, keys[i].key);
		if (!is_reloadable(name) && !cm_config_same(app.cfg, &nc, &keys[i]))
			list_add(restart, sizeof(restart), name);
	}
	int failed = 0;
	if (reload_relay(&nc, e, done, sizeof(done), err, sizeof(err)) < 0) {
		cm_sr_report("config", CM_LOG_ERROR, "SIGHUP: relay not reloaded: %s", err);
		failed = 1;
	}
	if (api_events_reload(&nc, err, sizeof(err)) < 0) {
		cm_sr_report("config", CM_LOG_ERROR, "SIGHUP: webhooks not reloaded: %s", err);
		failed = 1;
	} else {
		list_add(done, sizeof(done), "webhooks");
	}
	if (app.cc && nc.cc.definitions[0]) {
		if (cc_svc_reload(app.cc, nc.cc.definitions, err, sizeof(err)) < 0) {
			cm_sr_report("config", CM_LOG_ERROR, "SIGHUP: cc not reloaded: %s", err);
			failed = 1;
		} else {
			list_add(done, sizeof(done), "cc.definitions");
		}
	} else if (app.cc) {
		cm_sr_report("config", CM_LOG_INFO, "SIGHUP: cc.definitions is empty: the flows and "
			     "agents stay as they are");
	}
	cm_log_setup((enum cm_log_level)nc.log.level, nc.log.format == CM_LOG_FMT_JSON,
		     (unsigned)nc.log.rate_limit);
	list_add(done, sizeof(done), "log");
	cm_config_free(&nc); /* what was applied is copied out of it */
	cm_sr_report("config", failed ? CM_LOG_WARN : CM_LOG_INFO, "SIGHUP: reloaded %s", done);
	if (restart[0])
		cm_sr_report("config", CM_LOG_WARN, "SIGHUP: changed, applied at the next restart: %s",
			     restart);
	cm_sr_set("config", failed ? CM_SR_DEGRADED : CM_SR_READY, "%s%s%s",
		  failed ? "the last reload failed in part (see the reports)"
			 : "reloaded from ", failed ? "" : app.path ? app.path : "the defaults",
		  restart[0] ? "; keys waiting for a restart" : "");
}

static int wait_signal(const sigset_t *set, eng_engine *e)
{
	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(e);
			continue;
		}
		return sig;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "list-routes", no_argument, NULL, 'L' }, /* hidden: for the OpenAPI test */
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int check = 0, verbose = 0, c;
	int list_routes = 0;
	struct cm_config cfg;
	char err[512];

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': check = 1; break;
		case 'v': verbose = 1; break;
		case 'V': printf("rcsgw %s\n", RCSGW_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case 'L': list_routes = 1; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rcsgw: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	memset(&cfg, 0, sizeof(cfg));
	app.cfg = &cfg;
	app.path = path;
	if (cm_config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcsgw: %s\n", err);
		cm_config_free(&cfg);
		return 2;
	}
	/* egress rules are configuration too: a bad one is a configuration error */
	if (cfg.relay.egress.n &&
	    msrp_egress_rules_parse(&cfg.relay.egress, &app.egress, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcsgw: %s\n", err);
		cm_config_free(&cfg);
		return 2;
	}
	/* and the per-peer TCP profiles */
	struct eng_config ec;
	if (eng_config_from(&ec, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcsgw: %s\n", err);
		msrp_egress_rules_free(app.egress);
		app.egress = NULL;
		cm_config_free(&cfg);
		return 2;
	}
	/* so is the diameter section (peer URIs, dictionary files, applications) */
	if (dm_svc_new(&cfg, &app.dm, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcsgw: %s\n", err);
		msrp_egress_rules_free(app.egress);
		app.egress = NULL;
		cm_config_free(&cfg);
		return 2;
	}
	if (eng_hep_shared_new(&cfg.trace, &app.hep, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcsgw: %s\n", err);
		dm_svc_free(app.dm);
		msrp_egress_rules_free(app.egress);
		cm_config_free(&cfg);
		return 2;
	}
	if (check) {
		eng_hep_shared_free(app.hep);
		dm_svc_free(app.dm);
		app.dm = NULL;
		msrp_egress_rules_free(app.egress);
		app.egress = NULL;
		if (verbose)
			cm_config_dump(&cfg, stdout);
		fprintf(stderr, "rcsgw: configuration %s is valid\n", path ? path : "(embedded defaults)");
		cm_config_free(&cfg);
		return 0;
	}
	cm_log_setup((enum cm_log_level)cfg.log.level, cfg.log.format == CM_LOG_FMT_JSON,
		     (unsigned)cfg.log.rate_limit);
	cm_log_thread_name("main");

	/* Signals go to this thread alone: block them before any thread exists. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	eng_tls_global_init();
	if (eng_http_global_init() < 0) {
		CM_ERR("libcurl could not be initialised");
		cm_config_free(&cfg);
		return 1;
	}

	eng_engine *e = NULL;
	int rc = 1, cluster_done;

	if (msrp_id_init() < 0) {
		CM_ERR("msrp: no randomness for session ids");
		goto out;
	}
	app.cfg = &cfg;
	msrp_svc_cfg_from(&app.msrp, &cfg);
	eng_tls_ctx *msrps = NULL;
	if (cfg.msrps.listen.n || cfg.msrp.wss_listen.n) { /* wss uses the msrps certificate */
		msrps = msrps_ctx(&cfg, err, sizeof(err));
		if (!msrps) {
			CM_ERR("msrps: %s", err);
			goto out;
		}
		app.msrp.tls_ctx = msrps;
	}

	e = eng_create(&ec, err, sizeof(err));
	if (!e) {
		CM_ERR("engine: %s", err);
		goto out;
	}
	CM_INFO("rcsgw %s starting: %s backend (%s), %u workers%s", RCSGW_VERSION,
		eng_backend_name(e), eng_backend_reason(e), eng_nworkers(e),
		ec.pin ? ", pinned" : "");
	if (relay_setup(&cfg, e, err, sizeof(err)) < 0) {
		CM_ERR("relay: %s", err);
		goto out;
	}
	app.ua = gw_ua_shared_new(&cfg, e, api_event_publish, err, sizeof(err));
	if (!app.ua) {
		CM_ERR("sip: %s", err);
		goto out;
	}
	/* the contact centre's hooks before the gateway's: a flow's address is its */
	if (cc_svc_new(&cfg, e, app.ua, api_event_publish, &app.cc, err, sizeof(err)) < 0) {
		CM_ERR("cc: %s", err);
		goto out;
	}
	int gfail = 0;
	app.page = gw_page_shared_new(&cfg, app.ua, api_event_publish, &gfail, err, sizeof(err));
	if (gfail) {
		CM_ERR("gateway: %s", err);
		goto out;
	}
	if (gw_ua_enabled(app.ua) && (!(app.pager = gw_pager_shared_new(&cfg, app.ua,
									api_event_publish)) ||
				      !(app.files = gw_files_new(cfg.rcs.file_store_max,
								 (uint64_t)cfg.rcs.file_ttl_ms)))) {
		CM_ERR("rcs: out of memory");
		goto out;
	}
	gw_ua_set_files(app.ua, app.files);
	gw_page_set_diameter(app.page, app.dm); /* its Sh / Ro hooks, when on */
	gw_ua_set_diameter(app.ua, app.dm);     /* Sh before an incoming session */
	app.cluster = sh_cluster_new(&cfg, eng_nworkers(e), err, sizeof(err));
	if (!app.cluster && err[0]) {
		CM_ERR("%s", err);
		goto out;
	}
	app.n = eng_nworkers(e);
	if (gw_ua_enabled(app.ua) && app.cluster) {
		sh_cluster_set_orphans(app.cluster, on_orphan, e);
		gw_ua_set_takeover(app.ua, takeover_session); /* in-dialog SIP for a dead node */
		gw_ua_set_handoff(app.ua, handoff_session);   /* an MSRP peer that came here */
		gw_ua_set_forward(app.ua, forward_sip, remote_send); /* ... for a live one */
	}
	app.w = calloc(app.n, sizeof(*app.w));
	/* before the workers: the node they start sends its requests received as events; with
	 * Diameter off its routes answer 503 */
	api_diameter_register(app.dm);
	api_cc_register(app.cc);
	if (!app.w || eng_start(e, worker_init, NULL) < 0) {
		CM_ERR("engine: workers did not start");
		goto out;
	}
	/* every worker opens its listeners in worker_init: wait for them, stop on failure */
	for (int i = 0; i < 1000 && atomic_load(&app.inited) < eng_nworkers(e); i++)
		usleep(5000);
	int failed = atomic_load(&app.inited) < eng_nworkers(e);
	for (unsigned i = 0; i < eng_nworkers(e); i++)
		if (!app.w[i].msrp || !app.w[i].ua || (app.page && !app.w[i].page) ||
		    app.w[i].cluster_failed || app.w[i].diameter_failed || app.w[i].cc_failed) {
			CM_ERR("worker %u: %s: %s", i, app.w[i].diameter_failed ? "diameter"
						     : app.w[i].cc_failed ? "cc"
						     : app.w[i].msrp ? "sip" : "msrp",
			       app.w[i].err[0] ? app.w[i].err : "did not start");
			failed = 1;
		}
	if (failed)
		goto out;
	for (size_t i = 0; i < cfg.msrp.listen.n; i++)
		CM_INFO("msrp listening on %s (tcp)", cfg.msrp.listen.v[i]);
	for (size_t i = 0; i < cfg.msrps.listen.n; i++)
		CM_INFO("msrp listening on %s (tls)", cfg.msrps.listen.v[i]);
	for (size_t i = 0; i < cfg.msrp.ws_listen.n; i++)
		CM_INFO("msrp listening on %s (ws)", cfg.msrp.ws_listen.v[i]);
	for (size_t i = 0; i < cfg.msrp.wss_listen.n; i++)
		CM_INFO("msrp listening on %s (wss)", cfg.msrp.wss_listen.v[i]);
	for (size_t i = 0; i < cfg.sip.listen.n; i++)
		CM_INFO("sip listening on %s", cfg.sip.listen.v[i]);
	CM_INFO("ua: %s", gw_ua_enabled(app.ua) ? "on (REST /v1/sessions, inbound INVITEs with "
		"MSRP)" : "off (ua.enabled = false)");
	api_sessions_register(app.ua);
	api_sessions_set_pager(app.pager);
	api_sessions_set_files(app.files);
	if (app.cluster && gw_ua_enabled(app.ua)) {
		api_sessions_set_takeover(takeover_session);
		api_sessions_set_durable(durable_message);
		api_sessions_set_forward(forward_session);
	}
	/* a file is one MSRP message: what the peer's reassembly takes is ours too */
	api_set_large_body_max((size_t)(cfg.rcs.file_max < cfg.msrp.max_message
						 ? cfg.rcs.file_max : cfg.msrp.max_message));
	api_gateway_register(app.page, app.ua);
	api_caps_register(gw_ua_enabled(app.ua) ? caps_at : NULL, app.n,
			  (unsigned)cfg.rcs.capability_timeout_ms);
	if (app.cc)
		CM_INFO("cc: on (flows and agents at /v1/cc; chats to a flow's uri are queued)");
	CM_INFO("gateway: %s", app.page ? "on (SIP MESSAGE <-> MSRP sessions)"
					: "off (gateway.enabled = false)");
	if (list_routes) { /* the router as api_start would take it, one "METHOD /path" a line */
		api_routes_print(stdout);
		rc = 0;
		goto out;
	}
	/* metrics and statuses before the API answers: a first scrape sees every family */
	api_metrics_register_worker(msrp_metrics, sizeof(msrp_metrics) / sizeof(msrp_metrics[0]),
				    msrp_collect, NULL);
	api_metrics_register_worker(hep_metrics, sizeof(hep_metrics) / sizeof(hep_metrics[0]),
				    hep_collect, NULL);
	if (app.hep)
		CM_INFO("trace: HEP v3 to %s (%s)", cfg.trace.collector,
			cfg.trace.peers.n ? "peers in trace.peers" : "every peer");
	api_metrics_register_worker(ua_metrics, sizeof(ua_metrics) / sizeof(ua_metrics[0]),
				    ua_collect, NULL);
	if (traffic_register((const char *const[]){ "rcsgw_msrp_requests_total",
						    "rcsgw_msrp_responses_total" },
			     (const char *const[]){
				     "MSRP requests received (in) and sent (out), by method.",
				     "MSRP responses received (in) and sent (out), by status code." },
			     msrp_conn_method_names, MSRP_CONN_METHODS, msrp_conn_code_names,
			     MSRP_CONN_CODES, msrp_traffic_collect) < 0 ||
	    traffic_register((const char *const[]){ "rcsgw_sip_requests_total",
						    "rcsgw_sip_responses_total" },
			     (const char *const[]){
				     "SIP requests received (in) and sent (out), by method.",
				     "SIP responses received (in) and sent (out), by status code "
				     "(the common ones) or class." },
			     sip_transport_method_names, SIP_TP_METHODS,
			     sip_transport_code_names, SIP_TP_CODES, sip_traffic_collect) < 0 ||
	    limits_register() < 0 || slow_register() < 0 ||
	    sessions_register() < 0 ||
	    api_metrics_register_worker_hist(latency_hists,
					     sizeof(latency_hists) / sizeof(latency_hists[0]),
					     latency_collect, NULL) < 0)
		CM_WARN("metrics: the labeled families could not all be registered");
	status_publish(&cfg, e);
	api_diameter_started();
	api_cc_started();
	if (app.cluster) {
		api_metrics_register(cluster_emit, NULL);
		api_metrics_register_worker(repl_metrics,
					    sizeof(repl_metrics) / sizeof(repl_metrics[0]),
					    repl_collect, NULL);
		api_metrics_register_worker(bus_metrics,
					    sizeof(bus_metrics) / sizeof(bus_metrics[0]),
					    bus_collect, NULL);
		CM_INFO("cluster: node %s, Redis %s (user-agent sessions written behind, taken "
			"over on a REST request or a peer's in-dialog request, REST requests for a live "
			"node's sessions passed on to it)",
			sh_cluster_node_id(app.cluster), sh_cluster_where(app.cluster));
	}
	if (app.pager)
		api_metrics_register(pager_emit, NULL);
	if (gw_ua_enabled(app.ua))
		api_metrics_register_worker(caps_metrics,
					    sizeof(caps_metrics) / sizeof(caps_metrics[0]),
					    caps_collect, NULL);
	if (app.page)
		api_metrics_register_worker(page_metrics,
					    sizeof(page_metrics) / sizeof(page_metrics[0]),
					    page_collect, NULL);
	if (app.relay)
		api_metrics_register_worker(relay_metrics,
					    sizeof(relay_metrics) / sizeof(relay_metrics[0]),
					    relay_collect, NULL);
	if (api_start(&cfg, e, err, sizeof(err)) < 0) {
		CM_ERR("api: %s", err);
		goto out;
	}
	for (size_t i = 0; i < cfg.api.listen.n; i++)
		CM_INFO("api listening on http://%s/v1/status", cfg.api.listen.v[i]);
	int sig = wait_signal(&set, e);
	/* engine.drain_timeout bounds the whole stop, the DPRs included (an orchestrator's
	 * SIGKILL comes after its own grace period: docker's 10 s by default) */
	uint64_t deadline = now_ms() + (uint64_t)cfg.engine.drain_timeout_ms;
	/* first: its peers hear a DPR and close (the drain waits for every connection) */
	if (app.dm && dm_svc_shutdown(app.dm, e, cfg.engine.drain_timeout_ms < 2000
						  ? (unsigned)cfg.engine.drain_timeout_ms : 2000) < 0)
		CM_WARN("diameter: not every peer answered the DPR in time");
	if (sig == SIGTERM) {
		CM_INFO("SIGTERM: draining (no new connections; up to %lld ms for %llu open and "
			"%lld events held for webhooks)", (long long)cfg.engine.drain_timeout_ms,
			(unsigned long long)eng_open_conns(e), (long long)api_events_held());
		cm_sr_set("engine", CM_SR_NOT_READY, "draining: no new connections");
		eng_drain(e);
		/* the events held for webhooks (the status.changed just published among them) go out,
		 * retries at once; what is still held when the API stops is counted and logged
		 * there (SSE streams are not waited for) */
		api_events_drain();
		/* a second SIGTERM or a SIGINT cuts the drain short */
		sigset_t pending;
		while ((eng_open_conns(e) > 0 || api_events_held() > 0) && now_ms() < deadline) {
			usleep(20000);
			sigpending(&pending);
			if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM))
				break;
		}
		if (eng_open_conns(e) > 0)
			CM_WARN("drain: %llu connections still open, closing them",
				(unsigned long long)eng_open_conns(e));
	} else {
		CM_INFO("SIGINT: stopping");
	}
	api_stop();
	CM_INFO("stopping");
	rc = 0;
out:
	/* every exit after the configuration loaded: what was made is undone, in order */
	cluster_done = !atomic_load(&app.inited) || (e && cluster_stop(e));
	if (e)
		eng_destroy(e);
	eng_hep_shared_free(app.hep); /* the workers' senders are gone with them */
	app.hep = NULL;
	if (cluster_done)
		sh_cluster_free(app.cluster); /* else a worker may still hold it: left to exit */
	app.cluster = NULL;
	dm_svc_free(app.dm);
	app.dm = NULL;
	shutdown_msrp();
	cc_svc_free(app.cc); /* after the user agents: their sessions' owners were its chats */
	app.cc = NULL;
	if (rc == 0)
		CM_INFO("stopped");
	cm_config_free(&cfg);
	return rc;
}
