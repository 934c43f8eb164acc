/* msrp_svc.h — the daemon's MSRP endpoint on one worker: listeners on the msrp (TCP),
 * msrps (TLS), ws and wss (WebSocket, RFC 7977) addresses, every accepted connection an
 * msrp_conn, each request handed to the session its To-Path names.
 *
 * Sessions are made by the applications above (the relay's AUTH, the user agent's calls:
 * issues to come). A SEND or REPORT naming no session of this node gets what RFC 4975
 * §7.3 says a receiver of an unknown session answers: 481 for a SEND, nothing for a
 * REPORT. AUTH is refused with 403 while no relay credentials are configured (RFC 4976 §5:
 * a relay that does not authorize the client). */
#ifndef MSRP_SVC_H
#define MSRP_SVC_H

#include "common/cm_config-t.h"
#include "engine/eng.h"
#include "engine/eng_dns-t.h"
#include "msrp/msrp_conn.h"
#include "msrp/msrp_creds_src.h"
#include "msrp/msrp_egress.h"
#include "msrp/msrp_relay.h"

struct msrp_svc;

struct msrp_svc_cfg {
	struct msrp_conn_cfg conn;
	const struct cm_strlist *tcp;   /* "host:port" for MSRP over TCP */
	const struct cm_strlist *tls;   /* "host:port" for MSRP over TLS */
	const struct cm_strlist *ws;    /* "host:port" for MSRP over WebSocket */
	const struct cm_strlist *wss;   /* "host:port" for MSRP over WebSocket over TLS */
	struct msrp_ws_cfg ws_cfg;      /* limits and deadlines of the WebSocket transport */
	uint32_t chunk_size;            /* msrp.chunk_size: chunks of the messages we send */
	struct msrp_reasm_cfg reasm;    /* msrp.max_message, max_chunks, reassembly_timeout:
					 * whole incoming messages for the applications */
	eng_tls_ctx *tls_ctx;           /* required when <tls> or <wss> is not empty */
	struct msrp_relay_shared *relay; /* NULL: no relay (AUTH 403, foreign SENDs 481) */
	const struct msrp_creds_src_cfg *creds; /* the relay's credential sources, or NULL */
	eng_tls_ctx *client_tls;        /* for msrps next hops; NULL: msrps hops fail */
	const struct msrp_egress_rules *egress_rules; /* relay.egress, or NULL */
	const char *egress_hook;        /* relay.egress_hook, "" or NULL: none */
	uint32_t hook_timeout_ms, hook_cache_ttl_ms;
	struct eng_dns_config dns;      /* the worker's resolver (dns.servers, dns.timeout); its
					 * server strings are the config's */
};

/* The embedded defaults, with the limits and timeouts of the [msrp] section of <cfg>. The
 * relay forwards chunks as they come; <chunk_size> and <reasm> are for the applications that
 * send and receive whole messages (user agent, gateway). */
void msrp_svc_cfg_from(struct msrp_svc_cfg *out, const struct cm_config *cfg);

/* Starts the endpoint on worker <w> (its own thread): listens on every address with
 * SO_REUSEPORT. NULL with <err> filled when a listener cannot be opened. The listeners
 * belong to the engine from then on: eng_drain() and the worker's stop close them. */
struct msrp_svc *msrp_svc_start(eng_worker *w, const struct msrp_svc_cfg *cfg, char *err,
				size_t errlen);
/* Frees what is left once the worker has stopped (its connections are gone). */
void msrp_svc_free(struct msrp_svc *s);
/* A reload (SIGHUP), on <s>'s worker: the relay takes <cfg>'s credentials file (and
 * whether any source is set) and egress rules (making its egress when it had none). What
 * <cfg> points to must stay until the next reload. 0, or -ENOMEM (the old rules kept). */
int msrp_svc_reload(struct msrp_svc *s, const struct msrp_svc_cfg *cfg);

/* Counters of the worker's MSRP connections and parsers (worker's thread). */
const struct msrp_conn_stats *msrp_svc_conn_stats(const struct msrp_svc *s);
const struct msrp_parse_stats *msrp_svc_parse_stats(const struct msrp_svc *s);
const struct msrp_ws_stats *msrp_svc_ws_stats(const struct msrp_svc *s);
/* The relay of the worker, NULL when none. */
const struct msrp_relay *msrp_svc_relay(const struct msrp_svc *s);
struct msrp_relay *msrp_svc_relay_of(struct msrp_svc *s);
/* Port actually bound by the first TCP listener (tests use port 0), 0 when none. */
int msrp_svc_tcp_port(const struct msrp_svc *s);
/* The worker's MSRP connection layer (for the user agent's own connections). */
struct msrp_worker *msrp_svc_worker(const struct msrp_svc *s);
/* The worker's user agent (msrp_ua.h): requests for its sessions reach it through the relay
 * (msrp_relay_set_ua), or, with no relay, accepted connections are wholly its. Set it on the
 * worker's thread before the loop accepts (in the worker's init). NULL: none. */
struct msrp_ua;
void msrp_svc_set_ua(struct msrp_svc *s, struct msrp_ua *ua);

#endif
