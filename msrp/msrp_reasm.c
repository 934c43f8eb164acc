/* msrp_reasm.c — incoming chunks reassembled into whole messages (RFC 4975 §7.3).
 * See msrp_reasm.h for the contract and the bounds. */
#include "msrp/msrp_reasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GROW_MIN 4096          /* first allocation of a '*' message, at least */
#define SPANS_INLINE 4         /* ranges held without allocation: in-order chunks need one */

/* [a, b): 0-based, end excluded. */
struct span {
	uint64_t a, b;
};

/* A message in progress. */
struct slot {
	int used;
	uint32_t gen;              /* bumped when the slot is let go: stale cursors see it */
	char id[MSRP_TID_MAX];
	size_t idlen;
	char *buf;
	uint64_t cap;              /* bytes of buf */
	int64_t total;             /* -1 until a chunk tells it */
	uint64_t hi;               /* one past the highest byte written */
	int end_seen;              /* the '$' chunk came */
	uint32_t nchunks;
	uint64_t last_ms;
	char *ctype;
	size_t ctype_len;
	unsigned nspans;
	unsigned spans_cap;        /* SPANS_INLINE, then grown by doubling (malloc) */
	struct span *spans;        /* sorted, disjoint, not adjacent */
	struct span inline_spans[SPANS_INLINE];
};

/* A Message-ID finished recently, and what its late chunks get. */
struct dead {
	char id[MSRP_TID_MAX];
	size_t idlen;
	uint64_t until;            /* forgotten from then on */
	int verdict;               /* MSRP_REASM_LATE or the error that dropped it */
};

struct msrp_reasm {
	struct msrp_reasm_cfg cfg;
	struct slot *slots;
	uint32_t nslots;
	uint32_t nused;
	struct dead dead[MSRP_REASM_DEAD];
	unsigned dead_next;        /* ring: the oldest entry is overwritten */
	uint64_t bytes;            /* allocated for partial messages (max_buffered) */
	struct msrp_reasm_stats st;
	char *seed;                /* msrp_reasm_seed(): the first seed_len bytes of ... */
	uint64_t seed_len, seed_total; /* ... the next message of seed_total bytes */
};

void msrp_reasm_cfg_defaults(struct msrp_reasm_cfg *cfg)
{
	*cfg = (struct msrp_reasm_cfg){
		.max_message = MSRP_REASM_MAX_MESSAGE_DEFAULT,
		.max_chunks = MSRP_REASM_MAX_CHUNKS_DEFAULT,
		.max_partial = MSRP_REASM_MAX_PARTIAL_DEFAULT,
		.timeout_ms = MSRP_REASM_TIMEOUT_DEFAULT,
		.grow_step = MSRP_REASM_GROW_STEP_DEFAULT,
		.max_buffered = MSRP_REASM_MAX_BUFFERED_DEFAULT,
	};
}

struct msrp_reasm *msrp_reasm_create(const struct msrp_reasm_cfg *cfg)
{
	struct msrp_reasm_cfg def;
	struct msrp_reasm *r;

	msrp_reasm_cfg_defaults(&def);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cfg = cfg ? *cfg : def;
	if (!r->cfg.max_message)
		r->cfg.max_message = def.max_message;
	if (!r->cfg.max_chunks)
		r->cfg.max_chunks = def.max_chunks;
	if (!r->cfg.max_partial)
		r->cfg.max_partial = def.max_partial;
	if (r->cfg.max_partial > MSRP_REASM_PARTIAL_MAX)
		r->cfg.max_partial = MSRP_REASM_PARTIAL_MAX;
	if (!r->cfg.timeout_ms)
		r->cfg.timeout_ms = def.timeout_ms;
	if (!r->cfg.grow_step)
		r->cfg.grow_step = def.grow_step;
	if (!r->cfg.max_buffered)
		r->cfg.max_buffered = def.max_buffered;
	r->nslots = r->cfg.max_partial;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	if (!r->slots) {
		free(r);
		return NULL;
	}
	return r;
}

/* Lets <s> go. <keep_data>: its buffers were handed to the caller. */
static void slot_release(struct msrp_reasm *r, struct slot *s, int keep_data)
{
	uint32_t gen = s->gen + 1;

	r->bytes -= s->cap;
	if (!keep_data) {
		free(s->buf);
		free(s->ctype);
	}
	if (s->spans != s->inline_spans)
		free(s->spans);
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	r->nused--;
}

void msrp_reasm_destroy(struct msrp_reasm *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->nslots; i++) {
		if (r->slots[i].used)
			slot_release(r, &r->slots[i], 0);
	}
	free(r->slots);
	free(r->seed);
	free(r);
}

static void dead_add(struct msrp_reasm *r, const char *id, size_t idlen, int verdict,
		     uint64_t now_ms)
{
	struct dead *d = &r->dead[r->dead_next];

	r->dead_next = (r->dead_next + 1) % MSRP_REASM_DEAD;
	memcpy(d->id, id, idlen);
	d->idlen = idlen;
	d->until = now_ms + r->cfg.timeout_ms;
	d->verdict = verdict;
}

static const struct dead *dead_find(const struct msrp_reasm *r, cm_slice id, uint64_t now_ms)
{
	for (unsigned i = 0; i < MSRP_REASM_DEAD; i++) {
		const struct dead *d = &r->dead[i];

		if (d->idlen == id.len && d->until > now_ms && !memcmp(d->id, id.p, id.len))
			return d;
	}
	return NULL;
}

static struct slot *slot_find(struct msrp_reasm *r, cm_slice id)
{
	for (uint32_t i = 0; i < r->nslots; i++) {
		struct slot *s = &r->slots[i];

		if (s->used && s->idlen == id.len && !memcmp(s->id, id.p, id.len))
			return s;
	}
	return NULL;
}

static struct slot *slot_of(struct msrp_reasm *r, const struct msrp_reasm_chunk *ck)
{
	struct slot *s;

	if (ck->slot >= r->nslots)
		return NULL;
	s = &r->slots[ck->slot];
	return s->used && s->gen == ck->gen ? s : NULL;
}

static void count_error(struct msrp_reasm *r, int rc)
{
	switch (rc) {
	case -EMSGSIZE:
		r->st.too_big++;
		break;
	case -E2BIG:
		r->st.too_many_chunks++;
		break;
	case -EBUSY:
		r->st.too_many_partial++;
		break;
	case -ENOMEM:
	case -ENOBUFS:
		r->st.no_memory++;
		break;
	case -EINVAL:
		r->st.bad_range++;
		break;
	default:
		break;
	}
}

/* Drops the message of <s> for <rc>: later chunks of it get <rc> too. */
static int fail(struct msrp_reasm *r, struct slot *s, struct msrp_reasm_chunk *ck, int rc)
{
	count_error(r, rc);
	if (s) {
		dead_add(r, s->id, s->idlen, rc, s->last_ms);
		slot_release(r, s, 0);
	}
	ck->verdict = rc;
	return rc;
}

/* Whether <s> may hold <cap> bytes instead of what it holds. */
static int budget_ok(const struct msrp_reasm *r, const struct slot *s, uint64_t cap)
{
	return cap <= s->cap || r->bytes + (cap - s->cap) <= r->cfg.max_buffered;
}

/* The buffer of <s> becomes exactly <total> bytes: the total is known now. 0, -ENOBUFS
 * (max_buffered), -ENOMEM. */
static int set_total(struct msrp_reasm *r, struct slot *s, uint64_t total)
{
	if (!budget_ok(r, s, total))
		return -ENOBUFS;
	if (r->seed && total == r->seed_total && s->hi == 0 && !s->nspans) {
		/* the resumed transfer of a message that broke: its first bytes are here */
		char *nb = realloc(r->seed, total);
		if (!nb)
			return -ENOMEM;
		free(s->buf);
		s->buf = nb;
		r->seed = NULL;
		r->bytes = r->bytes - s->cap + total;
		s->cap = total;
		s->total = (int64_t)total;
		s->hi = r->seed_len;
		s->spans[0] = (struct span){ 0, r->seed_len };
		s->nspans = 1;
		return 0;
	}
	if (total == 0) {
		free(s->buf);
		s->buf = NULL;
	} else if (s->cap != total) {
		char *nb = realloc(s->buf, total);

		if (!nb)
			return -ENOMEM;
		s->buf = nb;
	}
	r->bytes = r->bytes - s->cap + total;
	s->cap = total;
	s->total = (int64_t)total;
	return 0;
}

/* '*' total: room for <need> bytes, growing by at most grow_step. 0, -ENOBUFS, -ENOMEM. */
static int grow(struct msrp_reasm *r, struct slot *s, uint64_t need)
{
	uint64_t step = s->cap < r->cfg.grow_step ? s->cap : r->cfg.grow_step;
	uint64_t cap;
	char *nb;

	if (step < GROW_MIN)
		step = GROW_MIN;
	cap = s->cap + step;
	if (cap < need)
		cap = need;
	if (cap > r->cfg.max_message)
		cap = r->cfg.max_message;
	if (!budget_ok(r, s, cap)) {
		cap = need;        /* the exact need may still fit */
		if (!budget_ok(r, s, cap))
			return -ENOBUFS;
	}
	nb = realloc(s->buf, cap);
	if (!nb)
		return -ENOMEM;
	s->buf = nb;
	r->bytes = r->bytes - s->cap + cap;
	s->cap = cap;
	return 0;
}

static int range_ok(const struct msrp_range *br)
{
	if (br->start < 1 || br->end < -1 || br->total < -1)
		return 0;
	if (br->end >= 0 && (uint64_t)br->end + 1 < br->start)
		return 0;
	if (br->total >= 0) {
		if (br->end > br->total || br->start > (uint64_t)br->total + 1)
			return 0;
	}
	return 1;
}

int msrp_reasm_begin(struct msrp_reasm *r, cm_slice msgid, const struct msrp_range *br,
		     cm_slice ctype, uint64_t now_ms, struct msrp_reasm_chunk *ck)
{
	const struct dead *d;
	struct slot *s;
	uint64_t max = r->cfg.max_message;
	int rc;

	memset(ck, 0, sizeof(*ck));
	ck->slot = UINT32_MAX;
	if (!msgid.len || msgid.len > MSRP_TID_MAX || !msgid.p || !br || !range_ok(br))
		return fail(r, NULL, ck, -EINVAL);

	d = dead_find(r, msgid, now_ms);
	if (d) {
		if (d->verdict == MSRP_REASM_LATE)
			r->st.late++;
		ck->verdict = d->verdict;
		return d->verdict < 0 ? d->verdict : 0;
	}

	s = slot_find(r, msgid);
	if (!s) {
		uint32_t i;

		if (r->nused >= r->nslots) {
			count_error(r, -EBUSY);
			dead_add(r, msgid.p, msgid.len, -EBUSY, now_ms);
			ck->verdict = -EBUSY;
			return -EBUSY;
		}
		for (i = 0; r->slots[i].used; i++)
			;
		s = &r->slots[i];
		s->used = 1;
		memcpy(s->id, msgid.p, msgid.len);
		s->idlen = msgid.len;
		s->total = -1;
		s->spans = s->inline_spans;
		s->spans_cap = SPANS_INLINE;
		r->nused++;
	}
	s->last_ms = now_ms;

	if (br->start - 1 > max || (br->end >= 0 && (uint64_t)br->end > max) ||
	    (br->total >= 0 && (uint64_t)br->total > max))
		return fail(r, s, ck, -EMSGSIZE);
	if (br->total >= 0) {
		if (s->total >= 0 && s->total != br->total)
			return fail(r, s, ck, -EINVAL);
		if (s->total < 0) {
			if (s->hi > (uint64_t)br->total)
				return fail(r, s, ck, -EINVAL);
			rc = set_total(r, s, (uint64_t)br->total);
			if (rc < 0)
				return fail(r, s, ck, rc);
		}
	} else if (s->total >= 0) {
		if (br->start > (uint64_t)s->total + 1 || br->end > s->total)
			return fail(r, s, ck, -EINVAL);
	}
	if (++s->nchunks > r->cfg.max_chunks)
		return fail(r, s, ck, -E2BIG);
	if (!s->ctype && ctype.len) {
		s->ctype = malloc(ctype.len + 1);
		if (!s->ctype)
			return fail(r, s, ck, -ENOMEM);
		memcpy(s->ctype, ctype.p, ctype.len);
		s->ctype[ctype.len] = '\0';
		s->ctype_len = ctype.len;
	}

	ck->slot = (uint32_t)(s - r->slots);
	ck->gen = s->gen;
	ck->start0 = br->start - 1;
	ck->pos = ck->start0;
	ck->end = br->end;
	return 0;
}

int msrp_reasm_data(struct msrp_reasm *r, struct msrp_reasm_chunk *ck, const void *p,
		    size_t len)
{
	struct slot *s;
	uint64_t npos;
	int rc;

	if (ck->verdict)
		return ck->verdict < 0 ? ck->verdict : 0;
	s = slot_of(r, ck);
	if (!s) {
		ck->verdict = -ESTALE;
		return -ESTALE;
	}
	if (!len)
		return 0;
	npos = ck->pos + len;
	if (ck->end >= 0 && npos > (uint64_t)ck->end)
		return fail(r, s, ck, -EINVAL);   /* more bytes than the range says */
	if (s->total >= 0 && npos > (uint64_t)s->total)
		return fail(r, s, ck, -EINVAL);
	if (npos > r->cfg.max_message)
		return fail(r, s, ck, -EMSGSIZE);
	if (npos > s->cap) {
		rc = grow(r, s, npos);
		if (rc < 0)
			return fail(r, s, ck, rc);
	}
	memcpy(s->buf + ck->pos, p, len);    /* last received wins where chunks overlap */
	ck->pos = npos;
	if (npos > s->hi)
		s->hi = npos;
	return 0;
}

/* Room for one more span in <s>. 0, -E2BIG (MSRP_REASM_RANGES), -ENOMEM. */
static int spans_grow(struct slot *s)
{
	unsigned cap;
	struct span *ns;

	if (s->nspans < s->spans_cap)
		return 0;
	if (s->spans_cap >= MSRP_REASM_RANGES)
		return -E2BIG;
	cap = s->spans_cap * 2 < MSRP_REASM_RANGES ? s->spans_cap * 2 : MSRP_REASM_RANGES;
	ns = malloc(cap * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	memcpy(ns, s->spans, s->nspans * sizeof(*ns));
	if (s->spans != s->inline_spans)
		free(s->spans);
	s->spans = ns;
	s->spans_cap = cap;
	return 0;
}

/* Adds [a, b) to the spans of <s>, merging what overlaps or touches. 0, or -E2BIG when
 * the message would be split into more than MSRP_REASM_RANGES pieces, or -ENOMEM. */
static int span_add(struct slot *s, uint64_t a, uint64_t b)
{
	unsigned i = 0, j, n = s->nspans;

	while (i < n && s->spans[i].b < a)
		i++;               /* spans[i] is the first that ends at or after a */
	j = i;
	while (j < n && s->spans[j].a <= b) {
		if (s->spans[j].a < a)
			a = s->spans[j].a;
		if (s->spans[j].b > b)
			b = s->spans[j].b;
		j++;               /* spans[i..j) merge into [a, b) */
	}
	if (i == j) {
		int rc = spans_grow(s);

		if (rc < 0)
			return rc;
		memmove(&s->spans[i + 1], &s->spans[i], (n - i) * sizeof(s->spans[0]));
		s->nspans++;
	} else if (j - i > 1) {
		memmove(&s->spans[i + 1], &s->spans[j], (n - j) * sizeof(s->spans[0]));
		s->nspans -= j - i - 1;
	}
	s->spans[i] = (struct span){ a, b };
	return 0;
}

int msrp_reasm_end(struct msrp_reasm *r, struct msrp_reasm_chunk *ck, enum msrp_flag flag,
		   struct msrp_reasm_msg *out)
{
	struct slot *s;
	int rc;

	if (ck->verdict)
		return ck->verdict;
	s = slot_of(r, ck);
	if (!s) {
		ck->verdict = -ESTALE;
		return -ESTALE;
	}
	if (flag == MSRP_FLAG_ABORT) {
		r->st.aborted++;
		dead_add(r, s->id, s->idlen, MSRP_REASM_LATE, s->last_ms);
		slot_release(r, s, 0);
		ck->verdict = MSRP_REASM_ABORTED;
		return MSRP_REASM_ABORTED;
	}
	if (flag != MSRP_FLAG_END && flag != MSRP_FLAG_MORE)
		return fail(r, s, ck, -EINVAL);
	/* a known range-end must be met: only a '*' end allows an interrupted chunk (§7.1) */
	if (ck->end >= 0 && ck->pos != (uint64_t)ck->end)
		return fail(r, s, ck, -EINVAL);
	if (ck->pos > ck->start0) {
		rc = span_add(s, ck->start0, ck->pos);
		if (rc < 0)
			return fail(r, s, ck, rc);
	}
	if (flag == MSRP_FLAG_END) {
		/* the '$' chunk ends where the message ends */
		if (s->total < 0) {
			if (s->hi > ck->pos)
				return fail(r, s, ck, -EINVAL);
			rc = set_total(r, s, ck->pos);
			if (rc < 0)
				return fail(r, s, ck, rc);
		} else if (ck->pos != (uint64_t)s->total) {
			return fail(r, s, ck, -EINVAL);
		}
		s->end_seen = 1;
	}
	if (!s->end_seen || s->total < 0)
		return MSRP_REASM_OK;
	if (s->total > 0 && !(s->nspans == 1 && s->spans[0].a == 0 &&
			      s->spans[0].b == (uint64_t)s->total))
		return MSRP_REASM_OK;

	/* complete: the buffer (exactly <total> bytes) and the content type go to the caller */
	memset(out, 0, sizeof(*out));
	out->data = s->buf;
	out->len = (uint64_t)s->total;
	out->content_type = s->ctype;
	out->content_type_len = s->ctype_len;
	memcpy(out->message_id, s->id, s->idlen);
	out->message_id[s->idlen] = '\0';
	out->message_id_len = s->idlen;
	r->st.complete++;
	dead_add(r, s->id, s->idlen, MSRP_REASM_LATE, s->last_ms);
	slot_release(r, s, 1);
	ck->verdict = MSRP_REASM_COMPLETE;
	return MSRP_REASM_COMPLETE;
}

int msrp_reasm_take_prefix(struct msrp_reasm *r, struct msrp_reasm_msg *out, uint64_t *total)
{
	struct slot *best = NULL;

	for (uint32_t i = 0; i < r->nslots; i++) {
		struct slot *s = &r->slots[i];

		if (s->used && s->total > 0 && s->nspans && s->spans[0].a == 0 &&
		    (!best || s->spans[0].b > best->spans[0].b))
			best = s;
	}
	if (!best)
		return 0;
	memset(out, 0, sizeof(*out));
	out->data = best->buf;
	out->len = best->spans[0].b;
	out->content_type = best->ctype;
	out->content_type_len = best->ctype_len;
	memcpy(out->message_id, best->id, best->idlen);
	out->message_id[best->idlen] = '\0';
	out->message_id_len = best->idlen;
	*total = (uint64_t)best->total;
	dead_add(r, best->id, best->idlen, MSRP_REASM_LATE, best->last_ms);
	slot_release(r, best, 1);
	return 1;
}

int msrp_reasm_seed(struct msrp_reasm *r, void *data, uint64_t len, uint64_t total)
{
	if (!len || len >= total) {
		free(data);
		return -EINVAL;
	}
	free(r->seed);
	r->seed = data;
	r->seed_len = len;
	r->seed_total = total;
	return 0;
}

int msrp_reasm_take_seed(struct msrp_reasm *r, void **data, uint64_t *len, uint64_t *total)
{
	if (!r->seed)
		return 0;
	*data = r->seed;
	*len = r->seed_len;
	*total = r->seed_total;
	r->seed = NULL;
	return 1;
}

int msrp_reasm_code(int verdict)
{
	if (verdict >= 0)
		return 200;
	return verdict == -EINVAL ? 400 : 413;
}

unsigned msrp_reasm_expire(struct msrp_reasm *r, uint64_t now_ms,
			   void (*cb)(void *arg, cm_slice msgid), void *arg)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < r->nslots && r->nused; i++) {
		struct slot *s = &r->slots[i];

		if (!s->used || now_ms - s->last_ms < r->cfg.timeout_ms || now_ms < s->last_ms)
			continue;
		if (cb)
			cb(arg, (cm_slice){ s->id, s->idlen });
		dead_add(r, s->id, s->idlen, -ESTALE, now_ms);
		slot_release(r, s, 0);
		r->st.expired++;
		n++;
	}
	return n;
}

uint64_t msrp_reasm_next_expiry(const struct msrp_reasm *r)
{
	uint64_t t = UINT64_MAX;

	for (uint32_t i = 0; i < r->nslots; i++) {
		const struct slot *s = &r->slots[i];

		if (s->used && s->last_ms + r->cfg.timeout_ms < t)
			t = s->last_ms + r->cfg.timeout_ms;
	}
	return t;
}

unsigned msrp_reasm_pending(const struct msrp_reasm *r)
{
	return r->nused;
}

void msrp_reasm_stats(const struct msrp_reasm *r, struct msrp_reasm_stats *out)
{
	*out = r->st;
}

void msrp_reasm_msg_free(struct msrp_reasm_msg *m)
{
	if (!m)
		return;
	free(m->data);
	free(m->content_type);
	memset(m, 0, sizeof(*m));
}
