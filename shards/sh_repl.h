/* sh_repl.h — one worker's user-agent sessions written behind to Redis (issue 8): a session
 * that comes or changes state is claimed (shards/sh_node: epoch 1, ours) and its record
 * (gw_ua_snapshot, shards/session.proto) written at the next tick — several changes within
 * a tick make one write, pipelined with the others —, fenced by its epoch, with a TTL; a
 * session that is over has its record released (deleted). Redis down: the changes wait in
 * the table (one entry per session) and go when it is back.
 *
 * On the worker's thread; its counters readable from any thread. */
#ifndef SH_REPL_H
#define SH_REPL_H

#include <stdint.h>

#include "engine/eng.h"
#include "engine/eng_redis.h"
#include "gateway/gw_ua.h"
#include "shards/sh_node.h"

#define SH_REPL_TICK_MS 10
#define SH_REPL_TTL_MS 3600000         /* a record nobody refreshes goes after an hour */

struct sh_repl;

struct sh_repl_stats {
	uint64_t writes, write_failures, fenced, claims, releases, pending;
	uint64_t lag_ms;                   /* change to acknowledged write, the last one */
	uint64_t lag_max_ms;               /* the longest so far */
};

/* The replication of <ua>'s sessions through <node> (taken: freed with it) over <link>
 * (not taken: the one <node> uses). It plugs itself into <ua> (gw_ua_set_repl). NULL: out
 * of memory. */
struct sh_repl *sh_repl_new(eng_worker *w, struct gw_ua *ua, struct sh_node *node,
			    struct eng_redis *link);
/* Unplugs from the user agent, frees the node handle (no more callbacks) and the table. */
void sh_repl_free(struct sh_repl *r);
/* Its node handle (for a takeover on this worker). */
struct sh_node *sh_repl_node(const struct sh_repl *r);
/* Any thread (relaxed). */
void sh_repl_stats(const struct sh_repl *r, struct sh_repl_stats *out);

#endif
