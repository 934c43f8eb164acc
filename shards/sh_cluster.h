/* sh_cluster.h — the node's place in the cluster, from the configuration (redis.url,
 * cluster.*): on every worker a Redis link and the write-behind of its user-agent sessions
 * (sh_repl); on worker 0 the node's heartbeat (sh_node) too; a state any thread can read
 * for /v1/status and /metrics, and the takeover of a dead node's session (its record read
 * back) for the API. Issue 8 in progress.
 *
 * State: SH_CLUSTER_OFF (no redis.url), SH_CLUSTER_STARTING (never reached Redis yet),
 * SH_CLUSTER_READY (connected, heartbeat taken within its ttl), SH_CLUSTER_DEGRADED (Redis
 * lost after it was reached: everything goes on from memory, the link reconnects). */
#ifndef SH_CLUSTER_H
#define SH_CLUSTER_H

#include <stddef.h>

#include "common/cm_config.h"
#include "engine/eng.h"
#include "gateway/gw_ua.h"
#include "shards/sh_repl.h"

enum sh_cluster_state {
	SH_CLUSTER_OFF = 0,
	SH_CLUSTER_STARTING,
	SH_CLUSTER_READY,
	SH_CLUSTER_DEGRADED,
};

struct sh_cluster;

/* From <cfg>: NULL with <err> "" when redis.url is empty (no cluster), NULL with <err>
 * saying why when it is wrong (a URL that does not parse, a host that does not resolve, a
 * bad cluster.node_id). With sentinel:// every worker asks the Sentinels (in turn, the
 * next when one does not answer) where the master is — often while the master does not
 * answer, every 5 s while it does — and follows it after a failover. */
struct sh_cluster *sh_cluster_new(const struct cm_config *cfg, unsigned nworkers, char *err,
				  size_t len);
/* On worker <w>'s thread: connects, replicates <ua>'s sessions and <relay>'s (NULL: none),
 * and on worker 0 starts the heartbeat. 0 or -ENOMEM. */
struct msrp_relay;
int sh_cluster_start(struct sh_cluster *c, eng_worker *w, struct gw_ua *ua,
		     struct msrp_relay *relay);
/* On the same worker's thread, before the engine goes: what it started lets go. */
void sh_cluster_stop(struct sh_cluster *c, eng_worker *w);
/* The replication counters of worker <i> (zeros when it has none). Any thread. */
struct sh_repl_stats;
void sh_cluster_repl_stats(const struct sh_cluster *c, unsigned i, struct sh_repl_stats *out);
/* After sh_cluster_stop() (or when never started). NULL is fine. */
void sh_cluster_free(struct sh_cluster *c);

/* Takes session <id> over from a dead node on worker <w> (its thread): <fn>(arg, rc, epoch,
 * owner, record, len, p, np) as sh_node_takeover() says it (rc 1 with the record and the
 * pending messages, 0 its owner lives: <owner>,
 * -ENOENT nobody owns it, -EIO). 0, or -EIO (no replication on this worker: <fn> is not
 * called). */
typedef void (*sh_cluster_take_fn)(void *arg, int rc, uint64_t epoch, const char *owner,
				   const char *record, size_t len,
				   const struct sh_node_pending *p, size_t np);
int sh_cluster_takeover(struct sh_cluster *c, eng_worker *w, const char *id,
			sh_cluster_take_fn fn, void *arg);
/* Cross-node routing (issue 8): a REST request for a session that live node <owner> owns
 * (on its worker <worker>) passed on to it through Redis (sh_bus), and run there by its own
 * API as it came (marked with SH_CLUSTER_FORWARDED_HEADER: not passed on again). <fn>(arg,
 * status, content type, body, len) gets its answer, or 504 (no answer within
 * <timeout_ms>), 502 (it could not run it), with a JSON error body; exactly once, later. 0,
 * or -errno (nothing sent, <fn> not called). On worker <w>'s thread. */
#define SH_CLUSTER_FORWARDED_HEADER "Rcsgw-Forwarded-By" /* API_FORWARDED_HEADER's twin */
struct sh_cluster_http_req {
	const char *method, *path, *query;
	const char *const *hdrs;       /* "Name: value" lines */
	size_t nhdrs;
	const void *body;
	size_t len;
	uint32_t owner;                /* 1 + the index in api.tokens of the client's token
					* (the nodes share that list), 0: none */
};
typedef void (*sh_cluster_http_fn)(void *arg, unsigned status, const char *ctype,
				   const char *body, size_t len);
int sh_cluster_forward(struct sh_cluster *c, eng_worker *w, const char *owner, unsigned worker,
		       const struct sh_cluster_http_req *req, uint32_t timeout_ms,
		       sh_cluster_http_fn fn, void *arg);
/* ... and SIP: an in-dialog request for a session live node <owner> owns passed on to its
 * worker <worker> (gw_ua_forward_fn), and what the owner sends for such a request carried
 * back to the node it came through (gw_ua_remote_send_fn, <ref> from
 * gw_ua_take_forwarded). 0 or -errno. On worker <w>'s thread. */
struct sip_dest;
int sh_cluster_forward_sip(struct sh_cluster *c, eng_worker *w, const char *owner,
			   unsigned worker, const char *raw, size_t len,
			   const struct sip_dest *src);
int sh_cluster_remote_send(struct sh_cluster *c, eng_worker *w, uint32_t ref, const char *buf,
			   size_t len);
/* ... and MSRP: the peer of session <id>, which live node <owner> holds, bound again here
 * (a new connection through a balancer: the old one is gone to it). <owner>'s worker
 * <worker> is asked to hand the session on (sh_repl_yield); <fn>(<arg>, status) once,
 * later: 200 it did — the session is then taken over here —, 404/409/410 it did not, 503
 * or 504 (no answer) it may have: a takeover tells. 0 or -errno (not asked). On worker
 * <w>'s thread. */
typedef void (*sh_cluster_handoff_fn)(void *arg, int status);
int sh_cluster_handoff(struct sh_cluster *c, eng_worker *w, const char *owner, unsigned worker,
		       const char *id, sh_cluster_handoff_fn fn, void *arg);
/* The bus counters of worker <i> (zeros when it has none). Any thread. */
struct sh_bus_stats;
void sh_cluster_bus_stats(const struct sh_cluster *c, unsigned i, struct sh_bus_stats *out);

/* <n> pending messages of <id> that cannot be sent again (sh_repl_undeliverable). */
void sh_cluster_undeliverable(struct sh_cluster *c, eng_worker *w, const char *id, size_t n);
/* Once the session taken over is adopted: its pending messages <p> (from <fn>) sent again
 * (sh_repl_replay). How many went. */
unsigned sh_cluster_replay(struct sh_cluster *c, eng_worker *w, const char *id,
			   const struct sh_node_pending *p, size_t np);
/* sh_repl_durable() on worker <w> (its thread): 0 when it has no replication. */
int sh_cluster_durable(struct sh_cluster *c, eng_worker *w, const char *id, const char *mid,
		       sh_repl_durable_fn fn, void *arg);

/* Who takes over the sessions of dead nodes that hold accepted, unconfirmed messages:
 * worker 0 looks for them (every cluster.heartbeat_ttl / 2) and calls <fn>(<arg>, id) on
 * its thread for each; <fn> has the session's worker take it over (sh_cluster_takeover,
 * which one node only wins). Before the workers start; NULL: nobody does. */
typedef void (*sh_cluster_orphan_fn)(void *arg, const char *id);
void sh_cluster_set_orphans(struct sh_cluster *c, sh_cluster_orphan_fn fn, void *arg);

/* Lets session <id> (ours at <epoch>) go in Redis: a takeover whose session could not be
 * adopted here. On worker <w>'s thread; nothing told. */
void sh_cluster_release(struct sh_cluster *c, eng_worker *w, const char *id, uint64_t epoch);

/* Any thread. SH_CLUSTER_OFF for NULL. */
enum sh_cluster_state sh_cluster_state(const struct sh_cluster *c);
/* "off", "starting", "ready", "degraded". */
const char *sh_cluster_state_name(enum sh_cluster_state s);
/* The node's id and where it is registered (for logs). */
const char *sh_cluster_node_id(const struct sh_cluster *c);
const char *sh_cluster_where(const struct sh_cluster *c);

#endif
