/* sh_node.h — a node of the cluster in Redis (issue 8): its heartbeat, the ownership of
 * sessions with fencing, so that two nodes never both own a session, and the messages
 * accepted and not yet confirmed.
 *
 * Keys (<p> the prefix, "rcsgw:" by default):
 *   <p>node:<node id>        the node's advertised address; PX <ttl>, renewed every ttl/3
 *   <p>own:<session id>      hash {node, epoch, inc}: who owns the session, since which
 *                            epoch, in which incarnation of the node (a run of its
 *                            process); once it ended, a tombstone {node "", epoch} for
 *                            10 minutes
 *   <p>state:<session id>    the session's state (bytes), written by its owner only
 *   <p>msgs:<session id>     a stream: the messages accepted for the session and not yet
 *                            confirmed (one field "m", a shards/session.proto
 *                            PendingMessage); appended by its owner (fenced), an entry
 *                            removed once the message is confirmed; PX like the state
 *   <p>pend:<node id>        a set: the node's sessions whose stream is not empty
 *   <p>nodes                 a set: the nodes that ever beat (the sweeps look there for
 *                            dead ones with pending messages)
 *
 * Ownership (one Lua script, atomic in Redis): a session nobody owns is taken at epoch 1;
 * its owner claiming it again keeps its epoch; a session whose owner's heartbeat is alive is
 * refused; a session whose owner is dead is taken over at epoch + 1, but only by a claim that
 * names the epoch it saw (compare-and-set: of two nodes racing for it, one wins). Writes
 * of the state name the writer's epoch and are refused once another node took the session
 * over (fencing): a node that comes back from a pause cannot overwrite its successor.
 * An ownership Redis lost (its data gone in a restart, or the TTL ran out) is taken back
 * by its owner's next write or append at the epoch it names: nobody else holds it. A node
 * restarted with the same id takes over what its earlier incarnation left, as it would a
 * dead node's.
 *
 * One node object per process, on one worker's thread, over an eng_redis link. */
#ifndef SH_NODE_H
#define SH_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/eng.h"
#include "engine/eng_redis.h"

#define SH_NODE_ID_MAX 64
#define SH_NODE_INC_MAX 32             /* an incarnation: [A-Za-z0-9._-] */

struct sh_node;

/* 1 when <s> is 1..<max> of [A-Za-z0-9._-] (a node id, a session id, an incarnation). */
int sh_node_id_ok(const char *s, size_t max);

struct sh_node_cfg {
	const char *node_id;           /* 1..SH_NODE_ID_MAX of [A-Za-z0-9._-] */
	const char *advertise;         /* what the heartbeat key holds (how peers reach us) */
	const char *incarnation;       /* this run of the process: the same on every worker's
					* handle, another after a restart (NULL: drawn once per
					* process; else 1..SH_NODE_INC_MAX of the id's letters) */
	uint32_t ttl_ms;               /* heartbeat lifetime (at least 300) */
	const char *prefix;            /* NULL: "rcsgw:" */
	int no_heartbeat;              /* another handle of the same node beats (other workers) */
};

/* The node on <w> over <link> (not taken: it must outlive the node); heartbeats start now
 * (unless <no_heartbeat>: a worker's handle for its sessions while worker 0 beats).
 * NULL: a bad id or ttl, out of memory. */
struct sh_node *sh_node_new(eng_worker *w, struct eng_redis *link, const struct sh_node_cfg *cfg);
/* Stops the heartbeats (the key expires by itself: a node that dies does the same);
 * takeovers, appends and removals on their way are told -ECANCELED now (their owner frees
 * what it gave them), other callbacks still pending are not called. */
void sh_node_free(struct sh_node *n);

/* How many times a heartbeat was taken after more than ttl_ms without one (the process
 * paused, Redis out of reach): the node looked dead meanwhile, so other nodes may have taken
 * some of its sessions over. */
unsigned sh_node_lapses(const struct sh_node *n);
/* 1 when the last heartbeat was taken by Redis within ttl_ms and none failed since. */
int sh_node_alive(const struct sh_node *n);

/* What a claim or a write came to: <rc> 1 (ours: <epoch> is the session's epoch now), 0
 * (refused: <owner> owns it at <epoch>; a write: fenced out), or -errno (-EIO: no answer,
 * the link went). <owner> is NULL unless refused. */
typedef void (*sh_node_fn)(void *arg, int rc, uint64_t epoch, const char *owner);

/* Claims session <sid> having seen it at <seen_epoch> (0: not seen). 0 (the answer comes
 * to <fn>), -EINVAL (a bad id), -EIO (the link is down: nothing asked). */
int sh_node_claim(struct sh_node *n, const char *sid, uint64_t seen_epoch, sh_node_fn fn,
		  void *arg);
/* Writes the state of <sid> (<len> bytes at <data>, PX <ttl_ms>) if we own it at <epoch>.
 * 0 or -errno as sh_node_claim(). */
int sh_node_write(struct sh_node *n, const char *sid, uint64_t epoch, const void *data,
		  size_t len, uint32_t ttl_ms, sh_node_fn fn, void *arg);
/* Takes session <sid> over from a dead node (issue 8): in one script, if its owner's
 * heartbeat is gone it becomes ours at epoch + 1 and its record comes back. <fn>(arg, rc,
 * epoch, owner, record, len): rc 1 (ours now: <record> its bytes, "" when none), 0 (its
 * owner lives: <owner>), -ENOENT (nobody owns it, it ended, or this incarnation of the node
 * owns it already: a session of ours that is not in memory is over, not to be revived), -EIO, -ETIMEDOUT (Redis did not
 * answer within 3 s: the link is dropped), -ECANCELED (the node was freed first). Every
 * request is answered within 3 s. 0 or -errno. */
struct sh_node_pending {
	const char *entry;             /* its stream entry id */
	const char *data;              /* the message as appended */
	size_t len;
};
#define SH_NODE_PENDING_MAX 10000      /* pending messages a takeover reads back, at most */
#define SH_NODE_PENDING_MAX_S "10000"
typedef void (*sh_node_take_fn)(void *arg, int rc, uint64_t epoch, const char *owner,
				const char *record, size_t len,
				const struct sh_node_pending *pending, size_t npending);
/* ... and with rc 1, <pending> (valid during the call only) the <npending> messages of the
 * session's stream, oldest first: accepted by the dead node, never confirmed. */
int sh_node_takeover(struct sh_node *n, const char *sid, sh_node_take_fn fn, void *arg);

/* Appends messages to their sessions' streams (PX <ttl_ms>), <count> (1..
 * SH_NODE_APPEND_MAX) in one request: each to session <sid> if it is ours at <epoch> (0:
 * ours or nobody's — a claim still on its way). <fn>(arg, 1, entries, count): entries[i]
 * the stream entry id of item i, or NULL (another node owns the session: fenced); or
 * (arg, -errno, NULL, 0) (-EIO, -ETIMEDOUT): none known appended. 0 or -errno as
 * sh_node_claim(). */
#define SH_NODE_APPEND_MAX 64
struct sh_node_append_item {
	const char *sid;
	uint64_t epoch;
	const void *data;
	size_t len;
	const char *mid;               /* its Message-ID, kept with it */
	int again;                     /* appended before, maybe (its answer lost, or Redis
					* lost it): the entry of the same Message-ID if the
					* stream has it, else a new one */
};
typedef void (*sh_node_append_fn)(void *arg, int rc, const char *const *entries, size_t n);
int sh_node_append(struct sh_node *n, const struct sh_node_append_item *items, size_t count,
		   uint32_t ttl_ms, sh_node_append_fn fn, void *arg);
/* Removes the <count> entries <entries> (1..SH_NODE_UNKEEP_MAX) of the stream of <sid>
 * (their messages were confirmed): <fn>(arg, 1 or -errno). 0 or -errno. */
#define SH_NODE_UNKEEP_MAX 64
typedef void (*sh_node_unkeep_fn)(void *arg, int rc);
int sh_node_unkeep(struct sh_node *n, const char *sid, const char *const *entries,
		   unsigned count, sh_node_unkeep_fn fn, void *arg);

/* The sessions of dead nodes (and of this node's earlier incarnation) that hold accepted,
 * unconfirmed messages (at most <max>, up to
 * SH_NODE_SWEEP_MAX), to be taken over: <fn>(arg, 1, ids, n) (valid during the call), or
 * (arg, -errno, NULL, 0). A dead node with none left is forgotten. 0 or -errno. */
#define SH_NODE_SWEEP_MAX 64
typedef void (*sh_node_sweep_fn)(void *arg, int rc, const char *const *ids, size_t n);
int sh_node_sweep(struct sh_node *n, unsigned max, sh_node_sweep_fn fn, void *arg);

/* Hands session <sid> (ours at <epoch>) on to live node <to> (its peer went there): its
 * record <data> written (PX <ttl_ms>) and its ownership left so that <to>'s next
 * sh_node_takeover() takes it (epoch + 1) — reserved for <to> for 10 s while <to> lives
 * (another node's takeover or peek hears <to> owns it), anybody's after. Its unconfirmed
 * messages stay in its stream. <fn>(arg, 1, ...) done, (arg, 0, epoch, owner) not ours,
 * -errno. 0 or -errno as sh_node_claim(). */
int sh_node_yield(struct sh_node *n, const char *sid, uint64_t epoch, const void *data,
		  size_t len, uint32_t ttl_ms, const char *to, sh_node_fn fn, void *arg);
/* What sh_node_takeover() would find, nothing changed: <fn> as it says (rc 1: it would be
 * ours, <record> its record; no pending messages). To look at a record before taking it. */
int sh_node_peek(struct sh_node *n, const char *sid, sh_node_take_fn fn, void *arg);
/* Who owns <sid> (nothing changed): <fn>(arg, 1, epoch, NULL) this node; (arg, 0, epoch,
 * owner) a live node <owner>, or <owner> "" when nobody does or its node is dead; -errno.
 * 0 or -errno as sh_node_claim(). Not told when the node is freed first. */
int sh_node_owner(struct sh_node *n, const char *sid, sh_node_fn fn, void *arg);

/* Lets the session go (its ownership and state deleted) if we own it at <epoch>. */
int sh_node_release(struct sh_node *n, const char *sid, uint64_t epoch, sh_node_fn fn,
		    void *arg);

#endif
