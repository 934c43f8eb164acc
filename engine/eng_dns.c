/* eng_dns.c — asynchronous DNS on the worker's ring with c-ares.
 *
 * One c-ares channel per worker. c-ares tells which sockets it wants watched through its
 * socket-state callback: each becomes an eng_poll in a small table (fd -> watch). Readiness
 * calls ares_process_fd(); one eng_timer, re-armed from ares_timeout() after every query and
 * every processing pass, calls ares_process_fd(BAD, BAD) so that c-ares retries and times
 * out. Nothing blocks and no thread is added.
 *
 * Re-entrancy: user callbacks run only from the entry points below that hold <depth>
 * (socket readiness, the timeout timer, the cache-hit delivery, eng_dns_free). A callback
 * may query again or free the resolver; a free inside a callback only marks the resolver,
 * and the outermost entry point finishes it when the stack unwinds (leave()).
 *
 * The cache: c-ares 1.18 has none, so a small positive cache of A/AAAA answers sits in
 * front, bounded in entries and honouring the answers' TTLs. SRV and NAPTR answers are not
 * cached: c-ares 1.18's parsers for them do not give the TTL, and DNS is not parsed here by
 * hand. */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "common/cm_log.h"
#include "engine/eng.h"
#include "engine/eng_dns.h"

#define DNS_MAX_SOCKS   32     /* c-ares uses a UDP and a TCP socket per server at most */
#define DNS_DRAIN_MAX   32     /* extra processing passes per readiness event */
#define DNS_CACHE_ADDRS 16     /* answers with more addresses are not cached */
#define DNS_NO_STATUS   (-1)   /* q->sync_status before c-ares called back */

/* Invariants that stay checked: a broken one is a bug of the caller or of this file. */
#define DNS_BUG_ON(cond)                                                                   \
	do {                                                                               \
		if (cond) {                                                                \
			CM_ERR("eng_dns: BUG: %s (%s:%d)", #cond, __FILE__, __LINE__);     \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* A socket c-ares asked us to watch. */
struct dns_sock {
	eng_poll p;
	eng_dns *d;
	int fd;                    /* -1: free slot */
	uint32_t gen;              /* bumped on each use of the slot */
	uint32_t events;           /* POLLIN | POLLOUT wanted by c-ares */
};

/* A query owed a callback. Lives on the free list, in c-ares, or on the ready list. */
struct dns_q {
	eng_dns *d;
	eng_dns_cb cb;
	void *arg;
	struct dns_q *next;        /* free list / ready list */
	enum eng_dns_type type;
	int submitting;            /* inside ares_query(): a callback now is a refusal */
	int sync_status;           /* the refusal's ares status, or DNS_NO_STATUS */
	char name[ENG_DNS_NAME_MAX + 2];
};

/* A positive cache entry: the addresses of one (name, type). */
struct dns_centry {
	uint64_t expires_ms;       /* 0: the entry is free */
	uint64_t stored_ms;
	uint32_t hash;
	int32_t next;              /* bucket chain, or free list; -1 ends */
	uint8_t type;              /* ENG_DNS_A or ENG_DNS_AAAA */
	uint8_t naddr;
	uint16_t namelen;
	char name[ENG_DNS_NAME_MAX + 1];   /* lower case, no trailing dot, not NUL-terminated */
	struct eng_dns_addr addrs[DNS_CACHE_ADDRS];
};

struct dns_cache {
	struct dns_centry *e;
	int32_t *bucket;           /* heads of chains, -1 empty */
	uint32_t nentries;
	uint32_t mask;             /* buckets - 1 */
	uint32_t used;
	int32_t free_head;
	uint32_t seed;             /* hash key: names come from peers */
};

struct eng_dns {
	eng_worker *w;
	ares_channel ch;
	int ch_ok;
	struct eng_dns_config cfg; /* servers not kept */
	eng_timer tmo;             /* c-ares's next timeout */
	eng_timer ready_tmr;       /* cache-hit delivery on the next tick */
	unsigned depth;            /* entry points on the stack that may run user code */
	int closing;               /* eng_dns_free() called: deliver -ECANCELED */
	int freeing;               /* finish_free() running */
	uint32_t pending;          /* callbacks owed */
	struct dns_q *ready_head, *ready_tail;
	struct dns_q *q_free;
	uint32_t n_free;
	unsigned seed;
	struct dns_cache cache;
	struct eng_dns_stats st;
	struct dns_sock socks[DNS_MAX_SOCKS];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

static void lib_init(void)
{
	lib_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

static void finish_free(eng_dns *d);
static void arm_timeout(eng_dns *d);
static void arm(eng_dns *d, eng_timer *t, uint64_t ms);

/* ---- small helpers ------------------------------------------------------------------ */

const char *eng_dns_type_name(enum eng_dns_type type)
{
	switch (type) {
	case ENG_DNS_A: return "A";
	case ENG_DNS_AAAA: return "AAAA";
	case ENG_DNS_SRV: return "SRV";
	case ENG_DNS_NAPTR: return "NAPTR";
	}
	return "?";
}

/* c-ares status -> the -errno of eng_dns_cb (see eng_dns-t.h). */
static int map_status(int st)
{
	switch (st) {
	case ARES_SUCCESS: return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_ENONAME: return -ENOENT;
	case ARES_ETIMEOUT: return -ETIMEDOUT;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION: return -ECANCELED;
	case ARES_EFORMERR:
	case ARES_EBADRESP:
	case ARES_EBADSTR:
	case ARES_EOF: return -EPROTO;
	case ARES_ESERVFAIL: return -EAGAIN;
	case ARES_EREFUSED:
	case ARES_ECONNREFUSED: return -ECONNREFUSED;
	case ARES_ENOMEM: return -ENOMEM;
	case ARES_EBADNAME:
	case ARES_EBADQUERY:
	case ARES_EBADFAMILY:
	case ARES_EBADFLAGS: return -EINVAL;
	case ARES_ENOTIMP: return -EOPNOTSUPP;
	default: return -EIO;
	}
}

static uint64_t now_ms(const eng_dns *d)
{
	return eng_now_ms(d->w);
}

void eng_dns_config_defaults(struct eng_dns_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->servers = NULL;
	cfg->nservers = 0;
	cfg->timeout_ms = 2000;
	cfg->tries = 2;
	cfg->max_pending = 4096;
	cfg->cache_entries = 256;
	cfg->cache_max_ttl_s = 300;
	cfg->edns = 1;
}

/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]", "[::1]:53" -> <n>. 0 or -EINVAL. */
static int parse_server(const char *s, struct ares_addr_port_node *n)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *h = s, *port = NULL;
	size_t hl;

	memset(n, 0, sizeof(*n));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb)
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(rb - h);
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			return -EINVAL;
	} else {
		const char *c = strchr(s, ':');
		if (c && strchr(c + 1, ':')) {
			hl = strlen(s);            /* bare IPv6, no port */
		} else if (c) {
			hl = (size_t)(c - s);
			port = c + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';

	unsigned long p = 53;
	if (port) {
		char *end;
		if (*port < '0' || *port > '9')
			return -EINVAL;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || *end != '\0' || p == 0 || p > 65535)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &n->addr.addr4) == 1) {
		n->family = AF_INET;
	} else if (inet_pton(AF_INET6, host, &n->addr.addr6) == 1) {
		n->family = AF_INET6;
	} else {
		return -EINVAL;
	}
	n->udp_port = (int)p;
	n->tcp_port = (int)p;
	return 0;
}

socklen_t eng_dns_addr_sockaddr(const struct eng_dns_addr *a, uint16_t port,
				struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = a->a.v6;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	s4->sin_addr = a->a.v4;
	return sizeof(*s4);
}

const char *eng_dns_addr_str(const struct eng_dns_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, &a->a, buf, (socklen_t)len)) {
		if (len)
			buf[0] = '\0';
	}
	return buf;
}

/* ---- sorting helpers ------------------------------------------------------------------ */

void eng_dns_srv_sort(struct eng_dns_srv *recs, unsigned n, unsigned *seed)
{
	/* stable insertion sort by priority */
	for (unsigned i = 1; i < n; i++) {
		struct eng_dns_srv t = recs[i];
		unsigned j = i;
		while (j > 0 && recs[j - 1].priority > t.priority) {
			recs[j] = recs[j - 1];
			j--;
		}
		recs[j] = t;
	}
	/* within each priority: RFC 2782 weighted draw without replacement */
	for (unsigned lo = 0; lo < n;) {
		unsigned hi = lo + 1;
		while (hi < n && recs[hi].priority == recs[lo].priority)
			hi++;
		for (unsigned k = lo; k + 1 < hi; k++) {
			/* zero weights to the front of what remains (stable) */
			unsigned z = k;
			for (unsigned i = k; i < hi; i++) {
				if (recs[i].weight != 0)
					continue;
				struct eng_dns_srv t = recs[i];
				memmove(&recs[z + 1], &recs[z], (i - z) * sizeof(*recs));
				recs[z++] = t;
			}
			uint32_t sum = 0;
			for (unsigned i = k; i < hi; i++)
				sum += recs[i].weight;
			uint32_t r = (uint32_t)(((uint64_t)(unsigned)rand_r(seed) *
						 ((uint64_t)sum + 1)) / ((uint64_t)RAND_MAX + 1));
			uint32_t run = 0;
			unsigned pick = hi - 1;
			for (unsigned i = k; i < hi; i++) {
				run += recs[i].weight;
				if (run >= r) {
					pick = i;
					break;
				}
			}
			if (pick != k) {
				struct eng_dns_srv t = recs[pick];
				memmove(&recs[k + 1], &recs[k], (pick - k) * sizeof(*recs));
				recs[k] = t;
			}
		}
		lo = hi;
	}
}

void eng_dns_naptr_sort(struct eng_dns_naptr *recs, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct eng_dns_naptr t = recs[i];
		unsigned j = i;
		while (j > 0 && (recs[j - 1].order > t.order ||
				 (recs[j - 1].order == t.order &&
				  recs[j - 1].preference > t.preference))) {
			recs[j] = recs[j - 1];
			j--;
		}
		recs[j] = t;
	}
}

/* ---- the cache -------------------------------------------------------------------------- */

/* The key of <name>: lower case, one trailing dot dropped, into <key>. Its length. */
static size_t cache_key(const char *name, char *key)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	if (n > ENG_DNS_NAME_MAX)
		n = ENG_DNS_NAME_MAX;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		key[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	return n;
}

/* Keyed FNV-1a; chains are bounded by the entry count whatever the names. */
static uint32_t cache_hash(const struct dns_cache *c, const char *key, size_t len, int type)
{
	uint32_t h = 2166136261u ^ c->seed;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)key[i];
		h *= 16777619u;
	}
	h ^= (uint32_t)type;
	h *= 16777619u;
	h ^= h >> 15;
	return h;
}

static int cache_init(struct dns_cache *c, uint32_t entries, uint32_t seed)
{
	memset(c, 0, sizeof(*c));
	c->free_head = -1;
	c->seed = seed;
	if (!entries)
		return 0;
	uint32_t nb = 16;
	while (nb < entries * 2)
		nb *= 2;
	c->e = calloc(entries, sizeof(*c->e));
	c->bucket = malloc(nb * sizeof(*c->bucket));
	if (!c->e || !c->bucket) {
		free(c->e);
		free(c->bucket);
		c->e = NULL;
		c->bucket = NULL;
		return -ENOMEM;
	}
	c->nentries = entries;
	c->mask = nb - 1;
	for (uint32_t i = 0; i < nb; i++)
		c->bucket[i] = -1;
	for (uint32_t i = entries; i-- > 0;) {
		c->e[i].next = c->free_head;
		c->free_head = (int32_t)i;
	}
	return 0;
}

static void cache_fini(struct dns_cache *c)
{
	free(c->e);
	free(c->bucket);
	c->e = NULL;
	c->bucket = NULL;
}

/* Unlinks entry <i> from its chain and puts it on the free list. */
static void cache_remove(struct dns_cache *c, int32_t i)
{
	struct dns_centry *e = &c->e[i];
	int32_t *pp = &c->bucket[e->hash & c->mask];
	while (*pp != -1 && *pp != i)
		pp = &c->e[*pp].next;
	DNS_BUG_ON(*pp != i);
	*pp = e->next;
	e->expires_ms = 0;
	e->next = c->free_head;
	c->free_head = i;
	c->used--;
}

/* The live entry of (<key>, <type>), or -1 (an expired one found is dropped). */
static int32_t cache_find(struct dns_cache *c, const char *key, size_t len, int type,
			  uint32_t h, uint64_t now)
{
	for (int32_t i = c->bucket[h & c->mask]; i != -1; i = c->e[i].next) {
		struct dns_centry *e = &c->e[i];
		if (e->hash != h || e->type != type || e->namelen != len ||
		    memcmp(e->name, key, len) != 0)
			continue;
		if (e->expires_ms <= now) {
			cache_remove(c, i);
			return -1;
		}
		return i;
	}
	return -1;
}

static int32_t cache_lookup(eng_dns *d, const char *name, int type)
{
	struct dns_cache *c = &d->cache;
	char key[ENG_DNS_NAME_MAX];

	if (!c->nentries)
		return -1;
	size_t len = cache_key(name, key);
	return cache_find(c, key, len, type, cache_hash(c, key, len, type), now_ms(d));
}

/* Stores the <n> addresses of (<name>, <type>) for min(TTL, cache_max_ttl_s). */
static void cache_insert(eng_dns *d, const char *name, int type, const struct eng_dns_addr *a,
			 unsigned n)
{
	struct dns_cache *c = &d->cache;
	char key[ENG_DNS_NAME_MAX];
	uint32_t ttl = UINT32_MAX;

	if (!c->nentries || n == 0 || n > DNS_CACHE_ADDRS)
		return;
	for (unsigned i = 0; i < n; i++)
		if (a[i].ttl < ttl)
			ttl = a[i].ttl;
	if (ttl == 0)
		return;
	if (ttl > d->cfg.cache_max_ttl_s)
		ttl = d->cfg.cache_max_ttl_s;

	uint64_t now = now_ms(d);
	size_t len = cache_key(name, key);
	uint32_t h = cache_hash(c, key, len, type);
	int32_t i = cache_find(c, key, len, type, h, now);
	if (i >= 0)
		cache_remove(c, i);
	if (c->free_head == -1) {
		/* full: drop the expired or soonest-expiring entry */
		int32_t victim = 0;
		for (uint32_t k = 1; k < c->nentries; k++)
			if (c->e[k].expires_ms < c->e[victim].expires_ms)
				victim = (int32_t)k;
		if (c->e[victim].expires_ms > now)
			d->st.cache_evictions++;
		cache_remove(c, victim);
	}
	i = c->free_head;
	struct dns_centry *e = &c->e[i];
	c->free_head = e->next;
	e->stored_ms = now;
	e->expires_ms = now + (uint64_t)ttl * 1000u;
	e->hash = h;
	e->type = (uint8_t)type;
	e->naddr = (uint8_t)n;
	e->namelen = (uint16_t)len;
	memcpy(e->name, key, len);
	memcpy(e->addrs, a, n * sizeof(*a));
	e->next = c->bucket[h & c->mask];
	c->bucket[h & c->mask] = i;
	c->used++;
	d->st.cache_inserts++;
}

void eng_dns_cache_flush(eng_dns *d)
{
	struct dns_cache *c = &d->cache;
	for (uint32_t i = 0; i < c->nentries; i++)
		if (c->e[i].expires_ms)
			cache_remove(c, (int32_t)i);
}

/* ---- queries ---------------------------------------------------------------------------- */

static struct dns_q *q_get(eng_dns *d)
{
	struct dns_q *q = d->q_free;
	if (q) {
		d->q_free = q->next;
		d->n_free--;
	} else {
		q = malloc(sizeof(*q));
		if (!q)
			return NULL;
	}
	q->next = NULL;
	q->d = d;
	return q;
}

/* Keeps up to max_pending queries for reuse. */
static void q_put(eng_dns *d, struct dns_q *q)
{
	if (d->n_free >= d->cfg.max_pending) {
		free(q);
		return;
	}
	q->next = d->q_free;
	d->q_free = q;
	d->n_free++;
}

/* Enters an entry point that may run user code. */
static void enter(eng_dns *d)
{
	d->depth++;
}

/* Leaves it; the outermost one finishes a free asked for meanwhile. <d> may be gone after. */
static void leave(eng_dns *d)
{
	DNS_BUG_ON(d->depth == 0);
	if (--d->depth == 0 && d->closing && !d->freeing)
		finish_free(d);
}

/* Runs <q>'s callback with <status> and <res>, then recycles <q>. */
static void deliver(eng_dns *d, struct dns_q *q, int status, struct eng_dns_result *res)
{
	if (d->closing) {
		status = -ECANCELED;
		res->n = 0;
		res->addrs = NULL;
		res->srv = NULL;
		res->naptr = NULL;
	}
	if (status == 0) {
		d->st.answers++;
	} else {
		d->st.errors++;
		if (status == -ETIMEDOUT)
			d->st.timeouts++;
	}
	DNS_BUG_ON(d->pending == 0);
	d->pending--;
	q->cb(d, status, res, q->arg);
	q_put(d, q);
}

static void result_init(struct eng_dns_result *res, const struct dns_q *q)
{
	memset(res, 0, sizeof(*res));
	res->type = q->type;
	res->name = q->name;
}

/* Serves <q> from cache entry <i>. */
static void deliver_cached(eng_dns *d, struct dns_q *q, int32_t i)
{
	struct dns_centry *e = &d->cache.e[i];
	struct eng_dns_addr addrs[DNS_CACHE_ADDRS];
	struct eng_dns_result res;
	uint64_t elapsed = (now_ms(d) - e->stored_ms) / 1000u;

	for (unsigned k = 0; k < e->naddr; k++) {
		addrs[k] = e->addrs[k];
		addrs[k].ttl = addrs[k].ttl > elapsed ? (uint32_t)(addrs[k].ttl - elapsed) : 1;
	}
	result_init(&res, q);
	res.n = e->naddr;
	res.addrs = addrs;
	res.cached = 1;
	d->st.cache_hits++;
	deliver(d, q, 0, &res);
}

static void on_answer_addrs(eng_dns *d, struct dns_q *q, const unsigned char *abuf, int alen,
			    struct eng_dns_result *res)
{
	struct eng_dns_addr addrs[ENG_DNS_MAX_ADDRS];
	int n = ENG_DNS_MAX_ADDRS + 1, rc;
	/* one slot more than delivered tells a truncation */
	union {
		struct ares_addrttl v4[ENG_DNS_MAX_ADDRS + 1];
		struct ares_addr6ttl v6[ENG_DNS_MAX_ADDRS + 1];
	} t;

	if (q->type == ENG_DNS_A)
		rc = ares_parse_a_reply(abuf, alen, NULL, t.v4, &n);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, t.v6, &n);
	if (rc != ARES_SUCCESS || n <= 0) {
		deliver(d, q, rc == ARES_SUCCESS ? -ENOENT : map_status(rc), res);
		return;
	}
	if (n > ENG_DNS_MAX_ADDRS) {
		n = ENG_DNS_MAX_ADDRS;
		res->truncated = 1;
	}
	for (int i = 0; i < n; i++) {
		memset(&addrs[i], 0, sizeof(addrs[i]));
		if (q->type == ENG_DNS_A) {
			addrs[i].family = AF_INET;
			addrs[i].a.v4 = t.v4[i].ipaddr;
			addrs[i].ttl = t.v4[i].ttl > 0 ? (uint32_t)t.v4[i].ttl : 0;
		} else {
			addrs[i].family = AF_INET6;
			memcpy(&addrs[i].a.v6, &t.v6[i].ip6addr, sizeof(addrs[i].a.v6));
			addrs[i].ttl = t.v6[i].ttl > 0 ? (uint32_t)t.v6[i].ttl : 0;
		}
	}
	if (!res->truncated && !d->closing)
		cache_insert(d, q->name, (int)q->type, addrs, (unsigned)n);
	res->n = (unsigned)n;
	res->addrs = addrs;
	deliver(d, q, 0, res);
}

static void on_answer_srv(eng_dns *d, struct dns_q *q, const unsigned char *abuf, int alen,
			  struct eng_dns_result *res)
{
	struct eng_dns_srv recs[ENG_DNS_MAX_RECORDS];
	struct ares_srv_reply *list = NULL;
	unsigned n = 0;

	int rc = ares_parse_srv_reply(abuf, alen, &list);
	if (rc != ARES_SUCCESS || !list) {
		if (list)
			ares_free_data(list);
		deliver(d, q, rc == ARES_SUCCESS ? -ENOENT : map_status(rc), res);
		return;
	}
	for (struct ares_srv_reply *r = list; r; r = r->next) {
		if (n == ENG_DNS_MAX_RECORDS) {
			res->truncated = 1;
			break;
		}
		recs[n].priority = r->priority;
		recs[n].weight = r->weight;
		recs[n].port = r->port;
		recs[n].target = r->host ? r->host : "";
		n++;
	}
	res->n = n;
	res->srv = recs;
	deliver(d, q, 0, res);
	ares_free_data(list);
}

static void on_answer_naptr(eng_dns *d, struct dns_q *q, const unsigned char *abuf, int alen,
			    struct eng_dns_result *res)
{
	struct eng_dns_naptr recs[ENG_DNS_MAX_RECORDS];
	struct ares_naptr_reply *list = NULL;
	unsigned n = 0;

	int rc = ares_parse_naptr_reply(abuf, alen, &list);
	if (rc != ARES_SUCCESS || !list) {
		if (list)
			ares_free_data(list);
		deliver(d, q, rc == ARES_SUCCESS ? -ENOENT : map_status(rc), res);
		return;
	}
	for (struct ares_naptr_reply *r = list; r; r = r->next) {
		if (n == ENG_DNS_MAX_RECORDS) {
			res->truncated = 1;
			break;
		}
		recs[n].order = r->order;
		recs[n].preference = r->preference;
		recs[n].flags = r->flags ? (const char *)r->flags : "";
		recs[n].service = r->service ? (const char *)r->service : "";
		recs[n].regexp = r->regexp ? (const char *)r->regexp : "";
		recs[n].replacement = r->replacement ? r->replacement : "";
		n++;
	}
	res->n = n;
	res->naptr = recs;
	deliver(d, q, 0, res);
	ares_free_data(list);
}

/* c-ares's callback for every query (ares_callback). */
static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_q *q = arg;
	eng_dns *d = q->d;
	struct eng_dns_result res;

	if (q->submitting) {
		/* refused inside ares_query(): eng_dns_query() returns the error instead */
		q->sync_status = status;
		return;
	}
	result_init(&res, q);
	res.timeouts = timeouts > 0 ? (unsigned)timeouts : 0;
	if (status != ARES_SUCCESS || d->closing || !abuf || alen <= 0) {
		int st = status != ARES_SUCCESS ? map_status(status) : -EPROTO;
		deliver(d, q, st, &res);
		return;
	}
	switch (q->type) {
	case ENG_DNS_A:
	case ENG_DNS_AAAA:
		on_answer_addrs(d, q, abuf, alen, &res);
		break;
	case ENG_DNS_SRV:
		on_answer_srv(d, q, abuf, alen, &res);
		break;
	case ENG_DNS_NAPTR:
		on_answer_naptr(d, q, abuf, alen, &res);
		break;
	}
}

/* Hands <q> to c-ares. 0 (the callback is owed), or -errno when c-ares refused it at once
 * (no callback will come; <q> stays the caller's). */
static int submit(eng_dns *d, struct dns_q *q)
{
	q->submitting = 1;
	q->sync_status = DNS_NO_STATUS;
	ares_query(d->ch, q->name, 1 /* C_IN */, (int)q->type, on_answer, q);
	q->submitting = 0;
	if (q->sync_status != DNS_NO_STATUS) {
		int rc = map_status(q->sync_status);
		return rc < 0 ? rc : -EIO;
	}
	d->st.sent++;
	return 0;
}

/* Cache hits waiting for the next loop iteration. */
static void run_ready(eng_dns *d)
{
	struct dns_q *list = d->ready_head;

	enter(d);
	d->ready_head = d->ready_tail = NULL;
	while (list) {
		struct dns_q *q = list;
		list = q->next;
		q->next = NULL;
		int32_t i = d->closing ? -1 : cache_lookup(d, q->name, (int)q->type);
		if (i >= 0) {
			deliver_cached(d, q, i);
			continue;
		}
		int rc = d->closing ? -ECANCELED : submit(d, q);
		if (rc < 0) {
			struct eng_dns_result res;
			result_init(&res, q);
			deliver(d, q, rc, &res);
		}
	}
	if (!d->closing)
		arm_timeout(d);
	leave(d);
}

/* Arms <t> in <ms>, at least one wheel tick: a timer armed for the current tick from inside
 * a timer callback lands in a wheel slot already swept and waits a full turn of the wheel
 * (512 ticks, 5 s at 10 ms; see the report on eng__timers_run). */
static void arm(eng_dns *d, eng_timer *t, uint64_t ms)
{
	uint64_t tick = eng_cfg(eng_of(d->w))->timer_tick_ms;
	eng_timer_arm(d->w, t, ms < tick ? tick : ms);
}

static void on_ready_timer(eng_timer *t)
{
	eng_dns *d = t->arg;
	if (d->ready_head)
		run_ready(d);
}

/* Delivers the ready list one or two timer ticks from now. (A message to our own mailbox would be
 * quicker, but eng_post() from a worker to itself leaves its wake-up flag set, so that
 * posts from other threads then do not wake it: see the report on eng_post.) */
static void schedule_ready(eng_dns *d)
{
	if (!eng_timer_armed(&d->ready_tmr))
		arm(d, &d->ready_tmr, 0);
}

int eng_dns_query(eng_dns *d, const char *name, enum eng_dns_type type, eng_dns_cb cb,
		  void *arg)
{
	DNS_BUG_ON(eng_self() != d->w);
	if (d->closing) {
		d->st.refused++;
		return -ECANCELED;
	}
	if (!cb || !name || (type != ENG_DNS_A && type != ENG_DNS_AAAA && type != ENG_DNS_SRV &&
			     type != ENG_DNS_NAPTR)) {
		d->st.refused++;
		return -EINVAL;
	}
	size_t len = strlen(name);
	if (len == 0 || len - (name[len - 1] == '.') == 0 ||
	    len - (name[len - 1] == '.') > ENG_DNS_NAME_MAX) {
		d->st.refused++;
		return -EINVAL;
	}
	if (d->pending >= d->cfg.max_pending) {
		d->st.refused++;
		return -EAGAIN;
	}
	struct dns_q *q = q_get(d);
	if (!q) {
		d->st.refused++;
		return -ENOMEM;
	}
	q->cb = cb;
	q->arg = arg;
	q->type = type;
	memcpy(q->name, name, len + 1);

	if ((type == ENG_DNS_A || type == ENG_DNS_AAAA) && cache_lookup(d, name, (int)type) >= 0) {
		if (d->ready_tail)
			d->ready_tail->next = q;
		else
			d->ready_head = q;
		d->ready_tail = q;
		d->pending++;
		d->st.queries++;
		schedule_ready(d);
		return 0;
	}
	/* c-ares runs no other query's callback from ares_query(); should a later version do,
	 * a free asked for there is finished by leave(), after which <d> is not touched */
	enter(d);
	int rc = submit(d, q);
	if (rc < 0) {
		q_put(d, q);
		d->st.refused++;
	} else {
		d->pending++;
		d->st.queries++;
		if (!d->closing)
			arm_timeout(d);
	}
	leave(d);
	return rc;
}

/* ---- sockets and the timeout ------------------------------------------------------------- */

static void arm_timeout(eng_dns *d)
{
	struct timeval tv, *t = ares_timeout(d->ch, NULL, &tv);
	if (!t) {
		eng_timer_cancel(&d->tmo);
		return;
	}
	uint64_t ms = (uint64_t)t->tv_sec * 1000u + ((uint64_t)t->tv_usec + 999u) / 1000u;
	arm(d, &d->tmo, ms);
}

static void on_timeout(eng_timer *t)
{
	eng_dns *d = t->arg;
	enter(d);
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	if (!d->closing)
		arm_timeout(d);
	leave(d);
}

/* 1 when <fd> has bytes to read now (non-blocking check). */
static int readable_now(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLIN | POLLHUP | POLLERR));
}

static void on_sock(eng_poll *p, uint32_t revents)
{
	struct dns_sock *s = p->arg;
	eng_dns *d = s->d;
	int fd = s->fd;
	uint32_t gen = s->gen;
	uint32_t bad = POLLERR | POLLHUP;

	if (fd < 0)
		return;
	ares_socket_t rfd = ((revents & (POLLIN | bad)) && (s->events & POLLIN)) ? fd : ARES_SOCKET_BAD;
	ares_socket_t wfd = ((revents & (POLLOUT | bad)) && (s->events & POLLOUT)) ? fd : ARES_SOCKET_BAD;
	if (rfd == ARES_SOCKET_BAD && wfd == ARES_SOCKET_BAD)
		return;
	enter(d);
	ares_process_fd(d->ch, rfd, wfd);
	/* io_uring's multishot poll reports edges: c-ares reads a TCP answer in more than one
	 * call, so go on while the socket (still c-ares's) has bytes waiting */
	for (int i = 0; i < DNS_DRAIN_MAX && !d->closing; i++) {
		if (s->fd != fd || s->gen != gen || !(s->events & POLLIN) || !readable_now(fd))
			break;
		ares_process_fd(d->ch, fd, ARES_SOCKET_BAD);
	}
	if (!d->closing)
		arm_timeout(d);
	leave(d);
}

/* c-ares's socket-state callback: start, change or stop watching <fd>. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	eng_dns *d = data;
	struct dns_sock *s = NULL, *free_slot = NULL;
	uint32_t events = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0);

	for (unsigned i = 0; i < DNS_MAX_SOCKS; i++) {
		if (d->socks[i].fd == fd) {
			s = &d->socks[i];
			break;
		}
		if (!free_slot && d->socks[i].fd < 0)
			free_slot = &d->socks[i];
	}
	if (!events) {
		if (s) {
			eng_poll_stop(&s->p);
			s->fd = -1;
			s->events = 0;
		}
		return;
	}
	if (s) {
		int rc = eng_poll_update(&s->p, events);
		if (rc < 0)
			CM_LOG_RL(CM_LOG_WARN, "dns: watch fd %d: %s", fd, strerror(-rc));
		else
			s->events = events;
		return;
	}
	if (!free_slot) {
		d->st.socket_table_full++;
		CM_LOG_RL(CM_LOG_ERROR, "dns: worker %u: more than %d resolver sockets, fd %d not "
			  "watched (its queries will time out)", eng_worker_index(d->w),
			  DNS_MAX_SOCKS, fd);
		return;
	}
	s = free_slot;
	s->fd = fd;
	s->gen++;
	s->events = events;
	int rc = eng_poll_start(d->w, &s->p, fd, events, on_sock, s);
	if (rc < 0) {
		CM_LOG_RL(CM_LOG_ERROR, "dns: watch fd %d: %s (its queries will time out)", fd,
			  strerror(-rc));
		s->fd = -1;
		s->events = 0;
		return;
	}
	int type = 0;
	socklen_t tl = sizeof(type);
	d->st.sockets_opened++;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM)
		d->st.tcp_sockets++;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static int check_cfg(const struct eng_dns_config *cfg, char *err, size_t errlen)
{
	if (cfg->nservers > ENG_DNS_MAX_SERVERS) {
		snprintf(err, errlen, "dns.servers: %zu servers, at most %d", cfg->nservers,
			 ENG_DNS_MAX_SERVERS);
		return -EINVAL;
	}
	if (cfg->timeout_ms < 10 || cfg->timeout_ms > 60000) {
		snprintf(err, errlen, "dns.timeout: %u ms, not in [10, 60000]", cfg->timeout_ms);
		return -EINVAL;
	}
	if (cfg->tries < 1 || cfg->tries > 16) {
		snprintf(err, errlen, "dns.tries: %u, not in [1, 16]", cfg->tries);
		return -EINVAL;
	}
	if (cfg->max_pending < 1 || cfg->max_pending > 1048576) {
		snprintf(err, errlen, "dns.max_pending: %u, not in [1, 1048576]", cfg->max_pending);
		return -EINVAL;
	}
	if (cfg->cache_entries > 65536) {
		snprintf(err, errlen, "dns.cache_entries: %u, not in [0, 65536]",
			 cfg->cache_entries);
		return -EINVAL;
	}
	if (cfg->cache_max_ttl_s < 1 || cfg->cache_max_ttl_s > 86400) {
		snprintf(err, errlen, "dns.cache_max_ttl: %u s, not in [1, 86400]",
			 cfg->cache_max_ttl_s);
		return -EINVAL;
	}
	return 0;
}

eng_dns *eng_dns_new(eng_worker *w, const struct eng_dns_config *cfg, char *err, size_t errlen)
{
	struct ares_addr_port_node nodes[ENG_DNS_MAX_SERVERS];
	struct ares_options opts;
	int optmask, rc;

	DNS_BUG_ON(eng_self() != w);
	if (check_cfg(cfg, err, errlen) < 0)
		return NULL;
	for (size_t i = 0; i < cfg->nservers; i++) {
		if (!cfg->servers[i] || parse_server(cfg->servers[i], &nodes[i]) < 0) {
			snprintf(err, errlen, "dns.servers: \"%s\" is not a numeric address[:port]",
				 cfg->servers[i] ? cfg->servers[i] : "(null)");
			return NULL;
		}
		nodes[i].next = i + 1 < cfg->nservers ? &nodes[i + 1] : NULL;
	}
	pthread_once(&lib_once, lib_init);
	if (lib_rc != ARES_SUCCESS) {
		snprintf(err, errlen, "ares_library_init: %s", ares_strerror(lib_rc));
		return NULL;
	}

	eng_dns *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->w = w;
	d->cfg = *cfg;
	d->cfg.servers = NULL;
	d->cfg.nservers = 0;
	for (unsigned i = 0; i < DNS_MAX_SOCKS; i++) {
		d->socks[i].fd = -1;
		d->socks[i].d = d;
	}
	eng_timer_init(&d->tmo, on_timeout, d);
	eng_timer_init(&d->ready_tmr, on_ready_timer, d);

	uint32_t rnd[2];
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd[0] = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)d;
		rnd[1] = (uint32_t)ts.tv_sec * 2654435761u ^ eng_worker_index(w);
	}
	d->seed = rnd[0];
	if (cache_init(&d->cache, cfg->cache_entries, rnd[1]) < 0) {
		snprintf(err, errlen, "out of memory (dns cache of %u entries)", cfg->cache_entries);
		free(d);
		return NULL;
	}

	memset(&opts, 0, sizeof(opts));
	optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
	opts.sock_state_cb = on_sock_state;
	opts.sock_state_cb_data = d;
	opts.timeout = (int)cfg->timeout_ms;
	opts.tries = (int)cfg->tries;
	opts.flags = 0;
	if (cfg->edns) {
		opts.flags |= ARES_FLAG_EDNS;
		opts.ednspsz = 1232;
		optmask |= ARES_OPT_EDNSPSZ;
	}
	rc = ares_init_options(&d->ch, &opts, optmask);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "ares_init_options: %s", ares_strerror(rc));
		cache_fini(&d->cache);
		free(d);
		return NULL;
	}
	d->ch_ok = 1;
	if (cfg->nservers) {
		rc = ares_set_servers_ports(d->ch, nodes);
		if (rc != ARES_SUCCESS) {
			snprintf(err, errlen, "ares_set_servers_ports: %s", ares_strerror(rc));
			d->closing = 1;
			finish_free(d);
			return NULL;
		}
	}
	return d;
}

/* Cancels what is owed, closes the channel and frees <d>. */
static void finish_free(eng_dns *d)
{
	d->freeing = 1;
	d->depth++;
	eng_timer_cancel(&d->tmo);
	eng_timer_cancel(&d->ready_tmr);
	/* cache hits not yet delivered */
	while (d->ready_head) {
		struct dns_q *q = d->ready_head;
		struct eng_dns_result res;
		d->ready_head = q->next;
		if (!d->ready_head)
			d->ready_tail = NULL;
		q->next = NULL;
		result_init(&res, q);
		deliver(d, q, -ECANCELED, &res);
	}
	/* c-ares calls back every query it holds (ARES_EDESTRUCTION), then closes its sockets
	 * through on_sock_state */
	if (d->ch_ok)
		ares_destroy(d->ch);
	d->ch_ok = 0;
	DNS_BUG_ON(d->pending != 0);
	for (unsigned i = 0; i < DNS_MAX_SOCKS; i++) {
		if (d->socks[i].fd >= 0) {
			eng_poll_stop(&d->socks[i].p);
			d->socks[i].fd = -1;
		}
	}
	while (d->q_free) {
		struct dns_q *q = d->q_free;
		d->q_free = q->next;
		free(q);
	}
	cache_fini(&d->cache);
	free(d);
}

void eng_dns_free(eng_dns *d)
{
	if (!d)
		return;
	DNS_BUG_ON(eng_self() != d->w);
	if (d->closing)
		return;
	d->closing = 1;
	if (d->depth > 0)
		return;  /* inside one of our callbacks: leave() finishes */
	finish_free(d);
}

eng_worker *eng_dns_worker(const eng_dns *d)
{
	return d->w;
}

unsigned *eng_dns_seed(eng_dns *d)
{
	return &d->seed;
}

void eng_dns_stats(const eng_dns *d, struct eng_dns_stats *out)
{
	*out = d->st;
	out->pending = d->pending;
	out->cache_used = d->cache.used;
}
