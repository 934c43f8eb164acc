/* sh_repl.h — one worker's user-agent sessions written behind to Redis (issue 8): a session
 * that comes or changes state is claimed (shards/sh_node: epoch 1, ours) and its record
 * (gw_ua_snapshot, shards/session.proto) written at the next tick — several changes within
 * a tick make one write, pipelined with the others —, fenced by its epoch, with a TTL; a
 * session that is over has its record released (deleted). Redis down: the changes wait in
 * the table (one entry per session) and go when it is back. A live session's record is
 * written again every SH_REPL_REFRESH_MS (its TTL would end it otherwise), and all of them
 * on each new connection to Redis (which may have lost them).
 *
 * Durable delivery: each message the API's sessions accept is appended at once to the
 * session's stream (fenced) and its entry removed when the message is confirmed (the 200
 * of its last chunk, or a failure the application was told of); while Redis is away the
 * messages are held in memory (SH_REPL_MAX_HELD per worker) and appended when it is back.
 * A node that takes a session over sends them again (sh_repl_replay).
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
#define SH_REPL_REFRESH_MS (SH_REPL_TTL_MS / 4) /* a live session's record written again */
#define SH_REPL_REFRESH_SLICE 8        /* buckets of the table looked at each second */

struct sh_repl;

#define SH_REPL_MAX_HELD 65536      /* messages held in memory for Redis (away), per worker */
/* bytes of appended, unconfirmed messages kept in memory too (to append them again should
 * Redis lose them), per worker; beyond, one that Redis loses is lost */
#define SH_REPL_MAX_KEPT_BYTES (64u * 1024 * 1024)

/* Replication lag histograms (upper bounds in µs; one more bucket above the last):
 * [0] a session record, from its change to its write acknowledged (ms resolution: the
 * write waits for the next 10 ms tick); [1] an accepted message, from its acceptance to
 * its append acknowledged (what the API's 202 waits for). */
#define SH_REPL_LAG_BUCKETS 12
extern const uint64_t sh_repl_lag_le_us[SH_REPL_LAG_BUCKETS];
struct sh_repl_lag {
	uint64_t bucket[SH_REPL_LAG_BUCKETS + 1]; /* not cumulative; the last: above all */
	uint64_t sum_us, count;
};

struct sh_repl_stats {
	uint64_t writes, write_failures, fenced, claims, releases, pending;
	uint64_t lag_ms;                   /* change to acknowledged write, the last one */
	uint64_t lag_max_ms;               /* the longest so far */
	/* accepted messages: appended to their session's stream, appends that failed (held,
	 * again later), entries removed once confirmed, sent again after a takeover, not kept
	 * (beyond SH_REPL_MAX_HELD, fenced, out of memory), kept now (a gauge) */
	uint64_t kept, keep_failures, unkept, replayed, not_kept, kept_now;
	/* appended again after a new connection to Redis; records written again before their
	 * TTL; messages of a session taken over and not adoptable (undeliverable) */
	uint64_t reappended, refreshes, undeliverable;
	/* sessions let go here after a fenced write (another node took them over); handed on
	 * to the live node their peer went to (sh_repl_yield) */
	uint64_t moved, handed_on;
};
/* The lag histograms of all the process's workers, [0] records, [1] messages. Any thread. */
void sh_repl_lags(struct sh_repl_lag out[2]);

/* The replication of <ua>'s sessions (NULL: none, a relay's alone) through <node> (taken: freed with it) over <link>
 * (not taken: the one <node> uses). It plugs itself into <ua> (gw_ua_set_repl). NULL: out
 * of memory. */
struct sh_repl *sh_repl_new(eng_worker *w, struct gw_ua *ua, struct sh_node *node,
			    struct eng_redis *link);
/* The worker's relay too (issue 8): its sessions (RelayBinding records, their TTL their
 * Expires) written while they live, let go when they end, and taken over for a client that
 * binds again (msrp_relay_repl.resume). NULL unplugs it. */
struct msrp_relay;
void sh_repl_set_relay(struct sh_repl *r, struct msrp_relay *relay);
/* Unplugs from the user agent, frees the node handle (no more callbacks) and the table. */
void sh_repl_free(struct sh_repl *r);
/* Whether message <mid> of session <id>, just accepted (gw_ua_send() said 0 and <kept> it),
 * is in Redis: 1 yes; 0 no (Redis away: held in memory and appended when it is back; or
 * not kept at all); -EINPROGRESS: its append is on its way, <fn>(<arg>, 1 or 0) says it
 * once (also when the replication is freed first). */
typedef void (*sh_repl_durable_fn)(void *arg, int durable);
int sh_repl_durable(struct sh_repl *r, const char *id, const char *mid, sh_repl_durable_fn fn,
		    void *arg);
/* After session <id> was taken over and adopted: its <np> pending messages (read back from
 * its stream) sent again in order, their entries removed once confirmed. How many went. */
unsigned sh_repl_replay(struct sh_repl *r, const char *id, const struct sh_node_pending *p,
			size_t np);
/* <n> pending messages of session <id>, taken over, that cannot be sent again: the session
 * could not be adopted (its record lost or broken); counted and logged. */
void sh_repl_undeliverable(struct sh_repl *r, const char *id, size_t n);
/* The link came up (its cfg.up): on a new connection, what Redis may have lost is put back
 * at once, before anything else goes on it. */
void sh_repl_link_up(struct sh_repl *r);
/* Every live session's record written again now (as on a new connection): after the node
 * looked dead for a while (its heartbeat lapsed), the writes of the sessions another node
 * took over meanwhile are fenced, and those sessions are let go here. */
void sh_repl_revalidate(struct sh_repl *r);
/* Node <to>, alive, asks for session <id>: its peer (MSRP) went there. Only a session up
 * whose peer's connection here broke (gw_ua_handing) is handed on: once its accepted
 * messages are all in its stream, its last record is written and its ownership handed on
 * (sh_node_yield), then it is let go here as gw_ua_fenced() says, and <fn>(<arg>, status)
 * is told once: 200 (handed on: <to> takes it over now), 409 (another node's already, or
 * its peer came back here), 410 (it ended meanwhile), 503 (Redis did not answer — the
 * script may have run: <to> may try its takeover —, or the replication stops). 0, or
 * -ENOENT (not a session of ours here), -EBUSY (not to be handed on): <fn> not called. */
typedef void (*sh_repl_yield_fn)(void *arg, int status);
int sh_repl_yield(struct sh_repl *r, const char *id, const char *to, sh_repl_yield_fn fn,
		  void *arg);
/* Its node handle (for a takeover on this worker). */
struct sh_node *sh_repl_node(const struct sh_repl *r);
/* Any thread (relaxed). */
void sh_repl_stats(const struct sh_repl *r, struct sh_repl_stats *out);

#endif
