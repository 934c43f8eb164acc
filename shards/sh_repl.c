/* sh_repl.c — sessions written behind to Redis (sh_repl.h). */
#include "shards/sh_repl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"

#define BUCKETS 4096
#define SH_REPL_DOWN_MS 200            /* the tick while Redis is away */

struct entry {
	struct entry *hnext;           /* bucket chain */
	struct entry *dnext;           /* the dirty list */
	struct sh_repl *r;
	char id[GW_UA_ID_LEN + 1];
	uint64_t epoch;                /* 0: not ours yet */
	uint64_t dirty_ms;             /* when the oldest change not written came */
	uint64_t sent_since;           /* dirty_ms of the write on its way */
	uint8_t dirty, listed, inflight, over;
};

struct sh_repl {
	eng_worker *w;
	struct gw_ua *ua;
	struct sh_node *node;
	struct eng_redis *link;
	eng_timer tick;
	struct entry *buckets[BUCKETS];
	struct entry *dirty;           /* entries with something to do */
	struct {
		_Atomic uint64_t writes, write_failures, fenced, claims, releases, pending;
		_Atomic uint64_t lag_ms, lag_max_ms;
	} st;
};

#define ADD(r, f, n) atomic_fetch_add_explicit(&(r)->st.f, (n), memory_order_relaxed)

static unsigned hash(const char *id)
{
	unsigned h = 2166136261u;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % BUCKETS;
}

static struct entry *find(struct sh_repl *r, const char *id, int make)
{
	unsigned b = hash(id);
	for (struct entry *e = r->buckets[b]; e; e = e->hnext)
		if (!strcmp(e->id, id))
			return e;
	if (!make || strlen(id) > GW_UA_ID_LEN)
		return NULL;
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->r = r;
	memcpy(e->id, id, strlen(id) + 1);
	e->hnext = r->buckets[b];
	r->buckets[b] = e;
	ADD(r, pending, 1);
	return e;
}

static void forget(struct entry *e)
{
	struct sh_repl *r = e->r;
	if (e->listed) /* off the dirty list first: the next tick walks it */
		for (struct entry **pp = &r->dirty; *pp; pp = &(*pp)->dnext)
			if (*pp == e) {
				*pp = e->dnext;
				break;
			}
	for (struct entry **pp = &r->buckets[hash(e->id)]; *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	atomic_fetch_sub_explicit(&r->st.pending, 1, memory_order_relaxed);
	free(e);
}

/* Puts <e> on the dirty list (once) and arms the tick. */
static void list(struct entry *e)
{
	struct sh_repl *r = e->r;
	if (!e->listed) {
		e->listed = 1;
		e->dnext = r->dirty;
		r->dirty = e;
	}
	if (!eng_timer_armed(&r->tick))
		eng_timer_arm(r->w, &r->tick, SH_REPL_TICK_MS);
}

static void on_changed(void *arg, const char *id)
{
	struct sh_repl *r = arg;
	struct entry *e = find(r, id, 1);
	if (!e)
		return; /* out of memory: this change is not replicated (counted as failed) */
	if (!e->dirty) {
		e->dirty = 1;
		e->dirty_ms = eng_now_ms(r->w);
	}
	list(e);
}

static void on_over(void *arg, const char *id)
{
	struct sh_repl *r = arg;
	struct entry *e = find(r, id, 0);
	if (!e)
		return;
	e->over = 1;
	list(e);
}

static void claimed(void *arg, int rc, uint64_t epoch, const char *owner)
{
	struct entry *e = arg;
	struct sh_repl *r = e->r;
	e->inflight = 0;
	if (rc == 1) {
		e->epoch = epoch;
	} else if (rc == 0) {
		/* a new session of ours owned by another node: ids are unique, so never */
		CM_LOG_RL(CM_LOG_WARN, "cluster: session %s owned by %s at epoch %llu: not "
			  "replicated", e->id, owner ? owner : "?", (unsigned long long)epoch);
		ADD(r, fenced, 1);
		forget(e);
		return;
	}
	list(e); /* -EIO: again at the next tick */
}

static void written(void *arg, int rc, uint64_t epoch, const char *owner)
{
	struct entry *e = arg;
	struct sh_repl *r = e->r;
	(void)epoch;
	(void)owner;
	e->inflight = 0;
	if (rc == 1) {
		ADD(r, writes, 1);
		uint64_t lag = eng_now_ms(r->w) - e->sent_since;
		atomic_store_explicit(&r->st.lag_ms, lag, memory_order_relaxed);
		if (lag > atomic_load_explicit(&r->st.lag_max_ms, memory_order_relaxed))
			atomic_store_explicit(&r->st.lag_max_ms, lag, memory_order_relaxed);
	} else if (rc == 0) {
		ADD(r, fenced, 1); /* taken over by another node: ours no more */
		forget(e);
		return;
	} else {
		ADD(r, write_failures, 1);
		e->dirty = 1; /* again at the next tick */
	}
	list(e);
}

static void released(void *arg, int rc, uint64_t epoch, const char *owner)
{
	struct entry *e = arg;
	(void)epoch;
	(void)owner;
	e->inflight = 0;
	if (rc < 0) {
		list(e); /* again */
		return;
	}
	ADD(e->r, releases, 1);
	forget(e);
}

/* One entry's next step. 1: done with it for now (off the list), 0: stays listed. */
static int step(struct sh_repl *r, struct entry *e, uint64_t now)
{
	if (e->inflight)
		return 0;
	if (e->over) {
		if (!e->epoch) { /* never written */
			forget(e);
			return 1;
		}
		if (sh_node_release(r->node, e->id, e->epoch, released, e) == 0)
			e->inflight = 1;
		return e->inflight;
	}
	if (!e->epoch) {
		if (sh_node_claim(r->node, e->id, 0, claimed, e) == 0) {
			e->inflight = 1;
			ADD(r, claims, 1);
		}
		return 0; /* the write follows the claim */
	}
	if (!e->dirty)
		return 1;
	uint8_t *buf;
	size_t len;
	int rc = gw_ua_snapshot(r->ua, e->id, &buf, &len);
	if (rc == 404) { /* over meanwhile: its release comes */
		e->dirty = 0;
		return 1;
	}
	if (rc) { /* a record that cannot be made: this change is not replicated */
		ADD(r, write_failures, 1);
		e->dirty = 0;
		return 1;
	}
	(void)now;
	if (sh_node_write(r->node, e->id, e->epoch, buf, len, SH_REPL_TTL_MS, written, e) == 0) {
		e->inflight = 1;
		e->dirty = 0;
		e->sent_since = e->dirty_ms;
	}
	free(buf);
	return 0;
}

static void tick(eng_timer *t)
{
	struct sh_repl *r = t->arg;
	uint64_t now = eng_now_ms(r->w);
	if (!eng_redis_up(r->link)) { /* Redis away: the changes wait, looked at again later */
		eng_timer_arm(r->w, &r->tick, SH_REPL_DOWN_MS);
		return;
	}
	struct entry *todo = r->dirty;
	r->dirty = NULL;
	while (todo) {
		struct entry *e = todo;
		todo = e->dnext;
		e->listed = 0;
		if (!step(r, e, now))
			list(e);
	}
}

struct sh_repl *sh_repl_new(eng_worker *w, struct gw_ua *ua, struct sh_node *node,
			    struct eng_redis *link)
{
	struct sh_repl *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->w = w;
	r->ua = ua;
	r->node = node;
	r->link = link;
	eng_timer_init(&r->tick, tick, r);
	struct gw_ua_repl hooks = { .changed = on_changed, .over = on_over, .arg = r };
	gw_ua_set_repl(ua, &hooks);
	return r;
}

void sh_repl_free(struct sh_repl *r)
{
	if (!r)
		return;
	gw_ua_set_repl(r->ua, NULL);
	eng_timer_cancel(&r->tick);
	sh_node_free(r->node); /* no callback after this: the entries can go */
	for (unsigned b = 0; b < BUCKETS; b++)
		while (r->buckets[b]) {
			struct entry *e = r->buckets[b];
			r->buckets[b] = e->hnext;
			free(e);
		}
	free(r);
}

struct sh_node *sh_repl_node(const struct sh_repl *r)
{
	return r->node;
}

void sh_repl_stats(const struct sh_repl *r, struct sh_repl_stats *out)
{
	out->writes = atomic_load_explicit(&r->st.writes, memory_order_relaxed);
	out->write_failures = atomic_load_explicit(&r->st.write_failures, memory_order_relaxed);
	out->fenced = atomic_load_explicit(&r->st.fenced, memory_order_relaxed);
	out->claims = atomic_load_explicit(&r->st.claims, memory_order_relaxed);
	out->releases = atomic_load_explicit(&r->st.releases, memory_order_relaxed);
	out->pending = atomic_load_explicit(&r->st.pending, memory_order_relaxed);
	out->lag_ms = atomic_load_explicit(&r->st.lag_ms, memory_order_relaxed);
	out->lag_max_ms = atomic_load_explicit(&r->st.lag_max_ms, memory_order_relaxed);
}
