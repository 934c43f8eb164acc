/* eng_redis.h — one hiredis async link driven by a worker's engine (eng_poll for the socket,
 * eng_timer for the reconnection): no thread of its own. What the relay's credentials
 * source uses today and what the cluster's replication (issue 8) will.
 *
 * The link connects at once and again after each loss, backing off from 100 ms to 5 s;
 * with a password it sends AUTH (and SELECT for a db other than 0) first, so that commands
 * queued right behind them run authenticated. Commands are hiredis's: eng_redis_cmd() queues
 * one (pipelined with the others); its callback gets the reply, or NULL when the link goes
 * (every pending command gets its NULL before eng_redis_up() says 0).
 *
 * Callbacks run on the worker's thread, from the engine's loop. A callback may call
 * eng_redis_drop() or eng_redis_free(): the link's teardown waits until the outermost
 * handler returns, and its NULL replies come then. An owner that frees itself from a
 * callback gives <hold>/<release>: they bracket every handler of the link, so that the
 * owner can put its own teardown (and its eng_redis_free(), whose NULL replies still find
 * it alive) after the link's handler is over. */
#ifndef ENG_REDIS_H
#define ENG_REDIS_H

#include <hiredis/async.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/eng.h"

struct eng_redis;

struct eng_redis_cfg {
	const char *host;              /* a numeric address (connect does not resolve) */
	int port;
	int idle;                      /* not connecting until eng_redis_retarget() says where */
	const char *user;              /* NULL or "": AUTH with the password alone */
	const char *password;          /* NULL: no AUTH */
	unsigned db;                   /* SELECT when not 0 */
	const char *what;              /* the log's name of the link ("creds", "cluster") */
	void (*up)(void *arg);         /* connected (NULL: not told) */
	void (*down)(void *arg);       /* lost, after the NULL replies (NULL: not told) */
	void (*hold)(void *arg);       /* around each handler (both or neither; may be NULL) */
	void (*release)(void *arg);
	void *arg;
};

/* A link on <w> (its strings copied); it starts connecting. NULL: out of memory. */
struct eng_redis *eng_redis_new(eng_worker *w, const struct eng_redis_cfg *cfg);

/* Stops the link: pending commands get NULL replies (now, or when the handler on the stack
 * returns), no reconnection. NULL is fine. */
void eng_redis_free(struct eng_redis *r);

/* Queues the command <argv>[0..<argc>) (binary-safe, lengths <argl>); <fn>(ac, reply,
 * <privdata>) gets its reply, or NULL if the link goes first. 0, or -EIO (down, or going
 * down: nothing queued, <fn> is not called). */
int eng_redis_cmd(struct eng_redis *r, redisCallbackFn *fn, void *privdata, int argc,
		 const char **argv, const size_t *argl);

/* 1 when connected (commands go out now), else 0. */
int eng_redis_up(const struct eng_redis *r);
/* Counts the connections begun: the commands taken since the last change go on the newest
 * (a new one: a server that may have lost its script cache, or its data). */
unsigned eng_redis_generation(const struct eng_redis *r);

/* Drops the link (a command that took too long: the server may be frozen); the pending
 * commands get NULL replies and a reconnection follows after the back-off. */
void eng_redis_drop(struct eng_redis *r);

/* Points the link at <host>:<port> (numeric, at most 63 bytes): the current connection, if
 * any, is dropped (its commands get NULL replies) and the next one goes there at once.
 * Nothing changes when it already points there and is up. 0 or -EINVAL. */
int eng_redis_retarget(struct eng_redis *r, const char *host, int port);

/* "host:port" of the link, for logs. */
const char *eng_redis_name(const struct eng_redis *r);

#endif
