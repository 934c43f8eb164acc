/* sh_repl.c — sessions written behind to Redis (sh_repl.h). */
#include "shards/sh_repl.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_hash.h"
#include "common/cm_log.h"
#include "common/cm_time.h"
#include "msrp/msrp_relay.h"
#include "shards/session.pb-c.h"

#define BUCKETS 4096
#define SH_REPL_DOWN_MS 200            /* the tick while Redis is away */

/* A message accepted in a session of ours and not confirmed yet (its stream entry). */
struct pmsg {
	struct pmsg *next;             /* its entry's list, or the orphans */
	struct sh_repl *r;
	struct entry *e;               /* NULL: orphaned (its entry went while a reply was due) */
	char mid[MSRP_ID_MSGID_LEN + 1];
	char xid[48];                  /* its stream entry id; "" until appended */
	uint8_t *rec;                  /* the packed PendingMessage (kept until confirmed: Redis
					* may lose it, appended again then) */
	size_t len;
	uint64_t kept_us;              /* when it was accepted (monotonic) */
	struct pmsg *qnext;            /* the append queue (while queued: inflight) */
	uint8_t inflight;              /* its append or removal is on its way */
	uint8_t done;                  /* confirmed: its entry goes */
	uint8_t again;                 /* appended, maybe lost by Redis: appended again (the
					* script finds it by Message-ID if it is still there) */
	sh_repl_durable_fn waiter;     /* an API call waiting for its append */
	void *wait_arg;
};

struct entry {
	struct entry *hnext;           /* bucket chain */
	struct entry *dnext;           /* the dirty list */
	struct sh_repl *r;
	char id[GW_UA_ID_LEN + 1];
	uint64_t epoch;                /* 0: not ours yet */
	uint64_t dirty_ms;             /* when the oldest change not written came */
	uint64_t sent_since;           /* dirty_ms of the write on its way */
	uint64_t written_ms;           /* its last write taken (refreshed before the TTL) */
	uint8_t dirty, listed, inflight, over;
	uint8_t relay;                 /* a relay session (RelayBinding), not the user agent's */
	sh_repl_yield_fn yield;        /* sh_repl_yield(): to hand it on at the next step */
	void *yield_arg;
	char *yield_to;                /* the node that asked */
	struct pmsg *msgs;             /* accepted, not confirmed, oldest first */
};

struct sh_repl {
	eng_worker *w;
	struct gw_ua *ua;              /* NULL: none (a relay alone) */
	struct msrp_relay *relay;      /* NULL: none */
	struct sh_node *node;
	struct eng_redis *link;
	eng_timer tick;
	struct entry *buckets[BUCKETS];
	struct entry *dirty;           /* entries with something to do */
	uint32_t nheld;                /* messages held in memory for an append (rec) */
	size_t kept_bytes;             /* recs of appended messages kept (SH_REPL_MAX_KEPT_BYTES) */
	struct pmsg *appq, **appq_tail; /* to append at the end of this loop iteration */
	eng_defer flush;               /* ... in requests of SH_NODE_APPEND_MAX */
	struct pmsg *orphans;          /* their entry went while their reply was on its way */
	eng_timer refresh;             /* every second: a slice of the table looked at */
	int closing;                   /* sh_repl_free() under way: answers only free */
	unsigned refresh_bucket;       /* where the next slice starts */
	unsigned gen;                  /* the link's connection last seen (0: none yet) */
	struct {
		_Atomic uint64_t writes, write_failures, fenced, claims, releases, pending;
		_Atomic uint64_t lag_ms, lag_max_ms;
		_Atomic uint64_t kept, keep_failures, unkept, replayed, not_kept, kept_now;
		_Atomic uint64_t reappended, refreshes, undeliverable, moved, handed_on;
	} st;
};

/* The lag histograms of all workers (metrics: any thread reads them, at any time). */
static struct {
	_Atomic uint64_t bucket[SH_REPL_LAG_BUCKETS + 1], sum_us, count;
} lags[2];

const uint64_t sh_repl_lag_le_us[SH_REPL_LAG_BUCKETS] = {
	250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 500000, 1000000, 5000000,
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One lag of <kind> (0 record, 1 message) into its histogram. */
static void lag_add(int kind, uint64_t us)
{
	unsigned b = 0;
	while (b < SH_REPL_LAG_BUCKETS && us > sh_repl_lag_le_us[b])
		b++;
	atomic_fetch_add_explicit(&lags[kind].bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&lags[kind].sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&lags[kind].count, 1, memory_order_relaxed);
}

void sh_repl_lags(struct sh_repl_lag out[2])
{
	for (int k = 0; k < 2; k++) {
		for (int b = 0; b <= SH_REPL_LAG_BUCKETS; b++)
			out[k].bucket[b] = atomic_load_explicit(&lags[k].bucket[b],
								memory_order_relaxed);
		out[k].sum_us = atomic_load_explicit(&lags[k].sum_us, memory_order_relaxed);
		out[k].count = atomic_load_explicit(&lags[k].count, memory_order_relaxed);
	}
}

#define ADD(r, f, n) atomic_fetch_add_explicit(&(r)->st.f, (n), memory_order_relaxed)

static unsigned hash(const char *id)
{
	return (unsigned)(cm_fnv1a64(id, strlen(id)) % BUCKETS);
}

/* Frees <m> (off its entry's list already); its waiter, if any, hears <durable>. */
static void pmsg_free(struct pmsg *m, int durable)
{
	struct sh_repl *r = m->r;
	if (m->rec && !m->xid[0])
		r->nheld--;
	else if (m->rec)
		r->kept_bytes -= m->len;
	free(m->rec);
	atomic_fetch_sub_explicit(&r->st.kept_now, 1, memory_order_relaxed);
	sh_repl_durable_fn fn = m->waiter;
	void *arg = m->wait_arg;
	free(m);
	if (fn)
		fn(arg, durable);
}

static void pmsg_unlink(struct pmsg *m)
{
	for (struct pmsg **pp = m->e ? &m->e->msgs : &m->r->orphans; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			return;
		}
}

static struct pmsg *pmsg_find(struct entry *e, const char *mid)
{
	for (struct pmsg *m = e->msgs; m; m = m->next)
		if (!strcmp(m->mid, mid))
			return m;
	return NULL;
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
	if (e->yield) { /* over meanwhile, or not ours: nothing to hand on */
		sh_repl_yield_fn fn = e->yield;
		e->yield = NULL;
		if (r->ua)
			gw_ua_handing(r->ua, e->id, 0);
		fn(e->yield_arg, 410);
	}
	free(e->yield_to);
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
	while (e->msgs) { /* the session is over or not ours: nothing of it to confirm here */
		struct pmsg *m = e->msgs;
		e->msgs = m->next;
		if (m->inflight) { /* its reply comes later: it must not find <e> */
			m->e = NULL;
			m->next = r->orphans;
			r->orphans = m;
			continue;
		}
		pmsg_free(m, m->xid[0] != 0);
	}
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

static void msg_step(struct pmsg *m);

/* The append of <m> was answered: rc 1 with its entry <xid>, 0 fenced, -errno. */
static void appended(struct pmsg *m, int rc, const char *xid)
{
	struct sh_repl *r = m->r;
	m->inflight = 0;
	if (!m->e) { /* its session went meanwhile (orphaned) */
		ADD(r, kept, rc == 1);
		pmsg_unlink(m);
		pmsg_free(m, rc == 1);
		return;
	}
	if (rc == 1 && xid && strlen(xid) < sizeof(m->xid)) {
		if (!m->xid[0]) { /* its first append (not one made again) */
			ADD(r, kept, 1);
			lag_add(1, mono_us() - m->kept_us);
			r->nheld--;
			if (r->kept_bytes + m->len > SH_REPL_MAX_KEPT_BYTES) {
				free(m->rec); /* beyond the bound: if Redis loses it, it is lost */
				m->rec = NULL;
			} else {
				r->kept_bytes += m->len;
			}
		} else {
			ADD(r, reappended, 1);
		}
		memcpy(m->xid, xid, strlen(xid) + 1);
		m->again = 0;
		sh_repl_durable_fn fn = m->waiter;
		m->waiter = NULL;
		if (fn)
			fn(m->wait_arg, 1);
		msg_step(m); /* confirmed meanwhile: its entry goes now */
		return;
	}
	if (rc == 0) { /* fenced: the session is another node's */
		ADD(r, not_kept, 1);
		pmsg_unlink(m);
		pmsg_free(m, 0);
		return;
	}
	ADD(r, keep_failures, 1); /* held: appended again at a later tick */
	m->again = 1; /* it may have gone in before its answer was lost: found by its id */
	sh_repl_durable_fn fn = m->waiter;
	m->waiter = NULL;
	if (fn)
		fn(m->wait_arg, 0); /* the API answers now: accepted, not in Redis yet */
	if (m->done && !m->xid[0]) {
		pmsg_unlink(m);
		pmsg_free(m, 0);
		return;
	}
	list(m->e);
}

/* Entries removed in one request: the messages of a session confirmed within a tick. */
struct unkeep {
	unsigned n;
	struct pmsg *m[SH_NODE_UNKEEP_MAX];
};

/* A batch of appends (one request) answered. */
struct appends {
	size_t n;
	struct pmsg *m[SH_NODE_APPEND_MAX];
};

static void appended_batch(void *arg, int rc, const char *const *entries, size_t n)
{
	struct appends *b = arg;
	if (b->n && b->m[0]->r->closing) { /* the messages go with the table */
		free(b);
		return;
	}
	for (size_t i = 0; i < b->n; i++)
		appended(b->m[i], rc < 0 ? rc : i < n && entries[i] ? 1 : 0,
			 rc < 0 || i >= n ? NULL : entries[i]);
	free(b);
}

/* The end of the loop iteration: the messages accepted during it appended, in as few
 * requests as they fit. */
static void flush_appends(eng_defer *d)
{
	struct sh_repl *r = d->arg;
	while (r->appq) {
		struct appends *b = calloc(1, sizeof(*b));
		struct sh_node_append_item it[SH_NODE_APPEND_MAX];
		while (b && r->appq && b->n < SH_NODE_APPEND_MAX) {
			struct pmsg *m = r->appq;
			r->appq = m->qnext;
			m->qnext = NULL;
			if (!m->e) { /* its session went meanwhile (orphaned) */
				appended(m, -ECANCELED, NULL);
				continue;
			}
			if (m->done) { /* confirmed, or refused, before it went */
				m->inflight = 0;
				if (m->xid[0]) { /* appended before: its entry goes */
					list(m->e);
					continue;
				}
				pmsg_unlink(m); /* nothing to keep */
				pmsg_free(m, 0);
				continue;
			}
			it[b->n] = (struct sh_node_append_item){ m->e->id, m->e->epoch, m->rec,
								 m->len, m->mid, m->again };
			b->m[b->n++] = m;
		}
		if (!r->appq)
			r->appq_tail = &r->appq;
		if (b && b->n && sh_node_append(r->node, it, b->n, SH_REPL_TTL_MS, appended_batch,
						b) == 0)
			continue;
		/* not asked (the link went, out of memory): each told, held for a later tick */
		for (size_t i = 0; b && i < b->n; i++)
			appended(b->m[i], -EIO, NULL);
		free(b);
		if (!b)
			while (r->appq) { /* out of memory: the rest waits for a later tick too */
				struct pmsg *m = r->appq;
				r->appq = m->qnext;
				m->qnext = NULL;
				appended(m, -ENOMEM, NULL);
			}
	}
	r->appq_tail = &r->appq;
}

/* The removal of a batch of entries was answered. */
static void unkept(void *arg, int rc)
{
	struct unkeep *b = arg;
	if (b->n && b->m[0]->r->closing) {
		free(b);
		return;
	}
	for (unsigned i = 0; i < b->n; i++) {
		struct pmsg *m = b->m[i];
		m->inflight = 0;
		if (rc == 1 || !m->e) {
			ADD(m->r, unkept, rc == 1);
			pmsg_unlink(m);
			pmsg_free(m, 1);
		} else {
			list(m->e); /* again at a later tick */
		}
	}
	free(b);
}

/* The entries of <e>'s confirmed messages removed, in one request per SH_NODE_UNKEEP_MAX.
 * 1 when some could not be asked (again at the next tick), else 0. */
static int unkeep_confirmed(struct sh_repl *r, struct entry *e)
{
	struct unkeep *b = NULL;
	const char *ids[SH_NODE_UNKEEP_MAX];
	for (struct pmsg *m = e->msgs;; m = m->next) {
		if (m && !(m->done && m->xid[0] && !m->inflight))
			continue;
		if (m && !b && !(b = calloc(1, sizeof(*b))))
			return 1; /* out of memory: at a later tick */
		if (m) {
			ids[b->n] = m->xid;
			b->m[b->n++] = m;
		}
		if (b && b->n && (!m || b->n == SH_NODE_UNKEEP_MAX)) {
			if (sh_node_unkeep(r->node, e->id, ids, b->n, unkept, b) < 0) {
				free(b);
				return 1; /* at a later tick */
			}
			for (unsigned i = 0; i < b->n; i++)
				b->m[i]->inflight = 1;
			b = NULL;
		}
		if (!m)
			break;
	}
	free(b);
	return 0;
}

/* What <m> needs next, when Redis is there: its append, or its entry removed. */
static void msg_step(struct pmsg *m)
{
	struct sh_repl *r = m->r;
	if (m->inflight || !m->e)
		return;
	if (m->done && !m->xid[0]) { /* confirmed before it reached Redis: never needs to */
		pmsg_unlink(m);
		pmsg_free(m, 0);
		return;
	}
	if (!eng_redis_up(r->link)) {
		list(m->e);
		return;
	}
	if (m->done) { /* its removal goes with the others of the tick */
		list(m->e);
		return;
	}
	if (m->xid[0] && !m->again)
		return;
	m->inflight = 1; /* appended with the others at the end of this iteration */
	*r->appq_tail = m;
	r->appq_tail = &m->qnext;
	eng_defer_add(r->w, &r->flush);
}

static void on_kept(void *arg, const char *id, const struct gw_ua_msg *gm)
{
	struct sh_repl *r = arg;
	struct entry *e = find(r, id, 1);
	if (!e || r->nheld >= SH_REPL_MAX_HELD) { /* not durable: it goes from memory only */
		ADD(r, not_kept, 1);
		return;
	}
	Rcsgw__PendingMessage pm = RCSGW__PENDING_MESSAGE__INIT;
	pm.message_id = (char *)gm->message_id;
	pm.content_type = (char *)gm->content_type;
	pm.body.data = (uint8_t *)gm->body;
	pm.body.len = gm->len;
	pm.success_report = gm->success_report == 1;
	pm.failure_report = gm->failure_report != 0 || gm->failure_partial;
	pm.failure_partial = gm->failure_partial != 0;
	pm.accepted_ms = (uint64_t)time(NULL) * 1000u;
	struct pmsg *m = calloc(1, sizeof(*m));
	size_t n = rcsgw__pending_message__get_packed_size(&pm);
	if (!m || !(m->rec = malloc(n ? n : 1))) {
		free(m);
		ADD(r, not_kept, 1);
		return;
	}
	m->len = rcsgw__pending_message__pack(&pm, m->rec);
	m->kept_us = mono_us();
	m->r = r;
	m->e = e;
	snprintf(m->mid, sizeof(m->mid), "%s", gm->message_id);
	struct pmsg **pp = &e->msgs;
	while (*pp)
		pp = &(*pp)->next;
	*pp = m;
	r->nheld++;
	ADD(r, kept_now, 1);
	msg_step(m);
}

static void on_done(void *arg, const char *id, const char *mid)
{
	struct sh_repl *r = arg;
	struct entry *e = find(r, id, 0);
	struct pmsg *m = e ? pmsg_find(e, mid) : NULL;
	if (!m || m->done)
		return;
	m->done = 1;
	msg_step(m);
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

/* <e>'s session is another node's now (a write of ours was fenced: we were paused or cut
 * off long enough to look dead, and it was taken over): this node lets it go, so that two
 * nodes do not both act for it — the user agent's without a BYE (the call goes on from
 * <owner>), the relay's binding dropped. */
static void let_go(struct entry *e, const char *owner)
{
	struct sh_repl *r = e->r;
	char id[GW_UA_ID_LEN + 1];
	int relay = e->relay;
	memcpy(id, e->id, sizeof(id));
	ADD(r, fenced, 1);
	forget(e);
	CM_WARN("cluster: session %s is %s's now (taken over while this node looked dead): "
		"let go here", id, owner && owner[0] ? owner : "another node");
	int gone = relay ? (r->relay ? msrp_relay_drop(r->relay, id) : -1) :
		   (r->ua ? gw_ua_fenced(r->ua, id, owner) : -1);
	if (gone == 0)
		ADD(r, moved, 1);
}

static void written(void *arg, int rc, uint64_t epoch, const char *owner)
{
	struct entry *e = arg;
	struct sh_repl *r = e->r;
	(void)epoch;
	e->inflight = 0;
	if (rc == 1) {
		ADD(r, writes, 1);
		e->written_ms = eng_now_ms(r->w);
		uint64_t lag = eng_now_ms(r->w) - e->sent_since;
		lag_add(0, lag * 1000u);
		atomic_store_explicit(&r->st.lag_ms, lag, memory_order_relaxed);
		if (lag > atomic_load_explicit(&r->st.lag_max_ms, memory_order_relaxed))
			atomic_store_explicit(&r->st.lag_max_ms, lag, memory_order_relaxed);
	} else if (rc == 0) {
		let_go(e, owner); /* taken over by another node: ours no more */
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

/* The record of relay session <id> (a RelayBinding) and its TTL: until it expires. 0, 404
 * (gone), or -ENOMEM. */
static int relay_snapshot(struct sh_repl *r, const char *id, uint8_t **buf, size_t *len,
			  uint32_t *ttl)
{
	struct msrp_relay_binding b;
	if (!r->relay || msrp_relay_binding(r->relay, id, &b) < 0)
		return 404;
	Rcsgw__RelayBinding rb = RCSGW__RELAY_BINDING__INIT;
	Rcsgw__Session s = RCSGW__SESSION__INIT;
	rb.session_id = b.sid;
	rb.user = (char *)b.user;
	rb.expires_ms = b.expires_ms;
	s.version = 1;
	s.kind_case = RCSGW__SESSION__KIND_RELAY;
	s.relay = &rb;
	*len = rcsgw__session__get_packed_size(&s);
	if (!(*buf = malloc(*len ? *len : 1)))
		return -ENOMEM;
	rcsgw__session__pack(&s, *buf);
	uint64_t now = cm_wall_ms();
	*ttl = b.expires_ms > now + 1000 ? (uint32_t)(b.expires_ms - now < SH_REPL_TTL_MS ?
						      b.expires_ms - now : SH_REPL_TTL_MS) : 1000;
	return 0;
}

/* The hand-on of <e> (sh_repl_yield) was answered. */
static void yielded(void *arg, int rc, uint64_t epoch, const char *owner)
{
	struct entry *e = arg;
	struct sh_repl *r = e->r;
	(void)epoch;
	e->inflight = 0;
	sh_repl_yield_fn fn = e->yield;
	void *farg = e->yield_arg;
	e->yield = NULL;
	if (rc == 1) {
		char id[GW_UA_ID_LEN + 1], to[SH_NODE_ID_MAX + 1];
		int over = e->over; /* ended meanwhile (the peer's BYE): not to be revived */
		memcpy(id, e->id, sizeof(id));
		snprintf(to, sizeof(to), "%s", e->yield_to ? e->yield_to : "?");
		forget(e);
		if (over) {
			CM_WARN("cluster: session %s ended while it was handed on to %s: its record "
				"lives until its TTL", id, to);
			fn(farg, 410);
			return;
		}
		ADD(r, handed_on, 1);
		CM_INFO("cluster: session %s handed on to %s (its peer went there)", id, to);
		if (r->ua)
			gw_ua_fenced(r->ua, id, to);
		fn(farg, 200);
		return;
	}
	if (r->ua)
		gw_ua_handing(r->ua, e->id, 0);
	if (rc == 0) { /* another node's already */
		fn(farg, 409);
		let_go(e, owner);
		return;
	}
	/* Redis did not answer (the script may have run): the asker tries the takeover, which
	 * tells; here the record is written again, which is fenced if it did */
	e->dirty = 1;
	e->dirty_ms = eng_now_ms(r->w);
	fn(farg, 503);
	list(e);
}

/* One entry's next step. 1: done with it for now (off the list), 0: stays listed. */
static int step(struct sh_repl *r, struct entry *e, uint64_t now)
{
	for (struct pmsg *m = e->over ? NULL : e->msgs, *next; m; m = next) {
		next = m->next;
		if (!m->inflight && !m->done && (!m->xid[0] || m->again))
			msg_step(m); /* held while Redis was away */
	}
	int later = !e->over && unkeep_confirmed(r, e);
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
	if (e->yield) { /* its last record, and its ownership handed on */
		uint8_t *buf;
		size_t len;
		for (struct pmsg *m = e->msgs; m; m = m->next)
			if (!m->done && (!m->xid[0] || m->inflight))
				return 0; /* its accepted messages in its stream first */
		int busy = !r->ua || gw_ua_handing(r->ua, e->id, 1) < 0; /* the peer came back? */
		if (busy || gw_ua_snapshot(r->ua, e->id, &buf, &len) != 0) {
			sh_repl_yield_fn fn = e->yield;
			e->yield = NULL;
			if (r->ua)
				gw_ua_handing(r->ua, e->id, 0);
			fn(e->yield_arg, busy ? 409 : 503);
			return 0;
		}
		if (sh_node_yield(r->node, e->id, e->epoch, buf, len, SH_REPL_TTL_MS, e->yield_to,
				  yielded, e) == 0) {
			e->inflight = 1;
			e->dirty = 0;
		}
		free(buf);
		return 0;
	}
	if (!e->epoch) {
		if (sh_node_claim(r->node, e->id, 0, claimed, e) == 0) {
			e->inflight = 1;
			ADD(r, claims, 1);
		}
		return 0; /* the write follows the claim */
	}
	if (!e->dirty)
		return !later;
	uint8_t *buf;
	size_t len;
	uint32_t ttl = SH_REPL_TTL_MS;
	int rc = e->relay ? relay_snapshot(r, e->id, &buf, &len, &ttl) :
		 r->ua ? gw_ua_snapshot(r->ua, e->id, &buf, &len) : 404;
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
	if (sh_node_write(r->node, e->id, e->epoch, buf, len, ttl, written, e) == 0) {
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

/* Redis came back on a new connection, maybe without our data (restarted without
 * persistence, a replica promoted before it had it): every live session's record is
 * written again (which takes back an ownership Redis lost) and every message not confirmed
 * yet is appended (again: found by Message-ID when the stream still holds it), in the
 * order they were accepted — at the connection's start, before anything accepted later. */
static void resync(struct sh_repl *r)
{
	uint64_t now = eng_now_ms(r->w);
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct entry *e = r->buckets[b]; e; e = e->hnext) {
			if (e->over || !e->epoch)
				continue;
			for (struct pmsg *m = e->msgs, *next; m; m = next) {
				next = m->next;
				if (m->inflight || m->done)
					continue;
				if (m->xid[0] && m->rec)
					m->again = 1;
				if (!m->xid[0] || m->again)
					msg_step(m);
			}
			if (!e->dirty) {
				e->dirty = 1;
				e->dirty_ms = now;
			}
			list(e);
		}
}

int sh_repl_yield(struct sh_repl *r, const char *id, const char *to, sh_repl_yield_fn fn,
		  void *arg)
{
	struct entry *e = find(r, id, 0);
	if (!e || e->relay || e->over || !e->epoch || e->yield || !r->ua ||
	    !sh_node_id_ok(to, SH_NODE_ID_MAX))
		return -ENOENT;
	free(e->yield_to);
	if (!(e->yield_to = strdup(to)))
		return -ENOMEM;
	if (gw_ua_handing(r->ua, id, 1) < 0)
		return -EBUSY; /* not up, or its peer is here: not handed on */
	e->yield = fn;
	e->yield_arg = arg;
	list(e);
	return 0;
}

void sh_repl_revalidate(struct sh_repl *r)
{
	resync(r);
}

void sh_repl_link_up(struct sh_repl *r)
{
	unsigned gen = eng_redis_generation(r->link);
	if (r->gen && gen != r->gen)
		resync(r);
	r->gen = gen;
}

/* Every second: a new connection to Redis resyncs (if its up was missed); and a slice of the table (all of it in
 * BUCKETS / SH_REPL_REFRESH_SLICE seconds) is looked at for live sessions whose record
 * was written more than SH_REPL_REFRESH_MS ago: written again, so that their ownership,
 * record and stream outlive SH_REPL_TTL_MS however long the chat lasts. */
static void refresh(eng_timer *t)
{
	struct sh_repl *r = t->arg;
	uint64_t now = eng_now_ms(r->w);
	eng_timer_arm(r->w, &r->refresh, 1000);
	if (!eng_redis_up(r->link))
		return;
	unsigned gen = eng_redis_generation(r->link);
	if (gen != r->gen) {
		if (r->gen)
			resync(r);
		r->gen = gen;
		return;
	}
	for (unsigned i = 0; i < SH_REPL_REFRESH_SLICE; i++) {
		unsigned b = r->refresh_bucket++ % BUCKETS;
		for (struct entry *e = r->buckets[b]; e; e = e->hnext)
			if (e->epoch && !e->over && !e->dirty && e->written_ms &&
			    now - e->written_ms >= SH_REPL_REFRESH_MS) {
				ADD(r, refreshes, 1);
				e->dirty = 1;
				e->dirty_ms = now;
				list(e);
			}
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
	eng_defer_init(&r->flush, flush_appends, r);
	eng_timer_init(&r->refresh, refresh, r);
	eng_timer_arm(w, &r->refresh, 1000);
	r->appq_tail = &r->appq;
	struct gw_ua_repl hooks = { .changed = on_changed, .over = on_over, .kept = on_kept,
				    .done = on_done, .arg = r };
	if (ua)
		gw_ua_set_repl(ua, &hooks);
	return r;
}

/* ---- relay sessions -------------------------------------------------------------------- */

static void on_relay_changed(void *arg, const char *sid)
{
	struct sh_repl *r = arg;
	on_changed(r, sid);
	struct entry *e = find(r, sid, 0);
	if (e)
		e->relay = 1;
}

struct resume {
	struct sh_repl *r;
	uint64_t token;
	int taking;                    /* peeked, the takeover on its way */
	char sid[GW_UA_ID_LEN + 1];
	char user[];
};

/* 1 when <record> (<len> bytes) is relay session <sid> of <user>, not expired. */
static int relay_record_of(const char *record, size_t len, const char *sid, const char *user)
{
	Rcsgw__Session *s = rcsgw__session__unpack(NULL, len, (const uint8_t *)record);
	int ok = s && s->kind_case == RCSGW__SESSION__KIND_RELAY && s->relay->user &&
		 s->relay->session_id && !strcmp(s->relay->session_id, sid) &&
		 !strcmp(s->relay->user, user) && s->relay->expires_ms > cm_wall_ms();
	if (s)
		rcsgw__session__free_unpacked(s, NULL);
	return ok;
}

/* The takeover a client's AUTH asked for (msrp_relay_repl.resume), in two steps: the record
 * is looked at first (a relay session of the same user, not expired, its owner dead) and
 * only then taken over — never anything else (a user agent's session, another user's
 * binding), which a client naming its id could otherwise take from its dead node. */
static void relay_taken(void *arg, int rc, uint64_t epoch, const char *owner,
			const char *record, size_t len, const struct sh_node_pending *p,
			size_t np)
{
	struct resume *x = arg;
	struct sh_repl *r = x->r;
	(void)owner;
	(void)p;
	(void)np;
	int ok = 0, mine = rc == 1 && !r->closing && relay_record_of(record, len, x->sid, x->user);
	if (mine && !x->taking) { /* looked at: now taken */
		x->taking = 1;
		if (sh_node_takeover(r->node, x->sid, relay_taken, x) == 0)
			return;
	} else if (mine) {
		struct entry *e = find(r, x->sid, 1);
		if (e) {
			e->relay = 1;
			e->epoch = epoch;
			ok = 1;
		} else { /* out of memory: ours in Redis, not here; let go */
			sh_node_release(r->node, x->sid, epoch, NULL, NULL);
		}
	} else if (rc == 1 && x->taking) {
		/* taken, yet not what it was a moment ago: left as it is (its TTL ends it) */
		CM_WARN("cluster: relay session %s changed while taken over: not resumed", x->sid);
	}
	if (r->relay)
		msrp_relay_resumed(r->relay, x->token, ok);
	free(x);
}

static int on_relay_resume(void *arg, const char *sid, const char *user, uint64_t token)
{
	struct sh_repl *r = arg;
	size_t n = strlen(user);
	struct resume *x;
	if (strlen(sid) > GW_UA_ID_LEN || !(x = malloc(sizeof(*x) + n + 1)))
		return -ENOMEM;
	x->r = r;
	x->token = token;
	x->taking = 0;
	memcpy(x->sid, sid, strlen(sid) + 1);
	memcpy(x->user, user, n + 1);
	if (sh_node_peek(r->node, sid, relay_taken, x) < 0) {
		free(x);
		return -EIO;
	}
	return 0;
}

void sh_repl_set_relay(struct sh_repl *r, struct msrp_relay *relay)
{
	if (r->relay)
		msrp_relay_set_repl(r->relay, NULL);
	r->relay = relay;
	if (relay) {
		struct msrp_relay_repl h = { .changed = on_relay_changed, .over = on_over,
					     .resume = on_relay_resume, .arg = r };
		msrp_relay_set_repl(relay, &h);
	}
}

void sh_repl_free(struct sh_repl *r)
{
	if (!r)
		return;
	if (r->ua)
		gw_ua_set_repl(r->ua, NULL);
	if (r->relay) /* the relay hears no more; a resume on its way is told no (below) */
		msrp_relay_set_repl(r->relay, NULL);
	eng_timer_cancel(&r->tick);
	eng_timer_cancel(&r->refresh);
	eng_defer_cancel(r->w, &r->flush); /* what it held is freed with the entries below */
	r->closing = 1;
	sh_node_free(r->node); /* no callback after this: the entries can go */
	for (unsigned b = 0; b < BUCKETS; b++)
		while (r->buckets[b]) {
			struct entry *e = r->buckets[b];
			r->buckets[b] = e->hnext;
			if (e->yield) /* its asker hears it now */
				e->yield(e->yield_arg, 503);
			free(e->yield_to);
			while (e->msgs) {
				struct pmsg *m = e->msgs;
				e->msgs = m->next;
				pmsg_free(m, m->xid[0] != 0);
			}
			free(e);
		}
	while (r->orphans) {
		struct pmsg *m = r->orphans;
		r->orphans = m->next;
		pmsg_free(m, m->xid[0] != 0);
	}
	free(r);
}

int sh_repl_durable(struct sh_repl *r, const char *id, const char *mid, sh_repl_durable_fn fn,
		    void *arg)
{
	struct entry *e = find(r, id, 0);
	struct pmsg *m = e ? pmsg_find(e, mid) : NULL;
	if (!m)
		return 0; /* not kept (beyond the bound, fenced), or confirmed already */
	if (m->xid[0])
		return 1;
	if (!m->inflight || m->waiter)
		return 0; /* held in memory while Redis is away */
	m->waiter = fn;
	m->wait_arg = arg;
	return -EINPROGRESS;
}

unsigned sh_repl_replay(struct sh_repl *r, const char *id, const struct sh_node_pending *p,
			size_t np)
{
	unsigned sent = 0;
	struct entry *e = find(r, id, 1);
	for (size_t i = 0; i < np; i++) {
		Rcsgw__PendingMessage *pm =
			rcsgw__pending_message__unpack(NULL, p[i].len, (const uint8_t *)p[i].data);
		struct pmsg *m = NULL;
		char msg[128];
		if (pm && e && strlen(p[i].entry) < sizeof(m->xid) && (m = calloc(1, sizeof(*m)))) {
			/* known first: a confirmation cannot come before the send, but keep order */
			m->r = r;
			m->e = e;
			snprintf(m->mid, sizeof(m->mid), "%s", pm->message_id);
			memcpy(m->xid, p[i].entry, strlen(p[i].entry) + 1);
			if (r->kept_bytes + p[i].len <= SH_REPL_MAX_KEPT_BYTES &&
			    (m->rec = malloc(p[i].len ? p[i].len : 1))) { /* Redis may lose it */
				memcpy(m->rec, p[i].data, p[i].len);
				m->len = p[i].len;
				r->kept_bytes += m->len;
			}
			struct pmsg **pp = &e->msgs;
			while (*pp)
				pp = &(*pp)->next;
			*pp = m;
			ADD(r, kept_now, 1);
		}
		int rc = m && r->ua ? gw_ua_resend(r->ua, id, pm->content_type, pm->body.data, pm->body.len,
					  pm->success_report,
					  pm->failure_partial ? 2 : pm->failure_report,
					  pm->message_id, msg, sizeof(msg))
			   : 503;
		if (rc == 0) {
			sent++;
			ADD(r, replayed, 1);
		} else {
			CM_LOG_RL(CM_LOG_WARN, "cluster: session %s: message %s not sent again: %d",
				  id, pm ? pm->message_id : "?", rc);
			if (m) { /* it stays in the stream: the session's end deletes it */
				pmsg_unlink(m);
				pmsg_free(m, 1);
			}
		}
		if (pm)
			rcsgw__pending_message__free_unpacked(pm, NULL);
	}
	return sent;
}

void sh_repl_undeliverable(struct sh_repl *r, const char *id, size_t n)
{
	ADD(r, undeliverable, n);
	CM_LOG_RL(CM_LOG_ERROR, "cluster: session %s: %zu accepted messages cannot be sent "
		  "again: the session could not be taken in", id, n);
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
	out->kept = atomic_load_explicit(&r->st.kept, memory_order_relaxed);
	out->keep_failures = atomic_load_explicit(&r->st.keep_failures, memory_order_relaxed);
	out->unkept = atomic_load_explicit(&r->st.unkept, memory_order_relaxed);
	out->replayed = atomic_load_explicit(&r->st.replayed, memory_order_relaxed);
	out->not_kept = atomic_load_explicit(&r->st.not_kept, memory_order_relaxed);
	out->kept_now = atomic_load_explicit(&r->st.kept_now, memory_order_relaxed);
	out->reappended = atomic_load_explicit(&r->st.reappended, memory_order_relaxed);
	out->refreshes = atomic_load_explicit(&r->st.refreshes, memory_order_relaxed);
	out->undeliverable = atomic_load_explicit(&r->st.undeliverable, memory_order_relaxed);
	out->moved = atomic_load_explicit(&r->st.moved, memory_order_relaxed);
	out->handed_on = atomic_load_explicit(&r->st.handed_on, memory_order_relaxed);
}
