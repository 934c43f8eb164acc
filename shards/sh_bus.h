/* sh_bus.h — requests between the nodes of a cluster through Redis (issue 8: cross-node
 * routing). Each worker of each node reads its own inbox, a Redis stream
 * <prefix>inbox:<node>:<worker> (bounded: MAXLEN ~SH_BUS_INBOX_MAX, and an hour of life
 * after its last entry), on a connection of its own (XREAD BLOCK); it writes to the
 * others' inboxes over the worker's usual link. A request names its addressee (a node and
 * the worker there), a kind and bytes; its answer comes back to the requester's inbox with
 * the request's id, or the requester hears -ETIMEDOUT. A request read after its deadline
 * (the requester gave up) is dropped unanswered; one read twice cannot be, as each reader
 * goes on from the last entry it read.
 *
 * On its worker's thread; its counters readable from any thread. */
#ifndef SH_BUS_H
#define SH_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/eng.h"
#include "engine/eng_redis.h"

#define SH_BUS_INBOX_MAX 10000         /* entries an inbox keeps (MAXLEN ~) */
#define SH_BUS_DATA_MAX (1024 * 1024)  /* bytes of a request or an answer */
#define SH_BUS_CALLS_MAX 4096          /* requests of one worker waiting for answers */

struct sh_bus;
struct sh_bus_call;                    /* a request received, to answer */

/* A request of <kind> came with <data> (<len> bytes, valid during the call): the handler
 * answers it, now or later, with sh_bus_answer() — exactly once. */
typedef void (*sh_bus_handler)(void *arg, struct sh_bus_call *call, const char *kind,
			       const void *data, size_t len);

struct sh_bus_cfg {
	const char *node_id;           /* this node */
	unsigned worker;               /* this worker's index */
	const char *prefix;            /* NULL: "rcsgw:" */
	sh_bus_handler handler;        /* NULL: requests are answered 501 */
	void *arg;
};

/* The bus of worker <w>: it reads over a link of its own made from <reader> (its up and
 * arg are the bus's) and writes over <writer> (not taken). NULL: out of memory, bad id. */
struct sh_bus *sh_bus_new(eng_worker *w, const struct eng_redis_cfg *reader,
			  struct eng_redis *writer, const struct sh_bus_cfg *cfg);
/* Stops reading; requests waiting for answers are told -ECANCELED; requests received and
 * not answered yet are freed (their handlers must not answer them after this). */
void sh_bus_free(struct sh_bus *b);
/* The link the bus reads over (to retarget it with the writer after a failover). */
struct eng_redis *sh_bus_reader(struct sh_bus *b);

/* The end of a request: <status> the handler's answer (>= 0) with <data> (<len> bytes,
 * valid during the call), or -ETIMEDOUT (no answer by the deadline), -ECANCELED (the bus
 * was freed). */
typedef void (*sh_bus_reply_fn)(void *arg, int status, const void *data, size_t len);
/* Asks worker <worker> of node <node> for <kind> with <data>; the answer within
 * <timeout_ms> goes to <fn>(<arg>, ...), never inside this call. 0, or -EINVAL (a bad node
 * id or kind), -EMSGSIZE (beyond SH_BUS_DATA_MAX), -EBUSY (SH_BUS_CALLS_MAX waiting), -EIO
 * (Redis away: nothing sent), -ENOMEM. */
int sh_bus_request(struct sh_bus *b, const char *node, unsigned worker, const char *kind,
		   const void *data, size_t len, uint32_t timeout_ms, sh_bus_reply_fn fn,
		   void *arg);
/* A message that wants no answer (its handler's sh_bus_answer() sends none): <kind> with
 * <data> to worker <worker> of node <node>, dropped unread after <ttl_ms>. 0 or -errno as
 * sh_bus_request(). */
int sh_bus_send(struct sh_bus *b, const char *node, unsigned worker, const char *kind,
		const void *data, size_t len, uint32_t ttl_ms);
/* What is left of <call>'s time, its requester's deadline (ms; <= 0: past). */
int64_t sh_bus_call_left_ms(const struct sh_bus_call *call);
/* Who sent <call>: its node and worker (valid as long as <call>). */
const char *sh_bus_call_from(const struct sh_bus_call *call, unsigned *worker);
/* Answers <call> with <status> (>= 0) and <data>, and frees it. On the bus's worker. */
void sh_bus_answer(struct sh_bus_call *call, int status, const void *data, size_t len);

struct sh_bus_stats {
	uint64_t sent, answered;       /* requests sent; answers received for them */
	uint64_t timeouts;             /* requests that got no answer in time */
	uint64_t refused;              /* requests not sent: too big, too many waiting, no link */
	uint64_t received, replied;    /* requests received; answers sent */
	uint64_t expired;              /* requests received after their deadline: dropped */
	uint64_t malformed;            /* inbox entries that did not decode */
	uint64_t waiting;              /* requests waiting for their answer now (a gauge) */
};
/* Any thread (relaxed). */
void sh_bus_stats(const struct sh_bus *b, struct sh_bus_stats *out);

#endif
