/* msrp_svc.c — the daemon's MSRP endpoint on one worker (see msrp_svc.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"
#include "engine/eng_dns.h"
#include "msrp/msrp_parse.h"
#include "msrp/msrp_pool.h"
#include "msrp/msrp_reasm.h"
#include "msrp/msrp_svc.h"
#include "msrp/msrp_ua.h"
#include "msrp/msrp_ws.h"

#define SVC_MAX_LISTENERS 16

struct msrp_svc {
	eng_worker *w;
	struct msrp_worker *mw;
	unsigned nl;                   /* listeners opened (the engine closes them) */
	int tcp_port;
	struct msrp_ws_cfg ws_cfg;     /* outlives the WebSocket connections (freed after them) */
	struct msrp_relay *relay;      /* NULL: no relay */
	struct msrp_pool *pool;        /* the relay's outbound connections */
	eng_dns *dns;
	struct msrp_creds_src *creds;
	struct msrp_egress *egress;
	struct msrp_relay_shared *relay_sh;
	struct msrp_ua *ua;            /* the worker's user agent, or NULL */
};

int msrp_svc_reload(struct msrp_svc *s, const struct msrp_svc_cfg *cfg)
{
	if (!s->relay)
		return 0;
	const struct msrp_creds_src_cfg *cc = cfg->creds;
	msrp_relay_set_file(s->relay, cc ? cc->file : NULL, cc && msrp_creds_src_any(cc));
	if (s->egress)
		return msrp_egress_set_rules(s->egress, cfg->egress_rules);
	if (!cfg->egress_rules || !msrp_egress_rules_count(cfg->egress_rules))
		return 0;
	/* rules where there were none (nor a hook): the egress is made now */
	s->egress = msrp_egress_new(s->w, cfg->egress_rules, cfg->egress_hook,
				    cfg->hook_timeout_ms, cfg->hook_cache_ttl_ms);
	if (!s->egress)
		return -ENOMEM;
	msrp_relay_set_egress(s->relay, s->egress);
	return 0;
}

void msrp_svc_cfg_from(struct msrp_svc_cfg *out, const struct cm_config *cfg)
{
	memset(out, 0, sizeof(*out));
	msrp_conn_cfg_default(&out->conn);
	out->conn.limits.max_line = (uint32_t)cfg->msrp.max_line;
	out->conn.limits.max_headers = (uint32_t)cfg->msrp.max_headers;
	out->conn.limits.max_head = (uint32_t)cfg->msrp.max_head;
	out->conn.limits.max_body = (uint64_t)cfg->msrp.max_chunk;
	out->conn.txn_timeout_ms = (uint32_t)cfg->msrp.transaction_timeout_ms;
	out->conn.max_txns = (uint32_t)cfg->msrp.max_transactions;
	out->conn.idle_timeout_ms = (uint32_t)cfg->msrp.idle_timeout_ms;
	out->conn.head_timeout_ms = (uint32_t)cfg->msrp.head_timeout_ms;
	out->conn.body_timeout_ms = (uint32_t)cfg->msrp.body_timeout_ms;
	out->conn.body_min_rate = (uint32_t)cfg->msrp.body_min_rate;
	out->tcp = &cfg->msrp.listen;
	out->tls = &cfg->msrps.listen;
	out->ws = &cfg->msrp.ws_listen;
	out->wss = &cfg->msrp.wss_listen;
	msrp_ws_cfg_defaults(&out->ws_cfg);
	out->ws_cfg.max_msg = (uint64_t)cfg->msrp.ws_max_message;
	/* the upgrade request is the connection's first head: msrp.head_timeout bounds it too
	 * (the WebSocket layer's own deadline when that is shorter) */
	if (out->conn.head_timeout_ms < out->ws_cfg.handshake_timeout_ms)
		out->ws_cfg.handshake_timeout_ms = out->conn.head_timeout_ms;
	out->chunk_size = (uint32_t)cfg->msrp.chunk_size;
	msrp_reasm_cfg_defaults(&out->reasm);
	out->reasm.max_message = (uint64_t)cfg->msrp.max_message;
	out->reasm.max_chunks = (uint32_t)cfg->msrp.max_chunks;
	out->reasm.timeout_ms = (uint32_t)cfg->msrp.reassembly_timeout_ms;
	eng_dns_config_defaults(&out->dns);
	out->dns.servers = (const char *const *)cfg->dns.servers.v;
	out->dns.nservers = cfg->dns.servers.n;
	out->dns.timeout_ms = (uint32_t)cfg->dns.timeout_ms;
}

/* ---- requests ------------------------------------------------------------------------ */

static void svc_head(struct msrp_conn *mc, const struct msrp_msg *m)
{
	switch (m->method) {
	case MSRP_M_AUTH:
		msrp_conn_respond(mc, m, 403, CM_SLICE_LIT("Action-not-allowed: no relay credentials"),
				  NULL, 0);
		break;
	case MSRP_M_SEND:
		/* no session of this node carries that To-Path (§7.3) */
		msrp_conn_respond(mc, m, 481, CM_SLICE_NULL, NULL, 0);
		break;
	default:
		break; /* REPORT: never answered */
	}
}

static void svc_body(struct msrp_conn *mc, eng_buf *b, cm_slice body)
{
	(void)mc; (void)b; (void)body; /* a 481'd SEND's bytes go nowhere */
}

static void svc_end(struct msrp_conn *mc, enum msrp_flag flag)
{
	(void)mc; (void)flag;
}

static void svc_close(struct msrp_conn *mc, int err)
{
	(void)mc; (void)err;
}

static const struct msrp_conn_ops svc_ops = {
	.on_head = svc_head, .on_body = svc_body, .on_end = svc_end, .on_close = svc_close,
};

static void svc_accept(eng_listener *l, eng_conn *c)
{
	struct msrp_svc *s = l->udata;
	if (s->relay)
		msrp_conn_new(s->mw, c, msrp_relay_ops(), s->relay);
	else if (s->ua)
		msrp_conn_new(s->mw, c, msrp_ua_conn_ops(), s->ua);
	else
		msrp_conn_new(s->mw, c, &svc_ops, s);
}

/* ws and wss alike: the engine's TLS, when there is one, is below the WebSocket */
static void svc_accept_ws(eng_listener *l, eng_conn *c)
{
	struct msrp_svc *s = l->udata;
	if (s->relay)
		msrp_conn_new_ws(s->mw, c, &s->ws_cfg, msrp_relay_ops(), s->relay);
	else if (s->ua)
		msrp_conn_new_ws(s->mw, c, &s->ws_cfg, msrp_ua_conn_ops(), s->ua);
	else
		msrp_conn_new_ws(s->mw, c, &s->ws_cfg, &svc_ops, s);
}

/* The worker stops: what the relay holds on the loop (resolver, pool, credential links)
 * goes before the connections are closed. */
static void svc_stop(eng_worker *w, void *arg)
{
	struct msrp_svc *s = arg;
	(void)w;
	if (s->relay)
		msrp_relay_stop(s->relay);
	msrp_pool_free(s->pool);
	s->pool = NULL;
	if (s->relay)
		msrp_relay_set_pool(s->relay, NULL);
	msrp_egress_free(s->egress);
	s->egress = NULL;
	if (s->relay)
		msrp_relay_set_egress(s->relay, NULL);
	msrp_creds_src_free(s->creds);
	s->creds = NULL;
	if (s->relay)
		msrp_relay_set_creds(s->relay, NULL);
	eng_dns_free(s->dns);
	s->dns = NULL;
}

/* ---- life cycle ---------------------------------------------------------------------- */

/* Listens on every address of <addrs> (the key <key>), with <tls> when not NULL, handing
 * connections to <accept>. 0, or -errno with <err> filled. */
static int listen_all(struct msrp_svc *s, const struct cm_strlist *addrs, const char *key,
		      eng_tls_ctx *tls, eng_accept_fn accept, char *err, size_t errlen)
{
	for (size_t i = 0; addrs && i < addrs->n; i++) {
		int rc = 0;
		if (s->nl == SVC_MAX_LISTENERS) {
			snprintf(err, errlen, "more than %d MSRP listen addresses", SVC_MAX_LISTENERS);
			return -E2BIG;
		}
		eng_listener *l = eng_listen(s->w, addrs->v[i], ENG_LISTEN_REUSEPORT, tls,
					     accept, s, &rc);
		if (!l) {
			snprintf(err, errlen, "%s %s: %s", key, addrs->v[i], strerror(-rc));
			return rc;
		}
		if (!tls && accept == svc_accept && !s->tcp_port)
			s->tcp_port = eng_listener_port(l);
		if (s->relay)
			msrp_relay_note_port(s->relay_sh, eng_listener_port(l));
		s->nl++;
	}
	return 0;
}

struct msrp_svc *msrp_svc_start(eng_worker *w, const struct msrp_svc_cfg *cfg, char *err,
				size_t errlen)
{
	struct msrp_svc *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->w = w;
	s->ws_cfg = cfg->ws_cfg;
	s->mw = msrp_worker_new(w, &cfg->conn);
	if (!s->mw) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	if (((cfg->tls && cfg->tls->n) || (cfg->wss && cfg->wss->n)) && !cfg->tls_ctx) {
		snprintf(err, errlen, "%s is set but no TLS context was made",
			 cfg->tls && cfg->tls->n ? "msrps.listen" : "msrp.wss_listen");
		goto fail;
	}
	if (cfg->relay) {
		char derr[256];
		s->relay_sh = cfg->relay;
		s->relay = msrp_relay_new(cfg->relay, w, s->mw);
		if (!s->relay) {
			snprintf(err, errlen, "relay: out of memory");
			goto fail;
		}
		s->dns = eng_dns_new(w, &cfg->dns, derr, sizeof(derr));
		if (!s->dns)
			CM_WARN("relay: no resolver (%s): next hops must be IP addresses", derr);
		s->pool = msrp_pool_new(s->mw, s->dns, cfg->client_tls, msrp_relay_ops(), s->relay);
		if (!s->pool) {
			snprintf(err, errlen, "relay: out of memory");
			goto fail;
		}
		msrp_relay_set_pool(s->relay, s->pool);
		if (cfg->creds && msrp_creds_src_any(cfg->creds)) {
			s->creds = msrp_creds_src_new(w, cfg->creds);
			if (!s->creds) {
				snprintf(err, errlen, "relay: the credential sources cannot be set up");
				goto fail;
			}
			msrp_relay_set_creds(s->relay, s->creds);
		}
		if ((cfg->egress_rules && msrp_egress_rules_count(cfg->egress_rules)) ||
		    (cfg->egress_hook && cfg->egress_hook[0])) {
			s->egress = msrp_egress_new(w, cfg->egress_rules, cfg->egress_hook,
						    cfg->hook_timeout_ms, cfg->hook_cache_ttl_ms);
			if (!s->egress) {
				snprintf(err, errlen, "relay: the egress rules cannot be set up");
				goto fail;
			}
			msrp_relay_set_egress(s->relay, s->egress);
		}
		eng_worker_on_stop(w, svc_stop, s);
	}
	if (listen_all(s, cfg->tcp, "msrp.listen", NULL, svc_accept, err, errlen) < 0 ||
	    listen_all(s, cfg->tls, "msrps.listen", cfg->tls_ctx, svc_accept, err, errlen) < 0 ||
	    listen_all(s, cfg->ws, "msrp.ws_listen", NULL, svc_accept_ws, err, errlen) < 0 ||
	    listen_all(s, cfg->wss, "msrp.wss_listen", cfg->tls_ctx, svc_accept_ws, err,
		       errlen) < 0)
		goto fail;
	return s;
fail:
	/* listeners already opened stay with the engine, which closes them as it stops:
	 * a failed start ends the daemon */
	svc_stop(w, s);
	eng_worker_off_stop(w, svc_stop, s);
	msrp_relay_free(s->relay);
	msrp_worker_free(s->mw);
	free(s);
	return NULL;
}

void msrp_svc_free(struct msrp_svc *s)
{
	if (!s)
		return;
	msrp_relay_free(s->relay);
	msrp_worker_free(s->mw);
	free(s);
}

const struct msrp_relay *msrp_svc_relay(const struct msrp_svc *s)
{
	return s->relay;
}

struct msrp_relay *msrp_svc_relay_of(struct msrp_svc *s)
{
	return s->relay;
}

const struct msrp_conn_stats *msrp_svc_conn_stats(const struct msrp_svc *s)
{
	return msrp_worker_stats(s->mw);
}

const struct msrp_parse_stats *msrp_svc_parse_stats(const struct msrp_svc *s)
{
	return msrp_worker_parse_stats(s->mw);
}

const struct msrp_ws_stats *msrp_svc_ws_stats(const struct msrp_svc *s)
{
	return msrp_worker_ws_stats(s->mw);
}

int msrp_svc_tcp_port(const struct msrp_svc *s)
{
	return s->tcp_port;
}

struct msrp_worker *msrp_svc_worker(const struct msrp_svc *s)
{
	return s->mw;
}

void msrp_svc_set_ua(struct msrp_svc *s, struct msrp_ua *ua)
{
	s->ua = ua;
	if (s->relay)
		msrp_relay_set_ua(s->relay, ua);
}
