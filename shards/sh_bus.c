/* sh_bus.c — requests between nodes through Redis streams (sh_bus.h). */
#include "shards/sh_bus.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/cm_log.h"
#include "shards/session.pb-c.h"
#include "shards/sh_node.h"

#define READ_BLOCK_MS "2000"           /* an XREAD waits this long for entries */
#define READ_COUNT "64"                /* entries an XREAD takes at most */
#define INBOX_TTL_MS "3600000"         /* an inbox nobody writes to goes after an hour */
#define CALL_BUCKETS 256
#define READ_AGAIN_MS 500              /* after an error reply, the next XREAD */
#define KIND_MAX 32

/* A request of ours waiting for its answer. */
struct call {
	struct call *next;             /* its bucket */
	struct sh_bus *b;
	uint64_t id;
	sh_bus_reply_fn fn;
	void *arg;
	eng_timer tmo;
};

/* A request received, until its handler answers it. */
struct sh_bus_call {
	struct sh_bus_call *next, **prev; /* the bus's list (NULL prev: the bus went) */
	struct sh_bus *b;
	uint64_t id;
	uint64_t deadline_ms;          /* the requester's (wall clock) */
	unsigned worker;
	char node[SH_NODE_ID_MAX + 1];
};

struct sh_bus {
	eng_worker *w;
	struct eng_redis *reader, *writer;
	char node[SH_NODE_ID_MAX + 1];
	unsigned worker;
	char *prefix;
	char inbox[160];
	char last[48];                 /* the last entry read ("0-0": from the start) */
	int reading;                   /* an XREAD on its way */
	eng_timer again;               /* after an error: the next XREAD a little later */
	int dead;                      /* sh_bus_free() under way */
	sh_bus_handler handler;
	void *harg;
	uint64_t next_id;
	struct call *calls[CALL_BUCKETS];
	struct sh_bus_call *open;      /* received, not answered yet */
	struct {
		_Atomic uint64_t sent, answered, timeouts, refused, received, replied, expired,
			malformed, waiting;
	} st;
};

#define ADD(b, f, n) atomic_fetch_add_explicit(&(b)->st.f, (n), memory_order_relaxed)

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Appends <m> to the inbox of <node>'s worker <worker>. 0 or -EIO, -ENOMEM. */
static int post(struct sh_bus *b, const char *node, unsigned worker, const Rcsgw__BusMessage *m)
{
	char key[160];
	int kl = snprintf(key, sizeof(key), "%sinbox:%s:%u", b->prefix, node, worker);
	size_t n = rcsgw__bus_message__get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	rcsgw__bus_message__pack(m, buf);
	const char *av[8] = { "XADD", key, "MAXLEN", "~", NULL, "*", "m", (const char *)buf };
	char max[16];
	size_t al[8] = { 4, (size_t)kl, 6, 1, 0, 1, 1, n };
	al[4] = (size_t)snprintf(max, sizeof(max), "%d", SH_BUS_INBOX_MAX);
	av[4] = max;
	int rc = eng_redis_cmd(b->writer, NULL, NULL, 8, av, al);
	free(buf);
	if (rc < 0)
		return -EIO;
	const char *ev[3] = { "PEXPIRE", key, INBOX_TTL_MS };
	size_t el[3] = { 7, (size_t)kl, strlen(INBOX_TTL_MS) };
	eng_redis_cmd(b->writer, NULL, NULL, 3, ev, el);
	return 0;
}

static struct call **bucket(struct sh_bus *b, uint64_t id)
{
	return &b->calls[id % CALL_BUCKETS];
}

/* Takes the call <id> off its bucket: NULL when there is none (late, or not ours). */
static struct call *call_take(struct sh_bus *b, uint64_t id)
{
	for (struct call **pp = bucket(b, id); *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			struct call *c = *pp;
			*pp = c->next;
			eng_timer_cancel(&c->tmo);
			atomic_fetch_sub_explicit(&b->st.waiting, 1, memory_order_relaxed);
			return c;
		}
	return NULL;
}

static void call_timeout(eng_timer *t)
{
	struct call *c = t->arg;
	struct sh_bus *b = c->b;
	if (!call_take(b, c->id))
		return;
	ADD(b, timeouts, 1);
	c->fn(c->arg, -ETIMEDOUT, NULL, 0);
	free(c);
}

int sh_bus_request(struct sh_bus *b, const char *node, unsigned worker, const char *kind,
		   const void *data, size_t len, uint32_t timeout_ms, sh_bus_reply_fn fn,
		   void *arg)
{
	if (!sh_node_id_ok(node, SH_NODE_ID_MAX) || !sh_node_id_ok(kind, KIND_MAX) || !fn)
		return -EINVAL;
	int rc = len > SH_BUS_DATA_MAX ? -EMSGSIZE
		 : atomic_load_explicit(&b->st.waiting, memory_order_relaxed) >= SH_BUS_CALLS_MAX
			 ? -EBUSY
			 : 0;
	struct call *c = rc ? NULL : calloc(1, sizeof(*c));
	if (!rc && !c)
		rc = -ENOMEM;
	if (rc) {
		ADD(b, refused, 1);
		return rc;
	}
	Rcsgw__BusMessage m = RCSGW__BUS_MESSAGE__INIT;
	m.id = ++b->next_id;
	m.from_node = b->node;
	m.from_worker = b->worker;
	m.deadline_ms = wall_ms() + timeout_ms;
	m.kind = (char *)kind;
	m.data.data = (uint8_t *)data;
	m.data.len = len;
	if ((rc = post(b, node, worker, &m)) < 0) {
		free(c);
		ADD(b, refused, 1);
		return rc;
	}
	*c = (struct call){ .b = b, .id = m.id, .fn = fn, .arg = arg };
	struct call **pp = bucket(b, c->id);
	c->next = *pp;
	*pp = c;
	eng_timer_init(&c->tmo, call_timeout, c);
	eng_timer_arm(b->w, &c->tmo, timeout_ms);
	ADD(b, sent, 1);
	ADD(b, waiting, 1);
	return 0;
}

int sh_bus_send(struct sh_bus *b, const char *node, unsigned worker, const char *kind,
		const void *data, size_t len, uint32_t ttl_ms)
{
	if (!sh_node_id_ok(node, SH_NODE_ID_MAX) || !sh_node_id_ok(kind, KIND_MAX))
		return -EINVAL;
	Rcsgw__BusMessage m = RCSGW__BUS_MESSAGE__INIT; /* id 0: no answer wanted */
	m.from_node = b->node;
	m.from_worker = b->worker;
	m.deadline_ms = wall_ms() + ttl_ms;
	m.kind = (char *)kind;
	m.data.data = (uint8_t *)data;
	m.data.len = len;
	int rc = len > SH_BUS_DATA_MAX ? -EMSGSIZE : post(b, node, worker, &m);
	ADD(b, sent, rc == 0);
	ADD(b, refused, rc != 0);
	return rc;
}

int64_t sh_bus_call_left_ms(const struct sh_bus_call *call)
{
	return (int64_t)call->deadline_ms - (int64_t)wall_ms();
}

const char *sh_bus_call_from(const struct sh_bus_call *call, unsigned *worker)
{
	*worker = call->worker;
	return call->node;
}

void sh_bus_answer(struct sh_bus_call *call, int status, const void *data, size_t len)
{
	struct sh_bus *b = call->b;
	if (call->prev) {
		*call->prev = call->next;
		if (call->next)
			call->next->prev = call->prev;
	}
	if (b && !b->dead && call->id) {
		Rcsgw__BusMessage m = RCSGW__BUS_MESSAGE__INIT;
		m.id = call->id;
		m.from_node = b->node;
		m.from_worker = b->worker;
		m.answer = 1;
		m.status = status;
		if (len > SH_BUS_DATA_MAX) { /* an answer too big to pass: said so */
			m.status = -EMSGSIZE;
			len = 0;
		}
		m.data.data = (uint8_t *)data;
		m.data.len = len;
		if (post(b, call->node, call->worker, &m) == 0)
			ADD(b, replied, 1);
	}
	free(call);
}

/* One inbox entry: an answer to one of ours, or a request for our handler. */
static void take(struct sh_bus *b, const char *bytes, size_t n)
{
	Rcsgw__BusMessage *m = rcsgw__bus_message__unpack(NULL, n, (const uint8_t *)bytes);
	if (!m || !sh_node_id_ok(m->from_node, SH_NODE_ID_MAX)) {
		ADD(b, malformed, 1);
		if (m)
			rcsgw__bus_message__free_unpacked(m, NULL);
		return;
	}
	if (m->answer) {
		struct call *c = call_take(b, m->id);
		if (c) {
			ADD(b, answered, 1);
			c->fn(c->arg, m->status, m->data.data, m->data.len);
			free(c);
		}
	} else if (m->deadline_ms < wall_ms()) {
		ADD(b, expired, 1); /* its requester gave up: what it asked is not done */
	} else {
		struct sh_bus_call *call = calloc(1, sizeof(*call));
		ADD(b, received, 1);
		if (call) {
			call->b = b;
			call->id = m->id;
			call->deadline_ms = m->deadline_ms;
			call->worker = m->from_worker;
			snprintf(call->node, sizeof(call->node), "%s", m->from_node);
			call->next = b->open;
			if (call->next)
				call->next->prev = &call->next;
			call->prev = &b->open;
			b->open = call;
			if (b->handler && sh_node_id_ok(m->kind, KIND_MAX))
				b->handler(b->harg, call, m->kind, m->data.data, m->data.len);
			else
				sh_bus_answer(call, 501, NULL, 0);
		}
	}
	rcsgw__bus_message__free_unpacked(m, NULL);
}

static void read_next(struct sh_bus *b);

/* XREAD's answer: nil (nothing came), or {{inbox, {{id, {field, value...}}...}}}. */
static void on_read(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct sh_bus *b = privdata;
	redisReply *r = reply;
	(void)ac;
	b->reading = 0;
	if (b->dead || !r)
		return; /* the link went: sh_bus_up() starts again */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
	    r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
		const redisReply *es = r->element[0]->element[1];
		for (size_t i = 0; i < es->elements && !b->dead; i++) {
			const redisReply *e = es->element[i], *f;
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING ||
			    e->element[0]->len >= sizeof(b->last))
				continue;
			memcpy(b->last, e->element[0]->str, e->element[0]->len + 1);
			f = e->element[1];
			if (f->type == REDIS_REPLY_ARRAY && f->elements == 2 &&
			    f->element[1]->type == REDIS_REPLY_STRING)
				take(b, f->element[1]->str, f->element[1]->len);
			else
				ADD(b, malformed, 1);
		}
	} else if (r->type == REDIS_REPLY_ERROR) { /* LOADING, a key of another type...: */
		CM_LOG_RL(CM_LOG_WARN, "cluster: bus %s: %s", b->inbox, r->str);
		eng_timer_arm(b->w, &b->again, READ_AGAIN_MS); /* not at once, again and again */
		return;
	}
	if (!b->dead)
		read_next(b);
}

static void read_next(struct sh_bus *b)
{
	if (b->reading || b->dead || !eng_redis_up(b->reader))
		return;
	const char *av[8] = { "XREAD", "COUNT", READ_COUNT, "BLOCK", READ_BLOCK_MS, "STREAMS",
			      b->inbox, b->last };
	size_t al[8];
	for (int i = 0; i < 8; i++)
		al[i] = strlen(av[i]);
	if (eng_redis_cmd(b->reader, on_read, b, 8, av, al) == 0)
		b->reading = 1;
}

static void read_again(eng_timer *t)
{
	read_next(t->arg);
}

/* The reader link is up: reading starts again where it stopped. */
static void reader_up(void *bus)
{
	read_next(bus);
}

struct sh_bus *sh_bus_new(eng_worker *w, const struct eng_redis_cfg *reader,
			  struct eng_redis *writer, const struct sh_bus_cfg *cfg)
{
	if (!sh_node_id_ok(cfg->node_id, SH_NODE_ID_MAX))
		return NULL;
	struct sh_bus *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->w = w;
	b->writer = writer;
	eng_timer_init(&b->again, read_again, b);
	b->worker = cfg->worker;
	b->handler = cfg->handler;
	b->harg = cfg->arg;
	snprintf(b->node, sizeof(b->node), "%s", cfg->node_id);
	b->prefix = strdup(cfg->prefix ? cfg->prefix : "rcsgw:");
	struct eng_redis_cfg rc = *reader;
	rc.up = reader_up;
	rc.down = NULL;
	rc.hold = rc.release = NULL;
	rc.arg = b;
	if (!b->prefix || strlen(b->prefix) > 64 || !(b->reader = eng_redis_new(w, &rc))) {
		free(b->prefix);
		free(b);
		return NULL;
	}
	snprintf(b->inbox, sizeof(b->inbox), "%sinbox:%s:%u", b->prefix, b->node, b->worker);
	/* from the start: what is there from an earlier run is past its deadline, dropped */
	snprintf(b->last, sizeof(b->last), "0-0");
	/* ids from a random start: an answer to the earlier run's request is nobody's now */
	if (getrandom(&b->next_id, sizeof(b->next_id), 0) != (ssize_t)sizeof(b->next_id))
		b->next_id = wall_ms() << 20;
	read_next(b);
	return b;
}

void sh_bus_free(struct sh_bus *b)
{
	if (!b)
		return;
	b->dead = 1;
	eng_timer_cancel(&b->again);
	eng_redis_free(b->reader); /* its XREAD's NULL reply finds <b> dead */
	for (unsigned i = 0; i < CALL_BUCKETS; i++)
		while (b->calls[i]) {
			struct call *c = call_take(b, b->calls[i]->id);
			c->fn(c->arg, -ECANCELED, NULL, 0);
			free(c);
		}
	while (b->open) { /* not answered: nothing will answer them now */
		struct sh_bus_call *call = b->open;
		b->open = call->next;
		free(call);
	}
	free(b->prefix);
	free(b);
}

struct eng_redis *sh_bus_reader(struct sh_bus *b)
{
	return b->reader;
}

void sh_bus_stats(const struct sh_bus *b, struct sh_bus_stats *out)
{
	out->sent = atomic_load_explicit(&b->st.sent, memory_order_relaxed);
	out->answered = atomic_load_explicit(&b->st.answered, memory_order_relaxed);
	out->timeouts = atomic_load_explicit(&b->st.timeouts, memory_order_relaxed);
	out->refused = atomic_load_explicit(&b->st.refused, memory_order_relaxed);
	out->received = atomic_load_explicit(&b->st.received, memory_order_relaxed);
	out->replied = atomic_load_explicit(&b->st.replied, memory_order_relaxed);
	out->expired = atomic_load_explicit(&b->st.expired, memory_order_relaxed);
	out->malformed = atomic_load_explicit(&b->st.malformed, memory_order_relaxed);
	out->waiting = atomic_load_explicit(&b->st.waiting, memory_order_relaxed);
}
