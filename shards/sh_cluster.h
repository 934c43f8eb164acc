/* sh_cluster.h — the node's place in the cluster, from the configuration (redis.url,
 * cluster.*): one Redis link and the node's heartbeat (sh_node), run by one worker, with a
 * state any thread can read for /v1/status and /metrics. Issue 8 in progress: sessions are
 * not replicated through it yet.
 *
 * State: SH_CLUSTER_OFF (no redis.url), SH_CLUSTER_STARTING (never reached Redis yet),
 * SH_CLUSTER_READY (connected, heartbeat taken within its ttl), SH_CLUSTER_DEGRADED (Redis
 * lost after it was reached: everything goes on from memory, the link reconnects). */
#ifndef SH_CLUSTER_H
#define SH_CLUSTER_H

#include <stddef.h>

#include "common/cm_config.h"
#include "engine/eng.h"

enum sh_cluster_state {
	SH_CLUSTER_OFF = 0,
	SH_CLUSTER_STARTING,
	SH_CLUSTER_READY,
	SH_CLUSTER_DEGRADED,
};

struct sh_cluster;

/* From <cfg>: NULL with <err> "" when redis.url is empty (no cluster), NULL with <err>
 * saying why when it is wrong (a URL that does not parse, sentinel:// not taken yet, a host
 * that does not resolve, a bad cluster.node_id). */
struct sh_cluster *sh_cluster_new(const struct cm_config *cfg, char *err, size_t len);
/* On worker <w>'s thread: connects, starts the heartbeat. 0 or -ENOMEM. */
int sh_cluster_start(struct sh_cluster *c, eng_worker *w);
/* On the same worker's thread, before the engine goes: the link and the node let go. */
void sh_cluster_stop(struct sh_cluster *c);
/* After sh_cluster_stop() (or when never started). NULL is fine. */
void sh_cluster_free(struct sh_cluster *c);

/* Any thread. SH_CLUSTER_OFF for NULL. */
enum sh_cluster_state sh_cluster_state(const struct sh_cluster *c);
/* "off", "starting", "ready", "degraded". */
const char *sh_cluster_state_name(enum sh_cluster_state s);
/* The node's id and where it is registered (for logs). */
const char *sh_cluster_node_id(const struct sh_cluster *c);
const char *sh_cluster_where(const struct sh_cluster *c);

#endif
